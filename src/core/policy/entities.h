/* entities.h - the entity store an evaluation reads: entities with their
 * attributes, tags and parents, and the transitive closure of the parent
 * relation, computed once when the store is sealed so that `in` is a hash
 * lookup and a binary search.
 *
 * Build: pol_entities_new(), allocate attribute values in
 * pol_entities_arena() (or anywhere that outlives the store; add copies
 * nothing), pol_entities_add() each entity, pol_entities_seal(). After the
 * seal the store is read-only and safe to share between threads. Parents
 * may name entities that are not in the store; `in` still follows them one
 * step (Cedar's semantics). A cycle in the parent graph is refused at the
 * seal, as the reference refuses it. */
#ifndef TG_POL_ENTITIES_H
#define TG_POL_ENTITIES_H
#include "core/policy/arena.h"
#include "core/policy/value.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct pol_entities pol_entities_t;

typedef struct {
	pol_euid_t uid;
	const pol_value_t *attrs;  /* PV_RECORD (maybe empty), never NULL */
	const pol_value_t *tags;   /* PV_RECORD (maybe empty), never NULL */
	const uint32_t *ancestors; /* sorted node numbers, see pol_entities_in */
	uint32_t nancestors;
} pol_entity_t;

pol_entities_t *pol_entities_new(void);
void pol_entities_free(pol_entities_t *es);
/* The arena the store frees with itself. */
pol_arena_t *pol_entities_arena(pol_entities_t *es);
/* Adds one entity. attrs and tags are PV_RECORD values or NULL (empty);
 * the uid, parents and values must live as long as the store (for example
 * in its arena). An identical repeat of an entity (same attributes, tags
 * and parent set) is accepted and ignored, as the reference accepts it.
 * -1 with a message in why (a static string) when the uid is already
 * present with different contents, the store is sealed or memory ran
 * out. */
int pol_entities_add(pol_entities_t *es, const pol_euid_t *uid, const pol_value_t *attrs,
		     const pol_value_t *tags, const pol_euid_t *parents, size_t nparents,
		     const char **why) __attribute__((warn_unused_result));
/* Computes ancestors; -1 when the parents form a cycle (then
 * pol_entities_cycle names an entity on it) or the closure would exceed
 * TG_MAX_ENTITY_CLOSURE entries in all (a bound on pathological graphs). */
int pol_entities_seal(pol_entities_t *es, const char **why) __attribute__((warn_unused_result));
const pol_entity_t *pol_entities_cycle(const pol_entities_t *es);
size_t pol_entities_count(const pol_entities_t *es);
/* The entity with that uid, or NULL; _hashed takes pol_euid_hash(uid). */
const pol_entity_t *pol_entities_find(const pol_entities_t *es, const pol_euid_t *uid);
const pol_entity_t *pol_entities_find_hashed(const pol_entities_t *es, const pol_euid_t *uid,
					     uint64_t hash);
/* Cedar's `a in b` for entity references: a == b, or b is a transitive
 * parent of a. */
bool pol_entities_in(const pol_entities_t *es, const pol_euid_t *a, const pol_euid_t *b);
/* Whether b (with its pol_euid_hash) is a transitive parent of the entity a
 * of this store (false for a NULL a): `in` without the lookup of a, for
 * callers that resolved a once. */
bool pol_entities_ancestor_of(const pol_entities_t *es, const pol_entity_t *a,
			      const pol_euid_t *b, uint64_t bhash);
/* Calls fn for each ancestor of e (an entity of this store; not e itself),
 * in no particular order, with the ancestor's pol_euid_hash. */
void pol_entities_each_ancestor(const pol_entities_t *es, const pol_entity_t *e,
				void (*fn)(const pol_euid_t *anc, uint64_t hash, void *arg), void *arg);

#endif
