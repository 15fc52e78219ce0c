/* test_policy_lint.c - the policy linter (src/core/policy/lint.c): for each
 * check a set that triggers it and one that must not (unknown entity types
 * in scopes and expressions, once per policy; conditions that are never
 * true or always true for unless; `action in []`; permits without a
 * resource constraint; permits an unconditional forbid shadows, scope form
 * by scope form; the skipped shadowed check on a huge set); findings in
 * source order with their places, ids and codes; text that does not parse
 * or compile as one error; messages cut at whole UTF-8 characters. */
#include "test_util.h"
#include "core/policy/lint.h"
#include "core/policy/text.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The findings of text, which must parse and compile. */
static pol_findings_t lint(const char *text)
{
	pol_findings_t f;
	size_t n = 0;
	assert_int_equal(pol_lint_text(text, strlen(text), &f, &n), 0);
	if (f.errors > 0)
		fail_msg("refused %s\n  %s", text, f.item[0].message);
	return f;
}

static size_t count(const pol_findings_t *f, const char *code)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += strcmp(f->item[i].code, code) == 0;
	return n;
}

/* The only finding with code for policy id (fails when there is not
 * exactly one). */
static const pol_finding_t *the(const pol_findings_t *f, const char *code, const char *id)
{
	const pol_finding_t *found = NULL;
	for (size_t i = 0; i < f->n; i++) {
		const pol_finding_t *x = &f->item[i];
		if (strcmp(x->code, code) != 0 || x->policy == NULL || strcmp(x->policy, id) != 0)
			continue;
		if (found != NULL)
			fail_msg("two %s findings for %s", code, id);
		found = x;
	}
	if (found == NULL)
		fail_msg("no %s finding for %s", code, id);
	return found;
}

/* Asserts that text has no finding with code. */
static void none(const char *code, const char *text)
{
	pol_findings_t f = lint(text);
	if (count(&f, code) != 0)
		fail_msg("%s found in %s: %s", code, text, f.item[0].message);
	pol_findings_free(&f);
}

static void test_unknown_entity_type(void **state)
{
	(void)state;
	pol_findings_t f = lint("@id(\"a\")\npermit(principal is Workloda, action, resource == Devise::\"x\")\n"
				"  when { context.z == Zonee::\"q\" && resource is Foo && principal is Foo };\n");
	assert_int_equal(count(&f, "unknown-entity-type"), 4); /* Foo once */
	const pol_finding_t *w = &f.item[0];
	assert_int_equal(w->severity, POL_LINT_WARNING);
	assert_string_equal(w->policy, "a");
	assert_int_equal(w->line, 1); /* scope types at the policy (its first annotation) */
	assert_int_equal(w->column, 1);
	assert_non_null(strstr(w->message, "unknown entity type `Workloda`"));
	assert_non_null(strstr(f.item[1].message, "`Devise`"));
	assert_int_equal(f.item[2].line, 3); /* expression literals where they are */
	assert_int_equal(f.item[2].column, 23);
	assert_non_null(strstr(f.item[2].message, "`Zonee`"));
	assert_non_null(strstr(f.item[3].message, "`Foo`"));
	assert_int_equal(f.warnings, 4);
	pol_findings_free(&f);
	/* Each policy reports its own. */
	f = lint("permit(principal is Foo, action, resource is Device);\n"
		 "permit(principal is Foo, action, resource is Device);\n");
	assert_int_equal(count(&f, "unknown-entity-type"), 2);
	pol_findings_free(&f);
	none("unknown-entity-type",
	     "permit(principal is Workload, action in [Action::\"a\"], resource in Zone::\"z\")\n"
	     "  when { context.o == Operator::\"x\" || resource is Device || resource is Api || "
	     "principal in Role::\"r\" || resource == Secret::\"s\" };\n");
}

