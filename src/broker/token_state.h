/* token_state.h - is this access token active right now? Signature, time,
 * issuer and audience (core/access_token), then the broker's state: the
 * token was recorded at issuance, is not revoked, and its identity is
 * active and has no later "not issued before" revocation. */
#ifndef TG_TOKEN_STATE_H
#define TG_TOKEN_STATE_H
#include "broker/broker.h"
#include "core/access_token.h"

typedef enum {
	TOKEN_ACTIVE,
	TOKEN_INVALID,  /* does not verify or has expired */
	TOKEN_INACTIVE, /* verifies but revoked, unknown or identity not active */
	TOKEN_ERROR,    /* store failure: treat as inactive (fail closed) */
} token_state_t;

/* On TOKEN_ACTIVE and TOKEN_INACTIVE, claims are filled (tok_claims_free). */
token_state_t token_state(broker_t *b, const char *token, tok_claims_t *claims, const char **why);

#endif
