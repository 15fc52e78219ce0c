/* lint.c - the static checks of a policy set (lint.h): entity types
 * Tollgate does not know, policies that can never apply (conditions folded
 * without the request, `action in []`, permits an unconditional forbid
 * shadows) and permits without a resource constraint. */
#include "core/policy/lint.h"
#include "core/policy/engine.h"
#include "core/policy/value.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_types[] = {
	"Workload", "Operator", "Role", "Device", "Zone", "Api", "Secret", "Action",
};

/* Unknown types reported once per policy, up to this many distinct ones. */
#define MAX_TYPES_PER_POLICY 16

typedef struct {
	pol_findings_t *out;
	size_t *seq;     /* the order found, parallel to out->item */
	bool oom;
	/* Unknown types already reported for the current policy. */
	const pol_str_t *seen[MAX_TYPES_PER_POLICY];
	size_t nseen;
} lint_t;

/* ---- findings ------------------------------------------------------------ */

/* Cuts a truncated message back to a whole UTF-8 character. */
static void trim_utf8(char *s, size_t len)
{
	size_t end = len;
	while (end > 0 && ((unsigned char)s[end - 1] & 0xC0) == 0x80)
		end--;
	if (end > 0 && ((unsigned char)s[end - 1] & 0x80) != 0) {
		unsigned char lead = (unsigned char)s[end - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (len - (end - 1) < need)
			s[end - 1] = '\0';
	}
}

static void add(lint_t *l, pol_lint_severity_t sev, const char *code, const pol_str_t *policy,
		uint32_t line, uint32_t column, const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void add(lint_t *l, pol_lint_severity_t sev, const char *code, const pol_str_t *policy,
		uint32_t line, uint32_t column, const char *fmt, ...)
{
	pol_findings_t *f = l->out;
	char msg[POL_LINT_MAX_MESSAGE + 1];
	va_list ap;
	if (l->oom)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n > POL_LINT_MAX_MESSAGE)
		trim_utf8(msg, POL_LINT_MAX_MESSAGE);
	if (f->n == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;
		pol_finding_t *g = realloc(f->item, cap * sizeof *g);
		size_t *s = g ? realloc(l->seq, cap * sizeof *s) : NULL;
		if (g != NULL)
			f->item = g;
		if (s == NULL) {
			l->oom = true;
			return;
		}
		l->seq = s;
		f->cap = cap;
	}
	pol_finding_t *it = &f->item[f->n];
	*it = (pol_finding_t){.severity = sev, .code = code, .line = line, .column = column};
	it->message = strdup(msg);
	it->policy = policy ? strndup(policy->p, policy->len) : NULL;
	if (it->message == NULL || (policy != NULL && it->policy == NULL)) {
		free(it->message);
		free(it->policy);
		l->oom = true;
		return;
	}
	l->seq[f->n] = f->n;
	f->n++;
	if (sev == POL_LINT_ERROR)
		f->errors++;
	else if (sev == POL_LINT_WARNING)
		f->warnings++;
	else
		f->notes++;
}

/* qsort has no context argument in C17: the findings being sorted, per
 * thread (their seq array). */
static _Thread_local const pol_findings_t *sort_findings;
static _Thread_local const size_t *sort_seq;

static int by_place(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, k = *(const size_t *)b;
	const pol_finding_t *x = &sort_findings->item[i], *y = &sort_findings->item[k];
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return sort_seq[i] < sort_seq[k] ? -1 : sort_seq[i] > sort_seq[k];
}

/* Puts the findings in source order. */
static int sort_by_place(lint_t *l)
{
	pol_findings_t *f = l->out;
	if (f->n < 2)
		return 0;
	size_t *order = malloc(f->n * sizeof *order);
	pol_finding_t *sorted = malloc(f->n * sizeof *sorted);
	if (order == NULL || sorted == NULL) {
		free(order);
		free(sorted);
		return -1;
	}
	for (size_t i = 0; i < f->n; i++)
		order[i] = i;
	sort_findings = f;
	sort_seq = l->seq;
	qsort(order, f->n, sizeof *order, by_place);
	for (size_t i = 0; i < f->n; i++)
		sorted[i] = f->item[order[i]];
	memcpy(f->item, sorted, f->n * sizeof *sorted);
	free(sorted);
	free(order);
	return 0;
}

void pol_findings_free(pol_findings_t *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->n; i++) {
		free(f->item[i].policy);
		free(f->item[i].message);
	}
	free(f->item);
	*f = (pol_findings_t){0};
}

const char *pol_lint_severity_name(pol_lint_severity_t s)
{
	return s == POL_LINT_ERROR ? "error" : s == POL_LINT_WARNING ? "warning" : "note";
}

