/* Enveloped XML signatures (XMLDSig, XAdES-BES shaped) of request envelopes: keys from a PKCS#11
 * module (the HPKI card) or a PKCS#12 file, signing, verification, PIN entry.
 * libxml2 parses and canonicalizes (exclusive C14N 1.0 without comments); OpenSSL does every
 * digest, signature, certificate and Base64 operation. OpenSSL errors are translated in
 * ossl_fail(), PKCS#11 return values in p11_fail(). */
#include "config.h"
#include "exchange/sign.h"
#include "exchange/envelope.h"
#include "errcode.h"
#include "xmlsafe.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlIO.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/provider.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <p11-kit/pkcs11.h>

#define NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define NS_XADES "http://uri.etsi.org/01903/v1.3.2#"
#define ALG_EXC_C14N "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ALG_RSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
#define ALG_ECDSA_SHA256 "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
#define ALG_SHA256 "http://www.w3.org/2001/04/xmlenc#sha256"
#define TYPE_SIGNED_PROPS "http://uri.etsi.org/01903#SignedProperties"
#define ID_SIGNATURE "Signature"
#define ID_SIGNED_PROPS "SignedProperties"

#define X(s) ((const xmlChar *)(s))
#define SX(s) ((const char *)(s))
/* The message in the user's language: both are format strings checked by the compiler. */
#define L(ja, en) (iken_lang_ja() ? (ja) : (en))

enum { SHA256_LEN = 32 };

/* --- error codes --- */

int sign_errclass(int rc)
{
	switch (rc) {
	case SIGN_EPIN: case SIGN_ELOCKED: case SIGN_EEXPIRED: case SIGN_ENOTYET: case SIGN_EUSAGE:
	case SIGN_ESUBJECT:
		return IKEN_EPERM;
	default:
		return rc >= SIGN_EMODULE && rc < SIGN__LAST ? IKEN_ECRYPTO : rc;
	}
}

const char *sign_strerror(int rc)
{
	switch (rc) {
	case SIGN_EMODULE: return L("PKCS#11モジュールを読み込めません", "the PKCS#11 module cannot be loaded");
	case SIGN_ETOKEN: return L("HPKIカードがありません", "no HPKI card present");
	case SIGN_EPIN: return L("PINが違います", "wrong PIN");
	case SIGN_ELOCKED: return L("PINがロックされています", "the PIN is locked");
	case SIGN_ENOKEY: return L("署名用の鍵と証明書がありません", "no signing key with its certificate");
	case SIGN_EDEVICE: return L("カードまたはモジュールのエラーです", "card or module failure");
	case SIGN_EEXPIRED: return L("証明書の有効期限が切れています", "the certificate has expired");
	case SIGN_ENOTYET: return L("証明書はまだ有効ではありません", "the certificate is not valid yet");
	case SIGN_EUSAGE: return L("この証明書は署名に使えません", "the certificate may not be used for signing");
	case SIGN_ESUBJECT: return L("証明書の名義が医師と一致しません", "the certificate is not the doctor's");
	case SIGN_ENOSIG: return L("署名がありません", "no signature");
	case SIGN_EBADSIG: return L("署名が正しくありません", "the signature does not verify");
	case SIGN_EUNTRUSTED: return L("証明書を信頼できません", "the certificate is not trusted");
	case SIGN_ECANCEL: return L("PINの入力が中断されました", "PIN entry interrupted");
	}
	return iken_strerror(rc);
}

/* The one place OpenSSL errors become messages: "what: reason" appended to err; the error queue
 * is emptied. Returns IKEN_ECRYPTO. */
static int ossl_fail(struct sbuf *err, const char *what)
{
	unsigned long e, last = 0;
	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last) {
		char buf[256];
		ERR_error_string_n(last, buf, sizeof(buf));
		sbuf_printf(err, "%s: %s\n", what, buf);
	} else {
		sbuf_printf(err, "%s\n", what);
	}
	return IKEN_ECRYPTO;
}

/* --- Base64: envelope.h's strict codec --- */

/* base64_decode() of an xs:base64Binary ds: value, where XML whitespace may stand between the
 * characters (never in the document data, which is decoded as it is). */
static int b64_decode_xml(const char *s, size_t len, struct sbuf *out)
{
	struct sbuf clean = { 0 };
	sbuf_add(&clean, "", 0);
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			sbuf_putc(&clean, s[i]);
	int rc = base64_decode(clean.s, clean.len, out);
	sbuf_free(&clean);
	return rc;
}

/* --- time --- */

static int asn1_to_time(const ASN1_TIME *a, time_t *out)
{
	struct tm tm;
	if (!a || !ASN1_TIME_to_tm(a, &tm))
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* Local date YYYY-MM-DD of an ASN.1 time. */
static void asn1_date(const ASN1_TIME *a, char out[11])
{
	time_t t;
	struct tm tm;
	strcpy(out, "?");
	if (asn1_to_time(a, &t) == 0 && localtime_r(&t, &tm))
		strftime(out, 11, "%Y-%m-%d", &tm);
}

/* xs:dateTime in local time with its offset: 2026-04-01T09:30:00+09:00. */
static void iso_time(time_t t, char out[32])
{
	struct tm tm;
	char base[24];
	localtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	int hh = (int)(off / 3600 % 24), mm = (int)(off / 60 % 60);
	if (off == 0)
		snprintf(out, 32, "%sZ", base);
	else
		snprintf(out, 32, "%s%c%02d:%02d", base, sign, hh, mm);
}

/* Parses an xs:dateTime with a zone (Z or ±hh:mm; fractions of seconds ignored). */
static int parse_iso_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int n = 0;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
		   &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	s += n;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	long off = 0;
	if (*s == 'Z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int hh, mm, k = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &hh, &mm, &k) != 2 || k != 5 || hh > 14 || mm > 59)
			return -1;
		off = (hh * 3600L + mm * 60L) * (*s == '-' ? -1 : 1);
		s += 6;
	} else {
		return -1;
	}
	if (*s || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm) - off;
	return 0;
}

/* --- keys --- */

struct p11 {
	void *dl;
	CK_FUNCTION_LIST *f;
	int finalize;            /* this key initialized the module */
	CK_SESSION_HANDLE sess;
	int have_sess, logged_in;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM_TYPE mech;  /* CKM_SHA256_RSA_PKCS, CKM_RSA_PKCS or CKM_ECDSA */
	int always_auth;         /* CKA_ALWAYS_AUTHENTICATE: the PIN again for every signature */
	unsigned char *pin;      /* only then; wiped in sign_key_free() */
	size_t pinlen;
};

struct sign_key {
	X509 *cert;
	EVP_PKEY *pkey;          /* PKCS#12 */
	struct p11 *p11;         /* PKCS#11 */
	int ec;                  /* ECDSA key, else RSA */
	size_t ec_half;          /* bytes of r (and of s) in an r||s signature */
};

X509 *sign_key_cert(const struct sign_key *k)
{
	return k ? k->cert : NULL;
}

static void p11_close(struct p11 *p)
{
	if (!p)
		return;
	if (p->f) {
		if (p->logged_in)
			p->f->C_Logout(p->sess);
		if (p->have_sess)
			p->f->C_CloseSession(p->sess);
		if (p->finalize)
			p->f->C_Finalize(NULL);
	}
	if (p->pin) {
		OPENSSL_cleanse(p->pin, p->pinlen);
		free(p->pin);
	}
	if (p->dl)
		dlclose(p->dl);
	free(p);
}

void sign_key_free(struct sign_key *k)
{
	if (!k)
		return;
	X509_free(k->cert);
	EVP_PKEY_free(k->pkey);
	p11_close(k->p11);
	free(k);
}

/* The key type from the certificate: RSA or EC (and the size of r and s). */
static int key_type_from_cert(struct sign_key *k, struct sbuf *err)
{
	EVP_PKEY *pub = X509_get0_pubkey(k->cert);
	if (pub && EVP_PKEY_is_a(pub, "RSA")) {
		k->ec = 0;
		return 0;
	}
	if (pub && EVP_PKEY_is_a(pub, "EC")) {
		k->ec = 1;
		k->ec_half = ((size_t)EVP_PKEY_get_bits(pub) + 7) / 8;
		return 0;
	}
	sbuf_puts(err, L("証明書の鍵の種類に対応していません (RSAまたはECのみ)\n",
			 "the certificate's key type is not supported (RSA or EC only)\n"));
	return SIGN_ENOKEY;
}

