/* p11shim: a PKCS#11 module for tests/sign.sh that forwards to a real one (SoftHSM2) and plays
 * the parts of an HPKI card SoftHSM2 cannot:
 *   IKEN_P11SHIM_MODULE  the real module (default /usr/lib/softhsm/libsofthsm2.so)
 *   IKEN_P11SHIM_FLAGS   comma-separated:
 *     nosha256    no CKM_SHA256_RSA_PKCS (cards that only do CKM_RSA_PKCS on a DigestInfo)
 *     locked      the token reports its user PIN locked; C_Login returns CKR_PIN_LOCKED
 *     alwaysauth  the signing key has CKA_ALWAYS_AUTHENTICATE: C_Sign refuses unless
 *                 C_Login(CKU_CONTEXT_SPECIFIC) came after C_SignInit
 *   IKEN_P11SHIM_LOG     a file receiving one line per C_SignInit ("C_SignInit mechanism 0x…")
 *                        and per context-specific login ("C_Login context-specific").
 * Built as a shared object by the test rules only. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST shim;
static int no_sha256, locked, always_auth;
static int context_login;  /* since the last C_SignInit */

static int flag(const char *name)
{
	const char *f = getenv("IKEN_P11SHIM_FLAGS");
	size_t n = strlen(name);
	for (const char *p = f; p && *p;) {
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return 1;
		p = strchr(p, ',');
		p = p ? p + 1 : NULL;
	}
	return 0;
}

static void log_line(const char *line)
{
	const char *path = getenv("IKEN_P11SHIM_LOG");
	FILE *fp = path ? fopen(path, "a") : NULL;
	if (!fp)
		return;
	fprintf(fp, "%s\n", line);
	fclose(fp);
}

static CK_RV shim_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO *info)
{
	CK_RV rv = real->C_GetTokenInfo(slot, info);
	if (rv == CKR_OK && locked)
		info->flags |= CKF_USER_PIN_LOCKED;
	return rv;
}

static CK_RV shim_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO *info)
{
	if (no_sha256 && type == CKM_SHA256_RSA_PKCS)
		return CKR_MECHANISM_INVALID;
	return real->C_GetMechanismInfo(slot, type, info);
}

static CK_RV shim_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, CK_UTF8CHAR *pin, CK_ULONG len)
{
	if (locked)
		return CKR_PIN_LOCKED;
	if (user == CKU_CONTEXT_SPECIFIC && always_auth) {
		/* the PIN is checked the way the token would: a second login of the user */
		CK_RV rv = real->C_Login(s, CKU_USER, pin, len);
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
			return rv;
		context_login = 1;
		log_line("C_Login context-specific");
		return CKR_OK;
	}
	return real->C_Login(s, user, pin, len);
}

static CK_RV shim_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n)
{
	CK_RV rv = real->C_GetAttributeValue(s, o, t, n);
	for (CK_ULONG i = 0; always_auth && i < n; i++) {
		if (t[i].type != CKA_ALWAYS_AUTHENTICATE)
			continue;
		if (t[i].pValue && t[i].ulValueLen >= 1)
			*(CK_BBOOL *)t[i].pValue = CK_TRUE;
		t[i].ulValueLen = 1;
		if (rv == CKR_ATTRIBUTE_TYPE_INVALID && n == 1)
			rv = CKR_OK;
	}
	return rv;
}

static CK_RV shim_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key)
{
	context_login = 0;
	if (m) {
		char line[64];
		snprintf(line, sizeof(line), "C_SignInit mechanism 0x%lx", (unsigned long)m->mechanism);
		log_line(line);
	}
	return real->C_SignInit(s, m, key);
}

static CK_RV shim_Sign(CK_SESSION_HANDLE s, CK_BYTE *data, CK_ULONG len, CK_BYTE *sig, CK_ULONG *siglen)
{
	if (always_auth && !context_login)
		return CKR_USER_NOT_LOGGED_IN;
	return real->C_Sign(s, data, len, sig, siglen);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **list);
CK_RV C_GetFunctionList(CK_FUNCTION_LIST **list)
{
	if (!real) {
		const char *path = getenv("IKEN_P11SHIM_MODULE");
		void *dl = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
		CK_C_GetFunctionList get = dl ? (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList") : NULL;
		if (!get || get(&real) != CKR_OK || !real)
			return CKR_GENERAL_ERROR;
		no_sha256 = flag("nosha256");
		locked = flag("locked");
		always_auth = flag("alwaysauth");
		shim = *real;
		shim.C_GetTokenInfo = shim_GetTokenInfo;
		shim.C_GetMechanismInfo = shim_GetMechanismInfo;
		shim.C_Login = shim_Login;
		shim.C_GetAttributeValue = shim_GetAttributeValue;
		shim.C_SignInit = shim_SignInit;
		shim.C_Sign = shim_Sign;
	}
	*list = &shim;
	return CKR_OK;
}
