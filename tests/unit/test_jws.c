/* test_jws.c - the Ed25519-only compact JWS of src/core/jws.c: a known-answer
 * signature, both JOSE names of Ed25519 (EdDSA, Ed25519) and alg confusion, crit, tampering, foreign keys, shape, size,
 * strict base64url, duplicate JSON members and non-object parts. */
#include "test_util.h"
#include "core/b64url.h"
#include "core/jws.h"
#include "core/limits.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char payload_json[] = "{\"sub\":\"x\"}";

static jws_err parse_str(const char *s, jws_t *out)
{
	return jws_parse(s, strlen(s), out);
}

/* Parses s and expects exactly err; a failed parse must leave nothing. */
static void expect_parse_err(const char *s, jws_err err)
{
	jws_t j;
	jws_err got = parse_str(s, &j);
	if (got != err)
		fail_msg("jws_parse gave %d (%s), want %d (%s) for %.200s", got, jws_strerror(got),
			 err, jws_strerror(err), s);
	if (got != JWS_OK) {
		assert_null(j.header);
		assert_null(j.payload);
	} else {
		jws_free(&j);
	}
}

/* Signs raw header text over the standard payload and expects err. */
static void expect_header_err(const char *header_json, jws_err err)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text(header_json, payload_json, k.sk);
	expect_parse_err(t, err);
	free(t);
}

static void expect_payload_err(const char *payload, jws_err err)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload, k.sk);
	expect_parse_err(t, err);
	free(t);
}

/* Parses s (which must parse) and returns jws_verify() under pk. */
static jws_err parse_and_verify(const char *s, const uint8_t pk[ED25519_PK_LEN])
{
	jws_t j;
	assert_int_equal(parse_str(s, &j), JWS_OK);
	jws_err e = jws_verify(&j, pk);
	jws_free(&j);
	return e;
}

static void test_known_answer_rfc8037_key(void **state)
{
	/* python3 cryptography: Ed25519PrivateKey.from_private_bytes(RFC 8037 d)
	 * .sign(b'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0'), base64url. */
	static const char want[] =
		"eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0."
		"d8WemvVKfnOKcRKwdVpxvoM4YteoSv5DrXolmade7FBoCQmXr8CwuTiav-O7uRdq3MiEdvZGzTFvdH4yGJFKCg";
	tu_key_t k;
	tu_key_rfc8037(&k);
	char *t = tu_sign(tu_json("{\"alg\":\"EdDSA\"}"), tu_json(payload_json), k.sk);
	assert_string_equal(t, want);
	assert_int_equal(parse_and_verify(t, k.pk), JWS_OK);
	free(t);
}

static void test_round_trip(void **state)
{
	tu_key_t k;
	jws_t j;
	tu_key_random(&k);
	char *t = tu_sign(tu_json("{\"alg\":\"EdDSA\",\"kid\":\"k1\"}"),
			  tu_json("{\"n\":1,\"s\":\"v\"}"), k.sk);
	assert_int_equal(parse_str(t, &j), JWS_OK);
	assert_string_equal(json_string_value(json_object_get(j.header, "kid")), "k1");
	assert_int_equal(json_integer_value(json_object_get(j.payload, "n")), 1);
	assert_ptr_equal(j.signing_input, t);
	assert_int_equal(j.signing_input_len, (size_t)(strrchr(t, '.') - t));
	assert_int_equal(jws_verify(&j, k.pk), JWS_OK);
	jws_free(&j);
	assert_null(j.header);
	free(t);
}

static void test_alg_confusion_rejected(void **state)
{
	expect_header_err("{\"alg\":\"HS256\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"RS256\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"ES256\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"none\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"eddsa\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"EDDSA\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"ed25519\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"ED25519\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"Ed448\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"EdDSA \"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\" EdDSA\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"Ed25519 \"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"EdDSA,Ed25519\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":\"\"}", JWS_E_ALG);
}

