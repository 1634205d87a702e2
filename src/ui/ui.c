#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "model/charset.h"
#include "model/docops.h"
#include "errcode.h"
#include "exchange/inbox.h"
#include "exchange/outbox.h"
#include "exchange/sign.h"
#include "i18n.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Set by SIGHUP/SIGTERM: the loop saves drafts and restores the terminal. */
static volatile sig_atomic_t got_stop;
static int curses_on;

static void on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

/* A crash still gives the terminal back. */
static void on_crash(int sig)
{
	if (curses_on)
		endwin();
	signal(sig, SIG_DFL);
	raise(sig);
}

const char *ui_role(const struct ui *ui)
{
	return ui->user ? app_role(ui->user) : "";
}

void ui_message(struct ui *ui, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ui->message, sizeof(ui->message), fmt, ap);
	va_end(ap);
	ui->message_error = error;
}

static void layout(struct ui *ui)
{
	getmaxyx(stdscr, ui->rows, ui->cols);
	if (ui->rows < 6)
		ui->rows = 6;
	if (ui->head) {
		delwin(ui->head);
		delwin(ui->body);
		delwin(ui->msgw);
		delwin(ui->bar);
	}
	ui->head = newwin(1, ui->cols, 0, 0);
	ui->body = newwin(ui->rows - 3, ui->cols, 1, 0);
	ui->msgw = newwin(1, ui->cols, ui->rows - 2, 0);
	ui->bar = newwin(1, ui->cols, ui->rows - 1, 0);
	keypad(ui->body, TRUE);
}

static void draw_head(struct ui *ui)
{
	WINDOW *w = ui->head;
	werase(w);
	wattrset(w, A_REVERSE);
	draw_text(w, 0, 0, "", ui->cols, 1);
	const char *title = ui->top && ui->top->ops->title ? ui->top->ops->title(ui->top) : "iken";
	const char *name = ui->user ? rec_val(ui->user, "name") : "";
	int rw = utf8_width(name);
	if (rw > ui->cols / 3)
		rw = 0;
	draw_textf(w, 0, 1, ui->cols - rw - 3, "iken  %s", title);
	if (rw)
		draw_text(w, 0, ui->cols - rw - 1, name, rw, 0);
	wattrset(w, A_NORMAL);
}

static void draw_msg(struct ui *ui)
{
	werase(ui->msgw);
	if (ui->message[0]) {
		wattrset(ui->msgw, ui->message_error ? draw_attr(DR_ERROR) : (int)A_BOLD);
		draw_text(ui->msgw, 0, 0, ui->message, ui->cols, 0);
		wattrset(ui->msgw, A_NORMAL);
	}
}

/* Test mode: IKEN_TEST_IDLE names a file that gets a new number every time the screen is up to
 * date and iken waits for a key, so a test can wait for idleness instead of sleeping. */
static void mark_idle(void)
{
	static unsigned long seq;
	const char *path = getenv("IKEN_TEST_IDLE");
	if (!path || !*path)
		return;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lu\n", ++seq);
	write_file_atomic(path, buf, (size_t)n, 0600);
}

static void paint(struct ui *ui, int all)
{
	struct view *v = ui->top;
	if (all)
		draw_head(ui);
	werase(ui->body);
	v->cursor_y = v->cursor_x = -1;
	if (v->ops->draw)
		v->ops->draw(v, ui->body);
	draw_msg(ui);
	draw_fkeys(ui->bar, ui->cols, v->ops->fkeys, ui->ja);
	wnoutrefresh(ui->head);
	wnoutrefresh(ui->msgw);
	wnoutrefresh(ui->bar);
	if (v->cursor_y >= 0) {
		curs_set(1);
		wmove(ui->body, v->cursor_y, v->cursor_x);
	} else {
		curs_set(0);
	}
	wnoutrefresh(ui->body);
	doupdate();
}

int ui_push(struct ui *ui, const struct view_ops *ops, void *arg)
{
	struct view *v = xcalloc(1, sizeof(*v));
	v->ops = ops;
	v->ui = ui;
	v->below = ui->top;
	int rc = ops->open ? ops->open(v, arg) : 0;
	if (rc) {
		free(v);
		return rc;
	}
	ui->top = v;
	return 0;
}

static void pop(struct ui *ui)
{
	struct view *v = ui->top;
	if (!v)
		return;
	if (v->ops->close)
		v->ops->close(v);
	ui->top = v->below;
	free(v);
}

/* Escape sequences a terminal sends when its TERM does not describe it (a common sight over
 * SSH from Windows terminal programs): decoded here so that keys still work. */
