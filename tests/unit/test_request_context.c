/* test_request_context.c - the request context (src/core/policy/
 * request_context.c): keys in byte order and left out when not given, the
 * Cedar JSON form equal to the record, and the Modbus keys of a decoded
 * request (core/modbus.h) with the setpoint policy of docs/policy.md
 * (Modbus) deciding on them. */
#include "test_util.h"
#include "core/modbus.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/request_context.h"
#include <string.h>

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

/* Decodes a request PDU (tid 7, unit 3); it must decode. */
static void decode(mb_request_t *r, const uint8_t *pdu, size_t n)
{
	uint8_t adu[MB_MAX_ADU] = {0x00, 0x07, 0x00, 0x00, 0x00, (uint8_t)(n + 1), 0x03};
	memcpy(adu + MB_MBAP_LEN, pdu, n);
	const char *why = NULL;
	if (mb_request_decode(adu, MB_MBAP_LEN + n, r, &why) != MB_DECODE_OK)
		fail_msg("decode: %s", why);
}

/* "key,key,..." of a record. */
static void keys_of(const pol_value_t *rec, char *buf, size_t size)
{
	buf[0] = '\0';
	for (uint32_t i = 0; i < rec->n; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", i ? "," : "", rec->u.rec.keys[i].p);
	}
}

static void assert_sorted(const pol_value_t *rec)
{
	assert_int_equal(rec->kind, PV_RECORD);
	for (uint32_t i = 1; i < rec->n; i++)
		assert_true(pol_str_cmp(&rec->u.rec.keys[i - 1], &rec->u.rec.keys[i]) < 0);
}

static int64_t long_of(const pol_value_t *rec, const char *key)
{
	const pol_value_t *v = pol_record_get(rec, key, strlen(key));
	if (v == NULL || v->kind != PV_LONG)
		fail_msg("%s: not a long", key);
	return v->u.l;
}

/* The record pol_ctx_build gives equals pol_ctx_json read back as Cedar
 * JSON: the two forms cannot drift apart. */
static void assert_json_matches(const pol_ctx_input_t *in, const pol_value_t *rec)
{
	json_t *j = pol_ctx_json(in);
	pol_arena_t *a = pol_arena_new();
	pol_value_t back;
	char err[256];
	if (pol_json_record_at(a, j, NULL, "context", &back, err, sizeof err) != 0)
		fail_msg("%s", err);
	char want[1024], got[1024];
	pol_value_render(rec, want, sizeof want);
	pol_value_render(&back, got, sizeof got);
	if (!pol_value_eq(rec, &back))
		fail_msg("build %s\njson  %s", want, got);
	pol_arena_free(a);
	json_decref(j);
}

static void test_without_modbus(void **state)
{
	pol_ctx_t c;
	char keys[512];
	pol_ctx_input_t in = {.now = TU_NOW, .token_age_s = -1};
	const pol_value_t *rec = pol_ctx_build(&c, &in);
	keys_of(rec, keys, sizeof keys);
	assert_string_equal(keys, "hour,now,weekday");
	assert_int_equal(long_of(rec, "now"), TU_NOW);
	assert_int_equal(long_of(rec, "hour"), 22);   /* 2023-11-14T22:13:20Z */
	assert_int_equal(long_of(rec, "weekday"), 2); /* a Tuesday */
	assert_json_matches(&in, rec);

	pol_ctx_grant_t g = {"g-1", "maintenance", 2, false};
	in = (pol_ctx_input_t){.src_ip = "10.3.0.5", .now = TU_NOW, .token_age_s = 30, .grant = &g,
			       .change_window = "sat-night", .method = "GET", .path = "/orders/1"};
	rec = pol_ctx_build(&c, &in);
	keys_of(rec, keys, sizeof keys);
	assert_string_equal(keys, "change_window,grant,hour,method,now,path,src_ip,token_age_s,weekday");
	assert_sorted(rec);
	assert_json_matches(&in, rec);
	/* an address Cedar cannot read is left out */
	in.src_ip = "not-an-ip";
	rec = pol_ctx_build(&c, &in);
	assert_null(pol_record_get(rec, "src_ip", 6));
}

