#!/bin/sh
# The form screen in tmux: full keyboard entry of an opinion (codes by digit, boxes by Space,
# 和暦 dates, kana, Japanese text), an impossible date, finalize with errors and the jump to the
# field, SIGHUP while typing keeps the draft, a double-width alignment golden screen, resize, two
# sessions on one record, and the invoice's derived amounts.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/lib.sh"
export TZ=Asia/Tokyo
export IKEN_TEST_NOW="${IKEN_TEST_NOW:-20260401093000}"
DATA="$TMP/data"
iken() { "$IKEN" --data "$DATA" "$@"; }

# --- sessions: like ui_start, with the record to open (IKEN_TEST_OPEN) and an idle file per
# session so that two of them can run side by side ---

# fstart SESSION OPEN [COLSxROWS] [LANG]
fstart() {
	s=$1 open=$2 size=${3:-80x24} lang=${4:-C.UTF-8}
	rm -f "$TMP/idle.$s"
	# the server of a session just stopped may still be exiting ("server exited
	# unexpectedly"): try again
	n=0
	until tmux -S "$SOCK" -f /dev/null new-session -d -s "$s" -x "${size%x*}" -y "${size#*x}" \
		env -u TMUX TERM=xterm-256color LANG="$lang" LC_ALL="$lang" LANGUAGE= TZ=Asia/Tokyo \
		${LOCPATH:+LOCPATH="$LOCPATH"} \
		HOME="$HOME" IKEN_FORMS="$IKEN_FORMS" IKEN_TEST_NOW="$IKEN_TEST_NOW" \
		IKEN_TEST_USER="$IKEN_TEST_USER" IKEN_TEST_IDLE="$TMP/idle.$s" \
		IKEN_TEST_NO_POLL=1 IKEN_STABLE_SECONDS=0 IKEN_TEST_OPEN="$open" \
		"$IKEN" --data "$DATA" ui 2>/dev/null; do
		n=$((n + 1))
		[ $n -lt 20 ] || { echo "# fstart: tmux did not start session $s"; break; }
		sleep 0.1
	done
	tmux -S "$SOCK" set-option -t "$s" status off >/dev/null
	tmux -S "$SOCK" set-option -t "$s" remain-on-exit on >/dev/null
	settle "$s"
}

# Waits until iken in session $1 has painted and taken every key sent (its idle mark changed
# from $2, then stayed the same for a moment).
settle() {
	s=$1 before=${2:-} last="" same=0 i=0 moved=0
	[ -n "$before" ] || moved=1
	while [ $i -lt 300 ]; do
		now=$(cat "$TMP/idle.$s" 2>/dev/null)
		if tmux -S "$SOCK" list-panes -t "$s" -F '#{pane_dead}' 2>/dev/null | grep -q 1; then
			return 0
		fi
		[ -n "$now" ] && [ "$now" != "$before" ] && moved=1
		if [ $moved -eq 1 ] && [ -n "$now" ] && [ "$now" = "$last" ]; then
			same=$((same + 1))
			[ $same -ge 3 ] && return 0
		else
			same=0
		fi
		last=$now
		sleep 0.05
		i=$((i + 1))
	done
	echo "# settle: iken in session $s did not become idle"
	return 1
}

# skeys SESSION KEY… / stext SESSION TEXT
skeys() {
	s=$1; shift
	b=$(cat "$TMP/idle.$s" 2>/dev/null)
	tmux -S "$SOCK" send-keys -t "$s" "$@"
	settle "$s" "$b"
}
stext() {
	b=$(cat "$TMP/idle.$1" 2>/dev/null)
	tmux -S "$SOCK" send-keys -t "$1" -l "$2"
	settle "$1" "$b"
}
# the main session "t" (lib.sh's ui_golden and ui_screen read it)
keys() { skeys t "$@"; }
text() { stext t "$1"; }
tabs() { n=$1; set --; while [ "$n" -gt 0 ]; do set -- "$@" Tab; n=$((n - 1)); done; keys "$@"; }

