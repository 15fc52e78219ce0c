/* posture.h - the broker's side of the NHI hygiene report (docs/report.md):
 * GET /v1/reports/posture and the periodic snapshot of its shares. The
 * report itself is computed by core/posture.h from what this gathers. */
#ifndef TG_BROKER_POSTURE_H
#define TG_BROKER_POSTURE_H
#include "broker/broker.h"
#include <stdint.h>

/* GET /v1/reports/posture[?unused_days=N&format=json|text|html] */
void handle_report_posture(req_t *r);
/* From the maintenance loop: stores a "daily" snapshot when the last one
 * is posture_snapshot_interval old (0: never). */
void posture_snapshot_due(broker_t *b, int64_t now);

#endif
