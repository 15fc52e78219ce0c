/* conn_limit.c - per-address connection counting and admission: see
 * conn_limit.h. A chained hash table of the addresses with open
 * connections; an entry goes when its count drops to zero. */
#include "core/conn_limit.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS 1024 /* power of two */

typedef struct entry {
	conn_addr_t addr;
	unsigned count;
	struct entry *next;
} entry_t;

struct conn_limit {
	unsigned max, per_addr, reserve;
	unsigned total, addresses;
	entry_t *bucket[BUCKETS];
};

static size_t hash(const conn_addr_t *a)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < a->len && i < sizeof a->b; i++)
		h = (h ^ a->b[i]) * 16777619u;
	return h & (BUCKETS - 1);
}

static bool same(const conn_addr_t *x, const conn_addr_t *y)
{
	return x->len == y->len && x->len <= sizeof x->b && memcmp(x->b, y->b, x->len) == 0;
}

static entry_t **find(const conn_limit_t *l, const conn_addr_t *a)
{
	entry_t **p = (entry_t **)&l->bucket[hash(a)];
	while (*p != NULL && !same(&(*p)->addr, a))
		p = &(*p)->next;
	return p;
}

conn_limit_t *conn_limit_new(unsigned max, unsigned per_addr)
{
	conn_limit_t *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->max = max;
	l->per_addr = per_addr;
	l->reserve = max / 10;
	return l;
}

void conn_limit_free(conn_limit_t *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < BUCKETS; i++)
		for (entry_t *e = l->bucket[i], *next; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(l);
}

unsigned conn_limit_of(const conn_limit_t *l, const conn_addr_t *a)
{
	const entry_t *e = *find(l, a);
	return e ? e->count : 0;
}

conn_verdict_t conn_limit_check(const conn_limit_t *l, const conn_addr_t *a)
{
	unsigned held = conn_limit_of(l, a);
	if (l->total >= l->max)
		return CONN_REFUSE_FULL;
	if (l->per_addr != 0 && held >= l->per_addr)
		return CONN_REFUSE_ADDR;
	if (l->total >= l->max - l->reserve) {
		unsigned share = (l->max - l->reserve) / (l->addresses ? l->addresses : 1);
		if (held >= (share ? share : 1))
			return CONN_REFUSE_SHARE;
	}
	return CONN_ADMIT;
}

int conn_limit_add(conn_limit_t *l, const conn_addr_t *a)
{
	entry_t **p = find(l, a);
	if (*p == NULL) {
		if ((*p = calloc(1, sizeof **p)) == NULL)
			return -1;
		(*p)->addr = *a;
		l->addresses++;
	}
	(*p)->count++;
	l->total++;
	return 0;
}

void conn_limit_remove(conn_limit_t *l, const conn_addr_t *a)
{
	entry_t **p = find(l, a), *e = *p;
	if (e == NULL)
		return;
	l->total--;
	if (--e->count == 0) {
		*p = e->next;
		free(e);
		l->addresses--;
	}
}

unsigned conn_limit_total(const conn_limit_t *l) { return l->total; }
unsigned conn_limit_addresses(const conn_limit_t *l) { return l->addresses; }

const char *conn_verdict_name(conn_verdict_t v)
{
	switch (v) {
	case CONN_ADMIT:
		return "admitted";
	case CONN_REFUSE_FULL:
		return "connection limit reached";
	case CONN_REFUSE_ADDR:
		return "per-address connection limit reached";
	case CONN_REFUSE_SHARE:
		return "near the connection limit, and the address holds its share";
	}
	return "?";
}
