/* test_grant.c - JIT grants, pure (src/core/grant.c, docs/grants.md): state
 * names, the effective state at every time boundary (pending deadline,
 * start, ends_at), which operation each state allows and the 409 text,
 * durations, the POST /v1/grants body member by member (missing, wrong
 * type, each bound on both sides), note bodies, and grant ids. */
#include "test_util.h"
#include "core/grant.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const grant_bounds_t bounds = {TU_NOW, TG_DEFAULT_GRANT_MAX_DURATION};

/* n copies of c (malloc'd). */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* A JSON string of n copies of c. */
static json_t *jrep(char c, size_t n)
{
	char *s = rep(c, n);
	json_t *j = json_string(s);
	free(s);
	assert_non_null(j);
	return j;
}

/* A JSON string of n copies of "é" (2n bytes). */
static json_t *jrep_e_acute(size_t n)
{
	char *s = malloc(2 * n + 1);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[2 * n] = '\0';
	json_t *j = json_string(s);
	free(s);
	assert_non_null(j);
	return j;
}

/* ---- states -------------------------------------------------------------- */

static void test_state_names(void **state)
{
	static const struct {
		grant_state_t s;
		const char *name;
		bool final;
	} v[] = {
		{GRANT_PENDING, "pending", false},   {GRANT_APPROVED, "approved", false},
		{GRANT_ACTIVE, "active", false},     {GRANT_ENDED, "ended", true},
		{GRANT_EXPIRED, "expired", true},    {GRANT_REVOKED, "revoked", true},
		{GRANT_DENIED, "denied", true},      {GRANT_CANCELLED, "cancelled", true},
	};
	assert_int_equal(sizeof v / sizeof v[0], GRANT_STATE_COUNT);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		grant_state_t got = GRANT_STATE_COUNT;
		assert_string_equal(grant_state_name(v[i].s), v[i].name);
		assert_int_equal(grant_state_parse(v[i].name, &got), 0);
		assert_int_equal(got, v[i].s);
		assert_int_equal(grant_state_final(v[i].s), v[i].final);
	}
	assert_string_equal(grant_state_name(GRANT_STATE_COUNT), "unknown");
	const char *bad[] = {"", "Pending", "PENDING", "pending ", "canceled", "unknown", "activ", NULL};
	for (const char **b = bad; *b; b++) {
		grant_state_t got = GRANT_PENDING;
		assert_int_equal(grant_state_parse(*b, &got), -1);
	}
	grant_state_t got;
	assert_int_equal(grant_state_parse(NULL, &got), -1);
}

/* A grant starting in 10 minutes, pending until an hour after its start,
 * running two hours once approved (ends_at after expires_at, so that the
 * pending deadline visibly does not apply to an approved grant). */
#define START (TU_NOW + 600)
#define EXPIRES (START + 3600)
#define ENDS (START + 7200)

static grant_state_t eff(grant_state_t stored, int64_t now)
{
	return grant_effective(stored, now, START, EXPIRES, ENDS);
}

static void test_effective_pending(void **state)
{
	assert_int_equal(eff(GRANT_PENDING, TU_NOW), GRANT_PENDING);
	assert_int_equal(eff(GRANT_PENDING, START), GRANT_PENDING); /* start does not activate it */
	assert_int_equal(eff(GRANT_PENDING, EXPIRES - 1), GRANT_PENDING);
	assert_int_equal(eff(GRANT_PENDING, EXPIRES), GRANT_EXPIRED);
	assert_int_equal(eff(GRANT_PENDING, EXPIRES + 1), GRANT_EXPIRED);
	assert_int_equal(eff(GRANT_PENDING, ENDS + 1), GRANT_EXPIRED);
	/* a pending grant has no ends_at yet (stored as 0) */
	assert_int_equal(grant_effective(GRANT_PENDING, TU_NOW, START, EXPIRES, 0), GRANT_PENDING);
	assert_int_equal(grant_effective(GRANT_PENDING, EXPIRES, START, EXPIRES, 0), GRANT_EXPIRED);
}

