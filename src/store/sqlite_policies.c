/* sqlite_policies.c - Cedar policy versions and entities.
 *
 * Policies: one row per version (text, SHA-256, time, actor, comment,
 * count); the current set is the highest version and nothing is ever
 * deleted, so any earlier set can be read back, diffed or restored. The
 * caller names the version it writes (current + 1) so that the audit
 * record, prepared before the write, can carry it; a primary key conflict
 * means another write took that version first.
 *
 * Entities: one row per uid holding the entity as Cedar entities JSON, and
 * a single counter (entities_version) that every entity write and every
 * identity write moves on by one, compare-and-set like the policy version. */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

/* ---- policies ---- */

static store_rc apply_policy_put(sq_conn_t *c, const void *arg)
{
	const policy_version_t *p = arg;
	sqlite3_stmt *st = sq_prepare(c, "SELECT COALESCE(MAX(version), 0) FROM policies");
	if (st == NULL)
		return STORE_ERROR;
	int r = sqlite3_step(st);
	int64_t current = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sq_release(st);
	if (current < 0)
		return STORE_ERROR;
	if (current + 1 != p->version)
		return STORE_CONFLICT;
	st = sq_prepare(c, "INSERT INTO policies (version, text, sha256, created_at, actor, comment, count) "
			   "VALUES (?1,?2,?3,?4,?5,?6,?7)");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, p->version);
	sqlite3_bind_text(st, 2, p->text ? p->text : "", (int)p->text_len, SQLITE_STATIC);
	sq_bind_text(st, 3, p->sha256);
	sqlite3_bind_int64(st, 4, p->created_at);
	sq_bind_text(st, 5, p->actor);
	sq_bind_text(st, 6, p->comment ? p->comment : "");
	sqlite3_bind_int64(st, 7, p->count);
	return sq_exec_stmt(st);
}

store_rc store_policy_put(store_t *s, const policy_version_t *p, const audit_event_t *ev)
{
	if (p->version < 1 || p->text_len > (size_t)TG_MAX_POLICY_TEXT)
		return STORE_ERROR;
	return sq_write(s, apply_policy_put, p, ev);
}

void policy_version_release(policy_version_t *p)
{
	if (p == NULL)
		return;
	free(p->comment);
	free(p->text);
	p->comment = p->text = NULL;
}

/* Columns 0..5: version, sha256, created_at, actor, comment, count. */
static int row_to_policy(sqlite3_stmt *st, policy_version_t *o)
{
	const unsigned char *comment = sqlite3_column_text(st, 4);
	memset(o, 0, sizeof *o);
	o->version = sqlite3_column_int64(st, 0);
	sq_copy_text(o->sha256, sizeof o->sha256, st, 1);
	o->created_at = sqlite3_column_int64(st, 2);
	sq_copy_text(o->actor, sizeof o->actor, st, 3);
	o->comment = strdup(comment ? (const char *)comment : "");
	o->count = sqlite3_column_int64(st, 5);
	return o->comment != NULL ? 0 : -1;
}

