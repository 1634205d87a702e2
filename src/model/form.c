#include "config.h"
#include "model/form.h"
#include "errcode.h"
#include "xmlsafe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libxml/tree.h>

static const char *const ftype_names[FT__COUNT] = {
	"digits", "alnum", "phone", "text", "textarea", "kana", "date", "pdate",
	"code", "bits", "decimal", "yen",
};

const char *ftype_name(enum ftype t)
{
	return (unsigned)t < FT__COUNT ? ftype_names[t] : "?";
}

/* --- tree helpers --- */

static int is_elem(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, (const xmlChar *)name) == 0;
}

/* Attribute value copied (caller frees), or NULL. */
static char *attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	if (!v)
		return NULL;
	char *s = xstrdup((const char *)v);
	xmlFree(v);
	return s;
}

static char *attr_or(xmlNodePtr n, const char *name, const char *dflt)
{
	char *s = attr(n, name);
	return s ? s : (dflt ? xstrdup(dflt) : NULL);
}

static int attr_int(xmlNodePtr n, const char *name, int dflt)
{
	char *s = attr(n, name);
	if (!s)
		return dflt;
	int v = atoi(s);
	free(s);
	return v;
}

static int attr_yes(xmlNodePtr n, const char *name)
{
	char *s = attr(n, name);
	int v = s && (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
	free(s);
	return v;
}

/* Splits a space-separated list into a NULL-terminated vector (caller frees each and it). */
static char **split_words(const char *s, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0;
	while (s && *s) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		const char *e = s;
		while (*e && *e != ' ' && *e != '\t' && *e != '\n')
			e++;
		if (e > s) {
			v = xrealloc(v, (cnt + 2) * sizeof(*v));
			v[cnt++] = xstrndup(s, (size_t)(e - s));
			v[cnt] = NULL;
		}
		s = e;
	}
	*n = cnt;
	return v;
}

static void free_words(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* --- loading a form --- */

struct loader {
	struct form *f;
	struct xmlsafe_errs *sink;
	size_t fcap;
};

static const struct codelist *find_codelist(const struct form *f, const char *id)
{
	for (size_t i = 0; i < f->ncodelists; i++)
		if (strcmp(f->codelists[i].id, id) == 0)
			return &f->codelists[i];
	return NULL;
}

static void load_codelist(struct loader *ld, xmlNodePtr n)
{
	struct form *f = ld->f;
	f->codelists = xrealloc(f->codelists, (f->ncodelists + 1) * sizeof(*f->codelists));
	struct codelist *cl = &f->codelists[f->ncodelists++];
	memset(cl, 0, sizeof(*cl));
	cl->id = attr_or(n, "id", "");
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (!is_elem(c, "code"))
			continue;
		cl->codes = xrealloc(cl->codes, (cl->n + 1) * sizeof(*cl->codes));
		struct code *code = &cl->codes[cl->n++];
		code->value = attr_or(c, "value", "");
		code->label = attr_or(c, "label", "");
		code->label_en = attr_or(c, "label-en", code->label);
		for (size_t i = 0; i + 1 < cl->n; i++)
			if (strcmp(cl->codes[i].value, code->value) == 0)
				xmlsafe_error(ld->sink, c->line, "code list %s: value %s appears twice",
					      cl->id, code->value);
	}
}

static int parse_type(const char *s, enum ftype *t)
{
	for (int i = 0; i < FT__COUNT; i++) {
		if (s && strcmp(s, ftype_names[i]) == 0) {
			*t = (enum ftype)i;
			return 0;
		}
	}
	return -1;
}

static const char *const fill_names[] = { "", "format-version", "soft-name", "timestamp", "sent-date" };

