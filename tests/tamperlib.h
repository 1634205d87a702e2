/* Edits a store's audit trail behind iken's back, with LMDB calls as an intruder with the LMDB
 * tools would: for the tests that audit_verify() and `iken audit verify` catch every edit. The
 * store must not be open in this process. */
#ifndef IKEN_TAMPERLIB_H
#define IKEN_TAMPERLIB_H

#include <stdint.h>

/* how:
 *   change       entry seq's user becomes "mallory" (its stored hash kept)
 *   rehash       the same, and the entry's own hash recomputed
 *   remove       entry seq deleted
 *   insert       a forged entry numbered seq (linked to seq-1, its own hash right) put in
 *                before entry seq, which and the later ones move one key up
 *   append       a forged entry after the end (linked, hashed), the record of the end untouched
 *   foreign      an entry under a 9-byte key, right after entry seq
 *   reorder      entries seq and seq+1 swapped
 *   damage       entry seq overwritten with bytes that are no entry
 *   head-remove  the record of the end deleted
 *   head-change  the record of the end names entry seq with another hash
 * Returns 0, or -1 after saying why on stderr. */
int tamper(const char *dir, const char *how, uint64_t seq);

#endif
