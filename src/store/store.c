#include "config.h"
#include "store/store.h"
#include "store/audit.h"
#include "errcode.h"
#include "util.h"

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Layout: named databases in one environment.
 *   meta        "schema_version" (ASCII decimal), "seq:NAME" (u64 BE), "index:FORM" (the index
 *               spec the form's keys were built with: insured \0 kana \0 date, "" = none)
 *   records     id (u64 BE) -> rec_encode()
 *   idx_*       form \0 value \0 id (u64 BE) -> "" (idx_status: form \0 status-byte \0 id)
 *   queue ...   the modules' own key/value tables
 *   audit       the audit trail (store/audit.c): seq (u64 BE) -> entry, "head" -> its end
 * A form's index keys sort together, ordered by value then id, so lookups are prefix or range
 * scans that never read records.
 */

#define DEFAULT_MAPSIZE (1024 * 1024)
#define MAX_DBS 32
/* Bounds the begin/grow/retry loops; doubling 40 times from 64 KiB exceeds any disk. */
#define MAX_ATTEMPTS 64
/* Index values longer than this are cut (at a UTF-8 boundary) so keys stay under LMDB's
 * 511-byte limit; queries are cut the same way, so only values sharing 256 bytes collide. */
#define IDX_VAL_MAX 256
#define FORM_MAX 128
#define NAME_MAX_LEN 256

enum table {
	T_META,
	T_RECORDS,
	T_IDX_INSURED, /* the three spec-driven indexes: same order as enum spec_field */
	T_IDX_KANA,
	T_IDX_DATE,
	T_IDX_STATUS,
	T_QUEUE, /* first of the modules' tables */
	T_ENVELOPES,
	T_RESULTS,
	T_SENDLOG,
	T_RECVLOG,
	T_AUTOSAVE,
	T_QUARANTINE,
	T_MISC,
	T_AUDIT,
	T__COUNT
};

static const char *const table_names[T__COUNT] = {
	"meta", "records", "idx_insured", "idx_kana", "idx_date", "idx_status",
	"queue", "envelopes", "results", "sendlog", "recvlog", "autosave", "quarantine", "misc",
	"audit",
};

enum spec_field { SF_INSURED, SF_KANA, SF_DATE, SF__COUNT };

/* A spec given to store_set_index; dirty until a committed transaction has applied it. */
struct mem_spec {
	char *form;
	char *field[SF__COUNT]; /* "" = not indexed */
	int dirty;
};

struct store {
	MDB_env *env;
	char *dir;
	MDB_dbi dbi[T__COUNT];
	struct mem_spec *specs;
	size_t nspecs;
	int busy; /* a transaction of this handle is running */
	store_rec_hook rec_hook; /* the audit trail's, called after every record write */
	void *hook_ctx;
	void (*hook_free)(void *ctx);
};

struct store_txn {
	struct store *st;
	MDB_txn *txn;
	/* First LMDB failure that spoils the transaction (raw code, e.g. MDB_MAP_FULL). Sticky:
	 * every later call fails with it, and store_write() decides on it whether to grow and
	 * retry, whatever the callback made of the error. */
	int err;
};

typedef int (*txn_fn)(struct store_txn *t, void *ctx);

/* The one place LMDB codes become iken codes. */
static int store_err(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return IKEN_ENOTFOUND;
	case MDB_KEYEXIST:
		return IKEN_EEXIST;
	}
	if (rc > 0)
		return -rc;
	return IKEN_ESTORE;
}

/* Records rc in the transaction unless it is an ordinary answer (absent/present key). */
static int txn_fail(struct store_txn *t, int rc)
{
	if (rc && rc != MDB_NOTFOUND && rc != MDB_KEYEXIST && !t->err)
		t->err = rc;
	return store_err(rc);
}

static void put_be64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t get_be64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* --- checked LMDB calls: refuse once the transaction is spoiled --- */

static int t_get(struct store_txn *t, enum table tb, const void *k, size_t kl, MDB_val *v)
{
	if (t->err)
		return store_err(t->err);
	MDB_val key = { kl, (void *)(uintptr_t)k };
	return txn_fail(t, mdb_get(t->txn, t->st->dbi[tb], &key, v));
}

static int t_put(struct store_txn *t, enum table tb, const void *k, size_t kl, const void *v,
		 size_t vl, unsigned flags)
{
	if (t->err)
		return store_err(t->err);
	MDB_val key = { kl, (void *)(uintptr_t)k };
	MDB_val val = { vl, (void *)(uintptr_t)v };
	return txn_fail(t, mdb_put(t->txn, t->st->dbi[tb], &key, &val, flags));
}

static int t_del(struct store_txn *t, enum table tb, const void *k, size_t kl)
{
	if (t->err)
		return store_err(t->err);
	MDB_val key = { kl, (void *)(uintptr_t)k };
	return txn_fail(t, mdb_del(t->txn, t->st->dbi[tb], &key, NULL));
}

static int t_cursor(struct store_txn *t, enum table tb, MDB_cursor **c)
{
	if (t->err)
		return store_err(t->err);
	return txn_fail(t, mdb_cursor_open(t->txn, t->st->dbi[tb], c));
}

