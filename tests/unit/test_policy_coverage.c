/* test_policy_coverage.c - scope coverage over the entity hierarchy
 * (src/core/policy/coverage.c, docs/architecture.md Scope): a scope token
 * covers a request's action when it names it or an action group holding it
 * (transitively), and its resource when it names it or an ancestor of it;
 * exact matches need no entity in the store; anything else, and any
 * malformed token, covers nothing. */
#include "test_util.h"
#include "core/policy/cedar_json.h"
#include "core/policy/coverage.h"
#include <stdlib.h>
#include <string.h>

/* Action::"orders.read" and "orders.write" in "orders" in "all";
 * Action::"modbus.read" alone; Device::"plc-7" in Zone::"line-3",
 * Device::"plc-9" in Zone::"line-4", both zones in Site::"plant-1";
 * Sensor::"t-1" in Device::"plc-7" and in Zone::"line-4"; Device::"orphan"
 * in an absent Zone::"gone"; Api::"orders" alone. */
static const char entities_json[] =
	"["
	"{\"uid\": {\"type\": \"Action\", \"id\": \"orders.read\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Action\", \"id\": \"orders\"}]},"
	"{\"uid\": {\"type\": \"Action\", \"id\": \"orders.write\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Action\", \"id\": \"orders\"}]},"
	"{\"uid\": {\"type\": \"Action\", \"id\": \"orders\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Action\", \"id\": \"all\"}]},"
	"{\"uid\": {\"type\": \"Action\", \"id\": \"all\"}, \"attrs\": {}, \"parents\": []},"
	"{\"uid\": {\"type\": \"Action\", \"id\": \"modbus.read\"}, \"attrs\": {}, \"parents\": []},"
	"{\"uid\": {\"type\": \"Device\", \"id\": \"plc-7\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Zone\", \"id\": \"line-3\"}]},"
	"{\"uid\": {\"type\": \"Device\", \"id\": \"plc-9\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Zone\", \"id\": \"line-4\"}]},"
	"{\"uid\": {\"type\": \"Zone\", \"id\": \"line-3\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Site\", \"id\": \"plant-1\"}]},"
	"{\"uid\": {\"type\": \"Zone\", \"id\": \"line-4\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Site\", \"id\": \"plant-1\"}]},"
	"{\"uid\": {\"type\": \"Site\", \"id\": \"plant-1\"}, \"attrs\": {}, \"parents\": []},"
	"{\"uid\": {\"type\": \"Sensor\", \"id\": \"t-1\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Device\", \"id\": \"plc-7\"}, {\"type\": \"Zone\", \"id\": \"line-4\"}]},"
	"{\"uid\": {\"type\": \"Device\", \"id\": \"orphan\"}, \"attrs\": {},"
	" \"parents\": [{\"type\": \"Zone\", \"id\": \"gone\"}]},"
	"{\"uid\": {\"type\": \"Api\", \"id\": \"orders\"}, \"attrs\": {}, \"parents\": []}"
	"]";

static pol_entities_t *store(const char *text)
{
	char err[256];
	pol_entities_t *es = NULL;
	if (pol_json_entities(text, strlen(text), &es, err, sizeof err) != 0)
		fail_msg("entities refused: %s", err);
	return es;
}

static pol_euid_t euid(const char *type, const char *id)
{
	return (pol_euid_t){{type, strlen(type)}, {id, strlen(id)}};
}

typedef struct {
	const char *tok;
	const char *action;       /* Action::"<action>" */
	const char *type, *id;    /* the resource */
	bool want;
} cover_row_t;

static void check_covers(const pol_entities_t *es, const cover_row_t *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		pol_euid_t act = euid("Action", rows[i].action), res = euid(rows[i].type, rows[i].id);
		if (pol_scope_token_covers(es, rows[i].tok, &act, &res) != rows[i].want)
			fail_msg("%s on Action::\"%s\" %s::\"%s\": want %s", rows[i].tok, rows[i].action,
				 rows[i].type, rows[i].id, rows[i].want ? "covered" : "not covered");
	}
}

