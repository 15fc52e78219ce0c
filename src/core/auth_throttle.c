/* auth_throttle.c - the failed-authentication table (auth_throttle.h): an
 * array of entries indexed by an open-addressing hash (linear probing,
 * backward-shift deletion, no tombstones), per-entry counting windows with
 * exponential back-off, and pending tallies that are handed back, never
 * dropped. */
#include "core/auth_throttle.h"
#include <stdlib.h>
#include <string.h>

#define MAX_SHIFT 40 /* block_ms << strikes stops growing long before this */

typedef struct {
	bool used;
	uint64_t hash;
	throttle_tally_t t;     /* the key (src, client) and the pending tally */
	int64_t window_start, window_count;
	int64_t blocked_until;
	int strikes;
	int64_t last_seen, last_fail, last_emit;
} entry_t;

struct throttle {
	throttle_cfg_t cfg;
	entry_t *e;
	size_t used;
	uint32_t *slots;        /* entry index + 1; 0 = empty */
	size_t mask;
};

/* ---- text ---- */

/* Length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
		 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
	if (n == 0 || (n == 2 && s[0] < 0xC2) || (n == 4 && s[0] > 0xF4))
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Copies src into dst (size bytes) as valid UTF-8: invalid bytes become
 * '?', and a character that does not fit ends the copy. */
static void copy_text(char *dst, size_t size, const char *src)
{
	size_t w = 0;
	const unsigned char *s = (const unsigned char *)(src ? src : "");
	while (*s != '\0') {
		size_t n = utf8_len(s);
		if (w + (n ? n : 1) >= size)
			break;
		if (n == 0) {
			dst[w++] = '?';
			s++;
			continue;
		}
		memcpy(dst + w, s, n);
		w += n;
		s += n;
	}
	dst[w] = '\0';
}

/* ---- tallies ---- */

static void tally_add(throttle_tally_t *t, const throttle_attempt_t *a, const char *reason, int64_t now)
{
	char text[THROTTLE_REASON_LEN];
	copy_text(text, sizeof text, reason ? reason : "unknown");
	if (t->count == 0) {
		copy_text(t->method, sizeof t->method, a->method);
		copy_text(t->path, sizeof t->path, a->path);
		t->first_ms = now;
		t->n_reasons = 0;
	}
	t->count++;
	t->last_ms = now;
	for (size_t i = 0; i < t->n_reasons; i++)
		if (strcmp(t->reasons[i].text, text) == 0) {
			t->reasons[i].count++;
			return;
		}
	if (t->n_reasons < THROTTLE_MAX_REASONS) {
		memcpy(t->reasons[t->n_reasons].text, text, sizeof text);
		t->reasons[t->n_reasons++].count = 1;
		return;
	}
	/* Full: the last slot becomes (or already is) the catch-all. */
	copy_text(t->reasons[THROTTLE_MAX_REASONS - 1].text, THROTTLE_REASON_LEN, THROTTLE_REASON_OTHER);
	t->reasons[THROTTLE_MAX_REASONS - 1].count++;
}

/* Hands the entry's pending tally to out and empties it. */
static void tally_take(entry_t *e, throttle_tally_t *out, int64_t now)
{
	*out = e->t;
	e->t.count = 0;
	e->t.n_reasons = 0;
	e->last_emit = now;
}

/* ---- the hash index ---- */

