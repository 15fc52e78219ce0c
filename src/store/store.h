/* store.h - Tollgate's persistent state behind one interface. Callers speak
 * in domain records; every SQL dialect detail stays inside a backend
 * (sqlite.c today; PostgreSQL planned, docs/architecture.md). Writes are group-committed:
 * concurrent callers' writes share one transaction and one fsync, and each
 * call returns only after its write is durable. Time is passed in. */
#ifndef TG_STORE_H
#define TG_STORE_H
#include "core/audit.h"
#include "core/ed25519_key.h"
#include "core/grant.h"
#include "core/identity.h"
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct store store_t;

typedef enum {
	STORE_OK = 0,
	STORE_NOT_FOUND = 1,
	STORE_CONFLICT = 2, /* exists already / replayed jti / state forbids it */
	STORE_ERROR = -1,   /* I/O or database failure: fail closed */
} store_rc;

typedef struct {
	const char *kind, *owner, *status, *role; /* NULL = any */
	const char *after;                         /* id cursor, NULL = start */
	int limit;
} identity_filter_t;

typedef struct {
	char jti[TG_MAX_JTI_LEN + 1];
	char identity_id[TG_MAX_ID_LEN + 1];
	char scope[TG_MAX_SCOPE_LEN + 1];
	char cnf_jkt[JKT_LEN + 1];
	char cnf_x5t[JKT_LEN + 1];
	char kid[TG_MAX_KID_LEN + 1];
	char sha256[65];    /* hex SHA-256 of the token as issued; "" for a row the
			     * upgrade could not fill (such a token is inactive) */
	int64_t iat, exp;
	int64_t revoked_at; /* 0 = not revoked */
	char grant[TG_GRANT_ID_LEN + 1]; /* the JIT grant it was issued under, "" none */
	int64_t status_idx; /* its Token Status List index (store_issue), -1 none */
} token_record_t;

typedef struct {
	char kid[TG_MAX_KID_LEN + 1];
	char purpose[8];   /* "token" or "audit" */
	uint8_t pk[ED25519_PK_LEN];
	uint8_t *sealed;   /* nonce || ciphertext, owned */
	size_t sealed_len;
	int64_t created_at;
	int64_t retired_at; /* 0 = current */
	int64_t drop_after; /* retired keys leave the JWKS after this */
} signing_key_t;

/* One issuance, written atomically: the single-use assertion and DPoP jtis
 * and the token row. STORE_CONFLICT means a jti was already used. */
typedef struct {
	const char *assertion_jti; /* may be NULL (mTLS client auth) */
	int64_t assertion_exp;
	const char *dpop_jti;      /* may be NULL */
	int64_t dpop_exp;
	const token_record_t *token;
	const audit_event_t *audit; /* token.issued, in the same transaction */
	bool touch_last_used; /* also set the identity's last_used_at to token->iat */
	int *dpop_replayed; /* out: set to 1 when the conflict was the DPoP jti */
	/* token->grant set: the grant must still be active at token->iat, checked
	 * in the same transaction (STORE_CONFLICT with *grant_ended = 1 if not) */
	int *grant_ended;
} issuance_t;

/* url: "sqlite:PATH". synchronous_full: fsync each commit group. */
store_t *store_open(const char *url, bool synchronous_full, char *err, size_t err_len);
void store_close(store_t *s);
/* Why the most recent failed write failed (SQLite's message), for logs. */
void store_last_error(store_t *s, char *out, size_t len);

/* Every write below that takes an audit_event_t appends it to the audit
 * chain in the same transaction: the change and its record are durable
 * together or not at all. ev may be NULL. */
store_rc store_identity_create(store_t *s, const identity_t *id, const audit_event_t *ev);
store_rc store_identity_get(store_t *s, const char *id, identity_t *out);
/* Up to f->limit identities ordered by id, after the f->after cursor;
 * *out is malloc'd (release each, then free). */
store_rc store_identity_list(store_t *s, const identity_filter_t *f, identity_t **out, size_t *n);
/* Replaces the mutable fields (owner, description, roles, max_ttl,
 * status, mtls_fingerprint, keys) of an existing, non-offboarded identity. */
