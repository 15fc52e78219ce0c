/* client_auth.h - authenticating a workload at the OAuth endpoints without
 * shared secrets: private_key_jwt (RFC 7523) or a verified mTLS client
 * certificate (RFC 8705 tls_client_auth, matched by SHA-256 fingerprint).
 * Also the bearer admin token that /v1 accepts in --dev mode. */
#ifndef TG_CLIENT_AUTH_H
#define TG_CLIENT_AUTH_H
#include "broker/http.h"
#include "core/form.h"
#include "store/store.h"

typedef struct {
	identity_t identity;                       /* release with client_release */
	const char *method;                        /* "private_key_jwt" or "tls_client_auth" */
	char assertion_jti[TG_MAX_ID_LEN + TG_MAX_JTI_LEN + 2]; /* "client|jti", "" for mTLS */
	int64_t assertion_exp;
	char cnf_x5t[JKT_LEN + 1];                 /* mTLS binding, "" otherwise */
} client_t;

/* Authenticates the caller from the form (and TLS session) and sets
 * r->actor to its identity. On failure it has already answered 401 invalid_client (or 400 invalid_request) and
 * returns -1. */
int client_authenticate(req_t *r, const form_t *f, client_t *out) __attribute__((warn_unused_result));
void client_release(client_t *c);
/* Marks the assertion jti used (introspection, revocation); answers 401 and
 * returns -1 on replay. Issuance does this atomically with the token write. */
int client_consume_assertion(req_t *r, const client_t *c) __attribute__((warn_unused_result));

/* True when the request carries a valid admin bearer token, unexpired at
 * now. /v1 routes check it at dispatch (access.h). */
bool admin_token_valid(req_t *r, int64_t now);
/* Creates a random admin token, stores its hash, returns it (hex, 64
 * chars, caller wipes). */
int admin_token_create(broker_t *b, int64_t ttl, char out[65]) __attribute__((warn_unused_result));

#endif
