/* sqlite_secrets.c - stored secrets, their versions and one-time wrap
 * handles (store.h). Values arrive sealed (core/secret_box.h): the store
 * never sees a plaintext. Every version state change is one write with its
 * audit record; the partial unique indexes (one current, one pending per
 * secret) back the state machine up. */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

#define SECRET_COLS                                                                                  \
	"name, metadata, wrapped_key, master_key_id, current_version, created_at, updated_at, "      \
	"last_rotated, next_due, deleted, "                                                          \
	"(SELECT COALESCE(MAX(version), 0) FROM secret_versions v WHERE v.name = secrets.name)"

void secret_record_release(secret_record_t *r)
{
	free(r->metadata);
	r->metadata = NULL;
}

void secret_versions_release(secret_version_t *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].sealed);
		v[i].sealed = NULL;
	}
}

static store_rc row_to_secret(sqlite3_stmt *st, secret_record_t *r)
{
	memset(r, 0, sizeof *r);
	sq_copy_text(r->name, sizeof r->name, st, 0);
	const char *meta = (const char *)sqlite3_column_text(st, 1);
	int klen = sqlite3_column_bytes(st, 2);
	if (meta == NULL || (r->metadata = strdup(meta)) == NULL || klen < 0 || (size_t)klen > sizeof r->wrapped_key)
		return STORE_ERROR;
	memcpy(r->wrapped_key, sqlite3_column_blob(st, 2), (size_t)klen);
	r->wrapped_len = (size_t)klen;
	sq_copy_text(r->master_key_id, sizeof r->master_key_id, st, 3);
	r->current_version = sqlite3_column_int64(st, 4);
	r->created_at = sqlite3_column_int64(st, 5);
	r->updated_at = sqlite3_column_int64(st, 6);
	r->last_rotated = sqlite3_column_int64(st, 7);
	r->next_due = sqlite3_column_int64(st, 8);
	r->deleted = sqlite3_column_int64(st, 9) != 0;
	r->max_version = sqlite3_column_int64(st, 10);
	return STORE_OK;
}

/* Every row of st (bound) into a new array; releases st. */
static store_rc read_secrets(sqlite3_stmt *st, secret_record_t **out, size_t *n)
{
	size_t cap = 0;
	int r = SQLITE_DONE;
	store_rc rc = STORE_OK;
	*out = NULL;
	*n = 0;
	while (rc == STORE_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			secret_record_t *m = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof **out);
			if (m == NULL) {
				rc = STORE_ERROR;
				break;
			}
			*out = m;
		}
		rc = row_to_secret(st, &(*out)[*n]);
		(*n)++;
	}
	if (rc == STORE_OK && r != SQLITE_DONE)
		rc = STORE_ERROR;
	sq_release(st);
	if (rc != STORE_OK) {
		for (size_t i = 0; i < *n; i++)
			secret_record_release(&(*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

store_rc store_secret_get(store_t *s, const char *name, secret_record_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	secret_record_t *list = NULL;
	size_t n = 0;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " SECRET_COLS " FROM secrets WHERE name = ?1");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sq_bind_text(st, 1, name);
		rc = read_secrets(st, &list, &n);
	}
	sq_reader_put(slot);
	if (rc == STORE_OK && n == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK)
		*out = list[0];
	free(list);
	return rc;
}

store_rc store_secret_list(store_t *s, const char *after, int limit, secret_record_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT " SECRET_COLS " FROM secrets WHERE deleted = 0 AND name > ?1 "
					 "ORDER BY name LIMIT ?2");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sq_bind_text(st, 1, after ? after : "");
		sqlite3_bind_int(st, 2, limit);
		rc = read_secrets(st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_secret_due(store_t *s, int64_t now, int max, secret_record_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT " SECRET_COLS " FROM secrets WHERE deleted = 0 AND next_due > 0 "
					 "AND next_due <= ?1 ORDER BY next_due LIMIT ?2");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, max);
		rc = read_secrets(st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

static void row_to_version(sqlite3_stmt *st, secret_version_t *v)
{
	memset(v, 0, sizeof *v);
	v->version = sqlite3_column_int64(st, 0);
	sq_copy_text(v->state, sizeof v->state, st, 1);
	v->created_at = sqlite3_column_int64(st, 2);
	v->retire_after = sqlite3_column_int64(st, 3);
}

store_rc store_secret_version_get(store_t *s, const char *name, int64_t version, secret_version_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT version, state, created_at, retire_after, sealed FROM secret_versions "
					 "WHERE name = ?1 AND (version = ?2 OR (?2 = 0 AND state = 'current'))");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sq_bind_text(st, 1, name);
		sqlite3_bind_int64(st, 2, version);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			row_to_version(st, out);
			int len = sqlite3_column_bytes(st, 4);
			out->sealed = malloc(len > 0 ? (size_t)len : 1);
			if (out->sealed != NULL) {
				memcpy(out->sealed, sqlite3_column_blob(st, 4), (size_t)len);
				out->sealed_len = (size_t)len;
				rc = STORE_OK;
			}
		} else if (r == SQLITE_DONE) {
			rc = STORE_NOT_FOUND;
		}
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

store_rc store_secret_versions(store_t *s, const char *name, secret_version_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT version, state, created_at, retire_after FROM secret_versions "
					 "WHERE name = ?1 ORDER BY version DESC");
	store_rc rc = STORE_ERROR;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		int r;
		rc = STORE_OK;
		sq_bind_text(st, 1, name);
		while (rc == STORE_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
			if (*n == cap) {
				secret_version_t *m = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof **out);
				if (m == NULL) {
					rc = STORE_ERROR;
					break;
				}
				*out = m;
			}
			row_to_version(st, &(*out)[(*n)++]);
		}
		if (rc == STORE_OK && r != SQLITE_DONE)
			rc = STORE_ERROR;
	}
	sq_release(st);
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- writes ---- */

