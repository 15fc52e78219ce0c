/* edge_cache_bench.c - cached token checks per second per core: what the
 * edge does for a token it has verified before (src/edge/edge_auth.c,
 * decide_token), one thread: under the state's read lock, edge_cache_get
 * of the presented token by its exact bytes, then the revocation lookups
 * (jti, identity, grant) in the synced state, and edge_cached_release.
 * Once with one hot token, once with 1,000 distinct tokens round-robin.
 * In the same run, for comparison, the uncached paths: raw libsodium
 * crypto_sign_verify_detached on the token's signing input, and
 * tok_verify. The state holds revocations as an edge in service would
 * (10,000 revoked jtis, 1,000 suspended identities, 1,000 grants), none of
 * them the tokens checked. Each loop is timed by the thread's CPU time
 * (checks per second of a core); rounds alternate the loops; each figure
 * is the median over rounds. Prints a Markdown table on stdout.
 * Usage: edge_cache_bench [-n ITERATIONS] [-r ROUNDS] */
#include "bench_util.h"
#include "core/access_token.h"
#include "core/jws.h"
#include "edge/edge_cache.h"
#include "edge/edge_state.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_CHECKS 1000000.0 /* cached checks/s per core */
#define MAX_ROUNDS 15
#define MIX 1000             /* distinct tokens round-robin */
#define CACHE_ENTRIES 65536  /* the default token_cache */
#define REVOKED_JTIS 10000
#define OTHER_IDS 1000

typedef struct {
	char *token[MIX];
	size_t len[MIX];
	uint8_t pk[ED25519_PK_LEN];
	tok_key_t key;
	tok_verify_opts_t opts;
	jws_t parsed; /* token 0's signing input and signature, for the raw peer */
	edge_state_t *state;
	edge_cache_t *cache;
} fixture_t;

/* Token i as the broker issues it to a workload holding a JIT grant and a
 * DPoP key: about 600 bytes. */