static void test_effective_approved(void **state)
{
	/* stored approved or stored active: the clock decides between them */
	const grant_state_t stored[] = {GRANT_APPROVED, GRANT_ACTIVE};
	for (size_t i = 0; i < 2; i++) {
		grant_state_t s = stored[i];
		assert_int_equal(eff(s, TU_NOW), GRANT_APPROVED);
		assert_int_equal(eff(s, START - 1), GRANT_APPROVED);
		assert_int_equal(eff(s, START), GRANT_ACTIVE);
		assert_int_equal(eff(s, START + 1), GRANT_ACTIVE);
		assert_int_equal(eff(s, EXPIRES), GRANT_ACTIVE); /* the pending deadline is over */
		assert_int_equal(eff(s, ENDS - 1), GRANT_ACTIVE);
		assert_int_equal(eff(s, ENDS), GRANT_EXPIRED);
		assert_int_equal(eff(s, ENDS + 1), GRANT_EXPIRED);
		assert_int_equal(eff(s, ENDS + 86400), GRANT_EXPIRED);
	}
	/* approved late: start long past, ends_at from the approval */
	assert_int_equal(grant_effective(GRANT_APPROVED, TU_NOW, TU_NOW - 5000, TU_NOW - 100, TU_NOW + 60),
			 GRANT_ACTIVE);
}

static void test_effective_final_states_stay(void **state)
{
	const int64_t times[] = {0, TU_NOW, START - 1, START, EXPIRES - 1, EXPIRES, ENDS - 1, ENDS, ENDS + 1};
	for (int s = GRANT_ENDED; s < GRANT_STATE_COUNT; s++)
		for (size_t t = 0; t < sizeof times / sizeof times[0]; t++)
			assert_int_equal(eff((grant_state_t)s, times[t]), s);
}

/* ---- operations ------------------------------------------------------------ */

static void test_op_refused_matrix(void **state)
{
	/* allowed[op][state]: pending, approved, active, ended, expired, revoked, denied, cancelled */
	static const bool allowed[5][GRANT_STATE_COUNT] = {
		[GRANT_OP_APPROVE] = {1, 0, 0, 0, 0, 0, 0, 0}, [GRANT_OP_DENY] = {1, 0, 0, 0, 0, 0, 0, 0},
		[GRANT_OP_CANCEL] = {1, 0, 0, 0, 0, 0, 0, 0},  [GRANT_OP_END] = {0, 1, 1, 0, 0, 0, 0, 0},
		[GRANT_OP_REVOKE] = {0, 1, 1, 0, 0, 0, 0, 0},
	};
	static const char *const verb[] = {"approved", "denied", "cancelled", "ended", "revoked"};
	for (int op = GRANT_OP_APPROVE; op <= GRANT_OP_REVOKE; op++)
		for (int s = 0; s < GRANT_STATE_COUNT; s++) {
			char buf[160], want[160];
			const char *why = grant_op_refused((grant_op_t)op, (grant_state_t)s, buf, sizeof buf);
			if (allowed[op][s]) {
				if (why != NULL)
					fail_msg("op %s in state %s refused: %s", verb[op],
						 grant_state_name((grant_state_t)s), why);
				continue;
			}
			snprintf(want, sizeof want, "the grant is %s; %s can be %s",
				 grant_state_name((grant_state_t)s),
				 op <= GRANT_OP_CANCEL ? "only a pending grant" : "only an approved or active grant",
				 verb[op]);
			assert_non_null(why);
			assert_string_equal(why, want);
		}
}

