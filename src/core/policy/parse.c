/* parse.c - recursive-descent parser of Cedar policy sets (policy.h).
 *
 * HOW IT WORKS. One token of lookahead (p->tok). Each precedence level of
 * the expression grammar is one function, loosest first:
 *
 *   expr     := 'if' expr 'then' expr 'else' expr | or
 *   or       := and ('||' and)*                     n-ary node
 *   and      := relation ('&&' relation)*           n-ary node
 *   relation := add [relop add | 'has' (ident ('.' ident)* | str)
 *                    | 'like' str | 'is' path ['in' add]]   never chained
 *   add      := mult (('+'|'-') mult)*              left-associative
 *   mult     := unary ('*' unary)*
 *   unary    := '!'{0,4} member | '-'{0,4} member   '-' INT folds
 *   member   := primary ('.' ident ['(' args ')'] | '[' str ']')*
 *   primary  := literal | var | path '::' str | path '(' args ')'
 *             | '(' expr ')' | '[' args ']' | '{' fields '}'
 *
 * As in the reference: args and fields may end in one trailing comma, and
 * so may the scope; the reserved words (true, false, if, then, else, in,
 * is, like, has, __cedar) name no attribute after '.' or 'has' and no
 * record field unless quoted; `e has a.b` is sugar for `e has a && e.a has
 * b` and is built as that (parse_has_path).
 *
 * Every node is allocated in the set's arena, so an error anywhere simply
 * returns NULL up the stack and the caller frees the arena: no partial
 * tree needs unwinding. Lists are gathered in arena-allocated cells and
 * copied into arrays when complete. The first error is recorded and all
 * later ones are ignored.
 *
 * BOUNDS. Node depth counts the finished tree and stops at
 * TG_MAX_POLICY_DEPTH; that is the bound whatever walks the tree later
 * relies on. p->depth counts the parser's own recursion (through expr)
 * and stops at MAX_RECURSION, which leaves room for parentheses that
 * add no node: twice the tree bound, so the fully parenthesised dump of
 * any accepted tree is accepted too. A `has` path shares its receiver
 * among the nodes it stands for; what the repetitions add to evaluation
 * is capped by p->has_budget, linear in the text. Everything else is a
 * loop that consumes a token per round. */
#include "core/policy/policy.h"
#include "core/policy/arena.h"
#include "core/policy/lex.h"
#include "core/policy/text.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECURSION (2 * TG_MAX_POLICY_DEPTH + 2)
/* `has` paths repeat their receivers (parse_has_path): limits.h bounds
 * the node visits those repetitions add to a set
 * (TG_POLICY_HAS_VISITS_PER_BYTE per byte of text plus
 * TG_POLICY_HAS_VISITS_BASE), so evaluating it stays linear in its text. */
#define HAS_VISITS_PER_BYTE TG_POLICY_HAS_VISITS_PER_BYTE
#define HAS_VISITS_BASE     TG_POLICY_HAS_VISITS_BASE
/* At most this many '!' (or '-') in a row, as in the reference. */
#define MAX_UNARY_CHAIN 4

typedef struct {
	pol_lex_t lx;
	pol_tok_t tok;
	pol_arena_t *arena;
	pol_error_t *err;
	int depth;
	size_t has_budget; /* node visits `has` paths may still add (parse_has) */
	bool failed;
} parser_t;

/* A list under construction: arena cells, copied to an array at the end. */
typedef struct cell {
	void *item;
	struct cell *next;
} cell_t;

typedef struct {
	cell_t *head, *tail;
	size_t n;
} list_t;

static const char *const reserved[] = {
	"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar",
};

/* arity: the arguments besides the receiver, checked when parsing for the
 * built-in operators and -1 for extension functions, whose wrong arity is
 * an evaluation error in the reference, not a parse error. */
typedef struct {
	const char *name;
	pol_fn_t fn;
	int arity;
} fn_entry_t;

static const fn_entry_t functions[] = {
	{"ip", POL_FN_IP, -1},
	{"decimal", POL_FN_DECIMAL, -1},
	{"datetime", POL_FN_DATETIME, -1},
	{"duration", POL_FN_DURATION, -1},
};

static const fn_entry_t methods[] = {
	{"contains", POL_FN_CONTAINS, 1},
	{"containsAll", POL_FN_CONTAINS_ALL, 1},
	{"containsAny", POL_FN_CONTAINS_ANY, 1},
	{"isEmpty", POL_FN_IS_EMPTY, 0},
	{"getTag", POL_FN_GET_TAG, 1},
	{"hasTag", POL_FN_HAS_TAG, 1},
	{"lessThan", POL_FN_LESS_THAN, -1},
	{"lessThanOrEqual", POL_FN_LESS_THAN_OR_EQUAL, -1},
	{"greaterThan", POL_FN_GREATER_THAN, -1},
	{"greaterThanOrEqual", POL_FN_GREATER_THAN_OR_EQUAL, -1},
	{"isIpv4", POL_FN_IS_IPV4, -1},
	{"isIpv6", POL_FN_IS_IPV6, -1},
	{"isLoopback", POL_FN_IS_LOOPBACK, -1},
	{"isMulticast", POL_FN_IS_MULTICAST, -1},
	{"isInRange", POL_FN_IS_IN_RANGE, -1},
	{"offset", POL_FN_OFFSET, -1},
	{"durationSince", POL_FN_DURATION_SINCE, -1},
	{"toDate", POL_FN_TO_DATE, -1},
	{"toTime", POL_FN_TO_TIME, -1},
	{"toDays", POL_FN_TO_DAYS, -1},
	{"toHours", POL_FN_TO_HOURS, -1},
	{"toMinutes", POL_FN_TO_MINUTES, -1},
	{"toSeconds", POL_FN_TO_SECONDS, -1},
	{"toMilliseconds", POL_FN_TO_MILLISECONDS, -1},
};

const char *pol_fn_name(pol_fn_t fn)
{
	for (size_t i = 0; i < sizeof functions / sizeof functions[0]; i++)
		if (functions[i].fn == fn)
			return functions[i].name;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
		if (methods[i].fn == fn)
			return methods[i].name;
	return "?";
}

static const fn_entry_t *fn_lookup(const fn_entry_t *t, size_t n, const char *s, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && memcmp(t[i].name, s, len) == 0)
			return &t[i];
	return NULL;
}

/* ---- errors ---------------------------------------------------------- */

__attribute__((format(printf, 4, 5)))
static void fail_at(parser_t *p, uint32_t line, uint32_t column, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->err == NULL)
		return;
	pol_error_t *e = p->err;
	e->line = line;
	e->column = column;
	int n = snprintf(e->message, sizeof e->message, "line %" PRIu32 ", column %" PRIu32 ": ",
			 line, column);
	if (n < 0 || (size_t)n >= sizeof e->message)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(e->message + n, sizeof e->message - (size_t)n, fmt, ap) < 0)
		e->message[n] = '\0';
	va_end(ap);
}

