/* sqlite_leases.c - dynamic role definitions and their leases
 * (store_leases.h): the tables secret_dynamic and secret_leases. */
#include "store/sqlite_internal.h"
#include "store/store_leases.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEASE_COLS "id, name, role, identity, jti, grant_id, state, reason, last_error, created_at, expires_at," \
		   " ended_at, not_before, attempts"

static void read_lease(sqlite3_stmt *st, lease_record_t *o)
{
	memset(o, 0, sizeof *o);
	sq_copy_text(o->id, sizeof o->id, st, 0);
	sq_copy_text(o->name, sizeof o->name, st, 1);
	sq_copy_text(o->role, sizeof o->role, st, 2);
	sq_copy_text(o->identity, sizeof o->identity, st, 3);
	sq_copy_text(o->jti, sizeof o->jti, st, 4);
	sq_copy_text(o->grant, sizeof o->grant, st, 5);
	sq_copy_text(o->state, sizeof o->state, st, 6);
	sq_copy_text(o->reason, sizeof o->reason, st, 7);
	sq_copy_text(o->last_error, sizeof o->last_error, st, 8);
	o->created_at = sqlite3_column_int64(st, 9);
	o->expires_at = sqlite3_column_int64(st, 10);
	o->ended_at = sqlite3_column_int64(st, 11);
	o->not_before = sqlite3_column_int64(st, 12);
	o->attempts = sqlite3_column_int64(st, 13);
}

/* Every row of st (bound, from sq_prepare on c) into a new array. */
static store_rc collect_leases(sqlite3_stmt *st, lease_record_t **out, size_t *n)
{
	size_t cap = 0;
	int r;
	*out = NULL;
	*n = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			lease_record_t *more = realloc(*out, (cap = cap ? 2 * cap : 16) * sizeof **out);
			if (more == NULL)
				break;
			*out = more;
		}
		read_lease(st, &(*out)[(*n)++]);
	}
	sq_release(st);
	if (r != SQLITE_DONE) {
		free(*out);
		*out = NULL;
		*n = 0;
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* ---- definitions ---- */

typedef struct {
	const char *name, *doc;
	int64_t now;
} dynamic_arg_t;

static store_rc apply_dynamic_put(sq_conn_t *c, const void *arg)
{
	const dynamic_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO secret_dynamic (name, doc, created_at, updated_at) "
					 "VALUES (?1, ?2, ?3, ?3) ON CONFLICT(name) DO UPDATE SET doc = ?2, updated_at = ?3");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->name);
	sq_bind_text(st, 2, a->doc);
	sqlite3_bind_int64(st, 3, a->now);
	return sq_exec_stmt(st);
}

store_rc store_dynamic_put(store_t *s, const char *name, const char *doc, int64_t now, const audit_event_t *ev)
{
	dynamic_arg_t a = {name, doc, now};
	return sq_write(s, apply_dynamic_put, &a, ev);
}

