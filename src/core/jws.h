/* jws.h - JWS compact serialization (RFC 7515) restricted to Ed25519
 * signatures (RFC 8037). Ed25519 has two JOSE names: "EdDSA" (RFC 8037)
 * and the fully-specified "Ed25519" (RFC 9864, which deprecates "EdDSA"
 * for it); both name the same primitive, so both are accepted, and nothing
 * else (no other curve, no other algorithm, exact spelling only). Parsing is
 * staged, cheapest first: size and shape, then the header (alg one of the
 * two names, no "crit"), then the payload; the signature is checked only by
 * jws_verify(), after the caller has picked the key. */
#ifndef TG_JWS_H
#define TG_JWS_H
#include "core/ed25519_key.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWS_ALG_EDDSA "EdDSA"     /* RFC 8037 */
#define JWS_ALG_ED25519 "Ed25519" /* RFC 9864 */

typedef enum {
	JWS_OK = 0,
	JWS_E_SIZE,      /* empty or over TG_MAX_JWT_LEN */
	JWS_E_SHAPE,     /* not three base64url parts */
	JWS_E_BASE64,    /* a part is not strict base64url */
	JWS_E_HEADER,    /* header is not a JSON object */
	JWS_E_ALG,       /* alg missing or not an Ed25519 name (including "none") */
	JWS_E_CRIT,      /* crit present: no extensions are understood */
	JWS_E_PAYLOAD,   /* payload is not a JSON object */
	JWS_E_SIGNATURE, /* signature does not verify */
} jws_err;

typedef struct {
	json_t *header;       /* owned */
	json_t *payload;      /* owned */
	const char *signing_input; /* points into the parsed string */
	size_t signing_input_len;
	uint8_t sig[64];
} jws_t;

const char *jws_strerror(jws_err e);

/* True when alg is exactly "EdDSA" or "Ed25519". */
bool jws_alg_is_ed25519(const char *alg);

/* Parses a compact JWS. On success the caller must jws_free(). On failure
 * nothing is left to free. */
jws_err jws_parse(const char *compact, size_t len, jws_t *out) __attribute__((warn_unused_result));
jws_err jws_verify(const jws_t *jws, const uint8_t pk[ED25519_PK_LEN])
    __attribute__((warn_unused_result));
void jws_free(jws_t *jws);

/* Signs header.payload with the 64-byte libsodium secret key; header must
 * already carry alg "EdDSA" or "Ed25519". Returns a malloc'd compact string. */
char *jws_sign(const json_t *header, const json_t *payload, const uint8_t sk[64]);

#endif