static void test_op_refused_texts(void **state)
{
	static const struct {
		grant_op_t op;
		grant_state_t s;
		const char *text;
	} v[] = {
		{GRANT_OP_APPROVE, GRANT_ENDED, "the grant is ended; only a pending grant can be approved"},
		{GRANT_OP_APPROVE, GRANT_ACTIVE, "the grant is active; only a pending grant can be approved"},
		{GRANT_OP_DENY, GRANT_EXPIRED, "the grant is expired; only a pending grant can be denied"},
		{GRANT_OP_CANCEL, GRANT_APPROVED, "the grant is approved; only a pending grant can be cancelled"},
		{GRANT_OP_END, GRANT_PENDING,
		 "the grant is pending; only an approved or active grant can be ended"},
		{GRANT_OP_REVOKE, GRANT_DENIED,
		 "the grant is denied; only an approved or active grant can be revoked"},
		{GRANT_OP_REVOKE, GRANT_CANCELLED,
		 "the grant is cancelled; only an approved or active grant can be revoked"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char buf[160];
		const char *why = grant_op_refused(v[i].op, v[i].s, buf, sizeof buf);
		assert_ptr_equal(why, buf);
		assert_string_equal(why, v[i].text);
	}
	/* a short buffer truncates, terminated */
	char small[12];
	const char *why = grant_op_refused(GRANT_OP_APPROVE, GRANT_ENDED, small, sizeof small);
	assert_non_null(why);
	assert_string_equal(why, "the grant i");
}

/* ---- durations --------------------------------------------------------------- */

static void test_duration_ok(void **state)
{
	static const struct {
		const char *s;
		int64_t want;
	} v[] = {
		{"90", 90},         {"90s", 90},       {"30m", 1800},   {"1h30m", 5400},
		{"2h", 7200},       {"1h2m3s", 3723},  {"1h3s", 3603},  {"2m30s", 150},
		{"0", 0},           {"0s", 0},         {"60", 60},      {"90m", 5400},
		{"999999999999", 999999999999LL},       /* twelve digits of bare seconds */
		{"256204778801521h", 256204778801521LL * 3600},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		int64_t got = -1;
		if (grant_duration_parse(v[i].s, &got) != 0)
			fail_msg("refused \"%s\"", v[i].s);
		if (got != v[i].want)
			fail_msg("\"%s\": got %lld, want %lld", v[i].s, (long long)got, (long long)v[i].want);
	}
	/* at most 32 characters: "000...01h" */
	char s[34];
	int64_t got = -1;
	memset(s, '0', 30);
	memcpy(s + 30, "1h", 3);
	assert_int_equal(strlen(s), 32);
	assert_int_equal(grant_duration_parse(s, &got), 0);
	assert_int_equal(got, 3600);
	memset(s, '0', 31);
	memcpy(s + 31, "1h", 3);
	assert_int_equal(grant_duration_parse(s, &got), -1);
	memset(s, '0', 32);
	memcpy(s + 32, "1", 2);
	assert_int_equal(grant_duration_parse(s, &got), -1);
}

static void test_duration_refused(void **state)
{
	const char *bad[] = {
		"", "m", "h", "s", "1x", "30m1h", "1h1h", "1m1m", "1s1s", "1s2m", "3s1h", "-5", "+5",
		" 5", "5 ", "1h 30m", "1 h", "1H", "1.5h", "1,5h", "0x10", "1hm", "h1", "1d", "1ms",
		"5\t", "\xc2\xb9h",
		"99999999999999999999h",   /* overflow */
		"99999999999999999999",    /* bare seconds overflow */
		"99999999999999999999s",
		NULL};
	for (const char **b = bad; *b; b++) {
		int64_t got = 12345;
		if (grant_duration_parse(*b, &got) != -1)
			fail_msg("accepted \"%s\" as %lld", *b, (long long)got);
	}
	int64_t got;
	assert_int_equal(grant_duration_parse(NULL, &got), -1);
}

/* ---- the POST /v1/grants body ------------------------------------------------ */

static json_t *base(void)
{
	return tu_json("{\"identity\": \"deploy-bot\", \"scope\": \"orders.write@Api:orders\", "
		       "\"duration\": 1800, \"reason\": \"deploy release 4.2\"}");
}

/* The base request with key set to value (stolen), or without it (NULL). */
static json_t *with(const char *key, json_t *value)
{
	return tu_with(base(), key, value);
}

/* Parses doc (reference dropped) with b; fails unless accepted. */
static void ok_b(json_t *doc, const grant_bounds_t *b, grant_request_t *out)
{
	char buf[160];
	const char *why = grant_request_parse(doc, b, out, buf, sizeof buf);
	if (why != NULL) {
		char *text = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
		fail_msg("refused %.300s: %s", text ? text : "?", why);
	}
	json_decref(doc);
}

static void ok(json_t *doc, grant_request_t *out)
{
	ok_b(doc, &bounds, out);
}

/* Parses doc (reference dropped); fails unless refused mentioning needle. */
static void bad_b(json_t *doc, const grant_bounds_t *b, const char *needle)
{
	char buf[160];
	grant_request_t out;
	const char *why = grant_request_parse(doc, b, &out, buf, sizeof buf);
	if (why == NULL) {
		char *text = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
		fail_msg("accepted %.300s", text ? text : "?");
	}
	if (strstr(why, needle) == NULL)
		fail_msg("got \"%s\", expected it to mention \"%s\"", why, needle);
	json_decref(doc);
}

static void bad(json_t *doc, const char *needle)
{
	bad_b(doc, &bounds, needle);
}

static void test_request_minimal(void **state)
{
	grant_request_t r;
	ok(base(), &r);
	assert_string_equal(r.identity, "deploy-bot");
	assert_string_equal(r.scope, "orders.write@Api:orders");
	assert_int_equal(r.duration, 1800);
	assert_string_equal(r.reason, "deploy release 4.2");
	assert_string_equal(r.ticket, "");
	assert_int_equal(r.start, TU_NOW);
	assert_string_equal(r.source, "");
}

static void test_request_full(void **state)
{
	grant_request_t r;
	ok(tu_json("{\"identity\": \"deploy-bot\", \"scope\": \"orders.write@Api:orders modbus.read@Zone:line-3\", "
		   "\"duration\": \"30m\", \"reason\": \"deploy release 4.2\", \"ticket\": \"CHG-1042\", "
		   "\"start\": 1700000600, \"source\": \"10.0.3.0/24\"}"),
	   &r);
	assert_string_equal(r.scope, "orders.write@Api:orders modbus.read@Zone:line-3");
	assert_int_equal(r.duration, 1800);
	assert_string_equal(r.ticket, "CHG-1042");
	assert_int_equal(r.start, TU_NOW + 600);
	assert_string_equal(r.source, "10.0.3.0/24");
}

static void test_request_not_object(void **state)
{
	char buf[160];
	grant_request_t r;
	assert_string_equal(grant_request_parse(NULL, &bounds, &r, buf, sizeof buf),
			    "the body must be a JSON object");
	bad(tu_json("[]"), "the body must be a JSON object");
	bad(json_string("x"), "the body must be a JSON object");
	bad(json_null(), "the body must be a JSON object");
}

static void test_request_unknown_member(void **state)
{
	bad(with("grant_id", json_string("g-x")),
	    "unknown member \"grant_id\" (send identity, scope, duration, reason, ticket, start, source");
	bad(with("Identity", json_string("x")), "unknown member \"Identity\"");
	bad(with("", json_true()), "unknown member \"\"");
	/* checked before anything else */
	bad(tu_json("{\"x\": 1}"), "unknown member \"x\"");
	/* a long name is cut at 64 bytes and the message still fits 160 */
	char *key = rep('k', 100), *k64 = rep('k', 64);
	char want[100];
	snprintf(want, sizeof want, "\"%s\" (send", k64);
	bad(with(key, json_true()), want);
	free(key);
	free(k64);
}

static void test_request_identity(void **state)
{
	const char *msg = "\"identity\" must be an identity id";
	grant_request_t r;
	bad(with("identity", NULL), msg);
	bad(with("identity", json_integer(7)), msg);
	bad(with("identity", json_null()), msg);
	bad(with("identity", json_string("")), msg);
	bad(with("identity", json_string("deploy bot")), msg);
	bad(with("identity", json_string("a/b")), msg);
	bad(with("identity", json_string("b\xc3\xb6t")), msg);
	bad(with("identity", jrep('a', TG_MAX_ID_LEN + 1)), msg);
	ok(with("identity", jrep('a', TG_MAX_ID_LEN)), &r);
	assert_int_equal(strlen(r.identity), TG_MAX_ID_LEN);
	ok(with("identity", json_string("A.b_c-9")), &r);
	assert_string_equal(r.identity, "A.b_c-9");
}

/* A scope of n distinct tokens of 256 bytes each ("a@B:NN" + x's). */
static json_t *long_scope(size_t n)
{
	size_t len = n * (TG_MAX_SCOPE_TOKEN_LEN + 1);
	char *s = malloc(len);
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		char *t = s + i * (TG_MAX_SCOPE_TOKEN_LEN + 1);
		snprintf(t, 9, "a@B:%04u", (unsigned)(i % 10000));
		memset(t + 8, 'x', TG_MAX_SCOPE_TOKEN_LEN - 8);
		t[TG_MAX_SCOPE_TOKEN_LEN] = i + 1 < n ? ' ' : '\0';
	}
	json_t *j = json_string(s);
	free(s);
	assert_non_null(j);
	return j;
}

