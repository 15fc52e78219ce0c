/* secret_leases.c - the lease revoker (secret_leases.h): one broker thread
 * that, every second or when woken, ends the active leases whose end has
 * come (store_lease_end_due: TTL, grant, token, identity) and revokes the
 * roles of the leases being revoked, grouped by dynamic secret: one admin
 * connection per secret and pass, LEASE_BATCH roles per transaction. A
 * batch that fails is retried role by role, so one bad role does not hold
 * the others; a role that cannot be revoked makes its lease failed, with
 * the error, an audit record (secret.lease.revoke_failed) and, on the first
 * failure and every LEASE_ALERT_EVERY after, a webhook alert; it is retried
 * with exponential back-off (LEASE_RETRY_BASE .. LEASE_RETRY_MAX seconds)
 * until it is revoked. Revoking is idempotent (roles that are gone already
 * are skipped), so a broker killed mid-batch, or two brokers on one
 * database, revoke each role at most once in effect. */
#include "broker/secret_leases.h"
#include "broker/alerts.h"
#include "broker/secret_driver.h"
#include "broker/secret_keys.h"
#include "core/secret.h"
#include "shell/log.h"
#include "store/store_leases.h"
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEASE_PASS_MAX 2000    /* leases fetched per pass */
#define LEASE_BATCH 100        /* roles per transaction */
#define LEASE_RETRY_BASE 5     /* seconds */
#define LEASE_RETRY_MAX 300
#define LEASE_ALERT_EVERY 10   /* failed attempts between two alerts */

static struct {
	broker_t *b;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool started, stop, wake;
} R = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

#define TARGET_LOCKS 16

/* A lock stripe: its mutex, and one idle admin connection kept between
 * creations (a login costs a SCRAM exchange), used under the mutex only,
 * for the secret and dsn of its key. */
static struct {
	pthread_mutex_t mu;
	PGconn *conn;
	char key[SECRET_MAX_NAME + ROT_MAX_DSN + 16 + 48]; /* name, dsn, sslmode, timeout */
} stripes[TARGET_LOCKS];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;

static void stripes_init(void)
{
	for (size_t i = 0; i < TARGET_LOCKS; i++)
		pthread_mutex_init(&stripes[i].mu, NULL);
}

static size_t stripe_of(const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	pthread_once(&stripes_once, stripes_init);
	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return h % TARGET_LOCKS;
}

void lease_target_lock(const char *name)
{
	pthread_mutex_lock(&stripes[stripe_of(name)].mu);
}

void lease_target_unlock(const char *name)
{
	pthread_mutex_unlock(&stripes[stripe_of(name)].mu);
}

/* The stripe's connection when it is for this secret and dsn and alive
 * (under the stripe's lock); else NULL, the stale one closed. */
static PGconn *cached_conn(size_t i, const char *key)
{
	if (stripes[i].conn != NULL && (strcmp(stripes[i].key, key) != 0 || PQstatus(stripes[i].conn) != CONNECTION_OK)) {
		PQfinish(stripes[i].conn);
		stripes[i].conn = NULL;
	}
	return stripes[i].conn;
}

static PGconn *fresh_conn(broker_t *b, const dyn_role_t *d, char *err, size_t err_len)
{
	char *password = lease_admin_password(b, &d->conn, err, err_len);
	PGconn *c = password != NULL ? lease_pg_connect(d, password, err, err_len) : NULL;
	secret_driver_wipe(password);
	return c;
}

int lease_create_role(broker_t *b, const char *name, const dyn_role_t *d, const char *role, const char *password,
		      int64_t expires_at, char *err, size_t err_len)
{
	char key[sizeof stripes[0].key];
	size_t i = stripe_of(name);
	int rc = -1;
	/* a changed sslmode or timeout opens a new connection too */
	snprintf(key, sizeof key, "%s\n%s\n%s\n%lld", name, d->conn.dsn, d->conn.sslmode, (long long)d->conn.timeout);
	PGconn *c = cached_conn(i, key);
	if (c != NULL && (rc = lease_pg_create(c, d, role, password, expires_at, err, err_len)) != 0 &&
	    PQstatus(c) != CONNECTION_OK) { /* the server closed it: once more on a new one */
		PQfinish(c);
		c = stripes[i].conn = NULL;
	}
	if (c == NULL && (c = fresh_conn(b, d, err, err_len)) != NULL) {
		rc = lease_pg_create(c, d, role, password, expires_at, err, err_len);
		stripes[i].conn = c;
		snprintf(stripes[i].key, sizeof stripes[i].key, "%s", key);
	}
	return rc;
}

