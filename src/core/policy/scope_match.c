/* scope_match.c - compiled policy scopes and their matching. */
#include "core/policy/scope_match.h"
#include "core/policy/arena.h"

uint64_t pol_type_hash(const pol_str_t *type)
{
	pol_euid_t k = {*type, {"", 0}};
	return pol_euid_hash(&k);
}

static int compile_slot(const pol_scope_t *sc, pol_arena_t *a, pol_scope_slot_t *out)
{
	*out = (pol_scope_slot_t){.op = (uint8_t)sc->op, .euid = sc->euid, .type = sc->type};
	if (sc->euid != NULL)
		out->hash = pol_euid_hash(sc->euid);
	if (sc->op == POL_SCOPE_IS || sc->op == POL_SCOPE_IS_IN)
		out->type_hash = pol_type_hash(&sc->type);
	if (sc->op == POL_SCOPE_IN_SET) {
		uint64_t *h = pol_arena_alloc(a, (sc->n ? sc->n : 1) * sizeof *h);
		if (h == NULL)
			return -1;
		for (size_t i = 0; i < sc->n; i++)
			h[i] = pol_euid_hash(&sc->set[i]);
		out->set = sc->set;
		out->set_hash = h;
		out->n = (uint32_t)sc->n;
	}
	return 0;
}

int pol_scope_compile(const pol_policy_t *p, pol_arena_t *a, pol_scope_match_t *out)
{
	if (compile_slot(&p->principal, a, &out->slot[0]) < 0 ||
	    compile_slot(&p->action, a, &out->slot[1]) < 0 ||
	    compile_slot(&p->resource, a, &out->slot[2]) < 0)
		return -1;
	return 0;
}

void pol_scope_subject(pol_scope_subject_t *s, const pol_entities_t *es, const pol_euid_t *uid)
{
	s->uid = uid;
	s->hash = pol_euid_hash(uid);
	s->type_hash = pol_type_hash(&uid->type);
	s->entity = es != NULL ? pol_entities_find_hashed(es, uid, s->hash) : NULL;
}

static bool same(const pol_scope_subject_t *s, const pol_euid_t *e, uint64_t hash)
{
	return s->hash == hash && pol_euid_eq(s->uid, e);
}

/* s in e: equal, or e is an ancestor of s. */
static bool in(const pol_entities_t *es, const pol_scope_subject_t *s, const pol_euid_t *e,
	       uint64_t hash)
{
	return same(s, e, hash) || (es != NULL && pol_entities_ancestor_of(es, s->entity, e, hash));
}

static bool is_type(const pol_scope_subject_t *s, const pol_scope_slot_t *c)
{
	return s->type_hash == c->type_hash && pol_str_eq(&s->uid->type, &c->type);
}

static bool slot_match(const pol_scope_slot_t *c, const pol_entities_t *es,
		       const pol_scope_subject_t *s)
{
	switch (c->op) {
	case POL_SCOPE_ANY:
		return true;
	case POL_SCOPE_EQ:
		return same(s, c->euid, c->hash);
	case POL_SCOPE_IN:
		return in(es, s, c->euid, c->hash);
	case POL_SCOPE_IS:
		return is_type(s, c);
	case POL_SCOPE_IS_IN:
		return is_type(s, c) && in(es, s, c->euid, c->hash);
	case POL_SCOPE_IN_SET:
		for (uint32_t i = 0; i < c->n; i++)
			if (in(es, s, &c->set[i], c->set_hash[i]))
				return true;
		return false;
	}
	return false;
}

bool pol_scope_match(const pol_scope_match_t *m, const pol_entities_t *es,
		     const pol_scope_subject_t subject[3])
{
	return slot_match(&m->slot[0], es, &subject[0]) && slot_match(&m->slot[1], es, &subject[1]) &&
	       slot_match(&m->slot[2], es, &subject[2]);
}
