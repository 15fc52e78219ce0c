/* suggest.c - the nearest command to a mistyped one: a capped optimal
 * string alignment distance over at most TG_SUGGEST_MAX_WORD bytes, and
 * the rules for when a candidate is near enough to suggest. */
#include "core/suggest.h"
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

size_t suggest_distance(const char *a, const char *b, size_t cap)
{
	size_t n = strlen(a), m = strlen(b);
	/* Three rows of the dynamic programme: two back (for swaps), one back, this one. */
	size_t r0[TG_SUGGEST_MAX_WORD + 1], r1[TG_SUGGEST_MAX_WORD + 1], r2[TG_SUGGEST_MAX_WORD + 1];
	size_t *pp = r0, *prev = r1, *cur = r2;
	if (n > TG_SUGGEST_MAX_WORD || m > TG_SUGGEST_MAX_WORD || (n > m ? n - m : m - n) > cap)
		return cap + 1;
	for (size_t j = 0; j <= m; j++)
		prev[j] = j;
	for (size_t i = 1; i <= n; i++) {
		size_t row_min;
		cur[0] = row_min = i;
		for (size_t j = 1; j <= m; j++) {
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t d = min3(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			cur[j] = d;
			if (d < row_min)
				row_min = d;
		}
		if (row_min > cap)
			return cap + 1;
		size_t *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[m] > cap ? cap + 1 : prev[m];
}

/* The only candidate that word (3 characters or more) is a prefix of. */
static const char *unique_prefix(const char *word, const char *const *candidates)
{
	size_t n = strlen(word);
	const char *found = NULL;
	if (n < 3)
		return NULL;
	for (const char *const *c = candidates; *c != NULL; c++) {
		if (strncmp(*c, word, n) == 0) {
			if (found != NULL)
				return NULL;
			found = *c;
		}
	}
	return found;
}

const char *suggest_nearest(const char *word, const char *const *candidates)
{
	const char *best = NULL;
	size_t best_d = 3;
	for (const char *const *c = candidates; *c != NULL; c++) {
		size_t d = suggest_distance(word, *c, 2);
		if (d < best_d && d + 1 < strlen(*c)) {
			best = *c;
			best_d = d;
		}
	}
	return best != NULL ? best : unique_prefix(word, candidates);
}
