#include "config.h"
#include "exchange/outbox.h"
#include "store/audit.h"
#include "model/check.h"
#include "model/docio.h"
#include "exchange/envelope.h"
#include "errcode.h"
#include "i18n.h"
#include "exchange/sign.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLAIM_LEASE 600 /* seconds after which a claim by a live-looking process is stale */

static const char *const state_names[Q__COUNT] = {
	"queued", "claimed", "publishing", "published", "accepted", "rejected", "cancelled",
};

const char *q_state_name(enum q_state s)
{
	return (unsigned)s < Q__COUNT ? state_names[s] : "?";
}

void q_entry_clear(struct q_entry *e)
{
	free(e->file_id);
	free(e->form);
	free(e->file_name);
	free(e->sha256);
	free(e->last_error);
	free(e->reception_no);
	free(e->pair);
	free(e->user);
	free(e->tmp_path);
	free(e->final_path);
	memset(e, 0, sizeof(*e));
}

const char *q_entry_display_state(const struct q_entry *e, int wait_hours, int64_t now)
{
	if (e->state == Q_QUEUED && e->tries > 0)
		return "publish-failed";
	if (e->state == Q_PUBLISHED && now - e->published > (int64_t)wait_hours * 3600)
		return "waiting-long";
	return q_state_name(e->state);
}

/* --- encoding: a queue entry is kept as a record of named values --- */

static void set_i64(struct record *r, const char *id, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	rec_set(r, id, buf);
}

static int64_t get_i64(const struct record *r, const char *id)
{
	return strtoll(rec_val(r, id), NULL, 10);
}

int outbox_put(struct store_txn *t, const struct q_entry *e)
{
	struct record *r = rec_new("queue", "1");
	struct sbuf b = { 0 };
	rec_set(r, "file_id", e->file_id);
	set_i64(r, "doc_id", (int64_t)e->doc_id);
	rec_set(r, "form", e->form ? e->form : "");
	rec_set(r, "state", q_state_name(e->state));
	set_i64(r, "tries", e->tries);
	set_i64(r, "created", e->created);
	set_i64(r, "next_try", e->next_try);
	set_i64(r, "published", e->published);
	set_i64(r, "resulted", e->resulted);
	set_i64(r, "claimed_at", e->claimed_at);
	set_i64(r, "claim_pid", e->claim_pid);
	rec_set(r, "file_name", e->file_name ? e->file_name : "");
	rec_set(r, "sha256", e->sha256 ? e->sha256 : "");
	rec_set(r, "last_error", e->last_error ? e->last_error : "");
	rec_set(r, "reception_no", e->reception_no ? e->reception_no : "");
	rec_set(r, "pair", e->pair ? e->pair : "");
	rec_set(r, "user", e->user ? e->user : "");
	rec_set(r, "tmp_path", e->tmp_path ? e->tmp_path : "");
	rec_set(r, "final_path", e->final_path ? e->final_path : "");
	rec_encode(r, &b);
	int rc = store_kv_put(t, "queue", e->file_id, strlen(e->file_id), b.s, b.len);
	sbuf_free(&b);
	rec_free(r);
	return rc;
}

static int decode_entry(const void *v, size_t vl, struct q_entry *e)
{
	struct record *r;
	int rc = rec_decode(v, vl, &r);
	if (rc)
		return rc;
	memset(e, 0, sizeof(*e));
	e->file_id = xstrdup(rec_val(r, "file_id"));
	e->doc_id = (uint64_t)get_i64(r, "doc_id");
	e->form = xstrdup(rec_val(r, "form"));
	e->state = Q_QUEUED;
	for (int s = 0; s < Q__COUNT; s++)
		if (strcmp(rec_val(r, "state"), state_names[s]) == 0)
			e->state = (enum q_state)s;
	e->tries = (unsigned)get_i64(r, "tries");
	e->created = get_i64(r, "created");
	e->next_try = get_i64(r, "next_try");
	e->published = get_i64(r, "published");
	e->resulted = get_i64(r, "resulted");
	e->claimed_at = get_i64(r, "claimed_at");
	e->claim_pid = (long)get_i64(r, "claim_pid");
	e->file_name = xstrdup(rec_val(r, "file_name"));
	e->sha256 = xstrdup(rec_val(r, "sha256"));
	e->last_error = xstrdup(rec_val(r, "last_error"));
	e->reception_no = xstrdup(rec_val(r, "reception_no"));
	e->pair = xstrdup(rec_val(r, "pair"));
	e->user = xstrdup(rec_val(r, "user"));
	e->tmp_path = xstrdup(rec_val(r, "tmp_path"));
	e->final_path = xstrdup(rec_val(r, "final_path"));
	rec_free(r);
	return 0;
}

int outbox_get(struct store_txn *t, const char *file_id, struct q_entry *out)
{
	void *v;
	size_t vl;
	int rc = store_kv_get(t, "queue", file_id, strlen(file_id), &v, &vl);
	if (rc)
		return rc;
	rc = decode_entry(v, vl, out);
	free(v);
	return rc;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s ? s : "");
}

/* --- scanning --- */

struct scan_ctx {
	uint64_t doc_id;
	int (*cb)(const struct q_entry *e, void *ctx);
	void *ctx;
};

static int on_entry(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct scan_ctx *c = vctx;
	struct q_entry e;
	if (decode_entry(v, vl, &e))
		return 0; /* a damaged entry is skipped, not fatal to the listing */
	int rc = 0;
	if (!c->doc_id || e.doc_id == c->doc_id)
		rc = c->cb(&e, c->ctx);
	q_entry_clear(&e);
	return rc;
}

static int scan_txn(struct store_txn *t, struct scan_ctx *c)
{
	return store_kv_scan(t, "queue", "", 0, on_entry, c);
}

struct scan_run {
	struct scan_ctx c;
};

static int scan_read(struct store_txn *t, void *vctx)
{
	return scan_txn(t, vctx);
}

int outbox_scan(struct app *a, uint64_t doc_id, int (*cb)(const struct q_entry *e, void *ctx),
		void *ctx)
{
	struct scan_ctx c = { doc_id, cb, ctx };
	return store_read(a->st, scan_read, &c);
}

/* --- sending: finalize and queue --- */

/* One document at a time: prep_txn reads, finalizes and checks it and gives it a file id; the
 * envelope is built and signed outside any transaction; commit_txn stores it and queues it. The
 * transactions may run twice, so they put their messages in msg, emptied at the start of each run,
 * and the caller appends msg to the report once the transaction returned. */
