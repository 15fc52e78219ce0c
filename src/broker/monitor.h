/* monitor.h - the broker's behaviour monitor (docs/monitoring.md): a
 * thread that tails the audit chain from a persisted cursor, feeds what
 * identities did to the detectors (core/monitor.h), persists their
 * baselines, and raises each finding as an alert: a monitor.alert audit
 * record, a stored alert, the webhook (alerts.h) and metrics; then the
 * containment the configuration asks for (core/monitor_contain.h),
 * carried out through the store's ordinary writes so that every edge
 * learns of it from the revocation feed, or only recorded in dry_run.
 *
 * monitor.c: the thread, alerts, metrics. monitor_contain.c: suspending,
 * ending grants, revoking tokens, and reversing a suspension.
 * monitor_api.c: /v1/alerts. */
#ifndef TG_MONITOR_BROKER_H
#define TG_MONITOR_BROKER_H
#include "broker/broker.h"
#include "core/monitor_contain.h"

#define ALERT_ID_LEN 19 /* "al-" + 16 base64url characters */

/* Starts the thread when the monitor is on (cfg.monitor); 0, or -1 with
 * err (a bad monitor_* key, the store unavailable). */
int monitor_start(broker_t *b, char *err, size_t err_len);
/* Saves the baselines and the cursor and stops the thread (no-op when
 * it was not started). */
void monitor_stop(void);

/* /v1/alerts (monitor_api.c). */
void handle_alert_list(req_t *r);
void handle_alert_show(req_t *r);
void handle_alert_ack(req_t *r);
void handle_alert_release(req_t *r);

/* ---- shared by monitor*.c ---- */

bool alert_id_valid(const char *id);
/* Carries out actions (CONTAIN_*) against identity for alert_id at now;
 * returns {"suspend": "suspended", "end_grants": "2 revoked", ...}. */
json_t *monitor_contain(broker_t *b, const char *identity, unsigned actions, const char *alert_id, int64_t now);
/* Reactivates an identity the alert suspended. 0, 1 when it is not
 * suspended (nothing to reverse), -1 when the store failed. */
int monitor_reactivate(broker_t *b, const char *identity, const char *alert_id, const char *actor,
		       const char *src, const char *comment);

#endif
