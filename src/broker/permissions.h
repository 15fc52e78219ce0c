/* permissions.h - the one question issuance asks: may this identity hold
 * these scope tokens? Each token ACTION@Type:id is a Cedar request
 * (principal Workload::"<identity>", action Action::"ACTION", resource
 * Type::"id", context src_ip/now/hour/weekday) decided against the live
 * policy view; all must be allowed. */
#ifndef TG_PERMISSIONS_H
#define TG_PERMISSIONS_H
#include "broker/broker.h"
#include "core/policy/policy.h"
#include "core/scope.h"
#include "store/store.h"
#include <jansson.h>
#include <stdbool.h>

typedef struct {
	bool allow;
	size_t denied;        /* !allow: index of the first refused scope token */
	const char *why;      /* !allow: why, for the audit record and the log */
	json_t *policies;     /* determining policy ids: the permits (allow, over
			       * every token) or the satisfied forbids (deny) */
	json_t *details;      /* !allow: {"reason", "scope", "errors", "unmet"} */
	int64_t max_ttl;      /* smallest @max_ttl of the determining permits; -1 none */
	bool needs_grant;     /* !allow: a satisfied permit lacked only a JIT grant */
	int64_t policy_version;
} permission_t;

/* The JIT grant a request is made under, as policy sees it in
 * context.grant ({"approvals", "id", "reason"}) and as the fact
 * @requires_grant is checked against. */
typedef struct {
	const char *id, *reason;
	int64_t approvals;  /* a break-glass grant counts as approved as policy asked */
	bool break_glass;
} permission_grant_t;

/* One decision per scope token for a principal. action NULL: each token's
 * own action (issuance); else this action on each token's resource (an
 * operator approving a grant: Action::"grant.approve"). */
typedef struct {
	const char *principal_type, *principal_id;
	const char *action;
	const char *src_ip;
	int64_t now;
	int64_t mfa_age;                 /* the @requires_mfa fact; -1 none */
	const permission_grant_t *grant; /* NULL: no grant */
	const char *const *change_window; /* per scope token: context.change_window, NULL none */
} permission_req_t;

/* Fills out; -1 only when the decision could not be made (out of memory):
 * then out->allow is false too (fail closed). Release with
 * permission_release either way. */
int permission_decide(broker_t *b, const permission_req_t *q, const scope_set_t *scope, permission_t *out)
	__attribute__((warn_unused_result));
/* permission_decide decides before the request (issuance, grants): what an
 * enforcement point adds per request is unknown (docs/policy.md, Decisions
 * before the request). This one decides the request being served (a
 * secret read): plain Cedar. */
int permission_decide_at_request(broker_t *b, const permission_req_t *q, const scope_set_t *scope,
				 permission_t *out) __attribute__((warn_unused_result));
void permission_release(permission_t *p);

/* Splits ACTION@Type:id (already validated by scope_parse) into its three
 * parts as spans into tok. */
void permission_split(const char *tok, pol_str_t *action, pol_str_t *type, pol_str_t *id);

#endif
