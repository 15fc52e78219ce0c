/* edge_sessions.c - the edge's report of live Modbus sessions: written by
 * the edge, read strictly by the broker (edge_sessions.h). */
#include "core/edge_sessions.h"
#include "core/b64url.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const row_members[] = {"id",       "listener", "device", "src",     "identity",
					  "grant",    "since",    "last",   "allowed", "denied"};

/* ---- session ids ---- */

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool edge_session_id_valid(const char *s)
{
	size_t p = strlen(EDGE_SESSION_ID_PREFIX);
	if (s == NULL || strlen(s) != EDGE_SESSION_ID_LEN || strncmp(s, EDGE_SESSION_ID_PREFIX, p) != 0)
		return false;
	for (const char *c = s + p; *c != '\0'; c++)
		if (!b64url_char(*c))
			return false;
	return true;
}

void edge_session_id_from(const uint8_t random[EDGE_SESSION_ID_RANDOM], char out[EDGE_SESSION_ID_LEN + 1])
{
	size_t p = strlen(EDGE_SESSION_ID_PREFIX);
	memcpy(out, EDGE_SESSION_ID_PREFIX, p);
	b64url_encode_to(random, EDGE_SESSION_ID_RANDOM, out + p);
}

/* ---- writing (the edge) ---- */

/* s as a JSON string of printable ASCII (anything else becomes '?'), so
 * that the broker's reading never refuses what an edge wrote. */
static json_t *printable(const char *s)
{
	char buf[EDGE_SESSION_MAX_DEVICE + 1];
	size_t n = 0;
	for (; s[n] != '\0' && n + 1 < sizeof buf; n++)
		buf[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
	buf[n] = '\0';
	return json_string(buf);
}

static json_t *count(int64_t v)
{
	return json_integer(v > 0 ? v : 0);
}

json_t *edge_session_json(const edge_session_t *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", printable(s->id));
	json_object_set_new(o, "listener", printable(s->listener));
	json_object_set_new(o, "device", printable(s->device));
	json_object_set_new(o, "src", printable(s->src));
	json_object_set_new(o, "identity", printable(s->identity));
	json_object_set_new(o, "grant", printable(s->grant));
	json_object_set_new(o, "since", count(s->since_ms));
	json_object_set_new(o, "last", count(s->last_ms));
	json_object_set_new(o, "allowed", count(s->allowed));
	json_object_set_new(o, "denied", count(s->denied));
	return o;
}

/* Room for {"total":N,"sessions":[]} around the rows. */
#define REPORT_FRAME 64

char *edge_sessions_report_text(const edge_session_t *rows, size_t n)
{
	json_t *list = json_array();
	size_t used = REPORT_FRAME;
	for (size_t i = 0; list != NULL && i < n && i < EDGE_SESSIONS_MAX_ROWS; i++) {
		json_t *row = edge_session_json(&rows[i]);
		char *text = row ? json_dumps(row, JSON_COMPACT) : NULL;
		size_t len = text ? strlen(text) + 1 : 0; /* and a comma */
		free(text);
		if (len == 0 || used + len > EDGE_SESSIONS_MAX_BODY) {
			json_decref(row);
			break;
		}
		used += len;
		json_array_append_new(list, row);
	}
	json_t *doc = list ? json_pack("{s:I, s:o}", "total", (json_int_t)n, "sessions", list) : NULL;
	char *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return out;
}

/* ---- reading (the broker) ---- */

__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static bool known_member(const char *name)
{
	for (size_t i = 0; i < sizeof row_members / sizeof row_members[0]; i++)
		if (strcmp(name, row_members[i]) == 0)
			return true;
	return false;
}

/* A string member of at most cap - 1 bytes without control characters. */
static int text(const json_t *o, const char *name, char *out, size_t cap, size_t i, char *why, size_t why_len)
{
	const json_t *v = json_object_get(o, name);
	if (!json_is_string(v))
		return refuse(why, why_len, "sessions[%zu].%s: must be a string", i, name);
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n >= cap)
		return refuse(why, why_len, "sessions[%zu].%s: longer than %zu bytes", i, name, cap - 1);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7f)
			return refuse(why, why_len, "sessions[%zu].%s: has a control character", i, name);
	memcpy(out, s, n + 1);
	return 0;
}

