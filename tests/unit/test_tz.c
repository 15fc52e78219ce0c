/* test_tz.c - time zones without libc's TZ (src/core/tzif.c, tz_rule.c,
 * civil.c): real zoneinfo files (Europe/Berlin, America/New_York,
 * Australia/Lord_Howe with its 30-minute DST, Asia/Kolkata, UTC) checked
 * hour by hour against glibc's localtime_r over 1900..2100 (the test may
 * use TZ; the module may not), local times in gaps and overlaps, the
 * footer's POSIX TZ rules (Mm.w.d, Jn, n, negative and 167-hour times,
 * all-year DST), version 1 and slim version 2/3 files built here, and
 * malformed files (every truncation of a real one, bad counts, indexes,
 * offsets, order, leap seconds, footers). */
#include "test_util.h"
#include "core/civil.h"
#include "core/tz.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


/* The instant of a UTC date and time. */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* Local seconds of a wall-clock date and time. */
static int64_t wall(int y, int mo, int d, int h, int mi)
{
	return utc(y, mo, d, h, mi);
}

static uint8_t *read_zone_bytes(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, TU_ZONEINFO "%s", name);
	uint8_t *b = (uint8_t *)tu_read_file(path, len);
	if (b == NULL)
		fail_msg("cannot read %s (Debian package tzdata)", path);
	return b;
}


static tz_t *rule(const char *s)
{
	char err[200];
	tz_t *z = NULL;
	if (tz_parse_rule(s, strlen(s), &z, err, sizeof err) != 0)
		fail_msg("%s: %s", s, err);
	return z;
}

/* Asserts the local time resolves to want with the given case. */
static void assert_local(const tz_t *z, int64_t local, int64_t want, int kind)
{
	int64_t got = 0;
	int rc = tz_local_to_utc(z, local, &got);
	if (rc != kind || got != want)
		fail_msg("local %lld: got %lld (case %d), want %lld (case %d)", (long long)local,
			 (long long)got, rc, (long long)want, kind);
}

/* ---- calendar ------------------------------------------------------------ */

static void test_civil(void **state)
{
	int64_t y;
	int m, d;
	assert_int_equal(civil_days(1970, 1, 1), 0);
	assert_int_equal(civil_days(2000, 3, 1), 11017);
	assert_int_equal(civil_days(1969, 12, 31), -1);
	assert_int_equal(civil_weekday(0), 4);                       /* Thursday */
	assert_int_equal(civil_weekday(civil_days(2026, 3, 29)), 0); /* Sunday */
	assert_int_equal(civil_weekday(-1), 3);
	assert_int_equal(civil_month_days(2024, 2), 29);
	assert_int_equal(civil_month_days(2100, 2), 28);
	assert_int_equal(civil_month_days(2000, 2), 29);
	for (int64_t day = -800000; day < 800000; day += 997) {
		civil_from_days(day, &y, &m, &d);
		assert_int_equal(civil_days(y, m, d), day);
	}
	assert_int_equal(civil_floor_div(-1, 86400), -1);
	assert_int_equal(civil_floor_div(-86400, 86400), -1);
	assert_int_equal(civil_floor_div(86399, 86400), 0);
}

/* ---- real zones against glibc -------------------------------------------- */

/* tz_utc_offset equals glibc's tm_gmtoff every 3607 seconds (so that the
 * sampled phase drifts through the hour) over 1900..2100, which covers
 * the transition table and, after 2037, the footer's rule. And every
 * local time that occurs resolves to an instant with that local time, the
 * instant itself unless the local time occurs twice. */
static void check_against_glibc(const char *name)
{
	char tzenv[256];
	tz_t *z = tu_zone(name);
	snprintf(tzenv, sizeof tzenv, ":" TU_ZONEINFO "%s", name);
	setenv("TZ", tzenv, 1);
	tzset();
	for (int64_t t = utc(1900, 1, 1, 0, 0); t < utc(2100, 1, 1, 0, 0); t += 3607) {
		time_t tt = (time_t)t;
		struct tm tm;
		assert_non_null(localtime_r(&tt, &tm));
		int32_t off = tz_utc_offset(z, t);
		if (off != tm.tm_gmtoff)
			fail_msg("%s at %lld: offset %d, glibc %ld", name, (long long)t, off, tm.tm_gmtoff);
		int64_t u = 0;
		int rc = tz_local_to_utc(z, t + off, &u);
		assert_true(rc == TZ_LOCAL_EXACT || rc == TZ_LOCAL_OVERLAP);
		assert_true(rc == TZ_LOCAL_OVERLAP ? u <= t : u == t);
		assert_int_equal(u + tz_utc_offset(z, u), t + off);
	}
	unsetenv("TZ");
	tzset();
	tz_free(z);
}

