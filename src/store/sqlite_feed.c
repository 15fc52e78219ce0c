/* sqlite_feed.c - the revocation feed's reads (the audit chain filtered to
 * the feed types through the audit_feed index, and the revoked tokens an
 * edge starting from nothing needs) and the edges table (store.h). */
#include "store/migrations.h"
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

/* Two scalar subqueries: SQLite answers a lone max() or min() from the
 * primary key's ends, but both in one SELECT scan the whole chain (every
 * feed poll and chain_head would read every audit record). */
static store_rc chain_bounds(sq_conn_t *c, int64_t *head, int64_t *first)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT coalesce((SELECT max(seq) FROM audit), 0), "
				      "coalesce((SELECT min(seq) FROM audit), 0)");
	store_rc rc = STORE_ERROR;
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		*head = sqlite3_column_int64(st, 0);
		*first = sqlite3_column_int64(st, 1);
		rc = STORE_OK;
	}
	sq_release(st);
	return rc;
}

store_rc store_feed_since(store_t *s, int64_t after, int limit, json_t **out, int64_t *head, int64_t *first)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	*out = NULL;
	/* the head first: a record committed between the two reads is then in
	 * the list or after the head, never lost between them */
	if (chain_bounds(c, head, first) == STORE_OK) {
		sqlite3_stmt *st = sq_prepare(c, "SELECT record FROM audit WHERE seq > ?1 AND type IN ("
					      SQLITE_FEED_TYPES ") ORDER BY seq LIMIT ?2");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, after);
			sqlite3_bind_int(st, 2, limit);
			rc = sq_collect_records(st, out);
		}
		/* records past the head read above belong to the next answer */
		size_t n = *out != NULL ? json_array_size(*out) : 0;
		while (n > 0 && json_integer_value(json_object_get(json_array_get(*out, n - 1), "seq")) > *head)
			json_array_remove(*out, --n);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_tokens_revoked(store_t *s, int64_t now, int limit, json_t **out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT jti, identity_id, exp FROM tokens WHERE revoked_at > 0 AND exp > ?1 "
				      "ORDER BY exp LIMIT ?2");
	*out = json_array();
	if (st != NULL && *out != NULL) {
		int r;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, limit + 1);
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			json_array_append_new(*out, json_pack("{s:s, s:s, s:I}", "id", sqlite3_column_text(st, 0), "sub",
							      sqlite3_column_text(st, 1), "exp",
							      (json_int_t)sqlite3_column_int64(st, 2)));
		rc = r != SQLITE_DONE ? STORE_ERROR : json_array_size(*out) > (size_t)limit ? STORE_CONFLICT : STORE_OK;
	}
	sq_release(st);
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

typedef struct {
	const edge_record_t *e;
	size_t n;
} edges_arg_t;

static store_rc apply_edges_save(sq_conn_t *c, const void *arg)
{
	const edges_arg_t *a = arg;
	for (size_t i = 0; i < a->n; i++) {
		const edge_record_t *e = &a->e[i];
		sqlite3_stmt *st = sq_prepare(c, "INSERT INTO edges (id, addr, version, acked_seq, first_seen, last_seen) "
					      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET addr = ?2, "
					      "version = ?3, acked_seq = ?4, last_seen = ?6");
		if (st == NULL)
			return STORE_ERROR;
		sq_bind_text(st, 1, e->id);
		sq_bind_text(st, 2, e->addr);
		sq_bind_text(st, 3, e->version);
		sqlite3_bind_int64(st, 4, e->acked_seq);
		sqlite3_bind_int64(st, 5, e->first_seen);
		sqlite3_bind_int64(st, 6, e->last_seen);
		store_rc rc = sq_exec_stmt(st);
		if (rc != STORE_OK)
			return rc;
	}
	return STORE_OK;
}

store_rc store_edges_save(store_t *s, const edge_record_t *e, size_t n)
{
	edges_arg_t a = {e, n};
	return n == 0 ? STORE_OK : sq_write(s, apply_edges_save, &a, NULL);
}

store_rc store_edges_list(store_t *s, edge_record_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	size_t cap = 0;
	sqlite3_stmt *st = sq_prepare(c, "SELECT id, addr, version, acked_seq, first_seen, last_seen FROM edges "
				      "ORDER BY id LIMIT ?1");
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		int r;
		sqlite3_bind_int(st, 1, TG_MAX_EDGES);
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				edge_record_t *grown = realloc(*out, cap * sizeof **out);
				if (grown == NULL)
					break;
				*out = grown;
			}
			edge_record_t *e = &(*out)[(*n)++];
			sq_copy_text(e->id, sizeof e->id, st, 0);
			sq_copy_text(e->addr, sizeof e->addr, st, 1);
			sq_copy_text(e->version, sizeof e->version, st, 2);
			e->acked_seq = sqlite3_column_int64(st, 3);
			e->first_seen = sqlite3_column_int64(st, 4);
			e->last_seen = sqlite3_column_int64(st, 5);
		}
		rc = r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
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