static void test_request_scope(void **state)
{
	grant_request_t r;
	bad(with("scope", NULL), "\"scope\" must be");
	bad(with("scope", json_integer(1)), "\"scope\" must be");
	bad(with("scope", tu_json("[\"a@B:c\"]")), "\"scope\" must be");
	bad(with("scope", json_string("")), "\"scope\" must be");
	bad(with("scope", json_string("orders.write")), "\"scope\" must be");
	bad(with("scope", json_string("orders.write@Api")), "\"scope\" must be");
	bad(with("scope", json_string("orders.write@Api:")), "\"scope\" must be");
	bad(with("scope", json_string("a@B:c  d@E:f")), "\"scope\" must be");
	bad(with("scope", json_string("a@B:c ")), "\"scope\" must be");
	bad(with("scope", json_string(" a@B:c")), "\"scope\" must be");
	bad(with("scope", json_string("a@B:\"c\"")), "\"scope\" must be");
	bad(with("scope", long_scope(TG_MAX_SCOPE_TOKENS + 1)), "\"scope\" must be");
	/* the longest scope there is: 32 tokens of 256 bytes */
	ok(with("scope", long_scope(TG_MAX_SCOPE_TOKENS)), &r);
	assert_int_equal(strlen(r.scope), TG_MAX_SCOPE_TOKENS * (TG_MAX_SCOPE_TOKEN_LEN + 1) - 1);
	ok(with("scope", json_string("a@B:c d@E:f")), &r);
	assert_string_equal(r.scope, "a@B:c d@E:f");
}

