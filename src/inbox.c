#include "config.h"
#include "inbox.h"
#include "audit.h"
#include "envelope.h"
#include "errcode.h"
#include "outbox.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIM_PREFIX ".iken-claim."

void stored_result_clear(struct stored_result *r)
{
	free(r->file_id);
	free(r->file_name);
	free(r->form);
	free(r->status);
	free(r->reception_no);
	free(r->code);
	free(r->message);
	free(r->errors);
	free(r->sha256);
	memset(r, 0, sizeof(*r));
}

/* --- one claimed file --- */

struct import_ctx {
	struct app *a;
	const struct term_conf *tcf;
	const char *name;          /* the file's name in the result folder */
	char kind;                 /* 'r' result, 'e' error file */
	const char *name_id;       /* identifier from the file name */
	const char *buf;
	size_t len;
	char sha[65];
	/* out */
	char *quarantine;          /* reason, when the file goes to quarantine */
	int already;               /* the same bytes were imported before: archive only */
	char *summary;
};

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *dupf(const char *fmt, ...)
{
	struct sbuf b = { 0 };
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return sbuf_take(&b);
}

/* A short, printable excerpt of an .err file for the record (no control characters). */
static char *excerpt(const char *buf, size_t len)
{
	struct sbuf b = { 0 };
	for (size_t i = 0; i < len && b.len < 300; i++) {
		unsigned char c = (unsigned char)buf[i];
		sbuf_putc(&b, c < 0x20 || c == 0x7f ? ' ' : (char)c);
	}
	while (b.len && b.s[b.len - 1] == ' ')
		b.s[--b.len] = '\0';
	return sbuf_take(&b);
}

static int put_result(struct store_txn *t, const struct q_entry *e, const char *status,
		      const struct result *res, const char *errtext, const struct import_ctx *c)
{
	struct record *r = rec_new("result", "1");
	struct sbuf b = { 0 }, errs = { 0 };
	char num[32];
	rec_set(r, "file_id", e->file_id);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)e->doc_id);
	rec_set(r, "doc_id", num);
	rec_set(r, "form", e->form);
	rec_set(r, "status", status);
	rec_set(r, "file_name", c->name);
	rec_set(r, "sha256", c->sha);
	snprintf(num, sizeof(num), "%lld", (long long)iken_now());
	rec_set(r, "received", num);
	if (res) {
		rec_set(r, "reception_no", res->reception_no ? res->reception_no : "");
		rec_set(r, "code", res->code ? res->code : (res->hdr_error_code ? res->hdr_error_code : ""));
		rec_set(r, "message", res->message ? res->message :
				      (res->hdr_error_message ? res->hdr_error_message : ""));
		for (size_t i = 0; i < res->nerrors; i++)
			sbuf_printf(&errs, "%d\t%s\t%s\n", res->errors[i].item,
				    res->errors[i].code ? res->errors[i].code : "",
				    res->errors[i].message ? res->errors[i].message : "");
	} else {
		rec_set(r, "message", errtext ? errtext : "");
	}
	rec_set(r, "errors", errs.s ? errs.s : "");
	rec_encode(r, &b);
	int rc = store_kv_put(t, "results", e->file_id, strlen(e->file_id), b.s, b.len);
	/* the raw bytes, as received: evidence */
	if (!rc) {
		struct sbuf k = { 0 };
		sbuf_printf(&k, "raw:%s", e->file_id);
		rc = store_kv_put(t, "results", k.s, k.len, c->buf, c->len);
		sbuf_free(&k);
	}
	sbuf_free(&b);
	sbuf_free(&errs);
	rec_free(r);
	return rc;
}

static int set_doc_status(struct store_txn *t, const struct q_entry *e, enum rec_status st,
			  const char *user)
{
	struct record *r;
	int rc = store_rec_get(t, e->doc_id, &r);
	if (rc)
		return rc == IKEN_ENOTFOUND ? 0 : rc;
	/* Only the document's current attempt moves it: an old attempt's late result does not. */
	if (r->status == ST_PUBLISHED || r->status == ST_QUEUED) {
		r->status = st;
		rc = store_rec_update(t, r, r->revision, user);
	}
	rec_free(r);
	return rc;
}

