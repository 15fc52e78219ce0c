/* test_edge_spool.c - the edge's audit spool and its shipper
 * (src/edge/edge_spool.c) against an in-process fake of the broker's POST
 * /v1/edges/audit: this file defines edge_broker_call, which reads each
 * batch with the broker's own reader (core/edge_audit.h) and keeps the
 * broker's exactly-once cursor, and can refuse to answer, lose its answer
 * after recording, or answer 413. Checked: everything appended reaches
 * the fake chain once and in order, through a broker outage and lost
 * answers; the file is truncated once acknowledged, and a file that never
 * empties is compacted into a new one; a new spool is numbered after what
 * the broker holds, and so is an acknowledgement beyond the spool's end;
 * spool_max fails appends until the broker takes the records; close makes
 * one last attempt; a torn last line is cut on open and a damaged middle
 * refused; a batch fills the 64 KiB a broker takes at most; a cursor
 * file left behind the broker's acknowledgements (it is written lazily)
 * only sends records again, which the broker skips. */
#include "test_util.h"
#include "core/edge_audit.h"
#include "edge/edge_client.h"
#include "edge/edge_spool.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake broker ---- */

static struct {
	pthread_mutex_t mu;
	int64_t cursor;     /* highest edge_seq taken */
	int64_t *chain;     /* edge_seq of every record taken, in order */
	size_t n_chain, cap_chain;
	bool down;          /* no answer */
	int lose;           /* record, then lose the answer this many times */
	int too_large;      /* answer 413 this many times */
	size_t max_body;    /* 413 above this many bytes (the broker's default and largest: 64 KiB) */
	size_t largest;     /* the largest body taken */
	int calls;
} B = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void broker_reset(int64_t cursor)
{
	pthread_mutex_lock(&B.mu);
	free(B.chain);
	B.chain = NULL;
	B.n_chain = B.cap_chain = 0;
	B.cursor = cursor;
	B.down = false;
	B.lose = B.too_large = B.calls = 0;
	B.max_body = 64 * 1024;
	B.largest = 0;
	pthread_mutex_unlock(&B.mu);
}

/* status with {"<member>": v} */
static void answer(edge_resp_t *out, long status, const char *member, long long v)
{
	out->status = status;
	out->body = malloc(128);
	assert_non_null(out->body);
	snprintf(out->body, 128, "{\"%s\":%lld}", member, v);
	out->len = strlen(out->body);
}

/* What the broker does with a batch (store_edge_audit_append). mu held. */
static void take(const edge_audit_rec_t *recs, size_t n, edge_resp_t *out)
{
	size_t i = 0;
	while (i < n && recs[i].edge_seq <= B.cursor)
		i++;
	if (i < n && recs[i].edge_seq != B.cursor + 1) {
		answer(out, 409, "expected_edge_seq", (long long)B.cursor + 1);
		return;
	}
	for (; i < n; i++) {
		if (B.n_chain == B.cap_chain) {
			B.cap_chain = B.cap_chain ? 2 * B.cap_chain : 1024;
			B.chain = realloc(B.chain, B.cap_chain * sizeof *B.chain);
			assert_non_null(B.chain);
		}
		B.chain[B.n_chain++] = B.cursor = recs[i].edge_seq;
	}
	answer(out, 200, "acknowledged", (long long)B.cursor);
}

