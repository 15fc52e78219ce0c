/* test_change_window.c - change windows, pure (src/core/change_window.c):
 * the window document member by member (missing, wrong type, each bound),
 * the normalized form and its round trip, resources in both text forms,
 * and occurrences in real zones: DST changes inside a recurring window
 * (Europe/Berlin, last Sunday of March and October; New York; Lord Howe's
 * 30-minute change), windows crossing midnight, one-off windows in the
 * past, local and fixed one-off times, "UTC", days lists, back-to-back
 * occurrences, and a sweep checking cw_open_at and cw_next_open against
 * each other. */
#include "test_util.h"
#include "core/change_window.h"
#include "core/civil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t utc(int y, int mo, int d, int h, int mi)
{
	return civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60;
}

/* A window document with the given schedule (JSON text), in zone tz. */
static char *doc_text(const char *tz, const char *schedule)
{
	char *s = malloc(1024);
	assert_non_null(s);
	snprintf(s, 1024,
		 "{\"name\": \"line3-maintenance\", \"resources\": [\"Zone::\\\"line-3\\\"\", \"Device:plc-7\"], "
		 "\"timezone\": \"%s\", \"schedule\": %s}",
		 tz, schedule);
	return s;
}

static cw_t *parse_text(const char *text)
{
	char buf[256];
	cw_t *w = NULL;
	json_t *j = tu_json(text);
	const char *why = cw_parse(j, &w, buf, sizeof buf);
	json_decref(j);
	if (why != NULL)
		fail_msg("refused %s: %s", text, why);
	return w;
}

static cw_t *win(const char *tz, const char *schedule)
{
	char *t = doc_text(tz, schedule);
	cw_t *w = parse_text(t);
	free(t);
	return w;
}

/* Fails unless doc is refused with a reason containing needle. */
static void refused(json_t *doc, const char *needle)
{
	char buf[256];
	cw_t *w = (cw_t *)1;
	const char *why = cw_parse(doc, &w, buf, sizeof buf);
	assert_null(w);
	if (why == NULL) {
		char *t = json_dumps(doc, JSON_COMPACT);
		fail_msg("accepted %s", t);
	}
	tu_assert_why(why, needle);
	json_decref(doc);
}

static void refused_schedule(const char *schedule, const char *needle)
{
	char *t = doc_text("Europe/Berlin", schedule);
	refused(tu_json(t), needle);
	free(t);
}

/* A valid document to take members from. */
static json_t *base(void)
{
	char *t = doc_text("Europe/Berlin", "{\"every\": \"day\", \"from\": \"22:00\", \"to\": \"02:00\"}");
	json_t *j = tu_json(t);
	free(t);
	return j;
}

/* n copies of c as a JSON string. */
static json_t *jrep(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	json_t *j = json_string(s);
	free(s);
	return j;
}

static void assert_json_is(json_t *got, const char *want_text)
{
	json_t *want = tu_json(want_text);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("got %s\nwant %s", g, want_text);
	}
	json_decref(want);
	json_decref(got);
}

/* ---- the document -------------------------------------------------------- */

static void test_parse_one_off(void **state)
{
	cw_t *w = win("Europe/Berlin", "{\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00\"}");
	assert_string_equal(w->name, "line3-maintenance");
	assert_int_equal(w->n_resources, 2);
	assert_string_equal(w->resources[0], "Zone::\"line-3\"");
	assert_string_equal(w->resources[1], "Device::\"plc-7\"");
	assert_string_equal(w->timezone, "Europe/Berlin");
	assert_int_equal(w->every, CW_ONCE);
	assert_false(w->start.fixed);
	assert_int_equal(w->start.local, utc(2026, 12, 7, 2, 0));
	assert_json_is(cw_json(w), "{\"name\": \"line3-maintenance\", \"resources\": [\"Zone::\\\"line-3\\\"\", "
				   "\"Device::\\\"plc-7\\\"\"], \"timezone\": \"Europe/Berlin\", \"schedule\": "
				   "{\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00\"}}");
	cw_free(w);
	/* Fixed instants: Z, offsets, seconds. */
	w = win("UTC", "{\"start\": \"2026-12-07T01:00:30+00:00\", \"end\": \"2026-12-07T06:00-05:30\"}");
	assert_true(w->start.fixed);
	assert_int_equal(w->end.off, -(5 * 3600 + 1800));
	json_t *j = cw_json(w);
	assert_json_is(json_incref(json_object_get(j, "schedule")),
		       "{\"start\": \"2026-12-07T01:00:30Z\", \"end\": \"2026-12-07T06:00-05:30\"}");
	json_decref(j);
	cw_free(w);
}

