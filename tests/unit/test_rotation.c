/* test_rotation.c - the secret rotation state machine (src/core/rotation.c):
 * the happy path step by step with the grace period, each failure before
 * promotion rolling back and each one after it retrying with back-off,
 * the back-off's growth and cap, a rotation killed at every phase and
 * reconciled with every answer of the target (never leaving the store and
 * the target without a shared working credential), phase names and audit
 * types. And the drivers' pure half (src/core/rotation_driver.c): target
 * documents per driver (every member refused when wrong, passwords never
 * in the dsn), the exec/webhook request, and the strict answer parse. */
#include "test_util.h"
#include "core/rotation.h"
#include "core/rotation_driver.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rot_policy_t policy = {.grace = 600, .retry_base = 30, .retry_max = 3600};

/* Runs the step rotation_next asks for at now and applies its outcome. */
static rot_action_t step(rot_state_t *s, int64_t now, bool ok)
{
	rot_action_t a = rotation_next(s, now, true);
	rotation_apply(s, a, ok, now, &policy);
	return a;
}

/* ---- the state machine ---------------------------------------------------- */

static void test_happy_path(void **state)
{
	rot_state_t s = {0};
	int64_t t = TU_NOW;
	assert_int_equal(rotation_next(&s, t, false), ROT_ACT_NONE);
	assert_false(rotation_in_progress(&s));
	assert_int_equal(step(&s, t, true), ROT_ACT_GENERATE);
	assert_int_equal(s.phase, ROT_GENERATED);
	assert_int_equal(step(&s, t, true), ROT_ACT_SET_NEW);
	assert_int_equal(step(&s, t, true), ROT_ACT_VERIFY_NEW);
	assert_false(rotation_promoted(&s));
	assert_int_equal(step(&s, t, true), ROT_ACT_PROMOTE);
	assert_int_equal(s.phase, ROT_PROMOTED);
	assert_true(rotation_promoted(&s));
	assert_int_equal(s.retire_after, t + 600);
	/* The grace period holds the revocation. */
	assert_int_equal(rotation_next(&s, t + 599, true), ROT_ACT_WAIT);
	assert_int_equal(rotation_next(&s, t + 599, false), ROT_ACT_WAIT);
	assert_int_equal(step(&s, t + 600, true), ROT_ACT_REVOKE_OLD);
	assert_int_equal(step(&s, t + 600, true), ROT_ACT_VERIFY_OLD_DEAD);
	assert_int_equal(step(&s, t + 600, true), ROT_ACT_RETIRE);
	assert_int_equal(s.phase, ROT_IDLE);
	assert_int_equal(s.failures, 0);
	assert_int_equal(rotation_next(&s, t + 600, false), ROT_ACT_NONE);
}

static void test_zero_grace(void **state)
{
	rot_policy_t p = policy;
	rot_state_t s = {.phase = ROT_VERIFIED};
	p.grace = 0;
	rotation_apply(&s, ROT_ACT_PROMOTE, true, TU_NOW, &p);
	assert_int_equal(rotation_next(&s, TU_NOW, false), ROT_ACT_REVOKE_OLD);
}

/* A failed set or verify before promotion restores the old credential,
 * then marks the pending one failed, then waits before the next try. */
static void check_rollback_from(rot_phase_t phase, rot_action_t failing)
{
	rot_state_t s = {.phase = phase};
	int64_t t = TU_NOW;
	assert_int_equal(step(&s, t, false), failing);
	assert_int_equal(s.phase, ROT_ROLLBACK);
	assert_int_equal(s.failures, 1);
	assert_int_equal(step(&s, t, true), ROT_ACT_RESTORE_OLD); /* at once: no back-off */
	assert_int_equal(step(&s, t, true), ROT_ACT_VERIFY_OLD);
	assert_int_equal(step(&s, t, true), ROT_ACT_ABANDON);
	assert_int_equal(s.phase, ROT_IDLE);
	assert_int_equal(rotation_next(&s, t + 29, true), ROT_ACT_WAIT);
	assert_int_equal(rotation_next(&s, t + 30, true), ROT_ACT_GENERATE);
}

