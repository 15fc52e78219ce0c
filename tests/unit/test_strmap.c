/* test_strmap.c - the string hash map (src/core/strmap.c): put, get, del,
 * an overwrite freeing the old value, growth to many thousands of keys,
 * tombstones reused (insert/delete churn keeps the table small: the
 * largest calloc is watched through -Wl,--wrap=calloc), sweep, keys with
 * odd bytes, and the count. Values are counted allocations, so that every
 * value the map frees is seen freed exactly once. */
#include "test_util.h"
#include "core/strmap.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the largest calloc the map asks for (its slot table) ---- */

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);
static size_t largest_calloc;

void *__wrap_calloc(size_t n, size_t size)
{
	if (n * size > largest_calloc)
		largest_calloc = n * size;
	return __real_calloc(n, size);
}

/* ---- values that count themselves ---- */

static long live_values;

typedef struct {
	int n;
} value_t;

static value_t *value(int n)
{
	value_t *v = malloc(sizeof *v);
	assert_non_null(v);
	v->n = n;
	live_values++;
	return v;
}

static void value_free(void *p)
{
	if (p == NULL)
		return;
	live_values--;
	free(p);
}

static int value_of(const strmap_t *m, const char *key)
{
	const value_t *v = strmap_get(m, key);
	return v != NULL ? v->n : -1;
}

static strmap_t *map(void)
{
	live_values = 0;
	strmap_t *m = strmap_new(value_free);
	assert_non_null(m);
	return m;
}

static void put(strmap_t *m, const char *key, int n)
{
	assert_int_equal(strmap_put(m, key, value(n)), 0);
}

static void done(strmap_t *m)
{
	strmap_free(m);
	assert_int_equal(live_values, 0);
}

/* ---- tests ---- */

static void test_put_get_del(void **state)
{
	strmap_t *m = map();
	assert_int_equal(strmap_count(m), 0);
	assert_null(strmap_get(m, "jti-1"));
	assert_false(strmap_del(m, "jti-1"));
	put(m, "jti-1", 1);
	put(m, "jti-2", 2);
	assert_int_equal(strmap_count(m), 2);
	assert_int_equal(value_of(m, "jti-1"), 1);
	assert_int_equal(value_of(m, "jti-2"), 2);
	assert_null(strmap_get(m, "jti-3"));
	assert_null(strmap_get(m, "jti-")); /* a prefix is another key */
	assert_null(strmap_get(m, "jti-10"));
	assert_true(strmap_del(m, "jti-1"));
	assert_int_equal(live_values, 1); /* del freed the value */
	assert_false(strmap_del(m, "jti-1"));
	assert_null(strmap_get(m, "jti-1"));
	assert_int_equal(value_of(m, "jti-2"), 2);
	assert_int_equal(strmap_count(m), 1);
	put(m, "jti-1", 11); /* back after a delete */
	assert_int_equal(value_of(m, "jti-1"), 11);
	assert_int_equal(strmap_count(m), 2);
	done(m);
}

static void test_overwrite_frees_old_value(void **state)
{
	strmap_t *m = map();
	put(m, "id", 1);
	put(m, "id", 2);
	assert_int_equal(live_values, 1);
	assert_int_equal(strmap_count(m), 1);
	assert_int_equal(value_of(m, "id"), 2);
	/* the same value again is kept, not freed */
	value_t *v = strmap_get(m, "id");
	assert_int_equal(strmap_put(m, "id", v), 0);
	assert_int_equal(live_values, 1);
	assert_int_equal(value_of(m, "id"), 2);
	done(m);
}

static void test_key_is_copied(void **state)
{
	strmap_t *m = map();
	char key[16];
	snprintf(key, sizeof key, "grant-a");
	put(m, key, 7);
	key[6] = 'b'; /* the caller's buffer changes; the map's key does not */
	assert_int_equal(value_of(m, "grant-a"), 7);
	assert_null(strmap_get(m, "grant-b"));
	done(m);
}

static void test_no_free_function(void **state)
{
	strmap_t *m = strmap_new(NULL);
	static int a, b;
	assert_non_null(m);
	assert_int_equal(strmap_put(m, "a", &a), 0);
	assert_int_equal(strmap_put(m, "a", &b), 0); /* static values: nothing to free */
	assert_ptr_equal(strmap_get(m, "a"), &b);
	assert_true(strmap_del(m, "a"));
	strmap_free(m);
	strmap_free(NULL);
}

#define MANY 50000

static void test_growth(void **state)
{
	strmap_t *m = map();
	char key[32];
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof key, "jti-%d", i);
		put(m, key, i);
	}
	assert_int_equal(strmap_count(m), MANY);
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof key, "jti-%d", i);
		if (value_of(m, key) != i)
			fail_msg("%s lost in growth", key);
	}
	snprintf(key, sizeof key, "jti-%d", MANY);
	assert_null(strmap_get(m, key));
	/* every other one deleted: the rest still found across tombstones */
	for (int i = 0; i < MANY; i += 2) {
		snprintf(key, sizeof key, "jti-%d", i);
		assert_true(strmap_del(m, key));
	}
	assert_int_equal(strmap_count(m), MANY / 2);
	assert_int_equal(live_values, MANY / 2);
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof key, "jti-%d", i);
		assert_int_equal(value_of(m, key), i % 2 ? i : -1);
	}
	done(m);
}

