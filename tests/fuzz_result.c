/* Fuzz harness for result_parse and envelope_parse (and the strict Base64 decoder). Built with
 * -DFUZZING and -fsanitize=fuzzer it is a libFuzzer target; otherwise main() replays every file
 * of a corpus folder (argv[1], default tests/fuzz/result in the source tree) and prints TAP, one
 * case per file. The names come from forms/terminal.xml ($IKEN_FORMS, else the source tree).
 * Beyond not crashing, each input checks: only the documented return codes; a failure leaves
 * the output cleared and says why; a parsed result has an identifier, valid UTF-8 everywhere,
 * and survives result_build and a second parse unchanged; a parsed envelope's CSV re-encodes;
 * and Base64 the decoder accepts is exactly what the encoder writes for its bytes. */
#include "config.h"
#include "model/charset.h"
#include "exchange/envelope.h"
#include "errcode.h"
#include "fuzzlib.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct terminal_conf *tc;

static void free_conf(void)
{
	terminal_conf_free(tc);
	tc = NULL;
}

static void load_conf(void)
{
	struct sbuf path = { 0 }, errs = { 0 };
	const char *dir = getenv("IKEN_FORMS");
#ifdef SRCDIR
	if (!dir || !*dir)
		dir = SRCDIR "/forms";
#else
	if (!dir || !*dir)
		dir = "forms";
#endif
	sbuf_printf(&path, "%s/terminal.xml", dir);
	if (terminal_conf_load(path.s, &tc, &errs)) {
		fprintf(stderr, "fuzz_result: %s", errs.s ? errs.s : "cannot load terminal.xml\n");
		abort();
	}
	atexit(free_conf);
	sbuf_free(&path);
	sbuf_free(&errs);
}

static int known_rc(int rc)
{
	return rc == 0 || rc == IKEN_EXML || rc == IKEN_EDATA || rc == IKEN_ELIMIT;
}

static int text_ok(const char *s)
{
	return !s || utf8_valid(s, strlen(s));
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* An error's code and message: result_build writes a missing one as empty. */
static int same_or_empty(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *check_result(const char *data, size_t size)
{
	struct result res = { 0 }, again = { 0 };
	struct sbuf err = { 0 }, xml = { 0 };
	const char *problem = NULL;
	int rc = result_parse(tc, data, size, &res, &err);

	if (!known_rc(rc)) {
		problem = "result_parse: unexpected return value";
	} else if (rc) {
		if (res.file_id || res.errors || res.nerrors || res.message || res.segment)
			problem = "result_parse: failure left values behind";
		else if (!err.len)
			problem = "result_parse: failure without a message";
	} else if (!res.file_id || !*res.file_id) {
		problem = "result_parse: success without an identifier";
	} else {
		int good = text_ok(res.clinic_code) && text_ok(res.file_id) && text_ok(res.exec_time) &&
			   text_ok(res.hdr_error_code) && text_ok(res.hdr_error_message) &&
			   text_ok(res.code) && text_ok(res.message) && text_ok(res.reception_no);
		for (size_t i = 0; i < res.nerrors; i++)
			good &= text_ok(res.errors[i].code) && text_ok(res.errors[i].message) &&
				res.errors[i].item >= 0;
		if (!good)
			problem = "result_parse: a value is not valid UTF-8";
	}
	if (problem || rc)
		goto out;
	/* what we write of it reads back the same */
	if (result_build(tc, &res, 0, &xml) != 0) {
		problem = "result_build failed on a parsed result";
		goto out;
	}
	sbuf_reset(&err);
	if (result_parse(tc, xml.s, xml.len, &again, &err) != 0) {
		problem = "result_build output does not parse";
		goto out;
	}
	int same = same_str(res.file_id, again.file_id) && same_str(res.clinic_code, again.clinic_code) &&
		   same_str(res.exec_time, again.exec_time) &&
		   same_str(res.hdr_error_code, again.hdr_error_code) &&
		   same_str(res.hdr_error_message, again.hdr_error_message) &&
		   same_str(res.code, again.code) && same_str(res.message, again.message) &&
		   same_str(res.reception_no, again.reception_no) && res.segment == again.segment &&
		   res.status == again.status && res.nerrors == again.nerrors;
	for (size_t i = 0; same && i < res.nerrors; i++)
		same = res.errors[i].item == again.errors[i].item &&
		       same_or_empty(res.errors[i].message, again.errors[i].message) &&
		       same_or_empty(res.errors[i].code, again.errors[i].code);
	if (!same)
		problem = "result changes in a build and parse round trip";
out:
	result_clear(&res);
	result_clear(&again);
	sbuf_free(&err);
	sbuf_free(&xml);
	return problem;
}

static const char *check_envelope(const char *data, size_t size)
{
	struct envelope_hdr h = { 0 };
	struct sbuf csv = { 0 }, err = { 0 }, b64 = { 0 }, back = { 0 };
	const char *problem = NULL;
	int rc = envelope_parse(tc, data, size, &h, &csv, &err);

	if (!known_rc(rc))
		problem = "envelope_parse: unexpected return value";
	else if (rc && (h.file_id || h.clinic_code || csv.len))
		problem = "envelope_parse: failure left values behind";
	else if (rc && !err.len)
		problem = "envelope_parse: failure without a message";
	else if (!rc && (!h.clinic_code || !h.file_id || !h.created || !h.doc_class || !h.charset ||
			 !h.insurer_no || !h.insured_no || !h.layout_version))
		problem = "envelope_parse: success with a header value missing";
	else if (!rc && size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
		problem = "envelope_parse: accepted a BOM";
	else if (!rc && !utf8_valid(data, size))
		problem = "envelope_parse: accepted invalid UTF-8";
	if (!problem && !rc) {
		base64_encode(csv.s, csv.len, &b64);
		if (base64_decode(b64.s, b64.len, &back) != 0 || back.len != csv.len ||
		    (csv.len && memcmp(back.s, csv.s, csv.len) != 0))
			problem = "decoded DocumentData does not re-encode";
	}
	envelope_hdr_clear(&h);
	sbuf_free(&csv);
	sbuf_free(&err);
	sbuf_free(&b64);
	sbuf_free(&back);
	return problem;
}

/* Strict Base64: whatever the decoder accepts, the encoder writes back exactly. */
static const char *check_base64(const char *data, size_t size)
{
	struct sbuf dec = { 0 }, enc = { 0 };
	const char *problem = NULL;
	if (size > 65536)
		return NULL;
	int rc = base64_decode(data, size, &dec);
	if (rc == 0) {
		base64_encode(dec.s, dec.len, &enc);
		if (enc.len != size || (size && memcmp(enc.s, data, size) != 0))
			problem = "base64: accepted a non-canonical encoding";
	} else if (rc != IKEN_EDATA) {
		problem = "base64: unexpected return value";
	}
	sbuf_free(&dec);
	sbuf_free(&enc);
	return problem;
}

static const char *check_input(const uint8_t *bytes, size_t size)
{
	const char *data = (const char *)bytes;
	const char *problem;
	if (!tc)
		load_conf();
	problem = check_result(data, size);
	if (!problem)
		problem = check_envelope(data, size);
	if (!problem)
		problem = check_base64(data, size);
	return problem;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *problem = check_input(data, size);

	if (problem) {
		fprintf(stderr, "fuzz_result: %s\n", problem);
		abort();
	}
	return 0;
}

#ifndef FUZZING
int main(int argc, char **argv)
{
	return fuzz_replay_main(argc, argv, "result", NULL, check_input);
}
#endif
