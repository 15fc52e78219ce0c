/* grant_transitions.c - the moves of a JIT grant's state machine
 * (docs/grants.md): approve, deny, cancel, end and revoke through
 * POST /v1/grants/{id}/<op>, and the sweeper that activates scheduled
 * grants and expires lapsed ones. Each move reads the grant, decides on
 * its effective state (core/grant.h), and writes with compare-and-set on
 * the grant's version together with its audit record; a move that lost a
 * race re-reads and decides again, so concurrent callers never both win. */
#include "broker/audit_trail.h"
#include "broker/grants.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "core/operator.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAS_ATTEMPTS 16

typedef struct {
	grant_op_t op;
	const char *verb;          /* "approve", ... */
	const char *note_member;   /* "comment" or "reason" */
	bool note_required;
	const char *event;         /* audit type of the move */
	grant_state_t to;
} move_t;

static const move_t moves[] = {
	[GRANT_OP_APPROVE] = {GRANT_OP_APPROVE, "approve", "comment", false, "grant.approval", GRANT_PENDING},
	[GRANT_OP_DENY] = {GRANT_OP_DENY, "deny", "reason", true, "grant.denied", GRANT_DENIED},
	[GRANT_OP_CANCEL] = {GRANT_OP_CANCEL, "cancel", "reason", false, "grant.cancelled", GRANT_CANCELLED},
	[GRANT_OP_END] = {GRANT_OP_END, "end", "reason", false, "grant.ended", GRANT_ENDED},
	[GRANT_OP_REVOKE] = {GRANT_OP_REVOKE, "revoke", "reason", true, "grant.revoked", GRANT_REVOKED},
	[GRANT_OP_REVIEW] = {GRANT_OP_REVIEW, "review", "comment", false, "grant.reviewed", GRANT_STATE_COUNT},
};

typedef struct {
	req_t *r;
	const move_t *m;
	char note[TG_MAX_GRANT_REASON + 1];
	grant_t g;
	grant_state_t now_state;
	grant_approval_t approval;
	bool has_approval;
	const char *event;
	char res[TG_GRANT_ID_LEN + 8];
} move_ctx_t;

static bool is_workload(const actor_t *a)
{
	return a->kind == ACTOR_WORKLOAD || a->kind == ACTOR_EDGE;
}

static bool is_requester(const actor_t *a, const grant_t *g)
{
	const char *kind = a->kind == ACTOR_OPERATOR ? "operator" : is_workload(a) ? "workload" : "admin";
	return strcmp(g->requester, a->id) == 0 && strcmp(g->requester_kind, kind) == 0;
}

static bool is_admin(const actor_t *a)
{
	return a->kind == ACTOR_ADMIN || (a->kind == ACTOR_OPERATOR && (a->roles & OP_ROLE_ADMIN) != 0);
}

/* Who may make this move on g (the route admitted the caller's role). */
static const char *caller_refused(const move_ctx_t *c)
{
	const actor_t *a = &c->r->actor;
	switch (c->m->op) {
	case GRANT_OP_CANCEL:
		return is_requester(a, &c->g) || is_admin(a) ? NULL : "only the requester or an admin may cancel a grant";
	case GRANT_OP_END:
		if (is_workload(a))
			return strcmp(a->id, c->g.identity) == 0 ? NULL : "a workload may end only its own grants";
		return NULL;
	default:
		return is_workload(a) ? "a workload may not do this" : NULL;
	}
}

/* A refused approval is part of the grant's story: audited with why. */
static void refuse_approval(move_ctx_t *c, int status, const char *why, const json_t *policies)
{
	json_t *details = json_pack("{s:s, s:I}", "reason", why, "mfa_age", (json_int_t)c->r->actor.mfa_age);
	audit_event_t ev = audit_event(c->r, "grant.approval_refused", c->r->actor.id);
	snprintf(c->res, sizeof c->res, "Grant:%s", c->g.id);
	ev.action = "grant.approve";
	ev.resource = c->res;
	ev.decision = "deny";
	ev.grant = c->g.id;
	ev.policies = policies;
	ev.details = details;
	audit_append(c->r, &ev);
	json_decref(details);
	if (status == 401)
		http_step_up(c->r, c->r->b->cfg.stepup_max_age);
	else
		http_problem(c->r, status, status == 409 ? NULL : "Approval refused", why);
}

static bool approved_by(const grant_t *g, const char *who)
{
	for (size_t i = 0; i < g->n_approvals; i++)
		if (strcmp(g->approvals[i].approver, who) == 0)
			return true;
	return false;
}

/* Does the approval being added complete the grant? Distinct approvers,
 * enough of them, and (unless configured otherwise) not the identity's
 * owner alone. */
static bool completes(const move_ctx_t *c, const char *owner)
{
	size_t n = c->g.n_approvals + 1;
	bool other_than_owner = strcmp(c->approval.approver, owner) != 0;
	for (size_t i = 0; i < c->g.n_approvals; i++)
		other_than_owner |= strcmp(c->g.approvals[i].approver, owner) != 0;
	return (int64_t)n >= c->g.approvals_required && (c->r->b->cfg.grant_owner_approval_alone || other_than_owner);
}

