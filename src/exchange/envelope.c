#include "config.h"
#include "exchange/envelope.h"
#include "model/charset.h"
#include "model/docio.h"
#include "errcode.h"
#include "xmlsafe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <libxml/tree.h>
#include <openssl/evp.h>

/* --- the names of the exchange (forms/terminal.xml) --- */

enum tname {
	TN_ROOT, TN_HEADER, TN_BODY,
	/* request header and body; the result echoes the first, second and fifth */
	TN_CLINIC, TN_FILE_ID, TN_CREATED, TN_DOC_CLASS, TN_CHARSET,
	TN_INSURER, TN_INSURED, TN_LAYOUT, TN_DATA,
	/* result */
	TN_EXEC_TIME, TN_SEGMENT, TN_ERR_CODE, TN_ERR_MSG, TN_STATUS, TN_RES_CODE, TN_RES_MSG,
	TN_RECEPTION, TN_ERR_LIST, TN_ERROR, TN_ITEM,
	/* file-name parts */
	TN_F_REQ, TN_F_RES, TN_F_EXT, TN_F_ERR,
	/* record fields */
	TN_R_INSURER, TN_R_INSURED, TN_R_CLINIC,
	TN__COUNT
};

/* Where each name is in terminal.xml: element and attribute (the schema makes all required). */
static const struct {
	const char *elem, *attr;
} tname_src[TN__COUNT] = {
	[TN_ROOT] = { "message", "root" },
	[TN_HEADER] = { "message", "header" },
	[TN_BODY] = { "message", "body" },
	[TN_CLINIC] = { "request", "clinic-code" },
	[TN_FILE_ID] = { "request", "file-id" },
	[TN_CREATED] = { "request", "created" },
	[TN_DOC_CLASS] = { "request", "document-class" },
	[TN_CHARSET] = { "request", "charset" },
	[TN_INSURER] = { "request", "insurer-no" },
	[TN_INSURED] = { "request", "insured-no" },
	[TN_LAYOUT] = { "request", "layout-version" },
	[TN_DATA] = { "request", "document-data" },
	[TN_EXEC_TIME] = { "result", "exec-time" },
	[TN_SEGMENT] = { "result", "segment" },
	[TN_ERR_CODE] = { "result", "error-code" },
	[TN_ERR_MSG] = { "result", "error-message" },
	[TN_STATUS] = { "result", "status" },
	[TN_RES_CODE] = { "result", "result-code" },
	[TN_RES_MSG] = { "result", "result-message" },
	[TN_RECEPTION] = { "result", "reception-no" },
	[TN_ERR_LIST] = { "result", "error-list" },
	[TN_ERROR] = { "result", "error" },
	[TN_ITEM] = { "result", "item-no" },
	[TN_F_REQ] = { "files", "request" },
	[TN_F_RES] = { "files", "result" },
	[TN_F_EXT] = { "files", "extension" },
	[TN_F_ERR] = { "files", "error-extension" },
	[TN_R_INSURER] = { "record", "insurer-no" },
	[TN_R_INSURED] = { "record", "insured-no" },
	[TN_R_CLINIC] = { "record", "clinic-code" },
};

struct terminal_conf {
	char *path;
	char *n[TN__COUNT];
};

static int is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

/* The node after n in document order inside top's subtree (n's children first when into). */
static xmlNodePtr walk_next(xmlNodePtr top, xmlNodePtr n, int into)
{
	if (into && n->type == XML_ELEMENT_NODE && n->children)
		return n->children;
	while (n != top && !n->next)
		n = n->parent;
	return n == top ? NULL : n->next;
}

/* First descendant element of top with the local name name, not looking inside elements named
 * skip (may be NULL). Iterative: the depth of outside input never reaches the C stack. */
static xmlNodePtr find_desc(xmlNodePtr top, const char *name, const char *skip)
{
	for (xmlNodePtr n = walk_next(top, top, 1); n; ) {
		if (is_elem(n, name))
			return n;
		n = walk_next(top, n, !(skip && is_elem(n, skip)));
	}
	return NULL;
}

static int is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Text of an element with XML whitespace around it removed (trim) or kept; caller frees. */
static char *elem_text(xmlNodePtr n, int trim)
{
	xmlChar *c = xmlNodeGetContent(n);
	const char *s = c ? (const char *)c : "";
	size_t len = strlen(s);
	if (trim) {
		while (len && is_xml_space(*s)) {
			s++;
			len--;
		}
		while (len && is_xml_space(s[len - 1]))
			len--;
	}
	char *out = xstrndup(s, len);
	xmlFree(c);
	return out;
}

