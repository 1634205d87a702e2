/* Field editing and entry drawing: see field.h. */
#include "config.h"
#include "ui/field.h"
#include "ui/draw.h"
#include "model/charset.h"
#include "errcode.h"
#include "model/wareki.h"

#include <stdlib.h>
#include <string.h>

int fcanvas_row(const struct fcanvas *c, int v)
{
	int r = v - c->scroll;
	return r >= 0 && r < c->rows ? c->top + r : -1;
}

/* --- characters --- */

static int32_t cp_at(const char *s, size_t len, size_t pos, size_t *next)
{
	const char *p = s + pos;
	int32_t cp = utf8_next(&p, s + len);
	*next = (size_t)(p - s);
	return cp;
}

static int width_of(int32_t cp)
{
	return cp < 0 ? 1 : cp_width((uint32_t)cp);
}

/* Byte offset after the character at pos, with the zero-width marks that belong to it. */
static size_t next_char(const char *s, size_t len, size_t pos)
{
	size_t q;
	if (pos >= len)
		return len;
	cp_at(s, len, pos, &q);
	while (q < len) {
		size_t r;
		int32_t cp = cp_at(s, len, q, &r);
		if (cp < 0 || cp == '\n' || width_of(cp) != 0)
			break;
		q = r;
	}
	return q;
}

/* Byte offset of the character before pos (its base character when pos follows marks). */
static size_t prev_char(const char *s, size_t pos)
{
	for (;;) {
		if (pos == 0)
			return 0;
		size_t p = pos - 1;
		while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80)
			p--;
		size_t q;
		int32_t cp = cp_at(s, pos, p, &q);
		pos = p;
		if (cp < 0 || cp == '\n' || width_of(cp) != 0)
			return pos;
	}
}

/* Display columns of s[from, to). */
static int span_width(const char *s, size_t from, size_t to)
{
	int w = 0;
	while (from < to) {
		size_t q;
		int32_t cp = cp_at(s, to, from, &q);
		w += width_of(cp);
		from = q;
	}
	return w;
}

/* Kinds whose text is ASCII: what an input method types in full width is taken as ASCII. */
static int ascii_kind(enum ftype t)
{
	return t == FT_DIGITS || t == FT_ALNUM || t == FT_PHONE || t == FT_DECIMAL || t == FT_YEN;
}

static int is_texty(enum ftype t)
{
	return t != FT_CODE && t != FT_BITS;
}

static const char *elabel(const char *ja_label, const char *en_label, int ja)
{
	return ja || !en_label || !*en_label ? (ja_label ? ja_label : "") : en_label;
}

/* --- the editor --- */

static void set_text(struct fedit *e, const char *s)
{
	sbuf_reset(&e->text);
	sbuf_puts(&e->text, s ? s : "");
	if (!e->text.s)
		sbuf_puts(&e->text, "");
}

void fedit_start(struct fedit *e, const struct field *fld, const char *value, int ja)
{
	char wa[WAREKI_BUFSZ];
	memset(e, 0, sizeof(*e));
	e->fld = fld;
	e->ja = ja;
	e->want_col = -1;
	value = value ? value : "";
	switch (fld->type) {
	case FT_DATE:
	case FT_PDATE:
		/* shown as typed in 和暦; the first key replaces it, as a new date is usually typed
		 * whole */
		if (strcmp(value, "不詳") != 0 && pdate_valid(value) &&
		    (fld->type == FT_PDATE || date_valid(value)) &&
		    wareki_format(value, WAREKI_SHORT, wa, sizeof(wa)) == 0) {
			set_text(e, wa);
			e->fresh = 1;
		} else {
			set_text(e, value);
			e->fresh = *value != '\0';
		}
		break;
	case FT_CODE:
		set_text(e, strcmp(value, "0") == 0 ? "" : value);
		break;
	case FT_BITS: {
		set_text(e, value);
		/* boxes never entered read as unchecked */
		while (fld->length > 0 && e->text.len < (size_t)fld->length)
			sbuf_putc(&e->text, '0');
		break;
	}
	default:
		set_text(e, value);
		break;
	}
	e->cur = fld->type == FT_BITS ? 0 : e->text.len;
}

void fedit_clear(struct fedit *e)
{
	sbuf_free(&e->text);
	memset(e, 0, sizeof(*e));
}

