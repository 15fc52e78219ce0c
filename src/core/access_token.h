/* access_token.h - Tollgate access tokens: JWT profile of RFC 9068
 * (typ "at+jwt", Ed25519 named "EdDSA" or, when configured, "Ed25519", kid) with optional sender binding cnf (RFC 9449
 * "jkt", RFC 8705 "x5t#S256") and an optional Token Status List entry
 * ("status", core/status_list.h). Issue and verify; pure, time passed in. */
#ifndef TG_ACCESS_TOKEN_H
#define TG_ACCESS_TOKEN_H
#include "core/ed25519_key.h"
#include "core/jws.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *issuer;
	const char *audience;
	const char *sub;
	const char *client_id;
	const char *scope;
	const char *jti;
	const char *kid;
	int64_t iat;
	int64_t exp;
	const char *cnf_jkt;  /* DPoP binding, or NULL */
	const char *cnf_x5t;  /* mTLS binding, or NULL */
	const char *alg;      /* header alg: JWS_ALG_EDDSA (NULL) or JWS_ALG_ED25519 */
	const char *grant;    /* the JIT grant id (claim "grant"), or NULL */
	const json_t *act;    /* RFC 8693 act claim (delegation chain), or NULL */
	/* Token Status List (core/status_list.h): claim "status": {"status_list":
	 * {"idx", "uri"}} when status_uri is set */
	const char *status_uri;
	int64_t status_idx;
} tok_issue_t;

typedef struct {
	const char *kid;
	uint8_t pk[ED25519_PK_LEN];
} tok_key_t;

typedef struct {
	const char *issuer;
	const char *audience;
	int64_t now;
	int64_t leeway;
	const tok_key_t *keys;
	size_t n_keys;
} tok_verify_opts_t;

typedef struct {
	jws_t jws; /* owns the claims below */
	const char *kid, *sub, *client_id, *jti, *scope;
	const char *cnf_jkt, *cnf_x5t;
	const char *grant; /* NULL when the token carries none */
	const json_t *act; /* RFC 8693 act claim: {"sub", "act"?}, or NULL */
	const char *status_uri; /* the Token Status List entry, or NULL (and idx -1) */
	int64_t status_idx;
	int64_t iat, exp;
} tok_claims_t;

/* Returns a malloc'd compact JWT signed with sk. */
char *tok_issue(const tok_issue_t *t, const uint8_t sk[64]);

/* Verifies a compact access token: shape, alg, typ, kid in keys, exp/nbf/iat,
 * iss, aud, required claims, then the signature. On success fills out
 * (release with tok_claims_free); on failure sets *why and frees all. */
int tok_verify(const char *compact, size_t len, const tok_verify_opts_t *o, tok_claims_t *out,
	       const char **why) __attribute__((warn_unused_result));
void tok_claims_free(tok_claims_t *c);

/* An RFC 8693 act claim: {"sub": ID, "act": {...}?} nested at most
 * TG_MAX_ACT_DEPTH deep, each sub an identity id. */
bool tok_act_valid(const json_t *act);

/* SHA-256 of the compact token, hex (65 bytes): how logs refer to a token. */
void tok_hash_hex(const char *compact, size_t len, char out[65]);

#endif