int sign_key_pkcs12(const char *path, const char *pin, struct sign_key **out, struct sbuf *err)
{
	struct sbuf dummy = { 0 };
	char *data = NULL;
	size_t len = 0;
	BIO *bio = NULL;
	PKCS12 *p12 = NULL;
	EVP_PKEY *pkey = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	int rc;

	if (!err)
		err = &dummy;
	*out = NULL;
	rc = read_file(path, 1024 * 1024, &data, &len);
	if (rc) {
		sbuf_printf(err, L("PKCS#12ファイルを読めません: %s (%s)\n",
				   "cannot read the PKCS#12 file %s: %s\n"), path, iken_strerror(rc));
		goto cleanup;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	p12 = bio ? d2i_PKCS12_bio(bio, NULL) : NULL;
	if (!p12) {
		rc = ossl_fail(err, L("PKCS#12ファイルではありません", "not a PKCS#12 file"));
		goto cleanup;
	}
	if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, pin, -1) &&
	    !(pin && !*pin && PKCS12_verify_mac(p12, NULL, 0))) {
		ERR_clear_error();
		sbuf_printf(err, L("PKCS#12ファイルのパスワードが違います: %s\n",
				   "wrong password for the PKCS#12 file %s\n"), path);
		rc = SIGN_EPIN;
		goto cleanup;
	}
	if (!PKCS12_parse(p12, pin, &pkey, &cert, &ca)) {
		/* Older files use RC2 or 3DES-40, in OpenSSL 3's legacy provider. */
		ERR_clear_error();
		if (!OSSL_PROVIDER_try_load(NULL, "legacy", 1) || !PKCS12_parse(p12, pin, &pkey, &cert, &ca)) {
			rc = ossl_fail(err, L("PKCS#12ファイルを読めません", "cannot decode the PKCS#12 file"));
			goto cleanup;
		}
	}
	if (!pkey || !cert) {
		sbuf_printf(err, L("PKCS#12ファイルに鍵と証明書の組がありません: %s\n",
				   "the PKCS#12 file %s holds no key with its certificate\n"), path);
		rc = SIGN_ENOKEY;
		goto cleanup;
	}
	if (!X509_check_private_key(cert, pkey)) {
		ERR_clear_error();
		sbuf_printf(err, L("PKCS#12ファイルの鍵が証明書と一致しません: %s\n",
				   "the key in %s does not match its certificate\n"), path);
		rc = SIGN_ENOKEY;
		goto cleanup;
	}
	struct sign_key *k = xcalloc(1, sizeof(*k));
	k->cert = cert;
	k->pkey = pkey;
	cert = NULL;
	pkey = NULL;
	rc = key_type_from_cert(k, err);
	if (rc) {
		sign_key_free(k);
		goto cleanup;
	}
	*out = k;
cleanup:
	sk_X509_pop_free(ca, X509_free);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	PKCS12_free(p12);
	BIO_free(bio);
	if (data) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	sbuf_free(&dummy);
	return rc;
}

/* --- PKCS#11 --- */

