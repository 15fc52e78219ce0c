/* audit_bench.c - the audit chain's own speed, against a real SQLite store:
 *   append: T threads append events through store_audit_append (each call
 *           returns only when its record is durable: group commit, fsync)
 *           for D seconds, with a signed checkpoint every 1000 records;
 *   verify: the whole log read back and run through the core verifier
 *           (hashes, links, checkpoint signatures), single thread.
 * Prints a Markdown table. Usage: audit_bench [-t THREADS] [-d SECONDS] DIR */
#include "bench_util.h"
#include "core/audit.h"
#include "store/store.h"
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static uint8_t pk[32], sk[64];
static atomic_ulong appended, failed;
static atomic_int stop;

static json_t *sign_checkpoint(void *ctx, int64_t seq, const char *hash, const char *time)
{
	(void)ctx;
	return audit_checkpoint(seq, hash, time, "bench", sk);
}

/* A record shaped like token.issued. */
static void *appender(void *arg)
{
	store_t *st = arg;
	json_t *details = json_pack("{s:s, s:i, s:s, s:s, s:s}", "scope", "orders.read@Api:orders", "ttl", 300,
				    "auth", "private_key_jwt", "binding", "dpop", "token_sha256",
				    "3f0c5d0f1d6b1a7e0d3f7c2b9e8a6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e");
	audit_event_t ev = {.type = "token.issued", .actor = "orders-svc", .action = "oauth.token",
			    .resource = "orders.read@Api:orders", .decision = "allow",
			    .jti = "AaIi13pLKpTo3ozh29Edbg", .src = "127.0.0.1", .details = details};
	while (!atomic_load(&stop)) {
		if (store_audit_append(st, &ev) == STORE_OK)
			atomic_fetch_add(&appended, 1);
		else
			atomic_fetch_add(&failed, 1);
	}
	json_decref(details);
	return NULL;
}

/* Appends every record (or checkpoint) of the store to into, page by page. */
static int read_all(store_t *st, bool checkpoints, json_t *into)
{
	int64_t after = 0;
	for (;;) {
		json_t *page = NULL;
		audit_filter_t f = {.after = after, .limit = 1000};
		store_rc rc = checkpoints ? store_audit_checkpoints(st, after, 1000, &page)
					  : store_audit_list(st, &f, &page);
		if (rc != STORE_OK)
			return -1;
		size_t n = json_array_size(page);
		json_array_extend(into, page);
		if (n > 0)
			after = json_integer_value(json_object_get(json_array_get(page, n - 1), "seq"));
		json_decref(page);
		if (n < 1000)
			return 0;
	}
}

/* Verifies the whole log; returns records verified, -1 on failure. */
static long long verify_all(store_t *st, double *seconds)
{
	audit_key_t key = {.kid = "bench"};
	audit_verifier_t v;
	json_t *records = json_array(), *cps = json_array();
	memcpy(key.pk, pk, sizeof pk);
	/* Read everything first: the timing is verification only. */
	if (read_all(st, false, records) != 0 || read_all(st, true, cps) != 0)
		return -1;
	uint64_t t0 = bench_now_ns();
	audit_verify_init(&v, &key, 1);
	size_t c = 0, i;
	json_t *r;
	int rc = 0;
	json_array_foreach(records, i, r) {
		rc |= audit_verify_record(&v, r);
		int64_t seq = json_integer_value(json_object_get(r, "seq"));
		while (c < json_array_size(cps) &&
		       json_integer_value(json_object_get(json_array_get(cps, c), "seq")) <= seq)
			rc |= audit_verify_checkpoint(&v, json_array_get(cps, c++));
	}
	rc |= audit_verify_finish(&v);
	*seconds = (double)(bench_now_ns() - t0) / 1e9;
	if (rc != 0)
		fprintf(stderr, "audit_bench: verification failed at %lld: %s\n", (long long)v.error_seq, v.error);
	json_decref(records);
	json_decref(cps);
	return rc == 0 ? v.records : -1;
}

int main(int argc, char **argv)
{
	int threads = 16, ch;
	double duration = 10, vsec = 0;
	char url[600], err[300];
	while ((ch = getopt(argc, argv, "t:d:")) != -1) {
		if (ch == 't')
			threads = atoi(optarg);
		else if (ch == 'd')
			duration = atof(optarg);
		else
			return 2;
	}
	if (optind != argc - 1 || threads < 1 || threads > 256 || sodium_init() < 0) {
		fprintf(stderr, "usage: audit_bench [-t THREADS] [-d SECONDS] DIR\n");
		return 2;
	}
	crypto_sign_keypair(pk, sk);
	snprintf(url, sizeof url, "sqlite:%s/audit-bench.db", argv[optind]);
	store_t *st = store_open(url, true, err, sizeof err);
	if (st == NULL) {
		fprintf(stderr, "audit_bench: %s\n", err);
		return 1;
	}
	store_audit_configure(st, true, 1000, sign_checkpoint, NULL);
	pthread_t tids[256];
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, appender, st);
	usleep((useconds_t)(duration * 1e6));
	atomic_store(&stop, 1);
	for (int i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	double secs = (double)(bench_now_ns() - t0) / 1e9;
	long long verified = verify_all(st, &vsec);
	store_close(st);
	printf("| operation | records | seconds | records/s |\n|---|---:|---:|---:|\n");
	printf("| durable append (%d threads, group commit, synchronous=full, checkpoint every 1000) "
	       "| %lu | %.1f | %.0f |\n", threads, atomic_load(&appended), secs, atomic_load(&appended) / secs);
	printf("| verify (hashes, links, checkpoint signatures; one thread) | %lld | %.3f | %.0f |\n",
	       verified, vsec, verified > 0 ? (double)verified / vsec : 0);
	if (atomic_load(&failed) > 0 || verified < 0) {
		fprintf(stderr, "audit_bench: %lu failed appends, verification %s\n", atomic_load(&failed),
			verified < 0 ? "FAILED" : "ok");
		return 1;
	}
	return 0;
}
