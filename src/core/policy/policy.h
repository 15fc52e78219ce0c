/* policy.h - the Cedar policy language (docs/policy.md): the AST of a policy
 * set and its parser. Pure: text in, tree out, no I/O.
 *
 * A parsed set owns one arena (policy/arena.c) that holds every node,
 * string and array of the tree, so pol_set_free() releases it all at once
 * and nothing in the tree is freed on its own. Strings are byte spans
 * (pol_str_t), not C strings: Cedar strings may contain NUL ("\0"). Every
 * span is valid UTF-8 and, for convenience, also NUL-terminated.
 *
 * Parsing is bounded: the text may be at most TG_MAX_POLICY_TEXT bytes and
 * no expression may nest deeper than TG_MAX_POLICY_DEPTH (counted on the
 * tree, so that whatever walks it recursively later is bounded too; `&&`
 * and `||` chains are n-ary nodes and do not count per operand). */
#ifndef TG_POLICY_H
#define TG_POLICY_H
#include "core/limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
	const char *p; /* NUL-terminated too */
	size_t len;
} pol_str_t;

/* An entity reference Type::"id"; type is the full path ("Ns::Type"). */
typedef struct {
	pol_str_t type;
	pol_str_t id;
} pol_euid_t;

typedef enum {
	POL_VAR_PRINCIPAL,
	POL_VAR_ACTION,
	POL_VAR_RESOURCE,
	POL_VAR_CONTEXT,
} pol_var_t;

/* Extension functions and built-in methods the language knows; anything
 * else is refused when parsing, as the reference does. */
typedef enum {
	POL_FN_IP,
	POL_FN_DECIMAL,
	POL_FN_DATETIME,
	POL_FN_DURATION,
	POL_FN_CONTAINS,
	POL_FN_CONTAINS_ALL,
	POL_FN_CONTAINS_ANY,
	POL_FN_IS_EMPTY,
	POL_FN_GET_TAG,
	POL_FN_HAS_TAG,
	POL_FN_LESS_THAN,
	POL_FN_LESS_THAN_OR_EQUAL,
	POL_FN_GREATER_THAN,
	POL_FN_GREATER_THAN_OR_EQUAL,
	POL_FN_IS_IPV4,
	POL_FN_IS_IPV6,
	POL_FN_IS_LOOPBACK,
	POL_FN_IS_MULTICAST,
	POL_FN_IS_IN_RANGE,
	POL_FN_OFFSET,
	POL_FN_DURATION_SINCE,
	POL_FN_TO_DATE,
	POL_FN_TO_TIME,
	POL_FN_TO_DAYS,
	POL_FN_TO_HOURS,
	POL_FN_TO_MINUTES,
	POL_FN_TO_SECONDS,
	POL_FN_TO_MILLISECONDS,
} pol_fn_t;

typedef enum {
	POL_E_BOOL,     /* u.b */
	POL_E_LONG,     /* u.l */
	POL_E_STRING,   /* str */
	POL_E_ENTITY,   /* u.euid */
	POL_E_VAR,      /* u.var */
	POL_E_IF,       /* kid[0] ? kid[1] : kid[2] */
	POL_E_AND,      /* kid[0] && ... && kid[n-1], n >= 2 */
	POL_E_OR,       /* kid[0] || ... || kid[n-1], n >= 2 */
	POL_E_NOT,      /* !kid[0] */
	POL_E_NEG,      /* -kid[0] */
	POL_E_EQ,       /* kid[0] OP kid[1] for EQ .. MUL */
	POL_E_NE,
	POL_E_LT,
	POL_E_LE,
	POL_E_GT,
	POL_E_GE,
	POL_E_IN,
	POL_E_ADD,
	POL_E_SUB,
	POL_E_MUL,
	POL_E_HAS,      /* kid[0] has str */
	POL_E_LIKE,     /* kid[0] like u.pat */
	POL_E_IS,       /* kid[0] is str [in kid[1]] (n is 1 or 2) */
	POL_E_ATTR,     /* kid[0].str and kid[0]["str"] */
	POL_E_METHOD,   /* kid[0].u.fn(kid[1], ...) */
	POL_E_CALL,     /* u.fn(kid[0], ...) */
	POL_E_SET,      /* [kid[0], ...] */
	POL_E_RECORD,   /* {u.keys[i]: kid[i]}, keys in source order */
} pol_kind_t;

