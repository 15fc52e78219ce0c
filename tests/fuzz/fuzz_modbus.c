/* fuzz_modbus.c - the Modbus/TCP codec (core/modbus.h) on arbitrary bytes,
 * read as a client's stream: framed frame by frame until the framing
 * needs more or refuses, each complete frame decoded as a request from an
 * exactly-sized copy (so ASan catches a read past its length), and each
 * checked as a response to the stream's first request and to one request
 * of every function decoded (with the frame's unit made theirs, so the
 * check gets past the header). Invariants: a complete frame is 8..260
 * bytes; a decoded request keeps the specification's bounds; its values
 * and their bounds agree; an exception answer frames as one 9-byte ADU and
 * passes the response check as an exception. */
#include "core/modbus.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One request of each function decoded (§6 examples, unit 0x11). */
static const uint8_t examples[][20] = {
	{5, 0x01, 0x00, 0x13, 0x00, 0x13},
	{5, 0x02, 0x00, 0xC4, 0x00, 0x16},
	{5, 0x03, 0x00, 0x6B, 0x00, 0x03},
	{5, 0x04, 0x00, 0x08, 0x00, 0x01},
	{5, 0x05, 0x00, 0xAC, 0xFF, 0x00},
	{5, 0x06, 0x00, 0x01, 0x00, 0x03},
	{1, 0x07},
	{5, 0x08, 0x00, 0x00, 0xA5, 0x37},
	{5, 0x08, 0x00, 0x0B, 0x00, 0x00},
	{1, 0x0B},
	{1, 0x0C},
	{8, 0x0F, 0x00, 0x13, 0x00, 0x0A, 0x02, 0xCD, 0x01},
	{10, 0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02},
	{1, 0x11},
	{16, 0x14, 0x0E, 0x06, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02, 0x06, 0x00, 0x03, 0x00, 0x09, 0x00, 0x02},
	{15, 0x15, 0x0D, 0x06, 0x00, 0x04, 0x00, 0x07, 0x00, 0x03, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D},
	{7, 0x16, 0x00, 0x04, 0x00, 0xF2, 0x00, 0x25},
	{16, 0x17, 0x00, 0x03, 0x00, 0x06, 0x00, 0x0E, 0x00, 0x03, 0x06, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF},
	{3, 0x18, 0x04, 0xDE},
	{4, 0x2B, 0x0E, 0x01, 0x00},
};
#define N_EXAMPLES (sizeof examples / sizeof examples[0])
static mb_request_t known[N_EXAMPLES];
static int ready;

static void decode_examples(void)
{
	for (size_t i = 0; i < N_EXAMPLES; i++) {
		uint8_t adu[MB_MAX_ADU] = {0x00, 0x01, 0x00, 0x00, 0x00, (uint8_t)(examples[i][0] + 1), 0x11};
		memcpy(adu + MB_MBAP_LEN, examples[i] + 1, examples[i][0]);
		fz_require(mb_request_decode(adu, MB_MBAP_LEN + examples[i][0], &known[i], NULL) == MB_DECODE_OK,
			   "the examples decode");
	}
	ready = 1;
}

static void check_values(const mb_request_t *r)
{
	fz_require(r->n_values <= MB_MAX_WRITE_BITS, "values bounded");
	fz_require(r->coils || r->n_values <= MB_MAX_WRITE_REGISTERS, "registers bounded");
	int lo = -1, hi = -1;
	for (size_t i = 0; i < r->n_values; i++) {
		int v = mb_request_value(r, i);
		fz_require(v >= 0 && v <= (r->coils ? 1 : 0xFFFF), "a value in range");
		lo = i == 0 || v < lo ? v : lo;
		hi = i == 0 || v > hi ? v : hi;
	}
	fz_require(mb_request_value(r, r->n_values) == -1, "no value past n_values");
	fz_require(r->min_value == lo && r->max_value == hi, "min_value and max_value bound the values");
}

