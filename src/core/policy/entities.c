/* entities.c - the entity store: a hash table of entity references (those
 * present and those only named as parents), each entity's direct parents,
 * and the ancestor sets computed at seal time. */
#include "core/policy/entities.h"
#include "core/limits.h"
#include <stdlib.h>
#include <string.h>

/* A hash table slot: the node number + 1 (0 = empty) and the top half of
 * its hash, so that a probe rejects a different uid without touching the
 * node. */
typedef struct {
	uint32_t tag;
	uint32_t node;
} slot_t;

/* A node is any uid the store knows: an entity, or a parent it names. */
typedef struct {
	pol_euid_t uid;
	uint64_t hash;
	int64_t entity; /* index into ents, or -1 */
} node_t;

struct pol_entities {
	pol_arena_t *arena;
	node_t *nodes;
	size_t nnodes, capnodes;
	slot_t *slots;   /* open addressing */
	size_t nslots;
	pol_entity_t *ents;
	const uint32_t **parents; /* per entity: its direct parents' nodes */
	uint32_t *node_of;        /* per entity: its own node */
	int64_t cycle;            /* an entity on a cycle, found by the seal, or -1 */
	uint32_t *nparents;
	size_t nents, capents;
	bool sealed;
};

static const pol_value_t empty_record = {.kind = PV_RECORD};

pol_entities_t *pol_entities_new(void)
{
	pol_entities_t *es = calloc(1, sizeof *es);
	if (es == NULL)
		return NULL;
	es->cycle = -1;
	es->arena = pol_arena_new();
	if (es->arena == NULL) {
		free(es);
		return NULL;
	}
	return es;
}

void pol_entities_free(pol_entities_t *es)
{
	if (es == NULL)
		return;
	pol_arena_free(es->arena);
	free(es->nodes);
	free(es->slots);
	free(es->ents);
	free(es->parents);
	free(es->nparents);
	free(es->node_of);
	free(es);
}

pol_arena_t *pol_entities_arena(pol_entities_t *es) { return es->arena; }
size_t pol_entities_count(const pol_entities_t *es) { return es->nents; }

static int64_t lookup(const pol_entities_t *es, const pol_euid_t *u, uint64_t h)
{
	if (es->nslots == 0)
		return -1;
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t i = h & (es->nslots - 1);; i = (i + 1) & (es->nslots - 1)) {
		slot_t s = es->slots[i];
		if (s.node == 0)
			return -1;
		if (s.tag != tag)
			continue;
		const node_t *n = &es->nodes[s.node - 1];
		if (n->hash == h && pol_euid_eq(&n->uid, u))
			return s.node - 1;
	}
}

static void slot_insert(pol_entities_t *es, uint32_t node)
{
	uint64_t h = es->nodes[node].hash;
	size_t i = h & (es->nslots - 1);
	while (es->slots[i].node != 0)
		i = (i + 1) & (es->nslots - 1);
	es->slots[i] = (slot_t){(uint32_t)(h >> 32), node + 1};
}

