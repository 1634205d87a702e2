/* Documents as CSV files: the sendable record (layout order, fill items, "●"), the import/export
 * file (a header row of field ids, then one record per row) and the all-or-nothing import. */
#ifndef IKEN_DOCIO_H
#define IKEN_DOCIO_H

#include <stddef.h>
#include <time.h>
#include "model/check.h"
#include "model/form.h"
#include "model/record.h"
#include "store/store.h"

#define DOCIO_MAX_FILE (256 * 1024 * 1024)

/* Sets the fill items of r (format version, soft name, timestamp, sent date) for a file made at
 * now. */
void docio_fill_send(const struct form *f, struct record *r, time_t now);
/* One CSV row of r, columns in layout order. With for_send, CP932 variants are normalized and
 * characters outside the permitted set written as ●; without, values are written as stored. */
void docio_record_csv(const struct form *f, const struct record *r, int for_send, struct sbuf *out);
/* The header row: field ids in layout order. */
void docio_header_csv(const struct form *f, struct sbuf *out);

/* A parsed import file: one record per row with the physical line it started on. */
struct docio_rows {
	size_t n;
	struct record **recs;
	size_t *lines;
};
void docio_rows_free(struct docio_rows *rows); /* contents only */
/* Parses an import file for form f: header of known field ids (any order, each once), rows of
 * exactly as many values. Returns 0 or IKEN_ECSV/IKEN_ELIMIT/IKEN_EDATA with "line N: …" lines
 * in err. */
int docio_parse(const struct form *f, const char *buf, size_t len, struct docio_rows *rows,
		struct sbuf *err);

struct import_result {
	size_t rows, imported, invalid, warnings;
};
enum { IMPORT_CHECK_ONLY = 1, IMPORT_SKIP_INVALID = 2 };
/* Checks every row (derived fields left empty are computed first); prints each problem to
 * report as "line N: item no (label): message". Without IMPORT_SKIP_INVALID nothing is written
 * when any row fails (IKEN_EDATA); otherwise the valid rows are written in one transaction,
 * with the audit trail's import entry (form, ids, the file's SHA-256).
 * Documents become drafts; a master form's row replaces the record with the same key; the
 * single form's row replaces its one record. */
int docio_import(struct store *st, const struct formset *fs, const struct form *f, const char *buf,
		 size_t len, unsigned flags, const char *user, struct sbuf *report,
		 struct import_result *res);
/* Writes the export file (header + one row per record, ascending id) of form f; status -1 = all.
 * The audit trail records user exporting those ids first: on failure out is empty. */
int docio_export(struct store *st, const struct form *f, int status, const char *user,
		 struct sbuf *out);

/* Copies into r every field whose prefill names source ("settings", "user", "applicant",
 * "opinion") from the named field of src; "today" prefills take today_ymd when source is
 * "today" (src may then be NULL). Fields with a value already are kept unless overwrite. */
void docio_prefill(const struct form *f, struct record *r, const char *source,
		   const struct record *src, const char *today_ymd, int overwrite);

/* Formats one problem as "item no (label): message" in the user's language. */
void docio_problem_line(const struct problem *p, struct sbuf *out);

/* Id of the record of a master/single form whose key equals value (single: the one record);
 * IKEN_ENOTFOUND when none. */
int docio_find_key(struct store_txn *t, const struct form *f, const char *value, uint64_t *id);

#endif
