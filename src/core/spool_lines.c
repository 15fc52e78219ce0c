/* spool_lines.c - scanning an edge's audit spool text (spool_lines.h). */
#include "core/spool_lines.h"
#include "core/edge_audit.h"
#include <stdio.h>
#include <string.h>

/* The first line that is not a record, kept until a record after it
 * shows the file is damaged (or the end shows it was a torn tail). */
typedef struct {
	size_t line, off;
	char why[160];
} bad_line_t;

/* Reads the record on one complete line (without its '\n'); its edge_seq,
 * or 0 with why when the line is none. */
static int64_t line_seq(const char *text, size_t len, char *why, size_t why_len)
{
	json_t *doc;
	edge_audit_rec_t rec;
	if (edge_audit_parse_text(text, len, &doc, &rec, why, why_len) != 0)
		return 0;
	json_decref(doc);
	return rec.edge_seq;
}

int spool_scan(const char *buf, size_t len, int64_t acked, spool_scan_t *out, char *why, size_t why_len)
{
	bad_line_t bad = {0};
	size_t line = 0;
	memset(out, 0, sizeof *out);
	for (size_t off = 0; off < len; line++) {
		const char *nl = memchr(buf + off, '\n', len - off);
		if (nl == NULL)
			break; /* cut short: a torn tail */
		size_t n = (size_t)(nl - (buf + off));
		char lwhy[sizeof bad.why];
		int64_t seq = line_seq(buf + off, n, lwhy, sizeof lwhy);
		if (seq == 0 && bad.line == 0) {
			bad = (bad_line_t){line + 1, off, ""};
			snprintf(bad.why, sizeof bad.why, "%s", lwhy);
		} else if (seq != 0 && bad.line != 0) {
			snprintf(why, why_len, "line %zu (byte %zu) is not an audit record (%s), yet records follow it",
				 bad.line, bad.off, bad.why);
			return -1;
		} else if (seq != 0 && out->n_records > 0 && seq != out->last_seq + 1) {
			snprintf(why, why_len, "line %zu: edge_seq %lld follows %lld (records out of sequence)", line + 1,
				 (long long)seq, (long long)out->last_seq);
			return -1;
		}
		if (seq != 0) {
			if (out->n_records++ == 0)
				out->first_seq = seq;
			out->last_seq = seq;
			if (seq > acked && out->n_backlog++ == 0)
				out->backlog_off = off;
			out->good_len = off + n + 1;
		}
		off += n + 1;
	}
	if (out->n_backlog == 0)
		out->backlog_off = out->good_len;
	return 0;
}
