/* fuzz_operator_input.c - the operator request parsers (core/operator.h:
 * POST /v1/login, POST /v1/operators, confirm) on arbitrary JSON: an
 * accepted body has fields within their bounds; the TOTP check never
 * accepts a malformed code. */
#include "core/identity_json.h"
#include "core/operator.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	login_request_t l;
	operator_create_t c;
	char code[16];
	int64_t step;
	if (doc == NULL)
		return 0;
	if (login_request_parse(doc, &l) == NULL) {
		fz_require(l.username[0] && strlen(l.username) <= TG_MAX_ID_LEN, "username bounded");
		fz_require(l.password[0] && strlen(l.password) <= OP_MAX_PASSWORD, "password bounded");
		fz_require(l.totp[0] && strlen(l.totp) < sizeof l.totp, "totp bounded");
		if (totp_verify((const uint8_t *)"12345678901234567890", 20, 1800000000, l.totp, &step) == 0)
			fz_require(totp_code_well_formed(l.totp), "only well-formed codes verify");
	}
	if (operator_create_parse(doc, &c) == NULL) {
		fz_require(identity_name_valid(c.username), "username valid");
		fz_require(c.roles != 0 && c.roles <= 7, "roles known");
		fz_require(strlen(c.password) >= OP_MIN_PASSWORD && strlen(c.password) <= OP_MAX_PASSWORD,
			   "password bounded");
	}
	if (totp_request_parse(doc, code) == NULL)
		fz_require(totp_code_well_formed(code), "confirm code well-formed");
	json_decref(doc);
	return 0;
}
