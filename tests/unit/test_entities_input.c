/* test_entities_input.c - the entities documents people write
 * (src/core/policy/entities_input.c), read with the same rules by the
 * broker's /v1/entities and by `tollgate policy eval --entities`: the
 * document forms, the defaults for attrs and parents, every uid form
 * normalised to {"type","id"}, refusals with their place, a uid given twice
 * in different forms, normalising twice changing nothing, and whole
 * documents (docs/policy.md's OT example) loading into a store that the
 * strict loader still checks (action parents, cycles). */
#include "test_util.h"
#include "core/policy/cedar_json.h"
#include "core/policy/entities_input.h"
#include <stdlib.h>
#include <string.h>

/* docs/policy.md, "OT: a production line": no parents on the zone, no
 * attrs on the role, uids in the compact text form. */
static const char OT_EXAMPLE[] =
	"[{\"uid\": \"Zone:line-3\", \"attrs\": {\"site\": \"plant-1\"}},\n"
	" {\"uid\": \"Device:plc-7\", \"parents\": [\"Zone:line-3\"], \"attrs\": {\"vendor\": \"acme\"}},\n"
	" {\"uid\": \"Device:sis-1\", \"parents\": [\"Zone:line-3\"], \"attrs\": {\"safety\": true}},\n"
	" {\"uid\": \"Role:line-3-operators\", \"parents\": [\"Role:line-3-readers\"]}]\n";

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return j;
}

/* Normalises the entity in text and compares it with want (JSON text). */
static void norm_ok(const char *text, const char *want, const char *type, const char *id)
{
	char err[300];
	const char *t = NULL, *i = NULL;
	json_t *in = js(text), *w = js(want);
	json_t *got = pol_entity_normalize(in, &t, &i, err, sizeof err);
	if (got == NULL)
		fail_msg("refused %s: %s", text, err);
	if (!json_equal(got, w)) {
		char *s = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("%s\n  normalised to %s\n  expected      %s", text, s, want);
	}
	assert_string_equal(t, type);
	assert_string_equal(i, id);
	/* Normalising the normalised form changes nothing. */
	json_t *again = pol_entity_normalize(got, &t, &i, err, sizeof err);
	assert_non_null(again);
	assert_true(json_equal(again, got));
	json_decref(again);
	json_decref(got);
	json_decref(w);
	json_decref(in);
}

static void norm_bad_json(json_t *in, const char *want)
{
	char err[300];
	const char *t, *i;
	json_t *got = pol_entity_normalize(in, &t, &i, err, sizeof err);
	if (got != NULL)
		fail_msg("accepted an entity that should be refused with %s", want);
	if (strstr(err, want) == NULL)
		fail_msg("got %s\n  expected ...%s...", err, want);
	json_decref(in);
}

static void norm_bad(const char *text, const char *want)
{
	norm_bad_json(js(text), want);
}

static void test_defaults_and_uid_forms(void **state)
{
	(void)state;
	norm_ok("{\"uid\": \"Zone:line-3\"}", "{\"uid\": {\"type\": \"Zone\", \"id\": \"line-3\"}, \"attrs\": {}, "
		"\"parents\": []}", "Zone", "line-3");
	norm_ok("{\"uid\": \"Device::\\\"plc \\\\\\\"7\\\"\", \"parents\": [{\"__entity\": {\"type\": \"Zone\", "
		"\"id\": \"a\"}}, \"Ns::Zone::\\\"b\\\"\", {\"type\": \"Zone\", \"id\": \"c\"}], "
		"\"attrs\": {\"n\": 1}, \"tags\": {\"t\": \"x\"}}",
		"{\"uid\": {\"type\": \"Device\", \"id\": \"plc \\\"7\"}, \"attrs\": {\"n\": 1}, \"tags\": "
		"{\"t\": \"x\"}, \"parents\": [{\"type\": \"Zone\", \"id\": \"a\"}, {\"type\": \"Ns::Zone\", "
		"\"id\": \"b\"}, {\"type\": \"Zone\", \"id\": \"c\"}]}",
		"Device", "plc \"7");
	/* Attribute values are copied as they are: the store checks them. */
	norm_ok("{\"uid\": {\"type\": \"Api\", \"id\": \"o\"}, \"attrs\": {\"ip\": {\"__extn\": {\"fn\": \"ip\", "
		"\"arg\": \"10.0.0.1\"}}}}",
		"{\"uid\": {\"type\": \"Api\", \"id\": \"o\"}, \"attrs\": {\"ip\": {\"__extn\": {\"fn\": \"ip\", "
		"\"arg\": \"10.0.0.1\"}}}, \"parents\": []}",
		"Api", "o");
}

