/* monitor.c - the monitor thread, alerts and metrics (monitor.h).
 *
 * One instance per process, like the feed. The thread reads the audit
 * chain in batches after its cursor, turns records into events
 * (core/monitor_event.h), feeds them to the engine and raises what it
 * finds. Every MONITOR_SAVE_MS, and when it stops, it saves the changed
 * baselines and the cursor in one transaction: after a crash it reads
 * again from the last save, so a few records may be counted twice in a
 * baseline, and an alert raised since may be raised again. Records that
 * were already older than MONITOR_BACKLOG_S when the thread started are
 * learned from but raise nothing (history, not news: the monitor was off
 * or the broker down). */
#include "broker/monitor.h"
#include "broker/alerts.h"
#include "broker/metrics.h"
#include "core/b64url.h"
#include "core/monitor.h"
#include "core/monitor_event.h"
#include "core/timefmt.h"
#include "shell/log.h"
#include "store/store_monitor.h"
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MONITOR_BATCH 500
#define MONITOR_IDLE_MS 25
#define MONITOR_SAVE_MS 2000
#define MONITOR_BACKLOG_S 300
#define MAX_FINDINGS 16
#define CONTAIN_CAS_ATTEMPTS 8 /* an ack racing the results: read again and retry */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stopping;
	pthread_t thread;
	broker_t *b;
	mon_engine_t *engine;
	contain_policy_t contain;
	int64_t cursor, started;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static struct {
	atomic_ulong alerts[DET_COUNT][SEV_COUNT];
	atomic_ulong records, malformed;
	atomic_ulong contained[CONTAIN_ACTIONS][2]; /* dry_run, enforce */
	atomic_llong cursor;
	atomic_ulong identities, untracked;
} stats;

/* ---- metrics ---- */

static char *render_metrics(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (f == NULL)
		return NULL;
	fputs("# HELP tollgate_monitor_alerts_total Alerts the behaviour monitor raised, by detector and severity.\n"
	      "# TYPE tollgate_monitor_alerts_total counter\n", f);
	for (int d = 0; d < DET_COUNT; d++)
		for (int s = 0; s < SEV_COUNT; s++) {
			unsigned long v = atomic_load(&stats.alerts[d][s]);
			if (v != 0)
				fprintf(f, "tollgate_monitor_alerts_total{detector=\"%s\",severity=\"%s\"} %lu\n",
					mon_detector_name((mon_detector_t)d), mon_severity_name((mon_severity_t)s), v);
		}
	fputs("# HELP tollgate_monitor_containments_total Containment actions, carried out (enforce) or only "
	      "recorded (dry_run).\n# TYPE tollgate_monitor_containments_total counter\n", f);
	for (unsigned a = 0; a < CONTAIN_ACTIONS; a++)
		for (int m = 0; m < 2; m++)
			fprintf(f, "tollgate_monitor_containments_total{action=\"%s\",mode=\"%s\"} %lu\n",
				contain_action_name(1u << a), m ? "enforce" : "dry_run", atomic_load(&stats.contained[a][m]));
	fprintf(f,
		"# HELP tollgate_monitor_records_total Audit records the monitor has read.\n"
		"# TYPE tollgate_monitor_records_total counter\ntollgate_monitor_records_total %lu\n"
		"# HELP tollgate_monitor_malformed_total Records of the followed types the monitor could not read.\n"
		"# TYPE tollgate_monitor_malformed_total counter\ntollgate_monitor_malformed_total %lu\n"
		"# HELP tollgate_monitor_cursor Seq of the last audit record the monitor has read.\n"
		"# TYPE tollgate_monitor_cursor gauge\ntollgate_monitor_cursor %lld\n"
		"# HELP tollgate_monitor_identities Identities the monitor keeps a baseline of.\n"
		"# TYPE tollgate_monitor_identities gauge\ntollgate_monitor_identities %lu\n"
		"# HELP tollgate_monitor_untracked_total Events of identities beyond monitor_max_identities.\n"
		"# TYPE tollgate_monitor_untracked_total counter\ntollgate_monitor_untracked_total %lu\n",
		atomic_load(&stats.records), atomic_load(&stats.malformed), (long long)atomic_load(&stats.cursor),
		atomic_load(&stats.identities), atomic_load(&stats.untracked));
	fclose(f);
	return out;
}