static void delete_range(struct fedit *e, size_t from, size_t to)
{
	if (to <= from)
		return;
	memmove(e->text.s + from, e->text.s + to, e->text.len - to + 1);
	e->text.len -= to - from;
	if (e->cur > from)
		e->cur = e->cur >= to ? e->cur - (to - from) : from;
	if (e->hscroll > e->cur)
		e->hscroll = e->cur;
}

static void insert_cp(struct fedit *e, uint32_t cp)
{
	struct sbuf enc = { 0 };
	utf8_put(&enc, cp);
	size_t n = enc.len;
	size_t tail = e->text.len - e->cur;
	sbuf_add(&e->text, enc.s, n); /* grow */
	memmove(e->text.s + e->cur + n, e->text.s + e->cur, tail);
	memcpy(e->text.s + e->cur, enc.s, n);
	e->text.s[e->text.len] = '\0';
	e->cur += n;
	sbuf_free(&enc);
}

/* Characters a field of this kind may still take (fixed-length codes stop at their length, so
 * a number is not typed past its end; text may run over and the counter turns red). */
static int room_for_one(const struct fedit *e)
{
	const struct field *f = e->fld;
	if (!ascii_kind(f->type) || f->type == FT_DECIMAL || f->type == FT_YEN)
		return 1;
	int lim = f->length > 0 ? f->length : f->max;
	return lim < 0 || utf8_len(e->text.s) < (size_t)lim;
}

/* Characters of number kinds are refused as they are typed rather than reported later. */
static int allowed(const struct field *f, uint32_t cp)
{
	switch (f->type) {
	case FT_DIGITS:
		return cp < 128 && strchr(f->digit_values ? f->digit_values : "0123456789", (int)cp) && cp;
	case FT_PHONE:
		return (cp >= '0' && cp <= '9') || cp == '-';
	case FT_YEN:
		return cp >= '0' && cp <= '9';
	case FT_DECIMAL:
		return (cp >= '0' && cp <= '9') || cp == '.';
	case FT_ALNUM:
		return cp >= 0x20 && cp < 0x7f;
	default:
		return 1;
	}
}

static int code_key(struct fedit *e, enum action a, int is_key, wint_t ch)
{
	const struct codelist *cl = e->fld->codes;
	size_t n = cl ? cl->n : 0, i;
	/* position of the current choice: n = nothing chosen */
	for (i = 0; i < n; i++)
		if (strcmp(cl->codes[i].value, e->text.s) == 0)
			break;
	if (!is_key && ch >= '0' && ch <= '9') {
		char d[2] = { (char)ch, '\0' };
		if (ch == '0') {
			set_text(e, "");
			return FE_CHANGED;
		}
		if (cl && codelist_find(cl, d)) {
			set_text(e, d);
			return FE_CHANGED;
		}
		return FE_REFUSED;
	}
	if (!is_key && ch >= 0xFF10 && ch <= 0xFF19)
		return code_key(e, ACT_NONE, 0, ch - 0xFF10 + '0');
	if ((!is_key && ch == ' ') || a == ACT_RIGHT) {
		set_text(e, i + 1 < n ? cl->codes[i + 1].value : i == n && n ? cl->codes[0].value : "");
		return FE_CHANGED;
	}
	if (a == ACT_LEFT) {
		set_text(e, i == n ? (n ? cl->codes[n - 1].value : "") : i > 0 ? cl->codes[i - 1].value : "");
		return FE_CHANGED;
	}
	if (a == ACT_BACKSPACE || a == ACT_DELETE) {
		set_text(e, "");
		return FE_CHANGED;
	}
	return FE_IGNORED;
}

static int bits_key(struct fedit *e, enum action a, int is_key, wint_t ch)
{
	size_t n = e->text.len;
	if (!n)
		return FE_IGNORED;
	if (a == ACT_LEFT) {
		if (e->cur > 0)
			e->cur--;
		return FE_MOVED;
	}
	if (a == ACT_RIGHT) {
		if (e->cur + 1 < n)
			e->cur++;
		return FE_MOVED;
	}
	if (a == ACT_HOME) {
		e->cur = 0;
		return FE_MOVED;
	}
	if (a == ACT_END) {
		e->cur = n - 1;
		return FE_MOVED;
	}
	if (is_key)
		return FE_IGNORED;
	if (ch == ' ' || ch == 0x3000) {
		e->text.s[e->cur] = e->text.s[e->cur] == '1' ? '0' : '1';
		return FE_CHANGED;
	}
	/* 1/x checks and 0 clears, moving on: quick entry of a row of boxes */
	if (ch == '1' || ch == 'x' || ch == 'X' || ch == '0' || ch == 0xFF11 || ch == 0xFF10) {
		e->text.s[e->cur] = (ch == '0' || ch == 0xFF10) ? '0' : '1';
		if (e->cur + 1 < n)
			e->cur++;
		return FE_CHANGED;
	}
	return FE_IGNORED;
}

