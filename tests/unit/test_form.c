/* test_form.c - the strict form-urlencoded parser (src/core/form.c):
 * '+' and %XX decoding, bad escapes, NUL bytes, repeated and empty names,
 * and the field count and size limits. */
#include "test_util.h"
#include "core/form.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void form_ok(const char *body, form_t *f)
{
	const char *why = NULL;
	if (form_parse(body, strlen(body), f, &why) != 0)
		fail_msg("form refused: %s: %s", body, why);
}

static void form_bad_n(const char *body, size_t len, const char *needle)
{
	form_t f;
	const char *why = NULL;
	if (form_parse(body, len, &f, &why) == 0)
		fail_msg("form accepted: %.80s", body);
	tu_assert_why(why, needle);
	assert_int_equal(f.n, 0);
}

static void form_bad(const char *body, const char *needle)
{
	form_bad_n(body, strlen(body), needle);
}

/* "k0=v&k1=v&..." with n fields (malloc'd). */
static char *n_fields(int n)
{
	char *s = calloc((size_t)n, 12);
	assert_non_null(s);
	for (int i = 0; i < n; i++) {
		char kv[16];
		snprintf(kv, sizeof kv, "%sk%d=v", i > 0 ? "&" : "", i);
		strcat(s, kv);
	}
	return s;
}

/* "k=" followed by a value of n bytes (malloc'd). */
static char *value_of(size_t n)
{
	char *s = malloc(n + 3);
	memcpy(s, "k=", 2);
	memset(s + 2, 'v', n);
	s[n + 2] = '\0';
	return s;
}

static void test_basic(void **state)
{
	form_t f;
	form_ok("grant_type=client_credentials&scope=a%40B%3Ac&client_id=svc-a", &f);
	assert_int_equal(f.n, 3);
	assert_string_equal(form_get(&f, "grant_type"), "client_credentials");
	assert_string_equal(form_get(&f, "scope"), "a@B:c");
	assert_string_equal(form_get(&f, "client_id"), "svc-a");
	assert_null(form_get(&f, "client_secret"));
	assert_null(form_get(&f, "Scope"));
	form_free(&f);
	assert_int_equal(f.n, 0);
}

static void test_plus_and_percent(void **state)
{
	form_t f;
	form_ok("a=x+y&b=x%2By&c=%4a%4A&d=%20&e%5F=1&f=%25", &f);
	assert_string_equal(form_get(&f, "a"), "x y");
	assert_string_equal(form_get(&f, "b"), "x+y");
	assert_string_equal(form_get(&f, "c"), "JJ");
	assert_string_equal(form_get(&f, "d"), " ");
	assert_string_equal(form_get(&f, "e_"), "1");
	assert_string_equal(form_get(&f, "f"), "%");
	form_free(&f);
}

static void test_empty_values_and_separators(void **state)
{
	form_t f;
	form_ok("&&a=&b&&c=x=y&", &f);
	assert_int_equal(f.n, 3);
	assert_string_equal(form_get(&f, "a"), "");
	assert_string_equal(form_get(&f, "b"), "");
	assert_string_equal(form_get(&f, "c"), "x=y");
	form_free(&f);
	form_ok("", &f);
	assert_int_equal(f.n, 0);
	form_free(&f);
}

static void test_bad_escapes(void **state)
{
	form_bad("a=%", "percent");
	form_bad("a=%4", "percent");
	form_bad("a=%zz", "percent");
	form_bad("a=%4g", "percent");
	form_bad("a=%g4", "percent");
	form_bad("a=x%", "percent");
	form_bad("%=1", "percent");
	form_bad("a%2=1", "percent");
	form_bad("a=%%41", "percent");
}

static void test_escape_at_end_of_field(void **state)
{
	/* The escape must lie inside its field, not borrow from the next. */
	form_bad("a=%4&1=x", "percent");
	form_bad("a=%&41", "percent");
}

static void test_nul_rejected(void **state)
{
	form_bad("a=%00", "NUL");
	form_bad("a=x%00y", "NUL");
	form_bad("%00=1", "NUL");
	form_bad_n("a=x\0y", 5, "NUL");
}

static void test_duplicates_rejected(void **state)
{
	form_bad("a=1&a=2", "more than once");
	form_bad("a=1&a=1", "more than once");
	form_bad("a=1&%61=2", "more than once");
	form_bad("a+b=1&a%20b=2", "more than once");
	form_bad("a&a", "more than once");
}

static void test_empty_name(void **state)
{
	form_bad("=x", "empty name");
	form_bad("a=1&=2", "empty name");
	form_bad("=", "empty name");
}

static void test_field_count_limit(void **state)
{
	form_t f;
	char *max = n_fields(TG_MAX_FORM_FIELDS), *over = n_fields(TG_MAX_FORM_FIELDS + 1);
	form_ok(max, &f);
	assert_int_equal(f.n, TG_MAX_FORM_FIELDS);
	form_free(&f);
	form_bad(over, "too many");
	free(max);
	free(over);
}

static void test_value_size_limit(void **state)
{
	form_t f;
	char *max = value_of(TG_MAX_FORM_VALUE), *over = value_of(TG_MAX_FORM_VALUE + 1);
	form_ok(max, &f);
	assert_int_equal(strlen(form_get(&f, "k")), TG_MAX_FORM_VALUE);
	form_free(&f);
	form_bad(over, "too long");
	free(max);
	free(over);
}

static void test_name_size_limit(void **state)
{
	char name[70];
	form_t f;
	memset(name, 'n', 64);
	strcpy(name + 64, "=v");
	form_ok(name, &f);
	form_free(&f);
	memset(name, 'n', 65);
	strcpy(name + 65, "=v");
	form_bad(name, "too long");
}

static void test_respects_length(void **state)
{
	form_t f;
	const char *why = NULL;
	assert_int_equal(form_parse("a=1&b=2", 3, &f, &why), 0);
	assert_int_equal(f.n, 1);
	assert_string_equal(form_get(&f, "a"), "1");
	form_free(&f);
	/* The cut falls inside an escape. */
	form_bad_n("a=%41", 4, "percent");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_plus_and_percent),
		cmocka_unit_test(test_empty_values_and_separators),
		cmocka_unit_test(test_bad_escapes),
		cmocka_unit_test(test_escape_at_end_of_field),
		cmocka_unit_test(test_nul_rejected),
		cmocka_unit_test(test_duplicates_rejected),
		cmocka_unit_test(test_empty_name),
		cmocka_unit_test(test_field_count_limit),
		cmocka_unit_test(test_value_size_limit),
		cmocka_unit_test(test_name_size_limit),
		cmocka_unit_test(test_respects_length),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
