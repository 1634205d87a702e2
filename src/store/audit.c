#include "config.h"
#include "store/audit.h"
#include "errcode.h"
#include "exchange/envelope.h"
#include "i18n.h"
#include "model/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Table "audit": key = sequence number (u64 big-endian, 8 bytes) -> one entry; key "head" ->
 * "SEQ TAB HASH", the end of the chain (what the next entry links to, and what tells a removed
 * last entry from an empty trail).
 *
 * An entry is its canonical line, a TAB and the line's SHA-256 (lowercase hex). The canonical
 * line is, TAB-separated:
 *   1  seq  time  user  role  action  form  ids  fields  file  sha256  detail  prev
 * "1" is the format; seq decimal; time Unix seconds, decimal; ids ascending, ranges "3,5-9";
 * prev the hash of entry seq-1 (64 zeros for entry 1). Text fields are escaped: backslash, TAB,
 * LF and CR as \\ \t \n \r, other control bytes as \xHH; so the line is unambiguous and the
 * hash covers every field, the sequence number included (a moved entry no longer fits).
 */

#define TABLE "audit"
#define HEAD_KEY "head"
#define HEAD_KEY_LEN 4
#define FORMAT_TAG "1"
#define NPARTS 14 /* the 13 fields of the canonical line and the hash */
#define HASH_HEX 64

static const char *const action_names[AUDIT__COUNT] = {
	"create", "update", "finalize", "reopen", "delete", "open", "show", "export", "import",
	"print", "send", "cancel", "result", "backup", "restore", "migrate",
};

const char *audit_action_name(enum audit_action a)
{
	return a >= 0 && a < AUDIT__COUNT ? action_names[a] : "?";
}

int audit_action_parse(const char *word, enum audit_action *out)
{
	for (int i = 0; i < AUDIT__COUNT; i++)
		if (word && strcmp(word, action_names[i]) == 0) {
			*out = (enum audit_action)i;
			return 0;
		}
	return IKEN_ENOTFOUND;
}

static void zero_hash(char out[65])
{
	memset(out, '0', HASH_HEX);
	out[HASH_HEX] = '\0';
}

