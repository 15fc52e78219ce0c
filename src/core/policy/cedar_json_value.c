/* cedar_json_value.c - Cedar values and entity references read from JSON
 * (and from the two text forms of an entity reference), the way the
 * reference's schema-less parser reads them (cedar-policy-core,
 * entities/json/value.rs, CedarValueJson):
 *
 *   true/false        bool          "..."             string
 *   integer           long          [...]             set (any elements)
 *   {"k": v, ...}     record        {"__entity": {"type": T, "id": I}}
 *   {"__extn": {"fn": F, "arg": A}} or {"__extn": {"fn": F, "args": [...]}}
 *
 * Fractions, integers beyond 64 bits and null are refused, as are the
 * removed {"__expr": ...} escape and unknown extension functions. Without
 * a schema an object holding only "type" and "id" is a record, as in the
 * reference (a schema would make it an entity; use "__entity").
 *
 * Where this is stricter than the reference (serde ignores unknown fields
 * and falls back to reading a malformed escape as a record): an object
 * with an "__entity"/"__extn"/"__expr" key must be exactly that escape,
 * and {"type","id"} and {"fn","arg"} take no other keys. Silently reading
 * {"__entity": 5} as a record would hide a mistake in an authorization
 * input.
 *
 * Every value is at most TG_MAX_VALUE_DEPTH deep (a scalar is 1 deep, a
 * record of scalars 2), which bounds every later recursive walk, and every
 * refusal says where: "entity 3 (Device::\"plc-7\"): attrs.zone[2]: ...". */
#include "core/limits.h"
#include "core/policy/cedar_json.h"
#include "core/policy/ext.h"
#include "core/policy/text.h"
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- where we are, for messages -------------------------------------- */

typedef struct {
	pol_arena_t *a;
	const char *where; /* "entity 3 (Device::\"plc-7\")", or NULL */
	char path[192];    /* "attrs.zone[2]" */
	size_t plen;
	char *err;
	size_t errsize;
} jctx_t;

__attribute__((format(printf, 2, 3))) static int fail(jctx_t *c, const char *fmt, ...)
{
	if (c->err == NULL || c->errsize == 0)
		return -1;
	size_t n = 0;
	if (c->where != NULL && c->where[0] != '\0') {
		int k = snprintf(c->err, c->errsize, "%s: ", c->where);
		n = k < 0 ? 0 : (size_t)k;
	}
	if (c->plen > 0 && n < c->errsize) {
		int k = snprintf(c->err + n, c->errsize - n, "%s: ", c->path);
		n += k < 0 ? 0 : (size_t)k;
	}
	if (n < c->errsize) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errsize - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Appends to the path; a path that does not fit ends in "..." (the
 * first refusal ends the load, so a cut path is only ever printed). */
static void path_append(jctx_t *c, const char *s, size_t n)
{
	size_t max = sizeof c->path - 1;
	if (c->plen + n <= max) {
		memcpy(c->path + c->plen, s, n);
		c->plen += n;
	} else {
		memcpy(c->path + c->plen, s, max - c->plen);
		memcpy(c->path + max - 3, "...", 3);
		c->plen = max;
	}
	c->path[c->plen] = '\0';
}

static bool ident_like(const char *k, size_t n)
{
	if (n == 0 || n > 48)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = k[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
			  (i > 0 && ch >= '0' && ch <= '9');
		if (!ok)
			return false;
	}
	return true;
}

/* ".key" for identifier-like keys, ["k\u{0}ey"] otherwise (cut after 32
 * bytes at a character boundary). */
static void path_key(jctx_t *c, const char *k, size_t n)
{
	char buf[160];
	size_t o = 0;
	if (ident_like(k, n)) {
		if (c->plen > 0)
			buf[o++] = '.';
		memcpy(buf + o, k, n);
		path_append(c, buf, o + n);
		return;
	}
	buf[o++] = '[';
	buf[o++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k[i];
		if (o > 36 && (ch & 0xc0) != 0x80) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			o += (size_t)snprintf(buf + o, sizeof buf - o, "\\u{%x}", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o++] = ']';
	path_append(c, buf, o);
}

static void path_index(jctx_t *c, size_t i)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "[%zu]", i);
	path_append(c, buf, (size_t)n);
}

static void path_name(jctx_t *c, const char *name)
{
	path_key(c, name, strlen(name));
}

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

static int oom(jctx_t *c)
{
	return fail(c, "out of memory");
}

