/* Settings, for the admin role only: the clinic settings record (clinic, bank account, terminal
 * folders, polling) and the users, both edited in the form screen. This screen only chooses;
 * the form screen saves. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/widgets.h"
#include "model/charset.h"
#include "model/docops.h"
#include "errcode.h"
#include "i18n.h"

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
	ui_message(ui, 1, "%s", _("only an admin can change the settings"));
	return IKEN_EPERM;
}

/* --- the users --- */

struct users {
	const struct form *f;
	uint64_t *ids;
	size_t n;
	struct wlist wl;
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
	wlist_clamp(&u->wl, u->n);
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
	return _("Settings › Users");
}

/* What the rows of one paint share: the records on screen and the column widths. */
struct paint {
	struct ui *ui;
	const struct users *u;
	struct record **recs;     /* the rows on screen, from u->wl.top */
	size_t ncols;
	int width[USER_COLS];
};

static void draw_row(void *ctx, WINDOW *w, int y, size_t i)
{
	const struct paint *p = ctx;
	const struct record *r = p->recs[i - (size_t)p->u->wl.top];
	int cols = getmaxx(w), x = 1;
	struct sbuf s = { 0 };
	for (size_t k = 0; r && k < p->ncols && x < cols; k++) {
		const struct field *fld = &p->u->f->fields[k];
		widget_show_value(p->ui->ja, fld, rec_val(r, fld->id), &s);
		draw_text(w, y, x, s.s, p->width[k] < cols - x ? p->width[k] : cols - x, 0);
		sbuf_reset(&s);
		x += p->width[k] + 2;
	}
	sbuf_free(&s);
}

static void users_draw(struct view *v, WINDOW *w)
{
	struct users *u = v->priv;
	struct ui *ui = v->ui;
	int cols = getmaxx(w);
	if (u->dirty)
		users_requery(v);
	size_t count = wlist_scroll(&u->wl, u->n, wlist_page(w, 3));
	size_t first = (size_t)u->wl.top;
	const uint64_t *ids = u->ids + (first < u->n ? first : 0);
	struct record **recs = widget_records(ui->app->st, ids, count);

	wattrset(w, draw_attr(DR_TITLE));
	draw_textf(w, 0, 1, cols - 2, _("%zu user(s)"), u->n);
	wattrset(w, A_NORMAL);
	/* column widths: header and the values on screen */
	size_t ncols = u->f->nfields < USER_COLS ? u->f->nfields : USER_COLS;
	struct paint p = { ui, u, recs, ncols, { 0 } };
	struct sbuf s = { 0 };
	for (size_t k = 0; k < p.ncols; k++) {
		const struct field *fld = &u->f->fields[k];
		p.width[k] = utf8_width(ui->ja ? fld->label : fld->label_en);
		for (size_t i = 0; i < count; i++) {
			if (!recs[i])
				continue;
			widget_show_value(ui->ja, fld, rec_val(recs[i], fld->id), &s);
			int vw = utf8_width(s.s ? s.s : "");
			if (vw > p.width[k])
				p.width[k] = vw;
			sbuf_reset(&s);
		}
		if (p.width[k] > 24)
			p.width[k] = 24;
	}
	sbuf_free(&s);
	wattrset(w, (int)A_UNDERLINE);
	draw_text(w, 1, 0, "", cols, 1);
	int x = 1;
	for (size_t k = 0; k < p.ncols && x < cols; k++) {
		const struct field *fld = &u->f->fields[k];
		draw_text(w, 1, x, ui->ja ? fld->label : fld->label_en, p.width[k] < cols - x ? p.width[k] : cols - x, 0);
		x += p.width[k] + 2;
	}
	wattrset(w, A_NORMAL);
	struct wlist_rows rows_fn = { NULL, draw_row, &p };
	wlist_draw(&u->wl, w, 2, count, &rows_fn);
	widget_records_free(recs, count);
	widget_keys_line(w, _("Enter edit   F3 new user (Unix login and role)"));
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
	if (widget_is_enter(is_key, ch) || a == ACT_OPEN) {
		if (!u->n)
			return UI_REDRAW;
		u->dirty = 1;
		return push_form(ui, u->f->id, u->ids[u->wl.sel], NULL);
	}
	if (a == ACT_NEW) {
		u->dirty = 1;
		return push_form(ui, u->f->id, 0, docops_new(ui->app, u->f, ui->user, NULL));
	}
	int flags = widget_screen_key(ui, a, is_key, ch);
	return flags ? flags : wlist_key(&u->wl, a, u->n, 0);
}

static const enum action users_fkeys[] = { ACT_HELP, ACT_BACK, ACT_NEW, ACT_NONE };

static const struct view_ops users_view_ops = VIEW_OPS("users", users, NULL, users_fkeys);

/* --- the settings menu --- */

struct settings {
	struct wlist wl;
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
	return _("Settings");
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
	draw_text(w, 1, 2, _("Settings (administrator)"), cols - 4, 0);
	wattrset(w, A_NORMAL);
	for (size_t i = 0; i < ARRAY_SIZE(items); i++) {
		wattrset(w, (int)i == s->wl.sel ? draw_attr(DR_SELECT) : draw_attr(DR_NORMAL));
		draw_textf(w, 3 + (int)i, 4, cols - 8, " %zu  %s ", i + 1, ui->ja ? items[i].ja : items[i].en);
	}
	wattrset(w, A_NORMAL);

	/* what is in force now: the clinic and the terminal exchange */
	struct record *st = NULL;
	int y = 7;
	const struct form *sf = formset_get(ui->app->fs, SETTINGS_FORM);
	if (app_settings(ui->app, &st) || !sf) {
		wattrset(w, draw_attr(DR_WARN));
		draw_text(w, y, 4, _("no settings yet: choose 1 to enter them"), cols - 8, 0);
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
			draw_text(w, y, 4, _("Polling interval"), 24, 0);
			draw_textf(w, y++, 30, cols - 32, _("%d s (result warning after %d h)"),
				   tc.poll_seconds, tc.wait_hours);
		}
		term_conf_clear(&tc);
	}
	widget_keys_line(w, _("Enter open   1 settings   2 users"));
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
	if (widget_is_enter(is_key, ch) || a == ACT_OPEN)
		return open_item(v, s->wl.sel);
	if (!is_key && ch >= '1' && ch < '1' + (int)ARRAY_SIZE(items)) {
		s->wl.sel = (int)(ch - '1');
		return open_item(v, s->wl.sel);
	}
	int flags = widget_screen_key(ui, a, is_key, ch);
	return flags ? flags : wlist_key(&s->wl, a, ARRAY_SIZE(items), 0);
}

static const enum action settings_fkeys[] = { ACT_HELP, ACT_BACK, ACT_NONE };

const struct view_ops settings_view_ops = VIEW_OPS("settings", settings, NULL, settings_fkeys);
