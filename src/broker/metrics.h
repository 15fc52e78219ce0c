/* metrics.h - Prometheus counters and a latency histogram, lock-free on the
 * request path (atomics), rendered as text exposition format 0.0.4. */
#ifndef TG_METRICS_H
#define TG_METRICS_H
#include <stddef.h>

/* Route names are the label values of tollgate_http_requests_total; the
 * router registers them at start-up. */
#define METRICS_MAX_ROUTES 32

int metrics_route(const char *name); /* returns an index, or -1 */
void metrics_request(int route, int status, double seconds);
void metrics_token_issued(void);
void metrics_auth_failure(const char *reason_class);
/* malloc'd exposition text. */
char *metrics_render(void);

#endif
