/* The form screen of any form (opinion, invoice, applicant…), generated from the form model: one
 * screen page per form page, its sections and fields in layout order, each field with its item
 * number, label and an entry drawn by kind (field.c). No field is placed by hand: the layout
 * follows the width of the terminal and scrolls inside a page taller than the screen.
 *
 * Nothing typed is lost: the values go to the autosave table on leaving a field, every few
 * seconds of typing and when the screen closes (F2, SIGHUP, SIGTERM); opening the record again
 * offers the draft. Saving is against the revision the edit started from, so a second session
 * cannot overwrite the first unseen. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/field.h"
#include "ui/widgets.h"
#include "model/charset.h"
#include "model/check.h"
#include "model/docio.h"
#include "model/docops.h"
#include "store/audit.h"
#include "errcode.h"
#include "model/wareki.h"
#include "i18n.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Only doctors finalize opinions (docops.c enforces it; asked first here so that a clerk is not
 * asked about characters before being refused). */
static const char opinion_form[] = "ikensho";

/* Seconds of typing between automatic saves of the draft. */
#define AUTOSAVE_SECONDS 3

static const enum action form_fkeys[] = {
	ACT_HELP, ACT_BACK, ACT_PAGE_PREV, ACT_PAGE_NEXT, ACT_CHECK, ACT_FINALIZE, ACT_SAVE, ACT_NONE,
};

enum panel_kind { PANEL_NONE, PANEL_PROBLEMS, PANEL_CHARS, PANEL_CHANGES };

struct panel_item {
	const struct field *field;  /* NULL: about the whole record */
	char *text;
	int error;
};

struct fv {
	struct ui *ui;
	struct view *view;
	const struct form *f;
	struct record *rec;       /* the values on the screen */
	struct record *saved;     /* as stored (NULL: not stored yet) */
	struct record *initial;   /* a new record as it was opened */
	uint32_t base_rev;        /* the revision the edit started from */
	uint32_t conflict_rev;    /* a refused save's current revision: F12 again may overwrite it */
	int readonly;
	char *ro_why;
	size_t page, focus;
	struct fedit ed;
	char *marks;              /* per field: 'E' error, 'W' warning, 0 */
	int scroll;
	struct sbuf akey;         /* autosave key */
	time_t as_last;
	int as_dirty;             /* changed since the last autosave */
	enum panel_kind panel;
	struct panel_item *items;
	size_t nitems;
	struct wlist pl;          /* the selected panel item (problems only) */
	struct sbuf title;
	const char *note;         /* what a question on the message line is about (help rows) */
	char today[9];
};

/* --- the form model --- */

static const char *lab(const struct fv *fv, const struct field *fld)
{
	return fv->ui->ja || !fld->label_en ? fld->label : fld->label_en;
}

static const struct rule *derive_rule(const struct form *f, const struct field *fld)
{
	for (size_t i = 0; i < f->nrules; i++)
		if (f->rules[i].kind >= RULE_DERIVE_AGE && f->rules[i].field == fld)
			return &f->rules[i];
	return NULL;
}

/* Fields the cursor visits: not those filled when sending, nor those that hold nothing. */
static int focusable(const struct fv *fv, size_t i)
{
	const struct field *fld = &fv->f->fields[i];
	return fld->fill == FILL_NONE && fld->max != 0;
}

static int editable(const struct fv *fv, size_t i)
{
	return !fv->readonly && focusable(fv, i) && !derive_rule(fv->f, &fv->f->fields[i]);
}

static const struct field *cur_field(const struct fv *fv)
{
	return &fv->f->fields[fv->focus];
}

static size_t field_index(const struct fv *fv, const struct field *fld)
{
	return (size_t)(fld - fv->f->fields);
}

/* --- the editor of the focused field --- */

static void enter_field(struct fv *fv, size_t i)
{
	const struct field *fld = &fv->f->fields[i];
	fedit_clear(&fv->ed);
	fv->focus = i;
	fv->page = (size_t)fld->page;
	fedit_start(&fv->ed, fld, rec_val(fv->rec, fld->id), fv->ui->ja);
}

/* The record as it would be saved now: with the text being typed into a date, which is taken
 * as typed when it cannot be read yet (a draft must keep everything). */
static struct record *current_values(struct fv *fv)
{
	struct record *r = rec_dup(fv->rec);
	const struct field *fld = cur_field(fv);
	if (editable(fv, fv->focus) && (fld->type == FT_DATE || fld->type == FT_PDATE)) {
		struct sbuf v = { 0 }, msg = { 0 };
		if (fedit_value(&fv->ed, fv->today, &v, &msg) == 0)
			rec_set(r, fld->id, v.s);
		else
			rec_set(r, fld->id, fv->ed.text.s ? fv->ed.text.s : "");
		sbuf_free(&v);
		sbuf_free(&msg);
	}
	return r;
}

static void autosave_now(struct fv *fv)
{
	struct record *r = current_values(fv);
	if (docops_autosave_put(fv->ui->app, fv->akey.s, r) == 0)
		fv->as_dirty = 0;
	rec_free(r);
	fv->as_last = time(NULL);
}

static void recompute(struct fv *fv)
{
	derive_record(fv->ui->app->fs, fv->f, fv->rec, 0);
}

/* After a change in the editor: the value goes into the record at once (dates wait until they
 * can be read) so the derived items follow every key. */
static void took_change(struct fv *fv)
{
	const struct field *fld = cur_field(fv);
	if (fld->type != FT_DATE && fld->type != FT_PDATE) {
		rec_set(fv->rec, fld->id, fv->ed.text.s ? fv->ed.text.s : "");
		recompute(fv);
	}
	fv->as_dirty = 1;
	fv->marks[fv->focus] = 0;
	if (time(NULL) - fv->as_last >= AUTOSAVE_SECONDS)
		autosave_now(fv);
}

static void problem_text(const struct problem *p, struct sbuf *out)
{
	docio_problem_line(p, out);
}

/* Leaving the focused field: the typed text becomes the value, checked on its own. Returns -1
 * (and stays) when a date cannot be read: the text is kept for correction. */
