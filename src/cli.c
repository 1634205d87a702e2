#include "config.h"
#include "cli.h"
#include "app.h"
#include "charset.h"
#include "csvrec.h"
#include "docio.h"
#include "errcode.h"
#include "i18n.h"
#include "audit.h"
#include "inbox.h"
#include "outbox.h"
#include "sign.h"
#include "wareki.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct cli {
	const char *data;
	const char *forms;
	struct app *app;
};

static const char usage_text[] = N_(
"Usage: iken [--data DIR] [--forms DIR] [COMMAND [ARGS]]\n"
"\n"
"Without a command (or with 'ui') iken opens its screens.\n"
"\n"
"Commands:\n"
"  init                          create the data store; the current user becomes admin\n"
"  import FORM FILE.csv [--skip-invalid]\n"
"                                check and import records (all or nothing)\n"
"  check FORM FILE.csv           check records without importing them\n"
"  export FORM [--status S]      write records as CSV (header row of field ids)\n"
"  list FORM [--query Q] [--status S]\n"
"                                list records; Q: insured number, kana prefix, date or\n"
"                                date range FROM..TO (和暦 accepted)\n"
"  show ID                       show one record with item numbers and labels\n"
"  status                        count records by form and status\n"
"  send ID...|--all [--pin-file F] [--yes]\n"
"                                finalize (opinions: doctors only), sign when the settings\n"
"                                ask for it, queue and publish\n"
"  queue                         show the send queue: state, attempts, last error\n"
"  cancel ID                     cancel a queued document before it is published\n"
"  poll [--daemon] [--force]     publish what is due and import results (once, or as a\n"
"                                service every poll_seconds)\n"
"  results [--since DATE] [--status S]\n"
"                                imported results with reception numbers and errors\n"
"  envelope FILE.xml             decode an envelope: header, CSV items with labels, problems\n"
"  log [send|receive]            the send or receive log (evidence of transmission)\n"
"  verify FILE.xml [--ca F] [--crl F]\n"
"                                check an envelope's signature, digests and certificate chain\n"
"\n"
"Forms: ikensho (opinion), seikyu (invoice), applicant, user, settings.\n"
"Statuses: draft final queued published accepted rejected.\n"
"\n"
"Options:\n"
"  --data DIR     data directory (default $IKEN_DATA, else $XDG_DATA_HOME/iken)\n"
"  --forms DIR    form files (default: the installed forms)\n"
"  -h, --help     show this help\n"
"  -V, --version  show the version\n"
"\n"
"Exit status: 0 success, 1 problems in the data, 2 usage, 3 store or I/O error.\n");

/* fmt is one of this file's translated messages with one %s. */
static int usage_error(const char *fmt, const char *arg)
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

static int exit_for(int rc)
{
	if (rc == 0)
		return EXIT_OK;
	if (rc == IKEN_EDATA || rc == IKEN_ECSV || rc == IKEN_EUTF8 || rc == IKEN_ECONFLICT ||
	    rc == IKEN_ENOTFOUND || rc == IKEN_ESTATE || rc == IKEN_EPERM)
		return EXIT_DATA;
	return EXIT_IO;
}

/* Says what went wrong (when rc is an error) and gives the exit status for rc. */
static int exit_error(int rc)
{
	if (rc)
		fprintf(stderr, "iken: %s\n", iken_strerror(rc));
	return exit_for(rc);
}

/* A command's option: a flag (set to 1 when given) or one with an argument (the last given). */
struct cmd_opt {
	const char *name;
	int *flag;
	const char **arg;
};

/* Reads the options of a command (argv[0] is its name) into opts, which a NULL name ends; the
 * operands are argv[optind] on. Returns 0, or EXIT_USAGE after saying which is unknown. */
static int parse_opts(int argc, char **argv, const struct cmd_opt *opts)
{
	struct option lo[8] = { { 0 } };  /* more than any command has */
	int n = 0, o;
	for (; opts[n].name && n + 1 < (int)ARRAY_SIZE(lo); n++) {
		lo[n].name = opts[n].name;
		lo[n].has_arg = opts[n].arg ? required_argument : no_argument;
		lo[n].val = n + 1;  /* the option's place in opts, + 1 */
	}
	optind = 0; /* 0: GNU getopt starts over (the global options stopped at the command) */
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (o < 1 || o > n)
			return usage_error(_("unknown option for %s"), argv[0]);
		if (opts[o - 1].arg)
			*opts[o - 1].arg = optarg;
		else
			*opts[o - 1].flag = 1;
	}
	return 0;
}

