/* test_policy_ext.c - Cedar's extension types (src/core/policy/ext_*.c):
 * what ip(), decimal(), datetime() and duration() accept and refuse, the
 * values they produce, the methods (including their overflow errors) and
 * the renderings, which must parse back to the same value.
 *
 * Every expected value and every accept/refuse verdict in these tables was
 * checked against the reference (cedar-wasm 4.13.0, evaluating
 * `X("...") == X("rendering")`, the methods, and durationSince the epoch);
 * many literals come from the Cedar conformance corpus. */
#include "test_util.h"
#include "core/policy/ext.h"
#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers --------------------------------------------------------- */

static pol_ip_t ip_ok(const char *s)
{
	pol_ip_t ip;
	if (pol_ip_parse(s, strlen(s), &ip) != 0)
		fail_msg("ip(\"%s\") refused", s);
	return ip;
}

/* The rendering of what s parses to, checked to parse back to it. */
static const char *ip_text(const char *s, char *buf, size_t size)
{
	pol_ip_t ip = ip_ok(s), again;
	size_t n = pol_ip_render(&ip, buf, size);
	assert_int_equal(n, strlen(buf));
	if (pol_ip_parse(buf, n, &again) != 0 || !pol_ip_eq(&ip, &again))
		fail_msg("ip(\"%s\") renders as \"%s\", which does not parse back", s, buf);
	return buf;
}

/* ---- ip: parsing ----------------------------------------------------- */