static int leave_field(struct fv *fv)
{
	const struct field *fld = cur_field(fv);
	if (!editable(fv, fv->focus))
		return 0;
	struct sbuf v = { 0 }, msg = { 0 };
	int rc = fedit_value(&fv->ed, fv->today, &v, &msg);
	if (rc) {
		ui_message(fv->ui, 1, "%s", msg.s ? msg.s : "");
		fv->marks[fv->focus] = 'E';
		sbuf_free(&v);
		sbuf_free(&msg);
		return -1;
	}
	if (strcmp(rec_val(fv->rec, fld->id), v.s) != 0) {
		rec_set(fv->rec, fld->id, v.s);
		fv->as_dirty = 1;
	}
	recompute(fv);
	struct problems ps = { 0 };
	check_value(fld, v.s, &ps);
	fv->marks[fv->focus] = 0;
	if (ps.n) {
		struct sbuf line = { 0 };
		problem_text(&ps.v[0], &line);
		ui_message(fv->ui, ps.nerrors > 0, "%s", line.s ? line.s : "");
		fv->marks[fv->focus] = ps.nerrors ? 'E' : 'W';
		sbuf_free(&line);
	}
	problems_free(&ps);
	if (fv->as_dirty)
		autosave_now(fv);
	/* the editor shows the value as stored from now on (a date as 和暦) */
	fedit_clear(&fv->ed);
	fedit_start(&fv->ed, fld, v.s, fv->ui->ja);
	sbuf_free(&v);
	sbuf_free(&msg);
	return 0;
}

/* Moves the focus by dir (+1/-1) to the next field the cursor visits; 0 when there is none. */
static int move_focus(struct fv *fv, int dir)
{
	size_t n = fv->f->nfields;
	for (size_t i = fv->focus; dir > 0 ? i + 1 < n : i > 0;) {
		i = dir > 0 ? i + 1 : i - 1;
		if (focusable(fv, i)) {
			enter_field(fv, i);
			return 1;
		}
	}
	return 0;
}

/* Focus on field i, or the next one the cursor visits (an error on a fill item). */
static void focus_on(struct fv *fv, size_t i)
{
	size_t n = fv->f->nfields;
	for (size_t k = i; k < n; k++)
		if (focusable(fv, k)) {
			enter_field(fv, k);
			return;
		}
	for (size_t k = i; k-- > 0;)
		if (focusable(fv, k)) {
			enter_field(fv, k);
			return;
		}
}

static int first_on_page(const struct fv *fv, size_t page, size_t *out)
{
	for (size_t i = 0; i < fv->f->nfields; i++)
		if ((size_t)fv->f->fields[i].page == page && focusable(fv, i)) {
			*out = i;
			return 1;
		}
	return 0;
}

/* --- the panel below the fields: problems, characters sent as ●, changes of another session --- */

static void panel_clear(struct fv *fv)
{
	for (size_t i = 0; i < fv->nitems; i++)
		free(fv->items[i].text);
	free(fv->items);
	fv->items = NULL;
	fv->nitems = 0;
	fv->pl.sel = fv->pl.top = 0;
	fv->panel = PANEL_NONE;
}

static void panel_add(struct fv *fv, const struct field *fld, int error, char *text)
{
	fv->items = xrealloc(fv->items, (fv->nitems + 1) * sizeof(*fv->items));
	fv->items[fv->nitems++] = (struct panel_item){ fld, text, error };
}

static int problem_cmp(const void *a, const void *b)
{
	const struct panel_item *x = a, *y = b;
	/* layout order; problems of the whole record last; stable through the text */
	int fx = x->field ? x->field->no : 1 << 30, fy = y->field ? y->field->no : 1 << 30;
	if (fx != fy)
		return fx < fy ? -1 : 1;
	return x->error != y->error ? y->error - x->error : 0;
}

/* Lists the problems of the record (as stored) in the panel and marks their fields. Returns the
 * number of errors. */
static size_t list_problems(struct fv *fv)
{
	struct problems ps = { 0 };
	panel_clear(fv);
	size_t nerr = check_record(fv->ui->app->fs, fv->f, fv->rec, CHECK_STORED, fv->today, &ps);
	memset(fv->marks, 0, fv->f->nfields);
	for (size_t i = 0; i < ps.n; i++) {
		struct sbuf t = { 0 };
		problem_text(&ps.v[i], &t);
		panel_add(fv, ps.v[i].field, ps.v[i].sev == SEV_ERROR, sbuf_take(&t));
		if (ps.v[i].field) {
			char *m = &fv->marks[field_index(fv, ps.v[i].field)];
			if (*m != 'E')
				*m = ps.v[i].sev == SEV_ERROR ? 'E' : 'W';
		}
	}
	problems_free(&ps);
	if (fv->nitems > 1)
		qsort(fv->items, fv->nitems, sizeof(*fv->items), problem_cmp);
	if (fv->nitems)
		fv->panel = PANEL_PROBLEMS;
	return nerr;
}

/* The characters that will be sent as ●, by field. */
static size_t list_outside(struct fv *fv)
{
	panel_clear(fv);
	for (size_t i = 0; i < fv->f->nfields; i++) {
		const struct field *fld = &fv->f->fields[i];
		struct sbuf bad = { 0 };
		if (charset_outside(rec_val(fv->rec, fld->id), &bad)) {
			struct sbuf t = { 0 };
			sbuf_printf(&t, _("item %d %s: %s"), fld->no, lab(fv, fld), bad.s);
			panel_add(fv, fld, 0, sbuf_take(&t));
		}
		sbuf_free(&bad);
	}
	if (fv->nitems)
		fv->panel = PANEL_CHARS;
	return fv->nitems;
}

/* What the other session changed: item, label, its value before and now. */
static void list_changes(struct fv *fv, const struct record *before, const struct record *now)
{
	struct sbuf ids = { 0 };
	panel_clear(fv);
	docops_diff(fv->f, before, now, &ids);
	for (char *tok = ids.s ? strtok(ids.s, ",") : NULL; tok; tok = strtok(NULL, ",")) {
		const struct field *fld = form_field(fv->f, tok);
		if (!fld)
			continue;
		struct sbuf a = { 0 }, b = { 0 }, t = { 0 };
		field_display(fld, rec_val(before, fld->id), fv->ui->ja, &a);
		field_display(fld, rec_val(now, fld->id), fv->ui->ja, &b);
		sbuf_printf(&t, _("item %d %s: \"%s\" -> \"%s\""),
			    fld->no, lab(fv, fld), a.s ? a.s : "", b.s ? b.s : "");
		panel_add(fv, fld, 1, sbuf_take(&t));
		sbuf_free(&a);
		sbuf_free(&b);
	}
	sbuf_free(&ids);
	if (fv->nitems)
		fv->panel = PANEL_CHANGES;
}

/* --- layout --- */

struct slot {
	size_t fi;
	int y, h;
	int own_label;  /* the label takes a line of its own above the entry */
};

