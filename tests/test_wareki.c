#include "config.h"
#include "model/wareki.h"
#include "errcode.h"
#include "util.h"
#include "tap.h"

#define TODAY "20260401"

static void test_date_valid(void)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{ "20260401", 1 }, { "18680101", 1 }, { "29991231", 1 }, { "18671231", 0 },
		{ "30000101", 0 }, { "20240229", 1 }, { "20230229", 0 }, { "21000229", 0 },
		{ "19000229", 0 }, { "20000229", 1 }, { "19960229", 1 }, { "20260230", 0 },
		{ "20260431", 0 }, { "20260430", 1 }, { "20260131", 1 }, { "20261231", 1 },
		{ "20261301", 0 }, { "20260001", 0 }, { "20260100", 0 }, { "20260132", 0 },
		{ "2026041", 0 },  { "202604011", 0 }, { "", 0 },        { "2026-4-1", 0 },
		{ "2026040a", 0 }, { " 2026040", 0 },  { "+2026040", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(date_valid(cases[i].s), cases[i].want, "date_valid(\"%s\")", cases[i].s);
	is_int(date_valid(NULL), 0, "date_valid(NULL)");
}

static void test_pdate_valid(void)
{
	static const struct {
		const char *s;
		int want;
	} cases[] = {
		{ "20260401", 1 }, { "20260230", 0 }, { "202604", 1 }, { "202613", 0 },
		{ "202600", 0 },   { "186801", 1 },   { "300001", 0 }, { "2026", 1 },
		{ "1868", 1 },     { "1867", 0 },     { "2999", 1 },   { "3000", 0 },
		{ "不詳", 1 },     { "不明", 0 },     { "", 0 },       { "20265", 0 },
		{ "202", 0 },      { "2026041", 0 },  { "2O26", 0 },   { "不詳 ", 0 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		is_int(pdate_valid(cases[i].s), cases[i].want, "pdate_valid(\"%s\")", cases[i].s);
	is_int(pdate_valid(NULL), 0, "pdate_valid(NULL)");
}

static void parse_ok(const char *in, const char *want)
{
	char out[9] = "x";
	int rc = wareki_parse(in, TODAY, out);
	if (!ok(rc == 0 && strcmp(out, want) == 0, "parse \"%s\" → %s", in, want))
		printf("#   rc %d, got '%s'\n", rc, out);
}

static void parse_bad(const char *in)
{
	char out[9] = "x";
	int rc = wareki_parse(in, TODAY, out);
	if (!ok(rc == IKEN_EDATA && out[0] == '\0', "parse \"%s\" rejected", in))
		printf("#   rc %d, got '%s'\n", rc, out);
}

static void test_parse(void)
{
	/* Letters, either case, and the forms staff type. */
	parse_ok("R8.4.1", "20260401");
	parse_ok("r8.4.1", "20260401");
	parse_ok("R08.04.01", "20260401");
	parse_ok("R8/4/1", "20260401");
	parse_ok("R8-4-1", "20260401");
	parse_ok("H2.3.4", "19900304");
	parse_ok("h2.3.4", "19900304");
	parse_ok("S20.1.1", "19450101");
	parse_ok("s20.8.15", "19450815");
	parse_ok("T10.5.5", "19210505");
	parse_ok("t10.5.5", "19210505");
	parse_ok("M30.1.1", "18970101");
	parse_ok("m30.1.1", "18970101");

	/* Kanji. */
	parse_ok("令和8年4月1日", "20260401");
	parse_ok("令和８年４月１日", "20260401");
	parse_ok("令和元年5月1日", "20190501");
	parse_ok("平成元年1月8日", "19890108");
	parse_ok("昭和元年12月25日", "19261225");
	parse_ok("大正元年7月30日", "19120730");
	parse_ok("明治元年10月23日", "18681023");
	parse_ok("令和 8年4月1日", "20260401");
	parse_ok("令和8年4月1", "20260401");
	parse_ok("R元.5.1", "20190501");
	parse_ok("2026年4月1日", "20260401");

	/* Full-width. */
	parse_ok("Ｒ８．４．１", "20260401");
	parse_ok("ｒ８．４．１", "20260401");
	parse_ok("Ｈ３１／４／３０", "20190430");
	parse_ok("２０２６－０４－０１", "20260401");
	parse_ok("２０２６０４０１", "20260401");

	/* No era: the era of today. */
	parse_ok("8.4.1", "20260401");
	parse_ok("８.４.１", "20260401");
	parse_ok("1.5.1", "20190501");
	parse_ok("元年5月1日", "20190501");
	parse_ok("8年4月1日", "20260401");

	/* Gregorian. */
	parse_ok("2026.4.1", "20260401");
	parse_ok("2026/4/1", "20260401");
	parse_ok("2026/04/01", "20260401");
	parse_ok("2026-04-01", "20260401");
	parse_ok("2026-4-1", "20260401");
	parse_ok("20260401", "20260401");
	parse_ok("2024.2.29", "20240229");
	parse_ok("2000/2/29", "20000229");
	parse_ok("1868.1.1", "18680101");

	/* Surrounding spaces. */
	parse_ok("  R8.4.1  ", "20260401");
	parse_ok("\tR8.4.1\t", "20260401");
	parse_ok("　令和8年4月1日　", "20260401");
	parse_ok(" 20260401 ", "20260401");

	/* Era boundaries: the first day of each era, the day before it with its letter. */
	parse_ok("R1.5.1", "20190501");
	parse_bad("R1.4.30");
	parse_ok("H31.4.30", "20190430");
	parse_ok("H1.1.8", "19890108");
	parse_bad("H1.1.7");
	parse_ok("S64.1.7", "19890107");
	parse_ok("S1.12.25", "19261225");
	parse_bad("S1.12.24");
	parse_ok("T15.12.24", "19261224");
	parse_ok("T1.7.30", "19120730");
	parse_bad("T1.7.29");
	parse_ok("M45.7.29", "19120729");
	parse_ok("M1.10.23", "18681023");
	parse_bad("M1.10.22");
	parse_bad("M1.1.1");

	/* An old era's letter past its end, within the year the next era began. */
	parse_ok("H31.5.1", "20190501");
	parse_ok("H31.12.31", "20191231");
	parse_bad("H32.1.1");
	parse_ok("S64.1.8", "19890108");
	parse_bad("S65.1.1");
	parse_ok("T15.12.31", "19261231");
	parse_bad("T16.1.1");
	parse_ok("M45.12.31", "19121231");
	parse_bad("M46.1.1");

	/* Leap years. */
	parse_ok("R6.2.29", "20240229");
	parse_bad("R7.2.29");
	parse_ok("H12.2.29", "20000229");
	parse_bad("M33.2.29"); /* 1900 */
	parse_bad("2100.2.29");
	parse_bad("21000229");
	parse_bad("1900/2/29");

	/* Impossible or malformed. */
	parse_bad("");
	parse_bad("   ");
	parse_bad("R0.4.1");
	parse_bad("令和0年4月1日");
	parse_bad("R8.2.30");
	parse_bad("令和8年2月30日");
	parse_bad("R8.13.1");
	parse_bad("R8.0.1");
	parse_bad("R8.4.0");
	parse_bad("R8.4.31");
	parse_bad("R8.4.");
	parse_bad("R8.4");
	parse_bad("R8");
	parse_bad("R.4.1");
	parse_bad("X8.4.1");
	parse_bad("R8.4.1.");
	parse_bad("R8.4.1x");
	parse_bad("R8/4-1");
	parse_bad("R8年4.1");
	parse_bad("R8.004.1");
	parse_bad("R8.4.001");
	parse_ok("R123.4.1", "21410401");
	parse_ok("R981.12.31", "29991231");
	parse_bad("R982.1.1");
	parse_bad("R1000.1.1");
	parse_bad("R2026.4.1");
	parse_bad("026.4.1");
	parse_bad("123.4.1");
	parse_bad("20260230");
	parse_bad("2026041");
	parse_bad("202604011");
	parse_bad("R20260401");
	parse_bad("1867.12.31");
	parse_bad("3000.1.1");
	parse_bad("2026 4 1");
	parse_bad("R 8 . 4 . 1");
	parse_bad("令和8年4月1日日");
	parse_bad("元.5.1x");
	parse_bad("令和元");
	parse_bad("abc");
	parse_bad("R8.4.1\xff");
	parse_bad("R-8.4.1");
	parse_bad("R8..4.1");
	parse_bad("999999999999.4.1");

	/* The era of today decides what an era-less year means. */
	char out[9];
	ok(wareki_parse("30.4.1", "20180401", out) == 0 && strcmp(out, "20180401") == 0,
	   "8.4.1-style in Heisei: 30.4.1 is H30");
	ok(wareki_parse("8.4.1", NULL, out) == IKEN_EDATA, "era-less without today rejected");
	ok(wareki_parse("8.4.1", "garbage", out) == IKEN_EDATA, "era-less with a bad today rejected");
	ok(wareki_parse("R8.4.1", NULL, out) == 0 && strcmp(out, "20260401") == 0,
	   "with an era, today is not needed");
	ok(wareki_parse(NULL, TODAY, out) == IKEN_EDATA, "NULL input rejected");
}

static void fmt_is(const char *ymd, enum wareki_style st, const char *want)
{
	char out[WAREKI_BUFSZ] = "x";
	int rc = wareki_format(ymd, st, out, sizeof(out));
	if (!ok(rc == 0 && strcmp(out, want) == 0, "format %s %s → %s", ymd,
		st == WAREKI_SHORT ? "short" : "long", want))
		printf("#   rc %d, got '%s'\n", rc, out);
}

static void fmt_bad(const char *ymd)
{
	char out[WAREKI_BUFSZ] = "x";
	int rc = wareki_format(ymd, WAREKI_LONG, out, sizeof(out));
	is_int(rc, IKEN_EDATA, "format \"%s\" rejected", ymd ? ymd : "(null)");
}

static void test_format(void)
{
	fmt_is("20260401", WAREKI_SHORT, "R8.4.1");
	fmt_is("20260401", WAREKI_LONG, "令和8年4月1日");
	fmt_is("20190501", WAREKI_SHORT, "R1.5.1");
	fmt_is("20190501", WAREKI_LONG, "令和元年5月1日");
	fmt_is("20190430", WAREKI_LONG, "平成31年4月30日");
	fmt_is("20190430", WAREKI_SHORT, "H31.4.30");
	fmt_is("19890108", WAREKI_LONG, "平成元年1月8日");
	fmt_is("19890107", WAREKI_LONG, "昭和64年1月7日");
	fmt_is("19261225", WAREKI_LONG, "昭和元年12月25日");
	fmt_is("19261224", WAREKI_LONG, "大正15年12月24日");
	fmt_is("19120730", WAREKI_SHORT, "T1.7.30");
	fmt_is("19120729", WAREKI_SHORT, "M45.7.29");
	fmt_is("18681023", WAREKI_LONG, "明治元年10月23日");
	fmt_is("19450815", WAREKI_SHORT, "S20.8.15");
	fmt_is("29991231", WAREKI_SHORT, "R981.12.31");
	fmt_bad("18681022");
	fmt_bad("18680101");

	/* Partial dates: the era in force at the end of the month or year. */
	fmt_is("202604", WAREKI_LONG, "令和8年4月");
	fmt_is("202604", WAREKI_SHORT, "R8.4");
	fmt_is("2026", WAREKI_LONG, "令和8年");
	fmt_is("2026", WAREKI_SHORT, "R8");
	fmt_is("201905", WAREKI_LONG, "令和元年5月");
	fmt_is("201904", WAREKI_LONG, "平成31年4月");
	fmt_is("2019", WAREKI_LONG, "令和元年");
	fmt_is("1989", WAREKI_LONG, "平成元年");
	fmt_is("198901", WAREKI_SHORT, "H1.1");
	fmt_is("1926", WAREKI_SHORT, "S1");
	fmt_is("1912", WAREKI_LONG, "大正元年");
	fmt_is("1868", WAREKI_LONG, "明治元年");
	fmt_is("186810", WAREKI_SHORT, "M1.10");
	fmt_bad("186809");
	fmt_is("不詳", WAREKI_LONG, "不詳");
	fmt_is("不詳", WAREKI_SHORT, "不詳");

	fmt_bad("20260230");
	fmt_bad("202613");
	fmt_bad("");
	fmt_bad("abc");
	fmt_bad("R8.4.1");
	fmt_bad(NULL);

	char small[8] = "x";
	is_int(wareki_format("20260401", WAREKI_LONG, small, sizeof(small)), IKEN_ELIMIT,
	       "format into a too small buffer");
	is_str(small, "", "too small buffer left empty");
	is_int(wareki_format("20260401", WAREKI_SHORT, small, sizeof(small)), 0,
	       "R8.4.1 fits in 8 bytes");
	is_int(wareki_format("20260401", WAREKI_SHORT, small, 6), IKEN_ELIMIT,
	       "R8.4.1 does not fit in 6 bytes");
	is_int(wareki_format("20260401", WAREKI_SHORT, small, 0), IKEN_ELIMIT, "outsz 0");

	/* Every valid date of the range parses back from both styles. */
	int bad = 0, n = 0;
	for (int y = 1868; y <= 2999 && bad < 5; y++) {
		for (int m = 1; m <= 12; m++) {
			for (int d = 1; d <= 31; d++) {
				char ymd[16], s[WAREKI_BUFSZ], l[WAREKI_BUFSZ], back[9];
				snprintf(ymd, sizeof(ymd), "%04d%02d%02d", y, m, d);
				if (!date_valid(ymd) || strcmp(ymd, "18681023") < 0)
					continue;
				n++;
				if (wareki_format(ymd, WAREKI_SHORT, s, sizeof(s)) ||
				    wareki_parse(s, TODAY, back) || strcmp(back, ymd) ||
				    wareki_format(ymd, WAREKI_LONG, l, sizeof(l)) ||
				    wareki_parse(l, TODAY, back) || strcmp(back, ymd)) {
					printf("# round trip failed: %s\n", ymd);
					bad++;
				}
			}
		}
	}
	ok(bad == 0 && n > 400000, "format/parse round trip of %d dates", n);
}

static void test_age(void)
{
	is_int(age_on("19800401", "20260401"), 46, "age on the birthday");
	is_int(age_on("19800401", "20260331"), 45, "age the day before");
	is_int(age_on("19800402", "20260401"), 45, "age one day short");
	is_int(age_on("19801231", "20260101"), 45, "born 31 Dec, on 1 Jan");
	is_int(age_on("20260401", "20260401"), 0, "born today");
	is_int(age_on("20250401", "20260331"), 0, "364 days old");
	is_int(age_on("20000229", "20250228"), 24, "29 Feb: not yet on 28 Feb of a common year");
	is_int(age_on("20000229", "20250301"), 25, "29 Feb: on 1 Mar of a common year");
	is_int(age_on("20000229", "20240228"), 23, "29 Feb: not yet on 28 Feb of a leap year");
	is_int(age_on("20000229", "20240229"), 24, "29 Feb: on 29 Feb of a leap year");
	is_int(age_on("20260402", "20260401"), -1, "date before birth");
	is_int(age_on("20260230", "20260401"), -1, "invalid birth");
	is_int(age_on("20260101", "2026"), -1, "invalid date");
	is_int(age_on(NULL, "20260401"), -1, "NULL birth");
	is_int(age_on("18680101", "29991231"), 1131, "whole range");
}

int main(void)
{
	test_date_valid();
	test_pdate_valid();
	test_parse();
	test_format();
	test_age();
	return done_testing();
}
