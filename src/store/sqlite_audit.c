/* sqlite_audit.c - the audit chain in SQLite. Records are appended by the
 * writer thread only, inside the same transaction as the change they
 * describe (sqlite.c run_op), so their order is the commit order and the
 * chain head (seq, hash) can live in memory. A checkpoint is signed in the
 * same transaction every `every` records. The stored record text is the
 * record exactly as hashed plus its hash; verification re-derives
 * everything from that text. */
#include "store/sqlite_internal.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A read that failed is an error, not an empty log: starting over from
 * the genesis would fork the chain. */
store_rc sq_audit_load_head(store_t *s)
{
	sqlite3_stmt *st = sq_prepare(&s->w, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
	if (st == NULL)
		return STORE_ERROR;
	s->audit_seq = 0;
	snprintf(s->audit_hash, sizeof s->audit_hash, "%s", audit_genesis);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		s->audit_seq = sqlite3_column_int64(st, 0);
		sq_copy_text(s->audit_hash, sizeof s->audit_hash, st, 1);
	}
	sq_release(st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return STORE_ERROR;
	st = sq_prepare(&s->w, "SELECT seq, json_extract(record, '$.hash') FROM audit_checkpoints "
			"ORDER BY seq DESC LIMIT 1");
	if (st == NULL)
		return STORE_ERROR;
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		s->audit_checkpoint_seq = sqlite3_column_int64(st, 0);
		/* A checkpoint beyond the last record means the tail was cut while
		 * the broker was down: continue after what was signed, never reuse
		 * a seq a checkpoint already vouches for. The cut stays a gap. */
		if (s->audit_checkpoint_seq > s->audit_seq) {
			s->audit_seq = s->audit_checkpoint_seq;
			sq_copy_text(s->audit_hash, sizeof s->audit_hash, st, 1);
		}
	}
	sq_release(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
}

void store_audit_configure(store_t *s, bool enabled, int64_t every, audit_signer_fn fn, void *ctx)
{
	s->audit_disabled = !enabled;
	s->audit_every = every;
	s->audit_sign = fn;
	s->audit_sign_ctx = ctx;
}

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Signs and stores a checkpoint of the current head (writer thread). */
static store_rc write_checkpoint(store_t *s, const char *time)
{
	if (s->audit_sign == NULL || s->audit_seq == 0 || s->audit_seq == s->audit_checkpoint_seq)
		return STORE_OK;
	json_t *cp = s->audit_sign(s->audit_sign_ctx, s->audit_seq, s->audit_hash, time);
	char *text = cp ? json_dumps(cp, JSON_COMPACT) : NULL;
	json_decref(cp);
	sqlite3_stmt *st = text ? sq_prepare(&s->w, "INSERT INTO audit_checkpoints (seq, record) VALUES (?1, ?2)") : NULL;
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, s->audit_seq);
		sq_bind_text(st, 2, text);
		rc = sq_exec_stmt(st);
	}
	free(text);
	if (rc == STORE_OK)
		s->audit_checkpoint_seq = s->audit_seq;
	return rc;
}

store_rc sq_audit_append(store_t *s, const audit_event_t *ev, const audit_prepared_t *prep)
{
	char time[AUDIT_TIME_LEN], hash[AUDIT_HASH_HEX];
	int64_t seq = s->audit_seq + 1;
	audit_time(now_us(), time);
	char *text = audit_finish(prep, seq, time, s->audit_hash, hash);
	sqlite3_stmt *st = text ? sq_prepare(&s->w, "INSERT INTO audit (seq, time, type, actor, resource, "
		"decision, jti, grant_id, record, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)") : NULL;
	store_rc rc = STORE_ERROR;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, seq);
		sq_bind_text(st, 2, time);
		sq_bind_text(st, 3, ev->type);
		sq_bind_text(st, 4, ev->actor);
		sq_bind_text(st, 5, ev->resource);
		sq_bind_text(st, 6, ev->decision);
		sq_bind_text(st, 7, ev->jti);
		sq_bind_text(st, 8, ev->grant);
		sq_bind_text(st, 9, text);
		sq_bind_text(st, 10, hash);
		rc = sq_exec_stmt(st);
	}
	free(text);
	if (rc != STORE_OK)
		return STORE_ERROR;
	s->audit_seq = seq;
	memcpy(s->audit_hash, hash, sizeof hash);
	if (s->audit_every > 0 && s->audit_seq - s->audit_checkpoint_seq >= s->audit_every)
		return write_checkpoint(s, time);
	return STORE_OK;
}

static store_rc apply_checkpoint(sq_conn_t *c, const void *arg)
{
	store_t *s = (store_t *)arg;
	char time[AUDIT_TIME_LEN];
	(void)c;
	audit_time(now_us(), time);
	return write_checkpoint(s, time);
}

store_rc store_audit_checkpoint(store_t *s)
{
	return sq_write(s, apply_checkpoint, s, NULL);
}

/* What the listing shows for a row that is not JSON: its raw text, so that
 * verification names it instead of the listing silently skipping it. NULL
 * only when out of memory. */
