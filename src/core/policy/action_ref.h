/* action_ref.h - how Tollgate reads the action of a request: a bare name
 * without ':' ("modbus.write") means Action::"modbus.write", and anything
 * else is an entity reference in Cedar's forms (Type::"id", Type:id,
 * {"type", "id"}, {"__entity": {...}}). The one rule behind POST
 * /v1/authorize, `tollgate policy eval` and the edge. Pure. Plain Cedar
 * (pol_json_request, the reference) has no bare names; only these read
 * them. */
#ifndef TG_POL_ACTION_REF_H
#define TG_POL_ACTION_REF_H
#include "core/policy/arena.h"
#include "core/policy/engine.h"
#include "core/policy/policy.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* True when s (len bytes) is a bare action name: not empty, no ':'. */
bool pol_action_name_is_bare(const char *s, size_t len);
/* The action named by text: a bare name, or Type::"id" / Type:id
 * (pol_euid_parse_text). Allocated in a; -1 with a message in err. */
int pol_action_ref_text(pol_arena_t *a, const char *s, size_t len, pol_euid_t *out, char *err,
			size_t errsize);
/* The action named by a JSON value: a string as pol_action_ref_text reads
 * it, or any JSON form of pol_json_euid. */
int pol_action_ref(pol_arena_t *a, const json_t *j, pol_euid_t *out, char *err, size_t errsize);
/* A request {"principal", "action", "resource", "context"} as
 * pol_json_request reads it (the same checks and messages), except that
 * the action is read by pol_action_ref. */
int pol_json_request_action_ref(pol_arena_t *a, const json_t *obj, pol_request_t *out, char *err,
				size_t errsize);

#endif
