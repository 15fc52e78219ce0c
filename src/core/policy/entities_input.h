/* entities_input.h - the entities documents people write, read with one
 * set of rules by the broker (PUT and POST /v1/entities, `tollgate entities
 * set/add`) and by `tollgate policy eval --entities`:
 *
 *   * the document is an array of entities or {"entities": [...]} (an
 *     upsert may also send one entity object);
 *   * an entity has "uid" and may have "attrs" (default {}), "parents"
 *     (default []) and "tags"; any other member is refused, so that a
 *     misspelt "parent" does not silently drop an edge;
 *   * uid and parents are entity references in any form Cedar's JSON and
 *     Tollgate allow ({"type","id"}, {"__entity": ...}, Type::"id",
 *     Type:id) and become {"type","id"}; types and ids may not contain NUL;
 *   * a uid may appear once.
 *
 * The result is the normalised document, which the strict Cedar loader
 * (cedar_json.h: pol_json_entities_from) then builds into a store, checking
 * the values, the action hierarchy and cycles. Pure (jansson in, jansson
 * out). Error messages are written into err (size errsize). */
#ifndef TG_POL_ENTITIES_INPUT_H
#define TG_POL_ENTITIES_INPUT_H
#include "core/policy/entities.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The map key of an entity uid: type, 0x1f, id (types never contain 0x1f,
 * so the key is unambiguous). malloc'd, NULL when out of memory. */
char *pol_entity_key(const char *type, const char *id);
/* Cedar's text form Type::"id" with " and \ escaped in the id; malloc'd. */
char *pol_uid_text(const char *type, const char *id);

/* One entity, checked and normalised:
 * {"uid": {"type","id"}, "attrs": {...}, "parents": [{"type","id"}...],
 *  "tags"?: {...}}, with *type and *id pointing into it. Attribute and tag
 * values are copied as they are (checked when the store is built). New
 * reference, or NULL with err ("uid: ...", "parents[2]: ...", "unknown
 * member ..."). */
json_t *pol_entity_normalize(const json_t *e, const char **type, const char **id, char *err,
			     size_t errsize);

/* The entities of a document: doc itself when it is an array, the array
 * of {"entities": [...]} (that one member only), or, when single_ok, doc
 * wrapped in an array when it is one object with a "uid". New reference,
 * or NULL with err. */
json_t *pol_entities_of_doc(const json_t *doc, bool single_ok, char *err, size_t errsize);

/* Every entity of arr normalised, in order, as an object from
 * pol_entity_key to normalised entity. Refuses the first entity that does
 * not normalise ("entity I: why") and a uid given twice ("entity I:
 * Type::\"id\" appears twice"). New reference, or NULL with err. */
json_t *pol_entities_normalize_all(const json_t *arr, char *err, size_t errsize);

/* The whole way from text to a sealed store, as `policy eval --entities`
 * reads a file: pol_json_parse (its size and nesting bounds), the document
 * forms above (not a single entity), normalisation, then the strict
 * loader. 0 with *out, or -1 with err. */
int pol_entities_load_input(const char *text, size_t len, pol_entities_t **out, char *err,
			    size_t errsize);

#endif