static int is_hash(const char *s, size_t n)
{
	if (n != HASH_HEX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static void be64(unsigned char k[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		k[i] = (unsigned char)(v & 0xff);
}

static uint64_t from_be64(const unsigned char *k)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | k[i];
	return v;
}

/* --- the canonical line --- */

static void put_esc(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\\')
			sbuf_puts(b, "\\\\");
		else if (c == '\t')
			sbuf_puts(b, "\\t");
		else if (c == '\n')
			sbuf_puts(b, "\\n");
		else if (c == '\r')
			sbuf_puts(b, "\\r");
		else if (c < 0x20 || c == 0x7f)
			sbuf_printf(b, "\\x%02x", c);
		else
			sbuf_putc(b, (char)c);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (*p != '\\' || !p[1]) {
			*o++ = *p;
			continue;
		}
		p++;
		if (*p == 't')
			*o++ = '\t';
		else if (*p == 'n')
			*o++ = '\n';
		else if (*p == 'r')
			*o++ = '\r';
		else if (*p == 'x' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			p += 2;
		} else
			*o++ = *p;
	}
	*o = '\0';
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Ascending, without repeats, runs as ranges: "3,5-9". */
static void ids_format(const uint64_t *ids, size_t n, struct sbuf *out)
{
	if (!n)
		return;
	uint64_t *v = xmalloc(n * sizeof(*v));
	memcpy(v, ids, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && (v[j + 1] == v[j] || v[j + 1] == v[j] + 1))
			j++;
		sbuf_printf(out, "%s%llu", i ? "," : "", (unsigned long long)v[i]);
		if (v[j] != v[i])
			sbuf_printf(out, "-%llu", (unsigned long long)v[j]);
		i = j + 1;
	}
	free(v);
}

int audit_entry_has_id(const struct audit_entry *e, uint64_t id)
{
	const char *p = e->ids;
	while (p && *p) {
		char *end;
		errno = 0;
		unsigned long long a = strtoull(p, &end, 10), b = a;
		if (end == p || errno)
			return 0;
		p = end;
		if (*p == '-') {
			b = strtoull(p + 1, &end, 10);
			if (end == p + 1)
				return 0;
			p = end;
		}
		if (id >= a && id <= b)
			return 1;
		if (*p == ',')
			p++;
	}
	return 0;
}

struct line {
	uint64_t seq;
	int64_t time;
	const char *user, *role, *action, *form, *ids, *fields, *file, *sha256, *detail, *prev;
};

static void canonical(const struct line *l, struct sbuf *out)
{
	const char *text[] = { l->user, l->role, l->action, l->form, l->ids, l->fields, l->file,
			       l->sha256, l->detail, l->prev };
	sbuf_printf(out, FORMAT_TAG "\t%llu\t%lld", (unsigned long long)l->seq, (long long)l->time);
	for (size_t i = 0; i < ARRAY_SIZE(text); i++) {
		sbuf_putc(out, '\t');
		put_esc(out, text[i]);
	}
}

/* --- reading entries back --- */

struct parsed {
	char *buf;
	struct audit_entry e;
	int self_ok; /* the line matches the hash stored with it */
};

static void parsed_free(struct parsed *p)
{
	free(p->buf);
	p->buf = NULL;
}

/* 0, or IKEN_EDATA for an entry that cannot be read. */
static int parse_entry(const void *v, size_t vl, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	if (memchr(v, '\0', vl))
		return IKEN_EDATA;
	p->buf = xstrndup(v, vl);
	char *part[NPARTS];
	char *s = p->buf;
	size_t n = 0;
	for (;;) {
		if (n == NPARTS)
			goto bad;
		part[n++] = s;
		char *tab = strchr(s, '\t');
		if (!tab)
			break;
		*tab = '\0';
		s = tab + 1;
	}
	if (n != NPARTS || strcmp(part[0], FORMAT_TAG) != 0 || !is_hash(part[13], strlen(part[13])) ||
	    !is_hash(part[12], strlen(part[12])))
		goto bad;
	uint64_t seq;
	if (parse_u64(part[1], &seq) || seq == 0)
		goto bad;
	char *end;
	errno = 0;
	long long tm = strtoll(part[2], &end, 10);
	if (end == part[2] || *end || errno)
		goto bad;
	/* the hash covers the line up to the TAB before it, as stored */
	char self[65];
	sha256_hex(v, (size_t)(part[13] - p->buf) - 1, self);
	p->self_ok = strcmp(self, part[13]) == 0;
	for (int i = 3; i <= 11; i++)
		unescape(part[i]);
	p->e = (struct audit_entry){
		.seq = seq, .time = tm, .user = part[3], .role = part[4], .action = part[5],
		.form = part[6], .ids = part[7], .fields = part[8], .file = part[9],
		.sha256 = part[10], .detail = part[11], .prev = part[12], .hash = part[13],
	};
	return 0;
bad:
	parsed_free(p);
	return IKEN_EDATA;
}

struct scan_ctx {
	int (*cb)(const struct audit_entry *e, void *ctx);
	void *ctx;
};

static int scan_cb(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct scan_ctx *c = vctx;
	struct parsed p;
	if (kl != 8 || parse_entry(v, vl, &p))
		return 0;
	int rc = c->cb(&p.e, c->ctx);
	parsed_free(&p);
	return rc;
}

int audit_scan(struct store_txn *t, int (*cb)(const struct audit_entry *e, void *ctx), void *ctx)
{
	struct scan_ctx c = { cb, ctx };
	return store_kv_scan(t, TABLE, "", 0, scan_cb, &c);
}

/* --- the end of the chain --- */

static int parse_head(const char *v, size_t vl, uint64_t *seq, char hash[65])
{
	const char *tab = memchr(v, '\t', vl);
	char num[24];
	if (!tab || (size_t)(tab - v) >= sizeof(num) || !is_hash(tab + 1, vl - (size_t)(tab - v) - 1))
		return IKEN_EDATA;
	memcpy(num, v, (size_t)(tab - v));
	num[tab - v] = '\0';
	if (parse_u64(num, seq))
		return IKEN_EDATA;
	memcpy(hash, tab + 1, HASH_HEX);
	hash[HASH_HEX] = '\0';
	return 0;
}

struct last_ctx {
	uint64_t seq;
	char hash[65];
};

static int last_cb(const struct audit_entry *e, void *vctx)
{
	struct last_ctx *c = vctx;
	c->seq = e->seq;
	snprintf(c->hash, sizeof(c->hash), "%s", e->hash);
	return 0;
}

int audit_head(struct store_txn *t, uint64_t *seq, char hash[65])
{
	void *v;
	size_t vl;
	int rc = store_kv_get(t, TABLE, HEAD_KEY, HEAD_KEY_LEN, &v, &vl);
	if (rc == 0) {
		rc = parse_head(v, vl, seq, hash);
		free(v);
		if (rc == 0)
			return 0;
	} else if (rc != IKEN_ENOTFOUND) {
		return rc;
	}
	/* No (readable) record of the end: the last readable entry is the end, so that appending
	 * never reuses a number. audit_verify() reports the missing record. */
	struct last_ctx c = { 0, "" };
	zero_hash(c.hash);
	rc = audit_scan(t, last_cb, &c);
	if (rc)
		return rc;
	*seq = c.seq;
	memcpy(hash, c.hash, 65);
	return 0;
}

/* --- appending --- */

/* What audit_attach() keeps with the store. */
struct audit_ctx {
	audit_role_fn role_of;
	void *role_ctx;
};

/* The hook's ctx is ours only when our hook is set (audit_attach() is the only setter). */
static struct audit_ctx *attached(struct store_txn *t)
{
	return store_rec_hook_ctx(t);
}

int audit_add(struct store_txn *t, const struct audit_event *ev)
{
	if (!ev || ev->action < 0 || ev->action >= AUDIT__COUNT)
		return -EINVAL;
	uint64_t seq;
	char prev[65], hash[65];
	int rc = audit_head(t, &seq, prev);
	if (rc)
		return rc;
	struct sbuf role = { 0 }, ids = { 0 }, ln = { 0 }, head = { 0 };
	const char *user = ev->user && *ev->user ? ev->user : iken_user();
	struct audit_ctx *ac = attached(t);
	if (ac && ac->role_of)
		ac->role_of(t, user, &role, ac->role_ctx);
	ids_format(ev->ids, ev->nids, &ids);
	struct line l = {
		.seq = seq + 1, .time = ev->time ? ev->time : (int64_t)iken_now(), .user = user,
		.role = role.s, .action = action_names[ev->action], .form = ev->form, .ids = ids.s,
		.fields = ev->fields, .file = ev->file, .sha256 = ev->sha256, .detail = ev->detail,
		.prev = prev,
	};
	canonical(&l, &ln);
	sha256_hex(ln.s, ln.len, hash);
	if (!hash[0]) {
		rc = IKEN_ECRYPTO;
		goto cleanup;
	}
	sbuf_putc(&ln, '\t');
	sbuf_puts(&ln, hash);
	unsigned char key[8];
	be64(key, l.seq);
	rc = store_kv_put(t, TABLE, key, 8, ln.s, ln.len);
	if (rc)
		goto cleanup;
	sbuf_printf(&head, "%llu\t%s", (unsigned long long)l.seq, hash);
	rc = store_kv_put(t, TABLE, HEAD_KEY, HEAD_KEY_LEN, head.s, head.len);
cleanup:
	sbuf_free(&role);
	sbuf_free(&ids);
	sbuf_free(&ln);
	sbuf_free(&head);
	return rc;
}

static int log_txn(struct store_txn *t, void *ctx)
{
	return audit_add(t, ctx);
}

int audit_log(struct store *st, const struct audit_event *ev)
{
	return store_write(st, log_txn, (void *)(uintptr_t)ev);
}

struct get_ctx {
	uint64_t id;
	enum audit_action action;
	const char *user;
	struct record *rec;
};

static int get_txn(struct store_txn *t, void *vctx)
{
	struct get_ctx *c = vctx;
	rec_free(c->rec); /* a retried transaction reads again */
	c->rec = NULL;
	int rc = store_rec_get(t, c->id, &c->rec);
	if (rc)
		return rc;
	struct audit_event ev = { .action = c->action, .user = c->user, .form = c->rec->form,
				  .ids = &c->id, .nids = 1 };
	return audit_add(t, &ev);
}

int audit_get_record(struct store *st, uint64_t id, enum audit_action action, const char *user,
		     struct record **out)
{
	struct get_ctx c = { id, action, user, NULL };
	int rc = store_write(st, get_txn, &c);
	if (rc) {
		rec_free(c.rec);
		c.rec = NULL;
	}
	*out = c.rec;
	return rc;
}

/* --- record writes, through the store's hook --- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Ids of the fields whose values differ (an absent field counts as empty), sorted. */
static void changed_fields(const struct record *a, const struct record *b, struct sbuf *out)
{
	const char **ids = xmalloc((a->n + b->n + 1) * sizeof(*ids));
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->vals[i], rec_val(a, b->keys[i])) != 0)
			ids[n++] = b->keys[i];
	for (size_t i = 0; i < a->n; i++)
		if (!rec_get(b, a->keys[i]) && *a->vals[i])
			ids[n++] = a->keys[i];
	qsort(ids, n, sizeof(*ids), cmp_str);
	for (size_t i = 0; i < n; i++)
		sbuf_printf(out, "%s%s", i ? "," : "", ids[i]);
	free(ids);
}

