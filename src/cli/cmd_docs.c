/* Commands on records: init, import, check, export, list, show, status. */
#include "config.h"
#include "cli/cmd.h"
#include "app.h"
#include "errcode.h"
#include "i18n.h"
#include "model/charset.h"
#include "model/docio.h"
#include "model/wareki.h"
#include "store/audit.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- init --- */

struct init_ctx {
	const struct form *uf;
	const char *login;
	int created;
};

static int init_txn(struct store_txn *t, void *vctx)
{
	struct init_ctx *c = vctx;
	uint64_t id;
	c->created = 0;
	if (docio_find_key(t, c->uf, c->login, &id) == 0)
		return 0;
	struct record *r = rec_new(c->uf->id, c->uf->layout_version);
	rec_set(r, "login", c->login);
	rec_set(r, "role", "3");
	rec_set(r, "name", c->login);
	int rc = store_rec_insert(t, r, c->login);
	rec_free(r);
	c->created = rc == 0;
	return rc;
}

static int cmd_init(struct cli *c, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error(_("init takes no arguments: %s"), argv[1]);
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	struct init_ctx ic = { formset_get(c->app->fs, "user"), c->app->user, 0 };
	if (ic.uf)
		rc = store_write(c->app->st, init_txn, &ic);
	if (rc)
		return cli_exit_error(rc);
	/* the local stand-ins for the terminal folders (a clinic's settings name its mount) */
	struct term_conf tcf;
	if (app_term_conf(c->app, &tcf) == 0) {
		const char *dirs[] = { tcf.req, tcf.res };
		for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
			if (strncmp(dirs[i], c->app->data_dir, strlen(c->app->data_dir)) == 0)
				mkdir_p(dirs[i], 0755);
		term_conf_clear(&tcf);
	}
	printf(_("data store ready: %s\n"), c->app->data_dir);
	if (ic.created)
		printf(_("user %s registered as admin\n"), ic.login);
	return EXIT_OK;
}

/* --- import / check --- */

static int import_or_check(struct cli *c, int argc, char **argv, int check_only)
{
	int skip = 0;
	const struct cmd_opt opts[] = {
		{ "skip-invalid", &skip, NULL },
		{ NULL, NULL, NULL },
	};
	/* check takes no option */
	if (cli_parse_opts(argc, argv, check_only ? &opts[1] : opts))
		return EXIT_USAGE;
	unsigned flags = (check_only ? IMPORT_CHECK_ONLY : 0) | (skip ? IMPORT_SKIP_INVALID : 0);
	if (argc - optind != 2)
		return cli_usage_error(_("%s needs FORM and FILE.csv"), argv[0]);
	const struct form *f;
	int rc = cli_open_form(c, argv[optind], &f);
	if (rc)
		return rc;
	char *buf;
	size_t len;
	rc = cli_read_input(argv[optind + 1], DOCIO_MAX_FILE, &buf, &len);
	if (rc)
		return rc;
	struct sbuf report = { 0 };
	struct import_result res;
	rc = docio_import(c->app->st, c->app->fs, f, buf, len, flags, c->app->user, &report, &res);
	free(buf);
	fputs(report.s ? report.s : "", rc ? stderr : stdout);
	sbuf_free(&report);
	if (rc && rc != IKEN_EDATA && rc != IKEN_ECSV && rc != IKEN_ELIMIT)
		fprintf(stderr, "iken: %s\n", iken_strerror(rc));
	if (check_only)
		printf(_("%zu records checked, %zu with errors\n"), res.rows, res.invalid);
	else if (res.imported || !res.invalid)
		printf(_("%zu records imported, %zu skipped\n"), res.imported, res.rows - res.imported);
	else
		fprintf(stderr, _("nothing imported: %zu of %zu records have errors\n"), res.invalid,
			res.rows);
	return rc == IKEN_ELIMIT ? EXIT_DATA : cli_exit_for(rc);
}

static int cmd_import(struct cli *c, int argc, char **argv)
{
	return import_or_check(c, argc, argv, 0);
}

static int cmd_check(struct cli *c, int argc, char **argv)
{
	return import_or_check(c, argc, argv, 1);
}

/* --- export --- */

