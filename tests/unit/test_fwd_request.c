/* test_fwd_request.c - the forward-auth request (src/core/fwd_request.c):
 * nginx and Caddy/Traefik conventions, the token and its scheme (missing
 * vs malformed), DPoP proofs (one header only), the htu, the client
 * address behind trusted proxies and X-Forwarded-For spoofing from an
 * untrusted peer, trusted_proxies itself, and X-Client-Cert thumbprints
 * (checked against openssl's). */
#include "test_util.h"
#include "core/fwd_request.h"
#include "core/limits.h"
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* A self-signed Ed25519 certificate made with `openssl req -x509`, and its
 * x5t#S256 computed by openssl:
 *   openssl x509 -outform der | openssl dgst -sha256 -binary | basenc --base64url */
#define CERT_PEM                                                                  \
	"-----BEGIN CERTIFICATE-----\n"                                           \
	"MIIBNDCB56ADAgECAhQA557Wkf5KGV75YPDqz9QZY0vZEzAFBgMrZXAwEDEOMAwG\n"      \
	"A1UEAwwFc3ZjLWEwHhcNMjYxMjA2MDk1OTM4WhcNMzYxMjAzMDk1OTM4WjAQMQ4w\n"      \
	"DAYDVQQDDAVzdmMtYTAqMAUGAytlcAMhAOkp5Tbe8QOxx6Lc0QFhZa87jVvN2y7G\n"      \
	"Skxh2PcenjFpo1MwUTAdBgNVHQ4EFgQUJz9Gx8jR2X3Svonv6RDRHa206TQwHwYD\n"      \
	"VR0jBBgwFoAUJz9Gx8jR2X3Svonv6RDRHa206TQwDwYDVR0TAQH/BAUwAwEB/zAF\n"      \
	"BgMrZXADQQA0vMT6hmYghLJWSV/csZOsQLMwJ9Y/piCVE96l11tgg4dSpweI4cAe\n"      \
	"6ZVOI5PVTtIP0XUw/N/T+azV+0kViSMA\n"                                      \
	"-----END CERTIFICATE-----\n"
#define CERT_X5T "3GKzOd_mQDb2QfPE_nASd1oMxNieZ7tXK_7m2b8BcJQ"

#define TOKEN "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJzdmMtYSJ9.c2ln"
#define PROOF "eyJ0eXAiOiJkcG9wK2p3dCJ9.eyJodG0iOiJHRVQifQ.c2ln"

static struct sockaddr_storage peer_ss;

/* The peer address from text (IPv4 or IPv6). */
static const struct sockaddr *peer(const char *ip)
{
	memset(&peer_ss, 0, sizeof peer_ss);
	if (strchr(ip, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&peer_ss;
		s6->sin6_family = AF_INET6;
		assert_int_equal(inet_pton(AF_INET6, ip, &s6->sin6_addr), 1);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&peer_ss;
		s4->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, ip, &s4->sin_addr), 1);
	}
	return (const struct sockaddr *)&peer_ss;
}

static fwd_proxies_t proxies(const char *text)
{
	fwd_proxies_t p;
	char err[200] = "";
	if (fwd_proxies_parse(text, &p, err, sizeof err) != 0)
		fail_msg("trusted_proxies refused: %s", err);
	return p;
}

/* What nginx's auth_request sends for GET /orders/42?x=1 from 127.0.0.1. */
static fwd_input_t nginx(void)
{
	return (fwd_input_t){
		.authorization = "Bearer " TOKEN,
		.x_original_method = "GET",
		.x_original_uri = "/orders/42?x=1",
		.host = "api.example.com",
		.peer = peer("127.0.0.1"),
	};
}

static fwd_request_t *req;
static const fwd_proxies_t *local;

static int setup(void **state)
{
	static fwd_proxies_t p;
	p = proxies("127.0.0.1/32,::1/128");
	local = &p;
	req = malloc(sizeof *req);
	return req == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	free(req);
	return 0;
}

static void parse_ok(const fwd_input_t *in, const fwd_proxies_t *t)
{
	const char *why = NULL;
	fwd_status_t st = fwd_request_parse(in, t, req, &why);
	if (st != FWD_OK)
		fail_msg("refused (%d): %s", st, why);
	assert_null(why);
}