static int on_record(struct store_txn *t, const struct record *old, const struct record *now,
		     const char *user, void *ctx)
{
	const struct record *r = now ? now : old;
	struct sbuf fields = { 0 }, detail = { 0 };
	enum audit_action a;
	uint64_t id = r->id;
	(void)ctx;
	if (!old) {
		a = AUDIT_CREATE;
	} else if (!now) {
		a = AUDIT_DELETE;
	} else {
		changed_fields(old, now, &fields);
		a = AUDIT_UPDATE;
		/* sending a draft finalizes and queues it in one write */
		if ((old->status == ST_DRAFT || old->status == ST_REJECTED) &&
		    (now->status == ST_FINAL || now->status == ST_QUEUED))
			a = AUDIT_FINALIZE;
		else if (old->status != ST_DRAFT && now->status == ST_DRAFT)
			a = AUDIT_REOPEN;
	}
	sbuf_printf(&detail, "r%u", r->revision);
	if (old && now && old->status != now->status)
		sbuf_printf(&detail, " %s>%s", rec_status_name(old->status),
			    rec_status_name(now->status));
	struct audit_event ev = { .action = a, .user = user, .form = r->form, .ids = &id,
				  .nids = 1, .fields = fields.s, .detail = detail.s };
	int rc = audit_add(t, &ev);
	sbuf_free(&fields);
	sbuf_free(&detail);
	return rc;
}

