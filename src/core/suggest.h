/* suggest.h - "did you mean ...?": the candidate nearest to a mistyped
 * word, by edit distance (insertions, deletions, substitutions and swaps of
 * two neighbouring characters each count 1), for the CLI's unknown
 * commands. Pure. */
#ifndef TG_SUGGEST_H
#define TG_SUGGEST_H
#include <stddef.h>

/* The edit distance between a and b (optimal string alignment), capped:
 * returns cap + 1 as soon as it is certainly larger than cap, and for
 * words longer than TG_SUGGEST_MAX_WORD bytes. */
#define TG_SUGGEST_MAX_WORD 64
size_t suggest_distance(const char *a, const char *b, size_t cap);

/* The candidate (NULL-terminated list) nearest to word, or NULL when none
 * is near enough to be what was meant: at most 2 edits, and fewer edits
 * than the candidate has characters beyond one (so "x" does not suggest
 * "ls"); otherwise a candidate that word is a prefix of (at least 3
 * characters, and only one candidate). Ties go to the earlier candidate. */
const char *suggest_nearest(const char *word, const char *const *candidates);

#endif
