/* Error codes: 0 or a negative errno value, or one of the IKEN_E* codes below.
 * LMDB, libxml2 and OpenSSL errors are translated into these in one place each. */
#ifndef IKEN_ERRCODE_H
#define IKEN_ERRCODE_H

enum {
	IKEN_EOK = 0,
	IKEN_ECONFLICT = -1000, /* record changed since the revision the update started from */
	IKEN_ENOTFOUND,         /* no such record or key */
	IKEN_ESCHEMA,           /* store written by a newer iken */
	IKEN_EFORM,             /* broken form file */
	IKEN_EDATA,             /* data fails its checks */
	IKEN_ESTORE,            /* store (LMDB) failure */
	IKEN_EUTF8,             /* invalid UTF-8 */
	IKEN_ELIMIT,            /* input over a size limit */
	IKEN_ECSV,              /* malformed CSV */
	IKEN_EXML,              /* malformed XML */
	IKEN_EEXIST,            /* key already present */
	IKEN_ESTATE,            /* operation not allowed in the record's state */
	IKEN_EPERM,             /* the user's role does not allow it */
	IKEN_ECRYPTO,           /* OpenSSL failure */
};

/* Message for an error code (English, translated with gettext). Never NULL. */
const char *iken_strerror(int err);

#endif
