/* test_edge_cache.c - the edge's verified-token cache and DPoP replay set
 * (src/edge/edge_cache.c): entries found by the token's exact bytes (one
 * byte off, a prefix or a longer token misses), only under the keys
 * generation they were verified with, expired and older-generation entries
 * replaced before live ones, the count and every set consistent under many
 * inserts and under threads, references that outlive eviction and the
 * cache itself (run in the ASan build); the replay set exact: a proof is
 * refused while it has not expired, and a full set refuses new proofs
 * until some expire. */
#include "test_util.h"
#include "edge/edge_cache.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A token-shaped string: header.payload.signature, the three parts
 * numbered (malloc'd). */
static char *token(int n)
{
	char *t = malloc(200);
	assert_non_null(t);
	snprintf(t, 200, "eyJhbGciOiJFZERTQSJ9-%d.eyJzdWIiOiJzdmMtb3JkZXJzIn0-%d.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg-%d", n,
		 n, n);
	return t;
}

/* Claims for token n (scope parsed, as the edge keeps them). */
static edge_claims_t claims(int n, int64_t exp)
{
	edge_claims_t c;
	const char *why = NULL;
	memset(&c, 0, sizeof c);
	snprintf(c.sub, sizeof c.sub, "svc-%d", n);
	snprintf(c.jti, sizeof c.jti, "jti-%d", n);
	c.iat = TU_NOW - 10;
	c.exp = exp;
	assert_int_equal(scope_parse("orders.read@Api:orders orders.create@Api:orders", &c.scope, &why), 0);
	return c;
}

/* Caches token n under gen; the caller's reference is given back. */
static void put(edge_cache_t *c, int n, uint64_t gen, int64_t exp, int64_t now)
{
	char *t = token(n);
	edge_claims_t cl = claims(n, exp);
	edge_cached_t *e = edge_cache_put(c, t, strlen(t), gen, &cl, now);
	assert_non_null(e);
	assert_null(cl.scope.buf); /* taken */
	assert_int_equal(edge_cached_claims(e)->exp, exp);
	edge_cached_release(e);
	free(t);
}

/* Whether token n is cached under gen (and with its own claims). */
static bool cached(edge_cache_t *c, int n, uint64_t gen)
{
	char *t = token(n), sub[32];
	edge_cached_t *e = edge_cache_get(c, t, strlen(t), gen);
	free(t);
	if (e == NULL)
		return false;
	snprintf(sub, sizeof sub, "svc-%d", n);
	assert_string_equal(edge_cached_claims(e)->sub, sub);
	edge_cached_release(e);
	return true;
}

static edge_cache_t *cache(size_t entries)
{
	edge_cache_t *c = edge_cache_new(entries);
	assert_non_null(c);
	return c;
}

/* ---- the token cache ---- */

static void test_exact_bytes(void **state)
{
	edge_cache_t *c = cache(1024);
	char *t = token(1);
	size_t len = strlen(t);
	edge_claims_t cl = claims(1, TU_NOW + 300);
	edge_cached_t *e = edge_cache_put(c, t, len, 1, &cl, TU_NOW);
	assert_non_null(e);
	const edge_claims_t *got = edge_cached_claims(e);
	assert_string_equal(got->sub, "svc-1");
	assert_string_equal(got->jti, "jti-1");
	assert_int_equal(got->exp, TU_NOW + 300);
	assert_int_equal(got->scope.n, 2);
	assert_true(scope_contains(&got->scope, "orders.create@Api:orders"));
	edge_cached_release(e);
	assert_int_equal(edge_cache_count(c), 1);
	assert_true(cached(c, 1, 1));
	assert_false(cached(c, 2, 1));

	/* one byte off anywhere misses: in the header (same signature, so the
	 * same set), in the payload, in the signature */
	char *other = strdup(t);
	assert_non_null(other);
	for (size_t i = 0; i < len; i++) {
		if (other[i] == '.')
			continue;
		other[i] ^= 0x01;
		assert_null(edge_cache_get(c, other, len, 1));
		other[i] ^= 0x01;
	}
	/* a prefix, the token without its signature, a longer token */
	assert_null(edge_cache_get(c, t, len - 1, 1));
	assert_null(edge_cache_get(c, t, (size_t)(strrchr(t, '.') - t), 1));
	char *longer = malloc(len + 2);
	assert_non_null(longer);
	memcpy(longer, t, len);
	memcpy(longer + len, "A", 2);
	assert_null(edge_cache_get(c, longer, len + 1, 1));
	/* the exact bytes from another buffer hit */
	e = edge_cache_get(c, other, len, 1);
	assert_non_null(e);
	edge_cached_release(e);
	free(longer);
	free(other);
	free(t);
	edge_cache_free(c);
}

static void test_generation(void **state)
{
	edge_cache_t *c = cache(1024);
	put(c, 1, 7, TU_NOW + 300, TU_NOW);
	assert_true(cached(c, 1, 7));
	assert_false(cached(c, 1, 8)); /* the keys changed: verify again */
	assert_false(cached(c, 1, 6));
	put(c, 1, 8, TU_NOW + 300, TU_NOW); /* verified again under the new keys */
	assert_true(cached(c, 1, 8));
	edge_cache_free(c);
}

/* A cache of 4 entries is one set of 4 ways. */
static void test_expired_replaced_first(void **state)
{
	edge_cache_t *c = cache(4);
	put(c, 0, 1, TU_NOW + 100, TU_NOW);
	put(c, 1, 1, TU_NOW + 100, TU_NOW);
	put(c, 2, 1, TU_NOW + 10, TU_NOW);
	put(c, 3, 1, TU_NOW + 100, TU_NOW);
	assert_int_equal(edge_cache_count(c), 4);
	/* later, token 2 has expired: it is the one replaced */
	put(c, 4, 1, TU_NOW + 100, TU_NOW + 20);
	assert_int_equal(edge_cache_count(c), 4);
	assert_false(cached(c, 2, 1));
	for (int n = 0; n < 5; n++)
		assert_int_equal(cached(c, n, 1), n != 2);
	/* an entry of an older keys generation goes before a live one */
	put(c, 5, 2, TU_NOW + 100, TU_NOW + 20);
	assert_int_equal(edge_cache_count(c), 4);
	assert_false(cached(c, 0, 1)); /* the first way found not current */
	assert_true(cached(c, 5, 2));
	put(c, 6, 2, TU_NOW + 100, TU_NOW + 20);
	put(c, 7, 2, TU_NOW + 100, TU_NOW + 20);
	put(c, 8, 2, TU_NOW + 100, TU_NOW + 20);
	for (int n = 5; n <= 8; n++)
		assert_true(cached(c, n, 2));
	/* all live and current: round robin, the newest always in */
	for (int n = 9; n < 30; n++) {
		put(c, n, 2, TU_NOW + 100, TU_NOW + 20);
		assert_true(cached(c, n, 2));
		int hits = 0;
		for (int m = 5; m <= n; m++)
			hits += cached(c, m, 2);
		assert_int_equal(hits, 4);
	}
	assert_int_equal(edge_cache_count(c), 4);
	edge_cache_free(c);
}

static void test_many_inserts(void **state)
{
	enum { CAP = 256, N = 20000 };
	edge_cache_t *c = cache(CAP);
	for (int n = 0; n < N; n++) {
		put(c, n, 1, TU_NOW + 300, TU_NOW);
		assert_true(cached(c, n, 1)); /* the newest is always found */
		assert_true(edge_cache_count(c) <= CAP);
	}
	assert_int_equal(edge_cache_count(c), CAP); /* every way filled by now */
	int hits = 0;
	for (int n = 0; n < N; n++)
		hits += cached(c, n, 1);
	assert_int_equal(hits, CAP);
	/* what was inserted last is still there (one of four ways per set) */
	int recent = 0;
	for (int n = N - 32; n < N; n++)
		recent += cached(c, n, 1);
	assert_true(recent >= 8);
	edge_cache_free(c);
}

/* A reference taken before an entry was evicted, or before the cache was
 * freed, stays readable until released. */
static void test_references_outlive_eviction(void **state)
{
	edge_cache_t *c = cache(4);
	char *t = token(100);
	edge_claims_t cl = claims(100, TU_NOW + 300);
	edge_cached_t *held = edge_cache_put(c, t, strlen(t), 1, &cl, TU_NOW);
	assert_non_null(held);
	edge_cached_t *again = edge_cache_get(c, t, strlen(t), 1);
	assert_ptr_equal(again, held);
	edge_cached_release(again);
	for (int n = 0; n < 8; n++)
		put(c, n, 1, TU_NOW + 300, TU_NOW);
	assert_null(edge_cache_get(c, t, strlen(t), 1)); /* evicted */
	assert_string_equal(edge_cached_claims(held)->sub, "svc-100");
	assert_true(scope_contains(&edge_cached_claims(held)->scope, "orders.read@Api:orders"));
	edge_cached_release(held);

	free(t);
	t = token(7);
	held = edge_cache_get(c, t, strlen(t), 1);
	assert_non_null(held);
	edge_cache_free(c);
	assert_string_equal(edge_cached_claims(held)->jti, "jti-7");
	edge_cached_release(held);
	edge_cached_release(NULL);
	edge_cache_free(NULL);
	free(t);
}

/* Threads putting, getting and releasing over a small cache, so that
 * entries are evicted while others hold them (ASan and UBSan watch). */
typedef struct {
	edge_cache_t *c;
	int base;
} worker_t;

static void *worker(void *arg)
{
	const worker_t *w = arg;
	for (int i = 0; i < 20000; i++) {
		int n = w->base + i % 64;
		char *t = token(n);
		edge_cached_t *e = edge_cache_get(w->c, t, strlen(t), 1);
		if (e == NULL) {
			edge_claims_t cl = claims(n, TU_NOW + 300);
			e = edge_cache_put(w->c, t, strlen(t), 1, &cl, TU_NOW);
		}
		if (e == NULL || edge_cached_claims(e)->jti[0] != 'j')
			abort();
		edge_cached_release(e);
		free(t);
	}
	return NULL;
}

static void test_threads(void **state)
{
	enum { THREADS = 4 };
	edge_cache_t *c = cache(32);
	pthread_t th[THREADS];
	worker_t w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker_t){c, i * 32}; /* overlapping token ranges */
		assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_true(edge_cache_count(c) <= 32);
	edge_cache_free(c);
}

