/* rotation.c - the secret rotation state machine (rotation.h): next step,
 * outcome, back-off, reconciliation after a restart. */
#include "core/rotation.h"
#include <string.h>

static const char *const phase_names[ROT_PHASE_COUNT] = {
	[ROT_IDLE] = "idle",           [ROT_GENERATED] = "generated",     [ROT_SET] = "set",
	[ROT_VERIFIED] = "verified",   [ROT_PROMOTED] = "promoted",       [ROT_REVOKED] = "revoked",
	[ROT_OLD_DEAD] = "old_dead",   [ROT_ROLLBACK] = "rollback",       [ROT_RESTORED] = "restored",
	[ROT_ROLLED_BACK] = "rolled_back", [ROT_REAPPLY] = "reapply",     [ROT_REAPPLIED] = "reapplied",
};

static const char *const action_names[ROT_ACT_COUNT] = {
	[ROT_ACT_NONE] = "none",
	[ROT_ACT_WAIT] = "wait",
	[ROT_ACT_GENERATE] = "generate",
	[ROT_ACT_SET_NEW] = "set_new",
	[ROT_ACT_VERIFY_NEW] = "verify_new",
	[ROT_ACT_PROMOTE] = "promote",
	[ROT_ACT_REVOKE_OLD] = "revoke_old",
	[ROT_ACT_VERIFY_OLD_DEAD] = "verify_old_dead",
	[ROT_ACT_RETIRE] = "retire",
	[ROT_ACT_RESTORE_OLD] = "restore_old",
	[ROT_ACT_VERIFY_OLD] = "verify_old",
	[ROT_ACT_ABANDON] = "abandon",
};

const char *rotation_phase_name(rot_phase_t p)
{
	return (unsigned)p < ROT_PHASE_COUNT ? phase_names[p] : "unknown";
}

int rotation_phase_parse(const char *name, rot_phase_t *out)
{
	for (int i = 0; i < ROT_PHASE_COUNT; i++)
		if (strcmp(name, phase_names[i]) == 0) {
			*out = (rot_phase_t)i;
			return 0;
		}
	return -1;
}

const char *rotation_action_name(rot_action_t a)
{
	return (unsigned)a < ROT_ACT_COUNT ? action_names[a] : "unknown";
}

bool rotation_in_progress(const rot_state_t *s)
{
	return s->phase != ROT_IDLE;
}

bool rotation_promoted(const rot_state_t *s)
{
	switch (s->phase) {
	case ROT_PROMOTED:
	case ROT_REVOKED:
	case ROT_OLD_DEAD:
	case ROT_REAPPLY:
	case ROT_REAPPLIED:
		return true;
	default:
		return false;
	}
}

/* The step each phase leads to, once no back-off or grace holds it. */
static const rot_action_t phase_step[ROT_PHASE_COUNT] = {
	[ROT_IDLE] = ROT_ACT_GENERATE,
	[ROT_GENERATED] = ROT_ACT_SET_NEW,
	[ROT_SET] = ROT_ACT_VERIFY_NEW,
	[ROT_VERIFIED] = ROT_ACT_PROMOTE,
	[ROT_PROMOTED] = ROT_ACT_REVOKE_OLD,
	[ROT_REVOKED] = ROT_ACT_VERIFY_OLD_DEAD,
	[ROT_OLD_DEAD] = ROT_ACT_RETIRE,
	[ROT_ROLLBACK] = ROT_ACT_RESTORE_OLD,
	[ROT_RESTORED] = ROT_ACT_VERIFY_OLD,
	[ROT_ROLLED_BACK] = ROT_ACT_ABANDON,
	[ROT_REAPPLY] = ROT_ACT_SET_NEW,
	[ROT_REAPPLIED] = ROT_ACT_VERIFY_NEW,
};

rot_action_t rotation_next(const rot_state_t *s, int64_t now, bool due)
{
	if ((unsigned)s->phase >= ROT_PHASE_COUNT)
		return ROT_ACT_NONE;
	if (s->phase == ROT_IDLE && !due)
		return ROT_ACT_NONE;
	if (now < s->not_before)
		return ROT_ACT_WAIT;
	if (s->phase == ROT_PROMOTED && now < s->retire_after)
		return ROT_ACT_WAIT;
	return phase_step[s->phase];
}

