/* Settings, for the admin role only: the clinic settings record (clinic, bank account, terminal
 * folders, polling) and the users, both edited in the form screen. This screen only chooses;
 * the form screen saves. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "charset.h"
#include "docops.h"
#include "errcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SETTINGS_FORM "settings"
#define USER_FORM "user"
#define USER_COLS 4  /* the first fields of the user form: login, role, name, doctor number */

static int refuse_non_admin(struct ui *ui)
{
	if (strcmp(ui_role(ui), "3") == 0)
		return 0;
	ui_message(ui, 1, "%s", UI_T(ui, "設定は管理者だけが変更できます", "only an admin can change the settings"));
	return IKEN_EPERM;
}

static void show_value(const struct ui *ui, const struct field *fld, const char *v, struct sbuf *out)
{
	if (fld->type == FT_CODE && fld->codes) {
		const struct code *c = codelist_find(fld->codes, v);
		if (c) {
			sbuf_puts(out, ui->ja ? c->label : c->label_en);
			return;
		}
	}
	sbuf_puts(out, v);
}

/* --- the users --- */

struct users {
	const struct form *f;
	uint64_t *ids;
	size_t n;
	int sel, top;
	int dirty;
};

static int users_find(struct store_txn *t, void *vctx)
{
	struct users *u = vctx;
	struct store_query q = { .form = u->f->id, .status = -1 };
	free(u->ids);
	u->ids = NULL;
	u->n = 0;
	return store_find(t, &q, &u->ids, &u->n);
}

static void users_requery(struct view *v)
{
	struct users *u = v->priv;
	int rc = store_read(v->ui->app->st, users_find, u);
	if (rc)
		ui_message(v->ui, 1, "%s", iken_strerror(rc));
	if (u->sel >= (int)u->n)
		u->sel = u->n ? (int)u->n - 1 : 0;
	u->dirty = 0;
}

static int users_open(struct view *v, void *arg)
{
	(void)arg;
	int rc = refuse_non_admin(v->ui);
	if (rc)
		return rc;
	const struct form *f = formset_get(v->ui->app->fs, USER_FORM);
	if (!f)
		return IKEN_ENOTFOUND;
	struct users *u = xcalloc(1, sizeof(*u));
	u->f = f;
	v->priv = u;
	users_requery(v);
	return 0;
}

static void users_close(struct view *v)
{
	struct users *u = v->priv;
	free(u->ids);
	free(u);
}

static const char *users_title(struct view *v)
{
	return UI_T(v->ui, "設定 › 利用者", "Settings › Users");
}

struct urows_ctx {
	const uint64_t *ids;
	size_t n;
	struct record **recs;
};

static int urows_txn(struct store_txn *t, void *vctx)
{
	struct urows_ctx *c = vctx;
	for (size_t i = 0; i < c->n; i++) {
		rec_free(c->recs[i]);
		if (store_rec_get(t, c->ids[i], &c->recs[i]))
			c->recs[i] = NULL;
	}
	return 0;
}

