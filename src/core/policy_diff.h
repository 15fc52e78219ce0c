/* policy_diff.h - what changed between two Cedar policy sets, policy by
 * policy id: the ids only in the new set (added), only in the old one
 * (removed), and in both with a different tree (changed). Trees are
 * compared through their canonical rendering (policy/dump.c), so layout
 * and comments do not count as changes; annotations do. Policies without
 * @id are named by position (policy0, policy1, ...), so inserting one
 * renames those after it: give policies an @id to get meaningful diffs.
 * Pure; used by the broker (the policy.changed audit record) and the CLI
 * (`tollgate policy diff`). */
#ifndef TG_POLICY_DIFF_H
#define TG_POLICY_DIFF_H
#include "core/policy/policy.h"
#include <stddef.h>

typedef struct {
	size_t old_i, new_i;
} pol_diff_pair_t;

typedef struct {
	size_t *added;             /* indexes into the new set, in id order */
	size_t nadded;
	size_t *removed;           /* indexes into the old set, in id order */
	size_t nremoved;
	pol_diff_pair_t *changed;  /* in id order */
	size_t nchanged;
} pol_diff_t;

/* Compares old (NULL: the empty set) with new. Cost: O(n log n) in the
 * number of policies plus one rendering of each policy present in both.
 * -1 only when memory ran out. */
int pol_diff(const pol_set_t *old, const pol_set_t *new_, pol_diff_t *out)
	__attribute__((warn_unused_result));
void pol_diff_free(pol_diff_t *d);

/* The canonical rendering of p, malloc'd (NULL when out of memory). */
char *pol_policy_render(const pol_policy_t *p);

/* The byte span [*start, *end) of policy i's source in text (the text set
 * was parsed from): from its first token (an annotation or permit/forbid)
 * to the first token of the next policy, trailing white space and whole
 * trailing comment lines trimmed. */
void pol_policy_span(const char *text, size_t len, const pol_set_t *set, size_t i, size_t *start,
		     size_t *end);

#endif