static void test_parse_recurring(void **state)
{
	cw_t *w = win("Europe/Berlin",
		      "{\"every\": \"week\", \"days\": [\"sun\", \"sat\", \"mon\"], \"from\": \"02:00\", "
		      "\"to\": \"06:00\"}");
	assert_int_equal(w->every, CW_WEEKLY);
	assert_int_equal(w->days, 1 | 2 | 64);
	assert_int_equal(w->from, 7200);
	assert_int_equal(w->to, 21600);
	json_t *j = cw_json(w);
	assert_json_is(json_incref(json_object_get(j, "schedule")),
		       "{\"every\": \"week\", \"days\": [\"mon\", \"sat\", \"sun\"], \"from\": \"02:00\", "
		       "\"to\": \"06:00\"}");
	json_decref(j);
	cw_free(w);
	w = win("UTC", "{\"every\": \"day\", \"from\": \"22:00\", \"to\": \"00:00\"}");
	assert_int_equal(w->to, 86400);
	j = cw_json(w);
	assert_json_is(json_incref(json_object_get(j, "schedule")),
		       "{\"every\": \"day\", \"from\": \"22:00\", \"to\": \"24:00\"}");
	json_decref(j);
	cw_free(w);
}

/* cw_json, parsed again, gives the same document. */
static void test_round_trip(void **state)
{
	static const char *const schedules[] = {
		"{\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00:59\"}",
		"{\"start\": \"1970-01-01T00:00Z\", \"end\": \"1970-01-02T00:00+23:59\"}",
		"{\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00Z\"}",
		"{\"every\": \"day\", \"from\": \"22:00\", \"to\": \"02:00\"}",
		"{\"every\": \"day\", \"from\": \"00:00\", \"to\": \"24:00\"}",
		("{\"every\": \"week\", \"days\": [\"sun\",\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\"], "
		 "\"from\": \"23:59\", \"to\": \"00:01\"}"),
	};
	for (size_t i = 0; i < sizeof schedules / sizeof schedules[0]; i++) {
		cw_t *w = win("America/Argentina/Buenos_Aires", schedules[i]), *again;
		json_t *j = cw_json(w), *j2;
		char buf[256];
		assert_null(cw_parse(j, &again, buf, sizeof buf));
		j2 = cw_json(again);
		assert_true(json_equal(j, j2));
		json_decref(j);
		json_decref(j2);
		cw_free(w);
		cw_free(again);
	}
}

static void test_refused_top(void **state)
{
	refused(json_array(), "must be a JSON object");
	refused(tu_with(base(), "extra", json_true()),
		"unknown member \"extra\" (send name, resources, timezone, schedule)");
	refused(tu_with(base(), "name", NULL), "\"name\" must be 1..128");
	refused(tu_with(base(), "name", json_string("")), "\"name\"");
	refused(tu_with(base(), "name", json_string("a b")), "\"name\"");
	refused(tu_with(base(), "name", json_integer(3)), "\"name\"");
	refused(tu_with(base(), "name", json_stringn("a\0b", 3)), "\"name\"");
	refused(tu_with(base(), "name", jrep('n', 129)), "\"name\"");
	cw_t *w;
	char buf[256];
	json_t *ok = tu_with(base(), "name", jrep('n', 128));
	assert_null(cw_parse(ok, &w, buf, sizeof buf));
	cw_free(w);
	json_decref(ok);
	refused(tu_with(base(), "timezone", NULL), "\"timezone\" must be a time zone name");
	refused(tu_with(base(), "schedule", NULL), "\"schedule\" must be an object");
	refused(tu_with(base(), "schedule", json_string("daily")), "\"schedule\" must be an object");
}

static void test_timezone_names(void **state)
{
	static const char *const good[] = {"UTC", "Europe/Berlin", "Etc/GMT+5", "Etc/GMT-14",
					   "America/Argentina/Buenos_Aires", "America/Port-au-Prince",
					   "EST5EDT",
					   "Abcdefghijklmnopqrstuvwxyz/Abcdefghijklmnopqrstuvwxyz/Abcdefghij", NULL};
	static const char *const bad[] = {"", "/etc/passwd", "../etc/passwd", "Europe/../../etc/passwd",
					  "Europe/", "Europe//Berlin", ".hidden", "Europe/.x", "9zone",
					  "Europe/Ber lin", "Europe\\Berlin", "Europe/Berlin\n",
					  "Abcdefghijklmnopqrstuvwxyz/Abcdefghijklmnopqrstuvwxyz/Abcdefghijk",
					  NULL};
	for (const char *const *p = good; *p; p++)
		if (!cw_timezone_name_valid(*p))
			fail_msg("refused \"%s\"", *p);
	for (const char *const *p = bad; *p; p++) {
		if (cw_timezone_name_valid(*p))
			fail_msg("accepted \"%s\"", *p);
		refused(tu_with(base(), "timezone", json_string(*p)), "\"timezone\"");
	}
	refused(tu_with(base(), "timezone", json_stringn("UTC\0x", 5)), "\"timezone\"");
}