static char *issue(const fixture_t *f, const uint8_t sk[64], int i, int64_t now)
{
	char sub[64], jti[64], grant[TG_GRANT_ID_LEN + 1];
	snprintf(sub, sizeof sub, "svc-orders-%03d", i % 100);
	snprintf(jti, sizeof jti, "q3J8n0xY2mC5vR7t%06d", i);
	snprintf(grant, sizeof grant, "g-Zk3pQ9sLm2Vx8RtBqw%04d", i);
	tok_issue_t t = {.issuer = "http://127.0.0.1:8420", .audience = "tollgate",
			 .sub = sub, .client_id = sub,
			 .scope = "orders.read@Api:orders orders.create@Api:orders orders.refund@Order:ord-42",
			 .jti = jti, .kid = f->key.kid, .iat = now, .exp = now + 3600,
			 .cnf_jkt = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", .grant = grant};
	return tok_issue(&t, sk);
}

/* Revocations in force, none of them the benchmark's tokens; the grants
 * of the benchmark's tokens active. */
static int fill_state(edge_state_t *s, const uint8_t pk[ED25519_PK_LEN], int64_t now)
{
	size_t n = REVOKED_JTIS + OTHER_IDS + 2 * MIX;
	feed_entry_t *e = calloc(n, sizeof *e);
	char why[300];
	json_t *jwks = json_pack("{s:[o]}", "keys", ed_pk_to_jwk(pk, "k-2026-02-Pp81xR"));
	char *jwks_text = json_dumps(jwks, JSON_COMPACT);
	json_decref(jwks);
	if (e == NULL || jwks_text == NULL || edge_state_set_jwks(s, jwks_text, strlen(jwks_text), NULL, why, sizeof why))
		goto fail;
	size_t k = 0;
	for (int i = 0; i < REVOKED_JTIS; i++, k++) {
		e[k] = (feed_entry_t){.kind = FEED_TOKEN, .exp = now + 3600};
		snprintf(e[k].id, sizeof e[k].id, "revoked-jti-%06d", i);
		snprintf(e[k].sub, sizeof e[k].sub, "svc-gone-%d", i % 50);
	}
	for (int i = 0; i < OTHER_IDS; i++, k++) {
		e[k] = (feed_entry_t){.kind = FEED_IDENTITY, .at = now - 60};
		snprintf(e[k].id, sizeof e[k].id, "svc-suspended-%04d", i);
		snprintf(e[k].state, sizeof e[k].state, "suspended");
	}
	for (int i = 0; i < 2 * MIX; i++, k++) {
		e[k] = (feed_entry_t){.kind = FEED_GRANT, .exp = now + 7200, .approvals = 1};
		snprintf(e[k].id, sizeof e[k].id, i < MIX ? "g-Zk3pQ9sLm2Vx8RtBqw%04d" : "g-Other000000000000%05d", i);
		snprintf(e[k].sub, sizeof e[k].sub, "svc-orders-%03d", i % 100);
		snprintf(e[k].state, sizeof e[k].state, "active");
	}
	feed_batch_t b = {.seq = 1, .snapshot = true, .entries = e, .n = k};
	unsigned refetch;
	edge_state_apply(s, &b, now, NULL, &refetch);
	free(e);
	free(jwks_text);
	return 0;
fail:
	free(e);
	free(jwks_text);
	return -1;
}

/* Verifies token i and caches it, as the edge's first sight of it does. */
static int cache_token(fixture_t *f, int i, uint64_t gen)
{
	tok_claims_t c;
	edge_claims_t ec;
	const char *why = NULL;
	if (tok_verify(f->token[i], f->len[i], &f->opts, &c, &why) != 0)
		return -1;
	memset(&ec, 0, sizeof ec);
	snprintf(ec.sub, sizeof ec.sub, "%s", c.sub);
	snprintf(ec.jti, sizeof ec.jti, "%s", c.jti);
	snprintf(ec.grant, sizeof ec.grant, "%s", c.grant ? c.grant : "");
	snprintf(ec.cnf_jkt, sizeof ec.cnf_jkt, "%s", c.cnf_jkt ? c.cnf_jkt : "");
	ec.iat = c.iat;
	ec.exp = c.exp;
	int rc = scope_parse(c.scope, &ec.scope, &why);
	tok_claims_free(&c);
	if (rc != 0)
		return -1;
	edge_cached_t *e = edge_cache_put(f->cache, f->token[i], f->len[i], gen, &ec, f->opts.now);
	edge_cached_release(e);
	return e != NULL ? 0 : -1;
}

static int fixture_make(fixture_t *f)
{
	uint8_t sk[64];
	int64_t now = (int64_t)time(NULL);
	memset(f, 0, sizeof *f);
	crypto_sign_keypair(f->pk, sk);
	memcpy(f->key.pk, f->pk, sizeof f->pk);
	f->key.kid = "k-2026-02-Pp81xR";
	f->opts = (tok_verify_opts_t){.issuer = "http://127.0.0.1:8420",
				      .audience = "tollgate", .now = now, .leeway = 30, .keys = &f->key, .n_keys = 1};
	for (int i = 0; i < MIX; i++) {
		if ((f->token[i] = issue(f, sk, i, now)) == NULL)
			return -1;
		f->len[i] = strlen(f->token[i]);
	}
	sodium_memzero(sk, sizeof sk);
	f->state = edge_state_new();
	f->cache = edge_cache_new(CACHE_ENTRIES);
	if (f->state == NULL || f->cache == NULL || fill_state(f->state, f->pk, now) != 0)
		return -1;
	uint64_t gen = edge_state_keys_generation(f->state);
	for (int i = 0; i < MIX; i++)
		if (cache_token(f, i, gen) != 0)
			return -1;
	return jws_parse(f->token[0], f->len[0], &f->parsed) == JWS_OK ? 0 : -1;
}

static void fixture_free(fixture_t *f)
{
	for (int i = 0; i < MIX; i++)
		free(f->token[i]);
	jws_free(&f->parsed);
	edge_cache_free(f->cache);
	edge_state_free(f->state);
}

/* One cached check as edge_auth.c makes it; false when the token missed
 * the cache or is revoked (neither may happen here). */
static bool check(const fixture_t *f, int i)
{
	bool ok = false;
	edge_state_read(f->state);
	uint64_t gen = edge_state_keys_generation(f->state);
	edge_cached_t *e = edge_cache_get(f->cache, f->token[i], f->len[i], gen);
	if (e != NULL) {
		const edge_claims_t *c = edge_cached_claims(e);
		const edge_identity_t *id = edge_state_identity(f->state, c->sub);
		const edge_grant_t *g = c->grant[0] ? edge_state_grant(f->state, c->grant) : NULL;
		ok = !edge_state_token_revoked(f->state, c->jti) && id == NULL &&
		     (c->grant[0] == '\0' || (g != NULL && strcmp(g->state, "active") == 0));
		edge_cached_release(e);
	}
	edge_state_done(f->state);
	return ok;
}

/* Each loop returns the number of failures, which must be 0. */
static size_t loop_hot(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += !check(f, 0);
	return bad;
}

static size_t loop_mix(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += !check(f, (int)(i % MIX));
	return bad;
}

static size_t loop_raw(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += crypto_sign_verify_detached(f->parsed.sig, (const uint8_t *)f->parsed.signing_input,
						   f->parsed.signing_input_len, f->pk) != 0;
	return bad;
}

static size_t loop_tok(const fixture_t *f, size_t n)
{
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		tok_claims_t c;
		const char *why = NULL;
		if (tok_verify(f->token[0], f->len[0], &f->opts, &c, &why) != 0) {
			bad++;
			continue;
		}
		tok_claims_free(&c);
	}
	return bad;
}

