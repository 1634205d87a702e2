/* Fuzz harness for csvrec_parse. Built with -DFUZZING and -fsanitize=fuzzer it is a libFuzzer target;
 * otherwise main() replays every file of a corpus folder (argv[1], default tests/fuzz/csv in the
 * source tree) and prints TAP, one case per file.
 * Beyond not crashing, each input checks: rows have fields and rising lines within the input,
 * values hold no VT or CR, errors name a line, and the rows parsed so far round-trip through
 * csv_write_row. */
#include "config.h"
#include "model/csvrec.h"
#include "errcode.h"
#include "fuzzlib.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct pass {
	struct sbuf out;	/* the rows, written again */
	size_t n, last_line, max_line;
	int lines_are_rows;	/* second pass: row i must be on line i */
	const char *problem;
};

static int take_row(const struct csv_row *row, void *ctx)
{
	struct pass *ps = ctx;
	size_t i;

	if (row->n == 0 || row->n > CSV_MAX_COLUMNS || row->vals[row->n])
		ps->problem = "row with no fields, too many, or no NULL after the last";
	if (row->line < 1 || row->line <= ps->last_line || row->line > ps->max_line)
		ps->problem = "row line out of order or past the input";
	if (ps->lines_are_rows && row->line != ps->n + 1)
		ps->problem = "written row not on its own line";
	for (i = 0; i < row->n; i++)
		if (strpbrk(row->vals[i], "\r\v"))
			ps->problem = "VT or CR left in a value";
	csv_write_row(&ps->out, (const char *const *)row->vals, row->n);
	ps->n++;
	ps->last_line = row->line;
	return 0;
}

static size_t count_lines(const char *s, size_t len)
{
	size_t i, lines = 1;

	for (i = 0; i < len; i++)
		if (s[i] == '\r' || (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')))
			lines++;
	return lines;
}

/* Returns NULL when every property holds, else what failed. */
static const char *check_input(const uint8_t *bytes, size_t size)
{
	const char *data = (const char *)bytes;
	struct pass p1 = { .max_line = count_lines(data, size) }, p2 = { .lines_are_rows = 1 };
	struct sbuf err = { 0 };
	const char *problem = NULL;
	int rc;

	rc = csvrec_parse(data, size, take_row, &p1, &err);
	if (p1.problem) {
		problem = p1.problem;
	} else if (rc == IKEN_ECSV || rc == IKEN_ELIMIT) {
		unsigned long line = 0;

		if (!err.s || sscanf(err.s, "line %lu: ", &line) != 1 || line < 1 ||
		    line > p1.max_line)
			problem = "error message does not name a line within the input";
	} else if (rc != 0) {
		problem = "unexpected return value";
	}
	if (problem)
		goto out;

	p2.max_line = p1.n + 1;
	sbuf_reset(&err);
	rc = csvrec_parse(p1.out.s, p1.out.len, take_row, &p2, &err);
	if (rc != 0)
		problem = "written rows do not parse";
	else if (p2.problem)
		problem = p2.problem;
	else if (p2.n != p1.n || p2.out.len != p1.out.len ||
		 (p1.out.len && memcmp(p1.out.s, p2.out.s, p1.out.len) != 0))
		problem = "rows change in a write and parse round trip";
out:
	sbuf_free(&p1.out);
	sbuf_free(&p2.out);
	sbuf_free(&err);
	return problem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *problem = check_input(data, size);

	if (problem) {
		fprintf(stderr, "fuzz_csv: %s\n", problem);
		abort();
	}
	return 0;
}

#ifndef FUZZING
int main(int argc, char **argv)
{
	return fuzz_replay_main(argc, argv, "csv", "did not crash", check_input);
}
#endif