/* Reads the file a command names, up to max bytes (*buf freed by the caller), and says why when
 * it cannot. Returns 0 or EXIT_IO. */
static int read_input(const char *path, size_t max, char **buf, size_t *len)
{
	int rc = read_file(path, max, buf, len);
	if (rc)
		fprintf(stderr, "iken: %s: %s\n", path, iken_strerror(rc));
	return rc ? EXIT_IO : 0;
}

static int open_app(struct cli *c)
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
static int open_form(struct cli *c, const char *id, const struct form **f)
{
	int rc = open_app(c);
	if (rc)
		return rc;
	*f = formset_get(c->app->fs, id);
	if (!*f)
		fprintf(stderr, "iken: %s: %s\n", id, _("no such form"));
	return *f ? 0 : EXIT_USAGE;
}

/* A record status for --status (-1, any status, when s is NULL). */
static int parse_status(const char *s, int *out)
{
	enum rec_status st;
	*out = -1;
	if (!s)
		return 0;
	if (rec_status_parse(s, &st))
		return usage_error(_("unknown status '%s' (draft final queued published accepted rejected)"), s);
	*out = (int)st;
	return 0;
}

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
		return usage_error(_("init takes no arguments: %s"), argv[1]);
	int rc = open_app(c);
	if (rc)
		return rc;
	struct init_ctx ic = { formset_get(c->app->fs, "user"), c->app->user, 0 };
	if (ic.uf)
		rc = store_write(c->app->st, init_txn, &ic);
	if (rc)
		return exit_error(rc);
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
	if (parse_opts(argc, argv, check_only ? &opts[1] : opts))
		return EXIT_USAGE;
	unsigned flags = (check_only ? IMPORT_CHECK_ONLY : 0) | (skip ? IMPORT_SKIP_INVALID : 0);
	if (argc - optind != 2)
		return usage_error(_("%s needs FORM and FILE.csv"), argv[0]);
	const struct form *f;
	int rc = open_form(c, argv[optind], &f);
	if (rc)
		return rc;
	char *buf;
	size_t len;
	rc = read_input(argv[optind + 1], DOCIO_MAX_FILE, &buf, &len);
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
	return rc == IKEN_ELIMIT ? EXIT_DATA : exit_for(rc);
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
	if (parse_opts(argc, argv, opts) || parse_status(status_arg, &status))
		return EXIT_USAGE;
	if (argc - optind != 1)
		return usage_error(_("%s needs FORM"), argv[0]);
	const struct form *f;
	int rc = open_form(c, argv[optind], &f);
	if (rc)
		return rc;
	struct sbuf out = { 0 };
	rc = docio_export(c->app->st, f, status, &out);
	if (!rc && fwrite(out.s, 1, out.len, stdout) != out.len)
		rc = -5; /* EIO */
	sbuf_free(&out);
	return exit_error(rc);
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
	if (parse_opts(argc, argv, opts) || parse_status(status_arg, &status))
		return EXIT_USAGE;
	if (argc - optind != 1)
		return usage_error(_("%s needs FORM"), argv[0]);
	struct list_ctx lc = { .f = NULL };
	int rc = open_form(c, argv[optind], &lc.f);
	if (rc)
		return rc;
	char from[9], to[9];
	lc.q.form = lc.f->id;
	lc.q.status = status;
	if (query && query_from(query, &lc.q, from, to))
		return usage_error(_("cannot read the query '%s': give an insured number (10 digits), a kana prefix, a date or FROM..TO"), query);
	return exit_error(store_read(c->app->st, list_txn, &lc));
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
		return usage_error(_("show needs a record ID (a number): %s"), argc > 1 ? argv[1] : "");
	int rc = open_app(c);
	if (rc)
		return rc;
	struct record *r;
	rc = store_get(c->app->st, id, &r);
	if (rc) {
		fprintf(stderr, "iken: %s: %s\n", argv[1], iken_strerror(rc));
		return exit_for(rc);
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
		return usage_error(_("status takes no arguments: %s"), argv[1]);
	int rc = open_app(c);
	if (rc)
		return rc;
	printf(_("data: %s\n"), c->app->data_dir);
	struct status_ctx sc = { c->app->fs };
	return exit_error(store_read(c->app->st, status_txn, &sc));
}

/* --- send, queue, cancel, poll, results, envelope, log --- */

