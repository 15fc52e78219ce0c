/* strmap.h - a hash map from strings to pointers, for sets the edge keeps
 * by id (revoked jtis, identities, grants, seen DPoP proofs). Open
 * addressing with linear probing; keys are copied, values are the
 * caller's and released with the free function given at creation. Keys
 * are hashed with SipHash under a random key (libsodium), so that ids an
 * attacker chooses cannot pile up in one run. Not thread-safe. */
#ifndef TG_STRMAP_H
#define TG_STRMAP_H
#include <stdbool.h>
#include <stddef.h>

typedef struct strmap strmap_t;
typedef void (*strmap_free_fn)(void *value);

strmap_t *strmap_new(strmap_free_fn free_value);
void strmap_free(strmap_t *m);
/* The value under key, or NULL. */
void *strmap_get(const strmap_t *m, const char *key);
/* Sets key to value (taken; an old value is freed). -1 out of memory (value freed). */
int strmap_put(strmap_t *m, const char *key, void *value) __attribute__((warn_unused_result));
/* Removes key; true when it was there. */
bool strmap_del(strmap_t *m, const char *key);
size_t strmap_count(const strmap_t *m);
/* Calls fn for every entry; when fn returns true the entry is removed. */
void strmap_sweep(strmap_t *m, bool (*fn)(const char *key, void *value, void *ctx), void *ctx);

#endif
