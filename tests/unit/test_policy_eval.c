/* test_policy_eval.c - the Cedar evaluator and authorizer
 * (src/core/policy/eval*.c, engine.c, entities.c, index.c): every
 * expression construct and error rule, checked against answers recorded
 * from the Cedar reference (@cedar-policy/cedar-wasm 4.13: each row below
 * was evaluated there as `permit(principal, action, resource) when { EXPR };`
 * with the same entities and context); decision combination, determining
 * and errored policy ids; obligations; the scope index; entity hierarchy
 * rules (cycles refused, dangling parents followed); pathological input. */
#include "test_util.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/eval.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ALLOW, DENY, ERROR };

/* User::"alice" in Group::"staff" in Group::"all"; User::"bob" in an
 * absent Group::"ghost"; Doc::"d1" owned by alice in an absent
 * Folder::"f"; Action::"view" in Action::"read". */
static const char *const entities_json =
"[{\"uid\": {\"type\": \"User\", \"id\": \"alice\"}, \"attrs\": {\"name\": \"Alice\", \"age\": 30, \"roles\": [\"admin\", \"dev\"], \"mgr\": {\"__entity\": {\"type\": \"User\", \"id\": \"bob\"}}, \"addr\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.1.2.3\"}}, \"limit\": {\"__extn\": {\"fn\": \"decimal\", \"arg\": \"1.5\"}}, \"profile\": {\"team\": \"ot\", \"level\": 3}}, \"parents\": [{\"type\": \"Group\", \"id\": \"staff\"}], \"tags\": {\"env\": \"prod\", \"n\": 7}}, {\"uid\": {\"type\": \"User\", \"id\": \"bob\"}, \"attrs\": {}, \"parents\": [{\"type\": \"Group\", \"id\": \"ghost\"}]}, {\"uid\": {\"type\": \"Group\", \"id\": \"staff\"}, \"attrs\": {}, \"parents\": [{\"type\": \"Group\", \"id\": \"all\"}]}, {\"uid\": {\"type\": \"Group\", \"id\": \"all\"}, \"attrs\": {}, \"parents\": []}, {\"uid\": {\"type\": \"Doc\", \"id\": \"d1\"}, \"attrs\": {\"owner\": {\"__entity\": {\"type\": \"User\", \"id\": \"alice\"}}, \"public\": false}, \"parents\": [{\"type\": \"Folder\", \"id\": \"f\"}]}, {\"uid\": {\"type\": \"Action\", \"id\": \"view\"}, \"attrs\": {}, \"parents\": [{\"type\": \"Action\", \"id\": \"read\"}]}]"
;
static const char *const context_json =
"{\"n\": 5, \"s\": \"hello*world\", \"src_ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"192.168.1.20\"}}, \"flag\": true, \"list\": [1, 2, 3], \"rec\": {\"a\": {\"b\": 1}}, \"when\": {\"__extn\": {\"fn\": \"datetime\", \"arg\": \"2024-10-15T11:35:00Z\"}}}"
;

typedef struct {
	const char *expr;
	int expect;
} row_t;

