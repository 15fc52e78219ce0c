/* fuzz_access_token.c - tok_verify() with fixed options (the fixed key as
 * kid "k1", fixed issuer, audience and clock); an accepted token must carry
 * every required claim. */
#include "core/access_token.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	tok_key_t keys[2] = {{.kid = "k0"}, {.kid = FZ_KID}};
	tok_verify_opts_t o = {.issuer = FZ_ISSUER, .audience = FZ_AUDIENCE, .now = FZ_NOW,
			       .leeway = 30, .keys = keys, .n_keys = 2};
	tok_claims_t c;
	const char *why = NULL;
	memcpy(keys[1].pk, fz_pk(), ED25519_PK_LEN);
	if (tok_verify((const char *)data, size, &o, &c, &why) != 0) {
		fz_require(why != NULL && c.jws.header == NULL, "refusal explains and frees");
		return 0;
	}
	fz_require(c.sub != NULL && c.client_id != NULL && c.jti != NULL && c.scope != NULL,
		   "accepted token has sub, client_id, jti and scope");
	fz_require(strcmp(c.kid, FZ_KID) == 0, "accepted token names the key");
	fz_require(c.exp > FZ_NOW - 30, "accepted token is not expired");
	tok_claims_free(&c);
	return 0;
}
