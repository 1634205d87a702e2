#!/bin/sh
# iken-termsim, the simulated terminal and service: requests made by tests/mkenvelope from
# generated records are taken from req/, checked, and answered in res/; every fault mode does
# what it says.
. "$(dirname "$0")/lib.sh"
SIM="$top_builddir/iken-termsim"
MKENV="$top_builddir/tests/mkenvelope"
export TZ=Asia/Tokyo IKEN_TEST_NOW=20260401093000

# A fresh terminal folder: $T/req, $T/res (the simulator's work folder is $T/.termsim).
fresh() {
	T="$TMP/term$1"
	rm -rf "$T"
	mkdir -p "$T/req" "$T/res"
}

# sim ARGS... : one --once run on $T; stderr in $TMP/log; failed runs are counted
sim_failed=0
sim() {
	"$SIM" --req "$T/req" --res "$T/res" --once "$@" 2>"$TMP/log"
	sim_rc=$?
	if [ $sim_rc -ne 0 ]; then
		sim_failed=$((sim_failed + 1))
		echo "# iken-termsim $* exited $sim_rc"
		sed 's/^/# /' "$TMP/log" | head -20
	fi
	return $sim_rc
}

count() { # count DIR GLOB
	n=0
	for f in "$1"/$2; do [ -e "$f" ] && n=$((n + 1)); done
	echo $n
}

# well_formed FILE: 0 when XML is well-formed (xmllint when installed, else the last element)
well_formed() {
	if command -v xmllint >/dev/null 2>&1; then
		xmllint --noout "$1" 2>/dev/null
	else
		tail -c 20 "$1" | grep -q '</XmlMsg>'
	fi
}

"$GEN" ikensho 3 11 > "$TMP/op.csv"
"$GEN" seikyu 1 12 > "$TMP/inv.csv"

