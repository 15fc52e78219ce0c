/* eval_call.c - Cedar's built-in methods (set operations, tags) and the
 * extension functions and methods (ip, decimal, datetime, duration), with
 * the reference's arity and type rules: a wrong argument count or type is
 * an evaluation error, as is a string an extension constructor refuses. */
#include "core/policy/eval.h"
#include "core/policy/ext.h"
#include "core/policy/scratch.h"
#include <string.h>

#define MAX_ARGS 4

typedef struct {
	pol_eval_t *ev;
	const pol_expr_t *e;
	pol_value_t arg[MAX_ARGS]; /* for methods arg[0] is the receiver */
	uint32_t n;
} call_t;

static int fail(call_t *c, const char *fmt_what)
{
	c->ev->error = pol_scratch_printf(c->ev->s, "line %u, column %u: %s: %s", c->e->line,
					  c->e->column, pol_fn_name(c->e->u.fn), fmt_what);
	return -1;
}

static int want(call_t *c, uint32_t nargs, int k0, int k1)
{
	if (c->n != nargs) {
		const char *m = pol_scratch_printf(c->ev->s, "expected %u argument(s), got %u",
						   nargs - (c->e->kind == POL_E_METHOD), c->n - (c->e->kind == POL_E_METHOD));
		return fail(c, m);
	}
	int kinds[2] = {k0, k1};
	for (uint32_t i = 0; i < nargs && i < 2; i++)
		if (kinds[i] >= 0 && c->arg[i].kind != kinds[i]) {
			const char *m = pol_scratch_printf(c->ev->s, "type error: expected %s, got %s",
							   pol_kind_name(kinds[i]), pol_kind_name(c->arg[i].kind));
			return fail(c, m);
		}
	return 0;
}

static int ext_parse(call_t *c, pol_value_t *out)
{
	if (want(c, 1, PV_STRING, -1) < 0)
		return -1;
	const pol_str_t *s = &c->arg[0].u.s;
	int rc;
	switch (c->e->u.fn) {
	case POL_FN_IP:
		out->kind = PV_IP;
		rc = pol_ip_parse(s->p, s->len, &out->u.ip);
		break;
	case POL_FN_DECIMAL:
		out->kind = PV_DECIMAL;
		rc = pol_decimal_parse(s->p, s->len, &out->u.l);
		break;
	case POL_FN_DATETIME:
		out->kind = PV_DATETIME;
		rc = pol_datetime_parse(s->p, s->len, &out->u.l);
		break;
	default:
		out->kind = PV_DURATION;
		rc = pol_duration_parse(s->p, s->len, &out->u.l);
		break;
	}
	if (rc < 0)
		return fail(c, pol_scratch_printf(c->ev->s, "invalid argument \"%.*s\"",
						  (int)(s->len > 64 ? 64 : s->len), s->p));
	return 0;
}

static int set_method(call_t *c, pol_value_t *out)
{
	pol_fn_t fn = c->e->u.fn;
	if (fn == POL_FN_IS_EMPTY) {
		if (want(c, 1, PV_SET, -1) < 0)
			return -1;
		*out = pol_bool(c->arg[0].n == 0);
		return 0;
	}
	if (fn == POL_FN_CONTAINS) {
		if (want(c, 2, PV_SET, -1) < 0)
			return -1;
		*out = pol_bool(pol_set_contains(&c->arg[0], &c->arg[1]));
		return 0;
	}
	if (want(c, 2, PV_SET, PV_SET) < 0)
		return -1;
	*out = pol_bool(fn == POL_FN_CONTAINS_ALL ? pol_set_contains_all(&c->arg[0], &c->arg[1])
						  : pol_set_contains_any(&c->arg[0], &c->arg[1]));
	return 0;
}

static int tag_method(call_t *c, pol_value_t *out)
{
	if (want(c, 2, PV_ENTITY, PV_STRING) < 0)
		return -1;
	const pol_entity_t *ent = c->ev->es ? pol_entities_find(c->ev->es, &c->arg[0].u.e) : NULL;
	const pol_str_t *key = &c->arg[1].u.s;
	const pol_value_t *v = ent ? pol_record_get(ent->tags, key->p, key->len) : NULL;
	if (c->e->u.fn == POL_FN_HAS_TAG) {
		*out = pol_bool(v != NULL);
		return 0;
	}
	if (ent == NULL)
		return fail(c, "the entity does not exist");
	if (v == NULL)
		return fail(c, pol_scratch_printf(c->ev->s, "the entity has no tag \"%.*s\"",
						  (int)(key->len > 64 ? 64 : key->len), key->p));
	*out = *v;
	return 0;
}

static int decimal_method(call_t *c, pol_value_t *out)
{
	if (want(c, 2, PV_DECIMAL, PV_DECIMAL) < 0)
		return -1;
	int64_t a = c->arg[0].u.l, b = c->arg[1].u.l;
	switch (c->e->u.fn) {
	case POL_FN_LESS_THAN:
		*out = pol_bool(a < b);
		break;
	case POL_FN_LESS_THAN_OR_EQUAL:
		*out = pol_bool(a <= b);
		break;
	case POL_FN_GREATER_THAN:
		*out = pol_bool(a > b);
		break;
	default:
		*out = pol_bool(a >= b);
		break;
	}
	return 0;
}

