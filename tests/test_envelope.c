/* Envelopes and results: build and parse back a request of a generated opinion, strict Base64,
 * SHA-256, file names, and results (accepted, rejected, Shift_JIS, shuffled, truncated, DTD,
 * too large). */
#include "config.h"
#include "exchange/envelope.h"
#include "model/charset.h"
#include "model/check.h"
#include "model/csvrec.h"
#include "model/docio.h"
#include "errcode.h"
#include "model/form.h"
#include "genlib.h"
#include "model/record.h"
#include "util.h"
#include "tap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLINIC "1312345678"
#define FILE_ID "1312345678202604010930000001"

static struct formset *fs;
static struct terminal_conf *tc;

static const char *forms_dir(void)
{
	const char *d = getenv("IKEN_FORMS");
	return d && *d ? d : SRCDIR "/forms";
}

/* --- building and parsing a request --- */

static int count_rows_fn(const struct csv_row *row, void *ctx)
{
	size_t *cols = ctx;
	cols[0]++;
	cols[1] = row->n;
	return 0;
}

static void test_envelope(void)
{
	const struct form *f = formset_get(fs, "ikensho");
	struct gen g;
	struct problems ps = { 0 };
	struct sbuf xml = { 0 }, csv = { 0 }, want = { 0 }, err = { 0 };
	struct envelope_hdr h = { 0 };
	time_t now = iken_now();

	if (!ok(f != NULL, "form ikensho loaded"))
		return;
	gen_seed(&g, 7);
	struct record *r = gen_record(&g, fs, f, 3);
	/* 髙 is outside JIS X 0208 (sent as ●); ～ is the CP932 form of 〜 (normalized) */
	rec_set(r, "remarks", "髙木様の記載～テスト");
	is_int(check_record(fs, f, r, CHECK_STORED, GEN_TODAY, &ps), 0,
	       "the generated record has no errors as stored");
	problems_free(&ps);

	is_int(envelope_build(tc, f, r, CLINIC, FILE_ID, now, &xml), 0, "envelope_build");
	ok(xml.len > 5 && memcmp(xml.s, "<?xml", 5) == 0, "starts with <?xml: no BOM");
	ok(utf8_valid(xml.s, xml.len), "the envelope is valid UTF-8");
	ok(strstr(xml.s, "encoding=\"UTF-8\"") != NULL, "declares UTF-8");
	const char *d = strstr(xml.s, "<DocumentData>"), *e = strstr(xml.s, "</DocumentData>");
	ok(d && e && e > d && strcspn(d + 14, " \t\r\n") >= (size_t)(e - d - 14),
	   "DocumentData holds no whitespace or line break");
	ok(rec_get(r, "timestamp") == NULL || !*rec_get(r, "timestamp"),
	   "the caller's record is not changed (fill items stay empty)");

	int rc = envelope_parse(tc, xml.s, xml.len, &h, &csv, &err);
	is_int(rc, 0, "envelope_parse of what was built");
	if (rc)
		printf("# %s", err.s ? err.s : "");
	is_str(h.clinic_code, CLINIC, "MedicalInstitutionCode");
	is_str(h.file_id, FILE_ID, "ArbitraryFileIdentifier");
	is_str(h.created, "20260401093000", "CreationDateTime is the fixed clock");
	is_str(h.doc_class, "1", "DocumentClassification = the form's document class");
	is_str(h.charset, "0", "CharacterCodeIdentifier 0");
	is_str(h.insurer_no, rec_val(r, "insurer_no"), "InsurerNumber from the record");
	is_str(h.insured_no, rec_val(r, "insured_no"), "InsuredNumber from the record");
	is_str(h.layout_version, "1.3", "LayoutVersion = the form's layout version");

	struct record *filled = rec_dup(r);
	docio_fill_send(f, filled, now);
	docio_record_csv(f, filled, 1, &want);
	ok(csv.len == want.len && memcmp(csv.s, want.s, csv.len) == 0,
	   "decoded CSV equals the sendable record byte for byte (%zu bytes)", want.len);
	ok(memchr(csv.s, '\0', csv.len) == NULL, "no NUL byte in the decoded CSV");
	size_t cols[2] = { 0, 0 };
	csvrec_parse(csv.s, csv.len, count_rows_fn, cols, NULL);
	ok(cols[0] == 1 && cols[1] == f->nfields, "one row of %zu columns", f->nfields);
	ok(strstr(csv.s, "●木様の記載〜テスト") != NULL, "髙 arrives as ●, ～ as 〜");
	ok(strstr(csv.s, "髙") == NULL && strstr(csv.s, "～") == NULL,
	   "neither 髙 nor ～ is sent");
	char ts[32];
	snprintf(ts, sizeof(ts), "%s01093000", rec_val(r, "insured_no"));
	ok(strstr(csv.s, ts) != NULL, "the timestamp item is the insured number + DDHHMMSS");
	rec_free(filled);
	envelope_hdr_clear(&h);

	/* refusals of the builder */
	sbuf_reset(&xml);
	is_int(envelope_build(tc, f, r, CLINIC, "../x", now, &xml), IKEN_EDATA,
	       "a file identifier with '/' is refused");
	is_int(envelope_build(tc, formset_get(fs, "applicant"), r, CLINIC, FILE_ID, now, &xml),
	       IKEN_EDATA, "a form that is not a document has no envelope");

	/* refusals of the parser */
	sbuf_reset(&xml);
	envelope_build(tc, f, r, CLINIC, FILE_ID, now, &xml);
	struct sbuf bad = { 0 };
	sbuf_add(&bad, "\xEF\xBB\xBF", 3);
	sbuf_add(&bad, xml.s, xml.len);
	sbuf_reset(&err);
	is_int(envelope_parse(tc, bad.s, bad.len, &h, &csv, &err), IKEN_EDATA, "a BOM is refused");
	ok(err.s && strstr(err.s, "BOM"), "the message says BOM");
	sbuf_reset(&bad);
	d = strstr(xml.s, "<DocumentData>") + 14;
	sbuf_add(&bad, xml.s, (size_t)(d - xml.s) + 8);
	sbuf_puts(&bad, "\n");
	sbuf_puts(&bad, d + 8);
	is_int(envelope_parse(tc, bad.s, bad.len, &h, &csv, NULL), IKEN_EDATA,
	       "a line break inside DocumentData is refused");
	sbuf_reset(&bad);
	sbuf_puts(&bad, "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>");
	sbuf_puts(&bad, strstr(xml.s, "?>") + 2);
	is_int(envelope_parse(tc, bad.s, bad.len, &h, &csv, NULL), IKEN_EDATA,
	       "an envelope declared Shift_JIS is refused");
	sbuf_reset(&bad);
	sbuf_puts(&bad, "<?xml version=\"1.0\"?><!DOCTYPE XmlMsg [<!ENTITY a \"b\">]>");
	sbuf_puts(&bad, strstr(xml.s, "?>") + 2);
	is_int(envelope_parse(tc, bad.s, bad.len, &h, &csv, NULL), IKEN_EXML,
	       "an envelope with a DTD is refused");
	sbuf_reset(&bad);
	sbuf_add(&bad, xml.s, xml.len / 2);
	is_int(envelope_parse(tc, bad.s, bad.len, &h, &csv, NULL), IKEN_EXML,
	       "a truncated envelope is refused");
	sbuf_free(&bad);

	rec_free(r);
	sbuf_free(&xml);
	sbuf_free(&csv);
	sbuf_free(&want);
	sbuf_free(&err);
}

