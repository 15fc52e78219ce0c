/* http.c - libmicrohttpd glue: request life cycle (bounded body
 * accumulation, dispatch through the route table, exactly one response),
 * client address and mTLS certificate extraction, response helpers.
 * Phases of one request: headers -> body (capped at max_body, or at the
 * route's own limit for an administrator; an announced oversize body is
 * refused before it is read) -> route -> request time -> access (the
 * caller authenticated once, r->actor; access.h) -> handler ->
 * completion (metrics, free). Connections (admission, timeouts) are
 * http_conn.c's. */
#include "broker/http.h"
#include "broker/access.h"
#include "broker/broker.h"
#include "broker/client_auth.h"
#include "broker/http_conn.h"
#include "shell/log.h"
#include "broker/metrics.h"
#include "core/b64url.h"
#include "core/limits.h"
#include "core/media_type.h"
#include <arpa/inet.h>
#include <stdarg.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends body, released with release once sent (free, or sodium_free for a
 * body that holds a secret's value: it is zeroed then). */
static void respond_release(req_t *r, int status, const char *type, char *body, size_t len,
			    MHD_ContentReaderFreeCallback release)
{
	struct MHD_Response *resp;
	if (r->status != 0) {
		release(body);
		return;
	}
	resp = MHD_create_response_from_buffer_with_free_callback(len, body, release);
	if (resp == NULL) {
		release(body);
		return;
	}
	if (type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (r->max_age > 0 && status == 200) {
		char cc[40];
		snprintf(cc, sizeof cc, "public, max-age=%lld", (long long)r->max_age);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cc);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == 401 && r->step_up_max_age > 0) {
		char chal[200];
		snprintf(chal, sizeof chal, "Bearer realm=\"tollgate\", error=\"insufficient_user_authentication\", "
			 "error_description=\"a fresh second factor is required\", max_age=%lld",
			 (long long)r->step_up_max_age);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, chal);
	} else if (status == 401 && r->b != NULL && strncmp(r->path, "/v1/", 4) == 0) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tollgate\"");
	}
	if (status == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->retry_after > 0) {
		char ra[24];
		snprintf(ra, sizeof ra, "%lld", (long long)r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	MHD_queue_response(r->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	r->status = status;
}

static void respond(req_t *r, int status, const char *type, char *body, size_t len)
{
	respond_release(r, status, type, body, len, free);
}

void http_secret_json(req_t *r, int status, char *body, size_t len)
{
	respond_release(r, status, "application/json", body, len, sodium_free);
}

void http_text(req_t *r, int status, const char *content_type, char *body)
{
	respond(r, status, content_type, body, body ? strlen(body) : 0);
}

void http_json(req_t *r, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (s == NULL) {
		http_problem(r, 500, NULL, "could not encode the response");
		return;
	}
	respond(r, status, "application/json", s, strlen(s));
}

/* OAuth endpoints answer every error in the RFC 6749 §5.2 form, including
 * the ones the HTTP layer raises (405, 413, 415); /v1 and the rest use RFC
 * 9457 problem+json. */
static bool is_oauth_endpoint(const char *path)
{
	return strcmp(path, "/oauth/token") == 0 || strcmp(path, "/oauth/introspect") == 0 ||
	       strcmp(path, "/oauth/revoke") == 0;
}

void http_problem(req_t *r, int status, const char *title, const char *detail)
{
	http_problem_ext(r, status, title, detail, NULL);
}

void http_problem_ext(req_t *r, int status, const char *title, const char *detail, json_t *ext)
{
	if (is_oauth_endpoint(r->path)) {
		json_decref(ext);
		http_oauth_error(r, status, status >= 500 ? "server_error" : "invalid_request",
				 detail ? detail : title);
		return;
	}
	/* Built member by member: a path or detail that is not valid UTF-8
	 * (json_string refuses it) is left out rather than losing the answer. */
	json_t *p = json_pack("{s:s, s:s, s:i}", "type", "about:blank", "title",
			      title ? title : MHD_get_reason_phrase_for((unsigned int)status), "status", status);
	if (strlen(r->path) <= TG_MAX_URI) /* a 414's path is not echoed */
		json_object_set_new(p, "instance", json_string(r->path));
	if (detail != NULL)
		json_object_set_new(p, "detail", json_string(detail));
	if (ext != NULL)
		json_object_update_missing(p, ext);
	json_decref(ext);
	char *s = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (s == NULL)
		s = strdup("{\"type\":\"about:blank\",\"title\":\"Error\"}");
	if (s != NULL)
		respond(r, status, "application/problem+json", s, strlen(s));
}

void http_step_up(req_t *r, int64_t max_age)
{
	char detail[160];
	snprintf(detail, sizeof detail, "this action needs a second factor at most %lld s old: log in again "
		 "(tollgate login USER) and retry", (long long)max_age);
	r->step_up_max_age = max_age;
	http_problem_ext(r, 401, "Step-up authentication required", detail,
			 json_pack("{s:I}", "max_age", (json_int_t)max_age));
}

void http_oauth_error(req_t *r, int status, const char *error, const char *description)
{
	json_t *e = json_pack("{s:s}", "error", error);
	if (description != NULL)
		json_object_set_new(e, "error_description", json_string(description));
	http_json(r, status, e);
}

const char *http_header(req_t *r, const char *name)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
	return v != NULL && strlen(v) <= TG_MAX_HEADER_VALUE ? v : NULL;
}

bool http_header_oversized(req_t *r, const char *name)
{
	const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
	return v != NULL && strlen(v) > TG_MAX_HEADER_VALUE;
}

const char *http_query(req_t *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int http_query_int(req_t *r, const char *name, long long lo, long long hi, long long dflt,
		   long long *out)
{
	const char *v = http_query(r, name);
	char *end = NULL, msg[120];
	*out = dflt;
	if (v == NULL)
		return 0;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno == 0 && end != v && *end == '\0' && n >= lo && n <= hi) {
		*out = n;
		return 0;
	}
	snprintf(msg, sizeof msg, "%s must be an integer from %lld to %lld", name, lo, hi);
	http_problem(r, 400, NULL, msg);
	return -1;
}

typedef struct {
	const char *value; /* the header value whose successor is wanted */
	const char *next_key;
	bool seen;
} next_header_t;

static enum MHD_Result find_next_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	next_header_t *nh = cls;
	if (nh->seen) {
		nh->next_key = key;
		return MHD_NO;
	}
	nh->seen = value == nh->value;
	return MHD_YES;
}

