/* edge_route.c - route lines (parse, render) and matching a request's
 * method and path against them: see edge_route.h for the syntax and the
 * path rules. */
#include "core/edge_route.h"
#include "core/b64url.h"
#include "core/errbuf.h"
#include "core/media_type.h"
#include "core/scope.h"
#include "core/secret.h"
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define USAGE "METHOD PATTERN ACTION RESOURCE [stale=open] [inject=HEADER:file:PATH|HEADER:secret:NAME]..."
#define SHOWN(n) (int)((n) < 64 ? (n) : 64) /* bytes of a bad word quoted in a message */

/* ---- parsing a route line ----------------------------------------------- */

typedef edge_word_t word_t;

word_t edge_next_word(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	word_t w = {*p, strcspn(*p, " \t")};
	*p += w.n;
	return w;
}

static bool word_is(word_t w, const char *lit)
{
	return w.n == strlen(lit) && memcmp(w.s, lit, w.n) == 0;
}

static int parse_method(word_t w, edge_route_t *r, char *err, size_t err_len)
{
	if (word_is(w, "*")) {
		snprintf(r->method, sizeof r->method, "*");
		return 0;
	}
	if (w.n > TG_EDGE_MAX_METHOD || !http_token_valid(w.s, w.n)) {
		tg_errf(err, err_len, "method '%.*s' is not an HTTP method token (e.g. GET) or *", SHOWN(w.n), w.s);
		return -1;
	}
	for (size_t i = 0; i < w.n; i++)
		if (w.s[i] >= 'a' && w.s[i] <= 'z') {
			tg_errf(err, err_len, "method '%.*s' has lower-case letters: methods are case-sensitive "
					      "(GET, not get)", SHOWN(w.n), w.s);
			return -1;
		}
	memcpy(r->method, w.s, w.n);
	r->method[w.n] = '\0';
	return 0;
}

bool edge_name_valid(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' || (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return false;
	return n > 0;
}

/* RFC 3986 pchar without '%' (literals match decoded text) and '*'. */
static bool is_literal_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("-._~!$&'()+,;=:@", c) != NULL);
}

/* Index of the parameter segment called name, or -1. */
static int param_index(const edge_route_t *r, const char *name, size_t n)
{
	for (size_t i = 0; i < r->n_seg; i++)
		if (r->seg[i].kind == EDGE_SEG_PARAM && r->seg[i].len == n &&
		    memcmp(r->pattern + r->seg[i].off, name, n) == 0)
			return (int)i;
	return -1;
}

/* Classifies the segment pattern[i..e) (last when it ends the pattern). */
static int parse_segment(edge_route_t *r, size_t i, size_t e, bool last, char *err, size_t err_len)
{
	const char *s = r->pattern + i;
	size_t n = e - i;
	edge_seg_t seg = {EDGE_SEG_LITERAL, (uint16_t)i, (uint16_t)n};
	if (r->n_seg == TG_EDGE_MAX_SEGMENTS) {
		tg_errf(err, err_len, "pattern has more than %d segments", TG_EDGE_MAX_SEGMENTS);
		return -1;
	}
	if (n == 0 && !last) {
		tg_errf(err, err_len, "pattern '%.*s' has an empty segment ('//')", SHOWN(strlen(r->pattern)), r->pattern);
		return -1;
	}
	if (n == 1 && s[0] == '*') {
		if (!last) {
			tg_errf(err, err_len, "'*' is only allowed as the whole last segment of a pattern (/admin/*)");
			return -1;
		}
		seg.kind = EDGE_SEG_REST;
	} else if (n > 0 && s[0] == '{') {
		if (s[n - 1] != '}' || !edge_name_valid(s + 1, n - 2)) {
			tg_errf(err, err_len, "pattern segment '%.*s' is not a parameter: expected {name} with name "
					      "[a-z_][a-z0-9_]* as a whole segment", SHOWN(n), s);
			return -1;
		}
		if (param_index(r, s + 1, n - 2) >= 0) {
			tg_errf(err, err_len, "parameter {%.*s} appears twice in the pattern", SHOWN(n - 2), s + 1);
			return -1;
		}
		seg = (edge_seg_t){EDGE_SEG_PARAM, (uint16_t)(i + 1), (uint16_t)(n - 2)};
	} else {
		for (size_t k = 0; k < n; k++)
			if (!is_literal_char(s[k])) {
				tg_errf(err, err_len, "pattern segment '%.*s' has '%c': a literal is [A-Za-z0-9-._~!$&'()+,;=:@] "
						      "(no percent-encoding), a parameter {name} and '*' a whole last segment",
					SHOWN(n), s, s[k] >= 0x21 && s[k] < 0x7f ? s[k] : '?');
				return -1;
			}
		if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
			tg_errf(err, err_len, "pattern has a '.' or '..' segment, which no request path can match");
			return -1;
		}
	}
	r->seg[r->n_seg++] = seg;
	return 0;
}

