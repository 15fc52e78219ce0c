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

int fz_signed_parse(const uint8_t *data, size_t size, size_t n_fields, fz_signed_t *out)
{
	memset(out, 0, sizeof *out);
	if (size == 0 || data[0] != '{' || n_fields > FZ_MAX_FIELDS)
		return -1;
	out->buf = fz_cstr(data, size);
	char *header = out->buf, *payload = strchr(header, '\n');
	if (payload == NULL || memchr(data, '\0', size) != NULL) {
		fz_signed_free(out);
		return -1;
	}
	*payload++ = '\0';
	char *next = n_fields > 0 ? strchr(payload, '\n') : NULL;
	if (next != NULL)
		*next++ = '\0';
	for (size_t i = 0; i < n_fields && next != NULL; i++) {
		out->field[i] = next;
		next = i + 1 < n_fields ? strchr(next, '\n') : NULL;
		if (next != NULL)
			*next++ = '\0';
	}
	out->header = header;
	out->payload = payload;
	out->token = fz_sign_raw((const uint8_t *)header, strlen(header), (const uint8_t *)payload,
				 strlen(payload));
	out->len = strlen(out->token);
	return 0;
}

void fz_signed_free(fz_signed_t *s)
{
	free(s->token);
	free(s->buf);
	memset(s, 0, sizeof *s);
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