static const struct {
	const char *seq;
	int key;
} esc_seqs[] = {
	{ "[A", KEY_UP }, { "[B", KEY_DOWN }, { "[C", KEY_RIGHT }, { "[D", KEY_LEFT },
	{ "OA", KEY_UP }, { "OB", KEY_DOWN }, { "OC", KEY_RIGHT }, { "OD", KEY_LEFT },
	{ "[H", KEY_HOME }, { "[F", KEY_END }, { "OH", KEY_HOME }, { "OF", KEY_END },
	{ "[1~", KEY_HOME }, { "[4~", KEY_END }, { "[7~", KEY_HOME }, { "[8~", KEY_END },
	{ "[2~", KEY_IC }, { "[3~", KEY_DC }, { "[5~", KEY_PPAGE }, { "[6~", KEY_NPAGE },
	{ "[Z", KEY_BTAB },
	{ "OP", KEY_F(1) }, { "OQ", KEY_F(2) }, { "OR", KEY_F(3) }, { "OS", KEY_F(4) },
	{ "[11~", KEY_F(1) }, { "[12~", KEY_F(2) }, { "[13~", KEY_F(3) }, { "[14~", KEY_F(4) },
	{ "[15~", KEY_F(5) }, { "[17~", KEY_F(6) }, { "[18~", KEY_F(7) }, { "[19~", KEY_F(8) },
	{ "[20~", KEY_F(9) }, { "[21~", KEY_F(10) }, { "[23~", KEY_F(11) }, { "[24~", KEY_F(12) },
};

/* Reads the rest of an escape sequence after Esc and its first character. */
static int decode_escape(WINDOW *w, wint_t first, wint_t *ch)
{
	char seq[8] = { (char)first, 0 };
	size_t n = 1;
	wtimeout(w, 50);
	while (n < sizeof(seq) - 1) {
		int done = (first == 'O' && n == 2) || (n >= 2 && (seq[n - 1] == '~' ||
			    (seq[n - 1] >= 'A' && seq[n - 1] <= 'Z')));
		if (done)
			break;
		wint_t c;
		if (wget_wch(w, &c) != OK || c > 0x7f)
			break;
		seq[n++] = (char)c;
	}
	seq[n] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(esc_seqs); i++) {
		if (strcmp(seq, esc_seqs[i].seq) == 0) {
			*ch = (wint_t)esc_seqs[i].key;
			return 1;
		}
	}
	return 0; /* unknown: dropped rather than typed as text */
}

/* Reads one key: Esc followed by a digit is a function key (Esc 0 = F10, Esc - = F11,
 * Esc = = F12) for terminals without them; Esc Esc is Back; Esc [ … is an escape sequence the
 * terminfo did not know. */
static int read_key(struct ui *ui, int *is_key, wint_t *ch)
{
	wtimeout(ui->body, 1000);
	int r = wget_wch(ui->body, ch);
	if (r == ERR)
		return ERR;
	*is_key = r == KEY_CODE_YES;
	if (*is_key || *ch != 27)
		return OK;
	wint_t c2;
	wtimeout(ui->body, 300);
	r = wget_wch(ui->body, &c2);
	if (r == ERR)
		return OK; /* a lone Esc */
	*is_key = 1;
	if (r == OK && c2 >= '1' && c2 <= '9') {
		*ch = (wint_t)KEY_F((int)(c2 - '0'));
	} else if (r == OK && (c2 == '0' || c2 == '-' || c2 == '=')) {
		*ch = (wint_t)KEY_F(c2 == '0' ? 10 : c2 == '-' ? 11 : 12);
	} else if (r == OK && c2 == 27) {
		*ch = (wint_t)KEY_F(2);
	} else if (r == OK && (c2 == '[' || c2 == 'O')) {
		if (!decode_escape(ui->body, c2, ch))
			return ERR;
	} else {
		/* Alt+key: the key itself, not lost */
		*is_key = r == KEY_CODE_YES;
		*ch = c2;
	}
	return OK;
}