static int number(const json_t *o, const char *name, int64_t *out, size_t i, char *why, size_t why_len)
{
	const json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return refuse(why, why_len, "sessions[%zu].%s: must be a non-negative integer", i, name);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int parse_row(const json_t *o, size_t i, edge_session_t *s, char *why, size_t why_len)
{
	const char *name;
	const json_t *v;
	if (!json_is_object(o))
		return refuse(why, why_len, "sessions[%zu]: must be an object", i);
	json_object_foreach((json_t *)o, name, v)
		if (!known_member(name))
			return refuse(why, why_len, "sessions[%zu]: unknown member \"%.32s\"", i, name);
	if (text(o, "id", s->id, sizeof s->id, i, why, why_len) != 0 ||
	    text(o, "listener", s->listener, sizeof s->listener, i, why, why_len) != 0 ||
	    text(o, "device", s->device, sizeof s->device, i, why, why_len) != 0 ||
	    text(o, "src", s->src, sizeof s->src, i, why, why_len) != 0 ||
	    text(o, "identity", s->identity, sizeof s->identity, i, why, why_len) != 0 ||
	    text(o, "grant", s->grant, sizeof s->grant, i, why, why_len) != 0 ||
	    number(o, "since", &s->since_ms, i, why, why_len) != 0 || number(o, "last", &s->last_ms, i, why, why_len) != 0 ||
	    number(o, "allowed", &s->allowed, i, why, why_len) != 0 ||
	    number(o, "denied", &s->denied, i, why, why_len) != 0)
		return -1;
	if (!edge_session_id_valid(s->id))
		return refuse(why, why_len, "sessions[%zu].id: not a session id (\"%s\" and 16 base64url characters)", i,
			      EDGE_SESSION_ID_PREFIX);
	return 0;
}

static bool repeated_id(const edge_session_t *rows, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (strcmp(rows[k].id, rows[n].id) == 0)
			return true;
	return false;
}

static int parse_doc(const json_t *doc, edge_sessions_report_t *out, char *why, size_t why_len)
{
	const char *name;
	const json_t *v, *list = json_object_get(doc, "sessions"), *total = json_object_get(doc, "total");
	if (!json_is_object(doc))
		return refuse(why, why_len, "the report must be a JSON object");
	json_object_foreach((json_t *)doc, name, v)
		if (strcmp(name, "sessions") != 0 && strcmp(name, "total") != 0)
			return refuse(why, why_len, "unknown member \"%.32s\"", name);
	if (!json_is_array(list) || json_array_size(list) > EDGE_SESSIONS_MAX_ROWS)
		return refuse(why, why_len, "sessions: must be an array of at most %d", EDGE_SESSIONS_MAX_ROWS);
	size_t n = json_array_size(list);
	if (!json_is_integer(total) || json_integer_value(total) < (json_int_t)n)
		return refuse(why, why_len, "total: must be an integer, at least the number of sessions sent");
	out->total = (int64_t)json_integer_value(total);
	out->rows = calloc(n ? n : 1, sizeof *out->rows);
	if (out->rows == NULL)
		return refuse(why, why_len, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (parse_row(json_array_get(list, i), i, &out->rows[i], why, why_len) != 0)
			return -1;
		if (repeated_id(out->rows, i))
			return refuse(why, why_len, "sessions[%zu].id: sent twice", i);
		out->n = i + 1;
	}
	return 0;
}

int edge_sessions_report_parse(const char *buf, size_t len, edge_sessions_report_t *out, char *why, size_t why_len)
{
	json_error_t jerr;
	memset(out, 0, sizeof *out);
	if (len > EDGE_SESSIONS_MAX_BODY)
		return refuse(why, why_len, "the report is longer than %d bytes", EDGE_SESSIONS_MAX_BODY);
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc = doc == NULL ? refuse(why, why_len, "the report is not JSON: %s", jerr.text)
			     : parse_doc(doc, out, why, why_len);
	json_decref(doc);
	if (rc != 0)
		edge_sessions_report_free(out);
	return rc;
}

void edge_sessions_report_free(edge_sessions_report_t *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = 0;
	r->total = 0;
}
