/* secret_delivery.c - handing out secret values (docs/secrets.md):
 * GET /v1/secrets/{name}[?version=N][&wrap=SECONDS] and POST
 * /v1/secrets/unwrap.
 *
 * A read needs a workload's (or edge's) own access token, verified with
 * its sender binding at dispatch (workload_bearer.h), whose scope covers
 * secret.read@Secret:NAME (docs/architecture.md, Scope: coverage through
 * the entity hierarchy), AND policy permitting principal Workload::"sub",
 * Action::"secret.read", Secret::"NAME" at request time (permissions.h:
 * the context issuance and /v1/authorize use). Operators - admins too -
 * cannot read values: zero standing privilege; an operator who needs one
 * gets it as a workload would, under policy and a JIT grant.
 *
 * Every decision is a secret.read record (allow or deny), committed before
 * the value leaves: when the record cannot be written, nothing is read.
 * With ?wrap the answer is instead a one-time handle (32 random bytes,
 * base64url; the store keeps its SHA-256 only) valid for at most
 * SECRET_MAX_WRAP_TTL seconds, which POST /v1/secrets/unwrap exchanges for
 * the value once, with no other authentication (like Vault's response
 * wrapping). A second exchange is refused (410), recorded as
 * secret.unwrap_refused and raised as an alert: the handle leaked.
 *
 * Plaintexts live in sodium_malloc'd buffers only (zeroed when freed),
 * answers are built there and zeroed once sent (http_secret_json). */
#include "broker/alerts.h"
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "broker/permissions.h"
#include "broker/policy_state.h"
#include "broker/secret_keys.h"
#include "broker/secret_leases.h"
#include "broker/token_state.h"
#include "core/b64url.h"
#include "core/policy/coverage.h"
#include "core/scope.h"
#include "core/secret.h"
#include "shell/log.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECRET_MAX_WRAP_TTL 86400 /* seconds a wrap handle may live */
#define WRAP_HANDLE_BYTES   32
#define WRAP_HANDLE_MAX     128   /* characters accepted in an unwrap body */

typedef struct {
	const char *name;
	char res[SECRET_MAX_NAME + 16];   /* Secret:NAME */
	char scope_tok[SECRET_MAX_NAME + 32]; /* secret.read@Secret:NAME */
	tok_claims_t claims;
	bool has_claims;
	json_t *policies;                 /* determining policy ids */
} read_t;

static void read_free(read_t *x)
{
	if (x->has_claims)
		tok_claims_free(&x->claims);
	json_decref(x->policies);
}

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

/* The access token of the request (the scheme stripped). */
static const char *bearer_token(req_t *r)
{
	const char *auth = http_header(r, "Authorization");
	if (auth != NULL && strncasecmp(auth, "DPoP ", 5) == 0)
		return auth + 5;
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0)
		return auth + 7;
	return NULL;
}

/* A read's audit record (secret.read, secret.wrapped) by the token's subject. */
static audit_event_t read_event(req_t *r, read_t *x, const char *type, bool allow, const json_t *details)
{
	audit_event_t ev = audit_event(r, type, r->actor.id);
	ev.action = "secret.read";
	ev.resource = x->res;
	ev.decision = allow ? "allow" : "deny";
	ev.policies = x->policies;
	ev.jti = x->has_claims ? x->claims.jti : NULL;
	ev.grant = x->has_claims ? x->claims.grant : NULL;
	ev.details = details;
	return ev;
}

static void deny(req_t *r, read_t *x, int status, const char *why)
{
	json_t *details = json_pack("{s:s}", "reason", why);
	audit_event_t ev = read_event(r, x, "secret.read", false, details);
	audit_append(r, &ev);
	json_decref(details);
	log_event(LOG_WARN, "secret read refused", "secret", x->name, "identity", r->actor.id, "reason", why, NULL);
	http_problem(r, status, status == 403 ? "Secret read denied" : NULL, why);
}

/* Does a scope token of the token cover secret.read on Secret::"NAME"? */
static bool scope_covers(const policy_view_t *v, const read_t *x)
{
	scope_set_t set;
	const char *why = NULL;
	bool covered = false;
	pol_euid_t action = {{"Action", 6}, {"secret.read", 11}};
	pol_euid_t resource = {{"Secret", 6}, {x->name, strlen(x->name)}};
	if (scope_parse(x->claims.scope, &set, &why) != 0)
		return false;
	for (size_t i = 0; i < set.n && !covered; i++)
		covered = pol_scope_token_covers(v->entities, set.tok[i], &action, &resource);
	scope_free(&set);
	return covered;
}

