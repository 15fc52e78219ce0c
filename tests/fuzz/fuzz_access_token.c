/* fuzz_access_token.c - tok_verify() with the fixed key as kid "k1" (and
 * another key as "k0") at the fixed clock, on two input forms. Compact
 * text: the fixed issuer and audience; an accepted token must carry every
 * required claim. Signed form (fuzz_util.h), fields ISSUER and AUDIENCE
 * (the fixed ones when absent): every input passes the signature, so the
 * header checks (typ, kid) and the claim checks (times, iss, aud, required
 * claims, cnf) are what decide; an accepted token must agree with an
 * independent reading of its JSON. */
#include "core/access_token.h"
#include "core/limits.h"
#include "fuzz_util.h"
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_ISSUER, F_AUDIENCE, N_FIELDS };

/* aud is the audience or an array holding it. */
static int aud_has(const json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	size_t i;
	const json_t *v;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return 1;
	return 0;
}

static void check_accepted(const tok_claims_t *c, const tok_verify_opts_t *o)
{
	const json_t *p = c->jws.payload, *h = c->jws.header;
	const char *typ = json_string_value(json_object_get(h, "typ"));
	fz_require(c->sub != NULL && c->client_id != NULL && c->jti != NULL && c->scope != NULL,
		   "accepted token has sub, client_id, jti and scope");
	fz_require(strcmp(c->kid, FZ_KID) == 0, "accepted token names the signing key");
	fz_require(typ != NULL && (strcasecmp(typ, "at+jwt") == 0 ||
				   strcasecmp(typ, "application/at+jwt") == 0),
		   "accepted token is typed at+jwt");
	const char *iss = json_string_value(json_object_get(p, "iss"));
	fz_require(iss != NULL && strcmp(iss, o->issuer) == 0, "accepted token has the expected issuer");
	fz_require(aud_has(json_object_get(p, "aud"), o->audience), "accepted token is for us");
	fz_require(json_is_integer(json_object_get(p, "exp")) && json_is_integer(json_object_get(p, "iat")),
		   "accepted token has integer exp and iat");
	fz_require(c->exp == json_integer_value(json_object_get(p, "exp")) &&
		   c->exp > o->now - o->leeway && c->iat <= o->now + o->leeway,
		   "accepted token is current");
	const json_t *nbf = json_object_get(p, "nbf");
	fz_require(nbf == NULL || (json_is_integer(nbf) && json_integer_value(nbf) <= o->now + o->leeway),
		   "accepted token is not used before nbf");
	fz_require(json_object_get(p, "cnf") == NULL || c->cnf_jkt != NULL || c->cnf_x5t != NULL,
		   "a cnf names a binding");
}

static void verify(const char *t, size_t n, const char *issuer, const char *audience)
{
	tok_key_t keys[2] = {{.kid = "k0", .pk = {1}}, {.kid = FZ_KID}};
	tok_verify_opts_t o = {.issuer = issuer, .audience = audience, .now = FZ_NOW,
			       .leeway = 30, .keys = keys, .n_keys = 2};
	tok_claims_t c;
	const char *why = NULL;
	memcpy(keys[1].pk, fz_pk(), ED25519_PK_LEN);
	if (tok_verify(t, n, &o, &c, &why) != 0) {
		fz_require(why != NULL && c.jws.header == NULL, "refusal explains and frees");
		return;
	}
	check_accepted(&c, &o);
	tok_claims_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_signed_t in;
	if (fz_signed_parse(data, size, N_FIELDS, &in) != 0) {
		verify((const char *)data, size, FZ_ISSUER, FZ_AUDIENCE);
		return 0;
	}
	verify(in.token, in.len, in.field[F_ISSUER] ? in.field[F_ISSUER] : FZ_ISSUER,
	       in.field[F_AUDIENCE] ? in.field[F_AUDIENCE] : FZ_AUDIENCE);
	fz_signed_free(&in);
	return 0;
}
