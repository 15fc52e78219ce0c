/* value.c - equality, lookup and rendering of Cedar runtime values. */
#include "core/policy/value.h"
#include "core/policy/ext.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool pol_str_eq(const pol_str_t *a, const pol_str_t *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

int pol_str_cmp(const pol_str_t *a, const pol_str_t *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->p, b->p, n) : 0;
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

bool pol_euid_eq(const pol_euid_t *a, const pol_euid_t *b)
{
	return pol_str_eq(&a->id, &b->id) && pol_str_eq(&a->type, &b->type);
}

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

uint64_t pol_euid_hash(const pol_euid_t *u)
{
	uint64_t h = fnv(14695981039346656037ull, u->type.p, u->type.len);
	h = (h ^ 0x100) * 1099511628211ull; /* not a byte: separates type from id */
	h = fnv(h, u->id.p, u->id.len);
	return h ^ (h >> 29);
}

bool pol_set_contains(const pol_value_t *set, const pol_value_t *v)
{
	for (uint32_t i = 0; i < set->n; i++)
		if (pol_value_eq(&set->u.items[i], v))
			return true;
	return false;
}

/* ---- sets -------------------------------------------------------------------- */

/* Small sets compare pairwise; past this many element pairs, the larger
 * side is indexed by a hash consistent with ==, so that set operations on
 * big sets stay O(n log n) instead of quadratic. */
#define PAIRWISE_LIMIT 4096

static uint64_t mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h;
}

static uint64_t hash_span(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

/* Equal values hash equal. Every set hashes alike (duplicates and order do
 * not change a set, and hashing that exactly would need a sort); records,
 * entities and scalars hash their contents. */
static uint64_t value_hash(const pol_value_t *v)
{
	uint64_t h = mix(14695981039346656037ull, v->kind);
	switch (v->kind) {
	case PV_BOOL:
		return mix(h, v->u.b);
	case PV_LONG:
	case PV_DECIMAL:
	case PV_DATETIME:
	case PV_DURATION:
		return mix(h, (uint64_t)v->u.l);
	case PV_STRING:
		return hash_span(h, v->u.s.p, v->u.s.len);
	case PV_ENTITY:
		return hash_span(mix(hash_span(h, v->u.e.type.p, v->u.e.type.len), 0xff), v->u.e.id.p,
				 v->u.e.id.len);
	case PV_RECORD:
		for (uint32_t i = 0; i < v->n; i++)
			h = mix(hash_span(h, v->u.rec.keys[i].p, v->u.rec.keys[i].len),
				value_hash(&v->u.rec.vals[i]));
		return h;
	case PV_IP:
		return hash_span(mix(h, (uint64_t)v->u.ip.v6 << 8 | v->u.ip.prefix), v->u.ip.addr,
				 v->u.ip.v6 ? 16 : 4);
	}
	return h;
}

typedef struct {
	uint64_t hash;
	const pol_value_t *v;
} hashed_t;

static int cmp_hashed(const void *a, const void *b)
{
	uint64_t x = ((const hashed_t *)a)->hash, y = ((const hashed_t *)b)->hash;
	return x < y ? -1 : x > y;
}

/* set's elements sorted by hash (malloc'd), or NULL. */
static hashed_t *hash_index(const pol_value_t *set)
{
	hashed_t *ix = malloc((set->n ? set->n : 1) * sizeof *ix);
	if (ix == NULL)
		return NULL;
	for (uint32_t i = 0; i < set->n; i++)
		ix[i] = (hashed_t){value_hash(&set->u.items[i]), &set->u.items[i]};
	qsort(ix, set->n, sizeof *ix, cmp_hashed);
	return ix;
}

static bool index_has(const hashed_t *ix, size_t n, const pol_value_t *v)
{
	uint64_t h = value_hash(v);
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ix[mid].hash < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && ix[lo].hash == h; lo++)
		if (pol_value_eq(ix[lo].v, v))
			return true;
	return false;
}

/* How many elements of a are in b, stopping at the first hit (any) or the
 * first miss (all). */
static bool members(const pol_value_t *a, const pol_value_t *b, bool any)
{
	hashed_t *ix = (uint64_t)a->n * b->n > PAIRWISE_LIMIT ? hash_index(b) : NULL;
	bool result = !any;
	for (uint32_t i = 0; i < a->n; i++) {
		bool in = ix ? index_has(ix, b->n, &a->u.items[i]) : pol_set_contains(b, &a->u.items[i]);
		if (in == any) {
			result = any;
			break;
		}
	}
	free(ix);
	return result;
}

bool pol_set_contains_all(const pol_value_t *set, const pol_value_t *other)
{
	return members(other, set, false);
}

bool pol_set_contains_any(const pol_value_t *set, const pol_value_t *other)
{
	return members(other, set, true);
}

static bool set_subset(const pol_value_t *a, const pol_value_t *b)
{
	return members(a, b, false);
}

static bool record_eq(const pol_value_t *a, const pol_value_t *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (!pol_str_eq(&a->u.rec.keys[i], &b->u.rec.keys[i]) ||
		    !pol_value_eq(&a->u.rec.vals[i], &b->u.rec.vals[i]))
			return false;
	return true;
}

