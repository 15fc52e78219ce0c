/* monitor_baseline.h - one identity's baseline (core/monitor.h) as the
 * engine and the JSON codec share it; not for callers outside
 * src/core/monitor*.c. Strings in the sets are copied and bounded by the
 * event fields they come from (monitor_event.h). */
#ifndef TG_MONITOR_BASELINE_H
#define TG_MONITOR_BASELINE_H
#include "core/monitor.h"

typedef struct {
	size_t n, cap;
	bool overflow; /* something did not fit while learning */
	uint64_t *hash;
	char **s;
} mon_set_t;

typedef struct {
	char jti[TG_MAX_JTI_LEN + 1];
	char src[MON_SRC_LEN];
} mon_token_t;

typedef struct {
	char id[TG_GRANT_ID_LEN + 1];
	int64_t start, uses;
	size_t n_actions;
	uint64_t action[MON_GRANT_ACTIONS]; /* FNV-1a of each action of its scope */
	uint32_t used;                      /* bit i: action[i] was used under it */
} mon_grant_t;

struct mon_baseline {
	char identity[TG_MAX_ID_LEN + 1];
	int64_t first_seen, last_seen;
	int64_t events; /* events learned */
	mon_set_t actions, resources, sources, nets;
	uint32_t hours[MON_HOURS]; /* index: weekday (0 Sunday) * 24 + hour, UTC */
	int64_t minute, minute_count;
	bool minute_alerted;
	uint16_t rate[MON_RATE_SAMPLES]; /* requests in each active minute while learning */
	size_t n_rate;                   /* samples ever taken (ring) */
	int64_t threshold;               /* cached spike threshold; 0 = not computed */
	int64_t denies_total;
	int64_t deny_times[MON_DENY_RING];
	size_t n_denies; /* ever (ring) */
	mon_token_t tokens[MON_MAX_TOKENS];
	size_t n_tokens; /* ever (ring) */
	mon_grant_t grants[MON_MAX_GRANTS];
	size_t n_grants;
	int64_t last_alert[DET_COUNT];
	bool dirty;
};

mon_baseline_t *mon_baseline_new(const char *identity);
void mon_baseline_free(mon_baseline_t *b);
bool mon_set_has(const mon_set_t *s, const char *v);
/* Adds v unless present; false when full (overflow set) or out of memory. */
bool mon_set_add(mon_set_t *s, const char *v);
/* The network of an address: "a.b.c.0/24" or the /64 of an IPv6 address;
 * "" when src is not an address. */
void mon_net_of(const char *src, char *out, size_t cap);
/* The baseline a document describes (mon_baseline_json's form). */
mon_baseline_t *mon_baseline_from_json(const json_t *doc, char *why, size_t why_len);

#endif
