/* The audit trail on a real LMDB store: the entries record writes catch (create, update with the
 * changed field ids, finalize, reopen, delete), ids as ranges, escaping, an entry that commits or
 * aborts with its change, retried transactions, concurrent writers, and verification that names
 * every changed, removed, inserted, reordered or damaged entry by its sequence number. */
#include "config.h"
#include "store/audit.h"
#include "store/store.h"
#include "errcode.h"
#include "model/record.h"
#include "util.h"
#include "tamperlib.h"
#include "tap.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char root[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void role_of(struct store_txn *t, const char *login, struct sbuf *out, void *ctx)
{
	(void)t;
	(void)ctx;
	if (strcmp(login, "doc") == 0)
		sbuf_puts(out, "1");
}

static struct store *open_in(const char *name)
{
	char dir[128];
	struct store *st;
	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	if (store_open(dir, &st))
		return NULL;
	audit_attach(st, role_of, NULL);
	return st;
}

/* --- the entries, read back --- */

#define MAXE 64
struct got {
	size_t n;
	char line[MAXE][512];
	struct audit_entry e[MAXE]; /* only seq and time kept */
};

static int collect_cb(const struct audit_entry *e, void *vctx)
{
	struct got *g = vctx;
	if (g->n == MAXE)
		return 0;
	snprintf(g->line[g->n], sizeof(g->line[0]), "%s|%s|%s|%s|%s|%s|%s|%s|%s", e->user, e->role,
		 e->action, e->form, e->ids, e->fields, e->file, e->sha256, e->detail);
	g->e[g->n].seq = e->seq;
	g->e[g->n].time = e->time;
	g->n++;
	return 0;
}

static int collect_txn(struct store_txn *t, void *ctx)
{
	((struct got *)ctx)->n = 0;
	return audit_scan(t, collect_cb, ctx);
}

static void entries(struct store *st, struct got *g)
{
	if (store_read(st, collect_txn, g))
		g->n = 0;
}

static const char *last_line(struct got *g)
{
	return g->n ? g->line[g->n - 1] : "";
}

/* --- verification --- */

struct vres {
	struct audit_summary sum;
	size_t n;
	struct audit_problem p[16];
	char text[1024];
};

static void vcb(const struct audit_problem *p, void *ctx)
{
	struct vres *v = ctx;
	if (v->n < 16)
		v->p[v->n++] = *p;
	struct sbuf b = { 0 };
	audit_problem_text(p, &b);
	size_t l = strlen(v->text);
	snprintf(v->text + l, sizeof(v->text) - l, "%s; ", b.s);
	sbuf_free(&b);
}

static int verify_txn(struct store_txn *t, void *ctx)
{
	struct vres *v = ctx;
	memset(v, 0, sizeof(*v));
	return audit_verify(t, vcb, v, &v->sum);
}

static int verify(struct store *st, struct vres *v)
{
	return store_read(st, verify_txn, v);
}

/* --- writes --- */

static struct record *rec(const char *a, const char *b, const char *c)
{
	struct record *r = rec_new("ikensho", "1");
	if (a)
		rec_set(r, "a", a);
	if (b)
		rec_set(r, "b", b);
	if (c)
		rec_set(r, "c", c);
	return r;
}

struct fail_ctx {
	struct record *r;
};

static int insert_then_fail(struct store_txn *t, void *vctx)
{
	struct fail_ctx *c = vctx;
	int rc = store_rec_insert(t, c->r, "doc");
	return rc ? rc : IKEN_EDATA;
}

static int delete_txn(struct store_txn *t, void *ctx)
{
	return store_rec_delete(t, *(uint64_t *)ctx);
}

