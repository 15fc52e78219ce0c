/* sqlite_operators.c - operators and their sessions (store.h). The TOTP
 * step used last moves only forward, inside the write that uses a step, so
 * two logins racing with the same code cannot both succeed. */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

#define OP_COLS "username, roles, status, pwhash, totp_sealed, last_step, created_at, updated_at"

static void row_to_operator(sqlite3_stmt *st, operator_t *o)
{
	memset(o, 0, sizeof *o);
	sq_copy_text(o->username, sizeof o->username, st, 0);
	o->roles = (unsigned)sqlite3_column_int64(st, 1);
	sq_copy_text(o->status, sizeof o->status, st, 2);
	sq_copy_text(o->pwhash, sizeof o->pwhash, st, 3);
	int n = sqlite3_column_bytes(st, 4);
	if (n > 0 && (size_t)n <= sizeof o->sealed_totp) {
		memcpy(o->sealed_totp, sqlite3_column_blob(st, 4), (size_t)n);
		o->sealed_totp_len = (size_t)n;
	}
	o->last_step = sqlite3_column_int64(st, 5);
	o->created_at = sqlite3_column_int64(st, 6);
	o->updated_at = sqlite3_column_int64(st, 7);
}

static store_rc apply_create(sq_conn_t *c, const void *arg)
{
	const operator_t *o = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO operators (" OP_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, o->username);
	sqlite3_bind_int64(st, 2, o->roles);
	sq_bind_text(st, 3, o->status);
	sq_bind_text(st, 4, o->pwhash);
	sqlite3_bind_blob(st, 5, o->sealed_totp, (int)o->sealed_totp_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, o->last_step);
	sqlite3_bind_int64(st, 7, o->created_at);
	sqlite3_bind_int64(st, 8, o->updated_at);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK ? sq_entities_bump(c, o->created_at) : rc; /* Operator::"<username>" */
}

store_rc store_operator_create(store_t *s, const operator_t *op, const audit_event_t *ev)
{
	return sq_write(s, apply_create, op, ev);
}

/* In the writer's transaction: the check and the insert are one step. */
static store_rc apply_create_first(sq_conn_t *c, const void *arg)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT 1 FROM operators LIMIT 1");
	if (st == NULL)
		return STORE_ERROR;
	int r = sqlite3_step(st);
	sq_release(st);
	if (r != SQLITE_DONE)
		return r == SQLITE_ROW ? STORE_CONFLICT : STORE_ERROR;
	return apply_create(c, arg);
}

store_rc store_operator_create_first(store_t *s, const operator_t *op, const audit_event_t *ev)
{
	return sq_write(s, apply_create_first, op, ev);
}

store_rc store_operator_get(store_t *s, const char *username, operator_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " OP_COLS " FROM operators WHERE username = ?1");
	if (st != NULL) {
		sq_bind_text(st, 1, username);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			row_to_operator(st, out);
			rc = STORE_OK;
		} else {
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		}
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_operator_list(store_t *s, operator_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " OP_COLS " FROM operators ORDER BY username");
	if (st != NULL) {
		int r;
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 16;
				operator_t *m = realloc(*out, cap * sizeof **out);
				if (m == NULL)
					break;
				*out = m;
			}
			row_to_operator(st, &(*out)[(*n)++]);
		}
		rc = r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
		sq_release(st);
	}
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

typedef struct {
	const char *username;
	int64_t step, now;
} step_arg_t;

/* Runs st (already bound) and turns "no row changed" into STORE_CONFLICT. */
static store_rc exec_changed(sq_conn_t *c, sqlite3_stmt *st)
{
	store_rc rc = sq_exec_stmt(st);
	if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
		rc = STORE_CONFLICT;
	return rc;
}

static store_rc apply_confirm(sq_conn_t *c, const void *arg)
{
	const step_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE operators SET status = 'active', last_step = ?2, updated_at = ?3 "
					  "WHERE username = ?1 AND status = 'pending_totp' AND last_step < ?2");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->username);
	sqlite3_bind_int64(st, 2, a->step);
	sqlite3_bind_int64(st, 3, a->now);
	return exec_changed(c, st);
}