static const char *ckr_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
		{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
		{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
		{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
		{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
		{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
		{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
		{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
		{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
		{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
		{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
		{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
		{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
		{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
		{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
		{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
		{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
		{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
		{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
		{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].rv == rv)
			return names[i].name;
	return "CKR_?";
}

/* The one place PKCS#11 return values become messages and codes. what: the function. */
static int p11_fail(CK_RV rv, const char *what, struct sbuf *err)
{
	switch (rv) {
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		sbuf_puts(err, L("PINが違います\n", "wrong PIN\n"));
		return SIGN_EPIN;
	case CKR_PIN_EXPIRED:
		sbuf_puts(err, L("PINの有効期限が切れています。カードのツールでPINを変更してください\n",
				 "the PIN has expired: change it with the card's own tool\n"));
		return SIGN_EPIN;
	case CKR_PIN_LOCKED:
		sbuf_puts(err, L("PINがロックされています。カードの発行元にロック解除を依頼してください\n",
				 "the PIN is locked: ask the card's issuer to unlock it\n"));
		return SIGN_ELOCKED;
	case CKR_USER_PIN_NOT_INITIALIZED:
		sbuf_puts(err, L("カードのPINが設定されていません\n", "the card has no PIN set\n"));
		return SIGN_ELOCKED;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_SLOT_ID_INVALID:
		sbuf_printf(err, L("HPKIカードが見つかりません。カードリーダーにカードを挿入してください (%s)\n",
				   "no HPKI card: insert the card into the reader (%s)\n"), ckr_name(rv));
		return SIGN_ETOKEN;
	default:
		sbuf_printf(err, L("HPKIカードの操作に失敗しました: %s: %s (0x%lx)\n",
				   "the card or its module failed: %s: %s (0x%lx)\n"),
			    what, ckr_name(rv), (unsigned long)rv);
		return SIGN_EDEVICE;
	}
}

/* A fixed-size, blank-padded PKCS#11 string as a C string. */
static void p11_str(const CK_UTF8CHAR *s, size_t n, char *out)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
		n--;
	memcpy(out, s, n);
	out[n] = '\0';
}

static CK_RV p11_attr(struct p11 *p, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, struct sbuf *val)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	sbuf_reset(val);
	CK_RV rv = p->f->C_GetAttributeValue(p->sess, o, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == (CK_ULONG)-1)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	unsigned char *buf = xcalloc(1, (size_t)a.ulValueLen + 1);
	a.pValue = buf;
	rv = p->f->C_GetAttributeValue(p->sess, o, &a, 1);
	if (rv == CKR_OK)
		sbuf_add(val, buf, (size_t)a.ulValueLen);
	free(buf);
	return rv;
}

static CK_RV p11_find(struct p11 *p, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *objs,
		      CK_ULONG max, CK_ULONG *count)
{
	*count = 0;
	CK_RV rv = p->f->C_FindObjectsInit(p->sess, tmpl, n);
	if (rv != CKR_OK)
		return rv;
	rv = p->f->C_FindObjects(p->sess, objs, max, count);
	p->f->C_FindObjectsFinal(p->sess);
	return rv;
}

/* How well a certificate suits signing: 2 nonRepudiation, 1 digitalSignature (or no key usage
 * extension), 0 neither or a CA certificate. */
static int cert_score(X509 *x)
{
	if (X509_check_ca(x) > 0)
		return 0;
	uint32_t ku = X509_get_key_usage(x);
	if (ku == UINT32_MAX)
		return 1;
	if (ku & KU_NON_REPUDIATION)
		return 2;
	return ku & KU_DIGITAL_SIGNATURE ? 1 : 0;
}

struct p11_cert {
	X509 *x;
	struct sbuf id;
	int score;
};

/* The certificates of the open session with a score above 0, best first. */
static CK_RV p11_certs(struct p11 *p, struct p11_cert *out, size_t max, size_t *n)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype) },
	};
	CK_OBJECT_HANDLE objs[64];
	CK_ULONG count;
	struct sbuf val = { 0 };
	*n = 0;
	CK_RV rv = p11_find(p, tmpl, ARRAY_SIZE(tmpl), objs, ARRAY_SIZE(objs), &count);
	for (CK_ULONG i = 0; rv == CKR_OK && i < count && *n < max; i++) {
		if (p11_attr(p, objs[i], CKA_VALUE, &val) != CKR_OK)
			continue;
		const unsigned char *q = (const unsigned char *)val.s;
		X509 *x = d2i_X509(NULL, &q, (long)val.len);
		if (!x || q != (const unsigned char *)val.s + val.len) {
			X509_free(x);
			ERR_clear_error();
			continue;
		}
		int score = cert_score(x);
		if (score == 0 || p11_attr(p, objs[i], CKA_ID, &val) != CKR_OK) {
			X509_free(x);
			continue;
		}
		/* insertion by score, stable */
		size_t j = *n;
		while (j > 0 && out[j - 1].score < score) {
			out[j] = out[j - 1];
			j--;
		}
		out[j].x = x;
		out[j].id = (struct sbuf){ 0 };
		sbuf_add(&out[j].id, val.s, val.len);
		out[j].score = score;
		(*n)++;
	}
	sbuf_free(&val);
	return rv;
}

static void p11_certs_free(struct p11_cert *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		X509_free(c[i].x);
		sbuf_free(&c[i].id);
	}
}

static CK_RV p11_open(struct p11 *p, CK_SLOT_ID slot)
{
	if (p->have_sess) {
		p->f->C_CloseSession(p->sess);
		p->have_sess = 0;
	}
	CK_RV rv = p->f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &p->sess);
	if (rv == CKR_OK)
		p->have_sess = 1;
	return rv;
}

static int has_mech(struct p11 *p, CK_SLOT_ID slot, CK_MECHANISM_TYPE m)
{
	CK_MECHANISM_INFO info;
	return p->f->C_GetMechanismInfo(slot, m, &info) == CKR_OK && (info.flags & CKF_SIGN);
}

/* Login; on a wrong PIN tells how many tries are left when the token says. */
static int p11_login(struct p11 *p, CK_SLOT_ID slot, const char *pin, struct sbuf *err)
{
	CK_TOKEN_INFO ti;
	unsigned char buf[SIGN_PIN_MAX];
	size_t len = pin ? strlen(pin) : 0;
	CK_RV rv = p->f->C_GetTokenInfo(slot, &ti);
	if (rv != CKR_OK)
		return p11_fail(rv, "C_GetTokenInfo", err);
	if (ti.flags & CKF_USER_PIN_LOCKED)
		return p11_fail(CKR_PIN_LOCKED, "C_Login", err);
	if (!pin && !(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH)) {
		sbuf_puts(err, L("PINが必要です\n", "a PIN is needed\n"));
		return SIGN_EPIN;
	}
	if (len >= sizeof(buf))
		return p11_fail(CKR_PIN_LEN_RANGE, "C_Login", err);
	if (pin)
		memcpy(buf, pin, len);
	rv = p->f->C_Login(p->sess, CKU_USER, pin ? buf : NULL, (CK_ULONG)len);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
		p->logged_in = rv == CKR_OK;
		return 0;
	}
	int rc = p11_fail(rv, "C_Login", err);
	if (rc == SIGN_EPIN && p->f->C_GetTokenInfo(slot, &ti) == CKR_OK) {
		if (ti.flags & CKF_USER_PIN_LOCKED)
			return p11_fail(CKR_PIN_LOCKED, "C_Login", err);
		if (ti.flags & CKF_USER_PIN_FINAL_TRY)
			sbuf_puts(err, L("次にPINを間違えるとカードがロックされます\n",
					 "one more wrong PIN locks the card\n"));
		else if (ti.flags & CKF_USER_PIN_COUNT_LOW)
			sbuf_puts(err, L("PINの残り試行回数が少なくなっています\n",
					 "only a few PIN tries are left\n"));
	}
	return rc;
}

/* Chooses the slot: token "slot:N", a label, or (NULL) the token with the best signing
 * certificate. Certificates are public objects: no PIN is spent on a token that has none. */
static int p11_choose(struct p11 *p, const char *token, CK_SLOT_ID *slot_out, struct sbuf *err)
{
	CK_ULONG nslots = 0;
	CK_SLOT_ID *slots = NULL;
	struct p11_cert certs[16];
	size_t ncerts = 0;
	int best = -1, initialized = 0, rc = 0;
	char label[33];

	CK_RV rv = p->f->C_GetSlotList(CK_TRUE, NULL, &nslots);
	if (rv == CKR_OK && nslots) {
		slots = xcalloc(nslots, sizeof(*slots));
		rv = p->f->C_GetSlotList(CK_TRUE, slots, &nslots);
	}
	if (rv != CKR_OK) {
		rc = p11_fail(rv, "C_GetSlotList", err);
		goto cleanup;
	}
	unsigned long want_slot = 0;
	int by_slot = token && strncmp(token, "slot:", 5) == 0;
	if (by_slot) {
		uint64_t v;
		if (parse_u64(token + 5, &v)) {
			sbuf_printf(err, L("スロット番号ではありません: %s\n", "not a slot number: %s\n"), token);
			rc = SIGN_ETOKEN;
			goto cleanup;
		}
		want_slot = (unsigned long)v;
	}
	for (CK_ULONG i = 0; i < nslots; i++) {
		CK_TOKEN_INFO ti;
		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		initialized++;
		p11_str(ti.label, sizeof(ti.label), label);
		if (by_slot ? slots[i] != want_slot : token && strcmp(label, token) != 0)
			continue;
		if (p11_open(p, slots[i]) != CKR_OK)
			continue;
		p11_certs(p, certs, ARRAY_SIZE(certs), &ncerts);
		int score = ncerts ? certs[0].score : 0;
		p11_certs_free(certs, ncerts);
		if (token || score > best) {
			best = score;
			*slot_out = slots[i];
			if (token)
				break;
		}
	}
	if (best < 0) {
		if (token && initialized)
			sbuf_printf(err, L("カード (トークン) %s が見つかりません\n", "no card (token) %s\n"), token);
		else
			sbuf_puts(err, L("HPKIカードが見つかりません。カードリーダーにカードを挿入してください\n",
					 "no HPKI card: insert the card into the reader\n"));
		rc = SIGN_ETOKEN;
	} else if (best == 0) {
		sbuf_puts(err, L("カードに署名用の証明書がありません\n",
				 "the card holds no certificate for signing\n"));
		rc = SIGN_ENOKEY;
	}
cleanup:
	free(slots);
	return rc;
}

/* After login: the private key of the best certificate that has one. */
static int p11_pick_key(struct p11 *p, CK_SLOT_ID slot, struct sign_key *k, struct sbuf *err)
{
	struct p11_cert certs[16];
	size_t ncerts = 0;
	struct sbuf val = { 0 };
	int rc = SIGN_ENOKEY;
	CK_RV rv = p11_certs(p, certs, ARRAY_SIZE(certs), &ncerts);
	if (rv != CKR_OK) {
		rc = p11_fail(rv, "C_FindObjects", err);
		goto cleanup;
	}
	for (size_t i = 0; i < ncerts && !k->cert; i++) {
		CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE tmpl[] = {
			{ CKA_CLASS, &cls, sizeof(cls) },
			{ CKA_SIGN, &yes, sizeof(yes) },
			{ CKA_ID, certs[i].id.s, certs[i].id.len },
		};
		CK_OBJECT_HANDLE obj;
		CK_ULONG count;
		rv = p11_find(p, tmpl, ARRAY_SIZE(tmpl), &obj, 1, &count);
		if (rv != CKR_OK) {
			rc = p11_fail(rv, "C_FindObjects", err);
			goto cleanup;
		}
		if (count == 0)
			continue;
		k->cert = certs[i].x;
		certs[i].x = NULL;
		p->key = obj;
		if (p11_attr(p, obj, CKA_ALWAYS_AUTHENTICATE, &val) == CKR_OK && val.len == 1 && val.s[0])
			p->always_auth = 1;
	}
	if (!k->cert) {
		sbuf_puts(err, L("カードに署名用の鍵と証明書の組がありません\n",
				 "the card holds no signing key with its certificate\n"));
		goto cleanup;
	}
	rc = key_type_from_cert(k, err);
	if (rc)
		goto cleanup;
	CK_KEY_TYPE kt = 0;
	if (p11_attr(p, p->key, CKA_KEY_TYPE, &val) == CKR_OK && val.len == sizeof(kt))
		memcpy(&kt, val.s, sizeof(kt));
	if ((k->ec && kt != CKK_EC) || (!k->ec && kt != CKK_RSA)) {
		sbuf_puts(err, L("カードの鍵の種類が証明書と一致しません\n",
				 "the card's key type does not match its certificate\n"));
		rc = SIGN_ENOKEY;
		goto cleanup;
	}
	if (k->ec)
		p->mech = CKM_ECDSA;
	else
		p->mech = has_mech(p, slot, CKM_SHA256_RSA_PKCS) ? CKM_SHA256_RSA_PKCS : CKM_RSA_PKCS;
	if (!has_mech(p, slot, p->mech)) {
		sbuf_puts(err, L("カードがRSA-SHA256またはECDSAの署名に対応していません\n",
				 "the card supports neither RSA-SHA256 nor ECDSA signing\n"));
		rc = SIGN_EDEVICE;
		goto cleanup;
	}
	rc = 0;
cleanup:
	p11_certs_free(certs, ncerts);
	sbuf_free(&val);
	return rc;
}

int sign_key_pkcs11(const char *module, const char *pin, const char *token, struct sign_key **out,
		    struct sbuf *err)
{
	struct sbuf dummy = { 0 };
	struct sign_key *k = xcalloc(1, sizeof(*k));
	struct p11 *p = k->p11 = xcalloc(1, sizeof(*p));
	CK_SLOT_ID slot = 0;
	int rc;

	if (!err)
		err = &dummy;
	*out = NULL;
	if (!module || !*module || (strchr(module, '/') && access(module, F_OK) != 0)) {
		sbuf_printf(err, L("PKCS#11モジュールが見つかりません: %s (HPKIカードのソフトウェアを確認してください)\n",
				   "PKCS#11 module not found: %s (check the HPKI card's software)\n"),
			    module ? module : "");
		rc = SIGN_EMODULE;
		goto cleanup;
	}
	p->dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		const char *why = dlerror();
		sbuf_printf(err, L("PKCS#11モジュールを読み込めません: %s (%s)\n",
				   "cannot load the PKCS#11 module %s: %s\n"), module, why ? why : "?");
		rc = SIGN_EMODULE;
		goto cleanup;
	}
	CK_C_GetFunctionList get_list = (CK_C_GetFunctionList)dlsym(p->dl, "C_GetFunctionList");
	if (!get_list || get_list(&p->f) != CKR_OK || !p->f) {
		p->f = NULL;
		sbuf_printf(err, L("PKCS#11モジュールではありません: %s\n", "not a PKCS#11 module: %s\n"), module);
		rc = SIGN_EMODULE;
		goto cleanup;
	}
	CK_C_INITIALIZE_ARGS args = { 0 };
	args.flags = CKF_OS_LOCKING_OK;
	CK_RV rv = p->f->C_Initialize(&args);
	if (rv == CKR_OK) {
		p->finalize = 1;
	} else if (rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		rc = p11_fail(rv, "C_Initialize", err);
		goto cleanup;
	}
	rc = p11_choose(p, token, &slot, err);
	if (rc)
		goto cleanup;
	rv = p11_open(p, slot);
	if (rv != CKR_OK) {
		rc = p11_fail(rv, "C_OpenSession", err);
		goto cleanup;
	}
	rc = p11_login(p, slot, pin, err);
	if (rc)
		goto cleanup;
	rc = p11_pick_key(p, slot, k, err);
	if (rc)
		goto cleanup;
	if (p->always_auth && pin) {
		/* The card asks for the PIN again at each signature: kept in memory, wiped at free. */
		p->pinlen = strlen(pin);
		p->pin = xmalloc(p->pinlen + 1);
		memcpy(p->pin, pin, p->pinlen + 1);
	}
	*out = k;
	k = NULL;
cleanup:
	sign_key_free(k);
	sbuf_free(&dummy);
	return rc;
}

/* --- signing --- */

/* DER ECDSA-Sig-Value → r||s, each half bytes (XMLDSig's form, RFC 4051). */
static int ecdsa_der_to_raw(const unsigned char *der, size_t len, size_t half, struct sbuf *out)
{
	const unsigned char *q = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &q, (long)len);
	int rc = IKEN_ECRYPTO;
	if (!s || half == 0 || half > 66)
		goto cleanup;
	unsigned char buf[2 * 66];
	const BIGNUM *r, *sv;
	ECDSA_SIG_get0(s, &r, &sv);
	if (BN_bn2binpad(r, buf, (int)half) < 0 || BN_bn2binpad(sv, buf + half, (int)half) < 0)
		goto cleanup;
	sbuf_add(out, buf, 2 * half);
	rc = 0;
cleanup:
	ECDSA_SIG_free(s);
	return rc;
}

/* r||s → DER, for OpenSSL's verifier. */
static int ecdsa_raw_to_der(const unsigned char *raw, size_t len, struct sbuf *out)
{
	if (len == 0 || len % 2 || len > 2 * 66)
		return IKEN_ECRYPTO;
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
	BIGNUM *sv = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	int rc = IKEN_ECRYPTO;
	if (!s || !r || !sv || !ECDSA_SIG_set0(s, r, sv)) {
		BN_free(r);
		BN_free(sv);
		goto cleanup;
	}
	unsigned char *der = NULL;
	int n = i2d_ECDSA_SIG(s, &der);
	if (n > 0) {
		sbuf_add(out, der, (size_t)n);
		rc = 0;
	}
	OPENSSL_free(der);
cleanup:
	ECDSA_SIG_free(s);
	return rc;
}

/* DigestInfo of a SHA-256 digest (for a card that only does CKM_RSA_PKCS). */
static int digest_info(const unsigned char *md, struct sbuf *out)
{
	X509_SIG *xs = X509_SIG_new();
	X509_ALGOR *alg;
	ASN1_OCTET_STRING *dg;
	unsigned char *der = NULL;
	int rc = IKEN_ECRYPTO;
	if (!xs)
		return rc;
	X509_SIG_getm(xs, &alg, &dg);
	if (X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) &&
	    ASN1_OCTET_STRING_set(dg, md, SHA256_LEN)) {
		int n = i2d_X509_SIG(xs, &der);
		if (n > 0) {
			sbuf_add(out, der, (size_t)n);
			rc = 0;
		}
	}
	OPENSSL_free(der);
	X509_SIG_free(xs);
	return rc;
}

static int sha256(const void *data, size_t len, unsigned char md[SHA256_LEN])
{
	unsigned int n = 0;
	return EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) && n == SHA256_LEN ? 0 : IKEN_ECRYPTO;
}

static int p11_sign(const struct sign_key *k, const unsigned char *data, size_t len, struct sbuf *sig,
		    struct sbuf *err)
{
	struct p11 *p = k->p11;
	struct sbuf in = { 0 };
	unsigned char md[SHA256_LEN], *out = NULL;
	CK_MECHANISM mech = { p->mech, NULL, 0 };
	int rc = 0;

	if (p->mech == CKM_SHA256_RSA_PKCS) {
		sbuf_add(&in, data, len);
	} else {
		rc = sha256(data, len, md);
		if (!rc && p->mech == CKM_RSA_PKCS)
			rc = digest_info(md, &in);
		else if (!rc)
			sbuf_add(&in, md, sizeof(md));
		if (rc) {
			rc = ossl_fail(err, "SHA-256");
			goto cleanup;
		}
	}
	CK_RV rv = p->f->C_SignInit(p->sess, &mech, p->key);
	if (rv != CKR_OK) {
		rc = p11_fail(rv, "C_SignInit", err);
		goto cleanup;
	}
	if (p->always_auth) {
		rv = p->f->C_Login(p->sess, CKU_CONTEXT_SPECIFIC, p->pin, (CK_ULONG)p->pinlen);
		if (rv != CKR_OK) {
			rc = p11_fail(rv, "C_Login", err);
			goto cleanup;
		}
	}
	CK_ULONG n = 0;
	rv = p->f->C_Sign(p->sess, (CK_BYTE *)in.s, (CK_ULONG)in.len, NULL, &n);
	if (rv == CKR_OK) {
		out = xcalloc(1, (size_t)n + 1);
		rv = p->f->C_Sign(p->sess, (CK_BYTE *)in.s, (CK_ULONG)in.len, out, &n);
	}
	if (rv != CKR_OK) {
		rc = p11_fail(rv, "C_Sign", err);
		goto cleanup;
	}
	/* CKM_ECDSA gives r||s already, as XMLDSig wants it. */
	if (k->ec && (size_t)n != 2 * k->ec_half) {
		sbuf_printf(err, L("カードのECDSA署名の長さが不正です (%lu)\n",
				   "the card's ECDSA signature has a wrong length (%lu)\n"), (unsigned long)n);
		rc = SIGN_EDEVICE;
		goto cleanup;
	}
	sbuf_add(sig, out, (size_t)n);
cleanup:
	sbuf_free(&in);
	free(out);
	return rc;
}

/* Signs data with SHA-256: sig receives the XMLDSig form (PKCS#1 v1.5 for RSA, r||s for EC). */
static int key_sign(const struct sign_key *k, const unsigned char *data, size_t len, struct sbuf *sig,
		    struct sbuf *err)
{
	if (k->p11)
		return k->p11->f ? p11_sign(k, data, len, sig, err) : IKEN_ECRYPTO;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *buf = NULL;
	size_t n = 0;
	int rc = IKEN_ECRYPTO;
	if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, data, len) != 1) {
		rc = ossl_fail(err, L("署名できません", "cannot sign"));
		goto cleanup;
	}
	buf = xmalloc(n);
	if (EVP_DigestSign(ctx, buf, &n, data, len) != 1) {
		rc = ossl_fail(err, L("署名できません", "cannot sign"));
		goto cleanup;
	}
	if (k->ec) {
		rc = ecdsa_der_to_raw(buf, n, k->ec_half, sig);
		if (rc)
			rc = ossl_fail(err, "ECDSA");
	} else {
		sbuf_add(sig, buf, n);
		rc = 0;
	}
cleanup:
	free(buf);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* --- certificates --- */

/* Removes ASCII whitespace and U+3000 (ideographic space), lowercases ASCII letters. */
static void name_norm(const char *s, struct sbuf *out)
{
	sbuf_reset(out);
	sbuf_add(out, "", 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			continue;
		if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) {
			p += 2;
			continue;
		}
		sbuf_putc(out, (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p));
	}
}

/* The UTF-8 values of one attribute type of a name, each followed by NUL, into out. */
static void name_values(const X509_NAME *nm, int nid, struct sbuf *out)
{
	for (int i = -1; (i = X509_NAME_get_index_by_NID(nm, nid, i)) >= 0;) {
		unsigned char *u = NULL;
		int n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, i)));
		if (n >= 0) {
			sbuf_add(out, u, (size_t)n);
			sbuf_add(out, "", 1);
		}
		OPENSSL_free(u);
	}
}

