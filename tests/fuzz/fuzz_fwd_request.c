/* fuzz_fwd_request.c - fwd_request_parse() on arbitrary forward-auth
 * requests. Input: one flags byte, then the header values separated by NUL
 * bytes in the order of FIELDS below; a value of the single byte 0xff, or a
 * missing one, is an absent header. Flags: bit 0 the peer is 203.0.113.9
 * (untrusted) instead of 127.0.0.1, bit 1 it is IPv6 (::1 or 2001:db8::9),
 * bit 2 two DPoP headers, bit 3 two Authorization headers, bit 4 trust
 * 10.0.0.0/8 and 2001:db8::/32 instead of loopback. Whatever is accepted
 * stays within its bounds and points into the input. */
#include "core/fwd_request.h"
#include "core/policy/ext.h"
#include "fuzz_util.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { AUTH, DPOP, X_ORIG_METHOD, X_ORIG_URI, X_FWD_METHOD, X_FWD_URI, X_FWD_PROTO, X_FWD_HOST, HOST, XFF, XRI,
       CERT, FIELDS };

static const struct sockaddr *peer(uint8_t flags, struct sockaddr_storage *ss)
{
	static const char *const addrs[] = {"127.0.0.1", "203.0.113.9", "::1", "2001:db8::9"};
	const char *a = addrs[flags & 3];
	memset(ss, 0, sizeof *ss);
	if (flags & 2) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, a, &s4->sin_addr);
	}
	return (const struct sockaddr *)ss;
}

static int inside(const char *p, size_t n, const char *base)
{
	return base != NULL && p >= base && p + n <= base + strlen(base);
}

static void check_ok(const fwd_input_t *in, const fwd_request_t *r)
{
	pol_ip_t back, peer_ip;
	fz_require(inside(r->token, r->token_len, in->authorization) && r->token_len > 0 &&
			   r->token_len <= TG_MAX_JWT_LEN,
		   "token inside Authorization, bounded");
	fz_require(r->scheme == FWD_BEARER || r->scheme == FWD_DPOP, "a scheme");
	fz_require(r->dpop == NULL || (r->dpop == in->dpop && r->dpop_len == strlen(in->dpop) &&
				       r->dpop_len <= TG_MAX_JWT_LEN),
		   "proof is the DPoP header, bounded");
	fz_require(r->scheme != FWD_DPOP || r->dpop != NULL, "DPoP scheme has a proof");
	fz_require(r->method[0] != '\0' && strlen(r->method) <= TG_EDGE_MAX_METHOD, "method bounded");
	fz_require(r->target[0] == '/' && r->path_len <= strlen(r->target), "target is origin-form");
	for (const char *p = r->target; *p; p++)
		fz_require((unsigned char)*p > 0x20 && *p != 0x7f, "target has no control character");
	if (r->htu[0] != '\0') {
		size_t n = strlen(r->htu);
		fz_require(strncmp(r->htu, "http://", 7) == 0 || strncmp(r->htu, "https://", 8) == 0, "htu scheme");
		fz_require(n >= r->path_len && memcmp(r->htu + n - r->path_len, r->target, r->path_len) == 0,
			   "htu ends with the path");
	}
	fz_require(pol_ip_parse(r->src_ip_text, strlen(r->src_ip_text), &back) == 0 && pol_ip_eq(&back, &r->src_ip),
		   "src_ip prints back");
	fz_require(fwd_peer_ip(in->peer, &peer_ip) == 0, "peer");
	fz_require(r->via_proxy || pol_ip_eq(&peer_ip, &r->src_ip), "untrusted peer: src_ip is the peer");
	fz_require(r->x5t[0] == '\0' || strlen(r->x5t) == FWD_X5T_LEN, "x5t is a SHA-256");
	fz_require(r->x5t[0] == '\0' || r->via_proxy, "certificates only from trusted proxies");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *field[FIELDS] = {0};
	const char *why = NULL;
	struct sockaddr_storage ss;
	fwd_proxies_t trusted;
	char err[128];
	if (size == 0)
		return 0;
	uint8_t flags = data[0];
	char *buf = fz_cstr(data + 1, size - 1), *p = buf, *end = buf + size - 1;
	for (int i = 0; i < FIELDS && p <= end; i++) {
		field[i] = strcmp(p, "\xff") == 0 ? NULL : p;
		p += strlen(p) + 1;
	}
	if (fwd_proxies_parse(flags & 16 ? "10.0.0.0/8, 2001:db8::/32" : "127.0.0.1/32,::1/128", &trusted, err,
			      sizeof err) != 0)
		abort();
	fwd_input_t in = {
		.authorization = field[AUTH],
		.authorization_count = flags & 8 ? 2 : 0,
		.dpop = field[DPOP],
		.dpop_count = flags & 4 ? 2 : 0,
		.x_original_method = field[X_ORIG_METHOD],
		.x_original_uri = field[X_ORIG_URI],
		.x_forwarded_method = field[X_FWD_METHOD],
		.x_forwarded_uri = field[X_FWD_URI],
		.x_forwarded_proto = field[X_FWD_PROTO],
		.x_forwarded_host = field[X_FWD_HOST],
		.host = field[HOST],
		.x_forwarded_for = field[XFF],
		.x_real_ip = field[XRI],
		.x_client_cert = field[CERT],
		.peer = peer(flags, &ss),
	};
	fwd_request_t *r = malloc(sizeof *r);
	if (r == NULL)
		abort();
	fwd_status_t st = fwd_request_parse(&in, &trusted, r, &why);
	if (st == FWD_OK)
		check_ok(&in, r);
	else
		fz_require(why != NULL && st >= FWD_NO_TOKEN && st <= FWD_BAD_REQUEST, "a refusal explains");
	free(r);
	free(buf);
	return 0;
}
