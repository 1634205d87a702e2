#include "config.h"
#include "exchange/inbox.h"
#include "store/audit.h"
#include "exchange/envelope.h"
#include "errcode.h"
#include "exchange/outbox.h"
#include "i18n.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
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
	const char *base;          /* without a put-back suffix (".1"): the terminal's name */
	char kind;                 /* 'r' result, 'e' error file */
	const char *name_id;       /* identifier from the file name */
	const char *buf;
	size_t len;
	char sha[65];
	const char *preset;        /* quarantine reason decided before reading (too large) */
	/* out */
	char *quarantine;          /* reason, when the file goes to quarantine */
	const char *qlog;          /* the reason without what was read from the file, for the
				    * audit trail (NULL: quarantine has nothing from the file) */
	char dest;                 /* DEST_* */
	int already;               /* recorded by an earlier pass, not moved yet: move only */
	unsigned looks;            /* truncated: how often this incomplete file has been seen */
	char *summary;
};

/* Where a claimed file goes once its outcome is recorded. */
enum { DEST_ARCHIVE = 'a', DEST_QUARANTINE = 'q', DEST_BACK = 'b' };

/* A truncated result is put back until it has stayed the same for TRUNC_GRACE × stable_seconds
 * by this computer's clock (the terminal may still be writing it, or be stalled), then
 * quarantined. */
#define TRUNC_GRACE 10

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
	/* Only the document's current attempt moves it (the caller made sure this is it); the
	 * status check keeps a document that was changed meanwhile as it is. */
	if (r->status == ST_PUBLISHED || r->status == ST_QUEUED) {
		r->status = st;
		rc = store_rec_update(t, r, r->revision, user);
	}
	rec_free(r);
	return rc;
}

/* What the publisher's "published" transition does, for an entry whose result came back before
 * the publisher recorded the publication (it was killed or is slow between the rename and that
 * record): the file evidently reached the terminal. The publisher's own transition later finds
 * the entry no longer "publishing" and leaves it. */
static int mark_published(struct store_txn *t, const struct app *a, struct q_entry *e)
{
	e->state = Q_PUBLISHED;
	e->published = (int64_t)iken_now();
	e->claim_pid = 0;
	free(e->last_error);
	e->last_error = xstrdup("");
	struct record *r;
	int rc = store_rec_get(t, e->doc_id, &r);
	if (rc && rc != IKEN_ENOTFOUND)
		return rc;
	if (!rc) {
		if (r->status == ST_QUEUED) {
			r->status = ST_PUBLISHED;
			rc = store_rec_update(t, r, r->revision, a->user);
		}
		rec_free(r);
	}
	return rc ? rc : outbox_audit(t, a->user, AUDIT_SEND, e, "published");
}

/* The document's latest attempt that was not cancelled: the greatest creation time, and of
 * attempts made in the same second the later identifier (identifiers end in a counter). */
struct latest_ctx {
	struct store_txn *t;
	uint64_t doc_id;
	int64_t created;
	char *file_id;
};

static int latest_cb(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct latest_ctx *c = vctx;
	struct q_entry e = { 0 };
	char *id = xstrndup(k, kl);
	(void)v;
	(void)vl;
	if (outbox_get(c->t, id, &e) == 0) {
		if (e.doc_id == c->doc_id && e.state != Q_CANCELLED &&
		    (!c->file_id || e.created > c->created ||
		     (e.created == c->created && strcmp(e.file_id, c->file_id) > 0))) {
			free(c->file_id);
			c->file_id = xstrdup(e.file_id);
			c->created = e.created;
		}
		q_entry_clear(&e);
	}
	free(id);
	return 0;
}

static int is_latest_attempt(struct store_txn *t, const struct q_entry *e, int *latest)
{
	struct latest_ctx c = { t, e->doc_id, 0, NULL };
	int rc = store_kv_scan(t, "queue", "", 0, latest_cb, &c);
	*latest = c.file_id && strcmp(c.file_id, e->file_id) == 0;
	free(c.file_id);
	return rc;
}

