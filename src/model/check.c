#include "config.h"
#include "model/check.h"
#include "model/charset.h"
#include "errcode.h"
#include "model/wareki.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void problems_free(struct problems *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->v[i].msg_ja);
		free(ps->v[i].msg_en);
	}
	free(ps->v);
	memset(ps, 0, sizeof(*ps));
}

const char *problem_msg(const struct problem *p)
{
	return iken_lang_ja() ? p->msg_ja : p->msg_en;
}

static void add(struct problems *ps, const struct field *fld, enum severity sev, char *ja, char *en)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 16;
		ps->v = xrealloc(ps->v, ps->cap * sizeof(*ps->v));
	}
	ps->v[ps->n++] = (struct problem){ fld, sev, ja, en };
	if (sev == SEV_ERROR)
		ps->nerrors++;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	struct sbuf b = { 0 };
	va_list ap;
	va_start(ap, f);
	sbuf_vprintf(&b, f, ap);
	va_end(ap);
	return sbuf_take(&b);
}

#define PROBLEM(ps, fld, ja, en, ...) add(ps, fld, SEV_ERROR, fmt(ja, __VA_ARGS__), fmt(en, __VA_ARGS__))
#define PROBLEM0(ps, fld, ja, en) add(ps, fld, SEV_ERROR, xstrdup(ja), xstrdup(en))

/* --- values --- */

static int all_in(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

int field_value_empty(const struct field *fld, const char *v)
{
	if (!v || !*v)
		return 1;
	if (fld->type == FT_CODE)
		return strcmp(v, "0") == 0;
	if (fld->type == FT_BITS)
		return all_in(v, "0");
	return 0;
}

/* The value a reference names: the field's value, or one digit of it ("" past its end). */
static const char *ref_value(const struct record *r, const struct fref *ref, char digit[2])
{
	const char *v = rec_val(r, ref->field->id);
	if (!ref->digit)
		return v;
	size_t len = strlen(v);
	/* A digit not entered yet reads as 0: nothing chosen. */
	digit[0] = (size_t)ref->digit <= len ? v[ref->digit - 1] : '0';
	digit[1] = '\0';
	return digit;
}

static int ref_set(const struct record *r, const struct fref *ref)
{
	char d[2];
	const char *v = ref_value(r, ref, d);
	if (ref->digit)
		return v[0] && v[0] != '0';
	return !field_value_empty(ref->field, v);
}

static int cond_holds(const struct record *r, const struct cond *c)
{
	char d[2];
	const char *v;
	switch (c->op) {
	case COND_NONE:
		return 1;
	case COND_SET:
		return ref_set(r, &c->ref);
	case COND_EMPTY:
		return !ref_set(r, &c->ref);
	case COND_EQ:
	case COND_NE:
		v = ref_value(r, &c->ref, d);
		/* An unchosen code is "0" whether stored as "" or "0". */
		if (!*v && c->ref.field->type == FT_CODE)
			v = "0";
		return (strcmp(v, c->value) == 0) == (c->op == COND_EQ);
	}
	return 0;
}

/* Label of a reference for messages: "他科(その他)" for a digit of a bits field. */
static char *ref_label(const struct fref *ref, int en)
{
	const struct field *f = ref->field;
	const char *label = en ? f->label_en : f->label;
	if (!ref->digit)
		return fmt(en ? "%s (item %d)" : "%s(項目%d)", label, f->no);
	if (f->type == FT_BITS && f->bit_labels)
		return fmt(en ? "%s: %s (item %d)" : "%s「%s」(項目%d)", label,
			   en ? f->bit_labels_en[ref->digit - 1] : f->bit_labels[ref->digit - 1], f->no);
	return fmt(en ? "%s digit %d (item %d)" : "%s の%d桁目(項目%d)", label, ref->digit, f->no);
}

/* The condition in words: "症状としての安定性(項目41) が「不安定」". */
static char *cond_text(const struct cond *c, int en)
{
	char *label = ref_label(&c->ref, en);
	char *s;
	const char *val = c->value;
	if (val && c->ref.field->type == FT_CODE) {
		const struct code *code = codelist_find(c->ref.field->codes, val);
		if (code)
			val = en ? code->label_en : code->label;
	}
	switch (c->op) {
	case COND_EQ:
		s = c->ref.digit ? fmt(en ? "%s is %s" : "%sが%s", label,
				       strcmp(c->value, "1") == 0 ? (en ? "checked" : "チェックあり") : val)
				 : fmt(en ? "%s is \"%s\"" : "%sが「%s」", label, val);
		break;
	case COND_NE:
		s = c->ref.digit ? fmt(en ? "%s is not %s" : "%sが%s", label,
				       strcmp(c->value, "1") == 0 ? (en ? "checked" : "チェックなし") : val)
				 : fmt(en ? "%s is not \"%s\"" : "%sが「%s」以外", label, val);
		break;
	case COND_SET:
		s = fmt(en ? "%s is filled in" : "%sに記入がある", label);
		break;
	case COND_EMPTY:
		s = fmt(en ? "%s is empty" : "%sが空", label);
		break;
	default:
		s = xstrdup("");
	}
	free(label);
	return s;
}

/* --- single values --- */

static int is_ascii_print(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int is_decimal(const char *s)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 9)
		return 0;
	if (s[n] == '\0')
		return 1;
	return s[n] == '.' && s[n + 1] >= '0' && s[n + 1] <= '9' && s[n + 2] == '\0';
}

