/* fuzz_entities_input.c - the entities documents people write
 * (core/policy/entities_input.c), as the broker's /v1/entities and
 * `tollgate policy eval --entities` read them: arbitrary bytes through the
 * whole way to a sealed store, and through normalisation alone (with one
 * entity allowed, as an upsert). Invariants: every normalised entity has a
 * {"type","id"} uid, an attrs object and a parents array of {"type","id"},
 * its key is its uid's, and normalising it again changes nothing. */
#include "core/policy/cedar_json.h"
#include "core/policy/entities_input.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_uid(const json_t *u)
{
	return json_is_object(u) && json_object_size(u) == 2 && json_is_string(json_object_get(u, "type")) &&
	       json_is_string(json_object_get(u, "id"));
}

static void check_entity(const char *key, const json_t *e)
{
	char err[300];
	const char *type, *id;
	size_t i;
	json_t *p;
	fz_require(is_uid(json_object_get(e, "uid")), "normalised uid is {type, id}");
	fz_require(json_is_object(json_object_get(e, "attrs")), "normalised attrs is an object");
	fz_require(json_is_array(json_object_get(e, "parents")), "normalised parents is an array");
	json_array_foreach(json_object_get(e, "parents"), i, p)
		fz_require(is_uid(p), "normalised parent is {type, id}");
	json_t *again = pol_entity_normalize(e, &type, &id, err, sizeof err);
	fz_require(again != NULL, "a normalised entity normalises again");
	fz_require(json_equal(again, e), "normalising twice changes nothing");
	char *k = pol_entity_key(type, id);
	fz_require(k != NULL && strcmp(k, key) == 0, "the key is the uid's");
	free(k);
	json_decref(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[400];
	pol_entities_t *es = NULL;
	if (pol_entities_load_input((const char *)data, size, &es, err, sizeof err) == 0)
		fz_require(es != NULL, "a loaded document has a store");
	else
		fz_require(es == NULL && err[0] != '\0', "a refusal says why");
	pol_entities_free(es);

	json_t *doc = pol_json_parse((const char *)data, size, err, sizeof err);
	json_t *arr = doc ? pol_entities_of_doc(doc, true, err, sizeof err) : NULL;
	json_t *map = arr ? pol_entities_normalize_all(arr, err, sizeof err) : NULL;
	const char *key;
	json_t *e;
	if (map != NULL) {
		fz_require(json_object_size(map) == json_array_size(arr), "one entry per entity");
		json_object_foreach(map, key, e)
			check_entity(key, e);
	}
	json_decref(map);
	json_decref(arr);
	json_decref(doc);
	return 0;
}
