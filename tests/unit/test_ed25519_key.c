/* test_ed25519_key.c - Ed25519 key formats of src/core/ed25519_key.c: PEM
 * SPKI / PKCS#8 round trips and known encodings, refusal of every other key
 * type (real RSA, EC, X25519 and Ed448 PEMs), JWK parsing (no "d", OKP
 * Ed25519 only) and the RFC 7638 thumbprint. */
#include "test_util.h"
#include "core/b64url.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The RFC 8037 A.1 key as written by python3 cryptography:
 *   public_bytes(PEM, SubjectPublicKeyInfo) and private_bytes(PEM, PKCS8). */
static const char rfc_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
	"-----END PUBLIC KEY-----\n";
static const char rfc_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
	"-----END PRIVATE KEY-----\n";

/* Foreign keys made with OpenSSL 3.0 for these tests:
 *   openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 | openssl pkey -pubout
 *   (and openssl rsa -RSAPublicKey_out for the PKCS#1 form)
 *   openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 [| openssl pkey -pubout]
 *   openssl genpkey -algorithm X25519 [| openssl pkey -pubout]
 *   openssl genpkey -algorithm ED448 | openssl pkey -pubout */
static const char rsa_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDiRp7aPquKSOkjhQOICTpGGrOH\n"
	"EUBPGkGwHLnBXfzKt5YdjKG/LQKiAkufjynPxZbERhFk5O7aLKTE6vFSUWL2Mk+x\n"
	"2+hFUjQaQwOUyKRRzUMUsVoFuLd7K2UY/DjqcDgLIIafh6esIkEMDUY1A1vtqjrf\n"
	"d6olZRnweYBg0IlvFwIDAQAB\n"
	"-----END PUBLIC KEY-----\n";
static const char rsa_pkcs1_pem[] =
	"-----BEGIN RSA PUBLIC KEY-----\n"
	"MIGJAoGBAOJGnto+q4pI6SOFA4gJOkYas4cRQE8aQbAcucFd/Mq3lh2Mob8tAqIC\n"
	"S5+PKc/FlsRGEWTk7tospMTq8VJRYvYyT7Hb6EVSNBpDA5TIpFHNQxSxWgW4t3sr\n"
	"ZRj8OOpwOAsghp+Hp6wiQQwNRjUDW+2qOt93qiVlGfB5gGDQiW8XAgMBAAE=\n"
	"-----END RSA PUBLIC KEY-----\n";
static const char ec_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEw1UyZM+HdX5ahs9KWVLLe5fIY9w3\n"
	"/jcYEISkH7nj3g/0DJoF0BxN5uVbMA7WyzdKrfNbQzWSeHXCWoo2Sdb7gQ==\n"
	"-----END PUBLIC KEY-----\n";
static const char ec_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgaWWsHvAQ9O5qMFk7\n"
	"YBdlzUDjnIHoFYy1AD8yJ7zYUSOhRANCAATDVTJkz4d1flqGz0pZUst7l8hj3Df+\n"
	"NxgQhKQfuePeD/QMmgXQHE3m5VswDtbLN0qt81tDNZJ4dcJaijZJ1vuB\n"
	"-----END PRIVATE KEY-----\n";
/* Same length as an Ed25519 key, only the OID differs (1.3.101.110). */
static const char x25519_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VuAyEA648TJl9ghPzGnVXyOTn5RGLFY+yoLAifckTsIonKwXI=\n"
	"-----END PUBLIC KEY-----\n";
static const char x25519_priv_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MC4CAQAwBQYDK2VuBCIEIJCvpHEQGyII6E2h/wlP4qF9U1+PwUCeqJq4x84ia59+\n"
	"-----END PRIVATE KEY-----\n";