static int parse_pattern(word_t w, edge_route_t *r, char *err, size_t err_len)
{
	if (w.s[0] != '/') {
		tg_errf(err, err_len, "pattern '%.*s' must start with '/'", SHOWN(w.n), w.s);
		return -1;
	}
	if (w.n > TG_EDGE_MAX_PATTERN) {
		tg_errf(err, err_len, "pattern is longer than %d bytes", TG_EDGE_MAX_PATTERN);
		return -1;
	}
	memcpy(r->pattern, w.s, w.n);
	r->pattern[w.n] = '\0';
	for (size_t i = 1;;) {
		size_t e = i;
		while (e < w.n && r->pattern[e] != '/')
			e++;
		if (parse_segment(r, i, e, e == w.n, err, err_len) != 0)
			return -1;
		if (e == w.n)
			return 0;
		i = e + 1;
	}
}

static int parse_action(word_t w, edge_route_t *r, char *err, size_t err_len)
{
	if (w.n > TG_MAX_SCOPE_TOKEN_LEN || !scope_action_valid(w.s, w.n)) {
		tg_errf(err, err_len, "action '%.*s' is not an action id ([A-Za-z0-9._-]+, e.g. orders.read)",
			SHOWN(w.n), w.s);
		return -1;
	}
	memcpy(r->action, w.s, w.n);
	r->action[w.n] = '\0';
	return 0;
}

/* The id template id[0..n): scope-id characters and {name} placeholders
 * of the pattern's parameters. *min gets its shortest substituted length. */
static int parse_id_template(const edge_route_t *r, const char *id, size_t n, size_t *min, char *err,
			     size_t err_len)
{
	*min = 0;
	if (n == 0) {
		tg_errf(err, err_len, "resource '%s' has an empty id: expected Type:id", r->resource);
		return -1;
	}
	for (size_t i = 0; i < n;) {
		if (id[i] == '{') {
			const char *end = memchr(id + i, '}', n - i);
			size_t nl = end == NULL ? 0 : (size_t)(end - id) - i - 1;
			if (end == NULL || !edge_name_valid(id + i + 1, nl)) {
				tg_errf(err, err_len, "resource id '%.*s' has a '{' that does not start a {name} placeholder",
					SHOWN(n), id);
				return -1;
			}
			if (param_index(r, id + i + 1, nl) < 0) {
				tg_errf(err, err_len, "resource placeholder {%.*s} is not a parameter of the pattern %s",
					SHOWN(nl), id + i + 1, r->pattern);
				return -1;
			}
			i += nl + 2;
			(*min)++;
			continue;
		}
		if (id[i] == '}' || !scope_id_valid(id + i, 1)) {
			tg_errf(err, err_len, "resource id '%.*s' has '%c', which is not allowed in an id "
					      "(printable ASCII but '\"', backslash, '{' and '}')",
				SHOWN(n), id, id[i] >= 0x21 && id[i] < 0x7f ? id[i] : '?');
			return -1;
		}
		i++;
		(*min)++;
	}
	return 0;
}

static int parse_resource(word_t w, edge_route_t *r, char *err, size_t err_len)
{
	const char *colon = memchr(w.s, ':', w.n);
	size_t min = 0;
	if (colon == NULL) {
		tg_errf(err, err_len, "resource '%.*s' is not Type:id (e.g. Order:{id} or Api:orders)", SHOWN(w.n), w.s);
		return -1;
	}
	if (w.n > TG_MAX_SCOPE_TOKEN_LEN) {
		tg_errf(err, err_len, "resource is longer than %d bytes", TG_MAX_SCOPE_TOKEN_LEN);
		return -1;
	}
	memcpy(r->resource, w.s, w.n);
	r->resource[w.n] = '\0';
	r->type_len = (size_t)(colon - w.s);
	if (!scope_type_valid(w.s, r->type_len)) {
		tg_errf(err, err_len, "resource type '%.*s' is not a type name ([A-Za-z_][A-Za-z0-9_]*, e.g. Order)",
			SHOWN(r->type_len), w.s);
		return -1;
	}
	if (parse_id_template(r, colon + 1, w.n - r->type_len - 1, &min, err, err_len) != 0)
		return -1;
	if (strlen(r->action) + 2 + r->type_len + min > TG_MAX_SCOPE_TOKEN_LEN) {
		tg_errf(err, err_len, "action and resource together are longer than a scope token (%d bytes)",
			TG_MAX_SCOPE_TOKEN_LEN);
		return -1;
	}
	return 0;
}

