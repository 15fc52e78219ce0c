/* edge_secrets.c - the injected secrets' values and the thread that keeps
 * them current (edge_secrets.h). */
#include "edge/edge_secrets.h"
#include "core/secret.h"
#include "edge/edge_client.h"
#include "shell/log.h"
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 30000

typedef struct {
	char name[SECRET_MAX_NAME + 1];
	char *value;        /* sodium_malloc'd, NUL-terminated; NULL: none held */
	size_t len;
	bool due;           /* a fetch is wanted */
	uint64_t gen;       /* bumped by each feed change: a fetch begun before it is redone */
	int64_t retry_at_ms, backoff_ms;
} entry_t;

struct edge_secrets {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	entry_t *entries;
	size_t n;
	bool stop, running;
	pthread_t thread;
	edge_t *edge;
};

/* ---- the table ----------------------------------------------------------- */

static entry_t *find(edge_secrets_t *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->entries[i].name, name) == 0)
			return &s->entries[i];
	return NULL;
}

static void add_name(edge_secrets_t *s, const char *name)
{
	if (find(s, name) != NULL)
		return;
	entry_t *en = &s->entries[s->n++];
	snprintf(en->name, sizeof en->name, "%s", name);
	en->due = true;
	en->backoff_ms = RETRY_MIN_MS;
}

edge_secrets_t *edge_secrets_new(const tg_edge_config_t *cfg)
{
	edge_secrets_t *s = calloc(1, sizeof *s);
	if (s == NULL || (s->entries = calloc(cfg->n_routes * TG_EDGE_MAX_INJECTS + 1, sizeof *s->entries)) == NULL) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->wake, NULL);
	for (size_t i = 0; i < cfg->n_routes; i++)
		for (size_t j = 0; j < cfg->routes[i].n_inject; j++)
			if (cfg->routes[i].inject[j].source == EDGE_INJECT_SECRET)
				add_name(s, cfg->routes[i].inject[j].path);
	return s;
}

/* Replaces en's value with v (taken over; NULL drops it), zeroing the old. */
static void set_value(entry_t *en, char *v, size_t len)
{
	if (en->value != NULL)
		sodium_free(en->value); /* sodium_free zeroes before it frees */
	en->value = v;
	en->len = len;
}

void edge_secrets_free(edge_secrets_t *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		set_value(&s->entries[i], NULL, 0);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->wake);
	free(s->entries);
	free(s);
}

void edge_secrets_changed(edge_secrets_t *s, const char *name, const char *state)
{
	pthread_mutex_lock(&s->mu);
	entry_t *en = find(s, name);
	if (en != NULL) {
		bool deleted = strcmp(state, "deleted") == 0;
		en->gen++;
		en->due = true; /* a deleted one is asked for again with back-off: a later put creates it anew */
		en->backoff_ms = deleted ? 2 * RETRY_MIN_MS : RETRY_MIN_MS;
		en->retry_at_ms = deleted ? edge_now_ms() + RETRY_MIN_MS : 0;
		if (deleted) {
			set_value(en, NULL, 0);
			log_event(LOG_INFO, "an injected secret was deleted; its routes fail closed", "secret", name, NULL);
		}
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->mu);
}

bool edge_secrets_use(edge_secrets_t *s, const char *name, void (*use)(const char *value, void *ctx), void *ctx)
{
	pthread_mutex_lock(&s->mu);
	entry_t *en = find(s, name);
	bool held = en != NULL && en->value != NULL;
	if (held)
		use(en->value, ctx);
	pthread_mutex_unlock(&s->mu);
	return held;
}

/* ---- fetching ------------------------------------------------------------ */

typedef enum { FETCH_OK, FETCH_REFUSED, FETCH_FAILED } fetch_result_t;

/* A copy of text[0..n) as a header value: sodium_malloc'd, trailing CR and
 * LF cut; NULL when it holds another control character (or no memory). */
static char *header_value(const char *text, size_t n, size_t *out_len)
{
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)text[i] < 0x20 && text[i] != '\t') || text[i] == 0x7f)
			return NULL;
	char *v = sodium_malloc(n + 1);
	if (v != NULL) {
		memcpy(v, text, n);
		v[n] = '\0';
		*out_len = n;
	}
	return v;
}

/* The value in the broker's answer {"name", "version", "value"}. Every
 * copy the parse made is zeroed. */
