/* secret_lease.c - `tollgate secret dynamic` and `tollgate secret lease`
 * (docs/secrets.md, "Dynamic database credentials"): show or set a
 * secret's dynamic role definition from a JSON file; create a lease with a
 * workload token (TOLLGATE_TOKEN); list, show and revoke leases (admin).
 * secret.c hands these two verbs over. */
#include "cli/cli.h"
#include "core/secret.h"
#include "core/sql_template.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFINITION_FILE_MAX (4 * SQL_TEMPLATE_MAX)

static const char dynamic_help[] =
	"Usage: tollgate secret dynamic NAME [--target-file F|-] [--json]\n"
	"\n"
	"Shows the secret's dynamic role definition, or with --target-file sets it\n"
	"from a JSON document: the PostgreSQL admin connection (dsn without a password,\n"
	"password_file or password_secret), the creation template, optionally the\n"
	"revocation template, max_ttl and default_ttl (docs/secrets.md \"Dynamic\n"
	"database credentials\"). Admin, fresh MFA to set.\n";

static const char lease_help[] =
	"Usage: tollgate secret lease create NAME [--ttl SECONDS] [--json]\n"
	"       tollgate secret lease list [--state active|revoking|revoked|failed] [--secret NAME] [--json]\n"
	"       tollgate secret lease show ID [--json]\n"
	"       tollgate secret lease revoke ID [--json]\n"
	"\n"
	"create: a new database role for the workload whose access token is in\n"
	"TOLLGATE_TOKEN (its scope must cover secret.read@Secret:NAME); prints the\n"
	"username, password and expiry. The role is dropped when the lease ends.\n"
	"list, show: the leases and their state (admin, auditor); failed leases are\n"
	"ones whose role could not be revoked yet (retried with back-off).\n"
	"revoke: ends the lease now; the broker drops its role (admin).\n";

enum { O_TARGET_FILE = 1, O_JSON, O_TTL, O_STATE, O_SECRET, O_HELP };

typedef struct {
	const char *arg; /* NAME or ID */
	const char *target_file, *state, *secret, *ttl;
	bool json;
} lease_opts_t;

/* Options after argv[first]; the one positional argument when want_arg. */
static int parse(int argc, char **argv, int first, const char *help, bool want_arg, lease_opts_t *o)
{
	static const struct option longs[] = {{"target-file", required_argument, NULL, O_TARGET_FILE},
					      {"json", no_argument, NULL, O_JSON},
					      {"ttl", required_argument, NULL, O_TTL},
					      {"state", required_argument, NULL, O_STATE},
					      {"secret", required_argument, NULL, O_SECRET},
					      {"help", no_argument, NULL, O_HELP},
					      {NULL, 0, NULL, 0}};
	int ch;
	optind = first;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (ch == 'h' || ch == O_HELP) {
			fputs(help, stdout);
			return 1;
		}
		if (ch == '?')
			return cli_bad_option(argv[first - 1]);
		o->json |= ch == O_JSON;
		if (ch == O_TARGET_FILE)
			o->target_file = optarg;
		else if (ch == O_TTL)
			o->ttl = optarg;
		else if (ch == O_STATE)
			o->state = optarg;
		else if (ch == O_SECRET)
			o->secret = optarg;
	}
	if (want_arg != (argc - optind == 1)) {
		fprintf(stderr, "%s %s: %s\n", cli_prefix(), argv[first - 1],
			want_arg ? "one argument is required" : "no argument is taken");
		return 2;
	}
	o->arg = want_arg ? argv[optind] : NULL;
	return 0;
}

static int bad_name(const char *verb, const char *name)
{
	if (secret_name_valid(name))
		return 0;
	fprintf(stderr, "%s %s: '%.64s' is not a secret name (1-%d characters of A-Z a-z 0-9 . _ -)\n", cli_prefix(),
		verb, name, SECRET_MAX_NAME);
	return 2;
}

/* ID as a path segment: letters, digits, '-' and '_' only. */
static int bad_id(const char *verb, const char *id)
{
	size_t n = strlen(id);
	bool ok = n > 3 && n <= 48 && strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == n;
	if (!ok)
		fprintf(stderr, "%s %s: '%.64s' is not a lease id (ls-...)\n", cli_prefix(), verb, id);
	return ok ? 0 : 2;
}

static const char *text(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s != NULL ? s : "-";
}

static int finish(json_t *j, bool json, void (*print)(const json_t *))
{
	if (j == NULL)
		return 1;
	if (json)
		cli_print_json(j);
	else
		print(j);
	json_decref(j);
	return 0;
}

static void print_definition(const json_t *j)
{
	const json_t *d = json_object_get(j, "definition");
	printf("secret       %s\n", text(j, "name"));
	printf("dsn          %s\n", text(d, "dsn"));
	printf("max_ttl      %llds\n", (long long)json_integer_value(json_object_get(d, "max_ttl")));
	printf("revocation   %s\n", json_object_get(d, "revocation") ? "template" : "built-in (DROP OWNED, DROP ROLE)");
	printf("creation     %s\n", text(d, "creation"));
}

