/* test_policy_json.c - Cedar's JSON formats (src/core/policy/cedar_json*.c):
 * JSON text as pol_json_parse decodes it with jansson (what it refuses,
 * numbers, the nesting bound, NUL refused in keys from text but taken from
 * json_t by every loader), entity references in both text forms and both
 * JSON forms, values with the __entity and __extn escapes, the entities
 * document and requests with every refusal and where it says it happened,
 * and the way back (decisions and values as JSON, values reading back
 * equal). */
#include "test_util.h"
#include "core/limits.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/ext.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers --------------------------------------------------------- */

static json_t *parse_ok(const char *text)
{
	char err[256];
	json_t *j = pol_json_parse(text, strlen(text), err, sizeof err);
	if (j == NULL)
		fail_msg("pol_json_parse refused %s\n  %s", text, err);
	return j;
}

/* pol_json_parse refuses text with a message containing needle. */
static void parse_bad(const char *text, size_t len, const char *needle)
{
	char err[256];
	json_t *j = pol_json_parse(text, len, err, sizeof err);
	if (j != NULL)
		fail_msg("pol_json_parse accepted %s", text);
	if (strstr(err, needle) == NULL)
		fail_msg("for %s\n  got      %s\n  expected ...%s...", text, err, needle);
}

/* The value of JSON text, in a. */
static pol_value_t value_ok(pol_arena_t *a, const char *text)
{
	char err[256];
	pol_value_t v;
	json_t *j = parse_ok(text);
	if (pol_json_value(a, j, &v, err, sizeof err) != 0)
		fail_msg("pol_json_value refused %s\n  %s", text, err);
	json_decref(j);
	return v;
}

/* pol_json_value refuses j (shown as text) with a message containing
 * want; takes j. */
static void value_bad_json(json_t *j, const char *text, const char *want)
{
	char err[256];
	pol_value_t v;
	pol_arena_t *a = pol_arena_new();
	if (pol_json_value(a, j, &v, err, sizeof err) == 0)
		fail_msg("pol_json_value accepted %s", text);
	if (strstr(err, want) == NULL)
		fail_msg("for %s\n  got      %s\n  expected ...%s...", text, err, want);
	json_decref(j);
	pol_arena_free(a);
}

static void value_bad(const char *text, const char *want)
{
	value_bad_json(parse_ok(text), text, want);
}

/* {key: v} with a key of klen bytes (it may hold NUL, which JSON text
 * cannot bring in); takes v. */
static json_t *obj1(const char *key, size_t klen, json_t *v)
{
	json_t *o = json_object();
	assert_non_null(o);
	assert_non_null(v);
	assert_int_equal(json_object_setn_new(o, key, klen, v), 0);
	return o;
}

static void render_is(const pol_value_t *v, const char *want)
{
	char buf[512];
	pol_value_render(v, buf, sizeof buf);
	if (strcmp(buf, want) != 0)
		fail_msg("rendered %s, want %s", buf, want);
}

static void euid_text_is(const char *text, const char *type, const char *id, size_t idlen)
{
	char err[256];
	pol_euid_t e;
	pol_arena_t *a = pol_arena_new();
	if (pol_euid_parse_text(a, text, strlen(text), &e, err, sizeof err) != 0)
		fail_msg("refused %s: %s", text, err);
	assert_string_equal(e.type.p, type);
	assert_int_equal(e.id.len, idlen);
	assert_memory_equal(e.id.p, id, idlen);
	assert_int_equal(e.id.p[idlen], '\0');
	pol_arena_free(a);
}

static void euid_text_bad(const char *text, const char *needle)
{
	char err[256];
	pol_euid_t e;
	pol_arena_t *a = pol_arena_new();
	if (pol_euid_parse_text(a, text, strlen(text), &e, err, sizeof err) == 0)
		fail_msg("accepted %s", text);
	if (strstr(err, needle) == NULL)
		fail_msg("for %s\n  got      %s\n  expected ...%s...", text, err, needle);
	pol_arena_free(a);
}

static pol_entities_t *entities_ok(const char *text)
{
	char err[256];
	pol_entities_t *es = NULL;
	if (pol_json_entities(text, strlen(text), &es, err, sizeof err) != 0)
		fail_msg("refused %s\n  %s", text, err);
	return es;
}

static void entities_bad(const char *text, const char *want)
{
	char err[256];
	pol_entities_t *es = (pol_entities_t *)1;
	if (pol_json_entities(text, strlen(text), &es, err, sizeof err) == 0)
		fail_msg("accepted %s", text);
	assert_null(es);
	if (strstr(err, want) == NULL)
		fail_msg("for %s\n  got      %s\n  expected ...%s...", text, err, want);
}

static pol_euid_t euid(const char *type, const char *id)
{
	pol_euid_t e = {{type, strlen(type)}, {id, strlen(id)}};
	return e;
}

/* ---- JSON text (jansson) ------------------------------------------- */