static const row_t rows[] = {
	{"1 < 2", ALLOW},
	{"datetime(\"2024-01-01\") < datetime(\"2024-01-02\")", ALLOW},
	{"duration(\"1h\") < duration(\"2h\")", ALLOW},
	{"decimal(\"1.0\") < decimal(\"2.0\")", ERROR},
	{"ip(\"10.0.0.1/24\") == ip(\"10.0.0.0/24\")", DENY},
	{"ip(\"127.0.0.0/7\").isLoopback()", DENY},
	{"[1,1] == [1]", ALLOW},
	{"principal in [1]", ERROR},
	{"principal in [principal, 1]", ERROR},
	{"User::\"x\".foo", ERROR},
	{"User::\"x\" has foo", DENY},
	{"User::\"x\".hasTag(\"a\")", DENY},
	{"User::\"x\".getTag(\"a\")", ERROR},
	{"\"abc\" like \"a*c\"", ALLOW},
	{"ip(\"1.2.3.4\", \"x\") == ip(\"1.2.3.4\")", ERROR},
	{"9223372036854775807 + 1 > 0", ERROR},
	{"-9223372036854775808 < 0", ALLOW},
	{"-(-9223372036854775808) < 0", ERROR},
	{"2 * 3 == 6", ALLOW},
	{"principal * 2 == 0", ERROR},
	{"if 1 then true else false", ERROR},
	{"true || 1", ALLOW},
	{"false || 1", ERROR},
	{"true && 1", ERROR},
	{"{a:1} == {a:1}", ALLOW},
	{"{a:1}.a == 1", ALLOW},
	{"{a:1} has b", DENY},
	{"context has a", DENY},
	{"duration(\"1d\").toHours() == 24", ALLOW},
	{"duration(\"-1ms\").toSeconds() == 0", ALLOW},
	{"datetime(\"1969-12-31T23:59:59Z\").toDate() == datetime(\"1969-12-31\")", ALLOW},
	{"datetime(\"1969-12-31T23:59:59Z\").toTime() == duration(\"23h59m59s\")", ALLOW},
	{"decimal(\"1.23456\") == decimal(\"1.2345\")", ERROR},
	{"ip(\"::ffff:1.2.3.4\").isIpv4()", ERROR},
	{"ip(\"01.2.3.4\") == ip(\"1.2.3.4\")", ERROR},
	{"principal is User in [User::\"alice\"]", ALLOW},
	{"1 == 1 && principal is Foo in 1", DENY},
	{"principal in Group::\"staff\"", ALLOW},
	{"principal in Group::\"all\"", ALLOW},
	{"principal in Group::\"ghost\"", DENY},
	{"User::\"bob\" in Group::\"ghost\"", ALLOW},
	{"User::\"nobody\" in Group::\"ghost\"", DENY},
	{"User::\"nobody\" in User::\"nobody\"", ALLOW},
	{"resource in Folder::\"f\"", ALLOW},
	{"Folder::\"f\" in Folder::\"f\"", ALLOW},
	{"action in Action::\"read\"", ALLOW},
	{"action in [Action::\"read\", Action::\"write\"]", ALLOW},
	{"principal.name == \"Alice\"", ALLOW},
	{"principal.age >= 30", ALLOW},
	{"principal.age + 1 == 31", ALLOW},
	{"principal.roles.contains(\"admin\")", ALLOW},
	{"principal.roles.containsAll([\"admin\"])", ALLOW},
	{"principal.roles.containsAny([\"x\", \"dev\"])", ALLOW},
	{"principal.roles.containsAll(\"admin\")", ERROR},
	{"principal.roles.isEmpty()", DENY},
	{"[].isEmpty()", ALLOW},
	{"principal.mgr == User::\"bob\"", ALLOW},
	{"principal.mgr.name == \"Bob\"", ERROR},
	{"principal.mgr has name", DENY},
	{"principal has mgr", ALLOW},
	{"principal.addr.isInRange(ip(\"10.0.0.0/8\"))", ALLOW},
	{"context.src_ip.isInRange(ip(\"192.168.0.0/16\"))", ALLOW},
	{"context.src_ip.isLoopback()", DENY},
	{"ip(\"127.0.0.1\").isLoopback()", ALLOW},
	{"ip(\"::1\").isLoopback()", ALLOW},
	{"ip(\"224.0.0.1\").isMulticast()", ALLOW},
	{"ip(\"ff02::1\").isMulticast()", ALLOW},
	{"ip(\"10.0.0.0/8\").isInRange(ip(\"10.0.0.0/16\"))", DENY},
	{"ip(\"10.0.0.0/16\").isInRange(ip(\"10.0.0.0/8\"))", ALLOW},
	{"ip(\"10.0.0.1\").isInRange(ip(\"::/0\"))", DENY},
	{"principal.limit.lessThan(decimal(\"2.0\"))", ALLOW},
	{"principal.limit.greaterThanOrEqual(decimal(\"1.5\"))", ALLOW},
	{"principal.limit == decimal(\"1.50\")", ALLOW},
	{"principal.limit.lessThan(2)", ERROR},
	{"principal.profile.team == \"ot\"", ALLOW},
	{"principal.profile.level > 2", ALLOW},
	{"principal.profile.missing == 1", ERROR},
	{"principal.profile has team", ALLOW},
	{"principal.profile has missing", DENY},
	{"principal.hasTag(\"env\")", ALLOW},
	{"principal.getTag(\"env\") == \"prod\"", ALLOW},
	{"principal.getTag(\"n\") == 7", ALLOW},
	{"principal.getTag(\"nope\") == 1", ERROR},
	{"principal.hasTag(\"nope\")", DENY},
	{"principal.hasTag(1)", ERROR},
	{"resource.owner == principal", ALLOW},
	{"resource.owner.name like \"A*\"", ALLOW},
	{"resource.public", DENY},
	{"!resource.public", ALLOW},
	{"context.n * 2 == 10", ALLOW},
	{"context.n - 10 == -5", ALLOW},
	{"-context.n == -5", ALLOW},
	{"context.s like \"hello\\*world\"", ALLOW},
	{"context.s like \"hello*\"", ALLOW},
	{"context.s like \"*world\"", ALLOW},
	{"context.s like \"*o*o*\"", ALLOW},
	{"context.s like \"h*z\"", DENY},
	{"context.s like \"hello\\*world*\"", ALLOW},
	{"context.flag && context.n == 5", ALLOW},
	{"context.flag || context.nope", ALLOW},
	{"context.nope || true", ERROR},
	{"context.list.contains(2)", ALLOW},
	{"context.list == [3,2,1]", ALLOW},
	{"context.list == [3,2,1,1]", ALLOW},
	{"context.rec.a.b == 1", ALLOW},
	{"context.rec[\"a\"][\"b\"] == 1", ALLOW},
	{"context.when.offset(duration(\"1h\")) > context.when", ALLOW},
	{"context.when.durationSince(datetime(\"2024-10-15\")) == duration(\"11h35m\")", ALLOW},
	{"context.when.toDate() == datetime(\"2024-10-15\")", ALLOW},
	{"context.when.toTime().toMinutes() == 695", ALLOW},
	{"datetime(\"2024-10-15T11:35:00+0100\") < context.when", ALLOW},
	{"datetime(\"2024-10-15T11:35:00.123Z\") > context.when", ALLOW},
	{"if context.n > 3 then principal.age == 30 else principal.nope", ALLOW},
	{"if context.n > 30 then principal.age == 30 else principal.nope", ERROR},
	{"principal is User", ALLOW},
	{"principal is Group", DENY},
	{"resource is Doc in Folder::\"f\"", ALLOW},
	{"principal is User in Group::\"all\"", ALLOW},
	{"1 is User", ERROR},
	{"\"a\" < \"b\"", ERROR},
	{"context.list < 1", ERROR},
	{"1 in [1]", ERROR},
	{"principal in principal.roles", ERROR},
	{"{a: 1, b: principal} == {b: principal, a: 1}", ALLOW},
	{"{a: 1} == {a: 1, b: 2}", DENY},
	{"[principal, 1] == [1, principal]", ALLOW},
	{"ip(\"10.0.0.1\") == ip(\"10.0.0.1/32\")", ALLOW},
	{"decimal(\"-1.0\") < decimal(\"0.0\")", ERROR},
	{"decimal(\"-1.0\").lessThan(decimal(\"0.0\"))", ALLOW},
	{"9223372036854775807 * 2 == 0", ERROR},
	{"\"a\" == 1", DENY},
	{"principal == \"alice\"", DENY},
	{"principal.name != \"Bob\"", ALLOW},
	{"!(1 == 2)", ALLOW},
	{"!1", ERROR},
	{"-\"a\" == 1", ERROR},
	{"principal.age like \"3*\"", ERROR},
	{"Group::\"staff\" has name", DENY},
	{"Group::\"staff\".name == 1", ERROR},
	{"User::\"nobody\" has name", DENY},
	{"User::\"nobody\".getTag(\"x\") == 1", ERROR},
	{"User::\"nobody\".hasTag(\"x\")", DENY},
};