/* Positions c on the first key >= start (the first key at all when start is empty). */
static int t_seek(struct store_txn *t, MDB_cursor *c, const void *start, size_t sl, MDB_val *k,
		  MDB_val *v)
{
	if (t->err)
		return store_err(t->err);
	k->mv_size = sl;
	k->mv_data = (void *)(uintptr_t)start;
	return txn_fail(t, mdb_cursor_get(c, k, v, sl ? MDB_SET_RANGE : MDB_FIRST));
}

static int has_prefix(const MDB_val *k, const void *p, size_t pl)
{
	return pl == 0 || (k->mv_size >= pl && memcmp(k->mv_data, p, pl) == 0);
}

/* Keys from start on while they begin with start's first pl bytes. cb returns 0 to go on,
 * SCAN_STOP to end the scan quietly, or an error. cb must not write to the table. */
#define SCAN_STOP 1
typedef int (*scan_fn)(const MDB_val *k, const MDB_val *v, void *ctx);

static int scan(struct store_txn *t, enum table tb, const void *start, size_t sl, size_t pl,
		scan_fn cb, void *ctx)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc = t_cursor(t, tb, &c);
	if (rc)
		return rc;
	for (rc = t_seek(t, c, start, sl, &k, &v); rc == 0;
	     rc = txn_fail(t, mdb_cursor_get(c, &k, &v, MDB_NEXT))) {
		if (!has_prefix(&k, start, pl))
			break;
		rc = cb(&k, &v, ctx);
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	if (rc == IKEN_ENOTFOUND || rc == SCAN_STOP)
		rc = 0;
	return rc;
}

/* Deletes every key that begins with prefix. Seeks afresh after each delete rather than trust
 * a cursor across deletes. */
static int delete_prefix(struct store_txn *t, enum table tb, const void *prefix, size_t pl)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	int rc = t_cursor(t, tb, &c);
	if (rc)
		return rc;
	while ((rc = t_seek(t, c, prefix, pl, &k, &v)) == 0 && has_prefix(&k, prefix, pl)) {
		rc = txn_fail(t, mdb_cursor_del(c, 0));
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	return rc == IKEN_ENOTFOUND ? 0 : rc;
}

/* --- id sets --- */

struct idset {
	uint64_t *v;
	size_t n, cap;
};

static void ids_add(struct idset *s, uint64_t id)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = id;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void ids_sort(struct idset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
}

/* acc = acc ∩ other; both sorted. */
static void ids_intersect(struct idset *acc, const struct idset *other)
{
	size_t i = 0, j = 0, o = 0;
	while (i < acc->n && j < other->n) {
		if (acc->v[i] < other->v[j]) {
			i++;
		} else if (acc->v[i] > other->v[j]) {
			j++;
		} else {
			acc->v[o++] = acc->v[i];
			i++;
			j++;
		}
	}
	acc->n = o;
}

/* --- index keys --- */

