/* feed.c - feed entries from audit records, and the edge's decoder of feed
 * answers (feed.h). */
#include "core/feed.h"
#include "core/timefmt.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const feed_audit_types[] = {
	"token.revoked",
	"identity.created", "identity.updated", "identity.suspended", "identity.reactivated", "identity.offboarded",
	"operator.created", "operator.confirmed", "operator.disabled",
	"grant.approved", "grant.activated", "grant.break_glass", "grant.ended", "grant.revoked", "grant.expired",
	"policy.changed", "entities.changed",
	"key.created", "key.rotated", "key.revoked",
	"edge.session_kill",
	"secret.updated", "secret.rotated", "secret.deleted",
	NULL,
};

bool feed_audit_type(const char *type)
{
	for (const char *const *t = feed_audit_types; type != NULL && *t != NULL; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

static const char *const kind_names[] = {"token",    "identity", "grant",        "policy",
					 "entities", "jwks",     "session_kill", "secret"};

const char *feed_kind_name(feed_kind_t k)
{
	return (size_t)k < sizeof kind_names / sizeof kind_names[0] ? kind_names[k] : "unknown";
}

static int kind_parse(const char *s, feed_kind_t *out)
{
	for (size_t i = 0; s != NULL && i < sizeof kind_names / sizeof kind_names[0]; i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*out = (feed_kind_t)i;
			return 0;
		}
	return -1;
}

/* ---- from audit records ---- */

/* The id after "Type:" in the record's resource, when the type matches. */
static const char *resource_id(const json_t *record, const char *type)
{
	const char *res = json_string_value(json_object_get(record, "resource"));
	size_t n = strlen(type);
	if (res == NULL || strncmp(res, type, n) != 0 || res[n] != ':' || res[n + 1] == '\0')
		return NULL;
	return res + n + 1;
}

/* The id of the record's resource as Type:id or as the Cedar entity
 * Type::"id" (without escapes), into out; NULL when the type differs or
 * the id does not fit. */
static const char *entity_id(const json_t *record, const char *type, char *out, size_t cap)
{
	const char *id = resource_id(record, type);
	size_t n = id ? strlen(id) : 0;
	if (id != NULL && id[0] == ':') { /* Type::"id" */
		if (n < 4 || id[1] != '"' || id[n - 1] != '"' || memchr(id + 2, '"', n - 3) != NULL ||
		    memchr(id + 2, '\\', n - 3) != NULL)
			return NULL;
		id += 2;
		n -= 3;
	}
	if (id == NULL || n == 0 || n >= cap)
		return NULL;
	memcpy(out, id, n);
	out[n] = '\0';
	return out;
}

/* Unix seconds of a record's "time" (microsecond RFC 3339); 0 unknown. */
static int64_t record_time(const json_t *record)
{
	const char *t = json_string_value(json_object_get(record, "time"));
	char whole[21];
	int64_t out = 0;
	if (t == NULL || strlen(t) < 20)
		return 0;
	snprintf(whole, sizeof whole, "%.19sZ", t);
	return rfc3339_parse(whole, &out) == 0 ? out : 0;
}

static json_t *token_entry(const json_t *record)
{
	const json_t *d = json_object_get(record, "details");
	const char *jti = json_string_value(json_object_get(record, "jti"));
	const char *sub = json_string_value(json_object_get(d, "sub"));
	const json_t *exp = json_object_get(d, "exp");
	if (jti == NULL || sub == NULL || !json_is_integer(exp))
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:O}", "kind", "token", "id", jti, "sub", sub, "exp", exp);
}

static json_t *identity_entry(const json_t *record, const char *type)
{
	const char *id = resource_id(record, "Identity");
	const char *state = strcmp(type, "identity.suspended") == 0   ? "suspended"
			    : strcmp(type, "identity.offboarded") == 0 ? "offboarded"
			    : strcmp(type, "identity.reactivated") == 0 ? "active" : NULL;
	if (id == NULL)
		return NULL;
	if (state == NULL) /* created or updated: the entity set changed */
		return json_pack("{s:s}", "kind", "entities");
	return json_pack("{s:s, s:s, s:s, s:I}", "kind", "identity", "id", id, "state", state, "at",
			 (json_int_t)record_time(record));
}

static json_t *grant_entry(const json_t *record, const char *type)
{
	const char *id = json_string_value(json_object_get(record, "grant"));
	const char *state = strcmp(type, "grant.ended") == 0     ? "ended"
			    : strcmp(type, "grant.revoked") == 0 ? "revoked"
			    : strcmp(type, "grant.expired") == 0 ? "expired" : "active";
	if (id == NULL)
		id = resource_id(record, "Grant");
	if (id == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "kind", "grant", "id", id, "state", state);
}

/* An operator closed a Modbus session at an edge: the edge of the record
 * closes it (docs/edge.md, Operator view). */
static json_t *session_kill_entry(const json_t *record)
{
	const char *edge = json_string_value(json_object_get(record, "edge"));
	const char *sid = resource_id(record, "Session");
	const char *reason = json_string_value(json_object_get(json_object_get(record, "details"), "reason"));
	if (edge == NULL || sid == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s, s:s*}", "kind", "session_kill", "id", sid, "edge", edge, "reason",
			 reason && reason[0] ? reason : NULL);
}