static void test_resources(void **state)
{
	refused(tu_with(base(), "resources", NULL), "\"resources\" must be an array of 1 to 64");
	refused(tu_with(base(), "resources", json_array()), "\"resources\" must be an array of 1 to 64");
	refused(tu_with(base(), "resources", json_string("Zone:x")), "\"resources\" must be an array");
	refused(tu_with(base(), "resources", json_pack("[s,i]", "Zone:x", 3)),
		"\"resources[1]\" must be an entity");
	refused(tu_with(base(), "resources", json_pack("[s]", "")), "\"resources[0]\" must be an entity");
	refused(tu_with(base(), "resources", json_pack("[s]", "plc-7")), "\"resources[0]\": entity reference");
	refused(tu_with(base(), "resources", json_pack("[s]", "Zone::\"x")), "\"resources[0]\": entity reference");
	refused(tu_with(base(), "resources", json_pack("[s]", "if::\"x\"")), "reserved word");
	refused(tu_with(base(), "resources", json_pack("[s,s]", "Device:plc-7", "Device::\"plc-7\"")),
		"\"resources[1]\": Device::\"plc-7\" appears twice");
	refused(tu_with(base(), "resources", json_pack("[o]", json_stringn("Zone:a\0b", 8))), "NUL");
	refused(tu_with(base(), "resources", json_pack("[o]", jrep('x', CW_MAX_RESOURCE_LEN + 1))),
		"at most 512 bytes");
	/* 300 bytes of id with a backslash each: 600 once escaped. */
	json_t *slashes = jrep('\\', 300);
	char *compact = NULL;
	assert_true(asprintf(&compact, "T:%s", json_string_value(slashes)) > 0);
	refused(tu_with(base(), "resources", json_pack("[s]", compact)), "at most 512 bytes written as Type::");
	free(compact);
	json_decref(slashes);
	json_t *many = json_array();
	for (int i = 0; i < CW_MAX_RESOURCES; i++)
		json_array_append_new(many, json_sprintf("Device:d%d", i));
	cw_t *w;
	char buf[256];
	json_t *ok = tu_with(base(), "resources", json_deep_copy(many));
	assert_null(cw_parse(ok, &w, buf, sizeof buf));
	assert_int_equal(w->n_resources, 64);
	assert_true(cw_has_resource(w, "Device", "d63"));
	assert_false(cw_has_resource(w, "Device", "d64"));
	assert_false(cw_has_resource(w, "Zone", "d1"));
	cw_free(w);
	json_decref(ok);
	json_array_append_new(many, json_string("Device:d64"));
	refused(tu_with(base(), "resources", many), "1 to 64");
	/* Namespaced types and escapes in the Cedar form. */
	ok = tu_with(base(), "resources", json_pack("[s,s]", "Plant::Zone::\"line \\\"3\\\"\"", "Api:orders/v1"));
	assert_null(cw_parse(ok, &w, buf, sizeof buf));
	assert_string_equal(w->resources[0], "Plant::Zone::\"line \\\"3\\\"\"");
	assert_string_equal(w->resources[1], "Api::\"orders/v1\"");
	assert_true(cw_has_resource(w, "Plant::Zone", "line \"3\""));
	assert_true(cw_has_resource(w, "Api", "orders/v1"));
	cw_free(w);
	json_decref(ok);
}

