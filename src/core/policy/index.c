/* index.c - the scope index: a hash table from (slot, entity or type) to
 * the policies filed there, built once per policy set. */
#include "core/policy/index.h"
#include "core/policy/scratch.h"
#include <stdlib.h>
#include <string.h>

enum { SLOT_PRINCIPAL, SLOT_ACTION, SLOT_RESOURCE, SLOT_PRINCIPAL_TYPE, SLOT_RESOURCE_TYPE };

typedef struct {
	uint64_t hash;
	uint8_t slot;
	pol_euid_t key; /* for the type slots: type only, empty id */
	uint32_t policy;
} entry_t;

typedef struct {
	uint64_t hash;
	uint8_t slot;
	pol_euid_t key;
	uint32_t start, count; /* into policies */
} group_t;

/* A table slot: group + 1 (0 = empty) and the top half of the group's hash,
 * so that a probe for a key with no policies (most of a request's
 * ancestors) rejects it without touching the group. */
typedef struct {
	uint32_t tag;
	uint32_t group;
} slot_t;

struct pol_index {
	group_t *groups;
	size_t ngroups;
	uint32_t *policies;
	slot_t *slots;   /* open addressing */
	size_t nslots;
	uint32_t *unindexed;
	size_t nunindexed;
};

/* The key hash: the reference's pol_euid_hash (which the entity store
 * keeps for every ancestor) mixed with the slot. */
