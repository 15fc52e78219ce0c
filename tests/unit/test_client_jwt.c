/* test_client_jwt.c - the client side of workload authentication
 * (src/core/client_jwt.c): the key from PEM and its default kid, client
 * assertions that the broker's own checks (core/client_assertion.c) accept,
 * DPoP proofs that core/dpop.c accepts with and without ath, and a fresh jti
 * for every JWT signed. */
#include "test_util.h"
#include "core/client_assertion.h"
#include "core/client_jwt.h"
#include "core/dpop.h"
#include "core/jws.h"
#include <stdlib.h>
#include <string.h>

#define TOKEN_URL "https://tollgate.example/oauth/token"
#define API_URL "https://orders.example/orders/7"
#define LIFETIME 60
/* RFC 9449 §7.1 example access token and its ath (as in test_dpop.c). */
#define RFC_TOKEN "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
#define RFC_ATH "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"

static tu_key_t rfc_key;
static client_key_t key; /* the RFC 8037 key, loaded from PEM */

static int setup(void **state)
{
	const char *why = NULL;
	if (tu_setup(state) != 0)
		return -1;
	tu_key_rfc8037(&rfc_key);
	char *pem = ed_seed_to_pem(rfc_key.seed);
	int rc = pem != NULL ? client_key_from_pem(pem, strlen(pem), &key, &why) : -1;
	free(pem);
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	client_key_free(&key);
	return 0;
}

/* A claim (or header member, part 0) of a compact JWS as a new string. */
static char *jws_member(const char *compact, int part, const char *name)
{
	jws_t j;
	assert_int_equal(jws_parse(compact, strlen(compact), &j), JWS_OK);
	const char *v = json_string_value(json_object_get(part == 0 ? j.header : j.payload, name));
	char *out = v != NULL ? strdup(v) : NULL;
	jws_free(&j);
	return out;
}

/* ---- the key ------------------------------------------------------------ */

static void test_key_from_pem(void **state)
{
	(void)state;
	assert_memory_equal(key.pk, rfc_key.pk, ED25519_PK_LEN);
	assert_memory_equal(key.sk, rfc_key.sk, ED25519_SK_LEN);
	assert_string_equal(key.kid, TU_RFC8037_JKT);
}

static void test_key_bad_pem(void **state)
{
	client_key_t k;
	const char *why = NULL;
	static const char pub[] = "-----BEGIN PUBLIC KEY-----\n"
				  "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
				  "-----END PUBLIC KEY-----\n";
	static const uint8_t zero[sizeof k] = {0};
	(void)state;
	assert_int_equal(client_key_from_pem("not a key", 9, &k, &why), -1);
	assert_non_null(why);
	assert_memory_equal(&k, zero, sizeof k);
	why = NULL;
	assert_int_equal(client_key_from_pem(pub, strlen(pub), &k, &why), -1);
	assert_non_null(why);
}

static void test_key_free_zeroes(void **state)
{
	client_key_t k = key;
	static const uint8_t zero[sizeof k] = {0};
	(void)state;
	client_key_free(&k);
	assert_memory_equal(&k, zero, sizeof k);
}

/* ---- client assertions ---------------------------------------------------- */

/* Parses s as the broker does, expects success and a signature by key;
 * returns the header kid (malloc'd). Frees s. */
static char *assertion_accepted(char *s, const char *client_id)
{
	static const char *const auds[] = {TOKEN_URL};
	assertion_opts_t o = {.audiences = auds, .n_audiences = 1, .now = TU_NOW, .leeway = 0,
			      .max_lifetime = LIFETIME};
	assertion_t a;
	const char *why = NULL;
	assert_non_null(s);
	if (assertion_parse(s, strlen(s), client_id, &o, &a, &why) != 0)
		fail_msg("assertion refused: %s", why);
	assert_int_equal(assertion_verify(&a, rfc_key.pk), 0);
	assert_string_equal(a.client_id, client_id);
	assert_int_equal(a.exp, TU_NOW + LIFETIME);
	char *kid = a.kid != NULL ? strdup(a.kid) : NULL;
	assertion_free(&a);
	free(s);
	return kid;
}

