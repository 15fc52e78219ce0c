/* test_modbus_options.c - the options of a `modbus` line
 * (src/core/modbus_options.c): defaults, every key at its bounds and past
 * them, units lists, and errors naming the line and the key. */
#include "test_util.h"
#include "core/modbus_options.h"
#include <stdio.h>
#include <string.h>

/* A line whose options are "k=v k=v ..." (parsed by edge_modbus_parse). */
static void line_of(edge_modbus_t *m, const char *opts)
{
	char text[512], err[256] = "";
	snprintf(text, sizeof text, "127.0.0.1:1502 10.0.3.7:502 Device:plc-7 %s", opts);
	if (edge_modbus_parse(text, m, err, sizeof err) != 0)
		fail_msg("line refused: %s: %s", err, text);
	m->line = 7;
}

static void opts_ok(const char *opts, mb_options_t *o)
{
	edge_modbus_t m;
	char why[256] = "";
	line_of(&m, opts);
	if (mb_options_parse(&m, o, why, sizeof why) != 0)
		fail_msg("options refused: %s: %s", why, opts);
}

static void opts_bad(const char *opts, const char *needle)
{
	edge_modbus_t m;
	mb_options_t o;
	char why[256] = "";
	line_of(&m, opts);
	assert_int_equal(mb_options_parse(&m, &o, why, sizeof why), -1);
	if (strstr(why, needle) == NULL || strstr(why, "modbus line 7") == NULL)
		fail_msg("error \"%s\" does not name line 7 and \"%s\"", why, needle);
}

static void test_defaults(void **state)
{
	(void)state;
	mb_options_t o;
	opts_ok("", &o);
	for (int u = 0; u < 256; u++)
		assert_true(o.unit_allowed[u]);
	assert_int_equal(o.max_conn, 16);
	assert_int_equal(o.max_outstanding, 8);
	assert_int_equal(o.idle_timeout_ms, 60000);
	assert_int_equal(o.upstream_timeout_ms, 2000);
	assert_int_equal(o.rate, 0);
	assert_int_equal(o.stale, MB_STALE_READS);
	assert_false(o.reads_full);
}

static void test_every_key(void **state)
{
	(void)state;
	mb_options_t o;
	opts_ok("units=1,2,255 max_conn=4096 max_outstanding=1 idle_timeout=86400 upstream_timeout=10 rate=100000 "
		"stale=closed reads=full", &o);
	assert_true(o.unit_allowed[1] && o.unit_allowed[2] && o.unit_allowed[255]);
	assert_false(o.unit_allowed[0] || o.unit_allowed[3]);
	assert_int_equal(o.max_conn, 4096);
	assert_int_equal(o.max_outstanding, 1);
	assert_int_equal(o.idle_timeout_ms, 86400000);
	assert_int_equal(o.upstream_timeout_ms, 10);
	assert_int_equal(o.rate, 100000);
	assert_int_equal(o.stale, MB_STALE_CLOSED);
	assert_true(o.reads_full);
	opts_ok("stale=open reads=minute units=0", &o);
	assert_int_equal(o.stale, MB_STALE_OPEN);
	assert_false(o.reads_full);
	assert_true(o.unit_allowed[0] && !o.unit_allowed[1]);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{"units=256", "units"}, {"units=1,,2", "units"}, {"units=1,", "units"}, {"units=-1", "units"},
		{"units=a", "units"}, {"max_conn=0", "max_conn"}, {"max_conn=4097", "max_conn"},
		{"max_outstanding=65", "max_outstanding"}, {"idle_timeout=0", "idle_timeout"},
		{"upstream_timeout=9", "upstream_timeout"}, {"upstream_timeout=60001", "upstream_timeout"},
		{"rate=-1", "rate"}, {"rate=1x", "rate"}, {"rate=99999999999999999999", "rate"},
		{"stale=maybe", "stale"}, {"reads=some", "reads"}, {"colour=blue", "unknown option colour"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		opts_bad(bad[i][0], bad[i][1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_bad_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
