/* test_edge_audit.c - the edge's audit records (src/core/edge_audit.c):
 * what an edge builds always reads back (strings clipped to their bounds
 * and made valid UTF-8 without control characters, policies and details
 * that do not fit dropped, decision from the type); the broker's strict
 * reading of a record and of a batch refuses every other shape, naming
 * the member; the details the chain records. */
#include "test_util.h"
#include "core/edge_audit.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_US (TU_NOW * 1000000 + 123456)
#define T_TEXT "2023-11-14T22:13:20.123456Z"

static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* The spool line for ev at seq, read back; *doc owns what rec points to. */
static void round_trip(const audit_event_t *ev, int64_t seq, json_t **doc, edge_audit_rec_t *rec)
{
	char line[EDGE_AUDIT_MAX_LINE + 32], why[200] = "";
	char *body = edge_audit_body(ev, T_US);
	assert_non_null(body);
	size_t n = edge_audit_line(body, seq, line, sizeof line);
	free(body);
	assert_true(n > 0 && n <= EDGE_AUDIT_MAX_LINE);
	assert_int_equal(line[n - 1], '\n');
	assert_null(memchr(line, '\n', n - 1));
	if (edge_audit_parse_text(line, n - 1, doc, rec, why, sizeof why) != 0)
		fail_msg("does not read back: %s\n%s", why, line);
}

static void test_round_trip(void **state)
{
	(void)state;
	json_t *policies = tu_json("[\"p1\", \"orders-read\"]");
	json_t *details = tu_json("{\"reason\": \"policy\", \"path\": \"/orders/7\", \"n\": [1, {\"a\": null}]}");
	audit_event_t ev = {.type = "authz.allow", .actor = "svc-a", .action = "orders.read", .resource = "Order:7",
			    .decision = "deny" /* the type decides */, .jti = "j-1", .grant = "g-AAAAAAAAAAAAAAAAAAAAAA",
			    .src = "10.0.0.7", .edge = "ignored", .policies = policies, .details = details};
	json_t *doc;
	edge_audit_rec_t rec;
	round_trip(&ev, 42, &doc, &rec);
	assert_int_equal(rec.edge_seq, 42);
	assert_string_equal(rec.time, T_TEXT);
	assert_string_equal(rec.ev.type, "authz.allow");
	assert_string_equal(rec.ev.decision, "allow");
	assert_string_equal(rec.ev.actor, "svc-a");
	assert_string_equal(rec.ev.action, "orders.read");
	assert_string_equal(rec.ev.resource, "Order:7");
	assert_string_equal(rec.ev.jti, "j-1");
	assert_string_equal(rec.ev.grant, "g-AAAAAAAAAAAAAAAAAAAAAA");
	assert_string_equal(rec.ev.src, "10.0.0.7");
	assert_null(rec.ev.edge);
	assert_true(json_equal((json_t *)rec.ev.policies, policies));
	assert_true(json_equal((json_t *)rec.ev.details, details));
	assert_null(json_object_get(doc, "edge"));
	json_decref(doc);
	json_decref(policies);
	json_decref(details);
}

static void test_minimal_deny(void **state)
{
	(void)state;
	audit_event_t ev = {.type = "authz.deny"};
	json_t *doc;
	edge_audit_rec_t rec;
	round_trip(&ev, 1, &doc, &rec);
	assert_string_equal(rec.ev.decision, "deny");
	assert_null(rec.ev.actor);
	assert_null(rec.ev.policies);
	assert_null(rec.ev.details);
	assert_true(json_is_null(json_object_get(doc, "details")));
	json_decref(doc);
}

static void test_only_edge_types(void **state)
{
	(void)state;
	audit_event_t ev = {.type = "token.issued"};
	assert_null(edge_audit_body(&ev, T_US));
	ev.type = NULL;
	assert_null(edge_audit_body(&ev, T_US));
}

