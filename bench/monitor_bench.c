/* monitor_bench.c - the behaviour monitor's throughput (docs/monitoring.md),
 * single thread, as the broker's monitor thread runs it:
 *   records: audit record texts (as the store returns them) parsed, read
 *            into events (core/monitor_event.h) and fed to the detectors
 *            (core/monitor.h): the monitor's whole work per record after
 *            the store read;
 *   events:  the same events, already read, fed to the detectors alone;
 * and, to show where the time goes, the JSON parse alone and parse + read.
 * The traffic: I identities, each issued a token every 50 requests, 95 %
 * allowed and 5 % denied requests over 4 actions and 20 resources from
 * its own address, one record per millisecond of record time, and a
 * learning window of a quarter of the run, so that most records are judged;
 * 1 % of the requests use an action never used before (after learning:
 * a finding). Prints
 * a Markdown table. Usage: monitor_bench [-n RECORDS] [-i IDENTITIES] [-r ROUNDS] */
#include "bench_util.h"
#include "core/monitor.h"
#include "core/monitor_event.h"
#include "core/timefmt.h"
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define T0 1796544000 /* 2026-12-06T00:00:00Z */

static char *record_text(size_t i, size_t identities)
{
	size_t id = i % identities, k = i / identities;
	int64_t ms = (int64_t)i;
	char t[RFC3339_LEN], when[40], *out = NULL;
	rfc3339(T0 + ms / 1000, t);
	snprintf(when, sizeof when, "%.19s.%06dZ", t, (int)(ms % 1000) * 1000);
	const char *actions[] = {"orders.read", "orders.write", "orders.list", "orders.cancel"};
	if (k % 50 == 0) {
		if (asprintf(&out, "{\"action\":\"oauth.token\",\"actor\":\"wl-%zu\",\"decision\":\"allow\",\"details\":"
				   "{\"auth\":\"private_key_jwt\",\"scope\":\"orders.read@Api:orders\",\"ttl\":300},\"edge\":null,"
				   "\"grant\":null,\"jti\":\"j-%zu-%zu\",\"policies\":[\"p1\"],\"prev\":\"%064d\",\"resource\":"
				   "\"orders.read@Api:orders\",\"seq\":%zu,\"src\":\"10.%zu.%zu.7\",\"time\":\"%s\",\"type\":"
				   "\"token.issued\",\"hash\":\"%064d\"}",
			     id, id, k / 50, 0, i + 1, id / 250 % 250, id % 250, when, 0) < 0)
			return NULL;
		return out;
	}
	bool deny = k % 20 == 7;
	char fresh[32];
	snprintf(fresh, sizeof fresh, "orders.x%zu", k); /* an action never used before */
	const char *action = k % 100 == 33 ? fresh : actions[k % 4];
	if (asprintf(&out, "{\"action\":\"%s\",\"actor\":\"wl-%zu\",\"decision\":\"%s\",\"details\":{\"edge_seq\":%zu,"
			   "\"edge_time\":\"%s\",\"method\":\"GET\",\"path\":\"/orders/%zu\",\"reason\":\"%s\",\"why\":\"\"},"
			   "\"edge\":\"edge-1\",\"grant\":null,\"jti\":\"j-%zu-%zu\",\"policies\":null,\"prev\":\"%064d\","
			   "\"resource\":\"Api:orders-%zu\",\"seq\":%zu,\"src\":\"10.%zu.%zu.7\",\"time\":\"%s\",\"type\":"
			   "\"authz.%s\",\"hash\":\"%064d\"}",
		     action, id, deny ? "deny" : "allow", i, when, k % 20, deny ? "forbidden" : "allow", id, k / 50, 0,
		     k % 20, i + 1, id / 250 % 250, id % 250, when, deny ? "deny" : "allow", 0) < 0)
		return NULL;
	return out;
}

static int64_t learning_window = 300;

/* The never-used actions (every 100th request of an identity, k % 100 ==
 * 33) whose time is after the identity's learning window: the findings
 * the traffic is built to raise. Everything else the detectors report is
 * a false positive. */
static size_t injected_after_learning(size_t n, size_t identities)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		size_t id = i % identities, k = i / identities;
		if (k % 50 != 0 && k % 100 == 33 && (int64_t)(i - id) / 1000 >= learning_window)
			count++;
	}
	return count;
}

static mon_engine_t *engine(void)
{
	mon_params_t p;
	mon_params_default(&p);
	p.learning_window = learning_window;
	p.max_identities = 1000000;
	return mon_engine_new(&p);
}

#define WINDOW 20000 /* events decoded ahead for the detect-only runs */

typedef enum { PARSE, READ, DETECT } depth_t;

typedef struct {
	double rate;
	size_t findings;
	size_t by_detector[DET_COUNT];
} result_t;