/* ---- alerts ---- */

bool alert_id_valid(const char *id)
{
	return id != NULL && strlen(id) == ALERT_ID_LEN && strncmp(id, "al-", 3) == 0 &&
	       strspn(id + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == ALERT_ID_LEN - 3;
}

static void new_alert_id(char out[ALERT_ID_LEN + 1])
{
	uint8_t raw[12];
	randombytes_buf(raw, sizeof raw);
	memcpy(out, "al-", 3);
	b64url_encode_to(raw, sizeof raw, out + 3);
	out[ALERT_ID_LEN] = '\0';
}

static json_t *action_names(unsigned actions)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < CONTAIN_ACTIONS; i++)
		if (actions & (1u << i))
			json_array_append_new(a, json_string(contain_action_name(1u << i)));
	return a;
}

/* What containment the alert gets: null, or its mode, the actions and how
 * to reverse them. */
static json_t *containment_of(unsigned actions, const char *id)
{
	if (actions == 0 || M.contain.mode == CONTAIN_OFF)
		return json_null();
	bool enforce = M.contain.mode == CONTAIN_ENFORCE;
	json_t *c = json_pack("{s:s, s:o}", "mode", contain_mode_name(M.contain.mode), "actions", action_names(actions));
	if (!enforce)
		json_object_set_new(c, "note", json_string("dry run: nothing was contained"));
	else if (actions & CONTAIN_SUSPEND)
		json_object_set_new(c, "reverse",
				    json_sprintf("tollgate alerts release %s (reactivates the identity; needs an admin with "
						 "fresh MFA; revoked grants and tokens stay revoked: request new ones)", id));
	return c;
}

static json_t *alert_doc(const mon_finding_t *f, const char *id, int64_t now, unsigned actions)
{
	char t[RFC3339_LEN];
	rfc3339(now, t);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:O, s:s, s:o, s:n, s:n, s:n}", "id", id, "time", t,
			 "created_at", (json_int_t)now, "detector", mon_detector_name(f->detector), "severity",
			 mon_severity_name(f->severity), "identity", f->identity, "summary", f->summary, "evidence",
			 f->evidence, "state", "open", "containment", containment_of(actions, id), "acked_by", "acked_at",
			 "comment");
}

static store_rc store_alert(const json_t *doc, const mon_finding_t *f)
{
	char res[TG_MAX_ID_LEN + 16];
	char *text = json_dumps(doc, JSON_COMPACT);
	snprintf(res, sizeof res, "Identity:%s", f->identity);
	json_t *details = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "alert", json_object_get(doc, "id"), "detector",
				    json_object_get(doc, "detector"), "severity", json_object_get(doc, "severity"),
				    "summary", json_object_get(doc, "summary"), "evidence", f->evidence, "containment",
				    json_object_get(doc, "containment"));
	audit_event_t ev = {.type = "monitor.alert", .actor = "monitor", .action = "monitor.alert", .resource = res,
			    .jti = json_string_value(json_object_get(f->evidence, "jti")),
			    .grant = json_string_value(json_object_get(f->evidence, "grant")),
			    .src = json_string_value(json_object_get(f->evidence, "src")), .details = details};
	monitor_alert_row_t row = {json_string_value(json_object_get(doc, "id")), f->identity,
				   mon_detector_name(f->detector), mon_severity_name(f->severity), "open",
				   (int64_t)json_integer_value(json_object_get(doc, "created_at")), text};
	store_rc rc = text ? store_monitor_alert_add(M.b->store, &row, &ev) : STORE_ERROR;
	json_decref(details);
	free(text);
	return rc;
}

/* Sets results on the alert as stored now (an operator may have acked it
 * while the containment ran): compare-and-set, retried. */
