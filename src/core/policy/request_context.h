/* request_context.h - the request context every enforcement point gives
 * policy (docs/policy.md, Context), built in one place for the broker's
 * issuance and /v1/authorize, and for the edge: src_ip, now, hour,
 * weekday (UTC, ISO 8601: 1 Monday .. 7 Sunday), token_age_s, the JIT grant
 * ({"approvals", "break_glass", "id", "reason"}), the change window, and
 * what the protocol adds (HTTP: method, path; Modbus: function, unit,
 * address, count, subfunction, read_address/read_count, values, min_value,
 * max_value, from a decoded request, docs/policy.md#modbus). Built on the
 * caller's storage, with no allocation, so it costs nothing on the token
 * path. */
#ifndef TG_POLICY_REQUEST_CONTEXT_H
#define TG_POLICY_REQUEST_CONTEXT_H
#include "core/modbus.h"
#include "core/policy/value.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* context.grant */
typedef struct {
	const char *id, *reason;
	int64_t approvals;
	bool break_glass;
} pol_ctx_grant_t;

/* What the context says; NULL or negative members are left out. */
typedef struct {
	const char *src_ip;             /* an address Cedar's ip() reads; else left out */
	int64_t now;                    /* Unix seconds; hour and weekday follow from it */
	int64_t token_age_s;            /* -1: no token */
	const pol_ctx_grant_t *grant;
	const char *change_window;
	const char *method, *path;      /* HTTP enforcement points */
	/* Modbus enforcement points: a request mb_request_decode took
	 * (MB_DECODE_OK). function, unit, address, count always; subfunction
	 * for FC 8 and 43; read_address, read_count for FC 23; values (a set:
	 * the coils' distinct values, the registers as written), min_value and
	 * max_value when it writes values. */
	const mb_request_t *modbus;
} pol_ctx_input_t;

#define POL_CTX_MAX_KEYS 19

typedef struct {
	pol_str_t keys[POL_CTX_MAX_KEYS];
	pol_value_t vals[POL_CTX_MAX_KEYS];
	pol_value_t rec; /* the context: a record over keys/vals */
	pol_str_t grant_keys[4];
	pol_value_t grant_vals[4];
	pol_value_t modbus_values[MB_MAX_WRITE_REGISTERS];
} pol_ctx_t;

/* The attributes an enforcement point adds for each request (HTTP and
 * Modbus): unknown to a decision taken before the request (issuance, a
 * grant; pol_request_t.unknown). */
extern const pol_str_t pol_ctx_request_time[];
extern const size_t pol_ctx_nrequest_time;

/* Fills c from in (pointers into in's strings are kept: they must outlive
 * c) and returns &c->rec. Keys are in byte order, as records keep them. */
const pol_value_t *pol_ctx_build(pol_ctx_t *c, const pol_ctx_input_t *in);

/* The same context as Cedar JSON (the "__extn" form for src_ip), for
 * audit records and for callers that merge it with a given context. New
 * reference. */
json_t *pol_ctx_json(const pol_ctx_input_t *in);

#endif
