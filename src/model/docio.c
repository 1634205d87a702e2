#include "config.h"
#include "model/docio.h"
#include "model/charset.h"
#include "model/csvrec.h"
#include "exchange/envelope.h"
#include "store/audit.h"
#include "errcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void docio_fill_send(const struct form *f, struct record *r, time_t now)
{
	char ymdhms[15];
	iken_ymdhms(now, ymdhms);
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		struct sbuf v = { 0 };
		switch (fld->fill) {
		case FILL_NONE:
			continue;
		case FILL_FORMAT_VERSION:
			sbuf_puts(&v, f->layout_version);
			break;
		case FILL_SOFT_NAME:
			sbuf_puts(&v, PACKAGE_NAME " " PACKAGE_VERSION);
			break;
		case FILL_TIMESTAMP:
			/* the prefix field's value + DDHHMMSS of the moment the file is made */
			sbuf_printf(&v, "%s%s", rec_val(r, fld->fill_from), ymdhms + 6);
			break;
		case FILL_SENT_DATE:
			sbuf_add(&v, ymdhms, 8);
			break;
		}
		rec_set(r, fld->id, v.s ? v.s : "");
		sbuf_free(&v);
	}
}

void docio_record_csv(const struct form *f, const struct record *r, int for_send, struct sbuf *out)
{
	const char **vals = xcalloc(f->nfields, sizeof(*vals));
	struct sbuf *conv = xcalloc(f->nfields, sizeof(*conv));
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		const char *v = rec_val(r, fld->id);
		/* The layout writes an unchosen code as 0. */
		if (fld->type == FT_CODE && !*v && for_send)
			v = "0";
		if (for_send) {
			charset_to_send(v, &conv[i]);
			v = conv[i].s ? conv[i].s : "";
		}
		vals[i] = v;
	}
	csv_write_row(out, vals, f->nfields);
	for (size_t i = 0; i < f->nfields; i++)
		sbuf_free(&conv[i]);
	free(conv);
	free(vals);
}

void docio_header_csv(const struct form *f, struct sbuf *out)
{
	const char **ids = xcalloc(f->nfields, sizeof(*ids));
	for (size_t i = 0; i < f->nfields; i++)
		ids[i] = f->fields[i].id;
	csv_write_row(out, ids, f->nfields);
	free(ids);
}

void docio_rows_free(struct docio_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		rec_free(rows->recs[i]);
	free(rows->recs);
	free(rows->lines);
	memset(rows, 0, sizeof(*rows));
}

struct parse_ctx {
	const struct form *f;
	struct docio_rows *rows;
	struct sbuf *err;
	const struct field **cols;
	size_t ncols;
	int bad;
};

static int on_row(const struct csv_row *row, void *vctx)
{
	struct parse_ctx *c = vctx;
	if (!c->cols) {
		c->ncols = row->n;
		c->cols = xcalloc(row->n ? row->n : 1, sizeof(*c->cols));
		for (size_t i = 0; i < row->n; i++) {
			c->cols[i] = form_field(c->f, row->vals[i]);
			if (!c->cols[i]) {
				sbuf_printf(c->err, "line %zu: column %zu: '%s' is not a field of form %s\n",
					    row->line, i + 1, row->vals[i], c->f->id);
				c->bad = 1;
			}
			for (size_t j = 0; c->cols[i] && j < i; j++)
				if (c->cols[j] == c->cols[i]) {
					sbuf_printf(c->err, "line %zu: column %zu: field %s appears twice\n",
						    row->line, i + 1, row->vals[i]);
					c->bad = 1;
				}
		}
		return c->bad ? IKEN_EDATA : 0;
	}
	if (row->n != c->ncols) {
		sbuf_printf(c->err, "line %zu: %zu values, but the header has %zu columns\n", row->line,
			    row->n, c->ncols);
		c->bad = 1;
		return 0;
	}
	struct record *r = rec_new(c->f->id, c->f->layout_version);
	for (size_t i = 0; i < row->n; i++)
		rec_set(r, c->cols[i]->id, row->vals[i]);
	struct docio_rows *rs = c->rows;
	rs->recs = xrealloc(rs->recs, (rs->n + 1) * sizeof(*rs->recs));
	rs->lines = xrealloc(rs->lines, (rs->n + 1) * sizeof(*rs->lines));
	rs->recs[rs->n] = r;
	rs->lines[rs->n] = row->line;
	rs->n++;
	return 0;
}

