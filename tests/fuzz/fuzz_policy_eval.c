/* fuzz_policy_eval.c - the whole Cedar path on arbitrary input: the input
 * is policy text, a NUL byte, an entities JSON document, a NUL byte and a
 * request JSON object ({"principal", "action", "resource", "context"}).
 * Each part is parsed (pol_parse, pol_json_entities, pol_json_request);
 * when all three parse, the request is decided (pol_authorize, plain
 * Cedar and again with obligation facts) and the decision is checked for
 * what must always hold: reasons and errors name policies of the set, in
 * ascending order, disjoint; an allow has a permit for a reason, a deny's
 * reasons are forbids; the same request decides the same way twice; the
 * decision and the context write out as JSON, and the context reads back
 * equal. A refusal must come with a message. */
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/policy.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next NUL-separated part of [*at, end); the last part runs to end. */
static const char *next_part(const uint8_t **at, const uint8_t *end, size_t *len)
{
	const uint8_t *start = *at;
	const uint8_t *nul = memchr(start, '\0', (size_t)(end - start));
	if (nul == NULL) {
		*len = (size_t)(end - start);
		*at = end;
	} else {
		*len = (size_t)(nul - start);
		*at = nul + 1;
	}
	return (const char *)start;
}

static void check_decision(const pol_set_t *set, const pol_decision_t *d)
{
	for (size_t i = 0; i < d->nreasons; i++) {
		fz_require(d->reasons[i] < set->n, "reason names a policy of the set");
		fz_require(i == 0 || d->reasons[i - 1] < d->reasons[i], "reasons ascend");
		pol_effect_t want = d->allow ? POL_PERMIT : POL_FORBID;
		fz_require(set->policy[d->reasons[i]].effect == want,
			   "allow rests on permits, deny on forbids");
	}
	fz_require(!d->allow || d->nreasons > 0, "an allow has a reason");
	for (size_t i = 0; i < d->nerrors; i++) {
		fz_require(d->errors[i].policy < set->n, "error names a policy of the set");
		fz_require(i == 0 || d->errors[i - 1].policy < d->errors[i].policy, "errors ascend");
		fz_require(d->errors[i].message != NULL && d->errors[i].message[0] != '\0',
			   "an error says why");
		for (size_t k = 0; k < d->nreasons; k++)
			fz_require(d->reasons[k] != d->errors[i].policy,
				   "an erroring policy is not a reason");
	}
}

static void check_context_round_trip(const pol_value_t *ctx)
{
	if (ctx == NULL)
		return;
	json_t *j = pol_value_to_json(ctx);
	if (j == NULL)
		return; /* a key JSON cannot read back ("__entity"): refused by design */
	pol_arena_t *a = pol_arena_new();
	pol_value_t back;
	char err[256];
	fz_require(a != NULL, "allocation");
	fz_require(pol_json_value(a, j, &back, err, sizeof err) == 0, "written context reads back");
	fz_require(pol_value_eq(ctx, &back), "context reads back equal");
	json_decref(j);
	pol_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *at = data, *end = data + size;
	size_t plen, elen, rlen;
	const char *ptext = next_part(&at, end, &plen);
	const char *etext = next_part(&at, end, &elen);
	const char *rtext = next_part(&at, end, &rlen);
	char err[512];
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_entities_t *es = NULL;
	pol_error_t perr;
	json_t *rj = NULL;
	pol_arena_t *a = NULL;

	if (pol_parse(ptext, plen, &set, &perr) != 0) {
		fz_require(set == NULL && perr.message[0] != '\0', "policy refusal says why");
		return 0;
	}
	if (pol_engine_new(set, &eng, &perr) != 0) {
		fz_require(perr.message[0] != '\0', "engine refusal says why");
		return 0;
	}
	if (pol_json_entities(etext, elen, &es, err, sizeof err) != 0) {
		fz_require(es == NULL && err[0] != '\0', "entities refusal says why");
		goto out;
	}
	rj = pol_json_parse(rtext, rlen, err, sizeof err);
	if (rj == NULL) {
		fz_require(err[0] != '\0', "request JSON refusal says why");
		goto out;
	}
	a = pol_arena_new();
	fz_require(a != NULL, "allocation");
	pol_request_t req;
	if (pol_json_request(a, rj, &req, err, sizeof err) != 0) {
		fz_require(err[0] != '\0', "request refusal says why");
		goto out;
	}
	check_context_round_trip(req.context);

	pol_scratch_t *s = pol_scratch_new();
	fz_require(s != NULL, "allocation");
	pol_decision_t d;
	if (pol_authorize(eng, es, &req, NULL, s, &d) == 0) {
		const pol_set_t *eset = pol_engine_set(eng);
		check_decision(eset, &d);
		json_t *dj = pol_json_decision(eset, &d);
		fz_require(dj != NULL, "decision writes as JSON");
		json_decref(dj);
		/* Deciding again gives the same answer. */
		bool allow = d.allow;
		size_t nreasons = d.nreasons, nerrors = d.nerrors;
		fz_require(pol_authorize(eng, es, &req, NULL, s, &d) == 0, "second decision");
		fz_require(d.allow == allow && d.nreasons == nreasons && d.nerrors == nerrors,
			   "the same request decides the same way");
		/* Obligations only ever take permits away. */
		pol_facts_t facts = {.grant_approvals = -1, .mfa_age_s = -1};
		if (pol_authorize(eng, es, &req, &facts, s, &d) == 0) {
			check_decision(eset, &d);
			fz_require(!d.allow || allow, "obligations never turn a deny into an allow");
		}
	}
	pol_scratch_free(s);
out:
	pol_arena_free(a);
	json_decref(rj);
	pol_entities_free(es);
	pol_engine_free(eng);
	return 0;
}
