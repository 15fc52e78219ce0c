/* policy_bench.c - Tollgate's Cedar engine (src/core/policy/engine.h) on the
 * inputs bench/policy_gen.mjs writes, the same ones
 * bench/cedar_wasm_bench.mjs feeds the reference.
 *
 *   policy_bench [-t SECONDS] DIR...
 *       For each DIR (policies.cedar, entities.json, requests.jsonl): the
 *       load time of the policy set (read, parse, compile the index; the
 *       median of 3 loads), then decisions per second over a window of
 *       SECONDS (requests round-robin, one thread, no timer per call), then
 *       p50/p99 latency of single decisions timed one by one (another
 *       window of the same length). Requests are parsed before timing, as a
 *       broker or an edge has them parsed before it decides. Prints one line
 *       per DIR: size=N load_ms=X decisions=N seconds=S dps=X p50_us=X
 *       p99_us=X allow=N sample=ADDA... (sample: the decision for each
 *       request of the file in order).
 *   policy_bench -R TOLLGATE.txt REFERENCE.txt
 *       The markdown table of docs/benchmarks.md from the two result files
 *       (this program's and cedar_wasm_bench.mjs's), with the ratios and
 *       the bars in docs/architecture.md. */
#include "bench_util.h"
#include "core/limits.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/policy.h"
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_RATIO 100.0     /* ≥ 100× the reference's throughput */
#define BAR_P50_US 5.0      /* p50 at 100,000 policies */
#define LOAD_ROUNDS 3
#define MAX_SIZES 16

