/* test_edge_route.c - the edge's routes (src/core/edge_route.c): route
 * lines accepted and printed back, every refusal with its message, and
 * matching: file order, methods, parameters substituted into the
 * resource, the final '*', and hostile paths (traversal, encoded slash,
 * double slash, NUL, double encoding, oversize, bad UTF-8). */
#include "test_util.h"
#include "core/edge_route.h"
#include "core/limits.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void route_ok(edge_route_t *r, const char *text)
{
	char err[256] = "";
	if (edge_route_parse(text, r, err, sizeof err) != 0)
		fail_msg("route refused: %s\n%s", err, text);
}

static void route_bad(const char *text, const char *needle)
{
	edge_route_t r;
	char err[256] = "";
	if (edge_route_parse(text, &r, err, sizeof err) == 0)
		fail_msg("route accepted: %s", text);
	tu_assert_why(err, needle);
}

/* A table of routes from lines (NULL-terminated); malloc'd. */
static edge_route_t *table(const char *const *lines, size_t *n)
{
	size_t k = 0;
	while (lines[k] != NULL)
		k++;
	edge_route_t *t = calloc(k, sizeof *t);
	assert_non_null(t);
	for (size_t i = 0; i < k; i++)
		route_ok(&t[i], lines[i]);
	*n = k;
	return t;
}

static const char *const demo[] = {
	"GET /orders/{id} orders.read Order:{id}",
	"POST /orders orders.create Api:orders",
	"* /admin/* admin.any Api:admin inject=Authorization:file:/etc/tollgate/erp-admin",
	"GET /tenants/{t}/orders/{id} orders.read Order:{t}-{id} stale=open",
	"GET / home.read Api:home",
	"GET /health/ health.read Api:health stale=open",
	NULL,
};

/* Matches method and path against the demo table, expecting a match with
 * this route index and scope token. */
static void match_ok(const char *method, const char *path, size_t route, const char *scope)
{
	size_t n;
	edge_route_t *t = table(demo, &n);
	edge_match_t m;
	int rc = edge_route_match(t, n, method, path, &m);
	if (rc != EDGE_ROUTE_MATCH)
		fail_msg("%s %s: no match (%d): %s", method, path, rc, m.why);
	assert_int_equal(m.route, route);
	assert_string_equal(m.scope, scope);
	assert_null(m.why);
	free(t);
}

static void match_refused(const char *method, const char *path, int want, const char *needle)
{
	size_t n;
	edge_route_t *t = table(demo, &n);
	edge_match_t m;
	int rc = edge_route_match(t, n, method, path, &m);
	if (rc != want)
		fail_msg("%s %s: got %d, want %d (%s)", method, path, rc, want, m.why ? m.why : "matched");
	tu_assert_why(m.why, needle);
	assert_string_equal(m.scope, "");
	free(t);
}

/* ---- parsing ------------------------------------------------------------- */

static void test_parse_fields(void **state)
{
	edge_route_t r;
	route_ok(&r, "  GET\t/orders/{id}/items/{item_2}   orders.read  Order:{id}/{item_2}  stale=open "
		     "inject=Authorization:file:/etc/a inject=X-Api-Key:file:/etc/b:c ");
	assert_string_equal(r.method, "GET");
	assert_string_equal(r.pattern, "/orders/{id}/items/{item_2}");
	assert_int_equal(r.n_seg, 4);
	assert_int_equal(r.seg[0].kind, EDGE_SEG_LITERAL);
	assert_int_equal(r.seg[1].kind, EDGE_SEG_PARAM);
	assert_memory_equal(r.pattern + r.seg[1].off, "id", 2);
	assert_int_equal(r.seg[1].len, 2);
	assert_memory_equal(r.pattern + r.seg[3].off, "item_2", 6);
	assert_string_equal(r.action, "orders.read");
	assert_string_equal(r.resource, "Order:{id}/{item_2}");
	assert_int_equal(r.type_len, 5);
	assert_true(r.stale_open);
	assert_int_equal(r.n_inject, 2);
	assert_string_equal(r.inject[0].header, "Authorization");
	assert_int_equal(r.inject[0].source, EDGE_INJECT_FILE);
	assert_string_equal(r.inject[0].path, "/etc/a");
	assert_string_equal(r.inject[1].path, "/etc/b:c");
	assert_int_equal(r.line, 0);
}

