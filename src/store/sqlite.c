/* sqlite.c - the SQLite store: connections, migrations and group commit.
 *
 * HOW GROUP COMMIT WORKS. Every write is a small function (write_fn) that a
 * request thread queues with sq_write() and then waits on (or, with
 * sq_write_start(), is called back on once it is durable, so that an HTTP
 * thread serves other connections meanwhile). One writer
 * thread takes everything queued so far, runs it in a single BEGIN
 * IMMEDIATE ... COMMIT with a SAVEPOINT around each op (so one op's
 * conflict rolls back only that op), and wakes the waiters after COMMIT
 * returned. With synchronous=FULL in WAL mode the commit is one fsync for
 * the whole group: durability per call, throughput per group. If COMMIT
 * fails every op in the group gets STORE_ERROR, so no caller is told a
 * write succeeded that is not on disk.
 *
 * Reads use a small pool of read-only connections; WAL lets them run beside
 * the writer and each sees the last committed group. */
#include "store/migrations.h"
#include "store/sqlite_internal.h"
#include "core/feed.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

sqlite3_stmt *sq_prepare(sq_conn_t *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	for (size_t i = 0; i < c->n; i++)
		if (c->cache[i].sql == sql)
			return c->cache[i].st;
	if (c->n == SQ_STMT_CACHE ||
	    sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return NULL;
	}
	c->cache[c->n].sql = sql;
	c->cache[c->n++].st = st;
	return st;
}

void sq_release(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

store_rc sq_read_rows(store_t *s, const char *sql, sq_bind_fn bind, const void *arg, sq_row_fn row, json_t **out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, sql);
	store_rc rc = STORE_ERROR;
	*out = json_array();
	if (st != NULL && *out != NULL) {
		int r;
		if (bind != NULL)
			bind(st, arg);
		rc = STORE_OK;
		while (rc == STORE_OK && (r = sqlite3_step(st)) == SQLITE_ROW)
			rc = row(st, *out);
		if (rc == STORE_OK && r != SQLITE_DONE)
			rc = STORE_ERROR;
	}
	sq_release(st);
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

store_rc sq_row_doc(sqlite3_stmt *st, json_t *out)
{
	const char *text = (const char *)sqlite3_column_text(st, 0);
	json_t *doc = text != NULL ? json_loads(text, 0, NULL) : NULL;
	return doc != NULL && json_array_append_new(out, doc) == 0 ? STORE_OK : STORE_ERROR;
}

store_rc sq_read_names(sqlite3_stmt *st, char ***names, int64_t **ints, size_t *n)
{
	size_t cap = 0;
	int r = SQLITE_DONE;
	store_rc rc = STORE_OK;
	*names = NULL;
	if (ints != NULL)
		*ints = NULL;
	*n = 0;
	while (rc == STORE_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			char **m = realloc(*names, cap * sizeof **names);
			int64_t *mi = m && ints ? realloc(*ints, cap * sizeof **ints) : NULL;
			if (m != NULL)
				*names = m;
			if (mi != NULL)
				*ints = mi;
			if (m == NULL || (ints != NULL && mi == NULL)) {
				rc = STORE_ERROR;
				break;
			}
		}
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (((*names)[*n] = strdup(t ? t : "")) == NULL) {
			rc = STORE_ERROR;
			break;
		}
		if (ints != NULL)
			(*ints)[*n] = sqlite3_column_int64(st, 1);
		(*n)++;
	}
	if (rc == STORE_OK && r != SQLITE_DONE)
		rc = STORE_ERROR;
	sq_release(st);
	if (rc != STORE_OK) {
		for (size_t i = 0; i < *n; i++)
			free((*names)[i]);
		free(*names);
		*names = NULL;
		if (ints != NULL) {
			free(*ints);
			*ints = NULL;
		}
		*n = 0;
	}
	return rc;
}

static void conn_close(sq_conn_t *c)
{
	for (size_t i = 0; i < c->n; i++)
		sqlite3_finalize(c->cache[i].st);
	c->n = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

store_rc sq_exec_stmt(sqlite3_stmt *st)
{
	if (st == NULL)
		return STORE_ERROR;
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(sqlite3_db_handle(st));
	sq_release(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return STORE_OK;
	return (ext & 0xff) == SQLITE_CONSTRAINT ? STORE_CONFLICT : STORE_ERROR;
}

store_rc sq_exec_found(sq_conn_t *c, sqlite3_stmt *st)
{
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) == 0 ? STORE_NOT_FOUND : rc;
}

store_rc sq_exec_text_int(sq_conn_t *c, const char *sql, const char *text, int64_t n, int *changes)
{
	sqlite3_stmt *st = sq_prepare(c, sql);
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, text);
	sqlite3_bind_int64(st, 2, n);
	store_rc rc = sq_exec_stmt(st);
	if (changes != NULL)
		*changes = sqlite3_changes(c->db);
	return rc;
}

