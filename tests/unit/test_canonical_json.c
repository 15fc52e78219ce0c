/* test_canonical_json.c - the hashing form of src/core/canonical_json.c is
 * byte for byte Python's
 *   json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
 * (known answers computed with python3), integers only: reals are refused. */
#include "test_util.h"
#include "core/canonical_json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Flags that accept every value Python can dump: scalars at the top level
 * and U+0000 inside strings. */
#define LOAD_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL)

static json_t *load(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, LOAD_FLAGS, &err);
	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", text, err.text);
	return j;
}

/* canonical_json(load(in)) must be exactly want. */
static void expect_canonical(const char *in, const char *want)
{
	json_t *v = load(in);
	char *got = canonical_json(v);
	if (got == NULL)
		fail_msg("canonical_json refused %s", in);
	if (strcmp(got, want) != 0)
		fail_msg("canonical_json(%s)\n  = %s\n want %s", in, got, want);
	/* The canonical form is itself JSON for the same value, and is a fixed
	 * point. */
	json_t *back = load(got);
	assert_true(json_equal(v, back));
	char *again = canonical_json(back);
	assert_non_null(again);
	assert_string_equal(again, got);
	free(again);
	json_decref(back);
	free(got);
	json_decref(v);
}

/* Inputs (JSON text, non-ASCII written as \u escapes) and the bytes of
 *   json.dumps(json.loads(in), sort_keys=True, separators=(",", ":"),
 *              ensure_ascii=False).encode()
 * from /usr/bin/python3 (3.11), written out as C literals with every byte
 * outside printable ASCII as an octal escape. */
static const struct {
	const char *in, *want;
} vectors[] = {
	/* Nested objects and arrays, keys sorted at every level. */
	{"{\"b\":{\"z\":1,\"a\":[1,{\"y\":null,\"x\":true},[]]},\"a\":false,\"c\":[],\"d\":{},\"e\":[{\"b\":2,\"a\":1}]}",
	 "{\"a\":false,\"b\":{\"a\":[1,{\"x\":true,\"y\":null},[]],\"z\":1},\"c\":[],\"d\":{},\"e\":[{\"a\":1,\"b\":2}]}"},
	/* Key order by code point: empty, control, upper before lower, prefix
	 * before longer, DEL, then 2-, 3- and 4-byte UTF-8. U+FF5A sorts before
	 * U+1F600 (a UTF-16 order would put the surrogate pair first). */
	{"{\"\\u00e9\":1,\"e\":2,\"z\":3,\"Z\":4,\"\\ud83d\\ude00\":5,\"\\u4e2d\":6,\"\\uff5a\":7,\"\\u007f\":8,\"\":9,\"aa\":10,\"a\":11,\"a \":12,\"\\u0001\":13,\"~\":14,\"\\u0080\":15,\"\\u07ff\":16,\"\\u0800\":17}",
	 "{\"\":9,\"\\u0001\":13,\"Z\":4,\"a\":11,\"a \":12,\"aa\":10,\"e\":2,\"z\":3,\"~\":14,\"\177\":8,\"\302\200\":15,\"\303\251\":1,\"\337\277\":16,\"\340\240\200\":17,\"\344\270\255\":6,\"\357\275\232\":7,\"\360\237\230\200\":5}"},
	/* Every control character 0x00-0x1f: short escapes for \b \t \n \f \r,
	 * lower-case \u00xx for the rest. */
	{"\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\u0008\\u0009\\u000a\\u000b\\u000c\\u000d\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"",
	 "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""},
	/* Control characters in keys too; U+0000 inside a value. */
	{"{\"k\\u0001\\u001f\":\"a\\u0000b\",\"\\n\":\"\\t\"}",
	 "{\"\\n\":\"\\t\",\"k\\u0001\\u001f\":\"a\\u0000b\"}"},
	/* Quotes and backslashes escaped, "/" not. */
	{"{\"q\\\"k\\\\\":\"say \\\"hi\\\" \\\\ back\\/slash \\\\\\\"\"}",
	 "{\"q\\\"k\\\\\":\"say \\\"hi\\\" \\\\ back/slash \\\\\\\"\"}"},
	/* U+2028, U+2029, DEL, emoji, BOM and astral CJK as raw UTF-8. */
	{"[\"\\u2028\",\"\\u2029\",\"\\u007f\",\"\\ud83d\\ude00\\ud83c\\udf89\",\"\\ufeff\",\"\\ud840\\udc00\",\"caf\\u00e9 \\u65e5\\u672c\"]",
	 "[\"\342\200\250\",\"\342\200\251\",\"\177\",\"\360\237\230\200\360\237\216\211\",\"\357\273\277\",\"\360\240\200\200\",\"caf\303\251 \346\227\245\346\234\254\"]"},
	/* Integers, negative and at the int64 limits; -0 is 0. */
	{"[0,-1,1,-0,42,-9223372036854775808,9223372036854775807,1234567890123,-1234567890123]",
	 "[0,-1,1,0,42,-9223372036854775808,9223372036854775807,1234567890123,-1234567890123]"},
	{"{}", "{}"},
	{"[]", "[]"},
	{"null", "null"},
	{"true", "true"},
	{"false", "false"},
	{"\"\"", "\"\""},
	{"-9223372036854775808", "-9223372036854775808"},
	{"[[[[{\"a\":[{}]}]]]]", "[[[[{\"a\":[{}]}]]]]"},
	/* Shaped like an audit record. */
	{"{\"seq\":7,\"time\":\"2023-11-14T22:13:20.000000Z\",\"type\":\"token.issued\",\"actor\":\"svc-a\",\"details\":{\"scopes\":[\"read\",\"write\"],\"n\":3,\"ok\":true,\"none\":null},\"policies\":[],\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"}",
	 "{\"actor\":\"svc-a\",\"details\":{\"n\":3,\"none\":null,\"ok\":true,\"scopes\":[\"read\",\"write\"]},\"policies\":[],\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",\"seq\":7,\"time\":\"2023-11-14T22:13:20.000000Z\",\"type\":\"token.issued\"}"},
};

