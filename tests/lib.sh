# TAP helpers for the shell tests (automake's tap-driver reads the output).
# Every test pins its environment: the harness sets TZ, LANG, TERM, HOME, IKEN_TEST_NOW.
set -u
tap_n=0
tap_failed=0
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
IKEN="$top_builddir/iken"
GEN="$top_builddir/tests/gen_records"
export IKEN_FORMS="${IKEN_FORMS:-$top_srcdir/forms}"
export IKEN_TEST_USER="${IKEN_TEST_USER:-tester}"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/iken-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { # ok CONDITION-EXIT-STATUS "description"
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}

# have_ja_locale: ja_JP.UTF-8 is installed (gettext needs it for the Japanese messages;
# it ignores LANGUAGE=ja under the C locale)
have_ja_locale() { [ "$(LC_ALL=ja_JP.UTF-8 locale charmap 2>/dev/null)" = UTF-8 ]; }
# skip_ja N: N tests skipped because ja_JP.UTF-8 is missing
skip_ja() {
	_sj=0
	while [ $_sj -lt "$1" ]; do
		tap_n=$((tap_n + 1)); echo "ok $tap_n # SKIP no ja_JP.UTF-8 locale"; _sj=$((_sj + 1))
	done
}

# run_ok "description" command... : the command must exit 0
run_ok() {
	d=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	ok $rc "$d"
	[ $rc -eq 0 ] || { echo "# exit $rc"; sed 's/^/# /' "$TMP/err" | head -20; }
}

# exit_is N "description" command... : the command must exit N
exit_is() {
	want=$1; d=$2; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	[ $rc -eq "$want" ]; ok $? "$d (exit $want)"
	[ $rc -eq "$want" ] || { echo "# got exit $rc"; sed 's/^/# /' "$TMP/err" | head -20; }
}

# has FILE PATTERN "description" : grep -q
has() {
	grep -q -- "$2" "$1"; r=$?
	ok $r "$3"
	[ $r -eq 0 ] || { echo "# no '$2' in:"; sed 's/^/# /' "$1" | head -20; }
}

same() { # same FILE1 FILE2 "description"
	cmp -s "$1" "$2"; r=$?
	ok $r "$3"
	[ $r -eq 0 ] || diff "$1" "$2" | head -10 | sed 's/^/# /'
}

done_testing() {
	echo "1..$tap_n"
	[ $tap_failed -eq 0 ]
}
