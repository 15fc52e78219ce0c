/* scope_match.h - policy scopes compiled for matching: each constraint
 * keeps the hash of its entity (or type) beside it, so that a candidate
 * policy whose scope names another entity is rejected on a hash compare,
 * without reading the policy's strings (at 100,000 policies those reads
 * are cache misses that would dominate a decision). Equal hashes are
 * always confirmed on the strings: ids are attacker-chosen, a hash is not
 * an identity. */
#ifndef TG_POL_SCOPE_MATCH_H
#define TG_POL_SCOPE_MATCH_H
#include "core/policy/entities.h"
#include "core/policy/policy.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	uint8_t op;            /* pol_scope_op_t */
	uint32_t n;            /* POL_SCOPE_IN_SET */
	uint64_t hash;         /* pol_euid_hash of euid (EQ, IN, IS_IN) */
	uint64_t type_hash;    /* of type (IS, IS_IN) */
	const pol_euid_t *euid;
	pol_str_t type;
	const pol_euid_t *set; /* IN_SET */
	const uint64_t *set_hash;
} pol_scope_slot_t;

typedef struct {
	pol_scope_slot_t slot[3]; /* principal, action, resource */
} pol_scope_match_t;

/* One request entity, resolved once per decision. */
typedef struct {
	const pol_euid_t *uid;
	uint64_t hash;               /* pol_euid_hash(uid) */
	uint64_t type_hash;          /* pol_type_hash(uid->type) */
	const pol_entity_t *entity;  /* in the store, or NULL */
} pol_scope_subject_t;

uint64_t pol_type_hash(const pol_str_t *type);
/* Compiles p's scope; set hashes are allocated in a (the set's arena). -1
 * when out of memory. */
int pol_scope_compile(const pol_policy_t *p, pol_arena_t *a, pol_scope_match_t *out);
void pol_scope_subject(pol_scope_subject_t *s, const pol_entities_t *es, const pol_euid_t *uid);
/* Cedar's scope semantics (== , in, is, is-in, in [...]); never an error. */
bool pol_scope_match(const pol_scope_match_t *m, const pol_entities_t *es,
		     const pol_scope_subject_t subject[3]);

#endif
