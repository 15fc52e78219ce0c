/* ext_datetime.c - Cedar's datetime extension (RFC 80): datetime("...") and
 * duration("...") parsing, the offset, durationSince, toDate and toTime
 * methods, and renderings (see ext.h). Both types are milliseconds in an
 * int64_t: a datetime since 1970-01-01T00:00:00Z (no leap seconds), a
 * duration as a signed span. Arithmetic that leaves int64 is an error, as in
 * the reference, never a wrapped value.
 *
 * WHAT THE REFERENCE ACCEPTS (cedar-policy-core extensions/datetime.rs,
 * checked against cedar-wasm 4.13):
 *   datetime: "YYYY-MM-DD", optionally followed by "Thh:mm:ss", then an
 *   optional ".SSS" (exactly three digits) and then 'Z' or (+|-)hhmm. All
 *   digits ASCII, fields fixed width, letters upper case. The date must
 *   exist in the proleptic Gregorian calendar (year 0000 is a leap year),
 *   hh < 24, mm < 60, ss < 60 (no leap second), offset hh < 24 and mm < 60.
 *   An offset is subtracted: 12:00:00+0100 is 11:00:00Z.
 *   duration: an optional '-', then quantity-unit pairs in the order d, h,
 *   m, s, ms, each at most once, at least one; quantities are ASCII digits
 *   (leading zeros allowed). The sign applies to the whole span; the total
 *   must fit in int64 (-9223372036854775808ms is accepted). */
#include "core/policy/ext.h"
#include "core/civil.h"
#include <stdio.h>

#define MS_PER_DAY INT64_C(86400000)
#define MS_PER_MIN INT64_C(60000)
/* 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z. */
#define YEAR0_MS INT64_C(-62167219200000)
#define YEAR10K_MS INT64_C(253402300800000)
#define MAX_OFFSET_MIN (24 * 60 - 1)

/* n ASCII digits at s as a number, or -1. */
static int fixed_digits(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

typedef struct {
	int64_t year;
	int month, day, hour, min, sec, ms;
} civil_t;

/* "YYYY-MM-DD" at s (10 bytes): days since the epoch, or -1 when the
 * pattern or the date is wrong. */
static int parse_date(const char *s, int64_t *days)
{
	int y = fixed_digits(s, 4), m = fixed_digits(s + 5, 2), d = fixed_digits(s + 8, 2);
	if (y < 0 || s[4] != '-' || m < 0 || s[7] != '-' || d < 0)
		return -1;
	if (m < 1 || m > 12 || d < 1 || d > civil_month_days(y, m))
		return -1;
	*days = civil_days(y, m, d);
	return 0;
}

/* "Thh:mm:ss" at s (9 bytes): milliseconds into the day, or -1. */
static int parse_hms(const char *s, int64_t *ms)
{
	int h = fixed_digits(s + 1, 2), m = fixed_digits(s + 4, 2), sec = fixed_digits(s + 7, 2);
	if (s[0] != 'T' || h < 0 || s[3] != ':' || m < 0 || s[6] != ':' || sec < 0)
		return -1;
	if (h > 23 || m > 59 || sec > 59)
		return -1;
	*ms = ((int64_t)h * 3600 + m * 60 + sec) * 1000;
	return 0;
}

/* The rest after the seconds, to the end: [".SSS"] ("Z" | (+|-)hhmm).
 * Adds the milliseconds and subtracts the offset; -1 when malformed. */
static int parse_tail(const char *s, size_t len, int64_t *ms)
{
	size_t pos = 0;
	if (len >= 4 && s[0] == '.') {
		int frac = fixed_digits(s + 1, 3);
		if (frac < 0)
			return -1;
		*ms += frac;
		pos = 4;
	}
	if (len - pos == 1 && s[pos] == 'Z')
		return 0;
	if (len - pos != 5 || (s[pos] != '+' && s[pos] != '-'))
		return -1;
	int oh = fixed_digits(s + pos + 1, 2), om = fixed_digits(s + pos + 3, 2);
	if (oh < 0 || om < 0 || oh > 23 || om > 59)
		return -1;
	int64_t off = ((int64_t)oh * 60 + om) * MS_PER_MIN;
	*ms += s[pos] == '+' ? -off : off;
	return 0;
}

int pol_datetime_parse(const char *s, size_t len, int64_t *out_ms)
{
	int64_t days, ms;
	if (len < 10 || parse_date(s, &days) < 0)
		return -1;
	if (len == 10) {
		*out_ms = days * MS_PER_DAY;
		return 0;
	}
	if (len < 19 || parse_hms(s + 10, &ms) < 0 || parse_tail(s + 19, len - 19, &ms) < 0)
		return -1;
	*out_ms = days * MS_PER_DAY + ms; /* years 0..9999: far from overflow */
	return 0;
}

/* The unit a duration suffix names at s[*pos..] (moving past it): 0 d,
 * 1 h, 2 m, 3 s, 4 ms; -1 for anything else. */
static int duration_unit(const char *s, size_t len, size_t *pos)
{
	char c = *pos < len ? s[*pos] : '\0';
	(*pos)++;
	switch (c) {
	case 'd':
		return 0;
	case 'h':
		return 1;
	case 's':
		return 3;
	case 'm':
		if (*pos < len && s[*pos] == 's') {
			(*pos)++;
			return 4;
		}
		return 2;
	default:
		return -1;
	}
}

/* One quantity at s[*pos..]: digits, no bigger than limit; -1 otherwise. */
static int duration_quantity(const char *s, size_t len, size_t *pos, uint64_t limit,
			     uint64_t *out)
{
	uint64_t v = 0;
	size_t start = *pos;
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		uint64_t d = (uint64_t)(s[*pos] - '0');
		if (v > (limit - d) / 10)
			return -1;
		v = v * 10 + d;
		(*pos)++;
	}
	*out = v;
	return *pos > start ? 0 : -1;
}

