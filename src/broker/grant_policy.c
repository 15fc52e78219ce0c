/* grant_policy.c - what Cedar policy and the entity hierarchy say about a
 * JIT grant (grants.h): how many approvals its scope needs
 * (@requires_grant), whether an operator may approve it
 * (Action::"grant.approve"), and which grant a token request is made
 * under. */
#include "broker/change_windows.h"
#include "broker/grants.h"
#include "broker/policy_state.h"
#include "core/policy/coverage.h"
#include "core/policy/ext.h"
#include "core/scope.h"
#include <stdlib.h>
#include <string.h>

permission_grant_t grant_policy_context(const grant_t *g)
{
	int64_t approvals = g->break_glass ? g->approvals_required : (int64_t)g->n_approvals;
	return (permission_grant_t){g->id, g->reason, approvals, g->break_glass};
}

int grant_policy_required(broker_t *b, const grant_t *g, const scope_set_t *scope, const char *src_ip,
			  int64_t now, int64_t *out, const char **out_refused)
{
	permission_grant_t ctx = grant_policy_context(g);
	window_admission_t windows;
	char why[TG_MAX_SCOPE_TOKEN_LEN + 200];
	/* as if inside the change windows that cover the scope: a grant is
	 * requested before its window opens */
	change_window_admit(b, scope, now, WINDOWS_COVERING, &windows, why, sizeof why);
	permission_req_t q = {"Workload", g->identity, NULL, src_ip, now, -1, &ctx, windows.any ? windows.names : NULL};
	/* The fewest approvals with which every token is permitted: policies
	 * may require any number up to the cap, and one decision per count
	 * is cheap (microseconds), so try them in order. */
	for (int64_t k = 0; k <= TG_MAX_GRANT_APPROVALS; k++) {
		permission_t pm;
		ctx.approvals = k;
		if (permission_decide(b, &q, scope, &pm) != 0) {
			permission_release(&pm);
			return -2;
		}
		bool allow = pm.allow;
		*out_refused = allow ? NULL : scope->tok[pm.denied];
		permission_release(&pm);
		if (allow) {
			*out = k < b->cfg.grant_min_approvals ? b->cfg.grant_min_approvals : k;
			return 0;
		}
	}
	return -1;
}

int grant_policy_approver(broker_t *b, const grant_t *g, const char *username, int64_t mfa_age,
			  const char *src_ip, int64_t now, permission_t *out)
{
	scope_set_t scope;
	const char *why = NULL;
	permission_grant_t ctx = grant_policy_context(g);
	window_admission_t windows;
	char buf[TG_MAX_SCOPE_TOKEN_LEN + 200];
	if (scope_parse(g->scope, &scope, &why) != 0) {
		memset(out, 0, sizeof *out);
		return -1;
	}
	change_window_admit(b, &scope, now, WINDOWS_COVERING, &windows, buf, sizeof buf);
	permission_req_t q = {"Operator", username, "grant.approve", src_ip, now, mfa_age, &ctx,
			      windows.any ? windows.names : NULL};
	int rc = permission_decide(b, &q, &scope, out);
	scope_free(&scope);
	return rc;
}

/* The source range admits the client address ("" admits all). */
static bool source_admits(const char *source, const char *src_ip)
{
	pol_ip_t range, ip;
	if (source[0] == '\0')
		return true;
	return src_ip != NULL && pol_ip_parse(source, strlen(source), &range) == 0 &&
	       pol_ip_parse(src_ip, strlen(src_ip), &ip) == 0 && pol_ip_in_range(&ip, &range);
}

/* Every requested token is within some token of the grant's scope. */
static bool grant_covers(const pol_entities_t *es, const grant_t *g, const scope_set_t *scope)
{
	scope_set_t gs;
	const char *why = NULL;
	bool all = true;
	if (scope_parse(g->scope, &gs, &why) != 0)
		return false;
	for (size_t i = 0; i < scope->n && all; i++) {
		bool one = false;
		for (size_t j = 0; j < gs.n && !one; j++)
			one = pol_scope_token_within(es, gs.tok[j], scope->tok[i]);
		all = one;
	}
	scope_free(&gs);
	return all;
}

static const char OUTSIDE_SCOPE[] = "the requested scope is outside the grant's scope";

/* Why g does not apply to this request, or NULL. */
static const char *grant_unfit(const pol_entities_t *es, const grant_t *g, const char *identity,
			       const scope_set_t *scope, const char *src_ip, int64_t now)
{
	if (strcmp(g->identity, identity) != 0)
		return "the grant is not this client's";
	if (grant_effective(g->state, now, g->start, g->expires_at, g->ends_at) != GRANT_ACTIVE)
		return "the grant is not active";
	if (!source_admits(g->source, src_ip))
		return "the grant does not admit this client address (source)";
	if (!grant_covers(es, g, scope))
		return OUTSIDE_SCOPE;
	return NULL;
}

int grant_for_token(broker_t *b, const char *identity, const scope_set_t *scope, const char *grant_id,
		    const char *src_ip, int64_t now, grant_t *out, const char **why)
{
	grant_t *list = NULL;
	size_t n = 0;
	store_rc rc;
	int found = 1;
	const policy_view_t *v = policy_acquire(b);
	*why = "no active grant of this client covers the requested scope (tollgate grant request)";
	if (grant_id != NULL) {
		list = calloc(1, sizeof *list);
		rc = list == NULL ? STORE_ERROR
		     : !grant_id_valid(grant_id) ? STORE_NOT_FOUND : store_grant_get(b->store, grant_id, list);
		n = rc == STORE_OK ? 1 : 0;
		if (rc == STORE_NOT_FOUND)
			*why = "grant_id names no grant";
	} else {
		rc = store_grant_active(b->store, identity, now, &list, &n);
	}
	for (size_t i = 0; i < n; i++) {
		const char *unfit = found == 1 ? grant_unfit(v->entities, &list[i], identity, scope, src_ip, now) : "";
		if (unfit == NULL) {
			*out = list[i];
			found = 0;
			continue;
		}
		if (grant_id != NULL)
			*why = unfit;
		grant_release(&list[i]);
	}
	free(list);
	policy_release(v);
	if (rc != STORE_OK && rc != STORE_NOT_FOUND)
		return -1;
	return found == 1 && *why == OUTSIDE_SCOPE ? 2 : found;
}
