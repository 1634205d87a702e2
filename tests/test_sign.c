/* Electronic signatures: a test CA and doctor certificates made here with OpenSSL, PKCS#12
 * files, an opinion envelope (envelope_build of a generated record) signed, verified, parsed
 * back, and tampered with; certificate checks (validity, key usage, subject) and their
 * messages; CRLs; ECDSA; PIN files. The clock is fixed (2026-04-01 09:30 Asia/Tokyo).
 * tests/sign.sh covers PKCS#11 (SoftHSM2) and xmlsec1. */
#include "config.h"
#include "exchange/sign.h"
#include "exchange/envelope.h"
#include "errcode.h"
#include "model/form.h"
#include "genlib.h"
#include "model/record.h"
#include "util.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define CLINIC "1312345678"
#define FILE_ID "1312345678202604010930000001"
#define DOCTOR "試験 医師"
#define P12_PASS "p12-pass"

static char dir[512];
static time_t now;

static const char *forms_dir(void)
{
	const char *d = getenv("IKEN_FORMS");
	return d && *d ? d : SRCDIR "/forms";
}

static const char *path(const char *name)
{
	static char buf[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
	return buf[i];
}

/* --- test PKI --- */

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e) {
		fprintf(stderr, "test_sign: extension %s\n", value);
		exit(99);
	}
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for key, issued by issuer/ikey (NULL: self-signed), valid nb..na (UTC
 * YYYYMMDDHHMMSSZ), with key usage ku (NULL: none) and, for a CA, basicConstraints CA:true. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey, const char *nb,
		       const char *na, const char *ku, int ca, long serial)
{
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_NAME *nm = X509_NAME_new();
	X509_NAME_add_entry_by_txt(nm, "C", MBSTRING_UTF8, (const unsigned char *)"JP", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_UTF8, (const unsigned char *)"Test Clinic", -1, -1, 0);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, nm);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : nm);
	X509_NAME_free(nm);
	ASN1_TIME_set_string(X509_getm_notBefore(x), nb);
	ASN1_TIME_set_string(X509_getm_notAfter(x), na);
	X509_set_pubkey(x, key);
	add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
	if (ku)
		add_ext(x, issuer, NID_key_usage, ku);
	add_ext(x, issuer, NID_subject_key_identifier, "hash");
	if (!X509_sign(x, ikey ? ikey : key, EVP_sha256())) {
		fprintf(stderr, "test_sign: X509_sign\n");
		exit(99);
	}
	return x;
}

static void write_pem_cert(const char *name, X509 *x)
{
	FILE *fp = fopen(path(name), "w");
	PEM_write_X509(fp, x);
	fclose(fp);
}

static void write_p12(const char *name, EVP_PKEY *key, X509 *cert, const char *pass)
{
	PKCS12 *p12 = PKCS12_create(pass, "doctor", key, cert, NULL, 0, 0, 0, 0, 0);
	FILE *fp = fopen(path(name), "wb");
	i2d_PKCS12_fp(fp, p12);
	fclose(fp);
	PKCS12_free(p12);
}

/* A CRL of the CA revoking the given serial (0: none). */
static void write_crl(const char *name, X509 *ca, EVP_PKEY *cakey, long serial)
{
	X509_CRL *crl = X509_CRL_new();
	X509_CRL_set_version(crl, 1);
	X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca));
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_TIME_set_string(t, "20260301000000Z");
	X509_CRL_set1_lastUpdate(crl, t);
	ASN1_TIME_set_string(t, "20270301000000Z");
	X509_CRL_set1_nextUpdate(crl, t);
	if (serial) {
		X509_REVOKED *rv = X509_REVOKED_new();
		ASN1_INTEGER *s = ASN1_INTEGER_new();
		ASN1_INTEGER_set(s, serial);
		X509_REVOKED_set_serialNumber(rv, s);
		ASN1_TIME_set_string(t, "20260315000000Z");
		X509_REVOKED_set_revocationDate(rv, t);
		X509_CRL_add0_revoked(crl, rv);
		ASN1_INTEGER_free(s);
	}
	ASN1_TIME_free(t);
	X509_CRL_sort(crl);
	X509_CRL_sign(crl, cakey, EVP_sha256());
	FILE *fp = fopen(path(name), "w");
	PEM_write_X509_CRL(fp, crl);
	fclose(fp);
	X509_CRL_free(crl);
}

