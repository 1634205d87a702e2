#include "config.h"
#include "model/charset.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 ---- */

int32_t utf8_next(const char **p, const char *end)
{
	const unsigned char *s = (const unsigned char *)*p;
	const unsigned char *e = (const unsigned char *)end;
	uint32_t cp, min;
	int n;

	if (s >= e)
		return -1;
	if (s[0] < 0x80) {
		*p += 1;
		return s[0];
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 1;
		cp = s[0] & 0x1F;
		min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 2;
		cp = s[0] & 0x0F;
		min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 3;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		/* 80–BF stray continuation, C0/C1 always overlong, F5–FF beyond U+10FFFF */
		goto bad;
	}
	if (e - s <= n)
		goto bad;
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		goto bad;
	*p += n + 1;
	return (int32_t)cp;
bad:
	/* One byte at a time, so a caller replacing bad bytes resynchronises at the next lead. */
	*p += 1;
	return -1;
}

void utf8_put(struct sbuf *b, uint32_t cp)
{
	unsigned char u[4];
	size_t n;

	/* Not encodable: write U+FFFD rather than produce invalid UTF-8. */
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (unsigned char)(0xC0 | cp >> 6);
		u[1] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (unsigned char)(0xE0 | cp >> 12);
		u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (unsigned char)(0xF0 | cp >> 18);
		u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (unsigned char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	sbuf_add(b, u, n);
}

int utf8_valid(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while (p < end) {
		if (utf8_next(&p, end) <= 0)
			return 0;
	}
	return 1;
}

size_t utf8_len(const char *s)
{
	const char *p = s, *end = s + strlen(s);
	size_t n = 0;

	/* An invalid byte counts as one character, as utf8_next() skips it. */
	while (p < end) {
		utf8_next(&p, end);
		n++;
	}
	return n;
}

/* ---- display width ---- */

struct cp_range {
	uint32_t lo, hi;
};

/* Generated from the Unicode 14 character database; regenerate rather than edit by hand.
 * zero_width: general categories Mn, Me and Cf (except U+00AD SOFT HYPHEN, which terminals
 * show), plus the Hangul medial vowels and final consonants that join onto the syllable
 * before them (U+1160–11FF, U+D7B0–D7FF). Unassigned gaps between ranges are merged in. */
static const struct cp_range zero_width[] = {
	{ 0x0300, 0x036F }, { 0x0483, 0x0489 }, { 0x0591, 0x05BD }, { 0x05BF, 0x05BF },
	{ 0x05C1, 0x05C2 }, { 0x05C4, 0x05C5 }, { 0x05C7, 0x05C7 }, { 0x0600, 0x0605 },
	{ 0x0610, 0x061A }, { 0x061C, 0x061C }, { 0x064B, 0x065F }, { 0x0670, 0x0670 },
	{ 0x06D6, 0x06DD }, { 0x06DF, 0x06E4 }, { 0x06E7, 0x06E8 }, { 0x06EA, 0x06ED },
	{ 0x070F, 0x070F }, { 0x0711, 0x0711 }, { 0x0730, 0x074A }, { 0x07A6, 0x07B0 },
	{ 0x07EB, 0x07F3 }, { 0x07FD, 0x07FD }, { 0x0816, 0x0819 }, { 0x081B, 0x0823 },
	{ 0x0825, 0x0827 }, { 0x0829, 0x082D }, { 0x0859, 0x085B }, { 0x0890, 0x089F },
	{ 0x08CA, 0x0902 }, { 0x093A, 0x093A }, { 0x093C, 0x093C }, { 0x0941, 0x0948 },
	{ 0x094D, 0x094D }, { 0x0951, 0x0957 }, { 0x0962, 0x0963 }, { 0x0981, 0x0981 },
	{ 0x09BC, 0x09BC }, { 0x09C1, 0x09C4 }, { 0x09CD, 0x09CD }, { 0x09E2, 0x09E3 },
	{ 0x09FE, 0x0A02 }, { 0x0A3C, 0x0A3C }, { 0x0A41, 0x0A51 }, { 0x0A70, 0x0A71 },
	{ 0x0A75, 0x0A75 }, { 0x0A81, 0x0A82 }, { 0x0ABC, 0x0ABC }, { 0x0AC1, 0x0AC8 },
	{ 0x0ACD, 0x0ACD }, { 0x0AE2, 0x0AE3 }, { 0x0AFA, 0x0B01 }, { 0x0B3C, 0x0B3C },
	{ 0x0B3F, 0x0B3F }, { 0x0B41, 0x0B44 }, { 0x0B4D, 0x0B56 }, { 0x0B62, 0x0B63 },
	{ 0x0B82, 0x0B82 }, { 0x0BC0, 0x0BC0 }, { 0x0BCD, 0x0BCD }, { 0x0C00, 0x0C00 },
	{ 0x0C04, 0x0C04 }, { 0x0C3C, 0x0C3C }, { 0x0C3E, 0x0C40 }, { 0x0C46, 0x0C56 },
	{ 0x0C62, 0x0C63 }, { 0x0C81, 0x0C81 }, { 0x0CBC, 0x0CBC }, { 0x0CBF, 0x0CBF },
	{ 0x0CC6, 0x0CC6 }, { 0x0CCC, 0x0CCD }, { 0x0CE2, 0x0CE3 }, { 0x0D00, 0x0D01 },
	{ 0x0D3B, 0x0D3C }, { 0x0D41, 0x0D44 }, { 0x0D4D, 0x0D4D }, { 0x0D62, 0x0D63 },
	{ 0x0D81, 0x0D81 }, { 0x0DCA, 0x0DCA }, { 0x0DD2, 0x0DD6 }, { 0x0E31, 0x0E31 },
	{ 0x0E34, 0x0E3A }, { 0x0E47, 0x0E4E }, { 0x0EB1, 0x0EB1 }, { 0x0EB4, 0x0EBC },
	{ 0x0EC8, 0x0ECD }, { 0x0F18, 0x0F19 }, { 0x0F35, 0x0F35 }, { 0x0F37, 0x0F37 },
	{ 0x0F39, 0x0F39 }, { 0x0F71, 0x0F7E }, { 0x0F80, 0x0F84 }, { 0x0F86, 0x0F87 },
	{ 0x0F8D, 0x0FBC }, { 0x0FC6, 0x0FC6 }, { 0x102D, 0x1030 }, { 0x1032, 0x1037 },
	{ 0x1039, 0x103A }, { 0x103D, 0x103E }, { 0x1058, 0x1059 }, { 0x105E, 0x1060 },
	{ 0x1071, 0x1074 }, { 0x1082, 0x1082 }, { 0x1085, 0x1086 }, { 0x108D, 0x108D },
	{ 0x109D, 0x109D }, { 0x1160, 0x11FF }, { 0x135D, 0x135F }, { 0x1712, 0x1714 },
	{ 0x1732, 0x1733 }, { 0x1752, 0x1753 }, { 0x1772, 0x1773 }, { 0x17B4, 0x17B5 },
	{ 0x17B7, 0x17BD }, { 0x17C6, 0x17C6 }, { 0x17C9, 0x17D3 }, { 0x17DD, 0x17DD },
	{ 0x180B, 0x180F }, { 0x1885, 0x1886 }, { 0x18A9, 0x18A9 }, { 0x1920, 0x1922 },
	{ 0x1927, 0x1928 }, { 0x1932, 0x1932 }, { 0x1939, 0x193B }, { 0x1A17, 0x1A18 },
	{ 0x1A1B, 0x1A1B }, { 0x1A56, 0x1A56 }, { 0x1A58, 0x1A60 }, { 0x1A62, 0x1A62 },
	{ 0x1A65, 0x1A6C }, { 0x1A73, 0x1A7F }, { 0x1AB0, 0x1B03 }, { 0x1B34, 0x1B34 },
	{ 0x1B36, 0x1B3A }, { 0x1B3C, 0x1B3C }, { 0x1B42, 0x1B42 }, { 0x1B6B, 0x1B73 },
	{ 0x1B80, 0x1B81 }, { 0x1BA2, 0x1BA5 }, { 0x1BA8, 0x1BA9 }, { 0x1BAB, 0x1BAD },
	{ 0x1BE6, 0x1BE6 }, { 0x1BE8, 0x1BE9 }, { 0x1BED, 0x1BED }, { 0x1BEF, 0x1BF1 },
	{ 0x1C2C, 0x1C33 }, { 0x1C36, 0x1C37 }, { 0x1CD0, 0x1CD2 }, { 0x1CD4, 0x1CE0 },
	{ 0x1CE2, 0x1CE8 }, { 0x1CED, 0x1CED }, { 0x1CF4, 0x1CF4 }, { 0x1CF8, 0x1CF9 },
	{ 0x1DC0, 0x1DFF }, { 0x200B, 0x200F }, { 0x202A, 0x202E }, { 0x2060, 0x206F },
	{ 0x20D0, 0x20F0 }, { 0x2CEF, 0x2CF1 }, { 0x2D7F, 0x2D7F }, { 0x2DE0, 0x2DFF },
	{ 0x302A, 0x302D }, { 0x3099, 0x309A }, { 0xA66F, 0xA672 }, { 0xA674, 0xA67D },
	{ 0xA69E, 0xA69F }, { 0xA6F0, 0xA6F1 }, { 0xA802, 0xA802 }, { 0xA806, 0xA806 },
	{ 0xA80B, 0xA80B }, { 0xA825, 0xA826 }, { 0xA82C, 0xA82C }, { 0xA8C4, 0xA8C5 },
	{ 0xA8E0, 0xA8F1 }, { 0xA8FF, 0xA8FF }, { 0xA926, 0xA92D }, { 0xA947, 0xA951 },
	{ 0xA980, 0xA982 }, { 0xA9B3, 0xA9B3 }, { 0xA9B6, 0xA9B9 }, { 0xA9BC, 0xA9BD },
	{ 0xA9E5, 0xA9E5 }, { 0xAA29, 0xAA2E }, { 0xAA31, 0xAA32 }, { 0xAA35, 0xAA36 },
	{ 0xAA43, 0xAA43 }, { 0xAA4C, 0xAA4C }, { 0xAA7C, 0xAA7C }, { 0xAAB0, 0xAAB0 },
	{ 0xAAB2, 0xAAB4 }, { 0xAAB7, 0xAAB8 }, { 0xAABE, 0xAABF }, { 0xAAC1, 0xAAC1 },
	{ 0xAAEC, 0xAAED }, { 0xAAF6, 0xAAF6 }, { 0xABE5, 0xABE5 }, { 0xABE8, 0xABE8 },
	{ 0xABED, 0xABED }, { 0xD7B0, 0xD7FF }, { 0xFB1E, 0xFB1E }, { 0xFE00, 0xFE0F },
	{ 0xFE20, 0xFE2F }, { 0xFEFF, 0xFEFF }, { 0xFFF9, 0xFFFB }, { 0x101FD, 0x101FD },
	{ 0x102E0, 0x102E0 }, { 0x10376, 0x1037A }, { 0x10A01, 0x10A0F }, { 0x10A38, 0x10A3F },
	{ 0x10AE5, 0x10AE6 }, { 0x10D24, 0x10D27 }, { 0x10EAB, 0x10EAC }, { 0x10F46, 0x10F50 },
	{ 0x10F82, 0x10F85 }, { 0x11001, 0x11001 }, { 0x11038, 0x11046 }, { 0x11070, 0x11070 },
	{ 0x11073, 0x11074 }, { 0x1107F, 0x11081 }, { 0x110B3, 0x110B6 }, { 0x110B9, 0x110BA },
	{ 0x110BD, 0x110BD }, { 0x110C2, 0x110CD }, { 0x11100, 0x11102 }, { 0x11127, 0x1112B },
	{ 0x1112D, 0x11134 }, { 0x11173, 0x11173 }, { 0x11180, 0x11181 }, { 0x111B6, 0x111BE },
	{ 0x111C9, 0x111CC }, { 0x111CF, 0x111CF }, { 0x1122F, 0x11231 }, { 0x11234, 0x11234 },
	{ 0x11236, 0x11237 }, { 0x1123E, 0x1123E }, { 0x112DF, 0x112DF }, { 0x112E3, 0x112EA },
	{ 0x11300, 0x11301 }, { 0x1133B, 0x1133C }, { 0x11340, 0x11340 }, { 0x11366, 0x11374 },
	{ 0x11438, 0x1143F }, { 0x11442, 0x11444 }, { 0x11446, 0x11446 }, { 0x1145E, 0x1145E },
	{ 0x114B3, 0x114B8 }, { 0x114BA, 0x114BA }, { 0x114BF, 0x114C0 }, { 0x114C2, 0x114C3 },
	{ 0x115B2, 0x115B5 }, { 0x115BC, 0x115BD }, { 0x115BF, 0x115C0 }, { 0x115DC, 0x115DD },
	{ 0x11633, 0x1163A }, { 0x1163D, 0x1163D }, { 0x1163F, 0x11640 }, { 0x116AB, 0x116AB },
	{ 0x116AD, 0x116AD }, { 0x116B0, 0x116B5 }, { 0x116B7, 0x116B7 }, { 0x1171D, 0x1171F },
	{ 0x11722, 0x11725 }, { 0x11727, 0x1172B }, { 0x1182F, 0x11837 }, { 0x11839, 0x1183A },
	{ 0x1193B, 0x1193C }, { 0x1193E, 0x1193E }, { 0x11943, 0x11943 }, { 0x119D4, 0x119DB },
	{ 0x119E0, 0x119E0 }, { 0x11A01, 0x11A0A }, { 0x11A33, 0x11A38 }, { 0x11A3B, 0x11A3E },
	{ 0x11A47, 0x11A47 }, { 0x11A51, 0x11A56 }, { 0x11A59, 0x11A5B }, { 0x11A8A, 0x11A96 },
	{ 0x11A98, 0x11A99 }, { 0x11C30, 0x11C3D }, { 0x11C3F, 0x11C3F }, { 0x11C92, 0x11CA7 },
	{ 0x11CAA, 0x11CB0 }, { 0x11CB2, 0x11CB3 }, { 0x11CB5, 0x11CB6 }, { 0x11D31, 0x11D45 },
	{ 0x11D47, 0x11D47 }, { 0x11D90, 0x11D91 }, { 0x11D95, 0x11D95 }, { 0x11D97, 0x11D97 },
	{ 0x11EF3, 0x11EF4 }, { 0x13430, 0x13438 }, { 0x16AF0, 0x16AF4 }, { 0x16B30, 0x16B36 },
	{ 0x16F4F, 0x16F4F }, { 0x16F8F, 0x16F92 }, { 0x16FE4, 0x16FE4 }, { 0x1BC9D, 0x1BC9E },
	{ 0x1BCA0, 0x1BCA3 }, { 0x1CF00, 0x1CF46 }, { 0x1D167, 0x1D169 }, { 0x1D173, 0x1D182 },
	{ 0x1D185, 0x1D18B }, { 0x1D1AA, 0x1D1AD }, { 0x1D242, 0x1D244 }, { 0x1DA00, 0x1DA36 },
	{ 0x1DA3B, 0x1DA6C }, { 0x1DA75, 0x1DA75 }, { 0x1DA84, 0x1DA84 }, { 0x1DA9B, 0x1DAAF },
	{ 0x1E000, 0x1E02A }, { 0x1E130, 0x1E136 }, { 0x1E2AE, 0x1E2AE }, { 0x1E2EC, 0x1E2EF },
	{ 0x1E8D0, 0x1E8D6 }, { 0x1E944, 0x1E94A }, { 0xE0001, 0xE01EF },
};

/* wide: East Asian Width W or F (CJK, kana, Hangul syllables, full-width forms, CJK symbols and
 * punctuation, emoji with emoji presentation), plus the planes and blocks whose unassigned code
 * points default to W (U+3400–4DBF, 4E00–9FFF, F900–FAFF, 20000–3FFFD). Ambiguous (A)
 * characters such as ○ ● ※ Greek and Cyrillic are 1, as in glibc and most terminals. */
static const struct cp_range wide[] = {
	{ 0x1100, 0x115F }, { 0x231A, 0x231B }, { 0x2329, 0x232A }, { 0x23E9, 0x23EC },
	{ 0x23F0, 0x23F0 }, { 0x23F3, 0x23F3 }, { 0x25FD, 0x25FE }, { 0x2614, 0x2615 },
	{ 0x2648, 0x2653 }, { 0x267F, 0x267F }, { 0x2693, 0x2693 }, { 0x26A1, 0x26A1 },
	{ 0x26AA, 0x26AB }, { 0x26BD, 0x26BE }, { 0x26C4, 0x26C5 }, { 0x26CE, 0x26CE },
	{ 0x26D4, 0x26D4 }, { 0x26EA, 0x26EA }, { 0x26F2, 0x26F3 }, { 0x26F5, 0x26F5 },
	{ 0x26FA, 0x26FA }, { 0x26FD, 0x26FD }, { 0x2705, 0x2705 }, { 0x270A, 0x270B },
	{ 0x2728, 0x2728 }, { 0x274C, 0x274C }, { 0x274E, 0x274E }, { 0x2753, 0x2755 },
	{ 0x2757, 0x2757 }, { 0x2795, 0x2797 }, { 0x27B0, 0x27B0 }, { 0x27BF, 0x27BF },
	{ 0x2B1B, 0x2B1C }, { 0x2B50, 0x2B50 }, { 0x2B55, 0x2B55 }, { 0x2E80, 0x303E },
	{ 0x3041, 0x3247 }, { 0x3250, 0x4DBF }, { 0x4E00, 0xA4C6 }, { 0xA960, 0xA97C },
	{ 0xAC00, 0xD7A3 }, { 0xF900, 0xFAFF }, { 0xFE10, 0xFE19 }, { 0xFE30, 0xFE6B },
	{ 0xFF01, 0xFF60 }, { 0xFFE0, 0xFFE6 }, { 0x16FE0, 0x18D08 }, { 0x1AFF0, 0x1B2FB },
	{ 0x1F004, 0x1F004 }, { 0x1F0CF, 0x1F0CF }, { 0x1F18E, 0x1F18E }, { 0x1F191, 0x1F19A },
	{ 0x1F200, 0x1F320 }, { 0x1F32D, 0x1F335 }, { 0x1F337, 0x1F37C }, { 0x1F37E, 0x1F393 },
	{ 0x1F3A0, 0x1F3CA }, { 0x1F3CF, 0x1F3D3 }, { 0x1F3E0, 0x1F3F0 }, { 0x1F3F4, 0x1F3F4 },
	{ 0x1F3F8, 0x1F43E }, { 0x1F440, 0x1F440 }, { 0x1F442, 0x1F4FC }, { 0x1F4FF, 0x1F53D },
	{ 0x1F54B, 0x1F54E }, { 0x1F550, 0x1F567 }, { 0x1F57A, 0x1F57A }, { 0x1F595, 0x1F596 },
	{ 0x1F5A4, 0x1F5A4 }, { 0x1F5FB, 0x1F64F }, { 0x1F680, 0x1F6C5 }, { 0x1F6CC, 0x1F6CC },
	{ 0x1F6D0, 0x1F6D2 }, { 0x1F6D5, 0x1F6DF }, { 0x1F6EB, 0x1F6EC }, { 0x1F6F4, 0x1F6FC },
	{ 0x1F7E0, 0x1F7F0 }, { 0x1F90C, 0x1F93A }, { 0x1F93C, 0x1F945 }, { 0x1F947, 0x1F9FF },
	{ 0x1FA70, 0x1FAF6 }, { 0x20000, 0x3FFFD },
};

static int in_table(uint32_t cp, const struct cp_range *t, size_t n)
{
	size_t lo = 0, hi = n;

	if (cp < t[0].lo || cp > t[n - 1].hi)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp > t[mid].hi)
			lo = mid + 1;
		else if (cp < t[mid].lo)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

int cp_width(uint32_t cp)
{
	if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
		return 0;
	if (cp < 0x300)
		return 1;
	/* Zero first: kana voiced-sound marks U+3099/309A are combining yet lie in a wide block. */
	if (in_table(cp, zero_width, ARRAY_SIZE(zero_width)))
		return 0;
	if (in_table(cp, wide, ARRAY_SIZE(wide)))
		return 2;
	return 1;
}

int utf8_width(const char *s)
{
	const char *p = s, *end = s + strlen(s);
	int w = 0;

	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		/* A stray byte is shown as one replacement cell. */
		w += cp < 0 ? 1 : cp_width((uint32_t)cp);
	}
	return w;
}

