/* 和暦 (Japanese era) dates: parsing what staff type and showing stored Gregorian dates.
 * The eras are data in wareki.c's table (Meiji … Reiwa). */
#ifndef IKEN_WAREKI_H
#define IKEN_WAREKI_H

#include <stddef.h>

/* 1 when ymd is "YYYYMMDD" naming a real calendar date (years 1868–2999). */
int date_valid(const char *ymd);
/* 1 when s is a partial date: YYYYMMDD, YYYYMM, YYYY (each real), or 不詳. */
int pdate_valid(const char *s);

/* Parses a typed date into out[9] ("YYYYMMDD"). Accepts R8.4.1, r8.4.1, 8.4.1 (the era of
 * today_ymd), 令和8年4月1日, 令和元年5月1日, H2.3.4, S20.1.1, T…, M…, 2026.4.1, 2026/4/1,
 * 2026-04-01, 20260401, with half- or full-width digits and letters; surrounding spaces are
 * ignored. Returns 0, or IKEN_EDATA for text that is not a date or names an impossible one
 * (R1.4.30 is before Reiwa began, 2月30日…); out is then "". An era's letter is accepted past the
 * era's end up to the end of that calendar year (H31.5.1 = 2019-05-01), not beyond (H32…). */
int wareki_parse(const char *in, const char *today_ymd, char out[9]);

enum wareki_style {
	WAREKI_SHORT, /* R8.4.1 */
	WAREKI_LONG,  /* 令和8年4月1日 (元年 for year 1) */
};
/* Enough for any result of wareki_format(). */
#define WAREKI_BUFSZ 32
/* Formats "YYYYMMDD" (or a partial YYYYMM / YYYY: 令和8年4月, R8.4; 不詳 is copied) as 和暦 into
 * out. A partial date takes the era in force at its end (2019 → 令和元年). Returns 0, IKEN_EDATA
 * (not a pdate, or before Meiji began on 1868-10-23), or IKEN_ELIMIT when outsz is too small. */
int wareki_format(const char *ymd, enum wareki_style style, char *out, size_t outsz);

/* Whole years from birth to date (both YYYYMMDD); -1 when either is invalid or date < birth.
 * A year is completed on the birthday's month and day (born 29 February: on 1 March in
 * non-leap years). */
int age_on(const char *birth, const char *date);

#endif
