/* What the screens do to documents (see docops.h). Every store access runs in store_write() or
 * store_read(), whose callbacks may run more than once: they work on copies held in their
 * context and the caller's record is only touched after the transaction committed. */
#include "config.h"
#include "model/docops.h"
#include "model/docio.h"
#include "errcode.h"

#include <stdlib.h>
#include <string.h>

/* The form 前回コピー copies from, and the one only doctors finalize (as outbox.c). */
static const char opinion_form[] = "ikensho";

static int is_doctor(const struct record *user)
{
	return user && strcmp(app_role(user), "1") == 0;
}

static void today_ymd(char out[9])
{
	iken_ymd(iken_now(), out);
}

/* 1 when fld's prefill names a record source other than the settings, the user and today: the
 * source record a new document is made from ("applicant", "opinion"). */
static int prefill_from_src(const struct field *fld, const char **name, size_t *len)
{
	const char *p = fld->prefill;
	if (!p || strcmp(p, "today") == 0)
		return 0;
	const char *dot = strchr(p, '.');
	if (!dot)
		return 0;
	size_t n = (size_t)(dot - p);
	if ((n == 8 && strncmp(p, "settings", 8) == 0) || (n == 4 && strncmp(p, "user", 4) == 0))
		return 0;
	*name = p;
	*len = n;
	return 1;
}

/* Applies the prefills that take their value from src, whatever the source is called. */
static void prefill_src(const struct form *f, struct record *r, const struct record *src,
			int overwrite)
{
	for (size_t i = 0; i < f->nfields; i++) {
		const char *name;
		size_t len;
		if (!prefill_from_src(&f->fields[i], &name, &len))
			continue;
		char source[64];
		if (len >= sizeof(source))
			continue;
		memcpy(source, name, len);
		source[len] = '\0';
		/* docio_prefill handles every field of this source at once */
		docio_prefill(f, r, source, src, NULL, overwrite);
		break;
	}
}

/* An unchecked box is an answer: a bits field starts as all 0 so that leaving every box of a
 * group unchecked is a complete entry, as on paper. */
static void zero_bits(const struct form *f, struct record *r)
{
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (fld->type != FT_BITS || fld->fill != FILL_NONE || *rec_val(r, fld->id))
			continue;
		char buf[64];
		int n = fld->length > 0 && fld->length < (int)sizeof(buf) ? fld->length : 0;
		memset(buf, '0', (size_t)n);
		buf[n] = '\0';
		rec_set(r, fld->id, buf);
	}
}

/* The prefills a new document takes from the settings, the signed-in user and today, then its
 * check boxes and derived items (overwrite: replace values already there, as 前回コピー does). */
static void refresh(struct app *a, const struct form *f, struct record *r,
		    const struct record *user, const char *today, int overwrite)
{
	struct record *settings = NULL;
	if (app_settings(a, &settings) == 0)
		docio_prefill(f, r, "settings", settings, today, overwrite);
	rec_free(settings);
	/* The doctor's name and number on an opinion are the signed-in doctor's; a clerk preparing
	 * a draft leaves them for the doctor who finalizes it. */
	if (is_doctor(user))
		docio_prefill(f, r, "user", user, today, overwrite);
	docio_prefill(f, r, "today", NULL, today, overwrite);
	zero_bits(f, r);
	derive_record(a->fs, f, r, 0);
}

struct record *docops_new(struct app *a, const struct form *f, const struct record *user,
			  const struct record *src)
{
	struct record *r = rec_new(f->id, f->layout_version);
	char today[9];
	today_ymd(today);
	if (src)
		prefill_src(f, r, src, 0);
	refresh(a, f, r, user, today, 0);
	return r;
}

/* --- 前回コピー --- */

struct prev_ctx {
	const struct form *f;
	const char *insured;
	struct record *latest;
	/* the master record the copied document names (the applicant), for fresh prefills */
	const struct form *master;
	const char *master_value;
	struct record *master_rec;
};

struct latest_ctx {
	const char *date_field;
	struct record *latest;
};