static void test_parse_inject_secret(void **state)
{
	edge_route_t r;
	char buf[512];
	route_ok(&r, "POST /v1/* vendor.call Api:vendor inject=Authorization:secret:prod.vendor-api_key "
		     "inject=X-Trace:file:/etc/t");
	assert_int_equal(r.n_inject, 2);
	assert_int_equal(r.inject[0].source, EDGE_INJECT_SECRET);
	assert_string_equal(r.inject[0].header, "Authorization");
	assert_string_equal(r.inject[0].path, "prod.vendor-api_key");
	assert_int_equal(r.inject[1].source, EDGE_INJECT_FILE);
	edge_route_render(&r, buf, sizeof buf);
	assert_string_equal(buf, "POST /v1/* vendor.call Api:vendor inject=Authorization:secret:prod.vendor-api_key "
				 "inject=X-Trace:file:/etc/t");
	char longest[200];
	memset(longest, 'a', 128);
	snprintf(longest + 128, sizeof longest - 128, "%s", "");
	snprintf(buf, sizeof buf, "GET /x a.b T:x inject=K:secret:%s", longest);
	route_ok(&r, buf);
	snprintf(buf, sizeof buf, "GET /x a.b T:x inject=K:secret:%sa", longest);
	route_bad(buf, "is not a secret name");
}

static void test_parse_patterns(void **state)
{
	edge_route_t r;
	route_ok(&r, "* / a.b T:x");
	assert_int_equal(r.n_seg, 1);
	assert_int_equal(r.seg[0].kind, EDGE_SEG_LITERAL);
	assert_int_equal(r.seg[0].len, 0);
	route_ok(&r, "* /* a.b T:x");
	assert_int_equal(r.n_seg, 1);
	assert_int_equal(r.seg[0].kind, EDGE_SEG_REST);
	route_ok(&r, "* /a/ a.b T:x");
	assert_int_equal(r.n_seg, 2);
	route_ok(&r, "* /a-b.c_d~e!$&'()+,;=:@/x a.b T:x");
	route_ok(&r, "PURGE /x a.b T:x");
	route_ok(&r, "M-SEARCH /x a.b T:x");
}

