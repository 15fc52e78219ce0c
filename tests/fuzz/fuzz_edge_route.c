/* fuzz_edge_route.c - route lines and route matching on arbitrary input:
 * "CONFIG-TEXT\0METHOD PATH" (the routes of an edge file, then one request;
 * without a space the whole rest is the path of a GET). A match names a
 * route whose method fits, a valid scope token made of that route's action
 * and type, and a path without "//", "." or ".." segments; matching twice
 * gives the same answer. */
#include "core/edge_config.h"
#include "core/scope.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The raw path part (before '?' or '#') has no "//" and no segment that is
 * exactly "." or "..". */
static int raw_path_clean(const char *path)
{
	size_t n = strcspn(path, "?#");
	for (size_t i = 0; i < n; i++) {
		if (path[i] != '/')
			continue;
		size_t e = i + 1;
		while (e < n && path[e] != '/')
			e++;
		size_t len = e - i - 1;
		if ((len == 0 && e < n) || (len == 1 && path[i + 1] == '.') ||
		    (len == 2 && path[i + 1] == '.' && path[i + 2] == '.'))
			return 0;
	}
	return 1;
}

static void check_match(const tg_edge_config_t *c, const char *method, const char *path)
{
	edge_match_t m, again;
	int rc = edge_route_match(c->routes, c->n_routes, method, path, &m);
	fz_require(rc == EDGE_ROUTE_MATCH || rc == EDGE_ROUTE_NONE || rc == EDGE_ROUTE_BAD_PATH, "known result");
	fz_require(edge_route_match(c->routes, c->n_routes, method, path, &again) == rc && again.route == m.route &&
			   strcmp(again.scope, m.scope) == 0,
		   "matching is deterministic");
	if (rc != EDGE_ROUTE_MATCH) {
		fz_require(m.why != NULL && m.scope[0] == '\0', "a refusal explains and names nothing");
		return;
	}
	const edge_route_t *r = &c->routes[m.route];
	fz_require(m.route < c->n_routes, "route index in range");
	fz_require(strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0, "method fits");
	fz_require(scope_token_valid(m.scope, strlen(m.scope)), "scope token valid");
	fz_require(strcmp(m.action, r->action) == 0, "the route's action");
	fz_require(strncmp(m.resource_type, r->resource, r->type_len) == 0 && m.resource_type[r->type_len] == '\0',
		   "the route's type");
	fz_require(m.resource_id[0] != '\0', "an id");
	fz_require(path[0] == '/' && raw_path_clean(path), "no empty or dot segment matched");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t cl = nul != NULL ? (size_t)(nul - data) : size;
	tg_edge_config_t c;
	char err[256];
	edge_config_defaults(&c);
	if (edge_config_parse(&c, (const char *)data, cl, err, sizeof err) == 0 && nul != NULL) {
		char *req = fz_cstr(nul + 1, size - cl - 1), *sp = strchr(req, ' ');
		if (sp != NULL) {
			*sp = '\0';
			check_match(&c, req, sp + 1);
		} else {
			check_match(&c, "GET", req);
		}
		free(req);
	}
	edge_config_free(&c);
	return 0;
}