/* A modal line editor on the message line (search terms, answers). */
/* secret: the text is shown as '*' (a PIN). */
static char *prompt_line(struct ui *ui, const char *prompt, const char *initial, int secret)
{
	struct sbuf text = { 0 }, mask = { 0 };
	sbuf_puts(&text, initial ? initial : "");
	for (;;) {
		werase(ui->msgw);
		wattrset(ui->msgw, A_BOLD);
		int pw = draw_text(ui->msgw, 0, 0, prompt, ui->cols - 12, 0);
		wattrset(ui->msgw, A_NORMAL);
		const char *shown = text.s ? text.s : "";
		if (secret) {
			sbuf_reset(&mask);
			for (size_t i = 0; i < utf8_len(shown); i++)
				sbuf_putc(&mask, '*');
			shown = mask.s ? mask.s : "";
		}
		int tw = utf8_width(shown);
		int avail = ui->cols - pw - 2;
		/* keep the end of the text (where the cursor is) visible */
		while (tw > avail && *shown) {
			const char *p = shown;
			int32_t cp = utf8_next(&p, shown + strlen(shown));
			tw -= cp >= 0 ? cp_width((uint32_t)cp) : 1;
			shown = p;
		}
		draw_text(ui->msgw, 0, pw + 1, shown, avail, 0);
		curs_set(1);
		wmove(ui->msgw, 0, pw + 1 + tw);
		wnoutrefresh(ui->msgw);
		doupdate();
		mark_idle();
		int is_key = 0;
		wint_t ch = 0;
		wtimeout(ui->msgw, -1);
		keypad(ui->msgw, TRUE);
		int r = wget_wch(ui->msgw, &ch);
		if (got_stop || r == ERR) {
			goto cancel;
		}
		is_key = r == KEY_CODE_YES;
		enum action a = action_for_key(is_key, (unsigned)ch);
		if (!is_key && ch == 27) {
			ui->message[0] = '\0';
			goto cancel;
		}
		if (a == ACT_NEXT_FIELD || (is_key && ch == KEY_ENTER))
			break;
		if (a == ACT_BACKSPACE) {
			/* drop the last whole character */
			while (text.len && ((unsigned char)text.s[text.len - 1] & 0xC0) == 0x80)
				text.len--;
			if (text.len)
				text.len--;
			if (text.s)
				text.s[text.len] = '\0';
		} else if (!is_key && ch >= 0x20 && ch != 0x7f) {
			utf8_put(&text, (uint32_t)ch);
		}
	}
	ui->message[0] = '\0';
	sbuf_free(&mask);
	return sbuf_take(&text);
cancel:
	if (text.s)
		OPENSSL_cleanse(text.s, text.cap);
	sbuf_free(&text);
	sbuf_free(&mask);
	return NULL;
}

char *ui_prompt(struct ui *ui, const char *prompt, const char *initial)
{
	return prompt_line(ui, prompt, initial, 0);
}

char *ui_prompt_secret(struct ui *ui, const char *prompt)
{
	return prompt_line(ui, prompt, "", 1);
}

/* Sending from the screens: when the settings ask for signed opinions, the doctor's PIN is asked
 * for here (shown as *, never kept) and the certificate's subject confirmed, then the documents
 * are finalized, signed, queued and published. */
int ui_send(struct ui *ui, const uint64_t *ids, size_t n, struct sbuf *report)
{
	struct term_conf tcf;
	int rc = app_term_conf(ui->app, &tcf);
	int sign = !rc && tcf.sign_required;
	term_conf_clear(&tcf);
	if (rc)
		return rc;
	if (sign && ui->user) {
		char *pin = ui_prompt_secret(ui, _("PIN of the HPKI card:"));
		struct sbuf subject = { 0 };
		if (!pin)
			return IKEN_EPERM;
		rc = outbox_load_key_pin(ui->app, ui->user, pin, &subject, report);
		OPENSSL_cleanse(pin, strlen(pin));
		free(pin);
		if (!rc) {
			struct sbuf q = { 0 };
			sbuf_printf(&q, _("sign as %s?"),
				    subject.s ? subject.s : "");
			if (!ui_confirm(ui, q.s))
				rc = IKEN_EPERM;
			sbuf_free(&q);
		}
		sbuf_free(&subject);
		if (rc) {
			sign_key_free(ui->app->sign_key);
			ui->app->sign_key = NULL;
			return rc;
		}
	}
	rc = outbox_send(ui->app, ids, n, 0, report);
	sign_key_free(ui->app->sign_key);
	ui->app->sign_key = NULL;
	return rc;
}

int ui_confirm(struct ui *ui, const char *question)
{
	struct sbuf q = { 0 };
	sbuf_printf(&q, "%s %s", question, _("(y/n)"));
	char *a = ui_prompt(ui, q.s, "");
	sbuf_free(&q);
	int yes = a && (a[0] == 'y' || a[0] == 'Y' || strncmp(a, "ｙ", 3) == 0 || strncmp(a, "はい", 6) == 0);
	free(a);
	return yes;
}

