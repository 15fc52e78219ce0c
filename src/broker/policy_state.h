/* policy_state.h - the broker's live Cedar state: the compiled policy set
 * and the entities it is evaluated against, with their versions, as one
 * immutable view that request threads borrow by reference.
 *
 * Readers (issuance, /v1/authorize) take the current view with
 * policy_acquire() - a mutex held for one pointer copy and a reference
 * count increment - and give it back with policy_release(). They never wait
 * for a rebuild: writers build the new engine or entity store first, outside
 * any lock readers take, then swap the pointer. A view (and the engine or
 * entity store in it, which consecutive views share) is freed when its last
 * reader lets go.
 *
 * Writers (PUT /v1/policies, the /v1/entities writes, identity writes) are
 * serialized by the writer lock, held across store write and swap, so the
 * installed view always matches what the store holds.
 *
 * The entity set is the union of the entities administrators upload and
 * the ones the registry contributes (identities and operators), merged as
 * core/policy/registry_entities.h says. */
#ifndef TG_POLICY_STATE_H
#define TG_POLICY_STATE_H
#include "broker/broker.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include "core/policy/request_context.h"
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct policy_state policy_state_t;

typedef struct {
	const pol_engine_t *engine;
	const pol_entities_t *entities;
	int64_t policy_version;   /* 0: no policy stored (everything is denied) */
	int64_t entities_version;
	char policy_sha256[65];
} policy_view_t;

/* Loads the current policy set, the stored entities and the identities and
 * installs the first view. A stored set or entity that no longer loads is
 * logged and left out (fail closed: less is permitted, never more). -1 only
 * when memory or the store fails. */
int policy_state_open(broker_t *b, char *err, size_t err_len) __attribute__((warn_unused_result));
void policy_state_close(broker_t *b);

/* The current view; never NULL after policy_state_open. */
const policy_view_t *policy_acquire(broker_t *b);
void policy_release(const policy_view_t *v);
/* The policy id of policy i of v's set. */
pol_str_t policy_id(const policy_view_t *v, uint32_t i);
json_t *policy_id_json(const policy_view_t *v, uint32_t i);

/* This thread's decision scratch (created on first use, freed when the
 * thread exits); NULL when out of memory. */
pol_scratch_t *policy_scratch(void);

/* ---- writers: all of these need the writer lock (the entity readers
 * too: the maps change under it) ---- */
void policy_writer_lock(broker_t *b);
void policy_writer_unlock(broker_t *b);

/* Installs eng (taken) as policy version `version`, keeping the entities. */
void policy_install_engine(broker_t *b, pol_engine_t *eng, int64_t version, const char *sha256);

/* The uploaded entities as installed: an object from entity key
 * (pol_entity_key) to normalized entity. Borrowed. */
const json_t *policy_user_entities(broker_t *b);
/* Builds the entity store that `user` (an object like the one above)
 * merged with the identities' entities makes; NULL with err when it does
 * not load. */
pol_entities_t *policy_build_entities(broker_t *b, const json_t *user, char *err, size_t err_len);
/* Installs es (taken, built by policy_build_entities from user, also
 * taken) at entities version `version`. */
void policy_install_entities(broker_t *b, pol_entities_t *es, json_t *user, int64_t version);
/* An identity write in two steps, both under the writer lock: prepare
 * builds the entity set the identity would make (ident NULL: the identity
 * id leaves the set, as when it is offboarded) before the store write, so
 * a write whose roles would not load (a cycle through an uploaded entity)
 * is refused instead of leaving a stale view; commit installs it after the
 * write succeeded, abort drops it. */
typedef struct policy_pending policy_pending_t;
policy_pending_t *policy_identity_prepare(broker_t *b, const char *id, const identity_t *ident, char *err,
					  size_t err_len);
/* The same for an operator write: Operator::"<username>" with a parent
 * Role::"<role>" per role; op NULL or disabled
 * removes it. Committed and aborted as identity writes. */
policy_pending_t *policy_operator_prepare(broker_t *b, const char *username, const operator_t *op, char *err,
					  size_t err_len);
void policy_identity_commit(broker_t *b, policy_pending_t *p);
/* p, or (p NULL) answers 409 "Entity conflict" saying why and returns NULL. */
policy_pending_t *policy_pending_checked(req_t *r, policy_pending_t *p, const char *why);
/* Commits p when the store write succeeded (rc STORE_OK), else aborts it. */
void policy_pending_finish(broker_t *b, policy_pending_t *p, store_rc rc);
void policy_identity_abort(policy_pending_t *p);
/* The merged entity set as a Cedar entities JSON array (GET
 * /v1/entities?effective=true). New reference. */
json_t *policy_effective_entities(broker_t *b);

/* ---- entity documents ---- */

/* Cedar's text form Type::"id" with " and \ escaped, malloc'd
 * (pol_uid_text). Entity documents are read by
 * core/policy/entities_input.h: pol_entity_normalize, pol_entity_key. */
char *policy_uid_text(const char *type, const char *id);

/* ---- requests ---- */

/* Adds the context in describes (core/policy/request_context.h: now, hour,
 * weekday, src_ip, token_age_s, grant, change_window, ...) to ctx where
 * the caller did not give the key. */
void policy_context_defaults(json_t *ctx, const pol_ctx_input_t *in);

#endif