sscreen() { tmux -S "$SOCK" capture-pane -p -t "$1"; }
# shas SESSION PATTERN "description"
shas() {
	sscreen "$1" > "$TMP/screen"
	grep -qE -- "$2" "$TMP/screen"; r=$?
	ok $r "$3"
	[ $r -eq 0 ] || { echo "# screen:"; sed 's/^/#   |/' "$TMP/screen"; }
}
has_on() { shas t "$@"; }
# has_joined PATTERN "description": PATTERN in the screen's lines joined by spaces (wrapped help)
has_joined() {
	sscreen t | tr '\n' ' ' > "$TMP/joined"
	grep -qE -- "$1" "$TMP/joined"; r=$?
	ok $r "$2"
	[ $r -eq 0 ] || { echo "# screen:"; sscreen t | sed 's/^/#   |/'; }
}
hasnt_on() {
	ui_screen > "$TMP/screen"
	grep -qE -- "$1" "$TMP/screen"; r=$?
	[ $r -ne 0 ]; ok $? "$2"
	[ $r -ne 0 ] || { echo "# screen:"; sed 's/^/#   |/' "$TMP/screen"; }
}
# the screen line holding the cursor
cursor_line() {
	y=$(tmux -S "$SOCK" display-message -p -t "$1" '#{cursor_y}')
	sscreen "$1" | sed -n "$((y + 1))p"
}
sstop() { tmux -S "$SOCK" kill-session -t "$1" 2>/dev/null; }
pane_pid() { tmux -S "$SOCK" list-panes -t "$1" -F '#{pane_pid}'; }
dead() { tmux -S "$SOCK" list-panes -t "$1" -F '#{pane_dead}' 2>/dev/null | grep -q 1; }

# export_has PATTERN "description": the opinions as exported (values as stored)
export_has() {
	iken export ikensho > "$TMP/export.csv" 2>&1
	grep -qE -- "$1" "$TMP/export.csv"; r=$?
	ok $r "$2"
	[ $r -eq 0 ] || sed 's/^/# /' "$TMP/export.csv" | head -5
}

# --- the store: a clinic, the signed-in doctor, a clerk, two applicants (synthetic) ---
run_ok "init" iken init
"$GEN" settings 1 11 > "$TMP/settings.csv"
"$GEN" applicant 2 11 > "$TMP/applicant.csv"
cat > "$TMP/users.csv" <<EOF
login,role,name,doctor_no,name_kana,pkcs11_module
$IKEN_TEST_USER,1,検証　医師,D01,けんしょう　いし,
clerk1,2,検証　事務,,,
EOF
run_ok "import settings" iken import settings "$TMP/settings.csv"
run_ok "import users (the test user is a doctor)" iken import user "$TMP/users.csv"
run_ok "import applicants" iken import applicant "$TMP/applicant.csv"
APPL=$(iken list applicant | head -1 | cut -f1)
APPL_KANA=$(iken list applicant | head -1 | cut -f5)

