/* secret_leases_api.c - the dynamic credentials API (docs/secrets.md,
 * "Dynamic database credentials"; docs/api.md):
 *   PUT  /v1/secrets/{name}/dynamic  the dynamic role definition (admin,
 *        fresh MFA; core/sql_template.h), audited secret.dynamic.configured;
 *   GET  /v1/secrets/{name}/dynamic  the definition (admin, auditor);
 *   POST /v1/secrets/{name}/lease[?ttl=SECONDS]  a workload's (or edge's)
 *        token covering secret.read@Secret:NAME and policy permitting it
 *        now: a new role at the target, {lease_id, username, password,
 *        expires_at}; the TTL is min(ttl, the definition's, the token's exp,
 *        the grant's end);
 *   GET  /v1/leases[?state&secret&after&limit], GET /v1/leases/{id}
 *        (admin, auditor);
 *   DELETE /v1/leases/{id}  ends the lease now (admin); the revoker
 *        (secret_leases.c) revokes its role.
 * The lease row (with secret.lease.created) is durable before the role is
 * created, so a broker that dies between the two still revokes it. The
 * password is generated here, reaches the target only as a SCRAM verifier
 * and leaves in the answer only, built in sodium_malloc'd memory and
 * zeroed once sent. */
#include "broker/audit_trail.h"
#include "broker/handlers.h"
#include "broker/secret_leases.h"
#include "core/b64url.h"
#include "core/secret.h"
#include "shell/log.h"
#include "store/store_leases.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_PASSWORD_BYTES 32
#define LEASE_LIST_MAX 1000

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

static const char *secret_param(req_t *r)
{
	if (secret_name_valid(r->param))
		return r->param;
	http_problem(r, 400, "Invalid secret name",
		     "a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\")");
	return NULL;
}

/* ---- definitions ---- */

static void answer_definition(req_t *r, int status, const char *name)
{
	char *text = NULL;
	store_rc rc = store_dynamic_get(r->b->store, name, &text);
	json_t *doc = rc == STORE_OK ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "no dynamic role definition (PUT /v1/secrets/{name}/dynamic)");
	else if (doc == NULL)
		store_failed(r);
	else
		http_json(r, status, json_pack("{s:s, s:o}", "name", name, "definition", doc));
}

void handle_secret_dynamic_get(req_t *r)
{
	const char *name = secret_param(r);
	if (name != NULL)
		answer_definition(r, 200, name);
}

void handle_secret_dynamic_put(req_t *r)
{
	char why[400], res[SECRET_MAX_NAME + 16];
	dyn_role_t d;
	const char *name = secret_param(r);
	json_t *doc = name != NULL ? http_json_body(r) : NULL;
	if (doc == NULL)
		return;
	if (dynamic_role_parse(doc, &d, why, sizeof why) != 0) {
		http_problem(r, 400, "Invalid dynamic role definition", why);
		json_decref(doc);
		return;
	}
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *details = json_pack("{s:I, s:b}", "max_ttl", (json_int_t)d.max_ttl, "revocation", d.revocation != NULL);
	audit_event_t ev = audit_change_event(r, "secret.dynamic.configured", "Secret", name, res, sizeof res, details);
	store_rc rc = text != NULL ? store_dynamic_put(r->b->store, name, text, r->now, &ev) : STORE_ERROR;
	if (rc != STORE_OK) {
		store_failed(r);
	} else {
		log_event(LOG_INFO, "dynamic role definition set", "secret", name, "actor", r->actor.id, NULL);
		answer_definition(r, 200, name);
	}
	free(text);
	json_decref(details);
	json_decref(doc);
	dynamic_role_free(&d);
}

/* ---- leases ---- */

static json_t *lease_json(const lease_record_t *l)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "lease_id", l->id, "secret", l->name,
			      "username", l->role, "identity", l->identity, "jti", l->jti, "state", l->state,
			      "created_at", (json_int_t)l->created_at, "expires_at", (json_int_t)l->expires_at,
			      "attempts", (json_int_t)l->attempts);
	json_object_set_new(o, "grant", l->grant[0] ? json_string(l->grant) : json_null());
	json_object_set_new(o, "reason", l->reason[0] ? json_string(l->reason) : json_null());
	json_object_set_new(o, "ended_at", l->ended_at ? json_integer(l->ended_at) : json_null());
	json_object_set_new(o, "retry_at", strcmp(l->state, "failed") == 0 ? json_integer(l->not_before) : json_null());
	json_object_set_new(o, "last_error", l->last_error[0] ? json_string(l->last_error) : json_null());
	return o;
}