/* Policy on Workload::"sub", Action::"secret.read", Secret::"NAME" now,
 * with the token's JIT grant as context.grant: 0 allowed, or answered. */
static int policy_permits(req_t *r, read_t *x)
{
	scope_set_t one;
	const char *why = NULL;
	permission_t pm;
	permission_grant_t grant;
	grant_status_t gs;
	permission_req_t q = {"Workload", x->claims.sub, NULL, r->client_ip, r->now, -1, NULL, NULL};
	if (x->claims.grant != NULL) {
		if (store_grant_status(r->b->store, x->claims.grant, &gs) != STORE_OK) {
			store_failed(r);
			return -1;
		}
		grant = (permission_grant_t){x->claims.grant, gs.reason,
					     gs.break_glass ? gs.approvals_required : gs.approvals, gs.break_glass};
		q.grant = &grant;
	}
	if (scope_parse(x->scope_tok, &one, &why) != 0) {
		deny(r, x, 400, "the secret name does not make a scope token");
		return -1;
	}
	int rc = permission_decide_at_request(r->b, &q, &one, &pm);
	scope_free(&one);
	x->policies = json_incref(pm.policies);
	if (rc != 0 || !pm.allow) {
		char msg[SECRET_MAX_NAME + 200];
		snprintf(msg, sizeof msg, "policy does not permit %s: %s", x->scope_tok,
			 rc != 0 ? "the decision failed" : pm.why ? pm.why : "denied");
		permission_release(&pm);
		deny(r, x, rc != 0 ? 500 : 403, msg);
		return -1;
	}
	permission_release(&pm);
	return 0;
}

/* The token's claims, its scope and policy: 0 when the read may go on. */
static int authorize_read(req_t *r, read_t *x)
{
	const char *why = NULL, *tok = bearer_token(r);
	token_state_t st = tok ? token_state(r->b, tok, r->now, &x->claims, &why) : TOKEN_INVALID;
	x->has_claims = st == TOKEN_ACTIVE || st == TOKEN_INACTIVE;
	if (st == TOKEN_ERROR)
		tok_claims_free(&x->claims);
	if (st == TOKEN_INACTIVE) { /* it was active at dispatch: revoked since; a decision, recorded */
		deny(r, x, 401, "the access token is not active");
		return -1;
	}
	if (st != TOKEN_ACTIVE) {
		http_problem(r, st == TOKEN_ERROR ? 503 : 401, NULL, "the access token is not active");
		return -1;
	}
	const policy_view_t *v = policy_acquire(r->b);
	bool covered = scope_covers(v, x);
	policy_release(v);
	if (!covered) {
		char msg[SECRET_MAX_NAME + 80];
		snprintf(msg, sizeof msg, "the token's scope does not cover %s", x->scope_tok);
		deny(r, x, 403, msg);
		return -1;
	}
	return policy_permits(r, x);
}

/* For dynamic credentials (secret_leases.h): the same authorization. */
int secret_read_authorize(req_t *r, const char *name, tok_claims_t *claims)
{
	read_t x = {.name = name};
	snprintf(x.res, sizeof x.res, "Secret:%s", name);
	snprintf(x.scope_tok, sizeof x.scope_tok, "secret.read@Secret:%s", name);
	int rc = authorize_read(r, &x);
	if (rc == 0) {
		*claims = x.claims;
		x.has_claims = false;
	}
	read_free(&x);
	return rc;
}

/* ---- the value ---- */

/* {"name":NAME,"version":N,"value":VALUE} in a sodium_malloc'd buffer; the
 * name needs no escaping (secret_name_valid). */
static char *value_body(const char *name, int64_t version, const char *value, size_t len, size_t *out_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t cap = strlen(name) + 64 + 6 * len;
	char *out = sodium_malloc(cap), *p;
	if (out == NULL)
		return NULL;
	p = out + snprintf(out, cap, "{\"name\":\"%s\",\"version\":%lld,\"value\":\"", name, (long long)version);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			p += snprintf(p, 7, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
		} else {
			*p++ = (char)c;
		}
	}
	*p++ = '"';
	*p++ = '}';
	*out_len = (size_t)(p - out);
	return out;
}

/* Opens version (0: current) of the live secret name and answers it, after
 * ev (with details {"version", "state"}) is durable; ev NULL: the caller's
 * record is durable already. Returns the HTTP status sent. */
