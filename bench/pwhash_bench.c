/* pwhash_bench.c - the bare cost of the broker's operator password hash, the
 * peer of the login benchmark (bench/grant_bench.py login): libsodium
 * crypto_pwhash_str (Argon2id, as at operator creation) and
 * crypto_pwhash_str_verify (as at every login) at the given opslimit and
 * memlimit, in this process, no HTTP, no store. For each thread count, that
 * many threads verify one password hash each, N verifications in all, each
 * timed. Prints one JSON line per measurement on stdout:
 *   {"what":"str"|"verify","threads":T,"ops":N,"seconds":S,"cpu_s":C,
 *    "machine_cpu_s":M,"p50_ms":P,"p99_ms":Q}
 * (cpu_s: this process; machine_cpu_s: every process, from /proc/stat).
 * Usage: pwhash_bench [-o OPSLIMIT] [-m MEMLIMIT] [-c 1,2,4] [-n N] */
#include "bench_util.h"
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 64
#define STR_SAMPLES 5
#define PASSWORD "correct horse battery staple"

typedef struct {
	unsigned long long ops;
	size_t mem;
} cost_t;

typedef struct {
	const char *hash;
	uint64_t *lat; /* this thread's slots */
	size_t n;
	size_t bad;
} worker_t;

static double cpu_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time every process of the machine spent so far (/proc/stat: not
 * idle, not iowait); 0 when it cannot be read. */
static double machine_busy_s(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return 0;
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		       &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return 0;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static void *verify_loop(void *arg)
{
	worker_t *w = arg;
	for (size_t i = 0; i < w->n; i++) {
		uint64_t t0 = bench_now_ns();
		w->bad += crypto_pwhash_str_verify(w->hash, PASSWORD, strlen(PASSWORD)) != 0;
		w->lat[i] = bench_now_ns() - t0;
	}
	return NULL;
}

typedef struct {
	uint64_t t0;
	double cpu0, machine0;
} window_t;

static window_t window_start(void)
{
	return (window_t){.t0 = bench_now_ns(), .cpu0 = cpu_now_s(), .machine0 = machine_busy_s()};
}

static void print_line(const char *what, int threads, uint64_t *lat, size_t n, const window_t *w)
{
	double seconds = (double)(bench_now_ns() - w->t0) / 1e9, cpu_s = cpu_now_s() - w->cpu0;
	double machine_s = machine_busy_s() - w->machine0;
	bench_sort_u64(lat, n);
	printf("{\"what\":\"%s\",\"threads\":%d,\"ops\":%zu,\"seconds\":%.6f,\"cpu_s\":%.6f,"
	       "\"machine_cpu_s\":%.6f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
	       what, threads, n, seconds, cpu_s, machine_s, (double)bench_quantile_u64(lat, n, 0.5) / 1e6,
	       (double)bench_quantile_u64(lat, n, 0.99) / 1e6);
	fflush(stdout);
}

/* STR_SAMPLES hashes, one thread; the last one is left in hash. */
static int measure_str(const cost_t *c, char hash[crypto_pwhash_STRBYTES])
{
	uint64_t lat[STR_SAMPLES];
	window_t w = window_start();
	for (size_t i = 0; i < STR_SAMPLES; i++) {
		uint64_t s = bench_now_ns();
		if (crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD), c->ops, c->mem) != 0)
			return -1;
		lat[i] = bench_now_ns() - s;
	}
	print_line("str", 1, lat, STR_SAMPLES, &w);
	return 0;
}

/* n verifications spread over threads; -1 when any failed. */
static int measure_verify(const char *hash, int threads, size_t n)
{
	pthread_t tid[MAX_THREADS];
	worker_t w[MAX_THREADS];
	uint64_t *lat = calloc(n, sizeof *lat);
	size_t done = 0, bad = 0;
	if (lat == NULL)
		return -1;
	window_t win = window_start();
	for (int i = 0; i < threads; i++) {
		size_t share = n / (size_t)threads + ((size_t)i < n % (size_t)threads);
		w[i] = (worker_t){.hash = hash, .lat = lat + done, .n = share};
		done += share;
		if (pthread_create(&tid[i], NULL, verify_loop, &w[i]) != 0)
			abort();
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		bad += w[i].bad;
	}
	if (bad == 0)
		print_line("verify", threads, lat, n, &win);
	free(lat);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	cost_t c = {.ops = 2, .mem = 64u << 20};
	const char *levels = "1,2,4";
	size_t n = 40;
	int ch;
	char hash[crypto_pwhash_STRBYTES];
	while ((ch = getopt(argc, argv, "o:m:c:n:")) != -1) {
		if (ch == 'o')
			c.ops = strtoull(optarg, NULL, 10);
		else if (ch == 'm')
			c.mem = (size_t)strtoull(optarg, NULL, 10);
		else if (ch == 'c')
			levels = optarg;
		else if (ch == 'n')
			n = strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (n == 0 || sodium_init() < 0 || measure_str(&c, hash) != 0) {
		fprintf(stderr, "pwhash_bench: bad arguments, or crypto_pwhash_str failed (memory?)\n");
		return 1;
	}
	for (const char *p = levels; *p != '\0';) {
		char *end;
		long t = strtol(p, &end, 10);
		if (end == p || t < 1 || t > MAX_THREADS || measure_verify(hash, (int)t, n) != 0) {
			fprintf(stderr, "pwhash_bench: bad thread count in -c, or a verification failed\n");
			return 1;
		}
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}