store_rc sq_exec_int(sq_conn_t *c, const char *sql, int64_t n)
{
	sqlite3_stmt *st = sq_prepare(c, sql);
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, n);
	return sq_exec_stmt(st);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

void sq_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* ---- writer ---- */

/* A statement without parameters or rows, through the cache. */
static int run(sq_conn_t *c, const char *sql)
{
	return sq_exec_stmt(sq_prepare(c, sql)) == STORE_OK ? 0 : -1;
}

typedef struct {
	int64_t seq, checkpoint_seq;
	char hash[AUDIT_HASH_HEX];
} chain_head_t;

static void head_save(const store_t *s, chain_head_t *h)
{
	h->seq = s->audit_seq;
	h->checkpoint_seq = s->audit_checkpoint_seq;
	memcpy(h->hash, s->audit_hash, sizeof h->hash);
}

static void head_restore(store_t *s, const chain_head_t *h)
{
	s->audit_seq = h->seq;
	s->audit_checkpoint_seq = h->checkpoint_seq;
	memcpy(s->audit_hash, h->hash, sizeof h->hash);
}

static void note_error(store_t *s)
{
	pthread_mutex_lock(&s->mu);
	snprintf(s->last_error, sizeof s->last_error, "%s", sqlite3_errmsg(s->w.db));
	pthread_mutex_unlock(&s->mu);
}

void store_last_error(store_t *s, char *out, size_t len)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, len, "%s", s->last_error[0] ? s->last_error : "unknown");
	pthread_mutex_unlock(&s->mu);
}

/* One op in its savepoint: the change, then its audit record. Whatever
 * fails rolls back both and leaves the chain head where it was. When the
 * savepoint itself cannot be rolled back or released, the op's changes
 * may still be in the transaction: *broken asks for the whole group to
 * be rolled back. */
static store_rc run_op(store_t *s, write_op_t *op, int *broken)
{
	chain_head_t before;
	store_rc rc;
	if (run(&s->w, "SAVEPOINT op") != 0) {
		*broken = 1;
		return STORE_ERROR;
	}
	head_save(s, &before);
	rc = op->apply != NULL ? op->apply(&s->w, op->arg) : STORE_OK;
	if (rc == STORE_OK && op->audit != NULL)
		rc = sq_audit_append(s, op->audit, &op->prepared);
	op->seq = rc == STORE_OK && op->audit != NULL ? s->audit_seq : 0;
	if (rc != STORE_OK) {
		if (rc == STORE_ERROR)
			note_error(s);
		if (run(&s->w, "ROLLBACK TO op") != 0)
			*broken = 1;
		head_restore(s, &before);
	}
	if (run(&s->w, "RELEASE op") != 0)
		*broken = 1;
	return rc;
}

static void run_group(store_t *s, write_op_t *ops)
{
	chain_head_t before;
	head_save(s, &before);
	int began = run(&s->w, "BEGIN IMMEDIATE") == 0, broken = 0;
	for (write_op_t *op = ops; op != NULL && !broken; op = op->next)
		op->rc = began ? run_op(s, op, &broken) : STORE_ERROR;
	if (!began)
		note_error(s);
	if (began && (broken || run(&s->w, "COMMIT") != 0)) {
		note_error(s);
		run(&s->w, "ROLLBACK");
		head_restore(s, &before);
		for (write_op_t *op = ops; op != NULL; op = op->next)
			op->rc = STORE_ERROR;
	}
}

/* The highest seq of a feed record (core/feed.h) the group made durable;
 * 0 when it made none. */
static int64_t group_feed_seq(const write_op_t *ops)
{
	int64_t max = 0;
	for (const write_op_t *op = ops; op != NULL; op = op->next)
		if (op->rc == STORE_OK && op->seq > max && feed_audit_type(op->audit->type))
			max = op->seq;
	return max;
}

void store_set_commit_hook(store_t *s, store_commit_hook_fn fn, void *ctx)
{
	s->commit_hook = fn;
	s->commit_hook_ctx = ctx;
}