struct send_ctx {
	struct app *a;
	const struct record *user;
	struct term_conf tcf;
	struct sbuf msg;
	uint64_t doc_id;
	const struct form *f;
	struct record *r;   /* derived and checked, as it will be stored */
	uint32_t base;      /* the revision it was read at */
	char *pair;         /* invoice: the opinion's file id */
	char *file_id;
	time_t now;
	struct sbuf xml;    /* the envelope, signed when the settings ask for it */
};

static void send_reset(struct send_ctx *c)
{
	sbuf_reset(&c->msg);
	rec_free(c->r);
	c->r = NULL;
	free(c->pair);
	c->pair = NULL;
	free(c->file_id);
	c->file_id = NULL;
	sbuf_free(&c->xml);
	c->f = NULL;
}

static int is_doctor(const struct record *user)
{
	return user && strcmp(app_role(user), "1") == 0;
}

/* An opinion of the same applicant and written date that has been sent or is being sent. */
struct pair_ctx {
	const char *insured, *written;
	struct store_txn *t;
	char *file_id;
};

static int pair_cb(const struct q_entry *e, void *vctx)
{
	struct pair_ctx *p = vctx;
	if (strcmp(e->form, "ikensho") != 0 || e->state == Q_CANCELLED || e->state == Q_REJECTED)
		return 0;
	struct record *op;
	if (store_rec_get(p->t, e->doc_id, &op))
		return 0;
	if (strcmp(rec_val(op, "insured_no"), p->insured) == 0 &&
	    strcmp(rec_val(op, "written_date"), p->written) == 0) {
		free(p->file_id);
		p->file_id = xstrdup(e->file_id);
	}
	rec_free(op);
	return 0;
}

static char *find_pair(struct store_txn *t, const struct record *inv)
{
	struct pair_ctx p = { rec_val(inv, "insured_no"), rec_val(inv, "written_date"), t, NULL };
	struct scan_ctx c = { 0, pair_cb, &p };
	scan_txn(t, &c);
	return p.file_id;
}

static void report_problems(struct sbuf *report, uint64_t id, const struct problems *ps)
{
	for (size_t k = 0; k < ps->n; k++) {
		if (ps->v[k].sev != SEV_ERROR)
			continue;
		sbuf_printf(report, "  %llu: ", (unsigned long long)id);
		docio_problem_line(&ps->v[k], report);
		sbuf_putc(report, '\n');
	}
}

static int make_file_id(struct store_txn *t, const char *clinic, time_t now, struct sbuf *out)
{
	uint64_t seq = 0;
	char ymdhms[15];
	int rc = store_seq_next(t, "file_id", &seq);
	if (rc)
		return rc;
	iken_ymdhms(now, ymdhms);
	sbuf_printf(out, "%s%s%04llu", clinic, ymdhms, (unsigned long long)(seq % 10000));
	return 0;
}

static void no_key_message(struct sbuf *report, uint64_t id)
{
	sbuf_printf(report, _("%llu: the settings require a signature on opinions, and no signing key is loaded\n"),
		    (unsigned long long)id);
}

/* Signs an opinion's envelope with the doctor's key; never queued unsigned when the settings
 * ask for a signature. */
static int sign_opinion(struct app *a, const struct record *r, time_t now, struct sbuf *xml,
			struct sbuf *report)
{
	struct sbuf subject = { 0 }, err = { 0 }, signed_xml = { 0 };
	int rc = 0;
	if (!a->sign_key) {
		no_key_message(report, r->id);
		return IKEN_EPERM;
	}
	rc = sign_check_cert(sign_key_cert(a->sign_key), now, rec_val(r, "doctor_name"), &subject, &err);
	if (!rc)
		rc = sign_envelope(xml->s, xml->len, terminal_data_element(a->tc), a->sign_key, now,
				   &signed_xml, &err);
	if (rc) {
		sbuf_printf(report, _("%llu: cannot sign: %s\n"),
			    (unsigned long long)r->id, err.s ? err.s : sign_strerror(rc));
		rc = sign_errclass(rc);
	} else {
		sbuf_free(xml);
		*xml = signed_xml;
		memset(&signed_xml, 0, sizeof(signed_xml));
	}
	sbuf_free(&subject);
	sbuf_free(&err);
	sbuf_free(&signed_xml);
	return rc;
}

static int has_key_source(const struct record *user, struct sbuf *report)
{
	if (*rec_val(user, "pkcs11_module") || *rec_val(user, "pkcs12_file"))
		return 1;
	sbuf_puts(report, _("the user has neither a PKCS#11 module nor a PKCS#12 file\n"));
	return 0;
}

int outbox_load_key_pin(struct app *a, const struct record *user, const char *pin,
			struct sbuf *subject, struct sbuf *report)
{
	struct sbuf err = { 0 };
	const char *module = rec_val(user, "pkcs11_module"), *p12 = rec_val(user, "pkcs12_file");
	struct sign_key *key = NULL;
	a->sign_key = NULL;
	if (!has_key_source(user, report))
		return IKEN_EPERM;
	int rc = *module ? sign_key_pkcs11(module, pin, NULL, &key, &err) :
			   sign_key_pkcs12(p12, pin, &key, &err);
	if (!rc)
		rc = sign_check_cert(sign_key_cert(key), iken_now(), rec_val(user, "name"), subject, &err);
	if (rc) {
		sbuf_printf(report, "%s\n", err.s && *err.s ? err.s : sign_strerror(rc));
		sign_key_free(key);
		key = NULL;
		rc = sign_errclass(rc);
	}
	sbuf_free(&err);
	a->sign_key = key;
	return rc;
}

int outbox_load_key(struct app *a, const struct record *user, const char *pin_file, int confirm,
		    struct sbuf *report)
{
	char pin[256];
	struct sbuf subject = { 0 };
	if (!has_key_source(user, report))
		return IKEN_EPERM;
	int rc = sign_read_pin(pin_file, _("PIN of the HPKI card: "), pin,
			       sizeof(pin));
	if (!rc)
		rc = outbox_load_key_pin(a, user, pin, &subject, report);
	else
		sbuf_printf(report, "%s\n", sign_strerror(rc));
	OPENSSL_cleanse(pin, sizeof(pin));
	if (!rc && confirm)
		sbuf_printf(report, _("signer: %s\n"), subject.s ? subject.s : "");
	sbuf_free(&subject);
	return rc;
}

/* Reads, finalizes and checks one document and gives it its file id. A write transaction only for
 * the id counter: nothing else is written, and it is short, so that building and signing the
 * envelope (seconds on a smartcard) happen without holding the store's write lock. */