typedef size_t (*loop_fn)(const fixture_t *, size_t);

/* This thread's CPU time: "per core" is per second of a core, whatever
 * else the machine runs (the wall clock is kept to say how much of a core
 * the thread had). */
static uint64_t cpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t total_cpu_ns, total_wall_ns;

/* CPU ns per operation of one loop, or -1 when any operation failed. */
static double time_loop(loop_fn fn, const fixture_t *f, size_t n)
{
	uint64_t w0 = bench_now_ns(), c0 = cpu_now_ns();
	size_t bad = fn(f, n);
	uint64_t c1 = cpu_now_ns(), w1 = bench_now_ns();
	total_cpu_ns += c1 - c0;
	total_wall_ns += w1 - w0;
	return bad ? -1.0 : (double)(c1 - c0) / (double)n;
}

static const struct {
	const char *what;
	loop_fn fn;
	size_t scale; /* iterations are n / scale: verification is slow */
} loops[] = {
	{"cached check, one hot token", loop_hot, 1},
	{"cached check, 1,000 tokens round-robin", loop_mix, 1},
	{"raw `crypto_sign_verify_detached` (uncached peer)", loop_raw, 100},
	{"`tok_verify` (uncached: parse, claims, signature)", loop_tok, 100},
};
#define N_LOOPS (sizeof loops / sizeof loops[0])

static void report(double ns[N_LOOPS], size_t n, int rounds, size_t len)
{
	printf("Token: %zu-byte compact JWT (RFC 9068 at+jwt, EdDSA, with grant and cnf.jkt). A cached check: "
	       "state read lock, `edge_cache_get` by the token's exact bytes (cache of %d entries, 4 ways), "
	       "jti/identity/grant lookups in a state holding %d revoked jtis, %d suspended identities and %d "
	       "grants, `edge_cached_release`. Single thread, timed by its CPU time (it had %.0f %% of a core "
	       "by the wall clock); %d alternating rounds, median round shown.\n\n",
	       len, CACHE_ENTRIES, REVOKED_JTIS, OTHER_IDS, 2 * MIX, 100.0 * (double)total_cpu_ns / (double)total_wall_ns,
	       rounds);
	printf("| operation | ops/s | ns/op | iterations |\n|---|---:|---:|---:|\n");
	for (size_t i = 0; i < N_LOOPS; i++)
		printf("| %s | %.0f | %.0f | %zu × %d |\n", loops[i].what, 1e9 / ns[i], ns[i], n / loops[i].scale,
		       rounds);
	double worst = 1e9 / (ns[0] > ns[1] ? ns[0] : ns[1]);
	printf("\n| bar | measured | result |\n|---|---:|---|\n");
	printf("| cached token checks ≥ %.0f/s per core | %.0f/s | %s |\n", BAR_CHECKS, worst,
	       worst >= BAR_CHECKS ? "PASS" : "MISS");
	printf("| cached check vs `tok_verify` | %.0f× faster | |\n", ns[3] / (ns[0] > ns[1] ? ns[0] : ns[1]));
}

int main(int argc, char **argv)
{
	size_t n = 2000000;
	int rounds = 5, ch;
	double samples[N_LOOPS][MAX_ROUNDS], median[N_LOOPS];
	fixture_t f;
	while ((ch = getopt(argc, argv, "n:r:")) != -1) {
		if (ch == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (ch == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (n < 100 || rounds < 1 || rounds > MAX_ROUNDS || sodium_init() < 0 || fixture_make(&f) != 0) {
		fprintf(stderr, "edge_cache_bench: bad arguments or setup failed\n");
		return 1;
	}
	for (size_t l = 0; l < N_LOOPS; l++) /* warm caches and the branch predictor */
		time_loop(loops[l].fn, &f, n / loops[l].scale / 10 + 1);
	for (int r = 0; r < rounds; r++)
		for (size_t l = 0; l < N_LOOPS; l++)
			if ((samples[l][r] = time_loop(loops[l].fn, &f, n / loops[l].scale)) < 0) {
				fprintf(stderr, "edge_cache_bench: %s failed\n", loops[l].what);
				return 1;
			}
	for (size_t l = 0; l < N_LOOPS; l++)
		median[l] = bench_median(samples[l], (size_t)rounds);
	report(median, n, rounds, f.len[0]);
	fixture_free(&f);
	return 0;
}
