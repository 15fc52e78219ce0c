/* edge_auth.h - one forward-auth decision (DESIGN §3.7, docs/edge.md):
 * from the proxy's subrequest to allow (200) or refuse (401 or 403), with
 * everything the answer and the audit record need.
 *
 * Order of the checks, each refusing with its own reason code (the
 * X-Tollgate-Reason header):
 *   1. the request itself (core/fwd_request.h): missing (401, bare
 *      challenge), malformed (401 invalid_request), bad DPoP header (401
 *      invalid_dpop_proof), proxy headers unusable (400 malformed);
 *   2. the route (core/edge_route.h): no route (403 no_route); a probe
 *      (X-Tollgate-Probe) skips the route and never gets a 200;
 *   3. the edge's own state: none yet, or stale on a route without
 *      stale=open (403 stale);
 *   4. the token: signature, typ, kid, iss, aud, exp/nbf (401 invalid_token:
 *      reason invalid or expired), from the cache when it was verified
 *      under the current keys;
 *   5. revocation against the synced state: the jti, the identity (not
 *      active), the JIT grant (not known active here, or past its end)
 *      (401 invalid_token, reason revoked);
 *   6. the sender binding: a DPoP-bound token needs the DPoP scheme and a
 *      proof for this method and URL, signed by the bound key, fresh and
 *      never seen before; a certificate-bound token needs the forwarded
 *      certificate (401, reason binding);
 *   7. scope coverage of this action and resource (403 insufficient_scope,
 *      reason not_covered);
 *   8. Cedar policy with the request context (403, reason denied).
 * Any failure to decide is a refusal. */
#ifndef TG_EDGE_AUTH_H
#define TG_EDGE_AUTH_H
#include "edge/edge.h"

typedef struct {
	int status;              /* 200, 400, 401 or 403 (edge_http.c: 503 inject_unavailable) */
	const char *reason;      /* reason code (X-Tollgate-Reason); "allow" on 200 */
	const char *error;       /* RFC 6750 / RFC 9449 error code for WWW-Authenticate, or NULL */
	char why[200];           /* a sentence, for the log and the audit record */
	bool dpop;               /* the challenge names DPoP (the token is DPoP-bound or the scheme was DPoP) */
	bool record;             /* an audit record is due (every deny, every privileged allow) */
	bool probe;
	long route;              /* index of the matched route, -1 none */
	char sub[TG_MAX_ID_LEN + 1];
	char jti[TG_MAX_JTI_LEN + 1];
	char grant[TG_GRANT_ID_LEN + 1];
	char action[TG_MAX_SCOPE_TOKEN_LEN + 1];
	char resource[2 * TG_MAX_SCOPE_TOKEN_LEN + 2]; /* Type:id */
	char method[TG_EDGE_MAX_METHOD + 1];
	char path[TG_MAX_URI + 1];
	char src[48];
	char policies[256];      /* determining policy ids, comma-separated (truncated) */
} edge_decision_t;

void edge_decide(edge_t *e, const fwd_input_t *in, bool probe, int64_t now_ms, edge_decision_t *out);

#endif
