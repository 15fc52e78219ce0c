/* grant.c - `tollgate grant`: just-in-time grants through /v1/grants
 * (docs/grants.md): request one, approve, deny, cancel, end or revoke it,
 * list and show them. One table names each verb with its help, the options
 * it takes and those it needs; the parsing and checks are shared. end and
 * revoke take --wait and --verify (cli/enforce.c). */
#include "cli/cli.h"
#include "core/timefmt.h"
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char grant_usage[] =
	"Usage: tollgate grant <command> [options]\n"
	"\n"
	"Just-in-time grants: privilege for one task, for a limited time, once\n"
	"someone other than the requester approved it (docs/grants.md).\n"
	"\n"
	"  request --identity ID --scope \"S1 S2\" --duration DUR --reason TEXT\n"
	"          [--ticket T] [--start TIME] [--source CIDR] [--break-glass]\n"
	"          [--json] [-q|--quiet]\n"
	"      Asks for a grant; it stays pending until enough approvals arrive\n"
	"      (--break-glass: an emergency grant, active at once, reviewed after).\n"
	"  approve ID [--comment TEXT] [--json]\n"
	"      Approves a pending grant (an operator session with a fresh second factor).\n"
	"  deny ID --reason TEXT [--json]\n"
	"      Refuses a pending grant.\n"
	"  cancel ID [--reason TEXT] [--json]\n"
	"      Withdraws a request before it is approved.\n"
	"  end ID [--reason TEXT] [--json] [--wait [SECS]] [--verify]\n"
	"      Ends an approved or active grant: the task is done.\n"
	"  revoke ID --reason TEXT [--json] [--wait [SECS]] [--verify]\n"
	"      Takes an approved or active grant back (--wait, --verify: see the\n"
	"      revocation enforced at every live edge).\n"
	"  review ID [--comment TEXT] [--json]\n"
	"      Reviews a break-glass grant (a second operator, fresh second factor).\n"
	"  list [--pending] [--state S] [--identity ID] [--review-open] [--limit N] [--json]\n"
	"      Lists grants, newest first.\n"
	"  show ID [--json]\n"
	"      Prints one grant.\n"
	"\n"
	"Run `tollgate grant <command> --help` for a command's options.\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and TOLLGATE_TOKEN: the\n"
	"admin token, or an operator session token from `tollgate login` (approving\n"
	"and denying need an operator session).\n";

static const char request_help[] =
	"Usage: tollgate grant request --identity ID --scope \"S1 S2\" --duration DUR\n"
	"           --reason TEXT [--ticket T] [--start TIME] [--source CIDR]\n"
	"           [--break-glass] [--json] [-q|--quiet]\n"
	"\n"
	"Asks for a grant (POST /v1/grants): once approved, identity ID may obtain\n"
	"tokens for the scope tokens for DUR. It stays pending until enough people\n"
	"other than the requester approved it, and expires when nobody does in time.\n"
	"\n"
	"  --identity ID     the identity the grant is for (existing and active)\n"
	"  --scope \"S1 S2\"   space-separated scope tokens ACTION@Type:id; policy must\n"
	"                    permit each to the identity once the grant is approved\n"
	"  --duration DUR    seconds, or whole units s, m, h (\"30m\", \"1h30m\"); at\n"
	"                    least 60 s, at most grant_max_duration (8 h by default)\n"
	"  --reason TEXT     why (1-500 bytes); approvers and the audit trail see it\n"
	"  --ticket T        a change or incident ticket (1-64 printable ASCII)\n"
	"  --start TIME      when it may start: Unix seconds or RFC 3339 UTC\n"
	"                    (2026-12-06T10:00:00Z), at most 30 days ahead; default now\n"
	"  --source CIDR     issue tokens under it only to clients from this IPv4 or\n"
	"                    IPv6 address or range\n"
	"  --break-glass     an emergency grant: active at once without approvals, for\n"
	"                    at most breakglass_max_duration (1 h); needs an admin\n"
	"                    operator with a fresh second factor; alerts, and stays a\n"
	"                    review item until another operator reviews it\n"
	"  --json            print the grant as JSON\n"
	"  -q, --quiet       print only the grant id: G=$(tollgate grant request ... -q)\n"
	"\n"
	"The grant ends DUR after the later of its start and the approval that\n"
	"completed it. Prints the grant: id, identity, scope, state, approvals\n"
	"(given/required), start and end (RFC 3339 UTC). Needs TOLLGATE_TOKEN: the\n"
	"admin token, an operator session (role admin or approver), or the\n"
	"identity's own access token.\n";