static int keep_latest(const struct record *r, void *vctx)
{
	struct latest_ctx *c = vctx;
	/* ids ascend, so on equal dates the later-made one wins */
	if (!c->latest || strcmp(rec_val(r, c->date_field), rec_val(c->latest, c->date_field)) >= 0) {
		rec_free(c->latest);
		c->latest = rec_dup(r);
	}
	return 0;
}

int docops_latest_txn(struct store_txn *t, const struct form *f, const char *insured,
		      struct record **out)
{
	struct latest_ctx c = { NULL, NULL };
	struct store_query q = { .form = f->id, .status = -1, .insured = insured };
	*out = NULL;
	for (size_t i = 0; i < f->nfields; i++)
		if (f->fields[i].index && strcmp(f->fields[i].index, "date") == 0)
			c.date_field = f->fields[i].id;
	if (!c.date_field || !insured || !*insured)
		return IKEN_ENOTFOUND;
	int rc = store_find_each(t, &q, keep_latest, &c);
	if (!rc && !c.latest)
		rc = IKEN_ENOTFOUND;
	if (rc)
		rec_free(c.latest);
	else
		*out = c.latest;
	return rc;
}

static int prev_txn(struct store_txn *t, void *vctx)
{
	struct prev_ctx *c = vctx;
	rec_free(c->latest);
	c->latest = NULL;
	rec_free(c->master_rec);
	c->master_rec = NULL;
	int rc = docops_latest_txn(t, c->f, c->insured, &c->latest);
	if (!rc && c->master && c->master->key) {
		uint64_t id;
		/* the applicant may have moved or changed insurer since: take the master's values */
		const char *v = c->master_value ? rec_val(c->latest, c->master_value) : "";
		if (*v && docio_find_key(t, c->master, v, &id) == 0 &&
		    store_rec_get(t, id, &c->master_rec) != 0)
			c->master_rec = NULL;
	}
	return rc;
}

/* The master form a document takes prefills from, and the document's field that holds the
 * master's key (applicant + insured_no). */
static void master_of(const struct formset *fs, const struct form *f, struct prev_ctx *c)
{
	for (size_t i = 0; i < f->nfields; i++) {
		const char *name;
		size_t len;
		if (!prefill_from_src(&f->fields[i], &name, &len))
			continue;
		for (size_t k = 0; k < fs->nforms; k++) {
			const struct form *m = fs->forms[k];
			if (m->kind != FORM_MASTER || !m->key || strlen(m->id) != len ||
			    strncmp(m->id, name, len) != 0)
				continue;
			if (strcmp(f->fields[i].prefill + len + 1, m->key) == 0) {
				c->master = m;
				c->master_value = f->fields[i].id;
				return;
			}
		}
	}
}

int docops_copy_previous(struct app *a, const char *insured_no, const struct record *user,
			 struct record **out)
{
	const struct form *f = formset_get(a->fs, opinion_form);
	*out = NULL;
	if (!f || !insured_no || !*insured_no)
		return IKEN_ENOTFOUND;
	struct prev_ctx c = { .f = f, .insured = insured_no };
	master_of(a->fs, f, &c);
	int rc = store_read(a->st, prev_txn, &c);
	if (rc) {
		rec_free(c.latest);
		rec_free(c.master_rec);
		return rc;
	}
	char today[9];
	today_ymd(today);
	struct record *r = rec_new(f->id, f->layout_version);
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		const char *v = rec_val(c.latest, fld->id);
		/* Filled when sent: never carried over. */
		if (fld->fill != FILL_NONE)
			v = "";
		/* A document's own dates (request, application, examination, sent) belong to the
		 * old one; dates that come from a master record (birth date) stay; "today" ones are
		 * set below. */
		else if (fld->type == FT_DATE && (!fld->prefill || strcmp(fld->prefill, "today") == 0))
			v = "";
		rec_set(r, fld->id, v);
	}
	if (c.master_rec)
		prefill_src(f, r, c.master_rec, 1);
	refresh(a, f, r, user, today, 1);
	rec_free(c.latest);
	rec_free(c.master_rec);
	*out = r;
	return 0;
}

/* --- save --- */

struct save_ctx {
	const struct record *r;
	uint32_t base_rev;
	const char *user;
	int want_current;
	struct record *w;        /* the written copy (metadata goes back to r) */
	struct record *current;  /* on conflict */
};

