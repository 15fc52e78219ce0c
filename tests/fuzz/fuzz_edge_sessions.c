/* fuzz_edge_sessions.c - the broker's reader of an edge's session report
 * (core/edge_sessions.h) on arbitrary input: a refusal says why and holds
 * nothing; what it accepts keeps the documented bounds (rows, string
 * lengths, no control characters, valid and distinct session ids,
 * numbers not negative, total at least the rows) and, written again by
 * the edge's writer, reads back the same. */
#include "core/edge_sessions.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool printable_within(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n >= cap)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void check_row(const edge_session_t *s)
{
	fz_require(edge_session_id_valid(s->id), "a valid session id");
	fz_require(printable_within(s->listener, sizeof s->listener) && printable_within(s->device, sizeof s->device) &&
			   printable_within(s->src, sizeof s->src) && printable_within(s->identity, sizeof s->identity) &&
			   printable_within(s->grant, sizeof s->grant),
		   "strings bounded, no control characters");
	fz_require(s->since_ms >= 0 && s->last_ms >= 0 && s->allowed >= 0 && s->denied >= 0, "numbers not negative");
}

static bool same_row(const edge_session_t *a, const edge_session_t *b)
{
	return strcmp(a->id, b->id) == 0 && strcmp(a->listener, b->listener) == 0 && strcmp(a->device, b->device) == 0 &&
	       strcmp(a->src, b->src) == 0 && strcmp(a->identity, b->identity) == 0 &&
	       strcmp(a->grant, b->grant) == 0 && a->since_ms == b->since_ms && a->last_ms == b->last_ms &&
	       a->allowed == b->allowed && a->denied == b->denied;
}

/* Printable ASCII survives the writer unchanged; the rest becomes '?'. */
static bool ascii_row(const edge_session_t *s)
{
	const char *f[] = {s->listener, s->device, s->src, s->identity, s->grant};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		for (const char *c = f[i]; *c != '\0'; c++)
			if ((unsigned char)*c >= 0x7f)
				return false;
	return true;
}

static void round_trip(const edge_sessions_report_t *r)
{
	char *text = edge_sessions_report_text(r->rows, r->n);
	edge_sessions_report_t again;
	char why[200];
	fz_require(text != NULL, "the writer writes");
	fz_require(strlen(text) <= EDGE_SESSIONS_MAX_BODY, "the writer stays within the bound");
	fz_require(edge_sessions_report_parse(text, strlen(text), &again, why, sizeof why) == 0,
		   "what the writer writes is read");
	fz_require(again.n <= r->n && again.total == (int64_t)r->n, "rows are left out, never added");
	for (size_t i = 0; i < again.n; i++)
		fz_require(!ascii_row(&r->rows[i]) || same_row(&r->rows[i], &again.rows[i]), "rows read back the same");
	edge_sessions_report_free(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	edge_sessions_report_t r;
	char why[200] = "";
	if (edge_sessions_report_parse((const char *)data, size, &r, why, sizeof why) != 0) {
		fz_require(why[0] != '\0' && r.rows == NULL && r.n == 0, "a refusal says why and holds nothing");
		return 0;
	}
	fz_require(size <= EDGE_SESSIONS_MAX_BODY, "within the body bound");
	fz_require(r.n <= EDGE_SESSIONS_MAX_ROWS && r.total >= (int64_t)r.n, "rows bounded, total counts them");
	for (size_t i = 0; i < r.n; i++) {
		check_row(&r.rows[i]);
		for (size_t k = 0; k < i; k++)
			fz_require(strcmp(r.rows[i].id, r.rows[k].id) != 0, "ids distinct");
	}
	round_trip(&r);
	edge_sessions_report_free(&r);
	return 0;
}