/* What the current token is, for "found ..." in messages. */
static const char *found(const parser_t *p, char *buf, size_t size)
{
	const pol_tok_t *t = &p->tok;
	if (t->kind == TK_IDENT || t->kind == TK_INT) {
		int n = t->len > 40 ? 40 : (int)t->len;
		if (snprintf(buf, size, "`%.*s%s`", n, t->p, t->len > 40 ? "..." : "") < 0)
			return "a token";
		return buf;
	}
	return pol_tok_name(t->kind);
}

/* "expected WHAT WHERE, found X" at the current token. */
static void fail_expected(parser_t *p, const char *what, const char *where)
{
	char buf[64];
	fail_at(p, p->tok.line, p->tok.column, "expected %s%s%s, found %s", what,
		where[0] != '\0' ? " " : "", where, found(p, buf, sizeof buf));
}

static void fail_oom(parser_t *p)
{
	fail_at(p, p->tok.line, p->tok.column, "out of memory");
}

/* ---- tokens ---------------------------------------------------------- */

static int advance(parser_t *p)
{
	const char *why = NULL;
	if (p->failed)
		return -1;
	if (pol_lex_next(&p->lx, &p->tok, &why) < 0) {
		fail_at(p, p->tok.line, p->tok.column, "%s", why);
		return -1;
	}
	return 0;
}

static bool at(const parser_t *p, pol_tok_kind_t k)
{
	return p->tok.kind == k;
}

static bool at_word(const parser_t *p, const char *w)
{
	return pol_tok_is(&p->tok, w) != 0;
}

static int expect(parser_t *p, pol_tok_kind_t k, const char *where)
{
	if (!at(p, k)) {
		fail_expected(p, pol_tok_name(k), where);
		return -1;
	}
	return advance(p);
}

static int expect_word(parser_t *p, const char *w, const char *where)
{
	if (!at_word(p, w)) {
		char what[32];
		if (snprintf(what, sizeof what, "'%s'", w) < 0)
			what[0] = '\0';
		fail_expected(p, what, where);
		return -1;
	}
	return advance(p);
}

static bool is_reserved(const char *s, size_t len)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strlen(reserved[i]) == len && memcmp(reserved[i], s, len) == 0)
			return true;
	return false;
}

/* Refuses the current identifier when it is a reserved word, which the
 * reference does not take as an attribute name (after '.' or 'has') or as
 * a record field name (what says which); quoted, any name is fine. */
static int refuse_reserved(parser_t *p, const char *what)
{
	if (!is_reserved(p->tok.p, p->tok.len))
		return 0;
	fail_at(p, p->tok.line, p->tok.column,
		"`%.*s` is a reserved word and cannot be %s unless quoted (\"%.*s\")", (int)p->tok.len,
		p->tok.p, what, (int)p->tok.len, p->tok.p);
	return -1;
}

/* ---- arena helpers --------------------------------------------------- */

static int list_push(parser_t *p, list_t *l, void *item)
{
	cell_t *c = pol_arena_alloc(p->arena, sizeof *c);
	if (c == NULL) {
		fail_oom(p);
		return -1;
	}
	c->item = item;
	if (l->tail != NULL)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->n++;
	return 0;
}

/* The list's items as an array of n pointers. */
static void **list_ptrs(parser_t *p, const list_t *l)
{
	void **v = pol_arena_alloc(p->arena, (l->n ? l->n : 1) * sizeof *v);
	size_t i = 0;
	if (v == NULL) {
		fail_oom(p);
		return NULL;
	}
	for (const cell_t *c = l->head; c != NULL; c = c->next)
		v[i++] = c->item;
	return v;
}

/* The list's items (each pointing at elem bytes) copied into one array. */
static void *list_values(parser_t *p, const list_t *l, size_t elem)
{
	unsigned char *v = pol_arena_alloc(p->arena, (l->n ? l->n : 1) * elem);
	size_t i = 0;
	if (v == NULL) {
		fail_oom(p);
		return NULL;
	}
	for (const cell_t *c = l->head; c != NULL; c = c->next)
		memcpy(v + elem * i++, c->item, elem);
	return v;
}

static void *alloc(parser_t *p, size_t n)
{
	void *v = pol_arena_alloc(p->arena, n);
	if (v == NULL)
		fail_oom(p);
	return v;
}

static int str_copy(parser_t *p, const char *s, size_t len, pol_str_t *out)
{
	char *c = pol_arena_strndup(p->arena, s, len);
	if (c == NULL) {
		fail_oom(p);
		return -1;
	}
	out->p = c;
	out->len = len;
	return 0;
}

/* Line and column of byte off inside the string token t (whose position is
 * its opening quote). */
static void string_pos(const pol_tok_t *t, size_t off, uint32_t *line, uint32_t *column)
{
	*line = t->line;
	*column = t->column + 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char c = (unsigned char)t->p[i];
		if (c == '\n') {
			(*line)++;
			*column = 1;
		} else if ((c & 0xc0) != 0x80) {
			(*column)++;
		}
	}
}

/* Unescapes the current string token into out and moves past it. */
static int take_string(parser_t *p, pol_str_t *out)
{
	size_t bad = 0;
	const char *why = NULL;
	if (pol_unescape(p->arena, p->tok.p, p->tok.len, out, &bad, &why) < 0) {
		uint32_t line, column;
		string_pos(&p->tok, bad, &line, &column);
		fail_at(p, line, column, "%s", why);
		return -1;
	}
	return advance(p);
}

/* ---- sorting for duplicate checks ----------------------------------- */

static int str_cmp(const pol_str_t *a, const pol_str_t *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->p, b->p, n);
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return str_cmp(*(const pol_str_t *const *)a, *(const pol_str_t *const *)b);
}

/* Index of an element of v[0..n) (stride bytes apart, each starting with a
 * pol_str_t) whose string occurs earlier too; -1 when all differ, -2 when
 * out of memory. O(n log n). */
static long find_duplicate(const void *v, size_t n, size_t stride)
{
	long dup = -1;
	if (n < 2)
		return -1;
	const pol_str_t **s = malloc(n * sizeof *s);
	if (s == NULL)
		return -2;
	for (size_t i = 0; i < n; i++)
		s[i] = (const pol_str_t *)((const unsigned char *)v + i * stride);
	qsort(s, n, sizeof *s, str_ptr_cmp);
	for (size_t i = 1; i < n && dup == -1; i++)
		if (str_cmp(s[i - 1], s[i]) == 0) {
			const pol_str_t *later = s[i - 1] > s[i] ? s[i - 1] : s[i];
			dup = (long)(((const unsigned char *)later - (const unsigned char *)v) / stride);
		}
	free(s);
	return dup;
}

/* ---- names and entity references ------------------------------------ */

