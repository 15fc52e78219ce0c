/* token_state.h - is this access token active right now? Signature, time,
 * issuer and audience (core/access_token), exp by the broker's own clock
 * (no leeway: the broker is the authority on its own tokens), then the
 * broker's state: this very token (its SHA-256) was recorded at issuance,
 * is not revoked, the JIT grant it was issued under (if any) is still
 * active, and its identity is active and has no later "not issued before"
 * revocation. */
#ifndef TG_TOKEN_STATE_H
#define TG_TOKEN_STATE_H
#include "broker/broker.h"
#include "core/access_token.h"

typedef enum {
	TOKEN_ACTIVE,
	TOKEN_INVALID,  /* does not verify, or expired past the leeway */
	TOKEN_INACTIVE, /* verifies but expired, revoked, not the token issued
			 * under its jti, or its identity is not active */
	TOKEN_ERROR,    /* store failure: treat as inactive (fail closed) */
} token_state_t;

/* The token's state at now (the request time, r->now). On TOKEN_ACTIVE and
 * TOKEN_INACTIVE, claims are filled (tok_claims_free). */
token_state_t token_state(broker_t *b, const char *token, int64_t now, tok_claims_t *claims,
			  const char **why);

#endif
