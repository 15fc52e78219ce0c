/* login.c - `tollgate login USER`: password (prompted without echo, or
 * --password-stdin) and the current TOTP code (prompted, or --totp) to
 * POST /v1/login; prints the operator session token for TOLLGATE_TOKEN, or
 * the whole response with --json. */
#include "cli/cli.h"
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char login_usage[] =
	"Usage: tollgate login USER [--password-stdin] [--totp CODE] [--json]\n"
	"\n"
	"  Logs operator USER in with the password (asked for without echo, or one\n"
	"  line of stdin with --password-stdin) and the authenticator app's current\n"
	"  6-digit code (asked for, or --totp CODE; each code is accepted once).\n"
	"  Prints the session token (use it as TOLLGATE_TOKEN; it lasts\n"
	"  operator_session_ttl, 15 minutes by default), or with --json the whole\n"
	"  response: session_token, expires_in, auth_time, amr.\n"
	"\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420).\n";

enum { O_PWSTDIN = 1, O_TOTP, O_JSON, O_HELP };

int cmd_login(int argc, char **argv)
{
	static const struct option longs[] = {
		{"password-stdin", no_argument, NULL, O_PWSTDIN}, {"totp", required_argument, NULL, O_TOTP},
		{"json", no_argument, NULL, O_JSON}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
	};
	bool pw_stdin = false, as_json = false;
	const char *totp = NULL;
	char pw[1026], code[32];
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == O_HELP || ch == 'h') {
			fputs(login_usage, stdout);
			return 0;
		} else if (ch == O_PWSTDIN) {
			pw_stdin = true;
		} else if (ch == O_TOTP) {
			totp = optarg;
		} else if (ch == O_JSON) {
			as_json = true;
		} else {
			return cli_bad_option(NULL);
		}
	}
	if (optind != argc - 1) {
		if (optind == argc)
			fprintf(stderr, "tollgate login: the USER is required\n%s", login_usage);
		else
			fprintf(stderr, "tollgate login: one USER only, not also '%s'\n", argv[optind + 1]);
		return 2;
	}
	if (cli_read_secret("Password: ", pw_stdin, pw, sizeof pw) != 0)
		return 1;
	if (totp == NULL) {
		if (cli_read_secret("TOTP code: ", false, code, sizeof code) != 0) {
			sodium_memzero(pw, sizeof pw);
			return 1;
		}
		totp = code;
	}
	json_t *body = json_pack("{s:s, s:s, s:s}", "username", argv[optind], "password", pw, "totp", totp);
	sodium_memzero(pw, sizeof pw);
	json_t *j = cli_post_secret("login", "/v1/login", body, 200);
	int rc = 1;
	if (j != NULL && !json_is_string(json_object_get(j, "session_token"))) {
		fprintf(stderr, "tollgate login: the broker sent an unexpected response\n");
	} else if (j != NULL) {
		if (as_json)
			cli_print_json(j);
		else
			printf("%s\n", json_string_value(json_object_get(j, "session_token")));
		rc = 0;
	}
	json_decref(j);
	return rc;
}