/* The candidate spellings of a person's name in a distinguished name, NUL-separated. */
static void name_candidates(const X509_NAME *nm, struct sbuf *out)
{
	struct sbuf sn = { 0 }, gn = { 0 };
	name_values(nm, NID_commonName, out);
	name_values(nm, NID_pseudonym, out);
	name_values(nm, NID_surname, &sn);
	name_values(nm, NID_givenName, &gn);
	if (sn.len && gn.len) {
		sbuf_printf(out, "%s%s", sn.s, gn.s);
		sbuf_add(out, "", 1);
		sbuf_printf(out, "%s%s", gn.s, sn.s);
		sbuf_add(out, "", 1);
	}
	sbuf_free(&sn);
	sbuf_free(&gn);
}

static void subject_line(const X509_NAME *nm, struct sbuf *out)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	sbuf_reset(out);
	sbuf_add(out, "", 0);
	if (!b)
		return;
	X509_NAME_print_ex(b, nm, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	long n = BIO_get_mem_data(b, &p);
	if (n > 0)
		sbuf_add(out, p, (size_t)n);
	BIO_free(b);
}

int sign_check_cert(X509 *cert, time_t now, const char *doctor_name, struct sbuf *subject_out,
		    struct sbuf *err)
{
	struct sbuf dummy = { 0 }, subj = { 0 }, cands = { 0 }, want = { 0 }, have = { 0 };
	char date[11];
	time_t nb, na;
	int rc = 0;

	if (!err)
		err = &dummy;
	subject_line(X509_get_subject_name(cert), &subj);
	if (subject_out) {
		sbuf_reset(subject_out);
		sbuf_puts(subject_out, subj.s);
	}
	if (asn1_to_time(X509_get0_notBefore(cert), &nb) || asn1_to_time(X509_get0_notAfter(cert), &na)) {
		sbuf_puts(err, L("証明書の有効期間を読めません\n", "cannot read the certificate's validity period\n"));
		rc = SIGN_EEXPIRED;
		goto cleanup;
	}
	if (now > na) {
		asn1_date(X509_get0_notAfter(cert), date);
		sbuf_printf(err, L("証明書の有効期限が切れています (%sまで)\n",
				   "the certificate expired on %s\n"), date);
		rc = SIGN_EEXPIRED;
		goto cleanup;
	}
	if (now < nb) {
		asn1_date(X509_get0_notBefore(cert), date);
		sbuf_printf(err, L("証明書はまだ有効ではありません (%sから)\n",
				   "the certificate is not valid before %s\n"), date);
		rc = SIGN_ENOTYET;
		goto cleanup;
	}
	uint32_t ku = X509_get_key_usage(cert);
	if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION))) {
		sbuf_puts(err, L("この証明書は署名に使えません (鍵用途にdigitalSignatureもnonRepudiationもありません)\n",
				 "the certificate may not be used for signing (its key usage has neither digitalSignature nor nonRepudiation)\n"));
		rc = SIGN_EUSAGE;
		goto cleanup;
	}
	if (!doctor_name)
		goto cleanup;
	name_norm(doctor_name, &want);
	name_candidates(X509_get_subject_name(cert), &cands);
	GENERAL_NAMES *alt = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; alt && i < sk_GENERAL_NAME_num(alt); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(alt, i);
		if (g->type == GEN_DIRNAME)
			name_candidates(g->d.directoryName, &cands);
	}
	GENERAL_NAMES_free(alt);
	int found = 0;
	for (size_t off = 0; want.len && off < cands.len && !found;) {
		const char *c = cands.s + off;
		off += strlen(c) + 1;
		name_norm(c, &have);
		found = strstr(have.s, want.s) != NULL;
	}
	if (!found) {
		sbuf_printf(err, L("証明書の名義 (%s) が意見書の医師 (%s) と一致しません\n",
				   "the certificate's subject (%s) does not match the opinion's doctor (%s)\n"),
			    subj.s, doctor_name);
		rc = SIGN_ESUBJECT;
	}
cleanup:
	sbuf_free(&dummy);
	sbuf_free(&subj);
	sbuf_free(&cands);
	sbuf_free(&want);
	sbuf_free(&have);
	return rc;
}