static void test_reader(void **state)
{
	(void)state;
	/* NUL in strings, and a key outside the BMP. */
	const char text[] = "{\"ab\": \"x\\u0000y\", \"\\ud83d\\ude00\": [1, -2, true, null]}";
	json_t *j = parse_ok(text);
	json_t *v = json_object_get(j, "ab");
	assert_non_null(v);
	assert_int_equal(json_string_length(v), 3);
	assert_memory_equal(json_string_value(v), "x\0y", 3);
	v = json_object_get(j, "\xf0\x9f\x98\x80");
	assert_int_equal(json_array_size(v), 4);
	assert_int_equal(json_integer_value(json_array_get(v, 1)), -2);
	json_decref(j);

	/* Numbers: 64-bit integers are integers, fractions and exponents
	 * reals; integers beyond 64 bits are refused. */
	j = parse_ok("[9223372036854775807, -9223372036854775808, 1.5, 1e3, -0]");
	assert_true(json_is_integer(json_array_get(j, 0)));
	assert_int_equal(json_integer_value(json_array_get(j, 1)), INT64_MIN);
	assert_true(json_is_real(json_array_get(j, 2)));
	assert_true(json_is_real(json_array_get(j, 3)));
	assert_true(json_is_integer(json_array_get(j, 4)));
	json_decref(j);
	parse_bad("9223372036854775808", 19, "line 1, column 19: too big integer");
	parse_bad("[-9223372036854775809]", 22, "too big negative integer");
	parse_bad("[1e999]", 7, "real number overflow");

	/* What jansson refuses, with the place from its json_error_t. */
	parse_bad("{\"a\": 1, \"a\": 2}", 16,
		  "line 1, column 12: duplicate object key near '\"a\"'");
	parse_bad("[{\"x\": {\"k\": 1,\n \"k\": 2}}]", 26,
		  "line 2, column 4: duplicate object key");
	parse_bad("\"\\ud800\"", 8, "invalid Unicode '\\uD800'");
	parse_bad("\"\\udc00\"", 8, "invalid Unicode '\\uDC00'");
	parse_bad("\"\\ud800\\u0041\"", 14, "invalid Unicode '\\uD800\\u0041'");
	parse_bad("\"a\xff\"", 4, "unable to decode byte 0xff");
	parse_bad("\"a\tb\"", 5, "control character 0x9");
	parse_bad("\"\\x41\"", 6, "invalid escape");
	parse_bad("[1, 2] x", 8, "line 1, column 8: end of file expected");
	parse_bad("[1, 2", 5, "']' expected near end of file");
	parse_bad("{\"a\" 1}", 7, "':' expected");
	parse_bad("{1: 2}", 6, "string or '}' expected");
	parse_bad("[01]", 4, "invalid token");
	parse_bad("[1.]", 4, "invalid token");
	parse_bad("[-]", 3, "invalid token");
	parse_bad("nul", 3, "invalid token");
	parse_bad("", 0, "unexpected token near end of file");
	parse_bad("\"abc", 4, "premature end of input");

	/* NUL in an object key: jansson's decoder cannot hold it, so JSON
	 * text with one is refused, at any depth (the reference accepts it). */
	parse_bad("{\"a\\u0000b\": 1}", 15,
		  "line 1, column 11: NUL byte in object key not supported");
	parse_bad("[{\"x\": {\"\\u0000\": 1}}]", 22, "NUL byte in object key not supported");

	/* The size bound, before anything is decoded. */
	char err[128];
	assert_null(pol_json_parse("[]", (size_t)TG_MAX_ENTITIES_TEXT + 1, err, sizeof err));
	assert_non_null(strstr(err, "larger than"));

	/* The nesting bound (4 * TG_MAX_VALUE_DEPTH): 256 levels are read, 257
	 * are not. jansson's own bound (2048) answers first for deeper text. */
	static char deep[2 * 2100];
	size_t n = 0;
	for (int i = 0; i < 4 * TG_MAX_VALUE_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < 4 * TG_MAX_VALUE_DEPTH; i++)
		deep[n++] = ']';
	char ok[sizeof deep + 1];
	memcpy(ok, deep, n);
	ok[n] = '\0';
	json_decref(parse_ok(ok));
	memmove(deep + 1, deep, n);
	deep[0] = '[';
	deep[n + 1] = ']';
	parse_bad(deep, n + 2, "nested deeper than 256 levels");
	/* The same depth inside an object. */
	n = 0;
	for (int i = 0; i < 4 * TG_MAX_VALUE_DEPTH; i++)
		n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"a\":");
	deep[n++] = '1';
	for (int i = 0; i < 4 * TG_MAX_VALUE_DEPTH; i++)
		deep[n++] = '}';
	parse_bad(deep, n, "nested deeper than 256 levels");
	n = 0;
	for (int i = 0; i < 2100; i++)
		deep[n++] = '[';
	for (int i = 0; i < 2100; i++)
		deep[n++] = ']';
	parse_bad(deep, n, "maximum parsing depth reached");
}

/* Documents decoded elsewhere (the conformance runner restores NUL in
 * keys after decoding) may hold NUL in keys: every loader takes keys with
 * their length. */