static void test_glibc_berlin(void **state)
{
	check_against_glibc("Europe/Berlin");
}

static void test_glibc_new_york(void **state)
{
	check_against_glibc("America/New_York");
}

static void test_glibc_lord_howe(void **state)
{
	check_against_glibc("Australia/Lord_Howe");
}

static void test_glibc_kolkata(void **state)
{
	check_against_glibc("Asia/Kolkata");
}

static void test_glibc_utc(void **state)
{
	check_against_glibc("UTC");
}

/* ---- real zones at their changes ----------------------------------------- */

static void test_berlin(void **state)
{
	tz_t *z = tu_zone("Europe/Berlin");
	/* 2026: CEST from the last Sunday of March 01:00Z to the last Sunday
	 * of October 01:00Z. */
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 29, 1, 0) - 1), 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 29, 1, 0)), 7200);
	assert_int_equal(tz_utc_offset(z, utc(2026, 10, 25, 1, 0) - 1), 7200);
	assert_int_equal(tz_utc_offset(z, utc(2026, 10, 25, 1, 0)), 3600);
	/* 2050 is past the table: the footer's CET-1CEST,M3.5.0,M10.5.0/3. */
	assert_int_equal(tz_utc_offset(z, utc(2050, 3, 27, 1, 0) - 1), 3600);
	assert_int_equal(tz_utc_offset(z, utc(2050, 3, 27, 1, 0)), 7200);
	assert_int_equal(tz_utc_offset(z, utc(2050, 10, 30, 1, 0) - 1), 7200);
	assert_int_equal(tz_utc_offset(z, utc(2050, 10, 30, 1, 0)), 3600);
	/* Spring: 02:00..03:00 does not exist and moves forward an hour. */
	assert_local(z, wall(2026, 3, 29, 1, 59), utc(2026, 3, 29, 0, 59), TZ_LOCAL_EXACT);
	assert_local(z, wall(2026, 3, 29, 2, 0), utc(2026, 3, 29, 1, 0), TZ_LOCAL_GAP);
	assert_local(z, wall(2026, 3, 29, 2, 30), utc(2026, 3, 29, 1, 30), TZ_LOCAL_GAP);
	assert_local(z, wall(2026, 3, 29, 3, 0), utc(2026, 3, 29, 1, 0), TZ_LOCAL_EXACT);
	/* Autumn: 02:00..03:00 happens twice; the earlier (CEST) wins. */
	assert_local(z, wall(2026, 10, 25, 1, 59), utc(2026, 10, 24, 23, 59), TZ_LOCAL_EXACT);
	assert_local(z, wall(2026, 10, 25, 2, 0), utc(2026, 10, 25, 0, 0), TZ_LOCAL_OVERLAP);
	assert_local(z, wall(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30), TZ_LOCAL_OVERLAP);
	assert_local(z, wall(2026, 10, 25, 3, 0), utc(2026, 10, 25, 2, 0), TZ_LOCAL_EXACT);
	/* The same from the footer in 2050. */
	assert_local(z, wall(2050, 3, 27, 2, 30), utc(2050, 3, 27, 1, 30), TZ_LOCAL_GAP);
	assert_local(z, wall(2050, 10, 30, 2, 30), utc(2050, 10, 30, 0, 30), TZ_LOCAL_OVERLAP);
	tz_free(z);
}

