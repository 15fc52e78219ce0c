/* lint.h - the static checks of a Cedar policy set: the one implementation
 * behind `tollgate policy check`, the "warnings" of PUT /v1/policies and
 * (with the edge) any other place that accepts policies. Pure: a parsed set
 * (or Cedar text) in, a list of findings out.
 *
 * Errors (the set cannot be used; only pol_lint_text finds them):
 *   parse               the text does not parse (the first problem)
 *   annotation          an obligation annotation is malformed (@max_ttl,
 *                       @requires_grant, @requires_mfa, @audit) or the
 *                       engine could not be built
 * Warnings (the set works, but probably not as meant):
 *   unknown-entity-type an entity type Tollgate does not know (its types:
 *                       Workload, Operator, Role, Device, Zone, Api,
 *                       Secret, Action), usually a typo
 *   never-true          a condition that can never let the policy apply
 *                       (`when { false }`, `unless { true }`, a condition
 *                       that is not a boolean)
 *   empty-action-set    `action in []`: the policy matches no action
 *   unconstrained-resource  a permit without a resource constraint
 *   shadowed            a permit whose scope lies inside the scope of a
 *                       forbid without conditions (that forbid always wins)
 * Notes (about the check itself):
 *   shadow-check-skipped  too many (permit, unconditional forbid) pairs
 *                       (more than POL_LINT_MAX_PAIRS): the shadowed check
 *                       was not run
 *
 * The checks read the text only, never entity data, so "never applies"
 * means never, whatever the entities. Cost: linear in the size of the set,
 * plus the shadowed check, O(unconditional forbids x permits), bounded by
 * POL_LINT_MAX_PAIRS comparisons of three scopes. */
#ifndef TG_POL_LINT_H
#define TG_POL_LINT_H
#include "core/policy/policy.h"
#include <stddef.h>
#include <stdint.h>

#define POL_LINT_MAX_PAIRS 100000000u
/* A finding's message is at most this many bytes (whole UTF-8 characters). */
#define POL_LINT_MAX_MESSAGE 511

typedef enum { POL_LINT_NOTE, POL_LINT_WARNING, POL_LINT_ERROR } pol_lint_severity_t;

typedef struct {
	pol_lint_severity_t severity;
	const char *code;      /* one of the codes above (static) */
	char *policy;          /* the policy's id; NULL for a finding about the whole set */
	uint32_t line, column; /* 1-based; 0 for a finding without a place (notes) */
	char *message;         /* a sentence without the position or the policy id */
} pol_finding_t;

/* Findings in source order (line, then column, then the order found);
 * those without a place first. */
typedef struct {
	pol_finding_t *item;
	size_t n, cap;
	size_t errors, warnings, notes;
} pol_findings_t;

/* Lints a parsed set into *out (which it initialises). Never errors.
 * -1 only when memory ran out (*out is then empty). */
int pol_lint_set(const pol_set_t *set, pol_findings_t *out) __attribute__((warn_unused_result));
/* Parses text, builds the engine (which checks the obligation annotations)
 * and, when both succeed, lints the set. A text that does not parse or
 * compile gives exactly one error finding and no warnings. *npolicies (when
 * not NULL) is the number of policies, 0 on an error. -1 only when memory
 * ran out. */
int pol_lint_text(const char *text, size_t len, pol_findings_t *out, size_t *npolicies)
	__attribute__((warn_unused_result));
void pol_findings_free(pol_findings_t *f);

/* "note", "warning" or "error". */
const char *pol_lint_severity_name(pol_lint_severity_t s);
/* The message of a parser or engine error without its "line L, column C: "
 * prefix (the position is in err's line and column). */
const char *pol_error_text(const pol_error_t *err);

#endif
