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

/* The parts of a token, each on its own (len bytes, not NUL-terminated):
 * ACTION is [A-Za-z0-9._-]+, Type [A-Za-z_][A-Za-z0-9_]*, id one or more
 * of the RFC 6749 scope-token characters but '"' and backslash (0x21-0x7e; ':'
 * and '@' may occur in an id), RESOURCE is Type:id. */
bool scope_action_valid(const char *s, size_t len);
bool scope_type_valid(const char *s, size_t len);
bool scope_id_valid(const char *s, size_t len);
bool scope_resource_valid(const char *s, size_t len);
/* True when tok is a well-formed ACTION@Type:id token (at most
 * TG_MAX_SCOPE_TOKEN_LEN bytes). */
bool scope_token_valid(const char *tok, size_t len);
/* Splits and validates; duplicates are dropped, order kept. An empty scope
 * is an error: access is always requested for something named. */
int scope_parse(const char *s, scope_set_t *out, const char **why) __attribute__((warn_unused_result));
void scope_free(scope_set_t *s);
/* malloc'd space-joined string of the set. */
char *scope_join(const scope_set_t *s);
bool scope_contains(const scope_set_t *s, const char *tok);

#endif
