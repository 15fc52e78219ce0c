/* fuzz_policy_ext.c - the Cedar extension parsers (ip, decimal, datetime,
 * duration) on arbitrary bytes, read in place (no terminator, so an
 * over-read is an ASan report). Whatever parses renders to text that
 * parses back to the same value, and the methods keep their invariants:
 * isLoopback and isMulticast agree with isInRange of their blocks, toDate
 * and toTime split a datetime, offset and durationSince undo each other.
 * When the input holds a newline, the two halves are also tried as a pair
 * of ip ranges. */
#include "core/policy/ext.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pol_ip_t ip_lit(const char *s)
{
	pol_ip_t ip;
	fz_require(pol_ip_parse(s, strlen(s), &ip) == 0, "block literal parses");
	return ip;
}

static void check_ip(const pol_ip_t *ip)
{
	char buf[96];
	pol_ip_t again;
	size_t n = pol_ip_render(ip, buf, sizeof buf);
	fz_require(n < sizeof buf && n == strlen(buf), "ip rendering fits");
	fz_require(pol_ip_parse(buf, n, &again) == 0 && pol_ip_eq(ip, &again),
		   "ip rendering parses back");
	fz_require(pol_ip_is_v4(ip) != pol_ip_is_v6(ip), "one version");
	fz_require(pol_ip_in_range(ip, ip), "inside itself");
	pol_ip_t loop = ip_lit(ip->v6 ? "::1" : "127.0.0.0/8");
	pol_ip_t multi = ip_lit(ip->v6 ? "ff00::/8" : "224.0.0.0/4");
	fz_require(pol_ip_is_loopback(ip) == pol_ip_in_range(ip, &loop), "loopback is a block");
	fz_require(pol_ip_is_multicast(ip) == pol_ip_in_range(ip, &multi), "multicast is a block");
}

static void check_ip_pair(const pol_ip_t *a, const pol_ip_t *b)
{
	bool ab = pol_ip_in_range(a, b), ba = pol_ip_in_range(b, a);
	fz_require(!ab || (a->v6 == b->v6 && a->prefix >= b->prefix), "a range is no narrower");
	fz_require(!(ab && ba) || a->prefix == b->prefix, "mutual ranges are the same block");
	fz_require(!pol_ip_eq(a, b) || (ab && ba), "equal values contain each other");
}

static void check_decimal(int64_t d)
{
	char buf[96];
	int64_t again;
	size_t n = pol_decimal_render(d, buf, sizeof buf);
	fz_require(n < sizeof buf, "decimal rendering fits");
	fz_require(pol_decimal_parse(buf, n, &again) == 0 && again == d,
		   "decimal rendering parses back");
}

static void check_datetime(int64_t dt)
{
	char buf[96];
	int64_t again, date;
	size_t n = pol_datetime_render(dt, buf, sizeof buf);
	fz_require(n < sizeof buf, "datetime rendering fits");
	fz_require(pol_datetime_parse(buf, n, &again) == 0 && again == dt,
		   "datetime rendering parses back");
	fz_require(pol_datetime_to_date(dt, &date) == 0, "toDate of a parsed datetime");
	int64_t t = pol_datetime_to_time(dt);
	fz_require(t >= 0 && t < 86400000 && date + t == dt && date % 86400000 == 0,
		   "toDate + toTime is the datetime");
}

static void check_duration(int64_t ms)
{
	char buf[96];
	int64_t again;
	size_t n = pol_duration_render(ms, buf, sizeof buf);
	fz_require(n < sizeof buf, "duration rendering fits");
	fz_require(pol_duration_parse(buf, n, &again) == 0 && again == ms,
		   "duration rendering parses back");
}

/* A parsed duration applied to a few datetimes, the extremes included:
 * where offset succeeds, durationSince gives the duration back. */
static void check_time_arithmetic(int64_t dur)
{
	static const int64_t base[] = {0, -1, INT64_MAX, INT64_MIN, 253402300799999};
	for (size_t i = 0; i < sizeof base / sizeof base[0]; i++) {
		int64_t moved, back;
		if (pol_datetime_offset(base[i], dur, &moved) != 0)
			continue;
		fz_require(pol_datetime_duration_since(moved, base[i], &back) == 0 && back == dur,
			   "durationSince undoes offset");
		int64_t date;
		if (pol_datetime_to_date(moved, &date) == 0)
			fz_require(date <= moved && moved - date == pol_datetime_to_time(moved),
				   "toDate floors");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	pol_ip_t ip, other;
	int64_t v;
	if (pol_ip_parse(s, size, &ip) == 0)
		check_ip(&ip);
	if (pol_decimal_parse(s, size, &v) == 0)
		check_decimal(v);
	if (pol_datetime_parse(s, size, &v) == 0)
		check_datetime(v);
	if (pol_duration_parse(s, size, &v) == 0) {
		check_duration(v);
		check_time_arithmetic(v);
	}
	const char *nl = memchr(s, '\n', size);
	if (nl != NULL) {
		size_t first = (size_t)(nl - s);
		if (pol_ip_parse(s, first, &ip) == 0 &&
		    pol_ip_parse(nl + 1, size - first - 1, &other) == 0)
			check_ip_pair(&ip, &other);
	}
	return 0;
}
