/* test_dpop.c - RFC 9449 DPoP proofs (src/core/dpop.c): typ, the embedded
 * public jwk (no "d", Ed25519 only, must verify the proof), htm/htu (htu
 * compared without query), iat freshness in both directions, jti, ath, and
 * the RFC 7638 thumbprint that binds tokens to the proof key. */
#include "test_util.h"
#include "core/dpop.h"
#include <stdlib.h>
#include <string.h>

#define URL "https://tollgate.example/oauth/token"
#define MAX_AGE 60
#define LEEWAY 5
/* RFC 9449 §7.1 example access token and its ath, which python3 hashlib
 * reproduces: base64url(sha256(token)) without padding. */
#define RFC_TOKEN "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
#define RFC_ATH "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"

static tu_key_t proof_key, other_key;

static int setup(void **state)
{
	if (tu_setup(state) != 0)
		return -1;
	tu_key_rfc8037(&proof_key);
	tu_key_random(&other_key);
	return 0;
}

static json_t *dp_header_for(const uint8_t pk[ED25519_PK_LEN])
{
	json_t *h = tu_json("{\"typ\":\"dpop+jwt\",\"alg\":\"EdDSA\"}");
	return tu_with(h, "jwk", ed_pk_to_jwk(pk, NULL));
}

static json_t *dp_header(void)
{
	return dp_header_for(proof_key.pk);
}

static json_t *dp_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "jti", "p-1", "htm", "POST", "htu", URL, "iat",
			 (json_int_t)TU_NOW);
}

static char *proof_claim(const char *key, json_t *value)
{
	return tu_sign(dp_header(), tu_with(dp_claims(), key, value), proof_key.sk);
}

static char *proof_header(const char *key, json_t *value)
{
	return tu_sign(tu_with(dp_header(), key, value), dp_claims(), proof_key.sk);
}

static dpop_opts_t opts(void)
{
	dpop_opts_t o = {.method = "POST", .url = URL, .now = TU_NOW, .leeway = LEEWAY,
			 .max_age = MAX_AGE, .access_token = NULL};
	return o;
}

/* Checks (and frees) proof under o; expects success. */
static void proof_ok_with(char *proof, const dpop_opts_t *o)
{
	dpop_proof_t out;
	const char *why = NULL;
	if (dpop_check(proof, strlen(proof), o, &out, &why) != 0)
		fail_msg("proof refused: %s", why);
	assert_string_equal(out.jkt, TU_RFC8037_JKT);
	free(proof);
}

/* Checks (and frees) proof under o; expects a refusal mentioning needle. */
static void proof_bad_with(char *proof, const dpop_opts_t *o, const char *needle)
{
	dpop_proof_t out;
	const char *why = NULL;
	assert_int_equal(dpop_check(proof, strlen(proof), o, &out, &why), -1);
	tu_assert_why(why, needle);
	assert_string_equal(out.jkt, "");
	free(proof);
}

static void proof_ok(char *proof)
{
	dpop_opts_t o = opts();
	proof_ok_with(proof, &o);
}

static void proof_bad(char *proof, const char *needle)
{
	dpop_opts_t o = opts();
	proof_bad_with(proof, &o, needle);
}

static void test_valid_proof_and_thumbprint(void **state)
{
	dpop_opts_t o = opts();
	dpop_proof_t out;
	const char *why = NULL;
	char *p = tu_sign(dp_header(), dp_claims(), proof_key.sk);
	assert_int_equal(dpop_check(p, strlen(p), &o, &out, &why), 0);
	/* RFC 8037 A.3 thumbprint, recomputed with python3 hashlib. */
	assert_string_equal(out.jkt, TU_RFC8037_JKT);
	assert_string_equal(out.jti, "p-1");
	assert_int_equal(out.iat, TU_NOW);
	free(p);
}

static void test_typ(void **state)
{
	proof_bad(proof_header("typ", NULL), "typ");
	proof_bad(proof_header("typ", json_string("JWT")), "typ");
	proof_bad(proof_header("typ", json_string("at+jwt")), "typ");
	proof_bad(proof_header("typ", json_string("dpop+jwt ")), "typ");
	proof_bad(proof_header("typ", json_integer(1)), "typ");
	proof_ok(proof_header("typ", json_string("DPoP+JWT")));
}

