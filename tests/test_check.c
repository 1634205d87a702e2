/* The check engine.
 * (a) Data-driven: for every rule of ikensho and seikyu, a record derived from a valid generated
 *     one where the rule holds with its condition active (no error on the rule's field) and one
 *     where it is broken (an error on the field, with the rule's message).
 * (b) Explicit cases per type, character set, fill items, messages, and the layout's own rules
 *     (age, paralysis, walking aids, other departments, medical services, the invoice amounts).
 * Today is 20260401 throughout; forms come from $IKEN_FORMS. */
#include "config.h"
#include "model/check.h"
#include "model/docio.h"
#include "errcode.h"
#include "genlib.h"
#include "tap.h"
#include "model/wareki.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TODAY GEN_TODAY

static struct formset *fs;
static const struct form *ik, *sk;
static struct record *base_ik, *base_sk;
static size_t msgs_seen, msgs_bad;

/* --- helpers --- */

/* Every problem must carry both messages. */
static void note_messages(const struct problems *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		msgs_seen++;
		if (!ps->v[i].msg_ja || !*ps->v[i].msg_ja || !ps->v[i].msg_en || !*ps->v[i].msg_en)
			msgs_bad++;
	}
}

static size_t run(const struct form *f, const struct record *r, enum check_mode mode,
		  struct problems *ps)
{
	memset(ps, 0, sizeof(*ps));
	size_t n = check_record(fs, f, r, mode, TODAY, ps);
	note_messages(ps);
	return n;
}

static size_t count_on(const struct problems *ps, const struct field *fld, enum severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].field == fld && ps->v[i].sev == sev)
			n++;
	return n;
}

static const struct problem *find_on(const struct problems *ps, const struct field *fld,
				     enum severity sev, const char *ja_part)
{
	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].field == fld && ps->v[i].sev == sev &&
		    (!ja_part || strstr(ps->v[i].msg_ja, ja_part)))
			return &ps->v[i];
	return NULL;
}

static void show(const struct problems *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		printf("#   %s: %s: %s\n", ps->v[i].field ? ps->v[i].field->id : "(record)",
		       ps->v[i].sev == SEV_ERROR ? "error" : "warning", ps->v[i].msg_en);
}

static const struct field *F(const struct form *f, const char *id)
{
	const struct field *fld = form_field(f, id);
	if (!fld) {
		fprintf(stderr, "test_check: form %s has no field %s\n", f->id, id);
		exit(99);
	}
	return fld;
}

/* check_value of one value alone: errors / warnings. */
static size_t value_count(const struct form *f, const char *id, const char *v, enum severity sev)
{
	struct problems ps = { 0 };
	check_value(F(f, id), v, &ps);
	note_messages(&ps);
	size_t n = count_on(&ps, F(f, id), sev);
	problems_free(&ps);
	return n;
}

static void value_ok(const struct form *f, const char *id, const char *v, const char *what)
{
	struct problems ps = { 0 };
	check_value(F(f, id), v, &ps);
	note_messages(&ps);
	if (!ok(ps.nerrors == 0, "%s %s: %s accepted", f->id, id, what))
		show(&ps);
	problems_free(&ps);
}

static void value_bad(const struct form *f, const char *id, const char *v, const char *what)
{
	struct problems ps = { 0 };
	check_value(F(f, id), v, &ps);
	note_messages(&ps);
	ok(ps.nerrors == 1 && ps.n && ps.v[0].field == F(f, id), "%s %s: %s refused", f->id, id, what);
	problems_free(&ps);
}

/* A copy of r with fields set: pairs of id, value, ending with NULL. */
static struct record *with(const struct record *r, ...)
{
	struct record *c = rec_dup(r);
	va_list ap;
	va_start(ap, r);
	const char *id;
	while ((id = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		rec_set(c, id, v);
	}
	va_end(ap);
	return c;
}

static void rec_ok(const struct form *f, struct record *r, const char *what)
{
	struct problems ps;
	if (!ok(run(f, r, CHECK_STORED, &ps) == 0, "%s: %s: no error", f->id, what))
		show(&ps);
	problems_free(&ps);
	rec_free(r);
}

/* r has an error on id (and, when ja_part, one whose message holds it). */
static void rec_bad(const struct form *f, struct record *r, const char *id, const char *ja_part,
		    const char *what)
{
	struct problems ps;
	run(f, r, CHECK_STORED, &ps);
	if (!ok(find_on(&ps, F(f, id), SEV_ERROR, ja_part) != NULL, "%s: %s: error on %s", f->id, what, id))
		show(&ps);
	problems_free(&ps);
	rec_free(r);
}

/* --- (a) every rule --- */

static const char *kind_name(enum rule_kind k)
{
	static const char *const names[] = {
		"required-when", "empty-when", "at-least-one-of", "exclusive", "date-order", "range",
		"derive age", "derive any-set", "derive sum", "derive fee", "derive tax",
	};
	return (size_t)k < ARRAY_SIZE(names) ? names[k] : "?";
}

/* What the error of a violated rule says (its own message, else a part of the generic one). */
static const char *rule_marker(const struct rule *ru)
{
	if (ru->message)
		return ru->message;
	switch (ru->kind) {
	case RULE_REQUIRED_WHEN:
		return "入力が必要です";
	case RULE_EMPTY_WHEN:
		return "空欄にしてください";
	case RULE_AT_LEAST_ONE:
		return "いずれかを選んでください";
	case RULE_EXCLUSIVE:
		return "同時に選べません";
	case RULE_DATE_ORDER:
		return ru->strict ? "より前の日付にしてください" : "より後の日付は入力できません";
	case RULE_RANGE:
		return "の範囲で入力してください";
	default:
		return "計算値";
	}
}

struct pins {
	const char *v[32];
	size_t n;
};

static void pin(struct pins *p, const struct field *fld)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i], fld->id) == 0)
			return;
	if (p->n + 1 < ARRAY_SIZE(p->v))
		p->v[p->n++] = fld->id;
	p->v[p->n] = NULL;
}

