#!/bin/sh
# While the screens are open, results are polled and the menu's counts follow by themselves.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/lib.sh"
export IKEN_TEST_NO_POLL=
SIM="$top_builddir/iken-termsim"
D="$TMP/data"
iken() { "$IKEN" --data "$D" "$@"; }
iken init >/dev/null
printf 'clinic_code,clinic_name,clinic_address,clinic_phone,representative,bank_code,branch_code,account_kind,account_no,account_holder_kana,poll_seconds\r\n9912345678,テスト診療所,試験県検証市1-1,00-0000-0000,試験　代表,0001,001,1,1234567,テストイリョウホウジン,1\r\n' > "$TMP/s.csv"
iken import settings "$TMP/s.csv" >/dev/null
printf 'login,role,name,doctor_no\r\n%s,1,試験　医師,D1\r\n' "$IKEN_TEST_USER" > "$TMP/u.csv"
iken import user "$TMP/u.csv" >/dev/null
"$GEN" ikensho 3 9 > "$TMP/op.csv"
iken import ikensho "$TMP/op.csv" >/dev/null
IKEN_STABLE_SECONDS=0 iken send --all >/dev/null
ok $? "three opinions sent"

ui_start -- --data "$D"
ui_has "Waiting for result +3" "the menu counts three waiting for a result"
ui_has "Accepted today +0" "none accepted yet"
"$SIM" --req "$D/terminal/req" --res "$D/terminal/res" --delay 0 --once 2>/dev/null
# no key is pressed: the screen polls every poll_seconds (1 s) and repaints the counts
i=0
while [ $i -lt 100 ]; do
	ui_screen | grep -qE "Accepted today +3" && break
	sleep 0.1; i=$((i + 1))
done
ui_has "Accepted today +3" "the counts update by themselves when results arrive"
ui_has "Waiting for result +0" "nothing waits any more"
ui_has "3 result\\(s\\) imported" "the message line says results came in"
ui_stop
done_testing
