/* edge_route.h - the edge's routes (DESIGN §3.7): a route line of the
 * edge's file parsed into an edge_route_t and printed back, and a request's
 * method and path matched against the routes in file order, giving the
 * action and the concrete resource the edge decides on. Pure; matching
 * allocates nothing.
 *
 * ROUTE LINE (the value of a `route = ...` line):
 *   METHOD PATTERN ACTION RESOURCE [stale=open] [inject=HEADER:SOURCE:WHAT]...
 * separated by spaces or tabs; '#' and '"' appear nowhere in it.
 * - METHOD: an HTTP method token (RFC 9110 tchar, no lower-case letters:
 *   methods are case-sensitive and nginx sends GET, not get), or `*` for any.
 * - PATTERN: '/' then segments separated by '/'; each is a literal, a
 *   parameter `{name}` (the whole segment; name [a-z_][a-z0-9_]*, each
 *   name once), or `*` as the whole last segment. Literals are RFC 3986
 *   pchar without '%' and '*' ([A-Za-z0-9-._~!$&'()+,;=:@]), never "." or
 *   "..". No empty segment but the last: "/" is the root, "/a/" differs
 *   from "/a". A parameter matches one non-empty segment; the final `*`
 *   matches one or more segments, the first possibly empty: "/admin/"
 *   followed by `*` matches "/admin/" and "/admin/x/y" but not "/admin"
 *   (give that its own route). At most TG_EDGE_MAX_SEGMENTS segments, TG_EDGE_MAX_PATTERN bytes.
 * - ACTION: a scope action (core/scope.h), e.g. orders.read.
 * - RESOURCE: Type:id as in scope tokens, where id may hold `{name}`
 *   placeholders naming parameters of the pattern (a literal '{' or '}' in
 *   an id is not possible). ACTION@RESOURCE is a scope token, so the
 *   substituted id must be scope-token characters and the whole at most
 *   TG_MAX_SCOPE_TOKEN_LEN bytes.
 * - stale=open: the route keeps deciding on the last good state when the
 *   edge is stale; every other route fails closed then.
 * - inject=HEADER:file:PATH or inject=HEADER:secret:NAME (at most
 *   TG_EDGE_MAX_INJECTS, one per header): on allow, the edge adds HEADER
 *   with the contents of the file PATH (absolute, read at start) or the
 *   current value of the broker's secret NAME (core/secret.h names; fetched
 *   and kept current by the edge, edge/edge_secrets.h). HEADER is a token
 *   of at most TG_EDGE_MAX_HEADER_NAME bytes, not X-Tollgate-* (the edge's
 *   own).
 *
 * REQUEST PATHS are taken strictly; anything doubtful does not match (the
 * edge denies a request that matches no route). The path ends at the first
 * '?' or '#'. It must start with '/', be at most TG_MAX_URI bytes, hold no
 * control character or space, and no "//". It is split on '/' first and
 * each segment percent-decoded after; a segment is refused when its
 * encoding is malformed or it decodes to a '/', a backslash, a '%' (double
 * encoding), a control character (NUL included), "." or "..", or to "." or
 * ".." before a ';' (Tomcat-style path parameters). Bytes >= 0x80 pass as
 * they are. At most TG_EDGE_MAX_PATH_SEGMENTS segments. Literals compare
 * byte for byte with the decoded segment. */
#ifndef TG_EDGE_ROUTE_H
#define TG_EDGE_ROUTE_H
#include "core/config.h"
#include "core/limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { EDGE_SEG_LITERAL, EDGE_SEG_PARAM, EDGE_SEG_REST } edge_seg_kind_t;

typedef struct {
	uint8_t kind;      /* edge_seg_kind_t */
	uint16_t off, len; /* the literal, or the parameter's name, in pattern */
} edge_seg_t;

typedef enum { EDGE_INJECT_FILE = 1, EDGE_INJECT_SECRET = 2 } edge_inject_source_t;

typedef struct {
	char header[TG_EDGE_MAX_HEADER_NAME + 1];
	uint8_t source; /* edge_inject_source_t */
	char path[TG_CFG_STR]; /* file: the absolute path; secret: the secret's name */
} edge_inject_t;

typedef struct {
	int line;                                  /* in the file; 0 when not from one */
	char method[TG_EDGE_MAX_METHOD + 1];       /* "*" = any */
	char pattern[TG_EDGE_MAX_PATTERN + 1];
	size_t n_seg;
	edge_seg_t seg[TG_EDGE_MAX_SEGMENTS];
	char action[TG_MAX_SCOPE_TOKEN_LEN + 1];
	char resource[TG_MAX_SCOPE_TOKEN_LEN + 1]; /* Type:id template, as written */
	size_t type_len;                           /* of Type in resource */
	bool stale_open;
	size_t n_inject;
	edge_inject_t inject[TG_EDGE_MAX_INJECTS];
} edge_route_t;

/* Parses the value of a route line into *out (line set to 0). On error
 * writes a sentence saying what is wrong and what is expected into err
 * and returns -1. */
int edge_route_parse(const char *text, edge_route_t *out, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* The route as a line value that edge_route_parse reads back to the same
 * route (truncated to len like snprintf); returns the full length. */
size_t edge_route_render(const edge_route_t *r, char *buf, size_t len);

typedef enum {
	EDGE_ROUTE_MATCH = 0,
	EDGE_ROUTE_NONE = 1,     /* no route has this method and path */
	EDGE_ROUTE_BAD_PATH = 2, /* the path or method is refused (see above), or the
				    first matching route cannot name a valid resource */
} edge_route_result_t;

typedef struct {
	size_t route;                                   /* index of the route that matched */
	char action[TG_MAX_SCOPE_TOKEN_LEN + 1];
	char resource_type[TG_MAX_SCOPE_TOKEN_LEN + 1];
	char resource_id[TG_MAX_SCOPE_TOKEN_LEN + 1];   /* parameters substituted */
	char scope[TG_MAX_SCOPE_TOKEN_LEN + 1];         /* action@Type:id, a valid scope token */
	const char *why;                                /* unless matched: a static sentence */
} edge_match_t;

/* The first of routes[0..n) in file order whose method (or `*`) and
 * pattern match method and path (the request target; its query and
 * fragment are ignored). Returns an edge_route_result_t: on
 * EDGE_ROUTE_MATCH out holds the route's index, its action and the
 * resource with every {name} replaced by the decoded segment; otherwise
 * out->why says why (and on a BAD_PATH from a route, out->route is that
 * route). The first matching route decides: when its resource id cannot
 * be formed from the path, no later route is tried. Both refusals mean
 * deny. */
int edge_route_match(const edge_route_t *routes, size_t n, const char *method, const char *path,
		     edge_match_t *out);

/* Shared with the other lines of the edge's file (core/edge_config.c): the
 * next blank-separated word at *p, advancing past it (n is 0 at the end),
 * and the name syntax of parameters and options, [a-z_][a-z0-9_]*. */
typedef struct {
	const char *s;
	size_t n;
} edge_word_t;
edge_word_t edge_next_word(const char **p);
bool edge_name_valid(const char *s, size_t n);

#endif
