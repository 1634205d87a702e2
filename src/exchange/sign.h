/* Electronic signature of request envelopes: an enveloped XML signature (XMLDSig, XAdES-BES
 * shaped) made with the doctor's HPKI card through PKCS#11, or with a PKCS#12 file; and its
 * verification.
 *
 * The signature is the last child of the envelope's root:
 *   ds:Signature Id="Signature"
 *     ds:SignedInfo: exclusive C14N, rsa-sha256 or ecdsa-sha256,
 *       ds:Reference URI="#<Id of the data element>" (exc-c14n, sha256),
 *       ds:Reference Type="http://uri.etsi.org/01903#SignedProperties" URI="#SignedProperties"
 *     ds:SignatureValue, ds:KeyInfo/ds:X509Data/ds:X509Certificate (the signer's certificate)
 *     ds:Object/xades:QualifyingProperties Target="#Signature"/xades:SignedProperties
 *       Id="SignedProperties"/xades:SignedSignatureProperties: SigningTime,
 *       SigningCertificateV2 (CertDigest sha256 of the certificate, IssuerSerialV2)
 * The data element receives an attribute Id (its own name) when it has none. OpenSSL does all
 * the cryptography, libxml2 the canonicalization; Base64 values have no line breaks.
 *
 * Errors: 0, an IKEN_E* code, or one of the SIGN_E* codes below, always with a one-line message
 * (Japanese when iken_lang_ja(), else English) appended to err. sign_errclass() maps a SIGN_E*
 * code onto IKEN_ECRYPTO / IKEN_EPERM for callers that only know those. PINs are never stored
 * beyond the key's lifetime, never logged, and wiped with OPENSSL_cleanse(). */
#ifndef IKEN_SIGN_H
#define IKEN_SIGN_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include "util.h"

#define SIGN_MAX_FILE (16 * 1024 * 1024)  /* larger envelopes are refused */
#define SIGN_PIN_MAX 256                  /* buffer size that fits any PIN or password */

enum {
	SIGN_EMODULE = -1100, /* the PKCS#11 module is missing or cannot be loaded */
	SIGN_ETOKEN,          /* no card (token) present, or not the one asked for */
	SIGN_EPIN,            /* wrong PIN or PKCS#12 password */
	SIGN_ELOCKED,         /* the PIN is locked */
	SIGN_ENOKEY,          /* no signing key with its certificate on the card / in the file */
	SIGN_EDEVICE,         /* any other failure reported by the card or its module */
	SIGN_EEXPIRED,        /* the certificate has expired */
	SIGN_ENOTYET,         /* the certificate is not valid yet */
	SIGN_EUSAGE,          /* its key usage allows neither digitalSignature nor nonRepudiation */
	SIGN_ESUBJECT,        /* its subject is not the doctor of the document */
	SIGN_ENOSIG,          /* the file has no signature */
	SIGN_EBADSIG,         /* a digest, the signature value or the signed properties do not match */
	SIGN_EUNTRUSTED,      /* the certificate chain does not verify (or no CA was given) */
	SIGN_ECANCEL,         /* PIN entry interrupted */
	SIGN__LAST
};

/* IKEN_EPERM for the refusals about the certificate or the PIN (SIGN_EPIN, SIGN_ELOCKED,
 * SIGN_EEXPIRED, SIGN_ENOTYET, SIGN_EUSAGE, SIGN_ESUBJECT), IKEN_ECRYPTO for the other SIGN_E*
 * codes, any other code unchanged. */
int sign_errclass(int rc);
/* A short message for any SIGN_E* code (Japanese or English), else iken_strerror(). */
const char *sign_strerror(int rc);

/* A signing key and its certificate. */
struct sign_key;

/* Loads the key and certificate of a PKCS#12 file; pin is its password (may be ""). Returns 0,
 * -errno (file), SIGN_EPIN, SIGN_ENOKEY or IKEN_ECRYPTO. */
int sign_key_pkcs12(const char *path, const char *pin, struct sign_key **out, struct sbuf *err);

