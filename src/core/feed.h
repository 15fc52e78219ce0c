/* feed.h - the revocation feed (docs/edge.md, Feed), pure: which audit
 * records are feed entries, the entry each one becomes, and the decoder an
 * edge runs on what the broker sends.
 *
 * THE FEED IS THE AUDIT CHAIN. Every change an edge must learn of (a token
 * revoked, an identity suspended or offboarded, a grant activated or
 * ended, a new policy, new entities, a new signing key) is already an
 * audit record written in the same transaction as the change. The feed is
 * that chain filtered to those types, so a feed entry exists exactly when
 * its change is durable, entries have the chain's strictly increasing seq,
 * and an edge's position in the feed is a chain seq: the `since` of its
 * next poll acknowledges everything up to it.
 *
 * An entry:
 *   {"seq": N, "kind": "token",    "id": JTI, "sub": ID, "exp": T}
 *   {"seq": N, "kind": "identity", "id": ID, "state": "suspended"|"active"|"offboarded", "at": T}
 *   {"seq": N, "kind": "grant",    "id": G, "state": a grant state (core/grant.h; only "active" opens anything),
 *        "identity": ID, "approvals": N, "break_glass": B, "reason": S, "ends_at": T,
 *        "scope": S, "source": CIDR}   (scope and source: for the Modbus proxy's admission)
 *   {"seq": N, "kind": "policy" | "entities" | "jwks"}   refetch that document
 *   {"seq": N, "kind": "session_kill", "id": SID, "edge": ID, "reason": S}
 *        an operator closes Modbus session SID at edge ID (edge.session_kill;
 *        other edges ignore it)
 *   {"seq": N, "kind": "secret", "id": NAME, "state": "updated"|"rotated"|"deleted"}
 *        a secret changed (secret.*, resource Secret:NAME or Secret::"NAME"):
 *        edges that inject it fetch it again
 * A snapshot (an edge starting without state, or too far behind) is the
 * same list with seq 0: the revoked tokens not yet expired, the identities
 * that are not active, the active grants. */
#ifndef TG_FEED_H
#define TG_FEED_H
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum {
	FEED_TOKEN,
	FEED_IDENTITY,
	FEED_GRANT,
	FEED_POLICY,
	FEED_ENTITIES,
	FEED_JWKS,
	FEED_SESSION_KILL,
	FEED_SECRET,
} feed_kind_t;

#define FEED_STATE_LEN 16

typedef struct {
	int64_t seq;
	feed_kind_t kind;
	char id[TG_MAX_JTI_LEN + 1];       /* jti, identity id, grant id, session id or secret name */
	char sub[TG_MAX_ID_LEN + 1];       /* token: its identity; grant: its identity; session_kill: the edge */
	char state[FEED_STATE_LEN];        /* identity, grant and secret */
	int64_t exp;                       /* token: exp; grant: ends_at */
	int64_t at;                        /* identity: when the state was entered */
	int64_t approvals;                 /* grant */
	bool break_glass;                  /* grant */
	char reason[TG_MAX_GRANT_REASON + 1]; /* grant; session_kill */
	char source[TG_MAX_GRANT_SOURCE + 1]; /* grant: the client range it binds, "" none */
	char *scope;                          /* grant: its scope, malloc'd (feed_batch_free), or NULL */
} feed_entry_t;

typedef struct {
	int64_t seq;          /* the chain head the answer was made at: the next since */
	bool snapshot;        /* entries describe the whole state, not changes */
	int64_t policy_version, entities_version;
	char jwks_sha256[65]; /* "" when not sent */
	feed_entry_t *entries; /* malloc'd */
	size_t n;
} feed_batch_t;

/* The audit record types that are feed entries, NULL-terminated. */
extern const char *const feed_audit_types[];
bool feed_audit_type(const char *type);

/* The entry an audit record (as stored) becomes, or NULL when its type is
 * not a feed type or it lacks what the entry needs. Grant entries carry
 * only seq, kind, id and state: the broker adds the grant's facts. New
 * reference. */
json_t *feed_entry_from_record(const json_t *record);

/* Decodes a feed answer (or a snapshot: seq 0 entries, "snapshot": true)
 * for an edge whose position is since. Refuses (-1, why) anything not
 * exactly as documented: unknown kinds or members of the wrong type,
 * entries out of order, at or below since, above the answer's seq, more
 * than TG_MAX_FEED_ENTRIES, ids that are too long. An edge keeps its last
 * good state on refusal. */
int feed_batch_parse(const char *text, size_t len, int64_t since, feed_batch_t *out, char *why, size_t why_len)
	__attribute__((warn_unused_result));
void feed_batch_free(feed_batch_t *b);

/* Releases what one entry owns (its scope). */
void feed_entry_release(feed_entry_t *e);
/* One entry to JSON (the edge's state file uses the feed's own format). */
json_t *feed_entry_json(const feed_entry_t *e);
const char *feed_kind_name(feed_kind_t k);

#endif
