/* authorize_api.c - POST /v1/authorize: the decision API enforcement
 * points and other services call. Input: a token (or a principal), an
 * action, a resource and a context; output: the Cedar decision with the
 * determining and errored policy ids, unmet obligations and the versions it
 * was made with. Every decision is an authz.allow / authz.deny audit record.
 *
 * Phases: parse and check the body -> principal (with a token: verify it as
 * introspection does - signature, time, issuer, audience, recorded, not
 * revoked, identity active - and take its sub) -> action, resource,
 * context with defaults (now, hour, weekday, src_ip, token_age_s) -> with a
 * token, scope coverage (docs/architecture.md, Scope: some scope token's action is the
 * request's or an action group containing it, and the request's resource is
 * the scope's resource or a descendant of it) -> policy -> record -> answer.
 * Sender binding (DPoP, mTLS) is for the enforcement point that saw the
 * request to check; the answer carries the token's cnf. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/change_windows.h"
#include "broker/handlers.h"
#include "broker/metrics.h"
#include "broker/permissions.h"
#include "broker/policy_state.h"
#include "broker/token_state.h"
#include "core/policy/action_ref.h"
#include "core/policy/cedar_json.h"
#include "core/policy/coverage.h"
#include "core/policy/request_context.h"
#include "core/scope.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	pol_arena_t *arena;
	const policy_view_t *view;
	pol_request_t req;
	pol_value_t ctx;
	pol_facts_t facts;
	bool has_token;   /* claims are filled (the token verified) */
	bool inactive;    /* a token was given but is not active: deny */
	tok_claims_t claims;
	const char *tok_why; /* why the token is not active (static text) */
	bool has_grant;   /* the active token was issued under grant */
	grant_status_t grant;
	window_state_t window; /* the resource's change control (change_windows.h) */
	char *actor;      /* audit actor */
	char *principal;  /* Cedar text */
	char *resource;   /* compact Type:id for the audit record */
	char *action;
	json_t *ctx_json; /* the context evaluated (defaults added), for the record */
} authz_t;

static void authz_free(authz_t *z)
{
	if (z->has_token)
		tok_claims_free(&z->claims);
	if (z->view != NULL)
		policy_release(z->view);
	pol_arena_free(z->arena);
	free(z->actor);
	free(z->principal);
	free(z->resource);
	free(z->action);
	json_decref(z->ctx_json);
}

__attribute__((format(printf, 2, 3)))
static int bad(req_t *r, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	http_problem(r, 400, "Invalid authorization request", msg);
	return -1;
}

static char *compact_text(const pol_euid_t *u)
{
	size_t n = u->type.len + u->id.len + 2;
	char *s = malloc(n);
	if (s != NULL)
		snprintf(s, n, "%s:%s", u->type.p, u->id.p);
	return s;
}

static int check_members(req_t *r, const json_t *doc)
{
	static const char *const known[] = {"token", "principal", "action", "resource", "context",
					    "grant_approvals", "mfa_age_s", NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)doc, k, v) {
		const char *const *p = known;
		while (*p != NULL && strcmp(*p, k) != 0)
			p++;
		if (*p == NULL)
			return bad(r, "unknown member \"%.64s\" (send token or principal, action, resource, "
				      "context, grant_approvals, mfa_age_s)", k);
	}
	const json_t *tok = json_object_get(doc, "token"), *pr = json_object_get(doc, "principal");
	if ((tok == NULL) == (pr == NULL))
		return bad(r, "%s", "send exactly one of token (an access token) and principal (an entity)");
	if (tok != NULL && (!json_is_string(tok) || json_string_length(tok) == 0 ||
			    json_string_length(tok) > TG_MAX_JWT_LEN))
		return bad(r, "%s", "token must be an access token string");
	if (json_object_get(doc, "action") == NULL || json_object_get(doc, "resource") == NULL)
		return bad(r, "%s", "action and resource are required");
	const json_t *ctx = json_object_get(doc, "context");
	if (ctx != NULL && !json_is_object(ctx))
		return bad(r, "%s", "context must be an object (Cedar JSON values)");
	return 0;
}

