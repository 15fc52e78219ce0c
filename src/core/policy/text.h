/* text.h - the character-level rules of Cedar source: UTF-8 validation of
 * the whole text and the unescaping of string literals and `like`
 * patterns. */
#ifndef TG_POL_TEXT_H
#define TG_POL_TEXT_H
#include "core/policy/arena.h"
#include "core/policy/policy.h"
#include <stddef.h>

/* Offset of the first byte that is not part of valid UTF-8 (overlong
 * forms, surrogates and code points above U+10FFFF are invalid), or len. */
size_t pol_utf8_check(const char *s, size_t len);

/* Unescapes the raw body of a string literal: \n \r \t \\ \0 \' \" \xHH
 * (up to \x7f), \u{H...} (1 to 6 hex digits, a Unicode scalar value) and a
 * backslash before a line break (skips the break and the white space after
 * it). With pattern set, \* is a literal star and a bare * separates the
 * pattern's literals. On error returns -1 with *why and *bad, the offset of
 * the offending backslash in raw. */
int pol_unescape(pol_arena_t *a, const char *raw, size_t len, pol_str_t *out,
		 size_t *bad, const char **why);
int pol_unescape_pattern(pol_arena_t *a, const char *raw, size_t len, pol_pattern_t *out,
			 size_t *bad, const char **why);

#endif
