/* sqlite_grants.c - just-in-time grants and their approvals (store.h).
 * Every change to a grant is a compare-and-set on its version, so two
 * approvals, an approval and an end, or the sweeper and a caller racing
 * cannot both win: the loser re-reads and decides again. */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>

#define GRANT_COLS                                                                                 \
	"id, identity_id, scope, reason, ticket, source, requester, requester_kind, state, duration, " \
	"start, created_at, expires_at, approvals_required, approved_at, ends_at, ended_at, ended_by, " \
	"end_reason, break_glass, reviewed_by, reviewed_at, review_comment, version"

/* The effective state at ?1 (core/grant.h grant_effective, in SQL). */
#define EFFECTIVE_STATE                                                                            \
	"(CASE WHEN state = 'pending' AND expires_at <= ?1 THEN 'expired' "                       \
	"WHEN state IN ('approved', 'active') THEN (CASE WHEN ends_at <= ?1 THEN 'expired' "      \
	"WHEN start <= ?1 THEN 'active' ELSE 'approved' END) ELSE state END)"

void grant_release(grant_t *g)
{
	free(g->scope);
	free(g->approvals);
	g->scope = NULL;
	g->approvals = NULL;
	g->n_approvals = 0;
}

static store_rc row_to_grant(sqlite3_stmt *st, grant_t *g)
{
	memset(g, 0, sizeof *g);
	sq_copy_text(g->id, sizeof g->id, st, 0);
	sq_copy_text(g->identity, sizeof g->identity, st, 1);
	const char *scope = (const char *)sqlite3_column_text(st, 2);
	g->scope = strdup(scope ? scope : "");
	sq_copy_text(g->reason, sizeof g->reason, st, 3);
	sq_copy_text(g->ticket, sizeof g->ticket, st, 4);
	sq_copy_text(g->source, sizeof g->source, st, 5);
	sq_copy_text(g->requester, sizeof g->requester, st, 6);
	sq_copy_text(g->requester_kind, sizeof g->requester_kind, st, 7);
	const char *state = (const char *)sqlite3_column_text(st, 8);
	if (g->scope == NULL || grant_state_parse(state, &g->state) != 0) {
		grant_release(g);
		return STORE_ERROR;
	}
	g->duration = sqlite3_column_int64(st, 9);
	g->start = sqlite3_column_int64(st, 10);
	g->created_at = sqlite3_column_int64(st, 11);
	g->expires_at = sqlite3_column_int64(st, 12);
	g->approvals_required = sqlite3_column_int64(st, 13);
	g->approved_at = sqlite3_column_int64(st, 14);
	g->ends_at = sqlite3_column_int64(st, 15);
	g->ended_at = sqlite3_column_int64(st, 16);
	sq_copy_text(g->ended_by, sizeof g->ended_by, st, 17);
	sq_copy_text(g->end_reason, sizeof g->end_reason, st, 18);
	g->break_glass = sqlite3_column_int64(st, 19) != 0;
	sq_copy_text(g->reviewed_by, sizeof g->reviewed_by, st, 20);
	g->reviewed_at = sqlite3_column_int64(st, 21);
	sq_copy_text(g->review_comment, sizeof g->review_comment, st, 22);
	g->version = sqlite3_column_int64(st, 23);
	return STORE_OK;
}

