/* identity.c - `tollgate identity`: create, list, show, update, suspend,
 * offboard workload identities through /v1/identities; suspend and
 * offboard take --wait and --verify (cli/enforce.c). */
#include "cli/cli.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char identity_usage[] =
	"Usage: tollgate identity <command> [options]\n"
	"\n"
	"  create ID --kind KIND --owner OWNER [--role ROLE]... [--public-key FILE]...\n"
	"            [--max-ttl SECONDS] [--description TEXT] [--mtls-fingerprint SHA256HEX]\n"
	"      KIND is workload, integration, ot-device, agent or edge. FILE is a PEM\n"
	"      public key or a JWK (from `tollgate keys gen`). The identity is the\n"
	"      Cedar entity Workload::\"ID\" with each ROLE as a parent Role::\"ROLE\";\n"
	"      what it may request is decided by policy (`tollgate policy set`).\n"
	"  list [--kind KIND] [--owner OWNER] [--status STATUS] [--role ROLE] [--json]\n"
	"  show ID\n"
	"  update ID [--owner O] [--description T] [--role R]... [--max-ttl N]\n"
	"            [--status active|suspended] [--add-key FILE]... [--remove-kid KID]...\n"
	"            [--mtls-fingerprint HEX]\n"
	"      --role replaces the whole list when given.\n"
	"  suspend ID [--wait [SECS]] [--verify]\n"
	"      the same as update ID --status suspended: the identity cannot\n"
	"      authenticate and its tokens are inactive (update --status active\n"
	"      reverses it).\n"
	"  offboard ID [--wait [SECS]] [--verify]\n"
	"      final: disables every key and revokes every token of the identity.\n"
	"\n"
	"Options of suspend and offboard:\n"
	CLI_ENFORCE_HELP
	"                    (with a probe token the broker signs for the identity)\n"
	"\n"
	"The report goes to stderr: stdout has the identity as JSON.\n"
	"\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and TOLLGATE_TOKEN.\n";

enum { O_KIND = 1, O_OWNER, O_ROLE, O_KEY, O_MAXTTL, O_DESC, O_FP, O_STATUS, O_ADDKEY,
       O_RMKID, O_JSON, O_WAIT, O_VERIFY, O_HELP };

static const struct option longs[] = {
	{"kind", required_argument, NULL, O_KIND}, {"owner", required_argument, NULL, O_OWNER},
	{"role", required_argument, NULL, O_ROLE}, {"public-key", required_argument, NULL, O_KEY},
	{"max-ttl", required_argument, NULL, O_MAXTTL},
	{"description", required_argument, NULL, O_DESC},
	{"mtls-fingerprint", required_argument, NULL, O_FP}, {"status", required_argument, NULL, O_STATUS},
	{"add-key", required_argument, NULL, O_ADDKEY}, {"remove-kid", required_argument, NULL, O_RMKID},
	{"json", no_argument, NULL, O_JSON}, {"wait", optional_argument, NULL, O_WAIT},
	{"verify", no_argument, NULL, O_VERIFY}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0}};

/* A public key file's content as the API takes it: JWK object or PEM text. */
static json_t *key_file(const char *path)
{
	size_t len = 0;
	char *text = cli_read_file(path, 16384, &len);
	if (text == NULL)
		return NULL;
	json_t *j = json_loadb(text, len, 0, NULL);
	if (j == NULL)
		j = json_string(text);
	free(text);
	return j;
}

static void push(json_t *doc, const char *member, json_t *v)
{
	json_t *arr = json_object_get(doc, member);
	if (arr == NULL) {
		arr = json_array();
		json_object_set_new(doc, member, arr);
	}
	json_array_append_new(arr, v);
}

static int max_ttl(const char *s, json_t *doc)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (*end != '\0' || end == s || v < 0 || v > 86400) {
		fprintf(stderr, "tollgate identity: --max-ttl must be seconds from 0 to 86400\n");
		return -1;
	}
	json_object_set_new(doc, "max_ttl", json_integer(v));
	return 0;
}

/* --wait and --verify as given (revoking verbs only). */
typedef struct {
	bool wait, verify;
	const char *wait_arg;
} wait_opts_t;

/* Parses options into an API document; returns -1 on a usage error. */
static int parse(int argc, char **argv, json_t *doc, bool update, bool *as_json, wait_opts_t *w)
{
	int ch;
	json_t *v;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case O_KIND: json_object_set_new(doc, "kind", json_string(optarg)); break;
		case O_OWNER: json_object_set_new(doc, "owner", json_string(optarg)); break;
		case O_DESC: json_object_set_new(doc, "description", json_string(optarg)); break;
		case O_FP: json_object_set_new(doc, "mtls_fingerprint", json_string(optarg)); break;
		case O_STATUS: json_object_set_new(doc, "status", json_string(optarg)); break;
		case O_ROLE: push(doc, "roles", json_string(optarg)); break;
		case O_RMKID: push(doc, "remove_kids", json_string(optarg)); break;
		case O_JSON: *as_json = true; break;
		case O_WAIT: w->wait = true; w->wait_arg = cli_wait_arg(argc, argv); break;
		case O_VERIFY: w->verify = true; break;
		case O_MAXTTL:
			if (max_ttl(optarg, doc) != 0)
				return -1;
			break;
		case O_KEY:
		case O_ADDKEY:
			if ((v = key_file(optarg)) == NULL)
				return -1;
			push(doc, update ? "add_public_keys" : "public_keys", v);
			break;
		case O_HELP: fputs(identity_usage, stdout); exit(0);
		default: cli_bad_option(NULL); return -1;
		}
	}
	return 0;
}

