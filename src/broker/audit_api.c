/* audit_api.c - reading the audit chain: GET /v1/audit (filters, cursor),
 * GET /v1/audit/checkpoints, and the public audit key set that offline
 * verifiers use (GET /.well-known/tollgate-audit-keys.json). */
#include "broker/broker.h"
#include "broker/handlers.h"
#include "core/timefmt.h"
#include <stdlib.h>
#include <string.h>

/* since/until: RFC 3339 (second precision) bounds; answers 400 on junk. */
static int query_time(req_t *r, const char *name, const char **out)
{
	int64_t t;
	*out = http_query(r, name);
	if (*out == NULL || rfc3339_parse(*out, &t) == 0)
		return 0;
	http_problem(r, 400, NULL, "since and until must be RFC 3339 UTC times like 2026-11-28T14:00:00Z");
	return -1;
}

static json_t *next_cursor(const json_t *items, int limit)
{
	size_t n = json_array_size(items);
	if (n == 0 || n < (size_t)limit)
		return json_null();
	return json_copy(json_object_get(json_array_get(items, n - 1), "seq"));
}

void handle_audit_list(req_t *r)
{
	long long after, limit;
	json_t *records = NULL;
	audit_filter_t f = {.type = http_query(r, "type"), .actor = http_query(r, "actor"),
			    .resource = http_query(r, "resource"), .jti = http_query(r, "jti"),
			    .grant = http_query(r, "grant"), .decision = http_query(r, "decision")};
	if (http_query_int(r, "after", 0, INT64_MAX, 0, &after) != 0 ||
	    http_query_int(r, "limit", 1, TG_MAX_LIST_LIMIT, 100, &limit) != 0 ||
	    query_time(r, "since", &f.since) != 0 || query_time(r, "until", &f.until) != 0)
		return;
	f.after = after;
	f.limit = (int)limit;
	if (store_audit_list(r->b->store, &f, &records) != STORE_OK) {
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	json_t *next = next_cursor(records, f.limit);
	http_json(r, 200, json_pack("{s:o, s:o}", "records", records, "next", next));
}

void handle_audit_checkpoints(req_t *r)
{
	long long after, limit;
	json_t *cps = NULL;
	if (http_query_int(r, "after", 0, INT64_MAX, 0, &after) != 0 ||
	    http_query_int(r, "limit", 1, TG_MAX_LIST_LIMIT, 100, &limit) != 0)
		return;
	if (store_audit_checkpoints(r->b->store, after, (int)limit, &cps) != STORE_OK) {
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	json_t *next = next_cursor(cps, (int)limit);
	http_json(r, 200, json_pack("{s:o, s:o}", "checkpoints", cps, "next", next));
}

void handle_audit_keys(req_t *r)
{
	http_json(r, 200, signer_jwks(r->b->audit_signer));
}