static void parse_bad(const fwd_input_t *in, const fwd_proxies_t *t, fwd_status_t want, const char *needle)
{
	const char *why = NULL;
	fwd_status_t st = fwd_request_parse(in, t, req, &why);
	if (st != want)
		fail_msg("got %d, want %d (%s)", st, want, why ? why : "ok");
	tu_assert_why(why, needle);
}

/* ---- the token ----------------------------------------------------------- */

static void test_bearer(void **state)
{
	fwd_input_t in = nginx();
	parse_ok(&in, local);
	assert_int_equal(req->scheme, FWD_BEARER);
	assert_int_equal(req->token_len, strlen(TOKEN));
	assert_memory_equal(req->token, TOKEN, req->token_len);
	assert_ptr_equal(req->token, in.authorization + 7);
	assert_null(req->dpop);
	assert_string_equal(req->method, "GET");
	assert_string_equal(req->target, "/orders/42?x=1");
	assert_int_equal(req->path_len, 10);
	assert_string_equal(req->htu, "http://api.example.com/orders/42");
	assert_string_equal(req->src_ip_text, "127.0.0.1");
	assert_true(req->via_proxy);
	assert_string_equal(req->x5t, "");
	assert_null(req->cert_why);
}

static void test_scheme_case_insensitive(void **state)
{
	static const char *const ok[] = {"bearer " TOKEN, "BEARER " TOKEN, "BeArEr " TOKEN};
	fwd_input_t in = nginx();
	for (size_t i = 0; i < 3; i++) {
		in.authorization = ok[i];
		parse_ok(&in, local);
		assert_int_equal(req->scheme, FWD_BEARER);
	}
	in.authorization = "dpop " TOKEN;
	in.dpop = PROOF;
	parse_ok(&in, local);
	assert_int_equal(req->scheme, FWD_DPOP);
	assert_int_equal(req->dpop_len, strlen(PROOF));
}

static void test_missing_token(void **state)
{
	static const char *const missing[] = {NULL, "", "Basic dXNlcjpwYXNz", "Bearerx " TOKEN, "Negotiate abc",
					      "Token " TOKEN, " Bearer " TOKEN};
	fwd_input_t in = nginx();
	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		in.authorization = missing[i];
		parse_bad(&in, local, FWD_NO_TOKEN, "missing bearer token");
		assert_null(req->token);
	}
}

static void test_malformed_token(void **state)
{
	static const char *const bad[] = {
		"Bearer",         "Bearer ",           "Bearer  " TOKEN,   "Bearer " TOKEN " ", "Bearer\t" TOKEN,
		"Bearer to ken",  "Bearer tok=en",     "Bearer =abc",      "Bearer a,b",        "Bearer a\"b",
		"Bearer tok\xc3\xa9", "DPoP",          "DPoP  " TOKEN,     "Bearer " TOKEN "\r",
	};
	fwd_input_t in = nginx();
	in.dpop = PROOF;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		in.authorization = bad[i];
		parse_bad(&in, local, FWD_BAD_TOKEN, "malformed Authorization header");
		assert_null(req->token);
	}
	/* token68 allows these, with '=' padding only at the end */
	in.authorization = "Bearer aZ09-._~+/==";
	parse_ok(&in, local);
	assert_int_equal(req->token_len, 12);
	/* sent twice */
	in.authorization = "Bearer " TOKEN;
	in.authorization_count = 2;
	parse_bad(&in, local, FWD_BAD_TOKEN, "more than once");
}

static void test_token_length(void **state)
{
	char *a = malloc(TG_MAX_JWT_LEN + 16);
	assert_non_null(a);
	strcpy(a, "Bearer ");
	memset(a + 7, 'a', TG_MAX_JWT_LEN);
	a[7 + TG_MAX_JWT_LEN] = '\0';
	fwd_input_t in = nginx();
	in.authorization = a;
	parse_ok(&in, local);
	assert_int_equal(req->token_len, TG_MAX_JWT_LEN);
	a[7 + TG_MAX_JWT_LEN] = 'a';
	a[8 + TG_MAX_JWT_LEN] = '\0';
	parse_bad(&in, local, FWD_BAD_TOKEN, "at most 8192 bytes");
	free(a);
}

/* ---- DPoP ---------------------------------------------------------------- */