/* One integer out of a one-row query with ?1 = name; def when no row. */
static store_rc query_int(sq_conn_t *c, const char *sql, const char *name, int64_t def, int64_t *out)
{
	sqlite3_stmt *st = sq_prepare(c, sql);
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, name);
	int r = sqlite3_step(st);
	*out = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : def;
	sq_release(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static const char SQL_DELETED[] = "SELECT deleted FROM secrets WHERE name = ?1";
static const char SQL_MAX_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM secret_versions WHERE name = ?1";
static const char SQL_PENDING[] = "SELECT COUNT(*) FROM secret_versions WHERE name = ?1 AND state = 'pending'";

static store_rc insert_version(sq_conn_t *c, const char *name, int64_t version, const char *state,
			       const uint8_t *sealed, size_t len, int64_t now)
{
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO secret_versions (name, version, sealed, state, created_at) "
					 "VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_blob(st, 3, sealed, (int)len, SQLITE_STATIC);
	sq_bind_text(st, 4, state);
	sqlite3_bind_int64(st, 5, now);
	return sq_exec_stmt(st);
}

/* The current version (if any) becomes previous until retire_after. */
static store_rc demote_current(sq_conn_t *c, const char *name, int64_t retire_after)
{
	return sq_exec_text_int(c, "UPDATE secret_versions SET state = 'previous', retire_after = ?2 "
				   "WHERE name = ?1 AND state = 'current'", name, retire_after, NULL);
}

static store_rc set_current(sq_conn_t *c, const secret_put_t *p)
{
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secrets SET current_version = ?2, updated_at = ?3, last_rotated = ?3, "
					 "next_due = ?4, metadata = COALESCE(?5, metadata) WHERE name = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, p->name);
	sqlite3_bind_int64(st, 2, p->version);
	sqlite3_bind_int64(st, 3, p->now);
	sqlite3_bind_int64(st, 4, p->next_due);
	sq_bind_text(st, 5, p->metadata);
	return sq_exec_stmt(st);
}

static store_rc create_secret(sq_conn_t *c, const secret_put_t *p)
{
	if (p->version != 1 || p->wrapped_key == NULL || p->metadata == NULL)
		return STORE_CONFLICT;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO secrets (name, metadata, wrapped_key, master_key_id, "
					 "current_version, created_at, updated_at, last_rotated, next_due) "
					 "VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5, ?5, ?6)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, p->name);
	sq_bind_text(st, 2, p->metadata);
	sqlite3_bind_blob(st, 3, p->wrapped_key, (int)p->wrapped_len, SQLITE_STATIC);
	sq_bind_text(st, 4, p->master_key_id);
	sqlite3_bind_int64(st, 5, p->now);
	sqlite3_bind_int64(st, 6, p->next_due);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK ? insert_version(c, p->name, 1, "current", p->sealed, p->sealed_len, p->now) : rc;
}

/* A deleted secret comes back with a new data key; its old versions are
 * retired (they were sealed under the old one). */
static store_rc revive_secret(sq_conn_t *c, const secret_put_t *p)
{
	if (p->wrapped_key == NULL || p->metadata == NULL)
		return STORE_CONFLICT;
	store_rc rc = sq_exec_text_int(c, "UPDATE secret_versions SET state = 'retired' WHERE name = ?1 AND ?2 = ?2",
				       p->name, 0, NULL);
	sqlite3_stmt *st = rc == STORE_OK ? sq_prepare(c, "UPDATE secrets SET deleted = 0, wrapped_key = ?2, "
							  "master_key_id = ?3, created_at = ?4 WHERE name = ?1")
					  : NULL;
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, p->name);
	sqlite3_bind_blob(st, 2, p->wrapped_key, (int)p->wrapped_len, SQLITE_STATIC);
	sq_bind_text(st, 3, p->master_key_id);
	sqlite3_bind_int64(st, 4, p->now);
	if ((rc = sq_exec_stmt(st)) != STORE_OK)
		return rc;
	rc = insert_version(c, p->name, p->version, "current", p->sealed, p->sealed_len, p->now);
	return rc == STORE_OK ? set_current(c, p) : rc;
}

static store_rc metadata_only(sq_conn_t *c, const secret_put_t *p)
{
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secrets SET metadata = ?2, next_due = ?3, updated_at = ?4 "
					 "WHERE name = ?1 AND deleted = 0");
	if (st == NULL || p->metadata == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, p->name);
	sq_bind_text(st, 2, p->metadata);
	sqlite3_bind_int64(st, 3, p->next_due);
	sqlite3_bind_int64(st, 4, p->now);
	return sq_exec_found(c, st);
}

