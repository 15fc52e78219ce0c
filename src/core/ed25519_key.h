/* ed25519_key.h - Ed25519 key formats: JWK (RFC 8037 OKP), PEM (SPKI for
 * public keys, PKCS#8 for private keys, RFC 8410) and the RFC 7638 JWK
 * thumbprint that names a key (kid) and binds tokens to it (cnf.jkt).
 * Tollgate accepts Ed25519 only; any other key type is refused. */
#ifndef TG_ED25519_KEY_H
#define TG_ED25519_KEY_H
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ED25519_PK_LEN 32
#define ED25519_SEED_LEN 32
#define ED25519_SK_LEN 64
#define JKT_LEN 43 /* base64url of a SHA-256 */

/* Public key from a JWK object: kty "OKP", crv "Ed25519", x of 32 bytes, and
 * no private member "d". */
int ed_pk_from_jwk(const json_t *jwk, uint8_t pk[ED25519_PK_LEN], const char **why)
    __attribute__((warn_unused_result));
/* Public key from PEM "PUBLIC KEY" (SPKI) or from JWK text; picks by content. */
int ed_pk_from_text(const char *text, size_t len, uint8_t pk[ED25519_PK_LEN], const char **why)
    __attribute__((warn_unused_result));
/* 32-byte seed from PEM "PRIVATE KEY" (PKCS#8 v1). */
int ed_seed_from_pem(const char *text, size_t len, uint8_t seed[ED25519_SEED_LEN], const char **why)
    __attribute__((warn_unused_result));

/* The DER of the first PEM block labelled label ("CERTIFICATE" for
 * -----BEGIN CERTIFICATE-----): 0 and *der_len, or -1 when there is none, it
 * does not fit der_cap, or its body is not strict base64 (whitespace
 * allowed). Also used for client certificates (core/fwd_request.c). */
int pem_decode(const char *text, size_t len, const char *label, uint8_t *der, size_t der_cap,
	       size_t *der_len) __attribute__((warn_unused_result));
/* malloc'd PEM strings. */
char *ed_pk_to_pem(const uint8_t pk[ED25519_PK_LEN]);
char *ed_seed_to_pem(const uint8_t seed[ED25519_SEED_LEN]);
/* New JWK object {"kty","crv","x"} plus kid/alg/use when given (may be NULL). */
json_t *ed_pk_to_jwk(const uint8_t pk[ED25519_PK_LEN], const char *kid);
/* RFC 7638 thumbprint, base64url, into out[JKT_LEN+1]. */
void ed_jwk_thumbprint(const uint8_t pk[ED25519_PK_LEN], char out[JKT_LEN + 1]);

#endif