const char *pol_error_text(const pol_error_t *err)
{
	const char *m = err->message;
	if (strncmp(m, "line ", 5) == 0) {
		const char *c = strstr(m, ": ");
		if (c != NULL)
			return c + 2;
	}
	return m;
}

/* ---- unknown entity types ------------------------------------------------ */

static bool type_known(const pol_str_t *t)
{
	for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
		if (t->len == strlen(known_types[i]) && memcmp(t->p, known_types[i], t->len) == 0)
			return true;
	return false;
}

static void check_type(lint_t *l, const pol_policy_t *p, const pol_str_t *t, uint32_t line,
		       uint32_t column)
{
	if (type_known(t))
		return;
	for (size_t i = 0; i < l->nseen; i++)
		if (pol_str_eq(l->seen[i], t))
			return;
	if (l->nseen < MAX_TYPES_PER_POLICY)
		l->seen[l->nseen++] = t;
	add(l, POL_LINT_WARNING, "unknown-entity-type", &p->id, line, column,
	    "unknown entity type `%.*s` (Tollgate's types: Workload, Operator, Role, Device, "
	    "Zone, Api, Secret, Action)",
	    (int)(t->len > 60 ? 60 : t->len), t->p);
}

static void check_scope_types(lint_t *l, const pol_policy_t *p, const pol_scope_t *s)
{
	if (s->op == POL_SCOPE_IS || s->op == POL_SCOPE_IS_IN)
		check_type(l, p, &s->type, p->line, p->column);
	if (s->euid != NULL && (s->op == POL_SCOPE_EQ || s->op == POL_SCOPE_IN || s->op == POL_SCOPE_IS_IN))
		check_type(l, p, &s->euid->type, p->line, p->column);
	if (s->op == POL_SCOPE_IN_SET)
		for (size_t i = 0; i < s->n; i++)
			check_type(l, p, &s->set[i].type, p->line, p->column);
}

/* Walks an expression for entity literals and `is` types. The parser
 * bounds the depth (TG_MAX_POLICY_DEPTH), so the recursion is bounded. */
static void check_expr_types(lint_t *l, const pol_policy_t *p, const pol_expr_t *e)
{
	if (e == NULL)
		return;
	if (e->kind == POL_E_ENTITY && e->u.euid != NULL)
		check_type(l, p, &e->u.euid->type, e->line, e->column);
	if (e->kind == POL_E_IS)
		check_type(l, p, &e->str, e->line, e->column);
	for (uint32_t i = 0; i < e->n; i++)
		check_expr_types(l, p, e->kid[i]);
}

/* ---- conditions that never let a policy apply ---------------------------- */

enum { F_FALSE = 0, F_TRUE = 1, F_UNKNOWN = -1 };

/* Folds an expression that does not depend on the request: F_TRUE or
 * F_FALSE when it always evaluates to that boolean (exactly, errors
 * included), F_UNKNOWN otherwise. */
static int fold(const pol_expr_t *e)
{
	int f;
	switch (e->kind) {
	case POL_E_BOOL:
		return e->u.b ? F_TRUE : F_FALSE;
	case POL_E_NOT:
		f = fold(e->kid[0]);
		return f == F_UNKNOWN ? F_UNKNOWN : !f;
	case POL_E_AND:
	case POL_E_OR: {
		int stop = e->kind == POL_E_AND ? F_FALSE : F_TRUE;
		for (uint32_t i = 0; i < e->n; i++) {
			f = fold(e->kid[i]);
			if (f == F_UNKNOWN || f == stop)
				return f;
		}
		return !stop;
	}
	case POL_E_IF:
		f = fold(e->kid[0]);
		return f == F_UNKNOWN ? F_UNKNOWN : fold(e->kid[f == F_TRUE ? 1 : 2]);
	case POL_E_EQ:
	case POL_E_NE: {
		const pol_expr_t *a = e->kid[0], *b = e->kid[1];
		bool eq;
		if (a->kind != b->kind)
			return F_UNKNOWN;
		if (a->kind == POL_E_BOOL)
			eq = a->u.b == b->u.b;
		else if (a->kind == POL_E_LONG)
			eq = a->u.l == b->u.l;
		else if (a->kind == POL_E_STRING)
			eq = pol_str_eq(&a->str, &b->str);
		else if (a->kind == POL_E_ENTITY)
			eq = pol_euid_eq(a->u.euid, b->u.euid);
		else
			return F_UNKNOWN;
		return (e->kind == POL_E_EQ) == eq ? F_TRUE : F_FALSE;
	}
	default:
		return F_UNKNOWN;
	}
}

/* True when e can never evaluate to true: it folds to false, its kind can
 * only produce a non-boolean (a type error), or every way through it
 * does. Errors count as "not true": an erroring policy does not apply. */
