#include "config.h"
#include "model/wareki.h"
#include "model/charset.h"
#include "errcode.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* The eras, oldest first. An era runs from its start to the day before the next one's.
 * Meiji officially began on 1868-10-23 (the change was backdated to the lunar new year, but
 * the calendar before 1873 was lunar anyway); dates before it have no era here. */
static const struct era {
	const char *name;
	char letter;
	long start; /* YYYYMMDD */
} eras[] = {
	{ "明治", 'M', 18681023 },
	{ "大正", 'T', 19120730 },
	{ "昭和", 'S', 19261225 },
	{ "平成", 'H', 19890108 },
	{ "令和", 'R', 20190501 },
};

#define ERA_COUNT ((int)ARRAY_SIZE(eras))
#define YEAR_MIN 1868
#define YEAR_MAX 2999

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

static int ymd_ok(int y, int m, int d)
{
	return y >= YEAR_MIN && y <= YEAR_MAX && m >= 1 && m <= 12 && d >= 1 &&
	       d <= days_in_month(y, m);
}

/* Value of exactly n ASCII digits at s, or -1. */
static long fixed_digits(const char *s, size_t n)
{
	long v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int date_valid(const char *ymd)
{
	long v;

	if (!ymd || strlen(ymd) != 8 || (v = fixed_digits(ymd, 8)) < 0)
		return 0;
	return ymd_ok((int)(v / 10000), (int)(v / 100 % 100), (int)(v % 100));
}

int pdate_valid(const char *s)
{
	size_t n;
	long v;

	if (!s)
		return 0;
	if (strcmp(s, "不詳") == 0)
		return 1;
	n = strlen(s);
	if ((n != 4 && n != 6 && n != 8) || (v = fixed_digits(s, n)) < 0)
		return 0;
	if (n == 8)
		return date_valid(s);
	if (n == 6)
		return ymd_ok((int)(v / 100), (int)(v % 100), 1);
	return ymd_ok((int)v, 1, 1);
}

/* Index of the era in force on ymd, or -1 before Meiji. */
static int era_of(long ymd)
{
	for (int i = ERA_COUNT - 1; i >= 0; i--) {
		if (ymd >= eras[i].start)
			return i;
	}
	return -1;
}

static int era_year0(int era)
{
	return (int)(eras[era].start / 10000) - 1;
}

/* ---- parsing ---- */

/* Full-width ASCII (Ｒ８．４．１), the ideographic space and the minus signs an input method
 * may produce are folded to ASCII so that the grammar below only sees one spelling. */
static int fold_input(const char *in, struct sbuf *b)
{
	const char *p = in, *end = in + strlen(in);

	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		if (cp < 0)
			return IKEN_EDATA;
		if (cp >= 0xFF01 && cp <= 0xFF5E)
			cp -= 0xFEE0;
		else if (cp == 0x3000)
			cp = ' ';
		else if (cp == 0x2212 || cp == 0x2010 || cp == 0x2011)
			cp = '-';
		utf8_put(b, (uint32_t)cp);
	}
	return 0;
}