static void test_rollback_on_set_failure(void **state)
{
	check_rollback_from(ROT_GENERATED, ROT_ACT_SET_NEW);
}

static void test_rollback_on_verify_failure(void **state)
{
	check_rollback_from(ROT_SET, ROT_ACT_VERIFY_NEW);
}

static void test_rollback_restore_fails_then_succeeds(void **state)
{
	rot_state_t s = {.phase = ROT_ROLLBACK, .failures = 1};
	int64_t t = TU_NOW;
	assert_int_equal(step(&s, t, false), ROT_ACT_RESTORE_OLD);
	assert_int_equal(s.phase, ROT_ROLLBACK);
	assert_int_equal(s.failures, 2);
	assert_int_equal(rotation_next(&s, t + 59, true), ROT_ACT_WAIT);
	assert_int_equal(step(&s, t + 60, true), ROT_ACT_RESTORE_OLD);
	/* The restored credential does not work: restore again, later. */
	assert_int_equal(step(&s, t + 60, false), ROT_ACT_VERIFY_OLD);
	assert_int_equal(s.phase, ROT_ROLLBACK);
	assert_int_equal(s.failures, 3);
	assert_int_equal(rotation_next(&s, t + 60 + 119, true), ROT_ACT_WAIT);
	assert_int_equal(rotation_next(&s, t + 60 + 120, true), ROT_ACT_RESTORE_OLD);
}

/* After promotion nothing rolls back: the new credential is current. */
static void test_after_promotion_retries(void **state)
{
	rot_state_t s = {.phase = ROT_PROMOTED, .retire_after = TU_NOW};
	int64_t t = TU_NOW;
	assert_int_equal(step(&s, t, false), ROT_ACT_REVOKE_OLD);
	assert_int_equal(s.phase, ROT_PROMOTED);
	assert_int_equal(rotation_next(&s, t + 29, true), ROT_ACT_WAIT);
	assert_int_equal(step(&s, t + 30, true), ROT_ACT_REVOKE_OLD);
	/* The old one still logs in: revoke again after the back-off. */
	assert_int_equal(step(&s, t + 30, false), ROT_ACT_VERIFY_OLD_DEAD);
	assert_int_equal(s.phase, ROT_PROMOTED);
	assert_int_equal(s.failures, 2);
	assert_int_equal(rotation_next(&s, t + 89, true), ROT_ACT_WAIT);
	assert_int_equal(step(&s, t + 90, true), ROT_ACT_REVOKE_OLD);
	assert_int_equal(step(&s, t + 90, true), ROT_ACT_VERIFY_OLD_DEAD);
	assert_int_equal(step(&s, t + 90, false), ROT_ACT_RETIRE); /* a store failure */
	assert_int_equal(s.phase, ROT_OLD_DEAD);
	assert_int_equal(step(&s, t + 90 + 120, true), ROT_ACT_RETIRE);
	assert_int_equal(s.phase, ROT_IDLE);
	assert_int_equal(s.failures, 0);
}

static void test_store_failures_retry_same_step(void **state)
{
	static const rot_phase_t phases[] = {ROT_IDLE, ROT_VERIFIED, ROT_ROLLED_BACK};
	for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
		rot_state_t s = {.phase = phases[i]};
		rot_action_t a = step(&s, TU_NOW, false);
		assert_int_equal(s.phase, phases[i]);
		assert_int_equal(rotation_next(&s, TU_NOW + 29, true), ROT_ACT_WAIT);
		assert_int_equal(rotation_next(&s, TU_NOW + 30, true), a);
	}
}