static bool never_true(const pol_expr_t *e)
{
	int f = fold(e);
	if (f != F_UNKNOWN)
		return f == F_FALSE;
	switch (e->kind) {
	case POL_E_VAR: /* principal, action, resource and context are never booleans */
	case POL_E_LONG:
	case POL_E_STRING:
	case POL_E_ENTITY:
	case POL_E_SET:
	case POL_E_RECORD:
	case POL_E_NEG:
	case POL_E_ADD:
	case POL_E_SUB:
	case POL_E_MUL:
		return true;
	case POL_E_CALL:
		/* ip(), decimal(), datetime() and duration() make extension values. */
		return true;
	case POL_E_AND:
		for (uint32_t i = 0; i < e->n; i++)
			if (never_true(e->kid[i]))
				return true;
		return false;
	case POL_E_OR:
		for (uint32_t i = 0; i < e->n; i++)
			if (!never_true(e->kid[i]))
				return false;
		return true;
	case POL_E_IF:
		f = fold(e->kid[0]);
		if (f != F_UNKNOWN)
			return never_true(e->kid[f == F_TRUE ? 1 : 2]);
		return never_true(e->kid[1]) && never_true(e->kid[2]);
	default:
		return false;
	}
}

/* The first condition that keeps the policy from ever applying, or NULL. */
static const pol_cond_t *blocking_condition(const pol_policy_t *p)
{
	for (size_t i = 0; i < p->ncond; i++) {
		const pol_cond_t *c = &p->cond[i];
		if (c->when ? never_true(c->expr) : fold(c->expr) == F_TRUE)
			return c;
	}
	return NULL;
}

/* True when every condition of p is always satisfied. */
static bool unconditional(const pol_policy_t *p)
{
	for (size_t i = 0; i < p->ncond; i++)
		if (fold(p->cond[i].expr) != (p->cond[i].when ? F_TRUE : F_FALSE))
			return false;
	return true;
}

/* ---- permits an unconditional forbid shadows ----------------------------- */

static bool in_euids(const pol_euid_t *e, const pol_euid_t *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pol_euid_eq(e, &set[i]))
			return true;
	return false;
}

/* True when every entity that scope constraint p admits, whatever the
 * entity data, is admitted by f too. `in` is reflexive, so `in e` admits e
 * itself; nothing else about the hierarchy is known statically. */
static bool scope_covers(const pol_scope_t *f, const pol_scope_t *p)
{
	if (f->op == POL_SCOPE_ANY || (p->op == POL_SCOPE_IN_SET && p->n == 0))
		return true;
	switch (p->op) {
	case POL_SCOPE_ANY:
		return false;
	case POL_SCOPE_EQ:
		switch (f->op) {
		case POL_SCOPE_EQ:
		case POL_SCOPE_IN:
			return pol_euid_eq(f->euid, p->euid);
		case POL_SCOPE_IS:
			return pol_str_eq(&f->type, &p->euid->type);
		case POL_SCOPE_IS_IN:
			return pol_str_eq(&f->type, &p->euid->type) && pol_euid_eq(f->euid, p->euid);
		case POL_SCOPE_IN_SET:
			return in_euids(p->euid, f->set, f->n);
		default:
			return false;
		}
	case POL_SCOPE_IN:
		if (f->op == POL_SCOPE_IN)
			return pol_euid_eq(f->euid, p->euid);
		return f->op == POL_SCOPE_IN_SET && in_euids(p->euid, f->set, f->n);
	case POL_SCOPE_IS:
		return f->op == POL_SCOPE_IS && pol_str_eq(&f->type, &p->type);
	case POL_SCOPE_IS_IN:
		if (f->op == POL_SCOPE_IS)
			return pol_str_eq(&f->type, &p->type);
		if (f->op == POL_SCOPE_IN)
			return pol_euid_eq(f->euid, p->euid);
		if (f->op == POL_SCOPE_IS_IN)
			return pol_str_eq(&f->type, &p->type) && pol_euid_eq(f->euid, p->euid);
		return f->op == POL_SCOPE_IN_SET && in_euids(p->euid, f->set, f->n);
	case POL_SCOPE_IN_SET:
		for (size_t i = 0; i < p->n; i++) {
			pol_scope_t one = {.op = POL_SCOPE_IN, .euid = &p->set[i]};
			if (!scope_covers(f, &one))
				return false;
		}
		return true;
	}
	return false;
}

static bool policy_covers(const pol_policy_t *f, const pol_policy_t *p)
{
	return scope_covers(&f->principal, &p->principal) && scope_covers(&f->action, &p->action) &&
	       scope_covers(&f->resource, &p->resource);
}

/* Warns about permits that an unconditional forbid always overrides;
 * dead[i]: policy i never applies anyway (already reported). */
