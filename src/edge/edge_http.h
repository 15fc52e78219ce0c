/* edge_http.h - the edge's listener: GET /auth (forward-auth, any method:
 * proxies send the original one), GET /healthz (200, or 503 while stale)
 * and GET /metrics (Prometheus text). */
#ifndef TG_EDGE_HTTP_H
#define TG_EDGE_HTTP_H
#include "edge/edge.h"
#include <sys/socket.h>

struct MHD_Daemon;
struct MHD_Daemon *edge_http_start(edge_t *e, const struct sockaddr *addr, char *why, size_t why_len);
void edge_http_stop(struct MHD_Daemon *d);

#endif
