/* edge_state.h - what an edge decides with, synced from the broker: the
 * JWKS, the compiled policy set, the entities, and the revocations (tokens
 * by jti, identities that are not active, grants with their facts), with
 * the feed position they are current at. Kept in memory behind a
 * reader-writer lock (decisions read, the sync thread writes) and in
 * state_dir, so that a restarted edge decides at once on its last good
 * state and resumes the feed where it stopped.
 *
 * Files in state_dir (each written to a temporary file, synced and renamed
 * over the old one, so a crash leaves the old or the new file whole):
 *   jwks.json      the broker's JWKS as fetched
 *   policy.json    {"version", "sha256", "text"} as GET /v1/policies gave it
 *   entities.json  {"version", "entities"} as GET /v1/entities?effective=true gave it
 *   state.json     {"seq", "entries"}: the position and the revocations in
 *                  force, as feed entries (core/feed.h) */
#ifndef TG_EDGE_STATE_H
#define TG_EDGE_STATE_H
#include "core/access_token.h"
#include "core/feed.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct edge_state edge_state_t;

/* A grant as the feed describes it. */
typedef struct {
	char identity[TG_MAX_ID_LEN + 1];
	char state[FEED_STATE_LEN];
	int64_t approvals, ends_at;
	bool break_glass;
	char reason[TG_MAX_GRANT_REASON + 1];
	char source[TG_MAX_GRANT_SOURCE + 1]; /* the client range it binds, "" none */
	char *scope;                          /* owned; NULL when the feed sent none */
} edge_grant_t;

/* An identity that is not active. */
typedef struct {
	char state[FEED_STATE_LEN];
	int64_t at;
} edge_identity_t;

edge_state_t *edge_state_new(void);
void edge_state_free(edge_state_t *s);

/* Loads state_dir's files; -1 with why when they are missing or do not
 * load together (the edge then starts from a snapshot). */
int edge_state_load(edge_state_t *s, const char *dir, char *why, size_t why_len);

/* ---- readers: between edge_state_read and edge_state_done ---- */
void edge_state_read(edge_state_t *s);
void edge_state_done(edge_state_t *s);
bool edge_state_ready(const edge_state_t *s); /* keys, policy and entities loaded */
const tok_key_t *edge_state_keys(const edge_state_t *s, size_t *n);
const pol_engine_t *edge_state_engine(const edge_state_t *s);
const pol_entities_t *edge_state_entities(const edge_state_t *s);
bool edge_state_token_revoked(const edge_state_t *s, const char *jti);
const edge_identity_t *edge_state_identity(const edge_state_t *s, const char *id);
const edge_grant_t *edge_state_grant(const edge_state_t *s, const char *id);
/* Calls fn on every grant (id and facts) until it returns true; true when
 * one did. The Modbus proxy's admission looks for a grant by its source. */
bool edge_state_grant_find(const edge_state_t *s, bool (*fn)(const char *id, const edge_grant_t *g, void *ctx),
			   void *ctx);
/* Moves on whenever the keys change: cached verifications older than it
 * are verified again. */
uint64_t edge_state_keys_generation(const edge_state_t *s);
int64_t edge_state_seq(const edge_state_t *s);
void edge_state_versions(const edge_state_t *s, int64_t *policy, int64_t *entities, char jwks_sha[65]);

/* ---- writers (the sync thread) ---- */

/* Applies a feed batch (a snapshot replaces the revocations) and writes
 * state.json. *refetch gets the documents to fetch again: bit 1 policy,
 * 2 entities, 4 jwks (entries that name them, or versions that differ).
 * Expired tokens and grants are dropped. -1 when state.json cannot be
 * written (the state in memory is applied all the same). */
#define EDGE_REFETCH_POLICY 1
#define EDGE_REFETCH_ENTITIES 2
#define EDGE_REFETCH_JWKS 4
int edge_state_apply(edge_state_t *s, const feed_batch_t *b, int64_t now, const char *dir, unsigned *refetch);
/* Installs a document fetched from the broker (the JSON text of the
 * answer) and saves it to dir; -1 with why when it does not load (the old
 * one stays). */
int edge_state_set_policy(edge_state_t *s, const char *text, size_t len, const char *dir, char *why, size_t why_len);
int edge_state_set_entities(edge_state_t *s, const char *text, size_t len, const char *dir, char *why,
			    size_t why_len);
int edge_state_set_jwks(edge_state_t *s, const char *text, size_t len, const char *dir, char *why, size_t why_len);

#endif