static void test_backoff(void **state)
{
	assert_int_equal(rotation_backoff(1, &policy), 30);
	assert_int_equal(rotation_backoff(2, &policy), 60);
	assert_int_equal(rotation_backoff(3, &policy), 120);
	assert_int_equal(rotation_backoff(7, &policy), 1920);
	assert_int_equal(rotation_backoff(8, &policy), 3600);
	assert_int_equal(rotation_backoff(UINT32_MAX, &policy), 3600);
	rot_policy_t odd = {.retry_base = 0, .retry_max = -5};
	assert_int_equal(rotation_backoff(1, &odd), 1);
	assert_int_equal(rotation_backoff(40, &odd), 1);
	rot_policy_t big = {.retry_base = INT64_MAX / 2 + 1, .retry_max = INT64_MAX};
	assert_true(rotation_backoff(3, &big) == INT64_MAX);
}

static void test_wait_and_none_change_nothing(void **state)
{
	rot_state_t s = {.phase = ROT_SET, .failures = 2, .not_before = 5};
	rot_state_t before = s;
	rotation_apply(&s, ROT_ACT_WAIT, false, TU_NOW, &policy);
	rotation_apply(&s, ROT_ACT_NONE, true, TU_NOW, &policy);
	rotation_apply(&s, ROT_ACT_COUNT, true, TU_NOW, &policy);
	assert_memory_equal(&s, &before, sizeof s);
	rot_state_t bad = {.phase = ROT_PHASE_COUNT};
	assert_int_equal(rotation_next(&bad, TU_NOW, true), ROT_ACT_NONE);
}

/* ---- reconciliation after a kill -------------------------------------------- */

/* Which credential the store treats as current in a phase: the new one
 * from promotion on. */
static bool store_holds_new(rot_phase_t p)
{
	rot_state_t s = {.phase = p};
	return rotation_promoted(&s);
}

/* After reconciling, the engine's next steps must never leave a phase
 * where the store's credential is one the target refuses, unless the
 * next step is the one that sets it there. Checks the first step of each
 * (phase, answer) pair. */
static void test_reconcile_every_phase(void **state)
{
	for (int p = ROT_GENERATED; p < ROT_PHASE_COUNT; p++)
		for (int nw = 0; nw < 2; nw++)
			for (int ow = 0; ow < 2; ow++) {
				rot_state_t s = {.phase = (rot_phase_t)p, .retire_after = TU_NOW};
				rotation_reconcile(&s, nw, ow);
				rot_action_t a = rotation_next(&s, TU_NOW, true);
				bool held = store_holds_new(s.phase) ? nw : ow;
				/* ... or makes the store hold the one the target accepts. */
				bool sets = a == ROT_ACT_SET_NEW || a == ROT_ACT_RESTORE_OLD ||
					    (a == ROT_ACT_PROMOTE && nw);
				char what[80];
				snprintf(what, sizeof what, "%s new=%d old=%d -> %s", rotation_phase_name((rot_phase_t)p),
					 nw, ow, rotation_phase_name(s.phase));
				if (!held && !sets && a != ROT_ACT_VERIFY_NEW)
					fail_msg("%s: the store's credential is refused and nothing sets it (%s)", what,
						 rotation_action_name(a));
				/* Promotion never happens on a new credential the target refuses. */
				if (a == ROT_ACT_PROMOTE && !nw)
					fail_msg("%s: promotes a refused credential", what);
				/* Once promoted, never back to a phase before it. */
				if (store_holds_new((rot_phase_t)p) && !store_holds_new(s.phase))
					fail_msg("%s: demotes", what);
			}
}

static void test_reconcile_table(void **state)
{
	static const struct {
		rot_phase_t from;
		bool nw, ow;
		rot_phase_t to;
	} v[] = {
		{ROT_GENERATED, false, true, ROT_GENERATED}, {ROT_GENERATED, true, false, ROT_SET},
		{ROT_GENERATED, false, false, ROT_ROLLBACK}, {ROT_SET, true, false, ROT_VERIFIED},
		{ROT_SET, false, true, ROT_ROLLBACK},         {ROT_VERIFIED, true, true, ROT_VERIFIED},
		{ROT_VERIFIED, false, true, ROT_ROLLBACK},    {ROT_PROMOTED, true, false, ROT_PROMOTED},
		{ROT_PROMOTED, false, true, ROT_REAPPLY},     {ROT_REVOKED, true, true, ROT_REVOKED},
		{ROT_OLD_DEAD, false, false, ROT_REAPPLY},    {ROT_ROLLBACK, false, true, ROT_ROLLED_BACK},
		{ROT_RESTORED, true, false, ROT_ROLLBACK},    {ROT_ROLLED_BACK, false, true, ROT_ROLLED_BACK},
		{ROT_REAPPLY, true, false, ROT_PROMOTED},     {ROT_REAPPLIED, false, true, ROT_REAPPLY},
		{ROT_IDLE, false, false, ROT_IDLE},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		rot_state_t s = {.phase = v[i].from};
		rotation_reconcile(&s, v[i].nw, v[i].ow);
		assert_string_equal(rotation_phase_name(s.phase), rotation_phase_name(v[i].to));
	}
}

