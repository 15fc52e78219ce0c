/* dpop.h - DPoP proof checks (RFC 9449 §4.3): typ "dpop+jwt", alg Ed25519
 * (named "EdDSA" or "Ed25519", core/jws.h),
 * an embedded public Ed25519 jwk that verifies the proof, htm and htu equal
 * to this request, iat fresh, jti present (single use is the caller's job),
 * ath equal to the access token's hash when one is presented. */
#ifndef TG_DPOP_H
#define TG_DPOP_H
#include "core/ed25519_key.h"
#include "core/limits.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *method;       /* "POST" */
	const char *url;          /* the request URL, without query */
	int64_t now;
	int64_t leeway;
	int64_t max_age;
	const char *access_token; /* when presented with a token (ath), else NULL */
} dpop_opts_t;

typedef struct {
	char jkt[JKT_LEN + 1];       /* RFC 7638 thumbprint of the proof key */
	char jti[TG_MAX_JTI_LEN + 1];
	int64_t iat;
} dpop_proof_t;

int dpop_check(const char *proof, size_t len, const dpop_opts_t *o, dpop_proof_t *out,
	       const char **why) __attribute__((warn_unused_result));
/* The ath of an access token: base64url(SHA-256(token)), RFC 9449 §4.2. */
void dpop_ath(const char *access_token, char out[JKT_LEN + 1]);

#endif
