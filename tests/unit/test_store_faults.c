/* test_store_faults.c - the SQLite store under real I/O failures. A VFS
 * shim, registered as SQLite's default before the store opens (no hook in
 * the product), wraps the OS VFS and fails the Nth read (SQLITE_IOERR_READ)
 * once armed. Each read function of the store is run against a filled
 * store with N = 0, 1, 2, ... until a run no longer reaches the Nth read,
 * so every read a listing makes fails once: whenever the fault fired the
 * call must return an error with no partial result (and, under ASan, leak
 * nothing); whenever it did not, the result must be complete. A failing
 * jansson allocator (json_set_alloc_funcs) makes json_dumps fail inside
 * the writer thread; rows the broker never writes are put in with a raw
 * SQLite connection. And a SIGTERM sent while the caller blocks it (as
 * `tollgate serve` does between opening the store and waiting for it) must
 * stay pending for the caller, never be taken by the store's thread. */
#include "store/store.h"
#include "test_util.h"
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the faulty VFS ---- */

static sqlite3_vfs *os_vfs;
static atomic_long reads_left = -1; /* < 0: disarmed; 0: the next read fails */
static atomic_int fired;

typedef struct {
	sqlite3_file base;
	sqlite3_file *real; /* follows this struct in the same allocation */
} ff_file_t;

#define REAL(f) (((ff_file_t *)(f))->real)

static int ff_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	long left = atomic_load(&reads_left);
	while (left >= 0 && !atomic_compare_exchange_weak(&reads_left, &left, left - 1))
		;
	if (left == 0) {
		atomic_store(&fired, 1);
		return SQLITE_IOERR_READ;
	}
	return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int ff_close(sqlite3_file *f)
{
	return REAL(f)->pMethods->xClose(REAL(f));
}
static int ff_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o)
{
	return REAL(f)->pMethods->xWrite(REAL(f), b, n, o);
}
static int ff_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int ff_sync(sqlite3_file *f, int flags)
{
	return REAL(f)->pMethods->xSync(REAL(f), flags);
}
static int ff_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int ff_lock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int ff_unlock(sqlite3_file *f, int l)
{
	return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int ff_reserved(sqlite3_file *f, int *out)
{
	return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int ff_fcntl(sqlite3_file *f, int op, void *arg)
{
	return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int ff_sector(sqlite3_file *f)
{
	return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int ff_devchar(sqlite3_file *f)
{
	return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int ff_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **pp)
{
	return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, extend, pp);
}
static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
	return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void ff_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int ff_shm_unmap(sqlite3_file *f, int del)
{
	return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
/* No memory-mapped pages: every page read goes through ff_read. */
static int ff_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
	*pp = NULL;
	return SQLITE_OK;
}
static int ff_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return SQLITE_OK;
}

static const sqlite3_io_methods ff_methods = {
	3, ff_close, ff_read, ff_write, ff_truncate, ff_sync, ff_size, ff_lock, ff_unlock,
	ff_reserved, ff_fcntl, ff_sector, ff_devchar, ff_shm_map, ff_shm_lock, ff_shm_barrier,
	ff_shm_unmap, ff_fetch, ff_unfetch,
};

static int ff_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
	ff_file_t *ff = (ff_file_t *)f;
	ff->real = (sqlite3_file *)(ff + 1);
	int rc = os_vfs->xOpen(os_vfs, name, ff->real, flags, out_flags);
	f->pMethods = rc == SQLITE_OK && ff->real->pMethods != NULL ? &ff_methods : NULL;
	return rc;
}

static sqlite3_vfs ff_vfs;

static void faulty_vfs_register(void)
{
	os_vfs = sqlite3_vfs_find(NULL);
	assert_non_null(os_vfs);
	assert_true(os_vfs->iVersion >= 1);
	ff_vfs = *os_vfs; /* same name resolution, randomness, time... */
	ff_vfs.zName = "tollgate-test-faulty";
	ff_vfs.szOsFile = (int)sizeof(ff_file_t) + os_vfs->szOsFile;
	ff_vfs.xOpen = ff_open;
	ff_vfs.pNext = NULL;
	assert_int_equal(sqlite3_vfs_register(&ff_vfs, 1), SQLITE_OK);
}

/* The next n reads succeed, the one after fails (once). */
static void arm_read_fault(long n)
{
	atomic_store(&fired, 0);
	atomic_store(&reads_left, n);
}

/* Disarms; returns whether the fault fired. */
static int disarm(void)
{
	atomic_store(&reads_left, -1);
	return atomic_load(&fired);
}

/* ---- failing jansson allocations in the store's writer thread ---- */

static atomic_int fail_writer_json;

static int in_writer_thread(void)
{
	char name[16] = "";
	pthread_getname_np(pthread_self(), name, sizeof name);
	return strcmp(name, "tg-store-writer") == 0;
}

static void *json_malloc(size_t n)
{
	if (atomic_load(&fail_writer_json) && in_writer_thread())
		return NULL;
	return malloc(n);
}

/* ---- a filled store ---- */

#define N_IDENTITIES 40
#define N_POLICIES 12
#define N_ENTITIES 150
#define N_SIGNING_KEYS 6
#define AUDIT_EVERY 7

typedef struct {
	char dir[64], path[96], url[112];
	store_t *s;
	int64_t audit_records; /* one per audited write */
} fixture_t;

/* A checkpoint the store stores as given (it checks no signature), made
 * long so that the checkpoints span pages. */
static json_t *test_signer(void *ctx, int64_t seq, const char *hash, const char *time)
{
	char sig[1200];
	memset(sig, 's', sizeof sig - 1);
	sig[sizeof sig - 1] = '\0';
	return json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)seq, "hash", hash, "time", time,
			 "sig", sig);
}