static void test_parse_refusals(void **state)
{
	route_bad("", "expected METHOD PATTERN ACTION RESOURCE");
	route_bad("GET /x a.b", "expected METHOD PATTERN ACTION RESOURCE");
	route_bad("G(T /x a.b T:x", "method 'G(T' is not an HTTP method token");
	route_bad("get /x a.b T:x", "lower-case");
	route_bad("GETGETGETGETGETGETGETGETGETGETGET /x a.b T:x", "is not an HTTP method token");
	route_bad("GET x a.b T:x", "must start with '/'");
	route_bad("GET //x a.b T:x", "empty segment");
	route_bad("GET /a//b a.b T:x", "empty segment");
	route_bad("GET /a/*/b a.b T:x", "'*' is only allowed as the whole last segment");
	route_bad("GET /a* a.b T:x", "has '*'");
	route_bad("GET /{ID} a.b T:x", "is not a parameter");
	route_bad("GET /{} a.b T:x", "is not a parameter");
	route_bad("GET /{1a} a.b T:x", "is not a parameter");
	route_bad("GET /x{id} a.b T:x", "has '{'");
	route_bad("GET /{id}x a.b T:x", "is not a parameter");
	route_bad("GET /{id}/{id} a.b T:{id}", "parameter {id} appears twice");
	route_bad("GET /a%2Fb a.b T:x", "has '%'");
	route_bad("GET /a/.. a.b T:x", "'.' or '..'");
	route_bad("GET /a/./b a.b T:x", "'.' or '..'");
	route_bad("GET /x a@b T:x", "action 'a@b' is not an action id");
	route_bad("GET /x a.b Tx", "is not Type:id");
	route_bad("GET /x a.b 1T:x", "resource type '1T' is not a type name");
	route_bad("GET /x a.b T:", "empty id");
	route_bad("GET /x a.b :x", "resource type '' is not a type name");
	route_bad("GET /{id} a.b T:{nope}", "placeholder {nope} is not a parameter");
	route_bad("GET /{id} a.b T:{id", "does not start a {name} placeholder");
	route_bad("GET /{id} a.b T:a}b", "has '}'");
	route_bad("GET /{id} a.b T:{ID}", "does not start a {name} placeholder");
	route_bad("GET /x a.b T:x stale=closed", "expected stale=open");
	route_bad("GET /x a.b T:x stale=open stale=open", "stale=open is given twice");
	route_bad("GET /x a.b T:x fresh=1", "unknown option 'fresh=1': expected stale=open or inject=");
	route_bad("GET /x a.b T:x extra", "unknown option 'extra'");
	route_bad("GET /x a.b T:x inject=Authorization:vault:erp-admin", "inject source 'vault' is not supported");
	route_bad("GET /x a.b T:x inject=A:secret:", "inject secret '' is not a secret name");
	route_bad("GET /x a.b T:x inject=A:secret:..", "is not a secret name");
	route_bad("GET /x a.b T:x inject=A:secret:a/b", "is not a secret name");
	route_bad("GET /x a.b T:x inject=A:secret:a:b", "is not a secret name");
	route_bad("GET /x a.b T:x inject=A:file:/p inject=a:secret:q", "inject header 'a' is given twice");
	route_bad("GET /x a.b T:x inject=Authorization", "is not inject=HEADER:file:PATH");
	route_bad("GET /x a.b T:x inject=Bad Header:file:/p", "inject=Bad is not inject=HEADER:file:PATH");
	route_bad("GET /x a.b T:x inject=Bad(:file:/p", "is not a header name token");
	route_bad("GET /x a.b T:x inject=:file:/p", "is not a header name token");
	route_bad("GET /x a.b T:x inject=X-Tollgate-Subject:file:/p", "X-Tollgate-* headers are the edge's own");
	route_bad("GET /x a.b T:x inject=A:file:relative", "not an absolute path");
	route_bad("GET /x a.b T:x inject=A:file:", "not an absolute path");
	route_bad("GET /x a.b T:x inject=A:file:/p inject=a:file:/q", "inject header 'a' is given twice");
	route_bad("GET /x a.b T:x inject=A:file:/1 inject=B:file:/2 inject=C:file:/3 inject=D:file:/4 "
		  "inject=E:file:/5",
		  "more than 4 inject= options");
	route_bad("GET /x a.b T:a#b", "'#' and '\"' are not allowed");
	route_bad("GET /x a.b T:\"x\"", "'#' and '\"' are not allowed");
}

static void test_parse_bounds(void **state)
{
	char line[2048], seg[TG_EDGE_MAX_PATTERN + 2];
	edge_route_t r;
	/* 32 segments are fine, 33 are not */
	strcpy(line, "GET ");
	for (int i = 0; i < TG_EDGE_MAX_SEGMENTS; i++)
		strcat(line, "/s");
	strcat(line, " a.b T:x");
	route_ok(&r, line);
	assert_int_equal(r.n_seg, TG_EDGE_MAX_SEGMENTS);
	strcpy(line, "GET /s");
	for (int i = 0; i < TG_EDGE_MAX_SEGMENTS; i++)
		strcat(line, "/s");
	strcat(line, " a.b T:x");
	route_bad(line, "more than 32 segments");
	/* pattern length */
	memset(seg, 'a', sizeof seg - 1);
	seg[0] = '/';
	seg[sizeof seg - 1] = '\0';
	snprintf(line, sizeof line, "GET %s a.b T:x", seg);
	route_bad(line, "pattern is longer than 512 bytes");
	seg[TG_EDGE_MAX_PATTERN] = '\0';
	snprintf(line, sizeof line, "GET %s a.b T:x", seg);
	route_ok(&r, line);
	/* action@resource must fit a scope token */
	char id[300];
	memset(id, 'i', 250);
	id[250] = '\0';
	snprintf(line, sizeof line, "GET /x a.b T:%s", id);
	route_ok(&r, line); /* 3 + 1 + 1 + 1 + 250 = 256 */
	snprintf(line, sizeof line, "GET /x a.bc T:%s", id);
	route_bad(line, "longer than a scope token");
	snprintf(line, sizeof line, "GET /{p} a.b T:%.249s{p}", id);
	route_ok(&r, line); /* a placeholder counts as at least one byte */
	snprintf(line, sizeof line, "GET /{p} a.b T:%s{p}", id);
	route_bad(line, "longer than a scope token");
}

