/* token_state.c - the broker's view of whether a token is active. */
#include "broker/token_state.h"
#include <string.h>

#define MAX_VERIFY_KEYS 16

token_state_t token_state(broker_t *b, const char *token, tok_claims_t *claims, const char **why)
{
	tok_key_t keys[MAX_VERIFY_KEYS];
	char kids[MAX_VERIFY_KEYS][TG_MAX_KID_LEN + 1];
	token_record_t rec;
	identity_t id;
	size_t n = signer_public_keys(b->signer, keys, kids, MAX_VERIFY_KEYS);
	tok_verify_opts_t o = {b->issuer, b->cfg.audience, broker_now(), b->cfg.clock_leeway, keys, n};
	if (tok_verify(token, strlen(token), &o, claims, why) != 0)
		return TOKEN_INVALID;
	store_rc rc = store_token_get(b->store, claims->jti, &rec);
	if (rc == STORE_ERROR)
		return TOKEN_ERROR;
	if (rc != STORE_OK || strcmp(rec.identity_id, claims->sub) != 0) {
		*why = "token is not known to this broker";
		return TOKEN_INACTIVE;
	}
	if (rec.revoked_at != 0) {
		*why = "token has been revoked";
		return TOKEN_INACTIVE;
	}
	rc = store_identity_get(b->store, claims->sub, &id);
	token_state_t st = TOKEN_ACTIVE;
	if (rc == STORE_ERROR) {
		st = TOKEN_ERROR;
	} else if (rc != STORE_OK || strcmp(id.status, "active") != 0) {
		*why = "the token's identity is not active";
		st = TOKEN_INACTIVE;
	} else if (claims->iat < id.not_before) {
		*why = "the token's identity revoked every token issued before this one";
		st = TOKEN_INACTIVE;
	}
	identity_release(&id);
	return st;
}
