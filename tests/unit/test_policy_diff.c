/* test_policy_diff.c - per-policy-id differences between two Cedar sets
 * (src/core/policy_diff.c): added, removed and changed ids in id order;
 * layout and comments are not changes, annotations and conditions are; the
 * empty set on either side; positional ids; and the source span of each
 * policy (from its first annotation to the next policy, trailing blank and
 * comment lines trimmed, multi-byte characters counted as one column). */
#include "test_util.h"
#include "core/policy_diff.h"
#include <stdlib.h>
#include <string.h>

static pol_set_t *parse(const char *text)
{
	pol_set_t *set = NULL;
	pol_error_t err;
	if (pol_parse(text, strlen(text), &set, &err) != 0)
		fail_msg("refused %s\n  %s", text, err.message);
	return set;
}

static const char *id_of(const pol_set_t *s, size_t i)
{
	return s->policy[i].id.p;
}

static const char A[] =
	"@id(\"read\")\npermit(principal, action == Action::\"r\", resource);\n"
	"@id(\"write\")\n@max_ttl(\"60\")\npermit(principal, action == Action::\"w\", resource);\n"
	"@id(\"gone\")\nforbid(principal, action, resource) when { context.x == 1 };\n";

static const char B[] =
	"// the same read policy, laid out differently\n"
	"@id(\"read\")\npermit(principal,\n       action == Action::\"r\",\n       resource);\n\n"
	"@id(\"write\")\n@max_ttl(\"30\")\npermit(principal, action == Action::\"w\", resource);\n"
	"@id(\"new-b\")\npermit(principal, action, resource == Api::\"b\");\n"
	"@id(\"new-a\")\npermit(principal, action, resource == Api::\"a\");\n";

static void test_added_removed_changed(void **state)
{
	(void)state;
	pol_set_t *a = parse(A), *b = parse(B);
	pol_diff_t d;
	assert_int_equal(pol_diff(a, b, &d), 0);
	assert_int_equal(d.nadded, 2);
	assert_string_equal(id_of(b, d.added[0]), "new-a"); /* id order, not text order */
	assert_string_equal(id_of(b, d.added[1]), "new-b");
	assert_int_equal(d.nremoved, 1);
	assert_string_equal(id_of(a, d.removed[0]), "gone");
	assert_int_equal(d.nchanged, 1); /* "read" differs only in layout */
	assert_string_equal(id_of(a, d.changed[0].old_i), "write");
	assert_string_equal(id_of(b, d.changed[0].new_i), "write");
	pol_diff_free(&d);
	/* And the other way round. */
	assert_int_equal(pol_diff(b, a, &d), 0);
	assert_int_equal(d.nadded, 1);
	assert_int_equal(d.nremoved, 2);
	assert_int_equal(d.nchanged, 1);
	pol_diff_free(&d);
	pol_set_free(a);
	pol_set_free(b);
}

static void test_identical_and_empty(void **state)
{
	(void)state;
	pol_set_t *a = parse(A), *a2 = parse(A), *empty = parse("");
	pol_diff_t d;
	assert_int_equal(pol_diff(a, a2, &d), 0);
	assert_int_equal(d.nadded + d.nremoved + d.nchanged, 0);
	pol_diff_free(&d);
	assert_int_equal(pol_diff(NULL, a, &d), 0);
	assert_int_equal(d.nadded, 3);
	assert_int_equal(d.nremoved + d.nchanged, 0);
	pol_diff_free(&d);
	assert_int_equal(pol_diff(a, empty, &d), 0);
	assert_int_equal(d.nremoved, 3);
	pol_diff_free(&d);
	assert_int_equal(pol_diff(NULL, NULL, &d), 0);
	assert_int_equal(d.nadded + d.nremoved + d.nchanged, 0);
	pol_diff_free(&d);
	pol_set_free(a);
	pol_set_free(a2);
	pol_set_free(empty);
}