bool pol_value_eq(const pol_value_t *a, const pol_value_t *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case PV_BOOL:
		return a->u.b == b->u.b;
	case PV_LONG:
	case PV_DECIMAL:
	case PV_DATETIME:
	case PV_DURATION:
		return a->u.l == b->u.l;
	case PV_STRING:
		return pol_str_eq(&a->u.s, &b->u.s);
	case PV_ENTITY:
		return pol_euid_eq(&a->u.e, &b->u.e);
	case PV_SET:
		return set_subset(a, b) && set_subset(b, a);
	case PV_RECORD:
		return record_eq(a, b);
	case PV_IP:
		return pol_ip_eq(&a->u.ip, &b->u.ip);
	}
	return false;
}

const pol_value_t *pol_record_get(const pol_value_t *rec, const char *key, size_t len)
{
	pol_str_t k = {key, len};
	size_t lo = 0, hi = rec->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = pol_str_cmp(&rec->u.rec.keys[mid], &k);
		if (c == 0)
			return &rec->u.rec.vals[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Insertion sort: records are small, and it keeps keys and values paired
 * without a temporary array. */
int pol_record_sort(pol_str_t *keys, pol_value_t *vals, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		pol_str_t k = keys[i];
		pol_value_t v = vals[i];
		size_t j = i;
		while (j > 0 && pol_str_cmp(&keys[j - 1], &k) > 0) {
			keys[j] = keys[j - 1];
			vals[j] = vals[j - 1];
			j--;
		}
		keys[j] = k;
		vals[j] = v;
	}
	for (size_t i = 1; i < n; i++)
		if (pol_str_eq(&keys[i - 1], &keys[i]))
			return -1;
	return 0;
}

const char *pol_kind_name(int kind)
{
	static const char *const names[] = {"bool", "long", "string", "entity", "set",
					    "record", "ipaddr", "decimal", "datetime", "duration"};
	return kind >= 0 && kind <= PV_DURATION ? names[kind] : "unknown";
}

/* A bounded writer: keeps counting what it would need past the end. */
typedef struct {
	char *buf;
	size_t size, len;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void puts_(out_t *o, const char *s) { put(o, s, strlen(s)); }

static void put_quoted(out_t *o, const pol_str_t *s)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->p[i];
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\', esc[1] = (char)c;
			put(o, esc, 2);
		} else if (c < 0x20 || c == 0x7f) {
			int n = snprintf(esc, sizeof esc, "\\u{%x}", c);
			put(o, esc, (size_t)n);
		} else {
			put(o, (const char *)&s->p[i], 1);
		}
	}
	put(o, "\"", 1);
}

static void render(out_t *o, const pol_value_t *v, int depth);

static void render_ext(out_t *o, const char *fn, const char *text)
{
	puts_(o, fn);
	puts_(o, "(\"");
	puts_(o, text);
	puts_(o, "\")");
}

static void render_compound(out_t *o, const pol_value_t *v, int depth)
{
	bool set = v->kind == PV_SET;
	put(o, set ? "[" : "{", 1);
	for (uint32_t i = 0; i < v->n; i++) {
		if (i)
			put(o, ", ", 2);
		if (set) {
			render(o, &v->u.items[i], depth + 1);
		} else {
			put_quoted(o, &v->u.rec.keys[i]);
			put(o, ": ", 2);
			render(o, &v->u.rec.vals[i], depth + 1);
		}
	}
	put(o, set ? "]" : "}", 1);
}

static void render(out_t *o, const pol_value_t *v, int depth)
{
	char tmp[96];
	if (depth > 64) {
		puts_(o, "...");
		return;
	}
	switch (v->kind) {
	case PV_BOOL:
		puts_(o, v->u.b ? "true" : "false");
		return;
	case PV_LONG:
		snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.l);
		puts_(o, tmp);
		return;
	case PV_STRING:
		put_quoted(o, &v->u.s);
		return;
	case PV_ENTITY:
		put(o, v->u.e.type.p, v->u.e.type.len);
		put(o, "::", 2);
		put_quoted(o, &v->u.e.id);
		return;
	case PV_SET:
	case PV_RECORD:
		render_compound(o, v, depth);
		return;
	case PV_IP:
		pol_ip_render(&v->u.ip, tmp, sizeof tmp);
		render_ext(o, "ip", tmp);
		return;
	case PV_DECIMAL:
		pol_decimal_render(v->u.l, tmp, sizeof tmp);
		render_ext(o, "decimal", tmp);
		return;
	case PV_DATETIME:
		pol_datetime_render(v->u.l, tmp, sizeof tmp);
		render_ext(o, "datetime", tmp);
		return;
	case PV_DURATION:
		pol_duration_render(v->u.l, tmp, sizeof tmp);
		render_ext(o, "duration", tmp);
		return;
	}
}

size_t pol_value_render(const pol_value_t *v, char *buf, size_t size)
{
	out_t o = {buf, size, 0};
	render(&o, v, 0);
	if (size > 0)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len;
}
