/* sqlite_identities.c - identities and their registered public keys. An
 * identity is also a Cedar entity (Workload::"<id>" with its roles as
 * parents), so every identity write bumps the entities version in the same
 * transaction (sqlite_policies.c). */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

#define IDENTITY_COLS "id, kind, owner, description, status, roles, max_ttl, " \
		      "mtls_fingerprint, created_at, updated_at, last_used_at, not_before"

/* The roles column: a JSON array, or NULL when it is anything else (a row
 * the broker did not write) or memory ran out. */
static json_t *roles_col(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	json_t *j = t ? json_loadb(t, (size_t)sqlite3_column_bytes(st, col), 0, NULL) : NULL;
	if (json_is_array(j))
		return j;
	json_decref(j);
	return NULL;
}

/* Fills o from an identities row; STORE_ERROR (o released) when its roles
 * cannot be read. */
static store_rc row_to_identity(sqlite3_stmt *st, identity_t *o)
{
	memset(o, 0, sizeof *o);
	sq_copy_text(o->id, sizeof o->id, st, 0);
	sq_copy_text(o->kind, sizeof o->kind, st, 1);
	sq_copy_text(o->owner, sizeof o->owner, st, 2);
	sq_copy_text(o->description, sizeof o->description, st, 3);
	sq_copy_text(o->status, sizeof o->status, st, 4);
	o->roles = roles_col(st, 5);
	o->max_ttl = sqlite3_column_int64(st, 6);
	sq_copy_text(o->mtls_fingerprint, sizeof o->mtls_fingerprint, st, 7);
	o->created_at = sqlite3_column_int64(st, 8);
	o->updated_at = sqlite3_column_int64(st, 9);
	o->last_used_at = sqlite3_column_int64(st, 10);
	o->not_before = sqlite3_column_int64(st, 11);
	return o->roles != NULL ? STORE_OK : STORE_ERROR;
}

/* Reads o's keys. Every row must be one the broker wrote (a 32-byte key,
 * at most TG_MAX_KEYS_PER_IDENTITY of them) and the statement must run to
 * its end: anything else is STORE_ERROR, never a shorter key list. */
static store_rc load_keys(sq_conn_t *c, identity_t *o)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT kid, public_key, created_at, expires_at, "
					  "disabled_at FROM identity_keys WHERE identity_id = ?1 "
					  "ORDER BY created_at, kid");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, o->id);
	o->n_keys = 0;
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (o->n_keys == TG_MAX_KEYS_PER_IDENTITY || sqlite3_column_bytes(st, 1) != ED25519_PK_LEN)
			break;
		identity_key_t *k = &o->keys[o->n_keys];
		sq_copy_text(k->kid, sizeof k->kid, st, 0);
		memcpy(k->pk, sqlite3_column_blob(st, 1), ED25519_PK_LEN);
		k->created_at = sqlite3_column_int64(st, 2);
		k->expires_at = sqlite3_column_int64(st, 3);
		k->disabled_at = sqlite3_column_int64(st, 4);
		o->n_keys++;
	}
	sq_release(st);
	return r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

/* The current row of st and its keys into o; on failure o is released. */
static store_rc read_identity(sq_conn_t *c, sqlite3_stmt *st, identity_t *o)
{
	store_rc rc = row_to_identity(st, o);
	if (rc == STORE_OK)
		rc = load_keys(c, o);
	if (rc != STORE_OK)
		identity_release(o);
	return rc;
}