static void test_clipped_strings(void **state)
{
	(void)state;
	char *actor = rep('a', 1000), *resource = rep('r', 5000), *src = rep('s', 100);
	/* a 3-byte character across the action's bound, invalid UTF-8 and
	 * control characters */
	char action[EDGE_AUDIT_MAX_ACTION + 8];
	memset(action, 'x', EDGE_AUDIT_MAX_ACTION - 1);
	memcpy(action + EDGE_AUDIT_MAX_ACTION - 1, "\xe2\x82\xac", 4);
	audit_event_t ev = {.type = "authz.deny", .actor = actor, .action = action, .resource = resource, .src = src,
			    .jti = "a\xff\xc0\x80z\n\x7f\ty\xed\xa0\x80", .grant = "\xe2\x82"};
	json_t *doc;
	edge_audit_rec_t rec;
	round_trip(&ev, 7, &doc, &rec);
	assert_int_equal(strlen(rec.ev.actor), TG_MAX_ID_LEN);
	assert_int_equal(strlen(rec.ev.action), EDGE_AUDIT_MAX_ACTION - 1); /* the euro sign does not fit */
	assert_int_equal(strlen(rec.ev.resource), EDGE_AUDIT_MAX_RESOURCE);
	assert_int_equal(strlen(rec.ev.src), EDGE_AUDIT_MAX_SRC);
	assert_string_equal(rec.ev.jti, "a???z???y???");
	assert_string_equal(rec.ev.grant, "??");
	json_decref(doc);
	ev.jti = "caf\xc3\xa9 \xf0\x9f\x98\x80"; /* well-formed: kept */
	round_trip(&ev, 8, &doc, &rec);
	assert_string_equal(rec.ev.jti, ev.jti);
	json_decref(doc);
	free(actor);
	free(resource);
	free(src);
}

/* edge_audit_clip: what a record keeps of a client's text (a User-Agent):
 * well-formed UTF-8 as it is, '?' for the rest and for control
 * characters, cut before the character that would pass the bound. */
static void test_clip(void **state)
{
	(void)state;
	char out[16];
	assert_int_equal(edge_audit_clip("Mozilla/5.0", 15, out), 11);
	assert_string_equal(out, "Mozilla/5.0");
	assert_int_equal(edge_audit_clip("a\tb\xff" "c", 15, out), 5);
	assert_string_equal(out, "a?b?c");
	/* "é" is two bytes: it does not fit in the last byte */
	assert_int_equal(edge_audit_clip("abcd\xc3\xa9", 5, out), 4);
	assert_string_equal(out, "abcd");
	assert_int_equal(edge_audit_clip("abcd\xc3\xa9", 6, out), 6);
	assert_string_equal(out, "abcd\xc3\xa9");
	assert_int_equal(edge_audit_clip("", 5, out), 0);
	assert_string_equal(out, "");
}

static void test_policies_bounded(void **state)
{
	(void)state;
	json_t *p = json_array();
	char *long_id = rep('p', 500);
	json_array_append_new(p, json_integer(3)); /* not an id: left out */
	json_array_append_new(p, json_string(long_id));
	for (int i = 0; i < 40; i++)
		json_array_append_new(p, json_sprintf("p%d", i));
	audit_event_t ev = {.type = "authz.allow", .policies = p};
	json_t *doc;
	edge_audit_rec_t rec;
	round_trip(&ev, 1, &doc, &rec);
	assert_int_equal(json_array_size(rec.ev.policies), EDGE_AUDIT_MAX_POLICIES);
	assert_int_equal(strlen(json_string_value(json_array_get(rec.ev.policies, 0))), EDGE_AUDIT_MAX_POLICY);
	assert_string_equal(json_string_value(json_array_get(rec.ev.policies, 1)), "p0");
	json_decref(doc);
	json_decref(p);
	free(long_id);
}

/* details that cannot be recorded as they are become {"dropped": why}. */
static void assert_details_dropped(const char *details_json, const char *needle)
{
	json_t *d = tu_json(details_json), *doc;
	edge_audit_rec_t rec;
	audit_event_t ev = {.type = "authz.deny", .details = d};
	round_trip(&ev, 1, &doc, &rec);
	const char *why = json_string_value(json_object_get(rec.ev.details, "dropped"));
	assert_int_equal(json_object_size(rec.ev.details), 1);
	tu_assert_why(why, needle);
	json_decref(doc);
	json_decref(d);
}

static void test_details_dropped(void **state)
{
	(void)state;
	char *big = rep('d', EDGE_AUDIT_MAX_DETAILS);
	char *text = malloc(strlen(big) + 32);
	assert_non_null(text);
	sprintf(text, "{\"reason\": \"%s\"}", big);
	assert_details_dropped(text, "too large");
	assert_details_dropped("{\"a\": 1.5}", "real");
	assert_details_dropped("{\"edge_seq\": 1}", "edge_seq");
	assert_details_dropped("{\"edge_time\": \"x\"}", "edge_time");
	assert_details_dropped("{\"a\": {\"b\": {\"c\": {\"d\": {\"e\": {\"f\": 1}}}}}}", "deeply");
	assert_details_dropped("[1]", "object");
	free(big);
	free(text);
	/* four levels inside details are fine */
	json_t *d = tu_json("{\"a\": {\"b\": {\"c\": {\"d\": [1]}}}}"), *doc;
	edge_audit_rec_t rec;
	audit_event_t ev = {.type = "authz.deny", .details = d};
	round_trip(&ev, 1, &doc, &rec);
	assert_true(json_equal((json_t *)rec.ev.details, d));
	json_decref(doc);
	json_decref(d);
}

