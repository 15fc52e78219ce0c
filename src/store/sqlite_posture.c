/* sqlite_posture.c - what the posture report (docs/report.md) keeps and
 * reads (store.h): the history of its shares, one row per snapshot, and
 * the static secrets' rotation due dates when the secret store exists. */
#include "store/sqlite_internal.h"
#include "core/timefmt.h"
#include <string.h>

#define POSTURE_HISTORY_KEEP 1000 /* snapshots kept per source (report, daily) */

typedef struct {
	int64_t time;
	const char *source, *shares;
} snapshot_arg_t;

static store_rc apply_snapshot(sq_conn_t *c, const void *arg)
{
	const snapshot_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO posture_history (time, source, shares) VALUES (?1, ?2, ?3)");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, a->time);
	sq_bind_text(st, 2, a->source);
	sq_bind_text(st, 3, a->shares);
	store_rc rc = sq_exec_stmt(st);
	if (rc != STORE_OK)
		return rc;
	/* bounded: the newest POSTURE_HISTORY_KEEP snapshots of each source */
	st = sq_prepare(c, "DELETE FROM posture_history WHERE source = ?1 AND id <= "
			   "(SELECT id FROM posture_history WHERE source = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->source);
	sqlite3_bind_int(st, 2, POSTURE_HISTORY_KEEP);
	return sq_exec_stmt(st);
}

store_rc store_posture_snapshot_add(store_t *s, int64_t time, const char *source, const char *shares_json)
{
	snapshot_arg_t a = {time, source, shares_json};
	return sq_write(s, apply_snapshot, &a, NULL);
}

typedef struct {
	int64_t since;
	int limit;
} history_arg_t;

static void bind_history(sqlite3_stmt *st, const void *arg)
{
	const history_arg_t *a = arg;
	sqlite3_bind_int64(st, 1, a->since);
	sqlite3_bind_int(st, 2, a->limit);
}

static store_rc snapshot_row(sqlite3_stmt *st, json_t *out)
{
	json_t *shares = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
	if (!json_is_object(shares)) {
		json_decref(shares);
		return STORE_ERROR;
	}
	return json_array_append_new(out, json_pack("{s:o, s:s, s:o}", "time", rfc3339_json(sqlite3_column_int64(st, 0)),
						     "source", (const char *)sqlite3_column_text(st, 1), "shares",
						     shares)) == 0 ? STORE_OK : STORE_ERROR;
}

store_rc store_posture_history(store_t *s, int64_t since, int limit, json_t **out)
{
	history_arg_t a = {since, limit};
	return sq_read_rows(s,
			    "SELECT time, source, shares FROM (SELECT id, time, source, shares FROM posture_history "
			    "WHERE time >= ?1 ORDER BY time DESC, id DESC LIMIT ?2) ORDER BY time, id",
			    bind_history, &a, snapshot_row, out);
}

static store_rc time_row(sqlite3_stmt *st, json_t *out)
{
	return json_array_append_new(out, json_integer(sqlite3_column_int64(st, 0))) == 0 ? STORE_OK : STORE_ERROR;
}

static void bind_source(sqlite3_stmt *st, const void *source)
{
	sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
}

store_rc store_posture_last(store_t *s, const char *source, int64_t *time)
{
	json_t *rows;
	/* a literal: statements are cached by the address of their text */
	store_rc rc = sq_read_rows(s, "SELECT coalesce(max(time), 0) FROM posture_history WHERE source = ?1",
				   bind_source, source, time_row, &rows);
	if (rc == STORE_OK)
		*time = json_integer_value(json_array_get(rows, 0));
	json_decref(rows);
	return rc;
}

static store_rc secret_row(sqlite3_stmt *st, json_t *out)
{
	json_t *meta = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
	const char *owner = json_string_value(json_object_get(meta, "owner"));
	store_rc rc = json_array_append_new(out, json_pack("{s:s, s:s, s:I}", "name", (const char *)sqlite3_column_text(st, 0),
							   "owner", owner ? owner : "", "next_due",
							   (json_int_t)sqlite3_column_int64(st, 1))) == 0
			      ? STORE_OK
			      : STORE_ERROR;
	json_decref(meta);
	return rc;
}

store_rc store_posture_secrets(store_t *s, json_t **out)
{
	json_t *exists;
	store_rc rc = sq_read_rows(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'secrets'",
				   NULL, NULL, time_row, &exists);
	bool present = rc == STORE_OK && json_integer_value(json_array_get(exists, 0)) > 0;
	json_decref(exists);
	*out = NULL;
	if (rc != STORE_OK)
		return rc;
	if (!present)
		return STORE_NOT_FOUND;
	return sq_read_rows(s, "SELECT name, next_due, metadata FROM secrets WHERE deleted = 0 ORDER BY name", NULL,
			    NULL, secret_row, out);
}
