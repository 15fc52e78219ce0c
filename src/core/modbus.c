/* modbus.c - the Modbus/TCP codec (modbus.h): framing, one decoder and one
 * response check per function, kept together in a table indexed by the
 * function code, and the small helpers they share. */
#include "core/modbus.h"
#include <string.h>

#define MB_ADDRESS_SPACE 0x10000u /* addresses 0..0xFFFF */
#define MB_FILE_REF_TYPE 6
#define MB_FILE_REF_LEN  7        /* reference type, file, record, length */

typedef struct mb_function mb_function_t;
struct mb_function {
	const char *name, *action;
	int (*decode)(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r, const char **why);
	int (*check)(const uint8_t *p, size_t n, const mb_request_t *r, const char **why);
	uint16_t max; /* the quantity bound, for the decoders that take one */
};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static int fail(const char **why, const char *what, int status)
{
	if (why != NULL)
		*why = what;
	return status;
}

/* ---- request decoding ---------------------------------------------------- */

static int value_error(mb_request_t *r, const char *what, const char **why)
{
	r->exception = MB_EX_ILLEGAL_DATA_VALUE;
	return fail(why, what, MB_DECODE_EXCEPTION);
}

static int address_error(mb_request_t *r, const char *what, const char **why)
{
	r->exception = MB_EX_ILLEGAL_DATA_ADDRESS;
	return fail(why, what, MB_DECODE_EXCEPTION);
}

static int function_error(mb_request_t *r, const char *what, const char **why)
{
	r->exception = MB_EX_ILLEGAL_FUNCTION;
	return fail(why, what, MB_DECODE_EXCEPTION);
}

static bool quantity_ok(unsigned q, unsigned max)
{
	return q >= 1 && q <= max;
}

/* The last address, first + q - 1, is at most 0xFFFF. */
static bool range_ok(unsigned first, unsigned q)
{
	return first + q <= MB_ADDRESS_SPACE;
}

static void put_register(mb_request_t *r, uint16_t v)
{
	put16(r->values + 2 * r->n_values++, v);
}

/* FC 1-4: address, quantity. */
static int decode_read(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r, const char **why)
{
	if (n != 5)
		return value_error(r, "the PDU is not 5 bytes", why);
	r->address = be16(p + 1);
	r->count = be16(p + 3);
	if (!quantity_ok((unsigned)r->count, f->max))
		return value_error(r, "quantity out of range", why);
	if (!range_ok((unsigned)r->address, (unsigned)r->count))
		return address_error(r, "the range runs past address 0xFFFF", why);
	return MB_DECODE_OK;
}

/* FC 5: address, 0xFF00 (on) or 0x0000 (off). */
static int decode_write_coil(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			     const char **why)
{
	(void)f;
	if (n != 5)
		return value_error(r, "the PDU is not 5 bytes", why);
	r->address = be16(p + 1);
	r->count = 1;
	r->value = be16(p + 3);
	if (r->value != 0x0000 && r->value != 0xFF00)
		return value_error(r, "a coil value is 0xFF00 or 0x0000", why);
	r->coils = true;
	r->values[0] = r->value == 0xFF00;
	r->n_values = 1;
	return MB_DECODE_OK;
}

/* FC 6: address, value. */
static int decode_write_register(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
				 const char **why)
{
	(void)f;
	if (n != 5)
		return value_error(r, "the PDU is not 5 bytes", why);
	r->address = be16(p + 1);
	r->count = 1;
	r->value = be16(p + 3);
	put_register(r, r->value);
	return MB_DECODE_OK;
}

/* FC 7, 11, 12, 17: the function code alone. */
static int decode_bare(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r, const char **why)
{
	(void)f;
	(void)p;
	return n == 1 ? MB_DECODE_OK : value_error(r, "the function takes no data", why);
}

/* FC 8 sub-functions (§6.8.1) by what their data word may be. */
enum { DIAG_RESERVED, DIAG_ANY, DIAG_ZERO, DIAG_RESTART, DIAG_DELIMITER };