/* The largest record the builder can make still fits EDGE_AUDIT_MAX_RECORD. */
static void test_worst_case_fits(void **state)
{
	(void)state;
	char *q = rep('"', 5000);
	json_t *p = json_array(), *d = json_object(), *doc;
	for (int i = 0; i < 40; i++)
		json_array_append_new(p, json_string(q));
	char *dv = rep('\\', EDGE_AUDIT_MAX_DETAILS / 2 - 16);
	json_object_set_new(d, "r", json_string(dv));
	audit_event_t ev = {.type = "authz.allow", .actor = q, .action = q, .resource = q, .jti = q, .grant = q,
			    .src = q, .policies = p, .details = d};
	edge_audit_rec_t rec;
	round_trip(&ev, EDGE_AUDIT_MAX_SEQ, &doc, &rec);
	assert_true(json_equal((json_t *)rec.ev.details, d));
	json_decref(doc);
	json_decref(p);
	json_decref(d);
	free(q);
	free(dv);
}

static void test_line(void **state)
{
	(void)state;
	char out[EDGE_AUDIT_MAX_LINE + 32];
	assert_int_equal(edge_audit_line("{\"type\":\"authz.deny\"}", 5, out, sizeof out), 35);
	assert_string_equal(out, "{\"edge_seq\":5,\"type\":\"authz.deny\"}\n");
	assert_int_equal(edge_audit_line("{}", 5, out, sizeof out), 0);
	assert_int_equal(edge_audit_line("[1]", 5, out, sizeof out), 0);
	assert_int_equal(edge_audit_line("{\"type\":\"authz.deny\"}", 5, out, 10), 0);
}

/* ---- strict reading ---- */

static const char good[] = "{\"edge_seq\": 3, \"time\": \"" T_TEXT "\", \"type\": \"authz.deny\", "
			   "\"decision\": \"deny\", \"actor\": \"svc-a\", \"action\": null, \"policies\": [\"p\"], "
			   "\"details\": {\"reason\": \"no token\"}}";

/* Any JSON value the test knows to be valid. */
static json_t *any_json(const char *text)
{
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	assert_non_null(j);
	return j;
}

/* good with member set to value (JSON text; NULL removes it): refused,
 * why naming needle. */
static void assert_refused(const char *member, const char *value, const char *needle)
{
	json_t *rec = tu_json(good);
	edge_audit_rec_t out;
	char why[200] = "";
	tu_with(rec, member, value ? any_json(value) : NULL);
	if (edge_audit_parse(rec, &out, why, sizeof why) == 0)
		fail_msg("accepted %s = %s", member, value ? value : "(absent)");
	tu_assert_why(why, needle);
	json_decref(rec);
}

static void assert_accepted(const char *member, const char *value)
{
	json_t *rec = tu_json(good);
	edge_audit_rec_t out;
	char why[200] = "";
	tu_with(rec, member, value ? any_json(value) : NULL);
	if (edge_audit_parse(rec, &out, why, sizeof why) != 0)
		fail_msg("refused %s = %s: %s", member, value ? value : "(absent)", why);
	json_decref(rec);
}

static void test_parse_good(void **state)
{
	(void)state;
	json_t *rec = tu_json(good);
	edge_audit_rec_t out;
	char why[200] = "";
	assert_int_equal(edge_audit_parse(rec, &out, why, sizeof why), 0);
	assert_int_equal(out.edge_seq, 3);
	assert_string_equal(out.ev.actor, "svc-a");
	assert_null(out.ev.action);
	assert_null(out.ev.resource);
	json_decref(rec);
	for (const char *const *m = (const char *const[]){"actor", "action", "resource", "jti", "grant", "src",
							     "policies", "details", NULL};
	     *m != NULL; m++) {
		assert_accepted(*m, NULL);
		assert_accepted(*m, "null");
	}
	assert_accepted("edge_seq", "4611686018427387904");
	assert_accepted("type", "\"authz.deny\"");
	assert_accepted("policies", "[]");
	assert_accepted("details", "{}");
}

