/* test_media_type.c - Content-Type matching (src/core/media_type.c): the
 * type is case-insensitive, parameters must be well-formed, charset must
 * name UTF-8, and control characters (NUL included) match nothing. */
#include "test_util.h"
#include "core/media_type.h"
#include <string.h>

static bool is_json(const char *v)
{
	return media_type_is(v, strlen(v), "application/json");
}

static void test_exact_and_case(void **state)
{
	assert_true(is_json("application/json"));
	assert_true(is_json("Application/JSON"));
	assert_false(is_json("application/jso"));
	assert_false(is_json("application/jsonx"));
	assert_false(is_json("application/json-seq"));
	assert_false(is_json("text/plain"));
	assert_false(is_json(""));
	assert_false(media_type_is(NULL, 0, "application/json"));
}

static void test_charset_must_be_utf8(void **state)
{
	assert_true(is_json("application/json; charset=utf-8"));
	assert_true(is_json("application/json;charset=UTF-8"));
	assert_true(is_json("application/json ; charset=\"utf-8\""));
	assert_true(is_json("application/json; CharSet=utf8"));
	assert_false(is_json("application/json; charset=utf-16"));
	assert_false(is_json("application/json; charset=\"utf-16\""));
	assert_false(is_json("application/json; charset=iso-8859-1"));
	assert_false(is_json("application/json; charset=utf-8; charset=utf-16"));
	assert_false(is_json("application/json; charset="));
}

static void test_parameters_well_formed(void **state)
{
	assert_true(is_json("application/json; foo=bar"));
	assert_true(is_json("application/json;"));
	assert_true(is_json("application/json; ; charset=utf-8"));
	assert_true(is_json("application/json; q=\"a;b\""));
	assert_false(is_json("application/json; foo"));
	assert_false(is_json("application/json; =bar"));
	assert_false(is_json("application/json; foo=\"unterminated"));
	assert_false(is_json("application/json garbage"));
	assert_false(is_json("application/json, text/plain"));
}

static void test_control_characters(void **state)
{
	static const char nul[] = "application/json\0; charset=utf-16";
	assert_false(media_type_is(nul, sizeof nul - 1, "application/json"));
	static const char nul_end[] = "application/json\0";
	assert_false(media_type_is(nul_end, sizeof nul_end - 1, "application/json"));
	assert_false(is_json("application/json;\x01"));
	assert_false(is_json("application/json\x7f"));
	assert_false(is_json("application/json\r\n"));
	assert_true(is_json("application/json;\tcharset=utf-8"));
}

static void test_other_types(void **state)
{
	const char *form = "application/x-www-form-urlencoded";
	assert_true(media_type_is(form, strlen(form), form));
	assert_true(media_type_is("text/plain; charset=utf-8", 25, "text/plain"));
	assert_false(media_type_is("text/plain; charset=us-ascii", 28, "text/plain"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_case),
		cmocka_unit_test(test_charset_must_be_utf8),
		cmocka_unit_test(test_parameters_well_formed),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_other_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