static void test_nul_keys_from_json(void **state)
{
	(void)state;
	char err[256];
	pol_arena_t *a = pol_arena_new();
	pol_value_t v;

	/* A record with the keys "a\0b" and "a": two keys, neither cut at NUL. */
	json_t *j = obj1("a\0b", 3, json_integer(1));
	assert_int_equal(json_object_set_new(j, "a", json_integer(2)), 0);
	assert_int_equal(pol_json_value(a, j, &v, err, sizeof err), 0);
	assert_int_equal(v.kind, PV_RECORD);
	assert_int_equal(v.n, 2);
	const pol_value_t *x = pol_record_get(&v, "a\0b", 3);
	assert_non_null(x);
	assert_int_equal(x->u.l, 1);
	x = pol_record_get(&v, "a", 1);
	assert_non_null(x);
	assert_int_equal(x->u.l, 2);
	json_decref(j);

	/* An entity whose attrs and tags have such keys. */
	json_t *e = json_pack("{s:s,s:o,s:[],s:o}", "uid", "A:x", "attrs",
			      obj1("k\0", 2, json_string("v")), "parents", "tags",
			      obj1("\0", 1, json_true()));
	assert_non_null(e);
	json_t *doc = json_pack("[o]", e);
	assert_non_null(doc);
	pol_entities_t *es = NULL;
	if (pol_json_entities_from(doc, &es, err, sizeof err) != 0)
		fail_msg("refused an entity with NUL in keys: %s", err);
	pol_euid_t uid = euid("A", "x");
	const pol_entity_t *ent = pol_entities_find(es, &uid);
	assert_non_null(ent);
	assert_non_null(pol_record_get(ent->attrs, "k\0", 2));
	assert_null(pol_record_get(ent->attrs, "k", 1));
	assert_non_null(pol_record_get(ent->tags, "\0", 1));
	pol_entities_free(es);
	json_decref(doc);

	/* A request whose context has one. */
	pol_request_t r;
	j = json_pack("{s:s,s:s,s:s,s:o}", "principal", "A:p", "action", "Action:a", "resource",
		      "R:r", "context", obj1("c\0d", 3, json_integer(7)));
	assert_non_null(j);
	assert_int_equal(pol_json_request(a, j, &r, err, sizeof err), 0);
	assert_non_null(r.context);
	assert_non_null(pol_record_get(r.context, "c\0d", 3));
	json_decref(j);

	/* The same documents as text are refused by the decoder. */
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {\"k\\u0000\": \"v\"}, \"parents\": []}]",
		     "entities: line 1, column 35: NUL byte in object key not supported");
	pol_arena_free(a);
}

/* ---- entity references ------------------------------------------------ */

static void test_euid_text(void **state)
{
	(void)state;
	euid_text_is("Device::\"plc-7\"", "Device", "plc-7", 5);
	euid_text_is("Ns::Sub::Type::\"a\\\"b\\u{1F600}\\0c\"", "Ns::Sub::Type",
		     "a\"b\xf0\x9f\x98\x80\0c", 9);
	euid_text_is("Type::\"\"", "Type", "", 0);
	euid_text_is("Zone:line-3", "Zone", "line-3", 6);
	euid_text_is("Zone:a::b", "Zone", "a::b", 4);
	euid_text_is("Ns::Api:orders/v1", "Ns::Api", "orders/v1", 9);
	euid_text_is("Secret:\"quoted\"", "Secret", "\"quoted\"", 8);
	euid_text_is("Zone:", "Zone", "", 0);
	euid_text_is("_T1:x", "_T1", "x", 1);

	euid_text_bad("", "expected a type name at byte 0");
	euid_text_bad("::\"x\"", "expected a type name at byte 0");
	euid_text_bad("Device", "expected ::\"id\" or :id after the type at byte 6");
	euid_text_bad("Device::", "expected a type name at byte 8");
	euid_text_bad("Device::123", "expected a type name at byte 8");
	euid_text_bad("1Device:x", "expected a type name at byte 0");
	euid_text_bad("Dev ice:x", "expected ::\"id\" or :id after the type at byte 3");
	euid_text_bad("if::\"x\"", "`if` is a reserved word");
	euid_text_bad("Ns::in:x", "`in` is a reserved word");
	euid_text_bad("Device::\"x\"y", "unexpected text after the id at byte 11");
	euid_text_bad("Device::\"x", "the id's string is not closed");
	euid_text_bad("Device::\"\\q\"", "byte 9: bad escape");
	euid_text_bad("Device::\"\\u{110000}\"", "not a Unicode scalar value");
	euid_text_bad("Dev\xff:x", "not valid UTF-8");
}

static void test_euid_json(void **state)
{
	(void)state;
	static const char *const good[] = {
		"{\"type\": \"Ns::Device\", \"id\": \"plc-7\"}",
		"{\"__entity\": {\"type\": \"Ns::Device\", \"id\": \"plc-7\"}}",
		"\"Ns::Device::\\\"plc-7\\\"\"",
		"\"Ns::Device:plc-7\"",
	};
	pol_arena_t *a = pol_arena_new();
	char err[256];
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		pol_euid_t e;
		json_t *j = parse_ok(good[i]);
		if (pol_json_euid(a, j, &e, err, sizeof err) != 0)
			fail_msg("%s: %s", good[i], err);
		assert_string_equal(e.type.p, "Ns::Device");
		assert_string_equal(e.id.p, "plc-7");
		json_decref(j);
	}
	static const char *const bad[][2] = {
		{"{\"type\": \"Device\"}", "an entity reference needs \"id\""},
		{"{\"id\": \"x\"}", "an entity reference needs \"type\""},
		{"{\"type\": \"Device\", \"id\": \"x\", \"extra\": 1}",
		 "extra: unexpected key in an entity reference"},
		{"{\"type\": 1, \"id\": \"x\"}", "type: expected a string, got an integer"},
		{"{\"type\": \"Device\", \"id\": 7}", "id: expected a string, got an integer"},
		{"{\"type\": \"Not A Type\", \"id\": \"x\"}", "\"Not A Type\" is not an entity type"},
		{"{\"type\": \"Ns::\", \"id\": \"x\"}", "is not an entity type"},
		{"{\"type\": \"then\", \"id\": \"x\"}", "uses a reserved word"},
		{"{\"__entity\": {\"type\": \"A\", \"id\": \"x\"}, \"b\": 1}", "takes no other keys"},
		{"{\"__entity\": \"A::\\\"x\\\"\"}", "__entity: expected {\"type\": ..., \"id\": ...}"},
		{"{\"__expr\": \"A::\\\"x\\\"\"}", "the __expr escape was removed"},
		{"7", "expected an entity reference ({\"type\": ..., \"id\": ...}), got an integer"},
		{"\"Device\"", "expected ::\"id\" or :id"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pol_euid_t e;
		json_t *j = parse_ok(bad[i][0]);
		if (pol_json_euid(a, j, &e, err, sizeof err) == 0)
			fail_msg("accepted %s", bad[i][0]);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("for %s\n  got      %s\n  expected ...%s...", bad[i][0], err, bad[i][1]);
		json_decref(j);
	}
	pol_arena_free(a);
}

