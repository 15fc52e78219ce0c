/* edge_cache.h - the edge's two in-memory sets on the request path.
 *
 * The token cache maps a presented token (its exact bytes) to its verified
 * claims until its exp, so that a hot token costs one lookup instead of
 * an Ed25519 verification; revocation is checked on every request against
 * the synced state, never cached. It is set-associative (4 ways), sized by
 * token_cache, with a lock per set; an entry verified under older keys is
 * verified again (a rotated-out or revoked kid stops verifying at once).
 *
 * The replay set holds the DPoP proofs seen (key thumbprint and jti) until
 * they are too old to be accepted anyway, exactly: a proof is refused as a
 * replay as long as it could otherwise pass, and when the set is full the
 * new proof is refused (fail closed), never an old one forgotten. */
#ifndef TG_EDGE_CACHE_H
#define TG_EDGE_CACHE_H
#include "core/ed25519_key.h"
#include "core/limits.h"
#include "core/scope.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	char sub[TG_MAX_ID_LEN + 1];
	char jti[TG_MAX_JTI_LEN + 1];
	char grant[TG_GRANT_ID_LEN + 1];  /* "" none */
	char cnf_jkt[JKT_LEN + 1];        /* "" none */
	char cnf_x5t[JKT_LEN + 1];        /* "" none */
	int64_t iat, exp;
	scope_set_t scope;                /* parsed once */
	bool probe;                       /* a probe token (tollgate revoke --verify) */
} edge_claims_t;

typedef struct edge_cache edge_cache_t;
typedef struct edge_cached edge_cached_t; /* a cached token: immutable, reference-counted */

edge_cache_t *edge_cache_new(size_t entries);
void edge_cache_free(edge_cache_t *c);
/* The entry of token verified under keys generation gen, or NULL. Give it
 * back with edge_cached_release. */
edge_cached_t *edge_cache_get(edge_cache_t *c, const char *token, size_t len, uint64_t gen);
/* Caches claims (taken, also on failure) for token and returns the entry
 * (a reference for the caller), or NULL when out of memory. */
edge_cached_t *edge_cache_put(edge_cache_t *c, const char *token, size_t len, uint64_t gen, edge_claims_t *claims,
			      int64_t now);
const edge_claims_t *edge_cached_claims(const edge_cached_t *e);
void edge_cached_release(edge_cached_t *e);
size_t edge_cache_count(edge_cache_t *c);

typedef struct edge_replay edge_replay_t;
edge_replay_t *edge_replay_new(size_t max);
void edge_replay_free(edge_replay_t *r);
/* Records (jkt, jti) until exp; false when it was seen already, or the set
 * is full of proofs that have not expired. */
bool edge_replay_first_use(edge_replay_t *r, const char *jkt, const char *jti, int64_t exp, int64_t now);

#endif