/* --- text surgery on signed files --- */

/* The text between open and close (first occurrence), as [*start, *end). */
static int span(const char *s, const char *open, const char *close, size_t *start, size_t *end)
{
	const char *a = strstr(s, open);
	if (!a)
		return -1;
	a += strlen(open);
	const char *b = strstr(a, close);
	if (!b)
		return -1;
	*start = (size_t)(a - s);
	*end = (size_t)(b - s);
	return 0;
}

static void splice(const struct sbuf *in, size_t start, size_t end, const char *with, size_t wlen,
		   struct sbuf *out)
{
	sbuf_reset(out);
	sbuf_add(out, in->s, start);
	sbuf_add(out, with, wlen);
	sbuf_add(out, in->s + end, in->len - end);
}

/* The CSV inside DocumentData decoded, one byte changed, encoded again. */
static int tamper_data(const struct sbuf *in, struct sbuf *out)
{
	size_t a, b;
	struct sbuf csv = { 0 }, enc = { 0 };
	int rc = -1;
	if (span(in->s, "<DocumentData Id=\"DocumentData\">", "</DocumentData>", &a, &b) ||
	    base64_decode(in->s + a, b - a, &csv) || csv.len < 2)
		goto cleanup;
	csv.s[csv.len / 2] ^= 0x01;
	base64_encode(csv.s, csv.len, &enc);
	splice(in, a, b, enc.s, enc.len, out);
	rc = 0;
cleanup:
	sbuf_free(&csv);
	sbuf_free(&enc);
	return rc;
}

/* One character of the text between open and close replaced (at offset at, or the middle). */
static int tamper_text(const struct sbuf *in, const char *open, const char *close, long at,
		       struct sbuf *out)
{
	size_t a, b;
	if (span(in->s, open, close, &a, &b) || b == a)
		return -1;
	size_t i = at >= 0 ? a + (size_t)at : a + (b - a) / 2;
	char c = in->s[i];
	char r = c == 'A' ? 'B' : c == '0' ? '1' : c == '1' ? '2' : 'A';
	splice(in, i, i + 1, &r, 1, out);
	return 0;
}

/* --- the tests --- */

static struct sbuf envelope;  /* the unsigned opinion envelope */
static struct sbuf csv_sent;  /* its DocumentData, decoded */
static struct formset *fs;
static struct terminal_conf *tc;

static void build_envelope(void)
{
	struct sbuf errs = { 0 }, tpath = { 0 };
	struct envelope_hdr h = { 0 };
	const struct form *f = NULL;
	struct record *r = NULL;
	struct gen g;

	sbuf_printf(&tpath, "%s/terminal.xml", forms_dir());
	int loaded = formset_load(forms_dir(), &fs, &errs) == 0 &&
		     terminal_conf_load(tpath.s, &tc, &errs) == 0 &&
		     (f = formset_get(fs, "ikensho")) != NULL;
	if (!ok(loaded, "forms and terminal.xml load")) {
		printf("# %s", errs.s ? errs.s : "");
		exit(done_testing());
	}
	gen_seed(&g, 11);
	r = gen_record(&g, fs, f, 5);
	rec_set(r, "doctor_name", DOCTOR);
	is_int(envelope_build(tc, f, r, CLINIC, FILE_ID, now, &envelope), 0, "envelope_build of a generated opinion");
	is_int(envelope_parse(tc, envelope.s, envelope.len, &h, &csv_sent, &errs), 0, "the unsigned envelope parses");
	envelope_hdr_clear(&h);
	rec_free(r);
	sbuf_free(&errs);
	sbuf_free(&tpath);
}