/* --- text area rows (soft-wrapped lines) --- */

struct vrow {
	size_t start, end;
};

/* Rows of s when wrapped at width columns; the caller frees *rows. */
static size_t wrap_rows(const char *s, size_t len, int width, struct vrow **rows)
{
	size_t n = 0, cap = 8;
	struct vrow *v = xmalloc(cap * sizeof(*v));
	size_t ls = 0;
	if (width < 2)
		width = 2;
	for (;;) {
		const char *nl = memchr(s + ls, '\n', len - ls);
		size_t le = nl ? (size_t)(nl - s) : len;
		size_t p = ls;
		do {
			size_t q = p;
			int w = 0;
			while (q < le) {
				size_t r = next_char(s, le, q);
				int cw = span_width(s, q, r);
				if (w + cw > width && q > p)
					break;
				w += cw;
				q = r;
			}
			if (n == cap)
				v = xrealloc(v, (cap *= 2) * sizeof(*v));
			v[n++] = (struct vrow){ p, q };
			p = q;
		} while (p < le);
		if (!nl)
			break;
		ls = le + 1;
	}
	*rows = v;
	return n;
}

/* Row holding the cursor: a cursor on a wrap point belongs to the row it starts. */
static size_t cursor_row(const struct vrow *v, size_t n, size_t cur)
{
	for (size_t i = 0; i < n; i++)
		if (cur >= v[i].start && (cur < v[i].end || (cur == v[i].end && (i + 1 == n || v[i + 1].start != v[i].end))))
			return i;
	return n ? n - 1 : 0;
}

static int area_updown(struct fedit *e, int down)
{
	struct vrow *v;
	size_t n = wrap_rows(e->text.s, e->text.len, e->area_cols > 1 ? e->area_cols - 1 : 40, &v);
	size_t r = cursor_row(v, n, e->cur);
	int rc = FE_IGNORED;
	if (down ? r + 1 < n : r > 0) {
		int col = e->want_col >= 0 ? e->want_col : span_width(e->text.s, v[r].start, e->cur);
		size_t t = down ? r + 1 : r - 1, p = v[t].start;
		int w = 0;
		while (p < v[t].end) {
			size_t q = next_char(e->text.s, v[t].end, p);
			int cw = span_width(e->text.s, p, q);
			if (w + cw > col)
				break;
			w += cw;
			p = q;
		}
		e->cur = p;
		e->want_col = col;
		rc = FE_MOVED;
	}
	free(v);
	return rc;
}

int fedit_newline(struct fedit *e)
{
	if (e->fld->type != FT_TEXTAREA)
		return FE_IGNORED;
	insert_cp(e, '\n');
	e->changed = 1;
	e->want_col = -1;
	return FE_CHANGED;
}

