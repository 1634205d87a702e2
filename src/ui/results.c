/* Result inquiry (送信結果照会): the imported results and the quarantined files, newest first,
 * filtered by date, status and applicant; the detail shows the reception number or every error
 * against the item's label, and opens the document at the item to correct it. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/widgets.h"
#include "errcode.h"
#include "exchange/inbox.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rrow {
	int64_t time;
	uint64_t doc_id;          /* 0 for a quarantined file */
	char *form, *status, *reception_no, *file_id, *file_name, *message, *code, *errors, *sha256;
	int quarantined;
	size_t order;             /* for a stable newest-first sort */
};

struct results {
	struct rrow *rows;        /* every row */
	size_t n, cap;
	size_t *shown;            /* indexes of the rows that pass the filter */
	size_t nshown;
	struct wlist wl;
	int64_t seen_poll;
	int dirty;
	/* filter: its status is an index of result_words */
	struct wfilter filt;
	uint64_t *docs;           /* applicant's documents, sorted */
	size_t ndocs;
	int by_applicant;
};

/* The results a row can have, in both languages. */
static const struct {
	const char *en, *ja;
} result_words[] = {
	{ "accepted", "受理" }, { "rejected", "返戻" }, { "error", "エラー" },
	{ "quarantined", "隔離" },
};

static void row_clear(struct rrow *r)
{
	free(r->form);
	free(r->status);
	free(r->reception_no);
	free(r->file_id);
	free(r->file_name);
	free(r->message);
	free(r->code);
	free(r->errors);
	free(r->sha256);
	memset(r, 0, sizeof(*r));
}

static void row_copy(struct rrow *dst, const struct rrow *src)
{
	*dst = *src;
#define DUP(x) dst->x = xstrdup(src->x ? src->x : "")
	DUP(form);
	DUP(status);
	DUP(reception_no);
	DUP(file_id);
	DUP(file_name);
	DUP(message);
	DUP(code);
	DUP(errors);
	DUP(sha256);
#undef DUP
}

static struct rrow *add_row(struct results *rs)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->rows = xrealloc(rs->rows, rs->cap * sizeof(*rs->rows));
	}
	struct rrow *r = &rs->rows[rs->n];
	memset(r, 0, sizeof(*r));
	r->order = rs->n++;
	return r;
}

static char *dup0(const char *s)
{
	return xstrdup(s ? s : "");
}

/* Both scans run inside a read transaction: they copy only. */
static int on_result(const struct stored_result *sr, void *vctx)
{
	struct rrow *r = add_row(vctx);
	r->time = sr->received;
	r->doc_id = sr->doc_id;
	r->form = dup0(sr->form);
	r->status = dup0(sr->status);
	r->reception_no = dup0(sr->reception_no);
	r->file_id = dup0(sr->file_id);
	r->file_name = dup0(sr->file_name);
	r->message = dup0(sr->message);
	r->code = dup0(sr->code);
	r->errors = dup0(sr->errors);
	r->sha256 = dup0(sr->sha256);
	return 0;
}

static int on_quarantined(const struct quarantined *q, void *vctx)
{
	struct rrow *r = add_row(vctx);
	r->time = q->time;
	r->quarantined = 1;
	r->form = dup0("");
	r->status = dup0("quarantined");
	r->reception_no = dup0("");
	r->file_id = dup0("");
	r->file_name = dup0(q->file);
	r->message = dup0(q->reason);
	r->code = dup0("");
	r->errors = dup0("");
	r->sha256 = dup0(q->sha256);
	return 0;
}

static int newest_first(const void *a, const void *b)
{
	const struct rrow *x = a, *y = b;
	if (x->time != y->time)
		return x->time > y->time ? -1 : 1;
	return x->order > y->order ? -1 : x->order < y->order;
}

