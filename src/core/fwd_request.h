/* fwd_request.h - a forward-auth request (DESIGN §3.7) as the edge decides
 * on it: from the header values the HTTP layer collected and the TCP peer,
 * the presented token and its scheme, the DPoP proof, the original method
 * and request target, the htu a DPoP proof must name, the client address
 * (src_ip) and a forwarded client certificate's thumbprint. Pure and
 * bounded: nothing is allocated; the token and proof point into the input.
 *
 * THE ORIGINAL REQUEST. nginx's auth_request convention sends
 * X-Original-Method and X-Original-URI; Caddy's forward_auth and Traefik's
 * ForwardAuth send X-Forwarded-Method and X-Forwarded-Uri. Either pair is
 * taken (both headers of it); when both pairs are present they must agree,
 * since a proxy passes the client's own headers on and a client could
 * otherwise pick the method and path the edge authorizes. The method is an
 * HTTP token; the target starts with '/', is at most TG_MAX_URI bytes and
 * holds no control character or space (core/edge_route.h takes its path
 * apart). The htu (RFC 9449 §4.3) is scheme://host + path without query:
 * the scheme from X-Forwarded-Proto (http or https; http when absent), the
 * host from X-Forwarded-Host, else Host, lower-cased and without the
 * scheme's default port. nginx sends the edge's own address as Host unless
 * told `proxy_set_header Host $host` (or X-Forwarded-Host); with no host
 * the htu is "" and no DPoP proof can match.
 *
 * THE CLIENT ADDRESS. When the peer lies in a trusted range
 * (trusted_proxies), src_ip is the right-most X-Forwarded-For entry that
 * is not itself trusted (the left-most when all are), or X-Real-IP when
 * there is no X-Forwarded-For, or the peer when neither is sent; entries
 * may be IPv4, IPv6, [IPv6] and carry a :port. An entry that has to be
 * read and is not an address refuses the request (falling back to the
 * proxy's address could satisfy a policy meant for clients). From any
 * other peer both headers are ignored: src_ip is the peer.
 *
 * THE CLIENT CERTIFICATE. X-Client-Cert holds a PEM certificate, plain or
 * URL-encoded (nginx $ssl_client_escaped_cert). It is believed only from
 * a trusted proxy: a certificate is public, so anyone could send one. When
 * it decodes, x5t is the RFC 8705 x5t#S256 (base64url of SHA-256 of the
 * DER) to compare with a token's cnf; otherwise x5t is "" and cert_why
 * says why (the request goes on: only a certificate-bound token needs it). */
#ifndef TG_FWD_REQUEST_H
#define TG_FWD_REQUEST_H
#include "core/limits.h"
#include "core/policy/value.h"
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define FWD_MAX_HTU (sizeof "https://" - 1 + TG_EDGE_MAX_HOST + TG_MAX_URI)
#define FWD_X5T_LEN 43 /* base64url of a SHA-256 */

typedef struct {
	size_t n;
	pol_ip_t net[TG_EDGE_MAX_PROXIES];
} fwd_proxies_t;

/* trusted_proxies: addresses or ranges ("127.0.0.1/32,::1/128", "10.0.0.0/8";
 * Cedar's ip() syntax, an address alone being one host) separated by
 * commas, blanks around them allowed; "" trusts no peer. 0, or -1 with a
 * sentence in err. */
int fwd_proxies_parse(const char *text, fwd_proxies_t *out, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The header values (NUL-terminated, NULL when absent) as the HTTP layer
 * found them. A count of 0 with a value means 1. */
typedef struct {
	const char *authorization;
	unsigned authorization_count;
	const char *dpop;
	unsigned dpop_count;
	const char *x_original_method, *x_original_uri;   /* nginx */
	const char *x_forwarded_method, *x_forwarded_uri; /* Caddy, Traefik */
	const char *x_forwarded_proto, *x_forwarded_host, *host;
	const char *x_forwarded_for; /* every X-Forwarded-For field, joined with "," */
	const char *x_real_ip;
	const char *x_client_cert;
	const struct sockaddr *peer; /* the TCP peer (AF_INET or AF_INET6) */
} fwd_input_t;

typedef enum { FWD_BEARER = 1, FWD_DPOP } fwd_scheme_t;

typedef struct {
	fwd_scheme_t scheme;
	const char *token;   /* into authorization; token68, 1..TG_MAX_JWT_LEN bytes */
	size_t token_len;
	const char *dpop;    /* into dpop (compact JWS characters), or NULL */
	size_t dpop_len;
	char method[TG_EDGE_MAX_METHOD + 1];
	char target[TG_MAX_URI + 1]; /* the original path and query */
	size_t path_len;             /* target[0..path_len) is the path */
	char htu[FWD_MAX_HTU + 1];   /* "" when no host was sent */
	pol_ip_t src_ip;
	char src_ip_text[48];
	bool via_proxy;              /* the peer is a trusted proxy */
	char x5t[FWD_X5T_LEN + 1];   /* "" when no usable certificate */
	const char *cert_why;        /* why a sent X-Client-Cert was not used, else NULL */
} fwd_request_t;

/* What the edge answers when the parse fails. NO_TOKEN and BAD_TOKEN
 * differ on purpose (RFC 6750 §3.1): a request without credentials, or
 * with another scheme such as Basic, gets a bare challenge
 * (WWW-Authenticate: Bearer realm=...), while a Bearer or DPoP
 * Authorization that is malformed (no token, more than one space, bytes
 * outside token68, too long, the header twice) gets error="invalid_request". */
typedef enum {
	FWD_OK = 0,
	FWD_NO_TOKEN,    /* 401 without an error code */
	FWD_BAD_TOKEN,   /* 401 error="invalid_request" */
	FWD_BAD_DPOP,    /* 401 error="invalid_dpop_proof" (RFC 9449 §7.1): two DPoP
			    headers, a proof that is not a compact JWS, or the DPoP
			    scheme without a proof */
	FWD_BAD_REQUEST, /* the proxy's part is missing or malformed (original method
			    or target, X-Forwarded-*, X-Real-IP): no decision is
			    possible; answer 400 and log why */
} fwd_status_t;

/* Checks in that order: the proxy's headers and the client address
 * (BAD_REQUEST), the token (NO_TOKEN, BAD_TOKEN), the proof (BAD_DPOP).
 * On FWD_OK out is filled; otherwise *why is a static sentence. A Bearer
 * token sent with a DPoP proof is passed on as it is: the edge refuses a
 * DPoP-bound token under the Bearer scheme. */
fwd_status_t fwd_request_parse(const fwd_input_t *in, const fwd_proxies_t *trusted, fwd_request_t *out,
			       const char **why);

/* The peer as an address (an IPv4-mapped IPv6 peer becomes IPv4); -1 for
 * other families. */
int fwd_peer_ip(const struct sockaddr *sa, pol_ip_t *out);

#endif
