/* client_auth.c - client authentication for the OAuth endpoints and the
 * admin bearer token (checked for /v1 at dispatch, access.c). Failure details go to the log, metrics and
 * audit (auth_failures.c, which also throttles: a throttled caller gets
 * 429 before any signature check or store read); the client gets a clear
 * but non-revealing reason. */
#include "broker/client_auth.h"
#include "broker/auth_failures.h"
#include "broker/broker.h"
#include "core/b64url.h"
#include "core/client_assertion.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(req_t *r, const char *cls, const char *client, const char *why, const char *tell)
{
	auth_failed(r, cls, client, why);
	http_oauth_error(r, 401, "invalid_client", tell ? tell : why);
	return -1;
}

static bool key_usable(const identity_key_t *k, int64_t now)
{
	return k->disabled_at == 0 && (k->expires_at == 0 || k->expires_at > now);
}

static int verify_with_keys(const assertion_t *a, const identity_t *id, int64_t now)
{
	for (size_t i = 0; i < id->n_keys; i++) {
		const identity_key_t *k = &id->keys[i];
		if (!key_usable(k, now) || (a->kid != NULL && strcmp(a->kid, k->kid) != 0))
			continue;
		if (assertion_verify(a, k->pk) == 0)
			return 0;
	}
	return -1;
}

/* Loads the claimed identity. Its status is checked only after the caller
 * has proven possession of its key (require_active), so an unauthenticated
 * caller learns nothing about which ids exist or are suspended. */
static int load_identity(req_t *r, const char *cls, const char *client_id, identity_t *out)
{
	store_rc rc = store_identity_get(r->b->store, client_id, out);
	if (rc == STORE_OK)
		return 0;
	identity_release(out);
	if (rc == STORE_ERROR) {
		http_oauth_error(r, 503, "temporarily_unavailable", "the store is unavailable; retry");
		return -1;
	}
	return fail(r, cls, client_id, "unknown client", "client authentication failed");
}

static int require_active(req_t *r, const char *cls, identity_t *id)
{
	if (strcmp(id->status, "active") == 0)
		return 0;
	fail(r, cls, id->id, "identity is not active", "client is not active (suspended or offboarded)");
	identity_release(id);
	return -1;
}

static int by_assertion(req_t *r, const form_t *f, client_t *out)
{
	const char *type = form_get(f, "client_assertion_type");
	const char *jwt = form_get(f, "client_assertion");
	const char *why = NULL;
	const char *auds[3] = {r->b->token_endpoint, r->b->issuer, NULL};
	char self[400];
	assertion_t a;
	if (type == NULL || strcmp(type, CLIENT_ASSERTION_TYPE) != 0) {
		http_oauth_error(r, 400, "invalid_request",
				 "client_assertion_type must be " CLIENT_ASSERTION_TYPE);
		return -1;
	}
	http_self_url(r, r->path, self, sizeof self);
	auds[2] = self;
	assertion_opts_t o = {auds, 3, r->now, r->b->cfg.clock_leeway, r->b->cfg.assertion_max_lifetime};
	if (assertion_parse(jwt, strlen(jwt), form_get(f, "client_id"), &o, &a, &why) != 0)
		return fail(r, "client_assertion", form_get(f, "client_id"), why, NULL);
	if (auth_throttled(r, "client_assertion", a.client_id)) { /* the client_id it claims */
		assertion_free(&a);
		return -1;
	}
	if (load_identity(r, "client_assertion", a.client_id, &out->identity) != 0) {
		assertion_free(&a);
		return -1;
	}
	if (verify_with_keys(&a, &out->identity, o.now) != 0) {
		int rc = fail(r, "client_assertion", a.client_id, "no registered key verifies the assertion",
			      "client authentication failed");
		identity_release(&out->identity);
		assertion_free(&a);
		return rc;
	}
	if (require_active(r, "client_assertion", &out->identity) != 0) {
		assertion_free(&a);
		return -1;
	}
	out->method = "private_key_jwt";
	actor_identity(&r->actor, out->identity.id, out->identity.kind);
	snprintf(out->assertion_jti, sizeof out->assertion_jti, "%s|%s", a.client_id, a.jti);
	/* the jti stays used until no assertion accepted now can still be valid */
	out->assertion_exp = r->now + r->b->cfg.assertion_max_lifetime + 2 * r->b->cfg.clock_leeway;
	assertion_free(&a);
	return 0;
}

