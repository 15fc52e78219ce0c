/* ext_ip.c - Cedar's ipaddr extension: ip("...") parsing, the isIpv4,
 * isIpv6, isLoopback, isMulticast and isInRange methods, equality and a
 * canonical rendering (see ext.h).
 *
 * WHAT THE REFERENCE ACCEPTS (cedar-policy-core extensions/ipaddr.rs, checked
 * against cedar-wasm 4.13): at most 43 bytes; no string with two or more ':'
 * and two or more '.' (so IPv4 embedded in IPv6, "::ffff:1.2.3.4", is
 * refused); an address, optionally followed by '/' and a prefix. IPv4 is
 * Rust's strict dotted quad: four decimal parts of 1-3 digits, each at most
 * 255, no leading zeros. IPv6 is eight groups of 1-4 hex digits (either
 * case), or fewer with one "::" standing for at least one zero group; no zone
 * ids, no brackets. The prefix is decimal, no sign, no leading zero (except
 * "0" itself), at most 2 digits and 32 for IPv4, at most 3 digits and 128 for
 * IPv6. Host bits are kept as written: ip("10.0.0.1/8") differs from
 * ip("10.0.0.0/8") under ==, as in the reference. Every loop here is bounded
 * by the 43-byte limit. */
#include "core/policy/ext.h"
#include <stdio.h>
#include <string.h>

#define IP_MAX_TEXT 43

/* True when c occurs at least twice in s[0..len). */
static bool twice(const char *s, size_t len, char c)
{
	const char *first = memchr(s, c, len);
	return first != NULL && memchr(first + 1, c, len - (size_t)(first + 1 - s)) != NULL;
}

static int digit(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

static int hex_digit(char c)
{
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return digit(c);
}

/* A decimal number of 1..max_digits digits, no leading zero unless it is
 * "0", at most max_value; -1 otherwise. */
static int strict_decimal(const char *s, size_t len, size_t max_digits, int max_value)
{
	int v = 0;
	if (len == 0 || len > max_digits || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = digit(s[i]);
		if (d < 0)
			return -1;
		v = v * 10 + d;
	}
	return v <= max_value ? v : -1;
}

static int parse_v4(const char *s, size_t len, uint8_t out[4])
{
	size_t pos = 0;
	for (int part = 0; part < 4; part++) {
		size_t end = pos;
		while (end < len && s[end] != '.')
			end++;
		if ((part < 3) != (end < len))
			return -1; /* three dots, the last one before the fourth part */
		int v = strict_decimal(s + pos, end - pos, 3, 255);
		if (v < 0)
			return -1;
		out[part] = (uint8_t)v;
		pos = end + 1;
	}
	return 0;
}

/* Colon-separated hex groups filling s[0..len) entirely; an empty span is
 * zero groups. At most max groups; their count, or -1. */
static int parse_groups(const char *s, size_t len, uint16_t *g, int max)
{
	int n = 0;
	size_t pos = 0;
	if (len == 0)
		return 0;
	for (;;) {
		size_t end = pos;
		unsigned v = 0;
		while (end < len && s[end] != ':') {
			int h = hex_digit(s[end]);
			if (h < 0 || end - pos == 4)
				return -1;
			v = v * 16 + (unsigned)h;
			end++;
		}
		if (end == pos || n == max)
			return -1;
		g[n++] = (uint16_t)v;
		if (end == len)
			return n;
		pos = end + 1; /* past ':'; a trailing ':' leaves an empty group */
	}
}

static const char *find_double_colon(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == ':' && s[i + 1] == ':')
			return s + i;
	return NULL;
}

static int parse_v6(const char *s, size_t len, uint8_t out[16])
{
	uint16_t head[8], tail[8], all[8] = {0};
	const char *dc = find_double_colon(s, len);
	int nh, nt = 0;
	if (dc == NULL) {
		if (parse_groups(s, len, all, 8) != 8)
			return -1;
	} else {
		size_t hl = (size_t)(dc - s), tl = len - hl - 2;
		nh = parse_groups(s, hl, head, 7);
		nt = nh < 0 ? -1 : parse_groups(dc + 2, tl, tail, 7 - nh);
		if (nt < 0)
			return -1;
		memcpy(all, head, (size_t)nh * sizeof *head);
		memcpy(all + 8 - nt, tail, (size_t)nt * sizeof *tail);
	}
	for (int i = 0; i < 8; i++) {
		out[2 * i] = (uint8_t)(all[i] >> 8);
		out[2 * i + 1] = (uint8_t)all[i];
	}
	return 0;
}