static void test_request_duration(void **state)
{
	const char *form = "\"duration\" must be seconds or a string like \"30m\" or \"1h30m\" (units h, m, s)";
	const char *range = "\"duration\" must be 60 to 28800 seconds (grant_max_duration)";
	grant_request_t r;
	bad(with("duration", NULL), form);
	bad(with("duration", json_true()), form);
	bad(with("duration", json_null()), form);
	bad(with("duration", json_real(1800.0)), form);
	bad(with("duration", json_string("1x")), form);
	bad(with("duration", json_string("")), form);
	bad(with("duration", json_string("99999999999999999999h")), form);
	bad(with("duration", json_integer(59)), range);
	bad(with("duration", json_string("59")), range);
	bad(with("duration", json_string("59s")), range);
	bad(with("duration", json_integer(0)), range);
	bad(with("duration", json_integer(-60)), range);
	bad(with("duration", json_integer(INT64_MIN)), range);
	bad(with("duration", json_integer(INT64_MAX)), range);
	bad(with("duration", json_integer(TG_DEFAULT_GRANT_MAX_DURATION + 1)), range);
	bad(with("duration", json_string("8h1s")), range);
	ok(with("duration", json_integer(60)), &r);
	assert_int_equal(r.duration, 60);
	ok(with("duration", json_string("1m")), &r);
	assert_int_equal(r.duration, 60);
	ok(with("duration", json_integer(TG_DEFAULT_GRANT_MAX_DURATION)), &r);
	assert_int_equal(r.duration, TG_DEFAULT_GRANT_MAX_DURATION);
	ok(with("duration", json_string("8h")), &r);
	assert_int_equal(r.duration, 8 * 3600);
	ok(with("duration", json_string("1h30m")), &r);
	assert_int_equal(r.duration, 5400);
	/* the configured maximum, named in the message */
	const grant_bounds_t hour = {TU_NOW, 3600};
	ok_b(with("duration", json_integer(3600)), &hour, &r);
	bad_b(with("duration", json_string("1h1s")), &hour, "\"duration\" must be 60 to 3600 seconds");
}

static void test_request_reason(void **state)
{
	const char *msg = "\"reason\" must be 1..500 bytes of text without control characters";
	grant_request_t r;
	bad(with("reason", NULL), "\"reason\" is required: say what the access is for");
	bad(with("reason", json_integer(5)), msg);
	bad(with("reason", json_null()), msg);
	bad(with("reason", json_string("")), msg);
	bad(with("reason", jrep('r', TG_MAX_GRANT_REASON + 1)), msg);
	bad(with("reason", json_string("two\nlines")), msg);
	bad(with("reason", json_string("a\tb")), msg);
	bad(with("reason", json_string("a\rb")), msg);
	bad(with("reason", json_string("\x1b[31mred")), msg);
	bad(with("reason", json_string("del\x7f")), msg);
	bad(with("reason", json_stringn("ab\0cd", 5)), msg);
	bad(with("reason", json_stringn("abcd\0", 5)), msg);
	bad(with("reason", jrep_e_acute(251)), msg); /* 502 bytes: bytes count, not characters */
	ok(with("reason", json_string("x")), &r);
	assert_string_equal(r.reason, "x");
	ok(with("reason", jrep('r', TG_MAX_GRANT_REASON)), &r);
	assert_int_equal(strlen(r.reason), TG_MAX_GRANT_REASON);
	ok(with("reason", jrep_e_acute(250)), &r);
	assert_int_equal(strlen(r.reason), 500);
	ok(with("reason", json_string("fix \"it\" ~ now")), &r);
	assert_string_equal(r.reason, "fix \"it\" ~ now");
}

