/* oauth_issue.h - the issuing half of POST /oauth/token that both grant
 * types share (oauth_token.c: client_credentials; oauth_exchange.c: RFC
 * 8693 token exchange): TTL capping, the DPoP proof, signing, the durable
 * record (single-use jtis, token row, token.issued) and the answer. */
#ifndef TG_OAUTH_ISSUE_H
#define TG_OAUTH_ISSUE_H
#include "broker/broker.h"
#include "broker/change_windows.h"
#include "broker/client_auth.h"
#include "core/dpop.h"
#include "core/form.h"
#include "core/scope.h"
#include "store/store.h"
#include <jansson.h>

#define GRANT_TYPE_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define TOKEN_TYPE_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define TOKEN_TYPE_JWT "urn:ietf:params:oauth:token-type:jwt"

typedef struct {
	scope_set_t scope;
	char *scope_str;
	int64_t ttl;
	int64_t policy_ttl;     /* smallest @max_ttl of the determining permits; -1 none */
	int64_t policy_version;
	json_t *policies;       /* the determining permits' ids */
	dpop_proof_t dpop;
	bool has_dpop;
	grant_t jit;            /* the JIT grant the token is issued under */
	bool has_jit;
	/* token exchange (RFC 8693): the subject the token is for (NULL: the
	 * client itself), the act claim naming the client and the chain
	 * before it, the exchanged token's jti, and its exp (0: none) */
	const char *sub;
	json_t *act;
	const char *subject_jti;
	int64_t not_after;
	window_admission_t windows; /* the open change windows of the scope tokens */
	char why[TG_MAX_SCOPE_TOKEN_LEN + 200];
} issue_req_t;

/* The requested lifetime hint: `ttl` (Tollgate) or `expires_in`. */
int oauth_requested_ttl(req_t *r, const form_t *f, int64_t *out) __attribute__((warn_unused_result));
/* min(requested or the default, the identity's max_ttl, the policies'
 * @max_ttl, the server cap, the grant's end, not_after, and under a grant
 * the end of the change windows the scope is in). */
int64_t oauth_cap_ttl(const broker_t *b, const identity_t *id, const issue_req_t *g, int64_t requested,
		      int64_t now);
/* RFC 9449 §4.3: at most one DPoP header, carrying one valid proof. */
int oauth_check_dpop(req_t *r, const identity_t *id, issue_req_t *g) __attribute__((warn_unused_result));
/* Signs, records and answers, the calling thread waiting for the store. */
void oauth_issue(req_t *r, const client_t *c, issue_req_t *g);
/* The same without blocking the HTTP thread: c and g move into the
 * issuance (left zeroed, so releasing them is a no-op), the connection is
 * suspended until the write is durable, and answered when it resumes. */
void oauth_issue_held(req_t *r, client_t *c, issue_req_t *g);
/* Before the HTTP server stops (it cannot with a suspended connection):
 * no issuance is held from now on, and this returns once every held one
 * was answered (each within its commit group's time). */
void oauth_issue_release(void);
void oauth_issue_req_free(issue_req_t *g);

/* grant_type=urn:ietf:params:oauth:grant-type:token-exchange (oauth_exchange.c). */
void oauth_token_exchange(req_t *r, const form_t *f);

#endif