/* Length of v cut to IDX_VAL_MAX bytes without splitting a UTF-8 sequence. */
static size_t idx_len(const char *v)
{
	size_t n = strlen(v);
	if (n <= IDX_VAL_MAX)
		return n;
	n = IDX_VAL_MAX;
	while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* form \0 value (\0 when terminated): the start of a key or a prefix to scan for. */
static void idx_prefix(struct sbuf *b, const char *form, const void *val, size_t vl, int terminated)
{
	sbuf_reset(b);
	sbuf_add(b, form, strlen(form) + 1);
	sbuf_add(b, val, vl);
	if (terminated)
		sbuf_putc(b, '\0');
}

static void idx_key(struct sbuf *b, const char *form, const void *val, size_t vl, uint64_t id)
{
	unsigned char be[8];
	idx_prefix(b, form, val, vl, 1);
	put_be64(be, id);
	sbuf_add(b, be, 8);
}

/* The spec the form's keys are built with: persisted in meta, so that every process and the
 * migrations agree on it whatever specs this process has been given. */
struct spec {
	char *buf;
	const char *field[SF__COUNT]; /* NULL = not indexed */
};

static void spec_encode(char *const field[SF__COUNT], struct sbuf *b)
{
	for (int i = 0; i < SF__COUNT; i++) {
		sbuf_puts(b, field[i]);
		if (i + 1 < SF__COUNT)
			sbuf_putc(b, '\0');
	}
}

static void spec_meta_key(struct sbuf *b, const char *form)
{
	sbuf_reset(b);
	sbuf_printf(b, "index:%s", form);
}

static int spec_load(struct store_txn *t, const char *form, struct spec *sp)
{
	struct sbuf key = { 0 };
	MDB_val v;
	memset(sp, 0, sizeof(*sp));
	spec_meta_key(&key, form);
	int rc = t_get(t, T_META, key.s, key.len, &v);
	sbuf_free(&key);
	if (rc == IKEN_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	sp->buf = xstrndup(v.mv_data, v.mv_size);
	const char *p = sp->buf, *end = sp->buf + v.mv_size;
	for (int i = 0; i < SF__COUNT && p <= end; i++) {
		if (*p)
			sp->field[i] = p;
		p += strlen(p) + 1;
	}
	return 0;
}

static void spec_free(struct spec *sp)
{
	free(sp->buf);
}

enum { KEYS_STATUS = 1, KEYS_SPEC = 2, KEYS_ALL = 3 };

/* Adds (add) or removes the index keys of r. Removing a key that is already gone is fine. */
static int rec_keys(struct store_txn *t, const struct record *r, unsigned which, int add)
{
	struct sbuf k = { 0 };
	struct spec sp = { 0 };
	int rc = 0;
	if (which & KEYS_STATUS) {
		char s = (char)r->status;
		idx_key(&k, r->form, &s, 1, r->id);
		rc = add ? t_put(t, T_IDX_STATUS, k.s, k.len, "", 0, 0)
			 : t_del(t, T_IDX_STATUS, k.s, k.len);
		if (rc && !(rc == IKEN_ENOTFOUND && !add))
			goto cleanup;
		rc = 0;
	}
	if (!(which & KEYS_SPEC))
		goto cleanup;
	rc = spec_load(t, r->form, &sp);
	if (rc)
		goto cleanup;
	for (int i = 0; i < SF__COUNT; i++) {
		const char *val = sp.field[i] ? rec_get(r, sp.field[i]) : NULL;
		if (!val || !*val)
			continue;
		idx_key(&k, r->form, val, idx_len(val), r->id);
		rc = add ? t_put(t, T_IDX_INSURED + i, k.s, k.len, "", 0, 0)
			 : t_del(t, T_IDX_INSURED + i, k.s, k.len);
		if (rc && !(rc == IKEN_ENOTFOUND && !add))
			goto cleanup;
		rc = 0;
	}
cleanup:
	spec_free(&sp);
	sbuf_free(&k);
	return rc;
}

/* --- records --- */

static int check_record(const struct record *r)
{
	if (!r->form || !*r->form || (unsigned)r->status >= ST__COUNT)
		return IKEN_EDATA;
	if (strlen(r->form) > FORM_MAX)
		return IKEN_ELIMIT;
	return 0;
}

int store_rec_get(struct store_txn *t, uint64_t id, struct record **out)
{
	unsigned char key[8];
	MDB_val v;
	put_be64(key, id);
	int rc = t_get(t, T_RECORDS, key, 8, &v);
	if (rc)
		return rc;
	return rec_decode(v.mv_data, v.mv_size, out);
}

/* Writes the stored form of r (with r's metadata) and its keys. */
static int rec_put(struct store_txn *t, const struct record *r)
{
	struct sbuf enc = { 0 };
	unsigned char key[8];
	put_be64(key, r->id);
	rec_encode(r, &enc);
	int rc = t_put(t, T_RECORDS, key, 8, enc.s, enc.len, 0);
	sbuf_free(&enc);
	return rc ? rc : rec_keys(t, r, KEYS_ALL, 1);
}

static void set_str(char **dst, const char *s)
{
	char *c = xstrdup(s);
	free(*dst);
	*dst = c;
}

int store_rec_insert(struct store_txn *t, struct record *r, const char *user)
{
	uint64_t id;
	int rc = check_record(r);
	if (!rc)
		rc = store_seq_next(t, "record", &id);
	if (rc)
		return rc;
	/* Stored from a shallow copy: r itself changes only once the writes went through. */
	struct record s = *r;
	char *u = xstrdup(user ? user : "");
	s.id = id;
	s.revision = 1;
	s.created = s.updated = (int64_t)iken_now();
	s.created_by = s.updated_by = u;
	rc = rec_put(t, &s);
	if (!rc && t->st->rec_hook)
		rc = t->st->rec_hook(t, NULL, &s, u, t->st->hook_ctx);
	if (!rc) {
		r->id = s.id;
		r->revision = s.revision;
		r->created = s.created;
		r->updated = s.updated;
		set_str(&r->created_by, u);
		set_str(&r->updated_by, u);
	}
	free(u);
	return rc;
}

int store_rec_update(struct store_txn *t, struct record *r, uint32_t base_rev, const char *user)
{
	struct record *old = NULL;
	char *u = NULL;
	int rc = check_record(r);
	if (rc)
		return rc;
	rc = store_rec_get(t, r->id, &old);
	if (rc)
		return rc;
	if (old->revision != base_rev) {
		rc = IKEN_ECONFLICT;
		goto cleanup;
	}
	struct record s = *r;
	u = xstrdup(user ? user : "");
	s.revision = base_rev + 1;
	s.created = old->created;
	s.created_by = old->created_by;
	s.updated = (int64_t)iken_now();
	s.updated_by = u;
	rc = rec_keys(t, old, KEYS_ALL, 0);
	if (!rc)
		rc = rec_put(t, &s);
	if (!rc && t->st->rec_hook)
		rc = t->st->rec_hook(t, old, &s, u, t->st->hook_ctx);
	if (rc)
		goto cleanup;
	r->revision = s.revision;
	r->created = s.created;
	r->updated = s.updated;
	set_str(&r->created_by, old->created_by);
	set_str(&r->updated_by, u);
cleanup:
	free(u);
	rec_free(old);
	return rc;
}

int store_rec_delete(struct store_txn *t, uint64_t id)
{
	struct record *old = NULL;
	unsigned char key[8];
	int rc = store_rec_get(t, id, &old);
	if (rc)
		return rc;
	rc = rec_keys(t, old, KEYS_ALL, 0);
	if (!rc) {
		put_be64(key, id);
		rc = t_del(t, T_RECORDS, key, 8);
	}
	if (!rc && t->st->rec_hook)
		rc = t->st->rec_hook(t, old, NULL, "", t->st->hook_ctx);
	rec_free(old);
	return rc;
}

/* --- queries --- */

struct collect {
	struct idset *ids;
	size_t prefix_len;      /* form \0 */
	const char *to;         /* date range end, or NULL */
	size_t to_len;
	size_t count;           /* for store_count */
};

/* Value part of an index key: between form \0 and \0 id. */
static int key_value(const MDB_val *k, size_t pl, const unsigned char **val, size_t *vl)
{
	if (k->mv_size < pl + 9)
		return IKEN_EDATA;
	*val = (const unsigned char *)k->mv_data + pl;
	*vl = k->mv_size - pl - 9;
	return 0;
}

static int lex_cmp(const void *a, size_t al, const void *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return (al > bl) - (al < bl);
}

static int collect_cb(const MDB_val *k, const MDB_val *v, void *ctx)
{
	struct collect *cl = ctx;
	const unsigned char *val;
	size_t vl;
	(void)v;
	int rc = key_value(k, cl->prefix_len, &val, &vl);
	if (rc)
		return rc;
	if (cl->to && lex_cmp(val, vl, cl->to, cl->to_len) > 0)
		return SCAN_STOP;
	if (cl->ids)
		ids_add(cl->ids, get_be64((const unsigned char *)k->mv_data + k->mv_size - 8));
	cl->count++;
	return 0;
}

/* Ids under one criterion: keys of tb from form \0 val on, while they begin with form \0 and
 * the first pl bytes of val (exact: val and its \0; prefix: val), and up to to when given. */
static int collect_ids(struct store_txn *t, enum table tb, const char *form, const void *val,
		       size_t vl, int terminated, size_t match_len, const char *to,
		       struct idset *out)
{
	struct sbuf start = { 0 };
	struct collect cl = { .ids = out, .prefix_len = strlen(form) + 1 };
	if (to) {
		cl.to = to;
		cl.to_len = idx_len(to);
	}
	idx_prefix(&start, form, val, vl, terminated);
	int rc = scan(t, tb, start.s, start.len, cl.prefix_len + match_len, collect_cb, &cl);
	sbuf_free(&start);
	if (!rc)
		ids_sort(out);
	return rc;
}

static int has(const char *s)
{
	return s && *s;
}

int store_find(struct store_txn *t, const struct store_query *q, uint64_t **ids, size_t *n)
{
	struct idset acc = { 0 }, cur = { 0 };
	int have = 0, rc = 0;
	*ids = NULL;
	*n = 0;
	if (!q->form || !*q->form || q->status < -1 || q->status >= ST__COUNT)
		return -EINVAL;
	if (strlen(q->form) > FORM_MAX)
		return IKEN_ELIMIT;
	if (t->err)
		return store_err(t->err);

	for (int step = 0; step < 4 && !(have && acc.n == 0); step++) {
		cur.n = 0;
		if (step == 0 && has(q->insured)) {
			size_t l = idx_len(q->insured);
			rc = collect_ids(t, T_IDX_INSURED, q->form, q->insured, l, 1, l + 1, NULL, &cur);
		} else if (step == 1 && has(q->kana)) {
			size_t l = idx_len(q->kana);
			rc = collect_ids(t, T_IDX_KANA, q->form, q->kana, l, 0, l, NULL, &cur);
		} else if (step == 2 && (has(q->date_from) || has(q->date_to))) {
			const char *from = has(q->date_from) ? q->date_from : "";
			rc = collect_ids(t, T_IDX_DATE, q->form, from, idx_len(from), 0, 0,
					 has(q->date_to) ? q->date_to : NULL, &cur);
		} else if (step == 3 && (q->status >= 0 || !have)) {
			/* Any status with nothing else asked: every record of the form. */
			char s = (char)q->status;
			rc = collect_ids(t, T_IDX_STATUS, q->form, &s, q->status >= 0, q->status >= 0,
					 q->status >= 0 ? 2 : 0, NULL, &cur);
		} else {
			continue;
		}
		if (rc)
			goto cleanup;
		if (!have) {
			struct idset tmp = acc;
			acc = cur;
			cur = tmp;
			have = 1;
		} else {
			ids_intersect(&acc, &cur);
		}
	}
	*n = acc.n;
	*ids = acc.v ? acc.v : xmalloc(sizeof(uint64_t));
	acc.v = NULL;
cleanup:
	free(acc.v);
	free(cur.v);
	return rc;
}

int store_find_each(struct store_txn *t, const struct store_query *q,
		    int (*cb)(const struct record *r, void *ctx), void *ctx)
{
	uint64_t *ids = NULL;
	size_t n = 0;
	int rc = store_find(t, q, &ids, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		struct record *r;
		rc = store_rec_get(t, ids[i], &r);
		if (!rc) {
			rc = cb(r, ctx);
			rec_free(r);
		}
	}
	free(ids);
	return rc;
}

int store_count(struct store_txn *t, const char *form, int status, size_t *n)
{
	struct sbuf start = { 0 };
	char s = (char)status;
	*n = 0;
	if (!form || !*form || status < -1 || status >= ST__COUNT)
		return -EINVAL;
	if (strlen(form) > FORM_MAX)
		return IKEN_ELIMIT;
	struct collect cl = { .prefix_len = strlen(form) + 1 };
	idx_prefix(&start, form, &s, status >= 0, status >= 0);
	int rc = scan(t, T_IDX_STATUS, start.s, start.len, start.len, collect_cb, &cl);
	sbuf_free(&start);
	if (!rc)
		*n = cl.count;
	return rc;
}

/* --- named tables and counters --- */

static int kv_table(struct store_txn *t, const char *name, size_t kl, enum table *tb)
{
	if (t->err)
		return store_err(t->err);
	for (int i = T_QUEUE; i < T__COUNT; i++) {
		if (name && strcmp(name, table_names[i]) == 0) {
			*tb = (enum table)i;
			/* LMDB refuses empty and over-long keys; say so before touching the txn. */
			if (kl == 0 || kl > (size_t)mdb_env_get_maxkeysize(t->st->env))
				return IKEN_ELIMIT;
			return 0;
		}
	}
	return IKEN_ENOTFOUND;
}

int store_kv_put(struct store_txn *t, const char *table, const void *k, size_t kl,
		 const void *v, size_t vl)
{
	enum table tb;
	int rc = kv_table(t, table, kl, &tb);
	return rc ? rc : t_put(t, tb, k, kl, v, vl, 0);
}

int store_kv_get(struct store_txn *t, const char *table, const void *k, size_t kl,
		 void **v, size_t *vl)
{
	enum table tb;
	MDB_val val;
	int rc = kv_table(t, table, kl, &tb);
	if (!rc)
		rc = t_get(t, tb, k, kl, &val);
	if (rc)
		return rc;
	*v = xstrndup(val.mv_data, val.mv_size);
	if (vl)
		*vl = val.mv_size;
	return 0;
}

int store_kv_del(struct store_txn *t, const char *table, const void *k, size_t kl)
{
	enum table tb;
	int rc = kv_table(t, table, kl, &tb);
	return rc ? rc : t_del(t, tb, k, kl);
}

int store_kv_scan(struct store_txn *t, const char *table, const void *prefix, size_t pl,
		  store_kv_cb cb, void *ctx)
{
	enum table tb;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	struct sbuf last = { 0 };
	int rc = kv_table(t, table, 1, &tb);
	if (!rc)
		rc = t_cursor(t, tb, &c);
	if (rc)
		return rc;
	rc = t_seek(t, c, prefix, pl, &k, &v);
	while (rc == 0 && has_prefix(&k, prefix, pl)) {
		/* cb may write to the table: remember the key and seek past it afterwards. */
		sbuf_reset(&last);
		sbuf_add(&last, k.mv_data, k.mv_size);
		rc = cb(k.mv_data, k.mv_size, v.mv_data, v.mv_size, ctx);
		if (rc)
			goto cleanup;
		rc = t_seek(t, c, last.s, last.len, &k, &v);
		if (rc == 0 && k.mv_size == last.len && memcmp(k.mv_data, last.s, last.len) == 0)
			rc = txn_fail(t, mdb_cursor_get(c, &k, &v, MDB_NEXT));
	}
	if (rc == IKEN_ENOTFOUND)
		rc = 0;
cleanup:
	mdb_cursor_close(c);
	sbuf_free(&last);
	return rc;
}

int store_seq_next(struct store_txn *t, const char *name, uint64_t *out)
{
	struct sbuf key = { 0 };
	unsigned char be[8];
	uint64_t n = 0;
	MDB_val v;
	if (!name || strlen(name) > NAME_MAX_LEN)
		return IKEN_ELIMIT;
	sbuf_printf(&key, "seq:%s", name);
	int rc = t_get(t, T_META, key.s, key.len, &v);
	if (rc == 0) {
		if (v.mv_size != 8) {
			rc = IKEN_EDATA;
			goto cleanup;
		}
		n = get_be64(v.mv_data);
	} else if (rc != IKEN_ENOTFOUND) {
		goto cleanup;
	}
	put_be64(be, ++n);
	rc = t_put(t, T_META, key.s, key.len, be, 8, 0);
	if (!rc)
		*out = n;
cleanup:
	sbuf_free(&key);
	return rc;
}

/* --- the record hook --- */

void store_set_rec_hook(struct store *st, store_rec_hook fn, void *ctx, void (*free_ctx)(void *))
{
	if (st->hook_free)
		st->hook_free(st->hook_ctx);
	st->rec_hook = fn;
	st->hook_ctx = ctx;
	st->hook_free = free_ctx;
}

void *store_rec_hook_ctx(struct store_txn *t)
{
	return t->st->hook_ctx;
}

/* --- index specs --- */

void store_set_index(struct store *st, const struct store_index_spec *spec)
{
	struct mem_spec *m = NULL;
	for (size_t i = 0; i < st->nspecs; i++)
		if (strcmp(st->specs[i].form, spec->form) == 0)
			m = &st->specs[i];
	if (!m) {
		st->specs = xrealloc(st->specs, (st->nspecs + 1) * sizeof(*st->specs));
		m = &st->specs[st->nspecs++];
		memset(m, 0, sizeof(*m));
		m->form = xstrdup(spec->form);
	}
	const char *f[SF__COUNT] = { spec->insured, spec->kana, spec->date };
	for (int i = 0; i < SF__COUNT; i++)
		set_str(&m->field[i], f[i] ? f[i] : "");
	m->dirty = 1;
}

/* Rebuilds the spec-driven keys of one form; its ids come from the status index. */
static int reindex_form(struct store_txn *t, const char *form)
{
	struct sbuf prefix = { 0 };
	struct idset ids = { 0 };
	int rc = 0;
	idx_prefix(&prefix, form, NULL, 0, 0);
	for (int i = T_IDX_INSURED; i <= T_IDX_DATE && !rc; i++)
		rc = delete_prefix(t, (enum table)i, prefix.s, prefix.len);
	if (!rc)
		rc = collect_ids(t, T_IDX_STATUS, form, NULL, 0, 0, 0, NULL, &ids);
	for (size_t i = 0; i < ids.n && !rc; i++) {
		struct record *r;
		rc = store_rec_get(t, ids.v[i], &r);
		if (rc == IKEN_ENOTFOUND) {
			rc = 0; /* stale status key: nothing to index */
			continue;
		}
		if (!rc) {
			rc = rec_keys(t, r, KEYS_SPEC, 1);
			rec_free(r);
		}
	}
	free(ids.v);
	sbuf_free(&prefix);
	return rc;
}

/* Applies the specs given since the last commit: a spec that differs from the stored one is
 * stored and the form's keys rebuilt, so indexes always match the spec on disk. */
static int sync_specs(struct store_txn *t)
{
	struct store *st = t->st;
	struct sbuf key = { 0 }, want = { 0 };
	int rc = 0;
	for (size_t i = 0; i < st->nspecs && !rc; i++) {
		struct mem_spec *m = &st->specs[i];
		MDB_val v;
		if (!m->dirty)
			continue;
		if (!*m->form || strlen(m->form) > FORM_MAX) {
			rc = *m->form ? IKEN_ELIMIT : IKEN_EDATA;
			break;
		}
		sbuf_reset(&want);
		spec_encode(m->field, &want);
		spec_meta_key(&key, m->form);
		rc = t_get(t, T_META, key.s, key.len, &v);
		if (rc == IKEN_ENOTFOUND) {
			v.mv_data = (void *)(uintptr_t)"\0\0";
			v.mv_size = SF__COUNT - 1;
			rc = 0;
		}
		if (rc || (v.mv_size == want.len && memcmp(v.mv_data, want.s, want.len) == 0))
			continue;
		rc = t_put(t, T_META, key.s, key.len, want.s, want.len, 0);
		if (!rc)
			rc = reindex_form(t, m->form);
	}
	sbuf_free(&key);
	sbuf_free(&want);
	return rc;
}

static int specs_dirty(const struct store *st)
{
	for (size_t i = 0; i < st->nspecs; i++)
		if (st->specs[i].dirty)
			return 1;
	return 0;
}

/* --- transactions --- */

/* Doubles the map after MDB_MAP_FULL; no transaction of this process may be open. */
static int grow_map(struct store *st)
{
	MDB_envinfo info;
	int rc = mdb_env_info(st->env, &info);
	if (rc)
		return store_err(rc);
	if (info.me_mapsize > SIZE_MAX / 2)
		return IKEN_ESTORE;
	return store_err(mdb_env_set_mapsize(st->env, info.me_mapsize * 2));
}

static int run_write(struct store *st, txn_fn fn, void *ctx, int sync)
{
	int rc = 0;
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		struct store_txn t = { .st = st };
		rc = mdb_txn_begin(st->env, NULL, 0, &t.txn);
		if (rc == MDB_MAP_RESIZED) {
			/* Another process grew the map beyond ours: adopt its size. */
			rc = mdb_env_set_mapsize(st->env, 0);
			if (rc)
				return store_err(rc);
			rc = IKEN_ESTORE;
			continue;
		}
		if (rc)
			return store_err(rc);
		rc = sync ? sync_specs(&t) : 0;
		if (!rc)
			rc = fn(&t, ctx);
		if (!rc && t.err)
			rc = store_err(t.err); /* fn went on after a failure */
		if (rc) {
			mdb_txn_abort(t.txn);
			if (t.err != MDB_MAP_FULL)
				return rc;
		} else {
			/* Commit frees the transaction even when it fails. */
			int crc = mdb_txn_commit(t.txn);
			if (crc == 0) {
				for (size_t i = 0; sync && i < st->nspecs; i++)
					st->specs[i].dirty = 0;
				return 0;
			}
			rc = store_err(crc);
			if (crc != MDB_MAP_FULL)
				return rc;
		}
		int grc = grow_map(st);
		if (grc)
			return grc;
	}
	return rc;
}

int store_write(struct store *st, store_fn fn, void *ctx)
{
	/* A nested transaction would deadlock on LMDB's writer lock or break the map resize. */
	if (st->busy)
		return -EDEADLK;
	st->busy = 1;
	int rc = run_write(st, fn, ctx, 1);
	st->busy = 0;
	return rc;
}

static int noop(struct store_txn *t, void *ctx)
{
	(void)t;
	(void)ctx;
	return 0;
}

int store_read(struct store *st, store_fn fn, void *ctx)
{
	int rc;
	/* Queries must see indexes built with the specs given. */
	if (specs_dirty(st)) {
		rc = store_write(st, noop, NULL);
		if (rc)
			return rc;
	}
	if (st->busy)
		return -EDEADLK;
	st->busy = 1;
	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
		struct store_txn t = { .st = st };
		rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t.txn);
		if (rc == MDB_MAP_RESIZED) {
			rc = mdb_env_set_mapsize(st->env, 0);
			if (rc)
				break;
			rc = MDB_MAP_RESIZED;
			continue;
		}
		if (rc)
			break;
		int ret = fn(&t, ctx);
		if (!ret && t.err)
			ret = store_err(t.err);
		mdb_txn_abort(t.txn);
		st->busy = 0;
		return ret;
	}
	st->busy = 0;
	return store_err(rc);
}