static int parse_ids(int argc, char **argv, int first, uint64_t **ids, size_t *n)
{
	*ids = xcalloc((size_t)argc + 1, sizeof(**ids));
	*n = 0;
	for (int i = first; i < argc; i++) {
		if (parse_u64(argv[i], &(*ids)[*n]))
			return usage_error(_("not a document ID: %s"), argv[i]);
		(*n)++;
	}
	return 0;
}

/* When the settings ask for signed opinions: the doctor's key, the PIN asked for without echo
 * (or read from --pin-file), the certificate's subject shown for confirmation (--yes skips). */
static int load_signing_key(struct cli *c, const char *pin_file, int yes)
{
	struct term_conf tcf;
	struct record *user = NULL;
	struct sbuf report = { 0 };
	int rc = app_term_conf(c->app, &tcf);
	if (rc || !tcf.sign_required)
		goto cleanup;
	rc = app_current_user(c->app, &user);
	if (rc)
		goto cleanup; /* outbox_send says who is not registered */
	rc = outbox_load_key(c->app, user, pin_file, 1, &report);
	fputs(report.s ? report.s : "", rc ? stderr : stdout);
	if (!rc && !yes) {
		char answer[16] = "";
		printf("%s", _("Sign with this certificate? [y/N] "));
		fflush(stdout);
		FILE *tty = fopen("/dev/tty", "r");
		if (!tty || !fgets(answer, sizeof(answer), tty) || (answer[0] != 'y' && answer[0] != 'Y'))
			rc = IKEN_EPERM;
		if (tty)
			fclose(tty);
	}
cleanup:
	sbuf_free(&report);
	rec_free(user);
	term_conf_clear(&tcf);
	return rc;
}

