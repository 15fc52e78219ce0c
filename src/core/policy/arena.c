/* arena.c - chunked bump allocator for policy trees. Chunks are at least
 * POL_ARENA_CHUNK bytes and form a singly linked list; an allocation larger
 * than a chunk gets a chunk of its own. Freeing walks the list once. */
#include "core/policy/arena.h"
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define POL_ARENA_CHUNK (64 * 1024)
#define POL_ARENA_ALIGN alignof(max_align_t)

typedef struct chunk {
	struct chunk *next;
	size_t size, used;
	alignas(max_align_t) unsigned char data[];
} chunk_t;

struct pol_arena {
	chunk_t *head;
	size_t bytes;
};

pol_arena_t *pol_arena_new(void)
{
	return calloc(1, sizeof(pol_arena_t));
}

static chunk_t *chunk_new(pol_arena_t *a, size_t want)
{
	size_t size = want > POL_ARENA_CHUNK ? want : POL_ARENA_CHUNK;
	chunk_t *c = malloc(sizeof *c + size);
	if (c == NULL)
		return NULL;
	c->size = size;
	c->used = 0;
	c->next = a->head;
	a->head = c;
	a->bytes += sizeof *c + size;
	return c;
}

void *pol_arena_alloc(pol_arena_t *a, size_t n)
{
	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + POL_ARENA_ALIGN - 1) & ~(size_t)(POL_ARENA_ALIGN - 1);
	if (n == 0)
		n = POL_ARENA_ALIGN;
	chunk_t *c = a->head;
	if (c == NULL || c->size - c->used < n) {
		c = chunk_new(a, n);
		if (c == NULL)
			return NULL;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *pol_arena_strndup(pol_arena_t *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = pol_arena_alloc(a, n + 1);
	if (p == NULL)
		return NULL;
	if (n > 0)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t pol_arena_used(const pol_arena_t *a)
{
	return a->bytes;
}

void pol_arena_free(pol_arena_t *a)
{
	if (a == NULL)
		return;
	chunk_t *c = a->head;
	while (c != NULL) {
		chunk_t *next = c->next;
		free(c);
		c = next;
	}
	free(a);
}
