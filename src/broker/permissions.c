/* permissions.c - issuance's scope check against Cedar policy: one
 * decision per requested scope token, every one must be allowed; the
 * determining permits and their smallest @max_ttl come back for the token
 * and its audit record. A client-credentials token outside a JIT grant
 * has no approvals and no operator MFA, so a permit with @requires_grant
 * or @requires_mfa does not count for it (the decision names the
 * obligation that was missing); under a grant, the grant's approvals are
 * the fact and context.grant describes it. The same decision, with another
 * principal and action, tells whether an operator may approve a grant. */
#include "broker/permissions.h"
#include "broker/metrics.h"
#include "broker/policy_state.h"
#include "core/policy/cedar_json.h"
#include "core/policy/ext.h"
#include "core/policy/request_context.h"
#include <stdio.h>
#include <string.h>

void permission_split(const char *tok, pol_str_t *action, pol_str_t *type, pol_str_t *id)
{
	const char *at = strchr(tok, '@');
	const char *colon = at ? strchr(at + 1, ':') : NULL;
	if (at == NULL || colon == NULL) { /* not from scope_parse: matches nothing */
		*action = *type = *id = (pol_str_t){"", 0};
		return;
	}
	*action = (pol_str_t){tok, (size_t)(at - tok)};
	*type = (pol_str_t){at + 1, (size_t)(colon - at - 1)};
	*id = (pol_str_t){colon + 1, strlen(colon + 1)};
}

static void add_ids(json_t *ids, const policy_view_t *v, const uint32_t *idx, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *id = policy_id_json(v, idx[i]);
		size_t j;
		json_t *x;
		bool seen = false;
		json_array_foreach(ids, j, x)
			seen |= json_equal(x, id);
		if (seen)
			json_decref(id);
		else
			json_array_append_new(ids, id);
	}
}

static const char *deny_reason(const pol_decision_t *d)
{
	if (d->nreasons > 0)
		return "forbidden by policy";
	if (d->nunmet > 0 && d->unmet[0].missing == POL_OBL_GRANT)
		return "a permit requires a JIT grant (@requires_grant)";
	if (d->nunmet > 0)
		return "a permit requires a fresh operator MFA (@requires_mfa)";
	if (d->nerrors > 0)
		return "no policy permits it (some policies errored)";
	return "no policy permits it";
}

static int decide(broker_t *b, const permission_req_t *q, const scope_set_t *scope, bool before_request,
		  permission_t *out)
{
	const policy_view_t *v = policy_acquire(b);
	pol_scratch_t *s = policy_scratch();
	pol_ctx_t ctx;
	pol_ctx_grant_t grant;
	pol_ctx_input_t in = {.src_ip = q->src_ip, .now = q->now, .token_age_s = -1};
	pol_facts_t facts = {.grant_approvals = q->grant ? q->grant->approvals : -1, .mfa_age_s = q->mfa_age};
	int rc = -1;
	memset(out, 0, sizeof *out);
	out->max_ttl = -1;
	out->policy_version = v->policy_version;
	out->why = "policy evaluation failed";
	out->policies = json_array();
	if (s == NULL || out->policies == NULL)
		goto out;
	if (q->grant != NULL) {
		grant = (pol_ctx_grant_t){q->grant->id, q->grant->reason, q->grant->approvals, q->grant->break_glass};
		in.grant = &grant;
	}
	pol_request_t req = {.principal = {{q->principal_type, strlen(q->principal_type)},
					   {q->principal_id, strlen(q->principal_id)}},
			     .context = pol_ctx_build(&ctx, &in),
			     /* decided before the request: what the edge adds per
			      * request is not known yet */
			     .unknown = before_request ? pol_ctx_request_time : NULL,
			     .nunknown = before_request ? pol_ctx_nrequest_time : 0};
	req.action.type = (pol_str_t){"Action", 6};
	for (size_t i = 0; i < scope->n; i++) {
		pol_decision_t d;
		permission_split(scope->tok[i], &req.action.id, &req.resource.type, &req.resource.id);
		if (q->action != NULL)
			req.action.id = (pol_str_t){q->action, strlen(q->action)};
		if (q->change_window != NULL) { /* this token's own window (change_windows.h) */
			in.change_window = q->change_window[i];
			req.context = pol_ctx_build(&ctx, &in);
		}
		out->denied = i;
		if (pol_authorize(v->engine, v->entities, &req, &facts, s, &d) != 0) {
			metrics_policy_decision(false);
			goto out;
		}
		metrics_policy_decision(d.allow);
		if (!d.allow) {
			json_array_clear(out->policies);
			add_ids(out->policies, v, d.reasons, d.nreasons);
			out->why = deny_reason(&d);
			out->needs_grant = d.nreasons == 0 && d.nunmet > 0 && d.unmet[0].missing == POL_OBL_GRANT;
			out->details = pol_json_decision(pol_engine_set(v->engine), &d);
			if (out->details == NULL)
				out->details = json_object();
			json_object_set_new(out->details, "reason", json_string(out->why));
			json_object_set_new(out->details, "scope", json_string(scope->tok[i]));
			json_object_set_new(out->details, "policy_version", json_integer(v->policy_version));
			rc = 0;
			goto out;
		}
		add_ids(out->policies, v, d.reasons, d.nreasons);
		if (d.max_ttl > 0 && (out->max_ttl < 0 || d.max_ttl < out->max_ttl))
			out->max_ttl = d.max_ttl;
	}
	out->allow = true;
	out->why = NULL;
	rc = 0;
out:
	policy_release(v);
	return rc;
}

int permission_decide(broker_t *b, const permission_req_t *q, const scope_set_t *scope, permission_t *out)
{
	return decide(b, q, scope, true, out);
}

int permission_decide_at_request(broker_t *b, const permission_req_t *q, const scope_set_t *scope,
				 permission_t *out)
{
	return decide(b, q, scope, false, out);
}

void permission_release(permission_t *p)
{
	json_decref(p->policies);
	json_decref(p->details);
	p->policies = p->details = NULL;
}
