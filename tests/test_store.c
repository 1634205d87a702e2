#include "config.h"
#include "store/store.h"
#include "errcode.h"
#include "model/record.h"
#include "util.h"
#include "tap.h"

#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[64];
#define STR_(x) #x
#define STR(x) STR_(x)
#define SCHEMA STR(STORE_SCHEMA_VERSION)

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", root, name);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* --- raw LMDB access, as another (older or newer) program would have it --- */

/* Sets (val) or deletes (val NULL) a meta key, and empties the table drop when given. */
static int raw_meta(const char *dir, const char *key, const char *val, const char *drop)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta, d;
	int rc = mdb_env_create(&env);
	if (rc)
		return rc;
	mdb_env_set_maxdbs(env, 32);
	rc = mdb_env_open(env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, 0, &txn);
	if (rc)
		goto cleanup;
	rc = mdb_dbi_open(txn, "meta", 0, &meta);
	if (!rc) {
		MDB_val k = { strlen(key), (void *)(uintptr_t)key };
		if (val) {
			MDB_val v = { strlen(val), (void *)(uintptr_t)val };
			rc = mdb_put(txn, meta, &k, &v, 0);
		} else {
			rc = mdb_del(txn, meta, &k, NULL);
			if (rc == MDB_NOTFOUND)
				rc = 0;
		}
	}
	if (!rc && drop) {
		rc = mdb_dbi_open(txn, drop, 0, &d);
		if (!rc)
			rc = mdb_drop(txn, d, 0);
	}
	if (rc)
		mdb_txn_abort(txn);
	else
		rc = mdb_txn_commit(txn);
cleanup:
	mdb_env_close(env);
	return rc;
}

/* Value of a meta key into buf ("" when absent). */
static void raw_meta_get(const char *dir, const char *key, char *buf, size_t len)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi meta;
	buf[0] = '\0';
	if (mdb_env_create(&env))
		return;
	mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0 &&
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
		MDB_val k = { strlen(key), (void *)(uintptr_t)key }, v;
		if (mdb_dbi_open(txn, "meta", 0, &meta) == 0 && mdb_get(txn, meta, &k, &v) == 0)
			snprintf(buf, len, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
}

/* --- helpers --- */

static struct record *mk(const char *form, enum rec_status st, const char *insured,
			 const char *kana, const char *date)
{
	struct record *r = rec_new(form, "1");
	r->status = st;
	if (insured)
		rec_set(r, "insured_no", insured);
	if (kana)
		rec_set(r, "kana", kana);
	if (date)
		rec_set(r, "date", date);
	rec_set(r, "note", "メモ");
	return r;
}

static uint64_t put_rec(struct store *st, struct record *r)
{
	int rc = store_insert(st, r, "alice");
	uint64_t id = rc ? 0 : r->id;
	rec_free(r);
	return id;
}

struct find_ctx {
	const struct store_query *q;
	uint64_t *ids;
	size_t n;
};

static int find_fn(struct store_txn *t, void *ctx)
{
	struct find_ctx *f = ctx;
	return store_find(t, f->q, &f->ids, &f->n);
}

/* 1 when the query gives exactly want (ascending). */
static int find_is(struct store *st, const struct store_query *q, const uint64_t *want, size_t n)
{
	struct find_ctx f = { q, NULL, 0 };
	int rc = store_read(st, find_fn, &f);
	int same = rc == 0 && f.n == n && (n == 0 || memcmp(f.ids, want, n * sizeof(*want)) == 0);
	if (!same) {
		printf("#   rc %d, got", rc);
		for (size_t i = 0; i < f.n; i++)
			printf(" %llu", (unsigned long long)f.ids[i]);
		printf("\n");
	}
	free(f.ids);
	return same;
}

struct count_ctx {
	const char *form;
	int status;
	size_t n;
};

static int count_fn(struct store_txn *t, void *ctx)
{
	struct count_ctx *c = ctx;
	return store_count(t, c->form, c->status, &c->n);
}

static long count(struct store *st, const char *form, int status)
{
	struct count_ctx c = { form, status, 0 };
	int rc = store_read(st, count_fn, &c);
	return rc ? rc : (long)c.n;
}

static void set_specs(struct store *st)
{
	struct store_index_spec ik = { "ikensho", "insured_no", "kana", "date" };
	struct store_index_spec sk = { "seikyu", "insured_no", NULL, NULL };
	store_set_index(st, &ik);
	store_set_index(st, &sk);
}

/* --- tests --- */