static void close_cached(void)
{
	for (size_t i = 0; i < TARGET_LOCKS; i++) {
		pthread_mutex_lock(&stripes[i].mu);
		PQfinish(stripes[i].conn);
		stripes[i].conn = NULL;
		pthread_mutex_unlock(&stripes[i].mu);
	}
}

char *lease_admin_password(broker_t *b, const rot_target_t *t, char *err, size_t err_len)
{
	secret_record_t rec;
	secret_version_t ver = {0};
	size_t len = 0;
	char *value = NULL, *copy = NULL;
	if (t->password_file[0] != '\0')
		return secret_driver_read_password_file(t->password_file, err, err_len);
	if (store_secret_get(b->store, t->password_secret, &rec) != STORE_OK) {
		snprintf(err, err_len, "password_secret %s: no such secret", t->password_secret);
		return NULL;
	}
	if (!rec.deleted && store_secret_version_get(b->store, rec.name, rec.current_version, &ver) == STORE_OK)
		value = secret_keys_open_value(b->secret_keys, &rec, &ver, &len);
	if (value != NULL)
		copy = strndup(value, len);
	else
		snprintf(err, err_len, "password_secret %s has no readable current value", t->password_secret);
	if (value != NULL)
		secret_value_free(value, len);
	secret_versions_release(&ver, 1);
	secret_record_release(&rec);
	return copy;
}

int lease_definition(broker_t *b, const char *name, dyn_role_t *out, char *err, size_t err_len)
{
	char *text = NULL;
	store_rc rc = store_dynamic_get(b->store, name, &text);
	if (rc == STORE_NOT_FOUND) {
		snprintf(err, err_len, "%s has no dynamic role definition", name);
		return 1;
	}
	json_t *doc = rc == STORE_OK ? json_loads(text, 0, NULL) : NULL;
	free(text);
	if (doc == NULL) {
		snprintf(err, err_len, "the store is unavailable");
		return -1;
	}
	int parsed = dynamic_role_parse(doc, out, err, err_len);
	json_decref(doc);
	return parsed == 0 ? 0 : -1;
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int64_t retry_delay(int64_t attempts)
{
	int64_t d = LEASE_RETRY_BASE;
	for (int64_t i = 0; i < attempts && d < LEASE_RETRY_MAX; i++)
		d *= 2;
	return d < LEASE_RETRY_MAX ? d : LEASE_RETRY_MAX;
}

static void resource_of(const char *name, char *res, size_t len)
{
	snprintf(res, len, "Secret:%s", name);
}

/* leases[0..n) revoked at the target: one store write, one audit record. */
static void record_revoked(lease_record_t *leases, size_t n)
{
	const char **ids = malloc(n * sizeof *ids);
	json_t *list = json_array();
	char res[SECRET_MAX_NAME + 16];
	if (ids == NULL || list == NULL) {
		free(ids);
		json_decref(list);
		return; /* the next pass finds them gone and records them then */
	}
	for (size_t i = 0; i < n; i++) {
		ids[i] = leases[i].id;
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "lease", leases[i].id, "role", leases[i].role,
						      "identity", leases[i].identity, "reason", leases[i].reason));
	}
	resource_of(leases[0].name, res, sizeof res);
	json_t *details = json_pack("{s:I, s:o}", "count", (json_int_t)n, "leases", list);
	audit_event_t ev = {.type = "secret.lease.revoked", .actor = "lease-revoker", .action = "secret.lease.revoke",
			    .resource = res, .decision = "allow", .details = details};
	if (store_lease_revoked(R.b->store, ids, n, now_s(), &ev) != STORE_OK)
		log_event(LOG_ERROR, "cannot record revoked leases (they are revoked again next pass)", "secret",
			  leases[0].name, NULL);
	json_decref(details);
	free(ids);
}

/* A lease whose role could not be revoked: failed, retried later, audited,
 * alerted now and then. */