#define INJECT_FORMS "inject=HEADER:file:PATH or inject=HEADER:secret:NAME"

static int parse_inject_header(const char *v, size_t hl, const edge_route_t *r, char *err, size_t err_len)
{
	if (hl > TG_EDGE_MAX_HEADER_NAME || !http_token_valid(v, hl)) {
		tg_errf(err, err_len, "inject header '%.*s' is not a header name token of at most %d bytes",
			SHOWN(hl), v, TG_EDGE_MAX_HEADER_NAME);
		return -1;
	}
	if (hl >= 11 && strncasecmp(v, "X-Tollgate-", 11) == 0) {
		tg_errf(err, err_len, "inject header '%.*s': X-Tollgate-* headers are the edge's own", SHOWN(hl), v);
		return -1;
	}
	for (size_t i = 0; i < r->n_inject; i++)
		if (strlen(r->inject[i].header) == hl && strncasecmp(r->inject[i].header, v, hl) == 0) {
			tg_errf(err, err_len, "inject header '%.*s' is given twice", SHOWN(hl), v);
			return -1;
		}
	if (r->n_inject == TG_EDGE_MAX_INJECTS) {
		tg_errf(err, err_len, "more than %d inject= options", TG_EDGE_MAX_INJECTS);
		return -1;
	}
	return 0;
}

/* The source word s[0..sl) and what follows it, w[0..wl): the file's path
 * or the secret's name. */
static int parse_inject_source(const char *s, size_t sl, const char *w, size_t wl, edge_inject_t *in, char *err,
			       size_t err_len)
{
	if (sl == 4 && memcmp(s, "file", 4) == 0) {
		if (wl == 0 || w[0] != '/' || wl >= TG_CFG_STR) {
			tg_errf(err, err_len, "inject file '%.*s' is not an absolute path of at most %d bytes", SHOWN(wl),
				w, TG_CFG_STR - 1);
			return -1;
		}
		in->source = EDGE_INJECT_FILE;
	} else if (sl == 6 && memcmp(s, "secret", 6) == 0) {
		char name[SECRET_MAX_NAME + 1];
		snprintf(name, sizeof name, "%.*s", (int)(wl < sizeof name ? wl : sizeof name - 1), w);
		if (wl > SECRET_MAX_NAME || !secret_name_valid(name)) {
			tg_errf(err, err_len, "inject secret '%.*s' is not a secret name (1-%d of A-Z a-z 0-9 . _ -, "
					      "not . or ..)", SHOWN(wl), w, SECRET_MAX_NAME);
			return -1;
		}
		in->source = EDGE_INJECT_SECRET;
	} else {
		tg_errf(err, err_len, "inject source '%.*s' is not supported: expected " INJECT_FORMS, SHOWN(sl), s);
		return -1;
	}
	memcpy(in->path, w, wl);
	in->path[wl] = '\0';
	return 0;
}

static int parse_inject(const char *v, size_t n, edge_route_t *r, char *err, size_t err_len)
{
	const char *c1 = memchr(v, ':', n);
	const char *c2 = c1 == NULL ? NULL : memchr(c1 + 1, ':', n - (size_t)(c1 + 1 - v));
	edge_inject_t in;
	if (c2 == NULL) {
		tg_errf(err, err_len, "inject=%.*s is not " INJECT_FORMS, SHOWN(n), v);
		return -1;
	}
	size_t hl = (size_t)(c1 - v), sl = (size_t)(c2 - c1 - 1), wl = n - (size_t)(c2 + 1 - v);
	memset(&in, 0, sizeof in);
	if (parse_inject_header(v, hl, r, err, err_len) != 0 ||
	    parse_inject_source(c1 + 1, sl, c2 + 1, wl, &in, err, err_len) != 0)
		return -1;
	memcpy(in.header, v, hl);
	in.header[hl] = '\0';
	r->inject[r->n_inject++] = in;
	return 0;
}

