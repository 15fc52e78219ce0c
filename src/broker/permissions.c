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
#include <stdio.h>
#include <string.h>
#include <time.h>

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

/* The context every scope token of one request shares, built on the
 * caller's stack (no allocation on the token path): the same keys and
 * values policy_context_defaults() gives /v1/authorize. Keys are in byte
 * order, as records keep them. */
typedef struct {
	pol_str_t keys[6];
	pol_value_t vals[6];
	pol_value_t rec;
	pol_str_t grant_keys[4];
	pol_value_t grant_vals[4];
} issue_ctx_t;

/* context.grant: {"approvals", "break_glass", "id", "reason"} (keys in
 * byte order). */
static void grant_record(issue_ctx_t *c, const permission_grant_t *g, pol_value_t *out)
{
	c->grant_keys[0] = (pol_str_t){"approvals", 9};
	c->grant_vals[0] = pol_long(g->approvals);
	c->grant_keys[1] = (pol_str_t){"break_glass", 11};
	c->grant_vals[1] = pol_bool(g->break_glass);
	c->grant_keys[2] = (pol_str_t){"id", 2};
	c->grant_vals[2] = (pol_value_t){.kind = PV_STRING};
	c->grant_vals[2].u.s = (pol_str_t){g->id, strlen(g->id)};
	c->grant_keys[3] = (pol_str_t){"reason", 6};
	c->grant_vals[3] = (pol_value_t){.kind = PV_STRING};
	c->grant_vals[3].u.s = (pol_str_t){g->reason, strlen(g->reason)};
	*out = (pol_value_t){.kind = PV_RECORD, .n = 4};
	out->u.rec.keys = c->grant_keys;
	out->u.rec.vals = c->grant_vals;
}

static void make_context(issue_ctx_t *c, const char *src_ip, int64_t now, const permission_grant_t *g,
			 const char *window)
{
	struct tm tm;
	time_t t = (time_t)now;
	uint32_t n = 0;
	pol_ip_t ip;
	gmtime_r(&t, &tm);
	if (window != NULL) {
		c->keys[n] = (pol_str_t){"change_window", 13};
		c->vals[n] = (pol_value_t){.kind = PV_STRING};
		c->vals[n++].u.s = (pol_str_t){window, strlen(window)};
	}
	if (g != NULL) {
		c->keys[n] = (pol_str_t){"grant", 5};
		grant_record(c, g, &c->vals[n++]);
	}
	c->keys[n] = (pol_str_t){"hour", 4};
	c->vals[n++] = pol_long(tm.tm_hour);
	c->keys[n] = (pol_str_t){"now", 3};
	c->vals[n++] = pol_long(now);
	if (src_ip != NULL && src_ip[0] != '\0' && pol_ip_parse(src_ip, strlen(src_ip), &ip) == 0) {
		c->keys[n] = (pol_str_t){"src_ip", 6};
		c->vals[n] = (pol_value_t){.kind = PV_IP};
		c->vals[n++].u.ip = ip;
	}
	c->keys[n] = (pol_str_t){"weekday", 7};
	c->vals[n++] = pol_long(tm.tm_wday == 0 ? 7 : tm.tm_wday);
	c->rec = (pol_value_t){.kind = PV_RECORD, .n = n};
	c->rec.u.rec.keys = c->keys;
	c->rec.u.rec.vals = c->vals;
}

int permission_decide(broker_t *b, const permission_req_t *q, const scope_set_t *scope, permission_t *out)
{
	const policy_view_t *v = policy_acquire(b);
	pol_scratch_t *s = policy_scratch();
	issue_ctx_t ctx;
	pol_facts_t facts = {.grant_approvals = q->grant ? q->grant->approvals : -1, .mfa_age_s = q->mfa_age};
	int rc = -1;
	memset(out, 0, sizeof *out);
	out->max_ttl = -1;
	out->policy_version = v->policy_version;
	out->why = "policy evaluation failed";
	out->policies = json_array();
	if (s == NULL || out->policies == NULL)
		goto out;
	make_context(&ctx, q->src_ip, q->now, q->grant, NULL);
	pol_request_t req = {.principal = {{q->principal_type, strlen(q->principal_type)},
					   {q->principal_id, strlen(q->principal_id)}},
			     .context = &ctx.rec};
	req.action.type = (pol_str_t){"Action", 6};
	for (size_t i = 0; i < scope->n; i++) {
		pol_decision_t d;
		permission_split(scope->tok[i], &req.action.id, &req.resource.type, &req.resource.id);
		if (q->action != NULL)
			req.action.id = (pol_str_t){q->action, strlen(q->action)};
		if (q->change_window != NULL) /* this token's own window (change_windows.h) */
			make_context(&ctx, q->src_ip, q->now, q->grant, q->change_window[i]);
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

void permission_release(permission_t *p)
{
	json_decref(p->policies);
	json_decref(p->details);
	p->policies = p->details = NULL;
}