/* ---- values ------------------------------------------------------------- */

static void test_values(void **state)
{
	(void)state;
	pol_arena_t *a = pol_arena_new();
	pol_value_t v = value_ok(a, "true");
	assert_int_equal(v.kind, PV_BOOL);
	v = value_ok(a, "-9223372036854775808");
	assert_int_equal(v.kind, PV_LONG);
	assert_int_equal(v.u.l, INT64_MIN);
	v = value_ok(a, "\"nul\\u0000inside\"");
	assert_int_equal(v.kind, PV_STRING);
	assert_int_equal(v.u.s.len, 10);
	/* Sets keep duplicates and mixed kinds; records sort their keys. */
	v = value_ok(a, "[1, \"a\", 1, [true]]");
	assert_int_equal(v.kind, PV_SET);
	assert_int_equal(v.n, 4);
	v = value_ok(a, "{\"zeta\": 1, \"alpha\": {\"b\": 2, \"a\": 1}, \"Mid\": []}");
	assert_int_equal(v.kind, PV_RECORD);
	render_is(&v, "{\"Mid\": [], \"alpha\": {\"a\": 1, \"b\": 2}, \"zeta\": 1}");
	assert_non_null(pol_record_get(&v, "zeta", 4));
	/* Without a schema, {type, id} is a record, as in the reference. */
	v = value_ok(a, "{\"type\": \"User\", \"id\": \"alice\"}");
	assert_int_equal(v.kind, PV_RECORD);
	v = value_ok(a, "{\"__entity\": {\"type\": \"User\", \"id\": \"alice\"}}");
	assert_int_equal(v.kind, PV_ENTITY);
	render_is(&v, "User::\"alice\"");
	/* The extension escapes, both argument forms. */
	v = value_ok(a, "{\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.0.0.0/8\"}}");
	assert_int_equal(v.kind, PV_IP);
	assert_int_equal(v.u.ip.prefix, 8);
	v = value_ok(a, "{\"__extn\": {\"fn\": \"ip\", \"args\": [\"::1\"]}}");
	assert_int_equal(v.kind, PV_IP);
	assert_true(v.u.ip.v6);
	v = value_ok(a, "{\"__extn\": {\"fn\": \"decimal\", \"arg\": \"-1.5\"}}");
	assert_int_equal(v.kind, PV_DECIMAL);
	assert_int_equal(v.u.l, -15000);
	v = value_ok(a, "{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-02\"}}");
	assert_int_equal(v.kind, PV_DATETIME);
	assert_int_equal(v.u.l, 86400000);
	v = value_ok(a, "{\"__extn\": {\"fn\": \"duration\", \"arg\": \"1h1ms\"}}");
	assert_int_equal(v.kind, PV_DURATION);
	assert_int_equal(v.u.l, 3600001);
	/* The form the reference writes datetimes in. */
	v = value_ok(a, "{\"__extn\": {\"fn\": \"offset\", \"args\": ["
			"{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-01\"}},"
			"{\"__extn\": {\"fn\": \"duration\", \"arg\": \"-55819152000000ms\"}}]}}");
	assert_int_equal(v.kind, PV_DATETIME);
	assert_int_equal(v.u.l, -55819152000000LL);
	v = value_ok(a, "{\"__extn\": {\"fn\": \"durationSince\", \"args\": ["
			"{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-02\"}},"
			"{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-01\"}}]}}");
	assert_int_equal(v.kind, PV_DURATION);
	assert_int_equal(v.u.l, 86400000);
	v = value_ok(a, "{\"__extn\": {\"fn\": \"toTime\", \"arg\": "
			"{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-02T00:00:01Z\"}}}}");
	assert_int_equal(v.kind, PV_DURATION);
	assert_int_equal(v.u.l, 1000);
	/* Escapes inside sets and records. */
	v = value_ok(a, "{\"owner\": {\"__entity\": {\"type\": \"User\", \"id\": \"a\"}}, "
			"\"nets\": [{\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.1.2.3\"}}]}");
	render_is(&v, "{\"nets\": [ip(\"10.1.2.3\")], \"owner\": User::\"a\"}");
	pol_arena_free(a);
}

