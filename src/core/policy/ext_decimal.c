/* ext_decimal.c - Cedar's decimal extension: decimal("...") parsing and its
 * rendering (see ext.h). A decimal is held as value * 10^4 in an int64_t,
 * so the comparison methods are plain integer comparisons.
 *
 * WHAT THE REFERENCE ACCEPTS (cedar-policy-core extensions/decimal.rs and
 * the Lean spec, checked against cedar-wasm 4.13): an optional '-', one or
 * more ASCII digits (leading zeros allowed, any number of them), '.', and
 * one to four ASCII digits; nothing else, no '+', no spaces, no exponent.
 * The sign applies to the whole number ("-0.5" is negative). The value must
 * fit: -922337203685477.5808 .. 922337203685477.5807; beyond that, an error
 * (overflow), never a wrapped value. */
#include "core/policy/ext.h"
#include <stdio.h>

#define DEC_SCALE 10000u
/* |value| limits, as magnitudes: 2^63 - 1 and 2^63. */
#define DEC_MAX_POS ((uint64_t)INT64_MAX)
#define DEC_MAX_NEG ((uint64_t)INT64_MAX + 1u)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads the integer part at s[*pos..]: at least one digit, kept at most
 * limit / 10^4 (bigger is an overflow); -1 when missing or too big. */
static int int_part(const char *s, size_t len, size_t *pos, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;
	size_t start = *pos;
	while (*pos < len && is_digit(s[*pos])) {
		v = v * 10 + (uint64_t)(s[*pos] - '0');
		if (v > limit / DEC_SCALE)
			return -1;
		(*pos)++;
	}
	*out = v;
	return *pos > start ? 0 : -1;
}

/* Reads the fraction at s[pos..len): 1 to 4 digits to the end, scaled to
 * ten-thousandths; -1 otherwise. */
static int frac_part(const char *s, size_t len, size_t pos, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = len - pos;
	if (n < 1 || n > 4)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		if (i < n && !is_digit(s[pos + i]))
			return -1;
		v = v * 10 + (i < n ? (uint64_t)(s[pos + i] - '0') : 0);
	}
	*out = v;
	return 0;
}

int pol_decimal_parse(const char *s, size_t len, int64_t *out)
{
	uint64_t whole, frac;
	bool neg = len > 0 && s[0] == '-';
	uint64_t limit = neg ? DEC_MAX_NEG : DEC_MAX_POS;
	size_t pos = neg ? 1 : 0;
	if (int_part(s, len, &pos, limit, &whole) < 0 || pos >= len || s[pos] != '.' ||
	    frac_part(s, len, pos + 1, &frac) < 0)
		return -1;
	uint64_t mag = whole * DEC_SCALE + frac; /* whole <= limit / 10^4: no wrap */
	if (mag > limit)
		return -1;
	*out = !neg ? (int64_t)mag : mag == DEC_MAX_NEG ? INT64_MIN : -(int64_t)mag;
	return 0;
}

/* The reference's canonical text (the Lean spec's toString): optional '-',
 * the integer part, '.', exactly four fraction digits ("1.0500", "-0.5000").
 * Parses back to d. Truncated to size like snprintf; returns the full
 * length. */
size_t pol_decimal_render(int64_t d, char *buf, size_t size)
{
	uint64_t mag = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
	return (size_t)snprintf(buf, size, "%s%llu.%04llu", d < 0 ? "-" : "",
				(unsigned long long)(mag / DEC_SCALE),
				(unsigned long long)(mag % DEC_SCALE));
}
