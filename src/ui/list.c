/* Lists of records: applicants, opinions and invoices, overall or for one applicant. The rows
 * come from the store's indexes (store_find); only the records on screen are read, so a list of
 * thousands stays quick. Columns are the form's indexed fields and the person's name. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/widgets.h"
#include "model/charset.h"
#include "model/docio.h"
#include "model/docops.h"
#include "errcode.h"
#include "exchange/outbox.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The prefill sources name these forms ("applicant.X", "opinion.X"); docops fills from them. */
#define APPLICANT_FORM "applicant"
#define OPINION_FORM "ikensho"
#define INVOICE_FORM "seikyu"

#define MAX_COLS 6

struct list {
	const struct form *f;
	char *insured;                 /* the list is for one applicant; NULL: all */
	int status;                    /* the list's own status (-1 any) */
	/* the filter typed with F5 (it replaces nothing of the above except the insured number) */
	struct wfilter filt;
	uint64_t *ids;
	size_t n;
	struct wlist wl;
	int dirty;
	int64_t seen_poll;
	const struct field *cols[MAX_COLS];
	size_t ncols;
	const struct field *insured_fld, *date_fld;
};

/* Columns: the indexed fields in layout order, the name right after the kana. */
static void choose_columns(struct list *l)
{
	const struct field *name = widget_name_field(l->f);
	int name_done = 0;
	l->ncols = 0;
	for (size_t i = 0; i < l->f->nfields && l->ncols < MAX_COLS - 1; i++) {
		const struct field *fld = &l->f->fields[i];
		if (!fld->index)
			continue;
		l->cols[l->ncols++] = fld;
		if (name && strcmp(fld->index, "kana") == 0) {
			l->cols[l->ncols++] = name;
			name_done = 1;
		}
	}
	if (name && !name_done && l->ncols < MAX_COLS)
		l->cols[l->ncols++] = name;
}

/* --- words --- */

static const char *const status_ja[ST__COUNT] = { "下書き", "確定", "送信待ち", "送信済", "受理", "返戻" };

static const char *status_word(const struct ui *ui, int st)
{
	if (st < 0 || st >= ST__COUNT)
		return "?";
	return ui->ja ? status_ja[st] : rec_status_name((enum rec_status)st);
}

/* A status typed in either language, or -1 (the search line's words). */
static int parse_status_word(const char *w)
{
	enum rec_status st;
	for (int i = 0; i < ST__COUNT; i++)
		if (strcmp(w, status_ja[i]) == 0)
			return i;
	return rec_status_parse(w, &st) == 0 ? (int)st : -1;
}

/* --- finding ids: the indexes only (kana typed in either script) --- */

static void ids_union(uint64_t **acc, size_t *n, const uint64_t *add, size_t m)
{
	uint64_t *out = xmalloc((*n + m + 1) * sizeof(*out));
	size_t i = 0, j = 0, k = 0;
	while (i < *n || j < m) {
		uint64_t x;
		if (j >= m || (i < *n && (*acc)[i] < add[j]))
			x = (*acc)[i++];
		else if (i >= *n || add[j] < (*acc)[i])
			x = add[j++];
		else {
			x = add[j++];
			i++;
		}
		out[k++] = x;
	}
	free(*acc);
	*acc = out;
	*n = k;
}

/* Ids matching q, where kana (may be NULL) is matched in either script; a form without a kana
 * index is matched through the insured numbers of the records that have one (applicants,
 * opinions). */