static int prep_txn(struct store_txn *t, void *vctx)
{
	struct send_ctx *c = vctx;
	struct app *a = c->a;
	struct problems ps = { 0 };
	struct sbuf fid = { 0 };
	send_reset(c);
	int rc = store_rec_get(t, c->doc_id, &c->r);
	if (rc)
		goto cleanup;
	struct record *r = c->r;
	const struct form *f = formset_get(a->fs, r->form);
	if (!f || f->kind != FORM_DOCUMENT) {
		sbuf_printf(&c->msg, _("%llu: not a document that can be sent\n"),
			    (unsigned long long)r->id);
		rc = IKEN_ESTATE;
		goto cleanup;
	}
	if (r->status != ST_DRAFT && r->status != ST_FINAL && r->status != ST_REJECTED) {
		sbuf_printf(&c->msg, _("%llu: already queued or sent (%s)\n"),
			    (unsigned long long)r->id, rec_status_name(r->status));
		rc = IKEN_ESTATE;
		goto cleanup;
	}
	c->base = r->revision;
	if (r->status != ST_FINAL) {
		/* Finalizing an opinion is the doctor's right. */
		if (strcmp(f->id, "ikensho") == 0 && !is_doctor(c->user)) {
			sbuf_printf(&c->msg, _("%llu: only a doctor can finalize an opinion\n"),
				    (unsigned long long)r->id);
			rc = IKEN_EPERM;
			goto cleanup;
		}
	}
	char today[9];
	iken_ymd(iken_now(), today);
	derive_record(a->fs, f, r, 1);
	check_record(a->fs, f, r, CHECK_STORED, today, &ps);
	if (ps.nerrors) {
		sbuf_printf(&c->msg, _("%llu: cannot be finalized, it has errors:\n"),
			    (unsigned long long)r->id);
		report_problems(&c->msg, r->id, &ps);
		rc = IKEN_EDATA;
		goto cleanup;
	}
	if (!*c->tcf.clinic_code) {
		sbuf_puts(&c->msg, _("the settings have no clinic code (iken import settings)\n"));
		rc = IKEN_EDATA;
		goto cleanup;
	}
	if (strcmp(f->id, "seikyu") == 0) {
		c->pair = find_pair(t, r);
		if (!c->pair) {
			sbuf_printf(&c->msg, _("%llu: no opinion of the same applicant and written date has been sent\n"),
				    (unsigned long long)r->id);
			rc = IKEN_EDATA;
			goto cleanup;
		}
		if (form_field(f, "opinion_file_id"))
			rec_set(r, "opinion_file_id", c->pair);
	}
	if (c->tcf.sign_required && strcmp(f->id, "ikensho") == 0 && !a->sign_key) {
		no_key_message(&c->msg, r->id); /* before an id is spent on it */
		rc = IKEN_EPERM;
		goto cleanup;
	}
	c->now = iken_now();
	rc = make_file_id(t, c->tcf.clinic_code, c->now, &fid);
	if (rc)
		goto cleanup;
	c->file_id = sbuf_take(&fid);
	c->f = f;
cleanup:
	sbuf_free(&fid);
	problems_free(&ps);
	return rc;
}

/* The envelope of the prepared document, signed when the settings ask for it: outside any
 * transaction. Messages go straight to the report. */
static int build_envelope(struct send_ctx *c, struct sbuf *report)
{
	struct app *a = c->a;
	int rc = envelope_build(a->tc, c->f, c->r, c->tcf.clinic_code, c->file_id, c->now, &c->xml);
	if (rc)
		return rc;
	if (c->tcf.sign_required && strcmp(c->f->id, "ikensho") == 0)
		rc = sign_opinion(a, c->r, c->now, &c->xml, report);
	return rc;
}

/* Stores the envelope and queues the prepared document, unless it changed meanwhile. */
static int commit_txn(struct store_txn *t, void *vctx)
{
	struct send_ctx *c = vctx;
	struct app *a = c->a;
	/* a copy: store_rec_update writes into the record, and this may run twice */
	struct record *r = rec_dup(c->r);
	struct q_entry e = { 0 };
	struct sbuf name = { 0 };
	char *pair = NULL;
	char sha[65];
	int rc = 0;
	sbuf_reset(&c->msg);
	if (c->pair) {
		/* the opinion attempt the envelope names must still be the one it goes with */
		pair = find_pair(t, r);
		if (!pair || strcmp(pair, c->pair) != 0) {
			sbuf_printf(&c->msg, _("%llu: its opinion's send attempt changed meanwhile; send it again\n"),
				    (unsigned long long)r->id);
			rc = IKEN_ECONFLICT;
			goto cleanup;
		}
	}
	sha256_hex(c->xml.s, c->xml.len, sha);
	rc = store_kv_put(t, "envelopes", c->file_id, strlen(c->file_id), c->xml.s, c->xml.len);
	if (rc)
		goto cleanup;
	envelope_request_name(a->tc, c->f, c->file_id, &name);
	e.file_id = xstrdup(c->file_id);
	e.doc_id = r->id;
	e.form = xstrdup(c->f->id);
	e.state = Q_QUEUED;
	e.created = e.next_try = (int64_t)c->now;
	e.file_name = sbuf_take(&name);
	e.sha256 = xstrdup(sha);
	e.pair = xstrdup(c->pair ? c->pair : "");
	e.user = xstrdup(a->user);
	rc = outbox_put(t, &e);
	if (rc)
		goto cleanup;
	r->status = ST_QUEUED;
	rc = store_rec_update(t, r, c->base, a->user);
	if (rc == IKEN_ECONFLICT)
		sbuf_printf(&c->msg, _("%llu: the document changed while it was being prepared; send it again\n"),
			    (unsigned long long)r->id);
	if (rc)
		goto cleanup;
	rc = outbox_audit(t, a->user, AUDIT_SEND, &e, "queued");
cleanup:
	q_entry_clear(&e);
	sbuf_free(&name);
	free(pair);
	rec_free(r);
	return rc;
}

/* Prepares, builds (signs) and queues one document; its messages are appended to report. */
static int send_one(struct send_ctx *c, struct sbuf *report)
{
	int rc = store_write(c->a->st, prep_txn, c);
	sbuf_puts(report, c->msg.s ? c->msg.s : "");
	sbuf_reset(&c->msg);
	if (!rc)
		rc = build_envelope(c, report);
	if (!rc) {
		rc = store_write(c->a->st, commit_txn, c);
		sbuf_puts(report, c->msg.s ? c->msg.s : "");
		sbuf_reset(&c->msg);
	}
	return rc;
}

struct all_ctx {
	struct app *a;
	uint64_t *ids;
	size_t n;
};

