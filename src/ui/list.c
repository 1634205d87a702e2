/* Lists of records: applicants, opinions and invoices, overall or for one applicant. The rows
 * come from the store's indexes (store_find); only the records on screen are read, so a list of
 * thousands stays quick. Columns are the form's indexed fields and the person's name. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "charset.h"
#include "docio.h"
#include "docops.h"
#include "errcode.h"
#include "outbox.h"
#include "wareki.h"

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
	char *filter;                  /* as typed, for the summary and the next prompt */
	char *f_insured, *f_kana;
	char f_from[9], f_to[9];
	int f_status;
	uint64_t *ids;
	size_t n;
	int sel, top;
	int dirty;
	int64_t seen_poll;
	const struct field *cols[MAX_COLS];
	size_t ncols;
	const struct field *insured_fld, *date_fld;
};

/* --- which form is which: from the prefill sources, not from items --- */

static int prefills_from(const struct form *f, const char *source)
{
	size_t l = strlen(source);
	for (size_t i = 0; i < f->nfields; i++) {
		const char *p = f->fields[i].prefill;
		if (p && strncmp(p, source, l) == 0 && p[l] == '.')
			return 1;
	}
	return 0;
}

static const struct field *index_field(const struct form *f, const char *kind)
{
	for (size_t i = 0; i < f->nfields; i++)
		if (f->fields[i].index && strcmp(f->fields[i].index, kind) == 0)
			return &f->fields[i];
	return NULL;
}

/* The person's name: the first text field after the kana (else insured) index field. */
static const struct field *name_field(const struct form *f)
{
	const struct field *after = index_field(f, "kana");
	if (!after)
		after = index_field(f, "insured");
	for (size_t i = after ? (size_t)(after - f->fields) + 1 : 0; i < f->nfields; i++)
		if (f->fields[i].type == FT_TEXT && !f->fields[i].fill)
			return &f->fields[i];
	return NULL;
}

/* Columns: the indexed fields in layout order, the name right after the kana. */
static void choose_columns(struct list *l)
{
	const struct field *name = name_field(l->f);
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

static const char *status_word(const struct ui *ui, int st)
{
	static const char *const ja[ST__COUNT] = { "下書き", "確定", "送信待ち", "送信済", "受理", "返戻" };
	if (st < 0 || st >= ST__COUNT)
		return "?";
	return ui->ja ? ja[st] : rec_status_name((enum rec_status)st);
}

static int parse_status_word(const char *w, int *out)
{
	static const char *const ja[ST__COUNT] = { "下書き", "確定", "送信待ち", "送信済", "受理", "返戻" };
	enum rec_status st;
	for (int i = 0; i < ST__COUNT; i++)
		if (strcmp(w, ja[i]) == 0) {
			*out = i;
			return 0;
		}
	if (rec_status_parse(w, &st) == 0) {
		*out = (int)st;
		return 0;
	}
	return -1;
}

/* A value as shown in a column: dates in 和暦, codes with their label. */
static void show_value(const struct ui *ui, const struct field *fld, const char *v, struct sbuf *out)
{
	char w[WAREKI_BUFSZ];
	if ((fld->type == FT_DATE || fld->type == FT_PDATE) && *v &&
	    wareki_format(v, WAREKI_SHORT, w, sizeof(w)) == 0) {
		sbuf_puts(out, w);
		return;
	}
	if (fld->type == FT_CODE && fld->codes) {
		const struct code *c = codelist_find(fld->codes, v);
		if (c) {
			sbuf_puts(out, ui->ja ? c->label : c->label_en);
			return;
		}
	}
	sbuf_puts(out, v);
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

/* Hiragana ↔ katakana: stored names use either, staff type either. */
static char *kana_shift(const char *s, int to_kata)
{
	struct sbuf b = { 0 };
	const char *p = s, *end = s + strlen(s);
	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		if (cp < 0)
			continue;
		if (to_kata && cp >= 0x3041 && cp <= 0x3096)
			cp += 0x60;
		else if (!to_kata && cp >= 0x30A1 && cp <= 0x30F6)
			cp -= 0x60;
		utf8_put(&b, (uint32_t)cp);
	}
	if (!b.s)
		sbuf_puts(&b, "");
	return sbuf_take(&b);
}

struct strset {
	size_t n;
	char **v;
};

static void strset_add(struct strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = xstrdup(x);
}

static void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->n = 0;
	s->v = NULL;
}