# --- valid documents are accepted with reception numbers ---
fresh 1
run_ok "mkenvelope writes three requests" "$MKENV" ikensho "$TMP/op.csv" "$T/req" -
[ "$(count "$T/req" 'IKNsubm01req_*.xml')" -eq 3 ]; ok $? "three requests in req/"
"$MKENV" --id-start 4 seikyu "$TMP/inv.csv" "$T/req" - >/dev/null
echo "not a request" > "$T/req/notes.txt"
echo "being written" > "$T/req/.IKNsubm01req_99.xml.tmp.1"
sim; ok $? "iken-termsim --once exits 0"
[ "$(count "$T/req" '*req_*.xml')" -eq 0 ]; ok $? "every request was taken from req/"
[ -f "$T/req/notes.txt" ] && [ -f "$T/req/.IKNsubm01req_99.xml.tmp.1" ]
ok $? "other files and dot-files are left alone"
[ "$(count "$T/res" 'IKNsubm01res_*.xml')" -eq 3 ]; ok $? "three opinion results"
[ "$(count "$T/res" 'IKNsubm02res_*.xml')" -eq 1 ]; ok $? "an invoice result under its own prefix"
[ "$(cat "$T/res"/*res_*.xml | grep -c '<ProcessingResultStatus>1</ProcessingResultStatus>')" -eq 4 ]
ok $? "all four accepted (status 1)"
[ "$(cat "$T/res"/*res_*.xml | grep -c '<SegmentOfResult>1</SegmentOfResult>')" -eq 4 ]
ok $? "segment 1 (正常終了)"
cat "$T/res"/*res_*.xml | sed -n 's:.*<ReceptionNumber>\(.*\)</ReceptionNumber>.*:\1:p' | sort -u > "$TMP/recno"
[ "$(wc -l < "$TMP/recno")" -eq 4 ] && grep -q '^R20260401000001$' "$TMP/recno"
ok $? "four different reception numbers R20260401000001…"
for f in "$T/res"/IKNsubm01res_*.xml; do
	id=${f##*res_}; id=${id%.xml}
	grep -q "<ArbitraryFileIdentifier>$id</ArbitraryFileIdentifier>" "$f" || break
	id=
done
[ -z "$id" ]; ok $? "each result echoes its request's identifier"
[ "$(grep -c ': accepted, reception number R' "$TMP/log")" -eq 4 ]; ok $? "one log line per request"
LC_ALL=C grep -q '[^ -~]' "$TMP/log"; [ $? -ne 0 ]; ok $? "the log is plain ASCII: identifiers and outcomes only"
sim; ok $? "a second run answers nothing new"
[ "$(count "$T/res" '*res_*.xml')" -eq 4 ]; ok $? "still four results"
grep -qx 4 "$T/.termsim/reception-counter"; ok $? "the reception counter is kept in the work folder"
fresh 1b
"$MKENV" --id-start 9 ikensho "$TMP/op.csv" "$T/req" - >/dev/null
mkdir -p "$TMP/term1/req"
mv "$T/req"/* "$TMP/term1/req/"
T="$TMP/term1"
sim
cat "$T/res"/*res_*.xml | sed -n 's:.*<ReceptionNumber>\(.*\)</ReceptionNumber>.*:\1:p' | sort -u > "$TMP/recno"
[ "$(wc -l < "$TMP/recno")" -eq 7 ] && [ "$(tail -1 "$TMP/recno")" = R20260401000007 ]
ok $? "reception numbers go on across runs (…05 to …07)"

# --- invalid documents are rejected naming the item ---
fresh 2
"$MKENV" --set 2:sex=7 ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim
f=$(ls "$T/res"/*0002.xml)
has "$f" '<ProcessingResultStatus>2</ProcessingResultStatus>' "sex 7: rejected (status 2)"
has "$f" '<ItemNumber>19</ItemNumber>' "the error names item 19 (性別)"
has "$f" '<ErrorCode>E002</ErrorCode>' "with the code of a value error"
has "$f" '選択肢にない値です' "and the check engine's Japanese message"
[ "$(grep -c '<Error>' "$f")" -eq 1 ]; ok $? "exactly one error"
has "$TMP/log" '0002.xml: rejected, 1 error(s)' "the log says rejected"
grep -q '<ProcessingResultStatus>1<' "$T/res"/*0001.xml; ok $? "the untouched documents are accepted"

fresh 3
"$MKENV" --set 1:name_kana= --set 1:sex=3 ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim
f=$(ls "$T/res"/*0001.xml)
grep -q '<ItemNumber>15</ItemNumber>' "$f" && grep -q '<ErrorCode>E001</ErrorCode>' "$f"
ok $? "an empty required item: item 15, E001"
[ "$(grep -c '<Error>' "$f")" -eq 2 ]; ok $? "every problem is listed, not only the first"

fresh 4
"$MKENV" ikensho "$TMP/op.csv" "$T/req" 1399999999 >/dev/null
sim
f=$(ls "$T/res"/*0001.xml)
grep -q '<ItemNumber>7</ItemNumber>' "$f" && grep -q '<ErrorCode>E005</ErrorCode>' "$f"
ok $? "header clinic code differing from the CSV's: item 7, E005"

fresh 5
printf 'not xml at all' > "$T/req/IKNsubm01req_13999999992026040109300000001.xml"
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
first=$(ls "$T/req" | sed -n 2p)
printf '\357\273\277' > "$T/bom"; cat "$T/req/$first" >> "$T/bom"; mv "$T/bom" "$T/req/$first"
sim
f="$T/res/IKNsubm01res_13999999992026040109300000001.xml"
has "$f" '<SegmentOfResult>9</SegmentOfResult>' "a file that is not XML: segment 9 (異常終了)"
has "$f" '<ItemNumber>0</ItemNumber>' "with an error about the whole file (item 0)"
f="$T/res/$(echo "$first" | sed 's/req_/res_/')"
grep -q '<ErrorCode>E902</ErrorCode>' "$f" && grep -q 'BOM' "$f"
ok $? "a request with a BOM is rejected (E902)"

# --- faults ---
fresh 6
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault sjis
f=$(ls "$T/res"/*0001.xml)
head -1 "$f" | grep -q 'encoding="Shift_JIS"'; ok $? "sjis: the result declares Shift_JIS"
grep -q '<CharacterCodeIdentifier>1</CharacterCodeIdentifier>' "$f"; ok $? "sjis: CharacterCodeIdentifier 1"
iconv -f CP932 -t UTF-8 "$f" > "$TMP/sjis.txt" 2>/dev/null && grep -q '正常に受け付けました' "$TMP/sjis.txt"
ok $? "sjis: the message decodes from Shift_JIS"
grep -q '正常に受け付けました' "$f"; [ $? -ne 0 ]; ok $? "sjis: the file is not UTF-8"
well_formed "$f"; ok $? "sjis: well-formed"

fresh 7
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault err
[ "$(count "$T/res" '*.err')" -eq 3 ] && [ "$(count "$T/res" '*.xml')" -eq 0 ]
ok $? "err: an .err file instead of each result"
f=$(ls "$T/res"/*0001.err)
case "$f" in */IKNsubm01req_*0001.err) r=0 ;; *) r=1 ;; esac
ok $r "err: named after the request (<prefix>req_<id>.err)"
[ "$(wc -l < "$f")" -eq 1 ] && grep -q 'E950' "$f"; ok $? "err: a one-line reason"

