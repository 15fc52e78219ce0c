/* operator.c - operators, pure (operator.h). */
#include "core/operator.h"
#include "core/identity_json.h"
#include <liboath/oath.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const role_names[] = {"admin", "approver", "auditor"};
#define N_ROLES (sizeof role_names / sizeof role_names[0])

unsigned operator_role_bit(const char *name)
{
	for (size_t i = 0; i < N_ROLES; i++)
		if (name != NULL && strcmp(name, role_names[i]) == 0)
			return 1u << i;
	return 0;
}

json_t *operator_roles_json(unsigned roles)
{
	json_t *a = json_array();
	for (size_t i = 0; i < N_ROLES; i++)
		if (roles & (1u << i))
			json_array_append_new(a, json_string(role_names[i]));
	return a;
}

unsigned operator_roles_parse(const json_t *arr)
{
	unsigned roles = 0;
	size_t i;
	const json_t *v;
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > N_ROLES)
		return 0;
	json_array_foreach(arr, i, v) {
		unsigned bit = operator_role_bit(json_string_value(v));
		if (bit == 0 || (roles & bit))
			return 0;
		roles |= bit;
	}
	return roles;
}

/* Refuses members outside allowed. */
static const char *only(const json_t *doc, const char *const *allowed)
{
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)doc, k, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, k) == 0;
		if (!ok)
			return "unknown member in the body";
	}
	return NULL;
}

/* A required string member of 1..max bytes without NUL into out. */
static const char *str_member(const json_t *doc, const char *name, size_t max, char *out, const char *why)
{
	const json_t *v = json_object_get(doc, name);
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return why;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return NULL;
}

const char *operator_create_parse(const json_t *doc, operator_create_t *out)
{
	static const char *const allowed[] = {"username", "roles", "password", NULL};
	const char *why;
	memset(out, 0, sizeof *out);
	if (!json_is_object(doc))
		return "the body must be a JSON object";
	if ((why = only(doc, allowed)) != NULL)
		return "the body takes only \"username\", \"roles\" and \"password\"";
	if ((why = str_member(doc, "username", TG_MAX_ID_LEN, out->username,
			      "\"username\" must be 1..128 characters of A-Z a-z 0-9 . _ -")) != NULL)
		return why;
	if (!identity_name_valid(out->username))
		return "\"username\" must be 1..128 characters of A-Z a-z 0-9 . _ -";
	if ((out->roles = operator_roles_parse(json_object_get(doc, "roles"))) == 0)
		return "\"roles\" must be a non-empty array of distinct roles: admin, approver, auditor";
	if ((why = str_member(doc, "password", OP_MAX_PASSWORD, out->password,
			      "\"password\" must be a string of 8..1024 bytes")) != NULL)
		return why;
	if (strlen(out->password) < OP_MIN_PASSWORD)
		return "\"password\" must be a string of 8..1024 bytes";
	return NULL;
}

const char *login_request_parse(const json_t *doc, login_request_t *out)
{
	static const char *const allowed[] = {"username", "password", "totp", NULL};
	memset(out, 0, sizeof *out);
	if (!json_is_object(doc))
		return "the body must be a JSON object";
	if (only(doc, allowed) != NULL)
		return "the body takes only \"username\", \"password\" and \"totp\"";
	if (str_member(doc, "username", TG_MAX_ID_LEN, out->username, "x") != NULL ||
	    str_member(doc, "password", OP_MAX_PASSWORD, out->password, "x") != NULL ||
	    str_member(doc, "totp", sizeof out->totp - 1, out->totp, "x") != NULL)
		return "\"username\" (1..128 bytes), \"password\" (1..1024 bytes) and \"totp\" (the "
		       "current 6-digit code) are required strings";
	return NULL;
}

const char *totp_request_parse(const json_t *doc, char totp[16])
{
	static const char *const allowed[] = {"totp", NULL};
	memset(totp, 0, 16);
	if (!json_is_object(doc) || only(doc, allowed) != NULL ||
	    str_member(doc, "totp", 15, totp, "x") != NULL || !totp_code_well_formed(totp))
		return "the body must be {\"totp\": \"NNNNNN\"} with the current 6-digit code";
	return NULL;
}