static int cmd_send(struct cli *c, int argc, char **argv)
{
	int all = 0, yes = 0;
	const char *pin_file = NULL;
	const struct cmd_opt opts[] = {
		{ "all", &all, NULL },
		{ "pin-file", NULL, &pin_file },
		{ "yes", &yes, NULL },
		{ NULL, NULL, NULL },
	};
	if (parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	uint64_t *ids = NULL;
	size_t n = 0;
	if ((!all && optind >= argc) || (all && optind < argc))
		return usage_error("%s", _("send needs document IDs or --all"));
	if (parse_ids(argc, argv, optind, &ids, &n)) {
		free(ids);
		return EXIT_USAGE;
	}
	int rc = open_app(c);
	if (!rc) {
		struct sbuf report = { 0 };
		rc = load_signing_key(c, pin_file, yes);
		if (!rc)
			rc = outbox_send(c->app, ids, n, all, &report);
		sign_key_free(c->app->sign_key);
		c->app->sign_key = NULL;
		fputs(report.s ? report.s : "", stdout);
		sbuf_free(&report);
		rc = exit_for(rc);
	}
	free(ids);
	return rc;
}

static int cmd_verify(struct cli *c, int argc, char **argv)
{
	const char *ca = NULL, *crl = NULL;
	const struct cmd_opt opts[] = {
		{ "ca", NULL, &ca },
		{ "crl", NULL, &crl },
		{ NULL, NULL, NULL },
	};
	if (parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	if (argc - optind != 1)
		return usage_error("%s", _("verify needs FILE.xml"));
	int rc = open_app(c);
	if (rc)
		return rc;
	struct term_conf tcf;
	app_term_conf(c->app, &tcf);
	if (!ca && *tcf.sign_ca_file)
		ca = tcf.sign_ca_file;
	if (!crl && *tcf.sign_crl_file)
		crl = tcf.sign_crl_file;
	char *buf = NULL;
	size_t len;
	struct sbuf report = { 0 };
	rc = read_input(argv[optind], ENVELOPE_MAX_FILE, &buf, &len);
	if (!rc) {
		rc = sign_verify(buf, len, terminal_data_element(c->app->tc), ca, crl, iken_now(), &report);
		fputs(report.s ? report.s : "", stdout);
		if (rc)
			fprintf(stderr, "iken: %s: %s\n", argv[optind], sign_strerror(rc));
		rc = rc ? EXIT_DATA : EXIT_OK;
	}
	free(buf);
	sbuf_free(&report);
	term_conf_clear(&tcf);
	return rc;
}

struct queue_ctx {
	int wait_hours;
	int64_t now;
	size_t n;
};

static int print_entry(const struct q_entry *e, void *vctx)
{
	struct queue_ctx *q = vctx;
	char t[15];
	iken_ymdhms((time_t)(e->published ? e->published : e->created), t);
	/* an invoice shows the opinion it goes with */
	printf("%llu\t%s\t%s\t%s\t%u\t%s\t%s\t%s%s%s\n", (unsigned long long)e->doc_id, e->form,
	       e->file_id, q_entry_display_state(e, q->wait_hours, q->now), e->tries, t,
	       e->reception_no && *e->reception_no ? e->reception_no : "-",
	       e->pair && *e->pair ? e->pair : "-",
	       e->last_error && *e->last_error ? "\t" : "", e->last_error ? e->last_error : "");
	q->n++;
	return 0;
}

static int cmd_queue(struct cli *c, int argc, char **argv)
{
	if (argc > 1)
		return usage_error(_("queue takes no arguments: %s"), argv[1]);
	int rc = open_app(c);
	if (rc)
		return rc;
	struct term_conf tcf;
	app_term_conf(c->app, &tcf);
	struct queue_ctx q = { tcf.wait_hours, (int64_t)iken_now(), 0 };
	term_conf_clear(&tcf);
	printf("# doc\tform\tfile id\tstate\tfailures\ttime\treception\topinion\tlast error\n");
	rc = outbox_scan(c->app, 0, print_entry, &q);
	return exit_for(rc);
}

static int cmd_cancel(struct cli *c, int argc, char **argv)
{
	uint64_t id;
	if (argc != 2 || parse_u64(argv[1], &id))
		return usage_error(_("cancel needs one document ID: %s"), argc > 1 ? argv[1] : "");
	int rc = open_app(c);
	if (rc)
		return rc;
	struct sbuf report = { 0 };
	rc = outbox_cancel(c->app, id, &report);
	fputs(report.s ? report.s : "", rc ? stderr : stdout);
	sbuf_free(&report);
	return exit_for(rc);
}

static volatile sig_atomic_t stop_daemon;

static void on_stop(int sig)
{
	(void)sig;
	stop_daemon = 1;
}

/* One pass: publish what is due (retries after a failure), then import results. */
static int poll_once(struct cli *c, int force)
{
	struct sbuf report = { 0 };
	size_t published = 0;
	struct poll_stats ps;
	int rc = outbox_publish_due(c->app, force, &published, &report);
	int rc2 = inbox_poll(c->app, &ps, &report);
	fputs(report.s ? report.s : "", stdout);
	fflush(stdout);
	sbuf_free(&report);
	return rc2 ? rc2 : rc;
}

static int cmd_poll(struct cli *c, int argc, char **argv)
{
	int daemon = 0, force = 0;
	const struct cmd_opt opts[] = {
		{ "daemon", &daemon, NULL },
		{ "force", &force, NULL },
		{ NULL, NULL, NULL },
	};
	if (parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	int rc = open_app(c);
	if (rc)
		return rc;
	if (!daemon)
		return exit_for(poll_once(c, force));
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop_daemon) {
		struct term_conf tcf;
		app_term_conf(c->app, &tcf);
		int every = tcf.poll_seconds > 0 ? tcf.poll_seconds : 10; /* settings unreadable: the default */
		term_conf_clear(&tcf);
		poll_once(c, 0);
		for (int i = 0; i < every * 10 && !stop_daemon; i++)
			usleep(100000);
	}
	return EXIT_OK;
}

struct results_ctx {
	struct app *a;
	int64_t since;
	const char *status;
	size_t n;
};

static void print_errors(const struct form *f, const char *errors)
{
	int ja = iken_lang_ja();
	const char *p = errors;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = xstrndup(p, len);
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t1 && t2) {
			*t1 = *t2 = '\0';
			int no = atoi(line);
			const struct field *fld = NULL;
			for (size_t i = 0; f && i < f->nfields; i++)
				if (f->fields[i].no == no)
					fld = &f->fields[i];
			if (fld)
				printf(_("    item %d (%s): %s [%s]\n"), no,
				       ja ? fld->label : fld->label_en, t2 + 1, t1 + 1);
			else
				printf(_("    item %d: %s [%s]\n"), no, t2 + 1,
				       t1 + 1);
		}
		free(line);
		p = nl ? nl + 1 : NULL;
	}
}

static int print_result(const struct stored_result *r, void *vctx)
{
	struct results_ctx *c = vctx;
	if (r->received < c->since || (c->status && strcmp(c->status, r->status) != 0))
		return 0;
	char t[15];
	iken_ymdhms((time_t)r->received, t);
	printf("%s\t%llu\t%s\t%s\t%s\t%s\t%s\n", t, (unsigned long long)r->doc_id, r->form,
	       r->file_id, r->status, *r->reception_no ? r->reception_no : "-",
	       *r->message ? r->message : "");
	print_errors(formset_get(c->a->fs, r->form), r->errors);
	c->n++;
	return 0;
}