/* --- one-transaction conveniences --- */

struct rec_op {
	struct record *r;
	uint64_t id;
	uint32_t base_rev;
	const char *user;
	struct record *out;
};

static int get_fn(struct store_txn *t, void *ctx)
{
	struct rec_op *op = ctx;
	return store_rec_get(t, op->id, &op->out);
}

static int insert_fn(struct store_txn *t, void *ctx)
{
	struct rec_op *op = ctx;
	return store_rec_insert(t, op->r, op->user);
}

static int update_fn(struct store_txn *t, void *ctx)
{
	struct rec_op *op = ctx;
	return store_rec_update(t, op->r, op->base_rev, op->user);
}

int store_get(struct store *st, uint64_t id, struct record **out)
{
	struct rec_op op = { .id = id };
	int rc = store_read(st, get_fn, &op);
	if (!rc)
		*out = op.out;
	return rc;
}

/* Runs an insert or update; when the commit fails, r gets its metadata back, so it never claims
 * an id or revision that was not stored. */
static int write_record(struct store *st, txn_fn fn, struct rec_op *op)
{
	struct record *r = op->r;
	struct record saved = *r;
	saved.created_by = xstrdup(r->created_by);
	saved.updated_by = xstrdup(r->updated_by);
	int rc = store_write(st, fn, op);
	if (rc) {
		r->id = saved.id;
		r->revision = saved.revision;
		r->created = saved.created;
		r->updated = saved.updated;
		set_str(&r->created_by, saved.created_by);
		set_str(&r->updated_by, saved.updated_by);
	}
	free(saved.created_by);
	free(saved.updated_by);
	return rc;
}