/* The spellings of a kana prefix to look up: as typed, in katakana, in hiragana. */
static void kana_variants(const char *kana, struct strset *out)
{
	char *k = kana_shift(kana, 1), *h = kana_shift(kana, 0);
	strset_add(out, kana);
	strset_add(out, k);
	strset_add(out, h);
	free(k);
	free(h);
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
	kana_variants(kana, &vars);
	if (f && index_field(f, "kana")) {
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
	for (size_t fi = 0; !rc && fi < fs->nforms; fi++) {
		const struct form *o = fs->forms[fi];
		const struct field *ins = index_field(o, "insured");
		if (!ins || !index_field(o, "kana"))
			continue;
		for (size_t i = 0; !rc && i < vars.n; i++) {
			struct store_query kq = { .form = o->id, .status = -1, .kana = vars.v[i] };
			uint64_t *got = NULL;
			size_t m = 0;
			rc = store_find(t, &kq, &got, &m);
			for (size_t j = 0; !rc && j < m; j++) {
				struct record *r;
				if (store_rec_get(t, got[j], &r) == 0) {
					if (*rec_val(r, ins->id))
						strset_add(&insured, rec_val(r, ins->id));
					rec_free(r);
				}
			}
			free(got);
		}
	}
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
	struct store_query q = { .form = l->f->id, .status = l->f_status >= 0 ? l->f_status : l->status };
	q.insured = l->f_insured ? l->f_insured : l->insured;
	q.date_from = l->f_from[0] ? l->f_from : NULL;
	q.date_to = l->f_to[0] ? l->f_to : NULL;
	free(c->ids);
	c->ids = NULL;
	return find_ids(t, c->fs, &q, l->f_kana, &c->ids, &c->n);
}

static void requery(struct view *v)
{
	struct list *l = v->priv;
	uint64_t keep = l->n && l->sel < (int)l->n ? l->ids[l->sel] : 0;
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
			l->sel = (int)i;
			break;
		}
	if (l->sel >= (int)l->n)
		l->sel = l->n ? (int)l->n - 1 : 0;
	l->dirty = 0;
}

/* Records on screen, read in one transaction. */
struct rows_ctx {
	const uint64_t *ids;
	size_t n;
	struct record **recs;
};

static int rows_txn(struct store_txn *t, void *vctx)
{
	struct rows_ctx *c = vctx;
	for (size_t i = 0; i < c->n; i++) {
		rec_free(c->recs[i]);
		c->recs[i] = NULL;
		if (store_rec_get(t, c->ids[i], &c->recs[i]))
			c->recs[i] = NULL;
	}
	return 0;
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
static const struct view_ops list_applicant_ops = {
	"list", list_open, list_draw, list_key, list_tick, list_close, list_title, fk_applicant,
};
static const struct view_ops list_document_ops = {
	"list", list_open, list_draw, list_key, list_tick, list_close, list_title, fk_document,
};
static const struct view_ops list_master_ops = {
	"list", list_open, list_draw, list_key, list_tick, list_close, list_title, fk_master,
};

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
			   UI_T(ui, "その様式はありません", "no such form"));
		return IKEN_ENOTFOUND;
	}
	struct list *l = xcalloc(1, sizeof(*l));
	l->f = f;
	l->insured = la->insured && *la->insured ? xstrdup(la->insured) : NULL;
	l->status = la->status;
	l->f_status = -1;
	l->dirty = 1;
	l->seen_poll = (int64_t)ui->last_poll;
	l->insured_fld = index_field(f, "insured");
	l->date_fld = index_field(f, "date");
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
	free(l->filter);
	free(l->f_insured);
	free(l->f_kana);
	free(l->ids);
	free(l);
}

static const char *list_title(struct view *v)
{
	struct list *l = v->priv;
	static char buf[160];
	const char *t = v->ui->ja ? l->f->title : l->f->title_en;
	snprintf(buf, sizeof(buf), UI_T(v->ui, "%s一覧", "%s list"), t);
	return buf;
}

/* --- drawing --- */

