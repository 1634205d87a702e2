#!/bin/sh
# Signed opinions end to end: settings ask for a signature, `iken send` signs with the doctor's
# PKCS#12 file or HPKI card (SoftHSM2 through PKCS#11), the simulator verifies, xmlsec1 (not our
# code) verifies, and every failure (wrong PIN, expired certificate, missing module) leaves the
# document unsent.
. "${top_srcdir:-$(dirname "$0")/..}/tests/ui/lib.sh"
SIM="$top_builddir/iken-termsim"
D="$TMP/data"
REQ="$D/terminal/req"
RES="$D/terminal/res"
export IKEN_STABLE_SECONDS=0
iken() { "$IKEN" --data "$D" "$@"; }
if ! command -v openssl >/dev/null || ! command -v xmlsec1 >/dev/null; then
	echo "ok 1 # SKIP openssl or xmlsec1 missing"; echo "1..1"; exit 0
fi
P="$TMP/pki"
mkdir -p "$P"
"$IKEN" --data "$D" init >/dev/null
# three opinions of one doctor (the certificate names that doctor)
"$GEN" ikensho 1 5 > "$TMP/op.csv"
for i in 1 2 3; do iken import ikensho "$TMP/op.csv" >/dev/null; done
set -- $(iken list ikensho | cut -f1)
doc1=$1 doc2=$2 doc3=$3
doctor=$(iken show "$doc1" | sed -n 's/^  23 [^:]*: //p')
[ -n "$doctor" ]; ok $? "the opinion names its doctor ($doctor)"