void audit_attach(struct store *st, audit_role_fn role_of, void *ctx)
{
	struct audit_ctx *ac = xcalloc(1, sizeof(*ac));
	ac->role_of = role_of;
	ac->role_ctx = ctx;
	store_set_rec_hook(st, on_record, ac, free);
}

/* --- verification --- */

/* Hashes of the most recent sequence numbers, for the links; a number seen twice keeps both. */
#define WINDOW 4096
struct slot {
	uint64_t seq;
	int n;                /* hashes known: 0 (damaged entry), 1, 2 (a repeated number) */
	char hash[2][65];
};

struct range {
	uint64_t from, to;
};

/* An entry whose predecessor has not been seen yet (stored later, or removed). */
struct pending {
	uint64_t seq;
	char prev[65];
};

struct verify {
	void (*cb)(const struct audit_problem *p, void *ctx);
	void *ctx;
	struct audit_summary *sum;
	struct slot *win;
	struct range *miss;
	size_t nmiss, capmiss;
	struct pending *pend;
	size_t npend, cappend;
	uint64_t max, last;   /* highest number seen; number of the entry stored before */
	int head_ok;
	uint64_t head_seq;
	char head_hash[65];
	int head_seen;
	struct audit_problem held; /* merged with the next one when it continues the range */
	int have_held;
};

