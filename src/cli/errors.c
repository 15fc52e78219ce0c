/* errors.c - how the CLI says what went wrong: every message starts with
 * "tollgate NOUN:" (the command being run; main.c sets it), a mistyped
 * command gets one line naming the nearest command (core/suggest.c) rather
 * than the whole usage, a refused option points at --help, and a broker
 * problem text that names an HTTP route gets the CLI command that does the
 * same (the broker's texts stay as they are for API clients). */
#include "cli/cli.h"
#include "core/suggest.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char prefix[48] = "tollgate";

void cli_set_noun(const char *noun)
{
	snprintf(prefix, sizeof prefix, "tollgate %s", noun);
}

const char *cli_prefix(void)
{
	return prefix;
}

int cli_unknown_command(const char *word, const char *const *commands)
{
	const char *near = suggest_nearest(word, commands);
	if (near != NULL)
		fprintf(stderr, "%s: unknown command '%.64s'; did you mean '%s'? (%s --help lists commands)\n",
			prefix, word, near, prefix);
	else
		fprintf(stderr, "%s: unknown command '%.64s' (%s --help lists commands)\n", prefix, word, prefix);
	return 2;
}

int cli_bad_option(const char *verb)
{
	fprintf(stderr, "%s: see `%s%s%s --help` for the options\n", prefix, prefix, verb ? " " : "",
		verb ? verb : "");
	return 2;
}

/* Routes the broker's problem texts name, longest first, and the CLI
 * command for each. */
static const struct {
	const char *route, *command;
} routes[] = {
	{"GET /v1/policies/history", "`tollgate policy history`"},
	{"PATCH /v1/identities/{id}", "`tollgate identity update ID`"},
	{"GET /v1/identities", "`tollgate identity list`"},
	{"GET /v1/entities", "`tollgate entities get`"},
	{"GET /v1/grants/{id}", "`tollgate grant show ID`"},
	{"GET /v1/grants", "`tollgate grant list`"},
	{"GET /v1/change-windows", "`tollgate change-window list`"},
	{"GET /v1/keys", "`tollgate keys list`"},
	{"PUT /v1/policies", "`tollgate policy set FILE`"},
	{"see docs/api.md", "is TOLLGATE_ADDR a Tollgate broker of this version (`tollgate version`)?"},
};

/* The route of routes[] that text starts with, or -1. */
static int route_at(const char *text)
{
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
		if (strncmp(text, routes[i].route, strlen(routes[i].route)) == 0)
			return (int)i;
	return -1;
}

char *cli_with_commands(const char *text)
{
	size_t cap = strlen(text) + 1, n = 0;
	for (const char *p = text; *p; p++)
		if (route_at(p) >= 0)
			cap += strlen(routes[route_at(p)].command);
	char *out = malloc(cap);
	if (out == NULL)
		return NULL;
	for (const char *p = text; *p;) {
		int r = route_at(p);
		if (r < 0) {
			out[n++] = *p++;
			continue;
		}
		size_t len = strlen(routes[r].command);
		memcpy(out + n, routes[r].command, len);
		n += len;
		p += strlen(routes[r].route);
	}
	out[n] = '\0';
	return out;
}
