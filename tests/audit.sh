#!/bin/sh
# The audit trail from the command line: every action leaves its entry (create, update with the
# changed field ids, settings and user changes, import, show, export, finalize, send, result
# import, cancel), audit show filters and CSV, the send and receive logs as views, audit verify
# against a changed, removed, inserted and reordered entry, and the migration of a schema-1
# store made by the previous iken (tests/data/store-v1) into the chain.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SIM="$top_builddir/iken-termsim"
TAMPER="$top_builddir/tests/audit_tamper"
D="$TMP/data"
REQ="$D/terminal/req"
RES="$D/terminal/res"
export IKEN_STABLE_SECONDS=0
iken() { "$IKEN" --data "$D" "$@"; }
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" 2>>"$TMP/sim.log"; }
# trail: the table as "action form ids details" lines (seq, time, user and role cut off)
trail() { iken audit show --csv "$@" | tail -n +2 | tr -d '\r'; }
# last ACTION: the CSV line of the last entry with that action
last() { trail --action "$1" | tail -1; }
# col N LINE: the Nth CSV column of a line without quotes inside
col() { echo "$2" | cut -d, -f"$1"; }
entries() { trail | wc -l; }

run_ok "init" iken init
l=$(last create)
[ "$(col 3 "$l")" = tester ] && [ "$(col 4 "$l")" = 3 ] && [ "$(col 7 "$l")" = user ]
ok $? "init: the admin user's record created, by tester as admin ($l)"

# --- import, settings and user changes ---
"$GEN" settings 1 3 > "$TMP/settings.csv"
run_ok "import settings" iken import settings "$TMP/settings.csv"
l=$(last import)
sha=$(sha256sum "$TMP/settings.csv" | cut -d' ' -f1)
[ "$(col 7 "$l")" = settings ] && [ "$(col 11 "$l")" = "$sha" ] && [ "$(col 12 "$l")" = "1 rows" ]
ok $? "import: form, the file's SHA-256, the row count ($l)"
sed '2s/^\([0-9]*\),[^,]*,/\1,テスト診療所X,/' "$TMP/settings.csv" > "$TMP/s2.csv"
run_ok "settings changed" iken import settings "$TMP/s2.csv"
l=$(trail --form settings --action update | tail -1)
[ "$(col 9 "$l")" = clinic_name ]; ok $? "settings change: the changed setting's id, no value ($l)"
printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,試験 医師,D001,,\r\nclerk1,2,試験 事務,,,\r\n' > "$TMP/users.csv"
run_ok "users imported (tester becomes a doctor)" iken import user "$TMP/users.csv"
l=$(trail --form user --action update | tail -1)
echo "$l" | grep -q '^[0-9]*,[^,]*,tester,1,Doctor,update,user,1,"doctor_no,name,role",,,r2,' 
ok $? "user change: the changed fields; the entry names the new role ($l)"
trail --form user --action create | grep -q ',clerk\|clerk1'; [ $? -ne 0 ]
ok $? "a user's name or login as typed is no part of the entry"

"$GEN" ikensho 4 11 > "$TMP/op.csv"
run_ok "import 4 opinions" iken import ikensho "$TMP/op.csv"
set -- $(iken list ikensho | cut -f1)
A=$1 B=$2 C=$3 E=$4
[ "$(trail --form ikensho --action create | wc -l)" -eq 4 ]; ok $? "one create entry per record"
l=$(last import)
[ "$(col 8 "$l")" = "$A-$E" ] && [ "$(col 12 "$l")" = "4 rows" ]
ok $? "the import entry names the ids as a range ($l)"

# --- reads ---
run_ok "show" iken show "$B"
l=$(last show)
[ "$(col 8 "$l")" = "$B" ] && [ "$(col 3 "$l")" = tester ] && [ "$(col 5 "$l")" = Doctor ]
ok $? "show: the record, the user and the role ($l)"
n=$(entries)
exit_is 1 "show of an absent record" iken show 999
[ "$(entries)" -eq "$n" ]; ok $? "leaves no entry"
run_ok "export" iken export ikensho
l=$(last export)
[ "$(col 8 "$l")" = "$A-$E" ]; ok $? "export: the ids written ($l)"
run_ok "export --status final (none)" iken export ikensho --status final
l=$(last export)
[ "$(col 8 "$l")" = "" ] && [ "$(col 12 "$l")" = final ]; ok $? "an empty export is recorded too ($l)"
IKEN_TEST_USER=clerk1 "$IKEN" --data "$D" show "$C" >/dev/null
l=$(last show)
[ "$(col 3 "$l")" = clerk1 ] && [ "$(col 4 "$l")" = 2 ] && [ "$(col 5 "$l")" = Clerk ]
ok $? "another user: their login and role ($l)"