/* --- terminal.xml --- */

int terminal_conf_load(const char *path, struct terminal_conf **out, struct sbuf *errs)
{
	struct sbuf schema_path = { 0 };
	struct xmlsafe_errs sink = { .out = errs, .path = path, .max = 5 };
	struct terminal_conf *tc = NULL;
	xmlDocPtr doc = NULL;
	int failed = 1;

	*out = NULL;
	/* The schema: form.rng in the same folder, as for the forms. */
	const char *slash = strrchr(path, '/');
	if (slash)
		sbuf_printf(&schema_path, "%.*s/form.rng", (int)(slash - path), path);
	else
		sbuf_puts(&schema_path, "form.rng");
	if (xmlsafe_read_file(path, FORM_MAX_FILE, 0, &sink, &doc) ||
	    xmlsafe_validate(doc, schema_path.s, &sink))
		goto cleanup;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "terminal")) {
		xmlsafe_error(&sink, root->line, "the root element must be <terminal>");
		goto cleanup;
	}
	tc = xcalloc(1, sizeof(*tc));
	tc->path = xstrdup(path);
	for (int i = 0; i < TN__COUNT; i++) {
		for (xmlNodePtr n = root->children; n && !tc->n[i]; n = n->next) {
			if (!is_elem(n, tname_src[i].elem))
				continue;
			xmlChar *v = xmlGetProp(n, (const xmlChar *)tname_src[i].attr);
			if (v && *v)
				tc->n[i] = xstrdup((const char *)v);
			xmlFree(v);
		}
		if (!tc->n[i])
			xmlsafe_error(&sink, root->line, "<%s %s=…> is missing", tname_src[i].elem,
				      tname_src[i].attr);
	}
	if (!sink.count && (strcmp(tc->n[TN_F_REQ], tc->n[TN_F_RES]) == 0 ||
			    strcmp(tc->n[TN_F_EXT], tc->n[TN_F_ERR]) == 0))
		xmlsafe_error(&sink, root->line, "the request and result parts of file names must differ");
	failed = sink.count != 0;
cleanup:
	xmlFreeDoc(doc);
	sbuf_free(&schema_path);
	if (failed) {
		if (!sink.count)
			xmlsafe_error(&sink, 0, "cannot load the terminal names");
		terminal_conf_free(tc);
		return IKEN_EFORM;
	}
	*out = tc;
	return 0;
}

void terminal_conf_free(struct terminal_conf *tc)
{
	if (!tc)
		return;
	for (int i = 0; i < TN__COUNT; i++)
		free(tc->n[i]);
	free(tc->path);
	free(tc);
}

const char *terminal_field(const struct terminal_conf *tc, enum terminal_field which)
{
	switch (which) {
	case TF_INSURER_NO: return tc->n[TN_R_INSURER];
	case TF_INSURED_NO: return tc->n[TN_R_INSURED];
	case TF_CLINIC_CODE: return tc->n[TN_R_CLINIC];
	}
	return "";
}

/* --- file names --- */