static void test_parse_refusals(void **state)
{
	(void)state;
	char *s;
	assert_refused("extra", "1", "unknown member \"extra\"");
	assert_refused("edge", "\"e-1\"", "unknown member \"edge\"");
	assert_refused("edge_seq", NULL, "edge_seq");
	assert_refused("edge_seq", "0", "edge_seq");
	assert_refused("edge_seq", "-1", "edge_seq");
	assert_refused("edge_seq", "1.0", "edge_seq");
	assert_refused("edge_seq", "\"1\"", "edge_seq");
	assert_refused("edge_seq", "4611686018427387905", "edge_seq");
	assert_refused("time", NULL, "time");
	assert_refused("time", "\"2023-11-14T22:13:20Z\"", "time");
	assert_refused("time", "\"2023-11-14T22:13:20.12345Z\"", "time");
	assert_refused("time", "\"2023-11-14T22:13:20.1234567\"", "time");
	assert_refused("time", "\"2023-11-14T22:13:20,123456Z\"", "time");
	assert_refused("time", "\"2023-11-14T22:13:20.12345xZ\"", "time");
	assert_refused("time", "\"2023-13-14T22:13:20.123456Z\"", "time");
	assert_refused("time", "1700000000", "time");
	assert_refused("type", "\"authz.maybe\"", "type");
	assert_refused("type", "\"token.issued\"", "type");
	assert_refused("type", NULL, "type");
	assert_refused("decision", "\"allow\"", "decision must be \"deny\"");
	assert_refused("decision", NULL, "decision");
	assert_refused("type", "\"authz.allow\"", "decision must be \"allow\"");
	assert_refused("actor", "7", "actor must be a string or null");
	assert_refused("actor", "\"a\\nb\"", "actor must be at most");
	assert_refused("actor", "\"a\\u0000b\"", "actor");
	s = rep('a', TG_MAX_ID_LEN + 1);
	json_t *j = json_string(s);
	char *text = json_dumps(j, JSON_ENCODE_ANY);
	assert_refused("actor", text, "actor must be at most 128 bytes");
	assert_accepted("resource", text); /* 129 bytes is a fine resource */
	free(text);
	json_decref(j);
	free(s);
	assert_refused("policies", "\"p\"", "policies");
	assert_refused("policies", "[1]", "policies[0]");
	assert_refused("policies", "[\"a\", \"b\\u0001\"]", "policies[1]");
	assert_refused("policies", "[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\",\"12\","
				   "\"13\",\"14\",\"15\",\"16\",\"17\"]", "at most 16");
	assert_refused("details", "\"x\"", "details must be an object");
	assert_refused("details", "[]", "details must be an object");
	assert_refused("details", "{\"edge_seq\": 1}", "edge_seq");
	assert_refused("details", "{\"a\": 0.5}", "real");
	assert_refused("details", "{\"a\": [[[[[1]]]]]}", "deeply");
}

static void test_parse_not_object(void **state)
{
	(void)state;
	edge_audit_rec_t out;
	char why[200] = "";
	json_t *a = tu_json("[1]");
	assert_int_equal(edge_audit_parse(a, &out, why, sizeof why), -1);
	tu_assert_why(why, "object");
	json_decref(a);
}

static void test_parse_text(void **state)
{
	(void)state;
	json_t *doc = (json_t *)1;
	edge_audit_rec_t out;
	char why[200] = "";
	assert_int_equal(edge_audit_parse_text(good, strlen(good), &doc, &out, why, sizeof why), 0);
	assert_non_null(doc);
	json_decref(doc);
	assert_int_equal(edge_audit_parse_text(good, strlen(good) - 1, &doc, &out, why, sizeof why), -1);
	assert_null(doc);
	tu_assert_why(why, "not JSON");
	static const char dup[] = "{\"edge_seq\": 3, \"edge_seq\": 4}";
	assert_int_equal(edge_audit_parse_text(dup, strlen(dup), &doc, &out, why, sizeof why), -1);
	char *big = rep(' ', EDGE_AUDIT_MAX_RECORD + 1);
	assert_int_equal(edge_audit_parse_text(big, strlen(big), &doc, &out, why, sizeof why), -1);
	tu_assert_why(why, "longer than");
	free(big);
}

