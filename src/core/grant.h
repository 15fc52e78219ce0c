/* grant.h - just-in-time grants, pure (docs/grants.md): the state machine
 * (stored state + clock -> effective state; which operation each state
 * allows), the request body of POST /v1/grants with its bounds, durations
 * ("1h30m"), notes (reasons and comments) and grant ids. No I/O, no clock:
 * callers pass `now`. */
#ifndef TG_GRANT_H
#define TG_GRANT_H
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	GRANT_PENDING,
	GRANT_APPROVED,  /* enough approvals; start still ahead */
	GRANT_ACTIVE,    /* tokens may be issued under it */
	GRANT_ENDED,
	GRANT_EXPIRED,
	GRANT_REVOKED,
	GRANT_DENIED,
	GRANT_CANCELLED,
	GRANT_STATE_COUNT,
} grant_state_t;

typedef enum {
	GRANT_OP_APPROVE,
	GRANT_OP_DENY,
	GRANT_OP_CANCEL,
	GRANT_OP_END,
	GRANT_OP_REVOKE,
	GRANT_OP_REVIEW, /* a break-glass grant's review: any state */
} grant_op_t;

const char *grant_state_name(grant_state_t s);
/* 0, or -1 when name is not a state. */
int grant_state_parse(const char *name, grant_state_t *out);
bool grant_state_final(grant_state_t s);

/* The state at now of a grant stored in state `stored`: a pending grant
 * expires at expires_at; an approved one is active from start and expires
 * at ends_at. Final states stay. */
grant_state_t grant_effective(grant_state_t stored, int64_t now, int64_t start, int64_t expires_at,
			      int64_t ends_at);
/* NULL when op is allowed in state s, else why not ("the grant is ended;
 * only a pending grant can be approved"), in buf. */
const char *grant_op_refused(grant_op_t op, grant_state_t s, char *buf, size_t len);

/* "90", "90s", "30m", "1h30m", "2h": whole seconds in *out. Units h, m, s
 * at most once each and in that order; -1 for anything else or overflow. */
int grant_duration_parse(const char *s, int64_t *out);

typedef struct {
	int64_t now;
	int64_t max_duration; /* grant_max_duration */
} grant_bounds_t;

typedef struct {
	char identity[TG_MAX_ID_LEN + 1];
	char scope[TG_MAX_SCOPE_LEN + 1];    /* as given (validated by scope_parse) */
	int64_t duration;
	char reason[TG_MAX_GRANT_REASON + 1];
	char ticket[TG_MAX_GRANT_TICKET + 1]; /* "" when none */
	int64_t start;                        /* now when not given */
	char source[TG_MAX_GRANT_SOURCE + 1]; /* "" when none; an ip or CIDR Cedar's ip() accepts */
	bool break_glass;                     /* an emergency grant: active at once, reviewed after */
} grant_request_t;

/* {"identity","scope","duration","reason","ticket"?,"start"?,"source"?,"break_glass"?}:
 * NULL, or why it is refused, naming the member (possibly in buf, which
 * should hold 160 bytes). */
const char *grant_request_parse(const json_t *doc, const grant_bounds_t *b, grant_request_t *out, char *buf,
				size_t len);

/* The optional body of approve/deny/cancel/end/revoke: {member?}, where
 * member is "comment" or "reason" (1..TG_MAX_GRANT_REASON bytes, no
 * control characters). doc may be NULL (no body). *out is "" when absent.
 * NULL, or why it is refused (possibly in buf). */
const char *grant_note_parse(const json_t *doc, const char *member, bool required,
			     char out[TG_MAX_GRANT_REASON + 1], char *buf, size_t len);

/* "g-" followed by 22 base64url characters. */
bool grant_id_valid(const char *s);
/* Formats 16 random bytes as a grant id. */
void grant_id_format(const uint8_t raw[16], char out[TG_GRANT_ID_LEN + 1]);

#endif