/* ---- helpers ----------------------------------------------------------- */

typedef struct {
	pol_arena_t *arena;
	pol_entities_t *es;
	pol_value_t context;
	pol_scratch_t *scratch;
} world_t;

static void world_init(world_t *w, const char *entities, const char *context)
{
	char err[256];
	w->arena = pol_arena_new();
	w->scratch = pol_scratch_new();
	assert_non_null(w->arena);
	if (pol_json_entities(entities, strlen(entities), &w->es, err, sizeof err) != 0)
		fail_msg("entities: %s", err);
	json_t *j = json_loads(context, 0, NULL);
	assert_non_null(j);
	if (pol_json_value(w->arena, j, &w->context, err, sizeof err) != 0)
		fail_msg("context: %s", err);
	json_decref(j);
}

static void world_free(world_t *w)
{
	pol_entities_free(w->es);
	pol_arena_free(w->arena);
	pol_scratch_free(w->scratch);
}

static pol_engine_t *engine_of(const char *text)
{
	pol_set_t *set;
	pol_error_t err;
	pol_engine_t *eng;
	if (pol_parse(text, strlen(text), &set, &err) != 0)
		fail_msg("parse: %s\n%s", err.message, text);
	if (pol_engine_new(set, &eng, &err) != 0)
		fail_msg("engine: %s", err.message);
	return eng;
}

