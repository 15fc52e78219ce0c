/* policy_offline.c - `tollgate policy check` and `tollgate policy eval`, the
 * offline halves of the policy noun: they read local files and run
 * Tollgate's own engine (src/core/policy/), never the broker.
 *
 * check parses a policy file, builds the engine (which validates the
 * obligation annotations) and lints the tree: entity types Tollgate does
 * not know, policies that can never apply, and permits that apply to every
 * resource. The lints are static: they look at the text only, never at
 * entities, so "unreachable" means unreachable whatever the entity data.
 *
 * eval decides one request given on the command line, or every line of a
 * JSON-lines file, and prints the decision with its reasons: the
 * determining policies, the policies that errored (and were skipped) and
 * the obligations that were not met. */
#include "cli/policy_offline.h"
#include "cli/cli.h"
#include "core/limits.h"
#include "core/policy/arena.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/entities_input.h"
#include "core/policy/policy.h"
#include "core/policy/value.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char check_usage[] =
	"Usage: tollgate policy check [--strict] [--quiet] FILE.cedar...\n"
	"\n"
	"Parses each Cedar policy file and lints it, offline (no broker needed).\n"
	"\n"
	"Errors, printed as FILE:LINE:COLUMN: error: MESSAGE\n"
	"  - the text does not parse (the position of the first problem);\n"
	"  - an obligation annotation is malformed (@max_ttl, @requires_grant,\n"
	"    @requires_mfa, @audit; see docs/policy.md, Obligations).\n"
	"Warnings, printed as FILE:LINE:COLUMN: warning: policy `ID`: MESSAGE\n"
	"  - an entity type Tollgate does not know (its types are Workload,\n"
	"    Operator, Role, Device, Zone, Api, Secret and Action), usually a typo;\n"
	"  - an unreachable policy: a condition that can never be true\n"
	"    (`when { false }`, `unless { true }`, a condition that is not a\n"
	"    boolean), `action in []`, or a permit whose scope lies inside the\n"
	"    scope of a forbid without conditions (that forbid always wins);\n"
	"  - a permit without a resource constraint: it applies to every resource\n"
	"    (least privilege: constrain it with resource ==, in or is).\n"
	"The lints read the text only, not entity data.\n"
	"\n"
	"Options:\n"
	"  --strict      warnings fail the check too\n"
	"  -q, --quiet   no summary line per file, only the diagnostics\n"
	"\n"
	"Exit status: 0 when every file is clean (warnings allowed unless\n"
	"--strict), 1 on errors (or on warnings with --strict), 2 on a usage error.\n";

