#include "config.h"
#include "outbox.h"
#include "audit.h"
#include "check.h"
#include "docio.h"
#include "envelope.h"
#include "errcode.h"
#include "i18n.h"
#include "sign.h"

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

struct send_ctx {
	struct app *a;
	const struct record *user;
	struct term_conf tcf;
	struct sbuf *report;
	uint64_t doc_id;
	char *file_id_out;
};

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

static void make_file_id(struct store_txn *t, const char *clinic, time_t now, struct sbuf *out)
{
	uint64_t seq = 0;
	char ymdhms[15];
	store_seq_next(t, "file_id", &seq);
	iken_ymdhms(now, ymdhms);
	sbuf_printf(out, "%s%s%04llu", clinic, ymdhms, (unsigned long long)(seq % 10000));
}

/* Signs an opinion's envelope with the doctor's key; never queued unsigned when the settings
 * ask for a signature. */
static int sign_opinion(struct app *a, const struct record *r, time_t now, struct sbuf *xml,
			struct sbuf *report)
{
	struct sbuf subject = { 0 }, err = { 0 }, signed_xml = { 0 };
	int ja = iken_lang_ja();
	int rc = 0;
	if (!a->sign_key) {
		sbuf_printf(report, ja ? "%llu: 設定により意見書には電子署名が必要です (署名鍵がありません)\n" :
				      "%llu: the settings require a signature on opinions, and no signing key is loaded\n",
			    (unsigned long long)r->id);
		return IKEN_EPERM;
	}
	rc = sign_check_cert(sign_key_cert(a->sign_key), now, rec_val(r, "doctor_name"), &subject, &err);
	if (!rc)
		rc = sign_envelope(xml->s, xml->len, terminal_data_element(a->tc), a->sign_key, now,
				   &signed_xml, &err);
	if (rc) {
		sbuf_printf(report, ja ? "%llu: 署名できません: %s\n" : "%llu: cannot sign: %s\n",
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
	sbuf_puts(report, iken_lang_ja() ? "利用者の設定に PKCS#11 モジュールも PKCS#12 ファイルもありません\n" :
					   "the user has neither a PKCS#11 module nor a PKCS#12 file\n");
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
	int ja = iken_lang_ja();
	if (!has_key_source(user, report))
		return IKEN_EPERM;
	int rc = sign_read_pin(pin_file, ja ? "HPKIカードのPIN: " : "PIN of the HPKI card: ", pin,
			       sizeof(pin));
	if (!rc)
		rc = outbox_load_key_pin(a, user, pin, &subject, report);
	else
		sbuf_printf(report, "%s\n", sign_strerror(rc));
	OPENSSL_cleanse(pin, sizeof(pin));
	if (!rc && confirm)
		sbuf_printf(report, ja ? "署名者: %s\n" : "signer: %s\n", subject.s ? subject.s : "");
	sbuf_free(&subject);
	return rc;
}

/* Finalizes and queues one document inside a write transaction. */
static int send_one_txn(struct store_txn *t, void *vctx)
{
	struct send_ctx *c = vctx;
	struct app *a = c->a;
	struct record *r = NULL;
	struct problems ps = { 0 };
	struct sbuf fid = { 0 }, xml = { 0 };
	struct q_entry e = { 0 };
	char *pair = NULL;
	int ja = iken_lang_ja();
	int rc = store_rec_get(t, c->doc_id, &r);
	if (rc)
		goto cleanup;
	const struct form *f = formset_get(a->fs, r->form);
	if (!f || f->kind != FORM_DOCUMENT) {
		sbuf_printf(c->report, ja ? "%llu: 送信できる文書ではありません\n" :
				      "%llu: not a document that can be sent\n",
			    (unsigned long long)r->id);
		rc = IKEN_ESTATE;
		goto cleanup;
	}
	if (r->status != ST_DRAFT && r->status != ST_FINAL && r->status != ST_REJECTED) {
		sbuf_printf(c->report, ja ? "%llu: 既に送信待ちまたは送信済みです (%s)\n" :
				      "%llu: already queued or sent (%s)\n",
			    (unsigned long long)r->id, rec_status_name(r->status));
		rc = IKEN_ESTATE;
		goto cleanup;
	}
	uint32_t base = r->revision;
	if (r->status != ST_FINAL) {
		/* Finalizing an opinion is the doctor's right. */
		if (strcmp(f->id, "ikensho") == 0 && !is_doctor(c->user)) {
			sbuf_printf(c->report, ja ? "%llu: 意見書の確定は医師だけができます\n" :
					      "%llu: only a doctor can finalize an opinion\n",
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
		sbuf_printf(c->report, ja ? "%llu: 誤りがあるため確定できません:\n" :
				      "%llu: cannot be finalized, it has errors:\n",
			    (unsigned long long)r->id);
		report_problems(c->report, r->id, &ps);
		rc = IKEN_EDATA;
		goto cleanup;
	}
	if (!*c->tcf.clinic_code) {
		sbuf_puts(c->report, ja ? "設定に医療機関コードがありません (iken import settings)\n" :
					  "the settings have no clinic code (iken import settings)\n");
		rc = IKEN_EDATA;
		goto cleanup;
	}
	if (f->kind == FORM_DOCUMENT && strcmp(f->id, "seikyu") == 0) {
		pair = find_pair(t, r);
		if (!pair) {
			sbuf_printf(c->report, ja ? "%llu: 同じ申請者・記入日の意見書が送信されていません\n" :
					      "%llu: no opinion of the same applicant and written date has been sent\n",
				    (unsigned long long)r->id);
			rc = IKEN_EDATA;
			goto cleanup;
		}
		if (form_field(f, "opinion_file_id"))
			rec_set(r, "opinion_file_id", pair);
	}
	time_t now = iken_now();
	make_file_id(t, c->tcf.clinic_code, now, &fid);
	rc = envelope_build(a->tc, f, r, c->tcf.clinic_code, fid.s, now, &xml);
	if (rc)
		goto cleanup;
	if (c->tcf.sign_required && strcmp(f->id, "ikensho") == 0) {
		rc = sign_opinion(a, r, now, &xml, c->report);
		if (rc)
			goto cleanup;
	}
	char sha[65];
	sha256_hex(xml.s, xml.len, sha);
	rc = store_kv_put(t, "envelopes", fid.s, fid.len, xml.s, xml.len);
	if (rc)
		goto cleanup;
	struct sbuf name = { 0 };
	envelope_request_name(a->tc, f, fid.s, &name);
	e.file_id = xstrdup(fid.s);
	e.doc_id = r->id;
	e.form = xstrdup(f->id);
	e.state = Q_QUEUED;
	e.created = e.next_try = (int64_t)now;
	e.file_name = sbuf_take(&name);
	e.sha256 = xstrdup(sha);
	e.pair = xstrdup(pair ? pair : "");
	e.user = xstrdup(a->user);
	rc = outbox_put(t, &e);
	if (rc)
		goto cleanup;
	r->status = ST_QUEUED;
	rc = store_rec_update(t, r, base, a->user);
	if (rc)
		goto cleanup;
	rc = audit_add(t, AUDIT_SEND, a->user, e.file_name, sha, "queued");
	if (!rc) {
		free(c->file_id_out);
		c->file_id_out = xstrdup(fid.s);
	}
cleanup:
	q_entry_clear(&e);
	free(pair);
	sbuf_free(&fid);
	sbuf_free(&xml);
	problems_free(&ps);
	rec_free(r);
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
	int ja = iken_lang_ja();
	int rc = app_current_user(a, &user);
	if (rc) {
		sbuf_printf(report, ja ? "利用者 %s は登録されていません\n" : "user %s is not registered in iken\n",
			    a->user);
		return IKEN_EPERM;
	}
	struct send_ctx c = { a, user, { 0 }, report, 0, NULL };
	app_term_conf(a, &c.tcf);
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
		int r1 = store_write(a->st, send_one_txn, &c);
		if (r1 == IKEN_ENOTFOUND)
			sbuf_printf(report, ja ? "%llu: そのような文書はありません\n" : "%llu: no such document\n",
				    (unsigned long long)c.doc_id);
		else if (r1 == 0) {
			queued++;
			sbuf_printf(report, ja ? "%llu: 送信待ちに入れました (%s)\n" : "%llu: queued as %s\n",
				    (unsigned long long)c.doc_id, c.file_id_out);
		} else if (r1 != IKEN_EDATA && r1 != IKEN_EPERM && r1 != IKEN_ESTATE)
			sbuf_printf(report, "%llu: %s\n", (unsigned long long)c.doc_id, iken_strerror(r1));
		if (r1 && (!worst || r1 == IKEN_EPERM))
			worst = r1;
	}
	free(oc.out);
	free(ac.ids);
	free(c.file_id_out);
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

static int owner_gone(const struct q_entry *e, int64_t now)
{
	if (e->claim_pid <= 0)
		return 1;
	if (e->claim_pid == (long)getpid())
		return 0;
	if (kill((pid_t)e->claim_pid, 0) < 0 && errno == ESRCH)
		return 1;
	return now - e->claimed_at > CLAIM_LEASE;
}

static void tmp_path(const struct term_conf *tcf, const struct q_entry *e, struct sbuf *out)
{
	/* A dot-name the linkage software ignores; fixed per attempt so a later run finds it. */
	sbuf_printf(out, "%s/.%s.part", tcf->req, e->file_name);
}

static void final_path(const struct term_conf *tcf, const struct q_entry *e, struct sbuf *out)
{
	sbuf_printf(out, "%s/%s", tcf->req, e->file_name);
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

enum { T_CLAIM, T_PUBLISHING, T_PUBLISHED, T_FAILED, T_RELEASE };

/* The document of e, when it is still queued, moves to status; the send log records outcome. */
static int leave_queued(struct store_txn *t, const struct app *a, const struct q_entry *e,
			enum rec_status status, const char *outcome)
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
	return rc ? rc : audit_add(t, AUDIT_SEND, a->user, e->file_name, e->sha256, outcome);
}

struct trans_ctx {
	struct app *a;
	const char *file_id;
	int to;
	const char *error;
	int64_t now;
	int ok;   /* set when the transition applied */
	struct q_entry e;
};

/* Moves one entry to another state, re-reading it inside the transaction so that two publishers
 * never both claim it. */
static int trans_txn(struct store_txn *t, void *vctx)
{
	struct trans_ctx *c = vctx;
	q_entry_clear(&c->e);
	c->ok = 0;
	int rc = outbox_get(t, c->file_id, &c->e);
	if (rc)
		return rc;
	struct q_entry *e = &c->e;
	switch (c->to) {
	case T_CLAIM:
		if (e->state == Q_QUEUED || ((e->state == Q_CLAIMED) && owner_gone(e, c->now))) {
			e->state = Q_CLAIMED;
			e->claim_pid = (long)getpid();
			e->claimed_at = c->now;
			c->ok = 1;
		}
		break;
	case T_PUBLISHING:
		if (e->state == Q_CLAIMED && e->claim_pid == (long)getpid()) {
			e->state = Q_PUBLISHING;
			c->ok = 1;
		}
		break;
	case T_RELEASE:
		if (e->state == Q_CLAIMED) {
			e->state = Q_QUEUED;
			e->claim_pid = 0;
			c->ok = 1;
		}
		break;
	case T_FAILED:
		if (e->state == Q_CLAIMED || e->state == Q_PUBLISHING) {
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
			rc = audit_add(t, AUDIT_SEND, c->a->user, e->file_name, e->sha256, c->error);
		}
		break;
	case T_PUBLISHED:
		if (e->state == Q_PUBLISHING) {
			e->state = Q_PUBLISHED;
			e->published = c->now;
			e->claim_pid = 0;
			set_str(&e->last_error, "");
			c->ok = 1;
			rc = leave_queued(t, c->a, e, ST_PUBLISHED, "published");
		}
		break;
	}
	if (!rc && c->ok)
		rc = outbox_put(t, e);
	return rc;
}

static int transition(struct app *a, const char *file_id, int to, const char *error, int *ok)
{
	struct trans_ctx c = { a, file_id, to, error, (int64_t)iken_now(), 0, { 0 } };
	int rc = store_write(a->st, trans_txn, &c);
	q_entry_clear(&c.e);
	*ok = !rc && c.ok;
	return rc;
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

/* Publishes one claimed entry: write the dot-file, mark publishing, rename, mark published.
 * The stored envelope is what is published: its SHA-256 is the evidence of transmission. */
static int publish_claimed(struct app *a, const struct term_conf *tcf, const struct q_entry *e,
			   struct sbuf *report)
{
	struct sbuf tmp = { 0 }, fin = { 0 };
	struct env_ctx env = { e->file_id, NULL, 0 };
	char *err = NULL;
	int ok;
	tmp_path(tcf, e, &tmp);
	final_path(tcf, e, &fin);
	int rc = store_read(a->st, env_read, &env);
	if (rc) {
		err = errno_text(rc, "envelope");
		goto failed;
	}
	step_pause();
	rc = file_write_sync(tmp.s, env.data, env.len, 0644);
	if (rc) {
		unlink(tmp.s);
		err = errno_text(rc, tcf->req);
		goto failed;
	}
	step_pause();
	rc = transition(a, e->file_id, T_PUBLISHING, NULL, &ok);
	if (rc || !ok) {
		unlink(tmp.s);
		goto cleanup;
	}
	step_pause();
	rc = file_rename_sync(tmp.s, fin.s);
	if (rc && access(tmp.s, F_OK) == 0) {
		/* the rename did not happen: nothing under the final name */
		unlink(tmp.s);
		err = errno_text(rc, tcf->req);
		goto failed;
	}
	step_pause();
	rc = transition(a, e->file_id, T_PUBLISHED, NULL, &ok);
	if (!rc)
		sbuf_printf(report, iken_lang_ja() ? "%s を送信フォルダに置きました\n" : "%s published\n",
			    e->file_name);
	goto cleanup;
failed:
	sbuf_printf(report,
		    iken_lang_ja() ? "%s を置けませんでした: %s (再試行します)\n" :
				     "%s could not be published: %s (will retry)\n",
		    e->file_name, err);
	transition(a, e->file_id, T_FAILED, err, &ok);
	rc = IKEN_ESTATE;
cleanup:
	free(err);
	free(env.data);
	sbuf_free(&tmp);
	sbuf_free(&fin);
	return rc;
}

/* What a killed publisher left: a claim by a dead process goes back to the queue (its partial
 * dot-file removed); "publishing" is finished by the dot-file: still there, the rename did not
 * happen and is done now; gone, it happened. */
static int recover(struct app *a, const struct term_conf *tcf, const struct q_entry *e,
		   struct sbuf *report)
{
	struct sbuf tmp = { 0 }, fin = { 0 };
	int ok = 0, rc = 0;
	int64_t now = (int64_t)iken_now();
	if (!owner_gone(e, now))
		return 0;
	tmp_path(tcf, e, &tmp);
	final_path(tcf, e, &fin);
	if (e->state == Q_CLAIMED) {
		unlink(tmp.s);
		rc = transition(a, e->file_id, T_RELEASE, NULL, &ok);
	} else if (e->state == Q_PUBLISHING) {
		if (access(tmp.s, F_OK) == 0) {
			rc = file_rename_sync(tmp.s, fin.s);
			if (rc) {
				char *err = errno_text(rc, tcf->req);
				unlink(tmp.s);
				transition(a, e->file_id, T_FAILED, err, &ok);
				free(err);
				goto cleanup;
			}
		}
		/* mark published: the entry's owner is gone, take it over */
		rc = transition(a, e->file_id, T_PUBLISHED, NULL, &ok);
		if (ok)
			sbuf_printf(report, iken_lang_ja() ? "%s: 中断された送信を完了しました\n" :
							     "%s: finished an interrupted publication\n",
				    e->file_name);
	}
cleanup:
	sbuf_free(&tmp);
	sbuf_free(&fin);
	return rc;
}

struct due_ctx {
	int force;
	int64_t now;
	size_t n;
	char **ids;
	struct q_entry *left; /* claimed/publishing entries to recover */
	size_t nleft;
};

static int due_cb(const struct q_entry *e, void *vctx)
{
	struct due_ctx *c = vctx;
	if (e->state == Q_QUEUED && (c->force || e->next_try <= c->now)) {
		c->ids = xrealloc(c->ids, (c->n + 1) * sizeof(*c->ids));
		c->ids[c->n++] = xstrdup(e->file_id);
	} else if (e->state == Q_CLAIMED || e->state == Q_PUBLISHING) {
		c->left = xrealloc(c->left, (c->nleft + 1) * sizeof(*c->left));
		struct q_entry *d = &c->left[c->nleft++];
		memset(d, 0, sizeof(*d));
		d->file_id = xstrdup(e->file_id);
		d->file_name = xstrdup(e->file_name);
		d->state = e->state;
		d->claim_pid = e->claim_pid;
		d->claimed_at = e->claimed_at;
	}
	return 0;
}

int outbox_publish_due(struct app *a, int force, size_t *published, struct sbuf *report)
{
	struct term_conf tcf;
	struct due_ctx c = { force, (int64_t)iken_now(), 0, NULL, NULL, 0 };
	int rc = app_term_conf(a, &tcf), worst = 0;
	*published = 0;
	if (rc)
		return rc;
	rc = outbox_scan(a, 0, due_cb, &c);
	for (size_t i = 0; !rc && i < c.nleft; i++)
		recover(a, &tcf, &c.left[i], report);
	for (size_t i = 0; !rc && i < c.n; i++) {
		int ok;
		int r1 = transition(a, c.ids[i], T_CLAIM, NULL, &ok);
		if (r1 || !ok)
			continue; /* another publisher has it */
		struct q_entry e = { 0 };
		r1 = outbox_entry(a, c.ids[i], &e);
		if (!r1)
			r1 = publish_claimed(a, &tcf, &e, report);
		q_entry_clear(&e);
		if (!r1)
			(*published)++;
		else if (!worst)
			worst = r1;
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.ids[i]);
	free(c.ids);
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

static int cancel_txn(struct store_txn *t, void *vctx)
{
	struct cancel_ctx *c = vctx;
	struct q_entry e;
	c->cancelled = 0;
	int rc = outbox_get(t, c->file_id, &e);
	if (rc)
		return rc;
	if (e.state != Q_QUEUED) {
		rc = IKEN_ESTATE; /* published (or being published): too late */
		goto cleanup;
	}
	e.state = Q_CANCELLED;
	rc = outbox_put(t, &e);
	if (!rc)
		rc = leave_queued(t, c->a, &e, ST_FINAL, "cancelled");
	if (!rc)
		c->cancelled = 1;
cleanup:
	q_entry_clear(&e);
	return rc;
}

int outbox_cancel(struct app *a, uint64_t doc_id, struct sbuf *report)
{
	struct cancel_ctx c = { a, doc_id, NULL, 0, 0 };
	int ja = iken_lang_ja();
	int rc = outbox_scan(a, doc_id, cancel_find, &c);
	if (!rc && !c.found)
		rc = IKEN_ENOTFOUND;
	if (!rc)
		rc = store_write(a->st, cancel_txn, &c);
	if (rc == IKEN_ESTATE)
		sbuf_printf(report, ja ? "%llu: 既に送信フォルダに置かれたため取り消せません\n" :
				      "%llu: already published; it can no longer be cancelled\n",
			    (unsigned long long)doc_id);
	else if (rc == IKEN_ENOTFOUND)
		sbuf_printf(report, ja ? "%llu: 送信待ちではありません\n" : "%llu: not in the send queue\n",
			    (unsigned long long)doc_id);
	else if (!rc)
		sbuf_printf(report, ja ? "%llu: 送信を取り消しました (%s)\n" : "%llu: cancelled %s\n",
			    (unsigned long long)doc_id, c.file_id);
	free(c.file_id);
	return rc;
}