/* Opens the card through the PKCS#11 module (dlopen), chooses the token (token: NULL = the
 * first token holding a signing certificate; "slot:N" = slot N; else the token label), logs in
 * with pin (NULL on a reader with its own PIN pad) and finds the signing key: a private key with
 * CKA_SIGN whose CKA_ID is that of an X.509 certificate, the one with nonRepudiation preferred.
 * The session stays open until sign_key_free(). Returns 0, SIGN_EMODULE, SIGN_ETOKEN, SIGN_EPIN,
 * SIGN_ELOCKED, SIGN_ENOKEY or SIGN_EDEVICE. */
int sign_key_pkcs11(const char *module, const char *pin, const char *token, struct sign_key **out,
		    struct sbuf *err);

void sign_key_free(struct sign_key *k);

/* The key's certificate (owned by the key). */
X509 *sign_key_cert(const struct sign_key *k);

/* Checks a signing certificate before use: valid on now, key usage digitalSignature or
 * nonRepudiation (or no key usage extension), and, when doctor_name is not NULL, that the
 * doctor's name with its spaces (ASCII and full-width) removed occurs in the subject's CN, in
 * surname+givenName (either order) or in pseudonym (also in directoryName entries of the
 * subjectAltName), ASCII letters compared without case. The subject, one line (RFC 2253 order,
 * UTF-8), replaces subject_out (may be NULL) whatever the result, for the doctor to confirm.
 * Returns 0, SIGN_EEXPIRED, SIGN_ENOTYET, SIGN_EUSAGE or SIGN_ESUBJECT. */
int sign_check_cert(X509 *cert, time_t now, const char *doctor_name, struct sbuf *subject_out,
		    struct sbuf *err);

/* Signs an envelope: parses xml (no network, no DTD), finds the only element named data_elem
 * (local name, any namespace; "DocumentData" from forms/terminal.xml), gives it an Id when it has none,
 * appends the signature as the last child of the root, and appends the whole signed document
 * (UTF-8, no BOM; the rest of the document byte-for-byte as libxml2 writes it back) to out. The
 * certificate must pass sign_check_cert() without a name on now, which is also the SigningTime.
 * The result is verified again (without the chain) before it is handed out. Returns 0,
 * IKEN_EXML (not well-formed, DTD, already signed, data element missing or repeated, Id taken),
 * IKEN_EDATA (the data element is not strict Base64 of bytes without NUL), IKEN_ELIMIT, a
 * sign_check_cert() code, a code of the card, or IKEN_ECRYPTO; out is unchanged on failure. */
int sign_envelope(const char *xml, size_t len, const char *data_elem, const struct sign_key *key,
		  time_t now, struct sbuf *out, struct sbuf *err);

/* Verifies a signed envelope and reports every check, one line each ("OK: …" or "NG: …" in
 * Japanese, "ok: …" or "FAILED: …" in English) appended to report: the structure, both reference
 * digests (recomputed exclusive C14N), that the data reference is to the only element named
 * data_elem (NULL: not checked) and that it holds strict Base64 of data without NUL bytes, the
 * signed properties (signing time, certificate digest and issuer/serial), the signature value
 * with the certificate's public key, and the certificate chain against the CA certificates of
 * ca_file (PEM, one or more; NULL: the chain is not trusted) with the CRLs of crl_file (PEM or
 * DER; NULL: no revocation check) at time now. Returns 0 when all pass, else the first of
 * SIGN_ENOSIG, SIGN_EBADSIG (structure, digests, properties, signature value), SIGN_EUNTRUSTED
 * (chain, CRL, no CA), IKEN_EDATA (the data is not clean Base64), IKEN_EXML or IKEN_ELIMIT. */
int sign_verify(const char *xml, size_t len, const char *data_elem, const char *ca_file,
		const char *crl_file, time_t now, struct sbuf *report);

/* Reads a PIN into buf (size n, NUL-terminated): the first line of pin_file when it is not NULL,
 * else from /dev/tty with echo off after printing prompt (may be NULL) there; the terminal is
 * restored even when a signal interrupts the entry (the signal is then delivered again). The
 * trailing newline is removed; the caller wipes buf with OPENSSL_cleanse() after use. Returns 0,
 * -errno (-ENXIO: no terminal), IKEN_ELIMIT (longer than n - 1) or SIGN_ECANCEL. */
int sign_read_pin(const char *pin_file, const char *prompt, char *buf, size_t n);

#endif