/* IDENT ('::' IDENT)* into *path; when it continues with '::' STRING, that
 * is an entity reference: *euid is set (else left NULL). what names the
 * construct for messages. */
static int parse_name(parser_t *p, pol_str_t *path, pol_euid_t **euid, const char *what)
{
	char *buf;
	size_t len = 0;
	*euid = NULL;
	if (!at(p, TK_IDENT)) {
		fail_expected(p, what, "");
		return -1;
	}
	list_t parts = {0};
	for (;;) {
		if (is_reserved(p->tok.p, p->tok.len)) {
			fail_at(p, p->tok.line, p->tok.column, "`%.*s` is a reserved word and cannot name a type",
				(int)(p->tok.len > 40 ? 40 : p->tok.len), p->tok.p);
			return -1;
		}
		pol_tok_t *part = alloc(p, sizeof *part);
		if (part == NULL || list_push(p, &parts, part) < 0)
			return -1;
		*part = p->tok;
		len += p->tok.len + 2;
		if (advance(p) < 0)
			return -1;
		if (!at(p, TK_PATHSEP))
			break;
		if (advance(p) < 0)
			return -1;
		if (at(p, TK_STRING))
			break;
		if (!at(p, TK_IDENT)) {
			fail_expected(p, "an identifier or a string", "after '::'");
			return -1;
		}
	}
	if ((buf = alloc(p, len + 1)) == NULL)
		return -1;
	len = 0;
	for (const cell_t *c = parts.head; c != NULL; c = c->next) {
		const pol_tok_t *t = c->item;
		if (len > 0) {
			memcpy(buf + len, "::", 2);
			len += 2;
		}
		memcpy(buf + len, t->p, t->len);
		len += t->len;
	}
	path->p = buf;
	path->len = len;
	if (at(p, TK_STRING)) {
		if ((*euid = alloc(p, sizeof **euid)) == NULL)
			return -1;
		(*euid)->type = *path;
		return take_string(p, &(*euid)->id);
	}
	return 0;
}

static pol_euid_t *parse_euid(parser_t *p, const char *what)
{
	pol_str_t path;
	pol_euid_t *e = NULL;
	uint32_t line = p->tok.line, column = p->tok.column;
	if (parse_name(p, &path, &e, what) < 0)
		return NULL;
	if (e == NULL) {
		fail_at(p, line, column, "expected %s like Type::\"id\", found the type `%.*s` without an id",
			what, (int)(path.len > 40 ? 40 : path.len), path.p);
		return NULL;
	}
	return e;
}

static pol_str_t *parse_type(parser_t *p, const char *where)
{
	pol_str_t *path = alloc(p, sizeof *path);
	pol_euid_t *e = NULL;
	uint32_t line = p->tok.line, column = p->tok.column;
	if (path == NULL)
		return NULL;
	if (!at(p, TK_IDENT)) {
		fail_expected(p, "an entity type", where);
		return NULL;
	}
	if (parse_name(p, path, &e, "an entity type") < 0)
		return NULL;
	if (e != NULL) {
		fail_at(p, line, column, "expected an entity type %s, found an entity reference", where);
		return NULL;
	}
	return path;
}

/* ---- expressions ----------------------------------------------------- */

static pol_expr_t *parse_expr(parser_t *p);
static pol_expr_t *parse_add(parser_t *p);
static pol_expr_t *parse_unary(parser_t *p);

static pol_expr_t *node(parser_t *p, pol_kind_t kind, uint32_t line, uint32_t column)
{
	pol_expr_t *e = alloc(p, sizeof *e);
	if (e == NULL)
		return NULL;
	e->kind = (uint8_t)kind;
	e->depth = 1;
	e->line = line;
	e->column = column;
	return e;
}