static void test_refusals(void **state)
{
	(void)state;
	norm_bad("[]", "an entity must be an object");
	norm_bad("{\"uid\": \"Zone:a\", \"parent\": [\"Zone:b\"]}", "unknown member \"parent\"");
	norm_bad("{\"attrs\": {}}", "uid: ");
	norm_bad("{\"uid\": \"plc-7\"}", "uid: ");
	norm_bad("{\"uid\": 7}", "uid: ");
	norm_bad("{\"uid\": \"Zone:a\", \"attrs\": []}", "attrs and tags must be objects");
	norm_bad("{\"uid\": \"Zone:a\", \"tags\": 1}", "attrs and tags must be objects");
	norm_bad("{\"uid\": \"Zone:a\", \"parents\": \"Zone:b\"}", "parents must be an array");
	norm_bad("{\"uid\": \"Zone:a\", \"parents\": [\"Zone:b\", 5]}", "parents[1]: ");
	norm_bad_json(json_pack("{s:{s:s, s:s%}}", "uid", "type", "Zone", "id", "a\0b", (size_t)3),
		      "uid: entity types and ids may not contain NUL");
}

static void test_document_forms(void **state)
{
	(void)state;
	char err[300];
	json_t *arr = js("[{\"uid\": \"Zone:a\"}]"), *wrapped = js("{\"entities\": [{\"uid\": \"Zone:a\"}]}");
	json_t *one = js("{\"uid\": \"Zone:a\"}"), *other = js("{\"entities\": [], \"more\": 1}");
	json_t *got = pol_entities_of_doc(arr, false, err, sizeof err);
	assert_ptr_equal(got, arr);
	json_decref(got);
	got = pol_entities_of_doc(wrapped, false, err, sizeof err);
	assert_true(json_equal(got, arr));
	json_decref(got);
	/* One entity object only where an upsert takes it. */
	assert_null(pol_entities_of_doc(one, false, err, sizeof err));
	assert_non_null(strstr(err, "send a Cedar entities array or {\"entities\": [...]}"));
	got = pol_entities_of_doc(one, true, err, sizeof err);
	assert_true(json_equal(got, arr));
	json_decref(got);
	assert_null(pol_entities_of_doc(other, true, err, sizeof err));
	assert_non_null(strstr(err, "or one entity"));
	json_decref(arr);
	json_decref(wrapped);
	json_decref(one);
	json_decref(other);
}

static void test_normalize_all_keeps_order_and_refuses_twice(void **state)
{
	(void)state;
	char err[300];
	json_t *arr = js("[{\"uid\": \"Zone:b\"}, {\"uid\": \"Zone:a\"}, {\"uid\": \"Device:c\"}]");
	json_t *map = pol_entities_normalize_all(arr, err, sizeof err);
	assert_non_null(map);
	const char *want[] = {"Zone\x1f" "b", "Zone\x1f" "a", "Device\x1f" "c"};
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach(map, k, v) {
		assert_true(n < 3);
		assert_string_equal(k, want[n++]);
	}
	assert_int_equal(n, 3);
	json_decref(map);
	json_decref(arr);
	/* The same uid in two forms is the same uid. */
	arr = js("[{\"uid\": \"Zone:a\"}, {\"uid\": \"Zone:b\"}, {\"uid\": {\"type\": \"Zone\", \"id\": \"a\"}}]");
	assert_null(pol_entities_normalize_all(arr, err, sizeof err));
	assert_string_equal(err, "entity 2: Zone::\"a\" appears twice");
	json_decref(arr);
	arr = js("[{\"uid\": \"Zone:a\"}, {\"uid\": \"Zone:b\", \"children\": []}]");
	assert_null(pol_entities_normalize_all(arr, err, sizeof err));
	assert_non_null(strstr(err, "entity 1: unknown member \"children\""));
	json_decref(arr);
}

