/* edge.c - `tollgate edge` as a client of the broker: `edge list` (GET
 * /v1/edges: each edge's address, liveness, acknowledged feed seq and lag),
 * `edge sessions` (GET /v1/edges/sessions: the live Modbus sessions the
 * edges report), `edge kill SESSION` (POST /v1/edges/sessions/{sid}/kill,
 * then --wait until the edge's report no longer lists it) and the noun's
 * help, which documents `edge run --config FILE` too (the edge agent
 * itself, src/edge, which main.c starts instead of this). */
#include "cli/cli.h"
#include "core/edge_sessions.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char edge_usage[] =
	"Usage: tollgate edge <command> [options]\n"
	"\n"
	"Edges enforce next to the protected services: forward-auth for nginx,\n"
	"Caddy, Traefik and Envoy, deciding locally on the state they sync from\n"
	"the broker's revocation feed.\n"
	"\n"
	"  run --config FILE [--print-config]\n"
	"      Runs an edge agent: it logs in to the broker as an identity of kind\n"
	"      edge, long-polls the feed and answers forward-auth at GET /auth on\n"
	"      its listen address.\n"
	"  list [--json]\n"
	"      The edges the broker has heard from: ID, ADDR, LIVE, ACKED SEQ, LAG\n"
	"      (how far behind the feed), LAST SEEN.\n"
	"  sessions [--edge ID] [--json]\n"
	"      The live Modbus sessions the edges report: who is connected to which\n"
	"      device under which grant, and their allowed and denied requests.\n"
	"  kill SESSION [--edge ID] [--reason TEXT] [--wait [SECS]]\n"
	"      Closes one Modbus session at its edge (through the feed; audited).\n"
	"\n"
	"Run `tollgate edge <command> --help` for a command's options. Commands\n"
	"that revoke take --wait [SECS] and --verify to see the revocation\n"
	"enforced at every live edge (docs/cli.md).\n"
	"`edge list` and `edge sessions` need TOLLGATE_ADDR (default\n"
	"http://127.0.0.1:8420) and TOLLGATE_TOKEN: the admin token, or an admin or\n"
	"auditor operator's session; `edge kill` an admin's.\n";

static const char run_help[] =
	"Usage: tollgate edge run --config FILE [--print-config]\n"
	"\n"
	"Runs an edge agent in the foreground: it authenticates to the broker as\n"
	"an identity of kind edge, long-polls the revocation feed, keeps what it\n"
	"syncs in its state_dir and answers forward-auth at GET /auth on its listen\n"
	"address, deciding locally. `tollgate edge run --help` lists the agent's\n"
	"options; docs/edge.md describes the configuration file and its routes.\n";

static const char list_help[] =
	"Usage: tollgate edge list [--json]\n"
	"\n"
	"Lists the edges the broker has heard from (GET /v1/edges):\n"
	"  ID         the edge's identity\n"
	"  ADDR       the address it reported (where --verify reaches its /auth)\n"
	"  LIVE       yes when it polled within edge_timeout; a revocation waits\n"
	"             only for live edges\n"
	"  ACKED SEQ  the feed position it acknowledged\n"
	"  LAG        in sync, or how long ago the first entry it has not\n"
	"             acknowledged was committed\n"
	"  LAST SEEN  its last poll (RFC 3339 UTC)\n"
	"\n"
	"  --json     print the broker's answer: {\"feed_seq\": N, \"edges\": [...]}\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin or auditor operator's\n"
	"session.\n";

static const char sessions_help[] =
	"Usage: tollgate edge sessions [--edge ID] [--json]\n"
	"\n"
	"Lists the live Modbus/TCP sessions the edges report to the broker (GET\n"
	"/v1/edges/sessions). Each edge with modbus lines reports its sessions when\n"
	"they change (at most once a second) and every 10 s:\n"
	"  SESSION    the session's id (give it to `tollgate edge kill`)\n"
	"  EDGE       the edge holding the connection\n"
	"  DEVICE     the device entity of the modbus line, and its LISTENER\n"
	"  SOURCE     the client's address\n"
	"  IDENTITY   who the connection acts as: the identity of the GRANT that\n"
	"             binds the source to the device\n"
	"  SINCE      when it connected; LAST its last request (UTC)\n"
	"  ALLOWED    requests forwarded to the device; DENIED refused ones\n"
	"  NOTE       \"stale report\" when the edge's last report is older than\n"
	"             30 s or the edge is not live: what it lists may be gone\n"
	"\n"
	"  --edge ID  only that edge's sessions (fails when it sent no report)\n"
	"  --json     print the broker's answer: {\"edges\": [...], \"sessions\": [...]}\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin or auditor operator's\n"
	"session.\n";