static store_rc record_results(const char *id, const json_t *results)
{
	store_rc rc = STORE_CONFLICT;
	for (int attempt = 0; attempt < CONTAIN_CAS_ATTEMPTS && rc == STORE_CONFLICT; attempt++) {
		json_t *cur = NULL;
		if ((rc = store_monitor_alert_get(M.b->store, id, &cur)) != STORE_OK)
			break;
		char *before = json_dumps(cur, JSON_COMPACT);
		json_object_set(json_object_get(cur, "containment"), "results", (json_t *)results);
		char *after = json_dumps(cur, JSON_COMPACT);
		const char *state = json_string_value(json_object_get(cur, "state"));
		rc = before && after && state ? store_monitor_alert_update(M.b->store, id, state, after, before, NULL)
					      : STORE_ERROR;
		free(before);
		free(after);
		json_decref(cur);
	}
	return rc;
}

/* Carries out the containment and records its results in the alert. */
static void contain(json_t *doc, const mon_finding_t *f, unsigned actions, int64_t now)
{
	const char *id = json_string_value(json_object_get(doc, "id"));
	json_t *results = monitor_contain(M.b, f->identity, actions, id, now);
	if (results == NULL || record_results(id, results) != STORE_OK)
		broker_store_failed(M.b, "monitor alert containment results");
	json_object_set_new(json_object_get(doc, "containment"), "results", results);
}

static void raise_alert(const mon_finding_t *f, int64_t now)
{
	char id[ALERT_ID_LEN + 1];
	unsigned actions = M.contain.mode == CONTAIN_OFF ? 0 : contain_actions(&M.contain, f->detector, f->severity);
	new_alert_id(id);
	json_t *doc = alert_doc(f, id, now, actions);
	if (doc == NULL || store_alert(doc, f) != STORE_OK) {
		broker_store_failed(M.b, "monitor alert");
		json_decref(doc);
		return;
	}
	atomic_fetch_add(&stats.alerts[f->detector][f->severity], 1);
	log_event(LOG_WARN, "monitor alert", "alert", id, "detector", mon_detector_name(f->detector), "severity",
		  mon_severity_name(f->severity), "identity", f->identity, NULL);
	for (unsigned a = 0; a < CONTAIN_ACTIONS; a++)
		if (actions & (1u << a))
			atomic_fetch_add(&stats.contained[a][M.contain.mode == CONTAIN_ENFORCE], 1);
	if (actions != 0 && M.contain.mode == CONTAIN_ENFORCE)
		contain(doc, f, actions, now);
	alert_send(M.b, doc);
}

/* ---- the thread ---- */

static int64_t now_s(void) { return broker_now(); }

/* Feeds one record; raises its findings unless it is history. */
static void process(const json_t *rec)
{
	mon_event_t ev;
	mon_finding_t found[MAX_FINDINGS];
	int rc = mon_event_from_record(rec, &ev);
	atomic_fetch_add(&stats.records, 1);
	if (rc < 0)
		atomic_fetch_add(&stats.malformed, 1);
	if (rc != 0)
		return;
	size_t n = mon_engine_feed(M.engine, &ev, found, MAX_FINDINGS);
	bool history = ev.t < M.started - MONITOR_BACKLOG_S;
	for (size_t i = 0; i < n; i++) {
		if (!history)
			raise_alert(&found[i], now_s());
		mon_finding_release(&found[i]);
	}
}

/* Reads and processes the records after the cursor; -1 store failure,
 * else how many. */
static int batch(void)
{
	json_t *records = NULL, *r;
	audit_filter_t q = {.after = M.cursor, .limit = MONITOR_BATCH};
	size_t i;
	if (store_audit_list(M.b->store, &q, &records) != STORE_OK)
		return -1;
	json_array_foreach(records, i, r) {
		process(r);
		M.cursor = (int64_t)json_integer_value(json_object_get(r, "seq"));
	}
	int n = (int)json_array_size(records);
	json_decref(records);
	atomic_store(&stats.cursor, M.cursor);
	return n;
}

static void collect(void *ctx, const char *identity, const json_t *doc)
{
	(void)identity;
	json_array_append(ctx, (json_t *)doc);
}

