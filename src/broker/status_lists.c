/* status_lists.c - Token Status List indices for issued tokens, and the
 * two public endpoints that serve the lists (status_lists.h). */
#include "broker/status_lists.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "core/status_list.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A resource server may cache a list for ttl; the list itself expires
 * after two, so that a client refreshing on schedule never holds an
 * expired copy, and one that cannot reach the broker stops trusting its
 * copy soon after. */
#define EXP_TTLS 2

/* Building a full list reads up to TG_STATUS_LIST_SIZE rows (about 0.1 s
 * for a full one), so the signed answers of the lists asked for last are
 * kept and served again while the store's status generation
 * (store_status_generation) has not moved, for at most REUSE_S seconds
 * (so that iat stays fresh, and a broker whose audit is off, which moves
 * no generation, is at most that late). */
#define CACHED_LISTS 8
#define REUSE_S 5

typedef struct {
	int64_t k, generation, iat;
	char *jwt; /* NULL: a free slot */
} cached_t;

static struct {
	pthread_mutex_t mu;
	cached_t e[CACHED_LISTS];
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* A copy of list k's answer built at generation, or NULL. */
static char *cache_get(int64_t k, int64_t generation, int64_t now)
{
	char *jwt = NULL;
	pthread_mutex_lock(&cache.mu);
	for (int i = 0; i < CACHED_LISTS && jwt == NULL; i++) {
		const cached_t *e = &cache.e[i];
		if (e->jwt != NULL && e->k == k && e->generation == generation && now >= e->iat &&
		    now - e->iat < REUSE_S)
			jwt = strdup(e->jwt);
	}
	pthread_mutex_unlock(&cache.mu);
	return jwt;
}

/* Keeps a copy in list k's slot, or in the slot built longest ago. */
static void cache_put(int64_t k, int64_t generation, int64_t iat, const char *jwt)
{
	char *copy = strdup(jwt);
	if (copy == NULL)
		return;
	pthread_mutex_lock(&cache.mu);
	cached_t *slot = &cache.e[0];
	for (int i = 0; i < CACHED_LISTS; i++) {
		cached_t *e = &cache.e[i];
		if (e->jwt != NULL && e->k == k) {
			slot = e;
			break;
		}
		if (e->jwt == NULL || (slot->jwt != NULL && e->iat < slot->iat))
			slot = e;
	}
	if (slot->jwt == NULL || slot->k != k || slot->generation <= generation) {
		free(slot->jwt);
		*slot = (cached_t){k, generation, iat, copy};
		copy = NULL;
	}
	pthread_mutex_unlock(&cache.mu);
	free(copy);
}

int status_lists_open(broker_t *b, char *err, size_t err_len)
{
	int64_t lowest, next;
	if (store_status_span(b->store, &lowest, &next) != STORE_OK) {
		snprintf(err, err_len, "cannot read the token status list indices from the store");
		return -1;
	}
	atomic_store(&b->status_next, next);
	return 0;
}

int status_lists_alloc(broker_t *b, status_entry_t *out)
{
	out->global = atomic_fetch_add(&b->status_next, 1);
	status_ref_t ref = status_ref_of(out->global);
	out->idx = ref.idx;
	return status_list_uri(b->issuer, ref.list, out->uri, sizeof out->uri);
}

typedef struct {
	status_list_t list;
	int64_t first;
} collect_t;

static void mark_invalid(void *ctx, int64_t idx)
{
	collect_t *c = ctx;
	status_list_set(&c->list, (uint64_t)(idx - c->first), STATUS_INVALID);
}

/* The signed Status List Token of list k as it stands at r->now. */
static char *list_token(req_t *r, int64_t k, const char *uri, store_rc *rc)
{
	char agg[TG_MAX_STATUS_LIST_URI + 1];
	collect_t c = {.first = status_list_first(k)};
	char *jwt = NULL;
	*rc = STORE_OK;
	if (status_list_make(&c.list, 1, TG_STATUS_LIST_SIZE) != 0)
		return NULL;
	*rc = store_status_invalid(r->b->store, c.first, TG_STATUS_LIST_SIZE, r->now, mark_invalid, &c);
	if (*rc == STORE_OK) {
		int64_t ttl = r->b->cfg.status_list_ttl;
		http_self_url(r, STATUS_LIST_PATH, agg, sizeof agg);
		status_list_token_t t = {.issuer = r->b->issuer, .uri = uri, .iat = r->now,
					 .exp = r->now + EXP_TTLS * ttl, .ttl = ttl, .aggregation_uri = agg};
		json_t *h = json_pack("{s:s, s:s}", "alg", r->b->cfg.token_alg_name, "typ", STATUS_LIST_TYP);
		json_t *p = status_list_token_claims(&t, &c.list);
		if (h != NULL && p != NULL)
			jwt = signer_sign(r->b->signer, h, p);
		json_decref(h);
		json_decref(p);
	}
	status_list_free(&c.list);
	return jwt;
}

void handle_status_list(req_t *r)
{
	char uri[TG_MAX_STATUS_LIST_URI + 1];
	int64_t k;
	store_rc rc;
	if (status_list_number_parse(r->param, &k) != 0) {
		http_problem(r, 400, NULL, "a status list is named by its number: a non-negative integer "
					   "without leading zeros");
		return;
	}
	if (!status_list_allocated(k, atomic_load(&r->b->status_next)) ||
	    status_list_uri(r->b->issuer, k, uri, sizeof uri) != 0) {
		http_problem(r, 404, NULL, "no such status list: no token was given an index in it");
		return;
	}
	int64_t generation = 0;
	rc = store_status_generation(r->b->store, &generation); /* read before the list: never newer than it */
	char *jwt = rc == STORE_OK ? cache_get(k, generation, r->now) : NULL;
	if (jwt == NULL && rc == STORE_OK && (jwt = list_token(r, k, uri, &rc)) != NULL)
		cache_put(k, generation, r->now, jwt);
	if (jwt == NULL && rc == STORE_ERROR) {
		log_event(LOG_ERROR, "status list read failed", "uri", uri, NULL);
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	if (jwt == NULL) {
		http_problem(r, 500, NULL, "could not build the status list");
		return;
	}
	r->max_age = r->b->cfg.status_list_ttl;
	http_text(r, 200, STATUS_LIST_MEDIA_TYPE, jwt);
}

void handle_status_lists(req_t *r)
{
	char uri[TG_MAX_STATUS_LIST_URI + 1];
	int64_t lowest, next;
	if (store_status_span(r->b->store, &lowest, &next) != STORE_OK) {
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	next = atomic_load(&r->b->status_next); /* includes tokens being issued now */
	json_t *uris = json_array();
	for (int64_t k = status_ref_of(lowest).list; status_list_allocated(k, next); k++)
		if (status_list_uri(r->b->issuer, k, uri, sizeof uri) == 0)
			json_array_append_new(uris, json_string(uri));
	r->max_age = r->b->cfg.status_list_ttl;
	http_json(r, 200, json_pack("{s:o}", "status_lists", uris));
}
