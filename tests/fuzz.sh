#!/bin/sh
# Replays the fuzz corpora through the harnesses built without libFuzzer (make check builds
# tests/fuzz_csv, tests/fuzz_form and tests/fuzz_result) and prints one TAP stream: the cases of every harness
# renumbered in order, "#" lines passed on, each harness's own plan checked and dropped, and a
# single plan at the end. A harness that is missing, crashes, stops before its plan or fails
# without saying which case is one failed case of its own.
#
# Environment (set by make check): top_builddir, top_srcdir; IKEN_FORMS for fuzz_form.

top_builddir=${top_builddir:-.}
top_srcdir=${top_srcdir:-.}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/iken-fuzz-sh.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
trap 'exit 99' HUP INT TERM

n=0

case_line() { # ok|not ok, description
	n=$((n + 1))
	echo "$1 $n - $2"
}

diag_file() { # file: each line as a TAP comment (at most 20)
	sed -n '1,20s/^/#   /p' "$1"
}

# run NAME PROGRAM CORPUS
run() {
	name=$1 prog=$2 corpus=$3
	if [ ! -x "$prog" ]; then
		case_line "not ok" "$name: $prog is not built"
		return
	fi
	"$prog" "$corpus" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	cases=0 failed=0 plan=
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		"ok "*|"not ok "*)
			case $line in
			ok*) status="ok" rest=${line#ok } ;;
			*) status="not ok" rest=${line#not ok } failed=$((failed + 1)) ;;
			esac
			# drop the harness's own number, keep the description and any directive
			num=${rest%%[!0-9]*}
			rest=${rest#"$num"}
			rest=${rest# }
			rest=${rest#- }
			cases=$((cases + 1))
			case_line "$status" "$name: $rest"
			;;
		1..*)
			plan=${line#1..}
			;;
		*)
			echo "$line"
			;;
		esac
	done <"$tmp/out"
	if [ -z "$plan" ]; then
		case_line "not ok" "$name: no plan after $cases cases (exit status $rc)"
		diag_file "$tmp/err"
	elif [ "$plan" != "$cases" ]; then
		case_line "not ok" "$name: plan 1..$plan but $cases cases"
	elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
		case_line "not ok" "$name: exit status $rc with every case passing"
		diag_file "$tmp/err"
	fi
}

run csv "$top_builddir/tests/fuzz_csv" "$top_srcdir/tests/fuzz/csv"
run form "$top_builddir/tests/fuzz_form" "$top_srcdir/tests/fuzz/form"
run result "$top_builddir/tests/fuzz_result" "$top_srcdir/tests/fuzz/result"

echo "1..$n"
