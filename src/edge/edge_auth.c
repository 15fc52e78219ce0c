/* edge_auth.c - the forward-auth decision (edge_auth.h). */
#include "edge/edge_auth.h"
#include "core/access_token.h"
#include "core/dpop.h"
#include "core/policy/coverage.h"
#include "core/policy/request_context.h"
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_SCOPE_ACTION "tollgate.probe@"

/* This thread's decision scratch (the HTTP threads keep theirs), freed
 * when the thread exits. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *s)
{
	pol_scratch_free(s);
}

static void scratch_key_init(void)
{
	if (pthread_key_create(&scratch_key, scratch_destroy) != 0)
		abort(); /* only when the process is out of keys at start-up */
}

static pol_scratch_t *scratch(void)
{
	pthread_once(&scratch_once, scratch_key_init);
	pol_scratch_t *s = pthread_getspecific(scratch_key);
	if (s == NULL && (s = pol_scratch_new()) != NULL && pthread_setspecific(scratch_key, s) != 0) {
		pol_scratch_free(s);
		s = NULL;
	}
	return s;
}

__attribute__((format(printf, 5, 6)))
static void refuse(edge_decision_t *d, int status, const char *reason, const char *error, const char *fmt, ...)
{
	va_list ap;
	d->status = status;
	d->reason = reason;
	d->error = error;
	d->record = true;
	va_start(ap, fmt);
	vsnprintf(d->why, sizeof d->why, fmt, ap);
	va_end(ap);
}

/* ---- the token ---- */

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

/* Verifies the token against the synced keys and caches its claims; NULL
 * with the refusal set when it does not verify. State read-locked. */
static edge_cached_t *verify(edge_t *e, const fwd_request_t *q, int64_t now, uint64_t gen, edge_decision_t *d)
{
	size_t n_keys;
	const tok_key_t *keys = edge_state_keys(e->state, &n_keys);
	tok_verify_opts_t o = {e->issuer, e->cfg.audience, now, e->cfg.clock_leeway, keys, n_keys};
	tok_claims_t c;
	edge_claims_t ec;
	const char *why = NULL;
	if (tok_verify(q->token, q->token_len, &o, &c, &why) != 0) {
		bool expired = why != NULL && strstr(why, "expired") != NULL;
		refuse(d, 401, expired ? "expired" : "invalid", "invalid_token", "%s", why ? why : "the token is invalid");
		return NULL;
	}
	memset(&ec, 0, sizeof ec);
	copy(ec.sub, sizeof ec.sub, c.sub);
	copy(ec.jti, sizeof ec.jti, c.jti);
	copy(ec.grant, sizeof ec.grant, c.grant);
	copy(ec.cnf_jkt, sizeof ec.cnf_jkt, c.cnf_jkt);
	copy(ec.cnf_x5t, sizeof ec.cnf_x5t, c.cnf_x5t);
	ec.iat = c.iat;
	ec.exp = c.exp;
	ec.probe = strncmp(c.scope, PROBE_SCOPE_ACTION, strlen(PROBE_SCOPE_ACTION)) == 0;
	const char *swhy = NULL;
	int rc = scope_parse(c.scope, &ec.scope, &swhy);
	tok_claims_free(&c);
	if (rc != 0) {
		refuse(d, 401, "invalid", "invalid_token", "the token's scope does not parse: %s", swhy);
		return NULL;
	}
	edge_cached_t *ent = edge_cache_put(e->cache, q->token, q->token_len, gen, &ec, now);
	if (ent == NULL)
		refuse(d, 401, "invalid", "invalid_token", "out of memory verifying the token");
	return ent;
}

/* Revoked: the jti, the identity, or the grant. State read-locked. */
static bool revoked(edge_t *e, const edge_claims_t *c, int64_t now, edge_decision_t *d)
{
	const edge_identity_t *id = edge_state_identity(e->state, c->sub);
	if (edge_state_token_revoked(e->state, c->jti)) {
		refuse(d, 401, "revoked", "invalid_token", "the token is revoked");
		return true;
	}
	if (id != NULL && (strcmp(id->state, "suspended") == 0 || c->iat <= id->at)) {
		refuse(d, 401, "revoked", "invalid_token", "the token's identity is %s", id->state);
		return true;
	}
	if (c->grant[0] != '\0') {
		const edge_grant_t *g = edge_state_grant(e->state, c->grant);
		if (g == NULL || strcmp(g->state, "active") != 0 || (g->ends_at > 0 && now >= g->ends_at)) {
			refuse(d, 401, "revoked", "invalid_token", "the token's grant %s is %s", c->grant,
			       g == NULL ? "not active at this edge" : strcmp(g->state, "active") == 0 ? "over" : g->state);
			return true;
		}
	}
	return false;
}

