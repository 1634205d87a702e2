#include "config.h"
#include "store/audit.h"
#include "errcode.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *table_of(enum audit_log log)
{
	return log == AUDIT_SEND ? "sendlog" : "recvlog";
}

/* Tabs and line breaks would break the line format; file names and messages never need them. */
static void put_clean(struct sbuf *b, const char *s)
{
	for (; s && *s; s++)
		sbuf_putc(b, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
}

int audit_add(struct store_txn *t, enum audit_log log, const char *user, const char *file,
	      const char *sha256, const char *outcome)
{
	uint64_t seq;
	int rc = store_seq_next(t, table_of(log), &seq);
	if (rc)
		return rc;
	unsigned char key[8];
	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char)(seq >> (56 - 8 * i));
	char now[15];
	iken_ymdhms(iken_now(), now);
	struct sbuf line = { 0 };
	sbuf_printf(&line, "%s\t", now);
	put_clean(&line, user);
	sbuf_putc(&line, '\t');
	put_clean(&line, file);
	sbuf_putc(&line, '\t');
	put_clean(&line, sha256);
	sbuf_putc(&line, '\t');
	put_clean(&line, outcome);
	rc = store_kv_put(t, table_of(log), key, 8, line.s, line.len);
	sbuf_free(&line);
	return rc;
}

struct scan_ctx {
	int (*cb)(const struct audit_entry *e, void *ctx);
	void *ctx;
};

static int on_kv(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct scan_ctx *c = vctx;
	struct audit_entry e = { 0 };
	const unsigned char *kp = k;
	for (size_t i = 0; i < kl && i < 8; i++)
		e.seq = e.seq << 8 | kp[i];
	char *line = xstrndup(v, vl);
	char *parts[5] = { 0 };
	char *p = line;
	for (int i = 0; i < 5; i++) {
		parts[i] = p;
		char *tab = p ? strchr(p, '\t') : NULL;
		if (tab)
			*tab = '\0';
		p = tab ? tab + 1 : NULL;
	}
	snprintf(e.time, sizeof(e.time), "%s", parts[0] ? parts[0] : "");
	e.user = parts[1] ? parts[1] : "";
	e.file = parts[2] ? parts[2] : "";
	e.sha256 = parts[3] ? parts[3] : "";
	e.outcome = parts[4] ? parts[4] : "";
	int rc = c->cb(&e, c->ctx);
	free(line);
	return rc;
}

int audit_scan(struct store_txn *t, enum audit_log log,
	       int (*cb)(const struct audit_entry *e, void *ctx), void *ctx)
{
	struct scan_ctx c = { cb, ctx };
	return store_kv_scan(t, table_of(log), "", 0, on_kv, &c);
}