static int is_yen(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && n <= 9 && s[n] == '\0';
}

static void check_length(const struct field *fld, const char *v, struct problems *out)
{
	size_t n = utf8_len(v);
	if (fld->length > 0 && fld->type != FT_BITS && n != (size_t)fld->length)
		PROBLEM(out, fld, "%d桁で入力してください(現在%zu桁)",
			"must be exactly %d characters (now %zu)", fld->length, n);
	if (fld->max >= 0 && n > (size_t)fld->max)
		PROBLEM(out, fld, "%d文字以内で入力してください(現在%zu文字)",
			"must be at most %d characters (now %zu)", fld->max, n);
}

static void check_text_chars(const struct field *fld, const char *v, int multiline,
			     struct problems *out)
{
	for (const char *p = v; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n' && multiline)
			continue;
		if (c == '\n') {
			PROBLEM0(out, fld, "改行は入力できません", "line breaks are not allowed here");
			return;
		}
		if (c < 0x20 || c == 0x7f) {
			PROBLEM(out, fld, "制御文字(0x%02X)は入力できません",
				"control character 0x%02X is not allowed", c);
			return;
		}
	}
	struct sbuf bad = { 0 };
	if (charset_outside(v, &bad))
		add(out, fld, SEV_WARNING,
		    fmt("送信できない文字「%s」は送信時に●になります", bad.s),
		    fmt("characters outside the permitted set will be sent as ●: %s", bad.s));
	sbuf_free(&bad);
}