static const char approve_help[] =
	"Usage: tollgate grant approve ID [--comment TEXT] [--json]\n"
	"\n"
	"Approves pending grant ID (POST /v1/grants/ID/approve) and prints its new\n"
	"state, e.g. `g-...: active until 2026-12-06T10:30:00Z (2/2 approvals)`.\n"
	"\n"
	"  --comment TEXT    kept with the approval\n"
	"  --json            print the grant as JSON\n"
	"\n"
	"Needs an operator session (`tollgate login`, role approver or admin) whose\n"
	"second factor is at most stepup_max_age (300 s) old; with an older one, log\n"
	"in again and retry. Nobody approves their own request or approves twice,\n"
	"and policy must permit the operator Action::\"grant.approve\" on the grant's\n"
	"resources.\n";

static const char deny_help[] =
	"Usage: tollgate grant deny ID --reason TEXT [--json]\n"
	"\n"
	"Refuses pending grant ID (POST /v1/grants/ID/deny); it is final.\n"
	"\n"
	"  --reason TEXT     why (required); the requester and the audit trail see it\n"
	"  --json            print the grant as JSON\n"
	"\n"
	"Needs an operator session (role approver or admin).\n";

static const char cancel_help[] =
	"Usage: tollgate grant cancel ID [--reason TEXT] [--json]\n"
	"\n"
	"Withdraws grant ID before it is approved (POST /v1/grants/ID/cancel).\n"
	"\n"
	"  --reason TEXT     why, for the audit trail\n"
	"  --json            print the grant as JSON\n"
	"\n"
	"Needs the requester's own TOLLGATE_TOKEN, or the admin token.\n";

static const char end_help[] =
	"Usage: tollgate grant end ID [--reason TEXT] [--json] [--wait [SECS]] [--verify]\n"
	"\n"
	"Ends approved or active grant ID now (POST /v1/grants/ID/end): the task is\n"
	"done. Every token issued under it is inactive from this moment.\n"
	"\n"
	"  --reason TEXT     why, for the audit trail\n"
	"  --json            print the grant as JSON (the report then goes to stderr)\n"
	CLI_ENFORCE_HELP
	"                    (with a probe token the broker signs for the grant)\n"
	"\n"
	"Needs the requester's TOLLGATE_TOKEN, the grant identity's own access\n"
	"token, an approver's or admin operator's session, or the admin token.\n";

static const char revoke_help[] =
	"Usage: tollgate grant revoke ID --reason TEXT [--json] [--wait [SECS]] [--verify]\n"
	"\n"
	"Takes approved or active grant ID back (POST /v1/grants/ID/revoke). Every\n"
	"token issued under it is inactive from this moment.\n"
	"\n"
	"  --reason TEXT     why (required), for the audit trail\n"
	"  --json            print the grant as JSON (the report then goes to stderr)\n"
	CLI_ENFORCE_HELP
	"                    (with a probe token the broker signs for the grant)\n"
	"\n"
	"Needs an operator session (role approver or admin) or the admin token.\n";

static const char review_help[] =
	"Usage: tollgate grant review ID [--comment TEXT] [--json]\n"
	"\n"
	"Reviews break-glass grant ID (POST /v1/grants/ID/review), in any state,\n"
	"closing its review item. `tollgate grant list --review-open` lists the\n"
	"ones waiting.\n"
	"\n"
	"  --comment TEXT    what the review found, for the audit trail\n"
	"  --json            print the grant as JSON\n"
	"\n"
	"Needs an operator session (role approver or admin) other than the one who\n"
	"opened the grant, with a second factor at most stepup_max_age old.\n";

