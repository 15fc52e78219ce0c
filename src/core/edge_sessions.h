/* edge_sessions.h - the report of live Modbus sessions an edge sends the
 * broker (PUT /v1/edges/self/sessions, docs/edge.md "Operator view"),
 * pure: its bounds, the text the edge writes and the broker's strict
 * reading of it. Both sides use this one definition, so whatever an edge
 * reports, the broker accepts.
 *
 * A report, one JSON object:
 *   {"total": N,               the edge's live sessions (>= the rows sent)
 *    "sessions": [             at most EDGE_SESSIONS_MAX_ROWS, as many as
 *                              fit in EDGE_SESSIONS_MAX_BODY bytes
 *      {"id": SID,             "ms-" + 16 base64url characters, unique
 *                              across the edge's restarts (random)
 *       "listener": "HOST:PORT", "device": "Type:id", "src": ADDRESS,
 *       "identity": ID, "grant": G,
 *       "since": MS, "last": MS,   connected, last request (Unix ms)
 *       "allowed": N, "denied": N} ...]}
 * No other member is accepted; every string is non-empty, bounded and has
 * no control characters; numbers are non-negative integers. */
#ifndef TG_EDGE_SESSIONS_H
#define TG_EDGE_SESSIONS_H
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EDGE_SESSION_ID_PREFIX    "ms-"
#define EDGE_SESSION_ID_RANDOM    12  /* random bytes after the prefix (16 base64url characters) */
#define EDGE_SESSION_ID_LEN       19  /* the prefix and the 16 characters */
#define EDGE_SESSION_MAX_LISTENER 64  /* "HOST:PORT", "[IPv6]:PORT" */
#define EDGE_SESSION_MAX_DEVICE   (2 * TG_MAX_SCOPE_TOKEN_LEN + 1)
#define EDGE_SESSION_MAX_SRC      64
#define EDGE_SESSIONS_MAX_ROWS    512
/* An edge reports when its sessions change, at most once a second, and
 * every EDGE_SESSIONS_HEARTBEAT_S seconds; the broker calls a report older
 * than EDGE_SESSIONS_STALE_S stale. */
#define EDGE_SESSIONS_DEBOUNCE_MS 1000
#define EDGE_SESSIONS_HEARTBEAT_S 10
#define EDGE_SESSIONS_STALE_S     (3 * EDGE_SESSIONS_HEARTBEAT_S)
/* A report's text: below the broker's default max_body (64 KiB), so the
 * edge never sends one it would refuse. */
#define EDGE_SESSIONS_MAX_BODY    (48 * 1024)

typedef struct {
	char id[EDGE_SESSION_ID_LEN + 1];
	char listener[EDGE_SESSION_MAX_LISTENER + 1];
	char device[EDGE_SESSION_MAX_DEVICE + 1];
	char src[EDGE_SESSION_MAX_SRC + 1];
	char identity[TG_MAX_ID_LEN + 1];
	char grant[TG_MAX_ID_LEN + 1];
	int64_t since_ms, last_ms;
	int64_t allowed, denied;
} edge_session_t;

typedef struct {
	int64_t total;
	edge_session_t *rows; /* malloc'd */
	size_t n;
} edge_sessions_report_t;

/* Whether s is a session id as edges make them. */
bool edge_session_id_valid(const char *s);
/* A session id from EDGE_SESSION_ID_RANDOM random bytes, into out
 * (EDGE_SESSION_ID_LEN + 1 bytes). */
void edge_session_id_from(const uint8_t random[EDGE_SESSION_ID_RANDOM], char out[EDGE_SESSION_ID_LEN + 1]);

/* One row as JSON (the report's form; the broker's answer adds to it).
 * New reference. */
json_t *edge_session_json(const edge_session_t *s);
/* The report of rows[0..n): as many rows as fit in EDGE_SESSIONS_MAX_BODY
 * (and EDGE_SESSIONS_MAX_ROWS), total n. Malloc'd text, NULL out of
 * memory. */
char *edge_sessions_report_text(const edge_session_t *rows, size_t n);

/* Reads a report strictly. 0, or -1 with a sentence naming the member in
 * why ("sessions[2].src: ...") and *out empty. */
int edge_sessions_report_parse(const char *text, size_t len, edge_sessions_report_t *out, char *why, size_t why_len)
	__attribute__((warn_unused_result));
void edge_sessions_report_free(edge_sessions_report_t *r);

#endif
