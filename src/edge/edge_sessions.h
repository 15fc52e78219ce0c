/* edge_sessions.h - the edge's table of live Modbus sessions for the
 * operator view (docs/edge.md, Operator view): the Modbus loop publishes
 * its sessions here, a reporter thread sends them to the broker (PUT
 * /v1/edges/self/sessions, core/edge_sessions.h) when they change (at most
 * once per EDGE_SESSIONS_DEBOUNCE_MS) and every EDGE_SESSIONS_HEARTBEAT_S,
 * and the feed's session_kill entries for this edge wait here until the
 * Modbus loop closes their connections. Thread-safe: one mutex. */
#ifndef TG_EDGE_SESSIONS_EDGE_H
#define TG_EDGE_SESSIONS_EDGE_H
#include "core/edge_sessions.h"
#include "edge/edge.h"

typedef struct edge_sessions edge_sessions_t;

edge_sessions_t *edge_sessions_new(void);
/* Stops the reporter (if started) and frees. NULL is nothing. */
void edge_sessions_free(edge_sessions_t *s);

/* The Modbus loop's live sessions now (copied); the reporter sends them. */
void edge_sessions_publish(edge_sessions_t *s, const edge_session_t *rows, size_t n);

/* An operator's kill from the feed: queued for the Modbus loop when sid is
 * one of the published sessions (true), else ignored (false). s may be
 * NULL (an edge without Modbus listeners). */
bool edge_sessions_kill(edge_sessions_t *s, const char *sid, const char *reason);
/* The Modbus loop takes the queued kills: fn for each, in order. */
void edge_sessions_take_kills(edge_sessions_t *s, void (*fn)(const char *sid, const char *reason, void *ctx),
			      void *ctx);

/* Starts the reporter thread, which calls the broker as e. */
int edge_sessions_start(edge_sessions_t *s, edge_t *e) __attribute__((warn_unused_result));

#endif
