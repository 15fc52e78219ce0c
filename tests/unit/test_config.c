/* test_config.c - the broker configuration (src/core/config.c): defaults,
 * the `key = value` parser (comments, quotes, line numbers in errors, type
 * and range errors, limits), config_set and the config_validate() cross
 * checks, and the key table used by --print-config. */
#include "test_util.h"
#include "core/config.h"
#include "core/limits.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void cfg_ok(tg_config_t *c, const char *text)
{
	char err[256] = "";
	config_defaults(c);
	if (config_parse(c, text, strlen(text), err, sizeof err) != 0)
		fail_msg("config refused: %s\n%s", err, text);
}

/* Expects text to fail with an error that starts with want_prefix. */
static void cfg_bad(const char *text, const char *want_prefix)
{
	tg_config_t c;
	char err[256] = "";
	config_defaults(&c);
	assert_int_equal(config_parse(&c, text, strlen(text), err, sizeof err), -1);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want_prefix);
}

static void validate_bad(const tg_config_t *c, const char *needle)
{
	char err[256] = "";
	assert_int_equal(config_validate(c, err, sizeof err), -1);
	tu_assert_why(err, needle);
}

static void test_defaults(void **state)
{
	tg_config_t c;
	char err[256];
	config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:8420");
	assert_string_equal(c.data_dir, "/var/lib/tollgate");
	assert_string_equal(c.audience, "tollgate");
	assert_string_equal(c.issuer, "");
	assert_string_equal(c.master_key_file, "");
	assert_string_equal(c.sqlite_synchronous, "full");
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.token_default_ttl, TG_DEFAULT_TOKEN_TTL);
	assert_int_equal(c.token_max_ttl, TG_DEFAULT_TOKEN_MAX_TTL);
	assert_int_equal(c.clock_leeway, TG_DEFAULT_LEEWAY);
	assert_int_equal(c.assertion_max_lifetime, TG_DEFAULT_ASSERTION_MAX);
	assert_int_equal(c.dpop_max_age, TG_DEFAULT_DPOP_MAX_AGE);
	assert_int_equal(c.threads, 16);
	assert_int_equal(c.max_body, TG_MAX_BODY);
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
}

static void test_parse_values(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "listen = 0.0.0.0:9000\n"
		   "threads=8\n"
		   "  token_max_ttl\t=\t600  \n"
		   "issuer = https://tg.example\n");
	assert_string_equal(c.listen, "0.0.0.0:9000");
	assert_int_equal(c.threads, 8);
	assert_int_equal(c.token_max_ttl, 600);
	assert_string_equal(c.issuer, "https://tg.example");
	assert_string_equal(c.audience, "tollgate");
}

static void test_comments_and_blank_lines(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "# a comment\n"
		   "\n"
		   "   \t\n"
		   "threads = 2 # trailing comment\n"
		   "#threads = 3\n"
		   "audience = edge#1\n");
	assert_int_equal(c.threads, 2);
	assert_string_equal(c.audience, "edge");
}

static void test_crlf_and_no_final_newline(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "threads = 5\r\nlog_level = debug\r\naudience = x");
	assert_int_equal(c.threads, 5);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.audience, "x");
}

static void test_quoted_values(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "audience = \"two words\"\n"
		   "issuer = \"https://tg.example/#frag\"\n"
		   "tls_cert = \"\"\n"
		   "data_dir = \" padded \"\n");
	assert_string_equal(c.audience, "two words");
	assert_string_equal(c.issuer, "https://tg.example/#frag");
	assert_string_equal(c.tls_cert, "");
	assert_string_equal(c.data_dir, " padded ");
}

static void test_quoted_value_then_comment(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "audience = \"a b\" # the audience\n"
		   "issuer = \"https://x/#y\" # with a hash inside\n");
	assert_string_equal(c.audience, "a b");
	assert_string_equal(c.issuer, "https://x/#y");
}

