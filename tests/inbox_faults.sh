#!/bin/sh
# Result polling under faults: early, cancelled, duplicate, oversized, incomplete and mislabelled
# results, claims left behind, a share that fails to open or to move files. Every
# file ends in the archive or the quarantine (with its reason), never lost, never applied twice.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SIM="$top_builddir/iken-termsim"
export IKEN_STABLE_SECONDS=0
iken() { "$IKEN" --data "$D" "$@"; }
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" 2>>"$TMP/sim.log"; }
count() { ls -A "$1" 2>/dev/null | grep -c -- "$2"; }
skip() { ok 0 "# SKIP $1"; }

# setup NAME [N]: a fresh data directory (polling every second) with N opinions (1), not sent
setup() {
	D="$TMP/$1"; REQ="$D/terminal/req"; RES="$D/terminal/res"
	iken init >/dev/null
	"$GEN" settings 1 3 | sed 's|ホウジン,,,,,5|ホウジン,,,,,1|' > "$TMP/settings.csv"
	iken import settings "$TMP/settings.csv" >/dev/null
	printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,試験 医師,D001,,\r\n' \
		> "$TMP/users.csv"
	iken import user "$TMP/users.csv" >/dev/null
	"$GEN" ikensho "${2:-1}" 5 > "$TMP/op.csv"
	iken import ikensho "$TMP/op.csv" >/dev/null
	doc=$(iken list ikensho | head -1 | cut -f1)
	mkdir -p "$REQ" "$RES"
}
# until SECONDS COMMAND...: runs the command every 0.2 s until it succeeds or time runs out
until_ok() {
	n=$(($1 * 5)); shift
	while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.2; n=$((n - 1)); done
	return 1
}
state_of() { iken queue | awk -F'\t' -v f="$1" '($3 "") == f {print $4}'; }   # as strings
status_of() { iken show "$1" | sed -n '1s/.*status \([a-z]*\).*/\1/p'; }

# A shim for the faults a CIFS share produces: open() of a claimed file fails (EIO) while the
# file SHIM_OPENFAIL exists; a move into the folder SHIM_ARCHIVE_DIR fails (EIO) or the poller is
# killed right before it (SHIM_ARCHIVE=fail|kill) while the file SHIM_ARCHIVE_FLAG exists.
SHIM=
cat > "$TMP/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int flag(const char *var)
{
	const char *f = getenv(var);
	return f && access(f, F_OK) == 0;
}
#define WRAP(name) \
int name(const char *p, int fl, ...) \
{ \
	static int (*real)(const char *, int, ...); \
	va_list ap; \
	va_start(ap, fl); \
	mode_t m = va_arg(ap, mode_t); \
	va_end(ap); \
	if (!real) \
		real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #name); \
	if (strstr(p, ".iken-claim.") && flag("SHIM_OPENFAIL")) { \
		errno = EIO; \
		return -1; \
	} \
	return real(p, fl, m); \
}
WRAP(open)
WRAP(open64)
int rename(const char *from, const char *to)
{
	static int (*real)(const char *, const char *);
	const char *how = getenv("SHIM_ARCHIVE"), *dir = getenv("SHIM_ARCHIVE_DIR");
	if (!real)
		real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	if (how && dir && strncmp(to, dir, strlen(dir)) == 0 && flag("SHIM_ARCHIVE_FLAG")) {
		if (strcmp(how, "kill") == 0)
			raise(SIGKILL);
		errno = EIO;
		return -1;
	}
	return real(from, to);
}
EOF
if ${CC:-cc} -shared -fPIC -o "$TMP/shim.so" "$TMP/shim.c" -ldl >"$TMP/cc.log" 2>&1; then
	SHIM="$TMP/shim.so"
	# under AddressSanitizer the shim is preloaded before its runtime: allowed
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
fi

