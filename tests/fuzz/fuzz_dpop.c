/* fuzz_dpop.c - dpop_check() for POST to the token endpoint at a fixed
 * clock, with an access token so that the ath path is reached. */
#include "core/dpop.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dpop_opts_t o = {.method = "POST", .url = FZ_TOKEN_URL, .now = FZ_NOW, .leeway = 5,
			 .max_age = 60, .access_token = FZ_ACCESS_TOKEN};
	dpop_proof_t p;
	const char *why = NULL;
	if (dpop_check((const char *)data, size, &o, &p, &why) != 0) {
		fz_require(why != NULL, "refusal explains");
		return 0;
	}
	fz_require(strlen(p.jkt) == JKT_LEN, "accepted proof has a thumbprint");
	fz_require(p.jti[0] != '\0', "accepted proof has a jti");
	fz_require(p.iat >= FZ_NOW - 60 && p.iat <= FZ_NOW + 5, "accepted proof is fresh");
	return 0;
}