static void load_field(struct loader *ld, xmlNodePtr n, int page, int section)
{
	struct form *f = ld->f;
	if (f->nfields == ld->fcap) {
		ld->fcap = ld->fcap ? ld->fcap * 2 : 64;
		f->fields = xrealloc(f->fields, ld->fcap * sizeof(*f->fields));
	}
	struct field *fld = &f->fields[f->nfields++];
	memset(fld, 0, sizeof(*fld));
	fld->line = n->line;
	fld->page = page;
	fld->section = section;
	fld->no = attr_int(n, "no", 0);
	fld->id = attr_or(n, "id", "");
	fld->label = attr_or(n, "label", fld->id);
	fld->label_en = attr_or(n, "label-en", fld->label);
	char *type = attr(n, "type");
	if (parse_type(type, &fld->type))
		xmlsafe_error(ld->sink, n->line, "field %s: unknown type %s", fld->id, type ? type : "");
	free(type);
	fld->length = attr_int(n, "length", 0);
	fld->max = attr_int(n, "max", -1);
	fld->required = attr_yes(n, "required");
	fld->min_value = attr(n, "min-value");
	fld->max_value = attr(n, "max-value");
	fld->digit_values = attr(n, "digit-values");
	char *fill = attr(n, "fill");
	if (fill) {
		for (size_t i = 1; i < ARRAY_SIZE(fill_names); i++)
			if (strcmp(fill, fill_names[i]) == 0)
				fld->fill = (enum fill_kind)i;
		if (fld->fill == FILL_NONE)
			xmlsafe_error(ld->sink, n->line, "field %s: unknown fill %s", fld->id,
				      fill);
		free(fill);
	}
	fld->fill_from = attr(n, "fill-from");
	fld->prefill = attr(n, "prefill");
	fld->index = attr(n, "index");
	fld->help = attr(n, "help");
	fld->help_en = attr(n, "help-en");
	fld->width = attr_int(n, "width", 0);
	fld->rows = attr_int(n, "rows", 0);
	/* code lists are resolved after the whole file is read (they may come later) */
	fld->codes = NULL;
	if (fld->type == FT_BITS) {
		size_t nb = 0;
		for (xmlNodePtr c = n->children; c; c = c->next)
			if (is_elem(c, "bit"))
				nb++;
		fld->bit_labels = xcalloc(nb + 1, sizeof(char *));
		fld->bit_labels_en = xcalloc(nb + 1, sizeof(char *));
		size_t i = 0;
		for (xmlNodePtr c = n->children; c; c = c->next) {
			if (!is_elem(c, "bit"))
				continue;
			fld->bit_labels[i] = attr_or(c, "label", "");
			fld->bit_labels_en[i] = attr_or(c, "label-en", fld->bit_labels[i]);
			i++;
		}
		if ((int)nb != fld->length)
			xmlsafe_error(ld->sink, n->line, "field %s: length %d but %zu <bit> boxes", fld->id,
				      fld->length, nb);
	}
}

static void load_pages(struct loader *ld, xmlNodePtr root)
{
	struct form *f = ld->f;
	for (xmlNodePtr p = root->children; p; p = p->next) {
		if (!is_elem(p, "page"))
			continue;
		f->pages = xrealloc(f->pages, (f->npages + 1) * sizeof(*f->pages));
		struct page *pg = &f->pages[f->npages++];
		memset(pg, 0, sizeof(*pg));
		pg->title = attr_or(p, "title", "");
		pg->title_en = attr_or(p, "title-en", pg->title);
		for (xmlNodePtr s = p->children; s; s = s->next) {
			if (!is_elem(s, "section"))
				continue;
			pg->sections = xrealloc(pg->sections, (pg->nsections + 1) * sizeof(*pg->sections));
			struct section *sec = &pg->sections[pg->nsections++];
			sec->title = attr_or(s, "title", "");
			sec->title_en = attr_or(s, "title-en", sec->title);
			sec->first = f->nfields;
			for (xmlNodePtr fl = s->children; fl; fl = fl->next)
				if (is_elem(fl, "field"))
					load_field(ld, fl, (int)f->npages - 1, (int)pg->nsections - 1);
			sec->count = f->nfields - sec->first;
		}
	}
}