static int find_ids(struct store_txn *t, const struct formset *fs, const struct store_query *q,
		    const char *kana, uint64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	if (!kana || !*kana)
		return store_find(t, q, ids, n);
	const struct form *f = formset_get(fs, q->form);
	struct strset vars = { 0 }, insured = { 0 };
	int rc = 0;
	if (f && widget_index_field(f, "kana")) {
		widget_kana_variants(kana, &vars);
		for (size_t i = 0; !rc && i < vars.n; i++) {
			struct store_query qq = *q;
			uint64_t *got;
			size_t m;
			qq.kana = vars.v[i];
			rc = store_find(t, &qq, &got, &m);
			if (!rc)
				ids_union(ids, n, got, m);
			if (!rc)
				free(got);
		}
		goto done;
	}
	rc = widget_kana_insured(t, fs, kana, &insured);
	for (size_t i = 0; !rc && i < insured.n; i++) {
		if (q->insured && *q->insured && strcmp(q->insured, insured.v[i]) != 0)
			continue;
		struct store_query qq = *q;
		uint64_t *got;
		size_t m;
		qq.insured = insured.v[i];
		rc = store_find(t, &qq, &got, &m);
		if (!rc) {
			ids_union(ids, n, got, m);
			free(got);
		}
	}
done:
	strset_free(&vars);
	strset_free(&insured);
	if (!rc && !*ids)
		*ids = xmalloc(sizeof(uint64_t));
	if (rc) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

/* --- the query --- */

struct query_ctx {
	struct list *l;
	const struct formset *fs;
	uint64_t *ids;
	size_t n;
};

static int query_txn(struct store_txn *t, void *vctx)
{
	struct query_ctx *c = vctx;
	struct list *l = c->l;
	const struct wfilter *fl = &l->filt;
	struct store_query q = { .form = l->f->id };
	q.status = fl->status >= 0 ? fl->status : l->status;
	q.insured = fl->insured ? fl->insured : l->insured;
	q.date_from = fl->from[0] ? fl->from : NULL;
	q.date_to = fl->to[0] ? fl->to : NULL;
	free(c->ids);
	c->ids = NULL;
	return find_ids(t, c->fs, &q, fl->kana, &c->ids, &c->n);
}

static void requery(struct view *v)
{
	struct list *l = v->priv;
	uint64_t keep = l->n && l->wl.sel < (int)l->n ? l->ids[l->wl.sel] : 0;
	struct query_ctx c = { l, v->ui->app->fs, NULL, 0 };
	int rc = store_read(v->ui->app->st, query_txn, &c);
	if (rc) {
		free(c.ids);
		ui_message(v->ui, 1, "%s", iken_strerror(rc));
		return;
	}
	free(l->ids);
	l->ids = c.ids;
	l->n = c.n;
	/* the selection follows its record; else stays at its place */
	for (size_t i = 0; keep && i < l->n; i++)
		if (l->ids[i] == keep) {
			l->wl.sel = (int)i;
			break;
		}
	wlist_clamp(&l->wl, l->n);
	l->dirty = 0;
}

static struct record *get_record(struct view *v, uint64_t id)
{
	struct record *r = NULL;
	if (store_get(v->ui->app->st, id, &r))
		return NULL;
	return r;
}

/* --- open / close --- */

static const enum action fk_applicant[] = {
	ACT_HELP, ACT_BACK, ACT_NEW, ACT_COPY_PREV, ACT_SEARCH, ACT_PAGE_PREV, ACT_PAGE_NEXT, ACT_NONE,
};
static const enum action fk_opinion[] = {
	ACT_HELP, ACT_BACK, ACT_NEW, ACT_COPY_PREV, ACT_SEARCH, ACT_PAGE_PREV, ACT_PAGE_NEXT,
	ACT_SEND, ACT_NONE,
};
static const enum action fk_document[] = {
	ACT_HELP, ACT_BACK, ACT_NEW, ACT_SEARCH, ACT_PAGE_PREV, ACT_PAGE_NEXT, ACT_SEND, ACT_NONE,
};
static const enum action fk_master[] = {
	ACT_HELP, ACT_BACK, ACT_NEW, ACT_SEARCH, ACT_PAGE_PREV, ACT_PAGE_NEXT, ACT_NONE,
};

static int list_open(struct view *v, void *arg);
static void list_draw(struct view *v, WINDOW *w);
static int list_key(struct view *v, enum action a, int is_key, wint_t ch);
static int list_tick(struct view *v);
static void list_close(struct view *v);
static const char *list_title(struct view *v);

/* The function-key bar belongs to the ops; each kind of list gets ops that differ only in it,
 * so the bar shows only the keys that work on that list. */
static const struct view_ops list_applicant_ops = VIEW_OPS("list", list, list_tick, fk_applicant);
static const struct view_ops list_document_ops = VIEW_OPS("list", list, list_tick, fk_document);
static const struct view_ops list_master_ops = VIEW_OPS("list", list, list_tick, fk_master);

static int is_applicant_list(const struct list *l)
{
	return strcmp(l->f->id, APPLICANT_FORM) == 0;
}

static int is_opinion_list(const struct list *l)
{
	return strcmp(l->f->id, OPINION_FORM) == 0;
}

static int list_open(struct view *v, void *arg)
{
	const struct list_arg *la = arg;
	struct ui *ui = v->ui;
	const struct form *f = la ? formset_get(ui->app->fs, la->form) : NULL;
	if (!f) {
		ui_message(ui, 1, "%s: %s", la && la->form ? la->form : "?",
			   _("no such form"));
		return IKEN_ENOTFOUND;
	}
	struct list *l = xcalloc(1, sizeof(*l));
	l->f = f;
	l->insured = la->insured && *la->insured ? xstrdup(la->insured) : NULL;
	l->status = la->status;
	l->filt.status = -1;
	l->dirty = 1;
	l->seen_poll = (int64_t)ui->last_poll;
	l->insured_fld = widget_index_field(f, "insured");
	l->date_fld = widget_index_field(f, "date");
	choose_columns(l);
	v->priv = l;
	if (is_applicant_list(l))
		v->ops = &list_applicant_ops;
	else if (is_opinion_list(l))
		v->ops = &list_view_ops;
	else if (f->kind == FORM_DOCUMENT)
		v->ops = &list_document_ops;
	else
		v->ops = &list_master_ops;
	requery(v);
	return 0;
}

static void list_close(struct view *v)
{
	struct list *l = v->priv;
	free(l->insured);
	wfilter_clear(&l->filt);
	free(l->ids);
	free(l);
}

static const char *list_title(struct view *v)
{
	struct list *l = v->priv;
	static char buf[160];
	const char *t = v->ui->ja ? l->f->title : l->f->title_en;
	snprintf(buf, sizeof(buf), _("%s list"), t);
	return buf;
}

/* --- drawing --- */

static int page_rows(WINDOW *w)
{
	return wlist_page(w, 3); /* summary, header, help line */
}

/* What the rows of one paint share: the records on screen and the column widths. */
struct paint {
	struct ui *ui;
	const struct list *l;
	struct record **recs;          /* the rows on screen, from l->wl.top */
	int idw, stw;
	int width[MAX_COLS];
};

static enum draw_role row_role(void *ctx, size_t i)
{
	const struct paint *p = ctx;
	const struct record *r = p->recs[i - (size_t)p->l->wl.top];
	return r && r->status == ST_REJECTED ? DR_ERROR : DR_NORMAL;
}

static void draw_row(void *ctx, WINDOW *w, int y, size_t i)
{
	const struct paint *p = ctx;
	const struct list *l = p->l;
	const struct record *r = p->recs[i - (size_t)l->wl.top];
	int cols = getmaxx(w), x = 1;
	draw_textf(w, y, x, p->idw, "%*llu", p->idw, (unsigned long long)l->ids[i]);
	x += p->idw + 1;
	if (!r) {
		draw_text(w, y, x, "?", p->stw, 0);
		return;
	}
	draw_text(w, y, x, status_word(p->ui, (int)r->status), p->stw, 0);
	x += p->stw + 1;
	struct sbuf s = { 0 };
	for (size_t k = 0; k < l->ncols && x < cols; k++) {
		widget_show_value(p->ui->ja, l->cols[k], rec_val(r, l->cols[k]->id), &s);
		int cw = p->width[k] < cols - x ? p->width[k] : cols - x;
		if (l->cols[k]->type == FT_DIGITS || l->cols[k]->type == FT_YEN) {
			/* numbers right-aligned in their column */
			int vw = utf8_width(s.s ? s.s : "");
			draw_text(w, y, x + (vw < cw ? cw - vw : 0), s.s, cw, 0);
		} else {
			draw_text(w, y, x, s.s, cw, 0);
		}
		sbuf_reset(&s);
		x += p->width[k] + 1;
	}
	sbuf_free(&s);
}

/* Column widths: fixed kinds by their header and value, names by what is on screen. */
static void column_widths(struct paint *p, size_t count, int cols)
{
	const struct list *l = p->l;
	struct ui *ui = p->ui;
	struct sbuf s = { 0 };
	int *width = p->width, flex[MAX_COLS] = { 0 }, used = 1 + p->idw + 1 + p->stw + 1;
	for (size_t k = 0; k < l->ncols; k++) {
		const struct field *fld = l->cols[k];
		int hw = utf8_width(ui->ja ? fld->label : fld->label_en);
		int dw = 0;
		for (size_t i = 0; i < count; i++) {
			if (!p->recs[i])
				continue;
			widget_show_value(ui->ja, fld, rec_val(p->recs[i], fld->id), &s);
			int vw = utf8_width(s.s ? s.s : "");
			if (vw > dw)
				dw = vw;
			sbuf_reset(&s);
		}
		flex[k] = fld->type == FT_TEXT || fld->type == FT_KANA || fld->type == FT_TEXTAREA;
		if (fld->type == FT_DIGITS && fld->length > dw)
			dw = fld->length;
		if (fld->type == FT_DATE && dw < 9)
			dw = 9;
		if (flex[k]) {
			/* a name column is as wide as the names; its header may be clipped */
			width[k] = dw > (hw < 8 ? hw : 8) ? dw : (hw < 8 ? hw : 8);
		} else {
			/* a long header does not widen a column of short values by much */
			int hcap = hw < dw + 4 ? hw : dw + 4;
			width[k] = dw > hcap ? dw : hcap;
			used += width[k] + 1;
		}
	}
	sbuf_free(&s);
	/* names share what is left; the last column takes the rest */
	int left = cols - used, nflex = 0, want = 0;
	for (size_t k = 0; k < l->ncols; k++)
		if (flex[k]) {
			nflex++;
			want += width[k] + 1;
		}
	/* too narrow: the widest name column gives way first (the kana before the name) */
	while (nflex && want > left) {
		size_t widest = 0;
		int ww = 0;
		for (size_t k = 0; k < l->ncols; k++)
			if (flex[k] && width[k] > ww) {
				ww = width[k];
				widest = k;
			}
		if (ww <= 4)
			break;
		width[widest]--;
		want--;
	}
	/* the last column takes what is left */
	if (l->ncols && flex[l->ncols - 1]) {
		int x_last = used;
		for (size_t k = 0; k + 1 < l->ncols; k++)
			if (flex[k])
				x_last += width[k] + 1;
		if (cols - x_last - 1 > width[l->ncols - 1])
			width[l->ncols - 1] = cols - x_last - 1;
	}
}

static void list_draw(struct view *v, WINDOW *w)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w);
	if (l->dirty)
		requery(v);
	size_t count = wlist_scroll(&l->wl, l->n, page_rows(w));
	size_t first = (size_t)l->wl.top;

	/* only the records on screen are read */
	const uint64_t *ids = l->ids + (first < l->n ? first : 0);
	struct record **recs = widget_records(ui->app->st, ids, count);

	/* summary line */
	struct sbuf s = { 0 };
	sbuf_printf(&s, _("%zu record(s)"), l->n);
	if (l->insured)
		sbuf_printf(&s, _("  insured number %s"), l->insured);
	if (l->status >= 0)
		sbuf_printf(&s, "  [%s]", status_word(ui, l->status));
	if (l->filt.text)
		sbuf_printf(&s, _("  filter: %s"), l->filt.text);
	wattrset(w, draw_attr(DR_TITLE));
	draw_text(w, 0, 1, s.s, cols - 14, 0);
	wattrset(w, A_NORMAL);
	if (l->n)
		draw_textf(w, 0, cols - 13, 12, "%*d/%zu", 5, l->wl.sel + 1, l->n);
	sbuf_reset(&s);

	struct paint p = { ui, l, recs, 6, 0, { 0 } };
	for (int st = 0; st < ST__COUNT; st++) {
		int sw = utf8_width(status_word(ui, st));
		if (sw > p.stw)
			p.stw = sw;
	}
	column_widths(&p, count, cols);

	/* header */
	wattrset(w, draw_attr(DR_LABEL) | (int)A_UNDERLINE);
	draw_text(w, 1, 0, "", cols, 1);
	int x = 1;
	draw_textf(w, 1, x, p.idw, "%*s", p.idw, "ID");
	x += p.idw + 1;
	draw_text(w, 1, x, _("Status"), p.stw, 1);
	x += p.stw + 1;
	for (size_t k = 0; k < l->ncols && x < cols; k++) {
		const struct field *fld = l->cols[k];
		draw_text(w, 1, x, ui->ja ? fld->label : fld->label_en, p.width[k] < cols - x ? p.width[k] : cols - x, 1);
		x += p.width[k] + 1;
	}
	wattrset(w, A_NORMAL);

	if (!l->n)
		wlist_empty(w, _("no matching records"));
	struct wlist_rows rows_fn = { row_role, draw_row, &p };
	wlist_draw(&l->wl, w, 2, count, &rows_fn);
	widget_records_free(recs, count);

	/* keys that are not function keys */
	if (is_applicant_list(l))
		sbuf_puts(&s, _("Enter open   o this applicant's opinions   F4 copy the previous opinion"));
	else if (is_opinion_list(l))
		sbuf_puts(&s, _("Enter open   i new invoice for this opinion   F10 send the selected document"));
	else if (l->f->kind == FORM_DOCUMENT)
		sbuf_puts(&s, _("Enter open   F10 send the selected document"));
	else
		sbuf_puts(&s, _("Enter open"));
	widget_keys_line(w, s.s);
	sbuf_free(&s);
	v->cursor_y = -1;
}

