/* Drawing helpers that measure double-width characters: text is clipped at a column limit and a
 * wide character is never cut in half. */
#ifndef IKEN_UI_DRAW_H
#define IKEN_UI_DRAW_H

#include <curses.h>
#include "ui/actions.h"

/* Draws UTF-8 text at (y, x) in at most cols columns; returns the columns used. pad: fill the
 * rest with spaces. */
int draw_text(WINDOW *w, int y, int x, const char *s, int cols, int pad);
/* printf into draw_text. */
int draw_textf(WINDOW *w, int y, int x, int cols, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The function-key bar: twelve slots, the actions of fkeys in their F-key slots. */
void draw_fkeys(WINDOW *w, int cols, const enum action *fkeys, int ja);
/* Attribute for a role: works without colours. */
enum draw_role { DR_NORMAL, DR_TITLE, DR_LABEL, DR_FIELD, DR_FOCUS, DR_ERROR, DR_WARN, DR_DIM, DR_SELECT };
int draw_attr(enum draw_role r);
void draw_init_colors(int has_colors);

#endif
