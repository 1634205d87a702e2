/* The form loader: the shipped forms, lookups, the fee table, and broken forms each reported as
 * "file:line: …" with no form loaded. Broken forms are written into a mkdtemp folder that holds
 * a copy of forms/form.rng. */
#include "config.h"
#include "errcode.h"
#include "model/form.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[64];
static char *made[64];
static size_t nmade;
static char schema[128];

/* --- files --- */

static char *tmp_path(const char *name)
{
	struct sbuf p = { 0 };
	sbuf_printf(&p, "%s/%s", tmpdir, name);
	return sbuf_take(&p);
}

static void remember(const char *path)
{
	for (size_t i = 0; i < nmade; i++)
		if (strcmp(made[i], path) == 0)
			return;
	if (nmade < ARRAY_SIZE(made))
		made[nmade++] = xstrdup(path);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
		fprintf(stderr, "test_form: cannot write %s\n", path);
		exit(99);
	}
	remember(path);
}

/* Writes name in the temp folder; returns its path (freed by the caller). */
static char *write_tmp(const char *name, const char *text)
{
	char *p = tmp_path(name);
	write_bytes(p, text, strlen(text));
	return p;
}

static void remove_tmp(const char *name)
{
	char *p = tmp_path(name);
	unlink(p);
	free(p);
}

static void cleanup(void)
{
	for (size_t i = 0; i < nmade; i++) {
		unlink(made[i]);
		free(made[i]);
	}
	nmade = 0;
	if (tmpdir[0])
		rmdir(tmpdir);
}

/* --- a small valid form, one line per entry (line numbers are index + 1) --- */

static const char *const mini[] = {
	/*  1 */ "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
	/*  2 */ "<form id=\"mini\" version=\"1\" title=\"小\" title-en=\"Mini\" kind=\"single\">",
	/*  3 */ "  <codelist id=\"yn\">",
	/*  4 */ "    <code value=\"1\" label=\"有\" label-en=\"Yes\"/>",
	/*  5 */ "    <code value=\"2\" label=\"無\" label-en=\"No\"/>",
	/*  6 */ "  </codelist>",
	/*  7 */ "  <page title=\"P\" title-en=\"P\">",
	/*  8 */ "    <section title=\"S\" title-en=\"S\">",
	/*  9 */ "      <field no=\"1\" id=\"a\" label=\"A\" label-en=\"A\" type=\"code\" codes=\"yn\" required=\"yes\"/>",
	/* 10 */ "      <field no=\"2\" id=\"b\" label=\"B\" label-en=\"B\" type=\"text\" max=\"10\"/>",
	/* 11 */ "      <field no=\"3\" id=\"c\" label=\"C\" label-en=\"C\" type=\"bits\" length=\"3\">",
	/* 12 */ "        <bit label=\"x\" label-en=\"x\"/>",
	/* 13 */ "        <bit label=\"y\" label-en=\"y\"/>",
	/* 14 */ "        <bit label=\"z\" label-en=\"z\"/>",
	/* 15 */ "      </field>",
	/* 16 */ "    </section>",
	/* 17 */ "  </page>",
	/* 18 */ "  <rules>",
	/* 19 */ "    <required-when field=\"b\" when=\"a\" eq=\"1\"/>",
	/* 20 */ "  </rules>",
	/* 21 */ "</form>",
};

/* The mini form with line `line` (1-based, 0 = none) replaced by repl. */
static char *mini_with(int line, const char *repl)
{
	struct sbuf b = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(mini); i++) {
		sbuf_puts(&b, (int)i + 1 == line ? repl : mini[i]);
		sbuf_putc(&b, '\n');
	}
	return sbuf_take(&b);
}

