/* engine.c - a policy set compiled for decisions: obligation annotations
 * read once, policies indexed by the most selective part of their scope,
 * and pol_authorize, which evaluates only the policies an index lookup
 * can match and combines them with Cedar's rules plus obligations. */
#include "core/policy/engine.h"
#include "core/policy/eval.h"
#include "core/policy/index.h"
#include "core/policy/scope_match.h"
#include "core/policy/scratch.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	int64_t max_ttl;        /* -1: none */
	int64_t requires_grant; /* -1: none */
	int64_t requires_mfa;   /* -1: none */
	bool audit_full;
} obligations_t;

struct pol_engine {
	pol_set_t *set;
	obligations_t *obl;       /* per policy */
	pol_scope_match_t *scope; /* per policy */
	pol_index_t *index;
};

const pol_set_t *pol_engine_set(const pol_engine_t *eng) { return eng->set; }

/* A decimal count of seconds or approvals: digits only, at most 10^12. */
static int parse_count(const pol_str_t *v, int64_t *out)
{
	if (v->len == 0 || v->len > 12)
		return -1;
	int64_t n = 0;
	for (size_t i = 0; i < v->len; i++) {
		if (v->p[i] < '0' || v->p[i] > '9')
			return -1;
		n = n * 10 + (v->p[i] - '0');
	}
	*out = n;
	return 0;
}

static int annotation_error(const pol_policy_t *p, const pol_annot_t *a, const char *want,
			    pol_error_t *err)
{
	if (err != NULL) {
		err->line = p->line;
		err->column = p->column;
		snprintf(err->message, sizeof err->message,
			 "line %u, column %u: policy %s: @%s(\"%.40s\") must be %s", p->line,
			 p->column, p->id.p, a->key.p, a->value.p, want);
	}
	return -1;
}

static int read_obligations(const pol_policy_t *p, obligations_t *o, pol_error_t *err)
{
	*o = (obligations_t){-1, -1, -1, false};
	for (size_t i = 0; i < p->nannot; i++) {
		const pol_annot_t *a = &p->annot[i];
		const char *k = a->key.p;
		if (strcmp(k, "max_ttl") == 0) {
			if (parse_count(&a->value, &o->max_ttl) < 0 || o->max_ttl == 0)
				return annotation_error(p, a, "a positive number of seconds", err);
		} else if (strcmp(k, "requires_grant") == 0) {
			if (parse_count(&a->value, &o->requires_grant) < 0)
				return annotation_error(p, a, "a number of approvals", err);
		} else if (strcmp(k, "requires_mfa") == 0) {
			if (parse_count(&a->value, &o->requires_mfa) < 0 || o->requires_mfa == 0)
				return annotation_error(p, a, "a positive number of seconds", err);
		} else if (strcmp(k, "audit") == 0) {
			if (strcmp(a->value.p, "full") != 0 && strcmp(a->value.p, "decision") != 0)
				return annotation_error(p, a, "\"full\" or \"decision\"", err);
			o->audit_full = strcmp(a->value.p, "full") == 0;
		}
	}
	return 0;
}

void pol_engine_free(pol_engine_t *eng)
{
	if (eng == NULL)
		return;
	pol_index_free(eng->index);
	free(eng->obl);
	free(eng->scope);
	pol_set_free(eng->set);
	free(eng);
}

int pol_engine_new(pol_set_t *set, pol_engine_t **out, pol_error_t *err)
{
	*out = NULL;
	pol_engine_t *eng = calloc(1, sizeof *eng);
	if (eng == NULL) {
		pol_set_free(set);
		goto oom;
	}
	eng->set = set;
	eng->obl = calloc(set->n ? set->n : 1, sizeof *eng->obl);
	eng->scope = calloc(set->n ? set->n : 1, sizeof *eng->scope);
	if (eng->obl == NULL || eng->scope == NULL)
		goto oom;
	for (size_t i = 0; i < set->n; i++) {
		if (read_obligations(&set->policy[i], &eng->obl[i], err) < 0) {
			pol_engine_free(eng);
			return -1;
		}
		if (pol_scope_compile(&set->policy[i], set->arena, &eng->scope[i]) < 0)
			goto oom;
	}
	eng->index = pol_index_build(set);
	if (eng->index == NULL)
		goto oom;
	*out = eng;
	return 0;
oom:
	pol_engine_free(eng);
	if (err != NULL) {
		*err = (pol_error_t){0};
		snprintf(err->message, sizeof err->message, "out of memory compiling the policy set");
	}
	return -1;
}

/* ---- decisions ----------------------------------------------------------- */

/* Growing arrays of policy numbers in the scratch. */
typedef struct {
	uint32_t *v;
	size_t n, cap;
} ids_t;

typedef struct {
	const pol_engine_t *eng;
	const pol_entities_t *es;
	pol_scope_subject_t subject[3]; /* principal, action, resource */
	pol_eval_t ev;
	ids_t permits, forbids;
	pol_eval_error_t *errors;
	size_t nerrors, caperrors;
	bool oom;
} decide_t;

static void *grow_array(pol_scratch_t *s, void *old, size_t n, size_t *cap, size_t elem)
{
	if (n < *cap)
		return old;
	size_t ncap = *cap ? *cap * 2 : 16;
	void *p = pol_scratch_alloc(s, ncap * elem);
	if (p == NULL)
		return NULL;
	if (n)
		memcpy(p, old, n * elem);
	*cap = ncap;
	return p;
}