/* ---- entity references ------------------------------------------------ */

static const char *const reserved[] = {"true", "false", "if",  "then", "else",
				       "in",   "is",    "like", "has", "__cedar"};

static bool is_reserved(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (strlen(reserved[i]) == n && memcmp(reserved[i], s, n) == 0)
			return true;
	return false;
}

static bool ident_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static bool ident_char(char ch)
{
	return ident_start(ch) || (ch >= '0' && ch <= '9');
}

/* Length of the identifier at s[i..], 0 when there is none. */
static size_t ident_at(const char *s, size_t len, size_t i)
{
	size_t j = i;
	if (j >= len || !ident_start(s[j]))
		return 0;
	while (j < len && ident_char(s[j]))
		j++;
	return j - i;
}

/* Checks a type path Ident('::'Ident)* as Cedar's normalized name parser
 * does (no spaces, no reserved words); NULL or why not. */
static const char *type_path_error(const char *s, size_t len, size_t *bad)
{
	size_t i = 0;
	if (len == 0) {
		*bad = 0;
		return "the entity type is empty";
	}
	for (;;) {
		size_t n = ident_at(s, len, i);
		*bad = i;
		if (n == 0)
			return "the entity type must be identifiers joined by '::'";
		if (is_reserved(s + i, n))
			return "the entity type uses a reserved word";
		i += n;
		if (i == len)
			return NULL;
		if (len - i < 2 || s[i] != ':' || s[i + 1] != ':') {
			*bad = i;
			return "the entity type must be identifiers joined by '::'";
		}
		i += 2;
	}
}

static int make_str(pol_arena_t *a, const char *s, size_t n, pol_str_t *out)
{
	char *p = pol_arena_strndup(a, s, n);
	if (p == NULL)
		return -1;
	out->p = p;
	out->len = n;
	return 0;
}

/* The text forms; messages go through c. */
static int euid_text(jctx_t *c, const char *s, size_t len, pol_euid_t *out)
{
	size_t bad = pol_utf8_check(s, len), i = 0;
	if (bad < len)
		return fail(c, "entity reference is not valid UTF-8 (byte %zu)", bad);
	for (;;) {
		size_t n = ident_at(s, len, i);
		if (n == 0)
			return fail(c, "entity reference \"%.*s\": expected a type name at byte %zu "
				       "(write Type::\"id\" or Type:id)",
				    (int)(len > 64 ? 64 : len), s, i);
		if (is_reserved(s + i, n))
			return fail(c, "entity reference \"%.*s\": `%.*s` is a reserved word and cannot "
				       "name a type",
				    (int)(len > 64 ? 64 : len), s, (int)n, s + i);
		i += n;
		if (i + 1 < len && s[i] == ':' && s[i + 1] == ':') {
			if (i + 2 < len && s[i + 2] == '"')
				break; /* Cedar form */
			i += 2;
			continue; /* more path */
		}
		if (i < len && s[i] == ':') {
			/* Compact form: the id is the rest, verbatim. */
			if (make_str(c->a, s, i, &out->type) < 0 ||
			    make_str(c->a, s + i + 1, len - i - 1, &out->id) < 0)
				return oom(c);
			return 0;
		}
		return fail(c, "entity reference \"%.*s\": expected ::\"id\" or :id after the type "
			       "at byte %zu",
			    (int)(len > 64 ? 64 : len), s, i);
	}
	/* s[i..] is ::"...": the closing quote must end the text. */
	size_t tlen = i, q = i + 3, end = q;
	while (end < len && s[end] != '"') {
		if (s[end] == '\\')
			end++;
		end++;
	}
	if (end >= len)
		return fail(c, "entity reference \"%.*s\": the id's string is not closed",
			    (int)(len > 64 ? 64 : len), s);
	if (end + 1 != len)
		return fail(c, "entity reference \"%.*s\": unexpected text after the id at byte %zu",
			    (int)(len > 64 ? 64 : len), s, end + 1);
	const char *why = NULL;
	if (pol_unescape(c->a, s + q, end - q, &out->id, &bad, &why) < 0)
		return fail(c, "entity reference \"%.*s\": byte %zu: %s", (int)(len > 64 ? 64 : len),
			    s, q + bad, why);
	if (make_str(c->a, s, tlen, &out->type) < 0)
		return oom(c);
	return 0;
}

