/* Results: polls the terminal's result folder, waits until a file is stable, claims it by rename
 * (so that several pollers import each result exactly once), parses it safely, matches it to its
 * send attempt by ArbitraryFileIdentifier and MedicalInstitutionCode, stores status, reception
 * number, errors and the raw bytes, then archives the file. Anything that cannot be matched or
 * read goes to the quarantine folder with the reason recorded; no file is ever lost.
 *
 * Stable: the same size and mtime at two looks stable_seconds apart by this computer's monotonic
 * clock (the mtime comes from the terminal's clock and is only compared with itself). A process's
 * first pass looks, waits once for all new files, and looks again; later passes of a long-running
 * process (the daemon, the screens) compare with what the earlier passes saw and never wait.
 *
 * A result is applied only to its document's latest attempt that was not cancelled, when that
 * attempt is published (or still "publishing": the publication is recorded first). A result for
 * a cancelled or superseded attempt is stored as received and quarantined; the document stays.
 * A second file for an attempt that has a result is a duplicate (quarantined) unless it is the
 * very file an earlier pass recorded and could not move yet (killed, or the move failed): that is
 * only moved. A file that ends too early goes back to the result folder until it has stayed the
 * same for 10 × stable_seconds, then to quarantine. Files are put back (after a read or store
 * error, and claims left by dead pollers or by earlier passes of this process) without replacing
 * anything: under NAME.1, NAME.2 … when NAME is taken; such names are read like NAME. */
#ifndef IKEN_INBOX_H
#define IKEN_INBOX_H

#include <stdint.h>
#include "app.h"

struct poll_stats {
	size_t imported, quarantined, waiting;
};

/* One pass over the result folder. Returns 0, or an error when the folder cannot be read (the
 * documents stay as they are; the next pass tries again). */
int inbox_poll(struct app *a, struct poll_stats *ps, struct sbuf *report);

/* A stored result. errors: one "item\tcode\tmessage" line per error. */
struct stored_result {
	char *file_id, *file_name, *form, *status, *reception_no, *code, *message, *errors, *sha256;
	uint64_t doc_id;
	int64_t received;
};
void stored_result_clear(struct stored_result *r);
/* Calls cb for every stored result, oldest identifier first. */
int inbox_scan(struct app *a, int (*cb)(const struct stored_result *r, void *ctx), void *ctx);

struct quarantined {
	int64_t time;
	const char *file, *reason, *sha256;
};
int inbox_quarantine_scan(struct app *a, int (*cb)(const struct quarantined *q, void *ctx),
			  void *ctx);

#endif