store_rc store_identity_get(store_t *s, const char *id, identity_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " IDENTITY_COLS " FROM identities WHERE id = ?1");
	memset(out, 0, sizeof *out);
	if (st != NULL) {
		sq_bind_text(st, 1, id);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			rc = read_identity(c, st, out);
		else
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

static void identities_free(identity_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		identity_release(&list[i]);
	free(list);
}

/* All or nothing: a failure on any row (or in the step after the last)
 * releases what was read and returns STORE_ERROR with an empty list. */
store_rc store_identity_list(store_t *s, const identity_filter_t *f, identity_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	size_t cap = (size_t)f->limit;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = sq_prepare(c,
		"SELECT " IDENTITY_COLS " FROM identities WHERE (?1 IS NULL OR kind = ?1) "
		"AND (?2 IS NULL OR owner = ?2) AND (?3 IS NULL OR status = ?3) "
		"AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(identities.roles) WHERE value = ?4)) "
		"AND (?5 IS NULL OR id > ?5) ORDER BY id LIMIT ?6");
	if (st == NULL || (*out = calloc(cap ? cap : 1, sizeof **out)) == NULL)
		goto done;
	sq_bind_text(st, 1, f->kind);
	sq_bind_text(st, 2, f->owner);
	sq_bind_text(st, 3, f->status);
	sq_bind_text(st, 4, f->role);
	sq_bind_text(st, 5, f->after);
	sqlite3_bind_int(st, 6, f->limit);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
		if (read_identity(c, st, &(*out)[*n]) != STORE_OK)
			break;
		(*n)++;
	}
	rc = r == SQLITE_DONE || (r == SQLITE_ROW && *n == cap) ? STORE_OK : STORE_ERROR;
done:
	sq_release(st);
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		identities_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* Binds ?1..?7; STORE_ERROR when the roles cannot be serialized (out of
 * memory): an identity is never stored with roles it was not given. */
static store_rc bind_mutable(sqlite3_stmt *st, const identity_t *id)
{
	char *roles = id->roles ? json_dumps(id->roles, JSON_COMPACT) : NULL;
	if (id->roles != NULL && roles == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, id->id);
	sq_bind_text(st, 2, id->owner);
	sq_bind_text(st, 3, id->description);
	sq_bind_text(st, 4, id->status);
	sq_bind_text(st, 5, roles ? roles : "[]");
	sqlite3_bind_int64(st, 6, id->max_ttl);
	sq_bind_text(st, 7, id->mtls_fingerprint);
	free(roles);
	return STORE_OK;
}

static store_rc write_keys(sq_conn_t *c, const identity_t *id)
{
	sqlite3_stmt *del = sq_prepare(c, "DELETE FROM identity_keys WHERE identity_id = ?1");
	if (del == NULL)
		return STORE_ERROR;
	sq_bind_text(del, 1, id->id);
	if (sq_exec_stmt(del) != STORE_OK)
		return STORE_ERROR;
	for (size_t i = 0; i < id->n_keys; i++) {
		const identity_key_t *k = &id->keys[i];
		sqlite3_stmt *st = sq_prepare(c, "INSERT INTO identity_keys (identity_id, kid, "
			"public_key, created_at, expires_at, disabled_at) VALUES (?1,?2,?3,?4,?5,?6)");
		if (st == NULL)
			return STORE_ERROR;
		sq_bind_text(st, 1, id->id);
		sq_bind_text(st, 2, k->kid);
		sqlite3_bind_blob(st, 3, k->pk, ED25519_PK_LEN, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, k->created_at);
		sqlite3_bind_int64(st, 5, k->expires_at);
		sqlite3_bind_int64(st, 6, k->disabled_at);
		store_rc rc = sq_exec_stmt(st);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

static store_rc apply_create(sq_conn_t *c, const void *arg)
{
	const identity_t *id = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO identities (id, owner, description, status, "
		"roles, max_ttl, mtls_fingerprint, kind, created_at, updated_at) "
		"VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9)");
	if (st == NULL || bind_mutable(st, id) != STORE_OK)
		return STORE_ERROR;
	sq_bind_text(st, 8, id->kind);
	sqlite3_bind_int64(st, 9, id->created_at);
	store_rc rc = sq_exec_stmt(st);
	if (rc == STORE_OK)
		rc = write_keys(c, id);
	return rc == STORE_OK ? sq_entities_bump(c, id->created_at) : rc;
}

store_rc store_identity_create(store_t *s, const identity_t *id, const audit_event_t *ev)
{
	return sq_write(s, apply_create, id, ev);
}

/* STORE_NOT_FOUND or STORE_CONFLICT (offboarded) for an UPDATE that hit no row. */
static store_rc why_unchanged(sq_conn_t *c, const char *id)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT status FROM identities WHERE id = ?1");
	store_rc rc = STORE_ERROR;
	if (st == NULL)
		return rc;
	sq_bind_text(st, 1, id);
	int r = sqlite3_step(st);
	rc = r == SQLITE_ROW ? STORE_CONFLICT : r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
	sq_release(st);
	return rc;
}

typedef struct {
	const identity_t *id;
	int64_t now;
} update_arg_t;

static store_rc apply_update(sq_conn_t *c, const void *arg)
{
	const update_arg_t *u = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE identities SET owner=?2, description=?3, status=?4, "
		"roles=?5, max_ttl=?6, mtls_fingerprint=?7, updated_at=?8 "
		"WHERE id = ?1 AND status != 'offboarded'");
	if (st == NULL || bind_mutable(st, u->id) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 8, u->now);
	store_rc rc = sq_exec_stmt(st);
	if (rc != STORE_OK)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return why_unchanged(c, u->id->id);
	rc = write_keys(c, u->id);
	return rc == STORE_OK ? sq_entities_bump(c, u->now) : rc;
}

store_rc store_identity_update(store_t *s, const identity_t *id, int64_t now, const audit_event_t *ev)
{
	update_arg_t u = {id, now};
	return sq_write(s, apply_update, &u, ev);
}

static store_rc apply_offboard(sq_conn_t *c, const void *arg)
{
	const sq_text_int_t *a = arg;
	int changed = 0;
	store_rc rc = sq_exec_text_int(c, "UPDATE identities SET status='offboarded', not_before=?2, "
		"updated_at=?2 WHERE id = ?1 AND status != 'offboarded'", a->text, a->n, &changed);
	if (rc != STORE_OK)
		return STORE_ERROR;
	if (changed == 0)
		return why_unchanged(c, a->text);
	/* Its tokens are revoked by not_before (checked at introspection). */
	rc = sq_exec_text_int(c, "UPDATE identity_keys SET disabled_at=?2 WHERE identity_id=?1 "
			      "AND disabled_at=0", a->text, a->n, NULL);
	return rc == STORE_OK ? sq_entities_bump(c, a->n) : rc;
}

store_rc store_identity_offboard(store_t *s, const char *id, int64_t now, const audit_event_t *ev)
{
	sq_text_int_t a = {id, now};
	return sq_write(s, apply_offboard, &a, ev);
}