static void test_open(struct store *st, const char *dir)
{
	char p[128];
	struct stat sb;
	is_str(store_dir(st), dir, "store_dir");
	ok(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700, "directory is 0700");
	path_in(p, sizeof(p), "db/data.mdb");
	ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "data.mdb is 0600");
	path_in(p, sizeof(p), "db/lock.mdb");
	ok(stat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "lock.mdb is 0600");
	char ver[32];
	store_close(st);
	raw_meta_get(dir, "schema_version", ver, sizeof(ver));
	is_str(ver, SCHEMA, "a new store records the schema version");
}

static void test_roundtrip(struct store *st)
{
	struct record *r = mk("ikensho", ST_DRAFT, "12345678", "テスト", NULL), *g = NULL;
	rec_set(r, "empty", "");
	is_int(store_insert(st, r, "alice"), 0, "insert");
	ok(r->id != 0, "insert assigns an id");
	is_int(r->revision, 1, "insert sets revision 1");
	is_str(r->created_by, "alice", "insert sets created_by");
	is_str(r->updated_by, "alice", "insert sets updated_by");
	ok(r->created != 0 && r->created == r->updated, "insert sets created = updated");
	is_int(store_get(st, r->id, &g), 0, "get");
	ok(g && rec_same_values(r, g), "get returns the stored values");
	ok(g && g->id == r->id && g->revision == 1 && g->created == r->created &&
	   strcmp(g->form, "ikensho") == 0 && strcmp(g->layout_version, "1") == 0 &&
	   g->status == ST_DRAFT && strcmp(g->created_by, "alice") == 0,
	   "get returns the stored metadata");
	is_str(g ? rec_get(g, "empty") : NULL, "", "an empty value survives");
	rec_free(g);
	g = NULL;
	is_int(store_get(st, r->id + 1000, &g), IKEN_ENOTFOUND, "get of an absent id");
	rec_free(r);
}

struct ids {
	uint64_t a, b, c, d, e, f;
};

static void test_find(struct store *st, struct ids *x)
{
	x->a = put_rec(st, mk("ikensho", ST_DRAFT, "11111111", "ヤマダ タロウ", "20260101"));
	x->b = put_rec(st, mk("ikensho", ST_FINAL, "22222222", "ヤマダ ハナコ", "20260215"));
	x->c = put_rec(st, mk("ikensho", ST_DRAFT, "11111111", "ヤマモト ジロウ", "20260331"));
	x->d = put_rec(st, mk("ikensho", ST_PUBLISHED, "33333333", "スズキ イチロウ", "20260401"));
	x->e = put_rec(st, mk("seikyu", ST_DRAFT, "11111111", "ヤマダ タロウ", "20260101"));
	x->f = put_rec(st, mk("memo", ST_DRAFT, "11111111", "ヤマダ タロウ", "20260101"));
	ok(x->a && x->b && x->c && x->d && x->e && x->f, "six records inserted");
	ok(x->a < x->b && x->b < x->c && x->c < x->d, "ids ascend");

	/* One existing record (from the round trip) is also an ikensho draft: ask around it. */
	struct store_query q = { .form = "ikensho", .status = -1, .insured = "11111111" };
	ok(find_is(st, &q, (uint64_t[]){ x->a, x->c }, 2), "insured exact");
	q.insured = "1111111";
	ok(find_is(st, &q, NULL, 0), "insured is not a prefix match");
	q.form = "seikyu";
	q.insured = "11111111";
	ok(find_is(st, &q, (uint64_t[]){ x->e }, 1), "insured of another form");
	q.form = "memo";
	ok(find_is(st, &q, NULL, 0), "a form without a spec has no insured index");
	q.insured = NULL;
	ok(find_is(st, &q, (uint64_t[]){ x->f }, 1), "a form without a spec: by form alone");

	struct store_query k = { .form = "ikensho", .status = -1, .kana = "ヤマ" };
	ok(find_is(st, &k, (uint64_t[]){ x->a, x->b, x->c }, 3), "kana prefix ヤマ");
	k.kana = "ヤマダ";
	ok(find_is(st, &k, (uint64_t[]){ x->a, x->b }, 2), "kana prefix ヤマダ");
	k.kana = "ス";
	ok(find_is(st, &k, (uint64_t[]){ x->d }, 1), "kana prefix ス");
	k.kana = "ヤマダ タロウX";
	ok(find_is(st, &k, NULL, 0), "kana longer than the value");
	k.kana = "ヤマダ タロウ";
	ok(find_is(st, &k, (uint64_t[]){ x->a }, 1), "kana: the whole value");

	struct store_query d = { .form = "ikensho", .status = -1, .date_from = "20260201",
				 .date_to = "20260331" };
	ok(find_is(st, &d, (uint64_t[]){ x->b, x->c }, 2), "date range, inclusive end");
	d.date_to = NULL;
	ok(find_is(st, &d, (uint64_t[]){ x->b, x->c, x->d }, 3), "date from only");
	d.date_from = NULL;
	d.date_to = "20260215";
	ok(find_is(st, &d, (uint64_t[]){ x->a, x->b }, 2), "date to only");
	d.date_from = d.date_to = "20260101";
	ok(find_is(st, &d, (uint64_t[]){ x->a }, 1), "date range of one day");
	d.date_from = "20270101";
	d.date_to = NULL;
	ok(find_is(st, &d, NULL, 0), "date range after every record");

	struct store_query s = { .form = "ikensho", .status = ST_FINAL };
	ok(find_is(st, &s, (uint64_t[]){ x->b }, 1), "status final");
	s.status = ST_PUBLISHED;
	ok(find_is(st, &s, (uint64_t[]){ x->d }, 1), "status published");
	s.status = ST_REJECTED;
	ok(find_is(st, &s, NULL, 0), "status rejected: none");

	struct store_query c1 = { .form = "ikensho", .status = ST_DRAFT, .insured = "11111111" };
	ok(find_is(st, &c1, (uint64_t[]){ x->a, x->c }, 2), "insured + status");
	c1.kana = "ヤマモ";
	ok(find_is(st, &c1, (uint64_t[]){ x->c }, 1), "insured + kana + status");
	struct store_query c2 = { .form = "ikensho", .status = ST_FINAL, .kana = "ヤマ",
				  .date_to = "20260215" };
	ok(find_is(st, &c2, (uint64_t[]){ x->b }, 1), "kana + date + status");
	c2.status = ST_PUBLISHED;
	ok(find_is(st, &c2, NULL, 0), "kana + date + status: none");

	is_int(count(st, "ikensho", ST_DRAFT), 3, "count drafts");
	is_int(count(st, "ikensho", ST_FINAL), 1, "count final");
	is_int(count(st, "ikensho", -1), 5, "count any status");
	is_int(count(st, "nosuch", -1), 0, "count of an unknown form");
}