static void test_unbalanced_quotes(void **state)
{
	cfg_bad("audience = \"abc\n", "line 1: unbalanced quotes");
	cfg_bad("threads = 2\naudience = abc\"\n", "line 2: unbalanced quotes");
	cfg_bad("audience = \"a\"b\"\n", "line 1: unbalanced quotes");
	cfg_bad("audience = \"\n", "line 1: unbalanced quotes");
	cfg_bad("audience = a\"b\n", "line 1: unbalanced quotes");
}

static void test_integer_errors_with_line_numbers(void **state)
{
	cfg_bad("threads = abc", "line 1: threads: expected an integer from 1 to 64");
	cfg_bad("\n\nthreads = 0", "line 3: threads: expected an integer");
	cfg_bad("# c\nthreads = 65", "line 2: threads: expected an integer");
	cfg_bad("threads = 5x", "line 1: threads");
	cfg_bad("threads = ", "line 1: threads");
	cfg_bad("threads = 4.0", "line 1: threads");
	cfg_bad("threads = 0x10", "line 1: threads");
	cfg_bad("token_max_ttl = 99999999999999999999", "line 1: token_max_ttl");
	cfg_bad("clock_leeway = -1", "line 1: clock_leeway: expected an integer from 0 to 300");
	cfg_bad("max_body = 1023", "line 1: max_body");
	cfg_bad("max_body = 65537", "line 1: max_body");
}

static void test_integer_ranges_inclusive(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "threads = 1\nclock_leeway = 0\nmax_body = 65536\n");
	assert_int_equal(c.threads, 1);
	assert_int_equal(c.clock_leeway, 0);
	cfg_ok(&c, "threads = 64\nclock_leeway = 300\nmax_body = 1024\n");
	assert_int_equal(c.threads, 64);
}

static void test_unknown_key(void **state)
{
	cfg_bad("threads = 2\nthread = 2\n", "line 2: unknown configuration key 'thread'");
	cfg_bad("Threads = 2\n", "line 1: unknown configuration key");
	cfg_bad(" = 2\n", "line 1: unknown configuration key");
}

static void test_missing_equals(void **state)
{
	cfg_bad("threads 2\n", "line 1: expected key = value");
	cfg_bad("threads = 2\n\n[section]\n", "line 3: expected key = value");
}

static void test_string_length_limit(void **state)
{
	char text[TG_CFG_STR + 32];
	tg_config_t c;
	int n = snprintf(text, sizeof text, "issuer = ");
	memset(text + n, 'x', TG_CFG_STR - 1);
	text[n + TG_CFG_STR - 1] = '\0';
	cfg_ok(&c, text);
	assert_int_equal(strlen(c.issuer), TG_CFG_STR - 1);
	memset(text + n, 'x', TG_CFG_STR);
	text[n + TG_CFG_STR] = '\0';
	cfg_bad(text, "line 1: issuer: value is too long");
}

static void test_line_and_file_limits(void **state)
{
	size_t n = TG_MAX_CONFIG_BYTES + 1;
	char *big = malloc(n + 1);
	memset(big, '#', n);
	big[n] = '\0';
	cfg_bad(big, "configuration file is larger");
	big[TG_MAX_CONFIG_LINE + 1] = '\0';
	cfg_bad(big, "line 1: too long");
	big[TG_MAX_CONFIG_LINE] = '\0';
	tg_config_t c;
	cfg_ok(&c, big);
	free(big);
}

static void test_nul_byte(void **state)
{
	tg_config_t c;
	char err[256] = "";
	static const char text[] = "threads = 2\naudience = a\0b\n";
	config_defaults(&c);
	assert_int_equal(config_parse(&c, text, sizeof text - 1, err, sizeof err), -1);
	tu_assert_why(err, "line 2: too long or contains a NUL byte");
}

static void test_config_set(void **state)
{
	tg_config_t c;
	char err[256] = "";
	config_defaults(&c);
	assert_int_equal(config_set(&c, "threads", "16", err, sizeof err), 0);
	assert_int_equal(c.threads, 16);
	assert_int_equal(config_set(&c, "log_level", "warn", err, sizeof err), 0);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(config_set(&c, "threads", "100", err, sizeof err), -1);
	assert_int_equal(c.threads, 16);
	assert_int_equal(config_set(&c, "nope", "1", err, sizeof err), -1);
	tu_assert_why(err, "unknown configuration key 'nope'");
}

