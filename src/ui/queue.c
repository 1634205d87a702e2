/* The send queue: every attempt to send a document, newest first, with its state, failures,
 * last error and time; an invoice shows the opinion it goes with. Send now, retry, cancel before
 * publication. The screen only reads the queue; outbox does every change. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/widgets.h"
#include "model/charset.h"
#include "errcode.h"
#include "exchange/outbox.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_SECONDS 5  /* another session or the poll service may change the queue */

struct qrow {
	char *file_id, *file_name, *form, *last_error, *reception_no, *pair;
	const char *shown;             /* display state (static string) */
	enum q_state state;
	uint64_t doc_id;
	unsigned tries;
	int64_t time;
};

struct queue {
	struct qrow *rows;
	size_t n, cap;
	struct wlist wl;
	int wait_hours;
	time_t scanned;
	int64_t seen_poll;
};

static void rows_free(struct queue *q)
{
	for (size_t i = 0; i < q->n; i++) {
		struct qrow *r = &q->rows[i];
		free(r->file_id);
		free(r->file_name);
		free(r->form);
		free(r->last_error);
		free(r->reception_no);
		free(r->pair);
	}
	q->n = 0;
}

struct scan_ctx {
	struct queue *q;
	int64_t now;
};

static char *dup0(const char *s)
{
	return xstrdup(s ? s : "");
}

/* Called inside outbox_scan's transaction: copies only. */
static int on_entry(const struct q_entry *e, void *vctx)
{
	struct scan_ctx *c = vctx;
	struct queue *q = c->q;
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->rows = xrealloc(q->rows, q->cap * sizeof(*q->rows));
	}
	struct qrow *r = &q->rows[q->n++];
	r->file_id = dup0(e->file_id);
	r->file_name = dup0(e->file_name);
	r->form = dup0(e->form);
	r->last_error = dup0(e->last_error);
	r->reception_no = dup0(e->reception_no);
	r->pair = dup0(e->pair);
	r->shown = q_entry_display_state(e, q->wait_hours, c->now);
	r->state = e->state;
	r->doc_id = e->doc_id;
	r->tries = e->tries;
	/* the time of the latest event: result, publication, else queueing */
	r->time = e->resulted ? e->resulted : e->published ? e->published : e->created;
	return 0;
}

static void rescan(struct view *v)
{
	struct queue *q = v->priv;
	struct ui *ui = v->ui;
	const char *keep = q->n && q->wl.sel < (int)q->n ? q->rows[q->wl.sel].file_id : NULL;
	char *kept = keep ? xstrdup(keep) : NULL;
	struct term_conf tcf;
	app_term_conf(ui->app, &tcf);
	q->wait_hours = tcf.wait_hours;
	term_conf_clear(&tcf);
	rows_free(q);
	struct scan_ctx c = { q, (int64_t)iken_now() };
	int rc = outbox_scan(ui->app, 0, on_entry, &c);
	if (rc)
		ui_message(ui, 1, "%s", iken_strerror(rc));
	/* newest first: the attempt just made is at the top */
	for (size_t i = 0; i < q->n / 2; i++) {
		struct qrow t = q->rows[i];
		q->rows[i] = q->rows[q->n - 1 - i];
		q->rows[q->n - 1 - i] = t;
	}
	for (size_t i = 0; kept && i < q->n; i++)
		if (strcmp(q->rows[i].file_id, kept) == 0)
			q->wl.sel = (int)i;
	free(kept);
	wlist_clamp(&q->wl, q->n);
	q->scanned = time(NULL);
}

/* file_id is never NULL (rows hold "" for none). */
static const struct qrow *find_file(const struct queue *q, const char *file_id)
{
	for (size_t i = 0; *file_id && i < q->n; i++)
		if (strcmp(q->rows[i].file_id, file_id) == 0)
			return &q->rows[i];
	return NULL;
}

/* --- words --- */