/* RFC 9864 registers "Ed25519" as the fully-specified name of what RFC 8037
 * calls "EdDSA" with an Ed25519 key: both names parse and verify. */
static void test_both_ed25519_names_accepted(void **state)
{
	static const char *const headers[] = {"{\"alg\":\"EdDSA\"}", "{\"alg\":\"Ed25519\"}"};
	tu_key_t k;
	tu_key_random(&k);
	for (size_t i = 0; i < 2; i++) {
		char *t = tu_sign_text(headers[i], payload_json, k.sk);
		assert_int_equal(parse_and_verify(t, k.pk), JWS_OK);
		free(t);
	}
	assert_true(jws_alg_is_ed25519("EdDSA"));
	assert_true(jws_alg_is_ed25519("Ed25519"));
	assert_false(jws_alg_is_ed25519("ed25519"));
	assert_false(jws_alg_is_ed25519("EdDSA "));
	assert_false(jws_alg_is_ed25519(NULL));
}

/* A NUL escaped inside the alg string is not "EdDSA" (jansson refuses it
 * while loading; the length check would too). */
static void test_alg_with_escaped_nul(void **state)
{
	expect_header_err("{\"alg\":\"EdDSA\\u0000\"}", JWS_E_HEADER);
	expect_header_err("{\"alg\":\"Ed25519\\u0000x\"}", JWS_E_HEADER);
}

static void test_alg_missing_or_not_string(void **state)
{
	expect_header_err("{}", JWS_E_ALG);
	expect_header_err("{\"typ\":\"JWT\"}", JWS_E_ALG);
	expect_header_err("{\"alg\":null}", JWS_E_ALG);
	expect_header_err("{\"alg\":[\"EdDSA\"]}", JWS_E_ALG);
	expect_header_err("{\"ALG\":\"EdDSA\"}", JWS_E_ALG);
}

static void test_hs256_with_public_key_as_secret(void **state)
{
	/* The classic confusion: HMAC keyed with the verifier's public key. */
	tu_key_t k;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	tu_key_random(&k);
	char *h = tu_b64("{\"alg\":\"HS256\"}"), *p = tu_b64(payload_json);
	char *input = tu_join3(h, p, ""); /* "h.p." */
	input[strlen(input) - 1] = '\0';
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, k.pk, sizeof k.pk);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)input, strlen(input));
	crypto_auth_hmacsha256_final(&st, mac);
	char *s = b64url_encode(mac, sizeof mac);
	char *t = tu_join3(h, p, s);
	jws_t j;
	assert_int_not_equal(parse_str(t, &j), JWS_OK);
	assert_null(j.header);
	free(h);
	free(p);
	free(input);
	free(s);
	free(t);
}

static void test_alg_none_unsigned(void **state)
{
	char *h = tu_b64("{\"alg\":\"none\"}"), *p = tu_b64(payload_json);
	char *t = tu_join3(h, p, "");
	expect_parse_err(t, JWS_E_SHAPE);
	free(t);
	/* A dummy 64-byte signature reaches the header check. */
	char sig[87];
	memset(sig, 'A', 86);
	sig[86] = '\0';
	t = tu_join3(h, p, sig);
	expect_parse_err(t, JWS_E_ALG);
	free(t);
	free(h);
	free(p);
}

static void test_crit_rejected(void **state)
{
	expect_header_err("{\"alg\":\"EdDSA\",\"crit\":[\"exp\"],\"exp\":1}", JWS_E_CRIT);
	expect_header_err("{\"alg\":\"EdDSA\",\"crit\":[]}", JWS_E_CRIT);
	expect_header_err("{\"alg\":\"EdDSA\",\"crit\":null}", JWS_E_CRIT);
	expect_header_err("{\"crit\":[\"b64\"],\"b64\":false,\"alg\":\"EdDSA\"}", JWS_E_CRIT);
}

