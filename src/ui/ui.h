/* The screen loop: a stack of views (tig's view_ops), one action table for keys, handlers that
 * return redraw flags, one doupdate() per turn (htop's ScreenManager). Layout: a title line, the
 * view's body, a message line and the function-key bar on the bottom line. */
#ifndef IKEN_UI_H
#define IKEN_UI_H

#include <stdarg.h>
#include <time.h>
#include <wchar.h>
#include <curses.h>
#include "app.h"
#include "ui/actions.h"

enum {
	UI_OK = 0,
	UI_REDRAW = 1,  /* the view's body changed */
	UI_CLOSE = 2,   /* pop this view */
	UI_QUIT = 4,    /* leave iken */
	UI_ALL = 8,     /* everything changed (a view below, counts) */
};

struct view;

struct view_ops {
	const char *name;
	/* Sets up v->priv from arg; returns 0, or an error (the view is not pushed; the message
	 * line says why). */
	int (*open)(struct view *v, void *arg);
	/* Draws the body (the window is erased before). */
	void (*draw)(struct view *v, WINDOW *w);
	/* Handles one key: the action (ACT_NONE for text) and the character or KEY_* code. */
	int (*key)(struct view *v, enum action a, int is_key, wint_t ch);
	/* Called about once a second when no key comes: autosave, timers. May be NULL. */
	int (*tick)(struct view *v);
	/* Called when the view is popped and when iken stops (SIGHUP, SIGTERM): save drafts here. */
	void (*close)(struct view *v);
	/* Title for the title line (the user's language). */
	const char *(*title)(struct view *v);
	/* Actions shown on the function-key bar, ending with ACT_NONE. */
	const enum action *fkeys;
};

struct view {
	const struct view_ops *ops;
	void *priv;
	struct ui *ui;
	struct view *below;
	int cursor_y, cursor_x; /* body coordinates of the cursor; -1 hides it */
};

struct ui {
	struct app *app;
	struct record *user;     /* the signed-in user's record */
	struct view *top;
	WINDOW *head, *body, *msgw, *bar;
	int rows, cols;
	char message[512];
	int message_error;
	int ja;                  /* Japanese interface */
	int color;
	time_t last_poll;
	int counts_changed;
	int stopping;
};

/* Runs the screens until the user quits. Refuses an unknown Unix user before the terminal is
 * touched. Returns a process exit status. */
int ui_main(struct app *a);

/* Pushes a new view on top; returns 0, or open()'s error. */
int ui_push(struct ui *ui, const struct view_ops *ops, void *arg);
/* A message on the message line until the next key (error: shown as an error). */
void ui_message(struct ui *ui, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Picks the Japanese or English text. Messages use _() and po/ja.po; UI_T is left only where
 * gettext cannot express the pair (an empty English text, one English text with two Japanese ones). */
#define UI_T(ui_, ja_, en_) ((ui_)->ja ? (ja_) : (en_))
/* Asks a yes/no question on the message line; 1 for yes. */
int ui_confirm(struct ui *ui, const char *question);
/* Reads one line of text on the message line (prompt, initial value); NULL when cancelled.
 * The caller frees the result. */
char *ui_prompt(struct ui *ui, const char *prompt, const char *initial);

/* The same for a secret (a PIN): shown as '*', wiped when cancelled; the caller wipes it. */
char *ui_prompt_secret(struct ui *ui, const char *prompt);
/* Finalizes, signs when the settings ask for it (PIN asked here), queues and publishes. */
int ui_send(struct ui *ui, const uint64_t *ids, size_t n, struct sbuf *report);

/* Role of the signed-in user: "1" doctor, "2" clerk, "3" admin. */
const char *ui_role(const struct ui *ui);

/* Publishes what is due and imports results now (also done by the loop every poll_seconds). */
void ui_poll_now(struct ui *ui);

/* Screens (one per file). */
extern const struct view_ops menu_view_ops, help_view_ops, list_view_ops, form_view_ops,
	queue_view_ops, results_view_ops, settings_view_ops;

/* The argument of list_view_ops: which form's records, optionally for one applicant. */
struct list_arg {
	const char *form;              /* "applicant", "ikensho", "seikyu" */
	const char *insured;           /* NULL: all */
	int status;                    /* -1: any */
};
/* The argument of form_view_ops. */
struct form_arg {
	const char *form;
	uint64_t id;                   /* 0: a new record */
	struct record *init;           /* new record's initial values (taken over), may be NULL */
	const char *jump_field;        /* field id to put the cursor on, may be NULL */
};

#endif