static const char *state_word(const struct ui *ui, const char *shown)
{
	static const struct {
		const char *en, *ja;
	} words[] = {
		{ "queued", "送信待ち" },      { "claimed", "送信中" },   { "publishing", "送信中" },
		{ "publish-failed", "送信失敗" }, { "published", "送信済" }, { "waiting-long", "結果未着" },
		{ "accepted", "受理" },        { "rejected", "返戻" },    { "cancelled", "取消" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcmp(shown, words[i].en) == 0)
			return ui->ja ? words[i].ja : words[i].en;
	return shown;
}

static int is_invoice(const struct ui *ui, const char *form)
{
	return widget_prefills_from(formset_get(ui->app->fs, form), "opinion");
}

static const char *form_word(const struct ui *ui, const char *form)
{
	if (!formset_get(ui->app->fs, form))
		return form;
	if (is_invoice(ui, form))
		return _("invoice");
	return _("opinion");
}

/* --- open / draw --- */

static const enum action queue_fkeys[] = {
	ACT_HELP, ACT_BACK, ACT_PAGE_PREV, ACT_PAGE_NEXT, ACT_SEND, ACT_CANCEL, ACT_NONE,
};

static int queue_open(struct view *v, void *arg)
{
	(void)arg;
	struct queue *q = xcalloc(1, sizeof(*q));
	q->seen_poll = (int64_t)v->ui->last_poll;
	v->priv = q;
	rescan(v);
	return 0;
}

static void queue_close(struct view *v)
{
	struct queue *q = v->priv;
	rows_free(q);
	free(q->rows);
	free(q);
}

static const char *queue_title(struct view *v)
{
	return _("Send queue");
}

enum { DETAIL_LINES = 3 };

static int page_rows(WINDOW *w)
{
	/* summary, header, help line, and the detail when there is room */
	return wlist_page(w, 3 + (getmaxy(w) >= 12 ? DETAIL_LINES : 0));
}

static void draw_detail(struct view *v, WINDOW *w, int y, const struct qrow *r)
{
	struct ui *ui = v->ui;
	int cols = getmaxx(w);
	struct sbuf s = { 0 };
	sbuf_printf(&s, _("file id %s   %s"), r->file_id, r->file_name);
	draw_text(w, y, 1, s.s, cols - 2, 0);
	sbuf_reset(&s);
	if (is_invoice(ui, r->form)) {
		const struct qrow *p = find_file(v->priv, r->pair);
		if (!*r->pair)
			sbuf_puts(&s, _("paired opinion: none"));
		else if (p)
			sbuf_printf(&s, _("paired opinion: document %llu  %s (%s)"),
				    (unsigned long long)p->doc_id, p->file_id, state_word(ui, p->shown));
		else
			sbuf_printf(&s, _("paired opinion: %s"), r->pair);
	} else if (*r->reception_no) {
		sbuf_printf(&s, _("reception number: %s"), r->reception_no);
	}
	draw_text(w, y + 1, 1, s.s, cols - 2, 0);
	sbuf_reset(&s);
	if (*r->last_error) {
		sbuf_printf(&s, _("last error: %s"), r->last_error);
		wattrset(w, draw_attr(DR_ERROR));
	} else if (is_invoice(ui, r->form) && *r->reception_no) {
		sbuf_printf(&s, _("reception number: %s"), r->reception_no);
	}
	draw_text(w, y + 2, 1, s.s, cols - 2, 0);
	wattrset(w, A_NORMAL);
	sbuf_free(&s);
}

/* What the rows of one paint share: the columns. */
struct paint {
	struct ui *ui;
	const struct queue *q;
	int tw, dw, fw, sw, nw;   /* widths: time, document, form, state, failures */
	int xs[6];
};

static enum draw_role row_role(void *ctx, size_t i)
{
	const struct paint *p = ctx;
	const struct qrow *r = &p->q->rows[i];
	if (r->state == Q_REJECTED || strcmp(r->shown, "publish-failed") == 0 ||
	    strcmp(r->shown, "waiting-long") == 0)
		return DR_ERROR;
	return r->state == Q_CANCELLED ? DR_DIM : DR_NORMAL;
}

static void draw_row(void *ctx, WINDOW *w, int y, size_t i)
{
	const struct paint *p = ctx;
	struct ui *ui = p->ui;
	const struct qrow *r = &p->q->rows[i];
	const int *xs = p->xs;
	struct sbuf s = { 0 };
	if (r->time)
		widget_time_text(ui->ja, r->time, &s);
	else
		sbuf_puts(&s, "-");
	draw_text(w, y, xs[0], s.s, p->tw, 0);
	sbuf_reset(&s);
	draw_textf(w, y, xs[1], p->dw, "%*llu", p->dw, (unsigned long long)r->doc_id);
	draw_text(w, y, xs[2], form_word(ui, r->form), p->fw, 0);
	draw_text(w, y, xs[3], state_word(ui, r->shown), p->sw, 0);
	draw_textf(w, y, xs[4], p->nw, "%*u", p->nw, r->tries);
	if (*r->last_error) {
		sbuf_puts(&s, r->last_error);
	} else if (*r->pair) {
		const struct qrow *pr = find_file(p->q, r->pair);
		if (pr)
			sbuf_printf(&s, _("opinion %llu %s"),
				    (unsigned long long)pr->doc_id, state_word(ui, pr->shown));
		else
			sbuf_puts(&s, r->pair);
	} else if (*r->reception_no) {
		sbuf_printf(&s, _("reception %s"), r->reception_no);
	}
	draw_text(w, y, xs[5], s.s, getmaxx(w) - xs[5] - 1, 0);
	sbuf_free(&s);
}

static void queue_draw(struct view *v, WINDOW *w)
{
	struct queue *q = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w), rows = getmaxy(w);
	if (!q->scanned)
		rescan(v);
	size_t count = wlist_scroll(&q->wl, q->n, page_rows(w));

	/* summary: how many in each state */
	size_t queued = 0, failed = 0, waiting = 0, rejected = 0;
	for (size_t i = 0; i < q->n; i++) {
		const char *s = q->rows[i].shown;
		if (strcmp(s, "queued") == 0 || q->rows[i].state == Q_CLAIMED || q->rows[i].state == Q_PUBLISHING)
			queued++;
		else if (strcmp(s, "publish-failed") == 0)
			failed++;
		else if (q->rows[i].state == Q_PUBLISHED)
			waiting++;
		else if (q->rows[i].state == Q_REJECTED)
			rejected++;
	}
	wattrset(w, draw_attr(DR_TITLE));
	draw_textf(w, 0, 1, cols - 2, _("%zu attempt(s)   queued %zu   failed %zu   waiting %zu   rejected %zu"),
		   q->n, queued, failed, waiting, rejected);
	wattrset(w, A_NORMAL);

	/* columns: time, document, form, state, failures, then the pair or the last error */
	struct paint p = { ui, q, ui->ja ? 14 : 16, 6, ui->ja ? 6 : 7, 0, 4, { 0 } };
	static const char *const shown[] = { "queued", "claimed", "publishing", "publish-failed", "published",
					     "waiting-long", "accepted", "rejected", "cancelled" };
	for (size_t i = 0; i < ARRAY_SIZE(shown); i++) {
		int x = utf8_width(state_word(ui, shown[i]));
		if (x > p.sw)
			p.sw = x;
	}
	const int *xs = p.xs;
	widget_columns(p.xs, (const int[]){ p.tw, p.dw, p.fw, p.sw, p.nw }, 5);
	wattrset(w, (int)A_UNDERLINE);
	draw_text(w, 1, 0, "", cols, 1);
	draw_text(w, 1, xs[0], _("Time"), p.tw, 0);
	draw_textf(w, 1, xs[1], p.dw, "%*s", p.dw, _("Doc"));
	draw_text(w, 1, xs[2], _("Form"), p.fw, 0);
	draw_text(w, 1, xs[3], _("State"), p.sw, 0);
	draw_textf(w, 1, xs[4], p.nw, "%*s", p.nw, _("Fail"));
	draw_text(w, 1, xs[5], _("Paired opinion / last error"), cols - xs[5], 0);
	wattrset(w, A_NORMAL);

	if (!q->n)
		wlist_empty(w, _("nothing has been sent yet"));
	struct wlist_rows rows_fn = { row_role, draw_row, &p };
	wlist_draw(&q->wl, w, 2, count, &rows_fn);
	if (rows >= 12 && q->n && q->wl.sel < (int)q->n) {
		int y = rows - 1 - DETAIL_LINES;
		wattrset(w, draw_attr(DR_DIM));
		mvwhline(w, y - 1, 0, '-', cols);
		wattrset(w, A_NORMAL);
		draw_detail(v, w, y, &q->rows[q->wl.sel]);
	}
	widget_keys_line(w, _("Enter open   r retry a failure   F10 send now   F11 cancel before publication"));
	v->cursor_y = -1;
}

