/* test_monitor.c - the behaviour monitor, pure (src/core/monitor*.c):
 * audit records into events, and each detector at its documented
 * threshold (fires at it, not below it), silence on normal traffic after
 * learning, the caps, and the baseline document's round trip and strict
 * reading. */
#include "test_util.h"
#include "core/monitor.h"
#include "core/monitor_baseline.h"
#include "core/monitor_contain.h"
#include "core/timefmt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1800000000 /* 2027-01-15T08:00:00Z, a Friday */
#define LEARN 3600
#define MAXF 8

typedef struct {
	mon_engine_t *e;
	mon_params_t p;
	int64_t seq;
	mon_finding_t f[MAXF];
	size_t n;
} fx_t;

static void fx_init(fx_t *x)
{
	memset(x, 0, sizeof *x);
	mon_params_default(&x->p);
	x->p.learning_window = LEARN;
	x->p.hours_min_events = 20;
	x->p.cooldown = 60;
	assert_null(mon_params_operator_ranges(&x->p, "10.8.0.0/16, 2001:db8:77::/48"));
	assert_non_null(x->e = mon_engine_new(&x->p));
}

static void fx_clear(fx_t *x)
{
	for (size_t i = 0; i < x->n; i++)
		mon_finding_release(&x->f[i]);
	x->n = 0;
}

static void fx_free(fx_t *x)
{
	fx_clear(x);
	mon_engine_free(x->e);
}

static void time_of(int64_t t, char out[32])
{
	char s[RFC3339_LEN];
	rfc3339(t, s);
	snprintf(out, 32, "%.19s.000000Z", s);
}

static void dump(const fx_t *x)
{
	for (size_t i = 0; i < x->n; i++)
		fprintf(stderr, "finding: %s %s %s\n", mon_detector_name(x->f[i].detector),
			mon_severity_name(x->f[i].severity), x->f[i].summary);
}

/* Feeds one record; returns the number of findings it raised. */
static size_t feed(fx_t *x, json_t *rec)
{
	mon_event_t ev;
	fx_clear(x);
	assert_int_equal(mon_event_from_record(rec, &ev), 0);
	json_decref(rec);
	x->n = mon_engine_feed(x->e, &ev, x->f, MAXF);
	dump(x);
	return x->n;
}

static json_t *record(fx_t *x, const char *type, int64_t t, const char *actor, const char *action,
		      const char *resource, const char *jti, const char *src, json_t *details)
{
	char tm[32];
	time_of(t, tm);
	return json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}", "seq", (json_int_t)++x->seq, "time", tm,
			 "type", type, "actor", actor, "action", action, "resource", resource, "jti", jti, "src", src,
			 "details", details ? details : json_object());
}

static size_t issued(fx_t *x, int64_t t, const char *jti, const char *src)
{
	return feed(x, record(x, "token.issued", t, "wl", "oauth.token", "orders.read@Api:orders", jti, src, NULL));
}

static size_t allow(fx_t *x, int64_t t, const char *action, const char *resource, const char *jti, const char *src)
{
	return feed(x, record(x, "authz.allow", t, "wl", action, resource, jti, src, NULL));
}

static size_t deny(fx_t *x, int64_t t, const char *reason, const char *jti, const char *src)
{
	return feed(x, record(x, "authz.deny", t, "wl", "orders.delete", "Api:orders", jti, src,
			      json_pack("{s:s}", "reason", reason)));
}

/* A quiet hour of normal traffic: a token and 20 reads a minute, from 10.0.0.5. */
static void learn_normal(fx_t *x)
{
	for (int m = 0; m < 60; m++) {
		assert_int_equal(issued(x, T0 + m * 60, "j-learn", "10.0.0.5"), 0);
		for (int i = 0; i < 20; i++)
			assert_int_equal(allow(x, T0 + m * 60 + i, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 0);
	}
}

static bool found(const fx_t *x, mon_detector_t d, mon_severity_t s)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->f[i].detector == d && x->f[i].severity == s)
			return true;
	return false;
}

/* ---- events ---- */