void ui_poll_now(struct ui *ui)
{
	struct sbuf report = { 0 };
	size_t published = 0;
	struct poll_stats ps;
	outbox_publish_due(ui->app, 0, &published, &report);
	inbox_poll(ui->app, &ps, &report);
	if (published || ps.imported || ps.quarantined) {
		ui->counts_changed = 1;
		if (ps.imported)
			ui_message(ui, 0, _("%zu result(s) imported"),
				   ps.imported);
		if (ps.quarantined)
			ui_message(ui, 1, _("%zu result file(s) quarantined (see results)"),
				   ps.quarantined);
	}
	sbuf_free(&report);
	ui->last_poll = time(NULL);
}

/* Tests that want a quiet screen turn the background polling off. */
static int no_poll(void)
{
	const char *e = getenv("IKEN_TEST_NO_POLL");
	return e && *e && strcmp(e, "0") != 0;
}

static int loop(struct ui *ui)
{
	int all = 1;
	struct term_conf tcf;
	app_term_conf(ui->app, &tcf);
	int poll_every = tcf.poll_seconds;
	term_conf_clear(&tcf);
	while (ui->top && !got_stop) {
		paint(ui, all);
		all = 0;
		mark_idle();
		int is_key = 0;
		wint_t ch = 0;
		int r = read_key(ui, &is_key, &ch);
		if (got_stop)
			break;
		int flags = 0;
		if (r == ERR) {
			if (ui->top->ops->tick)
				flags |= ui->top->ops->tick(ui->top);
			/* results come back while the screens are open; the counts follow */
			if (!no_poll() && time(NULL) - ui->last_poll >= poll_every) {
				ui_poll_now(ui);
				if (ui->counts_changed)
					flags |= UI_ALL;
			}
			if (!flags)
				continue;
		} else if (is_key && ch == KEY_RESIZE) {
			layout(ui);
			all = 1;
			continue;
		} else {
			enum action a = action_for_key(is_key, (unsigned)ch);
			ui->message[0] = '\0';
			if (a == ACT_REFRESH) {
				clearok(curscr, TRUE);
				all = 1;
				continue;
			}
			flags = ui->top->ops->key(ui->top, a, is_key, ch);
		}
		if (flags & UI_QUIT)
			break;
		if (flags & UI_CLOSE) {
			pop(ui);
			flags |= UI_ALL;
		}
		if (flags & UI_ALL)
			all = 1;
	}
	while (ui->top)
		pop(ui);
	return 0;
}

/* Test mode: IKEN_TEST_OPEN="form:FORM:ID[:SOURCE_ID]" opens record ID of FORM over the menu
 * (ID 0: a new one, made from record SOURCE_ID when given), as the lists would. */
static void test_open(struct ui *ui, const char *spec)
{
	char form[32];
	unsigned long long id = 0, src = 0;
	if (sscanf(spec, "form:%31[^:]:%llu:%llu", form, &id, &src) < 2)
		return;
	const struct form *f = formset_get(ui->app->fs, form);
	struct record *s = NULL, *init = NULL;
	if (f && !id && src && store_get(ui->app->st, src, &s) == 0)
		init = docops_new(ui->app, f, ui->user, s);
	rec_free(s);
	struct form_arg fa = { form, id, init, NULL };
	if (ui_push(ui, &form_view_ops, &fa))
		rec_free(init);
}

int ui_main(struct app *a)
{
	struct ui ui;
	memset(&ui, 0, sizeof(ui));
	ui.app = a;
	ui.ja = iken_lang_ja();
	if (app_current_user(a, &ui.user)) {
		fprintf(stderr, ui.ja ? "iken: 利用者 %s は iken に登録されていません。管理者に登録を依頼してください (iken import user)\n" :
					"iken: the Unix user %s is not registered in iken; ask the administrator to add you (iken import user)\n",
			a->user);
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGABRT, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGPIPE, SIG_IGN);
	if (!getenv("ESCDELAY"))
		set_escdelay(100);
	initscr();
	curses_on = 1;
	raw();
	noecho();
	nonl();
	draw_init_colors(has_colors() && !getenv("NO_COLOR"));
	layout(&ui);
	ui_poll_now(&ui);
	int rc = ui_push(&ui, &menu_view_ops, NULL);
	const char *topen = getenv("IKEN_TEST_OPEN");
	if (!rc && topen && *topen)
		test_open(&ui, topen);
	if (!rc)
		loop(&ui);
	endwin();
	curses_on = 0;
	if (got_stop)
		fprintf(stderr, "iken: %s\n", ui.ja ? "中断しました (入力中の下書きは保存されています)" :
					       "stopped (drafts being typed were saved)");
	rec_free(ui.user);
	return 0;
}