static const struct field *need_field(struct loader *ld, const char *id, int line, const char *what)
{
	if (!id) {
		xmlsafe_error(ld->sink, line, "%s: missing field", what);
		return NULL;
	}
	const struct field *fld = form_field(ld->f, id);
	if (!fld)
		xmlsafe_error(ld->sink, line, "%s: no field %s", what, id);
	return fld;
}

/* Resolves "id" or "id[n]". */
static int resolve_ref(struct loader *ld, const char *s, int line, struct fref *out)
{
	const char *br = strchr(s, '[');
	char *id = br ? xstrndup(s, (size_t)(br - s)) : xstrdup(s);
	out->field = need_field(ld, id, line, "reference");
	out->digit = br ? atoi(br + 1) : 0;
	free(id);
	if (!out->field)
		return -1;
	if (br) {
		enum ftype t = out->field->type;
		int len = out->field->length;
		if ((t != FT_BITS && t != FT_DIGITS) || out->digit < 1 || out->digit > len) {
			xmlsafe_error(ld->sink, line, "reference %s: %s has no digit %d", s,
				      out->field->id, out->digit);
			return -1;
		}
	}
	return 0;
}

static struct fref *resolve_refs(struct loader *ld, const char *list, int line, size_t *n)
{
	size_t cnt;
	char **w = split_words(list, &cnt);
	struct fref *refs = xcalloc(cnt, sizeof(*refs));
	for (size_t i = 0; i < cnt; i++)
		resolve_ref(ld, w[i], line, &refs[i]);
	free_words(w, cnt);
	if (cnt == 0)
		xmlsafe_error(ld->sink, line, "empty list of fields");
	*n = cnt;
	return refs;
}

static void load_cond(struct loader *ld, xmlNodePtr n, struct cond *c, int needed)
{
	char *when = attr(n, "when");
	if (!when) {
		if (needed)
			xmlsafe_error(ld->sink, n->line, "<%s> needs a when= condition", n->name);
		return;
	}
	resolve_ref(ld, when, n->line, &c->ref);
	free(when);
	static const struct { const char *name; enum cond_op op; } ops[] = {
		{ "eq", COND_EQ }, { "ne", COND_NE }, { "set", COND_SET }, { "empty", COND_EMPTY },
	};
	int found = 0;
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		char *v = attr(n, ops[i].name);
		if (!v)
			continue;
		found++;
		c->op = ops[i].op;
		if (ops[i].op == COND_EQ || ops[i].op == COND_NE)
			c->value = v;
		else
			free(v);
	}
	if (found != 1)
		xmlsafe_error(ld->sink, n->line, "the condition needs exactly one of eq, ne, set, empty");
}

static const struct {
	const char *elem;
	enum rule_kind kind;
} rule_elems[] = {
	{ "required-when", RULE_REQUIRED_WHEN },
	{ "empty-when", RULE_EMPTY_WHEN },
	{ "at-least-one-of", RULE_AT_LEAST_ONE },
	{ "exclusive", RULE_EXCLUSIVE },
	{ "date-order", RULE_DATE_ORDER },
	{ "range", RULE_RANGE },
};

static const struct {
	const char *kind;
	enum rule_kind rule;
} derive_kinds[] = {
	{ "age", RULE_DERIVE_AGE },
	{ "any-set", RULE_DERIVE_ANY_SET },
	{ "sum", RULE_DERIVE_SUM },
	{ "fee", RULE_DERIVE_FEE },
	{ "tax", RULE_DERIVE_TAX },
};