void check_value(const struct field *fld, const char *v, struct problems *out)
{
	if (!v || !*v)
		return;
	if (!utf8_valid(v, strlen(v))) {
		PROBLEM0(out, fld, "文字コードが正しくありません(UTF-8ではありません)",
			 "invalid UTF-8 text");
		return;
	}
	switch (fld->type) {
	case FT_DIGITS:
		if (!all_in(v, "0123456789"))
			PROBLEM0(out, fld, "半角数字で入力してください", "digits 0-9 only");
		else if (fld->digit_values && !all_in(v, fld->digit_values))
			PROBLEM(out, fld, "各桁は %s のいずれかで入力してください",
				"each digit must be one of %s", fld->digit_values);
		else
			check_length(fld, v, out);
		break;
	case FT_ALNUM:
		if (!is_ascii_print(v))
			PROBLEM0(out, fld, "半角英数字で入力してください", "printable ASCII only");
		else
			check_length(fld, v, out);
		break;
	case FT_PHONE:
		if (!all_in(v, "0123456789-") || !strpbrk(v, "0123456789"))
			PROBLEM0(out, fld, "電話番号は半角数字と-で入力してください",
				 "a phone number is digits and -");
		else
			check_length(fld, v, out);
		break;
	case FT_TEXT:
	case FT_TEXTAREA:
		check_length(fld, v, out);
		check_text_chars(fld, v, fld->type == FT_TEXTAREA, out);
		break;
	case FT_KANA:
		if (!charset_is_kana(v))
			PROBLEM0(out, fld, "全角ひらがな・カタカナで入力してください",
				 "full-width hiragana or katakana only");
		else
			check_length(fld, v, out);
		break;
	case FT_DATE:
		if (!date_valid(v))
			PROBLEM(out, fld, "日付が正しくありません(%s)", "not a valid date (%s)", v);
		break;
	case FT_PDATE:
		if (!pdate_valid(v))
			PROBLEM(out, fld, "日付が正しくありません(%s: 年月日・年月・年または不詳)",
				"not a valid date (%s: YYYYMMDD, YYYYMM, YYYY or 不詳)", v);
		break;
	case FT_CODE:
		if (strcmp(v, "0") != 0 && !codelist_find(fld->codes, v)) {
			struct sbuf list = { 0 };
			for (size_t i = 0; fld->codes && i < fld->codes->n; i++)
				sbuf_printf(&list, "%s%s", i ? "," : "", fld->codes->codes[i].value);
			PROBLEM(out, fld, "選択肢にない値です(%s; 選べるのは %s)",
				"not one of the choices (%s; choose %s)", v, list.s ? list.s : "");
			sbuf_free(&list);
		}
		break;
	case FT_BITS:
		if (!all_in(v, "01") || strlen(v) != (size_t)fld->length)
			PROBLEM(out, fld, "0と1の%d桁で入力してください", "must be %d digits of 0 and 1",
				fld->length);
		break;
	case FT_DECIMAL:
		if (!is_decimal(v))
			PROBLEM0(out, fld, "数値(小数点以下1桁まで)で入力してください",
				 "a number with at most one decimal place");
		break;
	case FT_YEN:
		if (!is_yen(v))
			PROBLEM0(out, fld, "金額は0以上の整数(円)で入力してください",
				 "an amount in whole yen, 0 or more");
		break;
	case FT__COUNT:
		break;
	}
	if ((fld->type == FT_DECIMAL || fld->type == FT_YEN) && out &&
	    (is_decimal(v) || is_yen(v))) {
		double x = atof(v);
		if ((fld->min_value && x < atof(fld->min_value)) ||
		    (fld->max_value && x > atof(fld->max_value)))
			PROBLEM(out, fld, "%s〜%sの範囲で入力してください", "must be between %s and %s",
				fld->min_value ? fld->min_value : "", fld->max_value ? fld->max_value : "");
	}
}

/* --- derivations --- */

static int yen_of(const struct record *r, const char *id, long *sum)
{
	const char *v = rec_val(r, id);
	if (!*v)
		return 0;
	if (!is_yen(v))
		return -1;
	*sum += atol(v);
	return 0;
}

/* Computes a derived value into out ("" when its inputs are missing or invalid). */
static void derive_one(const struct formset *fs, const struct rule *ru, const struct record *r,
		       struct sbuf *out)
{
	sbuf_reset(out);
	long sum = 0;
	switch (ru->kind) {
	case RULE_DERIVE_AGE: {
		int age = age_on(rec_val(r, ru->refs[0].field->id), rec_val(r, ru->field2->id));
		if (age >= 0)
			sbuf_printf(out, "%d", age);
		break;
	}
	case RULE_DERIVE_ANY_SET: {
		int any = 0;
		for (size_t i = 0; i < ru->nrefs; i++)
			any |= ref_set(r, &ru->refs[i]);
		sbuf_puts(out, any ? "1" : "0");
		break;
	}
	case RULE_DERIVE_SUM:
		for (size_t i = 0; i < ru->nrefs; i++)
			if (yen_of(r, ru->refs[i].field->id, &sum))
				return;
		sbuf_printf(out, "%ld", sum);
		break;
	case RULE_DERIVE_FEE: {
		const struct fee_period *p = fee_period_on(fs ? fs->fees : NULL, rec_val(r, ru->field2->id));
		long yen;
		if (p && fee_lookup(p, rec_val(r, ru->field3->id), &yen) == 0)
			sbuf_printf(out, "%ld", yen);
		break;
	}
	case RULE_DERIVE_TAX: {
		const struct fee_period *p = fee_period_on(fs ? fs->fees : NULL, rec_val(r, ru->field2->id));
		if (!p)
			return;
		for (size_t i = 0; i < p->ntaxable; i++)
			if (yen_of(r, p->taxable[i], &sum))
				return;
		/* floor(taxable × rate) in integers: no rounding surprises from floating point */
		sbuf_printf(out, "%ld", sum * p->tax_percent / 100);
		break;
	}
	default:
		break;
	}
}

