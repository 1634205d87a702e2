#!/bin/sh
# Send and results end to end: the real iken, the real terminal simulator, real folders.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SIM="$top_builddir/iken-termsim"
D="$TMP/data"
REQ="$D/terminal/req"
RES="$D/terminal/res"
export IKEN_STABLE_SECONDS=0
iken() { "$IKEN" --data "$D" "$@"; }
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" 2>>"$TMP/sim.log"; }
count() { ls "$1" 2>/dev/null | grep -c "$2"; }

iken init >/dev/null
"$GEN" settings 1 3 > "$TMP/settings.csv"
iken import settings "$TMP/settings.csv" >/dev/null
printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,試験 医師,D001,,\r\nclerk1,2,試験 事務,,,\r\n' > "$TMP/users.csv"
run_ok "users imported (tester is a doctor)" iken import user "$TMP/users.csv"

# --- 100 opinions and their 100 invoices, sent and all accepted ---
"$GEN" ikensho 100 11 > "$TMP/op.csv"
"$GEN" seikyu 100 12 --for "$TMP/op.csv" > "$TMP/inv.csv"
run_ok "import 100 opinions" iken import ikensho "$TMP/op.csv"
run_ok "import 100 invoices" iken import seikyu "$TMP/inv.csv"
first_op=$(iken list ikensho | head -1 | cut -f1)
IKEN_TEST_USER=clerk1 "$IKEN" --data "$D" send "$first_op" >"$TMP/out" 2>&1
[ $? -ne 0 ]; ok $? "a clerk cannot finalize an opinion"
has "$TMP/out" "only a doctor" "the clerk is told why"
run_ok "send --all" iken send --all
[ "$(count "$REQ" 'req_.*\.xml$')" -eq 200 ]; ok $? "200 envelopes in the request folder"
[ "$(ls -A "$REQ" | grep -c '^\.')" -eq 0 ]; ok $? "no temporary files left"
run_ok "terminal simulator answers" sim
[ "$(count "$REQ" 'xml$')" -eq 0 ]; ok $? "the simulator took every request"
run_ok "poll imports the results" iken poll
[ "$(grep -c 'accepted, reception number' "$TMP/out")" -eq 200 ]; ok $? "200 results accepted"
run_ok "status" iken status
[ "$(awk '$1=="ikensho"{print $6}' "$TMP/out")" = 100 ]; ok $? "100 opinions accepted"
[ "$(awk '$1=="seikyu"{print $6}' "$TMP/out")" = 100 ]; ok $? "100 invoices accepted"
[ "$(count "$D/archive" 'res_')" -eq 200 ]; ok $? "result files archived"
run_ok "queue" iken queue
[ "$(grep -c 'accepted' "$TMP/out")" -eq 200 ]; ok $? "queue shows 200 accepted"
[ "$(awk -F'\t' '$2=="seikyu" && $8 ~ /^9912345678/' "$TMP/out" | wc -l)" -eq 100 ]; ok $? "queue shows each invoice's opinion"
run_ok "send log" iken log send
[ "$(grep -c 'published' "$TMP/out")" -eq 200 ]; ok $? "send log: 200 publications with SHA-256"
run_ok "receive log" iken log receive
[ "$(grep -c 'accepted' "$TMP/out")" -eq 200 ]; ok $? "receive log: 200 imports"
f=$(ls "$D/archive" | head -1)
run_ok "poll again imports nothing twice" iken poll
[ "$(iken results | grep -c accepted)" -eq 200 ]; ok $? "each result imported exactly once"

# --- an invoice needs its opinion ---
"$GEN" seikyu 1 99 > "$TMP/lone.csv"
iken import seikyu "$TMP/lone.csv" >/dev/null
lone=$(iken list seikyu --status draft | cut -f1 | tail -1)
exit_is 1 "an invoice without a sent opinion is refused" iken send "$lone"
has "$TMP/out" "no opinion of the same applicant" "the refusal says why"

# --- injected errors come back as rejected, against the right labels ---
"$GEN" ikensho 2 21 > "$TMP/op2.csv"
iken import ikensho "$TMP/op2.csv" >/dev/null
ids=$(iken list ikensho --status draft | cut -f1 | tr '\n' ' ')
run_ok "send two more" iken send $ids
run_ok "simulator rejects items 19 and 35" sim --fault reject=19:35
run_ok "poll" iken poll
[ "$(grep -c 'rejected with 2 error' "$TMP/out")" -eq 2 ]; ok $? "two rejected results"
iken results --status rejected > "$TMP/rej"
has "$TMP/rej" "item 19 (Sex)" "error shown against the label of item 19"
has "$TMP/rej" "item 35 (Diagnosis 1)" "error shown against the label of item 35"
if have_ja_locale; then
	(LANG=ja_JP.UTF-8 LC_ALL=ja_JP.UTF-8 iken results --status rejected) > "$TMP/rej"
	has "$TMP/rej" "項目19 (性別)" "and in Japanese"
