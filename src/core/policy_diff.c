/* policy_diff.c - per-id differences between two policy sets, and the
 * source span of each policy (see policy_diff.h). */
#include "core/policy_diff.h"
#include "core/policy/value.h"
#include <stdlib.h>
#include <string.h>

char *pol_policy_render(const pol_policy_t *p)
{
	size_t n = pol_policy_dump(p, NULL, 0);
	char *buf = malloc(n + 1);
	if (buf != NULL)
		pol_policy_dump(p, buf, n + 1);
	return buf;
}

/* qsort has no context argument in C17: the set being sorted, per thread. */
static _Thread_local const pol_set_t *sort_set;

static int by_id(const void *a, const void *b)
{
	const pol_policy_t *pa = &sort_set->policy[*(const size_t *)a];
	const pol_policy_t *pb = &sort_set->policy[*(const size_t *)b];
	return pol_str_cmp(&pa->id, &pb->id);
}

/* Indexes of set's policies ordered by id. */
static size_t *sorted_ids(const pol_set_t *set)
{
	size_t n = set ? set->n : 0;
	size_t *idx = malloc((n ? n : 1) * sizeof *idx);
	if (idx == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	if (n > 1) {
		sort_set = set;
		qsort(idx, n, sizeof *idx, by_id);
	}
	return idx;
}

static int same_tree(const pol_policy_t *a, const pol_policy_t *b)
{
	char *ra = pol_policy_render(a), *rb = pol_policy_render(b);
	int same = ra != NULL && rb != NULL ? strcmp(ra, rb) == 0 : -1;
	free(ra);
	free(rb);
	return same;
}

int pol_diff(const pol_set_t *old, const pol_set_t *new_, pol_diff_t *out)
{
	size_t na = old ? old->n : 0, nb = new_ ? new_->n : 0, i = 0, j = 0;
	size_t *ia = sorted_ids(old), *ib = sorted_ids(new_);
	memset(out, 0, sizeof *out);
	out->added = malloc((nb ? nb : 1) * sizeof *out->added);
	out->removed = malloc((na ? na : 1) * sizeof *out->removed);
	out->changed = malloc(((na < nb ? na : nb) + 1) * sizeof *out->changed);
	if (ia == NULL || ib == NULL || out->added == NULL || out->removed == NULL || out->changed == NULL)
		goto fail;
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1
			: pol_str_cmp(&old->policy[ia[i]].id, &new_->policy[ib[j]].id);
		if (c < 0) {
			out->removed[out->nremoved++] = ia[i++];
		} else if (c > 0) {
			out->added[out->nadded++] = ib[j++];
		} else {
			int same = same_tree(&old->policy[ia[i]], &new_->policy[ib[j]]);
			if (same < 0)
				goto fail;
			if (!same)
				out->changed[out->nchanged++] = (pol_diff_pair_t){ia[i], ib[j]};
			i++;
			j++;
		}
	}
	free(ia);
	free(ib);
	return 0;
fail:
	free(ia);
	free(ib);
	pol_diff_free(out);
	return -1;
}

void pol_diff_free(pol_diff_t *d)
{
	free(d->added);
	free(d->removed);
	free(d->changed);
	memset(d, 0, sizeof *d);
}

/* Byte offset of line:column (1-based; columns count characters, as the
 * lexer does) in text, or len. */
static size_t offset_of(const char *text, size_t len, uint32_t line, uint32_t column)
{
	size_t off = 0;
	uint32_t l = 1, c = 1;
	while (off < len && (l < line || (l == line && c < column))) {
		unsigned char ch = (unsigned char)text[off++];
		if (ch == '\n') {
			l++;
			c = 1;
		} else {
			while (off < len && ((unsigned char)text[off] & 0xc0) == 0x80)
				off++;
			c++;
		}
	}
	return off;
}

/* Drops trailing white space and trailing lines that hold only a // comment
 * (they usually introduce the next policy). */
static size_t trim_end(const char *text, size_t start, size_t end)
{
	for (;;) {
		while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' ||
				       text[end - 1] == '\n' || text[end - 1] == '\r'))
			end--;
		size_t ls = end;
		while (ls > start && text[ls - 1] != '\n')
			ls--;
		size_t k = ls;
		while (k < end && (text[k] == ' ' || text[k] == '\t'))
			k++;
		if (ls == start || k + 1 >= end || text[k] != '/' || text[k + 1] != '/')
			return end;
		end = ls;
	}
}

void pol_policy_span(const char *text, size_t len, const pol_set_t *set, size_t i, size_t *start,
		     size_t *end)
{
	const pol_policy_t *p = &set->policy[i];
	*start = offset_of(text, len, p->line, p->column);
	*end = i + 1 < set->n ? offset_of(text, len, set->policy[i + 1].line, set->policy[i + 1].column)
			      : len;
	if (*end < *start)
		*end = *start;
	*end = trim_end(text, *start, *end);
}
