/* signer.h - the broker's token signing keys: the one narrow interface that
 * holds private key material (STYLE.md: signing could move into its own
 * process behind this without touching callers). Keys are Ed25519, sealed
 * at rest with XChaCha20-Poly1305 under the master key, and rotate: a
 * retired key stays published (JWKS, verification) until every token it
 * signed has expired, unless it is revoked (signer_revoke). */
#ifndef TG_SIGNER_H
#define TG_SIGNER_H
#include "core/master_key.h"
#include "core/access_token.h"
#include "store/store.h"
#include <jansson.h>


typedef struct signer signer_t;

/* Loads and unseals every stored key of the purpose ("token" signs access
 * tokens, "audit" signs audit checkpoints) still published at now (not
 * past its drop_after: a revoked key stays out); creates the first one
 * when there is no current key. A key that fails to unseal (wrong master
 * key) is an error. */
signer_t *signer_open(store_t *st, const char *purpose, const uint8_t master[MASTER_KEY_LEN], int64_t now,
		      char *err, size_t err_len);
void signer_close(signer_t *s);

/* Signs with the current key (t->kid is ignored and left NULL); writes the
 * signing kid into kid_out. Returns a malloc'd compact JWT. */
char *signer_issue(signer_t *s, tok_issue_t *t, char kid_out[TG_MAX_KID_LEN + 1]);
/* Signs another JWT with the current key (the Token Status List): sets
 * header's kid. Returns a malloc'd compact JWS, or NULL. */
char *signer_sign(signer_t *s, json_t *header, const json_t *payload);
/* New current key; the old one retires and is dropped after now + retain_s.
 * Writes the new kid into new_kid (TG_MAX_KID_LEN+1). */
int signer_rotate(signer_t *s, int64_t now, int64_t retain_s, const char *actor, char *new_kid)
    __attribute__((warn_unused_result));
/* Withdraws a token signing key at once (a compromised key): the current
 * key is rotated first (*rotated; the new one is dropped after now +
 * retain_s like any rotation's), then the key is revoked in the store with
 * its key.revoked record by actor and, once that is durable, leaves memory:
 * the JWKS and signer_public_keys no longer have it, so every token it
 * signed is invalid from then on, and a restart does not load it again.
 * Writes the kid of the current key afterwards into current_kid.
 * STORE_NOT_FOUND when no published token key has this kid; STORE_ERROR
 * when the store failed or 16 keys are already held. */
store_rc signer_revoke(signer_t *s, const char *kid, int64_t now, int64_t retain_s, const char *actor,
		       char current_kid[TG_MAX_KID_LEN + 1], bool *rotated) __attribute__((warn_unused_result));
/* Rotates when the current key is older than period_s; drops keys past
 * their drop_after from memory. Returns 1 when it rotated. */
int signer_maintain(signer_t *s, int64_t now, int64_t period_s, int64_t retain_s);
/* {"keys":[...]} of every published key. */
json_t *signer_jwks(signer_t *s);
/* Copies up to cap published public keys; their kid strings stay valid
 * until the next signer_maintain() call, so callers copy what they keep. */
size_t signer_public_keys(signer_t *s, tok_key_t *out, char (*kids)[TG_MAX_KID_LEN + 1], size_t cap);
/* A signed audit checkpoint (core/audit.h) with the current key; fits
 * store_audit_configure's audit_signer_fn with ctx = the audit signer. */
json_t *signer_audit_checkpoint(void *signer, int64_t seq, const char *hash, const char *time);
/* Current kid and creation time (for `tollgate keys list`). */
json_t *signer_describe(signer_t *s);
/* Seals a small secret under the master key (XChaCha20-Poly1305, random
 * nonce, aad binding it to its owner: a kid, an operator) as nonce ||
 * ciphertext || tag into out (cap bytes); the same sealing as the signing
 * keys'. Returns 0, or -1 when it does not fit. */
int signer_seal(signer_t *s, const char *aad, const uint8_t *pt, size_t len, uint8_t *out, size_t cap,
		size_t *out_len);
/* Opens what signer_seal sealed with the same aad: 0, or -1 (tampered,
 * another master key, another aad, too small an out). */
int signer_unseal(signer_t *s, const char *aad, const uint8_t *sealed, size_t sealed_len, uint8_t *out,
		  size_t cap, size_t *out_len);
/* A new master key (`tollgate rekey`, rekey.h): with both signers' locks
 * held, so that no key is generated or sealed meanwhile, fn(ctx,
 * old_master) re-seals under new_master whatever the old key sealed and
 * stores it (0, or -1: nothing changes); then both signers seal and open
 * with new_master. a and b share one master key. */
typedef int (*signer_reseal_fn)(void *ctx, const uint8_t old_master[MASTER_KEY_LEN]);
int signer_rekey(signer_t *a, signer_t *b, const uint8_t new_master[MASTER_KEY_LEN], signer_reseal_fn fn, void *ctx);
/* Whether s seals with this master key. */
bool signer_master_is(signer_t *s, const uint8_t master[MASTER_KEY_LEN]);

#endif
