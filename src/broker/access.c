/* access.c - the dispatch-time access check (access.h). /v1 knows two
 * bearer credentials: the admin token (dev mode, --bootstrap-admin) and an
 * operator session token (POST /v1/login), each looked up by its SHA-256.
 * A failure goes through auth_failures.c (throttling, log, metrics, audit)
 * as for every failed authentication. */
#include "broker/access.h"
#include "broker/auth_failures.h"
#include "broker/broker.h"
#include "broker/client_auth.h"
#include "broker/workload_bearer.h"
#include "core/operator.h"
#include <sodium.h>
#include <string.h>
#include <strings.h>

static unsigned operator_access(unsigned roles)
{
	unsigned a = 0;
	if (roles & OP_ROLE_ADMIN)
		a |= ACCESS_ADMIN;
	if (roles & OP_ROLE_APPROVER)
		a |= ACCESS_APPROVER;
	if (roles & OP_ROLE_AUDITOR)
		a |= ACCESS_AUDITOR;
	return a;
}

static unsigned role_of(const actor_t *actor)
{
	switch (actor->kind) {
	case ACTOR_ADMIN:
		return ACCESS_ADMIN;
	case ACTOR_OPERATOR:
		return operator_access(actor->roles);
	case ACTOR_WORKLOAD:
		return ACCESS_WORKLOAD;
	case ACTOR_EDGE:
		return ACCESS_EDGE;
	default:
		return 0;
	}
}

/* An operator session bearer token: fills r->actor and returns true. */
static bool operator_session(req_t *r)
{
	const char *auth = http_header(r, "Authorization");
	uint8_t h[crypto_hash_sha256_BYTES];
	operator_session_t sess;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) > 256)
		return false;
	crypto_hash_sha256(h, (const uint8_t *)auth + 7, strlen(auth + 7));
	if (store_operator_session_check(r->b->store, h, r->now, &sess) != STORE_OK)
		return false;
	actor_operator(&r->actor, sess.username, sess.id, sess.roles, r->now - sess.auth_time);
	return true;
}

bool access_admin_bearer(req_t *r, int64_t now)
{
	if (admin_token_valid(r, now))
		return true;
	actor_t saved = r->actor;
	int64_t saved_now = r->now;
	r->now = now;
	bool ok = operator_session(r) && (r->actor.roles & OP_ROLE_ADMIN);
	r->actor = saved;
	r->now = saved_now;
	return ok;
}

static void unauthenticated(req_t *r)
{
	bool sent = http_header(r, "Authorization") != NULL;
	auth_failed(r, "admin_token", NULL, sent ? "invalid or expired bearer token" : "no bearer token");
	http_problem(r, 401, NULL, sent ? "the bearer token is invalid or expired"
		: "send Authorization: Bearer <token> (set TOLLGATE_TOKEN; in --dev mode it is in <data>/admin.token)");
}

bool access_admit(req_t *r, unsigned access)
{
	actor_none(&r->actor);
	if (access == ACCESS_PUBLIC)
		return true;
	if (auth_throttled(r, "admin_token", NULL))
		return false;
	if (admin_token_valid(r, r->now)) {
		actor_admin(&r->actor);
	} else if (!operator_session(r) && !workload_bearer(r)) {
		unauthenticated(r);
		return false;
	}
	if ((role_of(&r->actor) & access) == 0) {
		http_problem(r, 403, NULL, "this caller may not use this endpoint");
		return false;
	}
	if ((access & ACCESS_FRESH_MFA) != 0 && r->actor.kind == ACTOR_OPERATOR &&
	    r->actor.mfa_age > r->b->cfg.stepup_max_age) {
		http_step_up(r, r->b->cfg.stepup_max_age);
		return false;
	}
	return true;
}