static int diag_data_kind(uint16_t sub)
{
	switch (sub) {
	case 0x00: return DIAG_ANY;       /* Return Query Data: N words, echoed */
	case 0x01: return DIAG_RESTART;   /* Restart Communications Option: 0x0000 or 0xFF00 */
	case 0x03: return DIAG_DELIMITER; /* Change ASCII Input Delimiter: CHAR 0x00 */
	case 0x02: case 0x04:             /* Return Diagnostic Register, Force Listen Only Mode */
	case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x0E: case 0x0F: case 0x10: case 0x11: case 0x12:
	case 0x14:                        /* counters, Clear Overrun Counter and Flag */
		return DIAG_ZERO;
	default:
		return DIAG_RESERVED;
	}
}

/* The sub-functions that answer with a word of their own (a register or a
 * counter) rather than an echo of the request. */
static bool diag_returns_word(uint16_t sub)
{
	return sub == 0x02 || (sub >= 0x0B && sub <= 0x12);
}

static bool diag_value_ok(int kind, uint16_t v)
{
	switch (kind) {
	case DIAG_ZERO: return v == 0x0000;
	case DIAG_RESTART: return v == 0x0000 || v == 0xFF00;
	default: return (v & 0xFF) == 0x00; /* DIAG_DELIMITER */
	}
}

/* FC 8: sub-function, data. */
static int decode_diagnostics(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			      const char **why)
{
	(void)f;
	if (n < 3)
		return value_error(r, "the PDU has no sub-function", why);
	uint16_t sub = be16(p + 1);
	int kind = diag_data_kind(sub);
	r->subfunction = sub;
	if (kind == DIAG_RESERVED)
		return function_error(r, "reserved diagnostics sub-function", why);
	size_t data = n - 3;
	if (kind == DIAG_ANY ? data < 2 || data % 2 != 0 : data != 2)
		return value_error(r, "the diagnostics data is not of the sub-function's length", why);
	if (kind != DIAG_ANY) {
		r->value = be16(p + 3);
		if (!diag_value_ok(kind, r->value))
			return value_error(r, "the diagnostics data is not a value of the sub-function", why);
	}
	r->no_response = sub == MB_DIAG_FORCE_LISTEN_ONLY;
	return MB_DECODE_OK;
}

/* FC 15, 16: address, quantity, byte count, values. */
static int decode_write_multiple(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
				 const char **why)
{
	bool coils = p[0] == MB_FC_WRITE_MULTIPLE_COILS;
	if (n < 6)
		return value_error(r, "the PDU is shorter than its header", why);
	r->address = be16(p + 1);
	r->count = be16(p + 3);
	unsigned q = (unsigned)r->count, bytes = p[5];
	if (!quantity_ok(q, f->max) || bytes != (coils ? (q + 7) / 8 : 2 * q))
		return value_error(r, "quantity or byte count out of range", why);
	if (n != 6 + bytes)
		return value_error(r, "the PDU length does not match the byte count", why);
	if (!range_ok((unsigned)r->address, q))
		return address_error(r, "the range runs past address 0xFFFF", why);
	r->coils = coils;
	memcpy(r->values, p + 6, bytes);
	r->n_values = (uint16_t)q;
	return MB_DECODE_OK;
}

/* What is wrong with the place a file sub-request names, or NULL. */
static const char *file_ref_problem(uint8_t type, const mb_file_ref_t *ref)
{
	if (type != MB_FILE_REF_TYPE)
		return "a file sub-request's reference type is not 6";
	if (ref->file == 0)
		return "file number 0";
	if (ref->record > MB_MAX_FILE_RECORD || ref->record + ref->length > MB_MAX_FILE_RECORD + 1u)
		return "the records run past record 9999";
	return NULL;
}

/* FC 20, 21: byte count, then sub-requests of 7 bytes (FC 21: each
 * followed by its records' data) filling the PDU exactly. Value errors
 * (0x03) come before address errors (0x02), whichever sub-request has
 * them. */
