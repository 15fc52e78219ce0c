/* fuzz_util.c - libFuzzer initialisation and helpers for the targets. */
#include "fuzz_util.h"
#include "core/b64url.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 8037 A.1 "d" (base64url nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A). */
static const uint8_t seed[32] = {
	0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
	0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
};
static uint8_t pk[ED25519_PK_LEN], sk[ED25519_SK_LEN];

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	crypto_sign_seed_keypair(pk, sk, seed);
	return 0;
}

const uint8_t *fz_pk(void)
{
	return pk;
}

char *fz_sign_raw(const uint8_t *header, size_t header_len, const uint8_t *payload,
		  size_t payload_len)
{
	size_t hl = b64url_encoded_len(header_len), pl = b64url_encoded_len(payload_len);
	size_t sl = b64url_encoded_len(crypto_sign_BYTES);
	uint8_t sig[crypto_sign_BYTES];
	char *out = malloc(hl + pl + sl + 3);
	if (out == NULL)
		abort();
	b64url_encode_to(header, header_len, out);
	out[hl] = '.';
	b64url_encode_to(payload, payload_len, out + hl + 1);
	crypto_sign_detached(sig, NULL, (const uint8_t *)out, hl + 1 + pl, sk);
	out[hl + 1 + pl] = '.';
	b64url_encode_to(sig, sizeof sig, out + hl + pl + 2);
	return out;
}

char *fz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

void fz_require(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz invariant failed: %s\n", what);
		abort();
	}
}