/* Makes the condition hold. */
static void activate(struct gen *g, const struct form *f, struct record *r, const struct cond *c,
		     struct pins *pins)
{
	if (c->op == COND_NONE)
		return;
	const struct fref *ref = &c->ref;
	const struct field *fld = ref->field;
	pin(pins, fld);
	switch (c->op) {
	case COND_EQ:
		if (ref->digit)
			gen_put_digit(r, ref, c->value[0]);
		else
			rec_set(r, fld->id, c->value);
		break;
	case COND_NE:
		if (ref->digit) {
			const char *set = fld->type == FT_BITS ? "01" :
					  fld->digit_values ? fld->digit_values : "0123456789";
			size_t n = strlen(set);
			unsigned k = gen_below(g, (unsigned)n);
			for (size_t i = 0; i < n; i++) {
				char ch = set[(k + i) % n];
				if (ch != c->value[0]) {
					gen_put_digit(r, ref, ch);
					break;
				}
			}
		} else {
			for (int tries = 0; tries < 50 && !gen_cond_holds(r, c); tries++) {
				if (tries % 2)
					gen_set_empty(g, r, fld);
				else
					gen_set_nonempty(g, f, r, fld);
			}
		}
		break;
	case COND_SET:
		gen_ref_set(g, f, r, ref);
		break;
	case COND_EMPTY:
		gen_ref_clear(g, r, ref);
		break;
	case COND_NONE:
		break;
	}
	if (!gen_cond_holds(r, c)) {
		fprintf(stderr, "test_check: cannot make the condition on %s hold\n", fld->id);
		exit(99);
	}
}

/* "30.0" → 300 (rounded; no libm). */
static long to_tenths(const char *s)
{
	double x = atof(s) * 10;
	return (long)(x < 0 ? x - 0.5 : x + 0.5);
}

/* A decimal string x/10. */
static void tenths(long x, char out[32])
{
	snprintf(out, 32, "%s%ld.%ld", x < 0 ? "-" : "", labs(x) / 10, labs(x) % 10);
}

/* The derived value of r changed so that it no longer matches. */
static void tamper(struct record *r, const struct field *fld)
{
	const char *v = rec_val(r, fld->id);
	char buf[32];
	if (fld->type == FT_BITS)
		snprintf(buf, sizeof(buf), "%s", strcmp(v, "1") == 0 ? "0" : "1");
	else
		snprintf(buf, sizeof(buf), "%ld", atol(v) + 1);
	rec_set(r, fld->id, buf);
}

/* Builds the case `sub` of rule ru (fail: violated); returns 0 when the rule has no such case. */
static int build(struct gen *g, const struct form *f, const struct rule *ru, int fail, int sub,
		 struct record *r, struct pins *pins, char *desc, size_t dsz)
{
	const struct field *fld = ru->field;
	desc[0] = '\0';
	switch (ru->kind) {
	case RULE_REQUIRED_WHEN:
	case RULE_EMPTY_WHEN: {
		if (sub)
			return 0;
		activate(g, f, r, &ru->cond, pins);
		int want_set = (ru->kind == RULE_REQUIRED_WHEN) != fail;
		if (want_set)
			gen_set_nonempty(g, f, r, fld);
		else
			gen_set_empty(g, r, fld);
		pin(pins, fld);
		snprintf(desc, dsz, "%s='%s'", fld->id, rec_val(r, fld->id));
		return 1;
	}
	case RULE_AT_LEAST_ONE:
		if (fail ? sub > 0 : (size_t)sub >= ru->nrefs)
			return 0;
		activate(g, f, r, &ru->cond, pins);
		for (size_t i = 0; i < ru->nrefs; i++) {
			gen_ref_clear(g, r, &ru->refs[i]);
			pin(pins, ru->refs[i].field);
		}
		if (!fail)
			gen_ref_set(g, f, r, &ru->refs[sub]);
		snprintf(desc, dsz, "%s='%s'", fld->id, rec_val(r, fld->id));
		return 1;
	case RULE_EXCLUSIVE:
		if (fail ? (size_t)sub >= ru->nrefs : sub > 0)
			return 0;
		for (size_t i = 0; i < ru->nrefs; i++) {
			gen_ref_clear(g, r, &ru->refs[i]);
			pin(pins, ru->refs[i].field);
		}
		gen_ref_set(g, f, r, &ru->ref);
		pin(pins, ru->ref.field);
		if (fail)
			gen_ref_set(g, f, r, &ru->refs[sub]);
		snprintf(desc, dsz, "%s='%s'", fld->id, rec_val(r, fld->id));
		return 1;
	case RULE_DATE_ORDER: {
		/* sub 0: full dates at the boundary; sub 1 (pdate only): partial dates */
		if (sub > 1 || (sub == 1 && fld->type != FT_PDATE))
			return 0;
		char b[9], a[9];
		snprintf(b, sizeof(b), "%s", ru->field2 ? rec_val(r, ru->field2->id) : TODAY);
		if (!date_valid(b)) {
			fprintf(stderr, "test_check: base %s has no date in %s\n", f->id, ru->field2->id);
			exit(99);
		}
		if (sub == 0) {
			gen_ymd_add(b, ru->strict ? (fail ? 0 : -1) : (fail ? 1 : 0), a);
		} else if (fail) {
			snprintf(a, sizeof(a), "%04d", atoi(b) / 10000 + 1);
		} else {
			snprintf(a, sizeof(a), "%.6s", b);
		}
		rec_set(r, fld->id, a);
		pin(pins, fld);
		if (ru->field2)
			pin(pins, ru->field2);
		snprintf(desc, dsz, "%s=%s, %s=%s", fld->id, a, ru->field2 ? ru->field2->id : "@today", b);
		return 1;
	}
	case RULE_RANGE: {
		if (sub > 1)
			return 0;
		long lo = to_tenths(ru->min), hi = to_tenths(ru->max);
		char v[32];
		if (!fail)
			tenths(sub ? hi : lo, v);
		else
			tenths(sub ? lo - 1 : hi + 1, v);
		rec_set(r, fld->id, v);
		pin(pins, fld);
		snprintf(desc, dsz, "%s=%s", fld->id, v);
		return 1;
	}
	case RULE_DERIVE_ANY_SET:
		/* sub 0..n-1: only ref sub set (1); sub n: none set (0) */
		if ((size_t)sub > ru->nrefs)
			return 0;
		for (size_t i = 0; i < ru->nrefs; i++) {
			gen_ref_clear(g, r, &ru->refs[i]);
			pin(pins, ru->refs[i].field);
		}
		if ((size_t)sub < ru->nrefs)
			gen_ref_set(g, f, r, &ru->refs[sub]);
		snprintf(desc, dsz, "%s", (size_t)sub < ru->nrefs ? ru->refs[sub].field->id : "none set");
		return 1;
	case RULE_DERIVE_SUM:
	case RULE_DERIVE_TAX: {
		if (sub)
			return 0;
		/* the summed (taxable) amounts that are not derived themselves are made non-zero */
		const struct fee_period *p = fee_period_on(fs->fees, ru->field2 ? rec_val(r, ru->field2->id) : "");
		size_t n = ru->kind == RULE_DERIVE_SUM ? ru->nrefs : p ? p->ntaxable : 0;
		for (size_t i = 0; i < n; i++) {
			const struct field *in = ru->kind == RULE_DERIVE_SUM ? ru->refs[i].field
					       : form_field(f, p->taxable[i]);
			int derived = 0;
			for (size_t j = 0; in && j < f->nrules; j++)
				if (f->rules[j].kind >= RULE_DERIVE_AGE && f->rules[j].field == in)
					derived = 1;
			if (!in || derived)
				continue;
			gen_set_nonempty(g, f, r, in);
			pin(pins, in);
		}
		snprintf(desc, dsz, "inputs set");
		return 1;
	}
	case RULE_DERIVE_AGE:
	case RULE_DERIVE_FEE:
		if (sub)
			return 0;
		snprintf(desc, dsz, "from the base record");
		return 1;
	}
	return 0;
}