int fedit_key(struct fedit *e, enum action a, int is_key, wint_t ch)
{
	const struct field *f = e->fld;
	int rc;
	if (f->type == FT_CODE || f->type == FT_BITS) {
		rc = f->type == FT_CODE ? code_key(e, a, is_key, ch) : bits_key(e, a, is_key, ch);
		if (rc == FE_CHANGED)
			e->changed = 1;
		return rc;
	}
	const char *s = e->text.s;
	size_t len = e->text.len;
	int area = f->type == FT_TEXTAREA;
	if (a != ACT_UP && a != ACT_DOWN)
		e->want_col = -1;
	switch (a) {
	case ACT_LEFT:
		e->fresh = 0;
		e->cur = prev_char(s, e->cur);
		return FE_MOVED;
	case ACT_RIGHT:
		e->fresh = 0;
		e->cur = next_char(s, len, e->cur);
		return FE_MOVED;
	case ACT_HOME:
		e->fresh = 0;
		if (area)
			while (e->cur > 0 && s[e->cur - 1] != '\n')
				e->cur--;
		else
			e->cur = 0;
		return FE_MOVED;
	case ACT_END:
		e->fresh = 0;
		if (area)
			while (e->cur < len && s[e->cur] != '\n')
				e->cur++;
		else
			e->cur = len;
		return FE_MOVED;
	case ACT_UP:
	case ACT_DOWN:
		if (!area)
			return FE_IGNORED;
		e->fresh = 0;
		return area_updown(e, a == ACT_DOWN);
	case ACT_BACKSPACE:
		if (e->fresh) {
			/* a shown date goes as a whole, like a selection */
			e->fresh = 0;
			delete_range(e, 0, len);
			e->changed = 1;
			return FE_CHANGED;
		}
		if (e->cur == 0)
			return FE_MOVED;
		delete_range(e, prev_char(s, e->cur), e->cur);
		e->changed = 1;
		return FE_CHANGED;
	case ACT_DELETE:
		e->fresh = 0;
		if (e->cur >= len)
			return FE_MOVED;
		delete_range(e, e->cur, next_char(s, len, e->cur));
		e->changed = 1;
		return FE_CHANGED;
	default:
		break;
	}
	if (is_key || a != ACT_NONE)
		return FE_IGNORED;
	/* text: no control characters (line breaks come through fedit_newline) */
	if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && ch < 0xa0) || ch > 0x10FFFF)
		return FE_IGNORED;
	uint32_t cp = (uint32_t)ch;
	if (ascii_kind(f->type)) {
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0;
		else if (cp == 0x3000)
			cp = ' ';
		else if (cp == 0x30FC || cp == 0x2212 || cp == 0x2010)
			cp = '-'; /* ー − ‐ typed for a hyphen */
	}
	if (!allowed(f, cp))
		return FE_REFUSED;
	if (e->fresh) {
		e->fresh = 0;
		delete_range(e, 0, e->text.len);
	}
	if (!room_for_one(e))
		return FE_MOVED;
	insert_cp(e, cp);
	e->changed = 1;
	return FE_CHANGED;
}

/* --- values --- */

/* Full-width digits as ASCII, surrounding spaces dropped (for the partial-date forms). */
static void ascii_digits(const char *in, struct sbuf *out)
{
	const char *p = in, *end = in + strlen(in);
	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		if (cp >= 0xFF10 && cp <= 0xFF19)
			sbuf_putc(out, (char)('0' + cp - 0xFF10));
		else if (cp == ' ' || cp == 0x3000)
			continue;
		else if (cp >= 0)
			utf8_put(out, (uint32_t)cp);
	}
	if (!out->s)
		sbuf_puts(out, "");
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* A partial date typed in 和暦 or with separators: "R8.4", "令和8年4月", "2026/4", "R8". */
static int partial_date(const char *t, const char *today, char out[9])
{
	static const struct {
		const char *end, *add;
		size_t keep;
	} tries[] = {
		{ "月", "1日", 6 }, { "年", "1月1日", 4 }, { NULL, ".1", 6 }, { NULL, "/1", 6 },
		{ NULL, ".1.1", 4 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tries); i++) {
		if (tries[i].end && !ends_with(t, tries[i].end))
			continue;
		struct sbuf b = { 0 };
		sbuf_printf(&b, "%s%s", t, tries[i].add);
		char ymd[9];
		int rc = wareki_parse(b.s, today, ymd);
		sbuf_free(&b);
		if (rc == 0) {
			memcpy(out, ymd, tries[i].keep);
			out[tries[i].keep] = '\0';
			return 0;
		}
	}
	return IKEN_EDATA;
}