/* Wakes the group's waiters; the ops nobody waits for are handed back to
 * be finished outside the lock. mu held. */
static write_op_t *wake_waiters(write_op_t *ops)
{
	write_op_t *unwaited = NULL;
	for (write_op_t *op = ops, *next; op != NULL; op = next) {
		next = op->next; /* a waited op lives on its waiter's stack */
		if (op->finished != NULL) {
			op->next = unwaited;
			unwaited = op;
			continue;
		}
		op->done = 1;
		pthread_cond_signal(&op->wake);
	}
	return unwaited;
}

/* Tells each unwaited op's caller its outcome and frees the op. */
static void finish_unwaited(write_op_t *ops)
{
	for (write_op_t *op = ops, *next; op != NULL; op = next) {
		next = op->next;
		op->finished(op->finished_ctx, op->rc);
		audit_prepared_free(&op->prepared);
		free(op);
	}
}

static void *writer_main(void *arg)
{
	store_t *s = arg;
	pthread_setname_np(pthread_self(), "tg-store-writer");
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->head == NULL && !s->stopping)
			pthread_cond_wait(&s->work, &s->mu);
		if (s->head == NULL)
			break;
		write_op_t *ops = s->head;
		s->head = s->tail = NULL;
		pthread_mutex_unlock(&s->mu);
		run_group(s, ops);
		/* The hook hears of the group before its writers are woken: a
		 * writer's caller may ask the feed about its record at once (so
		 * the hook must never wait for a store write). */
		int64_t feed_seq = group_feed_seq(ops);
		if (feed_seq > 0 && s->commit_hook != NULL)
			s->commit_hook(s->commit_hook_ctx, feed_seq);
		pthread_mutex_lock(&s->mu);
		write_op_t *unwaited = wake_waiters(ops);
		pthread_mutex_unlock(&s->mu);
		finish_unwaited(unwaited);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Queues op for the next group; -1 when the store is stopping. mu held. */
static int enqueue(store_t *s, write_op_t *op)
{
	if (s->stopping)
		return -1;
	if (s->tail != NULL)
		s->tail->next = op;
	else
		s->head = op;
	s->tail = op;
	pthread_cond_signal(&s->work);
	return 0;
}

/* Fills op; the expensive part of the audit record is built here, in the
 * caller's thread (in parallel), not in the single writer thread. */
static int op_prepare(store_t *s, write_op_t *op, write_fn apply, const void *arg, const audit_event_t *audit)
{
	*op = (write_op_t){.apply = apply, .arg = arg, .audit = s->audit_disabled ? NULL : audit,
			   .rc = STORE_ERROR};
	return op->audit != NULL && audit_prepare(op->audit, &op->prepared) != 0 ? -1 : 0;
}

store_rc sq_write(store_t *s, write_fn apply, const void *arg, const audit_event_t *audit)
{
	write_op_t op;
	if (apply == NULL && (s->audit_disabled || audit == NULL))
		return STORE_OK; /* an audit-only write with the audit off */
	if (op_prepare(s, &op, apply, arg, audit) != 0)
		return STORE_ERROR;
	pthread_cond_init(&op.wake, NULL);
	pthread_mutex_lock(&s->mu);
	if (enqueue(s, &op) == 0)
		while (!op.done)
			pthread_cond_wait(&op.wake, &s->mu);
	pthread_mutex_unlock(&s->mu);
	pthread_cond_destroy(&op.wake);
	audit_prepared_free(&op.prepared);
	return op.rc;
}

store_rc sq_write_start(store_t *s, write_fn apply, const void *arg, const audit_event_t *audit,
			store_done_fn done, void *ctx)
{
	write_op_t *op = malloc(sizeof *op);
	if (op == NULL)
		return STORE_ERROR;
	if (op_prepare(s, op, apply, arg, audit) != 0) {
		free(op);
		return STORE_ERROR;
	}
	op->finished = done;
	op->finished_ctx = ctx;
	pthread_mutex_lock(&s->mu);
	int queued = enqueue(s, op) == 0;
	pthread_mutex_unlock(&s->mu);
	if (queued)
		return STORE_OK;
	audit_prepared_free(&op->prepared);
	free(op);
	return STORE_ERROR;
}

/* ---- readers ---- */