size_t utf8_fit(const char *s, int cols, int *used)
{
	const char *p = s, *end = s + strlen(s);
	int w = 0;

	while (p < end) {
		const char *q = p;
		int32_t cp = utf8_next(&q, end);
		int cw = cp < 0 ? 1 : cp_width((uint32_t)cp);
		/* Zero-width marks after the last fitting character still fit: they belong to it. */
		if (w + cw > cols)
			break;
		w += cw;
		p = q;
	}
	if (used)
		*used = w;
	return (size_t)(p - s);
}

/* ---- the permitted set ---- */

/* CP932 (Windows) maps these JIS X 0208 cells to other code points than glibc's EUC-JP
 * converter does; Windows input methods produce the CP932 ones. Checked against glibc 2.36:
 *   A1C1 〜 U+301C   A1DD − U+2212   A1C2 ‖ U+2016   A1F1 ¢ U+00A2
 *   A1F2 £ U+00A3   A2CC ¬ U+00AC   A1BD ― U+2015
 * For A1BD glibc and CP932 agree on U+2015; U+2014 — is what Unicode's JIS0208.TXT, macOS and
 * eucJP-ms use, so that is the variant here. A1C0 ＼ U+FF3C and A1EF ￥ U+FFE5 agree too. */
static const struct {
	uint32_t from, to;
} cp932_diff[] = {
	{ 0xFF5E, 0x301C }, /* ～ → 〜 */
	{ 0xFF0D, 0x2212 }, /* － → − */
	{ 0x2225, 0x2016 }, /* ∥ → ‖ */
	{ 0xFFE0, 0x00A2 }, /* ￠ → ¢ */
	{ 0xFFE1, 0x00A3 }, /* ￡ → £ */
	{ 0xFFE2, 0x00AC }, /* ￢ → ¬ */
	{ 0x2014, 0x2015 }, /* — → ― */
};

