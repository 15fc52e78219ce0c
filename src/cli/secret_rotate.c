/* secret_rotate.c - `tollgate secret rotate` and `tollgate secret rotation`
 * (docs/secrets.md, "Rotation"): ask the broker for a rotation (and wait
 * for its outcome), show a secret's rotation state, set its rotation
 * target from a JSON file. secret.c hands these two verbs over. */
#include "cli/cli.h"
#include "core/rotation_driver.h"
#include "core/secret.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WAIT_DEFAULT_S 120
#define WAIT_MAX_S 3600

static const char rotate_help[] =
	"Usage: tollgate secret rotate NAME [--now] [--wait [SECS]] [--json]\n"
	"\n"
	"Asks the broker to rotate the secret: generate a new value, set it at the\n"
	"target, verify it works, make it current, and after the grace period revoke\n"
	"the old one and verify it is refused (docs/secrets.md). A failed step rolls\n"
	"back to the working credential and is retried with back-off.\n"
	"\n"
	"  --now         at once: end a failed attempt's back-off and do not wait for\n"
	"                the rotation window (the change window the policy names)\n"
	"  --wait [SECS] wait (default 120 s) until the new value is current, or the\n"
	"                attempt rolled back (exit 1, with the step's error)\n"
	"  --json        print the rotation state as JSON\n";

static const char rotation_help[] =
	"Usage: tollgate secret rotation NAME [--target-file F|-] [--json]\n"
	"\n"
	"Shows the secret's rotation state (phase, failures, next retry, last error),\n"
	"or with --target-file sets its rotation target: a JSON driver document\n"
	"(postgres, exec or webhook; docs/secrets.md \"Rotation drivers\"). Admin.\n";

enum { O_NOW = 1, O_WAIT, O_JSON, O_TARGET_FILE, O_HELP };

typedef struct {
	const char *name;
	bool now, json, wait;
	long wait_s;
	const char *target_file;
} rot_opts_t;

static int parse(int argc, char **argv, const char *help, bool rotate, rot_opts_t *o)
{
	static const struct option longs[] = {{"now", no_argument, NULL, O_NOW},
					      {"wait", optional_argument, NULL, O_WAIT},
					      {"json", no_argument, NULL, O_JSON},
					      {"target-file", required_argument, NULL, O_TARGET_FILE},
					      {"help", no_argument, NULL, O_HELP},
					      {NULL, 0, NULL, 0}};
	const char *verb = argv[1];
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == 'h' || ch == O_HELP) {
			fputs(help, stdout);
			return 1;
		}
		if ((rotate && ch == O_TARGET_FILE) || (!rotate && (ch == O_NOW || ch == O_WAIT)))
			fprintf(stderr, "%s %s: that option does not apply here\n", cli_prefix(), verb);
		if (ch == '?' || (rotate && ch == O_TARGET_FILE) || (!rotate && (ch == O_NOW || ch == O_WAIT)))
			return cli_bad_option(verb);
		o->now |= ch == O_NOW;
		o->json |= ch == O_JSON;
		if (ch == O_TARGET_FILE)
			o->target_file = optarg;
		if (ch == O_WAIT) {
			char *end = NULL;
			o->wait = true;
			if (optarg == NULL && optind < argc && argv[optind][0] >= '0' && argv[optind][0] <= '9')
				optarg = argv[optind++]; /* --wait SECS as well as --wait=SECS */
			o->wait_s = optarg ? strtol(optarg, &end, 10) : WAIT_DEFAULT_S;
			if (optarg && (*end != '\0' || o->wait_s < 1 || o->wait_s > WAIT_MAX_S)) {
				fprintf(stderr, "%s %s: --wait takes 1 to %d seconds\n", cli_prefix(), verb, WAIT_MAX_S);
				return 2;
			}
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "%s %s: %s\n", cli_prefix(), verb, optind == argc ? "NAME is required" : "one NAME only");
		return 2;
	}
	o->name = argv[optind];
	if (!secret_name_valid(o->name)) {
		fprintf(stderr, "%s %s: '%.64s' is not a secret name (1-%d characters of A-Z a-z 0-9 . _ -)\n",
			cli_prefix(), verb, o->name, SECRET_MAX_NAME);
		return 2;
	}
	return 0;
}

static const char *text(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL ? s : "-";
}