static void test_actions(void)
{
	struct store *st = open_in("actions");
	struct got g;
	ok(st != NULL, "store opened and the trail attached");
	if (!st)
		return;
	entries(st, &g);
	is_int(g.n, 0, "a new store has an empty trail");

	struct record *r = rec("x", "y", "z");
	ok(store_insert(st, r, "doc") == 0, "insert");
	entries(st, &g);
	is_int(g.n, 1, "one entry for the insert");
	char want[256];
	snprintf(want, sizeof(want), "doc|1|create|ikensho|%llu||||r1", (unsigned long long)r->id);
	is_str(last_line(&g), want, "create: user, role, form, id, revision; no values");

	rec_set(r, "a", "x2");
	rec_set(r, "d", "new");
	rec_unset(r, "c");
	ok(store_update(st, r, 1, "clerk") == 0, "update");
	entries(st, &g);
	snprintf(want, sizeof(want), "clerk||update|ikensho|%llu|a,c,d|||r2",
		 (unsigned long long)r->id);
	is_str(last_line(&g), want, "update: the ids of the changed fields (set, changed, removed)");

	r->status = ST_FINAL;
	ok(store_update(st, r, 2, "doc") == 0, "finalize");
	entries(st, &g);
	snprintf(want, sizeof(want), "doc|1|finalize|ikensho|%llu||||r3 draft>final",
		 (unsigned long long)r->id);
	is_str(last_line(&g), want, "draft -> final is a finalize entry");
	r->status = ST_DRAFT;
	ok(store_update(st, r, 3, "doc") == 0, "reopen");
	entries(st, &g);
	snprintf(want, sizeof(want), "doc|1|reopen|ikensho|%llu||||r4 final>draft",
		 (unsigned long long)r->id);
	is_str(last_line(&g), want, "final -> draft is a reopen entry");
	r->status = ST_QUEUED;
	ok(store_update(st, r, 4, "doc") == 0, "sent from draft");
	entries(st, &g);
	snprintf(want, sizeof(want), "doc|1|finalize|ikensho|%llu||||r5 draft>queued",
		 (unsigned long long)r->id);
	is_str(last_line(&g), want, "draft -> queued (send) is a finalize entry too");
	r->status = ST_PUBLISHED;
	ok(store_update(st, r, 5, "doc") == 0, "status change");
	entries(st, &g);
	snprintf(want, sizeof(want), "doc|1|update|ikensho|%llu||||r6 queued>published",
		 (unsigned long long)r->id);
	is_str(last_line(&g), want, "another status change: an update with the transition");

	size_t before = g.n;
	ok(store_update(st, r, 1, "doc") == IKEN_ECONFLICT, "a stale update is refused");
	struct fail_ctx fc = { rec("1", NULL, NULL) };
	ok(store_write(st, insert_then_fail, &fc) == IKEN_EDATA, "a transaction that fails");
	entries(st, &g);
	is_int(g.n, before, "neither leaves an entry: entries commit with their change");
	rec_free(fc.r);

	uint64_t id = r->id;
	ok(store_write(st, delete_txn, &id) == 0, "delete");
	entries(st, &g);
	snprintf(want, sizeof(want), "tester||delete|ikensho|%llu||||r6", (unsigned long long)id);
	is_str(last_line(&g), want, "delete: the user running it");

	uint64_t ids[] = { 9, 4, 3, 5, 4, 12, 11 };
	struct audit_event ev = { .action = AUDIT_PRINT, .user = "doc", .form = "ikensho",
				  .ids = ids, .nids = ARRAY_SIZE(ids), .file = "a\tb\\c",
				  .sha256 = "", .detail = "line\nbreak\r\x01" };
	ok(audit_log(st, &ev) == 0, "an entry of its own transaction");
	entries(st, &g);
	is_str(last_line(&g), "doc|1|print|ikensho|3-5,9,11-12||a\tb\\c||line\nbreak\r\x01",
	       "ids sorted as ranges; TAB, line breaks, backslash and control bytes kept");
	struct audit_entry e = { .ids = "3-5,9,11-12" };
	ok(audit_entry_has_id(&e, 4) && audit_entry_has_id(&e, 9) && audit_entry_has_id(&e, 12) &&
	   !audit_entry_has_id(&e, 6) && !audit_entry_has_id(&e, 10) && !audit_entry_has_id(&e, 2),
	   "ids match in and outside the ranges");
	for (size_t i = 1; i < g.n; i++)
		if (g.e[i].seq != g.e[i - 1].seq + 1) {
			ok(0, "numbers go up by one");
			break;
		}

	struct record *got = NULL;
	struct record *other = rec("q", NULL, NULL);
	store_insert(st, other, "doc");
	ok(audit_get_record(st, other->id, AUDIT_OPEN, "clerk", &got) == 0 && got &&
	   got->id == other->id, "a record read with its entry");
	entries(st, &g);
	snprintf(want, sizeof(want), "clerk||open|ikensho|%llu||||", (unsigned long long)other->id);
	is_str(last_line(&g), want, "the open entry");
	rec_free(got);
	before = g.n;
	ok(audit_get_record(st, 999, AUDIT_SHOW, "clerk", &got) == IKEN_ENOTFOUND && !got,
	   "an absent record is not found");
	entries(st, &g);
	is_int(g.n, before, "and leaves no entry");

	enum audit_action a;
	ok(audit_action_parse("finalize", &a) == 0 && a == AUDIT_FINALIZE &&
	   audit_action_parse("nonsense", &a) == IKEN_ENOTFOUND, "action words");
	struct vres v;
	ok(verify(st, &v) == 0 && v.sum.problems == 0 && v.sum.entries == g.n &&
	   v.sum.last == g.e[g.n - 1].seq, "the chain verifies");
	rec_free(r);
	rec_free(other);
	store_close(st);
}

