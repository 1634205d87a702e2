#include "config.h"
#include "xmlsafe.h"
#include "errcode.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>

/* Both are format strings checked by the compiler. */
#define L(e, ja_text, en_text) ((e)->ja ? (ja_text) : (en_text))

static void put_line(struct xmlsafe_errs *e, const char *file, int line, const char *msg, size_t n)
{
	if (!e->out)
		return;
	if (file)
		sbuf_printf(e->out, "%s:%d: %.*s\n", file, line, (int)n, msg);
	else if (line > 0)
		sbuf_printf(e->out, L(e, "%d行目: %.*s\n", "line %d: %.*s\n"), line, (int)n, msg);
	else
		sbuf_printf(e->out, "%.*s\n", (int)n, msg);
}

void xmlsafe_error(struct xmlsafe_errs *e, int line, const char *fmt, ...)
{
	struct sbuf m = { 0 };
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&m, fmt, ap);
	va_end(ap);
	put_line(e, e->path, line, m.s ? m.s : "", m.len);
	sbuf_free(&m);
	e->count++;
}

static void error_cb(void *ctx, xmlErrorPtr err)
{
	struct xmlsafe_errs *e = ctx;
	if (!err || err->level == XML_ERR_WARNING)
		return;
	/* A few messages say why; a broken file can produce thousands. */
	if (e->max && e->count >= e->max) {
		e->count++;
		return;
	}
	const char *msg = err->message ? err->message : "error";
	size_t n = strcspn(msg, "\n"); /* one line: libxml2 adds detail lines ("Bytes: 0x…") */
	while (n && msg[n - 1] == ' ')
		n--;
	put_line(e, err->file ? err->file : e->path, err->line, msg, n);
	e->count++;
}