static pol_euid_t euid(const char *type, const char *id)
{
	return (pol_euid_t){{type, strlen(type)}, {id, strlen(id)}};
}

static pol_request_t alice_views_d1(const world_t *w)
{
	return (pol_request_t){.principal = euid("User", "alice"), .action = euid("Action", "view"),
			       .resource = euid("Doc", "d1"), .context = &w->context};
}

/* "policy0,policy2" from a list of policy numbers. */
static void ids(const pol_engine_t *eng, const uint32_t *v, size_t n, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", i ? "," : "", pol_engine_set(eng)->policy[v[i]].id.p);
	}
}

static void error_ids(const pol_engine_t *eng, const pol_decision_t *d, char *buf, size_t size)
{
	uint32_t v[64];
	size_t n = d->nerrors < 64 ? d->nerrors : 64;
	for (size_t i = 0; i < n; i++)
		v[i] = d->errors[i].policy;
	ids(eng, v, n, buf, size);
}

/* Decides and checks decision, reasons and errors ("" for none). */
static void expect_decision(const pol_engine_t *eng, const world_t *w, const pol_request_t *req,
			    const pol_facts_t *facts, bool allow, const char *reasons,
			    const char *errors, pol_decision_t *out)
{
	char got[512];
	assert_int_equal(pol_authorize(eng, w->es, req, facts, w->scratch, out), 0);
	assert_int_equal(out->allow, allow);
	ids(eng, out->reasons, out->nreasons, got, sizeof got);
	assert_string_equal(got, reasons);
	error_ids(eng, out, got, sizeof got);
	assert_string_equal(got, errors);
}

/* ---- expressions against the reference's answers ----------------------------- */

static void test_expressions_match_reference(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	pol_request_t req = alice_views_d1(&w);
	int failures = 0;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char text[1024];
		snprintf(text, sizeof text, "permit(principal, action, resource) when { %s };",
			 rows[i].expr);
		pol_engine_t *eng = engine_of(text);
		pol_decision_t d;
		assert_int_equal(pol_authorize(eng, w.es, &req, NULL, w.scratch, &d), 0);
		int got = d.nerrors ? ERROR : d.allow ? ALLOW : DENY;
		if (got != rows[i].expect) {
			print_error("%s: expected %d, got %d%s%s\n", rows[i].expr, rows[i].expect, got,
				    d.nerrors ? " — " : "", d.nerrors ? d.errors[0].message : "");
			failures++;
		}
		if (got == ERROR)
			assert_non_null(strstr(d.errors[0].message, "line 1"));
		pol_engine_free(eng);
	}
	world_free(&w);
	assert_int_equal(failures, 0);
}

/* ---- decisions before the request (pol_request_t.unknown) ------------------------- */

