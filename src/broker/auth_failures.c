/* auth_failures.c - the broker side of failed authentications
 * (auth_failures.h): the process's throttle table behind a mutex, the 429
 * answer (at once, or after holding the suspended connection), the
 * auth.failed audit records (written outside the lock) and the flusher
 * thread that resumes held connections every HOLD_TICK_MS, writes the
 * aggregated records every auth_failure_flush_interval and everything
 * pending at shutdown. */
#include "broker/auth_failures.h"
#include "broker/broker.h"
#include "shell/log.h"
#include "broker/metrics.h"
#include "core/audit.h"
#include "core/auth_throttle.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define DRAIN_BATCH 64
#define HOLD_TICK_MS 100
#define HOLD_MAX 4096 /* held connections at most; beyond, 429 at once */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static throttle_t *table;   /* NULL: not started (failures are recorded one by one) */
/* Failed operator logins per username from any address (POST /v1/login):
 * its entries are (no source, username) and only throttle; the records are
 * table's (its tallies are dropped). NULL when not started. */
static throttle_t *users;
static broker_t *broker;
static pthread_t flusher;
static bool flusher_running, stopping;
/* Held requests: their suspended connections and when to resume them. */
static struct {
	struct MHD_Connection *conn;
	int64_t until_ms;
} held[HOLD_MAX];
static size_t n_held;
static bool holding;        /* new holds allowed (started, not released) */
static int64_t hold_ms;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- records ---- */

static json_t *reasons_object(const throttle_tally_t *t)
{
	json_t *o = json_object();
	for (size_t i = 0; i < t->n_reasons; i++)
		json_object_set_new(o, t->reasons[i].text, json_integer(t->reasons[i].count));
	return o;
}

/* One auth.failed record for t: a single failure keeps the shape
 * {"reason", "count": 1}; an aggregate says how many, why, and when. */
static void write_record(broker_t *b, const throttle_tally_t *t, bool aggregated)
{
	char first[AUDIT_TIME_LEN], last[AUDIT_TIME_LEN];
	json_t *details;
	if (aggregated) {
		audit_time(t->first_ms * 1000, first);
		audit_time(t->last_ms * 1000, last);
		details = json_pack("{s:I, s:o, s:s, s:s}", "count", (json_int_t)t->count, "reasons",
				    reasons_object(t), "first", first, "last", last);
	} else {
		details = json_pack("{s:s, s:I}", "reason", t->reasons[0].text, "count", (json_int_t)t->count);
	}
	audit_event_t ev = {.type = "auth.failed", .actor = t->has_client ? t->client : NULL,
			    .action = t->method, .resource = t->path[0] ? t->path : NULL, .decision = "deny",
			    .src = t->src[0] ? t->src : NULL, .details = details};
	if (store_audit_append(b->store, &ev) != STORE_OK)
		broker_store_failed(b, "auth.failed");
	json_decref(details);
	metrics_auth_failure_record(aggregated);
	if (aggregated) {
		char count[24];
		snprintf(count, sizeof count, "%lld", (long long)t->count);
		log_event(LOG_WARN, "failed authentications recorded together", "count", count, "src", t->src,
			  "client_id", t->has_client ? t->client : NULL, NULL);
	}
}

/* ---- the flusher ---- */

/* Writes what throttle_drain hands back, the lock released while writing.
 * Called with mu held; returns with it held. */
static void drain_locked(bool all)
{
	static throttle_tally_t batch[DRAIN_BATCH]; /* only the flusher and stop drain, never together */
	size_t n;
	do {
		n = throttle_drain(table, now_ms(), all, batch, DRAIN_BATCH);
		metrics_auth_throttle_entries(throttle_entries(table));
		pthread_mutex_unlock(&mu);
		for (size_t i = 0; i < n; i++)
			write_record(broker, &batch[i], true);
		pthread_mutex_lock(&mu);
	} while (n == DRAIN_BATCH);
}

/* Resumes the held connections due at now (all with all); their handlers
 * run again and answer. Called with mu held; returns with it held. */
static void resume_locked(int64_t now, bool all)
{
	struct MHD_Connection *due[HOLD_MAX];
	size_t n = 0, keep = 0;
	for (size_t i = 0; i < n_held; i++) {
		if (all || held[i].until_ms <= now)
			due[n++] = held[i].conn;
		else
			held[keep++] = held[i];
	}
	n_held = keep;
	pthread_mutex_unlock(&mu);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(due[i]);
	pthread_mutex_lock(&mu);
}

