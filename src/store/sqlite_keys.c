/* sqlite_keys.c - the broker's sealed signing keys (add, rotate, revoke)
 * and dev admin tokens. */
#include "store/sqlite_internal.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void signing_keys_release(signing_key_t *k, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(k[i].sealed);
	free(k);
}

/* All or nothing: any failure releases what was read (STORE_ERROR). */
store_rc store_signing_keys(store_t *s, const char *purpose, signing_key_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = sq_prepare(c, "SELECT kid, public_key, sealed_private, created_at, "
		"retired_at, drop_after, purpose FROM signing_keys WHERE purpose = ?1 ORDER BY created_at, kid");
	if (st == NULL)
		goto done;
	sq_bind_text(st, 1, purpose);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4;
			signing_key_t *grown = realloc(*out, cap * sizeof **out);
			if (grown == NULL)
				goto done;
			*out = grown;
		}
		signing_key_t *k = &(*out)[*n];
		memset(k, 0, sizeof *k);
		if (sqlite3_column_bytes(st, 1) != ED25519_PK_LEN)
			goto done; /* a row the broker did not write: not a shorter key set */
		sq_copy_text(k->kid, sizeof k->kid, st, 0);
		memcpy(k->pk, sqlite3_column_blob(st, 1), ED25519_PK_LEN);
		k->sealed_len = (size_t)sqlite3_column_bytes(st, 2);
		if ((k->sealed = malloc(k->sealed_len ? k->sealed_len : 1)) == NULL)
			goto done;
		memcpy(k->sealed, sqlite3_column_blob(st, 2), k->sealed_len);
		k->created_at = sqlite3_column_int64(st, 3);
		k->retired_at = sqlite3_column_int64(st, 4);
		k->drop_after = sqlite3_column_int64(st, 5);
		sq_copy_text(k->purpose, sizeof k->purpose, st, 6);
		(*n)++;
	}
	rc = r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
done:
	sq_release(st);
	sq_reader_put(slot);
	if (rc != STORE_OK) {
		signing_keys_release(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static store_rc apply_key_add(sq_conn_t *c, const void *arg)
{
	const signing_key_t *k = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO signing_keys (kid, public_key, sealed_private, "
				      "created_at, purpose) VALUES (?1,?2,?3,?4,?5)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, k->kid);
	sqlite3_bind_blob(st, 2, k->pk, ED25519_PK_LEN, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 3, k->sealed, (int)k->sealed_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, k->created_at);
	sq_bind_text(st, 5, k->purpose[0] ? k->purpose : "token");
	return sq_exec_stmt(st);
}

store_rc store_signing_key_add(store_t *s, const signing_key_t *k, const audit_event_t *ev)
{
	return sq_write(s, apply_key_add, k, ev);
}

typedef struct {
	const char *kid;
	int64_t now, drop_after;
} retire_arg_t;

static store_rc apply_retire(sq_conn_t *c, const void *arg)
{
	const retire_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE signing_keys SET retired_at=?2, drop_after=?3 "
				      "WHERE kid=?1 AND retired_at=0");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->kid);
	sqlite3_bind_int64(st, 2, a->now);
	sqlite3_bind_int64(st, 3, a->drop_after);
	return sq_exec_found(c, st);
}

typedef struct {
	const signing_key_t *fresh;
	retire_arg_t retire;
} rotate_arg_t;

static store_rc apply_rotate(sq_conn_t *c, const void *arg)
{
	const rotate_arg_t *a = arg;
	store_rc rc = apply_key_add(c, a->fresh);
	return rc == STORE_OK ? apply_retire(c, &a->retire) : rc;
}

store_rc store_signing_key_rotate(store_t *s, const signing_key_t *fresh, const char *old_kid,
				  int64_t now, int64_t drop_after, const audit_event_t *ev)
{
	rotate_arg_t a = {fresh, {old_kid, now, drop_after}};
	return sq_write(s, apply_rotate, &a, ev);
}

typedef struct {
	const char *kid;
	int64_t now;
} revoke_arg_t;

static store_rc apply_revoke(sq_conn_t *c, const void *arg)
{
	const revoke_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE signing_keys SET drop_after=?2 "
				      "WHERE kid=?1 AND purpose='token' AND retired_at!=0");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, a->kid);
	sqlite3_bind_int64(st, 2, a->now);
	return sq_exec_found(c, st);
}

store_rc store_signing_key_revoke(store_t *s, const char *kid, int64_t now, const audit_event_t *ev)
{
	revoke_arg_t a = {kid, now};
	return sq_write(s, apply_revoke, &a, ev);
}

typedef struct {
	const uint8_t *hash;
	int64_t exp;
} admin_arg_t;

static store_rc apply_admin_add(sq_conn_t *c, const void *arg)
{
	const admin_arg_t *a = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO admin_tokens (hash, expires_at) VALUES (?1,?2)");
	if (st == NULL)
		return STORE_ERROR;
	sqlite3_bind_blob(st, 1, a->hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, a->exp);
	return sq_exec_stmt(st);
}

store_rc store_admin_token_add(store_t *s, const uint8_t hash[32], int64_t expires_at)
{
	admin_arg_t a = {hash, expires_at};
	return sq_write(s, apply_admin_add, &a, NULL);
}

/* The hash is of a 256-bit random token, so an indexed lookup by hash leaks
 * nothing useful through timing. */
store_rc store_admin_token_check(store_t *s, const uint8_t hash[32], int64_t now)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT expires_at FROM admin_tokens WHERE hash = ?1");
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			rc = sqlite3_column_int64(st, 0) > now ? STORE_OK : STORE_NOT_FOUND;
		else
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}
