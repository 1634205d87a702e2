/* The audit trail: one hash chain of entries in the store's "audit" table, each naming the time,
 * the Unix user, their role, the action and the record ids — never personal data (no names,
 * insured numbers or text from records; field ids, file names iken or the terminal made, SHA-256
 * sums and short outcomes iken words itself). Every entry carries the SHA-256 of the one before,
 * so a changed, removed, inserted or reordered entry is found by audit_verify(). The send and
 * receive logs are views of it (actions send, cancel, result). doc/audit.md has the design and
 * the exact serialization that is hashed.
 *
 * An entry is appended inside the write transaction of the change it records (record writes are
 * caught centrally through the store's record hook, see audit_attach()), so both commit or
 * neither does. Reads (opening, showing, exporting, printing a document) are appended in a small
 * transaction of their own before the data is shown. */
#ifndef IKEN_AUDIT_H
#define IKEN_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include "store/store.h"
#include "util.h"

enum audit_action {
	AUDIT_CREATE,   /* a record stored for the first time (any form: documents, users, settings) */
	AUDIT_UPDATE,   /* a record changed: the ids of the changed fields, the status change */
	AUDIT_FINALIZE, /* draft → final (確定) */
	AUDIT_REOPEN,   /* final or rejected → draft again */
	AUDIT_DELETE,
	AUDIT_OPEN,     /* a document opened on the screen */
	AUDIT_SHOW,     /* iken show */
	AUDIT_EXPORT,   /* iken export: the ids written */
	AUDIT_IMPORT,   /* iken import: form, the ids written, the file's SHA-256 */
	AUDIT_PRINT,
	AUDIT_SEND,     /* an attempt queued, published, or its publication failed */
	AUDIT_CANCEL,
	AUDIT_RESULT,   /* a result file read: imported, quarantined, put back */
	AUDIT_BACKUP,
	AUDIT_RESTORE,
	AUDIT_MIGRATE,  /* the store's schema brought up to date */
	AUDIT__COUNT
};

/* The word of an action ("create", …), used in the trail and by --action. */
const char *audit_action_name(enum audit_action a);
/* 0, or IKEN_ENOTFOUND for an unknown word. */
int audit_action_parse(const char *word, enum audit_action *out);

/* What an entry says; everything but action may be NULL/0. Never pass text typed into a
 * record or read from an outside file (names, numbers, messages): ids and iken's own words. */
struct audit_event {
	enum audit_action action;
	const char *user;     /* Unix login; NULL or "": the one running iken (iken_user()) */
	const char *form;     /* form id */
	const uint64_t *ids;  /* record ids */
	size_t nids;
	const char *fields;   /* field ids (changed fields), comma-separated */
	const char *file;     /* a file iken or the terminal named (request, result, backup) */
	const char *sha256;   /* of that file, an envelope, an imported file */
	const char *detail;   /* a short outcome in iken's words */
	int64_t time;         /* 0: now (iken_now()); the migration passes the old logs' times */
};

/* Appends one entry inside the caller's write transaction. */
int audit_add(struct store_txn *t, const struct audit_event *ev);
/* The same in a write transaction of its own (for reads and actions outside the store: print,
 * backup, restore). */
int audit_log(struct store *st, const struct audit_event *ev);
/* Reads record id and appends the entry for reading it (action: AUDIT_OPEN, AUDIT_SHOW…, with the
 * record's form and id) in one small write transaction: nothing is read without its entry.
 * *out is the caller's (rec_free()). IKEN_ENOTFOUND when there is no such record. */
int audit_get_record(struct store *st, uint64_t id, enum audit_action action, const char *user,
		     struct record **out);

/* The role code of login (the user form's codes; "" when unknown) into out. */
typedef void (*audit_role_fn)(struct store_txn *t, const char *login, struct sbuf *out,
			      void *ctx);
/* Attaches the trail to a store: from now on every record insert, update and delete appends its
 * entry (create, update with the changed field ids, finalize, reopen, delete), and entries name
 * the user's role through role_of (may be NULL; ctx must outlive the store). */
void audit_attach(struct store *st, audit_role_fn role_of, void *ctx);

/* An entry as stored; the strings are valid during the callback only. */
struct audit_entry {
	uint64_t seq;
	int64_t time;
	const char *user, *role, *action, *form, *ids, *fields, *file, *sha256, *detail;
	const char *prev, *hash; /* hex SHA-256 of the entry before and of this one */
};
/* Calls cb for every readable entry in the order stored (oldest first); stops when cb returns
 * non-zero and returns that value. Damaged entries are skipped (audit_verify() names them). */
int audit_scan(struct store_txn *t, int (*cb)(const struct audit_entry *e, void *ctx), void *ctx);
/* 1 when the entry's ids (a list like "3,5-9") name id. */
int audit_entry_has_id(const struct audit_entry *e, uint64_t id);
/* The end of the chain: the last sequence number and its hash (hex; 64 zeros when empty), for
 * an anchor kept outside the store (a backup's side file, a printed report). */
int audit_head(struct store_txn *t, uint64_t *seq, char hash[65]);

/* --- verification --- */
enum audit_problem_kind {
	AP_CHANGED,    /* seq..seq_to: the contents do not match the entry's own hash */
	AP_LINK,       /* seq..seq_to: does not carry the hash of the entry before (that one was
			* changed and its hash recomputed, or this one forged); seq 1: does not
			* start the chain */
	AP_REMOVED,    /* seq..seq_to: missing */
	AP_REORDERED,  /* seq..seq_to: stored out of order, after entry `other` */
	AP_DUPLICATE,  /* seq: appears again, under key `other`: an entry was inserted */
	AP_DAMAGED,    /* under key seq: unreadable */
	AP_FOREIGN,    /* an entry under a key that is no sequence number, after entry seq */
	AP_AFTER_END,  /* seq..seq_to: after the recorded end (entry `other`): inserted */
	AP_END_CHANGED,/* the recorded end names entry seq with another hash */
	AP_NO_END,     /* the record of the end is missing or unreadable */
};
struct audit_problem {
	enum audit_problem_kind kind;
	uint64_t seq, seq_to, other;
};
struct audit_summary {
	uint64_t entries;   /* entries read */
	uint64_t last;      /* the recorded end's sequence number */
	char head[65];      /* and its hash */
	size_t problems;
};
/* Recomputes the chain; calls cb (may be NULL) for every problem, consecutive ones of a kind
 * merged into ranges. Memory stays small however long the trail is. Returns 0 (whether or not
 * problems were found: see sum->problems) or a store error. */
int audit_verify(struct store_txn *t, void (*cb)(const struct audit_problem *p, void *ctx),
		 void *ctx, struct audit_summary *sum);
/* One line (no newline) saying what the problem is and where, in the user's language. */
void audit_problem_text(const struct audit_problem *p, struct sbuf *out);

/* The store's migration to schema 2: carries the entries of the old, unchained "sendlog" and
 * "recvlog" tables into the chain (as send/cancel/result entries with their original times,
 * merged in time order), empties those tables and appends a migrate entry. */
int audit_migrate_logs(struct store_txn *t);

#endif
