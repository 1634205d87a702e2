#!/bin/sh
# The list screens in tmux: menu counts, opinion and applicant lists (alignment, F5 filters),
# sending from a list, the send queue (states, cancel before publication only), the result
# inquiry (reception number, a rejected item against its label, the key that opens the
# document at the item) and the settings screen for the admin role only.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/lib.sh"
SIM="$top_builddir/iken-termsim"
D="$TMP/data"
REQ="$D/terminal/req"
RES="$D/terminal/res"
CLINIC=9900000001
export TZ=Asia/Tokyo IKEN_STABLE_SECONDS=0 IKEN_TEST_NOW="${IKEN_TEST_NOW:-20260401093000}"
iken() { "$IKEN" --data "$D" "$@"; }
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" >>"$TMP/sim.log" 2>&1; }
# The interface in Japanese: gettext takes the messages from the locale (LANGUAGE is ignored
# under C.UTF-8), so the Japanese blocks need ja_JP.UTF-8 and are skipped without it.
cat > "$TMP/iken-ja" <<EOF
#!/bin/sh
LANG=ja_JP.UTF-8 LC_ALL=ja_JP.UTF-8 exec "$IKEN" "\$@"
EOF
chmod +x "$TMP/iken-ja"
ui_ja() { IKEN_SAVED=$IKEN; IKEN="$TMP/iken-ja"; ui_start "$@"; IKEN=$IKEN_SAVED; }

