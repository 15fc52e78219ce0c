/* cli.h - the CLI's shared pieces: the HTTP client for the broker
 * (TOLLGATE_ADDR, TOLLGATE_TOKEN), output helpers and each noun's entry. */
#ifndef TG_CLI_H
#define TG_CLI_H
#include "core/client_jwt.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
	long status;
	char *body;   /* NUL-terminated, malloc'd */
	size_t len;
	char *content_type;
	char *header; /* cli_get_url: the value of the header it was asked to keep, or NULL */
} cli_response_t;

/* Base URL of the broker: $TOLLGATE_ADDR or http://127.0.0.1:8420. */
const char *cli_addr(void);
/* Admin bearer token: $TOLLGATE_TOKEN, else ./var/admin.token when present. */
char *cli_admin_token(void);

/* One HTTP request to the broker. headers: NULL-terminated "Name: value"
 * list or NULL. Returns 0 when a response arrived (any status). */
int cli_http(const char *method, const char *path, const char *content_type, const char *body,
	     const char *const *headers, cli_response_t *out);
void cli_response_free(cli_response_t *r);
/* A plain GET to url (not the broker: an edge's /auth), with headers and
 * the TLS CA of TOLLGATE_CACERT; keeps the value of response header
 * keep_header (or NULL) in out->header. Returns 0 when a response arrived
 * (any status), else -1 with curl's reason in err; prints nothing. */
int cli_get_url(const char *url, const char *const *headers, const char *keep_header, long timeout_s,
		cli_response_t *out, char *err, size_t err_len);
/* Authenticated /v1 call with a JSON body (or NULL). Prints a clear error
 * and returns NULL unless the status is 2xx. */
json_t *cli_api(const char *method, const char *path, json_t *body /* stolen */);
/* An authenticated GET the broker may hold up to hold_s seconds (a long
 * poll): cli_api with a timeout that long plus the usual one. */
json_t *cli_api_held(const char *path, long hold_s);
/* GET path (which may have a query) and every following page by the
 * answer's `next` cursor (&after=...); returns {member: [all the pages'
 * member arrays]}, or NULL after cli_api printed the error. */
json_t *cli_api_all(const char *path, const char *member);
/* An unauthenticated POST of a body holding secrets (a password): sent,
 * then wiped. Returns the parsed answer when its status is want, else
 * prints the error (as `what`) and returns NULL. */
json_t *cli_post_secret(const char *what, const char *path, json_t *body /* stolen */, long want);
/* Prints an error response (problem+json, OAuth error, or text); a 401
 * step-up challenge (a problem with max_age, RFC 9470) as "log in again". */
void cli_print_error(const char *what, const cli_response_t *r);
void cli_print_json(const json_t *j);
/* URL-encodes s into a malloc'd string. */
char *cli_urlencode(const char *s);
/* Reads a whole (small) file, "-" for stdin; NULL with a message on error. */
char *cli_read_file(const char *path, size_t max, size_t *len);

/* ---- access tokens of an identity (cli/token.c) ---- */

/* An access token for identity (private_key_jwt signed with the private key
 * file key, registered under kid or, NULL, its thumbprint) with scope; with
 * dpop bound to the key (dpop_key, or the identity key). malloc'd (zero it
 * when done), or NULL after saying why. */
typedef struct {
	const char *identity, *key, *kid, *scope;
	bool dpop;
	const char *dpop_key;
} cli_token_req_t;
char *cli_token_issue(const cli_token_req_t *q);
/* The broker's token endpoint from its RFC 8414 metadata (malloc'd), or
 * NULL after saying why; the issuer is it without "/oauth/token". */
char *cli_token_endpoint(void);
/* Loads an Ed25519 private key file (PKCS#8 PEM): 0, or -1 after saying why. */
int cli_load_client_key(const char *path, client_key_t *k);

/* ---- errors (cli/errors.c) ---- */

/* Messages start with cli_prefix(): "tollgate NOUN" once main.c has set
 * the noun being run, "tollgate" before. */
void cli_set_noun(const char *noun);
const char *cli_prefix(void);
/* A mistyped command: one line on stderr naming the nearest of commands
 * (NULL-terminated) when one is near, and pointing at --help. Returns 2. */
int cli_unknown_command(const char *word, const char *const *commands);
/* After getopt refused an option (and said why): where the options are
 * listed (`tollgate NOUN [VERB] --help`; verb may be NULL). Returns 2. */
int cli_bad_option(const char *verb);
/* A broker problem text with each HTTP route it names replaced by the CLI
 * command that does the same ("see GET /v1/policies/history" -> "see
 * `tollgate policy history`"); malloc'd, NULL when out of memory. */
char *cli_with_commands(const char *text);

/* The front of a noun's dispatch (cli/verbs.c) over a table of n entries
 * of size bytes, each starting with `const char *name, *help`: the entry
 * argv[1] names, or NULL with *rc set after answering `--help`, `help
 * [VERB]`, no verb (usage on stderr, 2) or a mistyped verb (2). */
const void *cli_verb_lookup(int argc, char **argv, const void *table, size_t n, size_t size, const char *usage,
			    int *rc);