fresh 8
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault malformed
f=$(ls "$T/res"/*0001.xml)
well_formed "$f"; [ $? -ne 0 ]; ok $? "malformed: the result is not well-formed"

fresh 9
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault unknown
[ "$(count "$T/res" '*.xml')" -eq 6 ]; ok $? "unknown: an extra result for each request"
f=$(ls "$T/res"/*00019.xml)
id=${f##*res_}; id=${id%.xml}
grep -q "<ArbitraryFileIdentifier>$id</ArbitraryFileIdentifier>" "$f"; ok $? "unknown: for an identifier never sent ($id)"
[ -f "$T/res/$(ls "$T/res" | grep '0001\.xml$')" ]; ok $? "unknown: the real result is written too"

fresh 10
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault reject=19:35
f=$(ls "$T/res"/*0001.xml)
grep -q '<ProcessingResultStatus>2<' "$f" && [ "$(grep -c '<Error>' "$f")" -eq 2 ] &&
	grep -q '<ItemNumber>19</ItemNumber>' "$f" && grep -q '<ItemNumber>35</ItemNumber>' "$f"
ok $? "reject=19:35: valid data rejected with items 19 and 35"
grep -q '<ErrorCode>E999</ErrorCode>' "$f" && grep -q '性別: 受入テスト用の模擬エラーです' "$f"
ok $? "reject=19:35: the test error code and the item's label"

fresh 11
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault sjis,reject=19
f=$(ls "$T/res"/*0001.xml)
iconv -f CP932 -t UTF-8 "$f" 2>/dev/null | grep -q '<ItemNumber>19</ItemNumber>' && head -1 "$f" | grep -q Shift_JIS
ok $? "faults combine: sjis,reject=19"

fresh 12
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
sim --fault noanswer
[ "$(count "$T/req" '*')" -eq 0 ] && [ "$(count "$T/res" '*')" -eq 0 ]
ok $? "noanswer: the requests are taken and never answered"
has "$TMP/log" 'no answer' "noanswer: the log says so"

fresh 13
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
start=$(date +%s%N)
sim --delay 0.2 --fault delay
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 1100 ] && [ "$(count "$T/res" '*.xml')" -eq 3 ]
ok $? "delay: answered after 6× the delay (${elapsed} ms)"
fresh 13b
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
start=$(date +%s%N)
sim --delay 0.2
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 200 ] && [ "$elapsed" -lt 1100 ]; ok $? "--delay 0.2 alone waits about 0.2 s (${elapsed} ms)"

# slow: the final name appears first, its size grows, and it ends complete
fresh 14
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
rm "$T/req"/*0002.xml "$T/req"/*0003.xml
"$SIM" --req "$T/req" --res "$T/res" --once --fault slow 2>"$TMP/log" &
pid=$!
sizes=
i=0
while kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do
	for f in "$T/res"/*.xml; do
		[ -f "$f" ] && sizes="$sizes $(wc -c < "$f")"
	done
	sleep 0.05
	i=$((i + 1))
done
wait $pid
distinct=$(echo $sizes | tr ' ' '\n' | sort -un | wc -l)
[ "$distinct" -ge 3 ]; ok $? "slow: the result grows under its final name ($distinct sizes seen)"
well_formed "$(ls "$T/res"/*.xml)"; ok $? "slow: complete in the end"

# duplicate: written again once the first copy has been taken
fresh 15
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
rm "$T/req"/*0002.xml "$T/req"/*0003.xml
"$SIM" --req "$T/req" --res "$T/res" --once --fault duplicate 2>"$TMP/log" &
pid=$!
i=0
while [ "$(count "$T/res" '*.xml')" -eq 0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
f=$(ls "$T/res"/*.xml)
mv "$f" "$TMP/first.xml"
wait $pid; ok $? "duplicate: the simulator exits after writing again"
[ -f "$f" ] && cmp -s "$f" "$TMP/first.xml"; ok $? "duplicate: the same result appears again after it was taken"
has "$TMP/log" 'written again (duplicate)' "duplicate: the log says so"

# a service run: until SIGTERM
fresh 16
"$SIM" --req "$T/req" --res "$T/res" 2>"$TMP/log" &
pid=$!
sleep 0.3
"$MKENV" ikensho "$TMP/op.csv" "$T/req" - >/dev/null
i=0
while [ "$(count "$T/res" '*.xml')" -lt 3 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(count "$T/res" '*.xml')" -eq 3 ]; ok $? "running: requests dropped later are answered"
kill -TERM $pid
wait $pid; ok $? "running: SIGTERM ends it with exit 0"

[ $sim_failed -eq 0 ]; ok $? "every --once run exited 0"

# --- usage ---
fresh 17
exit_is 2 "an unknown fault is refused" "$SIM" --req "$T/req" --res "$T/res" --once --fault nosuch
exit_is 2 "reject= needs item numbers" "$SIM" --req "$T/req" --res "$T/res" --once --fault reject=x
exit_is 2 "--req is required" "$SIM" --res "$T/res" --once
exit_is 2 "a bad --delay is refused" "$SIM" --req "$T/req" --res "$T/res" --once --delay -1
exit_is 1 "a forms folder without forms is refused" "$SIM" --req "$T/req" --res "$T/res" --once --forms "$T"

done_testing