static int collect_all(struct store_txn *t, void *vctx)
{
	struct all_ctx *c = vctx;
	/* Opinions first: an invoice needs its opinion queued before it. */
	static const char *const forms[] = { "ikensho", "seikyu" };
	static const int states[] = { ST_DRAFT, ST_FINAL };
	for (size_t i = 0; i < ARRAY_SIZE(forms); i++) {
		for (size_t s = 0; s < ARRAY_SIZE(states); s++) {
			struct store_query q = { .form = forms[i], .status = states[s] };
			uint64_t *ids = NULL;
			size_t n = 0;
			int rc = store_find(t, &q, &ids, &n);
			if (rc)
				return rc;
			c->ids = xrealloc(c->ids, (c->n + n + 1) * sizeof(*c->ids));
			memcpy(c->ids + c->n, ids, n * sizeof(*ids));
			c->n += n;
			free(ids);
		}
	}
	return 0;
}

/* Opinions before invoices, otherwise in the order given. */
struct order_ctx {
	const uint64_t *in;
	size_t n;
	uint64_t *out;
};

static int order_txn(struct store_txn *t, void *vctx)
{
	struct order_ctx *c = vctx;
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->n; i++) {
			struct record *r;
			int inv = 0;
			if (store_rec_get(t, c->in[i], &r) == 0) {
				inv = strcmp(r->form, "ikensho") != 0;
				rec_free(r);
			}
			if (inv == pass)
				c->out[k++] = c->in[i];
		}
	}
	return 0;
}

int outbox_send(struct app *a, const uint64_t *ids, size_t n, int all, struct sbuf *report)
{
	struct record *user = NULL;
	int rc = app_current_user(a, &user);
	if (rc) {
		sbuf_printf(report, _("user %s is not registered in iken\n"),
			    a->user);
		return IKEN_EPERM;
	}
	struct send_ctx c;
	memset(&c, 0, sizeof(c));
	c.a = a;
	c.user = user;
	rc = app_term_conf(a, &c.tcf);
	if (rc) {
		sbuf_printf(report, _("the settings cannot be read: %s\n"),
			    iken_strerror(rc));
		rec_free(user);
		return rc;
	}
	struct all_ctx ac = { a, NULL, 0 };
	if (all) {
		rc = store_read(a->st, collect_all, &ac);
		ids = ac.ids;
		n = ac.n;
	}
	struct order_ctx oc = { ids, n, xcalloc(n + 1, sizeof(uint64_t)) };
	if (!rc)
		rc = store_read(a->st, order_txn, &oc);
	int worst = rc;
	size_t queued = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		c.doc_id = oc.out[i];
		size_t before = report->len;
		int r1 = send_one(&c, report);
		if (r1 == IKEN_ENOTFOUND)
			sbuf_printf(report, _("%llu: no such document\n"),
				    (unsigned long long)c.doc_id);
		else if (r1 == 0) {
			queued++;
			sbuf_printf(report, _("%llu: queued as %s\n"),
				    (unsigned long long)c.doc_id, c.file_id);
		} else if (report->len == before)
			sbuf_printf(report, "%llu: %s\n", (unsigned long long)c.doc_id, iken_strerror(r1));
		if (r1 && (!worst || r1 == IKEN_EPERM))
			worst = r1;
	}
	free(oc.out);
	free(ac.ids);
	send_reset(&c);
	sbuf_free(&c.msg);
	term_conf_clear(&c.tcf);
	rec_free(user);
	if (!rc && queued) {
		size_t published = 0;
		int prc = outbox_publish_due(a, 0, &published, report);
		if (prc && !worst)
			worst = prc;
	}
	return worst;
}

/* --- publication --- */

/* A claim is stale when its process is gone or it is older than the lease — our own process's
 * too: a claim of ours that outlived the lease was left by an error path, not in progress. */
static int owner_gone(const struct q_entry *e, int64_t now)
{
	if (e->claim_pid <= 0)
		return 1;
	if (now - e->claimed_at > CLAIM_LEASE)
		return 1;
	if (e->claim_pid == (long)getpid())
		return 0;
	return kill((pid_t)e->claim_pid, 0) < 0 && errno == ESRCH;
}

/* The entry is claimed by this process under this temporary file. */
static int ours(const struct q_entry *e, const char *tmp)
{
	return e->claim_pid == (long)getpid() && tmp && e->tmp_path && strcmp(e->tmp_path, tmp) == 0;
}

/* Entries written before the paths were recorded: the names that version used, in the request
 * folder of the settings (the only fallback; recorded paths are never recomputed). */
static void legacy_paths(struct q_entry *e, const struct term_conf *tcf)
{
	struct sbuf b = { 0 };
	if (!e->tmp_path || !*e->tmp_path) {
		sbuf_printf(&b, "%s/.%s.part", tcf->req, e->file_name);
		free(e->tmp_path);
		e->tmp_path = sbuf_take(&b);
	}
	if (!e->final_path || !*e->final_path) {
		sbuf_printf(&b, "%s/%s", tcf->req, e->file_name);
		free(e->final_path);
		e->final_path = sbuf_take(&b);
	}
	sbuf_free(&b);
}

/* Test hook: IKEN_TEST_STEP_MS slows each publication step so that a test's SIGKILL can land
 * between any two of them. */
static void step_pause(void)
{
	const char *ms = getenv("IKEN_TEST_STEP_MS");
	uint64_t v;
	if (ms && parse_u64(ms, &v) == 0 && v > 0 && v < 10000)
		usleep((useconds_t)(v * 1000));
}

enum {
	T_CLAIM,      /* queued → claimed by us, with a temporary file of our own */
	T_PUBLISHING, /* ours, claimed → publishing */
	T_PUBLISHED,  /* ours, publishing → published */
	T_FAILED,     /* ours, claimed or publishing → queued, a failure counted */
	T_RELEASE,    /* ours, claimed (or publishing, known not renamed) → queued */
	T_TAKEOVER,   /* a stale claim, as seen: claimed → queued; publishing → ours */
	T_ABANDON,    /* ours, publishing, the outcome unknown: left for a later pass */
};

int outbox_audit(struct store_txn *t, const char *user, enum audit_action action,
		 const struct q_entry *e, const char *detail)
{
	struct audit_event ev = { .action = action, .user = user, .form = e->form,
				  .ids = &e->doc_id, .nids = 1, .file = e->file_name,
				  .sha256 = e->sha256, .detail = detail };
	return audit_add(t, &ev);
}

/* The document of e, when it is still queued, moves to status; the trail records the action
 * with outcome. */