static store_t *open_store(fixture_t *fx)
{
	char err[256] = "";
	store_t *s = store_open(fx->url, false, err, sizeof err);
	if (s != NULL)
		store_audit_configure(s, true, AUDIT_EVERY, test_signer, NULL);
	return s;
}

static void fill_identity(identity_t *id, int i, const char *role)
{
	memset(id, 0, sizeof *id);
	snprintf(id->id, sizeof id->id, "svc-%03d", i);
	snprintf(id->kind, sizeof id->kind, "service");
	snprintf(id->owner, sizeof id->owner, "team-%d", i % 3);
	snprintf(id->status, sizeof id->status, "active");
	/* Long rows, so that a listing spans many pages (and many reads). */
	memset(id->description, 'a' + i % 26, 600);
	id->roles = json_pack("[s, s]", role, "reader");
	assert_non_null(id->roles);
	id->created_at = TU_NOW + i;
	id->n_keys = 2;
	for (size_t k = 0; k < id->n_keys; k++) {
		snprintf(id->keys[k].kid, sizeof id->keys[k].kid, "key-%zu", k);
		memset(id->keys[k].pk, (int)(i * 2 + k), ED25519_PK_LEN);
		id->keys[k].created_at = TU_NOW + (int64_t)k;
	}
}

static void fill_policies(fixture_t *fx)
{
	char *text = malloc(3001);
	assert_non_null(text);
	for (int v = 1; v <= N_POLICIES; v++) {
		char comment[64];
		memset(text, 'p', 3000);
		text[3000] = '\0';
		snprintf(comment, sizeof comment, "version %d", v);
		policy_version_t p = {.version = v, .created_at = TU_NOW + v, .count = v, .text = text,
				      .text_len = 3000, .comment = comment};
		snprintf(p.sha256, sizeof p.sha256, "%064d", v);
		snprintf(p.actor, sizeof p.actor, "admin");
		audit_event_t ev = {.type = "policy.changed", .actor = "admin", .action = "policy.put"};
		assert_int_equal(store_policy_put(fx->s, &p, &ev), STORE_OK);
		fx->audit_records++;
	}
	free(text);
}

