/* test_modbus.c - the Modbus/TCP codec (src/core/modbus.c): MBAP framing
 * over partial buffers and several frames in one, request decoding for
 * every function code it decodes (the examples of the MODBUS Application
 * Protocol Specification V1.1b3, §6, byte for byte; each bound at and past
 * its limit; each kind of bad PDU and which exception answers it), the
 * policy view, exception responses, and the check of a device's response
 * against its request. */
#include "test_util.h"
#include "core/modbus.h"
#include <string.h>

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static const char *why;

/* An ADU: MBAP (tid, protocol 0, length, unit) and pdu[0..n). The length
 * field is what n says, even past the specification's bound. */
static size_t frame(uint8_t *adu, uint16_t tid, uint8_t unit, const uint8_t *pdu, size_t n)
{
	adu[0] = (uint8_t)(tid >> 8);
	adu[1] = (uint8_t)tid;
	adu[2] = adu[3] = 0;
	adu[4] = (uint8_t)((n + 1) >> 8);
	adu[5] = (uint8_t)(n + 1);
	adu[6] = unit;
	memcpy(adu + MB_MBAP_LEN, pdu, n);
	return MB_MBAP_LEN + n;
}

/* Decodes pdu under tid 0x1234, unit 0x11. */
static int decode(const uint8_t *pdu, size_t n, mb_request_t *r)
{
	uint8_t adu[MB_MBAP_LEN + 512];
	why = NULL;
	int st = mb_request_decode(adu, frame(adu, 0x1234, 0x11, pdu, n), r, &why);
	assert_true(st == MB_DECODE_OK || why != NULL);
	return st;
}

static void expect_ok(const uint8_t *pdu, size_t n, mb_request_t *r)
{
	int st = decode(pdu, n, r);
	if (st != MB_DECODE_OK)
		fail_msg("function %u: %d (%s)", pdu[0], st, why);
	assert_int_equal(r->tid, 0x1234);
	assert_int_equal(r->unit, 0x11);
	assert_int_equal(r->function, pdu[0]);
	assert_int_equal(r->exception, 0);
	assert_int_equal(r->pdu_len, n);
}

/* The request is answered with exception code, and keeps what that needs. */
static void expect_exception(const uint8_t *pdu, size_t n, uint8_t code)
{
	mb_request_t r;
	int st = decode(pdu, n, &r);
	if (st != MB_DECODE_EXCEPTION || r.exception != code)
		fail_msg("function %u (%zu bytes): status %d exception %u, wanted 0x%02x (%s)", pdu[0], n, st,
			 r.exception, code, why ? why : "");
	assert_int_equal(r.tid, 0x1234);
	assert_int_equal(r.unit, 0x11);
	assert_int_equal(r.function, pdu[0]);
}

static void expect_values(const mb_request_t *r, const int *want, size_t n)
{
	assert_int_equal(r->n_values, n);
	int lo = n ? want[0] : -1, hi = lo;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(mb_request_value(r, i), want[i]);
		lo = want[i] < lo ? want[i] : lo;
		hi = want[i] > hi ? want[i] : hi;
	}
	assert_int_equal(mb_request_value(r, n), -1);
	assert_int_equal(r->min_value, lo);
	assert_int_equal(r->max_value, hi);
}

/* ---- framing ------------------------------------------------------------- */

static void test_frame_partial_buffers(void **state)
{
	/* read holding registers 0x006B x3, tid 1, unit 0x11 */
	static const uint8_t adu[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
	size_t len = 99;
	for (size_t i = 0; i < sizeof adu; i++) {
		assert_int_equal(mb_frame_length(adu, i, &len, &why), MB_FRAME_NEED_MORE);
		assert_int_equal(len, 99); /* untouched */
	}
	assert_int_equal(mb_frame_length(adu, sizeof adu, &len, &why), MB_FRAME_COMPLETE);
	assert_int_equal(len, 12);
	assert_int_equal(mb_frame_length(adu, sizeof adu, NULL, NULL), MB_FRAME_COMPLETE);
	assert_int_equal(mb_frame_length(NULL, 0, NULL, NULL), MB_FRAME_NEED_MORE);
}

static void test_frame_several_in_one_buffer(void **state)
{
	uint8_t buf[3 * MB_MAX_ADU];
	uint8_t big[MB_MAX_PDU] = {0x10};
	size_t len = frame(buf, 1, 1, BYTES(0x07));
	len += frame(buf + len, 2, 2, big, sizeof big);
	len += frame(buf + len, 3, 3, BYTES(0x03, 0x00, 0x00, 0x00, 0x01));
	const size_t want[] = {8, MB_MAX_ADU, 12};
	size_t off = 0, got;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(mb_frame_length(buf + off, len - off, &got, &why), MB_FRAME_COMPLETE);
		assert_int_equal(got, want[i]);
		assert_int_equal(mb_tid(buf + off), i + 1);
		off += got;
	}
	assert_int_equal(off, len);
	/* the last frame split anywhere: the first two still come out whole */
	for (size_t cut = 0; cut < 12; cut++) {
		off = 0;
		assert_int_equal(mb_frame_length(buf, len - cut, &got, &why), MB_FRAME_COMPLETE);
		off += got;
		assert_int_equal(mb_frame_length(buf + off, len - cut - off, &got, &why), MB_FRAME_COMPLETE);
		off += got;
		assert_int_equal(mb_frame_length(buf + off, len - cut - off, &got, &why),
				 cut ? MB_FRAME_NEED_MORE : MB_FRAME_COMPLETE);
	}
}

static void test_frame_malformed_header(void **state)
{
	/* protocol id 1: refused once its 4 bytes are there */
	static const uint8_t proto[] = {0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
	assert_int_equal(mb_frame_length(proto, 3, NULL, &why), MB_FRAME_NEED_MORE);
	why = NULL;
	assert_int_equal(mb_frame_length(proto, 4, NULL, &why), MB_FRAME_MALFORMED);
	assert_non_null(strstr(why, "protocol id"));
	static const uint8_t proto_hi[] = {0x00, 0x01, 0x80, 0x00};
	assert_int_equal(mb_frame_length(proto_hi, 4, NULL, NULL), MB_FRAME_MALFORMED);
	/* the length field: 2..254 */
	uint8_t h[MB_MAX_ADU + 8] = {0};
	const struct {
		uint16_t length;
		int want;
	} lengths[] = {{0, MB_FRAME_MALFORMED}, {1, MB_FRAME_MALFORMED}, {2, MB_FRAME_COMPLETE},
		       {254, MB_FRAME_COMPLETE}, {255, MB_FRAME_MALFORMED}, {256, MB_FRAME_MALFORMED},
		       {0xFFFF, MB_FRAME_MALFORMED}};
	for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
		size_t got = 0;
		h[4] = (uint8_t)(lengths[i].length >> 8);
		h[5] = (uint8_t)lengths[i].length;
		assert_int_equal(mb_frame_length(h, sizeof h, &got, &why), lengths[i].want);
		if (lengths[i].want == MB_FRAME_COMPLETE)
			assert_int_equal(got, 6 + lengths[i].length);
		/* known from the header alone */
		assert_int_equal(mb_frame_length(h, 6, NULL, NULL),
				 lengths[i].want == MB_FRAME_COMPLETE ? MB_FRAME_NEED_MORE : MB_FRAME_MALFORMED);
	}
}