static void test_assertion_default_kid(void **state)
{
	(void)state;
	char *kid = assertion_accepted(
	    client_assertion_sign(&key, "svc-a", TOKEN_URL, NULL, TU_NOW, LIFETIME), "svc-a");
	assert_string_equal(kid, TU_RFC8037_JKT);
	free(kid);
}

static void test_assertion_named_kid(void **state)
{
	(void)state;
	char *kid = assertion_accepted(
	    client_assertion_sign(&key, "svc-a", TOKEN_URL, "key-1", TU_NOW, LIFETIME), "svc-a");
	assert_string_equal(kid, "key-1");
	free(kid);
}

static void test_assertion_claims(void **state)
{
	(void)state;
	char *s = client_assertion_sign(&key, "svc-a", TOKEN_URL, NULL, TU_NOW, LIFETIME);
	jws_t j;
	assert_int_equal(jws_parse(s, strlen(s), &j), JWS_OK);
	assert_string_equal(json_string_value(json_object_get(j.payload, "iss")), "svc-a");
	assert_string_equal(json_string_value(json_object_get(j.payload, "sub")), "svc-a");
	assert_string_equal(json_string_value(json_object_get(j.payload, "aud")), TOKEN_URL);
	assert_int_equal(json_integer_value(json_object_get(j.payload, "iat")), TU_NOW);
	assert_string_equal(json_string_value(json_object_get(j.header, "typ")), "JWT");
	jws_free(&j);
	free(s);
}

static void test_assertion_bad_input(void **state)
{
	(void)state;
	assert_null(client_assertion_sign(&key, NULL, TOKEN_URL, NULL, TU_NOW, LIFETIME));
	assert_null(client_assertion_sign(&key, "svc-a", NULL, NULL, TU_NOW, LIFETIME));
}

static void test_assertion_jti_fresh(void **state)
{
	(void)state;
	char *a = client_assertion_sign(&key, "svc-a", TOKEN_URL, NULL, TU_NOW, LIFETIME);
	char *b = client_assertion_sign(&key, "svc-a", TOKEN_URL, NULL, TU_NOW, LIFETIME);
	char *ja = jws_member(a, 1, "jti"), *jb = jws_member(b, 1, "jti");
	assert_non_null(ja);
	assert_non_null(jb);
	assert_int_equal(strlen(ja), 22);
	assert_string_not_equal(ja, jb);
	free(ja);
	free(jb);
	free(a);
	free(b);
}

/* ---- DPoP proofs ---------------------------------------------------------- */

static dpop_opts_t dpop_opts(const char *method, const char *url, const char *access_token)
{
	dpop_opts_t o = {.method = method, .url = url, .now = TU_NOW, .leeway = 5, .max_age = 60,
			 .access_token = access_token};
	return o;
}

/* Checks (and frees) proof under o; returns dpop_check's why (NULL: accepted),
 * and on success expects the proof key's thumbprint. */
static const char *proof_why(char *proof, const dpop_opts_t *o)
{
	dpop_proof_t out;
	const char *why = NULL;
	assert_non_null(proof);
	if (dpop_check(proof, strlen(proof), o, &out, &why) == 0)
		assert_string_equal(out.jkt, TU_RFC8037_JKT);
	free(proof);
	return why;
}

static void test_proof_for_token_request(void **state)
{
	(void)state;
	dpop_opts_t o = dpop_opts("POST", TOKEN_URL, NULL);
	assert_null(proof_why(dpop_proof_sign(&key, "POST", TOKEN_URL, NULL, TU_NOW), &o));
	char *p = dpop_proof_sign(&key, "POST", TOKEN_URL, NULL, TU_NOW);
	char *ath = jws_member(p, 1, "ath");
	assert_null(ath);
	free(p);
}

