#!/bin/sh
# Nothing personal in any log, on stderr, or in what the commands that are not about records
# print (a cron job's or a service's output is a log too). The command line's usual flows — init, imports (with
# failures), check, list, show, export, send through iken-termsim, poll (once and as a daemon),
# results, queue, the logs, the audit trail — run with test people and staff whose names and
# insured numbers are unique markers. Every command's stderr, the send and receive logs, the
# audit trail (as shown, as CSV, and its raw bytes in the store), the poller's and the
# simulator's output are searched for the markers: none may appear. Positive controls: show and
# export do print them, so the markers are really in the data.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SIM="$top_builddir/iken-termsim"
D="$TMP/data"
REQ="$D/terminal/req"
RES="$D/terminal/res"
L="$TMP/logs"
mkdir -p "$L"
export IKEN_STABLE_SECONDS=0
# the markers: a kanji family name, a kana reading, insured numbers nothing else has
NAME=漏洩
KANA=ろうえい
KATA=ロウエイ
INS1=9907310001 INS2=9907310002 INS3=9907310003
STAFF=検知
n=0
# c ARGS…: iken with its stderr kept in the logs, and its stdout too but for the commands that
# print records by design (list, show, export); stdout also in $TMP/out
c() {
	n=$((n + 1))
	"$IKEN" --data "$D" "$@" >"$TMP/out" 2>"$L/$n-$1.stderr"; _rc=$?
	case "$1" in list|show|export) ;; *) cp "$TMP/out" "$L/$n-$1.stdout" ;; esac
	return $_rc
}
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" 2>>"$L/termsim.log" >>"$L/termsim.log"; }

c init
"$GEN" settings 1 3 > "$TMP/settings.csv"
c import settings "$TMP/settings.csv"
printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,%s 医師,D001,,\r\nclerk1,2,%s 事務,,,\r\n' \
	"$STAFF" "$STAFF" > "$TMP/users.csv"
c import user "$TMP/users.csv"; ok $? "staff imported (their names are markers too)"

# applicants: a duplicate key fails the import, then the good file
{
	echo "insurer_no,insurer_name,insured_no,name_kana,name,birth_date,sex,postal_code,address,phone"
	echo "990904,試験市,$INS1,$KANA　いち,$NAME　一郎,19400115,1,,,"
	echo "990904,試験市,$INS1,$KANA　に,$NAME　二郎,19410115,1,,,"
} > "$TMP/dup.csv"
c import applicant "$TMP/dup.csv"; [ $? -ne 0 ]; ok $? "an applicant file with a repeated insured number fails"
grep -q "line 3" "$L/$n-import.stderr"; ok $? "and says which line"
{
	echo "insurer_no,insurer_name,insured_no,name_kana,name,birth_date,sex,postal_code,address,phone"
	echo "990904,試験市,$INS1,$KANA　いち,$NAME　一郎,19400115,1,,,"
	echo "990904,試験市,$INS2,$KATA　ニ,$NAME　二郎,19410115,1,,,"
	echo "990904,試験市,$INS3,$KANA　さん,$NAME　三郎,19420115,2,,,"
} > "$TMP/app.csv"
c import applicant "$TMP/app.csv"; ok $? "three marked applicants imported"

# opinions and invoices of the marked people: the generated ones with the names and numbers
# replaced (the first 16 columns hold no quoted commas)
"$GEN" ikensho 3 11 > "$TMP/gen.csv"
awk -v n="$NAME" -v k="$KANA" 'BEGIN { FS = OFS = ","; split("いち に さん", given, " ") }
	NR == 1 { print; next }
	{ $6 = "990731000" (NR - 1); $15 = k "　" given[NR - 1]; $16 = n "　" given[NR - 1]; print }' \
	"$TMP/gen.csv" > "$TMP/op.csv"
