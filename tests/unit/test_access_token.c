/* test_access_token.c - RFC 9068 access tokens (src/core/access_token.c):
 * issue/verify round trip and every reason to refuse a token: typ, kid,
 * alg, crit, exp/nbf/iat with and without leeway, iss, aud (string and
 * array), missing claims, cnf shape, the status claim, tampering and
 * foreign signers. */
#include "test_util.h"
#include "core/access_token.h"
#include "core/limits.h"
#include <stdlib.h>
#include <string.h>

#define ISS "https://tollgate.example"
#define AUD "tollgate"
#define SCOPE "modbus.read@Zone:line-3 modbus.write@Device:plc-7"

static tu_key_t signer, stranger;
static tok_key_t keys[2];

static int setup(void **state)
{
	if (tu_setup(state) != 0)
		return -1;
	tu_key_random(&signer);
	tu_key_random(&stranger);
	keys[0].kid = "k0";
	memcpy(keys[0].pk, stranger.pk, ED25519_PK_LEN);
	keys[1].kid = "k1";
	memcpy(keys[1].pk, signer.pk, ED25519_PK_LEN);
	return 0;
}

static json_t *at_header(void)
{
	return tu_json("{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}");
}

static json_t *at_claims(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "iss", ISS, "sub",
			 "svc-a", "aud", AUD, "client_id", "svc-a", "iat", (json_int_t)TU_NOW,
			 "nbf", (json_int_t)TU_NOW, "exp", (json_int_t)(TU_NOW + 300), "jti",
			 "jti-1", "scope", SCOPE);
}

static char *token_claim(const char *key, json_t *value)
{
	return tu_sign(at_header(), tu_with(at_claims(), key, value), signer.sk);
}

static char *token_header(const char *key, json_t *value)
{
	return tu_sign(tu_with(at_header(), key, value), at_claims(), signer.sk);
}

static char *token_time(const char *key, int64_t delta)
{
	return token_claim(key, json_integer(TU_NOW + delta));
}

static int verify(const char *t, int64_t leeway, tok_claims_t *c, const char **why)
{
	tok_verify_opts_t o = {.issuer = ISS, .audience = AUD, .now = TU_NOW, .leeway = leeway,
			       .keys = keys, .n_keys = 2};
	return tok_verify(t, strlen(t), &o, c, why);
}

/* Verifies (and frees) t, expecting success. */
static void token_ok(char *t, int64_t leeway)
{
	tok_claims_t c;
	const char *why = NULL;
	if (verify(t, leeway, &c, &why) != 0)
		fail_msg("token refused: %s", why);
	tok_claims_free(&c);
	free(t);
}

/* Verifies (and frees) t, expecting a refusal whose reason has needle. */
static void token_bad(char *t, int64_t leeway, const char *needle)
{
	tok_claims_t c;
	const char *why = NULL;
	assert_int_equal(verify(t, leeway, &c, &why), -1);
	tu_assert_why(why, needle);
	assert_null(c.jws.header);
	assert_null(c.jws.payload);
	assert_null(c.sub);
	free(t);
}

static tok_issue_t issue_template(void)
{
	tok_issue_t t = {.issuer = ISS, .audience = AUD, .sub = "svc-a", .client_id = "cli-a",
			 .scope = SCOPE, .jti = "jti-9", .kid = "k1", .iat = TU_NOW,
			 .exp = TU_NOW + 300};
	return t;
}