/* A map that must grow while entries are written: the retried transaction appends once. */
static void test_retry(void)
{
	setenv("IKEN_STORE_MAPSIZE", "65536", 1);
	struct store *st = open_in("retry");
	unsetenv("IKEN_STORE_MAPSIZE");
	ok(st != NULL, "a small store");
	if (!st)
		return;
	size_t start = store_map_size(st);
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	int rc = 0;
	for (int i = 0; i < 200 && !rc; i++) {
		struct record *r = rec(big, NULL, NULL);
		rc = store_insert(st, r, "doc");
		rec_free(r);
	}
	ok(rc == 0 && store_map_size(st) > start, "the map grew while writing");
	struct vres v;
	rc = verify(st, &v);
	ok(rc == 0 && v.sum.problems == 0 && v.sum.entries == 200,
	   "exactly one entry per write, chain intact (%zu problems: %s)", v.sum.problems, v.text);
	store_close(st);
}

/* Several processes appending at once keep one chain. */
static void test_concurrent(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "%s/conc", root);
	struct store *st;
	ok(store_open(dir, &st) == 0, "store for concurrent writers");
	store_close(st);
	pid_t kids[3];
	for (int k = 0; k < 3; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			struct store *s;
			if (store_open(dir, &s))
				_exit(1);
			audit_attach(s, role_of, NULL);
			for (int i = 0; i < 50; i++) {
				struct record *r = rec("p", NULL, NULL);
				int rc = store_insert(s, r, "doc");
				rec_free(r);
				if (rc)
					_exit(1);
			}
			store_close(s);
			_exit(0);
		}
	}
	int all = 1;
	for (int k = 0; k < 3; k++) {
		int status;
		waitpid(kids[k], &status, 0);
		all = all && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	ok(all, "three processes wrote 50 records each");
	ok(store_open(dir, &st) == 0, "reopened");
	struct vres v;
	ok(verify(st, &v) == 0 && v.sum.problems == 0 && v.sum.entries == 150 && v.sum.last == 150,
	   "150 entries in one intact chain");
	store_close(st);
}

/* --- tampering --- */

#define CHAIN 20

static void copy_file(const char *from, const char *to)
{
	char *buf;
	size_t len;
	if (read_file(from, 1 << 26, &buf, &len) == 0) {
		write_file_atomic(to, buf, len, 0600);
		free(buf);
	}
}

/* A copy of the 20-entry chain in dir, tampered with how at seq, verified into v. */
static int tampered(const char *how, uint64_t seq, struct vres *v)
{
	static int n;
	char src[128], dir[128], from[160], to[160];
	snprintf(src, sizeof(src), "%s/chain", root);
	snprintf(dir, sizeof(dir), "%s/t%d", root, n++);
	mkdir(dir, 0700);
	snprintf(from, sizeof(from), "%s/data.mdb", src);
	snprintf(to, sizeof(to), "%s/data.mdb", dir);
	copy_file(from, to);
	if (tamper(dir, how, seq))
		return -1;
	struct store *st;
	if (store_open(dir, &st))
		return -1;
	int rc = verify(st, v);
	store_close(st);
	return rc;
}

