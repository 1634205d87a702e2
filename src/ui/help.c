/* The help screen: the action table, in the user's language. */
#include "config.h"
#include "ui/ui.h"
#include "ui/draw.h"
#include "ui/widgets.h"
#include "i18n.h"

#include <stdlib.h>

static const enum action help_fkeys[] = { ACT_BACK, ACT_NONE };

struct help {
	int top;
};

static int help_open(struct view *v, void *arg)
{
	(void)arg;
	v->priv = xcalloc(1, sizeof(struct help));
	return 0;
}

static void help_draw(struct view *v, WINDOW *w)
{
	struct help *h = v->priv;
	size_t n;
	const struct action_info *t = action_table(&n);
	int rows = getmaxy(w), cols = getmaxx(w);
	wattrset(w, draw_attr(DR_TITLE));
	draw_text(w, 0, 1, _("Keys"), cols - 2, 0);
	wattrset(w, A_NORMAL);
	for (int y = 1; y < rows && (size_t)(h->top + y - 1) < n; y++) {
		const struct action_info *ai = &t[h->top + y - 1];
		draw_text(w, y, 1, ai->keys, 22, 1);
		draw_text(w, y, 24, v->ui->ja ? ai->help_ja : ai->help_en, cols - 25, 0);
	}
}

static int help_key(struct view *v, enum action a, int is_key, wint_t ch)
{
	struct help *h = v->priv;
	size_t n;
	action_table(&n);
	if (a == ACT_DOWN || a == ACT_PAGE_NEXT) {
		if ((size_t)h->top + 1 < n)
			h->top++;
		return UI_REDRAW;
	}
	if (a == ACT_UP || a == ACT_PAGE_PREV) {
		if (h->top > 0)
			h->top--;
		return UI_REDRAW;
	}
	(void)is_key;
	(void)ch;
	return UI_CLOSE;
}

static void help_close(struct view *v)
{
	free(v->priv);
}

static const char *help_title(struct view *v)
{
	return _("Help");
}

const struct view_ops help_view_ops = VIEW_OPS("help", help, NULL, help_fkeys);