static void test_render_round_trip(void **state)
{
	static const char *const lines[] = {
		"GET /orders/{id} orders.read Order:{id}",
		"* /admin/* admin.any Api:admin stale=open inject=Authorization:file:/etc/k inject=X-B:file:/b",
		"POST / a.b T:x",
		NULL,
	};
	for (const char *const *l = lines; *l; l++) {
		edge_route_t r, back;
		char buf[1024], again[1024];
		route_ok(&r, *l);
		size_t n = edge_route_render(&r, buf, sizeof buf);
		assert_int_equal(n, strlen(buf));
		assert_string_equal(buf, *l);
		route_ok(&back, buf);
		edge_route_render(&back, again, sizeof again);
		assert_string_equal(again, buf);
		assert_int_equal(back.n_seg, r.n_seg);
		for (size_t i = 0; i < r.n_seg; i++)
			assert_int_equal(back.seg[i].kind, r.seg[i].kind);
	}
	/* truncation reports the full length */
	edge_route_t r;
	char small[8];
	route_ok(&r, lines[0]);
	assert_int_equal(edge_route_render(&r, small, sizeof small), strlen(lines[0]));
	assert_int_equal(strlen(small), 7);
}

/* ---- matching ------------------------------------------------------------ */

static void test_match_basic(void **state)
{
	match_ok("GET", "/orders/42", 0, "orders.read@Order:42");
	match_ok("GET", "/orders/42?x=1&y=/../..", 0, "orders.read@Order:42");
	match_ok("GET", "/orders/42#frag", 0, "orders.read@Order:42");
	match_ok("POST", "/orders", 1, "orders.create@Api:orders");
	match_ok("GET", "/tenants/acme/orders/7", 3, "orders.read@Order:acme-7");
	match_ok("GET", "/", 4, "home.read@Api:home");
	match_ok("GET", "/?q", 4, "home.read@Api:home");
	match_ok("GET", "/health/", 5, "health.read@Api:health");
}

static void test_match_fills_parts(void **state)
{
	size_t n;
	edge_route_t *t = table(demo, &n);
	edge_match_t m;
	assert_int_equal(edge_route_match(t, n, "GET", "/tenants/a%2Db/orders/x%3Ay", &m), EDGE_ROUTE_MATCH);
	assert_int_equal(m.route, 3);
	assert_string_equal(m.action, "orders.read");
	assert_string_equal(m.resource_type, "Order");
	assert_string_equal(m.resource_id, "a-b-x:y");
	assert_string_equal(m.scope, "orders.read@Order:a-b-x:y");
	free(t);
}

static void test_match_methods(void **state)
{
	match_refused("DELETE", "/orders/42", EDGE_ROUTE_NONE, "no route");
	match_refused("get", "/orders/42", EDGE_ROUTE_NONE, "no route"); /* case-sensitive */
	match_refused("POST", "/orders/42", EDGE_ROUTE_NONE, "no route");
	match_ok("DELETE", "/admin/users/1", 2, "admin.any@Api:admin");
	match_ok("PATCH", "/admin/", 2, "admin.any@Api:admin");
	match_refused("GE T", "/orders/1", EDGE_ROUTE_BAD_PATH, "method");
	match_refused("", "/orders/1", EDGE_ROUTE_BAD_PATH, "method");
	match_refused("GETGETGETGETGETGETGETGETGETGETGET", "/orders/1", EDGE_ROUTE_BAD_PATH, "method");
}