static int eat(const char **p, const char *tok)
{
	size_t n = strlen(tok);

	if (strncmp(*p, tok, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* Reads a run of ASCII digits; returns how many (the value is only meaningful up to 8). */
static int read_num(const char **p, long *v)
{
	int n = 0;

	*v = 0;
	while (**p >= '0' && **p <= '9') {
		if (++n <= 8)
			*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return n;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int era_prefix(const char **p)
{
	for (int i = 0; i < ERA_COUNT; i++) {
		/* Letters in either case; no toupper(), which would depend on the locale. */
		if (**p == eras[i].letter || **p == eras[i].letter + ('a' - 'A')) {
			(*p)++;
			return i;
		}
		if (eat(p, eras[i].name))
			return i;
	}
	return -1;
}

static int put_date(long y, long m, long d, char out[9])
{
	if (!ymd_ok((int)y, (int)m, (int)d))
		return IKEN_EDATA;
	/* The modulos only tell -Wformat-truncation what ymd_ok() already ensured. */
	snprintf(out, 9, "%04u%02u%02u", (unsigned)y % 10000, (unsigned)m % 100, (unsigned)d % 100);
	return 0;
}

static int parse_folded(char *s, const char *today_ymd, char out[9])
{
	const char *p;
	char *e = s + strlen(s);
	long y, m, d, date;
	int era, ny, nm, nd, kanji = 0;
	char sep = 0;

	while (is_space(*s))
		s++;
	while (e > s && is_space(e[-1]))
		*--e = '\0';
	p = s;

	era = era_prefix(&p);
	if (era >= 0) {
		while (is_space(*p))
			p++;
	}
	if (eat(&p, "元")) {
		y = 1;
		ny = 1;
	} else {
		ny = read_num(&p, &y);
	}
	if (ny == 0 || ny > 8)
		return IKEN_EDATA;
	if (era < 0 && ny == 8 && *p == '\0') /* 20260401 */
		return put_date(y / 10000, y / 100 % 100, y % 100, out);

	if (eat(&p, "年"))
		kanji = 1;
	else if (*p == '.' || *p == '/' || *p == '-')
		sep = *p++;
	else
		return IKEN_EDATA;
	nm = read_num(&p, &m);
	if (nm < 1 || nm > 2)
		return IKEN_EDATA;
	/* One style per date: 2026/4-1 is more likely a typing slip than a date. */
	if (kanji ? !eat(&p, "月") : *p++ != sep)
		return IKEN_EDATA;
	nd = read_num(&p, &d);
	if (nd < 1 || nd > 2)
		return IKEN_EDATA;
	if (kanji)
		eat(&p, "日"); /* 令和8年4月1 is clear enough without it */
	if (*p)
		return IKEN_EDATA;

	if (era < 0 && ny == 4)
		return put_date(y, m, d, out);
	/* Reiwa reaches year 981 by 2999; without an era, 3 digits are more likely a typo. */
	if (ny > (era < 0 ? 2 : 3))
		return IKEN_EDATA;
	if (era < 0) {
		/* 8.4.1: the year of the era we are in now. */
		if (!date_valid(today_ymd))
			return IKEN_EDATA;
		era = era_of(fixed_digits(today_ymd, 8));
		if (era < 0)
			return IKEN_EDATA;
	}
	if (y < 1)
		return IKEN_EDATA;
	y += era_year0(era);
	if (!ymd_ok((int)y, (int)m, (int)d))
		return IKEN_EDATA;
	date = y * 10000 + m * 100 + d;
	if (date < eras[era].start)
		return IKEN_EDATA; /* R1.4.30: Reiwa had not begun */
	/* An era's letter is still accepted after the era ended, up to the end of that calendar
	 * year: H31.5.1 is 2019-05-01 (Reiwa), and staff write it so on forms printed with 平成.
	 * Later years (H32…) are rejected as more likely a wrong letter than a date. */
	if (era + 1 < ERA_COUNT && y > eras[era + 1].start / 10000)
		return IKEN_EDATA;
	return put_date(y, m, d, out);
}

int wareki_parse(const char *in, const char *today_ymd, char out[9])
{
	struct sbuf b = { 0 };
	int rc;

	out[0] = '\0';
	/* No date is this long; spares the parser absurd input. */
	if (!in || strlen(in) > 64)
		return IKEN_EDATA;
	sbuf_add(&b, "", 0);
	rc = fold_input(in, &b);
	if (rc == 0)
		rc = parse_folded(b.s, today_ymd, out);
	sbuf_free(&b);
	if (rc)
		out[0] = '\0';
	return rc;
}

/* ---- formatting ---- */

int wareki_format(const char *ymd, enum wareki_style style, char *out, size_t outsz)
{
	size_t n = ymd ? strlen(ymd) : 0;
	long v, last;
	int y, m = 0, d = 0, era, ey, len;
	char num[16];

	if (!outsz)
		return IKEN_ELIMIT;
	out[0] = '\0';
	if (!pdate_valid(ymd))
		return IKEN_EDATA;
	if (strcmp(ymd, "不詳") == 0) {
		len = snprintf(out, outsz, "%s", ymd);
		return (size_t)len >= outsz ? IKEN_ELIMIT : 0;
	}
	v = fixed_digits(ymd, n);
	/* A partial date takes the era in force at the end of its month or year: 2019 is 令和元年
	 * and 1989 平成元年, as year tables list them, and 201904 is 平成31年4月. */
	if (n == 8) {
		y = (int)(v / 10000);
		m = (int)(v / 100 % 100);
		d = (int)(v % 100);
		last = v;
	} else if (n == 6) {
		y = (int)(v / 100);
		m = (int)(v % 100);
		last = v * 100 + days_in_month(y, m);
	} else {
		y = (int)v;
		last = v * 10000 + 1231;
	}
	era = era_of(last);
	if (era < 0)
		return IKEN_EDATA;
	ey = y - era_year0(era);

	if (style == WAREKI_SHORT) {
		len = snprintf(out, outsz, "%c%d", eras[era].letter, ey);
		if (m && len >= 0 && (size_t)len < outsz)
			len += snprintf(out + len, outsz - (size_t)len, ".%d", m);
		if (d && len >= 0 && (size_t)len < outsz)
			len += snprintf(out + len, outsz - (size_t)len, ".%d", d);
	} else {
		if (ey == 1)
			strcpy(num, "元");
		else
			snprintf(num, sizeof(num), "%d", ey);
		len = snprintf(out, outsz, "%s%s年", eras[era].name, num);
		if (m && len >= 0 && (size_t)len < outsz)
			len += snprintf(out + len, outsz - (size_t)len, "%d月", m);
		if (d && len >= 0 && (size_t)len < outsz)
			len += snprintf(out + len, outsz - (size_t)len, "%d日", d);
	}
	if (len < 0 || (size_t)len >= outsz) {
		out[0] = '\0';
		return IKEN_ELIMIT;
	}
	return 0;
}

int age_on(const char *birth, const char *date)
{
	long b, t;
	int age;

	if (!date_valid(birth) || !date_valid(date))
		return -1;
	b = fixed_digits(birth, 8);
	t = fixed_digits(date, 8);
	if (t < b)
		return -1;
	age = (int)(t / 10000 - b / 10000);
	/* Comparing MMDD also handles 29 February: in a common year 0228 < 0229 <= 0301, so the
	 * year completes on 1 March. */
	if (t % 10000 < b % 10000)
		age--;
	return age;
}