static const char kill_help[] =
	"Usage: tollgate edge kill SESSION [--edge ID] [--reason TEXT] [--wait [SECS]]\n"
	"\n"
	"Closes a live Modbus session (see `tollgate edge sessions`). The broker\n"
	"records an edge.session_kill audit record (who, which edge and session,\n"
	"the reason), which reaches the edge through the revocation feed; the edge\n"
	"closes the client's connection (requests in flight are dropped), records\n"
	"modbus.session_killed and reports its sessions again. The client may\n"
	"connect again while its grant lasts: end the grant to keep it out.\n"
	"\n"
	"  --edge ID        the edge holding the session (default: found in the\n"
	"                   sessions list)\n"
	"  --reason TEXT    why, for the audit trail (at most 500 bytes)\n"
	"  --wait [SECS]    then wait (default 30 s) until the edge's report no\n"
	"                   longer lists the session; exit 3 when it still does\n"
	"\n"
	"Exit status: 0 done (or requested, without --wait), 1 the broker refused\n"
	"(404: no such session in the edges' reports), 2 usage, 3 not closed in\n"
	"time. Needs TOLLGATE_TOKEN: the admin token or an admin operator's session.\n";

typedef struct {
	const char *name, *help;
	int (*run)(int argc, char **argv);
} verb_t;

static const char *str(const json_t *o, const char *member, const char *none)
{
	const char *s = json_string_value(json_object_get(o, member));
	return s && s[0] ? s : none;
}

/* The LAG column: "in sync", "350 ms", "12 s", or "behind" when unknown. */
static const char *lag_of(const json_t *e, char out[32])
{
	const json_t *lag = json_object_get(e, "lag_ms");
	long long ms = json_integer_value(lag);
	if (json_is_true(json_object_get(e, "in_sync")))
		return "in sync";
	if (!json_is_integer(lag))
		return "behind";
	if (ms < 10000)
		snprintf(out, 32, "%lld ms", ms);
	else
		snprintf(out, 32, "%lld s", ms / 1000);
	return out;
}

static void print_table(const json_t *list)
{
	char lag[32];
	size_t i;
	const json_t *e;
	const json_t *edges = json_object_get(list, "edges");
	printf("%-24s %-32s %-4s %-10s %-10s %s\n", "ID", "ADDR", "LIVE", "ACKED SEQ", "LAG", "LAST SEEN");
	json_array_foreach(edges, i, e)
		printf("%-24s %-32s %-4s %-10lld %-10s %s\n", str(e, "id", "-"), str(e, "addr", "-"),
		       json_is_true(json_object_get(e, "live")) ? "yes" : "no",
		       (long long)json_integer_value(json_object_get(e, "acked_seq")), lag_of(e, lag),
		       str(e, "last_seen", "never"));
	if (json_array_size(edges) == 0)
		printf("(no edge has polled the broker yet: `tollgate edge run --config FILE` starts one)\n");
}

static int run_list(int argc, char **argv)
{
	static const struct option longs[] = {
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool as_json = false;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == 'j') {
			as_json = true;
		} else if (ch == 'h') {
			fputs(list_help, stdout);
			return 0;
		} else {
			return cli_bad_option("list");
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s list: takes options only, not '%.64s'\n", cli_prefix(), argv[optind]);
		return 2;
	}
	json_t *list = cli_api("GET", "/v1/edges", NULL);
	if (list == NULL)
		return 1;
	if (as_json)
		cli_print_json(list);
	else
		print_table(list);
	json_decref(list);
	return 0;
}

/* ---- edge sessions ---- */

/* An RFC 3339 time to the second ("2026-12-06T13:01:02Z"), into out. */
static const char *to_second(const char *t, char out[24])
{
	if (t == NULL || strlen(t) < 19)
		return "-";
	snprintf(out, 24, "%.19sZ", t);
	return out;
}