static int decode_file_records(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			       const char **why)
{
	(void)f;
	bool write = p[0] == MB_FC_WRITE_FILE_RECORD;
	unsigned min = write ? 0x09 : 0x07, max = write ? 0xFB : 0xF5;
	if (n < 2 || p[1] < min || p[1] > max)
		return value_error(r, "byte count out of range", why);
	if (n != 2 + (size_t)p[1])
		return value_error(r, "the PDU length does not match the byte count", why);
	const char *misplaced = NULL;
	size_t off = 2, answer = 2; /* FC 20: the response's size */
	while (off < n) {
		if (n - off < MB_FILE_REF_LEN || r->n_files == MB_MAX_FILE_REFS)
			return value_error(r, "a file sub-request is cut short", why);
		mb_file_ref_t *ref = &r->files[r->n_files++];
		*ref = (mb_file_ref_t){be16(p + off + 1), be16(p + off + 3), be16(p + off + 5)};
		if (ref->length == 0)
			return value_error(r, "a file sub-request for no records", why);
		if (misplaced == NULL)
			misplaced = file_ref_problem(p[off], ref);
		off += MB_FILE_REF_LEN;
		if (write) {
			if ((n - off) / 2 < ref->length)
				return value_error(r, "a file sub-request's data is cut short", why);
			off += 2 * (size_t)ref->length;
		}
		answer += 2 + 2 * (size_t)ref->length;
		r->count += ref->length;
	}
	if (!write && answer > MB_MAX_PDU)
		return value_error(r, "the records asked for do not fit in one response", why);
	if (misplaced != NULL)
		return address_error(r, misplaced, why);
	return MB_DECODE_OK;
}

/* FC 22: address, AND mask, OR mask. */
static int decode_mask_write(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			     const char **why)
{
	(void)f;
	if (n != 7)
		return value_error(r, "the PDU is not 7 bytes", why);
	r->address = be16(p + 1);
	r->count = 1;
	r->and_mask = be16(p + 3);
	r->or_mask = be16(p + 5);
	uint16_t lowest = r->or_mask & (uint16_t)~r->and_mask, highest = lowest | r->and_mask;
	put_register(r, lowest);
	if (highest != lowest)
		put_register(r, highest);
	return MB_DECODE_OK;
}

/* FC 23: read address and quantity, write address, quantity, byte count,
 * values. */
static int decode_read_write(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			     const char **why)
{
	(void)f;
	if (n < 10)
		return value_error(r, "the PDU is shorter than its header", why);
	r->read_address = be16(p + 1);
	r->read_count = be16(p + 3);
	r->address = be16(p + 5);
	r->count = be16(p + 7);
	unsigned bytes = p[9];
	if (!quantity_ok((unsigned)r->read_count, MB_MAX_READ_REGISTERS) ||
	    !quantity_ok((unsigned)r->count, MB_MAX_RW_WRITE_REGISTERS) || bytes != 2 * (unsigned)r->count)
		return value_error(r, "quantity or byte count out of range", why);
	if (n != 10 + bytes)
		return value_error(r, "the PDU length does not match the byte count", why);
	if (!range_ok((unsigned)r->read_address, (unsigned)r->read_count) ||
	    !range_ok((unsigned)r->address, (unsigned)r->count))
		return address_error(r, "the range runs past address 0xFFFF", why);
	memcpy(r->values, p + 10, bytes);
	r->n_values = (uint16_t)r->count;
	return MB_DECODE_OK;
}

/* FC 24: the FIFO pointer address. */
static int decode_read_fifo(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			    const char **why)
{
	(void)f;
	if (n != 3)
		return value_error(r, "the PDU is not 3 bytes", why);
	r->address = be16(p + 1);
	r->count = 1;
	return MB_DECODE_OK;
}

