/* Send and receive logs: every publication and every result import recorded with time, Unix
 * user, file name, SHA-256 and outcome (the safety guideline's evidence of transmission). */
#ifndef IKEN_AUDIT_H
#define IKEN_AUDIT_H

#include <stdint.h>
#include "store/store.h"

enum audit_log { AUDIT_SEND, AUDIT_RECV };

struct audit_entry {
	uint64_t seq;
	char time[15];        /* YYYYMMDDHHMMSS */
	const char *user, *file, *sha256, *outcome;
};

/* Appends one entry inside the caller's write transaction. No personal data: identifiers only. */
int audit_add(struct store_txn *t, enum audit_log log, const char *user, const char *file,
	      const char *sha256, const char *outcome);
/* Calls cb for every entry, oldest first; stops when cb returns non-zero. */
int audit_scan(struct store_txn *t, enum audit_log log,
	       int (*cb)(const struct audit_entry *e, void *ctx), void *ctx);

#endif