/* --- the filter --- */

static int do_search(struct view *v)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	struct sbuf h = { 0 };
	const struct field *df = l->date_fld;
	sbuf_printf(&h, _("insured number (10 digits)  kana prefix  %s R8.1.1..R8.3.31  status (draft final queued published accepted rejected)  empty: clear"),
		    df ? (ui->ja ? df->label : df->label_en) : _("date"));
	widget_hint(ui->body, h.s);
	sbuf_free(&h);
	char *text = ui_prompt(ui, _("Search:"), l->filt.text ? l->filt.text : "");
	if (!text)
		return UI_REDRAW;
	char *bad = NULL;
	if (wfilter_parse(&l->filt, text, parse_status_word, &bad)) {
		ui_message(ui, 1, _("cannot read '%s': give an insured number (10 digits), a kana prefix, a date (R8.4.1, R8.1.1..R8.3.31) or a status"),
			   bad);
		free(bad);
	} else if (!df && (l->filt.from[0] || l->filt.to[0])) {
		ui_message(ui, 1, "%s", _("this list has no date to filter by"));
		wfilter_clear(&l->filt);
	}
	free(text);
	l->wl.sel = l->wl.top = 0;
	l->dirty = 1;
	return UI_REDRAW;
}

/* --- actions on records --- */

