/* Characters: UTF-8 decoding and validation, display width, the permitted character set of the
 * files sent (printable ASCII and JIS X 0208 by default), the CP932 mapping differences, and
 * the "●" replacement of characters outside the set. */
#ifndef IKEN_CHARSET_H
#define IKEN_CHARSET_H

#include <stddef.h>
#include <stdint.h>
#include "util.h"

#define CHARSET_REPLACEMENT 0x25CF /* ● */

/* Decodes one code point at *p (not past end); advances *p. Returns the code point, or -1 for an
 * invalid, overlong, surrogate or truncated sequence (then *p advances by one byte) and when
 * *p >= end (then *p stays). NUL decodes as 0. */
int32_t utf8_next(const char **p, const char *end);
/* Appends the UTF-8 encoding of cp (U+FFFD for a surrogate or a value above U+10FFFF). */
void utf8_put(struct sbuf *b, uint32_t cp);
/* 1 when s[0..n) is valid UTF-8 without NUL bytes. */
int utf8_valid(const char *s, size_t n);
/* Number of code points of a valid UTF-8 string. */
size_t utf8_len(const char *s);
/* Display columns of one code point (0, 1 or 2; East Asian wide and full-width are 2, combining
 * marks, format and control characters 0, ambiguous-width ones 1). Independent of the locale. */
int cp_width(uint32_t cp);
/* Display columns of a valid UTF-8 string (an invalid byte counts 1). */
int utf8_width(const char *s);
/* Byte length of the longest prefix of s that fits in cols columns (never splits a
 * character; combining marks stay with their base); *used (may be NULL) gets the columns it
 * takes (cols-1 when a wide character would straddle the limit: it is left out). */
size_t utf8_fit(const char *s, int cols, int *used);

/* Maps a code point that Windows input methods produce for a JIS X 0208 symbol (CP932 mapping
 * differences: U+FF5E → U+301C, U+FF0D → U+2212, U+2225 → U+2016, U+FFE0 → U+00A2, …) to the
 * JIS X 0208 one; other code points are returned unchanged. */
uint32_t charset_jis_normalize(uint32_t cp);
/* 1 when cp may be sent: printable ASCII or a JIS X 0208 character, either as is or after
 * charset_jis_normalize() (so U+FF5E ～ is permitted). Controls, TAB/LF/VT included, give 0:
 * fields decide where line breaks are allowed. The JIS set is built from glibc's EUC-JP
 * converter on first use (not thread-safe on that first call). */
int charset_permitted(uint32_t cp);
/* Appends s for sending to out: CP932 differences normalized, LF and VT kept (the CSV writer
 * handles line breaks), every other character outside the set (other controls included)
 * replaced by ●, as is any invalid byte. Returns how many were replaced. */
size_t charset_to_send(const char *s, struct sbuf *out);
/* Appends the distinct characters of s that charset_to_send() would replace (UTF-8, each
 * once, in order of appearance, as typed; an invalid byte shows as U+FFFD) to out, separated by
 * nothing; returns their count. */
size_t charset_outside(const char *s, struct sbuf *out);

/* 1 when every character of s is full-width hiragana (U+3041–3096, ゝゞ) or katakana
 * (U+30A1–30FA, ヽヾ), ー, or a full-width space; 1 for "" (emptiness is checked elsewhere).
 * ・, ゛゜ and half-width kana are not kana here. */
int charset_is_kana(const char *s);

#endif
