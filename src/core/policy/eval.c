/* eval.c - Cedar expression evaluation: operators, attribute access, the
 * entity hierarchy, and policy scope and condition checks. Every failure
 * is an error value (return -1 with ev->error), never a crash: recursion
 * is bounded by the parser's depth limit and values by the loaders'. */
#include "core/policy/eval.h"
#include "core/policy/ext.h"
#include "core/policy/scratch.h"
#include <string.h>

static const pol_value_t empty_record = {.kind = PV_RECORD};

void pol_eval_init(pol_eval_t *ev, const pol_entities_t *es, const pol_request_t *req,
		   pol_scratch_t *s)
{
	ev->es = es;
	ev->s = s;
	ev->error = NULL;
	ev->unknown = req->unknown;
	ev->nunknown = req->nunknown;
	ev->undecided = false;
	ev->var[POL_VAR_PRINCIPAL] = (pol_value_t){.kind = PV_ENTITY, .u.e = req->principal};
	ev->var[POL_VAR_ACTION] = (pol_value_t){.kind = PV_ENTITY, .u.e = req->action};
	ev->var[POL_VAR_RESOURCE] = (pol_value_t){.kind = PV_ENTITY, .u.e = req->resource};
	ev->var[POL_VAR_CONTEXT] = req->context ? *req->context : empty_record;
}

/* ---- errors ---------------------------------------------------------- */

static int type_error(pol_eval_t *ev, const pol_expr_t *e, const char *expected,
		      const pol_value_t *got)
{
	ev->error = pol_scratch_printf(ev->s, "line %u, column %u: type error: expected %s, got %s",
				       e->line, e->column, expected, pol_kind_name(got->kind));
	return -1;
}

static int overflow(pol_eval_t *ev, const pol_expr_t *e)
{
	ev->error = pol_scratch_printf(ev->s, "line %u, column %u: integer overflow", e->line,
				       e->column);
	return -1;
}

static int no_memory(pol_eval_t *ev)
{
	ev->error = "out of evaluation memory";
	return -1;
}

static int eval_kind(pol_eval_t *ev, const pol_expr_t *e, int kind, pol_value_t *out)
{
	if (pol_eval_expr(ev, e, out) < 0)
		return -1;
	if (out->kind != kind)
		return type_error(ev, e, pol_kind_name(kind), out);
	return 0;
}

/* ---- entity hierarchy ------------------------------------------------ */

static bool entity_in(const pol_eval_t *ev, const pol_euid_t *a, const pol_euid_t *b)
{
	return pol_entities_in(ev->es, a, b);
}

/* lhs in rhs, where rhs is an entity or a set of entities. */
static int in_value(pol_eval_t *ev, const pol_expr_t *e, const pol_euid_t *lhs,
		    const pol_value_t *rhs, pol_value_t *out)
{
	if (rhs->kind == PV_ENTITY) {
		*out = pol_bool(entity_in(ev, lhs, &rhs->u.e));
		return 0;
	}
	if (rhs->kind != PV_SET)
		return type_error(ev, e, "entity or set of entities", rhs);
	for (uint32_t i = 0; i < rhs->n; i++)
		if (rhs->u.items[i].kind != PV_ENTITY)
			return type_error(ev, e, "set of entities", &rhs->u.items[i]);
	bool found = false;
	for (uint32_t i = 0; i < rhs->n && !found; i++)
		found = entity_in(ev, lhs, &rhs->u.items[i].u.e);
	*out = pol_bool(found);
	return 0;
}

static int eval_in(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t lhs, rhs;
	if (eval_kind(ev, e->kid[0], PV_ENTITY, &lhs) < 0 || pol_eval_expr(ev, e->kid[1], &rhs) < 0)
		return -1;
	return in_value(ev, e, &lhs.u.e, &rhs, out);
}

static int eval_is(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t lhs;
	if (eval_kind(ev, e->kid[0], PV_ENTITY, &lhs) < 0)
		return -1;
	if (!pol_str_eq(&lhs.u.e.type, &e->str)) {
		*out = pol_bool(false);
		return 0;
	}
	if (e->n < 2) {
		*out = pol_bool(true);
		return 0;
	}
	pol_value_t rhs;
	if (pol_eval_expr(ev, e->kid[1], &rhs) < 0)
		return -1;
	return in_value(ev, e, &lhs.u.e, &rhs, out);
}