static int cmd_export(struct cli *c, int argc, char **argv)
{
	const char *status_arg = NULL;
	const struct cmd_opt opts[] = {
		{ "status", NULL, &status_arg },
		{ NULL, NULL, NULL },
	};
	int status;
	if (cli_parse_opts(argc, argv, opts) || cli_parse_status(status_arg, &status))
		return EXIT_USAGE;
	if (argc - optind != 1)
		return cli_usage_error(_("%s needs FORM"), argv[0]);
	const struct form *f;
	int rc = cli_open_form(c, argv[optind], &f);
	if (rc)
		return rc;
	struct sbuf out = { 0 };
	rc = docio_export(c->app->st, f, status, c->app->user, &out);
	if (!rc && fwrite(out.s, 1, out.len, stdout) != out.len)
		rc = -5; /* EIO */
	sbuf_free(&out);
	return cli_exit_error(rc);
}

/* --- list --- */

static int query_from(const char *q, struct store_query *sq, char from[9], char to[9])
{
	char today[9];
	iken_ymd(iken_now(), today);
	const char *dots = strstr(q, "..");
	if (dots) {
		char *a = xstrndup(q, (size_t)(dots - q));
		int rc = (*a && wareki_parse(a, today, from)) || (dots[2] && wareki_parse(dots + 2, today, to));
		sq->date_from = *a ? from : NULL;
		sq->date_to = dots[2] ? to : NULL;
		free(a);
		return rc ? -1 : 0;
	}
	size_t n = strlen(q);
	if (n == 10 && strspn(q, "0123456789") == n) {
		sq->insured = q;
		return 0;
	}
	if (*q && charset_is_kana(q)) {
		sq->kana = q;
		return 0;
	}
	if (wareki_parse(q, today, from) == 0) {
		sq->date_from = sq->date_to = from;
		return 0;
	}
	return -1;
}

struct list_ctx {
	const struct form *f;
	struct store_query q;
	const struct field *cols[4];
	size_t ncols;
};

static int list_one(const struct record *r, void *vctx)
{
	struct list_ctx *c = vctx;
	printf("%llu\t%s\tr%u", (unsigned long long)r->id, rec_status_name(r->status), r->revision);
	for (size_t k = 0; k < c->ncols; k++)
		printf("\t%s", rec_val(r, c->cols[k]->id));
	printf("\n");
	return 0;
}

static int list_txn(struct store_txn *t, void *vctx)
{
	struct list_ctx *c = vctx;
	/* The columns: the indexed fields and the first text field (a name) of the form. */
	c->ncols = 0;
	for (size_t i = 0; i < c->f->nfields && c->ncols < 3; i++)
		if (c->f->fields[i].index)
			c->cols[c->ncols++] = &c->f->fields[i];
	for (size_t i = 0; i < c->f->nfields; i++)
		if (c->f->fields[i].type == FT_TEXT && !c->f->fields[i].fill &&
		    !c->f->fields[i].prefill) {
			c->cols[c->ncols++] = &c->f->fields[i];
			break;
		}
	return store_find_each(t, &c->q, list_one, c);
}

static int cmd_list(struct cli *c, int argc, char **argv)
{
	const char *query = NULL, *status_arg = NULL;
	const struct cmd_opt opts[] = {
		{ "query", NULL, &query },
		{ "status", NULL, &status_arg },
		{ NULL, NULL, NULL },
	};
	int status;
	if (cli_parse_opts(argc, argv, opts) || cli_parse_status(status_arg, &status))
		return EXIT_USAGE;
	if (argc - optind != 1)
		return cli_usage_error(_("%s needs FORM"), argv[0]);
	struct list_ctx lc = { .f = NULL };
	int rc = cli_open_form(c, argv[optind], &lc.f);
	if (rc)
		return rc;
	char from[9], to[9];
	lc.q.form = lc.f->id;
	lc.q.status = status;
	if (query && query_from(query, &lc.q, from, to))
		/* not repeated: a query is a name or an insured number */
		return cli_usage_error("%s", _("cannot read the query: give an insured number (10 digits), a kana prefix, a date or FROM..TO"));
	return cli_exit_error(store_read(c->app->st, list_txn, &lc));
}

