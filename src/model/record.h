/* A stored document or master record: form id, layout version, status, revision, audit times
 * and users, and the field values by field id. The store keeps records; forms give them meaning. */
#ifndef IKEN_RECORD_H
#define IKEN_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

enum rec_status {
	ST_DRAFT,
	ST_FINAL,
	ST_QUEUED,
	ST_PUBLISHED,
	ST_ACCEPTED,
	ST_REJECTED,
	ST__COUNT
};

/* English word of a status ("draft", …): the interface and --status use these. */
const char *rec_status_name(enum rec_status st);
/* Parses a status word; returns 0 or IKEN_ENOTFOUND. */
int rec_status_parse(const char *word, enum rec_status *out);

struct record {
	uint64_t id;             /* 0 until stored */
	char *form;              /* form id */
	char *layout_version;
	enum rec_status status;
	uint32_t revision;       /* 0 until stored; +1 with every update */
	int64_t created, updated;
	char *created_by, *updated_by;
	size_t n, cap;           /* field values, kept sorted by key */
	char **keys, **vals;
};

/* New empty record of the given form; the caller frees it with rec_free(). */
struct record *rec_new(const char *form, const char *layout_version);
void rec_free(struct record *r);
struct record *rec_dup(const struct record *r);

/* Value of a field, or NULL when the record has none. The record owns it. */
const char *rec_get(const struct record *r, const char *id);
/* Value or "" when absent. */
const char *rec_val(const struct record *r, const char *id);
/* Sets (copies) a value; an empty string is stored as such. */
void rec_set(struct record *r, const char *id, const char *value);
void rec_unset(struct record *r, const char *id);

/* Binary encoding for the store; rec_decode allocates *out, freed with rec_free().
 * rec_decode returns IKEN_EDATA for a damaged or truncated buffer. */
void rec_encode(const struct record *r, struct sbuf *out);
int rec_decode(const void *buf, size_t len, struct record **out);

/* 1 when the two records hold the same field values (metadata is not compared). */
int rec_same_values(const struct record *a, const struct record *b);

#endif
