/* index.h - which policies can apply to a request. Each policy is filed
 * under the most selective part of its scope (a principal entity, else a
 * resource entity, else its actions, else an `is` type); a request looks
 * up its principal, action and resource and their ancestors, so a
 * decision touches only the policies that could match plus those with an
 * unconstrained scope. Candidates still get their full scope checked. */
#ifndef TG_POL_INDEX_H
#define TG_POL_INDEX_H
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/policy.h"
#include "core/policy/scope_match.h"
#include <stdint.h>

typedef struct pol_index pol_index_t;

pol_index_t *pol_index_build(const pol_set_t *set);
void pol_index_free(pol_index_t *ix);
/* Calls fn once for each candidate policy of the request whose principal,
 * action and resource are subject[0..2] (needs the scratch's stamps ready
 * for the set's size). */
void pol_index_candidates(const pol_index_t *ix, const pol_entities_t *es,
			  const pol_scope_subject_t subject[3], pol_scratch_t *s,
			  void (*fn)(uint32_t policy, void *arg), void *arg);

#endif
