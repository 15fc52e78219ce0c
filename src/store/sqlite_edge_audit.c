/* sqlite_edge_audit.c - the audit records edges ship (POST
 * /v1/edges/audit, core/edge_audit.h) entering the chain exactly once.
 * The highest edge_seq taken from each edge is its cursor, kept in the
 * audit_forward table under the sink "edge:<id>" (no schema of its own).
 * One write op reads the cursor, appends the records above it in order
 * and moves the cursor, all in the op's savepoint: a batch sent again
 * after a lost answer adds nothing, and a failure anywhere rolls back the
 * records and the cursor together (run_op restores the chain head). */
#include "store/sqlite_internal.h"
#include <stdio.h>
#include <stdlib.h>

typedef struct {
	store_t *s;
	const char *sink;
	const audit_event_t *evs;
	const audit_prepared_t *prep; /* NULL when the audit is off */
	const int64_t *seqs;
	size_t n;
	int64_t *acknowledged, *expected;
} edge_batch_t;

/* The edge's cursor as this transaction sees it; 0 before its first record. */
static store_rc read_cursor(sq_conn_t *c, const char *sink, int64_t *seq)
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT seq FROM audit_forward WHERE sink = ?1");
	if (st == NULL)
		return STORE_ERROR;
	sq_bind_text(st, 1, sink);
	int r = sqlite3_step(st);
	*seq = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sq_release(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

static store_rc apply_edge_batch(sq_conn_t *c, const void *arg)
{
	const edge_batch_t *b = arg;
	int64_t cursor;
	size_t i = 0;
	if (read_cursor(c, b->sink, &cursor) != STORE_OK)
		return STORE_ERROR;
	*b->acknowledged = cursor;
	while (i < b->n && b->seqs[i] <= cursor) /* taken before: the answer was lost */
		i++;
	if (i == b->n)
		return STORE_OK;
	if (b->seqs[i] != cursor + 1) {
		*b->expected = cursor + 1;
		return STORE_CONFLICT;
	}
	for (; i < b->n; i++) {
		if (b->prep != NULL && sq_audit_append(b->s, &b->evs[i], &b->prep[i]) != STORE_OK)
			return STORE_ERROR;
		cursor = b->seqs[i];
	}
	if (sq_exec_text_int(c, "INSERT INTO audit_forward (sink, seq) VALUES (?1, ?2) "
			     "ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq", b->sink, cursor, NULL) != STORE_OK)
		return STORE_ERROR;
	*b->acknowledged = cursor;
	return STORE_OK;
}

static void prepared_free(audit_prepared_t *p, size_t n)
{
	for (size_t i = 0; p != NULL && i < n; i++)
		audit_prepared_free(&p[i]);
	free(p);
}

store_rc store_edge_audit_append(store_t *s, const char *edge_id, const audit_event_t *evs, const int64_t *edge_seqs,
				 size_t n, int64_t *acknowledged, int64_t *expected)
{
	char sink[TG_MAX_ID_LEN + 8];
	audit_prepared_t *prep = NULL;
	*acknowledged = *expected = 0;
	for (size_t i = 1; i < n; i++)
		if (edge_seqs[i] != edge_seqs[i - 1] + 1)
			return STORE_ERROR;
	if (snprintf(sink, sizeof sink, "edge:%s", edge_id) >= (int)sizeof sink)
		return STORE_ERROR;
	if (n == 0) /* only asks where the edge's records end: a read */
		return store_forward_cursor(s, sink, acknowledged);
	/* The records' text is built here, outside the single writer thread,
	 * as sq_write does for its one event. */
	if (!s->audit_disabled && n > 0) {
		if ((prep = calloc(n, sizeof *prep)) == NULL)
			return STORE_ERROR;
		for (size_t i = 0; i < n; i++)
			if (audit_prepare(&evs[i], &prep[i]) != 0) {
				prepared_free(prep, n);
				return STORE_ERROR;
			}
	}
	edge_batch_t b = {s, sink, evs, prep, edge_seqs, n, acknowledged, expected};
	store_rc rc = sq_write(s, apply_edge_batch, &b, NULL);
	prepared_free(prep, n);
	return rc;
}
