/* signer.c - signing key life cycle: generate, seal, unseal, rotate,
 * revoke, publish.
 * Private keys live in sodium_malloc'd memory (guard pages, no core dumps
 * of it with MADV_DONTDUMP) and are wiped on every exit path. */
#include "broker/signer.h"
#include "core/b64url.h"
#include "core/timefmt.h"
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 16
#define SEAL_NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define SEAL_TAG crypto_aead_xchacha20poly1305_ietf_ABYTES

typedef struct {
	char kid[TG_MAX_KID_LEN + 1];
	uint8_t pk[ED25519_PK_LEN];
	uint8_t *sk; /* sodium_malloc'd, 64 bytes */
	int64_t created_at, retired_at, drop_after;
} live_key_t;

struct signer {
	pthread_rwlock_t lock;
	char purpose[8];
	store_t *store;
	uint8_t *master; /* sodium_malloc'd */
	pthread_mutex_t master_mu; /* master: held to seal and open, and by signer_rekey */
	live_key_t keys[MAX_KEYS];
	size_t n;
	int current; /* index of the key that signs */
};

static void key_wipe(live_key_t *k)
{
	sodium_free(k->sk);
	memset(k, 0, sizeof *k);
}

/* A retired key whose drop_after has come is neither published nor
 * trusted any more; a revoked key's drop_after is when it was revoked. */
static bool unpublished(int64_t retired_at, int64_t drop_after, int64_t now)
{
	return retired_at != 0 && drop_after <= now;
}

/* Wipes key i (never the current one) and closes the gap. */
static void drop_key(signer_t *s, size_t i)
{
	key_wipe(&s->keys[i]);
	memmove(&s->keys[i], &s->keys[i + 1], (s->n - i - 1) * sizeof s->keys[0]);
	memset(&s->keys[s->n - 1], 0, sizeof s->keys[0]);
	s->n--;
	if (s->current > (int)i)
		s->current--;
}

/* The index of the key with this kid, or -1. */
static int find_key(const signer_t *s, const char *kid)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->keys[i].kid, kid) == 0)
			return (int)i;
	return -1;
}

int signer_seal(signer_t *s, const char *aad, const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
		size_t *out_len)
{
	if (cap < SEAL_NONCE + len + SEAL_TAG)
		return -1;
	unsigned long long n = 0;
	randombytes_buf(out, SEAL_NONCE);
	pthread_mutex_lock(&s->master_mu);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_NONCE, &n, pt, len, (const uint8_t *)aad,
						   strlen(aad), NULL, out, s->master);
	pthread_mutex_unlock(&s->master_mu);
	*out_len = SEAL_NONCE + (size_t)n;
	return 0;
}

int signer_unseal(signer_t *s, const char *aad, const uint8_t *sealed, size_t sealed_len, uint8_t *out,
		  size_t cap, size_t *out_len)
{
	unsigned long long n = 0;
	if (sealed_len < SEAL_NONCE + SEAL_TAG || cap < sealed_len - SEAL_NONCE - SEAL_TAG)
		return -1;
	pthread_mutex_lock(&s->master_mu);
	int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out, &n, NULL, sealed + SEAL_NONCE, sealed_len - SEAL_NONCE,
			(const uint8_t *)aad, strlen(aad), sealed, s->master);
	pthread_mutex_unlock(&s->master_mu);
	if (rc != 0)
		return -1;
	*out_len = (size_t)n;
	return 0;
}

