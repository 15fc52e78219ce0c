/* spool_lines.h - reading the text of an edge's audit spool
 * (edge/edge_spool.c), pure: where its complete records end, and which of
 * them the broker has not acknowledged yet.
 *
 * The spool is one record per line (core/edge_audit.h), appended with
 * one write(2) each, edge_seq growing by one from line to line. A crash
 * or power loss can leave the last line cut short (no '\n') or, on some
 * file systems, the tail filled with garbage: such a tail is no record
 * and is cut off. A line that is not a record with records after it, or
 * records out of sequence, cannot come from appending: the file was
 * damaged or edited, and the spool refuses it rather than guess. */
#ifndef TG_SPOOL_LINES_H
#define TG_SPOOL_LINES_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
	size_t good_len;             /* bytes up to the end of the last record: the rest is a torn tail */
	size_t n_records;
	int64_t first_seq, last_seq; /* 0 when there is no record */
	size_t backlog_off;          /* offset of the first record with edge_seq > acked; good_len when none */
	size_t n_backlog;            /* records with edge_seq > acked */
} spool_scan_t;

/* Scans buf (len bytes). 0 with *out filled (a torn tail shows as
 * good_len < len), or -1 with why naming the line when the file must be
 * refused. */
int spool_scan(const char *buf, size_t len, int64_t acked, spool_scan_t *out, char *why, size_t why_len)
	__attribute__((warn_unused_result));

#endif
