#include "config.h"
#include "model/charset.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* utf8_next over a byte string with explicit length (so NUL and truncation can be tested). */
static int32_t decode1(const char *s, size_t n, size_t *adv)
{
	const char *p = s;
	int32_t cp = utf8_next(&p, s + n);
	*adv = (size_t)(p - s);
	return cp;
}

static void test_decode(void)
{
	static const struct {
		const char *s;
		size_t n;
		int32_t cp;
		size_t adv;
		const char *what;
	} cases[] = {
		{ "A", 1, 'A', 1, "ASCII" },
		{ "\x7f", 1, 0x7F, 1, "DEL decodes (it is judged elsewhere)" },
		{ "\xc2\x80", 2, 0x80, 2, "smallest 2-byte" },
		{ "\xc3\xa9", 2, 0xE9, 2, "é" },
		{ "\xdf\xbf", 2, 0x7FF, 2, "largest 2-byte" },
		{ "\xe0\xa0\x80", 3, 0x800, 3, "smallest 3-byte" },
		{ "\xe3\x81\x82", 3, 0x3042, 3, "あ" },
		{ "\xed\x9f\xbf", 3, 0xD7FF, 3, "last before the surrogates" },
		{ "\xee\x80\x80", 3, 0xE000, 3, "first after the surrogates" },
		{ "\xef\xbf\xbf", 3, 0xFFFF, 3, "largest 3-byte" },
		{ "\xf0\x90\x80\x80", 4, 0x10000, 4, "smallest 4-byte" },
		{ "\xf0\x9f\x98\x80", 4, 0x1F600, 4, "emoji" },
		{ "\xf4\x8f\xbf\xbf", 4, 0x10FFFF, 4, "U+10FFFF" },
		{ "\xc0\x80", 2, -1, 1, "overlong NUL C0 80" },
		{ "\xc1\xbf", 2, -1, 1, "overlong C1 BF" },
		{ "\xe0\x80\xaf", 3, -1, 1, "overlong 3-byte '/'" },
		{ "\xe0\x9f\xbf", 3, -1, 1, "overlong 3-byte U+7FF" },
		{ "\xf0\x8f\xbf\xbf", 4, -1, 1, "overlong 4-byte U+FFFF" },
		{ "\xed\xa0\x80", 3, -1, 1, "surrogate ED A0 80" },
		{ "\xed\xbf\xbf", 3, -1, 1, "surrogate ED BF BF" },
		{ "\xf4\x90\x80\x80", 4, -1, 1, "U+110000" },
		{ "\xf5\x80\x80\x80", 4, -1, 1, "F5 lead" },
		{ "\xff", 1, -1, 1, "FF" },
		{ "\x80", 1, -1, 1, "stray continuation" },
		{ "\xe3\x81", 2, -1, 1, "truncated E3 81" },
		{ "\xe3\x81" "A", 3, -1, 1, "E3 81 then ASCII" },
		{ "\xf0\x9f\x98", 3, -1, 1, "truncated 4-byte" },
		{ "\xc3", 1, -1, 1, "lone lead" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t adv;
		int32_t cp = decode1(cases[i].s, cases[i].n, &adv);
		ok(cp == cases[i].cp && adv == cases[i].adv, "utf8_next: %s (got %ld, +%zu)",
		   cases[i].what, (long)cp, adv);
	}
	/* The end pointer is honoured even when the bytes after it would complete a sequence. */
	size_t adv;
	ok(decode1("\xe3\x81\x82", 2, &adv) == -1 && adv == 1, "utf8_next stops at end");
}

static void test_valid(void)
{
	ok(utf8_valid("", 0), "empty is valid");
	ok(utf8_valid("abc", 3), "ASCII valid");
	ok(utf8_valid("日本語ｱ😀", strlen("日本語ｱ😀")), "mixed valid");
	ok(!utf8_valid("a\0b", 3), "NUL invalid");
	ok(!utf8_valid("\xc0\x80", 2), "overlong NUL invalid");
	ok(!utf8_valid("\xed\xa0\x80", 3), "surrogate invalid");
	ok(!utf8_valid("\xf5\x80\x80\x80", 4), "F5 invalid");
	ok(!utf8_valid("\xe3\x81", 2), "truncated invalid");
	ok(!utf8_valid("ab\xe3\x81", 4), "truncated at the end invalid");
	ok(utf8_valid("\xe3\x81\x82", 3) && !utf8_valid("\xe3\x81\x82", 2), "length respected");

	is_int(utf8_len(""), 0, "utf8_len empty");
	is_int(utf8_len("abc"), 3, "utf8_len ASCII");
	is_int(utf8_len("日本語"), 3, "utf8_len kanji");
	is_int(utf8_len("aé日😀"), 4, "utf8_len 1-4 byte mix");
}

static void test_put(void)
{
	static const uint32_t cps[] = { 0, 'A', 0x7F, 0x80, 0x7FF, 0x800, 0x3042, 0xFFFF,
					0x10000, 0x1F600, 0x10FFFF };
	struct sbuf b = { 0 };

	for (size_t i = 0; i < ARRAY_SIZE(cps); i++) {
		sbuf_reset(&b);
		utf8_put(&b, cps[i]);
		const char *p = b.s;
		int32_t cp = utf8_next(&p, b.s + b.len);
		ok(cp == (int32_t)cps[i] && p == b.s + b.len, "utf8_put round trip U+%04X",
		   (unsigned)cps[i]);
	}
	sbuf_reset(&b);
	utf8_put(&b, 0xD800);
	is_str(b.s, "\xef\xbf\xbd", "utf8_put of a surrogate writes U+FFFD");
	sbuf_reset(&b);
	utf8_put(&b, 0x110000);
	is_str(b.s, "\xef\xbf\xbd", "utf8_put beyond U+10FFFF writes U+FFFD");
	sbuf_free(&b);
}

static void test_width(void)
{
	static const struct {
		uint32_t cp;
		int w;
		const char *what;
	} cases[] = {
		{ 'a', 1, "ASCII" },
		{ 0x00, 0, "NUL" },
		{ 0x09, 0, "TAB (control)" },
		{ 0x1B, 0, "ESC" },
		{ 0x7F, 0, "DEL" },
		{ 0x85, 0, "C1 control" },
		{ 0xE9, 1, "é" },
		{ 0x0301, 0, "combining acute" },
		{ 0x200B, 0, "zero width space" },
		{ 0xFEFF, 0, "BOM / ZWNBSP" },
		{ 0x00AD, 1, "soft hyphen is shown" },
		{ 0x3099, 0, "combining kana voiced mark" },
		{ 0x1100, 2, "Hangul choseong" },
		{ 0x1160, 0, "Hangul jungseong filler" },
		{ 0xAC00, 2, "Hangul syllable 가" },
		{ 0x3000, 2, "ideographic space" },
		{ 0x3001, 2, "、" },
		{ 0x301C, 2, "〜 wave dash" },
		{ 0x3042, 2, "あ" },
		{ 0x30A2, 2, "ア" },
		{ 0x30FC, 2, "ー" },
		{ 0x4E00, 2, "一" },
		{ 0x9FFF, 2, "end of CJK unified" },
		{ 0x3400, 2, "CJK extension A" },
		{ 0x20B9F, 2, "CJK extension B 𠮟" },
		{ 0xF929, 2, "CJK compatibility" },
		{ 0xFF21, 2, "full-width Ａ" },
		{ 0xFF5E, 2, "full-width tilde" },
		{ 0xFFE5, 2, "full-width yen" },
		{ 0xFF71, 1, "half-width ｱ" },
		{ 0xFF9F, 1, "half-width ﾟ" },
		{ 0x2460, 1, "① is ambiguous: 1" },
		{ 0x25CF, 1, "● is ambiguous: 1" },
		{ 0x0391, 1, "Greek Α is ambiguous: 1" },
		{ 0x2500, 1, "box drawing is ambiguous: 1" },
		{ 0x1F600, 2, "emoji 😀" },
		{ 0x1F37A, 2, "emoji 🍺" },
		{ 0x2705, 2, "✅ emoji presentation" },
		{ 0x1F1E6, 1, "regional indicator (neutral)" },
		{ 0xE000, 1, "private use" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(cp_width(cases[i].cp), cases[i].w, "cp_width U+%04X %s", (unsigned)cases[i].cp,
		       cases[i].what);

	is_int(utf8_width(""), 0, "width of empty");
	is_int(utf8_width("abc"), 3, "width of ASCII");
	is_int(utf8_width("日本"), 4, "width of 日本");
	is_int(utf8_width("ａbｃ日本"), 9, "width of ａbｃ日本");
	is_int(utf8_width("ｱｲｳ"), 3, "width of half-width kana");
	is_int(utf8_width("が"), 2, "precomposed が");
	is_int(utf8_width("か\xe3\x82\x99"), 2, "か + combining voiced mark");
	is_int(utf8_width("e\xcc\x81"), 1, "e + combining acute");
	is_int(utf8_width("a\xffz"), 3, "a stray byte takes one column");
}

static void test_fit(void)
{
	int used;

	is_int(utf8_fit("abc", 5, &used), 3, "fit: all of abc in 5");
	is_int(used, 3, "fit: used 3");
	is_int(utf8_fit("abc", 2, &used), 2, "fit: ab of abc in 2");
	is_int(used, 2, "fit: used 2");
	is_int(utf8_fit("日本語", 4, &used), 6, "fit: 日本 exactly in 4");
	is_int(used, 4, "fit: used 4");
	is_int(utf8_fit("日本語", 5, &used), 6, "fit: wide character at the edge left out");
	is_int(used, 4, "fit: used cols-1");
	is_int(utf8_fit("a日", 2, &used), 1, "fit: a日 in 2 → a");
	is_int(used, 1, "fit: used 1");
	is_int(utf8_fit("日", 1, &used), 0, "fit: a wide character does not fit in 1");
	is_int(used, 0, "fit: used 0");
	is_int(utf8_fit("abc", 0, &used), 0, "fit: nothing in 0");
	is_int(used, 0, "fit: used 0 of 0");
	is_int(utf8_fit("", 3, &used), 0, "fit: empty");
	is_int(utf8_fit("e\xcc\x81x", 1, &used), 3, "fit: a combining mark stays with its base");
	is_int(used, 1, "fit: combining mark takes no column");
	is_int(utf8_fit("か\xe3\x82\x99日", 3, &used), 6, "fit: か+voiced mark, 日 left out");
	is_int(used, 2, "fit: used 2 of 3");
	is_int(utf8_fit("ａbｃ日本", 6, &used), strlen("ａbｃ"), "fit: ａbｃ in 6 (日 straddles)");
	is_int(used, 5, "fit: used 5 of 6");
	is_int(utf8_fit("x😀", 2, &used), 1, "fit: emoji at the edge left out");
	is_int(utf8_fit("abc", 2, NULL), 2, "fit: used may be NULL");
}

static char *send(const char *s, size_t *replaced)
{
	struct sbuf b = { 0 };
	*replaced = charset_to_send(s, &b);
	return sbuf_take(&b);
}

static char *outside(const char *s, size_t *n)
{
	struct sbuf b = { 0 };
	*n = charset_outside(s, &b);
	return sbuf_take(&b);
}

static void test_glibc_mapping(void)
{
	/* What glibc's EUC-JP decodes the CP932-different cells to; the bitmap is built from
	 * iconv, so these are permitted as they are, and their CP932 twins only after mapping. */
	static const struct {
		uint32_t cp932, jis;
		const char *what;
	} diff[] = {
		{ 0xFF5E, 0x301C, "～ → 〜 (A1C1)" },
		{ 0xFF0D, 0x2212, "－ → − (A1DD)" },
		{ 0x2225, 0x2016, "∥ → ‖ (A1C2)" },
		{ 0xFFE0, 0x00A2, "￠ → ¢ (A1F1)" },
		{ 0xFFE1, 0x00A3, "￡ → £ (A1F2)" },
		{ 0xFFE2, 0x00AC, "￢ → ¬ (A2CC)" },
		{ 0x2014, 0x2015, "— → ― (A1BD)" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(diff); i++) {
		is_int(charset_jis_normalize(diff[i].cp932), diff[i].jis, "normalize %s", diff[i].what);
		ok(charset_permitted(diff[i].jis), "JIS code point permitted: %s", diff[i].what);
		ok(charset_permitted(diff[i].cp932), "CP932 variant permitted: %s", diff[i].what);
		is_int(charset_jis_normalize(diff[i].jis), diff[i].jis, "JIS code point kept: %s",
		       diff[i].what);
	}
	is_int(charset_jis_normalize('A'), 'A', "normalize leaves ASCII");
	is_int(charset_jis_normalize(0x3042), 0x3042, "normalize leaves あ");
	/* Cells where CP932 and glibc agree. */
	ok(charset_permitted(0xFF3C), "＼ (A1C0) permitted");
	ok(charset_permitted(0xFFE5), "￥ (A1EF) permitted");
	ok(charset_permitted(0xFFE3), "￣ (A1B1) permitted");
}

static void test_permitted(void)
{
	static const struct {
		uint32_t cp;
		int want;
		const char *what;
	} cases[] = {
		{ ' ', 1, "space" },
		{ '~', 1, "tilde" },
		{ 'A', 1, "A" },
		{ 0x1F, 0, "control 0x1F" },
		{ 0x7F, 0, "DEL" },
		{ '\t', 0, "TAB is not judged here" },
		{ 0x3000, 1, "ideographic space" },
		{ 0x3001, 1, "、" },
		{ 0x3042, 1, "あ" },
		{ 0x3094, 0, "ゔ (not in JIS X 0208)" },
		{ 0x30F4, 1, "ヴ" },
		{ 0x30F6, 1, "ヶ" },
		{ 0x30FC, 1, "ー" },
		{ 0xFF10, 1, "full-width ０" },
		{ 0xFF21, 1, "full-width Ａ" },
		{ 0x0391, 1, "Greek Α" },
		{ 0x0410, 1, "Cyrillic А" },
		{ 0x2500, 1, "box drawing ─" },
		{ 0x203B, 1, "※" },
		{ 0x25CF, 1, "● itself" },
		{ 0x4E9C, 1, "亜 (level 1 first)" },
		{ 0x8155, 1, "腕 (level 1 last)" },
		{ 0x5F0C, 1, "弌 (level 2 first)" },
		{ 0x7199, 1, "熙 (1990 addition)" },
		{ 0x51DC, 1, "凜 (1990 addition)" },
		{ 0x9AD9, 0, "髙 (IBM extension)" },
		{ 0x2460, 0, "① (NEC row 13)" },
		{ 0x2160, 0, "Ⅰ (NEC row 13)" },
		{ 0x3231, 0, "㈱ (NEC row 13)" },
		{ 0xFF71, 0, "half-width ｱ" },
		{ 0xFF61, 0, "half-width ｡" },
		{ 0xFF9F, 0, "half-width ﾟ" },
		{ 0xE9, 0, "é" },
		{ 0xA5, 0, "¥ (Latin-1)" },
		{ 0x1F600, 0, "emoji" },
		{ 0x20B9F, 0, "𠮟 (JIS X 0213)" },
		{ 0xAC00, 0, "Hangul" },
		{ 0xFFFD, 0, "U+FFFD" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(charset_permitted(cases[i].cp), cases[i].want, "permitted U+%04X %s",
		       (unsigned)cases[i].cp, cases[i].what);

	/* The whole set: printable ASCII plus the 6879 JIS X 0208 characters, each reached by
	 * exactly one code point once CP932 twins are left out. */
	size_t n = 0;
	for (uint32_t cp = 0; cp < 0x30000; cp++) {
		if (charset_permitted(cp) && charset_jis_normalize(cp) == cp)
			n++;
	}
	is_int(n, 95 + 6879, "permitted set is ASCII + 6879 JIS X 0208 characters");
}

static void test_send(void)
{
	size_t r, n;
	char *s;

	s = send("abc 日本語", &r);
	is_str(s, "abc 日本語", "to_send: permitted text unchanged");
	is_int(r, 0, "to_send: nothing replaced");
	free(s);

	s = send("10～20", &r);
	is_str(s, "10〜20", "to_send: typed ～ written as JIS 〜, not ●");
	is_int(r, 0, "to_send: ～ is not a replacement");
	free(s);

	s = send("－∥￠￡￢—", &r);
	is_str(s, "−‖¢£¬―", "to_send: CP932 variants normalized");
	is_int(r, 0, "to_send: no replacement for CP932 variants");
	free(s);

	s = send("ｱ①髙😀é", &r);
	is_str(s, "●●●●●", "to_send: outside characters become ●");
	is_int(r, 5, "to_send: five replaced");
	free(s);

	s = send("a\nb\vc", &r);
	is_str(s, "a\nb\vc", "to_send: LF and VT pass through");
	is_int(r, 0, "to_send: line breaks are not replaced");
	free(s);

	s = send("a\tb\rc\x1b" "d\x7f", &r);
	is_str(s, "a●b●c●d●", "to_send: TAB, CR, ESC, DEL become ●");
	is_int(r, 4, "to_send: four control characters replaced");
	free(s);

	s = send("", &r);
	is_str(s, "", "to_send: empty");
	is_int(r, 0, "to_send: empty replaces nothing");
	free(s);

	s = send("a\xffz", &r);
	is_str(s, "a●z", "to_send: a stray byte becomes ●");
	free(s);

	s = send("ｶﾞ", &r);
	is_str(s, "●●", "to_send: half-width ｶﾞ is two characters outside");
	is_int(r, 2, "to_send: two replaced");
	free(s);

	/* Appends to what the buffer holds. */
	struct sbuf b = { 0 };
	sbuf_puts(&b, "x,");
	charset_to_send("～", &b);
	is_str(b.s, "x,〜", "to_send appends");
	sbuf_free(&b);

	s = outside("日本😀aé😀ｱé①", &n);
	is_str(s, "😀éｱ①", "outside: distinct, in order of appearance");
	is_int(n, 4, "outside: count 4");
	free(s);

	s = outside("山田～太郎－∥", &n);
	is_str(s, "", "outside: CP932 variants are not outside");
	is_int(n, 0, "outside: count 0");
	free(s);

	s = outside("a\nb\vc\td", &n);
	is_str(s, "\t", "outside: TAB is, LF and VT are not");
	is_int(n, 1, "outside: count 1");
	free(s);

	s = outside("髙橋髙木", &n);
	is_str(s, "髙", "outside: repeated character listed once");
	is_int(n, 1, "outside: count 1 for 髙");
	free(s);

	s = outside("", &n);
	is_str(s, "", "outside: empty");
	is_int(n, 0, "outside: empty count 0");
	free(s);
}

static void test_kana(void)
{
	ok(charset_is_kana(""), "kana: empty is kana");
	ok(charset_is_kana("やまだ　たろう"), "kana: hiragana with full-width space");
	ok(charset_is_kana("ヤマダ　タロウ"), "kana: katakana");
	ok(charset_is_kana("ヴァイオリン"), "kana: ヴ and small kana");
	ok(charset_is_kana("ゔゕゖ"), "kana: ゔ ゕ ゖ (U+3094–3096)");
	ok(charset_is_kana("ヷヺ"), "kana: ヷ ヺ");
	ok(charset_is_kana("ゝゞヽヾ"), "kana: iteration marks");
	ok(charset_is_kana("ラーメン"), "kana: ー");
	ok(charset_is_kana("ぁ"), "kana: first hiragana U+3041");
	ok(!charset_is_kana("ヤマダ タロウ"), "kana: ASCII space is not");
	ok(!charset_is_kana("ヤマダ・タロウ"), "kana: ・ is not");
	ok(!charset_is_kana("ﾔﾏﾀﾞ"), "kana: half-width is not");
	ok(!charset_is_kana("山田"), "kana: kanji is not");
	ok(!charset_is_kana("ヤマダ1"), "kana: digit is not");
	ok(!charset_is_kana("か\xe3\x82\x99"), "kana: combining voiced mark is not");
	ok(!charset_is_kana("゛"), "kana: ゛ is not");
	ok(!charset_is_kana("ア\xff"), "kana: invalid UTF-8 is not");
}

int main(void)
{
	test_decode();
	test_valid();
	test_put();
	test_width();
	test_fit();
	test_glibc_mapping();
	test_permitted();
	test_send();
	test_kana();
	return done_testing();
}