/* {"type": T, "id": I} with nothing else. */
static int type_and_id(jctx_t *c, const json_t *j, pol_euid_t *out)
{
	const json_t *t = json_object_get(j, "type"), *id = json_object_get(j, "id");
	if (t == NULL || id == NULL || json_object_size(j) != 2) {
		const char *k;
		size_t kl;
		json_t *v;
		json_object_keylen_foreach((json_t *)j, k, kl, v)
		{
			if (!(kl == 4 && memcmp(k, "type", 4) == 0) && !(kl == 2 && memcmp(k, "id", 2) == 0)) {
				size_t save = c->plen;
				path_key(c, k, kl);
				int rc = fail(c, "unexpected key in an entity reference (it has \"type\" and "
						 "\"id\" only)");
				c->plen = save;
				c->path[save] = '\0';
				return rc;
			}
		}
		return fail(c, "an entity reference needs \"%s\"", t == NULL ? "type" : "id");
	}
	if (!json_is_string(t) || !json_is_string(id)) {
		size_t save = c->plen;
		path_name(c, !json_is_string(t) ? "type" : "id");
		int rc = fail(c, "expected a string, got %s", json_kind(!json_is_string(t) ? t : id));
		c->plen = save;
		c->path[save] = '\0';
		return rc;
	}
	const char *ts = json_string_value(t);
	size_t tl = json_string_length(t), bad;
	const char *why = type_path_error(ts, tl, &bad);
	if (why != NULL)
		return fail(c, "\"%.*s\" is not an entity type: %s", (int)(tl > 64 ? 64 : tl), ts, why);
	if (make_str(c->a, ts, tl, &out->type) < 0 ||
	    make_str(c->a, json_string_value(id), json_string_length(id), &out->id) < 0)
		return oom(c);
	return 0;
}

static int euid_at(jctx_t *c, const json_t *j, pol_euid_t *out)
{
	if (json_is_string(j))
		return euid_text(c, json_string_value(j), json_string_length(j), out);
	if (!json_is_object(j))
		return fail(c, "expected an entity reference ({\"type\": ..., \"id\": ...}), got %s",
			    json_kind(j));
	const json_t *e = json_object_get(j, "__entity");
	if (e != NULL) {
		if (json_object_size(j) != 1)
			return fail(c, "an {\"__entity\": ...} escape takes no other keys");
		size_t save = c->plen;
		path_name(c, "__entity");
		int rc = json_is_object(e) ? type_and_id(c, e, out)
					   : fail(c, "expected {\"type\": ..., \"id\": ...}, got %s",
						  json_kind(e));
		c->plen = save;
		c->path[save] = '\0';
		return rc;
	}
	if (json_object_get(j, "__expr") != NULL)
		return fail(c, "the __expr escape was removed from Cedar; write {\"type\": ..., \"id\": ...}");
	return type_and_id(c, j, out);
}

/* ---- values ------------------------------------------------------------ */

static int value_at(jctx_t *c, const json_t *j, pol_value_t *out, int depth);

typedef struct {
	pol_str_t k;
	pol_value_t v;
} pair_t;

static int pair_cmp(const void *x, const void *y)
{
	return pol_str_cmp(&((const pair_t *)x)->k, &((const pair_t *)y)->k);
}

/* Sorts pairs by key into the record's parallel arrays. qsort first, so
 * that pol_record_sort (insertion sort) sees sorted input and only checks
 * for repeats: O(n log n) for any record. */
static int build_record(jctx_t *c, pair_t *pairs, size_t n, pol_value_t *out)
{
	pol_str_t *keys = pol_arena_alloc(c->a, (n ? n : 1) * sizeof *keys);
	pol_value_t *vals = pol_arena_alloc(c->a, (n ? n : 1) * sizeof *vals);
	if (keys == NULL || vals == NULL)
		return oom(c);
	if (n > 1)
		qsort(pairs, n, sizeof *pairs, pair_cmp);
	for (size_t i = 0; i < n; i++) {
		keys[i] = pairs[i].k;
		vals[i] = pairs[i].v;
	}
	if (pol_record_sort(keys, vals, n) < 0) {
		for (size_t i = 1; i < n; i++)
			if (pol_str_eq(&keys[i - 1], &keys[i]))
				return fail(c, "duplicate key \"%.*s\"",
					    (int)(keys[i].len > 40 ? 40 : keys[i].len), keys[i].p);
		return fail(c, "duplicate key");
	}
	memset(out, 0, sizeof *out);
	out->kind = PV_RECORD;
	out->n = (uint32_t)n;
	out->u.rec.keys = keys;
	out->u.rec.vals = vals;
	return 0;
}