static const char eval_usage[] =
	"Usage: tollgate policy eval --policies FILE.cedar [--entities FILE.json]\n"
	"         --principal P --action A --resource R [--context JSON] [--json]\n"
	"       tollgate policy eval --policies FILE.cedar [--entities FILE.json]\n"
	"         --requests FILE.jsonl\n"
	"       [--grant-approvals N] [--mfa-age S] [--obligations] [--cedar-entities]\n"
	"\n"
	"Decides requests against local policy and entity files with Tollgate's\n"
	"engine (the one the broker and the edges run), offline, and says why:\n"
	"the determining policies with their lines, the policies whose condition\n"
	"errored (they are skipped, as Cedar does) with the error, and the\n"
	"obligations that were not met.\n"
	"\n"
	"Inputs:\n"
	"  --policies FILE     the Cedar policy set (required)\n"
	"  --entities FILE     Cedar entities JSON, read as `tollgate entities set`\n"
	"                      reads it: [{\"uid\": {\"type\": T, \"id\": I},\n"
	"                      \"attrs\": {...}, \"parents\": [...], \"tags\": {...}}, ...]\n"
	"                      or {\"entities\": [...]}; uids and parents also as\n"
	"                      Type::\"id\" or Type:id; attrs and parents may be\n"
	"                      left out (default: no entities)\n"
	"  --cedar-entities    read --entities exactly as the Cedar reference does\n"
	"                      instead (uid, attrs and parents required, the same\n"
	"                      entity twice allowed): for comparing with the\n"
	"                      reference, as tests/diff does\n"
	"One request:\n"
	"  --principal P       Workload::\"x\" (Cedar), Workload:x (compact) or\n"
	"                      '{\"type\": \"Workload\", \"id\": \"x\"}'\n"
	"  --action A          the action, in the same forms; a bare name without\n"
	"                      ':' means an Action: modbus.write is Action::\"modbus.write\"\n"
	"  --resource R        the resource, in the same forms as --principal\n"
	"  --context JSON      the context, a JSON object in Cedar's value format,\n"
	"                      e.g. '{\"hour\": 3, \"src_ip\": {\"__extn\": {\"fn\": \"ip\",\n"
	"                      \"arg\": \"10.0.0.7\"}}}'; @FILE reads it from FILE\n"
	"                      (default {})\n"
	"  --json              print {\"decision\": \"allow\"|\"deny\", \"reasons\": [ids],\n"
	"                      \"errors\": [ids]} (plus \"error_messages\" and \"unmet\"\n"
	"                      when there are any) instead of text\n"
	"Many requests:\n"
	"  --requests FILE     JSON lines (- for stdin), each {\"principal\": P,\n"
	"                      \"action\": A, \"resource\": R, \"context\": {...}} with\n"
	"                      entity references in the forms above; prints one JSON\n"
	"                      decision per line, in order (blank lines are skipped).\n"
	"                      A line that cannot be read (bad JSON, a bad reference,\n"
	"                      longer than 1 MiB) prints {\"error\": \"line N: ...\"}\n"
	"                      instead and the rest go on; the exit status is then 1.\n"
	"Obligations (docs/policy.md, Obligations), off by default (the plain Cedar\n"
	"decision, comparable with the reference):\n"
	"  --grant-approvals N the request comes through a JIT grant with N approvals\n"
	"  --mfa-age S         the operator's MFA is S seconds old\n"
	"  --obligations       check obligations even without the two options above\n"
	"                      (as if there were no grant and no MFA)\n"
	"\n"
	"Example:\n"
	"  tollgate policy eval --policies policy.cedar --entities entities.json \\\n"
	"    --principal Workload:hmi-1 --action modbus.write --resource Device:plc-7 \\\n"
	"    --context '{\"hour\": 14}'\n"
	"\n"
	"Exit status: 0 when decided (allow or deny), 1 on bad input (or a bad\n"
	"line in --requests), 2 on a usage error.\n";

/* ---- shared ------------------------------------------------------------ */

/* The message of a parser or engine error without its "line L, column C: "
 * prefix, since the caller prints the position as FILE:L:C. */
static const char *bare_message(const pol_error_t *e)
{
	const char *m = e->message;
	if (strncmp(m, "line ", 5) == 0) {
		const char *c = strstr(m, ": ");
		if (c != NULL)
			return c + 2;
	}
	return m;
}

/* Reads and parses a policy file and builds the engine. NULL after printing
 * FILE:LINE:COLUMN: error: ... (to out). */
static pol_engine_t *load_engine(const char *path, FILE *out)
{
	size_t len = 0;
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t err;
	char *text = cli_read_file(path, TG_MAX_POLICY_TEXT, &len);
	if (text == NULL)
		return NULL;
	if (pol_parse(text, len, &set, &err) != 0) {
		fprintf(out, "%s:%" PRIu32 ":%" PRIu32 ": error: %s\n", path, err.line, err.column,
			bare_message(&err));
		goto out;
	}
	if (pol_engine_new(set, &eng, &err) != 0) {
		fprintf(out, "%s:%" PRIu32 ":%" PRIu32 ": error: %s\n", path, err.line, err.column,
			bare_message(&err));
		eng = NULL;
	}
out:
	free(text);
	return eng;
}

/* ---- check: lints ------------------------------------------------------ */

