/* edge_sync.c - the thread that keeps the edge's state current
 * (edge_sync.h): long polls on the broker's feed, applies what comes,
 * refetches the documents entries name, and marks the edge fresh after
 * each answer it could apply completely. */
#include "edge/edge_sync.h"
#include "edge/edge_client.h"
#include "edge/edge_secrets.h"
#include "edge/edge_sessions.h"
#include "shell/log.h"
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

int64_t edge_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool edge_stale(edge_t *e, int64_t now_ms)
{
	int64_t last = atomic_load(&e->last_sync_ms);
	return last == 0 || now_ms - last > e->cfg.max_stale * 1000;
}

/* Sleeps ms unless the edge is stopping. */
static void pause_ms(edge_t *e, int64_t ms)
{
	for (int64_t slept = 0; slept < ms && !atomic_load(&e->stopping); slept += 50) {
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
}

typedef int (*install_fn)(edge_state_t *, const char *, size_t, const char *, char *, size_t);

/* Fetches one document and installs it; 0 on success. */
static int refetch_one(edge_t *e, const char *what, const char *path, bool public, install_fn install)
{
	edge_resp_t r;
	char why[300];
	int rc = public ? edge_broker_get_public(e, path, 30, &r, why, sizeof why)
			: edge_broker_call(e, "GET", path, NULL, NULL, 0, 30, &r, why, sizeof why);
	if (rc == 0 && r.status != 200) {
		snprintf(why, sizeof why, "HTTP %ld", r.status);
		rc = -1;
	}
	if (rc == 0)
		rc = install(e->state, r.body, r.len, e->cfg.state_dir, why, sizeof why);
	if (rc != 0)
		log_event(LOG_WARN, "could not refresh a document from the broker; keeping the last good one", "document",
			  what, "reason", why, NULL);
	edge_resp_free(&r);
	return rc;
}

static int refetch(edge_t *e, unsigned what)
{
	int rc = 0;
	if (what & EDGE_REFETCH_JWKS)
		rc |= refetch_one(e, "jwks", "/.well-known/jwks.json", true, edge_state_set_jwks);
	if (what & EDGE_REFETCH_POLICY)
		rc |= refetch_one(e, "policy", "/v1/policies", false, edge_state_set_policy);
	if (what & EDGE_REFETCH_ENTITIES)
		rc |= refetch_one(e, "entities", "/v1/entities?effective=true", false, edge_state_set_entities);
	return rc;
}

/* The operators' kills of this edge's Modbus sessions go to the proxy
 * (other edges' and unknown sessions are ignored). */
static void pass_kills(edge_t *e, const feed_batch_t *b)
{
	for (size_t i = 0; i < b->n; i++) {
		const feed_entry_t *k = &b->entries[i];
		if (k->kind != FEED_SESSION_KILL || strcmp(k->sub, e->cfg.identity) != 0)
			continue;
		if (edge_sessions_kill(e->sessions, k->id, k->reason))
			log_event(LOG_INFO, "modbus: an operator kills a session", "session", k->id, NULL);
	}
}

/* Changes of secrets go to the injected secrets' table (it ignores the
 * names no route injects). */
static void pass_secret_changes(edge_t *e, const feed_batch_t *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->entries[i].kind == FEED_SECRET)
			edge_secrets_changed(e->secrets, b->entries[i].id, b->entries[i].state);
}

/* One poll: 0 when the answer was applied completely. *since is where the
 * next poll starts (0: a snapshot). */
static int poll_once(edge_t *e, int64_t *since)
{
	char path[TG_MAX_URI + TG_CFG_STR], why[300];
	char *addr = curl_easy_escape(NULL, e->self_url, 0);
	edge_resp_t r;
	feed_batch_t b;
	unsigned what = 0;
	/* a snapshot is asked without waiting; changes are waited for */
	snprintf(path, sizeof path, "/v1/feed?since=%lld&wait=%lld&addr=%s&version=%s", (long long)*since,
		 (long long)(*since > 0 ? e->cfg.poll_wait : 0), addr ? addr : "", TOLLGATE_EDGE_VERSION);
	curl_free(addr);
	if (edge_broker_call(e, "GET", path, NULL, NULL, 0, (long)e->cfg.poll_wait + 15, &r, why, sizeof why) != 0) {
		log_event(LOG_WARN, "the broker's feed did not answer", "reason", why, NULL);
		return -1;
	}
	int rc = -1;
	if (r.status != 200) {
		snprintf(why, sizeof why, "HTTP %ld: %.200s", r.status, r.body);
		log_event(LOG_WARN, "the broker refused the feed poll", "reason", why, NULL);
	} else if (feed_batch_parse(r.body, r.len, *since, &b, why, sizeof why) != 0) {
		log_event(LOG_ERROR, "the feed answer does not check out; keeping the last good state", "reason", why,
			  NULL);
		if (strstr(why, "behind") != NULL) /* the broker's chain is behind us: start again */
			*since = 0;
	} else {
		int64_t now = (int64_t)time(NULL);
		if (edge_state_apply(e->state, &b, now, e->cfg.state_dir, &what) != 0)
			log_event(LOG_ERROR, "cannot write state.json in state_dir; the state is applied in memory only",
				  NULL);
		int64_t next = b.seq;
		pass_kills(e, &b);
		pass_secret_changes(e, &b);
		feed_batch_free(&b);
		/* the next poll acknowledges only what the edge has whole: a
		 * document that could not be fetched is asked for again */
		if ((rc = refetch(e, what)) == 0)
			*since = next;
	}
	edge_resp_free(&r);
	return rc;
}

static void *sync_main(void *arg)
{
	edge_t *e = arg;
	int64_t backoff = BACKOFF_MIN_MS;
	int64_t since = edge_state_seq(e->state);
	pthread_setname_np(pthread_self(), "tg-edge-sync");
	while (!atomic_load(&e->stopping)) {
		if (poll_once(e, &since) == 0) {
			if (edge_stale(e, edge_now_ms()))
				log_event(LOG_INFO, "the edge is in sync with the broker", NULL);
			atomic_store(&e->last_sync_ms, edge_now_ms());
			backoff = BACKOFF_MIN_MS;
			continue;
		}
		pause_ms(e, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int edge_sync_start(edge_t *e)
{
	if (pthread_create(&e->sync_thread, NULL, sync_main, e) != 0)
		return -1;
	e->sync_running = true;
	return 0;
}

void edge_sync_stop(edge_t *e)
{
	if (!e->sync_running)
		return;
	atomic_store(&e->stopping, true);
	pthread_join(e->sync_thread, NULL);
	e->sync_running = false;
}
