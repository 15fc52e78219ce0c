/* test_policy_action_ref.c - "a bare action name means Action::"name""
 * (src/core/policy/action_ref.c): what counts as bare (not empty, no ':'),
 * the action from text and from each JSON form, refusals with a message,
 * and requests read as Cedar reads them except for the bare action (the
 * same checks and messages; the caller's JSON is left as it was). */
#include "test_util.h"
#include "core/policy/action_ref.h"
#include "core/policy/cedar_json.h"
#include <string.h>

static void assert_euid(const pol_euid_t *e, const char *type, const char *id, size_t id_len)
{
	assert_int_equal(e->type.len, strlen(type));
	assert_memory_equal(e->type.p, type, e->type.len);
	assert_int_equal(e->id.len, id_len);
	assert_memory_equal(e->id.p, id, id_len);
}

static void test_bare(void **state)
{
	(void)state;
	assert_true(pol_action_name_is_bare("modbus.write", 12));
	assert_true(pol_action_name_is_bare("a b/c@d", 7));
	assert_true(pol_action_name_is_bare("read:x", 4)); /* only len bytes count */
	assert_false(pol_action_name_is_bare("", 0));
	assert_false(pol_action_name_is_bare(NULL, 0));
	assert_false(pol_action_name_is_bare("Action::\"a\"", 11));
	assert_false(pol_action_name_is_bare("Action:a", 8));
	assert_false(pol_action_name_is_bare(":", 1));
}

static void test_text(void **state)
{
	(void)state;
	pol_arena_t *a = pol_arena_new();
	pol_euid_t e;
	char err[200];
	assert_int_equal(pol_action_ref_text(a, "modbus.write", 12, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "modbus.write", 12);
	assert_int_equal(pol_action_ref_text(a, "Action::\"modbus.write\"", 22, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "modbus.write", 12);
	assert_int_equal(pol_action_ref_text(a, "Action:orders.read", 18, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "orders.read", 11);
	assert_int_equal(pol_action_ref_text(a, "Ns::Action::\"x\"", 15, &e, err, sizeof err), 0);
	assert_euid(&e, "Ns::Action", "x", 1);
	/* Not bare, so not an Action by default: what the text says. */
	assert_int_equal(pol_action_ref_text(a, "Api:orders", 10, &e, err, sizeof err), 0);
	assert_euid(&e, "Api", "orders", 6);
	err[0] = '\0';
	assert_int_equal(pol_action_ref_text(a, "", 0, &e, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	err[0] = '\0';
	assert_int_equal(pol_action_ref_text(a, "Action::", 8, &e, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	pol_arena_free(a);
}

static void test_json(void **state)
{
	(void)state;
	pol_arena_t *a = pol_arena_new();
	pol_euid_t e;
	char err[200];
	json_t *j = json_string("orders.read");
	assert_int_equal(pol_action_ref(a, j, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "orders.read", 11);
	json_decref(j);
	j = json_stringn("a\0b", 3); /* the whole string, NUL and all */
	assert_int_equal(pol_action_ref(a, j, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "a\0b", 3);
	json_decref(j);
	j = json_string("Action::\"orders.read\"");
	assert_int_equal(pol_action_ref(a, j, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "orders.read", 11);
	json_decref(j);
	j = json_pack("{s:s, s:s}", "type", "Action", "id", "x:y");
	assert_int_equal(pol_action_ref(a, j, &e, err, sizeof err), 0);
	assert_euid(&e, "Action", "x:y", 3);
	json_decref(j);
	j = json_pack("{s:{s:s, s:s}}", "__entity", "type", "Ns::Action", "id", "z");
	assert_int_equal(pol_action_ref(a, j, &e, err, sizeof err), 0);
	assert_euid(&e, "Ns::Action", "z", 1);
	json_decref(j);
	json_t *bad[] = {json_string(""), json_integer(3), json_null(), json_pack("[s]", "read"),
			 json_pack("{s:s}", "type", "Action")};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(pol_action_ref(a, bad[i], &e, err, sizeof err), -1);
		assert_true(err[0] != '\0');
		json_decref(bad[i]);
	}
	err[0] = '\0';
	assert_int_equal(pol_action_ref(a, NULL, &e, err, sizeof err), -1);
	assert_true(err[0] != '\0');
	pol_arena_free(a);
}

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	if (j == NULL)
		fail_msg("bad test JSON %s: %s", text, je.text);
	return j;
}

static void test_request(void **state)
{
	(void)state;
	pol_arena_t *a = pol_arena_new();
	pol_request_t r;
	char err[300], err2[300];
	json_t *j = load("{\"principal\": \"Workload:w\", \"action\": \"orders.read\", \"resource\": \"Api:orders\","
			 " \"context\": {\"hour\": 3}}");
	assert_int_equal(pol_json_request_action_ref(a, j, &r, err, sizeof err), 0);
	assert_euid(&r.principal, "Workload", "w", 1);
	assert_euid(&r.action, "Action", "orders.read", 11);
	assert_euid(&r.resource, "Api", "orders", 6);
	assert_non_null(r.context);
	/* The caller's document is left alone; plain Cedar refuses the bare name. */
	assert_string_equal(json_string_value(json_object_get(j, "action")), "orders.read");
	assert_int_equal(pol_json_request(a, j, &r, err, sizeof err), -1);
	json_decref(j);
	/* Not bare: read exactly as pol_json_request reads it. */
	j = load("{\"principal\": \"Workload:w\", \"action\": \"Action::\\\"x\\\"\", \"resource\": \"Api:a\"}");
	assert_int_equal(pol_json_request_action_ref(a, j, &r, err, sizeof err), 0);
	assert_euid(&r.action, "Action", "x", 1);
	assert_null(r.context);
	json_decref(j);
	/* Every other refusal says what pol_json_request says. */
	static const char *const refused[] = {
		"{\"principal\": \"nocolon\", \"action\": \"read\", \"resource\": \"Api:a\"}",
		"{\"action\": \"read\", \"resource\": \"Api:a\"}",
		"{\"principal\": \"Workload:w\", \"action\": \"read\", \"resource\": \"Api:a\", \"extra\": 1}",
		"{\"principal\": \"Workload:w\", \"action\": \"read\", \"resource\": \"Api:a\", \"context\": 3}",
		"{\"principal\": \"Workload:w\", \"action\": \"\", \"resource\": \"Api:a\"}",
		"{\"principal\": \"Workload:w\", \"action\": 7, \"resource\": \"Api:a\"}",
		"[1]",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		j = load(refused[i]);
		assert_int_equal(pol_json_request_action_ref(a, j, &r, err, sizeof err), -1);
		json_t *plain = json_deep_copy(j);
		const char *act = json_string_value(json_object_get(plain, "action"));
		if (act != NULL && pol_action_name_is_bare(act, strlen(act)))
			json_object_set_new(plain, "action", json_pack("{s:s, s:s}", "type", "Action", "id", act));
		assert_int_equal(pol_json_request(a, plain, &r, err2, sizeof err2), -1);
		assert_string_equal(err, err2);
		json_decref(plain);
		json_decref(j);
	}
	assert_int_equal(pol_json_request_action_ref(a, NULL, &r, err, sizeof err), -1);
	pol_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bare),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_request),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