static const char *const known_types[] = {
	"Workload", "Operator", "Role", "Device", "Zone", "Api", "Secret", "Action",
};

/* The budget of the unreachable-permit lint: beyond
 * that many (permit, unconditional forbid) pairs the lint is skipped with
 * a note rather than taking minutes on a huge set. */
#define CHECK_MAX_PAIRS 100000000u
#define CHECK_MAX_TYPES_PER_POLICY 16

/* One warning, kept until the file is done so that warnings print in
 * source order whichever lint found them. */
typedef struct {
	uint32_t line, column;
	size_t seq;
	char *text;
} diag_t;

typedef struct {
	const char *path;
	const pol_set_t *set;
	size_t warnings;
	diag_t *diag;
	size_t ndiag, capdiag;
	/* Unknown types already reported for the current policy. */
	const pol_str_t *seen[CHECK_MAX_TYPES_PER_POLICY];
	size_t nseen;
} lint_t;

static void warn(lint_t *l, const pol_policy_t *p, uint32_t line, uint32_t column, const char *fmt,
		 ...) __attribute__((format(printf, 5, 6)));

static void warn(lint_t *l, const pol_policy_t *p, uint32_t line, uint32_t column, const char *fmt, ...)
{
	char msg[512], *text = NULL;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	l->warnings++;
	if (l->ndiag == l->capdiag) {
		size_t cap = l->capdiag ? 2 * l->capdiag : 64;
		diag_t *g = realloc(l->diag, cap * sizeof *g);
		if (g == NULL)
			goto direct;
		l->diag = g;
		l->capdiag = cap;
	}
	if (asprintf(&text, "%s:%" PRIu32 ":%" PRIu32 ": warning: policy `%.*s`: %s", l->path, line, column,
		     (int)p->id.len, p->id.p, msg) < 0)
		goto direct;
	l->diag[l->ndiag] = (diag_t){line, column, l->ndiag, text};
	l->ndiag++;
	return;
direct: /* out of memory: print it now rather than lose it */
	printf("%s:%" PRIu32 ":%" PRIu32 ": warning: policy `%.*s`: %s\n", l->path, line, column,
	       (int)p->id.len, p->id.p, msg);
}

static int diag_cmp(const void *a, const void *b)
{
	const diag_t *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->column != y->column)
		return x->column < y->column ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Prints the collected warnings in source order and frees them. */
static void flush_warnings(lint_t *l)
{
	if (l->ndiag > 1)
		qsort(l->diag, l->ndiag, sizeof *l->diag, diag_cmp);
	for (size_t i = 0; i < l->ndiag; i++) {
		puts(l->diag[i].text);
		free(l->diag[i].text);
	}
	free(l->diag);
	l->diag = NULL;
	l->ndiag = l->capdiag = 0;
}

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
	if (l->nseen < CHECK_MAX_TYPES_PER_POLICY)
		l->seen[l->nseen++] = t;
	warn(l, p, line, column,
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

/* Lints one policy on its own; true when it can never apply (so that the
 * forbid-shadowing lint does not repeat it). */
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
		warn(l, p, c->expr->line, c->expr->column,
		     "unreachable: this `%s` condition is %s, so the policy never applies",
		     c->when ? "when" : "unless", c->when ? "never true" : "always true");
		dead = true;
	} else if (p->action.op == POL_SCOPE_IN_SET && p->action.n == 0) {
		warn(l, p, p->line, p->column,
		     "unreachable: `action in []` matches no action, so the policy never applies");
		dead = true;
	}
	if (p->effect == POL_PERMIT && p->resource.op == POL_SCOPE_ANY)
		warn(l, p, p->line, p->column,
		     "least privilege: the permit has no resource constraint, so it applies to "
		     "every resource; constrain it (resource == E, resource in E, resource is T)");
	return dead;
}