/* ---- decoding: frame-level failures close ------------------------------- */

static void test_decode_wants_one_whole_frame(void **state)
{
	static const uint8_t adu[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0xAA};
	mb_request_t r;
	assert_int_equal(mb_request_decode(adu, 12, &r, &why), MB_DECODE_OK);
	assert_int_equal(r.tid, 1);
	assert_int_equal(r.unit, 0x11);
	assert_int_equal(r.function, 3);
	assert_int_equal(r.address, 0x6B);
	assert_int_equal(r.count, 3);
	assert_int_equal(mb_request_decode(adu, 13, &r, &why), MB_DECODE_MALFORMED);
	assert_string_equal(why, "bytes after the frame");
	for (size_t n = 0; n < 12; n++) {
		why = NULL;
		assert_int_equal(mb_request_decode(adu, n, &r, &why), MB_DECODE_MALFORMED);
		assert_non_null(why);
	}
	/* a PDU over 253 bytes cannot be framed */
	uint8_t pdu[MB_MAX_PDU + 1] = {0x10}, big[MB_MAX_ADU + 1];
	assert_int_equal(mb_request_decode(big, frame(big, 1, 1, pdu, sizeof pdu), &r, &why), MB_DECODE_MALFORMED);
	assert_non_null(strstr(why, "above 254"));
	static const uint8_t proto[] = {0x00, 0x01, 0x00, 0x02, 0x00, 0x06, 0x11, 0x03, 0x00, 0x6B, 0x00, 0x03};
	assert_int_equal(mb_request_decode(proto, sizeof proto, &r, NULL), MB_DECODE_MALFORMED);
	static const uint8_t short_len[] = {0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11};
	assert_int_equal(mb_request_decode(short_len, sizeof short_len, &r, NULL), MB_DECODE_MALFORMED);
}

static void test_decode_function_code_zero_or_exception_range(void **state)
{
	mb_request_t r;
	const uint8_t codes[] = {0x00, 0x80, 0x81, 0x83, 0x90, 0xAB, 0xFF};
	for (size_t i = 0; i < sizeof codes; i++) {
		uint8_t pdu[5] = {codes[i], 0, 0, 0, 1};
		assert_int_equal(decode(pdu, sizeof pdu, &r), MB_DECODE_MALFORMED);
		assert_int_equal(decode(pdu, 1, &r), MB_DECODE_MALFORMED);
	}
}

/* ---- decoding: every function code --------------------------------------- */

static void test_unknown_functions_answer_illegal_function(void **state)
{
	static const uint8_t known[] = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43};
	mb_request_t r;
	for (unsigned fc = 1; fc < 0x80; fc++) {
		bool is_known = memchr(known, (int)fc, sizeof known) != NULL;
		assert_int_equal(mb_function_name((uint8_t)fc) != NULL, is_known);
		if (is_known)
			continue;
		/* reserved (9, 10, 13, 14, 41, 42, 90, 91, 125-127), user-defined
		 * (65-72, 100-110), unassigned: whatever data follows */
		expect_exception(BYTES((uint8_t)fc, 0x00, 0x00, 0x00, 0x01), MB_EX_ILLEGAL_FUNCTION);
		expect_exception(BYTES((uint8_t)fc), MB_EX_ILLEGAL_FUNCTION);
		assert_int_equal(decode(BYTES((uint8_t)fc), &r), MB_DECODE_EXCEPTION);
		assert_null(mb_request_action(&r));
	}
	assert_null(mb_function_name(0));
	assert_null(mb_function_name(0x83));
	assert_string_equal(mb_function_name(16), "write_multiple_registers");
	assert_string_equal(mb_function_name(43), "read_device_identification");
}

static void test_read_bits(void **state)
{
	mb_request_t r;
	/* §6.1: read coils 20-38; §6.2: read discrete inputs 197-218 */
	expect_ok(BYTES(0x01, 0x00, 0x13, 0x00, 0x13), &r);
	assert_int_equal(r.address, 19);
	assert_int_equal(r.count, 19);
	assert_string_equal(mb_request_action(&r), MB_ACTION_READ);
	expect_values(&r, NULL, 0);
	assert_int_equal(r.subfunction, -1);
	assert_int_equal(r.read_address, -1);
	expect_ok(BYTES(0x02, 0x00, 0xC4, 0x00, 0x16), &r);
	assert_int_equal(r.address, 196);
	assert_int_equal(r.count, 22);
	for (uint8_t fc = 1; fc <= 2; fc++) {
		expect_ok(BYTES(fc, 0x00, 0x00, 0x00, 0x01), &r);
		expect_ok(BYTES(fc, 0x00, 0x00, 0x07, 0xD0), &r); /* 2000 */
		expect_ok(BYTES(fc, 0xFF, 0xFF, 0x00, 0x01), &r); /* the last address */
		expect_ok(BYTES(fc, 0xF8, 0x30, 0x07, 0xD0), &r); /* 0xF830 + 2000 = 0x10000 */
		assert_int_equal(r.address + r.count, 0x10000);
		expect_exception(BYTES(fc, 0x00, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0x00, 0x00, 0x07, 0xD1), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0x00, 0x00, 0xFF, 0xFF), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0xF8, 0x31, 0x07, 0xD0), MB_EX_ILLEGAL_DATA_ADDRESS);
		expect_exception(BYTES(fc, 0xFF, 0xFF, 0x00, 0x02), MB_EX_ILLEGAL_DATA_ADDRESS);
		/* a bad quantity is reported before a bad range */
		expect_exception(BYTES(fc, 0xFF, 0xFF, 0x07, 0xD1), MB_EX_ILLEGAL_DATA_VALUE);
		/* the implied length */
		expect_exception(BYTES(fc, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0x00, 0x00, 0x00, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	}
}