static void flush_held(struct verify *v)
{
	if (!v->have_held)
		return;
	v->sum->problems++;
	if (v->cb)
		v->cb(&v->held, v->ctx);
	v->have_held = 0;
}

static void problem(struct verify *v, enum audit_problem_kind kind, uint64_t seq, uint64_t to,
		    uint64_t other)
{
	struct audit_problem *h = &v->held;
	if (v->have_held && h->kind == kind && seq == h->seq_to + 1 && kind != AP_DUPLICATE &&
	    kind != AP_FOREIGN && kind != AP_END_CHANGED && kind != AP_NO_END) {
		h->seq_to = to;
		return;
	}
	flush_held(v);
	*h = (struct audit_problem){ kind, seq, to, other };
	v->have_held = 1;
}

static struct slot *slot_of(struct verify *v, uint64_t seq)
{
	struct slot *s = &v->win[seq % WINDOW];
	return s->seq == seq ? s : NULL;
}

/* Takes seq out of the missing ranges; 1 when it was there. */
static int unmiss(struct verify *v, uint64_t seq)
{
	for (size_t i = v->nmiss; i-- > 0;) {
		struct range *r = &v->miss[i];
		if (seq < r->from || seq > r->to)
			continue;
		if (r->from == r->to) {
			memmove(r, r + 1, (v->nmiss - i - 1) * sizeof(*r));
			v->nmiss--;
		} else if (seq == r->from) {
			r->from++;
		} else if (seq == r->to) {
			r->to--;
		} else {
			if (v->nmiss == v->capmiss) {
				v->capmiss = v->capmiss ? v->capmiss * 2 : 16;
				v->miss = xrealloc(v->miss, v->capmiss * sizeof(*v->miss));
				r = &v->miss[i];
			}
			memmove(r + 2, r + 1, (v->nmiss - i - 1) * sizeof(*r));
			r[1] = (struct range){ seq + 1, r->to };
			r->to = seq - 1;
			v->nmiss++;
		}
		return 1;
	}
	return 0;
}

static void add_miss(struct verify *v, uint64_t from, uint64_t to)
{
	if (v->nmiss == v->capmiss) {
		v->capmiss = v->capmiss ? v->capmiss * 2 : 16;
		v->miss = xrealloc(v->miss, v->capmiss * sizeof(*v->miss));
	}
	v->miss[v->nmiss++] = (struct range){ from, to };
}

static int slot_has(const struct slot *s, const char *hash)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->hash[i], hash) == 0)
			return 1;
	return s->n == 0; /* a damaged predecessor: nothing to compare */
}

/* The link of entry seq (carrying prev) to entry seq-1, when that one has been seen. */
static void check_link(struct verify *v, uint64_t seq, const char *prev)
{
	if (seq == 1) {
		char z[65];
		zero_hash(z);
		if (strcmp(prev, z) != 0)
			problem(v, AP_LINK, 1, 1, 0);
		return;
	}
	struct slot *s = slot_of(v, seq - 1);
	if (s) {
		if (!slot_has(s, prev))
			problem(v, AP_LINK, seq, seq, 0);
		return;
	}
	for (size_t i = 0; i < v->nmiss; i++)
		if (seq - 1 >= v->miss[i].from && seq - 1 <= v->miss[i].to) {
			if (v->npend == v->cappend) {
				v->cappend = v->cappend ? v->cappend * 2 : 16;
				v->pend = xrealloc(v->pend, v->cappend * sizeof(*v->pend));
			}
			v->pend[v->npend].seq = seq;
			memcpy(v->pend[v->npend++].prev, prev, 65);
			return;
		}
	/* seen too long ago to remember: its link is not checked */
}