struct layout {
	int cols, labw, ex, ew;
	size_t n;
	struct slot *v;
	size_t nsec;
	int *sec_y;
	int height;
};

static void layout_free(struct layout *l)
{
	free(l->v);
	free(l->sec_y);
}

static int is_area(const struct field *fld)
{
	return fld->type == FT_TEXTAREA;
}

/* Places the fields of the page in virtual lines for a width of cols columns: item number and
 * label in a label column, the entries lined up after it; a label wider than the column gets a
 * line of its own, a text area the whole width. */
static void layout_page(const struct fv *fv, int cols, int max_rows, struct layout *l)
{
	const struct page *pg = &fv->f->pages[fv->page];
	memset(l, 0, sizeof(*l));
	l->cols = cols;
	l->labw = cols >= 120 ? 40 : cols >= 100 ? 32 : 28;
	if (l->labw > cols / 2)
		l->labw = cols / 2;
	l->ex = 5 + l->labw + 1;
	l->ew = cols - l->ex - 1;
	if (l->ew < 8)
		l->ew = 8;
	l->nsec = pg->nsections;
	l->sec_y = xcalloc(l->nsec ? l->nsec : 1, sizeof(int));
	size_t total = 0;
	for (size_t s = 0; s < pg->nsections; s++)
		total += pg->sections[s].count;
	l->v = xcalloc(total ? total : 1, sizeof(*l->v));
	int y = 0;
	for (size_t s = 0; s < pg->nsections; s++) {
		const struct section *sec = &pg->sections[s];
		l->sec_y[s] = y++;
		for (size_t k = 0; k < sec->count; k++) {
			size_t fi = sec->first + k;
			const struct field *fld = &fv->f->fields[fi];
			struct slot *sl = &l->v[l->n++];
			sl->fi = fi;
			sl->y = y;
			if (fld->fill != FILL_NONE) {
				sl->h = 1;
			} else if (is_area(fld)) {
				sl->own_label = 1;
				sl->h = 1 + field_entry_height(fld, cols - 6, fv->ui->ja, max_rows - 1);
			} else {
				sl->own_label = utf8_width(lab(fv, fld)) > l->labw;
				sl->h = sl->own_label + field_entry_height(fld, l->ew, fv->ui->ja, max_rows);
			}
			y += sl->h;
		}
	}
	l->height = y;
}

static const struct slot *slot_of(const struct layout *l, size_t fi)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].fi == fi)
			return &l->v[i];
	return NULL;
}

/* Scrolls so that the focused field (with its section title when it opens the section) is
 * visible. */
static void keep_visible(struct fv *fv, const struct layout *l, int rows)
{
	const struct slot *s = slot_of(l, fv->focus);
	if (s) {
		int top = s->y;
		if (top > 0 && l->sec_y) {
			for (size_t k = 0; k < l->nsec; k++)
				if (l->sec_y[k] == top - 1)
					top--;
		}
		if (top < fv->scroll)
			fv->scroll = top;
		if (s->y + s->h > fv->scroll + rows)
			fv->scroll = s->y + s->h - rows;
		if (s->y < fv->scroll)
			fv->scroll = s->y;
	}
	if (fv->scroll > l->height - rows)
		fv->scroll = l->height - rows;
	if (fv->scroll < 0)
		fv->scroll = 0;
}

/* --- how a derived item was computed (help line) --- */

static void yen_text(const char *v, struct sbuf *out)
{
	static const struct field yen = { .type = FT_YEN };
	field_display(&yen, *v ? v : "0", 1, out);
}

static void explain_sum(const struct fv *fv, const struct fref *refs, size_t n, struct sbuf *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct field *r = refs[i].field;
		sbuf_printf(out, "%s%s ", i ? " + " : "", lab(fv, r));
		yen_text(rec_val(fv->rec, r->id), out);
	}
}

static void explain(const struct fv *fv, const struct rule *ru, struct sbuf *out)
{
	struct ui *ui = fv->ui;
	const struct record *r = fv->rec;
	const struct fee_table *ft = ui->app->fs->fees;
	const char *have = rec_val(r, ru->field->id);
	switch (ru->kind) {
	case RULE_DERIVE_AGE: {
		const struct field *b = ru->refs[0].field, *at = ru->field2;
		struct sbuf x = { 0 }, y = { 0 };
		field_display(b, rec_val(r, b->id), ui->ja, &x);
		field_display(at, rec_val(r, at->id), ui->ja, &y);
		if (*have)
			sbuf_printf(out, _("%s %s to %s %s: %s years"),
				    lab(fv, b), x.s ? x.s : "", lab(fv, at), y.s ? y.s : "", have);
		else
			sbuf_printf(out, _("computed from %s and %s"), lab(fv, b),
				    lab(fv, at));
		sbuf_free(&x);
		sbuf_free(&y);
		break;
	}
	case RULE_DERIVE_ANY_SET:
		for (size_t i = 0; i < ru->nrefs; i++)
			sbuf_printf(out, "%s%s", i ? _(", ") : "", lab(fv, ru->refs[i].field));
		sbuf_printf(out, _(": 1 when any is checked -> %s"), have);
		break;
	case RULE_DERIVE_SUM:
		explain_sum(fv, ru->refs, ru->nrefs, out);
		sbuf_puts(out, " = ");
		yen_text(have, out);
		sbuf_puts(out, _(" yen"));
		break;
	case RULE_DERIVE_FEE: {
		const char *date = rec_val(r, ru->field2->id), *cat = rec_val(r, ru->field3->id);
		const struct fee_period *p = fee_period_on(ft, date);
		const char *file = ft && ft->path ? strrchr(ft->path, '/') : NULL;
		file = file ? file + 1 : ft && ft->path ? ft->path : "fees.xml";
		const struct code *c = ru->field3->codes ? codelist_find(ru->field3->codes, cat) : NULL;
		if (!p)
			sbuf_printf(out, _("no fee period valid on %s (%s)"),
				    lab(fv, ru->field2), file);
		else if (!c)
			sbuf_printf(out, _("choose the %s: taken from the fee table (%s)"),
				    lab(fv, ru->field3), file);
		else {
			sbuf_printf(out, "%s ", ui->ja || !c->label_en ? c->label : c->label_en);
			yen_text(have, out);
			sbuf_printf(out, _(" yen (%s, from %.4s-%.2s-%.2s)"), file,
				    p->valid_from, p->valid_from + 4, p->valid_from + 6);
		}
		break;
	}
	case RULE_DERIVE_TAX: {
		const struct fee_period *p = fee_period_on(ft, rec_val(r, ru->field2->id));
		if (!p) {
			sbuf_printf(out, _("no fee period valid on the %s"),
				    lab(fv, ru->field2));
			break;
		}
		sbuf_puts(out, "floor((");
		for (size_t i = 0; i < p->ntaxable; i++) {
			const struct field *t = form_field(fv->f, p->taxable[i]);
			sbuf_printf(out, "%s%s ", i ? " + " : "", t ? lab(fv, t) : p->taxable[i]);
			yen_text(rec_val(r, p->taxable[i]), out);
		}
		sbuf_printf(out, ") × %d%%) = ", p->tax_percent);
		yen_text(have, out);
		sbuf_puts(out, _(" yen"));
		break;
	}
	default:
		break;
	}
}