static void test_match_rest(void **state)
{
	match_ok("GET", "/admin/", 2, "admin.any@Api:admin");
	match_ok("GET", "/admin/a/b/c/", 2, "admin.any@Api:admin");
	match_refused("GET", "/admin", EDGE_ROUTE_NONE, "no route");
	match_refused("GET", "/administrator", EDGE_ROUTE_NONE, "no route");
	match_refused("GET", "/admin/../orders/1", EDGE_ROUTE_BAD_PATH, "'.' or '..'");
}

static void test_match_exact_segments(void **state)
{
	match_refused("GET", "/orders/", EDGE_ROUTE_NONE, "no route");    /* {id} is never empty */
	match_refused("GET", "/orders/42/", EDGE_ROUTE_NONE, "no route"); /* trailing slash differs */
	match_refused("GET", "/orders/42/x", EDGE_ROUTE_NONE, "no route");
	match_refused("POST", "/orders/", EDGE_ROUTE_NONE, "no route");
	match_refused("GET", "/health", EDGE_ROUTE_NONE, "no route");
	match_refused("GET", "/Orders/42", EDGE_ROUTE_NONE, "no route");
	match_ok("GET", "/%6Frders/42", 0, "orders.read@Order:42"); /* decoded before comparing */
}

static void test_match_first_route_wins(void **state)
{
	static const char *const lines[] = {
		"GET /a/{x} first.read T:{x}",
		"GET /a/b second.read T:b",
		"* /* any.any T:all",
		NULL,
	};
	size_t n;
	edge_route_t *t = table(lines, &n);
	edge_match_t m;
	assert_int_equal(edge_route_match(t, n, "GET", "/a/b", &m), EDGE_ROUTE_MATCH);
	assert_int_equal(m.route, 0);
	assert_int_equal(edge_route_match(t, n, "PUT", "/a/b", &m), EDGE_ROUTE_MATCH);
	assert_int_equal(m.route, 2);
	assert_int_equal(edge_route_match(t, n, "GET", "/", &m), EDGE_ROUTE_MATCH);
	assert_int_equal(m.route, 2);
	/* the first matching route decides even when its resource cannot be
	 * formed: the catch-all is not tried */
	assert_int_equal(edge_route_match(t, n, "GET", "/a/x%20y", &m), EDGE_ROUTE_BAD_PATH);
	assert_int_equal(m.route, 0);
	tu_assert_why(m.why, "not a valid resource id");
	assert_int_equal(edge_route_match(t, 0, "GET", "/a/b", &m), EDGE_ROUTE_NONE);
	free(t);
}