static int leave_queued(struct store_txn *t, const struct app *a, const struct q_entry *e,
			enum rec_status status, enum audit_action action, const char *outcome)
{
	struct record *r;
	int rc = store_rec_get(t, e->doc_id, &r);
	if (rc)
		return rc;
	if (r->status == ST_QUEUED) {
		r->status = status;
		rc = store_rec_update(t, r, r->revision, a->user);
	}
	rec_free(r);
	return rc ? rc : outbox_audit(t, a->user, action, e, outcome);
}

struct trans_ctx {
	struct app *a;
	const struct term_conf *tcf;
	const char *file_id;
	int to;
	const char *error;
	const char *tmp;            /* our temporary file: the claim is ours only with it */
	const struct q_entry *seen; /* T_TAKEOVER: the stale claim as it was seen */
	int64_t now;
	int ok;                     /* set when the transition applied */
	int wait;                   /* T_CLAIM: an invoice whose opinion is not out yet */
	int blocked;                /* T_CLAIM: an invoice found to wait for an opinion that will
				     * not go out (last_error says why) */
	char *old_tmp;              /* T_CLAIM: a failed attempt's temporary file, to remove */
	struct q_entry e;           /* the entry as the transaction left it */
};

/* T_CLAIM of an invoice: 0 when its opinion attempt is published or accepted; else 1 (wait),
 * with *why set when it never will be, and *op_next_try when the opinion waits for a retry. */
static int pair_pending(struct store_txn *t, const struct q_entry *e, char **why,
			int64_t *op_next_try)
{
	struct q_entry op;
	struct sbuf b = { 0 };
	*why = NULL;
	*op_next_try = 0;
	if (!e->pair || !*e->pair)
		return 0;
	int rc = outbox_get(t, e->pair, &op);
	if (rc == IKEN_ENOTFOUND) {
		sbuf_printf(&b, _("the opinion's attempt %s is not in the queue; cancel this invoice and send it again after its opinion"),
			    e->pair);
		*why = sbuf_take(&b);
		return 1;
	}
	if (rc)
		return rc;
	int pending = 1;
	if (op.state == Q_PUBLISHED || op.state == Q_ACCEPTED) {
		pending = 0;
	} else if (op.state == Q_QUEUED) {
		*op_next_try = op.next_try;
	} else if (op.state == Q_CANCELLED || op.state == Q_REJECTED) {
		if (op.state == Q_CANCELLED)
			sbuf_printf(&b, _("the opinion's attempt %s was cancelled; cancel this invoice and send it again after its opinion"),
				    e->pair);
		else
			sbuf_printf(&b, _("the opinion's attempt %s was rejected; cancel this invoice and send it again after its opinion"),
				    e->pair);
		*why = sbuf_take(&b);
	}
	q_entry_clear(&op);
	return pending;
}

/* Moves one entry to another state, re-reading it inside the transaction so that two publishers
 * never both claim it, and a publisher whose claim was taken over changes nothing. */
static int trans_txn(struct store_txn *t, void *vctx)
{
	struct trans_ctx *c = vctx;
	q_entry_clear(&c->e);
	free(c->old_tmp);
	c->old_tmp = NULL;
	c->ok = c->wait = c->blocked = 0;
	int rc = outbox_get(t, c->file_id, &c->e);
	if (rc)
		return rc;
	struct q_entry *e = &c->e;
	int put = 0;
	switch (c->to) {
	case T_CLAIM: {
		if (e->state != Q_QUEUED)
			break;
		char *why = NULL;
		int64_t op_next_try;
		rc = pair_pending(t, e, &why, &op_next_try);
		if (rc < 0)
			break;
		if (rc) {
			rc = 0;
			if (why) {
				/* said once; the queue shows it after that */
				c->blocked = strcmp(e->last_error, why) != 0;
				if (c->blocked) {
					set_str(&e->last_error, why);
					put = 1;
				}
			} else {
				c->wait = 1;
				if (op_next_try > e->next_try) {
					/* not due before its opinion: no pass in between tries it */
					e->next_try = op_next_try;
					put = 1;
				}
			}
			free(why);
			break;
		}
		uint64_t seq = 0;
		rc = store_seq_next(t, "claim", &seq);
		if (rc)
			break;
		if (*e->tmp_path)
			c->old_tmp = xstrdup(e->tmp_path);
		struct sbuf b = { 0 };
		/* a dot-name the linkage software ignores, unique to this claim */
		sbuf_printf(&b, "%s/.%s.%ld.%llu.part", c->tcf->req, e->file_name, (long)getpid(),
			    (unsigned long long)seq);
		free(e->tmp_path);
		e->tmp_path = sbuf_take(&b);
		sbuf_printf(&b, "%s/%s", c->tcf->req, e->file_name);
		free(e->final_path);
		e->final_path = sbuf_take(&b);
		e->state = Q_CLAIMED;
		e->claim_pid = (long)getpid();
		e->claimed_at = c->now;
		c->ok = 1;
		break;
	}
	case T_PUBLISHING:
		if (e->state == Q_CLAIMED && ours(e, c->tmp)) {
			e->state = Q_PUBLISHING;
			c->ok = 1;
		}
		break;
	case T_RELEASE:
		if ((e->state == Q_CLAIMED || e->state == Q_PUBLISHING) && ours(e, c->tmp)) {
			e->state = Q_QUEUED;
			e->claim_pid = 0;
			c->ok = 1;
		}
		break;
	case T_FAILED:
		if ((e->state == Q_CLAIMED || e->state == Q_PUBLISHING) && ours(e, c->tmp)) {
			e->state = Q_QUEUED;
			e->tries++;
			/* backoff: 30 s, 1, 2, 4 … minutes, at most an hour */
			int64_t wait = 30;
			for (unsigned i = 1; i < e->tries && wait < 3600; i++)
				wait *= 2;
			e->next_try = c->now + (wait > 3600 ? 3600 : wait);
			e->claim_pid = 0;
			set_str(&e->last_error, c->error);
			c->ok = 1;
			rc = outbox_audit(t, c->a->user, AUDIT_SEND, e, c->error);
		}
		break;
	case T_PUBLISHED:
		if (e->state == Q_PUBLISHING && ours(e, c->tmp)) {
			e->state = Q_PUBLISHED;
			e->published = c->now;
			e->claim_pid = 0;
			set_str(&e->last_error, "");
			c->ok = 1;
			rc = leave_queued(t, c->a, e, ST_PUBLISHED, AUDIT_SEND, "published");
		}
		break;
	case T_TAKEOVER:
		if (e->state == c->seen->state && e->claim_pid == c->seen->claim_pid &&
		    e->claimed_at == c->seen->claimed_at &&
		    strcmp(e->tmp_path, c->seen->tmp_path ? c->seen->tmp_path : "") == 0 &&
		    (e->state == Q_CLAIMED || e->state == Q_PUBLISHING) && owner_gone(e, c->now)) {
			legacy_paths(e, c->tcf);
			if (e->state == Q_CLAIMED) {
				e->state = Q_QUEUED; /* nothing was published: queued again */
				e->claim_pid = 0;
			} else {
				e->claim_pid = (long)getpid();
				e->claimed_at = c->now;
			}
			c->ok = 1;
		}
		break;
	case T_ABANDON:
		if (e->state == Q_PUBLISHING && ours(e, c->tmp)) {
			e->claim_pid = 0;
			c->ok = 1;
		}
		break;
	}
	if (!rc && (c->ok || put))
		rc = outbox_put(t, e);
	return rc;
}

