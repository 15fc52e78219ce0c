/* test_registry_entities.c - identities and operators as Cedar entities and
 * their merge with uploaded entities (core/policy/registry_entities.h). */
#include "test_util.h"
#include "core/policy/cedar_json.h"
#include "core/policy/entities_input.h"
#include "core/policy/registry_entities.h"
#include <string.h>

static identity_t ident(const char *id, const char *kind, const char *status, const char *roles_json)
{
	identity_t i;
	memset(&i, 0, sizeof i);
	snprintf(i.id, sizeof i.id, "%s", id);
	snprintf(i.kind, sizeof i.kind, "%s", kind);
	snprintf(i.owner, sizeof i.owner, "team-a");
	snprintf(i.status, sizeof i.status, "%s", status);
	i.roles = json_loads(roles_json, 0, NULL);
	return i;
}

static void test_identity_entity(void **state)
{
	(void)state;
	identity_t i = ident("orders-svc", "workload", "active", "[\"readers\", \"writers\"]");
	json_t *e = pol_identity_entity(&i);
	json_t *want = json_loads("{\"uid\":{\"type\":\"Workload\",\"id\":\"orders-svc\"},"
				  "\"attrs\":{\"kind\":\"workload\",\"owner\":\"team-a\",\"status\":\"active\"},"
				  "\"parents\":[{\"type\":\"Role\",\"id\":\"readers\"},{\"type\":\"Role\",\"id\":\"writers\"}]}",
				  0, NULL);
	assert_true(json_equal(e, want));
	json_decref(e);
	json_decref(want);
	json_decref(i.roles);
}

static void test_operator_entity(void **state)
{
	(void)state;
	json_t *e = pol_operator_entity("alice", OP_ROLE_ADMIN | OP_ROLE_APPROVER);
	assert_string_equal(json_string_value(json_object_get(json_object_get(e, "uid"), "type")), "Operator");
	assert_int_equal(json_array_size(json_object_get(e, "parents")), 2);
	assert_int_equal(json_object_size(json_object_get(e, "attrs")), 0);
	json_decref(e);
}

/* An upload and a registry entity of the same uid: parents are the union,
 * attributes the upload's except kind, owner and status (the registry's). */
static void test_merge(void **state)
{
	(void)state;
	identity_t i = ident("plc-gw", "ot-device", "suspended", "[\"ot\"]");
	json_t *user = json_object(), *reg = json_object();
	char *key = pol_entity_key("Workload", "plc-gw");
	json_object_set_new(user, key, json_loads("{\"uid\":{\"type\":\"Workload\",\"id\":\"plc-gw\"},"
						  "\"attrs\":{\"site\":\"north\",\"status\":\"active\"},"
						  "\"parents\":[{\"type\":\"Zone\",\"id\":\"line-3\"},{\"type\":\"Role\",\"id\":\"ot\"}]}",
						  0, NULL));
	json_object_set_new(reg, key, pol_identity_entity(&i));
	char *other = pol_entity_key("Api", "orders");
	json_object_set_new(user, other, json_loads("{\"uid\":{\"type\":\"Api\",\"id\":\"orders\"},\"attrs\":{},\"parents\":[]}", 0, NULL));
	json_t *arr = pol_entities_merged(user, reg);
	assert_int_equal(json_array_size(arr), 2);
	json_t *m = NULL;
	size_t k;
	json_t *v;
	json_array_foreach(arr, k, v)
		if (strcmp(json_string_value(json_object_get(json_object_get(v, "uid"), "id")), "plc-gw") == 0)
			m = v;
	assert_non_null(m);
	json_t *attrs = json_object_get(m, "attrs");
	assert_string_equal(json_string_value(json_object_get(attrs, "site")), "north");
	assert_string_equal(json_string_value(json_object_get(attrs, "status")), "suspended");
	assert_string_equal(json_string_value(json_object_get(attrs, "kind")), "ot-device");
	assert_int_equal(json_array_size(json_object_get(m, "parents")), 2); /* Role ot once */
	pol_entities_t *es = NULL;
	char err[200];
	assert_int_equal(pol_json_entities_from(arr, &es, err, sizeof err), 0);
	pol_entities_free(es);
	json_decref(arr);
	json_decref(user);
	json_decref(reg);
	json_decref(i.roles);
	free(key);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_entity),
		cmocka_unit_test(test_operator_entity),
		cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