/* libmicrohttpd 0.9.75 parses header lines in place and ends a value at
 * its first NUL byte, so "application/json\0; charset=utf-16" reads as
 * "application/json". Bytes left in the line after the terminating NUL
 * (other than trailing blanks) reveal such a value: the line's own end (CR
 * or LF, zeroed or not) or the next header's name must follow. */
static bool value_hides_bytes(req_t *r, const char *v, size_t n)
{
	const char *p = v + n + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\r' || *p == '\n')
		return false;
	next_header_t nh = {.value = v};
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, find_next_header, &nh);
	return p != nh.next_key;
}

bool http_content_type_is(req_t *r, const char *type)
{
	const char *ct = NULL;
	size_t n = 0;
	if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE,
					  strlen(MHD_HTTP_HEADER_CONTENT_TYPE), &ct, &n) != MHD_YES)
		return false;
	return n <= TG_MAX_HEADER_VALUE && media_type_is(ct, n, type) && !value_hides_bytes(r, ct, n);
}

bool http_require_content_type(req_t *r, const char *type)
{
	if (http_content_type_is(r, type))
		return true;
	char msg[160];
	snprintf(msg, sizeof msg, "send the body as Content-Type: %s (charset, if given, utf-8)", type);
	http_problem(r, 415, NULL, msg);
	return false;
}

bool http_require_no_body(req_t *r)
{
	bool typed = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE) != NULL;
	if ((typed || r->body_len > 0) && !http_require_content_type(r, "application/json"))
		return false;
	if (r->body_len == 0)
		return true;
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	bool empty = json_is_object(j) && json_object_size(j) == 0;
	json_decref(j);
	if (!empty)
		http_problem(r, 400, NULL, "this endpoint takes no request body (or an empty JSON object)");
	return empty;
}

