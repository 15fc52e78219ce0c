/* edge_modbus_decide.h - what the Modbus/TCP proxy decides and records
 * (docs/edge.md, Modbus/TCP proxy): admission of a client connection by an
 * active grant that binds its source address to the device, whether that
 * grant still holds, the decision on each decoded request (unit, the
 * grant's scope, Cedar policy, the stale mode) as a Modbus exception code,
 * and the audit records (every write, deny and malformed frame; reads in
 * full or per connection and minute). The I/O is edge_modbus.c's. */
#ifndef TG_EDGE_MODBUS_DECIDE_H
#define TG_EDGE_MODBUS_DECIDE_H
#include "core/edge_sessions.h"
#include "core/modbus.h"
#include "core/modbus_options.h"
#include "core/scope.h"
#include "edge/edge.h"

/* The device a listener fronts, with its options. */
typedef struct {
	edge_t *e;
	const edge_modbus_t *line;
	mb_options_t opt;
	char type[TG_MAX_SCOPE_TOKEN_LEN + 1], id[TG_MAX_SCOPE_TOKEN_LEN + 1]; /* the entity Type::"id" */
} mb_device_t;

/* An admitted connection: who, under which grant, from where. */
typedef struct {
	char session[EDGE_SESSION_ID_LEN + 1]; /* its id in the operator view (random) */
	int64_t since_ms;                      /* admitted at */
	char identity[TG_MAX_ID_LEN + 1];
	char grant[TG_MAX_ID_LEN + 1];
	char src[64];
	scope_set_t scope;      /* the grant's scope */
	int64_t reads;          /* allowed reads not yet recorded (reads=minute) */
	int64_t reads_minute;   /* the minute (Unix s / 60) they fall in */
	int64_t allowed, denied;
} mb_conn_t;

/* Splits line->entity; -1 with why when it is not Type:id. */
int mb_device_init(mb_device_t *d, edge_t *e, const edge_modbus_t *line, char *why, size_t why_len);

/* Admits a connection from src: true with *c filled when an active grant
 * binds src to the device; else false, and the refusal is recorded
 * (why says what for: "no active grant ...", "max_conn ..."). */
bool mb_admit(const mb_device_t *d, const char *src, int64_t now_ms, mb_conn_t *c);
/* Records a refused connection (e.g. over max_conn). */
void mb_record_refused(const mb_device_t *d, const char *src, const char *why);
/* Whether c's grant is still active (state, end, identity); why when not. */
bool mb_still_admitted(const mb_device_t *d, const mb_conn_t *c, int64_t now_ms, const char **why);
/* Records that an operator killed c's session (reason may be ""). */
void mb_record_killed(const mb_device_t *d, const mb_conn_t *c, const char *reason);
/* Releases c (records the reads not yet recorded). */
void mb_conn_end(const mb_device_t *d, mb_conn_t *c, const char *why);

/* The decision on a decoded request (MB_DECODE_OK): 0 to forward it, else
 * the exception code to answer. Records what the audit keeps. */
uint8_t mb_decide(const mb_device_t *d, mb_conn_t *c, const mb_request_t *r, int64_t now_ms);
/* Records a request refused before the decision (the codec's exception,
 * a rate limit) with its code. */
void mb_record_refusal(const mb_device_t *d, mb_conn_t *c, const mb_request_t *r, uint8_t code, const char *reason);
/* Records a malformed frame (the connection closes). */
void mb_record_malformed(const mb_device_t *d, const mb_conn_t *c, const char *why);
/* Flushes the minute's read count when the minute is over. */
void mb_reads_tick(const mb_device_t *d, mb_conn_t *c, int64_t now_ms);

#endif
