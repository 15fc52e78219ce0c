/* secret.c - `tollgate secret`: the secret store through /v1/secrets
 * (docs/secrets.md). An admin puts values and metadata, lists, shows and
 * deletes; a workload gets a value with its own access token (issued here
 * from --identity/--key like `tollgate token issue`, DPoP-bound with
 * --dpop, or given in TOLLGATE_TOKEN); anyone holding a one-time handle
 * unwraps it. Values never come from the command line (stdin, a file, or
 * generated here), and every buffer that held one is zeroed. */
#include "cli/cli.h"
#include "core/client_jwt.h"
#include "core/limits.h"
#include "core/secret.h"
#include "core/timefmt.h"
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char secret_usage[] =
	"Usage: tollgate secret <command> [options]\n"
	"\n"
	"The secret store: versioned values encrypted at rest (a data key per\n"
	"secret, wrapped by the broker's master key), read only by workloads whose\n"
	"token and policy allow secret.read on Secret::\"NAME\" (docs/secrets.md).\n"
	"\n"
	"  put NAME (--value-stdin | --value-file F | --generate N) [metadata options]\n"
	"      Creates the secret or adds a version (the new current one).\n"
	"  get NAME [--version N] [--wrap TTL] [--identity ID --key PATH [--dpop]]\n"
	"      Prints the value (a workload's token), or a one-time wrap handle.\n"
	"  unwrap HANDLE|-\n"
	"      Exchanges a wrap handle for the value, once.\n"
	"  list | show NAME | versions NAME | delete NAME\n"
	"      Metadata, version states, soft delete (admin).\n"
	"  rotate NAME [--now] [--wait [SECS]]\n"
	"      Rotates the value at its target and in the store (admin).\n"
	"  rotation NAME [--target-file F]\n"
	"      The rotation's state, or sets its target (a driver document).\n"
	"  dynamic NAME [--target-file F]\n"
	"      The dynamic role definition (PostgreSQL), or sets it (admin).\n"
	"  lease create NAME [--ttl S] | lease list [--state S] | lease show|revoke ID\n"
	"      A database role per lease (a workload's token); list, revoke (admin).\n"
	"\n"
	"Run `tollgate secret <command> --help` for a command's options.\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and TOLLGATE_TOKEN: the\n"
	"admin token or an operator session (put, delete: admin; list, show,\n"
	"versions: admin or auditor); for get, a workload's access token.\n";

static const char put_help[] =
	"Usage: tollgate secret put NAME (--value-stdin | --value-file F | --generate N)\n"
	"        [--owner O] [--target T] [--consumer ID]... [--description D]\n"
	"        [--rotate-every DUR [--grace DUR] [--window W]] [--json]\n"
	"\n"
	"Creates secret NAME (1-128 characters of A-Z a-z 0-9 . _ -) or adds a\n"
	"version, which becomes current; the one before stays readable as previous.\n"
	"The value (UTF-8 text, at most 64 KiB) never goes on the command line:\n"
	"\n"
	"  --value-stdin     read it from stdin (one trailing newline is dropped)\n"
	"  --value-file F    read it from file F, byte for byte\n"
	"  --generate N      generate N random characters (A-Z a-z 0-9 - _; 16-4096)\n"
	"                    and print nothing of them\n"
	"\n"
	"Metadata (given any of these, it replaces the stored metadata; with none\n"
	"of the value options, only the metadata changes):\n"
	"  --owner O         who answers for it\n"
	"  --target T        the system it opens (\"postgres://erp-db/erp\")\n"
	"  --consumer ID     an identity that reads it (repeat for more)\n"
	"  --description D\n"
	"  --rotate-every DUR  rotation period: seconds or 30d, 12h, 1d12h (min 60 s)\n"
	"  --grace DUR       how long the previous value stays valid after a rotation\n"
	"  --window W        the change window rotations wait for\n"
	"  --json            print the broker's answer as JSON\n"
	"\n"
	"Needs the admin token or an admin operator's session with a fresh second\n"
	"factor (stepup_max_age).\n";

