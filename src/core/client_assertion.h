/* client_assertion.h - private_key_jwt client authentication (RFC 7523 §3,
 * OpenID Connect Core §9): the workload signs a short JWT with its
 * registered Ed25519 key. Two stages so that the store lookup happens
 * between them: parse (claims, no key) names the client; verify checks the
 * signature with one of that client's keys. Single use of the jti is the
 * caller's job (it needs the store). */
#ifndef TG_CLIENT_ASSERTION_H
#define TG_CLIENT_ASSERTION_H
#include "core/ed25519_key.h"
#include "core/jws.h"
#include <stdint.h>

#define CLIENT_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct {
	const char *const *audiences; /* token endpoint URL, issuer */
	int n_audiences;
	int64_t now;
	int64_t leeway;
	int64_t max_lifetime; /* exp may be at most this far in the future */
} assertion_opts_t;

typedef struct {
	jws_t jws;
	const char *client_id; /* iss == sub */
	const char *jti;
	const char *kid;       /* NULL when the header names none */
	int64_t exp;
} assertion_t;

/* client_id_param is the form's client_id, or NULL when it was not sent. */
int assertion_parse(const char *s, size_t len, const char *client_id_param,
		    const assertion_opts_t *o, assertion_t *out, const char **why)
    __attribute__((warn_unused_result));
int assertion_verify(const assertion_t *a, const uint8_t pk[ED25519_PK_LEN])
    __attribute__((warn_unused_result));
void assertion_free(assertion_t *a);

#endif