static int kinds_seen[RULE_DERIVE_TAX + 1];
static int pass_cases, pass_clean;
static int today_seen;

static void test_rule(const struct form *f, const struct record *base, size_t ri)
{
	const struct rule *ru = &f->rules[ri];
	const char *file = strrchr(f->path, '/') ? strrchr(f->path, '/') + 1 : f->path;
	kinds_seen[ru->kind]++;
	if (ru->kind == RULE_DATE_ORDER && !ru->field2)
		today_seen++;
	for (int fail = 0; fail <= 1; fail++) {
		for (int sub = 0; sub < 32; sub++) {
			struct gen g;
			gen_seed(&g, 1000003ull * (ri + 1) + 2 * (uint64_t)sub + (uint64_t)fail);
			struct record *r = rec_dup(base);
			struct pins pins = { { NULL }, 0 };
			char desc[200];
			if (!build(&g, f, ru, fail, sub, r, &pins, desc, sizeof(desc))) {
				rec_free(r);
				break;
			}
			gen_repair(&g, fs, f, r, pins.v);
			if (fail && ru->kind >= RULE_DERIVE_AGE) {
				char was[32];
				snprintf(was, sizeof(was), "%s", rec_val(r, ru->field->id));
				tamper(r, ru->field);
				snprintf(desc + strlen(desc), sizeof(desc) - strlen(desc), ", %s %s→%s",
					 ru->field->id, was, rec_val(r, ru->field->id));
			}
			struct problems ps;
			run(f, r, CHECK_STORED, &ps);
			if (!fail) {
				pass_cases++;
				pass_clean += ps.nerrors == 0;
				if (!ok(count_on(&ps, ru->field, SEV_ERROR) == 0,
					"%s:%d %s %s: satisfied (%s): no error on %s", file, ru->line,
					kind_name(ru->kind), ru->field->id, desc, ru->field->id))
					show(&ps);
			} else {
				if (!ok(find_on(&ps, ru->field, SEV_ERROR, rule_marker(ru)) != NULL,
					"%s:%d %s %s: violated (%s): the rule's error on %s", file, ru->line,
					kind_name(ru->kind), ru->field->id, desc, ru->field->id))
					show(&ps);
				/* the value on its own is fine: the error is the rule's, not the type's */
				struct problems alone = { 0 };
				check_value(ru->field, rec_val(r, ru->field->id), &alone);
				if (!ok(alone.nerrors == 0, "%s:%d %s %s: violated (%s): the value alone is valid",
					file, ru->line, kind_name(ru->kind), ru->field->id, desc))
					show(&alone);
				problems_free(&alone);
			}
			problems_free(&ps);
			rec_free(r);
		}
	}
}

static void test_all_rules(void)
{
	for (size_t i = 0; i < ik->nrules; i++)
		test_rule(ik, base_ik, i);
	for (size_t i = 0; i < sk->nrules; i++)
		test_rule(sk, base_sk, i);
	int all = 1;
	for (size_t k = 0; k < ARRAY_SIZE(kinds_seen); k++)
		if (!kinds_seen[k]) {
			printf("#   no rule of kind %s\n", kind_name((enum rule_kind)k));
			all = 0;
		}
	ok(all, "the rules tested cover every kind of rule");
	ok(today_seen > 0, "the rules tested include a date-order against @today");
	/* gen_repair keeps the other rules satisfied around the pinned fields, so each of these
	 * records is valid as a whole: a rule wrongly firing elsewhere would show here */
	is_int(pass_clean, pass_cases, "every record with a rule satisfied (%d) has no error at all", pass_cases);
}

/* --- generated records --- */

