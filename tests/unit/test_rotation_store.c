/* test_rotation_store.c - the rotation rows of the SQLite store
 * (src/store/sqlite_rotation.c) on a real database file: the rotation
 * lease is taken by one owner at a time by compare-and-set, renewed by
 * its owner, passes on only once it ran out or was given up (what keeps
 * two brokers on one database from both rotating); a target only for a
 * live secret; the state round trip; requests with and without now; the
 * active query. */
#include "test_util.h"
#include "store/store.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	char dir[64];
	char url[128];
	store_t *s;
} fixture_t;

static int setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	char err[300];
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/tg-rotstore-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->url, sizeof fx->url, "sqlite:%s/t.db", fx->dir);
	fx->s = store_open(fx->url, false, err, sizeof err);
	if (fx->s == NULL)
		fail_msg("store_open: %s", err);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *fx = *state;
	char p[160];
	store_close(fx->s);
	for (const char *const *sfx = (const char *const[]){"", "-wal", "-shm", NULL}; *sfx; sfx++) {
		snprintf(p, sizeof p, "%s/t.db%s", fx->dir, *sfx);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A live secret (its value and data key are not looked at here). */
static void put_secret(store_t *s, const char *name, int64_t next_due)
{
	uint8_t wrapped[72] = {1}, sealed[40] = {2};
	secret_put_t p = {.name = name, .metadata = "{}", .wrapped_key = wrapped, .wrapped_len = sizeof wrapped,
			  .master_key_id = "0123456789abcdef", .version = 1, .sealed = sealed,
			  .sealed_len = sizeof sealed, .now = TU_NOW, .next_due = next_due};
	assert_int_equal(store_secret_put(s, &p, NULL), STORE_OK);
}

static void test_lease_one_owner_at_a_time(void **state)
{
	store_t *s = ((fixture_t *)*state)->s;
	assert_int_equal(store_rotation_lease(s, "broker-a", TU_NOW, TU_NOW + 10), STORE_OK);
	assert_int_equal(store_rotation_lease(s, "broker-b", TU_NOW + 1, TU_NOW + 11), STORE_CONFLICT);
	assert_int_equal(store_rotation_lease(s, "broker-a", TU_NOW + 5, TU_NOW + 15), STORE_OK); /* renewed */
	assert_int_equal(store_rotation_lease(s, "broker-b", TU_NOW + 14, TU_NOW + 24), STORE_CONFLICT);
	/* Ran out: the other broker takes it, and the first no longer can. */
	assert_int_equal(store_rotation_lease(s, "broker-b", TU_NOW + 15, TU_NOW + 25), STORE_OK);
	assert_int_equal(store_rotation_lease(s, "broker-a", TU_NOW + 16, TU_NOW + 26), STORE_CONFLICT);
	/* Given up: free at once; giving up a lease one does not hold changes nothing. */
	assert_int_equal(store_rotation_lease_release(s, "broker-a"), STORE_OK);
	assert_int_equal(store_rotation_lease(s, "broker-c", TU_NOW + 16, TU_NOW + 26), STORE_CONFLICT);
	assert_int_equal(store_rotation_lease_release(s, "broker-b"), STORE_OK);
	assert_int_equal(store_rotation_lease(s, "broker-c", TU_NOW + 16, TU_NOW + 26), STORE_OK);
}

static void test_target_and_state(void **state)
{
	store_t *s = ((fixture_t *)*state)->s;
	rotation_record_t r;
	assert_int_equal(store_rotation_set_target(s, "nope", "{}", TU_NOW, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_rotation_get(s, "db", &r), STORE_NOT_FOUND);
	put_secret(s, "db", 0);
	assert_int_equal(store_rotation_set_target(s, "db", "{\"driver\":\"exec\"}", TU_NOW, NULL), STORE_OK);
	assert_int_equal(store_rotation_get(s, "db", &r), STORE_OK);
	assert_string_equal(r.target, "{\"driver\":\"exec\"}");
	assert_string_equal(r.phase, "idle");
	assert_false(r.requested);
	snprintf(r.phase, sizeof r.phase, "promoted");
	r.failures = 3, r.not_before = TU_NOW + 60, r.retire_after = TU_NOW + 600, r.new_version = 2,
	r.old_version = 1;
	snprintf(r.last_error, sizeof r.last_error, "boom");
	assert_int_equal(store_rotation_save(s, &r, TU_NOW + 1, NULL), STORE_OK);
	rotation_record_release(&r);
	/* A new target keeps the state. */
	assert_int_equal(store_rotation_set_target(s, "db", "{\"driver\":\"webhook\"}", TU_NOW + 2, NULL), STORE_OK);
	assert_int_equal(store_rotation_get(s, "db", &r), STORE_OK);
	assert_string_equal(r.target, "{\"driver\":\"webhook\"}");
	assert_string_equal(r.phase, "promoted");
	assert_int_equal(r.failures, 3);
	assert_int_equal(r.not_before, TU_NOW + 60);
	assert_int_equal(r.retire_after, TU_NOW + 600);
	assert_int_equal(r.new_version, 2);
	assert_int_equal(r.old_version, 1);
	assert_string_equal(r.last_error, "boom");
	assert_int_equal(r.updated_at, TU_NOW + 2);
	rotation_record_release(&r);
}

static void test_requests_and_active(void **state)
{
	store_t *s = ((fixture_t *)*state)->s;
	rotation_record_t r;
	char **names;
	size_t n;
	put_secret(s, "a", 0);
	put_secret(s, "b", TU_NOW + 100); /* due later */
	put_secret(s, "c", 0);
	for (const char *const *x = (const char *const[]){"a", "b", "c", NULL}; *x; x++)
		assert_int_equal(store_rotation_set_target(s, *x, "{}", TU_NOW, NULL), STORE_OK);
	assert_int_equal(store_rotation_request(s, "nope", TU_NOW, false, NULL), STORE_NOT_FOUND);
	assert_int_equal(store_rotation_active(s, TU_NOW, 10, &names, &n), STORE_OK);
	assert_int_equal(n, 0);
	free(names);
	/* a: requested after a failure's back-off; c: requested now. */
	assert_int_equal(store_rotation_get(s, "a", &r), STORE_OK);
	r.not_before = TU_NOW + 500;
	assert_int_equal(store_rotation_save(s, &r, TU_NOW, NULL), STORE_OK);
	rotation_record_release(&r);
	assert_int_equal(store_rotation_request(s, "a", TU_NOW, false, NULL), STORE_OK);
	assert_int_equal(store_rotation_request(s, "c", TU_NOW, true, NULL), STORE_OK);
	assert_int_equal(store_rotation_get(s, "a", &r), STORE_OK);
	assert_true(r.requested);
	assert_false(r.requested_now);
	assert_int_equal(r.not_before, TU_NOW + 500); /* the back-off holds */
	rotation_record_release(&r);
	/* A later request without now does not take now back. */
	assert_int_equal(store_rotation_request(s, "c", TU_NOW, false, NULL), STORE_OK);
	assert_int_equal(store_rotation_get(s, "c", &r), STORE_OK);
	assert_true(r.requested && r.requested_now);
	rotation_record_release(&r);
	assert_int_equal(store_rotation_request(s, "a", TU_NOW, true, NULL), STORE_OK);
	assert_int_equal(store_rotation_get(s, "a", &r), STORE_OK);
	assert_true(r.requested_now);
	assert_int_equal(r.not_before, 0);
	rotation_record_release(&r);
	/* Active: requested ones now, the due one once it is due. */
	assert_int_equal(store_rotation_active(s, TU_NOW, 10, &names, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "c");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(store_rotation_active(s, TU_NOW + 100, 10, &names, &n), STORE_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	assert_int_equal(store_rotation_active(s, TU_NOW + 100, 1, &names, &n), STORE_OK);
	assert_int_equal(n, 1);
	free(names[0]);
	free(names);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lease_one_owner_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_and_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_and_active, setup, teardown),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