static void test_validate_ttl_order(void **state)
{
	tg_config_t c;
	cfg_ok(&c, "token_default_ttl = 600\ntoken_max_ttl = 300\n");
	validate_bad(&c, "token_default_ttl (600) exceeds token_max_ttl (300)");
	cfg_ok(&c, "token_default_ttl = 300\ntoken_max_ttl = 300\n");
	char err[256];
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
}

static void test_validate_tls_pairs(void **state)
{
	tg_config_t c;
	char err[256];
	cfg_ok(&c, "tls_cert = /c.pem\n");
	validate_bad(&c, "tls_cert and tls_key");
	cfg_ok(&c, "tls_key = /k.pem\n");
	validate_bad(&c, "tls_cert and tls_key");
	cfg_ok(&c, "client_ca = /ca.pem\n");
	validate_bad(&c, "client_ca");
	cfg_ok(&c, "tls_cert = /c.pem\ntls_key = /k.pem\nclient_ca = /ca.pem\n");
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
}

static void test_validate_sqlite_synchronous(void **state)
{
	tg_config_t c;
	char err[256];
	cfg_ok(&c, "sqlite_synchronous = off\n");
	validate_bad(&c, "sqlite_synchronous");
	cfg_ok(&c, "sqlite_synchronous = FULL\n");
	validate_bad(&c, "sqlite_synchronous");
	cfg_ok(&c, "sqlite_synchronous = normal\n");
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
}

static void test_validate_token_alg_name(void **state)
{
	static const char *const bad[] = {"ed25519", "EdDSA ", "ES256", "none", ""};
	tg_config_t c;
	char err[256];
	config_defaults(&c);
	assert_string_equal(c.token_alg_name, "EdDSA");
	assert_int_equal(config_set(&c, "token_alg_name", "Ed25519", err, sizeof err), 0);
	assert_int_equal(config_validate(&c, err, sizeof err), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(config_set(&c, "token_alg_name", bad[i], err, sizeof err), 0);
		validate_bad(&c, "token_alg_name");
	}
}

static void test_key_table(void **state)
{
	/* Every documented key has help text, a unique name, and accepts its
	 * own printed value back (the --print-config round trip). */
	tg_config_t c;
	char value[TG_CFG_STR], err[256];
	config_defaults(&c);
	assert_true(config_key_count() >= 10);
	for (size_t i = 0; i < config_key_count(); i++) {
		const char *name = config_key_name(i);
		assert_non_null(config_key_help(i));
		assert_true(strlen(config_key_help(i)) > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(name, config_key_name(j));
		config_key_value(&c, i, value, sizeof value);
		if (config_set(&c, name, value, err, sizeof err) != 0)
			fail_msg("%s = %s: %s", name, value, err);
	}
	config_key_value(&c, 0, value, sizeof value);
	assert_string_equal(value, "127.0.0.1:8420");
}

static void test_key_value_after_parse(void **state)
{
	tg_config_t c;
	char value[32];
	cfg_ok(&c, "threads = 12\n");
	for (size_t i = 0; i < config_key_count(); i++) {
		if (strcmp(config_key_name(i), "threads") != 0)
			continue;
		config_key_value(&c, i, value, sizeof value);
		assert_string_equal(value, "12");
		return;
	}
	fail_msg("no threads key");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_crlf_and_no_final_newline),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_quoted_value_then_comment),
		cmocka_unit_test(test_unbalanced_quotes),
		cmocka_unit_test(test_integer_errors_with_line_numbers),
		cmocka_unit_test(test_integer_ranges_inclusive),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_missing_equals),
		cmocka_unit_test(test_string_length_limit),
		cmocka_unit_test(test_line_and_file_limits),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_validate_ttl_order),
		cmocka_unit_test(test_validate_tls_pairs),
		cmocka_unit_test(test_validate_sqlite_synchronous),
		cmocka_unit_test(test_validate_token_alg_name),
		cmocka_unit_test(test_key_table),
		cmocka_unit_test(test_key_value_after_parse),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
