#!/bin/sh
# The send queue under faults: a request folder that vanishes or moves, SIGKILL between the steps
# of a publication, a folder flush that fails after the rename, a publisher that stalls past its
# lease, and an invoice whose opinion is not out (or withdrawn). Nothing is ever marked published
# that is not in the request folder, nothing is published twice, nobody removes another's file.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SIM="$top_builddir/iken-termsim"
export IKEN_STABLE_SECONDS=0
iken() { "$IKEN" --data "$D" "$@"; }
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" 2>>"$TMP/sim.log"; }
finals() { ls "$1" 2>/dev/null | grep -c 'req_.*\.xml$'; }
dots() { ls -A "$1" 2>/dev/null | grep -c '^\.'; }
state_of() { iken queue | awk -F'\t' -v d="$1" '$1==d{s=$4} END{print s}'; }
published_lines() { iken log send | awk -F'\t' -v f="$1" '$3 ~ f && $5=="published"' | wc -l; }

setup() { # setup NAME: a fresh data folder with settings and a doctor
	D="$TMP/$1"
	REQ="$D/terminal/req"
	RES="$D/terminal/res"
	iken init >/dev/null
	"$GEN" settings 1 3 > "$TMP/$1.settings.csv"
	iken import settings "$TMP/$1.settings.csv" >/dev/null
	printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,試験 医師,D001,,\r\n' > "$TMP/$1.users.csv"
	iken import user "$TMP/$1.users.csv" >/dev/null
}
opinion() { # opinion SEED: imports one opinion, prints its id
	"$GEN" ikensho 1 "$1" > "$TMP/op.csv"
	iken import ikensho "$TMP/op.csv" >/dev/null 2>&1
	iken list ikensho --status draft | cut -f1 | tail -1
}
with_invoice() { # with_invoice SEED: an opinion and its invoice; sets op and inv
	"$GEN" ikensho 1 "$1" > "$TMP/op.csv"
	"$GEN" seikyu 1 "$1" --for "$TMP/op.csv" > "$TMP/inv.csv"
	iken import ikensho "$TMP/op.csv" >/dev/null 2>&1
	iken import seikyu "$TMP/inv.csv" >/dev/null 2>&1
	op=$(iken list ikensho | head -1 | cut -f1)
	inv=$(iken list seikyu | head -1 | cut -f1)
}
wait_state() { # wait_state DOC STATE: until the queue shows it (at most 10 s)
	i=0
	while [ $i -lt 100 ]; do
		[ "$(state_of "$1")" = "$2" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}
# publisher DOC OUT: `iken send DOC` slowed down (a second per step) in the background; $pub is its
# pid. Steps: claim, write the dot-file, "publishing", rename, "published".
publisher() {
	IKEN_TEST_STEP_MS=1000 "$IKEN" --data "$D" send "$1" >"$2" 2>&1 &
	pub=$!
}
# killed_publishing DOC: a publisher SIGKILLed between "publishing" and the rename
killed_publishing() {
	publisher "$1" "$TMP/pub.out"
	wait_state "$1" publishing; r=$?
	kill -9 $pub 2>/dev/null
	wait $pub 2>/dev/null
	return $r
}

# --- 1a. the request folder vanishes between "publishing" and the rename ---
setup vanish
id=$(opinion 5)
publisher "$id" "$TMP/p.out"
wait_state "$id" publishing; ok $? "vanish: the publisher reaches publishing"
mv "$REQ" "$REQ.gone"
wait $pub
has "$TMP/p.out" "could not be published" "vanish: the failed rename is reported"
[ "$(state_of "$id")" = publish-failed ]; ok $? "vanish: not marked published, queued for a retry"
iken show "$id" | grep -q "status queued"; ok $? "vanish: the document stays queued"
[ "$(published_lines req_)" -eq 0 ]; ok $? "vanish: no publication in the send log"
mv "$REQ.gone" "$REQ"
run_ok "vanish: folder back, poll --force" iken poll --force
[ "$(state_of "$id")" = published ]; ok $? "vanish: published once the folder is back"
[ "$(finals "$REQ")" -eq 1 ] && [ "$(dots "$REQ")" -eq 0 ]
ok $? "vanish: one envelope, the earlier attempt's dot-file removed"

# --- 1b. recovery of a killed publisher while the request folder cannot be reached ---
setup recover
id=$(opinion 5)
killed_publishing "$id"; ok $? "recover: publisher killed while publishing"
mv "$REQ" "$REQ.gone"
iken poll >"$TMP/out" 2>&1
[ "$(state_of "$id")" = publishing ]; ok $? "recover: folder unreachable, the entry stays publishing"
has "$TMP/out" "cannot be reached" "recover: the user is told"
mv "$REQ.gone" "$REQ"
run_ok "recover: folder back, poll" iken poll
has "$TMP/out" "finished an interrupted publication" "recover: the interrupted publication is finished"
[ "$(state_of "$id")" = published ] && [ "$(finals "$REQ")" -eq 1 ] && [ "$(dots "$REQ")" -eq 0 ]
ok $? "recover: published, the envelope in the folder, no dot-file"

# --- 1c. the request folder changed in the settings while a publication was in flight ---
setup settings
id=$(opinion 5)
killed_publishing "$id"; ok $? "settings: publisher killed while publishing"
NEW="$TMP/share/req"
mkdir -p "$NEW"
sed "s|ホウジン,,|ホウジン,$NEW,|" "$TMP/settings.settings.csv" > "$TMP/s2.csv"
run_ok "settings: req_dir changed" iken import settings "$TMP/s2.csv"
run_ok "settings: poll" iken poll
[ "$(state_of "$id")" = published ]; ok $? "settings: published"
[ "$(finals "$NEW")" -eq 1 ]; ok $? "settings: the envelope is in the request folder of the settings"
[ "$(finals "$REQ")" -eq 0 ] && [ "$(dots "$REQ")" -eq 0 ]; ok $? "settings: nothing left in the old folder"
[ "$(published_lines req_)" -eq 1 ]; ok $? "settings: published once"

# --- 1d. the folder's fsync fails after a successful rename: published, and only once ---
SHIM="$top_builddir/tests/shim_fsyncfail.so"
if [ ! -f "$SHIM" ]; then
	SHIM="$TMP/shim_fsyncfail.so"
	"${CC:-cc}" -shared -fPIC -o "$SHIM" "$top_srcdir/tests/shim_fsyncfail.c" -ldl >/dev/null 2>&1 || SHIM=
fi
# the shim goes after the sanitizer runtime when the suite runs under ASan
failsync() { ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	LD_PRELOAD="$SHIM" FAIL_DIR_FSYNC=1 "$@"; }
if [ -n "$SHIM" ]; then
	setup double
	id=$(opinion 5)
	killed_publishing "$id"; ok $? "double: publisher killed while publishing"
	failsync "$IKEN" --data "$D" poll >"$TMP/out" 2>&1
	has "$TMP/out" "finished an interrupted publication" "double: recovery renames although the folder flush fails"
	[ "$(state_of "$id")" = published ] && [ "$(finals "$REQ")" -eq 1 ]; ok $? "double: marked published, in the folder"
	sim >/dev/null
	iken poll >"$TMP/out" 2>&1
	has "$TMP/out" "accepted, reception number" "double: the result is imported"
	iken poll --force >/dev/null 2>&1
	[ "$(finals "$REQ")" -eq 0 ]; ok $? "double: not republished"
	[ "$(published_lines req_)" -eq 1 ]; ok $? "double: one publication in the send log"
	iken results --status quarantined | grep -q duplicate; [ $? -ne 0 ]; ok $? "double: no duplicate result"
	id2=$(opinion 6)
	failsync "$IKEN" --data "$D" send "$id2" >"$TMP/out" 2>&1
	[ "$(state_of "$id2")" = published ] && [ "$(finals "$REQ")" -eq 1 ]
	ok $? "double: a direct publication whose flush fails is published"
else
	for i in 1 2 3 4 5 6 7 8; do echo "ok $((tap_n + i)) # SKIP no C compiler for the fsync shim"; done
	tap_n=$((tap_n + 8))
fi

# --- 2. a stalled publisher loses its claim after the lease and removes nobody's file ---
setup lease
id=$(opinion 5)
IKEN_TEST_STEP_MS=1500 "$IKEN" --data "$D" send "$id" >"$TMP/p1" 2>&1 &
p1=$!
wait_state "$id" claimed; ok $? "lease: the first publisher claimed it"
# 11 minutes later by the clock: the claim is stale; a second, also slow, publisher takes it
IKEN_TEST_NOW=20260401094100 IKEN_TEST_STEP_MS=1500 "$IKEN" --data "$D" poll --force >"$TMP/p2" 2>&1 &
p2=$!
wait $p1 $p2
has "$TMP/p1" "taken over by another publisher" "lease: the stalled publisher learns it lost the claim"
has "$TMP/p2" "published" "lease: the second publisher publishes"
[ "$(state_of "$id")" = published ]; ok $? "lease: published"
[ "$(finals "$REQ")" -eq 1 ]; ok $? "lease: the envelope is in the request folder"
[ "$(dots "$REQ")" -eq 0 ]; ok $? "lease: no dot-file left"
f=$(ls "$REQ"/*req_*.xml 2>/dev/null | head -1)
run_ok "lease: the envelope is complete" iken envelope "$f"
[ "$(published_lines req_)" -eq 1 ]; ok $? "lease: published once"

# --- 5a. an opinion cannot be cancelled from under its queued invoice ---
setup pair
with_invoice 5
rmdir "$REQ"
iken send "$op" "$inv" >"$TMP/out" 2>&1
has "$TMP/out" "waits for its opinion" "pair: the invoice waits for its opinion"
exit_is 1 "pair: cancelling the opinion is refused" iken cancel "$op"
has "$TMP/err" "cancel the invoice first" "pair: the refusal says why"
if have_ja_locale; then
	(LANG=ja_JP.UTF-8 LC_ALL=ja_JP.UTF-8 iken cancel "$op") >"$TMP/out" 2>&1
	has "$TMP/out" "先に請求書を取り消してください" "pair: and in Japanese"
else
	skip_ja 1
fi
mkdir "$REQ"
run_ok "pair: poll --force" iken poll --force
[ "$(state_of "$op")" = published ] && [ "$(state_of "$inv")" = published ]; ok $? "pair: both published"
[ "$(finals "$REQ")" -eq 2 ]; ok $? "pair: the opinion went with its invoice"
setup pair2
with_invoice 6
rmdir "$REQ"
iken send "$op" "$inv" >/dev/null 2>&1
run_ok "pair: the invoice can be cancelled" iken cancel "$inv"
run_ok "pair: then the opinion" iken cancel "$op"

# --- 5b. an invoice never goes out before its opinion ---
setup order
with_invoice 5
rmdir "$REQ"
iken send "$op" >/dev/null 2>&1   # the share is down: the opinion waits 30 s for its retry
mkdir "$REQ"
IKEN_TEST_NOW=20260401093010 iken send "$inv" >"$TMP/out" 2>&1
has "$TMP/out" "waits for its opinion" "order: the invoice waits for its opinion"
[ "$(finals "$REQ")" -eq 0 ]; ok $? "order: nothing in the request folder before the opinion"
[ "$(state_of "$inv")" = queued ]; ok $? "order: the invoice stays queued"
IKEN_TEST_NOW=20260401093040 iken poll >"$TMP/out" 2>&1
[ "$(state_of "$op")" = published ] && [ "$(state_of "$inv")" = published ]; ok $? "order: both go once the opinion is due"
iken log send | awk -F'\t' '$5=="published"{print $3}' > "$TMP/order.log"
head -1 "$TMP/order.log" | grep -q IKNsubm01req; ok $? "order: the opinion first"

# --- 5c. an invoice whose opinion was rejected stays queued, saying why ---
setup rejected
with_invoice 5
iken send "$op" >/dev/null 2>&1
sim --fault reject=19 >/dev/null   # the terminal takes the opinion; the service rejects it
rmdir "$REQ"
iken send "$inv" >/dev/null 2>&1   # queued (the opinion is still published), the share is down
mkdir "$REQ"
iken poll >/dev/null 2>&1          # imports the rejection; the invoice is not due yet
[ "$(state_of "$op")" = rejected ]; ok $? "rejected: the opinion is rejected"
iken poll --force >"$TMP/out" 2>&1
has "$TMP/out" "stays queued" "rejected: the invoice is not published"
[ "$(finals "$REQ")" -eq 0 ]; ok $? "rejected: nothing in the request folder"
iken queue | awk -F'\t' -v d="$inv" '$1==d' > "$TMP/q"
has "$TMP/q" "was rejected" "rejected: the queue says why"

done_testing
