/* access.h - the access column of the route table (route_t.access) and its
 * check, done once at dispatch before any handler runs. A route's access
 * is the set of caller roles the API itself admits; which resources a
 * caller may act on (who may approve what) is the policy's to decide, in
 * the handler. ACCESS_PUBLIC routes authenticate nobody at dispatch (the
 * OAuth endpoints authenticate their clients themselves, answering in the
 * RFC 6749 form). */
#ifndef TG_ACCESS_H
#define TG_ACCESS_H
#include "broker/http.h"
#include <stdbool.h>

enum {
	ACCESS_PUBLIC = 0,
	ACCESS_ADMIN = 1u << 0,    /* the admin bearer token; operators with role admin */
	ACCESS_APPROVER = 1u << 1, /* operators with role approver (grants) */
	ACCESS_AUDITOR = 1u << 2,  /* operators with role auditor: reading the audit trail */
	ACCESS_WORKLOAD = 1u << 3, /* workloads and edges calling /v1 with their own access */
	ACCESS_EDGE = 1u << 4,     /* token (workload_bearer.h) */
	/* Not a role: a sensitive route (policy and entity changes,
	 * offboarding, operator changes, key rotation) that an operator may use
	 * only with MFA at most stepup_max_age old; otherwise an RFC 9470
	 * step-up challenge (http_step_up). The admin token (dev mode, the
	 * recovery path) has no second factor and is not asked. */
	ACCESS_FRESH_MFA = 1u << 5,
};

/* Authenticates r's caller for a route with this access, fills r->actor and
 * returns true when the route admits it. Otherwise it has answered (429 or
 * held when the source is throttled, 401 with WWW-Authenticate for a
 * missing or invalid token, 403 for a caller the route does not admit) and
 * returns false. */
bool access_admit(req_t *r, unsigned access);
/* True when r carries the admin token or the session token of an operator
 * with role admin (the larger body limits; checked before dispatch). */
bool access_admin_bearer(req_t *r, int64_t now);

#endif