static int page_rows(WINDOW *w)
{
	int h = getmaxy(w) - 3; /* summary, header, help line */
	return h < 1 ? 1 : h;
}

static void scroll_to_sel(struct list *l, int page)
{
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + page)
		l->top = l->sel - page + 1;
	if (l->top < 0)
		l->top = 0;
}

static void list_draw(struct view *v, WINDOW *w)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w), rows = getmaxy(w);
	int page = page_rows(w);
	if (l->dirty)
		requery(v);
	scroll_to_sel(l, page);

	/* the records on screen */
	size_t first = (size_t)l->top, count = 0;
	if (first < l->n)
		count = l->n - first < (size_t)page ? l->n - first : (size_t)page;
	struct rows_ctx rc = { l->ids + (first < l->n ? first : 0), count, NULL };
	rc.recs = xcalloc(count + 1, sizeof(*rc.recs));
	if (count)
		store_read(ui->app->st, rows_txn, &rc);

	/* summary line */
	struct sbuf s = { 0 };
	sbuf_printf(&s, UI_T(ui, "%zu 件", "%zu record(s)"), l->n);
	if (l->insured)
		sbuf_printf(&s, UI_T(ui, "  被保険者番号 %s", "  insured number %s"), l->insured);
	if (l->status >= 0)
		sbuf_printf(&s, "  [%s]", status_word(ui, l->status));
	if (l->filter && *l->filter)
		sbuf_printf(&s, UI_T(ui, "  絞り込み: %s", "  filter: %s"), l->filter);
	wattrset(w, draw_attr(DR_TITLE));
	draw_text(w, 0, 1, s.s, cols - 14, 0);
	wattrset(w, A_NORMAL);
	if (l->n)
		draw_textf(w, 0, cols - 13, 12, "%*d/%zu", 5, l->sel + 1, l->n);
	sbuf_reset(&s);

	/* column widths: fixed kinds by their header and value, names by what is on screen */
	static const int idw = 6;
	int stw = 0;
	for (int st = 0; st < ST__COUNT; st++) {
		int sw = utf8_width(status_word(ui, st));
		if (sw > stw)
			stw = sw;
	}
	int width[MAX_COLS] = { 0 }, flex[MAX_COLS] = { 0 }, used = 1 + idw + 1 + stw + 1;
	for (size_t k = 0; k < l->ncols; k++) {
		const struct field *fld = l->cols[k];
		int hw = utf8_width(ui->ja ? fld->label : fld->label_en);
		int dw = 0;
		for (size_t i = 0; i < count; i++) {
			if (!rc.recs[i])
				continue;
			show_value(ui, fld, rec_val(rc.recs[i], fld->id), &s);
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

	/* header */
	wattrset(w, draw_attr(DR_LABEL) | (int)A_UNDERLINE);
	draw_text(w, 1, 0, "", cols, 1);
	int x = 1;
	draw_textf(w, 1, x, idw, "%*s", idw, "ID");
	x += idw + 1;
	draw_text(w, 1, x, UI_T(ui, "状態", "Status"), stw, 1);
	x += stw + 1;
	for (size_t k = 0; k < l->ncols && x < cols; k++) {
		const struct field *fld = l->cols[k];
		draw_text(w, 1, x, ui->ja ? fld->label : fld->label_en, width[k] < cols - x ? width[k] : cols - x, 1);
		x += width[k] + 1;
	}
	wattrset(w, A_NORMAL);

	/* rows */
	if (!l->n) {
		wattrset(w, draw_attr(DR_DIM));
		draw_text(w, 3, 2, UI_T(ui, "該当する記録はありません", "no matching records"), cols - 4, 0);
		wattrset(w, A_NORMAL);
	}
	for (size_t i = 0; i < count; i++) {
		int y = 2 + (int)i;
		int selected = (int)(first + i) == l->sel;
		const struct record *r = rc.recs[i];
		wattrset(w, selected ? draw_attr(DR_SELECT) : r && r->status == ST_REJECTED ? draw_attr(DR_ERROR) : draw_attr(DR_NORMAL));
		if (selected)
			draw_text(w, y, 0, "", cols, 1);
		x = 1;
		draw_textf(w, y, x, idw, "%*llu", idw, (unsigned long long)l->ids[first + i]);
		x += idw + 1;
		if (!r) {
			draw_text(w, y, x, "?", stw, 0);
			continue;
		}
		draw_text(w, y, x, status_word(ui, (int)r->status), stw, 0);
		x += stw + 1;
		for (size_t k = 0; k < l->ncols && x < cols; k++) {
			show_value(ui, l->cols[k], rec_val(r, l->cols[k]->id), &s);
			int cw = width[k] < cols - x ? width[k] : cols - x;
			if (l->cols[k]->type == FT_DIGITS || l->cols[k]->type == FT_YEN) {
				/* numbers right-aligned in their column */
				int vw = utf8_width(s.s ? s.s : "");
				draw_text(w, y, x + (vw < cw ? cw - vw : 0), s.s, cw, 0);
			} else {
				draw_text(w, y, x, s.s, cw, 0);
			}
			sbuf_reset(&s);
			x += width[k] + 1;
		}
	}
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < count; i++)
		rec_free(rc.recs[i]);
	free(rc.recs);

	/* keys that are not function keys */
	if (is_applicant_list(l))
		sbuf_puts(&s, UI_T(ui, "Enter 開く   o この申請者の意見書   F4 前回の意見書をコピー",
				   "Enter open   o this applicant's opinions   F4 copy the previous opinion"));
	else if (is_opinion_list(l))
		sbuf_puts(&s, UI_T(ui, "Enter 開く   i この意見書の請求書を作成   F10 選んだ文書を送信",
				   "Enter open   i new invoice for this opinion   F10 send the selected document"));
	else if (l->f->kind == FORM_DOCUMENT)
		sbuf_puts(&s, UI_T(ui, "Enter 開く   F10 選んだ文書を送信", "Enter open   F10 send the selected document"));
	else
		sbuf_puts(&s, UI_T(ui, "Enter 開く", "Enter open"));
	wattrset(w, draw_attr(DR_DIM));
	draw_text(w, rows - 1, 1, s.s, cols - 2, 0);
	wattrset(w, A_NORMAL);
	sbuf_free(&s);
	v->cursor_y = -1;
}

