/* fuzz_client_assertion.c - assertion_parse() with fixed audiences, clock
 * and client_id, then assertion_verify() with the fixed key. */
#include "core/client_assertion.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const auds[] = {FZ_TOKEN_URL, FZ_ISSUER};
	assertion_opts_t o = {.audiences = auds, .n_audiences = 2, .now = FZ_NOW, .leeway = 30,
			      .max_lifetime = 300};
	assertion_t a;
	const char *why = NULL;
	if (assertion_parse((const char *)data, size, FZ_CLIENT_ID, &o, &a, &why) != 0) {
		fz_require(why != NULL && a.jws.header == NULL, "refusal explains and frees");
		return 0;
	}
	fz_require(strcmp(a.client_id, FZ_CLIENT_ID) == 0, "client_id is the expected one");
	fz_require(a.jti != NULL, "accepted assertion has a jti");
	fz_require(a.exp <= FZ_NOW + 300 + 30, "accepted assertion is short-lived");
	if (assertion_verify(&a, fz_pk()) == 0)
		fz_require(a.jws.signing_input_len > 0, "verified assertion was signed");
	assertion_free(&a);
	return 0;
}