static void test_reapply_path(void **state)
{
	rot_state_t s = {.phase = ROT_REAPPLY, .retire_after = TU_NOW + 100};
	assert_int_equal(step(&s, TU_NOW, false), ROT_ACT_SET_NEW);
	assert_int_equal(s.phase, ROT_REAPPLY); /* promoted: retried, not rolled back */
	assert_int_equal(step(&s, TU_NOW + 30, true), ROT_ACT_SET_NEW);
	assert_int_equal(s.phase, ROT_REAPPLIED);
	assert_int_equal(step(&s, TU_NOW + 30, false), ROT_ACT_VERIFY_NEW);
	assert_int_equal(s.phase, ROT_REAPPLY);
	assert_int_equal(step(&s, TU_NOW + 90, true), ROT_ACT_SET_NEW);
	assert_int_equal(step(&s, TU_NOW + 90, true), ROT_ACT_VERIFY_NEW);
	assert_int_equal(s.phase, ROT_PROMOTED);
	assert_int_equal(s.retire_after, TU_NOW + 100); /* the grace is kept */
	assert_int_equal(rotation_next(&s, TU_NOW + 99, true), ROT_ACT_WAIT);
}

/* ---- names and audit types ----------------------------------------------- */

static void test_names(void **state)
{
	for (int p = 0; p < ROT_PHASE_COUNT; p++) {
		rot_phase_t back;
		assert_int_equal(rotation_phase_parse(rotation_phase_name((rot_phase_t)p), &back), 0);
		assert_int_equal(back, p);
	}
	rot_phase_t x;
	assert_int_equal(rotation_phase_parse("Idle", &x), -1);
	assert_int_equal(rotation_phase_parse("", &x), -1);
	assert_string_equal(rotation_phase_name(ROT_PHASE_COUNT), "unknown");
	for (int a = 0; a < ROT_ACT_COUNT; a++)
		assert_string_not_equal(rotation_action_name((rot_action_t)a), "unknown");
	assert_string_equal(rotation_action_name(ROT_ACT_COUNT), "unknown");
}

static void test_audit_types(void **state)
{
	assert_string_equal(rotation_audit_type(ROT_ACT_GENERATE, true), "secret.rotation.started");
	assert_string_equal(rotation_audit_type(ROT_ACT_PROMOTE, true), "secret.rotated");
	assert_string_equal(rotation_audit_type(ROT_ACT_ABANDON, true), "secret.rotation.rolled_back");
	assert_string_equal(rotation_audit_type(ROT_ACT_SET_NEW, true), "secret.rotation.step");
	assert_string_equal(rotation_audit_type(ROT_ACT_RETIRE, true), "secret.rotation.step");
	for (int a = 0; a < ROT_ACT_COUNT; a++)
		assert_string_equal(rotation_audit_type((rot_action_t)a, false), "secret.rotation.failed");
}

/* ---- target documents ---------------------------------------------------- */

static int parse_text(const char *text, rot_target_t *t, char *err, size_t len)
{
	json_t *doc = json_loads(text, 0, NULL);
	assert_non_null(doc);
	int rc = rotation_target_parse(doc, t, err, len);
	json_decref(doc);
	return rc;
}

