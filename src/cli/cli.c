/* The command line: global options, `iken --help` assembled from the command tables, the
 * dispatch, and the helpers every command file uses (cli/cmd.h). */
#include "config.h"
#include "cli/cmd.h"
#include "app.h"
#include "errcode.h"
#include "i18n.h"
#include "model/record.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In the order of `iken --help`. */
static const struct cli_command *const tables[] = {
	cli_cmds_docs,
	cli_cmds_exchange,
	cli_cmds_audit,
};

#define SYNOPSIS_COLUMN 32

static void print_usage(void)
{
	fputs(_("Usage: iken [--data DIR] [--forms DIR] [COMMAND [ARGS]]\n"
		"\n"
		"Without a command (or with 'ui') iken opens its screens.\n"
		"\n"
		"Commands:\n"), stdout);
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct cli_command *cmd = tables[t]; cmd->name; cmd++) {
			int w = printf("  %s", cmd->synopsis);
			const char *h = _(cmd->help);
			if (w >= SYNOPSIS_COLUMN) {
				putchar('\n');
				w = 0;
			}
			printf("%*s", SYNOPSIS_COLUMN - w, "");
			for (; *h; h++) {
				putchar(*h);
				if (*h == '\n' && h[1])
					printf("%*s", SYNOPSIS_COLUMN, "");
			}
			putchar('\n');
		}
	fputs(_("\n"
		"Forms: ikensho (opinion), seikyu (invoice), applicant, user, settings.\n"
		"Statuses: draft final queued published accepted rejected.\n"
		"\n"
		"Options:\n"
		"  --data DIR     data directory (default $IKEN_DATA, else $XDG_DATA_HOME/iken)\n"
		"  --forms DIR    form files (default: the installed forms)\n"
		"  -h, --help     show this help\n"
		"  -V, --version  show the version\n"
		"\n"
		"Exit status: 0 success, 1 problems in the data, 2 usage, 3 store or I/O error.\n"),
	      stdout);
}

/* fmt: a translated message with at most one %s. */
int cli_usage_error(const char *fmt, const char *arg)
{
	struct sbuf b = { 0 };
	const char *pct = strstr(fmt, "%s");
	if (pct)
		sbuf_printf(&b, "%.*s%s%s", (int)(pct - fmt), fmt, arg ? arg : "", pct + 2);
	else
		sbuf_puts(&b, fmt);
	fprintf(stderr, "iken: %s", b.s);
	sbuf_free(&b);
	fprintf(stderr, "\n%s\n", _("Try 'iken --help'."));
	return EXIT_USAGE;
}

int cli_exit_for(int rc)
{
	if (rc == 0)
		return EXIT_OK;
	if (rc == IKEN_EDATA || rc == IKEN_ECSV || rc == IKEN_EUTF8 || rc == IKEN_ECONFLICT ||
	    rc == IKEN_ENOTFOUND || rc == IKEN_ESTATE || rc == IKEN_EPERM)
		return EXIT_DATA;
	return EXIT_IO;
}

/* Says what went wrong (when rc is an error) and gives the exit status for rc. */
int cli_exit_error(int rc)
{
	if (rc)
		fprintf(stderr, "iken: %s\n", iken_strerror(rc));
	return cli_exit_for(rc);
}

/* Reads the options of a command (argv[0] is its name) into opts, which a NULL name ends; the
 * operands are argv[optind] on. Returns 0, or EXIT_USAGE after saying which is unknown. */
int cli_parse_opts(int argc, char **argv, const struct cmd_opt *opts)
{
	struct option lo[16] = { { 0 } };  /* more than any command has */
	int n = 0, o;
	for (; opts[n].name && n + 1 < (int)ARRAY_SIZE(lo); n++) {
		lo[n].name = opts[n].name;
		lo[n].has_arg = opts[n].arg ? required_argument : no_argument;
		lo[n].val = n + 1;  /* the option's place in opts, + 1 */
	}
	optind = 0; /* 0: GNU getopt starts over (the global options stopped at the command) */
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (o < 1 || o > n)
			return cli_usage_error(_("unknown option for %s"), argv[0]);
		if (opts[o - 1].arg)
			*opts[o - 1].arg = optarg;
		else
			*opts[o - 1].flag = 1;
	}
	return 0;
}

/* Reads the file a command names, up to max bytes (*buf freed by the caller), and says why when
 * it cannot. Returns 0 or EXIT_IO. */
int cli_read_input(const char *path, size_t max, char **buf, size_t *len)
{
	int rc = read_file(path, max, buf, len);
	if (rc)
		fprintf(stderr, "iken: %s: %s\n", path, iken_strerror(rc));
	return rc ? EXIT_IO : 0;
}

int cli_open_app(struct cli *c)
{
	struct sbuf err = { 0 };
	int rc = app_open(c->data, c->forms, &c->app, &err);
	if (rc) {
		fputs(err.s ? err.s : "", stderr);
		if (rc == IKEN_EFORM)
			fprintf(stderr, "iken: %s\n", _("the form files have errors; iken does not start"));
		else if (rc == IKEN_ESCHEMA)
			fprintf(stderr, "iken: %s\n", iken_strerror(rc));
	}
	sbuf_free(&err);
	return rc ? EXIT_IO : 0;
}

/* Opens the app and finds the form id names. Returns 0, or the exit status after saying why. */
int cli_open_form(struct cli *c, const char *id, const struct form **f)
{
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	*f = formset_get(c->app->fs, id);
	if (!*f)
		fprintf(stderr, "iken: %s: %s\n", id, _("no such form"));
	return *f ? 0 : EXIT_USAGE;
}

/* A record status for --status (-1, any status, when s is NULL). */
int cli_parse_status(const char *s, int *out)
{
	enum rec_status st;
	*out = -1;
	if (!s)
		return 0;
	if (rec_status_parse(s, &st))
		return cli_usage_error(_("unknown status '%s' (draft final queued published accepted rejected)"), s);
	*out = (int)st;
	return 0;
}

int cli_parse_ids(int argc, char **argv, int first, uint64_t **ids, size_t *n)
{
	*ids = xcalloc((size_t)argc + 1, sizeof(**ids));
	*n = 0;
	for (int i = first; i < argc; i++) {
		if (parse_u64(argv[i], &(*ids)[*n]))
			return cli_usage_error(_("not a document ID: %s"), argv[i]);
		(*n)++;
	}
	return 0;
}

int cli_main(int argc, char **argv, int (*ui_entry)(struct app *a))
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "forms", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { 0 };
	int o;
	while ((o = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (o) {
		case 'd': c.data = optarg; break;
		case 'f': c.forms = optarg; break;
		case 'h': print_usage(); return EXIT_OK;
		case 'V': printf("iken %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: return cli_usage_error("%s", _("unknown option"));
		}
	}
	if (optind >= argc || strcmp(argv[optind], "ui") == 0) {
		if (!ui_entry)
			return cli_usage_error("%s", _("a command is needed"));
		int rc = cli_open_app(&c);
		if (!rc)
			rc = ui_entry(c.app);
		app_close(c.app);
		return rc;
	}
	const char *name = argv[optind];
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct cli_command *cmd = tables[t]; cmd->name; cmd++) {
			if (strcmp(cmd->name, name) != 0)
				continue;
			int rc = cmd->fn(&c, argc - optind, argv + optind);
			app_close(c.app);
			return rc;
		}
	return cli_usage_error(_("unknown command '%s'"), name);
}