static void test_new_york(void **state)
{
	tz_t *z = tu_zone("America/New_York");
	assert_int_equal(tz_utc_offset(z, utc(2026, 1, 15, 12, 0)), -5 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 7, 15, 12, 0)), -4 * 3600);
	/* 2026-03-08 02:00 EST -> 03:00 EDT; 2026-11-01 02:00 EDT -> 01:00 EST. */
	assert_local(z, wall(2026, 3, 8, 2, 30), utc(2026, 3, 8, 7, 30), TZ_LOCAL_GAP);
	assert_local(z, wall(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30), TZ_LOCAL_OVERLAP);
	assert_local(z, wall(2026, 11, 1, 2, 0), utc(2026, 11, 1, 7, 0), TZ_LOCAL_EXACT);
	tz_free(z);
}

static void test_lord_howe(void **state)
{
	tz_t *z = tu_zone("Australia/Lord_Howe");
	/* +10:30 standard, +11 daylight: DST ends 2026-04-05 02:00 (15:00Z)
	 * back to 01:30, starts 2026-10-04 02:00 (15:30Z) forward to 02:30. */
	assert_int_equal(tz_utc_offset(z, utc(2026, 4, 4, 15, 0) - 1), 11 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 4, 4, 15, 0)), 10 * 3600 + 1800);
	assert_int_equal(tz_utc_offset(z, utc(2026, 10, 3, 15, 30) - 1), 10 * 3600 + 1800);
	assert_int_equal(tz_utc_offset(z, utc(2026, 10, 3, 15, 30)), 11 * 3600);
	assert_local(z, wall(2026, 4, 5, 1, 45), utc(2026, 4, 4, 14, 45), TZ_LOCAL_OVERLAP);
	assert_local(z, wall(2026, 4, 5, 2, 0), utc(2026, 4, 4, 15, 30), TZ_LOCAL_EXACT);
	assert_local(z, wall(2026, 10, 4, 2, 15), utc(2026, 10, 3, 15, 45), TZ_LOCAL_GAP);
	assert_local(z, wall(2026, 10, 4, 2, 30), utc(2026, 10, 3, 15, 30), TZ_LOCAL_EXACT);
	/* Past the table (footer <+1030>-10:30<+11>-11,M10.1.0,M4.1.0). */
	assert_local(z, wall(2060, 10, 3, 2, 15), utc(2060, 10, 2, 15, 45), TZ_LOCAL_GAP);
	tz_free(z);
}

static void test_kolkata_and_utc(void **state)
{
	tz_t *k = tu_zone("Asia/Kolkata"), *u = tu_zone("UTC");
	assert_int_equal(tz_utc_offset(k, utc(2026, 6, 1, 0, 0)), 5 * 3600 + 1800);
	assert_local(k, wall(2026, 12, 7, 2, 0), utc(2026, 12, 6, 20, 30), TZ_LOCAL_EXACT);
	for (int64_t t = utc(1900, 1, 1, 0, 0); t < utc(2200, 1, 1, 0, 0); t += 86400 * 97 + 13) {
		assert_int_equal(tz_utc_offset(u, t), 0);
		assert_int_equal(tz_utc_offset(tz_utc(), t), 0);
		assert_local(u, t, t, TZ_LOCAL_EXACT);
		assert_local(tz_utc(), t, t, TZ_LOCAL_EXACT);
	}
	tz_free(k);
	tz_free(u);
	tz_free((tz_t *)tz_utc()); /* a no-op */
}

static void test_local_range(void **state)
{
	int64_t out;
	assert_int_equal(tz_local_to_utc(tz_utc(), TZ_MIN_TIME - 1, &out), -1);
	assert_int_equal(tz_local_to_utc(tz_utc(), TZ_MAX_TIME + 1, &out), -1);
	assert_int_equal(tz_local_to_utc(tz_utc(), TZ_MAX_TIME, &out), TZ_LOCAL_EXACT);
	tz_t *z = tu_zone("Europe/Berlin");
	assert_int_equal(tz_utc_offset(z, INT64_MAX), 3600); /* clamped to 9999 (winter) */
	assert_int_equal(tz_utc_offset(z, INT64_MIN), tz_utc_offset(z, utc(1800, 1, 1, 0, 0)));
	assert_int_equal(tz_local_to_utc(z, TZ_MIN_TIME, &out), TZ_LOCAL_EXACT);
	assert_int_equal(tz_local_to_utc(z, TZ_MAX_TIME, &out), TZ_LOCAL_EXACT);
	tz_free(z);
}

