/* oauth_exchange.c - RFC 8693 token exchange for delegation: a workload or
 * AI agent (the authenticated client, the actor) presents an access token
 * of another identity (the subject) and gets a token for that subject
 * whose `act` claim records who acts (and, nested, who acted before), with
 * a scope no wider than both parties may hold: every requested scope token
 * lies within the subject token's scope (entity hierarchy, coverage.h)
 * and policy permits it to the actor itself (Workload::"<actor>"). The new
 * token never outlives the subject token, stays under the subject token's
 * JIT grant (and ends with it), and may be bound to the actor's DPoP key.
 * A sender-constrained subject token is refused: its holder's key is not
 * proven by this request, and exchanging it would unbind it. Problems with
 * the subject token are invalid_request (RFC 8693 §2.2.2).
 *
 * Phases: authenticate the actor -> verify the subject token as
 * introspection does (active, recorded, not revoked, identity active) ->
 * scope (default: the subject token's) within it -> policy for the actor
 * -> TTL -> DPoP -> issue (oauth_issue.h). */
#include "broker/audit_trail.h"
#include "broker/grants.h"
#include "shell/log.h"
#include "broker/oauth_issue.h"
#include "broker/permissions.h"
#include "broker/policy_state.h"
#include "broker/token_state.h"
#include "core/policy/coverage.h"
#include <stdio.h>
#include <string.h>

typedef struct {
	tok_claims_t subject;
	bool has_subject;
	issue_req_t g;
	client_t c;
	bool has_client;
} exchange_t;

static int refuse(req_t *r, exchange_t *x, int status, const char *error, const char *why)
{
	audit_refusal(r, "token.refused", x->has_client ? x->c.identity.id : "unknown", "oauth.token_exchange",
		      NULL, why);
	http_oauth_error(r, status, error, why);
	return -1;
}

/* subject_token and its type, the optional parameters we support, and no
 * actor_token (the actor is the authenticated client). */
static int check_params(req_t *r, exchange_t *x, const form_t *f)
{
	const char *type = form_get(f, "subject_token_type"), *req = form_get(f, "requested_token_type");
	const char *aud = form_get(f, "audience"), *res = form_get(f, "resource");
	if (form_get(f, "subject_token") == NULL || type == NULL)
		return refuse(r, x, 400, "invalid_request", "subject_token and subject_token_type are required");
	if (strcmp(type, TOKEN_TYPE_ACCESS) != 0 && strcmp(type, TOKEN_TYPE_JWT) != 0)
		return refuse(r, x, 400, "invalid_request",
			      "subject_token_type must be " TOKEN_TYPE_ACCESS " (an access token of this broker)");
	if (req != NULL && strcmp(req, TOKEN_TYPE_ACCESS) != 0)
		return refuse(r, x, 400, "invalid_request", "requested_token_type must be " TOKEN_TYPE_ACCESS);
	if (form_get(f, "actor_token") != NULL)
		return refuse(r, x, 400, "invalid_request",
			      "actor_token is not used: the actor is the authenticated client");
	if ((aud != NULL && strcmp(aud, r->b->cfg.audience) != 0) || res != NULL)
		return refuse(r, x, 400, "invalid_target", "audience must be this broker's audience; resource is not "
							   "supported");
	return 0;
}

/* The subject token, verified as introspection does. */
static int check_subject(req_t *r, exchange_t *x, const form_t *f)
{
	const char *why = NULL, *tok = form_get(f, "subject_token");
	token_state_t st = token_state(r->b, tok, r->now, &x->subject, &why);
	x->has_subject = st != TOKEN_INVALID;
	if (st == TOKEN_ERROR)
		return refuse(r, x, 503, "temporarily_unavailable", "the store is unavailable; retry");
	/* RFC 8693 §2.2.2: an invalid or unacceptable subject_token is invalid_request */
	if (st != TOKEN_ACTIVE)
		return refuse(r, x, 400, "invalid_request", why ? why : "the subject token is not active");
	if (strcmp(x->subject.sub, x->c.identity.id) == 0)
		return refuse(r, x, 400, "invalid_request", "the subject token is the client's own: nothing to delegate");
	/* A sender-constrained token is usable only with its holder's key,
	 * which this request does not prove: exchanging it would unbind it. */
	if (x->subject.cnf_jkt != NULL || x->subject.cnf_x5t != NULL)
		return refuse(r, x, 400, "invalid_request", "the subject token is sender-constrained (cnf): its "
							    "holder's key cannot be proven here; delegate an unbound token");
	return 0;
}

/* act: the client, then the chain the subject token carried. */
static int build_act(req_t *r, exchange_t *x)
{
	json_t *act = json_pack("{s:s}", "sub", x->c.identity.id);
	if (act != NULL && x->subject.act != NULL)
		json_object_set(act, "act", (json_t *)x->subject.act);
	if (act == NULL || !tok_act_valid(act)) {
		json_decref(act);
		return refuse(r, x, 400, "invalid_request", "the delegation chain would be longer than 4 actors");
	}
	x->g.act = act;
	return 0;
}