/* The options a verb takes: codes 1..count-1 (longs' val; shorts' letters
 * by short_codes, "h" -> help_code e.g.), BIT(code) in takes. */
struct option;
typedef struct {
	const char *verb, *help; /* the verb's name and its --help text */
	const struct option *longs;
	const char *shorts;
	const int *short_codes; /* the code of each letter of shorts */
	int count, help_code;
	unsigned takes;
} cli_verb_opts_t;
/* getopt_long over argv from argv[2] (cli/verbs.c): help_code prints help
 * on stdout and returns 1; an option the verb does not take (said, with
 * cli_bad_option) returns 2; each other is handed to take(code, ctx) with
 * optarg set, which returns 0 or 2 after saying why. Returns 0 when all
 * were taken, optind at the first argument. */
int cli_verb_options(int argc, char **argv, const cli_verb_opts_t *spec, int (*take)(int code, void *ctx),
		     void *ctx);
/* What a verb's one argument is called in its usage errors: "<need> is
 * required<need_hint>" and "one <one> only, not also 'X'<one_hint>". */
typedef struct {
	const char *need, *need_hint, *one, *one_hint;
} cli_arg_text_t;
/* The arguments after the options (from optind): one when want, else
 * none. 0 with *arg that one (or NULL), or 2 after saying what is wrong
 * ("takes options only, not 'X'" when it wants none). */
int cli_verb_arg(int argc, char **argv, const char *verb, bool want, const cli_arg_text_t *text, const char **arg);

int cmd_keys(int argc, char **argv);
int cmd_identity(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_entities(int argc, char **argv);
int cmd_operator(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_change_window(int argc, char **argv);
int cmd_report(int argc, char **argv); /* cli/report.c */
int cmd_secret(int argc, char **argv); /* cli/secret.c */
int cmd_secret_rotation(int argc, char **argv); /* cli/secret_rotate.c: secret rotate|rotation */
int cmd_secret_lease(int argc, char **argv); /* cli/secret_lease.c: secret dynamic|lease */
int cmd_rekey(int argc, char **argv);  /* cli/rekey.c */
int cmd_alerts(int argc, char **argv); /* cli/alerts.c */
/* `tollgate edge` but `edge run` (the agent): list the edges, and help
 * that documents the agent too (cli/edge.c). */
int cmd_edge_cli(int argc, char **argv);

/* ---- after a revocation: --wait and --verify (cli/enforce.c) ---- */

#define CLI_WAIT_DEFAULT 30      /* seconds, --wait without a number */
#define CLI_WAIT_MAX 3600
#define CLI_EXIT_NOT_ENFORCED 3  /* a live edge did not acknowledge in time */
#define CLI_EXIT_NOT_REFUSED 4   /* an edge did not refuse the revoked credential */

/* The options' lines for a command's help. */
#define CLI_ENFORCE_HELP \
	"  --wait [SECS]     then wait (default 30 s) until every live edge has\n" \
	"                    acknowledged the revocation, printing each edge's\n" \
	"                    propagation time; exit 3 naming those that did not\n" \
	"  --verify          --wait, then present the revoked credential to each\n" \
	"                    live edge's /auth and require a refusal as revoked;\n" \
	"                    exit 4 naming those that did not refuse\n"

typedef struct {
	bool wait, verify;    /* --verify implies wait */
	long wait_s;
	bool report_stderr;   /* the command printed JSON on stdout: report on stderr */
} cli_enforce_t;

/* The argument of --wait that getopt just returned: optarg (--wait=SECS),
 * or the next argument when it is all digits (--wait SECS; optind moves
 * past it), or NULL (the default). */
const char *cli_wait_arg(int argc, char **argv);
/* Sets e from the options (wait_arg: cli_wait_arg's answer); 0, or 2
 * after saying what is wrong. */
int cli_enforce_init(cli_enforce_t *e, bool wait, const char *wait_arg, bool verify, bool report_stderr);
/* After a revocation succeeded: waits until every live edge acknowledged
 * the broker's newest feed entry and, with verify, presents a credential
 * to each live edge: token (the revoked token itself) or, when NULL, a
 * probe token the broker makes for probe_kind ("identity" or "grant")
 * probe_id. Returns 0, CLI_EXIT_NOT_ENFORCED, CLI_EXIT_NOT_REFUSED or 1
 * (the broker refused or was unreachable). Does nothing when neither
 * option was given. */
int cli_enforce(const cli_enforce_t *e, const char *token, const char *probe_kind, const char *probe_id);

/* A secret from one line of stdin (from_stdin) or the terminal without
 * echo after prompt; 0, or -1 with a message (cli/operator.c). */
int cli_read_secret(const char *prompt, bool from_stdin, char *out, size_t cap);
#define OP_PASSWORD_BUF 1026 /* the broker's longest password, a newline and a NUL */
/* A new password: one line of stdin, or asked twice on the terminal (they
 * must match). 0, or 1 with a message (cli/operator.c). */
int cli_new_password(bool pw_stdin, char *pw, size_t cap);
/* Prints an enrolment answer's otpauth:// URI, and its QR code on a
 * terminal (or with qr) when built with libqrencode (cli/operator.c). */
void cli_print_enrolment(const json_t *created, bool qr);
int cmd_init(int argc, char **argv);

#endif
