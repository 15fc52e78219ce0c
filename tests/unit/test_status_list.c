/* test_status_list.c - the Token Status List, pure (src/core/status_list.c,
 * docs/status_list.md): the draft's own test vectors
 * (draft-ietf-oauth-status-list-17 §4.1, §4.2 and Appendix C: bit order,
 * then the exact lst of each example), entries set and read at every
 * width and bound, decoding refusals (not base64url, not ZLIB, truncated,
 * trailing bytes, empty, inflating past the bound), the Status List
 * Token's claims and a client's checks of them, and Tollgate's paging of
 * one index space into lists (numbers, URIs, what is allocated). */
#include "test_util.h"
#include "core/b64url.h"
#include "core/status_list.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define ISS "https://tollgate.example"
#define URI ISS "/v1/status-lists/0"

/* A list of size entries of `bits`, with status[idx[i]] = val[i]. */
static void make_list(status_list_t *l, unsigned bits, uint64_t size, const uint64_t *idx, const unsigned *val,
		      size_t n)
{
	assert_int_equal(status_list_make(l, bits, size), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(status_list_set(l, idx[i], val[i]), 0);
}

/* Encodes l, expects lst, decodes it back and expects the same bytes. */
static void assert_lst(const status_list_t *l, const char *lst)
{
	status_list_t back;
	const char *why = NULL;
	char *got = status_list_encode(l);
	assert_non_null(got);
	assert_string_equal(got, lst);
	if (status_list_decode(got, strlen(got), l->bits, TG_MAX_STATUS_LIST_BYTES, &back, &why) != 0)
		fail_msg("decode refused its own lst: %s", why);
	assert_int_equal(back.len, l->len);
	assert_int_equal(back.size, l->size);
	assert_memory_equal(back.bytes, l->bytes, l->len);
	status_list_free(&back);
	free(got);
}

/* ---- the draft's vectors ------------------------------------------------- */

/* §4.1: 16 entries of 1 bit; the bytes 0xB9 0xA3, compressed
 * 78dadbb918000217015d, "lst": "eNrbuRgAAhcBXQ" (§4.2). */
static void test_draft_one_bit(void **state)
{
	static const unsigned st[16] = {1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1};
	status_list_t l;
	assert_int_equal(status_list_make(&l, 1, 16), 0);
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(status_list_set(&l, i, st[i]), 0);
	assert_int_equal(l.len, 2);
	assert_int_equal(l.bytes[0], 0xB9);
	assert_int_equal(l.bytes[1], 0xA3);
	for (uint64_t i = 0; i < 16; i++)
		assert_int_equal(status_list_get(&l, i), st[i]);
	assert_lst(&l, "eNrbuRgAAhcBXQ");
	status_list_free(&l);
}

/* §4.1: 12 entries of 2 bits; the bytes 0xC9 0x44 0xF9, "lst":
 * "eNo76fITAAPfAgc" (§4.2). */
static void test_draft_two_bits(void **state)
{
	static const unsigned st[12] = {1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3};
	status_list_t l;
	assert_int_equal(status_list_make(&l, 2, 12), 0);
	for (uint64_t i = 0; i < 12; i++)
		assert_int_equal(status_list_set(&l, i, st[i]), 0);
	assert_int_equal(l.bytes[0], 0xC9);
	assert_int_equal(l.bytes[1], 0x44);
	assert_int_equal(l.bytes[2], 0xF9);
	assert_lst(&l, "eNo76fITAAPfAgc");
	status_list_free(&l);
}

/* Appendix C.1: 2^20 entries of 1 bit, eleven of them INVALID. The lst
 * is the base64url of the compressed bytes of the draft's CBOR vector
 * (the JSON one is wrapped over lines there). */
static void test_draft_appendix_c1(void **state)
{
	static const uint64_t idx[] = {0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345};
	static const unsigned val[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
	status_list_t l;
	make_list(&l, 1, 1 << 20, idx, val, 11);
	assert_lst(&l, "eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogEAAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAA"
		       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAAA"
		       "7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAAAACAZC8L2AEb");
	int set = 0;
	for (uint64_t i = 0; i < l.size; i++)
		set += status_list_get(&l, i);
	assert_int_equal(set, 11);
	status_list_free(&l);
}

/* Appendix C.2: 2^20 entries of 2 bits. */
static void test_draft_appendix_c2(void **state)
{
	static const uint64_t idx[] = {0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345};
	static const unsigned val[] = {1, 2, 1, 3, 1, 1, 2, 1, 1, 2, 3};
	status_list_t l;
	make_list(&l, 2, 1 << 20, idx, val, 11);
	assert_lst(&l, "eNrt2zENACEQAEEuoaBABP5VIO01fCjIHTMStt9ovGVIAAAAAABAbiEBAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		       "AAAAAAAAAEB5WwIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAID0ugQAAAAAAAAAAAAAAAAAQG12SgAAAAAAAAAAAAAAAAAAAAAAAAAA"
		       "AOCSIQEAAAAAAAAAAAAAAAAAAAAAAAD8ExIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAwJEuAQAAAAAA"
		       "AAAAAAAAAAAAAAAAAMB9SwIAAAAAAAAAAAAAAAAAAACoYUoAAAAAAAAAAAAAAEBqH81gAQw");
	for (size_t i = 0; i < 11; i++)
		assert_int_equal(status_list_get(&l, idx[i]), val[i]);
	status_list_free(&l);
}

/* ---- entries ------------------------------------------------------------- */

static void test_set_get_every_width(void **state)
{
	static const unsigned widths[] = {1, 2, 4, 8};
	for (size_t w = 0; w < 4; w++) {
		unsigned bits = widths[w], max = (1u << bits) - 1;
		status_list_t l;
		assert_int_equal(status_list_make(&l, bits, 64), 0);
		assert_int_equal(l.len, 64 * bits / 8);
		for (uint64_t i = 0; i < 64; i++)
			assert_int_equal(status_list_get(&l, i), STATUS_VALID);
		for (uint64_t i = 0; i < 64; i++)
			assert_int_equal(status_list_set(&l, i, (unsigned)(i % (max + 1))), 0);
		for (uint64_t i = 0; i < 64; i++)
			assert_int_equal(status_list_get(&l, i), (int)(i % (max + 1)));
		/* setting one entry leaves its neighbours alone */
		assert_int_equal(status_list_set(&l, 5, 0), 0);
		assert_int_equal(status_list_get(&l, 4), (int)(4 % (max + 1)));
		assert_int_equal(status_list_get(&l, 6), (int)(6 % (max + 1)));
		assert_int_equal(status_list_set(&l, 0, max + 1), -1);
		assert_int_equal(status_list_set(&l, 64, 0), -1);
		assert_int_equal(status_list_get(&l, 64), -1);
		assert_int_equal(status_list_get(&l, UINT64_MAX), -1);
		status_list_free(&l);
	}
}

static void test_make_bounds(void **state)
{
	status_list_t l;
	assert_int_equal(status_list_make(&l, 3, 64), -1);
	assert_int_equal(status_list_make(&l, 0, 64), -1);
	assert_int_equal(status_list_make(&l, 16, 64), -1);
	assert_int_equal(status_list_make(&l, 1, 0), -1);
	assert_int_equal(status_list_make(&l, 1, 7), -1); /* not whole bytes */
	assert_int_equal(status_list_make(&l, 2, 6), -1);
	assert_int_equal(status_list_make(&l, 8, (uint64_t)TG_MAX_STATUS_LIST_BYTES + 1), -1);
	assert_int_equal(status_list_make(&l, 8, TG_MAX_STATUS_LIST_BYTES), 0);
	status_list_free(&l);
	assert_int_equal(status_list_make(&l, 1, TG_STATUS_LIST_SIZE), 0);
	assert_int_equal(l.len, TG_STATUS_LIST_SIZE / 8);
	/* a fresh list of Tollgate's size compresses to a few dozen characters */
	char *lst = status_list_encode(&l);
	assert_true(strlen(lst) < 64);
	free(lst);
	status_list_free(&l);
}

/* ---- decoding refusals --------------------------------------------------- */

/* base64url of the bytes. */
static char *b64(const uint8_t *p, size_t n)
{
	char *s = b64url_encode(p, n);
	assert_non_null(s);
	return s;
}

/* The ZLIB stream of n bytes of value v (malloc'd, *zn bytes). */
static uint8_t *zlib_of(size_t n, uint8_t v, size_t *zn)
{
	uint8_t *raw = malloc(n + 1);
	uLongf len = compressBound((uLong)n);
	uint8_t *z = malloc(len + 8);
	assert_non_null(raw);
	assert_non_null(z);
	memset(raw, v, n + 1);
	assert_int_equal(compress2(z, &len, raw, (uLong)n, 9), Z_OK);
	free(raw);
	*zn = len;
	return z;
}

static void decode_bad(const char *lst, unsigned bits, size_t max, const char *needle)
{
	status_list_t l;
	const char *why = NULL;
	assert_int_equal(status_list_decode(lst, strlen(lst), bits, max, &l, &why), -1);
	tu_assert_why(why, needle);
	assert_null(l.bytes);
}

static void test_decode_refusals(void **state)
{
	size_t zn;
	uint8_t *z = zlib_of(1024, 0, &zn);
	char *s;
	decode_bad("eNrbuRgAAhcBXQ", 3, 1024, "bits");
	decode_bad("", 1, 1024, "empty");
	decode_bad("eNrbuRgAAhcBXQ==", 1, 1024, "base64url");
	decode_bad("eNrbuRgA+hcBXQ", 1, 1024, "base64url");
	/* raw DEFLATE without the ZLIB header (RFC 1951 alone) */
	decode_bad(s = b64(z + 2, zn - 2), 1, 4096, "ZLIB"), free(s);
	/* a bad Adler-32 checksum */
	z[zn - 1] ^= 1;
	decode_bad(s = b64(z, zn), 1, 4096, "ZLIB"), free(s);
	z[zn - 1] ^= 1;
	/* cut short, and followed by bytes */
	decode_bad(s = b64(z, zn - 3), 1, 4096, "truncated"), free(s);
	z[zn] = 0;
	decode_bad(s = b64(z, zn + 1), 1, 4096, "after"), free(s);
	/* inflating past the bound: 1024 bytes into at most 1023 */
	decode_bad(s = b64(z, zn), 1, 1023, "larger"), free(s);
	free(z);
	/* a zero-length list */
	z = zlib_of(0, 0, &zn);
	decode_bad(s = b64(z, zn), 1, 4096, "empty"), free(s);
	free(z);
	/* a bomb: 64 MiB of zeros is a few dozen KiB compressed; refused at the bound */
	z = zlib_of(64u << 20, 0, &zn);
	decode_bad(s = b64(z, zn), 1, SIZE_MAX, "larger"), free(s);
	free(z);
	/* exactly at the bound is fine */
	z = zlib_of(4096, 0xff, &zn);
	status_list_t l;
	const char *why = NULL;
	s = b64(z, zn);
	assert_int_equal(status_list_decode(s, strlen(s), 4, 4096, &l, &why), 0);
	assert_int_equal(l.size, 8192);
	assert_int_equal(status_list_get(&l, 8191), 15);
	status_list_free(&l);
	free(s);
	free(z);
}

/* ---- the Status List Token ----------------------------------------------- */

static json_t *header_typ(const char *typ)
{
	return json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "kid", "k1", "typ", typ);
}

/* Claims of a list with entry 7 INVALID, iat now, exp now + 60, ttl 30. */
static json_t *claims(void)
{
	status_list_t l;
	assert_int_equal(status_list_make(&l, 1, TG_STATUS_LIST_SIZE), 0);
	assert_int_equal(status_list_set(&l, 7, STATUS_INVALID), 0);
	status_list_token_t t = {.issuer = ISS, .uri = URI, .iat = TU_NOW, .exp = TU_NOW + 60, .ttl = 30,
				 .aggregation_uri = ISS "/v1/status-lists"};
	json_t *p = status_list_token_claims(&t, &l);
	assert_non_null(p);
	status_list_free(&l);
	return p;
}

static int read_token(const json_t *h, const json_t *p, int64_t now, status_list_t *out, const char **why)
{
	status_list_check_t c = {.uri = URI, .now = now, .leeway = 5, .max_bytes = TG_MAX_STATUS_LIST_BYTES};
	return status_list_token_read(h, p, &c, out, why);
}

static void test_token_claims_round_trip(void **state)
{
	json_t *h = header_typ(STATUS_LIST_TYP), *p = claims();
	status_list_t l;
	const char *why = NULL;
	assert_string_equal(json_string_value(json_object_get(p, "iss")), ISS);
	assert_string_equal(json_string_value(json_object_get(p, "sub")), URI);
	assert_int_equal(json_integer_value(json_object_get(p, "iat")), TU_NOW);
	assert_int_equal(json_integer_value(json_object_get(p, "exp")), TU_NOW + 60);
	assert_int_equal(json_integer_value(json_object_get(p, "ttl")), 30);
	json_t *sl = json_object_get(p, "status_list");
	assert_int_equal(json_integer_value(json_object_get(sl, "bits")), 1);
	assert_string_equal(json_string_value(json_object_get(sl, "aggregation_uri")), ISS "/v1/status-lists");
	if (read_token(h, p, TU_NOW, &l, &why) != 0)
		fail_msg("refused: %s", why);
	assert_int_equal(l.size, TG_STATUS_LIST_SIZE);
	assert_int_equal(status_list_get(&l, 7), STATUS_INVALID);
	assert_int_equal(status_list_get(&l, 6), STATUS_VALID);
	assert_int_equal(status_list_get(&l, 8), STATUS_VALID);
	status_list_free(&l);
	json_decref(h);
	h = header_typ("application/statuslist+JWT");
	assert_int_equal(read_token(h, p, TU_NOW + 64, &l, &why), 0); /* exp within the leeway */
	status_list_free(&l);
	json_decref(h);
	json_decref(p);
}

static void token_bad(json_t *h, json_t *p, int64_t now, const char *needle)
{
	status_list_t l;
	const char *why = NULL;
	assert_int_equal(read_token(h, p, now, &l, &why), -1);
	tu_assert_why(why, needle);
	assert_null(l.bytes);
	json_decref(h);
	json_decref(p);
}

static json_t *claims_with_list(const char *key, json_t *value)
{
	json_t *p = claims();
	json_t *sl = json_object_get(p, "status_list");
	if (value == NULL)
		json_object_del(sl, key);
	else
		json_object_set_new(sl, key, value);
	return p;
}

static void test_token_checks(void **state)
{
	token_bad(header_typ("at+jwt"), claims(), TU_NOW, "typ");
	token_bad(json_pack("{s:s}", "alg", "EdDSA"), claims(), TU_NOW, "typ");
	token_bad(header_typ(STATUS_LIST_TYP), tu_with(claims(), "sub", json_string(ISS "/v1/status-lists/1")),
		  TU_NOW, "sub");
	token_bad(header_typ(STATUS_LIST_TYP), tu_with(claims(), "sub", NULL), TU_NOW, "sub");
	token_bad(header_typ(STATUS_LIST_TYP), tu_with(claims(), "iat", NULL), TU_NOW, "iat");
	token_bad(header_typ(STATUS_LIST_TYP), claims(), TU_NOW + 66, "exp");
	token_bad(header_typ(STATUS_LIST_TYP), tu_with(claims(), "ttl", json_integer(0)), TU_NOW, "ttl");
	token_bad(header_typ(STATUS_LIST_TYP), tu_with(claims(), "ttl", json_string("30")), TU_NOW, "ttl");
	token_bad(header_typ(STATUS_LIST_TYP), tu_with(claims(), "status_list", json_string("x")), TU_NOW,
		  "status_list");
	token_bad(header_typ(STATUS_LIST_TYP), claims_with_list("bits", json_integer(3)), TU_NOW, "bits");
	token_bad(header_typ(STATUS_LIST_TYP), claims_with_list("bits", json_integer(4294967297LL)), TU_NOW, "bits");
	token_bad(header_typ(STATUS_LIST_TYP), claims_with_list("bits", NULL), TU_NOW, "bits");
	token_bad(header_typ(STATUS_LIST_TYP), claims_with_list("lst", json_integer(1)), TU_NOW, "lst");
	token_bad(header_typ(STATUS_LIST_TYP), claims_with_list("lst", json_string("!!")), TU_NOW, "lst");
	/* exp is optional (RECOMMENDED), and so is ttl */
	status_list_t l;
	const char *why = NULL;
	json_t *h = header_typ(STATUS_LIST_TYP), *p = tu_with(tu_with(claims(), "exp", NULL), "ttl", NULL);
	assert_int_equal(read_token(h, p, TU_NOW + 100000, &l, &why), 0);
	status_list_free(&l);
	json_decref(h);
	json_decref(p);
}

/* ---- Tollgate's lists ---------------------------------------------------- */

static void test_paging(void **state)
{
	status_ref_t r = status_ref_of(0);
	assert_int_equal(r.list, 0);
	assert_int_equal(r.idx, 0);
	r = status_ref_of(TG_STATUS_LIST_SIZE - 1);
	assert_int_equal(r.list, 0);
	assert_int_equal(r.idx, TG_STATUS_LIST_SIZE - 1);
	r = status_ref_of(TG_STATUS_LIST_SIZE);
	assert_int_equal(r.list, 1);
	assert_int_equal(r.idx, 0);
	r = status_ref_of(5 * (int64_t)TG_STATUS_LIST_SIZE + 42);
	assert_int_equal(r.list, 5);
	assert_int_equal(r.idx, 42);
	assert_int_equal(status_list_first(3), 3 * (int64_t)TG_STATUS_LIST_SIZE);
	/* nothing handed out yet: no list; index 0 given: list 0 */
	assert_false(status_list_allocated(0, 0));
	assert_true(status_list_allocated(0, 1));
	assert_false(status_list_allocated(1, TG_STATUS_LIST_SIZE));
	assert_true(status_list_allocated(1, TG_STATUS_LIST_SIZE + 1));
	assert_false(status_list_allocated(-1, TG_STATUS_LIST_SIZE));
	assert_false(status_list_allocated(INT64_MAX, INT64_MAX));
}

static void test_list_numbers(void **state)
{
	static const char *const bad[] = {"", "-1", "+1", "01", "00", "abc", "1a", " 1", "1 ", "0x1", "1.0",
					  "99999999999999999999", "9223372036854775807"};
	int64_t k = -1;
	char last[32];
	assert_int_equal(status_list_number_parse("0", &k), 0);
	assert_int_equal(k, 0);
	assert_int_equal(status_list_number_parse("65536", &k), 0);
	assert_int_equal(k, 65536);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (status_list_number_parse(bad[i], &k) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	/* the last list whose indices all fit in 63 bits, and the one after it */
	int64_t max = INT64_MAX / TG_STATUS_LIST_SIZE - 1;
	snprintf(last, sizeof last, "%lld", (long long)max);
	assert_int_equal(status_list_number_parse(last, &k), 0);
	assert_int_equal(k, max);
	assert_true(status_list_first(k) + TG_STATUS_LIST_SIZE > status_list_first(k));
	snprintf(last, sizeof last, "%lld", (long long)max + 1);
	assert_int_equal(status_list_number_parse(last, &k), -1);
}

static void test_uris(void **state)
{
	char out[TG_MAX_STATUS_LIST_URI + 1], *issuer;
	assert_int_equal(status_list_uri(ISS, 0, out, sizeof out), 0);
	assert_string_equal(out, URI);
	assert_int_equal(status_list_uri("http://127.0.0.1:8420", 12, out, sizeof out), 0);
	assert_string_equal(out, "http://127.0.0.1:8420/v1/status-lists/12");
	assert_int_equal(status_list_uri(ISS, 0, out, 10), -1);
	issuer = malloc(TG_MAX_STATUS_LIST_URI + 1);
	memset(issuer, 'a', TG_MAX_STATUS_LIST_URI);
	issuer[TG_MAX_STATUS_LIST_URI] = '\0';
	assert_int_equal(status_list_uri(issuer, 0, out, sizeof out), -1);
	free(issuer);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_draft_one_bit),
		cmocka_unit_test(test_draft_two_bits),
		cmocka_unit_test(test_draft_appendix_c1),
		cmocka_unit_test(test_draft_appendix_c2),
		cmocka_unit_test(test_set_get_every_width),
		cmocka_unit_test(test_make_bounds),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_token_claims_round_trip),
		cmocka_unit_test(test_token_checks),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_list_numbers),
		cmocka_unit_test(test_uris),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
