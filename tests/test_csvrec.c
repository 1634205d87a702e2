#include "config.h"
#include "model/csvrec.h"
#include "errcode.h"
#include "util.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parsed rows, flattened for checking: values joined with '|', one string per row. */
struct got {
	size_t n;
	char *rows[64];
	size_t lines[64];
	size_t ncols[64];
	int stop_at;		/* callback returns 7 at this row (1-based), 0 = never */
	size_t total;
};

static int collect(const struct csv_row *row, void *ctx)
{
	struct got *g = ctx;
	struct sbuf b = { 0 };
	size_t i;

	g->total++;
	if (g->n < ARRAY_SIZE(g->rows)) {
		for (i = 0; i < row->n; i++) {
			if (i)
				sbuf_putc(&b, '|');
			sbuf_puts(&b, row->vals[i]);
		}
		if (!b.s)
			sbuf_puts(&b, "");
		g->lines[g->n] = row->line;
		g->ncols[g->n] = row->n;
		g->rows[g->n++] = sbuf_take(&b);
	}
	if (g->stop_at && (int)g->total == g->stop_at)
		return 7;
	return 0;
}

static void got_free(struct got *g)
{
	size_t i;

	for (i = 0; i < g->n; i++)
		free(g->rows[i]);
	memset(g, 0, sizeof(*g));
}

static int parse_str(const char *s, struct got *g, struct sbuf *err)
{
	sbuf_reset(err);
	return csvrec_parse(s, strlen(s), collect, g, err);
}

static char *write1(const char *const *vals, size_t n)
{
	struct sbuf b = { 0 };

	csv_write_row(&b, vals, n);
	if (!b.s)
		sbuf_puts(&b, "");
	return sbuf_take(&b);
}

static void test_writer(void)
{
	char *s;

#define W(want, what, ...) do { \
	const char *v_[] = { __VA_ARGS__ }; \
	s = write1(v_, ARRAY_SIZE(v_)); \
	is_str(s, want, "write: %s", what); \
	free(s); \
} while (0)
	W("a,b\r\n", "plain fields unquoted", "a", "b");
	W("\"x\"\"y\",z\r\n", "quote doubled and quoted", "x\"y", "z");
	W("\"1,2\"\r\n", "comma quoted", "1,2");
	W("\"l1\vl2\vl3\vl4\"\r\n", "CRLF, CR, LF each one VT, quoted", "l1\r\nl2\rl3\nl4");
	W("\"a\vb\"\r\n", "VT in a value quoted", "a\vb");
	W("\" a\",\"b \",\"\tc\"\r\n", "leading/trailing blanks quoted", " a", "b ", "\tc");
	W("a b\r\n", "inner space unquoted", "a b");
	W("\"\"\r\n", "one empty field written as \"\"", "");
	W(",\r\n", "two empty fields as a bare comma", "", "");
	W("a,,\r\n", "trailing empty field", "a", "", "");
	W("山田 太郎,やまだ\r\n", "Japanese unquoted", "山田 太郎", "やまだ");
	W("\"\xef\xbb\xbf" "a\"\r\n", "leading U+FEFF quoted", "\xef\xbb\xbf" "a");
#undef W
	{
		const char *v[] = { "a", NULL };
		s = write1(v, 2);
		is_str(s, "a,\r\n", "write: NULL value is an empty field");
		free(s);
	}
	s = write1(NULL, 0);
	is_str(s, "", "write: zero fields append nothing");
	free(s);
}

