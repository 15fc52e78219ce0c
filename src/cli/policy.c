/* policy.c - `tollgate policy`: replace the broker's Cedar policy set
 * (validated locally first, then by the broker), read it back, list its
 * versions, diff versions and files policy by policy id; `check` and `eval`
 * work offline (cli/policy_offline.c). */
#include "cli/cli.h"
#include "cli/policy_offline.h"
#include "core/limits.h"
#include "core/policy/engine.h"
#include "core/policy_diff.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char policy_usage[] =
	"Usage: tollgate policy <command> [options]\n"
	"\n"
	"  set FILE [--comment TEXT] [--json]\n"
	"      Replaces the broker's policy set with the Cedar policies in FILE. The\n"
	"      file is parsed and checked here first, then by the broker; a set with\n"
	"      an error is refused with its line and column and the set in force\n"
	"      stays. Every set is kept as a new version. The linter's warnings\n"
	"      (as `policy check` prints them) go to stderr; they never refuse.\n"
	"  get [--version N] [--json]\n"
	"      Prints the policy set in force (or version N) as Cedar text; --json\n"
	"      prints it with its version, SHA-256, time, actor and comment.\n"
	"  history [--limit N] [--json]\n"
	"      Lists the stored versions, newest first.\n"
	"  diff [A [B]] [--json] [--exit-code]\n"
	"      Shows what changes from A to B, policy by policy id: added, removed\n"
	"      and changed policies with their text. A and B are version numbers or\n"
	"      Cedar files. No argument: the previous version to the one in force;\n"
	"      one: the set in force to A, i.e. what `policy set A` would change.\n"
	"      --exit-code: exit 1 when they differ.\n"
	"      Give policies @id(\"...\") annotations: policies without one are\n"
	"      named by position (policy0, policy1, ...).\n"
	"  check FILE...\n"
	"      Parses and lints policy files offline (no broker needed).\n"
	"  eval --principal P --action A --resource R [--context JSON]\n"
	"       [--entities FILE] [--policies FILE] [--requests FILE] [--json]\n"
	"      Decides requests offline and explains the decision.\n"
	"\n"
	"Run `tollgate policy check --help` and `tollgate policy eval --help` for\n"
	"their options. Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and\n"
	"TOLLGATE_TOKEN for set, get, history and diff. docs/policy.md is the guide.\n";

enum { O_COMMENT = 1, O_VERSION, O_LIMIT, O_JSON, O_EXIT_CODE, O_HELP };

static const struct option longs[] = {
	{"comment", required_argument, NULL, O_COMMENT}, {"version", required_argument, NULL, O_VERSION},
	{"limit", required_argument, NULL, O_LIMIT}, {"json", no_argument, NULL, O_JSON},
	{"exit-code", no_argument, NULL, O_EXIT_CODE}, {"help", no_argument, NULL, O_HELP},
	{NULL, 0, NULL, 0}};

typedef struct {
	const char *comment;
	long long version, limit;
	bool json, exit_code;
} policy_opts_t;

static int positive(const char *flag, const char *s, long long max, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr, "tollgate policy: %s must be a positive integer\n", flag);
		return -1;
	}
	*out = v;
	return 0;
}

/* Options after the command word; the remaining arguments start at optind. */
static int parse_opts(int argc, char **argv, policy_opts_t *o)
{
	int ch;
	memset(o, 0, sizeof *o);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case O_COMMENT: o->comment = optarg; break;
		case O_JSON: o->json = true; break;
		case O_EXIT_CODE: o->exit_code = true; break;
		case O_VERSION:
			if (positive("--version", optarg, INT64_MAX, &o->version) != 0)
				return -1;
			break;
		case O_LIMIT:
			if (positive("--limit", optarg, TG_MAX_LIST_LIMIT, &o->limit) != 0)
				return -1;
			break;
		case O_HELP: fputs(policy_usage, stdout); exit(0);
		default: cli_bad_option(NULL); return -1;
		}
	}
	return 0;
}

/* The message without its "line L, column C: " prefix (the caller prints
 * the position as FILE:L:C). */
static const char *bare_message(const pol_error_t *e)
{
	const char *m = e->message;
	const char *colon = strncmp(m, "line ", 5) == 0 ? strstr(m, ": ") : NULL;
	return colon ? colon + 2 : m;
}

/* Parses and compiles text as the broker will; prints FILE:LINE:COLUMN. */
static int validate(const char *path, const char *text, size_t len, size_t *count)
{
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t err;
	if (pol_parse(text, len, &set, &err) != 0 || pol_engine_new(set, &eng, &err) != 0) {
		fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.column, bare_message(&err));
		return -1;
	}
	*count = pol_engine_set(eng)->n;
	pol_engine_free(eng);
	return 0;
}