/* IssuerSerial of RFC 5035 (SEQUENCE { GeneralNames { directoryName issuer }, serial }), DER,
 * as XAdES' IssuerSerialV2 carries it. */
static int issuer_serial_der(X509 *cert, struct sbuf *out)
{
	GENERAL_NAMES *gns = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *iss = X509_NAME_dup(X509_get_issuer_name(cert));
	unsigned char *names = NULL, *serial = NULL;
	int rc = IKEN_ECRYPTO;
	if (!gns || !gn || !iss)
		goto cleanup;
	GENERAL_NAME_set0_value(gn, GEN_DIRNAME, iss);
	iss = NULL;
	if (!sk_GENERAL_NAME_push(gns, gn))
		goto cleanup;
	gn = NULL;
	int nn = i2d_GENERAL_NAMES(gns, &names);
	int ns = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
	if (nn <= 0 || ns <= 0)
		goto cleanup;
	int total = ASN1_object_size(1, nn + ns, V_ASN1_SEQUENCE);
	if (total <= 0)
		goto cleanup;
	unsigned char *buf = xmalloc((size_t)total), *q = buf;
	ASN1_put_object(&q, 1, nn + ns, V_ASN1_SEQUENCE, V_ASN1_UNIVERSAL);
	memcpy(q, names, (size_t)nn);
	memcpy(q + nn, serial, (size_t)ns);
	sbuf_add(out, buf, (size_t)total);
	free(buf);
	rc = 0;
cleanup:
	OPENSSL_free(names);
	OPENSSL_free(serial);
	X509_NAME_free(iss);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gns);
	return rc;
}

static int cert_der(X509 *cert, struct sbuf *out)
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	if (n <= 0)
		return IKEN_ECRYPTO;
	sbuf_add(out, der, (size_t)n);
	OPENSSL_free(der);
	return 0;
}

/* --- XML --- */

/* Parses without network, DTD or entity substitution; IKEN_EXML/IKEN_ELIMIT with a message. */
static int parse_xml(const char *xml, size_t len, xmlDocPtr *out, struct sbuf *err)
{
	struct xmlsafe_errs e = { .out = err, .max = 3, .ja = iken_lang_ja() };
	return xmlsafe_read(xml, len, SIGN_MAX_FILE, NULL, 0, &e, out);
}

static int is_elem(xmlNodePtr n, const char *ns, const char *name)
{
	if (!n || n->type != XML_ELEMENT_NODE || strcmp(SX(n->name), name) != 0)
		return 0;
	if (!ns)
		return n->ns == NULL;
	return n->ns && n->ns->href && strcmp(SX(n->ns->href), ns) == 0;
}

static xmlNodePtr first_elem(xmlNodePtr n)
{
	for (; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static xmlNodePtr next_elem(xmlNodePtr n)
{
	return n ? first_elem(n->next) : NULL;
}

/* The first child element ns:name. */
static xmlNodePtr child(xmlNodePtr parent, const char *ns, const char *name)
{
	for (xmlNodePtr c = parent ? first_elem(parent->children) : NULL; c; c = next_elem(c))
		if (is_elem(c, ns, name))
			return c;
	return NULL;
}

/* Next element in document order below top (pre-order walk). */
static xmlNodePtr walk_next(xmlNodePtr n, xmlNodePtr top)
{
	if (n->children && n->type == XML_ELEMENT_NODE)
		return n->children;
	while (n && n != top) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

/* An element of that local name in any namespace or none (the envelope's own elements). */
static int is_local(xmlNodePtr n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE && strcmp(SX(n->name), name) == 0;
}

/* Elements ns:name (ns ANY_NS: the local name in any namespace) in the whole document: how
 * many, and the first. */
#define ANY_NS "*"
static int count_elems(xmlNodePtr root, const char *ns, const char *name, xmlNodePtr *first)
{
	int n = 0;
	*first = NULL;
	for (xmlNodePtr c = root; c; c = walk_next(c, root))
		if ((ns && strcmp(ns, ANY_NS) == 0 ? is_local(c, name) : is_elem(c, ns, name)) && n++ == 0)
			*first = c;
	return n;
}

/* The value of an attribute without namespace (freed by the caller), or NULL. */
static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, X(name));
	char *s = v ? xstrdup(SX(v)) : NULL;
	xmlFree(v);
	return s;
}

static int attr_is(xmlNodePtr n, const char *name, const char *want)
{
	char *v = attr(n, name);
	int r = v && strcmp(v, want) == 0;
	free(v);
	return r;
}

/* The text of an element (all its text), freed by the caller. */
static char *text_of(xmlNodePtr n)
{
	xmlChar *t = xmlNodeGetContent(n);
	char *s = xstrdup(t ? SX(t) : "");
	xmlFree(t);
	return s;
}

/* Elements whose Id (or xml:id) is id: how many, and the first. */
static int find_id(xmlNodePtr root, const char *id, xmlNodePtr *first)
{
	int n = 0;
	*first = NULL;
	for (xmlNodePtr c = root; c; c = walk_next(c, root)) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		xmlChar *xid = xmlGetNsProp(c, X("id"), XML_XML_NAMESPACE);
		int hit = attr_is(c, "Id", id) || (xid && strcmp(SX(xid), id) == 0);
		xmlFree(xid);
		if (hit && n++ == 0)
			*first = c;
	}
	return n;
}

static int inside(xmlNodePtr n, xmlNodePtr ancestor)
{
	for (; n; n = n->parent)
		if (n == ancestor)
			return 1;
	return 0;
}

/* The node-set of a same-document reference "#id": the element, its attributes, namespaces and
 * descendants, without comments. */
static int c14n_visible(void *user, xmlNodePtr node, xmlNodePtr parent)
{
	xmlNodePtr apex = user;
	if (!node)
		return 0;
	if (node->type == XML_NAMESPACE_DECL)
		return inside(parent, apex);
	if (node->type == XML_COMMENT_NODE)
		return 0;
	return inside(node->type == XML_ATTRIBUTE_NODE ? node->parent : node, apex);
}

/* Exclusive C14N 1.0 (without comments) of the subtree at apex. */
static int c14n(xmlDocPtr doc, xmlNodePtr apex, struct sbuf *out)
{
	xmlOutputBufferPtr buf = xmlAllocOutputBuffer(NULL);
	if (!buf)
		return IKEN_EXML;
	int n = xmlC14NExecute(doc, c14n_visible, apex, XML_C14N_EXCLUSIVE_1_0, NULL, 0, buf);
	int rc = IKEN_EXML;
	if (n >= 0) {
		const xmlChar *p = xmlOutputBufferGetContent(buf);
		size_t len = xmlOutputBufferGetSize(buf);
		sbuf_add(out, "", 0);
		if (p)
			sbuf_add(out, p, len);
		rc = 0;
	}
	xmlOutputBufferClose(buf);
	return rc;
}

static int c14n_digest(xmlDocPtr doc, xmlNodePtr apex, unsigned char md[SHA256_LEN])
{
	struct sbuf c = { 0 };
	int rc = c14n(doc, apex, &c);
	if (!rc)
		rc = sha256(c.s, c.len, md);
	sbuf_free(&c);
	return rc;
}

static xmlNodePtr add_elem(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
	xmlNodePtr n = xmlNewChild(parent, ns, X(name), NULL);
	if (n && text)
		xmlNodeAddContent(n, X(text));
	return n;
}

static xmlNodePtr add_alg(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *alg)
{
	xmlNodePtr n = add_elem(parent, ns, name, NULL);
	if (n)
		xmlNewProp(n, X("Algorithm"), X(alg));
	return n;
}

static void add_b64(xmlNodePtr parent, xmlNsPtr ns, const char *name, const void *data, size_t len)
{
	struct sbuf b = { 0 };
	base64_encode(data, len, &b);
	add_elem(parent, ns, name, b.s);
	sbuf_free(&b);
}

/* ds:Reference URI="#id" with exclusive C14N and SHA-256 of the element. */
static int add_reference(xmlDocPtr doc, xmlNodePtr si, xmlNsPtr ds, const char *id, const char *type,
			 xmlNodePtr target)
{
	unsigned char md[SHA256_LEN];
	struct sbuf uri = { 0 };
	int rc = c14n_digest(doc, target, md);
	if (rc)
		return rc;
	xmlNodePtr ref = add_elem(si, ds, "Reference", NULL);
	if (type)
		xmlNewProp(ref, X("Type"), X(type));
	sbuf_printf(&uri, "#%s", id);
	xmlNewProp(ref, X("URI"), X(uri.s));
	sbuf_free(&uri);
	xmlNodePtr tr = add_elem(ref, ds, "Transforms", NULL);
	add_alg(tr, ds, "Transform", ALG_EXC_C14N);
	add_alg(ref, ds, "DigestMethod", ALG_SHA256);
	add_b64(ref, ds, "DigestValue", md, sizeof(md));
	return 0;
}

static int dump_xml(xmlDocPtr doc, struct sbuf *out)
{
	xmlChar *mem = NULL;
	int size = 0;
	/* Not formatted: the signed parts must be written back exactly as they were digested. */
	xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
	if (!mem || size <= 0 || (size >= 3 && memcmp(mem, "\xEF\xBB\xBF", 3) == 0)) {
		xmlFree(mem);
		return IKEN_EXML;
	}
	sbuf_add(out, mem, (size_t)size);
	xmlFree(mem);
	return 0;
}

static int verify_doc(xmlDocPtr doc, const char *data_elem, int check_chain, const char *ca_file,
		      const char *crl_file, time_t now, struct sbuf *report);