static const char get_help[] =
	"Usage: tollgate secret get NAME [--version N] [--wrap TTL] [--json]\n"
	"        [--identity ID --key PATH [--kid KID] [--dpop]]\n"
	"\n"
	"Prints the value of secret NAME (the current version, or --version N) on\n"
	"stdout, byte for byte. Reading needs a workload's access token whose scope\n"
	"covers secret.read@Secret:NAME and a policy permitting it now:\n"
	"\n"
	"  --identity ID --key PATH   obtain one here as `tollgate token issue` does\n"
	"                    (private_key_jwt) with scope secret.read@Secret:NAME\n"
	"  --kid KID         the key's registered kid (default its thumbprint)\n"
	"  --dpop            bind it to the key (DPoP, RFC 9449) and prove it\n"
	"  (neither)         use TOLLGATE_TOKEN as the access token (unbound)\n"
	"\n"
	"  --version N       that version (current or previous)\n"
	"  --wrap TTL        print a one-time handle instead (TTL 1-86400 seconds)\n"
	"                    that `tollgate secret unwrap` exchanges once\n"
	"  --json            print {\"name\", \"version\", \"value\"} (or the wrap) as JSON\n"
	"\n"
	"Every read is recorded in the audit trail (never the value).\n";

static const char unwrap_help[] =
	"Usage: tollgate secret unwrap HANDLE|- [--json]\n"
	"\n"
	"Exchanges a one-time wrap handle (from `secret get --wrap`) for the value\n"
	"and prints it; - reads the handle from stdin. No other credential is\n"
	"needed. A handle works once: a second unwrap is refused and alerts.\n";

static const char list_help[] =
	"Usage: tollgate secret list [--json]\n"
	"\n"
	"Lists the secrets: NAME, CURRENT version, OWNER, LAST ROTATED and NEXT DUE\n"
	"(RFC 3339 UTC). Never values. Admin or auditor.\n";

static const char show_help[] =
	"Usage: tollgate secret show NAME [--json]\n"
	"\n"
	"Prints a secret's metadata, rotation dates and versions. Never values.\n";

static const char versions_help[] =
	"Usage: tollgate secret versions NAME [--json]\n"
	"\n"
	"Lists a secret's versions, newest first, each with its state: current,\n"
	"previous (still valid until retire_after), pending (a rotation in\n"
	"progress), retired or failed.\n";

static const char delete_help[] =
	"Usage: tollgate secret delete NAME\n"
	"\n"
	"Deletes secret NAME: it can no longer be read or unwrapped; the record\n"
	"stays (soft delete) and a later put starts it again with a new data key.\n"
	"Admin with a fresh second factor.\n";

enum {
	O_JSON = 1, O_HELP, O_VALUE_STDIN, O_VALUE_FILE, O_GENERATE, O_OWNER, O_TARGET, O_CONSUMER,
	O_DESCRIPTION, O_ROTATE, O_GRACE, O_WINDOW, O_VERSION, O_WRAP, O_IDENTITY, O_KEY, O_KID, O_DPOP, O_COUNT
};
#define BIT(o) (1u << (o))
#define META_OPTS (BIT(O_OWNER) | BIT(O_TARGET) | BIT(O_CONSUMER) | BIT(O_DESCRIPTION) | BIT(O_ROTATE) | \
		   BIT(O_GRACE) | BIT(O_WINDOW))

static const struct option longs[] = {
	{"json", no_argument, NULL, O_JSON}, {"help", no_argument, NULL, O_HELP},
	{"value-stdin", no_argument, NULL, O_VALUE_STDIN}, {"value-file", required_argument, NULL, O_VALUE_FILE},
	{"generate", required_argument, NULL, O_GENERATE}, {"owner", required_argument, NULL, O_OWNER},
	{"target", required_argument, NULL, O_TARGET}, {"consumer", required_argument, NULL, O_CONSUMER},
	{"description", required_argument, NULL, O_DESCRIPTION}, {"rotate-every", required_argument, NULL, O_ROTATE},
	{"grace", required_argument, NULL, O_GRACE}, {"window", required_argument, NULL, O_WINDOW},
	{"version", required_argument, NULL, O_VERSION}, {"wrap", required_argument, NULL, O_WRAP},
	{"identity", required_argument, NULL, O_IDENTITY}, {"key", required_argument, NULL, O_KEY},
	{"kid", required_argument, NULL, O_KID}, {"dpop", no_argument, NULL, O_DPOP}, {NULL, 0, NULL, 0}};

#define MAX_CONSUMERS 64

typedef struct {
	unsigned given;           /* BIT(O_...) of the options given */
	const char *arg;          /* NAME or HANDLE */
	const char *opt[O_COUNT]; /* each option's argument */
	const char *consumers[MAX_CONSUMERS];
	size_t n_consumers;
} opts_t;