static void *flush_loop(void *arg)
{
	int64_t interval_ms = *(const int64_t *)arg * 1000, last_drain = now_ms();
	pthread_mutex_lock(&mu);
	while (!stopping) {
		int64_t until = now_ms() + HOLD_TICK_MS;
		struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000};
		pthread_cond_timedwait(&wake, &mu, &ts);
		if (stopping)
			break;
		resume_locked(now_ms(), false);
		if (now_ms() - last_drain >= interval_ms) {
			drain_locked(false);
			last_drain = now_ms();
		}
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

int auth_failures_start(broker_t *b)
{
	const tg_config_t *c = &b->cfg;
	throttle_cfg_t tc = {.client_limit = c->auth_throttle_client_failures,
			     .source_limit = c->auth_throttle_source_failures,
			     .window_ms = c->auth_throttle_window * 1000, .block_ms = c->auth_throttle_block * 1000,
			     .block_max_ms = c->auth_throttle_block_max * 1000,
			     .flush_ms = c->auth_failure_flush_interval * 1000,
			     .capacity = (size_t)c->auth_throttle_table};
	throttle_t *t = throttle_new(&tc);
	throttle_cfg_t uc = tc;
	uc.client_limit = c->auth_throttle_user_failures;
	uc.source_limit = INT64_MAX / 4; /* the no-source entry counts every user: never blocks */
	throttle_t *u = t != NULL ? throttle_new(&uc) : NULL;
	if (u == NULL) {
		if (t != NULL)
			throttle_free(t);
		t = NULL;
	}
	if (t == NULL) {
		log_event(LOG_ERROR, "cannot create the failed-authentication table", NULL);
		return -1;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_mutex_lock(&mu);
	table = t;
	users = u;
	broker = b;
	stopping = false;
	hold_ms = c->auth_throttle_hold * 1000;
	holding = hold_ms > 0;
	/* The flusher takes no signals: SIGTERM is for the main thread. */
	pthread_sigmask(SIG_SETMASK, &all, &old);
	flusher_running = pthread_create(&flusher, NULL, flush_loop, &b->cfg.auth_failure_flush_interval) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_unlock(&mu);
	if (!flusher_running) {
		auth_failures_stop();
		log_event(LOG_ERROR, "cannot start the failed-authentication flusher", NULL);
		return -1;
	}
	return 0;
}

void auth_failures_release(void)
{
	pthread_mutex_lock(&mu);
	holding = false;
	resume_locked(0, true);
	pthread_mutex_unlock(&mu);
}

void auth_failures_stop(void)
{
	auth_failures_release();
	pthread_mutex_lock(&mu);
	stopping = true;
	pthread_cond_signal(&wake);
	bool join = flusher_running;
	flusher_running = false;
	pthread_mutex_unlock(&mu);
	if (join)
		pthread_join(flusher, NULL);
	pthread_mutex_lock(&mu);
	if (table != NULL) {
		drain_locked(true);
		throttle_free(table);
		table = NULL;
	}
	if (users != NULL) {
		throttle_free(users);
		users = NULL;
	}
	pthread_mutex_unlock(&mu);
}

/* ---- the request path ---- */

static throttle_attempt_t attempt(const req_t *r, const char *method, const char *client, const char *why)
{
	throttle_attempt_t a = {r->client_ip, client, method, r->path, why};
	return a;
}

static void answer_throttled(req_t *r)
{
	char msg[160];
	snprintf(msg, sizeof msg, "too many failed authentications from this address; retry after %lld s",
		 (long long)r->retry_after);
	if (strncmp(r->path, "/oauth/", 7) == 0)
		http_oauth_error(r, 429, "temporarily_unavailable", msg);
	else
		http_problem(r, 429, NULL, msg);
}

/* Suspends r's connection until min(wait, hold_ms) from now; false when
 * holding is off, released, or full. */
static bool hold(req_t *r, int64_t wait_ms)
{
	bool ok = false;
	pthread_mutex_lock(&mu);
	if (holding && n_held < HOLD_MAX) {
		MHD_suspend_connection(r->conn);
		held[n_held].conn = r->conn;
		held[n_held++].until_ms = now_ms() + (wait_ms < hold_ms ? wait_ms : hold_ms);
		r->held = r->paced = true;
		ok = true;
	}
	pthread_mutex_unlock(&mu);
	return ok;
}

bool auth_throttled(req_t *r, const char *method, const char *client)
{
	int64_t wait_ms = 0;
	if (r->paced) { /* resumed after its hold: counted then, answered now */
		answer_throttled(r);
		return true;
	}
	throttle_attempt_t a = attempt(r, method, client, NULL);
	throttle_attempt_t u = {"", client, method, r->path, NULL};
	pthread_mutex_lock(&mu);
	if (table != NULL)
		wait_ms = throttle_admit(table, &a, now_ms());
	if (wait_ms == 0 && users != NULL && client != NULL && strcmp(method, "login") == 0)
		wait_ms = throttle_admit(users, &u, now_ms());
	pthread_mutex_unlock(&mu);
	if (wait_ms == 0)
		return false;
	metrics_auth_throttled();
	r->retry_after = (wait_ms + 999) / 1000;
	if (!hold(r, wait_ms))
		answer_throttled(r);
	return true;
}

static void log_block(const req_t *r, const char *client, const throttle_out_t *out)
{
	char secs[24];
	snprintf(secs, sizeof secs, "%lld", (long long)((out->blocked_ms + 999) / 1000));
	log_event(LOG_WARN, "too many failed authentications: throttling", "src", r->client_ip, "client_id",
		  out->blocked_source ? NULL : client, "seconds", secs, NULL);
}

void auth_failed(req_t *r, const char *method, const char *client, const char *why)
{
	throttle_out_t out;
	throttle_attempt_t a = attempt(r, method, client, why);
	throttle_attempt_t u = {"", client, method, r->path, why};
	metrics_auth_failure(method);
	pthread_mutex_lock(&mu);
	if (users != NULL && client != NULL && strcmp(method, "login") == 0) {
		static throttle_out_t dropped; /* under mu */
		throttle_fail(users, &u, now_ms(), &dropped);
	}
	if (table != NULL) {
		throttle_fail(table, &a, now_ms(), &out);
	} else { /* not started: recorded on its own */
		memset(&out, 0, sizeof out);
		throttle_tally_one(&a, now_ms(), &out.tally[out.n++]);
	}
	pthread_mutex_unlock(&mu);
	if (!out.aggregated)
		log_event(LOG_WARN, "client authentication failed", "method", method, "client_id", client,
			  "reason", why, "src", r->client_ip, NULL);
	if (out.blocked_ms > 0)
		log_block(r, client, &out);
	/* Evicted tallies first (they are older), then this failure's own. */
	for (size_t i = 0; i < out.n; i++)
		write_record(r->b, &out.tally[i], i + 1 < out.n || out.aggregated);
}