store_rc store_identity_update(store_t *s, const identity_t *id, int64_t now, const audit_event_t *ev);
/* Offboards: status offboarded, every key disabled, not_before = now. */
store_rc store_identity_offboard(store_t *s, const char *id, int64_t now, const audit_event_t *ev);

store_rc store_issue(store_t *s, const issuance_t *is);
/* A write's outcome, delivered on the store's writer thread once it is
 * durable (or failed): keep it short and never wait for the store there. */
typedef void (*store_done_fn)(void *ctx, store_rc rc);
/* store_issue without blocking the caller's thread: STORE_OK once queued,
 * and done(ctx, rc) follows when the issuance is durable (or refused or
 * failed) - possibly before this returns. is, what it points to and its
 * audit event must live until done. Any other rc: nothing was queued and
 * done is not called. */
store_rc store_issue_start(store_t *s, const issuance_t *is, store_done_fn done, void *ctx);
store_rc store_token_get(store_t *s, const char *jti, token_record_t *out);
store_rc store_token_revoke(store_t *s, const char *jti, int64_t now, const audit_event_t *ev);
/* A single-use jti outside issuance (DPoP at other endpoints). */
store_rc store_jti_use(store_t *s, const char *kind, const char *jti, int64_t exp);

/* The keys of one purpose ("token" or "audit"). */
store_rc store_signing_keys(store_t *s, const char *purpose, signing_key_t **out, size_t *n);
void signing_keys_release(signing_key_t *k, size_t n);
store_rc store_signing_key_add(store_t *s, const signing_key_t *k, const audit_event_t *ev);
/* In one transaction: add the new key and retire the current one. */
store_rc store_signing_key_rotate(store_t *s, const signing_key_t *fresh, const char *old_kid,
				  int64_t now, int64_t drop_after, const audit_event_t *ev);
/* Withdraws a retired token key at once: its drop_after becomes now, so it
 * is unpublished (and no longer loaded) from now on. STORE_NOT_FOUND when
 * no retired key of purpose "token" has this kid: the current key is
 * retired first (store_signing_key_rotate), audit keys are not revoked. */
store_rc store_signing_key_revoke(store_t *s, const char *kid, int64_t now, const audit_event_t *ev);

store_rc store_admin_token_add(store_t *s, const uint8_t hash[32], int64_t expires_at);
store_rc store_admin_token_check(store_t *s, const uint8_t hash[32], int64_t now);

/* ---- audit chain ---- */

/* Signs a checkpoint for (seq, hash, time); returns the checkpoint object
 * (core/audit.h audit_checkpoint) or NULL. */
typedef json_t *(*audit_signer_fn)(void *ctx, int64_t seq, const char *hash, const char *time);
/* Checkpoint every `every` records, signed by fn. Set before serving.
 * enabled = false drops every event (benchmark comparisons in --dev only). */
void store_audit_configure(store_t *s, bool enabled, int64_t every, audit_signer_fn fn, void *ctx);
/* Checks the records since the newest checkpoint (hashes, links, and the
 * checkpoint's hash) as the chain is about to be extended. Returns 0, or -1
 * with why set: the tail was tampered with while the broker was down.
 * Signatures are left to `tollgate audit verify`, which has the keys. */
int store_audit_check_tail(store_t *s, char *why, size_t why_len);
/* Appends one event on its own (refusals, failures, reads worth keeping). */
store_rc store_audit_append(store_t *s, const audit_event_t *ev);
/* Signs a checkpoint of the current head now, unless one exists for it. */
store_rc store_audit_checkpoint(store_t *s);

typedef struct {
	int64_t after;      /* seq cursor: records with seq > after */
	const char *type, *actor, *resource, *jti, *grant, *decision; /* NULL = any */
	const char *since, *until; /* RFC 3339 bounds on time, inclusive; NULL = open */
	int limit;
} audit_filter_t;

/* Retention: deletes the records and checkpoints before the newest
 * checkpoint whose time is before `before` (RFC 3339), so that the kept
 * log starts at a signed checkpoint and still verifies; appends an
 * audit.pruned record. *pruned_to gets the first kept seq (0: nothing). */
store_rc store_audit_prune(store_t *s, const char *before, int64_t *pruned_to);

/* A forwarder's delivery cursor (last seq delivered to sink), kept across
 * restarts. Unknown sink: 0. */