/* Entry seq has been seen (hash NULL: damaged): order, links, the recorded end. */
static void seen(struct verify *v, uint64_t key, uint64_t seq, const char *hash, const char *prev)
{
	if (seq > v->max) {
		if (seq > v->max + 1)
			add_miss(v, v->max + 1, seq - 1);
		v->max = seq;
	} else if (unmiss(v, seq)) {
		problem(v, AP_REORDERED, seq, seq, v->last);
	} else {
		problem(v, AP_DUPLICATE, seq, seq, key);
	}
	struct slot *s = slot_of(v, seq);
	if (!s) {
		s = &v->win[seq % WINDOW];
		s->seq = seq;
		s->n = 0;
	}
	if (hash && s->n < 2)
		memcpy(s->hash[s->n++], hash, 65);
	if (prev)
		check_link(v, seq, prev);
	/* entries that waited for this one */
	for (size_t i = 0; hash && i < v->npend;) {
		if (v->pend[i].seq == seq + 1) {
			if (strcmp(v->pend[i].prev, hash) != 0)
				problem(v, AP_LINK, seq + 1, seq + 1, 0);
			v->pend[i] = v->pend[--v->npend];
		} else {
			i++;
		}
	}
	if (v->head_ok && seq == v->head_seq && !v->head_seen) {
		v->head_seen = 1;
		if (hash && strcmp(hash, v->head_hash) != 0)
			problem(v, AP_END_CHANGED, seq, seq, 0);
	}
	v->last = seq;
}

static int verify_cb(const void *k, size_t kl, const void *val, size_t vl, void *vctx)
{
	struct verify *v = vctx;
	if (kl == HEAD_KEY_LEN && memcmp(k, HEAD_KEY, HEAD_KEY_LEN) == 0)
		return 0;
	if (kl != 8) {
		problem(v, AP_FOREIGN, v->last, v->last, 0);
		return 0;
	}
	uint64_t key = from_be64(k);
	struct parsed p;
	v->sum->entries++;
	if (parse_entry(val, vl, &p)) {
		problem(v, AP_DAMAGED, key, key, 0);
		seen(v, key, key, NULL, NULL);
		return 0;
	}
	if (!p.self_ok)
		problem(v, AP_CHANGED, p.e.seq, p.e.seq, 0);
	seen(v, key, p.e.seq, p.e.hash, p.e.prev);
	parsed_free(&p);
	return 0;
}

int audit_verify(struct store_txn *t, void (*cb)(const struct audit_problem *p, void *ctx),
		 void *ctx, struct audit_summary *sum)
{
	struct verify v = { .cb = cb, .ctx = ctx, .sum = sum };
	void *hv;
	size_t hl;
	memset(sum, 0, sizeof(*sum));
	zero_hash(sum->head);
	int rc = store_kv_get(t, TABLE, HEAD_KEY, HEAD_KEY_LEN, &hv, &hl);
	int head_there = rc == 0;
	if (rc == 0) {
		v.head_ok = parse_head(hv, hl, &v.head_seq, v.head_hash) == 0;
		free(hv);
	} else if (rc != IKEN_ENOTFOUND) {
		return rc;
	}
	v.win = xcalloc(WINDOW, sizeof(*v.win));
	for (size_t i = 0; i < WINDOW; i++)
		v.win[i].seq = UINT64_MAX;
	rc = store_kv_scan(t, TABLE, "", 0, verify_cb, &v);
	if (rc)
		goto cleanup;
	if (!v.head_ok) {
		if (sum->entries || head_there)
			problem(&v, AP_NO_END, v.max, v.max, 0);
		v.head_seq = v.max;
	} else {
		if (v.head_seq > v.max)
			add_miss(&v, v.max + 1, v.head_seq);
		else if (v.head_seq < v.max)
			problem(&v, AP_AFTER_END, v.head_seq + 1, v.max, v.head_seq);
		memcpy(sum->head, v.head_hash, 65);
	}
	for (size_t i = 0; i < v.nmiss; i++)
		problem(&v, AP_REMOVED, v.miss[i].from, v.miss[i].to, 0);
	flush_held(&v);
	sum->last = v.head_seq;
cleanup:
	free(v.win);
	free(v.miss);
	free(v.pend);
	return rc;
}

