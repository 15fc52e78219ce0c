/* edge_modbus.h - the edge's Modbus/TCP proxy (DESIGN.md §3.8,
 * docs/edge.md, Modbus/TCP proxy): one libuv loop thread serving every
 * `modbus` line's listener, its client connections and the one upstream
 * connection per device they share (transaction ids remapped). Decisions
 * and records are edge_modbus_decide.h's. */
#ifndef TG_EDGE_MODBUS_H
#define TG_EDGE_MODBUS_H
#include "edge/edge.h"
#include <stddef.h>

typedef struct edge_mb_proxy edge_mb_proxy_t;

/* Binds every modbus line's listener and starts the loop thread; NULL with
 * why on failure. With no modbus lines, returns a proxy that does nothing. */
edge_mb_proxy_t *edge_modbus_start(edge_t *e, char *why, size_t why_len);
/* Closes every connection and listener, joins the thread, frees. */
void edge_modbus_stop(edge_mb_proxy_t *p);

#endif
