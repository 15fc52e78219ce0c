/* monitor_event.c - audit records into the monitor's events
 * (monitor_event.h): strict on types and lengths, so that whatever the
 * detectors see is bounded; the members a requester chooses are cut to fit
 * instead. */
#include "core/monitor_event.h"
#include "core/timefmt.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	const char *type;
	mon_event_kind_t kind;
} type_map_t;

static const type_map_t followed[] = {
	{"token.issued", MEV_ISSUED},         {"authz.allow", MEV_ALLOW},         {"authz.deny", MEV_DENY},
	{"grant.approved", MEV_GRANT_START},  {"grant.activated", MEV_GRANT_START},
	{"grant.break_glass", MEV_GRANT_START}, {"grant.ended", MEV_GRANT_END},
	{"grant.revoked", MEV_GRANT_END},     {"grant.expired", MEV_GRANT_END},
};

/* Copies member `name` of o (absent or null: "") into dst; -1 when it is
 * not a string or does not fit. */
static int copy_member(const json_t *o, const char *name, char *dst, size_t cap)
{
	const json_t *v = json_object_get(o, name);
	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= cap || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* Copies member `name` of o (absent or null: "") into dst, cut at a
 * character boundary to fit: for what the requester chooses (the
 * User-Agent, a resource named from the request path), where a long value
 * must not make the record unreadable and so hide it from every detector.
 * -1 when it is not a string or holds a NUL. */
static int copy_member_cut(const json_t *o, const char *name, char *dst, size_t cap)
{
	const json_t *v = json_object_get(o, name);
	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	size_t n = json_string_length(v);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)json_string_value(v)[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence: the cut value stays valid JSON text */
	}
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
	return 0;
}

/* "2026-11-28T14:37:17.123456Z" -> Unix seconds. */
static int record_time(const json_t *rec, mon_event_t *out)
{
	char whole[RFC3339_LEN];
	if (copy_member(rec, "time", out->time, sizeof out->time) != 0 || strlen(out->time) < 20)
		return -1;
	memcpy(whole, out->time, 19);
	whole[19] = 'Z';
	whole[20] = '\0';
	return rfc3339_parse(whole, &out->t);
}

/* The acting identity of an authz record: a bare id, or Workload:id. */
static int authz_identity(const json_t *rec, mon_event_t *out)
{
	if (copy_member(rec, "actor", out->identity, sizeof out->identity) != 0)
		return -1;
	const char *colon = strchr(out->identity, ':');
	if (colon == NULL)
		return strcmp(out->identity, "unknown") == 0 ? 1 : 0;
	if (strncmp(out->identity, "Workload:", 9) != 0)
		return 1;
	memmove(out->identity, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* The address policy saw: context.src_ip as text or {"__extn": {"fn": "ip", "arg": A}}. */
static int context_src(const json_t *details, char *dst, size_t cap)
{
	const json_t *ip = json_object_get(json_object_get(details, "context"), "src_ip");
	const json_t *arg = json_object_get(json_object_get(ip, "__extn"), "arg");
	if (json_is_string(arg))
		ip = arg;
	if (!json_is_string(ip))
		return 1;
	if (json_string_length(ip) >= cap)
		return -1;
	snprintf(dst, cap, "%s", json_string_value(ip));
	return 0;
}

uint64_t mon_hash_n(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
	return h;
}

uint64_t mon_hash(const char *s) { return mon_hash_n(s, strlen(s)); }

/* The distinct actions of a grant's scope ("ACTION@RESOURCE ..."). */
static void grant_actions(const json_t *details, mon_event_t *out)
{
	const char *scope = json_string_value(json_object_get(details, "scope"));
	out->n_grant_actions = 0;
	while (scope != NULL && *scope != '\0' && out->n_grant_actions < MON_GRANT_ACTIONS) {
		size_t len = strcspn(scope, " "), alen = strcspn(scope, "@ ");
		uint64_t h = mon_hash_n(scope, alen);
		bool seen = alen == 0;
		for (size_t i = 0; i < out->n_grant_actions && !seen; i++)
			seen = out->grant_actions[i] == h;
		if (!seen)
			out->grant_actions[out->n_grant_actions++] = h;
		scope += len;
		scope += strspn(scope, " ");
	}
}

static int read_authz(const json_t *rec, const json_t *details, mon_event_t *out)
{
	int rc = authz_identity(rec, out);
	if (rc != 0)
		return rc;
	if (copy_member(rec, "action", out->action, sizeof out->action) != 0 ||
	    copy_member_cut(rec, "resource", out->resource, sizeof out->resource) != 0 ||
	    copy_member(rec, "jti", out->jti, sizeof out->jti) != 0 ||
	    copy_member(rec, "grant", out->grant, sizeof out->grant) != 0 ||
	    copy_member_cut(details, "user_agent", out->user_agent, sizeof out->user_agent) != 0)
		return -1;
	if (copy_member(details, "reason", out->reason, sizeof out->reason) != 0)
		out->reason[0] = '\0'; /* a long sentence: not one of the reasons the detectors know */
	rc = context_src(details, out->src, sizeof out->src);
	if (rc < 0)
		return -1;
	return rc == 0 ? 0 : copy_member(rec, "src", out->src, sizeof out->src);
}

static int read_grant(const json_t *rec, const json_t *details, mon_event_t *out)
{
	if (copy_member(details, "identity", out->identity, sizeof out->identity) != 0 ||
	    copy_member(rec, "grant", out->grant, sizeof out->grant) != 0)
		return -1;
	if (out->kind == MEV_GRANT_START)
		grant_actions(details, out);
	return out->grant[0] != '\0' ? 0 : 1;
}

int mon_event_from_record(const json_t *rec, mon_event_t *out)
{
	const char *type = json_string_value(json_object_get(rec, "type"));
	size_t i = 0, n = sizeof followed / sizeof followed[0];
	while (type != NULL && i < n && strcmp(followed[i].type, type) != 0)
		i++;
	if (type == NULL || i == n)
		return 1;
	memset(out, 0, sizeof *out);
	out->kind = followed[i].kind;
	const json_t *seq = json_object_get(rec, "seq"), *details = json_object_get(rec, "details");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1 || record_time(rec, out) != 0 ||
	    (details != NULL && !json_is_object(details) && !json_is_null(details)))
		return -1;
	out->seq = (int64_t)json_integer_value(seq);
	int rc;
	if (out->kind == MEV_ISSUED)
		rc = copy_member(rec, "actor", out->identity, sizeof out->identity) != 0 ||
				     copy_member(rec, "jti", out->jti, sizeof out->jti) != 0 ||
				     copy_member(rec, "src", out->src, sizeof out->src) != 0
			     ? -1
			     : 0;
	else if (out->kind == MEV_ALLOW || out->kind == MEV_DENY)
		rc = read_authz(rec, details, out);
	else
		rc = read_grant(rec, details, out);
	return rc == 0 && out->identity[0] == '\0' ? 1 : rc;
}