static int record_at(jctx_t *c, const json_t *j, pol_value_t *out, int depth)
{
	size_t n = json_object_size(j), i = 0;
	if (n > UINT32_MAX)
		return fail(c, "record too large");
	pair_t *pairs = malloc((n ? n : 1) * sizeof *pairs);
	if (pairs == NULL)
		return oom(c);
	const char *k;
	size_t kl;
	json_t *v;
	int rc = 0;
	json_object_keylen_foreach((json_t *)j, k, kl, v)
	{
		size_t save = c->plen;
		path_key(c, k, kl);
		if (make_str(c->a, k, kl, &pairs[i].k) < 0)
			rc = oom(c);
		else
			rc = value_at(c, v, &pairs[i].v, depth + 1);
		c->plen = save;
		c->path[save] = '\0';
		if (rc < 0)
			break;
		i++;
	}
	if (rc == 0)
		rc = build_record(c, pairs, n, out);
	free(pairs);
	return rc;
}

static int set_at(jctx_t *c, const json_t *j, pol_value_t *out, int depth)
{
	size_t n = json_array_size(j);
	if (n > UINT32_MAX)
		return fail(c, "set too large");
	pol_value_t *items = pol_arena_alloc(c->a, (n ? n : 1) * sizeof *items);
	if (items == NULL)
		return oom(c);
	for (size_t i = 0; i < n; i++) {
		size_t save = c->plen;
		path_index(c, i);
		int rc = value_at(c, json_array_get(j, i), &items[i], depth + 1);
		c->plen = save;
		c->path[save] = '\0';
		if (rc < 0)
			return rc;
	}
	memset(out, 0, sizeof *out);
	out->kind = PV_SET;
	out->n = (uint32_t)n;
	out->u.items = items;
	return 0;
}

/* Extension constructors the JSON escape may call, and what they take:
 * the one-string constructors, and the datetime functions the reference
 * writes datetimes with (offset) or that build datetime/duration values. */
typedef enum { X_IP, X_DECIMAL, X_DATETIME, X_DURATION, X_OFFSET, X_SINCE, X_TO_DATE, X_TO_TIME } xfn_t;

static const struct {
	const char *name;
	xfn_t fn;
	size_t nargs;
	uint8_t arg[2]; /* kinds of the arguments */
} xfns[] = {
	{"ip", X_IP, 1, {PV_STRING}},
	{"decimal", X_DECIMAL, 1, {PV_STRING}},
	{"datetime", X_DATETIME, 1, {PV_STRING}},
	{"duration", X_DURATION, 1, {PV_STRING}},
	{"offset", X_OFFSET, 2, {PV_DATETIME, PV_DURATION}},
	{"durationSince", X_SINCE, 2, {PV_DATETIME, PV_DATETIME}},
	{"toDate", X_TO_DATE, 1, {PV_DATETIME}},
	{"toTime", X_TO_TIME, 1, {PV_DATETIME}},
};

/* Functions Cedar has that are not constructors of a value (for a clearer
 * refusal than "unknown"). */
static const char *const non_constructors[] = {
	"lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "isIpv4", "isIpv6",
	"isLoopback", "isMulticast", "isInRange", "toDays", "toHours", "toMinutes", "toSeconds",
	"toMilliseconds", "unknown",
};