# --- finalize, send, result ---
run_ok "send" iken send "$A"
trail --document "$A" > "$TMP/a"
grep -q ",finalize,ikensho,$A,.*draft>queued" "$TMP/a"; ok $? "send: the finalize entry (finalized and queued at once)"
f=$(ls "$REQ" | head -1)
sha=$(sha256sum "$REQ/$f" | cut -d' ' -f1)
grep -q ",send,ikensho,$A,,$f,$sha,queued," "$TMP/a"; ok $? "the queued entry: file and the envelope's SHA-256"
grep -q ",send,ikensho,$A,,$f,$sha,published," "$TMP/a"; ok $? "the published entry"
run_ok "the simulator answers" sim
run_ok "poll" iken poll
l=$(last result)
r=$(ls "$D/archive" | head -1)
[ "$(col 8 "$l")" = "$A" ] && [ "$(col 10 "$l")" = "$r" ] &&
	[ "$(col 11 "$l")" = "$(sha256sum "$D/archive/$r" | cut -d' ' -f1)" ]
ok $? "result import: the document, the result file and its SHA-256 ($l)"
echo "$l" | grep -q "accepted, reception number R"; ok $? "and its outcome"
trail --document "$A" | grep -q ",update,ikensho,$A,.*published>accepted"
ok $? "the status change the result made"

# --- cancel ---
mv "$REQ" "$REQ.away"
iken send "$B" >/dev/null 2>&1
run_ok "cancel" iken cancel "$B"
mv "$REQ.away" "$REQ"
trail --document "$B" > "$TMP/b"
grep -q ",send,ikensho,$B,,.*No such file or directory," "$TMP/b"; ok $? "the failed publication"
grep -q ",cancel,ikensho,$B,,.*,cancelled," "$TMP/b"; ok $? "the cancel entry"

# --- the views: audit show, the logs ---
run_ok "audit show" iken audit show
head -1 "$TMP/out" | grep -q "^seq  *time  *user  *role  *action  *form  *ids  *details$"; ok $? "a table with a header"
grep -q "show  *ikensho  *$B\$" "$TMP/out"; ok $? "one line per entry"
[ "$(wc -l < "$TMP/out")" -eq "$(($(entries) + 1))" ]; ok $? "every entry"
run_ok "audit show --document" iken audit show --document "$A"
[ "$(grep -vc "^seq" "$TMP/out")" -eq "$(trail --document "$A" | wc -l)" ] &&
	grep -q "finalize  *ikensho  *$A " "$TMP/out" && ! grep -q "show  *ikensho  *$B" "$TMP/out"
ok $? "--document: that document's entries only"
run_ok "audit show --user" iken audit show --user clerk1
[ "$(grep -vc "^seq" "$TMP/out")" -eq 1 ]; ok $? "--user: that user's entries"
IKEN_TEST_NOW=20260402100000 "$IKEN" --data "$D" show "$C" >/dev/null
[ "$(trail --since 2026-04-02 | wc -l)" -eq 1 ]; ok $? "--since: from that day"
[ "$(trail --since R8.4.2 --until 20260402 | wc -l)" -eq 1 ]; ok $? "--since/--until take 和暦 and YYYYMMDD"
[ "$(trail --until 2026-04-01 | wc -l)" -eq "$(($(entries) - 1))" ]; ok $? "--until: up to that day"
exit_is 2 "an unknown action" iken audit show --action nonsense
has "$TMP/err" "create update finalize" "the actions are listed"
exit_is 2 "an unreadable date" iken audit show --since yesterday
exit_is 2 "audit without show or verify" iken audit
iken audit show --csv > "$TMP/csv"
head -1 "$TMP/csv" | grep -q "^seq,time,user,role,role_name,action,form,ids,fields,file,sha256,detail,prev,hash"
ok $? "CSV header"
tail -n +2 "$TMP/csv" | grep -Evq ',[0-9a-f]{64},[0-9a-f]{64}'"$(printf '\r')"'$'
[ $? -ne 0 ]; ok $? "every CSV row carries the previous hash and its own, and ends in CRLF"
grep -q '"A001,' "$TMP/csv" || grep -q '"[a-z_0-9]*,[a-z_0-9,]*"' "$TMP/csv"; ok $? "a list of fields is quoted"
iken log send > "$TMP/send"
[ "$(grep -vc '^#' "$TMP/send")" -eq "$(trail | grep -c ',send,\|,cancel,')" ]; ok $? "the send log is the send and cancel entries"
grep -q "	$f	$sha	published$" "$TMP/send"; ok $? "with file, SHA-256 and outcome, as before"
iken log receive > "$TMP/recv"
[ "$(grep -vc '^#' "$TMP/recv")" -eq "$(trail --action result | wc -l)" ]; ok $? "the receive log is the result entries"