static void print_ids(const char *label, const json_t *ids)
{
	size_t i;
	json_t *v;
	if (json_array_size(ids) == 0)
		return;
	printf("  %s:", label);
	json_array_foreach(ids, i, v)
		printf(" %s", json_string_value(v));
	printf("\n");
}

/* The linter findings PUT /v1/policies answers with, on stderr, in the form
 * `policy check` prints them: FILE:LINE:COLUMN: SEVERITY: policy `ID`: MESSAGE
 * (FILE: SEVERITY: MESSAGE for a note about the whole set). */
static void print_warnings(const char *path, const json_t *r)
{
	size_t i;
	json_t *w;
	json_array_foreach(json_object_get(r, "warnings"), i, w) {
		const char *sev = json_string_value(json_object_get(w, "severity"));
		const char *msg = json_string_value(json_object_get(w, "message"));
		const char *id = json_string_value(json_object_get(w, "policy"));
		const json_t *line = json_object_get(w, "line");
		if (sev == NULL || msg == NULL)
			continue;
		if (!json_is_integer(line))
			fprintf(stderr, "%s: %s: %s\n", path, sev, msg);
		else
			fprintf(stderr, "%s:%lld:%lld: %s: %s%s%s%s\n", path, (long long)json_integer_value(line),
				(long long)json_integer_value(json_object_get(w, "column")), sev,
				id != NULL ? "policy `" : "", id != NULL ? id : "", id != NULL ? "`: " : "", msg);
	}
	if (json_is_true(json_object_get(r, "warnings_truncated")))
		fprintf(stderr, "%s: note: more warnings than listed: run `tollgate policy check %s`\n", path, path);
}

static int set(int argc, char **argv, const policy_opts_t *o)
{
	size_t len = 0, count = 0;
	if (optind != argc - 1) {
		fprintf(stderr, "tollgate policy set: give exactly one FILE\n");
		return 2;
	}
	const char *path = argv[optind];
	char *text = cli_read_file(path, TG_MAX_POLICY_TEXT, &len);
	if (text == NULL)
		return 1;
	if (validate(path, text, len, &count) != 0) {
		fprintf(stderr, "tollgate policy set: %s was not sent: fix it first (the set in force "
				"stays)\n", path);
		free(text);
		return 1;
	}
	json_t *doc = json_pack("{s:s%}", "policies", text, len);
	free(text);
	if (doc == NULL) {
		fprintf(stderr, "tollgate policy set: %s is not valid UTF-8\n", path);
		return 1;
	}
	if (o->comment != NULL)
		json_object_set_new(doc, "comment", json_string(o->comment));
	json_t *r = cli_api("PUT", "/v1/policies", doc);
	if (r == NULL)
		return 1;
	if (!o->json)
		print_warnings(path, r);
	if (o->json) {
		cli_print_json(r);
	} else if (json_is_true(json_object_get(r, "unchanged"))) {
		printf("unchanged: version %lld already holds this set (%zu polic%s)\n",
		       (long long)json_integer_value(json_object_get(r, "version")), count,
		       count == 1 ? "y" : "ies");
	} else {
		long long n = (long long)json_integer_value(json_object_get(r, "policies"));
		printf("policy version %lld in force: %lld polic%s, sha256 %s\n",
		       (long long)json_integer_value(json_object_get(r, "version")), n, n == 1 ? "y" : "ies",
		       json_string_value(json_object_get(r, "sha256")));
		print_ids("added", json_object_get(r, "added"));
		print_ids("removed", json_object_get(r, "removed"));
		print_ids("changed", json_object_get(r, "changed"));
	}
	json_decref(r);
	return 0;
}

static json_t *fetch_version(long long version)
{
	char path[64];
	if (version > 0)
		snprintf(path, sizeof path, "/v1/policies/%lld", version);
	else
		snprintf(path, sizeof path, "/v1/policies");
	return cli_api("GET", path, NULL);
}

static int get(int argc, const policy_opts_t *o)
{
	if (optind != argc) {
		fprintf(stderr, "tollgate policy get: unexpected argument (use --version N)\n");
		return 2;
	}
	json_t *r = fetch_version(o->version);
	if (r == NULL)
		return 1;
	if (o->json) {
		cli_print_json(r);
	} else {
		const json_t *t = json_object_get(r, "text");
		fwrite(json_string_value(t), 1, json_string_length(t), stdout);
		if (json_string_length(t) > 0 && json_string_value(t)[json_string_length(t) - 1] != '\n')
			putchar('\n');
		if (json_integer_value(json_object_get(r, "version")) == 0)
			fprintf(stderr, "tollgate policy: no policy set is stored: every request is denied\n");
	}
	json_decref(r);
	return 0;
}