static void refused(const char *text, const char *needle)
{
	rot_target_t t;
	char err[300] = "";
	if (parse_text(text, &t, err, sizeof err) == 0)
		fail_msg("accepted: %s", text);
	if (strstr(err, needle) == NULL)
		fail_msg("%s: error \"%s\" does not name \"%s\"", text, err, needle);
}

static void test_target_postgres(void **state)
{
	rot_target_t t;
	char err[300];
	assert_int_equal(parse_text("{\"driver\":\"postgres\",\"dsn\":\"host=127.0.0.1 port=5432 user=admin "
				    "dbname='my db' application_name = 'a\\\\'b'\",\"role\":\"app_rw\","
				    "\"password_file\":\"/etc/tg/pg\",\"sslmode\":\"require\",\"timeout\":5}",
				    &t, err, sizeof err),
			 0);
	assert_int_equal(t.kind, ROT_DRIVER_POSTGRES);
	assert_string_equal(t.role, "app_rw");
	assert_string_equal(t.password_file, "/etc/tg/pg");
	assert_string_equal(t.sslmode, "require");
	assert_int_equal(t.timeout, 5);
	rotation_target_free(&t);
	assert_int_equal(parse_text("{\"driver\":\"postgres\",\"dsn\":\"host=/run/pg\",\"role\":\"r\","
				    "\"password_secret\":\"pg-admin\"}",
				    &t, err, sizeof err),
			 0);
	assert_string_equal(t.password_secret, "pg-admin");
	assert_int_equal(t.timeout, ROT_DEFAULT_DRIVER_TIMEOUT);
	assert_int_equal(t.retry_base, ROT_DEFAULT_RETRY_BASE);
	assert_int_equal(t.retry_max, ROT_DEFAULT_RETRY_MAX);
	rotation_target_free(&t);
}

static void test_target_postgres_refused(void **state)
{
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h password=x\",\"role\":\"r\",\"password_file\":\"/f\"}",
		"must not hold a password");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h PASSWORD = 'x'\",\"role\":\"r\",\"password_file\":\"/f\"}",
		"must not hold a password");
	refused("{\"driver\":\"postgres\",\"dsn\":\"passfile=/x\",\"role\":\"r\",\"password_file\":\"/f\"}",
		"passfile");
	refused("{\"driver\":\"postgres\",\"dsn\":\"postgresql://u:pw@h/db\",\"role\":\"r\",\"password_file\":\"/f\"}",
		"not a URI");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host\",\"role\":\"r\",\"password_file\":\"/f\"}", "keyword=value");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host='x\",\"role\":\"r\",\"password_file\":\"/f\"}", "unterminated");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"a b\",\"password_file\":\"/f\"}", "role must");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\\\"; DROP\",\"password_file\":\"/f\"}",
		"role must");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\"}", "exactly one");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\",\"password_file\":\"/f\","
		"\"password_secret\":\"s\"}",
		"exactly one");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\",\"password_file\":\"rel\"}", "absolute");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"password_file\":\"/f\"}", "needs dsn and role");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\",\"password_file\":\"/f\",\"sslmode\":\"x\"}",
		"sslmode");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\",\"password_file\":\"/f\",\"timeout\":0}",
		"timeout");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\",\"password_file\":\"/f\",\"timeout\":\"5\"}",
		"timeout");
	refused("{\"driver\":\"postgres\",\"dsn\":\"host=h\",\"role\":\"r\",\"password_file\":\"/f\",\"command\":\"/x\"}",
		"unknown member \"command\"");
	refused("{\"driver\":\"postgres\",\"dsn\":7,\"role\":\"r\",\"password_file\":\"/f\"}", "dsn must be a string");
}