/* --- Base64 --- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned char next_byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned char)(rng >> 24);
}

static int dec_rc(const char *s)
{
	struct sbuf out = { 0 };
	int rc = base64_decode(s, strlen(s), &out);
	sbuf_free(&out);
	return rc;
}

static void test_base64(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	struct sbuf enc = { 0 }, dec = { 0 };
	int good = 1;
	for (size_t i = 0; i < ARRAY_SIZE(vec); i++) {
		sbuf_reset(&enc);
		base64_encode(vec[i][0], strlen(vec[i][0]), &enc);
		good &= strcmp(enc.s, vec[i][1]) == 0;
		sbuf_reset(&dec);
		good &= base64_decode(vec[i][1], strlen(vec[i][1]), &dec) == 0 &&
			dec.len == strlen(vec[i][0]) && memcmp(dec.s, vec[i][0], dec.len) == 0;
	}
	ok(good, "RFC 4648 test vectors encode and decode");

	unsigned char buf[300];
	int fails = 0;
	for (size_t n = 0; n <= 300; n++) {
		for (size_t i = 0; i < n; i++)
			buf[i] = next_byte();
		sbuf_reset(&enc);
		sbuf_reset(&dec);
		base64_encode(buf, n, &enc);
		if (enc.len != (n + 2) / 3 * 4 || strpbrk(enc.s, "\r\n ") ||
		    base64_decode(enc.s, enc.len, &dec) != 0 || dec.len != n ||
		    (n && memcmp(dec.s, buf, n) != 0))
			fails++;
	}
	is_int(fails, 0, "round trip of random bytes, lengths 0..300");

	/* across the 12288-byte chunks of the encoder and 16384-character ones of the decoder */
	size_t big = 3 * 4096 * 3 + 2;
	unsigned char *p = xmalloc(big);
	for (size_t i = 0; i < big; i++)
		p[i] = next_byte();
	sbuf_reset(&enc);
	sbuf_reset(&dec);
	base64_encode(p, big, &enc);
	ok(base64_decode(enc.s, enc.len, &dec) == 0 && dec.len == big && memcmp(dec.s, p, big) == 0,
	   "round trip of %zu bytes (several chunks)", big);
	free(p);

	sbuf_reset(&dec);
	ok(base64_decode("QQ==", 4, &dec) == 0 && dec.len == 1 && dec.s[0] == 'A' && dec.s[1] == '\0',
	   "\"QQ==\" decodes to exactly 1 byte");
	sbuf_reset(&dec);
	ok(base64_decode("QUI=", 4, &dec) == 0 && dec.len == 2 && memcmp(dec.s, "AB", 2) == 0,
	   "\"QUI=\" decodes to exactly 2 bytes");
	sbuf_reset(&dec);
	sbuf_puts(&dec, "x");
	ok(base64_decode("QQ==", 4, &dec) == 0 && dec.len == 2 && memcmp(dec.s, "xA", 2) == 0,
	   "decode appends");

	static const char *const bad[] = {
		"QQ=", "QQ", "Q", "Q===", "====", "QR==", "QUJ=", "QQ==QQ==", "QQ=A",
	};
	int refused = 1;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		refused &= dec_rc(bad[i]) == IKEN_EDATA;
	ok(refused, "bad padding refused (missing, misplaced, non-zero bits)");
	ok(dec_rc("QQ ==") == IKEN_EDATA && dec_rc(" QQ==") == IKEN_EDATA &&
	   dec_rc("QQ==\n") == IKEN_EDATA && dec_rc("Zm9v\nYmFy") == IKEN_EDATA &&
	   dec_rc("Zm9v\tYmFy") == IKEN_EDATA, "whitespace refused");
	ok(dec_rc("QQ*=") == IKEN_EDATA && dec_rc("Zm9-") == IKEN_EDATA &&
	   dec_rc("Zm9_") == IKEN_EDATA, "characters outside the alphabet refused ('*', URL-safe)");
	ok(base64_decode("Zm\0v", 4, &dec) == IKEN_EDATA, "a NUL byte refused");
	sbuf_free(&enc);
	sbuf_free(&dec);
}

