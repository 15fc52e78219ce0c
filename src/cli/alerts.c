/* alerts.c - `tollgate alerts`: the behaviour monitor's alerts through
 * /v1/alerts (docs/monitoring.md): list them, show one with its evidence
 * and containment, acknowledge one, and release what its containment
 * suspended. One table names each verb with its help and the options it
 * takes; the parsing is shared. */
#include "cli/cli.h"
#include "core/identity_json.h"
#include "core/limits.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char alerts_usage[] =
	"Usage: tollgate alerts <command> [options]\n"
	"\n"
	"The behaviour monitor's alerts (docs/monitoring.md): what an identity did\n"
	"outside its baseline, how bad it is, the evidence, and what was contained.\n"
	"\n"
	"  list [--state open|acked] [--identity ID] [--json]\n"
	"      Lists alerts, newest first.\n"
	"  show ID [--json]\n"
	"      Prints one alert with its evidence and containment.\n"
	"  ack ID [--comment TEXT] [--json]\n"
	"      Acknowledges an alert.\n"
	"  release ID [--comment TEXT] [--json]\n"
	"      Reactivates the identity the alert's containment suspended.\n"
	"\n"
	"Run `tollgate alerts <command> --help` for a command's options.\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and TOLLGATE_TOKEN: the\n"
	"admin token, or an operator session token from `tollgate login` (list and\n"
	"show: admin, approver or auditor; ack: admin or approver; release: admin\n"
	"with a fresh second factor).\n";

static const char list_help[] =
	"Usage: tollgate alerts list [--state open|acked] [--identity ID] [--json]\n"
	"\n"
	"Lists the monitor's alerts, newest first (GET /v1/alerts, every page):\n"
	"ID, TIME, SEVERITY, DETECTOR, IDENTITY, STATE and a SUMMARY.\n"
	"\n"
	"  --state S      only open or only acked alerts\n"
	"  --identity ID  only the alerts of identity ID\n"
	"  --json         print {\"alerts\": [...]} as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin, approver or auditor\n"
	"operator's session.\n";

static const char show_help[] =
	"Usage: tollgate alerts show ID [--json]\n"
	"\n"
	"Prints alert ID (GET /v1/alerts/ID): detector, severity, identity, summary,\n"
	"the evidence (the audit record's seq and what the detector saw), its state,\n"
	"and its containment: the mode (dry_run: recorded only; enforce: done), the\n"
	"actions, their results and how to reverse them.\n"
	"\n"
	"  --json         print the alert as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin, approver or auditor\n"
	"operator's session.\n";

static const char ack_help[] =
	"Usage: tollgate alerts ack ID [--comment TEXT] [--json]\n"
	"\n"
	"Acknowledges alert ID (POST /v1/alerts/ID/ack): its state becomes acked,\n"
	"with who and when; the acknowledgement is audited (monitor.acked). An\n"
	"alert is acknowledged once.\n"
	"\n"
	"  --comment TEXT  why (1-500 characters)\n"
	"  --json          print the alert as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin or approver operator's\n"
	"session.\n";

static const char release_help[] =
	"Usage: tollgate alerts release ID [--comment TEXT] [--json]\n"
	"\n"
	"Reverses the containment of alert ID (POST /v1/alerts/ID/release): the\n"
	"identity it suspended is active again (identity.reactivated, audited with\n"
	"the alert id; every edge learns of it from the feed). Grants and tokens it\n"
	"revoked stay revoked: the workload requests new ones.\n"
	"\n"
	"  --comment TEXT  why (1-500 characters)\n"
	"  --json          print the alert as JSON\n"
	"\n"
	"Needs the admin token or an admin operator's session with a second factor\n"
	"at most stepup_max_age (300 s) old; with an older one, log in again.\n";

enum { O_JSON = 1, O_STATE, O_IDENTITY, O_COMMENT, O_HELP, O_COUNT };
#define BIT(o) (1u << (o))

static const struct option longs[] = {{"json", no_argument, NULL, O_JSON},
				      {"state", required_argument, NULL, O_STATE},
				      {"identity", required_argument, NULL, O_IDENTITY},
				      {"comment", required_argument, NULL, O_COMMENT},
				      {"help", no_argument, NULL, O_HELP},
				      {NULL, 0, NULL, 0}};

typedef struct {
	bool json;
	const char *state, *identity, *comment;
	const char *id;
} opts_t;

typedef struct {
	const char *name, *help;
	unsigned takes;
	bool needs_id;
	int (*run)(const opts_t *o);
} verb_t;

/* ---- output ----------------------------------------------------------- */

static const char *str(const json_t *j, const char *member)
{
	const char *s = json_string_value(json_object_get(j, member));
	return s ? s : "";
}

static void print_members(const char *label, const json_t *o)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v) {
		char *text = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%-12s%s = %s\n", label, k, text ? text : json_string_value(v));
		free(text);
		label = "";
	}
}

static void print_alert(const json_t *a)
{
	const json_t *c = json_object_get(a, "containment");
	printf("id:         %s\n", str(a, "id"));
	printf("time:       %s\n", str(a, "time"));
	printf("detector:   %s\n", str(a, "detector"));
	printf("severity:   %s\n", str(a, "severity"));
	printf("identity:   %s\n", str(a, "identity"));
	printf("summary:    %s\n", str(a, "summary"));
	print_members("evidence:", json_object_get(a, "evidence"));
	printf("state:      %s", str(a, "state"));
	if (json_is_string(json_object_get(a, "acked_by")))
		printf(" by %s at %s%s%s", str(a, "acked_by"), str(a, "acked_at"),
		       json_is_string(json_object_get(a, "comment")) ? ": " : "", str(a, "comment"));
	printf("\n");
	if (!json_is_object(c)) {
		printf("contained:  no\n");
		return;
	}
	print_members("contained:", c);
}