/* Nesting depth, giving up once past the limit (jansson bounds recursion
 * while parsing, so this walk is bounded too). */
static int json_depth(const json_t *j)
{
	int max = 0;
	size_t n = json_is_object(j) ? json_object_size(j) : json_is_array(j) ? json_array_size(j) : 0;
	void *it = json_is_object(j) ? json_object_iter((json_t *)j) : NULL;
	if (!json_is_object(j) && !json_is_array(j))
		return 0;
	for (size_t i = 0; i < n && max <= TG_MAX_JSON_DEPTH; i++) {
		const json_t *v = it ? json_object_iter_value(it) : json_array_get(j, i);
		int d = json_depth(v);
		if (d > max)
			max = d;
		if (it != NULL)
			it = json_object_iter_next((json_t *)j, it);
	}
	return max + 1;
}

json_t *http_json_body(req_t *r)
{
	json_error_t err;
	char msg[300];
	if (!http_require_content_type(r, "application/json"))
		return NULL;
	json_t *j = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL) {
		/* jansson's text quotes the body ("near '...'"): not for a body
		 * that may carry a secret's value */
		bool quiet = strncmp(r->path, "/v1/secrets", 11) == 0 || strncmp(r->path, "/v1/login", 9) == 0;
		snprintf(msg, sizeof msg, "request body is not valid JSON: %s (line %d, column %d)",
			 quiet ? "malformed" : err.text, err.line, err.column);
		http_problem(r, 400, "Malformed JSON", msg);
		return NULL;
	}
	if (!json_is_object(j) || json_depth(j) > TG_MAX_JSON_DEPTH) {
		json_decref(j);
		http_problem(r, 400, "Malformed JSON", "request body must be a JSON object of bounded depth");
		return NULL;
	}
	return j;
}

void http_self_url(req_t *r, const char *path, char *out, size_t len)
{
	snprintf(out, len, "%s%s", r->b->issuer, path);
}

/* ---- routing ---- */

static bool route_matches(const route_t *rt, const char *path, const char **param, size_t *plen)
{
	size_t n = strlen(rt->prefix);
	if (rt->suffix == NULL)
		return strcmp(path, rt->prefix) == 0;
	if (strncmp(path, rt->prefix, n) != 0)
		return false;
	const char *id = path + n, *slash = strchr(id, '/');
	size_t idlen = slash ? (size_t)(slash - id) : strlen(id);
	if (idlen == 0 || idlen > TG_MAX_ID_LEN)
		return false;
	if (strcmp(slash ? slash : "", rt->suffix) != 0)
		return false;
	*param = id;
	*plen = idlen;
	return true;
}

/* The request time every handler reads (r->now, r->now_ms): one reading
 * of the clock per dispatch. */
static void stamp_time(req_t *r)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->now = (int64_t)ts.tv_sec;
	r->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void dispatch(req_t *r)
{
	bool path_known = false;
	char param[TG_MAX_ID_LEN + 1];
	stamp_time(r);
	if (r->resume != NULL) { /* a held request, resumed: its holder answers */
		handler_fn resume = r->resume;
		r->resume = NULL;
		r->held = false;
		resume(r);
		if (r->status == 0 && !r->held)
			http_problem(r, 500, NULL, "the handler sent no response");
		return;
	}
	for (const route_t *rt = broker_routes; rt->method != NULL; rt++) {
		const char *p = NULL;
		size_t plen = 0;
		if (!route_matches(rt, r->path, &p, &plen))
			continue;
		if (strcmp(rt->method, r->method) != 0) {
			size_t n = strlen(r->allow);
			snprintf(r->allow + n, sizeof r->allow - n, "%s%s", path_known ? ", " : "", rt->method);
			path_known = true;
			continue;
		}
		r->route = metrics_route(rt->name);
		if (p != NULL) {
			memcpy(param, p, plen);
			param[plen] = '\0';
			r->param = param;
		}
		if (r->body_too_large) {
			http_problem(r, 413, NULL, "request body is too large");
			return;
		}
		r->held = false;
		if (access_admit(r, rt->access))
			rt->handler(r);
		if (r->status == 0 && !r->held)
			http_problem(r, 500, NULL, "the handler sent no response");
		r->param = NULL;
		return;
	}
	r->route = metrics_route(path_known ? "method_not_allowed" : "not_found");
	if (path_known)
		http_problem(r, 405, NULL, "this method is not allowed on this path");
	else
		http_problem(r, 404, NULL, "no such endpoint; see docs/api.md");
}

