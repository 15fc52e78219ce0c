/* test_claims.c - the registered-claim checks of src/core/claims.c:
 * NumericDate parsing, bounded string claims, aud (string and array forms)
 * and exp/nbf/iat with and without leeway, at the exact boundaries. */
#include "test_util.h"
#include "core/claims.h"
#include <stdio.h>
#include <string.h>

static const char *times(const char *payload_json, int64_t leeway, bool req_exp, bool req_iat)
{
	/* The reasons are string literals, so they outlive the payload. */
	json_t *p = tu_json(payload_json);
	claim_times_t t = {.now = TU_NOW, .leeway = leeway, .require_exp = req_exp,
			   .require_iat = req_iat};
	const char *why = claim_check_times(p, &t);
	json_decref(p);
	return why;
}

/* {"<name>": now + delta} */
static const char *one_time(const char *name, int64_t delta, int64_t leeway)
{
	char buf[96];
	snprintf(buf, sizeof buf, "{\"%s\":%lld}", name, (long long)(TU_NOW + delta));
	return times(buf, leeway, false, false);
}

static bool aud(const char *payload_json)
{
	static const char *const accepted[] = {"https://a.example", NULL, "tollgate"};
	json_t *p = tu_json(payload_json);
	bool ok = claim_aud_matches(p, accepted, 3);
	json_decref(p);
	return ok;
}

static void test_claim_time(void **state)
{
	json_t *p = tu_json("{\"a\":5,\"b\":\"5\",\"c\":5.0,\"d\":null,\"e\":-7}");
	int64_t v = 0;
	assert_true(claim_time(p, "a", &v));
	assert_int_equal(v, 5);
	assert_false(claim_time(p, "b", &v));
	assert_false(claim_time(p, "c", &v));
	assert_false(claim_time(p, "d", &v));
	assert_false(claim_time(p, "zz", &v));
	assert_true(claim_time(p, "e", &v));
	assert_int_equal(v, -7);
	json_decref(p);
}

static void test_claim_str(void **state)
{
	json_t *p = tu_json("{\"a\":\"abc\",\"e\":\"\",\"n\":1,\"o\":{}}");
	assert_string_equal(claim_str(p, "a", 3), "abc");
	assert_null(claim_str(p, "a", 2));
	assert_null(claim_str(p, "e", 10));
	assert_null(claim_str(p, "n", 10));
	assert_null(claim_str(p, "o", 10));
	assert_null(claim_str(p, "missing", 10));
	json_decref(p);
}

static void test_claim_str_rejects_embedded_nul(void **state)
{
	json_t *p = json_object();
	json_object_set_new(p, "s", json_stringn("ab\0cd", 5));
	assert_null(claim_str(p, "s", 10));
	json_decref(p);
}

static void test_aud_string(void **state)
{
	assert_true(aud("{\"aud\":\"tollgate\"}"));
	assert_true(aud("{\"aud\":\"https://a.example\"}"));
	assert_false(aud("{\"aud\":\"other\"}"));
	assert_false(aud("{\"aud\":\"tollgate \"}"));
	assert_false(aud("{\"aud\":\"Tollgate\"}"));
	assert_false(aud("{\"aud\":\"\"}"));
}

static void test_aud_array(void **state)
{
	assert_true(aud("{\"aud\":[\"x\",\"tollgate\"]}"));
	assert_true(aud("{\"aud\":[1,null,\"tollgate\"]}"));
	assert_false(aud("{\"aud\":[\"x\",\"y\"]}"));
	assert_false(aud("{\"aud\":[]}"));
	assert_false(aud("{\"aud\":[[\"tollgate\"]]}"));
}

static void test_aud_array_bounded(void **state)
{
	/* 16 entries are searched; a 17-entry array is refused outright. */
	char buf[512] = "{\"aud\":[";
	for (int i = 0; i < 15; i++)
		strcat(buf, "\"x\",");
	strcat(buf, "\"tollgate\"]}");
	assert_true(aud(buf));
	buf[8] = '\0';
	for (int i = 0; i < 16; i++)
		strcat(buf, "\"x\",");
	strcat(buf, "\"tollgate\"]}");
	assert_false(aud(buf));
}

static void test_aud_missing_or_wrong_type(void **state)
{
	assert_false(aud("{}"));
	assert_false(aud("{\"aud\":null}"));
	assert_false(aud("{\"aud\":1}"));
	assert_false(aud("{\"aud\":{\"tollgate\":true}}"));
}

static void test_exp_boundaries(void **state)
{
	assert_null(one_time("exp", 1, 0));
	tu_assert_why(one_time("exp", 0, 0), "expired");
	tu_assert_why(one_time("exp", -1, 0), "expired");
	assert_null(one_time("exp", -29, 30));
	tu_assert_why(one_time("exp", -30, 30), "expired");
	tu_assert_why(one_time("exp", -3600, 30), "expired");
}

static void test_nbf_boundaries(void **state)
{
	assert_null(one_time("nbf", 0, 0));
	tu_assert_why(one_time("nbf", 1, 0), "nbf");
	assert_null(one_time("nbf", 30, 30));
	tu_assert_why(one_time("nbf", 31, 30), "nbf");
}

static void test_iat_boundaries(void **state)
{
	assert_null(one_time("iat", 0, 0));
	assert_null(one_time("iat", -100000, 0));
	tu_assert_why(one_time("iat", 1, 0), "iat");
	assert_null(one_time("iat", 30, 30));
	tu_assert_why(one_time("iat", 31, 30), "iat");
}

static void test_required_times(void **state)
{
	tu_assert_why(times("{}", 0, true, false), "exp is required");
	tu_assert_why(times("{}", 0, false, true), "iat is required");
	assert_null(times("{}", 0, false, false));
	assert_null(times("{\"exp\":1700000100,\"iat\":1700000000}", 0, true, true));
}

static void test_times_must_be_integers(void **state)
{
	tu_assert_why(times("{\"exp\":\"1800000000\"}", 0, false, false), "exp");
	tu_assert_why(times("{\"exp\":1800000000.5}", 0, false, false), "exp");
	tu_assert_why(times("{\"exp\":null}", 0, true, false), "exp");
	tu_assert_why(times("{\"nbf\":true}", 0, false, false), "nbf");
	tu_assert_why(times("{\"iat\":[1]}", 0, false, false), "iat");
}

static void test_extreme_times(void **state)
{
	tu_assert_why(times("{\"exp\":-9223372036854775808}", 30, false, false), "expired");
	assert_null(times("{\"exp\":9223372036854775807}", 30, false, false));
	tu_assert_why(times("{\"iat\":9223372036854775807}", 30, false, false), "iat");
	tu_assert_why(times("{\"nbf\":9223372036854775807}", 30, false, false), "nbf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_time),
		cmocka_unit_test(test_claim_str),
		cmocka_unit_test(test_claim_str_rejects_embedded_nul),
		cmocka_unit_test(test_aud_string),
		cmocka_unit_test(test_aud_array),
		cmocka_unit_test(test_aud_array_bounded),
		cmocka_unit_test(test_aud_missing_or_wrong_type),
		cmocka_unit_test(test_exp_boundaries),
		cmocka_unit_test(test_nbf_boundaries),
		cmocka_unit_test(test_iat_boundaries),
		cmocka_unit_test(test_required_times),
		cmocka_unit_test(test_times_must_be_integers),
		cmocka_unit_test(test_extreme_times),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