/* The help line: the focused field, how to enter it, and for a derived item how it was
 * computed. */
static void help_text(const struct fv *fv, struct sbuf *out)
{
	struct ui *ui = fv->ui;
	const struct field *fld = cur_field(fv);
	const struct rule *ru = derive_rule(fv->f, fld);
	sbuf_printf(out, _("item %d %s: "), fld->no, lab(fv, fld));
	if (ru) {
		explain(fv, ru, out);
		sbuf_puts(out, _(" (computed)  "));
	}
	const char *h = ui->ja || !fld->help_en ? fld->help : fld->help_en;
	if (h && *h)
		sbuf_printf(out, "%s ", h);
	if (ru || !editable(fv, fv->focus))
		return;
	switch (fld->type) {
	case FT_DATE:
		sbuf_puts(out, _("[R8.4.1, 8.4.1, 令和8年4月1日, S20.1.1, 20260401]"));
		break;
	case FT_PDATE:
		sbuf_puts(out, _("[R8.4.1, 令和8年4月, 2026, 不詳]"));
		break;
	case FT_CODE:
		sbuf_puts(out, _("[a digit chooses, 0 clears]"));
		break;
	case FT_BITS:
		sbuf_puts(out, _("[Left/Right: move, Space: check]"));
		break;
	case FT_TEXTAREA:
		sbuf_puts(out, _("[Ctrl-J: line break, Up/Down: lines]"));
		break;
	default:
		break;
	}
}

/* --- drawing --- */

static const char *status_word(const struct ui *ui, enum rec_status st)
{
	static const char *const ja[] = { "下書き", "確定", "送信待ち", "結果待ち", "受理", "返戻" };
	return st < ST__COUNT ? (ui->ja ? ja[st] : rec_status_name(st)) : "";
}

static void draw_field(struct fv *fv, const struct fcanvas *c, const struct layout *l,
		       const struct slot *s, int *cy, int *cx)
{
	struct ui *ui = fv->ui;
	const struct field *fld = &fv->f->fields[s->fi];
	int focus = s->fi == fv->focus;
	int row = fcanvas_row(c, s->y);
	WINDOW *w = c->w;
	const char *v = rec_val(fv->rec, fld->id);
	if (row >= 0) {
		char m = fv->marks[s->fi];
		if (m) {
			wattrset(w, draw_attr(m == 'E' ? DR_ERROR : DR_WARN));
			draw_text(w, row, 0, m == 'E' ? "!" : "?", 1, 0);
		}
		wattrset(w, focus ? (int)A_BOLD : draw_attr(DR_LABEL));
		draw_textf(w, row, 1, 3, "%3d", fld->no);
		draw_text(w, row, 5, lab(fv, fld), s->own_label ? l->cols - 6 : l->labw, 0);
		wattrset(w, A_NORMAL);
	}
	if (fld->fill != FILL_NONE) {
		if (row >= 0) {
			wattrset(w, draw_attr(DR_DIM));
			draw_text(w, row, l->ex, _("set when sent"), l->ew, 0);
			wattrset(w, A_NORMAL);
		}
		return;
	}
	int ro = !editable(fv, s->fi);
	struct fedit *e = focus ? &fv->ed : NULL;
	const char *typed = e ? e->text.s : v;
	struct sbuf left = { 0 };
	int nleft = field_remaining(fld, typed, ui->ja, &left);
	if (is_area(fld)) {
		int x = 5, cols = l->cols - 6;
		field_draw_entry(c, s->y + 1, x, cols, fld, v, e, ui->ja, s->h - 1, ro, cy, cx);
		if (left.s && row >= 0) {
			int lw = utf8_width(left.s);
			wattrset(w, nleft < 0 ? draw_attr(DR_ERROR) : draw_attr(DR_DIM));
			draw_text(w, row, l->cols - lw - 1, left.s, lw, 0);
			wattrset(w, A_NORMAL);
		}
	} else {
		int y = s->y + s->own_label;
		int room = left.s ? l->ew - 9 : l->ew;
		int bw = field_box_width(fld, room);
		field_draw_entry(c, y, l->ex, fld->type == FT_CODE || fld->type == FT_BITS ? l->ew : room,
				 fld, v, e, ui->ja, c->rows, ro, cy, cx);
		int r2 = fcanvas_row(c, y);
		if (r2 >= 0 && left.s) {
			wattrset(w, nleft < 0 ? draw_attr(DR_ERROR) : draw_attr(DR_DIM));
			draw_text(w, r2, l->ex + bw + 1, left.s, 8, 0);
			wattrset(w, A_NORMAL);
		}
		if (r2 >= 0 && derive_rule(fv->f, fld)) {
			wattrset(w, draw_attr(DR_DIM));
			draw_text(w, r2, l->ex + bw + 1, _("(computed)"), l->ew - bw - 1, 0);
			wattrset(w, A_NORMAL);
		}
	}
	sbuf_free(&left);
}

static void draw_panel(struct fv *fv, WINDOW *w, int top, int rows, int cols)
{
	struct ui *ui = fv->ui;
	const char *head = fv->panel == PANEL_PROBLEMS ? _("Problems (Enter: go to the item, F2/Esc: close)") :
			   fv->panel == PANEL_CHARS ? _("Characters that will be sent as ●") :
			   _("Items changed by another session");
	wattrset(w, A_REVERSE);
	draw_text(w, top, 0, "", cols, 1);
	draw_textf(w, top, 1, cols - 2, "%s  %zu%s", head, fv->nitems, UI_T(ui, "件", ""));
	wattrset(w, A_NORMAL);
	int n = rows - 1;
	size_t count = n > 0 ? wlist_scroll(&fv->pl, fv->nitems, n) : 0;
	/* not wlist_draw: the selection is marked inside the frame, and only among problems */
	for (int i = 0; (size_t)i < count; i++) {
		size_t k = (size_t)fv->pl.top + (size_t)i;
		const struct panel_item *it = &fv->items[k];
		int sel = fv->panel == PANEL_PROBLEMS && (int)k == fv->pl.sel;
		wattrset(w, sel ? draw_attr(DR_SELECT) : it->error ? draw_attr(DR_ERROR) : draw_attr(DR_NORMAL));
		draw_text(w, top + 1 + i, 1, it->text, cols - 2, sel);
		wattrset(w, A_NORMAL);
	}
}

