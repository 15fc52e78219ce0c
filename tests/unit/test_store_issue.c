/* test_store_issue.c - issuances queued without waiting (store_issue_start,
 * what POST /oauth/token uses so that an HTTP thread never waits for a
 * commit): one thread queues many before any is durable, and every one is
 * called back exactly once with its outcome; they join commit groups yet
 * stay one audit chain in queue order; a replayed assertion jti among them
 * is refused exactly (the second of two, whatever their groups); and
 * closing the store finishes every queued issuance before it returns. */
#include "store/store.h"
#include "test_util.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_QUEUED 200

typedef struct {
	char dir[64], url[96];
	store_t *s;
} fixture_t;

/* One queued issuance and what it needs until it is finished. */
typedef struct {
	char jti[32], assertion[48];
	token_record_t token;
	audit_event_t ev;
	issuance_t is;
	store_rc rc;
	int calls;
} pending_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int finished;

static void on_done(void *ctx, store_rc rc)
{
	pending_t *p = ctx;
	pthread_mutex_lock(&mu);
	p->rc = rc;
	p->calls++;
	finished++;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&mu);
}

static void wait_finished(int n)
{
	pthread_mutex_lock(&mu);
	while (finished < n)
		pthread_cond_wait(&changed, &mu);
	pthread_mutex_unlock(&mu);
}

static void pending_init(pending_t *p, int i, const char *assertion_jti)
{
	memset(p, 0, sizeof *p);
	p->rc = -1;
	snprintf(p->jti, sizeof p->jti, "tok-%06d", i);
	snprintf(p->assertion, sizeof p->assertion, "svc-a|%s", assertion_jti);
	snprintf(p->token.jti, sizeof p->token.jti, "%s", p->jti);
	snprintf(p->token.identity_id, sizeof p->token.identity_id, "svc-a");
	snprintf(p->token.scope, sizeof p->token.scope, "orders.read@Api:orders");
	snprintf(p->token.kid, sizeof p->token.kid, "kid-1");
	p->token.iat = TU_NOW;
	p->token.exp = TU_NOW + 300;
	p->token.status_idx = -1;
	p->ev = (audit_event_t){.type = "token.issued", .actor = "svc-a", .action = "oauth.token",
				.resource = "orders.read@Api:orders", .decision = "allow", .jti = p->jti};
	p->is = (issuance_t){.assertion_jti = p->assertion, .assertion_exp = TU_NOW + 60, .token = &p->token,
			     .audit = &p->ev};
}

static void start(fixture_t *fx, pending_t *p)
{
	assert_int_equal(store_issue_start(fx->s, &p->is, on_done, p), STORE_OK);
}

static int setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	char err[256];
	identity_t id;
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/tg-store-issue-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->url, sizeof fx->url, "sqlite:%s/tollgate.db", fx->dir);
	fx->s = store_open(fx->url, true, err, sizeof err);
	assert_non_null(fx->s);
	memset(&id, 0, sizeof id);
	snprintf(id.id, sizeof id.id, "svc-a");
	snprintf(id.kind, sizeof id.kind, "workload");
	snprintf(id.owner, sizeof id.owner, "team");
	snprintf(id.status, sizeof id.status, "active");
	id.roles = json_array();
	id.created_at = TU_NOW;
	assert_int_equal(store_identity_create(fx->s, &id, NULL), STORE_OK);
	identity_release(&id);
	pthread_mutex_lock(&mu);
	finished = 0;
	pthread_mutex_unlock(&mu);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *fx = *state;
	char cmd[128];
	store_close(fx->s);
	snprintf(cmd, sizeof cmd, "rm -rf %s", fx->dir);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* The token.issued records, in chain order. */
static json_t *issued_records(fixture_t *fx)
{
	json_t *out = NULL;
	audit_filter_t f = {.type = "token.issued", .limit = 10 * N_QUEUED};
	assert_int_equal(store_audit_list(fx->s, &f, &out), STORE_OK);
	return out;
}

static void test_many_queued_by_one_thread(void **state)
{
	fixture_t *fx = *state;
	pending_t *p = calloc(N_QUEUED, sizeof *p);
	char a[16];
	assert_non_null(p);
	for (int i = 0; i < N_QUEUED; i++) {
		snprintf(a, sizeof a, "a-%06d", i);
		pending_init(&p[i], i, a);
		start(fx, &p[i]);
	}
	wait_finished(N_QUEUED);
	json_t *recs = issued_records(fx);
	assert_int_equal(json_array_size(recs), N_QUEUED);
	int64_t prev_seq = 0;
	for (int i = 0; i < N_QUEUED; i++) {
		token_record_t got;
		assert_int_equal(p[i].calls, 1);
		assert_int_equal(p[i].rc, STORE_OK);
		assert_int_equal(store_token_get(fx->s, p[i].jti, &got), STORE_OK);
		json_t *r = json_array_get(recs, (size_t)i);
		assert_string_equal(json_string_value(json_object_get(r, "jti")), p[i].jti);
		int64_t seq = json_integer_value(json_object_get(r, "seq"));
		assert_true(seq > prev_seq);
		prev_seq = seq;
	}
	char why[200] = "";
	assert_int_equal(store_audit_check_tail(fx->s, why, sizeof why), 0);
	json_decref(recs);
	free(p);
}

static void test_replay_refused_exactly(void **state)
{
	fixture_t *fx = *state;
	pending_t p[3];
	token_record_t got;
	pending_init(&p[0], 0, "same");
	pending_init(&p[1], 1, "same"); /* queued before the first is durable */
	start(fx, &p[0]);
	start(fx, &p[1]);
	wait_finished(2);
	pending_init(&p[2], 2, "same"); /* after it is */
	start(fx, &p[2]);
	wait_finished(3);
	assert_int_equal(p[0].rc, STORE_OK);
	assert_int_equal(p[1].rc, STORE_CONFLICT);
	assert_int_equal(p[2].rc, STORE_CONFLICT);
	assert_int_equal(store_token_get(fx->s, p[1].jti, &got), STORE_NOT_FOUND);
	assert_int_equal(store_token_get(fx->s, p[2].jti, &got), STORE_NOT_FOUND);
	json_t *recs = issued_records(fx);
	assert_int_equal(json_array_size(recs), 1);
	json_decref(recs);
}

static void test_close_finishes_the_queue(void **state)
{
	fixture_t *fx = *state;
	pending_t *p = calloc(N_QUEUED, sizeof *p);
	char a[16], err[256];
	assert_non_null(p);
	for (int i = 0; i < N_QUEUED; i++) {
		snprintf(a, sizeof a, "c-%06d", i);
		pending_init(&p[i], i, a);
		start(fx, &p[i]);
	}
	store_close(fx->s);
	pthread_mutex_lock(&mu);
	assert_int_equal(finished, N_QUEUED);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < N_QUEUED; i++)
		assert_int_equal(p[i].calls, 1);
	fx->s = store_open(fx->url, true, err, sizeof err);
	assert_non_null(fx->s);
	json_t *recs = issued_records(fx);
	int ok = 0;
	for (int i = 0; i < N_QUEUED; i++)
		ok += p[i].rc == STORE_OK;
	assert_int_equal(json_array_size(recs), (size_t)ok);
	assert_int_equal(ok, N_QUEUED);
	json_decref(recs);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_many_queued_by_one_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay_refused_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_finishes_the_queue, setup, teardown),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
