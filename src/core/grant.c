/* grant.c - JIT grants, pure (grant.h): state machine, request parsing,
 * durations, notes, ids. */
#include "core/grant.h"
#include "core/b64url.h"
#include "core/identity_json.h"
#include "core/policy/ext.h"
#include "core/scope.h"
#include <stdio.h>
#include <string.h>

static const char *const state_names[GRANT_STATE_COUNT] = {
	"pending", "approved", "active", "ended", "expired", "revoked", "denied", "cancelled",
};

const char *grant_state_name(grant_state_t s)
{
	return s < GRANT_STATE_COUNT ? state_names[s] : "unknown";
}

int grant_state_parse(const char *name, grant_state_t *out)
{
	for (int i = 0; i < GRANT_STATE_COUNT; i++)
		if (name != NULL && strcmp(name, state_names[i]) == 0) {
			*out = (grant_state_t)i;
			return 0;
		}
	return -1;
}

bool grant_state_final(grant_state_t s)
{
	return s >= GRANT_ENDED;
}

grant_state_t grant_effective(grant_state_t stored, int64_t now, int64_t start, int64_t expires_at,
			      int64_t ends_at)
{
	switch (stored) {
	case GRANT_PENDING:
		return now >= expires_at ? GRANT_EXPIRED : GRANT_PENDING;
	case GRANT_APPROVED:
	case GRANT_ACTIVE:
		if (now >= ends_at)
			return GRANT_EXPIRED;
		return now >= start ? GRANT_ACTIVE : GRANT_APPROVED;
	default:
		return stored;
	}
}

const char *grant_op_refused(grant_op_t op, grant_state_t s, char *buf, size_t len)
{
	static const char *const verbs[] = {"approved", "denied", "cancelled", "ended", "revoked", "reviewed"};
	bool ok;
	const char *needed;
	switch (op) {
	case GRANT_OP_APPROVE:
	case GRANT_OP_DENY:
	case GRANT_OP_CANCEL:
		ok = s == GRANT_PENDING;
		needed = "only a pending grant";
		break;
	case GRANT_OP_REVIEW:
		return NULL;
	default:
		ok = s == GRANT_APPROVED || s == GRANT_ACTIVE;
		needed = "only an approved or active grant";
		break;
	}
	if (ok)
		return NULL;
	snprintf(buf, len, "the grant is %s; %s can be %s", grant_state_name(s), needed, verbs[op]);
	return buf;
}

static const char duration_units[] = "hms";

/* One "<digits><unit>" part of a duration: the unit must come after the
 * previous one in duration_units (*next: the first unit still allowed). */
static int duration_part(const char **p, size_t *next, int64_t *total)
{
	static const int64_t scale[] = {3600, 60, 1};
	int64_t n = 0;
	const char *s = *p;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		if (n > (INT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*s++ - '0');
	}
	const char *u = *s ? strchr(duration_units + *next, *s) : NULL;
	if (u == NULL)
		return -1;
	size_t i = (size_t)(u - duration_units);
	if (n > (INT64_MAX / 2 - *total) / scale[i])
		return -1;
	*total += n * scale[i];
	*next = i + 1;
	*p = s + 1;
	return 0;
}

int grant_duration_parse(const char *s, int64_t *out)
{
	size_t units = 0;
	int64_t total = 0;
	size_t len = s ? strlen(s) : 0;
	if (len == 0 || len > 32)
		return -1;
	if (strspn(s, "0123456789") == len) { /* bare seconds */
		if (len > 12)
			return -1;
		for (; *s; s++)
			total = total * 10 + (*s - '0');
		*out = total;
		return 0;
	}
	while (*s != '\0')
		if (duration_part(&s, &units, &total) != 0)
			return -1;
	*out = total;
	return 0;
}

/* Text a person wrote: 1..max bytes of valid UTF-8 (jansson checked) with
 * no control characters (C0, DEL, and C1: U+0080..U+009F, UTF-8 C2 80..C2 9F). */
