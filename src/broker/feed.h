/* feed.h - the revocation feed the edges long-poll, the edges' registry
 * with what each acknowledged, and the wait for a revocation to be
 * enforced everywhere (docs/edge.md).
 *
 * The feed is the audit chain filtered to the feed types (core/feed.h).
 * The store's commit hook tells this module the seq of every durable feed
 * record; held polls whose position is behind it are resumed and answered
 * from the store. A held poll is a suspended connection, not a thread, so
 * a broker holds thousands of edges with its few worker threads.
 *
 *   GET /v1/feed?since=SEQ&wait=S&addr=URL&version=V   (edges)
 *       since 0, or behind what retention kept: a snapshot
 *       ({"snapshot": true, "seq": head, "entries": [...]}); else the
 *       entries after since, held up to wait seconds while there are none.
 *       Acknowledges since for the calling edge.
 *   GET /v1/edges                                        (operators)
 *   GET /v1/feed/enforced?seq=N&wait=S                   (operators, workloads)
 *       whether every live edge acknowledged N (default: the newest feed
 *       entry), held up to wait seconds until they have; names the edges
 *       and each one's propagation time. */
#ifndef TG_BROKER_FEED_H
#define TG_BROKER_FEED_H
#include "broker/broker.h"

/* Loads the edges from the store, hooks the store's commits and starts
 * the thread that resumes held polls and saves the edges. */
int feed_start(broker_t *b) __attribute__((warn_unused_result));
/* Answers every held request at once (the daemon cannot stop with
 * suspended connections); new polls are answered without holding. */
void feed_release(void);
/* Stops the thread and saves the edges; after the daemon stopped. */
void feed_stop(void);

/* Whether edge id polled within edge_timeout (the edges' registry). */
bool feed_edge_live(const char *id, int64_t now_ms);

void handle_feed(req_t *r);
void handle_feed_enforced(req_t *r);
void handle_edges_list(req_t *r);

#endif