/* A secret's value changed or it is gone (secret.updated, .rotated,
 * .deleted): edges that inject it fetch it again. */
static json_t *secret_entry(const json_t *record, const char *type)
{
	char name[TG_MAX_JTI_LEN + 1];
	if (entity_id(record, "Secret", name, sizeof name) == NULL)
		return NULL;
	return json_pack("{s:s, s:s, s:s}", "kind", "secret", "id", name, "state", type + strlen("secret."));
}

json_t *feed_entry_from_record(const json_t *record)
{
	const char *type = json_string_value(json_object_get(record, "type"));
	const json_t *seq = json_object_get(record, "seq");
	json_t *e = NULL;
	if (!feed_audit_type(type) || !json_is_integer(seq))
		return NULL;
	if (strcmp(type, "token.revoked") == 0)
		e = token_entry(record);
	else if (strncmp(type, "identity.", 9) == 0)
		e = identity_entry(record, type);
	else if (strncmp(type, "grant.", 6) == 0)
		e = grant_entry(record, type);
	else if (strcmp(type, "policy.changed") == 0)
		e = json_pack("{s:s}", "kind", "policy");
	else if (strncmp(type, "key.", 4) == 0)
		e = json_pack("{s:s}", "kind", "jwks");
	else if (strcmp(type, "edge.session_kill") == 0)
		e = session_kill_entry(record);
	else if (strncmp(type, "secret.", 7) == 0)
		e = secret_entry(record, type);
	else /* entities.changed, operator.* */
		e = json_pack("{s:s}", "kind", "entities");
	if (e != NULL)
		json_object_set(e, "seq", (json_t *)seq);
	return e;
}

/* ---- the edge's decoder ---- */

__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* A string member into out (cap bytes with the NUL); absent is "" when
 * optional. */
