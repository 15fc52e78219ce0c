/* edge_http.c - the edge's HTTP endpoint (edge_http.h): libmicrohttpd with
 * a thread per core; /auth answers the proxy's subrequest from
 * edge_decide, sets the answer's headers (an allow whose injected secret
 * has no value turns into 503 inject_unavailable), writes the audit record
 * before the answer leaves; /healthz and /metrics say how the edge is. */
#include "edge/edge_http.h"
#include "edge/edge_auth.h"
#include "edge/edge_secrets.h"
#include "edge/edge_spool.h"
#include "core/edge_audit.h"
#include "shell/log.h"
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define XFF_MAX 1024
#define USER_AGENT_MAX 255 /* bytes of a User-Agent kept in a record (the monitor reads 255) */
/* A connection's buffer: the subrequest's head must fit (a larger one is
 * answered 431 by libmicrohttpd). libmicrohttpd zeroes the buffer for
 * each request on a kept-alive connection, twice, so its size is paid per
 * decision: 32 KiB (libmicrohttpd's default, and about what nginx accepts
 * from a client: large_client_header_buffers 4 8k) holds a token and a
 * DPoP proof of TG_MAX_JWT_LEN each, an X-Original-URI of TG_MAX_URI and a
 * forwarded certificate; 64 KiB cost 8 % of the edge's CPU per decision. */
#define CONNECTION_MEMORY (32 * 1024)

/* Decisions by reason code, for /metrics. */
static const char *const reasons[] = {"allow", "missing", "malformed", "invalid", "expired", "revoked", "binding",
				      "no_route", "stale", "not_covered", "denied", "probe", "audit_unavailable",
				      "inject_unavailable"};
#define N_REASONS (sizeof reasons / sizeof reasons[0])
static atomic_uint_fast64_t decisions[N_REASONS];

static void count(const char *reason)
{
	for (size_t i = 0; i < N_REASONS; i++)
		if (strcmp(reasons[i], reason) == 0)
			atomic_fetch_add(&decisions[i], 1);
}

/* ---- headers in ---- */

typedef struct {
	fwd_input_t in;
	char xff[XFF_MAX + 1];
	size_t xff_len;
	bool xff_overflow, probe;
	const char *user_agent; /* for the record: the monitor tells browsers from machines */
} collected_t;

static void take(const char **slot, unsigned *count_slot, const char *value)
{
	if (count_slot != NULL)
		(*count_slot)++;
	if (*slot == NULL)
		*slot = value;
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	collected_t *c = cls;
	fwd_input_t *in = &c->in;
	(void)kind;
	if (strcasecmp(key, "Authorization") == 0)
		take(&in->authorization, &in->authorization_count, value);
	else if (strcasecmp(key, "DPoP") == 0)
		take(&in->dpop, &in->dpop_count, value);
	else if (strcasecmp(key, "X-Original-Method") == 0)
		take(&in->x_original_method, NULL, value);
	else if (strcasecmp(key, "X-Original-URI") == 0)
		take(&in->x_original_uri, NULL, value);
	else if (strcasecmp(key, "X-Forwarded-Method") == 0)
		take(&in->x_forwarded_method, NULL, value);
	else if (strcasecmp(key, "X-Forwarded-Uri") == 0)
		take(&in->x_forwarded_uri, NULL, value);
	else if (strcasecmp(key, "X-Forwarded-Proto") == 0)
		take(&in->x_forwarded_proto, NULL, value);
	else if (strcasecmp(key, "X-Forwarded-Host") == 0)
		take(&in->x_forwarded_host, NULL, value);
	else if (strcasecmp(key, "Host") == 0)
		take(&in->host, NULL, value);
	else if (strcasecmp(key, "X-Real-IP") == 0)
		take(&in->x_real_ip, NULL, value);
	else if (strcasecmp(key, "X-Client-Cert") == 0)
		take(&in->x_client_cert, NULL, value);
	else if (strcasecmp(key, "X-Tollgate-Probe") == 0)
		c->probe = true;
	else if (strcasecmp(key, "User-Agent") == 0)
		take(&c->user_agent, NULL, value);
	else if (strcasecmp(key, "X-Forwarded-For") == 0) {
		/* every field, joined: the right-most entries are the ones to trust */
		size_t n = strlen(value);
		if (c->xff_len + n + 1 > XFF_MAX)
			c->xff_overflow = true;
		else {
			if (c->xff_len > 0)
				c->xff[c->xff_len++] = ',';
			memcpy(c->xff + c->xff_len, value, n + 1);
			c->xff_len += n;
		}
	}
	return MHD_YES;
}