static json_t *unparsable(const char *text)
{
	json_t *j = json_pack("{s:s}", "unparsable", text ? text : "");
	return j != NULL ? j : json_pack("{s:s}", "unparsable", "(not UTF-8)");
}

/* Collects the "record" column (JSON text) of each row into an array; all
 * rows or STORE_ERROR (with *out NULL). */
store_rc sq_collect_records(sqlite3_stmt *st, json_t **out)
{
	int r = SQLITE_ERROR;
	if ((*out = json_array()) != NULL)
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			const char *text = (const char *)sqlite3_column_text(st, 0);
			json_t *rec = text ? json_loads(text, 0, NULL) : NULL;
			if (rec == NULL)
				rec = unparsable(text);
			if (rec == NULL || json_array_append_new(*out, rec) != 0) {
				r = SQLITE_NOMEM;
				break;
			}
		}
	sq_release(st);
	if (r != SQLITE_DONE) {
		json_decref(*out);
		*out = NULL;
		return STORE_ERROR;
	}
	return STORE_OK;
}

store_rc store_audit_list(store_t *s, const audit_filter_t *f, json_t **out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT record FROM audit WHERE seq > ?1 "
		"AND (?2 IS NULL OR type = ?2 OR substr(type, 1, length(?2) + 1) = ?2 || '.') AND (?3 IS NULL OR actor = ?3) "
		"AND (?4 IS NULL OR resource = ?4) AND (?5 IS NULL OR jti = ?5) "
		"AND (?6 IS NULL OR grant_id = ?6) AND (?7 IS NULL OR decision = ?7) "
		"AND (?8 IS NULL OR time >= ?8) AND (?9 IS NULL OR time <= ?9) ORDER BY seq LIMIT ?10");
	*out = NULL;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, f->after);
		sq_bind_text(st, 2, f->type);
		sq_bind_text(st, 3, f->actor);
		sq_bind_text(st, 4, f->resource);
		sq_bind_text(st, 5, f->jti);
		sq_bind_text(st, 6, f->grant);
		sq_bind_text(st, 7, f->decision);
		/* Second-precision bounds are exact instants (T = T.000000) against
		 * microsecond record times. */
		char since[AUDIT_TIME_LEN], until[AUDIT_TIME_LEN];
		snprintf(since, sizeof since, "%.19s.000000Z", f->since ? f->since : "");
		snprintf(until, sizeof until, "%.19s.000000Z", f->until ? f->until : "");
		sq_bind_text(st, 8, f->since ? since : NULL);
		sq_bind_text(st, 9, f->until ? until : NULL);
		sqlite3_bind_int(st, 10, f->limit);
		rc = sq_collect_records(st, out);
	}
	sq_reader_put(slot);
	return rc;
}

store_rc store_audit_checkpoints(store_t *s, int64_t after, int limit, json_t **out)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT record FROM audit_checkpoints WHERE seq > ?1 ORDER BY seq LIMIT ?2");
	*out = NULL;
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int(st, 2, limit);
		rc = sq_collect_records(st, out);
	}
	sq_reader_put(slot);
	return rc;
}

/* The newest checkpoint older than `before` that still has records below
 * it (0: nothing to prune; -1: the read failed). Read before the write:
 * only the maintenance thread prunes, and checkpoints below the head never
 * change. */
static int64_t prune_anchor(store_t *s, const char *before)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	int64_t anchor = -1;
	sqlite3_stmt *st = sq_prepare(c, "SELECT cp.seq FROM audit_checkpoints cp WHERE "
		"json_extract(cp.record, '$.time') < ?1 AND EXISTS (SELECT 1 FROM audit a WHERE a.seq < cp.seq) "
		"ORDER BY cp.seq DESC LIMIT 1");
	if (st != NULL) {
		char bound[AUDIT_TIME_LEN]; /* checkpoint times carry microseconds */
		snprintf(bound, sizeof bound, "%.19s.000000Z", before);
		sq_bind_text(st, 1, bound);
		int r = sqlite3_step(st);
		anchor = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : r == SQLITE_DONE ? 0 : -1;
		sq_release(st);
	}
	sq_reader_put(slot);
	return anchor;
}

static store_rc apply_prune_below(sq_conn_t *c, const void *arg)
{
	int64_t anchor = *(const int64_t *)arg;
	if (sq_exec_int(c, "DELETE FROM audit WHERE seq < ?1", anchor) != STORE_OK ||
	    sq_exec_int(c, "DELETE FROM audit_checkpoints WHERE seq < ?1", anchor) != STORE_OK)
		return STORE_ERROR;
	return STORE_OK;
}

store_rc store_audit_prune(store_t *s, const char *before, int64_t *pruned_to)
{
	int64_t anchor = prune_anchor(s, before);
	*pruned_to = 0;
	if (anchor < 0)
		return STORE_ERROR;
	if (anchor <= 1)
		return STORE_OK;
	json_t *details = json_pack("{s:I, s:s}", "first_kept_seq", (json_int_t)anchor, "before", before);
	audit_event_t ev = {.type = "audit.pruned", .actor = "broker", .action = "audit.retention",
			    .details = details};
	/* The deletion and its record commit together. */
	store_rc rc = sq_write(s, apply_prune_below, &anchor, &ev);
	json_decref(details);
	if (rc == STORE_OK)
		*pruned_to = anchor;
	return rc;
}

