/* The store: one LMDB environment per data directory. Records of every form, their secondary
 * indexes (insured number, kana-name prefix, status, date), counters, and named key/value tables
 * for the modules that need their own (send queue, envelopes, results, logs, autosave).
 *
 * All access goes through transactions run by store_write()/store_read(): the callback may be
 * run more than once (the map is grown and the transaction retried when LMDB reports it full), so
 * it must not have side effects outside the transaction before it returns. Transactions do not
 * nest (-EDEADLK). Once a call inside a transaction fails in LMDB itself (not just "not found"),
 * every later call in it fails the same way and the transaction is not committed.
 *
 * Open a directory once per process: LMDB forbids two environments on the same files in one
 * process (its locks are per process). Other processes may open it at the same time. */
#ifndef IKEN_STORE_H
#define IKEN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "model/record.h"

#define STORE_SCHEMA_VERSION 2

struct store;
struct store_txn;

/* Opens (creating when needed) the store in dir: directory 0700, files 0600. Refuses a store
 * written by a newer schema (IKEN_ESCHEMA) and migrates an older one; IKEN_EDATA for an
 * unreadable schema version. *out is NULL on failure. */
int store_open(const char *dir, struct store **out);
void store_close(struct store *st);
const char *store_dir(const struct store *st);

/* Which field of a form feeds which index; fields may be NULL. Strings are copied. A form
 * without a spec has only the status index. The spec is kept in the store and is what every
 * process indexes the form with; the next transaction applies a new or changed one (rebuilding
 * the form's keys), so it may be set before or after records of the form exist. Empty values
 * are not indexed. */
struct store_index_spec {
	const char *form;
	const char *insured; /* exact match: 被保険者番号 */
	const char *kana;    /* prefix match: kana name */
	const char *date;    /* range match: YYYYMMDD */
};
void store_set_index(struct store *st, const struct store_index_spec *spec);

typedef int (*store_fn)(struct store_txn *txn, void *ctx);
/* Runs fn in a write transaction; commits when fn returns 0, aborts otherwise and returns fn's
 * value. Grows the map and reruns fn when the map is full. */
int store_write(struct store *st, store_fn fn, void *ctx);
/* Runs fn in a read-only transaction (a consistent snapshot). */
int store_read(struct store *st, store_fn fn, void *ctx);

/* --- records (inside a transaction) --- */
/* *out is the caller's, freed with rec_free(). IKEN_ENOTFOUND when absent. */
int store_rec_get(struct store_txn *t, uint64_t id, struct record **out);
/* Stores a new record: assigns r->id, revision 1, created/updated = now, created_by/updated_by =
 * user (these are written into r only when the writes succeed). The record stays the caller's.
 * IKEN_EDATA for an empty form id or a bad status. */
int store_rec_insert(struct store_txn *t, struct record *r, const char *user);
/* Replaces record r->id when its stored revision is still base_rev (else IKEN_ECONFLICT and
 * nothing changes, r included); sets revision base_rev+1, updated, updated_by in r, and takes
 * created/created_by from the stored record. IKEN_ENOTFOUND when absent. */
int store_rec_update(struct store_txn *t, struct record *r, uint32_t base_rev, const char *user);
int store_rec_delete(struct store_txn *t, uint64_t id);

/* Called inside the write transaction after every record insert, update and delete that
 * succeeded: old is NULL for an insert, now NULL for a delete, user the one given to the write ("" for a delete).
 * Its error fails the write (and so the transaction). The audit trail (store/audit.h) is the one
 * user. */
typedef int (*store_rec_hook)(struct store_txn *t, const struct record *old,
			      const struct record *now, const char *user, void *ctx);
/* Sets the hook; ctx is freed with free_ctx (when not NULL) once the hook is replaced or the
 * store closed. */
void store_set_rec_hook(struct store *st, store_rec_hook fn, void *ctx, void (*free_ctx)(void *));
/* The hook's ctx (NULL when none is set), for the module that set it. */
void *store_rec_hook_ctx(struct store_txn *t);

struct store_query {
	const char *form;      /* required */
	int status;            /* -1 any, else enum rec_status */
	const char *insured;   /* exact, or NULL */
	const char *kana;      /* prefix (bytes of the UTF-8 value), or NULL */
	const char *date_from; /* YYYYMMDD inclusive, or NULL */
	const char *date_to;   /* inclusive, or NULL */
};
/* Ids of the matching records (all criteria given; NULL or "" = not asked), ascending; read from
 * the indexes only. Indexed values are compared on their first 256 bytes. *ids is the caller's
 * (never NULL on success, even when *n is 0). */
int store_find(struct store_txn *t, const struct store_query *q, uint64_t **ids, size_t *n);
/* Calls cb with every matching record (ascending id; the record is lent for the call) and stops
 * when cb returns non-zero, returning that value. */
int store_find_each(struct store_txn *t, const struct store_query *q,
		    int (*cb)(const struct record *r, void *ctx), void *ctx);
/* Number of records of a form with a status (-1: any), from the status index. */
int store_count(struct store_txn *t, const char *form, int status, size_t *n);

/* --- named tables: "queue", "envelopes", "results", "sendlog", "recvlog" (empty since schema
 *     2: the audit trail took them over), "autosave", "quarantine", "misc", "audit". Unknown names give IKEN_ENOTFOUND; keys are 1..511 bytes (else
 *     IKEN_ELIMIT). --- */
int store_kv_put(struct store_txn *t, const char *table, const void *k, size_t kl,
		 const void *v, size_t vl);
/* *v is a copy, NUL-terminated, the caller's. IKEN_ENOTFOUND when absent. */
int store_kv_get(struct store_txn *t, const char *table, const void *k, size_t kl,
		 void **v, size_t *vl);
int store_kv_del(struct store_txn *t, const char *table, const void *k, size_t kl);
/* Calls cb for every key starting with prefix (pl 0: every key), in key order; stops early when
 * cb returns non-zero and returns that value. k and v are valid during the call only; cb may
 * write to the table (e.g. delete the key it was given). */
typedef int (*store_kv_cb)(const void *k, size_t kl, const void *v, size_t vl, void *ctx);
int store_kv_scan(struct store_txn *t, const char *table, const void *prefix, size_t pl,
		  store_kv_cb cb, void *ctx);
/* Next value of a named counter (starts at 1). */
int store_seq_next(struct store_txn *t, const char *name, uint64_t *out);

/* --- one-transaction conveniences (on failure, r keeps the metadata it had) --- */
int store_get(struct store *st, uint64_t id, struct record **out);
int store_insert(struct store *st, struct record *r, const char *user);
int store_update(struct store *st, struct record *r, uint32_t base_rev, const char *user);

/* Map size in bytes now (for status and tests). */
size_t store_map_size(struct store *st);

#endif
