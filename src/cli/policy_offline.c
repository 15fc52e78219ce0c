/* policy_offline.c - `tollgate policy check` and `tollgate policy eval`, the
 * offline halves of the policy noun: they read local files and run
 * Tollgate's own engine (src/core/policy/), never the broker.
 *
 * check parses a policy file, builds the engine (which validates the
 * obligation annotations) and prints the findings of the linter
 * (core/policy/lint.h, the one PUT /v1/policies answers with) as
 * FILE:LINE:COLUMN: SEVERITY: ...
 *
 * eval decides one request given on the command line, or every line of a
 * JSON-lines file, and prints the decision with its reasons: the
 * determining policies, the policies that errored (and were skipped) and
 * the obligations that were not met. A bare action name is an Action
 * (core/policy/action_ref.h). */
#include "cli/policy_offline.h"
#include "cli/cli.h"
#include "core/limits.h"
#include "core/policy/action_ref.h"
#include "core/policy/arena.h"
#include "core/policy/cedar_json.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/entities_input.h"
#include "core/policy/lint.h"
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
			pol_error_text(&err));
		goto out;
	}
	if (pol_engine_new(set, &eng, &err) != 0) {
		fprintf(out, "%s:%" PRIu32 ":%" PRIu32 ": error: %s\n", path, err.line, err.column,
			pol_error_text(&err));
		eng = NULL;
	}
out:
	free(text);
	return eng;
}

/* ---- check --------------------------------------------------------------- */

/* FILE:LINE:COLUMN: SEVERITY: [policy `ID`: ]MESSAGE, or FILE: note: ...
 * for a note about the whole set. */
static void print_finding(const char *path, const pol_finding_t *f)
{
	const char *sev = pol_lint_severity_name(f->severity);
	if (f->line == 0 && f->severity == POL_LINT_NOTE)
		printf("%s: %s: %s\n", path, sev, f->message);
	else if (f->policy != NULL)
		printf("%s:%" PRIu32 ":%" PRIu32 ": %s: policy `%s`: %s\n", path, f->line, f->column, sev,
		       f->policy, f->message);
	else
		printf("%s:%" PRIu32 ":%" PRIu32 ": %s: %s\n", path, f->line, f->column, sev, f->message);
}

/* Checks one file; returns 0 clean, 1 errors, and counts warnings. */
static int check_file(const char *path, bool quiet, size_t *warnings)
{
	size_t len = 0, npolicies = 0;
	pol_findings_t f;
	char *text = cli_read_file(path, TG_MAX_POLICY_TEXT, &len);
	if (text == NULL) {
		if (!quiet)
			printf("%s: 1 error\n", path);
		return 1;
	}
	int rc = pol_lint_text(text, len, &f, &npolicies);
	free(text);
	if (rc != 0) {
		fprintf(stderr, "tollgate policy check: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < f.n; i++)
		print_finding(path, &f.item[i]);
	if (!quiet && f.errors > 0)
		printf("%s: %zu %s\n", path, f.errors, f.errors == 1 ? "error" : "errors");
	else if (!quiet)
		printf("%s: %zu %s, 0 errors, %zu %s\n", path, npolicies,
		       npolicies == 1 ? "policy" : "policies", f.warnings,
		       f.warnings == 1 ? "warning" : "warnings");
	*warnings += f.warnings;
	rc = f.errors > 0 ? 1 : 0;
	pol_findings_free(&f);
	return rc;
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
	if (action)
		return pol_action_ref_text(a, s, len, out, err, errsize);
	return pol_euid_parse_text(a, s, len, out, err, errsize);
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
	if ((a = pol_arena_new()) == NULL) {
		print_line_error(lineno, "out of memory");
		goto out;
	}
	if (pol_json_request_action_ref(a, j, &req, err, sizeof err) != 0) {
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