static char *read_all(const char *dir, const char *name, size_t max, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rbe");
	if (f == NULL) {
		fprintf(stderr, "policy_bench: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(max + 1);
	*len = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (buf == NULL || *len > max) {
		fprintf(stderr, "policy_bench: %s: too large\n", path);
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

/* Parses and compiles the policy text; NULL after a message. */
static pol_engine_t *load(const char *text, size_t len)
{
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t err;
	if (pol_parse(text, len, &set, &err) != 0 || pol_engine_new(set, &eng, &err) != 0) {
		fprintf(stderr, "policy_bench: policies: %s\n", err.message);
		return NULL;
	}
	return eng;
}

typedef struct {
	pol_request_t *req;
	size_t n;
	pol_arena_t *arena;
} requests_t;

static int load_requests(const char *dir, requests_t *r)
{
	size_t len = 0, cap = 0;
	char *text = read_all(dir, "requests.jsonl", 64u << 20, &len);
	char err[256];
	int rc = -1;
	if (text == NULL || (r->arena = pol_arena_new()) == NULL)
		goto out;
	for (char *line = text, *nl; line < text + len; line = nl + 1) {
		nl = strchr(line, '\n');
		if (nl == NULL)
			nl = text + len;
		if (nl == line)
			continue;
		json_error_t je;
		json_t *j = json_loadb(line, (size_t)(nl - line), 0, &je);
		if (r->n == cap) {
			cap = cap ? 2 * cap : 1024;
			pol_request_t *g = realloc(r->req, cap * sizeof *g);
			if (g == NULL) {
				json_decref(j);
				goto out;
			}
			r->req = g;
		}
		int bad = j == NULL || pol_json_request(r->arena, j, &r->req[r->n], err, sizeof err) != 0;
		json_decref(j);
		if (bad) {
			fprintf(stderr, "policy_bench: %s/requests.jsonl line %zu: %s\n", dir, r->n + 1,
				j ? err : je.text);
			goto out;
		}
		r->n++;
	}
	rc = r->n > 0 ? 0 : -1;
out:
	free(text);
	return rc;
}

static int bench_dir(const char *dir, double seconds)
{
	size_t plen = 0, elen = 0;
	char err[512];
	int rc = 1;
	pol_engine_t *eng = NULL;
	pol_entities_t *es = NULL;
	pol_scratch_t *s = pol_scratch_new();
	requests_t rq = {0};
	uint64_t *lat = NULL;
	char *sample = NULL;
	char *ptext = read_all(dir, "policies.cedar", TG_MAX_POLICY_TEXT, &plen);
	char *etext = read_all(dir, "entities.json", TG_MAX_ENTITIES_TEXT, &elen);
	if (ptext == NULL || etext == NULL || s == NULL)
		goto out;

	double loads[LOAD_ROUNDS];
	for (int i = 0; i < LOAD_ROUNDS; i++) {
		uint64_t t0 = bench_now_ns();
		pol_engine_t *e = load(ptext, plen);
		loads[i] = (double)(bench_now_ns() - t0) / 1e6;
		if (e == NULL)
			goto out;
		if (eng != NULL)
			pol_engine_free(eng);
		eng = e;
	}
	double load_ms = bench_median(loads, LOAD_ROUNDS);
	if (pol_json_entities(etext, elen, &es, err, sizeof err) != 0) {
		fprintf(stderr, "policy_bench: %s/entities.json: %s\n", dir, err);
		es = NULL;
		goto out;
	}
	if (load_requests(dir, &rq) != 0)
		goto out;

	/* The decision of every request, in order; a warm-up too. */
	pol_decision_t d;
	size_t allow = 0;
	if ((sample = malloc(rq.n + 1)) == NULL)
		goto out;
	for (size_t i = 0; i < rq.n; i++) {
		if (pol_authorize(eng, es, &rq.req[i], NULL, s, &d) != 0)
			goto out;
		sample[i] = d.allow ? 'A' : 'D';
	}
	sample[rq.n] = '\0';

	/* Throughput: batches of the whole request list, the clock read per batch. */
	uint64_t budget = (uint64_t)(seconds * 1e9), t0 = bench_now_ns(), t1 = t0;
	size_t done = 0;
	while (t1 - t0 < budget) {
		for (size_t i = 0; i < rq.n; i++) {
			(void)pol_authorize(eng, es, &rq.req[i], NULL, s, &d);
			allow += d.allow;
		}
		done += rq.n;
		t1 = bench_now_ns();
	}
	double total = (double)(t1 - t0) / 1e9;

	/* Latency: each decision timed on its own. */
	size_t cap = 1u << 20, nlat = 0;
	if ((lat = malloc(cap * sizeof *lat)) == NULL)
		goto out;
	uint64_t l0 = bench_now_ns(), now = l0;
	for (size_t i = 0; now - l0 < budget && nlat < cap; i++) {
		uint64_t a = bench_now_ns();
		(void)pol_authorize(eng, es, &rq.req[i % rq.n], NULL, s, &d);
		now = bench_now_ns();
		lat[nlat++] = now - a;
	}
	bench_sort_u64(lat, nlat);

	printf("size=%zu load_ms=%.3f decisions=%zu seconds=%.3f dps=%.1f p50_us=%.3f p99_us=%.3f "
	       "allow=%zu sample=%s\n",
	       pol_engine_set(eng)->n, load_ms, done, total, (double)done / total,
	       (double)bench_quantile_u64(lat, nlat, 0.5) / 1e3,
	       (double)bench_quantile_u64(lat, nlat, 0.99) / 1e3, allow, sample);
	fflush(stdout);
	rc = 0;
out:
	free(lat);
	free(sample);
	free(rq.req);
	pol_arena_free(rq.arena);
	pol_scratch_free(s);
	pol_entities_free(es);
	pol_engine_free(eng);
	free(ptext);
	free(etext);
	return rc;
}

/* ---- the report ---------------------------------------------------------- */

typedef struct {
	size_t size, decisions, allow;
	double load_ms, seconds, dps, p50, p99;
	char *sample;
} result_t;

static int read_results(const char *path, result_t *r, size_t max, size_t *n)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	*n = 0;
	if (f == NULL) {
		fprintf(stderr, "policy_bench: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (*n < max && getline(&line, &cap, f) > 0) {
		result_t *x = &r[*n];
		char *smp = strstr(line, "sample=");
		if (sscanf(line, "size=%zu load_ms=%lf decisions=%zu seconds=%lf dps=%lf p50_us=%lf p99_us=%lf allow=%zu",
			   &x->size, &x->load_ms, &x->decisions, &x->seconds, &x->dps, &x->p50, &x->p99,
			   &x->allow) != 8)
			continue;
		x->sample = strdup(smp ? smp + 7 : "");
		if (x->sample != NULL)
			x->sample[strcspn(x->sample, "\n")] = '\0';
		(*n)++;
	}
	free(line);
	fclose(f);
	return 0;
}

static const result_t *find(const result_t *r, size_t n, size_t size)
{
	for (size_t i = 0; i < n; i++)
		if (r[i].size == size)
			return &r[i];
	return NULL;
}

static void fmt_us(char *buf, size_t size, double us)
{
	if (us >= 1000)
		snprintf(buf, size, "%.2f ms", us / 1000);
	else
		snprintf(buf, size, "%.2f µs", us);
}

static int report(const char *tg_path, const char *ref_path)
{
	result_t tg[MAX_SIZES], ref[MAX_SIZES];
	size_t ntg = 0, nref = 0;
	if (read_results(tg_path, tg, MAX_SIZES, &ntg) != 0 || read_results(ref_path, ref, MAX_SIZES, &nref) != 0)
		return 1;
	printf("| policies | engine | load | decisions/s | p50 | p99 | decisions timed | allowed |\n"
	       "|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < ntg; i++) {
		const result_t *t = &tg[i], *r = find(ref, nref, t->size);
		char a[32], b[32], c[32];
		fmt_us(a, sizeof a, t->load_ms * 1000);
		fmt_us(b, sizeof b, t->p50);
		fmt_us(c, sizeof c, t->p99);
		printf("| %zu | Tollgate | %s | %.0f | %s | %s | %zu in %.0f s | %.1f %% |\n", t->size, a, t->dps, b, c,
		       t->decisions, t->seconds, 100.0 * (double)t->allow / (double)(t->decisions ? t->decisions : 1));
		if (r != NULL) {
			fmt_us(a, sizeof a, r->load_ms * 1000);
			fmt_us(b, sizeof b, r->p50);
			fmt_us(c, sizeof c, r->p99);
			printf("| %zu | cedar-wasm | %s | %.1f | %s | %s | %zu in %.0f s | %.1f %% |\n", r->size, a, r->dps, b,
			       c, r->decisions, r->seconds,
			       100.0 * (double)r->allow / (double)(r->decisions ? r->decisions : 1));
		}
	}
	printf("\n| policies | throughput ratio (Tollgate / cedar-wasm) | bar ≥ %.0f× | p50 at this size | same decisions |\n"
	       "|---:|---:|---|---:|---|\n",
	       BAR_RATIO);
	for (size_t i = 0; i < ntg; i++) {
		const result_t *t = &tg[i], *r = find(ref, nref, t->size);
		if (r == NULL || r->dps <= 0) {
			printf("| %zu | no reference result | FAIL | | |\n", t->size);
			continue;
		}
		double ratio = t->dps / r->dps;
		size_t n = strlen(r->sample);
		bool same = n > 0 && strncmp(t->sample, r->sample, n) == 0;
		char p50[64];
		fmt_us(p50, sizeof p50, t->p50);
		if (t->size >= 100000)
			snprintf(p50 + strlen(p50), sizeof p50 - strlen(p50), " (bar ≤ %.0f µs: %s)", BAR_P50_US,
				 t->p50 <= BAR_P50_US ? "PASS" : "FAIL");
		printf("| %zu | %.0f× | %s | %s | %s on the first %zu requests |\n", t->size, ratio,
		       ratio >= BAR_RATIO ? "PASS" : "FAIL", p50, same ? "yes" : "NO", n);
	}
	for (size_t i = 0; i < ntg; i++)
		free(tg[i].sample);
	for (size_t i = 0; i < nref; i++)
		free(ref[i].sample);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 3;
	int ch, rc = 0;
	const char *report_a = NULL;
	while ((ch = getopt(argc, argv, "t:R:")) != -1) {
		switch (ch) {
		case 't': seconds = strtod(optarg, NULL); break;
		case 'R': report_a = optarg; break;
		default: goto usage;
		}
	}
	if (report_a != NULL) {
		if (optind + 1 != argc)
			goto usage;
		return report(report_a, argv[optind]);
	}
	if (optind >= argc || !(seconds > 0))
		goto usage;
	for (int i = optind; i < argc; i++)
		if (bench_dir(argv[i], seconds) != 0)
			rc = 1;
	return rc;
usage:
	fprintf(stderr, "usage: policy_bench [-t SECONDS] DIR...\n"
			"       policy_bench -R TOLLGATE.txt REFERENCE.txt\n");
	return 2;
}