typedef struct verb verb_t;
struct verb {
	const char *name, *help;
	unsigned takes;
	const char *arg; /* "NAME", "HANDLE" or NULL */
	int (*run)(const opts_t *o);
};

static const char *str(const json_t *j, const char *member)
{
	const char *s = json_string_value(json_object_get(j, member));
	return s ? s : "";
}

/* An RFC 3339 time of a member holding Unix seconds, "-" when 0 or null. */
static const char *when(const json_t *j, const char *member, char out[RFC3339_LEN])
{
	json_int_t t = json_integer_value(json_object_get(j, member));
	if (t <= 0)
		return "-";
	rfc3339((int64_t)t, out);
	return out;
}

/* "/v1/secrets/NAME" + suffix; NAME is checked (secret_name_valid). */
static void secret_path(char *out, size_t cap, const char *name, const char *suffix)
{
	snprintf(out, cap, "/v1/secrets/%s%s", name, suffix);
}

/* ---- put ---- */

/* The value from the chosen source into a malloc'd buffer (zero it), or
 * NULL after saying why. */
static char *read_value(const opts_t *o, size_t *len)
{
	if (o->given & BIT(O_GENERATE)) {
		static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		char *end = NULL;
		long n = strtol(o->opt[O_GENERATE], &end, 10);
		if (end == o->opt[O_GENERATE] || *end != '\0' || n < 16 || n > 4096) {
			fprintf(stderr, "%s put: --generate takes a length of 16 to 4096 characters\n", cli_prefix());
			return NULL;
		}
		char *v = malloc((size_t)n + 1);
		for (long i = 0; v != NULL && i < n; i++)
			v[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
		if (v != NULL)
			v[n] = '\0';
		*len = (size_t)n;
		return v;
	}
	bool from_stdin = (o->given & BIT(O_VALUE_STDIN)) != 0;
	char *v = cli_read_file(from_stdin ? "-" : o->opt[O_VALUE_FILE], SECRET_MAX_VALUE + 2, len);
	/* one trailing newline (\n or \r\n), as `echo` and editors add it */
	if (v != NULL && from_stdin && *len > 0 && v[*len - 1] == '\n') {
		v[--*len] = '\0';
		if (*len > 0 && v[*len - 1] == '\r')
			v[--*len] = '\0';
	}
	if (v != NULL && *len > SECRET_MAX_VALUE) {
		fprintf(stderr, "%s put: the value is larger than %d bytes\n", cli_prefix(), SECRET_MAX_VALUE);
		sodium_memzero(v, *len);
		free(v);
		return NULL;
	}
	return v;
}

/* A duration option as seconds (checked here for a clear message). */
static json_t *duration(const char *flag, const char *text)
{
	int64_t d = 0;
	if (secret_duration_parse(text, &d) != 0) {
		fprintf(stderr, "%s put: %s takes seconds or a duration like 30d, 12h, 1d12h\n", cli_prefix(), flag);
		return NULL;
	}
	return json_integer(d);
}

/* The metadata document from the options, or NULL (none given, or error
 * said: *bad). */
static json_t *metadata(const opts_t *o, bool *bad)
{
	static const struct { int opt; const char *member; } texts[] = {
		{O_OWNER, "owner"}, {O_TARGET, "target"}, {O_DESCRIPTION, "description"}};
	*bad = false;
	if ((o->given & META_OPTS) == 0)
		return NULL;
	json_t *m = json_object();
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		if (o->given & BIT(texts[i].opt))
			json_object_set_new(m, texts[i].member, json_string(o->opt[texts[i].opt]));
	if (o->n_consumers > 0) {
		json_t *c = json_array();
		for (size_t i = 0; i < o->n_consumers; i++)
			json_array_append_new(c, json_string(o->consumers[i]));
		json_object_set_new(m, "consumers", c);
	}
	if (o->given & (BIT(O_GRACE) | BIT(O_WINDOW) | BIT(O_ROTATE))) {
		json_t *every = o->opt[O_ROTATE] ? duration("--rotate-every", o->opt[O_ROTATE]) : NULL;
		json_t *grace = o->opt[O_GRACE] ? duration("--grace", o->opt[O_GRACE]) : NULL;
		if (every == NULL || (o->opt[O_GRACE] && grace == NULL)) {
			if (o->opt[O_ROTATE] == NULL)
				fprintf(stderr, "%s put: --grace and --window need --rotate-every\n", cli_prefix());
			json_decref(every);
			json_decref(grace);
			json_decref(m);
			*bad = true;
			return NULL;
		}
		json_t *rot = json_pack("{s:o}", "rotate_every", every);
		if (grace != NULL)
			json_object_set_new(rot, "grace", grace);
		if (o->opt[O_WINDOW] != NULL)
			json_object_set_new(rot, "window", json_string(o->opt[O_WINDOW]));
		json_object_set_new(m, "rotation", rot);
	}
	return m;
}

static void print_record(const json_t *s);

/* PUT with the admin token; the request text is zeroed after sending. */
static int send_put(const char *name, json_t *body, bool json_out)
{
	char path[SECRET_MAX_NAME + 16], auth[TG_MAX_JWT_LEN + 32];
	const char *hdrs[2] = {auth, NULL};
	cli_response_t r;
	char *text = json_dumps(body, JSON_COMPACT), *tok = cli_admin_token();
	json_t *value = json_object_get(body, "value");
	if (value != NULL)
		sodium_memzero((char *)json_string_value(value), json_string_length(value));
	json_decref(body);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok ? tok : "");
	if (tok != NULL) {
		sodium_memzero(tok, strlen(tok));
		free(tok);
	}
	secret_path(path, sizeof path, name, "");
	int rc = text ? cli_http("PUT", path, "application/json", text, hdrs, &r) : -1;
	sodium_memzero(auth, sizeof auth);
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	if (rc != 0)
		return 1;
	json_t *j = r.status == 200 || r.status == 201 ? json_loads(r.body, 0, NULL) : NULL;
	if (j == NULL) {
		cli_print_error("secret put", &r);
	} else if (json_out) {
		cli_print_json(j);
	} else {
		printf("secret %s %s: version %lld is current\n", name, r.status == 201 ? "created" : "updated",
		       (long long)json_integer_value(json_object_get(j, "current_version")));
	}
	cli_response_free(&r);
	rc = j != NULL ? 0 : 1;
	json_decref(j);
	return rc;
}