/* ---- attributes -------------------------------------------------------- */

static int entity_missing(pol_eval_t *ev, const pol_expr_t *e, const pol_euid_t *u)
{
	ev->error = pol_scratch_printf(ev->s, "line %u, column %u: entity %s::\"%.*s\" does not exist",
				       e->line, e->column, u->type.p, (int)u->id.len, u->id.p);
	return -1;
}

static int attr_missing(pol_eval_t *ev, const pol_expr_t *e, const char *what)
{
	ev->error = pol_scratch_printf(ev->s, "line %u, column %u: %s does not have the attribute `%s`",
				       e->line, e->column, what, e->str.p);
	return -1;
}

/* `context.attr` or `context has attr` for an attribute the request does
 * not know yet (pol_request_t.unknown) and the context does not hold: the
 * condition is undecided, carried like an error (-1) but flagged. */
static bool reads_unknown(const pol_eval_t *ev, const pol_expr_t *e, const pol_value_t *rec)
{
	if (ev->nunknown == 0 || e->kid[0]->kind != POL_E_VAR || e->kid[0]->u.var != POL_VAR_CONTEXT ||
	    pol_record_get(rec, e->str.p, e->str.len) != NULL)
		return false;
	for (size_t i = 0; i < ev->nunknown; i++)
		if (ev->unknown[i].len == e->str.len && memcmp(ev->unknown[i].p, e->str.p, e->str.len) == 0)
			return true;
	return false;
}

static int undecided(pol_eval_t *ev, const pol_expr_t *e)
{
	ev->undecided = true;
	ev->error = pol_scratch_printf(ev->s, "line %u, column %u: context.%s is known only at request time",
				       e->line, e->column, e->str.p);
	return -1;
}

/* The record whose attributes `lhs.attr` and `lhs has attr` read; NULL for
 * an entity that does not exist. */
static int attrs_of(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *lhs,
		    const pol_value_t **rec)
{
	if (pol_eval_expr(ev, e->kid[0], lhs) < 0)
		return -1;
	if (lhs->kind == PV_RECORD) {
		*rec = lhs;
		return 0;
	}
	if (lhs->kind != PV_ENTITY)
		return type_error(ev, e, "entity or record", lhs);
	const pol_entity_t *ent = ev->es ? pol_entities_find(ev->es, &lhs->u.e) : NULL;
	*rec = ent ? ent->attrs : NULL;
	return 0;
}

static int eval_attr(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t lhs;
	const pol_value_t *rec;
	if (attrs_of(ev, e, &lhs, &rec) < 0)
		return -1;
	if (rec == NULL)
		return entity_missing(ev, e, &lhs.u.e);
	if (reads_unknown(ev, e, rec))
		return undecided(ev, e);
	const pol_value_t *v = pol_record_get(rec, e->str.p, e->str.len);
	if (v == NULL)
		return attr_missing(ev, e, lhs.kind == PV_RECORD ? "the record" : "the entity");
	*out = *v;
	return 0;
}

static int eval_has(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t lhs;
	const pol_value_t *rec;
	if (attrs_of(ev, e, &lhs, &rec) < 0)
		return -1;
	if (rec != NULL && reads_unknown(ev, e, rec))
		return undecided(ev, e);
	*out = pol_bool(rec != NULL && pol_record_get(rec, e->str.p, e->str.len) != NULL);
	return 0;
}

/* ---- booleans ---------------------------------------------------------- */

/* && (stop_on false) and || (stop_on true), short-circuit, n-ary. */
static int eval_logic(pol_eval_t *ev, const pol_expr_t *e, bool stop_on, pol_value_t *out)
{
	for (uint32_t i = 0; i < e->n; i++) {
		pol_value_t v;
		if (eval_kind(ev, e->kid[i], PV_BOOL, &v) < 0)
			return -1;
		if (v.u.b == stop_on) {
			*out = pol_bool(stop_on);
			return 0;
		}
	}
	*out = pol_bool(!stop_on);
	return 0;
}