static store_rc apply_put(sq_conn_t *c, const void *arg)
{
	const secret_put_t *p = arg;
	int64_t deleted = -1, max = 0, pending = 0;
	store_rc rc;
	if ((rc = query_int(c, SQL_DELETED, p->name, -1, &deleted)) != STORE_OK)
		return rc;
	if (p->version == 0)
		return metadata_only(c, p);
	if (deleted < 0)
		return create_secret(c, p);
	if ((rc = query_int(c, SQL_MAX_VERSION, p->name, 0, &max)) != STORE_OK ||
	    (rc = query_int(c, SQL_PENDING, p->name, 0, &pending)) != STORE_OK)
		return rc;
	if (p->version != max + 1 || (deleted == 0 && pending > 0))
		return STORE_CONFLICT;
	if (deleted == 1)
		return revive_secret(c, p);
	if ((rc = demote_current(c, p->name, p->now)) != STORE_OK ||
	    (rc = insert_version(c, p->name, p->version, "current", p->sealed, p->sealed_len, p->now)) != STORE_OK)
		return rc;
	return set_current(c, p);
}

store_rc store_secret_put(store_t *s, const secret_put_t *p, const audit_event_t *ev)
{
	return sq_write(s, apply_put, p, ev);
}

static store_rc apply_delete(sq_conn_t *c, const void *arg)
{
	const sq_text_int_t *a = arg;
	int changes = 0;
	store_rc rc = sq_exec_text_int(c, "UPDATE secrets SET deleted = 1, updated_at = ?2, next_due = 0 "
					  "WHERE name = ?1 AND deleted = 0", a->text, a->n, &changes);
	if (rc == STORE_OK && changes == 0)
		return STORE_NOT_FOUND;
	if (rc == STORE_OK)
		rc = sq_exec_text_int(c, "DELETE FROM secret_wraps WHERE name = ?1 AND used_at = 0 AND ?2 = ?2", a->text,
				      0, NULL);
	return rc;
}

store_rc store_secret_delete(store_t *s, const char *name, int64_t now, const audit_event_t *ev)
{
	sq_text_int_t a = {name, now};
	return sq_write(s, apply_delete, &a, ev);
}

/* ---- the rotation engine's transitions ---- */

typedef struct {
	const char *name;
	int64_t version, now, retire_after, next_due;
	const uint8_t *sealed;
	size_t sealed_len;
} transition_t;