static int run_put(const opts_t *o)
{
	unsigned sources = o->given & (BIT(O_VALUE_STDIN) | BIT(O_VALUE_FILE) | BIT(O_GENERATE));
	bool bad = false;
	if (sources & (sources - 1)) {
		fprintf(stderr, "%s put: give one of --value-stdin, --value-file, --generate\n", cli_prefix());
		return 2;
	}
	json_t *meta = metadata(o, &bad);
	if (bad)
		return 2;
	if (sources == 0 && meta == NULL) {
		fprintf(stderr, "%s put: give the value (--value-stdin, --value-file F or --generate N) and/or "
				"metadata options\n", cli_prefix());
		return 2;
	}
	json_t *body = json_object();
	if (meta != NULL)
		json_object_set_new(body, "metadata", meta);
	if (sources != 0) {
		size_t len = 0;
		char *v = read_value(o, &len);
		if (v == NULL) {
			json_decref(body);
			return 1;
		}
		json_t *value = json_stringn(v, len);
		sodium_memzero(v, len);
		free(v);
		if (value == NULL) {
			fprintf(stderr, "%s put: the value must be UTF-8 text without NUL bytes\n", cli_prefix());
			json_decref(body);
			return 1;
		}
		json_object_set_new(body, "value", value);
	}
	return send_put(o->arg, body, o->given & BIT(O_JSON));
}

/* ---- get and unwrap ---- */