static int ip_method(call_t *c, pol_value_t *out)
{
	pol_fn_t fn = c->e->u.fn;
	if (fn == POL_FN_IS_IN_RANGE) {
		if (want(c, 2, PV_IP, PV_IP) < 0)
			return -1;
		*out = pol_bool(pol_ip_in_range(&c->arg[0].u.ip, &c->arg[1].u.ip));
		return 0;
	}
	if (want(c, 1, PV_IP, -1) < 0)
		return -1;
	const pol_ip_t *ip = &c->arg[0].u.ip;
	*out = pol_bool(fn == POL_FN_IS_IPV4	   ? pol_ip_is_v4(ip)
			: fn == POL_FN_IS_IPV6	   ? pol_ip_is_v6(ip)
			: fn == POL_FN_IS_LOOPBACK ? pol_ip_is_loopback(ip)
						   : pol_ip_is_multicast(ip));
	return 0;
}

static int datetime_method(call_t *c, pol_value_t *out)
{
	pol_fn_t fn = c->e->u.fn;
	int64_t r;
	int rc;
	if (fn == POL_FN_OFFSET) {
		if (want(c, 2, PV_DATETIME, PV_DURATION) < 0)
			return -1;
		rc = pol_datetime_offset(c->arg[0].u.l, c->arg[1].u.l, &r);
		out->kind = PV_DATETIME;
	} else if (fn == POL_FN_DURATION_SINCE) {
		if (want(c, 2, PV_DATETIME, PV_DATETIME) < 0)
			return -1;
		rc = pol_datetime_duration_since(c->arg[0].u.l, c->arg[1].u.l, &r);
		out->kind = PV_DURATION;
	} else if (fn == POL_FN_TO_DATE) {
		if (want(c, 1, PV_DATETIME, -1) < 0)
			return -1;
		rc = pol_datetime_to_date(c->arg[0].u.l, &r);
		out->kind = PV_DATETIME;
	} else {
		if (want(c, 1, PV_DATETIME, -1) < 0)
			return -1;
		r = pol_datetime_to_time(c->arg[0].u.l);
		rc = 0;
		out->kind = PV_DURATION;
	}
	if (rc < 0)
		return fail(c, "overflow");
	out->u.l = r;
	return 0;
}

static int duration_method(call_t *c, pol_value_t *out)
{
	static const int64_t unit[] = {86400000, 3600000, 60000, 1000, 1};
	if (want(c, 1, PV_DURATION, -1) < 0)
		return -1;
	*out = pol_long(c->arg[0].u.l / unit[c->e->u.fn - POL_FN_TO_DAYS]);
	return 0;
}

static int dispatch(call_t *c, pol_value_t *out)
{
	switch (c->e->u.fn) {
	case POL_FN_IP:
	case POL_FN_DECIMAL:
	case POL_FN_DATETIME:
	case POL_FN_DURATION:
		return ext_parse(c, out);
	case POL_FN_CONTAINS:
	case POL_FN_CONTAINS_ALL:
	case POL_FN_CONTAINS_ANY:
	case POL_FN_IS_EMPTY:
		return set_method(c, out);
	case POL_FN_GET_TAG:
	case POL_FN_HAS_TAG:
		return tag_method(c, out);
	case POL_FN_LESS_THAN:
	case POL_FN_LESS_THAN_OR_EQUAL:
	case POL_FN_GREATER_THAN:
	case POL_FN_GREATER_THAN_OR_EQUAL:
		return decimal_method(c, out);
	case POL_FN_IS_IPV4:
	case POL_FN_IS_IPV6:
	case POL_FN_IS_LOOPBACK:
	case POL_FN_IS_MULTICAST:
	case POL_FN_IS_IN_RANGE:
		return ip_method(c, out);
	case POL_FN_OFFSET:
	case POL_FN_DURATION_SINCE:
	case POL_FN_TO_DATE:
	case POL_FN_TO_TIME:
		return datetime_method(c, out);
	case POL_FN_TO_DAYS:
	case POL_FN_TO_HOURS:
	case POL_FN_TO_MINUTES:
	case POL_FN_TO_SECONDS:
	case POL_FN_TO_MILLISECONDS:
		return duration_method(c, out);
	}
	return fail(c, "unknown function");
}

int pol_eval_call(pol_eval_t *ev, const pol_expr_t *e, pol_value_t *out)
{
	call_t c = {.ev = ev, .e = e, .n = e->n};
	if (e->n > MAX_ARGS)
		return fail(&c, "too many arguments");
	for (uint32_t i = 0; i < e->n; i++)
		if (pol_eval_expr(ev, e->kid[i], &c.arg[i]) < 0)
			return -1;
	return dispatch(&c, out);
}