static void test_parser(void)
{
	struct got g = { 0 };
	struct sbuf err = { 0 };
	int rc;

	rc = parse_str("a,b\r\nc,d\r\n", &g, &err);
	ok(rc == 0 && g.n == 2, "parse: two CRLF rows");
	is_str(g.rows[0], "a|b", "parse: row 1 values");
	is_str(g.rows[1], "c|d", "parse: row 2 values");
	ok(g.lines[0] == 1 && g.lines[1] == 2, "parse: lines 1, 2");
	got_free(&g);

	rc = parse_str("a\nb\rc\r\nd", &g, &err);
	ok(rc == 0 && g.n == 4, "parse: LF, CR, CRLF row ends and none at the end");
	ok(g.lines[0] == 1 && g.lines[1] == 2 && g.lines[2] == 3 && g.lines[3] == 4,
	   "parse: one line per LF, CR or CRLF");
	got_free(&g);

	rc = parse_str("\n\r\n\na\r\n\r\n\nb\n\n", &g, &err);
	ok(rc == 0 && g.n == 2, "parse: empty lines skipped");
	ok(g.lines[0] == 4 && g.lines[1] == 7, "parse: empty lines counted (a on 4, b on 7)");
	got_free(&g);

	rc = parse_str("\"a\r\nb\",\"c\nd\re\"\r\nx,y\r\n\"\n\n\"\nz\n", &g, &err);
	ok(rc == 0 && g.n == 4, "parse: line breaks inside quotes");
	is_str(g.rows[0], "a\nb|c\nd\ne", "parse: CRLF, LF, CR inside quotes come back as \\n");
	ok(g.lines[0] == 1 && g.lines[1] == 5 && g.lines[2] == 6 && g.lines[3] == 9,
	   "parse: line breaks inside quotes counted (1, 5, 6, 9)");
	is_str(g.rows[2], "\n\n", "parse: value of two line breaks");
	got_free(&g);

	rc = parse_str("a\vb,\"c\vd\"\r\ne\r\n", &g, &err);
	is_str(g.rows[0], "a\nb|c\nd", "parse: VT becomes \\n, quoted or not");
	ok(rc == 0 && g.lines[1] == 2, "parse: VT is not a line end");
	got_free(&g);

	rc = parse_str("\xef\xbb\xbf" "a,b\r\n", &g, &err);
	ok(rc == 0 && g.n == 1 && g.lines[0] == 1, "parse: BOM skipped");
	is_str(g.rows[0], "a|b", "parse: BOM not in the first value");
	got_free(&g);

	rc = parse_str("\xef\xbb\xbf", &g, &err);
	ok(rc == 0 && g.n == 0, "parse: only a BOM is no rows");
	rc = parse_str("", &g, &err);
	ok(rc == 0 && g.n == 0, "parse: empty input is no rows");

	rc = parse_str(" a , b ,\t\r\n", &g, &err);
	is_str(g.rows[0], " a | b |\t", "parse: blanks kept (RFC 4180)");
	got_free(&g);

	rc = parse_str("\"\"\r\n,\r\na,\r\n", &g, &err);
	ok(rc == 0 && g.n == 3, "parse: empty-field rows");
	ok(g.ncols[0] == 1 && g.rows[0][0] == '\0', "parse: \"\" is one empty field");
	ok(g.ncols[1] == 2, "parse: a bare comma is two empty fields");
	ok(g.ncols[2] == 2, "parse: trailing comma adds an empty field");
	got_free(&g);

	rc = parse_str("\"say \"\"hi\"\"\",\"x,y\"\r\n", &g, &err);
	is_str(g.rows[0], "say \"hi\"|x,y", "parse: doubled quote and quoted comma");
	got_free(&g);

	rc = parse_str("a\n\"b,c\n", &g, &err);
	is_int(rc, IKEN_ECSV, "parse: unclosed quote is IKEN_ECSV");
	is_str(err.s, "line 2: quoted field not closed",
	       "parse: unclosed quote names its line");
	got_free(&g);

	rc = parse_str("a,\"b\nc\",\"d\ne\n", &g, &err);
	is_str(err.s, "line 2: quoted field not closed",
	       "parse: unclosed quote: line of its field");
	got_free(&g);

	rc = parse_str("a\r\nb\r\nc\"d\r\n", &g, &err);
	is_int(rc, IKEN_ECSV, "parse: quote in an unquoted field is IKEN_ECSV");
	is_str(err.s, "line 3: quote inside an unquoted field",
	       "parse: stray quote names its line");
	ok(g.n == 2, "parse: rows before the error delivered");
	got_free(&g);

	rc = parse_str("\"a\nb\"x\n", &g, &err);
	is_int(rc, IKEN_ECSV, "parse: text after a closing quote is IKEN_ECSV");
	is_str(err.s, "line 2: text after a closing quote", "parse: error on the quote's line");
	got_free(&g);

	rc = parse_str("\"a\" ,b\n", &g, &err);
	is_int(rc, IKEN_ECSV, "parse: blank after a closing quote refused (strict)");
	got_free(&g);

	sbuf_reset(&err);
	rc = csvrec_parse("a\nb\0c\n", 6, collect, &g, &err);
	is_int(rc, IKEN_ECSV, "parse: NUL byte refused");
	is_str(err.s, "line 2: NUL byte", "parse: NUL byte names its line");
	got_free(&g);

	g.stop_at = 2;
	rc = parse_str("a\nb\nc\n", &g, &err);
	ok(rc == 7 && g.n == 2, "parse: callback's non-zero value stops and is returned");
	got_free(&g);

	rc = csvrec_parse("a\"", 2, collect, &g, NULL);
	is_int(rc, IKEN_ECSV, "parse: err may be NULL");
	got_free(&g);

	sbuf_free(&err);
}