/* The clinic code an attempt was sent with: identifiers are the clinic code, YYYYMMDDhhmmss and
 * a four-digit counter (outbox.c, make_file_id). */
static char *attempt_clinic(const struct q_entry *e)
{
	size_t n = strlen(e->file_id);
	return xstrndup(e->file_id, n > 18 ? n - 18 : n);
}

/* misc keys (name: the file's name without a put-back suffix):
 * "inbox.done:<name>:<sha256>" = the destination of a file whose outcome is recorded but which
 * has not been moved out of the result folder yet (a re-read of it is not a duplicate);
 * "inbox.trunc:<name>:<sha256>" = "<looks>\t<first seen, this computer's clock>" for an
 * incomplete result put back to wait for the rest (removed when a file of that name parses). */
static void done_key(const char *base, const char *sha, struct sbuf *k)
{
	sbuf_printf(k, "inbox.done:%s:%s", base, sha);
}

static void trunc_key(const char *base, const char *sha, struct sbuf *k)
{
	sbuf_printf(k, "inbox.trunc:%s:%s", base, sha ? sha : "");
}

static int del_cb(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	(void)v;
	(void)vl;
	return store_kv_del(vctx, "misc", k, kl);
}

static int del_ok(int rc)
{
	return rc == IKEN_ENOTFOUND ? 0 : rc;
}

/* One more look at a truncated result: *back when it should go back to the result folder. */
static int truncated_look(struct store_txn *t, struct import_ctx *c, int *back)
{
	struct sbuf k = { 0 }, v = { 0 };
	void *old = NULL;
	unsigned looks = 1;
	int64_t now = (int64_t)time(NULL), first = now;
	trunc_key(c->base, c->sha, &k);
	int rc = store_kv_get(t, "misc", k.s, k.len, &old, NULL);
	if (rc == 0) {
		unsigned n;
		long long f;
		if (sscanf(old, "%u\t%lld", &n, &f) == 2 && f <= now) {
			looks = n + 1;
			first = (int64_t)f;
		}
	} else if (rc != IKEN_ENOTFOUND) {
		goto cleanup;
	}
	rc = 0;
	c->looks = looks;
	*back = now - first < (int64_t)TRUNC_GRACE * c->tcf->stable_seconds;
	if (*back) {
		sbuf_printf(&v, "%u\t%lld", looks, (long long)first);
		rc = store_kv_put(t, "misc", k.s, k.len, v.s, v.len);
	} else {
		rc = del_ok(store_kv_del(t, "misc", k.s, k.len));
	}
cleanup:
	free(old);
	sbuf_free(&k);
	sbuf_free(&v);
	return rc;
}

/* The trail's entry for a result file: its name and SHA-256, the attempt's document when known. */
static int log_result(struct store_txn *t, const struct import_ctx *c, const struct q_entry *e,
		      const char *detail)
{
	struct audit_event ev = { .action = AUDIT_RESULT, .user = c->a->user, .file = c->name,
				  .sha256 = c->sha, .detail = detail };
	if (e && e->doc_id) {
		ev.form = e->form;
		ev.ids = &e->doc_id;
		ev.nids = 1;
	}
	return audit_add(t, &ev);
}

