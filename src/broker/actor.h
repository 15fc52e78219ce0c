/* actor.h - who is calling: set once per request (at dispatch for the /v1
 * routes, by client authentication at the OAuth endpoints) in r->actor, and
 * read by handlers and audit records instead of naming the caller
 * themselves. Today only the admin bearer token and authenticated
 * identities (workloads, edges) exist; operators come with their sessions. */
#ifndef TG_ACTOR_H
#define TG_ACTOR_H
#include "core/limits.h"
#include <stdint.h>

typedef enum {
	ACTOR_NONE,     /* not authenticated (public routes) */
	ACTOR_ADMIN,    /* the admin bearer token */
	ACTOR_OPERATOR, /* a human operator's session (POST /v1/login) */
	ACTOR_WORKLOAD, /* an identity authenticated as an OAuth client */
	ACTOR_EDGE,     /* an identity of kind "edge" */
} actor_kind_t;

typedef struct {
	actor_kind_t kind;
	char id[TG_MAX_ID_LEN + 1];      /* as audit records show it: "admin", identity id */
	char session[TG_MAX_ID_LEN + 1]; /* the operator session, "" when none */
	int64_t mfa_age;                 /* seconds since the caller's MFA, -1 when none */
	unsigned roles;                  /* an operator's OP_ROLE_* (core/operator.h) */
} actor_t;

/* The unauthenticated caller. */
void actor_none(actor_t *a);
/* The holder of the admin bearer token: id "admin". */
void actor_admin(actor_t *a);
/* An identity authenticated as an OAuth client (kind "edge" -> ACTOR_EDGE). */
void actor_identity(actor_t *a, const char *id, const char *identity_kind);
/* An operator's session: id the username, session its public id, MFA
 * age now - auth_time. */
void actor_operator(actor_t *a, const char *username, const char *session, unsigned roles, int64_t mfa_age);

#endif