int store_insert(struct store *st, struct record *r, const char *user)
{
	struct rec_op op = { .r = r, .user = user };
	return write_record(st, insert_fn, &op);
}

int store_update(struct store *st, struct record *r, uint32_t base_rev, const char *user)
{
	struct rec_op op = { .r = r, .base_rev = base_rev, .user = user };
	return write_record(st, update_fn, &op);
}

/* --- schema and migrations --- */

/* v0 -> v1: indexes built from the records with the stored specs, and the record counter set
 * past the highest id (v0 stores may lack it). */
static int migrate_0_1(struct store_txn *t)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint64_t max_id = 0;
	int rc = 0;
	for (int i = T_IDX_INSURED; i <= T_IDX_STATUS && !rc; i++)
		rc = txn_fail(t, mdb_drop(t->txn, t->st->dbi[i], 0));
	if (!rc)
		rc = t_cursor(t, T_RECORDS, &c);
	if (rc)
		return rc;
	for (rc = t_seek(t, c, NULL, 0, &k, &v); rc == 0;
	     rc = txn_fail(t, mdb_cursor_get(c, &k, &v, MDB_NEXT))) {
		struct record *r;
		if (k.mv_size != 8) {
			rc = IKEN_EDATA;
			break;
		}
		rc = rec_decode(v.mv_data, v.mv_size, &r);
		if (rc)
			break;
		r->id = get_be64(k.mv_data);
		max_id = r->id;
		rc = rec_keys(t, r, KEYS_ALL, 1);
		rec_free(r);
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	if (rc != IKEN_ENOTFOUND)
		return rc;
	uint64_t seq = 0;
	unsigned char be[8];
	rc = t_get(t, T_META, "seq:record", 10, &v);
	if (rc == 0 && v.mv_size == 8)
		seq = get_be64(v.mv_data);
	else if (rc && rc != IKEN_ENOTFOUND)
		return rc;
	if (seq >= max_id)
		return 0;
	put_be64(be, max_id);
	return t_put(t, T_META, "seq:record", 10, be, 8, 0);
}

