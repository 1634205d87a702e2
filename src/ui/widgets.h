/* Pieces the screens share: a scrolling list (selection, scrolling, the movement keys, rows
 * drawn through a callback), the keys every screen treats alike, the search line of the lists
 * and the result inquiry, and what the screens ask of the form model. Nothing here owns a
 * screen's rows: the screen keeps them and passes their count. */
#ifndef IKEN_UI_WIDGETS_H
#define IKEN_UI_WIDGETS_H

#include <stddef.h>
#include <stdint.h>
#include <wchar.h>
#include <curses.h>
#include "model/form.h"
#include "store/store.h"
#include "util.h"
#include "ui/actions.h"
#include "ui/draw.h"

struct ui;

/* The ops of a screen whose functions are prefix_open … prefix_title, with the key bar fkeys
 * (tig's DEFINE_VIEW); a screen whose bar depends on what it shows defines one per bar and
 * switches v->ops in open. tick may be NULL. */
#define VIEW_OPS(name_, prefix_, tick_, fkeys_) \
	{ (name_), prefix_##_open, prefix_##_draw, prefix_##_key, (tick_), prefix_##_close, \
	  prefix_##_title, (fkeys_) }

/* --- keys --- */

/* 1 for Enter (Return, Ctrl-J, keypad Enter), which the action table reads as next-field. */
int widget_is_enter(int is_key, wint_t ch);
/* F1 and ? push the help (UI_ALL), F2 goes back (UI_CLOSE); UI_OK for any other key. */
int widget_screen_key(struct ui *ui, enum action a, int is_key, wint_t ch);
/* 1 once for each background poll that brought something since *seen (updated then): a
 * screen's tick re-reads its rows. */
int widget_poll_news(const struct ui *ui, int64_t *seen);
/* ui_confirm() with the question formatted. */
int widget_confirmf(struct ui *ui, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --- a scrolling list: the screen keeps the rows, this the selection and the top row --- */

struct wlist {
	int sel, top;
};

/* Rows of w left for the list when other lines of it are taken (at least 1). */
int wlist_page(WINDOW *w, int other);
/* Puts the selection back on one of n rows (the last; 0 when there are none). */
void wlist_clamp(struct wlist *l, size_t n);
/* Up and Down over n rows; with page > 0 also PgUp and PgDn (by page rows), Home and End.
 * UI_REDRAW when a is one of them, else UI_OK. */
int wlist_key(struct wlist *l, enum action a, size_t n, int page);
/* Scrolls so that the selection is on one of page rows; returns how many of the n rows from
 * l->top are on screen. */
size_t wlist_scroll(struct wlist *l, size_t n, int page);

/* How a screen draws its rows: role gives the attribute of row i when it is not selected (NULL:
 * DR_NORMAL); draw writes row i at line y, the attribute set and a selected row already filled
 * across the width. i counts from the first row of the list, not of the screen. */
struct wlist_rows {
	enum draw_role (*role)(void *ctx, size_t i);
	void (*draw)(void *ctx, WINDOW *w, int y, size_t i);
	void *ctx;
};
/* Draws count rows from l->top at lines y0 onward. */
void wlist_draw(const struct wlist *l, WINDOW *w, int y0, size_t count, const struct wlist_rows *r);
/* The dim line (line 3) a list shows under its header when it has no rows. */
void wlist_empty(WINDOW *w, const char *text);
/* The records of the n ids (those on screen), read in one transaction; an unreadable one is
 * NULL. The caller frees them with widget_records_free(). */
struct record **widget_records(struct store *st, const uint64_t *ids, size_t n);
/* Frees the n records and the array. */
void widget_records_free(struct record **recs, size_t n);

/* Columns one apart from x = 1: x[k] is where the column of width w[k] starts (n of them), x[n]
 * where the rest of the line starts. */
void widget_columns(int *x, const int *w, size_t n);
/* The keys that are not function keys, dim on the body's last line. */
void widget_keys_line(WINDOW *w, const char *text);
/* A hint on the body's last line, painted now, while the message line asks a question. */
void widget_hint(WINDOW *w, const char *text);

/* --- the search line (F5) --- */

/* What a search line asks for: words separated by ASCII spaces (a kana name holds a full-width
 * space). The strings belong to the filter; wfilter_clear() frees them. */
struct wfilter {
	char *text;            /* as typed, for the summary and the next prompt; NULL: no filter */
	char *insured, *kana;  /* an insured number (10 digits), a kana prefix; NULL: none */
	char from[9], to[9];   /* a date or FROM..TO (和暦 or Gregorian) as YYYYMMDD; "": open */
	int status;            /* what the screen's status_word gave; -1: none */
};
/* Empties f (status -1). */
void wfilter_clear(struct wfilter *f);
/* Reads text into f after clearing it; status_word(word) gives a status (>= 0) or -1. Returns
 * 0, or -1 with f cleared and the word that could not be read in *bad, which the caller frees. */
int wfilter_parse(struct wfilter *f, const char *text, int (*status_word)(const char *word),
		  char **bad);

/* A set of strings kept in the order added; strset_free() frees them. */
struct strset {
	size_t n;
	char **v;
};
/* Adds a copy of x unless it is there already. */
void strset_add(struct strset *s, const char *x);
/* Frees the strings; s is empty afterwards. */
void strset_free(struct strset *s);
/* Adds the spellings to look a kana prefix up by: as typed, in katakana, in hiragana (names are
 * stored in either). */
void widget_kana_variants(const char *kana, struct strset *out);
/* Inside a store transaction: adds to numbers the insured numbers of the records whose kana
 * starts with one of kana's variants, in every form that has both indexes (applicants,
 * opinions). Returns 0 or the store's error. */
int widget_kana_insured(struct store_txn *t, const struct formset *fs, const char *kana,
			struct strset *numbers);

/* --- the form model, as the screens see it --- */

/* The field with the index kind ("insured", "kana", "date") in f (may be NULL), or NULL. */
const struct field *widget_index_field(const struct form *f, const char *kind);
/* The person's name: the first text field after the kana (else insured) index field. */
const struct field *widget_name_field(const struct form *f);
/* 1 when f (may be NULL) fills fields from source ("applicant", "opinion"): invoices are the
 * documents filled from an opinion. */
int widget_prefills_from(const struct form *f, const char *source);

/* A value as a list column shows it, appended to out: dates in short 和暦, codes by their label,
 * anything else as stored. */
void widget_show_value(int ja, const struct field *fld, const char *v, struct sbuf *out);
/* Time t as 和暦 date and hh:mm in Japanese (ja), YYYY-MM-DD hh:mm otherwise, appended to out. */
void widget_time_text(int ja, int64_t t, struct sbuf *out);

#endif
