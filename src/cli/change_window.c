/* change_window.c - `tollgate change-window`: change windows through
 * /v1/change-windows (docs/change_windows.md): set one from a JSON file,
 * list them with their state at the broker's clock, show and delete one.
 * One table names each verb with its help and the options it takes; the
 * parsing is shared. */
#include "cli/cli.h"
#include "core/identity_json.h"
#include "core/limits.h"
#include "core/timefmt.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char cw_usage[] =
	"Usage: tollgate change-window <command> [options]\n"
	"\n"
	"Change windows: named schedules in a time zone attached to resources.\n"
	"Privilege for a resource under change control that comes from a JIT grant\n"
	"works only while one of its windows is open (docs/change_windows.md).\n"
	"\n"
	"  set FILE [--json]\n"
	"      Creates or replaces the window FILE holds (- reads stdin).\n"
	"  list [--json]\n"
	"      Lists the windows by name, each with its state now.\n"
	"  show NAME [--json]\n"
	"      Prints one window.\n"
	"  delete NAME\n"
	"      Deletes a window: its resources are no longer under its control.\n"
	"\n"
	"Run `tollgate change-window <command> --help` for a command's options.\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420) and TOLLGATE_TOKEN: the\n"
	"admin token, or an operator session token from `tollgate login` (set and\n"
	"delete need an admin; list and show an admin, approver or auditor).\n";

static const char set_help[] =
	"Usage: tollgate change-window set FILE [--json]\n"
	"\n"
	"Creates or replaces a change window (PUT /v1/change-windows/NAME) from the\n"
	"JSON document in FILE (- reads stdin); NAME is the document's \"name\":\n"
	"\n"
	"  {\"name\": \"line3-maintenance\",\n"
	"   \"resources\": [\"Zone::\\\"line-3\\\"\", \"Device:plc-7\"],\n"
	"   \"timezone\": \"Europe/Berlin\",\n"
	"   \"schedule\": {\"every\": \"week\", \"days\": [\"sat\", \"sun\"],\n"
	"                \"from\": \"02:00\", \"to\": \"06:00\"}}\n"
	"\n"
	"  name       1-128 characters of A-Z a-z 0-9 . _ -\n"
	"  resources  1-64 entity references, Type::\"id\" or Type:id; their\n"
	"             descendants in the entity hierarchy are covered too\n"
	"  timezone   an IANA zone name (Europe/Berlin, America/New_York, UTC)\n"
	"  schedule   one-off {\"start\": \"2026-12-07T02:00\", \"end\": \"2026-12-07T06:00\"}\n"
	"             (local times in the zone, or instants with Z or +-HH:MM; at\n"
	"             most 366 days), daily {\"every\": \"day\", \"from\": \"22:00\",\n"
	"             \"to\": \"02:00\"} or weekly {\"every\": \"week\", \"days\": [...],\n"
	"             \"from\", \"to\"}; a \"to\" at or before \"from\" ends the next day\n"
	"\n"
	"  --json     print the window as the broker stored it, as JSON\n"
	"\n"
	"Prints the window as stored (normalized) and its state now. The broker\n"
	"refuses a document naming what is wrong (\"schedule.days[2]\": ...). Needs\n"
	"the admin token or an admin operator's session with a second factor at most\n"
	"stepup_max_age (300 s) old; with an older one, log in again and retry.\n";

static const char list_help[] =
	"Usage: tollgate change-window list [--json]\n"
	"\n"
	"Lists the change windows by name (GET /v1/change-windows): NAME, TIMEZONE,\n"
	"SCHEDULE, STATE at the broker's clock (\"open until T\", \"next T\", or\n"
	"\"closed\" when it never opens again; T in RFC 3339 UTC) and RESOURCES.\n"
	"\n"
	"  --json     print {\"windows\": [...]} as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin, approver or auditor\n"
	"operator's session.\n";

static const char show_help[] =
	"Usage: tollgate change-window show NAME [--json]\n"
	"\n"
	"Prints change window NAME (GET /v1/change-windows/NAME): time zone,\n"
	"schedule, state at the broker's clock and resources.\n"
	"\n"
	"  --json     print the window as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token, or an admin, approver or auditor\n"
	"operator's session.\n";

static const char delete_help[] =
	"Usage: tollgate change-window delete NAME\n"
	"\n"
	"Deletes change window NAME (DELETE /v1/change-windows/NAME). Its resources\n"
	"are no longer under its control: unless another window covers them, grants\n"
	"for them work at any time again.\n"
	"\n"
	"Needs the admin token or an admin operator's session with a second factor\n"
	"at most stepup_max_age (300 s) old.\n";

enum { O_JSON = 1, O_HELP, O_COUNT };
#define BIT(o) (1u << (o))

static const struct option longs[] = {
	{"json", no_argument, NULL, O_JSON}, {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0}};

typedef struct {
	bool json;
	const char *arg; /* FILE or NAME */
} opts_t;

