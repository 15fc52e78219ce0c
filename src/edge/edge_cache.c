/* edge_cache.c - the verified-token cache and the DPoP replay set
 * (edge_cache.h). */
#include "edge/edge_cache.h"
#include "core/strmap.h"
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAYS 4

struct edge_cached {
	atomic_int refs;
	uint64_t hash, gen;
	char *token;
	size_t len;
	edge_claims_t claims;
};

typedef struct {
	pthread_mutex_t mu;
	edge_cached_t *way[WAYS];
	unsigned next; /* round-robin victim */
} cache_set_t;

struct edge_cache {
	size_t n_sets;
	cache_set_t *sets;
	uint8_t seed[crypto_shorthash_KEYBYTES];
	atomic_size_t count;
};

edge_cache_t *edge_cache_new(size_t entries)
{
	edge_cache_t *c = calloc(1, sizeof *c);
	size_t sets = 1;
	while (sets * WAYS < entries)
		sets *= 2;
	if (c == NULL || (c->sets = calloc(sets, sizeof *c->sets)) == NULL) {
		free(c);
		return NULL;
	}
	c->n_sets = sets;
	for (size_t i = 0; i < sets; i++)
		pthread_mutex_init(&c->sets[i].mu, NULL);
	randombytes_buf(c->seed, sizeof c->seed);
	return c;
}

void edge_claims_free(edge_claims_t *c)
{
	scope_free(&c->scope);
	memset(&c->scope, 0, sizeof c->scope);
}

void edge_cached_release(edge_cached_t *e)
{
	if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1) {
		edge_claims_free(&e->claims);
		free(e->token);
		free(e);
	}
}

void edge_cache_free(edge_cache_t *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_sets; i++) {
		for (int w = 0; w < WAYS; w++)
			edge_cached_release(c->sets[i].way[w]);
		pthread_mutex_destroy(&c->sets[i].mu);
	}
	free(c->sets);
	free(c);
}

/* The signature (after the last '.') identifies a token; the whole token
 * is compared on a hit. */
static uint64_t token_hash(const edge_cache_t *c, const char *token, size_t len)
{
	const char *sig = memrchr(token, '.', len);
	size_t off = sig != NULL ? (size_t)(sig - token) + 1 : 0;
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t out;
	crypto_shorthash(h, (const uint8_t *)token + off, len - off, c->seed);
	memcpy(&out, h, sizeof out);
	return out;
}

edge_cached_t *edge_cache_get(edge_cache_t *c, const char *token, size_t len, uint64_t gen)
{
	uint64_t h = token_hash(c, token, len);
	cache_set_t *set = &c->sets[h & (c->n_sets - 1)];
	edge_cached_t *found = NULL;
	pthread_mutex_lock(&set->mu);
	for (int w = 0; w < WAYS && found == NULL; w++) {
		edge_cached_t *e = set->way[w];
		if (e != NULL && e->hash == h && e->len == len && e->gen == gen && memcmp(e->token, token, len) == 0) {
			atomic_fetch_add(&e->refs, 1);
			found = e;
		}
	}
	pthread_mutex_unlock(&set->mu);
	return found;
}

edge_cached_t *edge_cache_put(edge_cache_t *c, const char *token, size_t len, uint64_t gen, edge_claims_t *claims,
			      int64_t now)
{
	edge_cached_t *e = calloc(1, sizeof *e);
	if (e == NULL || (e->token = malloc(len)) == NULL) {
		free(e);
		edge_claims_free(claims);
		return NULL;
	}
	memcpy(e->token, token, len);
	e->len = len;
	e->gen = gen;
	e->hash = token_hash(c, token, len);
	e->claims = *claims;
	memset(claims, 0, sizeof *claims);
	atomic_init(&e->refs, 2); /* the cache's and the caller's */
	cache_set_t *set = &c->sets[e->hash & (c->n_sets - 1)];
	pthread_mutex_lock(&set->mu);
	int victim = -1;
	for (int w = 0; w < WAYS && victim < 0; w++) /* a free way, or an expired token's */
		if (set->way[w] == NULL || set->way[w]->claims.exp < now || set->way[w]->gen != gen)
			victim = w;
	if (victim < 0)
		victim = (int)(set->next++ % WAYS);
	edge_cached_t *old = set->way[victim];
	set->way[victim] = e;
	pthread_mutex_unlock(&set->mu);
	if (old == NULL)
		atomic_fetch_add(&c->count, 1);
	edge_cached_release(old);
	return e;
}

const edge_claims_t *edge_cached_claims(const edge_cached_t *e)
{
	return &e->claims;
}

size_t edge_cache_count(edge_cache_t *c)
{
	return atomic_load(&c->count);
}

/* ---- DPoP replay set ---- */

struct edge_replay {
	pthread_mutex_t mu;
	strmap_t *seen; /* "jkt|jti" -> int64_t exp */
	size_t max;
	int64_t swept_at;
};

edge_replay_t *edge_replay_new(size_t max)
{
	edge_replay_t *r = calloc(1, sizeof *r);
	if (r == NULL || (r->seen = strmap_new(free)) == NULL) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->max = max;
	return r;
}

void edge_replay_free(edge_replay_t *r)
{
	if (r == NULL)
		return;
	strmap_free(r->seen);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static bool expired(const char *key, void *value, void *ctx)
{
	(void)key;
	return *(const int64_t *)value < *(const int64_t *)ctx;
}

bool edge_replay_first_use(edge_replay_t *r, const char *jkt, const char *jti, int64_t exp, int64_t now)
{
	char key[JKT_LEN + TG_MAX_JTI_LEN + 2];
	bool first = false;
	snprintf(key, sizeof key, "%s|%s", jkt, jti);
	pthread_mutex_lock(&r->mu);
	if (strmap_count(r->seen) >= r->max || now - r->swept_at >= 10) {
		strmap_sweep(r->seen, expired, &now);
		r->swept_at = now;
	}
	if (strmap_get(r->seen, key) == NULL && strmap_count(r->seen) < r->max) {
		int64_t *v = malloc(sizeof *v);
		if (v != NULL) {
			*v = exp;
			first = strmap_put(r->seen, key, v) == 0;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return first;
}
