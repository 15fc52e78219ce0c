/* monitor_contain.c - containment rules (monitor_contain.h). */
#include "core/monitor_contain.h"
#include <stdio.h>
#include <string.h>

static const char *const action_names[CONTAIN_ACTIONS] = {"suspend", "end_grants", "revoke_tokens"};
static const char *const mode_names[] = {"off", "dry_run", "enforce"};

const char *contain_action_name(unsigned bit)
{
	for (unsigned i = 0; i < CONTAIN_ACTIONS; i++)
		if (bit == 1u << i)
			return action_names[i];
	return "unknown";
}

const char *contain_mode_name(contain_mode_t m) { return m <= CONTAIN_ENFORCE ? mode_names[m] : "unknown"; }

/* One "name" of len bytes in a list of names; -1 when none. */
static int lookup(const char *const *names, int n, const char *s, size_t len)
{
	for (int i = 0; i < n; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}

static const char *parse_actions(const char *s, size_t len, unsigned *out, char *buf, size_t blen)
{
	*out = 0;
	for (;;) {
		size_t n = 0;
		while (n < len && s[n] != '+')
			n++;
		int a = lookup(action_names, CONTAIN_ACTIONS, s, n);
		if (a < 0) {
			snprintf(buf, blen, "monitor_contain: unknown action '%.*s' (suspend, end_grants, revoke_tokens)",
				 (int)(n > 40 ? 40 : n), s);
			return buf;
		}
		*out |= 1u << a;
		if (n == len)
			return NULL;
		s += n + 1;
		len -= n + 1;
	}
}

static const char *parse_rule(const char *s, size_t len, contain_rule_t *r, char *buf, size_t blen)
{
	const char *eq = memchr(s, '=', len), *colon = memchr(s, ':', len);
	if (eq == NULL) {
		snprintf(buf, blen, "monitor_contain: '%.*s' is not DETECTOR[:SEVERITY]=ACTION[+ACTION]",
			 (int)(len > 60 ? 60 : len), s);
		return buf;
	}
	if (colon != NULL && colon > eq)
		colon = NULL;
	size_t dlen = (size_t)((colon ? colon : eq) - s);
	char name[64];
	snprintf(name, sizeof name, "%.*s", (int)(dlen < sizeof name ? dlen : sizeof name - 1), s);
	r->detector = strcmp(name, "*") == 0 ? -1 : mon_detector_parse(name);
	if (r->detector == -1 && strcmp(name, "*") != 0) {
		snprintf(buf, blen, "monitor_contain: unknown detector '%s' (see docs/monitoring.md)", name);
		return buf;
	}
	r->min_severity = SEV_LOW;
	if (colon != NULL) {
		snprintf(name, sizeof name, "%.*s", (int)((size_t)(eq - colon - 1) < sizeof name ? eq - colon - 1 : 63),
			 colon + 1);
		int sv = mon_severity_parse(name);
		if (sv < 0) {
			snprintf(buf, blen, "monitor_contain: unknown severity '%s' (info, low, medium, high, critical)",
				 name);
			return buf;
		}
		r->min_severity = (mon_severity_t)sv;
	}
	return parse_actions(eq + 1, len - (size_t)(eq + 1 - s), &r->actions, buf, blen);
}

const char *contain_parse(const char *mode, const char *rules, contain_policy_t *out, char *buf, size_t len)
{
	memset(out, 0, sizeof *out);
	int m = lookup(mode_names, 3, mode, strlen(mode));
	if (m < 0) {
		snprintf(buf, len, "monitor_containment: off, dry_run or enforce, not '%.40s'", mode);
		return buf;
	}
	out->mode = (contain_mode_t)m;
	while (*rules != '\0') {
		rules += strspn(rules, " ;");
		size_t n = strcspn(rules, " ;");
		if (n == 0)
			break;
		if (out->n == MON_MAX_CONTAIN_RULES) {
			snprintf(buf, len, "monitor_contain: at most %d rules", MON_MAX_CONTAIN_RULES);
			return buf;
		}
		const char *why = parse_rule(rules, n, &out->rule[out->n++], buf, len);
		if (why != NULL)
			return why;
		rules += n;
	}
	return NULL;
}

unsigned contain_actions(const contain_policy_t *p, mon_detector_t d, mon_severity_t s)
{
	unsigned a = 0;
	for (size_t i = 0; i < p->n; i++)
		if ((p->rule[i].detector < 0 || p->rule[i].detector == (int)d) && s >= p->rule[i].min_severity)
			a |= p->rule[i].actions;
	return a;
}
