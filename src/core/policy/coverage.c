/* coverage.c - scope coverage over the entity hierarchy (coverage.h). */
#include "core/policy/coverage.h"
#include "core/limits.h"
#include <stdio.h>
#include <string.h>

typedef struct {
	char action[TG_MAX_SCOPE_TOKEN_LEN + 1], type[TG_MAX_SCOPE_TOKEN_LEN + 1], id[TG_MAX_SCOPE_TOKEN_LEN + 1];
	pol_euid_t act, res;
} split_t;

/* ACTION@Type:id into NUL-terminated parts; -1 when tok is not one. */
static int split(const char *tok, split_t *s)
{
	const char *at = strchr(tok, '@');
	const char *colon = at ? strchr(at + 1, ':') : NULL;
	if (at == NULL || colon == NULL || strlen(tok) > TG_MAX_SCOPE_TOKEN_LEN)
		return -1;
	snprintf(s->action, sizeof s->action, "%.*s", (int)(at - tok), tok);
	snprintf(s->type, sizeof s->type, "%.*s", (int)(colon - at - 1), at + 1);
	snprintf(s->id, sizeof s->id, "%s", colon + 1);
	s->act = (pol_euid_t){{"Action", 6}, {s->action, strlen(s->action)}};
	s->res = (pol_euid_t){{s->type, strlen(s->type)}, {s->id, strlen(s->id)}};
	return 0;
}

bool pol_scope_token_covers(const pol_entities_t *es, const char *tok, const pol_euid_t *action,
			    const pol_euid_t *resource)
{
	split_t s;
	return split(tok, &s) == 0 && pol_entities_in(es, action, &s.act) && pol_entities_in(es, resource, &s.res);
}

bool pol_scope_token_within(const pol_entities_t *es, const char *grant, const char *req)
{
	split_t r;
	return split(req, &r) == 0 && pol_scope_token_covers(es, grant, &r.act, &r.res);
}
