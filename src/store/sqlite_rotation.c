/* sqlite_rotation.c - secret rotation (store.h): one row per secret with a
 * rotation target (its document and the persisted state of the rotation
 * in progress), and the rotation lease, a single row taken by
 * compare-and-set so that of several brokers sharing a database exactly
 * one rotates. */
#include "store/sqlite_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rotation_record_release(rotation_record_t *r)
{
	free(r->target);
	r->target = NULL;
}

typedef struct {
	const char *name, *target;
	int64_t now;
} target_arg_t;

static store_rc apply_set_target(sq_conn_t *c, const void *arg)
{
	const target_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO secret_rotations (name, target, updated_at) "
					  "SELECT name, ?2, ?3 FROM secrets WHERE name = ?1 AND deleted = 0 "
					  "ON CONFLICT(name) DO UPDATE SET target = ?2, updated_at = ?3");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->name);
	sq_bind_text(st, 2, a->target);
	sqlite3_bind_int64(st, 3, a->now);
	return sq_exec_found(c, st);
}

store_rc store_rotation_set_target(store_t *s, const char *name, const char *target, int64_t now,
				   const audit_event_t *ev)
{
	target_arg_t a = {name, target, now};
	return sq_write(s, apply_set_target, &a, ev);
}

store_rc store_rotation_get(store_t *s, const char *name, rotation_record_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT name, target, phase, failures, not_before, retire_after, new_version,"
					 " old_version, requested, last_error, updated_at FROM secret_rotations "
					 "WHERE name = ?1");
	memset(out, 0, sizeof *out);
	if (st != NULL) {
		sq_bind_text(st, 1, name);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			sq_copy_text(out->name, sizeof out->name, st, 0);
			out->target = strdup((const char *)sqlite3_column_text(st, 1));
			sq_copy_text(out->phase, sizeof out->phase, st, 2);
			out->failures = sqlite3_column_int64(st, 3);
			out->not_before = sqlite3_column_int64(st, 4);
			out->retire_after = sqlite3_column_int64(st, 5);
			out->new_version = sqlite3_column_int64(st, 6);
			out->old_version = sqlite3_column_int64(st, 7);
			out->requested = sqlite3_column_int64(st, 8) != 0;
			out->requested_now = sqlite3_column_int64(st, 8) == 2;
			sq_copy_text(out->last_error, sizeof out->last_error, st, 9);
			out->updated_at = sqlite3_column_int64(st, 10);
			rc = out->target != NULL ? STORE_OK : STORE_ERROR;
		} else if (r == SQLITE_DONE) {
			rc = STORE_NOT_FOUND;
		}
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

typedef struct {
	const rotation_record_t *r;
	int64_t now;
} save_arg_t;

static store_rc apply_save(sq_conn_t *c, const void *arg)
{
	const save_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_rotations SET phase = ?2, failures = ?3, not_before = ?4,"
					 " retire_after = ?5, new_version = ?6, old_version = ?7, requested = ?8,"
					 " last_error = ?9, updated_at = ?10 WHERE name = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->r->name);
	sq_bind_text(st, 2, a->r->phase);
	sqlite3_bind_int64(st, 3, a->r->failures);
	sqlite3_bind_int64(st, 4, a->r->not_before);
	sqlite3_bind_int64(st, 5, a->r->retire_after);
	sqlite3_bind_int64(st, 6, a->r->new_version);
	sqlite3_bind_int64(st, 7, a->r->old_version);
	sqlite3_bind_int64(st, 8, a->r->requested ? (a->r->requested_now ? 2 : 1) : 0);
	sq_bind_text(st, 9, a->r->last_error);
	sqlite3_bind_int64(st, 10, a->now);
	return sq_exec_found(c, st);
}

store_rc store_rotation_save(store_t *s, const rotation_record_t *r, int64_t now, const audit_event_t *ev)
{
	save_arg_t a = {r, now};
	return sq_write(s, apply_save, &a, ev);
}

typedef struct {
	const char *name;
	int64_t now;
	bool skip_backoff;
} request_arg_t;

static store_rc apply_request(sq_conn_t *c, const void *arg)
{
	const request_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_rotations SET updated_at = ?2,"
					 " requested = CASE WHEN ?3 THEN 2 ELSE MAX(requested, 1) END,"
					 " not_before = CASE WHEN ?3 THEN 0 ELSE not_before END WHERE name = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->name);
	sqlite3_bind_int64(st, 2, a->now);
	sqlite3_bind_int(st, 3, a->skip_backoff ? 1 : 0);
	return sq_exec_found(c, st);
}

store_rc store_rotation_request(store_t *s, const char *name, int64_t now, bool skip_backoff,
				const audit_event_t *ev)
{
	request_arg_t a = {name, now, skip_backoff};
	return sq_write(s, apply_request, &a, ev);
}

store_rc store_rotation_active(store_t *s, int64_t now, int max, char ***names, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT r.name FROM secret_rotations r JOIN secrets s ON s.name = r.name "
					 "WHERE s.deleted = 0 AND (r.phase != 'idle' OR r.requested != 0 OR "
					 "(s.next_due > 0 AND s.next_due <= ?1)) ORDER BY r.name LIMIT ?2");
	*names = NULL;
	*n = 0;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, max);
		rc = sq_read_names(st, names, NULL, n);
	}
	sq_reader_put(slot);
	return rc;
}

typedef struct {
	const char *owner;
	int64_t now, until;
} lease_arg_t;

static store_rc apply_lease(sq_conn_t *c, const void *arg)
{
	const lease_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE rotation_lease SET owner = ?1, until = ?3 "
					 "WHERE one = 1 AND (owner = ?1 OR owner = '' OR until <= ?2)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->owner);
	sqlite3_bind_int64(st, 2, a->now);
	sqlite3_bind_int64(st, 3, a->until);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) == 0 ? STORE_CONFLICT : rc;
}

store_rc store_rotation_lease(store_t *s, const char *owner, int64_t now, int64_t until)
{
	lease_arg_t a = {owner, now, until};
	return sq_write(s, apply_lease, &a, NULL);
}

static store_rc apply_lease_release(sq_conn_t *c, const void *arg)
{
	sqlite3_stmt *st = sq_prepare(c, "UPDATE rotation_lease SET owner = '', until = 0 WHERE one = 1 AND owner = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, arg);
	return sq_exec_stmt(st);
}

store_rc store_rotation_lease_release(store_t *s, const char *owner)
{
	return sq_write(s, apply_lease_release, owner, NULL);
}
