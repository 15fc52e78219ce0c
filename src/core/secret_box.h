/* secret_box.h - envelope encryption of stored secrets, pure (no I/O; the
 * caller brings the random keys and nonces):
 *   - each secret has its own random 32-byte data key;
 *   - each version's value is sealed under the data key with
 *     XChaCha20-Poly1305, AAD "tollgate/secret-value/v1|NAME|VERSION", so a
 *     sealed value moved to another secret or version does not open;
 *   - the data key is wrapped under the master key with XChaCha20-Poly1305,
 *     AAD "tollgate/secret-key/v1|MKID|NAME", binding it to its secret and
 *     to the master key that wrapped it (MKID, secret_master_key_id).
 * Sealed forms are nonce (24) || ciphertext || tag (16). */
#ifndef TG_SECRET_BOX_H
#define TG_SECRET_BOX_H
#include <stddef.h>
#include <stdint.h>

#define SECRET_KEY_LEN      32
#define SECRET_NONCE_LEN    24
#define SECRET_TAG_LEN      16
#define SECRET_BOX_OVERHEAD (SECRET_NONCE_LEN + SECRET_TAG_LEN)
#define SECRET_WRAPPED_LEN  (SECRET_KEY_LEN + SECRET_BOX_OVERHEAD)
#define SECRET_MKID_LEN     16 /* hex characters */

/* A master key's public id: 16 hex digits of a keyed BLAKE2b hash (the key
 * keys the hash), so the id names the key without revealing it. */
void secret_master_key_id(const uint8_t master[SECRET_KEY_LEN], char out[SECRET_MKID_LEN + 1]);

/* Wraps data_key for the secret name under master (id mkid) with nonce
 * into out. 0, or -1 when name or mkid do not fit the AAD. */
int secret_wrap_key(const uint8_t master[SECRET_KEY_LEN], const char *mkid, const char *name,
		    const uint8_t data_key[SECRET_KEY_LEN], const uint8_t nonce[SECRET_NONCE_LEN],
		    uint8_t out[SECRET_WRAPPED_LEN]) __attribute__((warn_unused_result));
/* The data key back: 0, or -1 (another master key, id or name, tampered). */
int secret_unwrap_key(const uint8_t master[SECRET_KEY_LEN], const char *mkid, const char *name,
		      const uint8_t *wrapped, size_t wrapped_len, uint8_t data_key[SECRET_KEY_LEN])
    __attribute__((warn_unused_result));

/* Seals len bytes of value for (name, version) under data_key into out
 * (cap >= len + SECRET_BOX_OVERHEAD); *out_len gets the sealed length. */
int secret_seal_value(const uint8_t data_key[SECRET_KEY_LEN], const char *name, int64_t version,
		      const uint8_t nonce[SECRET_NONCE_LEN], const uint8_t *value, size_t len, uint8_t *out,
		      size_t cap, size_t *out_len) __attribute__((warn_unused_result));
/* Opens a sealed value of (name, version) into out (cap >= sealed_len -
 * SECRET_BOX_OVERHEAD): 0, or -1 (wrong key, name or version, tampered). */
int secret_open_value(const uint8_t data_key[SECRET_KEY_LEN], const char *name, int64_t version,
		      const uint8_t *sealed, size_t sealed_len, uint8_t *out, size_t cap, size_t *out_len)
    __attribute__((warn_unused_result));

#endif
