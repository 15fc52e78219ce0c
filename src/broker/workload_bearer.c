/* workload_bearer.c - access tokens as /v1 credentials (workload_bearer.h). */
#include "broker/workload_bearer.h"
#include "broker/broker.h"
#include "broker/token_state.h"
#include "core/b64url.h"
#include "core/dpop.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The DPoP proof for this request, bound to token and to claims' key, and
 * not seen before. */
static bool dpop_proven(req_t *r, const char *token, const tok_claims_t *claims)
{
	const char *proof = http_header(r, "DPoP");
	char htu[sizeof r->b->issuer + TG_MAX_URI], key[JKT_LEN + TG_MAX_JTI_LEN + 2];
	dpop_proof_t p;
	const char *why = NULL;
	if (proof == NULL || claims->cnf_jkt == NULL)
		return false;
	snprintf(htu, sizeof htu, "%s%s", r->b->issuer, r->path);
	dpop_opts_t o = {r->method, htu, r->now, r->b->cfg.clock_leeway, r->b->cfg.dpop_max_age, token};
	if (dpop_check(proof, strlen(proof), &o, &p, &why) != 0 || strcmp(p.jkt, claims->cnf_jkt) != 0)
		return false;
	snprintf(key, sizeof key, "%s|%s", p.jkt, p.jti);
	return store_jti_use(r->b->store, "dpop", key, r->now + r->b->cfg.dpop_max_age +
						    2 * r->b->cfg.clock_leeway) == STORE_OK;
}

/* The connection's client certificate is the one the token is bound to. */
static bool mtls_proven(const req_t *r, const tok_claims_t *claims)
{
	uint8_t der_hash[32];
	char x5t[48];
	if (r->tls_fp[0] == '\0' || hex_decode(r->tls_fp, der_hash, sizeof der_hash) != 0)
		return false;
	b64url_encode_to(der_hash, sizeof der_hash, x5t);
	return strlen(claims->cnf_x5t) == strlen(x5t) && sodium_memcmp(claims->cnf_x5t, x5t, strlen(x5t)) == 0;
}

static bool binding_proven(req_t *r, const char *token, const tok_claims_t *c, bool dpop_scheme)
{
	if (c->cnf_jkt != NULL)
		return dpop_scheme && dpop_proven(r, token, c);
	if (dpop_scheme)
		return false;
	return c->cnf_x5t == NULL || mtls_proven(r, c);
}

bool workload_bearer(req_t *r)
{
	const char *auth = http_header(r, "Authorization");
	tok_claims_t claims;
	const char *why = NULL;
	identity_t id;
	bool ok = false;
	if (auth == NULL)
		return false;
	bool dpop = strncasecmp(auth, "DPoP ", 5) == 0;
	if (!dpop && strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	const char *token = auth + (dpop ? 5 : 7);
	/* operator sessions and the admin token are not JWTs: skip them cheaply */
	if (strchr(token, '.') == NULL)
		return false;
	memset(&claims, 0, sizeof claims);
	if (token_state(r->b, token, r->now, &claims, &why) != TOKEN_ACTIVE) {
		tok_claims_free(&claims);
		return false;
	}
	if (binding_proven(r, token, &claims, dpop) &&
	    store_identity_get(r->b->store, claims.sub, &id) == STORE_OK) {
		actor_identity(&r->actor, id.id, id.kind);
		identity_release(&id);
		ok = true;
	}
	tok_claims_free(&claims);
	return ok;
}