static const char list_help[] =
	"Usage: tollgate grant list [--pending] [--state S] [--identity ID] [--review-open]\n"
	"           [--limit N] [--json]\n"
	"\n"
	"Lists grants, newest first (GET /v1/grants): ID, IDENTITY, STATE,\n"
	"APPROVALS (given/required), ENDS (RFC 3339 UTC, - until approved), SCOPE.\n"
	"\n"
	"  --pending         only pending grants (--state pending)\n"
	"  --state S         only grants in state S: pending, approved, active, ended,\n"
	"                    expired, revoked, denied, cancelled\n"
	"  --identity ID     only grants for identity ID\n"
	"  --review-open     only break-glass grants nobody has reviewed yet\n"
	"  --limit N         at most N grants (1-500); without it, all of them\n"
	"  --json            print {\"grants\": [...]} as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin, approver or auditor\n"
	"operator's session.\n";

static const char show_help[] =
	"Usage: tollgate grant show ID [--json]\n"
	"\n"
	"Prints grant ID (GET /v1/grants/ID): identity, scope, state, approvals,\n"
	"start and end, reason, ticket, source, requester, and how it ended.\n"
	"\n"
	"  --json            print the grant as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, an admin, approver or auditor\n"
	"operator's session, or the grant identity's own access token.\n";

enum { O_IDENTITY = 1, O_SCOPE, O_DURATION, O_REASON, O_TICKET, O_START, O_SOURCE, O_COMMENT,
       O_STATE, O_LIMIT, O_PENDING, O_JSON, O_QUIET, O_BREAK_GLASS, O_REVIEW_OPEN, O_WAIT, O_VERIFY, O_HELP,
       O_COUNT };
#define BIT(o) (1u << (o))

static const struct option longs[] = {
	{"identity", required_argument, NULL, O_IDENTITY}, {"scope", required_argument, NULL, O_SCOPE},
	{"duration", required_argument, NULL, O_DURATION}, {"reason", required_argument, NULL, O_REASON},
	{"ticket", required_argument, NULL, O_TICKET}, {"start", required_argument, NULL, O_START},
	{"source", required_argument, NULL, O_SOURCE}, {"comment", required_argument, NULL, O_COMMENT},
	{"state", required_argument, NULL, O_STATE}, {"limit", required_argument, NULL, O_LIMIT},
	{"pending", no_argument, NULL, O_PENDING}, {"json", no_argument, NULL, O_JSON},
	{"quiet", no_argument, NULL, O_QUIET}, {"break-glass", no_argument, NULL, O_BREAK_GLASS},
	{"review-open", no_argument, NULL, O_REVIEW_OPEN}, {"wait", optional_argument, NULL, O_WAIT},
	{"verify", no_argument, NULL, O_VERIFY}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0}};

/* What a required option stands for, in "--reason TEXT is required (...)". */
static const struct {
	const char *arg, *what;
} required_text[O_COUNT] = {
	[O_IDENTITY] = {"ID", "the identity the grant is for"},
	[O_SCOPE] = {"\"S1 S2\"", "the scope tokens the grant is for"},
	[O_DURATION] = {"DUR", "how long it lasts once approved, e.g. 30m"},
	[O_REASON] = {"TEXT", "why; the audit trail keeps it"},
};

/* The long name of option opt ("reason"). */
static const char *long_name(int opt)
{
	for (const struct option *l = longs; l->name != NULL; l++)
		if (l->val == opt)
			return l->name;
	return "";
}

/* The options of one command line: values by option, the grant ID. */
typedef struct {
	const char *val[O_COUNT];
	bool set[O_COUNT];
	const char *id;
} opts_t;

typedef struct verb verb_t;
struct verb {
	const char *name, *help;
	unsigned takes, needs; /* BIT(O_...) of options accepted, and required */
	bool takes_id;
	int (*run)(const verb_t *v, const opts_t *o);
};

/* ---- output ----------------------------------------------------------- */