/* The body limit of the route for method and path: its own max_body when
 * it has one and the caller holds a valid admin token (checked before any
 * of the body is read, so that only an administrator can make the broker
 * buffer a large body), else the configured max_body. This runs before
 * dispatch (so before the request time is stamped) and only sizes the
 * buffer: access is decided at dispatch. */
static size_t body_limit(req_t *r)
{
	for (const route_t *rt = broker_routes; rt->method != NULL; rt++) {
		const char *p = NULL;
		size_t plen = 0;
		if (rt->max_body == 0 || strcmp(rt->method, r->method) != 0 ||
		    !route_matches(rt, r->path, &p, &plen))
			continue;
		if (rt->max_body > (size_t)r->b->cfg.max_body && access_admin_bearer(r, broker_now()))
			return rt->max_body;
		break;
	}
	return (size_t)r->b->cfg.max_body;
}

static void peer_address(req_t *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  r->client_ip, sizeof r->client_ip);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  r->client_ip, sizeof r->client_ip);
}

/* Fingerprint of the client certificate, only when it verified against the
 * configured client CA. */
static void peer_certificate(req_t *r)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned int n = 0, status = 1;
	if (ci == NULL || ci->tls_session == NULL)
		return;
	gnutls_session_t s = (gnutls_session_t)ci->tls_session;
	const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0)
		return;
	if (gnutls_certificate_verify_peers2(s, &status) != GNUTLS_E_SUCCESS || status != 0)
		return;
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, certs[0].data, certs[0].size);
	hex_encode_to(d, sizeof d, r->tls_fp);
}

static enum MHD_Result add_header_size(void *cls, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	size_t *n = cls;
	*n += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF */
	return MHD_YES;
}

/* 414 and 431 for what fits in the library's buffer but exceeds the
 * broker's limits (larger ones the library answers itself, docs/api.md). */
static bool head_too_large(req_t *r)
{
	size_t n = 0;
	if (http_conn_uri_len(r->conn) > TG_MAX_URI) {
		r->route = metrics_route("too_large");
		http_problem(r, 414, NULL, "the request target (path and query) is too long");
		return true;
	}
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, add_header_size, &n);
	if (n > TG_MAX_REQUEST_HEADERS) {
		r->route = metrics_route("too_large");
		http_problem(r, 431, NULL, "the request headers are too large");
		return true;
	}
	return false;
}

/* Zeroes and frees the request body: it may hold a secret's value (PUT
 * /v1/secrets), whatever became of the request. */
