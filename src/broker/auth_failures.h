/* auth_failures.h - failed authentications in the broker (client
 * authentication at the OAuth endpoints, the admin bearer token at /v1):
 * throttling before any expensive check (429 with Retry-After), the log,
 * the metrics and the auth.failed audit records. A failure is recorded on
 * its own until its source or (source, client_id) is throttled; from then
 * on one aggregated record per key per auth_failure_flush_interval stands
 * for details.count failures and refused attempts (core/auth_throttle.h).
 * A throttled request is held (its connection suspended, no worker thread
 * kept) for up to auth_throttle_hold seconds before its 429, so that a
 * blocked address gets answers at the pace of its connections rather than
 * of its CPU. One table per process, behind a mutex, and a thread that
 * flushes it and resumes held connections. */
#ifndef TG_AUTH_FAILURES_H
#define TG_AUTH_FAILURES_H
#include "broker/http.h"
#include <stdbool.h>

/* Creates the table from b->cfg and starts the flusher (call with the
 * signals already blocked, before the HTTP daemon starts). */
int auth_failures_start(broker_t *b) __attribute__((warn_unused_result));
/* Answers every held request and holds no more (call before the HTTP
 * daemon stops: it cannot stop with suspended connections). */
void auth_failures_release(void);
/* Stops the flusher and records every pending failure (call after the
 * HTTP daemon has stopped, before the final audit checkpoint). Safe to
 * call twice, or without a start. */
void auth_failures_stop(void);
/* True when r's source address, or the address with client (the client_id
 * claimed, NULL when none yet), or, for method "login", the username
 * client from any address (auth_throttle_user_failures), is throttled: the attempt has been counted
 * and answered 429 with Retry-After (the OAuth error form at /oauth/,
 * problem+json elsewhere), or held (r->held: the caller returns without
 * answering; once resumed, the handler runs again and this answers the
 * 429). method says how it tried to authenticate. */
bool auth_throttled(req_t *r, const char *method, const char *client);
/* A failed authentication: counted towards the limits, logged, counted in
 * the metrics, and recorded (now, or in the key's aggregated record).
 * Does not answer the request. */
void auth_failed(req_t *r, const char *method, const char *client, const char *why);

#endif