/* Prints a value answer: the value byte for byte, or the JSON. */
static void print_value(json_t *j, bool json_out)
{
	json_t *v = json_object_get(j, "value");
	if (json_out)
		cli_print_json(j);
	else
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
	fflush(stdout);
	sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

/* Sends a request whose answer holds a value; zeroes the answer. */
static int value_call(const char *what, const char *method, const char *path, const char *body,
		      const char *const *hdrs, bool json_out)
{
	cli_response_t r;
	if (cli_http(method, path, body ? "application/json" : NULL, body, hdrs, &r) != 0)
		return 1;
	json_t *j = r.status == 200 || r.status == 201 ? json_loads(r.body, 0, NULL) : NULL;
	if (j == NULL) {
		cli_print_error(what, &r);
	} else if (json_object_get(j, "wrap") != NULL) {
		if (json_out)
			cli_print_json(j);
		else
			printf("%s\n", str(json_object_get(j, "wrap"), "handle"));
	} else {
		print_value(j, json_out);
	}
	sodium_memzero(r.body, r.len);
	cli_response_free(&r);
	int rc = j != NULL ? 0 : 1;
	json_decref(j);
	return rc;
}

/* The Authorization (and with DPoP the DPoP) header lines for GET path. */
static int read_headers(const opts_t *o, const char *path, char *auth, size_t auth_cap, char *proof_hdr,
			size_t proof_cap)
{
	char scope[SECRET_MAX_NAME + 32];
	proof_hdr[0] = '\0';
	if (!(o->given & BIT(O_IDENTITY))) {
		char *tok = cli_admin_token();
		if (tok == NULL) {
			fprintf(stderr, "%s get: give --identity ID --key PATH, or a workload's access token in "
					"TOLLGATE_TOKEN\n", cli_prefix());
			return 2;
		}
		snprintf(auth, auth_cap, "Authorization: Bearer %s", tok);
		sodium_memzero(tok, strlen(tok));
		free(tok);
		return 0;
	}
	snprintf(scope, sizeof scope, "secret.read@Secret:%s", o->arg);
	cli_token_req_t q = {o->opt[O_IDENTITY], o->opt[O_KEY], o->opt[O_KID], scope, o->given & BIT(O_DPOP), NULL};
	char *tok = cli_token_issue(&q), *te = tok ? cli_token_endpoint() : NULL;
	int rc = tok && te ? 0 : 1;
	if (rc == 0 && q.dpop) {
		client_key_t k;
		char htu[1024];
		snprintf(htu, sizeof htu, "%.*s%s", (int)(strlen(te) - strlen("/oauth/token")), te, path);
		char *proof = cli_load_client_key(q.key, &k) == 0 ? dpop_proof_sign(&k, "GET", htu, tok, (int64_t)time(NULL))
								  : NULL;
		sodium_memzero(&k, sizeof k);
		snprintf(proof_hdr, proof_cap, "DPoP: %s", proof ? proof : "");
		rc = proof ? 0 : 1;
		free(proof);
	}
	if (tok != NULL)
		snprintf(auth, auth_cap, "Authorization: %s %s", q.dpop ? "DPoP" : "Bearer", tok);
	if (tok != NULL)
		sodium_memzero(tok, strlen(tok));
	free(tok);
	free(te);
	return rc;
}

static int run_get(const opts_t *o)
{
	char path[SECRET_MAX_NAME + 16], query[80] = "", url[SECRET_MAX_NAME + 100];
	char auth[TG_MAX_JWT_LEN + 32], proof[4096];
	const char *hdrs[3] = {auth, proof, NULL};
	if ((o->given & BIT(O_IDENTITY)) != ((o->given & BIT(O_KEY)) >> (O_KEY - O_IDENTITY))) {
		fprintf(stderr, "%s get: --identity and --key go together\n", cli_prefix());
		return 2;
	}
	secret_path(path, sizeof path, o->arg, "");
	if (o->opt[O_VERSION] || o->opt[O_WRAP])
		snprintf(query, sizeof query, "?%s%s%s%s%s", o->opt[O_VERSION] ? "version=" : "",
			 o->opt[O_VERSION] ? o->opt[O_VERSION] : "", o->opt[O_VERSION] && o->opt[O_WRAP] ? "&" : "",
			 o->opt[O_WRAP] ? "wrap=" : "", o->opt[O_WRAP] ? o->opt[O_WRAP] : "");
	for (const char *p = query; *p; p++)
		if (strchr("?&=0123456789versionwrap", *p) == NULL) {
			fprintf(stderr, "%s get: --version and --wrap take whole numbers\n", cli_prefix());
			return 2;
		}
	int rc = read_headers(o, path, auth, sizeof auth, proof, sizeof proof);
	if (rc == 0) {
		if (proof[0] == '\0')
			hdrs[1] = NULL;
		snprintf(url, sizeof url, "%s%s", path, query);
		rc = value_call("secret get", "GET", url, NULL, hdrs, o->given & BIT(O_JSON));
	}
	sodium_memzero(auth, sizeof auth);
	sodium_memzero(proof, sizeof proof);
	return rc;
}

static int run_unwrap(const opts_t *o)
{
	char handle[256];
	const char *h = o->arg;
	if (strcmp(h, "-") == 0) {
		if (fgets(handle, sizeof handle, stdin) == NULL) {
			fprintf(stderr, "%s unwrap: no handle on stdin\n", cli_prefix());
			return 2;
		}
		handle[strcspn(handle, "\r\n")] = '\0';
		h = handle;
	}
	json_t *body = json_pack("{s:s}", "handle", h);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	int rc = text ? value_call("secret unwrap", "POST", "/v1/secrets/unwrap", text, NULL, o->given & BIT(O_JSON))
		      : 1;
	if (text != NULL) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	sodium_memzero(handle, sizeof handle);
	return rc;
}

/* ---- metadata ---- */

static void print_record(const json_t *s)
{
	char a[RFC3339_LEN], b[RFC3339_LEN], c[RFC3339_LEN];
	const json_t *m = json_object_get(s, "metadata");
	printf("name:          %s\n", str(s, "name"));
	printf("current:       version %lld\n", (long long)json_integer_value(json_object_get(s, "current_version")));
	printf("owner:         %s\n", json_object_get(m, "owner") ? str(m, "owner") : "-");
	printf("target:        %s\n", json_object_get(m, "target") ? str(m, "target") : "-");
	if (json_object_get(m, "description"))
		printf("description:   %s\n", str(m, "description"));
	if (json_array_size(json_object_get(m, "consumers")) > 0) {
		size_t i;
		const json_t *x;
		printf("consumers:    ");
		json_array_foreach(json_object_get(m, "consumers"), i, x)
			printf(" %s", json_string_value(x));
		printf("\n");
	}
	const json_t *rot = json_object_get(m, "rotation");
	if (rot != NULL)
		printf("rotation:      every %llds, grace %llds%s%s\n",
		       (long long)json_integer_value(json_object_get(rot, "rotate_every")),
		       (long long)json_integer_value(json_object_get(rot, "grace")),
		       json_object_get(rot, "window") ? ", window " : "", str(rot, "window"));
	printf("created:       %s\n", when(s, "created_at", a));
	printf("last rotated:  %s\n", when(s, "last_rotated", b));
	printf("next due:      %s\n", when(s, "next_due", c));
}

static void print_versions(const json_t *versions)
{
	size_t i;
	const json_t *v;
	char t[RFC3339_LEN], r[RFC3339_LEN];
	printf("%-8s %-9s %-21s %s\n", "VERSION", "STATE", "CREATED", "RETIRE AFTER");
	json_array_foreach(versions, i, v)
		printf("%-8lld %-9s %-21s %s\n", (long long)json_integer_value(json_object_get(v, "version")),
		       str(v, "state"), when(v, "created_at", t), when(v, "retire_after", r));
}

static int run_list(const opts_t *o)
{
	json_t *all = cli_api_all("/v1/secrets?limit=1000", "secrets");
	if (all == NULL)
		return 1;
	if (o->given & BIT(O_JSON)) {
		cli_print_json(all);
	} else {
		size_t i;
		const json_t *s;
		char a[RFC3339_LEN], b[RFC3339_LEN];
		printf("%-32s %-8s %-20s %-21s %s\n", "NAME", "CURRENT", "OWNER", "LAST ROTATED", "NEXT DUE");
		json_array_foreach(json_object_get(all, "secrets"), i, s) {
			const json_t *m = json_object_get(s, "metadata");
			printf("%-32s %-8lld %-20s %-21s %s\n", str(s, "name"),
			       (long long)json_integer_value(json_object_get(s, "current_version")),
			       json_object_get(m, "owner") ? str(m, "owner") : "-", when(s, "last_rotated", a),
			       when(s, "next_due", b));
		}
	}
	json_decref(all);
	return 0;
}

static int run_show(const opts_t *o)
{
	char path[SECRET_MAX_NAME + 32];
	secret_path(path, sizeof path, o->arg, "/meta");
	json_t *s = cli_api("GET", path, NULL);
	if (s == NULL)
		return 1;
	if (o->given & BIT(O_JSON)) {
		cli_print_json(s);
	} else {
		print_record(s);
		printf("\n");
		print_versions(json_object_get(s, "versions"));
	}
	json_decref(s);
	return 0;
}

static int run_versions(const opts_t *o)
{
	char path[SECRET_MAX_NAME + 32];
	secret_path(path, sizeof path, o->arg, "/versions");
	json_t *s = cli_api("GET", path, NULL);
	if (s == NULL)
		return 1;
	if (o->given & BIT(O_JSON))
		cli_print_json(s);
	else
		print_versions(json_object_get(s, "versions"));
	json_decref(s);
	return 0;
}

static int run_delete(const opts_t *o)
{
	char path[SECRET_MAX_NAME + 16];
	secret_path(path, sizeof path, o->arg, "");
	json_t *r = cli_api("DELETE", path, NULL);
	if (r == NULL)
		return 1;
	printf("secret %s deleted\n", o->arg);
	json_decref(r);
	return 0;
}

static const verb_t verbs[] = {
	{"put", put_help,
	 BIT(O_JSON) | BIT(O_VALUE_STDIN) | BIT(O_VALUE_FILE) | BIT(O_GENERATE) | META_OPTS, "NAME", run_put},
	{"get", get_help,
	 BIT(O_JSON) | BIT(O_VERSION) | BIT(O_WRAP) | BIT(O_IDENTITY) | BIT(O_KEY) | BIT(O_KID) | BIT(O_DPOP), "NAME",
	 run_get},
	{"unwrap", unwrap_help, BIT(O_JSON), "HANDLE", run_unwrap},
	{"list", list_help, BIT(O_JSON), NULL, run_list},
	{"show", show_help, BIT(O_JSON), "NAME", run_show},
	{"versions", versions_help, BIT(O_JSON), "NAME", run_versions},
	{"delete", delete_help, 0, "NAME", run_delete},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

/* ---- parsing ---- */

static int check_arg(const verb_t *v, int argc, char **argv, opts_t *o)
{
	const cli_arg_text_t text = {
		v->arg, "", v->arg,
		strcmp(v->name, "put") == 0 ? " (values never go on the command line: --value-stdin)" : ""};
	if (cli_verb_arg(argc, argv, v->name, v->arg != NULL, &text, &o->arg) != 0)
		return 2;
	if (o->arg == NULL || strcmp(v->arg, "NAME") != 0 || secret_name_valid(o->arg))
		return 0;
	fprintf(stderr, "%s %s: '%.64s' is not a secret name (1-%d characters of A-Z a-z 0-9 . _ -)\n", cli_prefix(),
		v->name, o->arg, SECRET_MAX_NAME);
	return 2;
}

/* The options being parsed for verb. */
typedef struct {
	const verb_t *v;
	opts_t *o;
} parsing_t;

/* One option the verb takes; 2 after one --consumer too many. */
static int take(int ch, void *ctx)
{
	parsing_t *p = ctx;
	opts_t *o = p->o;
	if (ch == O_CONSUMER) {
		if (o->n_consumers == MAX_CONSUMERS) {
			fprintf(stderr, "%s %s: at most %d consumers\n", cli_prefix(), p->v->name, MAX_CONSUMERS);
			return 2;
		}
		o->consumers[o->n_consumers++] = optarg;
	}
	o->given |= BIT(ch);
	o->opt[ch] = optarg;
	return 0;
}

static int parse(const verb_t *v, int argc, char **argv, opts_t *o)
{
	static const int short_codes[] = {O_HELP};
	const cli_verb_opts_t spec = {v->name, v->help, longs, "h", short_codes, O_COUNT, O_HELP, v->takes};
	parsing_t p = {v, o};
	int rc = cli_verb_options(argc, argv, &spec, take, &p);
	return rc != 0 ? rc : check_arg(v, argc, argv, o);
}

int cmd_secret(int argc, char **argv)
{
	int rc = 0;
	if (argc >= 2 && (strcmp(argv[1], "rotate") == 0 || strcmp(argv[1], "rotation") == 0))
		return cmd_secret_rotation(argc, argv); /* cli/secret_rotate.c */
	if (argc >= 2 && (strcmp(argv[1], "dynamic") == 0 || strcmp(argv[1], "lease") == 0))
		return cmd_secret_lease(argc, argv); /* cli/secret_lease.c */
	const verb_t *v = cli_verb_lookup(argc, argv, verbs, NVERBS, sizeof verbs[0], secret_usage, &rc);
	if (v == NULL)
		return rc;
	opts_t o = {0};
	rc = parse(v, argc, argv, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	return v->run(&o);
}