# ===== 1. full keyboard entry of an opinion =====
fstart t form:ikensho:0
has_on 'Page 1/6 Basic information' "a new opinion opens on page 1"
has_on 'item 4 Insurer number: ' "the cursor starts on item 4 with its help"
has_on '14 Date written +R8\.4\.1 \(2026-04-01\)' "today as 和暦 and Gregorian"
text 995209; keys Tab
text '試験市介護保険'; keys Tab
text 9900000011; keys Tab Tab
text R8.3.1; keys Tab
# an impossible date is refused, the text kept for correction
text R1.4.30; keys Tab
has_on '"R1\.4\.30" is not a date that exists' "R1.4.30 is refused with a message"
has_on 'item 9 Request date' "the cursor stays on the date"
has_on '9 Request date +R1\.4\.30' "the typed text is kept"
keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace
text '令和8年3月1日'; keys Tab
has_on '9 Request date +R8\.3\.1 \(2026-03-01\)' "令和8年3月1日 is taken"
has_on '8 Application date +R8\.3\.1 \(2026-03-01\)' "R8.3.1 is taken"
keys Tab Tab
text 7
has_on '"7" is not a choice' "a digit that is no choice is refused"
text 1; keys Tab Tab
text 'てすと　はなこ'; keys Tab
text '試験　花子'; keys Tab
text S20.1.1; keys Tab
has_on '17 Date of birth +S20\.1\.1 \(1945-01-01\)' "S20.1.1 is taken"
has_on '18 Age +81 ' "the age is derived at once"
keys Tab
text 2; keys Tab
text 'abc'
has_on '"c" cannot be typed here \(allowed: 0-9\)' "a letter in a number field is refused"
keys Tab Tab Tab Tab Tab Tab Tab Tab Tab
text 1; keys Tab
has_on 'item 30 Last examination date' "item 30 after the clinic items"
has_on '23 Doctor name +検証　医師' "the doctor's name fills the opinion"
text R8.3.25; keys Tab
text 1; keys Tab
text 2; keys Tab Tab Tab
has_on 'Page 2/6 1\. Opinion on the illness' "Tab goes on to page 2"
text '試験病名Ａ'; keys Tab
text R7.12; keys Tab
has_on '36 Onset 1 +R7\.12 \(2025-12\)' "a partial date in 和暦"
keys Tab Tab Tab Tab
text 1; keys Tab Tab
text '経過観察中（試験）'
keys C-j
text '二行目の記載'
has_on '^ +二行目の記載' "Ctrl-J breaks the line in a text area"
has_on '43 Course and treatment.* 544 left' "remaining characters of the text area"
keys Up C-e
text '、追記'
has_on '経過観察中（試験）、追記' "Up moves into the line above"
keys Tab
has_on 'Page 3/6' "page 3"
keys Space Tab Tab Tab
has_on 'Page 4/6' "page 4"
text 2; keys Tab; text 1; keys Tab; text 1; keys Tab; text 1; keys Tab; text 1; keys Tab
text 2; keys Tab Tab Tab
text 2; keys Tab Tab Tab Tab
text 1; keys Tab
text 155.5; keys Tab
text 50.2; keys Tab
tabs 34
has_on 'Page 5/6' "page 5"
text 1; keys Tab; text 1; keys Tab
keys Space Tab
text 1; keys Tab; text 1; keys Tab Tab Tab Tab Tab
text 1; keys Tab
text 100000000000; keys Tab Tab
text 1; keys Tab Tab; text 1; keys Tab Tab; text 1; keys Tab Tab; text 1; keys Tab Tab
text 1; keys Tab Tab Tab Tab
text 2; keys Tab Tab
has_on 'Page 6/6' "page 6"
text '特記事項なし（試験）'
keys F8
has_on 'no problems' "F8: the check finds nothing"
keys F12
has_on 'saved \(No\.[0-9]+\)' "F12 saves"
OPINION=$(iken list ikensho | head -1 | cut -f1)
export_has ',995209,試験市介護保険,9900000011,' "stored: insurer and insured numbers"
export_has ',20260301,20260301,,,D01,1,20260401,てすと　はなこ,試験　花子,19450101,81,2,' \
	"stored: dates as YYYYMMDD, kana, name, age, sex"
export_has ',20260325,1,2,0000000000000,' "stored: last examination date, codes, unchecked boxes"
export_has ',試験病名Ａ,202512,' "stored: diagnosis and partial onset date"
export_has '"経過観察中（試験）、追記' "stored: the text area"
export_has ',100000000,' "stored: the treatment box"
export_has ',特記事項なし（試験）' "stored: the remarks"
keys F2
has_on 'iken  Menu' "F2 leaves a saved form without a question"
sstop t

