/* fuzz_policy_lint.c - the policy linter (pol_lint_text, pol_lint_set) on
 * arbitrary text. Always: a text that does not parse or compile gives one
 * error and nothing else; every finding has a code, a message of at most
 * POL_LINT_MAX_MESSAGE bytes of valid UTF-8, and a place and a policy id
 * when it is about one policy; findings come in source order and the
 * counts add up; linting the parsed set again gives the same findings.
 * And the lint is sound where it says "unreachable": a policy it reports
 * as never applying (never-true, empty-action-set, shadowed) is never a
 * reason of a decision, for a request built from that policy's own scope
 * (the entities its scope names, no entity data, an empty context). */
#include "core/policy/engine.h"
#include "core/policy/lint.h"
#include "core/policy/policy.h"
#include "core/policy/text.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_finding(const pol_finding_t *f)
{
	fz_require(f->code != NULL && f->code[0] != '\0', "a finding has a code");
	size_t len = f->message ? strlen(f->message) : 0;
	fz_require(len > 0 && len <= POL_LINT_MAX_MESSAGE, "a message, bounded");
	fz_require(pol_utf8_check(f->message, len) == len, "the message is UTF-8");
	if (f->severity == POL_LINT_WARNING)
		fz_require(f->policy != NULL && f->line >= 1 && f->column >= 1,
			   "a warning names its policy and place");
	if (f->severity == POL_LINT_NOTE)
		fz_require(f->policy == NULL && f->line == 0, "a note is about the whole set");
}

static void check_findings(const pol_findings_t *f)
{
	size_t counted[3] = {0, 0, 0};
	for (size_t i = 0; i < f->n; i++) {
		check_finding(&f->item[i]);
		counted[f->item[i].severity]++;
		if (i > 0) {
			const pol_finding_t *a = &f->item[i - 1], *b = &f->item[i];
			fz_require(a->line < b->line || (a->line == b->line && a->column <= b->column),
				   "findings in source order");
		}
	}
	fz_require(counted[POL_LINT_NOTE] == f->notes && counted[POL_LINT_WARNING] == f->warnings &&
			   counted[POL_LINT_ERROR] == f->errors,
		   "the counts add up");
}

static bool same_findings(const pol_findings_t *a, const pol_findings_t *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const pol_finding_t *x = &a->item[i], *y = &b->item[i];
		if (x->severity != y->severity || strcmp(x->code, y->code) != 0 || x->line != y->line ||
		    x->column != y->column || strcmp(x->message, y->message) != 0 ||
		    (x->policy == NULL) != (y->policy == NULL) || (x->policy && strcmp(x->policy, y->policy) != 0))
			return false;
	}
	return true;
}

/* An entity the scope admits when the entity data says nothing (`in` is
 * reflexive), or the fallback. */
static pol_euid_t admitted(const pol_scope_t *s, const char *type)
{
	switch (s->op) {
	case POL_SCOPE_EQ:
	case POL_SCOPE_IN:
	case POL_SCOPE_IS_IN:
		return *s->euid;
	case POL_SCOPE_IS:
		return (pol_euid_t){s->type, {"x", 1}};
	case POL_SCOPE_IN_SET:
		if (s->n > 0)
			return s->set[0];
		break;
	default:
		break;
	}
	return (pol_euid_t){{type, strlen(type)}, {"x", 1}};
}

static bool unreachable(const char *code)
{
	return strcmp(code, "never-true") == 0 || strcmp(code, "empty-action-set") == 0 ||
	       strcmp(code, "shadowed") == 0;
}

/* The policy a finding names; NULL when that is ambiguous: a finding's id
 * stops at a NUL byte, so "f2" names both a policy "f2" and one whose id is
 * "f2", NUL, more (the fuzzer writes both). */
static const pol_policy_t *named(const pol_set_t *set, const char *id)
{
	const pol_policy_t *found = NULL;
	size_t matches = 0;
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->policy[i].id.p, id) == 0) { /* the id's C-string view */
			matches++;
			if (set->policy[i].id.len == strlen(id))
				found = &set->policy[i];
		}
	return matches == 1 ? found : NULL;
}

static void check_unreachable(const pol_engine_t *eng, const pol_findings_t *f, pol_scratch_t *scratch)
{
	const pol_set_t *set = pol_engine_set(eng);
	for (size_t i = 0; i < f->n && i < 64; i++) {
		const pol_policy_t *p = f->item[i].policy ? named(set, f->item[i].policy) : NULL;
		if (p == NULL || !unreachable(f->item[i].code))
			continue;
		pol_request_t req = {.principal = admitted(&p->principal, "Workload"),
				     .action = admitted(&p->action, "Action"),
				     .resource = admitted(&p->resource, "Api")};
		pol_decision_t d;
		if (pol_authorize(eng, NULL, &req, NULL, scratch, &d) != 0)
			continue;
		for (size_t k = 0; k < d.nreasons; k++)
			fz_require(&set->policy[d.reasons[k]] != p, "a policy the lint calls unreachable applied");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pol_findings_t f, again;
	size_t npolicies = 0;
	if (pol_lint_text((const char *)data, size, &f, &npolicies) != 0)
		return 0; /* out of memory */
	check_findings(&f);
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t err;
	bool usable = pol_parse((const char *)data, size, &set, &err) == 0 && pol_engine_new(set, &eng, &err) == 0;
	if (!usable) {
		fz_require(f.n == 1 && f.errors == 1 && f.item[0].policy == NULL, "a bad text is one error");
		fz_require(npolicies == 0, "a bad text has no policies");
		pol_findings_free(&f);
		return 0;
	}
	const pol_set_t *s = pol_engine_set(eng);
	fz_require(f.errors == 0 && npolicies == s->n, "a good text has no errors");
	fz_require(pol_lint_set(s, &again) == 0 && same_findings(&f, &again), "the same set lints the same");
	pol_findings_free(&again);
	pol_scratch_t *scratch = pol_scratch_new();
	if (scratch != NULL)
		check_unreachable(eng, &f, scratch);
	pol_scratch_free(scratch);
	pol_engine_free(eng);
	pol_findings_free(&f);
	return 0;
}
