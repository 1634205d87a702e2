/* Reading XML safely, and the one place libxml2's errors become messages: a size limit, no
 * network, no DTD loading, no entity expansion, documents with a DTD refused unless the caller
 * allows them, RELAX NG validation; errors collected as "file:line: text" lines. */
#ifndef IKEN_XMLSAFE_H
#define IKEN_XMLSAFE_H

#include <stddef.h>
#include <libxml/tree.h>
#include "util.h"

#define XMLSAFE_SCHEMA_MAX (4 * 1024 * 1024)  /* largest schema file read */

/* Where errors go. Set out, path, max and ja; count starts at 0. */
struct xmlsafe_errs {
	struct sbuf *out;  /* lines appended here; NULL: only counted */
	const char *path;  /* lines "path:line: text"; NULL: "line N: text", or "text" alone */
	int max;           /* libxml2's messages stop being written at this many errors; 0: never */
	int ja;            /* this module's own words in Japanese ("N行目: text", …) */
	int count;         /* errors so far */
};

/* Appends one error line (at line; 0: the whole file) and counts it. */
void xmlsafe_error(struct xmlsafe_errs *e, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* 0 when len is at most max, else IKEN_ELIMIT with "the file is too large" in e. */
int xmlsafe_check_size(size_t len, size_t max, struct xmlsafe_errs *e);

enum {
	XMLSAFE_ALLOW_DTD = 1,  /* accept a document with a DTD (neither loaded nor expanded) */
};

/* Parses buf (at most max bytes, max below 2 GiB) into *out, freed by the caller with
 * xmlFreeDoc(); encoding (may be NULL) overrides the XML declaration; flags are XMLSAFE_*.
 * Returns 0, or IKEN_ELIMIT or IKEN_EXML (empty, not well-formed, truncated, a DTD, no root)
 * with *out NULL and the reasons in e. */
int xmlsafe_read(const char *buf, size_t len, size_t max, const char *encoding, int flags,
		 struct xmlsafe_errs *e, xmlDocPtr *out);

/* xmlsafe_read() of the file at path; also -errno when it cannot be read. */
int xmlsafe_read_file(const char *path, size_t max, int flags, struct xmlsafe_errs *e,
		      xmlDocPtr *out);

/* Validates doc against the RELAX NG schema at schema_path (its own errors named after it).
 * Returns 0, or IKEN_EXML with the reasons in e. */
int xmlsafe_validate(xmlDocPtr doc, const char *schema_path, struct xmlsafe_errs *e);

#endif