static store_rc apply_add_pending(sq_conn_t *c, const void *arg)
{
	const transition_t *t = arg;
	int64_t deleted = -1, max = 0, pending = 0;
	store_rc rc;
	if ((rc = query_int(c, SQL_DELETED, t->name, -1, &deleted)) != STORE_OK)
		return rc;
	if (deleted != 0)
		return STORE_NOT_FOUND;
	if ((rc = query_int(c, SQL_MAX_VERSION, t->name, 0, &max)) != STORE_OK ||
	    (rc = query_int(c, SQL_PENDING, t->name, 0, &pending)) != STORE_OK)
		return rc;
	if (t->version != max + 1 || pending > 0)
		return STORE_CONFLICT;
	return insert_version(c, t->name, t->version, "pending", t->sealed, t->sealed_len, t->now);
}

store_rc store_secret_add_pending(store_t *s, const char *name, int64_t version, const uint8_t *sealed,
				  size_t sealed_len, int64_t now, const audit_event_t *ev)
{
	transition_t t = {.name = name, .version = version, .now = now, .sealed = sealed, .sealed_len = sealed_len};
	return sq_write(s, apply_add_pending, &t, ev);
}

/* Moves version from state `from` to `to`: STORE_CONFLICT when it is not in `from`. */
static store_rc move_version(sq_conn_t *c, const char *name, int64_t version, const char *from, const char *to)
{
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_versions SET state = ?4 WHERE name = ?1 AND version = ?2 "
					 "AND state = ?3");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, version);
	sq_bind_text(st, 3, from);
	sq_bind_text(st, 4, to);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) == 0 ? STORE_CONFLICT : rc;
}

static store_rc apply_promote(sq_conn_t *c, const void *arg)
{
	const transition_t *t = arg;
	int64_t pending = 0;
	store_rc rc;
	/* the pending version must be this one before anything moves */
	if ((rc = query_int(c, SQL_PENDING, t->name, 0, &pending)) != STORE_OK)
		return rc;
	if (pending == 0)
		return STORE_CONFLICT;
	if ((rc = demote_current(c, t->name, t->retire_after)) != STORE_OK ||
	    (rc = move_version(c, t->name, t->version, "pending", "current")) != STORE_OK)
		return rc;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secrets SET current_version = ?2, updated_at = ?3, last_rotated = ?3, "
					 "next_due = ?4 WHERE name = ?1 AND deleted = 0");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, t->name);
	sqlite3_bind_int64(st, 2, t->version);
	sqlite3_bind_int64(st, 3, t->now);
	sqlite3_bind_int64(st, 4, t->next_due);
	return sq_exec_found(c, st);
}

store_rc store_secret_promote(store_t *s, const char *name, int64_t version, int64_t now, int64_t retire_after,
			      int64_t next_due, const audit_event_t *ev)
{
	transition_t t = {.name = name, .version = version, .now = now, .retire_after = retire_after,
			  .next_due = next_due};
	return sq_write(s, apply_promote, &t, ev);
}

static store_rc apply_retire(sq_conn_t *c, const void *arg)
{
	const transition_t *t = arg;
	return move_version(c, t->name, t->version, "previous", "retired");
}

store_rc store_secret_retire(store_t *s, const char *name, int64_t version, int64_t now, const audit_event_t *ev)
{
	transition_t t = {.name = name, .version = version, .now = now};
	return sq_write(s, apply_retire, &t, ev);
}

static store_rc apply_fail(sq_conn_t *c, const void *arg)
{
	const transition_t *t = arg;
	return move_version(c, t->name, t->version, "pending", "failed");
}

store_rc store_secret_fail(store_t *s, const char *name, int64_t version, int64_t now, const audit_event_t *ev)
{
	transition_t t = {.name = name, .version = version, .now = now};
	return sq_write(s, apply_fail, &t, ev);
}

static store_rc apply_next_due(sq_conn_t *c, const void *arg)
{
	const sq_text_int_t *a = arg;
	int changes = 0;
	store_rc rc = sq_exec_text_int(c, "UPDATE secrets SET next_due = ?2 WHERE name = ?1 AND deleted = 0", a->text,
				       a->n, &changes);
	return rc == STORE_OK && changes == 0 ? STORE_NOT_FOUND : rc;
}

store_rc store_secret_set_next_due(store_t *s, const char *name, int64_t next_due, const audit_event_t *ev)
{
	sq_text_int_t a = {name, next_due};
	return sq_write(s, apply_next_due, &a, ev);
}