static int parse_option(word_t w, edge_route_t *r, char *err, size_t err_len)
{
	if (w.n >= 6 && memcmp(w.s, "stale=", 6) == 0) {
		if (!word_is(w, "stale=open")) {
			tg_errf(err, err_len, "'%.*s': expected stale=open (routes fail closed when stale unless they say so)",
				SHOWN(w.n), w.s);
			return -1;
		}
		if (r->stale_open) {
			tg_errf(err, err_len, "stale=open is given twice");
			return -1;
		}
		r->stale_open = true;
		return 0;
	}
	if (w.n >= 7 && memcmp(w.s, "inject=", 7) == 0)
		return parse_inject(w.s + 7, w.n - 7, r, err, err_len);
	tg_errf(err, err_len, "unknown option '%.*s': expected stale=open or " INJECT_FORMS, SHOWN(w.n), w.s);
	return -1;
}

int edge_route_parse(const char *text, edge_route_t *out, char *err, size_t err_len)
{
	const char *p = text;
	word_t w[4];
	memset(out, 0, sizeof *out);
	if (strpbrk(text, "#\"") != NULL) {
		tg_errf(err, err_len, "'#' and '\"' are not allowed in a route");
		return -1;
	}
	for (int i = 0; i < 4; i++)
		if ((w[i] = edge_next_word(&p)).n == 0) {
			tg_errf(err, err_len, "expected " USAGE);
			return -1;
		}
	if (parse_method(w[0], out, err, err_len) != 0 || parse_pattern(w[1], out, err, err_len) != 0 ||
	    parse_action(w[2], out, err, err_len) != 0 || parse_resource(w[3], out, err, err_len) != 0)
		return -1;
	for (word_t o = edge_next_word(&p); o.n > 0; o = edge_next_word(&p))
		if (parse_option(o, out, err, err_len) != 0)
			return -1;
	return 0;
}

/* ---- printing ------------------------------------------------------------ */

typedef struct {
	char *buf;
	size_t cap, n;
} out_t;

static void put(out_t *o, const char *a, const char *b, const char *c)
{
	size_t room = o->n < o->cap ? o->cap - o->n : 0;
	int k = snprintf(room > 0 ? o->buf + o->n : NULL, room, "%s%s%s", a, b, c);
	o->n += k > 0 ? (size_t)k : 0;
}

size_t edge_route_render(const edge_route_t *r, char *buf, size_t len)
{
	out_t o = {buf, len, 0};
	if (len > 0)
		buf[0] = '\0';
	put(&o, r->method, " ", r->pattern);
	put(&o, " ", r->action, " ");
	put(&o, r->resource, "", "");
	if (r->stale_open)
		put(&o, " stale=open", "", "");
	for (size_t i = 0; i < r->n_inject; i++) {
		put(&o, " inject=", r->inject[i].header,
		    r->inject[i].source == EDGE_INJECT_SECRET ? ":secret:" : ":file:");
		put(&o, r->inject[i].path, "", "");
	}
	return o.n;
}

/* ---- matching ------------------------------------------------------------ */

/* A request path split into percent-decoded segments, stored one after the
 * other in dec. */
typedef struct {
	char dec[TG_MAX_URI + 1];
	uint16_t off[TG_EDGE_MAX_PATH_SEGMENTS], len[TG_EDGE_MAX_PATH_SEGMENTS];
	size_t n;
} req_path_t;

/* "." or "..", alone or before a ';'. */
static bool dot_segment(const char *s, size_t n)
{
	const char *semi = memchr(s, ';', n);
	size_t m = semi != NULL ? (size_t)(semi - s) : n;
	return (m == 1 && s[0] == '.') || (m == 2 && s[0] == '.' && s[1] == '.');
}

/* The byte at path[*i], decoded when it starts a %XX escape (advancing *i
 * past it); NULL, or why the path is refused. */
static const char *path_byte(const char *path, size_t n, size_t *i, unsigned char *out)
{
	unsigned char c = (unsigned char)path[*i];
	if (c <= 0x20 || c == 0x7f)
		return "the path holds a control character or a space";
	if (c == '\\')
		return "the path holds a backslash";
	if (c != '%') {
		(*i)++;
		*out = c;
		return NULL;
	}
	int hi = *i + 2 < n ? hex_digit(path[*i + 1]) : -1, lo = hi < 0 ? -1 : hex_digit(path[*i + 2]);
	if (lo < 0)
		return "the path has a malformed percent-encoding";
	c = (unsigned char)(hi << 4 | lo);
	*i += 3;
	if (c == '/')
		return "the path has an encoded '/' (%2F) inside a segment";
	if (c == '\\')
		return "the path has an encoded backslash (%5C)";
	if (c == '%')
		return "the path is percent-encoded twice (%25)";
	if (c < 0x20 || c == 0x7f)
		return "the path has an encoded control character (%00-%1F, %7F)";
	*out = c;
	return NULL;
}