/* Characters of a file identifier: they end up in a file name on a Windows share. */
static int valid_file_id(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

void envelope_name(const struct terminal_conf *tc, char kind, const char *prefix, const char *file_id,
		   struct sbuf *out)
{
	sbuf_printf(out, "%s%s%s%s", prefix ? prefix : "", kind == 'r' ? tc->n[TN_F_RES] : tc->n[TN_F_REQ],
		    file_id, kind == 'e' ? tc->n[TN_F_ERR] : tc->n[TN_F_EXT]);
}

void envelope_request_name(const struct terminal_conf *tc, const struct form *f, const char *file_id,
			   struct sbuf *out)
{
	envelope_name(tc, 'q', f->env_prefix, file_id, out);
}

void envelope_result_name(const struct terminal_conf *tc, const struct form *f, const char *file_id,
			  struct sbuf *out)
{
	envelope_name(tc, 'r', f->env_prefix, file_id, out);
}

static int ends_with(const char *s, size_t n, const char *suffix, size_t *stem)
{
	size_t k = strlen(suffix);
	if (n < k || memcmp(s + n - k, suffix, k) != 0)
		return 0;
	*stem = n - k;
	return 1;
}

int envelope_name_parse(const struct terminal_conf *tc, const char *name, char *kind,
			struct sbuf *prefix, struct sbuf *file_id)
{
	const char *req = tc->n[TN_F_REQ], *res = tc->n[TN_F_RES];
	size_t lreq = strlen(req), lres = strlen(res), n = name ? strlen(name) : 0;
	size_t p, rest, stem;
	char k = 0;

	if (n == 0 || name[0] == '.')
		return IKEN_ENOTFOUND;
	/* The prefix is letters and digits; the first place where a request or result part starts
	 * after at least one of them ends it. */
	for (p = 1; p < n; p++) {
		if (strncmp(name + p, req, lreq) == 0) {
			k = 'q';
			rest = p + lreq;
			break;
		}
		if (strncmp(name + p, res, lres) == 0) {
			k = 'r';
			rest = p + lres;
			break;
		}
		if (!is_alnum(name[p]))
			return IKEN_ENOTFOUND;
	}
	if (!k || !is_alnum(name[0]))
		return IKEN_ENOTFOUND;
	if (ends_with(name + rest, n - rest, tc->n[TN_F_EXT], &stem)) {
		/* k stays: a request or a result */
	} else if (k == 'q' && ends_with(name + rest, n - rest, tc->n[TN_F_ERR], &stem)) {
		k = 'e';
	} else {
		return IKEN_ENOTFOUND;
	}
	if (!valid_file_id(name + rest, stem))
		return IKEN_ENOTFOUND;
	if (kind)
		*kind = k;
	if (prefix) {
		sbuf_reset(prefix);
		sbuf_add(prefix, name, p);
	}
	if (file_id) {
		sbuf_reset(file_id);
		sbuf_add(file_id, name + rest, stem);
	}
	return 0;
}

/* --- Base64 (RFC 4648, strict) and SHA-256: OpenSSL --- */

void base64_encode(const void *data, size_t len, struct sbuf *out)
{
	/* EVP_EncodeBlock takes an int and adds no line breaks; whole groups of 3 per call. */
	enum { CHUNK = 3 * 4096 };
	unsigned char enc[4 * (CHUNK / 3) + 1];
	const unsigned char *p = data;
	sbuf_add(out, "", 0);
	while (len) {
		size_t n = len < CHUNK ? len : CHUNK;
		int k = EVP_EncodeBlock(enc, p, (int)n);
		if (k > 0)
			sbuf_add(out, enc, (size_t)k);
		p += n;
		len -= n;
	}
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *s, size_t len, struct sbuf *out)
{
	enum { CHUNK = 4 * 4096 };
	unsigned char dec[3 * (CHUNK / 4)];
	size_t pad = 0;

	/* Validate everything first: OpenSSL's decoder skips whitespace and pads its output
	 * with NUL bytes, and we want neither. */
	if (len % 4)
		return IKEN_EDATA;
	if (len && s[len - 1] == '=')
		pad = s[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++)
		if (b64_value((unsigned char)s[i]) < 0)
			return IKEN_EDATA;
	/* The bits after the last byte must be zero: one encoding per byte string. */
	if (pad == 1 && (b64_value((unsigned char)s[len - 2]) & 0x3))
		return IKEN_EDATA;
	if (pad == 2 && (b64_value((unsigned char)s[len - 3]) & 0xf))
		return IKEN_EDATA;
	sbuf_add(out, "", 0);
	size_t before = out->len;
	for (size_t i = 0; i < len; i += CHUNK) {
		size_t n = len - i < CHUNK ? len - i : CHUNK;
		int k = EVP_DecodeBlock(dec, (const unsigned char *)s + i, (int)n);
		if (k < 0 || (size_t)k != n / 4 * 3) {
			out->len = before;
			out->s[before] = '\0';
			return IKEN_ECRYPTO;
		}
		/* The true length: the padding's bytes are not data. */
		if (i + n == len)
			k -= (int)pad;
		sbuf_add(out, dec, (size_t)k);
	}
	return 0;
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	out[0] = '\0';
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* --- requests --- */

void envelope_hdr_clear(struct envelope_hdr *h)
{
	free(h->clinic_code);
	free(h->file_id);
	free(h->created);
	free(h->doc_class);
	free(h->charset);
	free(h->insurer_no);
	free(h->insured_no);
	free(h->layout_version);
	memset(h, 0, sizeof(*h));
}

/* A value that may go into a header element: valid UTF-8 without control characters. */
static int header_value_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return utf8_valid(s, strlen(s));
}

static void add_text(xmlNodePtr parent, const char *name, const char *value)
{
	/* xmlNewTextChild escapes & < >; xmlNewChild would take the value as markup. */
	xmlNewTextChild(parent, NULL, (const xmlChar *)name, (const xmlChar *)value);
}

/* Serializes doc in encoding (UTF-8: never a BOM) and appends it to out. */
static int dump_doc(xmlDocPtr doc, const char *encoding, struct sbuf *out)
{
	xmlChar *mem = NULL;
	int size = 0;
	xmlDocDumpFormatMemoryEnc(doc, &mem, &size, encoding, 1);
	if (!mem || size <= 0) {
		xmlFree(mem);
		return IKEN_EXML;
	}
	if (size >= 3 && memcmp(mem, "\xEF\xBB\xBF", 3) == 0) {
		/* libxml2 writes none; a change there must not slip through unnoticed. */
		xmlFree(mem);
		return IKEN_EXML;
	}
	sbuf_add(out, mem, (size_t)size);
	xmlFree(mem);
	return 0;
}

int envelope_build(const struct terminal_conf *tc, const struct form *f, const struct record *r,
		   const char *clinic_code, const char *file_id, time_t now, struct sbuf *xml)
{
	struct sbuf csv = { 0 }, b64 = { 0 };
	struct record *copy = NULL;
	xmlDocPtr doc = NULL;
	char created[15];
	int rc = IKEN_EDATA;

	if (!f->env_prefix || !f->env_doc_class || !clinic_code || !*clinic_code ||
	    !header_value_ok(clinic_code) || !file_id || !valid_file_id(file_id, strlen(file_id)))
		goto cleanup;
	copy = rec_dup(r);
	docio_fill_send(f, copy, now);
	docio_record_csv(f, copy, 1, &csv);
	base64_encode(csv.s, csv.len, &b64);
	iken_ymdhms(now, created);
	const char *insurer = rec_val(copy, tc->n[TN_R_INSURER]);
	const char *insured = rec_val(copy, tc->n[TN_R_INSURED]);
	if (!header_value_ok(insurer) || !header_value_ok(insured))
		goto cleanup;

	doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)tc->n[TN_ROOT], NULL);
	xmlDocSetRootElement(doc, root);
	xmlNodePtr h = xmlNewChild(root, NULL, (const xmlChar *)tc->n[TN_HEADER], NULL);
	add_text(h, tc->n[TN_CLINIC], clinic_code);
	add_text(h, tc->n[TN_FILE_ID], file_id);
	add_text(h, tc->n[TN_CREATED], created);
	add_text(h, tc->n[TN_DOC_CLASS], f->env_doc_class);
	add_text(h, tc->n[TN_CHARSET], "0");
	xmlNodePtr b = xmlNewChild(root, NULL, (const xmlChar *)tc->n[TN_BODY], NULL);
	add_text(b, tc->n[TN_INSURER], insurer);
	add_text(b, tc->n[TN_INSURED], insured);
	add_text(b, tc->n[TN_LAYOUT], f->layout_version ? f->layout_version : "");
	add_text(b, tc->n[TN_DATA], b64.s);
	rc = dump_doc(doc, "UTF-8", xml);
