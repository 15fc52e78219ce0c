/* store_monitor.h - what the behaviour monitor keeps in the store
 * (sqlite_monitor.c, docs/monitoring.md): baselines, alerts and the audit
 * seq it has read up to; and the live tokens of an identity, which
 * containment revokes one by one through store_token_revoke. */
#ifndef TG_STORE_MONITOR_H
#define TG_STORE_MONITOR_H
#include "store/store.h"

/* Every stored baseline document into a new array, and the cursor. */
store_rc store_monitor_load(store_t *s, json_t **baselines, int64_t *cursor);
/* In one transaction: the baselines docs (objects with "identity") and
 * the cursor. */
store_rc store_monitor_save(store_t *s, const json_t *docs, int64_t cursor, int64_t now);

typedef struct {
	const char *id, *identity, *detector, *severity, *state;
	int64_t created_at;
	const char *doc; /* the alert's JSON text */
} monitor_alert_row_t;

/* Adds an alert with its monitor.alert audit record (same transaction). */
store_rc store_monitor_alert_add(store_t *s, const monitor_alert_row_t *a, const audit_event_t *ev);
/* Replaces an alert's state and document when its stored document is
 * still expect_doc (compare-and-set: STORE_CONFLICT otherwise), with ev. */
store_rc store_monitor_alert_update(store_t *s, const char *id, const char *state, const char *doc,
				    const char *expect_doc, const audit_event_t *ev);
/* The alert's document (parsed). STORE_NOT_FOUND when there is none. */
store_rc store_monitor_alert_get(store_t *s, const char *id, json_t **doc);
/* Newest first, filtered (NULL = any), after the alert with id `after`
 * (NULL = from the newest), at most limit documents into a new array. */
store_rc store_monitor_alert_list(store_t *s, const char *state, const char *identity, const char *after,
				  int limit, json_t **out);
/* identity's tokens that are neither expired at now nor revoked, at
 * most limit, into a new array of {"jti", "exp"}. */
store_rc store_monitor_live_tokens(store_t *s, const char *identity, int64_t now, int limit, json_t **out);

#endif
