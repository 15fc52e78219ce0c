/* secret_keys.h - the master keys that wrap the secrets' data keys in the
 * broker's memory (sodium_malloc'd), and sealing and opening values with
 * them (core/secret_box.h). Normally one key; during a rekey two: new
 * data keys are wrapped under the newest, and a stored data key is opened
 * with the key its record names (master_key_id), so reads keep working
 * while `tollgate rekey` re-wraps them one by one. */
#ifndef TG_SECRET_KEYS_H
#define TG_SECRET_KEYS_H
#include "core/secret_box.h"
#include "store/store.h"
#include <stddef.h>
#include <stdint.h>

typedef struct secret_keys secret_keys_t;

secret_keys_t *secret_keys_open(const uint8_t master[SECRET_KEY_LEN]);
void secret_keys_close(secret_keys_t *k);
/* The id of the key new data keys are wrapped under. */
void secret_keys_current_id(secret_keys_t *k, char out[SECRET_MKID_LEN + 1]);
/* Adds key as the current one; the others stay for opening. -1 when full. */
int secret_keys_add(secret_keys_t *k, const uint8_t master[SECRET_KEY_LEN]);
/* Forgets every key but the current one (a finished rekey). */
void secret_keys_forget_old(secret_keys_t *k);

/* A fresh random data key for the secret name (into dk, which the caller
 * zeroes), wrapped under the current key into wrapped, with its id. */
int secret_keys_new_data_key(secret_keys_t *k, const char *name, uint8_t dk[SECRET_KEY_LEN],
			     uint8_t wrapped[SECRET_WRAPPED_LEN], char mkid[SECRET_MKID_LEN + 1]);
/* The record's data key (into dk, which the caller zeroes): 0, or -1 when
 * no key held has its id or it does not open. */
int secret_keys_data_key(secret_keys_t *k, const secret_record_t *rec, uint8_t dk[SECRET_KEY_LEN]);
/* The record's data key wrapped again under the current key. */
int secret_keys_rewrap(secret_keys_t *k, const secret_record_t *rec, uint8_t wrapped[SECRET_WRAPPED_LEN],
		       char mkid[SECRET_MKID_LEN + 1]);

/* Seals value (len <= SECRET_MAX_VALUE) as version of rec's secret with dk
 * into a malloc'd *sealed. 0 or -1. */
int secret_keys_seal(const uint8_t dk[SECRET_KEY_LEN], const char *name, int64_t version, const uint8_t *value,
		     size_t len, uint8_t **sealed, size_t *sealed_len);
/* Opens version v of rec's secret: a sodium_malloc'd, NUL-terminated
 * plaintext of *len bytes (secret_value_free), or NULL. */
char *secret_keys_open_value(secret_keys_t *k, const secret_record_t *rec, const secret_version_t *v, size_t *len);
/* Seals value as version of rec's secret (the rotation engine's pending
 * versions): rec's data key, opened and zeroed here. */
int secret_keys_seal_for(secret_keys_t *k, const secret_record_t *rec, int64_t version, const uint8_t *value,
			 size_t len, uint8_t **sealed, size_t *sealed_len);
/* Zeroes and frees a plaintext from secret_keys_open_value. */
void secret_value_free(char *value, size_t len);

#endif