static void test_event_authz(void **state)
{
	(void)state;
	mon_event_t ev;
	json_t *r = tu_json("{\"seq\": 7, \"time\": \"2027-01-15T08:00:01.123456Z\", \"type\": \"authz.allow\","
			    " \"actor\": \"Workload:wl-1\", \"action\": \"orders.read\", \"resource\": \"Api:orders\","
			    " \"jti\": \"j1\", \"grant\": null, \"src\": \"127.0.0.1\","
			    " \"details\": {\"context\": {\"src_ip\": {\"__extn\": {\"fn\": \"ip\", \"arg\": \"10.1.2.3\"}}},"
			    " \"user_agent\": \"curl/8\"}}");
	assert_int_equal(mon_event_from_record(r, &ev), 0);
	assert_int_equal(ev.kind, MEV_ALLOW);
	assert_int_equal(ev.seq, 7);
	assert_int_equal(ev.t, T0 + 1);
	assert_string_equal(ev.identity, "wl-1");
	assert_string_equal(ev.src, "10.1.2.3");
	assert_string_equal(ev.user_agent, "curl/8");
	json_decref(r);
	r = tu_json("{\"seq\": 8, \"time\": \"2027-01-15T08:00:01.0Z\", \"type\": \"authz.deny\", \"actor\": \"Operator:alice\"}");
	assert_int_equal(mon_event_from_record(r, &ev), 1); /* not a machine identity */
	json_decref(r);
	r = tu_json("{\"seq\": 8, \"time\": \"2027-01-15T08:00:01.0Z\", \"type\": \"policy.changed\", \"actor\": \"admin\"}");
	assert_int_equal(mon_event_from_record(r, &ev), 1);
	json_decref(r);
	r = tu_json("{\"seq\": 8, \"time\": \"yesterday\", \"type\": \"authz.deny\", \"actor\": \"wl\"}");
	assert_int_equal(mon_event_from_record(r, &ev), -1);
	json_decref(r);
	r = tu_json("{\"seq\": 8, \"time\": \"2027-01-15T08:00:01.0Z\", \"type\": \"authz.deny\", \"actor\": 5}");
	assert_int_equal(mon_event_from_record(r, &ev), -1);
	json_decref(r);
}

/* A long User-Agent or resource (the requester's choice) is cut to fit, at
 * a character boundary, instead of hiding the record from the detectors. */
static void test_event_long_requester_members(void **state)
{
	(void)state;
	mon_event_t ev;
	char ua[MON_UA_LEN + 40], res[MON_RESOURCE_LEN + 40];
	memset(ua, 'a', sizeof ua - 1);
	ua[sizeof ua - 1] = '\0';
	memcpy(ua, "Mozilla/5.0 ", 12);
	memcpy(ua + MON_UA_LEN - 2, "\xc3\xa9", 2); /* an e-acute across the cut */
	memset(res, 'x', sizeof res - 1);
	res[sizeof res - 1] = '\0';
	memcpy(res, "Order:", 6);
	json_t *r = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "seq", 9, "time", "2027-01-15T08:00:01.0Z",
			      "type", "authz.deny", "actor", "wl", "action", "orders.read", "resource", res, "details",
			      "user_agent", ua);
	assert_int_equal(mon_event_from_record(r, &ev), 0);
	assert_int_equal(strlen(ev.user_agent), MON_UA_LEN - 2);
	assert_memory_equal(ev.user_agent, ua, MON_UA_LEN - 2);
	assert_int_equal(strlen(ev.resource), MON_RESOURCE_LEN);
	assert_memory_equal(ev.resource, res, MON_RESOURCE_LEN);
	json_decref(r);
	r = json_pack("{s:i, s:s, s:s, s:s, s:{s:i}}", "seq", 9, "time", "2027-01-15T08:00:01.0Z", "type", "authz.deny",
		      "actor", "wl", "details", "user_agent", 5);
	assert_int_equal(mon_event_from_record(r, &ev), -1); /* the wrong type stays malformed */
	json_decref(r);
}

