/* What the screens do to documents, kept out of the screens so that it is tested without curses:
 * new records with their prefills, 前回コピー, saving against the revision the edit started from,
 * drafts saved automatically, and finalizing (確定). */
#ifndef IKEN_DOCOPS_H
#define IKEN_DOCOPS_H

#include <stdint.h>
#include "app.h"
#include "model/check.h"

/* A new record of form f: prefills from the settings, the signed-in user (user may be NULL),
 * today, and from src when given (an applicant record for an opinion: "applicant.X"; an opinion
 * for an invoice: "opinion.X"); derived items computed. The caller frees it. */
struct record *docops_new(struct app *a, const struct form *f, const struct record *user,
			  const struct record *src);

/* 前回コピー: a new draft opinion from the latest opinion of the applicant with this insured
 * number (latest written_date), with today's dates and the signed-in doctor, the items filled when
 * sending cleared, and the derived items refreshed. IKEN_ENOTFOUND when there is none. */
int docops_copy_previous(struct app *a, const char *insured_no, const struct record *user,
			 struct record **out);

/* Inside a transaction: the latest record of form f (latest date of its date index, then the
 * highest id) for an insured number; *out is the caller's. IKEN_ENOTFOUND when there is none. */
int docops_latest_txn(struct store_txn *t, const struct form *f, const char *insured,
		      struct record **out);

/* Saves r: inserts it when r->id is 0, else updates it if the stored revision is still base_rev.
 * Derived items are recomputed first. On IKEN_ECONFLICT, *current (when current is not NULL)
 * receives the stored record so the user can be shown what changed; the caller frees it. */
int docops_save(struct app *a, struct record *r, uint32_t base_rev, struct record **current);

/* Fields whose values differ between two records (ids, comma-separated, layout order). */
void docops_diff(const struct form *f, const struct record *x, const struct record *y,
		 struct sbuf *out);

/* Drafts being typed, saved automatically under a key ("user:form:id", id 0 for a new record):
 * put replaces, get gives IKEN_ENOTFOUND when there is none. */
void docops_autosave_key(const struct app *a, const char *form, uint64_t id, struct sbuf *key);
int docops_autosave_put(struct app *a, const char *key, const struct record *r);
int docops_autosave_get(struct app *a, const char *key, struct record **out);
int docops_autosave_del(struct app *a, const char *key);
/* Every autosaved draft of the signed-in user (keys; caller frees each and the vector). */
int docops_autosave_list(struct app *a, char ***keys, size_t *n);

/* Finalizes (確定) a saved document: checks it (problems into out), refuses an opinion unless
 * the user is a doctor (IKEN_EPERM), then sets it final at base_rev (IKEN_ECONFLICT as for
 * save). IKEN_EDATA when the checks find errors. */
int docops_finalize(struct app *a, struct record *r, uint32_t base_rev, const struct record *user,
		    struct problems *out);
/* Makes a final or rejected document a draft again for editing. */
int docops_reopen(struct app *a, struct record *r, uint32_t base_rev);

#endif