static void lint_shadowed(lint_t *l, const pol_set_t *set, const bool *dead)
{
	size_t nforbid = 0, npermit = 0;
	uint32_t *forbids = calloc(set->n ? set->n : 1, sizeof *forbids);
	if (forbids == NULL) {
		l->oom = true;
		return;
	}
	for (size_t i = 0; i < set->n; i++) {
		const pol_policy_t *p = &set->policy[i];
		if (p->effect == POL_FORBID && !dead[i] && unconditional(p))
			forbids[nforbid++] = (uint32_t)i;
		else if (p->effect == POL_PERMIT && !dead[i])
			npermit++;
	}
	if (nforbid > 0 && (double)nforbid * (double)npermit > POL_LINT_MAX_PAIRS) {
		add(l, POL_LINT_NOTE, "shadow-check-skipped", NULL, 0, 0,
		    "%zu unconditional forbids and %zu permits; the check for permits they shadow was skipped",
		    nforbid, npermit);
		nforbid = 0;
	}
	for (size_t i = 0; i < set->n && nforbid > 0; i++) {
		const pol_policy_t *p = &set->policy[i];
		if (p->effect != POL_PERMIT || dead[i])
			continue;
		for (size_t k = 0; k < nforbid; k++) {
			const pol_policy_t *f = &set->policy[forbids[k]];
			if (policy_covers(f, p)) {
				add(l, POL_LINT_WARNING, "shadowed", &p->id, p->line, p->column,
				    "unreachable: every request it matches is denied by forbid `%.*s` "
				    "(line %" PRIu32 "), which has no conditions",
				    (int)f->id.len, f->id.p, f->line);
				break;
			}
		}
	}
	free(forbids);
}

/* ---- one policy ---------------------------------------------------------- */

/* Lints one policy on its own; true when it can never apply (so that the
 * shadowed check does not repeat it). */
static bool lint_policy(lint_t *l, const pol_policy_t *p)
{
	l->nseen = 0;
	check_scope_types(l, p, &p->principal);
	check_scope_types(l, p, &p->action);
	check_scope_types(l, p, &p->resource);
	for (size_t i = 0; i < p->ncond; i++)
		check_expr_types(l, p, p->cond[i].expr);

	bool dead = false;
	const pol_cond_t *c = blocking_condition(p);
	if (c != NULL) {
		add(l, POL_LINT_WARNING, "never-true", &p->id, c->expr->line, c->expr->column,
		    "unreachable: this `%s` condition is %s, so the policy never applies",
		    c->when ? "when" : "unless", c->when ? "never true" : "always true");
		dead = true;
	} else if (p->action.op == POL_SCOPE_IN_SET && p->action.n == 0) {
		add(l, POL_LINT_WARNING, "empty-action-set", &p->id, p->line, p->column,
		    "unreachable: `action in []` matches no action, so the policy never applies");
		dead = true;
	}
	if (p->effect == POL_PERMIT && p->resource.op == POL_SCOPE_ANY)
		add(l, POL_LINT_WARNING, "unconstrained-resource", &p->id, p->line, p->column,
		    "least privilege: the permit has no resource constraint, so it applies to "
		    "every resource; constrain it (resource == E, resource in E, resource is T)");
	return dead;
}

/* ---- entry points -------------------------------------------------------- */

/* Ends a lint: sorted findings and 0, or nothing and -1 when out of memory. */
static int finish(lint_t *l)
{
	if (!l->oom && sort_by_place(l) != 0)
		l->oom = true;
	free(l->seq);
	if (l->oom) {
		pol_findings_free(l->out);
		return -1;
	}
	return 0;
}

int pol_lint_set(const pol_set_t *set, pol_findings_t *out)
{
	lint_t l = {.out = out};
	*out = (pol_findings_t){0};
	bool *dead = calloc(set->n ? set->n : 1, sizeof *dead);
	if (dead == NULL)
		return -1;
	for (size_t i = 0; i < set->n; i++)
		dead[i] = lint_policy(&l, &set->policy[i]);
	lint_shadowed(&l, set, dead);
	free(dead);
	return finish(&l);
}

int pol_lint_text(const char *text, size_t len, pol_findings_t *out, size_t *npolicies)
{
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t err;
	const char *code = "parse";
	if (npolicies != NULL)
		*npolicies = 0;
	if (pol_parse(text, len, &set, &err) == 0) {
		code = "annotation";
		if (pol_engine_new(set, &eng, &err) == 0) {
			int rc = pol_lint_set(pol_engine_set(eng), out);
			if (rc == 0 && npolicies != NULL)
				*npolicies = pol_engine_set(eng)->n;
			pol_engine_free(eng);
			return rc;
		}
	}
	lint_t l = {.out = out};
	*out = (pol_findings_t){0};
	add(&l, POL_LINT_ERROR, code, NULL, err.line, err.column, "%s", pol_error_text(&err));
	return finish(&l);
}
