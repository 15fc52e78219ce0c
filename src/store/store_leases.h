/* store_leases.h - dynamic database credentials in the store
 * (sqlite_leases.c, docs/secrets.md "Dynamic database credentials"): the
 * dynamic role definitions (one JSON document per name, core/sql_template.h)
 * and the leases, one row per role Tollgate created, so that a broker that
 * restarts still revokes every role when its lease ends.
 *
 * A lease is active until it ends (its TTL, its grant ended, its token
 * revoked, its identity suspended or offboarded, or an operator's revoke);
 * then revoking until the role is gone at the target; revoked. A
 * revocation that fails makes it failed: retried after not_before, shown,
 * never dropped. */
#ifndef TG_STORE_LEASES_H
#define TG_STORE_LEASES_H
#include "store/store.h"

#define LEASE_ID_MAX 48
#define LEASE_ERROR_MAX 300

typedef struct {
	char id[LEASE_ID_MAX + 1];
	char name[129];      /* the dynamic secret */
	char role[64];       /* the generated role */
	char identity[129];
	char jti[129];
	char grant[129];     /* "" when the token carried none */
	char state[12];      /* active, revoking, revoked, failed */
	char reason[32];     /* why it ended: ttl, grant, token, identity, operator, creation */
	char last_error[LEASE_ERROR_MAX + 1];
	int64_t created_at, expires_at, ended_at, not_before, attempts;
} lease_record_t;

/* Stores (creates or replaces) the dynamic role definition of name, with ev. */
store_rc store_dynamic_put(store_t *s, const char *name, const char *doc, int64_t now, const audit_event_t *ev);
/* The definition's document text (malloc'd). STORE_NOT_FOUND when none. */
store_rc store_dynamic_get(store_t *s, const char *name, char **doc);

/* Adds an active lease (l->state ignored), with ev (secret.lease.created). */
store_rc store_lease_add(store_t *s, const lease_record_t *l, const audit_event_t *ev);
store_rc store_lease_get(store_t *s, const char *id, lease_record_t *out);
/* Leases by id after `after` (NULL: from the start), filtered by state and
 * secret name (NULL: any), at most limit; *out malloc'd. */
store_rc store_lease_list(store_t *s, const char *state, const char *name, const char *after, int limit,
			  lease_record_t **out, size_t *n);
/* Ends a lease now (active or failed -> revoking, retried at once) for
 * reason, with ev. STORE_NOT_FOUND: no such lease; STORE_CONFLICT: it is
 * revoked already. */
store_rc store_lease_end(store_t *s, const char *id, const char *reason, int64_t now, const audit_event_t *ev);
/* Every active lease whose end has come moves to revoking, with its
 * reason: its TTL passed, its grant is no longer active, its token was
 * revoked, its identity is not active (or revoked every token it had).
 * *changed: how many. */
store_rc store_lease_end_due(store_t *s, int64_t now, int *changed);
/* Leases to revoke now (revoking, or failed with not_before <= now),
 * grouped by secret name, at most max; *out malloc'd. */
store_rc store_lease_pending(store_t *s, int64_t now, int max, lease_record_t **out, size_t *n);
/* In one transaction with ev: each of ids -> revoked at now. */
store_rc store_lease_revoked(store_t *s, const char *const *ids, size_t n, int64_t now, const audit_event_t *ev);
/* One lease's revocation failed: failed, attempts + 1, retried at
 * not_before, with why (no credential in it) and ev. */
store_rc store_lease_failed(store_t *s, const char *id, int64_t now, int64_t not_before, const char *why,
			    const audit_event_t *ev);

#endif