static void test_dpop_proof(void **state)
{
	fwd_input_t in = nginx();
	in.authorization = "DPoP " TOKEN;
	in.dpop = PROOF;
	in.dpop_count = 1;
	parse_ok(&in, local);
	assert_ptr_equal(req->dpop, in.dpop);
	/* two DPoP headers */
	in.dpop_count = 2;
	parse_bad(&in, local, FWD_BAD_DPOP, "more than one DPoP header");
	in.dpop = NULL; /* counted but no value kept */
	parse_bad(&in, local, FWD_BAD_DPOP, "more than one DPoP header");
	/* the DPoP scheme needs a proof */
	in.dpop_count = 0;
	parse_bad(&in, local, FWD_BAD_DPOP, "without a DPoP proof");
	/* a proof must look like a compact JWS */
	static const char *const bad[] = {"", "abc", "a.b", "a.b.c.d", "a.b.c=", "a.b.c ", "a+b.c.d", "a.b.\xc3\xa9"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		in.dpop = bad[i];
		parse_bad(&in, local, FWD_BAD_DPOP, "not a compact JWS");
	}
	/* a Bearer token with a proof: passed on for the edge to judge */
	in.authorization = "Bearer " TOKEN;
	in.dpop = PROOF;
	parse_ok(&in, local);
	assert_int_equal(req->scheme, FWD_BEARER);
	assert_non_null(req->dpop);
	/* a missing token wins over a bad proof */
	in.authorization = NULL;
	in.dpop_count = 2;
	parse_bad(&in, local, FWD_NO_TOKEN, "missing bearer token");
}

static void test_dpop_length(void **state)
{
	char *p = malloc(TG_MAX_JWT_LEN + 2);
	assert_non_null(p);
	memset(p, 'a', TG_MAX_JWT_LEN + 1);
	p[1] = p[3] = '.';
	p[TG_MAX_JWT_LEN] = '\0';
	fwd_input_t in = nginx();
	in.dpop = p;
	parse_ok(&in, local);
	p[TG_MAX_JWT_LEN] = 'a';
	p[TG_MAX_JWT_LEN + 1] = '\0';
	parse_bad(&in, local, FWD_BAD_DPOP, "at most 8192 bytes");
	free(p);
}

/* ---- the original request ------------------------------------------------ */

static void test_caddy_convention(void **state)
{
	fwd_input_t in = nginx();
	in.x_original_method = in.x_original_uri = NULL;
	in.x_forwarded_method = "POST";
	in.x_forwarded_uri = "/orders";
	in.x_forwarded_proto = "https";
	in.x_forwarded_host = "shop.example";
	parse_ok(&in, local);
	assert_string_equal(req->method, "POST");
	assert_string_equal(req->target, "/orders");
	assert_int_equal(req->path_len, 7);
	assert_string_equal(req->htu, "https://shop.example/orders");
}

static void test_original_request_refused(void **state)
{
	fwd_input_t in = nginx();
	in.x_original_method = in.x_original_uri = NULL;
	parse_bad(&in, local, FWD_BAD_REQUEST, "is the proxy configured for forward-auth?");
	in.authorization = NULL; /* a broken proxy shows before a missing token */
	parse_bad(&in, local, FWD_BAD_REQUEST, "is the proxy configured");
	in = nginx();
	in.x_original_uri = NULL;
	parse_bad(&in, local, FWD_BAD_REQUEST, "must come together");
	in = nginx();
	in.x_forwarded_uri = "/orders/42?x=1";
	parse_bad(&in, local, FWD_BAD_REQUEST, "X-Forwarded-Method and X-Forwarded-Uri must come together");
	/* a client behind nginx sends its own X-Forwarded-* pair */
	in.x_forwarded_method = "GET";
	in.x_forwarded_uri = "/public/x";
	parse_bad(&in, local, FWD_BAD_REQUEST, "name different requests");
	in.x_forwarded_method = "POST";
	in.x_forwarded_uri = "/orders/42?x=1";
	parse_bad(&in, local, FWD_BAD_REQUEST, "name different requests");
	in.x_forwarded_method = "GET"; /* the same request twice is fine */
	parse_ok(&in, local);

	static const char *const methods[] = {"", "G T", "GET\r\n", "GETGETGETGETGETGETGETGETGETGETGET", "(GET)"};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		in = nginx();
		in.x_original_method = methods[i];
		parse_bad(&in, local, FWD_BAD_REQUEST, "not an HTTP method token");
	}
	static const struct {
		const char *uri, *needle;
	} uris[] = {
		{"", "does not start with '/'"},
		{"orders/1", "does not start with '/'"},
		{"http://evil/orders/1", "does not start with '/'"},
		{"*", "does not start with '/'"},
		{"/orders/1 HTTP/1.1", "control character or a space"},
		{"/orders/1\r\nX-Evil: 1", "control character or a space"},
		{"/a\x7f", "control character or a space"},
	};
	for (size_t i = 0; i < sizeof uris / sizeof uris[0]; i++) {
		in = nginx();
		in.x_original_uri = uris[i].uri;
		parse_bad(&in, local, FWD_BAD_REQUEST, uris[i].needle);
	}
	/* bytes >= 0x80 pass through as they are */
	in = nginx();
	in.x_original_uri = "/caf\xc3\xa9/\xff";
	parse_ok(&in, local);
	assert_string_equal(req->target, "/caf\xc3\xa9/\xff");
}