static uint64_t key_hash(const char *src, const char *client)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)src; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	h = (h ^ (client ? 1u : 2u)) * 1099511628211ULL;
	for (const unsigned char *p = (const unsigned char *)(client ? client : ""); *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

static bool key_equal(const entry_t *e, uint64_t h, const char *src, const char *client)
{
	return e->hash == h && e->t.has_client == (client != NULL) && strcmp(e->t.src, src) == 0 &&
	       (client == NULL || strcmp(e->t.client, client) == 0);
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t probe(const throttle_t *t, uint64_t h, const char *src, const char *client)
{
	size_t i = (size_t)h & t->mask;
	while (t->slots[i] != 0 && !key_equal(&t->e[t->slots[i] - 1], h, src, client))
		i = (i + 1) & t->mask;
	return i;
}

static void index_remove(throttle_t *t, size_t i)
{
	size_t j = i;
	for (;;) {
		j = (j + 1) & t->mask;
		if (t->slots[j] == 0)
			break;
		size_t home = (size_t)t->e[t->slots[j] - 1].hash & t->mask;
		/* Move j back to i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!stays) {
			t->slots[i] = t->slots[j];
			i = j;
		}
	}
	t->slots[i] = 0;
}

static void entry_remove(throttle_t *t, entry_t *e)
{
	index_remove(t, probe(t, e->hash, e->t.src, e->t.has_client ? e->t.client : NULL));
	e->used = false;
	t->used--;
}

/* ---- entries ---- */

/* Keys are compared as stored (cut, valid UTF-8). */
typedef struct {
	char src[THROTTLE_SRC_LEN];
	char client[TG_MAX_ID_LEN + 1];
	const char *client_p; /* client or NULL */
} key_t_;

static void key_make(key_t_ *k, const char *src, const char *client)
{
	copy_text(k->src, sizeof k->src, src);
	copy_text(k->client, sizeof k->client, client);
	k->client_p = client ? k->client : NULL;
}

static entry_t *find(throttle_t *t, const key_t_ *k)
{
	size_t i = probe(t, key_hash(k->src, k->client_p), k->src, k->client_p);
	return t->slots[i] ? &t->e[t->slots[i] - 1] : NULL;
}

/* The least recently seen entry but keep; hands its pending tally to out. */
static entry_t *evict(throttle_t *t, const entry_t *keep, throttle_out_t *out, int64_t now)
{
	entry_t *victim = NULL;
	for (size_t i = 0; i < t->cfg.capacity; i++)
		if (&t->e[i] != keep && (victim == NULL || t->e[i].last_seen < victim->last_seen))
			victim = &t->e[i];
	if (victim->t.count > 0)
		tally_take(victim, &out->tally[out->n++], now);
	entry_remove(t, victim);
	return victim;
}

static entry_t *get(throttle_t *t, const key_t_ *k, const entry_t *keep, throttle_out_t *out, int64_t now)
{
	uint64_t h = key_hash(k->src, k->client_p);
	entry_t *e = find(t, k);
	if (e == NULL) {
		if (t->used == t->cfg.capacity) {
			e = evict(t, keep, out, now);
		} else {
			for (e = t->e; e->used; e++)
				;
		}
		memset(e, 0, sizeof *e);
		e->used = true;
		e->hash = h;
		memcpy(e->t.src, k->src, sizeof k->src);
		memcpy(e->t.client, k->client, sizeof k->client);
		e->t.has_client = k->client_p != NULL;
		e->window_start = now;
		t->slots[probe(t, h, k->src, k->client_p)] = (uint32_t)(e - t->e) + 1;
		t->used++;
	}
	e->last_seen = now;
	return e;
}

static bool cooled(const throttle_t *t, const entry_t *e, int64_t now)
{
	return now >= e->blocked_until && now - e->last_fail >= t->cfg.window_ms;
}

static int64_t remaining(const entry_t *e, int64_t now)
{
	return e != NULL && e->blocked_until > now ? e->blocked_until - now : 0;
}

/* Counts a failure in e's window; returns the block it starts, or 0. */
static int64_t count_failure(throttle_t *t, entry_t *e, int64_t limit, int64_t now)
{
	if (now < e->blocked_until)
		return 0;
	if (now - e->window_start >= t->cfg.window_ms) {
		e->window_start = now;
		e->window_count = 0;
	}
	e->last_fail = now;
	if (++e->window_count < limit)
		return 0;
	int shift = e->strikes < MAX_SHIFT ? e->strikes : MAX_SHIFT;
	int64_t len = t->cfg.block_ms;
	while (shift-- > 0 && len < t->cfg.block_max_ms)
		len *= 2;
	if (len > t->cfg.block_max_ms)
		len = t->cfg.block_max_ms;
	e->strikes++;
	e->blocked_until = now + len;
	e->window_start = now;
	e->window_count = 0;
	return len;
}

/* ---- the interface ---- */

throttle_t *throttle_new(const throttle_cfg_t *cfg)
{
	if (cfg->client_limit < 1 || cfg->source_limit < 1 || cfg->window_ms < 1 || cfg->block_ms < 1 ||
	    cfg->block_max_ms < cfg->block_ms || cfg->flush_ms < 1 || cfg->capacity < 2 ||
	    cfg->capacity > (1u << 30))
		return NULL;
	throttle_t *t = calloc(1, sizeof *t);
	size_t n_slots = 1;
	while (n_slots < cfg->capacity * 2)
		n_slots *= 2;
	if (t == NULL || (t->e = calloc(cfg->capacity, sizeof *t->e)) == NULL ||
	    (t->slots = calloc(n_slots, sizeof *t->slots)) == NULL) {
		throttle_free(t);
		return NULL;
	}
	t->cfg = *cfg;
	t->mask = n_slots - 1;
	return t;
}

void throttle_free(throttle_t *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->slots);
	free(t);
}

int64_t throttle_admit(throttle_t *t, const throttle_attempt_t *a, int64_t now)
{
	key_t_ ks, kc;
	key_make(&ks, a->src, NULL);
	entry_t *s = find(t, &ks), *c = NULL;
	if (a->client != NULL) {
		key_make(&kc, a->src, a->client);
		c = find(t, &kc);
	}
	int64_t wait = remaining(s, now) > remaining(c, now) ? remaining(s, now) : remaining(c, now);
	if (wait > 0) {
		entry_t *e = c ? c : s;
		tally_add(&e->t, a, THROTTLE_REASON_THROTTLED, now);
		e->last_seen = now;
	}
	return wait;
}

void throttle_fail(throttle_t *t, const throttle_attempt_t *a, int64_t now, throttle_out_t *out)
{
	key_t_ ks, kc;
	memset(out, 0, sizeof *out);
	key_make(&ks, a->src, NULL);
	entry_t *s = get(t, &ks, NULL, out, now), *c = NULL;
	if (a->client != NULL) {
		key_make(&kc, a->src, a->client);
		c = get(t, &kc, s, out, now);
	}
	if (s->strikes > 0 && cooled(t, s, now))
		s->strikes = 0;
	if (c != NULL && c->strikes > 0 && cooled(t, c, now))
		c->strikes = 0;
	bool hot = s->strikes > 0 || (c != NULL && c->strikes > 0);
	int64_t len = count_failure(t, s, t->cfg.source_limit, now);
	out->blocked_source = len > 0;
	if (c != NULL) {
		int64_t lc = count_failure(t, c, t->cfg.client_limit, now);
		len = lc > len ? lc : len;
	}
	out->blocked_ms = len;
	entry_t *e = c ? c : s;
	if (hot) {
		tally_add(&e->t, a, a->reason, now);
		out->aggregated = true;
		return;
	}
	throttle_tally_one(a, now, &out->tally[out->n++]);
}

void throttle_tally_one(const throttle_attempt_t *a, int64_t now, throttle_tally_t *out)
{
	memset(out, 0, sizeof *out);
	copy_text(out->src, sizeof out->src, a->src);
	copy_text(out->client, sizeof out->client, a->client);
	out->has_client = a->client != NULL;
	tally_add(out, a, a->reason, now);
}

size_t throttle_drain(throttle_t *t, int64_t now, bool all, throttle_tally_t *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < t->cfg.capacity && n < max; i++) {
		entry_t *e = &t->e[i];
		if (!e->used)
			continue;
		if (e->t.count > 0 && (all || now - e->last_emit >= t->cfg.flush_ms))
			tally_take(e, &out[n++], now);
		if (e->t.count == 0 && cooled(t, e, now) && now - e->window_start >= t->cfg.window_ms)
			entry_remove(t, e);
	}
	return n;
}

size_t throttle_entries(const throttle_t *t)
{
	return t->used;
}
