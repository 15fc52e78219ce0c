/* sqlite_tokens.c - issued tokens, revocations, single-use jtis (client
 * assertions, DPoP proofs) and pruning of what has expired. */
#include "store/sqlite_internal.h"
#include <string.h>

static store_rc use_jti(sq_conn_t *c, const char *kind, const char *jti, int64_t exp)
{
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO used_jtis (kind, jti, exp) VALUES (?1,?2,?3)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, kind);
	sq_bind_text(st, 2, jti);
	sqlite3_bind_int64(st, 3, exp);
	return sq_exec_stmt(st); /* a primary key conflict is a replay */
}

/* A token under a grant is recorded only while the grant is active at its
 * iat and outlives it by nothing: the end of a grant and an issuance under
 * it are ordered by the writer, so no token is issued after the end. */
static store_rc grant_still_active(sq_conn_t *c, const token_record_t *t)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT 1 FROM grants WHERE id = ?1 AND identity_id = ?2 AND state IN "
					  "('approved', 'active') AND start <= ?3 AND ends_at > ?3 AND ends_at >= ?4");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, t->grant);
	sq_bind_text(st, 2, t->identity_id);
	sqlite3_bind_int64(st, 3, t->iat);
	sqlite3_bind_int64(st, 4, t->exp);
	int r = sqlite3_step(st);
	sq_release(st);
	return r == SQLITE_ROW ? STORE_OK : r == SQLITE_DONE ? STORE_CONFLICT : STORE_ERROR;
}

static store_rc apply_issue(sq_conn_t *c, const void *arg)
{
	const issuance_t *is = arg;
	const token_record_t *t = is->token;
	store_rc rc;
	if (is->assertion_jti != NULL &&
	    (rc = use_jti(c, "assertion", is->assertion_jti, is->assertion_exp)) != STORE_OK)
		return rc;
	if (is->dpop_jti != NULL && (rc = use_jti(c, "dpop", is->dpop_jti, is->dpop_exp)) != STORE_OK) {
		if (rc == STORE_CONFLICT && is->dpop_replayed != NULL)
			*is->dpop_replayed = 1;
		return rc;
	}
	if (t->grant[0] != '\0' && (rc = grant_still_active(c, t)) != STORE_OK) {
		if (rc == STORE_CONFLICT && is->grant_ended != NULL)
			*is->grant_ended = 1;
		return rc;
	}
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO tokens (jti, identity_id, scope, cnf_jkt, "
		"cnf_x5t, kid, iat, exp, sha256, grant_id, status_idx) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, t->jti);
	sq_bind_text(st, 2, t->identity_id);
	sq_bind_text(st, 3, t->scope);
	sq_bind_text(st, 4, t->cnf_jkt);
	sq_bind_text(st, 5, t->cnf_x5t);
	sq_bind_text(st, 6, t->kid);
	sqlite3_bind_int64(st, 7, t->iat);
	sqlite3_bind_int64(st, 8, t->exp);
	sq_bind_text(st, 9, t->sha256);
	sq_bind_text(st, 10, t->grant);
	if (t->status_idx >= 0)
		sqlite3_bind_int64(st, 11, t->status_idx);
	else
		sqlite3_bind_null(st, 11);
	if ((rc = sq_exec_stmt(st)) != STORE_OK)
		return rc == STORE_CONFLICT ? STORE_ERROR : rc; /* jti or status_idx collision: never expected */
	if (!is->touch_last_used)
		return STORE_OK;
	return sq_exec_text_int(c, "UPDATE identities SET last_used_at=?2 WHERE id=?1", t->identity_id,
				t->iat, NULL);
}

store_rc store_issue(store_t *s, const issuance_t *is)
{
	return sq_write(s, apply_issue, is, is->audit);
}

store_rc store_issue_start(store_t *s, const issuance_t *is, store_done_fn done, void *ctx)
{
	return sq_write_start(s, apply_issue, is, is->audit, done, ctx);
}

typedef struct {
	const char *kind, *jti;
	int64_t exp;
} jti_arg_t;

static store_rc apply_jti(sq_conn_t *c, const void *arg)
{
	const jti_arg_t *a = arg;
	return use_jti(c, a->kind, a->jti, a->exp);
}

store_rc store_audit_append(store_t *s, const audit_event_t *ev)
{
	return sq_write(s, NULL, NULL, ev);
}

store_rc store_jti_use(store_t *s, const char *kind, const char *jti, int64_t exp)
{
	jti_arg_t a = {kind, jti, exp};
	return sq_write(s, apply_jti, &a, NULL);
}

store_rc store_token_get(store_t *s, const char *jti, token_record_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT jti, identity_id, scope, cnf_jkt, cnf_x5t, kid, "
					  "iat, exp, revoked_at, sha256, grant_id FROM tokens WHERE jti = ?1");
	memset(out, 0, sizeof *out);
	if (st != NULL) {
		sq_bind_text(st, 1, jti);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			sq_copy_text(out->jti, sizeof out->jti, st, 0);
			sq_copy_text(out->identity_id, sizeof out->identity_id, st, 1);
			sq_copy_text(out->scope, sizeof out->scope, st, 2);
			sq_copy_text(out->cnf_jkt, sizeof out->cnf_jkt, st, 3);
			sq_copy_text(out->cnf_x5t, sizeof out->cnf_x5t, st, 4);
			sq_copy_text(out->kid, sizeof out->kid, st, 5);
			out->iat = sqlite3_column_int64(st, 6);
			out->exp = sqlite3_column_int64(st, 7);
			out->revoked_at = sqlite3_column_int64(st, 8);
			sq_copy_text(out->sha256, sizeof out->sha256, st, 9);
			sq_copy_text(out->grant, sizeof out->grant, st, 10);
			rc = STORE_OK;
		} else {
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		}
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

static store_rc apply_revoke(sq_conn_t *c, const void *arg)
{
	const sq_text_int_t *a = arg;
	int changed = 0;
	store_rc rc = sq_exec_text_int(c, "UPDATE tokens SET revoked_at=?2 WHERE jti=?1 AND revoked_at=0",
				       a->text, a->n, &changed);
	return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

store_rc store_token_revoke(store_t *s, const char *jti, int64_t now, const audit_event_t *ev)
{
	sq_text_int_t a = {jti, now};
	return sq_write(s, apply_revoke, &a, ev);
}

typedef struct {
	int64_t now, keep;
} prune_arg_t;

static store_rc apply_prune(sq_conn_t *c, const void *arg)
{
	const prune_arg_t *a = arg;
	if (sq_status_keep_floor(c) != STORE_OK)
		return STORE_ERROR;
	static const char *const sql[] = {
		"DELETE FROM used_jtis WHERE exp < ?1",
		"DELETE FROM tokens WHERE exp < ?1 - ?2",
		"DELETE FROM signing_keys WHERE retired_at != 0 AND drop_after < ?1",
		"DELETE FROM admin_tokens WHERE expires_at < ?1",
		"DELETE FROM operator_sessions WHERE expires_at < ?1",
	};
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = sq_prepare(c, sql[i]);
		if (st == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(st, 1, a->now);
		if (i == 1)
			sqlite3_bind_int64(st, 2, a->keep);
		if (sq_exec_stmt(st) != STORE_OK)
			return STORE_ERROR;
	}
	return STORE_OK;
}

store_rc store_prune(store_t *s, int64_t now, int64_t keep_s)
{
	prune_arg_t a = {now, keep_s};
	return sq_write(s, apply_prune, &a, NULL);
}