int sign_envelope(const char *xml, size_t len, const char *data_elem, const struct sign_key *key,
		  time_t now, struct sbuf *out, struct sbuf *err)
{
	struct sbuf dummy = { 0 }, der = { 0 }, b = { 0 }, si_c14n = { 0 }, sig = { 0 }, check = { 0 };
	xmlDocPtr doc = NULL, again = NULL;
	char *id = NULL;
	unsigned char md[SHA256_LEN];
	char when[32];
	int rc;

	if (!err)
		err = &dummy;
	if (!key || !key->cert || !data_elem || !*data_elem) {
		sbuf_puts(err, L("署名の鍵がありません\n", "no signing key\n"));
		rc = SIGN_ENOKEY;
		goto cleanup;
	}
	rc = sign_check_cert(key->cert, now, NULL, NULL, err);
	if (rc)
		goto cleanup;
	rc = parse_xml(xml, len, &doc, err);
	if (rc)
		goto cleanup;
	rc = IKEN_EXML;
	xmlNodePtr root = xmlDocGetRootElement(doc), data, found;
	if (count_elems(root, NS_DS, "Signature", &found)) {
		sbuf_puts(err, L("既に署名されています\n", "the file is already signed\n"));
		goto cleanup;
	}
	int nd = count_elems(root, ANY_NS, data_elem, &data);
	if (nd != 1) {
		sbuf_printf(err, L("<%s> が%sあります\n", "<%s> is %s\n"), data_elem,
			    nd ? L("複数", "repeated") : L("0個", "missing"));
		goto cleanup;
	}
	char *text = text_of(data);
	struct sbuf dec = { 0 };
	int brc = base64_decode(text, strlen(text), &dec);
	free(text);
	if (!brc && memchr(dec.s, '\0', dec.len))
		brc = IKEN_EDATA;
	OPENSSL_cleanse(dec.s, dec.len);
	sbuf_free(&dec);
	if (brc) {
		sbuf_printf(err, L("<%s> が正しいBase64ではないため署名できません (改行・空白・NULは不可)\n",
				   "<%s> is not strict Base64 (no line breaks, spaces or NUL): not signed\n"),
			    data_elem);
		rc = IKEN_EDATA;
		goto cleanup;
	}
	id = attr(data, "Id");
	if (!id) {
		id = xstrdup(data_elem);
		xmlNewProp(data, X("Id"), X(id));
	}
	if (find_id(root, id, &found) != 1 || find_id(root, ID_SIGNATURE, &found) ||
	    find_id(root, ID_SIGNED_PROPS, &found)) {
		sbuf_printf(err, L("Id属性が重複しています (%s)\n", "duplicate Id attributes (%s)\n"), id);
		goto cleanup;
	}

	/* ds:Signature, the last child of the root */
	xmlNodePtr s = xmlNewDocNode(doc, NULL, X("Signature"), NULL);
	xmlNsPtr ds = xmlNewNs(s, X(NS_DS), X("ds"));
	xmlSetNs(s, ds);
	xmlNewProp(s, X("Id"), X(ID_SIGNATURE));
	xmlAddChild(root, s);
	xmlAddChild(root, xmlNewDocText(doc, X("\n")));
	xmlNodePtr si = add_elem(s, ds, "SignedInfo", NULL);
	add_alg(si, ds, "CanonicalizationMethod", ALG_EXC_C14N);
	add_alg(si, ds, "SignatureMethod", key->ec ? ALG_ECDSA_SHA256 : ALG_RSA_SHA256);
	xmlNodePtr sv = add_elem(s, ds, "SignatureValue", NULL);
	rc = cert_der(key->cert, &der);
	if (rc) {
		rc = ossl_fail(err, "X509");
		goto cleanup;
	}
	xmlNodePtr x509 = add_elem(add_elem(s, ds, "KeyInfo", NULL), ds, "X509Data", NULL);
	add_b64(x509, ds, "X509Certificate", der.s, der.len);

	/* XAdES: SigningTime and SigningCertificateV2 */
	xmlNodePtr qp = add_elem(add_elem(s, ds, "Object", NULL), NULL, "QualifyingProperties", NULL);
	xmlNsPtr xa = xmlNewNs(qp, X(NS_XADES), X("xades"));
	xmlSetNs(qp, xa);
	xmlNewProp(qp, X("Target"), X("#" ID_SIGNATURE));
	xmlNodePtr sp = add_elem(qp, xa, "SignedProperties", NULL);
	xmlNewProp(sp, X("Id"), X(ID_SIGNED_PROPS));
	xmlNodePtr ssp = add_elem(sp, xa, "SignedSignatureProperties", NULL);
	iso_time(now, when);
	add_elem(ssp, xa, "SigningTime", when);
	xmlNodePtr cert = add_elem(add_elem(ssp, xa, "SigningCertificateV2", NULL), xa, "Cert", NULL);
	xmlNodePtr cd = add_elem(cert, xa, "CertDigest", NULL);
	add_alg(cd, ds, "DigestMethod", ALG_SHA256);
	rc = sha256(der.s, der.len, md);
	if (!rc)
		rc = issuer_serial_der(key->cert, &b);
	if (rc) {
		rc = ossl_fail(err, "X509");
		goto cleanup;
	}
	add_b64(cd, ds, "DigestValue", md, sizeof(md));
	add_b64(cert, xa, "IssuerSerialV2", b.s, b.len);

	/* the references, then the signature over SignedInfo */
	rc = add_reference(doc, si, ds, id, NULL, data);
	if (!rc)
		rc = add_reference(doc, si, ds, ID_SIGNED_PROPS, TYPE_SIGNED_PROPS, sp);
	if (!rc)
		rc = c14n(doc, si, &si_c14n);
	if (rc) {
		sbuf_puts(err, L("正規化 (C14N) に失敗しました\n", "canonicalization (C14N) failed\n"));
		goto cleanup;
	}
	rc = key_sign(key, (const unsigned char *)si_c14n.s, si_c14n.len, &sig, err);
	if (rc)
		goto cleanup;
	sbuf_reset(&b);
	base64_encode(sig.s, sig.len, &b);
	xmlNodeAddContent(sv, X(b.s));
	size_t start = out->len;
	rc = dump_xml(doc, out);
	if (rc) {
		sbuf_puts(err, L("XMLを書き出せません\n", "cannot write the XML\n"));
		goto cleanup;
	}
	/* What is handed out is verified as a receiver would read it. */
	rc = parse_xml(out->s + start, out->len - start, &again, &check);
	if (!rc)
		rc = verify_doc(again, data_elem, 0, NULL, NULL, now, &check);
	if (rc) {
		sbuf_printf(err, L("作成した署名を検証できません:\n%s", "the new signature does not verify:\n%s"),
			    check.s ? check.s : "");
		out->len = start;
		out->s[start] = '\0';
		rc = IKEN_ECRYPTO;
	}
cleanup:
	xmlFreeDoc(doc);
	xmlFreeDoc(again);
	free(id);
	sbuf_free(&dummy);
	sbuf_free(&der);
	sbuf_free(&b);
	sbuf_free(&si_c14n);
	sbuf_free(&sig);
	sbuf_free(&check);
	return rc;
}

/* --- verification --- */

struct vrep {
	struct sbuf *r;
	int bad;        /* SIGN_EBADSIG seen */
	int untrusted;  /* chain failed */
	int data_bad;   /* the data is not clean Base64 */
};

