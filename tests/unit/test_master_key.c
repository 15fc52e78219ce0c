/* test_master_key.c - the master key file's format (core/master_key.c):
 * what `keys master` writes reads back; 32 raw bytes and 64 hex digits are
 * keys, with or without a line ending; anything else is refused. */
#include "core/master_key.h"
#include "test_util.h"
#include <string.h>

static void test_round_trip(void **state)
{
	uint8_t key[MASTER_KEY_LEN], back[MASTER_KEY_LEN];
	char text[MASTER_KEY_TEXT_LEN + 1];
	for (int i = 0; i < MASTER_KEY_LEN; i++)
		key[i] = (uint8_t)(i * 37 + 1);
	master_key_format(key, text);
	assert_int_equal(strlen(text), MASTER_KEY_TEXT_LEN);
	assert_int_equal(text[MASTER_KEY_TEXT_LEN - 1], '\n');
	assert_int_equal(master_key_parse(text, strlen(text), back), 0);
	assert_memory_equal(key, back, MASTER_KEY_LEN);
}

static void test_accepted_forms(void **state)
{
	uint8_t out[MASTER_KEY_LEN];
	char raw[MASTER_KEY_LEN + 2];
	memset(raw, 'k', MASTER_KEY_LEN);
	assert_int_equal(master_key_parse(raw, MASTER_KEY_LEN, out), 0);
	assert_int_equal(out[0], 'k');
	raw[MASTER_KEY_LEN] = '\r';
	raw[MASTER_KEY_LEN + 1] = '\n';
	assert_int_equal(master_key_parse(raw, sizeof raw, out), 0);
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1F";
	assert_int_equal(master_key_parse(hex, strlen(hex), out), 0);
	assert_int_equal(out[31], 0x1f);
}

static void test_refused(void **state)
{
	uint8_t out[MASTER_KEY_LEN];
	const char *bad[] = {"", "\n", "abc", "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
			     "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f00",
			     "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(master_key_parse(bad[i], strlen(bad[i]), out), -1);
	char nul[2 * MASTER_KEY_LEN];
	memset(nul, 'a', sizeof nul);
	nul[10] = '\0';
	assert_int_equal(master_key_parse(nul, sizeof nul, out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_accepted_forms),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