static const char ed448_pub_pem[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MEMwBQYDK2VxAzoA9loRaqbAtZAJcQe3GHutASnVgiBsbLQdcnW/+8F3x2vUi/sm\n"
	"Z5yPCxhF0mwVu9xkRRoZZJuwTvCA\n"
	"-----END PUBLIC KEY-----\n";

static void assert_pk_rejected(const char *text)
{
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	if (ed_pk_from_text(text, strlen(text), pk, &why) == 0)
		fail_msg("accepted public key text:\n%s", text);
	assert_non_null(why);
}

static void assert_seed_rejected(const char *text)
{
	uint8_t seed[ED25519_SEED_LEN];
	const char *why = NULL;
	if (ed_seed_from_pem(text, strlen(text), seed, &why) == 0)
		fail_msg("accepted private key text:\n%s", text);
	assert_non_null(why);
}

static void test_rfc8037_public_key(void **state)
{
	tu_key_t k;
	char x[JKT_LEN + 1];
	tu_key_rfc8037(&k);
	b64url_encode_to(k.pk, sizeof k.pk, x);
	assert_string_equal(x, TU_RFC8037_X);
}

static void test_thumbprint_rfc8037_vector(void **state)
{
	tu_key_t k;
	char jkt[JKT_LEN + 1];
	tu_key_rfc8037(&k);
	ed_jwk_thumbprint(k.pk, jkt);
	assert_string_equal(jkt, TU_RFC8037_JKT);
}

static void test_pem_known_encodings(void **state)
{
	tu_key_t k;
	tu_key_rfc8037(&k);
	char *pub = ed_pk_to_pem(k.pk), *priv = ed_seed_to_pem(k.seed);
	assert_string_equal(pub, rfc_pub_pem);
	assert_string_equal(priv, rfc_priv_pem);
	free(pub);
	free(priv);
}

static void test_spki_round_trip(void **state)
{
	tu_key_t k;
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	tu_key_random(&k);
	char *pem = ed_pk_to_pem(k.pk);
	assert_int_equal(ed_pk_from_text(pem, strlen(pem), pk, &why), 0);
	assert_memory_equal(pk, k.pk, sizeof pk);
	free(pem);
}

static void test_pkcs8_round_trip(void **state)
{
	tu_key_t k;
	uint8_t seed[ED25519_SEED_LEN];
	const char *why = NULL;
	tu_key_random(&k);
	char *pem = ed_seed_to_pem(k.seed);
	assert_int_equal(ed_seed_from_pem(pem, strlen(pem), seed, &why), 0);
	assert_memory_equal(seed, k.seed, sizeof seed);
	free(pem);
}

static void test_pem_tolerates_crlf_and_surroundings(void **state)
{
	static const char text[] =
		"a comment line\r\n"
		"-----BEGIN PUBLIC KEY-----\r\n"
		"MCowBQYDK2VwAyEA11qYAYKxCrfV\r\n  S/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\r\n"
		"-----END PUBLIC KEY-----\r\ntrailer";
	tu_key_t k;
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	tu_key_rfc8037(&k);
	assert_int_equal(ed_pk_from_text(text, strlen(text), pk, &why), 0);
	assert_memory_equal(pk, k.pk, sizeof pk);
}

static void test_pem_respects_length(void **state)
{
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	/* The END line lies beyond len, so the block is incomplete. */
	size_t cut = strlen(rfc_pub_pem) - 10;
	assert_int_equal(ed_pk_from_text(rfc_pub_pem, cut, pk, &why), -1);
}

static void test_reject_foreign_public_pems(void **state)
{
	assert_pk_rejected(rsa_pub_pem);
	assert_pk_rejected(rsa_pkcs1_pem);
	assert_pk_rejected(ec_pub_pem);
	assert_pk_rejected(x25519_pub_pem);
	assert_pk_rejected(ed448_pub_pem);
}

static void test_reject_foreign_private_pems(void **state)
{
	assert_seed_rejected(ec_priv_pem);
	assert_seed_rejected(x25519_priv_pem);
	assert_seed_rejected(rsa_pub_pem);
	assert_seed_rejected(rfc_pub_pem);
}

static void test_reject_private_pem_as_public(void **state)
{
	assert_pk_rejected(rfc_priv_pem);
}

static void test_reject_broken_pems(void **state)
{
	assert_pk_rejected("-----BEGIN PUBLIC KEY-----\n"
			   "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n");
	assert_pk_rejected("-----BEGIN PUBLIC KEY-----\n"
			   "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR=\n"
			   "-----END PUBLIC KEY-----\n");
	assert_pk_rejected("-----BEGIN PUBLIC KEY-----\n"
			   "MCowBQYDK2VwAyEA11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
			   "-----END PUBLIC KEY-----\n");
	/* A 31-byte key: the DER is one byte short. */
	assert_pk_rejected("-----BEGIN PUBLIC KEY-----\n"
			   "MCkwBQYDK2VwAyAA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUQ==\n"
			   "-----END PUBLIC KEY-----\n");
	assert_pk_rejected("-----BEGIN PUBLIC KEY----------END PUBLIC KEY-----");
	assert_seed_rejected("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n");
	assert_seed_rejected("");
}

/* Regression: libsodium 1.0.18 read bytes >= 0x80 as '/' and skipped NUL
 * bytes, so these corrupted PEMs used to load as the RFC 8037 key. */
static void test_reject_pem_with_high_byte_or_nul(void **state)
{
	static const char high[] =
		"-----BEGIN PUBLIC KEY-----\n"
		"MCowBQYDK2VwAyEA11qYAYKxCrfVS\xff" "7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
		"-----END PUBLIC KEY-----\n";
	static const char nul[] =
		"-----BEGIN PUBLIC KEY-----\n"
		"MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\0\n"
		"-----END PUBLIC KEY-----\n";
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	assert_pk_rejected(high);
	assert_int_equal(ed_pk_from_text(nul, sizeof nul - 1, pk, &why), -1);
}

static void test_jwk_round_trip(void **state)
{
	tu_key_t k;
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	tu_key_random(&k);
	json_t *jwk = ed_pk_to_jwk(k.pk, NULL);
	assert_null(json_object_get(jwk, "kid"));
	assert_int_equal(json_object_size(jwk), 3);
	assert_int_equal(ed_pk_from_jwk(jwk, pk, &why), 0);
	assert_memory_equal(pk, k.pk, sizeof pk);
	json_decref(jwk);
}

static void test_jwk_with_kid(void **state)
{
	tu_key_t k;
	tu_key_rfc8037(&k);
	json_t *jwk = ed_pk_to_jwk(k.pk, "key-1");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), "key-1");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "EdDSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "x")), TU_RFC8037_X);
	json_decref(jwk);
}