static void test_refused_one_off(void **state)
{
	refused_schedule("{}", "\"schedule.start\" must be a time");
	refused_schedule("{\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00\", \"x\": 1}",
			 "unknown member \"schedule.x\" (send start, end)");
	refused_schedule("{\"start\": \"2026-12-07T02:00\"}", "\"schedule.end\" must be a time");
	static const char *const bad_times[] = {
		"2026-12-07", "2026-12-07T2:00", "2026-12-07 02:00", "2026-12-07T02:00:", "2026-12-07T02:00:60",
		"2026-02-29T02:00", "2026-13-01T02:00", "2026-00-01T02:00", "2026-12-00T02:00", "1969-12-31T23:00",
		"2026-12-07T24:00", "2026-12-07T02:60", "2026-12-07T02:00z", "2026-12-07T02:00+1:00",
		"2026-12-07T02:00+24:00", "2026-12-07T02:00+01:00x", "2026-12-07T02:00Zx", "2026-12-07T02:00 ",
		"+2026-12-07T02:00", "2026-12-07T02:00:00.5", "",
	};
	for (size_t i = 0; i < sizeof bad_times / sizeof bad_times[0]; i++) {
		char s[200];
		snprintf(s, sizeof s, "{\"start\": \"%s\", \"end\": \"2026-12-08T06:00\"}", bad_times[i]);
		refused_schedule(s, "\"schedule.start\" must be a time");
	}
	refused_schedule("{\"start\": 1700000000, \"end\": \"2026-12-08T06:00\"}", "\"schedule.start\"");
	refused_schedule("{\"start\": \"2026-12-07T06:00\", \"end\": \"2026-12-07T06:00\"}",
			 "\"schedule.end\" must come after \"schedule.start\"");
	refused_schedule("{\"start\": \"2026-12-07T06:00Z\", \"end\": \"2026-12-07T06:59+01:00\"}",
			 "\"schedule.end\" must come after");
	refused_schedule("{\"start\": \"2026-01-01T00:00\", \"end\": \"2027-01-02T00:01\"}", "at most 366 days");
	cw_free(win("UTC", "{\"start\": \"2028-01-01T00:00\", \"end\": \"2029-01-01T00:00\"}")); /* 366 days */
	cw_free(win("UTC", "{\"start\": \"9999-12-31T00:00\", \"end\": \"9999-12-31T23:59:59\"}"));
}

static void test_refused_recurring(void **state)
{
	refused_schedule("{\"every\": \"month\", \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.every\" must be \"day\" or \"week\"");
	refused_schedule("{\"from\": \"02:00\", \"to\": \"06:00\"}", "\"schedule.every\" must be");
	refused_schedule("{\"every\": \"day\", \"from\": \"02:00\", \"to\": \"06:00\", \"start\": \"x\"}",
			 "unknown member \"schedule.start\" (send every, days, from, to)");
	refused_schedule("{\"every\": \"day\", \"days\": [\"mon\"], \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days\" goes with \"every\": \"week\" only");
	refused_schedule("{\"every\": \"week\", \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days\" must be an array of 1 to 7 days");
	refused_schedule("{\"every\": \"week\", \"days\": [], \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days\" must be an array");
	refused_schedule("{\"every\": \"week\", \"days\": \"mon\", \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days\" must be an array");
	refused_schedule("{\"every\": \"week\", \"days\": [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\","
			 "\"sun\","
			 "\"mon\"], \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days\" must be an array of 1 to 7");
	refused_schedule("{\"every\": \"week\", \"days\": [\"mon\", \"Tue\"], \"from\": \"02:00\", "
			 "\"to\": \"06:00\"}",
			 "\"schedule.days[1]\" must be one of mon, tue, wed, thu, fri, sat, sun");
	refused_schedule("{\"every\": \"week\", \"days\": [\"monday\"], \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days[0]\" must be one of");
	refused_schedule("{\"every\": \"week\", \"days\": [1], \"from\": \"02:00\", \"to\": \"06:00\"}",
			 "\"schedule.days[0]\" must be one of");
	refused_schedule("{\"every\": \"week\", \"days\": [\"sat\", \"sun\", \"sat\"], \"from\": \"02:00\", "
			 "\"to\": \"06:00\"}",
			 "\"schedule.days[2]\": sat appears twice");
	static const char *const bad_from[] = {"24:00", "2:00", "02:00:00", "02-00", "02:60", "", "xx:yy"};
	for (size_t i = 0; i < sizeof bad_from / sizeof bad_from[0]; i++) {
		char s[200];
		snprintf(s, sizeof s, "{\"every\": \"day\", \"from\": \"%s\", \"to\": \"06:00\"}", bad_from[i]);
		refused_schedule(s, "\"schedule.from\" must be a local time of day \"HH:MM\"");
		snprintf(s, sizeof s, "{\"every\": \"day\", \"from\": \"06:00\", \"to\": \"%s\"}",
			 i == 0 ? "24:01" : bad_from[i]);
		refused_schedule(s, "\"schedule.to\" must be a local time of day \"HH:MM\"");
	}
	refused_schedule("{\"every\": \"day\", \"to\": \"06:00\"}", "\"schedule.from\"");
	refused_schedule("{\"every\": \"day\", \"from\": \"06:00\"}", "\"schedule.to\"");
	refused_schedule("{\"every\": \"day\", \"from\": \"06:00\", \"to\": \"06:00\"}",
			 "\"schedule.to\" must differ from \"schedule.from\"");
	refused_schedule("{\"every\": \"day\", \"from\": \"00:00\", \"to\": \"00:00\"}", "must differ");
}

