/* metrics.h - Prometheus counters and a latency histogram, lock-free on the
 * request path (atomics), rendered as text exposition format 0.0.4. */
#ifndef TG_METRICS_H
#define TG_METRICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Route names are the label values of tollgate_http_requests_total; the
 * router registers them at start-up. */
#define METRICS_MAX_ROUTES 128

int metrics_route(const char *name); /* returns an index, or -1 */
void metrics_request(int route, int status, double seconds);
void metrics_token_issued(void);
void metrics_auth_failure(const char *reason_class);
/* An authentication attempt refused with 429 before it was checked. */
void metrics_auth_throttled(void);
/* An auth.failed audit record written: for one failure, or aggregated. */
void metrics_auth_failure_record(bool aggregated);
/* Entries in the failed-authentication table (gauge). */
void metrics_auth_throttle_entries(size_t n);
/* One Cedar decision (issuance scope checks and /v1/authorize). */
void metrics_policy_decision(bool allow);
/* The versions of the installed policy set and entity set (gauges). */
void metrics_policy_versions(int64_t policy_version, int64_t entities_version);
/* Another part's metrics (the monitor's): render returns its exposition
 * text (malloc'd), appended to the broker's own. At most 4 sections;
 * adding one twice keeps one. */
void metrics_add_section(char *(*render)(void));
/* malloc'd exposition text. */
char *metrics_render(void);

#endif