/* Exactly one problem of kind at seq (..to), and its text names the sequence number. */
static void expect(const char *how, uint64_t seq, enum audit_problem_kind kind, uint64_t at,
		   uint64_t to, const char *says)
{
	struct vres v;
	int rc = tampered(how, seq, &v);
	ok(rc == 0 && v.sum.problems == 1 && v.n == 1 && v.p[0].kind == kind &&
	   v.p[0].seq == at && v.p[0].seq_to == to && strstr(v.text, says),
	   "%s %llu: found, at %llu (%s)", how, (unsigned long long)seq, (unsigned long long)at,
	   v.text);
}

static void test_tamper(void)
{
	struct store *st = open_in("chain");
	if (!st)
		return;
	for (int i = 0; i < CHAIN; i++) {
		struct audit_event ev = { .action = AUDIT_SHOW, .user = "doc", .form = "ikensho",
					  .ids = (uint64_t[]){ (uint64_t)i + 1 }, .nids = 1 };
		audit_log(st, &ev);
	}
	struct vres v;
	ok(verify(st, &v) == 0 && v.sum.problems == 0 && v.sum.entries == CHAIN,
	   "20 entries, intact");
	store_close(st);

	expect("change", 7, AP_CHANGED, 7, 7, "entry 7: changed");
	expect("rehash", 7, AP_LINK, 8, 8, "entry 7 was changed");
	expect("remove", 7, AP_REMOVED, 7, 7, "entry 7: removed");
	expect("remove", CHAIN, AP_REMOVED, CHAIN, CHAIN, "entry 20: removed");
	expect("remove", 1, AP_REMOVED, 1, 1, "entry 1: removed");
	expect("insert", 7, AP_DUPLICATE, 7, 7, "entry 7: appears a second time (under key 8)");
	expect("append", 0, AP_AFTER_END, CHAIN + 1, CHAIN + 1, "entry 21: after the recorded end");
	expect("foreign", 7, AP_FOREIGN, 7, 7, "after entry 7");
	expect("reorder", 7, AP_REORDERED, 7, 7, "entry 7: out of order (stored after entry 8)");
	expect("damage", 7, AP_DAMAGED, 7, 7, "entry 7: cannot be read");
	expect("head-remove", 0, AP_NO_END, CHAIN, CHAIN, "missing");
	expect("head-change", CHAIN, AP_END_CHANGED, CHAIN, CHAIN, "entry 20: differs");

	/* the trail goes on correctly after its end record was lost */
	char dir[128];
	ok(tampered("head-remove", 0, &v) == 0, "end record removed");
	snprintf(dir, sizeof(dir), "%s/t%d", root, 12);
	if (store_open(dir, &st) == 0) {
		struct audit_event ev = { .action = AUDIT_SHOW, .user = "doc" };
		ok(audit_log(st, &ev) == 0, "appending after it");
		ok(verify(st, &v) == 0 && v.sum.problems == 0 && v.sum.entries == CHAIN + 1 &&
		   v.sum.last == CHAIN + 1, "numbers on from the last entry, never reused");
		store_close(st);
	}

	/* several edits at once: each named */
	struct vres m;
	char src[128];
	snprintf(src, sizeof(src), "%s/t%d", root, 0); /* entry 7 changed */
	if (tamper(src, "remove", 12) == 0 && tamper(src, "reorder", 15) == 0 &&
	    store_open(src, &st) == 0) {
		verify(st, &m);
		store_close(st);
		ok(m.sum.problems == 3 && strstr(m.text, "entry 7: changed") &&
		   strstr(m.text, "entry 12: removed") && strstr(m.text, "entry 15: out of order"),
		   "three edits, three findings (%s)", m.text);
	}
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/iken-audit-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	setenv("IKEN_TEST_USER", "tester", 1);
	test_actions();
	test_retry();
	test_concurrent();
	test_tamper();
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return done_testing();
}