static void test_match_hostile_paths(void **state)
{
	static const struct {
		const char *path, *needle;
	} bad[] = {
		{"/orders/..", "'.' or '..'"},
		{"/orders/.", "'.' or '..'"},
		{"/orders/%2e%2e", "'.' or '..'"},
		{"/orders/%2E%2e", "'.' or '..'"},
		{"/orders/.%2e", "'.' or '..'"},
		{"/orders/..;/admin", "'.' or '..'"},
		{"/orders/%2e%2e%3bx", "'.' or '..'"},
		{"/admin/../x", "'.' or '..'"},
		{"/orders/a%2Fb", "encoded '/'"},
		{"/orders/a%2fb", "encoded '/'"},
		{"/orders/a%5cb", "encoded backslash"},
		{"/orders/a\\b", "backslash"},
		{"/orders/a%00", "control character"},
		{"/orders/a%0d%0a", "control character"},
		{"/orders/a%7F", "control character"},
		{"/orders/a%252e", "twice"},
		{"/orders/a%2", "malformed percent-encoding"},
		{"/orders/a%", "malformed percent-encoding"},
		{"/orders/a%zz", "malformed percent-encoding"},
		{"/orders/a%%41", "malformed percent-encoding"},
		{"//orders/1", "empty segment"},
		{"/orders//1", "empty segment"},
		{"/admin//x", "empty segment"},
		{"/orders/a b", "control character or a space"},
		{"/orders/a\tb", "control character or a space"},
		{"/orders/a\x7f", "control character or a space"},
		{"orders/1", "does not start with '/'"},
		{"", "does not start with '/'"},
		{"?/orders/1", "does not start with '/'"},
		{"http://x/orders/1", "does not start with '/'"},
		{"*", "does not start with '/'"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		match_refused("GET", bad[i].path, EDGE_ROUTE_BAD_PATH, bad[i].needle);
}

static void test_match_params_must_be_ids(void **state)
{
	/* decoded characters a scope id cannot hold: the route matched, its
	 * resource cannot be formed */
	match_refused("GET", "/orders/a%20b", EDGE_ROUTE_BAD_PATH, "not a valid resource id");
	match_refused("GET", "/orders/%22", EDGE_ROUTE_BAD_PATH, "not a valid resource id");
	match_refused("GET", "/orders/\xc3\xa9", EDGE_ROUTE_BAD_PATH, "not a valid resource id");
	match_refused("GET", "/orders/%C3%A9", EDGE_ROUTE_BAD_PATH, "not a valid resource id");
	/* but ':' and '@' may be in an id */
	match_ok("GET", "/orders/a:b@c", 0, "orders.read@Order:a:b@c");
	/* bad UTF-8 passes as bytes where nothing needs an id */
	match_refused("GET", "/\xff\xfe/x", EDGE_ROUTE_NONE, "no route");
	match_ok("GET", "/admin/\xff%C0%80", 2, "admin.any@Api:admin");
}

static void test_match_oversize(void **state)
{
	size_t n;
	edge_route_t *t = table(demo, &n);
	edge_match_t m;
	char *p = malloc(TG_MAX_URI + 2);
	assert_non_null(p);
	/* a long id: too long for a scope token */
	memset(p, 'a', TG_MAX_URI);
	memcpy(p, "/orders/", 8);
	p[TG_MAX_URI] = '\0';
	assert_int_equal(edge_route_match(t, n, "GET", p, &m), EDGE_ROUTE_BAD_PATH);
	tu_assert_why(m.why, "too long");
	/* exactly TG_MAX_URI under /admin/ is fine; one more byte is not */
	memcpy(p, "/admin/a", 8);
	assert_int_equal(edge_route_match(t, n, "GET", p, &m), EDGE_ROUTE_MATCH);
	p[TG_MAX_URI] = 'a';
	p[TG_MAX_URI + 1] = '\0';
	assert_int_equal(edge_route_match(t, n, "GET", p, &m), EDGE_ROUTE_BAD_PATH);
	tu_assert_why(m.why, "too long");
	/* the query counts towards the bound too */
	memcpy(p, "/admin/x?", 9);
	assert_int_equal(edge_route_match(t, n, "GET", p, &m), EDGE_ROUTE_BAD_PATH);
	/* too many segments */
	for (size_t i = 0; i < TG_MAX_URI; i += 2)
		memcpy(p + i, "/a", 2);
	p[TG_MAX_URI] = '\0';
	assert_int_equal(edge_route_match(t, n, "GET", p, &m), EDGE_ROUTE_BAD_PATH);
	tu_assert_why(m.why, "too many segments");
	/* 256 segments are fine */
	strcpy(p, "/admin");
	for (int i = 1; i < TG_EDGE_MAX_PATH_SEGMENTS; i++)
		strcat(p, "/a");
	assert_int_equal(edge_route_match(t, n, "GET", p, &m), EDGE_ROUTE_MATCH);
	free(p);
	free(t);
}

static void test_match_null_input(void **state)
{
	edge_match_t m;
	assert_int_equal(edge_route_match(NULL, 0, NULL, "/", &m), EDGE_ROUTE_BAD_PATH);
	assert_int_equal(edge_route_match(NULL, 0, "GET", NULL, &m), EDGE_ROUTE_BAD_PATH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_parse_inject_secret),
		cmocka_unit_test(test_parse_patterns),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_render_round_trip),
		cmocka_unit_test(test_match_basic),
		cmocka_unit_test(test_match_fills_parts),
		cmocka_unit_test(test_match_methods),
		cmocka_unit_test(test_match_rest),
		cmocka_unit_test(test_match_exact_segments),
		cmocka_unit_test(test_match_first_route_wins),
		cmocka_unit_test(test_match_hostile_paths),
		cmocka_unit_test(test_match_params_must_be_ids),
		cmocka_unit_test(test_match_oversize),
		cmocka_unit_test(test_match_null_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
