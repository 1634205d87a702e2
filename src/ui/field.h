/* Editing one field value as typed text, and drawing a field's entry (box, choices, check boxes,
 * text area) from the form model. Widths are display columns: a double-width character is never
 * cut at a box edge. The form screen (form.c) places the entries; this file knows the kinds of
 * field, never a particular item. */
#ifndef IKEN_UI_FIELD_H
#define IKEN_UI_FIELD_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>
#include <curses.h>
#include "model/form.h"
#include "ui/actions.h"
#include "util.h"

/* Part of a window showing a taller virtual page: virtual line v is at window row
 * top + v - scroll when it is one of the rows visible lines. */
struct fcanvas {
	WINDOW *w;
	int top, rows, scroll;
};
/* Window row of virtual line v, or -1 when it is scrolled out. */
int fcanvas_row(const struct fcanvas *c, int v);

/* The editor of the focused field. */
struct fedit {
	const struct field *fld;
	int ja;
	struct sbuf text;  /* as typed: 和暦 for a date, the digit of a code, 0/1 per box of bits */
	size_t cur;        /* byte offset of the cursor; the box index for bits */
	size_t hscroll;    /* first byte shown in a one-line box */
	int vscroll;       /* first row shown of a text area */
	int want_col;      /* column Up/Down keep in a text area (-1: the cursor's) */
	int fresh;         /* the first character typed replaces the text (a date shown as 和暦) */
	int area_cols;     /* columns a text area was last drawn in (Up/Down follow its rows) */
	int changed;       /* typed since fedit_start */
};

/* Starts editing value (stored form) of fld; fedit_clear() frees the text. */
void fedit_start(struct fedit *e, const struct field *fld, const char *value, int ja);
void fedit_clear(struct fedit *e);

enum {
	FE_IGNORED = 0,  /* not for the editor: the form handles it (Up on a one-line box, Tab…) */
	FE_MOVED = 1,    /* the cursor moved */
	FE_CHANGED = 2,  /* the text changed */
	FE_REFUSED = 4,  /* a character this kind of field cannot hold (a letter in a number) */
};
/* One key (action from the action table, or a character). Characters from an input method
 * arrive as wide characters (wget_wch); full-width digits and letters typed into number fields
 * are taken as ASCII. */
int fedit_key(struct fedit *e, enum action a, int is_key, wint_t ch);
/* Inserts a line break (text areas only: Ctrl-J); FE_IGNORED elsewhere. */
int fedit_newline(struct fedit *e);

/* The value to store for the text: a date in 和暦 or Gregorian becomes YYYYMMDD (today_ymd
 * decides the era of "8.4.1"), a partial date YYYYMM, YYYY or 不詳; other kinds are the text.
 * Returns 0, or IKEN_EDATA with a message in the user's language in msg when a date cannot be
 * read or does not exist (the text is kept for correction). */
int fedit_value(const struct fedit *e, const char *today_ymd, struct sbuf *value, struct sbuf *msg);

/* How a stored value reads on the screen: 和暦 and Gregorian for dates ("R8.4.1 (2026-04-01)"),
 * the digit and label for a code, thousands separators for yen, the text otherwise. */
void field_display(const struct field *fld, const char *value, int ja, struct sbuf *out);

/* Lines the entry of fld takes in cols columns (text areas: at most max_rows). */
int field_entry_height(const struct field *fld, int cols, int ja, int max_rows);
/* Columns of the one-line box of fld (capped at cols). */
int field_box_width(const struct field *fld, int cols);

/* Draws the entry of fld at virtual line vy, column x, in cols columns: value when e is NULL,
 * else the editor's text with the cursor, whose window position goes to *cy and *cx (left alone
 * when scrolled out). readonly: shown dim (derived items, documents that cannot change). */
void field_draw_entry(const struct fcanvas *c, int vy, int x, int cols, const struct field *fld,
		      const char *value, struct fedit *e, int ja, int max_rows, int readonly,
		      int *cy, int *cx);

/* "残 12" / "12 left" for fields with a maximum length; out stays empty otherwise. Returns the
 * characters left (negative when over). */
int field_remaining(const struct field *fld, const char *text, int ja, struct sbuf *out);

#endif
