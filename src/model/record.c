#include "config.h"
#include "model/record.h"
#include "errcode.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[ST__COUNT] = {
	"draft", "final", "queued", "published", "accepted", "rejected",
};

const char *rec_status_name(enum rec_status st)
{
	return (unsigned)st < ST__COUNT ? status_names[st] : "?";
}

int rec_status_parse(const char *word, enum rec_status *out)
{
	for (int i = 0; i < ST__COUNT; i++) {
		if (strcmp(word, status_names[i]) == 0) {
			*out = (enum rec_status)i;
			return 0;
		}
	}
	return IKEN_ENOTFOUND;
}

struct record *rec_new(const char *form, const char *layout_version)
{
	struct record *r = xcalloc(1, sizeof(*r));
	r->form = xstrdup(form ? form : "");
	r->layout_version = xstrdup(layout_version ? layout_version : "");
	r->created_by = xstrdup("");
	r->updated_by = xstrdup("");
	return r;
}

void rec_free(struct record *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->keys[i]);
		free(r->vals[i]);
	}
	free(r->keys);
	free(r->vals);
	free(r->form);
	free(r->layout_version);
	free(r->created_by);
	free(r->updated_by);
	free(r);
}

struct record *rec_dup(const struct record *r)
{
	struct record *d = rec_new(r->form, r->layout_version);
	d->id = r->id;
	d->status = r->status;
	d->revision = r->revision;
	d->created = r->created;
	d->updated = r->updated;
	free(d->created_by);
	free(d->updated_by);
	d->created_by = xstrdup(r->created_by);
	d->updated_by = xstrdup(r->updated_by);
	for (size_t i = 0; i < r->n; i++)
		rec_set(d, r->keys[i], r->vals[i]);
	return d;
}

/* Binary search; returns the index of id or where it would be inserted. */
static size_t find(const struct record *r, const char *id, int *found)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->keys[mid], id);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

const char *rec_get(const struct record *r, const char *id)
{
	int found;
	size_t i = find(r, id, &found);
	return found ? r->vals[i] : NULL;
}

const char *rec_val(const struct record *r, const char *id)
{
	const char *v = rec_get(r, id);
	return v ? v : "";
}

void rec_set(struct record *r, const char *id, const char *value)
{
	int found;
	size_t i = find(r, id, &found);
	if (found) {
		if (r->vals[i] == value)
			return;
		char *v = xstrdup(value ? value : "");
		free(r->vals[i]);
		r->vals[i] = v;
		return;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->keys = xrealloc(r->keys, r->cap * sizeof(*r->keys));
		r->vals = xrealloc(r->vals, r->cap * sizeof(*r->vals));
	}
	memmove(r->keys + i + 1, r->keys + i, (r->n - i) * sizeof(*r->keys));
	memmove(r->vals + i + 1, r->vals + i, (r->n - i) * sizeof(*r->vals));
	r->keys[i] = xstrdup(id);
	r->vals[i] = xstrdup(value ? value : "");
	r->n++;
}

void rec_unset(struct record *r, const char *id)
{
	int found;
	size_t i = find(r, id, &found);
	if (!found)
		return;
	free(r->keys[i]);
	free(r->vals[i]);
	memmove(r->keys + i, r->keys + i + 1, (r->n - i - 1) * sizeof(*r->keys));
	memmove(r->vals + i, r->vals + i + 1, (r->n - i - 1) * sizeof(*r->vals));
	r->n--;
}

/* Encoding: "IKR1", then u64 id, u32 status, u32 revision, i64 created, i64 updated (little
 * endian), then length-prefixed strings (u32 length + bytes): form, layout version, created_by,
 * updated_by, u32 count, and count key/value pairs. */
#define REC_MAGIC "IKR1"

static void put_u32(struct sbuf *b, uint32_t v)
{
	unsigned char p[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
	sbuf_add(b, p, 4);
}

static void put_u64(struct sbuf *b, uint64_t v)
{
	put_u32(b, (uint32_t)v);
	put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);
	put_u32(b, (uint32_t)n);
	sbuf_add(b, s, n);
}

void rec_encode(const struct record *r, struct sbuf *out)
{
	sbuf_add(out, REC_MAGIC, 4);
	put_u64(out, r->id);
	put_u32(out, (uint32_t)r->status);
	put_u32(out, r->revision);
	put_u64(out, (uint64_t)r->created);
	put_u64(out, (uint64_t)r->updated);
	put_str(out, r->form);
	put_str(out, r->layout_version);
	put_str(out, r->created_by);
	put_str(out, r->updated_by);
	put_u32(out, (uint32_t)r->n);
	for (size_t i = 0; i < r->n; i++) {
		put_str(out, r->keys[i]);
		put_str(out, r->vals[i]);
	}
}

struct reader {
	const unsigned char *p, *end;
	int bad;
};

static uint32_t get_u32(struct reader *rd)
{
	if (rd->end - rd->p < 4) {
		rd->bad = 1;
		return 0;
	}
	uint32_t v = (uint32_t)rd->p[0] | (uint32_t)rd->p[1] << 8 | (uint32_t)rd->p[2] << 16 |
		     (uint32_t)rd->p[3] << 24;
	rd->p += 4;
	return v;
}

static uint64_t get_u64(struct reader *rd)
{
	uint64_t lo = get_u32(rd);
	return lo | (uint64_t)get_u32(rd) << 32;
}

static char *get_str(struct reader *rd)
{
	uint32_t n = get_u32(rd);
	if (rd->bad || (size_t)(rd->end - rd->p) < n) {
		rd->bad = 1;
		return xstrdup("");
	}
	char *s = xstrndup((const char *)rd->p, n);
	rd->p += n;
	return s;
}

int rec_decode(const void *buf, size_t len, struct record **out)
{
	struct reader rd = { buf, (const unsigned char *)buf + len, 0 };
	if (len < 4 || memcmp(buf, REC_MAGIC, 4) != 0)
		return IKEN_EDATA;
	rd.p += 4;
	struct record *r = rec_new("", "");
	r->id = get_u64(&rd);
	r->status = (enum rec_status)get_u32(&rd);
	r->revision = get_u32(&rd);
	r->created = (int64_t)get_u64(&rd);
	r->updated = (int64_t)get_u64(&rd);
	free(r->form);
	free(r->layout_version);
	free(r->created_by);
	free(r->updated_by);
	r->form = get_str(&rd);
	r->layout_version = get_str(&rd);
	r->created_by = get_str(&rd);
	r->updated_by = get_str(&rd);
	uint32_t n = get_u32(&rd);
	for (uint32_t i = 0; i < n && !rd.bad; i++) {
		char *k = get_str(&rd);
		char *v = get_str(&rd);
		if (!rd.bad)
			rec_set(r, k, v);
		free(k);
		free(v);
	}
	if (rd.bad || rd.p != rd.end || (unsigned)r->status >= ST__COUNT) {
		rec_free(r);
		return IKEN_EDATA;
	}
	*out = r;
	return 0;
}

int rec_same_values(const struct record *a, const struct record *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->keys[i], b->keys[i]) || strcmp(a->vals[i], b->vals[i]))
			return 0;
	return 1;
}