static void test_issue_verify_round_trip(void **state)
{
	tok_issue_t in = issue_template();
	tok_claims_t c;
	const char *why = NULL;
	char *t = tok_issue(&in, signer.sk);
	assert_non_null(t);
	assert_int_equal(verify(t, 0, &c, &why), 0);
	assert_string_equal(c.kid, "k1");
	assert_string_equal(c.sub, "svc-a");
	assert_string_equal(c.client_id, "cli-a");
	assert_string_equal(c.jti, "jti-9");
	assert_string_equal(c.scope, SCOPE);
	assert_int_equal(c.iat, TU_NOW);
	assert_int_equal(c.exp, TU_NOW + 300);
	assert_null(c.cnf_jkt);
	assert_null(c.cnf_x5t);
	assert_int_equal(json_integer_value(json_object_get(c.jws.payload, "nbf")), TU_NOW);
	assert_string_equal(json_string_value(json_object_get(c.jws.header, "typ")), "at+jwt");
	tok_claims_free(&c);
	assert_null(c.jws.header);
	free(t);
}

static void test_issue_with_cnf(void **state)
{
	tok_issue_t in = issue_template();
	tok_claims_t c;
	const char *why = NULL;
	in.cnf_jkt = TU_RFC8037_JKT;
	in.cnf_x5t = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2";
	char *t = tok_issue(&in, signer.sk);
	assert_int_equal(verify(t, 0, &c, &why), 0);
	assert_string_equal(c.cnf_jkt, TU_RFC8037_JKT);
	assert_string_equal(c.cnf_x5t, in.cnf_x5t);
	tok_claims_free(&c);
	free(t);
}

static void test_typ_must_be_at_jwt(void **state)
{
	token_bad(token_header("typ", NULL), 0, "typ");
	token_bad(token_header("typ", json_string("JWT")), 0, "typ");
	token_bad(token_header("typ", json_string("dpop+jwt")), 0, "typ");
	token_bad(token_header("typ", json_string("at+jwt ")), 0, "typ");
	token_bad(token_header("typ", json_integer(1)), 0, "typ");
	token_ok(token_header("typ", json_string("application/at+jwt")), 0);
	token_ok(token_header("typ", json_string("AT+JWT")), 0);
}

static void test_kid_must_be_known(void **state)
{
	token_bad(token_header("kid", json_string("k2")), 0, "kid");
	token_bad(token_header("kid", json_string("")), 0, "kid");
	token_bad(token_header("kid", NULL), 0, "kid");
	token_bad(token_header("kid", json_integer(1)), 0, "kid");
	token_bad(token_header("kid", json_string("K1")), 0, "kid");
}

static void test_kid_naming_another_key(void **state)
{
	/* Signed by the k1 key but claiming to be k0: must not verify. */
	token_bad(token_header("kid", json_string("k0")), 0, "signature");
}

static void test_unknown_signer_with_known_kid(void **state)
{
	token_bad(tu_sign(at_header(), at_claims(), stranger.sk), 0, "signature");
}

/* Issued under the configured name of Ed25519 (EdDSA by default, for
 * verifiers that know only that one); verified under either. */
static void test_issue_alg_names(void **state)
{
	static const char *const names[] = {NULL, JWS_ALG_EDDSA, JWS_ALG_ED25519};
	static const char *const want[] = {"EdDSA", "EdDSA", "Ed25519"};
	for (size_t i = 0; i < 3; i++) {
		tok_issue_t in = issue_template();
		tok_claims_t c;
		const char *why = NULL;
		in.alg = names[i];
		char *t = tok_issue(&in, signer.sk);
		assert_int_equal(verify(t, 0, &c, &why), 0);
		assert_string_equal(json_string_value(json_object_get(c.jws.header, "alg")), want[i]);
		tok_claims_free(&c);
		free(t);
	}
	token_ok(token_header("alg", json_string("Ed25519")), 0);
}

static void test_alg_confusion(void **state)
{
	token_bad(token_header("alg", json_string("ES256")), 0, "alg");
	token_bad(token_header("alg", json_string("ed25519")), 0, "alg");
	token_bad(token_header("alg", json_string("EdDSA ")), 0, "alg");
	token_bad(token_header("alg", json_string("HS256")), 0, "alg");
	token_bad(token_header("alg", json_string("RS256")), 0, "alg");
	token_bad(token_header("alg", json_string("none")), 0, "alg");
	token_bad(token_header("alg", json_string("eddsa")), 0, "alg");
	token_bad(token_header("alg", NULL), 0, "alg");
}