/* A set that stays small while ids come and go (revoked jtis expiring,
 * DPoP proofs seen and swept) keeps a small table: deleted slots are
 * reused or rebuilt away, never piled up into growth. */
static void test_churn_stays_bounded(void **state)
{
	enum { LIVE = 50, ROUNDS = 200000 };
	strmap_t *m = map();
	char key[32];
	for (int i = 0; i < LIVE; i++) {
		snprintf(key, sizeof key, "live-%d", i);
		put(m, key, i);
	}
	largest_calloc = 0;
	for (int i = 0; i < ROUNDS; i++) {
		snprintf(key, sizeof key, "churn-%d", i);
		put(m, key, i);
		if (i >= 10) { /* ten in flight at a time */
			snprintf(key, sizeof key, "churn-%d", i - 10);
			assert_true(strmap_del(m, key));
		}
	}
	assert_int_equal(strmap_count(m), LIVE + 10);
	assert_true(largest_calloc > 0); /* the wrap sees the table's rebuilds */
	/* ROUNDS distinct keys without reuse would need a table of more
	 * than ROUNDS slots (megabytes); 60 live ones need a few hundred */
	if (largest_calloc > 64 * 1024)
		fail_msg("the table grew to a %zu-byte calloc under churn", largest_calloc);
	for (int i = 0; i < LIVE; i++) {
		snprintf(key, sizeof key, "live-%d", i);
		assert_int_equal(value_of(m, key), i);
	}
	for (int i = ROUNDS - 10; i < ROUNDS; i++) {
		snprintf(key, sizeof key, "churn-%d", i);
		assert_int_equal(value_of(m, key), i);
	}
	snprintf(key, sizeof key, "churn-%d", ROUNDS - 11);
	assert_null(strmap_get(m, key));
	done(m);
}

static bool odd_n(const char *key, void *v, void *ctx)
{
	(*(int *)ctx)++;
	return ((const value_t *)v)->n % 2 != 0;
}

static bool none(const char *key, void *v, void *ctx)
{
	(*(int *)ctx)++;
	return false;
}

static bool all(const char *key, void *v, void *ctx)
{
	return true;
}

static void test_sweep(void **state)
{
	strmap_t *m = map();
	char key[32];
	int seen = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "g-%d", i);
		put(m, key, i);
	}
	strmap_sweep(m, none, &seen);
	assert_int_equal(seen, 1000);
	assert_int_equal(strmap_count(m), 1000);
	seen = 0;
	strmap_sweep(m, odd_n, &seen);
	assert_int_equal(seen, 1000); /* every entry visited once */
	assert_int_equal(strmap_count(m), 500);
	assert_int_equal(live_values, 500);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "g-%d", i);
		assert_int_equal(value_of(m, key), i % 2 ? -1 : i);
	}
	/* the swept keys can come back */
	put(m, "g-1", 1);
	assert_int_equal(value_of(m, "g-1"), 1);
	strmap_sweep(m, all, NULL);
	assert_int_equal(strmap_count(m), 0);
	assert_int_equal(live_values, 0);
	assert_null(strmap_get(m, "g-0"));
	seen = 0;
	strmap_sweep(m, none, &seen); /* an empty map: nothing visited */
	assert_int_equal(seen, 0);
	done(m);
}

static void test_odd_keys(void **state)
{
	static const char *const keys[] = {
		"",                         /* empty */
		" ",
		"a|b",                      /* the replay set's separator */
		"a|",
		"|b",
		"\x01\x02\x03\x1f\x7f",
		"\xff\xfe\x80",             /* not UTF-8 */
		"\xc3\xa9t\xc3\xa9",        /* UTF-8 */
		"Order::\"42\"",
		"k\tey\n",
	};
	enum { N = sizeof keys / sizeof keys[0] };
	strmap_t *m = map();
	for (int i = 0; i < N; i++)
		put(m, keys[i], i);
	char *long_key = malloc(4097);
	assert_non_null(long_key);
	memset(long_key, '\xaa', 4096);
	long_key[4096] = '\0';
	put(m, long_key, 99);
	assert_int_equal(strmap_count(m), N + 1);
	for (int i = 0; i < N; i++)
		assert_int_equal(value_of(m, keys[i]), i);
	assert_int_equal(value_of(m, long_key), 99);
	long_key[4095] = '\xab'; /* the last byte differs */
	assert_null(strmap_get(m, long_key));
	long_key[4095] = '\0';   /* one byte shorter */
	assert_null(strmap_get(m, long_key));
	free(long_key);
	assert_true(strmap_del(m, ""));
	assert_null(strmap_get(m, ""));
	assert_int_equal(value_of(m, " "), 1);
	done(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
		cmocka_unit_test(test_overwrite_frees_old_value),
		cmocka_unit_test(test_key_is_copied),
		cmocka_unit_test(test_no_free_function),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_churn_stays_bounded),
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_odd_keys),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