int pol_duration_parse(const char *s, size_t len, int64_t *out_ms)
{
	static const uint64_t unit_ms[5] = {86400000, 3600000, 60000, 1000, 1};
	bool neg = len > 0 && s[0] == '-';
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
	uint64_t total = 0, q;
	size_t pos = neg ? 1 : 0;
	int last = -1;
	if (pos == len)
		return -1;
	while (pos < len) {
		if (duration_quantity(s, len, &pos, limit, &q) < 0)
			return -1;
		int unit = duration_unit(s, len, &pos);
		if (unit <= last || q > (limit - total) / unit_ms[unit])
			return -1;
		total += q * unit_ms[unit];
		last = unit;
	}
	*out_ms = !neg ? (int64_t)total : total > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)total;
	return 0;
}

int pol_datetime_offset(int64_t dt, int64_t dur, int64_t *out)
{
	return __builtin_add_overflow(dt, dur, out) ? -1 : 0;
}

int pol_datetime_duration_since(int64_t dt, int64_t other, int64_t *out)
{
	return __builtin_sub_overflow(dt, other, out) ? -1 : 0;
}

/* Midnight (UTC) of dt's day: floor division, so 1969-12-31T23:00Z gives
 * 1969-12-31. Only the days just above INT64_MIN overflow. */
int pol_datetime_to_date(int64_t dt, int64_t *out)
{
	if (dt >= 0 || dt % MS_PER_DAY == 0) {
		*out = dt - dt % MS_PER_DAY;
		return 0;
	}
	return __builtin_mul_overflow(dt / MS_PER_DAY - 1, MS_PER_DAY, out) ? -1 : 0;
}

/* Milliseconds since dt's midnight, always in [0, 1 day). */
int64_t pol_datetime_to_time(int64_t dt)
{
	int64_t r = dt % MS_PER_DAY;
	return r < 0 ? r + MS_PER_DAY : r;
}

/* The calendar fields of ms (any int64). */
static void civil_from_ms(int64_t ms, civil_t *c)
{
	int64_t tod = pol_datetime_to_time(ms);
	int64_t days = ms / MS_PER_DAY - (ms % MS_PER_DAY < 0); /* floor, no overflow */
	civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (int)(tod / 3600000);
	c->min = (int)(tod / 60000 % 60);
	c->sec = (int)(tod / 1000 % 60);
	c->ms = (int)(tod % 1000);
}

/* The offset in minutes (east positive) that brings ms into years
 * 0000..9999 as local time, 0 when it already is there, or a value above
 * MAX_OFFSET_MIN when no offset a datetime string can carry would do. */
static int64_t offset_needed(int64_t ms)
{
	if (ms < YEAR0_MS)
		return (YEAR0_MS - ms + MS_PER_MIN - 1) / MS_PER_MIN;
	if (ms >= YEAR10K_MS)
		return -((ms - YEAR10K_MS) / MS_PER_MIN + 1);
	return 0;
}

static int render_civil(const civil_t *c, int64_t off_min, char *out, size_t size)
{
	int n;
	bool date_only = off_min == 0 && c->hour == 0 && c->min == 0 && c->sec == 0 && c->ms == 0;
	int64_t ay = c->year < 0 ? -c->year : c->year;
	const char *ys = c->year < 0 ? "-" : c->year > 9999 ? "+" : "";
	n = snprintf(out, size, "%s%04lld-%02d-%02d", ys, (long long)ay, c->month, c->day);
	if (date_only)
		return n;
	n += snprintf(out + n, size - (size_t)n, "T%02d:%02d:%02d", c->hour, c->min, c->sec);
	if (c->ms != 0)
		n += snprintf(out + n, size - (size_t)n, ".%03d", c->ms);
	if (off_min == 0)
		return n + snprintf(out + n, size - (size_t)n, "Z");
	int64_t a = off_min < 0 ? -off_min : off_min;
	return n + snprintf(out + n, size - (size_t)n, "%c%02lld%02lld", off_min < 0 ? '-' : '+',
			    (long long)(a / 60), (long long)(a % 60));
}

/* A datetime string that parses back to ms: "2024-10-15" at midnight UTC,
 * else "2024-10-15T11:35:00Z", with ".123" when the milliseconds are not
 * zero. The few values just outside years 0000..9999 that a string with an
 * offset can still name (datetime("0000-01-01T00:00:00+0100") is one) get
 * such an offset; values further out, reachable only through offset(),
 * render with a signed wider year ("+292278994-08-17T07:12:55.807Z"), which
 * no datetime string can express. Truncated to size like snprintf; returns
 * the full length. */
size_t pol_datetime_render(int64_t ms, char *buf, size_t size)
{
	char tmp[64];
	civil_t c;
	int64_t off = offset_needed(ms);
	if (off > MAX_OFFSET_MIN || off < -MAX_OFFSET_MIN)
		off = 0;
	civil_from_ms(ms + off * MS_PER_MIN, &c);
	render_civil(&c, off, tmp, sizeof tmp);
	return (size_t)snprintf(buf, size, "%s", tmp);
}

/* The reference's own text for a duration: milliseconds, "-90000ms". */
size_t pol_duration_render(int64_t ms, char *buf, size_t size)
{
	return (size_t)snprintf(buf, size, "%lldms", (long long)ms);
}
