#include "config.h"

#include <csv.h>
#include "model/csvrec.h"
#include "errcode.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define VT '\v'
/* Bytes handed to libcsv per call: bounds how far a field can run past CSV_MAX_FIELD before the
 * check between calls sees it. */
#define CSV_CHUNK 4096

static int is_eol(char c)
{
	return c == '\r' || c == '\n';
}

static int starts_with_bom(const char *s)
{
	return (unsigned char)s[0] == 0xef && (unsigned char)s[1] == 0xbb &&
	       (unsigned char)s[2] == 0xbf;
}

static int needs_quotes(const char *s, int only_field)
{
	size_t len = strlen(s);

	/* A lone empty field would otherwise be an empty line, which readers skip. */
	if (len == 0)
		return only_field;
	if (strpbrk(s, "\",\r\n\v"))
		return 1;
	if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
		return 1;
	return starts_with_bom(s);
}

static void write_field(struct sbuf *out, const char *s, int only_field)
{
	int quote = needs_quotes(s, only_field);

	if (quote)
		sbuf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"') {
			sbuf_add(out, "\"\"", 2);
		} else if (is_eol(*s)) {
			/* One VT per line break, whatever its form. */
			if (s[0] == '\r' && s[1] == '\n')
				s++;
			sbuf_putc(out, VT);
		} else {
			sbuf_putc(out, *s);
		}
	}
	if (quote)
		sbuf_putc(out, '"');
}

void csv_write_row(struct sbuf *out, const char *const *vals, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		if (i)
			sbuf_putc(out, ',');
		write_field(out, vals[i] ? vals[i] : "", n == 1);
	}
	sbuf_add(out, "\r\n", 2);
}

struct parse_state {
	csv_row_fn fn;
	void *ctx;
	struct sbuf *err;
	int rc;			/* first error or the callback's stop value */
	int in_row;
	size_t line;		/* physical line of the bytes being parsed */
	size_t row_line;	/* where the current row started */
	size_t field_line;	/* where the current field started */
	size_t rows;
	struct csv_row row;
	size_t cap;
};

static void fail(struct parse_state *st, int rc, size_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct parse_state *st, int rc, size_t line, const char *fmt, ...)
{
	va_list ap;

	st->rc = rc;
	if (!st->err)
		return;
	sbuf_printf(st->err, "line %zu: ", line);
	va_start(ap, fmt);
	sbuf_vprintf(st->err, fmt, ap);
	va_end(ap);
}

static void free_row(struct parse_state *st)
{
	size_t i;

	for (i = 0; i < st->row.n; i++)
		free(st->row.vals[i]);
	st->row.n = 0;
}

static void on_field(void *data, size_t len, void *arg)
{
	struct parse_state *st = arg;
	const char *f = data;
	char *v, *d;
	size_t i;

	if (st->rc)
		return;
	if (len > CSV_MAX_FIELD) {
		fail(st, IKEN_ELIMIT, st->field_line, "field longer than %d bytes", CSV_MAX_FIELD);
		return;
	}
	if (st->row.n == CSV_MAX_COLUMNS) {
		fail(st, IKEN_ELIMIT, st->row_line, "more than %d columns", CSV_MAX_COLUMNS);
		return;
	}
	/* The next field starts after this comma, on the current line; after a line end, the next
	 * row start sets it again. */
	st->field_line = st->line;

	/* VT is our line break; a raw one from a foreign writer becomes "\n" too. */
	d = v = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		if (f[i] == VT || f[i] == '\n') {
			*d++ = '\n';
		} else if (f[i] == '\r') {
			*d++ = '\n';
			if (i + 1 < len && f[i + 1] == '\n')
				i++;
		} else {
			*d++ = f[i];
		}
	}
	*d = '\0';

	if (st->row.n + 1 >= st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->row.vals = xrealloc(st->row.vals, st->cap * sizeof(*st->row.vals));
	}
	st->row.vals[st->row.n++] = v;
	st->row.vals[st->row.n] = NULL;
}

static void on_row(int c, void *arg)
{
	struct parse_state *st = arg;

	(void)c;
	st->in_row = 0;
	if (st->rc)
		return;
	if (st->rows == CSV_MAX_ROWS) {
		fail(st, IKEN_ELIMIT, st->row_line, "more than %d rows", CSV_MAX_ROWS);
		return;
	}
	st->rows++;
	st->row.line = st->row_line;
	st->rc = st->fn(&st->row, st->ctx);
	free_row(st);
}

/* libcsv skips blanks around fields by default; RFC 4180 keeps them. */
static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

int csvrec_parse(const char *buf, size_t len, csv_row_fn fn, void *ctx, struct sbuf *err)
{
	struct parse_state st = { .fn = fn, .ctx = ctx, .err = err, .line = 1 };
	struct csv_parser p;
	size_t pos = 0;

	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return -ENOMEM;
	csv_set_space_func(&p, no_space);

	if (len >= 3 && starts_with_bom(buf))
		pos = 3;

	/*
	 * libcsv does not say where a row starts, so feed it pieces that end just after a CR or LF:
	 * a row can only end on such a byte, the last of a piece, and every other byte of a piece
	 * lies on the same physical line.
	 */
	while (pos < len && !st.rc) {
		const char *s = buf + pos;
		size_t n = len - pos, i, done;

		if (n > CSV_CHUNK)
			n = CSV_CHUNK;
		for (i = 0; i < n; i++) {
			if (is_eol(s[i])) {
				n = i + 1;
				break;
			}
			if (s[i] == '\0') {
				fail(&st, IKEN_ECSV, st.line, "NUL byte");
				goto out;
			}
		}
		/* Between rows, libcsv skips CR and LF and starts a row on any other byte. */
		if (!st.in_row && !is_eol(s[0])) {
			st.in_row = 1;
			st.row_line = st.field_line = st.line;
		}

		done = csv_parse(&p, s, n, on_field, on_row, &st);
		if (st.rc)
			break;
		if (done < n) {
			if (csv_error(&p) != CSV_EPARSE) {
				st.rc = -ENOMEM;
				break;
			}
			if (s[done] == '"')
				fail(&st, IKEN_ECSV, st.line, "quote inside an unquoted field");
			else
				fail(&st, IKEN_ECSV, st.line, "text after a closing quote");
			break;
		}
		/* Field size is checked here too, so a huge field is refused before it is buffered
		 * whole; +1 for the closing quote libcsv holds until it knows it is one. */
		if (p.entry_pos > CSV_MAX_FIELD + 1) {
			fail(&st, IKEN_ELIMIT, st.field_line, "field longer than %d bytes",
			     CSV_MAX_FIELD);
			break;
		}

		/* CRLF is one line end, a lone CR or LF is one too. */
		if (s[n - 1] == '\r' ||
		    (s[n - 1] == '\n' && (pos + n < 2 || buf[pos + n - 2] != '\r')))
			st.line++;
		pos += n;
	}
	if (!st.rc && csv_fini(&p, on_field, on_row, &st) != 0 && !st.rc)
		fail(&st, IKEN_ECSV, st.field_line, "quoted field not closed");
out:
	free_row(&st);
	free(st.row.vals);
	csv_free(&p);
	return st.rc;
}
