/* edge_sessions_api.c - the operator view of live Modbus sessions
 * (docs/edge.md, Operator view). Edges report their sessions; the broker
 * keeps each edge's latest report in memory with the time it came (no
 * table: a report is a view, resent every EDGE_SESSIONS_HEARTBEAT_S) and
 * relays operators' kills through the feed.
 *
 *   PUT  /v1/edges/self/sessions        (edges) a report (core/edge_sessions.h)
 *   GET  /v1/edges/sessions[?edge=ID]   (admins, auditors) every edge's
 *        sessions, with each report's time, the edge's liveness and
 *        whether the report is stale
 *   POST /v1/edges/sessions/{sid}/kill  (admins) {"edge"?, "reason"?}:
 *        an edge.session_kill audit record, which is a feed entry
 *        (core/feed.h): the edge that holds the session closes it when it
 *        polls, acknowledging it like any revocation. 202. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/feed.h"
#include "broker/handlers.h"
#include "core/edge_sessions.h"
#include "shell/log.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char edge[TG_MAX_ID_LEN + 1];
	int64_t received_ms;
	edge_sessions_report_t rep;
} report_t;

static struct {
	pthread_mutex_t mu;
	report_t *reports; /* one per edge that reported, never more than TG_MAX_EDGES */
	size_t n;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The edge's report, NULL when it has none (mu held). */
static report_t *report_of(const char *edge)
{
	for (size_t i = 0; i < S.n; i++)
		if (strcmp(S.reports[i].edge, edge) == 0)
			return &S.reports[i];
	return NULL;
}

/* A slot for the edge's report (mu held); NULL when full or out of memory. */
static report_t *report_slot(const char *edge)
{
	report_t *r = report_of(edge);
	if (r != NULL || S.n >= TG_MAX_EDGES)
		return r;
	report_t *grown = realloc(S.reports, (S.n + 1) * sizeof *grown);
	if (grown == NULL)
		return NULL;
	S.reports = grown;
	r = &S.reports[S.n++];
	memset(r, 0, sizeof *r);
	snprintf(r->edge, sizeof r->edge, "%s", edge);
	return r;
}

static json_t *time_json(int64_t ms)
{
	char t[AUDIT_TIME_LEN];
	audit_time(ms * 1000, t);
	return json_string(t);
}

/* ---- PUT /v1/edges/self/sessions ---- */

void handle_edge_sessions_put(req_t *r)
{
	char why[300];
	edge_sessions_report_t rep;
	if (r->actor.kind != ACTOR_EDGE) { /* the route admits edges only: a report is always the caller's own */
		http_problem(r, 403, NULL, "only an edge reports its sessions");
		return;
	}
	if (!http_require_content_type(r, "application/json"))
		return;
	if (r->body_len > EDGE_SESSIONS_MAX_BODY) {
		snprintf(why, sizeof why, "a session report is at most %d bytes", EDGE_SESSIONS_MAX_BODY);
		http_problem(r, 413, NULL, why);
		return;
	}
	if (edge_sessions_report_parse(r->body ? r->body : "", r->body_len, &rep, why, sizeof why) != 0) {
		http_problem(r, 400, "Invalid session report", why);
		return;
	}
	size_t n = rep.n;
	pthread_mutex_lock(&S.mu);
	report_t *slot = report_slot(r->actor.id);
	if (slot != NULL) {
		edge_sessions_report_free(&slot->rep);
		slot->rep = rep;
		slot->received_ms = r->now_ms;
	}
	pthread_mutex_unlock(&S.mu);
	if (slot == NULL) {
		edge_sessions_report_free(&rep);
		http_problem(r, 503, NULL, "the broker keeps no more session reports; retry later");
		return;
	}
	http_json(r, 200, json_pack("{s:I}", "accepted", (json_int_t)n));
}

/* ---- GET /v1/edges/sessions ---- */

static bool report_stale(const report_t *rp, bool live, int64_t now_ms)
{
	return !live || now_ms - rp->received_ms > EDGE_SESSIONS_STALE_S * 1000;
}

/* One report into the answer's edges and sessions (mu held). */
static void add_report(const report_t *rp, int64_t now_ms, json_t *edges, json_t *sessions)
{
	bool live = feed_edge_live(rp->edge, now_ms);
	bool stale = report_stale(rp, live, now_ms);
	json_array_append_new(edges, json_pack("{s:s, s:o, s:I, s:b, s:b, s:I, s:I}", "id", rp->edge, "reported_at",
					       time_json(rp->received_ms), "report_age_ms",
					       (json_int_t)(now_ms - rp->received_ms), "live", live, "stale", stale,
					       "total", (json_int_t)rp->rep.total, "sent", (json_int_t)rp->rep.n));
	for (size_t i = 0; i < rp->rep.n; i++) {
		const edge_session_t *s = &rp->rep.rows[i];
		json_t *row = edge_session_json(s);
		json_object_set_new(row, "edge", json_string(rp->edge));
		json_object_set_new(row, "connected_at", time_json(s->since_ms));
		json_object_set_new(row, "last_activity", time_json(s->last_ms));
		json_object_set_new(row, "stale", json_boolean(stale));
		json_array_append_new(sessions, row);
	}
}