void audit_problem_text(const struct audit_problem *p, struct sbuf *out)
{
	unsigned long long a = p->seq, b = p->seq_to, o = p->other;
	int one = p->seq == p->seq_to;
	switch (p->kind) {
	case AP_CHANGED:
		if (one)
			sbuf_printf(out, _("entry %llu: changed (its contents do not match its hash)"), a);
		else
			sbuf_printf(out, _("entries %llu-%llu: changed (their contents do not match their hashes)"), a, b);
		break;
	case AP_LINK:
		if (a == 1 && one)
			sbuf_printf(out, "%s", _("entry 1: does not start the chain (changed, or entries were inserted before it)"));
		else if (one)
			sbuf_printf(out, _("entry %llu: does not carry the hash of entry %llu (entry %llu was changed, or %llu was inserted)"),
				    a, a - 1, a - 1, a);
		else
			sbuf_printf(out, _("entries %llu-%llu: do not carry the hashes of the entries before them (changed or inserted from entry %llu on)"),
				    a, b, a - 1);
		break;
	case AP_REMOVED:
		if (one)
			sbuf_printf(out, _("entry %llu: removed"), a);
		else
			sbuf_printf(out, _("entries %llu-%llu: removed"), a, b);
		break;
	case AP_REORDERED:
		if (one)
			sbuf_printf(out, _("entry %llu: out of order (stored after entry %llu)"), a, o);
		else
			sbuf_printf(out, _("entries %llu-%llu: out of order (stored after entry %llu)"), a, b, o);
		break;
	case AP_DUPLICATE:
		sbuf_printf(out, _("entry %llu: appears a second time (under key %llu): an entry was inserted"), a, o);
		break;
	case AP_DAMAGED:
		if (one)
			sbuf_printf(out, _("entry %llu: cannot be read (damaged or changed)"), a);
		else
			sbuf_printf(out, _("entries %llu-%llu: cannot be read (damaged or changed)"), a, b);
		break;
	case AP_FOREIGN:
		sbuf_printf(out, _("after entry %llu: an entry under a key that is no sequence number (inserted)"), a);
		break;
	case AP_AFTER_END:
		if (one)
			sbuf_printf(out, _("entry %llu: after the recorded end of the trail (entry %llu): inserted"), a, o);
		else
			sbuf_printf(out, _("entries %llu-%llu: after the recorded end of the trail (entry %llu): inserted"), a, b, o);
		break;
	case AP_END_CHANGED:
		sbuf_printf(out, _("entry %llu: differs from the recorded end of the trail (changed)"), a);
		break;
	case AP_NO_END:
		sbuf_printf(out, _("the record of the trail's end is missing or damaged (last entry %llu)"), a);
		break;
	}
}

/* --- schema 2: the old logs into the chain --- */

struct old_entry {
	char time[15];
	int recv;
	uint64_t seq;
	char *user, *file, *sha, *outcome;
};

struct old_list {
	struct old_entry *v;
	size_t n, cap;
	int recv;
};