static void test_target_length(void **state)
{
	char *u = malloc(TG_MAX_URI + 2);
	assert_non_null(u);
	memset(u, 'a', TG_MAX_URI + 1);
	u[0] = '/';
	u[TG_MAX_URI] = '\0';
	fwd_input_t in = nginx();
	in.x_original_uri = u;
	parse_ok(&in, local);
	assert_int_equal(strlen(req->target), TG_MAX_URI);
	assert_int_equal(strlen(req->htu), strlen("http://api.example.com") + TG_MAX_URI);
	u[TG_MAX_URI] = 'a';
	u[TG_MAX_URI + 1] = '\0';
	parse_bad(&in, local, FWD_BAD_REQUEST, "too long");
	free(u);
}

static void test_htu(void **state)
{
	static const struct {
		const char *proto, *fhost, *host, *want;
	} v[] = {
		{NULL, NULL, "api.example.com", "http://api.example.com/orders/42"},
		{"https", NULL, "API.Example.COM", "https://api.example.com/orders/42"},
		{"HTTPS", "shop.example:443", "127.0.0.1:8421", "https://shop.example/orders/42"},
		{"http", "shop.example:80", NULL, "http://shop.example/orders/42"},
		{"https", "shop.example:80", NULL, "https://shop.example:80/orders/42"},
		{"http", "shop.example:8080", NULL, "http://shop.example:8080/orders/42"},
		{"https", "[::1]:443", NULL, "https://[::1]/orders/42"},
		{"https", "[2001:DB8::1]:8443", NULL, "https://[2001:db8::1]:8443/orders/42"},
		{"https", "10.0.0.1", NULL, "https://10.0.0.1/orders/42"},
		{NULL, NULL, NULL, ""},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		fwd_input_t in = nginx();
		in.x_forwarded_proto = v[i].proto;
		in.x_forwarded_host = v[i].fhost;
		in.host = v[i].host;
		parse_ok(&in, local);
		assert_string_equal(req->htu, v[i].want);
	}
	/* the fragment is never part of it either */
	fwd_input_t in = nginx();
	in.x_original_uri = "/a#b?c";
	parse_ok(&in, local);
	assert_string_equal(req->htu, "http://api.example.com/a");
}

