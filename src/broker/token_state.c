/* token_state.c - the broker's view of whether a token is active. */
#include "broker/token_state.h"
#include <sodium.h>
#include <string.h>

#define MAX_VERIFY_KEYS 16

/* The presented token is byte for byte the one recorded at issuance: its
 * SHA-256 equals the stored one (compared in constant time). A token that
 * carries a real jti and sub but other claims, signed with a stolen key,
 * is not. */
static bool is_the_issued_token(const char *token, const token_record_t *rec)
{
	char hash[65];
	if (strlen(rec->sha256) != 64)
		return false;
	tok_hash_hex(token, strlen(token), hash);
	return sodium_memcmp(hash, rec->sha256, 64) == 0;
}

/* A token issued under a JIT grant is active only while the grant is:
 * ended, revoked or expired, every token under it stops at once. */
static token_state_t check_grant(broker_t *b, const char *grant, int64_t now, const char **why)
{
	grant_status_t g;
	store_rc rc = store_grant_status(b->store, grant, &g);
	if (rc == STORE_ERROR)
		return TOKEN_ERROR;
	if (rc != STORE_OK || grant_effective(g.state, now, g.start, g.expires_at, g.ends_at) != GRANT_ACTIVE) {
		*why = "the token's grant has ended";
		return TOKEN_INACTIVE;
	}
	return TOKEN_ACTIVE;
}

/* The recorded token: issued by this broker, this very token, not revoked,
 * and its grant (if any) still active. */
static token_state_t check_record(broker_t *b, const char *token, const tok_claims_t *claims, int64_t now,
				  const char **why)
{
	token_record_t rec;
	store_rc rc = store_token_get(b->store, claims->jti, &rec);
	if (rc == STORE_ERROR)
		return TOKEN_ERROR;
	if (rc != STORE_OK || !is_the_issued_token(token, &rec) || strcmp(rec.identity_id, claims->sub) != 0) {
		*why = "token is not known to this broker";
		return TOKEN_INACTIVE;
	}
	if (rec.revoked_at != 0) {
		*why = "token has been revoked";
		return TOKEN_INACTIVE;
	}
	return rec.grant[0] != '\0' ? check_grant(b, rec.grant, now, why) : TOKEN_ACTIVE;
}

static token_state_t check_identity(broker_t *b, const tok_claims_t *claims, const char **why)
{
	identity_t id;
	store_rc rc = store_identity_get(b->store, claims->sub, &id);
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

/* Every actor of a delegated token (RFC 8693 act chain) is still active:
 * offboarding an agent ends the tokens it holds for others. */
static token_state_t check_actors(broker_t *b, const tok_claims_t *claims, const char **why)
{
	token_state_t st = TOKEN_ACTIVE;
	for (const json_t *act = claims->act; act != NULL && st == TOKEN_ACTIVE; act = json_object_get(act, "act")) {
		tok_claims_t as_sub = {.sub = json_string_value(json_object_get(act, "sub")), .iat = claims->iat};
		st = check_identity(b, &as_sub, why);
		if (st == TOKEN_INACTIVE)
			*why = "an actor of the delegated token is not active";
	}
	return st;
}

token_state_t token_state(broker_t *b, const char *token, int64_t now, tok_claims_t *claims, const char **why)
{
	tok_key_t keys[MAX_VERIFY_KEYS];
	char kids[MAX_VERIFY_KEYS][TG_MAX_KID_LEN + 1];
	size_t n = signer_public_keys(b->signer, keys, kids, MAX_VERIFY_KEYS);
	tok_verify_opts_t o = {b->issuer, b->cfg.audience, now, b->cfg.clock_leeway, keys, n};
	if (tok_verify(token, strlen(token), &o, claims, why) != 0)
		return TOKEN_INVALID;
	/* The leeway is for other parties' clocks: by its own clock the broker
	 * knows when its token expires. */
	if (claims->exp <= now) {
		*why = "token has expired";
		return TOKEN_INACTIVE;
	}
	token_state_t st = check_record(b, token, claims, now, why);
	if (st == TOKEN_ACTIVE)
		st = check_identity(b, claims, why);
	return st == TOKEN_ACTIVE ? check_actors(b, claims, why) : st;
}
