/* test_scope.c - ACTION@Type:id scope tokens and scope strings
 * (src/core/scope.c): token grammar, single-space separation, limits,
 * duplicate removal, join and contains. */
#include "test_util.h"
#include "core/scope.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid(const char *tok)
{
	return scope_token_valid(tok, strlen(tok));
}

static void parse_bad(const char *s, const char *needle)
{
	scope_set_t set;
	const char *why = NULL;
	if (scope_parse(s, &set, &why) == 0)
		fail_msg("accepted scope \"%s\"", s);
	tu_assert_why(why, needle);
	assert_null(set.buf);
	assert_int_equal(set.n, 0);
}

/* n distinct tokens "a@T:<i>" joined by sep (malloc'd). */
static char *many_tokens(int n, int distinct)
{
	char *s = calloc((size_t)n, 16);
	assert_non_null(s);
	for (int i = 0; i < n; i++) {
		char tok[16];
		snprintf(tok, sizeof tok, "%sa@T:%d", i > 0 ? " " : "", i % distinct);
		strcat(s, tok);
	}
	return s;
}

static void test_valid_tokens(void **state)
{
	assert_true(valid("modbus.read@Zone:line-3"));
	assert_true(valid("modbus.write@Device:plc-7"));
	assert_true(valid("orders.create@Api:orders"));
	assert_true(valid("secret.read@Secret:erp-db"));
	assert_true(valid("a@B:c"));
	assert_true(valid("A_b-9.x@_T9:id/with:colons@and!marks~"));
}

static void test_token_needs_at_and_type(void **state)
{
	assert_false(valid("modbus.read"));
	assert_false(valid("modbus.read:Zone:x"));
	assert_false(valid("@Zone:x"));
	assert_false(valid("read@"));
	assert_false(valid("read@Zone"));
	assert_false(valid("read@:x"));
	assert_false(valid("read@Zone:"));
	assert_false(valid("read@1Zone:x"));
	assert_false(valid("read@Zo-ne:x"));
	assert_false(valid("re ad@Zone:x"));
	assert_false(valid("re/ad@Zone:x"));
	assert_false(valid(""));
}

static void test_token_id_characters(void **state)
{
	assert_false(valid("read@Zone:a b"));
	assert_false(valid("read@Zone:a\"b"));
	assert_false(valid("read@Zone:a\\b"));
	assert_false(valid("read@Zone:a\tb"));
	assert_false(valid("read@Zone:caf\xc3\xa9"));
	assert_false(valid("read@Zone:\x7f"));
	assert_false(scope_token_valid("read@Zone:a\0b", 12));
}

static void test_token_length_limit(void **state)
{
	char tok[TG_MAX_SCOPE_TOKEN_LEN + 2];
	memcpy(tok, "a@T:", 4);
	memset(tok + 4, 'x', sizeof tok - 5);
	tok[sizeof tok - 1] = '\0';
	assert_false(valid(tok));
	tok[TG_MAX_SCOPE_TOKEN_LEN] = '\0';
	assert_true(valid(tok));
}

static void test_token_respects_length(void **state)
{
	assert_true(scope_token_valid("a@B:cdef", 5));
	assert_false(scope_token_valid("a@B:cdef", 4));
}

static void test_parse_and_join(void **state)
{
	scope_set_t set;
	const char *why = NULL;
	assert_int_equal(scope_parse("modbus.read@Zone:line-3 orders.create@Api:orders", &set, &why), 0);
	assert_int_equal(set.n, 2);
	assert_string_equal(set.tok[0], "modbus.read@Zone:line-3");
	assert_string_equal(set.tok[1], "orders.create@Api:orders");
	assert_true(scope_contains(&set, "orders.create@Api:orders"));
	assert_false(scope_contains(&set, "orders.create@Api:order"));
	char *j = scope_join(&set);
	assert_string_equal(j, "modbus.read@Zone:line-3 orders.create@Api:orders");
	free(j);
	scope_free(&set);
	assert_null(set.buf);
}

static void test_duplicates_dropped_order_kept(void **state)
{
	scope_set_t set;
	const char *why = NULL;
	assert_int_equal(scope_parse("b@T:1 a@T:1 b@T:1 c@T:1 a@T:1", &set, &why), 0);
	assert_int_equal(set.n, 3);
	char *j = scope_join(&set);
	assert_string_equal(j, "b@T:1 a@T:1 c@T:1");
	free(j);
	scope_free(&set);
}

static void test_empty_scope(void **state)
{
	parse_bad("", "required");
}

static void test_separators(void **state)
{
	parse_bad("a@T:1  b@T:2", "single spaces");
	parse_bad(" a@T:1", "single spaces");
	parse_bad(" ", "single spaces");
	parse_bad("a@T:1 ", "ends with a space");
	parse_bad("a@T:1\tb@T:2", "ACTION@Type:id");
	parse_bad("a@T:1\nb@T:2", "ACTION@Type:id");
}

static void test_invalid_token_in_list(void **state)
{
	parse_bad("a@T:1 modbus.read", "ACTION@Type:id");
	parse_bad("a@T:1 read@:x", "ACTION@Type:id");
	parse_bad("a@T:1 read@Zone:", "ACTION@Type:id");
}

static void test_token_count_limit(void **state)
{
	scope_set_t set;
	const char *why = NULL;
	char *max = many_tokens(TG_MAX_SCOPE_TOKENS, TG_MAX_SCOPE_TOKENS);
	char *over = many_tokens(TG_MAX_SCOPE_TOKENS + 1, TG_MAX_SCOPE_TOKENS + 1);
	char *dups = many_tokens(TG_MAX_SCOPE_TOKENS * 3, TG_MAX_SCOPE_TOKENS);
	assert_int_equal(scope_parse(max, &set, &why), 0);
	assert_int_equal(set.n, TG_MAX_SCOPE_TOKENS);
	scope_free(&set);
	parse_bad(over, "too many");
	assert_int_equal(scope_parse(dups, &set, &why), 0);
	assert_int_equal(set.n, TG_MAX_SCOPE_TOKENS);
	scope_free(&set);
	free(max);
	free(over);
	free(dups);
}

static void test_scope_length_limit(void **state)
{
	size_t n = TG_MAX_SCOPE_LEN + 1;
	char *s = malloc(n + 1);
	memset(s, 'x', n);
	s[n] = '\0';
	parse_bad(s, "too long");
	free(s);
}

static void test_join_empty_set(void **state)
{
	scope_set_t set = {0};
	char *j = scope_join(&set);
	assert_string_equal(j, "");
	free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_tokens),
		cmocka_unit_test(test_token_needs_at_and_type),
		cmocka_unit_test(test_token_id_characters),
		cmocka_unit_test(test_token_length_limit),
		cmocka_unit_test(test_token_respects_length),
		cmocka_unit_test(test_parse_and_join),
		cmocka_unit_test(test_duplicates_dropped_order_kept),
		cmocka_unit_test(test_empty_scope),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_invalid_token_in_list),
		cmocka_unit_test(test_token_count_limit),
		cmocka_unit_test(test_scope_length_limit),
		cmocka_unit_test(test_join_empty_set),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