static void print_table(const json_t *list)
{
	const json_t *a;
	size_t i;
	printf("%-19s  %-20s  %-8s  %-15s  %-20s  %-5s  %s\n", "ID", "TIME", "SEVERITY", "DETECTOR", "IDENTITY", "STATE",
	       "SUMMARY");
	json_array_foreach(json_object_get(list, "alerts"), i, a)
		printf("%-19s  %-20s  %-8s  %-15s  %-20s  %-5s  %s\n", str(a, "id"), str(a, "time"), str(a, "severity"),
		       str(a, "detector"), str(a, "identity"), str(a, "state"), str(a, "summary"));
}

static int print_answer(json_t *a, const opts_t *o)
{
	if (a == NULL)
		return 1;
	if (o->json)
		cli_print_json(a);
	else
		print_alert(a);
	json_decref(a);
	return 0;
}

/* ---- the verbs -------------------------------------------------------- */

static int run_list(const opts_t *o)
{
	char path[512];
	char *state = o->state ? cli_urlencode(o->state) : NULL, *ident = o->identity ? cli_urlencode(o->identity) : NULL;
	snprintf(path, sizeof path, "/v1/alerts?limit=1000%s%s%s%s", state ? "&state=" : "", state ? state : "",
		 ident ? "&identity=" : "", ident ? ident : "");
	free(state);
	free(ident);
	json_t *list = cli_api_all(path, "alerts");
	if (list == NULL)
		return 1;
	if (o->json)
		cli_print_json(list);
	else
		print_table(list);
	json_decref(list);
	return 0;
}

static int run_show(const opts_t *o)
{
	char path[64];
	snprintf(path, sizeof path, "/v1/alerts/%s", o->id);
	return print_answer(cli_api("GET", path, NULL), o);
}

static int post_with_comment(const opts_t *o, const char *op)
{
	char path[80];
	snprintf(path, sizeof path, "/v1/alerts/%s/%s", o->id, op);
	json_t *body = o->comment ? json_pack("{s:s}", "comment", o->comment) : json_object();
	return print_answer(cli_api("POST", path, body), o);
}

static int run_ack(const opts_t *o) { return post_with_comment(o, "ack"); }
static int run_release(const opts_t *o) { return post_with_comment(o, "release"); }

static const verb_t verbs[] = {
	{"list", list_help, BIT(O_JSON) | BIT(O_STATE) | BIT(O_IDENTITY), false, run_list},
	{"show", show_help, BIT(O_JSON), true, run_show},
	{"ack", ack_help, BIT(O_JSON) | BIT(O_COMMENT), true, run_ack},
	{"release", release_help, BIT(O_JSON) | BIT(O_COMMENT), true, run_release},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

/* ---- parsing ---------------------------------------------------------- */

/* An alert id: al- and 16 base64url characters. */
static bool id_ok(const char *s)
{
	return strlen(s) == 19 && strncmp(s, "al-", 3) == 0 &&
	       strspn(s + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == 16;
}

static int check_args(const verb_t *v, int argc, char **argv, opts_t *o)
{
	const char *pre = cli_prefix();
	if (o->state && strcmp(o->state, "open") != 0 && strcmp(o->state, "acked") != 0) {
		fprintf(stderr, "%s %s: --state is open or acked, not '%.32s'\n", pre, v->name, o->state);
		return 2;
	}
	if (o->identity && !identity_name_valid(o->identity)) {
		fprintf(stderr, "%s %s: '%.64s' is not an identity id\n", pre, v->name, o->identity);
		return 2;
	}
	static const cli_arg_text_t id_text = {"ID", " (`tollgate alerts list` lists them)", "ID", ""};
	if (cli_verb_arg(argc, argv, v->name, v->needs_id, &id_text, &o->id) != 0)
		return 2;
	if (o->id != NULL && !id_ok(o->id)) {
		fprintf(stderr, "%s %s: '%.64s' is not an alert id (al- and 16 characters)\n", pre, v->name, o->id);
		return 2;
	}
	return 0;
}

/* One option the verb takes into the opts_t ctx. */
static int take(int ch, void *ctx)
{
	opts_t *o = ctx;
	o->json = o->json || ch == O_JSON;
	if (ch == O_STATE)
		o->state = optarg;
	else if (ch == O_IDENTITY)
		o->identity = optarg;
	else if (ch == O_COMMENT)
		o->comment = optarg;
	return 0;
}

static int parse(const verb_t *v, int argc, char **argv, opts_t *o)
{
	static const int short_codes[] = {O_HELP};
	const cli_verb_opts_t spec = {v->name, v->help, longs, "h", short_codes, O_COUNT, O_HELP, v->takes};
	int rc = cli_verb_options(argc, argv, &spec, take, o);
	return rc != 0 ? rc : check_args(v, argc, argv, o);
}

int cmd_alerts(int argc, char **argv)
{
	int rc = 0;
	const verb_t *v = cli_verb_lookup(argc, argv, verbs, NVERBS, sizeof verbs[0], alerts_usage, &rc);
	if (v == NULL)
		return rc;
	opts_t o = {0};
	rc = parse(v, argc, argv, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	return v->run(&o);
}
