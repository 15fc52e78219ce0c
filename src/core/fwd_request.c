/* fwd_request.c - the forward-auth request: the proxy's headers, the
 * client address, the token, the DPoP proof and the client certificate
 * (see fwd_request.h). */
#include "core/fwd_request.h"
#include "core/b64url.h"
#include "core/ed25519_key.h"
#include "core/errbuf.h"
#include "core/media_type.h"
#include "core/policy/ext.h"
#include <ctype.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- addresses ----------------------------------------------------------- */

static size_t trim(const char **s, size_t n)
{
	while (n > 0 && (**s == ' ' || **s == '\t'))
		(*s)++, n--;
	while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t'))
		n--;
	return n;
}

static bool all_digits(const char *s, size_t n, size_t max)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0 && n <= max;
}

/* One host address: IPv4, IPv6 (also ::ffff:a.b.c.d), [IPv6], and with
 * a :port after IPv4 or [IPv6]; no prefix. */
static int parse_host_addr(const char *s, size_t n, pol_ip_t *out)
{
	n = trim(&s, n);
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return -1;
		size_t rest = n - (size_t)(close + 1 - s);
		if (rest > 0 && (close[1] != ':' || !all_digits(close + 2, rest - 1, 5)))
			return -1;
		s++;
		n = (size_t)(close - s);
	} else {
		const char *colon = memchr(s, ':', n);
		if (colon != NULL && memchr(colon + 1, ':', n - (size_t)(colon + 1 - s)) == NULL) {
			if (!all_digits(colon + 1, n - (size_t)(colon + 1 - s), 5))
				return -1;
			n = (size_t)(colon - s); /* IPv4:port */
		}
	}
	if (n == 0 || memchr(s, '/', n) != NULL)
		return -1;
	if (n > 7 && strncasecmp(s, "::ffff:", 7) == 0 && memchr(s + 7, '.', n - 7) != NULL)
		return pol_ip_parse(s + 7, n - 7, out); /* IPv4-mapped, which ip() refuses */
	return pol_ip_parse(s, n, out);
}

int fwd_peer_ip(const struct sockaddr *sa, pol_ip_t *out)
{
	memset(out, 0, sizeof *out);
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		memcpy(out->addr, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		out->prefix = 32;
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		memcpy(out->addr, a->s6_addr + 12, 4);
		out->prefix = 32;
		return 0;
	}
	memcpy(out->addr, a->s6_addr, 16);
	out->v6 = 1;
	out->prefix = 128;
	return 0;
}

int fwd_proxies_parse(const char *text, fwd_proxies_t *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof *out);
	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, ","), k = n;
		const char *item = p;
		k = trim(&item, k);
		if (k == 0) {
			tg_errf(err, err_len, "trusted_proxies has an empty entry: expected addresses or ranges "
					      "separated by commas (127.0.0.1/32,::1/128)");
			return -1;
		}
		if (out->n == TG_EDGE_MAX_PROXIES) {
			tg_errf(err, err_len, "trusted_proxies has more than %d entries", TG_EDGE_MAX_PROXIES);
			return -1;
		}
		if (pol_ip_parse(item, k, &out->net[out->n]) != 0) {
			tg_errf(err, err_len, "trusted_proxies entry '%.*s' is not an address or range (10.0.0.0/8, ::1/128)",
				(int)(k < 64 ? k : 64), item);
			return -1;
		}
		out->n++;
		p += n;
		if (*p == ',' && *++p == '\0') {
			tg_errf(err, err_len, "trusted_proxies ends with a comma");
			return -1;
		}
	}
	return 0;
}

static bool trusted_ip(const fwd_proxies_t *t, const pol_ip_t *ip)
{
	for (size_t i = 0; i < t->n; i++)
		if (pol_ip_in_range(ip, &t->net[i]))
			return true;
	return false;
}

/* The right-most X-Forwarded-For entry that is not a trusted proxy, or the
 * left-most; NULL, or why. */
static const char *from_xff(const char *xff, const fwd_proxies_t *t, pol_ip_t *out)
{
	size_t end = strnlen(xff, TG_MAX_HEADER_VALUE + 1);
	if (end > TG_MAX_HEADER_VALUE)
		return "X-Forwarded-For is too long";
	for (;;) {
		size_t start = end;
		while (start > 0 && xff[start - 1] != ',')
			start--;
		if (parse_host_addr(xff + start, end - start, out) != 0)
			return "an X-Forwarded-For entry from a trusted proxy is not an IP address";
		if (start == 0 || !trusted_ip(t, out))
			return NULL;
		end = start - 1;
	}
}

static bool blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t")] == '\0';
}

