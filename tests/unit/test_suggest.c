/* test_suggest.c - the nearest-command suggestion (src/core/suggest.c):
 * the capped edit distance (insertions, deletions, substitutions and
 * swaps), and which candidate is suggested for the mistakes people make
 * with tollgate's commands and verbs, and when nothing is. */
#include "test_util.h"
#include "core/suggest.h"
#include <string.h>

static const char *const nouns[] = {"serve", "identity", "token", "keys", "audit", "policy",
				    "entities", "version", "help", NULL};
static const char *const token_verbs[] = {"issue", "inspect", "introspect", "revoke", NULL};
static const char *const policy_verbs[] = {"set", "get", "history", "diff", "check", "eval", NULL};

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(suggest_distance("token", "token", 2), 0);
	assert_int_equal(suggest_distance("tokn", "token", 2), 1);    /* deletion */
	assert_int_equal(suggest_distance("tokeen", "token", 2), 1);  /* insertion */
	assert_int_equal(suggest_distance("tokan", "token", 2), 1);   /* substitution */
	assert_int_equal(suggest_distance("tkoen", "token", 2), 1);   /* swap */
	assert_int_equal(suggest_distance("", "abc", 5), 3);
	assert_int_equal(suggest_distance("kitten", "sitting", 5), 3);
	/* Over the cap: cap + 1, whatever the real distance. */
	assert_int_equal(suggest_distance("kitten", "sitting", 2), 3);
	assert_int_equal(suggest_distance("a", "abcdefgh", 2), 3);
	char longword[TG_SUGGEST_MAX_WORD + 2];
	memset(longword, 'a', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	assert_int_equal(suggest_distance(longword, longword, 2), 3);
}

static void test_nearest_command(void **state)
{
	(void)state;
	assert_string_equal(suggest_nearest("tokn", nouns), "token");
	assert_string_equal(suggest_nearest("idenity", nouns), "identity");
	assert_string_equal(suggest_nearest("polcy", nouns), "policy");
	assert_string_equal(suggest_nearest("entites", nouns), "entities");
	assert_string_equal(suggest_nearest("key", nouns), "keys");
	assert_string_equal(suggest_nearest("isue", token_verbs), "issue");
	assert_string_equal(suggest_nearest("revok", token_verbs), "revoke");
	assert_string_equal(suggest_nearest("introspcet", token_verbs), "introspect");
	assert_string_equal(suggest_nearest("hist", policy_verbs), "history"); /* a unique prefix */
	assert_string_equal(suggest_nearest("dif", policy_verbs), "diff");
}

static void test_ties_go_to_the_earlier_candidate(void **state)
{
	(void)state;
	/* "bet" is one edit from both "set" and "get". */
	assert_string_equal(suggest_nearest("bet", policy_verbs), "set");
	/* The nearer one wins even when it comes later. */
	static const char *const c[] = {"abcd", "abce", NULL};
	assert_string_equal(suggest_nearest("abcx", c), "abcd");
	assert_string_equal(suggest_nearest("abcex", c), "abce");
}

static void test_nothing_near_enough(void **state)
{
	(void)state;
	assert_null(suggest_nearest("frobnicate", nouns));
	assert_null(suggest_nearest("x", policy_verbs)); /* 2 edits from 3-letter verbs: too far */
	assert_null(suggest_nearest("", nouns));
	assert_null(suggest_nearest("in", token_verbs)); /* a prefix of several, and short */
	assert_null(suggest_nearest("in", (const char *const[]){NULL}));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_nearest_command),
		cmocka_unit_test(test_ties_go_to_the_earlier_candidate),
		cmocka_unit_test(test_nothing_near_enough),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
