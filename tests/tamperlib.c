#include "config.h"
#include "tamperlib.h"
#include "exchange/envelope.h"
#include "util.h"

#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct raw {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
};

static void key_of(uint64_t seq, unsigned char k[8])
{
	for (int i = 7; i >= 0; i--, seq >>= 8)
		k[i] = (unsigned char)(seq & 0xff);
}

static int get(struct raw *r, uint64_t seq, struct sbuf *out)
{
	unsigned char k[8];
	key_of(seq, k);
	MDB_val key = { 8, k }, v;
	if (mdb_get(r->txn, r->dbi, &key, &v))
		return -1;
	sbuf_reset(out);
	sbuf_add(out, v.mv_data, v.mv_size);
	return 0;
}

static int put_raw(struct raw *r, const void *k, size_t kl, const char *v, size_t vl)
{
	MDB_val key = { kl, (void *)(uintptr_t)k }, val = { vl, (void *)(uintptr_t)v };
	return mdb_put(r->txn, r->dbi, &key, &val, 0) ? -1 : 0;
}

static int put(struct raw *r, uint64_t seq, const struct sbuf *v)
{
	unsigned char k[8];
	key_of(seq, k);
	return put_raw(r, k, 8, v->s, v->len);
}

static int del(struct raw *r, uint64_t seq)
{
	unsigned char k[8];
	key_of(seq, k);
	MDB_val key = { 8, k };
	return mdb_del(r->txn, r->dbi, &key, NULL) ? -1 : 0;
}

/* The entry's own hash: the last 64 characters, after a TAB. */
static const char *own_hash(const struct sbuf *v)
{
	return v->len > 65 ? v->s + v->len - 64 : "";
}

/* Replaces the entry's own hash with that of the line before it. */
static void rehash(struct sbuf *v)
{
	char h[65];
	sha256_hex(v->s, v->len - 65, h);
	memcpy(v->s + v->len - 64, h, 64);
}

/* field n (0-based) of the line replaced by text */
static void set_field(struct sbuf *v, int n, const char *text)
{
	struct sbuf o = { 0 };
	const char *p = v->s;
	for (int i = 0; p; i++) {
		const char *tab = strchr(p, '\t');
		size_t len = tab ? (size_t)(tab - p) : strlen(p);
		if (i)
			sbuf_putc(&o, '\t');
		if (i == n)
			sbuf_puts(&o, text);
		else
			sbuf_add(&o, p, len);
		p = tab ? tab + 1 : NULL;
	}
	sbuf_free(v);
	*v = o;
}

/* A well-formed entry numbered seq, linked to prev. */
static void forge(uint64_t seq, const char *prev, struct sbuf *out)
{
	char h[65];
	sbuf_reset(out);
	sbuf_printf(out, "1\t%llu\t1775003400\tmallory\t3\tdelete\tikensho\t1\t\t\t\tforged\t%s",
		    (unsigned long long)seq, prev);
	sha256_hex(out->s, out->len, h);
	sbuf_printf(out, "\t%s", h);
}

static int last_seq(struct raw *r, uint64_t *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	*out = 0;
	if (mdb_cursor_open(r->txn, r->dbi, &c))
		return -1;
	int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while (rc == 0) {
		if (k.mv_size == 8) {
			uint64_t s = 0;
			for (int i = 0; i < 8; i++)
				s = s << 8 | ((unsigned char *)k.mv_data)[i];
			*out = s;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 0;
}

static int edit(struct raw *r, const char *how, uint64_t seq)
{
	struct sbuf a = { 0 }, b = { 0 };
	int rc = -1;
	uint64_t last;
	if (strcmp(how, "change") == 0 || strcmp(how, "rehash") == 0) {
		if (get(r, seq, &a))
			goto cleanup;
		set_field(&a, 3, "mallory");
		if (strcmp(how, "rehash") == 0)
			rehash(&a);
		rc = put(r, seq, &a);
	} else if (strcmp(how, "remove") == 0) {
		rc = del(r, seq);
	} else if (strcmp(how, "insert") == 0) {
		if (last_seq(r, &last) || get(r, seq - 1, &b))
			goto cleanup;
		for (uint64_t s = last; s >= seq; s--) {
			if (get(r, s, &a) || put(r, s + 1, &a))
				goto cleanup;
		}
		forge(seq, own_hash(&b), &a);
		rc = put(r, seq, &a);
	} else if (strcmp(how, "append") == 0) {
		if (last_seq(r, &last) || get(r, last, &b))
			goto cleanup;
		forge(last + 1, own_hash(&b), &a);
		rc = put(r, last + 1, &a);
	} else if (strcmp(how, "foreign") == 0) {
		unsigned char k[9];
		key_of(seq, k);
		k[8] = 'x';
		if (get(r, seq, &a))
			goto cleanup;
		rc = put_raw(r, k, 9, a.s, a.len);
	} else if (strcmp(how, "reorder") == 0) {
		if (get(r, seq, &a) || get(r, seq + 1, &b))
			goto cleanup;
		rc = put(r, seq, &b) || put(r, seq + 1, &a) ? -1 : 0;
	} else if (strcmp(how, "damage") == 0) {
		sbuf_puts(&a, "\x01\x02 this is no entry");
		rc = put(r, seq, &a);
	} else if (strcmp(how, "head-remove") == 0) {
		MDB_val key = { 4, (void *)(uintptr_t)"head" };
		rc = mdb_del(r->txn, r->dbi, &key, NULL) ? -1 : 0;
	} else if (strcmp(how, "head-change") == 0) {
		sbuf_printf(&a, "%llu\t%064d", (unsigned long long)seq, 7);
		rc = put_raw(r, "head", 4, a.s, a.len);
	} else {
		fprintf(stderr, "tamper: unknown edit %s\n", how);
	}
cleanup:
	sbuf_free(&a);
	sbuf_free(&b);
	return rc;
}

int tamper(const char *dir, const char *how, uint64_t seq)
{
	struct raw r = { 0 };
	int rc = mdb_env_create(&r.env);
	if (rc)
		goto fail;
	mdb_env_set_maxdbs(r.env, 32);
	rc = mdb_env_open(r.env, dir, 0, 0600);
	if (!rc)
		rc = mdb_txn_begin(r.env, NULL, 0, &r.txn);
	if (!rc)
		rc = mdb_dbi_open(r.txn, "audit", 0, &r.dbi);
	if (rc)
		goto fail;
	if (edit(&r, how, seq)) {
		mdb_txn_abort(r.txn);
		mdb_env_close(r.env);
		fprintf(stderr, "tamper: %s %llu failed\n", how, (unsigned long long)seq);
		return -1;
	}
	rc = mdb_txn_commit(r.txn);
	if (rc)
		goto fail;
	mdb_env_close(r.env);
	return 0;
fail:
	fprintf(stderr, "tamper: %s: %s\n", dir, mdb_strerror(rc));
	if (r.env)
		mdb_env_close(r.env);
	return -1;
}