store_rc store_operator_confirm(store_t *s, const char *username, int64_t step, int64_t now,
				const audit_event_t *ev)
{
	step_arg_t a = {username, step, now};
	return sq_write(s, apply_confirm, &a, ev);
}

static store_rc apply_disable(sq_conn_t *c, const void *arg)
{
	const step_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE operators SET status = 'disabled', updated_at = ?2 "
					  "WHERE username = ?1 AND status != 'disabled'");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->username);
	sqlite3_bind_int64(st, 2, a->now);
	store_rc rc = exec_changed(c, st);
	if (rc == STORE_OK)
		rc = sq_exec_text_int(c, "DELETE FROM operator_sessions WHERE username = ?1 AND created_at <= ?2",
				      a->username, a->now, NULL);
	return rc == STORE_OK ? sq_entities_bump(c, a->now) : rc; /* Operator::"<username>" leaves */
}

store_rc store_operator_disable(store_t *s, const char *username, int64_t now, const audit_event_t *ev)
{
	step_arg_t a = {username, 0, now};
	return sq_write(s, apply_disable, &a, ev);
}

typedef struct {
	const char *username;
	int64_t step;
	const uint8_t *hash;
	const operator_session_t *sess;
} login_arg_t;

static store_rc apply_login(sq_conn_t *c, const void *arg)
{
	const login_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE operators SET last_step = ?2 "
					  "WHERE username = ?1 AND status = 'active' AND last_step < ?2");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->username);
	sqlite3_bind_int64(st, 2, a->step);
	store_rc rc = exec_changed(c, st);
	if (rc != STORE_OK)
		return rc;
	st = sq_prepare(c, "INSERT INTO operator_sessions (hash, id, username, created_at, expires_at, "
			   "auth_time, amr) VALUES (?1,?2,?3,?4,?5,?6,?7)");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_blob(st, 1, a->hash, 32, SQLITE_TRANSIENT);
	sq_bind_text(st, 2, a->sess->id);
	sq_bind_text(st, 3, a->username);
	sqlite3_bind_int64(st, 4, a->sess->created_at);
	sqlite3_bind_int64(st, 5, a->sess->expires_at);
	sqlite3_bind_int64(st, 6, a->sess->auth_time);
	sq_bind_text(st, 7, a->sess->amr);
	return sq_exec_stmt(st);
}

store_rc store_operator_login(store_t *s, const char *username, int64_t step, const uint8_t hash[32],
			      const operator_session_t *sess, const audit_event_t *ev)
{
	login_arg_t a = {username, step, hash, sess};
	return sq_write(s, apply_login, &a, ev);
}

/* The hash is of a 256-bit random token: an indexed lookup by it leaks
 * nothing useful through timing (as for the admin token). */
store_rc store_operator_session_check(store_t *s, const uint8_t hash[32], int64_t now,
				      operator_session_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT x.id, x.username, o.roles, x.created_at, x.expires_at, "
					 "x.auth_time, x.amr FROM operator_sessions x JOIN operators o "
					 "ON o.username = x.username WHERE x.hash = ?1 AND o.status = 'active'");
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			memset(out, 0, sizeof *out);
			sq_copy_text(out->id, sizeof out->id, st, 0);
			sq_copy_text(out->username, sizeof out->username, st, 1);
			out->roles = (unsigned)sqlite3_column_int64(st, 2);
			out->created_at = sqlite3_column_int64(st, 3);
			out->expires_at = sqlite3_column_int64(st, 4);
			out->auth_time = sqlite3_column_int64(st, 5);
			sq_copy_text(out->amr, sizeof out->amr, st, 6);
			rc = out->expires_at > now ? STORE_OK : STORE_NOT_FOUND;
		} else {
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		}
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}
