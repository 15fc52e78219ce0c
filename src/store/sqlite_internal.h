/* sqlite_internal.h - what the SQLite backend's files share: the handle,
 * the group-commit writer and the read-connection pool. Not for callers
 * outside src/store/. */
#ifndef TG_SQLITE_INTERNAL_H
#define TG_SQLITE_INTERNAL_H
#include "store/store.h"
#include <pthread.h>
#include <sqlite3.h>

#define SQLITE_READERS 8

typedef store_rc (*write_fn)(sqlite3 *db, const void *arg);

/* The argument of most writes: an id and a time. */
typedef struct {
	const char *text;
	int64_t n;
} sq_text_int_t;

typedef struct write_op {
	write_fn apply;
	const void *arg;
	store_rc rc;
	int done;
	struct write_op *next;
} write_op_t;

typedef struct {
	pthread_mutex_t mu;
	sqlite3 *db;
} reader_t;

struct store {
	sqlite3 *wdb; /* used by the writer thread only (and at open/close) */
	pthread_t writer;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	write_op_t *head, *tail;
	int stopping;
	reader_t readers[SQLITE_READERS];
};

/* Runs apply(db, arg) inside the next commit group and waits until the group
 * is durable. A failed apply (rc != STORE_OK) rolls back only its own
 * changes (a savepoint per op). */
store_rc sq_write(store_t *s, write_fn apply, const void *arg);

/* Borrows a read connection; release with sq_reader_put. */
sqlite3 *sq_reader_get(store_t *s, reader_t **slot);
void sq_reader_put(reader_t *slot);

/* Prepare or fail: logs nothing, returns NULL on error. */
sqlite3_stmt *sq_prepare(sqlite3 *db, const char *sql);
/* Runs a statement that returns no rows: STORE_OK, STORE_CONFLICT on a
 * constraint violation, STORE_ERROR otherwise. Finalizes it. */
store_rc sq_exec_stmt(sqlite3_stmt *st);
void sq_bind_text(sqlite3_stmt *st, int i, const char *v);
/* The common write: sql with ?1 = text and ?2 = an integer (an id and a
 * time). Returns as sq_exec_stmt; *changes (may be NULL) gets the number of
 * rows it touched. */
store_rc sq_exec_text_int(sqlite3 *db, const char *sql, const char *text, int64_t n, int *changes);
void sq_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col);

#endif
