/* modbus_options.h - the options of a `modbus` line of the edge's
 * configuration (core/edge_config.h keeps them raw; docs/edge.md, Modbus/TCP
 * proxy): what each key means, its bounds and its default. Pure. */
#ifndef TG_MODBUS_OPTIONS_H
#define TG_MODBUS_OPTIONS_H
#include "core/edge_config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the proxy does while the edge is stale (no broker answer for longer
 * than max_stale). */
typedef enum {
	MB_STALE_READS = 0, /* refuse writes, diagnostics and programs; keep reads */
	MB_STALE_CLOSED,    /* refuse every request and every new connection */
	MB_STALE_OPEN,      /* decide on the last state as if fresh */
} mb_stale_mode_t;

typedef struct {
	bool unit_allowed[256];      /* units=1,2: those only; default every unit id */
	int max_conn;                /* client connections at once (1..4096, 16) */
	int max_outstanding;         /* requests in flight per connection (1..64, 8) */
	int64_t idle_timeout_ms;     /* idle_timeout seconds (1..86400, 60) */
	int64_t upstream_timeout_ms; /* upstream_timeout ms (10..60000, 2000) */
	int rate;                    /* requests per second per connection (0..100000, 0: unlimited) */
	mb_stale_mode_t stale;       /* stale=reads|closed|open */
	bool reads_full;             /* reads=full: a record per allowed read; minute: one per connection and minute */
} mb_options_t;

/* Reads the line's options into *o (defaults for those not given); -1 with
 * a sentence in why naming the key for an unknown key or a bad value. */
int mb_options_parse(const edge_modbus_t *m, mb_options_t *o, char *why, size_t why_len)
	__attribute__((warn_unused_result));

#endif