static const char *client_address(const fwd_input_t *in, const fwd_proxies_t *t, fwd_request_t *out)
{
	const char *why = NULL;
	if (fwd_peer_ip(in->peer, &out->src_ip) != 0)
		return "the connection has no IPv4 or IPv6 peer address";
	out->via_proxy = trusted_ip(t, &out->src_ip);
	if (out->via_proxy && !blank(in->x_forwarded_for))
		why = from_xff(in->x_forwarded_for, t, &out->src_ip);
	else if (out->via_proxy && !blank(in->x_real_ip)) {
		size_t n = strnlen(in->x_real_ip, 65);
		if (n > 64 || parse_host_addr(in->x_real_ip, n, &out->src_ip) != 0)
			why = "X-Real-IP from a trusted proxy is not an IP address";
	}
	pol_ip_render(&out->src_ip, out->src_ip_text, sizeof out->src_ip_text);
	return why;
}

/* ---- the original request ------------------------------------------------ */

static const char *original_pair(const fwd_input_t *in, const char **method, const char **target)
{
	bool nginx = in->x_original_method != NULL || in->x_original_uri != NULL;
	bool fwd = in->x_forwarded_method != NULL || in->x_forwarded_uri != NULL;
	if (nginx && (in->x_original_method == NULL || in->x_original_uri == NULL))
		return "X-Original-Method and X-Original-URI must come together";
	if (fwd && (in->x_forwarded_method == NULL || in->x_forwarded_uri == NULL))
		return "X-Forwarded-Method and X-Forwarded-Uri must come together";
	if (!nginx && !fwd)
		return "no X-Original-Method/X-Original-URI (nginx) or X-Forwarded-Method/X-Forwarded-Uri "
		       "(Caddy, Traefik): is the proxy configured for forward-auth?";
	if (nginx && fwd &&
	    (strcmp(in->x_original_method, in->x_forwarded_method) != 0 ||
	     strcmp(in->x_original_uri, in->x_forwarded_uri) != 0))
		return "X-Original-* and X-Forwarded-* name different requests";
	*method = nginx ? in->x_original_method : in->x_forwarded_method;
	*target = nginx ? in->x_original_uri : in->x_forwarded_uri;
	return NULL;
}

static const char *original_request(const fwd_input_t *in, fwd_request_t *out)
{
	const char *method = NULL, *target = NULL, *why = original_pair(in, &method, &target);
	if (why != NULL)
		return why;
	size_t ml = strnlen(method, TG_EDGE_MAX_METHOD + 1), tl = strnlen(target, TG_MAX_URI + 1);
	if (ml > TG_EDGE_MAX_METHOD || !http_token_valid(method, ml))
		return "the original method is not an HTTP method token";
	if (tl > TG_MAX_URI)
		return "the original request target is too long";
	if (target[0] != '/')
		return "the original request target does not start with '/'";
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)target[i] <= 0x20 || target[i] == 0x7f)
			return "the original request target holds a control character or a space";
	memcpy(out->method, method, ml + 1);
	memcpy(out->target, target, tl + 1);
	out->path_len = strcspn(out->target, "?#");
	return NULL;
}

/* reg-name, IPv4 or [IPv6], then an optional :port. */
static bool host_valid(const char *h, size_t n)
{
	size_t i = 0;
	if (n == 0 || n > TG_EDGE_MAX_HOST)
		return false;
	if (h[0] == '[') {
		while (++i < n && h[i] != ']')
			if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
				return false;
		if (i == n || i == 1)
			return false;
		i++;
	} else {
		while (i < n && (isalnum((unsigned char)h[i]) || strchr("-._~%", h[i]) != NULL))
			i++;
		if (i == 0)
			return false;
	}
	return i == n || (h[i] == ':' && all_digits(h + i + 1, n - i - 1, 5));
}

static const char *build_htu(const fwd_input_t *in, fwd_request_t *out)
{
	const char *scheme = "http", *host = in->x_forwarded_host != NULL ? in->x_forwarded_host : in->host;
	char h[TG_EDGE_MAX_HOST + 1];
	out->htu[0] = '\0';
	if (in->x_forwarded_proto != NULL) {
		if (strcasecmp(in->x_forwarded_proto, "https") == 0)
			scheme = "https";
		else if (strcasecmp(in->x_forwarded_proto, "http") != 0)
			return "X-Forwarded-Proto is not http or https";
	}
	if (host == NULL)
		return NULL;
	size_t n = strnlen(host, TG_EDGE_MAX_HOST + 1);
	if (!host_valid(host, n))
		return in->x_forwarded_host != NULL ? "X-Forwarded-Host is not a host[:port]" : "Host is not a host[:port]";
	for (size_t i = 0; i <= n; i++)
		h[i] = (char)tolower((unsigned char)host[i]);
	const char *dflt = scheme[4] == 's' ? ":443" : ":80";
	size_t dl = strlen(dflt);
	if (n > dl && strcmp(h + n - dl, dflt) == 0)
		h[n - dl] = '\0';
	snprintf(out->htu, sizeof out->htu, "%s://%s%.*s", scheme, h, (int)out->path_len, out->target);
	return NULL;
}

/* ---- credentials --------------------------------------------------------- */

/* RFC 9110 §11.2 token68. */
static bool token68(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && (isalnum((unsigned char)s[i]) || strchr("-._~+/", s[i]) != NULL))
		i++;
	if (i == 0)
		return false;
	while (i < n && s[i] == '=')
		i++;
	return i == n;
}