/* A like pattern: lit[0] * lit[1] * ... * lit[n-1] (n >= 1, one more
 * literal than there are wildcards; literals may be empty). */
typedef struct {
	const pol_str_t *lit;
	size_t n;
} pol_pattern_t;

typedef struct pol_expr pol_expr_t;
struct pol_expr {
	uint8_t kind;    /* pol_kind_t */
	uint16_t depth;  /* 1 + the deepest child's depth */
	uint32_t n;      /* number of kids */
	uint32_t line, column; /* where the expression starts */
	pol_expr_t **kid;
	pol_str_t str;
	union {
		bool b;
		int64_t l;
		pol_var_t var;
		pol_fn_t fn;
		const pol_euid_t *euid;
		const pol_pattern_t *pat;
		const pol_str_t *keys;
	} u;
};

typedef enum {
	POL_SCOPE_ANY,    /* principal */
	POL_SCOPE_EQ,     /* principal == euid */
	POL_SCOPE_IN,     /* principal in euid */
	POL_SCOPE_IS,     /* principal is type */
	POL_SCOPE_IS_IN,  /* principal is type in euid */
	POL_SCOPE_IN_SET, /* action in [set[0], ...] (action only; n may be 0) */
} pol_scope_op_t;

typedef struct {
	pol_scope_op_t op;
	pol_str_t type;         /* IS, IS_IN */
	const pol_euid_t *euid; /* EQ, IN, IS_IN */
	const pol_euid_t *set;  /* IN_SET */
	size_t n;
} pol_scope_t;

typedef struct {
	pol_str_t key;
	pol_str_t value; /* empty for a bare @key */
} pol_annot_t;

typedef struct {
	bool when;       /* false: unless */
	pol_expr_t *expr;
} pol_cond_t;

typedef enum { POL_PERMIT, POL_FORBID } pol_effect_t;

typedef struct {
	pol_str_t id;    /* @id("...") or "policy<index>" */
	pol_effect_t effect;
	pol_scope_t principal, action, resource;
	const pol_annot_t *annot;
	size_t nannot;
	const pol_cond_t *cond;
	size_t ncond;
	uint32_t line, column;
} pol_policy_t;

typedef struct pol_arena pol_arena_t;

typedef struct {
	pol_policy_t *policy; /* in the arena */
	size_t n;
	pol_arena_t *arena;
} pol_set_t;

typedef struct {
	uint32_t line, column; /* 1-based; column counts characters */
	char message[192];     /* "line L, column C: what is wrong" */
} pol_error_t;

/* Parses a whole policy set. On success *out is a new set (free it with
 * pol_set_free) and 0 is returned; on failure -1, *out is NULL and err
 * (when not NULL) says where and what. Cost: linear in len, plus
 * O(k log k) per record literal of k fields and for the n policy ids. */
int pol_parse(const char *text, size_t len, pol_set_t **out, pol_error_t *err)
	__attribute__((warn_unused_result));
void pol_set_free(pol_set_t *set);

/* The annotation value for key, or NULL. */
const pol_str_t *pol_annotation(const pol_policy_t *p, const char *key);
/* The source name of a function or method ("containsAll"). */
const char *pol_fn_name(pol_fn_t fn);

/* Writes a fully parenthesised rendering of e (every operator application
 * in parentheses, strings escaped) into buf, NUL-terminated and truncated
 * to size; returns the length it needed, like snprintf. For tests and
 * diagnostics. */
size_t pol_expr_dump(const pol_expr_t *e, char *buf, size_t size);
/* The same for a whole policy, in Cedar syntax that parses back to the same
 * tree. */
size_t pol_policy_dump(const pol_policy_t *p, char *buf, size_t size);

#endif
