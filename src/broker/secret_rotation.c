/* secret_rotation.c - the rotation engine (secret_rotation.h): the lease,
 * reconciliation after a restart, and each step of core/rotation.h
 * performed with the secret's driver and persisted with its audit record
 * (secret.rotation.started, .step, .failed, .rolled_back; secret.rotated
 * rides in the promotion's own store write, and is on the feed). A failed
 * step also raises an alert. Values are opened only for the step that
 * needs them and zeroed after it. */
#include "broker/secret_rotation.h"
#include "broker/alerts.h"
#include "broker/change_windows.h"
#include "broker/secret_driver.h"
#include "broker/secret_keys.h"
#include "core/rotation.h"
#include "core/secret.h"
#include "shell/log.h"
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENGINE_TICK_S 1
#define LEASE_S 10          /* a dead broker's lease passes to another after this (plus a step's timeout) */
#define MAX_ACTIVE 256      /* secrets looked at per pass */
#define MAX_STEPS 16        /* steps per secret per pass */
#define VALUE_BYTES 32      /* a generated credential: 32 random bytes, base64url */

static struct {
	broker_t *b;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, wake, leased;
	int64_t lease_until; /* while leased: when the lease runs out */
	char owner[33];      /* this process's lease id */
} E = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* One secret's rotation while a pass works on it. */
typedef struct {
	secret_record_t rec;
	rotation_record_t rr;
	rot_target_t target;
	rot_state_t state;
	rot_policy_t policy;
	char *admin_password; /* postgres: the admin connection's, for this pass */
	drv_ctx_t ctx;
	char resource[SECRET_MAX_NAME + 8];
} work_t;

static bool stopping(void)
{
	pthread_mutex_lock(&E.mu);
	bool s = E.stop;
	pthread_mutex_unlock(&E.mu);
	return s;
}

/* ---- values ---------------------------------------------------------------- */

/* Version v of the secret, opened (sodium_malloc'd; value_free), or NULL. */
static char *open_version(const secret_record_t *rec, int64_t v, size_t *len)
{
	secret_version_t ver;
	char *value = NULL;
	if (v <= 0 || store_secret_version_get(E.b->store, rec->name, v, &ver) != STORE_OK)
		return NULL;
	value = secret_keys_open_value(E.b->secret_keys, rec, &ver, len);
	secret_versions_release(&ver, 1);
	return value;
}

static void value_free(char *value, size_t len)
{
	if (value != NULL)
		secret_value_free(value, len);
}

/* The state of version v of the secret ("" when unknown). */
static void version_state(const char *name, int64_t v, char out[12])
{
	secret_version_t *all = NULL;
	size_t n = 0;
	out[0] = '\0';
	if (store_secret_versions(E.b->store, name, &all, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if (all[i].version == v)
			snprintf(out, 12, "%s", all[i].state);
	secret_versions_release(all, n);
	free(all);
}

/* The pending version of the secret, 0 when none. */
static int64_t pending_version(const char *name)
{
	secret_version_t *all = NULL;
	size_t n = 0;
	int64_t v = 0;
	if (store_secret_versions(E.b->store, name, &all, &n) != STORE_OK)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i].state, "pending") == 0)
			v = all[i].version;
	secret_versions_release(all, n);
	free(all);
	return v;
}

/* The postgres admin password: its file, or another secret's current value. */
static char *admin_password(const rot_target_t *t, char *err, size_t err_len)
{
	secret_record_t other;
	size_t len = 0;
	char *copy = NULL;
	if (t->kind != ROT_DRIVER_POSTGRES)
		return NULL;
	if (t->password_file[0] != '\0')
		return secret_driver_read_password_file(t->password_file, err, err_len);
	if (store_secret_get(E.b->store, t->password_secret, &other) != STORE_OK) {
		snprintf(err, err_len, "password_secret %s: no such secret", t->password_secret);
		return NULL;
	}
	char *v = other.deleted ? NULL : open_version(&other, other.current_version, &len);
	if (v != NULL)
		copy = strndup(v, len);
	else
		snprintf(err, err_len, "password_secret %s has no readable current value", t->password_secret);
	value_free(v, len);
	secret_record_release(&other);
	return copy;
}

/* ---- the steps -------------------------------------------------------------- */

typedef struct {
	bool ok;
	bool recorded; /* the step's audit record rode in its own store write */
	char err[700];
} outcome_t;