/* Gives e its n children and checks the depth bound. */
static pol_expr_t *with_kids(parser_t *p, pol_expr_t *e, pol_expr_t **kid, size_t n)
{
	unsigned depth = 0;
	if (e == NULL || kid == NULL)
		return NULL;
	if (n > UINT32_MAX) {
		fail_at(p, e->line, e->column, "expression is too large");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (kid[i]->depth > depth)
			depth = kid[i]->depth;
	if (depth + 1 > TG_MAX_POLICY_DEPTH) {
		fail_at(p, e->line, e->column, "expression nests too deeply (the limit is %d levels)",
			TG_MAX_POLICY_DEPTH);
		return NULL;
	}
	e->kid = kid;
	e->n = (uint32_t)n;
	e->depth = (uint16_t)(depth + 1);
	return e;
}

static pol_expr_t *unary_node(parser_t *p, pol_kind_t kind, pol_expr_t *a, uint32_t line,
			      uint32_t column)
{
	pol_expr_t **k = alloc(p, sizeof *k);
	if (a == NULL || k == NULL)
		return NULL;
	k[0] = a;
	return with_kids(p, node(p, kind, line, column), k, 1);
}

static pol_expr_t *binary_node(parser_t *p, pol_kind_t kind, pol_expr_t *a, pol_expr_t *b)
{
	pol_expr_t **k = alloc(p, 2 * sizeof *k);
	if (a == NULL || b == NULL || k == NULL)
		return NULL;
	k[0] = a;
	k[1] = b;
	return with_kids(p, node(p, kind, a->line, a->column), k, 2);
}

/* Comma-separated expressions up to the closing token (which is consumed);
 * first, when not NULL, is put before them (a method's receiver). One
 * trailing comma may follow the last expression, as in the reference
 * (`[1, 2,]`, `f(x,)`), but a comma alone (`[,]`) is no list. */
static int parse_args(parser_t *p, pol_tok_kind_t close, const char *where, pol_expr_t *first,
		      list_t *out)
{
	if (first != NULL && list_push(p, out, first) < 0)
		return -1;
	while (!at(p, close)) {
		pol_expr_t *e = parse_expr(p);
		if (e == NULL || list_push(p, out, e) < 0)
			return -1;
		if (!at(p, TK_COMMA))
			break;
		if (advance(p) < 0)
			return -1;
	}
	return expect(p, close, where);
}

/* The integer token as a long, negated when it follows '-' (whose position
 * line:column is then the literal's). */
static pol_expr_t *parse_long(parser_t *p, bool negative, uint32_t line, uint32_t column)
{
	uint64_t v = 0;
	uint64_t max = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (size_t i = 0; i < p->tok.len; i++) {
		unsigned d = (unsigned)(p->tok.p[i] - '0');
		if (v > (max - d) / 10) {
			fail_at(p, line, column, "integer literal is out of range (a long is between "
						 "-9223372036854775808 and 9223372036854775807)");
			return NULL;
		}
		v = v * 10 + d;
	}
	pol_expr_t *e = node(p, POL_E_LONG, line, column);
	if (e == NULL || advance(p) < 0)
		return NULL;
	e->u.l = negative ? (int64_t)(0 - v) : (int64_t)v;
	return e;
}

static pol_expr_t *parse_call(parser_t *p, const pol_str_t *name, uint32_t line, uint32_t column)
{
	list_t args = {0};
	const fn_entry_t *f = fn_lookup(functions, sizeof functions / sizeof functions[0], name->p,
					name->len);
	if (f == NULL) {
		fail_at(p, line, column, "unknown function `%.*s` (Cedar knows ip, decimal, datetime, duration)",
			(int)(name->len > 40 ? 40 : name->len), name->p);
		return NULL;
	}
	if (advance(p) < 0 || parse_args(p, TK_RPAREN, "after the function's arguments", NULL, &args) < 0)
		return NULL;
	if (f->arity >= 0 && args.n != (size_t)f->arity) {
		fail_at(p, line, column, "`%s` takes %d argument%s, found %zu", f->name, f->arity,
			f->arity == 1 ? "" : "s", args.n);
		return NULL;
	}
	pol_expr_t *e = node(p, POL_E_CALL, line, column);
	if (e == NULL)
		return NULL;
	e->u.fn = f->fn;
	return with_kids(p, e, (pol_expr_t **)list_ptrs(p, &args), args.n);
}

static const struct {
	const char *name;
	pol_var_t var;
} variables[] = {
	{"principal", POL_VAR_PRINCIPAL},
	{"action", POL_VAR_ACTION},
	{"resource", POL_VAR_RESOURCE},
	{"context", POL_VAR_CONTEXT},
};

/* An identifier-led primary: literal, variable, entity or call. */
static pol_expr_t *parse_ident_primary(parser_t *p)
{
	uint32_t line = p->tok.line, column = p->tok.column;
	pol_str_t path;
	pol_euid_t *euid;
	if (at_word(p, "true") || at_word(p, "false")) {
		pol_expr_t *e = node(p, POL_E_BOOL, line, column);
		if (e == NULL)
			return NULL;
		e->u.b = at_word(p, "true");
		return advance(p) < 0 ? NULL : e;
	}
	if (at_word(p, "if")) {
		fail_at(p, line, column, "an if-expression here must be in parentheses");
		return NULL;
	}
	if (parse_name(p, &path, &euid, "an expression") < 0)
		return NULL;
	if (euid != NULL) {
		pol_expr_t *e = node(p, POL_E_ENTITY, line, column);
		if (e != NULL)
			e->u.euid = euid;
		return e;
	}
	if (at(p, TK_LPAREN))
		return parse_call(p, &path, line, column);
	for (size_t i = 0; i < sizeof variables / sizeof variables[0]; i++)
		if (strcmp(path.p, variables[i].name) == 0) {
			pol_expr_t *e = node(p, POL_E_VAR, line, column);
			if (e != NULL)
				e->u.var = variables[i].var;
			return e;
		}
	fail_at(p, line, column, "unknown variable `%.*s` (Cedar has principal, action, resource "
				 "and context; entities are written Type::\"id\")",
		(int)(path.len > 40 ? 40 : path.len), path.p);
	return NULL;
}

static pol_expr_t *parse_record(parser_t *p)
{
	uint32_t line = p->tok.line, column = p->tok.column;
	list_t keys = {0}, vals = {0};
	if (advance(p) < 0)
		return NULL;
	while (!at(p, TK_RBRACE)) {
		pol_str_t *key = alloc(p, sizeof *key);
		if (key == NULL)
			return NULL;
		if (at(p, TK_IDENT)) {
			if (refuse_reserved(p, "a field name") < 0 ||
			    str_copy(p, p->tok.p, p->tok.len, key) < 0 || advance(p) < 0)
				return NULL;
		} else if (at(p, TK_STRING)) {
			if (take_string(p, key) < 0)
				return NULL;
		} else {
			fail_expected(p, "a field name", "in the record");
			return NULL;
		}
		if (expect(p, TK_COLON, "after the record field name") < 0)
			return NULL;
		pol_expr_t *v = parse_expr(p);
		if (v == NULL || list_push(p, &keys, key) < 0 || list_push(p, &vals, v) < 0)
			return NULL;
		if (!at(p, TK_COMMA))
			break;
		if (advance(p) < 0)
			return NULL;
	}
	if (expect(p, TK_RBRACE, "to close the record") < 0)
		return NULL;
	pol_str_t *karr = list_values(p, &keys, sizeof(pol_str_t));
	if (karr == NULL)
		return NULL;
	long dup = find_duplicate(karr, keys.n, sizeof(pol_str_t));
	if (dup == -2) {
		fail_oom(p);
		return NULL;
	}
	if (dup >= 0) {
		fail_at(p, line, column, "the record has the field `%.*s` twice",
			(int)(karr[dup].len > 40 ? 40 : karr[dup].len), karr[dup].p);
		return NULL;
	}
	pol_expr_t *e = node(p, POL_E_RECORD, line, column);
	if (e == NULL)
		return NULL;
	e->u.keys = karr;
	return with_kids(p, e, (pol_expr_t **)list_ptrs(p, &vals), vals.n);
}

static pol_expr_t *parse_primary(parser_t *p)
{
	uint32_t line = p->tok.line, column = p->tok.column;
	pol_expr_t *e;
	list_t items = {0};
	switch (p->tok.kind) {
	case TK_INT:
		return parse_long(p, false, line, column);
	case TK_STRING:
		if ((e = node(p, POL_E_STRING, line, column)) == NULL || take_string(p, &e->str) < 0)
			return NULL;
		return e;
	case TK_IDENT:
		return parse_ident_primary(p);
	case TK_LPAREN:
		if (advance(p) < 0 || (e = parse_expr(p)) == NULL)
			return NULL;
		return expect(p, TK_RPAREN, "to close the parenthesis") < 0 ? NULL : e;
	case TK_LBRACKET:
		if (advance(p) < 0 || parse_args(p, TK_RBRACKET, "to close the set", NULL, &items) < 0)
			return NULL;
		return with_kids(p, node(p, POL_E_SET, line, column), (pol_expr_t **)list_ptrs(p, &items),
				 items.n);
	case TK_LBRACE:
		return parse_record(p);
	default:
		fail_expected(p, "an expression", "");
		return NULL;
	}
}

static pol_expr_t *parse_method(parser_t *p, pol_expr_t *recv, const pol_tok_t *name)
{
	list_t args = {0};
	const fn_entry_t *m = fn_lookup(methods, sizeof methods / sizeof methods[0], name->p, name->len);
	if (m == NULL) {
		fail_at(p, name->line, name->column, "unknown method `%.*s`",
			(int)(name->len > 40 ? 40 : name->len), name->p);
		return NULL;
	}
	if (advance(p) < 0 || parse_args(p, TK_RPAREN, "after the method's arguments", recv, &args) < 0)
		return NULL;
	if (m->arity >= 0 && args.n - 1 != (size_t)m->arity) {
		fail_at(p, name->line, name->column, "`%s` takes %d argument%s, found %zu", m->name,
			m->arity, m->arity == 1 ? "" : "s", args.n - 1);
		return NULL;
	}
	pol_expr_t *e = node(p, POL_E_METHOD, recv->line, recv->column);
	if (e == NULL)
		return NULL;
	e->u.fn = m->fn;
	return with_kids(p, e, (pol_expr_t **)list_ptrs(p, &args), args.n);
}

static pol_expr_t *attr_node(parser_t *p, pol_expr_t *e, const pol_str_t *name)
{
	pol_expr_t *a = unary_node(p, POL_E_ATTR, e, e->line, e->column);
	if (a != NULL)
		a->str = *name;
	return a;
}

/* After '.': an attribute name (not a reserved word) or a method call. */
static pol_expr_t *parse_dot(parser_t *p, pol_expr_t *e)
{
	pol_str_t attr;
	if (advance(p) < 0)
		return NULL;
	if (!at(p, TK_IDENT)) {
		fail_expected(p, "an attribute or method name", "after '.'");
		return NULL;
	}
	if (refuse_reserved(p, "an attribute name") < 0)
		return NULL;
	pol_tok_t name = p->tok;
	if (advance(p) < 0)
		return NULL;
	if (at(p, TK_LPAREN))
		return parse_method(p, e, &name);
	return str_copy(p, name.p, name.len, &attr) < 0 ? NULL : attr_node(p, e, &attr);
}

/* After '[': a string attribute name and ']'. */
static pol_expr_t *parse_index(parser_t *p, pol_expr_t *e)
{
	pol_str_t attr;
	if (advance(p) < 0)
		return NULL;
	if (!at(p, TK_STRING)) {
		fail_expected(p, "a string attribute name", "inside '[ ]'");
		return NULL;
	}
	if (take_string(p, &attr) < 0 || expect(p, TK_RBRACKET, "after the attribute name") < 0)
		return NULL;
	return attr_node(p, e, &attr);
}

/* Member accesses and method calls after a primary. */
static pol_expr_t *parse_postfix(parser_t *p, pol_expr_t *e)
{
	while (e != NULL && (at(p, TK_DOT) || at(p, TK_LBRACKET)))
		e = at(p, TK_DOT) ? parse_dot(p, e) : parse_index(p, e);
	return e;
}

/* The operand of a '-' chain: an integer literal directly after the last
 * '-' becomes a negative literal (so the smallest long can be written),
 * unless the literal has member accesses. *folded says whether it did. */
static pol_expr_t *parse_minus_operand(parser_t *p, const pol_tok_t *minus, bool *folded)
{
	*folded = false;
	if (at(p, TK_INT)) {
		pol_lex_t save = p->lx;
		pol_tok_t int_tok = p->tok;
		if (advance(p) < 0)
			return NULL;
		bool access = at(p, TK_DOT) || at(p, TK_LBRACKET);
		p->lx = save;
		p->tok = int_tok;
		if (!access) {
			*folded = true;
			return parse_long(p, true, minus->line, minus->column);
		}
	}
	return parse_postfix(p, parse_primary(p));
}

/* Reads a run of one unary operator into ops (at most MAX_UNARY_CHAIN of
 * them, all the same: the reference refuses `!!!!!x` and `!-x`, whose
 * operand is no member expression); returns how many. */
static int parse_unary_ops(parser_t *p, pol_tok_t *ops)
{
	pol_tok_kind_t kind = p->tok.kind;
	const char *op = kind == TK_BANG ? "!" : "-";
	const char *other = kind == TK_BANG ? "-" : "!";
	int n = 0;
	while (at(p, kind)) {
		if (n == MAX_UNARY_CHAIN) {
			fail_at(p, p->tok.line, p->tok.column, "too many `%s` in a row: Cedar allows at most "
				"%d (parentheses start a new run)", op, MAX_UNARY_CHAIN);
			return -1;
		}
		ops[n++] = p->tok;
		if (advance(p) < 0)
			return -1;
	}
	if (at(p, TK_BANG) || at(p, TK_MINUS)) {
		fail_at(p, p->tok.line, p->tok.column, "`%s` cannot follow `%s` directly: use "
			"parentheses, as in %s(%sx)", other, op, op, other);
		return -1;
	}
	return n;
}

/* unary := '!'{0,4} member | '-'{0,4} member. A loop, not recursion: the
 * chain is short, and each operator still counts in the tree's depth. */
static pol_expr_t *parse_unary(parser_t *p)
{
	pol_tok_t ops[MAX_UNARY_CHAIN];
	if (!at(p, TK_BANG) && !at(p, TK_MINUS))
		return parse_postfix(p, parse_primary(p));
	bool bang = at(p, TK_BANG), folded = false;
	int n = parse_unary_ops(p, ops);
	if (n < 0)
		return NULL;
	pol_expr_t *e = bang ? parse_postfix(p, parse_primary(p))
			     : parse_minus_operand(p, &ops[n - 1], &folded);
	for (int i = n - 1 - (folded ? 1 : 0); i >= 0 && e != NULL; i--)
		e = unary_node(p, bang ? POL_E_NOT : POL_E_NEG, e, ops[i].line, ops[i].column);
	return e;
}

static pol_expr_t *parse_mult(parser_t *p)
{
	pol_expr_t *e = parse_unary(p);
	while (e != NULL && at(p, TK_STAR)) {
		if (advance(p) < 0)
			return NULL;
		e = binary_node(p, POL_E_MUL, e, parse_unary(p));
	}
	return e;
}

static pol_expr_t *parse_add(parser_t *p)
{
	pol_expr_t *e = parse_mult(p);
	while (e != NULL && (at(p, TK_PLUS) || at(p, TK_MINUS))) {
		pol_kind_t k = at(p, TK_PLUS) ? POL_E_ADD : POL_E_SUB;
		if (advance(p) < 0)
			return NULL;
		e = binary_node(p, k, e, parse_mult(p));
	}
	return e;
}

/* The relational operator at the current token, or -1. */
static int relop(const parser_t *p)
{
	switch (p->tok.kind) {
	case TK_EQ: return POL_E_EQ;
	case TK_NE: return POL_E_NE;
	case TK_LT: return POL_E_LT;
	case TK_LE: return POL_E_LE;
	case TK_GT: return POL_E_GT;
	case TK_GE: return POL_E_GE;
	default: return at_word(p, "in") ? POL_E_IN : -1;
	}
}

static bool at_relation(const parser_t *p)
{
	return relop(p) >= 0 || at_word(p, "has") || at_word(p, "like") || at_word(p, "is");
}

static pol_expr_t *has_node(parser_t *p, pol_expr_t *l, const pol_str_t *name)
{
	pol_expr_t *e = unary_node(p, POL_E_HAS, l, l->line, l->column);
	if (e != NULL)
		e->str = *name;
	return e;
}

/* How many nodes a walk of e visits, a shared subtree once per way to it,
 * stopping soon after cap: at most cap + 1 is returned. Recursion is
 * bounded by the tree depth. */
static size_t visits(const pol_expr_t *e, size_t cap)
{
	size_t n = 1;
	for (uint32_t i = 0; i < e->n && n <= cap; i++)
		n += visits(e->kid[i], cap - n);
	return n;
}

/* A path of k names repeats its receiver l k times in the tree (shared,
 * but evaluated once per use), and l may hold such paths itself: nested,
 * that would multiply. So the repetitions are charged to p->has_budget,
 * which is linear in the text. */
static int charge_has_path(parser_t *p, const pol_expr_t *l, size_t k, const pol_tok_t *at_tok)
{
	size_t v = visits(l, p->has_budget);
	if (p->has_budget / v < k - 1) {
		fail_at(p, at_tok->line, at_tok->column, "`x has a.b` means `x has a && x.a has b`, and "
			"here that repeats x too often: simplify the expression before 'has'");
		return -1;
	}
	p->has_budget -= (k - 1) * v;
	return 0;
}

/* The names of a `has` path a.b.c into l (pol_str_t cells), each an
 * identifier that is not a reserved word. */
static int parse_has_names(parser_t *p, list_t *l)
{
	for (;;) {
		pol_str_t *name = alloc(p, sizeof *name);
		if (name == NULL || refuse_reserved(p, "an attribute name") < 0 ||
		    str_copy(p, p->tok.p, p->tok.len, name) < 0 || list_push(p, l, name) < 0 ||
		    advance(p) < 0)
			return -1;
		if (!at(p, TK_DOT))
			return 0;
		if (advance(p) < 0)
			return -1;
		if (!at(p, TK_IDENT)) {
			fail_expected(p, "an attribute name", "after '.' in the `has` path");
			return -1;
		}
	}
}

/* `l has a.b.c` is the reference's shorthand for `l has a && l.a has b &&
 * l.a.b has c`, and is built as that: one n-ary POL_E_AND over POL_E_HAS
 * nodes whose receivers are POL_E_ATTR chains sharing l and each other,
 * so the evaluator sees nothing new. && stops at the first false, and an
 * error (l.a is not a record or entity) is the error of `l.a has b`. The
 * depth bound counts the longest chain: depth(l) + k + 1. */
static pol_expr_t *parse_has_path(parser_t *p, pol_expr_t *l)
{
	pol_tok_t first = p->tok;
	list_t names = {0}, items = {0};
	if (parse_has_names(p, &names) < 0)
		return NULL;
	if (names.n == 1)
		return has_node(p, l, names.head->item);
	if (charge_has_path(p, l, names.n, &first) < 0)
		return NULL;
	pol_expr_t *recv = l;
	for (const cell_t *c = names.head; c != NULL; c = c->next) {
		const pol_str_t *name = c->item;
		pol_expr_t *h = has_node(p, recv, name);
		if (h == NULL || list_push(p, &items, h) < 0)
			return NULL;
		if (c->next != NULL && (recv = attr_node(p, recv, name)) == NULL)
			return NULL;
	}
	return with_kids(p, node(p, POL_E_AND, l->line, l->column), (pol_expr_t **)list_ptrs(p, &items),
			 items.n);
}

/* After 'has': an attribute name, a path a.b.c of them, or a string;
 * nothing else may follow it inside the operand (`has a.b(1)`, `has
 * a["b"]`, `has "a".b` and `has a + 1` are all refused by the reference). */
static pol_expr_t *parse_has(parser_t *p, pol_expr_t *l)
{
	pol_expr_t *e;
	if (at(p, TK_IDENT)) {
		e = parse_has_path(p, l);
	} else if (at(p, TK_STRING)) {
		pol_str_t name;
		e = take_string(p, &name) < 0 ? NULL : has_node(p, l, &name);
	} else {
		fail_expected(p, "an attribute name, a path like a.b or a string", "after 'has'");
		return NULL;
	}
	if (e != NULL && (at(p, TK_DOT) || at(p, TK_LBRACKET) || at(p, TK_LPAREN) || at(p, TK_PATHSEP) ||
			  at(p, TK_PLUS) || at(p, TK_MINUS) || at(p, TK_STAR))) {
		char buf[64];
		fail_at(p, p->tok.line, p->tok.column, "the right side of 'has' must be an attribute name, "
			"a path like a.b or a string; found %s after it", found(p, buf, sizeof buf));
		return NULL;
	}
	return e;
}

static pol_expr_t *parse_like(parser_t *p, pol_expr_t *l)
{
	pol_expr_t *e = unary_node(p, POL_E_LIKE, l, l->line, l->column);
	pol_pattern_t *pat = alloc(p, sizeof *pat);
	size_t bad = 0;
	const char *why = NULL;
	if (e == NULL || pat == NULL)
		return NULL;
	if (!at(p, TK_STRING)) {
		fail_expected(p, "a pattern string", "after 'like'");
		return NULL;
	}
	if (pol_unescape_pattern(p->arena, p->tok.p, p->tok.len, pat, &bad, &why) < 0) {
		uint32_t line, column;
		string_pos(&p->tok, bad, &line, &column);
		fail_at(p, line, column, "%s", why);
		return NULL;
	}
	e->u.pat = pat;
	return advance(p) < 0 ? NULL : e;
}

static pol_expr_t *parse_is(parser_t *p, pol_expr_t *l)
{
	pol_str_t *type = parse_type(p, "after 'is'");
	pol_expr_t **k = alloc(p, 2 * sizeof *k);
	size_t n = 1;
	if (type == NULL || k == NULL)
		return NULL;
	k[0] = l;
	if (at_word(p, "in")) {
		if (advance(p) < 0 || (k[1] = parse_add(p)) == NULL)
			return NULL;
		n = 2;
	}
	pol_expr_t *e = with_kids(p, node(p, POL_E_IS, l->line, l->column), k, n);
	if (e != NULL)
		e->str = *type;
	return e;
}

static pol_expr_t *parse_relation(parser_t *p)
{
	pol_expr_t *l = parse_add(p), *e;
	int op = relop(p);
	if (l == NULL || !at_relation(p))
		return l;
	bool has = at_word(p, "has"), like = at_word(p, "like");
	if (advance(p) < 0)
		return NULL;
	if (op >= 0)
		e = binary_node(p, (pol_kind_t)op, l, parse_add(p));
	else if (has)
		e = parse_has(p, l);
	else if (like)
		e = parse_like(p, l);
	else
		e = parse_is(p, l);
	if (e != NULL && at_relation(p)) {
		fail_at(p, p->tok.line, p->tok.column,
			"comparisons cannot be chained: add parentheses to say which comes first");
		return NULL;
	}
	return e;
}

/* and/or chains: one n-ary node per chain. */
static pol_expr_t *parse_chain(parser_t *p, pol_tok_kind_t tok, pol_kind_t kind,
			       pol_expr_t *(*operand)(parser_t *))
{
	pol_expr_t *first = operand(p);
	list_t items = {0};
	if (first == NULL || !at(p, tok))
		return first;
	if (list_push(p, &items, first) < 0)
		return NULL;
	while (at(p, tok)) {
		pol_expr_t *e;
		if (advance(p) < 0 || (e = operand(p)) == NULL || list_push(p, &items, e) < 0)
			return NULL;
	}
	return with_kids(p, node(p, kind, first->line, first->column), (pol_expr_t **)list_ptrs(p, &items),
			 items.n);
}

static pol_expr_t *parse_and(parser_t *p)
{
	return parse_chain(p, TK_AND, POL_E_AND, parse_relation);
}

static pol_expr_t *parse_or(parser_t *p)
{
	return parse_chain(p, TK_OR, POL_E_OR, parse_and);
}

static pol_expr_t *parse_if(parser_t *p)
{
	uint32_t line = p->tok.line, column = p->tok.column;
	pol_expr_t **k = alloc(p, 3 * sizeof *k);
	if (k == NULL || advance(p) < 0 || (k[0] = parse_expr(p)) == NULL ||
	    expect_word(p, "then", "after the if-condition") < 0 || (k[1] = parse_expr(p)) == NULL ||
	    expect_word(p, "else", "after the then-branch") < 0 || (k[2] = parse_expr(p)) == NULL)
		return NULL;
	return with_kids(p, node(p, POL_E_IF, line, column), k, 3);
}

static pol_expr_t *parse_expr(parser_t *p)
{
	pol_expr_t *e;
	if (++p->depth > MAX_RECURSION) {
		fail_at(p, p->tok.line, p->tok.column, "expression nests too deeply (more than %d levels)",
			MAX_RECURSION);
		return NULL;
	}
	e = at_word(p, "if") ? parse_if(p) : parse_or(p);
	p->depth--;
	return e;
}

/* ---- policies -------------------------------------------------------- */

static bool is_action_type(const pol_str_t *t)
{
	return strcmp(t->p, "Action") == 0 ||
	       (t->len > 8 && strcmp(t->p + t->len - 8, "::Action") == 0);
}

static int check_action_euid(parser_t *p, const pol_euid_t *e, uint32_t line, uint32_t column)
{
	if (e == NULL)
		return -1;
	if (!is_action_type(&e->type)) {
		fail_at(p, line, column, "an action must be an entity of type Action (or Ns::Action), not `%.*s`",
			(int)(e->type.len > 40 ? 40 : e->type.len), e->type.p);
		return -1;
	}
	return 0;
}

static int parse_action_set(parser_t *p, pol_scope_t *s)
{
	list_t items = {0};
	if (advance(p) < 0)
		return -1;
	while (!at(p, TK_RBRACKET)) {
		uint32_t line = p->tok.line, column = p->tok.column;
		pol_euid_t *e = parse_euid(p, "an action");
		if (check_action_euid(p, e, line, column) < 0 || list_push(p, &items, e) < 0)
			return -1;
		if (!at(p, TK_COMMA))
			break;
		if (advance(p) < 0)
			return -1;
	}
	if (expect(p, TK_RBRACKET, "to close the list of actions") < 0)
		return -1;
	s->op = POL_SCOPE_IN_SET;
	s->n = items.n;
	s->set = list_values(p, &items, sizeof(pol_euid_t));
	return s->set == NULL ? -1 : 0;
}

static int parse_action_scope(parser_t *p, pol_scope_t *s)
{
	uint32_t line, column;
	if (at_word(p, "is")) {
		fail_at(p, p->tok.line, p->tok.column, "'is' cannot constrain the action");
		return -1;
	}
	if (!at(p, TK_EQ) && !at_word(p, "in"))
		return 0;
	s->op = at(p, TK_EQ) ? POL_SCOPE_EQ : POL_SCOPE_IN;
	if (advance(p) < 0)
		return -1;
	if (s->op == POL_SCOPE_IN && at(p, TK_LBRACKET))
		return parse_action_set(p, s);
	line = p->tok.line;
	column = p->tok.column;
	s->euid = parse_euid(p, "an action");
	return check_action_euid(p, s->euid, line, column);
}

/* principal or resource: [== E | in E | is T [in E]] */
static int parse_entity_scope(parser_t *p, pol_scope_t *s, const char *var)
{
	if (at(p, TK_EQ) || at_word(p, "in")) {
		s->op = at(p, TK_EQ) ? POL_SCOPE_EQ : POL_SCOPE_IN;
		if (advance(p) < 0)
			return -1;
		s->euid = parse_euid(p, "an entity");
		return s->euid == NULL ? -1 : 0;
	}
	if (!at_word(p, "is"))
		return 0;
	if (advance(p) < 0)
		return -1;
	char where[32];
	if (snprintf(where, sizeof where, "after '%s is'", var) < 0)
		where[0] = '\0';
	const pol_str_t *t = parse_type(p, where);
	if (t == NULL)
		return -1;
	s->op = POL_SCOPE_IS;
	s->type = *t;
	if (!at_word(p, "in"))
		return 0;
	s->op = POL_SCOPE_IS_IN;
	if (advance(p) < 0)
		return -1;
	s->euid = parse_euid(p, "an entity");
	return s->euid == NULL ? -1 : 0;
}

static int parse_scope(parser_t *p, pol_policy_t *pol)
{
	if (expect_word(p, "principal", "as the first part of the scope") < 0 ||
	    parse_entity_scope(p, &pol->principal, "principal") < 0 ||
	    expect(p, TK_COMMA, "after the principal constraint") < 0 ||
	    expect_word(p, "action", "as the second part of the scope") < 0 ||
	    parse_action_scope(p, &pol->action) < 0 ||
	    expect(p, TK_COMMA, "after the action constraint") < 0 ||
	    expect_word(p, "resource", "as the third part of the scope") < 0 ||
	    parse_entity_scope(p, &pol->resource, "resource") < 0)
		return -1;
	if (at(p, TK_COMMA) && advance(p) < 0) /* one trailing comma, as in the reference */
		return -1;
	return expect(p, TK_RPAREN, "after the resource constraint");
}

static int parse_annotations(parser_t *p, pol_policy_t *pol)
{
	list_t items = {0};
	while (at(p, TK_AT)) {
		pol_annot_t *a = alloc(p, sizeof *a);
		if (a == NULL || advance(p) < 0)
			return -1;
		if (!at(p, TK_IDENT)) {
			fail_expected(p, "an annotation name", "after '@'");
			return -1;
		}
		if (str_copy(p, p->tok.p, p->tok.len, &a->key) < 0 || advance(p) < 0)
			return -1;
		if (at(p, TK_LPAREN)) {
			if (advance(p) < 0)
				return -1;
			if (!at(p, TK_STRING)) {
				fail_expected(p, "a string", "as the annotation's value");
				return -1;
			}
			if (take_string(p, &a->value) < 0 ||
			    expect(p, TK_RPAREN, "after the annotation's value") < 0)
				return -1;
		} else if (str_copy(p, "", 0, &a->value) < 0) {
			return -1;
		}
		if (list_push(p, &items, a) < 0)
			return -1;
	}
	pol->nannot = items.n;
	pol_annot_t *arr = list_values(p, &items, sizeof *arr);
	if ((pol->annot = arr) == NULL)
		return -1;
	long dup = find_duplicate(arr, items.n, sizeof *arr);
	if (dup == -2) {
		fail_oom(p);
		return -1;
	}
	if (dup >= 0) {
		fail_at(p, pol->line, pol->column, "the policy has the annotation @%.*s twice",
			(int)(arr[dup].key.len > 40 ? 40 : arr[dup].key.len), arr[dup].key.p);
		return -1;
	}
	return 0;
}

static int parse_conditions(parser_t *p, pol_policy_t *pol)
{
	list_t items = {0};
	while (at_word(p, "when") || at_word(p, "unless")) {
		pol_cond_t *c = alloc(p, sizeof *c);
		if (c == NULL)
			return -1;
		c->when = at_word(p, "when");
		if (advance(p) < 0 || expect(p, TK_LBRACE, c->when ? "after 'when'" : "after 'unless'") < 0)
			return -1;
		if (at(p, TK_RBRACE)) {
			fail_at(p, p->tok.line, p->tok.column, "the condition is empty: write an expression "
							       "between '{' and '}'");
			return -1;
		}
		if ((c->expr = parse_expr(p)) == NULL || expect(p, TK_RBRACE, "to close the condition") < 0 ||
		    list_push(p, &items, c) < 0)
			return -1;
	}
	pol->ncond = items.n;
	return (pol->cond = list_values(p, &items, sizeof(pol_cond_t))) == NULL ? -1 : 0;
}

static pol_policy_t *parse_policy(parser_t *p)
{
	pol_policy_t *pol = alloc(p, sizeof *pol);
	if (pol == NULL)
		return NULL;
	pol->line = p->tok.line;
	pol->column = p->tok.column;
	if (parse_annotations(p, pol) < 0)
		return NULL;
	if (at_word(p, "permit") || at_word(p, "forbid")) {
		pol->effect = at_word(p, "permit") ? POL_PERMIT : POL_FORBID;
		if (advance(p) < 0)
			return NULL;
	} else {
		fail_expected(p, "'permit' or 'forbid'", "to start a policy");
		return NULL;
	}
	if (expect(p, TK_LPAREN, pol->effect == POL_PERMIT ? "after 'permit'" : "after 'forbid'") < 0 ||
	    parse_scope(p, pol) < 0 || parse_conditions(p, pol) < 0)
		return NULL;
	if (!at(p, TK_SEMI)) {
		fail_expected(p, pol->ncond > 0 ? "';'" : "'when', 'unless' or ';'",
			      "at the end of the policy");
		return NULL;
	}
	return advance(p) < 0 ? NULL : pol;
}

/* Policy ids: @id("...") when present, else policy<index>; all distinct. */
static int assign_ids(parser_t *p, pol_set_t *set)
{
	for (size_t i = 0; i < set->n; i++) {
		pol_policy_t *pol = &set->policy[i];
		const pol_str_t *id = pol_annotation(pol, "id");
		if (id != NULL) {
			pol->id = *id;
			continue;
		}
		char buf[32];
		int n = snprintf(buf, sizeof buf, "policy%zu", i);
		if (n < 0 || str_copy(p, buf, (size_t)n, &pol->id) < 0)
			return -1;
	}
	long dup = find_duplicate(set->policy, set->n, sizeof(pol_policy_t));
	if (dup == -2) {
		fail_oom(p);
		return -1;
	}
	if (dup >= 0) {
		const pol_policy_t *d = &set->policy[dup];
		fail_at(p, d->line, d->column, "two policies have the id `%.*s`",
			(int)(d->id.len > 40 ? 40 : d->id.len), d->id.p);
		return -1;
	}
	return 0;
}

const pol_str_t *pol_annotation(const pol_policy_t *pol, const char *key)
{
	for (size_t i = 0; i < pol->nannot; i++)
		if (strcmp(pol->annot[i].key.p, key) == 0)
			return &pol->annot[i].value;
	return NULL;
}

/* Line and column of byte off in text. */
static void text_pos(const char *text, size_t off, uint32_t *line, uint32_t *column)
{
	pol_tok_t t = {.p = text, .line = 1, .column = 0};
	string_pos(&t, off, line, column);
}

static int check_text(parser_t *p, const char *text, size_t len)
{
	uint32_t line, column;
	if (len > TG_MAX_POLICY_TEXT) {
		fail_at(p, 1, 1, "the policy text is larger than the limit of %d bytes", TG_MAX_POLICY_TEXT);
		return -1;
	}
	size_t bad = pol_utf8_check(text, len);
	if (bad < len) {
		text_pos(text, bad, &line, &column);
		fail_at(p, line, column, "the text is not valid UTF-8");
		return -1;
	}
	return 0;
}

static int parse_all(parser_t *p, pol_set_t *set)
{
	list_t items = {0};
	if (advance(p) < 0)
		return -1;
	while (!at(p, TK_EOF)) {
		pol_policy_t *pol = parse_policy(p);
		if (pol == NULL || list_push(p, &items, pol) < 0)
			return -1;
	}
	set->n = items.n;
	if ((set->policy = list_values(p, &items, sizeof(pol_policy_t))) == NULL)
		return -1;
	return assign_ids(p, set);
}

int pol_parse(const char *text, size_t len, pol_set_t **out, pol_error_t *err)
{
	parser_t p = {.err = err};
	pol_set_t *set = NULL;
	int rc = -1;
	*out = NULL;
	if (err != NULL)
		memset(err, 0, sizeof *err);
	if (text == NULL)
		text = "";
	if (check_text(&p, text, len) < 0)
		goto out;
	if ((set = calloc(1, sizeof *set)) == NULL || (set->arena = pol_arena_new()) == NULL) {
		fail_at(&p, 1, 1, "out of memory");
		goto out;
	}
	p.arena = set->arena;
	p.has_budget = HAS_VISITS_PER_BYTE * len + HAS_VISITS_BASE;
	pol_lex_init(&p.lx, text, len);
	if (parse_all(&p, set) < 0)
		goto out;
	*out = set;
	set = NULL;
	rc = 0;
out:
	pol_set_free(set);
	return rc;
}

void pol_set_free(pol_set_t *set)
{
	if (set == NULL)
		return;
	pol_arena_free(set->arena);
	free(set);
}