static const char *str(const json_t *g, const char *member)
{
	const char *s = json_string_value(json_object_get(g, member));
	return s ? s : "";
}

/* An integer member as RFC 3339 UTC, or dash when it is null or missing. */
static const char *time_of(const json_t *g, const char *member, char out[RFC3339_LEN], const char *dash)
{
	const json_t *v = json_object_get(g, member);
	if (!json_is_integer(v))
		return dash;
	rfc3339((int64_t)json_integer_value(v), out);
	return out;
}

/* "given/required" approvals. */
static const char *approvals_of(const json_t *g, char out[32])
{
	snprintf(out, 32, "%zu/%lld", json_array_size(json_object_get(g, "approvals")),
		 (long long)json_integer_value(json_object_get(g, "approvals_required")));
	return out;
}

/* Seconds as whole units: 5400 -> "1h30m". */
static const char *duration_of(long long s, char out[40])
{
	int n = 0;
	out[0] = '\0';
	if (s >= 3600)
		n += snprintf(out + n, 40 - (size_t)n, "%lldh", s / 3600);
	if (s % 3600 >= 60)
		n += snprintf(out + n, 40 - (size_t)n, "%lldm", s % 3600 / 60);
	if (s % 60 != 0 || s == 0)
		snprintf(out + n, 40 - (size_t)n, "%llds", s % 60);
	return out;
}

static bool is_final(const char *state)
{
	static const char *const final[] = {"ended", "expired", "revoked", "denied", "cancelled", NULL};
	for (const char *const *f = final; *f; f++)
		if (strcmp(state, *f) == 0)
			return true;
	return false;
}

/* How a final grant closed: "revoked at 2026-12-06T10:12:00Z by bob: reason". */
static void print_closing(const json_t *g)
{
	char t[RFC3339_LEN];
	const char *by = json_string_value(json_object_get(g, "ended_by"));
	const char *why = json_string_value(json_object_get(g, "end_reason"));
	printf("%s at %s%s%s%s%s\n", str(g, "state"), time_of(g, "ended_at", t, "-"), by ? " by " : "",
	       by ? by : "", why ? ": " : "", why ? why : "");
}

/* The grant's state in one line:
 * "g-...: active until 2026-12-06T10:30:00Z (2/2 approvals)". */
static void print_state_line(const json_t *g)
{
	char a[32], t1[RFC3339_LEN], t2[RFC3339_LEN];
	const char *id = str(g, "id"), *state = str(g, "state");
	approvals_of(g, a);
	if (strcmp(state, "pending") == 0) {
		printf("%s: pending (%s approvals; expires %s unless approved)\n", id, a,
		       time_of(g, "expires_at", t1, "-"));
	} else if (strcmp(state, "approved") == 0) {
		printf("%s: approved, active from %s until %s (%s approvals)\n", id, time_of(g, "start", t1, "-"),
		       time_of(g, "ends_at", t2, "-"), a);
	} else if (strcmp(state, "active") == 0) {
		printf("%s: active until %s (%s approvals)\n", id, time_of(g, "ends_at", t1, "-"), a);
	} else if (is_final(state)) {
		printf("%s: ", id);
		print_closing(g);
	} else {
		printf("%s: %s (%s approvals)\n", id, state, a);
	}
}

