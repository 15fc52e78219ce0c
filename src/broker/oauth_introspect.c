/* oauth_introspect.c - POST /oauth/introspect (RFC 7662) and POST
 * /oauth/revoke (RFC 7009). Callers authenticate as at the token endpoint
 * or with the admin bearer token. An identity may introspect and revoke its
 * own tokens (those for it, sub, and those issued to it, client_id: an
 * agent's delegated tokens); edges may introspect any; the admin token may
 * do both.
 * Anything not active, or not the caller's to see, is {"active": false}. */
#include "broker/audit_trail.h"
#include "broker/auth_failures.h"
#include "broker/broker.h"
#include "broker/client_auth.h"
#include "shell/log.h"
#include "broker/token_state.h"
#include <stdio.h>
#include <string.h>

/* The admin bearer token, answered in the RFC 6749 form (these routes are
 * ACCESS_PUBLIC: dispatch authenticates nobody here). */
static int admin_caller(req_t *r)
{
	if (auth_throttled(r, "admin_token", NULL))
		return -1;
	if (!admin_token_valid(r, r->now)) {
		auth_failed(r, "admin_token", NULL, "invalid or expired bearer token");
		http_oauth_error(r, 401, "invalid_client", "the bearer token is invalid or expired");
		return -1;
	}
	actor_admin(&r->actor);
	return 0;
}

/* Parses the form and authenticates the caller into r->actor; answers and
 * returns -1 on failure. On success the caller frees f. */
static int authenticate(req_t *r, form_t *f)
{
	const char *why = NULL;
	client_t c;
	if (!http_require_content_type(r, "application/x-www-form-urlencoded"))
		return -1;
	if (form_parse(r->body ? r->body : "", r->body_len, f, &why) != 0) {
		http_oauth_error(r, 400, "invalid_request", why);
		return -1;
	}
	if (http_header(r, "Authorization") != NULL) {
		if (admin_caller(r) == 0)
			return 0;
		form_free(f);
		return -1;
	}
	if (client_authenticate(r, f, &c) != 0 || client_consume_assertion(r, &c) != 0) {
		client_release(&c);
		form_free(f);
		return -1;
	}
	client_release(&c); /* r->actor is the client's identity (client_authenticate) */
	return 0;
}

static json_t *active_response(const broker_t *b, const tok_claims_t *c)
{
	json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "active", 1,
			      "scope", c->scope, "client_id", c->client_id, "sub", c->sub, "jti", c->jti,
			      "exp", (json_int_t)c->exp, "iat", (json_int_t)c->iat, "nbf",
			      (json_int_t)c->iat, "iss", b->issuer, "aud", b->cfg.audience,
			      "token_type", c->cnf_jkt ? "DPoP" : "Bearer");
	json_t *cnf = json_object_get(c->jws.payload, "cnf");
	if (cnf != NULL)
		json_object_set(o, "cnf", cnf);
	if (c->grant != NULL)
		json_object_set_new(o, "grant", json_string(c->grant));
	if (c->act != NULL)
		json_object_set(o, "act", (json_t *)c->act);
	return o;
}

typedef void (*token_action_fn)(req_t *r, token_state_t st, tok_claims_t *claims, const char *why);

/* The shared phases of both endpoints: authenticate the caller, read the
 * token parameter, evaluate the token; a store failure is answered 503 (not
 * a definitive "inactive": callers fail closed and may retry). */
static void with_token(req_t *r, token_action_fn act)
{
	form_t f;
	tok_claims_t claims;
	const char *why = "";
	if (authenticate(r, &f) != 0)
		return;
	const char *token = form_get(&f, "token");
	if (token == NULL) {
		http_oauth_error(r, 400, "invalid_request", "token is required");
		form_free(&f);
		return;
	}
	token_state_t st = token_state(r->b, token, r->now, &claims, &why);
	if (st == TOKEN_ERROR)
		http_oauth_error(r, 503, "temporarily_unavailable", "the store is unavailable; retry");
	else
		act(r, st, &claims, why);
	if (st != TOKEN_INVALID)
		tok_claims_free(&claims);
	form_free(&f);
}

/* RFC 7009 §2.1 / RFC 7662 §2.1: the token is for the caller or was
 * issued to it. */
static bool callers_own(const tok_claims_t *c, const actor_t *who)
{
	return strcmp(c->sub, who->id) == 0 || (c->client_id != NULL && strcmp(c->client_id, who->id) == 0);
}

static void do_introspect(req_t *r, token_state_t st, tok_claims_t *claims, const char *why)
{
	const actor_t *who = &r->actor;
	bool visible = st == TOKEN_ACTIVE && (who->kind != ACTOR_WORKLOAD || callers_own(claims, who));
	if (visible)
		http_json(r, 200, active_response(r->b, claims));
	else
		http_json(r, 200, json_pack("{s:b}", "active", 0));
	const char *caller = who->id;
	const char *jti = st != TOKEN_INVALID ? claims->jti : NULL;
	log_event(LOG_INFO, "token introspected", "caller", caller, "jti", jti, "active",
		  visible ? "true" : "false", "reason", visible ? NULL : why, NULL);
	if (!visible) {
		json_t *details = json_pack("{s:s?, s:s?}", "reason", st == TOKEN_ACTIVE ? "not the caller's token" : why,
					    "sub", st != TOKEN_INVALID ? claims->sub : NULL);
		audit_event_t ev = audit_event(r, "token.introspected", caller);
		ev.action = "oauth.introspect";
		ev.decision = "deny";
		ev.jti = jti;
		ev.details = details;
		audit_append(r, &ev);
		json_decref(details);
	}
}

/* RFC 7009 §2.2: invalid tokens and tokens of others get 200 too. */
static void do_revoke(req_t *r, token_state_t st, tok_claims_t *claims, const char *why)
{
	const actor_t *who = &r->actor;
	(void)why;
	if (st == TOKEN_ACTIVE && (who->kind == ACTOR_ADMIN || callers_own(claims, who))) {
		const char *by = who->id;
		json_t *details = json_pack("{s:s, s:I}", "sub", claims->sub, "exp", (json_int_t)claims->exp);
		audit_event_t ev = audit_event(r, "token.revoked", by);
		ev.action = "oauth.revoke";
		ev.jti = claims->jti;
		ev.decision = "allow";
		ev.details = details;
		store_rc rc = store_token_revoke(r->b->store, claims->jti, r->now, &ev);
		json_decref(details);
		if (rc == STORE_ERROR) {
			broker_store_failed(r->b, "token revocation");
			http_oauth_error(r, 503, "temporarily_unavailable",
					 "the store cannot record the revocation; retry");
			return;
		}
		log_event(LOG_INFO, "token revoked", "by", who->id,
			  "sub", claims->sub, "jti", claims->jti, NULL);
	}
	http_json(r, 200, json_object());
}

void handle_introspect(req_t *r)
{
	with_token(r, do_introspect);
}

void handle_revoke(req_t *r)
{
	with_token(r, do_revoke);
}