static int by_certificate(req_t *r, const form_t *f, client_t *out)
{
	const char *client_id = form_get(f, "client_id");
	uint8_t der_hash[32];
	if (client_id == NULL) {
		http_oauth_error(r, 400, "invalid_request", "tls_client_auth needs client_id");
		return -1;
	}
	if (load_identity(r, "mtls", client_id, &out->identity) != 0)
		return -1;
	if (strlen(out->identity.mtls_fingerprint) != 64 ||
	    sodium_memcmp(out->identity.mtls_fingerprint, r->tls_fp, 64) != 0 ||
	    hex_decode(r->tls_fp, der_hash, sizeof der_hash) != 0) {
		identity_release(&out->identity);
		return fail(r, "mtls", client_id, "certificate does not match the identity",
			    "client authentication failed");
	}
	if (require_active(r, "mtls", &out->identity) != 0)
		return -1;
	out->method = "tls_client_auth";
	actor_identity(&r->actor, out->identity.id, out->identity.kind);
	b64url_encode_to(der_hash, sizeof der_hash, out->cnf_x5t);
	return 0;
}

int client_authenticate(req_t *r, const form_t *f, client_t *out)
{
	memset(out, 0, sizeof *out);
	if (form_get(f, "client_secret") != NULL || http_header(r, "Authorization") != NULL) {
		http_oauth_error(r, 400, "invalid_request", "Tollgate has no client secrets: "
				 "authenticate with private_key_jwt or an mTLS client certificate");
		return -1;
	}
	const char *method = form_get(f, "client_assertion") != NULL ? "client_assertion"
			   : r->tls_fp[0] != '\0' ? "mtls" : "other";
	if (auth_throttled(r, method, form_get(f, "client_id")))
		return -1;
	if (form_get(f, "client_assertion") != NULL)
		return by_assertion(r, f, out);
	if (r->tls_fp[0] != '\0')
		return by_certificate(r, f, out);
	return fail(r, "other", form_get(f, "client_id"), "no client authentication",
		    "authenticate with private_key_jwt (client_assertion) or an mTLS client certificate");
}

void client_release(client_t *c)
{
	identity_release(&c->identity);
}

int client_consume_assertion(req_t *r, const client_t *c)
{
	if (c->assertion_jti[0] == '\0')
		return 0;
	store_rc rc = store_jti_use(r->b->store, "assertion", c->assertion_jti, c->assertion_exp);
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_CONFLICT)
		return fail(r, "client_assertion", c->identity.id, "client assertion replayed",
			    "client assertion was already used");
	http_oauth_error(r, 503, "temporarily_unavailable", "the store is unavailable; retry");
	return -1;
}

bool admin_token_valid(req_t *r, int64_t now)
{
	const char *auth = http_header(r, "Authorization");
	uint8_t h[crypto_hash_sha256_BYTES];
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || strlen(auth + 7) > 256)
		return false;
	crypto_hash_sha256(h, (const uint8_t *)auth + 7, strlen(auth + 7));
	return store_admin_token_check(r->b->store, h, now) == STORE_OK;
}

int admin_token_create(broker_t *b, int64_t ttl, char out[65])
{
	uint8_t raw[32], h[crypto_hash_sha256_BYTES];
	randombytes_buf(raw, sizeof raw);
	hex_encode_to(raw, sizeof raw, out);
	sodium_memzero(raw, sizeof raw);
	crypto_hash_sha256(h, (const uint8_t *)out, 64);
	return store_admin_token_add(b->store, h, broker_now() + ttl) == STORE_OK ? 0 : -1;
}
