/* edge.c - `tollgate edge` as a client of the broker: `edge list` (GET
 * /v1/edges: each edge's address, liveness, acknowledged feed seq and lag)
 * and the noun's help, which documents `edge run --config FILE` too (the
 * edge agent itself, src/edge, which main.c starts instead of this). */
#include "cli/cli.h"
#include <getopt.h>
#include <stdio.h>
#include <string.h>

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
	"\n"
	"Run `tollgate edge <command> --help` for a command's options. Commands\n"
	"that revoke take --wait [SECS] and --verify to see the revocation\n"
	"enforced at every live edge (docs/cli.md).\n"
	"`edge list` needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and\n"
	"TOLLGATE_TOKEN: the admin token, or an admin or auditor operator's session.\n";

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
};

int cmd_edge_cli(int argc, char **argv)
{
	int rc = 0;
	const verb_t *v = cli_verb_lookup(argc, argv, verbs, sizeof verbs / sizeof verbs[0], sizeof verbs[0],
					  edge_usage, &rc);
	return v != NULL ? v->run(argc, argv) : rc;
}