static void test_generated(void)
{
	static const char *const ids[] = { "ikensho", "seikyu", "applicant", "user", "settings" };
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		const struct form *f = formset_get(fs, ids[i]);
		if (!ok(f != NULL, "form %s loaded", ids[i]))
			continue;
		struct gen g;
		gen_seed(&g, 42 + i);
		struct sbuf csv = { 0 };
		struct record *recs[25];
		size_t n = ARRAY_SIZE(recs), clean = 0, warned = 0;
		docio_header_csv(f, &csv);
		for (size_t k = 0; k < n; k++) {
			recs[k] = gen_record(&g, fs, f, k);
			struct problems ps;
			if (run(f, recs[k], CHECK_STORED, &ps) == 0)
				clean++;
			if (ps.n > ps.nerrors)
				warned++;
			problems_free(&ps);
			docio_record_csv(f, recs[k], 0, &csv);
		}
		is_int(clean, n, "%s: %zu generated records have no error", ids[i], n);
		if (strcmp(ids[i], "ikensho") == 0)
			ok(warned > 0, "ikensho: some generated remarks draw a warning");
		/* the import file round-trips through the parser */
		struct docio_rows rows;
		struct sbuf err = { 0 };
		int rc = docio_parse(f, csv.s, csv.len, &rows, &err);
		ok(rc == 0 && rows.n == n, "%s: the generated import file parses into %zu records", ids[i], n);
		size_t same = 0;
		for (size_t k = 0; rc == 0 && k < rows.n && k < n; k++)
			same += rec_same_values(rows.recs[k], recs[k]);
		is_int(same, n, "%s: the parsed records equal the generated ones", ids[i]);
		if (rc == 0)
			docio_rows_free(&rows);
		sbuf_free(&err);
		sbuf_free(&csv);
		for (size_t k = 0; k < n; k++)
			rec_free(recs[k]);
	}
	/* an invoice made for an opinion takes the opinion's items */
	struct gen gi;
	gen_seed(&gi, 99);
	struct record *inv = gen_record_for(&gi, fs, sk, 0, base_ik);
	int paired = 1;
	for (size_t i = 0; i < sk->nfields; i++) {
		const struct field *fld = &sk->fields[i];
		if (fld->prefill && strncmp(fld->prefill, "opinion.", 8) == 0 &&
		    strcmp(rec_val(inv, fld->id), rec_val(base_ik, fld->prefill + 8)) != 0)
			paired = 0;
	}
	ok(paired, "gen_record_for: the invoice's opinion.* items are the opinion's");
	const char *cat = rec_val(inv, "fee_category");
	ok(strcmp(rec_val(base_ik, "times_written"), "1") == 0 ? (strcmp(cat, "1") == 0 || strcmp(cat, "3") == 0)
							      : (strcmp(cat, "2") == 0 || strcmp(cat, "4") == 0),
	   "gen_record_for: the fee category follows times_written");
	rec_free(inv);

	/* determinism */
	struct gen a, b;
	gen_seed(&a, 7);
	gen_seed(&b, 7);
	struct record *ra = gen_record(&a, fs, ik, 3), *rb = gen_record(&b, fs, ik, 3);
	ok(rec_same_values(ra, rb), "the same seed gives the same record");
	rec_free(ra);
	rec_free(rb);
}

/* --- (b) types --- */