static void test_read_registers(void **state)
{
	mb_request_t r;
	/* §6.3: holding registers 108-110; §6.4: input register 9 */
	expect_ok(BYTES(0x03, 0x00, 0x6B, 0x00, 0x03), &r);
	assert_int_equal(r.address, 107);
	assert_int_equal(r.count, 3);
	assert_string_equal(mb_request_action(&r), MB_ACTION_READ);
	expect_ok(BYTES(0x04, 0x00, 0x08, 0x00, 0x01), &r);
	assert_int_equal(r.address, 8);
	assert_int_equal(r.count, 1);
	for (uint8_t fc = 3; fc <= 4; fc++) {
		expect_ok(BYTES(fc, 0x00, 0x00, 0x00, 0x7D), &r); /* 125 */
		expect_ok(BYTES(fc, 0xFF, 0x83, 0x00, 0x7D), &r); /* ends at 0xFFFF */
		expect_exception(BYTES(fc, 0x00, 0x00, 0x00, 0x7E), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0x00, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0xFF, 0x84, 0x00, 0x7D), MB_EX_ILLEGAL_DATA_ADDRESS);
		expect_exception(BYTES(fc, 0x00, 0x6B, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(fc, 0x00, 0x6B, 0x00, 0x03, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	}
}

static void test_write_single_coil(void **state)
{
	mb_request_t r;
	/* §6.5: coil 173 ON */
	expect_ok(BYTES(0x05, 0x00, 0xAC, 0xFF, 0x00), &r);
	assert_int_equal(r.address, 172);
	assert_int_equal(r.count, 1);
	assert_true(r.coils);
	expect_values(&r, (const int[]){1}, 1);
	assert_string_equal(mb_request_action(&r), MB_ACTION_WRITE);
	expect_ok(BYTES(0x05, 0xFF, 0xFF, 0x00, 0x00), &r);
	expect_values(&r, (const int[]){0}, 1);
	expect_exception(BYTES(0x05, 0x00, 0xAC, 0x00, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x05, 0x00, 0xAC, 0x00, 0xFF), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x05, 0x00, 0xAC, 0xFF, 0xFF), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x05, 0x00, 0xAC, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x05, 0x00, 0xAC, 0xFF), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x05, 0x00, 0xAC, 0xFF, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_write_single_register(void **state)
{
	mb_request_t r;
	/* §6.6: register 2 = 0x0003 */
	expect_ok(BYTES(0x06, 0x00, 0x01, 0x00, 0x03), &r);
	assert_int_equal(r.address, 1);
	assert_int_equal(r.count, 1);
	assert_false(r.coils);
	expect_values(&r, (const int[]){3}, 1);
	assert_string_equal(mb_request_action(&r), MB_ACTION_WRITE);
	expect_ok(BYTES(0x06, 0xFF, 0xFF, 0xFF, 0xFF), &r);
	expect_values(&r, (const int[]){0xFFFF}, 1);
	expect_exception(BYTES(0x06, 0x00, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x06, 0x00, 0x01, 0x00, 0x03, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_bare_functions(void **state)
{
	const struct {
		uint8_t fc;
		const char *name;
	} bare[] = {{7, "read_exception_status"}, {11, "get_comm_event_counter"},
		    {12, "get_comm_event_log"}, {17, "report_server_id"}};
	mb_request_t r;
	for (size_t i = 0; i < 4; i++) {
		expect_ok(BYTES(bare[i].fc), &r);
		assert_int_equal(r.address, -1);
		assert_int_equal(r.count, 0);
		expect_values(&r, NULL, 0);
		assert_string_equal(mb_request_action(&r), MB_ACTION_DIAGNOSTIC);
		assert_string_equal(mb_function_name(bare[i].fc), bare[i].name);
		expect_exception(BYTES(bare[i].fc, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(bare[i].fc, 0x00, 0x00, 0x00, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	}
}

static void test_diagnostics(void **state)
{
	mb_request_t r;
	/* §6.8: return query data 0xA537 */
	expect_ok(BYTES(0x08, 0x00, 0x00, 0xA5, 0x37), &r);
	assert_int_equal(r.subfunction, 0);
	assert_int_equal(r.address, -1);
	assert_int_equal(r.count, 0);
	assert_false(r.no_response);
	assert_string_equal(mb_request_action(&r), MB_ACTION_DIAGNOSTIC);
	expect_ok(BYTES(0x08, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04), &r);
	expect_exception(BYTES(0x08, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x08, 0x00, 0x00, 0xA5), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x08, 0x00, 0x00, 0xA5, 0x37, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	/* restart communications: 0x0000 or 0xFF00 (clear the event log) */
	expect_ok(BYTES(0x08, 0x00, 0x01, 0x00, 0x00), &r);
	expect_ok(BYTES(0x08, 0x00, 0x01, 0xFF, 0x00), &r);
	assert_int_equal(r.value, 0xFF00);
	expect_exception(BYTES(0x08, 0x00, 0x01, 0x00, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	/* change ASCII input delimiter: CHAR 0x00 */
	expect_ok(BYTES(0x08, 0x00, 0x03, 0x3A, 0x00), &r);
	expect_exception(BYTES(0x08, 0x00, 0x03, 0x3A, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	/* force listen only mode: the device will not answer */
	expect_ok(BYTES(0x08, 0x00, 0x04, 0x00, 0x00), &r);
	assert_true(r.no_response);
	/* the rest take 0x0000 and nothing else */
	static const uint16_t zero[] = {0x02, 0x04, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x14};
	for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
		uint8_t sub = (uint8_t)zero[i];
		expect_ok(BYTES(0x08, 0x00, sub, 0x00, 0x00), &r);
		assert_int_equal(r.subfunction, sub);
		expect_exception(BYTES(0x08, 0x00, sub, 0x00, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(0x08, 0x00, sub), MB_EX_ILLEGAL_DATA_VALUE);
		expect_exception(BYTES(0x08, 0x00, sub, 0x00, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	}
	/* reserved sub-functions: ILLEGAL FUNCTION, whatever their data */
	static const uint16_t reserved[] = {0x05, 0x06, 0x07, 0x08, 0x09, 0x13, 0x15, 0x16, 0x100, 0xFFFF};
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		uint8_t hi = (uint8_t)(reserved[i] >> 8), lo = (uint8_t)reserved[i];
		expect_exception(BYTES(0x08, hi, lo, 0x00, 0x00), MB_EX_ILLEGAL_FUNCTION);
		expect_exception(BYTES(0x08, hi, lo), MB_EX_ILLEGAL_FUNCTION);
	}
	expect_exception(BYTES(0x08, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x08), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_write_multiple_coils(void **state)
{
	mb_request_t r;
	/* §6.11: 10 coils from 20: CD 01 */
	expect_ok(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01), &r);
	assert_int_equal(r.address, 19);
	assert_int_equal(r.count, 10);
	assert_true(r.coils);
	expect_values(&r, (const int[]){1, 0, 1, 1, 0, 0, 1, 1, 1, 0}, 10);
	assert_string_equal(mb_request_action(&r), MB_ACTION_WRITE);
	/* unused bits of the last byte are not values */
	expect_ok(BYTES(0x0F, 0x00, 0x00, 0x00, 0x01, 0x01, 0xFE), &r);
	expect_values(&r, (const int[]){0}, 1);
	/* 1968 coils: 246 bytes, a 252-byte PDU */
	uint8_t max[6 + 247] = {0x0F, 0x00, 0x00, 0x07, 0xB0, 246};
	memset(max + 6, 0xFF, 246);
	expect_ok(max, 6 + 246, &r);
	assert_int_equal(r.n_values, 1968);
	assert_int_equal(mb_request_value(&r, 1967), 1);
	assert_int_equal(r.min_value, 1);
	max[1] = 0xF8;
	max[2] = 0x50; /* from 0xF850: 0xF850 + 1968 = 0x10000 */
	expect_ok(max, 6 + 246, &r);
	max[2] = 0x51;
	expect_exception(max, 6 + 246, MB_EX_ILLEGAL_DATA_ADDRESS);
	/* 1969 coils would need 247 bytes */
	uint8_t over[6 + 247] = {0x0F, 0x00, 0x00, 0x07, 0xB1, 247};
	expect_exception(over, sizeof over, MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x0F, 0x00, 0x13, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	/* byte count not ceil(q / 8) */
	expect_exception(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x01, 0xCD), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x03, 0xCD, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	/* PDU length not 6 + byte count */
	expect_exception(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x0F, 0xFF, 0xFF, 0x00, 0x02, 0x01, 0x03), MB_EX_ILLEGAL_DATA_ADDRESS);
}

static void test_write_multiple_registers(void **state)
{
	mb_request_t r;
	/* §6.12: registers 2 and 3 = 0x000A, 0x0102 */
	expect_ok(BYTES(0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02), &r);
	assert_int_equal(r.address, 1);
	assert_int_equal(r.count, 2);
	assert_false(r.coils);
	expect_values(&r, (const int[]){10, 258}, 2);
	assert_string_equal(mb_request_action(&r), MB_ACTION_WRITE);
	/* 123 registers: 246 bytes */
	uint8_t max[6 + 248] = {0x10, 0xFF, 0x85, 0x00, 0x7B, 246};
	for (int i = 0; i < 123; i++)
		max[6 + 2 * i + 1] = (uint8_t)i;
	expect_ok(max, 6 + 246, &r); /* 0xFF85 + 123 = 0x10000 */
	assert_int_equal(r.n_values, 123);
	assert_int_equal(mb_request_value(&r, 122), 122);
	assert_int_equal(r.min_value, 0);
	assert_int_equal(r.max_value, 122);
	max[2] = 0x86;
	expect_exception(max, 6 + 246, MB_EX_ILLEGAL_DATA_ADDRESS);
	uint8_t over[6 + 248] = {0x10, 0x00, 0x00, 0x00, 0x7C, 248};
	expect_exception(over, MB_MAX_PDU, MB_EX_ILLEGAL_DATA_VALUE); /* 124, cut to fit a frame */
	expect_exception(BYTES(0x10, 0x00, 0x01, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x10, 0x00, 0x01, 0x00, 0x02, 0x03, 0x00, 0x0A, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02, 0x03),
			 MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x10, 0xFF, 0xFF, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02), MB_EX_ILLEGAL_DATA_ADDRESS);
}

static void test_read_file_record(void **state)
{
	mb_request_t r;
	/* §6.14: file 4 record 1 (2 registers), file 3 record 9 (2 registers) */
	expect_ok(BYTES(0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09, 0x00, 0x02),
		  &r);
	assert_int_equal(r.n_files, 2);
	assert_int_equal(r.files[0].file, 4);
	assert_int_equal(r.files[0].record, 1);
	assert_int_equal(r.files[0].length, 2);
	assert_int_equal(r.files[1].file, 3);
	assert_int_equal(r.files[1].record, 9);
	assert_int_equal(r.address, -1);
	assert_int_equal(r.count, 4);
	expect_values(&r, NULL, 0);
	assert_string_equal(mb_request_action(&r), MB_ACTION_PROGRAM);
	/* the last record, 9999 */
	expect_ok(BYTES(0x14, 0x07, 0x06, 0xFF, 0xFF, 0x27, 0x0F, 0x00, 0x01), &r);
	expect_exception(BYTES(0x14, 0x07, 0x06, 0xFF, 0xFF, 0x27, 0x0F, 0x00, 0x02), MB_EX_ILLEGAL_DATA_ADDRESS);
	expect_exception(BYTES(0x14, 0x07, 0x06, 0xFF, 0xFF, 0x27, 0x10, 0x00, 0x01), MB_EX_ILLEGAL_DATA_ADDRESS);
	expect_exception(BYTES(0x14, 0x07, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01), MB_EX_ILLEGAL_DATA_ADDRESS);
	expect_exception(BYTES(0x14, 0x07, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01), MB_EX_ILLEGAL_DATA_ADDRESS);
	expect_exception(BYTES(0x14, 0x07, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	/* byte count 0x07..0xF5, a multiple of 7, and the PDU's length */
	expect_exception(BYTES(0x14, 0x06, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x14, 0x08, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x14, 0x07, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x14, 0x0E, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x14), MB_EX_ILLEGAL_DATA_VALUE);
	uint8_t many[2 + 0xF6] = {0x14, 0xF6};
	expect_exception(many, sizeof many, MB_EX_ILLEGAL_DATA_VALUE);
	/* 35 sub-requests (0xF5 bytes) of one record each: a 2 + 35 * 4 byte answer */
	many[1] = 0xF5;
	for (int i = 0; i < 35; i++)
		memcpy(many + 2 + 7 * i, (const uint8_t[]){0x06, 0x00, 0x01, 0x00, (uint8_t)i, 0x00, 0x01}, 7);
	expect_ok(many, 2 + 0xF5, &r);
	assert_int_equal(r.n_files, 35);
	assert_int_equal(r.count, 35);
	/* a value error in a later sub-request wins over an address error in an earlier one */
	expect_exception(BYTES(0x14, 0x0E, 0x07, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00,
			       0x00),
			 MB_EX_ILLEGAL_DATA_VALUE);
	/* the answer must fit in a PDU: 2 + 3 * (2 + 2 * 41) = 254 > 253 */
	expect_ok(BYTES(0x14, 0x15, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x29, 0x06, 0x00, 0x01, 0x00, 0x29, 0x00, 0x29,
			0x06, 0x00, 0x01, 0x00, 0x52, 0x00, 0x28),
		  &r);
	expect_exception(BYTES(0x14, 0x15, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x29, 0x06, 0x00, 0x01, 0x00, 0x29, 0x00,
			       0x29, 0x06, 0x00, 0x01, 0x00, 0x52, 0x00, 0x29),
			 MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x14, 0x07, 0x06, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_write_file_record(void **state)
{
	mb_request_t r;
	/* §6.15: file 4 record 7, 3 registers 06AF 04BE 100D */
	expect_ok(BYTES(0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D), &r);
	assert_int_equal(r.n_files, 1);
	assert_int_equal(r.files[0].file, 4);
	assert_int_equal(r.files[0].record, 7);
	assert_int_equal(r.files[0].length, 3);
	assert_int_equal(r.count, 3);
	assert_int_equal(r.address, -1);
	expect_values(&r, NULL, 0);
	assert_string_equal(mb_request_action(&r), MB_ACTION_PROGRAM);
	/* two sub-requests */
	expect_ok(BYTES(0x15, 0x12, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xAA, 0xBB, 0x06, 0x00, 0x02, 0x27, 0x0F,
			0x00, 0x01, 0xCC, 0xDD),
		  &r);
	assert_int_equal(r.n_files, 2);
	assert_int_equal(r.count, 2);
	/* data cut short; sub-request header cut short; byte count range */
	expect_exception(BYTES(0x15, 0x0B, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE),
			 MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x15, 0x0D, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xAA, 0xBB, 0x06, 0x00, 0x02, 0x00),
			 MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x15, 0x08, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x15, 0x09, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0xAA, 0xBB),
			 MB_EX_ILLEGAL_DATA_VALUE); /* no records */
	uint8_t big[2 + 0xFC] = {0x15, 0xFC};
	expect_exception(big, MB_MAX_PDU, MB_EX_ILLEGAL_DATA_VALUE); /* byte count 0xFC */
	expect_exception(BYTES(0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10),
			 MB_EX_ILLEGAL_DATA_VALUE);
	/* places */
	expect_exception(BYTES(0x15, 0x09, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xAA, 0xBB),
			 MB_EX_ILLEGAL_DATA_ADDRESS);
	expect_exception(BYTES(0x15, 0x09, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xAA, 0xBB),
			 MB_EX_ILLEGAL_DATA_ADDRESS);
	expect_exception(BYTES(0x15, 0x09, 0x06, 0x00, 0x01, 0x27, 0x10, 0x00, 0x01, 0xAA, 0xBB),
			 MB_EX_ILLEGAL_DATA_ADDRESS);
}

static void test_mask_write_register(void **state)
{
	mb_request_t r;
	/* §6.16: register 5, AND 0x00F2, OR 0x0025 */
	expect_ok(BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25), &r);
	assert_int_equal(r.address, 4);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.and_mask, 0xF2);
	assert_int_equal(r.or_mask, 0x25);
	/* (current & 0xF2) | (0x25 & ~0xF2): 0x05 at the least, 0xF7 at the most */
	expect_values(&r, (const int[]){0x05, 0xF7}, 2);
	assert_string_equal(mb_request_action(&r), MB_ACTION_WRITE);
	/* AND mask 0: the OR mask is what is written */
	expect_ok(BYTES(0x16, 0x00, 0x04, 0x00, 0x00, 0x12, 0x34), &r);
	expect_values(&r, (const int[]){0x1234}, 1);
	/* AND mask 0xFFFF: nothing changes, any value may be there */
	expect_ok(BYTES(0x16, 0x00, 0x04, 0xFF, 0xFF, 0x00, 0x00), &r);
	expect_values(&r, (const int[]){0, 0xFFFF}, 2);
	expect_exception(BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_read_write_multiple_registers(void **state)
{
	mb_request_t r;
	/* §6.17: read 6 from 4, write 3 from 15 (0x00FF each) */
	expect_ok(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF),
		  &r);
	assert_int_equal(r.read_address, 3);
	assert_int_equal(r.read_count, 6);
	assert_int_equal(r.address, 14);
	assert_int_equal(r.count, 3);
	expect_values(&r, (const int[]){0xFF, 0xFF, 0xFF}, 3);
	assert_string_equal(mb_request_action(&r), MB_ACTION_WRITE);
	/* read 125, write 121: a 252-byte PDU */
	uint8_t max[10 + 244] = {0x17, 0xFF, 0x83, 0x00, 0x7D, 0xFF, 0x87, 0x00, 0x79, 242};
	expect_ok(max, 10 + 242, &r);
	assert_int_equal(r.n_values, 121);
	max[2] = 0x84; /* read runs past 0xFFFF */
	expect_exception(max, 10 + 242, MB_EX_ILLEGAL_DATA_ADDRESS);
	max[2] = 0x83;
	max[6] = 0x88; /* write runs past 0xFFFF */
	expect_exception(max, 10 + 242, MB_EX_ILLEGAL_DATA_ADDRESS);
	max[6] = 0x87;
	max[4] = 0x7E; /* read 126 */
	expect_exception(max, 10 + 242, MB_EX_ILLEGAL_DATA_VALUE);
	max[4] = 0x00; /* read 0 */
	expect_exception(max, 10 + 242, MB_EX_ILLEGAL_DATA_VALUE);
	uint8_t over[10 + 244] = {0x17, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x7A, 244};
	expect_exception(over, MB_MAX_PDU, MB_EX_ILLEGAL_DATA_VALUE); /* write 122, cut to fit a frame */
	expect_exception(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x01, 0x04, 0x00, 0xFF, 0x00, 0xFF),
			 MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x01, 0x02, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x01, 0x02, 0x00, 0xFF, 0x00),
			 MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_read_fifo_queue(void **state)
{
	mb_request_t r;
	/* §6.18: FIFO pointer 0x04DE */
	expect_ok(BYTES(0x18, 0x04, 0xDE), &r);
	assert_int_equal(r.address, 0x04DE);
	assert_int_equal(r.count, 1);
	assert_string_equal(mb_request_action(&r), MB_ACTION_READ);
	expect_ok(BYTES(0x18, 0xFF, 0xFF), &r);
	expect_exception(BYTES(0x18, 0x04), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x18, 0x04, 0xDE, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
}

static void test_read_device_identification(void **state)
{
	mb_request_t r;
	/* §6.21: basic identification from object 0 */
	expect_ok(BYTES(0x2B, 0x0E, 0x01, 0x00), &r);
	assert_int_equal(r.subfunction, 14);
	assert_int_equal(r.dev_id_code, 1);
	assert_int_equal(r.object_id, 0);
	assert_int_equal(r.address, -1);
	assert_int_equal(r.count, 0);
	assert_string_equal(mb_request_action(&r), MB_ACTION_READ);
	expect_ok(BYTES(0x2B, 0x0E, 0x04, 0x81), &r); /* one private object */
	expect_exception(BYTES(0x2B, 0x0E, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x2B, 0x0E, 0x05, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x2B, 0x0E, 0x01), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x2B, 0x0E, 0x01, 0x00, 0x00), MB_EX_ILLEGAL_DATA_VALUE);
	expect_exception(BYTES(0x2B), MB_EX_ILLEGAL_DATA_VALUE);
	/* CANopen general reference (13) and other MEI types are not decoded */
	expect_exception(BYTES(0x2B, 0x0D, 0x00, 0x00, 0x00), MB_EX_ILLEGAL_FUNCTION);
	expect_exception(BYTES(0x2B, 0x00), MB_EX_ILLEGAL_FUNCTION);
	expect_exception(BYTES(0x2B, 0xFF, 0x01, 0x00), MB_EX_ILLEGAL_FUNCTION);
}

/* ---- exceptions and transaction ids --------------------------------------- */

static void test_exception_response(void **state)
{
	mb_request_t r;
	static const uint8_t adu[] = {0xBE, 0xEF, 0x00, 0x00, 0x00, 0x06, 0x07, 0x10, 0x00, 0x01, 0x00, 0x00};
	assert_int_equal(mb_request_decode(adu, sizeof adu, &r, &why), MB_DECODE_EXCEPTION);
	uint8_t out[MB_EXCEPTION_ADU_LEN];
	assert_int_equal(mb_exception(&r, r.exception, out), 9);
	assert_memory_equal(out, ((const uint8_t[]){0xBE, 0xEF, 0x00, 0x00, 0x00, 0x03, 0x07, 0x90, 0x03}), 9);
	assert_int_equal(mb_exception(&r, MB_EX_GATEWAY_TARGET_FAILED, out), 9);
	assert_int_equal(out[8], 0x0B);
	/* an unknown function: ILLEGAL FUNCTION under its own code | 0x80 */
	static const uint8_t user[] = {0x00, 0x2A, 0x00, 0x00, 0x00, 0x03, 0xFF, 0x41, 0x00};
	assert_int_equal(mb_request_decode(user, sizeof user, &r, &why), MB_DECODE_EXCEPTION);
	mb_exception(&r, r.exception, out);
	assert_memory_equal(out, ((const uint8_t[]){0x00, 0x2A, 0x00, 0x00, 0x00, 0x03, 0xFF, 0xC1, 0x01}), 9);
	/* the response frames and checks as one */
	size_t len;
	assert_int_equal(mb_frame_length(out, 9, &len, NULL), MB_FRAME_COMPLETE);
	assert_int_equal(len, 9);
	assert_string_equal(mb_exception_name(MB_EX_ILLEGAL_FUNCTION), "illegal_function");
	assert_string_equal(mb_exception_name(MB_EX_GATEWAY_PATH_UNAVAILABLE), "gateway_path_unavailable");
	/* exactly the codes of §7 have names */
	for (unsigned code = 0; code < 256; code++) {
		bool spec = (code >= 0x01 && code <= 0x06) || code == 0x08 || code == 0x0A || code == 0x0B;
		assert_int_equal(mb_exception_name((uint8_t)code) != NULL, spec);
	}
}

static void test_tid(void **state)
{
	uint8_t adu[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x02, 0x01, 0x07};
	assert_int_equal(mb_tid(adu), 0x1234);
	mb_set_tid(adu, 0xFFFE);
	assert_memory_equal(adu, ((const uint8_t[]){0xFF, 0xFE, 0x00, 0x00, 0x00, 0x02, 0x01, 0x07}), 8);
	assert_int_equal(mb_tid(adu), 0xFFFE);
}

/* ---- responses ------------------------------------------------------------ */

/* Checks the response pdu (framed under tid 0x0042, unit 0x11) against the
 * request pdu. */
static int response(const uint8_t *req_pdu, size_t req_n, const uint8_t *pdu, size_t n)
{
	mb_request_t r;
	expect_ok(req_pdu, req_n, &r);
	uint8_t adu[MB_MBAP_LEN + 512];
	why = NULL;
	int st = mb_response_check(adu, frame(adu, 0x0042, 0x11, pdu, n), &r, 0x0042, &why);
	assert_true(st != MB_RESPONSE_BAD || why != NULL);
	return st;
}

static void test_responses_of_the_specification(void **state)
{
	/* §6 examples, each request with its response */
	assert_int_equal(response(BYTES(0x01, 0x00, 0x13, 0x00, 0x13), BYTES(0x01, 0x03, 0xCD, 0x6B, 0x05)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x02, 0x00, 0xC4, 0x00, 0x16), BYTES(0x02, 0x03, 0xAC, 0xDB, 0x35)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x03, 0x00, 0x6B, 0x00, 0x03),
				  BYTES(0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x04, 0x00, 0x08, 0x00, 0x01), BYTES(0x04, 0x02, 0x00, 0x0A)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x05, 0x00, 0xAC, 0xFF, 0x00), BYTES(0x05, 0x00, 0xAC, 0xFF, 0x00)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x06, 0x00, 0x01, 0x00, 0x03), BYTES(0x06, 0x00, 0x01, 0x00, 0x03)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x07), BYTES(0x07, 0x6D)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x00, 0xA5, 0x37), BYTES(0x08, 0x00, 0x00, 0xA5, 0x37)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x0B), BYTES(0x0B, 0xFF, 0xFF, 0x01, 0x08)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x0C), BYTES(0x0C, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20, 0x00)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01), BYTES(0x0F, 0x00, 0x13, 0x00, 0x0A)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02),
				  BYTES(0x10, 0x00, 0x01, 0x00, 0x02)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x11), BYTES(0x11, 0x02, 0x2A, 0xFF)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09,
				      0x00, 0x02),
				  BYTES(0x14, 0x0C, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00, 0x40)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10,
				      0x0D),
				  BYTES(0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10,
				      0x0D)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25),
				  BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF,
				      0x00, 0xFF),
				  BYTES(0x17, 0x0C, 0x00, 0xFE, 0x0A, 0xCD, 0x00, 0x01, 0x00, 0x03, 0x00, 0x0D, 0x00, 0xFF)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), BYTES(0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xB8, 0x12, 0x84)),
			 MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x2B, 0x0E, 0x01, 0x00),
				  BYTES(0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x03, 0x00, 0x03, 'A', 'C', 'M', 0x01, 0x02, 'P',
				      '7', 0x02, 0x04, 'V', '1', '.', '0')),
			 MB_RESPONSE_OK);
}

