/* value.h - Cedar runtime values (booleans, longs, strings, entity
 * references, sets, records and the ip/decimal/datetime/duration extension
 * types) and the operations every part of the engine shares on them:
 * equality, record lookup, set membership and a readable rendering.
 *
 * Values are plain structs that point into memory someone else owns (a
 * parsed policy set, an entity store, a request's arena, or the evaluator's
 * scratch); nothing here allocates but a temporary index when two big
 * sets are compared. Records keep their keys sorted by bytes
 * and unique, so lookup is a binary search and equality a linear walk. Sets
 * may hold duplicates; equality and membership treat them as sets. */
#ifndef TG_POL_VALUE_H
#define TG_POL_VALUE_H
#include "core/policy/policy.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	PV_BOOL,
	PV_LONG,
	PV_STRING,
	PV_ENTITY,
	PV_SET,
	PV_RECORD,
	PV_IP,
	PV_DECIMAL,  /* u.l = value * 10^4 */
	PV_DATETIME, /* u.l = milliseconds since 1970-01-01T00:00:00Z */
	PV_DURATION, /* u.l = milliseconds */
} pol_kind_v;

/* An IPv4 or IPv6 address with its prefix length (ip("10.0.0.0/8")); a
 * bare address has the full prefix (32 or 128). IPv4 uses addr[0..3]. */
typedef struct {
	uint8_t v6;
	uint8_t prefix;
	uint8_t addr[16];
} pol_ip_t;

typedef struct pol_value pol_value_t;
struct pol_value {
	uint8_t kind;  /* pol_kind_v */
	uint32_t n;    /* PV_SET, PV_RECORD: element count */
	union {
		bool b;
		int64_t l;       /* PV_LONG, PV_DECIMAL, PV_DATETIME, PV_DURATION */
		pol_str_t s;     /* PV_STRING */
		pol_euid_t e;    /* PV_ENTITY */
		const pol_value_t *items; /* PV_SET */
		struct {
			const pol_str_t *keys;    /* sorted (memcmp, then length), unique */
			const pol_value_t *vals;
		} rec;           /* PV_RECORD */
		pol_ip_t ip;     /* PV_IP */
	} u;
};

/* Cedar's == : never an error; values of different kinds are unequal, sets
 * compare as sets, records by keys and values. Depth-bounded by the
 * builders (TG_MAX_VALUE_DEPTH). */
bool pol_value_eq(const pol_value_t *a, const pol_value_t *b);
bool pol_euid_eq(const pol_euid_t *a, const pol_euid_t *b);
/* FNV-1a over type, a separator and id: the one hash of entity references
 * that the entity store and the policy index share, so that a reference
 * hashed once is looked up in both. */
uint64_t pol_euid_hash(const pol_euid_t *u);
bool pol_str_eq(const pol_str_t *a, const pol_str_t *b);
/* Byte order of the key spans, the order record keys are kept in. */
int pol_str_cmp(const pol_str_t *a, const pol_str_t *b);
/* True when set (a PV_SET) has an element equal to v. */
bool pol_set_contains(const pol_value_t *set, const pol_value_t *v);
/* set.containsAll(other), set.containsAny(other) for two PV_SETs; big sets
 * go through a temporary hash index (the one allocation on this path). */
bool pol_set_contains_all(const pol_value_t *set, const pol_value_t *other);
bool pol_set_contains_any(const pol_value_t *set, const pol_value_t *other);
/* The value of key in a PV_RECORD, or NULL. */
const pol_value_t *pol_record_get(const pol_value_t *rec, const char *key, size_t len);
/* Sorts a record's parallel key/value arrays in place; returns -1 when a
 * key repeats (Cedar refuses duplicate keys in JSON and literals). */
int pol_record_sort(pol_str_t *keys, pol_value_t *vals, size_t n);
/* Cedar-like rendering for messages ("Device::\"plc-7\"", [1, 2],
 * {"a": true}, ip("10.0.0.1")), truncated to size like snprintf. */
size_t pol_value_render(const pol_value_t *v, char *buf, size_t size);
const char *pol_kind_name(int kind);

static inline pol_value_t pol_bool(bool b) { pol_value_t v = {.kind = PV_BOOL}; v.u.b = b; return v; }
static inline pol_value_t pol_long(int64_t l) { pol_value_t v = {.kind = PV_LONG}; v.u.l = l; return v; }

#endif
