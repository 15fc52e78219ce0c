/* ed25519_key.c - Ed25519 key encodings (JWK, PEM) and RFC 7638 thumbprints.
 *
 * The DER inside an Ed25519 PEM is fixed-length: SPKI is a 12-byte prefix
 * then the 32-byte key, PKCS#8 v1 a 16-byte prefix then the 32-byte seed
 * (RFC 8410 §4 and §7). Anything that is not exactly that shape is refused,
 * which is stricter than a general ASN.1 parser and leaves nothing to
 * misparse. */
#include "core/ed25519_key.h"
#include "core/b64url.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
static const uint8_t pkcs8_prefix[16] = {0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
					 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};

int ed_pk_from_jwk(const json_t *jwk, uint8_t pk[ED25519_PK_LEN], const char **why)
{
	const char *kty, *crv, *x;
	size_t n = 0;
	if (!json_is_object(jwk)) {
		*why = "JWK is not a JSON object";
		return -1;
	}
	kty = json_string_value(json_object_get(jwk, "kty"));
	crv = json_string_value(json_object_get(jwk, "crv"));
	x = json_string_value(json_object_get(jwk, "x"));
	if (kty == NULL || strcmp(kty, "OKP") != 0 || crv == NULL || strcmp(crv, "Ed25519") != 0) {
		*why = "only Ed25519 keys are accepted (JWK kty \"OKP\", crv \"Ed25519\")";
		return -1;
	}
	if (json_object_get(jwk, "d") != NULL) {
		*why = "JWK contains a private key (\"d\"); register the public key only";
		return -1;
	}
	if (x == NULL || b64url_decode(x, strlen(x), pk, ED25519_PK_LEN, &n) != 0 ||
	    n != ED25519_PK_LEN) {
		*why = "JWK \"x\" is not a base64url Ed25519 public key";
		return -1;
	}
	return 0;
}

int pem_decode(const char *text, size_t len, const char *label, uint8_t *der, size_t der_cap,
	       size_t *der_len)
{
	char begin[64], end[64];
	const char *b, *e, *body;
	const char *stop = NULL;
	snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
	snprintf(end, sizeof end, "-----END %s-----", label);
	b = memmem(text, len, begin, strlen(begin));
	if (b == NULL)
		return -1;
	body = b + strlen(begin);
	e = memmem(body, len - (size_t)(body - text), end, strlen(end));
	if (e == NULL)
		return -1;
	/* libsodium 1.0.18 reads any byte >= 0x80 as '/' and skips NUL as if
	 * it were whitespace; refuse both (it refuses other stray bytes). */
	for (const char *p = body; p < e; p++)
		if (*p == '\0' || (unsigned char)*p >= 0x80)
			return -1;
	if (sodium_base642bin(der, der_cap, body, (size_t)(e - body), " \t\r\n", der_len, &stop,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return stop == e ? 0 : -1;
}

int ed_pk_from_text(const char *text, size_t len, uint8_t pk[ED25519_PK_LEN], const char **why)
{
	uint8_t der[64];
	size_t n = 0;
	if (memmem(text, len, "-----BEGIN", 10) != NULL) {
		if (pem_decode(text, len, "PUBLIC KEY", der, sizeof der, &n) != 0 ||
		    n != sizeof spki_prefix + ED25519_PK_LEN ||
		    memcmp(der, spki_prefix, sizeof spki_prefix) != 0) {
			*why = "PEM is not an Ed25519 public key (expected -----BEGIN PUBLIC KEY----- "
			       "with an RFC 8410 Ed25519 SubjectPublicKeyInfo)";
			return -1;
		}
		memcpy(pk, der + sizeof spki_prefix, ED25519_PK_LEN);
		return 0;
	}
	json_error_t err;
	json_t *jwk = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (jwk == NULL) {
		*why = "public key is neither PEM nor JWK JSON";
		return -1;
	}
	int rc = ed_pk_from_jwk(jwk, pk, why);
	json_decref(jwk);
	return rc;
}

int ed_seed_from_pem(const char *text, size_t len, uint8_t seed[ED25519_SEED_LEN], const char **why)
{
	uint8_t der[64];
	size_t n = 0;
	int rc = -1;
	if (pem_decode(text, len, "PRIVATE KEY", der, sizeof der, &n) != 0 ||
	    n != sizeof pkcs8_prefix + ED25519_SEED_LEN ||
	    memcmp(der, pkcs8_prefix, sizeof pkcs8_prefix) != 0) {
		*why = "not an Ed25519 private key (expected -----BEGIN PRIVATE KEY----- PKCS#8, "
		       "as written by `tollgate keys gen` or `openssl genpkey -algorithm ed25519`)";
		goto out;
	}
	memcpy(seed, der + sizeof pkcs8_prefix, ED25519_SEED_LEN);
	rc = 0;
out:
	sodium_memzero(der, sizeof der);
	return rc;
}

static char *pem_wrap(const char *label, const uint8_t *der, size_t der_len)
{
	char b64[128];
	char *out = malloc(256);
	if (out == NULL)
		return NULL;
	sodium_bin2base64(b64, sizeof b64, der, der_len, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, 256, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label, b64, label);
	sodium_memzero(b64, sizeof b64);
	return out;
}

char *ed_pk_to_pem(const uint8_t pk[ED25519_PK_LEN])
{
	uint8_t der[sizeof spki_prefix + ED25519_PK_LEN];
	memcpy(der, spki_prefix, sizeof spki_prefix);
	memcpy(der + sizeof spki_prefix, pk, ED25519_PK_LEN);
	return pem_wrap("PUBLIC KEY", der, sizeof der);
}

char *ed_seed_to_pem(const uint8_t seed[ED25519_SEED_LEN])
{
	uint8_t der[sizeof pkcs8_prefix + ED25519_SEED_LEN];
	memcpy(der, pkcs8_prefix, sizeof pkcs8_prefix);
	memcpy(der + sizeof pkcs8_prefix, seed, ED25519_SEED_LEN);
	char *pem = pem_wrap("PRIVATE KEY", der, sizeof der);
	sodium_memzero(der, sizeof der);
	return pem;
}

json_t *ed_pk_to_jwk(const uint8_t pk[ED25519_PK_LEN], const char *kid)
{
	char x[JKT_LEN + 1];
	b64url_encode_to(pk, ED25519_PK_LEN, x);
	json_t *jwk = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed25519", "x", x);
	if (jwk != NULL && kid != NULL) {
		json_object_set_new(jwk, "kid", json_string(kid));
		json_object_set_new(jwk, "alg", json_string("EdDSA"));
		json_object_set_new(jwk, "use", json_string("sig"));
	}
	return jwk;
}

void ed_jwk_thumbprint(const uint8_t pk[ED25519_PK_LEN], char out[JKT_LEN + 1])
{
	/* RFC 7638 §3.2: required members only, lexicographic order, no spaces. */
	char x[JKT_LEN + 1], canon[96];
	uint8_t digest[crypto_hash_sha256_BYTES];
	b64url_encode_to(pk, ED25519_PK_LEN, x);
	int n = snprintf(canon, sizeof canon, "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"%s\"}", x);
	crypto_hash_sha256(digest, (const uint8_t *)canon, (size_t)n);
	b64url_encode_to(digest, sizeof digest, out);
}