static void test_reindex_on_update(struct store *st, const struct ids *x)
{
	struct record *r = NULL;
	is_int(store_get(st, x->a, &r), 0, "get record to change");
	if (!r)
		return;
	int64_t created = r->created;
	rec_set(r, "insured_no", "44444444");
	r->status = ST_FINAL;
	r->created = 0; /* the store keeps the stored creation time, not the caller's */
	is_int(store_update(st, r, 1, "bob"), 0, "update with the current revision");
	is_int(r->revision, 2, "update sets revision base+1");
	is_str(r->updated_by, "bob", "update sets updated_by");
	is_str(r->created_by, "alice", "update keeps created_by");
	ok(r->created == created, "update keeps created");
	rec_free(r);

	struct store_query q = { .form = "ikensho", .status = -1, .insured = "11111111" };
	ok(find_is(st, &q, (uint64_t[]){ x->c }, 1), "old insured key gone");
	q.insured = "44444444";
	ok(find_is(st, &q, (uint64_t[]){ x->a }, 1), "new insured key present");
	struct store_query s = { .form = "ikensho", .status = ST_DRAFT, .kana = "ヤマダ" };
	ok(find_is(st, &s, NULL, 0), "old status key gone");
	s.status = ST_FINAL;
	ok(find_is(st, &s, (uint64_t[]){ x->a, x->b }, 2), "new status key present");
	is_int(count(st, "ikensho", ST_DRAFT), 2, "count drafts after update");
	is_int(count(st, "ikensho", ST_FINAL), 2, "count final after update");
}

/* Two sessions: this process and a child with its own handle on the same directory (LMDB does
 * not allow one environment to be opened twice in one process). Both start from revision 1. */