store_rc store_forward_cursor(store_t *s, const char *sink, int64_t *seq);
store_rc store_forward_cursor_set(store_t *s, const char *sink, int64_t seq);

/* The audit records an edge shipped (sqlite_edge_audit.c, core/edge_audit.h),
 * appended exactly once: in one transaction, reads the edge's cursor (the
 * highest edge_seq taken from it, kept as the forward cursor of sink
 * "edge:<edge_id>"), skips the events whose edge_seqs[i] <= cursor, appends
 * the rest in order and moves the cursor to the last. edge_seqs grow by
 * one. *acknowledged gets the cursor after the write (n = 0 only reads it).
 * STORE_CONFLICT, with *expected = cursor + 1 and nothing written, when
 * the first new record is not the next one (a gap). */
store_rc store_edge_audit_append(store_t *s, const char *edge_id, const audit_event_t *evs, const int64_t *edge_seqs,
				 size_t n, int64_t *acknowledged, int64_t *expected);

/* Records (parsed JSON objects, as stored) in seq order into a new array. */
store_rc store_audit_list(store_t *s, const audit_filter_t *f, json_t **out);
/* Checkpoints with seq > after, in order, at most limit. */
store_rc store_audit_checkpoints(store_t *s, int64_t after, int limit, json_t **out);

/* ---- Cedar policies and entities (sqlite_policies.c) ---- */

/* One stored policy set. Versions start at 1 and grow by one per write;
 * the current set is the highest version; every version is kept. */
typedef struct {
	int64_t version;
	char sha256[65];           /* hex SHA-256 of text */
	int64_t created_at;
	char actor[TG_MAX_ID_LEN + 1];
	int64_t count;             /* policies in the set */
	char *comment;             /* malloc'd, "" when none */
	char *text;                /* malloc'd Cedar text; NULL in history listings */
	size_t text_len;
} policy_version_t;

/* Stores p (text, sha256, created_at, actor, count, comment) as version
 * p->version, which must be the current version + 1: STORE_CONFLICT when
 * another write took it first (re-read and retry). */
store_rc store_policy_put(store_t *s, const policy_version_t *p, const audit_event_t *ev);
/* version 0: the current set. STORE_NOT_FOUND when there is none (no
 * policy was ever stored) or no such version. Release with
 * policy_version_release. */
store_rc store_policy_get(store_t *s, int64_t version, policy_version_t *out);
/* Up to limit versions below `before` (0: from the newest), newest first,
 * without their text; *out is malloc'd (release each, then free). */
store_rc store_policy_history(store_t *s, int64_t before, int limit, policy_version_t **out, size_t *n);
void policy_version_release(policy_version_t *p);

/* An entity row: its uid and the entity in Cedar's entities JSON format
 * ({"uid":{"type","id"},"attrs","parents","tags"}), compact text. */
typedef struct {
	const char *type, *id;
	const char *json; /* ignored by store_entities_remove */
} entity_row_t;

/* Entity writes move the entities version from version - 1 to version
 * (STORE_CONFLICT when it is no longer version - 1: another write came
 * first). Identity writes bump it too (identities are entities). */
store_rc store_entities_replace_all(store_t *s, const entity_row_t *rows, size_t n, int64_t version,
				    int64_t now, const audit_event_t *ev);
store_rc store_entities_upsert(store_t *s, const entity_row_t *rows, size_t n, int64_t version,
			       int64_t now, const audit_event_t *ev);
/* Removes the rows with these uids; absent uids are no error. */
store_rc store_entities_remove(store_t *s, const entity_row_t *uids, size_t n, int64_t version,
			       int64_t now, const audit_event_t *ev);
/* Every stored entity (parsed objects, ordered by type then id) into a
 * new array, and the version they are at, read in one snapshot. */
store_rc store_entities_list(store_t *s, json_t **out, int64_t *version);
store_rc store_entities_version(store_t *s, int64_t *version);

/* ---- operators and their sessions (sqlite_operators.c) ---- */

#define OP_PWHASH_LEN 128  /* crypto_pwhash_STRBYTES */
#define OP_SEALED_MAX 128  /* nonce || sealed TOTP secret || tag */