static int import_txn(struct store_txn *t, void *vctx)
{
	struct import_ctx *c = vctx;
	struct result res = { 0 };
	struct q_entry e = { 0 };
	struct sbuf perr = { 0 };
	int rc = 0;
	free(c->quarantine);
	free(c->summary);
	c->quarantine = c->summary = NULL;
	c->already = 0;
	const char *file_id = c->name_id;
	if (c->kind == 'r') {
		if (result_parse(c->a->tc, c->buf, c->len, &res, &perr)) {
			c->quarantine = dupf("malformed result: %s", perr.s ? perr.s : "");
			goto log;
		}
		if (res.file_id && *res.file_id)
			file_id = res.file_id;
	}
	if (outbox_get(t, file_id, &e)) {
		c->quarantine = dupf("unknown identifier %s", file_id);
		goto log;
	}
	if (c->kind == 'r' && (!res.clinic_code || strcmp(res.clinic_code, c->tcf->clinic_code) != 0)) {
		c->quarantine = dupf("medical institution code %s is not this clinic's",
				     res.clinic_code ? res.clinic_code : "(none)");
		goto log;
	}
	/* a result already stored for this attempt: the same bytes again are a re-read after an
	 * interrupted poll; anything else is a duplicate */
	void *old;
	size_t oldlen;
	if (store_kv_get(t, "results", e.file_id, strlen(e.file_id), &old, &oldlen) == 0) {
		struct record *or_;
		if (rec_decode(old, oldlen, &or_) == 0) {
			c->already = strcmp(rec_val(or_, "sha256"), c->sha) == 0;
			rec_free(or_);
		}
		free(old);
		if (!c->already)
			c->quarantine = dupf("duplicate result for %s", e.file_id);
		goto log;
	}
	if (c->kind == 'e') {
		char *why = excerpt(c->buf, c->len);
		rc = put_result(t, &e, "error", NULL, why, c);
		e.state = Q_REJECTED;
		free(e.last_error);
		e.last_error = dupf("terminal error file: %s", why);
		c->quarantine = dupf(".err file from the terminal: %s", why);
		c->summary = dupf("%s: error file (%s)", e.file_name, why);
		free(why);
		if (!rc)
			rc = set_doc_status(t, &e, ST_REJECTED, c->a->user);
	} else if (res.segment == SEG_PROCESSING) {
		c->summary = dupf("%s: still processing", e.file_name);
		goto log;
	} else {
		int accepted = res.segment == SEG_OK && res.status == RES_ACCEPTED;
		rc = put_result(t, &e, accepted ? "accepted" : "rejected", &res, NULL, c);
		e.state = accepted ? Q_ACCEPTED : Q_REJECTED;
		free(e.reception_no);
		e.reception_no = xstrdup(res.reception_no ? res.reception_no : "");
		free(e.last_error);
		e.last_error = accepted ? xstrdup("") :
			       dupf("%zu error(s): %s", res.nerrors, res.message ? res.message : "");
		c->summary = accepted ? dupf("%s: accepted, reception number %s", e.file_name,
					     e.reception_no)
				      : dupf("%s: rejected with %zu error(s)", e.file_name, res.nerrors);
		if (!rc)
			rc = set_doc_status(t, &e, accepted ? ST_ACCEPTED : ST_REJECTED, c->a->user);
	}
	e.resulted = (int64_t)iken_now();
	if (!rc)
		rc = outbox_put(t, &e);
log:
	if (!rc)
		rc = audit_add(t, AUDIT_RECV, c->a->user, c->name, c->sha,
			       c->quarantine ? c->quarantine : c->already ? "already imported" :
			       c->summary ? c->summary : "imported");
	if (!rc && c->quarantine) {
		uint64_t seq;
		rc = store_seq_next(t, "quarantine", &seq);
		if (!rc) {
			unsigned char key[8];
			for (int i = 0; i < 8; i++)
				key[i] = (unsigned char)(seq >> (56 - 8 * i));
			struct sbuf v = { 0 };
			sbuf_printf(&v, "%lld\t%s\t%s\t%s", (long long)iken_now(), c->name, c->sha,
				    c->quarantine);
			rc = store_kv_put(t, "quarantine", key, 8, v.s, v.len);
			sbuf_free(&v);
		}
	}
	result_clear(&res);
	q_entry_clear(&e);
	sbuf_free(&perr);
	return rc;
}