static void test_htu_refused(void **state)
{
	static const struct {
		const char *proto, *fhost, *host, *needle;
	} v[] = {
		{"ftp", NULL, "h", "X-Forwarded-Proto is not http or https"},
		{"https,http", NULL, "h", "X-Forwarded-Proto"},
		{"", NULL, "h", "X-Forwarded-Proto"},
		{NULL, "a b", "h", "X-Forwarded-Host is not"},
		{NULL, "a.example, b.example", "h", "X-Forwarded-Host is not"},
		{NULL, "", "h", "X-Forwarded-Host is not"},
		{NULL, "h:", NULL, "X-Forwarded-Host is not"},
		{NULL, "h:123456", NULL, "X-Forwarded-Host is not"},
		{NULL, "h:1:2", NULL, "X-Forwarded-Host is not"},
		{NULL, "user@h", NULL, "X-Forwarded-Host is not"},
		{NULL, "[::1", NULL, "X-Forwarded-Host is not"},
		{NULL, "[]", NULL, "X-Forwarded-Host is not"},
		{NULL, "[::g]", NULL, "X-Forwarded-Host is not"},
		{NULL, "h/x", NULL, "X-Forwarded-Host is not"},
		{NULL, NULL, "h\r\nx", "Host is not"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		fwd_input_t in = nginx();
		in.x_forwarded_proto = v[i].proto;
		in.x_forwarded_host = v[i].fhost;
		in.host = v[i].host;
		parse_bad(&in, local, FWD_BAD_REQUEST, v[i].needle);
	}
	char host[TG_EDGE_MAX_HOST + 2];
	memset(host, 'h', sizeof host - 1);
	host[sizeof host - 1] = '\0';
	fwd_input_t in = nginx();
	in.host = host;
	parse_bad(&in, local, FWD_BAD_REQUEST, "Host is not");
	host[TG_EDGE_MAX_HOST] = '\0';
	parse_ok(&in, local);
}

/* ---- the client address -------------------------------------------------- */

static void src_is(const fwd_input_t *in, const fwd_proxies_t *t, const char *want)
{
	parse_ok(in, t);
	assert_string_equal(req->src_ip_text, want);
}

static void test_src_ip_untrusted_peer_ignores_headers(void **state)
{
	fwd_input_t in = nginx();
	in.peer = peer("203.0.113.9");
	in.x_forwarded_for = "127.0.0.1";
	in.x_real_ip = "10.0.0.1";
	src_is(&in, local, "203.0.113.9");
	assert_false(req->via_proxy);
	in.x_forwarded_for = "garbage, not an address";
	in.x_real_ip = "also garbage";
	src_is(&in, local, "203.0.113.9");
	in.peer = peer("2001:db8::7");
	src_is(&in, local, "2001:db8::7");
	/* nothing is trusted at all */
	fwd_proxies_t none = proxies("");
	in.peer = peer("127.0.0.1");
	src_is(&in, &none, "127.0.0.1");
	assert_false(req->via_proxy);
}

static void test_src_ip_from_xff(void **state)
{
	fwd_input_t in = nginx();
	in.x_forwarded_for = "198.51.100.4";
	src_is(&in, local, "198.51.100.4");
	assert_true(req->via_proxy);
	/* the right-most entry not itself a trusted proxy */
	in.x_forwarded_for = "6.6.6.6, 198.51.100.4";
	src_is(&in, local, "198.51.100.4");
	in.x_forwarded_for = "6.6.6.6,198.51.100.4, 127.0.0.1 ,::1";
	src_is(&in, local, "198.51.100.4");
	/* what a client wrote left of it is never read */
	in.x_forwarded_for = "not-an-ip, 1.2.3.4/8, 198.51.100.4";
	src_is(&in, local, "198.51.100.4");
	/* all trusted: the left-most */
	in.x_forwarded_for = "127.0.0.1, ::1";
	src_is(&in, local, "127.0.0.1");
	/* X-Real-IP is read only without X-Forwarded-For */
	in.x_real_ip = "192.0.2.1";
	src_is(&in, local, "127.0.0.1");
	in.x_forwarded_for = NULL;
	src_is(&in, local, "192.0.2.1");
	in.x_forwarded_for = " ";
	src_is(&in, local, "192.0.2.1");
	in.x_real_ip = NULL;
	src_is(&in, local, "127.0.0.1");
}

static void test_src_ip_forms(void **state)
{
	static const struct {
		const char *entry, *want;
	} v[] = {
		{"198.51.100.4:5678", "198.51.100.4"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"::ffff:198.51.100.4", "198.51.100.4"},
		{"::FFFF:198.51.100.4", "198.51.100.4"},
		{"\t198.51.100.4\t", "198.51.100.4"},
	};
	fwd_input_t in = nginx();
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		in.x_forwarded_for = v[i].entry;
		src_is(&in, local, v[i].want);
		in.x_forwarded_for = NULL;
		in.x_real_ip = v[i].entry;
		src_is(&in, local, v[i].want);
		in.x_real_ip = NULL;
	}
}