typedef struct {
	char username[TG_MAX_ID_LEN + 1];
	unsigned roles;        /* OP_ROLE_* (core/operator.h) */
	char status[16];       /* pending_totp, active, disabled */
	char pwhash[OP_PWHASH_LEN];
	uint8_t sealed_totp[OP_SEALED_MAX];
	size_t sealed_totp_len;
	int64_t last_step;     /* last TOTP step used (enrolment or login), 0 = none */
	int64_t created_at, updated_at;
} operator_t;

typedef struct {
	char id[TG_MAX_ID_LEN + 1]; /* public session id (audit) */
	char username[TG_MAX_ID_LEN + 1];
	unsigned roles;
	int64_t created_at, expires_at, auth_time;
	char amr[32];          /* space-separated: "pwd otp" */
} operator_session_t;

/* STORE_CONFLICT when the username exists. */
store_rc store_operator_create(store_t *s, const operator_t *op, const audit_event_t *ev);
/* The same, only when there is no operator at all (STORE_CONFLICT else). */
store_rc store_operator_create_first(store_t *s, const operator_t *op, const audit_event_t *ev);
store_rc store_operator_get(store_t *s, const char *username, operator_t *out);
/* Every operator ordered by username (*out malloc'd). */
store_rc store_operator_list(store_t *s, operator_t **out, size_t *n);
/* pending_totp -> active with last_step = step (STORE_CONFLICT when not
 * pending_totp, or the step is not after last_step). */
store_rc store_operator_confirm(store_t *s, const char *username, int64_t step, int64_t now,
				const audit_event_t *ev);
/* -> disabled, and every session of the operator deleted, together
 * (STORE_CONFLICT when already disabled). */
store_rc store_operator_disable(store_t *s, const char *username, int64_t now, const audit_event_t *ev);
/* Uses a TOTP step and opens a session in one transaction: STORE_CONFLICT
 * (nothing written) when the step is not after the last used one or the
 * operator is no longer active. */
store_rc store_operator_login(store_t *s, const char *username, int64_t step, const uint8_t hash[32],
			      const operator_session_t *sess, const audit_event_t *ev);
/* The live session with this token hash (operator active, not expired). */
store_rc store_operator_session_check(store_t *s, const uint8_t hash[32], int64_t now,
				      operator_session_t *out);

/* ---- just-in-time grants (sqlite_grants.c, docs/grants.md) ---- */

#define TG_MAX_GRANT_APPROVALS 16

typedef struct {
	char approver[TG_MAX_ID_LEN + 1];
	int64_t at, mfa_age;
	char comment[TG_MAX_GRANT_REASON + 1];
} grant_approval_t;

typedef struct {
	char id[TG_GRANT_ID_LEN + 1];
	char identity[TG_MAX_ID_LEN + 1];
	char *scope;                          /* malloc'd */
	char reason[TG_MAX_GRANT_REASON + 1];
	char ticket[TG_MAX_GRANT_TICKET + 1];
	char source[TG_MAX_GRANT_SOURCE + 1];
	char requester[TG_MAX_ID_LEN + 1];
	char requester_kind[16];              /* operator, workload, admin */
	grant_state_t state;                  /* as stored (grant_effective for now) */
	int64_t duration, start, created_at, expires_at, approved_at, ends_at, ended_at;
	char ended_by[TG_MAX_ID_LEN + 1];
	char end_reason[TG_MAX_GRANT_REASON + 1];
	int64_t approvals_required;
	bool break_glass;
	char reviewed_by[TG_MAX_ID_LEN + 1];  /* break-glass review: "" while open */
	int64_t reviewed_at;
	char review_comment[TG_MAX_GRANT_REASON + 1];
	int64_t version;                      /* compare-and-set token of every write */
	grant_approval_t *approvals;          /* malloc'd, in approval order */
	size_t n_approvals;
} grant_t;

typedef struct {
	const char *identity;       /* NULL = any */
	int state;                  /* effective state at now; -1 = any */
	int64_t now;
	const char *after;          /* id cursor (newest first), NULL = start */
	bool review_open;           /* only break-glass grants not reviewed yet */
	int limit;
} grant_filter_t;

