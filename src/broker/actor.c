/* actor.c - filling r->actor (actor.h). */
#include "broker/actor.h"
#include <stdio.h>
#include <string.h>

void actor_none(actor_t *a)
{
	memset(a, 0, sizeof *a);
	a->kind = ACTOR_NONE;
	a->mfa_age = -1;
}

void actor_admin(actor_t *a)
{
	actor_none(a);
	a->kind = ACTOR_ADMIN;
	snprintf(a->id, sizeof a->id, "admin");
}

void actor_identity(actor_t *a, const char *id, const char *identity_kind)
{
	actor_none(a);
	a->kind = strcmp(identity_kind, "edge") == 0 ? ACTOR_EDGE : ACTOR_WORKLOAD;
	snprintf(a->id, sizeof a->id, "%s", id);
}

void actor_operator(actor_t *a, const char *username, const char *session, unsigned roles, int64_t mfa_age)
{
	actor_none(a);
	a->kind = ACTOR_OPERATOR;
	snprintf(a->id, sizeof a->id, "%s", username);
	snprintf(a->session, sizeof a->session, "%s", session);
	a->roles = roles;
	a->mfa_age = mfa_age < 0 ? 0 : mfa_age;
}