static audit_event_t step_event(work_t *w, const char *type, bool ok, const json_t *details)
{
	audit_event_t ev = {.type = type, .actor = "rotation", .action = type, .resource = w->resource,
			    .decision = ok ? "allow" : "deny", .details = details};
	return ev;
}

static json_t *step_details(const work_t *w, rot_action_t a, const outcome_t *o)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:I, s:I}", "step", rotation_action_name(a), "phase",
			      rotation_phase_name(w->state.phase), "driver", rotation_driver_name(w->target.kind),
			      "new_version", (json_int_t)w->rr.new_version, "old_version", (json_int_t)w->rr.old_version);
	if (o != NULL && !o->ok)
		json_object_set_new(d, "error", json_string(o->err));
	if (w->state.not_before > 0)
		json_object_set_new(d, "retry_at", json_integer(w->state.not_before));
	return d;
}

static void generate(work_t *w, int64_t now, outcome_t *o)
{
	uint8_t raw[VALUE_BYTES], *sealed = NULL;
	char value[sodium_base64_ENCODED_LEN(VALUE_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	size_t sealed_len = 0;
	int64_t pending = pending_version(w->rec.name);
	if (pending > 0) { /* generated before a restart: take it over */
		w->rr.new_version = pending;
		w->rr.old_version = w->rec.current_version;
		o->ok = true;
		return;
	}
	randombytes_buf(raw, sizeof raw);
	sodium_bin2base64(value, sizeof value, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int64_t version = w->rec.max_version + 1;
	json_t *details = json_pack("{s:s, s:I, s:I}", "step", "generate", "new_version", (json_int_t)version,
				    "old_version", (json_int_t)w->rec.current_version);
	audit_event_t ev = step_event(w, "secret.rotation.started", true, details);
	if (secret_keys_seal_for(E.b->secret_keys, &w->rec, version, (const uint8_t *)value, strlen(value), &sealed,
				 &sealed_len) != 0)
		snprintf(o->err, sizeof o->err, "cannot seal the new value (the secret's data key does not open)");
	else if (store_secret_add_pending(E.b->store, w->rec.name, version, sealed, sealed_len, now, &ev) != STORE_OK)
		snprintf(o->err, sizeof o->err, "cannot store the pending version");
	else {
		w->rr.new_version = version;
		w->rr.old_version = w->rec.current_version;
		o->ok = o->recorded = true;
	}
	json_decref(details);
	free(sealed);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(value, sizeof value);
}

/* A driver step on the new and old values. */
static void drive(work_t *w, rot_action_t a, outcome_t *o)
{
	const secret_driver_t *d = secret_driver_for(&w->target);
	size_t nl = 0, ol = 0;
	char *nv = open_version(&w->rec, w->rr.new_version, &nl), *ov = open_version(&w->rec, w->rr.old_version, &ol);
	drv_rc_t rc = DRV_ERROR;
	bool needs_old = a == ROT_ACT_REVOKE_OLD || a == ROT_ACT_VERIFY_OLD_DEAD || a == ROT_ACT_RESTORE_OLD ||
			 a == ROT_ACT_VERIFY_OLD;
	if (nv == NULL || (needs_old && ov == NULL)) {
		snprintf(o->err, sizeof o->err, "cannot open version %lld of the secret",
			 (long long)(nv == NULL ? w->rr.new_version : w->rr.old_version));
		goto out;
	}
	switch (a) {
	case ROT_ACT_SET_NEW:
		rc = d->set(&w->ctx, nv, ov, o->err, sizeof o->err);
		break;
	case ROT_ACT_VERIFY_NEW:
		rc = d->verify(&w->ctx, nv, o->err, sizeof o->err);
		break;
	case ROT_ACT_REVOKE_OLD:
		rc = d->revoke(&w->ctx, ov, nv, o->err, sizeof o->err);
		break;
	case ROT_ACT_VERIFY_OLD_DEAD:
		rc = d->verify(&w->ctx, ov, o->err, sizeof o->err);
		if (rc == DRV_OK)
			snprintf(o->err, sizeof o->err, "the old credential still works after revocation");
		o->ok = rc == DRV_REFUSED;
		goto out;
	case ROT_ACT_RESTORE_OLD:
		rc = d->set(&w->ctx, ov, nv, o->err, sizeof o->err);
		break;
	case ROT_ACT_VERIFY_OLD:
		rc = d->verify(&w->ctx, ov, o->err, sizeof o->err);
		break;
	default:
		break;
	}
	o->ok = rc == DRV_OK;
out:
	value_free(nv, nl);
	value_free(ov, ol);
}

/* The store moves of promote, retire and abandon, each done once: a
 * version already in its target state (a restart after the write) is ok. */
static void store_step(work_t *w, rot_action_t a, int64_t now, outcome_t *o)
{
	char st[12];
	const char *done_state = a == ROT_ACT_PROMOTE ? "current" : a == ROT_ACT_RETIRE ? "retired" : "failed";
	int64_t v = a == ROT_ACT_RETIRE ? w->rr.old_version : w->rr.new_version;
	json_t *meta = json_loads(w->rec.metadata, 0, NULL);
	json_t *details = json_pack("{s:s, s:I, s:I}", "step", rotation_action_name(a), "new_version",
				    (json_int_t)w->rr.new_version, "old_version", (json_int_t)w->rr.old_version);
	const char *type = rotation_audit_type(a, true);
	audit_event_t ev = step_event(w, type, true, details);
	store_rc rc = STORE_OK;
	version_state(w->rec.name, v, st);
	if (v <= 0 || strcmp(st, done_state) == 0 || (a == ROT_ACT_RETIRE && strcmp(st, "previous") != 0)) {
		o->ok = true; /* done already, or nothing to retire */
	} else if (a == ROT_ACT_PROMOTE) {
		rc = store_secret_promote(E.b->store, w->rec.name, v, now, now + w->policy.grace,
					  secret_next_due(meta, now), &ev);
	} else if (a == ROT_ACT_RETIRE) {
		rc = store_secret_retire(E.b->store, w->rec.name, v, now, &ev);
	} else {
		rc = store_secret_fail(E.b->store, w->rec.name, v, now, &ev);
	}
	if (!o->ok) {
		o->ok = rc == STORE_OK;
		o->recorded = o->ok;
		if (!o->ok)
			snprintf(o->err, sizeof o->err, "the store refused the %s of version %lld (%s)",
				 rotation_action_name(a), (long long)v, st[0] ? st : "unknown state");
	}
	json_decref(details);
	json_decref(meta);
}

static void perform(work_t *w, rot_action_t a, int64_t now, outcome_t *o)
{
	switch (a) {
	case ROT_ACT_GENERATE:
		generate(w, now, o);
		break;
	case ROT_ACT_PROMOTE:
	case ROT_ACT_RETIRE:
	case ROT_ACT_ABANDON:
		store_step(w, a, now, o);
		break;
	default:
		drive(w, a, o);
		break;
	}
}

/* ---- one secret ---------------------------------------------------------------- */

static void state_to_record(work_t *w)
{
	snprintf(w->rr.phase, sizeof w->rr.phase, "%s", rotation_phase_name(w->state.phase));
	w->rr.failures = w->state.failures;
	w->rr.not_before = w->state.not_before;
	w->rr.retire_after = w->state.retire_after;
}

/* Persists the state after action a, with its audit record unless the
 * step's own write carried it. */
static void save(work_t *w, rot_action_t a, const outcome_t *o, int64_t now)
{
	json_t *details = step_details(w, a, o);
	audit_event_t ev = step_event(w, rotation_audit_type(a, o->ok), o->ok, details);
	state_to_record(w);
	if (store_rotation_save(E.b->store, &w->rr, now, o->recorded ? NULL : &ev) != STORE_OK)
		broker_store_failed(E.b, "rotation state");
	json_decref(details);
}

static void failed(work_t *w, rot_action_t a, const outcome_t *o)
{
	char retry[24];
	snprintf(retry, sizeof retry, "%lld", (long long)w->state.not_before);
	log_event(LOG_WARN, "secret rotation step failed", "secret", w->rec.name, "step", rotation_action_name(a),
		  "phase", rotation_phase_name(w->state.phase), "error", o->err, NULL);
	alert_send(E.b, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "alert", "secret.rotation.failed", "secret",
				  w->rec.name, "step", rotation_action_name(a), "phase",
				  rotation_phase_name(w->state.phase), "error", o->err, "retry_at",
				  (json_int_t)w->state.not_before));
}

static void work_release(work_t *w)
{
	secret_driver_wipe(w->admin_password);
	rotation_target_free(&w->target);
	rotation_record_release(&w->rr);
	secret_record_release(&w->rec);
}

/* Loads a secret's rotation: 0, or -1 (nothing to do; a broken target
 * document is recorded as the last error). */
static int work_load(work_t *w, const char *name)
{
	char err[300] = "";
	json_t *doc = NULL, *meta = NULL;
	memset(w, 0, sizeof *w);
	if (store_rotation_get(E.b->store, name, &w->rr) != STORE_OK)
		return -1;
	if (store_secret_get(E.b->store, name, &w->rec) != STORE_OK || w->rec.deleted) {
		rotation_record_release(&w->rr);
		if (w->rec.metadata != NULL)
			secret_record_release(&w->rec);
		return -1;
	}
	snprintf(w->resource, sizeof w->resource, "Secret:%s", name);
	doc = json_loads(w->rr.target, 0, NULL);
	if (doc == NULL || rotation_target_parse(doc, &w->target, err, sizeof err) != 0 ||
	    rotation_phase_parse(w->rr.phase, &w->state.phase) != 0) {
		json_decref(doc);
		log_event(LOG_ERROR, "secret rotation target unusable", "secret", name, "error", err, NULL);
		rotation_record_release(&w->rr);
		secret_record_release(&w->rec);
		return -1;
	}
	json_decref(doc);
	w->state.failures = (uint32_t)w->rr.failures;
	w->state.not_before = w->rr.not_before;
	w->state.retire_after = w->rr.retire_after;
	meta = json_loads(w->rec.metadata, 0, NULL);
	w->policy = (rot_policy_t){.grace = secret_meta_grace(meta), .retry_base = w->target.retry_base,
				   .retry_max = w->target.retry_max};
	json_decref(meta);
	if (w->target.kind == ROT_DRIVER_POSTGRES)
		w->admin_password = admin_password(&w->target, err, sizeof err);
	w->ctx = (drv_ctx_t){.target = &w->target, .secret = w->rec.name, .admin_password = w->admin_password};
	return 0;
}

/* Renews the lease for one step of at most step_s seconds: false when
 * another broker holds it now (this one stops rotating). */
static bool renew_lease(int64_t step_s)
{
	int64_t now = broker_now();
	E.leased = store_rotation_lease(E.b->store, E.owner, now, now + LEASE_S + step_s) == STORE_OK;
	if (E.leased)
		E.lease_until = now + LEASE_S + step_s;
	return E.leased;
}

/* A rotation starts only while the secret's rotation window (the change
 * window its metadata names, docs/change_windows.md) is open, unless it
 * was asked for with now. Why it waits is shown as the last error. */
static bool window_allows(work_t *w, int64_t now)
{
	json_t *meta = json_loads(w->rec.metadata, 0, NULL);
	const char *name = json_string_value(json_object_get(json_object_get(meta, "rotation"), "window"));
	window_state_t st;
	char why[sizeof w->rr.last_error] = "";
	if (name != NULL && !w->rr.requested_now) {
		change_window_named(E.b, name, now, &st);
		if (!st.controlled)
			snprintf(why, sizeof why, "the rotation window, change window %.128s, does not exist: waiting", name);
		else if (!st.open)
			snprintf(why, sizeof why, "waiting for the rotation window, change window %.128s", name);
	}
	json_decref(meta);
	if (why[0] != '\0' && strcmp(why, w->rr.last_error) != 0) {
		memcpy(w->rr.last_error, why, sizeof why);
		if (store_rotation_save(E.b->store, &w->rr, now, NULL) != STORE_OK)
			broker_store_failed(E.b, "rotation state");
	}
	return why[0] == '\0';
}

static void rotate_one(const char *name)
{
	work_t w;
	if (work_load(&w, name) != 0)
		return;
	bool due = w.rr.requested || (w.rec.next_due > 0 && w.rec.next_due <= broker_now());
	for (int i = 0; i < MAX_STEPS && !stopping(); i++) {
		int64_t now = broker_now();
		rot_action_t a = rotation_next(&w.state, now, due);
		outcome_t o = {0};
		if (a == ROT_ACT_NONE || a == ROT_ACT_WAIT || (a == ROT_ACT_GENERATE && !window_allows(&w, now)) ||
		    !renew_lease(w.target.timeout))
			break;
		perform(&w, a, now, &o);
		rotation_apply(&w.state, a, o.ok, now, &w.policy);
		if (a == ROT_ACT_PROMOTE && o.ok)
			w.rr.requested = w.rr.requested_now = due = false; /* done: the next one is next_due's */
		if (!o.ok) /* kept through the rollback, until a rotation succeeds */
			snprintf(w.rr.last_error, sizeof w.rr.last_error, "%.*s", (int)sizeof w.rr.last_error - 1, o.err);
		else if (a == ROT_ACT_PROMOTE)
			w.rr.last_error[0] = '\0';
		save(&w, a, &o, now);
		if (!o.ok)
			failed(&w, a, &o);
		else if (a == ROT_ACT_PROMOTE)
			log_event(LOG_INFO, "secret rotated", "secret", name, NULL);
	}
	work_release(&w);
}

/* After taking the lease: every rotation in progress agrees with what its
 * target accepts (core/rotation.h, rotation_reconcile). */
static void reconcile_one(const char *name)
{
	work_t w;
	char err[700];
	if (work_load(&w, name) != 0)
		return;
	if (rotation_in_progress(&w.state) && renew_lease(2 * w.target.timeout)) {
		const secret_driver_t *d = secret_driver_for(&w.target);
		size_t nl = 0, ol = 0;
		char *nv = open_version(&w.rec, w.rr.new_version, &nl), *ov = open_version(&w.rec, w.rr.old_version, &ol);
		bool new_works = nv != NULL && d->verify(&w.ctx, nv, err, sizeof err) == DRV_OK;
		bool old_works = ov != NULL && d->verify(&w.ctx, ov, err, sizeof err) == DRV_OK;
		value_free(nv, nl);
		value_free(ov, ol);
		rot_phase_t before = w.state.phase;
		rotation_reconcile(&w.state, new_works, old_works);
		json_t *details = json_pack("{s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "step", "reconcile", "from",
					    rotation_phase_name(before), "phase", rotation_phase_name(w.state.phase),
					    "new_works", new_works, "old_works", old_works, "new_version",
					    (json_int_t)w.rr.new_version, "old_version", (json_int_t)w.rr.old_version);
		audit_event_t ev = step_event(&w, "secret.rotation.step", true, details);
		state_to_record(&w);
		if (store_rotation_save(E.b->store, &w.rr, broker_now(), &ev) != STORE_OK)
			broker_store_failed(E.b, "rotation state");
		log_event(LOG_INFO, "secret rotation resumed", "secret", name, "from", rotation_phase_name(before),
			  "phase", rotation_phase_name(w.state.phase), NULL);
		json_decref(details);
	}
	work_release(&w);
}

/* ---- the thread ------------------------------------------------------------------ */

static void for_each_active(void (*fn)(const char *name))
{
	char **names = NULL;
	size_t n = 0;
	if (store_rotation_active(E.b->store, broker_now(), MAX_ACTIVE, &names, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (!stopping())
			fn(names[i]);
		free(names[i]);
	}
	free(names);
}

/* Takes or keeps the lease (written only when half of it has run out, or
 * when it was not held): true while this broker rotates. Taking it
 * reconciles every rotation in progress first. */
static bool hold_lease(void)
{
	bool was = E.leased;
	if (E.leased && broker_now() < E.lease_until - LEASE_S / 2)
		return true;
	if (renew_lease(0) && !was) {
		log_event(LOG_INFO, "rotation lease taken: this broker rotates secrets", NULL);
		for_each_active(reconcile_one);
	}
	return E.leased;
}

static void *engine(void *arg)
{
	(void)arg;
	while (!stopping()) {
		if (hold_lease())
			for_each_active(rotate_one);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += ENGINE_TICK_S;
		pthread_mutex_lock(&E.mu);
		while (!E.stop && !E.wake && pthread_cond_timedwait(&E.cv, &E.mu, &until) == 0)
			;
		E.wake = false;
		pthread_mutex_unlock(&E.mu);
	}
	if (E.leased)
		store_rotation_lease_release(E.b->store, E.owner);
	return NULL;
}

int rotation_engine_start(broker_t *b)
{
	uint8_t id[16];
	E.b = b;
	E.stop = E.wake = E.leased = false;
	randombytes_buf(id, sizeof id);
	sodium_bin2hex(E.owner, sizeof E.owner, id, sizeof id);
	if (pthread_create(&E.thread, NULL, engine, NULL) != 0)
		return -1;
	E.started = true;
	return 0;
}

void rotation_engine_stop(void)
{
	if (!E.started)
		return;
	pthread_mutex_lock(&E.mu);
	E.stop = true;
	pthread_cond_broadcast(&E.cv);
	pthread_mutex_unlock(&E.mu);
	pthread_join(E.thread, NULL);
	E.started = false;
}

void rotation_engine_wake(void)
{
	pthread_mutex_lock(&E.mu);
	E.wake = true;
	pthread_cond_broadcast(&E.cv);
	pthread_mutex_unlock(&E.mu);
}
