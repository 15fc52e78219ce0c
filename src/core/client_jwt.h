/* client_jwt.h - the client side of workload authentication: a workload's
 * Ed25519 key loaded from its PEM file, the private_key_jwt client
 * assertion it signs for the token endpoint (RFC 7523 §2.2, checked by
 * core/client_assertion.h) and the DPoP proofs it signs per request
 * (RFC 9449 §4.2, checked by core/dpop.h). Shared by the CLI and the edge
 * agent. Pure apart from libsodium's randomness for jti; time is passed in. */
#ifndef TG_CLIENT_JWT_H
#define TG_CLIENT_JWT_H
#include "core/ed25519_key.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
	uint8_t sk[ED25519_SK_LEN];
	uint8_t pk[ED25519_PK_LEN];
	char kid[JKT_LEN + 1]; /* the default kid: RFC 7638 thumbprint of pk */
} client_key_t;

/* Key from PEM "PRIVATE KEY" (PKCS#8) text. On error *why says what is wrong
 * and k holds no secret. */
int client_key_from_pem(const char *pem, size_t len, client_key_t *k, const char **why)
    __attribute__((warn_unused_result));
/* Zeroes the key. */
void client_key_free(client_key_t *k);

/* Compact JWS: iss = sub = client_id, aud, random jti, iat = now,
 * exp = now + lifetime; header kid = kid, or k->kid when kid is NULL.
 * malloc'd, or NULL on bad input or allocation failure. */
char *client_assertion_sign(const client_key_t *k, const char *client_id, const char *aud,
			    const char *kid, int64_t now, int64_t lifetime);

/* Compact JWS of typ dpop+jwt with k's public jwk in the header: htm, htu,
 * random jti, iat = now, and ath = base64url(SHA-256(access_token)) when an
 * access token is given (NULL: a proof for the token request itself).
 * malloc'd, or NULL on bad input or allocation failure. */
char *dpop_proof_sign(const client_key_t *k, const char *htm, const char *htu,
		      const char *access_token, int64_t now);

#endif