static char *value_of(edge_resp_t *r, size_t *len, char *why, size_t why_len)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL);
	json_t *v = json_object_get(doc, "value");
	char *out = NULL;
	if (!json_is_string(v))
		snprintf(why, why_len, "the broker's answer has no value");
	else if ((out = header_value(json_string_value(v), json_string_length(v), len)) == NULL)
		snprintf(why, why_len, "the value is not usable as a header value (a control character or a line break)");
	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
	json_decref(doc);
	return out;
}

static fetch_result_t fetch(edge_t *e, const char *name, char **value, size_t *len, char *why, size_t why_len)
{
	char path[SECRET_MAX_NAME + 16];
	edge_resp_t r = {0};
	fetch_result_t res = FETCH_FAILED;
	snprintf(path, sizeof path, "/v1/secrets/%s", name);
	*value = NULL;
	if (edge_broker_call(e, "GET", path, NULL, NULL, 0, 30, &r, why, why_len) != 0)
		return FETCH_FAILED;
	if (r.status == 200) {
		*value = value_of(&r, len, why, why_len);
		res = *value != NULL ? FETCH_OK : FETCH_FAILED;
	} else {
		snprintf(why, why_len, "HTTP %ld", r.status);
		res = r.status == 403 || r.status == 404 || r.status == 410 ? FETCH_REFUSED : FETCH_FAILED;
	}
	if (r.body != NULL)
		sodium_memzero(r.body, r.len);
	edge_resp_free(&r);
	return res;
}

/* The entry whose fetch is due soonest, with *wait_ms until then (0: now);
 * NULL when none is due. Under mu. */
static entry_t *next_due(edge_secrets_t *s, int64_t now, int64_t *wait_ms)
{
	entry_t *best = NULL;
	for (size_t i = 0; i < s->n; i++)
		if (s->entries[i].due && (best == NULL || s->entries[i].retry_at_ms < best->retry_at_ms))
			best = &s->entries[i];
	*wait_ms = best == NULL ? 60000 : best->retry_at_ms > now ? best->retry_at_ms - now : 0;
	return best;
}

static void wait_ms(edge_secrets_t *s, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->wake, &s->mu, &ts);
}

/* Installs the result of a fetch of en begun at generation gen. Under mu. */
static void settle(entry_t *en, uint64_t gen, fetch_result_t res, char *value, size_t len, const char *why)
{
	if (en->gen != gen) { /* the feed changed it meanwhile: that decides */
		if (value != NULL)
			sodium_free(value);
		return;
	}
	if (res == FETCH_OK) {
		bool first = en->value == NULL;
		set_value(en, value, len);
		en->due = false;
		en->backoff_ms = RETRY_MIN_MS;
		log_event(LOG_INFO, first ? "injected secret fetched" : "injected secret refreshed", "secret", en->name,
			  NULL);
		return;
	}
	if (res == FETCH_REFUSED && en->value != NULL) {
		set_value(en, NULL, 0);
		log_event(LOG_WARN, "the broker refuses an injected secret; its routes fail closed", "secret", en->name,
			  "reason", why, NULL);
	} else {
		log_event(LOG_WARN, "cannot fetch an injected secret; retrying", "secret", en->name, "reason", why, NULL);
	}
	en->retry_at_ms = edge_now_ms() + en->backoff_ms;
	en->backoff_ms = en->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : en->backoff_ms * 2;
}

static void *secrets_main(void *arg)
{
	edge_secrets_t *s = arg;
	pthread_setname_np(pthread_self(), "tg-edge-secrets");
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		int64_t ms;
		entry_t *en = next_due(s, edge_now_ms(), &ms);
		if (en == NULL || ms > 0) {
			wait_ms(s, ms);
			continue;
		}
		char name[SECRET_MAX_NAME + 1], why[300] = "", *value = NULL;
		size_t len = 0;
		uint64_t gen = en->gen;
		snprintf(name, sizeof name, "%s", en->name);
		pthread_mutex_unlock(&s->mu);
		fetch_result_t res = fetch(s->edge, name, &value, &len, why, sizeof why);
		pthread_mutex_lock(&s->mu);
		settle(en, gen, res, value, len, why);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int edge_secrets_start(edge_secrets_t *s, edge_t *e)
{
	if (s->n == 0)
		return 0;
	s->edge = e;
	if (pthread_create(&s->thread, NULL, secrets_main, s) != 0)
		return -1;
	s->running = true;
	return 0;
}

void edge_secrets_stop(edge_secrets_t *s)
{
	if (s == NULL || !s->running)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->running = false;
}