static void feed(mon_engine_t *e, const mon_event_t *ev, result_t *r)
{
	mon_finding_t f[16];
	size_t k = mon_engine_feed(e, ev, f, 16);
	r->findings += k;
	for (size_t j = 0; j < k; j++) {
		r->by_detector[f[j].detector]++;
		mon_finding_release(&f[j]);
	}
}

/* The record texts parsed, and as deep as asked read and judged. */
static result_t run_records(char **texts, size_t n, depth_t depth)
{
	mon_engine_t *e = engine();
	mon_event_t ev;
	result_t r = {0};
	uint64_t t = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		json_t *rec = json_loads(texts[i], 0, NULL);
		if (rec != NULL && depth >= READ && mon_event_from_record(rec, &ev) == 0 && depth == DETECT)
			feed(e, &ev, &r);
		json_decref(rec);
	}
	r.rate = (double)n / ((double)(bench_now_ns() - t) / 1e9);
	mon_engine_free(e);
	return r;
}

/* The detectors alone: WINDOW events read ahead, fed again and again
 * with their times and seqs moved on, n in all. */
static result_t run_events(char **texts, size_t n)
{
	mon_engine_t *e = engine();
	size_t w = n < WINDOW ? n : WINDOW;
	mon_event_t *evs = calloc(w, sizeof *evs);
	result_t r = {0};
	uint64_t busy = 0;
	for (size_t i = 0; i < w; i++) {
		json_t *rec = json_loads(texts[i], 0, NULL);
		if (rec == NULL || mon_event_from_record(rec, &evs[i]) != 0)
			abort();
		json_decref(rec);
	}
	for (size_t done = 0; done < n; done += w) {
		uint64_t t = bench_now_ns();
		for (size_t i = 0; i < w && done + i < n; i++)
			feed(e, &evs[i], &r);
		busy += bench_now_ns() - t;
		for (size_t i = 0; i < w; i++) {
			evs[i].t += (int64_t)w / 1000;
			evs[i].seq += (int64_t)w;
		}
	}
	r.rate = (double)n / ((double)busy / 1e9);
	free(evs);
	mon_engine_free(e);
	return r;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	size_t n = 1000000, identities = 1000, rounds = 3;
	int c;
	while ((c = getopt(argc, argv, "n:i:r:")) != -1) {
		if (c == 'n')
			n = strtoull(optarg, NULL, 10);
		else if (c == 'i')
			identities = strtoull(optarg, NULL, 10);
		else if (c == 'r')
			rounds = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	if (n == 0 || identities == 0 || rounds == 0 || rounds > 15)
		return 2;
	learning_window = n / 4000 > 0 ? (int64_t)(n / 4000) : 1;
	char **texts = calloc(n, sizeof *texts);
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if ((texts[i] = record_text(i, identities)) == NULL) {
			fprintf(stderr, "monitor_bench: record %zu did not build\n", i);
			return 1;
		}
		bytes += strlen(texts[i]);
	}
	static const char *const rows[] = {"records: JSON parse only (jansson)", "records: parse + read into events",
					   "records: parse + read + detect (the monitor's work)", "events: detect only"};
	double rates[4][15];
	size_t findings[4] = {0};
	result_t full = {0};
	for (size_t k = 0; k < rounds; k++)
		for (int d = 0; d < 4; d++) {
			result_t r = d < 3 ? run_records(texts, n, (depth_t)d) : run_events(texts, n);
			rates[d][k] = r.rate;
			findings[d] = r.findings;
			if (d == DETECT)
				full = r;
		}
	printf("| what | records | identities | per second (median of %zu) | per record | findings |\n", rounds);
	printf("|---|---:|---:|---:|---:|---:|\n");
	for (int d = 0; d < 4; d++) {
		double m = median(rates[d], rounds);
		char found[24] = "–";
		if (d >= 2)
			snprintf(found, sizeof found, "%zu", findings[d]);
		printf("| %s | %zu | %zu | %.0f | %.2f µs | %s |\n", rows[d], n, identities, m, 1e6 / m, found);
	}
	printf("\nMean record text: %zu bytes. Findings of the full run by detector:", bytes / n);
	for (int d = 0; d < DET_COUNT; d++)
		if (full.by_detector[d] != 0)
			printf(" %s %zu", mon_detector_name((mon_detector_t)d), full.by_detector[d]);
	size_t injected = injected_after_learning(n, identities);
	printf("%s; injected after learning: %zu; false positives: %zu.\n", full.findings ? "" : " none", injected,
	       full.findings - full.by_detector[DET_NEW_ACTION] +
		       (full.by_detector[DET_NEW_ACTION] > injected ? full.by_detector[DET_NEW_ACTION] - injected : 0));
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	return 0;
}
