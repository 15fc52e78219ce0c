/* operator.c - `tollgate operator`: create (prints the otpauth:// URI, and
 * a QR code on a terminal when built with libqrencode), confirm enrolment
 * with a TOTP code, list, disable. Also the password reading `tollgate
 * login` shares: a prompt on the terminal without echo, or one line of
 * stdin with --password-stdin. */
#include "cli/cli.h"
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#ifdef TOLLGATE_HAVE_QRENCODE
#include <qrencode.h>
#endif

static const char operator_usage[] =
	"Usage: tollgate operator <command> [options]\n"
	"\n"
	"  create USER --role ROLE [--role ROLE ...] [--password-stdin] [--qr]\n"
	"      Creates an operator (roles: admin, approver, auditor) in status\n"
	"      pending_totp. Asks for the password twice without echo (or reads one\n"
	"      line of stdin with --password-stdin; at least 8 bytes) and prints the\n"
	"      otpauth:// URI to load into an authenticator app, with a QR code when\n"
	"      stdout is a terminal (or --qr) and the build has libqrencode.\n"
	"  confirm USER --totp CODE\n"
	"      Completes the enrolment with the app's current 6-digit code; login is\n"
	"      refused until then.\n"
	"  list [--json]\n"
	"      Lists operators: username, status, roles.\n"
	"  disable USER\n"
	"      Disables the operator: login is refused and its sessions end now.\n"
	"\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and TOLLGATE_TOKEN\n"
	"(the admin token or an admin operator's session token from `tollgate login`).\n";

/* Reads a secret: one line of stdin (newline stripped) when from_stdin,
 * else from the terminal (/dev/tty) without echo after prompt, which goes
 * to the terminal too. Returns 0 or -1 (with a message). */
