/* grants_api.c - POST /v1/grants (request a JIT grant), GET /v1/grants
 * (list, newest first, by effective state and identity) and GET
 * /v1/grants/{id} (docs/grants.md). A request is checked against policy
 * when it is made: a scope that no number of approvals would make
 * permitted is refused then, not at approval time. */
#include "broker/alerts.h"
#include "broker/audit_trail.h"
#include "broker/grants.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "core/operator.h"
#include "core/scope.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static json_t *nullable_str(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static json_t *nullable_time(int64_t t)
{
	return t != 0 ? json_integer(t) : json_null();
}

static json_t *approvals_json(const grant_t *g)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < g->n_approvals; i++) {
		const grant_approval_t *a = &g->approvals[i];
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:o}", "approver", a->approver, "at",
						     (json_int_t)a->at, "mfa_age", (json_int_t)a->mfa_age,
						     "comment", nullable_str(a->comment)));
	}
	return arr;
}

json_t *grant_json(const grant_t *g, int64_t now)
{
	grant_state_t st = grant_effective(g->state, now, g->start, g->expires_at, g->ends_at);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "id",
			      g->id, "identity", g->identity, "scope", g->scope, "reason", g->reason, "ticket",
			      nullable_str(g->ticket), "source", nullable_str(g->source), "state",
			      grant_state_name(st), "requester", g->requester, "requester_kind", g->requester_kind,
			      "duration", (json_int_t)g->duration, "start", (json_int_t)g->start, "created_at",
			      (json_int_t)g->created_at, "expires_at", (json_int_t)g->expires_at,
			      "approvals_required", (json_int_t)g->approvals_required);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "approvals", approvals_json(g));
	json_object_set_new(o, "approved_at", nullable_time(g->approved_at));
	json_object_set_new(o, "ends_at", nullable_time(g->ends_at));
	/* an expiry the sweeper has not written yet is already true */
	bool lapsed = st == GRANT_EXPIRED && g->state != GRANT_EXPIRED;
	int64_t ended = lapsed ? (g->state == GRANT_PENDING ? g->expires_at : g->ends_at) : g->ended_at;
	json_object_set_new(o, "ended_at", nullable_time(ended));
	json_object_set_new(o, "ended_by", nullable_str(lapsed ? NULL : g->ended_by));
	json_object_set_new(o, "end_reason", nullable_str(lapsed ? NULL : g->end_reason));
	json_object_set_new(o, "break_glass", json_boolean(g->break_glass));
	json_object_set_new(o, "review", !g->break_glass ? json_null()
				: json_pack("{s:s, s:o, s:o, s:o}", "state", g->reviewed_at ? "done" : "open",
					    "reviewed_by", nullable_str(g->reviewed_by), "reviewed_at",
					    nullable_time(g->reviewed_at), "comment", nullable_str(g->review_comment)));
	return o;
}

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

static const char *requester_kind(const actor_t *a)
{
	switch (a->kind) {
	case ACTOR_OPERATOR:
		return "operator";
	case ACTOR_WORKLOAD:
	case ACTOR_EDGE:
		return "workload";
	default:
		return "admin";
	}
}

/* The identity must exist and be active; a workload asks only for itself. */
static int check_identity(req_t *r, const char *id)
{
	identity_t ident;
	store_rc rc = store_identity_get(r->b->store, id, &ident);
	bool active = rc == STORE_OK && strcmp(ident.status, "active") == 0;
	if (rc == STORE_OK)
		identity_release(&ident);
	if (rc == STORE_ERROR) {
		store_failed(r);
		return -1;
	}
	if ((r->actor.kind == ACTOR_WORKLOAD || r->actor.kind == ACTOR_EDGE) && strcmp(r->actor.id, id) != 0) {
		http_problem(r, 403, NULL, "a workload may request grants only for itself");
		return -1;
	}
	if (!active) {
		http_problem(r, 400, "Invalid grant request", "\"identity\" names no active identity");
		return -1;
	}
	return 0;
}

