/* test_client_assertion.c - RFC 7523 private_key_jwt assertions
 * (src/core/client_assertion.c): iss == sub == client_id, aud, exp present
 * and not too far ahead, jti, kid shape, and the signature stage. */
#include "test_util.h"
#include "core/client_assertion.h"
#include "core/limits.h"
#include <stdlib.h>
#include <string.h>

#define TOKEN_URL "https://tollgate.example/oauth/token"
#define ISSUER "https://tollgate.example"
#define MAX_LIFE 300
#define LEEWAY 30

static tu_key_t client_key, other_key;

static int setup(void **state)
{
	if (tu_setup(state) != 0)
		return -1;
	tu_key_random(&client_key);
	tu_key_random(&other_key);
	return 0;
}

static json_t *ca_header(void)
{
	return tu_json("{\"alg\":\"EdDSA\",\"kid\":\"key-1\"}");
}

static json_t *ca_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", "svc-a", "sub", "svc-a", "aud",
			 TOKEN_URL, "jti", "a-1", "iat", (json_int_t)TU_NOW, "exp",
			 (json_int_t)(TU_NOW + 60));
}

static char *assertion_claim(const char *key, json_t *value)
{
	return tu_sign(ca_header(), tu_with(ca_claims(), key, value), client_key.sk);
}

static int parse(const char *s, const char *client_id, assertion_t *a, const char **why)
{
	static const char *const auds[] = {TOKEN_URL, ISSUER};
	assertion_opts_t o = {.audiences = auds, .n_audiences = 2, .now = TU_NOW,
			      .leeway = LEEWAY, .max_lifetime = MAX_LIFE};
	return assertion_parse(s, strlen(s), client_id, &o, a, why);
}

/* Parses (and frees) s; expects success and a signature by client_key. */
static void assertion_ok(char *s, const char *client_id)
{
	assertion_t a;
	const char *why = NULL;
	if (parse(s, client_id, &a, &why) != 0)
		fail_msg("assertion refused: %s", why);
	assert_int_equal(assertion_verify(&a, client_key.pk), 0);
	assertion_free(&a);
	free(s);
}

/* Parses (and frees) s; expects a refusal mentioning needle. */
static void assertion_bad(char *s, const char *client_id, const char *needle)
{
	assertion_t a;
	const char *why = NULL;
	assert_int_equal(parse(s, client_id, &a, &why), -1);
	tu_assert_why(why, needle);
	assert_null(a.jws.header);
	assert_null(a.client_id);
	free(s);
}

static void test_valid_assertion(void **state)
{
	assertion_t a;
	const char *why = NULL;
	char *s = tu_sign(ca_header(), ca_claims(), client_key.sk);
	assert_int_equal(parse(s, "svc-a", &a, &why), 0);
	assert_string_equal(a.client_id, "svc-a");
	assert_string_equal(a.jti, "a-1");
	assert_string_equal(a.kid, "key-1");
	assert_int_equal(a.exp, TU_NOW + 60);
	assert_int_equal(assertion_verify(&a, client_key.pk), 0);
	assert_int_equal(assertion_verify(&a, other_key.pk), -1);
	assertion_free(&a);
	assert_null(a.jws.header);
	free(s);
}

static void test_client_id_param_optional(void **state)
{
	assertion_ok(tu_sign(ca_header(), ca_claims(), client_key.sk), NULL);
}

static void test_client_id_mismatch(void **state)
{
	char *s = tu_sign(ca_header(), ca_claims(), client_key.sk);
	assertion_bad(strdup(s), "svc-b", "client_id");
	assertion_bad(strdup(s), "svc-", "client_id");
	assertion_bad(strdup(s), "", "client_id");
	free(s);
}

static void test_iss_must_equal_sub(void **state)
{
	assertion_bad(assertion_claim("sub", json_string("svc-b")), NULL, "iss and sub");
	assertion_bad(assertion_claim("iss", json_string("svc-b")), NULL, "iss and sub");
	assertion_bad(assertion_claim("iss", NULL), NULL, "iss and sub");
	assertion_bad(assertion_claim("sub", NULL), NULL, "iss and sub");
	assertion_bad(assertion_claim("sub", json_integer(1)), NULL, "iss and sub");
}

static void test_audiences(void **state)
{
	assertion_ok(assertion_claim("aud", json_string(ISSUER)), NULL);
	assertion_ok(assertion_claim("aud", tu_json("[\"x\",\"" TOKEN_URL "\"]")), NULL);
	assertion_bad(assertion_claim("aud", json_string("https://evil.example/oauth/token")),
		      NULL, "aud");
	assertion_bad(assertion_claim("aud", json_string(TOKEN_URL "/")), NULL, "aud");
	assertion_bad(assertion_claim("aud", tu_json("[\"x\",\"y\"]")), NULL, "aud");
	assertion_bad(assertion_claim("aud", NULL), NULL, "aud");
}