static void test_never_true(void **state)
{
	(void)state;
	static const char *const dead[] = {
		"when { false }",
		"unless { true }",
		"when { 1 }",
		"when { principal }",
		"when { \"yes\" }",
		"when { 1 == 2 }",
		"when { Api::\"a\" != Api::\"a\" }",
		"when { ip(\"10.0.0.1\") }",
		"when { if true then false else true }",
		"when { context.x && false }",
		"when { false || [1] }",
		"unless { !false }",
		"when { context.ok } when { false }",
	};
	for (size_t i = 0; i < sizeof dead / sizeof dead[0]; i++) {
		char text[256];
		snprintf(text, sizeof text, "@id(\"p\")\npermit(principal, action, resource == Api::\"a\") %s;", dead[i]);
		pol_findings_t f = lint(text);
		const pol_finding_t *w = the(&f, "never-true", "p");
		assert_int_equal(w->line, 2);
		assert_int_equal(w->column, 56 + (strncmp(dead[i], "when { context.ok }", 19) == 0 ? 20 : 0) +
						    (dead[i][0] == 'u' ? 2 : 0));
		assert_non_null(strstr(w->message, dead[i][0] == 'u' ? "`unless` condition is always true"
								       : "`when` condition is never true"));
		assert_int_equal(f.n, 1);
		pol_findings_free(&f);
	}
	static const char *const alive[] = {
		"when { true }",
		"unless { false }",
		"when { 1 == 1 }",
		"when { context.hour < 6 }",
		"unless { context.blocked }",
		"when { context.x || false }",
		"when { if context.a then true else false }",
		"when { principal in Role::\"r\" }",
		"when { ip(\"10.0.0.1\").isLoopback() }",
	};
	for (size_t i = 0; i < sizeof alive / sizeof alive[0]; i++) {
		char text[256];
		snprintf(text, sizeof text, "permit(principal, action, resource == Api::\"a\") %s;", alive[i]);
		none("never-true", text);
	}
}

static void test_empty_action_set(void **state)
{
	(void)state;
	pol_findings_t f = lint("@id(\"none\")\nforbid(principal, action in [], resource);");
	const pol_finding_t *w = the(&f, "empty-action-set", "none");
	assert_int_equal(w->line, 1);
	assert_int_equal(w->column, 1);
	assert_non_null(strstr(w->message, "`action in []` matches no action"));
	pol_findings_free(&f);
	/* A condition that never holds is reported instead, not both. */
	f = lint("forbid(principal, action in [], resource) when { false };");
	assert_int_equal(count(&f, "empty-action-set"), 0);
	assert_int_equal(count(&f, "never-true"), 1);
	pol_findings_free(&f);
	none("empty-action-set", "forbid(principal, action in [Action::\"a\"], resource);");
}

static void test_unconstrained_resource(void **state)
{
	(void)state;
	pol_findings_t f = lint("@id(\"wide\")\npermit(principal == Workload::\"w\", action, resource);");
	const pol_finding_t *w = the(&f, "unconstrained-resource", "wide");
	assert_int_equal(w->line, 1);
	assert_non_null(strstr(w->message, "least privilege"));
	pol_findings_free(&f);
	none("unconstrained-resource", "forbid(principal, action, resource);");
	none("unconstrained-resource", "permit(principal, action, resource is Device);");
	none("unconstrained-resource", "permit(principal, action, resource in Zone::\"z\");");
	none("unconstrained-resource", "permit(principal, action, resource == Api::\"a\");");
}

/* Is the permit (the set's second policy) shadowed by the forbid (first)? */
static bool shadowed(const char *forbid, const char *permit)
{
	char text[512];
	snprintf(text, sizeof text, "@id(\"f\")\n%s\n@id(\"p\")\n%s\n", forbid, permit);
	pol_findings_t f = lint(text);
	bool yes = count(&f, "shadowed") > 0;
	if (yes) {
		const pol_finding_t *w = the(&f, "shadowed", "p");
		assert_int_equal(w->line, 3);
		assert_non_null(strstr(w->message, "denied by forbid `f` (line 1), which has no conditions"));
	}
	pol_findings_free(&f);
	return yes;
}