static void test_tampered_payload(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", "{\"scope\":\"a@B:c\"}", k.sk);
	char *p = tu_b64("{\"scope\":\"a@B:d\"}");
	char *bad = tu_replace_part(t, 1, p);
	assert_int_equal(parse_and_verify(t, k.pk), JWS_OK);
	assert_int_equal(parse_and_verify(bad, k.pk), JWS_E_SIGNATURE);
	free(t);
	free(p);
	free(bad);
}

static void test_tampered_header(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\",\"kid\":\"a\"}", payload_json, k.sk);
	char *h = tu_b64("{\"alg\":\"EdDSA\",\"kid\":\"b\"}");
	char *bad = tu_replace_part(t, 0, h);
	assert_int_equal(parse_and_verify(bad, k.pk), JWS_E_SIGNATURE);
	free(t);
	free(h);
	free(bad);
}

static void test_tampered_signature(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload_json, k.sk);
	char *bad = tu_flip_sig_bit(t);
	assert_int_equal(parse_and_verify(bad, k.pk), JWS_E_SIGNATURE);
	free(t);
	free(bad);
}

static void test_signature_by_other_key(void **state)
{
	tu_key_t k, other;
	tu_key_random(&k);
	tu_key_random(&other);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload_json, other.sk);
	assert_int_equal(parse_and_verify(t, k.pk), JWS_E_SIGNATURE);
	assert_int_equal(parse_and_verify(t, other.pk), JWS_OK);
	free(t);
}

static void test_signature_wrong_length(void **state)
{
	uint8_t sig[65] = {0};
	char *h = tu_b64("{\"alg\":\"EdDSA\"}"), *p = tu_b64(payload_json);
	char *s63 = b64url_encode(sig, 63), *s65 = b64url_encode(sig, 65);
	char *t63 = tu_join3(h, p, s63), *t65 = tu_join3(h, p, s65);
	expect_parse_err(t63, JWS_E_SIGNATURE);
	expect_parse_err(t65, JWS_E_BASE64);
	free(h);
	free(p);
	free(s63);
	free(s65);
	free(t63);
	free(t65);
}

static void test_wrong_number_of_dots(void **state)
{
	expect_parse_err("abc", JWS_E_SHAPE);
	expect_parse_err("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0", JWS_E_SHAPE);
	expect_parse_err("a.b.c.d", JWS_E_SHAPE);
	expect_parse_err("a.b.c.d.e", JWS_E_SHAPE);
	expect_parse_err("..", JWS_E_SHAPE);
	expect_parse_err(".b.c", JWS_E_SHAPE);
	expect_parse_err("a..c", JWS_E_SHAPE);
	expect_parse_err("a.b.", JWS_E_SHAPE);
	expect_parse_err(".", JWS_E_SHAPE);
}

static void test_extra_dot_on_valid_token(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload_json, k.sk);
	size_t n = strlen(t);
	char *dotted = malloc(n + 2);
	memcpy(dotted, t, n);
	memcpy(dotted + n, ".", 2);
	expect_parse_err(dotted, JWS_E_SHAPE);
	free(t);
	free(dotted);
}

static void test_size_limits(void **state)
{
	jws_t j;
	char *big = malloc(TG_MAX_JWT_LEN + 2);
	memset(big, 'A', TG_MAX_JWT_LEN + 1);
	big[TG_MAX_JWT_LEN + 1] = '\0';
	big[10] = '.';
	big[20] = '.';
	assert_int_equal(jws_parse(big, TG_MAX_JWT_LEN + 1, &j), JWS_E_SIZE);
	assert_int_equal(jws_parse(big, 0, &j), JWS_E_SIZE);
	assert_int_not_equal(jws_parse(big, TG_MAX_JWT_LEN, &j), JWS_E_SIZE);
	free(big);
}

/* A signed token whose decoded payload is {"p":"xxx..."} of total bytes. */
static char *token_with_payload_size(const tu_key_t *k, size_t bytes)
{
	char *json = malloc(bytes + 1);
	memcpy(json, "{\"p\":\"", 6);
	memset(json + 6, 'x', bytes - 8);
	memcpy(json + bytes - 2, "\"}", 3);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", json, k->sk);
	free(json);
	return t;
}