static int call_ext(jctx_t *c, int fi, const pol_value_t *args, pol_value_t *out)
{
	const char *s = args[0].u.s.p;
	size_t n = args[0].u.s.len;
	int64_t l = 0;
	int rc = 0;
	memset(out, 0, sizeof *out);
	switch (xfns[fi].fn) {
	case X_IP:
		out->kind = PV_IP;
		rc = pol_ip_parse(s, n, &out->u.ip);
		break;
	case X_DECIMAL:
		out->kind = PV_DECIMAL;
		rc = pol_decimal_parse(s, n, &out->u.l);
		break;
	case X_DATETIME:
		out->kind = PV_DATETIME;
		rc = pol_datetime_parse(s, n, &out->u.l);
		break;
	case X_DURATION:
		out->kind = PV_DURATION;
		rc = pol_duration_parse(s, n, &out->u.l);
		break;
	case X_OFFSET:
		out->kind = PV_DATETIME;
		rc = pol_datetime_offset(args[0].u.l, args[1].u.l, &out->u.l);
		break;
	case X_SINCE:
		out->kind = PV_DURATION;
		rc = pol_datetime_duration_since(args[0].u.l, args[1].u.l, &out->u.l);
		break;
	case X_TO_DATE:
		out->kind = PV_DATETIME;
		rc = pol_datetime_to_date(args[0].u.l, &out->u.l);
		break;
	case X_TO_TIME:
		out->kind = PV_DURATION;
		l = pol_datetime_to_time(args[0].u.l);
		out->u.l = l;
		break;
	}
	if (rc == 0)
		return 0;
	if (xfns[fi].nargs == 1 && xfns[fi].arg[0] == PV_STRING)
		return fail(c, "%s(\"%.*s\"): not a valid %s", xfns[fi].name, (int)(n > 64 ? 64 : n), s,
			    xfns[fi].fn == X_IP ? "IP address or range" : xfns[fi].name);
	return fail(c, "%s(...): the result overflows", xfns[fi].name);
}

/* {"__extn": {"fn": F, "arg": A}} or {"__extn": {"fn": F, "args": [...]}}. */
static int extn_at(jctx_t *c, const json_t *x, pol_value_t *out, int depth)
{
	if (!json_is_object(x))
		return fail(c, "expected {\"fn\": ..., \"arg\": ...}, got %s", json_kind(x));
	const json_t *fn = json_object_get(x, "fn"), *arg = json_object_get(x, "arg"),
		     *args = json_object_get(x, "args");
	if (fn == NULL || !json_is_string(fn))
		return fail(c, "an extension value needs \"fn\", a string");
	if ((arg == NULL) == (args == NULL) || json_object_size(x) != 2)
		return fail(c, "an extension value has \"fn\" and either \"arg\" or \"args\", nothing else");
	if (args != NULL && !json_is_array(args))
		return fail(c, "\"args\" must be an array, got %s", json_kind(args));
	const char *name = json_string_value(fn);
	size_t namelen = json_string_length(fn);
	int fi = -1;
	for (size_t i = 0; i < sizeof xfns / sizeof xfns[0]; i++)
		if (strlen(xfns[i].name) == namelen && memcmp(xfns[i].name, name, namelen) == 0)
			fi = (int)i;
	if (fi < 0) {
		for (size_t i = 0; i < sizeof non_constructors / sizeof non_constructors[0]; i++)
			if (strlen(non_constructors[i]) == namelen &&
			    memcmp(non_constructors[i], name, namelen) == 0)
				return fail(c, "\"%s\" does not construct a value here (use ip, decimal, "
					       "datetime, duration or offset)",
					    non_constructors[i]);
		return fail(c, "unknown extension function \"%.*s\"", (int)(namelen > 40 ? 40 : namelen),
			    name);
	}
	size_t nargs = args != NULL ? json_array_size(args) : 1;
	if (nargs != xfns[fi].nargs)
		return fail(c, "%s takes %zu argument%s, got %zu", xfns[fi].name, xfns[fi].nargs,
			    xfns[fi].nargs == 1 ? "" : "s", nargs);
	pol_value_t argv[2];
	for (size_t i = 0; i < nargs; i++) {
		size_t save = c->plen;
		if (args != NULL) {
			path_name(c, "args");
			path_index(c, i);
		} else {
			path_name(c, "arg");
		}
		const json_t *aj = args != NULL ? json_array_get(args, i) : arg;
		int rc = value_at(c, aj, &argv[i], depth + 1);
		if (rc == 0 && argv[i].kind != xfns[fi].arg[i])
			rc = fail(c, "%s expects %s here, got %s", xfns[fi].name,
				  pol_kind_name(xfns[fi].arg[i]), pol_kind_name(argv[i].kind));
		c->plen = save;
		c->path[save] = '\0';
		if (rc < 0)
			return rc;
	}
	return call_ext(c, fi, argv, out);
}