static void test_modbus_keys(void **state)
{
	pol_ctx_t c;
	mb_request_t r;
	char keys[512];
	pol_ctx_grant_t g = {"g-2", "setpoint change", 1, false};
	pol_ctx_input_t in = {.src_ip = "10.3.0.5", .now = TU_NOW, .token_age_s = -1, .grant = &g, .modbus = &r};

	/* a read: no values */
	decode(&r, BYTES(0x03, 0x00, 0x6B, 0x00, 0x03));
	const pol_value_t *rec = pol_ctx_build(&c, &in);
	keys_of(rec, keys, sizeof keys);
	assert_string_equal(keys, "address,count,function,grant,hour,now,src_ip,unit,weekday");
	assert_int_equal(long_of(rec, "function"), 3);
	assert_int_equal(long_of(rec, "unit"), 3);
	assert_int_equal(long_of(rec, "address"), 107);
	assert_int_equal(long_of(rec, "count"), 3);
	assert_json_matches(&in, rec);

	/* every key at once: read/write multiple, with a change window */
	in.change_window = "cw";
	in.method = "x"; /* not a Modbus key; only to fill the record */
	in.path = "y";
	in.token_age_s = 5;
	decode(&r, BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0x41, 0x00, 0x0A, 0x00, 0x41));
	rec = pol_ctx_build(&c, &in);
	keys_of(rec, keys, sizeof keys);
	assert_string_equal(keys, "address,change_window,count,function,grant,hour,max_value,method,min_value,now,path,"
				  "read_address,read_count,src_ip,token_age_s,unit,values,weekday");
	assert_sorted(rec);
	assert_int_equal(long_of(rec, "read_address"), 3);
	assert_int_equal(long_of(rec, "read_count"), 6);
	assert_int_equal(long_of(rec, "address"), 14);
	assert_int_equal(long_of(rec, "count"), 3);
	assert_int_equal(long_of(rec, "min_value"), 10);
	assert_int_equal(long_of(rec, "max_value"), 65);
	const pol_value_t *values = pol_record_get(rec, "values", 6);
	assert_int_equal(values->kind, PV_SET);
	assert_int_equal(values->n, 3);
	assert_int_equal(values->u.items[1].u.l, 10);
	assert_json_matches(&in, rec);

	/* diagnostics: the sub-function */
	in = (pol_ctx_input_t){.now = TU_NOW, .token_age_s = -1, .modbus = &r};
	decode(&r, BYTES(0x08, 0x00, 0x04, 0x00, 0x00));
	rec = pol_ctx_build(&c, &in);
	keys_of(rec, keys, sizeof keys);
	assert_string_equal(keys, "address,count,function,hour,now,subfunction,unit,weekday");
	assert_int_equal(long_of(rec, "address"), -1);
	assert_int_equal(long_of(rec, "count"), 0);
	assert_int_equal(long_of(rec, "subfunction"), 4);
	assert_json_matches(&in, rec);
}

static void test_modbus_values(void **state)
{
	pol_ctx_t c;
	mb_request_t r;
	pol_ctx_input_t in = {.now = TU_NOW, .token_age_s = -1, .modbus = &r};
	/* coils: the distinct values, as a set holds them */
	decode(&r, BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01));
	const pol_value_t *rec = pol_ctx_build(&c, &in);
	const pol_value_t *values = pol_record_get(rec, "values", 6);
	assert_int_equal(values->n, 2);
	assert_int_equal(values->u.items[0].u.l, 1);
	assert_int_equal(values->u.items[1].u.l, 0);
	assert_int_equal(long_of(rec, "min_value"), 0);
	assert_int_equal(long_of(rec, "max_value"), 1);
	assert_json_matches(&in, rec);
	decode(&r, BYTES(0x05, 0x00, 0xAC, 0xFF, 0x00));
	rec = pol_ctx_build(&c, &in);
	values = pol_record_get(rec, "values", 6);
	assert_int_equal(values->n, 1);
	assert_int_equal(values->u.items[0].u.l, 1);
	/* 123 registers, every one kept */
	uint8_t pdu[6 + 246] = {0x10, 0x00, 0x00, 0x00, 0x7B, 246};
	for (int i = 0; i < 123; i++)
		pdu[6 + 2 * i] = (uint8_t)i;
	decode(&r, pdu, sizeof pdu);
	rec = pol_ctx_build(&c, &in);
	values = pol_record_get(rec, "values", 6);
	assert_int_equal(values->n, 123);
	assert_int_equal(values->u.items[122].u.l, 122 << 8);
	assert_int_equal(long_of(rec, "max_value"), 122 << 8);
	assert_json_matches(&in, rec);
	/* mask write: the bounds of what it can write */
	decode(&r, BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25));
	rec = pol_ctx_build(&c, &in);
	assert_int_equal(long_of(rec, "min_value"), 0x05);
	assert_int_equal(long_of(rec, "max_value"), 0xF7);
	assert_json_matches(&in, rec);
}

/* The setpoint example of docs/policy.md (Modbus), as written there. */
static const char setpoint_policies[] =
	"// hmi-1 operates plc-7: reads and writes.\n"
	"@id(\"plc-7-operators\")\n"
	"permit (\n"
	"  principal == Workload::\"hmi-1\",\n"
	"  action in [Action::\"modbus.read\", Action::\"modbus.write\"],\n"
	"  resource == Device::\"plc-7\"\n"
	");\n"
	"\n"
	"// Holding register 40 of plc-7 is a temperature setpoint: 50 to 80, and\n"
	"// written on its own (a set of values cannot say which register gets which).\n"
	"@id(\"setpoint-40-bounds\")\n"
	"forbid (principal, action == Action::\"modbus.write\", resource == Device::\"plc-7\")\n"
	"when {\n"
	"  context has function && [6, 16, 22, 23].contains(context.function) &&\n"
	"  context.address <= 40 && 40 < context.address + context.count\n"
	"}\n"
	"unless { context.count == 1 && context.min_value >= 50 && context.max_value <= 80 };\n"
	"\n"
	"// No broadcasts (unit 0) to the serial devices behind a gateway.\n"
	"@id(\"no-broadcast\")\n"
	"forbid (principal, action, resource)\n"
	"when { context has unit && context.unit == 0 };\n";