static int history(int argc, const policy_opts_t *o)
{
	char path[64];
	if (optind != argc) {
		fprintf(stderr, "tollgate policy history: unexpected argument\n");
		return 2;
	}
	snprintf(path, sizeof path, "/v1/policies/history?limit=%lld", o->limit ? o->limit : 100);
	json_t *r = cli_api("GET", path, NULL);
	if (r == NULL)
		return 1;
	if (o->json) {
		cli_print_json(r);
	} else {
		size_t i;
		json_t *v;
		printf("%-8s %-21s %-10s %-8s %-16s %s\n", "VERSION", "CREATED", "ACTOR", "POLICIES", "SHA256",
		       "COMMENT");
		json_array_foreach(json_object_get(r, "versions"), i, v) {
			const char *sha = json_string_value(json_object_get(v, "sha256"));
			printf("%-8lld %-21s %-10s %-8lld %-16.16s %s\n",
			       (long long)json_integer_value(json_object_get(v, "version")),
			       json_string_value(json_object_get(v, "created_at")),
			       json_string_value(json_object_get(v, "actor")),
			       (long long)json_integer_value(json_object_get(v, "policies")), sha ? sha : "",
			       json_string_value(json_object_get(v, "comment")));
		}
	}
	json_decref(r);
	return 0;
}

/* ---- diff ---- */

typedef struct {
	char label[300];
	char *text;
	size_t len;
	pol_set_t *set;
} side_t;