/* The grant for people: one "name: value" line per member that is set. */
static void print_grant(const json_t *g)
{
	char a[32], d[40], t[RFC3339_LEN], ends[128];
	const char *ends_at = time_of(g, "ends_at", t, NULL);
	if (ends_at != NULL)
		snprintf(ends, sizeof ends, "%s", ends_at);
	else
		snprintf(ends, sizeof ends, "%s after approval (or after start, when later)",
			 duration_of((long long)json_integer_value(json_object_get(g, "duration")), d));
	printf("id:         %s\n", str(g, "id"));
	printf("identity:   %s\n", str(g, "identity"));
	printf("scope:      %s\n", str(g, "scope"));
	printf("state:      %s\n", str(g, "state"));
	printf("approvals:  %s\n", approvals_of(g, a));
	size_t i;
	const json_t *ap;
	json_array_foreach(json_object_get(g, "approvals"), i, ap) {
		const char *c = json_string_value(json_object_get(ap, "comment"));
		printf("  %s at %s%s%s\n", str(ap, "approver"), time_of(ap, "at", t, "-"), c ? ": " : "", c ? c : "");
	}
	printf("start:      %s\n", time_of(g, "start", t, "-"));
	printf("ends:       %s\n", ends);
	if (strcmp(str(g, "state"), "pending") == 0)
		printf("expires:    %s unless approved\n", time_of(g, "expires_at", t, "-"));
	printf("reason:     %s\n", str(g, "reason"));
	if (json_is_string(json_object_get(g, "ticket")))
		printf("ticket:     %s\n", str(g, "ticket"));
	if (json_is_string(json_object_get(g, "source")))
		printf("source:     %s\n", str(g, "source"));
	printf("requester:  %s (%s)\n", str(g, "requester"), str(g, "requester_kind"));
	if (json_is_true(json_object_get(g, "break_glass"))) {
		const json_t *rv = json_object_get(g, "review");
		const char *by = json_string_value(json_object_get(rv, "reviewed_by"));
		printf("break glass: yes; review %s%s%s\n", by ? "done by " : "open", by ? by : "",
		       by ? "" : " (tollgate grant review ID)");
	}
	if (is_final(str(g, "state"))) {
		printf("closed:     ");
		print_closing(g);
	}
}

static void print_table(const json_t *list)
{
	char a[32], t[RFC3339_LEN];
	size_t i;
	const json_t *g;
	printf("%-24s %-20s %-9s %-9s %-20s %s\n", "ID", "IDENTITY", "STATE", "APPROVALS", "ENDS", "SCOPE");
	json_array_foreach(json_object_get(list, "grants"), i, g)
		printf("%-24s %-20s %-9s %-9s %-20s %s\n", str(g, "id"), str(g, "identity"), str(g, "state"),
		       approvals_of(g, a), time_of(g, "ends_at", t, "-"), str(g, "scope"));
}

/* ---- the verbs -------------------------------------------------------- */

/* A number of seconds as a JSON integer when s is all digits, else the
 * string as given (the broker parses "30m" and RFC 3339 times). */
static json_t *number_or_string(const char *s)
{
	char *end = NULL;
	errno = 0;
	long long v = s[0] >= '0' && s[0] <= '9' ? strtoll(s, &end, 10) : 0;
	if (end != NULL && *end == '\0' && errno == 0)
		return json_integer((json_int_t)v);
	return json_string(s);
}

/* Sets member to the option's value (a string) when it was given. */
static void set_if(json_t *body, const char *member, const opts_t *o, int opt)
{
	if (o->set[opt])
		json_object_set_new(body, member, json_string(o->val[opt]));
}

static int run_request(const verb_t *v, const opts_t *o)
{
	(void)v;
	if (o->set[O_JSON] && o->set[O_QUIET]) {
		fprintf(stderr, "%s request: --json and --quiet do not go together\n", cli_prefix());
		return 2;
	}
	json_t *body = json_pack("{s:s, s:s, s:o, s:s}", "identity", o->val[O_IDENTITY], "scope", o->val[O_SCOPE],
				 "duration", number_or_string(o->val[O_DURATION]), "reason", o->val[O_REASON]);
	set_if(body, "ticket", o, O_TICKET);
	if (o->set[O_START])
		json_object_set_new(body, "start", number_or_string(o->val[O_START]));
	set_if(body, "source", o, O_SOURCE);
	if (o->set[O_BREAK_GLASS])
		json_object_set_new(body, "break_glass", json_true());
	json_t *g = cli_api("POST", "/v1/grants", body);
	if (g == NULL)
		return 1;
	if (o->set[O_QUIET])
		printf("%s\n", str(g, "id"));
	else if (o->set[O_JSON])
		cli_print_json(g);
	else
		print_grant(g);
	json_decref(g);
	return 0;
}