static bool note_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

/* A JSON string without an embedded NUL (jansson keeps them when asked). */
static const char *plain_string(const json_t *v)
{
	const char *s = json_string_value(v);
	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

const char *grant_note_parse(const json_t *doc, const char *member, bool required,
			     char out[TG_MAX_GRANT_REASON + 1], char *buf, size_t len)
{
	bool reason = strcmp(member, "reason") == 0;
	const char *k;
	json_t *v;
	out[0] = '\0';
	if (doc != NULL && !json_is_object(doc))
		return "the body must be a JSON object";
	json_object_foreach((json_t *)doc, k, v)
		if (strcmp(k, member) != 0) {
			snprintf(buf, len, "unknown member \"%.64s\"; send only \"%s\"", k, member);
			return buf;
		}
	v = doc ? json_object_get(doc, member) : NULL;
	if (v == NULL)
		return !required ? NULL : reason ? "\"reason\" is required" : "\"comment\" is required";
	if (!json_is_string(v) || !note_ok(json_string_value(v), json_string_length(v), TG_MAX_GRANT_REASON))
		return reason ? "\"reason\" must be 1..500 bytes of text without control characters"
			      : "\"comment\" must be 1..500 bytes of text without control characters";
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return NULL;
}

static const char *check_members(const json_t *doc, char *buf, size_t len)
{
	static const char *const known[] = {"identity", "scope", "duration", "reason",
					    "ticket", "start", "source", "break_glass", NULL};
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)doc, k, v) {
		const char *const *p = known;
		while (*p != NULL && strcmp(*p, k) != 0)
			p++;
		if (*p == NULL) {
			snprintf(buf, len, "unknown member \"%.64s\" (send identity, scope, duration, reason, "
				 "ticket, start, source, break_glass)", k);
			return buf;
		}
	}
	return NULL;
}

static const char *parse_identity(const json_t *doc, grant_request_t *out)
{
	const json_t *v = json_object_get(doc, "identity");
	if (plain_string(v) == NULL || !identity_name_valid(json_string_value(v)))
		return "\"identity\" must be an identity id (1..128 characters of A-Z a-z 0-9 . _ -)";
	snprintf(out->identity, sizeof out->identity, "%s", json_string_value(v));
	return NULL;
}

static const char *parse_scope(const json_t *doc, grant_request_t *out)
{
	const json_t *v = json_object_get(doc, "scope");
	scope_set_t set;
	const char *why = NULL;
	if (plain_string(v) == NULL || json_string_length(v) > TG_MAX_SCOPE_LEN)
		return "\"scope\" must be a string of scope tokens ACTION@Type:id";
	if (scope_parse(json_string_value(v), &set, &why) != 0)
		return "\"scope\" must be space-separated scope tokens ACTION@Type:id";
	scope_free(&set);
	snprintf(out->scope, sizeof out->scope, "%s", json_string_value(v));
	return NULL;
}

static const char *parse_duration(const json_t *doc, const grant_bounds_t *b, grant_request_t *out, char *buf,
				  size_t len)
{
	const json_t *v = json_object_get(doc, "duration");
	int64_t d = -1;
	if (json_is_integer(v))
		d = json_integer_value(v);
	else if (!json_is_string(v) || grant_duration_parse(json_string_value(v), &d) != 0)
		return "\"duration\" must be seconds or a string like \"30m\" or \"1h30m\" (units h, m, s)";
	if (d < TG_GRANT_MIN_DURATION || d > b->max_duration) {
		snprintf(buf, len, "\"duration\" must be %d to %lld seconds (grant_max_duration)",
			 TG_GRANT_MIN_DURATION, (long long)b->max_duration);
		return buf;
	}
	out->duration = d;
	return NULL;
}