static void form_draw(struct view *v, WINDOW *w)
{
	struct fv *fv = v->priv;
	struct ui *ui = v->ui;
	int rows = getmaxy(w), cols = getmaxx(w);
	const struct page *pg = &fv->f->pages[fv->page];
	/* page line */
	wattrset(w, draw_attr(DR_TITLE));
	int used = draw_textf(w, 0, 1, cols - 2, _("Page %zu/%zu %s"), fv->page + 1,
			      fv->f->npages, ui->ja || !pg->title_en ? pg->title : pg->title_en);
	wattrset(w, A_NORMAL);
	struct sbuf st = { 0 };
	if (fv->rec->id)
		sbuf_printf(&st, "No.%llu %s", (unsigned long long)fv->rec->id, status_word(ui, fv->rec->status));
	else
		sbuf_puts(&st, _("new"));
	if (fv->readonly)
		sbuf_puts(&st, _(" read-only"));
	int sw = utf8_width(st.s);
	if (sw + used + 4 < cols) {
		wattrset(w, fv->readonly ? draw_attr(DR_WARN) : draw_attr(DR_NORMAL));
		draw_text(w, 0, cols - sw - 1, st.s, sw, 0);
		wattrset(w, A_NORMAL);
	}
	sbuf_free(&st);

	int help_rows = rows >= 12 ? 2 : 1;
	int prow = 0;
	if (fv->panel != PANEL_NONE) {
		int want = (int)fv->nitems + 1, most = (rows - 1 - help_rows) / 2;
		prow = want < most ? want : most;
		if (prow < 2)
			prow = 2;
	}
	int vis = rows - 1 - help_rows - prow;
	if (vis < 1)
		vis = 1;
	struct layout l;
	layout_page(fv, cols, vis, &l);
	keep_visible(fv, &l, vis);
	struct fcanvas c = { w, 1, vis, fv->scroll };
	for (size_t s = 0; s < l.nsec; s++) {
		int row = fcanvas_row(&c, l.sec_y[s]);
		if (row < 0)
			continue;
		const struct section *sec = &pg->sections[s];
		wattrset(w, draw_attr(DR_TITLE));
		draw_text(w, row, 1, ui->ja || !sec->title_en ? sec->title : sec->title_en, cols - 3, 0);
		wattrset(w, A_NORMAL);
	}
	int cy = -1, cx = -1;
	for (size_t i = 0; i < l.n; i++)
		draw_field(fv, &c, &l, &l.v[i], &cy, &cx);
	/* more of the page above or below */
	wattrset(w, draw_attr(DR_DIM));
	if (fv->scroll > 0)
		draw_text(w, 1, cols - 1, "^", 1, 0);
	if (fv->scroll + vis < l.height)
		draw_text(w, vis, cols - 1, "v", 1, 0);
	wattrset(w, A_NORMAL);
	layout_free(&l);

	if (prow)
		draw_panel(fv, w, 1 + vis, prow, cols);

	/* help lines: wrapped over their rows */
	struct sbuf h = { 0 };
	if (fv->note)
		sbuf_puts(&h, fv->note);
	else
		help_text(fv, &h);
	const char *p = h.s ? h.s : "";
	wattrset(w, fv->note ? (int)A_BOLD : draw_attr(DR_DIM));
	for (int i = 0; i < help_rows; i++) {
		int y = rows - help_rows + i;
		size_t n = utf8_fit(p, cols - 1, NULL);
		/* English wraps between words; Japanese anywhere */
		if (p[n] && p[n] != ' ' && i + 1 < help_rows) {
			size_t k = n;
			while (k > 0 && p[k - 1] != ' ' && (unsigned char)p[k - 1] < 0x80 && n - k < 24)
				k--;
			if (k > 0 && p[k - 1] == ' ')
				n = k;
		}
		struct sbuf part = { 0 };
		sbuf_add(&part, p, n);
		draw_text(w, y, 0, part.s ? part.s : "", cols - 1, 0);
		sbuf_free(&part);
		p += n;
		while (*p == ' ')
			p++;
	}
	wattrset(w, A_NORMAL);
	sbuf_free(&h);

	if (fv->panel == PANEL_PROBLEMS) {
		v->cursor_y = 1 + vis + 1 + (fv->pl.sel - fv->pl.top);
		v->cursor_x = 1;
	} else if (cy >= 0) {
		v->cursor_y = cy;
		v->cursor_x = cx < cols ? cx : cols - 1;
	}
}

/* Paints the body now: before a question on the message line, so the user sees what it is
 * about. */
static void paint_body(struct view *v)
{
	WINDOW *w = v->ui->body;
	werase(w);
	form_draw(v, w);
	wnoutrefresh(w);
}

/* --- saving --- */

static int dirty(struct fv *fv)
{
	struct record *r = current_values(fv);
	const struct record *ref = fv->saved ? fv->saved : fv->initial;
	int d = !ref || !rec_same_values(r, ref);
	rec_free(r);
	return d;
}

/* A y/n question: the message line holds only a short prompt, so what it is about is shown in
 * the help rows (note) with the screen painted behind it. 1 yes, 0 no, -1 cancelled (Esc). */
static int ask(struct fv *fv, const char *note, const char *prompt)
{
	struct ui *ui = fv->ui;
	struct sbuf q = { 0 };
	fv->note = note;
	paint_body(fv->view);
	sbuf_printf(&q, "%s (y/n)", prompt);
	char *a = ui_prompt(ui, q.s, "");
	sbuf_free(&q);
	fv->note = NULL;
	int r = -1;
	if (a && (a[0] == 'y' || a[0] == 'Y' || strncmp(a, "ｙ", 3) == 0 || strncmp(a, "はい", 6) == 0))
		r = 1;
	else if (a && (a[0] == 'n' || a[0] == 'N' || strncmp(a, "ｎ", 3) == 0 || strncmp(a, "いいえ", 9) == 0))
		r = 0;
	free(a);
	return r;
}

static void set_autosave_key(struct fv *fv)
{
	sbuf_reset(&fv->akey);
	docops_autosave_key(fv->ui->app, fv->f->id, fv->rec->id, &fv->akey);
}