/* --- keys --- */

/* Publishes every queued entry now, failed ones included (the backoff is skipped). */
static int send_now(struct view *v)
{
	struct ui *ui = v->ui;
	struct sbuf report = { 0 };
	size_t published = 0;
	int rc = outbox_publish_due(ui->app, 1, &published, &report);
	if (rc) {
		/* the first line of the report says what went wrong */
		char *nl = report.s ? strchr(report.s, '\n') : NULL;
		if (nl)
			*nl = '\0';
		ui_message(ui, 1, _("%zu published; some could not be: %s"),
			   published, report.s && *report.s ? report.s : iken_strerror(rc));
	} else {
		ui_message(ui, 0, _("%zu published"), published);
	}
	sbuf_free(&report);
	if (published)
		ui->counts_changed = 1;
	rescan(v);
	return UI_ALL;
}

static int cancel_selected(struct view *v)
{
	struct queue *q = v->priv;
	struct ui *ui = v->ui;
	if (!q->n)
		return UI_REDRAW;
	const struct qrow *r = &q->rows[q->wl.sel];
	uint64_t doc = r->doc_id;
	if (r->state != Q_QUEUED) {
		ui_message(ui, 1, _("%llu: not waiting to be published; it cannot be cancelled (%s)"),
			   (unsigned long long)doc, state_word(ui, r->shown));
		return UI_REDRAW;
	}
	if (!widget_confirmf(ui, _("cancel sending document %llu?"), (unsigned long long)doc))
		return UI_REDRAW;
	struct sbuf report = { 0 };
	int rc = outbox_cancel(ui->app, doc, &report);
	if (report.len && report.s[report.len - 1] == '\n')
		report.s[--report.len] = '\0';
	ui_message(ui, rc != 0, "%s", report.s ? report.s : iken_strerror(rc));
	sbuf_free(&report);
	ui->counts_changed = 1;
	rescan(v);
	return UI_ALL;
}