int edge_broker_call(edge_t *e, const char *method, const char *path, const char *content_type, const char *body,
		     size_t body_len, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
{
	(void)e;
	(void)timeout_s;
	memset(out, 0, sizeof *out);
	if (strcmp(method, "POST") != 0 || strcmp(path, "/v1/edges/audit") != 0 ||
	    strcmp(content_type, "application/json") != 0)
		fail_msg("unexpected call %s %s", method, path);
	pthread_mutex_lock(&B.mu);
	B.calls++;
	int rc = 0;
	if (B.down) {
		snprintf(why, why_len, "Couldn't connect to server");
		rc = -1;
	} else if (B.too_large > 0 || body_len > B.max_body) {
		if (B.too_large > 0)
			B.too_large--;
		answer(out, 413, "status", 413);
	} else {
		json_t *doc = json_loadb(body, body_len, JSON_REJECT_DUPLICATES, NULL);
		if (body_len > B.largest)
			B.largest = body_len;
		edge_audit_rec_t *recs = NULL;
		size_t n = 0;
		char bad[300] = "";
		if (doc == NULL || edge_audit_batch_parse(doc, &recs, &n, bad, sizeof bad) != 0)
			fail_msg("the spool sent a batch the broker refuses: %s", doc ? bad : "not JSON");
		take(recs, n, out);
		free(recs);
		json_decref(doc);
		if (B.lose > 0) { /* recorded, but the answer never arrives */
			B.lose--;
			edge_resp_free(out);
			snprintf(why, why_len, "Operation timed out");
			rc = -1;
		}
	}
	pthread_mutex_unlock(&B.mu);
	return rc;
}

void edge_resp_free(edge_resp_t *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static void broker_down(bool down)
{
	pthread_mutex_lock(&B.mu);
	B.down = down;
	pthread_mutex_unlock(&B.mu);
}

/* The fake chain is exactly first..last, once each, in order. */
static void assert_chain(int64_t first, int64_t last)
{
	pthread_mutex_lock(&B.mu);
	size_t n = B.n_chain;
	assert_int_equal(n, (size_t)(last - first + 1));
	for (size_t i = 0; i < n; i++)
		if (B.chain[i] != first + (int64_t)i)
			fail_msg("chain[%zu] = %lld, expected %lld", i, (long long)B.chain[i], (long long)first + (long long)i);
	pthread_mutex_unlock(&B.mu);
}

/* ---- the spool under test ---- */

typedef struct {
	char dir[64], spool[96], cursor[96];
	edge_t edge;
	edge_spool_t *s;
} fixture_t;

static void open_spool(fixture_t *f, int64_t max_bytes)
{
	char why[400] = "";
	f->s = edge_spool_open(f->dir, max_bytes, why, sizeof why);
	if (f->s == NULL)
		fail_msg("open: %s", why);
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/tg-spool-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->spool, sizeof f->spool, "%s/audit-spool.jsonl", f->dir);
	snprintf(f->cursor, sizeof f->cursor, "%s/audit-cursor.json", f->dir);
	f->edge.cfg.audit_batch = 500;
	broker_reset(0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	edge_spool_close(f->s);
	unlink(f->spool);
	unlink(f->cursor);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void start(fixture_t *f)
{
	assert_int_equal(edge_spool_start(f->s, &f->edge), 0);
}

static void append(fixture_t *f, int n)
{
	json_t *details = json_pack("{s:s, s:s, s:s}", "reason", "allow", "method", "GET", "path", "/orders/17");
	audit_event_t ev = {.type = "authz.allow", .actor = "wl-0123456789", .action = "orders.read",
			    .resource = "Order:17", .jti = "Zx9lS1m2c3r4d5e6f7g8h9", .src = "127.0.0.1", .details = details};
	for (int i = 0; i < n; i++)
		assert_int_equal(edge_spool_append(f->s, &ev), 0);
	json_decref(details);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void wait_drained(fixture_t *f)
{
	for (int i = 0; i < 3000 && edge_spool_backlog(f->s) != 0; i++)
		sleep_ms(10);
	assert_int_equal(edge_spool_backlog(f->s), 0);
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_size : -1;
}

static int64_t cursor_file(fixture_t *f)
{
	size_t len;
	char *text = tu_read_file(f->cursor, &len);
	assert_non_null(text);
	json_t *doc = tu_json(text);
	int64_t v = json_integer_value(json_object_get(doc, "acknowledged"));
	json_decref(doc);
	free(text);
	return v;
}

/* ---- tests ---- */

static void test_ships_in_order_and_truncates(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	append(f, 3); /* before the shipper starts */
	start(f);
	append(f, 297);
	wait_drained(f);
	assert_chain(1, 300);
	assert_int_equal(cursor_file(f), 300);
	for (int i = 0; i < 300 && file_size(f->spool) != 0; i++)
		sleep_ms(10);
	assert_int_equal(file_size(f->spool), 0);
	append(f, 2); /* the sequence goes on after the truncation */
	wait_drained(f);
	assert_chain(1, 302);
}

/* The broker takes records first..last itself, as if the edge had
 * shipped them and lost the acknowledgements with a crash. */
static void broker_took(int64_t first, int64_t last)
{
	pthread_mutex_lock(&B.mu);
	for (int64_t seq = first; seq <= last; seq++) {
		if (B.n_chain == B.cap_chain) {
			B.cap_chain = B.cap_chain ? 2 * B.cap_chain : 1024;
			B.chain = realloc(B.chain, B.cap_chain * sizeof *B.chain);
			assert_non_null(B.chain);
		}
		B.chain[B.n_chain++] = B.cursor = seq;
	}
	pthread_mutex_unlock(&B.mu);
}

static void test_cursor_file_behind_the_broker(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	start(f);
	append(f, 5);
	wait_drained(f);
	assert_int_equal(cursor_file(f), 5); /* written when the backlog empties */
	broker_down(true);
	append(f, 10);
	edge_spool_close(f->s);
	f->s = NULL;
	assert_int_equal(cursor_file(f), 5);
	broker_took(6, 12); /* acknowledged to an edge that crashed before its cursor file said so */
	broker_down(false);
	open_spool(f, 1 << 20);
	assert_int_equal(edge_spool_backlog(f->s), 10);
	start(f);
	wait_drained(f);
	assert_chain(1, 15);
	assert_int_equal(cursor_file(f), 15);
	append(f, 1); /* the sequence goes on after what the broker holds */
	wait_drained(f);
	assert_chain(1, 16);
}

static void test_outage_and_lost_answers(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	start(f);
	broker_down(true);
	append(f, 50);
	sleep_ms(300);
	assert_int_equal(edge_spool_backlog(f->s), 50);
	pthread_mutex_lock(&B.mu);
	assert_int_equal(B.n_chain, 0);
	B.lose = 3; /* the next three answers are lost after the records were taken */
	B.down = false;
	pthread_mutex_unlock(&B.mu);
	append(f, 50);
	wait_drained(f);
	assert_chain(1, 100);
}

static void test_restart_keeps_backlog_and_sequence(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	start(f);
	append(f, 10);
	wait_drained(f);
	broker_down(true);
	append(f, 20);
	edge_spool_close(f->s); /* its last attempt finds the broker down */
	f->s = NULL;
	open_spool(f, 1 << 20);
	assert_int_equal(edge_spool_backlog(f->s), 20);
	append(f, 5);
	broker_down(false);
	start(f);
	wait_drained(f);
	assert_chain(1, 35);
}

static void test_close_makes_one_last_attempt(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	start(f);
	append(f, 1);
	wait_drained(f);
	broker_down(true);
	append(f, 7);
	sleep_ms(150); /* the shipper failed and backs off */
	broker_down(false);
	edge_spool_close(f->s);
	f->s = NULL;
	assert_chain(1, 8);
	assert_int_equal(cursor_file(f), 8);
}

static void test_file_that_never_empties_is_compacted(void **state)
{
	fixture_t *f = *state;
	struct stat before, after;
	open_spool(f, 64 << 20);
	start(f);
	append(f, 1);
	wait_drained(f);
	assert_int_equal(stat(f->spool, &before), 0);
	broker_down(true);
	append(f, 12000); /* about 4 MB */
	off_t full = file_size(f->spool);
	assert_true(full > 3 << 20);
	/* each answer comes while more records wait: the acknowledged prefix
	 * grows until it is no smaller than the backlog, then the backlog
	 * moves to a new file */
	broker_down(false);
	bool moved = false;
	for (int i = 0; i < 20000 && !moved; i++) {
		moved = stat(f->spool, &after) == 0 && after.st_ino != before.st_ino;
		if (!moved)
			sleep_ms(1);
	}
	assert_true(moved);
	assert_true(after.st_size < full);
	wait_drained(f);
	assert_chain(1, 12001);
	append(f, 3);
	wait_drained(f);
	assert_chain(1, 12004);
}

static void test_new_spool_numbered_after_the_broker(void **state)
{
	fixture_t *f = *state;
	broker_reset(500); /* the broker holds 500 records of this edge: state_dir was lost */
	open_spool(f, 1 << 20);
	append(f, 5);
	start(f);
	wait_drained(f);
	pthread_mutex_lock(&B.mu);
	assert_int_equal(B.n_chain, 5);
	assert_int_equal(B.chain[0], 501);
	assert_int_equal(B.chain[4], 505);
	pthread_mutex_unlock(&B.mu);
	assert_int_equal(cursor_file(f), 505);
	append(f, 1);
	wait_drained(f);
	pthread_mutex_lock(&B.mu);
	assert_int_equal(B.chain[5], 506);
	pthread_mutex_unlock(&B.mu);
}

static void test_acknowledgement_beyond_the_spool(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	start(f);
	append(f, 2);
	wait_drained(f);
	edge_spool_close(f->s);
	f->s = NULL;
	pthread_mutex_lock(&B.mu);
	B.cursor = 900; /* another life of this edge went further */
	B.n_chain = 0;
	pthread_mutex_unlock(&B.mu);
	open_spool(f, 1 << 20); /* the cursor file says 2: anchored, so this shows at the first answer */
	append(f, 4);           /* 3..6, all "repeats" to the broker */
	start(f);
	wait_drained(f);
	pthread_mutex_lock(&B.mu);
	assert_int_equal(B.n_chain, 4);
	assert_int_equal(B.chain[0], 901);
	assert_int_equal(B.chain[3], 904);
	pthread_mutex_unlock(&B.mu);
}

static void test_full_spool_refuses_until_shipped(void **state)
{
	fixture_t *f = *state;
	json_t *d = json_object();
	audit_event_t ev = {.type = "authz.deny", .details = d};
	open_spool(f, 1 << 20);
	start(f);
	broker_down(true);
	int n = 0;
	while (n < 100000 && edge_spool_append(f->s, &ev) == 0)
		n++;
	assert_true(n > 1000 && n < 100000);
	assert_int_equal(edge_spool_backlog(f->s), n);
	assert_int_equal(edge_spool_append(f->s, &ev), -1);
	broker_down(false);
	wait_drained(f);
	assert_int_equal(edge_spool_append(f->s, &ev), 0);
	wait_drained(f);
	assert_chain(1, n + 1);
	json_decref(d);
}

static void test_batch_fills_the_brokers_largest_body(void **state)
{
	fixture_t *f = *state;
	open_spool(f, 1 << 20);
	append(f, 400); /* more than 64 KiB, waiting before the shipper starts */
	start(f);
	wait_drained(f);
	assert_chain(1, 400);
	pthread_mutex_lock(&B.mu); /* the first batch filled the 64 KiB a broker takes at most, no more */
	assert_true(B.largest > 63 * 1024 && B.largest <= 64 * 1024);
	pthread_mutex_unlock(&B.mu);
}

static void test_413_halves_the_batch(void **state)
{
	fixture_t *f = *state;
	pthread_mutex_lock(&B.mu);
	B.max_body = 16 * 1024; /* a broker configured with a smaller max_body */
	pthread_mutex_unlock(&B.mu);
	open_spool(f, 1 << 20);
	append(f, 400);
	start(f);
	wait_drained(f);
	assert_chain(1, 400);
}

static void test_torn_tail_cut_damage_refused(void **state)
{
	fixture_t *f = *state;
	char why[400] = "";
	open_spool(f, 1 << 20);
	broker_down(true);
	append(f, 3);
	edge_spool_close(f->s);
	f->s = NULL;
	off_t whole = file_size(f->spool);
	int fd = open(f->spool, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"edge_seq\":4,\"ti", 17), 17);
	close(fd);
	open_spool(f, 1 << 20);
	assert_int_equal(file_size(f->spool), whole);
	assert_int_equal(edge_spool_backlog(f->s), 3);
	edge_spool_close(f->s);
	f->s = NULL;
	/* a line in the middle that is no record */
	size_t len;
	char *text = tu_read_file(f->spool, &len);
	char *second = strchr(text, '\n') + 1;
	second[1] = 'X';
	fd = open(f->spool, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	free(text);
	assert_null(edge_spool_open(f->dir, 1 << 20, why, sizeof why));
	tu_assert_why(why, "is damaged: line 2 (byte");
	broker_down(false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ships_in_order_and_truncates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outage_and_lost_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_file_behind_the_broker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_backlog_and_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_makes_one_last_attempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_that_never_empties_is_compacted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_spool_numbered_after_the_broker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acknowledgement_beyond_the_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_spool_refuses_until_shipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_fills_the_brokers_largest_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_413_halves_the_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_cut_damage_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