# --- 3: a result for a cancelled attempt does not override the current attempt ---
setup cancelled
mv "$REQ" "$REQ.away"
iken send "$doc" >/dev/null 2>&1          # attempt A cannot be published
iken cancel "$doc" >/dev/null              # and is cancelled
mv "$REQ.away" "$REQ"
iken send "$doc" >/dev/null                # attempt B is published
A=$(iken queue | awk -F'\t' '$4=="cancelled" {print $3}')
B=$(iken queue | awk -F'\t' '$4=="published" {print $3}')
mkdir -p "$D/keep"; cp "$REQ"/* "$D/keep/"
sim                                        # an accepted result, made into one for A
for f in "$RES"/*; do
	sed "s/$B/$A/g" "$f" > "$D/keep/$(basename "$f" | sed "s/$B/$A/")"; rm "$f"
done
cp "$D/keep/"*req_* "$REQ/"
sim --fault reject=19                      # B is rejected
cp "$D/keep/"*res_* "$RES/"                # ... and A's (accepted) result arrives too
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "res_$A.xml: quarantined: result for a cancelled attempt" \
	"3: a result for a cancelled attempt is quarantined with the reason"
[ "$(state_of "$A")" = cancelled ] && [ "$(state_of "$B")" = rejected ]
ok $? "3: the cancelled attempt stays cancelled, the current one is rejected"
[ "$(status_of "$doc")" = rejected ]; ok $? "3: the document follows its current attempt only"
[ -f "$D/quarantine/IKNsubm01res_$A.xml" ]; ok $? "3: the file is kept in the quarantine folder"
iken results > "$TMP/out"
awk -F'\t' -v a="$A" '($4 "") == a && $5 == "accepted"' "$TMP/out" | grep -q .
ok $? "3: the cancelled attempt's result is stored as received, for evidence"

# --- 4: a result imported before "published" is recorded ---
setup race
IKEN_TEST_STEP_MS=3000 "$IKEN" --data "$D" send "$doc" > "$TMP/send.out" 2>&1 &
sender=$!
until_ok 20 sh -c "ls '$REQ' | grep -q '^IKN.*req_'"
fid=$(ls "$REQ" | sed -n 's/^IKN.*req_\(.*\)\.xml$/\1/p')
[ "$(state_of "$fid")" = publishing ]; ok $? "4: (the publisher is between its rename and 'published')"
sim
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "accepted, reception number" "4: the result is imported"
wait $sender
iken log send > "$TMP/log"
[ "$(grep -c "req_$fid.xml.*published" "$TMP/log")" -eq 1 ]
ok $? "4: the send log has exactly one 'published' line"
[ "$(state_of "$fid")" = accepted ] && [ "$(status_of "$doc")" = accepted ]
ok $? "4: attempt and document accepted; the publisher's late transition changed nothing"

# --- 6: a result over the size limit is quarantined, recorded, once ---
setup big
head -c 17000000 /dev/zero | tr '\0' a > "$RES/IKNsubm01res_9912345678202604010930009999.xml"
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "quarantined: file larger than" "6: an oversized result is quarantined"
[ "$(count "$RES" .)" -eq 0 ] && [ -f "$D/quarantine/IKNsubm01res_9912345678202604010930009999.xml" ]
ok $? "6: it left the result folder for the quarantine folder"
iken log receive > "$TMP/out"
has "$TMP/out" "0009999.xml.*[0-9a-f]\{64\}.*file larger than" "6: the receive log records it with its SHA-256"
iken poll > "$TMP/out" 2>&1
[ ! -s "$TMP/out" ]; ok $? "6: the next pass has nothing to do"

# --- 7: putting a claim back never replaces a newer file of the same name ---
setup overwrite
iken send "$doc" >/dev/null
mkdir -p "$D/keep"; cp "$REQ"/* "$D/keep/"
sim; n=$(ls "$RES")
mv "$RES/$n" "$RES/.iken-claim.999999.$n"  # claimed by a poller that was killed
cp "$D/keep/"* "$REQ/"; sim --fault reject=19   # then the terminal writes another result
sum1=$(cksum < "$RES/.iken-claim.999999.$n"); sum2=$(cksum < "$RES/$n")
iken poll > "$TMP/out" 2>&1
k=0
for f in "$D"/archive/* "$D"/quarantine/*; do
	[ -f "$f" ] || continue
	s=$(cksum < "$f"); [ "$s" = "$sum1" ] && k=$((k + 1)); [ "$s" = "$sum2" ] && k=$((k + 10))
done
[ $k -eq 11 ]; ok $? "7: both files kept (archive and quarantine), neither overwritten"
has "$TMP/out" "quarantined: duplicate result" "7: the second result for the attempt is quarantined"
[ "$(count "$RES" .)" -eq 0 ]; ok $? "7: nothing left in the result folder"

# --- 8: claims of this process are retried: read errors, its own leftovers ---
setup stuck
iken send "$doc" >/dev/null
sim
if [ -n "$SHIM" ]; then
	touch "$TMP/openfail"
	SHIM_OPENFAIL="$TMP/openfail" LD_PRELOAD="$SHIM" "$IKEN" --data "$D" poll --daemon \
		> "$TMP/daemon.out" 2>&1 &
	dp=$!
	until_ok 10 grep -q "cannot read" "$TMP/daemon.out"; ok $? "8: the read error is reported"
	until_ok 5 sh -c "ls -A '$RES' > '$TMP/ls'; grep -q '^IKN' '$TMP/ls' && ! grep -q '^\.iken-claim' '$TMP/ls'"
	ok $? "8: the unreadable file is put back, no claim left"
	rm "$TMP/openfail"
	until_ok 10 sh -c "'$IKEN' --data '$D' queue | grep -q accepted"
	ok $? "8: once the share reads again, the result is imported"
	kill $dp; wait $dp
	# a claim of the daemon's own pid (as an earlier pass of it could leave): taken back
	"$GEN" ikensho 1 6 > "$TMP/op2.csv"; iken import ikensho "$TMP/op2.csv" >/dev/null
	doc2=$(iken list ikensho --status draft | cut -f1 | head -1)
	iken send "$doc2" >/dev/null
	sim; n=$(ls "$RES")
	sh -c 'mv "$1/$2" "$1/.iken-claim.$$.$2"; exec "$3" --data "$4" poll --daemon' \
		sh "$RES" "$n" "$IKEN" "$D" > "$TMP/daemon.out" 2>&1 &
	dp=$!
	until_ok 10 sh -c "[ \"\$('$IKEN' --data '$D' show $doc2 | grep -c 'status accepted')\" = 1 ]"
	ok $? "8: a claim left by this very process is put back and imported"
	kill $dp; wait $dp
else
	for i in 1 2 3 4; do skip "no C compiler for the fault shim"; done
fi

# --- 8, 9: a failed archive move, a poller killed before the move: re-read, not duplicated ---
setup movefail 2
id1=$(iken list ikensho | sed -n 1p | cut -f1); id2=$(iken list ikensho | sed -n 2p | cut -f1)
iken send "$id1" >/dev/null
sim
if [ -n "$SHIM" ]; then
	touch "$TMP/archfail"
	SHIM_ARCHIVE=fail SHIM_ARCHIVE_DIR="$D/archive/" SHIM_ARCHIVE_FLAG="$TMP/archfail" \
		LD_PRELOAD="$SHIM" "$IKEN" --data "$D" poll > "$TMP/out" 2>&1
	has "$TMP/out" "cannot move to" "8: a failed archive move is reported"
	[ "$(count "$RES" '^IKN.*res_')" -eq 1 ] && [ "$(count "$RES" '^\.')" -eq 0 ]
	ok $? "8: the file is put back (no claim left)"
	rm "$TMP/archfail"
	iken poll > "$TMP/out" 2>&1
	[ "$(count "$D/archive" res_)" -eq 1 ] && [ "$(count "$D/quarantine" .)" -eq 0 ]
	ok $? "9: the next pass archives it without quarantining it as a duplicate"
	[ "$(iken results | grep -c accepted)" -eq 1 ]; ok $? "9: imported exactly once"
	iken send "$id2" >/dev/null
	sim
	touch "$TMP/archfail"
	SHIM_ARCHIVE=kill SHIM_ARCHIVE_DIR="$D/archive/" SHIM_ARCHIVE_FLAG="$TMP/archfail" \
		LD_PRELOAD="$SHIM" "$IKEN" --data "$D" poll >/dev/null 2>&1
	rm "$TMP/archfail"
	[ "$(count "$RES" '^\.iken-claim')" -eq 1 ]; ok $? "9: (a poller killed between import and move left its claim)"
	iken poll > "$TMP/out" 2>&1
	[ "$(count "$D/archive" res_)" -eq 2 ] && [ "$(count "$D/quarantine" .)" -eq 0 ] &&
		[ "$(count "$RES" .)" -eq 0 ]
	ok $? "9: the recovered claim is a re-read: archived, not quarantined"
else
	for i in 1 2 3 4 5 6; do skip "no C compiler for the fault shim"; done
fi

# --- 9: the same bytes written again after the first copy was consumed: a duplicate ---
setup dup
iken send "$doc" >/dev/null
"$SIM" --req "$REQ" --res "$RES" --delay 0 --once --fault duplicate 2>>"$TMP/sim.log" &
simpid=$!
until_ok 10 sh -c "ls '$RES' | grep -q res_"
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "accepted, reception number" "9: the first copy is imported"
wait $simpid
[ "$(count "$RES" res_)" -eq 1 ]; ok $? "9: (the terminal wrote the same bytes again)"
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "quarantined: duplicate result" "9: a byte-identical duplicate is quarantined"
[ "$(count "$D/quarantine" res_)" -eq 1 ] && [ "$(count "$D/archive" res_)" -eq 1 ]
ok $? "9: one copy archived, one quarantined"
iken results --status quarantined > "$TMP/out"
has "$TMP/out" "duplicate result" "9: the reason is shown to the user"

# --- 10: stability by this computer's clock; incomplete results wait ---
setup skew 2
iken send --all >/dev/null
sim
f1=$(ls "$RES" | sed -n 1p); f2=$(ls "$RES" | sed -n 2p)
mv "$RES/$f1" "$D/full1.xml"; mv "$RES/$f2" "$D/full2.xml"
# the terminal's clock is 5 minutes behind: its files look old the moment they are written
( i=1; while [ $i -le 12 ]; do
	if [ $i -lt 12 ]; then head -c $((i * 40)) "$D/full1.xml"; else cat "$D/full1.xml"; fi \
		> "$RES/$f1.tmp"
	touch -d '-5 min' "$RES/$f1.tmp"; mv "$RES/$f1.tmp" "$RES/$f1"; sleep 0.25; i=$((i + 1))
done ) &
writer=$!
sleep 0.3
IKEN_STABLE_SECONDS=1 iken poll > "$TMP/out" 2>&1
[ "$(count "$RES" "^$f1\$")" -eq 1 ] && ! grep -q "$f1" "$TMP/out"
ok $? "10: a growing file with an old mtime is not taken"
wait $writer
head -c 300 "$D/full2.xml" > "$RES/$f2"; touch -d '-5 min' "$RES/$f2"   # half written, stalled
IKEN_STABLE_SECONDS=1 iken poll > "$TMP/out" 2>&1
has "$TMP/out" "$f2: the file ends too early" "10: an incomplete result is put back"
[ -f "$RES/$f2" ] && [ "$(count "$D/quarantine" .)" -eq 0 ]; ok $? "10: ... not quarantined"
cp "$D/full2.xml" "$RES/$f2"                                            # the rest arrives
IKEN_STABLE_SECONDS=1 iken poll > "$TMP/out" 2>&1
has "$TMP/out" "accepted, reception number" "10: the rest arrived: imported"
[ "$(iken results | grep -c accepted)" -eq 2 ] && [ "$(count "$D/quarantine" .)" -eq 0 ]
ok $? "10: both results imported once complete, nothing quarantined"
setup trunc
iken send "$doc" >/dev/null
sim; f=$(ls "$RES"); head -c 300 "$RES/$f" > "$D/half"; cp "$D/half" "$RES/$f"
IKEN_STABLE_SECONDS=1 iken poll > "$TMP/out" 2>&1
has "$TMP/out" "ends too early" "10: (a result that stays incomplete is put back first)"
sleep 10
IKEN_STABLE_SECONDS=1 iken poll > "$TMP/out" 2>&1
has "$TMP/out" "$f: quarantined: malformed result" "10: and quarantined after 10 × stable_seconds unchanged"

# --- 12: the identifier in the file must be the one in its name; the attempt's clinic code ---
setup ident 2
iken send --all >/dev/null
sim
f1=$(ls "$RES" | sed -n 1p); f2=$(ls "$RES" | sed -n 2p)
mv "$RES/$f2" "$D/f2.xml"; cp "$RES/$f1" "$RES/$f2"      # f2's name, f1's content
id1=$(echo "$f1" | sed 's/.*res_\(.*\)\.xml/\1/')
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "$f2: quarantined: identifier in the file differs from its name" \
	"12: a result naming another identifier than its file name is quarantined"
[ "$(state_of "$(echo "$f2" | sed 's/.*res_\(.*\)\.xml/\1/')")" = published ]
ok $? "12: neither attempt is touched by it"
setup clinic
iken send "$doc" >/dev/null
sim
sed '2s/^9912345678,/9912345679,/' "$TMP/settings.csv" > "$TMP/s2.csv"
iken import settings "$TMP/s2.csv" > "$TMP/out" 2>&1; ok $? "12: (the clinic code in the settings changes)"
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "accepted, reception number" "12: a result is checked against the clinic code it was sent with"
"$GEN" ikensho 1 7 > "$TMP/op3.csv"; iken import ikensho "$TMP/op3.csv" >/dev/null
iken send "$(iken list ikensho --status draft | cut -f1 | head -1)" >/dev/null
sim; f=$(ls "$RES")
sed 's|<MedicalInstitutionCode>[0-9]*<|<MedicalInstitutionCode>9900000000<|' "$RES/$f" > "$D/x" && mv "$D/x" "$RES/$f"
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "quarantined: medical institution code 9900000000" "12: a result for another clinic is quarantined"

done_testing