static void load_rule(struct loader *ld, xmlNodePtr n)
{
	struct form *f = ld->f;
	struct rule r = { 0 };
	int known = 0;
	r.line = n->line;
	r.message = attr(n, "message");
	r.message_en = attr(n, "message-en");
	for (size_t i = 0; i < ARRAY_SIZE(rule_elems); i++)
		if (is_elem(n, rule_elems[i].elem)) {
			r.kind = rule_elems[i].kind;
			known = 1;
		}
	char *kind = NULL, *s = NULL;
	if (is_elem(n, "derive")) {
		kind = attr(n, "kind");
		for (size_t i = 0; kind && i < ARRAY_SIZE(derive_kinds); i++)
			if (strcmp(kind, derive_kinds[i].kind) == 0) {
				r.kind = derive_kinds[i].rule;
				known = 1;
			}
		if (!known)
			xmlsafe_error(ld->sink, n->line, "unknown derive kind %s",
				      kind ? kind : "");
	} else if (!known) {
		xmlsafe_error(ld->sink, n->line, "unknown rule <%s>", n->name);
	}
	if (!known)
		goto out;
	switch (r.kind) {
	case RULE_REQUIRED_WHEN:
	case RULE_EMPTY_WHEN:
		s = attr(n, "field");
		r.field = need_field(ld, s, n->line, (const char *)n->name);
		load_cond(ld, n, &r.cond, 1);
		break;
	case RULE_AT_LEAST_ONE:
		s = attr(n, "refs");
		r.refs = resolve_refs(ld, s, n->line, &r.nrefs);
		load_cond(ld, n, &r.cond, 0);
		if (r.nrefs)
			r.field = r.refs[0].field;
		break;
	case RULE_EXCLUSIVE:
		s = attr(n, "ref");
		if (s && resolve_ref(ld, s, n->line, &r.ref) == 0)
			r.field = r.ref.field;
		free(s);
		s = attr(n, "others");
		r.refs = resolve_refs(ld, s, n->line, &r.nrefs);
		break;
	case RULE_DATE_ORDER: {
		s = attr(n, "before");
		r.field = need_field(ld, s, n->line, "date-order before");
		char *after = attr(n, "after");
		if (after && strcmp(after, "@today") != 0)
			r.field2 = need_field(ld, after, n->line, "date-order after");
		else if (!after)
			xmlsafe_error(ld->sink, n->line, "date-order needs after=");
		free(after);
		r.strict = attr_yes(n, "strict");
		break;
	}
	case RULE_RANGE:
		s = attr(n, "field");
		r.field = need_field(ld, s, n->line, "range");
		r.min = attr(n, "min");
		r.max = attr(n, "max");
		break;
	case RULE_DERIVE_AGE: {
		s = attr(n, "field");
		r.field = need_field(ld, s, n->line, "derive");
		char *from = attr(n, "from"), *at = attr(n, "at");
		r.refs = xcalloc(1, sizeof(*r.refs));
		r.nrefs = 1;
		r.refs[0].field = need_field(ld, from, n->line, "derive age from");
		r.field2 = need_field(ld, at, n->line, "derive age at");
		free(from);
		free(at);
		break;
	}
	case RULE_DERIVE_ANY_SET:
	case RULE_DERIVE_SUM: {
		s = attr(n, "field");
		r.field = need_field(ld, s, n->line, "derive");
		char *from = attr(n, "from");
		r.refs = resolve_refs(ld, from, n->line, &r.nrefs);
		free(from);
		break;
	}
	case RULE_DERIVE_FEE:
	case RULE_DERIVE_TAX: {
		s = attr(n, "field");
		r.field = need_field(ld, s, n->line, "derive");
		char *date = attr(n, "date");
		r.field2 = need_field(ld, date, n->line, "derive date");
		free(date);
		if (r.kind == RULE_DERIVE_FEE) {
			char *cat = attr(n, "category");
			r.field3 = need_field(ld, cat, n->line, "derive fee category");
			free(cat);
		}
		break;
	}
	}
	f->rules = xrealloc(f->rules, (f->nrules + 1) * sizeof(*f->rules));
	f->rules[f->nrules++] = r;
	free(s);
	free(kind);
	return;
out:
	free(r.message);
	free(r.message_en);
	free(kind);
}