static void test_python_vectors(void **state)
{
	for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
		expect_canonical(vectors[i].in, vectors[i].want);
}

static void test_whitespace_and_member_order_do_not_matter(void **state)
{
	const char *want = "{\"a\":[1,2,{\"c\":null,\"d\":\"x y\"}],\"b\":true}";
	expect_canonical("{\"b\":true,\"a\":[1,2,{\"d\":\"x y\",\"c\":null}]}", want);
	expect_canonical(" {\n\t\"a\" : [ 1 , 2 , { \"c\" : null , \"d\" : \"x y\" } ] ,\r\n \"b\" : true } ", want);
	expect_canonical("{\"a\":[1,2,{\"c\":null,\"d\":\"\\u0078\\u0020y\"}],\"b\":true}", want);
}

static void test_built_values(void **state)
{
	/* Values built through the API, not parsed: strings with an embedded
	 * U+0000 (json_stringn) and objects filled in reverse key order. */
	json_t *v = json_pack("{s:s%, s:I, s:[b,n]}", "s", "a\0b\"", (size_t)4, "n",
			      (json_int_t)-7, "arr", 0);
	assert_non_null(v);
	char *c = canonical_json(v);
	assert_non_null(c);
	assert_string_equal(c, "{\"arr\":[false,null],\"n\":-7,\"s\":\"a\\u0000b\\\"\"}");
	free(c);
	json_decref(v);
}