static int text(const json_t *o, const char *name, char *out, size_t cap, bool required)
{
	const json_t *v = json_object_get(o, name);
	out[0] = '\0';
	if (v == NULL && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= cap || json_string_length(v) == 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int integer(const json_t *o, const char *name, int64_t *out, bool required)
{
	const json_t *v = json_object_get(o, name);
	*out = 0;
	if (v == NULL && !required)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static bool one_of(const char *s, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(s, *allowed) == 0)
			return true;
	return false;
}

/* A grant's scope, copied (bounded like any scope). */
static int grant_scope(const json_t *o, feed_entry_t *e)
{
	const json_t *v = json_object_get(o, "scope");
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > TG_MAX_SCOPE_LEN ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return -1;
	return (e->scope = strdup(json_string_value(v))) != NULL ? 0 : -1;
}

static int entry_fields(const json_t *o, feed_entry_t *e)
{
	static const char *const identity_states[] = {"active", "suspended", "offboarded", NULL};
	static const char *const secret_states[] = {"updated", "rotated", "deleted", NULL};
	/* every state a grant has (core/grant.h); only "active" opens anything */
	static const char *const grant_states[] = {"pending",  "approved", "active",    "ended",
						   "revoked", "expired",  "denied", "cancelled", NULL};
	const json_t *bg = json_object_get(o, "break_glass");
	switch (e->kind) {
	case FEED_TOKEN:
		return text(o, "id", e->id, sizeof e->id, true) | text(o, "sub", e->sub, sizeof e->sub, true) |
		       integer(o, "exp", &e->exp, true);
	case FEED_IDENTITY:
		if (text(o, "id", e->id, TG_MAX_ID_LEN + 1, true) != 0 ||
		    text(o, "state", e->state, sizeof e->state, true) != 0 || integer(o, "at", &e->at, false) != 0)
			return -1;
		return one_of(e->state, identity_states) ? 0 : -1;
	case FEED_GRANT:
		if (text(o, "id", e->id, TG_GRANT_ID_LEN + 1, true) != 0 ||
		    text(o, "state", e->state, sizeof e->state, true) != 0 ||
		    text(o, "identity", e->sub, sizeof e->sub, false) != 0 ||
		    integer(o, "approvals", &e->approvals, false) != 0 ||
		    integer(o, "ends_at", &e->exp, false) != 0 ||
		    text(o, "reason", e->reason, sizeof e->reason, false) != 0 ||
		    text(o, "source", e->source, sizeof e->source, false) != 0 || grant_scope(o, e) != 0 ||
		    (bg != NULL && !json_is_boolean(bg)))
			return -1;
		e->break_glass = json_is_true(bg);
		return one_of(e->state, grant_states) ? 0 : -1;
	case FEED_SESSION_KILL:
		return text(o, "id", e->id, TG_MAX_ID_LEN + 1, true) | text(o, "edge", e->sub, sizeof e->sub, true) |
		       text(o, "reason", e->reason, sizeof e->reason, false);
	case FEED_SECRET:
		if (text(o, "id", e->id, sizeof e->id, true) != 0 || text(o, "state", e->state, sizeof e->state, true) != 0)
			return -1;
		return one_of(e->state, secret_states) ? 0 : -1;
	default:
		return 0;
	}
}

static int parse_entry(const json_t *o, feed_entry_t *e, char *why, size_t why_len)
{
	memset(e, 0, sizeof *e);
	if (!json_is_object(o))
		return refuse(why, why_len, "an entry is not an object");
	if (kind_parse(json_string_value(json_object_get(o, "kind")), &e->kind) != 0)
		return refuse(why, why_len, "an entry has no known kind");
	if (integer(o, "seq", &e->seq, false) != 0)
		return refuse(why, why_len, "an entry's seq is not a non-negative integer");
	if (entry_fields(o, e) != 0)
		return refuse(why, why_len, "a %s entry lacks a member or has one of the wrong type",
			      feed_kind_name(e->kind));
	return 0;
}

static int versions(const json_t *doc, feed_batch_t *out)
{
	const json_t *v = json_object_get(doc, "versions");
	if (v == NULL)
		return 0;
	if (!json_is_object(v) || integer(v, "policy", &out->policy_version, false) != 0 ||
	    integer(v, "entities", &out->entities_version, false) != 0 ||
	    text(v, "jwks", out->jwks_sha256, sizeof out->jwks_sha256, false) != 0)
		return -1;
	return 0;
}

static int entries(const json_t *arr, int64_t since, feed_batch_t *out, char *why, size_t why_len)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > TG_MAX_FEED_ENTRIES)
		return refuse(why, why_len, "entries must be an array of at most %d", TG_MAX_FEED_ENTRIES);
	out->entries = calloc(n ? n : 1, sizeof *out->entries);
	if (out->entries == NULL)
		return refuse(why, why_len, "out of memory");
	int64_t last = since;
	for (size_t i = 0; i < n; i++) {
		feed_entry_t *e = &out->entries[i];
		out->n = i + 1; /* freed with the batch, also when it is refused */
		if (parse_entry(json_array_get(arr, i), e, why, why_len) != 0)
			return -1;
		if (out->snapshot ? e->seq != 0 : (e->seq <= last || e->seq > out->seq))
			return refuse(why, why_len, "entry %zu is out of order (seq %lld after %lld, head %lld)", i,
				      (long long)e->seq, (long long)last, (long long)out->seq);
		last = out->snapshot ? last : e->seq;
	}
	return 0;
}