static uint64_t slot_hash(uint8_t slot, uint64_t euid_hash)
{
	uint64_t h = (euid_hash ^ slot) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

static uint64_t hash_key(uint8_t slot, const pol_euid_t *k)
{
	return slot_hash(slot, pol_euid_hash(k));
}

static int cmp_entry(const void *a, const void *b)
{
	const entry_t *x = a, *y = b;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	int c = pol_str_cmp(&x->key.type, &y->key.type);
	if (c == 0)
		c = pol_str_cmp(&x->key.id, &y->key.id);
	if (c == 0)
		c = x->policy < y->policy ? -1 : x->policy > y->policy;
	return c;
}

typedef struct {
	entry_t *v;
	size_t n, cap;
} entries_t;

static int add_entry(entries_t *es, uint8_t slot, pol_euid_t key, uint32_t policy)
{
	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 256;
		entry_t *v = realloc(es->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	es->v[es->n++] = (entry_t){hash_key(slot, &key), slot, key, policy};
	return 0;
}

static bool entity_scope(const pol_scope_t *sc)
{
	return sc->op == POL_SCOPE_EQ || sc->op == POL_SCOPE_IN || sc->op == POL_SCOPE_IS_IN;
}

/* Files policy i: 1 when filed, 0 when it needs the unindexed list, -1 on
 * memory. A policy whose action is `in []` matches nothing and is not
 * filed at all (returns 1). */
static int file_policy(entries_t *es, const pol_policy_t *p, uint32_t i)
{
	const pol_str_t none = {"", 0};
	if (entity_scope(&p->principal))
		return add_entry(es, SLOT_PRINCIPAL, *p->principal.euid, i) < 0 ? -1 : 1;
	if (entity_scope(&p->resource))
		return add_entry(es, SLOT_RESOURCE, *p->resource.euid, i) < 0 ? -1 : 1;
	if (p->action.op == POL_SCOPE_EQ || p->action.op == POL_SCOPE_IN)
		return add_entry(es, SLOT_ACTION, *p->action.euid, i) < 0 ? -1 : 1;
	if (p->action.op == POL_SCOPE_IN_SET) {
		for (size_t k = 0; k < p->action.n; k++)
			if (add_entry(es, SLOT_ACTION, p->action.set[k], i) < 0)
				return -1;
		return 1;
	}
	if (p->principal.op == POL_SCOPE_IS)
		return add_entry(es, SLOT_PRINCIPAL_TYPE, (pol_euid_t){p->principal.type, none}, i) < 0 ? -1 : 1;
	if (p->resource.op == POL_SCOPE_IS)
		return add_entry(es, SLOT_RESOURCE_TYPE, (pol_euid_t){p->resource.type, none}, i) < 0 ? -1 : 1;
	return 0;
}

static bool same_key(const group_t *g, uint64_t h, uint8_t slot, const pol_euid_t *k)
{
	return g->hash == h && g->slot == slot && pol_euid_eq(&g->key, k);
}

static int build_groups(pol_index_t *ix, const entries_t *es)
{
	ix->groups = malloc((es->n ? es->n : 1) * sizeof *ix->groups);
	ix->policies = malloc((es->n ? es->n : 1) * sizeof *ix->policies);
	if (ix->groups == NULL || ix->policies == NULL)
		return -1;
	for (size_t k = 0; k < es->n; k++) {
		const entry_t *e = &es->v[k];
		group_t *last = ix->ngroups ? &ix->groups[ix->ngroups - 1] : NULL;
		if (last == NULL || !same_key(last, e->hash, e->slot, &e->key))
			ix->groups[ix->ngroups++] = (group_t){e->hash, e->slot, e->key, (uint32_t)k, 0};
		ix->groups[ix->ngroups - 1].count++;
		ix->policies[k] = e->policy;
	}
	ix->nslots = 16;
	while (ix->nslots < ix->ngroups * 2)
		ix->nslots *= 2;
	ix->slots = calloc(ix->nslots, sizeof *ix->slots);
	if (ix->slots == NULL)
		return -1;
	for (size_t g = 0; g < ix->ngroups; g++) {
		uint64_t h = ix->groups[g].hash;
		size_t i = h & (ix->nslots - 1);
		while (ix->slots[i].group != 0)
			i = (i + 1) & (ix->nslots - 1);
		ix->slots[i] = (slot_t){(uint32_t)(h >> 32), (uint32_t)g + 1};
	}
	return 0;
}

void pol_index_free(pol_index_t *ix)
{
	if (ix == NULL)
		return;
	free(ix->groups);
	free(ix->policies);
	free(ix->slots);
	free(ix->unindexed);
	free(ix);
}

pol_index_t *pol_index_build(const pol_set_t *set)
{
	pol_index_t *ix = calloc(1, sizeof *ix);
	entries_t es = {0};
	if (ix == NULL)
		return NULL;
	ix->unindexed = malloc((set->n ? set->n : 1) * sizeof *ix->unindexed);
	if (ix->unindexed == NULL)
		goto fail;
	for (size_t i = 0; i < set->n; i++) {
		int r = file_policy(&es, &set->policy[i], (uint32_t)i);
		if (r < 0)
			goto fail;
		if (r == 0)
			ix->unindexed[ix->nunindexed++] = (uint32_t)i;
	}
	if (es.n > 1)
		qsort(es.v, es.n, sizeof *es.v, cmp_entry);
	if (build_groups(ix, &es) < 0)
		goto fail;
	free(es.v);
	return ix;
fail:
	free(es.v);
	pol_index_free(ix);
	return NULL;
}

/* ---- lookup ---------------------------------------------------------------- */

typedef struct {
	const pol_index_t *ix;
	pol_scratch_t *s;
	uint8_t slot;
	void (*fn)(uint32_t, void *);
	void *arg;
} visit_t;

/* Visits the groups filed under (slot, k). Groups are matched on their
 * 64-bit hash alone, without touching the key's strings (a cache miss per
 * probe at 100,000 policies): a collision only adds candidates, whose
 * scope the evaluator checks in full, and every colliding group is
 * visited, so none is missed. */
static void visit_key(const visit_t *v, uint8_t slot, uint64_t euid_hash)
{
	const pol_index_t *ix = v->ix;
	uint64_t h = slot_hash(slot, euid_hash);
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t i = h & (ix->nslots - 1);; i = (i + 1) & (ix->nslots - 1)) {
		slot_t s = ix->slots[i];
		if (s.group == 0)
			return;
		const group_t *grp = &ix->groups[s.group - 1];
		if (s.tag != tag || grp->hash != h || grp->slot != slot)
			continue;
		for (uint32_t j = 0; j < grp->count; j++) {
			uint32_t p = ix->policies[grp->start + j];
			if (pol_scratch_first_visit(v->s, p))
				v->fn(p, v->arg);
		}
	}
}

static void visit_ancestor(const pol_euid_t *anc, uint64_t hash, void *arg)
{
	(void)anc;
	const visit_t *v = arg;
	visit_key(v, v->slot, hash);
}

/* The entity's own key and its ancestors' (hashed once, by the store). */
static void visit_entity(visit_t *v, const pol_entities_t *es, uint8_t slot,
			 const pol_scope_subject_t *subject)
{
	v->slot = slot;
	visit_key(v, slot, subject->hash);
	if (subject->entity != NULL)
		pol_entities_each_ancestor(es, subject->entity, visit_ancestor, v);
}

void pol_index_candidates(const pol_index_t *ix, const pol_entities_t *es,
			  const pol_scope_subject_t subject[3], pol_scratch_t *s,
			  void (*fn)(uint32_t policy, void *arg), void *arg)
{
	visit_t v = {ix, s, 0, fn, arg};
	for (size_t i = 0; i < ix->nunindexed; i++)
		if (pol_scratch_first_visit(s, ix->unindexed[i]))
			fn(ix->unindexed[i], arg);
	if (ix->ngroups == 0)
		return;
	visit_entity(&v, es, SLOT_PRINCIPAL, &subject[0]);
	visit_entity(&v, es, SLOT_ACTION, &subject[1]);
	visit_entity(&v, es, SLOT_RESOURCE, &subject[2]);
	visit_key(&v, SLOT_PRINCIPAL_TYPE, subject[0].type_hash);
	visit_key(&v, SLOT_RESOURCE_TYPE, subject[2].type_hash);
}