static void test_unknown_context_attributes_make_a_condition_possible(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	static const pol_str_t later[] = {{"address", 7}, {"n", 1}};
	pol_request_t req = alice_views_d1(&w), before = req;
	before.unknown = later;
	before.nunknown = 2;
	pol_decision_t d;
	/* A permit that reads an unknown attribute is possible; Cedar alone
	 * (no unknowns) errors on it. */
	pol_engine_t *eng = engine_of("@id(\"range\") permit(principal, action, resource) when "
				      "{ context.address >= 100 && context.address < 200 };");
	expect_decision(eng, &w, &before, NULL, true, "range", "", &d);
	expect_decision(eng, &w, &req, NULL, false, "", "range", &d);
	pol_engine_free(eng);
	/* `has` on it is undecided too, and so is anything built on it. */
	eng = engine_of("@id(\"guarded\") permit(principal, action, resource) when "
			"{ !(context has address) || context.address < 10 };");
	expect_decision(eng, &w, &before, NULL, true, "guarded", "", &d);
	expect_decision(eng, &w, &req, NULL, true, "guarded", "", &d);
	pol_engine_free(eng);
	/* What is decided without the attribute stays decided. */
	eng = engine_of("@id(\"never\") permit(principal, action, resource) when { false && context.address < 10 };\n"
			"@id(\"missing\") permit(principal, action, resource) when { context.other == 1 };");
	expect_decision(eng, &w, &before, NULL, false, "", "missing", &d);
	pol_engine_free(eng);
	/* An unknown attribute the context does hold is read as usual
	 * (context.n is 5); only context's own attributes are unknown. */
	eng = engine_of("@id(\"n\") permit(principal, action, resource) when { context.n > 9 };\n"
			"@id(\"rec\") permit(principal, action, resource) when { context.rec.address == 1 };");
	expect_decision(eng, &w, &before, NULL, false, "", "rec", &d);
	pol_engine_free(eng);
	/* An undecided forbid does not apply before the request; an
	 * unconditional one still does. */
	eng = engine_of("permit(principal, action, resource);\n"
			"@id(\"high\") forbid(principal, action, resource) when { context.address > 1000 };");
	expect_decision(eng, &w, &before, NULL, true, "policy0", "", &d);
	pol_engine_free(eng);
	eng = engine_of("permit(principal, action, resource) when { context.address < 5 };\n"
			"@id(\"all\") forbid(principal, action, resource);");
	expect_decision(eng, &w, &before, NULL, false, "all", "", &d);
	pol_engine_free(eng);
	world_free(&w);
}

/* ---- combining policies ------------------------------------------------------------- */

static void test_forbid_wins_and_errors_are_skipped(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	pol_request_t req = alice_views_d1(&w);
	pol_decision_t d;
	pol_engine_t *eng = engine_of(
		"permit(principal, action, resource);\n"
		"permit(principal in Group::\"all\", action, resource) when { principal.nope };\n"
		"@id(\"deny-night\") forbid(principal, action, resource) when { context.n > 3 };\n"
		"permit(principal == User::\"alice\", action == Action::\"view\", resource);\n");
	expect_decision(eng, &w, &req, NULL, false, "deny-night", "policy1", &d);
	assert_non_null(strstr(d.errors[0].message, "nope"));
	pol_engine_free(eng);

	eng = engine_of("permit(principal, action, resource);\n"
			"forbid(principal, action, resource) when { principal.nope };\n"
			"permit(principal == User::\"alice\", action, resource);\n");
	expect_decision(eng, &w, &req, NULL, true, "policy0,policy2", "policy1", &d);
	pol_engine_free(eng);

	eng = engine_of("forbid(principal, action, resource) unless { false };");
	expect_decision(eng, &w, &req, NULL, false, "policy0", "", &d);
	pol_engine_free(eng);

	eng = engine_of("permit(principal == User::\"bob\", action, resource);");
	expect_decision(eng, &w, &req, NULL, false, "", "", &d);
	pol_engine_free(eng);

	eng = engine_of("");
	expect_decision(eng, &w, &req, NULL, false, "", "", &d);
	pol_engine_free(eng);
	world_free(&w);
}

static void test_when_and_unless_in_order(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	pol_request_t req = alice_views_d1(&w);
	pol_decision_t d;
	/* The failed `when` stops evaluation before the erroring `unless`. */
	pol_engine_t *eng = engine_of("permit(principal, action, resource) when { false } unless { 1 };\n"
				      "permit(principal, action, resource) when { true } unless { 1 };\n"
				      "permit(principal, action, resource) unless { false } when { context.flag };\n");
	expect_decision(eng, &w, &req, NULL, true, "policy2", "policy1", &d);
	pol_engine_free(eng);
	world_free(&w);
}