/* FC 43: MEI type 14, read device id code 1..4, object id. */
static int decode_device_id(const mb_function_t *f, const uint8_t *p, size_t n, mb_request_t *r,
			    const char **why)
{
	(void)f;
	if (n < 2)
		return value_error(r, "the PDU has no MEI type", why);
	r->subfunction = p[1];
	if (p[1] != MB_MEI_READ_DEVICE_ID)
		return function_error(r, "MEI type other than 14 (read device identification)", why);
	if (n != 4)
		return value_error(r, "the PDU is not 4 bytes", why);
	r->dev_id_code = p[2];
	r->object_id = p[3];
	if (r->dev_id_code < 1 || r->dev_id_code > 4)
		return value_error(r, "read device id code out of 1..4", why);
	return MB_DECODE_OK;
}

/* ---- response checks ----------------------------------------------------- */

static int bad(const char **why, const char *what)
{
	return fail(why, what, MB_RESPONSE_BAD);
}

/* Function code, byte count, that many bytes. */
static int check_byte_count(const uint8_t *p, size_t n, unsigned want, const char **why)
{
	if (n < 2 || p[1] != want || n != 2 + want)
		return bad(why, "the byte count does not match the quantity asked for");
	return MB_RESPONSE_OK;
}

static int check_read_bits(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	return check_byte_count(p, n, ((unsigned)r->count + 7) / 8, why);
}

static int check_read_registers(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	return check_byte_count(p, n, 2 * (unsigned)r->count, why);
}

static int check_read_write(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	return check_byte_count(p, n, 2 * (unsigned)r->read_count, why);
}

/* FC 5, 6: the request again. */
static int check_write_single(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	if (n != 5 || be16(p + 1) != r->address || be16(p + 3) != r->value)
		return bad(why, "not the echo of the request");
	return MB_RESPONSE_OK;
}

/* FC 15, 16: address and quantity of the request. */
static int check_write_multiple(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	if (n != 5 || be16(p + 1) != r->address || be16(p + 3) != r->count)
		return bad(why, "not the address and quantity of the request");
	return MB_RESPONSE_OK;
}

/* FC 7: one byte of output data. */
static int check_exception_status(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	(void)p;
	(void)r;
	return n == 2 ? MB_RESPONSE_OK : bad(why, "not one byte of exception status");
}

static int check_diagnostics(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	if (n < 3 || be16(p + 1) != r->subfunction)
		return bad(why, "not the sub-function of the request");
	uint16_t sub = (uint16_t)r->subfunction;
	if (sub == 0x00)
		return n == r->pdu_len ? MB_RESPONSE_OK : bad(why, "not the echo of the query data");
	if (n != 5)
		return bad(why, "not one data word");
	if (!diag_returns_word(sub) && be16(p + 3) != r->value)
		return bad(why, "not the echo of the request");
	return MB_RESPONSE_OK;
}

static bool status_ok(uint16_t status)
{
	return status == 0x0000 || status == 0xFFFF; /* ready, busy */
}

/* FC 11: status, event count. */
static int check_event_counter(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	(void)r;
	if (n != 5 || !status_ok(be16(p + 1)))
		return bad(why, "not a status and an event count");
	return MB_RESPONSE_OK;
}

/* FC 12: byte count, status, event count, message count, 0..64 events. */
static int check_event_log(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	(void)r;
	if (n < 2 || p[1] < 6 || p[1] > 6 + 64 || n != 2 + (size_t)p[1] || !status_ok(be16(p + 2)))
		return bad(why, "not a communication event log");
	return MB_RESPONSE_OK;
}

/* FC 17: byte count, server id, run indicator, additional data. */
static int check_server_id(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	(void)r;
	if (n < 3 || n != 2 + (size_t)p[1])
		return bad(why, "the byte count does not match the data");
	return MB_RESPONSE_OK;
}

/* FC 20: data length, then per sub-request its length (1 + 2 * records),
 * reference type 6 and the records asked for. */
static int check_read_file_record(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	if (n < 2 || n != 2 + (size_t)p[1])
		return bad(why, "the data length does not match the data");
	size_t off = 2;
	for (unsigned i = 0; i < r->n_files; i++) {
		size_t sub = 1 + 2 * (size_t)r->files[i].length;
		if (n - off < 2 || p[off] != sub || p[off + 1] != MB_FILE_REF_TYPE || n - off - 1 < sub)
			return bad(why, "a sub-response is not the records asked for");
		off += 1 + sub;
	}
	return off == n ? MB_RESPONSE_OK : bad(why, "more sub-responses than sub-requests");
}

