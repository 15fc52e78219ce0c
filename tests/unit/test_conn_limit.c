/* test_conn_limit.c - connection admission by source address
 * (src/core/conn_limit.c): the per-address limit, the total limit, the
 * headroom kept for addresses below their share, and exact counting as
 * connections open and close. */
#include "test_util.h"
#include "core/conn_limit.h"
#include <string.h>

static conn_addr_t v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	conn_addr_t x = {.len = 4};
	x.b[0] = a, x.b[1] = b, x.b[2] = c, x.b[3] = d;
	return x;
}

static conn_addr_t v6(uint8_t last)
{
	conn_addr_t x = {.len = 16};
	x.b[0] = 0x20, x.b[1] = 0x01, x.b[15] = last;
	return x;
}

/* Opens connections from a while they are admitted, at most n; returns how
 * many opened. */
static unsigned open_while_admitted(conn_limit_t *l, const conn_addr_t *a, unsigned n)
{
	unsigned k = 0;
	while (k < n && conn_limit_check(l, a) == CONN_ADMIT) {
		assert_int_equal(conn_limit_add(l, a), 0);
		k++;
	}
	return k;
}

static void test_per_address_limit(void **state)
{
	conn_limit_t *l = conn_limit_new(1000, 8);
	conn_addr_t a = v4(127, 0, 0, 1), b = v4(127, 0, 0, 2);
	assert_int_equal(open_while_admitted(l, &a, 100), 8);
	assert_int_equal(conn_limit_check(l, &a), CONN_REFUSE_ADDR);
	assert_int_equal(conn_limit_check(l, &b), CONN_ADMIT);
	conn_limit_remove(l, &a);
	assert_int_equal(conn_limit_check(l, &a), CONN_ADMIT);
	assert_int_equal(conn_limit_of(l, &a), 7);
	assert_int_equal(conn_limit_total(l), 7);
	conn_limit_free(l);
}

static void test_no_per_address_limit(void **state)
{
	conn_limit_t *l = conn_limit_new(100, 0);
	conn_addr_t a = v4(10, 0, 0, 1);
	/* Alone, the address reaches the headroom and then holds every share. */
	assert_int_equal(open_while_admitted(l, &a, 1000), 90);
	assert_int_equal(conn_limit_check(l, &a), CONN_REFUSE_SHARE);
	conn_limit_free(l);
}

static void test_headroom_kept_for_new_addresses(void **state)
{
	conn_limit_t *l = conn_limit_new(100, 50);
	conn_addr_t a = v4(10, 0, 0, 1), b = v4(10, 0, 0, 2), c = v4(10, 0, 0, 3);
	assert_int_equal(open_while_admitted(l, &a, 1000), 50);
	assert_int_equal(conn_limit_check(l, &a), CONN_REFUSE_ADDR);
	/* From 90 = max - reserve on, b gets more only below its share, 90 / 2. */
	assert_int_equal(open_while_admitted(l, &b, 1000), 45);
	assert_int_equal(conn_limit_check(l, &b), CONN_REFUSE_SHARE);
	/* A new address still gets in, up to the total limit. */
	assert_int_equal(open_while_admitted(l, &c, 1000), 5);
	assert_int_equal(conn_limit_total(l), 100);
	assert_int_equal(conn_limit_check(l, &c), CONN_REFUSE_FULL);
	conn_addr_t d = v4(1, 2, 3, 4);
	assert_int_equal(conn_limit_check(l, &d), CONN_REFUSE_FULL);
	/* Once b drops below the headroom line, the others get in again. */
	for (int i = 0; i < 20; i++)
		conn_limit_remove(l, &b);
	assert_int_equal(conn_limit_check(l, &d), CONN_ADMIT);
	assert_int_equal(conn_limit_check(l, &b), CONN_ADMIT);
	conn_limit_free(l);
}

static void test_counts_and_addresses(void **state)
{
	conn_limit_t *l = conn_limit_new(4096, 0);
	for (uint8_t i = 0; i < 200; i++) {
		conn_addr_t a = v4(10, 1, 0, i), b = v6(i);
		assert_int_equal(conn_limit_add(l, &a), 0);
		assert_int_equal(conn_limit_add(l, &b), 0);
		assert_int_equal(conn_limit_add(l, &b), 0);
	}
	assert_int_equal(conn_limit_addresses(l), 400);
	assert_int_equal(conn_limit_total(l), 600);
	conn_addr_t b7 = v6(7), a7 = v4(10, 1, 0, 7);
	assert_int_equal(conn_limit_of(l, &b7), 2);
	assert_int_equal(conn_limit_of(l, &a7), 1);
	/* The same four bytes as IPv4 and as the start of IPv6 are different. */
	conn_addr_t x4 = v4(0x20, 1, 0, 9), x6 = {.len = 16, .b = {0x20, 1, 0, 9}};
	assert_int_equal(conn_limit_add(l, &x4), 0);
	assert_int_equal(conn_limit_of(l, &x6), 0);
	conn_limit_remove(l, &x4);
	for (uint8_t i = 0; i < 200; i++) {
		conn_addr_t a = v4(10, 1, 0, i), b = v6(i);
		conn_limit_remove(l, &a);
		conn_limit_remove(l, &b);
		conn_limit_remove(l, &b);
	}
	assert_int_equal(conn_limit_addresses(l), 0);
	assert_int_equal(conn_limit_total(l), 0);
	/* Removing what is not counted changes nothing. */
	conn_limit_remove(l, &a7);
	assert_int_equal(conn_limit_total(l), 0);
	conn_limit_free(l);
}

static void test_verdict_names(void **state)
{
	assert_string_equal(conn_verdict_name(CONN_ADMIT), "admitted");
	assert_non_null(strstr(conn_verdict_name(CONN_REFUSE_ADDR), "per-address"));
	assert_non_null(strstr(conn_verdict_name(CONN_REFUSE_FULL), "limit"));
	assert_non_null(strstr(conn_verdict_name(CONN_REFUSE_SHARE), "share"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_address_limit),
		cmocka_unit_test(test_no_per_address_limit),
		cmocka_unit_test(test_headroom_kept_for_new_addresses),
		cmocka_unit_test(test_counts_and_addresses),
		cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