/* ... and the browser behind such a User-Agent is still reported. */
static void test_interactive_use_long_user_agent(void **state)
{
	(void)state;
	fx_t x;
	char ua[2048];
	memset(ua, 'a', sizeof ua - 1);
	ua[sizeof ua - 1] = '\0';
	memcpy(ua, "Mozilla/5.0 ", 12);
	fx_init(&x);
	assert_int_equal(feed(&x, record(&x, "authz.allow", T0, "wl", "orders.read", "Api:orders", NULL, "10.0.0.5",
					json_pack("{s:s}", "user_agent", ua))),
			 1);
	assert_true(found(&x, DET_INTERACTIVE_USE, SEV_HIGH));
	fx_free(&x);
}

static void test_event_grant(void **state)
{
	(void)state;
	mon_event_t ev;
	json_t *r = tu_json("{\"seq\": 3, \"time\": \"2027-01-15T08:00:00.0Z\", \"type\": \"grant.approved\","
			    " \"actor\": \"bob\", \"grant\": \"g-1\", \"details\": {\"identity\": \"wl\","
			    " \"scope\": \"modbus.write@Device:plc-7 modbus.read@Zone:l3 modbus.write@Device:plc-8\"}}");
	assert_int_equal(mon_event_from_record(r, &ev), 0);
	assert_int_equal(ev.kind, MEV_GRANT_START);
	assert_string_equal(ev.identity, "wl");
	assert_int_equal(ev.n_grant_actions, 2);
	assert_true(ev.grant_actions[0] == mon_hash("modbus.write"));
	assert_true(ev.grant_actions[1] == mon_hash("modbus.read"));
	json_decref(r);
}

/* ---- detectors ---- */

