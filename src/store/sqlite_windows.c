/* sqlite_windows.c - change windows (store.h): one row per window, its
 * normalized document as text. */
#include "store/sqlite_internal.h"
#include <string.h>

typedef struct {
	const char *name, *doc;
	int64_t now;
} window_arg_t;

static store_rc apply_put(sq_conn_t *c, const void *arg)
{
	const window_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO change_windows (name, doc, created_at, updated_at) "
					  "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET doc = ?2, updated_at = ?3");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->name);
	sq_bind_text(st, 2, a->doc);
	sqlite3_bind_int64(st, 3, a->now);
	return sq_exec_stmt(st);
}

store_rc store_window_put(store_t *s, const char *name, const char *doc, int64_t now, const audit_event_t *ev)
{
	window_arg_t a = {name, doc, now};
	return sq_write(s, apply_put, &a, ev);
}

static store_rc apply_delete(sq_conn_t *c, const void *arg)
{
	sqlite3_stmt *st = sq_prepare(c, "DELETE FROM change_windows WHERE name = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, arg);
	return sq_exec_found(c, st);
}

store_rc store_window_delete(store_t *s, const char *name, const audit_event_t *ev)
{
	return sq_write(s, apply_delete, name, ev);
}

store_rc store_window_list(store_t *s, json_t **out)
{
	return sq_read_rows(s, "SELECT doc FROM change_windows ORDER BY name", NULL, NULL, sq_row_doc, out);
}
