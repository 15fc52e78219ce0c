/* modbus.h - the Modbus/TCP codec the edge's proxy runs on every frame
 * (issue 11, DESIGN.md §3.8, docs/policy.md#modbus): MBAP framing of a
 * byte stream, strict decoding of request PDUs, the policy view of a
 * request (action and context fields), exception responses, and the check
 * that a device's response answers the request it was sent for. Written
 * from the MODBUS Application Protocol Specification V1.1b3 and the MODBUS
 * Messaging on TCP/IP Implementation Guide V1.0b. Pure: no I/O, no
 * allocation, nothing buffered; every function reads only the len bytes
 * it is given.
 *
 * THE FRAME. An ADU is the 7-byte MBAP header - transaction id (2 bytes),
 * protocol id (2, always 0), length (2: the bytes that follow it, unit id
 * and PDU), unit id (1) - and the PDU: a function code and its data, at
 * most 253 bytes. So length is 2..254 and an ADU 8..260 bytes, 6 + length
 * in all. Every 16-bit field is big-endian.
 *
 * WHAT CLOSES THE CONNECTION, WHAT IS ANSWERED. The framing is all that
 * tells where the next request starts; once it is wrong the stream cannot
 * be trusted, so these are MALFORMED and the proxy closes the connection
 * without forwarding anything:
 *   - protocol id not 0; length field below 2 or above 254 (an ADU over
 *     260 bytes); a buffer that is not exactly one frame (truncated, or
 *     bytes after it) given to mb_request_decode;
 *   - function code 0 (invalid, §4.1) or 128..255 (the exception range:
 *     no request carries one, and fc | 0x80 could not answer it).
 * A well-framed request whose PDU is wrong leaves the stream intact, and
 * the specification has the server answer it with an exception response
 * (the state diagrams of §6, exception codes §7): mb_request_decode says
 * EXCEPTION with the code, and the proxy answers mb_exception() and
 * forwards nothing:
 *   0x01 ILLEGAL FUNCTION: a function code this codec does not decode
 *        (reserved, user-defined 65-72 and 100-110, unassigned), a
 *        Diagnostics (8) sub-function that is reserved, an Encapsulated
 *        Interface Transport (43) MEI type other than 14;
 *   0x03 ILLEGAL DATA VALUE: a quantity, byte count or value outside the
 *        function's bounds, or a PDU whose length is not exactly what its
 *        fields imply (§7: "the implied length is incorrect"; no trailing
 *        bytes, no short PDU);
 *   0x02 ILLEGAL DATA ADDRESS: a range that runs past address 0xFFFF
 *        (address + quantity > 0x10000), a file record reference that is
 *        not type 6, file 0, or a record past 9999 (0x270F).
 * Checks come in the specification's order: function, then values (0x03),
 * then addresses (0x02). A proxy that treats every exception-level error
 * from a client as hostile may still close; the codec only tells which
 * kind it is. */
#ifndef TG_MODBUS_H
#define TG_MODBUS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MB_MBAP_LEN           7   /* header up to and with the unit id */
#define MB_MAX_PDU            253
#define MB_MAX_ADU            (MB_MBAP_LEN + MB_MAX_PDU) /* 260 */
#define MB_MIN_LENGTH_FIELD   2   /* unit id + function code */
#define MB_MAX_LENGTH_FIELD   (1 + MB_MAX_PDU)           /* 254 */
#define MB_EXCEPTION_ADU_LEN  9

/* Bounds of the specification (§6). */
#define MB_MAX_READ_BITS          2000 /* FC 1, 2 */
#define MB_MAX_READ_REGISTERS     125  /* FC 3, 4, 23 (read) */
#define MB_MAX_WRITE_BITS         1968 /* FC 15 */
#define MB_MAX_WRITE_REGISTERS    123  /* FC 16 */
#define MB_MAX_RW_WRITE_REGISTERS 121  /* FC 23 (write) */
#define MB_MAX_WRITE_BYTES        246  /* the data of FC 15 or 16 at their maximum */
#define MB_MAX_FILE_RECORD        0x270F /* records 0..9999 of a file */
#define MB_MAX_FILE_REFS          35   /* sub-requests of one FC 20 (0xF5 / 7) */
#define MB_MAX_FIFO_COUNT         31   /* FC 24 */

