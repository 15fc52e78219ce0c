/* identity.h - a machine identity as Tollgate models it: who owns it, what
 * kind of thing it is, its life-cycle status, the public keys it proves
 * possession of, and its roles (which Cedar policies see as the parents of
 * its Workload entity). Pure data shared by the store, the broker and the
 * JSON codec. What it may do is decided by policy, not stored here. */
#ifndef TG_IDENTITY_H
#define TG_IDENTITY_H
#include "core/ed25519_key.h"
#include "core/limits.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	char kid[TG_MAX_KID_LEN + 1];
	uint8_t pk[ED25519_PK_LEN];
	int64_t created_at;
	int64_t expires_at;  /* 0 = no expiry */
	int64_t disabled_at; /* 0 = enabled */
} identity_key_t;

typedef struct {
	char id[TG_MAX_ID_LEN + 1];
	char kind[16];
	char owner[TG_MAX_OWNER_LEN + 1];
	char status[16]; /* active, suspended, offboarded */
	char description[TG_MAX_DESCRIPTION_LEN + 1];
	char mtls_fingerprint[65]; /* lower-case hex SHA-256 of the cert DER, or "" */
	json_t *roles;             /* array of strings, owned */
	int64_t max_ttl;           /* 0 = server cap only */
	int64_t created_at, updated_at, last_used_at;
	int64_t not_before;        /* tokens issued before this are revoked */
	size_t n_keys;
	identity_key_t keys[TG_MAX_KEYS_PER_IDENTITY];
} identity_t;

/* Drops the owned JSON arrays; safe to call twice. */
void identity_release(identity_t *id);

#endif