/* --- the filter --- */

static void clear_filter(struct list *l)
{
	free(l->filter);
	free(l->f_insured);
	free(l->f_kana);
	l->filter = l->f_insured = l->f_kana = NULL;
	l->f_from[0] = l->f_to[0] = '\0';
	l->f_status = -1;
}

/* Words separated by ASCII spaces (a kana name holds a full-width space): an insured number (10
 * digits), a status word, a date or FROM..TO (和暦 or Gregorian), a kana prefix. Returns 0, or -1
 * with the word that could not be read in *bad. */
static int parse_filter(struct list *l, const char *text, char **bad)
{
	char today[9];
	iken_ymd(iken_now(), today);
	clear_filter(l);
	char *copy = xstrdup(text);
	int rc = 0;
	for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(tok);
		const char *dots = strstr(tok, "..");
		int st;
		if (len == 10 && strspn(tok, "0123456789") == len) {
			free(l->f_insured);
			l->f_insured = xstrdup(tok);
		} else if (parse_status_word(tok, &st) == 0) {
			l->f_status = st;
		} else if (dots) {
			char *from = xstrndup(tok, (size_t)(dots - tok));
			int bad_date = (*from && wareki_parse(from, today, l->f_from)) ||
				       (dots[2] && wareki_parse(dots + 2, today, l->f_to));
			if (!*from)
				l->f_from[0] = '\0';
			if (!dots[2])
				l->f_to[0] = '\0';
			free(from);
			if (bad_date) {
				rc = -1;
				*bad = xstrdup(tok);
				break;
			}
		} else if (charset_is_kana(tok)) {
			free(l->f_kana);
			l->f_kana = xstrdup(tok);
		} else if (wareki_parse(tok, today, l->f_from) == 0) {
			memcpy(l->f_to, l->f_from, sizeof(l->f_to));
		} else {
			rc = -1;
			*bad = xstrdup(tok);
			break;
		}
	}
	free(copy);
	if (rc)
		clear_filter(l);
	else
		l->filter = xstrdup(text);
	return rc;
}