/* The grant's end for the TTL (0: no grant): -1 answered. */
static int grant_end(req_t *r, const tok_claims_t *c, int64_t *end)
{
	grant_status_t gs;
	*end = 0;
	if (c->grant == NULL)
		return 0;
	store_rc rc = store_grant_status(r->b->store, c->grant, &gs);
	if (rc != STORE_OK) {
		if (rc == STORE_NOT_FOUND)
			http_problem(r, 403, "Lease denied", "the token's grant does not exist");
		else
			store_failed(r);
		return -1;
	}
	*end = gs.ends_at > 0 ? gs.ends_at : r->now; /* a grant not active gives nothing */
	return 0;
}

/* {"lease_id":..,"secret":..,"username":..,"password":..,"expires_at":..,"ttl":..}
 * in a sodium_malloc'd buffer (no member needs escaping: generated names,
 * base64url, a checked secret name). */
static char *lease_body(const lease_record_t *l, const char *password, size_t *len)
{
	size_t cap = 256 + strlen(l->id) + strlen(l->name) + strlen(l->role) + strlen(password);
	char *out = sodium_malloc(cap);
	if (out == NULL)
		return NULL;
	int n = snprintf(out, cap,
			 "{\"lease_id\":\"%s\",\"secret\":\"%s\",\"username\":\"%s\",\"password\":\"%s\","
			 "\"expires_at\":%lld,\"ttl\":%lld}",
			 l->id, l->name, l->role, password, (long long)l->expires_at,
			 (long long)(l->expires_at - l->created_at));
	*len = (size_t)n;
	return out;
}

static void new_lease(lease_record_t *l, const char *name, const tok_claims_t *c, int64_t now, int64_t ttl)
{
	uint8_t rnd[16];
	memset(l, 0, sizeof *l);
	randombytes_buf(rnd, sizeof rnd);
	memcpy(l->id, "ls-", 3);
	b64url_encode_to(rnd, sizeof rnd, l->id + 3);
	randombytes_buf(rnd, SQL_ROLE_RANDOM);
	sql_role_name(name, rnd, l->role);
	snprintf(l->name, sizeof l->name, "%s", name);
	snprintf(l->identity, sizeof l->identity, "%s", c->sub);
	snprintf(l->jti, sizeof l->jti, "%s", c->jti);
	snprintf(l->grant, sizeof l->grant, "%s", c->grant ? c->grant : "");
	l->created_at = now;
	l->expires_at = now + ttl;
}

/* Issues the lease of a checked request: answered. */
static void issue(req_t *r, const char *name, const dyn_role_t *d, const tok_claims_t *c, int64_t ttl)
{
	lease_record_t l;
	uint8_t raw[LEASE_PASSWORD_BYTES];
	char res[SECRET_MAX_NAME + 16], err[512];
	char *password = sodium_malloc(b64url_encoded_len(sizeof raw) + 1);
	if (password == NULL) {
		http_problem(r, 500, NULL, "out of memory");
		return;
	}
	new_lease(&l, name, c, r->now, ttl);
	randombytes_buf(raw, sizeof raw);
	b64url_encode_to(raw, sizeof raw, password);
	sodium_memzero(raw, sizeof raw);
	snprintf(res, sizeof res, "Secret:%s", name);
	json_t *details = json_pack("{s:s, s:s, s:I, s:I}", "lease", l.id, "role", l.role, "ttl", (json_int_t)ttl,
				    "expires_at", (json_int_t)l.expires_at);
	audit_event_t ev = audit_event(r, "secret.lease.created", c->sub);
	ev.action = "secret.read";
	ev.resource = res;
	ev.decision = "allow";
	ev.jti = c->jti;
	ev.grant = c->grant;
	ev.details = details;
	lease_target_lock(name); /* until the role exists (secret_leases.h) */
	store_rc rc = store_lease_add(r->b->store, &l, &ev);
	int created = rc == STORE_OK ? lease_create_role(r->b, name, d, l.role, password, l.expires_at, err, sizeof err)
				     : -1;
	lease_target_unlock(name);
	json_decref(details);
	if (rc != STORE_OK) {
		store_failed(r);
	} else if (created != 0) {
		/* whatever the template did is undone; the revoker makes sure */
		audit_event_t end = audit_event(r, "secret.lease.create_failed", c->sub);
		json_t *why = json_pack("{s:s, s:s}", "lease", l.id, "error", err);
		end.resource = res;
		end.decision = "deny";
		end.details = why;
		if (store_lease_end(r->b->store, l.id, "creation", r->now, &end) == STORE_OK)
			lease_revoker_wake();
		json_decref(why);
		log_event(LOG_ERROR, "dynamic role creation failed", "secret", name, "lease", l.id, "error", err, NULL);
		http_problem(r, 502, "Lease not created", err);
	} else {
		size_t len = 0;
		char *body = lease_body(&l, password, &len);
		log_event(LOG_INFO, "lease created", "secret", name, "lease", l.id, "role", l.role, "identity", c->sub, NULL);
		if (body != NULL)
			http_secret_json(r, 201, body, len);
		else
			http_problem(r, 500, NULL, "out of memory");
	}
	sodium_free(password);
}