static struct record *selected_record(struct view *v)
{
	struct list *l = v->priv;
	if (!l->n || l->wl.sel >= (int)l->n)
		return NULL;
	return get_record(v, l->ids[l->wl.sel]);
}

/* The insured number to act on: the list's applicant, else asked (the selected row's offered). */
static char *ask_insured(struct view *v, const char *question)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	if (l->insured)
		return xstrdup(l->insured);
	struct record *r = selected_record(v);
	char *init = xstrdup(r && l->insured_fld ? rec_val(r, l->insured_fld->id) : "");
	rec_free(r);
	char *ans = ui_prompt(ui, question, init);
	free(init);
	if (!ans)
		return NULL;
	size_t len = strlen(ans);
	if (len != 10 || strspn(ans, "0123456789") != len) {
		ui_message(ui, 1, _("an insured number is 10 digits: %s"), ans);
		free(ans);
		return NULL;
	}
	return ans;
}

struct lookup_ctx {
	const struct form *f;       /* the applicant form, or the opinion form */
	const char *insured;
	struct record *out;
};

static int applicant_txn(struct store_txn *t, void *vctx)
{
	struct lookup_ctx *c = vctx;
	uint64_t id;
	rec_free(c->out);
	c->out = NULL;
	int rc = docio_find_key(t, c->f, c->insured, &id);
	return rc ? rc : store_rec_get(t, id, &c->out);
}