int cli_read_secret(const char *prompt, bool from_stdin, char *out, size_t cap)
{
	FILE *in = stdin;
	struct termios old, quiet;
	bool restore = false;
	if (!from_stdin) {
		in = fopen("/dev/tty", "r+");
		if (in == NULL) {
			fprintf(stderr, "%s: no terminal to prompt on; use --password-stdin\n", cli_prefix());
			return -1;
		}
		setvbuf(in, NULL, _IONBF, 0); /* no stdio buffer keeps a copy of the secret */
		/* echo off before the prompt, so nothing typed after it shows */
		if (tcgetattr(fileno(in), &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			restore = tcsetattr(fileno(in), TCSAFLUSH, &quiet) == 0;
		}
		/* on the terminal itself, as getpass does: stderr may be redirected */
		if (write(fileno(in), prompt, strlen(prompt)) < 0)
			fputs(prompt, stderr);
	}
	char *got = fgets(out, (int)cap, in);
	if (restore) {
		tcsetattr(fileno(in), TCSAFLUSH, &old);
		if (write(fileno(in), "\n", 1) < 0)
			fputc('\n', stderr);
	}
	if (in != stdin)
		fclose(in);
	if (got == NULL) {
		fprintf(stderr, "%s: nothing was entered at \"%s\"\n", cli_prefix(), prompt);
		return -1;
	}
	size_t n = strcspn(out, "\r\n");
	if (out[n] == '\0' && n == cap - 1) {
		sodium_memzero(out, cap);
		fprintf(stderr, "%s: the password is longer than %zu bytes\n", cli_prefix(), cap - 2);
		return -1;
	}
	out[n] = '\0';
	return 0;
}

#ifdef TOLLGATE_HAVE_QRENCODE
/* The QR code in UTF-8 half blocks: two modules per character cell, with
 * the 4-module quiet zone, dark on light. */
static void print_qr_code(const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	if (q == NULL)
		return;
	int w = q->width, m = 4;
#define DARK(x, y) ((x) >= 0 && (y) >= 0 && (x) < w && (y) < w && (q->data[(y) * w + (x)] & 1))
	for (int y = -m; y < w + m; y += 2) {
		for (int x = -m; x < w + m; x++) {
			bool top = DARK(x, y), bottom = DARK(x, y + 1);
			fputs(top && bottom ? " " : top ? "\xe2\x96\x84" : bottom ? "\xe2\x96\x80" : "\xe2\x96\x88", stdout);
		}
		fputc('\n', stdout);
	}
#undef DARK
	QRcode_free(q);
}
#endif

enum { O_ROLE = 1, O_PWSTDIN, O_TOTP, O_JSON, O_QR, O_HELP };
static const struct option longs[] = {
	{"role", required_argument, NULL, O_ROLE}, {"password-stdin", no_argument, NULL, O_PWSTDIN},
	{"totp", required_argument, NULL, O_TOTP}, {"json", no_argument, NULL, O_JSON},
	{"qr", no_argument, NULL, O_QR}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
};

int cli_new_password(bool pw_stdin, char *pw, size_t cap)
{
	char again[OP_PASSWORD_BUF];
	if (cli_read_secret("Password: ", pw_stdin, pw, cap) != 0)
		return 1;
	if (pw_stdin)
		return 0;
	if (cli_read_secret("Password again: ", false, again, sizeof again) != 0) {
		sodium_memzero(pw, cap);
		return 1;
	}
	bool same = strcmp(pw, again) == 0;
	sodium_memzero(again, sizeof again);
	if (same)
		return 0;
	sodium_memzero(pw, cap);
	fprintf(stderr, "%s: the passwords differ; nothing was created\n", cli_prefix());
	return 1;
}

void cli_print_enrolment(const json_t *created, bool qr)
{
	const char *uri = json_string_value(json_object_get(created, "otpauth_uri"));
	printf("operator %s created (status pending_totp). Add this to an authenticator app:\n%s\n",
	       json_string_value(json_object_get(created, "username")), uri ? uri : "");
#ifdef TOLLGATE_HAVE_QRENCODE
	if (uri != NULL && (qr || isatty(STDOUT_FILENO)))
		print_qr_code(uri);
#else
	(void)qr;
#endif
}

static int create(const char *user, json_t *roles, bool pw_stdin, bool qr)
{
	char pw[OP_PASSWORD_BUF];
	if (json_array_size(roles) == 0) {
		fprintf(stderr, "tollgate operator create: at least one --role (admin, approver, auditor) is required\n");
		return 2;
	}
	if (cli_new_password(pw_stdin, pw, sizeof pw) != 0)
		return 1;
	json_t *body = json_pack("{s:s, s:O, s:s}", "username", user, "roles", roles, "password", pw);
	sodium_memzero(pw, sizeof pw);
	json_t *j = cli_api("POST", "/v1/operators", body);
	if (j == NULL)
		return 1;
	cli_print_enrolment(j, qr);
	printf("then complete the enrolment: tollgate operator confirm %s --totp CODE\n", user);
	json_decref(j);
	return 0;
}

static void print_list(const json_t *j)
{
	size_t i;
	const json_t *o;
	printf("%-32s %-13s %s\n", "USERNAME", "STATUS", "ROLES");
	json_array_foreach(json_object_get(j, "operators"), i, o) {
		char roles[64] = "";
		size_t k;
		const json_t *r;
		json_array_foreach(json_object_get(o, "roles"), k, r) {
			if (k > 0)
				strncat(roles, ",", sizeof roles - strlen(roles) - 1);
			strncat(roles, json_string_value(r), sizeof roles - strlen(roles) - 1);
		}
		printf("%-32s %-13s %s\n", json_string_value(json_object_get(o, "username")),
		       json_string_value(json_object_get(o, "status")), roles);
	}
}

int cmd_operator(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(operator_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	static const char *const verbs[] = {"create", "confirm", "list", "disable", NULL};
	bool known = false;
	for (const char *const *v = verbs; *v; v++)
		known |= strcmp(*v, sub) == 0;
	if (!known)
		return cli_unknown_command(sub, verbs);
	json_t *roles = json_array();
	const char *totp = NULL;
	bool pw_stdin = false, as_json = false, qr = false;
	int ch, rc = 2;
	optind = 2;
	opterr = 1;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (ch == O_HELP) {
			fputs(operator_usage, stdout);
			json_decref(roles);
			return 0;
		} else if (ch == O_ROLE && strcmp(sub, "create") == 0) {
			json_array_append_new(roles, json_string(optarg));
		} else if (ch == O_PWSTDIN && strcmp(sub, "create") == 0) {
			pw_stdin = true;
		} else if (ch == O_QR && strcmp(sub, "create") == 0) {
			qr = true;
		} else if (ch == O_TOTP && strcmp(sub, "confirm") == 0) {
			totp = optarg;
		} else if (ch == O_JSON && strcmp(sub, "list") == 0) {
			as_json = true;
		} else {
			if (ch > 0 && ch != '?')
				fprintf(stderr, "tollgate operator %s: option %s does not apply here\n", sub,
					argv[optind - 1]);
			json_decref(roles);
			return cli_bad_option(sub);
		}
	}
	bool list = strcmp(sub, "list") == 0;
	if (list ? optind != argc : optind != argc - 1) {
		if (list)
			fprintf(stderr, "tollgate operator list: takes no argument ('%s')\n", argv[optind]);
		else if (optind == argc)
			fprintf(stderr, "tollgate operator %s: the USER is required\n", sub);
		else
			fprintf(stderr, "tollgate operator %s: one USER only, not also '%s'\n", sub, argv[optind + 1]);
		json_decref(roles);
		return 2;
	}
	if (list) {
		json_t *j = cli_api("GET", "/v1/operators", NULL);
		rc = j ? 0 : 1;
		if (j != NULL && as_json)
			cli_print_json(j);
		else if (j != NULL)
			print_list(j);
		json_decref(j);
		json_decref(roles);
		return rc;
	}
	const char *user = argv[optind];
	if (strcmp(sub, "create") == 0) {
		rc = create(user, roles, pw_stdin, qr);
		json_decref(roles);
		return rc;
	}
	json_decref(roles);
	char path[512], *e = cli_urlencode(user);
	snprintf(path, sizeof path, "/v1/operators/%s/%s", e ? e : "", sub);
	free(e);
	json_t *body = json_object();
	if (strcmp(sub, "confirm") == 0) {
		if (totp == NULL) {
			fprintf(stderr, "tollgate operator confirm: --totp CODE is required (the current code of "
					"the authenticator app)\n");
			json_decref(body);
			return 2;
		}
		json_object_set_new(body, "totp", json_string(totp));
	}
	json_t *j = cli_api("POST", path, body);
	if (j == NULL)
		return 1;
	printf("operator %s: %s\n", user, json_string_value(json_object_get(j, "status")));
	json_decref(j);
	return 0;
}