static void test_exact(void **state)
{
	static const cover_row_t rows[] = {
		{"modbus.read@Device:plc-7", "modbus.read", "Device", "plc-7", true},
		{"orders.read@Api:orders", "orders.read", "Api", "orders", true},
		/* entities the store does not know still match themselves */
		{"x.y@Api:ghost", "x.y", "Api", "ghost", true},
		/* ids may hold ':' and '@'; the first of each separates */
		{"read@Doc:a:b@c", "read", "Doc", "a:b@c", true},
		{"read@Doc:a:b@c", "read", "Doc", "a", false},
		{"read@Doc:a:b@c", "read", "Doc:a", "b@c", false},
	};
	pol_entities_t *es = store(entities_json);
	check_covers(es, rows, sizeof rows / sizeof rows[0]);
	pol_entities_free(es);
}

static void test_action_groups(void **state)
{
	static const cover_row_t rows[] = {
		{"orders@Api:orders", "orders.read", "Api", "orders", true},
		{"orders@Api:orders", "orders.write", "Api", "orders", true},
		{"orders@Api:orders", "orders", "Api", "orders", true},
		{"all@Api:orders", "orders.read", "Api", "orders", true}, /* transitive */
		{"all@Api:orders", "orders", "Api", "orders", true},
		/* a member does not cover its group, nor a sibling */
		{"orders.read@Api:orders", "orders", "Api", "orders", false},
		{"orders.read@Api:orders", "orders.write", "Api", "orders", false},
		{"orders@Api:orders", "all", "Api", "orders", false},
		/* not a member */
		{"orders@Api:orders", "modbus.read", "Api", "orders", false},
		{"all@Api:orders", "modbus.read", "Api", "orders", false},
		/* names compare exactly */
		{"Orders@Api:orders", "orders.read", "Api", "orders", false},
		{"orders.rea@Api:orders", "orders.read", "Api", "orders", false},
	};
	pol_entities_t *es = store(entities_json);
	check_covers(es, rows, sizeof rows / sizeof rows[0]);
	/* only Action::"..." is an action of a scope token */
	pol_euid_t act = euid("Ns::Action", "orders.read"), res = euid("Api", "orders");
	assert_false(pol_scope_token_covers(es, "orders.read@Api:orders", &act, &res));
	pol_entities_free(es);
}

static void test_resource_descendants(void **state)
{
	static const cover_row_t rows[] = {
		{"modbus.read@Zone:line-3", "modbus.read", "Device", "plc-7", true},
		{"modbus.read@Site:plant-1", "modbus.read", "Device", "plc-7", true}, /* transitive */
		{"modbus.read@Site:plant-1", "modbus.read", "Device", "plc-9", true},
		{"modbus.read@Site:plant-1", "modbus.read", "Zone", "line-4", true},
		{"modbus.read@Site:plant-1", "modbus.read", "Sensor", "t-1", true},
		/* through either parent */
		{"modbus.read@Device:plc-7", "modbus.read", "Sensor", "t-1", true},
		{"modbus.read@Zone:line-4", "modbus.read", "Sensor", "t-1", true},
		{"modbus.read@Zone:line-3", "modbus.read", "Sensor", "t-1", true},
		/* a parent the store lacks is still followed one step */
		{"modbus.read@Zone:gone", "modbus.read", "Device", "orphan", true},
		/* not descendants */
		{"modbus.read@Zone:line-3", "modbus.read", "Device", "plc-9", false},
		{"modbus.read@Zone:line-3", "modbus.read", "Zone", "line-4", false},
		{"modbus.read@Device:plc-7", "modbus.read", "Zone", "line-3", false}, /* an ancestor */
		{"modbus.read@Device:plc-7", "modbus.read", "Site", "plant-1", false},
		{"modbus.read@Zone:line-3", "modbus.read", "Site", "plant-1", false},
		{"modbus.read@Device:plc-9", "modbus.read", "Sensor", "t-1", false},
		/* same id, another type */
		{"modbus.read@Zone:plc-7", "modbus.read", "Device", "plc-7", false},
		{"modbus.read@Device:PLC-7", "modbus.read", "Device", "plc-7", false},
		/* both at once: an action group over a site */
		{"orders@Site:plant-1", "orders.read", "Sensor", "t-1", true},
		{"orders@Site:plant-1", "modbus.read", "Sensor", "t-1", false},
		{"modbus.read@Site:plant-1", "orders.read", "Sensor", "t-1", false},
	};
	pol_entities_t *es = store(entities_json);
	check_covers(es, rows, sizeof rows / sizeof rows[0]);
	pol_entities_free(es);
}

