/* monitor_event.h - what the behaviour monitor (docs/monitoring.md) reads
 * of an audit record, pure: the records that describe what an identity
 * did (token.issued, authz.allow, authz.deny, the grant moves that open
 * and close a grant) become one flat, bounded event; every other record
 * is skipped. The broker's monitor thread and the monitor benchmark feed
 * these events to core/monitor.h.
 *
 * Where each field comes from:
 *   identity  token.issued, authz.*: the record's actor (a Workload:id
 *             principal of /v1/authorize counts as id; other principal
 *             types are not machine identities and are skipped);
 *             grant.*: details.identity
 *   src       authz.*: details.context.src_ip when the caller gave one
 *             (the workload's address, as policy saw it), else src
 *   reason    authz.deny: details.reason (edge: revoked, expired,
 *             invalid, binding, ...; /v1/authorize: a sentence)
 *   user_agent details.user_agent, when an enforcement point sends it
 *
 * resource and user_agent are what a requester chooses (a path, a header):
 * longer than their fields, they are cut at a character boundary rather
 * than make the record unreadable (which would hide it from the detectors). */
#ifndef TG_MONITOR_EVENT_H
#define TG_MONITOR_EVENT_H
#include "core/limits.h"
#include <jansson.h>
#include <stdint.h>

#define MON_SRC_LEN 64
#define MON_REASON_LEN 128
#define MON_UA_LEN 256
#define MON_ACTION_LEN TG_MAX_SCOPE_TOKEN_LEN
#define MON_RESOURCE_LEN 1024

typedef enum {
	MEV_ISSUED,      /* token.issued */
	MEV_ALLOW,       /* authz.allow */
	MEV_DENY,        /* authz.deny */
	MEV_GRANT_START, /* grant.approved, grant.activated, grant.break_glass */
	MEV_GRANT_END,   /* grant.ended, grant.revoked, grant.expired */
} mon_event_kind_t;

#define MON_GRANT_ACTIONS 16 /* distinct actions of a grant's scope the monitor follows */

typedef struct {
	mon_event_kind_t kind;
	int64_t seq;
	int64_t t; /* the record's time, Unix seconds */
	char time[32];
	char identity[TG_MAX_ID_LEN + 1];
	char action[MON_ACTION_LEN + 1];
	char resource[MON_RESOURCE_LEN + 1];
	char jti[TG_MAX_JTI_LEN + 1];
	char grant[TG_GRANT_ID_LEN + 1];
	char src[MON_SRC_LEN];
	char reason[MON_REASON_LEN];
	char user_agent[MON_UA_LEN];
	/* MEV_GRANT_START: the distinct actions of the grant's scope, as mon_hash */
	size_t n_grant_actions;
	uint64_t grant_actions[MON_GRANT_ACTIONS];
} mon_event_t;

/* FNV-1a 64 of s: stable across runs, as baselines persist it. */
uint64_t mon_hash(const char *s);
uint64_t mon_hash_n(const char *s, size_t n);

/* Reads one audit record (as stored and exported, docs/audit.md). 0 with
 * *out filled; 1 when the record is not one the monitor follows (another
 * type, no identity); -1 when it is one of those types but malformed (no
 * seq or time, a member of the wrong type, a member other than resource and
 * user_agent too long). */
int mon_event_from_record(const json_t *rec, mon_event_t *out) __attribute__((warn_unused_result));

#endif