static int print_result(json_t *j)
{
	if (j == NULL)
		return 1;
	cli_print_json(j);
	json_decref(j);
	return 0;
}

static void print_table(const json_t *list)
{
	size_t i;
	json_t *v;
	printf("%-28s %-12s %-11s %-20s %s\n", "ID", "KIND", "STATUS", "OWNER", "LAST USED");
	json_array_foreach(json_object_get(list, "identities"), i, v) {
		const char *used = json_string_value(json_object_get(v, "last_used_at"));
		printf("%-28s %-12s %-11s %-20s %s\n", json_string_value(json_object_get(v, "id")),
		       json_string_value(json_object_get(v, "kind")),
		       json_string_value(json_object_get(v, "status")),
		       json_string_value(json_object_get(v, "owner")), used ? used : "never");
	}
}

static int list(int argc, char **argv)
{
	static const char *const filters[] = {[O_KIND] = "kind", [O_OWNER] = "owner",
					      [O_STATUS] = "status", [O_ROLE] = "role"};
	char path[2048] = "/v1/identities?limit=1000";
	bool as_json = false;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (ch == O_JSON) {
			as_json = true;
		} else if (ch < (int)(sizeof filters / sizeof filters[0]) && filters[ch] != NULL) {
			char *e = cli_urlencode(optarg);
			size_t n = strlen(path);
			snprintf(path + n, sizeof path - n, "&%s=%s", filters[ch], e ? e : "");
			free(e);
		} else if (ch == O_HELP) {
			fputs(identity_usage, stdout);
			return 0;
		} else {
			return cli_bad_option(NULL);
		}
	}
	json_t *j = cli_api_all(path, "identities");
	if (j == NULL)
		return 1;
	if (as_json)
		cli_print_json(j);
	else
		print_table(j);
	json_decref(j);
	return 0;
}

/* The verbs that take an ID; revokes: they take --wait and --verify. */
static const struct {
	const char *name;
	bool revokes;
} id_verbs[] = {{"create", false}, {"show", false}, {"update", false}, {"suspend", true}, {"offboard", true}};

/* suspend and offboard: the change, then what --wait and --verify ask. */
static int revoke(const char *sub, const char *id, const char *path, const wait_opts_t *w)
{
	cli_enforce_t e;
	char offboard[600];
	if (cli_enforce_init(&e, w->wait, w->wait_arg, w->verify, true) != 0)
		return 2;
	snprintf(offboard, sizeof offboard, "%s/offboard", path);
	json_t *done = strcmp(sub, "offboard") == 0 ? cli_api("POST", offboard, json_object())
						  : cli_api("PATCH", path, json_pack("{s:s}", "status", "suspended"));
	int rc = print_result(done);
	return rc == 0 ? cli_enforce(&e, NULL, "identity", id) : rc;
}

int cmd_identity(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	char path[512];
	bool as_json = false;
	wait_opts_t w = {0};
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(identity_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(sub, "list") == 0)
		return list(argc, argv);
	size_t nv = sizeof id_verbs / sizeof id_verbs[0], vi = 0;
	while (vi < nv && strcmp(sub, id_verbs[vi].name) != 0)
		vi++;
	if (vi == nv)
		return cli_unknown_command(sub, (const char *const[]){"create", "list", "show", "update", "suspend",
								      "offboard", NULL});
	if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		fputs(identity_usage, stdout);
		return 0;
	}
	json_t *doc = json_object();
	int bad = parse(argc, argv, doc, strcmp(sub, "update") == 0, &as_json, &w);
	if (bad == 0 && (w.wait || w.verify) && !id_verbs[vi].revokes) {
		fprintf(stderr, "tollgate identity %s: --wait and --verify apply to suspend and offboard only\n", sub);
		bad = -1;
	} else if (bad == 0 && id_verbs[vi].revokes && json_object_size(doc) > 0) {
		fprintf(stderr, "tollgate identity %s: takes the identity ID, --wait and --verify only\n", sub);
		bad = -1;
	}
	if (bad != 0 || optind != argc - 1) {
		if (bad == 0 && optind == argc)
			fprintf(stderr, "tollgate identity %s: the identity ID is required\n", sub);
		else if (bad == 0)
			fprintf(stderr, "tollgate identity %s: one identity ID only, not also '%s'\n", sub,
				argv[optind + 1]);
		json_decref(doc);
		return 2;
	}
	const char *id = argv[optind];
	char *eid = cli_urlencode(id);
	snprintf(path, sizeof path, "/v1/identities/%s", eid ? eid : "");
	free(eid);
	if (strcmp(sub, "create") == 0) {
		json_object_set_new(doc, "id", json_string(id));
		return print_result(cli_api("POST", "/v1/identities", doc));
	}
	if (strcmp(sub, "update") == 0)
		return print_result(cli_api("PATCH", path, doc));
	json_decref(doc);
	if (strcmp(sub, "show") == 0)
		return print_result(cli_api("GET", path, NULL));
	return revoke(sub, id, path, &w);
}