store_rc store_forward_cursor(store_t *s, const char *sink, int64_t *seq)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	store_rc rc = STORE_ERROR;
	sqlite3_stmt *st = sq_prepare(c, "SELECT seq FROM audit_forward WHERE sink = ?1");
	*seq = 0;
	if (st != NULL) {
		sq_bind_text(st, 1, sink);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			*seq = sqlite3_column_int64(st, 0);
		rc = r == SQLITE_ROW || r == SQLITE_DONE ? STORE_OK : STORE_ERROR;
		sq_release(st);
	}
	sq_reader_put(slot);
	return rc;
}

static store_rc apply_forward(sq_conn_t *c, const void *arg)
{
	const sq_text_int_t *a = arg;
	return sq_exec_text_int(c, "INSERT INTO audit_forward (sink, seq) VALUES (?1, ?2) "
				"ON CONFLICT (sink) DO UPDATE SET seq = excluded.seq", a->text, a->n, NULL);
}

store_rc store_forward_cursor_set(store_t *s, const char *sink, int64_t seq)
{
	sq_text_int_t a = {sink, seq};
	return sq_write(s, apply_forward, &a, NULL);
}

/* Feeds one stored tail record to the check; -1 with why on a mismatch. */
static int check_tail_record(sqlite3_stmt *st, char prev[AUDIT_HASH_HEX], char *why, size_t why_len)
{
	char h[AUDIT_HASH_HEX];
	int64_t seq = sqlite3_column_int64(st, 0);
	const char *text = (const char *)sqlite3_column_text(st, 1);
	json_t *r = text ? json_loads(text, 0, NULL) : NULL;
	const char *hash = json_string_value(json_object_get(r, "hash"));
	const char *rprev = json_string_value(json_object_get(r, "prev"));
	int rc = -1;
	if (r == NULL || hash == NULL || rprev == NULL || audit_record_hash(r, h) != 0 || strcmp(h, hash) != 0 ||
	    json_integer_value(json_object_get(r, "seq")) != seq)
		snprintf(why, why_len, "record %lld was edited", (long long)seq);
	else if (prev[0] != '\0' && strcmp(rprev, prev) != 0)
		snprintf(why, why_len, "record %lld does not follow the record before it", (long long)seq);
	else
		rc = 0;
	if (rc == 0)
		snprintf(prev, AUDIT_HASH_HEX, "%s", hash);
	json_decref(r);
	return rc;
}

/* The newest checkpoint's seq and hash (0 and "" when there is none); -1
 * when it cannot be read. */
static int newest_checkpoint(sq_conn_t *c, int64_t *seq, char hash[AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = sq_prepare(c, "SELECT seq, json_extract(record, '$.hash') FROM audit_checkpoints "
				      "ORDER BY seq DESC LIMIT 1");
	if (st == NULL)
		return -1;
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*seq = sqlite3_column_int64(st, 0);
		sq_copy_text(hash, AUDIT_HASH_HEX, st, 1);
	}
	sq_release(st);
	return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : -1;
}

/* A read that fails part-way is a failed check ("cannot read"), never a
 * clean tail. */
int store_audit_check_tail(store_t *s, char *why, size_t why_len)
{
	reader_t *slot;
	sq_conn_t *c = sq_reader_get(s, &slot);
	char prev[AUDIT_HASH_HEX] = "", cp_hash[AUDIT_HASH_HEX] = "";
	int64_t cp_seq = 0, expect = 0;
	int rc = 0, r = SQLITE_ERROR;
	sqlite3_stmt *st = NULL;
	if (newest_checkpoint(c, &cp_seq, cp_hash) != 0 ||
	    (st = sq_prepare(c, "SELECT seq, record FROM audit WHERE seq >= ?1 ORDER BY seq")) == NULL) {
		snprintf(why, why_len, "cannot read the audit tail");
		sq_reader_put(slot);
		return -1;
	}
	sqlite3_bind_int64(st, 1, cp_seq);
	while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		if (expect != 0 && seq != expect) {
			snprintf(why, why_len, "records %lld to %lld are missing", (long long)expect, (long long)seq - 1);
			rc = -1;
		} else if ((rc = check_tail_record(st, prev, why, why_len)) == 0 && seq == cp_seq &&
			   strcmp(prev, cp_hash) != 0) {
			snprintf(why, why_len, "record %lld does not match its checkpoint", (long long)seq);
			rc = -1;
		}
		expect = seq + 1;
	}
	if (rc == 0 && r != SQLITE_DONE) {
		snprintf(why, why_len, "cannot read the audit tail");
		rc = -1;
	}
	if (rc == 0 && cp_seq > 0 && expect == 0) {
		snprintf(why, why_len, "the checkpointed record %lld is missing", (long long)cp_seq);
		rc = -1;
	}
	sq_release(st);
	sq_reader_put(slot);
	return rc;
}