/* The text without its last newline, for a test's description. */
static const char *chomp(struct sbuf *b)
{
	if (b->len && b->s[b->len - 1] == '\n')
		b->s[--b->len] = '\0';
	return b->s ? b->s : "";
}

static int has(const struct sbuf *b, const char *s)
{
	return b->s && strstr(b->s, s) != NULL;
}

int main(void)
{
	struct sbuf err = { 0 }, subj = { 0 }, signed_xml = { 0 }, rep = { 0 }, t = { 0 }, csv = { 0 };
	struct sign_key *key = NULL, *eckey = NULL, *k2 = NULL;
	struct envelope_hdr h = { 0 };
	int rc;

	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	setenv("LC_ALL", "C.UTF-8", 1);
	unsetenv("LANGUAGE");
	setenv("IKEN_TEST_NOW", "20260401093000", 1);
	now = iken_now();
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/iken-sign.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 99;
	}

	/* the PKI: a root, the doctor (RSA and EC), an expired one, one not valid yet, one for
	 * encryption only, one of somebody else, and a stranger CA */
	EVP_PKEY *cakey = EVP_RSA_gen(2048), *dkey = EVP_RSA_gen(2048), *eck = EVP_EC_gen("P-256");
	EVP_PKEY *otherca_key = EVP_EC_gen("P-256");
	X509 *ca = make_cert(cakey, "Test HPKI Root CA", NULL, NULL, "20250101000000Z", "20351231000000Z",
			     "critical,keyCertSign,cRLSign", 1, 1);
	X509 *otherca = make_cert(otherca_key, "Other Root CA", NULL, NULL, "20250101000000Z",
				  "20351231000000Z", "critical,keyCertSign,cRLSign", 1, 1);
	X509 *doc = make_cert(dkey, DOCTOR, ca, cakey, "20260101000000Z", "20271231145959Z",
			      "critical,nonRepudiation", 0, 100);
	X509 *ecdoc = make_cert(eck, DOCTOR, ca, cakey, "20260101000000Z", "20271231145959Z",
				"critical,digitalSignature,nonRepudiation", 0, 101);
	X509 *expired = make_cert(dkey, DOCTOR, ca, cakey, "20240401000000Z", "20250331145959Z",
				  "critical,nonRepudiation", 0, 102);
	X509 *notyet = make_cert(dkey, DOCTOR, ca, cakey, "20260501000000Z", "20280430145959Z",
				 "critical,nonRepudiation", 0, 103);
	X509 *encrypt = make_cert(dkey, DOCTOR, ca, cakey, "20260101000000Z", "20271231145959Z",
				  "critical,keyEncipherment", 0, 104);
	X509 *other = make_cert(dkey, "別人 花子", ca, cakey, "20260101000000Z", "20271231145959Z",
				"critical,nonRepudiation", 0, 105);
	ok(ca && doc && ecdoc && expired && notyet && encrypt && other, "test CA and certificates made");
	write_pem_cert("ca.pem", ca);
	write_pem_cert("otherca.pem", otherca);
	write_p12("doctor.p12", dkey, doc, P12_PASS);
	write_p12("ec.p12", eck, ecdoc, P12_PASS);
	write_p12("expired.p12", dkey, expired, P12_PASS);
	write_crl("crl-empty.pem", ca, cakey, 0);
	write_crl("crl-revoked.pem", ca, cakey, 100);

	build_envelope();

	/* --- PKCS#12 --- */
	is_int(sign_key_pkcs12(path("doctor.p12"), P12_PASS, &key, &err), 0, "the doctor's PKCS#12 file loads");
	ok(key && X509_cmp(sign_key_cert(key), doc) == 0, "its certificate is the doctor's");
	sbuf_reset(&err);
	is_int(sign_key_pkcs12(path("doctor.p12"), "wrong", &k2, &err), SIGN_EPIN, "a wrong PKCS#12 password: SIGN_EPIN");
	ok(has(&err, "wrong password") && !k2, "… said as a wrong password, no key");
	is_int(sign_errclass(SIGN_EPIN), IKEN_EPERM, "SIGN_EPIN is a refusal (IKEN_EPERM)");
	sbuf_reset(&err);
	ok(sign_key_pkcs12(path("none.p12"), P12_PASS, &k2, &err) == -ENOENT && has(&err, "none.p12"),
	   "a missing PKCS#12 file: -ENOENT, named in the message");

	/* --- certificate checks --- */
	sbuf_reset(&err);
	is_int(sign_check_cert(doc, now, DOCTOR, &subj, &err), 0, "the doctor's certificate passes the checks");
	ok(has(&subj, "CN=" DOCTOR), "the subject is shown for confirmation: %s", subj.s);
	is_int(sign_check_cert(doc, now, "試験医師", NULL, &err), 0, "the name matches without its space");
	is_int(sign_check_cert(doc, now, "試験　医師", NULL, &err), 0, "and with a full-width space");
	sbuf_reset(&err);
	is_int(sign_check_cert(other, now, DOCTOR, &subj, &err), SIGN_ESUBJECT, "somebody else's certificate: SIGN_ESUBJECT");
	ok(has(&err, "does not match the opinion's doctor") && has(&err, "別人 花子"),
	   "… with both names in the message: %s", chomp(&err));
	sbuf_reset(&err);
	is_int(sign_check_cert(expired, now, DOCTOR, NULL, &err), SIGN_EEXPIRED, "an expired certificate: SIGN_EEXPIRED");
	is_str(err.s, "the certificate expired on 2025-03-31\n", "… 'the certificate expired on 2025-03-31'");
	sbuf_reset(&err);
	setenv("LC_ALL", "ja_JP.UTF-8", 1);
	sign_check_cert(expired, now, DOCTOR, NULL, &err);
	is_str(err.s, "証明書の有効期限が切れています (2025-03-31まで)\n", "… in Japanese");
	setenv("LC_ALL", "C.UTF-8", 1);
	sbuf_reset(&err);
	is_int(sign_check_cert(notyet, now, DOCTOR, NULL, &err), SIGN_ENOTYET, "a certificate not valid yet: SIGN_ENOTYET");
	is_str(err.s, "the certificate is not valid before 2026-05-01\n", "… with its first day");
	sbuf_reset(&err);
	is_int(sign_check_cert(encrypt, now, DOCTOR, NULL, &err), SIGN_EUSAGE, "key usage keyEncipherment only: SIGN_EUSAGE");
	ok(has(&err, "digitalSignature nor nonRepudiation"), "… explained: %s", chomp(&err));

	/* --- signing and verifying --- */
	sbuf_reset(&err);
	rc = sign_envelope(envelope.s, envelope.len, "DocumentData", key, now, &signed_xml, &err);
	is_int(rc, 0, "sign_envelope with the PKCS#12 key");
	if (rc)
		printf("# %s", err.s);
	ok(has(&signed_xml, "<DocumentData Id=\"DocumentData\">"), "DocumentData got its Id");
	ok(has(&signed_xml, "<xades:SigningTime>2026-04-01T09:30:00+09:00</xades:SigningTime>"),
	   "SigningTime is the time given, ISO 8601 with the offset");
	ok(has(&signed_xml, "xmldsig-more#rsa-sha256") && has(&signed_xml, "xml-exc-c14n#") &&
	   has(&signed_xml, "Type=\"http://uri.etsi.org/01903#SignedProperties\""),
	   "rsa-sha256, exclusive C14N, a reference to the SignedProperties");
	{
		const char *sig = strstr(signed_xml.s ? signed_xml.s : "", "<ds:Signature");
		const char *end = sig ? strstr(sig, "</ds:Signature>") : NULL;
		ok(sig && end && !memchr(sig, '\n', (size_t)(end - sig)) && !memchr(signed_xml.s, '\0', signed_xml.len),
		   "no line break inside the signature's values, no NUL anywhere");
		ok(end && strcmp(end, "</ds:Signature>\n</XmlMsg>\n") == 0, "the signature is the root's last child");
	}
	ok(strncmp(signed_xml.s ? signed_xml.s : "", envelope.s, (size_t)(strstr(envelope.s, "<DocumentData") - envelope.s)) == 0,
	   "the envelope before DocumentData is unchanged, byte for byte");

	sbuf_reset(&rep);
	rc = sign_verify(signed_xml.s, signed_xml.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
	is_int(rc, 0, "sign_verify: the signed envelope verifies against the CA");
	if (rc)
		printf("# %s", rep.s);
	ok(has(&rep, "ok: reference #DocumentData: digest matches") &&
	   has(&rep, "ok: reference #SignedProperties: digest matches") &&
	   has(&rep, "ok: signature value (rsa-sha256)") && has(&rep, "ok: certificate chain") &&
	   has(&rep, "ok: SigningCertificateV2") && has(&rep, "ok: <DocumentData> is strict Base64"),
	   "the report names each check");
	ok(envelope_parse(tc, signed_xml.s, signed_xml.len, &h, &csv, &err) == 0 && csv.len == csv_sent.len &&
	   memcmp(csv.s, csv_sent.s, csv.len) == 0, "envelope_parse reads the signed envelope: the same CSV");
	envelope_hdr_clear(&h);
	{
		struct sbuf again = { 0 };
		sign_envelope(envelope.s, envelope.len, "DocumentData", key, now, &again, &err);
		ok(again.len == signed_xml.len && memcmp(again.s, signed_xml.s, again.len) == 0,
		   "signing is deterministic (RSA PKCS#1 v1.5, fixed time)");
		sbuf_free(&again);
	}

	/* tampering */
	sbuf_reset(&rep);
	ok(tamper_data(&signed_xml, &t) == 0, "one byte of the CSV changed (decoded, changed, encoded)");
	rc = sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
	ok(rc == SIGN_EBADSIG && has(&rep, "FAILED: reference #DocumentData: digest mismatch"),
	   "… fails: the DocumentData digest");
	sbuf_reset(&rep);
	tamper_text(&signed_xml, "<xades:SigningTime>", "</xades:SigningTime>", 15, &t);
	ok(has(&t, "2026-04-01T09:31:00"), "SigningTime changed by one digit");
	rc = sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
	ok(rc == SIGN_EBADSIG && has(&rep, "FAILED: reference #SignedProperties: digest mismatch"),
	   "… fails: the SignedProperties digest");
	sbuf_reset(&rep);
	tamper_text(&signed_xml, "<ds:X509Certificate>", "</ds:X509Certificate>", -1, &t);
	rc = sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
	ok(rc == SIGN_EBADSIG, "one character of the certificate changed: fails");
	ok(has(&rep, "FAILED: SigningCertificateV2") || has(&rep, "FAILED: cannot read an X509Certificate"),
	   "… the certificate no longer matches the signed properties");
	sbuf_reset(&rep);
	tamper_text(&signed_xml, "<ds:SignatureValue>", "</ds:SignatureValue>", -1, &t);
	rc = sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
	ok(rc == SIGN_EBADSIG && has(&rep, "FAILED: the signature value does not verify"), "a changed SignatureValue fails");
	sbuf_reset(&rep);
	tamper_text(&signed_xml, "<ds:Reference URI=\"#DocumentData\"><ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms><ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue>",
		    "</ds:DigestValue>", 0, &t);
	rc = sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
	ok(rc == SIGN_EBADSIG, "a DigestValue changed in SignedInfo fails");
	{
		/* a second DocumentData (signature wrapping): the signed one is no longer the one read */
		size_t a, b;
		span(signed_xml.s, "<MessageBody>", "<", &a, &b);
		splice(&signed_xml, a, a, "<DocumentData>QUJD</DocumentData>", 33, &t);
		sbuf_reset(&rep);
		rc = sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
		ok(rc == SIGN_EBADSIG && has(&rep, "the only one in the file"),
		   "a second DocumentData added: fails (wrapping)");
	}
	{
		struct sbuf one = { 0 };
		sbuf_puts(&one, signed_xml.s);
		const char *p = strstr(one.s, "<ds:Signature");
		sbuf_reset(&rep);
		rc = sign_verify(one.s, (size_t)(p - one.s), "DocumentData", path("ca.pem"), NULL, now, &rep);
		ok(rc == IKEN_EXML, "a truncated file: IKEN_EXML");
		sbuf_reset(&rep);
		rc = sign_verify(envelope.s, envelope.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
		ok(rc == SIGN_ENOSIG && has(&rep, "no signature"), "an unsigned envelope: SIGN_ENOSIG");
		sbuf_free(&one);
	}

	/* the chain */
	sbuf_reset(&rep);
	rc = sign_verify(signed_xml.s, signed_xml.len, "DocumentData", NULL, NULL, now, &rep);
	ok(rc == SIGN_EUNTRUSTED && has(&rep, "no CA certificates given"), "no CA given: SIGN_EUNTRUSTED");
	sbuf_reset(&rep);
	rc = sign_verify(signed_xml.s, signed_xml.len, "DocumentData", path("otherca.pem"), NULL, now, &rep);
	ok(rc == SIGN_EUNTRUSTED && has(&rep, "FAILED: certificate chain"), "another CA: SIGN_EUNTRUSTED");
	sbuf_reset(&rep);
	rc = sign_verify(signed_xml.s, signed_xml.len, "DocumentData", path("ca.pem"), path("crl-empty.pem"), now, &rep);
	ok(rc == 0 && has(&rep, "CRL checked"), "a CRL that does not list the certificate: valid");
	sbuf_reset(&rep);
	rc = sign_verify(signed_xml.s, signed_xml.len, "DocumentData", path("ca.pem"), path("crl-revoked.pem"), now, &rep);
	ok(rc == SIGN_EUNTRUSTED && has(&rep, "revoked"), "a CRL revoking it: SIGN_EUNTRUSTED (%s)",
	   rc ? "revoked" : "not refused");
	sbuf_reset(&rep);
	rc = sign_verify(signed_xml.s, signed_xml.len, "DocumentData", path("ca.pem"), NULL, now + 2 * 365 * 86400L, &rep);
	ok(rc == SIGN_EUNTRUSTED && has(&rep, "expired"), "verified after the certificate expired: SIGN_EUNTRUSTED");

	/* refusals when signing */
	{
		struct sbuf out = { 0 };
		sbuf_reset(&err);
		is_int(sign_key_pkcs12(path("expired.p12"), P12_PASS, &k2, &err), 0, "the expired key loads");
		sbuf_reset(&err);
		rc = sign_envelope(envelope.s, envelope.len, "DocumentData", k2, now, &out, &err);
		ok(rc == SIGN_EEXPIRED && out.len == 0 && has(&err, "expired on 2025-03-31"),
		   "sign_envelope refuses an expired certificate, writes nothing");
		sign_key_free(k2);
		k2 = NULL;
		sbuf_reset(&err);
		rc = sign_envelope(signed_xml.s, signed_xml.len, "DocumentData", key, now, &out, &err);
		ok(rc == IKEN_EXML && has(&err, "already signed") && out.len == 0, "an envelope is signed once");
		sbuf_reset(&err);
		rc = sign_envelope(envelope.s, envelope.len, "NoSuchElement", key, now, &out, &err);
		ok(rc == IKEN_EXML && out.len == 0, "no data element: IKEN_EXML");
		/* DocumentData with a line break (a decoder that adds bytes would not notice) */
		size_t a, b;
		span(envelope.s, "<DocumentData>", "</DocumentData>", &a, &b);
		splice(&envelope, a + 4, a + 4, "\n", 1, &t);
		sbuf_reset(&err);
		rc = sign_envelope(t.s, t.len, "DocumentData", key, now, &out, &err);
		ok(rc == IKEN_EDATA && has(&err, "not strict Base64"), "DocumentData that is not strict Base64 is not signed");
		sbuf_reset(&err);
		rc = sign_envelope("<a><!DOCTYPE", 12, "DocumentData", key, now, &out, &err);
		ok(rc == IKEN_EXML && out.len == 0, "not XML: IKEN_EXML");
		sbuf_free(&out);
	}

	/* --- ECDSA --- */
	{
		struct sbuf out = { 0 };
		sbuf_reset(&err);
		is_int(sign_key_pkcs12(path("ec.p12"), P12_PASS, &eckey, &err), 0, "an EC (P-256) PKCS#12 key loads");
		rc = sign_envelope(envelope.s, envelope.len, "DocumentData", eckey, now, &out, &err);
		ok(rc == 0 && has(&out, "xmldsig-more#ecdsa-sha256"), "ECDSA signing: ecdsa-sha256");
		size_t a, b;
		struct sbuf raw = { 0 };
		ok(span(out.s ? out.s : "", "<ds:SignatureValue>", "</ds:SignatureValue>", &a, &b) == 0 &&
		   base64_decode(out.s + a, b - a, &raw) == 0 && raw.len == 64,
		   "the ECDSA SignatureValue is r||s, 64 bytes (not DER)");
		sbuf_reset(&rep);
		rc = sign_verify(out.s, out.len, "DocumentData", path("ca.pem"), NULL, now, &rep);
		is_int(rc, 0, "the ECDSA signature verifies");
		sbuf_reset(&rep);
		tamper_data(&out, &t);
		ok(sign_verify(t.s, t.len, "DocumentData", path("ca.pem"), NULL, now, &rep) == SIGN_EBADSIG,
		   "… and fails when the CSV is changed");
		sbuf_free(&raw);
		sbuf_free(&out);
	}

	/* --- PIN files --- */
	{
		char pin[SIGN_PIN_MAX];
		FILE *fp = fopen(path("pin"), "w");
		fputs("1234\r\nrest\n", fp);
		fclose(fp);
		ok(sign_read_pin(path("pin"), NULL, pin, sizeof(pin)) == 0 && strcmp(pin, "1234") == 0,
		   "a PIN file: the first line, without CR LF");
		fp = fopen(path("pin"), "w");
		fputs("123456789", fp);
		fclose(fp);
		is_int(sign_read_pin(path("pin"), NULL, pin, 5), IKEN_ELIMIT, "a PIN longer than the buffer: IKEN_ELIMIT");
		ok(pin[0] == '\0', "… and the buffer is wiped");
		is_int(sign_read_pin(path("nopin"), NULL, pin, sizeof(pin)), -ENOENT, "a missing PIN file: -ENOENT");
	}
	is_int(sign_errclass(SIGN_EBADSIG), IKEN_ECRYPTO, "SIGN_EBADSIG is IKEN_ECRYPTO for older callers");
	is_int(sign_errclass(IKEN_EDATA), IKEN_EDATA, "other codes are kept");

	sign_key_free(key);
	sign_key_free(eckey);
	X509_free(ca);
	X509_free(otherca);
	X509_free(doc);
	X509_free(ecdoc);
	X509_free(expired);
	X509_free(notyet);
	X509_free(encrypt);
	X509_free(other);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(dkey);
	EVP_PKEY_free(eck);
	EVP_PKEY_free(otherca_key);
	terminal_conf_free(tc);
	formset_free(fs);
	static const char *const files[] = { "ca.pem", "otherca.pem", "doctor.p12", "ec.p12", "expired.p12",
					     "crl-empty.pem", "crl-revoked.pem", "pin" };
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		unlink(path(files[i]));
	rmdir(dir);
	sbuf_free(&err);
	sbuf_free(&subj);
	sbuf_free(&signed_xml);
	sbuf_free(&rep);
	sbuf_free(&t);
	sbuf_free(&csv);
	sbuf_free(&envelope);
	sbuf_free(&csv_sent);
	return done_testing();
}
