/* test_edge_config.c - the edge's configuration (src/core/edge_config.c):
 * defaults, the issue's example file, route and modbus lines with their
 * line-numbered errors, the key table for --print-config, the bounds
 * (line count, routes, options) and every edge_config_validate() check. */
#include "test_util.h"
#include "core/edge_config.h"
#include "core/limits.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRED                                                                                      \
	"broker = http://127.0.0.1:8420\nidentity = edge-1\nkey_file = /etc/tollgate/edge-1.key\n"   \
	"state_dir = /var/lib/tollgate-edge\n"
#define ONE_ROUTE "route = GET /orders/{id} orders.read Order:{id}\n"

static void cfg_ok(tg_edge_config_t *c, const char *text)
{
	char err[256] = "";
	edge_config_defaults(c);
	if (edge_config_parse(c, text, strlen(text), err, sizeof err) != 0)
		fail_msg("config refused: %s\n%s", err, text);
}

/* Expects text to fail with an error that starts with want_prefix. */
static void cfg_bad(const char *text, const char *want_prefix)
{
	tg_edge_config_t c;
	char err[256] = "";
	edge_config_defaults(&c);
	assert_int_equal(edge_config_parse(&c, text, strlen(text), err, sizeof err), -1);
	edge_config_free(&c);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want_prefix);
}

/* Parses REQUIRED + ONE_ROUTE + extra and expects validate to fail with needle. */
static void validate_bad(const char *extra, const char *needle)
{
	tg_edge_config_t c;
	char text[2048], err[256] = "";
	snprintf(text, sizeof text, "%s%s%s", REQUIRED, ONE_ROUTE, extra);
	cfg_ok(&c, text);
	assert_int_equal(edge_config_validate(&c, err, sizeof err), -1);
	edge_config_free(&c);
	tu_assert_why(err, needle);
}

static void test_defaults(void **state)
{
	tg_edge_config_t c;
	char err[256];
	edge_config_defaults(&c);
	assert_string_equal(c.listen, "127.0.0.1:8421");
	assert_string_equal(c.audience, "tollgate");
	assert_string_equal(c.issuer, "");
	assert_string_equal(c.kid, "");
	assert_string_equal(c.trusted_proxies, "127.0.0.1/32,::1/128");
	assert_string_equal(c.scope, "edge.sync@Api:tollgate");
	assert_string_equal(c.log_level, "info");
	assert_int_equal(c.max_stale, 30);
	assert_int_equal(c.poll_wait, 10);
	assert_int_equal(c.clock_leeway, 30);
	assert_int_equal(c.dpop_max_age, 60);
	assert_int_equal(c.token_cache, 65536);
	assert_int_equal(c.spool_max, 64 << 20);
	assert_int_equal(c.audit_batch, 500);
	assert_int_equal(c.n_routes, 0);
	assert_null(c.routes);
	assert_int_equal(c.n_modbus, 0);
	/* the required keys are empty by default */
	assert_int_equal(edge_config_validate(&c, err, sizeof err), -1);
	tu_assert_why(err, "broker is required");
}

/* The example of issue 10 (with the file source for inject). */
static void test_issue_example(void **state)
{
	tg_edge_config_t c;
	char err[256] = "";
	cfg_ok(&c, "broker    = http://127.0.0.1:8420\n"
		   "identity  = edge-1\n"
		   "key_file  = /etc/tollgate/edge-1.key\n"
		   "listen    = 127.0.0.1:8421          # forward-auth endpoint: GET /auth\n"
		   "audience  = tollgate\n"
		   "state_dir = /var/lib/tollgate-edge  # synced state and the audit spool survive restarts\n"
		   "max_stale = 30                      # seconds without the broker\n"
		   "route     = GET  /orders/{id}  orders.read    Order:{id}\n"
		   "route     = POST /orders       orders.create  Api:orders\n"
		   "route     = *    /admin/*      admin.any      Api:admin   inject=Authorization:file:/etc/erp-admin\n");
	assert_int_equal(edge_config_validate(&c, err, sizeof err), 0);
	assert_string_equal(c.broker, "http://127.0.0.1:8420");
	assert_string_equal(c.identity, "edge-1");
	assert_string_equal(c.state_dir, "/var/lib/tollgate-edge");
	assert_int_equal(c.n_routes, 3);
	assert_int_equal(c.routes[0].line, 8);
	assert_string_equal(c.routes[0].pattern, "/orders/{id}");
	assert_int_equal(c.routes[2].line, 10);
	assert_string_equal(c.routes[2].method, "*");
	assert_string_equal(c.routes[2].inject[0].path, "/etc/erp-admin");
	edge_config_free(&c);
	edge_config_free(&c); /* twice is harmless */
	assert_null(c.routes);
}

