/* access.c - the dispatch-time access check (access.h). The admin bearer
 * token is the only credential /v1 knows today; a failure goes through
 * auth_failures.c (throttling, log, metrics, audit) as for every failed
 * authentication. */
#include "broker/access.h"
#include "broker/auth_failures.h"
#include "broker/client_auth.h"

static unsigned role_of(actor_kind_t kind)
{
	switch (kind) {
	case ACTOR_ADMIN:
		return ACCESS_ADMIN;
	case ACTOR_WORKLOAD:
		return ACCESS_WORKLOAD;
	case ACTOR_EDGE:
		return ACCESS_EDGE;
	default:
		return 0;
	}
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
	if (!admin_token_valid(r, r->now)) {
		unauthenticated(r);
		return false;
	}
	actor_admin(&r->actor);
	if ((role_of(r->actor.kind) & access) != 0)
		return true;
	http_problem(r, 403, NULL, "this caller may not use this endpoint");
	return false;
}