static const char *parse_start(const json_t *doc, const grant_bounds_t *b, grant_request_t *out)
{
	const json_t *v = json_object_get(doc, "start");
	const char *s = plain_string(v);
	int64_t t = b->now, ms = 0;
	if (v != NULL && json_is_integer(v))
		t = json_integer_value(v);
	else if (v != NULL && (s == NULL || json_string_length(v) > 40 || strchr(s, 'T') == NULL ||
			       pol_datetime_parse(s, strlen(s), &ms) != 0))
		return "\"start\" must be Unix seconds or an RFC 3339 time like \"2026-12-06T10:00:00Z\"";
	else if (v != NULL)
		t = ms / 1000; /* RFC 3339 with Z or an offset, and fractions (Cedar's datetime) */
	if (t < b->now - TG_GRANT_START_PAST || t > b->now + TG_GRANT_START_AHEAD)
		return "\"start\" must lie between 60 seconds ago and 30 days ahead";
	out->start = t < b->now ? b->now : t;
	return NULL;
}

static const char *parse_optional(const json_t *doc, grant_request_t *out)
{
	const json_t *t = json_object_get(doc, "ticket"), *s = json_object_get(doc, "source");
	if (t != NULL) {
		const char *v = json_string_value(t);
		size_t n = v ? strlen(v) : 0;
		bool ok = v != NULL && n >= 1 && n <= TG_MAX_GRANT_TICKET && n == json_string_length(t);
		for (size_t i = 0; ok && i < n; i++)
			ok = v[i] >= 0x20 && v[i] < 0x7f;
		if (!ok)
			return "\"ticket\" must be 1..64 printable ASCII characters";
		memcpy(out->ticket, v, n + 1);
	}
	if (s != NULL) {
		pol_ip_t ip;
		const char *v = json_string_value(s);
		if (v == NULL || json_string_length(s) > TG_MAX_GRANT_SOURCE ||
		    pol_ip_parse(v, json_string_length(s), &ip) != 0)
			return "\"source\" must be an IPv4 or IPv6 address or CIDR range like 10.0.3.0/24";
		memcpy(out->source, v, json_string_length(s) + 1);
	}
	return NULL;
}

const char *grant_request_parse(const json_t *doc, const grant_bounds_t *b, grant_request_t *out, char *buf,
				size_t len)
{
	const char *why;
	memset(out, 0, sizeof *out);
	if (!json_is_object(doc))
		return "the body must be a JSON object";
	if ((why = check_members(doc, buf, len)) != NULL || (why = parse_identity(doc, out)) != NULL ||
	    (why = parse_scope(doc, out)) != NULL || (why = parse_duration(doc, b, out, buf, len)) != NULL)
		return why;
	const json_t *r = json_object_get(doc, "reason");
	if (r == NULL)
		return "\"reason\" is required: say what the access is for";
	if (!json_is_string(r) || !note_ok(json_string_value(r), json_string_length(r), TG_MAX_GRANT_REASON))
		return "\"reason\" must be 1..500 bytes of text without control characters";
	memcpy(out->reason, json_string_value(r), json_string_length(r) + 1);
	if ((why = parse_start(doc, b, out)) != NULL || (why = parse_optional(doc, out)) != NULL)
		return why;
	const json_t *bg = json_object_get(doc, "break_glass");
	if (bg != NULL && !json_is_boolean(bg))
		return "\"break_glass\" must be true or false";
	out->break_glass = json_is_true(bg);
	if (out->break_glass && out->start != b->now)
		return "\"start\": a break-glass grant starts now";
	return NULL;
}

bool grant_id_valid(const char *s)
{
	if (s == NULL || strlen(s) != TG_GRANT_ID_LEN || strncmp(s, "g-", 2) != 0)
		return false;
	return strspn(s + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	       TG_GRANT_ID_LEN - 2;
}

void grant_id_format(const uint8_t raw[16], char out[TG_GRANT_ID_LEN + 1])
{
	out[0] = 'g';
	out[1] = '-';
	b64url_encode_to(raw, 16, out + 2);
	out[TG_GRANT_ID_LEN] = '\0';
}