# ===== 2. finalize with errors: the problems, and Enter goes to the field =====
fstart t "form:ikensho:0:$APPL"
has_on "15 Applicant name \\(kana\\) +$APPL_KANA" "a new opinion takes the applicant's values"
keys NPage NPage NPage NPage
has_on 'Page 5/6' "on page 5"
keys F9
has_on 'error\(s\): not finalized' "F9 with errors does not finalize"
has_on 'Problems .* [0-9]+' "the problems are listed"
has_on 'item 13 \(Document kind\): required' "a problem names its item"
keys Enter
has_on 'Page 1/6' "Enter goes to the page of the item"
has_on 'item 13 Document kind:' "and to the item"
cursor_line t > "$TMP/cline"
has "$TMP/cline" ' 13 Document kind' "the cursor is on item 13"
has_on '^! 13 Document kind' "the item is marked"
text 1
keys F2
has_on 'Save the changes\? \(y/n\)' "F2 asks about unsaved changes"
text y; keys Enter
has_on 'iken  Menu' "saved and left"
sstop t
# a clerk may not finalize an opinion
doctor=$IKEN_TEST_USER
IKEN_TEST_USER=clerk1
fstart t "form:ikensho:$OPINION"
keys F9
has_on 'only a doctor can finalize an opinion' "a clerk cannot finalize an opinion"
keys F2
sstop t
IKEN_TEST_USER=$doctor
fstart t "form:ikensho:$OPINION"
keys F9
has_on 'finalized; ready to send' "a doctor finalizes a complete opinion"
has_on 'No\.[0-9]+ final read-only' "a finalized opinion turns read-only"
keys F2
sstop t
fstart t "form:ikensho:$OPINION"
has_on 'This is finalized\. Make it a draft again' "opening a final opinion offers to reopen it"
text y; keys Enter
has_on 'No\.[0-9]+ draft' "reopened as a draft"
keys F2
sstop t

# characters that will be sent as ● are named before finalizing
fstart t "form:ikensho:$OPINION"
keys NPage NPage NPage NPage NPage
text '①'
keys F9
has_on 'Characters that will be sent as ●' "F9 lists the characters sent as ●"
has_on 'item 123 Remarks: ①' "by item"
has_on 'Finalize anyway\? \(y/n\)' "and asks before finalizing"
text n; keys Enter
has_on 'not finalized' "declined: not finalized"
has_on 'No\.[0-9]+ draft' "still a draft"
keys F2
sstop t

# the lists open the form too (menu 2: opinions, Enter on a row)
fstart t ""
keys 2
keys Enter
has_on 'Page 1/6 Basic information +No\.[0-9]+ ' "an opinion opens from the list"
keys F2
has_on 'list' "F2 goes back to the list"
sstop t

# ===== 3. SIGHUP while typing keeps the draft =====
fstart t form:ikensho:0
keys Tab
text '途中まで入力'
kill -HUP "$(pane_pid t)"
i=0; while ! dead t && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
dead t; ok $? "SIGHUP stops iken"
sstop t
fstart t form:ikensho:0
has_on 'There is an unsaved draft from last time' "the restore question appears"
text y; keys Enter
has_on '5 Insurer name +途中まで入力' "the value being typed comes back"
keys F2
text n; keys Enter
sstop t
fstart t form:ikensho:0
has_on 'There is an unsaved draft from last time' "F2 without saving keeps the draft"
text n; keys Enter
hasnt_on '途中まで入力' "declining the draft starts from the new record"
keys F2
sstop t
fstart t form:ikensho:0
hasnt_on 'unsaved draft' "a declined draft is not offered again"
keys F2
sstop t

# ===== 4. double-width alignment (golden screens) =====
fstart t "form:ikensho:0:$APPL"
tabs 12
ui_golden form-page1 "page 1 at 80x24: labels and entries aligned around double-width text"
text R8.3.2
keys F2
text n; keys Enter
sstop t
if [ "$(LC_ALL=ja_JP.UTF-8 locale charmap 2>/dev/null)" = UTF-8 ]; then
	fstart t "form:ikensho:0:$APPL" 80x24 ja_JP.UTF-8
	has_on '前回の入力途中の下書きがあります。復元しますか' "the restore question in Japanese"
	keys Escape
	tabs 12
	ui_golden form-page1-ja "page 1 in Japanese at 80x24"
	text R8.3.2
	keys F2
	has_on '保存しますか \(y/n\)' "the save question in Japanese"
	text n; keys Enter
	sstop t