static void test_sha256(void)
{
	char hex[65];
	sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 of abc");
	sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256 of nothing");
}

/* --- file names --- */

static void name_is(const char *name, int want_rc, char want_kind, const char *want_prefix,
		    const char *want_id, const char *what)
{
	struct sbuf prefix = { 0 }, id = { 0 };
	char kind = 0;
	int rc = envelope_name_parse(tc, name, &kind, &prefix, &id);
	int good = rc == want_rc;
	if (good && rc == 0)
		good = kind == want_kind && strcmp(prefix.s, want_prefix) == 0 &&
		       strcmp(id.s, want_id) == 0;
	if (!ok(good, "%s: %s", what, name))
		printf("#   rc %d kind %c prefix %s id %s\n", rc, kind ? kind : '-',
		       prefix.s ? prefix.s : "", id.s ? id.s : "");
	sbuf_free(&prefix);
	sbuf_free(&id);
}

static void test_names(void)
{
	const struct form *f = formset_get(fs, "ikensho"), *inv = formset_get(fs, "seikyu");
	struct sbuf n = { 0 };
	envelope_request_name(tc, f, FILE_ID, &n);
	is_str(n.s, "IKNsubm01req_" FILE_ID ".xml", "request name");
	sbuf_reset(&n);
	envelope_result_name(tc, inv, FILE_ID, &n);
	is_str(n.s, "IKNsubm02res_" FILE_ID ".xml", "result name of an invoice");
	sbuf_reset(&n);
	envelope_name(tc, 'e', "IKNsubm01", FILE_ID, &n);
	is_str(n.s, "IKNsubm01req_" FILE_ID ".err", "error file name");
	sbuf_free(&n);

	name_is("IKNsubm01req_" FILE_ID ".xml", 0, 'q', "IKNsubm01", FILE_ID, "request");
	name_is("IKNsubm01res_" FILE_ID ".xml", 0, 'r', "IKNsubm01", FILE_ID, "result");
	name_is("IKNsubm02req_" FILE_ID ".err", 0, 'e', "IKNsubm02", FILE_ID, "error file");
	name_is("OQSsiquc01res_20260401-1.xml", 0, 'r', "OQSsiquc01", "20260401-1",
		"another function's result");
	name_is(".IKNsubm01res_" FILE_ID ".xml.tmp.123", IKEN_ENOTFOUND, 0, NULL, NULL, "dot-name");
	name_is("IKNsubm01res_" FILE_ID ".xml.part", IKEN_ENOTFOUND, 0, NULL, NULL, "temporary");
	name_is("IKNsubm01res_" FILE_ID ".tmp", IKEN_ENOTFOUND, 0, NULL, NULL, "temporary");
	name_is("IKNsubm01res_" FILE_ID ".err", IKEN_ENOTFOUND, 0, NULL, NULL, "a result .err");
	name_is("IKNsubm01res_.xml", IKEN_ENOTFOUND, 0, NULL, NULL, "empty identifier");
	name_is("res_" FILE_ID ".xml", IKEN_ENOTFOUND, 0, NULL, NULL, "no prefix");
	name_is("IKN.subm01res_1.xml", IKEN_ENOTFOUND, 0, NULL, NULL, "dot in the prefix");
	name_is("IKNsubm01res_1.2.xml", IKEN_ENOTFOUND, 0, NULL, NULL, "dot in the identifier");
	name_is("IKNsubm01res_1 2.xml", IKEN_ENOTFOUND, 0, NULL, NULL, "space in the identifier");
	name_is("readme.txt", IKEN_ENOTFOUND, 0, NULL, NULL, "stranger");
	name_is("", IKEN_ENOTFOUND, 0, NULL, NULL, "empty name");
}