static void test_all_keys(void **state)
{
	tg_edge_config_t c;
	char err[256] = "";
	cfg_ok(&c, REQUIRED ONE_ROUTE "kid = k-2026\nlisten = [::1]:9000\naudience = \"api a\"\n"
				      "issuer = https://tg.example\nmax_stale = 120\npoll_wait = 60\n"
				      "trusted_proxies = 10.0.0.0/8, 192.168.1.1 ,fd00::/8\nclock_leeway = 0\n"
				      "dpop_max_age = 5\ntoken_cache = 0\nspool_max = 1048576\naudit_batch = 1\n"
				      "scope = \"edge.sync@Api:tollgate feed.read@Api:tollgate\"\nlog_level = debug\n");
	assert_int_equal(edge_config_validate(&c, err, sizeof err), 0);
	assert_string_equal(c.kid, "k-2026");
	assert_string_equal(c.listen, "[::1]:9000");
	assert_string_equal(c.audience, "api a");
	assert_int_equal(c.max_stale, 120);
	assert_int_equal(c.poll_wait, 60);
	assert_int_equal(c.token_cache, 0);
	assert_int_equal(c.spool_max, 1 << 20);
	assert_string_equal(c.scope, "edge.sync@Api:tollgate feed.read@Api:tollgate");
	edge_config_free(&c);
}

static void test_key_errors(void **state)
{
	cfg_bad("nope = 1\n", "line 1: unknown configuration key 'nope'");
	cfg_bad("threads = 4\n", "line 1: unknown configuration key 'threads'"); /* a broker key */
	cfg_bad("\nmax_stale = 0\n", "line 2: max_stale: expected an integer from 1 to 86400");
	cfg_bad("max_stale = 86401\n", "line 1: max_stale: expected an integer from 1 to 86400");
	cfg_bad("poll_wait = 301\n", "line 1: poll_wait: expected an integer from 1 to 300");
	cfg_bad("poll_wait = 1x\n", "line 1: poll_wait");
	cfg_bad("spool_max = 1048575\n", "line 1: spool_max");
	cfg_bad("dpop_max_age = 601\n", "line 1: dpop_max_age");
	cfg_bad("identity = \"edge\n", "line 1: unbalanced quotes");
	cfg_bad("identity\n", "line 1: expected key = value");
	cfg_bad("a = b\0c\n", "line 1: unknown configuration key 'a'"); /* strlen stops at the NUL */
}

static void test_syntax_shared_with_broker(void **state)
{
	tg_edge_config_t c;
	char err[256] = "";
	static const char nul[] = "identity = a\nstate_dir = b\0c\n";
	edge_config_defaults(&c);
	assert_int_equal(edge_config_parse(&c, nul, sizeof nul - 1, err, sizeof err), -1);
	assert_string_equal(err, "line 2: too long or contains a NUL byte");
	char *big = malloc(TG_MAX_CONFIG_BYTES + 2);
	assert_non_null(big);
	memset(big, '#', TG_MAX_CONFIG_BYTES + 1);
	assert_int_equal(edge_config_parse(&c, big, TG_MAX_CONFIG_BYTES + 1, err, sizeof err), -1);
	tu_assert_why(err, "larger than");
	memset(big, ' ', TG_MAX_CONFIG_LINE + 1);
	assert_int_equal(edge_config_parse(&c, big, TG_MAX_CONFIG_LINE + 1, err, sizeof err), -1);
	assert_string_equal(err, "line 1: too long or contains a NUL byte");
	free(big);
	/* comments, CRLF, quotes, no final newline; the last value wins */
	cfg_ok(&c, "# edge\r\nidentity = a # first\r\nidentity = \"b#c\"\r\n\r\nroute = GET / a.b T:x");
	assert_string_equal(c.identity, "b#c");
	assert_int_equal(c.n_routes, 1);
	assert_int_equal(c.routes[0].line, 5);
	edge_config_free(&c);
}

