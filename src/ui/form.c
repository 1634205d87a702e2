/* Placeholder until the screen is written. */
#include "config.h"
#include "ui/ui.h"

static const enum action fk[] = { ACT_BACK, ACT_NONE };
static int k(struct view *v, enum action a, int is_key, wint_t ch) { (void)v; (void)a; (void)is_key; (void)ch; return UI_CLOSE; }
const struct view_ops form_view_ops = { "form", NULL, NULL, k, NULL, NULL, NULL, fk };