/* Replaces the values on the screen with the stored record cur (taken over). */
static void load_record(struct fv *fv, struct record *cur)
{
	rec_free(fv->rec);
	rec_free(fv->saved);
	fv->rec = cur;
	fv->saved = rec_dup(cur);
	fv->base_rev = cur->revision;
	fv->conflict_rev = 0;
	memset(fv->marks, 0, fv->f->nfields);
	enter_field(fv, fv->focus);
}

/* F12 and the saves before finalizing or leaving: returns 0 when the record is stored. */
static int save_now(struct view *v)
{
	struct fv *fv = v->priv;
	struct ui *ui = v->ui;
	if (leave_field(fv))
		return -1;
	uint32_t base = fv->base_rev;
	if (fv->conflict_rev) {
		int a = ask(fv, _("The other session's version will be replaced by what is on this screen."),
			    _("Overwrite it?"));
		if (a != 1)
			return -1;
		base = fv->conflict_rev;
	}
	uint64_t old_id = fv->rec->id;
	struct record *cur = NULL;
	int rc = docops_save(ui->app, fv->rec, base, &cur);
	if (rc == 0) {
		panel_clear(fv);
		fv->base_rev = fv->rec->revision;
		fv->conflict_rev = 0;
		rec_free(fv->saved);
		fv->saved = rec_dup(fv->rec);
		/* the draft is in the store now; a new record's draft key was that of id 0 */
		docops_autosave_del(ui->app, fv->akey.s);
		if (old_id != fv->rec->id) {
			set_autosave_key(fv);
			docops_autosave_del(ui->app, fv->akey.s);
		}
		fv->as_dirty = 0;
		struct problems ps = { 0 };
		size_t nerr = check_record(ui->app->fs, fv->f, fv->rec, CHECK_STORED, fv->today, &ps);
		problems_free(&ps);
		if (nerr)
			ui_message(ui, 0, _("saved (No.%llu); %zu problem(s) remain (F8 check)"),
				   (unsigned long long)fv->rec->id, nerr);
		else
			ui_message(ui, 0, _("saved (No.%llu)"),
				   (unsigned long long)fv->rec->id);
		enter_field(fv, fv->focus);
		return 0;
	}
	if (rc == IKEN_ECONFLICT && cur) {
		const struct record *before = fv->saved && fv->saved->revision == fv->base_rev ? fv->saved : fv->rec;
		list_changes(fv, before, cur);
		int a = ask(fv, _("Another session saved this record first: not saved. y: load the latest version, n: keep what you typed"),
			    _("Load the latest version?"));
		if (a == 1) {
			panel_clear(fv);
			load_record(fv, cur);
			ui_message(ui, 0, "%s", _("the latest version was loaded"));
		} else {
			fv->conflict_rev = cur->revision;
			rec_free(cur);
			ui_message(ui, 1, "%s", _("not saved: changed by another session; your values are kept (F12 to overwrite)"));
		}
		return -1;
	}
	rec_free(cur);
	if (rc == IKEN_ESTATE)
		ui_message(ui, 1, "%s", _("cannot be saved: it is finalized or sent"));
	else
		ui_message(ui, 1, _("not saved: %s"), iken_strerror(rc));
	return -1;
}

static int do_finalize(struct view *v)
{
	struct fv *fv = v->priv;
	struct ui *ui = v->ui;
	if (fv->f->kind != FORM_DOCUMENT) {
		ui_message(ui, 1, "%s", _("only documents are finalized"));
		return UI_REDRAW;
	}
	if (strcmp(fv->f->id, opinion_form) == 0 && strcmp(ui_role(ui), "1") != 0) {
		ui_message(ui, 1, "%s", _("only a doctor can finalize an opinion"));
		return UI_REDRAW;
	}
	if (dirty(fv) || !fv->rec->id) {
		if (save_now(v))
			return UI_REDRAW;
	}
	size_t nerr = list_problems(fv);
	if (nerr) {
		ui_message(ui, 1, _("%zu error(s): not finalized. Enter goes to the item"), nerr);
		return UI_REDRAW;
	}
	panel_clear(fv);
	if (list_outside(fv)) {
		int a = ask(fv, _("The characters above will be sent as ●. Answer n to correct them first."),
			    _("Finalize anyway?"));
		panel_clear(fv);
		if (a != 1) {
			ui_message(ui, 0, "%s", _("not finalized"));
			return UI_REDRAW;
		}
	}
	struct problems ps = { 0 };
	int rc = docops_finalize(ui->app, fv->rec, fv->base_rev, ui->user, &ps);
	problems_free(&ps);
	if (rc == 0) {
		fv->base_rev = fv->rec->revision;
		rec_free(fv->saved);
		fv->saved = rec_dup(fv->rec);
		fv->readonly = 1;
		free(fv->ro_why);
		fv->ro_why = xstrdup(_("finalized (open it again to make it a draft for changes)"));
		ui_message(ui, 0, "%s", _("finalized; ready to send"));
		enter_field(fv, fv->focus);
		return UI_ALL;
	}
	if (rc == IKEN_EPERM)
		ui_message(ui, 1, "%s", _("only a doctor can finalize an opinion"));
	else if (rc == IKEN_EDATA)
		list_problems(fv);
	else if (rc == IKEN_ECONFLICT)
		ui_message(ui, 1, "%s", _("changed by another session: not finalized; save again (F12)"));
	else
		ui_message(ui, 1, _("not finalized: %s"), iken_strerror(rc));
	return UI_REDRAW;
}

static int do_back(struct view *v)
{
	struct fv *fv = v->priv;
	struct ui *ui = v->ui;
	if (fv->readonly)
		return UI_CLOSE;
	leave_field(fv); /* an unreadable date stays in the draft as typed */
	if (!dirty(fv))
		return UI_CLOSE;
	int a = ask(fv, _("The changes are not saved. y: save and go back, n: go back without saving (the draft is kept), Esc: keep editing"),
		    _("Save the changes?"));
	if (a < 0) {
		ui_message(ui, 0, "%s", _("still editing"));
		return UI_REDRAW;
	}
	if (a == 1 && save_now(v))
		return UI_REDRAW;
	/* "no": the draft stays in the autosave table and is offered next time */
	return UI_CLOSE;
}

/* --- keys --- */

static int refuse_edit(struct fv *fv)
{
	struct ui *ui = fv->ui;
	if (fv->readonly)
		ui_message(ui, 1, "%s", fv->ro_why ? fv->ro_why : _("read-only"));
	else if (derive_rule(fv->f, cur_field(fv)))
		ui_message(ui, 1, "%s", _("computed from other items: change those instead"));
	return UI_REDRAW;
}