static void test_value_errors(void **state)
{
	(void)state;
	value_bad("1.5", "numbers must be integers");
	value_bad("1e3", "numbers must be integers");
	value_bad("null", "null is not a Cedar value");
	value_bad("{\"a\": [1, null]}", "a[1]: null is not a Cedar value");
	value_bad("{\"a b\": {\"c\": 0.5}}", "[\"a b\"].c: numbers must be integers");
	/* A key with NUL and a quote (built as json_t: JSON text cannot bring
	 * NUL into a key) is written Cedar's way in the path. */
	value_bad_json(obj1("k\0\"", 3, json_null()), "{\"k\\u0000\\\"\": null}",
		       "[\"k\\u{0}\\\"\"]: null");
	value_bad("{\"__expr\": \"1 + 1\"}", "the __expr escape was removed");
	value_bad("{\"__entity\": 5}", "__entity: expected {\"type\": ..., \"id\": ...}, got an integer");
	value_bad("{\"__entity\": {\"type\": \"A\", \"id\": \"b\"}, \"x\": 1}",
		  "an {\"__entity\": ...} escape takes no other keys");
	value_bad("{\"__extn\": {\"fn\": \"ip\", \"arg\": \"1.2.3\"}, \"x\": 1}",
		  "an {\"__extn\": ...} escape takes no other keys");
	value_bad("{\"__extn\": \"ip\"}", "__extn: expected {\"fn\": ..., \"arg\": ...}, got a string");
	value_bad("{\"__extn\": {\"arg\": \"x\"}}", "__extn: an extension value needs \"fn\"");
	value_bad("{\"__extn\": {\"fn\": \"ip\"}}", "either \"arg\" or \"args\"");
	value_bad("{\"__extn\": {\"fn\": \"ip\", \"arg\": \"a\", \"args\": [\"a\"]}}",
		  "either \"arg\" or \"args\"");
	value_bad("{\"__extn\": {\"fn\": \"ip\", \"args\": \"a\"}}", "\"args\" must be an array");
	value_bad("{\"__extn\": {\"fn\": \"nope\", \"arg\": \"x\"}}", "unknown extension function \"nope\"");
	value_bad("{\"__extn\": {\"fn\": \"lessThan\", \"args\": [1, 2]}}",
		  "\"lessThan\" does not construct a value");
	value_bad("{\"__extn\": {\"fn\": \"unknown\", \"arg\": \"u\"}}", "\"unknown\" does not construct");
	value_bad("{\"a\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"1.2.3\"}}}",
		  "a.__extn: ip(\"1.2.3\"): not a valid IP address or range");
	value_bad("{\"__extn\": {\"fn\": \"decimal\", \"arg\": \"1.23456\"}}",
		  "decimal(\"1.23456\"): not a valid decimal");
	value_bad("{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"2024-13-01\"}}",
		  "not a valid datetime");
	value_bad("{\"__extn\": {\"fn\": \"duration\", \"arg\": \"1x\"}}", "not a valid duration");
	value_bad("{\"__extn\": {\"fn\": \"ip\", \"arg\": 5}}", "__extn.arg: ip expects string here, got long");
	value_bad("{\"__extn\": {\"fn\": \"ip\", \"args\": [\"a\", \"b\"]}}", "ip takes 1 argument, got 2");
	value_bad("{\"__extn\": {\"fn\": \"offset\", \"args\": [\"a\", \"b\"]}}",
		  "__extn.args[0]: offset expects datetime here, got string");
	value_bad("{\"__extn\": {\"fn\": \"offset\", \"args\": ["
		  "{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-02\"}},"
		  "{\"__extn\": {\"fn\": \"duration\", \"arg\": \"9223372036854775807ms\"}}]}}",
		  "offset(...): the result overflows");
}

static void test_depth_bound(void **state)
{
	(void)state;
	char text[512];
	size_t n = 0;
	pol_arena_t *a = pol_arena_new();
	/* A set of sets TG_MAX_VALUE_DEPTH deep (the innermost 1 counts). */
	for (int i = 0; i < TG_MAX_VALUE_DEPTH - 1; i++)
		text[n++] = '[';
	text[n++] = '1';
	for (int i = 0; i < TG_MAX_VALUE_DEPTH - 1; i++)
		text[n++] = ']';
	text[n] = '\0';
	(void)value_ok(a, text);
	/* One more level is refused, with the path to it. */
	memmove(text + 1, text, n + 1);
	text[0] = '[';
	strcat(text, "]");
	value_bad(text, "nested deeper than 64 levels");
	/* The path says where: the 65th level sits under 64 [0]s. */
	{
		char err[256], want[512];
		pol_value_t v;
		json_t *j = parse_ok(text);
		assert_int_equal(pol_json_value(a, j, &v, err, sizeof err), -1);
		want[0] = '\0';
		for (int i = 0; i < TG_MAX_VALUE_DEPTH - 1 && strlen(want) < 150; i++)
			strcat(want, "[0]");
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("got %s", err);
		json_decref(j);
	}
	/* Escapes do not count as levels of their own. */
	(void)value_ok(a, "[[{\"a\": {\"__entity\": {\"type\": \"A\", \"id\": \"x\"}}}]]");
	pol_arena_free(a);
}

/* ---- entities -------------------------------------------------------------- */

static const char good_entities[] =
	"[\n"
	" {\"uid\": {\"type\": \"Workload\", \"id\": \"svc-a\"}, \"attrs\": {\"team\": \"ops\"},\n"
	"  \"parents\": [{\"type\": \"Role\", \"id\": \"operators\"}]},\n"
	" {\"uid\": {\"__entity\": {\"type\": \"Role\", \"id\": \"operators\"}}, \"attrs\": {},\n"
	"  \"parents\": [\"Role::\\\"staff\\\"\"]},\n"
	" {\"uid\": \"Device:plc-7\", \"parents\": [\"Zone:line-3\"],\n"
	"  \"attrs\": {\"zone\": {\"__entity\": {\"type\": \"Zone\", \"id\": \"line-3\"}},\n"
	"            \"ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.3.0.7\"}}},\n"
	"  \"tags\": {\"owner\": \"plant\", \"level\": 3}},\n"
	" {\"uid\": {\"type\": \"Action\", \"id\": \"modbus.read\"}, \"attrs\": {},\n"
	"  \"parents\": [{\"type\": \"Action\", \"id\": \"modbus\"}]},\n"
	" {\"uid\": {\"type\": \"Ns::Action\", \"id\": \"x\"}, \"attrs\": {},\n"
	"  \"parents\": [{\"type\": \"Action\", \"id\": \"modbus\"}]}\n"
	"]";