store_rc store_policy_get(store_t *s, int64_t version, policy_version_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT version, sha256, created_at, actor, comment, count, text "
					 "FROM policies WHERE version = CASE WHEN ?1 = 0 THEN "
					 "(SELECT MAX(version) FROM policies) ELSE ?1 END");
	memset(out, 0, sizeof *out);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, version);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			const unsigned char *text = sqlite3_column_text(st, 6);
			size_t len = (size_t)sqlite3_column_bytes(st, 6);
			rc = STORE_ERROR;
			if ((text != NULL || len == 0) && row_to_policy(st, out) == 0 &&
			    (out->text = malloc(len + 1)) != NULL) {
				memcpy(out->text, text ? (const char *)text : "", len);
				out->text[len] = '\0';
				out->text_len = len;
				rc = STORE_OK;
			} else {
				policy_version_release(out);
			}
		} else if (r == SQLITE_DONE) {
			rc = STORE_NOT_FOUND;
		}
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_policy_history(store_t *s, int64_t before, int limit, policy_version_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	size_t cap = limit > 0 ? (size_t)limit : 1;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = sq_prepare(c, "SELECT version, sha256, created_at, actor, comment, count "
					 "FROM policies WHERE ?1 = 0 OR version < ?1 "
					 "ORDER BY version DESC LIMIT ?2");
	if (st == NULL || (*out = calloc(cap, sizeof **out)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, limit);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
		if (row_to_policy(st, &(*out)[*n]) != 0)
			break;
		(*n)++;
	}
	rc = r == SQLITE_DONE || (r == SQLITE_ROW && *n == cap) ? STORE_OK : STORE_ERROR;
done:
	sq_release(st);
	sq_reader_put(slot);
	if (rc != STORE_OK) { /* all or nothing: never a shorter history */
		for (size_t i = 0; i < *n; i++)
			policy_version_release(&(*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* ---- entities ---- */

store_rc sq_entities_bump(sq_conn_t *c, int64_t now)
{
	return sq_exec_int(c, "UPDATE entities_version SET version = version + 1, updated_at = "
			      "MAX(updated_at, ?1) WHERE one = 1", now);
}

typedef enum { ENT_REPLACE, ENT_UPSERT, ENT_REMOVE } ent_mode_t;

typedef struct {
	ent_mode_t mode;
	const entity_row_t *rows;
	size_t n;
	int64_t version, now;
} ent_write_t;

/* Compare-and-set of the version: from version - 1 to version. */
static store_rc move_version(sq_conn_t *c, int64_t version, int64_t now)
{
	sqlite3_stmt *st = sq_prepare(c, "UPDATE entities_version SET version = ?1, updated_at = ?2 "
					 "WHERE one = 1 AND version = ?1 - 1");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_int64(st, 2, now);
	store_rc rc = sq_exec_stmt(st);
	if (rc != STORE_OK)
		return STORE_ERROR;
	return sqlite3_changes(c->db) == 1 ? STORE_OK : STORE_CONFLICT;
}

static store_rc put_row(sq_conn_t *c, const entity_row_t *e, int64_t now)
{
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO entities (type, id, entity, updated_at) "
					 "VALUES (?1,?2,?3,?4) ON CONFLICT (type, id) DO UPDATE SET "
					 "entity = excluded.entity, updated_at = excluded.updated_at");
	if (st == NULL || e->json == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, e->type);
	sq_bind_text(st, 2, e->id);
	sq_bind_text(st, 3, e->json);
	sqlite3_bind_int64(st, 4, now);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_CONFLICT ? STORE_ERROR : rc;
}

static store_rc del_row(sq_conn_t *c, const entity_row_t *e)
{
	sqlite3_stmt *st = sq_prepare(c, "DELETE FROM entities WHERE type = ?1 AND id = ?2");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, e->type);
	sq_bind_text(st, 2, e->id);
	return sq_exec_stmt(st);
}

static store_rc apply_entities(sq_conn_t *c, const void *arg)
{
	const ent_write_t *w = arg;
	store_rc rc = move_version(c, w->version, w->now);
	if (rc != STORE_OK)
		return rc;
	if (w->mode == ENT_REPLACE && (rc = sq_exec_stmt(sq_prepare(c, "DELETE FROM entities"))) != STORE_OK)
		return rc;
	for (size_t i = 0; i < w->n && rc == STORE_OK; i++)
		rc = w->mode == ENT_REMOVE ? del_row(c, &w->rows[i]) : put_row(c, &w->rows[i], w->now);
	return rc;
}

static store_rc entities_write(store_t *s, ent_mode_t mode, const entity_row_t *rows, size_t n,
			       int64_t version, int64_t now, const audit_event_t *ev)
{
	ent_write_t w = {mode, rows, n, version, now};
	if (version < 1)
		return STORE_ERROR;
	return sq_write(s, apply_entities, &w, ev);
}

store_rc store_entities_replace_all(store_t *s, const entity_row_t *rows, size_t n, int64_t version,
				    int64_t now, const audit_event_t *ev)
{
	return entities_write(s, ENT_REPLACE, rows, n, version, now, ev);
}

store_rc store_entities_upsert(store_t *s, const entity_row_t *rows, size_t n, int64_t version,
			       int64_t now, const audit_event_t *ev)
{
	return entities_write(s, ENT_UPSERT, rows, n, version, now, ev);
}

store_rc store_entities_remove(store_t *s, const entity_row_t *uids, size_t n, int64_t version,
			       int64_t now, const audit_event_t *ev)
{
	return entities_write(s, ENT_REMOVE, uids, n, version, now, ev);
}

static store_rc read_version(sq_conn_t *c, int64_t *version)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT version FROM entities_version WHERE one = 1");
	if (st == NULL)
		return STORE_ERROR;
	int r = sqlite3_step(st);
	*version = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sq_release(st);
	return r == SQLITE_ROW ? STORE_OK : STORE_ERROR;
}

store_rc store_entities_version(store_t *s, int64_t *version)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = read_version(c, version);
	sq_reader_put(slot);
	return rc;
}

static store_rc collect_entities(sq_conn_t *c, json_t *out)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT entity FROM entities ORDER BY type, id");
	if (st == NULL)
		return STORE_ERROR;
	int r;
	store_rc rc = STORE_OK;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		json_t *e = t ? json_loadb(t, (size_t)sqlite3_column_bytes(st, 0), 0, NULL) : NULL;
		if (!json_is_object(e) || json_array_append_new(out, e) != 0) {
			json_decref(e);
			rc = STORE_ERROR; /* a row the broker did not write */
			break;
		}
	}
	if (rc == STORE_OK && r != SQLITE_DONE)
		rc = STORE_ERROR;
	sq_release(st);
	return rc;
}

store_rc store_entities_list(store_t *s, json_t **out, int64_t *version)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	*out = json_array();
	/* One read transaction: the rows and the version of the same commit.
	 * Its end must succeed too, or the connection would keep serving this
	 * snapshot to later reads. */
	if (*out != NULL && sq_exec_stmt(sq_prepare(c, "BEGIN")) == STORE_OK) {
		rc = read_version(c, version);
		if (rc == STORE_OK)
			rc = collect_entities(c, *out);
		if (sq_exec_stmt(sq_prepare(c, "COMMIT")) != STORE_OK) {
			sq_exec_stmt(sq_prepare(c, "ROLLBACK"));
			rc = STORE_ERROR;
		}
	}
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}