/* Builds "x\n" + one field of len bytes (quoted if asked) + "\n". */
static int parse_long_field(size_t len, int quoted, struct sbuf *err)
{
	struct sbuf b = { 0 };
	struct got g = { 0 };
	size_t i;
	int rc;

	sbuf_puts(&b, "x\n");
	if (quoted)
		sbuf_putc(&b, '"');
	for (i = 0; i < len; i++)
		sbuf_putc(&b, quoted && i % 100 == 0 ? ',' : 'a');
	if (quoted)
		sbuf_putc(&b, '"');
	sbuf_puts(&b, "\n");
	sbuf_reset(err);
	rc = csvrec_parse(b.s, b.len, collect, &g, err);
	if (rc == 0 && (g.n != 2 || strlen(g.rows[1]) != len))
		rc = -1;
	got_free(&g);
	sbuf_free(&b);
	return rc;
}

static int count_rows(const struct csv_row *row, void *ctx)
{
	(void)row;
	++*(size_t *)ctx;
	return 0;
}

static void test_limits(void)
{
	struct sbuf err = { 0 }, b = { 0 };
	size_t i, rows = 0;
	int rc;

	is_int(parse_long_field(CSV_MAX_FIELD, 0, &err), 0, "limit: field of CSV_MAX_FIELD bytes");
	is_int(parse_long_field(CSV_MAX_FIELD, 1, &err), 0,
	       "limit: quoted field of CSV_MAX_FIELD bytes");
	is_int(parse_long_field(CSV_MAX_FIELD + 1, 0, &err), IKEN_ELIMIT,
	       "limit: one byte more refused");
	is_str(err.s, "line 2: field longer than 65536 bytes",
	       "limit: field message names the line");
	is_int(parse_long_field(CSV_MAX_FIELD + 1, 1, &err), IKEN_ELIMIT,
	       "limit: quoted, one byte more");
	is_int(parse_long_field(10 * CSV_MAX_FIELD, 0, &err), IKEN_ELIMIT,
	       "limit: huge field refused");

	for (i = 0; i < CSV_MAX_COLUMNS; i++)
		sbuf_puts(&b, i ? ",x" : "x");
	sbuf_puts(&b, "\r\n");
	sbuf_reset(&err);
	rc = csvrec_parse(b.s, b.len, count_rows, &rows, &err);
	ok(rc == 0 && rows == 1, "limit: CSV_MAX_COLUMNS columns");
	b.len -= 2;
	sbuf_puts(&b, ",x\r\n");
	rows = 0;
	rc = csvrec_parse(b.s, b.len, count_rows, &rows, &err);
	is_int(rc, IKEN_ELIMIT, "limit: one column more refused");
	is_str(err.s, "line 1: more than 1024 columns", "limit: column message names the line");

	sbuf_reset(&b);
	for (i = 0; i < CSV_MAX_ROWS; i++)
		sbuf_add(&b, "1\n", 2);
	rows = 0;
	sbuf_reset(&err);
	rc = csvrec_parse(b.s, b.len, count_rows, &rows, &err);
	ok(rc == 0 && rows == CSV_MAX_ROWS, "limit: CSV_MAX_ROWS rows");
	sbuf_add(&b, "\n2\n", 3);
	rows = 0;
	rc = csvrec_parse(b.s, b.len, count_rows, &rows, &err);
	is_int(rc, IKEN_ELIMIT, "limit: one row more refused");
	is_str(err.s, "line 1000002: more than 1000000 rows", "limit: row message names the line");

	sbuf_free(&b);
	sbuf_free(&err);
}