/* ---- POSIX TZ strings ---------------------------------------------------- */

static void test_rule_forms(void **state)
{
	tz_t *z = rule("UTC0");
	assert_int_equal(tz_utc_offset(z, utc(2026, 7, 1, 0, 0)), 0);
	tz_free(z);
	z = rule("IST-5:30");
	assert_int_equal(tz_utc_offset(z, 0), 19800);
	tz_free(z);
	z = rule("<-0330>3:30");
	assert_int_equal(tz_utc_offset(z, 0), -12600);
	tz_free(z);
	/* Default DST offset (one hour ahead) and default time 02:00. */
	z = rule("EST5EDT,M3.2.0,M11.1.0");
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 8, 7, 0) - 1), -5 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 8, 7, 0)), -4 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 11, 1, 6, 0) - 1), -4 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 11, 1, 6, 0)), -5 * 3600);
	tz_free(z);
	/* Southern hemisphere, 30-minute DST. */
	z = rule("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
	assert_int_equal(tz_utc_offset(z, utc(2026, 1, 1, 0, 0)), 11 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 6, 1, 0, 0)), 10 * 3600 + 1800);
	tz_free(z);
	/* Negative time (America/Nuuk): DST from Saturday 22:00 local -2. */
	z = rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 29, 1, 0) - 1), -7200); /* 2026-03-28 23:00 -02 */
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 29, 1, 0)), -3600);
	tz_free(z);
	/* Hours past 24 (Asia/Jerusalem): Friday before the last Sunday. */
	z = rule("IST-2IDT,M3.4.4/26,M10.5.0");
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 27, 0, 0) - 1), 7200); /* Thu 26th + 26h = Fri 02:00 */
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 27, 0, 0)), 10800);
	tz_free(z);
	/* Jn never counts Feb 29; n does. */
	z = rule("AAA0BBB,J60/0,J300/0");
	assert_int_equal(tz_utc_offset(z, utc(2024, 3, 1, 0, 0) - 1), 0);
	assert_int_equal(tz_utc_offset(z, utc(2024, 3, 1, 0, 0)), 3600);
	tz_free(z);
	z = rule("AAA0BBB,59/0,300/0");
	assert_int_equal(tz_utc_offset(z, utc(2024, 2, 29, 0, 0) - 1), 0);
	assert_int_equal(tz_utc_offset(z, utc(2024, 2, 29, 0, 0)), 3600);
	assert_int_equal(tz_utc_offset(z, utc(2025, 3, 1, 0, 0)), 3600);
	tz_free(z);
	/* All-year DST (RFC 8536 3.3.1): EST5EDT4 from Jan 1 00:00 to Dec 31 25:00. */
	z = rule("EST5EDT4,0/0,J365/25");
	for (int64_t t = utc(2020, 1, 1, 0, 0); t < utc(2030, 1, 1, 0, 0); t += 3600 * 7 + 11)
		assert_int_equal(tz_utc_offset(z, t), -4 * 3600);
	assert_local(z, wall(2026, 1, 1, 0, 30), utc(2026, 1, 1, 4, 30), TZ_LOCAL_EXACT);
	tz_free(z);
	/* A change that lands in the next year (found by fuzzing): DST would
	 * end on Jan 1 09:00Z, after the next year's start at 07:00Z, so it
	 * is in force from 07:00Z to 09:00Z only. */
	z = rule("EST0EDT8,0/7,J365/25");
	assert_int_equal(tz_utc_offset(z, utc(1970, 1, 1, 0, 0)), 0);
	assert_int_equal(tz_utc_offset(z, utc(1970, 1, 1, 7, 0)), -8 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(1970, 1, 1, 9, 0) - 1), -8 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(1970, 1, 1, 9, 0)), 0);
	assert_int_equal(tz_utc_offset(z, utc(2026, 6, 1, 0, 0)), 0);
	tz_free(z);
	/* Week 5 is the last such weekday, whether the month has 4 or 5. */
	z = rule("CET-1CEST,M3.5.0,M10.5.0/3");
	assert_int_equal(tz_utc_offset(z, utc(2026, 3, 29, 1, 0)), 7200);
	assert_int_equal(tz_utc_offset(z, utc(2027, 3, 28, 1, 0) - 1), 3600);
	assert_int_equal(tz_utc_offset(z, utc(2027, 3, 28, 1, 0)), 7200);
	tz_free(z);
}