# wait_screen PATTERN: up to 5 s for the screen to show PATTERN. The key script waits for iken
# to be idle, but a prompt is idle after each character and the loop ticks every second, so a
# check after typing waits for what it expects.
wait_screen() {
	i=0
	while [ $i -lt 100 ]; do
		ui_screen | grep -qE -- "$1" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
ui_see() { wait_screen "$1"; ui_has "$@"; }

# head_has PATTERN "description": the title line matches
head_has() {
	wait_screen "$(printf '%s' "$1" | sed 's/^\^//')"
	ui_screen | head -1 > "$TMP/head"
	grep -qE -- "$1" "$TMP/head"; r=$?
	ok $r "$2"
	[ $r -eq 0 ] || sed 's/^/# head: /' "$TMP/head"
}
# The form screen is written elsewhere; until it has a title of its own the loop shows "iken".
form_ready() { ! ui_screen | head -1 | grep -qE '^ iken  iken '; }
# status_n FORM COLUMN: a count from `iken status` (2 draft … 7 rejected)
status_n() { iken status | awk -v f="$1" -v c="$2" '$1==f{print $c}'; }

# --- a store: settings, users (admin, doctor, clerk), applicants, opinions ---
IKEN_TEST_USER=admin1 iken init >/dev/null
# generated settings with a fixed clinic code and the default folders (no absolute paths)
"$GEN" settings 1 3 | sed -E "2 s/^[0-9]{10},/$CLINIC,/; 2 s#,/[^,]*#,#g" > "$TMP/settings.csv"
printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\nadmin1,3,試験 管理者,,,\r\ntester,1,試験 医師,D001,,\r\nclerk1,2,試験 事務,,,\r\n' > "$TMP/users.csv"
"$GEN" applicant 12 5 > "$TMP/app.csv"
# the opinions carry the clinic's code (the terminal matches it with the envelope's)
"$GEN" ikensho 12 6 | sed -E "2,\$ s/^(([^,]*,){6})[0-9]{10},/\\1$CLINIC,/" > "$TMP/op.csv"
export IKEN_TEST_USER=admin1
run_ok "settings imported" iken import settings "$TMP/settings.csv"
run_ok "users imported" iken import user "$TMP/users.csv"
run_ok "applicants imported" iken import applicant "$TMP/app.csv"
run_ok "opinions imported" iken import ikensho "$TMP/op.csv"
[ "$(cut -d, -f7 "$TMP/op.csv" | grep -c "^$CLINIC\$")" -eq 12 ]; ok $? "the opinions carry the clinic code"
if "$GEN" seikyu 12 7 --for "$TMP/op.csv" > "$TMP/inv.csv" 2>/dev/null; then
	have_invoices=1
	run_ok "invoices imported" iken import seikyu "$TMP/inv.csv"
else
	have_invoices=0
fi
export IKEN_TEST_USER=tester
first_op=$(iken list ikensho | head -1 | cut -f1)

# --- the opinion list, in Japanese: aligned names (golden), filters ---
if have_ja_locale; then
	ui_ja -- --data "$D" ui
	drafts=$(( $(status_n ikensho 2) + $(status_n seikyu 2) ))
	ui_see "下書き +$drafts\$" "menu: $drafts drafts"
	ui_keys 2
	wait_screen "^ +12 件"
	ui_golden list-opinions "opinion list at 80x24: double-width names aligned"
	ui_see "^ +12 件" "12 opinions listed"
	ui_see "下書き +99[0-9]{8} R8\.[0-9.]+ +[^ ]" "a row: status word, insured number, 和暦 date, kana"
	ui_see "1説明.*2戻る.*3新規.*4複写.*5検索.*10送信" "key bar of the opinion list"
	ui_hasnt "11取消|12登録|9確定" "no keys that do nothing here"
	ui_stop
else
	skip_ja 6
fi

ui_start -- --data "$D" ui
ui_keys 2
n_kana=$(( $(iken list ikensho --query テスト | wc -l) + $(iken list ikensho --query てすと | wc -l) ))
ui_keys F5
ui_see "kana prefix" "the search prompt says what it accepts"
ui_type 'てすと'
ui_keys Enter
ui_see "^ +$n_kana record\(s\) +filter: てすと" "kana prefix: $n_kana opinions (either script)"
ui_hasnt "シケン|しけん|ケンショウ|けんしょう" "only names starting with テスト/てすと"
ui_keys F5
ui_keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
ui_type 'R8.1.1..R8.2.28'
ui_keys Enter
n_date=$(iken list ikensho --query 20260101..20260228 | wc -l)
ui_see "^ +$n_date record\(s\) +filter: R8\.1\.1\.\.R8\.2\.28" "和暦 date range: $n_date opinions"
ui_hasnt " R8\.3\.[0-9]" "no opinion written in March"
ui_keys F5
ui_keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
ui_type 'R8.13.1'
ui_keys Enter
ui_see "cannot read 'R8\.13\.1'" "an impossible date is refused with a message"
ui_see "^ +12 record\(s\)" "and the list is whole again"

# F4 前回コピー from the selected row: a new draft in the form screen
ui_keys F4
head_has "^ iken  (iken|.*[Oo]pinion)" "F4 copies the previous opinion into the form screen"
ui_hasnt "^ +12 record\(s\)" "the form screen is on top"
ui_keys F2
ui_keys F2

# --- applicants: list, the applicant's opinions, a new opinion for the applicant ---
ui_keys 1
ui_see "^ +12 record\(s\)" "12 applicants listed"
ui_see "o this applicant's opinions" "the help line shows the o key"
ui_see "1Help.*3New.*4Copy.*5Find" "key bar of the applicant list"
ui_hasnt "10Sen" "no Send on the applicant list"
ins=$(sed -n 2p "$TMP/app.csv" | cut -d, -f3)
ui_keys o
ui_see "0 record\(s\) +insured number $ins" "o: the applicant's opinions (none yet)"
ui_keys F3
head_has "^ iken  (iken|.*[Oo]pinion)" "F3 on the applicant's list opens a new opinion in the form screen"
ui_keys F2
ui_keys F2
ui_keys F2

# --- send from the list ---
ui_keys 2
ui_keys F10
ui_see "finalize and send document $first_op\?" "F10 asks before sending"
ui_type y
ui_keys Enter
ui_see "$first_op: queued as" "the send report is on the message line"
ui_see "^ +$first_op published " "the row shows the new status"
ui_keys F2
ui_see "Waiting for result +1" "menu: one waiting for its result"

# --- the send queue: states, cancel before publication only ---
ui_keys 4
ui_see "^ +2026-04-01 09:30 +$first_op opinion published " "queue: the published opinion"
ui_see "1Help 2Back.*10Send.*11Stop" "key bar of the queue"
ui_keys F11
ui_see "cannot be cancelled" "cancel after publication is refused"
ui_keys F2
# the request folder is gone (a dropped mount): the next document stays queued
second_op=$(iken list ikensho --status draft | head -1 | cut -f1)
mv "$REQ" "$REQ.off" && : > "$REQ"
ui_keys 2
ui_keys Down
ui_keys F10
ui_type y
ui_keys Enter
ui_see "$second_op: queued as" "a document is queued while the folder is missing"
ui_keys F2
ui_keys 4
ui_see "^ +2026-04-01 09:30 +$second_op opinion publish-failed +1 " "queue: publish-failed with one failure"
ui_see "last error: " "the last error is shown"
ui_keys F11
ui_see "cancel sending document $second_op\?" "F11 asks"
ui_type y
ui_keys Enter
ui_see "$second_op: cancelled" "cancelled before publication"
ui_see "^ +2026-04-01 09:30 +$second_op opinion cancelled " "queue: cancelled"
ui_stop
[ "$(iken show "$second_op" | sed -n 1p | grep -c 'status final')" -eq 1 ]; ok $? "the cancelled document is final again, not lost"

# send it again while the folder is missing; retry once the folder is back
iken send "$second_op" >/dev/null 2>&1
rm -f "$REQ" && mv "$REQ.off" "$REQ"
ui_start -- --data "$D" ui
ui_keys 4
ui_see "^ +2026-04-01 09:30 +$second_op opinion publish-failed " "queue: failed again"
ui_keys r
ui_see "1 published" "r retries the failed one now"
ui_see "^ +2026-04-01 09:30 +$second_op opinion published " "queue: published after the retry"
ui_keys F2
ui_stop

# --- results: one accepted, one rejected at item 19 ---
run_ok "terminal accepts the two" sim
run_ok "poll imports the results" iken poll
third_op=$(iken list ikensho --status draft | head -1 | cut -f1)
iken send "$third_op" >/dev/null
run_ok "terminal rejects item 19" sim --fault reject=19
run_ok "poll imports the rejection" iken poll
# one more left waiting, one more queued behind a missing folder
waiting_op=$(iken list ikensho --status draft | head -1 | cut -f1)
iken send "$waiting_op" >/dev/null
mv "$REQ" "$REQ.off" && : > "$REQ"
queued_op=$(iken list ikensho --status draft | head -1 | cut -f1)
iken send "$queued_op" >/dev/null 2>&1

# the menu counts match the store
drafts=$(( $(status_n ikensho 2) + $(status_n ikensho 3) + $(status_n seikyu 2) + $(status_n seikyu 3) ))
queued=$(( $(status_n ikensho 4) + $(status_n seikyu 4) ))
waiting=$(( $(status_n ikensho 5) + $(status_n seikyu 5) ))
rejected=$(( $(status_n ikensho 7) + $(status_n seikyu 7) ))
accepted=$(iken queue | awk -F'\t' '$4=="accepted"' | wc -l)
ui_start -- --data "$D" ui
ui_see "Drafts +$drafts\$" "menu: drafts = $drafts as in the store"
ui_see "Queued +$queued\$" "menu: queued = $queued"
ui_see "Waiting for result +$waiting\$" "menu: waiting = $waiting"
ui_see "Rejected \(to fix\) +$rejected\$" "menu: rejected = $rejected"
ui_see "Accepted today +$accepted\$" "menu: accepted today = $accepted"
[ "$queued" -eq 1 ] && [ "$waiting" -eq 1 ] && [ "$rejected" -eq 1 ] && [ "$accepted" -eq 2 ]
ok $? "one queued, one waiting, one rejected, two accepted"

ui_keys 5
ui_see "accepted 2 +rejected 1" "results: two accepted, one rejected"
ui_see "^ +2026-04-01 09:30 +$first_op opinion accepted +R[0-9]+ " "an accepted result with its reception number"
ui_see "^ +2026-04-01 09:30 +$third_op opinion rejected +- " "the rejected result"
ui_keys F5
ui_type rejected
ui_keys Enter
ui_see "^ +1 result\(s\) +accepted 0 +rejected 1" "F5: only the rejected"
ui_keys Enter
head_has "Result detail" "Enter shows the detail"
ui_see "^ +19 +Sex +" "the error: item 19 against its label Sex"
ui_see "4Corr" "the key bar shows F4 Correct"
ui_keys F4
# the form screen offers to make the rejected document a draft again
if ui_screen | grep -q "(y/n)"; then ui_type y; ui_keys Enter; fi
head_has "^ iken  (iken|.*[Oo]pinion)" "F4 opens the document in the form screen"
if form_ready; then
	y=$(tmux -S "$SOCK" display -p -t t '#{cursor_y}')
	ui_screen | sed -n "$((y + 1))p" | grep -q "Sex"
	ok $? "the cursor is on the field Sex"
else
	ok 0 "the cursor is on the field Sex # SKIP the form screen is not written yet"
fi
ui_stop

ui_start -- --data "$D" ui
ui_keys 5
ins_first=$(iken show "$first_op" | awk '/^ *6 /{print $NF}')
ui_keys F5
ui_type "$ins_first"
ui_keys Enter
ui_see "^ +1 result\(s\) +accepted 1 +rejected 0" "F5 by insured number: that applicant's result only"
ui_keys Enter
ui_see "Reception no\. +R[0-9]+" "the accepted result's detail shows the reception number"
ui_keys F2
ui_keys F5
ui_keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace
ui_type 'R8.3.1..R8.3.31'
ui_keys Enter
ui_see "no matching results" "F5 by 和暦 date range: nothing received in March"
ui_stop

# the detail in Japanese: the label 性別
if have_ja_locale; then
	ui_ja -- --data "$D" ui
	ui_keys 5
	ui_keys F5
	ui_type 返戻
	ui_keys Enter
	ui_keys Enter
	ui_see "^ +19 +性別 +" "in Japanese: 項目 19 性別"
	ui_see "4修正" "F4 修正 on the key bar"
	ui_stop
else
	skip_ja 2
fi

# a result nobody asked for is quarantined and shown
rm -f "$REQ" && mv "$REQ.off" "$REQ"
sim --fault unknown
iken poll >/dev/null 2>&1
ui_start -- --data "$D" ui
ui_keys 5
ui_see "error/quarantined 1" "results: one quarantined file counted"
ui_see "^ +2026-04-01 09:30 +- - +quarantined +- +IKN" "the quarantined file is listed with its name"
ui_keys Enter
ui_see "^ Reason +[^ ]" "its detail gives the reason"
ui_hasnt "4Corr" "no Correct key for a file without a document"
ui_stop

# a queued invoice shows its opinion (only when gen_records can make invoices for opinions)
if [ "$have_invoices" -eq 1 ]; then
	inv=$(iken list seikyu --status draft | awk -F'\t' -v i="$ins_first" '$4==i{print $1}' | head -1)
	iken send "$inv" >/dev/null 2>&1
	ui_start -- --data "$D" ui
	ui_keys 4
	ui_see "^ +2026-04-01 09:30 +$inv invoice +published +0 opinion $first_op accepted" "queue: the invoice with its opinion"
	ui_see "paired opinion: document $first_op " "the detail names the paired opinion"
	# invoices have no kana index: the prefix finds them through the opinions' names
	ui_keys F2
	ui_keys 3
	ui_keys F5
	ui_type 'てすと'
	ui_keys Enter
	ui_see "^ +$n_kana record\(s\) +filter: てすと" "invoice list: kana prefix through the opinions ($n_kana)"
	ui_stop
else
	ok 0 "queue: the invoice with its opinion # SKIP gen_records has no --for yet"
	ok 0 "the detail names the paired opinion # SKIP"
	ok 0 "invoice list: kana prefix through the opinions # SKIP"
fi

# --- settings: refused for a clerk, open for an admin ---
IKEN_TEST_USER=clerk1
ui_start -- --data "$D" ui
ui_keys 6
ui_see "only an admin can change the settings" "a clerk is refused the settings"
head_has "Menu" "and stays on the menu"
ui_stop
IKEN_TEST_USER=admin1
ui_start -- --data "$D" ui
ui_keys 6
head_has "Settings" "an admin opens the settings"
ui_see "Clinic code +$CLINIC" "the settings in force are shown"
ui_keys 2
ui_see "3 user\(s\)" "users: three"
ui_see "clerk1 +Clerk +試験 事務" "a user row: login, role, name"
ui_keys Enter
head_has "^ iken  (iken|.*[Uu]ser)" "Enter edits the user in the form screen"
ui_keys F2
ui_keys F2
ui_keys 1
head_has "^ iken  (iken|.*[Ss]ettings)" "the settings record opens in the form screen"
ui_stop

done_testing