static void test_ip_accepts(void **state)
{
	static const struct {
		const char *s;
		const char *render;
	} t[] = {
		{"127.0.0.1", "127.0.0.1"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.255"},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{"10.0.0.1/8", "10.0.0.1/8"}, /* host bits kept */
		{"1.2.3.4/0", "1.2.3.4/0"},
		{"1.2.3.4/32", "1.2.3.4"},
		{"192.168.0.1/24", "192.168.0.1/24"},
		{"::", "::"},
		{"::1", "::1"},
		{"::/0", "::/0"},
		{"::/128", "::"},
		{"1::", "1::"},
		{"0::1", "::1"},
		{"ABCD::EF", "abcd::ef"},
		{"0000:0000:0000:0000:0000:0000:0000:0001/128", "::1"},
		{"ABCD:EF01:2345:6789:ABCD:EF01:2345:6789/128", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"},
		{"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
		{"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"}, /* "::" for a single group */
		{"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
		{"1:0:0:1:0:0:0:1", "1:0:0:1::1"},     /* the longer run */
		{"1:0:0:0:1:0:0:1", "1::1:0:0:1"},     /* the first of equal runs */
		{"0:0:1:0:0:1:0:0", "::1:0:0:1:0:0"},
		{"::ffff:102:304", "::ffff:102:304"}, /* mapped, written in hex */
		{"2001:db8::/32", "2001:db8::/32"},
		{"ff00::/8", "ff00::/8"},
		{"0:afaf:afaf:afaf:afaf:afaf:afaf:afaf", "0:afaf:afaf:afaf:afaf:afaf:afaf:afaf"},
		{"30af:afaf:afe2:afaf:afaf:afaf:afaf:afaf/46", "30af:afaf:afe2:afaf:afaf:afaf:afaf:afaf/46"},
		{"::ff:0", "::ff:0"},
		{"0.0.104.0", "0.0.104.0"},
	};
	char buf[64];
	for (size_t i = 0; i < N_ELEMS(t); i++)
		if (strcmp(ip_text(t[i].s, buf, sizeof buf), t[i].render) != 0)
			fail_msg("ip(\"%s\") renders as \"%s\", expected \"%s\"", t[i].s, buf, t[i].render);
}

static void test_ip_refuses(void **state)
{
	static const char *const t[] = {
		"", "bad", "1.2.3", "1.2.3.4.5", "256.0.0.0", "1.2.3.256", "01.2.3.4", "1.2.3.04",
		"00.0.0.0", "1.2.3.1234", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4:80", "1..2.3",
		"1.2.3.4/", "1.2.3.4/+8", "1.2.3.4/-1", "1.2.3.4/33", "1.2.3.4/08", "1.2.3.4/00",
		"1.2.3.4/8/8", "1.2.3.4/ 8", "::/129", "::/0128", "::/1a", "/8",
		"::ffff:1.2.3.4", "::1.2.3.4", "::ffff:127.0.0.1/128", /* IPv4 in IPv6 */
		"1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8",
		"1::2::3", ":::", "1:::", ":1::", "1::2:", ":1:2:3:4:5:6:7:8", "00001::",
		"12345::", "g::", "fe80::1%eth0", "[::1]", "::1 ", "1.2::",
		"0000:0000:0000:0000:0000:0000:0000:0001/0128", /* 44 bytes */
		"ip", "-1.2.3.4", "1.2.3.4\n", "\xef\xbc\x91.2.3.4", "an\n",
	};
	pol_ip_t ip;
	for (size_t i = 0; i < N_ELEMS(t); i++)
		if (pol_ip_parse(t[i], strlen(t[i]), &ip) == 0)
			fail_msg("ip(\"%s\") accepted", t[i]);
	assert_int_equal(pol_ip_parse("1.2.3.4\0", 8, &ip), -1);
	assert_int_equal(pol_ip_parse("1.2.3.45", 7, &ip), 0); /* only len bytes */
}

/* ---- ip: methods ----------------------------------------------------- */

static void test_ip_predicates(void **state)
{
	static const struct {
		const char *s;
		bool v4, loopback, multicast;
	} t[] = {
		{"127.0.0.1", true, true, false},
		{"127.0.0.0/8", true, true, false},
		{"127.255.0.1/9", true, true, false},
		{"127.0.0.0/7", true, false, false}, /* wider than 127.0.0.0/8 */
		{"126.0.0.0/7", true, false, false},
		{"128.0.0.1", true, false, false},
		{"224.0.0.0/4", true, false, true},
		{"224.0.0.0/3", true, false, false},
		{"239.255.255.255", true, false, true},
		{"240.0.0.0", true, false, false},
		{"223.255.255.255", true, false, false},
		{"::1", false, true, false},
		{"::1/127", false, false, false},
		{"::", false, false, false},
		{"::ffff:7f00:1", false, false, false}, /* mapped 127.0.0.1 is IPv6 */
		{"ff00::/8", false, false, true},
		{"ff00::/7", false, false, false},
		{"ffff::1", false, false, true},
		{"fe00::1", false, false, false},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		pol_ip_t ip = ip_ok(t[i].s);
		if (pol_ip_is_v4(&ip) != t[i].v4 || pol_ip_is_v6(&ip) == t[i].v4 ||
		    pol_ip_is_loopback(&ip) != t[i].loopback ||
		    pol_ip_is_multicast(&ip) != t[i].multicast)
			fail_msg("predicates of ip(\"%s\")", t[i].s);
	}
}

static void test_ip_in_range(void **state)
{
	static const struct {
		const char *a, *range;
		bool in;
	} t[] = {
		{"10.0.0.1", "10.0.0.0/8", true},
		{"10.0.0.0/8", "10.0.0.1/8", true}, /* host bits ignored */
		{"10.0.0.0/8", "10.0.0.0/7", true},
		{"10.0.0.0/7", "10.0.0.0/8", false},
		{"11.0.0.1", "10.0.0.0/8", false},
		{"11.0.0.1", "10.0.0.0/7", true},
		{"1.2.3.4", "0.0.0.0/0", true},
		{"1.2.3.4", "1.2.3.4", true},
		{"1.2.3.4", "1.2.3.5", false},
		{"1.2.3.4/31", "1.2.3.5/31", true},
		{"192.168.1.1", "192.168.0.0/23", true},
		{"192.168.2.1", "192.168.0.0/23", false},
		{"::1", "::/0", true},
		{"::1", "::1", true},
		{"2001:db8::1", "2001:db8::/32", true},
		{"2001:db9::1", "2001:db8::/32", false},
		{"2001:db8::/31", "2001:db8::/32", false},
		{"ff01::1", "ff00::/8", true},
		{"1.2.3.4", "::/0", false}, /* different versions never */
		{"::1", "127.0.0.1/0", false},
		{"::ffff:102:304", "1.2.3.4", false},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		pol_ip_t a = ip_ok(t[i].a), r = ip_ok(t[i].range);
		if (pol_ip_in_range(&a, &r) != t[i].in)
			fail_msg("ip(\"%s\").isInRange(ip(\"%s\")) should be %d", t[i].a, t[i].range,
				 t[i].in);
	}
}

static void test_ip_equality(void **state)
{
	static const struct {
		const char *a, *b;
		bool eq;
	} t[] = {
		{"1.2.3.4", "1.2.3.4/32", true},
		{"::1", "::1/128", true},
		{"::1", "0:0:0:0:0:0:0:1", true},
		{"ABCD::", "abcd::", true},
		{"1.2.3.4/24", "1.2.3.0/24", false}, /* no normalisation */
		{"1.2.3.4/24", "1.2.3.4/25", false},
		{"::", "0.0.0.0", false},
		{"::ffff:102:304", "1.2.3.4", false},
		{"10.0.0.1", "10.0.0.2", false},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		pol_ip_t a = ip_ok(t[i].a), b = ip_ok(t[i].b);
		if (pol_ip_eq(&a, &b) != t[i].eq || pol_ip_eq(&b, &a) != t[i].eq)
			fail_msg("ip(\"%s\") == ip(\"%s\") should be %d", t[i].a, t[i].b, t[i].eq);
	}
}

static void test_ip_render_truncates(void **state)
{
	pol_ip_t ip = ip_ok("192.168.100.200/24");
	char buf[8];
	assert_int_equal(pol_ip_render(&ip, buf, sizeof buf), 18);
	assert_string_equal(buf, "192.168");
	assert_int_equal(pol_ip_render(&ip, NULL, 0), 18);
}

/* ---- decimal ----------------------------------------------------------- */

static void test_decimal_accepts(void **state)
{
	static const struct {
		const char *s;
		int64_t v;
	} t[] = {
		{"1.0", 10000},
		{"-1.0", -10000},
		{"0.0", 0},
		{"-0.0", 0},
		{"123.456", 1234560},
		{"0.1234", 1234},
		{"-0.0123", -123}, /* the sign covers the whole number */
		{"-0.5", -5000},
		{"55.1", 551000},
		{"00.1", 1000},
		{"1.05", 10500},
		{"0000000000000000000000000001.0", 10000},
		{"922337203685477.5807", INT64_MAX},
		{"-922337203685477.5808", INT64_MIN},
		{"795375428823969.5360", INT64_C(7953754288239695360)},
		{"-614891495322952.2422", INT64_C(-6148914953229522422)},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		int64_t v;
		if (pol_decimal_parse(t[i].s, strlen(t[i].s), &v) != 0)
			fail_msg("decimal(\"%s\") refused", t[i].s);
		if (v != t[i].v)
			fail_msg("decimal(\"%s\") = %lld", t[i].s, (long long)v);
	}
}

static void test_decimal_refuses(void **state)
{
	static const char *const t[] = {
		"", "1", "1.", ".5", "-.5", "-", "-1", ".", "1.23456", "1.00010", "+1.0", "--1.0",
		"1.0.0", "1.-1", "1.+1", "1_0.0", " 1.0", "1.0 ", "1,0", "1e3.0", "0x1.0",
		"\xd9\xa1.0", /* Arabic-Indic one: \d in the reference's regex, then refused */
		"922337203685477.5808", "-922337203685477.5809", "922337203685478.0",
		"-922337203685478.0", "99999999999999999999.0", "18446744073709551616.0",
	};
	int64_t v;
	for (size_t i = 0; i < N_ELEMS(t); i++)
		if (pol_decimal_parse(t[i], strlen(t[i]), &v) == 0)
			fail_msg("decimal(\"%s\") accepted", t[i]);
	assert_int_equal(pol_decimal_parse("1.0\0", 4, &v), -1);
}

static void test_decimal_render(void **state)
{
	static const struct {
		int64_t v;
		const char *s;
	} t[] = {
		{0, "0.0000"},
		{10000, "1.0000"},
		{10500, "1.0500"},
		{-5000, "-0.5000"},
		{-123, "-0.0123"},
		{1234560, "123.4560"},
		{INT64_MAX, "922337203685477.5807"},
		{INT64_MIN, "-922337203685477.5808"},
	};
	char buf[32];
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		int64_t again;
		assert_int_equal(pol_decimal_render(t[i].v, buf, sizeof buf), strlen(t[i].s));
		assert_string_equal(buf, t[i].s);
		assert_int_equal(pol_decimal_parse(buf, strlen(buf), &again), 0);
		assert_true(again == t[i].v);
	}
	assert_int_equal(pol_decimal_render(-5000, buf, 3), 7);
	assert_string_equal(buf, "-0");
}

/* ---- datetime ---------------------------------------------------------- */

static void test_datetime_accepts(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} t[] = {
		{"2024-10-15", INT64_C(1728950400000)},
		{"2024-10-15T11:38:02Z", INT64_C(1728992282000)},
		{"2024-10-15T11:38:02.101Z", INT64_C(1728992282101)},
		{"2024-10-15T11:38:02.101+1134", INT64_C(1728950642101)},
		{"2024-10-15T11:38:02.101-1134", INT64_C(1729033922101)},
		{"2024-10-15T11:38:02+1134", INT64_C(1728950642000)},
		{"2024-10-28T10:12:13.456-0700", INT64_C(1730135533456)},
		{"1970-01-01", 0},
		{"1970-01-01T00:00:00.001Z", 1},
		{"1969-12-31T23:59:59.999Z", -1},
		{"1970-01-01T00:00:00-0000", 0},
		{"1970-01-01T00:00:00+0000", 0},
		{"2024-02-29", INT64_C(1709164800000)},
		{"2000-02-29T12:00:00Z", INT64_C(951825600000)},
		{"0000-02-29", INT64_C(-62162121600000)}, /* year 0 is a leap year */
		{"1900-01-01", INT64_C(-2208988800000)},
		{"0000-01-01", INT64_C(-62167219200000)},
		{"0000-01-01T00:00:00+2359", INT64_C(-62167305540000)},
		{"9999-12-31T23:59:59.999Z", INT64_C(253402300799999)},
		{"9999-12-31T23:59:59.999-2359", INT64_C(253402387139999)},
		{"2511-01-10T15:15:15.535+0041", INT64_C(17073124455535)},
		{"6425-02-26T01:25:25.425Z", INT64_C(140591121925425)},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		int64_t ms;
		if (pol_datetime_parse(t[i].s, strlen(t[i].s), &ms) != 0)
			fail_msg("datetime(\"%s\") refused", t[i].s);
		if (ms != t[i].ms)
			fail_msg("datetime(\"%s\") = %lld", t[i].s, (long long)ms);
	}
}

static void test_datetime_refuses(void **state)
{
	static const char *const t[] = {
		"", "a", "-", "-1", "11-12-13", "1111-1x-20", "2024-1-01", "+2024-01-01",
		"-2024-01-01", "10000-01-01", "2024-10-15Z", "2024-10-15 ", "2024/10/15",
		/* no such date */
		"2024-00-01", "2024-01-00", "2024-02-30", "2025-02-29", "2023-02-29", "1900-02-29",
		"2024-13-01", "2024-20-01", "2024-01-32", "2024-04-31",
		/* time */
		"2024-01-01T", "2024-01-01Ta", "2024-01-01T01:", "2024-01-01T01:02",
		"2024-01-01T01:02:0b", "2024-01-01T01::02:03", "2024-01-01t00:00:00Z",
		"2024-01-01 00:00:00Z", "2024-01-01T24:00:00Z", "2024-01-01T31:02:03Z",
		"2024-01-01T01:60:03Z", "2016-12-31T23:59:60Z", "2016-12-31T23:59:61Z",
		"2392-11-03TT006606:08.535Z",
		/* milliseconds and offset */
		"2024-01-01T00:00:00", "2024-01-01T00:00:00T", "2024-01-01T00:00:00ZZ",
		"2024-01-01T00:00:00z", "2024-01-01T00:00:00x001Z", "2024-01-01T00:00:00.001ZZ",
		"2024-01-01T00:00:00.1Z", "2024-01-01T00:00:00.12Z", "2024-01-01T00:00:00.0001Z",
		"2024-01-01T00:00:00.001", "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00+24",
		"2024-01-01T00:00:00+00:00", "2024-01-01T00:00:00.001+00000",
		"2024-01-01T00:00:00.001-00000", "2024-01-01T00:00:00+2400",
		"2016-12-31T00:00:00+1160", "2016-12-31T00:00:00+1199", "2024-01-01T00:00:00+0060",
		"2024-01-01T00:00:00\342\236\2250000", "2024-01-01T00:00:00.001Z ",
		"\x01=<",
	};
	int64_t ms;
	for (size_t i = 0; i < N_ELEMS(t); i++)
		if (pol_datetime_parse(t[i], strlen(t[i]), &ms) == 0)
			fail_msg("datetime(\"%s\") accepted", t[i]);
	assert_int_equal(pol_datetime_parse("2024-01-01\0", 11, &ms), -1);
	assert_int_equal(pol_datetime_parse("2024-01-01T00:00:00Z", 19, &ms), -1);
}

static void test_datetime_offset_and_since(void **state)
{
	int64_t out;
	assert_int_equal(pol_datetime_offset(0, 86400000, &out), 0);
	assert_true(out == 86400000);
	assert_int_equal(pol_datetime_offset(0, -86400000, &out), 0);
	assert_true(out == -86400000);
	assert_int_equal(pol_datetime_offset(INT64_MAX, -1, &out), 0);
	assert_true(out == INT64_MAX - 1);
	assert_int_equal(pol_datetime_offset(INT64_MAX, 1, &out), -1);
	assert_int_equal(pol_datetime_offset(INT64_MIN, -1, &out), -1);
	assert_int_equal(pol_datetime_offset(INT64_MIN, INT64_MAX, &out), 0);
	assert_true(out == -1);

	/* 2024-10-24 is 20020 days after the epoch. */
	assert_int_equal(pol_datetime_duration_since(INT64_C(1729728000000), 0, &out), 0);
	assert_true(out == INT64_C(20020) * 86400000);
	assert_int_equal(pol_datetime_duration_since(-1, INT64_MAX, &out), 0);
	assert_true(out == INT64_MIN);
	assert_int_equal(pol_datetime_duration_since(-2, INT64_MAX, &out), -1);
	assert_int_equal(pol_datetime_duration_since(INT64_C(1729728000000), INT64_MIN, &out), -1);
}

static void test_datetime_to_date_and_time(void **state)
{
	static const struct {
		int64_t dt, date, time;
	} t[] = {
		{0, 0, 0},
		{1, 0, 1},
		{86399999, 0, 86399999},
		{86400000, 86400000, 0},
		{-1, -86400000, 86399999}, /* 1969-12-31T23:59:59.999Z */
		{-86400000, -86400000, 0},
		{-86400001, -172800000, 86399999},
		{INT64_C(1730135533456), INT64_C(1730073600000), INT64_C(61933456)},
		{INT64_C(-2208988800000), INT64_C(-2208988800000), 0},
		{INT64_MAX, INT64_C(9223372036828800000), INT64_C(25975807)},
		{INT64_MIN + 86400000, INT64_C(-9223372036828800000), INT64_C(60424192)},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		int64_t date;
		assert_int_equal(pol_datetime_to_date(t[i].dt, &date), 0);
		if (date != t[i].date || pol_datetime_to_time(t[i].dt) != t[i].time)
			fail_msg("toDate/toTime of %lld", (long long)t[i].dt);
	}
	int64_t date;
	/* The day of INT64_MIN starts before INT64_MIN: an overflow. */
	assert_int_equal(pol_datetime_to_date(INT64_MIN, &date), -1);
	assert_true(pol_datetime_to_time(INT64_MIN) == INT64_C(60424192));
}

static void test_datetime_render(void **state)
{
	static const struct {
		int64_t ms;
		const char *s;
	} t[] = {
		{0, "1970-01-01"},
		{1, "1970-01-01T00:00:00.001Z"},
		{-1, "1969-12-31T23:59:59.999Z"},
		{INT64_C(1728992282000), "2024-10-15T11:38:02Z"},
		{INT64_C(1728992282101), "2024-10-15T11:38:02.101Z"},
		{INT64_C(1709164800000), "2024-02-29"},
		{INT64_C(-62167219200000), "0000-01-01"},
		{INT64_C(253402300799999), "9999-12-31T23:59:59.999Z"},
		/* just outside years 0000..9999: an offset brings them back */
		{INT64_C(-62167305540000), "0000-01-01T00:00:00+2359"},
		{INT64_C(-62167219200001), "0000-01-01T00:00:59.999+0001"},
		{INT64_C(253402387139999), "9999-12-31T23:59:59.999-2359"},
		{INT64_C(253402300800000), "9999-12-31T23:59:00-0001"},
		/* further out: no datetime string can say it */
		{INT64_C(-62167305600000), "-0001-12-31"},
		{INT64_MAX, "+292278994-08-17T07:12:55.807Z"},
		{INT64_MIN, "-292275055-05-16T16:47:04.192Z"},
	};
	char buf[64];
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		size_t n = pol_datetime_render(t[i].ms, buf, sizeof buf);
		if (strcmp(buf, t[i].s) != 0 || n != strlen(buf))
			fail_msg("%lld renders as \"%s\", expected \"%s\"", (long long)t[i].ms, buf,
				 t[i].s);
		int64_t again;
		bool parses = pol_datetime_parse(buf, n, &again) == 0;
		assert_true(parses == (t[i].s[0] != '-' && t[i].s[0] != '+'));
		assert_true(!parses || again == t[i].ms);
	}
	assert_int_equal(pol_datetime_render(0, buf, 5), 10);
	assert_string_equal(buf, "1970");
}

/* ---- duration ---------------------------------------------------------- */

static void test_duration_accepts(void **state)
{
	static const struct {
		const char *s;
		int64_t ms;
	} t[] = {
		{"1h", 3600000},
		{"-10h", -36000000},
		{"5d3ms", INT64_C(432000003)},
		{"-3h5m", -11100000},
		{"1d2h3m4s5ms", INT64_C(93784005)},
		{"1m1ms", 60001},
		{"1s500ms", 1500},
		{"100000m", INT64_C(6000000000)},
		{"0ms", 0},
		{"-0ms", 0},
		{"0d0h0m0s0ms", 0},
		{"00000000000000000000000001ms", 1},
		{"23h59m59s999ms", 86399999},
		{"-1d1h1m1s1ms", INT64_C(-90061001)},
		{"1m1s", 61000},
		{"9223372036854775807ms", INT64_MAX},
		{"-9223372036854775808ms", INT64_MIN},
		{"106751991167d7h12m55s807ms", INT64_MAX},
		{"-106751991167d7h12m55s808ms", INT64_MIN},
		{"2562047788015h12m55s807ms", INT64_MAX},
		{"3906369333256140342ms", INT64_C(3906369333256140342)},
		{"-1d1h3m1s5787406996147798015ms", INT64_C(-5787406996237979015)},
	};
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		int64_t ms;
		if (pol_duration_parse(t[i].s, strlen(t[i].s), &ms) != 0)
			fail_msg("duration(\"%s\") refused", t[i].s);
		if (ms != t[i].ms)
			fail_msg("duration(\"%s\") = %lld", t[i].s, (long long)ms);
	}
}

