/* test_auth_throttle.c - the failed-authentication table
 * (src/core/auth_throttle.c): limits per (source, client) and per source,
 * exponential back-off and cooling down, immediate versus aggregated
 * tallies, bounded memory with eviction that hands tallies back, and the
 * conservation of every failure under random load. */
#include "test_util.h"
#include "core/auth_throttle.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000000LL /* ms */
#define WINDOW 60000
#define BLOCK 1000
#define BLOCK_MAX 8000
#define FLUSH 1000

static throttle_cfg_t cfg(size_t capacity)
{
	throttle_cfg_t c = {.client_limit = 3, .source_limit = 10, .window_ms = WINDOW, .block_ms = BLOCK,
			    .block_max_ms = BLOCK_MAX, .flush_ms = FLUSH, .capacity = capacity};
	return c;
}

static throttle_attempt_t att(const char *src, const char *client, const char *reason)
{
	throttle_attempt_t a = {src, client, "client_assertion", "/oauth/token", reason};
	return a;
}

static int64_t tally_sum(const throttle_tally_t *t)
{
	int64_t n = 0;
	for (size_t i = 0; i < t->n_reasons; i++)
		n += t->reasons[i].count;
	assert_int_equal(n, t->count);
	return n;
}

static int64_t drain_all(throttle_t *t, int64_t now, bool all)
{
	throttle_tally_t out[4];
	int64_t sum = 0;
	size_t n;
	do {
		n = throttle_drain(t, now, all, out, 4);
		for (size_t i = 0; i < n; i++)
			sum += tally_sum(&out[i]);
	} while (n == 4);
	return sum;
}

/* Fails once; asserts the failure came back as its own tally of one. */
static void fail_single(throttle_t *t, const char *src, const char *client, int64_t now)
{
	throttle_out_t out;
	throttle_attempt_t a = att(src, client, "no registered key verifies the assertion");
	throttle_fail(t, &a, now, &out);
	assert_false(out.aggregated);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.tally[0].count, 1);
	assert_string_equal(out.tally[0].src, src);
	assert_int_equal(out.tally[0].has_client, client != NULL);
	assert_string_equal(out.tally[0].reasons[0].text, "no registered key verifies the assertion");
	assert_string_equal(out.tally[0].method, "client_assertion");
	assert_string_equal(out.tally[0].path, "/oauth/token");
}

static int64_t admit(throttle_t *t, const char *src, const char *client, int64_t now)
{
	throttle_attempt_t a = att(src, client, NULL);
	return throttle_admit(t, &a, now);
}

static void test_rejects_bad_config(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(16);
	c.client_limit = 0;
	assert_null(throttle_new(&c));
	c = cfg(1);
	assert_null(throttle_new(&c));
	c = cfg(16);
	c.block_max_ms = BLOCK - 1;
	assert_null(throttle_new(&c));
	c = cfg(16);
	throttle_t *t = throttle_new(&c);
	assert_non_null(t);
	throttle_free(t);
}

static void test_client_limit_blocks_only_that_client_and_source(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(64);
	throttle_t *t = throttle_new(&c);
	assert_int_equal(admit(t, "10.0.0.1", "a", T0), 0);
	fail_single(t, "10.0.0.1", "a", T0);
	fail_single(t, "10.0.0.1", "a", T0 + 1);
	throttle_out_t out;
	throttle_attempt_t a = att("10.0.0.1", "a", "wrong key");
	throttle_fail(t, &a, T0 + 2, &out); /* the third reaches the limit: recorded on its own */
	assert_false(out.aggregated);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.blocked_ms, BLOCK);
	assert_false(out.blocked_source);
	assert_int_equal(admit(t, "10.0.0.1", "a", T0 + 2), BLOCK);
	assert_int_equal(admit(t, "10.0.0.1", "a", T0 + 502), BLOCK - 500);
	assert_int_equal(admit(t, "10.0.0.1", "b", T0 + 502), 0);
	assert_int_equal(admit(t, "10.0.0.2", "a", T0 + 502), 0);
	assert_int_equal(admit(t, "10.0.0.1", NULL, T0 + 502), 0);
	assert_int_equal(admit(t, "10.0.0.1", "a", T0 + 2 + BLOCK), 0);
	/* The two refused attempts are pending, reason "throttled". */
	throttle_tally_t tl[2];
	assert_int_equal(throttle_drain(t, T0 + 2 + BLOCK, false, tl, 2), 1);
	assert_int_equal(tl[0].count, 2);
	assert_string_equal(tl[0].client, "a");
	assert_int_equal(tl[0].n_reasons, 1);
	assert_string_equal(tl[0].reasons[0].text, THROTTLE_REASON_THROTTLED);
	assert_int_equal(tl[0].first_ms, T0 + 2);
	assert_int_equal(tl[0].last_ms, T0 + 502);
	throttle_free(t);
}

