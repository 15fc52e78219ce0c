/* eval.h - evaluation of one policy's scope and conditions against one
 * request, with Cedar's error rules: a type error, an overflow, a missing
 * attribute or entity makes the policy error (it is then skipped). Used by
 * the engine; exposed for tests. */
#ifndef TG_POL_EVAL_H
#define TG_POL_EVAL_H
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/policy.h"
#include "core/policy/value.h"

typedef struct {
	const pol_entities_t *es; /* may be NULL */
	pol_value_t var[4];       /* principal, action, resource, context (pol_var_t order) */
	pol_scratch_t *s;
	const char *error;        /* set when an evaluation returns -1 */
	const pol_str_t *unknown; /* the request's unknown context attributes */
	size_t nunknown;
	bool undecided;           /* the -1 came from reading one of them */
} pol_eval_t;

void pol_eval_init(pol_eval_t *ev, const pol_entities_t *es, const pol_request_t *req,
		   pol_scratch_t *s);
/* p's when/unless conditions in order, short-circuit: 1 satisfied, 0 not,
 * -1 errored (ev->error says why). The scope is matched before, by
 * scope_match.h. */
int pol_eval_conditions(pol_eval_t *ev, const pol_policy_t *p);
/* One expression; 0 or -1 (ev->error). */
int pol_eval_expr(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out);
/* Cedar `like`: s matches lit[0] * lit[1] * ... * lit[n-1]. */
bool pol_like_match(const pol_str_t *s, const pol_pattern_t *pat);

#endif