static void test_request_ticket(void **state)
{
	const char *msg = "\"ticket\" must be 1..64 printable ASCII characters";
	grant_request_t r;
	bad(with("ticket", json_integer(1042)), msg);
	bad(with("ticket", json_null()), msg);
	bad(with("ticket", json_string("")), msg);
	bad(with("ticket", jrep('T', TG_MAX_GRANT_TICKET + 1)), msg);
	bad(with("ticket", json_string("CHG-\xc3\xa9")), msg);
	bad(with("ticket", json_string("CHG\t1")), msg);
	bad(with("ticket", json_string("CHG\x7f")), msg);
	bad(with("ticket", json_stringn("CHG\0-1", 6)), msg);
	ok(with("ticket", jrep('T', TG_MAX_GRANT_TICKET)), &r);
	assert_int_equal(strlen(r.ticket), TG_MAX_GRANT_TICKET);
	ok(with("ticket", json_string("CHG 1042 ~!")), &r);
	assert_string_equal(r.ticket, "CHG 1042 ~!");
	ok(with("ticket", json_string("x")), &r);
	assert_string_equal(r.ticket, "x");
}

static void test_request_start(void **state)
{
	const char *form = "\"start\" must be Unix seconds or an RFC 3339 time like \"2026-12-06T10:00:00Z\"";
	const char *range = "\"start\" must lie between 60 seconds ago and 30 days ahead";
	const int64_t ahead = 30 * 86400;
	grant_request_t r;
	ok(with("start", json_integer(TU_NOW + 600)), &r);
	assert_int_equal(r.start, TU_NOW + 600);
	ok(with("start", json_integer(TU_NOW)), &r);
	assert_int_equal(r.start, TU_NOW);
	ok(with("start", json_integer(TU_NOW - 60)), &r); /* a little in the past: now */
	assert_int_equal(r.start, TU_NOW);
	ok(with("start", json_integer(TU_NOW - 1)), &r);
	assert_int_equal(r.start, TU_NOW);
	ok(with("start", json_integer(TU_NOW + ahead)), &r);
	assert_int_equal(r.start, TU_NOW + ahead);
	bad(with("start", json_integer(TU_NOW - 61)), range);
	bad(with("start", json_integer(TU_NOW + ahead + 1)), range);
	bad(with("start", json_integer(0)), range);
	bad(with("start", json_integer(INT64_MIN)), range);
	bad(with("start", json_integer(INT64_MAX)), range);
	/* TU_NOW is 2023-11-14T22:13:20Z */
	ok(with("start", json_string("2023-11-14T22:23:20Z")), &r);
	assert_int_equal(r.start, TU_NOW + 600);
	ok(with("start", json_string("2023-11-14T22:12:20Z")), &r);
	assert_int_equal(r.start, TU_NOW);
	ok(with("start", json_string("2023-12-14T22:13:20Z")), &r);
	assert_int_equal(r.start, TU_NOW + ahead);
	bad(with("start", json_string("2023-11-14T22:12:19Z")), range);
	bad(with("start", json_string("2023-12-14T22:13:21Z")), range);
	bad(with("start", json_string("2023-11-14")), form);
	bad(with("start", json_string("2023-11-14 22:23:20Z")), form);
	bad(with("start", json_string("2023-11-31T22:23:20Z")), form);
	bad(with("start", json_string("")), form);
	bad(with("start", json_string("1700000600")), form);
	bad(with("start", jrep('2', 41)), form);
	bad(with("start", json_real(1700000600.0)), form);
	bad(with("start", json_null()), form);
	bad(with("start", json_true()), form);
}

