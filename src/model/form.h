/* Form model: loads the form files (forms/NAME.xml, validated against forms/form.rng) into fields, code lists,
 * pages, sections, rules and derivations, and forms/fees.xml into the fee table. The C code knows
 * kinds of field and rule, never a particular item. */
#ifndef IKEN_FORM_H
#define IKEN_FORM_H

#include <stddef.h>
#include "util.h"

#define FORM_MAX_FILE (4 * 1024 * 1024)

enum ftype {
	FT_DIGITS, FT_ALNUM, FT_PHONE, FT_TEXT, FT_TEXTAREA, FT_KANA, FT_DATE, FT_PDATE,
	FT_CODE, FT_BITS, FT_DECIMAL, FT_YEN, FT__COUNT
};
const char *ftype_name(enum ftype t);

enum form_kind { FORM_DOCUMENT, FORM_MASTER, FORM_SINGLE };

enum fill_kind { FILL_NONE, FILL_FORMAT_VERSION, FILL_SOFT_NAME, FILL_TIMESTAMP, FILL_SENT_DATE };

struct code {
	char *value, *label, *label_en;
};
struct codelist {
	char *id;
	size_t n;
	struct code *codes;
};

struct field {
	int no;
	char *id, *label, *label_en;
	enum ftype type;
	int length;               /* exact length (bits: number of boxes), 0 = none */
	int max;                  /* maximum characters, -1 = none */
	int required;
	const struct codelist *codes; /* FT_CODE */
	char **bit_labels, **bit_labels_en; /* FT_BITS: length entries */
	char *min_value, *max_value;  /* NULL = none */
	char *digit_values;       /* FT_DIGITS: characters each digit may be, NULL = 0-9 */
	enum fill_kind fill;
	char *fill_from;
	char *prefill;            /* "settings.x", "user.x", "applicant.x", "opinion.x", "today" */
	char *index;              /* "insured", "kana", "date" */
	char *help, *help_en;
	int width, rows;          /* screen hints, 0 = default */
	int page, section;        /* indexes into form pages / the page's sections */
	int line;                 /* line in the form file */
};

/* A reference to a field or one digit of it ("risks[14]"). */
struct fref {
	const struct field *field;
	int digit;                /* 0 = the whole field, else 1-based digit */
};

enum cond_op { COND_NONE, COND_EQ, COND_NE, COND_SET, COND_EMPTY };
struct cond {
	enum cond_op op;
	struct fref ref;
	char *value;              /* COND_EQ / COND_NE */
};

enum rule_kind {
	RULE_REQUIRED_WHEN, RULE_EMPTY_WHEN, RULE_AT_LEAST_ONE, RULE_EXCLUSIVE,
	RULE_DATE_ORDER, RULE_RANGE,
	RULE_DERIVE_AGE, RULE_DERIVE_ANY_SET, RULE_DERIVE_SUM, RULE_DERIVE_FEE, RULE_DERIVE_TAX
};
struct rule {
	enum rule_kind kind;
	const struct field *field;   /* the field the rule is about (target of derive, F, before…) */
	const struct field *field2;  /* date-order "after" (NULL = @today), age "at", fee/tax "date" */
	const struct field *field3;  /* fee "category" */
	struct fref ref;             /* exclusive: ref */
	size_t nrefs;                /* at-least-one, exclusive others, any-set, sum */
	struct fref *refs;
	struct cond cond;            /* required-when, empty-when, at-least-one (optional) */
	int strict;                  /* date-order */
	char *min, *max;             /* range */
	char *message, *message_en;  /* replace the generic message */
	int line;
};

struct section {
	char *title, *title_en;
	size_t first, count;         /* fields [first, first+count) */
};
struct page {
	char *title, *title_en;
	size_t nsections;
	struct section *sections;
};

struct form {
	char *path;
	int line;                    /* of the <form> element */
	char *id, *title, *title_en, *version, *layout_version;
	enum form_kind kind;
	char *key;                   /* master forms: key field id */
	char *env_prefix, *env_doc_class; /* documents: file-name prefix and document class */
	size_t nfields;
	struct field *fields;        /* layout order */
	size_t ncodelists;
	struct codelist *codelists;
	size_t npages;
	struct page *pages;
	size_t nrules;
	struct rule *rules;
};

struct fee_period {
	char valid_from[9];
	int tax_percent;
	size_t ntaxable;
	char **taxable;              /* field ids */
	size_t nfees;
	char **categories;
	long *yen;
};
struct fee_table {
	char *path;
	size_t nperiods;
	struct fee_period *periods;  /* ascending valid_from */
};

struct formset {
	char *dir;
	size_t nforms;
	struct form **forms;
	struct fee_table *fees;      /* NULL when the folder has no fees.xml */
};

/* Loads every form in dir (and fees.xml), validating each against dir/form.rng. On failure
 * returns IKEN_EFORM with one "file:line: what is wrong" line per problem in errs. */
int formset_load(const char *dir, struct formset **out, struct sbuf *errs);
void formset_free(struct formset *fs);
/* Loads one form file (schema_path: the RELAX NG schema). */
int form_load(const char *path, const char *schema_path, struct form **out, struct sbuf *errs);
void form_free(struct form *f);

const struct form *formset_get(const struct formset *fs, const char *id);
/* Field by id, or NULL. */
const struct field *form_field(const struct form *f, const char *id);
/* Code of a code list by value, or NULL. */
const struct code *codelist_find(const struct codelist *cl, const char *value);

/* Fee period valid on ymd, or NULL. Amount for a category: 0 and *yen, or IKEN_ENOTFOUND. */
const struct fee_period *fee_period_on(const struct fee_table *ft, const char *ymd);
int fee_lookup(const struct fee_period *p, const char *category, long *yen);

/* The folder holding the form files: $IKEN_FORMS, else the installed pkgdatadir/forms, else
 * ./forms when run from the source tree. */
const char *forms_dir_default(void);

#endif