static void test_types(void)
{
	/* digits */
	value_ok(ik, "insured_no", "9900000001", "10 digits");
	value_bad(ik, "insured_no", "990000001", "9 digits");
	value_bad(ik, "insured_no", "99000000011", "11 digits");
	value_bad(ik, "insured_no", "99000000０1", "a full-width digit");
	value_bad(ik, "insured_no", "99-0000001", "a hyphen");
	value_ok(ik, "age", "101", "3 digits (max 3)");
	value_bad(ik, "age", "1010", "4 digits (max 3)");
	value_ok(ik, "medical_services", "012012012012", "digits of 0, 1, 2");
	value_bad(ik, "medical_services", "000000000003", "a 3 (digit-values 012)");
	value_bad(ik, "medical_services", "00000000000", "11 of 12 digits");
	/* alnum */
	value_ok(ik, "request_no", "TEST-0001/a b", "printable ASCII");
	value_bad(ik, "request_no", "ＴＥＳＴ", "full-width letters");
	value_bad(ik, "request_no", "TEST\t1", "a tab");
	value_bad(ik, "request_no", "TEST-0123456789-ABCDE", "21 characters (max 20)");
	value_ok(ik, "request_no", "TEST-0123456789-ABCD", "20 characters (max 20)");
	value_bad(ik, "reserved_120", "X", "anything in a max=0 item");
	/* phone */
	value_ok(ik, "clinic_phone", "00-0000-0000", "digits and hyphens");
	value_ok(ik, "clinic_phone", "000000000000000", "15 characters");
	value_bad(ik, "clinic_phone", "0000000000000000", "16 characters");
	value_bad(ik, "clinic_phone", "(00)0000-0000", "parentheses");
	value_bad(ik, "clinic_phone", "00 0000 0000", "spaces");
	value_bad(ik, "clinic_phone", "----", "no digit");
	/* text: characters, not bytes */
	struct sbuf k40 = { 0 };
	for (int i = 0; i < 40; i++)
		sbuf_puts(&k40, "試");
	value_ok(ik, "name", k40.s, "40 kanji (120 bytes; max 40 characters)");
	sbuf_puts(&k40, "験");
	value_bad(ik, "name", k40.s, "41 kanji");
	sbuf_free(&k40);
	value_bad(ik, "name", "試験\n太郎", "a line break in a one-line text");
	value_bad(ik, "name", "試験\t太郎", "a tab");
	value_bad(ik, "name", "試験\x7f", "DEL");
	value_ok(ik, "remarks", "一行目\n二行目\n\n四行目", "line breaks in a textarea");
	value_bad(ik, "remarks", "一行目\r\n二行目", "a CR in a textarea");
	value_ok(ik, "name", "\"試験\",太郎", "quotes and commas");
	/* kana */
	value_ok(ik, "name_kana", "テスト　タロウ", "katakana with a full-width space");
	value_ok(ik, "name_kana", "てすと　はなこ", "hiragana");
	value_ok(ik, "name_kana", "テストー", "the long vowel mark");
	value_bad(ik, "name_kana", "ﾃｽﾄ", "half-width katakana");
	value_bad(ik, "name_kana", "テスト タロウ", "an ASCII space");
	value_bad(ik, "name_kana", "テスト・タロウ", "a middle dot");
	value_bad(ik, "name_kana", "試験", "kanji");
	value_bad(ik, "name_kana", "test", "ASCII letters");
	struct sbuf kana = { 0 };
	for (int i = 0; i < 41; i++)
		sbuf_puts(&kana, "ア");
	value_bad(ik, "name_kana", kana.s, "41 kana (max 40)");
	sbuf_free(&kana);
	/* date */
	value_ok(ik, "written_date", "20240229", "29 February of a leap year");
	value_bad(ik, "written_date", "20260230", "30 February");
	value_bad(ik, "written_date", "20250229", "29 February of a common year");
	value_bad(ik, "written_date", "2026041", "7 digits");
	value_bad(ik, "written_date", "2026-04-01", "a date with hyphens");
	value_bad(ik, "written_date", "R8.4.1", "a 和暦 date (entry converts it; stored dates are YYYYMMDD)");
	/* pdate */
	value_ok(ik, "onset1", "2026", "a year");
	value_ok(ik, "onset1", "202604", "a year and month");
	value_ok(ik, "onset1", "20260401", "a full date");
	value_ok(ik, "onset1", "不詳", "不詳");
	value_bad(ik, "onset1", "202613", "month 13");
	value_bad(ik, "onset1", "20260230", "30 February");
	value_bad(ik, "onset1", "26", "two digits");
	value_bad(ik, "onset1", "不明", "不明");
	/* code */
	value_ok(ik, "consent", "0", "0 (not chosen)");
	value_ok(ik, "sex", "2", "a listed code");
	value_bad(ik, "sex", "9", "9 (not in the list)");
	value_bad(ik, "sex", "12", "two digits");
	value_bad(ik, "sex", "a", "a letter");
	rec_ok(ik, with(base_ik, "consent", "0", NULL), "optional code consent=0");
	rec_ok(ik, with(base_ik, "consent", "", NULL), "optional code consent empty");
	rec_bad(ik, with(base_ik, "sex", "0", NULL), "sex", "選択してください", "required code sex=0");
	rec_bad(ik, with(base_ik, "sex", "", NULL), "sex", "選択してください", "required code sex empty");
	rec_bad(ik, with(base_ik, "sex", "9", NULL), "sex", "選択肢にない", "sex=9");
	/* bits */
	value_ok(ik, "other_depts", "1000000000001", "13 boxes");
	value_bad(ik, "other_depts", "000", "3 of 13 boxes");
	value_bad(ik, "other_depts", "00000000000000", "14 boxes");
	value_bad(ik, "other_depts", "0000000000002", "a 2");
	value_bad(ik, "other_depts", "000000000000x", "a letter");
	rec_ok(ik, with(base_ik, "other_dept", "2", "other_depts", "0000000000000", "other_dept_text", "",
			NULL), "required bits all 0 (other_dept=2)");
	rec_bad(ik, with(base_ik, "treatments", "", NULL), "treatments", "必須", "required bits empty");
	/* decimal */
	value_ok(ik, "height_cm", "165.5", "165.5");
	value_ok(ik, "height_cm", "165", "165");
	value_bad(ik, "height_cm", "165.55", "165.55");
	value_bad(ik, "height_cm", "165.", "165.");
	value_bad(ik, "height_cm", ".5", ".5");
	value_bad(ik, "height_cm", "-1.0", "-1.0");
	value_bad(ik, "height_cm", "165,5", "165,5");
	value_bad(ik, "height_cm", "abc", "abc");
	rec_bad(ik, with(base_ik, "height_cm", "250.1", NULL), "height_cm", "範囲", "height 250.1");
	rec_ok(ik, with(base_ik, "height_cm", "250", NULL), "height 250");
	/* yen */
	value_ok(sk, "exam_fee", "1000", "1000");
	value_ok(sk, "exam_fee", "0", "0");
	value_bad(sk, "exam_fee", "-1", "-1");
	value_bad(sk, "exam_fee", "10.5", "10.5");
	value_bad(sk, "exam_fee", "1,000", "1,000");
	value_bad(sk, "exam_fee", "１０００", "full-width digits");
	value_bad(sk, "exam_fee", "1000000000", "ten digits");
	/* invalid UTF-8 */
	value_bad(ik, "name", "\xff\xfe", "invalid UTF-8");
	value_bad(ik, "remarks", "試\xe9\xa8", "a truncated UTF-8 sequence");
	value_bad(ik, "name_kana", "\xe3\x83", "invalid UTF-8 in a kana field");
	value_bad(ik, "insured_no", "99000\xc0\xb1""0000", "an overlong sequence in digits");
	{
		struct problems ps = { 0 };
		check_value(F(ik, "name"), "\xff", &ps);
		ok(ps.n == 1 && strstr(ps.v[0].msg_en, "UTF-8"), "invalid UTF-8: the message says UTF-8");
		problems_free(&ps);
	}
}

/* --- (b) the permitted character set --- */

static void test_charset(void)
{
	struct problems ps = { 0 };
	check_value(F(ik, "remarks"), "丸数字①と髙の字", &ps);
	note_messages(&ps);
	ok(ps.nerrors == 0, "① and 髙 in remarks: no error");
	is_int(ps.n, 1, "① and 髙 in remarks: one warning");
	if (ps.n == 1) {
		ok(ps.v[0].sev == SEV_WARNING, "it is a warning");
		ok(strstr(ps.v[0].msg_ja, "①") && strstr(ps.v[0].msg_ja, "髙"), "the warning names ① and 髙");
		ok(strstr(ps.v[0].msg_en, "①") && strstr(ps.v[0].msg_en, "髙"), "the English one too");
		ok(!strstr(ps.v[0].msg_ja, "丸") && !strstr(ps.v[0].msg_ja, "字と"),
		   "the warning names no permitted character");
	}
	problems_free(&ps);
	is_int(value_count(ik, "remarks", "朝～夕", SEV_WARNING), 0, "～ (U+FF5E) gives no warning");
	is_int(value_count(ik, "remarks", "朝〜夕", SEV_WARNING), 0, "〜 (U+301C) gives no warning");
	is_int(value_count(ik, "remarks", "ABC abc 123 !\"#$%&'()*+,-./", SEV_WARNING), 0,
	       "printable ASCII gives no warning");
	is_int(value_count(ik, "name", "髙", SEV_WARNING), 1, "髙 in a text field: a warning");
	is_int(value_count(ik, "name", "髙", SEV_ERROR), 0, "髙 in a text field: no error");
	is_int(value_count(ik, "remarks", "絵文字😀", SEV_WARNING), 1, "an emoji: a warning");
	/* through the whole record: warnings do not count as errors */
	struct record *r = with(base_ik, "remarks", "①髙", "name", "試験　髙子1", NULL);
	size_t n = run(ik, r, CHECK_STORED, &ps);
	is_int(n, 0, "check_record counts no error for warnings");
	is_int(count_on(&ps, F(ik, "remarks"), SEV_WARNING), 1, "remarks warned once");
	is_int(count_on(&ps, F(ik, "name"), SEV_WARNING), 1, "name warned once");
	is_int(ps.nerrors, 0, "nerrors stays 0");
	problems_free(&ps);
	rec_free(r);
}

