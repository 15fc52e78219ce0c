/* text.c - UTF-8 validation and string/pattern unescaping (see text.h).
 * An unescaped string is never longer than its raw form (the longest
 * output of an escape, 4 bytes for \u{10FFFF}, comes from 10 input bytes),
 * so each literal is decoded into one arena buffer of the raw length. */
#include "core/policy/text.h"
#include "core/b64url.h"
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

size_t pol_utf8_check(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i], n;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (unsigned k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	unsigned char *o = (unsigned char *)out;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* \u{...} starting at raw[i] == 'u'; *i ends after the '}'. */
static int unicode_escape(const char *raw, size_t len, size_t *i, uint32_t *cp, const char **why)
{
	size_t j = *i + 1, digits = 0;
	uint32_t v = 0;
	if (j >= len || raw[j] != '{') {
		*why = "bad escape: write \\u{...} with 1 to 6 hex digits in braces";
		return -1;
	}
	for (j++; j < len && hex_digit(raw[j]) >= 0; j++) {
		if (++digits > 6) {
			*why = "bad escape: \\u{...} takes at most 6 hex digits";
			return -1;
		}
		v = (v << 4) | (uint32_t)hex_digit(raw[j]);
	}
	if (j >= len || raw[j] != '}' || digits == 0) {
		*why = "bad escape: write \\u{...} with 1 to 6 hex digits in braces";
		return -1;
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
		*why = "bad escape: \\u{...} is not a Unicode scalar value";
		return -1;
	}
	*cp = v;
	*i = j + 1;
	return 0;
}

/* \xHH starting at raw[i] == 'x'; *i ends after the digits. */
static int hex_escape(const char *raw, size_t len, size_t *i, uint32_t *cp, const char **why)
{
	size_t j = *i + 1;
	if (len - j < 2 || hex_digit(raw[j]) < 0 || hex_digit(raw[j + 1]) < 0) {
		*why = "bad escape: \\x takes two hex digits";
		return -1;
	}
	*cp = (uint32_t)(hex_digit(raw[j]) * 16 + hex_digit(raw[j + 1]));
	if (*cp > 0x7f) {
		*why = "bad escape: \\x goes up to \\x7f; use \\u{...} above";
		return -1;
	}
	*i = j + 2;
	return 0;
}

static int simple_escape(char c, uint32_t *cp)
{
	switch (c) {
	case 'n': *cp = '\n'; return 0;
	case 'r': *cp = '\r'; return 0;
	case 't': *cp = '\t'; return 0;
	case '\\': *cp = '\\'; return 0;
	case '0': *cp = 0; return 0;
	case '\'': *cp = '\''; return 0;
	case '"': *cp = '"'; return 0;
	default: return -1;
	}
}

/* The decoder both literals share. dst has room for len bytes; when stars
 * is not NULL, each unescaped '*' is not copied and its output offset is
 * recorded in stars[*nstars] instead. */
static int decode(const char *raw, size_t len, char *dst, size_t *dlen, size_t *stars,
		  size_t *nstars, size_t *bad, const char **why)
{
	size_t i = 0, o = 0;
	while (i < len) {
		uint32_t cp;
		if (raw[i] == '*' && stars != NULL) {
			stars[(*nstars)++] = o;
			i++;
			continue;
		}
		if (raw[i] != '\\') {
			dst[o++] = raw[i++];
			continue;
		}
		*bad = i++;
		if (i >= len) {
			*why = "bad escape: '\\' at the end of the string";
			return -1;
		}
		if (raw[i] == '*' && stars != NULL) {
			dst[o++] = '*';
			i++;
		} else if (raw[i] == '\n' || (raw[i] == '\r' && i + 1 < len && raw[i + 1] == '\n')) {
			while (i < len && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r'))
				i++;
		} else if (raw[i] == 'u') {
			if (unicode_escape(raw, len, &i, &cp, why) < 0)
				return -1;
			o += utf8_put(dst + o, cp);
		} else if (raw[i] == 'x') {
			if (hex_escape(raw, len, &i, &cp, why) < 0)
				return -1;
			dst[o++] = (char)cp;
		} else if (simple_escape(raw[i], &cp) == 0) {
			dst[o++] = (char)cp;
			i++;
		} else {
			*why = stars != NULL ? "bad escape: a pattern knows \\n \\r \\t \\\\ \\0 \\' \\\" \\* \\x and \\u{...}"
					     : "bad escape: a string knows \\n \\r \\t \\\\ \\0 \\' \\\" \\x and \\u{...}";
			return -1;
		}
	}
	*dlen = o;
	return 0;
}

int pol_unescape(pol_arena_t *a, const char *raw, size_t len, pol_str_t *out, size_t *bad,
		 const char **why)
{
	char *dst = pol_arena_alloc(a, len + 1);
	size_t n;
	if (dst == NULL) {
		*bad = 0;
		*why = "out of memory";
		return -1;
	}
	if (decode(raw, len, dst, &n, NULL, NULL, bad, why) < 0)
		return -1;
	out->p = dst;
	out->len = n;
	return 0;
}

int pol_unescape_pattern(pol_arena_t *a, const char *raw, size_t len, pol_pattern_t *out,
			 size_t *bad, const char **why)
{
	char *dst = pol_arena_alloc(a, len + 1);
	size_t *stars = pol_arena_alloc(a, (len + 1) * sizeof *stars);
	size_t n, nstars = 0, from = 0;
	if (dst == NULL || stars == NULL) {
		*bad = 0;
		*why = "out of memory";
		return -1;
	}
	if (decode(raw, len, dst, &n, stars, &nstars, bad, why) < 0)
		return -1;
	pol_str_t *lit = pol_arena_alloc(a, (nstars + 1) * sizeof *lit);
	if (lit == NULL) {
		*bad = 0;
		*why = "out of memory";
		return -1;
	}
	stars[nstars] = n;
	for (size_t k = 0; k <= nstars; k++) {
		char *s = pol_arena_strndup(a, dst + from, stars[k] - from);
		if (s == NULL) {
			*bad = 0;
			*why = "out of memory";
			return -1;
		}
		lit[k].p = s;
		lit[k].len = stars[k] - from;
		from = stars[k];
	}
	out->lit = lit;
	out->n = nstars + 1;
	return 0;
}