static void side_free(side_t *s)
{
	free(s->text);
	pol_set_free(s->set);
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* A version (number; 0 = in force) or a file. */
static int load_side(const char *arg, long long version, side_t *s)
{
	pol_error_t err;
	memset(s, 0, sizeof *s);
	if (arg != NULL && !all_digits(arg)) {
		s->text = cli_read_file(arg, TG_MAX_POLICY_TEXT, &s->len);
		if (s->text == NULL)
			return -1;
		snprintf(s->label, sizeof s->label, "%s", arg);
	} else {
		if (arg != NULL && positive("a version", arg, INT64_MAX, &version) != 0)
			return -1;
		json_t *r = fetch_version(version);
		if (r == NULL)
			return -1;
		const json_t *t = json_object_get(r, "text");
		s->len = json_string_length(t);
		s->text = malloc(s->len + 1);
		if (s->text != NULL) {
			memcpy(s->text, json_string_value(t) ? json_string_value(t) : "", s->len);
			s->text[s->len] = '\0';
		}
		snprintf(s->label, sizeof s->label, "version %lld%s",
			 (long long)json_integer_value(json_object_get(r, "version")),
			 version == 0 ? " (in force)" : "");
		json_decref(r);
		if (s->text == NULL)
			return -1;
	}
	if (pol_parse(s->text, s->len, &s->set, &err) != 0) {
		fprintf(stderr, "%s:%u:%u: %s\n", s->label, err.line, err.column, bare_message(&err));
		return -1;
	}
	return 0;
}

static void print_text(const side_t *s, size_t i, const char *prefix)
{
	size_t start, end;
	pol_policy_span(s->text, s->len, s->set, i, &start, &end);
	const char *p = s->text + start, *e = s->text + end;
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
		printf("%s%.*s\n", prefix, (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static json_t *text_json(const side_t *s, size_t i)
{
	size_t start, end;
	pol_policy_span(s->text, s->len, s->set, i, &start, &end);
	return json_stringn(s->text + start, end - start);
}

static json_t *id_json(const side_t *s, size_t i)
{
	return json_stringn(s->set->policy[i].id.p, s->set->policy[i].id.len);
}

static void diff_print(const side_t *a, const side_t *b, const pol_diff_t *d)
{
	printf("--- %s\n+++ %s\n", a->label, b->label);
	for (size_t i = 0; i < d->nremoved; i++) {
		printf("\n- removed %s\n", a->set->policy[d->removed[i]].id.p);
		print_text(a, d->removed[i], "- ");
	}
	for (size_t i = 0; i < d->nadded; i++) {
		printf("\n+ added %s\n", b->set->policy[d->added[i]].id.p);
		print_text(b, d->added[i], "+ ");
	}
	for (size_t i = 0; i < d->nchanged; i++) {
		printf("\n~ changed %s\n", b->set->policy[d->changed[i].new_i].id.p);
		print_text(a, d->changed[i].old_i, "- ");
		print_text(b, d->changed[i].new_i, "+ ");
	}
	printf("\n%zu added, %zu removed, %zu changed\n", d->nadded, d->nremoved, d->nchanged);
}

static json_t *diff_to_json(const side_t *a, const side_t *b, const pol_diff_t *d)
{
	json_t *added = json_array(), *removed = json_array(), *changed = json_array();
	for (size_t i = 0; i < d->nadded; i++)
		json_array_append_new(added, json_pack("{s:o, s:o}", "id", id_json(b, d->added[i]), "text",
						       text_json(b, d->added[i])));
	for (size_t i = 0; i < d->nremoved; i++)
		json_array_append_new(removed, json_pack("{s:o, s:o}", "id", id_json(a, d->removed[i]), "text",
							 text_json(a, d->removed[i])));
	for (size_t i = 0; i < d->nchanged; i++)
		json_array_append_new(changed, json_pack("{s:o, s:o, s:o}", "id", id_json(b, d->changed[i].new_i),
							 "old", text_json(a, d->changed[i].old_i), "new",
							 text_json(b, d->changed[i].new_i)));
	return json_pack("{s:s, s:s, s:o, s:o, s:o}", "from", a->label, "to", b->label, "added", added,
			 "removed", removed, "changed", changed);
}

/* The two sides of a diff: no argument, the previous version to the one
 * in force; one, the set in force to A (what setting A would change); two,
 * A to B. */
static int load_sides(int n, char **args, side_t *a, side_t *b)
{
	char prev[24];
	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	if (n == 0) {
		json_t *cur = fetch_version(0);
		long long v = cur ? (long long)json_integer_value(json_object_get(cur, "version")) : -1;
		json_decref(cur);
		if (v < 0)
			return -1;
		if (v < 2) {
			fprintf(stderr, "tollgate policy: there is no earlier version to compare with "
					"(`tollgate policy diff FILE` compares a file with the set in force)\n");
			return -1;
		}
		snprintf(prev, sizeof prev, "%lld", v - 1);
	}
	if (load_side(n == 0 ? prev : n == 1 ? NULL : args[0], 0, a) != 0)
		return -1;
	return load_side(n == 0 ? NULL : n == 1 ? args[0] : args[1], 0, b);
}

static int diff(int argc, char **argv, const policy_opts_t *o)
{
	side_t a, b;
	pol_diff_t d;
	int n = argc - optind, rc = 1;
	if (n > 2) {
		fprintf(stderr, "tollgate policy: diff takes at most two versions or files\n");
		return 2;
	}
	if (load_sides(n, argv + optind, &a, &b) != 0)
		goto out;
	if (pol_diff(a.set, b.set, &d) != 0) {
		fprintf(stderr, "tollgate policy: out of memory\n");
		goto out;
	}
	bool differ = d.nadded + d.nremoved + d.nchanged > 0;
	if (o->json) {
		json_t *j = diff_to_json(&a, &b, &d);
		cli_print_json(j);
		json_decref(j);
	} else {
		diff_print(&a, &b, &d);
	}
	pol_diff_free(&d);
	rc = o->exit_code && differ ? 1 : 0;
out:
	side_free(&b);
	side_free(&a);
	return rc;
}

int cmd_policy(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	policy_opts_t o;
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(policy_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	/* Offline commands take their own options (getopt names argv[0]). */
	if (strcmp(sub, "check") == 0 || strcmp(sub, "eval") == 0) {
		argv[1] = argv[0];
		return sub[0] == 'c' ? policy_check_main(argc - 1, argv + 1) : policy_eval_main(argc - 1, argv + 1);
	}
	bool known = strcmp(sub, "set") == 0 || strcmp(sub, "get") == 0 || strcmp(sub, "history") == 0 ||
		     strcmp(sub, "diff") == 0;
	if (!known)
		return cli_unknown_command(sub, (const char *const[]){"set", "get", "history", "diff", "check", "eval",
								      NULL});
	if (parse_opts(argc, argv, &o) != 0)
		return 2;
	if (strcmp(sub, "set") == 0)
		return set(argc, argv, &o);
	if (strcmp(sub, "get") == 0)
		return get(argc, &o);
	if (strcmp(sub, "history") == 0)
		return history(argc, &o);
	return diff(argc, argv, &o);
}