static void test_conflict(struct store *st, const char *dir, const struct ids *x)
{
	struct record *mine = NULL, *now = NULL;
	is_int(store_get(st, x->c, &mine), 0, "session 1 reads the record");
	if (!mine)
		return;
	is_int(mine->revision, 1, "session 1 sees revision 1");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct store *st2;
		struct record *theirs = NULL;
		int rc = store_open(dir, &st2);
		if (!rc)
			rc = store_get(st2, x->c, &theirs);
		if (!rc && theirs->revision != 1)
			rc = 99;
		if (!rc) {
			rec_set(theirs, "kana", "ヤマモト サブロウ");
			rc = store_update(st2, theirs, 1, "carol");
		}
		rec_free(theirs);
		store_close(st2);
		_exit(rc ? 1 : 0);
	}
	int status = -1;
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "session 2 updates from revision 1");

	rec_set(mine, "kana", "タナカ");
	is_int(store_update(st, mine, 1, "alice"), IKEN_ECONFLICT, "session 1: stale revision refused");
	is_int(mine->revision, 1, "refused update leaves the caller's revision");
	is_str(mine->updated_by, "alice", "refused update leaves updated_by");
	is_int(store_get(st, x->c, &now), 0, "get after the conflict");
	ok(now && now->revision == 2 && strcmp(rec_val(now, "kana"), "ヤマモト サブロウ") == 0 &&
	   strcmp(now->updated_by, "carol") == 0, "stored record is session 2's");
	struct store_query k = { .form = "ikensho", .status = -1, .kana = "タナカ" };
	ok(find_is(st, &k, NULL, 0), "refused update wrote no index key");
	k.kana = "ヤマモト サ";
	ok(find_is(st, &k, (uint64_t[]){ x->c }, 1), "session 2's index key");
	if (now) {
		rec_set(mine, "kana", "タナカ");
		is_int(store_update(st, mine, now->revision, "alice"), 0,
		       "update from the fresh revision");
		is_int(mine->revision, 3, "revision 3");
	}
	is_int(store_update(st, mine, 1, "alice"), IKEN_ECONFLICT, "old revision refused again");
	mine->id = 999999;
	is_int(store_update(st, mine, 1, "alice"), IKEN_ENOTFOUND, "update of an absent id");
	rec_free(mine);
	rec_free(now);
}

static int delete_fn(struct store_txn *t, void *ctx)
{
	return store_rec_delete(t, *(uint64_t *)ctx);
}

static void test_delete(struct store *st, const struct ids *x)
{
	struct record *r = NULL;
	uint64_t id = x->d;
	is_int(store_write(st, delete_fn, &id), 0, "delete");
	is_int(store_get(st, x->d, &r), IKEN_ENOTFOUND, "deleted record is gone");
	struct store_query k = { .form = "ikensho", .status = -1, .kana = "ス" };
	ok(find_is(st, &k, NULL, 0), "deleted record's kana key gone");
	k.kana = NULL;
	k.insured = "33333333";
	ok(find_is(st, &k, NULL, 0), "deleted record's insured key gone");
	is_int(count(st, "ikensho", ST_PUBLISHED), 0, "deleted record's status key gone");
	is_int(store_write(st, delete_fn, &id), IKEN_ENOTFOUND, "delete of an absent id");
}

struct abort_ctx {
	uint64_t seq;
	uint64_t id;
};

static int failing_fn(struct store_txn *t, void *ctx)
{
	struct abort_ctx *a = ctx;
	struct record *r = mk("ikensho", ST_DRAFT, "55555555", "アボート", "20260101");
	int rc = store_rec_insert(t, r, "alice");
	a->id = r->id;
	rec_free(r);
	if (!rc)
		rc = store_kv_put(t, "misc", "abort", 5, "x", 1);
	if (!rc)
		rc = store_seq_next(t, "abort", &a->seq);
	return rc ? rc : -EIO;
}

static int seq_fn(struct store_txn *t, void *ctx)
{
	return store_seq_next(t, "abort", ctx);
}

static int kv_get_fn(struct store_txn *t, void *ctx)
{
	void *v = NULL;
	size_t vl;
	int rc = store_kv_get(t, "misc", ctx, strlen(ctx), &v, &vl);
	free(v);
	return rc;
}

static void test_abort(struct store *st)
{
	struct abort_ctx a = { 0, 0 };
	long before = count(st, "ikensho", -1);
	is_int(store_write(st, failing_fn, &a), -EIO, "store_write returns the callback's error");
	ok(a.id != 0 && a.seq == 1, "the callback ran its writes");
	is_int(count(st, "ikensho", -1), before, "aborted insert not stored");
	struct record *r = NULL;
	is_int(store_get(st, a.id, &r), IKEN_ENOTFOUND, "aborted record id absent");
	struct store_query q = { .form = "ikensho", .status = -1, .insured = "55555555" };
	ok(find_is(st, &q, NULL, 0), "aborted index key absent");
	is_int(store_read(st, kv_get_fn, (void *)(uintptr_t)"abort"), IKEN_ENOTFOUND,
	       "aborted kv absent");
	uint64_t n = 0;
	is_int(store_write(st, seq_fn, &n), 0, "seq after abort");
	is_int(n, 1, "aborted counter step undone");
}