# --- verify ---
run_ok "audit verify" iken audit verify
has "$TMP/out" "the audit trail is intact" "an intact trail"
n=$(entries)
has "$TMP/out" "$n entries; recorded end: entry $n, [0-9a-f]\{64\}" "says the count and the end's hash"
# case HOW SEQ PATTERN: a copy of the store tampered with, verify fails and names the entry
tcase() {
	rm -rf "$TMP/t"; mkdir "$TMP/t"; cp "$D/data.mdb" "$TMP/t/"
	"$TAMPER" "$TMP/t" "$1" "$2"
	"$IKEN" --data "$TMP/t" audit verify > "$TMP/out" 2>&1; rc=$?
	[ $rc -eq 1 ]; ok $? "$1 $2: verify fails (exit 1)"
	has "$TMP/out" "$3" "$1 $2: names the entry"
	has "$TMP/out" "the audit trail is broken: 1 problem" "$1 $2: one problem"
}
tcase change 5 "^entry 5: changed"
tcase rehash 5 "^entry 6: does not carry the hash of entry 5 (entry 5 was changed"
tcase remove 5 "^entry 5: removed"
tcase remove "$n" "^entry $n: removed"
tcase insert 5 "^entry 5: appears a second time (under key 6): an entry was inserted"
tcase append 0 "^entry $((n + 1)): after the recorded end"
tcase reorder 5 "^entry 5: out of order (stored after entry 6)"

# --- a store of schema 1, made by the previous iken: its logs carried into the chain ---
FIX="$top_srcdir/tests/data/store-v1"
O="$TMP/old"
mkdir -p "$O"; cp "$FIX/data.mdb" "$O/"
"$IKEN" --data "$O" log send > "$TMP/send"
same "$FIX/log-send.txt" "$TMP/send" "old store: the send log reads as the old iken printed it"
"$IKEN" --data "$O" log receive > "$TMP/recv"
grep -v '\.err file\|malformed' "$FIX/log-receive.txt" > "$TMP/want"
grep -v '\.err file\|malformed' "$TMP/recv" > "$TMP/got"
same "$TMP/want" "$TMP/got" "old store: the receive log the same"
grep -q "	\.err file from the terminal$" "$TMP/recv" && grep -q "	malformed result$" "$TMP/recv"
ok $? "old store: outcomes that quoted the files keep only iken's words"
! grep -q "E950\|line 8" "$TMP/recv"; ok $? "old store: no text from the files left"
"$IKEN" --data "$O" audit verify > "$TMP/out"; ok $? "old store: the chain verifies"
has "$TMP/out" "19 entries" "old store: 13 + 5 old entries and the migration's"
"$IKEN" --data "$O" audit show --action migrate > "$TMP/out"
has "$TMP/out" "schema 2: 13 send and 5 receive log entries carried into the trail" "old store: the migrate entry"
"$IKEN" --data "$O" audit show --csv | sed -n '2p;19p' > "$TMP/out"
grep -q '^1,2026-04-01 09:10:00,tester,,,send,' "$TMP/out"; ok $? "old store: old entries keep their time and user"
mdb_dump -s sendlog "$O" 2>/dev/null | grep -c '^ ' > "$TMP/n"; mdb_dump -s recvlog "$O" 2>/dev/null | grep -c '^ ' >> "$TMP/n"
[ "$(cat "$TMP/n" | tr '\n' ' ')" = "0 0 " ]; ok $? "old store: the old tables are empty"
"$IKEN" --data "$O" status > "$TMP/out"
[ "$(awk '$1=="ikensho"{print $8}' "$TMP/out")" = 6 ]; ok $? "old store: the records are all there"
"$IKEN" --data "$O" audit verify > "$TMP/out"
has "$TMP/out" "19 entries" "old store: migrated once only"

done_testing