/* Warns about permits that an unconditional forbid always overrides. */
static void lint_shadowed(lint_t *l, const bool *dead)
{
	const pol_set_t *set = l->set;
	size_t nforbid = 0, npermit = 0;
	uint32_t *forbids = calloc(set->n ? set->n : 1, sizeof *forbids);
	if (forbids == NULL)
		return;
	for (size_t i = 0; i < set->n; i++) {
		const pol_policy_t *p = &set->policy[i];
		if (p->effect == POL_FORBID && !dead[i] && unconditional(p))
			forbids[nforbid++] = (uint32_t)i;
		else if (p->effect == POL_PERMIT && !dead[i])
			npermit++;
	}
	if (nforbid > 0 && (double)nforbid * (double)npermit > CHECK_MAX_PAIRS) {
		printf("%s: note: %zu unconditional forbids and %zu permits; the check for permits "
		       "they shadow was skipped\n",
		       l->path, nforbid, npermit);
		nforbid = 0;
	}
	for (size_t i = 0; i < set->n && nforbid > 0; i++) {
		const pol_policy_t *p = &set->policy[i];
		if (p->effect != POL_PERMIT || dead[i])
			continue;
		for (size_t k = 0; k < nforbid; k++) {
			const pol_policy_t *f = &set->policy[forbids[k]];
			if (policy_covers(f, p)) {
				warn(l, p, p->line, p->column,
				     "unreachable: every request it matches is denied by forbid `%.*s` "
				     "(line %" PRIu32 "), which has no conditions",
				     (int)f->id.len, f->id.p, f->line);
				break;
			}
		}
	}
	free(forbids);
}

/* Checks one file; returns 0 clean, 1 errors, and counts warnings. */
static int check_file(const char *path, bool quiet, size_t *warnings)
{
	pol_engine_t *eng = load_engine(path, stdout);
	if (eng == NULL) {
		if (!quiet)
			printf("%s: 1 error\n", path);
		return 1;
	}
	const pol_set_t *set = pol_engine_set(eng);
	lint_t l = {.path = path, .set = set};
	bool *dead = calloc(set->n ? set->n : 1, sizeof *dead);
	if (dead == NULL) {
		fprintf(stderr, "tollgate policy check: out of memory\n");
		pol_engine_free(eng);
		return 1;
	}
	for (size_t i = 0; i < set->n; i++)
		dead[i] = lint_policy(&l, &set->policy[i]);
	lint_shadowed(&l, dead);
	flush_warnings(&l);
	if (!quiet)
		printf("%s: %zu %s, 0 errors, %zu %s\n", path, set->n,
		       set->n == 1 ? "policy" : "policies", l.warnings,
		       l.warnings == 1 ? "warning" : "warnings");
	*warnings += l.warnings;
	free(dead);
	pol_engine_free(eng);
	return 0;
}

int policy_check_main(int argc, char **argv)
{
	enum { O_STRICT = 1, O_QUIET, O_HELP };
	static const struct option longs[] = {
		{"strict", no_argument, NULL, O_STRICT},
		{"quiet", no_argument, NULL, O_QUIET},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	bool strict = false, quiet = false;
	int ch, rc = 0;
	size_t warnings = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
		switch (ch) {
		case O_STRICT: strict = true; break;
		case 'q':
		case O_QUIET: quiet = true; break;
		case 'h':
		case O_HELP: fputs(check_usage, stdout); return 0;
		default: return cli_bad_option("check");
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "tollgate policy check: name a policy file\n\n%s", check_usage);
		return 2;
	}
	for (int i = optind; i < argc; i++)
		if (check_file(argv[i], quiet, &warnings) != 0)
			rc = 1;
	fflush(stdout);
	if (strict && warnings > 0)
		rc = 1;
	return rc;
}

/* ---- eval --------------------------------------------------------------- */

typedef struct {
	const char *policies, *entities, *principal, *action, *resource, *context, *requests;
	bool json, obligations, cedar_entities;
	pol_facts_t facts;
} eval_opts_t;

/* True when s has no ':' at all: a bare action name. */
static bool bare_name(const char *s, size_t len)
{
	return memchr(s, ':', len) == NULL;
}

