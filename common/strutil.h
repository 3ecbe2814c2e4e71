/* strutil.h — small string helpers every layer uses: trimming, hex digits, strict UTF-8
 * sequence checks, and printable excerpts of untrusted text for error messages. */
#ifndef EVM_STRUTIL_H
#define EVM_STRUTIL_H

#include <stddef.h>

/* Strips leading and trailing spaces, tabs and CRs in place; returns the first kept byte. */
char *str_trim(char *s);

/* The value of one hex digit (either case), or -1. */
int hex_digit_value(char c);

/* The length (2..4) of the valid UTF-8 sequence at p, reading at most avail bytes, or 0
 * (strict: no ASCII, overlongs, surrogates or code points above U+10FFFF). A NUL-terminated
 * p may pass SIZE_MAX: a NUL is never a continuation byte, so the check stops there. */
size_t str_utf8_seq(const char *p, size_t avail);

/* Writes a printable excerpt of s[0..n) to out (size bytes, always NUL-terminated when
 * size > 0): at most max_chars bytes of s, each byte outside 0x20..0x7e shown as '?', and
 * "..." appended when s was cut and the room allows. */
void str_excerpt(char *out, size_t size, const char *s, size_t n, size_t max_chars);

#endif