static void test_request_source(void **state)
{
	const char *msg = "\"source\" must be an IPv4 or IPv6 address or CIDR range like 10.0.3.0/24";
	const char *good[] = {"10.0.3.7", "10.0.3.0/24", "0.0.0.0/0", "::1", "2001:db8::/32",
			      "fe80::1", NULL};
	const char *bad_src[] = {"", "10.0.3.0/33", "300.1.1.1", "10.0.3", "host.example", "::g",
				 "10.0.3.0/", "10.0.3.0/24 ", " 10.0.3.7", "2001:db8::/129", "10.0.3.7,10.0.3.8",
				 "::ffff:10.0.0.1", /* Cedar's ip() refuses an embedded IPv4 address */
				 NULL};
	grant_request_t r;
	for (const char **g = good; *g; g++) {
		ok(with("source", json_string(*g)), &r);
		assert_string_equal(r.source, *g);
	}
	for (const char **b = bad_src; *b; b++)
		bad(with("source", json_string(*b)), msg);
	bad(with("source", json_integer(10)), msg);
	bad(with("source", json_null()), msg);
	bad(with("source", tu_json("[\"10.0.0.1\"]")), msg);
	bad(with("source", json_stringn("10.0.0.1\0", 9)), msg);
	bad(with("source", jrep('1', TG_MAX_GRANT_SOURCE + 1)), msg);
}

/* ---- notes ------------------------------------------------------------------- */

static const char *note(const json_t *doc, const char *member, bool required,
			char out[TG_MAX_GRANT_REASON + 1])
{
	static char buf[160];
	return grant_note_parse(doc, member, required, out, buf, sizeof buf);
}

/* note() on JSON text (NULL: no body), freeing it. */
static const char *note_text(const char *text, const char *member, bool required,
			     char out[TG_MAX_GRANT_REASON + 1])
{
	json_t *doc = text ? tu_json(text) : NULL;
	const char *why = note(doc, member, required, out);
	json_decref(doc);
	return why;
}

static void test_note_optional(void **state)
{
	char out[TG_MAX_GRANT_REASON + 1];
	memset(out, 'z', sizeof out);
	assert_null(note_text(NULL, "comment", false, out));
	assert_string_equal(out, "");
	memset(out, 'z', sizeof out);
	assert_null(note_text("{}", "comment", false, out));
	assert_string_equal(out, "");
	assert_null(note_text("{\"comment\": \"ok\"}", "comment", false, out));
	assert_string_equal(out, "ok");
	assert_null(note_text("{\"reason\": \"done early\"}", "reason", false, out));
	assert_string_equal(out, "done early");
}

static void test_note_required(void **state)
{
	char out[TG_MAX_GRANT_REASON + 1];
	assert_string_equal(note_text(NULL, "reason", true, out), "\"reason\" is required");
	assert_string_equal(note_text("{}", "reason", true, out), "\"reason\" is required");
	assert_string_equal(note_text("{}", "comment", true, out), "\"comment\" is required");
	assert_null(note_text("{\"reason\": \"no\"}", "reason", true, out));
	assert_string_equal(out, "no");
}

static void test_note_refused(void **state)
{
	const char *creason = "\"reason\" must be 1..500 bytes of text without control characters";
	const char *ccomment = "\"comment\" must be 1..500 bytes of text without control characters";
	char out[TG_MAX_GRANT_REASON + 1];
	assert_string_equal(note_text("[]", "reason", false, out), "the body must be a JSON object");
	json_t *doc = json_string("x");
	assert_string_equal(note(doc, "comment", false, out), "the body must be a JSON object");
	json_decref(doc);
	assert_string_equal(note_text("{\"reason\": \"x\"}", "comment", false, out),
			    "unknown member \"reason\"; send only \"comment\"");
	assert_string_equal(note_text("{\"reason\": \"x\", \"comment\": \"y\"}", "reason", true, out),
			    "unknown member \"comment\"; send only \"reason\"");
	assert_string_equal(note_text("{\"reason\": \"\"}", "reason", false, out), creason);
	assert_string_equal(note_text("{\"reason\": null}", "reason", true, out), creason);
	assert_string_equal(note_text("{\"comment\": 5}", "comment", false, out), ccomment);
	assert_string_equal(note_text("{\"comment\": \"a\\nb\"}", "comment", false, out), ccomment);
	assert_string_equal(note_text("{\"comment\": \"a\\u007fb\"}", "comment", false, out), ccomment);
	doc = json_pack("{s:o}", "comment", json_stringn("a\0b", 3));
	assert_string_equal(note(doc, "comment", false, out), ccomment);
	json_decref(doc);
	/* a long member name is cut at 64 bytes */
	char *key = rep('k', 100), *k64 = rep('k', 64), want[160];
	doc = json_pack("{s:s}", key, "x");
	snprintf(want, sizeof want, "unknown member \"%s\"; send only \"reason\"", k64);
	assert_string_equal(note(doc, "reason", false, out), want);
	json_decref(doc);
	free(key);
	free(k64);
}

