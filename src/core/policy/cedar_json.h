/* cedar_json.h - Cedar's JSON formats read into the engine's structures:
 * entity references ({"type","id"}, {"__entity":{...}}, and the text forms
 * Type::"id" and Type:id), values (with the __entity and __extn escapes),
 * the entities document (an array of {uid, attrs, parents, tags}), requests
 * ({principal, action, resource, context}) and decisions written back as
 * JSON. Pure (jansson in, structures out); every input is bounded
 * (TG_MAX_VALUE_DEPTH, TG_MAX_ENTITIES_TEXT) and every refusal says what
 * and where ("entity 3 (Device::\"plc-7\"): attrs.zone: ...").
 *
 * Error messages are written into err (size errsize, NUL-terminated). */
#ifndef TG_POL_CEDAR_JSON_H
#define TG_POL_CEDAR_JSON_H
#include "core/policy/arena.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/value.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Decodes JSON text with jansson (json_loadb: JSON_DECODE_ANY,
 * JSON_REJECT_DUPLICATES, JSON_ALLOW_NUL): the text must be UTF-8, control
 * characters in strings must be escaped, lone UTF-16 surrogates are
 * refused, duplicate object keys are refused at every depth, U+0000 is
 * allowed in strings, integers must fit in 64 bits (json_integer; a larger
 * one is refused as "too big integer") and numbers with a fraction or an
 * exponent are json_real (the Cedar loaders refuse those with the place
 * they occurred). Bounds: len at most TG_MAX_ENTITIES_TEXT (the caller
 * may bound it tighter) and nesting at most 4 * TG_MAX_VALUE_DEPTH JSON
 * levels.
 *
 * U+0000 inside an object KEY is refused ("NUL byte in object key not
 * supported"): jansson's decoder cannot hold it there, and Tollgate does
 * not accept NUL in attribute or context key names. The reference (Cedar)
 * accepts such keys; documents built as json_t with NUL in keys
 * (json_object_setn) are read by the loaders below all the same, since
 * they take every key with its length.
 *
 * NULL on failure with "line L, column C: what" (jansson's json_error_t)
 * in err, or "nested deeper than N levels" / "the text is larger than N
 * bytes" without a position. New reference. */
json_t *pol_json_parse(const char *text, size_t len, char *err, size_t errsize);

/* Text forms: Cedar's Type::"id" (Ns::Type::"id", escapes allowed in the
 * id) and the compact Type:id of docs/architecture.md, Scope (id is the rest of the
 * text, verbatim). */
int pol_euid_parse_text(pol_arena_t *a, const char *s, size_t len, pol_euid_t *out, char *err,
			size_t errsize);
/* JSON forms: {"type": T, "id": I}, {"__entity": {"type": T, "id": I}}, or a
 * string in one of the text forms. */
int pol_json_euid(pol_arena_t *a, const json_t *j, pol_euid_t *out, char *err, size_t errsize);
/* A Cedar JSON value: true/false, integers (longs), strings, arrays (sets),
 * objects (records; duplicate keys refused), {"__entity": {...}} and
 * {"__extn": {"fn": "ip"|"decimal"|"datetime"|"duration", "arg": "..."}}
 * (also the two-argument form {"fn": F, "args": [...]} the reference
 * writes for offset and friends). Allocated in a. */
int pol_json_value(pol_arena_t *a, const json_t *j, pol_value_t *out, char *err, size_t errsize);
/* The same three with their messages placed: "where: root.path: what"
 * (where and root may be NULL), e.g. where "entity 3 (Device::\"plc-7\")"
 * and root "attrs". pol_json_record_at wants an object and builds a
 * record (attrs, tags, context). */
int pol_json_value_at(pol_arena_t *a, const json_t *j, const char *where, const char *root,
		      pol_value_t *out, char *err, size_t errsize);
int pol_json_record_at(pol_arena_t *a, const json_t *j, const char *where, const char *root,
		       pol_value_t *out, char *err, size_t errsize);
int pol_json_euid_at(pol_arena_t *a, const json_t *j, const char *where, const char *root,
		     pol_euid_t *out, char *err, size_t errsize);
/* True for Cedar's action types: Action and Ns::Action. */
bool pol_euid_is_action(const pol_euid_t *e);
/* Builds and seals a store from the entities document in text; *out is new
 * on success. */
int pol_json_entities(const char *text, size_t len, pol_entities_t **out, char *err,
		      size_t errsize);
/* Same, from an already parsed array. */
int pol_json_entities_from(const json_t *array, pol_entities_t **out, char *err, size_t errsize);
/* {"principal", "action", "resource", "context"} (context optional, a
 * record); entity references in any JSON form above. */
int pol_json_request(pol_arena_t *a, const json_t *obj, pol_request_t *out, char *err,
		     size_t errsize);
/* {"decision": "allow"|"deny", "reasons": [policy ids], "errors": [policy
 * ids]} plus, when there are any, "error_messages" and "unmet"
 * obligations. New reference. */
json_t *pol_json_decision(const pol_set_t *set, const pol_decision_t *d);
/* A value as Cedar JSON (entities as {"__entity": ...}, extensions as
 * {"__extn": ...}; datetimes that their text cannot express as the
 * reference writes them, {"fn": "offset", "args": [...]}), so that
 * pol_json_value reads it back to an equal value. New reference, or NULL
 * when out of memory or when a record has a key JSON could not read back
 * ("__entity", "__extn" or "__expr"; the reference refuses those too). */
json_t *pol_value_to_json(const pol_value_t *v);

#endif
