/* fuzz_policy_parse.c - pol_parse() on arbitrary text. A refusal carries a
 * position inside the text and a message; an accepted set dumps to Cedar
 * that parses again to the same dump (the printer and the parser agree),
 * and its trees respect the depth bound. */
#include "core/policy/policy.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned max_depth(const pol_policy_t *p)
{
	unsigned d = 0;
	for (size_t i = 0; i < p->ncond; i++)
		if (p->cond[i].expr->depth > d)
			d = p->cond[i].expr->depth;
	return d;
}

static void check_round_trip(const pol_policy_t *p)
{
	size_t need = pol_policy_dump(p, NULL, 0);
	char *a = malloc(need + 1), *b = malloc(need + 1);
	pol_set_t *again = NULL;
	pol_error_t err;
	fz_require(a != NULL && b != NULL, "allocation");
	fz_require(pol_policy_dump(p, a, need + 1) == need, "dump length is stable");
	fz_require(pol_parse(a, need, &again, &err) == 0, "the dump parses");
	fz_require(again->n == 1, "the dump is one policy");
	fz_require(pol_policy_dump(&again->policy[0], b, need + 1) == need, "same dump length");
	fz_require(memcmp(a, b, need) == 0, "the dump parses back to itself");
	pol_set_free(again);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pol_set_t *set = NULL;
	pol_error_t err;
	if (pol_parse((const char *)data, size, &set, &err) != 0) {
		fz_require(set == NULL, "refusal returns no set");
		fz_require(err.line >= 1 && err.column >= 1 && err.message[0] != '\0',
			   "refusal says where and why");
		return 0;
	}
	for (size_t i = 0; i < set->n; i++) {
		fz_require(max_depth(&set->policy[i]) <= TG_MAX_POLICY_DEPTH, "depth bounded");
		check_round_trip(&set->policy[i]);
	}
	pol_set_free(set);
	return 0;
}