/* FC 21: the request again (its length: the content is not kept). */
static int check_write_file_record(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	(void)p;
	return n == r->pdu_len ? MB_RESPONSE_OK : bad(why, "not the echo of the request");
}

/* FC 22: the request again. */
static int check_mask_write(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	if (n != 7 || be16(p + 1) != r->address || be16(p + 3) != r->and_mask || be16(p + 5) != r->or_mask)
		return bad(why, "not the echo of the request");
	return MB_RESPONSE_OK;
}

/* FC 24: byte count (2 bytes: FIFO count and values), FIFO count (at most
 * 31), values. */
static int check_fifo(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	(void)r;
	if (n < 5)
		return bad(why, "no FIFO count");
	unsigned bytes = be16(p + 1), queued = be16(p + 3);
	if (queued > MB_MAX_FIFO_COUNT || bytes != 2 + 2 * queued || n != 3 + bytes)
		return bad(why, "the byte count does not match the FIFO count");
	return MB_RESPONSE_OK;
}

static bool conformity_ok(uint8_t level)
{
	uint8_t basic = level & 0x7F; /* 0x80: individual access is supported too */
	return basic >= 1 && basic <= 3;
}

/* FC 43 / 14: MEI type, read device id code, conformity level, more
 * follows, next object id, number of objects, objects (id, length, value)
 * filling the PDU exactly. */
static int check_device_id(const uint8_t *p, size_t n, const mb_request_t *r, const char **why)
{
	if (n < 7 || p[1] != MB_MEI_READ_DEVICE_ID || p[2] != r->dev_id_code)
		return bad(why, "not the MEI type and read device id code of the request");
	if (!conformity_ok(p[3]) || (p[4] != 0x00 && p[4] != 0xFF))
		return bad(why, "conformity level or more follows out of range");
	size_t off = 7;
	for (unsigned i = 0; i < p[6]; i++) {
		if (n - off < 2 || n - off - 2 < p[off + 1])
			return bad(why, "an object runs past the PDU");
		off += 2 + (size_t)p[off + 1];
	}
	return off == n ? MB_RESPONSE_OK : bad(why, "bytes after the objects");
}

/* ---- the table ----------------------------------------------------------- */