static int print_quarantined(const struct quarantined *q, void *vctx)
{
	struct results_ctx *c = vctx;
	if (q->time < c->since || (c->status && strcmp(c->status, "quarantined") != 0))
		return 0;
	char t[15];
	iken_ymdhms((time_t)q->time, t);
	printf("%s\t-\t-\t%s\tquarantined\t-\t%s\n", t, q->file, q->reason);
	return 0;
}

static int cmd_results(struct cli *c, int argc, char **argv)
{
	struct results_ctx rc_ = { NULL, 0, NULL, 0 };
	const char *since = NULL;
	const struct cmd_opt opts[] = {
		{ "since", NULL, &since },
		{ "status", NULL, &rc_.status },
		{ NULL, NULL, NULL },
	};
	if (parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	if (since) {
		char today[9], ymd[9];
		iken_ymd(iken_now(), today);
		if (wareki_parse(since, today, ymd))
			return usage_error(_("not a date: %s"), since);
		struct tm tm = { 0 };
		sscanf(ymd, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		tm.tm_isdst = -1;
		rc_.since = (int64_t)mktime(&tm);
	}
	if (rc_.status && strcmp(rc_.status, "accepted") && strcmp(rc_.status, "rejected") &&
	    strcmp(rc_.status, "error") && strcmp(rc_.status, "quarantined"))
		return usage_error(_("unknown result status '%s' (accepted rejected error quarantined)"), rc_.status);
	int rc = open_app(c);
	if (rc)
		return rc;
	rc_.a = c->app;
	printf("# received\tdoc\tform\tfile id\tresult\treception\tmessage\n");
	rc = inbox_scan(c->app, print_result, &rc_);
	if (!rc)
		rc = inbox_quarantine_scan(c->app, print_quarantined, &rc_);
	return exit_for(rc);
}

struct describe_row {
	struct record *rec;
	size_t ncols;
};

static int describe_on_row(const struct csv_row *row, void *vctx)
{
	struct describe_row *d = vctx;
	d->ncols = row->n;
	return 0;
}

/* Prints an envelope for support staff: header, every CSV item with number and label, and every
 * problem the checks find in it. Returns 0 when the envelope has no problem. */
static int describe_envelope(struct app *a, const char *buf, size_t len, struct sbuf *out)
{
	struct envelope_hdr h = { 0 };
	struct sbuf csv = { 0 }, err = { 0 };
	struct docio_rows rows = { 0 };
	int ja = iken_lang_ja(), bad = 0;
	int rc = envelope_parse(a->tc, buf, len, &h, &csv, &err);
	if (rc) {
		sbuf_printf(out, _("cannot read the envelope: %s\n"),
			    err.s ? err.s : iken_strerror(rc));
		goto cleanup;
	}
	sbuf_printf(out, "MedicalInstitutionCode  %s\nArbitraryFileIdentifier %s\n"
			 "CreationDateTime        %s\nDocumentClassification  %s\n"
			 "CharacterCodeIdentifier %s\nInsurerNumber           %s\n"
			 "InsuredNumber           %s\nLayoutVersion           %s\n",
		    h.clinic_code ? h.clinic_code : "", h.file_id ? h.file_id : "",
		    h.created ? h.created : "", h.doc_class ? h.doc_class : "",
		    h.charset ? h.charset : "", h.insurer_no ? h.insurer_no : "",
		    h.insured_no ? h.insured_no : "", h.layout_version ? h.layout_version : "");
	const struct form *f = NULL;
	for (size_t i = 0; i < a->fs->nforms; i++)
		if (a->fs->forms[i]->env_doc_class && h.doc_class &&
		    strcmp(a->fs->forms[i]->env_doc_class, h.doc_class) == 0)
			f = a->fs->forms[i];
	if (!f) {
		sbuf_printf(out, _("no form for document class %s\n"),
			    h.doc_class ? h.doc_class : "");
		rc = IKEN_EDATA;
		goto cleanup;
	}
	/* the CSV has no header: give it the form's, then read it as an import file */
	struct sbuf file = { 0 };
	docio_header_csv(f, &file);
	sbuf_add(&file, csv.s ? csv.s : "", csv.len);
	struct describe_row dr = { NULL, 0 };
	csvrec_parse(csv.s ? csv.s : "", csv.len, describe_on_row, &dr, NULL);
	if (dr.ncols != f->nfields) {
		sbuf_printf(out, _("the record has %zu columns (form %s has %zu items)\n"),
			    dr.ncols, f->id, f->nfields);
		bad = 1;
	}
	rc = docio_parse(f, file.s, file.len, &rows, &err);
	sbuf_free(&file);
	if (rc || rows.n != 1) {
		sbuf_printf(out, _("cannot read the CSV: %s\n"),
			    err.s ? err.s : "");
		rc = IKEN_EDATA;
		goto cleanup;
	}
	for (size_t i = 0; i < f->nfields; i++)
		sbuf_printf(out, "%4d %s: %s\n", f->fields[i].no,
			    ja ? f->fields[i].label : f->fields[i].label_en,
			    rec_val(rows.recs[0], f->fields[i].id));
	struct problems ps = { 0 };
	char today[9];
	iken_ymd(iken_now(), today);
	check_record(a->fs, f, rows.recs[0], CHECK_SEND, today, &ps);
	for (size_t i = 0; i < ps.n; i++) {
		sbuf_puts(out, _("problem: "));
		docio_problem_line(&ps.v[i], out);
		sbuf_putc(out, '\n');
	}
	if (ps.nerrors)
		bad = 1;
	problems_free(&ps);
	rc = bad ? IKEN_EDATA : 0;
cleanup:
	docio_rows_free(&rows);
	envelope_hdr_clear(&h);
	sbuf_free(&csv);
	sbuf_free(&err);
	return rc;
}

static int cmd_envelope(struct cli *c, int argc, char **argv)
{
	if (argc != 2)
		return usage_error("%s", _("envelope needs FILE.xml"));
	int rc = open_app(c);
	if (rc)
		return rc;
	char *buf;
	size_t len;
	rc = read_input(argv[1], ENVELOPE_MAX_FILE, &buf, &len);
	if (rc)
		return rc;
	struct sbuf out = { 0 };
	rc = describe_envelope(c->app, buf, len, &out);
	fputs(out.s ? out.s : "", stdout);
	sbuf_free(&out);
	free(buf);
	return rc ? EXIT_DATA : EXIT_OK;
}

static int print_audit(const struct audit_entry *e, void *ctx)
{
	(void)ctx;
	printf("%s\t%s\t%s\t%s\t%s\n", e->time, e->user, e->file, e->sha256, e->outcome);
	return 0;
}

struct log_ctx {
	enum audit_log log;
};

static int log_txn(struct store_txn *t, void *vctx)
{
	struct log_ctx *l = vctx;
	return audit_scan(t, l->log, print_audit, NULL);
}

static int cmd_log(struct cli *c, int argc, char **argv)
{
	struct log_ctx l = { AUDIT_SEND };
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "send") && strcmp(argv[1], "receive")))
		return usage_error("%s", _("log takes send or receive"));
	if (argc == 2 && strcmp(argv[1], "receive") == 0)
		l.log = AUDIT_RECV;
	int rc = open_app(c);
	if (rc)
		return rc;
	printf("# time\tuser\tfile\tsha256\toutcome\n");
	return exit_for(store_read(c->app->st, log_txn, &l));
}

static const struct {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
} commands[] = {
	{ "send", cmd_send },
	{ "queue", cmd_queue },
	{ "cancel", cmd_cancel },
	{ "poll", cmd_poll },
	{ "results", cmd_results },
	{ "envelope", cmd_envelope },
	{ "log", cmd_log },
	{ "verify", cmd_verify },
	{ "init", cmd_init },
	{ "import", cmd_import },
	{ "check", cmd_check },
	{ "export", cmd_export },
	{ "list", cmd_list },
	{ "show", cmd_show },
	{ "status", cmd_status },
};

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
		case 'h': fputs(_(usage_text), stdout); return EXIT_OK;
		case 'V': printf("iken %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: return usage_error("%s", _("unknown option"));
		}
	}
	if (optind >= argc || strcmp(argv[optind], "ui") == 0) {
		if (!ui_entry)
			return usage_error("%s", _("a command is needed"));
		int rc = open_app(&c);
		if (!rc)
			rc = ui_entry(c.app);
		app_close(c.app);
		return rc;
	}
	const char *name = argv[optind];
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			int rc = commands[i].fn(&c, argc - optind, argv + optind);
			app_close(c.app);
			return rc;
		}
	}
	return usage_error(_("unknown command '%s'"), name);
}