static int grow_slots(pol_entities_t *es)
{
	size_t n = es->nslots ? es->nslots * 2 : 64;
	slot_t *s = calloc(n, sizeof *s);
	if (s == NULL)
		return -1;
	free(es->slots);
	es->slots = s;
	es->nslots = n;
	for (size_t i = 0; i < es->nnodes; i++)
		slot_insert(es, (uint32_t)i);
	return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap * 2 : 64;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* The node for u, created when absent. */
static int64_t intern(pol_entities_t *es, const pol_euid_t *u)
{
	uint64_t h = pol_euid_hash(u);
	int64_t found = lookup(es, u, h);
	if (found >= 0)
		return found;
	if (es->nnodes >= UINT32_MAX - 1 ||
	    grow((void **)&es->nodes, &es->capnodes, es->nnodes + 1, sizeof *es->nodes) < 0)
		return -1;
	if ((es->nnodes + 1) * 2 > es->nslots && grow_slots(es) < 0)
		return -1;
	es->nodes[es->nnodes] = (node_t){.uid = *u, .hash = h, .entity = -1};
	slot_insert(es, (uint32_t)es->nnodes);
	return (int64_t)es->nnodes++;
}

static int grow_ents(pol_entities_t *es)
{
	if (es->nents < es->capents)
		return 0;
	size_t cap = es->capents ? es->capents * 2 : 64;
	pol_entity_t *e = realloc(es->ents, cap * sizeof *e);
	if (e == NULL)
		return -1;
	es->ents = e;
	const uint32_t **p = realloc(es->parents, cap * sizeof *p);
	if (p == NULL)
		return -1;
	es->parents = p;
	uint32_t *np = realloc(es->nparents, cap * sizeof *np);
	if (np == NULL)
		return -1;
	es->nparents = np;
	uint32_t *no = realloc(es->node_of, cap * sizeof *no);
	if (no == NULL)
		return -1;
	es->node_of = no;
	es->capents = cap;
	return 0;
}

static bool has_node(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Whether entity e has exactly these attributes, tags and parent set. */
static bool same_entity(const pol_entities_t *es, size_t e, const pol_value_t *attrs,
			const pol_value_t *tags, const uint32_t *pn, size_t np)
{
	if (!pol_value_eq(attrs ? attrs : &empty_record, es->ents[e].attrs) ||
	    !pol_value_eq(tags ? tags : &empty_record, es->ents[e].tags))
		return false;
	for (size_t i = 0; i < np; i++)
		if (!has_node(es->parents[e], es->nparents[e], pn[i]))
			return false;
	for (size_t i = 0; i < es->nparents[e]; i++)
		if (!has_node(pn, np, es->parents[e][i]))
			return false;
	return true;
}

static uint32_t *intern_parents(pol_entities_t *es, const pol_euid_t *parents, size_t nparents)
{
	uint32_t *pn = pol_arena_alloc(es->arena, (nparents ? nparents : 1) * sizeof *pn);
	if (pn == NULL)
		return NULL;
	for (size_t i = 0; i < nparents; i++) {
		int64_t p = intern(es, &parents[i]);
		if (p < 0)
			return NULL;
		pn[i] = (uint32_t)p;
	}
	return pn;
}

int pol_entities_add(pol_entities_t *es, const pol_euid_t *uid, const pol_value_t *attrs,
		     const pol_value_t *tags, const pol_euid_t *parents, size_t nparents,
		     const char **why)
{
	if (es->sealed) {
		*why = "the entity store is sealed";
		return -1;
	}
	int64_t node = intern(es, uid);
	uint32_t *pn = node < 0 ? NULL : intern_parents(es, parents, nparents);
	if (pn == NULL || grow_ents(es) < 0) {
		*why = "out of memory";
		return -1;
	}
	int64_t dup = es->nodes[node].entity;
	if (dup >= 0) {
		if (same_entity(es, (size_t)dup, attrs, tags, pn, nparents))
			return 0; /* an identical repeat, which the reference accepts */
		*why = "duplicate entity uid (with different attributes, tags or parents)";
		return -1;
	}
	size_t e = es->nents++;
	es->nodes[node].entity = (int64_t)e;
	es->ents[e] = (pol_entity_t){.uid = es->nodes[node].uid,
				     .attrs = attrs ? attrs : &empty_record,
				     .tags = tags ? tags : &empty_record};
	es->parents[e] = pn;
	es->nparents[e] = (uint32_t)nparents;
	es->node_of[e] = (uint32_t)node;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

typedef struct {
	uint32_t *stamp; /* per node: the entity + 1 whose closure last saw it */
	uint32_t *stack, *found;
	size_t total;
} closure_t;

/* Depth-first walk over parents from entity e. Reaching e again is a
 * cycle, which the reference refuses; other nodes are visited once (the
 * stamp), so every entity's parents are pushed at most once and the stack
 * needs at most `edges` slots. */
static int close_one(pol_entities_t *es, closure_t *c, size_t e, const char **why)
{
	size_t nstack = 0, nfound = 0;
	uint32_t mark = (uint32_t)e + 1;
	for (uint32_t i = 0; i < es->nparents[e]; i++)
		c->stack[nstack++] = es->parents[e][i];
	while (nstack > 0) {
		uint32_t n = c->stack[--nstack];
		if (c->stamp[n] == mark)
			continue;
		if (n == es->node_of[e]) {
			*why = "the entity hierarchy has a cycle (an entity is its own ancestor)";
			es->cycle = (int64_t)e;
			return -1;
		}
		c->stamp[n] = mark;
		c->found[nfound++] = n;
		int64_t pe = es->nodes[n].entity;
		if (pe < 0)
			continue;
		for (uint32_t i = 0; i < es->nparents[pe]; i++)
			if (c->stamp[es->parents[pe][i]] != mark)
				c->stack[nstack++] = es->parents[pe][i];
	}
	c->total += nfound;
	if (c->total > TG_MAX_ENTITY_CLOSURE) {
		*why = "the entity hierarchy is too large (ancestor closure over the limit)";
		return -1;
	}
	uint32_t *anc = nfound ? pol_arena_alloc(es->arena, nfound * sizeof *anc) : NULL;
	if (nfound && anc == NULL) {
		*why = "out of memory";
		return -1;
	}
	if (nfound) {
		memcpy(anc, c->found, nfound * sizeof *anc);
		qsort(anc, nfound, sizeof *anc, cmp_u32);
	}
	es->ents[e].ancestors = anc;
	es->ents[e].nancestors = (uint32_t)nfound;
	return 0;
}

int pol_entities_seal(pol_entities_t *es, const char **why)
{
	if (es->sealed)
		return 0;
	size_t edges = 0;
	for (size_t e = 0; e < es->nents; e++)
		edges += es->nparents[e];
	closure_t c = {.stamp = calloc(es->nnodes + 1, sizeof(uint32_t)),
		       .stack = malloc((edges + 1) * sizeof(uint32_t)),
		       .found = malloc((es->nnodes + 1) * sizeof(uint32_t))};
	int rc = 0;
	if (c.stamp == NULL || c.stack == NULL || c.found == NULL) {
		*why = "out of memory";
		rc = -1;
	}
	for (size_t e = 0; rc == 0 && e < es->nents; e++)
		rc = close_one(es, &c, e, why);
	free(c.stamp);
	free(c.stack);
	free(c.found);
	if (rc == 0)
		es->sealed = true;
	return rc;
}

const pol_entity_t *pol_entities_find_hashed(const pol_entities_t *es, const pol_euid_t *uid,
					     uint64_t hash)
{
	int64_t n = lookup(es, uid, hash);
	if (n < 0 || es->nodes[n].entity < 0)
		return NULL;
	return &es->ents[es->nodes[n].entity];
}

const pol_entity_t *pol_entities_find(const pol_entities_t *es, const pol_euid_t *uid)
{
	return pol_entities_find_hashed(es, uid, pol_euid_hash(uid));
}

const pol_entity_t *pol_entities_cycle(const pol_entities_t *es)
{
	return es->cycle >= 0 ? &es->ents[es->cycle] : NULL;
}

bool pol_entities_ancestor_of(const pol_entities_t *es, const pol_entity_t *a,
			      const pol_euid_t *b, uint64_t bhash)
{
	if (a == NULL || a->nancestors == 0)
		return false;
	int64_t nb = lookup(es, b, bhash);
	if (nb < 0)
		return false;
	uint32_t key = (uint32_t)nb;
	return bsearch(&key, a->ancestors, a->nancestors, sizeof key, cmp_u32) != NULL;
}

bool pol_entities_in(const pol_entities_t *es, const pol_euid_t *a, const pol_euid_t *b)
{
	if (pol_euid_eq(a, b))
		return true;
	if (es == NULL)
		return false;
	return pol_entities_ancestor_of(es, pol_entities_find(es, a), b, pol_euid_hash(b));
}

void pol_entities_each_ancestor(const pol_entities_t *es, const pol_entity_t *e,
				void (*fn)(const pol_euid_t *anc, uint64_t hash, void *arg), void *arg)
{
	for (uint32_t i = 0; i < e->nancestors; i++) {
		const node_t *n = &es->nodes[e->ancestors[i]];
		fn(&n->uid, n->hash, arg);
	}
}
