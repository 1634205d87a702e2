#!/bin/sh
# Opening a document on the screen leaves its entry in the audit trail (user, role, the record),
# and so does saving it there (update with the changed field's id); moving through the lists
# does not. The trail stays intact.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/lib.sh"
D="$TMP/data"
export TZ=Asia/Tokyo IKEN_TEST_NOW="${IKEN_TEST_NOW:-20260401093000}" IKEN_TEST_USER=tester
iken() { "$IKEN" --data "$D" "$@"; }
# wait_screen PATTERN: up to 5 s for the screen to show PATTERN (a key is taken when iken is
# idle; what it paints next may follow a tick later)
wait_screen() {
	i=0
	while [ $i -lt 100 ]; do
		ui_screen | grep -qE -- "$1" && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
opens() { iken audit show --action open --csv | tail -n +2 | tr -d '\r'; }

iken init >/dev/null
"$GEN" settings 1 3 > "$TMP/settings.csv"
iken import settings "$TMP/settings.csv" >/dev/null
printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,試験 医師,D001,,\r\n' > "$TMP/users.csv"
iken import user "$TMP/users.csv" >/dev/null
"$GEN" ikensho 3 6 > "$TMP/op.csv"
run_ok "three opinions" iken import ikensho "$TMP/op.csv"
first=$(iken list ikensho | head -1 | cut -f1)
n0=$(iken audit show --csv | tail -n +2 | wc -l)

ui_start -- --data "$D" ui
ui_keys 2
wait_screen "3 (record|件)"
ui_has "3 (record|件)" "the opinion list"
ui_keys Down
ui_keys Up
[ "$(iken audit show --csv | tail -n +2 | wc -l)" -eq "$n0" ]; ok $? "moving through a list leaves no entry"
ui_keys Enter
wait_screen "F12|12"
[ "$(opens | wc -l)" -eq 1 ]; ok $? "opening the document: one open entry"
l=$(opens | tail -1)
echo "$l" | grep -q "^[0-9]*,2026-04-01 09:30:00,tester,1,Doctor,open,ikensho,$first,,,,,"
ok $? "it names the time, the user, the role and the document ($l)"
# the insurer number (the first field) changed: its last digit
ui_keys End BSpace
ui_type "7"
ui_keys F12
ui_keys F2
wait_screen "3 (record|件)"
ui_keys Enter
wait_screen "F12|12"
[ "$(opens | wc -l)" -eq 2 ]; ok $? "opening it again: a second entry"
ui_keys F2
ui_keys F2
ui_keys F2
ui_stop
upd=$(iken audit show --action update --document "$first" --csv | tail -n +2 | tr -d '\r' | tail -1)
v=$(iken show "$first" | sed -n 's/^ *4 Insurer number: //p')
echo "$upd" | grep -q ",update,ikensho,$first,insurer_no,,,r2," && ! echo "$upd" | grep -q "$v"
ok $? "the save on the screen: an update entry with the field's id, not its value ($upd)"
run_ok "audit verify" iken audit verify
has "$TMP/out" "intact" "the trail is intact"
done_testing