/* The times that decide a grant's effective state. */
typedef struct {
	grant_state_t state;
	int64_t start, expires_at, ends_at, approvals, approvals_required;
	bool break_glass;
	char reason[TG_MAX_GRANT_REASON + 1];
} grant_status_t;

void grant_release(grant_t *g);
/* STORE_CONFLICT when the id exists (never expected: random ids). */
store_rc store_grant_create(store_t *s, const grant_t *g, const audit_event_t *ev);
/* With its approvals. */
store_rc store_grant_get(store_t *s, const char *id, grant_t *out);
/* Newest first; *out malloc'd (grant_release each, then free). */
store_rc store_grant_list(store_t *s, const grant_filter_t *f, grant_t **out, size_t *n);
/* Writes g's state, end fields (approved_at, ends_at, ended_at,
 * ended_by, end_reason) and review fields when the stored version is still g->version, moving
 * it to version + 1, and inserts approval when not NULL; STORE_CONFLICT
 * when another write came first (re-read and decide again) or the approver
 * has approved already. */
store_rc store_grant_update(store_t *s, const grant_t *g, const grant_approval_t *approval,
			    const audit_event_t *ev);
/* The active grants of an identity at now, newest first (up to max). */
store_rc store_grant_active(store_t *s, const char *identity, int64_t now, grant_t **out, size_t *n);
/* What token checks need of one grant. */
store_rc store_grant_status(store_t *s, const char *id, grant_status_t *out);
/* Grants whose stored state lags their effective state at now (to
 * activate or expire), oldest first, up to max. */
store_rc store_grant_due(store_t *s, int64_t now, int max, grant_t **out, size_t *n);

/* ---- the revocation feed and edges (sqlite_feed.c, core/feed.h) ---- */

/* Feed records (audit records of the feed types, as stored) with seq >
 * after, in seq order, at most limit, into a new array; *head gets the
 * chain head and *first the lowest seq the chain still holds (retention
 * prunes below it; 0 when empty). */
store_rc store_feed_since(store_t *s, int64_t after, int limit, json_t **out, int64_t *head, int64_t *first);
/* Revoked tokens whose exp is after now, [{"id": jti, "sub", "exp"}], at
 * most limit (the rest is STORE_CONFLICT: too many to send). */
store_rc store_tokens_revoked(store_t *s, int64_t now, int limit, json_t **out);
/* Called on the writer thread after each durable commit group that held
 * feed records, with the highest such seq. Must return quickly. Set
 * before serving. */
typedef void (*store_commit_hook_fn)(void *ctx, int64_t feed_seq);
void store_set_commit_hook(store_t *s, store_commit_hook_fn fn, void *ctx);

/* An edge as the broker last heard of it (GET /v1/edges). */
typedef struct {
	char id[TG_MAX_ID_LEN + 1];
	char addr[TG_MAX_EDGE_ADDR + 1];  /* its forward-auth base URL, "" unknown */
	char version[32];
	int64_t acked_seq;                /* feed position it acknowledged last */
	int64_t first_seen, last_seen;    /* Unix ms */
} edge_record_t;

/* Inserts or replaces these edges (the broker's periodic save). */
store_rc store_edges_save(store_t *s, const edge_record_t *e, size_t n);
/* Every edge, by id; *out malloc'd. */
store_rc store_edges_list(store_t *s, edge_record_t **out, size_t *n);

/* ---- change windows (sqlite_windows.c) ---- */

/* Creates or replaces the window `name` (doc: its normalized JSON text). */
store_rc store_window_put(store_t *s, const char *name, const char *doc, int64_t now, const audit_event_t *ev);
/* STORE_NOT_FOUND when there is no such window. */
store_rc store_window_delete(store_t *s, const char *name, const audit_event_t *ev);
/* Every window's document (parsed), ordered by name, into a new array. */
store_rc store_window_list(store_t *s, json_t **out);

/* ---- the Token Status List (sqlite_status.c, docs/status_list.md) ---- */

/* *next: the first index never handed out, above every token's
 * status_idx and above the floor that store_prune keeps when it deletes
 * rows, so that a broker starting from it allocates no index twice.
 * *lowest: the lowest status_idx still stored (*next when none). */