static void test_rule_refused(void **state)
{
	static const struct {
		const char *s, *why;
	} bad[] = {
		{"", "without NUL"},
		{"AB0", "3 or more letters"},
		{"<AB>0", "3 or more letters"},
		{"<ABC-1", "closing '>'"},
		{"CET", "offset"},
		{"CET-25", "offset"},
		{"CET-1:60", "offset"},
		{"CET-1CEST", "needs ,start"},
		{"CET-1CEST,M3.5.0", "end of daylight"},
		{"CET-1CEST,M13.5.0,M10.5.0", "Mm.w.d"},
		{"CET-1CEST,M3.6.0,M10.5.0", "Mm.w.d"},
		{"CET-1CEST,M3.0.0,M10.5.0", "Mm.w.d"},
		{"CET-1CEST,M3.5.7,M10.5.0", "Mm.w.d"},
		{"CET-1CEST,J0,J100", "Jn"},
		{"CET-1CEST,J366,J100", "Jn"},
		{"CET-1CEST,366,100", "rule date"},
		{"CET-1CEST,M3.5.0/168,M10.5.0", "rule time"},
		{"CET-1CEST,M3.5.0,M10.5.0x", "unexpected text"},
		{"CET-1CEST-2x,M3.5.0,M10.5.0", "needs ,start"},
		{"CET-1 ", "3 or more letters"},
		{":Europe/Berlin", "3 or more letters"},
	};
	char err[200];
	tz_t *z;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		if (tz_parse_rule(bad[i].s, strlen(bad[i].s), &z, err, sizeof err) == 0)
			fail_msg("accepted \"%s\"", bad[i].s);
		assert_null(z);
		tu_assert_why(err, bad[i].why);
	}
	char big[TZ_MAX_RULE + 2];
	memset(big, 'A', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(tz_parse_rule(big, strlen(big), &z, err, sizeof err), -1);
	assert_int_equal(tz_parse_rule("UTC0\0x", 6, &z, err, sizeof err), -1);
}

/* ---- files built here ---------------------------------------------------- */

typedef struct {
	uint8_t b[8192];
	size_t n;
} buf_t;

static void put(buf_t *b, const void *p, size_t n)
{
	assert_true(b->n + n <= sizeof b->b);
	if (n == 0)
		return;
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

static void put_be(buf_t *b, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		uint8_t c = (uint8_t)(v >> (8 * i));
		put(b, &c, 1);
	}
}

typedef struct {
	char version;        /* 0, '2', '3' */
	size_t n;            /* transitions */
	const int64_t *at;
	const uint8_t *idx;
	size_t ntypes;
	const int32_t *offs;
	const char *footer;  /* version 2+: the TZ string */
	uint32_t leap;       /* leap records (zeros) to add */
} spec_t;

static void put_header(buf_t *b, const spec_t *s)
{
	put(b, "TZif", 4);
	put(b, &s->version, 1);
	put(b, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 15);
	uint32_t counts[6] = {0, 0, s->leap, (uint32_t)s->n, (uint32_t)s->ntypes, 4};
	for (int i = 0; i < 6; i++)
		put_be(b, counts[i], 4);
}

static void put_block(buf_t *b, const spec_t *s, int tsize)
{
	for (size_t i = 0; i < s->n; i++)
		put_be(b, (uint64_t)s->at[i], tsize);
	put(b, s->idx, s->n);
	for (size_t i = 0; i < s->ntypes; i++) {
		put_be(b, (uint32_t)s->offs[i], 4);
		put(b, "\0\0", 2); /* isdst 0, designation 0 */
	}
	put(b, "XYZ", 4);
	for (uint32_t i = 0; i < s->leap; i++)
		put(b, "\0\0\0\0\0\0\0\0\0\0\0\0", (size_t)tsize + 4);
}

