/* entities.c - `tollgate entities`: the entities Cedar policies see
 * (devices, zones, APIs, secrets, roles, action groups), in Cedar's
 * entities JSON format, through /v1/entities. */
#include "cli/cli.h"
#include "core/limits.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char entities_usage[] =
	"Usage: tollgate entities <command> [options]\n"
	"\n"
	"  set FILE\n"
	"      Replaces every uploaded entity with the Cedar entities JSON in FILE\n"
	"      (an array of {\"uid\", \"attrs\", \"parents\"}). The whole document is\n"
	"      checked first; one that does not load changes nothing.\n"
	"  get [--effective] [--json]\n"
	"      Prints the uploaded entities as a Cedar entities JSON array (what\n"
	"      `set` takes). --effective adds the Workload entities identities\n"
	"      contribute (their roles as Role parents), as policies see them;\n"
	"      --json prints the answer with the entities version.\n"
	"  add FILE\n"
	"      Adds the entities in FILE (an array, or one entity object), replacing\n"
	"      those with the same uid.\n"
	"  remove UID...\n"
	"      Removes uploaded entities by uid: Type::\"id\" (quote it for the shell)\n"
	"      or Type:id.\n"
	"\n"
	"Identities are entities too: Workload::\"<identity id>\" with attributes\n"
	"kind, owner and status and a parent Role::\"<role>\" per role. Uploading\n"
	"an entity with that uid adds attributes and parents to it (see\n"
	"docs/policy.md). Needs TOLLGATE_ADDR and TOLLGATE_TOKEN.\n";

enum { O_EFFECTIVE = 1, O_JSON, O_HELP };

static const struct option longs[] = {{"effective", no_argument, NULL, O_EFFECTIVE},
				      {"json", no_argument, NULL, O_JSON},
				      {"help", no_argument, NULL, O_HELP},
				      {NULL, 0, NULL, 0}};

static json_t *load_json_file(const char *path)
{
	size_t len = 0;
	json_error_t e;
	char *text = cli_read_file(path, TG_MAX_ENTITIES_TEXT, &len);
	if (text == NULL)
		return NULL;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	free(text);
	if (j == NULL)
		fprintf(stderr, "tollgate entities: %s:%d:%d: not valid JSON: %s\n", path, e.line, e.column, e.text);
	return j;
}

static int summary(json_t *r)
{
	if (r == NULL)
		return 1;
	if (json_is_true(json_object_get(r, "unchanged")))
		printf("unchanged: entities version %lld\n",
		       (long long)json_integer_value(json_object_get(r, "version")));
	else
		printf("entities version %lld: %lld entities; %zu added, %zu changed, %zu removed\n",
		       (long long)json_integer_value(json_object_get(r, "version")),
		       (long long)json_integer_value(json_object_get(r, "entities")),
		       json_array_size(json_object_get(r, "added")), json_array_size(json_object_get(r, "changed")),
		       json_array_size(json_object_get(r, "removed")));
	json_decref(r);
	return 0;
}

static int upload(const char *method, int argc, char **argv)
{
	if (optind != argc - 1) {
		fprintf(stderr, "tollgate entities: give exactly one FILE\n");
		return 2;
	}
	json_t *doc = load_json_file(argv[optind]);
	if (doc == NULL)
		return 1;
	return summary(cli_api(method, "/v1/entities", doc));
}

static int get(int argc, bool effective, bool as_json)
{
	if (optind != argc) {
		fprintf(stderr, "tollgate entities get: unexpected argument\n");
		return 2;
	}
	json_t *r = cli_api("GET", effective ? "/v1/entities?effective=true" : "/v1/entities", NULL);
	if (r == NULL)
		return 1;
	cli_print_json(as_json ? r : json_object_get(r, "entities"));
	json_decref(r);
	return 0;
}

static int remove_uids(int argc, char **argv)
{
	int rc = 0;
	if (optind == argc) {
		fprintf(stderr, "tollgate entities remove: name at least one UID (Type::\"id\" or Type:id)\n");
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		char path[1024];
		char *e = cli_urlencode(argv[i]);
		snprintf(path, sizeof path, "/v1/entities/%s", e ? e : "");
		free(e);
		json_t *r = cli_api("DELETE", path, NULL);
		if (r == NULL) {
			rc = 1;
			continue;
		}
		printf("removed %s: entities version %lld\n", argv[i],
		       (long long)json_integer_value(json_object_get(r, "version")));
		json_decref(r);
	}
	return rc;
}

int cmd_entities(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	bool effective = false, as_json = false;
	int ch;
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(entities_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(sub, "set") != 0 && strcmp(sub, "get") != 0 && strcmp(sub, "add") != 0 &&
	    strcmp(sub, "remove") != 0)
		return cli_unknown_command(sub, (const char *const[]){"set", "get", "add", "remove", NULL});
	optind = 2;
	/* "+": stop at the first UID, so that one starting with '-' is not an option. */
	while ((ch = getopt_long(argc, argv, strcmp(sub, "remove") == 0 ? "+" : "", longs, NULL)) != -1) {
		if (ch == O_EFFECTIVE && strcmp(sub, "get") == 0) {
			effective = true;
		} else if (ch == O_JSON && strcmp(sub, "get") == 0) {
			as_json = true;
		} else if (ch == O_HELP) {
			fputs(entities_usage, stdout);
			return 0;
		} else {
			return cli_bad_option(NULL);
		}
	}
	if (strcmp(sub, "set") == 0)
		return upload("PUT", argc, argv);
	if (strcmp(sub, "add") == 0)
		return upload("POST", argc, argv);
	if (strcmp(sub, "get") == 0)
		return get(argc, effective, as_json);
	return remove_uids(argc, argv);
}