/* ---- answers ---- */

static enum MHD_Result send_answer(struct MHD_Connection *conn, int status, const char *type, const char *body,
				   struct MHD_Response *resp)
{
	if (type != NULL)
		MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result r = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	(void)body;
	return r;
}

static void challenge(struct MHD_Response *resp, const edge_decision_t *d)
{
	char v[400], desc[sizeof d->why];
	const char *scheme = d->dpop ? "DPoP" : "Bearer";
	snprintf(desc, sizeof desc, "%s", d->why);
	for (char *p = desc; *p != '\0'; p++) /* a quoted-string: no quote, backslash or control */
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '\'';
	if (d->error == NULL)
		snprintf(v, sizeof v, "%s realm=\"tollgate\"%s", scheme, d->dpop ? ", algs=\"EdDSA Ed25519\"" : "");
	else
		snprintf(v, sizeof v, "%s realm=\"tollgate\", error=\"%s\", error_description=\"%s\"%s", scheme, d->error,
			 desc, d->dpop ? ", algs=\"EdDSA Ed25519\"" : "");
	MHD_add_response_header(resp, "WWW-Authenticate", v);
}

typedef struct {
	struct MHD_Response *resp;
	const char *header;
	bool added;
} inject_ctx_t;

static void add_injected(const char *value, void *ctx)
{
	inject_ctx_t *c = ctx;
	c->added = MHD_add_response_header(c->resp, c->header, value) == MHD_YES;
}

/* The headers of an allow; false when an injected value is not held or
 * cannot be added (the answer must not go out without it). */
static bool allow_headers(edge_t *e, struct MHD_Response *resp, const edge_decision_t *d)
{
	MHD_add_response_header(resp, "X-Tollgate-Subject", d->sub);
	if (d->grant[0] != '\0')
		MHD_add_response_header(resp, "X-Tollgate-Grant", d->grant);
	const edge_route_t *rt = &e->cfg.routes[d->route];
	for (size_t j = 0; j < rt->n_inject; j++) {
		inject_ctx_t c = {resp, rt->inject[j].header, false};
		if (rt->inject[j].source == EDGE_INJECT_SECRET) {
			if (!edge_secrets_use(e->secrets, rt->inject[j].path, add_injected, &c) || !c.added)
				return false;
		} else {
			const char *v = e->inject[(size_t)d->route * TG_EDGE_MAX_INJECTS + j].value;
			if (v != NULL)
				add_injected(v, &c);
		}
	}
	return true;
}

/* An allow the edge cannot complete: fail closed, and say so in the audit. */
static void inject_unavailable(edge_decision_t *d)
{
	d->status = 503;
	d->reason = "inject_unavailable";
	d->record = true;
	snprintf(d->why, sizeof d->why, "an injected secret of this route has no value at the edge (not fetched yet, "
					"refused by the broker or deleted); refusing (fail closed)");
}

static struct MHD_Response *empty_response(void)
{
	return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
}

/* The audit record of a decision, with the client's User-Agent (its first
 * USER_AGENT_MAX bytes) when it sent one; false when it cannot be
 * written. */
