/* workload_bearer.h - a workload's (or edge's) own access token as a /v1
 * credential: a grant's identity ends its grant with it. The token must be
 * active (token_state.h) and its sender binding proven on this very
 * request: a DPoP-bound token comes as `Authorization: DPoP <token>` with a
 * fresh, single-use DPoP proof for this method and URL and the token's hash
 * (RFC 9449 §7); an mTLS-bound one over a connection with that certificate
 * (RFC 8705 §3); an unbound one as `Authorization: Bearer <token>`. */
#ifndef TG_WORKLOAD_BEARER_H
#define TG_WORKLOAD_BEARER_H
#include "broker/http.h"
#include <stdbool.h>

/* Fills r->actor (ACTOR_WORKLOAD or ACTOR_EDGE) and returns true when r
 * carries such a token; false otherwise (nothing answered). */
bool workload_bearer(req_t *r);

#endif
