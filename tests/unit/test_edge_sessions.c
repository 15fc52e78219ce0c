/* test_edge_sessions.c - the edge's report of live Modbus sessions
 * (src/core/edge_sessions.c, docs/edge.md Operator view): session ids, the
 * report an edge writes read back by the broker's strict reader (also when
 * the strings are hostile or too many rows to fit), and every refusal the
 * reader promises, naming the member. */
#include "test_util.h"
#include "core/edge_sessions.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SID "ms-0123456789abcdef"
#define ROW_JSON(id) \
	"{\"id\": \"" id "\", \"listener\": \"127.0.0.1:1502\", \"device\": \"Device:plc-7\", \"src\": \"10.0.0.7\"," \
	" \"identity\": \"hmi-1\", \"grant\": \"g-x\", \"since\": 1700000000000, \"last\": 1700000001000," \
	" \"allowed\": 3, \"denied\": 1}"

static edge_session_t row(int i)
{
	edge_session_t s;
	uint8_t random[EDGE_SESSION_ID_RANDOM] = {0};
	memset(&s, 0, sizeof s);
	random[0] = (uint8_t)i;
	random[1] = (uint8_t)(i >> 8);
	edge_session_id_from(random, s.id);
	snprintf(s.listener, sizeof s.listener, "127.0.0.1:%d", 1500 + i);
	snprintf(s.device, sizeof s.device, "Device:plc-%d", i);
	snprintf(s.src, sizeof s.src, "10.0.%d.%d", i / 256, i % 256);
	snprintf(s.identity, sizeof s.identity, "hmi-%d", i);
	snprintf(s.grant, sizeof s.grant, "g-%d", i);
	s.since_ms = TU_NOW * 1000 + i;
	s.last_ms = s.since_ms + 5;
	s.allowed = 3 * i;
	s.denied = i;
	return s;
}

static void assert_same_row(const edge_session_t *a, const edge_session_t *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->listener, b->listener);
	assert_string_equal(a->device, b->device);
	assert_string_equal(a->src, b->src);
	assert_string_equal(a->identity, b->identity);
	assert_string_equal(a->grant, b->grant);
	assert_int_equal(a->since_ms, b->since_ms);
	assert_int_equal(a->last_ms, b->last_ms);
	assert_int_equal(a->allowed, b->allowed);
	assert_int_equal(a->denied, b->denied);
}

static int parse(const char *text, edge_sessions_report_t *r, char *why, size_t len)
{
	return edge_sessions_report_parse(text, strlen(text), r, why, len);
}

#define assert_refused(text, needle) assert_refused_at((text), (needle), __FILE__, __LINE__)
static void assert_refused_at(const char *text, const char *needle, const char *file, int line)
{
	edge_sessions_report_t r;
	char why[200] = "";
	if (parse(text, &r, why, sizeof why) != -1) {
		print_error("accepted: %s\n", text);
		edge_sessions_report_free(&r);
		_fail(file, line);
	}
	if (r.rows != NULL || r.n != 0)
		_fail(file, line);
	tu_assert_why_at(why, needle, file, line);
}

static void test_session_ids(void **state)
{
	uint8_t random[EDGE_SESSION_ID_RANDOM];
	char a[EDGE_SESSION_ID_LEN + 1], b[EDGE_SESSION_ID_LEN + 1];
	memset(random, 0xff, sizeof random);
	edge_session_id_from(random, a);
	assert_string_equal(a, "ms-________________");
	assert_true(edge_session_id_valid(a));
	random[0] = 0;
	edge_session_id_from(random, b);
	assert_string_not_equal(a, b);
	assert_true(edge_session_id_valid(SID));
	static const char *const bad[] = {"", "ms-", "ms-0123456789abcde", "ms-0123456789abcdef0", "MS-0123456789abcdef",
					  "xs-0123456789abcdef", "ms-0123456789abcde=", "ms-0123456789abc/ef",
					  "ms-0123456789abc.ef", NULL};
	for (const char *const *s = bad; *s != NULL; s++)
		assert_false(edge_session_id_valid(*s));
	assert_false(edge_session_id_valid(NULL));
}

static void test_parse_good(void **state)
{
	edge_sessions_report_t r;
	char why[200];
	assert_int_equal(parse("{\"total\": 2, \"sessions\": [" ROW_JSON(SID) "]}", &r, why, sizeof why), 0);
	assert_int_equal(r.total, 2);
	assert_int_equal(r.n, 1);
	const edge_session_t *s = &r.rows[0];
	assert_string_equal(s->id, SID);
	assert_string_equal(s->listener, "127.0.0.1:1502");
	assert_string_equal(s->device, "Device:plc-7");
	assert_string_equal(s->src, "10.0.0.7");
	assert_string_equal(s->identity, "hmi-1");
	assert_string_equal(s->grant, "g-x");
	assert_int_equal(s->since_ms, 1700000000000LL);
	assert_int_equal(s->last_ms, 1700000001000LL);
	assert_int_equal(s->allowed, 3);
	assert_int_equal(s->denied, 1);
	edge_sessions_report_free(&r);
	/* no sessions */
	assert_int_equal(parse("{\"sessions\": [], \"total\": 0}", &r, why, sizeof why), 0);
	assert_int_equal(r.n, 0);
	edge_sessions_report_free(&r);
}