else
	for i in 1 2 3; do
		tap_n=$((tap_n + 1))
		echo "ok $tap_n # SKIP no ja_JP.UTF-8 locale (Japanese screens)"
	done
fi

# ===== 5. resize =====
fstart t "form:ikensho:$OPINION"
b=$(cat "$TMP/idle.t")
tmux -S "$SOCK" resize-window -t t -x 100 -y 30
settle t "$b"
has_on '^ +4 Insurer number {19}995209' "at 100 columns the label column widens"
[ "$(sscreen t | wc -l)" -ge 30 ] && sscreen t | sed -n 30p | grep -q '12'; ok $? "the key bar moves to row 30"
keys Tab
text X
has_on '5 Insurer name +試験市介護保険X' "typing goes on after the resize"
b=$(cat "$TMP/idle.t")
tmux -S "$SOCK" resize-window -t t -x 80 -y 24
settle t "$b"
has_on '^ +4 Insurer number {15}995209' "back at 80 columns"
sscreen t | sed -n 24p | grep -q '12'; ok $? "the key bar on row 24"
keys BSpace F12
has_on 'saved' "saved after the resizes"
keys F2
sstop t

# ===== 6. two sessions on one record =====
fstart t "form:ikensho:$OPINION"
fstart u "form:ikensho:$OPINION"
skeys t Tab
stext t 'Ａ'
skeys t F12
shas t 'saved' "the first session saves"
skeys u Tab Tab Tab Tab Tab Tab
stext u REQ-7
skeys u F12
shas u 'Items changed by another session' "the second save is refused and shows what changed"
shas u 'item 5 Insurer name: "試験市介護保険" -> "試験市介護保険Ａ"' "the change is named with its label and values"
shas u 'Load the latest version\? \(y/n\)' "reloading is offered"
stext u n; skeys u Enter
shas u 'not saved: changed by another session' "declined: not saved"
shas u '11 Request number +REQ-7' "the user's values stay on the screen"
export_has ',試験市介護保険Ａ,' "the first session's value is stored"
skeys u F12
shas u 'Overwrite it\? \(y/n\)' "F12 again offers to overwrite"
stext u y; skeys u Enter
shas u 'saved' "overwritten on request"
export_has ',REQ-7,' "the second session's value is stored"
skeys t F12
shas t 'Load the latest version' "the first session is now the stale one"
stext t y; skeys t Enter
shas t '11 Request number +REQ-7' "reloading shows the other session's values"
skeys t F2
skeys u F2
sstop t
sstop u

# ===== 7. invoice: amounts derived from the fee table =====
fstart t "form:seikyu:0:$OPINION"
has_on '1 Invoice date +R8\.4\.1' "a new invoice dated today"
keys NPage
has_on '16 Insured number +9900000011' "the invoice takes the opinion's values"
keys Tab Tab Tab Tab
text 1
has_on '21 Opinion fee +5,000' "fee 5,000 for category 1"
has_on '26 Consumption tax +500' "tax 500"
has_on '27 Total +5,500' "total 5,500"
keys Tab
has_on 'At home, first 5,000 yen \(fees\.xml, from 2000-04-01\)' "how the fee was computed"
text 9
has_on 'computed from other items' "a derived amount cannot be typed over"
keys Tab
text 2; keys Tab Tab Tab Tab
has_joined 'floor\(\(Opinion fee 5,000 \+ Examination fee 0 \+ Test fee 0\) × 10%\) = 500 yen' "how the tax was computed"
keys F12
has_on 'saved' "the invoice is saved"
keys F2
sstop t
iken export seikyu > "$TMP/seikyu.csv"
grep -q ',1,5000,2,,,5000,500,5500,' "$TMP/seikyu.csv"; ok $? "stored: fee, subtotal, tax, total"

done_testing
