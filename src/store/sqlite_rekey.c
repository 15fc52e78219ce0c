/* sqlite_rekey.c - what a new master key changes besides the secrets' data
 * keys (store.h, store_master_reseal): the signing keys' and the operators'
 * TOTP secrets' sealed forms, all in one transaction, so that the store
 * never holds some under the old master key and some under the new one. */
#include "store/sqlite_internal.h"

typedef struct {
	const master_resealed_t *keys;
	size_t n_keys;
	const master_resealed_t *totps;
	size_t n_totps;
} reseal_arg_t;

static store_rc update_blob(sq_conn_t *c, const char *sql, const master_resealed_t *x)
{
	sqlite3_stmt *st = sq_prepare(c, sql);
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, x->id);
	sqlite3_bind_blob(st, 2, x->sealed, (int)x->sealed_len, SQLITE_STATIC);
	store_rc rc = sq_exec_stmt(st);
	return rc == STORE_OK && sqlite3_changes(c->db) != 1 ? STORE_CONFLICT : rc;
}

static store_rc apply_reseal(sq_conn_t *c, const void *arg)
{
	const reseal_arg_t *a = arg;
	store_rc rc = STORE_OK;
	for (size_t i = 0; rc == STORE_OK && i < a->n_keys; i++)
		rc = update_blob(c, "UPDATE signing_keys SET sealed_private = ?2 WHERE kid = ?1", &a->keys[i]);
	for (size_t i = 0; rc == STORE_OK && i < a->n_totps; i++)
		rc = update_blob(c, "UPDATE operators SET totp_sealed = ?2 WHERE username = ?1", &a->totps[i]);
	return rc;
}

store_rc store_master_reseal(store_t *s, const master_resealed_t *keys, size_t n_keys, const master_resealed_t *totps,
			     size_t n_totps, const audit_event_t *ev)
{
	reseal_arg_t a = {keys, n_keys, totps, n_totps};
	return sq_write(s, apply_reseal, &a, ev);
}