static int has_doc(const struct results *rs, uint64_t id)
{
	size_t lo = 0, hi = rs->ndocs;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (rs->docs[mid] == id)
			return 1;
		if (rs->docs[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void apply_filter(struct results *rs)
{
	free(rs->shown);
	rs->shown = xmalloc((rs->n + 1) * sizeof(*rs->shown));
	rs->nshown = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct rrow *r = &rs->rows[i];
		char ymd[9];
		iken_ymd((time_t)r->time, ymd);
		if (rs->filt.from[0] && strcmp(ymd, rs->filt.from) < 0)
			continue;
		if (rs->filt.to[0] && strcmp(ymd, rs->filt.to) > 0)
			continue;
		int st = rs->filt.status;
		if (st >= 0 && strcmp(result_words[st].en, r->status) != 0)
			continue;
		if (rs->by_applicant && (r->quarantined || !has_doc(rs, r->doc_id)))
			continue;
		rs->shown[rs->nshown++] = i;
	}
	wlist_clamp(&rs->wl, rs->nshown);
}

static void reload(struct view *v)
{
	struct results *rs = v->priv;
	struct ui *ui = v->ui;
	for (size_t i = 0; i < rs->n; i++)
		row_clear(&rs->rows[i]);
	rs->n = 0;
	int rc = inbox_scan(ui->app, on_result, rs);
	if (!rc)
		rc = inbox_quarantine_scan(ui->app, on_quarantined, rs);
	if (rc)
		ui_message(ui, 1, "%s", iken_strerror(rc));
	qsort(rs->rows, rs->n, sizeof(*rs->rows), newest_first);
	apply_filter(rs);
	rs->dirty = 0;
}

/* --- words --- */

static const char *status_word(const struct ui *ui, const char *status)
{
	for (size_t i = 0; i < ARRAY_SIZE(result_words); i++)
		if (strcmp(status, result_words[i].en) == 0)
			return ui->ja ? result_words[i].ja : result_words[i].en;
	return status;
}

/* A result typed in either language: its index in result_words, or -1. */
static int parse_status_word(const char *w)
{
	for (size_t i = 0; i < ARRAY_SIZE(result_words); i++)
		if (strcmp(w, result_words[i].en) == 0 || strcmp(w, result_words[i].ja) == 0)
			return (int)i;
	return -1;
}

static const char *form_word(const struct ui *ui, const char *form)
{
	const struct form *f = formset_get(ui->app->fs, form);
	if (!f)
		return *form ? form : "-";
	if (widget_prefills_from(f, "opinion"))
		return _("invoice");
	return _("opinion");
}

/* --- the applicant filter: insured number or kana prefix → document ids (indexes) --- */

struct who_ctx {
	const struct formset *fs;
	const char *insured, *kana;
	struct strset numbers;    /* insured numbers found */
	uint64_t *docs;
	size_t ndocs;
};

static void who_clear(struct who_ctx *c)
{
	strset_free(&c->numbers);
	free(c->docs);
	c->docs = NULL;
	c->ndocs = 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int who_txn(struct store_txn *t, void *vctx)
{
	struct who_ctx *c = vctx;
	int rc = 0;
	who_clear(c);
	if (c->insured)
		strset_add(&c->numbers, c->insured);
	if (c->kana)
		rc = widget_kana_insured(t, c->fs, c->kana, &c->numbers);
	/* every document of those applicants */
	for (size_t fi = 0; !rc && fi < c->fs->nforms; fi++) {
		const struct form *f = c->fs->forms[fi];
		if (f->kind != FORM_DOCUMENT || !widget_index_field(f, "insured"))
			continue;
		for (size_t i = 0; !rc && i < c->numbers.n; i++) {
			const char *no = c->numbers.v[i];
			struct store_query q = { .form = f->id, .status = -1, .insured = no };
			uint64_t *ids = NULL;
			size_t n = 0;
			rc = store_find(t, &q, &ids, &n);
			if (!rc && n) {
				c->docs = xrealloc(c->docs, (c->ndocs + n) * sizeof(*c->docs));
				memcpy(c->docs + c->ndocs, ids, n * sizeof(*ids));
				c->ndocs += n;
			}
			free(ids);
		}
	}
	return rc;
}

/* --- open / draw --- */

static const enum action results_fkeys[] = {
	ACT_HELP, ACT_BACK, ACT_SEARCH, ACT_PAGE_PREV, ACT_PAGE_NEXT, ACT_NONE,
};

static int results_open(struct view *v, void *arg)
{
	(void)arg;
	struct results *rs = xcalloc(1, sizeof(*rs));
	rs->filt.status = -1;
	rs->seen_poll = (int64_t)v->ui->last_poll;
	v->priv = rs;
	reload(v);
	return 0;
}

static void clear_filter(struct results *rs)
{
	wfilter_clear(&rs->filt);
	free(rs->docs);
	rs->docs = NULL;
	rs->ndocs = 0;
	rs->by_applicant = 0;
}

static void results_close(struct view *v)
{
	struct results *rs = v->priv;
	for (size_t i = 0; i < rs->n; i++)
		row_clear(&rs->rows[i]);
	free(rs->rows);
	free(rs->shown);
	clear_filter(rs);
	free(rs);
}

static const char *results_title(struct view *v)
{
	return _("Results");
}

static int page_rows(WINDOW *w)
{
	return wlist_page(w, 3); /* summary, header, help line */
}

struct names_ctx {
	const struct formset *fs;
	const uint64_t *ids;
	size_t n;
	char **names;
};

static int names_txn(struct store_txn *t, void *vctx)
{
	struct names_ctx *c = vctx;
	for (size_t i = 0; i < c->n; i++) {
		struct record *r;
		free(c->names[i]);
		c->names[i] = NULL;
		if (!c->ids[i] || store_rec_get(t, c->ids[i], &r))
			continue;
		const struct field *nf = widget_name_field(formset_get(c->fs, r->form));
		c->names[i] = xstrdup(nf ? rec_val(r, nf->id) : "");
		rec_free(r);
	}
	return 0;
}

/* What the rows of one paint share: the names on screen and the columns. */
struct paint {
	struct ui *ui;
	const struct results *rs;
	char **names;             /* the applicants' names of the rows on screen */
	int tw, dw, fw, sw, rw;   /* widths: time, document, form, result, reception number */
	int xs[6];
};

static enum draw_role row_role(void *ctx, size_t i)
{
	const struct paint *p = ctx;
	return strcmp(p->rs->rows[p->rs->shown[i]].status, "accepted") != 0 ? DR_ERROR : DR_NORMAL;
}

static void draw_row(void *ctx, WINDOW *w, int y, size_t i)
{
	const struct paint *p = ctx;
	struct ui *ui = p->ui;
	const struct rrow *r = &p->rs->rows[p->rs->shown[i]];
	const char *name = p->names[i - (size_t)p->rs->wl.top];
	const int *xs = p->xs;
	struct sbuf s = { 0 };
	widget_time_text(ui->ja, r->time, &s);
	draw_text(w, y, xs[0], s.s, p->tw, 0);
	sbuf_reset(&s);
	if (r->doc_id)
		draw_textf(w, y, xs[1], p->dw, "%*llu", p->dw, (unsigned long long)r->doc_id);
	else
		draw_textf(w, y, xs[1], p->dw, "%*s", p->dw, "-");
	draw_text(w, y, xs[2], r->quarantined ? "-" : form_word(ui, r->form), p->fw, 0);
	draw_text(w, y, xs[3], status_word(ui, r->status), p->sw, 0);
	draw_text(w, y, xs[4], *r->reception_no ? r->reception_no : "-", p->rw, 0);
	if (r->quarantined)
		sbuf_printf(&s, "%s: %s", r->file_name, r->message);
	else if (name && *name)
		sbuf_puts(&s, name);
	else
		sbuf_puts(&s, r->message);
	draw_text(w, y, xs[5], s.s, getmaxx(w) - xs[5] - 1, 0);
	sbuf_free(&s);
}

static void results_draw(struct view *v, WINDOW *w)
{
	struct results *rs = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w);
	if (rs->dirty)
		reload(v);
	size_t count = wlist_scroll(&rs->wl, rs->nshown, page_rows(w));
	/* the applicants' names of the rows on screen */
	uint64_t *ids = xcalloc(count + 1, sizeof(*ids));
	for (size_t i = 0; i < count; i++)
		ids[i] = rs->rows[rs->shown[(size_t)rs->wl.top + i]].doc_id;
	struct names_ctx nc = { ui->app->fs, ids, count, xcalloc(count + 1, sizeof(char *)) };
	if (count)
		store_read(ui->app->st, names_txn, &nc);

	struct sbuf s = { 0 };
	size_t acc = 0, rej = 0, other = 0;
	for (size_t i = 0; i < rs->nshown; i++) {
		const char *st = rs->rows[rs->shown[i]].status;
		if (strcmp(st, "accepted") == 0)
			acc++;
		else if (strcmp(st, "rejected") == 0)
			rej++;
		else
			other++;
	}
	sbuf_printf(&s, _("%zu result(s)  accepted %zu  rejected %zu  error/quarantined %zu"),
		    rs->nshown, acc, rej, other);
	if (rs->filt.text)
		sbuf_printf(&s, _("  filter: %s"), rs->filt.text);
	wattrset(w, draw_attr(DR_TITLE));
	draw_text(w, 0, 1, s.s, cols - 2, 0);
	wattrset(w, A_NORMAL);
	sbuf_free(&s);

	struct paint p = { ui, rs, nc.names, ui->ja ? 14 : 16, 6, ui->ja ? 6 : 7, ui->ja ? 6 : 11,
			   16, { 0 } };
	const int *xs = p.xs;
	widget_columns(p.xs, (const int[]){ p.tw, p.dw, p.fw, p.sw, p.rw }, 5);
	wattrset(w, (int)A_UNDERLINE);
	draw_text(w, 1, 0, "", cols, 1);
	draw_text(w, 1, xs[0], _("Received"), p.tw, 0);
	draw_textf(w, 1, xs[1], p.dw, "%*s", p.dw, _("Doc"));
	draw_text(w, 1, xs[2], _("Form"), p.fw, 0);
	draw_text(w, 1, xs[3], _("Result"), p.sw, 0);
	draw_text(w, 1, xs[4], _("Reception no."), p.rw, 0);
	draw_text(w, 1, xs[5], _("Name / detail"), cols - xs[5] - 1, 0);
	wattrset(w, A_NORMAL);
	if (!rs->nshown)
		wlist_empty(w, _("no matching results"));
	struct wlist_rows rows_fn = { row_role, draw_row, &p };
	wlist_draw(&rs->wl, w, 2, count, &rows_fn);
	for (size_t i = 0; i < count; i++)
		free(nc.names[i]);
	free(nc.names);
	free(ids);
	widget_keys_line(w, _("Enter detail (reception number, errors)   F5 filter: date, result, applicant"));
	v->cursor_y = -1;
}

/* --- the filter --- */

/* Words separated by ASCII spaces: a date or FROM..TO (received, 和暦 or Gregorian), a result
 * word, an insured number (10 digits) or a kana prefix. */
static int do_search(struct view *v)
{
	struct results *rs = v->priv;
	struct ui *ui = v->ui;
	widget_hint(ui->body, _("received R8.4.1 or R8.4.1..R8.4.30  result (accepted rejected error quarantined)  insured number  kana  empty: clear"));
	const char *was = rs->filt.text ? rs->filt.text : "";
	char *text = ui_prompt(ui, _("Search:"), was);
	if (!text)
		return UI_REDRAW;
	clear_filter(rs);
	char *bad = NULL;
	if (wfilter_parse(&rs->filt, text, parse_status_word, &bad)) {
		ui_message(ui, 1, _("cannot read '%s': give a date (R8.4.1, R8.4.1..R8.4.30), a result, an insured number (10 digits) or a kana prefix"),
			   bad);
		free(bad);
	} else if (rs->filt.insured || rs->filt.kana) {
		struct who_ctx c = { ui->app->fs, rs->filt.insured, rs->filt.kana, { 0 }, NULL, 0 };
		int rc = store_read(ui->app->st, who_txn, &c);
		if (rc)
			ui_message(ui, 1, "%s", iken_strerror(rc));
		qsort(c.docs, c.ndocs, sizeof(*c.docs), cmp_u64);
		rs->docs = c.docs;
		rs->ndocs = c.ndocs;
		c.docs = NULL;
		who_clear(&c);
		rs->by_applicant = 1;
	}
	free(text);
	rs->wl.sel = rs->wl.top = 0;
	apply_filter(rs);
	return UI_REDRAW;
}

/* --- the detail --- */

struct detail {
	struct rrow row;
	const struct form *f;
	size_t nerr;
	int *no;                  /* item number of each error */
	char **code, **msg;
	struct wlist errs;        /* the selected error; top follows it on every paint */
};

static const enum action detail_fkeys[] = { ACT_HELP, ACT_BACK, ACT_CORRECT, ACT_NONE };
static const enum action quarantined_fkeys[] = { ACT_HELP, ACT_BACK, ACT_NONE };
static const struct view_ops detail_quarantined_ops;

static int detail_open(struct view *v, void *arg)
{
	const struct rrow *src = arg;
	struct detail *d = xcalloc(1, sizeof(*d));
	row_copy(&d->row, src);
	d->f = formset_get(v->ui->app->fs, d->row.form);
	/* errors: one "item\tcode\tmessage" line each */
	for (const char *p = d->row.errors; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t1 && t2) {
			*t1 = *t2 = '\0';
			d->no = xrealloc(d->no, (d->nerr + 1) * sizeof(*d->no));
			d->code = xrealloc(d->code, (d->nerr + 1) * sizeof(*d->code));
			d->msg = xrealloc(d->msg, (d->nerr + 1) * sizeof(*d->msg));
			d->no[d->nerr] = atoi(line);
			d->code[d->nerr] = xstrdup(t1 + 1);
			d->msg[d->nerr] = xstrdup(t2 + 1);
			d->nerr++;
		}
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	v->priv = d;
	/* a quarantined file has no document to open: its key bar says so */
	if (d->row.quarantined)
		v->ops = &detail_quarantined_ops;
	return 0;
}

static void detail_close(struct view *v)
{
	struct detail *d = v->priv;
	for (size_t i = 0; i < d->nerr; i++) {
		free(d->code[i]);
		free(d->msg[i]);
	}
	free(d->no);
	free(d->code);
	free(d->msg);
	row_clear(&d->row);
	free(d);
}

static const char *detail_title(struct view *v)
{
	return _("Result detail");
}

/* The field an error names: ItemNumber is the field's number in the form. */
static const struct field *error_field(const struct detail *d, size_t i)
{
	for (size_t k = 0; d->f && k < d->f->nfields; k++)
		if (d->f->fields[k].no == d->no[i])
			return &d->f->fields[k];
	return NULL;
}

static enum draw_role error_role(void *ctx, size_t i)
{
	(void)ctx;
	(void)i;
	return DR_ERROR;
}

static void draw_error(void *ctx, WINDOW *w, int y, size_t i)
{
	struct view *v = ctx;
	const struct detail *d = v->priv;
	const struct field *fld = error_field(d, i);
	struct sbuf s = { 0 };
	draw_textf(w, y, 1, 5, "%4d", d->no[i]);
	draw_text(w, y, 7, fld ? (v->ui->ja ? fld->label : fld->label_en) : "?", 22, 0);
	sbuf_printf(&s, "%s [%s]", d->msg[i], d->code[i]);
	draw_text(w, y, 30, s.s, getmaxx(w) - 31, 0);
	sbuf_free(&s);
}

static void detail_draw(struct view *v, WINDOW *w)
{
	struct detail *d = v->priv;
	struct ui *ui = v->ui;
	const struct rrow *r = &d->row;
	int cols = getmaxx(w), rows = getmaxy(w), y = 0;
	struct sbuf s = { 0 };

	widget_time_text(ui->ja, r->time, &s);
	draw_text(w, y, 1, _("Received"), 14, 0);
	draw_text(w, y++, 16, s.s, cols - 17, 0);
	sbuf_reset(&s);
	if (r->quarantined) {
		draw_text(w, y, 1, _("File"), 14, 0);
		draw_text(w, y++, 16, r->file_name, cols - 17, 0);
		wattrset(w, draw_attr(DR_ERROR));
		draw_text(w, y, 1, _("Result"), 14, 0);
		draw_text(w, y++, 16, status_word(ui, r->status), cols - 17, 0);
		draw_text(w, y, 1, _("Reason"), 14, 0);
		draw_text(w, y++, 16, r->message, cols - 17, 0);
		wattrset(w, A_NORMAL);
		draw_text(w, y, 1, "SHA-256", 12, 0);
		draw_text(w, y++, 16, r->sha256, cols - 17, 0);
		y++;
		wattrset(w, draw_attr(DR_DIM));
		draw_text(w, y, 1, _("The file is kept in the quarantine folder; see the send queue for the documents."),
			  cols - 2, 0);
		wattrset(w, A_NORMAL);
		sbuf_free(&s);
		v->cursor_y = -1;
		return;
	}
	sbuf_printf(&s, "%llu  %s", (unsigned long long)r->doc_id,
		    d->f ? (ui->ja ? d->f->title : d->f->title_en) : r->form);
	draw_text(w, y, 1, _("Document"), 14, 0);
	draw_text(w, y++, 16, s.s, cols - 17, 0);
	sbuf_reset(&s);
	draw_text(w, y, 1, _("File id"), 14, 0);
	sbuf_printf(&s, "%s   %s", r->file_id, r->file_name);
	draw_text(w, y++, 16, s.s, cols - 17, 0);
	sbuf_reset(&s);
	int accepted = strcmp(r->status, "accepted") == 0;
	wattrset(w, accepted ? (int)A_BOLD : draw_attr(DR_ERROR));
	draw_text(w, y, 1, _("Result"), 14, 0);
	draw_text(w, y++, 16, status_word(ui, r->status), cols - 17, 0);
	wattrset(w, A_NORMAL);
	if (accepted || *r->reception_no) {
		draw_text(w, y, 1, _("Reception no."), 14, 0);
		wattrset(w, (int)A_BOLD);
		draw_text(w, y++, 16, r->reception_no, cols - 17, 0);
		wattrset(w, A_NORMAL);
	}
	if (*r->message || *r->code) {
		draw_text(w, y, 1, _("Message"), 14, 0);
		if (*r->code)
			sbuf_printf(&s, "[%s] ", r->code);
		sbuf_puts(&s, r->message);
		draw_text(w, y++, 16, s.s, cols - 17, 0);
		sbuf_reset(&s);
	}
	if (d->nerr) {
		y++;
		wattrset(w, (int)A_UNDERLINE);
		draw_text(w, y, 0, "", cols, 1);
		draw_text(w, y, 1, _("Item"), 5, 0);
		draw_text(w, y, 7, _("Label"), 22, 0);
		draw_text(w, y++, 30, UI_T(ui, "内容", "Message"), cols - 31, 0);
		wattrset(w, A_NORMAL);
		int avail = rows - 1 - y;
		if (avail > 0) {
			/* the selection is on the last line when it is below the first screenful */
			struct wlist_rows rows_fn = { error_role, draw_error, v };
			d->errs.top = 0;
			size_t count = wlist_scroll(&d->errs, d->nerr, avail);
			wlist_draw(&d->errs, w, y, count, &rows_fn);
		}
	}
	widget_keys_line(w, d->nerr ? _("Enter or F4 Correct: open the document at this item, fix, send again")
				    : _("Enter or F4: open the document"));
	sbuf_free(&s);
	v->cursor_y = -1;
}

static int detail_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct detail *d = v->priv;
	struct ui *ui = v->ui;
	/* F4 arrives as the first action of its slot (前回コピー); on this screen the slot is 修正 */
	int enter = widget_is_enter(is_key, ch);
	if (enter || a == ACT_OPEN || a == ACT_CORRECT || a == ACT_COPY_PREV) {
		if (d->row.quarantined || !d->row.doc_id || !d->f)
			return UI_REDRAW;
		const struct field *fld = d->nerr ? error_field(d, (size_t)d->errs.sel) : NULL;
		struct form_arg fa = { d->f->id, d->row.doc_id, NULL, fld ? fld->id : NULL };
		return ui_push(ui, &form_view_ops, &fa) ? UI_REDRAW : UI_ALL;
	}
	int flags = widget_screen_key(ui, a, is_key, ch);
	/* Shift-Tab goes up the errors too */
	return flags ? flags : wlist_key(&d->errs, a == ACT_PREV_FIELD ? ACT_UP : a, d->nerr, 0);
}

static const struct view_ops detail_view_ops = VIEW_OPS("result", detail, NULL, detail_fkeys);
static const struct view_ops detail_quarantined_ops =
	VIEW_OPS("result", detail, NULL, quarantined_fkeys);

/* --- keys of the list --- */

static int results_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct results *rs = v->priv;
	struct ui *ui = v->ui;
	if (widget_is_enter(is_key, ch) || a == ACT_OPEN) {
		if (!rs->nshown)
			return UI_REDRAW;
		rs->dirty = 1; /* the document may be corrected and resent meanwhile */
		struct rrow *r = &rs->rows[rs->shown[rs->wl.sel]];
		return ui_push(ui, &detail_view_ops, r) ? UI_REDRAW : UI_ALL;
	}
	if (a == ACT_SEARCH)
		return do_search(v);
	int flags = widget_screen_key(ui, a, is_key, ch);
	return flags ? flags : wlist_key(&rs->wl, a, rs->nshown, page_rows(ui->body));
}

/* Results imported while the screen is open appear by themselves. */
static int results_tick(struct view *v)
{
	struct results *rs = v->priv;
	if (widget_poll_news(v->ui, &rs->seen_poll)) {
		reload(v);
		return UI_REDRAW;
	}
	return UI_OK;
}

const struct view_ops results_view_ops = VIEW_OPS("results", results, results_tick, results_fkeys);