static void test_route_errors_have_line_numbers(void **state)
{
	cfg_bad("identity = a\nroute = GET /x\n", "line 2: route: expected METHOD PATTERN ACTION RESOURCE");
	cfg_bad("route = GET /x a.b T:x nope\n", "line 1: route: unknown option 'nope': expected stale=open or inject=");
	cfg_bad("route = GET /x a.b T:x inject=A:secret:s/t\n", "line 1: route: inject secret 's/t' is not a secret name");
	cfg_bad("route = GET /{a}/{a} a.b T:x\n", "line 1: route: parameter {a} appears twice");
	cfg_bad("route = GET /a a.b T:{b}\n", "line 1: route: resource placeholder {b} is not a parameter");
	cfg_bad("route = GET /x a.b T:x\n\nroute = GET /x c.d T:y\n",
		"line 3: route: GET /x repeats the route of line 1, which always matches first");
	cfg_bad("route = \"GET /x a.b T:x # no\"\n", "line 1: route: '#' and '\"' are not allowed in a route");
}

static void test_same_pattern_other_method_is_fine(void **state)
{
	tg_edge_config_t c;
	cfg_ok(&c, "route = GET /x a.b T:x\nroute = POST /x a.c T:x\nroute = * /x a.d T:x\n");
	assert_int_equal(c.n_routes, 3);
	edge_config_free(&c);
}

static void test_route_limit(void **state)
{
	/* TG_EDGE_MAX_ROUTES routes fit the file size; one more is refused */
	tg_edge_config_t c;
	char err[256] = "";
	size_t cap = (TG_EDGE_MAX_ROUTES + 1) * 32;
	char *text = malloc(cap), *p = text;
	assert_non_null(text);
	for (int i = 0; i <= TG_EDGE_MAX_ROUTES; i++)
		p += sprintf(p, "route=GET /%d a T:x\n", i);
	assert_true((size_t)(p - text) <= TG_MAX_CONFIG_BYTES);
	edge_config_defaults(&c);
	assert_int_equal(edge_config_parse(&c, text, (size_t)(p - text), err, sizeof err), -1);
	assert_string_equal(err, "line 1025: route: more than 1024 routes");
	assert_int_equal(c.n_routes, TG_EDGE_MAX_ROUTES);
	assert_string_equal(c.routes[TG_EDGE_MAX_ROUTES - 1].pattern, "/1023");
	edge_config_free(&c);
	free(text);
}

static void test_modbus_lines(void **state)
{
	tg_edge_config_t c;
	char err[256] = "", buf[512];
	cfg_ok(&c, REQUIRED "modbus = 0.0.0.0:502 10.1.2.3:502 Device:plc-7 unit=1 timeout_ms=500\n"
			    "modbus = [::1]:1502   [fd00::7]:502\tDevice:plc-8\n");
	assert_int_equal(edge_config_validate(&c, err, sizeof err), 0); /* modbus alone is enough */
	assert_int_equal(c.n_modbus, 2);
	assert_int_equal(c.modbus[0].line, 5);
	assert_string_equal(c.modbus[0].listen, "0.0.0.0:502");
	assert_string_equal(c.modbus[0].upstream, "10.1.2.3:502");
	assert_string_equal(c.modbus[0].entity, "Device:plc-7");
	assert_int_equal(c.modbus[0].n_opt, 2);
	assert_string_equal(c.modbus[0].opt[1].key, "timeout_ms");
	assert_string_equal(c.modbus[0].opt[1].value, "500");
	assert_string_equal(c.modbus[1].upstream, "[fd00::7]:502");
	assert_int_equal(c.modbus[1].n_opt, 0);
	size_t n = edge_modbus_render(&c.modbus[0], buf, sizeof buf);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "0.0.0.0:502 10.1.2.3:502 Device:plc-7 unit=1 timeout_ms=500");
	edge_config_free(&c);
}

static void test_modbus_errors(void **state)
{
	cfg_bad("modbus = 0.0.0.0:502\n", "line 1: modbus: expected LISTEN UPSTREAM Type:id");
	cfg_bad("modbus = plc:502 10.0.0.1:502 Device:a\n", "line 1: modbus: listen address 'plc:502' is not HOST:PORT");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1 Device:a\n", "line 1: modbus: upstream address '10.0.0.1' is not");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:70000 Device:a\n", "line 1: modbus: upstream address");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:502 plc-7\n", "line 1: modbus: device 'plc-7' is not Type:id");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:502 Device:a unit\n", "line 1: modbus: option 'unit' is not key=value");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:502 Device:a Unit=1\n", "line 1: modbus: option 'Unit=1'");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:502 Device:a unit=\n", "line 1: modbus: option 'unit='");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:502 Device:a unit=1 unit=2\n", "line 1: modbus: option unit is given twice");
	cfg_bad("modbus = 0.0.0.0:502 10.0.0.1:502 D:a\nmodbus = 0.0.0.0:502 10.0.0.2:502 D:b\n",
		"line 2: modbus: 0.0.0.0:502 is already the listen address of line 1");
	char line[512] = "modbus = 0.0.0.0:502 10.0.0.1:502 Device:a";
	for (int i = 0; i <= TG_EDGE_MAX_MODBUS_OPTS; i++)
		sprintf(line + strlen(line), " o%d=1", i);
	cfg_bad(line, "line 1: modbus: more than 16 options");
	line[strlen(line) - 6] = '\0'; /* 16 options */
	tg_edge_config_t c;
	cfg_ok(&c, line);
	assert_int_equal(c.modbus[0].n_opt, 16);
	edge_config_free(&c);
}