/* A free name in folder dir for name (name, name.1, name.2 …). */
static char *free_name(const char *dir, const char *name)
{
	struct sbuf p = { 0 };
	for (int i = 0; i < 10000; i++) {
		sbuf_reset(&p);
		if (i)
			sbuf_printf(&p, "%s/%s.%d", dir, name, i);
		else
			sbuf_printf(&p, "%s/%s", dir, name);
		if (access(p.s, F_OK) != 0)
			break;
	}
	return sbuf_take(&p);
}

/* File ages use the real clock, never the test clock: mtimes are real. */
static int file_is_stable(const struct stat *st, int stable_seconds)
{
	return (int64_t)time(NULL) - (int64_t)st->st_mtime >= stable_seconds;
}

/* Whether the prefix of a file name is one of our document forms' (other software shares the
 * result folder: its files are never touched). */
static int our_prefix(struct app *a, const char *prefix)
{
	for (size_t i = 0; i < a->fs->nforms; i++) {
		const struct form *f = a->fs->forms[i];
		if (f->kind == FORM_DOCUMENT && f->env_prefix && strcmp(f->env_prefix, prefix) == 0)
			return 1;
	}
	return 0;
}

/* Imports one claimed file (at claim_path, originally name) and moves it on. */
static void handle_claimed(struct app *a, const struct term_conf *tcf, const char *claim_path,
			   const char *name, char kind, const char *name_id, struct poll_stats *ps,
			   struct sbuf *report)
{
	char *buf = NULL;
	size_t len = 0;
	int ja = iken_lang_ja();
	struct import_ctx c = { a, tcf, name, kind, name_id, NULL, 0, { 0 }, NULL, 0, NULL };
	int rc = read_file(claim_path, ENVELOPE_MAX_FILE, &buf, &len);
	if (rc == IKEN_ELIMIT) {
		/* too large to read: straight to quarantine, recorded */
		buf = xstrdup("");
		len = 0;
		c.quarantine = dupf("file larger than %d bytes", ENVELOPE_MAX_FILE);
	} else if (rc) {
		sbuf_printf(report, "%s: %s\n", name, iken_strerror(rc));
		return;
	}
	c.buf = buf;
	c.len = len;
	sha256_hex(buf, len, c.sha);
	if (!c.quarantine)
		rc = store_write(a->st, import_txn, &c);
	if (rc) {
		/* not recorded: put the file back for the next pass */
		sbuf_printf(report, "%s: %s\n", name, iken_strerror(rc));
		struct sbuf back = { 0 };
		sbuf_printf(&back, "%s/%s", tcf->res, name);
		rename(claim_path, back.s);
		sbuf_free(&back);
		goto cleanup;
	}
	const char *dest_dir = c.quarantine ? tcf->quarantine : tcf->archive;
	if (!c.quarantine && strcmp(tcf->archive, "-") == 0) {
		unlink(claim_path);
	} else {
		mkdir_p(dest_dir, 0700);
		char *dest = free_name(dest_dir, name);
		int mrc = file_move(claim_path, dest);
		if (mrc)
			sbuf_printf(report, "%s: cannot move to %s: %s\n", name, dest_dir,
				    iken_strerror(mrc));
		free(dest);
	}
	if (c.quarantine) {
		ps->quarantined++;
		sbuf_printf(report, ja ? "%s: 隔離しました: %s\n" : "%s: quarantined: %s\n", name,
			    c.quarantine);
	} else if (!c.already) {
		ps->imported++;
		if (c.summary)
			sbuf_printf(report, "%s\n", c.summary);
	}
cleanup:
	free(c.quarantine);
	free(c.summary);
	free(buf);
}

/* Claims left by a poller that was killed: back under their own names. */
static void recover_claims(const char *res)
{
	DIR *d = opendir(res);
	if (!d)
		return;
	struct dirent *de;
	size_t plen = strlen(CLAIM_PREFIX);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, CLAIM_PREFIX, plen) != 0)
			continue;
		char *end;
		long pid = strtol(de->d_name + plen, &end, 10);
		if (*end != '.' || pid <= 0 || pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		struct sbuf from = { 0 }, to = { 0 };
		sbuf_printf(&from, "%s/%s", res, de->d_name);
		sbuf_printf(&to, "%s/%s", res, end + 1);
		rename(from.s, to.s);
		sbuf_free(&from);
		sbuf_free(&to);
	}
	closedir(d);
}

