/* sqlite_identities.c - identities and their registered public keys. An
 * identity is also a Cedar entity (Workload::"<id>" with its roles as
 * parents), so every identity write bumps the entities version in the same
 * transaction (sqlite_policies.c). */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

#define IDENTITY_COLS "id, kind, owner, description, status, roles, max_ttl, " \
		      "mtls_fingerprint, created_at, updated_at, last_used_at, not_before"

static json_t *json_col(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	json_t *j = t ? json_loads(t, 0, NULL) : NULL;
	return json_is_array(j) ? j : (json_decref(j), json_array());
}

static void row_to_identity(sqlite3_stmt *st, identity_t *o)
{
	memset(o, 0, sizeof *o);
	sq_copy_text(o->id, sizeof o->id, st, 0);
	sq_copy_text(o->kind, sizeof o->kind, st, 1);
	sq_copy_text(o->owner, sizeof o->owner, st, 2);
	sq_copy_text(o->description, sizeof o->description, st, 3);
	sq_copy_text(o->status, sizeof o->status, st, 4);
	o->roles = json_col(st, 5);
	o->max_ttl = sqlite3_column_int64(st, 6);
	sq_copy_text(o->mtls_fingerprint, sizeof o->mtls_fingerprint, st, 7);
	o->created_at = sqlite3_column_int64(st, 8);
	o->updated_at = sqlite3_column_int64(st, 9);
	o->last_used_at = sqlite3_column_int64(st, 10);
	o->not_before = sqlite3_column_int64(st, 11);
}

static store_rc load_keys(sq_conn_t *c, identity_t *o)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT kid, public_key, created_at, expires_at, "
					  "disabled_at FROM identity_keys WHERE identity_id = ?1 "
					  "ORDER BY created_at, kid");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, o->id);
	o->n_keys = 0;
	while (sqlite3_step(st) == SQLITE_ROW && o->n_keys < TG_MAX_KEYS_PER_IDENTITY) {
		identity_key_t *k = &o->keys[o->n_keys];
		if (sqlite3_column_bytes(st, 1) != ED25519_PK_LEN)
			continue;
		sq_copy_text(k->kid, sizeof k->kid, st, 0);
		memcpy(k->pk, sqlite3_column_blob(st, 1), ED25519_PK_LEN);
		k->created_at = sqlite3_column_int64(st, 2);
		k->expires_at = sqlite3_column_int64(st, 3);
		k->disabled_at = sqlite3_column_int64(st, 4);
		o->n_keys++;
	}
	sq_release(st);
	return STORE_OK;
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
		if (r == SQLITE_ROW) {
			row_to_identity(st, out);
			rc = load_keys(c, out);
		} else {
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		}
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

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
		row_to_identity(st, &(*out)[*n]);
		if (load_keys(c, &(*out)[*n]) != STORE_OK)
			break;
		(*n)++;
	}
	rc = (r == SQLITE_DONE || r == SQLITE_ROW) ? STORE_OK : STORE_ERROR;
done:
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

static void bind_mutable(sqlite3_stmt *st, const identity_t *id)
{
	char *roles = id->roles ? json_dumps(id->roles, JSON_COMPACT) : NULL;
	sq_bind_text(st, 1, id->id);
	sq_bind_text(st, 2, id->owner);
	sq_bind_text(st, 3, id->description);
	sq_bind_text(st, 4, id->status);
	sq_bind_text(st, 5, roles ? roles : "[]");
	sqlite3_bind_int64(st, 6, id->max_ttl);
	sq_bind_text(st, 7, id->mtls_fingerprint);
	free(roles);
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
	if (st == NULL)
		return STORE_ERROR;
	bind_mutable(st, id);
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
	if (st == NULL)
		return STORE_ERROR;
	bind_mutable(st, u->id);
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