static void test_src_ip_refused(void **state)
{
	static const char *const bad[] = {
		"unknown", "unix:", "198.51.100.4/32", "198.51.100.4:", "198.51.100.4:123456", "[2001:db8::1",
		"[2001:db8::1]x", "1.2.3", "1.2.3.4.5", "01.2.3.4", "", "1.2.3.4 5.6.7.8", "::ffff:1.2.3",
	};
	fwd_input_t in = nginx();
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char xff[64];
		snprintf(xff, sizeof xff, "198.51.100.9, %s", bad[i]);
		in.x_forwarded_for = xff;
		parse_bad(&in, local, FWD_BAD_REQUEST, "X-Forwarded-For");
		in.x_forwarded_for = NULL;
		if (bad[i][0] != '\0') {
			in.x_real_ip = bad[i];
			parse_bad(&in, local, FWD_BAD_REQUEST, "X-Real-IP");
			in.x_real_ip = NULL;
		}
	}
	/* an empty entry between trusted ones */
	in.x_forwarded_for = "198.51.100.9,,127.0.0.1";
	parse_bad(&in, local, FWD_BAD_REQUEST, "X-Forwarded-For");
	/* oversized */
	char *big = malloc(TG_MAX_HEADER_VALUE + 2);
	assert_non_null(big);
	memset(big, ' ', TG_MAX_HEADER_VALUE + 1);
	big[TG_MAX_HEADER_VALUE + 1] = '\0';
	memcpy(big, "1.2.3.4", 7);
	in.x_forwarded_for = big;
	parse_bad(&in, local, FWD_BAD_REQUEST, "X-Forwarded-For is too long");
	free(big);
	char rip[80];
	memset(rip, ' ', sizeof rip - 1);
	rip[sizeof rip - 1] = '\0';
	memcpy(rip, "1.2.3.4", 7);
	in.x_forwarded_for = NULL;
	in.x_real_ip = rip;
	parse_bad(&in, local, FWD_BAD_REQUEST, "X-Real-IP");
}

static void test_src_ip_custom_proxies(void **state)
{
	fwd_proxies_t t = proxies("10.0.0.0/8, 2001:db8::/32");
	fwd_input_t in = nginx();
	in.peer = peer("10.1.2.3");
	in.x_forwarded_for = "198.51.100.4, 10.9.9.9";
	src_is(&in, &t, "198.51.100.4");
	in.peer = peer("2001:db8::5");
	src_is(&in, &t, "198.51.100.4");
	/* 127.0.0.1 is not trusted here */
	in.peer = peer("127.0.0.1");
	src_is(&in, &t, "127.0.0.1");
	/* an IPv4-mapped peer counts as IPv4 */
	in.peer = peer("::ffff:10.0.0.1");
	src_is(&in, &t, "198.51.100.4");
	in.peer = peer("::ffff:203.0.113.1");
	src_is(&in, &t, "203.0.113.1");
}

static void test_peer_refused(void **state)
{
	fwd_input_t in = nginx();
	in.peer = NULL;
	parse_bad(&in, local, FWD_BAD_REQUEST, "no IPv4 or IPv6 peer");
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	in.peer = (const struct sockaddr *)&un;
	parse_bad(&in, local, FWD_BAD_REQUEST, "no IPv4 or IPv6 peer");
}

