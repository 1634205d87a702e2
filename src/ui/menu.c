/* The main menu: where staff start, with the counts that tell them what needs doing. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/widgets.h"
#include "exchange/outbox.h"
#include "i18n.h"

#include <stdlib.h>
#include <string.h>

struct menu {
	int sel;
	size_t drafts, queued, waiting, rejected, accepted_today;
};

struct item {
	const char *ja, *en;
	int admin_only;
};

static const struct item items[] = {
	{ "申請者", "Applicants", 0 },
	{ "主治医意見書", "Opinions", 0 },
	{ "請求書", "Invoices", 0 },
	{ "送信状況", "Send queue", 0 },
	{ "送信結果照会", "Results", 0 },
	{ "設定", "Settings", 1 },
	{ "終了", "Quit", 0 },
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

static const enum action menu_fkeys[] = { ACT_HELP, ACT_QUIT, ACT_NONE };

struct count_ctx {
	struct menu *m;
	char today[9];
};

static int count_txn(struct store_txn *t, void *vctx)
{
	struct count_ctx *c = vctx;
	static const char *const forms[] = { "ikensho", "seikyu" };
	struct menu *m = c->m;
	m->drafts = m->queued = m->waiting = m->rejected = 0;
	for (size_t i = 0; i < 2; i++) {
		size_t n;
		if (!store_count(t, forms[i], ST_DRAFT, &n))
			m->drafts += n;
		if (!store_count(t, forms[i], ST_FINAL, &n))
			m->drafts += n;
		if (!store_count(t, forms[i], ST_QUEUED, &n))
			m->queued += n;
		if (!store_count(t, forms[i], ST_PUBLISHED, &n))
			m->waiting += n;
		if (!store_count(t, forms[i], ST_REJECTED, &n))
			m->rejected += n;
	}
	return 0;
}

static int accepted_cb(const struct q_entry *e, void *vctx)
{
	struct count_ctx *c = vctx;
	char ymd[9];
	if (e->state != Q_ACCEPTED)
		return 0;
	iken_ymd((time_t)e->resulted, ymd);
	if (strcmp(ymd, c->today) == 0)
		c->m->accepted_today++;
	return 0;
}

static void refresh_counts(struct view *v)
{
	struct menu *m = v->priv;
	struct count_ctx c = { m, { 0 } };
	iken_ymd(iken_now(), c.today);
	store_read(v->ui->app->st, count_txn, &c);
	m->accepted_today = 0;
	outbox_scan(v->ui->app, 0, accepted_cb, &c);
	v->ui->counts_changed = 0;
}

static int menu_open(struct view *v, void *arg)
{
	(void)arg;
	v->priv = xcalloc(1, sizeof(struct menu));
	refresh_counts(v);
	return 0;
}

static void menu_draw(struct view *v, WINDOW *w)
{
	struct menu *m = v->priv;
	struct ui *ui = v->ui;
	int ja = ui->ja;
	if (ui->counts_changed)
		refresh_counts(v);
	wattrset(w, draw_attr(DR_TITLE));
	draw_text(w, 1, 2, _("Opinion and invoice submission"), ui->cols - 4, 0);
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < NITEMS; i++) {
		int disabled = items[i].admin_only && strcmp(ui_role(ui), "3") != 0;
		wattrset(w, (int)i == m->sel ? draw_attr(DR_SELECT) : disabled ? draw_attr(DR_DIM) : draw_attr(DR_NORMAL));
		draw_textf(w, 3 + (int)i, 4, 30, " %zu  %s ", i + 1 == NITEMS ? 9 : i + 1,
			   ja ? items[i].ja : items[i].en);
	}
	wattrset(w, A_NORMAL);
	int x = 36, y = 3;
	if (ui->cols < 70) {
		x = 4;
		y = 4 + (int)NITEMS;
	}
	struct {
		const char *ja, *en;
		size_t n;
		int warn;
	} counts[] = {
		{ "下書き", "Drafts", m->drafts, 0 },
		{ "送信待ち", "Queued", m->queued, 0 },
		{ "結果待ち", "Waiting for result", m->waiting, 0 },
		{ "返戻 (要修正)", "Rejected (to fix)", m->rejected, 1 },
		{ "本日受理", "Accepted today", m->accepted_today, 0 },
	};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (y + (int)i >= getmaxy(w))
			break;
		wattrset(w, counts[i].warn && counts[i].n ? draw_attr(DR_ERROR) : draw_attr(DR_NORMAL));
		draw_text(w, y + (int)i, x, ja ? counts[i].ja : counts[i].en, 22, 1);
		draw_textf(w, y + (int)i, x + 22, 8, "%6zu", counts[i].n);
	}
	wattrset(w, A_NORMAL);
	v->cursor_y = -1;
}

static int open_item(struct view *v, int i)
{
	struct ui *ui = v->ui;
	static struct list_arg lists[3] = {
		{ "applicant", NULL, -1 }, { "ikensho", NULL, -1 }, { "seikyu", NULL, -1 },
	};
	switch (i) {
	case 0: case 1: case 2:
		ui_push(ui, &list_view_ops, &lists[i]);
		return UI_ALL;
	case 3:
		ui_push(ui, &queue_view_ops, NULL);
		return UI_ALL;
	case 4:
		ui_push(ui, &results_view_ops, NULL);
		return UI_ALL;
	case 5:
		if (strcmp(ui_role(ui), "3") != 0) {
			ui_message(ui, 1, "%s", _("only an admin can change the settings"));
			return UI_REDRAW;
		}
		ui_push(ui, &settings_view_ops, NULL);
		return UI_ALL;
	default:
		return UI_QUIT;
	}
}

static int menu_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct menu *m = v->priv;
	if (a == ACT_HELP || (!is_key && ch == '?')) {
		ui_push(v->ui, &help_view_ops, NULL);
		return UI_ALL;
	}
	if (a == ACT_QUIT || a == ACT_BACK || (!is_key && (ch == 'q' || ch == 'Q')))
		return UI_QUIT;
	if (a == ACT_UP && m->sel > 0)
		m->sel--;
	else if (a == ACT_DOWN && m->sel < (int)NITEMS - 1)
		m->sel++;
	else if (a == ACT_NEXT_FIELD || a == ACT_OPEN || a == ACT_RIGHT)
		return open_item(v, m->sel);
	else if (!is_key && ch >= '1' && ch <= '6')
		return open_item(v, (int)(ch - '1'));
	else if (!is_key && ch == '9')
		return UI_QUIT;
	return UI_REDRAW;
}

static int menu_tick(struct view *v)
{
	if (v->ui->counts_changed) {
		refresh_counts(v);
		return UI_REDRAW;
	}
	return UI_OK;
}

static void menu_close(struct view *v)
{
	free(v->priv);
}

static const char *menu_title(struct view *v)
{
	return _("Menu");
}

const struct view_ops menu_view_ops = VIEW_OPS("menu", menu, menu_tick, menu_fkeys);