sed '3s/,19[0-9]\{6\},/,1850101,/' "$TMP/op.csv" > "$TMP/bad.csv"
c check ikensho "$TMP/bad.csv"; [ $? -ne 0 ]; ok $? "check finds the impossible birth date"
c import ikensho "$TMP/bad.csv"; [ $? -ne 0 ]; ok $? "an import with errors fails (its report on stderr)"
c import ikensho "$TMP/op.csv"; ok $? "three marked opinions imported"
"$GEN" seikyu 3 12 --for "$TMP/op.csv" > "$TMP/inv.csv"
c import seikyu "$TMP/inv.csv"; ok $? "their invoices imported"

# reads; wrong queries and ids
c list ikensho --query "$KANA"; ok $? "list by kana"
c list ikensho --query "$INS2"; ok $? "list by insured number"
c list ikensho --query "${INS2}9"
c list ikensho --query "$NAME"
c list applicant --query "$KATA"
c list ikensho
first=$(cut -f1 "$TMP/out" | head -1)
c show "$first"; ok $? "show"
grep -q "$NAME" "$TMP/out" && grep -q "$INS1" "$TMP/out"; ok $? "control: show prints the marked name and number"
c export ikensho; ok $? "export"
grep -q "$KANA" "$TMP/out"; ok $? "control: export writes them"
c show 99999
c export nosuchform

# send, the terminal answers (one rejected), poll once and as a daemon
c send --all; ok $? "send --all"
sim --fault reject=16
c poll; ok $? "poll"
c results
"$GEN" ikensho 1 13 | awk -v n="$NAME" 'BEGIN { FS = OFS = "," } NR > 1 { $16 = n "　四" } { print }' \
	> "$TMP/op4.csv"
c import ikensho "$TMP/op4.csv"
c send --all
sim
"$IKEN" --data "$D" poll --daemon >"$L/poll-daemon.log" 2>&1 &
daemon=$!
i=0
while [ $i -lt 200 ] && [ "$(ls "$D/archive" 2>/dev/null | wc -l)" -lt 7 ]; do sleep 0.05; i=$((i + 1)); done
kill "$daemon"; wait "$daemon" 2>/dev/null
[ "$(ls "$D/archive" | wc -l)" -ge 7 ]; ok $? "the poller daemon imported the last results"
c results --status rejected; ok $? "results"
grep -q "item 16" "$TMP/out"; ok $? "the rejected item is reported by its number"
c queue
c status
c cancel "$first"

# the logs
c log send; cp "$TMP/out" "$L/log-send.log"
c log receive; cp "$TMP/out" "$L/log-receive.log"
c audit show; cp "$TMP/out" "$L/audit-show.log"
c audit show --csv; cp "$TMP/out" "$L/audit.csv"
c audit verify; ok $? "audit verify"
cp "$TMP/out" "$L/audit-verify.log"
[ "$(wc -l < "$L/audit.csv")" -gt 50 ]; ok $? "the trail recorded the flows ($(wc -l < "$L/audit.csv") lines)"
mdb_dump -s audit "$D" > "$L/audit.raw" 2>&1; ok $? "the trail's raw bytes dumped from the store"

# the search: the markers as UTF-8 text, and as the hex of their bytes in the raw dump
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
for m in "$NAME" "$KANA" "$KATA" "$STAFF" "$INS1" "$INS2" "$INS3"; do
	grep -rl -- "$m" "$L" > "$TMP/found"
	grep -l -- "$(hex "$m")" "$L/audit.raw" >> "$TMP/found"
	[ ! -s "$TMP/found" ]; ok $? "marker $m is in no log and on no stderr"
	[ -s "$TMP/found" ] && sed 's/^/#   in /' "$TMP/found" && grep -rh -- "$m" "$L" | head -3 | sed 's/^/#   /'
done
[ "$(ls "$L" | wc -l)" -gt 60 ]; ok $? "every command's stderr was searched ($(ls "$L" | wc -l) files)"
done_testing