store_rc store_dynamic_get(store_t *s, const char *name, char **doc)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT doc FROM secret_dynamic WHERE name = ?1");
	*doc = NULL;
	if (st != NULL) {
		sq_bind_text(st, 1, name);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			rc = (*doc = strdup((const char *)sqlite3_column_text(st, 0))) != NULL ? STORE_OK : STORE_ERROR;
		else if (r == SQLITE_DONE)
			rc = STORE_NOT_FOUND;
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

/* ---- leases ---- */

static store_rc apply_lease_add(sq_conn_t *c, const void *arg)
{
	const lease_record_t *l = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO secret_leases (id, name, role, identity, jti, grant_id, state,"
					 " created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?8)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, l->id);
	sq_bind_text(st, 2, l->name);
	sq_bind_text(st, 3, l->role);
	sq_bind_text(st, 4, l->identity);
	sq_bind_text(st, 5, l->jti);
	sq_bind_text(st, 6, l->grant);
	sqlite3_bind_int64(st, 7, l->created_at);
	sqlite3_bind_int64(st, 8, l->expires_at);
	return sq_exec_stmt(st);
}

store_rc store_lease_add(store_t *s, const lease_record_t *l, const audit_event_t *ev)
{
	return sq_write(s, apply_lease_add, l, ev);
}

store_rc store_lease_get(store_t *s, const char *id, lease_record_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " LEASE_COLS " FROM secret_leases WHERE id = ?1");
	if (st != NULL) {
		sq_bind_text(st, 1, id);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			read_lease(st, out);
			rc = STORE_OK;
		} else if (r == SQLITE_DONE) {
			rc = STORE_NOT_FOUND;
		}
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

store_rc store_lease_list(store_t *s, const char *state, const char *name, const char *after, int limit,
			  lease_record_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " LEASE_COLS " FROM secret_leases WHERE (?1 IS NULL OR state = ?1)"
					 " AND (?2 IS NULL OR name = ?2) AND (?3 IS NULL OR id > ?3) ORDER BY id LIMIT ?4");
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		sq_bind_text(st, 1, state);
		sq_bind_text(st, 2, name);
		sq_bind_text(st, 3, after);
		sqlite3_bind_int(st, 4, limit);
		rc = collect_leases(st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

typedef struct {
	const char *id, *reason, *why;
	int64_t now, not_before;
} end_arg_t;

static store_rc apply_lease_end(sq_conn_t *c, const void *arg)
{
	const end_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_leases SET state = 'revoking', not_before = 0,"
					 " reason = CASE WHEN state = 'active' THEN ?2 ELSE reason END,"
					 " ended_at = CASE WHEN state = 'active' THEN ?3 ELSE ended_at END"
					 " WHERE id = ?1 AND state != 'revoked'");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->id);
	sq_bind_text(st, 2, a->reason);
	sqlite3_bind_int64(st, 3, a->now);
	store_rc rc = sq_exec_stmt(st);
	if (rc != STORE_OK || sqlite3_changes(c->db) > 0)
		return rc;
	st = sq_prepare(c, "SELECT 1 FROM secret_leases WHERE id = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->id);
	int r = sqlite3_step(st);
	sq_release(st);
	return r == SQLITE_ROW ? STORE_CONFLICT : r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
}

store_rc store_lease_end(store_t *s, const char *id, const char *reason, int64_t now, const audit_event_t *ev)
{
	end_arg_t a = {id, reason, NULL, now, 0};
	return sq_write(s, apply_lease_end, &a, ev);
}

typedef struct {
	int64_t now;
	int *changed;
} due_arg_t;

/* The reason an active lease ends now, or NULL while it lives (an SQL
 * expression over secret_leases' columns, ?1 = now). */
#define LEASE_END_REASON                                                                                         \
	"CASE WHEN expires_at <= ?1 THEN 'ttl' "                                                                 \
	"WHEN EXISTS (SELECT 1 FROM tokens t WHERE t.jti = secret_leases.jti AND t.revoked_at != 0) THEN 'token' " \
	"WHEN grant_id != '' AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = grant_id "                      \
	"  AND g.state IN ('approved', 'active') AND g.start <= ?1 AND g.ends_at > ?1) THEN 'grant' "             \
	"WHEN NOT EXISTS (SELECT 1 FROM identities i WHERE i.id = identity AND i.status = 'active' "              \
	"  AND i.not_before <= created_at) THEN 'identity' END"

static store_rc apply_end_due(sq_conn_t *c, const void *arg)
{
	const due_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_leases SET state = 'revoking', not_before = 0, ended_at = ?1,"
					 " reason = " LEASE_END_REASON " WHERE state = 'active' AND ("
					 LEASE_END_REASON ") IS NOT NULL");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, a->now);
	store_rc rc = sq_exec_stmt(st);
	*a->changed = rc == STORE_OK ? sqlite3_changes(c->db) : 0;
	return rc;
}

store_rc store_lease_end_due(store_t *s, int64_t now, int *changed)
{
	due_arg_t a = {now, changed};
	*changed = 0;
	return sq_write(s, apply_end_due, &a, NULL);
}

store_rc store_lease_pending(store_t *s, int64_t now, int max, lease_record_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " LEASE_COLS " FROM secret_leases WHERE state IN ('revoking', 'failed')"
					 " AND not_before <= ?1 ORDER BY name, not_before LIMIT ?2");
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, max);
		rc = collect_leases(st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

typedef struct {
	const char *const *ids;
	size_t n;
	int64_t now;
} revoked_arg_t;

static store_rc apply_revoked(sq_conn_t *c, const void *arg)
{
	const revoked_arg_t *a = arg;
	for (size_t i = 0; i < a->n; i++) {
		store_rc rc = sq_exec_text_int(c, "UPDATE secret_leases SET state = 'revoked', last_error = '',"
						  " not_before = 0, ended_at = CASE WHEN ended_at = 0 THEN ?2 ELSE ended_at END"
						  " WHERE id = ?1", a->ids[i], a->now, NULL);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

store_rc store_lease_revoked(store_t *s, const char *const *ids, size_t n, int64_t now, const audit_event_t *ev)
{
	revoked_arg_t a = {ids, n, now};
	return sq_write(s, apply_revoked, &a, ev);
}

static store_rc apply_failed(sq_conn_t *c, const void *arg)
{
	const end_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_leases SET state = 'failed', attempts = attempts + 1,"
					 " not_before = ?2, last_error = ?3 WHERE id = ?1 AND state != 'revoked'");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->not_before);
	sq_bind_text(st, 3, a->why);
	return sq_exec_stmt(st);
}

store_rc store_lease_failed(store_t *s, const char *id, int64_t now, int64_t not_before, const char *why,
			    const audit_event_t *ev)
{
	end_arg_t a = {id, NULL, why, now, not_before};
	return sq_write(s, apply_failed, &a, ev);
}
