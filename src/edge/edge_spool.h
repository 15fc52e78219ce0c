/* edge_spool.h - the edge's audit records on their way to the broker's
 * chain (docs/edge.md, Audit). Every privileged decision and every deny
 * is appended to an append-only spool file in state_dir before the answer
 * goes out; a shipper thread sends the records in order, in batches of
 * audit_batch, to POST /v1/edges/audit, and the broker appends each to its
 * chain exactly once (it remembers the last edge sequence number it took
 * from this edge, so a batch sent twice after a lost answer is not
 * recorded twice). Records are never lost while the broker is down: the
 * spool keeps them (up to spool_max bytes; past that new privileged
 * decisions fail closed) across edge restarts. A crash of the process
 * loses nothing (each record is written before the answer goes out); a
 * power loss at most the last ~200 ms (fdatasync runs that often), and a
 * last line it cut short is cut off on open; a file damaged in the middle
 * is refused. A spool that starts over (state_dir lost) numbers its
 * records after what the broker already holds from this edge. */
#ifndef TG_EDGE_SPOOL_H
#define TG_EDGE_SPOOL_H
#include "core/audit.h"
#include <stddef.h>
#include <stdint.h>

struct edge;
typedef struct edge_spool edge_spool_t;

edge_spool_t *edge_spool_open(const char *dir, int64_t max_bytes, char *why, size_t why_len);
/* Appends one record for ev at the current time; -1 when the spool is
 * full or cannot be written (the caller denies: a privileged decision is
 * never made without its record). Thread-safe. */
int edge_spool_append(edge_spool_t *s, const audit_event_t *ev) __attribute__((warn_unused_result));
/* Starts the shipper (edge_client.h calls). */
int edge_spool_start(edge_spool_t *s, struct edge *e) __attribute__((warn_unused_result));
/* Stops the shipper (after one last attempt to ship) and closes. */
void edge_spool_close(edge_spool_t *s);
/* Records appended and not yet acknowledged by the broker. */
int64_t edge_spool_backlog(edge_spool_t *s);

#endif
