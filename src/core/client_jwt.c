/* client_jwt.c - a workload's key, client assertions and DPoP proofs,
 * signed (client_jwt.h). */
#include "core/client_jwt.h"
#include "core/b64url.h"
#include "core/dpop.h"
#include "core/jws.h"
#include <sodium.h>
#include <string.h>

#define JTI_BYTES 16
#define JTI_LEN 22 /* base64url of 16 bytes */

int client_key_from_pem(const char *pem, size_t len, client_key_t *k, const char **why)
{
	uint8_t seed[ED25519_SEED_LEN];
	memset(k, 0, sizeof *k);
	if (ed_seed_from_pem(pem, len, seed, why) != 0)
		return -1;
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	sodium_memzero(seed, sizeof seed);
	ed_jwk_thumbprint(k->pk, k->kid);
	return 0;
}

void client_key_free(client_key_t *k)
{
	sodium_memzero(k, sizeof *k);
}

static void random_jti(char out[JTI_LEN + 1])
{
	uint8_t raw[JTI_BYTES];
	randombytes_buf(raw, sizeof raw);
	b64url_encode_to(raw, sizeof raw, out);
}

/* Signs and drops both references; NULL when either is NULL. */
static char *sign_owned(json_t *header, json_t *payload, const uint8_t sk[ED25519_SK_LEN])
{
	char *jwt = header != NULL && payload != NULL ? jws_sign(header, payload, sk) : NULL;
	json_decref(header);
	json_decref(payload);
	return jwt;
}

char *client_assertion_sign(const client_key_t *k, const char *client_id, const char *aud,
			    const char *kid, int64_t now, int64_t lifetime)
{
	char jti[JTI_LEN + 1];
	if (client_id == NULL || aud == NULL)
		return NULL;
	random_jti(jti);
	return sign_owned(json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid",
				    kid != NULL ? kid : k->kid),
			  json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", client_id, "sub",
				    client_id, "aud", aud, "jti", jti, "iat", (json_int_t)now, "exp",
				    (json_int_t)(now + lifetime)),
			  k->sk);
}

char *dpop_proof_sign(const client_key_t *k, const char *htm, const char *htu,
		      const char *access_token, int64_t now)
{
	char jti[JTI_LEN + 1], ath[JKT_LEN + 1];
	if (htm == NULL || htu == NULL)
		return NULL;
	random_jti(jti);
	json_t *payload = json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", htm, "htu", htu,
				    "iat", (json_int_t)now);
	if (payload != NULL && access_token != NULL) {
		dpop_ath(access_token, ath);
		if (json_object_set_new(payload, "ath", json_string(ath)) != 0) {
			json_decref(payload);
			payload = NULL; /* never a proof that silently lacks ath */
		}
	}
	return sign_owned(json_pack("{s:s, s:s, s:o}", "typ", "dpop+jwt", "alg", "EdDSA", "jwk",
				    ed_pk_to_jwk(k->pk, NULL)),
			  payload, k->sk);
}
