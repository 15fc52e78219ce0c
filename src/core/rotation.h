/* rotation.h - the secret rotation state machine, pure (docs/secrets.md,
 * "Rotation"): which step comes next for a persisted rotation state and a
 * clock, what each step's outcome makes of the state, the back-off after a
 * failure, and how a state left by a broker killed mid-rotation is
 * reconciled with what the target accepts. No I/O, no clock: the engine
 * (src/broker/secret_rotation.c) performs the steps and passes `now`.
 *
 * The steps of one rotation, each persisted before the next starts:
 *
 *   IDLE --generate--> GENERATED --set new--> SET --verify new--> VERIFIED
 *     --promote--> PROMOTED --(retire_after) revoke old--> REVOKED
 *     --verify old refused--> OLD_DEAD --retire--> IDLE
 *
 * Before promotion the store's current credential is the old one, and a
 * failed step (set, verify) rolls back: ROLLBACK --restore old--> RESTORED
 * --verify old--> ROLLED_BACK --abandon (pending -> failed)--> IDLE, with
 * back-off. After promotion the new credential is current and works, so a
 * failed revoke (or an old credential still accepted) is retried with
 * back-off, never rolled back. REAPPLY/REAPPLIED repair a target that lost
 * the promoted credential (found only by reconciliation). At no step is
 * there no credential that both the store and the target hold. */
#ifndef TG_ROTATION_H
#define TG_ROTATION_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	ROT_IDLE,        /* no rotation in progress */
	ROT_GENERATED,   /* a pending version is stored; the target may not have it */
	ROT_SET,         /* the target accepted the new credential */
	ROT_VERIFIED,    /* a login with the new credential worked */
	ROT_PROMOTED,    /* new is current, old previous until retire_after */
	ROT_REVOKED,     /* the target was told to drop the old credential */
	ROT_OLD_DEAD,    /* the old credential is refused: retire it */
	ROT_ROLLBACK,    /* a step before promotion failed: restore the old one */
	ROT_RESTORED,    /* the old credential was set back: verify it */
	ROT_ROLLED_BACK, /* the old one works again: mark the pending one failed */
	ROT_REAPPLY,     /* promoted, but the target lost it: set it again */
	ROT_REAPPLIED,   /* set again: verify it */
	ROT_PHASE_COUNT,
} rot_phase_t;

typedef enum {
	ROT_ACT_NONE,            /* nothing to do (idle, not due) */
	ROT_ACT_WAIT,            /* back-off or grace still running */
	ROT_ACT_GENERATE,        /* store a new random value as the pending version */
	ROT_ACT_SET_NEW,         /* driver set: the new (pending or current) credential */
	ROT_ACT_VERIFY_NEW,      /* driver verify: the new credential must work */
	ROT_ACT_PROMOTE,         /* store: pending -> current, current -> previous */
	ROT_ACT_REVOKE_OLD,      /* driver revoke: the previous credential */
	ROT_ACT_VERIFY_OLD_DEAD, /* driver verify: the previous credential must be refused */
	ROT_ACT_RETIRE,          /* store: previous -> retired */
	ROT_ACT_RESTORE_OLD,     /* driver set: the current (old) credential back */
	ROT_ACT_VERIFY_OLD,      /* driver verify: the current (old) credential must work */
	ROT_ACT_ABANDON,         /* store: pending -> failed */
	ROT_ACT_COUNT,
} rot_action_t;

/* Retry timing after a failed step: base, 2*base, 4*base, ... at most max. */
typedef struct {
	int64_t grace;      /* seconds the previous credential stays valid after promotion */
	int64_t retry_base; /* first back-off, seconds (>= 1) */
	int64_t retry_max;  /* largest back-off, seconds (>= retry_base) */
} rot_policy_t;

#define ROT_DEFAULT_RETRY_BASE 30
#define ROT_DEFAULT_RETRY_MAX 3600

/* What the engine persists per secret between steps. */
typedef struct {
	rot_phase_t phase;
	uint32_t failures;    /* failed steps in a row (back-off exponent); 0 after a promotion */
	int64_t not_before;   /* no step before this time (back-off); 0 = none */
	int64_t retire_after; /* PROMOTED..OLD_DEAD: the old credential's end of grace */
} rot_state_t;

const char *rotation_phase_name(rot_phase_t p);
/* 0, or -1 when name is not a phase. */
int rotation_phase_parse(const char *name, rot_phase_t *out);
const char *rotation_action_name(rot_action_t a);

/* True while a rotation is under way (any phase but IDLE). */
bool rotation_in_progress(const rot_state_t *s);
/* True in the phases where the store's current credential is the new one
 * (PROMOTED, REVOKED, OLD_DEAD, REAPPLY, REAPPLIED). */
bool rotation_promoted(const rot_state_t *s);

/* The step to perform now. `due` says whether an idle secret's rotation is
 * due (schedule reached or asked for). While the back-off runs, WAIT. */
rot_action_t rotation_next(const rot_state_t *s, int64_t now, bool due);

/* The state after action a ended with ok (true: the step did what it
 * should; for VERIFY_OLD_DEAD that is "the old credential was refused").
 * A failure counts toward the back-off and sets not_before, except for the
 * failures that start a rollback, which begins at once. */
void rotation_apply(rot_state_t *s, rot_action_t a, bool ok, int64_t now, const rot_policy_t *p);

/* Back-off after `failures` failed steps in a row (failures >= 1). */
int64_t rotation_backoff(uint32_t failures, const rot_policy_t *p);

/* After a restart, for a rotation in progress: the phase that agrees with
 * what the target accepts now (new_works: a login with the new credential
 * worked; old_works: with the old one). Before promotion, a new credential
 * that works is kept (it goes on to promotion), else the old one is
 * restored; after promotion, a new credential the target lost is set
 * again. The back-off is left as it was. */
void rotation_reconcile(rot_state_t *s, bool new_works, bool old_works);

/* The audit record type of action a's outcome: "secret.rotation.started"
 * (a generated pending version), "secret.rotated" (promotion),
 * "secret.rotation.rolled_back" (the pending version abandoned),
 * "secret.rotation.failed" (any failed step), else
 * "secret.rotation.step". */
const char *rotation_audit_type(rot_action_t a, bool ok);

#endif