store_rc store_secret_retire_due(store_t *s, int64_t now, int max, char ***names, int64_t **versions, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT v.name, v.version FROM secret_versions v JOIN secrets s ON "
					 "s.name = v.name WHERE v.state = 'previous' AND v.retire_after <= ?1 "
					 "AND s.deleted = 0 ORDER BY v.retire_after LIMIT ?2");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, max);
		rc = sq_read_names(st, names, versions, n);
	}
	sq_reader_put(slot);
	return rc;
}

/* ---- rekey ---- */

typedef struct {
	const char *name, *old_mkid, *new_mkid;
	const uint8_t *wrapped;
	size_t wrapped_len;
} rewrap_t;

static store_rc apply_rewrap(sq_conn_t *c, const void *arg)
{
	const rewrap_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secrets SET wrapped_key = ?3, master_key_id = ?4 "
					 "WHERE name = ?1 AND master_key_id = ?2");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->name);
	sq_bind_text(st, 2, a->old_mkid);
	sqlite3_bind_blob(st, 3, a->wrapped, (int)a->wrapped_len, SQLITE_STATIC);
	sq_bind_text(st, 4, a->new_mkid);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) == 0 ? STORE_CONFLICT : rc;
}

store_rc store_secret_rewrap(store_t *s, const char *name, const char *old_mkid, const uint8_t *wrapped,
			     size_t wrapped_len, const char *new_mkid, const audit_event_t *ev)
{
	rewrap_t a = {name, old_mkid, new_mkid, wrapped, wrapped_len};
	return sq_write(s, apply_rewrap, &a, ev);
}

store_rc store_secret_not_wrapped_by(store_t *s, const char *mkid, int max, char ***names, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT name FROM secrets WHERE master_key_id != ?1 ORDER BY name LIMIT ?2");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sq_bind_text(st, 1, mkid);
		sqlite3_bind_int(st, 2, max);
		rc = sq_read_names(st, names, NULL, n);
	}
	sq_reader_put(slot);
	return rc;
}

/* ---- one-time wrap handles ---- */

typedef struct {
	const uint8_t *hash;
	const char *name;
	int64_t version, now, expires_at;
} wrap_arg_t;

static store_rc apply_wrap_add(sq_conn_t *c, const void *arg)
{
	const wrap_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO secret_wraps (id_hash, name, version, created_at, expires_at) "
					 "VALUES (?1, ?2, ?3, ?4, ?5)");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_blob(st, 1, a->hash, 32, SQLITE_STATIC);
	sq_bind_text(st, 2, a->name);
	sqlite3_bind_int64(st, 3, a->version);
	sqlite3_bind_int64(st, 4, a->now);
	sqlite3_bind_int64(st, 5, a->expires_at);
	store_rc rc = sq_exec_stmt(st);
	/* expired handles go as new ones come */
	return rc == STORE_OK ? sq_exec_int(c, "DELETE FROM secret_wraps WHERE expires_at < ?1 - 86400", a->now) : rc;
}

store_rc store_secret_wrap_add(store_t *s, const uint8_t hash[32], const char *name, int64_t version, int64_t now,
			       int64_t expires_at, const audit_event_t *ev)
{
	wrap_arg_t a = {hash, name, version, now, expires_at};
	return sq_write(s, apply_wrap_add, &a, ev);
}

store_rc store_secret_wrap_get(store_t *s, const uint8_t hash[32], char name[129], int64_t *version,
			       int64_t *expires_at, int64_t *used_at)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	sqlite3_stmt *st = sq_prepare(c, "SELECT name, version, expires_at, used_at FROM secret_wraps WHERE id_hash = ?1");
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			sq_copy_text(name, 129, st, 0);
			*version = sqlite3_column_int64(st, 1);
			*expires_at = sqlite3_column_int64(st, 2);
			*used_at = sqlite3_column_int64(st, 3);
			rc = STORE_OK;
		} else if (r == SQLITE_DONE) {
			rc = STORE_NOT_FOUND;
		}
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

static store_rc apply_wrap_use(sq_conn_t *c, const void *arg)
{
	const wrap_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE secret_wraps SET used_at = ?2 WHERE id_hash = ?1 AND used_at = 0 "
					 "AND expires_at > ?2");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_blob(st, 1, a->hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, a->now);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) == 0 ? STORE_CONFLICT : rc;
}

store_rc store_secret_wrap_use(store_t *s, const uint8_t hash[32], int64_t now, const audit_event_t *ev)
{
	wrap_arg_t a = {.hash = hash, .now = now};
	return sq_write(s, apply_wrap_use, &a, ev);
}