/* ---- occurrences --------------------------------------------------------- */

/* Asserts cw_open_at(now): open or not, and when open, ends_at. */
static void assert_open(const cw_t *w, const tz_t *z, int64_t now, bool open, int64_t ends)
{
	int64_t e = -7;
	bool got = cw_open_at(w, z, now, &e);
	if (got != open)
		fail_msg("at %lld: open %d, want %d", (long long)now, got, open);
	if (open && e != ends)
		fail_msg("at %lld: ends at %lld, want %lld", (long long)now, (long long)e, (long long)ends);
}

static void assert_next(const cw_t *w, const tz_t *z, int64_t after, int64_t want)
{
	int64_t got = cw_next_open(w, z, after);
	if (got != want)
		fail_msg("next after %lld: %lld, want %lld", (long long)after, (long long)got, (long long)want);
}

/* Saturday and Sunday 02:00-06:00 in Berlin around both DST changes. */
static void test_berlin_weekend_dst(void **state)
{
	tz_t *z = tu_zone("Europe/Berlin");
	cw_t *w = win("Europe/Berlin",
		      "{\"every\": \"week\", \"days\": [\"sat\", \"sun\"], \"from\": \"02:00\", "
		      "\"to\": \"06:00\"}");
	/* Sat 2026-03-28, CET: 01:00Z..05:00Z. */
	assert_next(w, z, utc(2026, 3, 23, 0, 0), utc(2026, 3, 28, 1, 0));
	assert_open(w, z, utc(2026, 3, 28, 1, 0) - 1, false, 0);
	assert_open(w, z, utc(2026, 3, 28, 1, 0), true, utc(2026, 3, 28, 5, 0));
	assert_open(w, z, utc(2026, 3, 28, 5, 0), false, 0);
	/* Sun 2026-03-29: 02:00 does not exist, the window opens at 03:00 CEST
	 * (01:00Z) and closes at 06:00 CEST (04:00Z): three hours. */
	assert_next(w, z, utc(2026, 3, 28, 5, 0), utc(2026, 3, 29, 1, 0));
	assert_open(w, z, utc(2026, 3, 29, 1, 0) - 1, false, 0);
	assert_open(w, z, utc(2026, 3, 29, 1, 0), true, utc(2026, 3, 29, 4, 0));
	assert_open(w, z, utc(2026, 3, 29, 4, 0) - 1, true, utc(2026, 3, 29, 4, 0));
	assert_open(w, z, utc(2026, 3, 29, 4, 0), false, 0);
	/* The next Saturday in CEST: 00:00Z..04:00Z. */
	assert_next(w, z, utc(2026, 3, 29, 4, 0), utc(2026, 4, 4, 0, 0));
	/* Sun 2026-10-25: 02:00 happens twice, the window opens at the first
	 * (02:00 CEST, 00:00Z) and closes at 06:00 CET (05:00Z): five hours. */
	assert_open(w, z, utc(2026, 10, 24, 0, 0), true, utc(2026, 10, 24, 4, 0)); /* Saturday, CEST */
	assert_next(w, z, utc(2026, 10, 24, 4, 0), utc(2026, 10, 25, 0, 0));
	assert_open(w, z, utc(2026, 10, 25, 0, 0), true, utc(2026, 10, 25, 5, 0));
	assert_open(w, z, utc(2026, 10, 25, 4, 59), true, utc(2026, 10, 25, 5, 0));
	assert_open(w, z, utc(2026, 10, 25, 5, 0), false, 0);
	assert_next(w, z, utc(2026, 10, 25, 0, 0) + 1, utc(2026, 10, 31, 1, 0));
	/* The same past the zone file's table, from its footer: 2050-03-27. */
	assert_open(w, z, utc(2050, 3, 27, 1, 0), true, utc(2050, 3, 27, 4, 0));
	assert_open(w, z, utc(2050, 3, 27, 1, 0) - 1, false, 0);
	/* Weekdays stay closed. */
	assert_open(w, z, utc(2026, 3, 30, 2, 0), false, 0);
	cw_free(w);
	/* 02:00-03:00 on the spring Sunday is empty: no occurrence that day. */
	w = win("Europe/Berlin",
		"{\"every\": \"week\", \"days\": [\"sun\"], \"from\": \"02:00\", \"to\": \"03:00\"}");
	assert_next(w, z, utc(2026, 3, 28, 0, 0), utc(2026, 4, 5, 0, 0));
	assert_open(w, z, utc(2026, 3, 29, 1, 0), false, 0);
	assert_next(w, z, utc(2026, 10, 24, 0, 0), utc(2026, 10, 25, 0, 0));
	assert_open(w, z, utc(2026, 10, 25, 1, 30), true, utc(2026, 10, 25, 2, 0)); /* two hours */
	cw_free(w);
	tz_free(z);
}

