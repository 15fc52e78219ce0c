/* audit.h - the tamper-evident audit chain (docs/audit.md), pure: building
 * records and their hashes, checkpoint messages and signatures, and the
 * streaming verifier that names the first record that does not fit.
 *
 * HOW THE CHAIN WORKS. Record n carries prev = hash of record n-1 (64 '0'
 * for the first record ever) and
 *     hash = hex(SHA-256(prev || canonical_json(record without "hash")))
 * so editing any field changes its hash, and deleting, inserting or
 * reordering records breaks the prev links. Rewriting the whole tail
 * consistently needs no key, so signed checkpoints pin the chain: a
 * checkpoint is Ed25519 (the dedicated audit key) over
 *     canonical_json({"hash": H, "seq": N, "time": T})
 * and says "record N had hash H". A verifier that trusts the audit public
 * key detects a rewritten chain at the first checkpoint it covers and a cut
 * tail whenever a checkpoint names a record that is not there. */
#ifndef TG_AUDIT_H
#define TG_AUDIT_H
#include "core/ed25519_key.h"
#include "core/limits.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define AUDIT_HASH_HEX 65 /* 64 hex digits + NUL */
#define AUDIT_TIME_LEN 28 /* "2026-11-28T14:37:17.123456Z" + NUL */
#define AUDIT_MAX_PENDING 16 /* checkpoints a verifier holds ahead of the records */
extern const char audit_genesis[AUDIT_HASH_HEX];

/* What happened; every pointer may be NULL (recorded as null). Secrets
 * never go here: tokens appear as jti and SHA-256 only. */
typedef struct {
	const char *type;     /* token.issued, auth.failed, identity.created, ... */
	const char *actor;    /* who did it: identity id, "admin", edge id */
	const char *action;
	const char *resource;
	const char *decision; /* allow, deny, or NULL */
	const char *jti;
	const char *grant;
	const char *src;      /* client address */
	const char *edge;
	const json_t *policies; /* array of policy ids, or NULL */
	const json_t *details;  /* object, or NULL */
} audit_event_t;

/* Microsecond RFC 3339 UTC time. */
void audit_time(int64_t unix_us, char out[AUDIT_TIME_LEN]);

/* An event serialized ahead of time (outside the store's writer thread):
 * the canonical record text minus the three members only the chain knows
 * (prev, seq, time), as the four fragments around them. */
typedef struct {
	char *head;  /* {"action":..,...,"policies":..,"prev":"   */
	char *mid;   /* ","resource":..,"seq":                    */
	char *tail1; /* ,"src":..,"time":"                        */
	char *tail2; /* ","type":..      (the closing brace follows) */
} audit_prepared_t;

int audit_prepare(const audit_event_t *ev, audit_prepared_t *p) __attribute__((warn_unused_result));
void audit_prepared_free(audit_prepared_t *p);
/* Completes a prepared event at seq/time after prev: returns the stored
 * record text (the canonical text with ,"hash":"..." added at the end) and
 * writes the hash. Cheap: concatenation and one SHA-256. */
char *audit_finish(const audit_prepared_t *p, int64_t seq, const char *time, const char *prev,
		   char hash_out[AUDIT_HASH_HEX]);

/* The record for event at seq and time, chained to prev, with its hash
 * member set; hash_out gets the same hash. NULL on out of memory. */
json_t *audit_record(const audit_event_t *ev, int64_t seq, const char *time, const char *prev,
		     char hash_out[AUDIT_HASH_HEX]);
/* Recomputes the hash of a record object (ignoring its own "hash" member). */
int audit_record_hash(const json_t *record, char out[AUDIT_HASH_HEX]) __attribute__((warn_unused_result));

/* A signed checkpoint {"seq","hash","time","kid","sig"} (sig base64url). */
json_t *audit_checkpoint(int64_t seq, const char *hash, const char *time, const char *kid,
			 const uint8_t sk[64]);

typedef struct {
	char kid[TG_MAX_KID_LEN + 1];
	uint8_t pk[ED25519_PK_LEN];
} audit_key_t;

typedef struct {
	const audit_key_t *keys;
	size_t n_keys;
	int64_t records, checkpoints;
	int64_t first_seq, last_seq;       /* 0 when no record yet */
	char last_hash[AUDIT_HASH_HEX];
	int64_t last_checkpoint_seq;       /* highest checkpoint seen */
	/* Checkpoints ahead of the records (a cut tail, or an export that
	 * lists them early), each checked when its record arrives. */
	size_t n_pending;
	struct {
		int64_t seq;
		char hash[AUDIT_HASH_HEX];
	} pending[AUDIT_MAX_PENDING];
	json_t *held;                      /* a record that came early: a gap or a swap */
	bool anchored;                     /* starts at seq 1 or at a checkpoint */
	int64_t error_seq;                 /* where verification failed */
	char error[300];
} audit_verifier_t;

/* A log that was pruned starts at a later record, which must carry a
 * signed checkpoint (retention prunes below one): its prev is taken as
 * given and the checkpoint anchors it. A log that starts anywhere else is
 * missing its beginning. */
void audit_verify_init(audit_verifier_t *v, const audit_key_t *keys, size_t n_keys);
/* Feed records and checkpoints in seq order, a checkpoint right after the
 * record it names. Each returns 0, or -1 with v->error and v->error_seq. */
int audit_verify_record(audit_verifier_t *v, const json_t *record) __attribute__((warn_unused_result));
int audit_verify_checkpoint(audit_verifier_t *v, const json_t *cp) __attribute__((warn_unused_result));
/* Detects a tail cut below a checkpoint and a gap at the end; releases
 * what the verifier holds (call it even after an error). */
int audit_verify_finish(audit_verifier_t *v) __attribute__((warn_unused_result));

#endif