static void test_shadowed(void **state)
{
	(void)state;
	const char *p_w = "permit(principal == Workload::\"w\", action == Action::\"a\", resource == Device::\"d\");";
	/* Forbids whose scope holds the permit's. */
	assert_true(shadowed("forbid(principal, action, resource);", p_w));
	assert_true(shadowed("forbid(principal is Workload, action, resource);", p_w));
	assert_true(shadowed("forbid(principal in Workload::\"w\", action, resource);", p_w));
	assert_true(shadowed("forbid(principal is Workload in Workload::\"w\", action, resource);", p_w));
	assert_true(shadowed("forbid(principal, action in [Action::\"b\", Action::\"a\"], resource);", p_w));
	assert_true(shadowed("forbid(principal, action, resource == Device::\"d\") when { true };", p_w));
	assert_true(shadowed("forbid(principal, action, resource) unless { false };", p_w));
	assert_true(shadowed("forbid(principal, action, resource in Zone::\"z\");",
			     "permit(principal, action, resource in Zone::\"z\");"));
	assert_true(shadowed("forbid(principal, action in [Action::\"a\", Action::\"b\"], resource);",
			     "permit(principal, action in [Action::\"a\"], resource == Api::\"x\");"));
	assert_true(shadowed("forbid(principal is Workload, action, resource);",
			     "permit(principal is Workload in Role::\"r\", action, resource == Api::\"x\");"));
	/* Forbids that do not. */
	assert_false(shadowed("forbid(principal, action, resource) when { context.night };", p_w));
	assert_false(shadowed("forbid(principal, action, resource) when { false };", p_w)); /* dead */
	assert_false(shadowed("forbid(principal == Workload::\"x\", action, resource);", p_w));
	assert_false(shadowed("forbid(principal is Operator, action, resource);", p_w));
	assert_false(shadowed("forbid(principal, action, resource == Device::\"d\");",
			      "permit(principal, action, resource in Zone::\"z\");"));
	assert_false(shadowed("forbid(principal, action in [Action::\"a\"], resource);",
			      "permit(principal, action in [Action::\"a\", Action::\"c\"], resource == Api::\"x\");"));
	assert_false(shadowed("forbid(principal, action, resource in Zone::\"z\");",
			      "permit(principal, action, resource is Device);"));
	assert_false(shadowed("forbid(principal == Workload::\"w\", action, resource);",
			      "permit(principal in Workload::\"w\", action, resource == Api::\"x\");"));
	/* A permit that never applies is reported once, as such. */
	pol_findings_t f = lint("forbid(principal, action, resource);\n"
				"permit(principal, action, resource == Api::\"a\") when { false };\n");
	assert_int_equal(count(&f, "shadowed"), 0);
	assert_int_equal(count(&f, "never-true"), 1);
	pol_findings_free(&f);
}

/* n unconditional forbids and n permits, each permit shadowed. */
static char *pairs(size_t n)
{
	static const char line[] = "forbid(principal, action, resource == Api::\"a\");\n"
				   "permit(principal, action, resource == Api::\"a\");\n";
	char *text = malloc(n * (sizeof line - 1) + 1);
	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		memcpy(text + i * (sizeof line - 1), line, sizeof line - 1);
	text[n * (sizeof line - 1)] = '\0';
	return text;
}

static void test_shadow_check_budget(void **state)
{
	(void)state;
	char *text = pairs(10001); /* 10001 x 10001 pairs: over the budget */
	pol_findings_t f = lint(text);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.notes, 1);
	assert_int_equal(f.warnings, 0);
	assert_int_equal(f.item[0].severity, POL_LINT_NOTE);
	assert_string_equal(f.item[0].code, "shadow-check-skipped");
	assert_null(f.item[0].policy);
	assert_int_equal(f.item[0].line, 0);
	assert_string_equal(f.item[0].message, "10001 unconditional forbids and 10001 permits; the check "
					       "for permits they shadow was skipped");
	pol_findings_free(&f);
	free(text);
	text = pairs(100); /* within it: every permit reported */
	f = lint(text);
	assert_int_equal(count(&f, "shadowed"), 100);
	assert_int_equal(f.notes, 0);
	pol_findings_free(&f);
	free(text);
}

static void test_source_order(void **state)
{
	(void)state;
	/* Found policy by policy, check by check; reported by place, notes
	 * (no place) first. */
	pol_findings_t f = lint("forbid(principal, action, resource);\n"
				"permit(principal is Foo, action, resource == Api::\"a\") when { Bar::\"x\" == Bar::\"x\" };\n"
				"permit(principal, action, resource) when { false };\n");
	assert_int_equal(f.n, 5);
	for (size_t i = 1; i < f.n; i++)
		assert_true(f.item[i - 1].line < f.item[i].line ||
			    (f.item[i - 1].line == f.item[i].line && f.item[i - 1].column <= f.item[i].column));
	assert_string_equal(f.item[0].code, "unknown-entity-type"); /* Foo at 2:1 */
	assert_string_equal(f.item[1].code, "shadowed");            /* 2:1 too, found later */
	assert_string_equal(f.item[2].code, "unknown-entity-type"); /* Bar at 2:63 */
	assert_int_equal(f.item[2].column, 63);
	assert_string_equal(f.item[3].code, "unconstrained-resource"); /* 3:1, found after 3:44 */
	assert_string_equal(f.item[4].code, "never-true");
	assert_string_equal(f.item[2].policy, "policy1");
	pol_findings_free(&f);
	/* An empty set, and a clean one. */
	f = lint("");
	assert_int_equal(f.n, 0);
	pol_findings_free(&f);
	f = lint("permit(principal, action, resource == Api::\"a\");");
	assert_int_equal(f.n + f.warnings + f.errors + f.notes, 0);
	pol_findings_free(&f);
}

