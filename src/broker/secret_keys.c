/* secret_keys.c - master keys for the secret store (secret_keys.h). */
#include "broker/secret_keys.h"
#include "core/secret.h"
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MASTER_KEYS 4

typedef struct {
	uint8_t *key; /* sodium_malloc'd */
	char id[SECRET_MKID_LEN + 1];
} master_t;

struct secret_keys {
	pthread_rwlock_t lock;
	master_t keys[MAX_MASTER_KEYS]; /* keys[n - 1] is current */
	size_t n;
};

static int add_locked(secret_keys_t *k, const uint8_t master[SECRET_KEY_LEN])
{
	char id[SECRET_MKID_LEN + 1];
	secret_master_key_id(master, id);
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i].id, id) == 0) { /* already held: make it current */
			master_t m = k->keys[i];
			memmove(&k->keys[i], &k->keys[i + 1], (k->n - i - 1) * sizeof m);
			k->keys[k->n - 1] = m;
			return 0;
		}
	if (k->n == MAX_MASTER_KEYS || (k->keys[k->n].key = sodium_malloc(SECRET_KEY_LEN)) == NULL)
		return -1;
	memcpy(k->keys[k->n].key, master, SECRET_KEY_LEN);
	memcpy(k->keys[k->n].id, id, sizeof id);
	k->n++;
	return 0;
}

secret_keys_t *secret_keys_open(const uint8_t master[SECRET_KEY_LEN])
{
	secret_keys_t *k = calloc(1, sizeof *k);
	if (k == NULL)
		return NULL;
	pthread_rwlock_init(&k->lock, NULL);
	if (add_locked(k, master) != 0) {
		secret_keys_close(k);
		return NULL;
	}
	return k;
}

void secret_keys_close(secret_keys_t *k)
{
	if (k == NULL)
		return;
	for (size_t i = 0; i < k->n; i++)
		sodium_free(k->keys[i].key);
	pthread_rwlock_destroy(&k->lock);
	free(k);
}

void secret_keys_current_id(secret_keys_t *k, char out[SECRET_MKID_LEN + 1])
{
	pthread_rwlock_rdlock(&k->lock);
	memcpy(out, k->keys[k->n - 1].id, SECRET_MKID_LEN + 1);
	pthread_rwlock_unlock(&k->lock);
}

int secret_keys_add(secret_keys_t *k, const uint8_t master[SECRET_KEY_LEN])
{
	pthread_rwlock_wrlock(&k->lock);
	int rc = add_locked(k, master);
	pthread_rwlock_unlock(&k->lock);
	return rc;
}

void secret_keys_forget_old(secret_keys_t *k)
{
	pthread_rwlock_wrlock(&k->lock);
	for (size_t i = 0; i + 1 < k->n; i++)
		sodium_free(k->keys[i].key);
	k->keys[0] = k->keys[k->n - 1];
	memset(&k->keys[1], 0, (MAX_MASTER_KEYS - 1) * sizeof k->keys[0]);
	k->n = 1;
	pthread_rwlock_unlock(&k->lock);
}

/* Wraps dk under the current key (lock held). */
static int wrap_current(secret_keys_t *k, const char *name, const uint8_t dk[SECRET_KEY_LEN],
			uint8_t wrapped[SECRET_WRAPPED_LEN], char mkid[SECRET_MKID_LEN + 1])
{
	uint8_t nonce[SECRET_NONCE_LEN];
	const master_t *m = &k->keys[k->n - 1];
	randombytes_buf(nonce, sizeof nonce);
	memcpy(mkid, m->id, SECRET_MKID_LEN + 1);
	return secret_wrap_key(m->key, m->id, name, dk, nonce, wrapped);
}