/* 1 when errs has a line starting "path:line: ". */
static int has_error_at(const char *errs, const char *path, int line)
{
	char want[512];
	snprintf(want, sizeof(want), "%s:%d: ", path, line);
	for (const char *p = errs; p && *p;) {
		if (strncmp(p, want, strlen(want)) == 0)
			return 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

/* 1 when every line of errs is "FILE:LINE: text" with FILE one of the two paths. */
static int all_lines_located(const char *errs, const char *path, const char *other)
{
	if (!errs || !*errs)
		return 0;
	for (const char *p = errs; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *file = strncmp(p, path, strlen(path)) == 0 ? path
				   : other && strncmp(p, other, strlen(other)) == 0 ? other : NULL;
		if (!file)
			return 0;
		const char *q = p + strlen(file);
		if (*q++ != ':')
			return 0;
		size_t nd = strspn(q, "0123456789");
		if (nd == 0 || q[nd] != ':' || q[nd + 1] != ' ' || (size_t)(q + nd + 2 - p) >= len)
			return 0;
		p = nl ? nl + 1 : p + len;
	}
	return 1;
}

/* Loads a broken variant of mini and checks the report. */
static void broken(const char *what, int line, const char *repl, int want_line, const char *want_text)
{
	char *text = mini_with(line, repl);
	char *path = write_tmp("broken.xml", text);
	struct form *f = (struct form *)1;
	struct sbuf errs = { 0 };
	int rc = form_load(path, schema, &f, &errs);
	ok(rc == IKEN_EFORM && f == NULL, "%s: rejected, no form loaded", what);
	if (!ok(has_error_at(errs.s, path, want_line), "%s: reported at broken.xml:%d", what, want_line))
		printf("#   errors:\n%s", errs.s ? errs.s : "(none)\n");
	ok(all_lines_located(errs.s, path, schema), "%s: every message is file:line: text", what);
	if (want_text && !ok(errs.s && strstr(errs.s, want_text), "%s: message says '%s'", what, want_text))
		printf("#   errors:\n%s", errs.s ? errs.s : "(none)\n");
	form_free(f);
	sbuf_free(&errs);
	free(path);
	free(text);
	remove_tmp("broken.xml");
}

/* --- the shipped forms --- */

static void check_cover(const struct form *f)
{
	size_t next = 0;
	int in_order = 1, idx_ok = 1;
	for (size_t p = 0; p < f->npages; p++) {
		for (size_t s = 0; s < f->pages[p].nsections; s++) {
			const struct section *sec = &f->pages[p].sections[s];
			if (sec->first != next || sec->count == 0)
				in_order = 0;
			for (size_t i = sec->first; i < sec->first + sec->count && i < f->nfields; i++)
				if (f->fields[i].page != (int)p || f->fields[i].section != (int)s)
					idx_ok = 0;
			next = sec->first + sec->count;
		}
	}
	ok(in_order && next == f->nfields,
	   "%s: pages and sections cover all %zu fields exactly once, in order", f->id, f->nfields);
	ok(idx_ok, "%s: each field knows its page and section", f->id);
	int nos = 1;
	for (size_t i = 0; i < f->nfields; i++)
		if (f->fields[i].no != (int)i + 1)
			nos = 0;
	ok(nos, "%s: item numbers are 1…%zu in layout order", f->id, f->nfields);
}

static void check_rules_resolved(const struct form *f)
{
	int good = 1;
	for (size_t i = 0; i < f->nrules; i++) {
		const struct rule *ru = &f->rules[i];
		if (!ru->field || ru->line <= 0)
			good = 0;
		for (size_t j = 0; j < ru->nrefs; j++)
			if (!ru->refs[j].field)
				good = 0;
		if (ru->cond.op != COND_NONE && !ru->cond.ref.field)
			good = 0;
		if ((ru->kind == RULE_DERIVE_AGE || ru->kind == RULE_DERIVE_FEE ||
		     ru->kind == RULE_DERIVE_TAX) && !ru->field2)
			good = 0;
	}
	ok(good, "%s: all %zu rules name existing fields", f->id, f->nrules);
}

/* Every prefill "form.field" names a field of that form with the same type and size. */
static void check_prefills(const struct formset *fs, const struct form *f)
{
	int good = 1;
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (!fld->prefill || strcmp(fld->prefill, "today") == 0)
			continue;
		const char *dot = strchr(fld->prefill, '.');
		char src[32];
		snprintf(src, sizeof(src), "%.*s", dot ? (int)(dot - fld->prefill) : 0, fld->prefill);
		if (strcmp(src, "opinion") == 0)
			snprintf(src, sizeof(src), "ikensho");
		const struct form *sf = formset_get(fs, src);
		const struct field *from = sf && dot ? form_field(sf, dot + 1) : NULL;
		if (!from || from->type != fld->type || from->length != fld->length ||
		    from->max != fld->max) {
			printf("#   %s.%s: prefill %s does not match\n", f->id, fld->id, fld->prefill);
			good = 0;
		}
	}
	ok(good, "%s: every prefill names a field of the same type and size", f->id);
}

static void test_shipped(const char *dir)
{
	struct formset *fs = NULL;
	struct sbuf errs = { 0 };
	int rc = formset_load(dir, &fs, &errs);
	if (!ok(rc == 0 && fs, "the shipped forms in %s load", dir)) {
		printf("#   %s", errs.s ? errs.s : "");
		sbuf_free(&errs);
		return;
	}
	ok(errs.len == 0, "loading the shipped forms reports nothing");
	sbuf_free(&errs);
	is_int(fs->nforms, 5, "five forms");
	ok(fs->fees != NULL, "fees.xml is loaded");

	static const struct {
		const char *id;
		size_t nfields;
		enum form_kind kind;
	} want[] = {
		{ "ikensho", 123, FORM_DOCUMENT }, { "seikyu", 29, FORM_DOCUMENT },
		{ "applicant", 10, FORM_MASTER },  { "user", 7, FORM_MASTER },
		{ "settings", 23, FORM_SINGLE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		const struct form *f = formset_get(fs, want[i].id);
		if (!ok(f != NULL, "form %s is present", want[i].id))
			continue;
		is_int(f->nfields, want[i].nfields, "%s has %zu fields", want[i].id, want[i].nfields);
		ok(f->kind == want[i].kind, "%s has the right kind", want[i].id);
		check_cover(f);
		check_rules_resolved(f);
		check_prefills(fs, f);
	}
	ok(formset_get(fs, "nosuch") == NULL, "unknown form id gives NULL");

	const struct form *ik = formset_get(fs, "ikensho");
	const struct form *sk = formset_get(fs, "seikyu");
	if (!ik || !sk) {
		formset_free(fs);
		return;
	}
	is_str(ik->env_prefix, "IKNsubm01", "ikensho envelope prefix");
	is_str(ik->env_doc_class, "1", "ikensho document class");
	is_str(sk->env_prefix, "IKNsubm02", "seikyu envelope prefix");
	is_str(ik->layout_version, "1.3", "ikensho layout version");
	is_str(formset_get(fs, "applicant")->key, "insured_no", "applicant key");
	is_str(formset_get(fs, "user")->key, "login", "user key");

	/* field lookup */
	const struct field *fld = form_field(ik, "insured_no");
	if (ok(fld != NULL, "form_field finds insured_no")) {
		is_int(fld->no, 6, "insured_no is item 6");
		ok(fld->type == FT_DIGITS && fld->length == 10 && fld->required, "insured_no: digits =10, required");
		is_str(fld->index, "insured", "insured_no is indexed");
		is_str(fld->prefill, "applicant.insured_no", "insured_no prefill");
		is_str(fld->label, "被保険者番号", "insured_no label");
		is_str(fld->label_en, "Insured number", "insured_no English label");
		ok(fld == &ik->fields[5], "form_field returns the field in place");
	}
	ok(form_field(ik, "nosuch") == NULL, "form_field of an unknown id is NULL");
	ok(form_field(ik, "") == NULL, "form_field of \"\" is NULL");
	fld = form_field(ik, "remarks");
	ok(fld && fld->type == FT_TEXTAREA && fld->max == 700 && fld->no == 123, "remarks: textarea ≤700, item 123");
	fld = form_field(ik, "medical_services");
	ok(fld && fld->type == FT_DIGITS && fld->length == 12 && fld->digit_values &&
	   strcmp(fld->digit_values, "012") == 0, "medical_services: 12 digits of 0, 1, 2");
	fld = form_field(ik, "height_cm");
	ok(fld && fld->type == FT_DECIMAL && fld->max == -1 && fld->length == 0, "height_cm: decimal, no length");
	fld = form_field(ik, "timestamp");
	ok(fld && fld->fill == FILL_TIMESTAMP && fld->fill_from && strcmp(fld->fill_from, "insured_no") == 0,
	   "timestamp: filled from insured_no");
	fld = form_field(ik, "format_version");
	ok(fld && fld->fill == FILL_FORMAT_VERSION, "format_version: fill format-version");
	fld = form_field(ik, "sent_date");
	ok(fld && fld->fill == FILL_SENT_DATE && !fld->required, "sent_date: fill sent-date, not required");
	fld = form_field(ik, "written_date");
	ok(fld && fld->fill == FILL_NONE && fld->prefill && strcmp(fld->prefill, "today") == 0,
	   "written_date: prefill today");

	/* codes */
	fld = form_field(ik, "sex");
	const struct code *c = fld ? codelist_find(fld->codes, "2") : NULL;
	ok(c && strcmp(c->label, "女") == 0 && strcmp(c->label_en, "Female") == 0, "sex code 2 is 女 / Female");
	ok(fld && codelist_find(fld->codes, "0") == NULL, "code 0 is never in a list");
	ok(fld && codelist_find(fld->codes, "3") == NULL, "sex code 3 is not in the list");
	ok(codelist_find(NULL, "1") == NULL, "codelist_find on no list is NULL");
	fld = form_field(ik, "adl_bedridden");
	ok(fld && fld->codes && fld->codes->n == 9 && strcmp(fld->codes->codes[8].label, "C2") == 0,
	   "adl_bedridden has 9 codes, the last C2");
	ok(fld && fld->codes && strcmp(fld->codes->id, "adl_bedridden") == 0, "the code list keeps its id");
	fld = form_field(sk, "fee_category");
	ok(fld && fld->codes && fld->codes->n == 4, "fee_category has 4 codes");

	/* bits labels */
	fld = form_field(ik, "other_depts");
	if (ok(fld && fld->type == FT_BITS && fld->length == 13, "other_depts: 13 boxes")) {
		int n = 0;
		while (fld->bit_labels[n])
			n++;
		is_int(n, 13, "other_depts has 13 bit labels");
		is_str(fld->bit_labels[0], "内科", "other_depts box 1 is 内科");
		is_str(fld->bit_labels[12], "その他", "other_depts box 13 is その他");
		is_str(fld->bit_labels_en[12], "Other", "other_depts box 13 in English");
	}
	fld = form_field(ik, "walking_aids");
	ok(fld && fld->length == 3 && strcmp(fld->bit_labels[0], "用いていない") == 0 &&
	   strcmp(fld->bit_labels_en[2], "Used indoors") == 0, "walking_aids labels");
	int bits_ok = 1;
	for (size_t i = 0; i < ik->nfields; i++) {
		const struct field *b = &ik->fields[i];
		if (b->type != FT_BITS)
			continue;
		int n = 0;
		while (b->bit_labels && b->bit_labels[n])
			n++;
		if (n != b->length)
			bits_ok = 0;
	}
	ok(bits_ok, "every bits field of ikensho has one label per box");

	/* rules of each kind are there */
	int kinds[RULE_DERIVE_TAX + 1] = { 0 };
	for (size_t i = 0; i < ik->nrules; i++)
		kinds[ik->rules[i].kind]++;
	for (size_t i = 0; i < sk->nrules; i++)
		kinds[sk->rules[i].kind]++;
	int all = 1;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if (!kinds[k])
			all = 0;
	ok(all, "ikensho and seikyu together use every kind of rule");
	const struct rule *r0 = &ik->rules[0];
	ok(r0->kind == RULE_DATE_ORDER && r0->field2 == NULL && strcmp(r0->field->id, "written_date") == 0,
	   "first ikensho rule: written_date not after @today");
	int found = 0;
	for (size_t i = 0; i < ik->nrules; i++) {
		const struct rule *ru = &ik->rules[i];
		if (ru->kind == RULE_REQUIRED_WHEN && strcmp(ru->field->id, "other_dept_text") == 0) {
			found = ru->cond.op == COND_EQ && ru->cond.ref.digit == 13 &&
				strcmp(ru->cond.ref.field->id, "other_depts") == 0 &&
				strcmp(ru->cond.value, "1") == 0 && ru->message != NULL;
		}
	}
	ok(found, "other_dept_text required when other_depts[13] eq 1 (digit reference)");
	/* seikyu derives fee, subtotal, tax, total in that order (a derive may use one above it) */
	static const enum rule_kind order[] = { RULE_DERIVE_FEE, RULE_DERIVE_SUM, RULE_DERIVE_TAX,
						 RULE_DERIVE_SUM };
	static const char *const targets[] = { "fee", "subtotal", "tax", "total" };
	size_t k = 0;
	int in_order = 1;
	for (size_t i = 0; i < sk->nrules; i++) {
		const struct rule *ru = &sk->rules[i];
		if (ru->kind < RULE_DERIVE_AGE)
			continue;
		if (k >= ARRAY_SIZE(order) || ru->kind != order[k] || strcmp(ru->field->id, targets[k]))
			in_order = 0;
		k++;
	}
	ok(in_order && k == 4, "seikyu derives fee, subtotal, tax, total in file order");

	/* the shipped fee table */
	const struct fee_period *p = fee_period_on(fs->fees, "20260315");
	long yen = 0;
	ok(p && fee_lookup(p, "1", &yen) == 0 && yen == 5000, "shipped fees: category 1 is 5000 yen on 20260315");
	ok(p && p->tax_percent == 10, "shipped fees: 10 %% tax");
	int taxable_ok = p != NULL;
	for (size_t i = 0; p && i < p->ntaxable; i++)
		if (!form_field(sk, p->taxable[i]) || form_field(sk, p->taxable[i])->type != FT_YEN)
			taxable_ok = 0;
	ok(taxable_ok, "every taxable item of the fee table is a yen field of seikyu");
	formset_free(fs);
}

/* --- the fee table --- */

static const char fees_two[] =
	"<?xml version=\"1.0\"?>\n"
	"<fees>\n"
	"  <period valid-from=\"20190401\" tax-percent=\"8\" taxable=\"fee exam_fee\">\n"
	"    <fee category=\"1\" yen=\"4000\"/>\n"
	"    <fee category=\"2\" yen=\"3000\"/>\n"
	"  </period>\n"
	"  <period valid-from=\"20191001\" tax-percent=\"10\" taxable=\"fee exam_fee test_fee\">\n"
	"    <fee category=\"1\" yen=\"5000\"/>\n"
	"    <fee category=\"2\" yen=\"4000\"/>\n"
	"  </period>\n"
	"</fees>\n";

static void test_fees(void)
{
	char *text = mini_with(0, NULL);
	char *mp = write_tmp("mini.xml", text);
	free(text);
	char *fp = write_tmp("fees.xml", fees_two);
	struct formset *fs = NULL;
	struct sbuf errs = { 0 };
	int rc = formset_load(tmpdir, &fs, &errs);
	if (!ok(rc == 0 && fs && fs->fees, "a folder with a mini form and two fee periods loads"))
		printf("#   %s", errs.s ? errs.s : "");
	if (fs && fs->fees) {
		const struct fee_table *ft = fs->fees;
		is_int(ft->nperiods, 2, "two periods");
		const struct fee_period *p;
		long yen = -1;
		p = fee_period_on(ft, "20190930");
		ok(p == &ft->periods[0], "20190930: the first period applies (last day)");
		ok(p && fee_lookup(p, "1", &yen) == 0 && yen == 4000, "20190930: category 1 is 4000");
		ok(p && p->tax_percent == 8 && p->ntaxable == 2, "20190930: 8 %%, two taxable items");
		p = fee_period_on(ft, "20191001");
		ok(p == &ft->periods[1], "20191001: the second period applies (first day)");
		ok(p && fee_lookup(p, "1", &yen) == 0 && yen == 5000, "20191001: category 1 is 5000");
		ok(p && p->tax_percent == 10 && p->ntaxable == 3, "20191001: 10 %%, three taxable items");
		p = fee_period_on(ft, "20260401");
		ok(p == &ft->periods[1], "a later date takes the latest period");
		ok(fee_period_on(ft, "20190331") == NULL, "before the first period: none");
		ok(fee_period_on(ft, "2019") == NULL, "a partial date: none");
		ok(fee_period_on(ft, "") == NULL && fee_period_on(ft, NULL) == NULL, "no date: none");
		ok(fee_period_on(NULL, "20200101") == NULL, "no table: none");
		ok(fee_lookup(&ft->periods[1], "9", &yen) == IKEN_ENOTFOUND, "unknown category: IKEN_ENOTFOUND");
		ok(fee_lookup(NULL, "1", &yen) == IKEN_ENOTFOUND, "no period: IKEN_ENOTFOUND");
	}
	formset_free(fs);
	sbuf_free(&errs);

	/* periods out of order: reported at the second <period> */
	static const char fees_bad[] =
		"<?xml version=\"1.0\"?>\n"
		"<fees>\n"
		"  <period valid-from=\"20191001\" tax-percent=\"10\" taxable=\"fee\">\n"
		"    <fee category=\"1\" yen=\"5000\"/>\n"
		"  </period>\n"
		"  <period valid-from=\"20190401\" tax-percent=\"8\" taxable=\"fee\">\n"
		"    <fee category=\"1\" yen=\"4000\"/>\n"
		"    <fee category=\"1\" yen=\"4100\"/>\n"
		"  </period>\n"
		"</fees>\n";
	free(fp);
	fp = write_tmp("fees.xml", fees_bad);
	fs = (struct formset *)1;
	rc = formset_load(tmpdir, &fs, &errs);
	ok(rc == IKEN_EFORM && fs == NULL, "fee table with periods out of order: nothing loaded");
	if (!ok(has_error_at(errs.s, fp, 6), "periods out of order: reported at fees.xml:6"))
		printf("#   %s", errs.s ? errs.s : "");
	ok(has_error_at(errs.s, fp, 8), "category twice: reported at fees.xml:8");
	sbuf_free(&errs);
	remove_tmp("fees.xml");
	remove_tmp("mini.xml");
	free(fp);
	free(mp);
}

/* --- broken forms --- */

static void test_broken(void)
{
	/* the mini form itself is fine */
	char *text = mini_with(0, NULL);
	char *path = write_tmp("mini.xml", text);
	struct form *f = NULL;
	struct sbuf errs = { 0 };
	ok(form_load(path, schema, &f, &errs) == 0 && f && errs.len == 0, "the mini form loads");
	if (f) {
		is_int(f->nfields, 3, "mini: 3 fields");
		is_int(f->nrules, 1, "mini: 1 rule");
		is_int(f->fields[1].line, 10, "mini: field b is on line 10");
		is_int(f->rules[0].line, 19, "mini: the rule is on line 19");
		ok(f->fields[0].codes && f->fields[0].codes->n == 2, "mini: field a has its code list");
	}
	form_free(f);
	sbuf_free(&errs);
	free(text);
	free(path);
	remove_tmp("mini.xml");

	broken("not well-formed XML", 10,
	       "      <field no=\"2\" id=\"b\" label=\"B&\" label-en=\"B\" type=\"text\" max=\"10\"/>", 10, NULL);
	broken("unclosed element", 15, "", 16, NULL);
	broken("schema: unknown attribute", 10,
	       "      <field no=\"2\" id=\"b\" label=\"B\" label-en=\"B\" type=\"text\" max=\"10\" colour=\"red\"/>",
	       10, "colour");
	/* libxml2 names the line of the element whose content is wrong: <rules> */
	broken("schema: unknown rule element", 19, "    <forbidden-when field=\"b\" when=\"a\" eq=\"1\"/>", 18,
	       "forbidden-when");
	broken("schema: text without max", 10,
	       "      <field no=\"2\" id=\"b\" label=\"B\" label-en=\"B\" type=\"text\"/>", 10, NULL);
	broken("duplicate field id", 10,
	       "      <field no=\"2\" id=\"a\" label=\"B\" label-en=\"B\" type=\"text\" max=\"10\"/>", 10,
	       "appears twice");
	broken("item numbers out of order", 10,
	       "      <field no=\"1\" id=\"b\" label=\"B\" label-en=\"B\" type=\"text\" max=\"10\"/>", 10,
	       "item number");
	broken("rule names an unknown field", 19, "    <required-when field=\"nosuch\" when=\"a\" eq=\"1\"/>",
	       19, "nosuch");
	broken("condition names an unknown field", 19, "    <required-when field=\"b\" when=\"zz\" eq=\"1\"/>",
	       19, "zz");
	broken("digit reference past the end", 19, "    <required-when field=\"b\" when=\"c[4]\" eq=\"1\"/>",
	       19, "no digit 4");
	broken("digit reference 0", 19, "    <required-when field=\"b\" when=\"c[0]\" eq=\"1\"/>", 19,
	       "no digit 0");
	broken("digit reference into a text field", 19,
	       "    <required-when field=\"c\" when=\"b[1]\" eq=\"1\"/>", 19, "no digit 1");
	broken("code field with an unknown code list", 9,
	       "      <field no=\"1\" id=\"a\" label=\"A\" label-en=\"A\" type=\"code\" codes=\"nosuch\" required=\"yes\"/>",
	       9, "nosuch");
	broken("bits length differs from the <bit> count", 11,
	       "      <field no=\"3\" id=\"c\" label=\"C\" label-en=\"C\" type=\"bits\" length=\"2\">", 11,
	       "<bit>");
	broken("code listed twice", 5, "    <code value=\"1\" label=\"無\" label-en=\"No\"/>", 5, "twice");
	broken("sum over an unknown field", 19, "    <derive field=\"b\" kind=\"sum\" from=\"a nosuch\"/>", 19,
	       "nosuch");
}

static void test_same_id(void)
{
	char *text = mini_with(0, NULL);
	char *a = write_tmp("a.xml", text);
	char *b = write_tmp("b.xml", text);
	free(text);
	struct formset *fs = (struct formset *)1;
	struct sbuf errs = { 0 };
	int rc = formset_load(tmpdir, &fs, &errs);
	ok(rc == IKEN_EFORM && fs == NULL, "two files with form id mini: nothing loaded");
	ok(errs.s && strstr(errs.s, "mini") && strncmp(errs.s, b, strlen(b)) == 0,
	   "the second file is the one reported, naming the id");
	ok(all_lines_located(errs.s, b, NULL), "reported as file:line: text");
	/* The id is an attribute of <form>, on line 2. */
	if (!ok(has_error_at(errs.s, b, 2), "same form id: reported at the <form> element, b.xml:2"))
		printf("#   %s", errs.s ? errs.s : "");
	sbuf_free(&errs);
	remove_tmp("a.xml");
	remove_tmp("b.xml");
	free(a);
	free(b);
}

static void test_too_large(void)
{
	/* a valid form padded with a comment to one byte over the limit */
	char *text = mini_with(0, NULL);
	size_t tl = strlen(text), total = (size_t)FORM_MAX_FILE + 1;
	char *buf = xmalloc(total);
	memcpy(buf, text, tl);
	memcpy(buf + tl, "<!--", 4);
	memset(buf + tl + 4, 'x', total - tl - 7);
	memcpy(buf + total - 3, "-->", 3);
	char *path = tmp_path("large.xml");
	write_bytes(path, buf, total);
	struct form *f = (struct form *)1;
	struct sbuf errs = { 0 };
	int rc = form_load(path, schema, &f, &errs);
	ok(rc == IKEN_EFORM && f == NULL, "a file of FORM_MAX_FILE + 1 bytes is refused");
	ok(all_lines_located(errs.s, path, NULL) && strstr(errs.s, "too large"),
	   "too large: reported as file:line: … too large");
	sbuf_free(&errs);
	/* exactly at the limit it is read (and loads: the comment is harmless) */
	write_bytes(path, buf, total - 1 - 3);
	FILE *fp = fopen(path, "ab");
	fputs("-->", fp);
	fclose(fp);
	f = NULL;
	rc = form_load(path, schema, &f, &errs);
	ok(rc == 0 && f, "a file of exactly FORM_MAX_FILE bytes loads");
	form_free(f);
	sbuf_free(&errs);
	unlink(path);
	free(path);
	free(buf);
	free(text);
}

/* --- external entities and DTDs are neither fetched nor expanded --- */

static char passwd_marker[64];

static int has_marker(const char *s)
{
	return s && passwd_marker[0] && strstr(s, passwd_marker);
}

static int form_has_marker(const struct form *f)
{
	if (has_marker(f->title) || has_marker(f->title_en) || has_marker(f->id))
		return 1;
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		if (has_marker(fld->label) || has_marker(fld->label_en) || has_marker(fld->help) ||
		    has_marker(fld->help_en))
			return 1;
		for (int b = 0; fld->bit_labels && fld->bit_labels[b]; b++)
			if (has_marker(fld->bit_labels[b]))
				return 1;
	}
	for (size_t i = 0; i < f->npages; i++)
		if (has_marker(f->pages[i].title))
			return 1;
	return 0;
}

static void entity_case(const char *what, const char *doctype, const char *label, int must_reject)
{
	struct sbuf x = { 0 };
	sbuf_printf(&x,
		    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		    "%s\n"
		    "<form id=\"mini\" version=\"1\" title=\"小\" title-en=\"Mini\" kind=\"single\">\n"
		    "  <page title=\"P\" title-en=\"P\">\n"
		    "    <section title=\"S\" title-en=\"S\">\n"
		    "      <field no=\"1\" id=\"a\" label=\"%s\" label-en=\"A\" type=\"text\" max=\"10\"/>\n"
		    "    </section>\n"
		    "  </page>\n"
		    "</form>\n",
		    doctype, label);
	char *path = write_tmp("entity.xml", x.s);
	struct form *f = (struct form *)1;
	struct sbuf errs = { 0 };
	int rc = form_load(path, schema, &f, &errs);
	if (must_reject)
		ok(rc == IKEN_EFORM && f == NULL, "%s: rejected", what);
	else
		ok((rc == IKEN_EFORM && f == NULL) || (rc == 0 && f), "%s: rejected or loaded, nothing else", what);
	ok(!has_marker(errs.s) && !(rc == 0 && f && form_has_marker(f)),
	   "%s: /etc/passwd appears in no label or message", what);
	if (rc == 0 && f)
		ok(strstr(f->fields[0].label, "root") == NULL, "%s: the entity is left unexpanded", what);
	else
		ok(all_lines_located(errs.s, path, schema), "%s: reported as file:line: text", what);
	if (rc == 0)
		form_free(f);
	sbuf_free(&errs);
	sbuf_free(&x);
	free(path);
	remove_tmp("entity.xml");
}

static void test_entities(void)
{
	char *pw = NULL;
	size_t len = 0;
	if (read_file("/etc/passwd", 1 << 20, &pw, &len) == 0 && len) {
		/* the first line's name and uid ("root:x:0:"), enough to recognise the file */
		size_t n = strcspn(pw, "\n");
		snprintf(passwd_marker, sizeof(passwd_marker), "%.*s", (int)(n < 12 ? n : 12), pw);
	}
	free(pw);
	ok(passwd_marker[0] != '\0', "/etc/passwd is readable for the entity tests");
	entity_case("external entity in a label",
		    "<!DOCTYPE form [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>", "A&amp;x;&x;B", 1);
	entity_case("external entity alone in a label",
		    "<!DOCTYPE form [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>", "&x;", 1);
	entity_case("external DTD", "<!DOCTYPE form SYSTEM \"file:///etc/passwd\">", "A", 0);
	entity_case("external parameter entity",
		    "<!DOCTYPE form [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>", "A", 0);
	entity_case("network DTD", "<!DOCTYPE form SYSTEM \"http://127.0.0.1:9/form.dtd\">", "A", 0);
}

int main(void)
{
	const char *dir = getenv("IKEN_FORMS");
	if (!dir || !*dir)
		dir = SRCDIR "/forms";
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/iken-test-form-XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 99;
	}
	/* a copy of the schema in the temp folder */
	char *rng = NULL;
	size_t rlen = 0;
	struct sbuf src = { 0 };
	sbuf_printf(&src, "%s/form.rng", dir);
	if (read_file(src.s, 1 << 20, &rng, &rlen)) {
		fprintf(stderr, "test_form: cannot read %s\n", src.s);
		cleanup();
		return 99;
	}
	snprintf(schema, sizeof(schema), "%s/form.rng", tmpdir);
	write_bytes(schema, rng, rlen);
	free(rng);
	sbuf_free(&src);

	test_shipped(dir);
	test_fees();
	test_broken();
	test_same_id();
	test_too_large();
	test_entities();

	cleanup();
	return done_testing();
}
