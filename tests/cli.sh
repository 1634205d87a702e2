#!/bin/sh
# Command-line tests with real files and a real store in a temporary directory.
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
D="$TMP/data"
iken() { "$IKEN" --data "$D" "$@"; }

# --- help, usage, exit codes ---
run_ok "iken --help" "$IKEN" --help
has "$TMP/out" "import FORM FILE.csv" "--help lists import"
IKEN_TEST_USER=stranger exit_is 1 "the screens refuse an unregistered Unix user" "$IKEN" --data "$TMP/d0"
has "$TMP/err" "not registered" "with a clear message"
exit_is 2 "unknown command" "$IKEN" frobnicate
exit_is 2 "unknown status" iken export ikensho --status nonsense

# --- init ---
run_ok "init creates the store" iken init
has "$TMP/out" "admin" "the user who ran init is admin"
[ "$(stat -c %a "$D")" = 700 ]; ok $? "data directory is 0700"
[ "$(stat -c %a "$D/data.mdb")" = 600 ]; ok $? "data.mdb is 0600"
run_ok "init twice is harmless" iken init
run_ok "export user" iken export user
has "$TMP/out" "^tester,3,tester" "init registered tester as admin (role 3)"

# --- import, export, round trip ---
"$GEN" ikensho 20 7 > "$TMP/op.csv"
run_ok "import 20 generated opinions" iken import ikensho "$TMP/op.csv"
has "$TMP/out" "20 records imported" "import reports the count"
iken export ikensho > "$TMP/ex1.csv"
ok $? "export opinions"
same "$TMP/op.csv" "$TMP/ex1.csv" "export(import(f)) == f"
D2="$TMP/data2"
"$IKEN" --data "$D2" init >/dev/null
"$IKEN" --data "$D2" import ikensho "$TMP/ex1.csv" >/dev/null
"$IKEN" --data "$D2" export ikensho > "$TMP/ex2.csv"
same "$TMP/ex1.csv" "$TMP/ex2.csv" "an exported file imported and exported again is byte-identical"
head -c 3 "$TMP/ex1.csv" | od -An -tx1 | grep -q "ef bb bf"; [ $? -ne 0 ]; ok $? "no BOM"
head -1 "$TMP/ex1.csv" | od -c | grep -q '\\r  \\n'; ok $? "rows end with CRLF"
run_ok "export --status draft" iken export ikensho --status draft
[ "$(wc -l < "$TMP/out")" -eq "$(wc -l < "$TMP/ex1.csv")" ]; ok $? "imported documents are drafts"
run_ok "export --status final" iken export ikensho --status final
[ "$(wc -l < "$TMP/out")" -eq 1 ]; ok $? "no final documents: header only"

# --- all or nothing ---
# Row 3 (line 4) gets a bad sex code and row 5 a 9-digit insured number.
awk -F, 'BEGIN{OFS=","} NR==1{for(i=1;i<=NF;i++){if($i=="sex")s=i; if($i=="insured_no")n=i}} NR==4{$s="7"} NR==6{$n="123456789"} {print}' "$TMP/op.csv" > "$TMP/bad.csv"
before=$(iken export ikensho | wc -l)
exit_is 1 "import with errors fails" iken import ikensho "$TMP/bad.csv"
has "$TMP/err" "^line 4: item 19 (Sex): " "problem listed as line N: item no (label): message"
has "$TMP/err" "^line 6: item 6 (Insured number" "every problem is listed"
has "$TMP/err" "nothing imported" "says nothing was imported"
[ "$(iken export ikensho | wc -l)" -eq "$before" ]; ok $? "nothing imported on error"
exit_is 1 "--skip-invalid imports the valid ones" iken import ikensho "$TMP/bad.csv" --skip-invalid
has "$TMP/out" "18 records imported, 2 skipped" "--skip-invalid count"
exit_is 1 "check reports problems" iken check ikensho "$TMP/bad.csv"
has "$TMP/out" "20 records checked, 2 with errors" "check summary"
exit_is 0 "check of a valid file" iken check ikensho "$TMP/op.csv"
(LANG=ja_JP.UTF-8 LC_ALL=ja_JP.UTF-8 iken check ikensho "$TMP/bad.csv") >"$TMP/out" 2>"$TMP/err"
has "$TMP/err" "^line 4: 項目19 (性別): " "Japanese messages when the language is Japanese"