static store_rc load_approvals(sq_conn_t *c, grant_t *g)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT approver, at, mfa_age, comment FROM grant_approvals "
					  "WHERE grant_id = ?1 ORDER BY at, approver");
	int r;
	if (st == NULL)
		return STORE_ERROR;
	g->approvals = calloc(TG_MAX_GRANT_APPROVALS, sizeof *g->approvals);
	if (g->approvals == NULL) {
		sq_release(st);
		return STORE_ERROR;
	}
	sq_bind_text(st, 1, g->id);
	while ((r = sqlite3_step(st)) == SQLITE_ROW && g->n_approvals < TG_MAX_GRANT_APPROVALS) {
		grant_approval_t *a = &g->approvals[g->n_approvals++];
		sq_copy_text(a->approver, sizeof a->approver, st, 0);
		a->at = sqlite3_column_int64(st, 1);
		a->mfa_age = sqlite3_column_int64(st, 2);
		sq_copy_text(a->comment, sizeof a->comment, st, 3);
	}
	sq_release(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static void grants_free(grant_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		grant_release(&list[i]);
	free(list);
}

/* Reads every row of st (bound) into a new array, each with its approvals. */
static store_rc read_grants(sq_conn_t *c, sqlite3_stmt *st, grant_t **out, size_t *n)
{
	size_t cap = 0;
	int r;
	store_rc rc = STORE_OK;
	*out = NULL;
	*n = 0;
	while (rc == STORE_OK && (r = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			grant_t *m = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof **out);
			if (m == NULL) {
				rc = STORE_ERROR;
				break;
			}
			*out = m;
		}
		if ((rc = row_to_grant(st, &(*out)[*n])) == STORE_OK)
			(*n)++;
	}
	if (rc == STORE_OK && r != SQLITE_DONE)
		rc = STORE_ERROR;
	sq_release(st);
	for (size_t i = 0; rc == STORE_OK && i < *n; i++)
		rc = load_approvals(c, &(*out)[i]);
	if (rc != STORE_OK) {
		grants_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static store_rc apply_create(sq_conn_t *c, const void *arg)
{
	const grant_t *g = arg;
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO grants (" GRANT_COLS ") VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,"
					  "?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,'',0,'',1)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, g->id);
	sq_bind_text(st, 2, g->identity);
	sq_bind_text(st, 3, g->scope);
	sq_bind_text(st, 4, g->reason);
	sq_bind_text(st, 5, g->ticket);
	sq_bind_text(st, 6, g->source);
	sq_bind_text(st, 7, g->requester);
	sq_bind_text(st, 8, g->requester_kind);
	sq_bind_text(st, 9, grant_state_name(g->state));
	sqlite3_bind_int64(st, 10, g->duration);
	sqlite3_bind_int64(st, 11, g->start);
	sqlite3_bind_int64(st, 12, g->created_at);
	sqlite3_bind_int64(st, 13, g->expires_at);
	sqlite3_bind_int64(st, 14, g->approvals_required);
	sqlite3_bind_int64(st, 15, g->approved_at);
	sqlite3_bind_int64(st, 16, g->ends_at);
	sqlite3_bind_int64(st, 17, g->ended_at);
	sq_bind_text(st, 18, g->ended_by);
	sq_bind_text(st, 19, g->end_reason);
	sqlite3_bind_int64(st, 20, g->break_glass ? 1 : 0);
	return sq_exec_stmt(st);
}

store_rc store_grant_create(store_t *s, const grant_t *g, const audit_event_t *ev)
{
	return sq_write(s, apply_create, g, ev);
}

store_rc store_grant_get(store_t *s, const char *id, grant_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	grant_t *list = NULL;
	size_t n = 0;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " GRANT_COLS " FROM grants WHERE id = ?1");
	if (st != NULL) {
		sq_bind_text(st, 1, id);
		rc = read_grants(c, st, &list, &n);
	}
	sq_reader_put(slot);
	if (rc == STORE_OK && n == 0)
		rc = STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		*out = list[0];
		free(list);
	} else {
		grants_free(list, n);
	}
	return rc;
}

store_rc store_grant_list(store_t *s, const grant_filter_t *f, grant_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " GRANT_COLS " FROM grants WHERE (?2 IS NULL OR identity_id = ?2) "
		"AND (?3 IS NULL OR " EFFECTIVE_STATE " = ?3) "
		"AND (?4 IS NULL OR rowid < (SELECT rowid FROM grants WHERE id = ?4)) "
		"AND (?6 = 0 OR (break_glass = 1 AND reviewed_at = 0)) ORDER BY rowid DESC LIMIT ?5");
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, f->now);
		sq_bind_text(st, 2, f->identity);
		sq_bind_text(st, 3, f->state >= 0 ? grant_state_name((grant_state_t)f->state) : NULL);
		sq_bind_text(st, 4, f->after);
		sqlite3_bind_int(st, 5, f->limit);
		sqlite3_bind_int(st, 6, f->review_open ? 1 : 0);
		rc = read_grants(c, st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_grant_active(store_t *s, const char *identity, int64_t now, grant_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " GRANT_COLS " FROM grants WHERE identity_id = ?2 "
		"AND state IN ('approved', 'active') AND start <= ?1 AND ends_at > ?1 ORDER BY rowid DESC LIMIT 16");
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sq_bind_text(st, 2, identity);
		rc = read_grants(c, st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_grant_due(store_t *s, int64_t now, int max, grant_t **out, size_t *n)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT " GRANT_COLS " FROM grants WHERE state IN ('pending', 'approved', "
		"'active') AND " EFFECTIVE_STATE " != state ORDER BY rowid LIMIT ?2");
	*out = NULL;
	*n = 0;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, max);
		rc = read_grants(c, st, out, n);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_grant_status(store_t *s, const char *id, grant_status_t *out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT state, start, expires_at, ends_at, reason, "
		"(SELECT COUNT(*) FROM grant_approvals WHERE grant_id = ?1), approvals_required, break_glass "
		"FROM grants WHERE id = ?1");
	memset(out, 0, sizeof *out);
	if (st != NULL) {
		sq_bind_text(st, 1, id);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW) {
			rc = grant_state_parse((const char *)sqlite3_column_text(st, 0), &out->state) == 0
				     ? STORE_OK : STORE_ERROR;
			out->start = sqlite3_column_int64(st, 1);
			out->expires_at = sqlite3_column_int64(st, 2);
			out->ends_at = sqlite3_column_int64(st, 3);
			sq_copy_text(out->reason, sizeof out->reason, st, 4);
			out->approvals = sqlite3_column_int64(st, 5);
			out->approvals_required = sqlite3_column_int64(st, 6);
			out->break_glass = sqlite3_column_int64(st, 7) != 0;
		} else {
			rc = r == SQLITE_DONE ? STORE_NOT_FOUND : STORE_ERROR;
		}
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

typedef struct {
	const grant_t *g;
	const grant_approval_t *approval;
} update_arg_t;

static store_rc insert_approval(sq_conn_t *c, const char *id, const grant_approval_t *a)
{
	sqlite3_stmt *st = sq_prepare(c, "INSERT INTO grant_approvals (grant_id, approver, at, mfa_age, comment) "
					  "VALUES (?1,?2,?3,?4,?5)");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, id);
	sq_bind_text(st, 2, a->approver);
	sqlite3_bind_int64(st, 3, a->at);
	sqlite3_bind_int64(st, 4, a->mfa_age);
	sq_bind_text(st, 5, a->comment);
	return sq_exec_stmt(st); /* the primary key refuses a second approval by the same approver */
}