bool totp_code_well_formed(const char *code)
{
	size_t i;
	for (i = 0; code[i] != '\0'; i++)
		if (code[i] < '0' || code[i] > '9')
			return false;
	return i == TOTP_DIGITS;
}

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_ok;

static void oath_start(void)
{
	oath_ok = oath_init() == OATH_OK;
}

/* liboath's comparator: 0 on a match, in constant time. */
static int cmp_code(void *handle, const char *candidate)
{
	const char *code = handle;
	if (strlen(candidate) != TOTP_DIGITS)
		return 1;
	return sodium_memcmp(code, candidate, TOTP_DIGITS) == 0 ? 0 : 1;
}

int totp_verify(const uint8_t *secret, size_t secret_len, int64_t now, const char *code, int64_t *step)
{
	pthread_once(&oath_once, oath_start);
	if (!oath_ok || code == NULL || !totp_code_well_formed(code) || now < TOTP_STEP)
		return -1;
	int pos = 0;
	int rc = oath_totp_validate2_callback((const char *)secret, secret_len, (time_t)now, TOTP_STEP, 0,
					      TOTP_DIGITS, 1, &pos, cmp_code, (void *)code);
	if (rc < 0)
		return -1;
	*step = now / TOTP_STEP + pos;
	return 0;
}

int totp_generate(const uint8_t *secret, size_t secret_len, int64_t now, char code[TOTP_DIGITS + 1])
{
	pthread_once(&oath_once, oath_start);
	if (!oath_ok)
		return -1;
	return oath_totp_generate((const char *)secret, secret_len, (time_t)now, TOTP_STEP, 0, TOTP_DIGITS,
				  code) == OATH_OK ? 0 : -1;
}

int totp_uri(const char *user, const uint8_t *secret, size_t secret_len, char *out, size_t out_len)
{
	pthread_once(&oath_once, oath_start);
	char *b32 = NULL;
	size_t b32_len = 0;
	if (!oath_ok || !identity_name_valid(user) ||
	    oath_base32_encode((const char *)secret, secret_len, &b32, &b32_len) != OATH_OK)
		return -1;
	/* otpauth secrets go without '=' padding */
	while (b32_len > 0 && b32[b32_len - 1] == '=')
		b32[--b32_len] = '\0';
	int n = snprintf(out, out_len,
			 "otpauth://totp/Tollgate:%s?secret=%s&issuer=Tollgate&algorithm=SHA1&digits=%d&period=%d",
			 user, b32, TOTP_DIGITS, TOTP_STEP);
	sodium_memzero(b32, b32_len);
	free(b32);
	return n > 0 && (size_t)n < out_len ? 0 : -1;
}

login_result_t login_decide(const login_facts_t *f)
{
	if (!f->found)
		return LOGIN_NO_SUCH_USER;
	if (!f->password_ok)
		return LOGIN_BAD_PASSWORD;
	if (f->status == NULL || strcmp(f->status, "active") != 0)
		return LOGIN_NOT_ACTIVE;
	if (!f->totp_ok)
		return LOGIN_BAD_TOTP;
	if (f->step <= f->last_step)
		return LOGIN_REPLAYED_TOTP;
	return LOGIN_OK;
}

const char *login_result_reason(login_result_t r)
{
	switch (r) {
	case LOGIN_OK:
		return "ok";
	case LOGIN_NO_SUCH_USER:
		return "no such operator";
	case LOGIN_NOT_ACTIVE:
		return "operator not active (enrolment unconfirmed or disabled)";
	case LOGIN_BAD_PASSWORD:
		return "wrong password";
	case LOGIN_BAD_TOTP:
		return "wrong TOTP code";
	case LOGIN_REPLAYED_TOTP:
		return "TOTP code already used";
	}
	return "?";
}
