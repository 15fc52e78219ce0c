/* fuzz_identity_json.c - the /v1/identities request documents: arbitrary
 * bytes parsed as JSON (as the broker does) then validated as a create
 * document and as an update document; accepted identities render back to
 * JSON and never exceed their bounds. */
#include "core/identity_json.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_bounds(const identity_t *id)
{
	fz_require(id->n_keys <= TG_MAX_KEYS_PER_IDENTITY, "key count bounded");
	fz_require(identity_name_valid(id->id), "accepted id is valid");
	fz_require(json_array_size(id->roles) <= TG_MAX_ROLES, "roles bounded");
	json_t *out = identity_to_json(id);
	fz_require(out != NULL, "accepted identity renders");
	json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	identity_t id;
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	if (identity_from_create(doc, 1800000000, &id) == NULL) {
		check_bounds(&id);
		/* The same document as an update of what it created. */
		json_object_del(doc, "id");
		json_object_del(doc, "kind");
		json_object_del(doc, "public_keys");
		if (identity_apply_update(doc, 1800000001, &id) == NULL)
			check_bounds(&id);
	}
	identity_release(&id);
	json_decref(doc);
	return 0;
}