int fedit_value(const struct fedit *e, const char *today_ymd, struct sbuf *value, struct sbuf *msg)
{
	const struct field *f = e->fld;
	const char *t = e->text.s ? e->text.s : "";
	char ymd[9];
	struct sbuf clean = { 0 };
	int rc = 0;
	sbuf_reset(value);
	if (f->type != FT_DATE && f->type != FT_PDATE) {
		sbuf_puts(value, t);
		if (!value->s)
			sbuf_puts(value, "");
		return 0;
	}
	ascii_digits(t, &clean);
	if (!*clean.s) {
		sbuf_puts(value, "");
	} else if (f->type == FT_PDATE && pdate_valid(clean.s)) {
		sbuf_puts(value, clean.s); /* 20260401, 202604, 2026, 不詳 */
	} else if (wareki_parse(t, today_ymd, ymd) == 0) {
		sbuf_puts(value, ymd);
	} else if (f->type == FT_PDATE && strspn(clean.s, "0123456789") != strlen(clean.s) &&
		   partial_date(clean.s, today_ymd, ymd) == 0) {
		sbuf_puts(value, ymd);
	} else {
		rc = IKEN_EDATA;
		if (e->ja)
			sbuf_printf(msg, "「%s」は存在しない日付か、日付として読めません (例: R8.4.1、令和8年4月1日、20260401%s)",
				    t, f->type == FT_PDATE ? "、202604、2026、不詳" : "");
		else
			sbuf_printf(msg, "\"%s\" is not a date that exists (e.g. R8.4.1, 令和8年4月1日, 20260401%s)",
				    t, f->type == FT_PDATE ? ", 202604, 2026, 不詳" : "");
	}
	sbuf_free(&clean);
	if (!value->s)
		sbuf_puts(value, "");
	return rc;
}

static void yen_commas(const char *v, struct sbuf *out)
{
	size_t n = strlen(v);
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			sbuf_putc(out, ',');
		sbuf_putc(out, v[i]);
	}
}

void field_display(const struct field *fld, const char *value, int ja, struct sbuf *out)
{
	char wa[WAREKI_BUFSZ];
	size_t n = value ? strlen(value) : 0;
	value = value ? value : "";
	switch (fld->type) {
	case FT_DATE:
	case FT_PDATE:
		if ((fld->type == FT_PDATE ? pdate_valid(value) : date_valid(value)) &&
		    strcmp(value, "不詳") != 0 && wareki_format(value, WAREKI_SHORT, wa, sizeof(wa)) == 0) {
			if (n == 8)
				sbuf_printf(out, "%s (%.4s-%.2s-%.2s)", wa, value, value + 4, value + 6);
			else if (n == 6)
				sbuf_printf(out, "%s (%.4s-%.2s)", wa, value, value + 4);
			else
				sbuf_printf(out, "%s (%s)", wa, value);
			return;
		}
		sbuf_puts(out, value);
		return;
	case FT_CODE: {
		const struct code *c = fld->codes && n ? codelist_find(fld->codes, value) : NULL;
		if (c)
			sbuf_printf(out, "%s %s", value, elabel(c->label, c->label_en, ja));
		else if (strcmp(value, "0") != 0)
			sbuf_puts(out, value);
		return;
	}
	case FT_YEN:
		if (n && strspn(value, "0123456789") == n) {
			yen_commas(value, out);
			return;
		}
		sbuf_puts(out, value);
		return;
	default:
		sbuf_puts(out, value);
		return;
	}
}

int field_remaining(const struct field *fld, const char *text, int ja, struct sbuf *out)
{
	if (fld->max <= 0 || (fld->type != FT_TEXT && fld->type != FT_TEXTAREA &&
			      fld->type != FT_KANA && fld->type != FT_ALNUM && fld->type != FT_PHONE))
		return 0;
	int left = fld->max - (int)utf8_len(text ? text : "");
	sbuf_printf(out, ja ? "残%d" : "%d left", left);
	return left;
}

/* --- layout of choices and boxes --- */

/* Places n items of the given widths in cols columns, every line starting at column indent;
 * gap columns between items. Returns the lines used. */
static int flow(int indent, int cols, size_t n, const int *w, int gap, int *line, int *x)
{
	int l = 0, cx = indent;
	for (size_t i = 0; i < n; i++) {
		/* an item that fits on no line still starts one of its own */
		if (cx > indent && cx + w[i] > cols) {
			l++;
			cx = indent;
		}
		line[i] = l;
		x[i] = cx;
		cx += w[i] + gap;
	}
	return l + 1;
}

static const char *code_label(const struct code *c, int ja)
{
	return elabel(c->label, c->label_en, ja);
}

static const char *bit_label(const struct field *fld, size_t i, int ja)
{
	const char *j = fld->bit_labels ? fld->bit_labels[i] : "";
	const char *en = fld->bit_labels_en ? fld->bit_labels_en[i] : NULL;
	return elabel(j, en, ja);
}