/* The approvals the scope needs; answers 400 for a scope policy could
 * never permit. */
static int required_approvals(req_t *r, grant_t *g)
{
	scope_set_t scope;
	const char *why = NULL, *refused = NULL;
	char msg[TG_MAX_SCOPE_TOKEN_LEN + 200];
	if (scope_parse(g->scope, &scope, &why) != 0) {
		http_problem(r, 400, "Invalid grant request", why);
		return -1;
	}
	int rc = grant_policy_required(r->b, g, &scope, r->client_ip, r->now, &g->approvals_required, &refused);
	if (rc == -1) {
		snprintf(msg, sizeof msg, "\"scope\": %s is outside what policy could ever permit to %s, with any "
			 "number of approvals", refused, g->identity);
		http_problem(r, 400, "Invalid grant request", msg);
	} else if (rc != 0) {
		http_problem(r, 500, NULL, "the policy decision failed; retry");
	}
	scope_free(&scope);
	return rc == 0 ? 0 : -1;
}

static void fill_grant(req_t *r, const grant_request_t *in, grant_t *g)
{
	uint8_t raw[16];
	memset(g, 0, sizeof *g);
	randombytes_buf(raw, sizeof raw);
	grant_id_format(raw, g->id);
	snprintf(g->identity, sizeof g->identity, "%s", in->identity);
	g->scope = (char *)in->scope;
	memcpy(g->reason, in->reason, sizeof g->reason);
	memcpy(g->ticket, in->ticket, sizeof g->ticket);
	memcpy(g->source, in->source, sizeof g->source);
	snprintf(g->requester, sizeof g->requester, "%s", r->actor.id);
	snprintf(g->requester_kind, sizeof g->requester_kind, "%s", requester_kind(&r->actor));
	g->state = GRANT_PENDING;
	g->break_glass = in->break_glass; /* policy sees it from the first decision on */
	g->duration = in->duration;
	g->start = in->start;
	g->created_at = r->now;
	g->expires_at = (in->start > r->now ? in->start : r->now) + r->b->cfg.grant_pending_ttl;
	g->version = 1;
}

/* Break-glass: an admin operator with a fresh second factor, for at most
 * breakglass_max_duration. Answers and returns true when refused. */
static bool break_glass_refused(req_t *r, const grant_t *g)
{
	char msg[120];
	if (r->actor.kind != ACTOR_OPERATOR || (r->actor.roles & OP_ROLE_ADMIN) == 0) {
		http_problem(r, 403, NULL, "break-glass grants are opened by operators with role admin");
		return true;
	}
	if (r->actor.mfa_age > r->b->cfg.stepup_max_age) {
		http_step_up(r, r->b->cfg.stepup_max_age);
		return true;
	}
	if (g->duration > r->b->cfg.breakglass_max_duration) {
		snprintf(msg, sizeof msg, "\"duration\": a break-glass grant lasts at most %lld s "
			 "(breakglass_max_duration)", (long long)r->b->cfg.breakglass_max_duration);
		http_problem(r, 400, "Invalid grant request", msg);
		return true;
	}
	return false;
}

/* A break-glass grant needs no approval: active from now, a review item
 * until a second operator reviews it. */
static void open_now(const req_t *r, grant_t *g)
{
	g->state = GRANT_ACTIVE;
	g->approved_at = r->now;
	g->ends_at = r->now + g->duration;
}