/* xorshift64*: the same rows on every libc. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

struct rows {
	size_t n, ncols[2000];
	char *vals[2000][8];
};

struct cmp {
	const struct rows *want;
	size_t seen, bad_row, lines_ok;
	int bad;
};

static int compare(const struct csv_row *row, void *ctx)
{
	struct cmp *c = ctx;
	size_t i, r = c->seen++;
	int same;

	if (row->line == r + 1)
		c->lines_ok++;
	same = r < c->want->n && row->n == c->want->ncols[r];
	for (i = 0; same && i < row->n; i++)
		same = strcmp(row->vals[i], c->want->vals[r][i]) == 0;
	if (!same && !c->bad) {
		c->bad = 1;
		c->bad_row = r;
	}
	return 0;
}

static void check_round_trip(struct rows *r, const char *what)
{
	struct sbuf out = { 0 }, err = { 0 };
	struct cmp c = { .want = r };
	size_t i, j;
	int rc;

	for (i = 0; i < r->n; i++)
		csv_write_row(&out, (const char *const *)r->vals[i], r->ncols[i]);
	ok(out.len >= 3 && memcmp(out.s, "\xef\xbb\xbf", 3) != 0, "%s: no BOM written", what);
	rc = csvrec_parse(out.s, out.len, compare, &c, &err);
	is_int(rc, 0, "%s: output parses", what);
	ok(c.seen == r->n, "%s: %zu rows back (got %zu)", what, r->n, c.seen);
	if (!ok(!c.bad, "%s: every value round-trips", what)) {
		printf("#   first bad row %zu:", c.bad_row);
		for (j = 0; j < r->ncols[c.bad_row]; j++)
			printf(" [%s]", r->vals[c.bad_row][j]);
		printf("\n");
	}
	ok(c.lines_ok == r->n, "%s: row i on line i (line breaks written as VT)", what);

	for (i = 0; i < r->n; i++)
		for (j = 0; j < r->ncols[i]; j++)
			free(r->vals[i][j]);
	sbuf_free(&out);
	sbuf_free(&err);
}

static void test_round_trip_alphabet(void)
{
	static const char *const alpha[] = {
		"\"", ",", "\n", " ", "\t", "あ", "漢", "●", "x",
		"0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
	};
	static struct rows r;
	size_t i, j, k;

	r.n = 2000;
	for (i = 0; i < r.n; i++) {
		/* One row in eight is a single field, often empty. */
		r.ncols[i] = rnd(8) == 0 ? 1 : 1 + rnd(8);
		for (j = 0; j < r.ncols[i]; j++) {
			struct sbuf b = { 0 };
			size_t len = rnd(4) == 0 ? 0 : rnd(12);

			sbuf_puts(&b, "");
			for (k = 0; k < len; k++)
				sbuf_puts(&b, alpha[rnd(ARRAY_SIZE(alpha))]);
			r.vals[i][j] = sbuf_take(&b);
		}
	}
	/* Make sure the edge cases are in, whatever the generator does. */
	r.ncols[0] = 1;
	free(r.vals[0][0]);
	r.vals[0][0] = xstrdup("");
	r.ncols[1] = 3;
	for (j = 0; j < 3; j++) {
		free(r.vals[1][j]);
		r.vals[1][j] = xstrdup(j == 0 ? " 漢\"," : j == 1 ? "" : "\n\n");
	}
	check_round_trip(&r, "round trip (alphabet)");
}

static void put_utf8(struct sbuf *b, uint32_t cp)
{
	char u[4];

	if (cp < 0x80) {
		sbuf_putc(b, (char)cp);
		return;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		sbuf_add(b, u, 4);
	}
}

/* A printable code point: mostly ASCII and kana/kanji, sometimes anything valid. */
static uint32_t rnd_cp(void)
{
	uint32_t cp;

	switch (rnd(4)) {
	case 0:
		return 0x20 + rnd(0x5f);
	case 1:
		return 0x3040 + rnd(0x60);
	case 2:
		return 0x4e00 + rnd(0x5200);
	default:
		do
			cp = 0xa0 + rnd(0x10ffff - 0xa0);
		while (cp >= 0xd800 && cp < 0xe000);
		return cp;
	}
}

static void test_round_trip_utf8(void)
{
	static struct rows r;
	size_t i, j, k;

	r.n = 1000;
	for (i = 0; i < r.n; i++) {
		r.ncols[i] = 1 + rnd(8);
		for (j = 0; j < r.ncols[i]; j++) {
			struct sbuf b = { 0 };
			size_t len = rnd(16);

			sbuf_puts(&b, "");
			if (i == 0 && j == 0)
				put_utf8(&b, 0xfeff);	/* would pass for a BOM */
			for (k = 0; k < len; k++)
				put_utf8(&b, rnd_cp());
			r.vals[i][j] = sbuf_take(&b);
		}
	}
	check_round_trip(&r, "round trip (random UTF-8)");
}

int main(void)
{
	test_writer();
	test_parser();
	test_limits();
	test_round_trip_alphabet();
	test_round_trip_utf8();
	return done_testing();
}