/* Item widths of a code's choices ("1:男") or a bits field's boxes ("[x]内科"). */
static size_t item_widths(const struct field *fld, int ja, int **w)
{
	size_t n = 0;
	if (fld->type == FT_CODE && fld->codes) {
		n = fld->codes->n;
		*w = xcalloc(n ? n : 1, sizeof(int));
		for (size_t i = 0; i < n; i++)
			(*w)[i] = utf8_width(fld->codes->codes[i].value) + 1 +
				  utf8_width(code_label(&fld->codes->codes[i], ja));
	} else if (fld->type == FT_BITS && fld->length > 0) {
		n = (size_t)fld->length;
		*w = xcalloc(n, sizeof(int));
		for (size_t i = 0; i < n; i++)
			(*w)[i] = 3 + utf8_width(bit_label(fld, i, ja));
	} else {
		*w = xcalloc(1, sizeof(int));
	}
	return n;
}

static int flow_layout(const struct field *fld, int cols, int ja, int **line, int **x, size_t *n)
{
	int *w;
	*n = item_widths(fld, ja, &w);
	*line = xcalloc(*n ? *n : 1, sizeof(int));
	*x = xcalloc(*n ? *n : 1, sizeof(int));
	int indent = fld->type == FT_CODE ? 4 : 0;
	for (size_t i = 0; i < *n; i++)
		if (w[i] > cols - indent)
			w[i] = cols - indent;
	int lines = *n ? flow(indent, cols, *n, w, 2, *line, *x) : 1;
	free(w);
	return lines;
}

int field_box_width(const struct field *fld, int cols)
{
	int w;
	switch (fld->type) {
	case FT_DIGITS: case FT_ALNUM: case FT_PHONE:
		w = (fld->length > 0 ? fld->length : fld->max > 0 ? fld->max : 20) + 1;
		break;
	case FT_TEXT: case FT_KANA:
		w = fld->max > 0 ? fld->max * 2 + 1 : 40;
		break;
	case FT_DECIMAL: w = 8; break;
	case FT_YEN: w = 12; break;
	case FT_DATE: case FT_PDATE: w = 22; break;
	case FT_CODE: w = 3; break;
	default: w = cols; break;
	}
	if (fld->width > 0)
		w = fld->width;
	if (w > cols)
		w = cols;
	return w < 3 ? 3 : w;
}

int field_entry_height(const struct field *fld, int cols, int ja, int max_rows)
{
	if (fld->type == FT_TEXTAREA) {
		int r = fld->rows > 0 ? fld->rows : 4;
		if (r > max_rows)
			r = max_rows;
		return r < 1 ? 1 : r;
	}
	if (fld->type == FT_CODE || fld->type == FT_BITS) {
		int *line, *x;
		size_t n;
		int lines = flow_layout(fld, cols, ja, &line, &x, &n);
		free(line);
		free(x);
		return lines;
	}
	return 1;
}

/* --- drawing --- */

static void put(const struct fcanvas *c, int vy, int x, const char *s, int cols, int pad, int attr)
{
	int row = fcanvas_row(c, vy);
	if (row < 0 || cols <= 0)
		return;
	wattrset(c->w, attr);
	draw_text(c->w, row, x, s, cols, pad);
	wattrset(c->w, A_NORMAL);
}

static void draw_line_entry(const struct fcanvas *c, int vy, int x, int cols, const struct field *fld,
			    const char *value, struct fedit *e, int ja, int attr, int *cy, int *cx)
{
	int bw = field_box_width(fld, cols);
	int row = fcanvas_row(c, vy);
	if (!e) {
		struct sbuf d = { 0 };
		field_display(fld, value, ja, &d);
		put(c, vy, x, d.s ? d.s : "", bw, 1, attr);
		sbuf_free(&d);
		return;
	}
	const char *s = e->text.s ? e->text.s : "";
	/* keep the cursor inside the box: one column stays free for it at the end */
	if (e->hscroll > e->cur)
		e->hscroll = e->cur;
	while (e->hscroll < e->cur && span_width(s, e->hscroll, e->cur) > bw - 1)
		e->hscroll = next_char(s, e->text.len, e->hscroll);
	/* a box that grew (resize, leaving a narrow screen) shows more of the text again */
	while (e->hscroll > 0) {
		size_t p = prev_char(s, e->hscroll);
		if (span_width(s, p, e->cur) > bw - 1)
			break;
		e->hscroll = p;
	}
	put(c, vy, x, s + e->hscroll, bw, 1, attr);
	if (row >= 0) {
		*cy = row;
		*cx = x + span_width(s, e->hscroll, e->cur);
	}
}