static void test_response_mismatches(void **state)
{
	const uint8_t *rd = (const uint8_t[]){0x03, 0x00, 0x6B, 0x00, 0x03};
	/* byte counts */
	assert_int_equal(response(rd, 5, BYTES(0x03, 0x04, 0x02, 0x2B, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x03)), MB_RESPONSE_BAD);
	/* another function; exceptions */
	assert_int_equal(response(rd, 5, BYTES(0x04, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x83, 0x02)), MB_RESPONSE_EXCEPTION);
	assert_int_equal(response(rd, 5, BYTES(0x83, 0x0B)), MB_RESPONSE_EXCEPTION);
	assert_int_equal(response(rd, 5, BYTES(0x83, 0x07)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x83, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x83, 0x02, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x83)), MB_RESPONSE_BAD);
	assert_int_equal(response(rd, 5, BYTES(0x84, 0x02)), MB_RESPONSE_BAD);
	/* echoes differ */
	assert_int_equal(response(BYTES(0x05, 0x00, 0xAC, 0xFF, 0x00), BYTES(0x05, 0x00, 0xAC, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x06, 0x00, 0x01, 0x00, 0x03), BYTES(0x06, 0x00, 0x02, 0x00, 0x03)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02),
				  BYTES(0x10, 0x00, 0x01, 0x00, 0x03)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25),
				  BYTES(0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x24)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x15, 0x09, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xAA, 0xBB),
				  BYTES(0x15, 0x09, 0x06, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0xAA)),
			 MB_RESPONSE_BAD);
	/* coils: ceil(19 / 8) = 3 bytes */
	assert_int_equal(response(BYTES(0x01, 0x00, 0x13, 0x00, 0x13), BYTES(0x01, 0x02, 0xCD, 0x6B)), MB_RESPONSE_BAD);
	/* read/write: the byte count is of the read */
	assert_int_equal(response(BYTES(0x17, 0x00, 0x03, 0x00, 0x01, 0x00, 0x0E, 0x00, 0x02, 0x04, 0, 0, 0, 0),
				  BYTES(0x17, 0x04, 0, 0, 0, 0)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x17, 0x00, 0x03, 0x00, 0x01, 0x00, 0x0E, 0x00, 0x02, 0x04, 0, 0, 0, 0),
				  BYTES(0x17, 0x02, 0, 0)),
			 MB_RESPONSE_OK);
	/* bare functions */
	assert_int_equal(response(BYTES(0x07), BYTES(0x07)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x07), BYTES(0x07, 0x6D, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x0B), BYTES(0x0B, 0x12, 0x34, 0x01, 0x08)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x0B), BYTES(0x0B, 0x00, 0x00, 0x01)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x0C), BYTES(0x0C, 0x05, 0x00, 0x00, 0x01, 0x08, 0x01)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x0C), BYTES(0x0C, 0x06, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x0C), BYTES(0x0C, 0x08, 0x00, 0x00, 0x01, 0x08, 0x01, 0x21, 0x20)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x11), BYTES(0x11, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x11), BYTES(0x11, 0x03, 0x2A, 0xFF)), MB_RESPONSE_BAD);
	/* diagnostics: sub-function echoed; counters answer a word */
	assert_int_equal(response(BYTES(0x08, 0x00, 0x00, 0xA5, 0x37), BYTES(0x08, 0x00, 0x01, 0xA5, 0x37)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x00, 0xA5, 0x37), BYTES(0x08, 0x00, 0x00, 0xA5)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x0B, 0x00, 0x00), BYTES(0x08, 0x00, 0x0B, 0x12, 0x34)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x02, 0x00, 0x00), BYTES(0x08, 0x00, 0x02, 0x00, 0x01)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x0A, 0x00, 0x00), BYTES(0x08, 0x00, 0x0A, 0x00, 0x00)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x0A, 0x00, 0x00), BYTES(0x08, 0x00, 0x0A, 0x00, 0x01)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x01, 0xFF, 0x00), BYTES(0x08, 0x00, 0x01, 0xFF, 0x00)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x0B, 0x00, 0x00), BYTES(0x08, 0x00, 0x0B, 0x12)), MB_RESPONSE_BAD);
	/* force listen only mode has no normal response; an exception may come */
	assert_int_equal(response(BYTES(0x08, 0x00, 0x04, 0x00, 0x00), BYTES(0x08, 0x00, 0x04, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x08, 0x00, 0x04, 0x00, 0x00), BYTES(0x88, 0x01)), MB_RESPONSE_EXCEPTION);
	/* file records: lengths and reference types of each sub-response */
	const uint8_t *rf = (const uint8_t[]){0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02,
					      0x06, 0x00, 0x03, 0x00, 0x09, 0x00, 0x02};
	assert_int_equal(response(rf, 16, BYTES(0x14, 0x06, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20)), MB_RESPONSE_BAD);
	assert_int_equal(response(rf, 16, BYTES(0x14, 0x0C, 0x05, 0x07, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00,
					      0x40)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(rf, 16, BYTES(0x14, 0x0C, 0x03, 0x06, 0x0D, 0xFE, 0x07, 0x06, 0x33, 0xCD, 0x00, 0x40, 0x00,
					      0x00)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(rf, 16, BYTES(0x14, 0x0E, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00,
					      0x40, 0x01, 0x06)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(rf, 16, BYTES(0x14, 0x0D, 0x05, 0x06, 0x0D, 0xFE, 0x00, 0x20, 0x05, 0x06, 0x33, 0xCD, 0x00,
					      0x40)),
			 MB_RESPONSE_BAD);
	/* FIFO */
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), BYTES(0x18, 0x00, 0x02, 0x00, 0x00)), MB_RESPONSE_OK);
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), BYTES(0x18, 0x00, 0x06, 0x00, 0x02, 0x01, 0xB8, 0x12)),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), BYTES(0x18, 0x00, 0x04, 0x00, 0x02, 0x01, 0xB8)), MB_RESPONSE_BAD);
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), BYTES(0x18, 0x00, 0x02)), MB_RESPONSE_BAD);
	uint8_t fifo[3 + 2 + 64] = {0x18, 0x00, 66, 0x00, 32};
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), fifo, sizeof fifo), MB_RESPONSE_BAD); /* 32 > 31 */
	fifo[2] = 64;
	fifo[4] = 31;
	assert_int_equal(response(BYTES(0x18, 0x04, 0xDE), fifo, sizeof fifo - 2), MB_RESPONSE_OK);
	/* device identification */
	const uint8_t *rdi = (const uint8_t[]){0x2B, 0x0E, 0x01, 0x00};
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x02, 0x01, 0x00, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x00)), MB_RESPONSE_OK);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x83, 0xFF, 0x01, 0x01, 0x00, 0x01, 'A')), MB_RESPONSE_OK);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x04, 0x00, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x01, 0x01, 0x00, 0x00)), MB_RESPONSE_BAD);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x02, 'A')), MB_RESPONSE_BAD);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 'A', 'B')),
			 MB_RESPONSE_BAD);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0E, 0x01, 0x01, 0x00, 0x00, 0x02, 0x00, 0x01, 'A')), MB_RESPONSE_BAD);
	assert_int_equal(response(rdi, 4, BYTES(0x2B, 0x0D, 0x01, 0x01, 0x00, 0x00, 0x00)), MB_RESPONSE_BAD);
}