static void test_parse_refusals(void **state)
{
	assert_refused("", "not JSON");
	assert_refused("{", "not JSON");
	assert_refused("[]", "must be a JSON object");
	assert_refused("{\"total\": 0, \"total\": 0, \"sessions\": []}", "not JSON");
	assert_refused("{\"total\": 0}", "sessions: must be an array");
	assert_refused("{\"total\": 0, \"sessions\": {}}", "sessions: must be an array");
	assert_refused("{\"sessions\": []}", "total:");
	assert_refused("{\"total\": -1, \"sessions\": []}", "total:");
	assert_refused("{\"total\": \"0\", \"sessions\": []}", "total:");
	assert_refused("{\"total\": 0, \"sessions\": [" ROW_JSON(SID) "]}", "total:");
	assert_refused("{\"total\": 0, \"sessions\": [], \"x\": 1}", "unknown member \"x\"");
	assert_refused("{\"total\": 1, \"sessions\": [5]}", "sessions[0]: must be an object");
	assert_refused("{\"total\": 2, \"sessions\": [" ROW_JSON(SID) ", " ROW_JSON(SID) "]}", "sessions[1].id: sent twice");
	assert_refused("{\"total\": 1, \"sessions\": [" ROW_JSON("ms-x") "]}", "sessions[0].id: not a session id");
	assert_refused("{\"total\": 1, \"sessions\": [" ROW_JSON("ms-0123456789abcd\\u0001f") "]}",
		       "sessions[0].id: has a control character");
}

/* ROW_JSON with one member replaced by value (NULL: left out). */
static char *row_with(const char *name, const char *value)
{
	json_t *o = tu_json(ROW_JSON(SID));
	if (value == NULL)
		json_object_del(o, name);
	else
		json_object_set_new(o, name, json_loads(value, JSON_DECODE_ANY, NULL));
	json_t *doc = json_pack("{s:i, s:[o]}", "total", 1, "sessions", o);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return text;
}

static void test_parse_members(void **state)
{
	static const char *const strings[] = {"id", "listener", "device", "src", "identity", "grant"};
	static const char *const numbers[] = {"since", "last", "allowed", "denied"};
	static const char *const bad_strings[] = {"7", "null", "[]", "\"a\\nb\"", "\"a\\u007fb\""};
	static const char *const bad_numbers[] = {"-1", "\"1\"", "1.5", "null", "true"};
	char needle[64];
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		snprintf(needle, sizeof needle, "sessions[0].%s", strings[i]);
		char *t = row_with(strings[i], NULL);
		assert_refused(t, needle);
		free(t);
		for (size_t k = 0; k < sizeof bad_strings / sizeof bad_strings[0]; k++) {
			t = row_with(strings[i], bad_strings[k]);
			assert_refused(t, needle);
			free(t);
		}
	}
	for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
		snprintf(needle, sizeof needle, "sessions[0].%s: must be a non-negative integer", numbers[i]);
		char *t = row_with(numbers[i], NULL);
		assert_refused(t, needle);
		free(t);
		for (size_t k = 0; k < sizeof bad_numbers / sizeof bad_numbers[0]; k++) {
			t = row_with(numbers[i], bad_numbers[k]);
			assert_refused(t, needle);
			free(t);
		}
	}
	char *t = row_with("extra", "1");
	assert_refused(t, "sessions[0]: unknown member \"extra\"");
	free(t);
}

/* Each string member at its bound is taken, one byte more refused. */
static void test_parse_lengths(void **state)
{
	static const struct {
		const char *name;
		size_t max;
	} v[] = {{"listener", EDGE_SESSION_MAX_LISTENER}, {"device", EDGE_SESSION_MAX_DEVICE},
		 {"src", EDGE_SESSION_MAX_SRC},           {"identity", TG_MAX_ID_LEN},
		 {"grant", TG_MAX_ID_LEN}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		for (size_t extra = 0; extra < 2; extra++) {
			char *s = malloc(v[i].max + extra + 3);
			s[0] = '"';
			memset(s + 1, 'x', v[i].max + extra);
			strcpy(s + 1 + v[i].max + extra, "\"");
			char *t = row_with(v[i].name, s);
			edge_sessions_report_t r;
			char why[200];
			if (extra == 0) {
				assert_int_equal(parse(t, &r, why, sizeof why), 0);
				edge_sessions_report_free(&r);
			} else {
				assert_refused(t, "longer than");
			}
			free(t);
			free(s);
		}
	}
}