static void test_entities(void **state)
{
	(void)state;
	pol_entities_t *es = entities_ok(good_entities);
	assert_int_equal(pol_entities_count(es), 5);
	pol_euid_t svc = euid("Workload", "svc-a"), staff = euid("Role", "staff"),
		   plc = euid("Device", "plc-7"), zone = euid("Zone", "line-3"),
		   read = euid("Action", "modbus.read"), modbus = euid("Action", "modbus");
	assert_true(pol_entities_in(es, &svc, &staff));
	assert_true(pol_entities_in(es, &plc, &zone));
	assert_true(pol_entities_in(es, &read, &modbus));
	assert_false(pol_entities_in(es, &staff, &svc));
	const pol_entity_t *e = pol_entities_find(es, &plc);
	assert_non_null(e);
	render_is(e->attrs, "{\"ip\": ip(\"10.3.0.7\"), \"zone\": Zone::\"line-3\"}");
	render_is(e->tags, "{\"level\": 3, \"owner\": \"plant\"}");
	e = pol_entities_find(es, &svc);
	assert_int_equal(e->tags->kind, PV_RECORD);
	assert_int_equal(e->tags->n, 0);
	pol_entities_free(es);

	es = entities_ok("[]");
	assert_int_equal(pol_entities_count(es), 0);
	pol_entities_free(es);
}

static void test_entities_errors(void **state)
{
	(void)state;
	entities_bad("{}", "the entities document must be an array of entities, got an object");
	entities_bad("[1, 2", "entities: line 1, column 5: ']' expected near end of file");
	entities_bad("[[]]", "entity 0: expected an object {\"uid\", \"attrs\", \"parents\"}, got an array");
	entities_bad("[{\"attrs\": {}, \"parents\": []}]", "entity 0: missing \"uid\"");
	entities_bad("[{\"uid\": {\"type\": \"A\"}, \"attrs\": {}, \"parents\": []}]",
		     "entity 0: uid: an entity reference needs \"id\"");
	entities_bad("[{\"uid\": \"A:x\", \"parents\": []}]",
		     "entity 0 (A::\"x\"): missing \"attrs\" (write {} if there are none)");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}}]",
		     "entity 0 (A::\"x\"): missing \"parents\" (write [] if there are none)");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": [], \"parent\": []}]",
		     "entity 0 (A::\"x\"): unexpected key \"parent\"");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": [], \"parents\": []}]",
		     "entity 0 (A::\"x\"): attrs: expected an object (a record), got an array");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": [], \"tags\": 3}]",
		     "entity 0 (A::\"x\"): tags: expected an object (a record), got an integer");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": {}}]",
		     "entity 0 (A::\"x\"): parents: expected an array of entity references, got an object");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": [\"B:y\", 4]}]",
		     "entity 0 (A::\"x\"): parents[1]: expected an entity reference");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": []},\n"
		     " {\"uid\": \"Device:plc-7\", \"attrs\": {\"zone\": 1.5}, \"parents\": []}]",
		     "entity 1 (Device::\"plc-7\"): attrs.zone: numbers must be integers");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": [], \"tags\": {\"t\": [null]}}]",
		     "entity 0 (A::\"x\"): tags.t[0]: null is not a Cedar value");
	entities_bad("[{\"uid\": \"Action:read\", \"attrs\": {}, \"parents\": [\"Role:r\"]}]",
		     "entity 0 (Action::\"read\"): parents[0]: the parent of an action must be an "
		     "action, not Role::\"r\"");
	/* A repeated uid: refused when the contents differ; an identical
	 * repeat is accepted, as the reference accepts it. */
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": []},\n"
		     " {\"uid\": \"A:x\", \"attrs\": {\"n\": 1}, \"parents\": []}]",
		     "entity 1 (A::\"x\"): duplicate entity uid (with different attributes");
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {}, \"parents\": [\"B:y\"]},\n"
		     " {\"uid\": \"A:x\", \"attrs\": {}, \"parents\": []}]",
		     "entity 1 (A::\"x\"): duplicate entity uid");
	const char *twice = "[{\"uid\": \"A:x\", \"attrs\": {\"n\": [1, 2]}, \"parents\": [\"B:y\", \"B:z\"]},\n"
			    " {\"uid\": \"A:x\", \"attrs\": {\"n\": [2, 1]}, \"parents\": [\"B:z\", \"B:y\"]}]";
	char derr[256];
	pol_entities_t *des = NULL;
	assert_int_equal(pol_json_entities(twice, strlen(twice), &des, derr, sizeof derr), 0);
	assert_int_equal(pol_entities_count(des), 1);
	pol_entities_free(des);
	entities_bad("[{\"uid\": \"A:x\", \"attrs\": {\"k\": 1, \"k\": 2}, \"parents\": []}]",
		     "entities: line 1, column 37: duplicate object key near '\"k\"'");

	/* The size bound is checked before the text is read. */
	char err[128];
	pol_entities_t *es = NULL;
	assert_int_equal(pol_json_entities("[]", (size_t)TG_MAX_ENTITIES_TEXT + 1, &es, err, sizeof err),
			 -1);
	assert_non_null(strstr(err, "larger than"));
	assert_null(es);
}