/* --- (b) fill items, messages, item numbers --- */

static void test_fill(void)
{
	static const char *const fills[] = { "format_version", "soft_name", "timestamp", "sent_date" };
	struct problems ps;
	/* stored: empty fill items pass, a filled one is refused */
	ok(run(ik, base_ik, CHECK_STORED, &ps) == 0, "stored check of the base record: no error");
	problems_free(&ps);
	rec_bad(ik, with(base_ik, "format_version", "1.3", NULL), "format_version", "送信時に自動",
		"stored record with format_version filled");
	rec_bad(ik, with(base_ik, "sent_date", "20260401", NULL), "sent_date", "送信時に自動",
		"stored record with sent_date filled");
	/* send: the fill items are required */
	run(ik, base_ik, CHECK_SEND, &ps);
	for (size_t i = 0; i < ARRAY_SIZE(fills); i++)
		ok(find_on(&ps, F(ik, fills[i]), SEV_ERROR, "必須") != NULL,
		   "send check without fill items: %s required", fills[i]);
	is_int(ps.nerrors, ARRAY_SIZE(fills), "send check without fill items: only those errors");
	problems_free(&ps);
	/* filled for sending at 2026-04-01 09:30:00 (Asia/Tokyo) */
	struct tm tm = { .tm_year = 126, .tm_mon = 3, .tm_mday = 1, .tm_hour = 9, .tm_min = 30, .tm_isdst = -1 };
	time_t now = mktime(&tm);
	struct record *r = rec_dup(base_ik);
	docio_fill_send(ik, r, now);
	if (!ok(run(ik, r, CHECK_SEND, &ps) == 0, "send check after docio_fill_send: no error"))
		show(&ps);
	problems_free(&ps);
	is_str(rec_val(r, "format_version"), "1.3", "format_version is the layout version");
	struct sbuf ts = { 0 };
	sbuf_printf(&ts, "%s01093000", rec_val(r, "insured_no"));
	is_str(rec_val(r, "timestamp"), ts.s, "timestamp is insured_no + DDHHMMSS");
	is_str(rec_val(r, "sent_date"), "20260401", "sent_date is the day");
	sbuf_free(&ts);
	ok(run(ik, r, CHECK_STORED, &ps) == ARRAY_SIZE(fills), "stored check of the filled record: 4 errors");
	problems_free(&ps);
	rec_free(r);
}

static void test_messages(void)
{
	/* the item number and label reported are the field's */
	struct record *r = with(base_ik, "insured_no", "123", NULL);
	struct problems ps;
	run(ik, r, CHECK_STORED, &ps);
	const struct problem *p = find_on(&ps, F(ik, "insured_no"), SEV_ERROR, NULL);
	if (ok(p != NULL, "a short insured_no is reported on insured_no")) {
		is_int(p->field->no, 6, "the problem's item number is 6");
		is_str(p->field->label, "被保険者番号", "the problem's label is the field's");
		struct sbuf line = { 0 };
		docio_problem_line(p, &line);
		struct sbuf want = { 0 };
		if (iken_lang_ja())
			sbuf_printf(&want, "項目6 (被保険者番号): ");
		else
			sbuf_printf(&want, "item 6 (Insured number): ");
		ok(line.s && strncmp(line.s, want.s, want.len) == 0, "the problem line starts '%s'", want.s);
		ok(line.s && strstr(line.s, problem_msg(p)), "the problem line holds the message");
		sbuf_free(&line);
		sbuf_free(&want);
	}
	problems_free(&ps);
	rec_free(r);
	/* an unknown field is a problem of the whole record */
	r = with(base_ik, "no_such_field", "1", NULL);
	run(ik, r, CHECK_STORED, &ps);
	{
		const struct problem *e = NULL;
		for (size_t i = 0; i < ps.n; i++)
			if (ps.v[i].sev == SEV_ERROR)
				e = &ps.v[i];
		ok(ps.nerrors == 1 && e && e->field == NULL && strstr(e->msg_en, "no_such_field"),
		   "an unknown field: one record-level error naming it");
	}
	problems_free(&ps);
	rec_free(r);
	/* a rule with its own message uses it in both languages */
	r = with(base_ik, "walking_aids", "000", NULL);
	run(ik, r, CHECK_STORED, &ps);
	p = find_on(&ps, F(ik, "walking_aids"), SEV_ERROR, NULL);
	ok(p && strcmp(p->msg_ja, "歩行補助具・装具の使用を1つ以上チェックしてください。") == 0 &&
	   strcmp(p->msg_en, "Walking aids: check at least one box.") == 0,
	   "a rule's message and message-en are used as written");
	problems_free(&ps);
	rec_free(r);
	/* a generic message names the condition */
	r = with(base_ik, "caution_bp", "2", "caution_bp_text", "", NULL);
	run(ik, r, CHECK_STORED, &ps);
	p = find_on(&ps, F(ik, "caution_bp_text"), SEV_ERROR, NULL);
	ok(p && strstr(p->msg_ja, "留意事項 血圧") && strstr(p->msg_ja, "あり") && strstr(p->msg_en, "Yes"),
	   "a generic required-when message names the condition's item and code label");
	problems_free(&ps);
	rec_free(r);
	/* every problem seen so far had both messages */
	ok(msgs_seen > 100 && msgs_bad == 0, "every problem (%zu seen) has msg_ja and msg_en", msgs_seen);
}

/* --- (b) the layout's own rules --- */

/* The base record with every paralysis and ataxia box clear. */
static struct record *no_paralysis(void)
{
	return with(base_ik, "paralysis_ru", "0", "paralysis_ru_level", "0", "paralysis_lu", "0",
		    "paralysis_lu_level", "0", "paralysis_rl", "0", "paralysis_rl_level", "0",
		    "paralysis_ll", "0", "paralysis_ll_level", "0", "paralysis_other", "0",
		    "paralysis_other_site", "", "paralysis_other_level", "0", "ataxia_upper", "00",
		    "ataxia_lower", "00", "ataxia_trunk", "00", NULL);
}

