/* test_secret.c - stored secrets (core/secret.c, core/secret_box.c): names,
 * durations, the metadata document's bounds and normal form, and envelope
 * encryption: what is sealed opens with the same keys, name and version,
 * and nothing else opens it (tampered bytes, another name or version, a
 * data key wrapped for another secret or under another master key or id). */
#include "core/secret.h"
#include "core/secret_box.h"
#include "test_util.h"
#include <sodium.h>
#include <string.h>

static void test_names(void **state)
{
	const char *good[] = {"erp-db", "a", "prod.erp.db-password", "A_b-9.x", "..."};
	const char *bad[] = {"", "/a", "a/", "a//b", "a/./b", "../x", "a b", "a:b", "a|b", "ä", "a\nb", ".", "..", "a/b"};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_true(secret_name_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(secret_name_valid(bad[i]));
	char longest[SECRET_MAX_NAME + 2];
	memset(longest, 'n', sizeof longest);
	longest[SECRET_MAX_NAME] = '\0';
	assert_true(secret_name_valid(longest));
	longest[SECRET_MAX_NAME] = 'n';
	longest[SECRET_MAX_NAME + 1] = '\0';
	assert_false(secret_name_valid(longest));
	assert_false(secret_name_valid(NULL));
}

static void test_durations(void **state)
{
	int64_t d = 0;
	assert_int_equal(secret_duration_parse("90", &d), 0);
	assert_int_equal(d, 90);
	assert_int_equal(secret_duration_parse("30d", &d), 0);
	assert_int_equal(d, 30 * 86400);
	assert_int_equal(secret_duration_parse("1d12h30m5s", &d), 0);
	assert_int_equal(d, 86400 + 12 * 3600 + 30 * 60 + 5);
	const char *bad[] = {"", "d", "1x", "1h1d", "1d1d", "-5", "1.5h", "99999999999999999999", "1d ", "5s3"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(secret_duration_parse(bad[i], &d), -1);
}

static json_t *meta(const char *text, char *why)
{
	json_t *doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	json_t *out = secret_meta_parse(doc, why, 200);
	json_decref(doc);
	return out;
}

static void test_meta_normal_form(void **state)
{
	char why[200];
	json_t *m = meta("{\"owner\":\"team-erp\",\"target\":\"postgres://erp\",\"consumers\":[\"svc-a\",\"svc-b\"],"
			 "\"rotation\":{\"rotate_every\":\"30d\",\"grace\":\"1h\",\"window\":\"nightly\"},"
			 "\"description\":\"ERP database password\"}", why);
	assert_non_null(m);
	assert_int_equal(secret_meta_rotate_every(m), 30 * 86400);
	assert_int_equal(secret_meta_grace(m), 3600);
	assert_int_equal(secret_next_due(m, TU_NOW), TU_NOW + 30 * 86400);
	assert_string_equal(json_string_value(json_object_get(json_object_get(m, "rotation"), "window")), "nightly");
	json_t *again = secret_meta_parse(m, why, sizeof why);
	assert_non_null(again);
	assert_true(json_equal(m, again));
	json_decref(again);
	json_decref(m);
	m = meta("{}", why);
	assert_non_null(m);
	assert_int_equal(secret_next_due(m, TU_NOW), 0);
	json_decref(m);
}

static void test_meta_refused(void **state)
{
	char why[200];
	const char *bad[] = {
		"[]", "{\"owner\":5}", "{\"owner\":\"\"}", "{\"colour\":\"red\"}", "{\"consumers\":\"svc\"}",
		"{\"consumers\":[\"a\",\"a\"]}", "{\"consumers\":[1]}", "{\"rotation\":5}",
		"{\"rotation\":{}}", "{\"rotation\":{\"rotate_every\":\"10s\"}}",
		"{\"rotation\":{\"rotate_every\":\"1h\",\"grace\":\"2h\"}}",
		"{\"rotation\":{\"rotate_every\":\"1h\",\"every\":1}}",
		"{\"rotation\":{\"rotate_every\":-60}}", "{\"owner\":\"a\\u0001b\"}",
		"{\"rotation\":{\"rotate_every\":\"99999d\"}}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why[0] = '\0';
		json_t *m = meta(bad[i], why);
		if (m != NULL)
			fail_msg("accepted %s", bad[i]);
		assert_true(why[0] != '\0');
	}
	char big[SECRET_MAX_DESCRIPTION + 40];
	memset(big, 'd', sizeof big);
	memcpy(big, "{\"description\":\"", 16);
	memcpy(big + sizeof big - 3, "\"}", 3);
	assert_null(meta(big, why));
	json_t *many = json_array();
	for (int i = 0; i <= SECRET_MAX_CONSUMERS; i++)
		json_array_append_new(many, json_sprintf("svc-%d", i));
	json_t *doc = json_pack("{s:o}", "consumers", many);
	assert_null(secret_meta_parse(doc, why, sizeof why));
	json_decref(doc);
}

static void test_vstates(void **state)
{
	secret_vstate_t s;
	for (int i = 0; i < SECRET_V_COUNT; i++) {
		assert_int_equal(secret_vstate_parse(secret_vstate_name((secret_vstate_t)i), &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(secret_vstate_parse("active", &s), -1);
}

typedef struct {
	uint8_t master[SECRET_KEY_LEN], dk[SECRET_KEY_LEN], nonce[SECRET_NONCE_LEN];
	char mkid[SECRET_MKID_LEN + 1];
	uint8_t wrapped[SECRET_WRAPPED_LEN];
	uint8_t sealed[64 + SECRET_BOX_OVERHEAD];
	size_t sealed_len;
} box_t;

static void box_make(box_t *b)
{
	randombytes_buf(b->master, sizeof b->master);
	randombytes_buf(b->dk, sizeof b->dk);
	randombytes_buf(b->nonce, sizeof b->nonce);
	secret_master_key_id(b->master, b->mkid);
	assert_int_equal(secret_wrap_key(b->master, b->mkid, "erp-db", b->dk, b->nonce, b->wrapped), 0);
	assert_int_equal(secret_seal_value(b->dk, "erp-db", 3, b->nonce, (const uint8_t *)"hunter2", 7, b->sealed,
					   sizeof b->sealed, &b->sealed_len), 0);
}

static void test_box_round_trip(void **state)
{
	box_t b;
	uint8_t dk[SECRET_KEY_LEN], out[64];
	size_t n = 0;
	box_make(&b);
	assert_int_equal(strlen(b.mkid), SECRET_MKID_LEN);
	assert_int_equal(b.sealed_len, 7 + SECRET_BOX_OVERHEAD);
	assert_null(memmem(b.sealed, b.sealed_len, "hunter2", 7));
	assert_int_equal(secret_unwrap_key(b.master, b.mkid, "erp-db", b.wrapped, sizeof b.wrapped, dk), 0);
	assert_memory_equal(dk, b.dk, sizeof dk);
	assert_int_equal(secret_open_value(dk, "erp-db", 3, b.sealed, b.sealed_len, out, sizeof out, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(out, "hunter2", 7);
	/* an empty value seals too */
	assert_int_equal(secret_seal_value(b.dk, "e", 1, b.nonce, NULL, 0, b.sealed, sizeof b.sealed, &b.sealed_len), 0);
	assert_int_equal(secret_open_value(b.dk, "e", 1, b.sealed, b.sealed_len, out, sizeof out, &n), 0);
	assert_int_equal(n, 0);
}

static void test_box_refusals(void **state)
{
	box_t b;
	uint8_t dk[SECRET_KEY_LEN], out[64], other[SECRET_KEY_LEN];
	size_t n = 0;
	box_make(&b);
	memcpy(other, b.master, sizeof other);
	other[0] ^= 1;
	char other_id[SECRET_MKID_LEN + 1];
	secret_master_key_id(other, other_id);
	assert_string_not_equal(other_id, b.mkid);
	/* the data key: another master key, id or secret, tampered, truncated */
	assert_int_equal(secret_unwrap_key(other, b.mkid, "erp-db", b.wrapped, sizeof b.wrapped, dk), -1);
	assert_int_equal(secret_unwrap_key(b.master, other_id, "erp-db", b.wrapped, sizeof b.wrapped, dk), -1);
	assert_int_equal(secret_unwrap_key(b.master, b.mkid, "erp-dc", b.wrapped, sizeof b.wrapped, dk), -1);
	assert_int_equal(secret_unwrap_key(b.master, b.mkid, "erp-db", b.wrapped, sizeof b.wrapped - 1, dk), -1);
	for (size_t i = 0; i < sizeof b.wrapped; i += 7) {
		b.wrapped[i] ^= 0x20;
		assert_int_equal(secret_unwrap_key(b.master, b.mkid, "erp-db", b.wrapped, sizeof b.wrapped, dk), -1);
		b.wrapped[i] ^= 0x20;
	}
	/* the value: another version, secret or data key, tampered, too small */
	assert_int_equal(secret_open_value(b.dk, "erp-db", 2, b.sealed, b.sealed_len, out, sizeof out, &n), -1);
	assert_int_equal(secret_open_value(b.dk, "erp-db", 4, b.sealed, b.sealed_len, out, sizeof out, &n), -1);
	assert_int_equal(secret_open_value(b.dk, "erp-dc", 3, b.sealed, b.sealed_len, out, sizeof out, &n), -1);
	assert_int_equal(secret_open_value(other, "erp-db", 3, b.sealed, b.sealed_len, out, sizeof out, &n), -1);
	for (size_t i = 0; i < b.sealed_len; i++) {
		b.sealed[i] ^= 0x01;
		assert_int_equal(secret_open_value(b.dk, "erp-db", 3, b.sealed, b.sealed_len, out, sizeof out, &n), -1);
		b.sealed[i] ^= 0x01;
	}
	assert_int_equal(secret_open_value(b.dk, "erp-db", 3, b.sealed, SECRET_BOX_OVERHEAD - 1, out, sizeof out, &n), -1);
	assert_int_equal(secret_open_value(b.dk, "erp-db", 3, b.sealed, b.sealed_len, out, 6, &n), -1);
	/* bounds */
	static uint8_t big[SECRET_MAX_VALUE + 1 + SECRET_BOX_OVERHEAD];
	assert_int_equal(secret_seal_value(b.dk, "x", 1, b.nonce, big, SECRET_MAX_VALUE + 1, big, sizeof big, &n), -1);
	assert_int_equal(secret_seal_value(b.dk, "x", 1, b.nonce, big, 10, out, 10, &n), -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_meta_normal_form),
		cmocka_unit_test(test_meta_refused),
		cmocka_unit_test(test_vstates),
		cmocka_unit_test(test_box_round_trip),
		cmocka_unit_test(test_box_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