/* ---- obligations ------------------------------------------------------------------- */

static void test_obligations(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	pol_request_t req = alice_views_d1(&w);
	pol_decision_t d;
	pol_engine_t *eng = engine_of(
		"@id(\"short\") @max_ttl(\"120\") permit(principal, action == Action::\"view\", resource);\n"
		"@id(\"long\") @max_ttl(\"900\") @audit(\"full\") permit(principal in Group::\"staff\", action, resource);\n"
		"@id(\"jit\") @requires_grant(\"2\") permit(principal, action, resource is Doc);\n"
		"@id(\"mfa\") @requires_mfa(\"300\") permit(principal, action, resource in Folder::\"f\");\n");
	/* Plain Cedar: obligations ignored, every satisfied permit determines. */
	expect_decision(eng, &w, &req, NULL, true, "short,long,jit,mfa", "", &d);
	assert_int_equal(d.max_ttl, 120);
	assert_true(d.audit_full);

	pol_facts_t none = {-1, -1};
	expect_decision(eng, &w, &req, &none, true, "short,long", "", &d);
	assert_int_equal(d.nunmet, 2);
	assert_int_equal(d.unmet[0].missing, POL_OBL_GRANT);
	assert_int_equal(d.unmet[0].needed, 2);
	assert_int_equal(d.unmet[1].missing, POL_OBL_MFA);

	pol_facts_t met = {2, 300};
	expect_decision(eng, &w, &req, &met, true, "short,long,jit,mfa", "", &d);
	assert_int_equal(d.nunmet, 0);
	pol_engine_free(eng);

	/* Only obligation-bound permits: denied, and the decision says why. */
	eng = engine_of("@requires_grant(\"1\") permit(principal, action, resource);");
	pol_facts_t one = {0, -1};
	expect_decision(eng, &w, &req, &one, false, "", "", &d);
	assert_int_equal(d.nunmet, 1);
	assert_int_equal(d.unmet[0].missing, POL_OBL_GRANT);
	pol_facts_t stale = {1, -1};
	expect_decision(eng, &w, &req, &stale, true, "policy0", "", &d);
	assert_int_equal(d.max_ttl, -1);
	pol_engine_free(eng);
	world_free(&w);
}

static void test_bad_obligation_values_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"@max_ttl(\"0\") permit(principal, action, resource);",
		"@max_ttl(\"five\") permit(principal, action, resource);",
		"@max_ttl(\"-5\") permit(principal, action, resource);",
		"@max_ttl permit(principal, action, resource);",
		"@requires_grant(\"x\") permit(principal, action, resource);",
		"@requires_mfa(\"0\") permit(principal, action, resource);",
		"@audit(\"loud\") permit(principal, action, resource);",
		"@max_ttl(\"99999999999999\") permit(principal, action, resource);",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pol_set_t *set;
		pol_engine_t *eng = (pol_engine_t *)1;
		pol_error_t err;
		assert_int_equal(pol_parse(bad[i], strlen(bad[i]), &set, &err), 0);
		if (pol_engine_new(set, &eng, &err) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(eng);
		assert_int_equal(err.line, 1);
		assert_non_null(strstr(err.message, "policy0"));
	}
}

/* ---- the index ----------------------------------------------------------------- */

/* 20,000 policies, each on its own principal or resource or action; the
 * request must find exactly those that apply, through ancestors too. */