static int save_txn(struct store_txn *t, void *vctx)
{
	struct save_ctx *c = vctx;
	rec_free(c->w);
	rec_free(c->current);
	c->current = NULL;
	c->w = rec_dup(c->r);
	if (c->w->id == 0)
		return store_rec_insert(t, c->w, c->user);
	struct record *old = NULL;
	int rc = store_rec_get(t, c->w->id, &old);
	if (rc)
		return rc;
	if (old->revision != c->base_rev) {
		rc = IKEN_ECONFLICT;
		if (c->want_current) {
			c->current = old;
			old = NULL;
		}
	} else if (old->status != ST_DRAFT) {
		/* final, queued or sent documents change through reopen (or not at all) */
		rc = IKEN_ESTATE;
	} else {
		c->w->status = old->status;
		rc = store_rec_update(t, c->w, c->base_rev, c->user);
	}
	rec_free(old);
	return rc;
}

/* Copies what the store assigned (id, revision, times, users, status) into r. */
static void take_meta(struct record *r, const struct record *w)
{
	r->id = w->id;
	r->status = w->status;
	r->revision = w->revision;
	r->created = w->created;
	r->updated = w->updated;
	free(r->created_by);
	free(r->updated_by);
	r->created_by = w->created_by ? xstrdup(w->created_by) : NULL;
	r->updated_by = w->updated_by ? xstrdup(w->updated_by) : NULL;
}

int docops_save(struct app *a, struct record *r, uint32_t base_rev, struct record **current)
{
	const struct form *f = formset_get(a->fs, r->form);
	if (current)
		*current = NULL;
	if (!f)
		return IKEN_ENOTFOUND;
	derive_record(a->fs, f, r, 0);
	struct save_ctx c = { r, base_rev, a->user, current != NULL, NULL, NULL };
	int rc = store_write(a->st, save_txn, &c);
	if (!rc)
		take_meta(r, c.w);
	rec_free(c.w);
	if (rc == IKEN_ECONFLICT && current)
		*current = c.current;
	else
		rec_free(c.current);
	return rc;
}

void docops_diff(const struct form *f, const struct record *x, const struct record *y,
		 struct sbuf *out)
{
	int first = 1;
	for (size_t i = 0; i < f->nfields; i++) {
		const char *id = f->fields[i].id;
		if (strcmp(rec_val(x, id), rec_val(y, id)) == 0)
			continue;
		sbuf_printf(out, "%s%s", first ? "" : ",", id);
		first = 0;
	}
}

/* --- autosave --- */

void docops_autosave_key(const struct app *a, const char *form, uint64_t id, struct sbuf *key)
{
	sbuf_printf(key, "%s:%s:%llu", a->user ? a->user : "", form, (unsigned long long)id);
}

struct as_ctx {
	const char *key;
	struct sbuf enc;
	struct record *got;
	char **keys;
	size_t n;
	const char *prefix;
};

static int as_put(struct store_txn *t, void *vctx)
{
	struct as_ctx *c = vctx;
	return store_kv_put(t, "autosave", c->key, strlen(c->key), c->enc.s, c->enc.len);
}

int docops_autosave_put(struct app *a, const char *key, const struct record *r)
{
	struct as_ctx c = { .key = key };
	rec_encode(r, &c.enc);
	int rc = store_write(a->st, as_put, &c);
	sbuf_free(&c.enc);
	return rc;
}

static int as_get(struct store_txn *t, void *vctx)
{
	struct as_ctx *c = vctx;
	void *v = NULL;
	size_t vl = 0;
	rec_free(c->got);
	c->got = NULL;
	int rc = store_kv_get(t, "autosave", c->key, strlen(c->key), &v, &vl);
	if (!rc)
		rc = rec_decode(v, vl, &c->got);
	free(v);
	return rc;
}

int docops_autosave_get(struct app *a, const char *key, struct record **out)
{
	struct as_ctx c = { .key = key };
	int rc = store_read(a->st, as_get, &c);
	*out = rc ? NULL : c.got;
	if (rc)
		rec_free(c.got);
	return rc;
}

