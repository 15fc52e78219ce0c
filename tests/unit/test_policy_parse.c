/* test_policy_parse.c - the Cedar parser (src/core/policy/): every policy
 * file of the Cedar conformance suite parses, with the policy ids its
 * requests name; the tree has Cedar's precedence (seen through the
 * fully parenthesised dump, which must also parse back to itself);
 * literals, escapes, patterns and scopes come out right; malformed text is
 * refused with the line and column of the fault; pathological input hits
 * a limit instead of the stack.
 *
 * The conformance data sits in ../shared/cedar-conformance beside the
 * checkout (or wherever TG_CEDAR_CONFORMANCE points); its tests are skipped
 * with a message when it is absent. TG_CEDAR_CORPUS may name a directory
 * where corpus.tar.gz was extracted; its ~4,000 generated tests are then
 * parsed too. */
#include "test_util.h"
#include "core/policy/policy.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- helpers --------------------------------------------------------- */

static pol_set_t *parse_ok(const char *text)
{
	pol_set_t *set = NULL;
	pol_error_t err;
	if (pol_parse(text, strlen(text), &set, &err) != 0)
		fail_msg("refused %s\n  %s", text, err.message);
	return set;
}

/* Parses text expecting a refusal at line:column whose message has needle. */
static void parse_bad(const char *text, unsigned line, unsigned column, const char *needle)
{
	pol_set_t *set = (pol_set_t *)1;
	pol_error_t err;
	if (pol_parse(text, strlen(text), &set, &err) == 0)
		fail_msg("accepted %s", text);
	assert_null(set);
	if (err.line != line || err.column != column || strstr(err.message, needle) == NULL)
		fail_msg("for %s\n  got      %s\n  expected line %u, column %u: ...%s...", text,
			 err.message, line, column, needle);
	char prefix[64];
	snprintf(prefix, sizeof prefix, "line %u, column %u: ", line, column);
	assert_true(strncmp(err.message, prefix, strlen(prefix)) == 0);
}

/* The dump of the when-condition of "permit (principal, action, resource)
 * when { expr };", checked to parse back to the same dump. */
static void assert_tree(const char *expr, const char *want)
{
	char text[1200], got[1024], again[1024];
	snprintf(text, sizeof text, "permit (principal, action, resource) when { %s };", expr);
	pol_set_t *set = parse_ok(text);
	assert_int_equal(set->n, 1);
	assert_int_equal(set->policy[0].ncond, 1);
	size_t n = pol_expr_dump(set->policy[0].cond[0].expr, got, sizeof got);
	assert_true(n < sizeof got);
	if (strcmp(got, want) != 0)
		fail_msg("%s\n  got  %s\n  want %s", expr, got, want);
	pol_set_free(set);

	snprintf(text, sizeof text, "permit (principal, action, resource) when { %s };", got);
	set = parse_ok(text);
	pol_expr_dump(set->policy[0].cond[0].expr, again, sizeof again);
	assert_string_equal(again, got);
	pol_set_free(set);
}

static const pol_expr_t *cond0(const pol_set_t *set)
{
	assert_true(set->n >= 1 && set->policy[0].ncond >= 1);
	return set->policy[0].cond[0].expr;
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ---- the conformance suite ------------------------------------------ */

typedef struct {
	const char *root;    /* the folder test JSON paths are relative to */
	int files, policies, tests, ids, unreadable;
} walk_t;

static bool has_id(const pol_set_t *set, const char *id)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->policy[i].id.p, id) == 0)
			return true;
	return false;
}

static void check_policy_file(walk_t *w, const char *path)
{
	size_t len = 0;
	char *text = tu_read_file(path, &len);
	pol_set_t *set = NULL;
	pol_error_t err;
	assert_non_null(text);
	if (pol_parse(text, len, &set, &err) != 0)
		fail_msg("%s: %s", path, err.message);
	for (size_t i = 0; i < set->n; i++) {
		char want[32];
		snprintf(want, sizeof want, "policy%zu", i);
		assert_string_equal(set->policy[i].id.p, want);
	}
	w->files++;
	w->policies += (int)set->n;
	pol_set_free(set);
	free(text);
}