static bool decide_unit(const pol_engine_t *eng, pol_scratch_t *s, uint8_t unit, const uint8_t *pdu, size_t n)
{
	mb_request_t r;
	pol_ctx_t c;
	decode(&r, pdu, n);
	r.unit = unit;
	pol_ctx_input_t in = {.now = TU_NOW, .token_age_s = -1, .modbus = &r};
	const char *action = mb_request_action(&r);
	pol_request_t req = {.principal = {{"Workload", 8}, {"hmi-1", 5}},
			     .action = {{"Action", 6}, {action, strlen(action)}},
			     .resource = {{"Device", 6}, {"plc-7", 5}}, .context = pol_ctx_build(&c, &in)};
	pol_decision_t d;
	assert_int_equal(pol_authorize(eng, NULL, &req, NULL, s, &d), 0);
	assert_int_equal(d.nerrors, 0);
	return d.allow;
}

static bool decide(const pol_engine_t *eng, pol_scratch_t *s, const uint8_t *pdu, size_t n)
{
	return decide_unit(eng, s, 3, pdu, n);
}

static void test_setpoint_policy(void **state)
{
	pol_set_t *set;
	pol_error_t err;
	pol_engine_t *eng;
	if (pol_parse(setpoint_policies, strlen(setpoint_policies), &set, &err) != 0)
		fail_msg("parse: %s", err.message);
	assert_int_equal(pol_engine_new(set, &eng, &err), 0);
	pol_scratch_t *s = pol_scratch_new();
	/* register 40 (0x28) alone, within 50..80 */
	assert_true(decide(eng, s, BYTES(0x06, 0x00, 0x28, 0x00, 50)));
	assert_true(decide(eng, s, BYTES(0x06, 0x00, 0x28, 0x00, 80)));
	assert_false(decide(eng, s, BYTES(0x06, 0x00, 0x28, 0x00, 81)));
	assert_false(decide(eng, s, BYTES(0x06, 0x00, 0x28, 0x00, 49)));
	assert_false(decide(eng, s, BYTES(0x06, 0x00, 0x28, 0xFF, 0xFF)));
	assert_true(decide(eng, s, BYTES(0x10, 0x00, 0x28, 0x00, 0x01, 0x02, 0x00, 60)));
	/* several registers over 40: refused, even with every value in bounds */
	assert_false(decide(eng, s, BYTES(0x10, 0x00, 0x27, 0x00, 0x02, 0x04, 0x00, 60, 0x00, 60)));
	assert_false(decide(eng, s, BYTES(0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x28, 0x00, 0x02, 0x04, 0, 60, 0, 60)));
	/* mask write: only when every result lies within the bounds */
	assert_true(decide(eng, s, BYTES(0x16, 0x00, 0x28, 0x00, 0x01, 0x00, 0x40)));   /* 64 or 65 */
	assert_false(decide(eng, s, BYTES(0x16, 0x00, 0x28, 0x00, 0xFF, 0x00, 0x40)));  /* 0..255 */
	assert_true(decide(eng, s, BYTES(0x16, 0x00, 0x28, 0x00, 0x00, 0x00, 0x40)));   /* 64 */
	assert_false(decide(eng, s, BYTES(0x16, 0x00, 0x28, 0x00, 0x80, 0x00, 0x40)));  /* 64 or 192 */
	/* other registers, coils and reads are not the setpoint */
	assert_true(decide(eng, s, BYTES(0x06, 0x00, 0x29, 0xFF, 0xFF)));
	assert_true(decide(eng, s, BYTES(0x10, 0x00, 0x26, 0x00, 0x02, 0x04, 0xFF, 0xFF, 0xFF, 0xFF)));
	assert_true(decide(eng, s, BYTES(0x05, 0x00, 0x28, 0xFF, 0x00)));
	assert_true(decide(eng, s, BYTES(0x03, 0x00, 0x28, 0x00, 0x01)));
	/* no broadcasts */
	assert_false(decide_unit(eng, s, 0, BYTES(0x03, 0x00, 0x28, 0x00, 0x01)));
	assert_true(decide_unit(eng, s, 0xFF, BYTES(0x03, 0x00, 0x28, 0x00, 0x01)));
	/* diagnostics are not permitted at all */
	assert_false(decide(eng, s, BYTES(0x08, 0x00, 0x00, 0x12, 0x34)));
	pol_scratch_free(s);
	pol_engine_free(eng);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_without_modbus),
		cmocka_unit_test(test_modbus_keys),
		cmocka_unit_test(test_modbus_values),
		cmocka_unit_test(test_setpoint_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