static void users_draw(struct view *v, WINDOW *w)
{
	struct users *u = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w), rows = getmaxy(w), page = rows - 3;
	if (page < 1)
		page = 1;
	if (u->dirty)
		users_requery(v);
	if (u->sel < u->top)
		u->top = u->sel;
	if (u->sel >= u->top + page)
		u->top = u->sel - page + 1;
	size_t first = (size_t)u->top, count = 0;
	if (first < u->n)
		count = u->n - first < (size_t)page ? u->n - first : (size_t)page;
	struct urows_ctx c = { u->ids + (first < u->n ? first : 0), count, xcalloc(count + 1, sizeof(struct record *)) };
	if (count)
		store_read(ui->app->st, urows_txn, &c);

	wattrset(w, draw_attr(DR_TITLE));
	draw_textf(w, 0, 1, cols - 2, UI_T(ui, "利用者 %zu 人", "%zu user(s)"), u->n);
	wattrset(w, A_NORMAL);
	/* column widths: header and the values on screen */
	size_t ncols = u->f->nfields < USER_COLS ? u->f->nfields : USER_COLS;
	int width[USER_COLS] = { 0 };
	struct sbuf s = { 0 };
	for (size_t k = 0; k < ncols; k++) {
		const struct field *fld = &u->f->fields[k];
		width[k] = utf8_width(ui->ja ? fld->label : fld->label_en);
		for (size_t i = 0; i < count; i++) {
			if (!c.recs[i])
				continue;
			show_value(ui, fld, rec_val(c.recs[i], fld->id), &s);
			int vw = utf8_width(s.s ? s.s : "");
			if (vw > width[k])
				width[k] = vw;
			sbuf_reset(&s);
		}
		if (width[k] > 24)
			width[k] = 24;
	}
	wattrset(w, (int)A_UNDERLINE);
	draw_text(w, 1, 0, "", cols, 1);
	int x = 1;
	for (size_t k = 0; k < ncols && x < cols; k++) {
		const struct field *fld = &u->f->fields[k];
		draw_text(w, 1, x, ui->ja ? fld->label : fld->label_en, width[k] < cols - x ? width[k] : cols - x, 0);
		x += width[k] + 2;
	}
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < count; i++) {
		int y = 2 + (int)i, selected = (int)(first + i) == u->sel;
		wattrset(w, selected ? draw_attr(DR_SELECT) : draw_attr(DR_NORMAL));
		if (selected)
			draw_text(w, y, 0, "", cols, 1);
		x = 1;
		for (size_t k = 0; c.recs[i] && k < ncols && x < cols; k++) {
			const struct field *fld = &u->f->fields[k];
			show_value(ui, fld, rec_val(c.recs[i], fld->id), &s);
			draw_text(w, y, x, s.s, width[k] < cols - x ? width[k] : cols - x, 0);
			sbuf_reset(&s);
			x += width[k] + 2;
		}
	}
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < count; i++)
		rec_free(c.recs[i]);
	free(c.recs);
	sbuf_free(&s);
	wattrset(w, draw_attr(DR_DIM));
	draw_text(w, rows - 1, 1, UI_T(ui, "Enter 編集   F3 新しい利用者 (Unix のログイン名と役割)",
				       "Enter edit   F3 new user (Unix login and role)"), cols - 2, 0);
	wattrset(w, A_NORMAL);
	v->cursor_y = -1;
}

static int push_form(struct ui *ui, const char *form, uint64_t id, struct record *init)
{
	struct form_arg fa = { form, id, init, NULL };
	if (ui_push(ui, &form_view_ops, &fa)) {
		rec_free(init);
		return UI_REDRAW;
	}
	return UI_ALL;
}

static int users_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct users *u = v->priv;
	struct ui *ui = v->ui;
	int enter = (!is_key && (ch == '\r' || ch == '\n')) || (is_key && ch == KEY_ENTER);
	if (enter || a == ACT_OPEN) {
		if (!u->n)
			return UI_REDRAW;
		u->dirty = 1;
		return push_form(ui, u->f->id, u->ids[u->sel], NULL);
	}
	switch (a) {
	case ACT_HELP:
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	case ACT_BACK:
	case ACT_QUIT:
		return UI_CLOSE;
	case ACT_UP:
		if (u->sel > 0)
			u->sel--;
		return UI_REDRAW;
	case ACT_DOWN:
		if (u->sel + 1 < (int)u->n)
			u->sel++;
		return UI_REDRAW;
	case ACT_NEW:
		u->dirty = 1;
		return push_form(ui, u->f->id, 0, docops_new(ui->app, u->f, ui->user, NULL));
	default:
		break;
	}
	if (!is_key && ch == '?') {
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	}
	return UI_OK;
}

static const enum action users_fkeys[] = { ACT_HELP, ACT_BACK, ACT_NEW, ACT_NONE };

static const struct view_ops users_view_ops = {
	"users", users_open, users_draw, users_key, NULL, users_close, users_title, users_fkeys,
};

/* --- the settings menu --- */

struct settings {
	int sel;
};

static int settings_open(struct view *v, void *arg)
{
	(void)arg;
	int rc = refuse_non_admin(v->ui);
	if (rc)
		return rc;
	v->priv = xcalloc(1, sizeof(struct settings));
	return 0;
}

static void settings_close(struct view *v)
{
	free(v->priv);
}

static const char *settings_title(struct view *v)
{
	return UI_T(v->ui, "設定", "Settings");
}

static const struct {
	const char *ja, *en;
} items[] = {
	{ "医療機関・振込先・端末連携の設定", "Clinic, bank account and terminal settings" },
	{ "利用者 (医師・事務・管理者)", "Users (doctors, clerks, administrators)" },
};