static void test_crit(void **state)
{
	token_bad(token_header("crit", tu_json("[\"exp\"]")), 0, "crit");
}

static void test_expired(void **state)
{
	token_bad(token_time("exp", -1), 0, "expired");
	token_bad(token_time("exp", 0), 0, "expired");
	token_ok(token_time("exp", -1), 30);
	token_ok(token_time("exp", -29), 30);
	token_bad(token_time("exp", -30), 30, "expired");
	token_bad(token_time("exp", -86400), 30, "expired");
}

static void test_nbf_in_future(void **state)
{
	token_bad(token_time("nbf", 1), 0, "nbf");
	token_ok(token_time("nbf", 30), 30);
	token_bad(token_time("nbf", 31), 30, "nbf");
	token_bad(token_claim("nbf", json_string("0")), 30, "nbf");
}

static void test_iat_in_future(void **state)
{
	token_bad(token_time("iat", 1), 0, "iat");
	token_ok(token_time("iat", 30), 30);
	token_bad(token_time("iat", 31), 30, "iat");
}

static void test_exp_and_iat_required(void **state)
{
	token_bad(token_claim("exp", NULL), 0, "exp");
	token_bad(token_claim("iat", NULL), 0, "iat");
	token_bad(token_claim("exp", json_real((double)TU_NOW + 300)), 0, "exp");
	token_ok(token_claim("nbf", NULL), 0);
}

static void test_wrong_issuer(void **state)
{
	token_bad(token_claim("iss", json_string("https://evil.example")), 0, "issue");
	token_bad(token_claim("iss", json_string(ISS "/")), 0, "issue");
	token_bad(token_claim("iss", json_string("https://tollgate.exampl")), 0, "issue");
	token_bad(token_claim("iss", NULL), 0, "issue");
	token_bad(token_claim("iss", tu_json("[\"" ISS "\"]")), 0, "issue");
}

static void test_wrong_audience(void **state)
{
	token_bad(token_claim("aud", json_string("other")), 0, "audience");
	token_bad(token_claim("aud", json_string("tollgate2")), 0, "audience");
	token_bad(token_claim("aud", tu_json("[\"other\",\"x\"]")), 0, "audience");
	token_bad(token_claim("aud", tu_json("[]")), 0, "audience");
	token_bad(token_claim("aud", NULL), 0, "audience");
	token_ok(token_claim("aud", tu_json("[\"other\",\"" AUD "\"]")), 0);
}

/* Registered once per required claim (cmocka prestate = the claim name). */
static void test_required_claim(void **state)
{
	const char *name = *state;
	token_bad(token_claim(name, NULL), 0, "lacks");
	token_bad(token_claim(name, json_string("")), 0, "lacks");
	token_bad(token_claim(name, json_integer(7)), 0, "lacks");
}

static void test_overlong_claims(void **state)
{
	char jti[TG_MAX_JTI_LEN + 2];
	memset(jti, 'j', sizeof jti - 1);
	jti[sizeof jti - 1] = '\0';
	token_bad(token_claim("jti", json_string(jti)), 0, "lacks");
	jti[TG_MAX_JTI_LEN] = '\0';
	token_ok(token_claim("jti", json_string(jti)), 0);
}

static void test_cnf_shape(void **state)
{
	token_bad(token_claim("cnf", json_string(TU_RFC8037_JKT)), 0, "cnf");
	token_bad(token_claim("cnf", json_object()), 0, "cnf");
	token_bad(token_claim("cnf", tu_json("{\"jwk\":{}}")), 0, "cnf");
	token_bad(token_claim("cnf", tu_json("{\"jkt\":\"\"}")), 0, "cnf");
	token_ok(token_claim("cnf", tu_json("{\"jkt\":\"" TU_RFC8037_JKT "\"}")), 0);
}