static void print_sessions(const json_t *a)
{
	char since[24], last[24];
	size_t i;
	const json_t *s, *e;
	const json_t *sessions = json_object_get(a, "sessions");
	printf("%-20s %-16s %-16s %-21s %-16s %-16s %-26s %-20s %-20s %7s %6s %s\n", "SESSION", "EDGE", "DEVICE",
	       "LISTENER", "SOURCE", "IDENTITY", "GRANT", "SINCE", "LAST", "ALLOWED", "DENIED", "NOTE");
	json_array_foreach(sessions, i, s)
		printf("%-20s %-16s %-16s %-21s %-16s %-16s %-26s %-20s %-20s %7lld %6lld %s\n", str(s, "id", "-"),
		       str(s, "edge", "-"), str(s, "device", "-"), str(s, "listener", "-"), str(s, "src", "-"),
		       str(s, "identity", "-"), str(s, "grant", "-"),
		       to_second(json_string_value(json_object_get(s, "connected_at")), since),
		       to_second(json_string_value(json_object_get(s, "last_activity")), last),
		       (long long)json_integer_value(json_object_get(s, "allowed")),
		       (long long)json_integer_value(json_object_get(s, "denied")),
		       json_is_true(json_object_get(s, "stale")) ? "stale report" : "");
	if (json_array_size(sessions) == 0)
		printf("(no live Modbus sessions reported)\n");
	json_array_foreach(json_object_get(a, "edges"), i, e) {
		long long total = json_integer_value(json_object_get(e, "total"));
		long long sent = json_integer_value(json_object_get(e, "sent"));
		if (json_is_true(json_object_get(e, "stale")))
			printf("edge %s: stale report (last %lld s ago, edge %s)\n", str(e, "id", "-"),
			       (long long)json_integer_value(json_object_get(e, "report_age_ms")) / 1000,
			       json_is_true(json_object_get(e, "live")) ? "live" : "not live");
		if (total > sent)
			printf("edge %s: %lld sessions, %lld listed (the rest did not fit in its report)\n",
			       str(e, "id", "-"), total, sent);
	}
}

/* GET /v1/edges/sessions[?edge=ID]; NULL after saying why. */
static json_t *sessions_of(const char *edge)
{
	char path[3 * TG_MAX_ID_LEN + 64];
	if (edge == NULL)
		return cli_api("GET", "/v1/edges/sessions", NULL);
	char *enc = cli_urlencode(edge);
	if (enc == NULL) {
		fprintf(stderr, "%s: out of memory\n", cli_prefix());
		return NULL;
	}
	snprintf(path, sizeof path, "/v1/edges/sessions?edge=%s", enc);
	free(enc);
	return cli_api("GET", path, NULL);
}