static void print_state(const json_t *s)
{
	json_t *t = json_object_get(s, "target");
	json_int_t retry = json_integer_value(json_object_get(s, "retry_at"));
	printf("secret      %s\n", text(s, "name"));
	printf("driver      %s\n", text(t, "driver"));
	printf("phase       %s%s\n", text(s, "phase"), json_is_true(json_object_get(s, "requested")) ? " (requested)" : "");
	printf("failures    %lld\n", (long long)json_integer_value(json_object_get(s, "failures")));
	if (retry > 0)
		printf("retry in    %llds\n", (long long)(retry - (json_int_t)time(NULL)));
	if (json_object_get(s, "last_error") && !json_is_null(json_object_get(s, "last_error")))
		printf("last error  %s\n", text(s, "last_error"));
}

static json_t *get_state(const char *name)
{
	char path[SECRET_MAX_NAME + 32];
	snprintf(path, sizeof path, "/v1/secrets/%s/rotation", name);
	return cli_api("GET", path, NULL);
}

/* Polls until the rotation requested with failures_before is done: 0
 * rotated, 1 rolled back or timed out (said why). */
static int wait_done(const rot_opts_t *o, json_int_t failures_before, json_t **last)
{
	time_t deadline = time(NULL) + o->wait_s;
	for (;;) {
		json_t *s = get_state(o->name);
		if (s == NULL)
			return 1;
		json_decref(*last);
		*last = s;
		bool idle = strcmp(text(s, "phase"), "idle") == 0;
		json_int_t failures = json_integer_value(json_object_get(s, "failures"));
		if (idle && !json_is_true(json_object_get(s, "requested")))
			return 0;
		if (idle && failures > failures_before) {
			fprintf(stderr, "%s rotate: %s rolled back: %s\n", cli_prefix(), o->name, text(s, "last_error"));
			return 1;
		}
		if (time(NULL) >= deadline) {
			fprintf(stderr, "%s rotate: %s not rotated within %lds (phase %s)\n", cli_prefix(), o->name,
				o->wait_s, text(s, "phase"));
			return 1;
		}
		struct timespec step = {0, 200 * 1000 * 1000};
		nanosleep(&step, NULL);
	}
}

static int run_rotate(const rot_opts_t *o)
{
	char path[SECRET_MAX_NAME + 32];
	json_t *before = get_state(o->name), *s;
	if (before == NULL)
		return 1;
	json_int_t failures = json_integer_value(json_object_get(before, "failures"));
	json_decref(before);
	snprintf(path, sizeof path, "/v1/secrets/%s/rotate", o->name);
	if ((s = cli_api("POST", path, o->now ? json_pack("{s:b}", "now", 1) : NULL)) == NULL)
		return 1;
	int rc = o->wait ? wait_done(o, failures, &s) : 0;
	if (o->json)
		cli_print_json(s);
	else if (rc == 0)
		printf(o->wait ? "secret %s rotated\n" : "rotation of secret %s requested\n", o->name);
	json_decref(s);
	return rc;
}

static int run_rotation(const rot_opts_t *o)
{
	char path[SECRET_MAX_NAME + 32];
	json_t *s;
	if (o->target_file != NULL) {
		size_t len = 0;
		json_error_t je;
		char *doc_text = cli_read_file(o->target_file, ROT_MAX_TARGET_DOC, &len);
		if (doc_text == NULL)
			return 2; /* cli_read_file said why */
		json_t *doc = json_loadb(doc_text, len, 0, &je);
		free(doc_text);
		if (doc == NULL) {
			fprintf(stderr, "%s rotation: %s: %s\n", cli_prefix(), o->target_file, je.text);
			return 2;
		}
		snprintf(path, sizeof path, "/v1/secrets/%s/rotation", o->name);
		s = cli_api("PUT", path, doc);
	} else {
		s = get_state(o->name);
	}
	if (s == NULL)
		return 1;
	if (o->json)
		cli_print_json(s);
	else
		print_state(s);
	json_decref(s);
	return 0;
}

int cmd_secret_rotation(int argc, char **argv)
{
	bool rotate = strcmp(argv[1], "rotate") == 0;
	rot_opts_t o = {0};
	int rc = parse(argc, argv, rotate ? rotate_help : rotation_help, rotate, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	return rotate ? run_rotate(&o) : run_rotation(&o);
}