static void save(void)
{
	json_t *docs = json_array();
	mon_engine_dirty(M.engine, collect, docs);
	if (store_monitor_save(M.b->store, docs, M.cursor, now_s()) != STORE_OK)
		broker_store_failed(M.b, "monitor baselines");
	json_decref(docs);
	atomic_store(&stats.identities, mon_engine_identities(M.engine));
	atomic_store(&stats.untracked, mon_engine_untracked(M.engine));
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps up to ms unless stopping; true when stopping. */
static bool nap(long ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += ms * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&M.mu);
	if (!M.stopping)
		pthread_cond_timedwait(&M.cv, &M.mu, &until);
	bool stop = M.stopping;
	pthread_mutex_unlock(&M.mu);
	return stop;
}

static void *monitor_main(void *arg)
{
	(void)arg;
	int64_t saved_at = mono_ms();
	pthread_setname_np(pthread_self(), "tg-monitor");
	for (;;) {
		int n = batch();
		if (mono_ms() - saved_at >= MONITOR_SAVE_MS) {
			save();
			saved_at = mono_ms();
		}
		if (n == MONITOR_BATCH)
			continue;
		if (nap(n < 0 ? 1000 : MONITOR_IDLE_MS))
			break;
	}
	save();
	return NULL;
}

/* ---- start and stop ---- */

static int configure(const tg_config_t *c, mon_params_t *p, char *err, size_t len)
{
	char buf[200];
	mon_params_default(p);
	p->learning_window = c->monitor_learning_window;
	p->rate_floor = c->monitor_rate_floor;
	p->rate_factor = c->monitor_rate_factor;
	p->deny_burst = c->monitor_deny_burst;
	p->deny_window = c->monitor_deny_window;
	p->hours_min_events = c->monitor_hours_min_events;
	p->grant_min_use = c->monitor_grant_min_use;
	p->cooldown = c->monitor_cooldown;
	p->max_identities = c->monitor_max_identities;
	const char *why = mon_params_operator_ranges(p, c->monitor_operator_ranges);
	if (why == NULL)
		why = contain_parse(c->monitor_containment, c->monitor_contain, &M.contain, buf, sizeof buf);
	if (why != NULL) {
		snprintf(err, len, "%s%s", strncmp(why, "monitor_", 8) == 0 ? "" : "monitor_operator_ranges: ", why);
		return -1;
	}
	return 0;
}

/* The saved baselines and cursor into a new engine. */
static int load(const mon_params_t *p, char *err, size_t len)
{
	json_t *docs = NULL, *d;
	size_t i;
	char why[200];
	if ((M.engine = mon_engine_new(p)) == NULL ||
	    store_monitor_load(M.b->store, &docs, &M.cursor) != STORE_OK) {
		snprintf(err, len, "cannot load the monitor's baselines (store unavailable)");
		return -1;
	}
	json_array_foreach(docs, i, d)
		if (mon_engine_load(M.engine, d, why, sizeof why) != 0)
			log_event(LOG_WARN, "monitor: a stored baseline does not read; it learns again", "error", why, NULL);
	json_decref(docs);
	return 0;
}

int monitor_start(broker_t *b, char *err, size_t err_len)
{
	mon_params_t p;
	if (!b->cfg.monitor)
		return 0;
	metrics_add_section(render_metrics);
	M.b = b;
	M.started = now_s();
	if (configure(&b->cfg, &p, err, err_len) != 0 || load(&p, err, err_len) != 0) {
		mon_engine_free(M.engine);
		M.engine = NULL;
		return -1;
	}
	atomic_store(&stats.cursor, M.cursor);
	if (pthread_create(&M.thread, NULL, monitor_main, NULL) != 0) {
		snprintf(err, err_len, "cannot start the monitor thread");
		mon_engine_free(M.engine);
		M.engine = NULL;
		return -1;
	}
	M.running = true;
	log_event(LOG_INFO, "behaviour monitor started", "containment", contain_mode_name(M.contain.mode), NULL);
	return 0;
}

void monitor_stop(void)
{
	if (!M.running)
		return;
	pthread_mutex_lock(&M.mu);
	M.stopping = true;
	pthread_cond_signal(&M.cv);
	pthread_mutex_unlock(&M.mu);
	pthread_join(M.thread, NULL);
	M.running = false;
	mon_engine_free(M.engine);
	M.engine = NULL;
}