cleanup:
	xmlFreeDoc(doc);
	rec_free(copy);
	sbuf_free(&csv);
	sbuf_free(&b64);
	return rc;
}

static char *need_text(xmlNodePtr top, const char *name, const char *skip, int trim,
		       struct xmlsafe_errs *sink)
{
	xmlNodePtr n = find_desc(top, name, skip);
	if (!n) {
		xmlsafe_error(sink, 0, "<%s> is missing", name);
		return NULL;
	}
	return elem_text(n, trim);
}

int envelope_parse(const struct terminal_conf *tc, const char *buf, size_t len,
		   struct envelope_hdr *hdr, struct sbuf *csv, struct sbuf *err)
{
	struct xmlsafe_errs sink = { .out = err, .max = 5 };
	xmlDocPtr doc = NULL;
	char *data = NULL;
	int rc;

	memset(hdr, 0, sizeof(*hdr));
	/* the size first: the checks below read the whole buffer */
	rc = xmlsafe_check_size(len, ENVELOPE_MAX_FILE, &sink);
	if (rc)
		return rc;
	rc = IKEN_EDATA;
	if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
		xmlsafe_error(&sink, 0, "the file starts with a byte order mark (BOM); UTF-8 without BOM is required");
		goto cleanup;
	}
	if (!utf8_valid(buf, len)) {
		xmlsafe_error(&sink, 0, "the file is not valid UTF-8 (or holds a NUL byte)");
		goto cleanup;
	}
	rc = xmlsafe_read(buf, len, ENVELOPE_MAX_FILE, NULL, 0, &sink, &doc);
	if (rc)
		goto cleanup;
	rc = IKEN_EDATA;
	if (doc->encoding && strcasecmp((const char *)doc->encoding, "UTF-8") != 0) {
		xmlsafe_error(&sink, 1, "the XML declaration says encoding=\"%s\"; UTF-8 is required",
			      (const char *)doc->encoding);
		goto cleanup;
	}
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!is_elem(root, tc->n[TN_ROOT])) {
		xmlsafe_error(&sink, root->line, "the root element is <%s>, not <%s>", (const char *)root->name,
			      tc->n[TN_ROOT]);
		goto cleanup;
	}
	xmlNodePtr h = find_desc(root, tc->n[TN_HEADER], NULL);
	xmlNodePtr b = find_desc(root, tc->n[TN_BODY], NULL);
	if (!h || !b) {
		xmlsafe_error(&sink, root->line, "<%s> is missing", tc->n[h ? TN_BODY : TN_HEADER]);
		goto cleanup;
	}
	hdr->clinic_code = need_text(h, tc->n[TN_CLINIC], NULL, 1, &sink);
	hdr->file_id = need_text(h, tc->n[TN_FILE_ID], NULL, 1, &sink);
	hdr->created = need_text(h, tc->n[TN_CREATED], NULL, 1, &sink);
	hdr->doc_class = need_text(h, tc->n[TN_DOC_CLASS], NULL, 1, &sink);
	hdr->charset = need_text(h, tc->n[TN_CHARSET], NULL, 1, &sink);
	hdr->insurer_no = need_text(b, tc->n[TN_INSURER], NULL, 1, &sink);
	hdr->insured_no = need_text(b, tc->n[TN_INSURED], NULL, 1, &sink);
	hdr->layout_version = need_text(b, tc->n[TN_LAYOUT], NULL, 1, &sink);
	/* DocumentData exactly as it is: whitespace inside is an error of the file, not ours to
	 * forgive. */
	data = need_text(b, tc->n[TN_DATA], NULL, 0, &sink);
	if (sink.count)
		goto cleanup;
	size_t before = csv->len;
	int brc = base64_decode(data, strlen(data), csv);
	if (brc) {
		csv->len = before;
		if (csv->s)
			csv->s[before] = '\0';
		xmlsafe_error(&sink, 0, "<%s> is not valid Base64 (RFC 4648 with padding, no line breaks)",
			      tc->n[TN_DATA]);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc)
		envelope_hdr_clear(hdr);
	free(data);
	xmlFreeDoc(doc);
	return rc;
}