/* v1 -> v2: the send and receive logs carried into the hash-chained audit trail. */
static int migrate_1_2(struct store_txn *t)
{
	return audit_migrate_logs(t);
}

typedef int (*migration_fn)(struct store_txn *t);
/* migrations[v] takes a store from version v to v+1. */
static const migration_fn migrations[] = { migrate_0_1, migrate_1_2 };
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
	       "one migration per schema version");

#define SCHEMA_KEY "schema_version"

static int write_version(struct store_txn *t, uint64_t ver)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ver);
	return t_put(t, T_META, SCHEMA_KEY, strlen(SCHEMA_KEY), buf, (size_t)n, 0);
}

/* Opens the tables (handles live as long as the environment once this commits) and brings the
 * schema up to date. */
static int init_fn(struct store_txn *t, void *ctx)
{
	struct store *st = t->st;
	MDB_val v;
	uint64_t ver;
	int rc;
	(void)ctx;
	for (int i = 0; i < T__COUNT; i++) {
		rc = txn_fail(t, mdb_dbi_open(t->txn, table_names[i], MDB_CREATE, &st->dbi[i]));
		if (rc)
			return rc;
	}
	rc = t_get(t, T_META, SCHEMA_KEY, strlen(SCHEMA_KEY), &v);
	if (rc == 0) {
		char buf[24];
		if (v.mv_size == 0 || v.mv_size >= sizeof(buf))
			return IKEN_EDATA;
		memcpy(buf, v.mv_data, v.mv_size);
		buf[v.mv_size] = '\0';
		rc = parse_u64(buf, &ver);
		if (rc)
			return IKEN_EDATA;
		if (ver > STORE_SCHEMA_VERSION)
			return IKEN_ESCHEMA;
		if (ver == STORE_SCHEMA_VERSION)
			return 0;
	} else if (rc == IKEN_ENOTFOUND) {
		/* No version: a new store, or one from before versions were written. */
		MDB_stat ms;
		rc = txn_fail(t, mdb_stat(t->txn, st->dbi[T_RECORDS], &ms));
		if (rc)
			return rc;
		ver = ms.ms_entries ? 0 : STORE_SCHEMA_VERSION;
	} else {
		return rc;
	}
	for (; ver < STORE_SCHEMA_VERSION; ver++) {
		rc = migrations[ver](t);
		if (rc)
			return rc;
	}
	return write_version(t, ver);
}