static void draw_area(const struct fcanvas *c, int vy, int x, int cols, const char *value,
		      struct fedit *e, int rows, int attr, int *cy, int *cx)
{
	const char *s = e ? (e->text.s ? e->text.s : "") : value;
	struct vrow *v;
	size_t n = wrap_rows(s, strlen(s), cols - 1, &v);
	int first = 0;
	if (e) {
		e->area_cols = cols;
		int r = (int)cursor_row(v, n, e->cur);
		if (e->vscroll > (int)n - rows)
			e->vscroll = (int)n - rows > 0 ? (int)n - rows : 0;
		if (r < e->vscroll)
			e->vscroll = r;
		if (r >= e->vscroll + rows)
			e->vscroll = r - rows + 1;
		first = e->vscroll;
		int row = fcanvas_row(c, vy + r - first);
		if (row >= 0) {
			*cy = row;
			*cx = x + span_width(s, v[r].start, e->cur);
		}
	}
	struct sbuf line = { 0 };
	for (int i = 0; i < rows; i++) {
		size_t k = (size_t)(first + i);
		sbuf_reset(&line);
		if (k < n)
			sbuf_add(&line, s + v[k].start, v[k].end - v[k].start);
		put(c, vy + i, x, line.s ? line.s : "", cols, 1, attr);
	}
	/* more text below what the area shows */
	if ((size_t)(first + rows) < n)
		put(c, vy + rows - 1, x + cols - 1, "v", 1, 0, draw_attr(DR_DIM));
	if (first > 0)
		put(c, vy, x + cols - 1, "^", 1, 0, draw_attr(DR_DIM));
	sbuf_free(&line);
	free(v);
}

void field_draw_entry(const struct fcanvas *c, int vy, int x, int cols, const struct field *fld,
		      const char *value, struct fedit *e, int ja, int max_rows, int readonly,
		      int *cy, int *cx)
{
	int box = e ? draw_attr(DR_FOCUS) : readonly ? draw_attr(DR_NORMAL) : draw_attr(DR_FIELD);
	value = value ? value : "";
	if (is_texty(fld->type)) {
		if (fld->type == FT_TEXTAREA)
			draw_area(c, vy, x, cols, value, e, field_entry_height(fld, cols, ja, max_rows),
				  readonly ? draw_attr(DR_NORMAL) : draw_attr(DR_FIELD), cy, cx);
		else
			draw_line_entry(c, vy, x, cols, fld, value, e, ja, box, cy, cx);
		return;
	}
	const char *v = e ? e->text.s : value;
	int *line, *ix;
	size_t n;
	flow_layout(fld, cols, ja, &line, &ix, &n);
	if (fld->type == FT_CODE) {
		char d[8];
		snprintf(d, sizeof(d), " %s ", v && *v && strcmp(v, "0") != 0 ? v : " ");
		put(c, vy, x, d, 3, 1, box);
		int row = fcanvas_row(c, vy);
		if (e && row >= 0) {
			*cy = row;
			*cx = x + 1;
		}
		for (size_t i = 0; i < n; i++) {
			const struct code *cd = &fld->codes->codes[i];
			struct sbuf t = { 0 };
			sbuf_printf(&t, "%s:%s", cd->value, code_label(cd, ja));
			int chosen = v && strcmp(v, cd->value) == 0;
			put(c, vy + line[i], x + ix[i], t.s, cols - ix[i], 0,
			    chosen ? draw_attr(DR_SELECT) : draw_attr(DR_NORMAL));
			sbuf_free(&t);
		}
	} else {
		size_t len = v ? strlen(v) : 0;
		for (size_t i = 0; i < n; i++) {
			int on = i < len && v[i] == '1';
			int focus = e && e->cur == i;
			put(c, vy + line[i], x + ix[i], on ? "[x]" : "[ ]", 3, 0,
			    focus ? draw_attr(DR_FOCUS) : readonly ? draw_attr(DR_NORMAL) : draw_attr(DR_FIELD));
			put(c, vy + line[i], x + ix[i] + 3, bit_label(fld, i, ja), cols - ix[i] - 3, 0,
			    on ? (int)A_BOLD : draw_attr(DR_NORMAL));
			int row = fcanvas_row(c, vy + line[i]);
			if (focus && row >= 0) {
				*cy = row;
				*cx = x + ix[i] + 1;
			}
		}
	}
	free(line);
	free(ix);
}