static store_rc apply_update(sq_conn_t *c, const void *arg)
{
	const update_arg_t *a = arg;
	const grant_t *g = a->g;
	sqlite3_stmt *st = sq_prepare(c, "UPDATE grants SET state = ?3, approved_at = ?4, ends_at = ?5, "
		"ended_at = ?6, ended_by = ?7, end_reason = ?8, reviewed_by = ?9, reviewed_at = ?10, "
		"review_comment = ?11, version = version + 1 WHERE id = ?1 AND version = ?2");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, g->id);
	sqlite3_bind_int64(st, 2, g->version);
	sq_bind_text(st, 3, grant_state_name(g->state));
	sqlite3_bind_int64(st, 4, g->approved_at);
	sqlite3_bind_int64(st, 5, g->ends_at);
	sqlite3_bind_int64(st, 6, g->ended_at);
	sq_bind_text(st, 7, g->ended_by);
	sq_bind_text(st, 8, g->end_reason);
	sq_bind_text(st, 9, g->reviewed_by);
	sqlite3_bind_int64(st, 10, g->reviewed_at);
	sq_bind_text(st, 11, g->review_comment);
	store_rc rc = sq_exec_stmt(st);
	if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
		rc = STORE_CONFLICT;
	if (rc == STORE_OK && a->approval != NULL)
		rc = insert_approval(c, g->id, a->approval);
	return rc;
}

store_rc store_grant_update(store_t *s, const grant_t *g, const grant_approval_t *approval,
			    const audit_event_t *ev)
{
	update_arg_t a = {g, approval};
	return sq_write(s, apply_update, &a, ev);
}