static int send_value(req_t *r, const char *name, int64_t version, audit_event_t *ev)
{
	secret_record_t rec;
	secret_version_t v = {0};
	store_rc rc = store_secret_get(r->b->store, name, &rec);
	if (rc == STORE_OK && rec.deleted) {
		secret_record_release(&rec);
		rc = STORE_NOT_FOUND;
	}
	if (rc == STORE_OK && (rc = store_secret_version_get(r->b->store, name, version, &v)) != STORE_OK)
		secret_record_release(&rec);
	if (rc != STORE_OK) {
		if (rc == STORE_ERROR)
			store_failed(r);
		else
			http_problem(r, 404, NULL, version ? "no such version of this secret" : "no such secret");
		return r->status;
	}
	size_t len = 0, body_len = 0;
	char *plain = NULL, *body = NULL;
	if (strcmp(v.state, "current") != 0 && strcmp(v.state, "previous") != 0) {
		http_problem(r, 410, NULL, "this version is not readable (it is retired, failed or pending)");
		goto out;
	}
	if ((plain = secret_keys_open_value(r->b->secret_keys, &rec, &v, &len)) == NULL ||
	    (body = value_body(name, v.version, plain, len, &body_len)) == NULL) {
		log_event(LOG_ERROR, "a stored secret does not open (wrong master key, or the store was altered)",
			  "secret", name, NULL);
		http_problem(r, 500, NULL, "the secret could not be decrypted");
		goto out;
	}
	if (ev != NULL) {
		json_t *details = json_pack("{s:I, s:s}", "version", (json_int_t)v.version, "state", v.state);
		ev->details = details;
		rc = store_audit_append(r->b->store, ev);
		json_decref(details);
	}
	if (rc != STORE_OK) { /* unaudited reads do not happen */
		broker_store_failed(r->b, ev->type);
		http_problem(r, 503, NULL, "the audit trail is unavailable; retry");
		goto out;
	}
	http_secret_json(r, 200, body, body_len);
	body = NULL;
out:
	if (body != NULL)
		sodium_free(body);
	secret_value_free(plain, len);
	secret_versions_release(&v, 1);
	secret_record_release(&rec);
	return r->status;
}

/* ---- wrapping ---- */

static void handle_hash(const char *handle, uint8_t hash[32])
{
	crypto_hash_sha256(hash, (const uint8_t *)handle, strlen(handle));
}

/* The version a wrap pins: the one asked for, or the current one. */
static int wrap_version(req_t *r, const char *name, int64_t asked, int64_t *out)
{
	secret_version_t v = {0};
	store_rc rc = store_secret_version_get(r->b->store, name, asked, &v);
	bool readable = rc == STORE_OK && (strcmp(v.state, "current") == 0 || strcmp(v.state, "previous") == 0);
	*out = v.version;
	secret_versions_release(&v, 1);
	if (rc == STORE_ERROR)
		store_failed(r);
	else if (rc != STORE_OK)
		http_problem(r, 404, NULL, asked ? "no such version of this secret" : "no such secret");
	else if (!readable)
		http_problem(r, 410, NULL, "this version is not readable (it is retired, failed or pending)");
	return rc == STORE_OK && readable ? 0 : -1;
}

static void send_wrap(req_t *r, read_t *x, int64_t asked, int64_t ttl)
{
	uint8_t raw[WRAP_HANDLE_BYTES], hash[32];
	char handle[64];
	int64_t version = 0;
	secret_record_t rec;
	store_rc rc = store_secret_get(r->b->store, x->name, &rec);
	bool live = rc == STORE_OK && !rec.deleted;
	if (rc == STORE_OK)
		secret_record_release(&rec);
	if (rc == STORE_ERROR) {
		store_failed(r);
		return;
	}
	if (!live) {
		http_problem(r, 404, NULL, "no such secret");
		return;
	}
	if (wrap_version(r, x->name, asked, &version) != 0)
		return;
	randombytes_buf(raw, sizeof raw);
	b64url_encode_to(raw, sizeof raw, handle);
	sodium_memzero(raw, sizeof raw);
	handle_hash(handle, hash);
	json_t *details = json_pack("{s:I, s:I}", "version", (json_int_t)version, "expires_at",
				    (json_int_t)(r->now + ttl));
	audit_event_t ev = read_event(r, x, "secret.wrapped", true, details);
	rc = store_secret_wrap_add(r->b->store, hash, x->name, version, r->now, r->now + ttl, &ev);
	json_decref(details);
	if (rc != STORE_OK) {
		sodium_memzero(handle, sizeof handle);
		store_failed(r);
		return;
	}
	json_t *o = json_pack("{s:s, s:I, s:{s:s, s:I, s:I}}", "name", x->name, "version", (json_int_t)version, "wrap",
			      "handle", handle, "ttl", (json_int_t)ttl, "expires_at", (json_int_t)(r->now + ttl));
	sodium_memzero(handle, sizeof handle);
	http_json(r, 201, o);
}