static void test_duration_refuses(void **state)
{
	static const char *const t[] = {
		"", "-", "a", "-1", "1", "1D", "1H", "+1d", "1d ", " 1d", "d", "-d", "-h", "-ms",
		"11dd", "00000mm", "-1hh", "-h2d", "1d1d", "1mm", "1sms", "1.5h", "1d-1h",
		/* out of order */
		"1ms1s", "1ms1m", "1ms1h", "0ms1d", "1s1m", "1s1h", "0s0d", "0m0h", "0m0d", "1h1d",
		"1ms1m1d",
		/* overflow */
		"9223372036854775808ms", "-9223372036854775809ms", "106751991167d7h12m55s808ms",
		"-106751991167d7h12m55s809ms", "99999999999999999999ms", "18446744073709551616ms",
		"41948811843845627422ms", "106751991168d", "-11729382256910206194d",
		"-64993124034209511d1h1m1s1ms", "289637750967828480h",
	};
	int64_t ms;
	for (size_t i = 0; i < N_ELEMS(t); i++)
		if (pol_duration_parse(t[i], strlen(t[i]), &ms) == 0)
			fail_msg("duration(\"%s\") accepted", t[i]);
	assert_int_equal(pol_duration_parse("1d\0", 3, &ms), -1);
}

static void test_duration_render(void **state)
{
	static const struct {
		int64_t ms;
		const char *s;
	} t[] = {
		{0, "0ms"},
		{3600000, "3600000ms"},
		{-1, "-1ms"},
		{INT64_MAX, "9223372036854775807ms"},
		{INT64_MIN, "-9223372036854775808ms"},
	};
	char buf[32];
	for (size_t i = 0; i < N_ELEMS(t); i++) {
		int64_t again;
		assert_int_equal(pol_duration_render(t[i].ms, buf, sizeof buf), strlen(t[i].s));
		assert_string_equal(buf, t[i].s);
		assert_int_equal(pol_duration_parse(buf, strlen(buf), &again), 0);
		assert_true(again == t[i].ms);
	}
	assert_int_equal(pol_duration_render(-1, buf, 2), 4);
	assert_string_equal(buf, "-");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip_accepts),
		cmocka_unit_test(test_ip_refuses),
		cmocka_unit_test(test_ip_predicates),
		cmocka_unit_test(test_ip_in_range),
		cmocka_unit_test(test_ip_equality),
		cmocka_unit_test(test_ip_render_truncates),
		cmocka_unit_test(test_decimal_accepts),
		cmocka_unit_test(test_decimal_refuses),
		cmocka_unit_test(test_decimal_render),
		cmocka_unit_test(test_datetime_accepts),
		cmocka_unit_test(test_datetime_refuses),
		cmocka_unit_test(test_datetime_offset_and_since),
		cmocka_unit_test(test_datetime_to_date_and_time),
		cmocka_unit_test(test_datetime_render),
		cmocka_unit_test(test_duration_accepts),
		cmocka_unit_test(test_duration_refuses),
		cmocka_unit_test(test_duration_render),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