/* An entity reference from the command line: JSON ({"type", "id"}) when it
 * starts with '{', else Cedar or compact text; a bare action name is an
 * Action. */
static int cli_euid(pol_arena_t *a, const char *s, bool action, pol_euid_t *out, char *err,
		    size_t errsize)
{
	size_t len = strlen(s);
	if (len > 0 && s[0] == '{') {
		json_error_t je;
		json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &je);
		if (j == NULL) {
			snprintf(err, errsize, "not JSON: %s", je.text);
			return -1;
		}
		int rc = pol_json_euid(a, j, out, err, errsize);
		json_decref(j);
		return rc;
	}
	if (action && len > 0 && bare_name(s, len)) {
		out->type.p = "Action";
		out->type.len = 6;
		if ((out->id.p = pol_arena_strndup(a, s, len)) == NULL) {
			snprintf(err, errsize, "out of memory");
			return -1;
		}
		out->id.len = len;
		return 0;
	}
	return pol_euid_parse_text(a, s, len, out, err, errsize);
}

/* In a request object, a bare action name ("modbus.write") becomes
 * {"type": "Action", "id": ...}, as on the command line. */
static void normalise_action(json_t *req)
{
	json_t *act = json_object_get(req, "action");
	const char *s = json_string_value(act);
	if (s != NULL && s[0] != '\0' && bare_name(s, json_string_length(act)))
		json_object_set_new(req, "action", json_pack("{s:s, s:s%}", "type", "Action", "id", s,
							      json_string_length(act)));
}

