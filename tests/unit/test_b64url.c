/* test_b64url.c - strict base64url (no padding, canonical trailing bits,
 * URL-safe alphabet only) and hex codecs of src/core/b64url.c. */
#include "test_util.h"
#include "core/b64url.h"
#include <stdlib.h>
#include <string.h>

/* Decodes text into buf; returns b64url_decode()'s result. */
static int dec(const char *text, uint8_t *buf, size_t cap, size_t *n)
{
	return b64url_decode(text, strlen(text), buf, cap, n);
}

static void assert_rejected(const char *text)
{
	uint8_t buf[64];
	size_t n = 0;
	if (dec(text, buf, sizeof buf, &n) == 0)
		fail_msg("accepted \"%s\"", text);
}

static void test_encode_rfc4648_vectors(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *e = tu_b64(v[i].in);
		assert_string_equal(e, v[i].out);
		assert_int_equal(b64url_encoded_len(strlen(v[i].in)), strlen(v[i].out));
		free(e);
	}
}

static void test_encode_uses_url_alphabet(void **state)
{
	const uint8_t in[] = {0xfb, 0xff, 0xbf};
	char *e = b64url_encode(in, sizeof in);
	assert_string_equal(e, "-_-_");
	free(e);
}

static void test_encoded_len(void **state)
{
	assert_int_equal(b64url_encoded_len(0), 0);
	assert_int_equal(b64url_encoded_len(32), 43);
	assert_int_equal(b64url_encoded_len(64), 86);
}

static void test_round_trip_all_lengths(void **state)
{
	uint8_t in[70], out[70];
	for (size_t len = 0; len <= sizeof in; len++) {
		size_t n = 99;
		for (size_t i = 0; i < len; i++)
			in[i] = (uint8_t)(i * 37 + len);
		char *e = b64url_encode(in, len);
		assert_int_equal(dec(e, out, sizeof out, &n), 0);
		assert_int_equal(n, len);
		assert_memory_equal(in, out, len);
		free(e);
	}
}

static void test_decode_url_alphabet(void **state)
{
	uint8_t buf[8];
	size_t n = 0;
	assert_int_equal(dec("-_-_", buf, sizeof buf, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(buf[0], 0xfb);
	assert_int_equal(buf[2], 0xbf);
}

static void test_reject_padding(void **state)
{
	assert_rejected("Zg==");
	assert_rejected("Zm8=");
	assert_rejected("Zg=");
	assert_rejected("=");
}

static void test_reject_noncanonical_trailing_bits(void **state)
{
	/* "Zg" is 'f'; "Zh".."Zv" carry the same byte plus non-zero pad bits. */
	assert_rejected("Zh");
	assert_rejected("Zv");
	assert_rejected("Zm9");  /* canonical is "Zm8" */
	assert_rejected("Zm9vYh");
}

static void test_reject_standard_alphabet_and_junk(void **state)
{
	assert_rejected("+/8");
	assert_rejected("Zm9v+A");
	assert_rejected("Zm9v/A");
	assert_rejected("Zm 9v");
	assert_rejected("Zm9v\n");
	assert_rejected(" Zm9v");
	assert_rejected("Zm9v.");
	assert_rejected("Z\xc3\xa9v");
}

/* Regression: libsodium 1.0.18 decodes every byte >= 0x80 as '_', so
 * "AAA\xff" used to decode like "AAA_" and tokens had many spellings. */
static void test_reject_high_bytes(void **state)
{
	uint8_t buf[8];
	size_t n = 0;
	for (int b = 0x80; b <= 0xff; b++) {
		char in[4] = {'A', 'A', 'A', (char)b};
		if (b64url_decode(in, sizeof in, buf, sizeof buf, &n) == 0)
			fail_msg("accepted byte 0x%02x", b);
	}
}

static void test_reject_impossible_length(void **state)
{
	assert_rejected("Z");
	assert_rejected("Zm9vY");
}

static void test_reject_embedded_nul(void **state)
{
	uint8_t buf[8];
	size_t n = 0;
	assert_int_equal(b64url_decode("Zm\0v", 4, buf, sizeof buf, &n), -1);
}

static void test_reject_output_overflow(void **state)
{
	uint8_t buf[8];
	size_t n = 0;
	assert_int_equal(dec("Zm9vYmFy", buf, 5, &n), -1);
	assert_int_equal(dec("Zm9vYmFy", buf, 6, &n), 0);
	assert_int_equal(n, 6);
}

static void test_decode_respects_length(void **state)
{
	uint8_t buf[8];
	size_t n = 0;
	/* Only the first four characters are input; the rest must be ignored. */
	assert_int_equal(b64url_decode("Zm9v!!!!", 4, buf, sizeof buf, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "foo", 3);
}

static void test_hex_round_trip(void **state)
{
	const uint8_t in[] = {0x00, 0x7f, 0x80, 0xff};
	uint8_t out[4];
	char hex[9];
	hex_encode_to(in, sizeof in, hex);
	assert_string_equal(hex, "007f80ff");
	assert_int_equal(hex_decode(hex, out, sizeof out), 0);
	assert_memory_equal(in, out, sizeof in);
	assert_int_equal(hex_decode("007F80FF", out, sizeof out), 0);
	assert_memory_equal(in, out, sizeof in);
}

static void test_hex_rejects(void **state)
{
	uint8_t out[2];
	assert_int_equal(hex_decode("abc", out, sizeof out), -1);
	assert_int_equal(hex_decode("abcdef", out, sizeof out), -1);
	assert_int_equal(hex_decode("zz00", out, sizeof out), -1);
	assert_int_equal(hex_decode("00 0", out, sizeof out), -1);
	assert_int_equal(hex_decode("", out, sizeof out), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_rfc4648_vectors),
		cmocka_unit_test(test_encode_uses_url_alphabet),
		cmocka_unit_test(test_encoded_len),
		cmocka_unit_test(test_round_trip_all_lengths),
		cmocka_unit_test(test_decode_url_alphabet),
		cmocka_unit_test(test_reject_padding),
		cmocka_unit_test(test_reject_noncanonical_trailing_bits),
		cmocka_unit_test(test_reject_standard_alphabet_and_junk),
		cmocka_unit_test(test_reject_high_bytes),
		cmocka_unit_test(test_reject_impossible_length),
		cmocka_unit_test(test_reject_embedded_nul),
		cmocka_unit_test(test_reject_output_overflow),
		cmocka_unit_test(test_decode_respects_length),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_rejects),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
