/* audit_trail.c - building and appending audit events in the broker. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "shell/log.h"
#include <stdio.h>

audit_event_t audit_event(const req_t *r, const char *type, const char *actor)
{
	audit_event_t ev = {.type = type, .actor = actor, .src = r->client_ip[0] ? r->client_ip : NULL};
	return ev;
}

audit_event_t audit_change_event(const req_t *r, const char *type, const char *rtype, const char *id,
				 char *res, size_t res_len, const json_t *details)
{
	audit_event_t ev = audit_event(r, type, r->actor.id);
	snprintf(res, res_len, "%s:%s", rtype, id);
	ev.action = type;
	ev.resource = res;
	ev.decision = "allow";
	ev.details = details;
	return ev;
}

void audit_append(req_t *r, const audit_event_t *ev)
{
	if (store_audit_append(r->b->store, ev) != STORE_OK)
		broker_store_failed(r->b, ev->type);
}

void audit_refusal(req_t *r, const char *type, const char *actor, const char *action,
		   const char *resource, const char *why)
{
	json_t *details = json_pack("{s:s?}", "reason", why);
	audit_event_t ev = audit_event(r, type, actor);
	ev.action = action;
	ev.resource = resource;
	ev.decision = "deny";
	ev.details = details;
	audit_append(r, &ev);
	json_decref(details);
}