uint32_t charset_jis_normalize(uint32_t cp)
{
	for (size_t i = 0; i < ARRAY_SIZE(cp932_diff); i++) {
		if (cp932_diff[i].from == cp)
			return cp932_diff[i].to;
	}
	return cp;
}

/* One bit per BMP code point (JIS X 0208 has nothing beyond it): 8 KiB. Filled on first use;
 * iken is single-threaded, so no locking. */
static uint8_t jis_map[0x10000 / 8];
static int jis_ready;

static void jis_mark(uint32_t cp)
{
	if (cp < 0x10000)
		jis_map[cp >> 3] |= (uint8_t)(1u << (cp & 7));
}

static void jis_mark_range(uint32_t lo, uint32_t hi)
{
	for (uint32_t cp = lo; cp <= hi; cp++)
		jis_mark(cp);
}

/* Without gconv modules (a stripped container, a static build) iconv_open fails. Rather than
 * refuse every non-ASCII character, fall back to a coarse approximation of JIS X 0208: the
 * ideographic space and 、。, kana, and the whole CJK unified ideographs block. This lets
 * through kanji outside levels 1 and 2 and stops JIS symbols, Greek, Cyrillic and full-width
 * letters and digits; it is a degraded mode, not a substitute. */
static void jis_build_fallback(void)
{
	jis_mark_range(0x3000, 0x3002);
	jis_mark_range(0x3041, 0x3096);
	jis_mark_range(0x309B, 0x309E);
	jis_mark_range(0x30A1, 0x30F6);
	jis_mark_range(0x30FB, 0x30FE);
	jis_mark_range(0x4E00, 0x9FFF);
}