/* An optional non-negative integer fact; -1 when absent or null. */
static int fact(req_t *r, const json_t *doc, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(doc, name);
	*out = -1;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(r, "%s must be a non-negative integer (or null)", name);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* An entity reference member; for the action a bare name means
 * Action::"name" (core/policy/action_ref.h). */
static int euid_member(req_t *r, authz_t *z, const json_t *doc, const char *name, pol_euid_t *out)
{
	char why[200], msg[300];
	const json_t *v = json_object_get(doc, name);
	int rc = strcmp(name, "action") == 0 ? pol_action_ref(z->arena, v, out, why, sizeof why)
					     : pol_json_euid(z->arena, v, out, why, sizeof why);
	if (rc != 0) {
		snprintf(msg, sizeof msg, "%s: %s (write Type::\"id\", Type:id or {\"type\", \"id\"})", name, why);
		http_problem(r, 400, "Invalid authorization request", msg);
		return -1;
	}
	return 0;
}

static int context_value(req_t *r, authz_t *z, const json_t *doc)
{
	char why[200], msg[300];
	const json_t *given = json_object_get(doc, "context");
	json_t *ctx = given ? json_deep_copy(given) : json_object();
	int64_t age = z->has_token ? r->now - z->claims.iat : -1;
	pol_ctx_grant_t grant;
	pol_ctx_input_t in = {.src_ip = r->client_ip, .now = r->now, .token_age_s = age < 0 && z->has_token ? 0 : age,
			      .change_window = z->window.open ? z->window.name : NULL};
	if (z->has_grant) {
		grant = (pol_ctx_grant_t){z->claims.grant, z->grant.reason, z->grant.approvals, z->grant.break_glass};
		in.grant = &grant;
	}
	json_object_del(ctx, "change_window"); /* the broker's to say, never the caller's */
	policy_context_defaults(ctx, &in);
	const char *actor = z->has_token && z->claims.act ? json_string_value(json_object_get(z->claims.act, "sub")) : NULL;
	if (actor != NULL) /* the token's holder acts for its subject (RFC 8693) */
		json_object_set_new(ctx, "actor", json_pack("{s:{s:s, s:s}}", "__entity", "type", "Workload", "id", actor));
	int rc = pol_json_value(z->arena, ctx, &z->ctx, why, sizeof why);
	z->ctx_json = ctx;
	if (rc != 0 || z->ctx.kind != PV_RECORD) {
		snprintf(msg, sizeof msg, "context: %s", rc != 0 ? why : "must be a record");
		http_problem(r, 400, "Invalid authorization request", msg);
		return -1;
	}
	z->req.context = &z->ctx;
	return 0;
}

/* Records the decision; the audit record names the determining ids. */
static void record(req_t *r, const authz_t *z, bool allow, const json_t *policies, json_t *details)
{
	audit_event_t ev = audit_event(r, allow ? "authz.allow" : "authz.deny", z->actor);
	ev.action = z->action;
	ev.resource = z->resource;
	ev.decision = allow ? "allow" : "deny";
	ev.policies = policies;
	ev.jti = z->has_token ? z->claims.jti : NULL;
	ev.grant = z->has_token ? z->claims.grant : NULL;
	ev.details = details;
	audit_append(r, &ev);
}

static json_t *token_json(const tok_claims_t *c, bool active, const char *why)
{
	if (!active)
		return json_pack("{s:b, s:s}", "active", 0, "reason", why ? why : "the token is not valid");
	json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:I, s:I}", "active", 1, "sub", c->sub, "jti", c->jti,
			      "scope", c->scope, "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp);
	json_t *cnf = json_object_get(c->jws.payload, "cnf");
	if (cnf != NULL)
		json_object_set(o, "cnf", cnf);
	if (c->grant != NULL)
		json_object_set_new(o, "grant", json_string(c->grant));
	if (c->act != NULL)
		json_object_set(o, "act", (json_t *)c->act);
	return o;
}

/* A denial that policy never saw: an invalid token or scope not covering
 * the request. */
static void deny_early(req_t *r, const authz_t *z, const char *reason, json_t *token)
{
	json_t *out = json_pack("{s:s, s:[], s:[], s:s, s:I, s:I}", "decision", "deny", "reasons", "errors",
				"reason", reason, "policy_version", (json_int_t)z->view->policy_version,
				"entities_version", (json_int_t)z->view->entities_version);
	if (token != NULL)
		json_object_set_new(out, "token", token);
	json_t *details = json_pack("{s:s, s:s?, s:I, s:O?}", "reason", reason, "principal", z->principal,
				    "policy_version", (json_int_t)z->view->policy_version, "context", z->ctx_json);
	metrics_policy_decision(false);
	record(r, z, false, NULL, details);
	json_decref(details);
	http_json(r, 200, out);
}

/* docs/architecture.md, Scope: is the request inside one of the token's scope tokens? */
static bool scope_covers(const authz_t *z)
{
	scope_set_t set;
	const char *why = NULL;
	bool covered = false;
	if (scope_parse(z->claims.scope, &set, &why) != 0)
		return false;
	for (size_t i = 0; i < set.n && !covered; i++)
		covered = pol_scope_token_covers(z->view->entities, set.tok[i], &z->req.action, &z->req.resource);
	scope_free(&set);
	return covered;
}

