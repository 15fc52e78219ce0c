/* sqlite_internal.h - what the SQLite backend's files share: the handle,
 * the group-commit writer and the read-connection pool. Not for callers
 * outside src/store/. */
#ifndef TG_SQLITE_INTERNAL_H
#define TG_SQLITE_INTERNAL_H
#include "store/store.h"
#include <pthread.h>
#include <sqlite3.h>

#define SQLITE_READERS 16 /* one per default HTTP worker thread */
#define SQ_STMT_CACHE 160 /* distinct statements per connection; the code has ~90 */

/* A connection and its prepared statements, reused across calls (parsing
 * SQL would otherwise cost more than executing it on the token path). A
 * connection is used by one thread at a time. */
typedef struct {
	sqlite3 *db;
	size_t n;
	struct {
		const char *sql; /* string literals: compared by address */
		sqlite3_stmt *st;
	} cache[SQ_STMT_CACHE];
} sq_conn_t;

typedef store_rc (*write_fn)(sq_conn_t *c, const void *arg);

/* The argument of most writes: an id and a time. */
typedef struct {
	const char *text;
	int64_t n;
} sq_text_int_t;

typedef struct write_op {
	write_fn apply;          /* may be NULL: an audit record alone */
	const void *arg;
	const audit_event_t *audit; /* appended after apply, same savepoint */
	audit_prepared_t prepared;  /* its text, serialized by the caller's thread */
	store_rc rc;
	int64_t seq;             /* the audit record's seq, once appended */
	int done;
	pthread_cond_t wake; /* this op's waiter only: no thundering herd */
	/* Set: nobody waits; the op is malloc'd (sq_write_start) and the writer
	 * calls finished(finished_ctx, rc) once the group is durable, then frees it. */
	store_done_fn finished;
	void *finished_ctx;
	struct write_op *next;
} write_op_t;

typedef struct {
	pthread_mutex_t mu;
	sq_conn_t conn;
} reader_t;

struct store {
	sq_conn_t w; /* used by the writer thread only (and at open/close) */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t work;
	write_op_t *head, *tail;
	int stopping;
	reader_t readers[SQLITE_READERS];
	/* Audit chain head, owned by the writer thread. */
	int64_t audit_seq, audit_checkpoint_seq, audit_every;
	bool audit_disabled;
	char last_error[200]; /* why the last write failed; under mu */
	char audit_hash[AUDIT_HASH_HEX];
	audit_signer_fn audit_sign;
	void *audit_sign_ctx;
	store_commit_hook_fn commit_hook; /* set before serving */
	void *commit_hook_ctx;
};

/* Runs apply(conn, arg) inside the next commit group and waits until the group
 * is durable. A failed apply (rc != STORE_OK) rolls back only its own
 * changes (a savepoint per op). */
store_rc sq_write(store_t *s, write_fn apply, const void *arg, const audit_event_t *audit);
/* The same without waiting: STORE_OK once queued, and then done(ctx, rc)
 * runs on the writer thread after the group's COMMIT (or its failure);
 * apply's arg and the audit event must live until then. Any other rc: not
 * queued, done is not called. */
store_rc sq_write_start(store_t *s, write_fn apply, const void *arg, const audit_event_t *audit,
			store_done_fn done, void *ctx);

/* sqlite_audit.c: loads the chain head at open; appends a record (and a
 * checkpoint when due) inside the writer's transaction. */
store_rc sq_audit_load_head(store_t *s);
store_rc sq_audit_append(store_t *s, const audit_event_t *ev, const audit_prepared_t *prep);

/* Collects column 0 of every row (a record's JSON text) into a new array
 * and releases st; all rows or STORE_ERROR (with *out NULL). */
store_rc sq_collect_records(sqlite3_stmt *st, json_t **out);

/* Borrows a read connection; release with sq_reader_put. */
sq_conn_t *sq_reader_get(store_t *s, reader_t **slot);
void sq_reader_put(reader_t *slot);

/* Binds a read statement's parameters from arg. */
typedef void (*sq_bind_fn)(sqlite3_stmt *st, const void *arg);
/* Appends one row of st to the array out: STORE_OK or STORE_ERROR. */
typedef store_rc (*sq_row_fn)(sqlite3_stmt *st, json_t *out);
/* Runs sql (a string literal, see sq_prepare) on a read connection, bound
 * by bind(st, arg) unless bind is NULL, and hands each row to row, into a
 * new array: all rows, or STORE_ERROR with *out NULL. */
store_rc sq_read_rows(store_t *s, const char *sql, sq_bind_fn bind, const void *arg, sq_row_fn row, json_t **out);
/* An sq_row_fn: column 0 as a JSON document (a NULL or unparsable one is an error). */
store_rc sq_row_doc(sqlite3_stmt *st, json_t *out);
/* The names (column 0, malloc'd) and, unless ints is NULL, the integers
 * (column 1) of every row of st (bound) into new arrays; releases st. All
 * rows, or STORE_ERROR with nothing kept. */
store_rc sq_read_names(sqlite3_stmt *st, char ***names, int64_t **ints, size_t *n);

/* The connection's prepared statement for sql (a string literal), ready to
 * bind; NULL on error. Give it back with sq_release(). */
sqlite3_stmt *sq_prepare(sq_conn_t *c, const char *sql);
/* Resets a statement from sq_prepare() for its next use. */
void sq_release(sqlite3_stmt *st);
/* Runs a statement that returns no rows: STORE_OK, STORE_CONFLICT on a
 * constraint violation, STORE_ERROR otherwise. Releases it. */
store_rc sq_exec_stmt(sqlite3_stmt *st);
/* sq_exec_stmt of a statement of c that must change a row: STORE_NOT_FOUND
 * when it changed none. */
store_rc sq_exec_found(sq_conn_t *c, sqlite3_stmt *st);
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
/* The common write: sql with ?1 = text and ?2 = an integer (an id and a
 * time). Returns as sq_exec_stmt; *changes (may be NULL) gets the number of
 * rows it touched. */
store_rc sq_exec_text_int(sq_conn_t *c, const char *sql, const char *text, int64_t n, int *changes);
/* sql with ?1 = an integer. */
store_rc sq_exec_int(sq_conn_t *c, const char *sql, int64_t n);
void sq_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col);
/* sqlite_policies.c: moves the entities version on by one (identity writes,
 * whose Workload entities change with them). */
store_rc sq_entities_bump(sq_conn_t *c, int64_t now);
/* sqlite_status.c: raises the status list floor to above every stored
 * status_idx (before token rows are pruned). */
store_rc sq_status_keep_floor(sq_conn_t *c);

#endif
