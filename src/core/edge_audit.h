/* edge_audit.h - the edge's audit records (docs/edge.md, Audit), pure: the
 * line an edge appends to its spool for a decision, and the broker's
 * strict reading of the batches edges ship (POST /v1/edges/audit). Both
 * sides use this one definition, so that whatever an edge spools, the
 * broker accepts: a record the broker refused would stop the edge's
 * shipping for good.
 *
 * A record, one JSON object (in the spool: one line, '\n'-terminated):
 *   {"edge_seq": N,          1, 2, ... per edge, never reused
 *    "time": T,              when the edge decided, microsecond RFC 3339 UTC
 *    "type": "authz.allow" | "authz.deny",
 *    "decision": "allow" | "deny"   (the one its type names),
 *    "actor", "action", "resource", "jti", "grant", "src": string or null,
 *    "policies": [policy id, ...] or null,
 *    "details": object or null}
 * Members other than edge_seq, time, type and decision may be left out
 * (null); no other member is accepted. A batch is
 *   {"records": [record, ...]}   at most EDGE_AUDIT_MAX_BATCH records
 * whose edge_seq grow by exactly one. The broker appends each record to
 * its chain with edge = the authenticated edge and details plus
 * {"edge_seq", "edge_time"}, so details must not carry those two. */
#ifndef TG_EDGE_AUDIT_H
#define TG_EDGE_AUDIT_H
#include "core/audit.h"
#include "core/limits.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define EDGE_AUDIT_MAX_BATCH    1000 /* records in one POST /v1/edges/audit */
#define EDGE_AUDIT_MAX_SEQ      (INT64_C(1) << 62)
/* Strings (bytes, no control characters): actor, jti and grant at most
 * TG_MAX_ID_LEN / TG_MAX_JTI_LEN, and: */
#define EDGE_AUDIT_MAX_ACTION   TG_MAX_SCOPE_TOKEN_LEN
#define EDGE_AUDIT_MAX_RESOURCE 1024
#define EDGE_AUDIT_MAX_SRC      64
#define EDGE_AUDIT_MAX_POLICIES 16   /* ids in "policies" */
#define EDGE_AUDIT_MAX_POLICY   128  /* one policy id */
#define EDGE_AUDIT_MAX_DETAILS  4096 /* "details" as compact JSON, bytes */
#define EDGE_AUDIT_MAX_DEPTH    4    /* nesting inside "details" */
/* One record's JSON text (a spool line without its '\n'): the bounds
 * above, each string at most doubled by escaping, fit in it. */
#define EDGE_AUDIT_MAX_RECORD   (16 * 1024)
/* The longest spool line edge_audit_line writes: the record and '\n'. */
#define EDGE_AUDIT_MAX_LINE     (EDGE_AUDIT_MAX_RECORD + 1)

/* One record as read: ev's strings point into the JSON it was read from
 * (ev.edge is NULL: the broker sets it). */
typedef struct {
	int64_t edge_seq;
	char time[AUDIT_TIME_LEN];
	audit_event_t ev;
} edge_audit_rec_t;

/* s into out (at least max + 1 bytes) as records hold text: characters
 * that are not well-formed UTF-8 or are control characters become '?',
 * cut before the first character that would pass max bytes. Returns the
 * length. */
size_t edge_audit_clip(const char *s, size_t max, char *out);

/* The record for ev at unix_us, without its edge_seq: a JSON object text
 * (malloc'd, no newline) for edge_audit_line. Every string is made to fit
 * its bound (invalid UTF-8 and control characters replaced by '?', cut
 * at a character boundary), policies beyond the bound are left out and
 * details that do not fit become {"dropped": "..."}, so that the result
 * always reads back with edge_audit_parse. decision follows the type.
 * NULL when ev->type is not an edge record type, or out of memory. */
char *edge_audit_body(const audit_event_t *ev, int64_t unix_us);
/* The spool line: body (from edge_audit_body) with "edge_seq" seq first,
 * '\n'-terminated, into out (at least EDGE_AUDIT_MAX_LINE + 32 bytes).
 * Returns its length, or 0 when it would not fit. */
size_t edge_audit_line(const char *body, int64_t seq, char *out, size_t cap);

/* Reads one record strictly (member types, bounds, no unknown members).
 * 0, or -1 with a sentence naming the member in why. */
int edge_audit_parse(const json_t *rec, edge_audit_rec_t *out, char *why, size_t why_len)
	__attribute__((warn_unused_result));
/* The same on one spool line's text (no newline; at most
 * EDGE_AUDIT_MAX_RECORD bytes); *doc gets the JSON that out points into
 * (release it with json_decref), NULL on -1. */
int edge_audit_parse_text(const char *text, size_t len, json_t **doc, edge_audit_rec_t *out, char *why,
			  size_t why_len) __attribute__((warn_unused_result));

/* Reads a batch body: *out (malloc'd, n records; free() it) points into
 * body, which must outlive it. -1 with why ("records[3].time: ...") on
 * anything but a well-formed batch. An empty batch is valid: it asks
 * what the broker holds. */
int edge_audit_batch_parse(const json_t *body, edge_audit_rec_t **out, size_t *n, char *why, size_t why_len)
	__attribute__((warn_unused_result));

/* The details the broker records: a copy of the sent details (or {}) with
 * "edge_seq" and "edge_time" added. NULL when out of memory. */
json_t *edge_audit_chain_details(const edge_audit_rec_t *rec);

#endif
