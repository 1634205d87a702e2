#include "config.h"
#include "ui/widgets.h"
#include "ui/ui.h"
#include "model/charset.h"
#include "model/wareki.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* --- keys --- */

int widget_is_enter(int is_key, wint_t ch)
{
	return (!is_key && (ch == '\r' || ch == '\n')) || (is_key && ch == KEY_ENTER);
}

int widget_screen_key(struct ui *ui, enum action a, int is_key, wint_t ch)
{
	if (a == ACT_HELP || (!is_key && ch == '?')) {
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	}
	if (a == ACT_BACK || a == ACT_QUIT)
		return UI_CLOSE;
	return UI_OK;
}

int widget_poll_news(const struct ui *ui, int64_t *seen)
{
	if (!ui->counts_changed || (int64_t)ui->last_poll == *seen)
		return 0;
	*seen = (int64_t)ui->last_poll;
	return 1;
}

int widget_confirmf(struct ui *ui, const char *fmt, ...)
{
	struct sbuf q = { 0 };
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&q, fmt, ap);
	va_end(ap);
	int yes = ui_confirm(ui, q.s ? q.s : "");
	sbuf_free(&q);
	return yes;
}

/* --- the scrolling list --- */

int wlist_page(WINDOW *w, int other)
{
	int h = getmaxy(w) - other;
	return h < 1 ? 1 : h;
}

void wlist_clamp(struct wlist *l, size_t n)
{
	if (l->sel >= (int)n)
		l->sel = n ? (int)n - 1 : 0;
}

int wlist_key(struct wlist *l, enum action a, size_t n, int page)
{
	switch (a) {
	case ACT_UP:
		if (l->sel > 0)
			l->sel--;
		return UI_REDRAW;
	case ACT_DOWN:
		if (l->sel + 1 < (int)n)
			l->sel++;
		return UI_REDRAW;
	default:
		break;
	}
	/* short lists (a menu, a user list) take Up and Down only */
	if (page <= 0)
		return UI_OK;
	switch (a) {
	case ACT_PAGE_PREV:
		l->sel = l->sel > page ? l->sel - page : 0;
		return UI_REDRAW;
	case ACT_PAGE_NEXT:
		l->sel += page;
		wlist_clamp(l, n);
		return UI_REDRAW;
	case ACT_HOME:
		l->sel = 0;
		return UI_REDRAW;
	case ACT_END:
		l->sel = n ? (int)n - 1 : 0;
		return UI_REDRAW;
	default:
		return UI_OK;
	}
}

size_t wlist_scroll(struct wlist *l, size_t n, int page)
{
	if (l->sel < l->top)
		l->top = l->sel;
	if (l->sel >= l->top + page)
		l->top = l->sel - page + 1;
	if (l->top < 0)
		l->top = 0;
	size_t first = (size_t)l->top;
	if (first >= n)
		return 0;
	return n - first < (size_t)page ? n - first : (size_t)page;
}

void wlist_draw(const struct wlist *l, WINDOW *w, int y0, size_t count, const struct wlist_rows *r)
{
	int cols = getmaxx(w);
	for (size_t k = 0; k < count; k++) {
		size_t i = (size_t)l->top + k;
		int y = y0 + (int)k, selected = (int)i == l->sel;
		enum draw_role role = DR_SELECT;
		if (!selected)
			role = r->role ? r->role(r->ctx, i) : DR_NORMAL;
		wattrset(w, draw_attr(role));
		if (selected)
			draw_text(w, y, 0, "", cols, 1);
		r->draw(r->ctx, w, y, i);
	}
	wattrset(w, A_NORMAL);
}

void wlist_empty(WINDOW *w, const char *text)
{
	wattrset(w, draw_attr(DR_DIM));
	draw_text(w, 3, 2, text, getmaxx(w) - 4, 0);
	wattrset(w, A_NORMAL);
}

struct records_ctx {
	const uint64_t *ids;
	size_t n;
	struct record **recs;
};

/* May run twice (the map grows): what the first run read is freed. */
static int records_txn(struct store_txn *t, void *vctx)
{
	struct records_ctx *c = vctx;
	for (size_t i = 0; i < c->n; i++) {
		rec_free(c->recs[i]);
		c->recs[i] = NULL;
		if (store_rec_get(t, c->ids[i], &c->recs[i]))
			c->recs[i] = NULL;
	}
	return 0;
}

struct record **widget_records(struct store *st, const uint64_t *ids, size_t n)
{
	struct records_ctx c = { ids, n, xcalloc(n + 1, sizeof(struct record *)) };
	if (n)
		store_read(st, records_txn, &c);
	return c.recs;
}

void widget_records_free(struct record **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rec_free(recs[i]);
	free(recs);
}

void widget_keys_line(WINDOW *w, const char *text)
{
	wattrset(w, draw_attr(DR_DIM));
	draw_text(w, getmaxy(w) - 1, 1, text, getmaxx(w) - 2, 0);
	wattrset(w, A_NORMAL);
}

void widget_columns(int *x, const int *w, size_t n)
{
	x[0] = 1;
	for (size_t k = 0; k < n; k++)
		x[k + 1] = x[k] + w[k] + 1;
}

void widget_hint(WINDOW *w, const char *text)
{
	int rows = getmaxy(w), cols = getmaxx(w);
	wmove(w, rows - 1, 0);
	wclrtoeol(w);
	wattrset(w, draw_attr(DR_WARN));
	draw_text(w, rows - 1, 1, text, cols - 2, 0);
	wattrset(w, A_NORMAL);
	wnoutrefresh(w);
}