static void test_empty_store(void **state)
{
	static const cover_row_t rows[] = {
		{"modbus.read@Device:plc-7", "modbus.read", "Device", "plc-7", true},
		{"orders@Api:orders", "orders.read", "Api", "orders", false},
		{"modbus.read@Zone:line-3", "modbus.read", "Device", "plc-7", false},
	};
	pol_entities_t *es = store("[]");
	check_covers(es, rows, sizeof rows / sizeof rows[0]);
	pol_entities_free(es);
}

/* "a@T:" followed by x's, len bytes in all (malloc'd). */
static char *token_of_len(size_t len)
{
	char *t = malloc(len + 1);
	assert_non_null(t);
	memcpy(t, "a@T:", 4);
	memset(t + 4, 'x', len - 4);
	t[len] = '\0';
	return t;
}

static void test_malformed(void **state)
{
	static const cover_row_t rows[] = {
		{"", "modbus.read", "Device", "plc-7", false},
		{"modbus.read", "modbus.read", "Device", "plc-7", false},
		{"modbus.read@Device", "modbus.read", "Device", "plc-7", false},
		{"modbus.read:Device@plc-7", "modbus.read", "Device", "plc-7", false},
		{"Device:plc-7", "modbus.read", "Device", "plc-7", false},
	};
	pol_entities_t *es = store(entities_json);
	check_covers(es, rows, sizeof rows / sizeof rows[0]);
	/* the longest token there is still works; one byte more covers nothing */
	char *t256 = token_of_len(TG_MAX_SCOPE_TOKEN_LEN), *t257 = token_of_len(TG_MAX_SCOPE_TOKEN_LEN + 1);
	pol_euid_t act = euid("Action", "a"), r256 = euid("T", t256 + 4), r257 = euid("T", t257 + 4);
	assert_true(pol_scope_token_covers(es, t256, &act, &r256));
	assert_false(pol_scope_token_covers(es, t257, &act, &r257));
	assert_true(pol_scope_token_within(es, t256, t256));
	assert_false(pol_scope_token_within(es, t257, t257));
	free(t256);
	free(t257);
	pol_entities_free(es);
}

static void test_within(void **state)
{
	static const struct {
		const char *grant, *req;
		bool want;
	} rows[] = {
		{"modbus.read@Device:plc-7", "modbus.read@Device:plc-7", true},
		{"orders@Site:plant-1", "orders.read@Device:plc-7", true},
		{"orders@Site:plant-1", "orders@Zone:line-3", true},
		{"all@Site:plant-1", "orders.write@Sensor:t-1", true},
		{"orders.read@Zone:line-3", "orders@Zone:line-3", false},    /* wider action */
		{"modbus.read@Zone:line-3", "modbus.read@Site:plant-1", false}, /* wider resource */
		{"modbus.read@Zone:line-3", "modbus.read@Zone:line-4", false},
		{"modbus.read@Zone:line-3", "orders.read@Zone:line-3", false},
		{"x.y@Api:ghost", "x.y@Api:ghost", true},
		{"read@Doc:a:b@c", "read@Doc:a:b@c", true},
		/* malformed on either side */
		{"modbus.read@Zone:line-3", "modbus.read", false},
		{"modbus.read@Zone:line-3", "modbus.read@Device", false},
		{"modbus.read@Zone:line-3", "", false},
		{"modbus.read", "modbus.read@Device:plc-7", false},
		{"", "modbus.read@Device:plc-7", false},
	};
	pol_entities_t *es = store(entities_json);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		if (pol_scope_token_within(es, rows[i].grant, rows[i].req) != rows[i].want)
			fail_msg("%s within %s: want %s", rows[i].req, rows[i].grant, rows[i].want ? "yes" : "no");
	pol_entities_free(es);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact),
		cmocka_unit_test(test_action_groups),
		cmocka_unit_test(test_resource_descendants),
		cmocka_unit_test(test_empty_store),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_within),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