static void test_jwk_with_private_key(void **state)
{
	json_t *jwk = ed_pk_to_jwk(proof_key.pk, NULL);
	json_object_set_new(jwk, "d", json_string(TU_RFC8037_D));
	proof_bad(proof_header("jwk", jwk), "jwk");
}

static void test_jwk_other_kty(void **state)
{
	proof_bad(proof_header("jwk", tu_json("{\"kty\":\"EC\",\"crv\":\"P-256\","
					      "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
					      "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}")),
		  "jwk");
	proof_bad(proof_header("jwk", tu_json("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" TU_RFC8037_X
					      "\"}")),
		  "jwk");
	proof_bad(proof_header("jwk", tu_json("{\"kty\":\"oct\",\"k\":\"" TU_RFC8037_X "\"}")), "jwk");
	proof_bad(proof_header("jwk", NULL), "jwk");
	proof_bad(proof_header("jwk", json_string(TU_RFC8037_X)), "jwk");
}

static void test_jwk_not_the_signer(void **state)
{
	proof_bad(tu_sign(dp_header_for(other_key.pk), dp_claims(), proof_key.sk), "signature");
	proof_bad(tu_sign(dp_header(), dp_claims(), other_key.sk), "signature");
}

static void test_tampered(void **state)
{
	char *p = tu_sign(dp_header(), dp_claims(), proof_key.sk);
	json_t *c = tu_with(dp_claims(), "htm", json_string("GET"));
	char *text = json_dumps(c, JSON_COMPACT), *b64 = tu_b64(text);
	proof_bad(tu_replace_part(p, 1, b64), "signature");
	proof_bad(tu_flip_sig_bit(p), "signature");
	json_decref(c);
	free(text);
	free(b64);
	free(p);
}

/* Ed25519 under either JOSE name (RFC 8037 "EdDSA", RFC 9864 "Ed25519",
 * as oauth4webapi signs); nothing else. */
static void test_alg(void **state)
{
	proof_ok(proof_header("alg", json_string("EdDSA")));
	proof_ok(proof_header("alg", json_string("Ed25519")));
	proof_bad(proof_header("alg", json_string("ES256")), "alg");
	proof_bad(proof_header("alg", json_string("HS256")), "alg");
	proof_bad(proof_header("alg", json_string("none")), "alg");
	proof_bad(proof_header("alg", json_string("eddsa")), "alg");
	proof_bad(proof_header("alg", json_string("ed25519")), "alg");
	proof_bad(proof_header("alg", json_string("EdDSA ")), "alg");
	proof_bad(proof_header("alg", json_string("Ed25519 ")), "alg");
}

static void test_htm(void **state)
{
	proof_bad(proof_claim("htm", json_string("GET")), "htm");
	proof_bad(proof_claim("htm", json_string("post")), "htm");
	proof_bad(proof_claim("htm", json_string("POST ")), "htm");
	proof_bad(proof_claim("htm", NULL), "htm");
}

static void test_htu_mismatch(void **state)
{
	proof_bad(proof_claim("htu", json_string("https://tollgate.example/oauth/revoke")), "htu");
	proof_bad(proof_claim("htu", json_string("https://evil.example/oauth/token")), "htu");
	proof_bad(proof_claim("htu", json_string("http://tollgate.example/oauth/token")), "htu");
	proof_bad(proof_claim("htu", json_string(URL "/")), "htu");
	proof_bad(proof_claim("htu", json_string(URL "x")), "htu");
	proof_bad(proof_claim("htu", json_string("https://tollgate.example/oauth/toke")), "htu");
	proof_bad(proof_claim("htu", json_string("https://tollgate.example/oauth/toke?n")), "htu");
	proof_bad(proof_claim("htu", NULL), "htu");
}