static void test_target_exec(void **state)
{
	rot_target_t t;
	char err[300];
	assert_int_equal(parse_text("{\"driver\":\"exec\",\"command\":\"/usr/local/bin/rot\",\"args\":[\"-v\",\"x\"],"
				    "\"config\":{\"host\":\"plc-7\"},\"timeout\":30}",
				    &t, err, sizeof err),
			 0);
	assert_int_equal(t.kind, ROT_DRIVER_EXEC);
	assert_string_equal(t.command, "/usr/local/bin/rot");
	assert_string_equal(t.args[0], "-v");
	assert_string_equal(t.args[1], "x");
	assert_null(t.args[2]);
	assert_string_equal(json_string_value(json_object_get(t.config, "host")), "plc-7");
	rotation_target_free(&t);
	refused("{\"driver\":\"exec\",\"command\":\"rot.sh\"}", "absolute path");
	refused("{\"driver\":\"exec\"}", "needs command");
	refused("{\"driver\":\"exec\",\"command\":\"/x\",\"args\":\"-v\"}", "args must be an array");
	refused("{\"driver\":\"exec\",\"command\":\"/x\",\"args\":[1]}", "args[0]");
	refused("{\"driver\":\"exec\",\"command\":\"/x\",\"args\":[\"a\\nb\"]}", "args[0]");
	refused("{\"driver\":\"exec\",\"command\":\"/x\",\"config\":[]}", "config must be an object");
	refused("{\"driver\":\"exec\",\"command\":\"/x\",\"url\":\"http://a\"}", "unknown member");
	refused("{\"driver\":\"exec\",\"command\":\"/x\",\"args\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
		"\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"]}",
		"at most 16");
}

static void test_target_webhook(void **state)
{
	rot_target_t t;
	char err[300];
	assert_int_equal(parse_text("{\"driver\":\"webhook\",\"url\":\"https://rot.example/hook\"}", &t, err, sizeof err),
			 0);
	assert_int_equal(t.kind, ROT_DRIVER_WEBHOOK);
	assert_true(json_is_object(t.config));
	rotation_target_free(&t);
	refused("{\"driver\":\"webhook\",\"url\":\"ftp://x\"}", "https://");
	refused("{\"driver\":\"webhook\",\"url\":\"http://a\",\"retry_base\":60,\"retry_max\":59}", "retry_max must not");
	refused("{\"driver\":\"webhook\",\"url\":\"http://a\",\"retry_base\":0}", "retry_base must be");
	refused("{\"driver\":\"webhook\",\"url\":\"http://a\",\"retry_max\":86401}", "retry_max must be");
	assert_int_equal(parse_text("{\"driver\":\"webhook\",\"url\":\"http://a\",\"retry_base\":2,\"retry_max\":9}", &t,
				    err, sizeof err),
			 0);
	assert_int_equal(t.retry_base, 2);
	assert_int_equal(t.retry_max, 9);
	rotation_target_free(&t);
	refused("{\"driver\":\"webhook\",\"url\":\"http://a b\"}", "spaces");
	refused("{\"driver\":\"webhook\"}", "needs url");
	refused("{\"driver\":\"carrier-pigeon\"}", "driver must be");
	refused("{\"url\":\"http://a\"}", "driver is required");
	rot_target_t u;
	json_t *arr = json_array();
	char err2[200];
	assert_int_equal(rotation_target_parse(arr, &u, err2, sizeof err2), -1);
	json_decref(arr);
}

/* ---- requests and answers ---------------------------------------------------- */

static void test_request(void **state)
{
	json_t *cfg = json_pack("{s:s}", "host", "plc-7");
	char *text = rotation_request_json(ROT_OP_SET, "erp-db", cfg, "n3w", "0ld");
	assert_non_null(text);
	assert_string_equal(text, "{\"new\":\"n3w\",\"old\":\"0ld\",\"op\":\"set\",\"secret\":\"erp-db\","
				  "\"target\":{\"host\":\"plc-7\"}}");
	free(text);
	text = rotation_request_json(ROT_OP_VERIFY, "erp-db", NULL, "n3w", NULL);
	assert_string_equal(text, "{\"new\":\"n3w\",\"op\":\"verify\",\"secret\":\"erp-db\",\"target\":{}}");
	free(text);
	text = rotation_request_json(ROT_OP_REVOKE, "s", cfg, NULL, "o");
	assert_string_equal(text, "{\"old\":\"o\",\"op\":\"revoke\",\"secret\":\"s\",\"target\":{\"host\":\"plc-7\"}}");
	free(text);
	/* The caller's config is left as it was. */
	assert_int_equal(json_object_size(cfg), 1);
	json_decref(cfg);
}