int docio_parse(const struct form *f, const char *buf, size_t len, struct docio_rows *rows,
		struct sbuf *err)
{
	struct parse_ctx c = { f, rows, err, NULL, 0, 0 };
	memset(rows, 0, sizeof(*rows));
	int rc = csvrec_parse(buf, len, on_row, &c, err);
	free(c.cols);
	if (!rc && !c.cols) {
		sbuf_puts(err, "line 1: the file is empty: it needs a header row of field ids\n");
		rc = IKEN_EDATA;
	}
	if (!rc && c.bad)
		rc = IKEN_EDATA;
	if (rc)
		docio_rows_free(rows);
	return rc;
}

void docio_prefill(const struct form *f, struct record *r, const char *source,
		   const struct record *src, const char *today_ymd, int overwrite)
{
	size_t sl = strlen(source);
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (!fld->prefill || (!overwrite && *rec_val(r, fld->id)))
			continue;
		if (strcmp(source, "today") == 0 && strcmp(fld->prefill, "today") == 0)
			rec_set(r, fld->id, today_ymd);
		else if (src && strncmp(fld->prefill, source, sl) == 0 && fld->prefill[sl] == '.')
			rec_set(r, fld->id, rec_val(src, fld->prefill + sl + 1));
	}
}

void docio_problem_line(const struct problem *p, struct sbuf *out)
{
	int ja = iken_lang_ja();
	if (p->field)
		sbuf_printf(out, ja ? "項目%d (%s): " : "item %d (%s): ", p->field->no,
			    ja ? p->field->label : p->field->label_en);
	if (p->sev == SEV_WARNING)
		sbuf_puts(out, ja ? "注意: " : "warning: ");
	sbuf_puts(out, problem_msg(p));
}

/* --- keys of master and single forms --- */

int docio_find_key(struct store_txn *t, const struct form *f, const char *value, uint64_t *id)
{
	struct store_query q = { .form = f->id, .status = -1 };
	const struct field *key = f->key ? form_field(f, f->key) : NULL;
	uint64_t *ids = NULL;
	size_t n = 0;
	/* An indexed key is looked up in its index; otherwise master forms are small (users). */
	if (key && key->index && strcmp(key->index, "insured") == 0)
		q.insured = value;
	int rc = store_find(t, &q, &ids, &n);
	if (rc)
		return rc;
	rc = IKEN_ENOTFOUND;
	for (size_t i = 0; i < n; i++) {
		if (f->kind == FORM_SINGLE) {
			*id = ids[i];
			rc = 0;
			break;
		}
		struct record *r;
		if (store_rec_get(t, ids[i], &r))
			continue;
		int match = strcmp(rec_val(r, f->key), value) == 0;
		rec_free(r);
		if (match) {
			*id = ids[i];
			rc = 0;
			break;
		}
	}
	free(ids);
	return rc;
}

struct write_ctx {
	const struct form *f;
	struct docio_rows *rows;
	const char *ok;   /* ok[i]: row i is written */
	const char *user;
	const char *sha256; /* of the file */
	uint64_t *ids;      /* the records written, for the trail */
	size_t nids;
};

static int write_rows(struct store_txn *t, void *vctx)
{
	struct write_ctx *c = vctx;
	c->nids = 0; /* a retried transaction starts again */
	for (size_t i = 0; i < c->rows->n; i++) {
		if (!c->ok[i])
			continue;
		struct record *r = rec_dup(c->rows->recs[i]);
		r->status = ST_DRAFT;
		int rc;
		uint64_t id;
		if (c->f->kind != FORM_DOCUMENT &&
		    docio_find_key(t, c->f, c->f->key ? rec_val(r, c->f->key) : "", &id) == 0) {
			struct record *old;
			rc = store_rec_get(t, id, &old);
			if (!rc) {
				r->id = id;
				r->created = old->created;
				rc = store_rec_update(t, r, old->revision, c->user);
				rec_free(old);
			}
		} else {
			rc = store_rec_insert(t, r, c->user);
		}
		c->ids[c->nids++] = r->id;
		rec_free(r);
		if (rc)
			return rc;
	}
	/* each record has its create or update entry; this one says they came from one file */
	char rows[32];
	snprintf(rows, sizeof(rows), "%zu rows", c->nids);
	struct audit_event ev = { .action = AUDIT_IMPORT, .user = c->user, .form = c->f->id,
				  .ids = c->ids, .nids = c->nids, .sha256 = c->sha256,
				  .detail = rows };
	return audit_add(t, &ev);
}

