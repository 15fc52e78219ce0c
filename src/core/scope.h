/* scope.h - the scope algebra of docs/architecture.md (Scope). A scope string is a
 * space-separated list of scope tokens ACTION@Type:id; every token names a
 * resource (there is no wildcard). Parsing is strict and bounded. */
#ifndef TG_SCOPE_H
#define TG_SCOPE_H
#include "core/limits.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct {
	size_t n;
	char *tok[TG_MAX_SCOPE_TOKENS]; /* point into buf */
	char *buf;
} scope_set_t;

/* True when tok is a well-formed ACTION@Type:id token. */
bool scope_token_valid(const char *tok, size_t len);
/* Splits and validates; duplicates are dropped, order kept. An empty scope
 * is an error: access is always requested for something named. */
int scope_parse(const char *s, scope_set_t *out, const char **why) __attribute__((warn_unused_result));
void scope_free(scope_set_t *s);
/* malloc'd space-joined string of the set. */
char *scope_join(const scope_set_t *s);
bool scope_contains(const scope_set_t *s, const char *tok);

#endif
