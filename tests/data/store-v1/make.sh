#!/bin/sh
# How data.mdb was made: a store of schema 1 (iken before the audit trail, commit 5936a35) with
# send and receive log entries of every kind: queued, published, a failed publication,
# cancelled, accepted, rejected, an .err file, a malformed result. Run with that commit's
# programs:  IKEN=… SIM=… GEN=… IKEN_FORMS=… sh make.sh OUTDIR
# then `mdb_copy -c OUTDIR/data tests/data/store-v1` and keep the logs it prints.
set -eu
OUT=$1
D="$OUT/data"; REQ="$D/terminal/req"; RES="$D/terminal/res"
export TZ=Asia/Tokyo LANG=C.UTF-8 LC_ALL=C.UTF-8 IKEN_TEST_USER=tester IKEN_STABLE_SECONDS=0
iken() { "$IKEN" --data "$D" "$@"; }
sim() { "$SIM" --req "$REQ" --res "$RES" --delay 0 --once "$@" 2>/dev/null; }
at() { IKEN_TEST_NOW=$1; export IKEN_TEST_NOW; }
at 20260401090000
iken init >/dev/null
"$GEN" settings 1 3 > "$OUT/settings.csv"
iken import settings "$OUT/settings.csv" >/dev/null
printf 'login,role,name,doctor_no,name_kana,pkcs11_module\r\ntester,1,試験 医師,D001,,\r\n' > "$OUT/users.csv"
iken import user "$OUT/users.csv" >/dev/null
"$GEN" ikensho 6 5 > "$OUT/op.csv"
iken import ikensho "$OUT/op.csv" >/dev/null
set -- $(iken list ikensho | cut -f1)
at 20260401091000; iken send "$1" "$2" >/dev/null        # queued, published
at 20260401092000; sim; iken poll >/dev/null             # accepted
at 20260401093000; iken send "$3" >/dev/null
at 20260401094000; sim --fault reject=19; iken poll >/dev/null   # rejected
mv "$REQ" "$REQ.away"
at 20260401095000; iken send "$4" >/dev/null 2>&1 || true  # queued, publication fails
at 20260401100000; iken cancel "$4" >/dev/null            # cancelled
mv "$REQ.away" "$REQ"
at 20260401101000; iken send "$5" >/dev/null
at 20260401102000; sim --fault err; iken poll >/dev/null  # .err file
at 20260401103000; iken send "$6" >/dev/null
at 20260401104000; sim --fault malformed; iken poll >/dev/null || true  # malformed
iken log send
iken log receive
