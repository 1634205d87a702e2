/* One table of actions: the default key, the function-key bar label and the help text of every
 * action. It produces the key handling, the help screen and the key list of the man page. */
#ifndef IKEN_UI_ACTIONS_H
#define IKEN_UI_ACTIONS_H

#include <stddef.h>

enum action {
	ACT_NONE,
	ACT_HELP,        /* F1, ? */
	ACT_BACK,        /* F2, Esc Esc */
	ACT_NEW,         /* F3 */
	ACT_COPY_PREV,   /* F4 前回コピー */
	ACT_SEARCH,      /* F5 */
	ACT_PAGE_PREV,   /* F6, PgUp */
	ACT_PAGE_NEXT,   /* F7, PgDn */
	ACT_CHECK,       /* F8 点検 */
	ACT_FINALIZE,    /* F9 確定 */
	ACT_SEND,        /* F10 送信 */
	ACT_CANCEL,      /* F11 取消 */
	ACT_SAVE,        /* F12 登録 */
	ACT_NEXT_FIELD,  /* Tab, Enter */
	ACT_PREV_FIELD,  /* Shift-Tab */
	ACT_UP, ACT_DOWN, ACT_LEFT, ACT_RIGHT, ACT_HOME, ACT_END,
	ACT_DELETE, ACT_BACKSPACE,
	ACT_OPEN,        /* Enter on a list */
	ACT_TOGGLE,      /* Space on a check box */
	ACT_REFRESH,     /* Ctrl-L */
	ACT_QUIT,        /* F2 on the main menu, q */
	/* Keys of one screen. Letters are not mapped by action_for_key (they are text in a form):
	 * the screen reads the character; the table gives them help and the man page. */
	ACT_CORRECT,     /* F4 on a result's detail (F4 reads as ACT_COPY_PREV), Enter */
	ACT_OPINIONS,    /* o on the applicant list */
	ACT_NEW_INVOICE, /* i on the opinion list */
	ACT_RETRY,       /* r on the send queue */
	ACT__COUNT
};

struct action_info {
	enum action id;
	const char *name;       /* for the man page and key scripts */
	int fkey;               /* 1-12, 0 = not on the function-key bar */
	const char *keys;       /* the keys, as shown in help */
	const char *label_ja, *label_en;  /* function-key bar label */
	const char *help_ja, *help_en;
};

const struct action_info *action_info(enum action a);
/* The whole table (for the help screen and the man page). */
const struct action_info *action_table(size_t *n);

/* Maps a key read by ncurses (is_key: a KEY_* code, else a character) to an action; characters
 * that are text give ACT_NONE. The caller has already turned Esc+digit into function keys. */
enum action action_for_key(int is_key, unsigned key);

/* Writes the key list in man-page (troff) form to stdout: `iken --keys-man`. */
void action_print_man(void);

#endif