sq_conn_t *sq_reader_get(store_t *s, reader_t **slot)
{
	for (int i = 0; i < SQLITE_READERS; i++) {
		if (pthread_mutex_trylock(&s->readers[i].mu) == 0) {
			*slot = &s->readers[i];
			return &s->readers[i].conn;
		}
	}
	*slot = &s->readers[(size_t)pthread_self() % SQLITE_READERS];
	pthread_mutex_lock(&(*slot)->mu);
	return &(*slot)->conn;
}

void sq_reader_put(reader_t *slot)
{
	pthread_mutex_unlock(&slot->mu);
}

/* ---- open / migrate / close ---- */

static int migrate(sqlite3 *db, char *err, size_t err_len)
{
	sqlite3_stmt *st;
	int version = 0;
	if (exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)") != 0)
		goto fail;
	if (sqlite3_prepare_v2(db, "SELECT COALESCE(MAX(version), 0) FROM schema_version", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (r != SQLITE_ROW)
		goto fail;
	if (version > SQLITE_SCHEMA_VERSION) {
		snprintf(err, err_len, "store schema version %d is newer than this tollgate (%d): "
			 "upgrade tollgate", version, SQLITE_SCHEMA_VERSION);
		return -1;
	}
	for (int v = version; v < SQLITE_SCHEMA_VERSION; v++) {
		char bump[96];
		snprintf(bump, sizeof bump, "INSERT INTO schema_version VALUES (%d)", v + 1);
		if (exec(db, "BEGIN IMMEDIATE") != 0 || exec(db, sqlite_migrations[v]) != 0 ||
		    exec(db, bump) != 0 || exec(db, "COMMIT") != 0) {
			snprintf(err, err_len, "migration %d failed: %s", v + 1, sqlite3_errmsg(db));
			exec(db, "ROLLBACK");
			return -1;
		}
	}
	return 0;
fail:
	snprintf(err, err_len, "cannot read schema version: %s", sqlite3_errmsg(db));
	return -1;
}

static sqlite3 *open_db(const char *path, int flags, bool sync_full, char *err, size_t err_len)
{
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, err_len, "cannot open store %s: %s", path,
			 db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	if (exec(db, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") != 0 ||
	    exec(db, "PRAGMA foreign_keys=ON") != 0) {
		snprintf(err, err_len, "cannot configure store %s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/* Starts the writer thread with every signal blocked: the store may be
 * opened before the caller blocks the signals it waits for (SIGTERM), and
 * a process-directed signal must never be delivered to, and end the
 * process from, this thread. */
static int start_writer(store_t *s)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->writer, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

store_t *store_open(const char *url, bool sync_full, char *err, size_t err_len)
{
	const char *path;
	store_t *s;
	if (strncmp(url, "sqlite:", 7) != 0) {
		snprintf(err, err_len, "unsupported store URL '%s' (use sqlite:PATH)", url);
		return NULL;
	}
	path = url + 7;
	/* Create the file 0600 before SQLite does, so it never exists wider. */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, err_len, "cannot create store file %s: check the data directory", path);
		return NULL;
	}
	close(fd);
	if ((s = calloc(1, sizeof *s)) == NULL)
		return NULL;
	s->w.db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, sync_full, err, err_len);
	if (s->w.db == NULL)
		goto fail;
	if (exec(s->w.db, "PRAGMA journal_mode=WAL") != 0 || migrate(s->w.db, err, err_len) != 0)
		goto fail;
	for (int i = 0; i < SQLITE_READERS; i++) {
		pthread_mutex_init(&s->readers[i].mu, NULL);
		s->readers[i].conn.db = open_db(path, SQLITE_OPEN_READONLY, sync_full, err, err_len);
		if (s->readers[i].conn.db == NULL)
			goto fail;
	}
	if (sq_audit_load_head(s) != STORE_OK) {
		snprintf(err, err_len, "cannot read the audit chain head");
		goto fail;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->work, NULL);
	if (start_writer(s) != 0) {
		snprintf(err, err_len, "cannot start the store writer thread");
		goto fail;
	}
	return s;
fail:
	for (int i = 0; i < SQLITE_READERS; i++)
		conn_close(&s->readers[i].conn);
	conn_close(&s->w);
	free(s);
	return NULL;
}

void store_close(store_t *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_signal(&s->work);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->writer, NULL);
	for (int i = 0; i < SQLITE_READERS; i++) {
		conn_close(&s->readers[i].conn);
		pthread_mutex_destroy(&s->readers[i].mu);
	}
	exec(s->w.db, "PRAGMA wal_checkpoint(TRUNCATE)");
	conn_close(&s->w);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->work);
	free(s);
}