/* {"records": [good with edge_seq first, first+1, ...]} */
static json_t *batch(int64_t first, size_t n)
{
	json_t *recs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(recs, tu_with(tu_json(good), "edge_seq", json_integer(first + (int64_t)i)));
	return json_pack("{s:o}", "records", recs);
}

static void test_batch(void **state)
{
	(void)state;
	edge_audit_rec_t *recs;
	size_t n;
	char why[200] = "";
	json_t *b = batch(10, 3);
	assert_int_equal(edge_audit_batch_parse(b, &recs, &n, why, sizeof why), 0);
	assert_int_equal(n, 3);
	assert_int_equal(recs[0].edge_seq, 10);
	assert_int_equal(recs[2].edge_seq, 12);
	free(recs);
	json_decref(b);
	b = batch(1, 0);
	assert_int_equal(edge_audit_batch_parse(b, &recs, &n, why, sizeof why), 0);
	assert_int_equal(n, 0);
	free(recs);
	json_decref(b);
	b = batch(1, EDGE_AUDIT_MAX_BATCH);
	assert_int_equal(edge_audit_batch_parse(b, &recs, &n, why, sizeof why), 0);
	assert_int_equal(n, EDGE_AUDIT_MAX_BATCH);
	free(recs);
	json_decref(b);
}

static void assert_batch_refused(json_t *b, const char *needle)
{
	edge_audit_rec_t *recs = (edge_audit_rec_t *)1;
	size_t n = 5;
	char why[200] = "";
	assert_int_equal(edge_audit_batch_parse(b, &recs, &n, why, sizeof why), -1);
	assert_null(recs);
	assert_int_equal(n, 0);
	tu_assert_why(why, needle);
	json_decref(b);
}

static void test_batch_refusals(void **state)
{
	(void)state;
	assert_batch_refused(batch(1, EDGE_AUDIT_MAX_BATCH + 1), "at most 1000 records");
	assert_batch_refused(tu_json("{}"), "{\"records\": [...]}");
	assert_batch_refused(tu_json("{\"records\": {}}"), "{\"records\": [...]}");
	assert_batch_refused(tu_json("[]"), "{\"records\": [...]}");
	assert_batch_refused(tu_with(batch(1, 1), "more", json_true()), "nothing else");
	json_t *b = batch(1, 3);
	json_object_set_new(json_array_get(json_object_get(b, "records"), 2), "edge_seq", json_integer(4));
	assert_batch_refused(b, "records[2]: edge_seq must be 3");
	b = batch(5, 2);
	json_object_set_new(json_array_get(json_object_get(b, "records"), 1), "edge_seq", json_integer(5));
	assert_batch_refused(b, "records[1]: edge_seq must be 6");
	b = batch(1, 2);
	json_object_set_new(json_array_get(json_object_get(b, "records"), 1), "type", json_string("x"));
	assert_batch_refused(b, "records[1]: type");
	b = batch(1, 1);
	json_array_append_new(json_object_get(b, "records"), json_string("x"));
	assert_batch_refused(b, "records[1]: a record must be an object");
}

static void test_chain_details(void **state)
{
	(void)state;
	json_t *rec = tu_json(good);
	edge_audit_rec_t out;
	char why[200] = "";
	assert_int_equal(edge_audit_parse(rec, &out, why, sizeof why), 0);
	json_t *d = edge_audit_chain_details(&out);
	json_t *want = tu_json("{\"reason\": \"no token\", \"edge_seq\": 3, \"edge_time\": \"" T_TEXT "\"}");
	assert_true(json_equal(d, want));
	assert_null(json_object_get(json_object_get(rec, "details"), "edge_seq")); /* the sent ones untouched */
	json_decref(d);
	json_decref(want);
	json_decref(rec);
	rec = tu_with(tu_json(good), "details", NULL);
	assert_int_equal(edge_audit_parse(rec, &out, why, sizeof why), 0);
	d = edge_audit_chain_details(&out);
	want = tu_json("{\"edge_seq\": 3, \"edge_time\": \"" T_TEXT "\"}");
	assert_true(json_equal(d, want));
	json_decref(d);
	json_decref(want);
	json_decref(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_minimal_deny),
		cmocka_unit_test(test_only_edge_types),
		cmocka_unit_test(test_clipped_strings),
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_policies_bounded),
		cmocka_unit_test(test_details_dropped),
		cmocka_unit_test(test_worst_case_fits),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_not_object),
		cmocka_unit_test(test_parse_text),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_batch_refusals),
		cmocka_unit_test(test_chain_details),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