static void fill_entities(fixture_t *fx)
{
	entity_row_t rows[N_ENTITIES];
	char ids[N_ENTITIES][16], json[N_ENTITIES][256];
	for (int i = 0; i < N_ENTITIES; i++) {
		snprintf(ids[i], sizeof ids[i], "e%04d", i);
		snprintf(json[i], sizeof json[i], "{\"uid\":{\"type\":\"Team\",\"id\":\"%s\"},"
			 "\"attrs\":{\"note\":\"%0120d\"},\"parents\":[]}", ids[i], i);
		rows[i] = (entity_row_t){"Team", ids[i], json[i]};
	}
	int64_t version = 0;
	assert_int_equal(store_entities_version(fx->s, &version), STORE_OK);
	assert_int_equal(store_entities_upsert(fx->s, rows, N_ENTITIES, version + 1, TU_NOW, NULL),
			 STORE_OK);
}

static void fill_signing_keys(fixture_t *fx)
{
	uint8_t sealed[1500]; /* about 3 keys a page */
	for (int i = 0; i < N_SIGNING_KEYS; i++) {
		signing_key_t k = {.sealed = sealed, .sealed_len = sizeof sealed, .created_at = TU_NOW + i};
		snprintf(k.kid, sizeof k.kid, "sk-%d", i);
		snprintf(k.purpose, sizeof k.purpose, "token");
		memset(k.pk, i, sizeof k.pk);
		memset(sealed, i, sizeof sealed);
		assert_int_equal(store_signing_key_add(fx->s, &k, NULL), STORE_OK);
	}
}

static void fill(fixture_t *fx)
{
	for (int i = 0; i < N_IDENTITIES; i++) {
		identity_t id;
		fill_identity(&id, i, i % 2 ? "odd" : "even");
		audit_event_t ev = {.type = "identity.created", .actor = "admin", .action = "identity.create",
				    .resource = id.id};
		assert_int_equal(store_identity_create(fx->s, &id, &ev), STORE_OK);
		fx->audit_records++;
		identity_release(&id);
	}
	fill_policies(fx);
	fill_entities(fx);
	fill_signing_keys(fx);
	assert_int_equal(store_forward_cursor_set(fx->s, "syslog", 5), STORE_OK);
}