static size_t initial_mapsize(void)
{
	const char *e = getenv("IKEN_STORE_MAPSIZE");
	uint64_t v;
	long ps = sysconf(_SC_PAGESIZE);
	size_t page = ps > 0 ? (size_t)ps : 4096;
	size_t size = DEFAULT_MAPSIZE;
	if (e && parse_u64(e, &v) == 0 && v > 0 && v < SIZE_MAX / 2)
		size = (size_t)v;
	return (size + page - 1) / page * page;
}

int store_open(const char *dir, struct store **out)
{
	struct store *st = xcalloc(1, sizeof(*st));
	MDB_envinfo info;
	size_t want = initial_mapsize();
	int dead, rc;
	*out = NULL;
	st->dir = xstrdup(dir);
	rc = mkdir_p(dir, 0700);
	if (rc)
		goto cleanup;
	rc = mdb_env_create(&st->env);
	if (rc) {
		st->env = NULL;
		goto lmdb_error;
	}
	rc = mdb_env_set_maxdbs(st->env, MAX_DBS);
	if (!rc)
		rc = mdb_env_set_mapsize(st->env, want);
	/* Default flags: a directory, synchronous commits. */
	if (!rc)
		rc = mdb_env_open(st->env, dir, 0, 0600);
	/* Reader slots left by killed processes (dropped SSH sessions) pin old pages. */
	if (!rc)
		rc = mdb_reader_check(st->env, &dead);
	/* An existing store may have grown past want: start from its size. */
	if (!rc)
		rc = mdb_env_set_mapsize(st->env, 0);
	if (!rc)
		rc = mdb_env_info(st->env, &info);
	if (!rc && info.me_mapsize < want)
		rc = mdb_env_set_mapsize(st->env, want);
	if (rc)
		goto lmdb_error;
	st->busy = 1;
	rc = run_write(st, init_fn, NULL, 0);
	st->busy = 0;
	if (rc)
		goto cleanup;
	*out = st;
	return 0;
lmdb_error:
	rc = store_err(rc);
cleanup:
	store_close(st);
	return rc;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->env)
		mdb_env_close(st->env);
	if (st->hook_free)
		st->hook_free(st->hook_ctx);
	for (size_t i = 0; i < st->nspecs; i++) {
		free(st->specs[i].form);
		for (int j = 0; j < SF__COUNT; j++)
			free(st->specs[i].field[j]);
	}
	free(st->specs);
	free(st->dir);
	free(st);
}

const char *store_dir(const struct store *st)
{
	return st->dir;
}

size_t store_map_size(struct store *st)
{
	MDB_envinfo info;
	if (mdb_env_info(st->env, &info))
		return 0;
	return info.me_mapsize;
}
