/* registry_entities.h - the entities the registry contributes (identities
 * and operators as Cedar entities) and their merge with the entities
 * administrators upload (docs/policy.md, Entities). Pure: JSON in, JSON out.
 *
 * Every identity that is not offboarded is Workload::"<id>" with
 * attributes kind, owner and status and a parent Role::"<role>" for each of
 * its roles; every operator that is not disabled is Operator::"<username>"
 * with a parent Role::"<role>" per role. When an uploaded entity has the
 * same uid, the two merge: parents are the union, tags are the upload's,
 * attributes are the upload's except kind, owner and status, which always
 * come from the registry (it is the authority on those facts). */
#ifndef TG_POLICY_REGISTRY_ENTITIES_H
#define TG_POLICY_REGISTRY_ENTITIES_H
#include "core/identity.h"
#include "core/operator.h"
#include <jansson.h>

/* The entity of an identity / an operator (Cedar entities JSON, uids as
 * {"type","id"}). New references. */
json_t *pol_identity_entity(const identity_t *id);
/* roles: OP_ROLE_* bits (core/operator.h) */
json_t *pol_operator_entity(const char *username, unsigned roles);

/* The merged entity set as an array: user and registry are objects from
 * entity key (pol_entity_key) to normalised entity. New reference. */
json_t *pol_entities_merged(const json_t *user, const json_t *registry);

#endif
