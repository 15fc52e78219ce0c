/* coverage.h - does a scope token cover a request? (docs/architecture.md,
 * Scope): a scope token ACTION@Type:id covers action A on resource R when
 * A is Action::"ACTION" or a member of that action group, and R is
 * Type::"id" or a descendant of it, in the entity hierarchy. The one
 * implementation behind /v1/authorize's token check and issuance under a
 * JIT grant (and, with the edge, enforcement). */
#ifndef TG_POL_COVERAGE_H
#define TG_POL_COVERAGE_H
#include "core/policy/entities.h"
#include <stdbool.h>

/* tok: a well-formed scope token (scope_parse). */
bool pol_scope_token_covers(const pol_entities_t *es, const char *tok, const pol_euid_t *action,
			    const pol_euid_t *resource);
/* Both are scope tokens: is every request that req covers also covered by
 * grant? (req's action and resource are covered by grant.) */
bool pol_scope_token_within(const pol_entities_t *es, const char *grant, const char *req);

#endif