static int identity_owner(move_ctx_t *c, char owner[TG_MAX_OWNER_LEN + 1])
{
	identity_t id;
	store_rc rc = store_identity_get(c->r->b->store, c->g.identity, &id);
	owner[0] = '\0';
	if (rc == STORE_ERROR)
		return -1;
	if (rc == STORE_OK) {
		snprintf(owner, TG_MAX_OWNER_LEN + 1, "%s", id.owner);
		identity_release(&id);
	}
	return 0;
}

/* The approval checks in order; 0 when the approval may be written. */
static int approve(move_ctx_t *c)
{
	req_t *r = c->r;
	char owner[TG_MAX_OWNER_LEN + 1];
	permission_t pm;
	if (r->actor.kind != ACTOR_OPERATOR) {
		refuse_approval(c, 403, "approvals are a person's act: log in as an operator (tollgate login)", NULL);
		return -1;
	}
	if (is_requester(&r->actor, &c->g)) {
		refuse_approval(c, 403, "the requester may not approve their own grant", NULL);
		return -1;
	}
	if (approved_by(&c->g, r->actor.id)) {
		refuse_approval(c, 409, "this operator has approved the grant already", NULL);
		return -1;
	}
	if (r->actor.mfa_age > r->b->cfg.stepup_max_age) {
		refuse_approval(c, 401, "the approver's second factor is too old (step-up required)", NULL);
		return -1;
	}
	if (grant_policy_approver(r->b, &c->g, r->actor.id, r->actor.mfa_age, r->client_ip, r->now, &pm) != 0 ||
	    !pm.allow) {
		refuse_approval(c, 403, "policy does not permit this operator Action::\"grant.approve\" on the "
					"grant's resources", pm.policies);
		permission_release(&pm);
		return -1;
	}
	permission_release(&pm);
	if (identity_owner(c, owner) != 0) {
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return -1;
	}
	c->has_approval = true;
	c->approval = (grant_approval_t){.at = r->now, .mfa_age = r->actor.mfa_age};
	snprintf(c->approval.approver, sizeof c->approval.approver, "%s", r->actor.id);
	memcpy(c->approval.comment, c->note, sizeof c->note);
	if (completes(c, owner)) {
		c->event = "grant.approved";
		c->g.approved_at = r->now;
		c->g.ends_at = (c->g.start > r->now ? c->g.start : r->now) + c->g.duration;
		c->g.state = c->g.start <= r->now ? GRANT_ACTIVE : GRANT_APPROVED;
	}
	return 0;
}

/* The review of a break-glass grant, by an operator other than the one
 * who opened it, with a fresh second factor; any state (a grant that has
 * ended still needs its review). */
static int review(move_ctx_t *c)
{
	req_t *r = c->r;
	if (r->actor.kind != ACTOR_OPERATOR) {
		http_problem(r, 403, NULL, "reviews are a person's act: log in as an operator (tollgate login)");
		return -1;
	}
	if (!c->g.break_glass || c->g.reviewed_at != 0) {
		http_problem(r, 409, NULL, !c->g.break_glass ? "only break-glass grants are reviewed"
							      : "this grant has been reviewed already");
		return -1;
	}
	if (is_requester(&r->actor, &c->g)) {
		http_problem(r, 403, NULL, "a second operator reviews a break-glass grant, not the one who opened it");
		return -1;
	}
	if (r->actor.mfa_age > r->b->cfg.stepup_max_age) {
		http_step_up(r, r->b->cfg.stepup_max_age);
		return -1;
	}
	snprintf(c->g.reviewed_by, sizeof c->g.reviewed_by, "%s", r->actor.id);
	c->g.reviewed_at = r->now;
	memcpy(c->g.review_comment, c->note, sizeof c->note);
	return 0;
}

/* Decides the move on the freshly read c->g; 0 to write it, -1 answered. */
static int decide(move_ctx_t *c)
{
	char buf[160];
	req_t *r = c->r;
	const char *why = caller_refused(c);
	c->now_state = grant_effective(c->g.state, r->now, c->g.start, c->g.expires_at, c->g.ends_at);
	c->event = c->m->event;
	c->has_approval = false;
	if (why != NULL) {
		http_problem(r, 403, NULL, why);
		return -1;
	}
	if ((why = grant_op_refused(c->m->op, c->now_state, buf, sizeof buf)) != NULL) {
		if (c->m->op == GRANT_OP_APPROVE)
			refuse_approval(c, 409, why, NULL);
		else
			http_problem(r, 409, NULL, why);
		return -1;
	}
	if (c->m->op == GRANT_OP_APPROVE)
		return approve(c);
	if (c->m->op == GRANT_OP_REVIEW)
		return review(c);
	c->g.state = c->m->to;
	c->g.ended_at = r->now;
	snprintf(c->g.ended_by, sizeof c->g.ended_by, "%s", r->actor.id);
	memcpy(c->g.end_reason, c->note, sizeof c->note);
	return 0;
}