void handle_edge_sessions_list(req_t *r)
{
	const char *edge = http_query(r, "edge");
	if (edge != NULL && (edge[0] == '\0' || strlen(edge) > TG_MAX_ID_LEN)) {
		http_problem(r, 400, NULL, "edge must be an edge's identity id (1 to 128 bytes)");
		return;
	}
	json_t *edges = json_array(), *sessions = json_array();
	bool found = edge == NULL;
	pthread_mutex_lock(&S.mu);
	for (size_t i = 0; i < S.n; i++)
		if (edge == NULL || strcmp(S.reports[i].edge, edge) == 0) {
			add_report(&S.reports[i], r->now_ms, edges, sessions);
			found = true;
		}
	pthread_mutex_unlock(&S.mu);
	if (!found) {
		json_decref(edges);
		json_decref(sessions);
		http_problem(r, 404, NULL, "no session report from this edge (an edge reports only when it has modbus lines)");
		return;
	}
	http_json(r, 200, json_pack("{s:o, s:o, s:I}", "edges", edges, "sessions", sessions, "stale_after_s",
				    (json_int_t)EDGE_SESSIONS_STALE_S));
}

/* ---- POST /v1/edges/sessions/{sid}/kill ---- */

typedef struct {
	const char *edge;   /* NULL: whichever edge reports the session */
	const char *reason; /* NULL: none */
} kill_req_t;

/* The optional body; -1 when it has answered. */
static int kill_body(req_t *r, json_t **doc, kill_req_t *k)
{
	const char *name;
	json_t *v;
	memset(k, 0, sizeof *k);
	*doc = NULL;
	if (r->body_len == 0 && !http_require_no_body(r))
		return -1;
	if (r->body_len == 0)
		return 0;
	if ((*doc = http_json_body(r)) == NULL)
		return -1;
	json_object_foreach(*doc, name, v) {
		bool edge = strcmp(name, "edge") == 0, reason = strcmp(name, "reason") == 0;
		size_t len = json_string_length(v);
		if (!edge && !reason) {
			http_problem(r, 400, "Invalid kill request", "unknown member; send {\"edge\"?: ID, \"reason\"?: TEXT}");
			return -1;
		}
		if (!json_is_string(v) || len == 0 || len > (edge ? TG_MAX_ID_LEN : TG_MAX_GRANT_REASON) ||
		    strlen(json_string_value(v)) != len) {
			http_problem(r, 400, "Invalid kill request",
				     edge ? "edge must be an edge's identity id (1 to 128 bytes)"
					  : "reason must be a string of 1 to 500 bytes");
			return -1;
		}
		*(edge ? &k->edge : &k->reason) = json_string_value(v);
	}
	return 0;
}

/* Finds the session (mu held): its row copied into *out and its edge. */
static bool find_session(const char *sid, const char *edge, edge_session_t *out, char edge_out[TG_MAX_ID_LEN + 1])
{
	for (size_t i = 0; i < S.n; i++) {
		const report_t *rp = &S.reports[i];
		if (edge != NULL && strcmp(rp->edge, edge) != 0)
			continue;
		for (size_t j = 0; j < rp->rep.n; j++)
			if (strcmp(rp->rep.rows[j].id, sid) == 0) {
				*out = rp->rep.rows[j];
				snprintf(edge_out, TG_MAX_ID_LEN + 1, "%s", rp->edge);
				return true;
			}
	}
	return false;
}

static store_rc record_kill(req_t *r, const char *edge, const edge_session_t *s, const char *reason)
{
	char res[EDGE_SESSION_ID_LEN + 16];
	json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*}", "session", s->id, "device", s->device, "listener",
				    s->listener, "modbus_src", s->src, "identity", s->identity, "reason", reason);
	audit_event_t ev = audit_change_event(r, "edge.session_kill", "Session", s->id, res, sizeof res, details);
	ev.edge = edge;
	ev.grant = s->grant[0] ? s->grant : NULL;
	store_rc rc = store_audit_append(r->b->store, &ev);
	json_decref(details);
	return rc;
}

void handle_edge_session_kill(req_t *r)
{
	json_t *doc = NULL;
	kill_req_t k;
	edge_session_t s;
	char edge[TG_MAX_ID_LEN + 1];
	if (kill_body(r, &doc, &k) != 0) {
		json_decref(doc);
		return;
	}
	pthread_mutex_lock(&S.mu);
	bool has_report = k.edge == NULL || report_of(k.edge) != NULL;
	bool found = has_report && edge_session_id_valid(r->param) && find_session(r->param, k.edge, &s, edge);
	pthread_mutex_unlock(&S.mu);
	if (!found) {
		http_problem(r, 404, NULL,
			     has_report ? "no live session with this id in the edges' reports; see GET /v1/edges/sessions"
					: "no session report from this edge; see GET /v1/edges/sessions");
		json_decref(doc);
		return;
	}
	if (record_kill(r, edge, &s, k.reason) != STORE_OK) {
		broker_store_failed(r->b, r->path);
		http_problem(r, 503, NULL, "the store is unavailable; the session was not killed, retry");
		json_decref(doc);
		return;
	}
	log_event(LOG_INFO, "modbus session kill requested", "edge", edge, "session", s.id, "by", r->actor.id, NULL);
	/* requested_at: a report of the edge after it no longer lists the session shows the kill done */
	http_json(r, 202, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s*, s:o}", "session", s.id, "edge", edge, "device",
				    s.device, "identity", s.identity, "grant", s.grant, "reason", k.reason, "requested_at",
				    time_json(r->now_ms)));
	json_decref(doc);
}