static int eval_if(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t c;
	if (eval_kind(ev, e->kid[0], PV_BOOL, &c) < 0)
		return -1;
	return pol_eval_expr(ev, e->kid[c.u.b ? 1 : 2], out);
}

/* ---- arithmetic and comparison ------------------------------------------ */

static int eval_arith(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t a, b;
	if (eval_kind(ev, e->kid[0], PV_LONG, &a) < 0 || eval_kind(ev, e->kid[1], PV_LONG, &b) < 0)
		return -1;
	int64_t r;
	bool ovf = e->kind == POL_E_ADD	  ? __builtin_add_overflow(a.u.l, b.u.l, &r)
		   : e->kind == POL_E_SUB ? __builtin_sub_overflow(a.u.l, b.u.l, &r)
					  : __builtin_mul_overflow(a.u.l, b.u.l, &r);
	if (ovf)
		return overflow(ev, e);
	*out = pol_long(r);
	return 0;
}

static int eval_neg(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t a;
	if (eval_kind(ev, e->kid[0], PV_LONG, &a) < 0)
		return -1;
	if (a.u.l == INT64_MIN)
		return overflow(ev, e);
	*out = pol_long(-a.u.l);
	return 0;
}

/* < <= > >= on longs, and on two datetimes or two durations. */
static int eval_compare(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t a, b;
	if (pol_eval_expr(ev, e->kid[0], &a) < 0 || pol_eval_expr(ev, e->kid[1], &b) < 0)
		return -1;
	bool ok_a = a.kind == PV_LONG || a.kind == PV_DATETIME || a.kind == PV_DURATION;
	if (!ok_a)
		return type_error(ev, e->kid[0], "long, datetime or duration", &a);
	if (b.kind != a.kind)
		return type_error(ev, e->kid[1], pol_kind_name(a.kind), &b);
	int c = a.u.l < b.u.l ? -1 : a.u.l > b.u.l;
	bool r = e->kind == POL_E_LT ? c < 0 : e->kind == POL_E_LE ? c <= 0 : e->kind == POL_E_GT ? c > 0 : c >= 0;
	*out = pol_bool(r);
	return 0;
}

static int eval_eq(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t a, b;
	if (pol_eval_expr(ev, e->kid[0], &a) < 0 || pol_eval_expr(ev, e->kid[1], &b) < 0)
		return -1;
	bool eq = pol_value_eq(&a, &b);
	*out = pol_bool(e->kind == POL_E_EQ ? eq : !eq);
	return 0;
}

static int eval_like(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t s;
	if (eval_kind(ev, e->kid[0], PV_STRING, &s) < 0)
		return -1;
	*out = pol_bool(pol_like_match(&s.u.s, e->u.pat));
	return 0;
}

/* ---- literals ---------------------------------------------------------- */

static int eval_set(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_value_t *items = e->n ? pol_scratch_alloc(ev->s, e->n * sizeof *items) : NULL;
	if (e->n && items == NULL)
		return no_memory(ev);
	for (uint32_t i = 0; i < e->n; i++)
		if (pol_eval_expr(ev, e->kid[i], &items[i]) < 0)
			return -1;
	*out = (pol_value_t){.kind = PV_SET, .n = e->n, .u.items = items};
	return 0;
}

static int eval_record(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	pol_str_t *keys = e->n ? pol_scratch_alloc(ev->s, e->n * sizeof *keys) : NULL;
	pol_value_t *vals = e->n ? pol_scratch_alloc(ev->s, e->n * sizeof *vals) : NULL;
	if (e->n && (keys == NULL || vals == NULL))
		return no_memory(ev);
	for (uint32_t i = 0; i < e->n; i++) {
		keys[i] = e->u.keys[i];
		if (pol_eval_expr(ev, e->kid[i], &vals[i]) < 0)
			return -1;
	}
	(void)pol_record_sort(keys, vals, e->n); /* the parser refused duplicates */
	*out = (pol_value_t){.kind = PV_RECORD, .n = e->n};
	out->u.rec.keys = keys;
	out->u.rec.vals = vals;
	return 0;
}

