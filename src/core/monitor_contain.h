/* monitor_contain.h - which monitor findings are contained, and how
 * (docs/monitoring.md, Containment), pure: the rules of the
 * monitor_contain configuration key and the responses a finding gets.
 *
 *   monitor_contain = RULE [RULE ...]      (separated by spaces or ';')
 *   RULE            = DETECTOR[:SEVERITY]=ACTION[+ACTION ...]
 *   DETECTOR        = a detector name (core/monitor.h) or * for any
 *   SEVERITY        = the least severity the rule applies to (default low)
 *   ACTION          = suspend | end_grants | revoke_tokens
 *
 * A finding gets the union of the actions of every rule it matches. The
 * mode (monitor_containment = off | dry_run | enforce) says whether they
 * are carried out or only recorded. */
#ifndef TG_MONITOR_CONTAIN_H
#define TG_MONITOR_CONTAIN_H
#include "core/monitor.h"

enum {
	CONTAIN_SUSPEND = 1u << 0,       /* the identity's status becomes suspended */
	CONTAIN_END_GRANTS = 1u << 1,    /* its active grants are revoked */
	CONTAIN_REVOKE_TOKENS = 1u << 2, /* its live tokens are revoked */
};
#define CONTAIN_ACTIONS 3
#define MON_MAX_CONTAIN_RULES 16

typedef enum { CONTAIN_OFF, CONTAIN_DRY_RUN, CONTAIN_ENFORCE } contain_mode_t;

typedef struct {
	int detector; /* -1: any */
	mon_severity_t min_severity;
	unsigned actions;
} contain_rule_t;

typedef struct {
	contain_mode_t mode;
	size_t n;
	contain_rule_t rule[MON_MAX_CONTAIN_RULES];
} contain_policy_t;

/* mode: "off", "dry_run" or "enforce"; rules as above. NULL, or a
 * sentence naming what is wrong (into buf). */
const char *contain_parse(const char *mode, const char *rules, contain_policy_t *out, char *buf, size_t len);
/* The actions for a finding (0 when no rule matches). */
unsigned contain_actions(const contain_policy_t *p, mon_detector_t d, mon_severity_t s);
const char *contain_action_name(unsigned action_bit);
const char *contain_mode_name(contain_mode_t m);

#endif