typedef struct verb verb_t;
struct verb {
	const char *name, *help;
	unsigned takes;  /* BIT(O_...) of options accepted */
	const char *arg; /* "FILE", "NAME" or NULL: the one argument it needs */
	int (*run)(const opts_t *o);
};

/* ---- output ----------------------------------------------------------- */

static const char *str(const json_t *j, const char *member)
{
	const char *s = json_string_value(json_object_get(j, member));
	return s ? s : "";
}

/* The schedule in one line: "weekly sat,sun 02:00-06:00", "daily 22:00-02:00",
 * "once 2026-12-07T02:00 to 2026-12-07T06:00". */
static const char *schedule_of(const json_t *w, char *out, size_t cap)
{
	const json_t *s = json_object_get(w, "schedule");
	const char *every = str(s, "every");
	if (strcmp(every, "week") == 0) {
		int n = snprintf(out, cap, "weekly ");
		size_t i;
		const json_t *d;
		json_array_foreach(json_object_get(s, "days"), i, d)
			if (n >= 0 && (size_t)n < cap)
				n += snprintf(out + n, cap - (size_t)n, "%s%s", i ? "," : "", json_string_value(d));
		if (n >= 0 && (size_t)n < cap)
			snprintf(out + n, cap - (size_t)n, " %s-%s", str(s, "from"), str(s, "to"));
	} else if (strcmp(every, "day") == 0) {
		snprintf(out, cap, "daily %s-%s", str(s, "from"), str(s, "to"));
	} else {
		snprintf(out, cap, "once %s to %s", str(s, "start"), str(s, "end"));
	}
	return out;
}

/* The state at the broker's clock: "open until T", "next T" or "closed";
 * with long, "closed; next opens T" and "closed; never opens again". */
static const char *state_of(const json_t *w, bool lng, char *out, size_t cap)
{
	char t[RFC3339_LEN];
	bool open = json_is_true(json_object_get(w, "open"));
	const json_t *at = json_object_get(w, open ? "open_until" : "next_open");
	if (json_is_integer(at))
		rfc3339((int64_t)json_integer_value(at), t);
	if (open)
		snprintf(out, cap, "open until %s", json_is_integer(at) ? t : "?");
	else if (json_is_integer(at))
		snprintf(out, cap, lng ? "closed; next opens %s" : "next %s", t);
	else
		snprintf(out, cap, lng ? "closed; never opens again" : "closed");
	return out;
}

static void print_window(const json_t *w)
{
	char buf[512];
	size_t i;
	const json_t *r;
	printf("name:       %s\n", str(w, "name"));
	printf("timezone:   %s\n", str(w, "timezone"));
	printf("schedule:   %s\n", schedule_of(w, buf, sizeof buf));
	printf("state:      %s\n", state_of(w, true, buf, sizeof buf));
	json_array_foreach(json_object_get(w, "resources"), i, r)
		printf("%s%s\n", i ? "            " : "resources:  ", json_string_value(r));
}

/* One row's cells; the columns are as wide as their widest cell. */
enum { C_NAME, C_TZ, C_SCHEDULE, C_STATE, C_RESOURCES, NCOLS };

static void row_of(const json_t *w, char cells[NCOLS][1024])
{
	size_t i, n = 0;
	const json_t *r;
	snprintf(cells[C_NAME], 1024, "%s", str(w, "name"));
	snprintf(cells[C_TZ], 1024, "%s", str(w, "timezone"));
	schedule_of(w, cells[C_SCHEDULE], 1024);
	state_of(w, false, cells[C_STATE], 1024);
	cells[C_RESOURCES][0] = '\0';
	json_array_foreach(json_object_get(w, "resources"), i, r)
		if (n < 1024)
			n += (size_t)snprintf(cells[C_RESOURCES] + n, 1024 - n, "%s%s", i ? " " : "",
					      json_string_value(r));
}

static void print_table(const json_t *list)
{
	static const char *const heads[NCOLS] = {"NAME", "TIMEZONE", "SCHEDULE", "STATE", "RESOURCES"};
	const json_t *ws = json_object_get(list, "windows"), *w;
	char cells[NCOLS][1024];
	int width[NCOLS];
	size_t i;
	for (int c = 0; c < NCOLS; c++)
		width[c] = (int)strlen(heads[c]);
	json_array_foreach(ws, i, w) {
		row_of(w, cells);
		for (int c = 0; c < NCOLS - 1; c++)
			if ((int)strlen(cells[c]) > width[c])
				width[c] = (int)strlen(cells[c]);
	}
	printf("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], heads[0], width[1], heads[1], width[2], heads[2],
	       width[3], heads[3], heads[4]);
	json_array_foreach(ws, i, w) {
		row_of(w, cells);
		printf("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], cells[0], width[1], cells[1], width[2], cells[2],
		       width[3], cells[3], cells[4]);
	}
}

/* ---- the verbs -------------------------------------------------------- */

/* "/v1/change-windows/NAME", malloc'd. */
static char *window_path(const char *name)
{
	char *e = cli_urlencode(name), *path = NULL;
	if (e == NULL || asprintf(&path, "/v1/change-windows/%s", e) < 0)
		path = NULL;
	free(e);
	return path;
}