/* Every requested token within the subject token's scope. */
static int check_within(req_t *r, exchange_t *x)
{
	scope_set_t held;
	const char *why = NULL;
	char msg[TG_MAX_SCOPE_TOKEN_LEN + 80];
	if (scope_parse(x->subject.scope, &held, &why) != 0)
		return refuse(r, x, 400, "invalid_grant", "the subject token's scope does not parse");
	const policy_view_t *v = policy_acquire(r->b);
	size_t bad = x->g.scope.n;
	for (size_t i = 0; i < x->g.scope.n && bad == x->g.scope.n; i++) {
		bool in = false;
		for (size_t j = 0; j < held.n && !in; j++)
			in = pol_scope_token_within(v->entities, held.tok[j], x->g.scope.tok[i]);
		if (!in)
			bad = i;
	}
	policy_release(v);
	scope_free(&held);
	if (bad == x->g.scope.n)
		return 0;
	snprintf(msg, sizeof msg, "%s is outside the subject token's scope", x->g.scope.tok[bad]);
	return refuse(r, x, 400, "invalid_scope", msg);
}

/* Policy for the actor itself, with the subject token's grant if any. */
static int check_actor_policy(req_t *r, exchange_t *x)
{
	permission_t pm;
	permission_grant_t ctx = {0};
	permission_req_t q = {"Workload", x->c.identity.id, NULL, r->client_ip, r->now, -1, NULL, NULL};
	char msg[TG_MAX_SCOPE_TOKEN_LEN + 80];
	const char *why = change_window_admit(r->b, &x->g.scope, r->now, x->g.has_jit ? WINDOWS_REQUIRE_OPEN : WINDOWS_OPEN,
					      &x->g.windows, x->g.why, sizeof x->g.why);
	if (why != NULL)
		return refuse(r, x, 400, "invalid_grant", why);
	q.change_window = x->g.windows.any ? x->g.windows.names : NULL;
	if (x->g.has_jit) {
		ctx = grant_policy_context(&x->g.jit);
		q.grant = &ctx;
	}
	int rc = permission_decide(r->b, &q, &x->g.scope, &pm);
	if (rc != 0 || !pm.allow) {
		snprintf(msg, sizeof msg, "%s is not permitted to this client (the actor)",
			 rc != 0 ? "the scope" : x->g.scope.tok[pm.denied]);
		permission_release(&pm);
		return refuse(r, x, rc != 0 ? 500 : 400, rc != 0 ? "server_error" : "invalid_scope", msg);
	}
	x->g.policy_ttl = pm.max_ttl;
	x->g.policy_version = pm.policy_version;
	x->g.policies = pm.policies;
	pm.policies = NULL;
	permission_release(&pm);
	return 0;
}

/* The requested scope, by default the subject token's whole scope. */
static int requested_scope(req_t *r, exchange_t *x, const form_t *f)
{
	const char *why = NULL, *scope = form_get(f, "scope");
	if (scope_parse(scope != NULL ? scope : x->subject.scope, &x->g.scope, &why) != 0)
		return refuse(r, x, 400, "invalid_scope", why);
	return 0;
}

/* The subject token's grant: the new token lives under it too. */
static int subject_grant(req_t *r, exchange_t *x)
{
	if (x->subject.grant == NULL)
		return 0;
	store_rc rc = store_grant_get(r->b->store, x->subject.grant, &x->g.jit);
	if (rc != STORE_OK)
		return refuse(r, x, rc == STORE_ERROR ? 503 : 400, rc == STORE_ERROR ? "temporarily_unavailable"
								    : "invalid_grant", "the subject token's grant is unavailable");
	x->g.has_jit = true;
	return 0;
}

void oauth_token_exchange(req_t *r, const form_t *f)
{
	exchange_t x;
	int64_t requested = 0;
	memset(&x, 0, sizeof x);
	if (oauth_requested_ttl(r, f, &requested) != 0 || client_authenticate(r, f, &x.c) != 0)
		return;
	x.has_client = true;
	if (check_params(r, &x, f) == 0 && check_subject(r, &x, f) == 0 && build_act(r, &x) == 0 &&
	    requested_scope(r, &x, f) == 0 && check_within(r, &x) == 0 && subject_grant(r, &x) == 0 &&
	    check_actor_policy(r, &x) == 0 && oauth_check_dpop(r, &x.c.identity, &x.g) == 0) {
		x.g.sub = x.subject.sub;
		x.g.subject_jti = x.subject.jti;
		x.g.not_after = x.subject.exp;
		x.g.scope_str = scope_join(&x.g.scope);
		x.g.ttl = oauth_cap_ttl(r->b, &x.c.identity, &x.g, requested, r->now);
		if (x.g.scope_str != NULL && x.g.ttl > 0)
			oauth_issue(r, &x.c, &x.g);
		else
			refuse(r, &x, 400, "invalid_grant", "the subject token expires now");
	}
	oauth_issue_req_free(&x.g);
	if (x.has_subject)
		tok_claims_free(&x.subject);
	client_release(&x.c);
}
