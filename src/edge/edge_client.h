/* edge_client.h - the edge's calls to the broker: its own access token
 * (client_credentials with a private_key_jwt assertion, DPoP-bound to the
 * edge's key, renewed before it expires) and /v1 calls with that token and
 * a fresh DPoP proof each, over libcurl. Thread-safe: the sync thread and
 * the audit shipper both call. */
#ifndef TG_EDGE_CLIENT_H
#define TG_EDGE_CLIENT_H
#include "edge/edge.h"
#include <stddef.h>

typedef struct {
	long status;  /* HTTP status; 0 when no answer */
	char *body;   /* NUL-terminated, at least "" after an answer */
	size_t len;
	size_t cap;   /* bytes allocated at body */
} edge_resp_t;

/* Reads the broker's RFC 8414 metadata (issuer, token endpoint). */
int edge_client_start(edge_t *e, char *why, size_t why_len) __attribute__((warn_unused_result));
void edge_client_stop(void);

/* method path (with query) at the broker, authenticated; body may be NULL.
 * A 401 drops the token and retries once with a new one. 0 when an answer
 * came (any status), -1 with why when none did. */
int edge_broker_call(edge_t *e, const char *method, const char *path, const char *content_type, const char *body,
		     size_t body_len, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
	__attribute__((warn_unused_result));
/* A public GET (the JWKS). */
int edge_broker_get_public(edge_t *e, const char *path, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
	__attribute__((warn_unused_result));
void edge_resp_free(edge_resp_t *r);

#endif