void handle_secret_read(req_t *r)
{
	read_t x = {.name = r->param};
	long long version = 0, wrap = 0;
	if (!secret_name_valid(x.name)) {
		http_problem(r, 400, "Invalid secret name",
			     "a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\")");
		return;
	}
	snprintf(x.res, sizeof x.res, "Secret:%s", x.name);
	snprintf(x.scope_tok, sizeof x.scope_tok, "secret.read@Secret:%s", x.name);
	if (http_query_int(r, "version", 1, INT64_MAX, 0, &version) != 0 ||
	    http_query_int(r, "wrap", 1, SECRET_MAX_WRAP_TTL, 0, &wrap) != 0)
		return;
	if (authorize_read(r, &x) == 0) {
		if (wrap > 0) {
			send_wrap(r, &x, version, wrap);
		} else {
			audit_event_t ev = read_event(r, &x, "secret.read", true, NULL);
			send_value(r, x.name, version, &ev);
		}
	}
	read_free(&x);
}

/* ---- unwrapping ---- */

static void unwrap_refused(req_t *r, const char *name, int64_t version, const char *why, bool alert)
{
	char res[SECRET_MAX_NAME + 16];
	snprintf(res, sizeof res, "Secret:%s", name ? name : "");
	json_t *details = json_pack("{s:s, s:I}", "reason", why, "version", (json_int_t)version);
	audit_event_t ev = audit_event(r, "secret.unwrap_refused", "wrap-handle");
	ev.action = "secret.unwrap";
	ev.resource = name ? res : NULL;
	ev.decision = "deny";
	ev.details = details;
	audit_append(r, &ev);
	json_decref(details);
	log_event(alert ? LOG_ERROR : LOG_WARN, "secret unwrap refused", "secret", name ? name : "-", "reason", why,
		  NULL);
	if (alert)
		alert_send(r->b, json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "alert", "secret.unwrap_refused", "severity",
					   "high", "secret", name, "version", (json_int_t)version, "reason", why,
					   "src", r->client_ip));
	http_problem(r, name ? 410 : 404, name ? "Wrap handle used or expired" : NULL, why);
}

/* The handle of the body: {"handle": "..."}; NULL when answered. */
static const char *body_handle(req_t *r, const json_t *doc)
{
	const json_t *h = json_object_get(doc, "handle");
	if (json_object_size(doc) != 1 || !json_is_string(h) || json_string_length(h) == 0 ||
	    json_string_length(h) > WRAP_HANDLE_MAX || strlen(json_string_value(h)) != json_string_length(h)) {
		http_problem(r, 400, "Invalid unwrap request", "send {\"handle\": \"...\"} (the handle a wrapped read returned)");
		return NULL;
	}
	return json_string_value(h);
}

void handle_secret_unwrap(req_t *r)
{
	uint8_t hash[32];
	char name[SECRET_MAX_NAME + 1], res[SECRET_MAX_NAME + 16];
	int64_t version = 0, expires_at = 0, used_at = 0;
	json_t *doc = http_json_body(r);
	const char *handle = doc ? body_handle(r, doc) : NULL;
	if (handle == NULL)
		goto out;
	handle_hash(handle, hash);
	sodium_memzero((char *)handle, strlen(handle));
	store_rc rc = store_secret_wrap_get(r->b->store, hash, name, &version, &expires_at, &used_at);
	if (rc == STORE_ERROR) {
		store_failed(r);
	} else if (rc == STORE_NOT_FOUND) {
		unwrap_refused(r, NULL, 0, "no such wrap handle", false);
	} else if (used_at != 0) {
		unwrap_refused(r, name, version, "the handle was unwrapped already: someone else may hold the value", true);
	} else if (expires_at <= r->now) {
		unwrap_refused(r, name, version, "the handle has expired", false);
	} else {
		json_t *details = json_pack("{s:I}", "version", (json_int_t)version);
		snprintf(res, sizeof res, "Secret:%s", name);
		audit_event_t ev = audit_event(r, "secret.unwrapped", "wrap-handle");
		ev.action = "secret.unwrap";
		ev.resource = res;
		ev.decision = "allow";
		ev.details = details;
		rc = store_secret_wrap_use(r->b->store, hash, r->now, &ev);
		json_decref(details);
		if (rc == STORE_CONFLICT) /* another unwrap won the race */
			unwrap_refused(r, name, version, "the handle was unwrapped already: someone else may hold the value",
				       true);
		else if (rc != STORE_OK)
			store_failed(r);
		else
			send_value(r, name, version, NULL);
	}
out:
	if (r->body != NULL)
		sodium_memzero(r->body, r->body_len);
	json_decref(doc);
}