static void test_response_frame_tid_unit(void **state)
{
	mb_request_t r;
	expect_ok(BYTES(0x03, 0x00, 0x6B, 0x00, 0x01), &r);
	static const uint8_t ok[] = {0x00, 0x42, 0x00, 0x00, 0x00, 0x05, 0x11, 0x03, 0x02, 0x12, 0x34, 0xEE};
	assert_int_equal(mb_response_check(ok, 11, &r, 0x0042, &why), MB_RESPONSE_OK);
	/* the proxy's transaction id, not the client's */
	assert_int_equal(mb_response_check(ok, 11, &r, 0x1234, &why), MB_RESPONSE_BAD);
	assert_string_equal(why, "another transaction id");
	assert_int_equal(mb_response_check(ok, 11, &r, 0x0043, NULL), MB_RESPONSE_BAD);
	/* not exactly one frame */
	assert_int_equal(mb_response_check(ok, 12, &r, 0x0042, &why), MB_RESPONSE_BAD);
	for (size_t n = 0; n < 11; n++)
		assert_int_equal(mb_response_check(ok, n, &r, 0x0042, &why), MB_RESPONSE_BAD);
	uint8_t other[sizeof ok];
	memcpy(other, ok, sizeof ok);
	other[6] = 0x12;
	assert_int_equal(mb_response_check(other, 11, &r, 0x0042, &why), MB_RESPONSE_BAD);
	assert_string_equal(why, "another unit id");
	other[6] = 0x11;
	other[3] = 0x01;
	assert_int_equal(mb_response_check(other, 11, &r, 0x0042, &why), MB_RESPONSE_BAD);
	/* a request answered with an exception by the proxy is never forwarded */
	assert_int_equal(decode(BYTES(0x03, 0x00, 0x6B, 0x00, 0x00), &r), MB_DECODE_EXCEPTION);
	assert_int_equal(mb_response_check(ok, 11, &r, 0x0042, &why), MB_RESPONSE_BAD);
	assert_int_equal(decode(BYTES(0x41), &r), MB_DECODE_EXCEPTION);
	assert_int_equal(mb_response_check(ok, 11, &r, 0x0042, &why), MB_RESPONSE_BAD);
}

