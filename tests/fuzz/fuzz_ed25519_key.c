/* fuzz_ed25519_key.c - ed_pk_from_text() (PEM or JWK) and
 * ed_seed_from_pem() on arbitrary text; any key accepted survives a round
 * trip through our own PEM and JWK encoders. */
#include "core/ed25519_key.h"
#include "fuzz_util.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_public(const uint8_t pk[ED25519_PK_LEN])
{
	uint8_t again[ED25519_PK_LEN];
	const char *why = NULL;
	char jkt[JKT_LEN + 1];
	char *pem = ed_pk_to_pem(pk);
	json_t *jwk = ed_pk_to_jwk(pk, "kid");
	fz_require(pem != NULL && jwk != NULL, "encoders");
	fz_require(ed_pk_from_text(pem, strlen(pem), again, &why) == 0 &&
			   memcmp(again, pk, ED25519_PK_LEN) == 0,
		   "PEM round trip");
	fz_require(ed_pk_from_jwk(jwk, again, &why) == 0 && memcmp(again, pk, ED25519_PK_LEN) == 0,
		   "JWK round trip");
	ed_jwk_thumbprint(pk, jkt);
	fz_require(strlen(jkt) == JKT_LEN, "thumbprint length");
	json_decref(jwk);
	free(pem);
}

static void check_seed(const uint8_t seed[ED25519_SEED_LEN])
{
	uint8_t again[ED25519_SEED_LEN];
	const char *why = NULL;
	char *pem = ed_seed_to_pem(seed);
	fz_require(pem != NULL, "encoder");
	fz_require(ed_seed_from_pem(pem, strlen(pem), again, &why) == 0 &&
			   memcmp(again, seed, ED25519_SEED_LEN) == 0,
		   "PKCS#8 round trip");
	sodium_memzero(again, sizeof again);
	free(pem);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t pk[ED25519_PK_LEN], seed[ED25519_SEED_LEN];
	const char *why = NULL;
	if (ed_pk_from_text((const char *)data, size, pk, &why) == 0)
		check_public(pk);
	else
		fz_require(why != NULL, "public key refusal explains");
	why = NULL;
	if (ed_seed_from_pem((const char *)data, size, seed, &why) == 0)
		check_seed(seed);
	else
		fz_require(why != NULL, "private key refusal explains");
	return 0;
}
