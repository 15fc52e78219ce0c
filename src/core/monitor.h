/* monitor.h - per-identity behaviour baselines and the detectors that
 * compare each new event with them (docs/monitoring.md), pure: time is
 * the events' own, nothing is read or written here.
 *
 * LEARNING. An identity's baseline starts with the first event the monitor
 * sees of it and learns for `learning_window` seconds: the actions and
 * resources it used (allowed requests), its source addresses and their
 * networks (/24 for IPv4, /64 for IPv6), an hours-of-week histogram, and
 * its per-minute request counts (the robust rate: median and median
 * absolute deviation of the minutes it was active in). The detectors that
 * compare with the baseline stay silent while it learns; afterwards what
 * one reports joins the baseline (a first use is reported once).
 *
 * BOUNDED. Each baseline holds at most MON_MAX_ACTIONS actions,
 * MON_MAX_RESOURCES resources, MON_MAX_SOURCES addresses, MON_MAX_NETS
 * networks, MON_RATE_SAMPLES minute counts, the last MON_MAX_TOKENS
 * tokens issued to it (jti and address), the last MON_DENY_RING denies
 * and MON_MAX_GRANTS open grants: a few KiB in practice, at most about
 * 300 KiB (every resource 1 KiB long). A set that filled
 * up while learning is marked overflowing and its first-use check is off
 * (the identity is too varied to baseline that way). The engine follows
 * at most max_identities identities; events of further ones are counted
 * (untracked) and otherwise ignored. */
#ifndef TG_MONITOR_H
#define TG_MONITOR_H
#include "core/monitor_event.h"
#include "core/policy/value.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MON_MAX_ACTIONS 64
#define MON_MAX_RESOURCES 256
#define MON_MAX_SOURCES 32
#define MON_MAX_NETS 32
#define MON_RATE_SAMPLES 240
#define MON_MAX_TOKENS 64
#define MON_DENY_RING 64
#define MON_MAX_GRANTS 8
#define MON_MAX_OPERATOR_RANGES 16
#define MON_HOURS 168

typedef enum { SEV_INFO, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_COUNT } mon_severity_t;

typedef enum {
	DET_NEW_ACTION,      /* an allowed action outside the baseline (medium) */
	DET_NEW_RESOURCE,    /* an allowed resource outside the baseline (low) */
	DET_RATE_SPIKE,      /* requests in a minute above the robust rate (medium) */
	DET_DENY_BURST,      /* deny_burst denies within deny_window (high) */
	DET_FOREIGN_SOURCE,  /* token used from another address than it was issued to (high), or
			      * from an address and network never seen (medium) */
	DET_OFF_HOURS,       /* use in an hour of the week never used, nor the hours beside it (low) */
	DET_REVOKED_TOKEN,   /* a revoked (high) or expired (low) token presented */
	DET_INTERACTIVE_USE, /* from an operator workstation range or a browser (high) */
	DET_UNUSED_GRANT,    /* a grant that ended unused (low) or used much less than it allowed (info) */
	DET_COUNT
} mon_detector_t;

const char *mon_detector_name(mon_detector_t d);
const char *mon_severity_name(mon_severity_t s);
/* -1 when the name is unknown. */
int mon_detector_parse(const char *name);
int mon_severity_parse(const char *name);

typedef struct {
	int64_t learning_window;  /* s */
	int64_t rate_floor;       /* a minute with at most this many requests is never a spike */
	int64_t rate_factor;      /* spike: count > median + rate_factor * max(MAD, 1) */
	int64_t deny_burst;       /* denies ... (1..MON_DENY_RING) */
	int64_t deny_window;      /* ... within this many seconds */
	int64_t hours_min_events; /* events learned before off-hours use is judged */
	int64_t grant_min_use;    /* percent of a grant's actions that count as used enough */
	int64_t cooldown;         /* s between two alerts of one detector for one identity */
	int64_t max_identities;
	size_t n_operator_ranges;
	pol_ip_t operator_ranges[MON_MAX_OPERATOR_RANGES];
} mon_params_t;

void mon_params_default(mon_params_t *p);
/* Parses a comma-separated list of CIDR ranges into p (empty clears it).
 * NULL, or a sentence saying what is wrong. */
const char *mon_params_operator_ranges(mon_params_t *p, const char *list);

/* A finding: which detector, how bad, whose, why (evidence, owned). */
typedef struct {
	mon_detector_t detector;
	mon_severity_t severity;
	char identity[TG_MAX_ID_LEN + 1];
	char summary[256];
	json_t *evidence; /* {"seq", "time", ...}: what the detector saw */
} mon_finding_t;

void mon_finding_release(mon_finding_t *f);

typedef struct mon_baseline mon_baseline_t;
typedef struct mon_engine mon_engine_t;

mon_engine_t *mon_engine_new(const mon_params_t *p);
void mon_engine_free(mon_engine_t *e);
/* Feeds one event: updates its identity's baseline and writes what the
 * detectors found into out (at most max; the rest is dropped and counted
 * in *dropped when given). Returns the number written. */
size_t mon_engine_feed(mon_engine_t *e, const mon_event_t *ev, mon_finding_t *out, size_t max);
size_t mon_engine_identities(const mon_engine_t *e);
uint64_t mon_engine_untracked(const mon_engine_t *e);

/* Persistence: the baseline of one identity as a JSON document, and back.
 * mon_engine_dirty calls fn for every baseline changed since the last
 * call (then clears the marks); mon_engine_load installs a document (as
 * written by mon_baseline_json) for its identity. */
json_t *mon_baseline_json(const mon_baseline_t *b);
typedef void (*mon_dirty_fn)(void *ctx, const char *identity, const json_t *doc);
size_t mon_engine_dirty(mon_engine_t *e, mon_dirty_fn fn, void *ctx);
/* 0, or -1 with why (the document is not a baseline this code wrote). */
int mon_engine_load(mon_engine_t *e, const json_t *doc, char *why, size_t why_len) __attribute__((warn_unused_result));
/* The baseline of identity (NULL: none), for reports and tests. */
const mon_baseline_t *mon_engine_baseline(const mon_engine_t *e, const char *identity);
/* Summary of a baseline: learning until, counts of what it holds, the rate. */
json_t *mon_baseline_summary(const mon_baseline_t *b);

#endif