static void test_layout_ikensho(void)
{
	struct record *r;
	/* age on the written date */
	r = with(base_ik, "birth_date", "19400402", "written_date", "20260401", "last_exam_date", "20260401",
		 "age", "", NULL);
	derive_record(fs, ik, r, 0);
	is_str(rec_val(r, "age"), "85", "born 19400402, written 20260401: 85 (birthday not reached)");
	rec_ok(ik, r, "age 85 derived");
	r = with(base_ik, "birth_date", "19400401", "written_date", "20260401", "last_exam_date", "20260401",
		 NULL);
	derive_record(fs, ik, r, 0);
	is_str(rec_val(r, "age"), "86", "born 19400401, written 20260401: 86 (the birthday)");
	rec_free(r);
	rec_bad(ik, with(base_ik, "birth_date", "19400402", "written_date", "20260401", "last_exam_date",
			 "20260401", "age", "86", NULL), "age", "年齢が生年月日と記入日", "age 86 given for 85");
	r = with(base_ik, "birth_date", "19400229", "written_date", "20260228", "last_exam_date", "20260228",
		 NULL);
	derive_record(fs, ik, r, 0);
	is_str(rec_val(r, "age"), "85", "born 29 February: not a year older on 28 February");
	rec_free(r);
	r = with(base_ik, "age", "", NULL);
	derive_record(fs, ik, r, 1);
	ok(strcmp(rec_val(r, "age"), rec_val(base_ik, "age")) == 0, "derive_record(only_empty) fills an empty age");
	rec_free(r);
	r = with(base_ik, "age", "1", NULL);
	derive_record(fs, ik, r, 1);
	is_str(rec_val(r, "age"), "1", "derive_record(only_empty) leaves a given age for the check");
	rec_bad(ik, r, "age", "年齢", "a wrong given age");

	/* paralysis and ataxia */
	r = no_paralysis();
	rec_set(r, "paralysis_rl", "1");
	rec_set(r, "paralysis_rl_level", "2");
	derive_record(fs, ik, r, 0);
	is_str(rec_val(r, "paralysis"), "1", "paralysis_rl=1: paralysis derived 1");
	is_str(rec_val(r, "ataxia"), "0", "all ataxia boxes 0: ataxia derived 0");
	rec_ok(ik, r, "paralysis_rl=1 with level 2");
	r = no_paralysis();
	rec_set(r, "paralysis_rl", "1");
	rec_set(r, "paralysis_rl_level", "2");
	derive_record(fs, ik, r, 0);
	rec_set(r, "paralysis", "0");
	rec_bad(ik, r, "paralysis", "麻痺は", "paralysis 0 with paralysis_rl=1");
	r = no_paralysis();
	derive_record(fs, ik, r, 0);
	rec_set(r, "ataxia", "1");
	rec_bad(ik, r, "ataxia", "失調", "ataxia 1 with every box 0");
	r = no_paralysis();
	rec_set(r, "ataxia_trunk", "01");
	derive_record(fs, ik, r, 0);
	is_str(rec_val(r, "ataxia"), "1", "ataxia_trunk=01: ataxia derived 1");
	rec_free(r);
	r = no_paralysis();
	rec_set(r, "paralysis_rl", "1");
	derive_record(fs, ik, r, 0);
	rec_bad(ik, r, "paralysis_rl_level", "入力が必要", "paralysis_rl=1 without a level");
	r = no_paralysis();
	rec_set(r, "paralysis_rl_level", "2");
	derive_record(fs, ik, r, 0);
	rec_bad(ik, r, "paralysis_rl_level", "空欄", "a level without paralysis_rl");

	/* walking aids */
	rec_ok(ik, with(base_ik, "walking_aids", "100", NULL), "walking_aids 100");
	rec_ok(ik, with(base_ik, "walking_aids", "011", NULL), "walking_aids 011");
	rec_ok(ik, with(base_ik, "walking_aids", "010", NULL), "walking_aids 010");
	rec_bad(ik, with(base_ik, "walking_aids", "110", NULL), "walking_aids", "同時にチェックできません",
		"walking_aids 110");
	rec_bad(ik, with(base_ik, "walking_aids", "101", NULL), "walking_aids", "同時にチェックできません",
		"walking_aids 101");
	rec_bad(ik, with(base_ik, "walking_aids", "000", NULL), "walking_aids", "1つ以上", "walking_aids 000");

	/* other departments */
	rec_bad(ik, with(base_ik, "other_dept", "1", "other_depts", "0000000000000", "other_dept_text", "", NULL),
		"other_depts", "1つ以上", "other_dept=1 with no department");
	rec_bad(ik, with(base_ik, "other_dept", "2", "other_depts", "1000000000000", "other_dept_text", "", NULL),
		"other_depts", "チェックできません", "other_dept=2 with 内科 checked");
	rec_ok(ik, with(base_ik, "other_dept", "1", "other_depts", "1000000000000", "other_dept_text", "", NULL),
	       "other_dept=1 with 内科");
	rec_bad(ik, with(base_ik, "other_dept", "1", "other_depts", "0000000000001", "other_dept_text", "", NULL),
		"other_dept_text", "内容を記入", "その他 checked without the department");
	rec_ok(ik, with(base_ik, "other_dept", "1", "other_depts", "0000000000001", "other_dept_text", "試験科",
			NULL), "その他 checked with the department");
	rec_bad(ik, with(base_ik, "other_dept", "1", "other_depts", "1000000000000", "other_dept_text", "試験科",
			 NULL), "other_dept_text", "空欄", "department text without その他");

	/* medical services */
	rec_bad(ik, with(base_ik, "medical_services", "000000000002", "medical_services_other_text", "", NULL),
		"medical_services_other_text", "内容を記入", "medical_services 000000000002 without the service");
	rec_bad(ik, with(base_ik, "medical_services", "000000000001", "medical_services_other_text", "", NULL),
		"medical_services_other_text", "内容を記入", "medical_services 000000000001 without the service");
	rec_ok(ik, with(base_ik, "medical_services", "000000000002", "medical_services_other_text", "試験サービス",
			NULL), "medical_services 000000000002 with the service");
	rec_ok(ik, with(base_ik, "medical_services", "200000000000", "medical_services_other_text", "", NULL),
	       "medical_services 200000000000 without other service");

	/* dates */
	rec_bad(ik, with(base_ik, "written_date", "20260402", "last_exam_date", "20260301", NULL), "written_date",
		"未来", "written_date tomorrow");
	rec_bad(ik, with(base_ik, "last_exam_date", "20260331", "written_date", "20260330", NULL),
		"last_exam_date", "最終診察日", "last exam after the written date");
	rec_ok(ik, with(base_ik, "onset1", "不詳", NULL), "onset1 不詳 (not compared)");
	r = with(base_ik, "onset1", "2026", "written_date", "20260101", "last_exam_date", "20260101", NULL);
	derive_record(fs, ik, r, 0);
	rec_ok(ik, r, "onset1 2026 with written_date 20260101 (same year)");
	r = with(base_ik, "onset1", "202602", "written_date", "20260131", "last_exam_date", "20260131", NULL);
	derive_record(fs, ik, r, 0);
	rec_bad(ik, r, "onset1", "発症年月日1", "onset1 202602 after written_date 20260131");
	rec_bad(ik, with(base_ik, "diag2", "", "onset2", "2020", NULL), "onset2", "診断名2", "onset2 without diag2");
}