static void test_payload_size_limit(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *ok = token_with_payload_size(&k, TG_MAX_JWT_PAYLOAD);
	char *over = token_with_payload_size(&k, TG_MAX_JWT_PAYLOAD + 1);
	assert_true(strlen(over) <= TG_MAX_JWT_LEN);
	assert_int_equal(parse_and_verify(ok, k.pk), JWS_OK);
	expect_parse_err(over, JWS_E_BASE64);
	free(ok);
	free(over);
}

static void test_header_size_limit(void **state)
{
	char header[TG_MAX_JWT_HEADER + 2];
	size_t n = TG_MAX_JWT_HEADER + 1;
	memcpy(header, "{\"alg\":\"EdDSA\",\"x\":\"", 20);
	memset(header + 20, 'x', n - 22);
	memcpy(header + n - 2, "\"}", 3);
	expect_header_err(header, JWS_E_BASE64);
	header[n - 3] = '\0';
	memcpy(header + n - 4, "\"}", 3); /* now TG_MAX_JWT_HEADER - 1 bytes */
	expect_header_err(header, JWS_OK);
}

static void test_base64_padding_rejected(void **state)
{
	/* Header (23 bytes), payload (11) and signature (64) all end in a
	 * partial quantum, so each has a padded spelling. */
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\",\"kid\":1}", payload_json, k.sk);
	for (int part = 0; part < 3; part++) {
		char *text = tu_part(t, part);
		size_t n = strlen(text);
		assert_int_not_equal(n % 4, 0);
		char *padded = calloc(n + 4, 1);
		memcpy(padded, text, n);
		while (n % 4 != 0)
			padded[n++] = '=';
		char *bad = tu_replace_part(t, part, padded);
		expect_parse_err(bad, JWS_E_BASE64);
		free(text);
		free(padded);
		free(bad);
	}
	free(t);
}

static void test_base64_noncanonical_signature(void **state)
{
	/* 64 bytes = 86 characters whose last one carries 4 unused bits;
	 * 'A' + 1 sets one of them, giving a second spelling of the same bytes. */
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload_json, k.sk);
	char *last = t + strlen(t) - 1;
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t v = (size_t)(strchr(alphabet, *last) - alphabet);
	assert_int_equal(v & 0x0f, 0);
	*last = alphabet[v | 1];
	expect_parse_err(t, JWS_E_BASE64);
	free(t);
}

/* Regression: b64url_decode() took any byte >= 0x80 for '_' (libsodium
 * 1.0.18), so a signature's '_' could be respelled and the token still
 * verified under a different text (and a different tok_hash_hex). */
static void test_signature_respelled_with_high_byte(void **state)
{
	tu_key_t k;
	char *t = NULL, *underscore = NULL;
	tu_key_random(&k);
	for (int i = 0; underscore == NULL; i++) {
		char payload[32];
		assert_true(i < 1000);
		free(t);
		snprintf(payload, sizeof payload, "{\"n\":%d}", i);
		t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload, k.sk);
		underscore = strchr(strrchr(t, '.'), '_');
	}
	assert_int_equal(parse_and_verify(t, k.pk), JWS_OK);
	*underscore = (char)0xdf;
	expect_parse_err(t, JWS_E_BASE64);
	free(t);
}

static void test_base64_invalid_chars(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload_json, k.sk);
	static const char bad_chars[] = "+/= \n!*";
	for (size_t part = 0; part < 3; part++) {
		for (const char *c = bad_chars; *c != '\0'; c++) {
			char *copy = strdup(t);
			char *at = copy;
			for (size_t i = 0; i < part; i++)
				at = strchr(at, '.') + 1;
			at[1] = *c;
			expect_parse_err(copy, JWS_E_BASE64);
			free(copy);
		}
	}
	free(t);
}