static int valid_id(const char *s)
{
	if (!s || !(*s >= 'a' && *s <= 'z'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* Checks what the schema cannot: unique ids and numbers, references, per-type attributes. */
static void check_model(struct loader *ld)
{
	struct form *f = ld->f;
	int last_no = 0;
	for (size_t i = 0; i < f->nfields; i++) {
		struct field *fld = &f->fields[i];
		if (!valid_id(fld->id))
			xmlsafe_error(ld->sink, fld->line, "field id '%s' is not [a-z][a-z0-9_]*", fld->id);
		if (fld->no <= last_no)
			xmlsafe_error(ld->sink, fld->line, "field %s: item number %d does not follow %d",
				      fld->id, fld->no, last_no);
		last_no = fld->no;
		for (size_t j = 0; j < i; j++)
			if (strcmp(f->fields[j].id, fld->id) == 0)
				xmlsafe_error(ld->sink, fld->line, "field id %s appears twice (line %d)",
					      fld->id, f->fields[j].line);
		if (fld->type == FT_CODE && !fld->codes)
			xmlsafe_error(ld->sink, fld->line, "field %s: a code field needs codes=", fld->id);
		if (fld->fill == FILL_TIMESTAMP &&
		    (!fld->fill_from || !form_field(f, fld->fill_from)))
			xmlsafe_error(ld->sink, fld->line, "field %s: fill-from names no field", fld->id);
		if (fld->length < 0 || fld->max < -1)
			xmlsafe_error(ld->sink, fld->line, "field %s: negative length", fld->id);
		if (fld->index && strcmp(fld->index, "insured") && strcmp(fld->index, "kana") &&
		    strcmp(fld->index, "date"))
			xmlsafe_error(ld->sink, fld->line, "field %s: unknown index %s", fld->id, fld->index);
	}
	if (f->kind == FORM_MASTER && (!f->key || !form_field(f, f->key)))
		xmlsafe_error(ld->sink, f->line, "form %s: a master form needs <key field=…> naming a field", f->id);
	if (f->kind == FORM_DOCUMENT && (!f->env_prefix || !f->env_doc_class))
		xmlsafe_error(ld->sink, f->line, "form %s: a document form needs <envelope prefix= document-class=>",
			      f->id);
}

static void resolve_codes(struct loader *ld, xmlNodePtr root)
{
	/* Walk the fields again in document order to pick up codes= (the list may follow). */
	size_t i = 0;
	for (xmlNodePtr p = root->children; p; p = p->next) {
		if (!is_elem(p, "page"))
			continue;
		for (xmlNodePtr s = p->children; s; s = s->next) {
			if (!is_elem(s, "section"))
				continue;
			for (xmlNodePtr fl = s->children; fl; fl = fl->next) {
				if (!is_elem(fl, "field") || i >= ld->f->nfields)
					continue;
				struct field *fld = &ld->f->fields[i++];
				char *codes = attr(fl, "codes");
				if (codes) {
					fld->codes = find_codelist(ld->f, codes);
					if (!fld->codes)
						xmlsafe_error(ld->sink, fl->line, "field %s: no code list %s",
							      fld->id, codes);
					free(codes);
				}
			}
		}
	}
}

static struct form *form_from_doc(xmlDocPtr doc, const char *path, struct xmlsafe_errs *sink)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	struct form *f = xcalloc(1, sizeof(*f));
	struct loader ld = { f, sink, 0 };
	f->path = xstrdup(path);
	f->line = root->line;
	f->id = attr_or(root, "id", "");
	f->version = attr_or(root, "version", "1");
	f->layout_version = attr_or(root, "layout-version", "");
	f->title = attr_or(root, "title", f->id);
	f->title_en = attr_or(root, "title-en", f->title);
	char *kind = attr_or(root, "kind", "document");
	f->kind = strcmp(kind, "master") == 0 ? FORM_MASTER :
		  strcmp(kind, "single") == 0 ? FORM_SINGLE : FORM_DOCUMENT;
	free(kind);
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (is_elem(n, "codelist")) {
			load_codelist(&ld, n);
		} else if (is_elem(n, "envelope")) {
			f->env_prefix = attr(n, "prefix");
			f->env_doc_class = attr(n, "document-class");
		} else if (is_elem(n, "key")) {
			f->key = attr(n, "field");
		}
	}
	load_pages(&ld, root);
	resolve_codes(&ld, root);
	for (xmlNodePtr n = root->children; n; n = n->next)
		if (is_elem(n, "rules"))
			for (xmlNodePtr r = n->children; r; r = r->next)
				if (r->type == XML_ELEMENT_NODE)
					load_rule(&ld, r);
	check_model(&ld);
	return f;
}

int form_load(const char *path, const char *schema_path, struct form **out, struct sbuf *errs)
{
	struct xmlsafe_errs sink = { .out = errs, .path = path };
	xmlDocPtr doc = NULL;
	int rc = IKEN_EFORM;
	*out = NULL;
	if (xmlsafe_read_file(path, FORM_MAX_FILE, XMLSAFE_ALLOW_DTD, &sink, &doc) ||
	    xmlsafe_validate(doc, schema_path, &sink))
		goto cleanup;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!root || !is_elem(root, "form")) {
		xmlsafe_error(&sink, root ? root->line : 1, "the root element must be <form>");
		goto cleanup;
	}
	struct form *f = form_from_doc(doc, path, &sink);
	if (sink.count) {
		form_free(f);
		goto cleanup;
	}
	*out = f;
	rc = 0;
cleanup:
	if (rc && sink.count == 0)
		xmlsafe_error(&sink, 0, "cannot load the form");
	xmlFreeDoc(doc);
	return rc;
}