static void test_exp_required(void **state)
{
	assertion_bad(assertion_claim("exp", NULL), NULL, "exp");
	assertion_bad(assertion_claim("exp", json_string("1700000060")), NULL, "exp");
}

static void test_expired(void **state)
{
	assertion_ok(assertion_claim("exp", json_integer(TU_NOW - LEEWAY + 1)), NULL);
	assertion_bad(assertion_claim("exp", json_integer(TU_NOW - LEEWAY)), NULL, "expired");
}

static void test_exp_too_far(void **state)
{
	int64_t limit = TU_NOW + MAX_LIFE + LEEWAY;
	assertion_ok(assertion_claim("exp", json_integer(limit)), NULL);
	assertion_bad(assertion_claim("exp", json_integer(limit + 1)), NULL, "too long");
	assertion_bad(assertion_claim("exp", json_integer(TU_NOW + 86400 * 365)), NULL, "too long");
}

static void test_nbf_and_iat_in_future(void **state)
{
	assertion_bad(assertion_claim("nbf", json_integer(TU_NOW + LEEWAY + 1)), NULL, "nbf");
	assertion_bad(assertion_claim("iat", json_integer(TU_NOW + LEEWAY + 1)), NULL, "iat");
}

static void test_jti_required(void **state)
{
	char jti[TG_MAX_JTI_LEN + 2];
	memset(jti, 'j', sizeof jti - 1);
	jti[sizeof jti - 1] = '\0';
	assertion_bad(assertion_claim("jti", NULL), NULL, "jti");
	assertion_bad(assertion_claim("jti", json_string("")), NULL, "jti");
	assertion_bad(assertion_claim("jti", json_integer(5)), NULL, "jti");
	assertion_bad(assertion_claim("jti", json_string(jti)), NULL, "jti");
}

static void test_kid_optional_but_string(void **state)
{
	assertion_t a;
	const char *why = NULL;
	char *s = tu_sign(tu_json("{\"alg\":\"EdDSA\"}"), ca_claims(), client_key.sk);
	assert_int_equal(parse(s, NULL, &a, &why), 0);
	assert_null(a.kid);
	assertion_free(&a);
	free(s);
	assertion_bad(tu_sign(tu_json("{\"alg\":\"EdDSA\",\"kid\":7}"), ca_claims(), client_key.sk),
		      NULL, "kid");
	assertion_bad(tu_sign(tu_json("{\"alg\":\"EdDSA\",\"kid\":\"\"}"), ca_claims(),
			      client_key.sk),
		      NULL, "kid");
}

static void test_alg_and_crit(void **state)
{
	assertion_ok(tu_sign(tu_json("{\"alg\":\"EdDSA\"}"), ca_claims(), client_key.sk), NULL);
	assertion_ok(tu_sign(tu_json("{\"alg\":\"Ed25519\"}"), ca_claims(), client_key.sk), NULL);
	assertion_bad(tu_sign(tu_json("{\"alg\":\"ES256\"}"), ca_claims(), client_key.sk), NULL,
		      "alg");
	assertion_bad(tu_sign(tu_json("{\"alg\":\"ed25519\"}"), ca_claims(), client_key.sk), NULL,
		      "alg");
	assertion_bad(tu_sign(tu_json("{\"alg\":\"EdDSA \"}"), ca_claims(), client_key.sk), NULL,
		      "alg");
	assertion_bad(tu_sign(tu_json("{\"alg\":\"none\"}"), ca_claims(), client_key.sk), NULL,
		      "alg");
	assertion_bad(tu_sign(tu_json("{\"alg\":\"HS256\"}"), ca_claims(), client_key.sk), NULL,
		      "alg");
	assertion_bad(tu_sign(tu_json("{\"alg\":\"EdDSA\",\"crit\":[\"x\"],\"x\":1}"), ca_claims(),
			      client_key.sk),
		      NULL, "crit");
}

static void test_signature_stage(void **state)
{
	assertion_t a;
	const char *why = NULL;
	char *by_other = tu_sign(ca_header(), ca_claims(), other_key.sk);
	char *flipped = tu_flip_sig_bit(by_other);
	assert_int_equal(parse(by_other, "svc-a", &a, &why), 0);
	assert_int_equal(assertion_verify(&a, client_key.pk), -1);
	assertion_free(&a);
	assert_int_equal(parse(flipped, "svc-a", &a, &why), 0);
	assert_int_equal(assertion_verify(&a, other_key.pk), -1);
	assertion_free(&a);
	free(by_other);
	free(flipped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_assertion),
		cmocka_unit_test(test_client_id_param_optional),
		cmocka_unit_test(test_client_id_mismatch),
		cmocka_unit_test(test_iss_must_equal_sub),
		cmocka_unit_test(test_audiences),
		cmocka_unit_test(test_exp_required),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_exp_too_far),
		cmocka_unit_test(test_nbf_and_iat_in_future),
		cmocka_unit_test(test_jti_required),
		cmocka_unit_test(test_kid_optional_but_string),
		cmocka_unit_test(test_alg_and_crit),
		cmocka_unit_test(test_signature_stage),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
