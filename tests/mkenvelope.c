/* mkenvelope: writes one request envelope per record of an import file, for the terminal
 * simulator's tests.
 *
 *   mkenvelope [--forms DIR] [--set ROW:FIELD=VALUE]... [--id-start N] FORM FILE.csv OUTDIR CLINICCODE
 *
 * FILE.csv is an import file (header of field ids, one record per row: tests/gen_records writes
 * them). Derived fields left empty are computed, then --set changes a value of row ROW (1-based)
 * after generation (to make an invalid document). Each request is named
 * <prefix>req_<CLINICCODE><YYYYMMDDHHMMSS><NNNN>.xml with the clock of IKEN_TEST_NOW and a
 * counter from --id-start (default 1), written atomically into OUTDIR; its name is printed.
 * CLINICCODE "-" takes each record's own clinic code (the field terminal.xml names). */
#include "config.h"
#include "model/check.h"
#include "model/docio.h"
#include "exchange/envelope.h"
#include "errcode.h"
#include "model/form.h"
#include "model/record.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct change {
	unsigned long row;
	char *field, *value;
};

static void usage(void)
{
	fprintf(stderr, "usage: mkenvelope [--forms DIR] [--set ROW:FIELD=VALUE]... [--id-start N] "
			"FORM FILE.csv OUTDIR CLINICCODE\n");
	exit(2);
}

static int parse_change(const char *s, struct change *c)
{
	char *end;
	c->row = strtoul(s, &end, 10);
	const char *eq = strchr(end, '=');
	if (end == s || *end != ':' || !eq || eq == end + 1 || c->row == 0)
		return -1;
	c->field = xstrndup(end + 1, (size_t)(eq - end - 1));
	c->value = xstrdup(eq + 1);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *args[4];
	struct change *changes = NULL;
	size_t nchanges = 0;
	unsigned long id_start = 1;
	int nargs = 0, rc = 1;
	struct formset *fs = NULL;
	struct terminal_conf *tc = NULL;
	struct docio_rows rows = { 0 };
	struct sbuf errs = { 0 }, path = { 0 };
	char *buf = NULL;
	size_t len;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--forms") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
			changes = xrealloc(changes, (nchanges + 1) * sizeof(*changes));
			if (parse_change(argv[++i], &changes[nchanges]))
				usage();
			nchanges++;
		} else if (strcmp(argv[i], "--id-start") == 0 && i + 1 < argc) {
			id_start = strtoul(argv[++i], NULL, 10);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			usage();
		} else if (nargs < 4) {
			args[nargs++] = argv[i];
		} else {
			usage();
		}
	}
	if (nargs != 4)
		usage();
	if (!dir)
		dir = forms_dir_default();
	sbuf_printf(&path, "%s/terminal.xml", dir);
	if (formset_load(dir, &fs, &errs) || terminal_conf_load(path.s, &tc, &errs)) {
		fprintf(stderr, "mkenvelope: %s", errs.s ? errs.s : "cannot load the forms\n");
		goto cleanup;
	}
	const struct form *f = formset_get(fs, args[0]);
	if (!f || !f->env_prefix) {
		fprintf(stderr, "mkenvelope: %s is not a document form\n", args[0]);
		goto cleanup;
	}
	int r = read_file(args[1], DOCIO_MAX_FILE, &buf, &len);
	if (r) {
		fprintf(stderr, "mkenvelope: %s: %s\n", args[1], iken_strerror(r));
		goto cleanup;
	}
	sbuf_reset(&errs);
	if (docio_parse(f, buf, len, &rows, &errs)) {
		fprintf(stderr, "mkenvelope: %s:\n%s", args[1], errs.s ? errs.s : "");
		goto cleanup;
	}
	if (mkdir_p(args[2], 0755)) {
		fprintf(stderr, "mkenvelope: cannot create %s\n", args[2]);
		goto cleanup;
	}
	time_t now = iken_now();
	char ymdhms[15];
	iken_ymdhms(now, ymdhms);
	rc = 0;
	for (size_t i = 0; i < rows.n && !rc; i++) {
		struct record *rec = rows.recs[i];
		struct sbuf id = { 0 }, name = { 0 }, xml = { 0 };
		derive_record(fs, f, rec, 1);
		for (size_t j = 0; j < nchanges; j++)
			if (changes[j].row == i + 1)
				rec_set(rec, changes[j].field, changes[j].value);
		const char *clinic = strcmp(args[3], "-") == 0 ?
				     rec_val(rec, terminal_field(tc, TF_CLINIC_CODE)) : args[3];
		sbuf_printf(&id, "%s%s%04lu", clinic, ymdhms, (id_start + i) % 10000);
		envelope_request_name(tc, f, id.s, &name);
		r = envelope_build(tc, f, rec, clinic, id.s, now, &xml);
		if (!r) {
			sbuf_reset(&path);
			sbuf_printf(&path, "%s/%s", args[2], name.s);
			r = write_file_atomic(path.s, xml.s, xml.len, 0644);
		}
		if (r) {
			fprintf(stderr, "mkenvelope: row %zu: %s\n", i + 1, iken_strerror(r));
			rc = 1;
		} else {
			printf("%s\n", name.s);
		}
		sbuf_free(&id);
		sbuf_free(&name);
		sbuf_free(&xml);
	}
cleanup:
	for (size_t j = 0; j < nchanges; j++) {
		free(changes[j].field);
		free(changes[j].value);
	}
	free(changes);
	free(buf);
	docio_rows_free(&rows);
	formset_free(fs);
	terminal_conf_free(tc);
	sbuf_free(&errs);
	sbuf_free(&path);
	return rc;
}