static void free_rule(struct rule *r)
{
	free(r->refs);
	free(r->cond.value);
	free(r->min);
	free(r->max);
	free(r->message);
	free(r->message_en);
}

void form_free(struct form *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nfields; i++) {
		struct field *fld = &f->fields[i];
		free(fld->id);
		free(fld->label);
		free(fld->label_en);
		if (fld->bit_labels) {
			for (int b = 0; fld->bit_labels[b]; b++) {
				free(fld->bit_labels[b]);
				free(fld->bit_labels_en[b]);
			}
		}
		free(fld->bit_labels);
		free(fld->bit_labels_en);
		free(fld->min_value);
		free(fld->max_value);
		free(fld->digit_values);
		free(fld->fill_from);
		free(fld->prefill);
		free(fld->index);
		free(fld->help);
		free(fld->help_en);
	}
	free(f->fields);
	for (size_t i = 0; i < f->ncodelists; i++) {
		struct codelist *cl = &f->codelists[i];
		for (size_t j = 0; j < cl->n; j++) {
			free(cl->codes[j].value);
			free(cl->codes[j].label);
			free(cl->codes[j].label_en);
		}
		free(cl->codes);
		free(cl->id);
	}
	free(f->codelists);
	for (size_t i = 0; i < f->npages; i++) {
		for (size_t j = 0; j < f->pages[i].nsections; j++) {
			free(f->pages[i].sections[j].title);
			free(f->pages[i].sections[j].title_en);
		}
		free(f->pages[i].sections);
		free(f->pages[i].title);
		free(f->pages[i].title_en);
	}
	free(f->pages);
	for (size_t i = 0; i < f->nrules; i++)
		free_rule(&f->rules[i]);
	free(f->rules);
	free(f->path);
	free(f->id);
	free(f->title);
	free(f->title_en);
	free(f->version);
	free(f->layout_version);
	free(f->key);
	free(f->env_prefix);
	free(f->env_doc_class);
	free(f);
}

/* --- fee table --- */