static int ro_insert_fn(struct store_txn *t, void *ctx)
{
	(void)ctx;
	struct record *r = mk("ikensho", ST_DRAFT, NULL, NULL, NULL);
	int rc = store_rec_insert(t, r, "alice");
	rec_free(r);
	return rc;
}

static int nested_fn(struct store_txn *t, void *ctx)
{
	(void)t;
	return store_write(ctx, seq_fn, &(uint64_t){ 0 });
}

static void test_txn_rules(struct store *st)
{
	int rc = store_read(st, ro_insert_fn, NULL);
	ok(rc != 0, "a read transaction refuses writes (%d)", rc);
	is_int(store_write(st, nested_fn, st), -EDEADLK, "nested transaction refused");
}

struct seq_ctx {
	uint64_t v[4];
};

static int seqs_fn(struct store_txn *t, void *ctx)
{
	struct seq_ctx *s = ctx;
	int rc = store_seq_next(t, "x", &s->v[0]);
	if (!rc)
		rc = store_seq_next(t, "x", &s->v[1]);
	if (!rc)
		rc = store_seq_next(t, "y", &s->v[2]);
	if (!rc)
		rc = store_seq_next(t, "x", &s->v[3]);
	return rc;
}

static void test_seq(struct store *st)
{
	struct seq_ctx s = { { 0 } };
	is_int(store_write(st, seqs_fn, &s), 0, "counters");
	ok(s.v[0] == 1 && s.v[1] == 2 && s.v[2] == 1 && s.v[3] == 3, "counters start at 1, each its own");
}

struct scan_ctx {
	struct sbuf seen;
	int stop_at;
	int calls;
	struct store_txn *t; /* set: delete each key seen */
};

static int scan_cb(const void *k, size_t kl, const void *v, size_t vl, void *ctx)
{
	struct scan_ctx *s = ctx;
	s->calls++;
	sbuf_add(&s->seen, k, kl);
	sbuf_putc(&s->seen, '=');
	sbuf_add(&s->seen, v, vl);
	sbuf_putc(&s->seen, ';');
	if (s->t) {
		int rc = store_kv_del(s->t, "queue", k, kl);
		if (rc)
			return rc;
	}
	return s->calls == s->stop_at ? 42 : 0;
}

struct kv_ctx {
	struct scan_ctx *scan;
	const char *prefix;
	int rc[8];
	void *v;
	size_t vl;
};

static int kv_put_fn(struct store_txn *t, void *ctx)
{
	struct kv_ctx *c = ctx;
	static const char bin[] = { 'b', 0, 'x' };
	int rc = 0;
	const char *keys[] = { "a2", "a1", "b1", "a10", "c" };
	for (size_t i = 0; i < ARRAY_SIZE(keys) && !rc; i++)
		rc = store_kv_put(t, "queue", keys[i], strlen(keys[i]), keys[i], strlen(keys[i]));
	if (!rc)
		rc = store_kv_put(t, "queue", bin, sizeof(bin), "v\0w", 3);
	c->rc[0] = store_kv_put(t, "nosuch", "k", 1, "v", 1);
	c->rc[1] = store_kv_put(t, "queue", "", 0, "v", 1);
	return rc;
}

static int kv_read_fn(struct store_txn *t, void *ctx)
{
	struct kv_ctx *c = ctx;
	static const char bin[] = { 'b', 0, 'x' };
	c->rc[0] = store_kv_get(t, "queue", bin, sizeof(bin), &c->v, &c->vl);
	c->rc[1] = store_kv_get(t, "queue", "zz", 2, &(void *){ NULL }, NULL);
	c->rc[2] = store_kv_get(t, "autosave", "a1", 2, &(void *){ NULL }, NULL);
	c->rc[3] = store_kv_get(t, "nosuch", "a1", 2, &(void *){ NULL }, NULL);
	c->rc[4] = store_kv_scan(t, "queue", c->prefix, c->prefix ? strlen(c->prefix) : 0,
				 scan_cb, c->scan);
	c->rc[5] = store_kv_scan(t, "nosuch", NULL, 0, scan_cb, c->scan);
	return 0;
}

static int kv_del_fn(struct store_txn *t, void *ctx)
{
	struct kv_ctx *c = ctx;
	c->rc[0] = store_kv_del(t, "queue", "a1", 2);
	c->rc[1] = store_kv_del(t, "queue", "a1", 2);
	c->rc[2] = store_kv_del(t, "nosuch", "a1", 2);
	return 0;
}