static int import_txn(struct store_txn *t, void *vctx)
{
	struct import_ctx *c = vctx;
	struct result res = { 0 };
	struct q_entry e = { 0 };
	struct sbuf perr = { 0 }, k = { 0 };
	char *clinic = NULL;
	int rc = 0, changed = 0;
	free(c->quarantine);
	free(c->summary);
	c->quarantine = c->summary = NULL;
	c->qlog = NULL;
	c->already = 0;
	c->looks = 0;
	c->dest = DEST_ARCHIVE;

	/* recorded by an earlier pass that could not move it (killed, or the move failed): a
	 * re-read, moved where that pass meant to */
	void *done;
	done_key(c->base, c->sha, &k);
	rc = store_kv_get(t, "misc", k.s, k.len, &done, NULL);
	if (rc == 0) {
		c->already = 1;
		c->dest = *(char *)done == DEST_QUARANTINE ? DEST_QUARANTINE : DEST_ARCHIVE;
		free(done);
		goto log;
	}
	if (rc != IKEN_ENOTFOUND)
		goto cleanup;
	rc = 0;
	if (c->preset) {
		c->quarantine = xstrdup(c->preset);
		goto log;
	}
	if (c->kind == 'r') {
		int prc = result_parse(c->a->tc, c->buf, c->len, &res, &perr);
		if (prc && perr.s && strstr(perr.s, "ends too early")) {
			int back;
			rc = truncated_look(t, c, &back);
			if (rc)
				goto cleanup;
			if (back) {
				c->dest = DEST_BACK;
				/* the receive log says so once, not at every pass */
				if (c->looks == 1)
					rc = log_result(t, c, NULL,
							"incomplete (ends too early): put back");
				goto cleanup;
			}
			c->quarantine = dupf("malformed result: %s", perr.s);
			c->qlog = "malformed result";
			goto log;
		}
		/* whatever incomplete versions of it were seen are history now */
		sbuf_reset(&k);
		trunc_key(c->base, NULL, &k);
		rc = store_kv_scan(t, "misc", k.s, k.len, del_cb, t);
		if (rc)
			goto cleanup;
		if (prc) {
			c->quarantine = dupf("malformed result: %s", perr.s ? perr.s : "");
			c->qlog = "malformed result";
			goto log;
		}
		if (!res.file_id || strcmp(res.file_id, c->name_id) != 0) {
			c->quarantine = dupf("identifier in the file differs from its name: %s",
					     res.file_id ? res.file_id : "(none)");
			c->qlog = "identifier in the file differs from its name";
			goto log;
		}
	}
	if (outbox_get(t, c->name_id, &e)) {
		c->quarantine = dupf("unknown identifier %s", c->name_id);
		goto log;
	}
	clinic = attempt_clinic(&e);
	if (c->kind == 'r' && (!res.clinic_code || strcmp(res.clinic_code, clinic) != 0)) {
		c->quarantine = dupf("medical institution code %s is not the one the attempt was "
				     "sent with (%s)", res.clinic_code ? res.clinic_code : "(none)",
				     clinic);
		c->qlog = "medical institution code is not the one the attempt was sent with";
		goto log;
	}
	/* a result already stored for this attempt: the bytes of a recorded file are recognised
	 * above, so this is another file for the same attempt */
	void *old;
	if (store_kv_get(t, "results", e.file_id, strlen(e.file_id), &old, NULL) == 0) {
		free(old);
		c->quarantine = dupf("duplicate result for %s", e.file_id);
		goto log;
	}
	int latest;
	rc = is_latest_attempt(t, &e, &latest);
	if (rc)
		goto cleanup;
	int accepted = c->kind == 'r' && res.segment == SEG_OK && res.status == RES_ACCEPTED;
	if (!latest || e.state == Q_CANCELLED ||
	    (e.state != Q_PUBLISHED && e.state != Q_PUBLISHING)) {
		/* not the document's current attempt: kept as evidence, the document left alone */
		if (e.state == Q_CANCELLED)
			c->quarantine = xstrdup("result for a cancelled attempt");
		else if (!latest)
			c->quarantine = xstrdup("result for a superseded attempt");
		else
			c->quarantine = dupf("result for an attempt that is %s",
					     q_state_name(e.state));
		if (c->kind == 'e') {
			char *why = excerpt(c->buf, c->len);
			rc = put_result(t, &e, "error", NULL, why, c);
			free(why);
		} else if (res.segment != SEG_PROCESSING) {
			rc = put_result(t, &e, accepted ? "accepted" : "rejected", &res, NULL, c);
		}
		if (rc)
			goto cleanup;
		goto log;
	}
	if (e.state == Q_PUBLISHING) {
		rc = mark_published(t, c->a, &e);
		if (rc)
			goto cleanup;
		changed = 1;
	}
	if (c->kind == 'e') {
		char *why = excerpt(c->buf, c->len);
		rc = put_result(t, &e, "error", NULL, why, c);
		e.state = Q_REJECTED;
		free(e.last_error);
		e.last_error = dupf("terminal error file: %s", why);
		c->quarantine = dupf(".err file from the terminal: %s", why);
		c->qlog = ".err file from the terminal";
		c->summary = dupf("%s: error file (%s)", e.file_name, why);
		free(why);
		if (!rc)
			rc = set_doc_status(t, &e, ST_REJECTED, c->a->user);
		e.resulted = (int64_t)iken_now();
		changed = 1;
	} else if (res.segment == SEG_PROCESSING) {
		c->summary = dupf("%s: still processing", e.file_name);
	} else {
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
		e.resulted = (int64_t)iken_now();
		changed = 1;
	}
	if (!rc && changed)
		rc = outbox_put(t, &e);
	if (rc)
		goto cleanup;
log:
	if (c->quarantine)
		c->dest = DEST_QUARANTINE;
	rc = log_result(t, c, e.file_id ? &e : NULL,
			c->already ? "already recorded; moved now" :
			c->quarantine ? (c->qlog ? c->qlog : c->quarantine) :
			c->summary ? c->summary : "imported");
	if (!rc && c->quarantine && !c->already) {
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
	/* recorded, not moved yet: removed once the file is out of the result folder */
	if (!rc && !c->already) {
		char dest = c->dest;
		sbuf_reset(&k);
		done_key(c->base, c->sha, &k);
		rc = store_kv_put(t, "misc", k.s, k.len, &dest, 1);
	}
cleanup:
	free(clinic);
	result_clear(&res);
	q_entry_clear(&e);
	sbuf_free(&perr);
	sbuf_free(&k);
	return rc;
}

struct undone_ctx {
	const char *base, *sha;
};

static int undone_txn(struct store_txn *t, void *vctx)
{
	struct undone_ctx *c = vctx;
	struct sbuf k = { 0 };
	done_key(c->base, c->sha, &k);
	int rc = del_ok(store_kv_del(t, "misc", k.s, k.len));
	sbuf_free(&k);
	return rc;
}

/* --- files: never replaced --- */

/* rename() that fails with -EEXIST instead of replacing an existing to. */
static int rename_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	/* a file system without RENAME_NOREPLACE: a hard link cannot replace either */
	if (link(from, to) == 0) {
		unlink(from);
		return 0;
	}
	if (errno == EEXIST)
		return -EEXIST;
	if (errno != EPERM && errno != ENOSYS && errno != ENOTSUP && errno != EOPNOTSUPP)
		return -errno;
	/* no hard links either (some CIFS shares): look first, the best that is left */
	struct stat st;
	if (lstat(to, &st) == 0)
		return -EEXIST;
	return rename(from, to) == 0 ? 0 : -errno;
}