static void fee_table_free(struct fee_table *ft)
{
	if (!ft)
		return;
	for (size_t i = 0; i < ft->nperiods; i++) {
		struct fee_period *p = &ft->periods[i];
		free_words(p->taxable, p->ntaxable);
		for (size_t j = 0; j < p->nfees; j++)
			free(p->categories[j]);
		free(p->categories);
		free(p->yen);
	}
	free(ft->periods);
	free(ft->path);
	free(ft);
}

static int parse_yen(const char *s, long *out)
{
	uint64_t v;
	if (parse_u64(s, &v) || v > 100000000)
		return -1;
	*out = (long)v;
	return 0;
}

static int load_fees(const char *path, const char *schema, struct fee_table **out, struct sbuf *errs)
{
	struct xmlsafe_errs sink = { .out = errs, .path = path };
	xmlDocPtr doc = NULL;
	struct fee_table *ft = NULL;
	if (xmlsafe_read_file(path, FORM_MAX_FILE, XMLSAFE_ALLOW_DTD, &sink, &doc) ||
	    xmlsafe_validate(doc, schema, &sink))
		goto cleanup;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	if (!is_elem(root, "fees")) {
		xmlsafe_error(&sink, root->line, "the root element must be <fees>");
		goto cleanup;
	}
	ft = xcalloc(1, sizeof(*ft));
	ft->path = xstrdup(path);
	for (xmlNodePtr n = root->children; n; n = n->next) {
		if (!is_elem(n, "period"))
			continue;
		ft->periods = xrealloc(ft->periods, (ft->nperiods + 1) * sizeof(*ft->periods));
		struct fee_period *p = &ft->periods[ft->nperiods++];
		memset(p, 0, sizeof(*p));
		char *from = attr_or(n, "valid-from", "");
		if (strlen(from) != 8 || strspn(from, "0123456789") != 8)
			xmlsafe_error(&sink, n->line, "valid-from must be YYYYMMDD");
		snprintf(p->valid_from, sizeof(p->valid_from), "%.8s", from);
		free(from);
		if (ft->nperiods > 1 && strcmp(ft->periods[ft->nperiods - 2].valid_from, p->valid_from) >= 0)
			xmlsafe_error(&sink, n->line, "periods must be in increasing valid-from order");
		p->tax_percent = attr_int(n, "tax-percent", 0);
		if (p->tax_percent < 0 || p->tax_percent > 100)
			xmlsafe_error(&sink, n->line, "tax-percent must be 0–100");
		char *taxable = attr(n, "taxable");
		p->taxable = split_words(taxable, &p->ntaxable);
		free(taxable);
		for (xmlNodePtr c = n->children; c; c = c->next) {
			if (!is_elem(c, "fee"))
				continue;
			p->categories = xrealloc(p->categories, (p->nfees + 1) * sizeof(char *));
			p->yen = xrealloc(p->yen, (p->nfees + 1) * sizeof(long));
			p->categories[p->nfees] = attr_or(c, "category", "");
			char *yen = attr_or(c, "yen", "");
			if (parse_yen(yen, &p->yen[p->nfees]))
				xmlsafe_error(&sink, c->line, "yen must be a whole number of yen");
			free(yen);
			for (size_t j = 0; j < p->nfees; j++)
				if (strcmp(p->categories[j], p->categories[p->nfees]) == 0)
					xmlsafe_error(&sink, c->line, "category %s appears twice",
						      p->categories[j]);
			p->nfees++;
		}
	}
	if (ft->nperiods == 0)
		xmlsafe_error(&sink, root->line, "the fee table has no <period>");
cleanup:
	xmlFreeDoc(doc);
	if (sink.count || !ft) {
		if (!sink.count)
			xmlsafe_error(&sink, 0, "cannot load the fee table");
		fee_table_free(ft);
		return IKEN_EFORM;
	}
	*out = ft;
	return 0;
}