struct reading {
	struct xmlsafe_errs *e;
	const char *buf;
	size_t len;
	int truncated;  /* the input stops inside the document */
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Nothing but white space and an XML declaration: a file cut before its root element (libxml2
 * says "document empty" for any text without a '<' as well). */
static int only_prolog(const char *s, size_t len)
{
	const char *end = s + len;
	while (s < end && is_space(*s))
		s++;
	if (end - s >= 5 && memcmp(s, "<?xml", 5) == 0) {
		const char *q = memmem(s, (size_t)(end - s), "?>", 2);
		s = q ? q + 2 : end;
	}
	while (s < end && is_space(*s))
		s++;
	return s == end;
}

/* What libxml2 says when the input stops inside the document. */
static int says_truncated(const struct reading *r, int code)
{
	switch (code) {
	case XML_ERR_TAG_NOT_FINISHED:
	case XML_ERR_COMMENT_NOT_FINISHED:
	case XML_ERR_PI_NOT_FINISHED:
		return 1;
	case XML_ERR_DOCUMENT_EMPTY:
		return only_prolog(r->buf, r->len);
	default:
		return 0;
	}
}

static void read_error_cb(void *ctx, xmlErrorPtr err)
{
	struct reading *r = ctx;
	if (err && says_truncated(r, err->code))
		r->truncated = 1;
	error_cb(r->e, err);
}

static int too_large(struct xmlsafe_errs *e, size_t max)
{
	xmlsafe_error(e, 0, L(e, "ファイルが大きすぎます (%zu MiBを超えています)",
			      "the file is too large (more than %zu MiB)"), max / (1024 * 1024));
	return IKEN_ELIMIT;
}

int xmlsafe_check_size(size_t len, size_t max, struct xmlsafe_errs *e)
{
	return len > max ? too_large(e, max) : 0;
}

int xmlsafe_read(const char *buf, size_t len, size_t max, const char *encoding, int flags,
		 struct xmlsafe_errs *e, xmlDocPtr *out)
{
	struct reading r = { e, buf, len, 0 };
	int before = e->count;
	*out = NULL;
	if (xmlsafe_check_size(len, max, e))
		return IKEN_ELIMIT;
	if (len == 0) {
		xmlsafe_error(e, 0, "%s", L(e, "ファイルが空です", "the file is empty"));
		return IKEN_EXML;
	}
	/* No XML_PARSE_DTDLOAD, XML_PARSE_NOENT or XML_PARSE_DTDVALID: nothing is fetched or
	 * substituted. */
	xmlSetStructuredErrorFunc(&r, read_error_cb);
	xmlDocPtr doc = xmlReadMemory(buf, (int)len, e->path, encoding, XML_PARSE_NONET);
	xmlSetStructuredErrorFunc(NULL, NULL);
	if (!doc) {
		const char *why = r.truncated ?
			L(e, "ファイルが途中で終わっています (壊れているか、書き込み中です)",
			  "the file ends too early (truncated, or still being written)") :
			L(e, "XMLとして正しくありません", "not well-formed XML");
		if (r.truncated || e->count == before)
			xmlsafe_error(e, 0, "%s", why);
		return IKEN_EXML;
	}
	/* Where no DTD is needed none is allowed, so that no entity trick can work. */
	if (!(flags & XMLSAFE_ALLOW_DTD) && (doc->intSubset || doc->extSubset)) {
		xmlsafe_error(e, 0, "%s", L(e, "DTD (<!DOCTYPE …>) は使えません",
					   "a DTD (<!DOCTYPE …>) is not allowed"));
		xmlFreeDoc(doc);
		return IKEN_EXML;
	}
	if (!xmlDocGetRootElement(doc)) {
		xmlsafe_error(e, 0, "%s", L(e, "ルート要素がありません", "no root element"));
		xmlFreeDoc(doc);
		return IKEN_EXML;
	}
	*out = doc;
	return 0;
}

int xmlsafe_read_file(const char *path, size_t max, int flags, struct xmlsafe_errs *e,
		      xmlDocPtr *out)
{
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = read_file(path, max, &buf, &len);
	if (rc == IKEN_ELIMIT)
		too_large(e, max);
	else if (rc)
		xmlsafe_error(e, 0, "%s", iken_strerror(rc));
	else
		rc = xmlsafe_read(buf, len, max, NULL, flags, e, out);
	free(buf);
	return rc;
}

int xmlsafe_validate(xmlDocPtr doc, const char *schema_path, struct xmlsafe_errs *e)
{
	struct xmlsafe_errs se = { e->out, schema_path, e->max, e->ja, 0 };
	xmlDocPtr sdoc = NULL;
	xmlRelaxNGParserCtxtPtr pctx = NULL;
	xmlRelaxNGPtr schema = NULL;
	xmlRelaxNGValidCtxtPtr vctx = NULL;
	int before = e->count, rc = IKEN_EXML;

	if (xmlsafe_read_file(schema_path, XMLSAFE_SCHEMA_MAX, 0, &se, &sdoc))
		goto cleanup;
	pctx = xmlRelaxNGNewDocParserCtxt(sdoc);
	xmlRelaxNGSetParserStructuredErrors(pctx, error_cb, &se);
	schema = xmlRelaxNGParse(pctx);
	if (!schema)
		goto cleanup;
	vctx = xmlRelaxNGNewValidCtxt(schema);
	xmlRelaxNGSetValidStructuredErrors(vctx, error_cb, e);
	if (xmlRelaxNGValidateDoc(vctx, doc) == 0)
		rc = 0;
	else if (e->count == before)
		xmlsafe_error(e, 0, L(e, "スキーマ %s に合いません", "does not match the schema %s"),
			      schema_path);
cleanup:
	if (se.count)
		e->count += se.count;
	else if (rc && !schema)
		xmlsafe_error(e, 0, L(e, "スキーマ %s を読めません", "cannot read the schema %s"),
			      schema_path);
	xmlRelaxNGFreeValidCtxt(vctx);
	xmlRelaxNGFree(schema);
	xmlRelaxNGFreeParserCtxt(pctx);
	xmlFreeDoc(sdoc);
	return rc;
}