store_rc store_status_span(store_t *s, int64_t *lowest, int64_t *next);
/* Moves on with every change that can turn an index INVALID or VALID
 * again: every such change writes a feed record (a revocation, an identity
 * or grant change; core/feed.h), so this is the newest feed record's seq.
 * The one exception is the clock passing a grant's ends_at, which only
 * concerns tokens that expire with it (their lifetime is capped to it). */
store_rc store_status_generation(store_t *s, int64_t *out);
/* Calls fn(ctx, idx), ascending, for every index in [first, first +
 * count) whose token is INVALID at now: revoked; its identity gone, not
 * active, or with a not_before after the token's iat; or issued under a
 * JIT grant that is not active at now. All or STORE_ERROR (then fn may
 * have been called for some). */
typedef void (*store_status_fn)(void *ctx, int64_t idx);
store_rc store_status_invalid(store_t *s, int64_t first, int64_t count, int64_t now, store_status_fn fn,
			      void *ctx);

/* ---- stored secrets (sqlite_secrets.c, core/secret.h, docs/secrets.md) ---- */

#define SECRET_WRAPPED_MAX 96 /* a wrapped data key: nonce || key || tag (72) */

/* A secret without its values. */
typedef struct {
	char name[129];             /* SECRET_MAX_NAME + 1 */
	char *metadata;             /* malloc'd normalized JSON text (core/secret.h) */
	uint8_t wrapped_key[SECRET_WRAPPED_MAX];
	size_t wrapped_len;
	char master_key_id[17];     /* the master key that wrapped it (core/secret_box.h) */
	int64_t current_version;    /* 0: none (every version failed or none yet) */
	int64_t max_version;        /* the highest version of any state */
	int64_t created_at, updated_at, last_rotated, next_due; /* next_due 0: never */
	bool deleted;
} secret_record_t;

/* One version of a secret (sealed is NULL in listings). */
typedef struct {
	int64_t version;
	char state[12];             /* current, previous, pending, retired, failed */
	int64_t created_at, retire_after; /* retire_after: previous versions, else 0 */
	uint8_t *sealed;            /* malloc'd nonce || ciphertext || tag */
	size_t sealed_len;
} secret_version_t;

/* A new value (or only new metadata) written by an operator
 * (store_secret_put). */
typedef struct {
	const char *name;
	const char *metadata;         /* normalized JSON text; NULL keeps the stored one */
	const uint8_t *wrapped_key;   /* create (and revive a deleted secret): the new data key */
	size_t wrapped_len;
	const char *master_key_id;
	int64_t version;              /* the version sealed: max_version + 1; 0 = metadata only */
	const uint8_t *sealed;
	size_t sealed_len;
	int64_t now;
	int64_t next_due;             /* from the metadata (secret_next_due), 0 never */
} secret_put_t;

void secret_record_release(secret_record_t *r);
void secret_versions_release(secret_version_t *v, size_t n);

/* Creates the secret or adds a version, in one transaction with ev:
 *   - no such secret: creates it (wrapped_key, metadata, p->version must
 *     be 1) with version 1 current;
 *   - a deleted secret: revives it with the new data key, its versions
 *     retired, p->version current;
 *   - a live secret with p->version > 0: p->version must be max_version + 1;
 *     it becomes current, the current version previous with retire_after =
 *     now (a manual change has no grace: rotation's promote has);
 *     last_rotated = now, next_due = p->next_due;
 *   - p->version == 0: only the metadata (and next_due) change.
 * STORE_CONFLICT when the version was taken meanwhile (re-read, seal again)
 * or a rotation holds a pending version (a put would race it);
 * STORE_NOT_FOUND for a metadata-only put of no live secret. */
store_rc store_secret_put(store_t *s, const secret_put_t *p, const audit_event_t *ev);
/* The secret (deleted too: check ->deleted). STORE_NOT_FOUND when absent. */
store_rc store_secret_get(store_t *s, const char *name, secret_record_t *out);
/* Live secrets ordered by name after the cursor (NULL: start), at most
 * limit; *out malloc'd (secret_record_release each, then free). */
store_rc store_secret_list(store_t *s, const char *after, int limit, secret_record_t **out, size_t *n);
/* A version with its sealed value; version 0: the current one.
 * STORE_NOT_FOUND when there is none (release with secret_versions_release(v, 1)). */
