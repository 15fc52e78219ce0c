/* auth_throttle.h - throttling and tallying failed authentications, pure
 * (no clock, no I/O, no locking: the caller passes the time in
 * milliseconds and serializes calls).
 *
 * One bounded table holds an entry per source address ("src") and per
 * (source address, claimed client_id). Each entry counts failures in a
 * fixed window; reaching the limit (client_limit for a (src, client) entry,
 * source_limit for a src entry) blocks the entry for block_ms, doubling
 * with every block ("strike") up to block_max_ms, until the entry has been
 * quiet for a whole window after its block (fail2ban's bantime.increment).
 *
 * Recording: a failure of a key that has never been blocked, or has cooled
 * down, is handed back at once as a tally of one (its own audit record).
 * Once a key is hot (it or its source has a strike), its failures and the
 * attempts refused while it is blocked are added to the entry's pending
 * tally, which throttle_drain() hands back at most once per flush_ms per
 * entry (one record standing for details.count failures). The table never
 * forgets a pending failure: an entry evicted to make room hands its tally
 * back first, and throttle_drain(all) empties every tally at shutdown. */
#ifndef TG_AUTH_THROTTLE_H
#define TG_AUTH_THROTTLE_H
#include "core/limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define THROTTLE_SRC_LEN 64         /* an IPv4/IPv6 address as text */
#define THROTTLE_METHOD_LEN 24      /* client_assertion, mtls, admin_token, other */
#define THROTTLE_PATH_LEN 96        /* longer paths are cut */
#define THROTTLE_REASON_LEN 96      /* longer reasons are cut */
#define THROTTLE_MAX_REASONS 4      /* distinct reasons per tally; more count as "other reasons" */
#define THROTTLE_REASON_THROTTLED "throttled"
#define THROTTLE_REASON_OTHER "other reasons"

typedef struct {
	int64_t client_limit;   /* failures per window from one source for one client_id */
	int64_t source_limit;   /* failures per window from one source, all client_ids */
	int64_t window_ms;
	int64_t block_ms;       /* first block; doubles per strike */
	int64_t block_max_ms;
	int64_t flush_ms;       /* one aggregated tally per entry at most this often */
	size_t capacity;        /* entries */
} throttle_cfg_t;

/* One authentication attempt: every string may be NULL except src (empty
 * for an unknown address). Strings longer than their field are cut. */
typedef struct {
	const char *src;
	const char *client;     /* the client_id claimed, NULL when none */
	const char *method;     /* how it tried to authenticate */
	const char *path;
	const char *reason;     /* why it failed */
} throttle_attempt_t;

/* Failures that belong in one audit record. */
typedef struct {
	char src[THROTTLE_SRC_LEN];
	char client[TG_MAX_ID_LEN + 1];
	bool has_client;
	char method[THROTTLE_METHOD_LEN]; /* of the first failure */
	char path[THROTTLE_PATH_LEN];     /* of the first failure */
	int64_t count;                    /* the sum of the reasons' counts */
	int64_t first_ms, last_ms;
	size_t n_reasons;
	struct {
		char text[THROTTLE_REASON_LEN];
		int64_t count;
	} reasons[THROTTLE_MAX_REASONS];
} throttle_tally_t;

/* What one throttle_fail() hands back to record now: tallies of evicted
 * entries and, unless the key is hot, the failure itself. */
#define THROTTLE_MAX_OUT 3
typedef struct {
	size_t n;
	throttle_tally_t tally[THROTTLE_MAX_OUT];
	bool aggregated;         /* the failure went into a pending tally */
	int64_t blocked_ms;      /* > 0: this failure started a block that long */
	bool blocked_source;     /* ... of the whole source (else of src+client) */
} throttle_out_t;

typedef struct throttle throttle_t;

/* NULL on out of memory or a config with a zero limit, window or capacity. */
throttle_t *throttle_new(const throttle_cfg_t *cfg);
void throttle_free(throttle_t *t);

/* Before authenticating a: 0 to go ahead, else the milliseconds until the
 * block of its source or of (source, client) ends. A refused attempt is
 * added to the blocked entry's pending tally with reason "throttled" (its
 * method and path); its own reason is ignored. Never allocates an entry. */
int64_t throttle_admit(throttle_t *t, const throttle_attempt_t *a, int64_t now_ms);
/* A failed authentication: counts it towards the limits of its source and
 * of (source, client) and records it (see above) into out. */
void throttle_fail(throttle_t *t, const throttle_attempt_t *a, int64_t now_ms, throttle_out_t *out);
/* Hands back up to max pending tallies: those due (flush_ms since the
 * entry's last one), or every one when all is set; also frees entries
 * that are quiet, unblocked and cooled down. Returns how many it wrote;
 * call again until it returns less than max. */
size_t throttle_drain(throttle_t *t, int64_t now_ms, bool all, throttle_tally_t *out, size_t max);
/* The tally of a alone at now (what throttle_fail hands back for a
 * failure of a key that is not hot). */
void throttle_tally_one(const throttle_attempt_t *a, int64_t now_ms, throttle_tally_t *out);
/* Entries in use (for tests and the metrics gauge). */
size_t throttle_entries(const throttle_t *t);

#endif