static void test_index_finds_what_applies(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	size_t cap = 4u << 20, len = 0;
	char *text = malloc(cap);
	assert_non_null(text);
	for (int i = 0; i < 5000; i++) {
		len += (size_t)snprintf(text + len, cap - len,
			"permit(principal == User::\"u%d\", action, resource);\n"
			"permit(principal, action, resource == Doc::\"d%d\");\n"
			"permit(principal, action == Action::\"a%d\", resource);\n"
			"permit(principal, action in [Action::\"b%d\", Action::\"c%d\"], resource is Doc);\n",
			i, i, i, i, i);
	}
	len += (size_t)snprintf(text + len, cap - len,
		"@id(\"staff\") permit(principal in Group::\"all\", action, resource);\n"
		"@id(\"folder\") permit(principal, action, resource in Folder::\"f\");\n"
		"@id(\"read\") permit(principal, action in Action::\"read\", resource);\n"
		"@id(\"users\") permit(principal is User, action, resource);\n"
		"@id(\"docs\") forbid(principal, action, resource is Doc) when { context.n > 100 };\n"
		"@id(\"nothing\") permit(principal, action in [], resource);\n"
		"@id(\"all\") permit(principal, action, resource) when { context.flag };\n");
	pol_engine_t *eng = engine_of(text);
	free(text);
	pol_request_t req = alice_views_d1(&w);
	pol_decision_t d;
	/* policy5 is the resource == Doc::"d1" of i = 1. */
	expect_decision(eng, &w, &req, NULL, true, "policy5,staff,folder,read,users,all", "", &d);

	req.principal = euid("User", "u42");
	req.resource = euid("Doc", "d7");
	req.action = euid("Action", "c9");
	expect_decision(eng, &w, &req, NULL, true,
			"policy29,policy39,policy168,users,all", "", &d);
	world_free(&w);
	pol_engine_free(eng);
}

/* ---- entities ----------------------------------------------------------------- */

static void test_entity_cycles_refused(void **state)
{
	(void)state;
	static const char *const docs[] = {
		"[{\"uid\":{\"type\":\"A\",\"id\":\"1\"},\"attrs\":{},\"parents\":[{\"type\":\"A\",\"id\":\"1\"}]}]",
		"[{\"uid\":{\"type\":\"A\",\"id\":\"1\"},\"attrs\":{},\"parents\":[{\"type\":\"A\",\"id\":\"2\"}]},"
		" {\"uid\":{\"type\":\"A\",\"id\":\"2\"},\"attrs\":{},\"parents\":[{\"type\":\"A\",\"id\":\"3\"}]},"
		" {\"uid\":{\"type\":\"A\",\"id\":\"3\"},\"attrs\":{},\"parents\":[{\"type\":\"A\",\"id\":\"1\"}]}]",
	};
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		pol_entities_t *es = (pol_entities_t *)1;
		char err[256];
		assert_int_not_equal(pol_json_entities(docs[i], strlen(docs[i]), &es, err, sizeof err), 0);
		assert_non_null(strstr(err, "cycle"));
		assert_non_null(strstr(err, "through A::\"1\""));
	}
}

static void test_entity_store_direct(void **state)
{
	(void)state;
	pol_entities_t *es = pol_entities_new();
	const char *why;
	pol_euid_t a = euid("Device", "plc-7"), zone = euid("Zone", "line-3"),
		   site = euid("Zone", "site");
	assert_int_equal(pol_entities_add(es, &a, NULL, NULL, &zone, 1, &why), 0);
	assert_int_equal(pol_entities_add(es, &zone, NULL, NULL, &site, 1, &why), 0);
	assert_int_not_equal(pol_entities_add(es, &a, NULL, NULL, NULL, 0, &why), 0);
	assert_non_null(strstr(why, "duplicate"));
	/* An identical repeat is accepted, as the reference accepts it. */
	assert_int_equal(pol_entities_add(es, &a, NULL, NULL, &zone, 1, &why), 0);
	assert_int_equal(pol_entities_seal(es, &why), 0);
	assert_true(pol_entities_in(es, &a, &site));
	assert_true(pol_entities_in(es, &a, &a));
	assert_false(pol_entities_in(es, &site, &a));
	assert_int_equal(pol_entities_count(es), 2);
	assert_int_not_equal(pol_entities_add(es, &site, NULL, NULL, NULL, 0, &why), 0);
	pol_entities_free(es);
}