/* --- results --- */

void result_clear(struct result *r)
{
	free(r->clinic_code);
	free(r->file_id);
	free(r->exec_time);
	free(r->hdr_error_code);
	free(r->hdr_error_message);
	free(r->code);
	free(r->message);
	free(r->reception_no);
	for (size_t i = 0; i < r->nerrors; i++) {
		free(r->errors[i].code);
		free(r->errors[i].message);
	}
	free(r->errors);
	memset(r, 0, sizeof(*r));
}

/* A whole number of at most 9 digits (no sign, no spaces: the text is trimmed before). */
static int parse_small_int(const char *s, int *out)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 9 || s[n])
		return -1;
	*out = atoi(s);
	return 0;
}

/* The encoding a result's XML declaration names, when it is a Shift_JIS one: those are decoded
 * as CP932, the Windows superset the terminal's software writes (①, ～ and the NEC/IBM
 * extensions would otherwise make the whole file unreadable). NULL: let libxml2 decide. */
static const char *sjis_override(const char *buf, size_t len)
{
	static const char *const names[] = {
		"Shift_JIS", "Shift-JIS", "SJIS", "x-sjis", "MS_Kanji", "csShiftJIS",
		"Windows-31J", "CP932", "MS932",
	};
	size_t n = len < 256 ? len : 256;
	if (n < 6 || memcmp(buf, "<?xml", 5) != 0)
		return NULL;
	const char *end = memmem(buf, n, "?>", 2);
	const char *e = memmem(buf, end ? (size_t)(end - buf) : n, "encoding", 8);
	if (!end || !e)
		return NULL;
	e += 8;
	while (e < end && is_xml_space(*e))
		e++;
	if (e >= end || *e++ != '=')
		return NULL;
	while (e < end && is_xml_space(*e))
		e++;
	if (e >= end || (*e != '"' && *e != '\''))
		return NULL;
	char q = *e++;
	const char *v = e;
	while (e < end && *e != q)
		e++;
	if (e >= end)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == (size_t)(e - v) && strncasecmp(v, names[i], (size_t)(e - v)) == 0)
			return "CP932";
	return NULL;
}