/* "/v1/grants/ID" and then suffix ("" or "/approve", ...); malloc'd. */
static char *grant_path(const char *id, const char *suffix)
{
	char *e = cli_urlencode(id), *path = NULL;
	if (e == NULL || asprintf(&path, "/v1/grants/%s%s", e, suffix) < 0)
		path = NULL;
	free(e);
	return path;
}

/* approve, deny, cancel, end, revoke: POST /v1/grants/ID/VERB; end and
 * revoke then do what --wait and --verify ask. */
static int run_transition(const verb_t *v, const opts_t *o)
{
	cli_enforce_t e;
	char suffix[16];
	if (cli_enforce_init(&e, o->set[O_WAIT], o->val[O_WAIT], o->set[O_VERIFY], o->set[O_JSON]) != 0)
		return 2;
	snprintf(suffix, sizeof suffix, "/%s", v->name);
	char *path = grant_path(o->id, suffix);
	if (path == NULL)
		return 1;
	json_t *body = json_object();
	set_if(body, "comment", o, O_COMMENT);
	set_if(body, "reason", o, O_REASON);
	json_t *g = cli_api("POST", path, body);
	free(path);
	if (g == NULL)
		return 1;
	if (o->set[O_JSON])
		cli_print_json(g);
	else
		print_state_line(g);
	json_decref(g);
	return cli_enforce(&e, NULL, "grant", o->id);
}

static int run_show(const verb_t *v, const opts_t *o)
{
	(void)v;
	char *path = grant_path(o->id, "");
	json_t *g = path ? cli_api("GET", path, NULL) : NULL;
	free(path);
	if (g == NULL)
		return 1;
	if (o->set[O_JSON])
		cli_print_json(g);
	else
		print_grant(g);
	json_decref(g);
	return 0;
}

/* Appends "&name=urlencoded(value)" to the query in path (cap bytes). */
static void query_add(char *path, size_t cap, const char *name, const char *value)
{
	char *e = cli_urlencode(value);
	size_t n = strlen(path);
	snprintf(path + n, cap - n, "%s%s=%s", strchr(path, '?') ? "&" : "?", name, e ? e : "");
	free(e);
}

static int run_list(const verb_t *v, const opts_t *o)
{
	char path[2048] = "/v1/grants";
	const char *state = o->set[O_PENDING] ? "pending" : o->val[O_STATE];
	(void)v;
	if (o->set[O_PENDING] && o->set[O_STATE] && strcmp(o->val[O_STATE], "pending") != 0) {
		fprintf(stderr, "%s list: --pending and --state %s do not go together\n", cli_prefix(),
			o->val[O_STATE]);
		return 2;
	}
	if (o->set[O_LIMIT]) {
		char *end = NULL;
		long n = strtol(o->val[O_LIMIT], &end, 10);
		if (end == o->val[O_LIMIT] || *end != '\0' || n < 1 || n > 500) {
			fprintf(stderr, "%s list: --limit must be a number from 1 to 500\n", cli_prefix());
			return 2;
		}
	}
	query_add(path, sizeof path, "limit", o->set[O_LIMIT] ? o->val[O_LIMIT] : "500");
	if (state != NULL)
		query_add(path, sizeof path, "state", state);
	if (o->set[O_IDENTITY])
		query_add(path, sizeof path, "identity", o->val[O_IDENTITY]);
	if (o->set[O_REVIEW_OPEN])
		query_add(path, sizeof path, "review", "open");
	/* with --limit, that many and no more; without, every page */
	json_t *list = o->set[O_LIMIT] ? cli_api("GET", path, NULL) : cli_api_all(path, "grants");
	if (list == NULL)
		return 1;
	if (o->set[O_JSON])
		cli_print_json(list);
	else
		print_table(list);
	json_decref(list);
	return 0;
}