/* The length of name without a put-back suffix (".1", ".2" …). */
static size_t base_len(const char *name)
{
	size_t n = strlen(name), i = n;
	while (i > 0 && name[i - 1] >= '0' && name[i - 1] <= '9')
		i--;
	return i < n && i > 1 && name[i - 1] == '.' ? i - 1 : n;
}

/* Puts a claimed file back into the result folder under the name it had (without a put-back
 * suffix), or name.1, name.2 … when a newer file has that name now: nothing is replaced. */
static int put_back(const char *from, const char *dir, const char *name)
{
	struct sbuf to = { 0 };
	int rc = -EEXIST;
	int blen = (int)base_len(name);
	for (int i = 0; i < 1000 && rc == -EEXIST; i++) {
		sbuf_reset(&to);
		if (i)
			sbuf_printf(&to, "%s/%.*s.%d", dir, blen, name, i);
		else
			sbuf_printf(&to, "%s/%.*s", dir, blen, name);
		rc = rename_noreplace(from, to.s);
	}
	sbuf_free(&to);
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

/* SHA-256 of a file too large to read into memory (for the record of its quarantine); "" when
 * it cannot be read. */
static void file_sha(const char *path, char out[65])
{
	struct stat st;
	out[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= ((uint64_t)1 << 30)) {
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p != MAP_FAILED) {
			sha256_hex(p, (size_t)st.st_size, out);
			munmap(p, (size_t)st.st_size);
		}
	}
	close(fd);
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

/* --- stability: two looks stable_seconds apart by this computer's monotonic clock --- */

struct cand {
	char *name;       /* in the result folder */
	char *base;       /* without a put-back suffix */
	char *id;
	char kind;
	struct stat st;   /* the last look */
	int stable;
};

/* What earlier passes of this process saw: a file unchanged since a look stable_seconds ago is
 * stable without waiting again. The terminal's clock (the files' mtimes) is never compared with
 * ours. */
struct seen {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim;
	int64_t first_ms;  /* monotonic: when this size and mtime were first seen */
	int live;
};
static struct seen *seen_v;
static size_t seen_n;
static int passes_done;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int same_look(const struct seen *s, const struct stat *st)
{
	return s->dev == st->st_dev && s->ino == st->st_ino && s->size == st->st_size &&
	       s->mtim.tv_sec == st->st_mtim.tv_sec && s->mtim.tv_nsec == st->st_mtim.tv_nsec;
}

/* Records a look at path; returns its entry (first_ms reset when the file changed). */
static struct seen *look(const char *path, const struct stat *st, int64_t now)
{
	struct seen *s = NULL;
	for (size_t i = 0; i < seen_n && !s; i++)
		if (strcmp(seen_v[i].path, path) == 0)
			s = &seen_v[i];
	if (!s) {
		seen_v = xrealloc(seen_v, (seen_n + 1) * sizeof(*seen_v));
		s = &seen_v[seen_n++];
		memset(s, 0, sizeof(*s));
		s->path = xstrdup(path);
		s->first_ms = -1;
	}
	if (s->first_ms < 0 || !same_look(s, st)) {
		s->dev = st->st_dev;
		s->ino = st->st_ino;
		s->size = st->st_size;
		s->mtim = st->st_mtim;
		s->first_ms = now;
	}
	s->live = 1;
	return s;
}

/* Forgets the files no longer in the folder. */
static void seen_prune(void)
{
	size_t k = 0;
	for (size_t i = 0; i < seen_n; i++) {
		if (seen_v[i].live) {
			seen_v[i].live = 0;
			seen_v[k++] = seen_v[i];
		} else {
			free(seen_v[i].path);
		}
	}
	seen_n = k;
	if (!seen_n) {
		free(seen_v);
		seen_v = NULL;
	}
}

/* Marks the candidates that are stable. Files first seen now are looked at again after
 * stable_seconds when this process has no earlier look (a single `iken poll`: one wait for all
 * of them); a long-running process looks again at its next pass instead of waiting. */
static void find_stable(const char *res, struct cand *cv, size_t n, int stable_seconds,
			struct poll_stats *ps)
{
	int64_t need = (int64_t)stable_seconds * 1000, now = mono_ms(), wait = 0;
	struct sbuf path = { 0 };
	for (size_t i = 0; i < n; i++) {
		sbuf_reset(&path);
		sbuf_printf(&path, "%s/%s", res, cv[i].name);
		struct seen *s = look(path.s, &cv[i].st, now);
		cv[i].stable = now - s->first_ms >= need;
		if (!cv[i].stable && s->first_ms + need - now > wait)
			wait = s->first_ms + need - now;
	}
	if (wait > 0 && !passes_done) {
		struct timespec ts = { (time_t)(wait / 1000), (long)(wait % 1000) * 1000000 };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
		now = mono_ms();
		for (size_t i = 0; i < n; i++) {
			if (cv[i].stable)
				continue;
			sbuf_reset(&path);
			sbuf_printf(&path, "%s/%s", res, cv[i].name);
			if (lstat(path.s, &cv[i].st) != 0 || !S_ISREG(cv[i].st.st_mode))
				continue;
			struct seen *s = look(path.s, &cv[i].st, now);
			cv[i].stable = now - s->first_ms >= need;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!cv[i].stable)
			ps->waiting++;
	passes_done = 1;
	seen_prune();
	sbuf_free(&path);
}

/* --- a pass --- */

/* Imports one claimed file (at claim_path) and moves it on: archive, quarantine, or back into
 * the result folder when it could not be recorded (read error, store error, incomplete). */
static void handle_claimed(struct app *a, const struct term_conf *tcf, const char *claim_path,
			   const struct cand *cd, struct poll_stats *ps, struct sbuf *report)
{
	char *buf = NULL, *big = NULL;
	size_t len = 0;
	struct import_ctx c = { 0 };
	c.a = a;
	c.tcf = tcf;
	c.name = cd->name;
	c.base = cd->base;
	c.kind = cd->kind;
	c.name_id = cd->id;
	int rc = read_file(claim_path, ENVELOPE_MAX_FILE, &buf, &len);
	if (rc == IKEN_ELIMIT) {
		/* too large to read: straight to quarantine, recorded */
		buf = xstrdup("");
		len = 0;
		file_sha(claim_path, c.sha);
		big = dupf("file larger than %d bytes", ENVELOPE_MAX_FILE);
		c.preset = big;
	} else if (rc) {
		sbuf_printf(report, _("%s: cannot read: %s (tried again next time)\n"),
			    cd->name, iken_strerror(rc));
		goto back;
	} else {
		sha256_hex(buf, len, c.sha);
	}
	c.buf = buf;
	c.len = len;
	rc = store_write(a->st, import_txn, &c);
	if (rc) {
		sbuf_printf(report, _("%s: cannot be recorded: %s (tried again next time)\n"),
			    cd->name, iken_strerror(rc));
		goto back;
	}
	if (c.dest == DEST_BACK) {
		sbuf_printf(report, _("%s: the file ends too early (look %u); waiting for the rest\n"),
			    cd->name, c.looks);
		goto back;
	}
	const char *dest_dir = c.dest == DEST_QUARANTINE ? tcf->quarantine : tcf->archive;
	int mrc = 0;
	if (c.dest == DEST_ARCHIVE && strcmp(tcf->archive, "-") == 0) {
		if (unlink(claim_path) != 0 && errno != ENOENT)
			mrc = -errno;
	} else {
		mkdir_p(dest_dir, 0700);
		char *dest = free_name(dest_dir, cd->base);
		mrc = file_move(claim_path, dest);
		free(dest);
		/* renamed, but the folder's flush failed: the file is there all the same */
		if (mrc && access(claim_path, F_OK) != 0 && errno == ENOENT)
			mrc = 0;
	}
	if (mrc) {
		/* recorded: the next pass finds it recorded and only moves it */
		sbuf_printf(report, _("%s: cannot move to %s: %s (tried again next time)\n"),
			    cd->name, dest_dir, iken_strerror(mrc));
		int brc = put_back(claim_path, tcf->res, cd->name);
		if (brc)
			sbuf_printf(report, "%s: %s\n", claim_path, iken_strerror(brc));
	} else {
		struct undone_ctx u = { cd->base, c.sha };
		store_write(a->st, undone_txn, &u);
	}
	if (c.already) {
		/* counted by the pass that recorded it */
	} else if (c.quarantine) {
		ps->quarantined++;
		sbuf_printf(report, _("%s: quarantined: %s\n"), cd->name,
			    c.quarantine);
	} else {
		ps->imported++;
		if (c.summary)
			sbuf_printf(report, "%s\n", c.summary);
	}
	goto cleanup;
back:
	ps->waiting++;
	rc = put_back(claim_path, tcf->res, cd->name);
	if (rc)
		sbuf_printf(report, "%s: %s\n", claim_path, iken_strerror(rc));
cleanup:
	free(c.quarantine);
	free(c.summary);
	free(big);
	free(buf);
}

/* Claims that no running pass holds go back under their own names: those of a poller that was
 * killed, and this process's own from an earlier pass (a pass leaves none behind on purpose). */
static void recover_claims(const char *res)
{
	DIR *d = opendir(res);
	if (!d)
		return;
	struct dirent *de;
	size_t plen = strlen(CLAIM_PREFIX);
	char **found = NULL;
	size_t n = 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, CLAIM_PREFIX, plen) != 0)
			continue;
		char *end;
		long pid = strtol(de->d_name + plen, &end, 10);
		if (*end != '.' || !end[1] || pid <= 0)
			continue;
		if (pid != (long)getpid() && (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		found = xrealloc(found, (n + 1) * sizeof(*found));
		found[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	/* renamed after the listing: renaming while reading a folder may show a name twice */
	for (size_t i = 0; i < n; i++) {
		struct sbuf from = { 0 };
		char *name = strchr(found[i] + plen, '.') + 1;
		sbuf_printf(&from, "%s/%s", res, found[i]);
		put_back(from.s, res, name);
		sbuf_free(&from);
		free(found[i]);
	}
	free(found);
}

/* A result or error file name of one of our forms, possibly with a put-back suffix. */
static int parse_name(struct app *a, const char *name, struct cand *cd)
{
	struct sbuf prefix = { 0 }, id = { 0 };
	char *base = xstrndup(name, base_len(name));
	char kind;
	int ok = envelope_name_parse(a->tc, name, &kind, &prefix, &id) == 0;
	if (ok) {
		free(base);
		base = xstrdup(name);
	} else if (strcmp(base, name) != 0) {
		ok = envelope_name_parse(a->tc, base, &kind, &prefix, &id) == 0;
	}
	ok = ok && kind != 'q' && our_prefix(a, prefix.s);
	if (ok) {
		cd->name = xstrdup(name);
		cd->base = base;
		cd->id = sbuf_take(&id);
		cd->kind = kind;
	} else {
		free(base);
	}
	sbuf_free(&prefix);
	sbuf_free(&id);
	return ok;
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
		sbuf_printf(report, _("cannot read the result folder %s: %s\n"),
			    tcf.res, iken_strerror(rc));
		term_conf_clear(&tcf);
		return rc;
	}
	struct cand *cv = xcalloc(n + 1, sizeof(*cv));
	size_t nc = 0;
	struct sbuf path = { 0 }, claim = { 0 };
	for (size_t i = 0; i < n; i++) {
		struct cand *cd = &cv[nc];
		if (!parse_name(a, names[i], cd))
			continue;
		sbuf_reset(&path);
		sbuf_printf(&path, "%s/%s", tcf.res, names[i]);
		if (lstat(path.s, &cd->st) != 0 || !S_ISREG(cd->st.st_mode)) {
			free(cd->name);
			free(cd->base);
			free(cd->id);
			memset(cd, 0, sizeof(*cd));
			continue;
		}
		nc++;
	}
	find_stable(tcf.res, cv, nc, tcf.stable_seconds, ps);
	for (size_t i = 0; i < nc; i++) {
		struct cand *cd = &cv[i];
		if (!cd->stable)
			continue;
		sbuf_reset(&path);
		sbuf_printf(&path, "%s/%s", tcf.res, cd->name);
		sbuf_reset(&claim);
		sbuf_printf(&claim, "%s/" CLAIM_PREFIX "%ld.%s", tcf.res, (long)getpid(), cd->name);
		/* the rename is the claim: of several pollers exactly one succeeds */
		if (rename(path.s, claim.s) != 0)
			continue;
		/* changed since the stable look (written again meanwhile): not yet */
		struct stat st;
		if (lstat(claim.s, &st) != 0 || st.st_ino != cd->st.st_ino ||
		    st.st_size != cd->st.st_size || st.st_mtim.tv_sec != cd->st.st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != cd->st.st_mtim.tv_nsec) {
			ps->waiting++;
			put_back(claim.s, tcf.res, cd->name);
			continue;
		}
		handle_claimed(a, &tcf, claim.s, cd, ps, report);
	}
	for (size_t i = 0; i < nc; i++) {
		free(cv[i].name);
		free(cv[i].base);
		free(cv[i].id);
	}
	free(cv);
	sbuf_free(&path);
	sbuf_free(&claim);
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
