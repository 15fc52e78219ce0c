/* registry_entities.c - identities and operators as entities, merged with
 * the uploaded ones (registry_entities.h). */
#include "core/policy/registry_entities.h"
#include <stdbool.h>

static json_t *role_parents(const json_t *roles)
{
	json_t *parents = json_array();
	size_t i;
	json_t *role;
	json_array_foreach(roles, i, role)
		json_array_append_new(parents, json_pack("{s:s, s:O}", "type", "Role", "id", role));
	return parents;
}

json_t *pol_identity_entity(const identity_t *id)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:o}", "uid", "type", "Workload", "id", id->id,
			 "attrs", "kind", id->kind, "owner", id->owner, "status", id->status, "parents",
			 role_parents(id->roles));
}

/* No attributes: a disabled operator leaves the set, and status changes
 * such as the enrolment's confirmation would otherwise need entity writes. */
json_t *pol_operator_entity(const char *username, unsigned roles_bits)
{
	json_t *roles = operator_roles_json(roles_bits);
	json_t *e = json_pack("{s:{s:s, s:s}, s:{}, s:o}", "uid", "type", "Operator", "id", username, "attrs",
			      "parents", role_parents(roles));
	json_decref(roles);
	return e;
}

static bool has_uid(const json_t *arr, const json_t *uid)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (json_equal(v, uid))
			return true;
	return false;
}

/* An uploaded entity merged with the registry entity of the same uid. */
static json_t *merge(const json_t *user, const json_t *reg)
{
	json_t *m = json_deep_copy(user);
	json_t *attrs = json_object_get(m, "attrs"), *parents = json_object_get(m, "parents");
	json_object_update(attrs, json_object_get(reg, "attrs"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(reg, "parents"), i, p)
		if (!has_uid(parents, p))
			json_array_append(parents, p);
	return m;
}

json_t *pol_entities_merged(const json_t *user, const json_t *registry)
{
	json_t *arr = json_array();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)user, k, v) {
		json_t *reg = json_object_get(registry, k);
		json_array_append_new(arr, reg ? merge(v, reg) : json_incref(v));
	}
	json_object_foreach((json_t *)registry, k, v)
		if (json_object_get(user, k) == NULL)
			json_array_append(arr, v);
	return arr;
}