static const mb_function_t functions[] = {
	[MB_FC_READ_COILS] = {"read_coils", MB_ACTION_READ, decode_read, check_read_bits, MB_MAX_READ_BITS},
	[MB_FC_READ_DISCRETE_INPUTS] = {"read_discrete_inputs", MB_ACTION_READ, decode_read, check_read_bits,
					MB_MAX_READ_BITS},
	[MB_FC_READ_HOLDING_REGISTERS] = {"read_holding_registers", MB_ACTION_READ, decode_read,
					  check_read_registers, MB_MAX_READ_REGISTERS},
	[MB_FC_READ_INPUT_REGISTERS] = {"read_input_registers", MB_ACTION_READ, decode_read, check_read_registers,
					MB_MAX_READ_REGISTERS},
	[MB_FC_WRITE_SINGLE_COIL] = {"write_single_coil", MB_ACTION_WRITE, decode_write_coil, check_write_single, 0},
	[MB_FC_WRITE_SINGLE_REGISTER] = {"write_single_register", MB_ACTION_WRITE, decode_write_register,
					 check_write_single, 0},
	[MB_FC_READ_EXCEPTION_STATUS] = {"read_exception_status", MB_ACTION_DIAGNOSTIC, decode_bare,
					 check_exception_status, 0},
	[MB_FC_DIAGNOSTICS] = {"diagnostics", MB_ACTION_DIAGNOSTIC, decode_diagnostics, check_diagnostics, 0},
	[MB_FC_GET_COMM_EVENT_COUNTER] = {"get_comm_event_counter", MB_ACTION_DIAGNOSTIC, decode_bare,
					  check_event_counter, 0},
	[MB_FC_GET_COMM_EVENT_LOG] = {"get_comm_event_log", MB_ACTION_DIAGNOSTIC, decode_bare, check_event_log, 0},
	[MB_FC_WRITE_MULTIPLE_COILS] = {"write_multiple_coils", MB_ACTION_WRITE, decode_write_multiple,
					check_write_multiple, MB_MAX_WRITE_BITS},
	[MB_FC_WRITE_MULTIPLE_REGISTERS] = {"write_multiple_registers", MB_ACTION_WRITE, decode_write_multiple,
					    check_write_multiple, MB_MAX_WRITE_REGISTERS},
	[MB_FC_REPORT_SERVER_ID] = {"report_server_id", MB_ACTION_DIAGNOSTIC, decode_bare, check_server_id, 0},
	[MB_FC_READ_FILE_RECORD] = {"read_file_record", MB_ACTION_PROGRAM, decode_file_records,
				    check_read_file_record, 0},
	[MB_FC_WRITE_FILE_RECORD] = {"write_file_record", MB_ACTION_PROGRAM, decode_file_records,
				     check_write_file_record, 0},
	[MB_FC_MASK_WRITE_REGISTER] = {"mask_write_register", MB_ACTION_WRITE, decode_mask_write, check_mask_write,
				       0},
	[MB_FC_READ_WRITE_MULTIPLE_REGISTERS] = {"read_write_multiple_registers", MB_ACTION_WRITE,
						 decode_read_write, check_read_write, MB_MAX_RW_WRITE_REGISTERS},
	[MB_FC_READ_FIFO_QUEUE] = {"read_fifo_queue", MB_ACTION_READ, decode_read_fifo, check_fifo, 0},
	[MB_FC_ENCAPSULATED_INTERFACE] = {"read_device_identification", MB_ACTION_READ, decode_device_id,
					  check_device_id, 0},
};

static const mb_function_t *lookup(uint8_t function)
{
	if (function >= sizeof functions / sizeof functions[0] || functions[function].decode == NULL)
		return NULL;
	return &functions[function];
}

/* ---- the interface ------------------------------------------------------- */

uint16_t mb_tid(const uint8_t *adu)
{
	return be16(adu);
}

void mb_set_tid(uint8_t *adu, uint16_t tid)
{
	put16(adu, tid);
}

int mb_frame_length(const uint8_t *buf, size_t len, size_t *frame_len, const char **why)
{
	if (len >= 4 && be16(buf + 2) != 0)
		return fail(why, "protocol id is not 0 (Modbus)", MB_FRAME_MALFORMED);
	if (len < MB_MBAP_LEN - 1)
		return MB_FRAME_NEED_MORE;
	unsigned length = be16(buf + 4);
	if (length < MB_MIN_LENGTH_FIELD)
		return fail(why, "length field below 2 (unit id and function code)", MB_FRAME_MALFORMED);
	if (length > MB_MAX_LENGTH_FIELD)
		return fail(why, "length field above 254 (an ADU over 260 bytes)", MB_FRAME_MALFORMED);
	if (len < MB_MBAP_LEN - 1 + (size_t)length)
		return MB_FRAME_NEED_MORE;
	if (frame_len != NULL)
		*frame_len = MB_MBAP_LEN - 1 + (size_t)length;
	return MB_FRAME_COMPLETE;
}

/* The bounds of the written values. */
static void value_bounds(mb_request_t *r)
{
	for (size_t i = 0; i < r->n_values; i++) {
		int v = mb_request_value(r, i);
		if (i == 0 || v < r->min_value)
			r->min_value = v;
		if (i == 0 || v > r->max_value)
			r->max_value = v;
	}
}

