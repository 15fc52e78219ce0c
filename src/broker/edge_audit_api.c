/* edge_audit_api.c - POST /v1/edges/audit: the audit records an edge
 * spooled for its decisions (core/edge_audit.h, edge/edge_spool.c),
 * appended to the chain in order and exactly once.
 *
 *   {"records": [record, ...]}  ->  200 {"acknowledged": N}
 *
 * N is the highest edge_seq the chain now holds from this edge: records at
 * or below what it already held are skipped (a batch sent again after a
 * lost answer), so the edge may drop everything up to N. A batch whose
 * first new record is not the next one is refused whole with 409 and
 * "expected_edge_seq" (the edge sends again from there); a batch that is
 * not well-formed with 400. Each record enters the chain as sent, except
 * that its edge is the authenticated caller (never taken from the body)
 * and its details gain the edge's edge_seq and edge_time. Edges only: an
 * administrator has no spool to ship. */
#include "broker/broker.h"
#include "broker/handlers.h"
#include "core/edge_audit.h"
#include <stdlib.h>
#include <stdio.h>

typedef struct {
	edge_audit_rec_t *recs;
	size_t n;
	audit_event_t *evs;
	int64_t *seqs;
	json_t **details;
} batch_t;

static void batch_free(batch_t *b)
{
	for (size_t i = 0; b->details != NULL && i < b->n; i++)
		json_decref(b->details[i]);
	free(b->details);
	free(b->evs);
	free(b->seqs);
	free(b->recs);
}

/* The chain's events for the parsed records, as the edge actor's. */
static int batch_events(batch_t *b, const char *edge)
{
	size_t cap = b->n ? b->n : 1;
	b->evs = calloc(cap, sizeof *b->evs);
	b->seqs = calloc(cap, sizeof *b->seqs);
	b->details = calloc(cap, sizeof *b->details);
	if (b->evs == NULL || b->seqs == NULL || b->details == NULL)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		if ((b->details[i] = edge_audit_chain_details(&b->recs[i])) == NULL)
			return -1;
		b->evs[i] = b->recs[i].ev;
		b->evs[i].edge = edge;
		b->evs[i].details = b->details[i];
		b->seqs[i] = b->recs[i].edge_seq;
	}
	return 0;
}

static void answer_gap(req_t *r, int64_t expected)
{
	char detail[160];
	snprintf(detail, sizeof detail, "the next record the chain takes from this edge is edge_seq %lld; send from there",
		 (long long)expected);
	http_problem_ext(r, 409, "Audit records missing", detail,
			 json_pack("{s:I}", "expected_edge_seq", (json_int_t)expected));
}

void handle_edge_audit(req_t *r)
{
	char why[300];
	batch_t b = {0};
	int64_t acknowledged = 0, expected = 0;
	if (r->actor.kind != ACTOR_EDGE) { /* the route admits edges only; never record under another name */
		http_problem(r, 403, NULL, "only an edge ships audit records");
		return;
	}
	json_t *body = http_json_body(r);
	if (body == NULL)
		return;
	if (edge_audit_batch_parse(body, &b.recs, &b.n, why, sizeof why) != 0) {
		http_problem(r, 400, "Invalid audit records", why);
		json_decref(body);
		return;
	}
	store_rc rc = batch_events(&b, r->actor.id) != 0 ? STORE_ERROR
		: store_edge_audit_append(r->b->store, r->actor.id, b.evs, b.seqs, b.n, &acknowledged, &expected);
	if (rc == STORE_OK) {
		http_json(r, 200, json_pack("{s:I}", "acknowledged", (json_int_t)acknowledged));
	} else if (rc == STORE_CONFLICT) {
		answer_gap(r, expected);
	} else {
		broker_store_failed(r->b, r->path);
		http_problem(r, 503, NULL, "the store is unavailable; keep the records and retry");
	}
	batch_free(&b);
	json_decref(body);
}