static int setup(void **state)
{
	fixture_t *fx = calloc(1, sizeof *fx);
	assert_non_null(fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/tg-store-faults-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof fx->path, "%s/tollgate.db", fx->dir);
	snprintf(fx->url, sizeof fx->url, "sqlite:%s", fx->path);
	fx->s = open_store(fx);
	assert_non_null(fx->s);
	fill(fx);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *fx = *state;
	char p[112];
	store_close(fx->s);
	static const char *const suffix[] = {"", "-wal", "-shm"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
		unlink(p);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A write that changes nothing the reads look at, so that the next read
 * transaction of every reader connection starts with an empty page cache
 * (WAL readers drop their cache when the log has changed) and has to read
 * its pages again, through the shim. */
static void cold_cache(fixture_t *fx, long n)
{
	assert_int_equal(store_forward_cursor_set(fx->s, "cache-buster", n), STORE_OK);
}

/* ---- the sweep ---- */

/* One read call under test: runs it and checks its result. With armed
 * set, a read fault was armed for the call and the shim says whether it
 * fired; otherwise the result must be complete. */
typedef void (*read_case_fn)(fixture_t *fx, int armed);

#define MAX_READS 5000

static int fault_fired(int armed)
{
	return armed && atomic_load(&fired);
}

/* Runs fn with the Nth read failing for N = 0, 1, ... until the call
 * completes without reaching the fault; after each failed run, runs it
 * unarmed (the store must have recovered). Returns how many reads the
 * complete call made. */
static long sweep(fixture_t *fx, read_case_fn fn)
{
	long n;
	for (n = 0; n < MAX_READS; n++) {
		cold_cache(fx, n);
		arm_read_fault(n);
		fn(fx, 1);
		if (!disarm())
			break;
		fn(fx, 0);
	}
	assert_true(n < MAX_READS);
	return n;
}

static void case_identity_list(fixture_t *fx, int armed)
{
	identity_t *ids = (identity_t *)1;
	size_t n = 99;
	identity_filter_t f = {.limit = 100};
	store_rc rc = store_identity_list(fx->s, &f, &ids, &n);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(ids);
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(n, N_IDENTITIES);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(ids[i].n_keys, 2);
		assert_int_equal(json_array_size(ids[i].roles), 2);
		identity_release(&ids[i]);
	}
	free(ids);
}

static void case_identity_list_by_role(fixture_t *fx, int armed)
{
	identity_t *ids = NULL;
	size_t n = 99;
	identity_filter_t f = {.role = "odd", .limit = 7};
	store_rc rc = store_identity_list(fx->s, &f, &ids, &n);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(ids);
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(n, 7); /* a full page: the limit, not the end, stopped it */
	for (size_t i = 0; i < n; i++)
		identity_release(&ids[i]);
	free(ids);
}

static void case_identity_get(fixture_t *fx, int armed)
{
	identity_t id;
	store_rc rc = store_identity_get(fx->s, "svc-017", &id);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(id.roles);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(id.n_keys, 2);
	assert_string_equal(json_string_value(json_array_get(id.roles, 0)), "odd");
	identity_release(&id);
}

static void case_policy_history(fixture_t *fx, int armed)
{
	policy_version_t *list = (policy_version_t *)1;
	size_t n = 99;
	store_rc rc = store_policy_history(fx->s, 0, 100, &list, &n);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(list);
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(n, N_POLICIES);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(list[i].version, N_POLICIES - (int64_t)i);
		policy_version_release(&list[i]);
	}
	free(list);
}

static void case_policy_get(fixture_t *fx, int armed)
{
	policy_version_t p;
	store_rc rc = store_policy_get(fx->s, 0, &p);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(p.text);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(p.version, N_POLICIES);
	assert_int_equal(p.text_len, 3000);
	policy_version_release(&p);
}

static void case_entities_list(fixture_t *fx, int armed)
{
	json_t *all = (json_t *)1;
	int64_t version = 0;
	store_rc rc = store_entities_list(fx->s, &all, &version);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(all);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(json_array_size(all), N_ENTITIES);
	assert_true(version > 0);
	json_decref(all);
}

static void case_signing_keys(fixture_t *fx, int armed)
{
	signing_key_t *keys = (signing_key_t *)1;
	size_t n = 99;
	store_rc rc = store_signing_keys(fx->s, "token", &keys, &n);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(keys);
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(n, N_SIGNING_KEYS);
	signing_keys_release(keys, n);
}

static void case_audit_list(fixture_t *fx, int armed)
{
	json_t *recs = (json_t *)1;
	audit_filter_t f = {.limit = 1000};
	store_rc rc = store_audit_list(fx->s, &f, &recs);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(recs);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(json_array_size(recs), fx->audit_records);
	json_decref(recs);
}

static void case_audit_checkpoints(fixture_t *fx, int armed)
{
	json_t *cps = (json_t *)1;
	store_rc rc = store_audit_checkpoints(fx->s, 0, 1000, &cps);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		assert_null(cps);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(json_array_size(cps), fx->audit_records / AUDIT_EVERY);
	json_decref(cps);
}

static void case_audit_check_tail(fixture_t *fx, int armed)
{
	char why[128] = "";
	int rc = store_audit_check_tail(fx->s, why, sizeof why);
	if (fault_fired(armed)) {
		assert_int_equal(rc, -1);
		assert_string_equal(why, "cannot read the audit tail");
		return;
	}
	assert_int_equal(rc, 0);
}

