/* grants.h - what the broker's grant files share (docs/grants.md):
 * grants_api.c (request, list, show), grant_transitions.c (approve, deny,
 * cancel, end, revoke, and the sweeper that activates and expires grants
 * on time) and grant_policy.c (what policy says about a grant: the
 * approvals it needs, who may approve it, tokens under it). */
#ifndef TG_GRANTS_H
#define TG_GRANTS_H
#include "broker/broker.h"
#include "broker/permissions.h"
#include "store/store.h"
#include <jansson.h>

/* The grant as the API shows it, with its effective state at now. */
json_t *grant_json(const grant_t *g, int64_t now);

/* The approvals a grant for identity with this scope needs: the smallest
 * number of approvals with which policy permits every scope token (at
 * least grant_min_approvals). -1 with out_refused naming the token when no
 * number up to TG_MAX_GRANT_APPROVALS would do (the scope is outside what
 * policy could ever permit); -2 when the decision failed. */
int grant_policy_required(broker_t *b, const grant_t *g, const scope_set_t *scope, const char *src_ip,
			  int64_t now, int64_t *out, const char **out_refused);
/* May this operator approve g? The decision Operator::"<username>",
 * Action::"grant.approve", each resource of g's scope, with the
 * operator's MFA age; fills out (permission_release). */
int grant_policy_approver(broker_t *b, const grant_t *g, const char *username, int64_t mfa_age,
			  const char *src_ip, int64_t now, permission_t *out) __attribute__((warn_unused_result));
/* The grant g as the context and facts of a decision. */
permission_grant_t grant_policy_context(const grant_t *g);

/* The grant a token request by `identity` for `scope` from src_ip is made
 * under: the one named by grant_id, or (grant_id NULL) the newest active
 * grant of the identity that covers every scope token. It must be active
 * at now, belong to the identity, admit src_ip (its source) and cover
 * the scope (core/policy/coverage.h). 0 with *out filled (grant_release);
 * 1 when there is none, with why (2: the named grant does not cover the
 * scope); -1 when the store failed. */
int grant_for_token(broker_t *b, const char *identity, const scope_set_t *scope, const char *grant_id,
		    const char *src_ip, int64_t now, grant_t *out, const char **why);

/* Activates and expires grants whose time has come (grant.activated,
 * grant.expired). Called by the broker's maintenance loop. */
void grant_sweep(broker_t *b, int64_t now);

#endif