/* JIT grant and delegation claims (RFC 8693 act): issued as given, and
 * verified only in their shape: a grant id, an act chain of at most
 * TG_MAX_ACT_DEPTH actors, each with a sub. */
static void test_grant_and_act_claims(void **state)
{
	tok_issue_t in = issue_template();
	json_t *act = tu_json("{\"sub\":\"agent-1\",\"act\":{\"sub\":\"agent-0\"}}");
	in.grant = "g-AAAAAAAAAAAAAAAAAAAAAA";
	in.act = act;
	char *t = tok_issue(&in, signer.sk);
	tok_claims_t c;
	const char *why = NULL;
	if (verify(t, 0, &c, &why) != 0)
		fail_msg("token refused: %s", why);
	assert_string_equal(c.grant, in.grant);
	assert_true(json_equal(c.act, act));
	tok_claims_free(&c);
	free(t);
	json_decref(act);
	token_ok(token_claim("act", tu_json("{\"sub\":\"a\",\"act\":{\"sub\":\"b\",\"act\":{\"sub\":\"c\","
					   "\"act\":{\"sub\":\"d\"}}}}")), 0);
	token_bad(token_claim("act", tu_json("{\"sub\":\"a\",\"act\":{\"sub\":\"b\",\"act\":{\"sub\":\"c\","
					    "\"act\":{\"sub\":\"d\",\"act\":{\"sub\":\"e\"}}}}}")), 0, "act");
	token_bad(token_claim("act", json_string("agent-1")), 0, "act");
	token_bad(token_claim("act", tu_json("{\"act\":{\"sub\":\"b\"}}")), 0, "act");
	token_bad(token_claim("act", tu_json("{\"sub\":\"\"}")), 0, "act");
	token_bad(token_claim("act", tu_json("{\"sub\":5}")), 0, "act");
	token_bad(token_claim("grant", json_integer(5)), 0, "grant");
	token_ok(token_claim("grant", json_string("g-AAAAAAAAAAAAAAAAAAAAAA")), 0);
}

/* The Token Status List entry (draft-ietf-oauth-status-list §6.2):
 * issued as {"status": {"status_list": {"idx", "uri"}}} when a uri is
 * given, absent otherwise; verified in its shape, other status mechanisms
 * ignored. */
static void test_status_claim(void **state)
{
	tok_issue_t in = issue_template();
	tok_claims_t c;
	const char *why = NULL;
	char *t = tok_issue(&in, signer.sk);
	assert_int_equal(verify(t, 0, &c, &why), 0);
	assert_null(json_object_get(c.jws.payload, "status"));
	assert_null(c.status_uri);
	assert_int_equal(c.status_idx, -1);
	tok_claims_free(&c);
	free(t);
	in.status_uri = ISS "/v1/status-lists/3";
	in.status_idx = 65535;
	t = tok_issue(&in, signer.sk);
	assert_int_equal(verify(t, 0, &c, &why), 0);
	json_t *want = tu_json("{\"status_list\":{\"idx\":65535,\"uri\":\"" ISS "/v1/status-lists/3\"}}");
	assert_true(json_equal(json_object_get(c.jws.payload, "status"), want));
	json_decref(want);
	assert_string_equal(c.status_uri, in.status_uri);
	assert_int_equal(c.status_idx, 65535);
	tok_claims_free(&c);
	free(t);
	token_ok(token_claim("status", tu_json("{\"other_mechanism\":{}}")), 0);
	token_ok(token_claim("status", tu_json("{\"status_list\":{\"idx\":0,\"uri\":\"https://x/1\"}}")), 0);
	token_bad(token_claim("status", json_string("valid")), 0, "status");
	token_bad(token_claim("status", tu_json("{\"status_list\":[]}")), 0, "status");
	token_bad(token_claim("status", tu_json("{\"status_list\":{\"idx\":-1,\"uri\":\"https://x/1\"}}")), 0, "status");
	token_bad(token_claim("status", tu_json("{\"status_list\":{\"idx\":\"1\",\"uri\":\"https://x/1\"}}")), 0, "status");
	token_bad(token_claim("status", tu_json("{\"status_list\":{\"idx\":1}}")), 0, "status");
	token_bad(token_claim("status", tu_json("{\"status_list\":{\"idx\":1,\"uri\":\"\"}}")), 0, "status");
}

