/* main.c - subcommand dispatch for the one tollgate binary: `tollgate
 * COMMAND ...`, `tollgate help [COMMAND]`, and one line naming the nearest
 * command for a mistyped one. */
#include "broker/serve.h"
#include "cli/cli.h"
#include "edge/edge_main.h"
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define TOLLGATE_VERSION "0.1.0"

int tg_main(int argc, char **argv);

static const char usage[] =
	"Usage: tollgate <command> [options]\n"
	"\n"
	"Tollgate: zero-standing-privilege access broker for machine identities.\n"
	"\n"
	"Commands:\n"
	"  serve          run the broker (OAuth endpoints, /v1 API, store, signing keys)\n"
	"  identity       create, list, show, update and offboard workload identities\n"
	"  token          issue, inspect, introspect and revoke access tokens\n"
	"  keys           generate key pairs and master keys; list and rotate signing keys\n"
	"  audit          tail, trace, verify and export the tamper-evident audit trail\n"
	"  policy         set, get, diff and version the Cedar policies; check and eval offline\n"
	"  entities       set, get, add and remove the entities policies are evaluated against\n"
	"  operator       create (password + TOTP enrolment), confirm, list and disable operators\n"
	"  login          log an operator in (password + TOTP code); prints a session token\n"
	"  init           create the first admin operator of a fresh broker (from its machine)\n"
	"  grant          request and approve just-in-time grants; end, revoke, list and show them\n"
	"  change-window  set, list, show and delete change windows (when grants work)\n"
	"  edge           run an edge (forward-auth enforcement point); list edges\n"
	"  report         the NHI hygiene (posture) report: text, JSON or one HTML file\n"
	"  alerts         list, show, acknowledge and release the behaviour monitor's alerts\n"
	"  secret         put, get, unwrap, list, show and delete stored secrets\n"
	"  rekey          a new master key: re-wrap every secret, re-seal the signing keys\n"
	"  version        print the version\n"
	"\n"
	"Run `tollgate <command> --help` (or `tollgate help <command>`) for a\n"
	"command's options.\n"
	"Environment: TOLLGATE_ADDR (broker URL, default http://127.0.0.1:8420),\n"
	"TOLLGATE_TOKEN (admin token, or an operator session token from `tollgate login`;\n"
	"in --dev mode, var/admin.token is used when unset),\n"
	"TOLLGATE_CACERT, TOLLGATE_CLIENT_CERT, TOLLGATE_CLIENT_KEY (TLS to the broker).\n";

typedef struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} command_t;

/* `tollgate edge run ...` (and `tollgate edge --config FILE`) is the edge
 * agent (its own library); the other edge verbs are the CLI's. */
static int cmd_edge(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_edge_run(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--config") == 0 || strcmp(argv[1], "--print-config") == 0))
		return cmd_edge_run(argc, argv);
	return cmd_edge_cli(argc, argv);
}

static const command_t commands[] = {
	{"serve", cmd_serve}, {"identity", cmd_identity}, {"token", cmd_token}, {"keys", cmd_keys},
	{"audit", cmd_audit}, {"policy", cmd_policy}, {"entities", cmd_entities},
	{"operator", cmd_operator}, {"login", cmd_login}, {"grant", cmd_grant}, {"init", cmd_init},
	{"change-window", cmd_change_window}, {"edge", cmd_edge}, {"report", cmd_report},
	{"alerts", cmd_alerts},
	{"secret", cmd_secret}, {"rekey", cmd_rekey},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const command_t *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* An unknown command: the nearest of every command name. */
static int unknown(const char *word)
{
	const char *names[NCOMMANDS + 3];
	for (size_t i = 0; i < NCOMMANDS; i++)
		names[i] = commands[i].name;
	names[NCOMMANDS] = "version";
	names[NCOMMANDS + 1] = "help";
	names[NCOMMANDS + 2] = NULL;
	return cli_unknown_command(word, names);
}

/* Runs command c with argv[0] = "tollgate NOUN", so that its messages
 * (getopt's included) start with that. */
static int run(const command_t *c, int argc, char **argv)
{
	char self[48];
	if (sodium_init() < 0) {
		fprintf(stderr, "tollgate: libsodium failed to initialise\n");
		return 1;
	}
	cli_set_noun(c->name);
	snprintf(self, sizeof self, "%s", cli_prefix());
	argv[0] = self;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = c->fn(argc, argv);
	curl_global_cleanup();
	return rc;
}

/* `tollgate help [COMMAND]`: the usage, or COMMAND's help. */
static int help(int argc, char **argv)
{
	if (argc < 3 || strcmp(argv[2], "version") == 0 || strcmp(argv[2], "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	const command_t *c = find_command(argv[2]);
	if (c == NULL)
		return unknown(argv[2]);
	char *args[] = {argv[2], "--help", NULL};
	return run(c, 2, args);
}

int tg_main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0)
		return help(argc, argv);
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("tollgate %s\n", TOLLGATE_VERSION);
		return 0;
	}
	const command_t *c = find_command(argv[1]);
	return c != NULL ? run(c, argc - 1, argv + 1) : unknown(argv[1]);
}
