/* secret_box.c - envelope encryption of stored secrets (secret_box.h). */
#include "core/secret_box.h"
#include "core/b64url.h"
#include "core/secret.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define AAD_MAX (64 + SECRET_MAX_NAME + SECRET_MKID_LEN)

_Static_assert(SECRET_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(SECRET_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(SECRET_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key");

void secret_master_key_id(const uint8_t master[SECRET_KEY_LEN], char out[SECRET_MKID_LEN + 1])
{
	static const char label[] = "tollgate master key id";
	uint8_t h[SECRET_MKID_LEN / 2];
	crypto_generichash(h, sizeof h, (const uint8_t *)label, sizeof label - 1, master, SECRET_KEY_LEN);
	hex_encode_to(h, sizeof h, out);
	out[SECRET_MKID_LEN] = '\0';
}

/* An snprintf result as the AAD's length, or 0 when it did not fit. */
static size_t aad_len(int n)
{
	return n > 0 && n < AAD_MAX ? (size_t)n : 0;
}

static size_t key_aad(char out[AAD_MAX], const char *mkid, const char *name)
{
	return aad_len(snprintf(out, AAD_MAX, "tollgate/secret-key/v1|%s|%s", mkid, name));
}

static size_t value_aad(char out[AAD_MAX], const char *name, int64_t version)
{
	return aad_len(snprintf(out, AAD_MAX, "tollgate/secret-value/v1|%s|%lld", name, (long long)version));
}

static void seal(const uint8_t key[SECRET_KEY_LEN], const char *aad, size_t aad_len,
		 const uint8_t nonce[SECRET_NONCE_LEN], const uint8_t *pt, size_t len, uint8_t *out)
{
	memcpy(out, nonce, SECRET_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + SECRET_NONCE_LEN, NULL, pt, len, (const uint8_t *)aad,
						   aad_len, NULL, out, key);
}

static int open_box(const uint8_t key[SECRET_KEY_LEN], const char *aad, size_t aad_len, const uint8_t *sealed,
		    size_t sealed_len, uint8_t *out, size_t cap, size_t *out_len)
{
	unsigned long long n = 0;
	if (sealed_len < SECRET_BOX_OVERHEAD || cap < sealed_len - SECRET_BOX_OVERHEAD)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, NULL, sealed + SECRET_NONCE_LEN,
						       sealed_len - SECRET_NONCE_LEN, (const uint8_t *)aad, aad_len,
						       sealed, key) != 0)
		return -1;
	*out_len = (size_t)n;
	return 0;
}

int secret_wrap_key(const uint8_t master[SECRET_KEY_LEN], const char *mkid, const char *name,
		    const uint8_t data_key[SECRET_KEY_LEN], const uint8_t nonce[SECRET_NONCE_LEN],
		    uint8_t out[SECRET_WRAPPED_LEN])
{
	char aad[AAD_MAX];
	size_t n = key_aad(aad, mkid, name);
	if (n == 0)
		return -1;
	seal(master, aad, n, nonce, data_key, SECRET_KEY_LEN, out);
	return 0;
}

int secret_unwrap_key(const uint8_t master[SECRET_KEY_LEN], const char *mkid, const char *name,
		      const uint8_t *wrapped, size_t wrapped_len, uint8_t data_key[SECRET_KEY_LEN])
{
	char aad[AAD_MAX];
	size_t n = key_aad(aad, mkid, name), got = 0;
	if (n == 0 || wrapped_len != SECRET_WRAPPED_LEN)
		return -1;
	if (open_box(master, aad, n, wrapped, wrapped_len, data_key, SECRET_KEY_LEN, &got) != 0 ||
	    got != SECRET_KEY_LEN) {
		sodium_memzero(data_key, SECRET_KEY_LEN);
		return -1;
	}
	return 0;
}

int secret_seal_value(const uint8_t data_key[SECRET_KEY_LEN], const char *name, int64_t version,
		      const uint8_t nonce[SECRET_NONCE_LEN], const uint8_t *value, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len)
{
	char aad[AAD_MAX];
	size_t n = value_aad(aad, name, version);
	if (n == 0 || len > SECRET_MAX_VALUE || cap < len + SECRET_BOX_OVERHEAD)
		return -1;
	seal(data_key, aad, n, nonce, value, len, out);
	*out_len = len + SECRET_BOX_OVERHEAD;
	return 0;
}

int secret_open_value(const uint8_t data_key[SECRET_KEY_LEN], const char *name, int64_t version,
		      const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t cap, size_t *out_len)
{
	char aad[AAD_MAX];
	size_t n = value_aad(aad, name, version);
	if (n == 0)
		return -1;
	return open_box(data_key, aad, n, sealed, sealed_len, out, cap, out_len);
}