/* Runs one transition; *out (when given) receives the entry as it was left (cleared by the
 * caller), *old_tmp (when given) T_CLAIM's leftover temporary file (freed by the caller). */
static int transition_full(struct app *a, const struct term_conf *tcf, const char *file_id, int to,
			   const char *tmp, const struct q_entry *seen, const char *error, int *ok,
			   struct trans_ctx *out)
{
	struct trans_ctx c = { a, tcf, file_id, to, error, tmp, seen, (int64_t)iken_now(), 0, 0, 0,
			       NULL, { 0 } };
	int rc = store_write(a->st, trans_txn, &c);
	*ok = !rc && c.ok;
	if (out) {
		*out = c;
	} else {
		q_entry_clear(&c.e);
		free(c.old_tmp);
	}
	return rc;
}

static int transition(struct app *a, const struct term_conf *tcf, const char *file_id, int to,
		      const char *tmp, const char *error, int *ok)
{
	return transition_full(a, tcf, file_id, to, tmp, NULL, error, ok, NULL);
}

static char *errno_text(int rc, const char *what)
{
	struct sbuf b = { 0 };
	sbuf_printf(&b, "%s: %s", what, iken_strerror(rc));
	return sbuf_take(&b);
}

struct get_ctx {
	const char *file_id;
	struct q_entry *e;
};

static int get_txn(struct store_txn *t, void *vctx)
{
	struct get_ctx *c = vctx;
	return outbox_get(t, c->file_id, c->e);
}

int outbox_entry(struct app *a, const char *file_id, struct q_entry *out)
{
	struct get_ctx c = { file_id, out };
	memset(out, 0, sizeof(*out));
	return store_read(a->st, get_txn, &c);
}

struct env_ctx {
	const char *file_id;
	void *data;
	size_t len;
};

static int env_read(struct store_txn *t, void *vctx)
{
	struct env_ctx *c = vctx;
	return store_kv_get(t, "envelopes", c->file_id, strlen(c->file_id), &c->data, &c->len);
}

/* The folder a path is in (a copy). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

enum { R_UNKNOWN, R_NOT_RENAMED, R_RENAMED };

/* On which side of the rename a publication is: renamed when the final file exists, or when the
 * request folder can be read and the temporary file is not in it; not renamed when the temporary
 * file is there; unknown when the folder cannot be reached (a vanished share hides both). */
static int rename_state(const char *tmp, const char *fin)
{
	struct stat st;
	if (stat(fin, &st) == 0)
		return R_RENAMED;
	char *dir = dir_of(fin);
	int dir_ok = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
	free(dir);
	if (!dir_ok)
		return R_UNKNOWN;
	if (stat(tmp, &st) == 0)
		return R_NOT_RENAMED;
	return errno == ENOENT ? R_RENAMED : R_UNKNOWN;
}

static void report_failed(struct sbuf *report, const char *file_name, const char *err)
{
	sbuf_printf(report,
		    _("%s could not be published: %s (will retry)\n"),
		    file_name, err);
}

/* Our claim went to another publisher (ours outlived the lease): its files are its own now. */
static void report_taken_over(struct sbuf *report, const char *file_name)
{
	sbuf_printf(report, _("%s was taken over by another publisher\n"),
		    file_name);
}

static void report_published(struct sbuf *report, const char *file_name)
{
	sbuf_printf(report, _("%s published\n"),
		    file_name);
}

/* Publishes one entry we claimed (e, with its recorded paths): write our dot-file, mark
 * publishing, rename, mark published. The stored envelope is what is published: its SHA-256 is
 * the evidence of transmission. Every error path gives the entry back (released or failed) when
 * it is still ours; our dot-file is removed only while nobody else can be using it. Returns 0 when
 * published (*published set), IKEN_ESTATE when the attempt failed, else a store error. */
static int publish_claimed(struct app *a, const struct term_conf *tcf, const struct q_entry *e,
			   int *published, struct sbuf *report)
{
	const char *tmp = e->tmp_path, *fin = e->final_path;
	char *dir = dir_of(fin);
	struct env_ctx env = { e->file_id, NULL, 0 };
	char *err = NULL;
	int ok, sync_rc;
	*published = 0;
	int rc = store_read(a->st, env_read, &env);
	if (rc) {
		err = errno_text(rc, "envelope");
		goto failed;
	}
	step_pause();
	rc = file_write_sync(tmp, env.data, env.len, 0644);
	if (rc) {
		err = errno_text(rc, dir);
		goto failed;
	}
	step_pause();
	rc = transition(a, tcf, e->file_id, T_PUBLISHING, tmp, NULL, &ok);
	if (rc || !ok) {
		/* Still claimed, so nobody renames our file: it can go. Taken over: ours to remove
		 * too (its name is ours alone), and the entry is the new owner's to touch. */
		unlink(tmp);
		if (rc)
			transition(a, tcf, e->file_id, T_RELEASE, tmp, NULL, &ok);
		else
			report_taken_over(report, e->file_name);
		goto cleanup;
	}
	step_pause();
	rc = file_rename_sync_split(tmp, fin, &sync_rc);
	if (rc) {
		/* rename() failed: nothing under the final name, nothing published */
		err = errno_text(rc, dir);
		rc = transition(a, tcf, e->file_id, T_FAILED, tmp, err, &ok);
		if (ok)
			unlink(tmp); /* still ours: nobody else renames it */
		if (rc || ok)
			report_failed(report, e->file_name, err);
		else
			report_taken_over(report, e->file_name);
		rc = rc ? rc : IKEN_ESTATE;
		goto cleanup;
	}
	/* Renamed: published, even when the folder's fsync failed (sync_rc). */
	step_pause();
	struct trans_ctx tc;
	rc = transition_full(a, tcf, e->file_id, T_PUBLISHED, tmp, NULL, NULL, &ok, &tc);
	/* not ok: a poller already took the result in, or a recovery marked it published */
	if (!rc && (ok || tc.e.state == Q_PUBLISHED || tc.e.state == Q_ACCEPTED ||
		    tc.e.state == Q_REJECTED)) {
		*published = 1;
		report_published(report, e->file_name);
	} else if (rc) {
		/* Left "publishing" under our claim; recovered after the lease. */
		sbuf_printf(report, _("%s published, but this could not be recorded: %s\n"),
			    e->file_name, iken_strerror(rc));
	}
	q_entry_clear(&tc.e);
	free(tc.old_tmp);
	goto cleanup;
failed:
	/* before "publishing": our dot-file is renamed by nobody */
	unlink(tmp);
	rc = transition(a, tcf, e->file_id, T_FAILED, tmp, err, &ok);
	if (rc || ok)
		report_failed(report, e->file_name, err);
	else
		report_taken_over(report, e->file_name);
	rc = rc ? rc : IKEN_ESTATE;
cleanup:
	free(err);
	free(dir);
	free(env.data);
	return rc;
}