static void push_id(decide_t *d, ids_t *ids, uint32_t i)
{
	uint32_t *v = grow_array(d->ev.s, ids->v, ids->n, &ids->cap, sizeof *v);
	if (v == NULL) {
		d->oom = true;
		return;
	}
	ids->v = v;
	ids->v[ids->n++] = i;
}

static void push_error(decide_t *d, uint32_t i, const char *msg)
{
	pol_eval_error_t *v = grow_array(d->ev.s, d->errors, d->nerrors, &d->caperrors, sizeof *v);
	if (v == NULL) {
		d->oom = true;
		return;
	}
	d->errors = v;
	d->errors[d->nerrors++] = (pol_eval_error_t){i, msg};
}

/* Called by the index for each candidate policy (once each). */
static void consider(uint32_t i, void *arg)
{
	decide_t *d = arg;
	if (!pol_scope_match(&d->eng->scope[i], d->es, d->subject))
		return;
	const pol_policy_t *p = &d->eng->set->policy[i];
	d->ev.undecided = false;
	int r = pol_eval_conditions(&d->ev, p);
	if (r < 0 && d->ev.undecided) /* possible for some request (pol_request_t.unknown) */
		r = p->effect == POL_PERMIT ? 1 : 0;
	if (r < 0)
		push_error(d, i, d->ev.error ? d->ev.error : "error");
	else if (r > 0)
		push_id(d, p->effect == POL_PERMIT ? &d->permits : &d->forbids, i);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_error(const void *a, const void *b)
{
	return cmp_u32(&((const pol_eval_error_t *)a)->policy, &((const pol_eval_error_t *)b)->policy);
}

/* Moves permits whose obligations the facts do not meet into unmet. */
static void apply_obligations(decide_t *d, const pol_facts_t *f, pol_decision_t *out)
{
	pol_unmet_t *unmet = d->permits.n ? pol_scratch_alloc(d->ev.s, d->permits.n * sizeof *unmet) : NULL;
	if (d->permits.n && unmet == NULL) {
		d->oom = true;
		return;
	}
	size_t kept = 0, nunmet = 0;
	for (size_t k = 0; k < d->permits.n; k++) {
		uint32_t i = d->permits.v[k];
		const obligations_t *o = &d->eng->obl[i];
		if (o->requires_grant >= 0 &&
		    (f->grant_approvals < 0 || f->grant_approvals < o->requires_grant))
			unmet[nunmet++] = (pol_unmet_t){i, POL_OBL_GRANT, o->requires_grant};
		else if (o->requires_mfa >= 0 && (f->mfa_age_s < 0 || f->mfa_age_s > o->requires_mfa))
			unmet[nunmet++] = (pol_unmet_t){i, POL_OBL_MFA, o->requires_mfa};
		else
			d->permits.v[kept++] = i;
	}
	d->permits.n = kept;
	out->unmet = unmet;
	out->nunmet = nunmet;
}

static void summarise(const decide_t *d, pol_decision_t *out)
{
	out->max_ttl = -1;
	out->audit_full = false;
	for (size_t k = 0; k < out->nreasons; k++) {
		const obligations_t *o = &d->eng->obl[out->reasons[k]];
		if (out->allow && o->max_ttl > 0 && (out->max_ttl < 0 || o->max_ttl < out->max_ttl))
			out->max_ttl = o->max_ttl;
		out->audit_full = out->audit_full || o->audit_full;
	}
}

int pol_authorize(const pol_engine_t *eng, const pol_entities_t *es, const pol_request_t *req,
		  const pol_facts_t *facts, pol_scratch_t *s, pol_decision_t *out)
{
	*out = (pol_decision_t){.max_ttl = -1};
	pol_scratch_reset(s);
	if (pol_scratch_stamps_ready(s, eng->set->n) < 0)
		return -1;
	decide_t d = {.eng = eng, .es = es};
	pol_scope_subject(&d.subject[0], es, &req->principal);
	pol_scope_subject(&d.subject[1], es, &req->action);
	pol_scope_subject(&d.subject[2], es, &req->resource);
	pol_eval_init(&d.ev, es, req, s);
	pol_index_candidates(eng->index, es, d.subject, s, consider, &d);
	if (d.permits.n > 1)
		qsort(d.permits.v, d.permits.n, sizeof(uint32_t), cmp_u32);
	if (facts != NULL)
		apply_obligations(&d, facts, out);
	if (d.oom) {
		*out = (pol_decision_t){.max_ttl = -1};
		return -1;
	}
	if (d.forbids.n > 1)
		qsort(d.forbids.v, d.forbids.n, sizeof(uint32_t), cmp_u32);
	if (d.nerrors > 1)
		qsort(d.errors, d.nerrors, sizeof *d.errors, cmp_error);
	out->allow = d.forbids.n == 0 && d.permits.n > 0;
	const ids_t *why = d.forbids.n ? &d.forbids : out->allow ? &d.permits : NULL;
	out->reasons = why ? why->v : NULL;
	out->nreasons = why ? why->n : 0;
	out->errors = d.errors;
	out->nerrors = d.nerrors;
	summarise(&d, out);
	return 0;
}
