/* Envelopes and results: the XML files exchanged through the terminal folder.
 * A request wraps one document: its sendable CSV record → Base64 → DocumentData of an XML
 * (UTF-8, no BOM) built with libxml2. A result tells whether the service accepted it.
 * Every element name, file-name part and record field it uses lives in forms/terminal.xml, never
 * here; the result codes (SegmentOfResult, ProcessingResultStatus, CharacterCodeIdentifier) are
 * the オンライン資格確認 conventions of the enums below. */
#ifndef IKEN_ENVELOPE_H
#define IKEN_ENVELOPE_H

#include <stddef.h>
#include <time.h>
#include "model/form.h"
#include "model/record.h"
#include "util.h"

#define ENVELOPE_MAX_FILE (16 * 1024 * 1024)  /* results and envelopes larger are refused */

/* The names of the exchange, loaded from forms/terminal.xml (validated by forms/form.rng). */
struct terminal_conf;

/* Loads path (forms/terminal.xml), validated against form.rng of the same folder. Returns 0 and
 * *out (freed with terminal_conf_free()), or IKEN_EFORM with "file:line: what" lines in errs. */
int terminal_conf_load(const char *path, struct terminal_conf **out, struct sbuf *errs);
void terminal_conf_free(struct terminal_conf *tc);

/* The record fields whose values the envelope's header carries (ids, owned by tc). */
enum terminal_field { TF_INSURER_NO, TF_INSURED_NO, TF_CLINIC_CODE };
const char *terminal_field(const struct terminal_conf *tc, enum terminal_field which);
/* The name of the element holding the Base64 CSV ("DocumentData"): what a signature covers. */
const char *terminal_data_element(const struct terminal_conf *tc);

/* File names: "<prefix>req_<id>.xml", "<prefix>res_<id>.xml", "<prefix>req_<id>.err" (the
 * parts from terminal.xml), appended to out. envelope_name: kind 'q' request, 'r' result,
 * 'e' error file, for any prefix (the form's env_prefix for the other two). */
void envelope_name(const struct terminal_conf *tc, char kind, const char *prefix, const char *file_id,
		   struct sbuf *out);
void envelope_request_name(const struct terminal_conf *tc, const struct form *f, const char *file_id,
			   struct sbuf *out);
void envelope_result_name(const struct terminal_conf *tc, const struct form *f, const char *file_id,
			  struct sbuf *out);
/* Splits a file name seen in the result folder: *kind 'r' result, 'e' error file, 'q' request;
 * file_id receives the identifier, prefix the prefix (both replaced; any may be NULL). The
 * prefix is letters and digits, the identifier letters, digits, '_' and '-'. Returns 0, or
 * IKEN_ENOTFOUND for a name that is none of these (dot-names, temporary files, strangers). */
int envelope_name_parse(const struct terminal_conf *tc, const char *name, char *kind,
			struct sbuf *prefix, struct sbuf *file_id);

struct envelope_hdr {
	char *clinic_code;
	char *file_id;
	char *created;        /* YYYYMMDDHHMMSS */
	char *doc_class;
	char *charset;        /* CharacterCodeIdentifier */
	char *insurer_no, *insured_no, *layout_version;
};
void envelope_hdr_clear(struct envelope_hdr *h);

/* Builds the request for record r of form f (f->env_doc_class, f->layout_version) with the given
 * file identifier and creation time: the record's fill items are set for a file made at now
 * (on a copy: r is not changed), its CSV written for sending (●), Base64 without line breaks.
 * The exact bytes (UTF-8, no BOM) are appended to xml. clinic_code is written as given (the
 * record's own clinic code is not compared here). Returns 0, or IKEN_EDATA when f is not a
 * document form, file_id is not letters/digits/'_'/'-', or a header value is not plain text. */
int envelope_build(const struct terminal_conf *tc, const struct form *f, const struct record *r,
		   const char *clinic_code, const char *file_id, time_t now, struct sbuf *xml);

/* Parses a request safely (size limit, no network, no DTD, no entities) and strictly (UTF-8
 * without BOM, every element present, DocumentData strict Base64): the header (hdr is
 * overwritten; clear it with envelope_hdr_clear()) and the decoded CSV bytes appended to csv
 * (exactly what was encoded: no stray NUL). IKEN_EXML/IKEN_EDATA/IKEN_ELIMIT with a message in
 * err (may be NULL). */
int envelope_parse(const struct terminal_conf *tc, const char *buf, size_t len,
		   struct envelope_hdr *hdr, struct sbuf *csv, struct sbuf *err);

/* Strict Base64 (RFC 4648 alphabet, padding, no line breaks), appended to out. The decoder
 * appends exactly the encoded bytes (no NUL padding) and refuses with IKEN_EDATA, leaving out as
 * it was: a length not a multiple of 4, whitespace or any other character outside the
 * alphabet, '=' anywhere but the last one or two places, and non-zero bits after the last byte
 * (so that every byte string has one encoding). */
void base64_encode(const void *data, size_t len, struct sbuf *out);
int base64_decode(const char *s, size_t len, struct sbuf *out);

enum result_segment { SEG_OK = 1, SEG_PROCESSING = 2, SEG_FAILED = 9 };
enum result_status { RES_ACCEPTED = 1, RES_ERROR = 2 };

struct result_error {
	int item;             /* the layout's item number, 0 when the error is about the file */
	char *code, *message;
};
struct result {
	char *clinic_code, *file_id, *exec_time;
	int segment;          /* SegmentOfResult */
	int status;           /* ProcessingResultStatus, 0 when absent */
	char *hdr_error_code, *hdr_error_message;
	char *code, *message; /* ProcessingResultCode / Message */
	char *reception_no;
	int charset;          /* 0 UTF-8, 1 Shift_JIS */
	size_t nerrors;
	struct result_error *errors;
};
void result_clear(struct result *r);

/* Parses a result file (UTF-8 or Shift_JIS as its XML declaration says, Shift_JIS read as its
 * Windows superset CP932 and its text brought to the JIS X 0208 code points, 0x8160 as 〜;
 * elements found by local name in any order below the root, the
 * header's ErrorCode/ErrorMessage outside ErrorList). ArbitraryFileIdentifier and
 * SegmentOfResult are required, the rest optional (NULL / 0 when absent); numbers must be whole
 * numbers. out is overwritten (clear it with result_clear()). Refuses DTDs, entities, network,
 * and files over ENVELOPE_MAX_FILE: IKEN_EXML (not well-formed, truncated, DTD), IKEN_EDATA
 * (elements missing or wrong), IKEN_ELIMIT, with the reason in err (may be NULL). */
int result_parse(const struct terminal_conf *tc, const char *buf, size_t len, struct result *out,
		 struct sbuf *err);
/* Writes a result file (the terminal simulator's side), appended to xml; shift_jis selects the
 * encoding (and CharacterCodeIdentifier). NULL strings and status 0 are left out. */
int result_build(const struct terminal_conf *tc, const struct result *r, int shift_jis,
		 struct sbuf *xml);

/* SHA-256 of data as 64 lowercase hex digits into out[65]. */
void sha256_hex(const void *data, size_t len, char out[65]);

#endif