store_rc store_secret_version_get(store_t *s, const char *name, int64_t version, secret_version_t *out);
/* Every version, newest first, without values. */
store_rc store_secret_versions(store_t *s, const char *name, secret_version_t **out, size_t *n);
/* Soft delete: deleted = 1, unused wrap handles of the secret dropped.
 * STORE_NOT_FOUND when there is no live secret of this name. */
store_rc store_secret_delete(store_t *s, const char *name, int64_t now, const audit_event_t *ev);

/* -- for the rotation engine: each moves versions between states (core/secret.h)
 *    in one transaction with its audit record, or changes nothing -- */

/* Adds version (max_version + 1) in state pending, sealed by the caller
 * under the secret's data key. STORE_CONFLICT when a pending version exists
 * or the version was taken; STORE_NOT_FOUND for no live secret. */
store_rc store_secret_add_pending(store_t *s, const char *name, int64_t version, const uint8_t *sealed,
				  size_t sealed_len, int64_t now, const audit_event_t *ev);
/* Promotes the pending version to current; the current one (if any)
 * becomes previous with retire_after; last_rotated = now, next_due set.
 * STORE_CONFLICT when version is not the pending one. */
store_rc store_secret_promote(store_t *s, const char *name, int64_t version, int64_t now, int64_t retire_after,
			      int64_t next_due, const audit_event_t *ev);
/* previous -> retired (the old credential was revoked at the target).
 * STORE_CONFLICT when version is not previous. */
store_rc store_secret_retire(store_t *s, const char *name, int64_t version, int64_t now, const audit_event_t *ev);
/* pending -> failed (the rotation rolled back; current is untouched).
 * STORE_CONFLICT when version is not pending. */
store_rc store_secret_fail(store_t *s, const char *name, int64_t version, int64_t now, const audit_event_t *ev);
/* Moves next_due (a failed rotation's back-off) without a version change. */
store_rc store_secret_set_next_due(store_t *s, const char *name, int64_t next_due, const audit_event_t *ev);
/* Live secrets due at now (0 < next_due <= now), oldest due first, at most max. */
store_rc store_secret_due(store_t *s, int64_t now, int max, secret_record_t **out, size_t *n);
/* Previous versions whose retire_after has come (<= now): *names (malloc'd
 * strings, free each and the array) and *versions, at most max. */
store_rc store_secret_retire_due(store_t *s, int64_t now, int max, char ***names, int64_t **versions, size_t *n);

/* -- rekey -- */

/* Replaces the wrapped data key of a secret still wrapped under old_mkid
 * (STORE_CONFLICT when it no longer is: rewrapped already, or a put
 * revived it meanwhile). */
store_rc store_secret_rewrap(store_t *s, const char *name, const char *old_mkid, const uint8_t *wrapped,
			     size_t wrapped_len, const char *new_mkid, const audit_event_t *ev);
/* Names of the secrets (deleted too) whose data key is wrapped under
 * another master key than mkid, at most max (malloc'd strings). */
store_rc store_secret_not_wrapped_by(store_t *s, const char *mkid, int max, char ***names, size_t *n);

/* A new sealed form of a signing key (id: its kid) or an operator's TOTP
 * secret (id: the username). */
typedef struct {
	const char *id;
	const uint8_t *sealed;
	size_t sealed_len;
} master_resealed_t;
/* Replaces the sealed signing keys and TOTP secrets given, all in one
 * transaction with ev (sqlite_rekey.c); STORE_CONFLICT when one is gone. */
store_rc store_master_reseal(store_t *s, const master_resealed_t *keys, size_t n_keys, const master_resealed_t *totps,
			     size_t n_totps, const audit_event_t *ev);

/* -- one-time wrap handles (response wrapping) -- */

/* Stores a handle (hash: SHA-256 of its text) for (name, version) until
 * expires_at, with ev (secret.wrapped). */
store_rc store_secret_wrap_add(store_t *s, const uint8_t hash[32], const char *name, int64_t version, int64_t now,
			       int64_t expires_at, const audit_event_t *ev);
/* The handle's (name, version, expires_at, used_at), without using it.
 * STORE_NOT_FOUND when unknown. */
