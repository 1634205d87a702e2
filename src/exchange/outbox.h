/* The send queue: finalize (確定), queue, publish envelopes atomically into the terminal's request
 * folder, retry with backoff, cancel before publication, and the history of every attempt.
 *
 * Publication never leaves a partial file under a final name and never publishes a document
 * twice, even when killed at any point: the claim records the full paths of a dot-file unique to
 * that claim (pid and a store counter in its name) and of the final file; the envelope is written
 * under the dot-name and fsynced, the queue entry marked "publishing", the file renamed into place.
 * A publisher only ever removes its own dot-file, and only while the entry is still its own.
 *
 * Recovery (a claim whose process is gone, or older than the lease, ours included) first takes
 * the entry over inside a transaction, re-checking that it is the claim it saw, and only then
 * touches files, always at the recorded paths, never recomputed from the settings. A claimed
 * entry goes back to the queue. A "publishing" one is published when the final file exists, or
 * when the request folder can be read and the dot-file is gone (ENOENT); when the dot-file is
 * still there the rename is done now (or, when the request folder was changed in the settings,
 * the attempt goes back to the queue to be published in the new folder); when the folder cannot
 * be reached the entry stays "publishing" for a later pass. A failed rename() means nothing was
 * published; a failed fsync of the folder after a successful rename means it was.
 *
 * An invoice is published only after the opinion attempt named by its pair is published or
 * accepted; an opinion attempt with an invoice attempt going with it cannot be cancelled. */
#ifndef IKEN_OUTBOX_H
#define IKEN_OUTBOX_H

#include <stdint.h>
#include "app.h"
#include "store/audit.h"

enum q_state {
	Q_QUEUED,      /* waiting to be published (after a failure: retrying with backoff) */
	Q_CLAIMED,     /* a publisher is writing the temporary file */
	Q_PUBLISHING,  /* the temporary file is complete; rename in progress */
	Q_PUBLISHED,   /* in the request folder; waiting for the result */
	Q_ACCEPTED,
	Q_REJECTED,
	Q_CANCELLED,
	Q__COUNT
};
const char *q_state_name(enum q_state s);

/* One attempt to send one document. */
struct q_entry {
	char *file_id;        /* ArbitraryFileIdentifier, unique per attempt */
	uint64_t doc_id;
	char *form;
	enum q_state state;
	unsigned tries;       /* failed publications */
	int64_t created, next_try, published, resulted, claimed_at;
	long claim_pid;
	char *file_name;      /* request file name */
	char *sha256;         /* of the envelope's exact bytes */
	char *last_error;
	char *reception_no;
	char *pair;           /* invoice: the opinion's file id; opinion: "" */
	char *user;
	/* Set when claimed, kept afterwards (a later claim removes a dot-file a failed attempt could
	 * not): the claim's own temporary file and the final file, full paths. "" in entries
	 * written before they were recorded. */
	char *tmp_path, *final_path;
};
void q_entry_clear(struct q_entry *e);
/* "publish-failed" for a queued entry with failures, "waiting-long" for a published entry older
 * than wait_hours, else the state name. */
const char *q_entry_display_state(const struct q_entry *e, int wait_hours, int64_t now);

/* Finalizes (when not final yet: checks, and for an opinion the user must be a doctor), queues and
 * publishes the documents. all: every draft or final document whose checks pass. Reports one
 * line per document to report. Returns 0 when every named document was queued, IKEN_EDATA or
 * IKEN_EPERM when some were not (they are left as they were). */
int outbox_send(struct app *a, const uint64_t *ids, size_t n, int all, struct sbuf *report);
/* Loads the signed-in doctor's signing key into a->sign_key (freed by the caller with
 * sign_key_free): the PKCS#11 module of the user record (the HPKI card) or its PKCS#12 file, the
 * PIN read from pin_file or asked for without echo on the terminal, never stored or logged; the
 * certificate checked (validity, key usage, the subject is the user). The subject is appended to
 * report for the doctor to confirm. */
int outbox_load_key(struct app *a, const struct record *user, const char *pin_file, int confirm,
		    struct sbuf *report);
/* The same with the PIN given (the screens ask for it themselves); the certificate's subject
 * replaces subject. The caller wipes the PIN. */
int outbox_load_key_pin(struct app *a, const struct record *user, const char *pin,
			struct sbuf *subject, struct sbuf *report);
/* Publishes every queued entry that is due (force: ignore the backoff), after finishing what a
 * killed publisher left. Returns the number published in *published. */
int outbox_publish_due(struct app *a, int force, size_t *published, struct sbuf *report);
/* Cancels the queued (not yet published) attempt of a document; IKEN_ESTATE otherwise, and for
 * an opinion whose invoice attempt is queued, being published or published. */
int outbox_cancel(struct app *a, uint64_t doc_id, struct sbuf *report);
/* Calls cb for every queue entry (newest last); doc_id 0 = all documents. */
int outbox_scan(struct app *a, uint64_t doc_id, int (*cb)(const struct q_entry *e, void *ctx),
		void *ctx);
/* The entry of one attempt; IKEN_ENOTFOUND. */
int outbox_get(struct store_txn *t, const char *file_id, struct q_entry *out);
/* The same in a transaction of its own; *out cleared with q_entry_clear(). */
int outbox_entry(struct app *a, const char *file_id, struct q_entry *out);
int outbox_put(struct store_txn *t, const struct q_entry *e);
/* Appends the trail's entry for an attempt (send, cancel, result): the document's form and id,
 * the request file's name and SHA-256, and detail (iken's words, never text from a file). */
int outbox_audit(struct store_txn *t, const char *user, enum audit_action action,
		 const struct q_entry *e, const char *detail);

#endif
