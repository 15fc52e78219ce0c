/* client_assertion.c - RFC 7523 client assertion checks. */
#include "core/client_assertion.h"
#include "core/claims.h"
#include "core/limits.h"
#include <string.h>

static const char *check(assertion_t *a, const char *client_id_param, const assertion_opts_t *o)
{
	const json_t *p = a->jws.payload;
	claim_times_t t = {.now = o->now, .leeway = o->leeway, .require_exp = true};
	const char *iss = claim_str(p, "iss", TG_MAX_ID_LEN);
	const char *sub = claim_str(p, "sub", TG_MAX_ID_LEN);
	const char *why;
	if (iss == NULL || sub == NULL || strcmp(iss, sub) != 0)
		return "client assertion iss and sub must both be the client_id";
	if (client_id_param != NULL && strcmp(client_id_param, iss) != 0)
		return "client_id does not match the client assertion";
	if (!claim_aud_matches(p, o->audiences, o->n_audiences))
		return "client assertion aud must be the token endpoint or the issuer";
	if ((why = claim_check_times(p, &t)) != NULL)
		return why;
	claim_time(p, "exp", &a->exp);
	if (a->exp > o->now + o->max_lifetime + o->leeway)
		return "client assertion lives too long (exp too far in the future)";
	a->jti = claim_str(p, "jti", TG_MAX_JTI_LEN);
	if (a->jti == NULL)
		return "client assertion needs a jti";
	a->client_id = iss;
	if (json_object_get(a->jws.header, "kid") != NULL &&
	    (a->kid = claim_str(a->jws.header, "kid", TG_MAX_KID_LEN)) == NULL)
		return "client assertion kid is not a string";
	return NULL;
}

int assertion_parse(const char *s, size_t len, const char *client_id_param,
		    const assertion_opts_t *o, assertion_t *out, const char **why)
{
	memset(out, 0, sizeof *out);
	jws_err e = jws_parse(s, len, &out->jws);
	if (e != JWS_OK) {
		*why = jws_strerror(e);
		return -1;
	}
	if ((*why = check(out, client_id_param, o)) != NULL) {
		assertion_free(out);
		return -1;
	}
	return 0;
}

int assertion_verify(const assertion_t *a, const uint8_t pk[ED25519_PK_LEN])
{
	return jws_verify(&a->jws, pk) == JWS_OK ? 0 : -1;
}

void assertion_free(assertion_t *a)
{
	jws_free(&a->jws);
	memset(a, 0, sizeof *a);
}