/* Daily 22:00-02:00: crossing midnight, also into the spring change. */
static void test_crossing_midnight(void **state)
{
	tz_t *z = tu_zone("Europe/Berlin");
	cw_t *w = win("Europe/Berlin", "{\"every\": \"day\", \"from\": \"22:00\", \"to\": \"02:00\"}");
	/* June, CEST: 20:00Z..00:00Z. */
	assert_open(w, z, utc(2026, 6, 10, 20, 0) - 1, false, 0);
	assert_open(w, z, utc(2026, 6, 10, 21, 30), true, utc(2026, 6, 11, 0, 0));
	assert_open(w, z, utc(2026, 6, 10, 23, 59), true, utc(2026, 6, 11, 0, 0)); /* 01:59 local, next day */
	assert_open(w, z, utc(2026, 6, 11, 0, 0), false, 0);
	assert_next(w, z, utc(2026, 6, 11, 0, 30), utc(2026, 6, 11, 20, 0));
	assert_next(w, z, utc(2026, 6, 10, 20, 0), utc(2026, 6, 10, 20, 0));
	/* Saturday 2026-03-28 22:00 CET (21:00Z) to Sunday 02:00, which does
	 * not exist: 03:00 CEST (01:00Z). */
	assert_open(w, z, utc(2026, 3, 29, 0, 59), true, utc(2026, 3, 29, 1, 0));
	assert_open(w, z, utc(2026, 3, 29, 1, 0), false, 0);
	assert_next(w, z, utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 20, 0));
	cw_free(w);
	/* Weekly on Friday night: the occurrence belongs to Friday. */
	w = win("UTC", "{\"every\": \"week\", \"days\": [\"fri\"], \"from\": \"23:00\", \"to\": \"01:00\"}");
	assert_open(w, tz_utc(), utc(2026, 12, 4, 23, 30), true, utc(2026, 12, 5, 1, 0)); /* Fri */
	assert_open(w, tz_utc(), utc(2026, 12, 5, 0, 30), true, utc(2026, 12, 5, 1, 0));  /* Sat */
	assert_open(w, tz_utc(), utc(2026, 12, 5, 23, 30), false, 0);
	assert_open(w, tz_utc(), utc(2026, 12, 4, 0, 30), false, 0); /* Fri early: Thursday's */
	assert_next(w, tz_utc(), utc(2026, 12, 5, 0, 30), utc(2026, 12, 11, 23, 0));
	cw_free(w);
	tz_free(z);
}

static void test_new_york_and_lord_howe(void **state)
{
	tz_t *ny = tu_zone("America/New_York"), *lh = tu_zone("Australia/Lord_Howe");
	/* Sunday 01:00-02:00 on 2026-11-01: 01:00 EDT (05:00Z) to 02:00 EST (07:00Z). */
	cw_t *w = win("America/New_York", "{\"every\": \"week\", \"days\": [\"sun\"], \"from\": \"01:00\", "
					  "\"to\": \"02:00\"}");
	assert_next(w, ny, utc(2026, 10, 30, 0, 0), utc(2026, 11, 1, 5, 0));
	assert_open(w, ny, utc(2026, 11, 1, 6, 30), true, utc(2026, 11, 1, 7, 0));
	cw_free(w);
	/* Daily 02:00-03:00 at Lord Howe on 2026-10-04, when 02:00 jumps to
	 * 02:30: from 02:30 (+11, 15:30Z) to 03:00 (16:00Z). */
	w = win("Australia/Lord_Howe", "{\"every\": \"day\", \"from\": \"02:00\", \"to\": \"03:00\"}");
	assert_next(w, lh, utc(2026, 10, 3, 0, 0), utc(2026, 10, 3, 15, 30));
	assert_open(w, lh, utc(2026, 10, 3, 15, 30), true, utc(2026, 10, 3, 16, 0));
	assert_open(w, lh, utc(2026, 10, 2, 15, 30), true, utc(2026, 10, 2, 16, 30)); /* the day before, +10:30 */
	cw_free(w);
	tz_free(ny);
	tz_free(lh);
}