static void build(buf_t *b, const spec_t *s)
{
	b->n = 0;
	put_header(b, s);
	put_block(b, s, 4);
	if (s->version == 0)
		return;
	put_header(b, s);
	put_block(b, s, 8);
	put(b, "\n", 1);
	put(b, s->footer, strlen(s->footer));
	put(b, "\n", 1);
}

static void test_version1(void **state)
{
	static const int64_t at[] = {1000, 2000};
	static const uint8_t idx[] = {1, 0};
	static const int32_t offs[] = {3600, 7200};
	spec_t s = {0, 2, at, idx, 2, offs, NULL, 0};
	buf_t b;
	char err[200];
	tz_t *z;
	build(&b, &s);
	assert_int_equal(tz_parse(b.b, b.n, &z, err, sizeof err), 0);
	assert_int_equal(tz_utc_offset(z, 999), 3600);   /* type 0 before the first */
	assert_int_equal(tz_utc_offset(z, 1000), 7200);
	assert_int_equal(tz_utc_offset(z, 1999), 7200);
	assert_int_equal(tz_utc_offset(z, 2000), 3600);
	assert_int_equal(tz_utc_offset(z, 1 << 30), 3600); /* no footer: the last type stays */
	tz_free(z);
}

/* A slim file: no transitions, everything from the footer. */
static void test_slim(void **state)
{
	static const int32_t offs[] = {3600};
	spec_t s = {'2', 0, NULL, NULL, 1, offs, "CET-1CEST,M3.5.0,M10.5.0/3", 0};
	buf_t b;
	char err[200];
	tz_t *z, *berlin = tu_zone("Europe/Berlin");
	build(&b, &s);
	assert_int_equal(tz_parse(b.b, b.n, &z, err, sizeof err), 0);
	for (int64_t t = utc(1997, 1, 1, 0, 0); t < utc(2060, 1, 1, 0, 0); t += 3593)
		assert_int_equal(tz_utc_offset(z, t), tz_utc_offset(berlin, t));
	tz_free(z);
	/* Version 3 with all-year DST; an empty footer means no rule. */
	s.version = '3';
	s.footer = "EST5EDT4,0/0,J365/25";
	build(&b, &s);
	assert_int_equal(tz_parse(b.b, b.n, &z, err, sizeof err), 0);
	assert_int_equal(tz_utc_offset(z, utc(2026, 1, 1, 0, 0)), -4 * 3600);
	tz_free(z);
	s.footer = "";
	build(&b, &s);
	assert_int_equal(tz_parse(b.b, b.n, &z, err, sizeof err), 0);
	assert_int_equal(tz_utc_offset(z, utc(2026, 7, 1, 0, 0)), 3600);
	tz_free(z);
	tz_free(berlin);
}

/* Transitions and then the footer's rule take over. */
static void test_table_then_rule(void **state)
{
	static const int64_t at[] = {-100000, 0};
	static const uint8_t idx[] = {1, 0};
	static const int32_t offs[] = {-5 * 3600, -4 * 3600};
	spec_t s = {'2', 2, at, idx, 2, offs, "EST5EDT,M3.2.0,M11.1.0", 0};
	buf_t b;
	char err[200];
	tz_t *z;
	build(&b, &s);
	assert_int_equal(tz_parse(b.b, b.n, &z, err, sizeof err), 0);
	assert_int_equal(tz_utc_offset(z, -100001), -5 * 3600);
	assert_int_equal(tz_utc_offset(z, -1), -4 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 7, 1, 0, 0)), -4 * 3600);
	assert_int_equal(tz_utc_offset(z, utc(2026, 1, 1, 0, 0)), -5 * 3600);
	tz_free(z);
}

static void expect_refused(const buf_t *b, const char *why)
{
	char err[200] = "";
	tz_t *z = (tz_t *)1;
	if (tz_parse(b->b, b->n, &z, err, sizeof err) == 0)
		fail_msg("accepted a file that should fail with \"%s\"", why);
	assert_null(z);
	tu_assert_why(err, why);
}

