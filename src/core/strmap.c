/* strmap.c - open-addressing string map (strmap.h). Deleted slots become
 * tombstones; the table doubles when live entries and tombstones fill
 * half of it, and is rebuilt at the same size when tombstones dominate. */
#include "core/strmap.h"
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *key; /* NULL empty; TOMB deleted */
	uint64_t hash;
	void *value;
} slot_t;

struct strmap {
	slot_t *slot;
	size_t cap, live, used; /* used = live + tombstones */
	strmap_free_fn free_value;
	uint8_t seed[crypto_shorthash_KEYBYTES];
};

static char tomb_marker;
#define TOMB (&tomb_marker)

static uint64_t hash_of(const strmap_t *m, const char *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t out;
	crypto_shorthash(h, (const uint8_t *)key, strlen(key), m->seed);
	memcpy(&out, h, sizeof out);
	return out;
}

strmap_t *strmap_new(strmap_free_fn free_value)
{
	strmap_t *m = calloc(1, sizeof *m);
	if (m == NULL)
		return NULL;
	m->cap = 16;
	m->slot = calloc(m->cap, sizeof *m->slot);
	if (m->slot == NULL) {
		free(m);
		return NULL;
	}
	m->free_value = free_value;
	randombytes_buf(m->seed, sizeof m->seed);
	return m;
}

static void release(strmap_t *m, slot_t *s)
{
	free(s->key);
	if (m->free_value != NULL)
		m->free_value(s->value);
}

void strmap_free(strmap_t *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->cap; i++)
		if (m->slot[i].key != NULL && m->slot[i].key != TOMB)
			release(m, &m->slot[i]);
	free(m->slot);
	free(m);
}

/* The slot holding key, or NULL. */
static slot_t *find(const strmap_t *m, const char *key, uint64_t h)
{
	for (size_t i = h & (m->cap - 1), n = 0; n < m->cap; i = (i + 1) & (m->cap - 1), n++) {
		slot_t *s = &m->slot[i];
		if (s->key == NULL)
			return NULL;
		if (s->key != TOMB && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

void *strmap_get(const strmap_t *m, const char *key)
{
	slot_t *s = find(m, key, hash_of(m, key));
	return s != NULL ? s->value : NULL;
}

static int rebuild(strmap_t *m, size_t cap)
{
	slot_t *old = m->slot, *fresh = calloc(cap, sizeof *fresh);
	size_t old_cap = m->cap;
	if (fresh == NULL)
		return -1;
	for (size_t i = 0; i < old_cap; i++) {
		if (old[i].key == NULL || old[i].key == TOMB)
			continue;
		size_t j = old[i].hash & (cap - 1);
		while (fresh[j].key != NULL)
			j = (j + 1) & (cap - 1);
		fresh[j] = old[i];
	}
	free(old);
	m->slot = fresh;
	m->cap = cap;
	m->used = m->live;
	return 0;
}

int strmap_put(strmap_t *m, const char *key, void *value)
{
	uint64_t h = hash_of(m, key);
	slot_t *s = find(m, key, h);
	if (s != NULL) {
		if (m->free_value != NULL && s->value != value)
			m->free_value(s->value);
		s->value = value;
		return 0;
	}
	if (2 * (m->used + 1) > m->cap && rebuild(m, 2 * (m->live + 1) > m->cap / 2 ? 2 * m->cap : m->cap) != 0)
		goto fail;
	char *k = strdup(key);
	if (k == NULL)
		goto fail;
	size_t i = h & (m->cap - 1);
	while (m->slot[i].key != NULL && m->slot[i].key != TOMB)
		i = (i + 1) & (m->cap - 1);
	if (m->slot[i].key == NULL)
		m->used++;
	m->slot[i] = (slot_t){k, h, value};
	m->live++;
	return 0;
fail:
	if (m->free_value != NULL)
		m->free_value(value);
	return -1;
}

bool strmap_del(strmap_t *m, const char *key)
{
	slot_t *s = find(m, key, hash_of(m, key));
	if (s == NULL)
		return false;
	release(m, s);
	s->key = TOMB;
	s->value = NULL;
	m->live--;
	return true;
}

size_t strmap_count(const strmap_t *m)
{
	return m->live;
}

void strmap_sweep(strmap_t *m, bool (*fn)(const char *key, void *value, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->cap; i++) {
		slot_t *s = &m->slot[i];
		if (s->key == NULL || s->key == TOMB || !fn(s->key, s->value, ctx))
			continue;
		release(m, s);
		s->key = TOMB;
		s->value = NULL;
		m->live--;
	}
}