struct due_ctx {
	int force;
	int64_t now;
	size_t n;
	char **ids;
	char *inv;            /* ids[i] is an invoice (it goes after the opinions) */
	struct q_entry *left; /* claimed/publishing entries to recover */
	size_t nleft;
};

static void add_due(struct due_ctx *c, const char *file_id, int inv)
{
	c->ids = xrealloc(c->ids, (c->n + 1) * sizeof(*c->ids));
	c->inv = xrealloc(c->inv, c->n + 1);
	c->ids[c->n] = xstrdup(file_id);
	c->inv[c->n++] = (char)inv;
}

/* Stale "publishing" e, taken over: finish the rename or learn that it happened. */
static int finish_publishing(struct app *a, const struct term_conf *tcf, const struct q_entry *e,
			     struct due_ctx *due, struct sbuf *report)
{
	const char *tmp = e->tmp_path, *fin = e->final_path;
	int ok = 0, rc = 0, sync_rc;
	int where = rename_state(tmp, fin);
	if (where == R_NOT_RENAMED) {
		/* Not published yet. Still the folder of the settings: rename now; else back to the
		 * queue, to be published in the folder the settings name now. */
		char *dir = dir_of(fin);
		struct stat s1, s2;
		int moved = stat(tcf->req, &s2) == 0 &&
			    !(stat(dir, &s1) == 0 && s1.st_dev == s2.st_dev &&
			      s1.st_ino == s2.st_ino);
		if (moved) {
			rc = transition(a, tcf, e->file_id, T_RELEASE, tmp, NULL, &ok);
			if (ok) {
				unlink(tmp);
				sbuf_printf(report, _("%s: the request folder was changed in the settings; it will be published in %s\n"),
					    e->file_name, tcf->req);
				if (due->force || e->next_try <= due->now)
					add_due(due, e->file_id, *e->pair != '\0');
			}
			free(dir);
			return rc;
		}
		rc = file_rename_sync_split(tmp, fin, &sync_rc);
		if (rc) {
			/* someone else's rename, or a real failure */
			where = rename_state(tmp, fin);
			if (where == R_NOT_RENAMED) {
				char *err = errno_text(rc, dir);
				report_failed(report, e->file_name, err);
				rc = transition(a, tcf, e->file_id, T_FAILED, tmp, err, &ok);
				if (ok)
					unlink(tmp);
				free(err);
				free(dir);
				return rc;
			}
		} else {
			where = R_RENAMED;
		}
		free(dir);
	}
	if (where == R_UNKNOWN) {
		sbuf_printf(report, _("%s: the request folder cannot be reached; the interrupted publication will be checked later\n"),
			    e->file_name);
		return transition(a, tcf, e->file_id, T_ABANDON, tmp, NULL, &ok);
	}
	rc = transition(a, tcf, e->file_id, T_PUBLISHED, tmp, NULL, &ok);
	if (ok) {
		struct stat st;
		if (stat(tmp, &st) == 0)
			unlink(tmp); /* renamed by a copy: the final file has it */
		sbuf_printf(report, _("%s: finished an interrupted publication\n"),
			    e->file_name);
	}
	return rc;
}

/* What a stale claim left (its process gone, or older than the lease): taken over inside a
 * transaction that re-checks it is still the claim seen, and only then are files touched, at the
 * recorded paths. A claim goes back to the queue, its dot-file removed; "publishing" is finished
 * by finish_publishing. */
static int recover(struct app *a, const struct term_conf *tcf, const struct q_entry *seen,
		   struct due_ctx *due, struct sbuf *report)
{
	struct trans_ctx tc;
	int ok = 0;
	if (!owner_gone(seen, (int64_t)iken_now()))
		return 0;
	if (seen->state == Q_PUBLISHING && *seen->tmp_path) {
		/* the folder unreachable: nothing to decide, leave the claim as it is */
		if (rename_state(seen->tmp_path, seen->final_path) == R_UNKNOWN) {
			sbuf_printf(report, _("%s: the request folder cannot be reached; the interrupted publication will be checked later\n"),
				    seen->file_name);
			return 0;
		}
	}
	int rc = transition_full(a, tcf, seen->file_id, T_TAKEOVER, NULL, seen, NULL, &ok, &tc);
	if (!rc && ok) {
		const struct q_entry *e = &tc.e;
		if (e->state == Q_QUEUED) {
			unlink(e->tmp_path); /* the claim's partial file; the claim is ours now */
			if (due->force || e->next_try <= due->now)
				add_due(due, e->file_id, *e->pair != '\0');
		} else {
			rc = finish_publishing(a, tcf, e, due, report);
		}
	}
	q_entry_clear(&tc.e);
	free(tc.old_tmp);
	return rc;
}

static int due_cb(const struct q_entry *e, void *vctx)
{
	struct due_ctx *c = vctx;
	if (e->state == Q_QUEUED && (c->force || e->next_try <= c->now)) {
		add_due(c, e->file_id, *e->pair != '\0');
	} else if (e->state == Q_CLAIMED || e->state == Q_PUBLISHING) {
		c->left = xrealloc(c->left, (c->nleft + 1) * sizeof(*c->left));
		struct q_entry *d = &c->left[c->nleft++];
		memset(d, 0, sizeof(*d));
		d->file_id = xstrdup(e->file_id);
		d->file_name = xstrdup(e->file_name);
		d->pair = xstrdup(e->pair);
		d->state = e->state;
		d->claim_pid = e->claim_pid;
		d->claimed_at = e->claimed_at;
		d->tmp_path = xstrdup(e->tmp_path);
		d->final_path = xstrdup(e->final_path);
	}
	return 0;
}

