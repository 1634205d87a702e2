/* CSV of the record layout (libcsv): RFC 4180 quoting, CRLF after each record, UTF-8 without BOM,
 * a line break inside a field written as VT (0x0B). Parsing has limits (field size, columns, rows)
 * so that an outside file can never exhaust memory. */
#ifndef IKEN_CSVREC_H
#define IKEN_CSVREC_H

#include <stddef.h>
#include "util.h"

#define CSV_MAX_FIELD   (64 * 1024)	/* bytes in one value, quotes undone */
#define CSV_MAX_COLUMNS 1024
#define CSV_MAX_ROWS    1000000

/* Appends one row of n values, then CRLF. A NULL value is written as an empty field.
 * "\r\n", "\r" and "\n" inside a value are written as VT, so that every record is one physical
 * line. A field is quoted (RFC 4180: quote doubled inside) when it holds a quote, comma, CR, LF
 * or VT, starts or ends with a space or tab, or starts with U+FEFF: RFC 4180 needs only the
 * first four, the rest keeps readers that trim whitespace or strip a BOM from changing the value.
 * A row of exactly one empty field is written as "" so that it is not an empty line (which
 * csvrec_parse skips). A row of no fields cannot be told apart from nothing: n == 0 appends
 * nothing. */
void csv_write_row(struct sbuf *out, const char *const *vals, size_t n);

/* One parsed row: n >= 1 values (NUL-terminated, vals[n] == NULL), line = the physical line on
 * which the row starts (1-based; CRLF, LF and a lone CR each end a line, also inside quotes).
 * The values are freed after the callback returns; to keep one, take it and set vals[i] = NULL.
 * Return non-zero from the callback to stop. */
struct csv_row {
	size_t n;
	char **vals;
	size_t line;
};
typedef int (*csv_row_fn)(const struct csv_row *row, void *ctx);

/* Parses buf strictly (RFC 4180; no whitespace is trimmed, nothing may follow a closing quote).
 * A UTF-8 BOM at the start is skipped; empty lines are skipped (but counted). Rows may end in
 * CRLF, LF or CR; the last one needs no line end. Inside a value, VT, CRLF, CR and LF all come
 * back as "\n". The bytes are not checked for valid UTF-8 here.
 * Returns 0, the callback's non-zero value, IKEN_ECSV (unclosed quote, stray quote, text after a
 * closing quote, NUL byte) or IKEN_ELIMIT (CSV_MAX_*) with a message "line N: …" appended to err
 * (which may be NULL). */
int csvrec_parse(const char *buf, size_t len, csv_row_fn fn, void *ctx, struct sbuf *err);

#endif