static void record_failed(const lease_record_t *l, const char *why)
{
	char res[SECRET_MAX_NAME + 16];
	int64_t now = now_s(), retry_at = now + retry_delay(l->attempts);
	resource_of(l->name, res, sizeof res);
	json_t *details = json_pack("{s:s, s:s, s:s, s:I, s:I}", "lease", l->id, "role", l->role, "error", why,
				    "attempts", (json_int_t)(l->attempts + 1), "retry_at", (json_int_t)retry_at);
	audit_event_t ev = {.type = "secret.lease.revoke_failed", .actor = "lease-revoker",
			    .action = "secret.lease.revoke", .resource = res, .decision = "deny", .details = details};
	if (store_lease_failed(R.b->store, l->id, now, retry_at, why, &ev) != STORE_OK)
		log_event(LOG_ERROR, "cannot record a failed lease revocation", "lease", l->id, NULL);
	json_decref(details);
	log_event(LOG_ERROR, "lease revocation failed", "lease", l->id, "secret", l->name, "role", l->role, "error", why,
		  NULL);
	if (l->attempts % LEASE_ALERT_EVERY == 0)
		alert_send(R.b, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "alert", "secret.lease.revoke_failed",
					  "severity", "high", "secret", l->name, "lease", l->id, "role", l->role, "error",
					  why, "attempts", (json_int_t)(l->attempts + 1), "retry_at", (json_int_t)retry_at));
}

/* One batch at an open connection: all at once, else role by role. */
static void revoke_batch(PGconn *c, const dyn_role_t *d, lease_record_t *leases, size_t n)
{
	const char *roles[LEASE_BATCH];
	char err[512];
	for (size_t i = 0; i < n; i++)
		roles[i] = leases[i].role;
	if (lease_pg_revoke(c, d, roles, n, err, sizeof err) == 0) {
		record_revoked(leases, n);
		return;
	}
	if (n == 1) {
		record_failed(&leases[0], err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (lease_pg_revoke(c, d, &roles[i], 1, err, sizeof err) == 0)
			record_revoked(&leases[i], 1);
		else
			record_failed(&leases[i], err);
	}
}

/* The leases [0, n) of one secret. */
static void revoke_group(lease_record_t *leases, size_t n)
{
	char err[512];
	dyn_role_t d;
	char *password = NULL;
	PGconn *c = NULL;
	int def = lease_definition(R.b, leases[0].name, &d, err, sizeof err);
	if (def == 0 && (password = lease_admin_password(R.b, &d.conn, err, sizeof err)) != NULL)
		c = lease_pg_connect(&d, password, err, sizeof err);
	secret_driver_wipe(password);
	if (c == NULL) {
		for (size_t i = 0; i < n; i++)
			record_failed(&leases[i], err);
	} else {
		for (size_t i = 0; i < n; i += LEASE_BATCH) {
			lease_target_lock(leases[0].name); /* batch by batch: creations go on between */
			revoke_batch(c, &d, leases + i, n - i < LEASE_BATCH ? n - i : LEASE_BATCH);
			lease_target_unlock(leases[0].name);
		}
	}
	PQfinish(c);
	if (def == 0)
		dynamic_role_free(&d);
}

/* One pass: true when there may be more to do at once. */
static bool pass(void)
{
	int ended = 0;
	lease_record_t *leases = NULL;
	size_t n = 0;
	if (store_lease_end_due(R.b->store, now_s(), &ended) != STORE_OK ||
	    store_lease_pending(R.b->store, now_s(), LEASE_PASS_MAX, &leases, &n) != STORE_OK)
		return false;
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(leases[j].name, leases[i].name) == 0; j++)
			;
		revoke_group(leases + i, j - i);
	}
	free(leases);
	return n == LEASE_PASS_MAX;
}

static void *revoker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&R.mu);
	while (!R.stop) {
		R.wake = false;
		pthread_mutex_unlock(&R.mu);
		bool more = pass();
		pthread_mutex_lock(&R.mu);
		if (more || R.wake || R.stop)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		pthread_cond_timedwait(&R.cv, &R.mu, &until);
	}
	pthread_mutex_unlock(&R.mu);
	return NULL;
}

int lease_revoker_start(broker_t *b)
{
	R.b = b;
	R.stop = R.wake = false;
	if (pthread_create(&R.thread, NULL, revoker, NULL) != 0)
		return -1;
	R.started = true;
	return 0;
}

void lease_revoker_stop(void)
{
	if (!R.started)
		return;
	pthread_mutex_lock(&R.mu);
	R.stop = true;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
	pthread_join(R.thread, NULL);
	R.started = false;
	close_cached();
}

void lease_revoker_wake(void)
{
	pthread_mutex_lock(&R.mu);
	R.wake = true;
	pthread_cond_broadcast(&R.cv);
	pthread_mutex_unlock(&R.mu);
}
