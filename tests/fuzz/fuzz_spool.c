/* fuzz_spool.c - the edge's audit spool and records on arbitrary input
 * (core/spool_lines.h, core/edge_audit.h): as a spool file, the scan
 * either refuses it or finds records in sequence ending on a line end,
 * and the file cut there scans the same with nothing left to cut; as a
 * POST /v1/edges/audit body, what the broker accepts is bounded and in
 * sequence, and every accepted record rebuilt by the edge's builder reads
 * back equal; as the strings of an event, the builder always makes a
 * record the broker accepts. */
#include "core/edge_audit.h"
#include "core/spool_lines.h"
#include "fuzz_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_scan(const char *buf, size_t size)
{
	spool_scan_t s, again;
	char why[300];
	int64_t acked = size > 0 ? (unsigned char)buf[0] % 8 : 0;
	if (spool_scan(buf, size, acked, &s, why, sizeof why) != 0)
		return;
	fz_require(s.good_len <= size, "good_len within the input");
	fz_require(s.good_len == 0 || buf[s.good_len - 1] == '\n', "good_len at a line end");
	fz_require(s.n_records == 0 || s.last_seq - s.first_seq + 1 == (int64_t)s.n_records, "records in sequence");
	fz_require(s.n_backlog <= s.n_records && s.backlog_off <= s.good_len, "backlog within the records");
	fz_require(s.n_backlog == 0 || s.last_seq > acked, "backlog above the cursor");
	fz_require(spool_scan(buf, s.good_len, acked, &again, why, sizeof why) == 0, "the cut file scans");
	fz_require(again.good_len == s.good_len && again.n_records == s.n_records && again.n_backlog == s.n_backlog &&
			   again.backlog_off == s.backlog_off,
		   "the cut file scans the same");
}

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* An accepted record, rebuilt as the edge would spool it, reads back equal. */
static void check_rebuilt(const edge_audit_rec_t *r)
{
	char line[EDGE_AUDIT_MAX_LINE + 32], why[300];
	json_t *doc;
	edge_audit_rec_t back;
	char *body = edge_audit_body(&r->ev, 0);
	fz_require(body != NULL, "an accepted record rebuilds");
	size_t n = edge_audit_line(body, r->edge_seq, line, sizeof line);
	free(body);
	fz_require(n > 0, "the rebuilt record fits a line");
	fz_require(edge_audit_parse_text(line, n - 1, &doc, &back, why, sizeof why) == 0, "the rebuilt record reads back");
	fz_require(back.edge_seq == r->edge_seq && same_str(back.ev.type, r->ev.type) &&
			   same_str(back.ev.actor, r->ev.actor) && same_str(back.ev.action, r->ev.action) &&
			   same_str(back.ev.resource, r->ev.resource) && same_str(back.ev.jti, r->ev.jti) &&
			   same_str(back.ev.grant, r->ev.grant) && same_str(back.ev.src, r->ev.src) &&
			   json_equal((json_t *)back.ev.details, (json_t *)r->ev.details) == (r->ev.details != NULL),
		   "the rebuilt record is the same");
	json_t *cd = edge_audit_chain_details(r);
	fz_require(cd != NULL && json_integer_value(json_object_get(cd, "edge_seq")) == r->edge_seq,
		   "chain details carry edge_seq");
	json_decref(cd);
	json_decref(doc);
}

static void check_batch(const char *buf, size_t size)
{
	json_t *body = json_loadb(buf, size, JSON_REJECT_DUPLICATES, NULL);
	edge_audit_rec_t *recs, one;
	size_t n;
	char why[300];
	if (body == NULL)
		return;
	if (edge_audit_batch_parse(body, &recs, &n, why, sizeof why) == 0) {
		fz_require(n <= EDGE_AUDIT_MAX_BATCH, "batch bounded");
		for (size_t i = 0; i < n; i++) {
			fz_require(i == 0 || recs[i].edge_seq == recs[i - 1].edge_seq + 1, "batch in sequence");
			check_rebuilt(&recs[i]);
		}
		free(recs);
	} else {
		fz_require(recs == NULL && n == 0, "a refused batch yields nothing");
	}
	if (edge_audit_parse(body, &one, why, sizeof why) == 0)
		check_rebuilt(&one);
	json_decref(body);
}

/* The input's NUL-separated pieces as an event's strings: always a record. */
static void check_builder(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 8);
	const char *f[8];
	char line[EDGE_AUDIT_MAX_LINE + 32], why[300];
	json_t *doc;
	edge_audit_rec_t back;
	if (s == NULL)
		abort();
	memcpy(s, data, size);
	memset(s + size, 0, 8);
	for (size_t i = 0, p = 0; i < 8; i++) {
		f[i] = p <= size ? s + p : NULL;
		p += strlen(s + p) + 1;
		if (p > size + 7)
			p = size + 7;
	}
	json_t *policies = json_pack("[s?, s?]", f[6], f[7]);
	json_t *details = json_loadb((const char *)data, size, 0, NULL);
	audit_event_t ev = {.type = size % 2 ? "authz.allow" : "authz.deny", .actor = f[0], .action = f[1],
			    .resource = f[2], .jti = f[3], .grant = f[4], .src = f[5], .policies = policies,
			    .details = details};
	char *body = edge_audit_body(&ev, FZ_NOW * 1000000);
	fz_require(body != NULL, "every event builds");
	size_t n = edge_audit_line(body, (int64_t)size + 1, line, sizeof line);
	fz_require(n > 0, "every record fits a line");
	fz_require(edge_audit_parse_text(line, n - 1, &doc, &back, why, sizeof why) == 0, "every built record reads back");
	json_decref(doc);
	free(body);
	json_decref(policies);
	json_decref(details);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_scan((const char *)data, size);
	check_batch((const char *)data, size);
	if (size <= 64 * 1024)
		check_builder(data, size);
	return 0;
}