static int is_derive(enum rule_kind k)
{
	return k >= RULE_DERIVE_AGE;
}

void derive_record(const struct formset *fs, const struct form *f, struct record *r, int only_empty)
{
	struct sbuf v = { 0 };
	for (size_t i = 0; i < f->nrules; i++) {
		const struct rule *ru = &f->rules[i];
		if (!is_derive(ru->kind) || (only_empty && *rec_val(r, ru->field->id)))
			continue;
		derive_one(fs, ru, r, &v);
		rec_set(r, ru->field->id, v.s ? v.s : "");
	}
	sbuf_free(&v);
}

/* --- cross-field rules --- */

/* Compares two (partial) dates on the part both know: -1, 0, 1; 2 when not comparable. */
static int pdate_cmp(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (!la || !lb || !all_in(a, "0123456789") || !all_in(b, "0123456789"))
		return 2;
	size_t n = la < lb ? la : lb;
	int c = strncmp(a, b, n);
	return c < 0 ? -1 : c > 0 ? 1 : 0;
}

static void rule_message(struct problems *out, const struct field *fld, const struct rule *ru,
			 char *ja, char *en)
{
	if (ru->message) {
		free(ja);
		ja = xstrdup(ru->message);
	}
	if (ru->message_en) {
		free(en);
		en = xstrdup(ru->message_en);
	}
	add(out, fld, SEV_ERROR, ja, en);
}