/* The sender binding of the token, proven by this request. */
static bool bound(edge_t *e, const fwd_request_t *q, const edge_claims_t *c, int64_t now, edge_decision_t *d)
{
	if (c->cnf_jkt[0] != '\0') {
		dpop_proof_t p;
		const char *why = NULL;
		char token[TG_MAX_JWT_LEN + 1];
		d->dpop = true;
		if (q->scheme != FWD_DPOP || q->dpop == NULL) {
			refuse(d, 401, "binding", "invalid_token", "the token is DPoP-bound: send it as DPoP with a proof");
			return false;
		}
		memcpy(token, q->token, q->token_len);
		token[q->token_len] = '\0';
		dpop_opts_t o = {q->method, q->htu, now, e->cfg.clock_leeway, e->cfg.dpop_max_age, token};
		if (dpop_check(q->dpop, q->dpop_len, &o, &p, &why) != 0) {
			refuse(d, 401, "binding", "invalid_dpop_proof", "%s", why);
			return false;
		}
		if (strcmp(p.jkt, c->cnf_jkt) != 0) {
			refuse(d, 401, "binding", "invalid_dpop_proof", "the DPoP proof is not signed by the token's key");
			return false;
		}
		if (!edge_replay_first_use(e->replay, p.jkt, p.jti, p.iat + e->cfg.dpop_max_age + 2 * e->cfg.clock_leeway,
					   now)) {
			refuse(d, 401, "binding", "invalid_dpop_proof", "the DPoP proof was used before");
			return false;
		}
		return true;
	}
	if (q->scheme == FWD_DPOP) {
		d->dpop = true;
		refuse(d, 401, "binding", "invalid_token", "the token is not DPoP-bound: send it as Bearer");
		return false;
	}
	if (c->cnf_x5t[0] != '\0' &&
	    (strlen(q->x5t) != strlen(c->cnf_x5t) || sodium_memcmp(q->x5t, c->cnf_x5t, strlen(q->x5t)) != 0)) {
		refuse(d, 401, "binding", "invalid_token", "the token is bound to a client certificate the proxy did not forward");
		return false;
	}
	return true;
}

/* ---- the decision on the request ---- */

static bool covered(edge_t *e, const edge_claims_t *c, const pol_euid_t *action, const pol_euid_t *resource)
{
	const pol_entities_t *es = edge_state_entities(e->state);
	for (size_t i = 0; i < c->scope.n; i++)
		if (pol_scope_token_covers(es, c->scope.tok[i], action, resource))
			return true;
	return false;
}

static void policy_ids(const pol_engine_t *eng, const pol_decision_t *pd, char *out, size_t cap)
{
	const pol_set_t *set = pol_engine_set(eng);
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < pd->nreasons && n < cap; i++) {
		pol_str_t id = set->policy[pd->reasons[i]].id;
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", i ? "," : "", (int)id.len, id.p);
	}
}

static void decide_policy(edge_t *e, const fwd_request_t *q, const edge_claims_t *c, const edge_match_t *m,
			  int64_t now, edge_decision_t *d)
{
	pol_euid_t action = {{"Action", 6}, {m->action, strlen(m->action)}};
	pol_euid_t resource = {{m->resource_type, strlen(m->resource_type)}, {m->resource_id, strlen(m->resource_id)}};
	if (!covered(e, c, &action, &resource)) {
		refuse(d, 403, "not_covered", "insufficient_scope", "the token's scope does not cover %s", m->scope);
		return;
	}
	const edge_grant_t *g = c->grant[0] ? edge_state_grant(e->state, c->grant) : NULL;
	pol_ctx_grant_t cg;
	pol_ctx_input_t in = {.src_ip = q->src_ip_text, .now = now, .token_age_s = now > c->iat ? now - c->iat : 0,
			      .method = q->method, .path = d->path};
	if (g != NULL) {
		cg = (pol_ctx_grant_t){c->grant, g->reason, g->approvals, g->break_glass};
		in.grant = &cg;
	}
	pol_ctx_t ctx;
	pol_request_t req = {.principal = {{"Workload", 8}, {c->sub, strlen(c->sub)}}, .action = action,
			     .resource = resource, .context = pol_ctx_build(&ctx, &in)};
	pol_facts_t facts = {.grant_approvals = g ? g->approvals : -1, .mfa_age_s = -1};
	pol_decision_t pd;
	pol_scratch_t *s = scratch();
	const pol_engine_t *eng = edge_state_engine(e->state);
	if (s == NULL || pol_authorize(eng, edge_state_entities(e->state), &req, &facts, s, &pd) != 0) {
		refuse(d, 403, "denied", NULL, "the policy decision failed (out of memory)");
		return;
	}
	policy_ids(eng, &pd, d->policies, sizeof d->policies);
	if (!pd.allow) {
		refuse(d, 403, "denied", NULL, "%s",
		       pd.nreasons > 0 ? "forbidden by policy"
		       : pd.nunmet > 0 ? "a permit's obligation is not met (@requires_grant or @requires_mfa)"
				       : "no policy permits it");
		return;
	}
	d->status = 200;
	d->reason = "allow";
	snprintf(d->why, sizeof d->why, "allowed");
}