else
	skip_ja 1
fi
first=$(echo $ids | cut -d' ' -f1)
iken show "$first" > "$TMP/show"
has "$TMP/show" "status rejected" "the document is rejected and editable again"
run_ok "send the rejected one again" iken send "$first"
[ "$(iken queue | awk -v d="$first" '$1==d' | wc -l)" -eq 2 ]; ok $? "a new identifier; both attempts kept"
sim >/dev/null; iken poll >/dev/null
iken show "$first" > "$TMP/show"
has "$TMP/show" "status accepted" "accepted on the second attempt"

# --- faults: .err, unknown identifier, malformed, duplicate, Shift_JIS, slow, no answer ---
fault_case() { # fault_case FAULT EXPECT-IN-POLL-OUTPUT "description"
	"$GEN" ikensho 1 "$4" > "$TMP/f.csv"
	iken import ikensho "$TMP/f.csv" >/dev/null
	fid=$(iken list ikensho --status draft | cut -f1 | tail -1)
	iken send "$fid" >/dev/null
	sim --fault "$1"
	iken poll >"$TMP/out" 2>&1
	has "$TMP/out" "$2" "$3"
}
fault_case err "quarantined: .err file" ".err file quarantined, document rejected" 31
fault_case unknown "quarantined: unknown identifier" "result for an unknown identifier quarantined" 32
fault_case malformed "quarantined: malformed" "malformed result quarantined" 33
fault_case sjis "accepted, reception number" "Shift_JIS result imported" 34
fault_case duplicate "accepted, reception number" "first of a duplicate imported" 35
sim --fault duplicate >/dev/null 2>&1
iken poll >"$TMP/out" 2>&1
[ "$(count "$D/quarantine" '.')" -ge 3 ]; ok $? "quarantine folder keeps the files"
iken results --status quarantined > "$TMP/q"
has "$TMP/q" "unknown identifier" "quarantine reasons shown to the user"
"$GEN" ikensho 1 36 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
fid=$(iken list ikensho --status draft | cut -f1 | tail -1)
iken send "$fid" >/dev/null
sim --fault noanswer
IKEN_TEST_NOW=20260403093000 iken queue > "$TMP/out"
has "$TMP/out" "waiting-long" "no result after the configured time is a warning"

# --- a result written slowly is read only once it is stable ---
"$GEN" ikensho 1 37 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
fid=$(iken list ikensho --status draft | cut -f1 | tail -1)
iken send "$fid" >/dev/null
"$SIM" --req "$REQ" --res "$RES" --delay 0 --once --fault slow 2>>"$TMP/sim.log" &
simpid=$!
sleep 0.5
IKEN_STABLE_SECONDS=2 iken poll >"$TMP/out" 2>&1
grep -q "quarantined" "$TMP/out"; [ $? -ne 0 ]; ok $? "a growing result file is not taken"
wait $simpid
sleep 2
IKEN_STABLE_SECONDS=1 iken poll >"$TMP/out" 2>&1
has "$TMP/out" "accepted, reception number" "the stable file is imported"

