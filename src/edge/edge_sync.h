/* edge_sync.h - the edge's feed client: a thread that long-polls the
 * broker's feed (GET /v1/feed, broker/feed.h) from the edge's position,
 * applies each answer to the state (edge_state.h), refetches the JWKS,
 * policies or entities when an entry or the versions say they changed,
 * and marks the edge fresh (last_sync_ms) after every answer it applied
 * completely. Without such an answer for max_stale the edge is stale
 * (edge_stale). A refused or malformed answer keeps the last good state
 * and is retried with back-off. */
#ifndef TG_EDGE_SYNC_H
#define TG_EDGE_SYNC_H
#include "edge/edge.h"

#define TOLLGATE_EDGE_VERSION "0.10"

int edge_sync_start(edge_t *e) __attribute__((warn_unused_result));
/* Stops the thread (an open poll is abandoned). */
void edge_sync_stop(edge_t *e);

#endif
