/* arena.h - the bump allocator a parsed policy set lives in: many small
 * allocations, one release. Not thread-safe; a set is built by one thread
 * and read-only afterwards. */
#ifndef TG_POL_ARENA_H
#define TG_POL_ARENA_H
#include <stddef.h>

typedef struct pol_arena pol_arena_t;

pol_arena_t *pol_arena_new(void);
/* Zeroed, aligned for any object; NULL when out of memory or when n would
 * overflow. */
void *pol_arena_alloc(pol_arena_t *a, size_t n);
/* Copy of n bytes plus a terminating NUL. */
char *pol_arena_strndup(pol_arena_t *a, const char *s, size_t n);
/* Bytes obtained from malloc so far (for limits and tests). */
size_t pol_arena_used(const pol_arena_t *a);
void pol_arena_free(pol_arena_t *a);

#endif