static void test_nul_inside_token(void **state)
{
	tu_key_t k;
	jws_t j;
	tu_key_random(&k);
	char *t = tu_sign_text("{\"alg\":\"EdDSA\"}", payload_json, k.sk);
	size_t n = strlen(t);
	t[3] = '\0';
	assert_int_equal(jws_parse(t, n, &j), JWS_E_BASE64);
	free(t);
}

static void test_duplicate_header_members(void **state)
{
	expect_header_err("{\"alg\":\"EdDSA\",\"alg\":\"none\"}", JWS_E_HEADER);
	expect_header_err("{\"alg\":\"none\",\"alg\":\"EdDSA\"}", JWS_E_HEADER);
	expect_header_err("{\"alg\":\"EdDSA\",\"kid\":\"a\",\"kid\":\"b\"}", JWS_E_HEADER);
}

static void test_duplicate_payload_members(void **state)
{
	expect_payload_err("{\"sub\":\"a\",\"sub\":\"b\"}", JWS_E_PAYLOAD);
}

static void test_header_not_object(void **state)
{
	expect_header_err("[\"alg\",\"EdDSA\"]", JWS_E_HEADER);
	expect_header_err("\"EdDSA\"", JWS_E_HEADER);
	expect_header_err("{\"alg\":\"EdDSA\"", JWS_E_HEADER);
	expect_header_err("{\"alg\":\"EdDSA\"} {}", JWS_E_HEADER);
	expect_header_err("{\"alg\":\"EdDSA\",\"kid\":\"a\\u0000b\"}", JWS_E_HEADER);
	expect_header_err("", JWS_E_SHAPE);
}

static void test_payload_not_object(void **state)
{
	expect_payload_err("[1,2]", JWS_E_PAYLOAD);
	expect_payload_err("\"sub\"", JWS_E_PAYLOAD);
	expect_payload_err("42", JWS_E_PAYLOAD);
	expect_payload_err("null", JWS_E_PAYLOAD);
	expect_payload_err("Example of Ed25519 signing", JWS_E_PAYLOAD); /* RFC 8037 A.4 */
	expect_payload_err("{\"sub\":", JWS_E_PAYLOAD);
	expect_payload_err("{\"a\":1}x", JWS_E_PAYLOAD);
}

static void test_strerror_covers_all(void **state)
{
	for (int e = JWS_OK; e <= JWS_E_SIGNATURE; e++) {
		const char *s = jws_strerror((jws_err)e);
		assert_non_null(s);
		assert_string_not_equal(s, "unknown JWS error");
		for (int f = JWS_OK; f < e; f++)
			assert_string_not_equal(s, jws_strerror((jws_err)f));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer_rfc8037_key),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_alg_confusion_rejected),
		cmocka_unit_test(test_both_ed25519_names_accepted),
		cmocka_unit_test(test_alg_with_escaped_nul),
		cmocka_unit_test(test_alg_missing_or_not_string),
		cmocka_unit_test(test_hs256_with_public_key_as_secret),
		cmocka_unit_test(test_alg_none_unsigned),
		cmocka_unit_test(test_crit_rejected),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_tampered_header),
		cmocka_unit_test(test_tampered_signature),
		cmocka_unit_test(test_signature_by_other_key),
		cmocka_unit_test(test_signature_wrong_length),
		cmocka_unit_test(test_wrong_number_of_dots),
		cmocka_unit_test(test_extra_dot_on_valid_token),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_payload_size_limit),
		cmocka_unit_test(test_header_size_limit),
		cmocka_unit_test(test_base64_padding_rejected),
		cmocka_unit_test(test_base64_noncanonical_signature),
		cmocka_unit_test(test_signature_respelled_with_high_byte),
		cmocka_unit_test(test_base64_invalid_chars),
		cmocka_unit_test(test_nul_inside_token),
		cmocka_unit_test(test_duplicate_header_members),
		cmocka_unit_test(test_duplicate_payload_members),
		cmocka_unit_test(test_header_not_object),
		cmocka_unit_test(test_payload_not_object),
		cmocka_unit_test(test_strerror_covers_all),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
