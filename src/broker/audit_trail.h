/* audit_trail.h - how handlers describe what happened to the audit chain.
 * Events that accompany a change ride in the same store write (the store
 * functions take an audit_event_t); events with no change of their own
 * (refusals, failures) are appended with audit_append(). */
#ifndef TG_AUDIT_TRAIL_H
#define TG_AUDIT_TRAIL_H
#include "broker/http.h"
#include "core/audit.h"

/* An event of type by actor, with the request's client address. */
audit_event_t audit_event(const req_t *r, const char *type, const char *actor);
/* An allowed change by the caller (r->actor) to the resource RTYPE:id
 * (written into res), whose action is its type. */
audit_event_t audit_change_event(const req_t *r, const char *type, const char *rtype, const char *id,
				 char *res, size_t res_len, const json_t *details);
/* Appends ev on its own; a failure is logged (the request it describes was
 * refused anyway, so nothing proceeds unaudited). */
void audit_append(req_t *r, const audit_event_t *ev);
/* A refusal: type with decision "deny" and details {"reason": why}. */
void audit_refusal(req_t *r, const char *type, const char *actor, const char *action,
		   const char *resource, const char *why);

#endif