/* ---- the replay set ---- */

#define JKT_A "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
#define JKT_B "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

static edge_replay_t *replay(size_t max)
{
	edge_replay_t *r = edge_replay_new(max);
	assert_non_null(r);
	return r;
}

static void test_replay_first_use(void **state)
{
	edge_replay_t *r = replay(100);
	assert_true(edge_replay_first_use(r, JKT_A, "p-1", TU_NOW + 60, TU_NOW));
	assert_false(edge_replay_first_use(r, JKT_A, "p-1", TU_NOW + 60, TU_NOW));
	assert_false(edge_replay_first_use(r, JKT_A, "p-1", TU_NOW + 60, TU_NOW + 30));
	assert_true(edge_replay_first_use(r, JKT_A, "p-2", TU_NOW + 60, TU_NOW)); /* another jti */
	assert_true(edge_replay_first_use(r, JKT_B, "p-1", TU_NOW + 60, TU_NOW)); /* another key */
	/* the separator cannot make two pairs one: (A, "x|y") is not (A|x, y) */
	assert_true(edge_replay_first_use(r, JKT_A, "x|y", TU_NOW + 60, TU_NOW));
	assert_false(edge_replay_first_use(r, JKT_A, "x|y", TU_NOW + 60, TU_NOW));
	/* refused up to its exp, even after a sweep */
	assert_false(edge_replay_first_use(r, JKT_A, "p-1", TU_NOW + 60, TU_NOW + 60));
	/* past it the proof is too old to pass anyway, and forgotten at the
	 * next sweep (at most 10 s on while the set is not full) */
	assert_true(edge_replay_first_use(r, JKT_A, "p-1", TU_NOW + 200, TU_NOW + 71));
	assert_false(edge_replay_first_use(r, JKT_A, "p-1", TU_NOW + 200, TU_NOW + 72));
	edge_replay_free(r);
	edge_replay_free(NULL);
}