static void test_keys_with_nul(void **state)
{
	/* jansson's parser refuses U+0000 in keys but json_object_setn makes
	 * them; such keys sort and print whole (this used to crash). Python:
	 * json.dumps({"b":0,"a":1,"a\x00b":2,"a\x00a":3,"\x00":4}, ...) */
	json_t *o = json_object();
	assert_non_null(o);
	assert_int_equal(json_object_setn_new(o, "b", 1, json_integer(0)), 0);
	assert_int_equal(json_object_setn_new(o, "a", 1, json_integer(1)), 0);
	assert_int_equal(json_object_setn_new(o, "a\0b", 3, json_integer(2)), 0);
	assert_int_equal(json_object_setn_new(o, "a\0a", 3, json_integer(3)), 0);
	assert_int_equal(json_object_setn_new(o, "\0", 1, json_integer(4)), 0);
	char *c = canonical_json(o);
	assert_non_null(c);
	assert_string_equal(c, "{\"\\u0000\":4,\"a\":1,\"a\\u0000a\":3,\"a\\u0000b\":2,\"b\":0}");
	free(c);
	json_decref(o);
}

static void test_many_keys_sorted(void **state)
{
	/* 1000 keys inserted in descending order: output sorted, buffer grown
	 * many times. */
	enum { N = 1000 };
	json_t *o = json_object();
	size_t cap = 16 * N + 3, len = 0;
	char *want = malloc(cap), key[16];
	assert_non_null(o);
	assert_non_null(want);
	for (int i = N - 1; i >= 0; i--) {
		snprintf(key, sizeof key, "k%04d", i);
		assert_int_equal(json_object_set_new(o, key, json_integer(i)), 0);
	}
	want[len++] = '{';
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(want + len, cap - len, "%s\"k%04d\":%d", i ? "," : "", i, i);
	snprintf(want + len, cap - len, "}");
	char *c = canonical_json(o);
	assert_non_null(c);
	assert_string_equal(c, want);
	free(c);
	free(want);
	json_decref(o);
}

static void test_long_string(void **state)
{
	/* 100000 characters, a control character every 100. */
	enum { N = 100000 };
	char *s = malloc(N + 1), *want = malloc(N / 100 * 6 + (N - N / 100) + 3);
	size_t w = 0;
	assert_non_null(s);
	assert_non_null(want);
	want[w++] = '"';
	for (size_t i = 0; i < N; i++) {
		s[i] = i % 100 == 0 ? '\x1e' : (char)('a' + i % 26);
		if (s[i] == '\x1e') {
			memcpy(want + w, "\\u001e", 6);
			w += 6;
		} else {
			want[w++] = s[i];
		}
	}
	s[N] = '\0';
	want[w++] = '"';
	want[w] = '\0';
	json_t *v = json_string(s);
	assert_non_null(v);
	char *c = canonical_json(v);
	assert_non_null(c);
	assert_string_equal(c, want);
	free(c);
	json_decref(v);
	free(want);
	free(s);
}

static void test_reals_refused(void **state)
{
	static const char *const with_reals[] = {
		"1.5", "0.0", "-0.0", "1e3", "1E-2", "[1,2,3.25]", "{\"a\":1,\"b\":2.0}",
		"{\"a\":{\"b\":[{\"c\":[0.5]}]}}", "[[],{},null,true,false,\"x\",1,1.0]",
	};
	for (size_t i = 0; i < sizeof with_reals / sizeof with_reals[0]; i++) {
		json_t *v = load(with_reals[i]);
		char *c = canonical_json(v);
		if (c != NULL)
			fail_msg("canonical_json(%s) = %s, want NULL (reals are refused)", with_reals[i], c);
		json_decref(v);
	}
	json_t *r = json_real(2.0);
	assert_null(canonical_json(r));
	json_decref(r);
}

static void test_null_refused(void **state)
{
	assert_null(canonical_json(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_python_vectors),
		cmocka_unit_test(test_whitespace_and_member_order_do_not_matter),
		cmocka_unit_test(test_built_values),
		cmocka_unit_test(test_keys_with_nul),
		cmocka_unit_test(test_many_keys_sorted),
		cmocka_unit_test(test_long_string),
		cmocka_unit_test(test_reals_refused),
		cmocka_unit_test(test_null_refused),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