/* Function codes (§5.1, §6). */
enum {
	MB_FC_READ_COILS = 1,
	MB_FC_READ_DISCRETE_INPUTS = 2,
	MB_FC_READ_HOLDING_REGISTERS = 3,
	MB_FC_READ_INPUT_REGISTERS = 4,
	MB_FC_WRITE_SINGLE_COIL = 5,
	MB_FC_WRITE_SINGLE_REGISTER = 6,
	MB_FC_READ_EXCEPTION_STATUS = 7,
	MB_FC_DIAGNOSTICS = 8,
	MB_FC_GET_COMM_EVENT_COUNTER = 11,
	MB_FC_GET_COMM_EVENT_LOG = 12,
	MB_FC_WRITE_MULTIPLE_COILS = 15,
	MB_FC_WRITE_MULTIPLE_REGISTERS = 16,
	MB_FC_REPORT_SERVER_ID = 17,
	MB_FC_READ_FILE_RECORD = 20,
	MB_FC_WRITE_FILE_RECORD = 21,
	MB_FC_MASK_WRITE_REGISTER = 22,
	MB_FC_READ_WRITE_MULTIPLE_REGISTERS = 23,
	MB_FC_READ_FIFO_QUEUE = 24,
	MB_FC_ENCAPSULATED_INTERFACE = 43,
};
#define MB_MEI_READ_DEVICE_ID 14 /* the one MEI type of FC 43 decoded */
#define MB_DIAG_FORCE_LISTEN_ONLY 0x0004

/* Exception codes (§7). */
#define MB_EX_ILLEGAL_FUNCTION        0x01
#define MB_EX_ILLEGAL_DATA_ADDRESS    0x02
#define MB_EX_ILLEGAL_DATA_VALUE      0x03
#define MB_EX_SERVER_DEVICE_FAILURE   0x04
#define MB_EX_ACKNOWLEDGE             0x05
#define MB_EX_SERVER_DEVICE_BUSY      0x06
#define MB_EX_MEMORY_PARITY_ERROR     0x08
#define MB_EX_GATEWAY_PATH_UNAVAILABLE 0x0A
#define MB_EX_GATEWAY_TARGET_FAILED   0x0B /* gateway target device failed to respond */

/* The actions policy sees (docs/policy.md#modbus). */
#define MB_ACTION_READ       "modbus.read"
#define MB_ACTION_WRITE      "modbus.write"
#define MB_ACTION_DIAGNOSTIC "modbus.diagnostic"
#define MB_ACTION_PROGRAM    "modbus.program"

enum { MB_FRAME_MALFORMED = -1, MB_FRAME_NEED_MORE = 0, MB_FRAME_COMPLETE = 1 };
enum { MB_DECODE_MALFORMED = -1, MB_DECODE_OK = 0, MB_DECODE_EXCEPTION = 1 };
enum { MB_RESPONSE_BAD = -1, MB_RESPONSE_OK = 0, MB_RESPONSE_EXCEPTION = 1 };

/* One sub-request of FC 20 or 21. */
typedef struct {
	uint16_t file;   /* 1..0xFFFF */
	uint16_t record; /* first record, 0..9999 */
	uint16_t length; /* records (registers), at least 1 */
} mb_file_ref_t;

/* A decoded request. After MB_DECODE_OK every member is set; after
 * MB_DECODE_EXCEPTION tid, unit, function and exception are (what
 * mb_exception needs), the rest as far as decoding got. Holds no pointer
 * into the frame: it can be kept until the response comes back. */