static void case_forward_cursor(fixture_t *fx, int armed)
{
	int64_t seq = -1;
	store_rc rc = store_forward_cursor(fx->s, "syslog", &seq);
	if (fault_fired(armed)) {
		assert_int_equal(rc, STORE_ERROR);
		return;
	}
	assert_int_equal(rc, STORE_OK);
	assert_int_equal(seq, 5);
}

static void test_read_faults_are_errors(void **state)
{
	fixture_t *fx = *state;
	static const struct {
		const char *name;
		read_case_fn fn;
		long min_reads; /* the rows span pages: reads after the first rows */
	} cases[] = {
		{"identity_list", case_identity_list, 10},
		{"identity_list_by_role", case_identity_list_by_role, 5},
		{"identity_get", case_identity_get, 3},
		{"policy_history", case_policy_history, 10},
		{"policy_get", case_policy_get, 2},
		{"entities_list", case_entities_list, 8},
		{"signing_keys", case_signing_keys, 4},
		{"audit_list", case_audit_list, 5},
		{"audit_checkpoints", case_audit_checkpoints, 3},
		{"audit_check_tail", case_audit_check_tail, 2},
		{"forward_cursor", case_forward_cursor, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long reads = sweep(fx, cases[i].fn);
		printf("# %-22s %ld reads, each failed once\n", cases[i].name, reads);
		assert_true(reads >= cases[i].min_reads);
	}
}

/* A read failure while the store opens (schema version, chain head) fails
 * the open; it never starts a second chain from the genesis. */
static void test_open_read_faults(void **state)
{
	fixture_t *fx = *state;
	store_close(fx->s);
	fx->s = NULL;
	long n;
	for (n = 0; n < MAX_READS; n++) {
		arm_read_fault(n);
		store_t *s = open_store(fx);
		int hit = disarm();
		if (hit) {
			assert_null(s);
			continue;
		}
		assert_non_null(s);
		fx->s = s;
		break;
	}
	printf("# store_open             %ld reads, each failed once\n", n);
	assert_true(n >= 2 && n < MAX_READS);
	/* The chain goes on where it was. */
	audit_event_t ev = {.type = "test.after_reopen", .actor = "test", .action = "test"};
	assert_int_equal(store_audit_append(fx->s, &ev), STORE_OK);
	fx->audit_records++;
	json_t *recs = NULL;
	audit_filter_t f = {.after = fx->audit_records - 1, .limit = 10};
	assert_int_equal(store_audit_list(fx->s, &f, &recs), STORE_OK);
	assert_int_equal(json_array_size(recs), 1);
	json_t *r = json_array_get(recs, 0);
	assert_string_equal(json_string_value(json_object_get(r, "type")), "test.after_reopen");
	json_decref(recs);
	char why[128];
	assert_int_equal(store_audit_check_tail(fx->s, why, sizeof why), 0);
}

/* Retention reads its anchor first: a failed read is an error, not
 * "nothing to prune"; and the log is untouched until a run succeeds. */
static void test_prune_read_faults(void **state)
{
	fixture_t *fx = *state;
	long n;
	for (n = 0; n < MAX_READS; n++) {
		int64_t pruned_to = -1;
		cold_cache(fx, n);
		arm_read_fault(n);
		store_rc rc = store_audit_prune(fx->s, "9999-12-31T23:59:59Z", &pruned_to);
		if (!disarm()) {
			assert_int_equal(rc, STORE_OK);
			assert_true(pruned_to > 1);
			break;
		}
		assert_int_equal(rc, STORE_ERROR);
		assert_int_equal(pruned_to, 0);
		char why[128];
		assert_int_equal(store_audit_check_tail(fx->s, why, sizeof why), 0);
		json_t *recs = NULL;
		audit_filter_t f = {.limit = 1000};
		assert_int_equal(store_audit_list(fx->s, &f, &recs), STORE_OK);
		assert_int_equal(json_array_size(recs), fx->audit_records);
		json_decref(recs);
	}
	assert_true(n >= 1 && n < MAX_READS);
}

/* json_dumps failing (out of memory) inside the writer: the create and
 * the update fail, and nothing is stored with roles it was not given. */
static void test_roles_serialization_failure(void **state)
{
	fixture_t *fx = *state;
	identity_t id, got;
	fill_identity(&id, 900, "admin");
	atomic_store(&fail_writer_json, 1);
	store_rc rc = store_identity_create(fx->s, &id, NULL);
	atomic_store(&fail_writer_json, 0);
	assert_int_equal(rc, STORE_ERROR);
	assert_int_equal(store_identity_get(fx->s, id.id, &got), STORE_NOT_FOUND);

	assert_int_equal(store_identity_create(fx->s, &id, NULL), STORE_OK);
	json_array_append_new(id.roles, json_string("more"));
	atomic_store(&fail_writer_json, 1);
	rc = store_identity_update(fx->s, &id, TU_NOW + 1000, NULL);
	atomic_store(&fail_writer_json, 0);
	assert_int_equal(rc, STORE_ERROR);
	assert_int_equal(store_identity_get(fx->s, id.id, &got), STORE_OK);
	assert_int_equal(json_array_size(got.roles), 2);
	assert_string_equal(json_string_value(json_array_get(got.roles, 0)), "admin");
	identity_release(&got);
	identity_release(&id);
}

/* Changes the store file behind the store's back (rows the broker never
 * writes), with SQLite's own VFS. */
static void raw_exec(fixture_t *fx, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(fx->path, &db, SQLITE_OPEN_READWRITE, "unix"), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
	sqlite3_close(db);
}

/* A corrupt row is an error for the listing it is in, never a shorter
 * list or an identity with no roles or fewer keys. */
static void test_corrupt_rows_are_errors(void **state)
{
	fixture_t *fx = *state;
	identity_t *ids = NULL, got;
	size_t n = 0;
	identity_filter_t f = {.limit = 100};

	raw_exec(fx, "UPDATE identities SET roles = 'not json' WHERE id = 'svc-003'");
	assert_int_equal(store_identity_get(fx->s, "svc-003", &got), STORE_ERROR);
	assert_null(got.roles);
	assert_int_equal(store_identity_list(fx->s, &f, &ids, &n), STORE_ERROR);
	assert_null(ids);
	raw_exec(fx, "UPDATE identities SET roles = '[\"even\"]' WHERE id = 'svc-003'");

	raw_exec(fx, "UPDATE identity_keys SET public_key = x'00' WHERE identity_id = 'svc-004' "
		     "AND kid = 'key-1'");
	assert_int_equal(store_identity_get(fx->s, "svc-004", &got), STORE_ERROR);
	assert_int_equal(store_identity_list(fx->s, &f, &ids, &n), STORE_ERROR);
	assert_null(ids);

	signing_key_t *keys = NULL;
	raw_exec(fx, "UPDATE signing_keys SET public_key = x'00' WHERE kid = 'sk-2'");
	assert_int_equal(store_signing_keys(fx->s, "token", &keys, &n), STORE_ERROR);
	assert_null(keys);
	assert_int_equal(n, 0);
}

/* The broker opens the store, then blocks SIGTERM and waits for it with
 * sigtimedwait; whatever it is doing meanwhile, the signal must wait for
 * it. A thread of the store that did not block it would take it, and its
 * default action would end the process here. */
static void test_sigterm_is_left_to_the_caller(void **state)
{
	fixture_t *fx = *state;
	sigset_t term, old;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
	assert_int_equal(kill(getpid(), SIGTERM), 0);
	/* The store keeps working, and the signal is still pending for us. */
	cold_cache(fx, 1);
	struct timespec none = {0, 0};
	assert_int_equal(sigtimedwait(&term, NULL, &none), SIGTERM);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

int main(void)
{
	json_set_alloc_funcs(json_malloc, free);
	faulty_vfs_register();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_faults_are_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_read_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_read_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roles_serialization_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_rows_are_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_is_left_to_the_caller, setup, teardown),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