/* The window document in path (- for stdin), parsed; NULL after saying why. */
static json_t *load_document(const char *path)
{
	size_t len = 0;
	json_error_t e;
	bool is_stdin = strcmp(path, "-") == 0;
	const char *shown = is_stdin ? "stdin" : path;
	char *text = cli_read_file(path, TG_MAX_BODY, &len);
	if (text == NULL)
		return NULL;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	free(text);
	if (doc == NULL) {
		fprintf(stderr, "%s set: %s:%d:%d: not valid JSON: %s\n", cli_prefix(), shown, e.line, e.column,
			e.text);
		return NULL;
	}
	const char *name = json_string_value(json_object_get(doc, "name"));
	if (!json_is_object(doc) || name == NULL || !identity_name_valid(name)) {
		fprintf(stderr, "%s set: %s: the window must be a JSON object whose \"name\" is 1-%d characters of "
				"A-Z a-z 0-9 . _ - (the name it is stored under)\n",
			cli_prefix(), shown, TG_MAX_ID_LEN);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Prints a window answer as asked and releases it; 0, or 1 without one. */
static int print_answer(json_t *w, const opts_t *o)
{
	if (w == NULL)
		return 1;
	if (o->json)
		cli_print_json(w);
	else
		print_window(w);
	json_decref(w);
	return 0;
}

static int run_set(const opts_t *o)
{
	json_t *doc = load_document(o->arg);
	if (doc == NULL)
		return 1;
	char *path = window_path(json_string_value(json_object_get(doc, "name")));
	if (path == NULL) {
		json_decref(doc);
		return 1;
	}
	json_t *w = cli_api("PUT", path, doc);
	free(path);
	return print_answer(w, o);
}

static int run_show(const opts_t *o)
{
	char *path = window_path(o->arg);
	json_t *w = path ? cli_api("GET", path, NULL) : NULL;
	free(path);
	return print_answer(w, o);
}

static int run_delete(const opts_t *o)
{
	char *path = window_path(o->arg);
	json_t *r = path ? cli_api("DELETE", path, NULL) : NULL;
	free(path);
	if (r == NULL)
		return 1;
	printf("change window %s deleted\n", o->arg);
	json_decref(r);
	return 0;
}

static int run_list(const opts_t *o)
{
	json_t *list = cli_api("GET", "/v1/change-windows", NULL);
	if (list == NULL)
		return 1;
	if (o->json)
		cli_print_json(list);
	else
		print_table(list);
	json_decref(list);
	return 0;
}

static const verb_t verbs[] = {
	{"set", set_help, BIT(O_JSON), "FILE", run_set},
	{"list", list_help, BIT(O_JSON), NULL, run_list},
	{"show", show_help, BIT(O_JSON), "NAME", run_show},
	{"delete", delete_help, 0, "NAME", run_delete},
};
#define NVERBS (sizeof verbs / sizeof verbs[0])

/* ---- parsing ---------------------------------------------------------- */

/* The argument after the options: there when the verb needs one, absent
 * otherwise, and a window name where it is one. 0, or 2 after saying why. */
static int check_arg(const verb_t *v, int argc, char **argv, opts_t *o)
{
	bool is_name = v->arg != NULL && strcmp(v->arg, "NAME") == 0;
	const cli_arg_text_t text = {v->arg,
				     is_name ? " (`tollgate change-window list` lists them)"
					     : " (a JSON window document, - for stdin)",
				     v->arg, ""};
	if (cli_verb_arg(argc, argv, v->name, v->arg != NULL, &text, &o->arg) != 0)
		return 2;
	if (!is_name || identity_name_valid(o->arg))
		return 0;
	fprintf(stderr, "%s %s: '%.64s' is not a change window name (1-%d characters of A-Z a-z 0-9 . _ -)\n",
		cli_prefix(), v->name, o->arg, TG_MAX_ID_LEN);
	return 2;
}

static int take(int ch, void *ctx)
{
	opts_t *o = ctx;
	o->json = o->json || ch == O_JSON;
	return 0;
}

/* The options and the argument after the verb into o; 0, 1 after --help
 * (printed), or 2 after a usage error (said). */
static int parse(const verb_t *v, int argc, char **argv, opts_t *o)
{
	static const int short_codes[] = {O_HELP};
	const cli_verb_opts_t spec = {v->name, v->help, longs, "h", short_codes, O_COUNT, O_HELP, v->takes};
	int rc = cli_verb_options(argc, argv, &spec, take, o);
	return rc != 0 ? rc : check_arg(v, argc, argv, o);
}

int cmd_change_window(int argc, char **argv)
{
	int rc = 0;
	const verb_t *v = cli_verb_lookup(argc, argv, verbs, NVERBS, sizeof verbs[0], cw_usage, &rc);
	if (v == NULL)
		return rc;
	opts_t o = {0};
	rc = parse(v, argc, argv, &o);
	if (rc != 0)
		return rc == 1 ? 0 : rc;
	return v->run(&o);
}
