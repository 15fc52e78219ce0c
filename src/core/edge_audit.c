/* edge_audit.c - the edge's audit records: built for the spool, read
 * strictly by the broker (edge_audit.h). */
#include "core/edge_audit.h"
#include "core/timefmt.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const record_members[] = {"edge_seq", "time", "type", "decision", "actor", "action",
					     "resource", "jti", "grant", "src", "policies", "details"};

/* The decision a record type stands for; NULL when it is no edge type. */
static const char *type_decision(const char *type)
{
	if (type != NULL && strcmp(type, "authz.allow") == 0)
		return "allow";
	if (type != NULL && strcmp(type, "authz.deny") == 0)
		return "deny";
	return NULL;
}

/* ---- building (the edge) ---- */

/* Length of the well-formed UTF-8 character at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 when there is none. */
static size_t utf8_char(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
	if (n == 0 || n > left)
		return 0;
	unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (size_t i = 1; i < n; i++)
		if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf))
			return 0;
	return n;
}

static bool control_char(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The record's text, written directly (a decision's record is on the
 * edge's request path: no JSON objects are built for it). */
typedef struct {
	char *p;
	size_t n, cap;
	bool failed;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
	if (t->failed || t->n + n + 1 > t->cap) {
		t->failed = true;
		return;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
}

static void puts_(text_t *t, const char *s)
{
	put(t, s, strlen(s));
}

/* The character at s[i] (of len): its length (0 when it is not
 * well-formed UTF-8), and whether it is written as '?' (not UTF-8, or a
 * control character). */
static size_t next_char(const char *s, size_t len, size_t i, bool *replace)
{
	size_t n = utf8_char((const unsigned char *)s + i, len - i);
	*replace = n == 0 || (n == 1 && control_char((unsigned char)s[i]));
	return n;
}

size_t edge_audit_clip(const char *s, size_t max, char *out)
{
	size_t len = strlen(s), o = 0;
	for (size_t i = 0; i < len;) {
		bool replace;
		size_t n = next_char(s, len, i, &replace);
		size_t w = replace ? 1 : n;
		if (o + w > max)
			break;
		memcpy(out + o, replace ? "?" : s + i, w);
		o += w;
		i += n > 0 ? n : 1;
	}
	out[o] = '\0';
	return o;
}

/* s as a JSON string of at most max bytes (before escaping), clipped as
 * edge_audit_clip does; null for NULL. */
static void put_clipped(text_t *t, const char *s, size_t max)
{
	if (s == NULL) {
		puts_(t, "null");
		return;
	}
	size_t len = strlen(s), o = 0;
	put(t, "\"", 1);
	for (size_t i = 0; i < len;) {
		bool replace;
		size_t n = next_char(s, len, i, &replace);
		size_t w = replace ? 1 : n;
		if (o + w > max)
			break;
		if (replace)
			put(t, "?", 1);
		else if (s[i] == '"' || s[i] == '\\')
			put(t, s[i] == '"' ? "\\\"" : "\\\\", 2);
		else
			put(t, s + i, n);
		o += w;
		i += n > 0 ? n : 1;
	}
	put(t, "\"", 1);
}

/* Nesting (a scalar 0, a container 1 + its deepest member), stopping
 * past limit; *real set when a real number occurs. */
static int depth_of(const json_t *v, int limit, bool *real)
{
	int d = 0;
	const char *k;
	json_t *e;
	size_t i;
	if (json_is_real(v))
		*real = true;
	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (limit <= 0)
		return 1;
	if (json_is_object(v))
		json_object_foreach((json_t *)v, k, e) {
			int c = depth_of(e, limit - 1, real);
			d = c > d ? c : d;
		}
	else
		json_array_foreach(v, i, e) {
			int c = depth_of(e, limit - 1, real);
			d = c > d ? c : d;
		}
	return d + 1;
}

/* Why details (an object) cannot be recorded as they are, or NULL with
 * *text (malloc'd, compact) when they can. */
static const char *details_check(const json_t *details, char **text)
{
	bool real = false;
	*text = NULL;
	if (!json_is_object(details))
		return "details must be an object";
	if (depth_of(details, EDGE_AUDIT_MAX_DEPTH + 1, &real) > EDGE_AUDIT_MAX_DEPTH + 1)
		return "details are nested too deeply";
	if (real)
		return "details must hold no real numbers";
	if (json_object_get(details, "edge_seq") != NULL || json_object_get(details, "edge_time") != NULL)
		return "details must not carry edge_seq or edge_time (the broker adds them)";
	if ((*text = json_dumps(details, JSON_COMPACT)) == NULL)
		return "details cannot be written";
	if (strlen(*text) > EDGE_AUDIT_MAX_DETAILS) {
		free(*text);
		*text = NULL;
		return "details are too large";
	}
	return NULL;
}

static const char *details_problem(const json_t *details)
{
	char *text;
	const char *why = details_check(details, &text);
	free(text);
	return why;
}

static void put_details(text_t *t, const json_t *details)
{
	char *text;
	const char *why;
	if (details == NULL) {
		puts_(t, "null");
	} else if ((why = details_check(details, &text)) != NULL) {
		puts_(t, "{\"dropped\":");
		put_clipped(t, why, EDGE_AUDIT_MAX_DETAILS);
		puts_(t, "}");
	} else {
		puts_(t, text);
		free(text);
	}
}

static void put_policies(text_t *t, const json_t *policies)
{
	const json_t *p;
	size_t i, n = 0;
	if (!json_is_array(policies)) {
		puts_(t, "null");
		return;
	}
	puts_(t, "[");
	json_array_foreach(policies, i, p) {
		if (n == EDGE_AUDIT_MAX_POLICIES)
			break;
		if (json_is_string(p)) {
			if (n++ > 0)
				puts_(t, ",");
			put_clipped(t, json_string_value(p), EDGE_AUDIT_MAX_POLICY);
		}
	}
	puts_(t, "]");
}

char *edge_audit_body(const audit_event_t *ev, int64_t unix_us)
{
	const char *decision = type_decision(ev->type);
	char time[AUDIT_TIME_LEN];
	if (decision == NULL)
		return NULL;
	audit_time(unix_us, time);
	text_t t = {malloc(EDGE_AUDIT_MAX_RECORD), 0, EDGE_AUDIT_MAX_RECORD, false};
	if (t.p == NULL)
		return NULL;
	/* members as the spool always had them: time, type, decision, the
	 * strings, policies, details */
	puts_(&t, "{\"time\":\"");
	puts_(&t, time);
	puts_(&t, "\",\"type\":\"");
	puts_(&t, ev->type);
	puts_(&t, "\",\"decision\":\"");
	puts_(&t, decision);
	static const struct {
		const char *name;
		size_t offset, max;
	} strings[] = {
		{",\"actor\":", offsetof(audit_event_t, actor), TG_MAX_ID_LEN},
		{",\"action\":", offsetof(audit_event_t, action), EDGE_AUDIT_MAX_ACTION},
		{",\"resource\":", offsetof(audit_event_t, resource), EDGE_AUDIT_MAX_RESOURCE},
		{",\"jti\":", offsetof(audit_event_t, jti), TG_MAX_JTI_LEN},
		{",\"grant\":", offsetof(audit_event_t, grant), TG_MAX_ID_LEN},
		{",\"src\":", offsetof(audit_event_t, src), EDGE_AUDIT_MAX_SRC},
	};
	puts_(&t, "\"");
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		puts_(&t, strings[i].name);
		put_clipped(&t, *(const char *const *)((const char *)ev + strings[i].offset), strings[i].max);
	}
	puts_(&t, ",\"policies\":");
	put_policies(&t, ev->policies);
	puts_(&t, ",\"details\":");
	put_details(&t, ev->details);
	puts_(&t, "}");
	if (t.failed || t.n > EDGE_AUDIT_MAX_RECORD - 32) { /* cannot be: the bounds fit */
		free(t.p);
		return NULL;
	}
	return t.p;
}

size_t edge_audit_line(const char *body, int64_t seq, char *out, size_t cap)
{
	size_t n = strlen(body);
	if (n < 3 || body[0] != '{' || body[n - 1] != '}')
		return 0;
	int w = snprintf(out, cap, "{\"edge_seq\":%lld,%s\n", (long long)seq, body + 1);
	return w > 0 && (size_t)w < cap && (size_t)w <= EDGE_AUDIT_MAX_LINE ? (size_t)w : 0;
}

/* ---- reading (the broker, and the spool on open) ---- */

static bool known_member(const char *key)
{
	for (size_t i = 0; i < sizeof record_members / sizeof record_members[0]; i++)
		if (strcmp(key, record_members[i]) == 0)
			return true;
	return false;
}

static bool text_ok(const json_t *s, size_t max)
{
	const char *v = json_string_value(s);
	size_t n = json_string_length(s);
	if (v == NULL || n > max || strlen(v) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (control_char((unsigned char)v[i]))
			return false;
	return true;
}

/* An optional string member: *out NULL when absent or null. */
static int opt_string(const json_t *rec, const char *name, size_t max, const char **out, char *why, size_t why_len)
{
	const json_t *v = json_object_get(rec, name);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		snprintf(why, why_len, "%s must be a string or null", name);
		return -1;
	}
	if (!text_ok(v, max)) {
		snprintf(why, why_len, "%s must be at most %zu bytes without control characters", name, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ", as audit_time writes it. */
static int time_parse(const json_t *v, char out[AUDIT_TIME_LEN])
{
	const char *s = json_string_value(v);
	char whole[RFC3339_LEN];
	int64_t t;
	if (s == NULL || strlen(s) != AUDIT_TIME_LEN - 1 || s[19] != '.' || s[26] != 'Z')
		return -1;
	for (int i = 20; i < 26; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	snprintf(whole, sizeof whole, "%.19sZ", s);
	if (rfc3339_parse(whole, &t) != 0)
		return -1;
	memcpy(out, s, AUDIT_TIME_LEN);
	return 0;
}

static int policies_parse(const json_t *v, const json_t **out, char *why, size_t why_len)
{
	const json_t *p;
	size_t i;
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > EDGE_AUDIT_MAX_POLICIES) {
		snprintf(why, why_len, "policies must be null or an array of at most %d policy ids",
			 EDGE_AUDIT_MAX_POLICIES);
		return -1;
	}
	json_array_foreach(v, i, p)
		if (!json_is_string(p) || !text_ok(p, EDGE_AUDIT_MAX_POLICY)) {
			snprintf(why, why_len, "policies[%zu] must be a policy id of at most %d bytes", i,
				 EDGE_AUDIT_MAX_POLICY);
			return -1;
		}
	*out = v;
	return 0;
}

int edge_audit_parse(const json_t *rec, edge_audit_rec_t *out, char *why, size_t why_len)
{
	const char *key, *problem;
	const json_t *v;
	memset(out, 0, sizeof *out);
	if (!json_is_object(rec)) {
		snprintf(why, why_len, "a record must be an object");
		return -1;
	}
	json_object_foreach((json_t *)rec, key, v)
		if (!known_member(key)) {
			snprintf(why, why_len, "unknown member \"%.64s\"", key);
			return -1;
		}
	v = json_object_get(rec, "edge_seq");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > EDGE_AUDIT_MAX_SEQ) {
		snprintf(why, why_len, "edge_seq must be an integer from 1 to 2^62");
		return -1;
	}
	out->edge_seq = json_integer_value(v);
	if (time_parse(json_object_get(rec, "time"), out->time) != 0) {
		snprintf(why, why_len, "time must be a UTC time with microseconds (2026-01-02T03:04:05.123456Z)");
		return -1;
	}
	out->ev.type = json_string_value(json_object_get(rec, "type"));
	const char *decision = type_decision(out->ev.type);
	if (decision == NULL) {
		snprintf(why, why_len, "type must be \"authz.allow\" or \"authz.deny\"");
		return -1;
	}
	out->ev.decision = json_string_value(json_object_get(rec, "decision"));
	if (out->ev.decision == NULL || strcmp(out->ev.decision, decision) != 0) {
		snprintf(why, why_len, "decision must be \"%s\" for a record of type %s", decision, out->ev.type);
		return -1;
	}
	if (opt_string(rec, "actor", TG_MAX_ID_LEN, &out->ev.actor, why, why_len) != 0 ||
	    opt_string(rec, "action", EDGE_AUDIT_MAX_ACTION, &out->ev.action, why, why_len) != 0 ||
	    opt_string(rec, "resource", EDGE_AUDIT_MAX_RESOURCE, &out->ev.resource, why, why_len) != 0 ||
	    opt_string(rec, "jti", TG_MAX_JTI_LEN, &out->ev.jti, why, why_len) != 0 ||
	    opt_string(rec, "grant", TG_MAX_ID_LEN, &out->ev.grant, why, why_len) != 0 ||
	    opt_string(rec, "src", EDGE_AUDIT_MAX_SRC, &out->ev.src, why, why_len) != 0 ||
	    policies_parse(json_object_get(rec, "policies"), &out->ev.policies, why, why_len) != 0)
		return -1;
	v = json_object_get(rec, "details");
	if (v != NULL && !json_is_null(v)) {
		if ((problem = details_problem(v)) != NULL) {
			snprintf(why, why_len, "%s", problem);
			return -1;
		}
		out->ev.details = v;
	}
	return 0;
}

int edge_audit_parse_text(const char *text, size_t len, json_t **doc, edge_audit_rec_t *out, char *why,
			  size_t why_len)
{
	json_error_t e;
	*doc = NULL;
	if (len > EDGE_AUDIT_MAX_RECORD) {
		snprintf(why, why_len, "longer than %d bytes", EDGE_AUDIT_MAX_RECORD);
		return -1;
	}
	if ((*doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e)) == NULL) {
		snprintf(why, why_len, "not JSON: %s", e.text);
		return -1;
	}
	if (edge_audit_parse(*doc, out, why, why_len) != 0) {
		json_decref(*doc);
		*doc = NULL;
		return -1;
	}
	return 0;
}

int edge_audit_batch_parse(const json_t *body, edge_audit_rec_t **out, size_t *n, char *why, size_t why_len)
{
	const json_t *records = json_object_get(body, "records");
	char inner[200];
	*out = NULL;
	*n = 0;
	if (!json_is_object(body) || json_object_size(body) != 1 || !json_is_array(records)) {
		snprintf(why, why_len, "the body must be {\"records\": [...]} and nothing else");
		return -1;
	}
	size_t count = json_array_size(records);
	if (count > EDGE_AUDIT_MAX_BATCH) {
		snprintf(why, why_len, "at most %d records at once", EDGE_AUDIT_MAX_BATCH);
		return -1;
	}
	edge_audit_rec_t *recs = calloc(count ? count : 1, sizeof *recs);
	if (recs == NULL) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (edge_audit_parse(json_array_get(records, i), &recs[i], inner, sizeof inner) != 0) {
			snprintf(why, why_len, "records[%zu]: %s", i, inner);
			free(recs);
			return -1;
		}
		if (i > 0 && recs[i].edge_seq != recs[i - 1].edge_seq + 1) {
			snprintf(why, why_len, "records[%zu]: edge_seq must be %lld (one more than the record before)", i,
				 (long long)recs[i - 1].edge_seq + 1);
			free(recs);
			return -1;
		}
	}
	*out = recs;
	*n = count;
	return 0;
}

json_t *edge_audit_chain_details(const edge_audit_rec_t *rec)
{
	json_t *d = rec->ev.details != NULL ? json_deep_copy(rec->ev.details) : json_object();
	if (d == NULL || json_object_set_new(d, "edge_seq", json_integer(rec->edge_seq)) != 0 ||
	    json_object_set_new(d, "edge_time", json_string(rec->time)) != 0) {
		json_decref(d);
		return NULL;
	}
	return d;
}
