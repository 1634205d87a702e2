/* The check engine: type, length, required and code checks of every field and the cross-field
 * rules and derivations of the form. Returns every problem found, never only the first. */
#ifndef IKEN_CHECK_H
#define IKEN_CHECK_H

#include "model/form.h"
#include "model/record.h"

enum severity { SEV_ERROR, SEV_WARNING };

struct problem {
	const struct field *field;   /* NULL for a problem of the whole record */
	enum severity sev;
	char *msg_ja, *msg_en;
};
struct problems {
	size_t n, cap;
	struct problem *v;
	size_t nerrors;
};
void problems_free(struct problems *ps);   /* contents only */
/* The problem's message in the user's language. */
const char *problem_msg(const struct problem *p);

enum check_mode {
	CHECK_STORED, /* a record as stored: fill items must be empty */
	CHECK_SEND,   /* the record as sent: fill items required */
};

/* Checks r against form f (fees: the fee table, may be NULL when the form derives no fees),
 * appending to out. Returns the number of errors (warnings are not counted). */
size_t check_record(const struct formset *fs, const struct form *f, const struct record *r,
		    enum check_mode mode, const char *today_ymd, struct problems *out);

/* Computes the derived fields of r (age, any-set summaries, fees, sums, tax) in rule order;
 * values that cannot be computed (missing inputs) become "". With only_empty, fields that
 * already hold a value are left for check_record to compare. */
void derive_record(const struct formset *fs, const struct form *f, struct record *r, int only_empty);

/* Checks one value on its own (type, length, code), as the screen does when leaving a field. */
void check_value(const struct field *fld, const char *value, struct problems *out);

/* "empty" as the rules define it: "" for everything, "0" for codes, all zeros for bits. */
int field_value_empty(const struct field *fld, const char *value);

#endif