static void test_parse_too_long_or_many(void **state)
{
	/* more than EDGE_SESSIONS_MAX_BODY bytes, even if well-formed */
	size_t n = EDGE_SESSIONS_MAX_BODY + 1;
	char *big = malloc(n + 1);
	memset(big, ' ', n);
	memcpy(big, "{\"total\": 0, \"sessions\": []", 27);
	big[n - 1] = '}';
	big[n] = '\0';
	assert_refused(big, "longer than");
	free(big);
	/* EDGE_SESSIONS_MAX_ROWS + 1 rows, short enough */
	json_t *list = json_array();
	for (int i = 0; i <= EDGE_SESSIONS_MAX_ROWS; i++)
		json_array_append_new(list, json_integer(i));
	json_t *doc = json_pack("{s:i, s:o}", "total", EDGE_SESSIONS_MAX_ROWS + 1, "sessions", list);
	char *t = json_dumps(doc, JSON_COMPACT);
	assert_refused(t, "at most");
	free(t);
	json_decref(doc);
}

static void test_report_round_trip(void **state)
{
	edge_session_t rows[3] = {row(0), row(1), row(2)};
	char *text = edge_sessions_report_text(rows, 3);
	edge_sessions_report_t r;
	char why[200];
	assert_non_null(text);
	assert_int_equal(parse(text, &r, why, sizeof why), 0);
	assert_int_equal(r.total, 3);
	assert_int_equal(r.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_same_row(&r.rows[i], &rows[i]);
	edge_sessions_report_free(&r);
	free(text);
	/* none */
	text = edge_sessions_report_text(NULL, 0);
	assert_string_equal(text, "{\"total\":0,\"sessions\":[]}");
	free(text);
}

static void test_report_hostile_strings_read_back(void **state)
{
	/* what an edge writes is always read: control characters and bytes
	 * that are no ASCII become '?', and the widest fields fit */
	edge_session_t s = row(1);
	memset(s.device, 0xc3, sizeof s.device - 1);
	s.device[sizeof s.device - 1] = '\0';
	snprintf(s.identity, sizeof s.identity, "a\nb\x7f\"c\\");
	memset(s.src, '\x01', sizeof s.src - 1);
	s.src[sizeof s.src - 1] = '\0';
	s.allowed = -5;
	char *text = edge_sessions_report_text(&s, 1);
	edge_sessions_report_t r;
	char why[200];
	assert_int_equal(parse(text, &r, why, sizeof why), 0);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.rows[0].identity, "a?b?\"c\\");
	assert_int_equal(strspn(r.rows[0].device, "?"), sizeof s.device - 1);
	assert_int_equal(r.rows[0].allowed, 0);
	edge_sessions_report_free(&r);
	free(text);
}

static void test_report_fits_its_bound(void **state)
{
	/* rows that do not fit are left out, total still counts them */
	size_t n = 4000;
	edge_session_t *rows = calloc(n, sizeof *rows);
	for (size_t i = 0; i < n; i++) {
		rows[i] = row((int)i);
		memset(rows[i].device, 'd', sizeof rows[i].device - 1);
	}
	char *text = edge_sessions_report_text(rows, n);
	assert_true(strlen(text) <= EDGE_SESSIONS_MAX_BODY);
	edge_sessions_report_t r;
	char why[200];
	assert_int_equal(parse(text, &r, why, sizeof why), 0);
	assert_int_equal(r.total, (int64_t)n);
	assert_true(r.n > 10 && r.n < n);
	for (size_t i = 0; i < r.n; i++)
		assert_string_equal(r.rows[i].id, rows[i].id);
	edge_sessions_report_free(&r);
	free(text);
	/* small rows: as many as fit, at most EDGE_SESSIONS_MAX_ROWS */
	for (size_t i = 0; i < n; i++)
		rows[i].device[0] = '\0';
	text = edge_sessions_report_text(rows, 600);
	assert_true(strlen(text) <= EDGE_SESSIONS_MAX_BODY);
	assert_int_equal(parse(text, &r, why, sizeof why), 0);
	assert_true(r.n > 200 && r.n <= EDGE_SESSIONS_MAX_ROWS);
	assert_int_equal(r.total, 600);
	edge_sessions_report_free(&r);
	free(text);
	free(rows);
}

static void test_row_json(void **state)
{
	edge_session_t s = row(7);
	json_t *j = edge_session_json(&s);
	assert_string_equal(json_string_value(json_object_get(j, "id")), s.id);
	assert_string_equal(json_string_value(json_object_get(j, "device")), "Device:plc-7");
	assert_int_equal(json_integer_value(json_object_get(j, "allowed")), 21);
	assert_int_equal(json_object_size(j), 10);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_ids),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_members),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_parse_too_long_or_many),
		cmocka_unit_test(test_report_round_trip),
		cmocka_unit_test(test_report_hostile_strings_read_back),
		cmocka_unit_test(test_report_fits_its_bound),
		cmocka_unit_test(test_row_json),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