/* Converts every two-byte EUC-JP code (lead and trail 0xA1–0xFE: exactly JIS X 0208; SS2
 * half-width kana and SS3 JIS X 0212 are not generated) and marks what it decodes to. glibc
 * rejects the unassigned cells, NEC row 13 and the IBM extensions, which is what we want:
 * 6879 code points. */
static void jis_build(void)
{
	iconv_t cd = iconv_open("UTF-32BE", "EUC-JP");

	jis_ready = 1;
	if (cd == (iconv_t)-1) {
		jis_build_fallback();
		return;
	}
	for (unsigned lead = 0xA1; lead <= 0xFE; lead++) {
		for (unsigned trail = 0xA1; trail <= 0xFE; trail++) {
			char in[2] = { (char)lead, (char)trail };
			unsigned char u[8];
			char *ip = in, *op = (char *)u;
			size_t il = sizeof(in), ol = sizeof(u);

			if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1) {
				iconv(cd, NULL, NULL, NULL, NULL);
				continue;
			}
			if (il != 0 || sizeof(u) - ol != 4)
				continue;
			jis_mark((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);
		}
	}
	iconv_close(cd);
}

int charset_permitted(uint32_t cp)
{
	if (cp >= 0x20 && cp <= 0x7E)
		return 1;
	cp = charset_jis_normalize(cp);
	if (cp < 0x80 || cp >= 0x10000)
		return 0;
	if (!jis_ready)
		jis_build();
	return jis_map[cp >> 3] >> (cp & 7) & 1;
}