static int run_sessions(int argc, char **argv)
{
	static const struct option longs[] = {{"edge", required_argument, NULL, 'e'},
					      {"json", no_argument, NULL, 'j'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *edge = NULL;
	bool as_json = false;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == 'e') {
			edge = optarg;
		} else if (ch == 'j') {
			as_json = true;
		} else if (ch == 'h') {
			fputs(sessions_help, stdout);
			return 0;
		} else {
			return cli_bad_option("sessions");
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s sessions: takes options only, not '%.64s'\n", cli_prefix(), argv[optind]);
		return 2;
	}
	json_t *a = sessions_of(edge);
	if (a == NULL)
		return 1;
	if (as_json)
		cli_print_json(a);
	else
		print_sessions(a);
	json_decref(a);
	return 0;
}

/* ---- edge kill ---- */

/* The edge whose report lists sid, into out; 0, or 1 after saying why. */
static int edge_of(const char *sid, char *out, size_t cap)
{
	json_t *a = sessions_of(NULL);
	size_t i;
	const json_t *s;
	int rc = 1;
	json_array_foreach(json_object_get(a, "sessions"), i, s)
		if (strcmp(str(s, "id", ""), sid) == 0) {
			snprintf(out, cap, "%s", str(s, "edge", ""));
			rc = 0;
			break;
		}
	if (a != NULL && rc != 0)
		fprintf(stderr, "%s kill: no edge reports session %.64s; see `tollgate edge sessions`\n", cli_prefix(),
			sid);
	json_decref(a);
	return rc;
}

/* Whether a report of the edge made after `after` (RFC 3339, the broker's
 * clock) no longer lists sid; -1 when the broker did not answer. */
static int gone_since(const char *edge, const char *sid, const char *after)
{
	json_t *a = sessions_of(edge);
	size_t i;
	const json_t *s, *e;
	bool fresh = false, listed = false;
	if (a == NULL)
		return -1;
	json_array_foreach(json_object_get(a, "edges"), i, e)
		if (strcmp(str(e, "id", ""), edge) == 0)
			fresh = strcmp(str(e, "reported_at", ""), after) > 0;
	json_array_foreach(json_object_get(a, "sessions"), i, s)
		listed |= strcmp(str(s, "id", ""), sid) == 0;
	json_decref(a);
	return fresh && !listed;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --wait: polls the edge's report until it no longer lists sid. */
static int wait_gone(const char *edge, const char *sid, const char *after, long secs)
{
	int64_t start = mono_ms(), deadline = start + (int64_t)secs * 1000;
	for (;;) {
		int gone = gone_since(edge, sid, after);
		if (gone < 0)
			return 1;
		if (gone) {
			fprintf(stderr, "session %s closed at edge %s (reported after %lld ms)\n", sid, edge,
				(long long)(mono_ms() - start));
			return 0;
		}
		if (mono_ms() >= deadline)
			break;
		struct timespec ts = {0, 200 * 1000000L};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr,
		"%s kill: after %ld s, edge %s still reports session %s (or sent no report since the kill)\n"
		"  see `tollgate edge sessions --edge %s` and `tollgate edge list`: an edge that is\n"
		"  not live gets the kill when it polls the feed again.\n",
		cli_prefix(), secs, edge, sid, edge);
	return CLI_EXIT_NOT_ENFORCED;
}

static int run_kill(int argc, char **argv)
{
	static const struct option longs[] = {{"edge", required_argument, NULL, 'e'},
					      {"reason", required_argument, NULL, 'r'},
					      {"wait", optional_argument, NULL, 'w'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *edge_opt = NULL, *reason = NULL, *wait_arg = NULL;
	bool wait = false;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'e': edge_opt = optarg; break;
		case 'r': reason = optarg; break;
		case 'w': wait = true; wait_arg = cli_wait_arg(argc, argv); break;
		case 'h': fputs(kill_help, stdout); return 0;
		default: return cli_bad_option("kill");
		}
	}
	cli_enforce_t w;
	if (cli_enforce_init(&w, wait, wait_arg, false, true) != 0)
		return 2;
	if (optind != argc - 1) {
		fprintf(stderr, "%s kill: give one session id (see `tollgate edge sessions`)\n", cli_prefix());
		return 2;
	}
	const char *sid = argv[optind];
	char edge[TG_MAX_ID_LEN + 1], path[64];
	if (!edge_session_id_valid(sid)) {
		fprintf(stderr, "%s kill: '%.64s' is not a session id (\"%s\" and 16 characters; see `tollgate edge "
				"sessions`)\n",
			cli_prefix(), sid, EDGE_SESSION_ID_PREFIX);
		return 2;
	}
	if (edge_opt != NULL)
		snprintf(edge, sizeof edge, "%s", edge_opt);
	else if (edge_of(sid, edge, sizeof edge) != 0)
		return 1;
	snprintf(path, sizeof path, "/v1/edges/sessions/%s/kill", sid);
	json_t *a = cli_api("POST", path, json_pack("{s:s, s:s*}", "edge", edge, "reason", reason));
	if (a == NULL)
		return 1;
	cli_print_json(a);
	char after[64];
	snprintf(after, sizeof after, "%s", str(a, "requested_at", ""));
	json_decref(a);
	return w.wait ? wait_gone(edge, sid, after, w.wait_s) : 0;
}

/* `edge run` reaches this only in a binary without the agent. */
static int run_agent(int argc, char **argv)
{
	if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		fputs(run_help, stdout);
		return 0;
	}
	fprintf(stderr, "%s run: this build has no edge agent\n", cli_prefix());
	return 1;
}

static const verb_t verbs[] = {
	{"run", run_help, run_agent},
	{"list", list_help, run_list},
	{"sessions", sessions_help, run_sessions},
	{"kill", kill_help, run_kill},
};

int cmd_edge_cli(int argc, char **argv)
{
	int rc = 0;
	const verb_t *v = cli_verb_lookup(argc, argv, verbs, sizeof verbs / sizeof verbs[0], sizeof verbs[0],
					  edge_usage, &rc);
	return v != NULL ? v->run(argc, argv) : rc;
}