/* Every prefix and every byte of every example request: decoding and the
 * response check stay within the buffer (ASan in the sanitizer build) and
 * say why whenever they refuse. */
static void test_mutations_stay_in_bounds(void **state)
{
	static const uint8_t pdu[] = {0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06,
				      0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF};
	uint8_t adu[MB_MBAP_LEN + sizeof pdu];
	size_t len = frame(adu, 1, 1, pdu, sizeof pdu);
	mb_request_t r, good;
	assert_int_equal(mb_request_decode(adu, len, &good, &why), MB_DECODE_OK);
	for (size_t i = 0; i < len; i++)
		for (unsigned bit = 0; bit < 8; bit++) {
			adu[i] ^= (uint8_t)(1u << bit);
			why = NULL;
			int st = mb_request_decode(adu, len, &r, &why);
			assert_true(st == MB_DECODE_OK || why != NULL);
			why = NULL;
			st = mb_response_check(adu, len, &good, 1, &why);
			assert_true(st != MB_RESPONSE_BAD || why != NULL);
			adu[i] ^= (uint8_t)(1u << bit);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_partial_buffers),
		cmocka_unit_test(test_frame_several_in_one_buffer),
		cmocka_unit_test(test_frame_malformed_header),
		cmocka_unit_test(test_decode_wants_one_whole_frame),
		cmocka_unit_test(test_decode_function_code_zero_or_exception_range),
		cmocka_unit_test(test_unknown_functions_answer_illegal_function),
		cmocka_unit_test(test_read_bits),
		cmocka_unit_test(test_read_registers),
		cmocka_unit_test(test_write_single_coil),
		cmocka_unit_test(test_write_single_register),
		cmocka_unit_test(test_bare_functions),
		cmocka_unit_test(test_diagnostics),
		cmocka_unit_test(test_write_multiple_coils),
		cmocka_unit_test(test_write_multiple_registers),
		cmocka_unit_test(test_read_file_record),
		cmocka_unit_test(test_write_file_record),
		cmocka_unit_test(test_mask_write_register),
		cmocka_unit_test(test_read_write_multiple_registers),
		cmocka_unit_test(test_read_fifo_queue),
		cmocka_unit_test(test_read_device_identification),
		cmocka_unit_test(test_exception_response),
		cmocka_unit_test(test_tid),
		cmocka_unit_test(test_responses_of_the_specification),
		cmocka_unit_test(test_response_mismatches),
		cmocka_unit_test(test_response_frame_tid_unit),
		cmocka_unit_test(test_mutations_stay_in_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