int pol_ip_parse(const char *s, size_t len, pol_ip_t *out)
{
	pol_ip_t ip;
	memset(&ip, 0, sizeof ip);
	if (len > IP_MAX_TEXT || (twice(s, len, ':') && twice(s, len, '.')))
		return -1;
	const char *slash = memchr(s, '/', len);
	size_t alen = slash != NULL ? (size_t)(slash - s) : len;
	if (parse_v4(s, alen, ip.addr) == 0)
		ip.prefix = 32;
	else if (parse_v6(s, alen, ip.addr) == 0) {
		ip.v6 = 1;
		ip.prefix = 128;
	} else {
		return -1;
	}
	if (slash != NULL) {
		int p = strict_decimal(slash + 1, len - alen - 1, ip.v6 ? 3 : 2, ip.prefix);
		if (p < 0)
			return -1;
		ip.prefix = (uint8_t)p;
	}
	*out = ip;
	return 0;
}

static size_t addr_len(const pol_ip_t *a)
{
	return a->v6 ? 16 : 4;
}

bool pol_ip_eq(const pol_ip_t *a, const pol_ip_t *b)
{
	return a->v6 == b->v6 && a->prefix == b->prefix &&
	       memcmp(a->addr, b->addr, addr_len(a)) == 0;
}

bool pol_ip_is_v4(const pol_ip_t *a)
{
	return !a->v6;
}

bool pol_ip_is_v6(const pol_ip_t *a)
{
	return a->v6;
}

/* The first bits bits of x and y agree. */
static bool same_prefix(const uint8_t *x, const uint8_t *y, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	if (memcmp(x, y, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return ((x[whole] ^ y[whole]) & mask) == 0;
}

/* CIDR blocks nest or are disjoint, so a lies inside range exactly when it
 * is no wider and agrees with range on range's network bits. This is the
 * reference's network/broadcast comparison. */
bool pol_ip_in_range(const pol_ip_t *a, const pol_ip_t *range)
{
	return a->v6 == range->v6 && a->prefix >= range->prefix &&
	       same_prefix(a->addr, range->addr, range->prefix);
}

/* The reference tests the address and a minimum prefix, which for these
 * blocks is the same as isInRange(127.0.0.0/8) or isInRange(::1/128). */
bool pol_ip_is_loopback(const pol_ip_t *a)
{
	static const uint8_t v6_loop[16] = {[15] = 1};
	if (!a->v6)
		return a->addr[0] == 127 && a->prefix >= 8;
	return a->prefix == 128 && memcmp(a->addr, v6_loop, 16) == 0;
}

/* 224.0.0.0/4 and ff00::/8. */
bool pol_ip_is_multicast(const pol_ip_t *a)
{
	if (!a->v6)
		return (a->addr[0] & 0xf0) == 0xe0 && a->prefix >= 4;
	return a->addr[0] == 0xff && a->prefix >= 8;
}

/* The longest run of two or more zero groups (the first on a tie), as RFC
 * 5952 and Rust's Display choose it; *len 0 when there is none. */
static void zero_run(const uint16_t g[8], int *start, int *len)
{
	*start = 0, *len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && g[j] == 0)
			j++;
		if (j - i > *len && j - i >= 2)
			*start = i, *len = j - i;
		i = j > i ? j : i + 1;
	}
}

static int render_v6(const uint8_t addr[16], char *out, size_t size)
{
	uint16_t g[8];
	int start, run, n = 0;
	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(addr[2 * i] << 8 | addr[2 * i + 1]);
	zero_run(g, &start, &run);
	for (int i = 0; i < 8; i++) {
		if (run > 0 && i == start) {
			n += snprintf(out + n, size - (size_t)n, "::");
			i += run - 1;
			continue;
		}
		const char *sep = i > 0 && !(run > 0 && i == start + run) ? ":" : "";
		n += snprintf(out + n, size - (size_t)n, "%s%x", sep, g[i]);
	}
	return n;
}

/* Dotted quad or RFC 5952 text (never the dotted ::ffff:a.b.c.d form, which
 * the reference would refuse to read back), with "/prefix" unless the
 * prefix is full, so the text parses back to an equal value. Truncated to
 * size like snprintf; returns the full length. */
size_t pol_ip_render(const pol_ip_t *a, char *buf, size_t size)
{
	char tmp[64];
	int n;
	if (a->v6)
		n = render_v6(a->addr, tmp, sizeof tmp);
	else
		n = snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", a->addr[0], a->addr[1], a->addr[2],
			     a->addr[3]);
	if (a->prefix != (a->v6 ? 128 : 32))
		n += snprintf(tmp + n, sizeof tmp - (size_t)n, "/%u", a->prefix);
	return (size_t)snprintf(buf, size, "%s", tmp);
}