/* Every id a test's requests name (reason, errors) is in its policy set. */
static void check_test_json(walk_t *w, const char *path)
{
	json_error_t jerr;
	json_t *t = json_load_file(path, JSON_ALLOW_NUL, &jerr), *req, *ids, *id;
	const char *rel = json_string_value(json_object_get(t, "policies"));
	char ppath[4096];
	size_t i, j, len = 0;
	if (t == NULL) {
		/* jansson cannot hold a NUL in an object key, which some
		 * generated contexts have; the .cedar file is still parsed by
		 * the walk, only the id check is lost. */
		assert_non_null(strstr(jerr.text, "NUL"));
		w->unreadable++;
		return;
	}
	if (rel == NULL) {
		json_decref(t);
		return; /* not a test: entities and the like */
	}
	snprintf(ppath, sizeof ppath, "%s/%s", w->root, rel);
	char *text = tu_read_file(ppath, &len);
	pol_set_t *set = NULL;
	pol_error_t err;
	if (text == NULL)
		fail_msg("%s names %s, which cannot be read", path, ppath);
	if (pol_parse(text, len, &set, &err) != 0)
		fail_msg("%s: %s", ppath, err.message);
	json_array_foreach(json_object_get(t, "requests"), i, req) {
		static const char *const keys[] = {"reason", "errors"};
		for (size_t k = 0; k < 2; k++) {
			ids = json_object_get(req, keys[k]);
			json_array_foreach(ids, j, id) {
				if (!has_id(set, json_string_value(id)))
					fail_msg("%s names %s, not in %s", path, json_string_value(id), ppath);
				w->ids++;
			}
		}
	}
	w->tests++;
	pol_set_free(set);
	free(text);
	json_decref(t);
}

