/* test_edge_secrets.c - the edge's table of injected secrets
 * (edge/edge_secrets.h) and its fetching thread against an in-process fake
 * of the broker: this file defines edge_broker_call, answering GET
 * /v1/secrets/NAME from a small table (a value, or a status). Covered: the
 * values fetched at start, a failing fetch retried until it succeeds, an
 * updated secret refreshed while the old value keeps serving, a deleted
 * one dropped and fetched again once it exists, a refusal (403) dropping
 * the value, a value that cannot be a header value never held, names no
 * route injects ignored. */
#include "test_util.h"
#include "edge/edge_client.h"
#include "edge/edge_secrets.h"
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the fake broker ---- */

typedef struct {
	const char *name;
	long status;  /* 0: no answer (the broker is down) */
	char value[64];
	int calls;
} fake_secret_t;

static pthread_mutex_t fake_mu = PTHREAD_MUTEX_INITIALIZER;
static fake_secret_t fake[] = {{"a", 200, "Bearer a-1", 0}, {"b", 200, "b-1\n", 0}, {"c", 200, "bad\x01value", 0}};

static fake_secret_t *fake_find(const char *name)
{
	for (size_t i = 0; i < sizeof fake / sizeof fake[0]; i++)
		if (strcmp(fake[i].name, name) == 0)
			return &fake[i];
	return NULL;
}

static void fake_set(const char *name, long status, const char *value)
{
	pthread_mutex_lock(&fake_mu);
	fake_secret_t *f = fake_find(name);
	f->status = status;
	snprintf(f->value, sizeof f->value, "%s", value);
	pthread_mutex_unlock(&fake_mu);
}

int edge_broker_call(edge_t *e, const char *method, const char *path, const char *content_type, const char *body,
		     size_t body_len, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
{
	(void)e, (void)content_type, (void)body, (void)body_len, (void)timeout_s;
	if (strcmp(method, "GET") != 0 || strncmp(path, "/v1/secrets/", 12) != 0 || fake_find(path + 12) == NULL)
		abort(); /* the thread asks for nothing else (no cmocka assert off the main thread) */
	pthread_mutex_lock(&fake_mu);
	fake_secret_t *f = fake_find(path + 12);
	f->calls++;
	long status = f->status;
	json_t *doc = json_pack("{s:s, s:i, s:s}", "name", f->name, "version", 1, "value", f->value);
	pthread_mutex_unlock(&fake_mu);
	memset(out, 0, sizeof *out);
	if (status == 0) {
		json_decref(doc);
		snprintf(why, why_len, "connection refused");
		return -1;
	}
	out->status = status;
	out->body = status == 200 ? json_dumps(doc, JSON_COMPACT) : strdup("{\"status\":403}");
	out->len = strlen(out->body);
	json_decref(doc);
	return 0;
}

void edge_resp_free(edge_resp_t *r)
{
	free(r->body);
	r->body = NULL;
}

int64_t edge_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- helpers ---- */

static tg_edge_config_t cfg;
static edge_t edge;

static void config(const char *text)
{
	char err[256] = "";
	edge_config_defaults(&cfg);
	assert_int_equal(edge_config_parse(&cfg, text, strlen(text), err, sizeof err), 0);
}

static char got[64];

static void copy_value(const char *value, void *ctx)
{
	(void)ctx;
	snprintf(got, sizeof got, "%s", value);
}

static bool held(edge_secrets_t *s, const char *name, const char *want)
{
	got[0] = '\0';
	return edge_secrets_use(s, name, copy_value, NULL) && (want == NULL || strcmp(got, want) == 0);
}

/* Polls (up to 10 s) until name holds want (NULL: nothing held). */
static void wait_value(edge_secrets_t *s, const char *name, const char *want)
{
	for (int i = 0; i < 1000; i++) {
		if (want != NULL ? held(s, name, want) : !held(s, name, NULL))
			return;
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	fail_msg("secret %s: expected %s, holding '%s'", name, want ? want : "no value", got);
}

static int calls(const char *name)
{
	pthread_mutex_lock(&fake_mu);
	int n = fake_find(name)->calls;
	pthread_mutex_unlock(&fake_mu);
	return n;
}

/* ---- tests ---- */

static void test_lifecycle(void **state)
{
	(void)state;
	config("route = GET /a a.read Api:a inject=X-A:secret:a inject=X-F:file:/f\n"
	       "route = GET /b b.read Api:b inject=X-B:secret:b inject=X-A:secret:a\n"
	       "route = GET /c c.read Api:c inject=X-C:secret:c\n");
	fake_set("b", 0, "b-1\n"); /* the broker is down for b at start */
	edge_secrets_t *s = edge_secrets_new(&cfg);
	assert_non_null(s);
	assert_false(held(s, "a", NULL)); /* nothing before the first fetch */
	assert_int_equal(edge_secrets_start(s, &edge), 0);
	wait_value(s, "a", "Bearer a-1");
	fake_set("b", 200, "b-1\n");
	wait_value(s, "b", "b-1"); /* retried; the trailing newline cut */
	assert_int_equal(calls("a"), 1); /* a is fetched once though two routes inject it */

	/* an update: the old value serves until the new one is in */
	fake_set("a", 0, "Bearer a-2");
	edge_secrets_changed(s, "a", "updated");
	assert_true(held(s, "a", "Bearer a-1"));
	fake_set("a", 200, "Bearer a-2");
	wait_value(s, "a", "Bearer a-2");
	edge_secrets_changed(s, "a", "rotated");
	fake_set("a", 200, "Bearer a-3");
	edge_secrets_changed(s, "a", "rotated");
	wait_value(s, "a", "Bearer a-3");

	/* deleted: dropped at once, fetched again once it exists */
	fake_set("a", 404, "");
	edge_secrets_changed(s, "a", "deleted");
	assert_false(held(s, "a", NULL));
	fake_set("a", 200, "Bearer a-4");
	wait_value(s, "a", "Bearer a-4");

	/* a refusal by the broker drops the value */
	fake_set("b", 403, "");
	edge_secrets_changed(s, "b", "updated");
	wait_value(s, "b", NULL);

	/* a value with a control character is never held */
	assert_false(held(s, "c", NULL));
	assert_true(calls("c") >= 1);
	edge_secrets_changed(s, "nobody", "deleted"); /* not injected: ignored */
	edge_secrets_stop(s);
	edge_secrets_free(s);
	edge_config_free(&cfg);
}

static void test_no_secret_no_thread(void **state)
{
	(void)state;
	config("route = GET /f f.read Api:f inject=X-F:file:/f\n");
	edge_secrets_t *s = edge_secrets_new(&cfg);
	assert_non_null(s);
	assert_int_equal(edge_secrets_start(s, &edge), 0);
	assert_false(held(s, "f", NULL));
	edge_secrets_changed(s, "f", "updated");
	edge_secrets_stop(s);
	edge_secrets_free(s);
	edge_secrets_free(NULL);
	edge_config_free(&cfg);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_no_secret_no_thread),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