static void test_replay_full_fails_closed(void **state)
{
	enum { MAX = 64 };
	edge_replay_t *r = replay(MAX);
	char jti[32];
	for (int i = 0; i < MAX; i++) {
		snprintf(jti, sizeof jti, "p-%d", i);
		/* half expire at +30, half at +90 */
		assert_true(edge_replay_first_use(r, JKT_A, jti, TU_NOW + (i % 2 ? 90 : 30), TU_NOW));
	}
	/* full of live proofs: a new one is refused, no old one forgotten */
	for (int t = 0; t <= 30; t += 5) {
		assert_false(edge_replay_first_use(r, JKT_A, "p-new", TU_NOW + 60, TU_NOW + t));
		for (int i = 0; i < MAX; i++) {
			snprintf(jti, sizeof jti, "p-%d", i);
			assert_false(edge_replay_first_use(r, JKT_A, jti, TU_NOW + 60, TU_NOW + t));
		}
	}
	/* once half have expired, new proofs fit again: exactly that many */
	for (int i = 0; i < MAX / 2; i++) {
		snprintf(jti, sizeof jti, "q-%d", i);
		assert_true(edge_replay_first_use(r, JKT_B, jti, TU_NOW + 120, TU_NOW + 31));
	}
	assert_false(edge_replay_first_use(r, JKT_B, "q-more", TU_NOW + 120, TU_NOW + 31));
	for (int i = 1; i < MAX; i += 2) { /* the ones still live are still refused */
		snprintf(jti, sizeof jti, "p-%d", i);
		assert_false(edge_replay_first_use(r, JKT_A, jti, TU_NOW + 90, TU_NOW + 31));
	}
	/* everything expired: the set is empty again */
	for (int i = 0; i < MAX; i++) {
		snprintf(jti, sizeof jti, "z-%d", i);
		assert_true(edge_replay_first_use(r, JKT_A, jti, TU_NOW + 200, TU_NOW + 121));
	}
	edge_replay_free(r);
}

/* Many proofs over a long time with a set sized for the proofs alive at
 * once: expired ones are swept as time goes, none is refused wrongly. */
static void test_replay_steady_stream(void **state)
{
	edge_replay_t *r = replay(1000);
	char jti[32];
	for (int i = 0; i < 100000; i++) {
		int64_t now = TU_NOW + i / 10; /* 10 proofs a second, each live 60 s */
		snprintf(jti, sizeof jti, "s-%d", i);
		if (!edge_replay_first_use(r, JKT_A, jti, now + 60, now))
			fail_msg("proof %d refused", i);
	}
	edge_replay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_generation),
		cmocka_unit_test(test_expired_replaced_first),
		cmocka_unit_test(test_many_inserts),
		cmocka_unit_test(test_references_outlive_eviction),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_replay_first_use),
		cmocka_unit_test(test_replay_full_fails_closed),
		cmocka_unit_test(test_replay_steady_stream),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