static void test_tampered_payload(void **state)
{
	tok_issue_t in = issue_template();
	char *t = tok_issue(&in, signer.sk);
	json_t *p = tu_with(at_claims(), "scope", json_string("secret.read@Secret:erp-db"));
	char *text = json_dumps(p, JSON_COMPACT);
	char *b64 = tu_b64(text);
	token_bad(tu_replace_part(t, 1, b64), 0, "signature");
	json_decref(p);
	free(text);
	free(b64);
	free(t);
}

static void test_tampered_header(void **state)
{
	tok_issue_t in = issue_template();
	char *t = tok_issue(&in, signer.sk);
	char *h = tu_b64("{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"x\":1}");
	token_bad(tu_replace_part(t, 0, h), 0, "signature");
	free(h);
	free(t);
}

static void test_tampered_signature(void **state)
{
	tok_issue_t in = issue_template();
	char *t = tok_issue(&in, signer.sk);
	token_bad(tu_flip_sig_bit(t), 0, "signature");
	free(t);
}

static void test_malformed_and_oversized(void **state)
{
	char *big = malloc(TG_MAX_JWT_LEN + 2);
	memset(big, 'a', TG_MAX_JWT_LEN + 1);
	big[TG_MAX_JWT_LEN + 1] = '\0';
	big[100] = big[200] = '.';
	token_bad(big, 0, "too large");
	token_bad(strdup(""), 0, "empty");
	token_bad(strdup("a.b"), 0, "compact");
	token_bad(strdup("a.b.c"), 0, "base64url");
}

static void test_duplicate_claims(void **state)
{
	token_bad(tu_sign_text("{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"k1\"}",
			    "{\"iss\":\"" ISS "\",\"sub\":\"a\",\"sub\":\"b\"}", signer.sk),
	       0, "payload");
	token_bad(tu_sign_text("{\"alg\":\"EdDSA\",\"typ\":\"at+jwt\",\"kid\":\"k1\",\"kid\":\"k0\"}",
			    "{}", signer.sk),
	       0, "header");
}

static void test_hash_hex(void **state)
{
	/* SHA-256("abc"), FIPS 180-2 example. */
	char out[65];
	tok_hash_hex("abcdef", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_issue_verify_round_trip),
		cmocka_unit_test(test_issue_with_cnf),
		cmocka_unit_test(test_typ_must_be_at_jwt),
		cmocka_unit_test(test_kid_must_be_known),
		cmocka_unit_test(test_kid_naming_another_key),
		cmocka_unit_test(test_unknown_signer_with_known_kid),
		cmocka_unit_test(test_issue_alg_names),
		cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_crit),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_nbf_in_future),
		cmocka_unit_test(test_iat_in_future),
		cmocka_unit_test(test_exp_and_iat_required),
		cmocka_unit_test(test_wrong_issuer),
		cmocka_unit_test(test_wrong_audience),
		cmocka_unit_test_prestate(test_required_claim, (void *)"sub"),
		cmocka_unit_test_prestate(test_required_claim, (void *)"jti"),
		cmocka_unit_test_prestate(test_required_claim, (void *)"client_id"),
		cmocka_unit_test_prestate(test_required_claim, (void *)"scope"),
		cmocka_unit_test(test_overlong_claims),
		cmocka_unit_test(test_cnf_shape),
		cmocka_unit_test(test_grant_and_act_claims),
		cmocka_unit_test(test_status_claim),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_tampered_header),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_malformed_and_oversized),
		cmocka_unit_test(test_duplicate_claims),
		cmocka_unit_test(test_hash_hex),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
