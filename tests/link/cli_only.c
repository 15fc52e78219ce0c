/* cli_only.c - the CLI linked with the core alone (CMakeLists.txt, link
 * checks): the build fails when any CLI command reaches into the store or
 * the broker, which the CLI may only talk to over HTTP. Run, it asks every
 * command for its help, which must succeed without a broker. */
#include "cli/cli.h"
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>

typedef int (*cmd_fn)(int argc, char **argv);

int main(void)
{
	static const struct {
		const char *name;
		cmd_fn fn;
	} cmds[] = {
		{"keys", cmd_keys}, {"identity", cmd_identity}, {"token", cmd_token}, {"audit", cmd_audit},
		{"policy", cmd_policy}, {"entities", cmd_entities}, {"operator", cmd_operator},
		{"login", cmd_login}, {"grant", cmd_grant}, {"change-window", cmd_change_window},
		{"init", cmd_init}, {"edge", cmd_edge_cli},
	};
	int failed = 0;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char *argv[] = {(char *)cmds[i].name, "--help", NULL};
		cli_set_noun(cmds[i].name);
		if (cmds[i].fn(2, argv) != 0) {
			fprintf(stderr, "link_check_cli: `tollgate %s --help` failed\n", cmds[i].name);
			failed = 1;
		}
	}
	curl_global_cleanup();
	return failed;
}