int mb_request_decode(const uint8_t *adu, size_t len, mb_request_t *out, const char **why)
{
	size_t frame = 0;
	memset(out, 0, sizeof *out);
	out->subfunction = out->address = out->read_address = out->min_value = out->max_value = -1;
	int framing = mb_frame_length(adu, len, &frame, why);
	if (framing == MB_FRAME_MALFORMED)
		return MB_DECODE_MALFORMED;
	if (framing == MB_FRAME_NEED_MORE)
		return fail(why, "the frame is cut short", MB_DECODE_MALFORMED);
	if (frame != len)
		return fail(why, "bytes after the frame", MB_DECODE_MALFORMED);
	out->tid = mb_tid(adu);
	out->unit = adu[6];
	out->function = adu[7];
	out->pdu_len = (uint8_t)(len - MB_MBAP_LEN);
	if (out->function == 0 || (out->function & 0x80) != 0)
		return fail(why, "function code 0 or of an exception response", MB_DECODE_MALFORMED);
	const mb_function_t *f = lookup(out->function);
	if (f == NULL)
		return function_error(out, "a function code this proxy does not decode", why);
	int status = f->decode(f, adu + MB_MBAP_LEN, out->pdu_len, out, why);
	if (status == MB_DECODE_OK)
		value_bounds(out);
	return status;
}

const char *mb_request_action(const mb_request_t *r)
{
	const mb_function_t *f = lookup(r->function);
	return f != NULL ? f->action : NULL;
}

int mb_request_value(const mb_request_t *r, size_t i)
{
	if (i >= r->n_values)
		return -1;
	if (r->coils)
		return r->values[i / 8] >> (i % 8) & 1;
	return be16(r->values + 2 * i);
}

size_t mb_exception(const mb_request_t *req, uint8_t code, uint8_t out[MB_EXCEPTION_ADU_LEN])
{
	put16(out, req->tid);
	put16(out + 2, 0);
	put16(out + 4, 3); /* unit id, function code, exception code */
	out[6] = req->unit;
	out[7] = req->function | 0x80;
	out[8] = code;
	return MB_EXCEPTION_ADU_LEN;
}

int mb_response_check(const uint8_t *adu, size_t len, const mb_request_t *req, uint16_t tid, const char **why)
{
	size_t frame = 0;
	const mb_function_t *f = lookup(req->function);
	if (f == NULL || req->exception != 0)
		return bad(why, "the request was not one to forward");
	int framing = mb_frame_length(adu, len, &frame, why);
	if (framing == MB_FRAME_MALFORMED)
		return MB_RESPONSE_BAD;
	if (framing == MB_FRAME_NEED_MORE || frame != len)
		return bad(why, "not exactly one frame");
	if (mb_tid(adu) != tid)
		return bad(why, "another transaction id");
	if (adu[6] != req->unit)
		return bad(why, "another unit id");
	const uint8_t *p = adu + MB_MBAP_LEN;
	size_t n = len - MB_MBAP_LEN;
	if (p[0] == (req->function | 0x80)) {
		if (n != 2 || mb_exception_name(p[1]) == NULL)
			return bad(why, "not an exception code of the specification");
		return MB_RESPONSE_EXCEPTION;
	}
	if (p[0] != req->function)
		return bad(why, "another function code");
	if (req->no_response)
		return bad(why, "the request has no normal response");
	return f->check(p, n, req, why);
}

const char *mb_function_name(uint8_t function)
{
	const mb_function_t *f = lookup(function);
	return f != NULL ? f->name : NULL;
}

const char *mb_exception_name(uint8_t code)
{
	switch (code) {
	case MB_EX_ILLEGAL_FUNCTION: return "illegal_function";
	case MB_EX_ILLEGAL_DATA_ADDRESS: return "illegal_data_address";
	case MB_EX_ILLEGAL_DATA_VALUE: return "illegal_data_value";
	case MB_EX_SERVER_DEVICE_FAILURE: return "server_device_failure";
	case MB_EX_ACKNOWLEDGE: return "acknowledge";
	case MB_EX_SERVER_DEVICE_BUSY: return "server_device_busy";
	case MB_EX_MEMORY_PARITY_ERROR: return "memory_parity_error";
	case MB_EX_GATEWAY_PATH_UNAVAILABLE: return "gateway_path_unavailable";
	case MB_EX_GATEWAY_TARGET_FAILED: return "gateway_target_device_failed_to_respond";
	default: return NULL;
	}
}