static int run_dynamic(int argc, char **argv)
{
	lease_opts_t o = {0};
	char path[SECRET_MAX_NAME + 32];
	int rc = parse(argc, argv, 2, dynamic_help, true, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	if ((rc = bad_name("dynamic", o.arg)) != 0)
		return rc;
	snprintf(path, sizeof path, "/v1/secrets/%s/dynamic", o.arg);
	if (o.target_file == NULL)
		return finish(cli_api("GET", path, NULL), o.json, print_definition);
	size_t len = 0;
	json_error_t je;
	char *doc_text = cli_read_file(o.target_file, DEFINITION_FILE_MAX, &len);
	if (doc_text == NULL)
		return 2; /* cli_read_file said why */
	json_t *doc = json_loadb(doc_text, len, JSON_REJECT_DUPLICATES, &je);
	free(doc_text);
	if (doc == NULL) {
		fprintf(stderr, "%s dynamic: %s: %s\n", cli_prefix(), o.target_file, je.text);
		return 2;
	}
	return finish(cli_api("PUT", path, doc), o.json, print_definition);
}

static void print_created(const json_t *j)
{
	printf("lease_id    %s\n", text(j, "lease_id"));
	printf("username    %s\n", text(j, "username"));
	printf("password    %s\n", text(j, "password"));
	printf("expires_at  %lld\n", (long long)json_integer_value(json_object_get(j, "expires_at")));
}

static void print_lease(const json_t *l)
{
	printf("%-26s %-20s %-40s %-9s %-10s %s\n", text(l, "lease_id"), text(l, "secret"), text(l, "username"),
	       text(l, "state"), text(l, "reason"), text(l, "last_error"));
}

static void print_leases(const json_t *j)
{
	const json_t *l;
	size_t i;
	printf("%-26s %-20s %-40s %-9s %-10s %s\n", "LEASE", "SECRET", "USERNAME", "STATE", "REASON", "LAST ERROR");
	json_array_foreach(json_object_get(j, "leases"), i, l)
		print_lease(l);
}

static int run_create(int argc, char **argv)
{
	lease_opts_t o = {0};
	char path[SECRET_MAX_NAME + 64];
	int rc = parse(argc, argv, 3, lease_help, true, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	if ((rc = bad_name("create", o.arg)) != 0)
		return rc;
	if (o.ttl != NULL && (strspn(o.ttl, "0123456789") != strlen(o.ttl) || strlen(o.ttl) == 0 || strlen(o.ttl) > 9)) {
		fprintf(stderr, "%s create: --ttl takes whole seconds\n", cli_prefix());
		return 2;
	}
	snprintf(path, sizeof path, "/v1/secrets/%s/lease%s%s", o.arg, o.ttl ? "?ttl=" : "", o.ttl ? o.ttl : "");
	return finish(cli_api("POST", path, NULL), o.json, print_created);
}

static int run_list(int argc, char **argv)
{
	lease_opts_t o = {0};
	char path[256];
	int rc = parse(argc, argv, 3, lease_help, false, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	if (o.secret != NULL && (rc = bad_name("list", o.secret)) != 0)
		return rc;
	if (o.state != NULL && strspn(o.state, "abcdefghijklmnopqrstuvwxyz") != strlen(o.state)) {
		fprintf(stderr, "%s list: --state is active, revoking, revoked or failed\n", cli_prefix());
		return 2;
	}
	snprintf(path, sizeof path, "/v1/leases?limit=1000%s%s%s%s", o.state ? "&state=" : "", o.state ? o.state : "",
		 o.secret ? "&secret=" : "", o.secret ? o.secret : "");
	return finish(cli_api("GET", path, NULL), o.json, print_leases);
}

static int run_show_or_revoke(int argc, char **argv, bool revoke)
{
	lease_opts_t o = {0};
	char path[96];
	int rc = parse(argc, argv, 3, lease_help, true, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	if ((rc = bad_id(argv[2], o.arg)) != 0)
		return rc;
	snprintf(path, sizeof path, "/v1/leases/%s", o.arg);
	return finish(cli_api(revoke ? "DELETE" : "GET", path, NULL), o.json, print_lease);
}

int cmd_secret_lease(int argc, char **argv)
{
	if (strcmp(argv[1], "dynamic") == 0)
		return run_dynamic(argc, argv);
	const char *sub = argc >= 3 ? argv[2] : "";
	if (strcmp(sub, "create") == 0)
		return run_create(argc, argv);
	if (strcmp(sub, "list") == 0)
		return run_list(argc, argv);
	if (strcmp(sub, "show") == 0)
		return run_show_or_revoke(argc, argv, false);
	if (strcmp(sub, "revoke") == 0)
		return run_show_or_revoke(argc, argv, true);
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		fputs(lease_help, stdout);
		return 0;
	}
	fputs(lease_help, stderr);
	return 2;
}