static json_t *move_details(const move_ctx_t *c)
{
	json_t *d = json_pack("{s:s, s:s, s:I, s:I}", "identity", c->g.identity, "scope", c->g.scope, "approvals",
			      (json_int_t)(c->g.n_approvals + (c->has_approval ? 1 : 0)), "approvals_required",
			      (json_int_t)c->g.approvals_required);
	if (c->note[0] != '\0')
		json_object_set_new(d, c->m->note_member, json_string(c->note));
	if (c->has_approval)
		json_object_set_new(d, "mfa_age", json_integer(c->approval.mfa_age));
	if (c->g.ends_at != 0 && c->m->op == GRANT_OP_APPROVE)
		json_object_set_new(d, "ends_at", json_integer(c->g.ends_at));
	return d;
}

static store_rc write_move(move_ctx_t *c)
{
	json_t *details = move_details(c);
	audit_event_t ev = audit_change_event(c->r, c->event, "Grant", c->g.id, c->res, sizeof c->res, details);
	ev.grant = c->g.id;
	store_rc rc = store_grant_update(c->r->b->store, &c->g, c->has_approval ? &c->approval : NULL, &ev);
	json_decref(details);
	return rc;
}

/* The answer: the grant as written. */
static void answer(move_ctx_t *c)
{
	if (c->has_approval && c->g.n_approvals < TG_MAX_GRANT_APPROVALS)
		c->g.approvals[c->g.n_approvals++] = c->approval;
	log_event(LOG_INFO, c->event, "grant", c->g.id, "actor", c->r->actor.id, NULL);
	http_json(c->r, 200, grant_json(&c->g, c->r->now));
}

static void run_move(req_t *r, grant_op_t op)
{
	move_ctx_t c = {.r = r, .m = &moves[op]};
	json_t *doc = r->body_len > 0 ? http_json_body(r) : NULL;
	if (r->body_len > 0 && doc == NULL)
		return;
	char buf[160];
	const char *why = grant_note_parse(doc, c.m->note_member, c.m->note_required, c.note, buf, sizeof buf);
	json_decref(doc);
	if (why != NULL) {
		http_problem(r, 400, NULL, why);
		return;
	}
	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
		store_rc rc = grant_id_valid(r->param) ? store_grant_get(r->b->store, r->param, &c.g) : STORE_NOT_FOUND;
		if (rc == STORE_NOT_FOUND || (rc == STORE_OK && is_workload(&r->actor) &&
					      strcmp(r->actor.id, c.g.identity) != 0)) {
			if (rc == STORE_OK)
				grant_release(&c.g);
			http_problem(r, 404, NULL, "no such grant (see GET /v1/grants)");
			return;
		}
		if (rc != STORE_OK || decide(&c) != 0 || (rc = write_move(&c)) != STORE_CONFLICT) {
			if (rc == STORE_OK && r->status == 0)
				answer(&c);
			else if (r->status == 0)
				http_problem(r, 503, NULL, "the store is unavailable; retry");
			grant_release(&c.g);
			return;
		}
		grant_release(&c.g); /* another move came first: read again and decide again */
	}
	http_problem(r, 503, NULL, "the grant is changing too fast; retry");
}

void handle_grant_approve(req_t *r) { run_move(r, GRANT_OP_APPROVE); }
void handle_grant_deny(req_t *r) { run_move(r, GRANT_OP_DENY); }
void handle_grant_cancel(req_t *r) { run_move(r, GRANT_OP_CANCEL); }
void handle_grant_end(req_t *r) { run_move(r, GRANT_OP_END); }
void handle_grant_revoke(req_t *r) { run_move(r, GRANT_OP_REVOKE); }
void handle_grant_review(req_t *r) { run_move(r, GRANT_OP_REVIEW); }

/* ---- the sweeper ---- */

static void sweep_one(broker_t *b, grant_t *g, int64_t now)
{
	char res[TG_GRANT_ID_LEN + 8];
	grant_state_t to = grant_effective(g->state, now, g->start, g->expires_at, g->ends_at);
	const char *type = to == GRANT_ACTIVE ? "grant.activated" : "grant.expired";
	if (to == GRANT_EXPIRED)
		g->ended_at = g->state == GRANT_PENDING ? g->expires_at : g->ends_at;
	g->state = to;
	snprintf(res, sizeof res, "Grant:%s", g->id);
	json_t *details = json_pack("{s:s, s:s}", "identity", g->identity, "scope", g->scope);
	audit_event_t ev = {.type = type, .actor = "tollgate", .action = type, .resource = res,
			    .decision = "allow", .grant = g->id, .details = details};
	store_rc rc = store_grant_update(b->store, g, NULL, &ev);
	json_decref(details);
	if (rc == STORE_OK)
		log_event(LOG_INFO, type, "grant", g->id, "identity", g->identity, NULL);
	else if (rc != STORE_CONFLICT) /* a conflict: a caller moved it first */
		broker_store_failed(b, type);
}

void grant_sweep(broker_t *b, int64_t now)
{
	grant_t *due = NULL;
	size_t n = 0;
	if (store_grant_due(b->store, now, 64, &due, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		sweep_one(b, &due[i], now);
		grant_release(&due[i]);
	}
	free(due);
}
