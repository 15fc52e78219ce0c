/* sqlite_monitor.c - the monitor's tables (store_monitor.h): baselines
 * keyed by identity, alerts with the columns the API filters on, and the
 * one-row cursor. */
#include "store/sqlite_internal.h"
#include "store/store_monitor.h"
#include <stdlib.h>
#include <string.h>

static store_rc read_cursor(store_t *s, int64_t *cursor)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT seq FROM monitor_cursor WHERE one = 1");
	store_rc rc = STORE_ERROR;
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		*cursor = sqlite3_column_int64(st, 0);
		rc = STORE_OK;
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

store_rc store_monitor_load(store_t *s, json_t **baselines, int64_t *cursor)
{
	store_rc rc =
		sq_read_rows(s, "SELECT doc FROM monitor_baselines ORDER BY identity", NULL, NULL, sq_row_doc, baselines);
	if (rc == STORE_OK && (rc = read_cursor(s, cursor)) != STORE_OK) {
		json_decref(*baselines);
		*baselines = NULL;
	}
	return rc;
}

typedef struct {
	const json_t *docs;
	int64_t cursor, now;
} save_arg_t;

static store_rc apply_save(sq_conn_t *c, const void *arg)
{
	const save_arg_t *a = arg;
	size_t i;
	const json_t *doc;
	json_array_foreach(a->docs, i, doc) {
		char *text = json_dumps(doc, JSON_COMPACT);
		sqlite3_stmt *st = sq_prepare(c, "INSERT INTO monitor_baselines (identity, doc, updated_at) VALUES (?1, ?2, ?3)"
						  " ON CONFLICT(identity) DO UPDATE SET doc = ?2, updated_at = ?3");
		if (text == NULL || st == NULL) {
			free(text);
			sq_release(st);
			return STORE_ERROR;
		}
		sq_bind_text(st, 1, json_string_value(json_object_get(doc, "identity")));
		sq_bind_text(st, 2, text);
		sqlite3_bind_int64(st, 3, a->now);
		store_rc rc = sq_exec_stmt(st);
		free(text);
		if (rc != STORE_OK)
			return rc;
	}
	return sq_exec_int(c, "UPDATE monitor_cursor SET seq = ?1 WHERE one = 1", a->cursor);
}

store_rc store_monitor_save(store_t *s, const json_t *docs, int64_t cursor, int64_t now)
{
	save_arg_t a = {docs, cursor, now};
	return sq_write(s, apply_save, &a, NULL);
}

static store_rc apply_alert_add(sq_conn_t *c, const void *arg)
{
	const monitor_alert_row_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO monitor_alerts (id, created_at, identity, detector, severity, state, doc)"
					  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->created_at);
	sq_bind_text(st, 3, a->identity);
	sq_bind_text(st, 4, a->detector);
	sq_bind_text(st, 5, a->severity);
	sq_bind_text(st, 6, a->state);
	sq_bind_text(st, 7, a->doc);
	return sq_exec_stmt(st);
}

store_rc store_monitor_alert_add(store_t *s, const monitor_alert_row_t *a, const audit_event_t *ev)
{
	return sq_write(s, apply_alert_add, a, ev);
}

typedef struct {
	const char *id, *state, *doc, *expect;
} update_arg_t;

static store_rc apply_alert_update(sq_conn_t *c, const void *arg)
{
	const update_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE monitor_alerts SET state = ?2, doc = ?3 WHERE id = ?1 AND doc = ?4");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->id);
	sq_bind_text(st, 2, a->state);
	sq_bind_text(st, 3, a->doc);
	sq_bind_text(st, 4, a->expect);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) == 0 ? STORE_CONFLICT : rc;
}

store_rc store_monitor_alert_update(store_t *s, const char *id, const char *state, const char *doc,
				    const char *expect_doc, const audit_event_t *ev)
{
	update_arg_t a = {id, state, doc, expect_doc};
	return sq_write(s, apply_alert_update, &a, ev);
}

static void bind_id(sqlite3_stmt *st, const void *arg)
{
	sq_bind_text(st, 1, arg);
}

store_rc store_monitor_alert_get(store_t *s, const char *id, json_t **doc)
{
	json_t *rows = NULL;
	store_rc rc = sq_read_rows(s, "SELECT doc FROM monitor_alerts WHERE id = ?1", bind_id, id, sq_row_doc, &rows);
	*doc = NULL;
	if (rc == STORE_OK && json_array_size(rows) == 0)
		rc = STORE_NOT_FOUND;
	else if (rc == STORE_OK)
		*doc = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return rc;
}

typedef struct {
	const char *state, *identity, *after;
	int limit;
} list_arg_t;

static void bind_list(sqlite3_stmt *st, const void *arg)
{
	const list_arg_t *a = arg;
	sq_bind_text(st, 1, a->state);
	sq_bind_text(st, 2, a->identity);
	sq_bind_text(st, 3, a->after);
	sqlite3_bind_int(st, 4, a->limit);
}

store_rc store_monitor_alert_list(store_t *s, const char *state, const char *identity, const char *after,
				  int limit, json_t **out)
{
	list_arg_t a = {state, identity, after, limit};
	return sq_read_rows(s, "SELECT doc FROM monitor_alerts WHERE (?1 IS NULL OR state = ?1)"
			       " AND (?2 IS NULL OR identity = ?2)"
			       " AND (?3 IS NULL OR n < (SELECT n FROM monitor_alerts WHERE id = ?3))"
			       " ORDER BY n DESC LIMIT ?4",
			    bind_list, &a, sq_row_doc, out);
}

typedef struct {
	const char *identity;
	int64_t now;
	int limit;
} live_arg_t;

static void bind_live(sqlite3_stmt *st, const void *arg)
{
	const live_arg_t *a = arg;
	sq_bind_text(st, 1, a->identity);
	sqlite3_bind_int64(st, 2, a->now);
	sqlite3_bind_int(st, 3, a->limit);
}

store_rc store_monitor_live_tokens(store_t *s, const char *identity, int64_t now, int limit, json_t **out)
{
	live_arg_t a = {identity, now, limit};
	return sq_read_rows(s, "SELECT json_object('jti', jti, 'exp', exp) FROM tokens WHERE identity_id = ?1 AND exp > ?2 AND revoked_at = 0"
			       " ORDER BY exp DESC LIMIT ?3",
			    bind_live, &a, sq_row_doc, out);
}
