/* dump.c - renders a policy tree back as Cedar text, fully parenthesised,
 * so that tests can see the shape the parser built (precedence,
 * associativity, folded literals) and the output parses back to the same
 * tree. Recursion is bounded by the tree depth (TG_MAX_POLICY_DEPTH). The
 * output wraps each node in at most one pair of parentheses, so reading it
 * back recurses at most 2 * depth + 1 levels, within the parser's bound
 * (parse.c). */
#include "core/policy/policy.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	char *buf;
	size_t size, len; /* len counts what was needed, even past size */
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
	if (o->len < o->size) {
		size_t room = o->size - o->len - 1;
		memcpy(o->buf + o->len, s, n < room ? n : room);
		o->buf[o->len + (n < room ? n : room)] = '\0';
	}
	o->len += n;
}

static void puts_(out_t *o, const char *s)
{
	put(o, s, strlen(s));
}

/* The body of a string literal with everything a reader could misread
 * escaped (and, in a pattern, literal stars). */
static void put_escaped(out_t *o, const pol_str_t *s, bool pattern_star)
{
	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->p[i];
		char esc[16];
		switch (c) {
		case '"': puts_(o, "\\\""); break;
		case '\\': puts_(o, "\\\\"); break;
		case '\n': puts_(o, "\\n"); break;
		case '\r': puts_(o, "\\r"); break;
		case '\t': puts_(o, "\\t"); break;
		case '\0': puts_(o, "\\0"); break;
		case '*':
			puts_(o, pattern_star ? "\\*" : "*");
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				int n = snprintf(esc, sizeof esc, "\\u{%x}", c);
				put(o, esc, n > 0 ? (size_t)n : 0);
			} else {
				put(o, (const char *)&s->p[i], 1);
			}
		}
	}
}

static void put_quoted(out_t *o, const pol_str_t *s, bool pattern_star)
{
	put(o, "\"", 1);
	put_escaped(o, s, pattern_star);
	put(o, "\"", 1);
}

static bool is_ident(const pol_str_t *s)
{
	static const char *const words[] = {"true", "false", "if", "then", "else", "in",
					    "is", "like", "has", "__cedar"};
	if (s->len == 0 || (s->p[0] >= '0' && s->p[0] <= '9'))
		return false;
	for (size_t i = 0; i < s->len; i++) {
		char c = s->p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcmp(s->p, words[i]) == 0)
			return false;
	return true;
}

static void put_euid(out_t *o, const pol_euid_t *e)
{
	put(o, e->type.p, e->type.len);
	puts_(o, "::");
	put_quoted(o, &e->id, false);
}

static const char *binop(pol_kind_t k)
{
	switch (k) {
	case POL_E_EQ: return " == ";
	case POL_E_NE: return " != ";
	case POL_E_LT: return " < ";
	case POL_E_LE: return " <= ";
	case POL_E_GT: return " > ";
	case POL_E_GE: return " >= ";
	case POL_E_IN: return " in ";
	case POL_E_ADD: return " + ";
	case POL_E_SUB: return " - ";
	case POL_E_MUL: return " * ";
	case POL_E_AND: return " && ";
	case POL_E_OR: return " || ";
	default: return NULL;
	}
}

static void put_expr(out_t *o, const pol_expr_t *e);

static void put_list(out_t *o, pol_expr_t *const *kid, size_t from, size_t n, const char *sep)
{
	for (size_t i = from; i < n; i++) {
		if (i > from)
			puts_(o, sep);
		put_expr(o, kid[i]);
	}
}

static void put_pattern(out_t *o, const pol_pattern_t *pat)
{
	put(o, "\"", 1);
	for (size_t i = 0; i < pat->n; i++) {
		if (i > 0)
			puts_(o, "*");
		put_escaped(o, &pat->lit[i], true);
	}
	put(o, "\"", 1);
}