static int kv_drain_fn(struct store_txn *t, void *ctx)
{
	struct kv_ctx *c = ctx;
	c->scan->t = t;
	c->rc[0] = store_kv_scan(t, "queue", "a", 1, scan_cb, c->scan);
	return c->rc[0];
}

static void test_kv(struct store *st)
{
	struct scan_ctx sc = { { 0 }, 0, 0, NULL };
	struct kv_ctx c = { .scan = &sc };
	is_int(store_write(st, kv_put_fn, &c), 0, "kv put");
	is_int(c.rc[0], IKEN_ENOTFOUND, "kv put to an unknown table");
	is_int(c.rc[1], IKEN_ELIMIT, "kv put with an empty key");

	c.prefix = "a";
	is_int(store_read(st, kv_read_fn, &c), 0, "kv reads");
	is_int(c.rc[0], 0, "kv get of a binary key");
	ok(c.vl == 3 && c.v && memcmp(c.v, "v\0w", 4) == 0, "kv get: binary value, NUL-terminated");
	free(c.v);
	c.v = NULL;
	is_int(c.rc[1], IKEN_ENOTFOUND, "kv get of an absent key");
	is_int(c.rc[2], IKEN_ENOTFOUND, "tables are separate");
	is_int(c.rc[3], IKEN_ENOTFOUND, "kv get from an unknown table");
	is_int(c.rc[4], 0, "kv scan");
	is_str(sc.seen.s, "a1=a1;a10=a10;a2=a2;", "kv scan: the prefix's keys in order");
	is_int(c.rc[5], IKEN_ENOTFOUND, "kv scan of an unknown table");

	sbuf_reset(&sc.seen);
	sc.calls = 0;
	sc.stop_at = 2;
	is_int(store_read(st, kv_read_fn, &c), 0, "kv reads again");
	is_int(c.rc[4], 42, "kv scan stops with the callback's value");
	is_str(sc.seen.s, "a1=a1;a10=a10;", "kv scan stopped after two keys");
	free(c.v);
	c.v = NULL;

	sbuf_reset(&sc.seen);
	sc.calls = sc.stop_at = 0;
	c.prefix = NULL;
	store_read(st, kv_read_fn, &c);
	is_int(sc.calls, 6, "kv scan without a prefix sees every key");
	free(c.v);
	c.v = NULL;

	is_int(store_write(st, kv_del_fn, &c), 0, "kv del");
	is_int(c.rc[0], 0, "kv del of a present key");
	is_int(c.rc[1], IKEN_ENOTFOUND, "kv del of an absent key");
	is_int(c.rc[2], IKEN_ENOTFOUND, "kv del in an unknown table");

	sbuf_reset(&sc.seen);
	sc.calls = 0;
	is_int(store_write(st, kv_drain_fn, &c), 0, "kv scan deleting as it goes");
	is_str(sc.seen.s, "a10=a10;a2=a2;", "scan went on past the deleted keys");
	sbuf_reset(&sc.seen);
	sc.calls = 0;
	sc.t = NULL;
	c.prefix = NULL;
	store_read(st, kv_read_fn, &c);
	is_int(sc.calls, 3, "only the other keys remain");
	free(c.v);
	sbuf_free(&sc.seen);
}

/* A spec given after records exist (or changed) rebuilds the form's keys. */
static void test_late_spec(struct store *st)
{
	struct record *r = rec_new("late", "1");
	rec_set(r, "num", "777");
	rec_set(r, "other", "888");
	uint64_t id = put_rec(st, r);
	struct store_query q = { .form = "late", .status = -1, .insured = "777" };
	ok(find_is(st, &q, NULL, 0), "no spec: no insured key");
	struct store_index_spec sp = { "late", "num", NULL, NULL };
	store_set_index(st, &sp);
	ok(find_is(st, &q, (uint64_t[]){ id }, 1), "spec given later: keys rebuilt");
	sp.insured = "other";
	store_set_index(st, &sp);
	ok(find_is(st, &q, NULL, 0), "spec changed: old keys gone");
	q.insured = "888";
	ok(find_is(st, &q, (uint64_t[]){ id }, 1), "spec changed: new keys");
}

struct batch {
	int from, n;
	uint64_t *ids;
};

static void big_value(struct sbuf *b, int i)
{
	sbuf_reset(b);
	for (int j = 0; j < 300; j++)
		sbuf_printf(b, "%09d;", i * 1000 + j % 997);
}

