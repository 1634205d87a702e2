/* Generator of obviously synthetic test people and documents, shared by tests/gen_records.c and
 * tests/test_check.c. Records are built through the library (values set, derive_record, then
 * check_record on GEN_TODAY), so a generated record is always valid: the generator aborts with
 * a message on stderr rather than hand out one that is not. Deterministic for a seed (own
 * xorshift PRNG, no libc rand). */
#ifndef IKEN_GENLIB_H
#define IKEN_GENLIB_H

#include <stdint.h>
#include <stdio.h>
#include "model/check.h"
#include "model/form.h"
#include "model/record.h"
#include "util.h"

/* The test clock: generated documents are written between 20260101 and 20260331. */
#define GEN_TODAY "20260401"
/* The test clinic's code, in the settings and in every generated document. */
#define GEN_CLINIC_CODE "9912345678"

struct gen {
	uint64_t s;
	uint32_t key_base;  /* offset of the generated keys, from the seed */
};

void gen_seed(struct gen *g, uint64_t seed);
uint64_t gen_next(struct gen *g);
/* 0 … n-1 (0 when n is 0). */
unsigned gen_below(struct gen *g, unsigned n);
/* 1 with the given probability in percent. */
int gen_chance(struct gen *g, unsigned percent);

/* ymd ± days into out[9] (ymd must be a valid YYYYMMDD). */
void gen_ymd_add(const char *ymd, long days, char out[9]);

/* A new valid record of form f (ikensho, seikyu, applicant, user, settings; any other form is
 * filled from the field types alone). idx makes the keys unique (insured_no "99…", login).
 * Fill items stay empty. The caller frees it with rec_free(). */
struct record *gen_record(struct gen *g, const struct formset *fs, const struct form *f,
			  unsigned long idx);

/* gen_record for a document made from another: every field with prefill="opinion.X" takes X of
 * opinion (an ikensho record; NULL: none) and keeps it, and a fee_category follows the opinion's
 * times_written (初回 → 新規 1 or 3, 2回目以上 → 継続 2 or 4). */
struct record *gen_record_for(struct gen *g, const struct formset *fs, const struct form *f,
			      unsigned long idx, const struct record *opinion);

/* A valid value of fld that is "set" as the rules define it (a code other than 0, bits with a 1,
 * an amount of at least 1 yen), in the context of r (dates follow r's written_date). Fields that
 * cannot hold anything (max="0") give "". */
void gen_value(struct gen *g, const struct form *f, const struct field *fld,
	       const struct record *r, struct sbuf *out);
/* Sets fld of r to such a value / to an empty one ("" or "0" for a code, all 0 for bits, "" or
 * "0" for an amount). */
void gen_set_nonempty(struct gen *g, const struct form *f, struct record *r,
		      const struct field *fld);
void gen_set_empty(struct gen *g, struct record *r, const struct field *fld);

/* One digit of a bits/digits field (ref->digit > 0) set to c, padding the value with 0. */
void gen_put_digit(struct record *r, const struct fref *ref, char c);
/* A reference made set / empty (a digit: a non-zero allowed character / 0). */
void gen_ref_set(struct gen *g, const struct form *f, struct record *r, const struct fref *ref);
void gen_ref_clear(struct gen *g, struct record *r, const struct fref *ref);
/* The rules' notion of set for a reference and of a condition holding (an implementation of
 * doc/forms.md independent of check.c's). */
int gen_ref_is_set(const struct record *r, const struct fref *ref);
int gen_cond_holds(const struct record *r, const struct cond *c);

/* Changes r until it satisfies every cross-field rule of f, never touching the fields whose ids
 * are in pinned (NULL-terminated, may be NULL), then computes the derived fields. Rules that
 * need a pinned field changed are left violated. */
void gen_repair(struct gen *g, const struct formset *fs, const struct form *f, struct record *r,
		const char *const *pinned);

/* Prints every problem as "  field: error|warning: message" (English). */
void gen_print_problems(FILE *fp, const struct problems *ps);

#endif
