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
	int64_t policy_version;
} permission_t;

/* Fills out; -1 only when the decision could not be made (out of memory):
 * then out->allow is false too (fail closed). Release with
 * permission_release either way. */
int permission_check(broker_t *b, const identity_t *id, const scope_set_t *scope, const char *src_ip,
		     int64_t now, permission_t *out) __attribute__((warn_unused_result));
void permission_release(permission_t *p);

/* Splits ACTION@Type:id (already validated by scope_parse) into its three
 * parts as spans into tok. */
void permission_split(const char *tok, pol_str_t *action, pol_str_t *type, pol_str_t *id);

#endif
