/* operator.h - human operators, pure: the request bodies of /v1/operators
 * and /v1/login, roles, TOTP (RFC 6238 over liboath: SHA-1, 30 s step, 6
 * digits, +-1 step) with the matched step for replay refusal, the
 * otpauth:// enrolment URI, and the login decision. No I/O, no clock. */
#ifndef TG_OPERATOR_H
#define TG_OPERATOR_H
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OP_ROLE_ADMIN (1u << 0)
#define OP_ROLE_APPROVER (1u << 1)
#define OP_ROLE_AUDITOR (1u << 2)

#define TOTP_SECRET_LEN 20 /* 160 bits, RFC 4226's recommendation */
#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_URI_MAX 256
#define OP_MAX_PASSWORD 1024 /* bytes */
#define OP_MIN_PASSWORD 8

/* "admin" -> OP_ROLE_ADMIN, ...; 0 for anything else. */
unsigned operator_role_bit(const char *name);
/* A JSON array of the roles in bits, in a fixed order. */
json_t *operator_roles_json(unsigned roles);
/* The roles of a JSON array of role names: 0 when it is not a non-empty
 * array of known, distinct names. */
unsigned operator_roles_parse(const json_t *arr);

typedef struct {
	char username[TG_MAX_ID_LEN + 1];
	unsigned roles;
	char password[OP_MAX_PASSWORD + 1];
} operator_create_t;

/* {"username","roles":[...],"password"}: NULL, or why the body is refused
 * (out is wiped either way by the caller with operator_wipe). */
const char *operator_create_parse(const json_t *doc, operator_create_t *out);

typedef struct {
	char username[TG_MAX_ID_LEN + 1];
	char password[OP_MAX_PASSWORD + 1];
	char totp[16];
} login_request_t;

/* {"username","password","totp"}, each a string within its bounds. */
const char *login_request_parse(const json_t *doc, login_request_t *out);
/* {"totp"} of the confirm call. */
const char *totp_request_parse(const json_t *doc, char totp[16]);

/* True when code is exactly TOTP_DIGITS ASCII digits. */
bool totp_code_well_formed(const char *code);
/* Checks code against the secret at time now within +-1 step, comparing
 * every candidate in constant time. Returns 0 and the matched step
 * (floor(t / 30) of the matching time) in *step, or -1. */
int totp_verify(const uint8_t *secret, size_t secret_len, int64_t now, const char *code, int64_t *step);
/* The code of the secret at time now (tests, docs). */
int totp_generate(const uint8_t *secret, size_t secret_len, int64_t now, char code[TOTP_DIGITS + 1]);
/* otpauth://totp/Tollgate:USER?secret=BASE32&issuer=Tollgate&algorithm=SHA1&digits=6&period=30
 * (user must be identity_name_valid: no escaping needed). Returns 0, or -1
 * when it does not fit. */
int totp_uri(const char *user, const uint8_t *secret, size_t secret_len, char *out, size_t out_len);

typedef enum {
	LOGIN_OK = 0,
	LOGIN_NO_SUCH_USER,
	LOGIN_NOT_ACTIVE,   /* pending_totp or disabled */
	LOGIN_BAD_PASSWORD,
	LOGIN_BAD_TOTP,
	LOGIN_REPLAYED_TOTP, /* a step at or before the last one used */
} login_result_t;

typedef struct {
	bool found;
	const char *status;
	bool password_ok;
	bool totp_ok;
	int64_t step, last_step;
} login_facts_t;

/* The login decision from what the broker checked (it always checks the
 * password, even for an unknown user, and the code whenever it can). */
login_result_t login_decide(const login_facts_t *f);
/* Why, for the log and the audit record (never shown to the caller). */
const char *login_result_reason(login_result_t r);

#endif
