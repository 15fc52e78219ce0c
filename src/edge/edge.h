/* edge.h - the edge agent (`tollgate edge run`, docs/edge.md): its
 * configuration, its key, the synced state, the caches, the audit spool
 * and the threads that keep them. The edge links core only: it talks to
 * the broker over HTTP (edge_client.h) and never reaches its store. */
#ifndef TG_EDGE_H
#define TG_EDGE_H
#include "core/client_jwt.h"
#include "core/edge_config.h"
#include "core/fwd_request.h"
#include "edge/edge_cache.h"
#include "edge/edge_state.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct edge_spool;
struct edge_metrics;
struct edge_sessions;
struct edge_secrets;

/* An injected header's value, read from its file at start (inject=...:file:...;
 * secret sources live in edge_secrets.h). */
typedef struct {
	char *value;
} edge_secret_t;

typedef struct edge {
	tg_edge_config_t cfg;
	client_key_t key;
	char issuer[TG_CFG_STR];      /* what tokens' iss must be */
	char self_url[TG_CFG_STR + 16]; /* http://listen: told to the broker (--verify probes it) */
	fwd_proxies_t trusted;
	edge_secret_t *inject;        /* per route, per inject: cfg.routes[i].inject[j] at i*TG_EDGE_MAX_INJECTS+j */
	edge_state_t *state;
	edge_cache_t *cache;          /* verified tokens (edge_cache.h) */
	edge_replay_t *replay;        /* DPoP proofs seen */
	struct edge_spool *spool;     /* audit records waiting for the broker (edge_spool.h) */
	struct edge_secrets *secrets;   /* the injected secrets' values (edge_secrets.h) */
	struct edge_sessions *sessions; /* live Modbus sessions and kills (edge_sessions.h); NULL without modbus lines */
	atomic_int_fast64_t last_sync_ms; /* last good answer from the broker; 0 never */
	atomic_bool stopping;
	pthread_t sync_thread;
	bool sync_running;
} edge_t;

/* True when the broker has not answered for longer than max_stale. */
bool edge_stale(edge_t *e, int64_t now_ms);
int64_t edge_now_ms(void);

#endif