static void test_proxies_parse(void **state)
{
	fwd_proxies_t p;
	char err[200] = "";
	assert_int_equal(fwd_proxies_parse("", &p, err, sizeof err), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(fwd_proxies_parse(" 10.0.0.0/8 ,\t192.168.1.1, fd00::/8", &p, err, sizeof err), 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.net[1].prefix, 32);
	static const char *const bad[] = {",", "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/8,,::1", "10.0.0.0/33",
					  "host.example", "10.0.0.0/8 ::1", "::ffff:1.2.3.4", " "};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (fwd_proxies_parse(bad[i], &p, err, sizeof err) == 0)
			fail_msg("accepted '%s'", bad[i]);
	char many[1024] = "";
	for (int i = 0; i <= TG_EDGE_MAX_PROXIES; i++)
		sprintf(many + strlen(many), "%s10.0.0.%d", i ? "," : "", i);
	assert_int_equal(fwd_proxies_parse(many, &p, err, sizeof err), -1);
	tu_assert_why(err, "more than 32 entries");
	*strrchr(many, ',') = '\0';
	assert_int_equal(fwd_proxies_parse(many, &p, err, sizeof err), 0);
	assert_int_equal(p.n, TG_EDGE_MAX_PROXIES);
}

/* ---- the client certificate ---------------------------------------------- */

/* Percent-encodes every byte but letters and digits (malloc'd). */
static char *url_encode(const char *s)
{
	char *out = malloc(3 * strlen(s) + 1), *p = out;
	assert_non_null(out);
	for (; *s; s++)
		p += sprintf(p, isalnum((unsigned char)*s) ? "%c" : "%%%02X", (unsigned char)*s);
	*p = '\0';
	return out;
}

static void test_client_cert(void **state)
{
	fwd_input_t in = nginx();
	in.x_client_cert = CERT_PEM;
	parse_ok(&in, local);
	assert_string_equal(req->x5t, CERT_X5T);
	assert_null(req->cert_why);
	/* nginx $ssl_client_escaped_cert */
	char *enc = url_encode(CERT_PEM);
	in.x_client_cert = enc;
	parse_ok(&in, local);
	assert_string_equal(req->x5t, CERT_X5T);
	free(enc);
	/* nginx $ssl_client_cert: lines after the first start with a tab */
	char folded[2048];
	size_t k = 0;
	for (const char *p = CERT_PEM; *p; p++) {
		folded[k++] = *p;
		if (*p == '\n' && p[1] != '\0')
			folded[k++] = '\t';
	}
	folded[k] = '\0';
	in.x_client_cert = folded;
	parse_ok(&in, local);
	assert_string_equal(req->x5t, CERT_X5T);
}

static void test_client_cert_not_used(void **state)
{
	static const struct {
		const char *cert, *needle;
	} v[] = {
		{"garbage", "not a PEM certificate"},
		{"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "not a PEM certificate"},
		{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "not a PEM certificate"},
		{"-----BEGIN PUBLIC KEY-----\nMAMCAQE=\n-----END PUBLIC KEY-----\n", "not a PEM certificate"},
		{"-----BEGIN%20CERTIFICATE%2", "malformed URL-encoding"},
		{"-----BEGIN CERTIFICATE-----\nMIIB\xff\n-----END CERTIFICATE-----\n", "not a PEM certificate"},
	};
	fwd_input_t in = nginx();
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		in.x_client_cert = v[i].cert;
		parse_ok(&in, local); /* the request goes on; only the binding is missing */
		assert_string_equal(req->x5t, "");
		tu_assert_why(req->cert_why, v[i].needle);
	}
	/* a minimal DER SEQUENCE is hashed */
	in.x_client_cert = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n";
	parse_ok(&in, local);
	assert_int_equal(strlen(req->x5t), FWD_X5T_LEN);
	/* from a peer that is not a trusted proxy: ignored */
	in.x_client_cert = CERT_PEM;
	in.peer = peer("203.0.113.9");
	parse_ok(&in, local);
	assert_string_equal(req->x5t, "");
	tu_assert_why(req->cert_why, "not a trusted proxy");
	/* empty: as if absent */
	in.peer = peer("127.0.0.1");
	in.x_client_cert = "";
	parse_ok(&in, local);
	assert_null(req->cert_why);
	/* oversized */
	char *big = malloc(TG_MAX_HEADER_VALUE + 2);
	assert_non_null(big);
	memset(big, 'A', TG_MAX_HEADER_VALUE + 1);
	big[TG_MAX_HEADER_VALUE + 1] = '\0';
	in.x_client_cert = big;
	parse_ok(&in, local);
	tu_assert_why(req->cert_why, "too long");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bearer),
		cmocka_unit_test(test_scheme_case_insensitive),
		cmocka_unit_test(test_missing_token),
		cmocka_unit_test(test_malformed_token),
		cmocka_unit_test(test_token_length),
		cmocka_unit_test(test_dpop_proof),
		cmocka_unit_test(test_dpop_length),
		cmocka_unit_test(test_caddy_convention),
		cmocka_unit_test(test_original_request_refused),
		cmocka_unit_test(test_target_length),
		cmocka_unit_test(test_htu),
		cmocka_unit_test(test_htu_refused),
		cmocka_unit_test(test_src_ip_untrusted_peer_ignores_headers),
		cmocka_unit_test(test_src_ip_from_xff),
		cmocka_unit_test(test_src_ip_forms),
		cmocka_unit_test(test_src_ip_refused),
		cmocka_unit_test(test_src_ip_custom_proxies),
		cmocka_unit_test(test_peer_refused),
		cmocka_unit_test(test_proxies_parse),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_client_cert_not_used),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