static void free_body(req_t *r)
{
	if (r->body != NULL)
		sodium_memzero(r->body, r->body_cap);
	free(r->body);
	r->body = NULL;
	r->body_len = r->body_cap = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	broker_t *b = cls;
	req_t *r = *con_cls;
	if (r == NULL) {
		if ((r = calloc(1, sizeof *r)) == NULL)
			return MHD_NO;
		r->conn = c;
		r->b = b;
		r->method = method;
		r->path = url;
		r->route = -1;
		r->started = mono_now();
		*con_cls = r;
		if (head_too_large(r))
			return MHD_YES;
		r->max_body = body_limit(r);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl != NULL && strtoull(cl, NULL, 10) > (unsigned long long)r->max_body) {
			r->route = metrics_route("too_large");
			r->body_too_large = true;
			http_problem(r, 413, NULL, "request body is too large");
		}
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!r->body_too_large && r->body_len + *upload_size > r->max_body) {
			r->body_too_large = true;
			free_body(r);
		}
		if (!r->body_too_large) {
			/* Geometric growth: large (admin) bodies arrive in many chunks. */
			size_t need = r->body_len + *upload_size + 1;
			if (need > r->body_cap) {
				size_t cap = r->body_cap * 2 > need ? r->body_cap * 2 : need;
				if (cap > r->max_body + 1)
					cap = r->max_body + 1;
				/* not realloc: the old block may hold a secret's value */
				char *g = malloc(cap);
				size_t len = r->body_len;
				if (g == NULL)
					return MHD_NO;
				if (len > 0)
					memcpy(g, r->body, len);
				free_body(r);
				r->body = g;
				r->body_len = len;
				r->body_cap = cap;
			}
			memcpy(r->body + r->body_len, upload, *upload_size);
			r->body_len += *upload_size;
			r->body[r->body_len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->status != 0)
		return MHD_YES;
	peer_address(r);
	if (b->cfg.client_ca[0] != '\0')
		peer_certificate(r);
	dispatch(r);
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	req_t *r = *con_cls;
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) /* the connection stays for the next request */
		http_conn_request_done(c);
	if (r == NULL)
		return;
	metrics_request(r->route, r->status, mono_now() - r->started);
	if (r->held_state != NULL)
		r->held_free(r->held_state);
	free_body(r);
	free(r);
	*con_cls = NULL;
}

/* libmicrohttpd's own messages become JSON log lines too. */
__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_event(LOG_WARN, "http server", "detail", msg, NULL);
}

struct MHD_Daemon *http_start(broker_t *b, int listen_fd, int threads, const char *cert_pem,
			      const char *key_pem, const char *ca_pem, char *err, size_t err_len)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_ITC |
			     MHD_ALLOW_SUSPEND_RESUME;
	if (cert_pem != NULL)
		flags |= MHD_USE_TLS;
	unsigned max_conn = http_conn_init(&b->cfg, err, err_len);
	if (max_conn == 0)
		return NULL;
	struct MHD_OptionItem opts[] = {
		/* First, or MHD warns that earlier options may log through its default logger. */
		{MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL},
		{MHD_OPTION_THREAD_POOL_SIZE, threads, NULL},
		{MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL},
		{MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL},
		/* Admission is http_conn_accept's; the library's own limit sits
		 * above it (by what concurrent accepts may overshoot), and every
		 * connection starts with the short timeout (http_conn.c). */
		{MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_conn_notify, NULL},
		{MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)http_conn_uri, NULL},
		{MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)b->cfg.header_timeout, NULL},
		{MHD_OPTION_CONNECTION_LIMIT, (intptr_t)max_conn + threads + 16, NULL},
		{MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0, NULL},
		{MHD_OPTION_CONNECTION_MEMORY_LIMIT, TG_HTTP_CONNECTION_MEMORY, NULL},
		{cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *)cert_pem},
		{cert_pem ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *)key_pem},
		{ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, (void *)ca_pem},
		{MHD_OPTION_END, 0, NULL},
	};
	/* Compact the list: an END in the middle would cut it short. */
	size_t w = 0;
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (opts[i].option != MHD_OPTION_END)
			opts[w++] = opts[i];
	opts[w].option = MHD_OPTION_END;
	struct MHD_Daemon *d = MHD_start_daemon(flags, 0, http_conn_accept, NULL, on_request, b,
						MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d == NULL) {
		http_conn_fini();
		snprintf(err, err_len, "cannot start the HTTP server on %s (invalid TLS certificate or key?)",
			 b->cfg.listen);
	}
	return d;
}

void http_stop(struct MHD_Daemon *d)
{
	if (d == NULL)
		return;
	/* Stop accepting, give in-flight requests up to 2 s, then close (the
	 * daemon closes the listening socket too). */
	http_conn_stop_accepting();
	for (int i = 0; i < 20; i++) {
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
		if (info == NULL || info->num_connections == 0)
			break;
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	http_conn_fini();
}