static void check_rule(const struct formset *fs, const struct rule *ru, const struct record *r,
		       const char *today, struct problems *out)
{
	const struct field *fld = ru->field;
	char *cj, *ce;
	switch (ru->kind) {
	case RULE_REQUIRED_WHEN:
		if (cond_holds(r, &ru->cond) && field_value_empty(fld, rec_val(r, fld->id))) {
			cj = cond_text(&ru->cond, 0);
			ce = cond_text(&ru->cond, 1);
			rule_message(out, fld, ru, fmt("%sのとき入力が必要です", cj),
				     fmt("required when %s", ce));
			free(cj);
			free(ce);
		}
		break;
	case RULE_EMPTY_WHEN:
		/* here (only) an amount of 0 yen counts as empty: "0 or empty when …" */
		if (cond_holds(r, &ru->cond) && !field_value_empty(fld, rec_val(r, fld->id)) &&
		    !(fld->type == FT_YEN && strcmp(rec_val(r, fld->id), "0") == 0)) {
			cj = cond_text(&ru->cond, 0);
			ce = cond_text(&ru->cond, 1);
			rule_message(out, fld, ru, fmt("%sのときは空欄にしてください", cj),
				     fmt("must be empty when %s", ce));
			free(cj);
			free(ce);
		}
		break;
	case RULE_AT_LEAST_ONE: {
		if (!cond_holds(r, &ru->cond))
			break;
		int any = 0;
		for (size_t i = 0; i < ru->nrefs; i++)
			any |= ref_set(r, &ru->refs[i]);
		if (any)
			break;
		struct sbuf lj = { 0 }, le = { 0 };
		for (size_t i = 0; i < ru->nrefs; i++) {
			char *a = ref_label(&ru->refs[i], 0), *b = ref_label(&ru->refs[i], 1);
			sbuf_printf(&lj, "%s%s", i ? "・" : "", a);
			sbuf_printf(&le, "%s%s", i ? ", " : "", b);
			free(a);
			free(b);
		}
		if (ru->cond.op != COND_NONE) {
			cj = cond_text(&ru->cond, 0);
			ce = cond_text(&ru->cond, 1);
			rule_message(out, fld, ru, fmt("%sのときは%sのいずれかを選んでください", cj, lj.s),
				     fmt("when %s, choose at least one of %s", ce, le.s));
			free(cj);
			free(ce);
		} else {
			rule_message(out, fld, ru, fmt("%sのいずれかを選んでください", lj.s),
				     fmt("choose at least one of %s", le.s));
		}
		sbuf_free(&lj);
		sbuf_free(&le);
		break;
	}
	case RULE_EXCLUSIVE:
		if (!ref_set(r, &ru->ref))
			break;
		for (size_t i = 0; i < ru->nrefs; i++) {
			if (!ref_set(r, &ru->refs[i]))
				continue;
			char *a = ref_label(&ru->ref, 0), *b = ref_label(&ru->refs[i], 0);
			char *c = ref_label(&ru->ref, 1), *d = ref_label(&ru->refs[i], 1);
			rule_message(out, fld, ru, fmt("%sと%sは同時に選べません", a, b),
				     fmt("%s and %s cannot both be chosen", c, d));
			free(a);
			free(b);
			free(c);
			free(d);
			break;
		}
		break;
	case RULE_DATE_ORDER: {
		const char *a = rec_val(r, fld->id);
		const char *b = ru->field2 ? rec_val(r, ru->field2->id) : today;
		int c = pdate_cmp(a, b ? b : "");
		if (c == 2 || (c < 0) || (c == 0 && !ru->strict))
			break;
		const char *bj = ru->field2 ? ru->field2->label : "今日";
		const char *be = ru->field2 ? ru->field2->label_en : "today";
		if (ru->strict)
			rule_message(out, fld, ru, fmt("%sより前の日付にしてください", bj),
				     fmt("must be before %s", be));
		else
			rule_message(out, fld, ru, fmt("%sより後の日付は入力できません", bj),
				     fmt("must not be after %s", be));
		break;
	}
	case RULE_RANGE: {
		const char *v = rec_val(r, fld->id);
		if (!*v || !(is_decimal(v) || is_yen(v)))
			break;
		double x = atof(v);
		if ((ru->min && x < atof(ru->min)) || (ru->max && x > atof(ru->max)))
			rule_message(out, fld, ru,
				     fmt("%s〜%sの範囲で入力してください", ru->min ? ru->min : "",
					 ru->max ? ru->max : ""),
				     fmt("must be between %s and %s", ru->min ? ru->min : "",
					 ru->max ? ru->max : ""));
		break;
	}
	default: {
		struct sbuf want = { 0 };
		derive_one(fs, ru, r, &want);
		const char *have = rec_val(r, fld->id);
		if (want.s && *want.s && strcmp(want.s, have) != 0)
			rule_message(out, fld, ru,
				     fmt("計算値%sと一致しません(入力値%s)", want.s, *have ? have : "空欄"),
				     fmt("does not match the computed value %s (given: %s)", want.s,
					 *have ? have : "empty"));
		sbuf_free(&want);
		break;
	}
	}
}

size_t check_record(const struct formset *fs, const struct form *f, const struct record *r,
		    enum check_mode mode, const char *today_ymd, struct problems *out)
{
	size_t before = out->nerrors;
	for (size_t i = 0; i < f->nfields; i++) {
		const struct field *fld = &f->fields[i];
		const char *v = rec_val(r, fld->id);
		if (fld->fill != FILL_NONE && mode == CHECK_STORED) {
			if (*v)
				PROBLEM0(out, fld, "送信時に自動で設定される項目です。空欄にしてください",
					 "filled in when the file is sent; leave it empty");
			continue;
		}
		int required = fld->required || (fld->fill != FILL_NONE && mode == CHECK_SEND);
		if (required && (!*v || (fld->type == FT_CODE && strcmp(v, "0") == 0))) {
			PROBLEM0(out, fld, fld->type == FT_CODE ? "選択してください(必須)" : "入力が必要です(必須)",
				 fld->type == FT_CODE ? "required: choose one" : "required");
			continue;
		}
		check_value(fld, v, out);
	}
	for (size_t i = 0; i < r->n; i++)
		if (!form_field(f, r->keys[i]))
			add(out, NULL, SEV_ERROR, fmt("不明な項目 %s", r->keys[i]),
			    fmt("unknown field %s", r->keys[i]));
	for (size_t i = 0; i < f->nrules; i++)
		check_rule(fs, &f->rules[i], r, today_ymd, out);
	return out->nerrors - before;
}