static int queue_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct queue *q = v->priv;
	struct ui *ui = v->ui;
	if (widget_is_enter(is_key, ch) || a == ACT_OPEN) {
		if (!q->n)
			return UI_REDRAW;
		const struct qrow *r = &q->rows[q->wl.sel];
		const struct form *f = formset_get(ui->app->fs, r->form);
		if (!f)
			return UI_REDRAW;
		struct form_arg fa = { f->id, r->doc_id, NULL, NULL };
		q->scanned = 0; /* re-read when the form is closed */
		return ui_push(ui, &form_view_ops, &fa) ? UI_REDRAW : UI_ALL;
	}
	if (a == ACT_SEND)
		return send_now(v);
	if (a == ACT_CANCEL)
		return cancel_selected(v);
	if (!is_key && (ch == 'r' || ch == 'R')) {
		if (!q->n || strcmp(q->rows[q->wl.sel].shown, "publish-failed") != 0) {
			ui_message(ui, 1, "%s", _("only a failed publication can be retried"));
			return UI_REDRAW;
		}
		return send_now(v);
	}
	int flags = widget_screen_key(ui, a, is_key, ch);
	return flags ? flags : wlist_key(&q->wl, a, q->n, page_rows(ui->body));
}

/* Re-reads after a poll that brought something, after returning from a form, and every few
 * seconds (the poll service or another session may have published). */
static int queue_tick(struct view *v)
{
	struct queue *q = v->priv;
	struct ui *ui = v->ui;
	if (widget_poll_news(ui, &q->seen_poll) || time(NULL) - q->scanned >= REFRESH_SECONDS) {
		q->seen_poll = (int64_t)ui->last_poll; /* this re-read has seen the last poll too */
		rescan(v);
		return UI_REDRAW;
	}
	return UI_OK;
}

const struct view_ops queue_view_ops = VIEW_OPS("queue", queue, queue_tick, queue_fkeys);