static void test_proof_htm_is_the_callers(void **state)
{
	(void)state;
	dpop_opts_t get = dpop_opts("GET", API_URL, NULL);
	assert_null(proof_why(dpop_proof_sign(&key, "GET", API_URL, NULL, TU_NOW), &get));
	tu_assert_why(proof_why(dpop_proof_sign(&key, "POST", API_URL, NULL, TU_NOW), &get), "htm");
}

static void test_proof_with_ath(void **state)
{
	(void)state;
	dpop_opts_t o = dpop_opts("GET", API_URL, RFC_TOKEN);
	assert_null(proof_why(dpop_proof_sign(&key, "GET", API_URL, RFC_TOKEN, TU_NOW), &o));
	char *p = dpop_proof_sign(&key, "GET", API_URL, RFC_TOKEN, TU_NOW);
	char *ath = jws_member(p, 1, "ath");
	assert_string_equal(ath, RFC_ATH);
	free(ath);
	free(p);
}

static void test_proof_ath_mismatch(void **state)
{
	(void)state;
	dpop_opts_t o = dpop_opts("GET", API_URL, RFC_TOKEN);
	tu_assert_why(proof_why(dpop_proof_sign(&key, "GET", API_URL, "another.token.x", TU_NOW), &o),
		      "ath does not match");
	tu_assert_why(proof_why(dpop_proof_sign(&key, "GET", API_URL, NULL, TU_NOW), &o),
		      "ath does not match");
}

static void test_proof_header(void **state)
{
	(void)state;
	char *p = dpop_proof_sign(&key, "POST", TOKEN_URL, NULL, TU_NOW);
	jws_t j;
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	assert_int_equal(jws_parse(p, strlen(p), &j), JWS_OK);
	assert_string_equal(json_string_value(json_object_get(j.header, "typ")), "dpop+jwt");
	/* ed_pk_from_jwk refuses a jwk that carries the private "d". */
	assert_int_equal(ed_pk_from_jwk(json_object_get(j.header, "jwk"), pk, &why), 0);
	assert_memory_equal(pk, rfc_key.pk, ED25519_PK_LEN);
	assert_int_equal(json_integer_value(json_object_get(j.payload, "iat")), TU_NOW);
	jws_free(&j);
	free(p);
}

static void test_proof_bad_input(void **state)
{
	(void)state;
	assert_null(dpop_proof_sign(&key, NULL, TOKEN_URL, NULL, TU_NOW));
	assert_null(dpop_proof_sign(&key, "POST", NULL, NULL, TU_NOW));
}

static void test_proof_jti_fresh(void **state)
{
	(void)state;
	char *a = dpop_proof_sign(&key, "POST", TOKEN_URL, NULL, TU_NOW);
	char *b = dpop_proof_sign(&key, "POST", TOKEN_URL, NULL, TU_NOW);
	char *ja = jws_member(a, 1, "jti"), *jb = jws_member(b, 1, "jti");
	assert_non_null(ja);
	assert_non_null(jb);
	assert_string_not_equal(ja, jb);
	free(ja);
	free(jb);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_from_pem),
		cmocka_unit_test(test_key_bad_pem),
		cmocka_unit_test(test_key_free_zeroes),
		cmocka_unit_test(test_assertion_default_kid),
		cmocka_unit_test(test_assertion_named_kid),
		cmocka_unit_test(test_assertion_claims),
		cmocka_unit_test(test_assertion_bad_input),
		cmocka_unit_test(test_assertion_jti_fresh),
		cmocka_unit_test(test_proof_for_token_request),
		cmocka_unit_test(test_proof_htm_is_the_callers),
		cmocka_unit_test(test_proof_with_ath),
		cmocka_unit_test(test_proof_ath_mismatch),
		cmocka_unit_test(test_proof_header),
		cmocka_unit_test(test_proof_bad_input),
		cmocka_unit_test(test_proof_jti_fresh),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
