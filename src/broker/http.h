/* http.h - the broker's HTTP shell over libmicrohttpd: bounded request
 * bodies, a static route table, and the three response shapes Tollgate
 * speaks (JSON, RFC 9457 problem+json, RFC 6749 OAuth error JSON). */
#ifndef TG_HTTP_H
#define TG_HTTP_H
#include "broker/actor.h"
#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct broker broker_t;

struct req;
typedef void (*handler_fn)(struct req *r);

typedef struct req {
	struct MHD_Connection *conn;
	broker_t *b;
	const char *method;
	const char *path;
	char *body;
	size_t body_len, body_cap;
	bool body_too_large;
	size_t max_body;         /* this request's body limit (http.c body_limit) */
	const char *param;       /* the {id} path segment, when the route has one */
	char client_ip[64];
	char tls_fp[65];         /* hex SHA-256 of a verified client certificate, or "" */
	int status;              /* the status that was sent */
	char allow[40];          /* Allow header of a 405 answer */
	int64_t retry_after;     /* > 0: Retry-After seconds on the answer (429) */
	int64_t max_age;         /* > 0: a public answer anyone may cache this many seconds
				  * and read cross-origin (the Token Status List) */
	bool held;               /* the handler suspended the connection; it answers once resumed */
	bool paced;              /* this request was held once (auth_failures.c) */
	handler_fn resume;      /* set with held: dispatch runs this instead of the route
				  * once the connection is resumed (access already admitted) */
	int64_t held_arg;        /* the holder's own state across the hold */
	void *held_state;        /* or its heap state: held_free(held_state) runs when the
				  * request ends, unless the holder freed it (and set it NULL) */
	void (*held_free)(void *);
	int64_t held_until_ms;
	int route;               /* metrics index */
	double started;
	actor_t actor;           /* who is calling (actor.h), set at dispatch */
	int64_t now;             /* the request time, stamped once at dispatch (seconds) */
	int64_t now_ms;          /* the same in milliseconds */
	int64_t step_up_max_age; /* > 0: a 401 is an RFC 9470 step-up challenge */
} req_t;


typedef struct {
	const char *method;
	const char *prefix;  /* path, or prefix up to {id} when suffix is set */
	const char *suffix;  /* NULL = exact path; "" = /prefix{id}; "/x" = /prefix{id}/x */
	handler_fn handler;
	unsigned access;     /* who may call it (access.h), checked at dispatch */
	const char *name;    /* metrics label */
	size_t max_body;     /* 0: the configured max_body; larger limits apply only
			      * to requests with a valid admin bearer token */
} route_t;

/* Starts the daemon on listen_fd (listener_open; the daemon owns it from
 * then on) with the given routes. TLS when cert_pem/key_pem are set; mTLS
 * client authentication when ca_pem is too. */
struct MHD_Daemon *http_start(broker_t *b, int listen_fd, int threads, const char *cert_pem,
			      const char *key_pem, const char *ca_pem, char *err, size_t err_len);
void http_stop(struct MHD_Daemon *d);

/* Responses (each sends exactly once). */
void http_json(req_t *r, int status, json_t *body /* stolen */);
void http_text(req_t *r, int status, const char *content_type, char *body /* stolen */);
/* A JSON body that holds a secret's value: sodium_malloc'd, len bytes,
 * stolen; zeroed and freed once sent. */
void http_secret_json(req_t *r, int status, char *body, size_t len);
void http_problem(req_t *r, int status, const char *title, const char *detail);
/* The same with extension members (RFC 9457 §3.2) merged in; ext stolen. */
void http_problem_ext(req_t *r, int status, const char *title, const char *detail, json_t *ext);
void http_oauth_error(req_t *r, int status, const char *error, const char *description);
/* RFC 9470 step-up: 401 with WWW-Authenticate error="insufficient_user_authentication"
 * and max_age, and a problem whose max_age member says the same. */
void http_step_up(req_t *r, int64_t max_age);

/* Request helpers. */
/* A header's value, or NULL when absent or longer than TG_MAX_HEADER_VALUE
 * (check http_header_oversized() where absence changes the meaning). */
const char *http_header(req_t *r, const char *name);
bool http_header_oversized(req_t *r, const char *name);
const char *http_query(req_t *r, const char *name);
/* An integer query parameter in [lo, hi], dflt when absent; otherwise
 * answers 400 (naming the parameter and its range) and returns -1. */
int http_query_int(req_t *r, const char *name, long long lo, long long hi, long long dflt,
		   long long *out);
/* Parses the body as a JSON object (bounded depth/size); sends a problem
 * and returns NULL when it is not one. */
json_t *http_json_body(req_t *r);
/* True when Content-Type is type (core/media_type.h: parameters allowed,
 * charset only utf-8, no control characters). */
bool http_content_type_is(req_t *r, const char *type);
/* Sends 415 and returns false unless http_content_type_is(r, type). */
bool http_require_content_type(req_t *r, const char *type);
/* For the POST routes that take no body: true when there is none (or it is
 * {}) and Content-Type, if sent, is application/json; otherwise answers 415
 * (another Content-Type, or a body without one) or 400 and returns false. */
bool http_require_no_body(req_t *r);
/* The URL of this broker for path (issuer + path). */
void http_self_url(req_t *r, const char *path, char *out, size_t len);

#endif