#define TAKES_JSON BIT(O_JSON)
#define TAKES_WAIT (BIT(O_WAIT) | BIT(O_VERIFY))
static const verb_t verbs[] = {
	{"request", request_help,
	 BIT(O_IDENTITY) | BIT(O_SCOPE) | BIT(O_DURATION) | BIT(O_REASON) | BIT(O_TICKET) | BIT(O_START) |
		 BIT(O_SOURCE) | BIT(O_BREAK_GLASS) | BIT(O_QUIET) | TAKES_JSON,
	 BIT(O_IDENTITY) | BIT(O_SCOPE) | BIT(O_DURATION) | BIT(O_REASON), false, run_request},
	{"approve", approve_help, BIT(O_COMMENT) | TAKES_JSON, 0, true, run_transition},
	{"deny", deny_help, BIT(O_REASON) | TAKES_JSON, BIT(O_REASON), true, run_transition},
	{"cancel", cancel_help, BIT(O_REASON) | TAKES_JSON, 0, true, run_transition},
	{"end", end_help, BIT(O_REASON) | TAKES_JSON | TAKES_WAIT, 0, true, run_transition},
	{"revoke", revoke_help, BIT(O_REASON) | TAKES_JSON | TAKES_WAIT, BIT(O_REASON), true, run_transition},
	{"review", review_help, BIT(O_COMMENT) | TAKES_JSON, 0, true, run_transition},
	{"list", list_help,
	 BIT(O_PENDING) | BIT(O_STATE) | BIT(O_IDENTITY) | BIT(O_REVIEW_OPEN) | BIT(O_LIMIT) | TAKES_JSON, 0,
	 false, run_list},
	{"show", show_help, TAKES_JSON, 0, true, run_show},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

/* ---- parsing ---------------------------------------------------------- */

/* A grant id the CLI can put in a path: non-empty, no '/', '?' or '#'. */
static bool good_id(const char *id)
{
	return id[0] != '\0' && strpbrk(id, "/?#") == NULL;
}

/* The options being parsed into o (cli_wait_arg may take the next word). */
typedef struct {
	opts_t *o;
	int argc;
	char **argv;
} parsing_t;

static int take(int ch, void *ctx)
{
	parsing_t *p = ctx;
	p->o->val[ch] = ch == O_WAIT ? cli_wait_arg(p->argc, p->argv) : optarg;
	p->o->set[ch] = true;
	return 0;
}

/* The options and the ID after the verb into o; 0, 1 after --help (printed),
 * or 2 after a usage error (said). */
static int parse(const verb_t *v, int argc, char **argv, opts_t *o)
{
	const char *pre = cli_prefix();
	static const int short_codes[] = {O_HELP, O_QUIET};
	const cli_verb_opts_t spec = {v->name, v->help, longs, "hq", short_codes, O_COUNT, O_HELP, v->takes};
	parsing_t p = {o, argc, argv};
	int rc = cli_verb_options(argc, argv, &spec, take, &p);
	if (rc != 0)
		return rc;
	bool missing = false;
	for (int i = 1; i < O_COUNT; i++)
		if ((v->needs & BIT(i)) && !o->set[i]) {
			fprintf(stderr, "%s %s: --%s %s is required (%s)\n", pre, v->name, long_name(i),
				required_text[i].arg, required_text[i].what);
			missing = true;
		}
	if (missing)
		return cli_bad_option(v->name);
	static const cli_arg_text_t id_text = {"the grant ID", " (`tollgate grant list` lists them)", "grant ID", ""};
	if (cli_verb_arg(argc, argv, v->name, v->takes_id, &id_text, &o->id) != 0)
		return 2;
	if (o->id == NULL || good_id(o->id))
		return 0;
	fprintf(stderr, "%s %s: '%.64s' is not a grant id (it is empty or has '/', '?' or '#')\n", pre, v->name,
		o->id);
	return 2;
}

int cmd_grant(int argc, char **argv)
{
	int rc = 0;
	const verb_t *v = cli_verb_lookup(argc, argv, verbs, NVERBS, sizeof verbs[0], grant_usage, &rc);
	if (v == NULL)
		return rc;
	opts_t o = {0};
	rc = parse(v, argc, argv, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	return v->run(v, &o);
}
