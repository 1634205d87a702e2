/* gen_records: prints an import file of synthetic, valid test records.
 *
 *   gen_records [--forms DIR] [--for OPINIONS.csv] FORM N SEED
 *
 * FORM is a form id (ikensho, seikyu, applicant, user, settings). The output is a header row of
 * field ids in layout order, then N records, written with the project's CSV writer; the same
 * SEED gives the same file. Forms come from --forms DIR, else $IKEN_FORMS, else the default
 * folder. Every record is checked as stored (today = 20260401) before it is printed: the program
 * aborts rather than print an invalid one.
 * --for reads an ikensho import file (as this program writes it): record k then belongs to its
 * opinion k (cycling when N is larger): the items with prefill="opinion.X" (insured number,
 * name, written date, …) are the opinion's, so an invoice pairs with its opinion. */
#include "config.h"
#include "model/docio.h"
#include "errcode.h"
#include "genlib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(void)
{
	fprintf(stderr, "usage: gen_records [--forms DIR] [--for OPINIONS.csv] FORM N SEED\n"
			"  FORM: ikensho, seikyu, applicant, user or settings\n");
	exit(2);
}

static unsigned long long number(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || *s == '-') {
		fprintf(stderr, "gen_records: %s must be a whole number: %s\n", what, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *opinions = NULL, *args[3];
	int nargs = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--forms") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strncmp(argv[i], "--forms=", 8) == 0)
			dir = argv[i] + 8;
		else if (strcmp(argv[i], "--for") == 0 && i + 1 < argc)
			opinions = argv[++i];
		else if (strncmp(argv[i], "--for=", 6) == 0)
			opinions = argv[i] + 6;
		else if (argv[i][0] == '-' && argv[i][1])
			usage();
		else if (nargs < 3)
			args[nargs++] = argv[i];
		else
			usage();
	}
	if (nargs != 3)
		usage();
	if (!dir)
		dir = forms_dir_default();
	unsigned long long n = number(args[1], "N");
	unsigned long long seed = number(args[2], "SEED");

	struct formset *fs;
	struct sbuf errs = { 0 };
	if (formset_load(dir, &fs, &errs)) {
		fprintf(stderr, "gen_records: cannot load the forms of %s:\n%s", dir,
			errs.s ? errs.s : "");
		sbuf_free(&errs);
		return 1;
	}
	sbuf_free(&errs);
	const struct form *f = formset_get(fs, args[0]);
	if (!f) {
		fprintf(stderr, "gen_records: no form %s in %s\n", args[0], dir);
		formset_free(fs);
		return 2;
	}

	struct docio_rows rows = { 0 };
	if (opinions) {
		const struct form *of = formset_get(fs, "ikensho");
		char *buf = NULL;
		size_t len = 0;
		int rc = of ? read_file(opinions, DOCIO_MAX_FILE, &buf, &len) : IKEN_ENOTFOUND;
		if (rc == 0)
			rc = docio_parse(of, buf, len, &rows, &errs);
		free(buf);
		if (rc || rows.n == 0) {
			fprintf(stderr, "gen_records: %s: %s\n%s", opinions,
				rc ? iken_strerror(rc) : "no opinion in the file", errs.s ? errs.s : "");
			sbuf_free(&errs);
			formset_free(fs);
			return 1;
		}
		sbuf_free(&errs);
	}

	struct gen g;
	gen_seed(&g, seed);
	struct sbuf out = { 0 };
	docio_header_csv(f, &out);
	for (unsigned long long i = 0; i < n; i++) {
		const struct record *op = rows.n ? rows.recs[i % rows.n] : NULL;
		struct record *r = gen_record_for(&g, fs, f, (unsigned long)i, op);
		docio_record_csv(f, r, 0, &out);
		rec_free(r);
		if (out.len > (1u << 20) || i + 1 == n) {
			if (fwrite(out.s, 1, out.len, stdout) != out.len)
				break;
			sbuf_reset(&out);
		}
	}
	if (out.len)
		fwrite(out.s, 1, out.len, stdout);
	sbuf_free(&out);
	docio_rows_free(&rows);
	formset_free(fs);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("gen_records: stdout");
		return 1;
	}
	return 0;
}