void handle_grant_create(req_t *r)
{
	grant_request_t in;
	grant_t g;
	char buf[160], res[TG_GRANT_ID_LEN + 8];
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	grant_bounds_t bounds = {r->now, r->b->cfg.grant_max_duration};
	const char *why = grant_request_parse(doc, &bounds, &in, buf, sizeof buf);
	json_decref(doc);
	if (why != NULL) {
		http_problem(r, 400, "Invalid grant request", why);
		return;
	}
	fill_grant(r, &in, &g);
	if ((in.break_glass && break_glass_refused(r, &g)) || check_identity(r, in.identity) != 0 ||
	    required_approvals(r, &g) != 0)
		return;
	if (in.break_glass)
		open_now(r, &g);
	json_t *details = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:b}", "identity", g.identity,
				    "scope", g.scope, "reason", g.reason, "duration", (json_int_t)g.duration, "start",
				    (json_int_t)g.start, "approvals_required", (json_int_t)g.approvals_required,
				    "ticket", nullable_str(g.ticket), "source", nullable_str(g.source), "break_glass",
				    g.break_glass);
	audit_event_t ev = audit_change_event(r, g.break_glass ? "grant.break_glass" : "grant.requested", "Grant",
					      g.id, res, sizeof res, details);
	ev.grant = g.id;
	store_rc rc = store_grant_create(r->b->store, &g, &ev);
	json_decref(details);
	if (rc != STORE_OK) {
		store_failed(r);
		return;
	}
	log_event(g.break_glass ? LOG_WARN : LOG_INFO, g.break_glass ? "break-glass grant opened" : "grant requested",
		  "grant", g.id, "identity", g.identity, "scope", g.scope, "requester", g.requester, NULL);
	if (g.break_glass)
		alert_send(r->b, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "alert", "grant.break_glass",
					   "severity", "high", "grant", g.id, "identity", g.identity, "scope", g.scope,
					   "opened_by", g.requester, "ends_at", (json_int_t)g.ends_at, "reason", g.reason));
	http_json(r, 201, grant_json(&g, r->now));
}

/* A workload sees only its own grants. */
static bool may_see(const req_t *r, const grant_t *g)
{
	return (r->actor.kind != ACTOR_WORKLOAD && r->actor.kind != ACTOR_EDGE) ||
	       strcmp(r->actor.id, g->identity) == 0;
}

void handle_grant_show(req_t *r)
{
	grant_t g;
	store_rc rc = grant_id_valid(r->param) ? store_grant_get(r->b->store, r->param, &g) : STORE_NOT_FOUND;
	if (rc == STORE_ERROR) {
		store_failed(r);
		return;
	}
	if (rc != STORE_OK || !may_see(r, &g)) {
		if (rc == STORE_OK)
			grant_release(&g);
		http_problem(r, 404, NULL, "no such grant (see GET /v1/grants)");
		return;
	}
	http_json(r, 200, grant_json(&g, r->now));
	grant_release(&g);
}

void handle_grant_list(req_t *r)
{
	long long limit;
	grant_state_t st;
	const char *state = http_query(r, "state"), *after = http_query(r, "after"), *review = http_query(r, "review");
	grant_filter_t f = {.identity = http_query(r, "identity"), .state = -1, .now = r->now, .after = after};
	grant_t *list = NULL;
	size_t n = 0;
	if (http_query_int(r, "limit", 1, 500, 100, &limit) != 0)
		return;
	if (state != NULL && grant_state_parse(state, &st) != 0) {
		http_problem(r, 400, NULL, "state must be one of pending, approved, active, ended, expired, "
					   "revoked, denied, cancelled");
		return;
	}
	if (after != NULL && !grant_id_valid(after)) {
		http_problem(r, 400, NULL, "after must be a grant id (the \"next\" of the previous page)");
		return;
	}
	if (review != NULL && strcmp(review, "open") != 0) {
		http_problem(r, 400, NULL, "review must be \"open\" (break-glass grants not reviewed yet)");
		return;
	}
	f.review_open = review != NULL;
	f.state = state != NULL ? (int)st : -1;
	f.limit = (int)limit;
	if (store_grant_list(r->b->store, &f, &list, &n) != STORE_OK) {
		store_failed(r);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, grant_json(&list[i], r->now));
		grant_release(&list[i]);
	}
	json_t *next = n == (size_t)limit ? json_string(list[n - 1].id) : json_null();
	free(list);
	http_json(r, 200, json_pack("{s:o, s:o}", "grants", arr, "next", next));
}