/* Shows a hint on the body's last line while the message line asks. */
static void hint(struct view *v, const char *text)
{
	WINDOW *w = v->ui->body;
	int rows = getmaxy(w), cols = getmaxx(w);
	wmove(w, rows - 1, 0);
	wclrtoeol(w);
	wattrset(w, draw_attr(DR_WARN));
	draw_text(w, rows - 1, 1, text, cols - 2, 0);
	wattrset(w, A_NORMAL);
	wnoutrefresh(w);
}

static int do_search(struct view *v)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	struct sbuf h = { 0 };
	const struct field *df = l->date_fld;
	sbuf_printf(&h, UI_T(ui, "被保険者番号(10桁)  ふりがなの先頭  %s R8.1.1..R8.3.31  状態(下書き 確定 送信待ち 送信済 受理 返戻)  空欄で解除",
			     "insured number (10 digits)  kana prefix  %s R8.1.1..R8.3.31  status (draft final queued published accepted rejected)  empty: clear"),
		    df ? (ui->ja ? df->label : df->label_en) : UI_T(ui, "日付", "date"));
	hint(v, h.s);
	sbuf_free(&h);
	char *text = ui_prompt(ui, UI_T(ui, "検索:", "Search:"), l->filter ? l->filter : "");
	if (!text)
		return UI_REDRAW;
	char *bad = NULL;
	if (parse_filter(l, text, &bad)) {
		ui_message(ui, 1, UI_T(ui, "「%s」は読めません: 被保険者番号(10桁)、ふりがな、日付 (R8.4.1 や R8.1.1..R8.3.31)、状態のいずれかを入れてください",
				       "cannot read '%s': give an insured number (10 digits), a kana prefix, a date (R8.4.1, R8.1.1..R8.3.31) or a status"),
			   bad);
		free(bad);
	} else if (!df && (l->f_from[0] || l->f_to[0])) {
		ui_message(ui, 1, "%s", UI_T(ui, "この一覧は日付で絞り込めません", "this list has no date to filter by"));
		clear_filter(l);
	}
	free(text);
	l->sel = l->top = 0;
	l->dirty = 1;
	return UI_REDRAW;
}

/* --- actions on records --- */