static void rep(struct vrep *v, int good, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rep(struct vrep *v, int good, const char *fmt, ...)
{
	va_list ap;
	sbuf_puts(v->r, good ? L("OK: ", "ok: ") : L("NG: ", "FAILED: "));
	va_start(ap, fmt);
	sbuf_vprintf(v->r, fmt, ap);
	va_end(ap);
	sbuf_putc(v->r, '\n');
	if (!good)
		v->bad = 1;
}

/* ds:DigestValue-like Base64 content of child name, decoded into out. */
static int child_b64(xmlNodePtr parent, const char *ns, const char *name, struct sbuf *out)
{
	xmlNodePtr c = child(parent, ns, name);
	if (!c)
		return IKEN_ENOTFOUND;
	char *t = text_of(c);
	int rc = b64_decode_xml(t, strlen(t), out);
	free(t);
	return rc;
}

/* Checks one ds:Reference: URI "#id", exclusive C14N as the only transform, SHA-256 digest.
 * *target receives the referenced element when the digest matches. */
static void check_reference(struct vrep *v, xmlDocPtr doc, xmlNodePtr ref, xmlNodePtr *target)
{
	char *uri = attr(ref, "URI");
	struct sbuf want = { 0 };
	unsigned char md[SHA256_LEN];
	xmlNodePtr t = NULL, tr, dm;
	*target = NULL;
	if (!uri || uri[0] != '#' || !uri[1]) {
		rep(v, 0, L("参照のURIが文書内のIdではありません: %s", "reference URI is not a same-document Id: %s"),
		    uri ? uri : "(none)");
		goto cleanup;
	}
	int n = find_id(xmlDocGetRootElement(doc), uri + 1, &t);
	if (n != 1) {
		rep(v, 0, L("参照 %s: Idが%sあります", "reference %s: the Id is %s"), uri,
		    n ? L("複数", "not unique") : L("0個", "not found"));
		goto cleanup;
	}
	tr = child(ref, NS_DS, "Transforms");
	xmlNodePtr one = tr ? first_elem(tr->children) : NULL;
	if (!one || !is_elem(one, NS_DS, "Transform") || !attr_is(one, "Algorithm", ALG_EXC_C14N) ||
	    next_elem(one) || first_elem(one->children)) {
		rep(v, 0, L("参照 %s: 変換は排他的C14Nだけが使えます", "reference %s: the only transform allowed is exclusive C14N"),
		    uri);
		goto cleanup;
	}
	dm = child(ref, NS_DS, "DigestMethod");
	if (!dm || !attr_is(dm, "Algorithm", ALG_SHA256)) {
		rep(v, 0, L("参照 %s: ダイジェストはSHA-256だけが使えます", "reference %s: the digest must be SHA-256"), uri);
		goto cleanup;
	}
	if (child_b64(ref, NS_DS, "DigestValue", &want) || want.len != SHA256_LEN) {
		rep(v, 0, L("参照 %s: DigestValueが正しくありません", "reference %s: bad DigestValue"), uri);
		goto cleanup;
	}
	if (c14n_digest(doc, t, md)) {
		rep(v, 0, L("参照 %s: 正規化できません", "reference %s: canonicalization failed"), uri);
		goto cleanup;
	}
	if (CRYPTO_memcmp(md, want.s, SHA256_LEN) != 0) {
		rep(v, 0, L("参照 %s: ダイジェストが一致しません (内容が変更されています)",
			    "reference %s: digest mismatch (the content was changed)"), uri);
		goto cleanup;
	}
	rep(v, 1, L("参照 %s: ダイジェスト一致", "reference %s: digest matches"), uri);
	*target = t;
cleanup:
	free(uri);
	sbuf_free(&want);
}

/* The signature value over SignedInfo with the certificate's public key. */
static void check_signature_value(struct vrep *v, xmlDocPtr doc, xmlNodePtr si, xmlNodePtr svn,
				  const char *alg, X509 *cert)
{
	struct sbuf c = { 0 }, sig = { 0 }, der = { 0 };
	EVP_MD_CTX *ctx = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(cert);
	int ec = strcmp(alg, ALG_ECDSA_SHA256) == 0;
	if (!pub || (ec ? !EVP_PKEY_is_a(pub, "EC") : !EVP_PKEY_is_a(pub, "RSA"))) {
		rep(v, 0, L("署名方式が証明書の鍵と合いません", "the signature method does not fit the certificate's key"));
		goto cleanup;
	}
	char *t = text_of(svn);
	int brc = b64_decode_xml(t, strlen(t), &sig);
	free(t);
	if (brc || !sig.len || (ec && ecdsa_raw_to_der((const unsigned char *)sig.s, sig.len, &der))) {
		rep(v, 0, L("SignatureValueが正しくありません", "bad SignatureValue"));
		goto cleanup;
	}
	if (ec) {
		sbuf_reset(&sig);
		sbuf_add(&sig, der.s, der.len);
	}
	if (c14n(doc, si, &c)) {
		rep(v, 0, L("SignedInfoを正規化できません", "cannot canonicalize SignedInfo"));
		goto cleanup;
	}
	ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pub) == 1 &&
		 EVP_DigestVerify(ctx, (const unsigned char *)sig.s, sig.len, (const unsigned char *)c.s,
				  c.len) == 1;
	ERR_clear_error();
	if (ok)
		rep(v, 1, L("署名値 (%s) が証明書の公開鍵で検証できました", "signature value (%s) verifies with the certificate's public key"),
		    ec ? "ecdsa-sha256" : "rsa-sha256");
	else
		rep(v, 0, L("署名値が一致しません (SignedInfoまたは証明書が変更されています)",
			    "the signature value does not verify (SignedInfo or the certificate was changed)"));
cleanup:
	EVP_MD_CTX_free(ctx);
	sbuf_free(&c);
	sbuf_free(&sig);
	sbuf_free(&der);
}

/* XAdES: QualifyingProperties Target, SigningTime (certificate valid then), SigningCertificateV2. */
static void check_properties(struct vrep *v, xmlNodePtr sigel, xmlNodePtr sp, X509 *cert)
{
	struct sbuf want = { 0 }, got = { 0 }, der = { 0 }, target = { 0 };
	unsigned char md[SHA256_LEN];
	char *id = attr(sigel, "Id"), *when = NULL;
	xmlNodePtr qp = sp->parent;
	sbuf_printf(&target, "#%s", id ? id : "");
	if (!is_elem(qp, NS_XADES, "QualifyingProperties") || !is_elem(qp->parent, NS_DS, "Object") ||
	    qp->parent->parent != sigel || !id || !attr_is(qp, "Target", target.s)) {
		rep(v, 0, L("QualifyingPropertiesがこの署名を指していません", "QualifyingProperties do not target this signature"));
		goto cleanup;
	}
	xmlNodePtr ssp = child(sp, NS_XADES, "SignedSignatureProperties");
	xmlNodePtr st = child(ssp, NS_XADES, "SigningTime");
	time_t t, nb, na;
	when = st ? text_of(st) : NULL;
	if (!when || parse_iso_time(when, &t)) {
		rep(v, 0, L("SigningTimeがないか読めません", "SigningTime missing or unreadable"));
		goto cleanup;
	}
	if (asn1_to_time(X509_get0_notBefore(cert), &nb) || asn1_to_time(X509_get0_notAfter(cert), &na) ||
	    t < nb || t > na)
		rep(v, 0, L("署名時刻 %s に証明書は有効ではありません", "the certificate was not valid at the signing time %s"), when);
	else
		rep(v, 1, L("署名時刻 %s (証明書の有効期間内)", "signing time %s (within the certificate's validity)"), when);
	xmlNodePtr c = child(child(ssp, NS_XADES, "SigningCertificateV2"), NS_XADES, "Cert");
	xmlNodePtr cd = child(c, NS_XADES, "CertDigest");
	xmlNodePtr dm = child(cd, NS_DS, "DigestMethod");
	if (!cd || !dm || !attr_is(dm, "Algorithm", ALG_SHA256) || child_b64(cd, NS_DS, "DigestValue", &want) ||
	    cert_der(cert, &der) || sha256(der.s, der.len, md) || want.len != SHA256_LEN ||
	    CRYPTO_memcmp(md, want.s, SHA256_LEN) != 0) {
		rep(v, 0, L("SigningCertificateV2の証明書ダイジェストが署名者の証明書と一致しません",
			    "SigningCertificateV2's certificate digest does not match the signer's certificate"));
		goto cleanup;
	}
	sbuf_reset(&want);
	if (child(c, NS_XADES, "IssuerSerialV2") &&
	    (child_b64(c, NS_XADES, "IssuerSerialV2", &want) || issuer_serial_der(cert, &got) ||
	     want.len != got.len || memcmp(want.s, got.s, got.len) != 0)) {
		rep(v, 0, L("IssuerSerialV2が署名者の証明書と一致しません", "IssuerSerialV2 does not match the signer's certificate"));
		goto cleanup;
	}
	rep(v, 1, L("SigningCertificateV2が署名者の証明書と一致", "SigningCertificateV2 matches the signer's certificate"));
cleanup:
	free(id);
	free(when);
	sbuf_free(&want);
	sbuf_free(&got);
	sbuf_free(&der);
	sbuf_free(&target);
}

/* The chain of cert (with the untrusted extra certificates) to the CA file at time now. */
static void check_chain(struct vrep *v, X509 *cert, STACK_OF(X509) *extra, const char *ca_file,
			const char *crl_file, time_t now)
{
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	if (!ca_file) {
		sbuf_puts(v->r, L("NG: CA証明書が指定されていないため証明書チェーンを確認できません\n",
				  "FAILED: no CA certificates given: the certificate chain is not checked\n"));
		v->untrusted = 1;
		return;
	}
	store = X509_STORE_new();
	if (!store || X509_STORE_load_file(store, ca_file) != 1) {
		ERR_clear_error();
		sbuf_printf(v->r, L("NG: CA証明書を読めません: %s\n", "FAILED: cannot read the CA certificates %s\n"),
			    ca_file);
		v->untrusted = 1;
		goto cleanup;
	}
	if (crl_file) {
		X509_LOOKUP *lk = X509_STORE_add_lookup(store, X509_LOOKUP_file());
		if (!lk || (X509_load_crl_file(lk, crl_file, X509_FILETYPE_PEM) <= 0 &&
			    X509_load_crl_file(lk, crl_file, X509_FILETYPE_ASN1) <= 0)) {
			ERR_clear_error();
			sbuf_printf(v->r, L("NG: CRLを読めません: %s\n", "FAILED: cannot read the CRL %s\n"), crl_file);
			v->untrusted = 1;
			goto cleanup;
		}
		ERR_clear_error();
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, store, cert, extra)) {
		ERR_clear_error();
		sbuf_puts(v->r, L("NG: 証明書チェーンを確認できません\n", "FAILED: cannot check the certificate chain\n"));
		v->untrusted = 1;
		goto cleanup;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
	int ok = X509_verify_cert(ctx) == 1;
	ERR_clear_error();
	if (ok) {
		sbuf_printf(v->r, L("OK: 証明書チェーン (%s%s)\n", "ok: certificate chain (%s%s)\n"),
			    ca_file, crl_file ? L(", CRL確認済み", ", CRL checked") : "");
	} else {
		int e = X509_STORE_CTX_get_error(ctx);
		sbuf_printf(v->r, L("NG: 証明書チェーン: %s\n", "FAILED: certificate chain: %s\n"),
			    X509_verify_cert_error_string(e));
		v->untrusted = 1;
	}
cleanup:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
}

/* The signed data: strict Base64 without NUL bytes in the decoded bytes. */
static void check_data(struct vrep *v, xmlNodePtr data)
{
	struct sbuf dec = { 0 };
	char *t = text_of(data);
	int rc = base64_decode(t, strlen(t), &dec);
	if (rc) {
		sbuf_printf(v->r, L("NG: <%s> が正しいBase64ではありません (改行・空白・NULは不可)\n",
				    "FAILED: <%s> is not strict Base64 (no line breaks, spaces or NUL)\n"),
			    SX(data->name));
		v->data_bad = 1;
	} else if (memchr(dec.s, '\0', dec.len)) {
		sbuf_printf(v->r, L("NG: <%s> を復号するとNULバイトを含みます\n",
				    "FAILED: <%s> decodes to bytes that include NUL\n"), SX(data->name));
		v->data_bad = 1;
	} else {
		sbuf_printf(v->r, L("OK: <%s> は正しいBase64 (%zuバイト)\n", "ok: <%s> is strict Base64 (%zu bytes)\n"),
			    SX(data->name), dec.len);
	}
	free(t);
	sbuf_free(&dec);
}