static void test_htu_ignores_query_and_fragment(void **state)
{
	dpop_opts_t o = opts();
	proof_ok(proof_claim("htu", json_string(URL "?a=b")));
	proof_ok(proof_claim("htu", json_string(URL "#frag")));
	proof_ok(proof_claim("htu", json_string(URL "?")));
	o.url = URL "?x=1";
	proof_ok_with(proof_claim("htu", json_string(URL)), &o);
	proof_ok_with(proof_claim("htu", json_string(URL "?y=2")), &o);
}

static void test_iat_old(void **state)
{
	proof_ok(proof_claim("iat", json_integer(TU_NOW - MAX_AGE)));
	proof_bad(proof_claim("iat", json_integer(TU_NOW - MAX_AGE - 1)), "too old");
	proof_bad(proof_claim("iat", json_integer(0)), "too old");
}

static void test_iat_future(void **state)
{
	proof_ok(proof_claim("iat", json_integer(TU_NOW + LEEWAY)));
	proof_bad(proof_claim("iat", json_integer(TU_NOW + LEEWAY + 1)), "iat");
	proof_bad(proof_claim("iat", json_integer(TU_NOW + 3600)), "iat");
}

static void test_iat_missing_or_not_integer(void **state)
{
	proof_bad(proof_claim("iat", NULL), "iat");
	proof_bad(proof_claim("iat", json_string("1700000000")), "iat");
	proof_bad(proof_claim("iat", json_real(1700000000.0)), "iat");
}

static void test_exp_when_present(void **state)
{
	proof_bad(proof_claim("exp", json_integer(TU_NOW - LEEWAY)), "expired");
	proof_ok(proof_claim("exp", json_integer(TU_NOW + 10)));
}

static void test_jti(void **state)
{
	char jti[TG_MAX_JTI_LEN + 2];
	memset(jti, 'j', sizeof jti - 1);
	jti[sizeof jti - 1] = '\0';
	proof_bad(proof_claim("jti", NULL), "jti");
	proof_bad(proof_claim("jti", json_string("")), "jti");
	proof_bad(proof_claim("jti", json_string(jti)), "jti");
	jti[TG_MAX_JTI_LEN] = '\0';
	proof_ok(proof_claim("jti", json_string(jti)));
}

static void test_ath(void **state)
{
	dpop_opts_t o = opts();
	o.access_token = RFC_TOKEN;
	proof_ok_with(proof_claim("ath", json_string(RFC_ATH)), &o);
	proof_bad_with(proof_claim("ath", NULL), &o, "ath");
	proof_bad_with(proof_claim("ath", json_string("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEp")),
		       &o, "ath");
	proof_bad_with(proof_claim("ath", json_string(RFC_ATH "A")), &o, "ath");
	proof_bad_with(proof_claim("ath", json_string("")), &o, "ath");
	o.access_token = RFC_TOKEN "x";
	proof_bad_with(proof_claim("ath", json_string(RFC_ATH)), &o, "ath");
}

static void test_ath_ignored_without_token(void **state)
{
	proof_ok(proof_claim("ath", json_string(RFC_ATH)));
}

static void test_not_a_jws(void **state)
{
	proof_bad(strdup(""), "empty");
	proof_bad(strdup("a.b"), "compact");
	proof_bad(tu_sign_text("{\"typ\":\"dpop+jwt\",\"alg\":\"EdDSA\"}", "[]", proof_key.sk),
		  "payload");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_proof_and_thumbprint),
		cmocka_unit_test(test_typ),
		cmocka_unit_test(test_jwk_with_private_key),
		cmocka_unit_test(test_jwk_other_kty),
		cmocka_unit_test(test_jwk_not_the_signer),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_htm),
		cmocka_unit_test(test_htu_mismatch),
		cmocka_unit_test(test_htu_ignores_query_and_fragment),
		cmocka_unit_test(test_iat_old),
		cmocka_unit_test(test_iat_future),
		cmocka_unit_test(test_iat_missing_or_not_integer),
		cmocka_unit_test(test_exp_when_present),
		cmocka_unit_test(test_jti),
		cmocka_unit_test(test_ath),
		cmocka_unit_test(test_ath_ignored_without_token),
		cmocka_unit_test(test_not_a_jws),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