static unsigned count_of(const char *value, unsigned count)
{
	return value != NULL && count == 0 ? 1 : count;
}

static fwd_status_t authorization(const fwd_input_t *in, fwd_request_t *out, const char **why)
{
	const char *a = in->authorization;
	if (a == NULL || a[0] == '\0') {
		*why = "missing bearer token";
		return FWD_NO_TOKEN;
	}
	if (count_of(a, in->authorization_count) > 1) {
		*why = "malformed Authorization header: sent more than once";
		return FWD_BAD_TOKEN;
	}
	size_t sl = strcspn(a, " \t");
	if (sl == 6 && strncasecmp(a, "Bearer", 6) == 0)
		out->scheme = FWD_BEARER;
	else if (sl == 4 && strncasecmp(a, "DPoP", 4) == 0)
		out->scheme = FWD_DPOP;
	else {
		*why = "missing bearer token (the Authorization scheme is not Bearer or DPoP)";
		return FWD_NO_TOKEN;
	}
	const char *t = a + sl + (a[sl] == ' ');
	size_t n = a[sl] == ' ' ? strnlen(t, TG_MAX_JWT_LEN + 1) : 0;
	if (n == 0 || n > TG_MAX_JWT_LEN || !token68(t, n)) {
		*why = "malformed Authorization header: expected the scheme, one space and a token "
		       "(token68, at most " STR(TG_MAX_JWT_LEN) " bytes)";
		return FWD_BAD_TOKEN;
	}
	out->token = t;
	out->token_len = n;
	return FWD_OK;
}

/* base64url, exactly two dots. */
static bool compact_jws(const char *s, size_t n)
{
	size_t dots = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	}
	return dots == 2;
}

static fwd_status_t dpop_proof(const fwd_input_t *in, fwd_request_t *out, const char **why)
{
	if (count_of(in->dpop, in->dpop_count) > 1) {
		*why = "more than one DPoP header";
		return FWD_BAD_DPOP;
	}
	if (in->dpop == NULL) {
		*why = "Authorization: DPoP without a DPoP proof header";
		return out->scheme == FWD_DPOP ? FWD_BAD_DPOP : FWD_OK;
	}
	size_t n = strnlen(in->dpop, TG_MAX_JWT_LEN + 1);
	if (n == 0 || n > TG_MAX_JWT_LEN || !compact_jws(in->dpop, n)) {
		*why = "the DPoP header is not a compact JWS of at most " STR(TG_MAX_JWT_LEN) " bytes";
		return FWD_BAD_DPOP;
	}
	out->dpop = in->dpop;
	out->dpop_len = n;
	return FWD_OK;
}

/* ---- the client certificate ---------------------------------------------- */

/* URL-decodes s[0..n) into out (n + 1 bytes); -1 on a malformed escape. */
static int url_decode(const char *s, size_t n, char *out, size_t *out_len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1, lo = hi < 0 ? -1 : hex_digit(s[i + 2]);
		if (lo < 0)
			return -1;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	*out_len = o;
	return 0;
}

static const char *client_cert(const char *cert, fwd_request_t *out)
{
	char pem[TG_MAX_HEADER_VALUE + 1];
	uint8_t der[TG_MAX_HEADER_VALUE], hash[crypto_hash_sha256_BYTES];
	size_t n = strnlen(cert, TG_MAX_HEADER_VALUE + 1), pl = 0, dl = 0;
	if (!out->via_proxy)
		return "X-Client-Cert ignored: the peer is not a trusted proxy";
	if (n > TG_MAX_HEADER_VALUE)
		return "X-Client-Cert is too long";
	if (url_decode(cert, n, pem, &pl) != 0)
		return "X-Client-Cert has a malformed URL-encoding";
	if (pem_decode(pem, pl, "CERTIFICATE", der, sizeof der, &dl) != 0 || dl < 2 || der[0] != 0x30)
		return "X-Client-Cert is not a PEM certificate";
	crypto_hash_sha256(hash, der, dl);
	b64url_encode_to(hash, sizeof hash, out->x5t);
	return NULL;
}

/* ---- the whole request --------------------------------------------------- */

fwd_status_t fwd_request_parse(const fwd_input_t *in, const fwd_proxies_t *trusted, fwd_request_t *out,
			       const char **why)
{
	fwd_status_t st;
	memset(out, 0, offsetof(fwd_request_t, method));
	out->method[0] = out->target[0] = out->htu[0] = out->x5t[0] = '\0';
	out->path_len = 0;
	out->via_proxy = false;
	out->cert_why = NULL;
	if ((*why = original_request(in, out)) != NULL || (*why = client_address(in, trusted, out)) != NULL ||
	    (*why = build_htu(in, out)) != NULL)
		return FWD_BAD_REQUEST;
	if ((st = authorization(in, out, why)) != FWD_OK || (st = dpop_proof(in, out, why)) != FWD_OK)
		return st;
	*why = NULL;
	if (!blank(in->x_client_cert))
		out->cert_why = client_cert(in->x_client_cert, out);
	return FWD_OK;
}
