/* sqlite_status.c - the Token Status List's reads (docs/status_list.md):
 * where the broker's index counter starts, which indices of a list are
 * INVALID, decided in one query from the tables that token introspection
 * reads (token_state.c): the token row, its identity and its JIT grant,
 * and the generation that tells when that answer may have changed. */
#include "store/migrations.h"
#include "store/sqlite_internal.h"

/* MIN and MAX of status_idx read the tokens_status index only when the
 * query says IS NOT NULL, as the partial index does. */

store_rc sq_status_keep_floor(sq_conn_t *c)
{
	sqlite3_stmt *st = sq_prepare(c, "UPDATE status_list_floor SET next_idx = MAX(next_idx, "
					  "(SELECT COALESCE(MAX(status_idx) + 1, 0) FROM tokens WHERE status_idx IS NOT NULL))");
	return st == NULL ? STORE_ERROR : sq_exec_stmt(st);
}

store_rc store_status_span(store_t *s, int64_t *lowest, int64_t *next)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT MAX((SELECT next_idx FROM status_list_floor), "
					  "(SELECT COALESCE(MAX(status_idx) + 1, 0) FROM tokens WHERE status_idx IS NOT NULL)), "
					  "(SELECT MIN(status_idx) FROM tokens WHERE status_idx IS NOT NULL)");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		*next = sqlite3_column_int64(st, 0);
		*lowest = sqlite3_column_type(st, 1) == SQLITE_NULL ? *next : sqlite3_column_int64(st, 1);
		rc = STORE_OK;
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

store_rc store_status_generation(store_t *s, int64_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT COALESCE(MAX(seq), 0) FROM audit WHERE type IN (" SQLITE_FEED_TYPES ")");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = STORE_OK;
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}

/* INVALID as introspection would answer inactive for the token, as far
 * as the rows tell: the act chain of a delegated token is not stored with
 * it, so an offboarded actor does not show here (docs/status_list.md). A
 * grant is active from start until ends_at while approved or active
 * (core/grant.c grant_effective). */
#define STATUS_INVALID_SQL                                                                             \
	"SELECT t.status_idx FROM tokens t "                                                           \
	"LEFT JOIN identities i ON i.id = t.identity_id "                                              \
	"LEFT JOIN grants g ON t.grant_id != '' AND g.id = t.grant_id "                                \
	"WHERE t.status_idx >= ?1 AND t.status_idx < ?2 AND (t.revoked_at != 0 "                       \
	"  OR i.id IS NULL OR i.status != 'active' OR t.iat < i.not_before "                           \
	"  OR (t.grant_id != '' AND (g.id IS NULL OR g.state NOT IN ('approved', 'active') "           \
	"      OR ?3 < g.start OR ?3 >= g.ends_at))) "                                                 \
	"ORDER BY t.status_idx"

store_rc store_status_invalid(store_t *s, int64_t first, int64_t count, int64_t now, store_status_fn fn,
			      void *ctx)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, STATUS_INVALID_SQL);
	if (st != NULL) {
		int r;
		sqlite3_bind_int64(st, 1, first);
		sqlite3_bind_int64(st, 2, first + count);
		sqlite3_bind_int64(st, 3, now);
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			fn(ctx, sqlite3_column_int64(st, 0));
		rc = r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}