static void walk(walk_t *w, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	if (d == NULL)
		return;
	while ((ent = readdir(d)) != NULL) {
		char path[4096];
		struct stat st;
		if (ent->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(w, path);
		else if (has_suffix(path, ".cedar"))
			check_policy_file(w, path);
		else if (has_suffix(path, ".json") && !has_suffix(path, ".entities.json") &&
			 !has_suffix(path, "entities.json"))
			check_test_json(w, path);
	}
	closedir(d);
}

static void test_conformance_policies(void **state)
{
	const char *root = tu_cedar_conformance_dir();
	char sub[4096];
	struct stat st;
	walk_t w = {.root = root};
	snprintf(sub, sizeof sub, "%s/tests", root);
	if (stat(sub, &st) != 0) {
		print_message("SKIPPED: Cedar conformance data not found at %s "
			      "(set TG_CEDAR_CONFORMANCE)\n", root);
		skip();
	}
	walk(&w, sub);
	snprintf(sub, sizeof sub, "%s/sample-data", root);
	walk(&w, sub);
	print_message("conformance: %d policy files (%d policies), %d tests naming %d ids\n",
		      w.files, w.policies, w.tests, w.ids);
	assert_int_equal(w.files, 22);
	assert_int_equal(w.policies, 30);
	assert_true(w.tests >= 22);
}

static void test_conformance_corpus(void **state)
{
	const char *dir = getenv("TG_CEDAR_CORPUS");
	walk_t w = {.root = dir};
	char sub[4096];
	struct stat st;
	if (dir == NULL) {
		print_message("SKIPPED: set TG_CEDAR_CORPUS to where corpus.tar.gz was extracted\n");
		skip();
	}
	snprintf(sub, sizeof sub, "%s/corpus-tests", dir);
	if (stat(sub, &st) != 0)
		fail_msg("TG_CEDAR_CORPUS=%s has no corpus-tests/", dir);
	walk(&w, sub);
	print_message("corpus: %d policy files (%d policies), %d tests naming %d ids "
		      "(%d test files jansson cannot read: NUL in a key)\n",
		      w.files, w.policies, w.tests, w.ids, w.unreadable);
	assert_true(w.files > 0);
}

static void test_multi_file_counts(void **state)
{
	char path[4096];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/tests/multi/policies_5.cedar", tu_cedar_conformance_dir());
	char *text = tu_read_file(path, &len);
	if (text == NULL) {
		print_message("SKIPPED: %s not found\n", path);
		skip();
	}
	pol_set_t *set = NULL;
	pol_error_t err;
	assert_int_equal(pol_parse(text, len, &set, &err), 0);
	assert_int_equal(set->n, 3);
	assert_int_equal(set->policy[0].effect, POL_PERMIT);
	assert_int_equal(set->policy[1].effect, POL_FORBID);
	assert_int_equal(set->policy[1].cond[0].when, false);
	assert_int_equal(set->policy[0].resource.op, POL_SCOPE_IN);
	assert_string_equal(set->policy[0].resource.euid->type.p, "Album");
	assert_string_equal(set->policy[0].resource.euid->id.p, "alice_vacation");
	assert_int_equal(set->policy[2].action.op, POL_SCOPE_EQ);
	assert_string_equal(set->policy[2].id.p, "policy2");
	pol_set_free(set);
	free(text);
}

/* ---- structure ------------------------------------------------------- */

static void test_empty_set(void **state)
{
	pol_set_t *set = parse_ok("");
	assert_int_equal(set->n, 0);
	pol_set_free(set);
	set = parse_ok("  // nothing but a comment\n\n");
	assert_int_equal(set->n, 0);
	pol_set_free(set);
	pol_set_free(NULL);
}

static void test_ids_and_annotations(void **state)
{
	pol_set_t *set = parse_ok("permit(principal, action, resource);\n"
				  "@id(\"ops-can-read\") @audit(\"full\") @flag\n"
				  "forbid(principal, action, resource);\n"
				  "permit(principal, action, resource);");
	assert_int_equal(set->n, 3);
	assert_string_equal(set->policy[0].id.p, "policy0");
	assert_string_equal(set->policy[1].id.p, "ops-can-read");
	assert_string_equal(set->policy[2].id.p, "policy2");
	assert_int_equal(set->policy[1].nannot, 3);
	assert_string_equal(pol_annotation(&set->policy[1], "audit")->p, "full");
	assert_int_equal(pol_annotation(&set->policy[1], "flag")->len, 0);
	assert_null(pol_annotation(&set->policy[0], "audit"));
	assert_int_equal(set->policy[1].line, 2);
	pol_set_free(set);
}

static void test_scopes(void **state)
{
	pol_set_t *set = parse_ok(
		"permit(principal is Ns::User in Ns::Group::\"ops\", action in [Action::\"a\", "
		"Ns::Action::\"b\"], resource is Device);\n"
		"forbid(principal == User::\"x\", action == Action::\"a\", resource in Zone::\"z\");\n"
		"permit(principal in Role::\"r\", action in Action::\"all\", resource == Api::\"p\");\n"
		"permit(principal, action in [], resource is Zone in Zone::\"root\");");
	const pol_policy_t *p = set->policy;
	assert_int_equal(p[0].principal.op, POL_SCOPE_IS_IN);
	assert_string_equal(p[0].principal.type.p, "Ns::User");
	assert_string_equal(p[0].principal.euid->type.p, "Ns::Group");
	assert_int_equal(p[0].action.op, POL_SCOPE_IN_SET);
	assert_int_equal(p[0].action.n, 2);
	assert_string_equal(p[0].action.set[1].type.p, "Ns::Action");
	assert_string_equal(p[0].action.set[1].id.p, "b");
	assert_int_equal(p[0].resource.op, POL_SCOPE_IS);
	assert_int_equal(p[1].principal.op, POL_SCOPE_EQ);
	assert_int_equal(p[1].action.op, POL_SCOPE_EQ);
	assert_int_equal(p[1].resource.op, POL_SCOPE_IN);
	assert_int_equal(p[2].principal.op, POL_SCOPE_IN);
	assert_int_equal(p[2].action.op, POL_SCOPE_IN);
	assert_int_equal(p[2].resource.op, POL_SCOPE_EQ);
	assert_int_equal(p[3].principal.op, POL_SCOPE_ANY);
	assert_int_equal(p[3].action.op, POL_SCOPE_IN_SET);
	assert_int_equal(p[3].action.n, 0);
	assert_int_equal(p[3].resource.op, POL_SCOPE_IS_IN);

	char buf[512];
	pol_policy_dump(&p[0], buf, sizeof buf);
	assert_string_equal(buf, "permit (principal is Ns::User in Ns::Group::\"ops\", action in "
				 "[Action::\"a\", Ns::Action::\"b\"], resource is Device);");
	pol_set_free(set);
}

/* ---- precedence ------------------------------------------------------ */

static void test_precedence_table(void **state)
{
	static const char *const cases[][2] = {
		{"1 + 2 * 3 == 7", "((1 + (2 * 3)) == 7)"},
		{"1 - 2 - 3 < 0", "(((1 - 2) - 3) < 0)"},
		{"true || false && false", "(true || (false && false))"},
		{"true && false || true && true", "((true && false) || (true && true))"},
		{"true || false || true", "(true || false || true)"},
		{"!true && false", "((!true) && false)"},
		{"!!context.a", "(!(!context.a))"},
		{"-principal.age * 2 > -3", "(((-principal.age) * 2) > (-3))"},
		{"if context.a then 1 else 2 + 3", "(if context.a then 1 else (2 + 3))"},
		{"principal in Group::\"g\" && resource.owner == principal",
		 "((principal in Group::\"g\") && (resource.owner == principal))"},
		{"context has ip && context.ip.isInRange(ip(\"10.0.0.0/8\"))",
		 "((context has \"ip\") && context.ip.isInRange(ip(\"10.0.0.0/8\")))"},
		{"resource.path like \"/api/*\" || principal is Ns::Admin in Role::\"r\"",
		 "((resource.path like \"/api/*\") || (principal is Ns::Admin in Role::\"r\"))"},
		{"context[\"src ip\"].isIpv4() == true", "(context[\"src ip\"].isIpv4() == true)"},
		{"[1, 2 + 3].contains(5) && {a: 1, \"b c\": [true]}.b == 2",
		 "([1, (2 + 3)].contains(5) && ({\"a\": 1, \"b c\": [true]}.b == 2))"},
		{"decimal(\"1.5\").lessThan(decimal(\"2.25\"))", "decimal(\"1.5\").lessThan(decimal(\"2.25\"))"},
		{"principal is User", "(principal is User)"},
		{"(1 + 2) * 3", "((1 + 2) * 3)"},
		{"-9223372036854775808", "(-9223372036854775808)"},
		{"- -5", "(-(-5))"},
		{"-(5)", "(-(5))"},
		{"-5.foo", "(-5.foo)"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_tree(cases[i][0], cases[i][1]);
}

/* ---- literals -------------------------------------------------------- */

static void test_longs(void **state)
{
	pol_set_t *set = parse_ok("permit(principal, action, resource) when { -9223372036854775808 };"
				  "permit(principal, action, resource) when { 9223372036854775807 };"
				  "permit(principal, action, resource) when { 007 };");
	assert_int_equal(set->policy[0].cond[0].expr->kind, POL_E_LONG);
	assert_true(set->policy[0].cond[0].expr->u.l == INT64_MIN);
	assert_true(set->policy[1].cond[0].expr->u.l == INT64_MAX);
	assert_true(set->policy[2].cond[0].expr->u.l == 7);
	pol_set_free(set);
}

static void test_string_escapes(void **state)
{
	pol_set_t *set = parse_ok("permit(principal, action, resource) when { "
				  "\"a\\n\\r\\t\\\\\\0\\'\\\"\\u{e9}\\u{1F600}\\x41\" };");
	const pol_expr_t *e = cond0(set);
	static const char want[] = "a\n\r\t\\\0'\"\xc3\xa9\xf0\x9f\x98\x80" "A";
	assert_int_equal(e->kind, POL_E_STRING);
	assert_int_equal(e->str.len, sizeof want - 1);
	assert_memory_equal(e->str.p, want, sizeof want - 1);
	pol_set_free(set);
}

static void test_like_pattern(void **state)
{
	pol_set_t *set = parse_ok("permit(principal, action, resource) when { "
				  "context.p like \"a*b\\*c**\" };");
	const pol_expr_t *e = cond0(set);
	assert_int_equal(e->kind, POL_E_LIKE);
	assert_int_equal(e->u.pat->n, 4);
	assert_string_equal(e->u.pat->lit[0].p, "a");
	assert_string_equal(e->u.pat->lit[1].p, "b*c");
	assert_int_equal(e->u.pat->lit[2].len, 0);
	assert_int_equal(e->u.pat->lit[3].len, 0);
	pol_set_free(set);
}

static void test_entities_and_calls(void **state)
{
	pol_set_t *set = parse_ok("permit(principal, action, resource) when { "
				  "principal == A :: B :: \"x\\ty\" && ip(\"::1\").isLoopback() };");
	const pol_expr_t *e = cond0(set);
	assert_int_equal(e->kind, POL_E_AND);
	const pol_expr_t *eq = e->kid[0];
	assert_int_equal(eq->kid[1]->kind, POL_E_ENTITY);
	assert_string_equal(eq->kid[1]->u.euid->type.p, "A::B");
	assert_string_equal(eq->kid[1]->u.euid->id.p, "x\ty");
	const pol_expr_t *m = e->kid[1];
	assert_int_equal(m->kind, POL_E_METHOD);
	assert_int_equal(m->u.fn, POL_FN_IS_LOOPBACK);
	assert_int_equal(m->n, 1);
	assert_int_equal(m->kid[0]->kind, POL_E_CALL);
	assert_int_equal(m->kid[0]->u.fn, POL_FN_IP);
	pol_set_free(set);
}

/* ---- refusals -------------------------------------------------------- */

static void test_refusals(void **state)
{
	parse_bad("permit(principal, action, resource)\npermit(principal, action, resource);", 2, 1,
		  "expected 'when', 'unless' or ';' at the end of the policy, found `permit`");
	parse_bad("permit(principal, action, resource) when { true }", 1, 50,
		  "expected ';' at the end of the policy, found end of input");
	parse_bad("permit(\n  principal == User,\n  action, resource);", 2, 16,
		  "expected an entity like Type::\"id\"");
	parse_bad("permit(principal action, resource);", 1, 18,
		  "expected ',' after the principal constraint, found `action`");
	parse_bad("permit(action, principal, resource);", 1, 8, "expected 'principal'");
	parse_bad("permit(principal, action, resource) when { \"abc };", 1, 44, "unterminated string");
	parse_bad("permit(principal, action, resource)\nwhen { context.a == \"x\\qy\" };", 2, 23,
		  "bad escape");
	parse_bad("permit(principal, action, resource) when { \"\\u{110000}\" };", 1, 45, "scalar");
	parse_bad("permit(principal, action, resource) when { \"\\u{d800}\" };", 1, 45, "scalar");
	parse_bad("permit(principal, action, resource) when { 9223372036854775808 };", 1, 44,
		  "out of range");
	parse_bad("permit(principal, action, resource) when { -9223372036854775809 };", 1, 44,
		  "out of range");
	parse_bad("permit(principal, action, resource) when { 1 = 1 };", 1, 46, "unknown operator '='");
	parse_bad("permit(principal, action, resource) when { 1 & 1 };", 1, 46, "use '&&'");
	parse_bad("permit(principal, action, resource) when { 1 / 1 };", 1, 46, "no division");
	parse_bad("permit(principal, action, resource) when { 1 < 2 < 3 };", 1, 50, "chained");
	parse_bad("permit(principal, action, resource) when { };", 1, 44, "condition is empty");
	parse_bad("permit(principal == ?principal, action, resource);", 1, 21, "templates");
	parse_bad("permit(principal, action == User::\"a\", resource);", 1, 29, "type Action");
	parse_bad("permit(principal, action, resource) when { foo };", 1, 44, "unknown variable `foo`");
	parse_bad("permit(principal, action, resource) when { nope(1) };", 1, 44, "unknown function");
	parse_bad("permit(principal, action, resource) when { [].frob() };", 1, 47, "unknown method");
	parse_bad("permit(principal, action, resource) when { [].contains(1, 2) };", 1, 47,
		  "takes 1 argument, found 2");
	parse_bad("permit(principal, action, resource) when { {a: 1, a: 2} };", 1, 44, "field `a` twice");
	parse_bad("@id(\"x\") permit(principal, action, resource);\n@id(\"x\") permit(principal, action, resource);",
		  2, 1, "two policies have the id `x`");
	parse_bad("@a(\"1\") @a(\"2\") permit(principal, action, resource);", 1, 1, "@a twice");
	parse_bad("allow(principal, action, resource);", 1, 1, "expected 'permit' or 'forbid'");
	parse_bad("permit(principal, action, resource) when { context[1] };", 1, 52, "string attribute");
	parse_bad("permit(principal, action, resource) when { 1 + if true then 1 else 2 };", 1, 48,
		  "in parentheses");
	parse_bad("permit(principal, action, resource) when { principal is if };", 1, 57, "reserved");
	parse_bad("permit(principal, action, resource) when { \"\xff\" };", 1, 45, "UTF-8");
	parse_bad("permit(principal, action, resource) when { \"\xc3\xa9\" ++ };", 1, 49,
		  "expected an expression");
}

/* ---- limits ---------------------------------------------------------- */

/* "permit(...) when { " + prefix x n + core + suffix x n + " };" */
static char *bomb(const char *prefix, const char *core, const char *suffix, int n)
{
	size_t len = 64 + strlen(core) + (strlen(prefix) + strlen(suffix)) * (size_t)n;
	char *s = malloc(len);
	assert_non_null(s);
	strcpy(s, "permit(principal, action, resource) when { ");
	for (int i = 0; i < n; i++)
		strcat(s, prefix);
	strcat(s, core);
	for (int i = 0; i < n; i++)
		strcat(s, suffix);
	strcat(s, " };");
	return s;
}

static void expect_too_deep(char *text)
{
	pol_set_t *set = NULL;
	pol_error_t err;
	if (pol_parse(text, strlen(text), &set, &err) == 0)
		fail_msg("accepted a bomb of %zu bytes", strlen(text));
	tu_assert_why(err.message, "nests too deeply");
	free(text);
}

static void test_depth_limits(void **state)
{
	int deep = TG_MAX_POLICY_DEPTH * 4;
	expect_too_deep(bomb("(", "1", ")", deep));
	expect_too_deep(bomb("[", "1", "]", deep));
	expect_too_deep(bomb("!(", "true", ")", deep));
	expect_too_deep(bomb("-(", "1", ")", deep));
	expect_too_deep(bomb("!!!!(", "true", ")", deep));
	expect_too_deep(bomb("", "context has a", ".a", deep));
	expect_too_deep(bomb("if true then ", "1", " else 2", deep));
	expect_too_deep(bomb("", "1", " + 1", deep));
	expect_too_deep(bomb("", "context", ".a", deep));
	expect_too_deep(bomb("{a: ", "1", "}", deep));
	expect_too_deep(bomb("ip(", "\"x\"", ")", deep));

	/* Within the limit, and long flat chains, are fine. */
	pol_set_t *set;
	char *ok = bomb("(", "1", ")", TG_MAX_POLICY_DEPTH / 2);
	pol_set_free(parse_ok(ok));
	free(ok);
	/* Regression (fuzz): the dump of a tree at the depth limit, which adds
	 * parentheses, must parse again. */
	ok = bomb("-(", "false", ")", TG_MAX_POLICY_DEPTH - 1);
	set = parse_ok(ok);
	assert_int_equal(cond0(set)->depth, TG_MAX_POLICY_DEPTH);
	size_t need = pol_policy_dump(&set->policy[0], NULL, 0);
	char *dump = malloc(need + 1);
	assert_non_null(dump);
	pol_policy_dump(&set->policy[0], dump, need + 1);
	pol_set_free(set);
	pol_set_free(parse_ok(dump));
	free(dump);
	free(ok);
	ok = bomb("", "true", " || true", 10000);
	set = parse_ok(ok);
	assert_int_equal(cond0(set)->n, 10001);
	pol_set_free(set);
	free(ok);
}

/* ---- what the reference (cedar-wasm 4.13) accepts and refuses -------- */

#define COND_PREFIX "permit(principal, action, resource) when { "

/* The condition expr refused at line 1, at character offset `at` of expr
 * (0-based), with a message containing needle. */
static void expr_bad(const char *expr, unsigned at, const char *needle)
{
	char text[1200];
	snprintf(text, sizeof text, COND_PREFIX "%s };", expr);
	parse_bad(text, 1, (unsigned)strlen(COND_PREFIX) + 1 + at, needle);
}

static void expr_ok(const char *expr)
{
	char text[1200];
	snprintf(text, sizeof text, COND_PREFIX "%s };", expr);
	pol_set_free(parse_ok(text));
}

static const char *const reserved_words[] = {
	"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar",
};

/* Regressions 0001-0003: a reserved word names no attribute after '.'
 * (nor a method) or 'has' (anywhere in a path), and no record field,
 * unless quoted; other keywords of the language are ordinary names. */
static void test_reserved_words(void **state)
{
	char e[128], want[64];
	for (size_t i = 0; i < sizeof reserved_words / sizeof reserved_words[0]; i++) {
		const char *w = reserved_words[i];
		snprintf(want, sizeof want, "`%s` is a reserved word", w);
		snprintf(e, sizeof e, "context.%s == 1", w);
		expr_bad(e, 8, want);
		snprintf(e, sizeof e, "context.%s(1)", w);
		expr_bad(e, 8, want);
		snprintf(e, sizeof e, "context has %s", w);
		expr_bad(e, 12, want);
		snprintf(e, sizeof e, "context has a.%s", w);
		expr_bad(e, 14, want);
		snprintf(e, sizeof e, "context has %s.a", w);
		expr_bad(e, 12, want);
		snprintf(e, sizeof e, "{a: 1, %s: 1} == {}", w);
		expr_bad(e, 7, want);
		snprintf(e, sizeof e, "{a: 1, %s: 1} == {}", w);
		expr_bad(e, 7, "unless quoted");
		/* Quoted, any name will do. */
		snprintf(e, sizeof e, "context has \"%s\" && context[\"%s\"] == {\"%s\": 1}", w, w, w);
		expr_ok(e);
		snprintf(e, sizeof e, "@%s(\"x\") permit(principal, action, resource);", w);
		pol_set_free(parse_ok(e));
	}
	parse_bad("permit(principal, action, resource)\n  when { context.a.then };", 2, 20,
		  "`then` is a reserved word and cannot be an attribute name");
	expr_bad("{then: 1} == {}", 1, "`then` is a reserved word and cannot be a field name");
	expr_bad("context has is", 12, "`is` is a reserved word");
	static const char *const plain[] = {"principal", "action", "resource", "context", "permit",
					    "forbid", "when", "unless", "contains", "__cedarx", "x__cedar"};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
		const char *w = plain[i];
		snprintf(e, sizeof e, "context.%s == 1 && context has %s && context has a.%s.b && {%s: 1} has %s",
			 w, w, w, w, w);
		expr_ok(e);
	}
	assert_tree("context[\"if\"] == {\"in\": 1}", "(context[\"if\"] == {\"in\": 1})");
}

/* Regression 0004: `e has a.b.c` is `e has a && e.a has b && e.a.b has c`,
 * one n-ary && whose receivers share e and each other. */
static void test_has_paths(void **state)
{
	assert_tree("context has a.b.c",
		    "((context has \"a\") && (context.a has \"b\") && (context.a.b has \"c\"))");
	assert_tree("principal has owner . n", "((principal has \"owner\") && (principal.owner has \"n\"))");
	assert_tree("true && context has a.b || false",
		    "((true && ((context has \"a\") && (context.a has \"b\"))) || false)");
	assert_tree("(context has a.b) has c",
		    "(((context has \"a\") && (context.a has \"b\")) has \"c\")");
	assert_tree("context.x has a", "(context.x has \"a\")");
	assert_tree("context has \"a.b\"", "(context has \"a.b\")");

	pol_set_t *set = parse_ok(COND_PREFIX "context has a.b.c };");
	const pol_expr_t *e = cond0(set);
	assert_int_equal(e->kind, POL_E_AND);
	assert_int_equal(e->n, 3);
	assert_int_equal(e->depth, 5);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(e->kid[i]->kind, POL_E_HAS);
		assert_int_equal(e->kid[i]->line, 1);
		assert_int_equal(e->kid[i]->column, 44);
	}
	assert_string_equal(e->kid[2]->str.p, "c");
	const pol_expr_t *ab = e->kid[2]->kid[0];
	assert_int_equal(ab->kind, POL_E_ATTR);
	assert_string_equal(ab->str.p, "b");
	assert_ptr_equal(ab->kid[0], e->kid[1]->kid[0]);
	assert_ptr_equal(ab->kid[0]->kid[0], e->kid[0]->kid[0]);
	assert_int_equal(ab->kid[0]->kid[0]->kind, POL_E_VAR);
	pol_set_free(set);

	/* Only names joined by '.' or one string: as the reference refuses. */
	expr_bad("context has a.\"b\"", 14, "expected an attribute name after '.' in the `has` path");
	expr_bad("context has a.", 15, "expected an attribute name after '.' in the `has` path");
	expr_bad("context has a..b", 14, "after '.' in the `has` path");
	expr_bad("context has \"a\".b", 15, "the right side of 'has' must be");
	expr_bad("context has a[\"b\"]", 13, "found '[' after it");
	expr_bad("context has a.b(1)", 15, "found '(' after it");
	expr_bad("context has a.contains(1)", 22, "found '(' after it");
	expr_bad("context has a::b", 13, "found '::' after it");
	expr_bad("context has a.b + 1", 16, "found '+' after it");
	expr_bad("context has a - 1", 14, "found '-' after it");
	expr_bad("context has (a)", 12, "expected an attribute name, a path like a.b or a string after 'has'");
	expr_bad("context has 1", 12, "after 'has'");
	expr_bad("context has a.b == true", 16, "cannot be chained");
	expr_bad("context has a.b has c", 16, "cannot be chained");
}

/* The receiver of a path is evaluated once per name, and receivers may
 * hold paths themselves; depth and the repetition budget keep that
 * bounded. */
static void test_has_path_limits(void **state)
{
	char *text = bomb("", "context has a", ".a", TG_MAX_POLICY_DEPTH - 3);
	pol_set_t *set = parse_ok(text);
	assert_int_equal(cond0(set)->depth, TG_MAX_POLICY_DEPTH);
	assert_int_equal(cond0(set)->n, TG_MAX_POLICY_DEPTH - 2);
	pol_set_free(set);
	free(text);
	expect_too_deep(bomb("", "context has a", ".a", TG_MAX_POLICY_DEPTH - 2));

	/* Each level repeats the one below three times: 3^n node visits. */
	text = bomb("(if ", "context", " has a.b.c then context else context)", 8);
	pol_set_free(parse_ok(text));
	free(text);
	text = bomb("(if ", "context", " has a.b.c then context else context)", 24);
	pol_error_t err;
	assert_int_equal(pol_parse(text, strlen(text), &set, &err), -1);
	tu_assert_why(err.message, "repeats x too often");
	free(text);
}

/* Regression 0005: one trailing comma after set elements, function and
 * method arguments, record fields, actions and the scope; never a comma
 * alone, nor two. */
static void test_trailing_commas(void **state)
{
	assert_tree("[1, 2,].contains(1,)", "[1, 2].contains(1)");
	assert_tree("ip(\"10.0.0.1\",).isIpv4()", "ip(\"10.0.0.1\").isIpv4()");
	assert_tree("[[1],].containsAll([1],) && {a: 1,} == {\"b\": 2,}",
		    "([[1]].containsAll([1]) && ({\"a\": 1} == {\"b\": 2}))");
	pol_set_t *set = parse_ok("permit(principal, action, resource,);\n"
				  "permit(principal == A::\"a\", action in [Action::\"r\",], resource is R in R::\"r\",)"
				  " when { true };");
	assert_int_equal(set->n, 2);
	assert_int_equal(set->policy[1].resource.op, POL_SCOPE_IS_IN);
	assert_int_equal(set->policy[1].action.n, 1);
	pol_set_free(set);

	expr_bad("[,] == []", 1, "expected an expression, found ','");
	expr_bad("[1,,] == [1]", 3, "expected an expression, found ','");
	expr_bad("ip(,).isIpv4()", 3, "expected an expression, found ','");
	expr_bad("ip(\"a\",,).isIpv4()", 7, "expected an expression, found ','");
	expr_bad("[1].contains(,)", 13, "expected an expression, found ','");
	expr_bad("[1].isEmpty(,)", 12, "expected an expression, found ','");
	expr_bad("{,} == {}", 1, "expected a field name in the record, found ','");
	expr_bad("{a: 1,,} == {}", 6, "expected a field name in the record, found ','");
	parse_bad("permit(principal, action, resource,,);", 1, 36, "expected ')' after the resource constraint");
	parse_bad("permit(principal, action,);", 1, 26, "expected 'resource'");
	parse_bad("permit(principal, action, resource, context);", 1, 37,
		  "expected ')' after the resource constraint, found `context`");
	parse_bad("permit(principal, action in [,], resource);", 1, 30, "expected an action");
	parse_bad("@a(\"x\",) permit(principal, action, resource);", 1, 7,
		  "expected ')' after the annotation's value");
}

/* Regressions 0006-0007: at most four unary operators in a row, all the
 * same; '-' before a number counts as one of them though it folds into
 * the literal. */
static void test_unary_chains(void **state)
{
	assert_tree("!!!!true", "(!(!(!(!true))))");
	assert_tree("! ! ! ! true", "(!(!(!(!true))))");
	assert_tree("----1", "(-(-(-(-1))))");
	assert_tree("- -1", "(-(-1))");
	assert_tree("----9223372036854775808", "(-(-(-(-9223372036854775808))))");
	assert_tree("----context.a", "(-(-(-(-context.a))))");
	assert_tree("--1.foo", "(-(-1.foo))");
	assert_tree("!!!!(!!!!true)", "(!(!(!(!(!(!(!(!true))))))))");
	assert_tree("!(-1)", "(!(-1))");
	assert_tree("1 - ----1", "(1 - (-(-(-(-1)))))");

	pol_set_t *set = parse_ok(COND_PREFIX "--1 };");
	const pol_expr_t *e = cond0(set);
	assert_int_equal(e->kind, POL_E_NEG);
	assert_int_equal(e->column, 44);
	assert_int_equal(e->kid[0]->kind, POL_E_LONG);
	assert_int_equal(e->kid[0]->column, 45);
	assert_true(e->kid[0]->u.l == -1);
	pol_set_free(set);

	expr_bad("!!!!!true", 4, "too many `!` in a row: Cedar allows at most 4");
	expr_bad("!!!!!(true)", 4, "too many `!` in a row");
	expr_bad("-----1 == 1", 4, "too many `-` in a row");
	expr_bad("- - - - -1 == 1", 8, "too many `-` in a row");
	expr_bad("-----9223372036854775808 == 1", 4, "too many `-` in a row");
	expr_bad("1 - -----1 == 1", 8, "too many `-` in a row");
	expr_bad("!!true && !!!!!false", 14, "too many `!` in a row");
	expr_bad("!-!-true", 1, "`-` cannot follow `!` directly: use parentheses, as in !(-x)");
	expr_bad("-!false", 1, "`!` cannot follow `-` directly: use parentheses, as in -(!x)");
	expr_bad("!-(1 - 2)", 1, "`-` cannot follow `!`");
	expr_bad("!!-1", 2, "`-` cannot follow `!`");
	parse_bad("permit(principal, action, resource)\n  when {\n    !!\n    !!!true };", 4, 7,
		  "too many `!` in a row");
}

static void test_text_limit(void **state)
{
	size_t len = (size_t)TG_MAX_POLICY_TEXT + 1;
	char *text = malloc(len);
	pol_set_t *set = NULL;
	pol_error_t err;
	assert_non_null(text);
	memset(text, ' ', len);
	assert_int_equal(pol_parse(text, len, &set, &err), -1);
	tu_assert_why(err.message, "larger than the limit");
	assert_null(set);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_policies),
		cmocka_unit_test(test_conformance_corpus),
		cmocka_unit_test(test_multi_file_counts),
		cmocka_unit_test(test_empty_set),
		cmocka_unit_test(test_ids_and_annotations),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_precedence_table),
		cmocka_unit_test(test_longs),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_like_pattern),
		cmocka_unit_test(test_entities_and_calls),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_depth_limits),
		cmocka_unit_test(test_reserved_words),
		cmocka_unit_test(test_has_paths),
		cmocka_unit_test(test_has_path_limits),
		cmocka_unit_test(test_trailing_commas),
		cmocka_unit_test(test_unary_chains),
		cmocka_unit_test(test_text_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