static void test_validate(void **state)
{
	tg_edge_config_t c;
	char err[256] = "";
	/* each required key */
	static const char *const missing[][2] = {
		{"identity = e\nkey_file = k\nstate_dir = s\n", "broker is required"},
		{"broker = http://b\nkey_file = k\nstate_dir = s\n", "identity is required"},
		{"broker = http://b\nidentity = e\nstate_dir = s\n", "key_file is required"},
		{"broker = http://b\nidentity = e\nkey_file = k\n", "state_dir is required"},
	};
	for (size_t i = 0; i < 4; i++) {
		char text[512];
		snprintf(text, sizeof text, "%s%s", missing[i][0], ONE_ROUTE);
		cfg_ok(&c, text);
		assert_int_equal(edge_config_validate(&c, err, sizeof err), -1);
		tu_assert_why(err, missing[i][1]);
		edge_config_free(&c);
	}
	validate_bad("broker = 127.0.0.1:8420\n", "broker must be an http:// or https:// URL");
	validate_bad("broker = http://\n", "broker must be an http:// or https:// URL");
	validate_bad("broker = ftp://x\n", "broker must be");
	validate_bad("issuer = tollgate\n", "issuer must be empty");
	validate_bad("identity = \"edge 1\"\n", "identity must be an identity name");
	validate_bad("audience = \"\"\n", "audience must not be empty");
	validate_bad("listen = localhost:8421\n", "listen: listen address 'localhost:8421'");
	validate_bad("poll_wait = 30\n", "poll_wait (30) must be less than max_stale (30)");
	validate_bad("max_stale = 5\n", "poll_wait (10) must be less than max_stale (5)");
	validate_bad("trusted_proxies = 10.0.0.0/33\n", "trusted_proxies entry '10.0.0.0/33'");
	validate_bad("trusted_proxies = 10.0.0.1,,10.0.0.2\n", "trusted_proxies has an empty entry");
	validate_bad("trusted_proxies = 10.0.0.1,\n", "trusted_proxies ends with a comma");
	validate_bad("trusted_proxies = localhost\n", "is not an address or range");
	validate_bad("scope = edge.sync\n", "scope: ");
	validate_bad("scope = \"\"\n", "scope: ");
	validate_bad("log_level = verbose\n", "log_level must be debug, info, warn or error");
	char kid[TG_MAX_KID_LEN + 16];
	memset(kid, 0, sizeof kid);
	memcpy(kid, "kid = ", 6);
	memset(kid + 6, 'k', TG_MAX_KID_LEN + 1);
	kid[TG_MAX_KID_LEN + 7] = '\n';
	validate_bad(kid, "kid is too long");
	/* trusted_proxies may be empty: no proxy is believed */
	cfg_ok(&c, REQUIRED ONE_ROUTE "trusted_proxies = \n");
	assert_int_equal(edge_config_validate(&c, err, sizeof err), 0);
	edge_config_free(&c);
	/* nothing to guard */
	cfg_ok(&c, REQUIRED);
	assert_int_equal(edge_config_validate(&c, err, sizeof err), -1);
	tu_assert_why(err, "no route and no modbus line");
}

static void test_set_appends_routes(void **state)
{
	tg_edge_config_t c;
	char err[256] = "";
	edge_config_defaults(&c);
	assert_int_equal(edge_config_set(&c, "route", "GET /a a.b T:x", err, sizeof err), 0);
	assert_int_equal(edge_config_set(&c, "route", "GET /b a.b T:x", err, sizeof err), 0);
	assert_int_equal(edge_config_set(&c, "route", "GET /b a.b T:y", err, sizeof err), -1);
	tu_assert_why(err, "route: GET /b repeats the route of line 0");
	assert_int_equal(edge_config_set(&c, "modbus", "1.2.3.4:1 1.2.3.4:2 D:x", err, sizeof err), 0);
	assert_int_equal(edge_config_set(&c, "identity", "e", err, sizeof err), 0);
	assert_int_equal(edge_config_set(&c, "bogus", "e", err, sizeof err), -1);
	tu_assert_why(err, "unknown configuration key 'bogus'");
	assert_int_equal(c.n_routes, 2);
	assert_int_equal(c.n_modbus, 1);
	edge_config_free(&c);
}