/* The latest opinion of an applicant (docops decides which is the latest). */
static int latest_txn(struct store_txn *t, void *vctx)
{
	struct lookup_ctx *c = vctx;
	rec_free(c->out);
	c->out = NULL;
	return docops_latest_txn(t, c->f, c->insured, &c->out);
}

static int push_form(struct view *v, const struct form *f, uint64_t id, struct record *init)
{
	struct list *l = v->priv;
	struct form_arg fa = { f->id, id, init, NULL };
	l->dirty = 1; /* re-read when the form is closed */
	if (ui_push(v->ui, &form_view_ops, &fa)) {
		rec_free(init);
		return UI_REDRAW;
	}
	return UI_ALL;
}

static int new_opinion(struct view *v, const struct form *of)
{
	struct ui *ui = v->ui;
	const struct form *af = formset_get(ui->app->fs, APPLICANT_FORM);
	char *ins = ask_insured(v, _("New opinion, insured number:"));
	if (!ins || !af) {
		free(ins);
		return UI_REDRAW;
	}
	struct lookup_ctx c = { af, ins, NULL };
	int rc = store_read(ui->app->st, applicant_txn, &c);
	if (rc) {
		ui_message(ui, 1, _("no applicant with insured number %s (register the applicant first)"),
			   ins);
		free(ins);
		return UI_REDRAW;
	}
	free(ins);
	struct record *r = docops_new(ui->app, of, ui->user, c.out);
	rec_free(c.out);
	return push_form(v, of, 0, r);
}