static void test_refused_built(void **state)
{
	static const int64_t at[] = {1000, 2000};
	static const int64_t at_desc[] = {2000, 1000};
	static const uint8_t idx[] = {1, 0};
	static const uint8_t idx_bad[] = {1, 2};
	static const int32_t offs[] = {3600, 7200};
	static const int32_t offs_bad[] = {3600, 26 * 3600};
	static const int32_t offs_min[] = {3600, INT32_MIN};
	buf_t b;
	spec_t s = {'2', 2, at_desc, idx, 2, offs, "CET-1", 0};
	build(&b, &s);
	expect_refused(&b, "transition 1 is not after transition 0");
	s = (spec_t){'2', 2, at, idx_bad, 2, offs, "CET-1", 0};
	build(&b, &s);
	expect_refused(&b, "transition 1 names time type 2 of 2");
	s = (spec_t){'2', 2, at, idx, 2, offs_bad, "CET-1", 0};
	build(&b, &s);
	expect_refused(&b, "time type 1: UT offset 93600");
	s.offs = offs_min;
	build(&b, &s);
	expect_refused(&b, "time type 1");
	s = (spec_t){'2', 2, at, idx, 2, offs, "CET-1", 1};
	build(&b, &s);
	expect_refused(&b, "leap seconds");
	s = (spec_t){'2', 2, at, idx, 0, offs, "CET-1", 0};
	build(&b, &s);
	expect_refused(&b, "inconsistent");
	s = (spec_t){'2', 2, at, idx, 2, offs, "CET-1CEST", 0};
	build(&b, &s);
	expect_refused(&b, "footer: TZ string");
	s.footer = "CET-1";
	build(&b, &s);
	b.b[b.n - 1] = 'x'; /* no closing newline */
	expect_refused(&b, "between two newlines");
	build(&b, &s);
	put(&b, "junk", 4);
	expect_refused(&b, "4 unexpected bytes");
	build(&b, &s);
	b.b[4] = '1';
	expect_refused(&b, "version byte 0x31");
	build(&b, &s);
	b.b[0] = 'X';
	expect_refused(&b, "not a TZif file");
	build(&b, &s);
	b.b[32] = 0x7f; /* transition count of the first header */
	expect_refused(&b, "too large");
}

static void test_refused_real(void **state)
{
	size_t len;
	char err[200];
	tz_t *z;
	uint8_t *b = read_zone_bytes("Europe/Berlin", &len);
	/* Every truncation of a real file is refused, whatever is cut. */
	for (size_t n = 0; n < len; n++) {
		if (tz_parse(b, n, &z, err, sizeof err) == 0)
			fail_msg("accepted the first %zu of %zu bytes", n, len);
		assert_null(z);
	}
	assert_int_equal(tz_parse(b, len, &z, err, sizeof err), 0);
	tz_free(z);
	/* A version 2 file whose 64-bit part is not there. */
	assert_int_equal(tz_parse(b, 44, &z, err, sizeof err), -1);
	tu_assert_why(err, "truncated");
	free(b);
	/* The right/ zones count leap seconds. */
	b = read_zone_bytes("right/Europe/Berlin", &len);
	assert_int_equal(tz_parse(b, len, &z, err, sizeof err), -1);
	tu_assert_why(err, "leap seconds");
	free(b);
	/* Larger than TZ_MAX_FILE. */
	uint8_t *big = calloc(1, TZ_MAX_FILE + 1);
	assert_non_null(big);
	memcpy(big, "TZif2", 5);
	assert_int_equal(tz_parse(big, TZ_MAX_FILE + 1, &z, err, sizeof err), -1);
	tu_assert_why(err, "at most");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil),
		cmocka_unit_test(test_glibc_berlin),
		cmocka_unit_test(test_glibc_new_york),
		cmocka_unit_test(test_glibc_lord_howe),
		cmocka_unit_test(test_glibc_kolkata),
		cmocka_unit_test(test_glibc_utc),
		cmocka_unit_test(test_berlin),
		cmocka_unit_test(test_new_york),
		cmocka_unit_test(test_lord_howe),
		cmocka_unit_test(test_kolkata_and_utc),
		cmocka_unit_test(test_local_range),
		cmocka_unit_test(test_rule_forms),
		cmocka_unit_test(test_rule_refused),
		cmocka_unit_test(test_version1),
		cmocka_unit_test(test_slim),
		cmocka_unit_test(test_table_then_rule),
		cmocka_unit_test(test_refused_built),
		cmocka_unit_test(test_refused_real),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