# A test PKI dated around the test clock (2026-04-01): CA, the doctor's certificate (CN = the
# doctor's name), an expired one. `openssl ca` sets any validity period.
mkdir -p "$P/db"
: > "$P/db/index.txt"
echo 01 > "$P/db/serial"
cat > "$P/ca.cnf" <<CNF
[ca]
default_ca = CA_default
[CA_default]
dir = $P/db
database = $P/db/index.txt
serial = $P/db/serial
new_certs_dir = $P/db
default_md = sha256
policy = pol
unique_subject = no
email_in_dn = no
[pol]
commonName = supplied
organizationName = optional
[v3ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
[doc]
keyUsage = critical, digitalSignature, nonRepudiation
basicConstraints = CA:FALSE
CNF
pki() { openssl "$@" >/dev/null 2>&1; }
pki req -new -newkey rsa:2048 -nodes -keyout "$P/ca.key" -out "$P/ca.csr" -subj "/O=Test HPKI CA/CN=Test HPKI Root"
pki ca -batch -config "$P/ca.cnf" -selfsign -keyfile "$P/ca.key" -in "$P/ca.csr" -out "$P/ca.pem" \
	-startdate 20200101000000Z -enddate 20400101000000Z -extensions v3ca -notext
pki req -new -newkey rsa:2048 -nodes -keyout "$P/doc.key" -out "$P/doc.csr" -utf8 -subj "/O=Test Clinic/CN=$doctor"
pki ca -batch -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" -in "$P/doc.csr" -out "$P/doc.pem" \
	-startdate 20250101000000Z -enddate 20300101000000Z -extensions doc -utf8 -notext
pki ca -batch -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" -in "$P/doc.csr" -out "$P/old.pem" \
	-startdate 20200101000000Z -enddate 20210101000000Z -extensions doc -utf8 -notext
pki pkcs12 -export -inkey "$P/doc.key" -in "$P/doc.pem" -out "$P/doc.p12" -passout pass:1234
[ -s "$P/doc.p12" ]; ok $? "test PKI made"
pki pkcs12 -export -inkey "$P/doc.key" -in "$P/old.pem" -out "$P/old.p12" -passout pass:1234
echo 1234 > "$P/pin"
echo 9999 > "$P/badpin"

settings() { # settings SIGN_REQUIRED
	printf 'clinic_code,clinic_name,clinic_address,clinic_phone,representative,bank_code,branch_code,account_kind,account_no,account_holder_kana,sign_required,sign_ca_file\r\n' > "$TMP/s.csv"
	printf '9912345678,テスト診療所,試験県検証市1-1,00-0000-0000,試験　代表,0001,001,1,1234567,テストイリョウホウジン,%s,%s\r\n' "$1" "$P/ca.pem" >> "$TMP/s.csv"
	iken import settings "$TMP/s.csv" >/dev/null
}
user() { # user PKCS11_MODULE PKCS12_FILE
	printf 'login,role,name,doctor_no,pkcs11_module,pkcs12_file\r\ntester,1,%s,D1,%s,%s\r\n' "$doctor" "$1" "$2" > "$TMP/u.csv"
	iken import user "$TMP/u.csv" >/dev/null
}
settings 1
user "" ""
exit_is 1 "signature required but the doctor has no key: refused" iken send "$doc1" --yes
has "$TMP/err" "neither a PKCS#11 module nor a PKCS#12 file" "says what is missing"
[ "$(ls "$REQ" | wc -l)" -eq 0 ]; ok $? "nothing published"

user "" "$P/doc.p12"
exit_is 1 "wrong PIN: refused" iken send "$doc1" --yes --pin-file "$P/badpin"
grep -qiE "pin|password|パスワード" "$TMP/err" "$TMP/out"; ok $? "the message names the PIN"
grep -qiE "pin|password" "$TMP/err" "$TMP/out" || sed 's/^/# /' "$TMP/err" "$TMP/out"
[ "$(ls "$REQ" | wc -l)" -eq 0 ]; ok $? "nothing published after a wrong PIN"
iken show "$doc1" | grep -q "status draft"; ok $? "the document stays a draft, unsent"

if [ -s "$P/old.p12" ]; then
	user "" "$P/old.p12"
	exit_is 1 "expired certificate: refused" iken send "$doc1" --yes --pin-file "$P/pin"
	grep -qiE "expired|有効期限" "$TMP/err" "$TMP/out"; ok $? "the message says it expired"
else
	ok 0 "# SKIP openssl cannot make an expired certificate"; ok 0 "# SKIP"
fi
user "/nonexistent/libhpki.so" ""
iken send "$doc1" --yes --pin-file "$P/pin" >"$TMP/out" 2>"$TMP/err"
[ $? -ne 0 ]; ok $? "missing PKCS#11 module: refused"
grep -qiE "module|モジュール" "$TMP/err" "$TMP/out"; ok $? "the message names the module"
[ "$(ls "$REQ" | wc -l)" -eq 0 ]; ok $? "nothing published after the failures"

# --- PKCS#12: signed, verified by iken, xmlsec1 and the simulator ---
user "" "$P/doc.p12"
run_ok "send signs with the PKCS#12 file" iken send "$doc1" --yes --pin-file "$P/pin"
has "$TMP/out" "signer: .*CN=" "the signer's subject is shown for confirmation"
env1=$(ls "$REQ"/*.xml | head -1)
grep -q "SignatureValue" "$env1"; ok $? "the envelope carries a signature"
run_ok "iken verify accepts it" iken verify "$env1" --ca "$P/ca.pem"
XMLSEC="xmlsec1 --verify --trusted-pem $P/ca.pem --id-attr:Id DocumentData --id-attr:Id http://uri.etsi.org/01903/v1.3.2#:SignedProperties"
$XMLSEC "$env1" >/dev/null 2>&1; ok $? "xmlsec1 verifies it"
cp "$env1" "$TMP/signed.xml"
# one byte of the CSV: decode DocumentData, change a byte, encode again
data=$(sed -n 's:.*<DocumentData[^>]*>\([^<]*\)</DocumentData>.*:\1:p' "$TMP/signed.xml")
tampered=$(printf '%s' "$data" | base64 -d | sed '1s/,1,/,2,/' | base64 -w0)
sed "s|$data|$tampered|" "$TMP/signed.xml" > "$TMP/tampered.xml"
exit_is 1 "iken verify fails on a changed CSV byte" iken verify "$TMP/tampered.xml" --ca "$P/ca.pem"
$XMLSEC "$TMP/tampered.xml" >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "xmlsec1 fails on it too"
sed 's|<xades:SigningTime>\(....\)|<xades:SigningTime>1999|' "$TMP/signed.xml" > "$TMP/t2.xml"
exit_is 1 "iken verify fails on a changed signing time" iken verify "$TMP/t2.xml" --ca "$P/ca.pem"
$XMLSEC "$TMP/t2.xml" >/dev/null 2>&1; [ $? -ne 0 ]; ok $? "xmlsec1 fails on it too"
"$SIM" --req "$REQ" --res "$RES" --delay 0 --once --ca "$P/ca.pem" --require-signature 2>/dev/null
iken poll > "$TMP/out" 2>&1
has "$TMP/out" "accepted, reception number" "the simulator verifies the signature and accepts"
cp "$TMP/tampered.xml" "$REQ/IKNsubm01req_99123456782026040109300099.xml"
"$SIM" --req "$REQ" --res "$RES" --delay 0 --once --ca "$P/ca.pem" 2>/dev/null
grep -q "E910" "$RES/IKNsubm01res_99123456782026040109300099.xml"; ok $? "the simulator rejects a broken signature"
rm -f "$RES"/*

# --- PKCS#11: a SoftHSM2 token holding the key and certificate ---
MOD=/usr/lib/softhsm/libsofthsm2.so
if command -v softhsm2-util >/dev/null && command -v pkcs11-tool >/dev/null && [ -f "$MOD" ]; then
	mkdir -p "$TMP/tokens"
	printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP/tokens" > "$TMP/softhsm2.conf"
	export SOFTHSM2_CONF="$TMP/softhsm2.conf"
	softhsm2-util --init-token --free --label hpki --pin 1234 --so-pin 5678 >/dev/null 2>&1
	openssl pkcs8 -topk8 -nocrypt -in "$P/doc.key" -out "$P/doc.p8" 2>/dev/null
	softhsm2-util --import "$P/doc.p8" --token hpki --label doc --id 01 --pin 1234 >/dev/null 2>&1
	openssl x509 -in "$P/doc.pem" -outform DER -out "$P/doc.der"
	pkcs11-tool --module "$MOD" --token-label hpki --login --pin 1234 --write-object "$P/doc.der" \
		--type cert --id 01 --label doc >/dev/null 2>&1
	ok $? "SoftHSM2 token with the doctor's key and certificate"
	user "$MOD" ""
	run_ok "send signs through PKCS#11" iken send "$doc2" --yes --pin-file "$P/pin"
	env2=$(ls -t "$REQ"/*.xml | head -1)
	$XMLSEC "$env2" >/dev/null 2>&1; ok $? "xmlsec1 verifies the card's signature"
	run_ok "iken verify accepts it" iken verify "$env2" --ca "$P/ca.pem"
	exit_is 1 "wrong PIN on the card: refused" iken send "$doc3" --yes --pin-file "$P/badpin"
	iken show "$doc3" | grep -q "status draft"; ok $? "the document stays unsent"
else
	for i in 1 2 3 4 5 6; do ok 0 "# SKIP softhsm2 or pkcs11-tool missing"; done
fi

# --- the screens: F10 asks for the PIN (shown as *), shows the signer, signs and sends ---
user "" "$P/doc.p12"
iken import ikensho "$TMP/op.csv" >/dev/null
last=$(iken list ikensho --status draft | cut -f1 | tail -1)
ui_start -- --data "$D"
ui_keys 2
for i in $(iken list ikensho | cut -f1); do [ "$i" = "$last" ] && break; ui_keys Down; done
ui_keys F10
ui_type y; ui_keys Enter
ui_has "PIN of the HPKI card" "the screen asks for the PIN"
ui_type 1234
ui_has "PIN of the HPKI card: \*\*\*\*" "the PIN is shown as ****"
ui_hasnt "1234" "the PIN itself never appears"
ui_keys Enter
ui_has "sign as .*CN=" "the signer is shown for confirmation"
ui_type y; ui_keys Enter
ui_has "queued as" "signed and queued from the screen"
ui_stop
iken show "$last" | grep -qE "status (queued|published)"; ok $? "the document went out"
f=$(ls -t "$REQ"/*.xml | head -1)
$XMLSEC "$f" >/dev/null 2>&1; ok $? "xmlsec1 verifies the screen-signed envelope"
done_testing