static void test_answer_ok(void **state)
{
	bool ok = false;
	char e[ROT_MAX_ANSWER_ERROR + 1], err[200];
	const char *a = " {\"ok\":true}\n";
	assert_int_equal(rotation_answer_parse(a, strlen(a), &ok, e, err, sizeof err), 0);
	assert_true(ok);
	assert_string_equal(e, "");
	a = "{\"ok\":false,\"error\":\"login refused\"}";
	assert_int_equal(rotation_answer_parse(a, strlen(a), &ok, e, err, sizeof err), 0);
	assert_false(ok);
	assert_string_equal(e, "login refused");
}

static void answer_refused(const char *a, size_t len, const char *needle)
{
	bool ok;
	char e[ROT_MAX_ANSWER_ERROR + 1], err[200] = "";
	if (rotation_answer_parse(a, len, &ok, e, err, sizeof err) == 0)
		fail_msg("accepted: %s", a);
	if (strstr(err, needle) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", a, err, needle);
}

static void test_answer_refused(void **state)
{
	static const char *const v[][2] = {
		{"", "not one JSON object"},
		{"garbage", "not one JSON object"},
		{"{\"ok\":true}{\"ok\":true}", "not one JSON object"},
		{"{\"ok\":true,\"ok\":false}", "not one JSON object"},
		{"[true]", "boolean \"ok\""},
		{"{\"ok\":1}", "boolean \"ok\""},
		{"{\"error\":\"x\"}", "boolean \"ok\""},
		{"{\"ok\":true,\"extra\":1}", "unknown member"},
		{"{\"ok\":false,\"error\":5}", "error must be a string"},
		{"{\"ok\":false,\"error\":\"a\\u0000b\"}", "not one JSON object"},
		{"{\"ok\":false,\"error\":\"a\\nb\"}", "error must be a string"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		answer_refused(v[i][0], strlen(v[i][0]), v[i][1]);
	char big[ROT_MAX_ANSWER + 2];
	memset(big, ' ', sizeof big);
	memcpy(big, "{\"ok\":true}", 11);
	answer_refused(big, sizeof big, "larger than");
	char longerr[ROT_MAX_ANSWER_ERROR + 40];
	int n = snprintf(longerr, sizeof longerr, "{\"ok\":false,\"error\":\"%0*d\"}", ROT_MAX_ANSWER_ERROR + 1, 0);
	answer_refused(longerr, (size_t)n, "at most");
}

static void test_role_valid(void **state)
{
	assert_true(rotation_role_valid("app_rw"));
	assert_true(rotation_role_valid("a.b-c"));
	assert_false(rotation_role_valid(""));
	assert_false(rotation_role_valid("a\"b"));
	assert_false(rotation_role_valid("a b"));
	char r[70];
	memset(r, 'a', 63);
	r[63] = '\0';
	assert_true(rotation_role_valid(r));
	r[63] = 'a';
	r[64] = '\0';
	assert_false(rotation_role_valid(r));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_zero_grace),
		cmocka_unit_test(test_rollback_on_set_failure),
		cmocka_unit_test(test_rollback_on_verify_failure),
		cmocka_unit_test(test_rollback_restore_fails_then_succeeds),
		cmocka_unit_test(test_after_promotion_retries),
		cmocka_unit_test(test_store_failures_retry_same_step),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_wait_and_none_change_nothing),
		cmocka_unit_test(test_reconcile_every_phase),
		cmocka_unit_test(test_reconcile_table),
		cmocka_unit_test(test_reapply_path),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_audit_types),
		cmocka_unit_test(test_target_postgres),
		cmocka_unit_test(test_target_postgres_refused),
		cmocka_unit_test(test_target_exec),
		cmocka_unit_test(test_target_webhook),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_answer_ok),
		cmocka_unit_test(test_answer_refused),
		cmocka_unit_test(test_role_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