/* Says what the field takes when a key was refused. */
static void refuse_char(struct fv *fv, wint_t ch)
{
	struct ui *ui = fv->ui;
	const struct field *fld = cur_field(fv);
	struct sbuf c = { 0 };
	utf8_put(&c, (uint32_t)ch);
	switch (fld->type) {
	case FT_CODE: {
		struct sbuf list = { 0 };
		for (size_t i = 0; fld->codes && i < fld->codes->n; i++)
			sbuf_printf(&list, "%s%s", i ? "," : "", fld->codes->codes[i].value);
		ui_message(ui, 1, _("\"%s\" is not a choice (choose %s, 0 clears)"), c.s, list.s ? list.s : "");
		sbuf_free(&list);
		break;
	}
	case FT_PHONE:
		ui_message(ui, 1, _("\"%s\" cannot be typed here (digits and -)"), c.s);
		break;
	case FT_DECIMAL:
		ui_message(ui, 1, _("\"%s\" cannot be typed here (digits and .)"), c.s);
		break;
	case FT_ALNUM:
		ui_message(ui, 1, _("\"%s\" cannot be typed here (ASCII only)"), c.s);
		break;
	default:
		ui_message(ui, 1, _("\"%s\" cannot be typed here (allowed: %s)"),
			   c.s, fld->digit_values ? fld->digit_values : "0-9");
		break;
	}
	sbuf_free(&c);
}

static int panel_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct fv *fv = v->priv;
	/* pages of five: the panel is a few lines; Home and End close it as any other key */
	if (a == ACT_UP || a == ACT_DOWN || a == ACT_PAGE_NEXT || a == ACT_PAGE_PREV)
		return wlist_key(&fv->pl, a, fv->nitems, 5);
	if (a == ACT_NEXT_FIELD || a == ACT_OPEN) {
		size_t k = (size_t)fv->pl.sel;
		const struct field *fld = k < fv->nitems ? fv->items[k].field : NULL;
		panel_clear(fv);
		if (fld) {
			focus_on(fv, field_index(fv, fld));
			ui_message(v->ui, 0, _("moved to item %d %s"), fld->no,
				   lab(fv, fld));
		}
		return UI_REDRAW;
	}
	(void)is_key;
	(void)ch;
	panel_clear(fv);
	return UI_REDRAW;
}

static int form_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct fv *fv = v->priv;
	struct ui *ui = v->ui;
	if (fv->panel == PANEL_PROBLEMS && a != ACT_SAVE && a != ACT_FINALIZE && a != ACT_HELP)
		return panel_key(v, a, is_key, ch);
	if (fv->panel != PANEL_NONE && (a == ACT_BACK || (!is_key && ch == 27))) {
		panel_clear(fv);
		return UI_REDRAW;
	}
	switch (a) {
	case ACT_HELP:
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	case ACT_BACK:
		return do_back(v);
	case ACT_SAVE:
		if (fv->readonly)
			return refuse_edit(fv);
		save_now(v);
		return UI_ALL;
	case ACT_CHECK: {
		if (leave_field(fv))
			return UI_REDRAW;
		size_t nerr = list_problems(fv);
		if (!fv->nitems)
			ui_message(ui, 0, "%s", _("no problems"));
		else
			ui_message(ui, nerr > 0, _("%zu error(s), %zu warning(s); Enter goes to the item"),
				   nerr, fv->nitems - nerr);
		return UI_REDRAW;
	}
	case ACT_FINALIZE:
		if (fv->readonly)
			return refuse_edit(fv);
		return do_finalize(v);
	case ACT_PAGE_NEXT:
	case ACT_PAGE_PREV: {
		size_t to = fv->page, fi;
		if (a == ACT_PAGE_NEXT ? fv->page + 1 >= fv->f->npages : fv->page == 0)
			return UI_REDRAW;
		if (leave_field(fv))
			return UI_REDRAW;
		to = a == ACT_PAGE_NEXT ? fv->page + 1 : fv->page - 1;
		if (first_on_page(fv, to, &fi))
			enter_field(fv, fi);
		fv->page = to;
		fv->scroll = 0;
		return UI_REDRAW;
	}
	default:
		break;
	}
	const struct field *fld = cur_field(fv);
	/* Ctrl-J: a line break in a text area (Enter goes on to the next item) */
	if (!is_key && ch == '\n' && fld->type == FT_TEXTAREA) {
		if (!editable(fv, fv->focus))
			return refuse_edit(fv);
		fedit_newline(&fv->ed);
		took_change(fv);
		return UI_REDRAW;
	}
	if (a == ACT_NEXT_FIELD || a == ACT_PREV_FIELD) {
		if (leave_field(fv))
			return UI_REDRAW;
		if (!move_focus(fv, a == ACT_NEXT_FIELD ? 1 : -1) && a == ACT_NEXT_FIELD && !ui->message[0])
			ui_message(ui, 0, "%s", _("last item; F12 saves"));
		return UI_REDRAW;
	}
	int changes = a == ACT_BACKSPACE || a == ACT_DELETE || (!is_key && a == ACT_NONE && ch >= 0x20 && ch != 0x7f);
	if (!editable(fv, fv->focus) && changes)
		return refuse_edit(fv);
	int r = fedit_key(&fv->ed, a, is_key, ch);
	if (r == FE_CHANGED) {
		took_change(fv);
		return UI_REDRAW;
	}
	if (r == FE_MOVED)
		return UI_REDRAW;
	if (r == FE_REFUSED) {
		refuse_char(fv, ch);
		return UI_REDRAW;
	}
	if (a == ACT_UP || a == ACT_DOWN) {
		if (leave_field(fv))
			return UI_REDRAW;
		move_focus(fv, a == ACT_DOWN ? 1 : -1);
		return UI_REDRAW;
	}
	return UI_OK;
}

static int form_tick(struct view *v)
{
	struct fv *fv = v->priv;
	if (fv->as_dirty && !fv->readonly && time(NULL) - fv->as_last >= AUTOSAVE_SECONDS)
		autosave_now(fv);
	return UI_OK;
}

/* --- open and close --- */

static void fv_free(struct fv *fv)
{
	panel_clear(fv);
	fedit_clear(&fv->ed);
	rec_free(fv->rec);
	rec_free(fv->saved);
	rec_free(fv->initial);
	free(fv->marks);
	free(fv->ro_why);
	sbuf_free(&fv->akey);
	sbuf_free(&fv->title);
	free(fv);
}