int docio_import(struct store *st, const struct formset *fs, const struct form *f, const char *buf,
		 size_t len, unsigned flags, const char *user, struct sbuf *report,
		 struct import_result *res)
{
	struct docio_rows rows;
	char today[9];
	memset(res, 0, sizeof(*res));
	int rc = docio_parse(f, buf, len, &rows, report);
	if (rc)
		return rc;
	iken_ymd(iken_now(), today);
	char *ok = xcalloc(rows.n ? rows.n : 1, 1);
	res->rows = rows.n;
	for (size_t i = 0; i < rows.n; i++) {
		struct problems ps = { 0 };
		derive_record(fs, f, rows.recs[i], 1);
		check_record(fs, f, rows.recs[i], CHECK_STORED, today, &ps);
		/* two rows of a master form with one key would silently overwrite each other */
		if (f->kind != FORM_DOCUMENT && f->key)
			for (size_t j = 0; j < i; j++) {
				if (strcmp(rec_val(rows.recs[j], f->key), rec_val(rows.recs[i], f->key)))
					continue;
				/* the key's value is personal (an insured number): the line
				 * numbers say which rows */
				sbuf_printf(report, "line %zu: the same %s as on line %zu\n",
					    rows.lines[i], f->key, rows.lines[j]);
				ps.nerrors++;
			}
		for (size_t k = 0; k < ps.n; k++) {
			sbuf_printf(report, "line %zu: ", rows.lines[i]);
			docio_problem_line(&ps.v[k], report);
			sbuf_putc(report, '\n');
			if (ps.v[k].sev == SEV_WARNING)
				res->warnings++;
		}
		ok[i] = ps.nerrors == 0;
		if (!ok[i])
			res->invalid++;
		problems_free(&ps);
	}
	if (f->kind == FORM_SINGLE && rows.n > 1) {
		sbuf_printf(report, "line %zu: form %s holds a single record\n", rows.lines[1], f->id);
		res->invalid++;
		memset(ok, 0, rows.n);
	}
	if (res->invalid && !(flags & IMPORT_SKIP_INVALID))
		rc = IKEN_EDATA;
	else if (!(flags & IMPORT_CHECK_ONLY)) {
		char sha[65];
		sha256_hex(buf, len, sha);
		struct write_ctx wc = { f, &rows, ok, user, sha, NULL, 0 };
		wc.ids = xmalloc((rows.n ? rows.n : 1) * sizeof(*wc.ids));
		rc = store_write(st, write_rows, &wc);
		free(wc.ids);
		if (!rc)
			res->imported = rows.n - res->invalid;
	}
	if (!rc && res->invalid)
		rc = IKEN_EDATA;
	free(ok);
	docio_rows_free(&rows);
	return rc;
}

struct export_ctx {
	const struct form *f;
	int status;
	struct sbuf *out;
	uint64_t *ids;
	size_t nids, cap;
};

static int export_one(const struct record *r, void *vctx)
{
	struct export_ctx *c = vctx;
	docio_record_csv(c->f, r, 0, c->out);
	if (c->nids == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->ids = xrealloc(c->ids, c->cap * sizeof(*c->ids));
	}
	c->ids[c->nids++] = r->id;
	return 0;
}

static int export_txn(struct store_txn *t, void *vctx)
{
	struct export_ctx *c = vctx;
	struct store_query q = { .form = c->f->id, .status = c->status };
	return store_find_each(t, &q, export_one, c);
}

int docio_export(struct store *st, const struct form *f, int status, const char *user,
		 struct sbuf *out)
{
	struct export_ctx c = { f, status, out, NULL, 0, 0 };
	docio_header_csv(f, out);
	int rc = store_read(st, export_txn, &c);
	if (!rc) {
		struct audit_event ev = { .action = AUDIT_EXPORT, .user = user, .form = f->id,
					  .ids = c.ids, .nids = c.nids,
					  .detail = status >= 0 ? rec_status_name(status) : NULL };
		rc = audit_log(st, &ev);
	}
	if (rc)
		sbuf_reset(out); /* nothing handed out without its entry in the trail */
	free(c.ids);
	return rc;
}