/* ---- requests ----------------------------------------------------------------- */

static void test_request(void **state)
{
	(void)state;
	pol_arena_t *a = pol_arena_new();
	char err[256];
	pol_request_t r;
	json_t *j = parse_ok("{\"principal\": \"Workload:svc-a\", \"action\": "
			     "{\"__entity\": {\"type\": \"Action\", \"id\": \"modbus.read\"}},"
			     " \"resource\": {\"type\": \"Device\", \"id\": \"plc-7\"},"
			     " \"context\": {\"src_ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.0.0.1\"}},"
			     " \"hour\": 13}}");
	assert_int_equal(pol_json_request(a, j, &r, err, sizeof err), 0);
	assert_string_equal(r.principal.type.p, "Workload");
	assert_string_equal(r.principal.id.p, "svc-a");
	assert_string_equal(r.action.id.p, "modbus.read");
	assert_string_equal(r.resource.type.p, "Device");
	assert_non_null(r.context);
	render_is(r.context, "{\"hour\": 13, \"src_ip\": ip(\"10.0.0.1\")}");
	json_decref(j);

	j = parse_ok("{\"principal\": \"A:p\", \"action\": \"Action:a\", \"resource\": \"R:r\"}");
	assert_int_equal(pol_json_request(a, j, &r, err, sizeof err), 0);
	assert_null(r.context);
	json_decref(j);

	static const char *const bad[][2] = {
		{"[]", "a request must be an object, got an array"},
		{"{\"action\": \"Action:a\", \"resource\": \"R:r\"}", "request: missing \"principal\""},
		{"{\"principal\": \"A:p\", \"resource\": \"R:r\"}", "request: missing \"action\""},
		{"{\"principal\": \"A:p\", \"action\": \"Action:a\", \"resource\": \"R:r\", \"contxt\": {}}",
		 "request: unexpected key \"contxt\""},
		{"{\"principal\": \"A\", \"action\": \"Action:a\", \"resource\": \"R:r\"}",
		 "request: principal: entity reference \"A\": expected ::\"id\" or :id"},
		{"{\"principal\": \"A:p\", \"action\": \"Action:a\", \"resource\": {\"type\": \"R\"}}",
		 "request: resource: an entity reference needs \"id\""},
		{"{\"principal\": \"A:p\", \"action\": \"Action:a\", \"resource\": \"R:r\", \"context\": []}",
		 "request: context: expected a record, got set"},
		{"{\"principal\": \"A:p\", \"action\": \"Action:a\", \"resource\": \"R:r\", \"context\": "
		 "{\"__entity\": {\"type\": \"A\", \"id\": \"b\"}}}",
		 "request: context: expected a record, got entity"},
		{"{\"principal\": \"A:p\", \"action\": \"Action:a\", \"resource\": \"R:r\", \"context\": "
		 "{\"grant\": {\"approvals\": 1.0}}}",
		 "request: context.grant.approvals: numbers must be integers"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		j = parse_ok(bad[i][0]);
		if (pol_json_request(a, j, &r, err, sizeof err) == 0)
			fail_msg("accepted %s", bad[i][0]);
		if (strstr(err, bad[i][1]) == NULL)
			fail_msg("for %s\n  got      %s\n  expected ...%s...", bad[i][0], err, bad[i][1]);
		json_decref(j);
	}
	pol_arena_free(a);
}

/* ---- writing ---------------------------------------------------------------------- */

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	json_decref(j);
	return s;
}

static void test_decision_json(void **state)
{
	(void)state;
	pol_set_t *set = NULL;
	pol_error_t perr;
	const char *text = "permit(principal, action, resource);\n"
			   "@id(\"ops-can-read\") permit(principal, action, resource);\n"
			   "forbid(principal, action, resource) when { 1 + \"a\" == 2 };";
	assert_int_equal(pol_parse(text, strlen(text), &set, &perr), 0);
	uint32_t reasons[] = {0, 1};
	pol_eval_error_t errors[] = {{2, "type error: + wants longs"}};
	pol_unmet_t unmet[] = {{1, POL_OBL_GRANT, 2}, {0, POL_OBL_MFA, 300}};
	pol_decision_t d = {.allow = true, .reasons = reasons, .nreasons = 2};
	char *s = dump(pol_json_decision(set, &d));
	assert_string_equal(s, "{\"decision\":\"allow\",\"errors\":[],\"reasons\":[\"policy0\",\"ops-can-read\"]}");
	free(s);
	d = (pol_decision_t){.allow = false, .errors = errors, .nerrors = 1, .unmet = unmet, .nunmet = 2};
	s = dump(pol_json_decision(set, &d));
	assert_string_equal(s, "{\"decision\":\"deny\",\"error_messages\":[{\"message\":\"type error: + "
			       "wants longs\",\"policy\":\"policy2\"}],\"errors\":[\"policy2\"],"
			       "\"reasons\":[],\"unmet\":[{\"missing\":\"grant\",\"needed\":2,\"policy\":"
			       "\"ops-can-read\"},{\"missing\":\"mfa\",\"needed\":300,\"policy\":\"policy0\"}]}");
	free(s);
	pol_set_free(set);
}