static int parse_count(const char *opt, const char *s, int64_t *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0) {
		fprintf(stderr, "tollgate policy eval: %s must be a whole number >= 0, not '%s'\n", opt, s);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

static void print_euid(const char *label, const pol_euid_t *e)
{
	char buf[512];
	pol_value_t v = {.kind = PV_ENTITY};
	v.u.e = *e;
	size_t n = pol_value_render(&v, buf, sizeof buf);
	printf("%-10s %s%s\n", label, buf, n >= sizeof buf ? "..." : "");
}

static const pol_policy_t *policy_at(const pol_set_t *set, uint32_t i)
{
	return &set->policy[i];
}

/* The text form of a decision: what was decided and why. */
static void print_decision_text(const pol_set_t *set, const pol_request_t *req, const pol_decision_t *d,
				const eval_opts_t *o)
{
	print_euid("principal:", &req->principal);
	print_euid("action:", &req->action);
	print_euid("resource:", &req->resource);
	printf("decision:  %s\n", d->allow ? "ALLOW" : "DENY");
	if (d->nreasons > 0) {
		printf("because:\n");
		for (size_t i = 0; i < d->nreasons; i++) {
			const pol_policy_t *p = policy_at(set, d->reasons[i]);
			printf("  %s `%.*s` (line %" PRIu32 ") is satisfied\n",
			       p->effect == POL_PERMIT ? "permit" : "forbid", (int)p->id.len, p->id.p, p->line);
		}
		if (!d->allow)
			printf("  (a satisfied forbid overrides every permit)\n");
	} else if (d->nunmet > 0) {
		printf("because:\n  no permit counts: the satisfied permits' obligations are not met (below)\n");
	} else {
		printf("because:\n  no permit is satisfied (default deny)\n");
	}
	if (d->nunmet > 0) {
		printf("unmet obligations:\n");
		for (size_t i = 0; i < d->nunmet; i++) {
			const pol_unmet_t *u = &d->unmet[i];
			const pol_policy_t *p = policy_at(set, u->policy);
			printf("  permit `%.*s` (line %" PRIu32 "): ", (int)p->id.len, p->id.p, p->line);
			if (u->missing == POL_OBL_GRANT)
				printf("@requires_grant: needs a JIT grant with at least %" PRId64
				       " approvals (%s)\n",
				       u->needed,
				       o->facts.grant_approvals < 0 ? "no grant" : "the grant has fewer");
			else if (u->missing == POL_OBL_MFA)
				printf("@requires_mfa: needs operator MFA no older than %" PRId64 " s (%s)\n",
				       u->needed, o->facts.mfa_age_s < 0 ? "no MFA" : "the MFA is older");
			else
				printf("an obligation is not met\n");
		}
	}
	if (d->nerrors > 0) {
		printf("errors (these policies were skipped):\n");
		for (size_t i = 0; i < d->nerrors; i++) {
			const pol_policy_t *p = policy_at(set, d->errors[i].policy);
			printf("  %s `%.*s` (line %" PRIu32 "): %s\n",
			       p->effect == POL_PERMIT ? "permit" : "forbid", (int)p->id.len, p->id.p, p->line,
			       d->errors[i].message ? d->errors[i].message : "error");
		}
	}
	if (d->allow && d->max_ttl >= 0)
		printf("max_ttl:   %" PRId64 " s\n", d->max_ttl);
	if (d->allow && d->audit_full)
		printf("audit:     full\n");
}

static int print_json_line(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (s == NULL) {
		puts("{\"error\":\"out of memory\"}");
		return -1;
	}
	puts(s);
	free(s);
	return 0;
}

/* Reads the context option: inline JSON or @FILE. New reference or NULL
 * after a message. */
static json_t *load_context(const char *arg)
{
	json_error_t je;
	json_t *j;
	if (arg == NULL)
		return json_object();
	if (arg[0] == '@') {
		size_t len = 0;
		char *text = cli_read_file(arg + 1, TG_MAX_REQUEST_JSON, &len);
		if (text == NULL)
			return NULL;
		j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
	} else {
		j = json_loadb(arg, strlen(arg), JSON_REJECT_DUPLICATES, &je);
	}
	if (j == NULL) {
		fprintf(stderr, "tollgate policy eval: --context is not JSON: %s (line %d, column %d)\n",
			je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		fprintf(stderr, "tollgate policy eval: --context must be a JSON object (a record)\n");
		json_decref(j);
		return NULL;
	}
	return j;
}

static int eval_one(const eval_opts_t *o, const pol_engine_t *eng, const pol_entities_t *es,
		    pol_scratch_t *scratch)
{
	char err[512];
	int rc = 1;
	pol_request_t req = {0};
	pol_decision_t d;
	pol_value_t *ctx = NULL;
	pol_arena_t *a = pol_arena_new();
	json_t *cj = load_context(o->context);
	if (a == NULL || cj == NULL)
		goto out;
	const char *names[3] = {"--principal", "--action", "--resource"};
	const char *vals[3] = {o->principal, o->action, o->resource};
	pol_euid_t *dst[3] = {&req.principal, &req.action, &req.resource};
	for (int i = 0; i < 3; i++) {
		if (cli_euid(a, vals[i], i == 1, dst[i], err, sizeof err) != 0) {
			fprintf(stderr, "tollgate policy eval: %s '%s': %s\n", names[i], vals[i], err);
			goto out;
		}
	}
	if ((ctx = pol_arena_alloc(a, sizeof *ctx)) == NULL ||
	    pol_json_value(a, cj, ctx, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate policy eval: --context: %s\n", ctx ? err : "out of memory");
		goto out;
	}
	req.context = ctx;
	const pol_facts_t *facts = o->obligations ? &o->facts : NULL;
	if (pol_authorize(eng, es, &req, facts, scratch, &d) != 0) {
		fprintf(stderr, "tollgate policy eval: out of memory while deciding\n");
		goto out;
	}
	if (o->json)
		rc = print_json_line(pol_json_decision(pol_engine_set(eng), &d)) == 0 ? 0 : 1;
	else {
		print_decision_text(pol_engine_set(eng), &req, &d, o);
		rc = 0;
	}
out:
	json_decref(cj);
	pol_arena_free(a);
	return rc;
}

static void print_line_error(size_t lineno, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void print_line_error(size_t lineno, const char *fmt, ...)
{
	char msg[640], full[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "line %zu: %s", lineno, msg);
	print_json_line(json_pack("{s:s}", "error", full));
}

/* One line of --requests: the decision (or an error) as one JSON line.
 * Returns 0 when decided, -1 when the line printed an error. */
static int eval_line(const pol_engine_t *eng, const pol_entities_t *es, const pol_facts_t *facts,
		     pol_scratch_t *scratch, const char *line, size_t len, size_t lineno)
{
	char err[512];
	json_error_t je;
	pol_request_t req;
	pol_decision_t d;
	int rc = -1;
	pol_arena_t *a = NULL;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		print_line_error(lineno, "not JSON: %s (column %d)", je.text, je.column);
		return -1;
	}
	if (!json_is_object(j)) {
		print_line_error(lineno, "a request must be a JSON object {principal, action, resource, context}");
		goto out;
	}
	normalise_action(j);
	if ((a = pol_arena_new()) == NULL) {
		print_line_error(lineno, "out of memory");
		goto out;
	}
	if (pol_json_request(a, j, &req, err, sizeof err) != 0) {
		print_line_error(lineno, "%s", err);
		goto out;
	}
	if (pol_authorize(eng, es, &req, facts, scratch, &d) != 0) {
		print_line_error(lineno, "out of memory while deciding");
		goto out;
	}
	rc = print_json_line(pol_json_decision(pol_engine_set(eng), &d));
out:
	json_decref(j);
	pol_arena_free(a);
	return rc;
}

/* Reads one line of at most max bytes into buf (NUL-terminated, without the
 * line break). Returns 1 with *len, 0 at the end of input, or 2 when the
 * line was longer than max (the rest of it is skipped). */
static int read_line(FILE *f, char *buf, size_t max, size_t *len)
{
	size_t n = 0;
	int c;
	bool any = false, over = false;
	while ((c = getc_unlocked(f)) != EOF) {
		any = true;
		if (c == '\n')
			break;
		if (n < max)
			buf[n++] = (char)c;
		else
			over = true;
	}
	if (!any)
		return 0;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return over ? 2 : 1;
}

static bool blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return false;
	return true;
}

static int eval_requests(const eval_opts_t *o, const pol_engine_t *eng, const pol_entities_t *es,
			 pol_scratch_t *scratch)
{
	bool is_stdin = strcmp(o->requests, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(o->requests, "rbe");
	char *buf;
	size_t len, lineno = 0, bad = 0;
	int r;
	if (f == NULL) {
		fprintf(stderr, "tollgate policy eval: cannot read %s: %s\n", o->requests, strerror(errno));
		return 1;
	}
	if ((buf = malloc(TG_MAX_REQUEST_JSON + 1)) == NULL) {
		fprintf(stderr, "tollgate policy eval: out of memory\n");
		if (!is_stdin)
			fclose(f);
		return 1;
	}
	const pol_facts_t *facts = o->obligations ? &o->facts : NULL;
	while ((r = read_line(f, buf, TG_MAX_REQUEST_JSON, &len)) != 0) {
		lineno++;
		if (r == 2) {
			print_line_error(lineno, "longer than %d bytes", TG_MAX_REQUEST_JSON);
			bad++;
			continue;
		}
		if (blank(buf, len))
			continue;
		if (eval_line(eng, es, facts, scratch, buf, len, lineno) != 0)
			bad++;
	}
	if (ferror(f)) {
		fprintf(stderr, "tollgate policy eval: reading %s failed\n", o->requests);
		bad++;
	}
	free(buf);
	if (!is_stdin)
		fclose(f);
	if (fflush(stdout) != 0)
		return 1;
	if (bad > 0)
		fprintf(stderr, "tollgate policy eval: %zu of %zu lines could not be decided\n", bad, lineno);
	return bad > 0 ? 1 : 0;
}

static int eval_parse(int argc, char **argv, eval_opts_t *o)
{
	enum { O_POL = 1, O_ENT, O_CEDAR_ENT, O_PRIN, O_ACT, O_RES, O_CTX, O_REQ, O_JSON, O_GRANT, O_MFA, O_OBL,
	       O_HELP };
	static const struct option longs[] = {
		{"policies", required_argument, NULL, O_POL},
		{"entities", required_argument, NULL, O_ENT},
		{"cedar-entities", no_argument, NULL, O_CEDAR_ENT},
		{"principal", required_argument, NULL, O_PRIN},
		{"action", required_argument, NULL, O_ACT},
		{"resource", required_argument, NULL, O_RES},
		{"context", required_argument, NULL, O_CTX},
		{"requests", required_argument, NULL, O_REQ},
		{"json", no_argument, NULL, O_JSON},
		{"grant-approvals", required_argument, NULL, O_GRANT},
		{"mfa-age", required_argument, NULL, O_MFA},
		{"obligations", no_argument, NULL, O_OBL},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case O_POL: o->policies = optarg; break;
		case O_ENT: o->entities = optarg; break;
		case O_CEDAR_ENT: o->cedar_entities = true; break;
		case O_PRIN: o->principal = optarg; break;
		case O_ACT: o->action = optarg; break;
		case O_RES: o->resource = optarg; break;
		case O_CTX: o->context = optarg; break;
		case O_REQ: o->requests = optarg; break;
		case O_JSON: o->json = true; break;
		case O_OBL: o->obligations = true; break;
		case O_GRANT:
			if (parse_count("--grant-approvals", optarg, &o->facts.grant_approvals) != 0)
				return 2;
			o->obligations = true;
			break;
		case O_MFA:
			if (parse_count("--mfa-age", optarg, &o->facts.mfa_age_s) != 0)
				return 2;
			o->obligations = true;
			break;
		case 'h':
		case O_HELP: fputs(eval_usage, stdout); return 0;
		default: return cli_bad_option("eval");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tollgate policy eval: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->policies == NULL) {
		fprintf(stderr, "tollgate policy eval: --policies FILE is required\n");
		return 2;
	}
	bool one = o->principal || o->action || o->resource || o->context;
	if (o->requests != NULL && one) {
		fprintf(stderr, "tollgate policy eval: --requests replaces --principal, --action, "
				"--resource and --context\n");
		return 2;
	}
	if (o->requests == NULL && (!o->principal || !o->action || !o->resource)) {
		fprintf(stderr, "tollgate policy eval: give --principal, --action and --resource "
				"(or --requests FILE)\n");
		return 2;
	}
	return -1;
}

int policy_eval_main(int argc, char **argv)
{
	eval_opts_t o = {.facts = {.grant_approvals = -1, .mfa_age_s = -1}};
	pol_engine_t *eng = NULL;
	pol_entities_t *es = NULL;
	pol_scratch_t *scratch = NULL;
	int rc = eval_parse(argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = 1;
	if ((eng = load_engine(o.policies, stderr)) == NULL)
		goto out;
	if (o.entities != NULL) {
		char err[512];
		size_t len = 0;
		char *text = cli_read_file(o.entities, TG_MAX_ENTITIES_TEXT, &len);
		if (text == NULL)
			goto out;
		int r = o.cedar_entities ? pol_json_entities(text, len, &es, err, sizeof err)
					 : pol_entities_load_input(text, len, &es, err, sizeof err);
		free(text);
		if (r != 0) {
			fprintf(stderr, "tollgate policy eval: %s: %s\n", o.entities, err);
			es = NULL;
			goto out;
		}
	}
	if ((scratch = pol_scratch_new()) == NULL) {
		fprintf(stderr, "tollgate policy eval: out of memory\n");
		goto out;
	}
	rc = o.requests != NULL ? eval_requests(&o, eng, es, scratch) : eval_one(&o, eng, es, scratch);
out:
	pol_scratch_free(scratch);
	pol_entities_free(es);
	pol_engine_free(eng);
	return rc;
}