int inbox_poll(struct app *a, struct poll_stats *ps, struct sbuf *report)
{
	struct term_conf tcf;
	memset(ps, 0, sizeof(*ps));
	int rc = app_term_conf(a, &tcf);
	if (rc)
		return rc;
	recover_claims(tcf.res);
	char **names = NULL;
	size_t n = 0;
	rc = list_dir(tcf.res, &names, &n);
	if (rc) {
		sbuf_printf(report, iken_lang_ja() ? "結果フォルダ %s を読めません: %s\n" :
						     "cannot read the result folder %s: %s\n",
			    tcf.res, iken_strerror(rc));
		term_conf_clear(&tcf);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct sbuf prefix = { 0 }, id = { 0 }, path = { 0 }, claim = { 0 };
		char kind;
		struct stat st;
		if (envelope_name_parse(a->tc, names[i], &kind, &prefix, &id) != 0 || kind == 'q' ||
		    !our_prefix(a, prefix.s))
			goto next;
		sbuf_printf(&path, "%s/%s", tcf.res, names[i]);
		if (lstat(path.s, &st) != 0 || !S_ISREG(st.st_mode))
			goto next;
		if (!file_is_stable(&st, tcf.stable_seconds)) {
			ps->waiting++;
			goto next;
		}
		/* the rename is the claim: of several pollers exactly one succeeds */
		sbuf_printf(&claim, "%s/" CLAIM_PREFIX "%ld.%s", tcf.res, (long)getpid(), names[i]);
		if (rename(path.s, claim.s) != 0)
			goto next;
		handle_claimed(a, &tcf, claim.s, names[i], kind, id.s, ps, report);
next:
		sbuf_free(&prefix);
		sbuf_free(&id);
		sbuf_free(&path);
		sbuf_free(&claim);
	}
	list_dir_free(names, n);
	term_conf_clear(&tcf);
	return 0;
}

/* --- listing --- */

struct rscan_ctx {
	int (*cb)(const struct stored_result *r, void *ctx);
	void *ctx;
};

static int on_result(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct rscan_ctx *c = vctx;
	if (kl >= 4 && memcmp(k, "raw:", 4) == 0)
		return 0;
	struct record *r;
	if (rec_decode(v, vl, &r))
		return 0;
	struct stored_result sr = {
		xstrdup(rec_val(r, "file_id")), xstrdup(rec_val(r, "file_name")),
		xstrdup(rec_val(r, "form")), xstrdup(rec_val(r, "status")),
		xstrdup(rec_val(r, "reception_no")), xstrdup(rec_val(r, "code")),
		xstrdup(rec_val(r, "message")), xstrdup(rec_val(r, "errors")),
		xstrdup(rec_val(r, "sha256")), strtoull(rec_val(r, "doc_id"), NULL, 10),
		strtoll(rec_val(r, "received"), NULL, 10),
	};
	rec_free(r);
	int rc = c->cb(&sr, c->ctx);
	stored_result_clear(&sr);
	return rc;
}

static int rscan_txn(struct store_txn *t, void *vctx)
{
	return store_kv_scan(t, "results", "", 0, on_result, vctx);
}

int inbox_scan(struct app *a, int (*cb)(const struct stored_result *r, void *ctx), void *ctx)
{
	struct rscan_ctx c = { cb, ctx };
	return store_read(a->st, rscan_txn, &c);
}

struct qscan_ctx {
	int (*cb)(const struct quarantined *q, void *ctx);
	void *ctx;
};

static int on_quarantine(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct qscan_ctx *c = vctx;
	char *line = xstrndup(v, vl);
	char *f[4] = { line, NULL, NULL, NULL };
	for (int i = 1; i < 4; i++) {
		char *tab = f[i - 1] ? strchr(f[i - 1], '\t') : NULL;
		if (tab) {
			*tab = '\0';
			f[i] = tab + 1;
		}
	}
	struct quarantined q = { strtoll(f[0], NULL, 10), f[1] ? f[1] : "", f[3] ? f[3] : "",
				 f[2] ? f[2] : "" };
	int rc = c->cb(&q, c->ctx);
	free(line);
	return rc;
}

static int qscan_txn(struct store_txn *t, void *vctx)
{
	return store_kv_scan(t, "quarantine", "", 0, on_quarantine, vctx);
}

int inbox_quarantine_scan(struct app *a, int (*cb)(const struct quarantined *q, void *ctx),
			  void *ctx)
{
	struct qscan_ctx c = { cb, ctx };
	return store_read(a->st, qscan_txn, &c);
}