static void test_ot_example_loads(void **state)
{
	(void)state;
	char err[300];
	pol_entities_t *es = NULL;
	/* The strict Cedar loader alone refuses it (no parents on the zone). */
	assert_int_not_equal(pol_json_entities(OT_EXAMPLE, strlen(OT_EXAMPLE), &es, err, sizeof err), 0);
	assert_non_null(strstr(err, "missing \"parents\""));
	assert_int_equal(pol_entities_load_input(OT_EXAMPLE, strlen(OT_EXAMPLE), &es, err, sizeof err), 0);
	assert_int_equal(pol_entities_count(es), 4);
	pol_euid_t plc = {{"Device", 6}, {"plc-7", 5}}, zone = {{"Zone", 4}, {"line-3", 6}};
	pol_euid_t ops = {{"Role", 4}, {"line-3-operators", 16}}, readers = {{"Role", 4}, {"line-3-readers", 14}};
	assert_true(pol_entities_in(es, &plc, &zone));
	assert_true(pol_entities_in(es, &ops, &readers));
	assert_false(pol_entities_in(es, &zone, &plc));
	const pol_entity_t *z = pol_entities_find(es, &zone);
	assert_non_null(z);
	assert_int_equal(z->nancestors, 0);
	assert_int_equal(z->attrs->kind, PV_RECORD);
	pol_entities_free(es);
}

static void test_load_input_refusals(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[{\"uid\": \"Zone:a\"}", "not JSON: line 1"},
		{"{\"uid\": \"Zone:a\"}", "send a Cedar entities array"},
		{"[{\"uid\": \"Zone:a\"}, {\"uid\": \"Zone:a\", \"attrs\": {\"x\": 1}}]", "entity 1: Zone::\"a\" appears twice"},
		{"[{\"uid\": \"Action::\\\"r\\\"\", \"parents\": [\"Zone:a\"]}]", "the parent of an action must be an action"},
		{"[{\"uid\": \"Zone:a\", \"parents\": [\"Zone:b\"]}, {\"uid\": \"Zone:b\", \"parents\": [\"Zone:a\"]}]",
		 "cycle"},
		{"[{\"uid\": \"Zone:a\", \"attrs\": {\"f\": 1.5}}]", "entity 0 (Zone::\"a\"): attrs.f"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[300] = "";
		pol_entities_t *es = NULL;
		if (pol_entities_load_input(cases[i].text, strlen(cases[i].text), &es, err, sizeof err) == 0)
			fail_msg("accepted %s", cases[i].text);
		assert_null(es);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("%s\n  got %s\n  expected ...%s...", cases[i].text, err, cases[i].want);
	}
	/* {"entities": [...]} loads as the array does. */
	char err[300];
	pol_entities_t *es = NULL;
	const char *w = "{\"entities\": [{\"uid\": \"Zone:a\"}, {\"uid\": \"Zone:b\", \"parents\": [\"Zone:a\"]}]}";
	assert_int_equal(pol_entities_load_input(w, strlen(w), &es, err, sizeof err), 0);
	assert_int_equal(pol_entities_count(es), 2);
	pol_entities_free(es);
}

static void test_key_and_text(void **state)
{
	(void)state;
	char *k = pol_entity_key("Zone", "a:b");
	assert_memory_equal(k, "Zone\x1f" "a:b", 9);
	free(k);
	char *t = pol_uid_text("Device", "plc \"7\" \\ x");
	assert_string_equal(t, "Device::\"plc \\\"7\\\" \\\\ x\"");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_uid_forms),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_document_forms),
		cmocka_unit_test(test_normalize_all_keeps_order_and_refuses_twice),
		cmocka_unit_test(test_ot_example_loads),
		cmocka_unit_test(test_load_input_refusals),
		cmocka_unit_test(test_key_and_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