# --- envelope inspection for support staff ---
"$GEN" ikensho 1 38 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
fid=$(iken list ikensho --status draft | cut -f1 | tail -1)
iken send "$fid" >/dev/null
env=$(ls "$REQ"/*.xml | head -1)
run_ok "iken envelope decodes a request" iken envelope "$env"
has "$TMP/out" "ArbitraryFileIdentifier" "header shown"
has "$TMP/out" "^   6 Insured number: 99" "CSV items shown with numbers and labels"
head -c 5 "$env" | grep -q '<?xml'; ok $? "envelope starts with the XML declaration (no BOM)"
sim >/dev/null; iken poll >/dev/null

# --- folders missing, read-only, full: documents stay queued, go out once the folder is back ---
"$GEN" ikensho 3 40 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
ids=$(iken list ikensho --status draft | cut -f1 | tr '\n' ' ')
set -- $ids
mv "$REQ" "$REQ.away"
iken send "$1" >"$TMP/out" 2>&1
has "$TMP/out" "will retry" "missing request folder: publication fails, will retry"
iken queue | grep -q "publish-failed"; ok $? "the queue shows publish-failed with the error"
mv "$REQ.away" "$REQ"
run_ok "folder back: poll --force publishes" iken poll --force
[ "$(iken show "$1" | grep -c 'status published')" -eq 1 ]; ok $? "published once the folder is back"
if mount -t tmpfs -o size=16k tmpfs "$REQ" 2>/dev/null; then
	mount -o remount,ro "$REQ"
	iken send "$2" >"$TMP/out" 2>&1
	has "$TMP/out" "Read-only file system" "read-only request folder: the error is recorded"
	mount -o remount,rw "$REQ"
	dd if=/dev/zero of="$REQ/filler" bs=1k count=64 2>/dev/null
	IKEN_TEST_NOW=20260401100000 iken poll --force >"$TMP/out" 2>&1
	has "$TMP/out" "No space left on device" "full request folder: the error is recorded"
	[ "$(ls -A "$REQ" | grep -c 'req_')" -eq 0 ]; ok $? "no partial envelope under a final name on a full disk"
	rm -f "$REQ/filler"
	run_ok "space again: poll --force publishes" iken poll --force
	[ "$(count "$REQ" "req_")" -ge 1 ]; ok $? "the envelope went out"
	cp "$REQ"/*.xml "$TMP/" 2>/dev/null
	umount "$REQ"
else
	for i in 1 2 3 4 5; do ok 0 "# SKIP mount not permitted here"; done
fi
sim >/dev/null 2>&1; iken poll --force >/dev/null 2>&1; sim >/dev/null 2>&1; iken poll >/dev/null 2>&1

# --- a missing result folder: the results wait, nothing is lost, they come in once it is back ---
"$GEN" ikensho 2 45 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
iken send $(iken list ikensho --status draft | cut -f1) >/dev/null
sim >/dev/null 2>&1
mv "$RES" "$RES.away"
iken poll >"$TMP/out" 2>&1
[ $? -ne 0 ]; ok $? "a missing result folder is an error of the poll"
has "$TMP/out" "cannot read the result folder" "the message names the result folder"
[ "$(iken list ikensho --status published | wc -l)" -ge 2 ]; ok $? "the documents stay published, waiting"
mv "$RES.away" "$RES"
iken poll >"$TMP/out" 2>&1
[ "$(grep -c "accepted, reception number" "$TMP/out")" -ge 2 ]; ok $? "the results come in once the folder is back"

# --- two pollers on the same folders import every result exactly once ---
"$GEN" ikensho 30 50 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
ids=$(iken list ikensho --status draft | cut -f1 | tr '\n' ' ')
sim >/dev/null 2>&1; iken poll >/dev/null 2>&1   # drain what earlier cases left
iken send $ids >/dev/null
sim >/dev/null
iken results > "$TMP/r0"
before=$(grep -c accepted "$TMP/r0")
iken poll >"$TMP/p1" 2>&1 &
iken poll >"$TMP/p2" 2>&1 &
wait
after=$(iken results | grep -c accepted)
n=$(echo $ids | wc -w)
[ $((after - before)) -eq "$n" ]; ok $? "two pollers: $n results imported exactly once"
[ "$(cat "$TMP/p1" "$TMP/p2" | grep -c 'accepted, reception')" -eq "$n" ]; ok $? "each import reported by one poller only"

# --- SIGKILL at random points: never a partial envelope, never lost or doubled ---
"$GEN" ikensho 12 60 > "$TMP/f.csv"; iken import ikensho "$TMP/f.csv" >/dev/null
ids=$(iken list ikensho --status draft | cut -f1)
rm -f "$REQ"/*
for id in $ids; do
	IKEN_TEST_STEP_MS=40 "$IKEN" --data "$D" send "$id" >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( (id * 37) % 19 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	IKEN_TEST_STEP_MS=40 "$IKEN" --data "$D" poll --force >/dev/null 2>&1 &
	pid=$!
	sleep "0.$(( (id * 53) % 13 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
done
iken poll --force >/dev/null 2>&1
iken poll --force >/dev/null 2>&1
partial=0
for f in "$REQ"/*req_*.xml; do
	"$IKEN" --data "$D" envelope "$f" >/dev/null 2>&1 || partial=$((partial + 1))
done
[ $partial -eq 0 ]; ok $? "every envelope under a final name is complete"
[ "$(ls -A "$REQ" | grep -c '^\.')" -eq 0 ]; ok $? "no temporary files left after recovery"
lost=0; doubled=0
for id in $ids; do
	st=$(iken show "$id" | sed -n 's/.*status \([a-z]*\).*/\1/p')
	n=$(iken queue | awk -v d="$id" '$1==d && $4!="cancelled"' | wc -l)
	[ "$n" -ge 1 ] || { [ "$st" = draft ] || [ "$st" = final ]; } || lost=$((lost + 1))
	[ "$n" -le 1 ] || doubled=$((doubled + 1))
done
[ $lost -eq 0 ]; ok $? "no document lost"
[ $doubled -eq 0 ]; ok $? "no document queued twice"
files=$(ls "$REQ" | grep -c 'req_')
pub=0
for id in $ids; do
	pub=$((pub + $(iken queue | awk -v d="$id" '$1==d && $4=="published"' | wc -l)))
done
[ "$files" -eq "$pub" ]; ok $? "one file per published attempt ($files files, $pub published)"
unsent=$(iken list ikensho --status draft | wc -l)
if [ "$unsent" -gt 0 ]; then iken send $(iken list ikensho --status draft | cut -f1) >/dev/null; fi
[ "$(ls "$REQ" | grep -c 'req_')" -eq 12 ]; ok $? "all 12 documents published exactly once in the end"

done_testing