static struct record *invoice(const char *cat, const char *exam_done, const char *exam_fee,
			      const char *test_fee)
{
	struct record *r = with(base_sk, "written_date", "20260315", "invoice_date", "20260331", "fee_category",
				cat, "exam_done", exam_done, "exam_fee", exam_fee, "test_fee", test_fee, "fee", "",
				"subtotal", "", "tax", "", "total", "", NULL);
	derive_record(fs, sk, r, 0);
	return r;
}

static void test_layout_seikyu(void)
{
	struct record *r = invoice("1", "1", "1234", "0");
	is_str(rec_val(r, "fee"), "5000", "category 1 on 20260315: fee 5000");
	is_str(rec_val(r, "subtotal"), "6234", "subtotal 5000 + 1234 + 0");
	is_str(rec_val(r, "tax"), "623", "tax floor(6234 × 10 %%) = 623");
	is_str(rec_val(r, "total"), "6857", "total 6234 + 623");
	rec_ok(sk, r, "the computed invoice");
	r = invoice("1", "1", "1239", "");
	is_str(rec_val(r, "tax"), "623", "tax floor(6239 × 10 %%) = 623 (rounded down)");
	is_str(rec_val(r, "subtotal"), "6239", "an empty test fee counts 0");
	rec_free(r);
	r = invoice("2", "2", "", "");
	is_str(rec_val(r, "fee"), "4000", "category 2: fee 4000");
	is_str(rec_val(r, "total"), "4400", "category 2, no examination: total 4400");
	rec_free(r);
	r = invoice("4", "2", "0", "0");
	is_str(rec_val(r, "fee"), "3000", "category 4: fee 3000");
	rec_ok(sk, r, "exam_done=2 with exam and test fees 0");
	rec_ok(sk, invoice("3", "2", "", ""), "exam_done=2 with exam and test fees empty");

	r = invoice("1", "1", "1234", "0");
	rec_set(r, "fee", "4000");
	rec_bad(sk, r, "fee", "作成料が料金表", "fee 4000 for category 1");
	r = invoice("1", "1", "1234", "0");
	rec_set(r, "subtotal", "6000");
	rec_bad(sk, r, "subtotal", "小計", "a wrong subtotal");
	r = invoice("1", "1", "1234", "0");
	rec_set(r, "tax", "624");
	rec_bad(sk, r, "tax", "消費税額", "tax rounded up");
	r = invoice("1", "1", "1234", "0");
	rec_set(r, "total", "6856");
	rec_bad(sk, r, "total", "請求金額", "a wrong total");
	/* exam_done=2: 0 or empty, nothing else */
	r = invoice("1", "2", "1000", "");
	rec_bad(sk, r, "exam_fee", "診察料を0または空欄", "exam_done=2 with exam_fee 1000");
	r = invoice("1", "2", "", "500");
	rec_bad(sk, r, "test_fee", "検査料を0または空欄", "exam_done=2 with test_fee 500");
	/* derive_record(only_empty) keeps a given amount for the check to compare */
	r = with(base_sk, "fee_category", "1", "written_date", "20260315", "fee", "4000", "subtotal", "", "tax",
		 "", "total", "", NULL);
	derive_record(fs, sk, r, 1);
	is_str(rec_val(r, "fee"), "4000", "only_empty: a given fee is kept");
	rec_bad(sk, r, "fee", "作成料", "only_empty: the kept fee is refused by the check");
	/* dates of the invoice */
	rec_bad(sk, with(base_sk, "invoice_date", "20260402", NULL), "invoice_date", "未来", "invoice dated tomorrow");
	r = invoice("1", "1", "1234", "0");
	rec_set(r, "invoice_date", "20260314");
	rec_bad(sk, r, "written_date", "意見書記入日が請求年月日より後", "invoice before the opinion");
}

int main(void)
{
	const char *dir = getenv("IKEN_FORMS");
	if (!dir || !*dir)
		dir = forms_dir_default();
	struct sbuf errs = { 0 };
	if (formset_load(dir, &fs, &errs)) {
		printf("Bail out! cannot load the forms of %s: %s\n", dir, errs.s ? errs.s : "");
		return 1;
	}
	sbuf_free(&errs);
	ik = formset_get(fs, "ikensho");
	sk = formset_get(fs, "seikyu");
	if (!ik || !sk) {
		printf("Bail out! ikensho or seikyu missing in %s\n", dir);
		return 1;
	}
	struct gen g;
	gen_seed(&g, 20260401);
	base_ik = gen_record(&g, fs, ik, 0);
	base_sk = gen_record(&g, fs, sk, 0);

	test_all_rules();
	test_generated();
	test_types();
	test_charset();
	test_fill();
	test_layout_ikensho();
	test_layout_seikyu();
	test_messages();

	rec_free(base_ik);
	rec_free(base_sk);
	formset_free(fs);
	return done_testing();
}