static void test_conditions_and_annotations_count(void **state)
{
	(void)state;
	pol_set_t *a = parse("@id(\"p\")\npermit(principal, action, resource) when { 1 < 2 };");
	pol_set_t *b = parse("@id(\"p\")\npermit(principal, action, resource) when { 1 <= 2 };");
	pol_set_t *c = parse("@id(\"p\")\n@audit(\"full\")\npermit(principal, action, resource) when { 1 < 2 };");
	pol_set_t *d2 = parse("@id(\"p\")\nforbid(principal, action, resource) when { 1 < 2 };");
	pol_diff_t d;
	const pol_set_t *others[] = {b, c, d2};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(pol_diff(a, others[i], &d), 0);
		assert_int_equal(d.nchanged, 1);
		assert_int_equal(d.nadded + d.nremoved, 0);
		pol_diff_free(&d);
	}
	pol_set_free(a);
	pol_set_free(b);
	pol_set_free(c);
	pol_set_free(d2);
}

static void test_positional_ids(void **state)
{
	(void)state;
	/* Without @id, inserting a policy renames those after it. */
	pol_set_t *a = parse("permit(principal, action == Action::\"x\", resource);");
	pol_set_t *b = parse("forbid(principal, action, resource == Api::\"y\");\n"
			     "permit(principal, action == Action::\"x\", resource);");
	pol_diff_t d;
	assert_int_equal(pol_diff(a, b, &d), 0);
	assert_int_equal(d.nadded, 1);
	assert_string_equal(id_of(b, d.added[0]), "policy1");
	assert_int_equal(d.nchanged, 1); /* policy0 is now the forbid */
	pol_diff_free(&d);
	pol_set_free(a);
	pol_set_free(b);
}

static char *span(const char *text, const pol_set_t *s, size_t i)
{
	size_t start, end;
	pol_policy_span(text, strlen(text), s, i, &start, &end);
	char *out = malloc(end - start + 1);
	assert_non_null(out);
	memcpy(out, text + start, end - start);
	out[end - start] = '\0';
	return out;
}

static void test_spans(void **state)
{
	(void)state;
	static const char text[] =
		"// header comment\n"
		"@id(\"a\")\n@max_ttl(\"5\")\npermit(principal, action, resource == Api::\"\xc3\xa4\");\n\n"
		"  // introduces b\n"
		"\t@id(\"b\") forbid(principal, action, resource);   permit(principal, action, resource == Api::\"c\");\n\n";
	pol_set_t *s = parse(text);
	assert_int_equal(s->n, 3);
	char *a = span(text, s, 0), *b = span(text, s, 1), *c = span(text, s, 2);
	assert_string_equal(a, "@id(\"a\")\n@max_ttl(\"5\")\npermit(principal, action, resource == Api::\"\xc3\xa4\");");
	assert_string_equal(b, "@id(\"b\") forbid(principal, action, resource);");
	assert_string_equal(c, "permit(principal, action, resource == Api::\"c\");");
	free(a);
	free(b);
	free(c);
	pol_set_free(s);
}

static void test_render(void **state)
{
	(void)state;
	pol_set_t *s = parse("@id(\"x\") permit(principal, action, resource) when { 1 + 2 * 3 == 7 };");
	char *r = pol_policy_render(&s->policy[0]);
	assert_non_null(r);
	pol_set_t *again = parse(r); /* the rendering parses back to the same tree */
	pol_diff_t d;
	assert_int_equal(pol_diff(s, again, &d), 0);
	assert_int_equal(d.nadded + d.nremoved + d.nchanged, 0);
	pol_diff_free(&d);
	free(r);
	pol_set_free(again);
	pol_set_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_added_removed_changed),
		cmocka_unit_test(test_identical_and_empty),
		cmocka_unit_test(test_conditions_and_annotations_count),
		cmocka_unit_test(test_positional_ids),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
