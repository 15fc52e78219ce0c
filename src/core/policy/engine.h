/* engine.h - Tollgate's Cedar authorizer: a parsed policy set compiled into
 * an index, and the decision for one request.
 *
 * The decision follows Cedar exactly (default deny, a satisfied forbid
 * wins, a policy whose condition errors is skipped and reported), so with
 * obligations off it is comparable with the reference. Obligations
 * (docs/policy.md, Obligations) ride on annotations Cedar ignores: a satisfied permit
 * counts only when its @requires_grant and @requires_mfa are met by the
 * request's facts; @max_ttl caps token lifetimes and @audit asks for a full
 * audit record.
 *
 * Threads: an engine and an entity store are read-only once built; each
 * thread evaluates with its own pol_scratch_t. */
#ifndef TG_POL_ENGINE_H
#define TG_POL_ENGINE_H
#include "core/policy/entities.h"
#include "core/policy/policy.h"
#include "core/policy/value.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pol_engine pol_engine_t;

/* Compiles set (the engine takes ownership, also on failure). Checks the
 * obligation annotations' values (@max_ttl("300") must be a positive
 * number of seconds, ...); -1 with err naming the policy and annotation. */
int pol_engine_new(pol_set_t *set, pol_engine_t **out, pol_error_t *err)
	__attribute__((warn_unused_result));
void pol_engine_free(pol_engine_t *eng);
const pol_set_t *pol_engine_set(const pol_engine_t *eng);

typedef struct {
	pol_euid_t principal, action, resource;
	const pol_value_t *context; /* PV_RECORD, or NULL for {} */
	/* Context attributes not known yet: a decision taken before the
	 * request (token issuance, a grant) asks whether SOME request could be
	 * allowed. A condition that reads (or tests with `has`) one of these,
	 * absent from context, is undecided: an undecided permit counts as
	 * satisfied, an undecided forbid as not applying, and neither is an
	 * error. The request-time decision (the edge) then decides it with
	 * the attribute known. None (the default): Cedar's semantics. */
	const pol_str_t *unknown;
	size_t nunknown;
} pol_request_t;

/* Facts that obligations are checked against. */
typedef struct {
	int64_t grant_approvals; /* approvals of the JIT grant; -1: no grant */
	int64_t mfa_age_s;       /* seconds since the operator's MFA; -1: none */
} pol_facts_t;

typedef enum {
	POL_OBL_NONE = 0,
	POL_OBL_GRANT,  /* @requires_grant not met */
	POL_OBL_MFA,    /* @requires_mfa not met */
} pol_obligation_t;

typedef struct {
	uint32_t policy;     /* index into the set */
	const char *message; /* why it errored (in the scratch) */
} pol_eval_error_t;

typedef struct {
	uint32_t policy;
	pol_obligation_t missing;
	int64_t needed;      /* approvals or max MFA age the policy asks for */
} pol_unmet_t;

typedef struct {
	bool allow;
	/* Determining policies, ascending: the satisfied permits when allowed
	 * (those whose obligations are met), else the satisfied forbids. */
	const uint32_t *reasons;
	size_t nreasons;
	const pol_eval_error_t *errors; /* ascending by policy */
	size_t nerrors;
	/* Satisfied permits that did not count because an obligation was not
	 * met (only when facts were given). */
	const pol_unmet_t *unmet;
	size_t nunmet;
	int64_t max_ttl;  /* smallest @max_ttl of the reasons when allowed; -1 none */
	bool audit_full;  /* some reason carries @audit("full") */
} pol_decision_t;

/* Per-thread working memory for decisions; a decision's arrays live in it
 * until the next pol_authorize with the same scratch. */
typedef struct pol_scratch pol_scratch_t;
pol_scratch_t *pol_scratch_new(void);
void pol_scratch_free(pol_scratch_t *s);

/* Decides req against the engine's policies and the entities (NULL: none).
 * facts NULL: plain Cedar semantics (obligations ignored). Returns 0, or
 * -1 only when the scratch runs out of memory (the decision is then deny). */
int pol_authorize(const pol_engine_t *eng, const pol_entities_t *es, const pol_request_t *req,
		  const pol_facts_t *facts, pol_scratch_t *s, pol_decision_t *out);

#endif