typedef struct {
	uint16_t tid;         /* transaction id, as the client sent it */
	uint8_t unit;         /* unit id */
	uint8_t function;     /* function code */
	uint8_t exception;    /* MB_DECODE_EXCEPTION: the code to answer; else 0 */
	uint8_t pdu_len;      /* bytes of the PDU, function code included */

	/* The policy view (mb_request_action for the action). */
	int32_t subfunction;  /* FC 8: the sub-function; FC 43: the MEI type; else -1 */
	int32_t address;      /* first coil or register (FC 23: of the write; FC 24:
			       * the FIFO pointer); -1 when the function names none */
	int32_t count;        /* coils or registers from address (FC 20, 21: records
			       * over all sub-requests); 0 when none */
	int32_t read_address; /* FC 23: the range it reads; else -1 and 0 */
	int32_t read_count;
	/* Written values, read with mb_request_value: coils (0 or 1) of FC 5
	 * and 15, registers of FC 6, 16 and 23. FC 22 writes
	 * (current AND and_mask) OR (or_mask AND NOT and_mask), which depends
	 * on what the register holds: its values are the lowest and highest
	 * result (one value when and_mask is 0), so min_value and max_value
	 * bound what it can write. */
	uint16_t n_values;
	bool coils;           /* values are coil bits */
	int32_t min_value;    /* of the values; -1 when n_values is 0 */
	int32_t max_value;
	uint8_t values[MB_MAX_WRITE_BYTES]; /* coils packed LSB first, registers big-endian */

	/* What mb_response_check compares the response with. */
	bool no_response;     /* FC 8 / 0x0004 Force Listen Only Mode: the device never answers */
	uint16_t value;       /* FC 5, 6: the value as sent; FC 8: its data word (but sub-function 0) */
	uint16_t and_mask, or_mask; /* FC 22 */
	uint8_t dev_id_code, object_id; /* FC 43 / 14 */
	uint8_t n_files;      /* FC 20, 21 */
	mb_file_ref_t files[MB_MAX_FILE_REFS];
} mb_request_t;

/* Framing for an event loop: how long the frame at the start of buf is.
 * MB_FRAME_COMPLETE with *frame_len (8..260) when buf holds all of it
 * (more may follow: the next frame starts at buf + *frame_len);
 * MB_FRAME_NEED_MORE when buf is a prefix of a valid frame (fewer than 6
 * bytes, or fewer than the length field says); MB_FRAME_MALFORMED with
 * *why when the header is wrong (the protocol id is checked as soon as 4
 * bytes are there). frame_len and why may be NULL. */
int mb_frame_length(const uint8_t *buf, size_t len, size_t *frame_len, const char **why)
	__attribute__((warn_unused_result));

/* Decodes the request ADU adu[0..len) (exactly one frame) into *out:
 * MB_DECODE_OK, MB_DECODE_EXCEPTION (out->exception says which) or
 * MB_DECODE_MALFORMED (close the connection); see the top of this file.
 * *why (may be NULL) says what was wrong. */
int mb_request_decode(const uint8_t *adu, size_t len, mb_request_t *out, const char **why)
	__attribute__((warn_unused_result));

/* The action of the request's function (MB_ACTION_*): read 1-4, 24 and 43
 * (read device identification); write 5, 6, 15, 16, 22, 23; diagnostic 7,
 * 8, 11, 12, 17; program 20, 21 (file records: where devices that have
 * them keep programs, recipes and configuration, so reading one can carry
 * a program out). NULL for a function this codec does not decode. */
const char *mb_request_action(const mb_request_t *r);
/* Value i (< r->n_values) of the written values. */
int mb_request_value(const mb_request_t *r, size_t i);

/* The exception response to req: its transaction id and unit, function |
 * 0x80, code. Returns MB_EXCEPTION_ADU_LEN. */
size_t mb_exception(const mb_request_t *req, uint8_t code, uint8_t out[MB_EXCEPTION_ADU_LEN]);

/* Whether the response ADU adu[0..len) (exactly one frame) answers req (an
 * MB_DECODE_OK request) sent to the device under transaction id tid:
 * same tid and unit, and either the function with the data the
 * specification has the server return for this request (echoes equal to
 * the request, byte counts matching the quantities asked for, structures
 * filling the PDU exactly), or function | 0x80 with one of the exception
 * codes of §7 (MB_RESPONSE_EXCEPTION). MB_RESPONSE_BAD, with *why (may be
 * NULL), for anything else: the proxy drops it. Unused bits of the last
 * coil byte are not looked at. */
int mb_response_check(const uint8_t *adu, size_t len, const mb_request_t *req, uint16_t tid,
		      const char **why) __attribute__((warn_unused_result));

/* The transaction id of an ADU (at least 2 bytes), and setting it: the
 * proxy's remapping between client and device transaction ids. */
uint16_t mb_tid(const uint8_t *adu);
void mb_set_tid(uint8_t *adu, uint16_t tid);

/* "read_coils", "write_multiple_registers", ... for audit records; NULL for
 * a function this codec does not decode. */
const char *mb_function_name(uint8_t function);
/* "illegal_function", ... for the codes of §7; NULL for others. */
const char *mb_exception_name(uint8_t code);

#endif
