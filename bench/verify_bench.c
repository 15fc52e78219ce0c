/* verify_bench.c - uncached access-token verification (tok_verify) against
 * its peer, raw libsodium crypto_sign_verify_detached on the same signing
 * input, in the same process, single thread. Also times jws_parse alone.
 * Rounds alternate the three loops; each figure is the median over rounds.
 * Prints a Markdown table on stdout (bench/run.sh puts it in
 * docs/benchmarks.md). Usage: verify_bench [-n ITERATIONS] [-r ROUNDS] */
#include "bench_util.h"
#include "core/access_token.h"
#include "core/jws.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_RATIO 1.3
#define MAX_ROUNDS 15

typedef struct {
	char *token;
	size_t len;
	tok_key_t keys[2];
	tok_verify_opts_t opts;
	jws_t parsed; /* signing input and signature, for the raw peer */
	uint8_t pk[ED25519_PK_LEN];
} fixture_t;

/* A token as the broker issues it: two published keys, the newer one
 * (listed second) signs, so the kid lookup walks the set. */
static int fixture_make(fixture_t *f)
{
	uint8_t sk_old[64], sk_new[64];
	int64_t now = (int64_t)time(NULL);
	crypto_sign_keypair(f->keys[0].pk, sk_old);
	crypto_sign_keypair(f->keys[1].pk, sk_new);
	f->keys[0].kid = "k-2026-01-a3Zq9w";
	f->keys[1].kid = "k-2026-02-Pp81xR";
	tok_issue_t t = {.issuer = "http://127.0.0.1:8420", .audience = "tollgate",
			 .sub = "svc-orders-042", .client_id = "svc-orders-042",
			 .scope = "orders.read@Api:orders", .jti = "q3J8n0xY2mC5vR7tK1wZ4A",
			 .kid = f->keys[1].kid, .iat = now, .exp = now + 300};
	f->token = tok_issue(&t, sk_new);
	sodium_memzero(sk_old, sizeof sk_old);
	sodium_memzero(sk_new, sizeof sk_new);
	if (f->token == NULL)
		return -1;
	f->len = strlen(f->token);
	f->opts = (tok_verify_opts_t){.issuer = t.issuer, .audience = t.audience, .now = now,
				      .leeway = 30, .keys = f->keys, .n_keys = 2};
	memcpy(f->pk, f->keys[1].pk, sizeof f->pk);
	return jws_parse(f->token, f->len, &f->parsed) == JWS_OK ? 0 : -1;
}

/* Each loop returns the number of failures, which must be 0. */
static size_t loop_raw(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += crypto_sign_verify_detached(f->parsed.sig,
						   (const uint8_t *)f->parsed.signing_input,
						   f->parsed.signing_input_len, f->pk) != 0;
	return bad;
}

static size_t loop_tok(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		tok_claims_t c;
		const char *why = NULL;
		if (tok_verify(f->token, f->len, &f->opts, &c, &why) != 0) {
			bad++;
			continue;
		}
		tok_claims_free(&c);
	}
	return bad;
}

static size_t loop_parse(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		jws_t j;
		if (jws_parse(f->token, f->len, &j) != JWS_OK) {
			bad++;
			continue;
		}
		jws_free(&j);
	}
	return bad;
}

typedef size_t (*loop_fn)(const fixture_t *, size_t);

/* ns per operation of one loop, or -1 when any operation failed. */
static double time_loop(loop_fn fn, const fixture_t *f, size_t n)
{
	uint64_t t0 = bench_now_ns();
	size_t bad = fn(f, n);
	uint64_t t1 = bench_now_ns();
	return bad ? -1.0 : (double)(t1 - t0) / (double)n;
}

static void row(const char *what, double ns, size_t n, int rounds)
{
	printf("| %s | %.0f | %.0f | %zu × %d |\n", what, 1e9 / ns, ns, n, rounds);
}

static void report(double raw, double tok, double parse, size_t n, int rounds, size_t len)
{
	double ratio = tok / raw;
	printf("Token: %zu-byte compact JWT (RFC 9068 at+jwt, EdDSA, 9 claims), 2 published keys, "
	       "signed by the second. Single thread; %d alternating rounds of %zu iterations, "
	       "median round shown.\n\n", len, rounds, n);
	printf("| operation | ops/s | ns/op | iterations |\n|---|---:|---:|---:|\n");
	row("raw `crypto_sign_verify_detached` (peer)", raw, n, rounds);
	row("`tok_verify` (uncached: parse, claims, signature)", tok, n, rounds);
	row("`jws_parse` alone (base64url + 2 JSON parses)", parse, n, rounds);
	printf("\n| bar | measured | result |\n|---|---:|---|\n");
	printf("| uncached `tok_verify` within %.1f× of raw Ed25519 verify | %.3f× | %s |\n",
	       BAR_RATIO, ratio, ratio <= BAR_RATIO ? "PASS" : "MISS");
}

int main(int argc, char **argv)
{
	size_t n = 10000;
	int rounds = 5, ch;
	double raw[MAX_ROUNDS], tok[MAX_ROUNDS], parse[MAX_ROUNDS];
	fixture_t f;
	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		if (ch == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (ch == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (n == 0 || rounds < 1 || rounds > MAX_ROUNDS || sodium_init() < 0 || fixture_make(&f) != 0) {
		fprintf(stderr, "verify_bench: bad arguments or setup failed\n");
		return 1;
	}
	time_loop(loop_raw, &f, n / 10 + 1); /* warm caches and the branch predictor */
	time_loop(loop_tok, &f, n / 10 + 1);
	for (int r = 0; r < rounds; r++) {
		raw[r] = time_loop(loop_raw, &f, n);
		tok[r] = time_loop(loop_tok, &f, n);
		parse[r] = time_loop(loop_parse, &f, n);
		if (raw[r] < 0 || tok[r] < 0 || parse[r] < 0) {
			fprintf(stderr, "verify_bench: a verification failed\n");
			return 1;
		}
	}
	report(bench_median(raw, (size_t)rounds), bench_median(tok, (size_t)rounds),
	       bench_median(parse, (size_t)rounds), n, rounds, f.len);
	jws_free(&f.parsed);
	free(f.token);
	return 0;
}
