/* Commands on the audit trail: audit show (a table, or CSV for the safety officer), audit verify
 * (the hash chain recomputed), and log send|receive (the send and receive logs, views of the
 * trail). */
#include "config.h"
#include "cli/cmd.h"
#include "app.h"
#include "errcode.h"
#include "i18n.h"
#include "model/charset.h"
#include "model/csvrec.h"
#include "model/wareki.h"
#include "store/audit.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Local "YYYY-MM-DD HH:MM:SS" of t. */
static void format_time(int64_t t, char out[20])
{
	char s[15];
	iken_ymdhms((time_t)t, s);
	snprintf(out, 20, "%.4s-%.2s-%.2s %.2s:%.2s:%.2s", s, s + 4, s + 6, s + 8, s + 10, s + 12);
}

/* --- audit show --- */

struct show_ctx {
	int64_t since, until;   /* inclusive; 0: not asked */
	const char *user, *form;
	int has_action, has_doc;
	enum audit_action action;
	uint64_t doc;
	int csv, ja;
	const struct codelist *roles; /* the user form's role codes, for their names */
	struct sbuf line;
};

static const char *role_name(const struct show_ctx *c, const char *code)
{
	const struct code *k = c->roles && *code ? codelist_find(c->roles, code) : NULL;
	if (!k)
		return code;
	return c->ja || !k->label_en ? k->label : k->label_en;
}

static int wanted(const struct show_ctx *c, const struct audit_entry *e)
{
	if (c->since && e->time < c->since)
		return 0;
	if (c->until && e->time > c->until)
		return 0;
	if (c->user && strcmp(c->user, e->user) != 0)
		return 0;
	if (c->form && strcmp(c->form, e->form) != 0)
		return 0;
	if (c->has_action && strcmp(audit_action_name(c->action), e->action) != 0)
		return 0;
	if (c->has_doc && !audit_entry_has_id(e, c->doc))
		return 0;
	return 1;
}

/* s padded with spaces to cols display columns. */
static void put_col(struct sbuf *b, const char *s, int cols)
{
	sbuf_puts(b, s);
	for (int w = utf8_width(s); w < cols; w++)
		sbuf_putc(b, ' ');
	sbuf_puts(b, "  ");
}

static int show_cb(const struct audit_entry *e, void *vctx)
{
	struct show_ctx *c = vctx;
	char when[20], seq[24];
	if (!wanted(c, e))
		return 0;
	format_time(e->time, when);
	snprintf(seq, sizeof(seq), "%llu", (unsigned long long)e->seq);
	sbuf_reset(&c->line);
	if (c->csv) {
		const char *v[] = { seq, when, e->user, e->role, role_name(c, e->role), e->action,
				    e->form, e->ids, e->fields, e->file, e->sha256, e->detail,
				    e->prev, e->hash };
		csv_write_row(&c->line, v, ARRAY_SIZE(v));
	} else {
		put_col(&c->line, seq, 6);
		put_col(&c->line, when, 19);
		put_col(&c->line, e->user, 10);
		put_col(&c->line, role_name(c, e->role), 13);
		put_col(&c->line, e->action, 8);
		put_col(&c->line, e->form, 8);
		put_col(&c->line, e->ids, 6);
		sbuf_puts(&c->line, e->detail);
		if (*e->fields)
			sbuf_printf(&c->line, " fields=%s", e->fields);
		if (*e->file)
			sbuf_printf(&c->line, " file=%s", e->file);
		if (*e->sha256)
			sbuf_printf(&c->line, " sha256=%.16s", e->sha256);
		while (c->line.len && c->line.s[c->line.len - 1] == ' ')
			c->line.s[--c->line.len] = '\0';
		sbuf_putc(&c->line, '\n');
	}
	fwrite(c->line.s, 1, c->line.len, stdout);
	return 0;
}

static int show_txn(struct store_txn *t, void *vctx)
{
	return audit_scan(t, show_cb, vctx);
}

/* A day for --since/--until (20260401, 2026-04-01, R8.4.1 …): its first or last second. */
static int parse_day(const char *s, int end, int64_t *out)
{
	char today[9], ymd[9], full[15];
	time_t t;
	iken_ymd(iken_now(), today);
	if (wareki_parse(s, today, ymd))
		return cli_usage_error(_("cannot read the date '%s'"), s);
	snprintf(full, sizeof(full), "%s%s", ymd, end ? "235959" : "000000");
	if (iken_parse_ymdhms(full, &t))
		return cli_usage_error(_("cannot read the date '%s'"), s);
	*out = (int64_t)t;
	return 0;
}

static void action_words(struct sbuf *b)
{
	for (int i = 0; i < AUDIT__COUNT; i++)
		sbuf_printf(b, "%s%s", i ? " " : "", audit_action_name((enum audit_action)i));
}