static struct record *selected_record(struct view *v)
{
	struct list *l = v->priv;
	if (!l->n || l->sel >= (int)l->n)
		return NULL;
	return get_record(v, l->ids[l->sel]);
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
		ui_message(ui, 1, UI_T(ui, "被保険者番号は10桁の数字です: %s", "an insured number is 10 digits: %s"), ans);
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

/* The latest opinion of an applicant: latest date (written), then the highest id. */
static int latest_txn(struct store_txn *t, void *vctx)
{
	struct lookup_ctx *c = vctx;
	const struct field *ins = index_field(c->f, "insured"), *date = index_field(c->f, "date");
	struct store_query q = { .form = c->f->id, .status = -1, .insured = c->insured };
	uint64_t *ids;
	size_t n;
	rec_free(c->out);
	c->out = NULL;
	if (!ins)
		return IKEN_ENOTFOUND;
	int rc = store_find(t, &q, &ids, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		struct record *r;
		if (store_rec_get(t, ids[i], &r))
			continue;
		if (!c->out || !date || strcmp(rec_val(r, date->id), rec_val(c->out, date->id)) >= 0) {
			rec_free(c->out);
			c->out = r;
		} else {
			rec_free(r);
		}
	}
	free(ids);
	if (!rc && !c->out)
		rc = IKEN_ENOTFOUND;
	return rc;
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
	char *ins = ask_insured(v, UI_T(ui, "新しい意見書の被保険者番号:", "New opinion, insured number:"));
	if (!ins || !af) {
		free(ins);
		return UI_REDRAW;
	}
	struct lookup_ctx c = { af, ins, NULL };
	int rc = store_read(ui->app->st, applicant_txn, &c);
	if (rc) {
		ui_message(ui, 1, UI_T(ui, "被保険者番号 %s の申請者が登録されていません (申請者一覧で登録してください)",
				       "no applicant with insured number %s (register the applicant first)"),
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
	char *ins = ask_insured(v, UI_T(ui, "請求する意見書の被保険者番号:", "Invoice, insured number:"));
	if (!ins || !of) {
		free(ins);
		return UI_REDRAW;
	}
	struct lookup_ctx c = { of, ins, NULL };
	int rc = store_read(ui->app->st, latest_txn, &c);
	if (rc) {
		ui_message(ui, 1, UI_T(ui, "被保険者番号 %s の意見書がありません", "no opinion for insured number %s"), ins);
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
	if (prefills_from(l->f, "applicant"))
		return new_opinion(v, l->f);
	if (prefills_from(l->f, "opinion"))
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
		ins = ask_insured(v, UI_T(ui, "前回コピーする被保険者番号:", "Insured number to copy from:"));
	rec_free(sel);
	if (!ins || !of) {
		free(ins);
		return UI_REDRAW;
	}
	struct record *r = NULL;
	int rc = docops_copy_previous(ui->app, ins, ui->user, &r);
	if (rc == IKEN_ENOTFOUND) {
		ui_message(ui, 1, UI_T(ui, "被保険者番号 %s の前回の意見書がありません", "no previous opinion for insured number %s"), ins);
	} else if (rc) {
		ui_message(ui, 1, "%s", iken_strerror(rc));
	}
	free(ins);
	if (rc)
		return UI_REDRAW;
	ui_message(ui, 0, "%s", UI_T(ui, "前回の意見書を写しました。日付と医師を確かめてください",
				     "the previous opinion was copied; check the dates and the doctor"));
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
	uint64_t id = l->ids[l->sel];
	struct sbuf q = { 0 };
	sbuf_printf(&q, UI_T(ui, "文書 %llu を確定して送信しますか", "finalize and send document %llu?"),
		    (unsigned long long)id);
	int yes = ui_confirm(ui, q.s);
	sbuf_free(&q);
	if (!yes)
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
	return push_form(v, l->f, l->ids[l->sel], NULL);
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

static int list_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	int page = page_rows(ui->body);
	int enter = (!is_key && (ch == '\r' || ch == '\n')) || (is_key && ch == KEY_ENTER);
	if (enter || a == ACT_OPEN)
		return open_selected(v);
	switch (a) {
	case ACT_HELP:
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	case ACT_BACK:
	case ACT_QUIT:
		return UI_CLOSE;
	case ACT_UP:
		if (l->sel > 0)
			l->sel--;
		return UI_REDRAW;
	case ACT_DOWN:
		if (l->sel + 1 < (int)l->n)
			l->sel++;
		return UI_REDRAW;
	case ACT_PAGE_PREV:
		l->sel -= page;
		l->top -= page;
		if (l->sel < 0)
			l->sel = 0;
		if (l->top < 0)
			l->top = 0;
		return UI_REDRAW;
	case ACT_PAGE_NEXT:
		if (l->n && l->top + page < (int)l->n) {
			l->top += page;
			l->sel += page;
		} else if (l->n) {
			l->sel = (int)l->n - 1;
		}
		if (l->sel >= (int)l->n)
			l->sel = l->n ? (int)l->n - 1 : 0;
		return UI_REDRAW;
	case ACT_HOME:
		l->sel = 0;
		return UI_REDRAW;
	case ACT_END:
		l->sel = l->n ? (int)l->n - 1 : 0;
		return UI_REDRAW;
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
	if (!is_key && ch == '?') {
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	}
	if (!is_key && (ch == 'o' || ch == 'O') && is_applicant_list(l))
		return open_opinions(v);
	if (!is_key && (ch == 'i' || ch == 'I') && is_opinion_list(l)) {
		struct record *r = selected_record(v);
		if (!r)
			return UI_REDRAW;
		int flags = new_invoice_from(v, r);
		rec_free(r);
		return flags;
	}
	return UI_OK;
}

/* Results imported by the loop change statuses: re-read once per poll that brought something. */
static int list_tick(struct view *v)
{
	struct list *l = v->priv;
	struct ui *ui = v->ui;
	if (ui->counts_changed && (int64_t)ui->last_poll != l->seen_poll) {
		l->seen_poll = (int64_t)ui->last_poll;
		l->dirty = 1;
		return UI_REDRAW;
	}
	return UI_OK;
}

const struct view_ops list_view_ops = {
	"list", list_open, list_draw, list_key, list_tick, list_close, list_title, fk_opinion,
};
