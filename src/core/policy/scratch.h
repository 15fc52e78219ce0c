/* scratch.h - the evaluator's per-thread bump memory: values built while
 * deciding one request (set and record literals, messages, the decision's
 * arrays). Reset at the start of every decision; chunks are kept for the
 * next one, so a warm scratch allocates nothing. Bounded by
 * TG_MAX_EVAL_SCRATCH. */
#ifndef TG_POL_SCRATCH_H
#define TG_POL_SCRATCH_H
#include "core/policy/engine.h"
#include <stddef.h>
#include <stdint.h>

void pol_scratch_reset(pol_scratch_t *s);
/* Aligned to 16, not zeroed; NULL when the bound is reached. */
void *pol_scratch_alloc(pol_scratch_t *s, size_t n);
/* A formatted message in the scratch (truncated at 256 bytes). */
const char *pol_scratch_printf(pol_scratch_t *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Per-policy stamps for de-duplicating candidates: returns true the first
 * time policy i is seen in this decision. */
int pol_scratch_stamps_ready(pol_scratch_t *s, size_t npolicies);
bool pol_scratch_first_visit(pol_scratch_t *s, uint32_t i);

#endif
