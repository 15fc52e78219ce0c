/* edge_secrets.h - the values of the broker's secrets the edge injects
 * (route option inject=HEADER:secret:NAME, docs/edge.md "Injecting
 * secrets"). One entry per secret name the routes use; a value lives in
 * sodium_malloc'd memory, zeroed when it is replaced or dropped, and is
 * never written to state_dir, a log line or an audit record.
 *
 * A thread fetches each value from the broker (GET /v1/secrets/NAME with
 * the edge's DPoP-bound token, whose scope names secret.read@Secret:NAME)
 * at start, again when the feed says the secret was updated or rotated
 * (the held value keeps serving until the new one is in), and retries with
 * back-off while a value is missing or its fetch fails. A refusal by the
 * broker (403, 404, 410) drops the held value; a deleted secret drops it
 * at once and is asked for again with back-off (a put that creates it
 * anew is secret.created, which is no feed entry). A route whose secret has no value fails closed (edge_http.c:
 * 503, reason inject_unavailable). */
#ifndef TG_EDGE_SECRETS_H
#define TG_EDGE_SECRETS_H
#include "edge/edge.h"
#include <stdbool.h>

typedef struct edge_secrets edge_secrets_t;

/* A table of the secrets cfg's routes inject (possibly none), no value
 * held yet; NULL when out of memory. */
edge_secrets_t *edge_secrets_new(const tg_edge_config_t *cfg);
/* Zeroes and frees every value (after edge_secrets_stop). NULL is fine. */
void edge_secrets_free(edge_secrets_t *s);

/* Starts the fetching thread (none when no route injects a secret). */
int edge_secrets_start(edge_secrets_t *s, edge_t *e) __attribute__((warn_unused_result));
/* Stops it; call after the edge's stopping flag is set (an open fetch is
 * abandoned then). */
void edge_secrets_stop(edge_secrets_t *s);

/* A feed entry of kind secret: state "updated" or "rotated" fetches the
 * value again, "deleted" drops it (retrying with back-off). Names the table does not hold are
 * ignored. */
void edge_secrets_changed(edge_secrets_t *s, const char *name, const char *state);

/* Calls use(value, ctx) with the held value of name, under the table's
 * lock (use must not keep the pointer); false, without calling, when no
 * value is held. */
bool edge_secrets_use(edge_secrets_t *s, const char *name, void (*use)(const char *value, void *ctx), void *ctx);

#endif
