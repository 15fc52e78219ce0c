/* identity_json.h - the identity resource's JSON form: rendering, and
 * strict validation of create and update documents (unknown members,
 * wrong types and out-of-range values are errors with a message that says
 * which member and what is expected). */
#ifndef TG_IDENTITY_JSON_H
#define TG_IDENTITY_JSON_H
#include "core/identity.h"
#include <jansson.h>
#include <stdbool.h>

json_t *identity_to_json(const identity_t *id);
/* Fills id from a create document; returns NULL or the reason. */
const char *identity_from_create(const json_t *doc, int64_t now, identity_t *id);
/* Applies an update document to id (loaded from the store). */
const char *identity_apply_update(const json_t *doc, int64_t now, identity_t *id);
/* True for ids and role names: 1..128 of [A-Za-z0-9._-]. */
bool identity_name_valid(const char *s);

#endif