static void test_one_off(void **state)
{
	tz_t *z = tu_zone("Europe/Berlin"), *k = tu_zone("Asia/Kolkata");
	cw_t *w = win("Europe/Berlin", "{\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00\"}");
	/* CET: 01:00Z..05:00Z. */
	assert_next(w, z, utc(2026, 1, 1, 0, 0), utc(2026, 12, 7, 1, 0));
	assert_next(w, z, utc(2026, 12, 7, 1, 0), utc(2026, 12, 7, 1, 0));
	assert_next(w, z, utc(2026, 12, 7, 1, 0) + 1, -1);
	assert_open(w, z, utc(2026, 12, 7, 1, 0) - 1, false, 0);
	assert_open(w, z, utc(2026, 12, 7, 1, 0), true, utc(2026, 12, 7, 5, 0));
	assert_open(w, z, utc(2026, 12, 7, 5, 0) - 1, true, utc(2026, 12, 7, 5, 0));
	/* In the past now. */
	assert_open(w, z, utc(2026, 12, 7, 5, 0), false, 0);
	assert_open(w, z, utc(2030, 1, 1, 0, 0), false, 0);
	assert_next(w, z, utc(2030, 1, 1, 0, 0), -1);
	/* The same local times in another zone. */
	assert_open(w, k, utc(2026, 12, 6, 20, 30), true, utc(2026, 12, 7, 0, 30));
	cw_free(w);
	/* Fixed instants ignore the zone. */
	w = win("Europe/Berlin", "{\"start\": \"2026-12-07T02:00+05:30\", \"end\": \"2026-12-07T01:00Z\"}");
	assert_open(w, z, utc(2026, 12, 6, 20, 30), true, utc(2026, 12, 7, 1, 0));
	assert_open(w, k, utc(2026, 12, 6, 20, 30), true, utc(2026, 12, 7, 1, 0));
	cw_free(w);
	/* A local end that the zone puts before a fixed start never opens. */
	w = win("Asia/Kolkata", "{\"start\": \"2026-12-07T00:00Z\", \"end\": \"2026-12-07T05:00\"}");
	assert_next(w, k, 0, -1);
	assert_open(w, k, utc(2026, 12, 7, 0, 0), false, 0);
	assert_next(w, tz_utc(), 0, utc(2026, 12, 7, 0, 0));
	cw_free(w);
	tz_free(z);
	tz_free(k);
}

static void test_utc_and_days(void **state)
{
	tz_t *u = tu_zone("UTC");
	cw_t *w = win("UTC", "{\"every\": \"week\", \"days\": [\"mon\", \"wed\", \"fri\"], \"from\": \"09:00\", "
			     "\"to\": \"10:00\"}");
	/* From Monday 2026-12-07 00:00Z, two weeks: six occurrences on the
	 * right days, the same with the built-in UTC and the file. */
	static const int want_days[] = {7, 9, 11, 14, 16, 18};
	int64_t t = utc(2026, 12, 7, 0, 0);
	for (size_t i = 0; i < 6; i++) {
		int64_t n = cw_next_open(w, u, t);
		assert_int_equal(n, utc(2026, 12, want_days[i], 9, 0));
		assert_int_equal(cw_next_open(w, tz_utc(), t), n);
		assert_open(w, u, n, true, n + 3600);
		assert_open(w, tz_utc(), n + 3599, true, n + 3600);
		t = n + 1;
	}
	assert_open(w, u, utc(2026, 12, 8, 9, 30), false, 0); /* Tuesday */
	cw_free(w);
	tz_free(u);
	/* Out of the supported range. */
	w = win("UTC", "{\"every\": \"day\", \"from\": \"00:00\", \"to\": \"24:00\"}");
	assert_false(cw_open_at(w, tz_utc(), INT64_MAX, NULL));
	assert_false(cw_open_at(w, tz_utc(), INT64_MIN, NULL));
	assert_int_equal(cw_next_open(w, tz_utc(), INT64_MIN), -1);
	assert_int_equal(cw_next_open(w, tz_utc(), TZ_MAX_TIME + 1), -1);
	cw_free(w);
}