int feed_batch_parse(const char *buf, size_t len, int64_t since, feed_batch_t *out, char *why, size_t why_len)
{
	json_error_t jerr;
	memset(out, 0, sizeof *out);
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	int rc = -1;
	if (!json_is_object(doc)) {
		refuse(why, why_len, "the answer is not a JSON object");
		goto out;
	}
	const json_t *snap = json_object_get(doc, "snapshot");
	if (snap != NULL && !json_is_boolean(snap)) {
		refuse(why, why_len, "snapshot must be a boolean");
		goto out;
	}
	out->snapshot = json_is_true(snap);
	if (integer(doc, "seq", &out->seq, true) != 0 || (!out->snapshot && out->seq < since)) {
		refuse(why, why_len, "the answer's seq is missing or behind this edge's position");
		goto out;
	}
	if (versions(doc, out) != 0) {
		refuse(why, why_len, "versions must be {\"policy\", \"entities\", \"jwks\"}");
		goto out;
	}
	rc = entries(json_object_get(doc, "entries"), since, out, why, why_len);
out:
	json_decref(doc);
	if (rc != 0)
		feed_batch_free(out);
	return rc;
}

void feed_entry_release(feed_entry_t *e)
{
	free(e->scope);
	e->scope = NULL;
}

void feed_batch_free(feed_batch_t *b)
{
	for (size_t i = 0; b->entries != NULL && i < b->n; i++)
		feed_entry_release(&b->entries[i]);
	free(b->entries);
	b->entries = NULL;
	b->n = 0;
}

json_t *feed_entry_json(const feed_entry_t *e)
{
	json_t *o = json_pack("{s:I, s:s}", "seq", (json_int_t)e->seq, "kind", feed_kind_name(e->kind));
	switch (e->kind) {
	case FEED_TOKEN:
		json_object_set_new(o, "id", json_string(e->id));
		json_object_set_new(o, "sub", json_string(e->sub));
		json_object_set_new(o, "exp", json_integer(e->exp));
		break;
	case FEED_IDENTITY:
		json_object_set_new(o, "id", json_string(e->id));
		json_object_set_new(o, "state", json_string(e->state));
		json_object_set_new(o, "at", json_integer(e->at));
		break;
	case FEED_GRANT:
		json_object_set_new(o, "id", json_string(e->id));
		json_object_set_new(o, "state", json_string(e->state));
		if (e->sub[0] != '\0')
			json_object_set_new(o, "identity", json_string(e->sub));
		json_object_set_new(o, "approvals", json_integer(e->approvals));
		json_object_set_new(o, "ends_at", json_integer(e->exp));
		json_object_set_new(o, "break_glass", json_boolean(e->break_glass));
		if (e->reason[0] != '\0')
			json_object_set_new(o, "reason", json_string(e->reason));
		if (e->source[0] != '\0')
			json_object_set_new(o, "source", json_string(e->source));
		if (e->scope != NULL)
			json_object_set_new(o, "scope", json_string(e->scope));
		break;
	case FEED_SESSION_KILL:
		json_object_set_new(o, "id", json_string(e->id));
		json_object_set_new(o, "edge", json_string(e->sub));
		if (e->reason[0] != '\0')
			json_object_set_new(o, "reason", json_string(e->reason));
		break;
	case FEED_SECRET:
		json_object_set_new(o, "id", json_string(e->id));
		json_object_set_new(o, "state", json_string(e->state));
		break;
	default:
		break;
	}
	return o;
}