int64_t rotation_backoff(uint32_t failures, const rot_policy_t *p)
{
	int64_t base = p->retry_base > 0 ? p->retry_base : 1;
	int64_t max = p->retry_max >= base ? p->retry_max : base;
	int64_t d = base;
	for (uint32_t i = 1; i < failures && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	return d < max ? d : max;
}

static void fail_later(rot_state_t *s, rot_phase_t next, int64_t now, const rot_policy_t *p)
{
	if (s->failures < UINT32_MAX)
		s->failures++;
	s->phase = next;
	s->not_before = now + rotation_backoff(s->failures, p);
}

/* A failure before promotion: roll back at once (the rollback's own
 * failures back off). */
static void fail_to_rollback(rot_state_t *s)
{
	if (s->failures < UINT32_MAX)
		s->failures++;
	s->phase = ROT_ROLLBACK;
	s->not_before = 0;
}

static void succeed(rot_state_t *s, rot_phase_t next)
{
	s->phase = next;
	s->not_before = 0;
}

static void apply_ok(rot_state_t *s, rot_action_t a, int64_t now, const rot_policy_t *p)
{
	switch (a) {
	case ROT_ACT_GENERATE:
		succeed(s, ROT_GENERATED);
		break;
	case ROT_ACT_SET_NEW:
		succeed(s, s->phase == ROT_REAPPLY ? ROT_REAPPLIED : ROT_SET);
		break;
	case ROT_ACT_VERIFY_NEW:
		succeed(s, s->phase == ROT_REAPPLIED ? ROT_PROMOTED : ROT_VERIFIED);
		break;
	case ROT_ACT_PROMOTE:
		succeed(s, ROT_PROMOTED);
		s->failures = 0;
		s->retire_after = now + (p->grace > 0 ? p->grace : 0);
		break;
	case ROT_ACT_REVOKE_OLD:
		succeed(s, ROT_REVOKED);
		break;
	case ROT_ACT_VERIFY_OLD_DEAD:
		succeed(s, ROT_OLD_DEAD);
		break;
	case ROT_ACT_RETIRE:
		succeed(s, ROT_IDLE);
		s->failures = 0;
		s->retire_after = 0;
		break;
	case ROT_ACT_RESTORE_OLD:
		succeed(s, ROT_RESTORED);
		break;
	case ROT_ACT_VERIFY_OLD:
		succeed(s, ROT_ROLLED_BACK);
		break;
	case ROT_ACT_ABANDON:
		/* Back to idle, but the next attempt waits out the back-off. */
		s->phase = ROT_IDLE;
		s->not_before = now + rotation_backoff(s->failures > 0 ? s->failures : 1, p);
		break;
	default:
		break;
	}
}

static void apply_failed(rot_state_t *s, rot_action_t a, int64_t now, const rot_policy_t *p)
{
	switch (a) {
	case ROT_ACT_SET_NEW:
	case ROT_ACT_VERIFY_NEW:
		if (s->phase == ROT_REAPPLY || s->phase == ROT_REAPPLIED)
			fail_later(s, ROT_REAPPLY, now, p); /* promoted: nothing older to go back to */
		else
			fail_to_rollback(s);
		break;
	case ROT_ACT_VERIFY_OLD_DEAD:
		fail_later(s, ROT_PROMOTED, now, p); /* still accepted: revoke again */
		break;
	case ROT_ACT_VERIFY_OLD:
		fail_later(s, ROT_ROLLBACK, now, p); /* restore again */
		break;
	case ROT_ACT_GENERATE:
	case ROT_ACT_PROMOTE:
	case ROT_ACT_REVOKE_OLD:
	case ROT_ACT_RETIRE:
	case ROT_ACT_RESTORE_OLD:
	case ROT_ACT_ABANDON:
		fail_later(s, s->phase, now, p); /* the same step again */
		break;
	default:
		break;
	}
}

void rotation_apply(rot_state_t *s, rot_action_t a, bool ok, int64_t now, const rot_policy_t *p)
{
	if ((unsigned)s->phase >= ROT_PHASE_COUNT || a == ROT_ACT_NONE || a == ROT_ACT_WAIT ||
	    (unsigned)a >= ROT_ACT_COUNT)
		return;
	if (ok)
		apply_ok(s, a, now, p);
	else
		apply_failed(s, a, now, p);
}

void rotation_reconcile(rot_state_t *s, bool new_works, bool old_works)
{
	switch (s->phase) {
	case ROT_GENERATED:
		/* Killed around the set: the target has the new one, or
		 * still the old one (set it), or neither (restore). */
		s->phase = new_works ? ROT_SET : old_works ? ROT_GENERATED : ROT_ROLLBACK;
		break;
	case ROT_SET:
	case ROT_VERIFIED:
		s->phase = new_works ? ROT_VERIFIED : ROT_ROLLBACK;
		break;
	case ROT_ROLLBACK:
	case ROT_RESTORED:
	case ROT_ROLLED_BACK:
		s->phase = old_works ? ROT_ROLLED_BACK : ROT_ROLLBACK;
		break;
	case ROT_PROMOTED:
	case ROT_REVOKED:
	case ROT_OLD_DEAD:
		if (!new_works)
			s->phase = ROT_REAPPLY;
		break;
	case ROT_REAPPLY:
	case ROT_REAPPLIED:
		s->phase = new_works ? ROT_PROMOTED : ROT_REAPPLY;
		break;
	default:
		break;
	}
}

const char *rotation_audit_type(rot_action_t a, bool ok)
{
	if (!ok)
		return "secret.rotation.failed";
	if (a == ROT_ACT_GENERATE)
		return "secret.rotation.started";
	if (a == ROT_ACT_PROMOTE)
		return "secret.rotated";
	if (a == ROT_ACT_ABANDON)
		return "secret.rotation.rolled_back";
	return "secret.rotation.step";
}