static void test_print_config_round_trip(void **state)
{
	tg_edge_config_t c, back;
	char err[256] = "", value[TG_CFG_STR], text[8192] = "", line[1200];
	cfg_ok(&c, REQUIRED ONE_ROUTE "audience = \"a b\"\nroute = * /admin/* admin.any Api:admin stale=open "
				      "inject=Authorization:file:/etc/k\nmodbus = 0.0.0.0:502 10.0.0.1:502 Device:a unit=1\n");
	assert_int_equal(edge_config_key_count(), 18);
	for (size_t i = 0; i < edge_config_key_count(); i++) {
		assert_non_null(edge_config_key_help(i));
		edge_config_key_value(&c, i, value, sizeof value);
		snprintf(line, sizeof line, "%s = \"%s\"\n", edge_config_key_name(i), value);
		strcat(text, line);
	}
	for (size_t i = 0; i < c.n_routes; i++) {
		edge_route_render(&c.routes[i], value, sizeof value);
		snprintf(line, sizeof line, "route = %s\n", value);
		strcat(text, line);
	}
	for (size_t i = 0; i < c.n_modbus; i++) {
		edge_modbus_render(&c.modbus[i], value, sizeof value);
		snprintf(line, sizeof line, "modbus = %s\n", value);
		strcat(text, line);
	}
	cfg_ok(&back, text);
	assert_int_equal(edge_config_validate(&back, err, sizeof err), 0);
	assert_string_equal(back.audience, "a b");
	assert_string_equal(back.trusted_proxies, c.trusted_proxies);
	assert_int_equal(back.spool_max, c.spool_max);
	assert_int_equal(back.n_routes, 2);
	assert_true(back.routes[1].stale_open);
	assert_int_equal(back.n_modbus, 1);
	edge_config_free(&back);
	edge_config_free(&c);
}

/* The token's scope: the configured one, then each injected secret's
 * secret.read token once; too many tokens is refused by validate. */
static void test_token_scope(void **state)
{
	tg_edge_config_t c;
	char err[256] = "", buf[TG_MAX_SCOPE_LEN + 1], text[4096];
	cfg_ok(&c, REQUIRED ONE_ROUTE);
	assert_int_equal(edge_config_token_scope(&c, buf, sizeof buf, err, sizeof err), 22);
	assert_string_equal(buf, "edge.sync@Api:tollgate");
	edge_config_free(&c);
	cfg_ok(&c, REQUIRED "scope = edge.sync@Api:tollgate secret.read@Secret:b\n"
			    "route = GET /a a.read Api:a inject=Authorization:secret:a inject=X-F:file:/f\n"
			    "route = GET /b b.read Api:b inject=Authorization:secret:a inject=X-B:secret:b "
			    "inject=X-C:secret:b.c\n");
	assert_int_equal(edge_config_validate(&c, err, sizeof err), 0);
	assert_true(edge_config_token_scope(&c, buf, sizeof buf, err, sizeof err) > 0);
	assert_string_equal(buf, "edge.sync@Api:tollgate secret.read@Secret:b secret.read@Secret:a "
				 "secret.read@Secret:b.c");
	assert_int_equal(edge_config_token_scope(&c, buf, 30, err, sizeof err), -1);
	tu_assert_why(err, "longer than 29 bytes");
	edge_config_free(&c);
	size_t n = (size_t)snprintf(text, sizeof text, "%s", REQUIRED);
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, "route = GET /r%d r.read Api:r inject=K:secret:s%d\n", i,
				      i);
	cfg_ok(&c, text);
	assert_int_equal(edge_config_validate(&c, err, sizeof err), -1);
	tu_assert_why(err, "scope with the injected secrets' secret.read tokens");
	edge_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_issue_example),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_key_errors),
		cmocka_unit_test(test_syntax_shared_with_broker),
		cmocka_unit_test(test_route_errors_have_line_numbers),
		cmocka_unit_test(test_same_pattern_other_method_is_fine),
		cmocka_unit_test(test_route_limit),
		cmocka_unit_test(test_modbus_lines),
		cmocka_unit_test(test_modbus_errors),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_token_scope),
		cmocka_unit_test(test_set_appends_routes),
		cmocka_unit_test(test_print_config_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
