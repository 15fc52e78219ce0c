/* monitor_contain.c - containment of a monitor alert (monitor.h) through
 * the store's ordinary writes, each with its audit record naming the
 * alert: suspending the identity (identity.suspended, a feed entry that
 * makes every edge refuse its tokens), revoking its active grants
 * (grant.revoked) and its live tokens (token.revoked, one per token); and
 * the reversal, reactivating the identity (identity.reactivated). The
 * entity set follows identity writes as in identities.c. */
#include "broker/monitor.h"
#include "broker/policy_state.h"
#include "shell/log.h"
#include "store/store_monitor.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS_REVOKED 10000
#define CAS_ATTEMPTS 8
#define MONITOR_ACTOR "monitor"

/* Writes the identity with its new status (and the entity set with it). */
static store_rc write_status(broker_t *b, identity_t *id, const char *status, int64_t now, const audit_event_t *ev)
{
	char why[300];
	snprintf(id->status, sizeof id->status, "%s", status);
	policy_writer_lock(b);
	policy_pending_t *p = policy_identity_prepare(b, id->id, id, why, sizeof why);
	store_rc rc = STORE_ERROR;
	if (p != NULL) {
		rc = store_identity_update(b->store, id, now, ev);
		policy_pending_finish(b, p, rc);
	} else {
		log_event(LOG_ERROR, "monitor: the identity's entities do not load", "identity", id->id, "error", why, NULL);
	}
	policy_writer_unlock(b);
	return rc;
}

/* Moves the identity from status `from` to `to` with an audit record of
 * type by actor; "done", "not <from>" or "failed". */
static const char *move_status(broker_t *b, const char *identity, const char *from, const char *to, const char *type,
			       const char *actor, const char *src, json_t *details, int64_t now)
{
	identity_t id;
	char res[TG_MAX_ID_LEN + 16];
	store_rc rc = store_identity_get(b->store, identity, &id);
	const char *out = "failed";
	if (rc == STORE_NOT_FOUND)
		out = "no such identity";
	else if (rc == STORE_OK && strcmp(id.status, from) != 0)
		out = strcmp(from, "active") == 0 ? "not active" : "not suspended";
	else if (rc == STORE_OK) {
		snprintf(res, sizeof res, "Identity:%s", identity);
		json_object_set_new(details, "status", json_string(to));
		json_object_set_new(details, "previous_status", json_string(from));
		audit_event_t ev = {.type = type, .actor = actor, .action = type, .resource = res, .decision = "allow",
				    .src = src, .details = details};
		out = write_status(b, &id, to, now, &ev) == STORE_OK ? "done" : "failed";
	}
	if (rc == STORE_OK || rc == STORE_NOT_FOUND)
		identity_release(&id);
	json_decref(details);
	return out;
}

static json_t *suspend(broker_t *b, const char *identity, const char *alert_id, int64_t now)
{
	const char *r = move_status(b, identity, "active", "suspended", "identity.suspended", MONITOR_ACTOR, NULL,
				    json_pack("{s:s, s:[s]}", "alert", alert_id, "changed", "status"), now);
	return json_string(strcmp(r, "done") == 0 ? "suspended" : r);
}

int monitor_reactivate(broker_t *b, const char *identity, const char *alert_id, const char *actor, const char *src,
		       const char *comment)
{
	json_t *details = json_pack("{s:s, s:[s]}", "alert", alert_id, "changed", "status");
	if (comment != NULL)
		json_object_set_new(details, "comment", json_string(comment));
	const char *r = move_status(b, identity, "suspended", "active", "identity.reactivated", actor, src, details,
				    broker_now());
	return strcmp(r, "done") == 0 ? 0 : strcmp(r, "failed") == 0 ? -1 : 1;
}

/* Revokes one grant, re-reading it when another write came first. */
static bool revoke_grant(broker_t *b, grant_t *g, const char *alert_id, int64_t now)
{
	char res[TG_GRANT_ID_LEN + 8];
	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
		if (grant_effective(g->state, now, g->start, g->expires_at, g->ends_at) != GRANT_ACTIVE)
			return false;
		g->state = GRANT_REVOKED;
		g->ended_at = now;
		snprintf(g->ended_by, sizeof g->ended_by, "%s", MONITOR_ACTOR);
		snprintf(g->end_reason, sizeof g->end_reason, "contained by monitor alert %s", alert_id);
		snprintf(res, sizeof res, "Grant:%s", g->id);
		json_t *details = json_pack("{s:s, s:s, s:s, s:s}", "identity", g->identity, "scope", g->scope, "reason",
					    g->end_reason, "alert", alert_id);
		audit_event_t ev = {.type = "grant.revoked", .actor = MONITOR_ACTOR, .action = "grant.revoked",
				    .resource = res, .decision = "allow", .grant = g->id, .details = details};
		store_rc rc = store_grant_update(b->store, g, NULL, &ev);
		json_decref(details);
		if (rc != STORE_CONFLICT)
			return rc == STORE_OK;
		char id[TG_GRANT_ID_LEN + 1];
		snprintf(id, sizeof id, "%s", g->id);
		grant_release(g);
		if (store_grant_get(b->store, id, g) != STORE_OK)
			return false;
	}
	return false;
}

static json_t *end_grants(broker_t *b, const char *identity, const char *alert_id, int64_t now)
{
	grant_t *gs = NULL;
	size_t n = 0, revoked = 0;
	if (store_grant_active(b->store, identity, now, &gs, &n) != STORE_OK)
		return json_string("failed");
	for (size_t i = 0; i < n; i++) {
		revoked += revoke_grant(b, &gs[i], alert_id, now);
		grant_release(&gs[i]);
	}
	free(gs);
	return json_sprintf("%zu of %zu active grants revoked", revoked, n);
}

static json_t *revoke_tokens(broker_t *b, const char *identity, const char *alert_id, int64_t now)
{
	json_t *live = NULL, *t;
	size_t i, revoked = 0;
	if (store_monitor_live_tokens(b->store, identity, now, MAX_TOKENS_REVOKED, &live) != STORE_OK)
		return json_string("failed");
	json_array_foreach(live, i, t) {
		const char *jti = json_string_value(json_object_get(t, "jti"));
		json_t *details = json_pack("{s:s, s:O, s:s}", "sub", identity, "exp", json_object_get(t, "exp"), "alert",
					    alert_id);
		audit_event_t ev = {.type = "token.revoked", .actor = MONITOR_ACTOR, .action = "oauth.revoke",
				    .decision = "allow", .jti = jti, .details = details};
		revoked += store_token_revoke(b->store, jti, now, &ev) == STORE_OK;
		json_decref(details);
	}
	size_t n = json_array_size(live);
	json_decref(live);
	return json_sprintf("%zu of %zu live tokens revoked", revoked, n);
}

json_t *monitor_contain(broker_t *b, const char *identity, unsigned actions, const char *alert_id, int64_t now)
{
	json_t *out = json_object();
	if (actions & CONTAIN_SUSPEND)
		json_object_set_new(out, "suspend", suspend(b, identity, alert_id, now));
	if (actions & CONTAIN_END_GRANTS)
		json_object_set_new(out, "end_grants", end_grants(b, identity, alert_id, now));
	if (actions & CONTAIN_REVOKE_TOKENS)
		json_object_set_new(out, "revoke_tokens", revoke_tokens(b, identity, alert_id, now));
	log_event(LOG_WARN, "monitor contained an identity", "identity", identity, "alert", alert_id, NULL);
	return out;
}