static bool record(edge_t *e, const edge_decision_t *d, const char *user_agent)
{
	char ua[USER_AGENT_MAX + 1];
	if (user_agent != NULL)
		edge_audit_clip(user_agent, USER_AGENT_MAX, ua);
	json_t *details = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "reason", d->reason, "why", d->why, "method",
				    d->method, "path", d->path, "user_agent", user_agent != NULL ? ua : NULL);
	json_t *policies = json_array();
	char ids[sizeof d->policies];
	snprintf(ids, sizeof ids, "%s", d->policies);
	for (char *save = NULL, *t = strtok_r(ids, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
		json_array_append_new(policies, json_string(t));
	audit_event_t ev = {.type = d->status == 200 ? "authz.allow" : "authz.deny",
			    .actor = d->sub[0] ? d->sub : NULL,
			    .action = d->action[0] ? d->action : NULL,
			    .resource = d->resource[0] ? d->resource : NULL,
			    .decision = d->status == 200 ? "allow" : "deny",
			    .jti = d->jti[0] ? d->jti : NULL,
			    .grant = d->grant[0] ? d->grant : NULL,
			    .src = d->src[0] ? d->src : NULL,
			    .edge = e->cfg.identity,
			    .policies = json_array_size(policies) ? policies : NULL,
			    .details = details};
	int rc = edge_spool_append(e->spool, &ev);
	json_decref(details);
	json_decref(policies);
	return rc == 0;
}

static enum MHD_Result handle_auth(edge_t *e, struct MHD_Connection *conn)
{
	collected_t c;
	edge_decision_t d;
	memset(&c, 0, sizeof c);
	MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, &c);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	c.in.peer = ci != NULL ? ci->client_addr : NULL;
	c.in.x_forwarded_for = c.xff_len > 0 ? c.xff : NULL;
	if (c.xff_overflow)
		c.in.x_forwarded_for = "not-an-address"; /* refused as unreadable, never truncated */
	edge_decide(e, &c.in, c.probe, edge_now_ms(), &d);
	struct MHD_Response *resp = empty_response();
	if (resp == NULL)
		return MHD_NO;
	if (d.status == 200 && !allow_headers(e, resp, &d)) {
		MHD_destroy_response(resp);
		inject_unavailable(&d);
		if ((resp = empty_response()) == NULL)
			return MHD_NO;
	}
	if (d.record && !record(e, &d, c.user_agent) && d.status == 200) {
		d.status = 403;
		d.reason = "audit_unavailable";
		snprintf(d.why, sizeof d.why, "the audit spool is full or cannot be written; refusing (fail closed)");
		MHD_destroy_response(resp); /* without the allow's headers */
		if ((resp = empty_response()) == NULL)
			return MHD_NO;
	}
	count(d.reason);
	MHD_add_response_header(resp, "X-Tollgate-Reason", d.reason);
	if (d.status == 401 || (d.status == 403 && d.error != NULL))
		challenge(resp, &d);
	if (d.status != 200)
		log_event(LOG_DEBUG, "refused", "reason", d.reason, "why", d.why, "sub", d.sub[0] ? d.sub : NULL,
			  "path", d.path, NULL);
	return send_answer(conn, d.status, NULL, NULL, resp);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, int status, const char *type, char *body)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	return send_answer(conn, status, type, NULL, resp);
}

static enum MHD_Result handle_healthz(edge_t *e, struct MHD_Connection *conn)
{
	int64_t now = edge_now_ms(), last = atomic_load(&e->last_sync_ms);
	bool stale = edge_stale(e, now);
	edge_state_read(e->state);
	json_t *o = json_pack("{s:s, s:b, s:I, s:o, s:I}", "status", stale ? "stale" : "ok", "stale", stale, "seq",
			      (json_int_t)edge_state_seq(e->state), "last_sync_age_s",
			      last ? json_integer((now - last) / 1000) : json_null(), "audit_backlog",
			      (json_int_t)edge_spool_backlog(e->spool));
	edge_state_done(e->state);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text ? send_text(conn, stale ? 503 : 200, "application/json", text) : MHD_NO;
}