/* Occurrences back to back: ends_at is when the window really closes. */
static void test_back_to_back(void **state)
{
	tz_t *z = tu_zone("Europe/Berlin");
	cw_t *w = win("Europe/Berlin", "{\"every\": \"week\", \"days\": [\"sat\", \"sun\"], \"from\": \"00:00\", "
				       "\"to\": \"24:00\"}");
	/* Saturday 2026-12-05 10:00 CET: open until Monday 00:00 CET. */
	assert_open(w, z, utc(2026, 12, 5, 9, 0), true, utc(2026, 12, 6, 23, 0));
	/* Across the autumn change: Sat 00:00 CEST to Mon 00:00 CET. */
	assert_open(w, z, utc(2026, 10, 24, 12, 0), true, utc(2026, 10, 25, 23, 0));
	cw_free(w);
	w = win("UTC", "{\"every\": \"day\", \"from\": \"00:00\", \"to\": \"24:00\"}");
	assert_open(w, tz_utc(), utc(2026, 12, 5, 9, 0), true,
		    utc(2026, 12, 5, 0, 0) + (CW_MERGE_DAYS + 1) * 86400LL);
	cw_free(w);
	/* 03:10 to 02:30 the next day overlaps on the spring day: 02:30 moves
	 * to 03:30, after the next occurrence started at 03:10 CEST. */
	w = win("Europe/Berlin", "{\"every\": \"week\", \"days\": [\"sat\", \"sun\"], \"from\": \"03:10\", "
				 "\"to\": \"02:30\"}");
	assert_open(w, z, utc(2026, 3, 28, 12, 0), true, utc(2026, 3, 30, 0, 30)); /* Mon 02:30 CEST */
	cw_free(w);
	tz_free(z);
}

/* cw_open_at and cw_next_open agree, every 10 minutes over weeks around
 * the Berlin changes: a closed instant stays closed until the next
 * opening, which is open; an open one stays open until ends_at. */
static void sweep(const cw_t *w, const tz_t *z, int64_t from, int64_t to)
{
	int64_t next = -2, ends = 0;
	bool was_open = false;
	for (int64_t t = from; t < to; t += 600) {
		int64_t e;
		bool open = cw_open_at(w, z, t, &e);
		if (was_open && t < ends)
			assert_true(open);
		if (!was_open && next >= 0 && t < next)
			assert_false(open);
		if (open) {
			assert_true(e > t);
			assert_true(cw_open_at(w, z, e - 1, NULL));
			ends = e;
		} else {
			next = cw_next_open(w, z, t);
			if (next >= 0) {
				assert_true(next >= t);
				assert_true(cw_open_at(w, z, next, NULL));
			}
		}
		was_open = open;
	}
}

static void test_sweep(void **state)
{
	static const char *const schedules[] = {
		"{\"every\": \"week\", \"days\": [\"sat\", \"sun\"], \"from\": \"02:00\", \"to\": \"06:00\"}",
		"{\"every\": \"day\", \"from\": \"22:00\", \"to\": \"02:00\"}",
		"{\"every\": \"day\", \"from\": \"02:30\", \"to\": \"02:10\"}",
		"{\"every\": \"week\", \"days\": [\"sun\"], \"from\": \"02:15\", \"to\": \"02:45\"}",
		"{\"start\": \"2026-03-29T02:30\", \"end\": \"2026-10-25T02:30\"}",
	};
	static const char *const zones[] = {"Europe/Berlin", "Australia/Lord_Howe", "America/New_York"};
	for (size_t zi = 0; zi < 3; zi++) {
		tz_t *z = tu_zone(zones[zi]);
		for (size_t i = 0; i < sizeof schedules / sizeof schedules[0]; i++) {
			cw_t *w = win(zones[zi], schedules[i]);
			sweep(w, z, utc(2026, 3, 1, 0, 0), utc(2026, 4, 20, 0, 0));
			sweep(w, z, utc(2026, 9, 25, 0, 0), utc(2026, 11, 10, 0, 0));
			cw_free(w);
		}
		tz_free(z);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_one_off),
		cmocka_unit_test(test_parse_recurring),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused_top),
		cmocka_unit_test(test_timezone_names),
		cmocka_unit_test(test_resources),
		cmocka_unit_test(test_refused_one_off),
		cmocka_unit_test(test_refused_recurring),
		cmocka_unit_test(test_berlin_weekend_dst),
		cmocka_unit_test(test_crossing_midnight),
		cmocka_unit_test(test_new_york_and_lord_howe),
		cmocka_unit_test(test_one_off),
		cmocka_unit_test(test_utc_and_days),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_sweep),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
