/* test_spool_lines.c - reading an edge's audit spool (src/core/spool_lines.c):
 * the backlog after the cursor; a torn tail (cut short, garbage, NUL
 * blocks) is cut off at the last record and the file cut at any byte
 * still scans; a damaged middle or records out of sequence are refused,
 * naming the line. */
#include "test_util.h"
#include "core/edge_audit.h"
#include "core/spool_lines.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A spool of n records, edge_seq first..first+n-1 (malloc'd); line_end[i]
 * gets the offset after line i. */
static char *spool(int64_t first, size_t n, size_t *len, size_t *line_end)
{
	char *out = malloc(n * (EDGE_AUDIT_MAX_LINE + 32) + 1);
	assert_non_null(out);
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char res[32];
		snprintf(res, sizeof res, "Order:%zu", i);
		audit_event_t ev = {.type = i % 2 ? "authz.allow" : "authz.deny", .actor = "svc-a", .resource = res};
		char *body = edge_audit_body(&ev, TU_NOW * 1000000 + (int64_t)i);
		assert_non_null(body);
		size_t w = edge_audit_line(body, first + (int64_t)i, out + o, EDGE_AUDIT_MAX_LINE + 32);
		assert_true(w > 0);
		free(body);
		o += w;
		if (line_end != NULL)
			line_end[i] = o;
	}
	*len = o;
	return out;
}

static void scan_ok(const char *buf, size_t len, int64_t acked, spool_scan_t *out)
{
	char why[300] = "";
	if (spool_scan(buf, len, acked, out, why, sizeof why) != 0)
		fail_msg("refused: %s", why);
}

static void test_empty(void **state)
{
	(void)state;
	spool_scan_t s;
	scan_ok("", 0, 0, &s);
	assert_int_equal(s.good_len, 0);
	assert_int_equal(s.n_records, 0);
	assert_int_equal(s.first_seq, 0);
	assert_int_equal(s.last_seq, 0);
	assert_int_equal(s.backlog_off, 0);
	assert_int_equal(s.n_backlog, 0);
	scan_ok("", 0, 17, &s);
	assert_int_equal(s.n_backlog, 0);
}

static void test_backlog(void **state)
{
	(void)state;
	size_t len, end[3];
	char *buf = spool(5, 3, &len, end);
	spool_scan_t s;
	scan_ok(buf, len, 0, &s);
	assert_int_equal(s.good_len, len);
	assert_int_equal(s.n_records, 3);
	assert_int_equal(s.first_seq, 5);
	assert_int_equal(s.last_seq, 7);
	assert_int_equal(s.backlog_off, 0);
	assert_int_equal(s.n_backlog, 3);
	scan_ok(buf, len, 5, &s);
	assert_int_equal(s.backlog_off, end[0]);
	assert_int_equal(s.n_backlog, 2);
	scan_ok(buf, len, 6, &s);
	assert_int_equal(s.backlog_off, end[1]);
	assert_int_equal(s.n_backlog, 1);
	for (int64_t acked = 7; acked < 10; acked++) {
		scan_ok(buf, len, acked, &s);
		assert_int_equal(s.backlog_off, len);
		assert_int_equal(s.n_backlog, 0);
	}
	free(buf);
}

/* buf with tail appended: scans to the same records, good_len before the tail. */
static void assert_tail_cut(const char *tail, size_t tail_len)
{
	size_t len;
	char *buf = spool(1, 4, &len, NULL);
	char *all = malloc(len + tail_len);
	assert_non_null(all);
	memcpy(all, buf, len);
	memcpy(all + len, tail, tail_len);
	spool_scan_t s;
	scan_ok(all, len + tail_len, 2, &s);
	assert_int_equal(s.good_len, len);
	assert_int_equal(s.n_records, 4);
	assert_int_equal(s.last_seq, 4);
	assert_int_equal(s.n_backlog, 2);
	free(all);
	free(buf);
}

static void test_torn_tail(void **state)
{
	(void)state;
	static const char zeros[4096] = {0};
	assert_tail_cut("{\"edge_seq\":5,\"time\":\"2023", 26);             /* cut short */
	assert_tail_cut("{\"edge_seq\":5}\n", 15);                          /* a line, not a record */
	assert_tail_cut("garbage\n\n{not json\n", 19);                      /* several */
	assert_tail_cut(zeros, sizeof zeros);                               /* a block never written */
	assert_tail_cut("\0\0\0\n\0\0", 6);
	assert_tail_cut("\n", 1);
}

/* Cut anywhere, the file scans: good_len is the end of the last whole
 * line before the cut, and the records before it are all there. */
static void test_cut_at_every_byte(void **state)
{
	(void)state;
	size_t len, end[5];
	char *buf = spool(100, 5, &len, end);
	for (size_t cut = 0; cut <= len; cut++) {
		spool_scan_t s;
		size_t whole = 0;
		for (size_t i = 0; i < 5; i++)
			if (end[i] <= cut)
				whole = i + 1;
		scan_ok(buf, cut, 101, &s);
		assert_int_equal(s.n_records, whole);
		assert_int_equal(s.good_len, whole ? end[whole - 1] : 0);
		assert_int_equal(s.n_backlog, whole > 2 ? whole - 2 : 0);
		assert_true(s.backlog_off <= s.good_len);
	}
	free(buf);
}

static void assert_refused(const char *buf, size_t len, const char *needle)
{
	spool_scan_t s;
	char why[300] = "";
	assert_int_equal(spool_scan(buf, len, 0, &s, why, sizeof why), -1);
	tu_assert_why(why, needle);
}

static void test_damaged_middle(void **state)
{
	(void)state;
	size_t len, end[3];
	char *buf = spool(1, 3, &len, end);
	char *bad = malloc(len + 32);
	assert_non_null(bad);
	/* line 2 not a record, line 3 is */
	memcpy(bad, buf, end[0]);
	memcpy(bad + end[0], "oops\n", 5);
	memcpy(bad + end[0] + 5, buf + end[1], len - end[1]);
	assert_refused(bad, end[0] + 5 + len - end[1], "line 2 (byte");
	assert_refused(bad, end[0] + 5 + len - end[1], "yet records follow it");
	/* a flipped byte inside a record in the middle */
	memcpy(bad, buf, len);
	bad[end[0] + 3] = 'X';
	assert_refused(bad, len, "line 2");
	free(bad);
	free(buf);
}

static void test_out_of_sequence(void **state)
{
	(void)state;
	size_t la, lb, lc;
	char *a = spool(1, 2, &la, NULL), *b = spool(4, 1, &lb, NULL), *c = spool(2, 1, &lc, NULL);
	char *both = malloc(la + lb + lc);
	assert_non_null(both);
	memcpy(both, a, la);
	memcpy(both + la, b, lb);
	assert_refused(both, la + lb, "line 3: edge_seq 4 follows 2");
	memcpy(both + la, c, lc);
	assert_refused(both, la + lc, "line 3: edge_seq 2 follows 2");
	free(both);
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_backlog),
		cmocka_unit_test(test_torn_tail),
		cmocka_unit_test(test_cut_at_every_byte),
		cmocka_unit_test(test_damaged_middle),
		cmocka_unit_test(test_out_of_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