void handle_secret_lease(req_t *r)
{
	char err[400];
	long long asked = 0;
	tok_claims_t c;
	dyn_role_t d;
	int64_t end = 0;
	const char *name = secret_param(r);
	if (name == NULL || http_query_int(r, "ttl", 1, DYN_MAX_TTL, 0, &asked) != 0 || !http_require_no_body(r))
		return;
	if (secret_read_authorize(r, name, &c) != 0)
		return;
	int def = lease_definition(r->b, name, &d, err, sizeof err);
	if (def != 0) {
		if (def > 0)
			http_problem(r, 404, NULL, "no dynamic role definition for this secret");
		else
			store_failed(r);
	} else {
		if (grant_end(r, &c, &end) == 0) {
			int64_t ttl = dynamic_lease_ttl(&d, asked, r->now, c.exp, end);
			if (ttl <= 0)
				http_problem(r, 403, "Lease denied", "the token or its grant ends now");
			else
				issue(r, name, &d, &c, ttl);
		}
		dynamic_role_free(&d);
	}
	tok_claims_free(&c);
}

static bool lease_state_valid(const char *s)
{
	return strcmp(s, "active") == 0 || strcmp(s, "revoking") == 0 || strcmp(s, "revoked") == 0 ||
	       strcmp(s, "failed") == 0;
}

static bool lease_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n < 4 || n > LEASE_ID_MAX || strncmp(id, "ls-", 3) != 0)
		return false;
	for (size_t i = 3; i < n; i++)
		if (!(id[i] >= 'A' && id[i] <= 'Z') && !(id[i] >= 'a' && id[i] <= 'z') && !(id[i] >= '0' && id[i] <= '9') &&
		    id[i] != '-' && id[i] != '_')
			return false;
	return true;
}

void handle_lease_list(req_t *r)
{
	long long limit = 100;
	const char *state = http_query(r, "state"), *secret = http_query(r, "secret"), *after = http_query(r, "after");
	lease_record_t *ls = NULL;
	size_t n = 0;
	if (http_query_int(r, "limit", 1, LEASE_LIST_MAX, 100, &limit) != 0)
		return;
	if ((state != NULL && !lease_state_valid(state)) || (secret != NULL && !secret_name_valid(secret)) ||
	    (after != NULL && !lease_id_valid(after))) {
		http_problem(r, 400, "Invalid lease query",
			     "state is active, revoking, revoked or failed; secret a secret name; after a lease id");
		return;
	}
	if (store_lease_list(r->b->store, state, secret, after, (int)limit, &ls, &n) != STORE_OK) {
		store_failed(r);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, lease_json(&ls[i]));
	json_t *o = json_pack("{s:o}", "leases", arr);
	json_object_set_new(o, "next", n == (size_t)limit ? json_string(ls[n - 1].id) : json_null());
	free(ls);
	http_json(r, 200, o);
}

/* The lease of the path: 0 with it, or -1 answered. */
static int path_lease(req_t *r, lease_record_t *l)
{
	if (!lease_id_valid(r->param)) {
		http_problem(r, 400, "Invalid lease id", "a lease id is ls- and base64url");
		return -1;
	}
	store_rc rc = store_lease_get(r->b->store, r->param, l);
	if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "no such lease");
	else if (rc != STORE_OK)
		store_failed(r);
	return rc == STORE_OK ? 0 : -1;
}

void handle_lease_show(req_t *r)
{
	lease_record_t l;
	if (path_lease(r, &l) == 0)
		http_json(r, 200, lease_json(&l));
}

void handle_lease_revoke(req_t *r)
{
	lease_record_t l;
	char res[SECRET_MAX_NAME + 16];
	if (!http_require_no_body(r) || path_lease(r, &l) != 0)
		return;
	json_t *details = json_pack("{s:s, s:s}", "lease", l.id, "role", l.role);
	audit_event_t ev = audit_change_event(r, "secret.lease.revoke_requested", "Secret", l.name, res, sizeof res,
					      details);
	store_rc rc = store_lease_end(r->b->store, l.id, "operator", r->now, &ev);
	json_decref(details);
	if (rc == STORE_CONFLICT) {
		http_problem(r, 409, "Lease revoked already", "the lease's role was revoked already");
		return;
	}
	if (rc != STORE_OK) {
		store_failed(r);
		return;
	}
	lease_revoker_wake();
	if (store_lease_get(r->b->store, l.id, &l) == STORE_OK)
		http_json(r, 202, lease_json(&l));
	else
		store_failed(r);
}