/* ---- functions and methods (policy/eval_call.c) ------------------------ */

int pol_eval_call(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out);

int pol_eval_expr(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	switch ((pol_kind_t)e->kind) {
	case POL_E_BOOL:
		*out = pol_bool(e->u.b);
		return 0;
	case POL_E_LONG:
		*out = pol_long(e->u.l);
		return 0;
	case POL_E_STRING:
		*out = (pol_value_t){.kind = PV_STRING, .u.s = e->str};
		return 0;
	case POL_E_ENTITY:
		*out = (pol_value_t){.kind = PV_ENTITY, .u.e = *e->u.euid};
		return 0;
	case POL_E_VAR:
		*out = ev->var[e->u.var];
		return 0;
	case POL_E_IF:
		return eval_if(ev, e, out);
	case POL_E_AND:
		return eval_logic(ev, e, false, out);
	case POL_E_OR:
		return eval_logic(ev, e, true, out);
	case POL_E_NOT:
		if (eval_kind(ev, e->kid[0], PV_BOOL, out) < 0)
			return -1;
		out->u.b = !out->u.b;
		return 0;
	case POL_E_NEG:
		return eval_neg(ev, e, out);
	case POL_E_EQ:
	case POL_E_NE:
		return eval_eq(ev, e, out);
	case POL_E_LT:
	case POL_E_LE:
	case POL_E_GT:
	case POL_E_GE:
		return eval_compare(ev, e, out);
	case POL_E_IN:
		return eval_in(ev, e, out);
	case POL_E_ADD:
	case POL_E_SUB:
	case POL_E_MUL:
		return eval_arith(ev, e, out);
	case POL_E_HAS:
		return eval_has(ev, e, out);
	case POL_E_LIKE:
		return eval_like(ev, e, out);
	case POL_E_IS:
		return eval_is(ev, e, out);
	case POL_E_ATTR:
		return eval_attr(ev, e, out);
	case POL_E_METHOD:
	case POL_E_CALL:
		return pol_eval_call(ev, e, out);
	case POL_E_SET:
		return eval_set(ev, e, out);
	case POL_E_RECORD:
		return eval_record(ev, e, out);
	}
	ev->error = "unknown expression";
	return -1;
}

/* ---- like ---------------------------------------------------------------- */

static const char *find_bytes(const char *h, size_t hlen, const pol_str_t *needle)
{
	if (needle->len == 0)
		return h;
	if (needle->len > hlen)
		return NULL;
	return memmem(h, hlen, needle->p, needle->len);
}

/* Literals are whole UTF-8 sequences and UTF-8 is self-synchronising, so
 * matching bytes never splits a character; leftmost matching of the middle
 * literals is optimal for patterns whose only wildcard is `*`. */
bool pol_like_match(const pol_str_t *s, const pol_pattern_t *pat)
{
	const pol_str_t *first = &pat->lit[0], *last = &pat->lit[pat->n - 1];
	if (pat->n == 1)
		return pol_str_eq(s, first);
	if (s->len < first->len + last->len || memcmp(s->p, first->p, first->len) != 0 ||
	    memcmp(s->p + s->len - last->len, last->p, last->len) != 0)
		return false;
	const char *p = s->p + first->len;
	const char *end = s->p + s->len - last->len;
	for (size_t i = 1; i + 1 < pat->n; i++) {
		const char *hit = find_bytes(p, (size_t)(end - p), &pat->lit[i]);
		if (hit == NULL)
			return false;
		p = hit + pat->lit[i].len;
	}
	return true;
}

/* ---- policies ------------------------------------------------------------ */

int pol_eval_conditions(pol_eval_t *ev, const pol_policy_t *p)
{
	for (size_t i = 0; i < p->ncond; i++) {
		pol_value_t v;
		if (eval_kind(ev, p->cond[i].expr, PV_BOOL, &v) < 0)
			return -1;
		if (v.u.b != p->cond[i].when)
			return 0;
	}
	return 1;
}