static int batch_fn(struct store_txn *t, void *ctx)
{
	struct batch *bt = ctx;
	struct sbuf v = { 0 };
	int rc = 0;
	for (int i = bt->from; i < bt->from + bt->n && !rc; i++) {
		struct record *r = rec_new("big", "1");
		char ins[16];
		snprintf(ins, sizeof(ins), "%08d", i);
		rec_set(r, "insured_no", ins);
		big_value(&v, i);
		rec_set(r, "blob", v.s);
		rc = store_rec_insert(t, r, "loader");
		bt->ids[i] = r->id;
		rec_free(r);
	}
	sbuf_free(&v);
	return rc;
}

static void test_growth(void)
{
	char dir[128];
	struct store *st;
	enum { N = 3000, BATCH = 50 };
	uint64_t *ids = xcalloc(N, sizeof(*ids));
	path_in(dir, sizeof(dir), "grow");
	setenv("IKEN_STORE_MAPSIZE", "65536", 1);
	int rc = store_open(dir, &st);
	unsetenv("IKEN_STORE_MAPSIZE");
	is_int(rc, 0, "open a store with a 64 KiB map");
	if (rc) {
		free(ids);
		return;
	}
	size_t start = store_map_size(st);
	is_int(start, 65536, "map starts at 64 KiB");
	struct store_index_spec sp = { "big", "insured_no", NULL, NULL };
	store_set_index(st, &sp);
	int fails = 0;
	for (int i = 0; i < N; i += BATCH) {
		struct batch bt = { i, BATCH, ids };
		if (store_write(st, batch_fn, &bt))
			fails++;
	}
	is_int(fails, 0, "3000 records of 3 KB inserted");
	ok(store_map_size(st) > 1024 * 1024 * 8, "map grew (%zu bytes)", store_map_size(st));
	store_close(st);

	rc = store_open(dir, &st);
	is_int(rc, 0, "reopen");
	if (rc) {
		free(ids);
		return;
	}
	ok(store_map_size(st) >= 1024 * 1024 * 8, "reopened map keeps its size");
	struct sbuf v = { 0 };
	int bad = 0;
	for (int i = 0; i < N; i++) {
		struct record *r = NULL;
		char ins[16];
		snprintf(ins, sizeof(ins), "%08d", i);
		big_value(&v, i);
		if (ids[i] != (uint64_t)i + 1 || store_get(st, ids[i], &r) ||
		    strcmp(rec_val(r, "blob"), v.s) || strcmp(rec_val(r, "insured_no"), ins))
			bad++;
		rec_free(r);
	}
	is_int(bad, 0, "every record reads back intact");
	is_int(count(st, "big", -1), N, "count after growth");
	struct store_query q = { .form = "big", .status = -1, .insured = "00002999" };
	ok(find_is(st, &q, (uint64_t[]){ 3000 }, 1), "index usable after growth");
	sbuf_free(&v);
	store_close(st);
	free(ids);
}

static int child_insert(const char *dir, int who)
{
	struct store *st;
	struct sbuf v = { 0 };
	char w[16];
	int rc = store_open(dir, &st);
	if (rc)
		return 1;
	snprintf(w, sizeof(w), "%d", who);
	for (int i = 0; i < 200 && !rc; i++) {
		struct record *r = rec_new("conc", "1");
		big_value(&v, who * 1000 + i);
		rec_set(r, "who", w);
		rec_set(r, "blob", v.s);
		rc = store_insert(st, r, w);
		rec_free(r);
	}
	sbuf_free(&v);
	store_close(st);
	return rc ? 1 : 0;
}