static int as_del(struct store_txn *t, void *vctx)
{
	struct as_ctx *c = vctx;
	int rc = store_kv_del(t, "autosave", c->key, strlen(c->key));
	/* already gone is what was asked for */
	return rc == IKEN_ENOTFOUND ? 0 : rc;
}

int docops_autosave_del(struct app *a, const char *key)
{
	struct as_ctx c = { .key = key };
	return store_write(a->st, as_del, &c);
}

static void free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

static int as_list_cb(const void *k, size_t kl, const void *v, size_t vl, void *vctx)
{
	struct as_ctx *c = vctx;
	(void)v;
	(void)vl;
	c->keys = xrealloc(c->keys, (c->n + 1) * sizeof(*c->keys));
	c->keys[c->n++] = xstrndup(k, kl);
	return 0;
}

static int as_list(struct store_txn *t, void *vctx)
{
	struct as_ctx *c = vctx;
	free_keys(c->keys, c->n);
	c->keys = NULL;
	c->n = 0;
	return store_kv_scan(t, "autosave", c->prefix, strlen(c->prefix), as_list_cb, c);
}

int docops_autosave_list(struct app *a, char ***keys, size_t *n)
{
	struct sbuf prefix = { 0 };
	/* "user:" — the colon keeps user "ab" from listing user "abc"'s drafts */
	sbuf_printf(&prefix, "%s:", a->user ? a->user : "");
	struct as_ctx c = { .prefix = prefix.s };
	int rc = store_read(a->st, as_list, &c);
	sbuf_free(&prefix);
	if (rc) {
		free_keys(c.keys, c.n);
		*keys = NULL;
		*n = 0;
		return rc;
	}
	*keys = c.keys ? c.keys : xcalloc(1, sizeof(char *));
	*n = c.n;
	return 0;
}

/* --- finalize and reopen --- */

struct status_ctx {
	const struct record *r;
	uint32_t base_rev;
	const char *user;
	unsigned allowed;        /* bit per enum rec_status the stored record may have */
	enum rec_status to;
	struct record *w;
};

static int status_txn(struct store_txn *t, void *vctx)
{
	struct status_ctx *c = vctx;
	struct record *old = NULL;
	rec_free(c->w);
	c->w = NULL;
	int rc = store_rec_get(t, c->r->id, &old);
	if (rc)
		return rc;
	if (old->revision != c->base_rev)
		rc = IKEN_ECONFLICT;
	else if (!(c->allowed & (1u << old->status)))
		rc = IKEN_ESTATE;
	rec_free(old);
	if (rc)
		return rc;
	c->w = rec_dup(c->r);
	c->w->status = c->to;
	return store_rec_update(t, c->w, c->base_rev, c->user);
}

static int set_status(struct app *a, struct record *r, uint32_t base_rev, unsigned allowed,
		      enum rec_status to)
{
	if (r->id == 0)
		return IKEN_ENOTFOUND;
	struct status_ctx c = { r, base_rev, a->user, allowed, to, NULL };
	int rc = store_write(a->st, status_txn, &c);
	if (!rc)
		take_meta(r, c.w);
	rec_free(c.w);
	return rc;
}

int docops_finalize(struct app *a, struct record *r, uint32_t base_rev, const struct record *user,
		    struct problems *out)
{
	const struct form *f = formset_get(a->fs, r->form);
	if (!f || f->kind != FORM_DOCUMENT)
		return IKEN_ESTATE;
	if (strcmp(f->id, opinion_form) == 0 && !is_doctor(user))
		return IKEN_EPERM;
	char today[9];
	today_ymd(today);
	derive_record(a->fs, f, r, 0);
	if (check_record(a->fs, f, r, CHECK_STORED, today, out))
		return IKEN_EDATA;
	/* a rejected document that was corrected is finalized again; a final one is left as is */
	if (r->status == ST_FINAL)
		return 0;
	return set_status(a, r, base_rev, 1u << ST_DRAFT | 1u << ST_REJECTED, ST_FINAL);
}

int docops_reopen(struct app *a, struct record *r, uint32_t base_rev)
{
	return set_status(a, r, base_rev, 1u << ST_FINAL | 1u << ST_REJECTED, ST_DRAFT);
}