/* Splits the path part of target into p; NULL, or why it is refused. */
static const char *split_path(const char *target, req_path_t *p)
{
	size_t total = strnlen(target, TG_MAX_URI + 1), n = strcspn(target, "?#"), o = 0;
	if (total > TG_MAX_URI)
		return "the request target is too long";
	if (n == 0 || target[0] != '/')
		return "the path does not start with '/'";
	p->n = 0;
	for (size_t i = 1;;) {
		size_t start = o;
		if (p->n == TG_EDGE_MAX_PATH_SEGMENTS)
			return "the path has too many segments";
		while (i < n && target[i] != '/') {
			unsigned char c;
			const char *why = path_byte(target, n, &i, &c);
			if (why != NULL)
				return why;
			p->dec[o++] = (char)c;
		}
		if (o == start && i < n)
			return "the path has an empty segment ('//')";
		if (dot_segment(p->dec + start, o - start))
			return "the path has a '.' or '..' segment";
		p->off[p->n] = (uint16_t)start;
		p->len[p->n++] = (uint16_t)(o - start);
		if (i >= n)
			return NULL;
		i++;
	}
}

static bool pattern_matches(const edge_route_t *r, const req_path_t *p)
{
	for (size_t i = 0; i < r->n_seg; i++) {
		const edge_seg_t *s = &r->seg[i];
		if (s->kind == EDGE_SEG_REST)
			return p->n > i;
		if (i >= p->n)
			return false;
		if (s->kind == EDGE_SEG_PARAM) {
			if (p->len[i] == 0)
				return false;
			continue;
		}
		if (p->len[i] != s->len || memcmp(p->dec + p->off[i], r->pattern + s->off, s->len) != 0)
			return false;
	}
	return p->n == r->n_seg;
}

/* The route's resource with its placeholders filled from p, and the scope
 * token; NULL, or why they are not valid. */
static const char *fill(const edge_route_t *r, const req_path_t *p, edge_match_t *out)
{
	const char *t = r->resource + r->type_len + 1;
	size_t o = 0;
	memcpy(out->resource_type, r->resource, r->type_len);
	out->resource_type[r->type_len] = '\0';
	snprintf(out->action, sizeof out->action, "%s", r->action);
	while (*t != '\0') {
		const char *src = t;
		size_t n = 1;
		if (*t == '{') {
			const char *end = strchr(t, '}');
			int k = param_index(r, t + 1, (size_t)(end - t - 1));
			src = p->dec + p->off[k];
			n = p->len[k];
			t = end + 1;
		} else {
			t++;
		}
		if (o + n > TG_MAX_SCOPE_TOKEN_LEN)
			return "the resource id taken from the path is too long";
		memcpy(out->resource_id + o, src, n);
		o += n;
	}
	out->resource_id[o] = '\0';
	int k = snprintf(out->scope, sizeof out->scope, "%s@%s:%s", out->action, out->resource_type,
			 out->resource_id);
	if (k < 0 || (size_t)k >= sizeof out->scope || !scope_token_valid(out->scope, (size_t)k))
		return "a path parameter is not a valid resource id (printable ASCII but '\"' and backslash; "
		       "ACTION@Type:id at most 256 bytes)";
	return NULL;
}

static int refuse(edge_match_t *out, int result, const char *why)
{
	out->action[0] = out->resource_type[0] = out->resource_id[0] = out->scope[0] = '\0';
	out->why = why;
	return result;
}

int edge_route_match(const edge_route_t *routes, size_t n, const char *method, const char *path,
		     edge_match_t *out)
{
	req_path_t p;
	out->route = 0;
	if (method == NULL || path == NULL)
		return refuse(out, EDGE_ROUTE_BAD_PATH, "no method or path");
	size_t ml = strnlen(method, TG_EDGE_MAX_METHOD + 1);
	if (ml > TG_EDGE_MAX_METHOD || !http_token_valid(method, ml))
		return refuse(out, EDGE_ROUTE_BAD_PATH, "the method is not an HTTP token");
	const char *why = split_path(path, &p);
	if (why != NULL)
		return refuse(out, EDGE_ROUTE_BAD_PATH, why);
	for (size_t i = 0; i < n; i++) {
		const edge_route_t *r = &routes[i];
		if ((strcmp(r->method, "*") != 0 && strcmp(r->method, method) != 0) || !pattern_matches(r, &p))
			continue;
		out->route = i;
		if ((why = fill(r, &p, out)) != NULL)
			return refuse(out, EDGE_ROUTE_BAD_PATH, why);
		out->why = NULL;
		return EDGE_ROUTE_MATCH;
	}
	return refuse(out, EDGE_ROUTE_NONE, "no route matches this method and path");
}
