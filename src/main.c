/* main.c - subcommand dispatch for the one tollgate binary. */
#include "broker/serve.h"
#include "cli/cli.h"
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
	"  serve      run the broker (OAuth endpoints, /v1 API, store, signing keys)\n"
	"  identity   create, list, show, update and offboard workload identities\n"
	"  token      issue, inspect, introspect and revoke access tokens\n"
	"  keys       generate key pairs and master keys; list and rotate signing keys\n"
	"  audit      tail, trace, verify and export the tamper-evident audit trail\n"
	"  policy     set, get, diff and version the Cedar policies; check and eval offline\n"
	"  entities   set, get, add and remove the entities policies are evaluated against\n"
	"  version    print the version\n"
	"\n"
	"Run `tollgate <command> --help` for a command's options.\n"
	"Environment: TOLLGATE_ADDR (broker URL, default http://127.0.0.1:8420),\n"
	"TOLLGATE_TOKEN (admin token; in --dev mode, var/admin.token is used when unset),\n"
	"TOLLGATE_CACERT, TOLLGATE_CLIENT_CERT, TOLLGATE_CLIENT_KEY (TLS to the broker).\n";

typedef struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} command_t;

static const command_t commands[] = {
	{"serve", cmd_serve}, {"identity", cmd_identity}, {"token", cmd_token}, {"keys", cmd_keys},
	{"audit", cmd_audit}, {"policy", cmd_policy}, {"entities", cmd_entities},
	{NULL, NULL},
};

int tg_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("tollgate %s\n", TOLLGATE_VERSION);
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "tollgate: libsodium failed to initialise\n");
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (const command_t *c = commands; c->name != NULL; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			int rc = c->fn(argc - 1, argv + 1);
			curl_global_cleanup();
			return rc;
		}
	}
	curl_global_cleanup();
	fprintf(stderr, "tollgate: unknown command '%s'\n\n%s", argv[1], usage);
	return 2;
}