# --- bad files: clear messages, nothing lost ---
printf 'insured_no,nosuchfield\r\n1,2\r\n' > "$TMP/h.csv"
exit_is 1 "unknown column refused" iken check ikensho "$TMP/h.csv"
has "$TMP/err" "nosuchfield" "unknown column named"
printf 'insured_no,name\r\n"unterminated\r\n' > "$TMP/q.csv"
exit_is 1 "malformed CSV refused" iken import ikensho "$TMP/q.csv"
has "$TMP/err" "line 2" "malformed CSV names the line"
printf 'name\r\n\377\376\r\n' > "$TMP/u.csv"
exit_is 1 "invalid UTF-8 refused" iken import ikensho "$TMP/u.csv"
has "$TMP/err" "UTF-8" "invalid UTF-8 named"
exit_is 3 "missing file is an I/O error" iken import ikensho "$TMP/none.csv"

# --- list, show, status ---
ins=$(awk -F, 'NR==1{for(i=1;i<=NF;i++)if($i=="insured_no")n=i} NR==2{print $n}' "$TMP/op.csv")
run_ok "list by insured number" iken list ikensho --query "$ins"
[ "$(wc -l < "$TMP/out")" -ge 1 ]; ok $? "list finds the insured number"
id=$(cut -f1 "$TMP/out" | head -1)
run_ok "list by kana prefix" iken list ikensho --query "テスト"
run_ok "list by 和暦 date range" iken list ikensho --query "R8.1.1..R8.3.31"
[ "$(wc -l < "$TMP/out")" -ge 20 ]; ok $? "date range finds the opinions of Jan–Mar 2026"
run_ok "list by status" iken list ikensho --status draft
exit_is 2 "unreadable query" iken list ikensho --query "??"
run_ok "show a record" iken show "$id"
has "$TMP/out" "Insured number: $ins" "show prints labels and values"
has "$TMP/out" "(令和" "show prints dates in 和暦"
exit_is 1 "show unknown id" iken show 999999
run_ok "status" iken status
has "$TMP/out" "ikensho" "status lists forms"

# --- settings and users: the same import command ---
"$GEN" settings 1 1 > "$TMP/settings.csv"
run_ok "import settings" iken import settings "$TMP/settings.csv"
run_ok "import settings again replaces the one record" iken import settings "$TMP/settings.csv"
[ "$(iken export settings | wc -l)" -eq 2 ]; ok $? "settings holds one record"
"$GEN" user 3 1 > "$TMP/users.csv"
run_ok "import users" iken import user "$TMP/users.csv"
run_ok "import users again updates by login" iken import user "$TMP/users.csv"
[ "$(iken export user | wc -l)" -eq 5 ]; ok $? "users: admin + 3, no duplicates"

# --- broken form files stop the program ---
mkdir -p "$TMP/forms"
cp "$IKEN_FORMS"/*.xml "$IKEN_FORMS"/form.rng "$TMP/forms/"
sed -i 's/<field no="6" id="insured_no"/<field no="6" id="insured_no" bogus="1"/' "$TMP/forms/ikensho.xml"
exit_is 3 "a broken form file stops iken" "$IKEN" --forms "$TMP/forms" --data "$D" status
has "$TMP/err" "ikensho.xml:[0-9][0-9]*: " "reported as file:line"

# --- 1,000 generated opinions: import, export byte for byte ---
D3="$TMP/data3"
"$IKEN" --data "$D3" init >/dev/null
"$GEN" ikensho 1000 42 > "$TMP/k.csv"
run_ok "import 1,000 opinions" "$IKEN" --data "$D3" import ikensho "$TMP/k.csv"
"$IKEN" --data "$D3" export ikensho > "$TMP/k2.csv"
same "$TMP/k.csv" "$TMP/k2.csv" "1,000 opinions export byte for byte the same"

done_testing
