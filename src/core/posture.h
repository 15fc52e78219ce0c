/* posture.h - the NHI hygiene report (docs/report.md): from the inventory
 * of identities, the policy set, the entities, what each identity used in
 * the last N days and `now`, the findings (each mapped to the OWASP
 * Non-Human Identities Top 10 2025 and NIST CSF 2.0 PR.AA with its
 * evidence), the shares that are tracked over time and the inventory, as
 * one JSON document (schema "tollgate.posture.v1"). Pure: the broker
 * gathers the inputs (broker/posture.c), renderers turn the document into
 * text or one self-contained HTML file (core/posture_render.c).
 *
 * Unused permissions are found by evaluating policy: for each identity
 * that is not offboarded, every candidate action (Action entities and the
 * actions policies name) on every candidate resource (entities that are
 * not Workload, Operator, Role or Action, and the resources policies name)
 * is decided with an empty context and no grant. A pair is a standing scope
 * when the decision allows it, or when no forbid applies and a permit
 * without @requires_grant applies but its condition needs context (time,
 * source): what policy may allow without a JIT grant. A standing scope is
 * used when a scope token the identity was issued or an action an
 * enforcement point allowed in the window lies within it or contains it. */
#ifndef TG_POSTURE_H
#define TG_POSTURE_H
#include "core/identity.h"
#include "core/policy/engine.h"
#include "core/policy/entities.h"
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define POSTURE_SCHEMA "tollgate.posture.v1"
#define POSTURE_MAX_UNUSED_DAYS 3650
#define POSTURE_MAX_PATTERNS 32
/* Decisions the unused-permission check makes at most for one report; past
 * it the remaining identities are not evaluated and the report says so. */
#define POSTURE_MAX_DECISIONS 5000000

typedef struct {
	int64_t now;
	int64_t unused_days;     /* unused for this many days: a finding */
	int64_t key_max_age;     /* rotation policy (s) unless the identity's entity says key_max_age */
	int64_t max_ttl_limit;   /* a permit's @max_ttl above this (s): a finding */
	const char *privileged;  /* space-separated glob patterns of privileged action ids */
} posture_params_t;

typedef struct {
	const identity_t *ids;   /* the inventory */
	size_t n_ids;
	/* {"<identity id>": n} active JIT grants; missing = 0. */
	const json_t *active_grants;
	/* {"<identity id>": {"last": unix s, "scopes": ["ACTION@Type:id", ...]}}:
	 * what each identity used in the window (missing: nothing). */
	const json_t *usage;
	/* The merged entity set (Cedar entities JSON array): candidates, and
	 * each Workload's key_max_age attribute. */
	const json_t *entities;
	const pol_engine_t *engine; /* NULL: no policy stored */
	const pol_entities_t *es;   /* the same entities, sealed */
	/* Static secrets [{"name", "owner", "next_due": unix s, ...}], or NULL
	 * when there is no secret store (the report says so). */
	const json_t *secrets;
	/* Earlier snapshots [{"time", "source", "shares": {name: share}}],
	 * oldest first; NULL = none. */
	const json_t *history;
} posture_input_t;

/* Checks params (unused_days 1..POSTURE_MAX_UNUSED_DAYS, key_max_age and
 * max_ttl_limit positive, at most POSTURE_MAX_PATTERNS well-formed
 * patterns); NULL when good, else why. */
const char *posture_params_check(const posture_params_t *p);

/* The report document, or NULL when out of memory. The scratch is the
 * caller's thread's (engine.h). */
json_t *posture_report(const posture_params_t *p, const posture_input_t *in, pol_scratch_t *scratch);

/* The shares member of a report as a history entry {"time", "source",
 * "shares": {name: share}}. New reference. */
json_t *posture_snapshot(const json_t *report, const char *source);

/* Whether action id matches one of the space-separated glob patterns
 * ('*' matches any run of characters). */
bool posture_action_privileged(const char *patterns, const char *action);

/* OWASP NHI Top 10 2025 / NIST CSF 2.0 titles, e.g. "NHI5" -> "Overprivileged
 * NHI", "PR.AA-05" -> its outcome; NULL for an unknown code. */
const char *posture_mapping_title(const char *code);

/* ---- renderers (posture_render.c) ---- */

/* A report for a terminal / one self-contained HTML file (inline CSS and
 * SVG, no scripts, no external references). malloc'd, NULL when out of
 * memory. */
char *posture_render_text(const json_t *report);
char *posture_render_html(const json_t *report);

#endif