/* Blocks (src, a) once more; returns the block length it started. */
static int64_t block_again(throttle_t *t, int64_t *now)
{
	throttle_out_t out = {0};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(admit(t, "10.0.0.1", "a", *now), 0);
		throttle_attempt_t a = att("10.0.0.1", "a", "wrong key");
		throttle_fail(t, &a, *now, &out);
		*now += 1;
	}
	int64_t len = out.blocked_ms;
	assert_int_equal(admit(t, "10.0.0.1", "a", *now - 1), len);
	*now += len - 1;
	return len;
}

static void test_back_off_doubles_up_to_the_cap_and_cools_down(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(64);
	c.source_limit = 1000;
	throttle_t *t = throttle_new(&c);
	int64_t now = T0;
	assert_int_equal(block_again(t, &now), BLOCK);
	assert_int_equal(block_again(t, &now), 2 * BLOCK);
	assert_int_equal(block_again(t, &now), 4 * BLOCK);
	assert_int_equal(block_again(t, &now), BLOCK_MAX);
	assert_int_equal(block_again(t, &now), BLOCK_MAX);
	/* A window without failures after the block: back to the first block,
	 * and failures are recorded one by one again. */
	drain_all(t, now, true);
	now += WINDOW;
	assert_int_equal(block_again(t, &now), BLOCK);
	drain_all(t, now, true);
	now += WINDOW;
	fail_single(t, "10.0.0.1", "a", now);
	throttle_free(t);
}

static void test_hot_key_failures_are_aggregated_per_flush_interval(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(64);
	c.source_limit = 1000;
	throttle_t *t = throttle_new(&c);
	int64_t now = T0, sent = 0, recorded = 0;
	assert_int_equal(block_again(t, &now), BLOCK);
	recorded += 3; /* its failures, one by one; its refused attempt is pending */
	sent += 4;
	/* After the block: failures (the key is hot) and refused attempts. */
	throttle_out_t out;
	throttle_attempt_t a = att("10.0.0.1", "a", "assertion expired");
	throttle_fail(t, &a, now, &out);
	sent++;
	assert_true(out.aggregated);
	assert_int_equal(out.n, 0);
	for (int i = 0; i < 5; i++, sent++)
		if (admit(t, "10.0.0.1", "a", now) == 0) {
			throttle_fail(t, &a, now, &out);
			assert_true(out.aggregated);
		}
	recorded += drain_all(t, now, false);
	/* At most one tally per flush interval. */
	throttle_fail(t, &a, now + 1, &out);
	sent++;
	assert_true(out.aggregated);
	assert_int_equal(drain_all(t, now + 1, false), 0);
	recorded += drain_all(t, now + FLUSH, false);
	assert_int_equal(recorded, sent);
	throttle_free(t);
}

static void test_source_limit_spans_clients(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(64);
	throttle_t *t = throttle_new(&c);
	char client[16];
	throttle_out_t out;
	for (int i = 0; i < 10; i++) {
		snprintf(client, sizeof client, "c%d", i);
		throttle_attempt_t a = att("10.0.0.9", client, "unknown client");
		assert_int_equal(admit(t, "10.0.0.9", client, T0 + i), 0);
		throttle_fail(t, &a, T0 + i, &out);
		assert_false(out.aggregated);
	}
	assert_int_equal(out.blocked_ms, BLOCK);
	assert_true(out.blocked_source);
	assert_true(admit(t, "10.0.0.9", "fresh", T0 + 10) > 0);
	assert_true(admit(t, "10.0.0.9", NULL, T0 + 10) > 0);
	assert_int_equal(admit(t, "10.0.0.8", "fresh", T0 + 10), 0);
	/* The refused attempt with a client not in the table counts on the
	 * source's entry; the one without a client too. */
	throttle_tally_t tl[4];
	assert_int_equal(throttle_drain(t, T0 + 10, true, tl, 4), 1);
	assert_false(tl[0].has_client);
	assert_int_equal(tl[0].count, 2);
	throttle_free(t);
}

static void test_failures_without_client_count_on_the_source(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(64);
	throttle_t *t = throttle_new(&c);
	for (int i = 0; i < 9; i++)
		fail_single(t, "::1", NULL, T0);
	assert_int_equal(admit(t, "::1", NULL, T0), 0);
	throttle_out_t out;
	throttle_attempt_t a = att("::1", NULL, "no bearer token");
	throttle_fail(t, &a, T0, &out);
	assert_int_equal(out.blocked_ms, BLOCK);
	assert_int_equal(admit(t, "::1", NULL, T0), BLOCK);
	assert_int_equal(admit(t, "::1", "anyone", T0), BLOCK);
	throttle_free(t);
}