/* Token, revocation, binding, then the request. State read-locked. */
static void decide_token(edge_t *e, const fwd_request_t *q, const edge_match_t *m, int64_t now, edge_decision_t *d)
{
	uint64_t gen = edge_state_keys_generation(e->state);
	edge_cached_t *ent = edge_cache_get(e->cache, q->token, q->token_len, gen);
	if (ent == NULL && (ent = verify(e, q, now, gen, d)) == NULL)
		return;
	const edge_claims_t *c = edge_cached_claims(ent);
	copy(d->sub, sizeof d->sub, c->sub);
	copy(d->jti, sizeof d->jti, c->jti);
	copy(d->grant, sizeof d->grant, c->grant);
	if (now > c->exp + e->cfg.clock_leeway)
		refuse(d, 401, "expired", "invalid_token", "the token has expired");
	else if (revoked(e, c, now, d))
		;
	else if (d->probe || c->probe)
		refuse(d, 403, "probe", NULL, "a probe: the credential is not revoked here");
	else if (bound(e, q, c, now, d))
		decide_policy(e, q, c, m, now, d);
	edge_cached_release(ent);
}

static bool request_ok(edge_t *e, const fwd_input_t *in, fwd_request_t *q, edge_decision_t *d)
{
	const char *why = NULL;
	fwd_status_t st = fwd_request_parse(in, &e->trusted, q, &why);
	if (st == FWD_OK) {
		d->dpop = q->scheme == FWD_DPOP;
		return true;
	}
	switch (st) {
	case FWD_NO_TOKEN:
		refuse(d, 401, "missing", NULL, "%s", why);
		break;
	case FWD_BAD_TOKEN:
		refuse(d, 401, "malformed", "invalid_request", "%s", why);
		break;
	case FWD_BAD_DPOP:
		d->dpop = true;
		refuse(d, 401, "malformed", "invalid_dpop_proof", "%s", why);
		break;
	default:
		refuse(d, 400, "malformed", NULL, "%s", why);
		break;
	}
	return false;
}

void edge_decide(edge_t *e, const fwd_input_t *in, bool probe, int64_t now_ms, edge_decision_t *d)
{
	fwd_request_t q;
	edge_match_t m;
	int64_t now = now_ms / 1000;
	memset(d, 0, sizeof *d);
	d->route = -1;
	d->probe = probe;
	bool ok = request_ok(e, in, &q, d);
	if (ok || d->status == 401) { /* what the request named, for the record */
		copy(d->method, sizeof d->method, q.method);
		snprintf(d->path, sizeof d->path, "%.*s", (int)q.path_len, q.target);
		copy(d->src, sizeof d->src, q.src_ip_text);
	}
	if (!ok)
		return;
	if (!probe) {
		if (edge_route_match(e->cfg.routes, e->cfg.n_routes, q.method, q.target, &m) != EDGE_ROUTE_MATCH) {
			refuse(d, 403, "no_route", NULL, "%s", m.why ? m.why : "no route matches");
			return;
		}
		d->route = (long)m.route;
		copy(d->action, sizeof d->action, m.action);
		snprintf(d->resource, sizeof d->resource, "%s:%s", m.resource_type, m.resource_id);
	}
	bool stale_open = !probe && e->cfg.routes[m.route].stale_open;
	edge_state_read(e->state);
	if (!edge_state_ready(e->state))
		refuse(d, 403, "stale", NULL, "the edge has no state from the broker yet");
	else if (edge_stale(e, now_ms) && !stale_open && !probe)
		refuse(d, 403, "stale", NULL, "the edge has not heard from the broker for more than max_stale");
	else
		decide_token(e, &q, &m, now, d);
	edge_state_done(e->state);
	/* an allow on a stale=open route is not privileged: no record */
	d->record = d->status != 200 || !stale_open;
}
