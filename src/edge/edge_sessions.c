/* edge_sessions.c - the edge's live Modbus sessions, their reporter
 * thread and the operators' kills waiting for the Modbus loop
 * (edge_sessions.h). */
#include "edge/edge_sessions.h"
#include "edge/edge_client.h"
#include "shell/log.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KILL_QUEUE 64
#define REPORT_TIMEOUT_S 10L
#define REPORT_PATH "/v1/edges/self/sessions"

typedef struct {
	char sid[EDGE_SESSION_ID_LEN + 1];
	char reason[TG_MAX_GRANT_REASON + 1];
} kill_t;

struct edge_sessions {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	edge_session_t *rows; /* the last published */
	size_t n;
	bool dirty;           /* published since the last report */
	int64_t sent_ms;      /* the last report's attempt; 0 none */
	int64_t retry_ms;     /* after a failed report: the wait before the next, doubling to the heartbeat */
	kill_t kills[KILL_QUEUE];
	size_t n_kills;
	edge_t *e;
	pthread_t thread;
	bool running, stopping;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

edge_sessions_t *edge_sessions_new(void)
{
	edge_sessions_t *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);
	s->dirty = true; /* the first report tells the broker this edge has none yet */
	return s;
}

void edge_sessions_free(edge_sessions_t *s)
{
	if (s == NULL)
		return;
	if (s->running) {
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->mu);
	free(s->rows);
	free(s);
}

void edge_sessions_publish(edge_sessions_t *s, const edge_session_t *rows, size_t n)
{
	edge_session_t *copy = malloc((n ? n : 1) * sizeof *copy);
	if (copy == NULL)
		return; /* the next change publishes again */
	if (n > 0)
		memcpy(copy, rows, n * sizeof *copy);
	pthread_mutex_lock(&s->mu);
	free(s->rows);
	s->rows = copy;
	s->n = n;
	s->dirty = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
}

/* ---- kills ---- */

static bool published(const edge_sessions_t *s, const char *sid)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->rows[i].id, sid) == 0)
			return true;
	return false;
}

bool edge_sessions_kill(edge_sessions_t *s, const char *sid, const char *reason)
{
	if (s == NULL || !edge_session_id_valid(sid))
		return false;
	pthread_mutex_lock(&s->mu);
	bool known = published(s, sid);
	if (known && s->n_kills == KILL_QUEUE) /* the loop takes them every tick: drop the oldest */
		memmove(&s->kills[0], &s->kills[1], --s->n_kills * sizeof s->kills[0]);
	if (known) {
		kill_t *k = &s->kills[s->n_kills++];
		snprintf(k->sid, sizeof k->sid, "%s", sid);
		snprintf(k->reason, sizeof k->reason, "%s", reason ? reason : "");
	}
	pthread_mutex_unlock(&s->mu);
	return known;
}

void edge_sessions_take_kills(edge_sessions_t *s, void (*fn)(const char *sid, const char *reason, void *ctx),
			      void *ctx)
{
	kill_t taken[KILL_QUEUE];
	pthread_mutex_lock(&s->mu);
	size_t n = s->n_kills;
	memcpy(taken, s->kills, n * sizeof taken[0]);
	s->n_kills = 0;
	pthread_mutex_unlock(&s->mu);
	for (size_t i = 0; i < n; i++)
		fn(taken[i].sid, taken[i].reason, ctx);
}

/* ---- the reporter ---- */

/* Sends rows; false when the broker did not take them. */
static bool report(edge_t *e, const edge_session_t *rows, size_t n)
{
	char why[300];
	edge_resp_t r;
	char *text = edge_sessions_report_text(rows, n);
	if (text == NULL)
		return false;
	int rc = edge_broker_call(e, "PUT", REPORT_PATH, "application/json", text, strlen(text), REPORT_TIMEOUT_S, &r,
				  why, sizeof why);
	free(text);
	if (rc != 0) {
		log_event(LOG_WARN, "could not report the Modbus sessions to the broker", "reason", why, NULL);
		return false;
	}
	bool ok = r.status >= 200 && r.status < 300;
	if (!ok) {
		snprintf(why, sizeof why, "HTTP %ld: %.200s", r.status, r.body);
		log_event(LOG_WARN, "the broker refused the Modbus sessions report", "reason", why, NULL);
	}
	edge_resp_free(&r);
	return ok;
}

/* When the next report is due (monotonic ms). mu held. */
static int64_t next_due(const edge_sessions_t *s)
{
	if (s->sent_ms == 0)
		return 0;
	int64_t heartbeat = s->sent_ms + EDGE_SESSIONS_HEARTBEAT_S * 1000;
	int64_t change = s->sent_ms + (s->retry_ms > 0 ? s->retry_ms : EDGE_SESSIONS_DEBOUNCE_MS);
	return s->dirty && change < heartbeat ? change : heartbeat;
}

static void wait_until(edge_sessions_t *s, int64_t due_ms)
{
	struct timespec ts = {(time_t)(due_ms / 1000), (long)(due_ms % 1000) * 1000000};
	pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

static void *reporter_main(void *arg)
{
	edge_sessions_t *s = arg;
	pthread_setname_np(pthread_self(), "tg-edge-sess");
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		int64_t due = next_due(s);
		if (mono_ms() < due) {
			wait_until(s, due);
			continue;
		}
		size_t n = s->n;
		edge_session_t *rows = malloc((n ? n : 1) * sizeof *rows);
		if (rows != NULL && n > 0)
			memcpy(rows, s->rows, n * sizeof *rows);
		s->dirty = false;
		s->sent_ms = mono_ms();
		pthread_mutex_unlock(&s->mu);
		bool ok = rows != NULL && report(s->e, rows, n);
		free(rows);
		pthread_mutex_lock(&s->mu);
		if (ok) {
			s->retry_ms = 0;
		} else { /* again after 1, 2, 4 ... s, at most a heartbeat */
			s->dirty = true;
			s->retry_ms = s->retry_ms == 0 ? EDGE_SESSIONS_DEBOUNCE_MS : 2 * s->retry_ms;
			if (s->retry_ms > EDGE_SESSIONS_HEARTBEAT_S * 1000)
				s->retry_ms = EDGE_SESSIONS_HEARTBEAT_S * 1000;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int edge_sessions_start(edge_sessions_t *s, edge_t *e)
{
	s->e = e;
	if (pthread_create(&s->thread, NULL, reporter_main, s) != 0)
		return -1;
	s->running = true;
	return 0;
}
