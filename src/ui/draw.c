#include "config.h"
#include "ui/draw.h"
#include "model/charset.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

static int use_color;

void draw_init_colors(int has_colors)
{
	use_color = has_colors;
	if (!has_colors)
		return;
	start_color();
	use_default_colors();
	init_pair(1, COLOR_BLUE, -1);
	init_pair(2, COLOR_RED, -1);
	init_pair(3, COLOR_YELLOW, -1);
	init_pair(4, COLOR_BLACK, COLOR_CYAN);
}

/* Attributes alone carry the meaning; colours only add to them (monochrome terminals, TERM=linux). */
int draw_attr(enum draw_role r)
{
	switch (r) {
	case DR_TITLE: return A_BOLD | (use_color ? COLOR_PAIR(1) : 0);
	case DR_LABEL: return A_NORMAL;
	case DR_FIELD: return A_UNDERLINE;
	case DR_FOCUS: return A_REVERSE;
	case DR_ERROR: return A_BOLD | (use_color ? COLOR_PAIR(2) : 0);
	case DR_WARN: return A_BOLD | (use_color ? COLOR_PAIR(3) : 0);
	case DR_DIM: return A_DIM;
	case DR_SELECT: return A_REVERSE | A_BOLD;
	default: return A_NORMAL;
	}
}

int draw_text(WINDOW *w, int y, int x, const char *s, int cols, int pad)
{
	int used = 0;
	if (cols <= 0)
		return 0;
	/* Line breaks and tabs inside a value are shown as a space on one line. */
	struct sbuf clean = { 0 };
	for (const char *p = s ? s : ""; *p; p++)
		sbuf_putc(&clean, (*p == '\n' || *p == '\t' || *p == '\v' || *p == '\r') ? ' ' : *p);
	const char *t = clean.s ? clean.s : "";
	size_t n = utf8_fit(t, cols, &used);
	mvwaddnstr(w, y, x, t, (int)n);
	if (pad)
		for (int i = used; i < cols; i++)
			waddch(w, ' ');
	sbuf_free(&clean);
	return pad ? cols : used;
}

int draw_textf(WINDOW *w, int y, int x, int cols, const char *fmt, ...)
{
	struct sbuf b = { 0 };
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	int r = draw_text(w, y, x, b.s ? b.s : "", cols, 0);
	sbuf_free(&b);
	return r;
}

void draw_fkeys(WINDOW *w, int cols, const enum action *fkeys, int ja)
{
	werase(w);
	for (int fk = 1; fk <= 12; fk++) {
		/* twelve slots spread over the whole width, as receipt software does */
		int x = (fk - 1) * cols / 12, width = fk * cols / 12 - x;
		const char *label = NULL;
		for (const enum action *a = fkeys; a && *a != ACT_NONE; a++) {
			const struct action_info *ai = action_info(*a);
			if (ai && ai->fkey == fk)
				label = ja ? ai->label_ja : ai->label_en;
		}
		char num[8];
		snprintf(num, sizeof(num), "%d", fk);
		int nw = fk >= 10 ? 2 : 1;
		wattrset(w, A_BOLD);
		draw_text(w, 0, x, num, nw, 0);
		wattrset(w, label ? A_REVERSE : A_NORMAL);
		/* a label that fills its slot exactly touches the next number; a longer one is cut
		 * one column short so that the numbers stay apart */
		int avail = width - nw;
		if (label && utf8_width(label) > avail)
			avail--;
		draw_text(w, 0, x + nw, label ? label : "", avail, 1);
		wattrset(w, A_NORMAL);
	}
}
