/* fuzz_claims.c - the claim checks behind a valid signature. Input is
 * "HEADER-JSON\nPAYLOAD-JSON"; the target signs it with the fixed key and
 * runs it through tok_verify(), assertion_parse()/assertion_verify() and
 * dpop_check(). The other token targets mutate base64url text, which
 * rarely yields new JSON; this one mutates the JSON itself. */
#include "core/access_token.h"
#include "core/client_assertion.h"
#include "core/dpop.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void as_access_token(const char *t, size_t n)
{
	tok_key_t key = {.kid = FZ_KID};
	tok_verify_opts_t o = {.issuer = FZ_ISSUER, .audience = FZ_AUDIENCE, .now = FZ_NOW,
			       .leeway = 30, .keys = &key, .n_keys = 1};
	tok_claims_t c;
	const char *why = NULL;
	memcpy(key.pk, fz_pk(), ED25519_PK_LEN);
	if (tok_verify(t, n, &o, &c, &why) != 0)
		return;
	fz_require(c.sub != NULL && c.client_id != NULL && c.jti != NULL && c.scope != NULL,
		   "accepted token has sub, client_id, jti and scope");
	fz_require(c.exp > FZ_NOW - 30 && c.iat <= FZ_NOW + 30, "accepted token is current");
	tok_claims_free(&c);
}

static void as_assertion(const char *t, size_t n)
{
	static const char *const auds[] = {FZ_TOKEN_URL, FZ_ISSUER};
	assertion_opts_t o = {.audiences = auds, .n_audiences = 2, .now = FZ_NOW, .leeway = 30,
			      .max_lifetime = 300};
	assertion_t a;
	const char *why = NULL;
	if (assertion_parse(t, n, NULL, &o, &a, &why) != 0)
		return;
	fz_require(a.client_id != NULL && a.jti != NULL, "accepted assertion names client and jti");
	fz_require(assertion_verify(&a, fz_pk()) == 0, "signed assertion verifies");
	assertion_free(&a);
}

static void as_dpop(const char *t, size_t n)
{
	dpop_opts_t o = {.method = "POST", .url = FZ_TOKEN_URL, .now = FZ_NOW, .leeway = 5,
			 .max_age = 60, .access_token = FZ_ACCESS_TOKEN};
	dpop_proof_t p;
	const char *why = NULL;
	if (dpop_check(t, n, &o, &p, &why) == 0)
		fz_require(strlen(p.jkt) == JKT_LEN, "accepted proof has a thumbprint");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	if (nl == NULL)
		return 0;
	char *t = fz_sign_raw(data, (size_t)(nl - data), nl + 1, size - (size_t)(nl + 1 - data));
	size_t n = strlen(t);
	as_access_token(t, n);
	as_assertion(t, n);
	as_dpop(t, n);
	free(t);
	return 0;
}
