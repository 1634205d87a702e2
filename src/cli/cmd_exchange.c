/* Commands of the exchange with the terminal: send, verify, queue, cancel, poll, results,
 * envelope (log: cmd_audit.c). */
#include "config.h"
#include "cli/cmd.h"
#include "app.h"
#include "errcode.h"
#include "i18n.h"
#include "model/charset.h"
#include "model/check.h"
#include "model/csvrec.h"
#include "model/docio.h"
#include "model/wareki.h"
#include "exchange/inbox.h"
#include "exchange/outbox.h"
#include "exchange/sign.h"

#include <getopt.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- send, queue, cancel, poll, results, envelope, log --- */

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
	if (cli_parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	uint64_t *ids = NULL;
	size_t n = 0;
	if ((!all && optind >= argc) || (all && optind < argc))
		return cli_usage_error("%s", _("send needs document IDs or --all"));
	if (cli_parse_ids(argc, argv, optind, &ids, &n)) {
		free(ids);
		return EXIT_USAGE;
	}
	int rc = cli_open_app(c);
	if (!rc) {
		struct sbuf report = { 0 };
		rc = load_signing_key(c, pin_file, yes);
		if (!rc)
			rc = outbox_send(c->app, ids, n, all, &report);
		sign_key_free(c->app->sign_key);
		c->app->sign_key = NULL;
		fputs(report.s ? report.s : "", stdout);
		sbuf_free(&report);
		rc = cli_exit_for(rc);
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
	if (cli_parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	if (argc - optind != 1)
		return cli_usage_error("%s", _("verify needs FILE.xml"));
	int rc = cli_open_app(c);
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
	rc = cli_read_input(argv[optind], ENVELOPE_MAX_FILE, &buf, &len);
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
		return cli_usage_error(_("queue takes no arguments: %s"), argv[1]);
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	struct term_conf tcf;
	app_term_conf(c->app, &tcf);
	struct queue_ctx q = { tcf.wait_hours, (int64_t)iken_now(), 0 };
	term_conf_clear(&tcf);
	printf("# doc\tform\tfile id\tstate\tfailures\ttime\treception\topinion\tlast error\n");
	rc = outbox_scan(c->app, 0, print_entry, &q);
	return cli_exit_for(rc);
}

static int cmd_cancel(struct cli *c, int argc, char **argv)
{
	uint64_t id;
	if (argc != 2 || parse_u64(argv[1], &id))
		return cli_usage_error(_("cancel needs one document ID: %s"), argc > 1 ? argv[1] : "");
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	struct sbuf report = { 0 };
	rc = outbox_cancel(c->app, id, &report);
	fputs(report.s ? report.s : "", rc ? stderr : stdout);
	sbuf_free(&report);
	return cli_exit_for(rc);
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
	if (cli_parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	if (!daemon)
		return cli_exit_for(poll_once(c, force));
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
	if (cli_parse_opts(argc, argv, opts))
		return EXIT_USAGE;
	if (since) {
		char today[9], ymd[9];
		iken_ymd(iken_now(), today);
		if (wareki_parse(since, today, ymd))
			return cli_usage_error(_("not a date: %s"), since);
		struct tm tm = { 0 };
		sscanf(ymd, "%4d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		tm.tm_isdst = -1;
		rc_.since = (int64_t)mktime(&tm);
	}
	if (rc_.status && strcmp(rc_.status, "accepted") && strcmp(rc_.status, "rejected") &&
	    strcmp(rc_.status, "error") && strcmp(rc_.status, "quarantined"))
		return cli_usage_error(_("unknown result status '%s' (accepted rejected error quarantined)"), rc_.status);
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	rc_.a = c->app;
	printf("# received\tdoc\tform\tfile id\tresult\treception\tmessage\n");
	rc = inbox_scan(c->app, print_result, &rc_);
	if (!rc)
		rc = inbox_quarantine_scan(c->app, print_quarantined, &rc_);
	return cli_exit_for(rc);
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
		return cli_usage_error("%s", _("envelope needs FILE.xml"));
	int rc = cli_open_app(c);
	if (rc)
		return rc;
	char *buf;
	size_t len;
	rc = cli_read_input(argv[1], ENVELOPE_MAX_FILE, &buf, &len);
	if (rc)
		return rc;
	struct sbuf out = { 0 };
	rc = describe_envelope(c->app, buf, len, &out);
	fputs(out.s ? out.s : "", stdout);
	sbuf_free(&out);
	free(buf);
	return rc ? EXIT_DATA : EXIT_OK;
}

const struct cli_command cli_cmds_exchange[] = {
	{ "send", cmd_send, "send ID...|--all [--pin-file F] [--yes]",
	  N_("finalize (opinions: doctors only), sign when the settings\nask for it, queue and publish") },
	{ "queue", cmd_queue, "queue", N_("show the send queue: state, attempts, last error") },
	{ "cancel", cmd_cancel, "cancel ID", N_("cancel a queued document before it is published") },
	{ "poll", cmd_poll, "poll [--daemon] [--force]",
	  N_("publish what is due and import results (once, or as a\nservice every poll_seconds)") },
	{ "results", cmd_results, "results [--since DATE] [--status S]",
	  N_("imported results with reception numbers and errors") },
	{ "envelope", cmd_envelope, "envelope FILE.xml",
	  N_("decode an envelope: header, CSV items with labels, problems") },
	{ "verify", cmd_verify, "verify FILE.xml [--ca F] [--crl F]",
	  N_("check an envelope's signature, digests and certificate chain") },
	{ NULL, NULL, NULL, NULL },
};