/* --- show --- */

static void print_value(const struct field *fld, const char *v)
{
	char w[64];
	if (!*v)
		return;
	if ((fld->type == FT_DATE || fld->type == FT_PDATE) &&
	    wareki_format(v, WAREKI_LONG, w, sizeof(w)) == 0) {
		printf("%s (%s)", v, w);
		return;
	}
	if (fld->type == FT_CODE) {
		const struct code *code = codelist_find(fld->codes, v);
		if (code) {
			printf("%s %s", v, iken_lang_ja() ? code->label : code->label_en);
			return;
		}
	}
	for (const char *p = v; *p; p++)
		if (*p == '\n')
			fputs("\n      ", stdout);
		else
			putchar(*p);
}

static int cmd_show(struct cli *c, int argc, char **argv)
{
	uint64_t id;
	if (argc != 2 || parse_u64(argv[1], &id))
		return cli_usage_error(_("show needs a record ID (a number): %s"), argc > 1 ? argv[1] : "");
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	struct record *r;
	rc = audit_get_record(c->app->st, id, AUDIT_SHOW, c->app->user, &r);
	if (rc) {
		fprintf(stderr, "iken: %s: %s\n", argv[1], iken_strerror(rc));
		return cli_exit_for(rc);
	}
	const struct form *f = formset_get(c->app->fs, r->form);
	char cr[15], up[15];
	iken_ymdhms((time_t)r->created, cr);
	iken_ymdhms((time_t)r->updated, up);
	int ja = iken_lang_ja();
	printf("id %llu  form %s  status %s  revision %u\n", (unsigned long long)r->id, r->form,
	       rec_status_name(r->status), r->revision);
	printf("created %s by %s  updated %s by %s\n", cr, r->created_by, up, r->updated_by);
	for (size_t i = 0; f && i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		printf("%4d %s: ", fld->no, ja ? fld->label : fld->label_en);
		print_value(fld, rec_val(r, fld->id));
		printf("\n");
	}
	rec_free(r);
	return EXIT_OK;
}

/* --- status --- */

struct status_ctx {
	const struct formset *fs;
};

static int status_txn(struct store_txn *t, void *vctx)
{
	struct status_ctx *c = vctx;
	printf("%-10s", "form");
	for (int s = 0; s < ST__COUNT; s++)
		printf(" %9s", rec_status_name((enum rec_status)s));
	printf(" %9s\n", "total");
	for (size_t i = 0; i < c->fs->nforms; i++) {
		const struct form *f = c->fs->forms[i];
		size_t total = 0;
		printf("%-10s", f->id);
		for (int s = 0; s < ST__COUNT; s++) {
			size_t n = 0;
			int rc = store_count(t, f->id, s, &n);
			if (rc)
				return rc;
			total += n;
			printf(" %9zu", n);
		}
		printf(" %9zu\n", total);
	}
	return 0;
}

static int cmd_status(struct cli *c, int argc, char **argv)
{
	if (argc > 1)
		return cli_usage_error(_("status takes no arguments: %s"), argv[1]);
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	printf(_("data: %s\n"), c->app->data_dir);
	struct status_ctx sc = { c->app->fs };
	return cli_exit_error(store_read(c->app->st, status_txn, &sc));
}

const struct cli_command cli_cmds_docs[] = {
	{ "init", cmd_init, "init", N_("create the data store; the current user becomes admin") },
	{ "import", cmd_import, "import FORM FILE.csv [--skip-invalid]",
	  N_("check and import records (all or nothing)") },
	{ "check", cmd_check, "check FORM FILE.csv", N_("check records without importing them") },
	{ "export", cmd_export, "export FORM [--status S]",
	  N_("write records as CSV (header row of field ids)") },
	{ "list", cmd_list, "list FORM [--query Q] [--status S]",
	  N_("list records; Q: insured number, kana prefix, date or\ndate range FROM..TO (和暦 accepted)") },
	{ "show", cmd_show, "show ID", N_("show one record with item numbers and labels") },
	{ "status", cmd_status, "status", N_("count records by form and status") },
	{ NULL, NULL, NULL, NULL },
};