/* A long chain: every entity has every later one as an ancestor. */
static void test_deep_hierarchy(void **state)
{
	(void)state;
	pol_entities_t *es = pol_entities_new();
	const char *why;
	enum { N = 2000 };
	static char idbuf[N][8];
	pol_euid_t u[N];
	for (int i = 0; i < N; i++) {
		snprintf(idbuf[i], sizeof idbuf[i], "%d", i);
		u[i] = euid("Zone", idbuf[i]);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(pol_entities_add(es, &u[i], NULL, NULL, i + 1 < N ? &u[i + 1] : NULL,
						  i + 1 < N, &why), 0);
	assert_int_equal(pol_entities_seal(es, &why), 0);
	assert_true(pol_entities_in(es, &u[0], &u[N - 1]));
	assert_false(pol_entities_in(es, &u[N - 1], &u[0]));
	pol_entities_free(es);
}

/* ---- like ------------------------------------------------------------------------ */

static bool like(const char *s, const char *const *lits, size_t n)
{
	pol_str_t l[8];
	for (size_t i = 0; i < n; i++)
		l[i] = (pol_str_t){lits[i], strlen(lits[i])};
	pol_pattern_t pat = {l, n};
	pol_str_t str = {s, strlen(s)};
	return pol_like_match(&str, &pat);
}

static void test_like(void **state)
{
	(void)state;
	assert_true(like("abc", (const char *[]){"abc"}, 1));
	assert_false(like("abcd", (const char *[]){"abc"}, 1));
	assert_true(like("", (const char *[]){"", ""}, 2));
	assert_true(like("aXbYc", (const char *[]){"a", "b", "c"}, 3));
	assert_false(like("ab", (const char *[]){"a", "b", "b"}, 3));
	assert_true(like("abab", (const char *[]){"a", "b", "b"}, 3));
	assert_false(like("aa", (const char *[]){"aa", "a"}, 2));
	assert_true(like("aaa", (const char *[]){"aa", "a"}, 2));
	assert_true(like("h\xc3\xa9llo", (const char *[]){"h", "llo"}, 2));
}

/* ---- pathological input --------------------------------------------------------- */

static void test_pathological(void **state)
{
	(void)state;
	world_t w;
	world_init(&w, entities_json, context_json);
	pol_request_t req = alice_views_d1(&w);
	pol_decision_t d;
	/* A 50,000-element set literal, a long like pattern, a deep if chain. */
	size_t cap = 2u << 20, len = 0;
	char *text = malloc(cap);
	len += (size_t)snprintf(text + len, cap - len, "permit(principal, action, resource) when { [");
	for (int i = 0; i < 50000; i++)
		len += (size_t)snprintf(text + len, cap - len, "%s%d", i ? "," : "", i);
	len += (size_t)snprintf(text + len, cap - len, "].contains(49999) };\n"
		"permit(principal, action, resource) when { \"%s\" like \"", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	for (int i = 0; i < 2000; i++)
		len += (size_t)snprintf(text + len, cap - len, "*a");
	len += (size_t)snprintf(text + len, cap - len, "*b\" };\n");
	/* Two 20,000-element sets in opposite orders: equal, and each contains
	 * all of the other (quadratic would be 4e8 comparisons each). */
	for (int k = 0; k < 2; k++) {
		len += (size_t)snprintf(text + len, cap - len, "permit(principal, action, resource) when { [");
		for (int i = 0; i < 20000; i++)
			len += (size_t)snprintf(text + len, cap - len, "%s\"s%d\"", i ? "," : "", i);
		len += (size_t)snprintf(text + len, cap - len, "] %s [", k ? "==" : ".containsAll(");
		for (int i = 19999; i >= 0; i--)
			len += (size_t)snprintf(text + len, cap - len, "%s\"s%d\"", i < 19999 ? "," : "", i);
		len += (size_t)snprintf(text + len, cap - len, "]%s };\n", k ? "" : ")");
	}
	pol_engine_t *eng = engine_of(text);
	expect_decision(eng, &w, &req, NULL, true, "policy0,policy2,policy3", "", &d);
	pol_engine_free(eng);
	free(text);
	world_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expressions_match_reference),
		cmocka_unit_test(test_forbid_wins_and_errors_are_skipped),
		cmocka_unit_test(test_when_and_unless_in_order),
		cmocka_unit_test(test_obligations),
		cmocka_unit_test(test_bad_obligation_values_refused),
		cmocka_unit_test(test_index_finds_what_applies),
		cmocka_unit_test(test_entity_cycles_refused),
		cmocka_unit_test(test_entity_store_direct),
		cmocka_unit_test(test_deep_hierarchy),
		cmocka_unit_test(test_like),
		cmocka_unit_test(test_unknown_context_attributes_make_a_condition_possible),
		cmocka_unit_test(test_pathological),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