static int unseal(signer_t *s, const signing_key_t *stored, live_key_t *out)
{
	uint8_t seed[ED25519_SEED_LEN];
	int rc = -1;
	size_t n = 0;
	if (stored->sealed_len != SEAL_NONCE + ED25519_SEED_LEN + SEAL_TAG)
		goto out;
	if (signer_unseal(s, stored->kid, stored->sealed, stored->sealed_len, seed, sizeof seed, &n) != 0 ||
	    n != ED25519_SEED_LEN)
		goto out;
	if ((out->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		goto out;
	uint8_t pk[ED25519_PK_LEN];
	crypto_sign_seed_keypair(pk, out->sk, seed);
	if (sodium_memcmp(pk, stored->pk, ED25519_PK_LEN) != 0) {
		sodium_free(out->sk);
		out->sk = NULL;
		goto out;
	}
	memcpy(out->pk, pk, ED25519_PK_LEN);
	snprintf(out->kid, sizeof out->kid, "%s", stored->kid);
	out->created_at = stored->created_at;
	out->retired_at = stored->retired_at;
	out->drop_after = stored->drop_after;
	rc = 0;
out:
	sodium_memzero(seed, sizeof seed);
	return rc;
}

/* Generates a key, seals it and stores it; fills out on success. When
 * retire_kid is set, the same transaction retires that key (rotation), so a
 * crash never leaves two current keys. */
static int generate(signer_t *s, int64_t now, live_key_t *out, const char *retire_kid, int64_t drop_after,
		    const char *actor)
{
	uint8_t seed[ED25519_SEED_LEN], sealed[SEAL_NONCE + ED25519_SEED_LEN + SEAL_TAG];
	char thumb[JKT_LEN + 1];
	int rc = -1;
	memset(out, 0, sizeof *out);
	if ((out->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES)) == NULL)
		goto out;
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(out->pk, out->sk, seed);
	ed_jwk_thumbprint(out->pk, thumb);
	snprintf(out->kid, sizeof out->kid, "%s", thumb);
	out->created_at = now;
	size_t sealed_len = 0;
	if (signer_seal(s, out->kid, seed, sizeof seed, sealed, sizeof sealed, &sealed_len) != 0)
		goto out;
	signing_key_t stored = {.pk = {0}, .sealed = sealed, .sealed_len = sizeof sealed,
				.created_at = now};
	snprintf(stored.kid, sizeof stored.kid, "%s", out->kid);
	snprintf(stored.purpose, sizeof stored.purpose, "%s", s->purpose);
	memcpy(stored.pk, out->pk, ED25519_PK_LEN);
	json_t *details = json_pack("{s:s, s:s, s:s?}", "purpose", s->purpose, "kid", out->kid,
				    "retired_kid", retire_kid);
	audit_event_t ev = {.type = retire_kid ? "key.rotated" : "key.created", .actor = actor,
			    .action = "key.generate", .resource = out->kid, .details = details};
	store_rc st = retire_kid != NULL
		? store_signing_key_rotate(s->store, &stored, retire_kid, now, drop_after, &ev)
		: store_signing_key_add(s->store, &stored, &ev);
	json_decref(details);
	rc = st == STORE_OK ? 0 : -1;
out:
	sodium_memzero(seed, sizeof seed);
	if (rc != 0)
		key_wipe(out);
	return rc;
}

/* Every stored key still published at now (a revoked key stays out). */
static int load(signer_t *s, int64_t now, char *err, size_t err_len)
{
	signing_key_t *stored = NULL;
	size_t n = 0;
	if (store_signing_keys(s->store, s->purpose, &stored, &n) != STORE_OK) {
		snprintf(err, err_len, "cannot read signing keys from the store");
		return -1;
	}
	s->current = -1;
	for (size_t i = 0; i < n && s->n < MAX_KEYS; i++) {
		if (unpublished(stored[i].retired_at, stored[i].drop_after, now))
			continue;
		if (unseal(s, &stored[i], &s->keys[s->n]) != 0) {
			snprintf(err, err_len, "signing key %s does not unseal: wrong master key file?",
				 stored[i].kid);
			signing_keys_release(stored, n);
			return -1;
		}
		if (stored[i].retired_at == 0)
			s->current = (int)s->n;
		s->n++;
	}
	signing_keys_release(stored, n);
	return 0;
}

signer_t *signer_open(store_t *st, const char *purpose, const uint8_t master[MASTER_KEY_LEN], int64_t now,
		      char *err, size_t err_len)
{
	signer_t *s = calloc(1, sizeof *s);
	if (s == NULL || (s->master = sodium_malloc(MASTER_KEY_LEN)) == NULL) {
		free(s);
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	memcpy(s->master, master, MASTER_KEY_LEN);
	snprintf(s->purpose, sizeof s->purpose, "%s", purpose);
	s->store = st;
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->master_mu, NULL);
	if (load(s, now, err, err_len) != 0)
		goto fail;
	if (s->current < 0) {
		if (s->n == MAX_KEYS || generate(s, now, &s->keys[s->n], NULL, 0, "broker") != 0) {
			snprintf(err, err_len, "cannot create the first signing key");
			goto fail;
		}
		s->current = (int)s->n++;
	}
	return s;
fail:
	signer_close(s);
	return NULL;
}

void signer_close(signer_t *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		key_wipe(&s->keys[i]);
	sodium_free(s->master);
	pthread_mutex_destroy(&s->master_mu);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

char *signer_issue(signer_t *s, tok_issue_t *t, char kid_out[TG_MAX_KID_LEN + 1])
{
	pthread_rwlock_rdlock(&s->lock);
	live_key_t *k = &s->keys[s->current];
	t->kid = k->kid;
	snprintf(kid_out, TG_MAX_KID_LEN + 1, "%s", k->kid);
	char *jwt = tok_issue(t, k->sk);
	t->kid = NULL;
	pthread_rwlock_unlock(&s->lock);
	return jwt;
}

char *signer_sign(signer_t *s, json_t *header, const json_t *payload)
{
	pthread_rwlock_rdlock(&s->lock);
	live_key_t *k = &s->keys[s->current];
	char *jwt = json_object_set_new(header, "kid", json_string(k->kid)) == 0 ? jws_sign(header, payload, k->sk)
										: NULL;
	pthread_rwlock_unlock(&s->lock);
	return jwt;
}

/* signer_rotate with the write lock held; the new key goes last, so the
 * other keys keep their indexes. */
static int rotate_locked(signer_t *s, int64_t now, int64_t retain_s, const char *actor, char *new_kid)
{
	live_key_t fresh;
	if (s->n == MAX_KEYS)
		return -1;
	live_key_t *old = &s->keys[s->current];
	if (generate(s, now, &fresh, old->kid, now + retain_s, actor) != 0)
		return -1;
	old->retired_at = now;
	old->drop_after = now + retain_s;
	s->keys[s->n] = fresh;
	s->current = (int)s->n++;
	snprintf(new_kid, TG_MAX_KID_LEN + 1, "%s", fresh.kid);
	return 0;
}

int signer_rotate(signer_t *s, int64_t now, int64_t retain_s, const char *actor, char *new_kid)
{
	pthread_rwlock_wrlock(&s->lock);
	int rc = rotate_locked(s, now, retain_s, actor, new_kid);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

/* The store's half of a revocation: the key's drop_after becomes now, with
 * its key.revoked record. */
static store_rc revoke_stored(signer_t *s, const char *kid, int64_t now, const char *actor)
{
	char resource[TG_MAX_KID_LEN + 8];
	snprintf(resource, sizeof resource, "Key:%s", kid);
	json_t *details = json_pack("{s:s, s:s, s:s}", "purpose", s->purpose, "kid", kid, "current_kid",
				    s->keys[s->current].kid);
	audit_event_t ev = {.type = "key.revoked", .actor = actor, .action = "key.revoke", .resource = resource,
			    .decision = "allow", .details = details};
	store_rc rc = store_signing_key_revoke(s->store, kid, now, &ev);
	json_decref(details);
	return rc;
}

store_rc signer_revoke(signer_t *s, const char *kid, int64_t now, int64_t retain_s, const char *actor,
		       char current_kid[TG_MAX_KID_LEN + 1], bool *rotated)
{
	store_rc rc = STORE_NOT_FOUND;
	*rotated = false;
	pthread_rwlock_wrlock(&s->lock);
	int i = strcmp(s->purpose, "token") == 0 ? find_key(s, kid) : -1;
	if (i < 0)
		goto out;
	if (i == s->current) {
		rc = STORE_ERROR;
		if (rotate_locked(s, now, retain_s, actor, current_kid) != 0)
			goto out;
		*rotated = true;
	}
	if ((rc = revoke_stored(s, kid, now, actor)) == STORE_OK)
		drop_key(s, (size_t)i);
out:
	snprintf(current_kid, TG_MAX_KID_LEN + 1, "%s", s->keys[s->current].kid);
	pthread_rwlock_unlock(&s->lock);
	return rc;
}

int signer_maintain(signer_t *s, int64_t now, int64_t period_s, int64_t retain_s)
{
	char kid[TG_MAX_KID_LEN + 1];
	int rotated = 0;
	pthread_rwlock_wrlock(&s->lock);
	for (size_t i = 0; i < s->n;) {
		if ((int)i != s->current && unpublished(s->keys[i].retired_at, s->keys[i].drop_after, now))
			drop_key(s, i);
		else
			i++;
	}
	int due = now - s->keys[s->current].created_at >= period_s;
	pthread_rwlock_unlock(&s->lock);
	if (due && signer_rotate(s, now, retain_s, "broker", kid) == 0)
		rotated = 1;
	return rotated;
}

json_t *signer_jwks(signer_t *s)
{
	json_t *keys = json_array();
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(keys, ed_pk_to_jwk(s->keys[i].pk, s->keys[i].kid));
	pthread_rwlock_unlock(&s->lock);
	return json_pack("{s:o}", "keys", keys);
}

size_t signer_public_keys(signer_t *s, tok_key_t *out, char (*kids)[TG_MAX_KID_LEN + 1], size_t cap)
{
	size_t n = 0;
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n && n < cap; i++, n++) {
		snprintf(kids[n], TG_MAX_KID_LEN + 1, "%s", s->keys[i].kid);
		out[n].kid = kids[n];
		memcpy(out[n].pk, s->keys[i].pk, ED25519_PK_LEN);
	}
	pthread_rwlock_unlock(&s->lock);
	return n;
}

json_t *signer_audit_checkpoint(void *signer, int64_t seq, const char *hash, const char *time)
{
	signer_t *s = signer;
	pthread_rwlock_rdlock(&s->lock);
	json_t *cp = audit_checkpoint(seq, hash, time, s->keys[s->current].kid, s->keys[s->current].sk);
	pthread_rwlock_unlock(&s->lock);
	return cp;
}

json_t *signer_describe(signer_t *s)
{
	json_t *arr = json_array();
	pthread_rwlock_rdlock(&s->lock);
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(arr, json_pack("{s:s, s:b, s:o, s:o, s:o}", "kid", s->keys[i].kid,
			"current", (int)i == s->current, "created_at", rfc3339_json(s->keys[i].created_at),
			"retired_at", rfc3339_json(s->keys[i].retired_at),
			"unpublish_after", rfc3339_json(s->keys[i].drop_after)));
	pthread_rwlock_unlock(&s->lock);
	return arr;
}

int signer_rekey(signer_t *a, signer_t *b, const uint8_t new_master[MASTER_KEY_LEN], signer_reseal_fn fn, void *ctx)
{
	pthread_rwlock_wrlock(&a->lock);
	pthread_rwlock_wrlock(&b->lock);
	pthread_mutex_lock(&a->master_mu);
	pthread_mutex_lock(&b->master_mu);
	int rc = fn(ctx, a->master);
	if (rc == 0) {
		memcpy(a->master, new_master, MASTER_KEY_LEN);
		memcpy(b->master, new_master, MASTER_KEY_LEN);
	}
	pthread_mutex_unlock(&b->master_mu);
	pthread_mutex_unlock(&a->master_mu);
	pthread_rwlock_unlock(&b->lock);
	pthread_rwlock_unlock(&a->lock);
	return rc;
}

bool signer_master_is(signer_t *s, const uint8_t master[MASTER_KEY_LEN])
{
	pthread_mutex_lock(&s->master_mu);
	bool same = sodium_memcmp(s->master, master, MASTER_KEY_LEN) == 0;
	pthread_mutex_unlock(&s->master_mu);
	return same;
}