/* LF and VT are line breaks the CSV writer deals with; they are neither replaced nor reported. */
static int is_line_break(int32_t cp)
{
	return cp == '\n' || cp == '\v';
}

size_t charset_to_send(const char *s, struct sbuf *out)
{
	const char *p = s, *end = s + strlen(s);
	size_t replaced = 0;

	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		if (is_line_break(cp)) {
			sbuf_putc(out, (char)cp);
		} else if (cp >= 0 && charset_permitted((uint32_t)cp)) {
			utf8_put(out, charset_jis_normalize((uint32_t)cp));
		} else {
			/* Invalid bytes too: the caller promised valid UTF-8, the receiver needs it. */
			utf8_put(out, CHARSET_REPLACEMENT);
			replaced++;
		}
	}
	if (!out->s)
		sbuf_add(out, "", 0);
	return replaced;
}

size_t charset_outside(const char *s, struct sbuf *out)
{
	const char *p = s, *end = s + strlen(s);
	uint32_t *seen = NULL;
	size_t n = 0, cap = 0;

	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		if (is_line_break(cp) || (cp >= 0 && charset_permitted((uint32_t)cp)))
			continue;
		/* An invalid byte is shown as U+FFFD so that out stays valid UTF-8. */
		uint32_t c = cp < 0 ? 0xFFFD : (uint32_t)cp;
		size_t i;
		for (i = 0; i < n && seen[i] != c; i++)
			;
		if (i < n)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			seen = xrealloc(seen, cap * sizeof(*seen));
		}
		seen[n++] = c;
		utf8_put(out, c);
	}
	if (!out->s)
		sbuf_add(out, "", 0);
	free(seen);
	return n;
}

int charset_is_kana(const char *s)
{
	const char *p = s, *end = s + strlen(s);

	while (p < end) {
		int32_t cp = utf8_next(&p, end);
		if (!((cp >= 0x3041 && cp <= 0x3096) || cp == 0x309D || cp == 0x309E ||
		      (cp >= 0x30A1 && cp <= 0x30FA) || cp == 0x30FD || cp == 0x30FE ||
		      cp == 0x30FC || cp == 0x3000))
			return 0;
	}
	return 1;
}
