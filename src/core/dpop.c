/* dpop.c - RFC 9449 DPoP proof verification. */
#include "core/dpop.h"
#include "core/b64url.h"
#include "core/claims.h"
#include "core/jws.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* htu is compared without query and fragment (RFC 9449 §4.3 step 9). */
static bool htu_matches(const char *htu, const char *url)
{
	size_t a = strcspn(htu, "?#"), b = strcspn(url, "?#");
	return a == b && strncmp(htu, url, a) == 0;
}

void dpop_ath(const char *access_token, char out[JKT_LEN + 1])
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const uint8_t *)access_token, strlen(access_token));
	b64url_encode_to(d, sizeof d, out);
}

static bool ath_matches(const char *ath, const char *token)
{
	char want[JKT_LEN + 1];
	dpop_ath(token, want);
	return ath != NULL && strlen(ath) == JKT_LEN && sodium_memcmp(ath, want, JKT_LEN) == 0;
}

static const char *check(const jws_t *j, const dpop_opts_t *o, dpop_proof_t *out)
{
	uint8_t pk[ED25519_PK_LEN];
	const char *typ = json_string_value(json_object_get(j->header, "typ"));
	const char *htm = claim_str(j->payload, "htm", 16);
	const char *htu = claim_str(j->payload, "htu", 2048);
	const char *jti = claim_str(j->payload, "jti", TG_MAX_JTI_LEN);
	const char *why = NULL;
	claim_times_t t = {.now = o->now, .leeway = o->leeway, .require_iat = true};
	if (typ == NULL || strcasecmp(typ, "dpop+jwt") != 0)
		return "DPoP proof typ must be dpop+jwt";
	if (ed_pk_from_jwk(json_object_get(j->header, "jwk"), pk, &why) != 0)
		return "DPoP proof jwk must be a public Ed25519 key";
	if (jws_verify(j, pk) != JWS_OK)
		return "DPoP proof signature does not verify";
	if (htm == NULL || strcmp(htm, o->method) != 0)
		return "DPoP proof htm does not match the request method";
	if (htu == NULL || !htu_matches(htu, o->url))
		return "DPoP proof htu does not match the request URL";
	if ((why = claim_check_times(j->payload, &t)) != NULL)
		return why;
	claim_time(j->payload, "iat", &out->iat);
	if (out->iat < o->now - o->max_age)
		return "DPoP proof is too old (iat)";
	if (jti == NULL)
		return "DPoP proof needs a jti";
	if (o->access_token != NULL &&
	    !ath_matches(claim_str(j->payload, "ath", 64), o->access_token))
		return "DPoP proof ath does not match the access token";
	ed_jwk_thumbprint(pk, out->jkt);
	snprintf(out->jti, sizeof out->jti, "%s", jti);
	return NULL;
}

int dpop_check(const char *proof, size_t len, const dpop_opts_t *o, dpop_proof_t *out,
	       const char **why)
{
	jws_t j;
	memset(out, 0, sizeof *out);
	jws_err e = jws_parse(proof, len, &j);
	if (e != JWS_OK) {
		*why = jws_strerror(e);
		return -1;
	}
	*why = check(&j, o, out);
	jws_free(&j);
	return *why == NULL ? 0 : -1;
}