static void settings_draw(struct view *v, WINDOW *w)
{
	struct settings *s = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w), rows = getmaxy(w);
	wattrset(w, draw_attr(DR_TITLE));
	draw_text(w, 1, 2, UI_T(ui, "設定 (管理者)", "Settings (administrator)"), cols - 4, 0);
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
		wattrset(w, (int)i == s->sel ? draw_attr(DR_SELECT) : draw_attr(DR_NORMAL));
		draw_textf(w, 3 + (int)i, 4, cols - 8, " %zu  %s ", i + 1, ui->ja ? items[i].ja : items[i].en);
	}
	wattrset(w, A_NORMAL);

	/* what is in force now: the clinic and the terminal exchange */
	struct record *st = NULL;
	int y = 7;
	const struct form *sf = formset_get(ui->app->fs, SETTINGS_FORM);
	if (app_settings(ui->app, &st) || !sf) {
		wattrset(w, draw_attr(DR_WARN));
		draw_text(w, y, 4, UI_T(ui, "設定がまだありません。1 で入力してください",
					"no settings yet: choose 1 to enter them"), cols - 8, 0);
		wattrset(w, A_NORMAL);
	} else {
		for (size_t i = 0; i < 2 && i < sf->nfields && y < rows - 1; i++, y++) {
			const struct field *fld = &sf->fields[i];
			draw_text(w, y, 4, ui->ja ? fld->label : fld->label_en, 24, 0);
			draw_text(w, y, 30, rec_val(st, fld->id), cols - 32, 0);
		}
	}
	rec_free(st);
	struct term_conf tc;
	if (app_term_conf(ui->app, &tc) == 0) {
		struct {
			const char *ja, *en;
			const char *v;
		} lines[] = {
			{ "要求フォルダ", "Request folder", tc.req },
			{ "結果フォルダ", "Result folder", tc.res },
		};
		for (size_t i = 0; i < ARRAY_SIZE(lines) && y < rows - 1; i++, y++) {
			draw_text(w, y, 4, ui->ja ? lines[i].ja : lines[i].en, 24, 0);
			draw_text(w, y, 30, lines[i].v ? lines[i].v : "", cols - 32, 0);
		}
		if (y < rows - 1) {
			draw_text(w, y, 4, UI_T(ui, "結果確認の間隔", "Polling interval"), 24, 0);
			draw_textf(w, y++, 30, cols - 32, UI_T(ui, "%d 秒 (結果待ちの警告 %d 時間)", "%d s (result warning after %d h)"),
				   tc.poll_seconds, tc.wait_hours);
		}
		term_conf_clear(&tc);
	}
	wattrset(w, draw_attr(DR_DIM));
	draw_text(w, rows - 1, 1, UI_T(ui, "Enter 開く   1 設定   2 利用者", "Enter open   1 settings   2 users"), cols - 2, 0);
	wattrset(w, A_NORMAL);
	v->cursor_y = -1;
}

static int open_item(struct view *v, int i)
{
	struct ui *ui = v->ui;
	if (i == 1)
		return ui_push(ui, &users_view_ops, NULL) ? UI_REDRAW : UI_ALL;
	const struct form *sf = formset_get(ui->app->fs, SETTINGS_FORM);
	if (!sf)
		return UI_REDRAW;
	/* the one settings record: edit it, or start it with its prefills */
	struct record *st = NULL;
	int rc = app_settings(ui->app, &st);
	if (rc == 0) {
		uint64_t id = st->id;
		rec_free(st);
		return push_form(ui, sf->id, id, NULL);
	}
	if (rc != IKEN_ENOTFOUND) {
		ui_message(ui, 1, "%s", iken_strerror(rc));
		return UI_REDRAW;
	}
	return push_form(ui, sf->id, 0, docops_new(ui->app, sf, ui->user, NULL));
}

static int settings_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct settings *s = v->priv;
	struct ui *ui = v->ui;
	int enter = (!is_key && (ch == '\r' || ch == '\n')) || (is_key && ch == KEY_ENTER);
	if (enter || a == ACT_OPEN)
		return open_item(v, s->sel);
	switch (a) {
	case ACT_HELP:
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	case ACT_BACK:
	case ACT_QUIT:
		return UI_CLOSE;
	case ACT_UP:
		if (s->sel > 0)
			s->sel--;
		return UI_REDRAW;
	case ACT_DOWN:
		if (s->sel + 1 < (int)ARRAY_SIZE(items))
			s->sel++;
		return UI_REDRAW;
	default:
		break;
	}
	if (!is_key && ch >= '1' && ch < '1' + (int)ARRAY_SIZE(items)) {
		s->sel = (int)(ch - '1');
		return open_item(v, s->sel);
	}
	if (!is_key && ch == '?') {
		ui_push(ui, &help_view_ops, NULL);
		return UI_ALL;
	}
	return UI_OK;
}

static const enum action settings_fkeys[] = { ACT_HELP, ACT_BACK, ACT_NONE };

const struct view_ops settings_view_ops = {
	"settings", settings_open, settings_draw, settings_key, NULL, settings_close, settings_title,
	settings_fkeys,
};