static void form_close(struct view *v)
{
	struct fv *fv = v->priv;
	if (!fv)
		return;
	/* SIGHUP, SIGTERM or F2 without saving: what was typed, the current field included, stays
	 * as the draft */
	if (!fv->readonly && (fv->as_dirty || (fv->ed.changed && dirty(fv))))
		autosave_now(fv);
	fv_free(fv);
	v->priv = NULL;
}

/* A stored document that cannot change now, or must be made a draft again first. */
static void open_state(struct fv *fv)
{
	struct ui *ui = fv->ui;
	enum rec_status st = fv->rec->status;
	const char *why = NULL;
	switch (st) {
	case ST_QUEUED:
		why = _("queued for sending: cancel it in the send queue to change it");
		break;
	case ST_PUBLISHED:
		why = _("sent and waiting for the result: read-only");
		break;
	case ST_ACCEPTED:
		why = _("accepted: read-only");
		break;
	case ST_FINAL:
	case ST_REJECTED: {
		int a = ask(fv, st == ST_FINAL ?
				_("This is finalized. Make it a draft again to change it? (n: open read-only)") :
				_("This was rejected. Make it a draft again to correct it? (n: open read-only)"),
			    _("Make it a draft?"));
		if (a == 1) {
			int rc = docops_reopen(ui->app, fv->rec, fv->base_rev);
			if (rc == 0) {
				fv->base_rev = fv->rec->revision;
				rec_free(fv->saved);
				fv->saved = rec_dup(fv->rec);
				ui_message(ui, 0, "%s", _("it is a draft again; finalize it again after correcting"));
				return;
			}
			why = _("could not make it a draft (changed by another session)");
		} else {
			why = st == ST_FINAL ? _("finalized: opened read-only") :
					       _("rejected: opened read-only");
		}
		break;
	}
	default:
		return;
	}
	fv->readonly = 1;
	fv->ro_why = xstrdup(why);
	ui_message(ui, 0, "%s", why);
}

/* A draft typed earlier and not saved: offered back. */
static void offer_draft(struct fv *fv)
{
	struct ui *ui = fv->ui;
	struct record *draft = NULL;
	if (docops_autosave_get(ui->app, fv->akey.s, &draft))
		return;
	if (strcmp(draft->form, fv->f->id) != 0 || rec_same_values(draft, fv->rec)) {
		rec_free(draft);
		docops_autosave_del(ui->app, fv->akey.s);
		return;
	}
	struct sbuf q = { 0 };
	sbuf_puts(&q, _("There is an unsaved draft from last time. Restore it?"));
	/* a new record's draft may be of another person: name whom it is about */
	for (size_t i = 0; !fv->rec->id && i < fv->f->nfields; i++) {
		const struct field *fld = &fv->f->fields[i];
		if (fld->index && strcmp(fld->index, "kana") != 0 && *rec_val(draft, fld->id)) {
			struct sbuf d = { 0 };
			field_display(fld, rec_val(draft, fld->id), ui->ja, &d);
			sbuf_printf(&q, " (%s %s)", lab(fv, fld), d.s);
			sbuf_free(&d);
			break;
		}
	}
	int a = ask(fv, q.s, _("Restore it?"));
	sbuf_free(&q);
	if (a == 1) {
		/* the draft's revision is the one its edit started from: a save after another
		 * session's is refused, not silently overwritten */
		draft->id = fv->rec->id;
		draft->status = fv->rec->status;
		if (fv->rec->id)
			fv->base_rev = draft->revision;
		rec_free(fv->rec);
		fv->rec = draft;
		recompute(fv);
		ui_message(ui, 0, "%s", _("the draft was restored; F12 saves it"));
	} else {
		rec_free(draft);
		if (a == 0)
			docops_autosave_del(ui->app, fv->akey.s);
		ui->message[0] = '\0';
	}
}

static int form_open(struct view *v, void *arg)
{
	struct form_arg *fa = arg;
	struct ui *ui = v->ui;
	const struct form *f = fa && fa->form ? formset_get(ui->app->fs, fa->form) : NULL;
	if (!f || !f->npages || !f->nfields) {
		ui_message(ui, 1, _("no form %s"), fa && fa->form ? fa->form : "");
		return IKEN_ENOTFOUND;
	}
	struct record *rec = NULL;
	if (fa->id) {
		/* opening a document is a read the audit trail records */
		int rc = audit_get_record(ui->app->st, fa->id, AUDIT_OPEN, ui->app->user, &rec);
		if (rc) {
			ui_message(ui, 1, _("cannot read record %llu: %s"),
				   (unsigned long long)fa->id, iken_strerror(rc));
			return rc;
		}
		if (strcmp(rec->form, f->id) != 0) {
			ui_message(ui, 1, _("record %llu is not a %s"),
				   (unsigned long long)fa->id, f->id);
			rec_free(rec);
			return IKEN_EDATA;
		}
	}
	struct fv *fv = xcalloc(1, sizeof(*fv));
	v->priv = fv;
	fv->ui = ui;
	fv->view = v;
	fv->f = f;
	iken_ymd(iken_now(), fv->today);
	fv->marks = xcalloc(f->nfields, 1);
	if (rec) {
		fv->rec = rec;
		fv->saved = rec_dup(rec);
		fv->base_rev = rec->revision;
		rec_free(fa->init); /* taken over, though a stored record needs none */
	} else {
		/* the caller's initial record is ours from here on */
		fv->rec = fa->init ? fa->init : docops_new(ui->app, f, ui->user, NULL);
		fv->initial = rec_dup(fv->rec);
	}
	recompute(fv);
	set_autosave_key(fv);
	fv->as_last = time(NULL);
	size_t fi = 0;
	const struct field *jump = fa->jump_field ? form_field(f, fa->jump_field) : NULL;
	if (jump)
		fi = field_index(fv, jump);
	focus_on(fv, fi);
	/* the questions below are asked with the form already on the screen */
	open_state(fv);
	if (!fv->readonly)
		offer_draft(fv);
	enter_field(fv, fv->focus);
	if (jump)
		fv->marks[fi] = 'E';
	return 0;
}

static const char *form_title(struct view *v)
{
	struct fv *fv = v->priv;
	struct ui *ui = v->ui;
	sbuf_reset(&fv->title);
	sbuf_puts(&fv->title, ui->ja || !fv->f->title_en ? fv->f->title : fv->f->title_en);
	return fv->title.s;
}

const struct view_ops form_view_ops = VIEW_OPS("form", form, form_tick, form_fkeys);