static void put_expr(out_t *o, const pol_expr_t *e)
{
	char num[32];
	int n;
	const char *op = binop((pol_kind_t)e->kind);
	if (op != NULL) {
		puts_(o, "(");
		put_list(o, e->kid, 0, e->n, op);
		puts_(o, ")");
		return;
	}
	switch ((pol_kind_t)e->kind) {
	case POL_E_BOOL:
		puts_(o, e->u.b ? "true" : "false");
		break;
	case POL_E_LONG:
		n = snprintf(num, sizeof num, e->u.l < 0 ? "(%" PRId64 ")" : "%" PRId64, e->u.l);
		put(o, num, n > 0 ? (size_t)n : 0);
		break;
	case POL_E_STRING:
		put_quoted(o, &e->str, false);
		break;
	case POL_E_ENTITY:
		put_euid(o, e->u.euid);
		break;
	case POL_E_VAR: {
		static const char *const names[] = {"principal", "action", "resource", "context"};
		puts_(o, names[e->u.var]);
		break;
	}
	case POL_E_IF:
		puts_(o, "(if ");
		put_expr(o, e->kid[0]);
		puts_(o, " then ");
		put_expr(o, e->kid[1]);
		puts_(o, " else ");
		put_expr(o, e->kid[2]);
		puts_(o, ")");
		break;
	case POL_E_NOT:
		puts_(o, "(!");
		put_expr(o, e->kid[0]);
		puts_(o, ")");
		break;
	case POL_E_NEG:
		/* -(5) stays a negation: -5 would read back as a literal. */
		if (e->kid[0]->kind == POL_E_LONG && e->kid[0]->u.l >= 0) {
			puts_(o, "(-(");
			put_expr(o, e->kid[0]);
			puts_(o, "))");
		} else {
			puts_(o, "(-");
			put_expr(o, e->kid[0]);
			puts_(o, ")");
		}
		break;
	case POL_E_HAS:
		puts_(o, "(");
		put_expr(o, e->kid[0]);
		puts_(o, " has ");
		put_quoted(o, &e->str, false);
		puts_(o, ")");
		break;
	case POL_E_LIKE:
		puts_(o, "(");
		put_expr(o, e->kid[0]);
		puts_(o, " like ");
		put_pattern(o, e->u.pat);
		puts_(o, ")");
		break;
	case POL_E_IS:
		puts_(o, "(");
		put_expr(o, e->kid[0]);
		puts_(o, " is ");
		put(o, e->str.p, e->str.len);
		if (e->n == 2) {
			puts_(o, " in ");
			put_expr(o, e->kid[1]);
		}
		puts_(o, ")");
		break;
	case POL_E_ATTR:
		put_expr(o, e->kid[0]);
		if (is_ident(&e->str)) {
			puts_(o, ".");
			put(o, e->str.p, e->str.len);
		} else {
			puts_(o, "[");
			put_quoted(o, &e->str, false);
			puts_(o, "]");
		}
		break;
	case POL_E_METHOD:
		put_expr(o, e->kid[0]);
		puts_(o, ".");
		puts_(o, pol_fn_name(e->u.fn));
		puts_(o, "(");
		put_list(o, e->kid, 1, e->n, ", ");
		puts_(o, ")");
		break;
	case POL_E_CALL:
		puts_(o, pol_fn_name(e->u.fn));
		puts_(o, "(");
		put_list(o, e->kid, 0, e->n, ", ");
		puts_(o, ")");
		break;
	case POL_E_SET:
		puts_(o, "[");
		put_list(o, e->kid, 0, e->n, ", ");
		puts_(o, "]");
		break;
	case POL_E_RECORD:
		puts_(o, "{");
		for (size_t i = 0; i < e->n; i++) {
			if (i > 0)
				puts_(o, ", ");
			put_quoted(o, &e->u.keys[i], false);
			puts_(o, ": ");
			put_expr(o, e->kid[i]);
		}
		puts_(o, "}");
		break;
	default:
		puts_(o, "<?>");
	}
}

size_t pol_expr_dump(const pol_expr_t *e, char *buf, size_t size)
{
	out_t o = {buf, size, 0};
	if (size > 0)
		buf[0] = '\0';
	put_expr(&o, e);
	return o.len;
}

static void put_scope(out_t *o, const char *var, const pol_scope_t *s)
{
	puts_(o, var);
	switch (s->op) {
	case POL_SCOPE_ANY:
		break;
	case POL_SCOPE_EQ:
		puts_(o, " == ");
		put_euid(o, s->euid);
		break;
	case POL_SCOPE_IN:
		puts_(o, " in ");
		put_euid(o, s->euid);
		break;
	case POL_SCOPE_IS:
	case POL_SCOPE_IS_IN:
		puts_(o, " is ");
		put(o, s->type.p, s->type.len);
		if (s->op == POL_SCOPE_IS_IN) {
			puts_(o, " in ");
			put_euid(o, s->euid);
		}
		break;
	case POL_SCOPE_IN_SET:
		puts_(o, " in [");
		for (size_t i = 0; i < s->n; i++) {
			if (i > 0)
				puts_(o, ", ");
			put_euid(o, &s->set[i]);
		}
		puts_(o, "]");
		break;
	}
}

size_t pol_policy_dump(const pol_policy_t *p, char *buf, size_t size)
{
	out_t o = {buf, size, 0};
	if (size > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < p->nannot; i++) {
		puts_(&o, "@");
		put(&o, p->annot[i].key.p, p->annot[i].key.len);
		puts_(&o, "(");
		put_quoted(&o, &p->annot[i].value, false);
		puts_(&o, ")\n");
	}
	puts_(&o, p->effect == POL_PERMIT ? "permit (" : "forbid (");
	put_scope(&o, "principal", &p->principal);
	puts_(&o, ", ");
	put_scope(&o, "action", &p->action);
	puts_(&o, ", ");
	put_scope(&o, "resource", &p->resource);
	puts_(&o, ")");
	for (size_t i = 0; i < p->ncond; i++) {
		puts_(&o, p->cond[i].when ? "\nwhen { " : "\nunless { ");
		put_expr(&o, p->cond[i].expr);
		puts_(&o, " }");
	}
	puts_(&o, ";");
	return o.len;
}