static int verify_doc(xmlDocPtr doc, const char *data_elem, int check_chain_too, const char *ca_file,
		      const char *crl_file, time_t now, struct sbuf *report)
{
	struct vrep v = { report, 0, 0, 0 };
	struct sbuf der = { 0 }, subj = { 0 };
	xmlNodePtr root = xmlDocGetRootElement(doc), sigel, data = NULL, sp = NULL;
	X509 *cert = NULL;
	STACK_OF(X509) *extra = NULL;
	char *alg = NULL;
	int n = count_elems(root, NS_DS, "Signature", &sigel);

	if (n == 0) {
		sbuf_puts(report, L("NG: 署名がありません\n", "FAILED: the file has no signature\n"));
		return SIGN_ENOSIG;
	}
	if (n > 1) {
		rep(&v, 0, L("署名が%d個あります (1個だけ可)", "%d signatures (only one allowed)"), n);
		goto cleanup;
	}
	xmlNodePtr si = first_elem(sigel->children);
	xmlNodePtr svn = next_elem(si);
	xmlNodePtr ki = child(sigel, NS_DS, "KeyInfo");
	if (!is_elem(si, NS_DS, "SignedInfo") || !is_elem(svn, NS_DS, "SignatureValue") || !ki) {
		rep(&v, 0, L("署名の構造が正しくありません (SignedInfo, SignatureValue, KeyInfo)",
			     "malformed signature (SignedInfo, SignatureValue, KeyInfo)"));
		goto cleanup;
	}
	xmlNodePtr cm = first_elem(si->children);
	xmlNodePtr sm = next_elem(cm);
	alg = sm ? attr(sm, "Algorithm") : NULL;
	if (!is_elem(cm, NS_DS, "CanonicalizationMethod") || !attr_is(cm, "Algorithm", ALG_EXC_C14N) ||
	    first_elem(cm->children)) {
		rep(&v, 0, L("正規化方式は排他的C14Nだけが使えます", "the canonicalization method must be exclusive C14N"));
		goto cleanup;
	}
	if (!is_elem(sm, NS_DS, "SignatureMethod") || !alg ||
	    (strcmp(alg, ALG_RSA_SHA256) != 0 && strcmp(alg, ALG_ECDSA_SHA256) != 0)) {
		rep(&v, 0, L("署名方式はrsa-sha256かecdsa-sha256だけが使えます", "the signature method must be rsa-sha256 or ecdsa-sha256"));
		goto cleanup;
	}

	/* the certificates: the first is the signer's */
	xmlNodePtr xd = child(ki, NS_DS, "X509Data");
	for (xmlNodePtr c = xd ? first_elem(xd->children) : NULL; c; c = next_elem(c)) {
		if (!is_elem(c, NS_DS, "X509Certificate"))
			continue;
		char *t = text_of(c);
		sbuf_reset(&der);
		int brc = b64_decode_xml(t, strlen(t), &der);
		free(t);
		const unsigned char *q = (const unsigned char *)der.s;
		X509 *x = brc ? NULL : d2i_X509(NULL, &q, (long)der.len);
		if (!x || q != (const unsigned char *)der.s + der.len) {
			ERR_clear_error();
			X509_free(x);
			rep(&v, 0, L("X509Certificateを読めません (証明書が壊れています)",
				     "cannot read an X509Certificate (the certificate is damaged)"));
			goto cleanup;
		}
		if (!cert) {
			cert = x;
		} else {
			if (!extra)
				extra = sk_X509_new_null();
			if (!extra || !sk_X509_push(extra, x))
				X509_free(x);
		}
	}
	if (!cert) {
		rep(&v, 0, L("署名者の証明書 (X509Certificate) がありません", "no signer certificate (X509Certificate)"));
		goto cleanup;
	}
	subject_line(X509_get_subject_name(cert), &subj);
	sbuf_printf(report, L("署名者: %s\n", "signer: %s\n"), subj.s);

	/* the references: the data and the signed properties, once each */
	int nrefs = 0;
	for (xmlNodePtr r = next_elem(sm); r; r = next_elem(r)) {
		xmlNodePtr t;
		if (!is_elem(r, NS_DS, "Reference")) {
			rep(&v, 0, L("SignedInfoに不明な要素があります", "unknown element in SignedInfo"));
			goto cleanup;
		}
		nrefs++;
		int is_sp = attr_is(r, "Type", TYPE_SIGNED_PROPS);
		check_reference(&v, doc, r, &t);
		if (!t)
			continue;
		if (is_sp) {
			if (sp || !is_elem(t, NS_XADES, "SignedProperties") || !inside(t, sigel))
				rep(&v, 0, L("SignedPropertiesへの参照が正しくありません", "bad reference to SignedProperties"));
			else
				sp = t;
		} else {
			xmlNodePtr only = NULL;
			if (data || inside(t, sigel) ||
			    (data_elem && (!is_local(t, data_elem) ||
					   count_elems(root, ANY_NS, data_elem, &only) != 1)))
				rep(&v, 0, L("データへの参照が <%s> (文書中に1つだけ) を指していません",
					     "the data reference is not to <%s> (the only one in the file)"),
				    data_elem ? data_elem : "?");
			else
				data = t;
		}
	}
	if (!data || !sp || nrefs != 2) {
		rep(&v, 0, L("データとSignedPropertiesへの参照が1つずつ必要です",
			     "one reference to the data and one to SignedProperties are required"));
		goto cleanup;
	}
	check_properties(&v, sigel, sp, cert);
	check_signature_value(&v, doc, si, svn, alg, cert);
	check_data(&v, data);
	if (check_chain_too) {
		uint32_t ku = X509_get_key_usage(cert);
		if (ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
			rep(&v, 0, L("署名者の証明書の鍵用途が署名を許していません",
				     "the signer certificate's key usage does not allow signing"));
		check_chain(&v, cert, extra, ca_file, crl_file, now);
	}
cleanup:
	X509_free(cert);
	sk_X509_pop_free(extra, X509_free);
	free(alg);
	sbuf_free(&der);
	sbuf_free(&subj);
	if (v.bad)
		return SIGN_EBADSIG;
	if (v.untrusted)
		return SIGN_EUNTRUSTED;
	return v.data_bad ? IKEN_EDATA : 0;
}

int sign_verify(const char *xml, size_t len, const char *data_elem, const char *ca_file,
		const char *crl_file, time_t now, struct sbuf *report)
{
	struct sbuf dummy = { 0 }, err = { 0 };
	xmlDocPtr doc = NULL;
	if (!report)
		report = &dummy;
	sbuf_add(report, "", 0);
	int rc = parse_xml(xml, len, &doc, &err);
	if (rc) {
		sbuf_printf(report, L("NG: %s", "FAILED: %s"), err.s);
	} else {
		rc = verify_doc(doc, data_elem, 1, ca_file, crl_file, now, report);
		sbuf_puts(report, rc == 0 ? L("署名は正しく、証明書は信頼できます\n", "the signature is valid and the certificate trusted\n")
				: L("署名の検証に失敗しました\n", "signature verification failed\n"));
	}
	xmlFreeDoc(doc);
	sbuf_free(&err);
	sbuf_free(&dummy);
	return rc;
}

/* --- PIN entry --- */

static volatile sig_atomic_t pin_signal;

static void pin_on_signal(int s)
{
	pin_signal = s;
}

/* Reads one line from fd into buf; the rest of a longer line is read and dropped. */
static int read_line(int fd, char *buf, size_t n, int stop_on_signal)
{
	size_t len = 0;
	int too_long = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR && !(stop_on_signal && pin_signal))
				continue;
			OPENSSL_cleanse(buf, n);
			return errno == EINTR ? SIGN_ECANCEL : -errno;
		}
		if (r == 0 || c == '\n')
			break;
		if (len + 1 < n)
			buf[len++] = c;
		else
			too_long = 1;
		c = 0;
	}
	if (len && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (too_long) {
		OPENSSL_cleanse(buf, n);
		return IKEN_ELIMIT;
	}
	return 0;
}

int sign_read_pin(const char *pin_file, const char *prompt, char *buf, size_t n)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction old[ARRAY_SIZE(sigs)], sa;
	struct termios saved, quiet;
	int rc;

	if (!buf || n < 2)
		return IKEN_ELIMIT;
	buf[0] = '\0';
	if (pin_file) {
		int fd = open(pin_file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		rc = read_line(fd, buf, n, 0);
		close(fd);
		return rc;
	}
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (tcgetattr(fd, &saved) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = pin_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;  /* no SA_RESTART: read() returns with EINTR */
	pin_signal = 0;
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		sigaction(sigs[i], NULL, &old[i]);
		if (old[i].sa_handler != SIG_IGN)  /* an ignored signal stays ignored */
			sigaction(sigs[i], &sa, NULL);
	}
	quiet = saved;
	quiet.c_lflag &= (tcflag_t)~ECHO;
	quiet.c_lflag |= ECHONL;
	tcsetattr(fd, TCSAFLUSH, &quiet);
	if (prompt && write(fd, prompt, strlen(prompt)) < 0) {
		/* the prompt is a courtesy; reading goes on */
	}
	rc = read_line(fd, buf, n, 1);
	tcsetattr(fd, TCSAFLUSH, &saved);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	close(fd);
	if (pin_signal) {
		OPENSSL_cleanse(buf, n);
		raise(pin_signal);
		return SIGN_ECANCEL;
	}
	return rc;
}