static int new_invoice_from(struct view *v, const struct record *opinion)
{
	struct ui *ui = v->ui;
	const struct form *inv = formset_get(ui->app->fs, INVOICE_FORM);
	if (!inv)
		return UI_REDRAW;
	struct record *r = docops_new(ui->app, inv, ui->user, opinion);
	return push_form(v, inv, 0, r);
}

static int new_invoice(struct view *v)
{
	struct ui *ui = v->ui;
	const struct form *of = formset_get(ui->app->fs, OPINION_FORM);
	char *ins = ask_insured(v, _("Invoice, insured number:"));
	if (!ins || !of) {
		free(ins);
		return UI_REDRAW;
	}
	struct lookup_ctx c = { of, ins, NULL };
	int rc = store_read(ui->app->st, latest_txn, &c);
	if (rc) {
		ui_message(ui, 1, _("no opinion for insured number %s"), ins);
		free(ins);
		return UI_REDRAW;
	}
	free(ins);
	int flags = new_invoice_from(v, c.out);
	rec_free(c.out);
	return flags;
}

static int do_new(struct view *v)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	if (widget_prefills_from(l->f, "applicant"))
		return new_opinion(v, l->f);
	if (widget_prefills_from(l->f, "opinion"))
		return new_invoice(v);
	return push_form(v, l->f, 0, docops_new(ui->app, l->f, ui->user, NULL));
}

static int do_copy_previous(struct view *v)
{
	struct ui *ui = v->ui;
	struct list *l = v->priv;
	const struct form *of = formset_get(ui->app->fs, OPINION_FORM);
	/* the selected row's applicant; asked only when the list is empty */
	struct record *sel = selected_record(v);
	char *ins = NULL;
	if (sel && l->insured_fld && *rec_val(sel, l->insured_fld->id))
		ins = xstrdup(rec_val(sel, l->insured_fld->id));
	else
		ins = ask_insured(v, _("Insured number to copy from:"));
	rec_free(sel);
	if (!ins || !of) {
		free(ins);
		return UI_REDRAW;
	}
	struct record *r = NULL;
	int rc = docops_copy_previous(ui->app, ins, ui->user, &r);
	if (rc == IKEN_ENOTFOUND) {
		ui_message(ui, 1, _("no previous opinion for insured number %s"), ins);
	} else if (rc) {
		ui_message(ui, 1, "%s", iken_strerror(rc));
	}
	free(ins);
	if (rc)
		return UI_REDRAW;
	ui_message(ui, 0, "%s", _("the previous opinion was copied; check the dates and the doctor"));
	return push_form(v, of, 0, r);
}