/* Claims and publishes one due entry. An invoice whose opinion is not out yet is skipped (it goes
 * in a later pass); one whose opinion never will be stays queued with the reason. */
static int publish_one(struct app *a, const struct term_conf *tcf, const char *file_id,
		       size_t *published, struct sbuf *report)
{
	struct trans_ctx tc;
	int ok, pub = 0;
	int rc = transition_full(a, tcf, file_id, T_CLAIM, NULL, NULL, NULL, &ok, &tc);
	if (!rc && !ok && tc.blocked) {
		sbuf_printf(report, _("%s stays queued: %s\n"),
			    tc.e.file_name, tc.e.last_error);
	} else if (!rc && !ok && tc.wait) {
		sbuf_printf(report, _("%s waits for its opinion %s to be published\n"),
			    tc.e.file_name, tc.e.pair);
	} else if (!rc && ok) {
		/* a dot-file an earlier attempt of this entry could not remove */
		if (tc.old_tmp && strcmp(tc.old_tmp, tc.e.tmp_path) != 0)
			unlink(tc.old_tmp);
		rc = publish_claimed(a, tcf, &tc.e, &pub, report);
		if (pub)
			(*published)++;
	} else {
		rc = 0; /* another publisher has it */
	}
	q_entry_clear(&tc.e);
	free(tc.old_tmp);
	return rc;
}

int outbox_publish_due(struct app *a, int force, size_t *published, struct sbuf *report)
{
	struct term_conf tcf;
	struct due_ctx c = { force, (int64_t)iken_now(), 0, NULL, NULL, NULL, 0 };
	*published = 0;
	int rc = app_term_conf(a, &tcf), worst = 0;
	if (rc) {
		sbuf_printf(report, _("the settings cannot be read: %s\n"),
			    iken_strerror(rc));
		return rc;
	}
	rc = outbox_scan(a, 0, due_cb, &c);
	for (size_t i = 0; !rc && i < c.nleft; i++) {
		int r1 = recover(a, &tcf, &c.left[i], &c, report);
		if (r1 && !worst)
			worst = r1;
	}
	/* opinions first: an invoice waits for its opinion, published earlier in the same pass */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; !rc && i < c.n; i++) {
			if (c.inv[i] != pass)
				continue;
			int r1 = publish_one(a, &tcf, c.ids[i], published, report);
			if (r1 && !worst)
				worst = r1;
		}
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.ids[i]);
	free(c.ids);
	free(c.inv);
	for (size_t i = 0; i < c.nleft; i++)
		q_entry_clear(&c.left[i]);
	free(c.left);
	term_conf_clear(&tcf);
	return rc ? rc : worst;
}

/* --- cancel --- */

struct cancel_ctx {
	struct app *a;
	uint64_t doc_id;
	char *file_id;
	int found, cancelled;
	uint64_t invoice;     /* an invoice attempt going with the opinion: refused */
	int invoice_sent;     /* ... and it is already published or accepted */
};

static int cancel_find(const struct q_entry *e, void *vctx)
{
	struct cancel_ctx *c = vctx;
	if (e->state == Q_QUEUED || e->state == Q_CLAIMED || e->state == Q_PUBLISHING ||
	    e->state == Q_PUBLISHED) {
		free(c->file_id);
		c->file_id = xstrdup(e->file_id);
		c->found = 1;
	}
	return 0;
}

/* An invoice attempt naming the opinion attempt being cancelled, queued or further. */
static int invoice_cb(const struct q_entry *e, void *vctx)
{
	struct cancel_ctx *c = vctx;
	if (!e->pair || strcmp(e->pair, c->file_id) != 0 || e->state == Q_CANCELLED ||
	    e->state == Q_REJECTED)
		return 0;
	c->invoice = e->doc_id;
	c->invoice_sent = e->state == Q_PUBLISHED || e->state == Q_ACCEPTED;
	return 1; /* found: stop */
}

static int cancel_txn(struct store_txn *t, void *vctx)
{
	struct cancel_ctx *c = vctx;
	struct q_entry e;
	c->cancelled = 0;
	c->invoice = 0;
	c->invoice_sent = 0;
	int rc = outbox_get(t, c->file_id, &e);
	if (rc)
		return rc;
	if (e.state != Q_QUEUED) {
		rc = IKEN_ESTATE; /* published (or being published): too late */
		goto cleanup;
	}
	if (!*e.pair) {
		/* an opinion cannot be withdrawn from under its invoice */
		struct scan_ctx sc = { 0, invoice_cb, c };
		rc = scan_txn(t, &sc);
		if (rc < 0)
			goto cleanup;
		rc = 0;
		if (c->invoice) {
			rc = IKEN_ESTATE;
			goto cleanup;
		}
	}
	e.state = Q_CANCELLED;
	rc = outbox_put(t, &e);
	if (!rc)
		rc = leave_queued(t, c->a, &e, ST_FINAL, AUDIT_CANCEL, "cancelled");
	if (!rc)
		c->cancelled = 1;
cleanup:
	q_entry_clear(&e);
	return rc;
}

int outbox_cancel(struct app *a, uint64_t doc_id, struct sbuf *report)
{
	struct cancel_ctx c = { a, doc_id, NULL, 0, 0, 0, 0 };
	int rc = outbox_scan(a, doc_id, cancel_find, &c);
	if (!rc && !c.found)
		rc = IKEN_ENOTFOUND;
	if (!rc)
		rc = store_write(a->st, cancel_txn, &c);
	if (rc == IKEN_ESTATE && c.invoice && c.invoice_sent)
		sbuf_printf(report, _("%llu: its invoice %llu has already been published; the opinion cannot be cancelled\n"),
			    (unsigned long long)doc_id, (unsigned long long)c.invoice);
	else if (rc == IKEN_ESTATE && c.invoice)
		sbuf_printf(report, _("%llu: its invoice %llu is queued to go with it; cancel the invoice first\n"),
			    (unsigned long long)doc_id, (unsigned long long)c.invoice);
	else if (rc == IKEN_ESTATE)
		sbuf_printf(report, _("%llu: already published; it can no longer be cancelled\n"),
			    (unsigned long long)doc_id);
	else if (rc == IKEN_ENOTFOUND)
		sbuf_printf(report, _("%llu: not in the send queue\n"),
			    (unsigned long long)doc_id);
	else if (!rc)
		sbuf_printf(report, _("%llu: cancelled %s\n"),
			    (unsigned long long)doc_id, c.file_id);
	free(c.file_id);
	return rc;
}