static void test_note_bounds(void **state)
{
	char out[TG_MAX_GRANT_REASON + 1];
	json_t *doc = json_pack("{s:o}", "reason", jrep('r', TG_MAX_GRANT_REASON));
	assert_null(note(doc, "reason", true, out));
	assert_int_equal(strlen(out), TG_MAX_GRANT_REASON);
	json_decref(doc);
	doc = json_pack("{s:o}", "reason", jrep('r', TG_MAX_GRANT_REASON + 1));
	assert_non_null(note(doc, "reason", true, out));
	json_decref(doc);
	doc = json_pack("{s:o}", "comment", jrep('c', 1));
	assert_null(note(doc, "comment", false, out));
	assert_string_equal(out, "c");
	json_decref(doc);
}

/* ---- ids ----------------------------------------------------------------------- */

static void test_id_format(void **state)
{
	static const struct {
		uint8_t raw[16];
		const char *id;
	} v[] = {
		{{0}, "g-AAAAAAAAAAAAAAAAAAAAAA"},
		{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, "g-AAECAwQFBgcICQoLDA0ODw"},
		{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		 "g-_____________________w"},
		{{0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb},
		 "g-" "----------" "----------" "-" "w"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char id[TG_GRANT_ID_LEN + 1];
		memset(id, '#', sizeof id);
		grant_id_format(v[i].raw, id);
		assert_int_equal(strlen(id), TG_GRANT_ID_LEN);
		assert_string_equal(id, v[i].id);
		assert_true(grant_id_valid(id));
	}
}

static void test_id_valid(void **state)
{
	assert_true(grant_id_valid("g-4kQ0c1Wm8gJbTq3ZxY2a1w")); /* docs/grants.md */
	assert_true(grant_id_valid("g-AAAAAAAAAAAAAAAAAAAAAA"));
	assert_true(grant_id_valid("g-_-_-_-_-_-_-_-_-_-_-_-"));
	const char *bad_ids[] = {
		"", "g-", "g-4kQ0c1Wm8gJbTq3ZxY2a1",   /* 23 */
		"g-4kQ0c1Wm8gJbTq3ZxY2a1wA",           /* 25 */
		"G-4kQ0c1Wm8gJbTq3ZxY2a1w", "h-4kQ0c1Wm8gJbTq3ZxY2a1w", "g_4kQ0c1Wm8gJbTq3ZxY2a1w",
		"gg4kQ0c1Wm8gJbTq3ZxY2a1w", "g-4kQ0c1Wm8gJbTq3ZxY2a1=", "g-4kQ0c1Wm8gJbTq3ZxY2a1+",
		"g-4kQ0c1Wm8gJbTq3ZxY2a1/", "g-4kQ0c1Wm8gJbTq3ZxY2a1 ", "g-4kQ0c1Wm8gJbTq3ZxY2a.w",
		"4kQ0c1Wm8gJbTq3ZxY2a1wAB", NULL};
	for (const char **b = bad_ids; *b; b++)
		if (grant_id_valid(*b))
			fail_msg("accepted \"%s\"", *b);
	assert_false(grant_id_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_effective_pending),
		cmocka_unit_test(test_effective_approved),
		cmocka_unit_test(test_effective_final_states_stay),
		cmocka_unit_test(test_op_refused_matrix),
		cmocka_unit_test(test_op_refused_texts),
		cmocka_unit_test(test_duration_ok),
		cmocka_unit_test(test_duration_refused),
		cmocka_unit_test(test_request_minimal),
		cmocka_unit_test(test_request_full),
		cmocka_unit_test(test_request_not_object),
		cmocka_unit_test(test_request_unknown_member),
		cmocka_unit_test(test_request_identity),
		cmocka_unit_test(test_request_scope),
		cmocka_unit_test(test_request_duration),
		cmocka_unit_test(test_request_reason),
		cmocka_unit_test(test_request_ticket),
		cmocka_unit_test(test_request_start),
		cmocka_unit_test(test_request_source),
		cmocka_unit_test(test_note_optional),
		cmocka_unit_test(test_note_required),
		cmocka_unit_test(test_note_refused),
		cmocka_unit_test(test_note_bounds),
		cmocka_unit_test(test_id_format),
		cmocka_unit_test(test_id_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
