/* init.c - `tollgate init USER`: the first admin operator of a fresh
 * broker (POST /v1/init, then POST /v1/init/confirm), from the broker's
 * own machine. Asks for a password, prints the otpauth:// URI (and a QR
 * code on a terminal), and completes the enrolment with the app's code
 * (asked for, or --totp). For scripts: `--password-stdin` prints the URI
 * and stops; `--confirm --totp CODE --password-stdin` completes it. */
#include "cli/cli.h"
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char init_usage[] =
	"Usage: tollgate init USER [--password-stdin] [--totp CODE] [--qr]\n"
	"       tollgate init USER --confirm --totp CODE [--password-stdin]\n"
	"\n"
	"  Creates the first operator of a fresh broker, USER with role admin: the\n"
	"  way in for a production broker, instead of an admin token. Works once\n"
	"  (while the broker has no operator) and only from the broker's machine\n"
	"  (loopback). Asks for a password twice without echo (or reads one line of\n"
	"  stdin with --password-stdin; at least 8 bytes), prints the otpauth:// URI\n"
	"  for an authenticator app (and a QR code on a terminal, or with --qr),\n"
	"  then asks for the app's current code (or takes --totp CODE) to complete\n"
	"  the enrolment. With --password-stdin and no --totp it stops after the\n"
	"  URI; complete it with --confirm --totp CODE (and the password again).\n"
	"  Then: tollgate login USER.\n"
	"\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420).\n";

enum { O_PWSTDIN = 1, O_TOTP, O_CONFIRM, O_QR, O_HELP };

static int confirm(const char *user, const char *pw, const char *totp)
{
	char code[32];
	if (totp == NULL) {
		if (cli_read_secret("Code from the app: ", false, code, sizeof code) != 0)
			return 1;
		totp = code;
	}
	json_t *j = cli_post_secret("init", "/v1/init/confirm",
				    json_pack("{s:s, s:s, s:s}", "username", user, "password", pw, "totp", totp), 200);
	if (j == NULL)
		return 1;
	printf("admin %s is ready: log in with `tollgate login %s`\n", user, user);
	json_decref(j);
	return 0;
}

static int run(const char *user, bool pw_stdin, bool only_confirm, const char *totp, bool qr)
{
	char pw[OP_PASSWORD_BUF];
	int rc = 1;
	if ((only_confirm ? cli_read_secret("Password: ", pw_stdin, pw, sizeof pw) : cli_new_password(pw_stdin, pw, sizeof pw)) != 0)
		return 1;
	if (!only_confirm) {
		json_t *j = cli_post_secret("init", "/v1/init",
					    json_pack("{s:s, s:s}", "username", user, "password", pw), 201);
		if (j == NULL)
			goto out;
		cli_print_enrolment(j, qr);
		json_decref(j);
		if (totp == NULL && pw_stdin) {
			printf("then complete it: tollgate init %s --confirm --totp CODE --password-stdin\n", user);
			rc = 0;
			goto out;
		}
	}
	rc = confirm(user, pw, totp);
out:
	sodium_memzero(pw, sizeof pw);
	return rc;
}

int cmd_init(int argc, char **argv)
{
	static const struct option longs[] = {
		{"password-stdin", no_argument, NULL, O_PWSTDIN}, {"totp", required_argument, NULL, O_TOTP},
		{"confirm", no_argument, NULL, O_CONFIRM}, {"qr", no_argument, NULL, O_QR},
		{"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
	};
	bool pw_stdin = false, only_confirm = false, qr = false;
	const char *totp = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == O_HELP || ch == 'h') {
			fputs(init_usage, stdout);
			return 0;
		} else if (ch == O_PWSTDIN) {
			pw_stdin = true;
		} else if (ch == O_TOTP) {
			totp = optarg;
		} else if (ch == O_CONFIRM) {
			only_confirm = true;
		} else if (ch == O_QR) {
			qr = true;
		} else {
			return cli_bad_option(NULL);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, optind == argc ? "tollgate init: the USER is required\n%s"
					       : "tollgate init: one USER only\n%s", init_usage);
		return 2;
	}
	if (only_confirm && totp == NULL && !isatty(STDIN_FILENO) && pw_stdin) {
		fprintf(stderr, "tollgate init: --confirm with --password-stdin needs --totp CODE\n");
		return 2;
	}
	return run(argv[optind], pw_stdin, only_confirm, totp, qr);
}