static void test_errors(void **state)
{
	(void)state;
	pol_findings_t f;
	size_t n = 99;
	const char *bad = "permit(principal, action, resource)\n  when { context.x = 1 };\n";
	assert_int_equal(pol_lint_text(bad, strlen(bad), &f, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f.n, 1);
	assert_int_equal(f.errors, 1);
	assert_int_equal(f.item[0].severity, POL_LINT_ERROR);
	assert_string_equal(f.item[0].code, "parse");
	assert_int_equal(f.item[0].line, 2);
	assert_int_equal(f.item[0].column, 20);
	assert_null(f.item[0].policy);
	assert_true(strncmp(f.item[0].message, "line ", 5) != 0); /* the place is not repeated */
	pol_findings_free(&f);
	/* Malformed obligations: an error, and no warnings for that set. */
	const char *ttl = "@max_ttl(\"soon\")\npermit(principal, action, resource);\n";
	assert_int_equal(pol_lint_text(ttl, strlen(ttl), &f, &n), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.item[0].code, "annotation");
	assert_int_equal(f.item[0].line, 1);
	assert_non_null(strstr(f.item[0].message, "@max_ttl(\"soon\") must be a positive number of seconds"));
	pol_findings_free(&f);
	/* A good set counts its policies. */
	const char *good = "permit(principal, action, resource == Api::\"a\");\nforbid(principal, action, resource);";
	assert_int_equal(pol_lint_text(good, strlen(good), &f, &n), 0);
	assert_int_equal(n, 2);
	pol_findings_free(&f);
	/* Without the text: a parsed set. */
	pol_set_t *set = NULL;
	pol_error_t err;
	assert_int_equal(pol_parse(good, strlen(good), &set, &err), 0);
	assert_int_equal(pol_lint_set(set, &f), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(f.item[0].code, "shadowed");
	pol_findings_free(&f);
	pol_set_free(set);
}

static void test_message_bound(void **state)
{
	(void)state;
	/* An id of 300 two-byte characters (after 0 or 1 ASCII one), quoted in
	 * the message about the permit the forbid shadows: cut at 511 bytes,
	 * between characters. The permit's own id (as long) stays whole. */
	for (int lead = 0; lead < 2; lead++) {
		char id[640], text[1600], *p = id;
		p += sprintf(p, "%s", lead ? "x" : "");
		for (int i = 0; i < 300; i++)
			p += sprintf(p, "\xc3\xa9");
		snprintf(text, sizeof text,
			 "@id(\"%s\")\nforbid(principal, action, resource);\n"
			 "@id(\"p%s\")\npermit(principal, action, resource is Api);\n", id, id);
		pol_findings_t f = lint(text);
		char pid[641];
		snprintf(pid, sizeof pid, "p%s", id);
		const pol_finding_t *w = the(&f, "shadowed", pid);
		size_t len = strlen(w->message);
		assert_true(len <= POL_LINT_MAX_MESSAGE && len >= POL_LINT_MAX_MESSAGE - 3);
		assert_int_equal(pol_utf8_check(w->message, len), len);
		assert_int_equal(strlen(w->policy), 601 + (size_t)lead);
		pol_findings_free(&f);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pol_lint_severity_name(POL_LINT_ERROR), "error");
	assert_string_equal(pol_lint_severity_name(POL_LINT_WARNING), "warning");
	assert_string_equal(pol_lint_severity_name(POL_LINT_NOTE), "note");
	pol_error_t e = {.line = 3, .column = 4};
	snprintf(e.message, sizeof e.message, "line 3, column 4: expected ')'");
	assert_string_equal(pol_error_text(&e), "expected ')'");
	snprintf(e.message, sizeof e.message, "out of memory");
	assert_string_equal(pol_error_text(&e), "out of memory");
	pol_findings_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_entity_type),
		cmocka_unit_test(test_never_true),
		cmocka_unit_test(test_empty_action_set),
		cmocka_unit_test(test_unconstrained_resource),
		cmocka_unit_test(test_shadowed),
		cmocka_unit_test(test_shadow_check_budget),
		cmocka_unit_test(test_source_order),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_message_bound),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