static void test_eviction_hands_back_pending_tallies(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(4);
	c.client_limit = 1;
	throttle_t *t = throttle_new(&c);
	throttle_out_t out;
	int64_t handed = 0;
	/* (s1) and (s1, a): blocked at once; a refused attempt is pending. */
	throttle_attempt_t a = att("s1", "a", "x");
	throttle_fail(t, &a, T0, &out);
	handed += (int64_t)out.n;
	assert_true(admit(t, "s1", "a", T0 + 1) > 0);
	assert_int_equal(throttle_entries(t), 2);
	/* Two more sources fill and then overflow the table. */
	for (int i = 0; i < 2; i++) {
		throttle_attempt_t b = att(i ? "s3" : "s2", "b", "y");
		throttle_fail(t, &b, T0 + 2 + i, &out);
		for (size_t k = 0; k < out.n; k++)
			handed += tally_sum(&out.tally[k]);
		assert_true(throttle_entries(t) <= 4);
	}
	/* The oldest entries went: (s1) and (s1, a), whose pending attempt was
	 * handed back rather than lost. */
	assert_int_equal(admit(t, "s1", "a", T0 + 4), 0);
	handed += drain_all(t, T0 + 4, true);
	assert_int_equal(handed, 4);
	throttle_free(t);
}

static void test_text_is_cut_and_made_valid_utf8(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(16);
	c.client_limit = 1;
	throttle_t *t = throttle_new(&c);
	char long_client[400];
	memset(long_client, 'x', sizeof long_client - 1);
	long_client[sizeof long_client - 1] = '\0';
	throttle_out_t out;
	throttle_attempt_t a = att("s", long_client, "bad \xff byte");
	throttle_fail(t, &a, T0, &out);
	assert_int_equal(strlen(out.tally[0].client), TG_MAX_ID_LEN);
	assert_string_equal(out.tally[0].reasons[0].text, "bad ? byte");
	/* The same long client is the same (cut) key: it is blocked. */
	assert_true(admit(t, "s", long_client, T0) > 0);
	/* More distinct reasons than slots: the last slot gathers the rest. */
	static const char *const why[] = {"r1", "r2", "r3", "r4", "r5", "r1"};
	for (size_t i = 0; i < 6; i++) {
		throttle_attempt_t b = att("s", long_client, why[i]);
		throttle_fail(t, &b, T0 + BLOCK + (int64_t)i, &out);
		assert_true(out.aggregated);
	}
	throttle_tally_t tl[2];
	assert_int_equal(throttle_drain(t, T0 + 2 * BLOCK, true, tl, 2), 1);
	assert_int_equal(tally_sum(&tl[0]), 7); /* + the refused attempt */
	assert_int_equal(tl[0].n_reasons, THROTTLE_MAX_REASONS);
	assert_string_equal(tl[0].reasons[THROTTLE_MAX_REASONS - 1].text, THROTTLE_REASON_OTHER);
	throttle_free(t);
}

static void test_quiet_entries_are_freed(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(16);
	throttle_t *t = throttle_new(&c);
	fail_single(t, "s", "a", T0);
	assert_int_equal(throttle_entries(t), 2);
	assert_int_equal(drain_all(t, T0 + WINDOW - 1, false), 0);
	assert_int_equal(throttle_entries(t), 2);
	assert_int_equal(drain_all(t, T0 + WINDOW, false), 0);
	assert_int_equal(throttle_entries(t), 0);
	throttle_free(t);
}

static unsigned next_rand(unsigned *x) /* xorshift32: the same sequence everywhere */
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/* Random sources, clients and times over a small table: every failure and
 * every refused attempt comes back in exactly one tally. */
static void test_no_failure_is_ever_lost(void **state)
{
	(void)state;
	throttle_cfg_t c = cfg(8);
	throttle_t *t = throttle_new(&c);
	unsigned seed = 12345;
	int64_t now = T0, attempts = 0, recorded = 0;
	char src[8], client[8];
	for (int i = 0; i < 20000; i++) {
		snprintf(src, sizeof src, "s%d", (int)(next_rand(&seed) % 6));
		snprintf(client, sizeof client, "c%d", (int)(next_rand(&seed) % 5));
		bool with_client = next_rand(&seed) % 4 != 0;
		now += next_rand(&seed) % 200;
		throttle_attempt_t a = att(src, with_client ? client : NULL, next_rand(&seed) % 2 ? "p" : "q");
		attempts++;
		if (throttle_admit(t, &a, now) > 0)
			continue;
		throttle_out_t out;
		throttle_fail(t, &a, now, &out);
		assert_true(throttle_entries(t) <= 8);
		for (size_t k = 0; k < out.n; k++)
			recorded += tally_sum(&out.tally[k]);
		if (i % 50 == 0)
			recorded += drain_all(t, now, false);
	}
	recorded += drain_all(t, now, true);
	assert_int_equal(recorded, attempts);
	assert_int_equal(drain_all(t, now, true), 0);
	throttle_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects_bad_config),
		cmocka_unit_test(test_client_limit_blocks_only_that_client_and_source),
		cmocka_unit_test(test_back_off_doubles_up_to_the_cap_and_cools_down),
		cmocka_unit_test(test_hot_key_failures_are_aggregated_per_flush_interval),
		cmocka_unit_test(test_source_limit_spans_clients),
		cmocka_unit_test(test_failures_without_client_count_on_the_source),
		cmocka_unit_test(test_eviction_hands_back_pending_tallies),
		cmocka_unit_test(test_text_is_cut_and_made_valid_utf8),
		cmocka_unit_test(test_quiet_entries_are_freed),
		cmocka_unit_test(test_no_failure_is_ever_lost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