/* JSON -> value -> JSON -> value: equal values; and the JSON written.
 * Takes in; text shows it in messages. */
static void round_trip_json(json_t *in, const char *text, const char *want_json)
{
	pol_arena_t *a = pol_arena_new();
	char err[256];
	pol_value_t v, w;
	if (pol_json_value(a, in, &v, err, sizeof err) != 0)
		fail_msg("pol_json_value refused %s\n  %s", text, err);
	json_decref(in);
	json_t *j = pol_value_to_json(&v);
	assert_non_null(j);
	if (pol_json_value(a, j, &w, err, sizeof err) != 0)
		fail_msg("%s wrote JSON that does not read back: %s", text, err);
	if (!pol_value_eq(&v, &w))
		fail_msg("%s does not read back equal", text);
	char *s = dump(j);
	if (want_json != NULL && strcmp(s, want_json) != 0)
		fail_msg("%s\n  wrote %s\n  want  %s", text, s, want_json);
	free(s);
	pol_arena_free(a);
}

/* The same from JSON text. */
static void round_trip(const char *text, const char *want_json)
{
	round_trip_json(parse_ok(text), text, want_json);
}

static void test_value_to_json(void **state)
{
	(void)state;
	round_trip("[true, -3, \"s\\u0000t\", {\"b\": [], \"a\": {}}]",
		   "[true,-3,\"s\\u0000t\",{\"a\":{},\"b\":[]}]");
	/* NUL in a record key (as json_t) is written with its length. */
	json_t *ent = json_pack("{s:{s:s,s:s}}", "__entity", "type", "Ns::User", "id", "a\"b");
	round_trip_json(obj1("k\0", 2, ent),
			"{\"k\\u0000\": {\"__entity\": ...}}",
			"{\"k\\u0000\":{\"__entity\":{\"id\":\"a\\\"b\",\"type\":\"Ns::User\"}}}");
	round_trip("{\"__extn\": {\"fn\": \"decimal\", \"arg\": \"-12.3400\"}}", NULL);
	round_trip("{\"__extn\": {\"fn\": \"ip\", \"arg\": \"192.168.0.0/16\"}}", NULL);
	round_trip("{\"__extn\": {\"fn\": \"ip\", \"arg\": \"2001:db8::1\"}}", NULL);
	round_trip("{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"2024-10-15T11:35:00.123Z\"}}", NULL);
	round_trip("{\"__extn\": {\"fn\": \"duration\", \"arg\": \"-1d2h3m4s5ms\"}}", NULL);
	/* A datetime no datetime("...") text can express comes back as offset. */
	round_trip("{\"__extn\": {\"fn\": \"offset\", \"args\": ["
		   "{\"__extn\": {\"fn\": \"datetime\", \"arg\": \"1970-01-01\"}},"
		   "{\"__extn\": {\"fn\": \"duration\", \"arg\": \"-8101986847143815834ms\"}}]}}",
		   NULL);

	/* A record key JSON could not read back is refused, as the reference does. */
	pol_str_t keys[] = {{"__extn", 6}};
	pol_value_t vals[] = {pol_long(1)};
	pol_value_t rec = {.kind = PV_RECORD, .n = 1};
	rec.u.rec.keys = keys;
	rec.u.rec.vals = vals;
	assert_null(pol_value_to_json(&rec));
}

/* ---- end to end ----------------------------------------------------------------- */

static void test_authorize_with_loaded_data(void **state)
{
	(void)state;
	const char *policies =
		"@id(\"read-zone\")\n"
		"permit(principal in Role::\"operators\", action == Action::\"modbus.read\",\n"
		"       resource in Zone::\"line-3\")\n"
		"when { context.src_ip.isInRange(ip(\"10.0.0.0/8\")) && resource.zone == Zone::\"line-3\" "
		"&& resource.getTag(\"level\") == 3 };\n";
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t perr;
	assert_int_equal(pol_parse(policies, strlen(policies), &set, &perr), 0);
	assert_int_equal(pol_engine_new(set, &eng, &perr), 0);
	pol_entities_t *es = entities_ok(good_entities);
	pol_arena_t *a = pol_arena_new();
	pol_scratch_t *s = pol_scratch_new();
	char err[256];
	pol_request_t r;
	pol_decision_t d;
	json_t *j = parse_ok("{\"principal\": \"Workload:svc-a\", \"action\": \"Action:modbus.read\","
			     " \"resource\": \"Device:plc-7\", \"context\": {\"src_ip\": "
			     "{\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.9.9.9\"}}}}");
	assert_int_equal(pol_json_request(a, j, &r, err, sizeof err), 0);
	assert_int_equal(pol_authorize(eng, es, &r, NULL, s, &d), 0);
	char *out = dump(pol_json_decision(pol_engine_set(eng), &d));
	assert_string_equal(out, "{\"decision\":\"allow\",\"errors\":[],\"reasons\":[\"read-zone\"]}");
	free(out);
	json_decref(j);
	pol_scratch_free(s);
	pol_arena_free(a);
	pol_entities_free(es);
	pol_engine_free(eng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader),
		cmocka_unit_test(test_nul_keys_from_json),
		cmocka_unit_test(test_euid_text),
		cmocka_unit_test(test_euid_json),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_value_errors),
		cmocka_unit_test(test_depth_bound),
		cmocka_unit_test(test_entities),
		cmocka_unit_test(test_entities_errors),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_decision_json),
		cmocka_unit_test(test_value_to_json),
		cmocka_unit_test(test_authorize_with_loaded_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