/* --- results --- */

static const char accepted_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<XmlMsg>\n"
	"  <MessageHeader>\n"
	"    <ProcessExecutionTime>20260401094500</ProcessExecutionTime>\n"
	"    <SegmentOfResult>1</SegmentOfResult>\n"
	"    <MedicalInstitutionCode>" CLINIC "</MedicalInstitutionCode>\n"
	"    <ArbitraryFileIdentifier>" FILE_ID "</ArbitraryFileIdentifier>\n"
	"    <CharacterCodeIdentifier>0</CharacterCodeIdentifier>\n"
	"  </MessageHeader>\n"
	"  <MessageBody>\n"
	"    <ProcessingResultStatus>1</ProcessingResultStatus>\n"
	"    <ProcessingResultCode>0000</ProcessingResultCode>\n"
	"    <ProcessingResultMessage>正常に受け付けました</ProcessingResultMessage>\n"
	"    <ReceptionNumber>R20260401000001</ReceptionNumber>\n"
	"  </MessageBody>\n"
	"</XmlMsg>\n";

static const char rejected_xml[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<XmlMsg><MessageHeader>"
	"<MedicalInstitutionCode>" CLINIC "</MedicalInstitutionCode>"
	"<ArbitraryFileIdentifier>" FILE_ID "</ArbitraryFileIdentifier>"
	"<ProcessExecutionTime>20260401094500</ProcessExecutionTime>"
	"<SegmentOfResult>1</SegmentOfResult>"
	"</MessageHeader><MessageBody>"
	"<ProcessingResultStatus>2</ProcessingResultStatus>"
	"<ProcessingResultCode>E000</ProcessingResultCode>"
	"<ProcessingResultMessage>エラーがあります</ProcessingResultMessage>"
	"<ErrorList>"
	"<Error><ItemNumber>19</ItemNumber><ErrorCode>E002</ErrorCode>"
	"<ErrorMessage>選択肢にない値です</ErrorMessage></Error>"
	"<Error><ErrorMessage>入力が必要です(必須)</ErrorMessage><ErrorCode>E001</ErrorCode>"
	"<ItemNumber> 35 </ItemNumber></Error>"
	"<Error><ItemNumber>0</ItemNumber><ErrorCode>E907</ErrorCode>"
	"<ErrorMessage>CSVの形式が正しくありません</ErrorMessage></Error>"
	"</ErrorList></MessageBody></XmlMsg>\n";

/* the accepted result with its elements in another order, body first, under a namespace */
static const char shuffled_xml[] =
	"<?xml version=\"1.0\"?>"
	"<m:XmlMsg xmlns:m=\"urn:example\"><m:MessageBody>"
	"<m:ReceptionNumber>R20260401000001</m:ReceptionNumber>"
	"<m:ProcessingResultMessage>正常に受け付けました</m:ProcessingResultMessage>"
	"<m:ProcessingResultStatus>1</m:ProcessingResultStatus>"
	"</m:MessageBody><m:MessageHeader>"
	"<m:SegmentOfResult>\n1\n</m:SegmentOfResult>"
	"<m:ArbitraryFileIdentifier>" FILE_ID "</m:ArbitraryFileIdentifier>"
	"<m:MedicalInstitutionCode>" CLINIC "</m:MedicalInstitutionCode>"
	"</m:MessageHeader></m:XmlMsg>";

/* Shift_JIS bytes: あ ① ～ (the last two exist only in CP932) */
static const char sjis_xml[] =
	"<?xml version=\"1.0\" encoding=\"Shift_JIS\"?>\n"
	"<XmlMsg><MessageHeader><ArbitraryFileIdentifier>" FILE_ID "</ArbitraryFileIdentifier>"
	"<SegmentOfResult>9</SegmentOfResult><ErrorCode>E901</ErrorCode>"
	"<ErrorMessage>\x82\xa0\x87\x40\x81\x60</ErrorMessage>"
	"<CharacterCodeIdentifier>1</CharacterCodeIdentifier>"
	"</MessageHeader></XmlMsg>\n";

static int parse_str(const char *s, size_t len, struct result *res, struct sbuf *err)
{
	sbuf_reset(err);
	return result_parse(tc, s, len, res, err);
}

static void test_results(void)
{
	struct result res = { 0 };
	struct sbuf err = { 0 }, xml = { 0 };

	is_int(parse_str(accepted_xml, strlen(accepted_xml), &res, &err), 0, "accepted result parses");
	is_str(res.file_id, FILE_ID, "its identifier");
	is_str(res.clinic_code, CLINIC, "its clinic code");
	is_str(res.exec_time, "20260401094500", "its execution time");
	ok(res.segment == SEG_OK && res.status == RES_ACCEPTED, "segment 1, status 1");
	is_str(res.reception_no, "R20260401000001", "its reception number");
	is_str(res.message, "正常に受け付けました", "its message");
	ok(res.nerrors == 0 && res.charset == 0 && !res.hdr_error_code, "no errors, UTF-8");
	result_clear(&res);

	is_int(parse_str(rejected_xml, strlen(rejected_xml), &res, &err), 0, "rejected result parses");
	ok(res.status == RES_ERROR && res.nerrors == 3, "status 2 with 3 errors");
	if (res.nerrors == 3) {
		ok(res.errors[0].item == 19 && res.errors[1].item == 35 && res.errors[2].item == 0,
		   "item numbers 19, 35, 0 (spaces around a number are fine)");
		is_str(res.errors[1].code, "E001", "error code found in any order");
		is_str(res.errors[1].message, "入力が必要です(必須)", "error message");
	}
	ok(!res.hdr_error_code && !res.hdr_error_message && !res.reception_no,
	   "the errors' ErrorCode is not taken for the header's");
	result_clear(&res);

	is_int(parse_str(shuffled_xml, strlen(shuffled_xml), &res, &err), 0,
	       "shuffled, namespaced result parses");
	ok(res.segment == 1 && res.status == 1 && res.reception_no &&
	   strcmp(res.reception_no, "R20260401000001") == 0 && strcmp(res.file_id, FILE_ID) == 0,
	   "same values whatever the order");
	ok(!res.exec_time && !res.code, "missing optional elements are NULL");
	result_clear(&res);

	is_int(parse_str(sjis_xml, strlen(sjis_xml), &res, &err), 0, "Shift_JIS result parses");
	if (err.len)
		printf("# %s", err.s);
	is_str(res.hdr_error_message, "あ①〜", "Shift_JIS decoded as CP932 (① too), 0x8160 as 〜");
	ok(res.segment == SEG_FAILED && res.charset == 1 && strcmp(res.hdr_error_code, "E901") == 0,
	   "segment 9, header error code, charset 1");
	result_clear(&res);

	/* result_build round trip, both encodings */
	struct result src = { 0 };
	static const char msg19[] = "選択肢にない値です(7; 選べるのは 1,2)、1〜2−3";
	src.clinic_code = xstrdup(CLINIC);
	src.file_id = xstrdup(FILE_ID);
	src.exec_time = xstrdup("20260401094500");
	src.segment = SEG_OK;
	src.status = RES_ERROR;
	src.code = xstrdup("E000");
	src.message = xstrdup("エラーがあるため受け付けませんでした(2件)");
	src.nerrors = 2;
	src.errors = xcalloc(2, sizeof(*src.errors));
	src.errors[0] = (struct result_error){ 19, xstrdup("E002"), xstrdup(msg19) };
	src.errors[1] = (struct result_error){ 0, xstrdup("E907"), xstrdup("<&>\"'") };
	for (int sj = 0; sj <= 1; sj++) {
		sbuf_reset(&xml);
		is_int(result_build(tc, &src, sj, &xml), 0, "result_build (%s)", sj ? "Shift_JIS" : "UTF-8");
		ok(strstr(xml.s, sj ? "encoding=\"Shift_JIS\"" : "encoding=\"UTF-8\"") != NULL &&
		   (sj ? !utf8_valid(xml.s, xml.len) && !strstr(xml.s, "エラー") : utf8_valid(xml.s, xml.len)),
		   "declared and written in %s", sj ? "Shift_JIS" : "UTF-8");
		is_int(parse_str(xml.s, xml.len, &res, &err), 0, "and parses back");
		ok(res.nerrors == 2 && res.errors[0].item == 19 &&
		   strcmp(res.errors[0].message, msg19) == 0 &&
		   strcmp(res.errors[1].message, "<&>\"'") == 0 && strcmp(res.message, src.message) == 0 &&
		   res.charset == sj && res.status == RES_ERROR && strcmp(res.clinic_code, CLINIC) == 0,
		   "with the same values (Japanese and markup characters intact)");
		result_clear(&res);
	}
	result_clear(&src);

	/* broken results */
	is_int(parse_str(accepted_xml, strlen(accepted_xml) / 2, &res, &err), IKEN_EXML,
	       "a truncated result is IKEN_EXML");
	ok(err.s && strstr(err.s, "truncated"), "and the message says it may be truncated");
	if (!(err.s && strstr(err.s, "truncated")))
		printf("# %s", err.s ? err.s : "");
	static const char dtd[] =
		"<?xml version=\"1.0\"?><!DOCTYPE XmlMsg [<!ENTITY id \"" FILE_ID "\">]>"
		"<XmlMsg><MessageHeader><ArbitraryFileIdentifier>&id;</ArbitraryFileIdentifier>"
		"<SegmentOfResult>1</SegmentOfResult></MessageHeader></XmlMsg>";
	is_int(parse_str(dtd, strlen(dtd), &res, &err), IKEN_EXML, "a DTD with an entity is refused");
	ok(err.s && strstr(err.s, "DTD"), "and the message says DTD");
	static const char ext[] =
		"<?xml version=\"1.0\"?><!DOCTYPE XmlMsg SYSTEM \"file:///etc/passwd\">"
		"<XmlMsg><MessageHeader><ArbitraryFileIdentifier>1</ArbitraryFileIdentifier>"
		"<SegmentOfResult>1</SegmentOfResult></MessageHeader></XmlMsg>";
	is_int(parse_str(ext, strlen(ext), &res, &err), IKEN_EXML, "an external DTD is refused");
	static const char undeclared[] =
		"<XmlMsg><MessageHeader><ArbitraryFileIdentifier>&x;</ArbitraryFileIdentifier>"
		"<SegmentOfResult>1</SegmentOfResult></MessageHeader></XmlMsg>";
	is_int(parse_str(undeclared, strlen(undeclared), &res, &err), IKEN_EXML,
	       "an undeclared entity is refused");

	size_t big = 17 * 1024 * 1024;
	char *huge = xmalloc(big);
	memset(huge, ' ', big);
	memcpy(huge, "<XmlMsg>", 8);
	memcpy(huge + big - 9, "</XmlMsg>", 9);
	is_int(parse_str(huge, big, &res, &err), IKEN_ELIMIT, "a 17 MiB result is refused");
	free(huge);

	static const char no_id[] =
		"<XmlMsg><MessageHeader><SegmentOfResult>1</SegmentOfResult></MessageHeader></XmlMsg>";
	is_int(parse_str(no_id, strlen(no_id), &res, &err), IKEN_EDATA,
	       "a result without ArbitraryFileIdentifier is IKEN_EDATA");
	static const char bad_item[] =
		"<XmlMsg><ArbitraryFileIdentifier>1</ArbitraryFileIdentifier>"
		"<SegmentOfResult>1</SegmentOfResult><ErrorList><Error><ItemNumber>x1</ItemNumber>"
		"</Error></ErrorList></XmlMsg>";
	is_int(parse_str(bad_item, strlen(bad_item), &res, &err), IKEN_EDATA,
	       "a non-numeric ItemNumber is IKEN_EDATA");
	static const char other_root[] =
		"<Other><ArbitraryFileIdentifier>1</ArbitraryFileIdentifier>"
		"<SegmentOfResult>1</SegmentOfResult></Other>";
	is_int(parse_str(other_root, strlen(other_root), &res, &err), IKEN_EDATA,
	       "another root element is IKEN_EDATA");
	is_int(parse_str("", 0, &res, &err), IKEN_EXML, "an empty file is IKEN_EXML");
	sbuf_free(&err);
	sbuf_free(&xml);
}

/* --- terminal.xml --- */

static void test_conf(void)
{
	char dir[] = "/tmp/iken-envtest.XXXXXX";
	struct sbuf path = { 0 }, errs = { 0 }, src = { 0 };
	struct terminal_conf *t2 = NULL;
	char *data;
	size_t len;

	ok(formset_get(fs, "terminal") == NULL && fs->nforms >= 5,
	   "the form loader skips terminal.xml");
	if (!ok(mkdtemp(dir) != NULL, "temporary folder"))
		return;
	sbuf_printf(&src, "%s/form.rng", forms_dir());
	sbuf_printf(&path, "%s/form.rng", dir);
	if (read_file(src.s, 1 << 22, &data, &len) == 0) {
		write_file_atomic(path.s, data, len, 0600);
		free(data);
	}
	sbuf_reset(&path);
	sbuf_printf(&path, "%s/terminal.xml", dir);
	static const char broken[] =
		"<?xml version=\"1.0\"?>\n<terminal version=\"1\">\n"
		"  <files request=\"req_\" result=\"res_\" extension=\".xml\" error-extension=\".err\"/>\n"
		"</terminal>\n";
	write_file_atomic(path.s, broken, strlen(broken), 0600);
	is_int(terminal_conf_load(path.s, &t2, &errs), IKEN_EFORM, "a terminal.xml missing parts is refused");
	ok(errs.s && strstr(errs.s, "terminal.xml:") != NULL, "with file:line: messages");
	if (!(errs.s && strstr(errs.s, "terminal.xml:")))
		printf("# %s", errs.s ? errs.s : "");
	terminal_conf_free(t2);
	unlink(path.s);
	sbuf_reset(&path);
	sbuf_printf(&path, "%s/form.rng", dir);
	unlink(path.s);
	rmdir(dir);
	sbuf_free(&path);
	sbuf_free(&errs);
	sbuf_free(&src);
}

int main(void)
{
	struct sbuf errs = { 0 }, path = { 0 };
	setenv("TZ", "Asia/Tokyo", 1);
	tzset();
	setenv("IKEN_TEST_NOW", "20260401093000", 1);

	if (!ok(formset_load(forms_dir(), &fs, &errs) == 0, "forms load")) {
		printf("# %s", errs.s ? errs.s : "");
		return done_testing();
	}
	sbuf_printf(&path, "%s/terminal.xml", forms_dir());
	if (!ok(terminal_conf_load(path.s, &tc, &errs) == 0, "terminal.xml loads")) {
		printf("# %s", errs.s ? errs.s : "");
		return done_testing();
	}
	is_str(terminal_field(tc, TF_INSURED_NO), "insured_no", "the insured number's field");
	is_str(terminal_field(tc, TF_INSURER_NO), "insurer_no", "the insurer number's field");
	test_envelope();
	test_base64();
	test_sha256();
	test_names();
	test_results();
	test_conf();
	terminal_conf_free(tc);
	formset_free(fs);
	sbuf_free(&errs);
	sbuf_free(&path);
	return done_testing();
}