static void test_jwk_text_accepted(void **state)
{
	static const char text[] =
		"{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" TU_RFC8037_X "\",\"kid\":\"a\"}";
	tu_key_t k;
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	tu_key_rfc8037(&k);
	assert_int_equal(ed_pk_from_text(text, strlen(text), pk, &why), 0);
	assert_memory_equal(pk, k.pk, sizeof pk);
}

static void test_jwk_with_private_d_rejected(void **state)
{
	static const char text[] = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" TU_RFC8037_X
				   "\",\"d\":\"" TU_RFC8037_D "\"}";
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	assert_int_equal(ed_pk_from_text(text, strlen(text), pk, &why), -1);
	tu_assert_why(why, "private");
}

static void test_jwk_other_key_types_rejected(void **state)
{
	assert_pk_rejected("{\"kty\":\"EC\",\"crv\":\"P-256\","
			   "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
			   "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}");
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" TU_RFC8037_X "\"}");
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" TU_RFC8037_X "\"}");
	assert_pk_rejected("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}");
	assert_pk_rejected("{\"kty\":\"oct\",\"k\":\"" TU_RFC8037_X "\"}");
	assert_pk_rejected("{\"kty\":\"okp\",\"crv\":\"Ed25519\",\"x\":\"" TU_RFC8037_X "\"}");
	assert_pk_rejected("{\"crv\":\"Ed25519\",\"x\":\"" TU_RFC8037_X "\"}");
}

static void test_jwk_bad_x_rejected(void **state)
{
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}");
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":42}");
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" TU_RFC8037_X "=\"}");
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
			   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHUQ\"}"); /* 31 bytes */
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
			   "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURoA\"}"); /* 33 */
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
			   "\"x\":\"11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}");
}

static void test_jwk_text_malformed_rejected(void **state)
{
	assert_pk_rejected("[]");
	assert_pk_rejected("not a key");
	assert_pk_rejected("");
	/* Duplicate members: which "x" would win is parser-specific. */
	assert_pk_rejected("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" TU_RFC8037_X
			   "\",\"x\":\"" TU_RFC8037_X "\"}");
}

static void test_jwk_not_object(void **state)
{
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	json_t *arr = json_array();
	assert_int_equal(ed_pk_from_jwk(arr, pk, &why), -1);
	assert_int_equal(ed_pk_from_jwk(NULL, pk, &why), -1);
	json_decref(arr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8037_public_key),
		cmocka_unit_test(test_thumbprint_rfc8037_vector),
		cmocka_unit_test(test_pem_known_encodings),
		cmocka_unit_test(test_spki_round_trip),
		cmocka_unit_test(test_pkcs8_round_trip),
		cmocka_unit_test(test_pem_tolerates_crlf_and_surroundings),
		cmocka_unit_test(test_pem_respects_length),
		cmocka_unit_test(test_reject_foreign_public_pems),
		cmocka_unit_test(test_reject_foreign_private_pems),
		cmocka_unit_test(test_reject_private_pem_as_public),
		cmocka_unit_test(test_reject_broken_pems),
		cmocka_unit_test(test_reject_pem_with_high_byte_or_nul),
		cmocka_unit_test(test_jwk_round_trip),
		cmocka_unit_test(test_jwk_with_kid),
		cmocka_unit_test(test_jwk_text_accepted),
		cmocka_unit_test(test_jwk_with_private_d_rejected),
		cmocka_unit_test(test_jwk_other_key_types_rejected),
		cmocka_unit_test(test_jwk_bad_x_rejected),
		cmocka_unit_test(test_jwk_text_malformed_rejected),
		cmocka_unit_test(test_jwk_not_object),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