static int object_at(jctx_t *c, const json_t *j, pol_value_t *out, int depth)
{
	const json_t *e = json_object_get(j, "__entity"), *x = json_object_get(j, "__extn");
	if (json_object_get(j, "__expr") != NULL)
		return fail(c, "the __expr escape was removed from Cedar; use __entity or __extn");
	if (e != NULL || x != NULL) {
		if (json_object_size(j) != 1)
			return fail(c, "an {\"%s\": ...} escape takes no other keys",
				    e != NULL ? "__entity" : "__extn");
		if (e != NULL) {
			memset(out, 0, sizeof *out);
			out->kind = PV_ENTITY;
			return euid_at(c, j, &out->u.e);
		}
		size_t save = c->plen;
		path_name(c, "__extn");
		int rc = extn_at(c, x, out, depth);
		c->plen = save;
		c->path[save] = '\0';
		return rc;
	}
	return record_at(c, j, out, depth);
}

static int value_at(jctx_t *c, const json_t *j, pol_value_t *out, int depth)
{
	if (depth > TG_MAX_VALUE_DEPTH)
		return fail(c, "nested deeper than %d levels", TG_MAX_VALUE_DEPTH);
	memset(out, 0, sizeof *out);
	switch (json_typeof(j)) {
	case JSON_TRUE:
	case JSON_FALSE:
		out->kind = PV_BOOL;
		out->u.b = json_is_true(j);
		return 0;
	case JSON_INTEGER:
		out->kind = PV_LONG;
		out->u.l = (int64_t)json_integer_value(j);
		return 0;
	case JSON_REAL:
		return fail(c, "numbers must be integers from -9223372036854775808 to "
			       "9223372036854775807 (Cedar has no fractions)");
	case JSON_NULL:
		return fail(c, "null is not a Cedar value");
	case JSON_STRING:
		out->kind = PV_STRING;
		if (make_str(c->a, json_string_value(j), json_string_length(j), &out->u.s) < 0)
			return oom(c);
		return 0;
	case JSON_ARRAY:
		return set_at(c, j, out, depth);
	case JSON_OBJECT:
		return object_at(c, j, out, depth);
	}
	return fail(c, "not a Cedar value");
}

/* ---- entry points -------------------------------------------------------- */

static void ctx_init(jctx_t *c, pol_arena_t *a, const char *where, const char *root, char *err,
		     size_t errsize)
{
	memset(c, 0, sizeof *c);
	c->a = a;
	c->where = where;
	c->err = err;
	c->errsize = errsize;
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (root != NULL)
		path_append(c, root, strlen(root));
}

int pol_json_value_at(pol_arena_t *a, const json_t *j, const char *where, const char *root,
		      pol_value_t *out, char *err, size_t errsize)
{
	jctx_t c;
	ctx_init(&c, a, where, root, err, errsize);
	if (j == NULL)
		return fail(&c, "missing value");
	return value_at(&c, j, out, 1);
}

int pol_json_record_at(pol_arena_t *a, const json_t *j, const char *where, const char *root,
		       pol_value_t *out, char *err, size_t errsize)
{
	jctx_t c;
	ctx_init(&c, a, where, root, err, errsize);
	if (j == NULL || !json_is_object(j))
		return fail(&c, "expected an object (a record), got %s", j ? json_kind(j) : "nothing");
	return record_at(&c, j, out, 1);
}

int pol_json_euid_at(pol_arena_t *a, const json_t *j, const char *where, const char *root,
		     pol_euid_t *out, char *err, size_t errsize)
{
	jctx_t c;
	ctx_init(&c, a, where, root, err, errsize);
	if (j == NULL)
		return fail(&c, "missing entity reference");
	return euid_at(&c, j, out);
}

int pol_json_value(pol_arena_t *a, const json_t *j, pol_value_t *out, char *err, size_t errsize)
{
	return pol_json_value_at(a, j, NULL, NULL, out, err, errsize);
}

int pol_json_euid(pol_arena_t *a, const json_t *j, pol_euid_t *out, char *err, size_t errsize)
{
	return pol_json_euid_at(a, j, NULL, NULL, out, err, errsize);
}

int pol_euid_parse_text(pol_arena_t *a, const char *s, size_t len, pol_euid_t *out, char *err,
			size_t errsize)
{
	jctx_t c;
	ctx_init(&c, a, NULL, NULL, err, errsize);
	return euid_text(&c, s, len, out);
}

bool pol_euid_is_action(const pol_euid_t *e)
{
	static const char act[] = "Action";
	size_t n = sizeof act - 1;
	if (e->type.len < n || memcmp(e->type.p + e->type.len - n, act, n) != 0)
		return false;
	return e->type.len == n || (e->type.len >= n + 2 && e->type.p[e->type.len - n - 1] == ':');
}
