#!/bin/sh
# Electronic signatures end to end: a test CA and doctor certificates made with the openssl
# command, a SoftHSM2 token holding the doctor's key and certificate (RSA and EC), envelopes
# signed through PKCS#11 and through PKCS#12 by tests/signtool, every signed file verified by
# signtool and by Debian's xmlsec1 (an implementation that is not ours), tampered files refused
# by both; wrong PIN, expired certificate, missing module, no card: the right message, a
# non-zero exit, no output file. Parts whose tools are missing are skipped (ok N # SKIP).
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib.sh"
SIGNTOOL="$top_builddir/tests/signtool"
MODULE=${IKEN_TEST_PKCS11_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
NOW=20260401093000
VT="2026-04-01 09:30:00"
XADES="http://uri.etsi.org/01903/v1.3.2#"
DOCTOR="試験 医師"
W="$TMP/pki"
export TZ=Asia/Tokyo
unset LANGUAGE LC_MESSAGES
LC_ALL=C.UTF-8; export LC_ALL

skip() { # skip REASON "description"
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $2 # SKIP $1"
}
fails() { # fails "description" command... : the command must exit non-zero
	d=$1; shift
	"$@" >"$TMP/out" 2>"$TMP/err"; rc=$?
	[ $rc -ne 0 ]; ok $? "$d"
	[ $rc -ne 0 ] || sed 's/^/# /' "$TMP/out" | head -10
}
no_file() { # no_file FILE "description"
	[ ! -e "$1" ]; ok $? "$2"
}
have() { command -v "$1" >/dev/null 2>&1; }

if ! have openssl || [ ! -x "$SIGNTOOL" ]; then
	skip "openssl or tests/signtool missing" "signatures"
	done_testing
	exit $?
fi
HAVE_XMLSEC=1; have xmlsec1 || HAVE_XMLSEC=
HAVE_P11=1
{ have softhsm2-util && have pkcs11-tool && [ -f "$MODULE" ]; } || HAVE_P11=

sign() { "$SIGNTOOL" sign --time $NOW "$@"; }
verify() { "$SIGNTOOL" verify --ca "$W/ca.pem" --time $NOW "$@"; }
xmlsec() {
	xmlsec1 --verify --trusted-pem "$W/ca.pem" --id-attr:Id DocumentData \
		--id-attr:Id "${XADES}:SignedProperties" --verification-time "$VT" "$@"
}

# both_ok FILE "what": signtool and xmlsec1 accept the file
both_ok() {
	run_ok "signtool verify: $2" verify "$1"
	if [ -n "$HAVE_XMLSEC" ]; then
		run_ok "xmlsec1 --verify: $2" xmlsec "$1"
	else
		skip "xmlsec1 missing" "xmlsec1 --verify: $2"
	fi
}
# both_fail FILE "what": both refuse it
both_fail() {
	fails "signtool verify refuses $2" verify "$1"
	if [ -n "$HAVE_XMLSEC" ]; then
		fails "xmlsec1 --verify refuses $2" xmlsec "$1"
	else
		skip "xmlsec1 missing" "xmlsec1 --verify refuses $2"
	fi
}

# --- tampering: one byte of the CSV (decoded, changed, encoded again), of the SigningTime, of
# the certificate ---
tamper_csv() { # IN OUT
	b64=$(sed -n 's|.*<DocumentData Id="DocumentData">\([^<]*\)</DocumentData>.*|\1|p' "$1")
	printf '%s' "$b64" | base64 -d > "$TMP/csv" || return 1
	sed '0,/1/s//2/' "$TMP/csv" > "$TMP/csv2"
	cmp -s "$TMP/csv" "$TMP/csv2" && return 1
	nb=$(base64 -w0 < "$TMP/csv2")
	sed "s|<DocumentData Id=\"DocumentData\">[^<]*</DocumentData>|<DocumentData Id=\"DocumentData\">$nb</DocumentData>|" "$1" > "$2"
	! cmp -s "$1" "$2"
}
tamper_time() {
	sed 's|T09:30:00+09:00</xades:SigningTime>|T09:31:00+09:00</xades:SigningTime>|' "$1" > "$2"
	! cmp -s "$1" "$2"
}
tamper_cert() { # one Base64 character in the middle of the certificate
	awk '{
		i = index($0, "<ds:X509Certificate>")
		if (i) {
			p = i + 20 + 300
			c = substr($0, p, 1)
			$0 = substr($0, 1, p - 1) (c == "A" ? "B" : "A") substr($0, p + 1)
		}
		print
	}' "$1" > "$2"
	! cmp -s "$1" "$2"
}
# check_tampering FILE "what"
check_tampering() {
	tamper_csv "$1" "$TMP/t-csv.xml"; ok $? "$2: one byte of the CSV changed"
	both_fail "$TMP/t-csv.xml" "the changed CSV ($2)"
	tamper_time "$1" "$TMP/t-time.xml"; ok $? "$2: the SigningTime changed"
	both_fail "$TMP/t-time.xml" "the changed SigningTime ($2)"
	tamper_cert "$1" "$TMP/t-cert.xml"; ok $? "$2: one character of the certificate changed"
	both_fail "$TMP/t-cert.xml" "the changed certificate ($2)"
}

