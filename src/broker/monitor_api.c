/* monitor_api.c - /v1/alerts: the monitor's alerts (docs/monitoring.md,
 * docs/api.md).
 *
 *   GET  /v1/alerts[?state=open|acked][&identity=ID][&limit=N][&after=ID]
 *        -> {"alerts": [...newest first], "next": ID or null}
 *   GET  /v1/alerts/{id}
 *   POST /v1/alerts/{id}/ack      {"comment"?}  -> the alert, acked
 *   POST /v1/alerts/{id}/release  {"comment"?}  -> the alert; the identity
 *        its containment suspended is active again (fresh MFA)
 *
 * Ack and release are compare-and-set on the stored document: of two
 * callers at once, one wins and the other gets 409. Both are audited
 * (monitor.acked, identity.reactivated) with the alert id. */
#include "broker/audit_trail.h"
#include "broker/monitor.h"
#include "core/grant.h"
#include "core/identity_json.h"
#include "core/timefmt.h"
#include "shell/log.h"
#include "store/store_monitor.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

void handle_alert_list(req_t *r)
{
	long long limit;
	const char *state = http_query(r, "state"), *identity = http_query(r, "identity"), *after = http_query(r, "after");
	json_t *alerts = NULL;
	if (http_query_int(r, "limit", 1, TG_MAX_LIST_LIMIT, 100, &limit) != 0)
		return;
	if (state != NULL && strcmp(state, "open") != 0 && strcmp(state, "acked") != 0) {
		http_problem(r, 400, NULL, "state must be open or acked");
		return;
	}
	if (identity != NULL && !identity_name_valid(identity)) {
		http_problem(r, 400, NULL, "identity must be an identity id (1-128 characters of A-Z a-z 0-9 . _ -)");
		return;
	}
	if (after != NULL && !alert_id_valid(after)) {
		http_problem(r, 400, NULL, "after must be an alert id (the \"next\" of the previous page)");
		return;
	}
	if (store_monitor_alert_list(r->b->store, state, identity, after, (int)limit, &alerts) != STORE_OK) {
		store_failed(r);
		return;
	}
	size_t n = json_array_size(alerts);
	json_t *next = n == (size_t)limit ? json_incref(json_object_get(json_array_get(alerts, n - 1), "id")) : json_null();
	http_json(r, 200, json_pack("{s:o, s:o}", "alerts", alerts, "next", next));
}

/* The alert named in the path; answers 404/503 and returns NULL. */
static json_t *load(req_t *r)
{
	json_t *doc = NULL;
	store_rc rc = alert_id_valid(r->param) ? store_monitor_alert_get(r->b->store, r->param, &doc) : STORE_NOT_FOUND;
	if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "no alert with this id; list them with GET /v1/alerts");
	else if (rc != STORE_OK)
		store_failed(r);
	return rc == STORE_OK ? doc : NULL;
}

void handle_alert_show(req_t *r)
{
	json_t *doc = load(r);
	if (doc != NULL)
		http_json(r, 200, doc);
}

/* The optional {"comment"} body into note; -1 after answering 400. */
static int read_comment(req_t *r, char note[TG_MAX_GRANT_REASON + 1])
{
	char buf[160];
	json_t *doc = r->body_len > 0 ? http_json_body(r) : NULL;
	if (r->body_len > 0 && doc == NULL)
		return -1;
	const char *why = grant_note_parse(doc, "comment", false, note, buf, sizeof buf);
	if (why == NULL && doc != NULL && json_object_size(doc) > (json_object_get(doc, "comment") ? 1u : 0u))
		why = "the body may only hold \"comment\"";
	json_decref(doc);
	if (why != NULL) {
		http_problem(r, 400, NULL, why);
		return -1;
	}
	return 0;
}

/* Stores the changed alert (compare-and-set on before) and answers it. */
static void save(req_t *r, json_t *doc, const char *before, const audit_event_t *ev)
{
	char *after = json_dumps(doc, JSON_COMPACT);
	const char *state = json_string_value(json_object_get(doc, "state"));
	store_rc rc = after ? store_monitor_alert_update(r->b->store, r->param, state, after, before, ev) : STORE_ERROR;
	free(after);
	if (rc == STORE_CONFLICT)
		http_problem(r, 409, NULL, "the alert changed meanwhile; read it again");
	else if (rc != STORE_OK)
		store_failed(r);
	else
		http_json(r, 200, json_incref(doc));
}

static void stamp(req_t *r, json_t *o, const char *who_member, const char *at_member)
{
	char t[RFC3339_LEN];
	rfc3339(r->now, t);
	json_object_set_new(o, who_member, json_string(r->actor.id));
	json_object_set_new(o, at_member, json_string(t));
}

void handle_alert_ack(req_t *r)
{
	char note[TG_MAX_GRANT_REASON + 1], res[ALERT_ID_LEN + 8];
	json_t *doc;
	if (read_comment(r, note) != 0 || (doc = load(r)) == NULL)
		return;
	char *before = json_dumps(doc, JSON_COMPACT);
	if (strcmp(json_string_value(json_object_get(doc, "state")), "acked") == 0) {
		http_problem(r, 409, NULL, "the alert is acknowledged already");
	} else {
		json_object_set_new(doc, "state", json_string("acked"));
		stamp(r, doc, "acked_by", "acked_at");
		json_object_set_new(doc, "comment", note[0] ? json_string(note) : json_null());
		snprintf(res, sizeof res, "Alert:%s", r->param);
		json_t *details = json_pack("{s:O, s:O, s:O}", "identity", json_object_get(doc, "identity"), "detector",
					    json_object_get(doc, "detector"), "comment", json_object_get(doc, "comment"));
		audit_event_t ev = audit_event(r, "monitor.acked", r->actor.id);
		ev.action = "monitor.ack";
		ev.resource = res;
		ev.decision = "allow";
		ev.details = details;
		save(r, doc, before, &ev);
		json_decref(details);
	}
	free(before);
	json_decref(doc);
}

/* Did the alert's containment suspend its identity, not released yet? */
static bool suspended_by(const json_t *doc)
{
	const json_t *c = json_object_get(doc, "containment");
	const char *res = json_string_value(json_object_get(json_object_get(c, "results"), "suspend"));
	return res != NULL && strcmp(res, "suspended") == 0 && json_object_get(c, "released_by") == NULL;
}

void handle_alert_release(req_t *r)
{
	char note[TG_MAX_GRANT_REASON + 1];
	json_t *doc;
	if (read_comment(r, note) != 0 || (doc = load(r)) == NULL)
		return;
	const char *identity = json_string_value(json_object_get(doc, "identity"));
	char *before = json_dumps(doc, JSON_COMPACT);
	int rc = suspended_by(doc) ? monitor_reactivate(r->b, identity, r->param, r->actor.id, r->client_ip,
							note[0] ? note : NULL)
				   : 2;
	if (rc == 2) {
		http_problem(r, 409, NULL, "this alert's containment suspended nothing that is not released already");
	} else if (rc == 1) {
		http_problem(r, 409, NULL, "the identity is no longer suspended (reactivated or offboarded meanwhile)");
	} else if (rc < 0) {
		store_failed(r);
	} else {
		json_t *c = json_object_get(doc, "containment");
		stamp(r, c, "released_by", "released_at");
		log_event(LOG_INFO, "monitor containment released", "alert", r->param, "identity", identity, NULL);
		save(r, doc, before, NULL);
	}
	free(before);
	json_decref(doc);
}