static enum MHD_Result handle_metrics(edge_t *e, struct MHD_Connection *conn)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	int64_t now = edge_now_ms(), last = atomic_load(&e->last_sync_ms);
	if (b == NULL)
		return MHD_NO;
	n += (size_t)snprintf(b + n, cap - n, "# HELP tollgate_edge_decisions_total Forward-auth decisions by reason.\n"
					      "# TYPE tollgate_edge_decisions_total counter\n");
	for (size_t i = 0; i < N_REASONS; i++)
		n += (size_t)snprintf(b + n, cap - n, "tollgate_edge_decisions_total{reason=\"%s\"} %llu\n", reasons[i],
				      (unsigned long long)atomic_load(&decisions[i]));
	edge_state_read(e->state);
	int64_t seq = edge_state_seq(e->state);
	edge_state_done(e->state);
	n += (size_t)snprintf(b + n, cap - n,
			      "# HELP tollgate_edge_stale 1 while the edge has not heard from the broker for max_stale.\n"
			      "# TYPE tollgate_edge_stale gauge\ntollgate_edge_stale %d\n"
			      "# HELP tollgate_edge_feed_seq The feed position the edge's state is current at.\n"
			      "# TYPE tollgate_edge_feed_seq gauge\ntollgate_edge_feed_seq %lld\n"
			      "# HELP tollgate_edge_last_sync_age_seconds Seconds since the broker last answered.\n"
			      "# TYPE tollgate_edge_last_sync_age_seconds gauge\ntollgate_edge_last_sync_age_seconds %lld\n"
			      "# HELP tollgate_edge_token_cache_entries Verified tokens held in the cache.\n"
			      "# TYPE tollgate_edge_token_cache_entries gauge\ntollgate_edge_token_cache_entries %zu\n"
			      "# HELP tollgate_edge_audit_backlog Audit records not yet acknowledged by the broker.\n"
			      "# TYPE tollgate_edge_audit_backlog gauge\ntollgate_edge_audit_backlog %lld\n",
			      edge_stale(e, now) ? 1 : 0, (long long)seq, (long long)(last ? (now - last) / 1000 : -1),
			      edge_cache_count(e->cache), (long long)edge_spool_backlog(e->spool));
	return send_text(conn, 200, "text/plain; version=0.0.4", b);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	edge_t *e = cls;
	(void)version;
	(void)upload;
	if (*con_cls == NULL) { /* first call: headers only */
		*con_cls = (void *)1;
		return MHD_YES;
	}
	if (*upload_size > 0) { /* a body is never needed: drop it */
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/auth") == 0 || strncmp(url, "/auth/", 6) == 0)
		return handle_auth(e, conn);
	if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
		return handle_healthz(e, conn);
	if (strcmp(method, "GET") == 0 && strcmp(url, "/metrics") == 0)
		return handle_metrics(e, conn);
	return send_text(conn, 404, "application/problem+json",
			 strdup("{\"status\":404,\"title\":\"Not Found\",\"detail\":\"the edge serves /auth, /healthz and "
				"/metrics\"}"));
}

__attribute__((format(printf, 2, 0)))
static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[300];
	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_event(LOG_WARN, "http", "detail", msg, NULL);
}

struct MHD_Daemon *edge_http_start(edge_t *e, const struct sockaddr *addr, char *why, size_t why_len)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = cpus > 0 && cpus < 64 ? (unsigned)cpus : 2;
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, e,
		MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)CONNECTION_MEMORY, MHD_OPTION_END);
	if (d == NULL)
		snprintf(why, why_len, "cannot listen on %s (in use, or not an address of this machine)", e->cfg.listen);
	return d;
}

void edge_http_stop(struct MHD_Daemon *d)
{
	if (d != NULL)
		MHD_stop_daemon(d);
}