const struct fee_period *fee_period_on(const struct fee_table *ft, const char *ymd)
{
	const struct fee_period *best = NULL;
	if (!ft || !ymd || strlen(ymd) != 8)
		return NULL;
	for (size_t i = 0; i < ft->nperiods; i++)
		if (strcmp(ft->periods[i].valid_from, ymd) <= 0)
			best = &ft->periods[i];
	return best;
}

int fee_lookup(const struct fee_period *p, const char *category, long *yen)
{
	for (size_t i = 0; p && i < p->nfees; i++) {
		if (strcmp(p->categories[i], category) == 0) {
			*yen = p->yen[i];
			return 0;
		}
	}
	return IKEN_ENOTFOUND;
}

/* --- form sets --- */

int formset_load(const char *dir, struct formset **out, struct sbuf *errs)
{
	struct formset *fs = xcalloc(1, sizeof(*fs));
	struct sbuf schema = { 0 }, path = { 0 };
	char **names = NULL;
	size_t nnames = 0;
	int rc = 0;
	fs->dir = xstrdup(dir);
	sbuf_printf(&schema, "%s/form.rng", dir);
	if (list_dir(dir, &names, &nnames)) {
		sbuf_printf(errs, "%s: cannot open the forms folder\n", dir);
		rc = IKEN_EFORM;
		goto cleanup;
	}
	for (size_t i = 0; i < nnames; i++) {
		size_t n = strlen(names[i]);
		if (n <= 4 || strcmp(names[i] + n - 4, ".xml") != 0)
			continue;
		sbuf_reset(&path);
		sbuf_printf(&path, "%s/%s", dir, names[i]);
		if (strcmp(names[i], "terminal.xml") == 0)
			continue; /* not a form: the exchange's names, loaded by envelope.c */
		if (strcmp(names[i], "fees.xml") == 0) {
			if (load_fees(path.s, schema.s, &fs->fees, errs))
				rc = IKEN_EFORM;
			continue;
		}
		struct form *f;
		if (form_load(path.s, schema.s, &f, errs)) {
			rc = IKEN_EFORM;
			continue;
		}
		if (formset_get(fs, f->id)) {
			sbuf_printf(errs, "%s:%d: form id %s is already used by another file\n", path.s,
				    f->line, f->id);
			form_free(f);
			rc = IKEN_EFORM;
			continue;
		}
		fs->forms = xrealloc(fs->forms, (fs->nforms + 1) * sizeof(*fs->forms));
		fs->forms[fs->nforms++] = f;
	}
	if (!rc && fs->nforms == 0) {
		sbuf_printf(errs, "%s: no form files\n", dir);
		rc = IKEN_EFORM;
	}
cleanup:
	list_dir_free(names, nnames);
	sbuf_free(&schema);
	sbuf_free(&path);
	if (rc) {
		formset_free(fs);
		fs = NULL;
	}
	*out = fs;
	return rc;
}

void formset_free(struct formset *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->nforms; i++)
		form_free(fs->forms[i]);
	free(fs->forms);
	fee_table_free(fs->fees);
	free(fs->dir);
	free(fs);
}

const struct form *formset_get(const struct formset *fs, const char *id)
{
	for (size_t i = 0; fs && i < fs->nforms; i++)
		if (strcmp(fs->forms[i]->id, id) == 0)
			return fs->forms[i];
	return NULL;
}

const struct field *form_field(const struct form *f, const char *id)
{
	for (size_t i = 0; id && i < f->nfields; i++)
		if (strcmp(f->fields[i].id, id) == 0)
			return &f->fields[i];
	return NULL;
}

const struct code *codelist_find(const struct codelist *cl, const char *value)
{
	for (size_t i = 0; cl && i < cl->n; i++)
		if (strcmp(cl->codes[i].value, value) == 0)
			return &cl->codes[i];
	return NULL;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *forms_dir_default(void)
{
	const char *e = getenv("IKEN_FORMS");
	if (e && *e)
		return e;
	if (is_dir(PKGDATADIR "/forms"))
		return PKGDATADIR "/forms";
	return SRCDIR "/forms";
}