# --- the PKI, made with the openssl command (fixed dates: valid on 2026-04-01) ---
mkdir -p "$W"
cat > "$W/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $W
database = $W/index.txt
new_certs_dir = $W
serial = $W/serial
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
preserve = yes
[ any ]
countryName = optional
organizationName = optional
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_doctor ]
basicConstraints = CA:false
keyUsage = critical,nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
: > "$W/index.txt"
echo 1000 > "$W/serial"
pki() {
	( cd "$W" || exit 1
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ca.key &&
	openssl req -new -key ca.key -subj "/C=JP/O=Test/CN=Test HPKI Root CA" -out ca.csr &&
	openssl ca -batch -config ca.cnf -selfsign -keyfile ca.key -in ca.csr -out ca.pem -notext \
		-startdate 20250101000000Z -enddate 20351231000000Z -extensions v3_ca &&
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out doctor.key &&
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key &&
	for c in doctor:doctor:20260101000000Z:20271231145959Z \
		 ec:ec:20260101000000Z:20271231145959Z \
		 expired:doctor:20240401000000Z:20250331145959Z \
		 revoked:doctor:20260101000000Z:20271231145959Z; do
		name=${c%%:*}; rest=${c#*:}; key=${rest%%:*}; rest=${rest#*:}; nb=${rest%%:*}; na=${rest#*:}
		openssl req -new -utf8 -key "$key.key" -subj "/C=JP/O=Test Clinic/CN=$DOCTOR" -out "$name.csr" &&
		openssl ca -batch -config ca.cnf -utf8 -cert ca.pem -keyfile ca.key -in "$name.csr" \
			-out "$name.pem" -notext -startdate "$nb" -enddate "$na" -extensions v3_doctor || exit 1
		openssl pkcs12 -export -inkey "$key.key" -in "$name.pem" -passout pass:p12-pass -out "$name.p12" || exit 1
		openssl x509 -in "$name.pem" -outform DER -out "$name.der" || exit 1
		openssl pkcs8 -topk8 -nocrypt -in "$key.key" -out "$key.p8" || exit 1
	done
	openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -revoke revoked.pem &&
	openssl ca -config ca.cnf -cert ca.pem -keyfile ca.key -gencrl -out crl.pem \
		-crl_lastupdate 20260315000000Z -crl_nextupdate 20270315000000Z
	) >"$TMP/pki.log" 2>&1
}
pki; ok $? "a CA and doctor certificates (RSA, EC, expired, revoked) made with openssl"
[ -f "$W/crl.pem" ] || sed 's/^/# /' "$TMP/pki.log" | tail -20
printf 'p12-pass\n' > "$TMP/p12pin"
printf '123456\n' > "$TMP/pin"
printf '000000\n' > "$TMP/badpin"

# the envelope: a minimal XmlMsg as the terminal interface describes it
CSV=$(printf '1,131016,0000012345,"試験 太郎",20260401,"試験 医師"\r\n' | base64 -w0)
cat > "$TMP/env.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<XmlMsg>
  <MessageHeader>
    <MedicalInstitutionCode>1312345678</MedicalInstitutionCode>
    <ArbitraryFileIdentifier>1312345678202604010930000001</ArbitraryFileIdentifier>
    <CreationDateTime>20260401093000</CreationDateTime>
    <DocumentClassification>1</DocumentClassification>
    <CharacterCodeIdentifier>0</CharacterCodeIdentifier>
  </MessageHeader>
  <MessageBody>
    <InsurerNumber>131016</InsurerNumber>
    <InsuredNumber>0000012345</InsuredNumber>
    <LayoutVersion>1.3</LayoutVersion>
    <DocumentData>$CSV</DocumentData>
  </MessageBody>
</XmlMsg>
EOF

# --- PKCS#12 ---
run_ok "signed with the PKCS#12 file" sign --pkcs12 "$W/doctor.p12" --pin-file "$TMP/p12pin" \
	--doctor "$DOCTOR" "$TMP/env.xml" "$TMP/p12.xml"
has "$TMP/out" "signer: .*CN=$DOCTOR" "the signer's subject is shown"
both_ok "$TMP/p12.xml" "PKCS#12 signature"
check_tampering "$TMP/p12.xml" "PKCS#12"
exit_is 1 "a wrong PKCS#12 password is refused" sign --pkcs12 "$W/doctor.p12" --pin-file "$TMP/badpin" \
	"$TMP/env.xml" "$TMP/o1.xml"
has "$TMP/err" "wrong password for the PKCS#12 file" "… said so"
no_file "$TMP/o1.xml" "… no file written"
exit_is 1 "a certificate of another name is refused" sign --pkcs12 "$W/doctor.p12" --pin-file "$TMP/p12pin" \
	--doctor "別人 花子" "$TMP/env.xml" "$TMP/o2.xml"
has "$TMP/err" "does not match the opinion's doctor (別人 花子)" "… said so"
no_file "$TMP/o2.xml" "… no file written"
exit_is 1 "an expired PKCS#12 certificate is refused" sign --pkcs12 "$W/expired.p12" --pin-file "$TMP/p12pin" \
	"$TMP/env.xml" "$TMP/o3.xml"
has "$TMP/err" "the certificate expired on 2025-03-31" "… 'the certificate expired on 2025-03-31'"
no_file "$TMP/o3.xml" "… no file written"

# --- the CRL ---
run_ok "signed with a certificate that is revoked later" sign --pkcs12 "$W/revoked.p12" \
	--pin-file "$TMP/p12pin" "$TMP/env.xml" "$TMP/revoked.xml"
run_ok "signtool verify without the CRL accepts it" verify "$TMP/revoked.xml"
exit_is 1 "signtool verify with the CRL refuses it" verify --crl "$W/crl.pem" "$TMP/revoked.xml"
has "$TMP/out" "revoked" "… certificate revoked"
run_ok "signtool verify with the CRL accepts the doctor's valid signature" verify --crl "$W/crl.pem" "$TMP/p12.xml"
# (Debian 12's xmlsec1 1.2.37 has no CRL option: revocation is checked by signtool only.)

# --- PKCS#11: a SoftHSM2 token in $TMP ---
if [ -z "$HAVE_P11" ]; then
	for d in "token made" "signed through PKCS#11" "PKCS#11 checks"; do
		skip "softhsm2-util, pkcs11-tool (opensc) or $MODULE missing" "$d"
	done
	done_testing
	exit $?
fi
mkdir -p "$TMP/tokens" "$TMP/notokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP/tokens" > "$TMP/softhsm2.conf"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$TMP/notokens" > "$TMP/empty.conf"
SOFTHSM2_CONF="$TMP/softhsm2.conf"; export SOFTHSM2_CONF
token() { # token LABEL KEYFILE(PKCS#8) CERT(DER) ID
	softhsm2-util --init-token --free --label "$1" --so-pin 87654321 --pin 123456 &&
	softhsm2-util --import "$2" --token "$1" --label doctor --id "$4" --pin 123456 &&
	pkcs11-tool --module "$MODULE" --token-label "$1" --login --pin 123456 \
		--write-object "$3" --type cert --id "$4" --label doctor
}
token iken-doctor "$W/doctor.p8" "$W/doctor.der" 01 >"$TMP/tok.log" 2>&1
ok $? "SoftHSM2 token with the doctor's RSA key and certificate"
[ $? -eq 0 ] || sed 's/^/# /' "$TMP/tok.log" | tail -10
token iken-ec "$W/ec.p8" "$W/ec.der" 02 >"$TMP/tok.log" 2>&1
ok $? "a second token with an EC (P-256) key and certificate"
token iken-expired "$W/doctor.p8" "$W/expired.der" 03 >"$TMP/tok.log" 2>&1
ok $? "a third token with an expired certificate"

run_ok "signed through PKCS#11 (RSA)" sign --pkcs11 "$MODULE" --token iken-doctor --pin-file "$TMP/pin" \
	--doctor "$DOCTOR" "$TMP/env.xml" "$TMP/p11.xml"
has "$TMP/out" "signer: .*CN=$DOCTOR" "the card's subject is shown"
same "$TMP/p11.xml" "$TMP/p12.xml" "the card's RSA signature equals the PKCS#12 one (same key, same time)"
both_ok "$TMP/p11.xml" "PKCS#11 RSA signature"
check_tampering "$TMP/p11.xml" "PKCS#11 RSA"

run_ok "signed through PKCS#11 (ECDSA)" sign --pkcs11 "$MODULE" --token iken-ec --pin-file "$TMP/pin" \
	--doctor "$DOCTOR" "$TMP/env.xml" "$TMP/ec.xml"
has "$TMP/ec.xml" "xmldsig-more#ecdsa-sha256" "… ecdsa-sha256"
both_ok "$TMP/ec.xml" "PKCS#11 ECDSA signature"
tamper_csv "$TMP/ec.xml" "$TMP/t-ec.xml"; ok $? "PKCS#11 ECDSA: one byte of the CSV changed"
both_fail "$TMP/t-ec.xml" "the changed CSV (PKCS#11 ECDSA)"

# --- what SoftHSM2 cannot play, through tests/p11shim.so (forwarding to it) ---
SHIM="$top_builddir/tests/p11shim.so"
if [ -f "$SHIM" ]; then
	IKEN_P11SHIM_MODULE=$MODULE; IKEN_P11SHIM_LOG="$TMP/shim.log"
	export IKEN_P11SHIM_MODULE IKEN_P11SHIM_LOG
	: > "$TMP/shim.log"
	run_ok "a card without CKM_SHA256_RSA_PKCS: signed" env IKEN_P11SHIM_FLAGS=nosha256 \
		"$SIGNTOOL" sign --time $NOW --pkcs11 "$SHIM" --token iken-doctor --pin-file "$TMP/pin" \
		"$TMP/env.xml" "$TMP/rsapkcs.xml"
	has "$TMP/shim.log" "C_SignInit mechanism 0x1$" "… with CKM_RSA_PKCS over a SHA-256 DigestInfo"
	same "$TMP/rsapkcs.xml" "$TMP/p12.xml" "… the same signature as the PKCS#12 key's"
	both_ok "$TMP/rsapkcs.xml" "CKM_RSA_PKCS signature"
	: > "$TMP/shim.log"
	run_ok "a key with CKA_ALWAYS_AUTHENTICATE: signed" env IKEN_P11SHIM_FLAGS=alwaysauth \
		"$SIGNTOOL" sign --time $NOW --pkcs11 "$SHIM" --token iken-doctor --pin-file "$TMP/pin" \
		"$TMP/env.xml" "$TMP/always.xml"
	has "$TMP/shim.log" "C_Login context-specific" "… after a context-specific login"
	same "$TMP/always.xml" "$TMP/p12.xml" "… the same signature"
	exit_is 1 "a locked PIN is refused" env IKEN_P11SHIM_FLAGS=locked \
		"$SIGNTOOL" sign --time $NOW --pkcs11 "$SHIM" --token iken-doctor --pin-file "$TMP/pin" \
		"$TMP/env.xml" "$TMP/o9.xml"
	has "$TMP/err" "the PIN is locked: ask the card's issuer to unlock it" "… 'the PIN is locked'"
	no_file "$TMP/o9.xml" "… no file written"
	LC_ALL=ja_JP.UTF-8 IKEN_P11SHIM_FLAGS=locked "$SIGNTOOL" sign --time $NOW --pkcs11 "$SHIM" \
		--pin-file "$TMP/pin" "$TMP/env.xml" "$TMP/o9.xml" >"$TMP/out" 2>"$TMP/err"
	has "$TMP/err" "PINがロックされています" "… in Japanese"
else
	skip "tests/p11shim.so not built" "cards that SoftHSM2 cannot play (CKM_RSA_PKCS, always-authenticate, locked PIN)"
fi

exit_is 1 "a wrong PIN is refused" sign --pkcs11 "$MODULE" --token iken-doctor --pin-file "$TMP/badpin" \
	"$TMP/env.xml" "$TMP/o4.xml"
has "$TMP/err" "wrong PIN" "… 'wrong PIN'"
no_file "$TMP/o4.xml" "… no file written"
exit_is 1 "an expired certificate on the card is refused" sign --pkcs11 "$MODULE" --token iken-expired \
	--pin-file "$TMP/pin" "$TMP/env.xml" "$TMP/o5.xml"
has "$TMP/err" "the certificate expired on 2025-03-31" "… 'the certificate expired on 2025-03-31'"
no_file "$TMP/o5.xml" "… no file written"
LC_ALL=ja_JP.UTF-8 sign --pkcs11 "$MODULE" --token iken-expired --pin-file "$TMP/pin" "$TMP/env.xml" \
	"$TMP/o5.xml" >"$TMP/out" 2>"$TMP/err"
has "$TMP/err" "証明書の有効期限が切れています (2025-03-31まで)" "… in Japanese"
exit_is 1 "a missing PKCS#11 module is refused" sign --pkcs11 "$TMP/no/such/module.so" --pin-file "$TMP/pin" \
	"$TMP/env.xml" "$TMP/o6.xml"
has "$TMP/err" "PKCS#11 module not found" "… 'PKCS#11 module not found'"
no_file "$TMP/o6.xml" "… no file written"
SOFTHSM2_CONF="$TMP/empty.conf" "$SIGNTOOL" sign --time $NOW --pkcs11 "$MODULE" --pin-file "$TMP/pin" \
	"$TMP/env.xml" "$TMP/o7.xml" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 1 ]; ok $? "no card in the reader is refused"
has "$TMP/err" "no HPKI card" "… 'no HPKI card: insert the card'"
no_file "$TMP/o7.xml" "… no file written"
exit_is 1 "an unknown token label is refused" sign --pkcs11 "$MODULE" --token nosuch --pin-file "$TMP/pin" \
	"$TMP/env.xml" "$TMP/o8.xml"
has "$TMP/err" "no card (token) nosuch" "… said so"

done_testing