/* CP932 maps a few Shift_JIS bytes to other code points than JIS X 0208 does (0x8160 to ～
 * U+FF5E rather than 〜 U+301C, …): text of a Shift_JIS result is brought back to the JIS
 * characters, as typed text is before sending. */
static void jis_normalize(char **s)
{
	if (!*s)
		return;
	struct sbuf out = { 0 };
	const char *p = *s, *end = *s + strlen(*s);
	sbuf_add(&out, "", 0);
	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		utf8_put(&out, cp < 0 ? 0xFFFD : charset_jis_normalize((uint32_t)cp));
	}
	free(*s);
	*s = sbuf_take(&out);
}

static char *opt_text(xmlNodePtr top, const char *name, const char *skip)
{
	xmlNodePtr n = find_desc(top, name, skip);
	return n ? elem_text(n, 1) : NULL;
}

int result_parse(const struct terminal_conf *tc, const char *buf, size_t len, struct result *out,
		 struct sbuf *err)
{
	struct xmlsafe_errs sink = { .out = err, .max = 5 };
	const char *skip = tc->n[TN_ERR_LIST];
	xmlDocPtr doc = NULL;
	char *seg = NULL, *status = NULL, *charset = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	const char *enc = len <= ENVELOPE_MAX_FILE ? sjis_override(buf, len) : NULL;
	rc = xmlsafe_read(buf, len, ENVELOPE_MAX_FILE, enc, 0, &sink, &doc);
	if (rc)
		goto cleanup;
	rc = IKEN_EDATA;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!is_elem(root, tc->n[TN_ROOT])) {
		xmlsafe_error(&sink, root->line, "the root element is <%s>, not <%s>", (const char *)root->name,
			      tc->n[TN_ROOT]);
		goto cleanup;
	}
	out->charset = enc ? 1 : 0;
	out->clinic_code = opt_text(root, tc->n[TN_CLINIC], skip);
	out->file_id = need_text(root, tc->n[TN_FILE_ID], skip, 1, &sink);
	out->exec_time = opt_text(root, tc->n[TN_EXEC_TIME], skip);
	out->hdr_error_code = opt_text(root, tc->n[TN_ERR_CODE], skip);
	out->hdr_error_message = opt_text(root, tc->n[TN_ERR_MSG], skip);
	out->code = opt_text(root, tc->n[TN_RES_CODE], skip);
	out->message = opt_text(root, tc->n[TN_RES_MSG], skip);
	out->reception_no = opt_text(root, tc->n[TN_RECEPTION], skip);
	seg = need_text(root, tc->n[TN_SEGMENT], skip, 1, &sink);
	status = opt_text(root, tc->n[TN_STATUS], skip);
	charset = opt_text(root, tc->n[TN_CHARSET], skip);
	if (out->file_id && !*out->file_id)
		xmlsafe_error(&sink, 0, "<%s> is empty", tc->n[TN_FILE_ID]);
	if (seg && parse_small_int(seg, &out->segment))
		xmlsafe_error(&sink, 0, "<%s> is not a number: %.40s", tc->n[TN_SEGMENT], seg);
	if (status && *status && parse_small_int(status, &out->status))
		xmlsafe_error(&sink, 0, "<%s> is not a number: %.40s", tc->n[TN_STATUS], status);
	if (charset && *charset && parse_small_int(charset, &out->charset))
		xmlsafe_error(&sink, 0, "<%s> is not a number: %.40s", tc->n[TN_CHARSET], charset);

	xmlNodePtr list = find_desc(root, tc->n[TN_ERR_LIST], NULL);
	for (xmlNodePtr n = list ? walk_next(list, list, 1) : NULL; n; ) {
		int is_error = is_elem(n, tc->n[TN_ERROR]);
		if (is_error) {
			out->errors = xrealloc(out->errors, (out->nerrors + 1) * sizeof(*out->errors));
			struct result_error *e = &out->errors[out->nerrors++];
			memset(e, 0, sizeof(*e));
			char *item = opt_text(n, tc->n[TN_ITEM], NULL);
			if (item && *item && parse_small_int(item, &e->item))
				xmlsafe_error(&sink, n->line, "<%s> %zu: <%s> is not a number: %.40s",
					      tc->n[TN_ERROR], out->nerrors, tc->n[TN_ITEM], item);
			free(item);
			e->code = opt_text(n, tc->n[TN_ERR_CODE], NULL);
			e->message = opt_text(n, tc->n[TN_ERR_MSG], NULL);
		}
		n = walk_next(list, n, !is_error);
	}
	if (enc) {
		jis_normalize(&out->hdr_error_message);
		jis_normalize(&out->message);
		for (size_t i = 0; i < out->nerrors; i++)
			jis_normalize(&out->errors[i].message);
	}
	if (!sink.count)
		rc = 0;