static int audit_show(struct cli *c, int argc, char **argv)
{
	const char *since = NULL, *until = NULL, *doc = NULL, *action = NULL;
	struct show_ctx sc = { .ja = iken_lang_ja() };
	const struct cmd_opt opts[] = {
		{ "since", NULL, &since },
		{ "until", NULL, &until },
		{ "user", NULL, &sc.user },
		{ "document", NULL, &doc },
		{ "action", NULL, &action },
		{ "form", NULL, &sc.form },
		{ "csv", &sc.csv, NULL },
		{ NULL, NULL, NULL },
	};
	int rc = cli_parse_opts(argc, argv, opts);
	if (rc)
		return rc;
	if (optind < argc)
		return cli_usage_error(_("audit show takes no operand: %s"), argv[optind]);
	if ((since && parse_day(since, 0, &sc.since)) || (until && parse_day(until, 1, &sc.until)))
		return EXIT_USAGE;
	if (doc) {
		if (parse_u64(doc, &sc.doc))
			return cli_usage_error(_("not a document ID: %s"), doc);
		sc.has_doc = 1;
	}
	if (action) {
		if (audit_action_parse(action, &sc.action)) {
			struct sbuf w = { 0 };
			action_words(&w);
			fprintf(stderr, "iken: %s\n", w.s);
			sbuf_free(&w);
			return cli_usage_error(_("unknown action '%s'"), action);
		}
		sc.has_action = 1;
	}
	rc = cli_open_app(c);
	if (rc)
		return rc;
	const struct form *uf = formset_get(c->app->fs, "user");
	const struct field *rf = uf ? form_field(uf, "role") : NULL;
	sc.roles = rf ? rf->codes : NULL;
	if (sc.csv) {
		static const char *const head[] = { "seq", "time", "user", "role", "role_name",
						    "action", "form", "ids", "fields", "file",
						    "sha256", "detail", "prev", "hash" };
		csv_write_row(&sc.line, head, ARRAY_SIZE(head));
	} else {
		put_col(&sc.line, "seq", 6);
		put_col(&sc.line, "time", 19);
		put_col(&sc.line, "user", 10);
		put_col(&sc.line, "role", 13);
		put_col(&sc.line, "action", 8);
		put_col(&sc.line, "form", 8);
		put_col(&sc.line, "ids", 6);
		sbuf_puts(&sc.line, "details\n");
	}
	fwrite(sc.line.s, 1, sc.line.len, stdout);
	rc = store_read(c->app->st, show_txn, &sc);
	sbuf_free(&sc.line);
	return cli_exit_error(rc);
}

/* --- audit verify --- */

struct found {
	struct audit_problem *v;
	size_t n, cap;
};

static void found_cb(const struct audit_problem *p, void *vctx)
{
	struct found *f = vctx;
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n++] = *p;
}

static int problem_cmp(const void *a, const void *b)
{
	const struct audit_problem *x = a, *y = b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

struct verify_ctx {
	struct found found;
	struct audit_summary sum;
};

static int verify_txn(struct store_txn *t, void *vctx)
{
	struct verify_ctx *v = vctx;
	v->found.n = 0;
	return audit_verify(t, found_cb, &v->found, &v->sum);
}

static int audit_verify_cmd(struct cli *c, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error(_("audit verify takes no arguments: %s"), argv[1]);
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	struct verify_ctx v;
	memset(&v, 0, sizeof(v));
	rc = store_read(c->app->st, verify_txn, &v);
	if (rc) {
		free(v.found.v);
		return cli_exit_error(rc);
	}
	printf(_("audit trail: %llu entries; recorded end: entry %llu, %s\n"),
	       (unsigned long long)v.sum.entries, (unsigned long long)v.sum.last, v.sum.head);
	/* in the order of the trail, whatever order they were found in */
	if (v.found.n)
		qsort(v.found.v, v.found.n, sizeof(*v.found.v), problem_cmp);
	struct sbuf line = { 0 };
	for (size_t i = 0; i < v.found.n; i++) {
		sbuf_reset(&line);
		audit_problem_text(&v.found.v[i], &line);
		printf("%s\n", line.s);
	}
	sbuf_free(&line);
	free(v.found.v);
	if (v.sum.problems) {
		printf(_("the audit trail is broken: %zu problem(s)\n"), v.sum.problems);
		return EXIT_DATA;
	}
	printf("%s\n", _("the audit trail is intact"));
	return EXIT_OK;
}

static int cmd_audit(struct cli *c, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return audit_show(c, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "verify") == 0)
		return audit_verify_cmd(c, argc - 1, argv + 1);
	return cli_usage_error("%s", _("audit takes show or verify"));
}

/* --- log send|receive: the old logs' lines, from the trail --- */

struct log_ctx {
	int receive;
};

static int log_cb(const struct audit_entry *e, void *vctx)
{
	struct log_ctx *l = vctx;
	int send = strcmp(e->action, "send") == 0 || strcmp(e->action, "cancel") == 0;
	int recv = strcmp(e->action, "result") == 0;
	if (l->receive ? !recv : !send)
		return 0;
	char when[15];
	iken_ymdhms((time_t)e->time, when);
	printf("%s\t%s\t%s\t%s\t%s\n", when, e->user, e->file, e->sha256, e->detail);
	return 0;
}

static int log_txn(struct store_txn *t, void *vctx)
{
	return audit_scan(t, log_cb, vctx);
}

static int cmd_log(struct cli *c, int argc, char **argv)
{
	struct log_ctx l = { 0 };
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "send") && strcmp(argv[1], "receive")))
		return cli_usage_error("%s", _("log takes send or receive"));
	if (argc == 2 && strcmp(argv[1], "receive") == 0)
		l.receive = 1;
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	printf("# time\tuser\tfile\tsha256\toutcome\n");
	return cli_exit_error(store_read(c->app->st, log_txn, &l));
}

const struct cli_command cli_cmds_audit[] = {
	{ "audit", cmd_audit, "audit show [--csv] [FILTERS]",
	  N_("the audit trail: who created, changed, opened, exported,\nsent what, and when; FILTERS: --since DATE --until DATE\n--user U --document ID --action A --form F") },
	{ "audit", cmd_audit, "audit verify",
	  N_("recompute the trail's hash chain; name every changed,\nremoved, inserted or reordered entry (exit 1)") },
	{ "log", cmd_log, "log [send|receive]",
	  N_("the send or receive log (evidence of transmission),\nfrom the audit trail") },
	{ NULL, NULL, NULL, NULL },
};