static void test_processes(void)
{
	char dir[128];
	struct store *st;
	pid_t pid[2];
	path_in(dir, sizeof(dir), "conc");
	setenv("IKEN_STORE_MAPSIZE", "65536", 1);
	int rc = store_open(dir, &st);
	is_int(rc, 0, "create the shared store");
	if (rc)
		return;
	store_close(st);
	fflush(stdout);
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] == 0)
			_exit(child_insert(dir, i + 1));
	}
	int good = 0;
	for (int i = 0; i < 2; i++) {
		int status;
		if (waitpid(pid[i], &status, 0) == pid[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			good++;
	}
	unsetenv("IKEN_STORE_MAPSIZE");
	is_int(good, 2, "two processes inserted 200 records each");
	rc = store_open(dir, &st);
	is_int(rc, 0, "open after the processes");
	if (rc)
		return;
	struct store_query q = { .form = "conc", .status = -1 };
	struct find_ctx f = { &q, NULL, 0 };
	is_int(store_read(st, find_fn, &f), 0, "find every record");
	is_int(f.n, 400, "400 records");
	int distinct = 1, per[3] = { 0, 0, 0 };
	for (size_t i = 0; i < f.n; i++) {
		struct record *r = NULL;
		if (i && f.ids[i] <= f.ids[i - 1])
			distinct = 0;
		if (store_get(st, f.ids[i], &r) == 0) {
			int w = atoi(rec_val(r, "who"));
			if (w == 1 || w == 2)
				per[w]++;
		}
		rec_free(r);
	}
	ok(distinct, "400 distinct ids");
	ok(per[1] == 200 && per[2] == 200, "200 records from each process");
	free(f.ids);
	store_close(st);
}

static void test_schema(const char *dir, const struct ids *x)
{
	struct store *st = (struct store *)1;
	char ver[32];
	is_int(raw_meta(dir, "schema_version", "999", NULL), 0, "raw: set schema 999");
	is_int(store_open(dir, &st), IKEN_ESCHEMA, "newer schema refused");
	ok(st == NULL, "no handle for a newer schema");

	/* Version 0 and emptied indexes: the migration must rebuild them from the records. */
	is_int(raw_meta(dir, "schema_version", "0", "idx_insured"), 0, "raw: set schema 0");
	raw_meta(dir, "seq:record", NULL, "idx_status");
	raw_meta(dir, "no-such-key", NULL, "idx_kana");
	raw_meta(dir, "no-such-key", NULL, "idx_date");
	is_int(store_open(dir, &st), 0, "older schema migrated");
	if (!st)
		return;
	struct store_query q = { .form = "ikensho", .status = -1, .insured = "11111111" };
	ok(find_is(st, &q, (uint64_t[]){ x->c }, 1), "insured index rebuilt (unchanged record)");
	q.insured = "44444444";
	ok(find_is(st, &q, (uint64_t[]){ x->a }, 1), "insured index rebuilt (updated record)");
	struct store_query d = { .form = "ikensho", .status = -1, .date_from = "20260201" };
	ok(find_is(st, &d, (uint64_t[]){ x->b, x->c }, 2), "date index rebuilt");
	struct store_query s = { .form = "ikensho", .status = ST_FINAL, .kana = "ヤマダ" };
	ok(find_is(st, &s, (uint64_t[]){ x->a, x->b }, 2), "status and kana indexes rebuilt");
	q.form = "seikyu";
	q.insured = "11111111";
	ok(find_is(st, &q, (uint64_t[]){ x->e }, 1), "another form's index rebuilt");
	struct record *r = mk("ikensho", ST_DRAFT, NULL, NULL, NULL);
	is_int(store_insert(st, r, "alice"), 0, "insert after migration");
	ok(r->id > x->f, "record counter moved past the old ids");
	rec_free(r);
	store_close(st);
	raw_meta_get(dir, "schema_version", ver, sizeof(ver));
	is_str(ver, SCHEMA, "migration wrote the version");

	/* Records but no version at all: version 0. */
	raw_meta(dir, "schema_version", NULL, "idx_insured");
	is_int(store_open(dir, &st), 0, "store without a version migrated");
	if (!st)
		return;
	q.form = "ikensho";
	q.insured = "44444444";
	ok(find_is(st, &q, (uint64_t[]){ x->a }, 1), "indexes rebuilt for version 0");
	store_close(st);
	raw_meta_get(dir, "schema_version", ver, sizeof(ver));
	is_str(ver, SCHEMA, "version written");

	raw_meta(dir, "schema_version", "one", NULL);
	is_int(store_open(dir, &st), IKEN_EDATA, "garbage version refused");
	raw_meta(dir, "schema_version", SCHEMA, NULL);
}

int main(void)
{
	char dir[128];
	struct store *st;
	struct ids x;
	umask(022);
	snprintf(root, sizeof(root), "/tmp/iken-store-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	path_in(dir, sizeof(dir), "db");

	is_int(store_open(dir, &st), 0, "open a new store");
	if (st) {
		test_open(st, dir);
		is_int(store_open(dir, &st), 0, "reopen");
	}
	if (st) {
		set_specs(st);
		test_roundtrip(st);
		test_find(st, &x);
		test_reindex_on_update(st, &x);
		test_conflict(st, dir, &x);
		test_delete(st, &x);
		test_abort(st);
		test_txn_rules(st);
		test_seq(st);
		test_kv(st);
		test_late_spec(st);
		store_close(st);
		test_schema(dir, &x);
	}
	test_growth();
	test_processes();

	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