store_rc store_secret_wrap_get(store_t *s, const uint8_t hash[32], char name[129], int64_t *version,
			       int64_t *expires_at, int64_t *used_at);
/* Uses the handle once: used_at = now when it was unused and not expired,
 * with ev (secret.unwrapped). STORE_CONFLICT when used already or expired. */
store_rc store_secret_wrap_use(store_t *s, const uint8_t hash[32], int64_t now, const audit_event_t *ev);

/* ---- secret rotation (sqlite_rotation.c, core/rotation.h, docs/secrets.md) ---- */

/* A secret's rotation: its target document and the persisted state of the
 * rotation in progress (rotation_state of core/rotation.h, by phase name). */
typedef struct {
	char name[129];
	char *target;            /* malloc'd rotation target document (core/rotation_driver.h) */
	char phase[16];          /* rotation_phase_name() */
	int64_t failures, not_before, retire_after;
	int64_t new_version;     /* the pending (then current) version of this rotation, 0 none */
	int64_t old_version;     /* the version it replaces, 0 none */
	bool requested;          /* an operator asked for a rotation (POST .../rotate) */
	bool requested_now;      /* ... with now: no waiting for a back-off or the rotation window */
	char last_error[512];    /* the last failed step's reason, "" none */
	int64_t updated_at;
} rotation_record_t;

void rotation_record_release(rotation_record_t *r);
/* Sets the rotation target of a live secret (the state is kept), with ev.
 * STORE_NOT_FOUND when there is no live secret of this name. */
store_rc store_rotation_set_target(store_t *s, const char *name, const char *target, int64_t now,
				   const audit_event_t *ev);
/* STORE_NOT_FOUND when the secret has no rotation target. */
store_rc store_rotation_get(store_t *s, const char *name, rotation_record_t *out);
/* Writes r's state (phase .. last_error; not the target) with ev (may be
 * NULL). STORE_NOT_FOUND when the row is gone. */
store_rc store_rotation_save(store_t *s, const rotation_record_t *r, int64_t now, const audit_event_t *ev);
/* Asks for a rotation (requested), with ev; skip_backoff (requested_now)
 * also ends a failed step's back-off (not_before = 0) and does not wait for
 * the rotation window. STORE_NOT_FOUND when the secret has no rotation
 * target. */
store_rc store_rotation_request(store_t *s, const char *name, int64_t now, bool skip_backoff,
				const audit_event_t *ev);
/* Names of the live secrets with a rotation target whose rotation is in
 * progress, requested or due at now, at most max (malloc'd strings). */
store_rc store_rotation_active(store_t *s, int64_t now, int max, char ***names, size_t *n);
/* The rotation lease, by compare-and-set: taken (or renewed) by owner
 * until `until` when it is free, expired at now, or owner's already:
 * STORE_OK; STORE_CONFLICT when another owner holds it. */
store_rc store_rotation_lease(store_t *s, const char *owner, int64_t now, int64_t until);
/* Gives the lease up when owner holds it. */
store_rc store_rotation_lease_release(store_t *s, const char *owner);

/* Deletes what has expired: used jtis, revoked-token rows and token rows
 * past exp + keep_s, dropped signing keys. */
store_rc store_prune(store_t *s, int64_t now, int64_t keep_s);

/* ---- the posture report (sqlite_posture.c, docs/report.md) ---- */

/* Appends a snapshot of the report's shares (shares_json: the object
 * {name: share or null} as JSON text); source "report" or "daily". The
 * newest 1,000 snapshots of each source are kept. */
store_rc store_posture_snapshot_add(store_t *s, int64_t time, const char *source, const char *shares_json);
/* The newest `limit` snapshots at or after since, oldest first, into a
 * new array of {"time" (RFC 3339), "source", "shares"}. */
store_rc store_posture_history(store_t *s, int64_t since, int limit, json_t **out);
/* The time of the newest snapshot of source ("report" or "daily"), 0 when none. */
store_rc store_posture_last(store_t *s, const char *source, int64_t *time);
/* The static secrets that are not deleted, [{"name", "owner", "next_due"}]
 * (next_due 0: no rotation scheduled); STORE_NOT_FOUND when this store has
 * no secret store. */
store_rc store_posture_secrets(store_t *s, json_t **out);

#endif