/* --- the search line --- */

void wfilter_clear(struct wfilter *f)
{
	free(f->text);
	free(f->insured);
	free(f->kana);
	f->text = f->insured = f->kana = NULL;
	f->from[0] = f->to[0] = '\0';
	f->status = -1;
}

static void replace(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s);
}

int wfilter_parse(struct wfilter *f, const char *text, int (*status_word)(const char *word),
		  char **bad)
{
	char today[9];
	iken_ymd(iken_now(), today);
	wfilter_clear(f);
	char *copy = xstrdup(text);
	*bad = NULL;
	for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok && !*bad;
	     tok = strtok_r(NULL, " ", &save)) {
		size_t len = strlen(tok);
		const char *dots = strstr(tok, "..");
		int st;
		/* a status word before a kana prefix: エラー is both */
		if (len == 10 && strspn(tok, "0123456789") == len) {
			replace(&f->insured, tok);
		} else if ((st = status_word(tok)) >= 0) {
			f->status = st;
		} else if (dots) {
			char *from = xstrndup(tok, (size_t)(dots - tok));
			if ((*from && wareki_parse(from, today, f->from)) ||
			    (dots[2] && wareki_parse(dots + 2, today, f->to)))
				*bad = xstrdup(tok);
			if (!*from)
				f->from[0] = '\0';
			if (!dots[2])
				f->to[0] = '\0';
			free(from);
		} else if (charset_is_kana(tok)) {
			replace(&f->kana, tok);
		} else if (wareki_parse(tok, today, f->from) == 0) {
			memcpy(f->to, f->from, sizeof(f->to));
		} else {
			*bad = xstrdup(tok);
		}
	}
	free(copy);
	if (*bad) {
		wfilter_clear(f);
		return -1;
	}
	if (*text)
		f->text = xstrdup(text);
	return 0;
}

void strset_add(struct strset *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], x) == 0)
			return;
	s->v = xrealloc(s->v, (s->n + 1) * sizeof(*s->v));
	s->v[s->n++] = xstrdup(x);
}

void strset_free(struct strset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->n = 0;
	s->v = NULL;
}

/* Hiragana ↔ katakana. */
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

void widget_kana_variants(const char *kana, struct strset *out)
{
	char *k = kana_shift(kana, 1), *h = kana_shift(kana, 0);
	strset_add(out, kana);
	strset_add(out, k);
	strset_add(out, h);
	free(k);
	free(h);
}

int widget_kana_insured(struct store_txn *t, const struct formset *fs, const char *kana,
			struct strset *numbers)
{
	struct strset vars = { 0 };
	int rc = 0;
	widget_kana_variants(kana, &vars);
	for (size_t fi = 0; !rc && fi < fs->nforms; fi++) {
		const struct form *f = fs->forms[fi];
		const struct field *ins = widget_index_field(f, "insured");
		if (!ins || !widget_index_field(f, "kana"))
			continue;
		for (size_t i = 0; !rc && i < vars.n; i++) {
			struct store_query q = { .form = f->id, .status = -1, .kana = vars.v[i] };
			uint64_t *ids = NULL;
			size_t n = 0;
			rc = store_find(t, &q, &ids, &n);
			for (size_t j = 0; !rc && j < n; j++) {
				struct record *r;
				if (store_rec_get(t, ids[j], &r) == 0) {
					if (*rec_val(r, ins->id))
						strset_add(numbers, rec_val(r, ins->id));
					rec_free(r);
				}
			}
			free(ids);
		}
	}
	strset_free(&vars);
	return rc;
}

/* --- the form model --- */

const struct field *widget_index_field(const struct form *f, const char *kind)
{
	for (size_t i = 0; f && i < f->nfields; i++)
		if (f->fields[i].index && strcmp(f->fields[i].index, kind) == 0)
			return &f->fields[i];
	return NULL;
}

const struct field *widget_name_field(const struct form *f)
{
	const struct field *after = widget_index_field(f, "kana");
	if (!after)
		after = widget_index_field(f, "insured");
	for (size_t i = after ? (size_t)(after - f->fields) + 1 : 0; f && i < f->nfields; i++)
		if (f->fields[i].type == FT_TEXT && !f->fields[i].fill)
			return &f->fields[i];
	return NULL;
}

int widget_prefills_from(const struct form *f, const char *source)
{
	size_t l = strlen(source);
	for (size_t i = 0; f && i < f->nfields; i++) {
		const char *p = f->fields[i].prefill;
		if (p && strncmp(p, source, l) == 0 && p[l] == '.')
			return 1;
	}
	return 0;
}

void widget_show_value(int ja, const struct field *fld, const char *v, struct sbuf *out)
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
			sbuf_puts(out, ja ? c->label : c->label_en);
			return;
		}
	}
	sbuf_puts(out, v);
}

void widget_time_text(int ja, int64_t t, struct sbuf *out)
{
	char ymdhms[15], ymd[9], w[WAREKI_BUFSZ];
	iken_ymdhms((time_t)t, ymdhms);
	memcpy(ymd, ymdhms, 8);
	ymd[8] = '\0';
	if (ja && wareki_format(ymd, WAREKI_SHORT, w, sizeof(w)) == 0)
		sbuf_printf(out, "%s %.2s:%.2s", w, ymdhms + 8, ymdhms + 10);
	else
		sbuf_printf(out, "%.4s-%.2s-%.2s %.2s:%.2s", ymdhms, ymdhms + 4, ymdhms + 6,
			    ymdhms + 8, ymdhms + 10);
}
