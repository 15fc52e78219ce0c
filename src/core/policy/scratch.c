/* scratch.c - chunked bump allocator and candidate stamps for decisions. */
#include "core/policy/scratch.h"
#include "core/limits.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
	struct chunk *next;
	size_t cap, used;
	_Alignas(16) unsigned char data[];
} chunk_t;

struct pol_scratch {
	chunk_t *first, *cur;
	size_t total;     /* bytes in all chunks */
	uint32_t *stamp;  /* per policy: the epoch it was last visited in */
	size_t nstamp;
	uint32_t epoch;
};

pol_scratch_t *pol_scratch_new(void) { return calloc(1, sizeof(pol_scratch_t)); }

void pol_scratch_free(pol_scratch_t *s)
{
	if (s == NULL)
		return;
	for (chunk_t *c = s->first, *n; c != NULL; c = n) {
		n = c->next;
		free(c);
	}
	free(s->stamp);
	free(s);
}

void pol_scratch_reset(pol_scratch_t *s)
{
	for (chunk_t *c = s->first; c != NULL; c = c->next)
		c->used = 0;
	s->cur = s->first;
}

static chunk_t *chunk_new(pol_scratch_t *s, size_t need)
{
	size_t cap = 64 * 1024;
	while (cap < need)
		cap *= 2;
	if (s->total + cap > TG_MAX_EVAL_SCRATCH)
		return NULL;
	chunk_t *c = malloc(sizeof *c + cap);
	if (c == NULL)
		return NULL;
	c->next = NULL;
	c->cap = cap;
	c->used = 0;
	s->total += cap;
	return c;
}

void *pol_scratch_alloc(pol_scratch_t *s, size_t n)
{
	if (n == 0 || n > TG_MAX_EVAL_SCRATCH)
		n = n ? TG_MAX_EVAL_SCRATCH + 1 : 16; /* too big: chunk_new refuses */
	n = (n + 15) & ~(size_t)15;
	chunk_t *c = s->cur;
	while (c != NULL && c->cap - c->used < n)
		c = c->next; /* a later chunk kept from an earlier decision */
	if (c == NULL) {
		c = chunk_new(s, n);
		if (c == NULL)
			return NULL;
		chunk_t **tail = &s->first;
		while (*tail != NULL)
			tail = &(*tail)->next;
		*tail = c;
	}
	s->cur = c;
	void *p = c->data + c->used;
	c->used += n;
	return p;
}

const char *pol_scratch_printf(pol_scratch_t *s, const char *fmt, ...)
{
	char *buf = pol_scratch_alloc(s, 256);
	if (buf == NULL)
		return "error (no memory for the message)";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, 256, fmt, ap);
	va_end(ap);
	return buf;
}

int pol_scratch_stamps_ready(pol_scratch_t *s, size_t npolicies)
{
	if (npolicies > s->nstamp) {
		uint32_t *st = calloc(npolicies, sizeof *st);
		if (st == NULL)
			return -1;
		free(s->stamp);
		s->stamp = st;
		s->nstamp = npolicies;
		s->epoch = 0;
	}
	if (++s->epoch == 0) {
		memset(s->stamp, 0, s->nstamp * sizeof *s->stamp);
		s->epoch = 1;
	}
	return 0;
}

bool pol_scratch_first_visit(pol_scratch_t *s, uint32_t i)
{
	if (s->stamp[i] == s->epoch)
		return false;
	s->stamp[i] = s->epoch;
	return true;
}