static void test_normal_traffic_is_quiet(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	learn_normal(&x);
	for (int m = 60; m < 120; m++) /* the same after learning */
		for (int i = 0; i < 20; i++)
			assert_int_equal(allow(&x, T0 + m * 60 + i, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 0);
	assert_int_equal(allow(&x, T0 + 3700, "orders.read", "Api:orders", NULL, "10.0.0.77"), 0); /* same /24 */
	fx_free(&x);
}

static void test_first_use(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	learn_normal(&x);
	assert_int_equal(allow(&x, T0 + LEARN + 1, "orders.delete", "Api:orders", "j-learn", "10.0.0.5"), 1);
	assert_true(found(&x, DET_NEW_ACTION, SEV_MEDIUM));
	assert_int_equal(allow(&x, T0 + LEARN + 2, "orders.delete", "Api:orders", "j-learn", "10.0.0.5"), 0); /* once */
	assert_int_equal(allow(&x, T0 + LEARN + 3, "orders.read", "Api:billing", "j-learn", "10.0.0.5"), 1);
	assert_true(found(&x, DET_NEW_RESOURCE, SEV_LOW));
	assert_int_equal(json_integer_value(json_object_get(x.f[0].evidence, "seq")), x.seq);
	fx_free(&x);
}

static void test_new_use_while_learning_is_learned(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	assert_int_equal(allow(&x, T0, "orders.read", "Api:orders", NULL, "10.0.0.5"), 0);
	assert_int_equal(allow(&x, T0 + LEARN - 1, "orders.delete", "Api:orders", NULL, "10.0.0.5"), 0);
	assert_int_equal(allow(&x, T0 + LEARN, "orders.delete", "Api:orders", NULL, "10.0.0.5"), 0);
	fx_free(&x);
}

static void test_rate_spike_at_threshold(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	learn_normal(&x); /* median 21 (20 reads and the issuance's minute), MAD 0: threshold max(60, 21 + 10) = 60 */
	int64_t m = T0 + LEARN + 600;
	for (int i = 0; i < 60; i++)
		assert_int_equal(allow(&x, m, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 0);
	assert_int_equal(allow(&x, m + 1, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 1);
	assert_true(found(&x, DET_RATE_SPIKE, SEV_MEDIUM));
	assert_int_equal(json_integer_value(json_object_get(x.f[0].evidence, "threshold")), 60);
	assert_int_equal(allow(&x, m + 2, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 0); /* once a minute */
	fx_free(&x);
}

static void test_deny_burst_at_threshold(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	for (int i = 0; i < 9; i++) /* spread: 9 in the window, then the window moves */
		assert_int_equal(deny(&x, T0 + i * 7, "forbidden", NULL, "10.0.0.5"), 0);
	assert_int_equal(deny(&x, T0 + 61, "forbidden", NULL, "10.0.0.5"), 0); /* the first left: 9 within 60 s */
	assert_int_equal(deny(&x, T0 + 62, "forbidden", NULL, "10.0.0.5"), 1); /* 10 within 60 s */
	assert_true(found(&x, DET_DENY_BURST, SEV_HIGH));
	assert_int_equal(deny(&x, T0 + 63, "forbidden", NULL, "10.0.0.5"), 0); /* not again within the window */
	fx_free(&x);
}

static void test_foreign_source(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	assert_int_equal(issued(&x, T0, "j1", "10.0.0.5"), 0);
	assert_int_equal(allow(&x, T0 + 1, "orders.read", "Api:orders", "j1", "10.0.0.5"), 0);
	assert_int_equal(allow(&x, T0 + 2, "orders.read", "Api:orders", "j1", "10.9.9.9"), 1); /* even while learning */
	assert_true(found(&x, DET_FOREIGN_SOURCE, SEV_HIGH));
	assert_string_equal(json_string_value(json_object_get(x.f[0].evidence, "issued_to")), "10.0.0.5");
	fx_free(&x);

	fx_init(&x);
	learn_normal(&x);
	assert_int_equal(allow(&x, T0 + LEARN + 5, "orders.read", "Api:orders", NULL, "10.0.0.99"), 0);
	assert_int_equal(allow(&x, T0 + LEARN + 6, "orders.read", "Api:orders", NULL, "192.0.2.7"), 1);
	assert_true(found(&x, DET_FOREIGN_SOURCE, SEV_MEDIUM));
	fx_free(&x);
}

static void test_off_hours(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	learn_normal(&x); /* every use at 08:xx on Friday */
	assert_int_equal(allow(&x, T0 + 3600 + 60, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 0); /* 09:01 beside */
	assert_int_equal(allow(&x, T0 + 7 * 3600, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 1);  /* 15:00 */
	assert_true(found(&x, DET_OFF_HOURS, SEV_LOW));
	assert_int_equal(allow(&x, T0 + 7 * 3600 + 5, "orders.read", "Api:orders", "j-learn", "10.0.0.5"), 0);
	fx_free(&x);

	fx_init(&x); /* too few events learned: not judged */
	assert_int_equal(allow(&x, T0, "orders.read", "Api:orders", NULL, "10.0.0.5"), 0);
	assert_int_equal(allow(&x, T0 + 7 * 3600, "orders.read", "Api:orders", NULL, "10.0.0.5"), 0);
	fx_free(&x);
}

static void test_revoked_token(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	assert_int_equal(deny(&x, T0, "forbidden by policy", "j1", "10.0.0.5"), 0);
	assert_int_equal(deny(&x, T0 + 1, "revoked", "j1", "10.0.0.5"), 1);
	assert_true(found(&x, DET_REVOKED_TOKEN, SEV_HIGH));
	assert_int_equal(deny(&x, T0 + 2, "revoked", "j1", "10.0.0.5"), 0); /* cooldown */
	fx_free(&x);
	fx_init(&x);
	assert_int_equal(deny(&x, T0, "token has expired", "j1", "10.0.0.5"), 1);
	assert_true(found(&x, DET_REVOKED_TOKEN, SEV_LOW));
	fx_free(&x);
	fx_init(&x);
	assert_int_equal(deny(&x, T0, "token has been revoked", "j1", "10.0.0.5"), 1);
	assert_true(found(&x, DET_REVOKED_TOKEN, SEV_HIGH));
	fx_free(&x);
}

static void test_interactive_use(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	assert_int_equal(allow(&x, T0, "orders.read", "Api:orders", NULL, "10.7.255.255"), 0);
	assert_int_equal(allow(&x, T0 + 1, "orders.read", "Api:orders", NULL, "10.8.1.2"), 1);
	assert_true(found(&x, DET_INTERACTIVE_USE, SEV_HIGH));
	fx_free(&x);
	fx_init(&x);
	assert_int_equal(feed(&x, record(&x, "authz.allow", T0, "wl", "orders.read", "Api:orders", NULL, "10.0.0.5",
					json_pack("{s:s}", "user_agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"))),
			 1);
	assert_true(found(&x, DET_INTERACTIVE_USE, SEV_HIGH));
	fx_free(&x);
}

static size_t grant_move(fx_t *x, const char *type, int64_t t, const char *scope)
{
	char tm[32];
	time_of(t, tm);
	return feed(x, json_pack("{s:I, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "seq", (json_int_t)++x->seq, "time", tm,
				 "type", type, "actor", "bob", "grant", "g-1", "details", "identity", "wl", "scope", scope));
}

static size_t grant_use(fx_t *x, int64_t t, const char *action)
{
	return feed(x, record(x, "authz.allow", t, "wl", action, "Device:plc-7", NULL, "10.0.0.5", NULL));
}

static void test_unused_grant(void **state)
{
	(void)state;
	const char *scope = "modbus.write@Device:plc-7 modbus.read@Device:plc-7 modbus.diagnostic@Device:plc-7";
	fx_t x;
	fx_init(&x);
	assert_int_equal(grant_move(&x, "grant.approved", T0, scope), 0);
	assert_int_equal(grant_move(&x, "grant.ended", T0 + 600, scope), 1);
	assert_true(found(&x, DET_UNUSED_GRANT, SEV_LOW));
	fx_free(&x);

	fx_init(&x); /* 1 of 3 actions: under 50 % */
	assert_int_equal(grant_move(&x, "grant.approved", T0, scope), 0);
	json_t *r = record(&x, "authz.allow", T0 + 1, "wl", "modbus.read", "Device:plc-7", NULL, "10.0.0.5", NULL);
	json_object_set_new(r, "grant", json_string("g-1"));
	assert_int_equal(feed(&x, r), 0);
	assert_int_equal(grant_move(&x, "grant.expired", T0 + 600, scope), 1);
	assert_true(found(&x, DET_UNUSED_GRANT, SEV_INFO));
	fx_free(&x);

	fx_init(&x); /* 2 of 3: enough */
	assert_int_equal(grant_move(&x, "grant.approved", T0, scope), 0);
	for (int i = 0; i < 2; i++) {
		r = record(&x, "authz.allow", T0 + 1, "wl", i ? "modbus.read" : "modbus.write", "Device:plc-7", NULL,
			   "10.0.0.5", NULL);
		json_object_set_new(r, "grant", json_string("g-1"));
		assert_int_equal(feed(&x, r), 0);
	}
	assert_int_equal(grant_move(&x, "grant.revoked", T0 + 600, scope), 0);
	assert_int_equal(grant_move(&x, "grant.ended", T0 + 601, scope), 0); /* no longer followed */
	(void)grant_use;
	fx_free(&x);
}

/* ---- bounds and persistence ---- */

static void test_identity_cap(void **state)
{
	(void)state;
	fx_t x;
	fx_init(&x);
	mon_engine_free(x.e);
	x.p.max_identities = 2;
	x.e = mon_engine_new(&x.p);
	const char *ids[] = {"a", "b", "c"};
	for (int i = 0; i < 3; i++)
		feed(&x, record(&x, "authz.deny", T0, ids[i], "x", "Api:y", NULL, "10.0.0.1",
				json_pack("{s:s}", "reason", "revoked")));
	assert_int_equal(x.n, 0); /* c is not followed */
	assert_int_equal(mon_engine_identities(x.e), 2);
	assert_int_equal(mon_engine_untracked(x.e), 1);
	fx_free(&x);
}

static void test_set_cap_overflow(void **state)
{
	(void)state;
	fx_t x;
	char res[32];
	fx_init(&x);
	for (int i = 0; i <= MON_MAX_RESOURCES; i++) {
		snprintf(res, sizeof res, "Api:r%d", i);
		assert_int_equal(allow(&x, T0 + i % 60, "orders.read", res, NULL, "10.0.0.5"), 0);
	}
	const mon_baseline_t *b = mon_engine_baseline(x.e, "wl");
	assert_int_equal(b->resources.n, MON_MAX_RESOURCES);
	assert_true(b->resources.overflow);
	assert_int_equal(allow(&x, T0 + LEARN, "orders.read", "Api:new", NULL, "10.0.0.5"), 0); /* check off */
	fx_free(&x);
}

static void save(void *ctx, const char *identity, const json_t *doc)
{
	json_t *all = ctx;
	json_object_set(all, identity, (json_t *)doc);
}

static void test_baseline_round_trip(void **state)
{
	(void)state;
	fx_t x;
	char why[200];
	fx_init(&x);
	learn_normal(&x);
	assert_int_equal(grant_move(&x, "grant.approved", T0 + 5, "a.b@Api:x"), 0);
	assert_int_equal(deny(&x, T0 + 6, "forbidden", "j1", "10.0.0.5"), 0);
	json_t *all = json_object();
	assert_int_equal(mon_engine_dirty(x.e, save, all), 1);
	assert_int_equal(mon_engine_dirty(x.e, save, all), 0); /* marks cleared */
	json_t *doc = json_object_get(all, "wl");
	mon_engine_t *e2 = mon_engine_new(&x.p);
	assert_int_equal(mon_engine_load(e2, doc, why, sizeof why), 0);
	json_t *again = mon_baseline_json(mon_engine_baseline(e2, "wl"));
	assert_true(json_equal(doc, again));
	json_decref(again);
	/* the reloaded engine judges as the first would */
	mon_finding_t f[MAXF];
	mon_event_t ev;
	json_t *r = record(&x, "authz.allow", T0 + LEARN + 1, "wl", "orders.delete", "Api:orders", NULL, "10.0.0.5", NULL);
	assert_int_equal(mon_event_from_record(r, &ev), 0);
	json_decref(r);
	assert_int_equal(mon_engine_feed(e2, &ev, f, MAXF), 1);
	assert_int_equal(f[0].detector, DET_NEW_ACTION);
	mon_finding_release(&f[0]);
	mon_engine_free(e2);
	json_decref(all);
	fx_free(&x);
}

static void test_baseline_refused(void **state)
{
	(void)state;
	fx_t x;
	char why[200];
	fx_init(&x);
	learn_normal(&x);
	json_t *good = mon_baseline_json(mon_engine_baseline(x.e, "wl"));
	const char *breaks[][2] = {
		{"v", "2"}, {"identity", "\"\""}, {"hours", "[1, 2]"}, {"rate", "[-1]"}, {"tokens", "[[\"j\"]]"},
		{"actions", "[1]"}, {"actions_overflow", "0"}, {"grants", "[{\"id\": \"g\"}]"},
		{"last_alert", "{\"nope\": 1}"}, {"deny_times", "[\"x\"]"}, {"minute", "-5"},
	};
	for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
		json_t *doc = json_deep_copy(good);
		json_object_set_new(doc, breaks[i][0], json_loads(breaks[i][1], JSON_DECODE_ANY, NULL));
		mon_engine_t *e2 = mon_engine_new(&x.p);
		why[0] = '\0';
		assert_int_equal(mon_engine_load(e2, doc, why, sizeof why), -1);
		assert_true(why[0] != '\0');
		mon_engine_free(e2);
		json_decref(doc);
	}
	json_t *big = json_deep_copy(good), *many = json_array();
	for (int i = 0; i <= MON_MAX_ACTIONS; i++)
		json_array_append_new(many, json_sprintf("a%d", i));
	json_object_set_new(big, "actions", many);
	mon_engine_t *e3 = mon_engine_new(&x.p);
	assert_int_equal(mon_engine_load(e3, big, why, sizeof why), -1);
	mon_engine_free(e3);
	json_decref(big);
	json_decref(good);
	fx_free(&x);
}

static void test_names(void **state)
{
	(void)state;
	for (int d = 0; d < DET_COUNT; d++)
		assert_int_equal(mon_detector_parse(mon_detector_name((mon_detector_t)d)), d);
	for (int s = 0; s < SEV_COUNT; s++)
		assert_int_equal(mon_severity_parse(mon_severity_name((mon_severity_t)s)), s);
	assert_int_equal(mon_detector_parse("nope"), -1);
	mon_params_t p;
	mon_params_default(&p);
	assert_non_null(mon_params_operator_ranges(&p, "10.0.0.0/33"));
	assert_null(mon_params_operator_ranges(&p, ""));
	assert_int_equal(p.n_operator_ranges, 0);
	char net[64];
	mon_net_of("192.0.2.77", net, sizeof net);
	assert_string_equal(net, "192.0.2.0/24");
	mon_net_of("2001:db8:1:2:3:4:5:6", net, sizeof net);
	assert_string_equal(net, "2001:db8:1:2::/64");
	mon_net_of("unknown", net, sizeof net);
	assert_string_equal(net, "");
}

static void test_contain_rules(void **state)
{
	(void)state;
	contain_policy_t p;
	char buf[200];
	assert_null(contain_parse("enforce", "deny_burst:high=suspend+revoke_tokens; *:critical=end_grants new_action=suspend",
				  &p, buf, sizeof buf));
	assert_int_equal(p.mode, CONTAIN_ENFORCE);
	assert_int_equal(p.n, 3);
	assert_int_equal(contain_actions(&p, DET_DENY_BURST, SEV_HIGH), CONTAIN_SUSPEND | CONTAIN_REVOKE_TOKENS);
	assert_int_equal(contain_actions(&p, DET_DENY_BURST, SEV_MEDIUM), 0);
	assert_int_equal(contain_actions(&p, DET_RATE_SPIKE, SEV_CRITICAL), CONTAIN_END_GRANTS);
	assert_int_equal(contain_actions(&p, DET_NEW_ACTION, SEV_LOW), CONTAIN_SUSPEND); /* default: low and up */
	assert_int_equal(contain_actions(&p, DET_NEW_ACTION, SEV_INFO), 0);
	assert_null(contain_parse("off", "", &p, buf, sizeof buf));
	assert_int_equal(p.n, 0);
	const char *bad[][2] = {{"always", ""}, {"enforce", "deny_burst"}, {"enforce", "nope=suspend"},
				{"enforce", "deny_burst:severe=suspend"}, {"enforce", "deny_burst=kill"},
				{"enforce", "deny_burst="}, {"enforce", "deny_burst=suspend+"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_non_null(contain_parse(bad[i][0], bad[i][1], &p, buf, sizeof buf));
	assert_string_equal(contain_action_name(CONTAIN_END_GRANTS), "end_grants");
	assert_string_equal(contain_mode_name(CONTAIN_DRY_RUN), "dry_run");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_authz),
		cmocka_unit_test(test_event_long_requester_members),
		cmocka_unit_test(test_event_grant),
		cmocka_unit_test(test_normal_traffic_is_quiet),
		cmocka_unit_test(test_first_use),
		cmocka_unit_test(test_new_use_while_learning_is_learned),
		cmocka_unit_test(test_rate_spike_at_threshold),
		cmocka_unit_test(test_deny_burst_at_threshold),
		cmocka_unit_test(test_foreign_source),
		cmocka_unit_test(test_off_hours),
		cmocka_unit_test(test_revoked_token),
		cmocka_unit_test(test_interactive_use),
		cmocka_unit_test(test_interactive_use_long_user_agent),
		cmocka_unit_test(test_unused_grant),
		cmocka_unit_test(test_identity_cap),
		cmocka_unit_test(test_set_cap_overflow),
		cmocka_unit_test(test_baseline_round_trip),
		cmocka_unit_test(test_baseline_refused),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_contain_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