/* Sends the selected document: finalizes it when needed (the checks run; opinions need a
 * doctor), queues and publishes it. The report goes to the message line. */
static int do_send(struct view *v)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	if (!l->n)
		return UI_REDRAW;
	uint64_t id = l->ids[l->wl.sel];
	if (!widget_confirmf(ui, _("finalize and send document %llu?"), (unsigned long long)id))
		return UI_REDRAW;
	struct sbuf report = { 0 };
	int rc = ui_send(ui, &id, 1, &report);
	/* the report has one line per document and problem: shown on one line */
	for (size_t i = 0; report.s && i < report.len; i++)
		if (report.s[i] == '\n')
			report.s[i] = i + 1 < report.len ? ' ' : '\0';
	ui_message(ui, rc != 0, "%s", report.s ? report.s : iken_strerror(rc));
	sbuf_free(&report);
	ui->counts_changed = 1;
	l->dirty = 1;
	return UI_ALL;
}

static int open_selected(struct view *v)
{
	struct list *l = v->priv;
	if (!l->n)
		return UI_REDRAW;
	return push_form(v, l->f, l->ids[l->wl.sel], NULL);
}

static int open_opinions(struct view *v)
{
	struct ui *ui = v->ui;
	struct list *l = v->priv;
	struct record *r = selected_record(v);
	if (!r || !l->insured_fld)
		return UI_REDRAW;
	struct list_arg la = { OPINION_FORM, rec_val(r, l->insured_fld->id), -1 };
	int rc = ui_push(ui, &list_view_ops, &la);
	rec_free(r);
	l->dirty = 1;
	return rc ? UI_REDRAW : UI_ALL;
}

/* A page key turns the whole page, the selection keeping its line (the send queue and the
 * results move only the selection). */
static int turn_page(struct list *l, enum action a, int page)
{
	struct wlist *wl = &l->wl;
	if (a == ACT_PAGE_PREV) {
		wl->sel -= page;
		wl->top -= page;
		if (wl->sel < 0)
			wl->sel = 0;
		if (wl->top < 0)
			wl->top = 0;
		return UI_REDRAW;
	}
	if (l->n && wl->top + page < (int)l->n) {
		wl->top += page;
		wl->sel += page;
	} else if (l->n) {
		wl->sel = (int)l->n - 1;
	}
	wlist_clamp(wl, l->n);
	return UI_REDRAW;
}

static int list_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	int page = page_rows(ui->body);
	if (widget_is_enter(is_key, ch) || a == ACT_OPEN)
		return open_selected(v);
	if (a == ACT_PAGE_PREV || a == ACT_PAGE_NEXT)
		return turn_page(l, a, page);
	int flags = widget_screen_key(ui, a, is_key, ch);
	if (!flags)
		flags = wlist_key(&l->wl, a, l->n, page);
	if (flags)
		return flags;
	switch (a) {
	case ACT_SEARCH:
		return do_search(v);
	case ACT_NEW:
		return do_new(v);
	case ACT_COPY_PREV:
		if (is_applicant_list(l) || is_opinion_list(l))
			return do_copy_previous(v);
		return UI_OK;
	case ACT_SEND:
		if (l->f->kind == FORM_DOCUMENT)
			return do_send(v);
		return UI_OK;
	default:
		break;
	}
	if (!is_key && (ch == 'o' || ch == 'O') && is_applicant_list(l))
		return open_opinions(v);
	if (!is_key && (ch == 'i' || ch == 'I') && is_opinion_list(l)) {
		struct record *r = selected_record(v);
		if (!r)
			return UI_REDRAW;
		flags = new_invoice_from(v, r);
		rec_free(r);
		return flags;
	}
	return UI_OK;
}

/* Results imported by the loop change statuses: re-read once per poll that brought something. */
static int list_tick(struct view *v)
{
	struct list *l = v->priv;
	if (widget_poll_news(v->ui, &l->seen_poll)) {
		l->dirty = 1;
		return UI_REDRAW;
	}
	return UI_OK;
}

const struct view_ops list_view_ops = VIEW_OPS("list", list, list_tick, fk_opinion);