static int old_cb(const void *k, size_t kl, const void *val, size_t vl, void *vctx)
{
	struct old_list *l = vctx;
	char *line = xstrndup(val, vl);
	const char *part[5] = { 0 };
	char *p = line;
	for (int i = 0; i < 5; i++) {
		part[i] = p ? p : "";
		char *tab = p ? strchr(p, '\t') : NULL;
		if (tab)
			*tab = '\0';
		p = tab ? tab + 1 : NULL;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	struct old_entry *e = &l->v[l->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->time, sizeof(e->time), "%s", part[0]);
	e->recv = l->recv;
	e->seq = kl == 8 ? from_be64(k) : 0;
	e->user = xstrdup(part[1]);
	e->file = xstrdup(part[2]);
	e->sha = xstrdup(part[3]);
	e->outcome = xstrdup(part[4]);
	free(line);
	return 0;
}

static int old_cmp(const void *a, const void *b)
{
	const struct old_entry *x = a, *y = b;
	int c = strcmp(x->time, y->time);
	if (c)
		return c;
	if (x->recv != y->recv)
		return x->recv - y->recv;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* The old receive log wrote some outside text into its outcomes (an .err file's first bytes, a
 * parser's message, values read from the file); the trail keeps iken's words only. */
static void safe_outcome(const char *o, struct sbuf *out)
{
	static const char *const cut[] = {
		".err file from the terminal", "malformed result",
		"identifier in the file differs from its name", "medical institution code",
	};
	for (size_t i = 0; i < ARRAY_SIZE(cut); i++)
		if (strncmp(o, cut[i], strlen(cut[i])) == 0) {
			sbuf_puts(out, cut[i]);
			return;
		}
	const char *ef = strstr(o, ": error file (");
	if (ef) {
		sbuf_add(out, o, (size_t)(ef - o));
		sbuf_puts(out, ": error file");
		return;
	}
	sbuf_puts(out, o);
}

struct del_ctx {
	struct store_txn *t;
	const char *table;
};

static int del_cb(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct del_ctx *c = vctx;
	(void)v;
	(void)vl;
	return store_kv_del(c->t, c->table, k, kl);
}

int audit_migrate_logs(struct store_txn *t)
{
	static const char *const tables[2] = { "sendlog", "recvlog" };
	struct old_list l = { 0 };
	size_t counts[2] = { 0, 0 };
	int rc = 0;
	for (int i = 0; i < 2 && !rc; i++) {
		size_t before = l.n;
		l.recv = i;
		rc = store_kv_scan(t, tables[i], "", 0, old_cb, &l);
		counts[i] = l.n - before;
	}
	if (rc)
		goto cleanup;
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), old_cmp);
	for (size_t i = 0; i < l.n && !rc; i++) {
		struct old_entry *e = &l.v[i];
		struct sbuf d = { 0 };
		time_t when = 0;
		if (iken_parse_ymdhms(e->time, &when))
			when = 0;
		if (e->recv)
			safe_outcome(e->outcome, &d);
		else
			sbuf_puts(&d, e->outcome);
		struct audit_event ev = {
			.action = e->recv ? AUDIT_RESULT :
				  strcmp(e->outcome, "cancelled") == 0 ? AUDIT_CANCEL : AUDIT_SEND,
			.user = *e->user ? e->user : "?", .file = e->file, .sha256 = e->sha,
			.detail = d.s, .time = (int64_t)when,
		};
		rc = audit_add(t, &ev);
		sbuf_free(&d);
	}
	for (int i = 0; i < 2 && !rc; i++) {
		struct del_ctx dc = { t, tables[i] };
		rc = store_kv_scan(t, tables[i], "", 0, del_cb, &dc);
	}
	if (!rc) {
		struct sbuf d = { 0 };
		sbuf_printf(&d, "schema 2: %zu send and %zu receive log entries carried into the trail",
			    counts[0], counts[1]);
		struct audit_event ev = { .action = AUDIT_MIGRATE, .detail = d.s };
		rc = audit_add(t, &ev);
		sbuf_free(&d);
	}
cleanup:
	for (size_t i = 0; i < l.n; i++) {
		free(l.v[i].user);
		free(l.v[i].file);
		free(l.v[i].sha);
		free(l.v[i].outcome);
	}
	free(l.v);
	return rc;
}