static void decide(req_t *r, authz_t *z)
{
	pol_decision_t d;
	pol_scratch_t *s = policy_scratch();
	if (s == NULL || pol_authorize(z->view->engine, z->view->entities, &z->req, &z->facts, s, &d) != 0) {
		metrics_policy_decision(false);
		http_problem(r, 500, NULL, "the policy decision failed (out of memory); deny");
		return;
	}
	metrics_policy_decision(d.allow);
	json_t *out = pol_json_decision(pol_engine_set(z->view->engine), &d);
	if (out == NULL) {
		http_problem(r, 500, NULL, "could not encode the decision; deny");
		return;
	}
	json_t *policies = json_array();
	for (size_t i = 0; i < d.nreasons; i++)
		json_array_append_new(policies, policy_id_json(z->view, d.reasons[i]));
	json_object_set_new(out, "policy_version", json_integer(z->view->policy_version));
	json_object_set_new(out, "entities_version", json_integer(z->view->entities_version));
	if (d.allow && d.max_ttl > 0)
		json_object_set_new(out, "max_ttl", json_integer(d.max_ttl));
	if (d.allow && d.audit_full)
		json_object_set_new(out, "audit", json_string("full"));
	json_t *details = json_deep_copy(out);
	json_object_del(details, "decision");
	json_object_del(details, "reasons");
	json_object_set_new(details, "principal", json_string(z->principal));
	json_object_set(details, "context", z->ctx_json);
	if (z->has_token)
		json_object_set_new(out, "token", token_json(&z->claims, true, NULL));
	record(r, z, d.allow, policies, details);
	json_decref(details);
	json_decref(policies);
	http_json(r, 200, out);
}

/* A token under a JIT grant: the grant's approvals are the fact
 * @requires_grant is checked against, whatever the caller sent, and
 * policy sees context.grant. */
static int token_grant(req_t *r, authz_t *z)
{
	if (store_grant_status(r->b->store, z->claims.grant, &z->grant) != STORE_OK) {
		http_problem(r, 503, NULL, "the store is unavailable; retry (deny meanwhile)");
		return -1;
	}
	z->has_grant = true;
	if (z->grant.break_glass) /* counts as approved as policy asked (grant_policy_context) */
		z->grant.approvals = z->grant.approvals_required;
	z->facts.grant_approvals = z->grant.approvals;
	return 0;
}

/* The principal: the token's subject after full verification, or the
 * principal member. A token that is not active sets z->inactive (the
 * denial is answered once action and resource are known). Returns -1 when
 * it has answered. */
static int principal(req_t *r, authz_t *z, const json_t *doc)
{
	const char *tok = json_string_value(json_object_get(doc, "token"));
	if (tok == NULL) {
		if (euid_member(r, z, doc, "principal", &z->req.principal) != 0)
			return -1;
		z->actor = compact_text(&z->req.principal);
		return z->actor != NULL ? 0 : bad(r, "%s", "out of memory");
	}
	token_state_t st = token_state(r->b, tok, r->now, &z->claims, &z->tok_why);
	if (st == TOKEN_ERROR) {
		tok_claims_free(&z->claims);
		http_problem(r, 503, NULL, "the store is unavailable; retry (deny meanwhile)");
		return -1;
	}
	z->has_token = st != TOKEN_INVALID;
	if (st != TOKEN_ACTIVE) {
		z->inactive = true;
		z->actor = strdup(z->has_token ? z->claims.sub : "unknown");
		return 0;
	}
	if (z->claims.grant != NULL && token_grant(r, z) != 0)
		return -1;
	size_t n = strlen(z->claims.sub);
	char *sub = pol_arena_strndup(z->arena, z->claims.sub, n);
	if (sub == NULL)
		return bad(r, "%s", "out of memory");
	z->req.principal = (pol_euid_t){{"Workload", 8}, {sub, n}};
	z->actor = strdup(z->claims.sub);
	return z->actor != NULL ? 0 : bad(r, "%s", "out of memory");
}

void handle_authorize(req_t *r)
{
	authz_t z;
	memset(&z, 0, sizeof z);
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	if (check_members(r, doc) != 0 || fact(r, doc, "grant_approvals", &z.facts.grant_approvals) != 0 ||
	    fact(r, doc, "mfa_age_s", &z.facts.mfa_age_s) != 0)
		goto out;
	if ((z.arena = pol_arena_new()) == NULL) {
		http_problem(r, 500, NULL, "out of memory");
		goto out;
	}
	z.view = policy_acquire(r->b);
	if (principal(r, &z, doc) != 0 || euid_member(r, &z, doc, "action", &z.req.action) != 0 ||
	    euid_member(r, &z, doc, "resource", &z.req.resource) != 0)
		goto out;
	z.resource = compact_text(&z.req.resource);
	z.action = strndup(z.req.action.id.p, z.req.action.id.len);
	if (z.inactive) {
		const char *why = z.tok_why ? z.tok_why : "the token is not valid";
		deny_early(r, &z, why, token_json(NULL, false, why));
		goto out;
	}
	z.principal = z.req.principal.type.p != NULL ? policy_uid_text(z.req.principal.type.p, z.req.principal.id.p)
						      : NULL;
	change_window_state(r->b, z.view->entities, &z.req.resource, r->now, &z.window);
	if (context_value(r, &z, doc) != 0)
		goto out;
	if (z.has_grant && z.window.controlled && !z.window.open) {
		deny_early(r, &z, "the resource is under change control and no change window covering it is open",
			   token_json(&z.claims, true, NULL));
		goto out;
	}
	if (z.has_token && !scope_covers(&z)) {
		deny_early(r, &z, "the token's scope does not cover this action and resource",
			   token_json(&z.claims, true, NULL));
		goto out;
	}
	decide(r, &z);
out:
	authz_free(&z);
	json_decref(doc);
}