/* A request that decoded: within the specification's bounds. */
static void check_request(const mb_request_t *r, size_t len)
{
	fz_require(r->exception == 0, "no exception on success");
	fz_require(mb_request_action(r) != NULL && mb_function_name(r->function) != NULL, "a known function");
	fz_require(r->pdu_len == len - MB_MBAP_LEN, "pdu_len");
	if (r->address >= 0)
		fz_require(r->count >= 1 && r->address + r->count <= 0x10000, "range within the address space");
	else
		fz_require(r->address == -1, "address -1 when none");
	fz_require(r->count >= 0 && r->count <= MB_MAX_READ_BITS, "count bounded");
	if (r->read_address >= 0)
		fz_require(r->read_count >= 1 && r->read_count <= MB_MAX_READ_REGISTERS &&
				   r->read_address + r->read_count <= 0x10000,
			   "read range bounded");
	fz_require(r->n_files <= MB_MAX_FILE_REFS, "file sub-requests bounded");
	for (unsigned i = 0; i < r->n_files; i++)
		fz_require(r->files[i].file >= 1 && r->files[i].length >= 1 &&
				   r->files[i].record + r->files[i].length <= MB_MAX_FILE_RECORD + 1,
			   "file records within 0..9999");
	check_values(r);
	/* an exception answer to it is a response the check takes */
	uint8_t ex[MB_EXCEPTION_ADU_LEN];
	size_t flen = 0;
	fz_require(mb_exception(r, MB_EX_SERVER_DEVICE_FAILURE, ex) == MB_EXCEPTION_ADU_LEN, "exception length");
	fz_require(mb_frame_length(ex, sizeof ex, &flen, NULL) == MB_FRAME_COMPLETE && flen == sizeof ex,
		   "the exception frames");
	mb_set_tid(ex, 0xBEEF);
	fz_require(mb_tid(ex) == 0xBEEF, "tid round trip");
	fz_require(mb_response_check(ex, sizeof ex, r, 0xBEEF, NULL) == MB_RESPONSE_EXCEPTION,
		   "the exception answers the request");
}

static void check_response(const uint8_t *frame, size_t len, const mb_request_t *req)
{
	const char *why = NULL;
	int st = mb_response_check(frame, len, req, mb_tid(frame), &why);
	fz_require(st == MB_RESPONSE_OK || st == MB_RESPONSE_EXCEPTION || (st == MB_RESPONSE_BAD && why != NULL),
		   "a response status, with a reason when bad");
	if (st == MB_RESPONSE_OK)
		fz_require(frame[MB_MBAP_LEN] == req->function && frame[6] == req->unit, "the function answered");
	if (st == MB_RESPONSE_EXCEPTION)
		fz_require(len == MB_EXCEPTION_ADU_LEN && mb_exception_name(frame[8]) != NULL, "an exception answer");
}

/* frame is an exactly-sized heap copy of one complete frame. */
static void check_frame(uint8_t *frame, size_t len, mb_request_t *first, int *have_first)
{
	mb_request_t r;
	const char *why = NULL;
	int st = mb_request_decode(frame, len, &r, &why);
	fz_require(st == MB_DECODE_MALFORMED || st == MB_DECODE_OK || st == MB_DECODE_EXCEPTION, "a status");
	if (st == MB_DECODE_OK)
		check_request(&r, len);
	else
		fz_require(why != NULL, "a reason when refused");
	if (st == MB_DECODE_EXCEPTION)
		fz_require(r.exception >= MB_EX_ILLEGAL_FUNCTION && r.exception <= MB_EX_ILLEGAL_DATA_VALUE,
			   "exceptions 1..3");
	if (*have_first)
		check_response(frame, len, first);
	for (size_t i = 0; i < N_EXAMPLES; i++) {
		frame[6] = known[i].unit;
		check_response(frame, len, &known[i]);
	}
	if (!*have_first && st == MB_DECODE_OK) {
		*first = r;
		*have_first = 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		decode_examples();
	mb_request_t first;
	int have_first = 0;
	size_t off = 0, len = 0;
	for (;;) {
		const char *why = NULL;
		int st = mb_frame_length(data + off, size - off, &len, &why);
		if (st == MB_FRAME_MALFORMED) {
			fz_require(why != NULL, "a reason for a malformed header");
			break;
		}
		if (st == MB_FRAME_NEED_MORE) {
			if (size - off >= MB_MBAP_LEN - 1)
				fz_require(size - off < 6u + (data[off + 4] << 8 | data[off + 5]),
					   "more needed only before the frame's end");
			break;
		}
		fz_require(len >= MB_MBAP_LEN + 1 && len <= MB_MAX_ADU && len <= size - off, "a frame of 8..260 bytes");
		uint8_t *frame = malloc(len);
		if (frame == NULL)
			abort();
		memcpy(frame, data + off, len);
		check_frame(frame, len, &first, &have_first);
		free(frame);
		off += len;
	}
	/* the whole input as one request: one frame or refused */
	mb_request_t r;
	uint8_t *copy = malloc(size ? size : 1);
	if (copy == NULL)
		abort();
	memcpy(copy, data, size);
	if (mb_request_decode(copy, size, &r, NULL) == MB_DECODE_OK)
		check_request(&r, size);
	free(copy);
	return 0;
}