cleanup:
	if (rc)
		result_clear(out);
	free(seg);
	free(status);
	free(charset);
	xmlFreeDoc(doc);
	return rc;
}

int result_build(const struct terminal_conf *tc, const struct result *r, int shift_jis,
		 struct sbuf *xml)
{
	char num[16];
	xmlDocPtr doc = xmlNewDoc((const xmlChar *)"1.0");
	xmlNodePtr root = xmlNewDocNode(doc, NULL, (const xmlChar *)tc->n[TN_ROOT], NULL);
	xmlDocSetRootElement(doc, root);
	xmlNodePtr h = xmlNewChild(root, NULL, (const xmlChar *)tc->n[TN_HEADER], NULL);
	if (r->clinic_code)
		add_text(h, tc->n[TN_CLINIC], r->clinic_code);
	add_text(h, tc->n[TN_FILE_ID], r->file_id ? r->file_id : "");
	if (r->exec_time)
		add_text(h, tc->n[TN_EXEC_TIME], r->exec_time);
	snprintf(num, sizeof(num), "%d", r->segment);
	add_text(h, tc->n[TN_SEGMENT], num);
	if (r->hdr_error_code)
		add_text(h, tc->n[TN_ERR_CODE], r->hdr_error_code);
	if (r->hdr_error_message)
		add_text(h, tc->n[TN_ERR_MSG], r->hdr_error_message);
	add_text(h, tc->n[TN_CHARSET], shift_jis ? "1" : "0");
	xmlNodePtr b = xmlNewChild(root, NULL, (const xmlChar *)tc->n[TN_BODY], NULL);
	if (r->status) {
		snprintf(num, sizeof(num), "%d", r->status);
		add_text(b, tc->n[TN_STATUS], num);
	}
	if (r->code)
		add_text(b, tc->n[TN_RES_CODE], r->code);
	if (r->message)
		add_text(b, tc->n[TN_RES_MSG], r->message);
	if (r->reception_no)
		add_text(b, tc->n[TN_RECEPTION], r->reception_no);
	if (r->nerrors) {
		xmlNodePtr list = xmlNewChild(b, NULL, (const xmlChar *)tc->n[TN_ERR_LIST], NULL);
		for (size_t i = 0; i < r->nerrors; i++) {
			const struct result_error *e = &r->errors[i];
			xmlNodePtr en = xmlNewChild(list, NULL, (const xmlChar *)tc->n[TN_ERROR], NULL);
			snprintf(num, sizeof(num), "%d", e->item);
			add_text(en, tc->n[TN_ITEM], num);
			add_text(en, tc->n[TN_ERR_CODE], e->code ? e->code : "");
			add_text(en, tc->n[TN_ERR_MSG], e->message ? e->message : "");
		}
	}
	int rc = dump_doc(doc, shift_jis ? "Shift_JIS" : "UTF-8", xml);
	xmlFreeDoc(doc);
	return rc;
}

const char *terminal_data_element(const struct terminal_conf *tc)
{
	return tc->n[TN_DATA];
}