int secret_keys_new_data_key(secret_keys_t *k, const char *name, uint8_t dk[SECRET_KEY_LEN],
			     uint8_t wrapped[SECRET_WRAPPED_LEN], char mkid[SECRET_MKID_LEN + 1])
{
	randombytes_buf(dk, SECRET_KEY_LEN);
	pthread_rwlock_rdlock(&k->lock);
	int rc = wrap_current(k, name, dk, wrapped, mkid);
	pthread_rwlock_unlock(&k->lock);
	return rc;
}

/* The record's data key (lock held). */
static int unwrap_locked(secret_keys_t *k, const secret_record_t *rec, uint8_t dk[SECRET_KEY_LEN])
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->keys[i].id, rec->master_key_id) == 0)
			return secret_unwrap_key(k->keys[i].key, k->keys[i].id, rec->name, rec->wrapped_key,
						 rec->wrapped_len, dk);
	return -1;
}

int secret_keys_data_key(secret_keys_t *k, const secret_record_t *rec, uint8_t dk[SECRET_KEY_LEN])
{
	pthread_rwlock_rdlock(&k->lock);
	int rc = unwrap_locked(k, rec, dk);
	pthread_rwlock_unlock(&k->lock);
	return rc;
}

int secret_keys_rewrap(secret_keys_t *k, const secret_record_t *rec, uint8_t wrapped[SECRET_WRAPPED_LEN],
		       char mkid[SECRET_MKID_LEN + 1])
{
	uint8_t dk[SECRET_KEY_LEN];
	pthread_rwlock_rdlock(&k->lock);
	int rc = unwrap_locked(k, rec, dk) == 0 ? wrap_current(k, rec->name, dk, wrapped, mkid) : -1;
	pthread_rwlock_unlock(&k->lock);
	sodium_memzero(dk, sizeof dk);
	return rc;
}

int secret_keys_seal(const uint8_t dk[SECRET_KEY_LEN], const char *name, int64_t version, const uint8_t *value,
		     size_t len, uint8_t **sealed, size_t *sealed_len)
{
	uint8_t nonce[SECRET_NONCE_LEN];
	if (len > SECRET_MAX_VALUE || (*sealed = malloc(len + SECRET_BOX_OVERHEAD)) == NULL)
		return -1;
	randombytes_buf(nonce, sizeof nonce);
	if (secret_seal_value(dk, name, version, nonce, value, len, *sealed, len + SECRET_BOX_OVERHEAD,
			      sealed_len) != 0) {
		free(*sealed);
		*sealed = NULL;
		return -1;
	}
	return 0;
}

int secret_keys_seal_for(secret_keys_t *k, const secret_record_t *rec, int64_t version, const uint8_t *value,
			 size_t len, uint8_t **sealed, size_t *sealed_len)
{
	uint8_t dk[SECRET_KEY_LEN];
	int rc = secret_keys_data_key(k, rec, dk) == 0
		? secret_keys_seal(dk, rec->name, version, value, len, sealed, sealed_len) : -1;
	sodium_memzero(dk, sizeof dk);
	return rc;
}

char *secret_keys_open_value(secret_keys_t *k, const secret_record_t *rec, const secret_version_t *v, size_t *len)
{
	uint8_t dk[SECRET_KEY_LEN];
	size_t cap = v->sealed_len >= SECRET_BOX_OVERHEAD ? v->sealed_len - SECRET_BOX_OVERHEAD : 0;
	char *out = v->sealed_len >= SECRET_BOX_OVERHEAD ? sodium_malloc(cap + 1) : NULL;
	if (out == NULL)
		return NULL;
	int rc = secret_keys_data_key(k, rec, dk) == 0
		? secret_open_value(dk, rec->name, v->version, v->sealed, v->sealed_len, (uint8_t *)out, cap, len) : -1;
	sodium_memzero(dk, sizeof dk);
	if (rc != 0) {
		sodium_free(out);
		return NULL;
	}
	out[*len] = '\0';
	return out;
}

void secret_value_free(char *value, size_t len)
{
	if (value != NULL)
		sodium_free(value); /* sodium_free zeroes the whole allocation */
	(void)len;
}
