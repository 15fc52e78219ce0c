/* cedar_json.c - Cedar's JSON documents: the entities document read into a
 * sealed store, a request read into a pol_request_t, and the way back
 * (a decision and a value written as JSON). Values and entity references
 * themselves are read by cedar_json_value.c; JSON text is decoded by
 * jansson (pol_json_parse below adds the size and nesting bounds).
 *
 * The entities document is the reference's (cedar-policy-core,
 * entities/json/entities.rs, without a schema): an array of
 *   {"uid": U, "attrs": {...}, "parents": [U, ...], "tags": {...}}
 * where "uid", "attrs" and "parents" are required and "tags" is optional,
 * as there. Unknown keys are refused (the reference ignores them; here a
 * misspelt "parent" would silently drop a hierarchy edge). As in the
 * reference, an action's parents must be actions and a uid may appear
 * once. Everything is allocated in the store's arena. */
#include "core/errbuf.h"
#include "core/limits.h"
#include "core/policy/cedar_json.h"
#include "core/policy/ext.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *json_kind(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "something else";
}

/* "entity 3 (Device::\"plc-7\")" into buf. */
static void entity_where(char *buf, size_t size, size_t i, const pol_euid_t *uid)
{
	char r[96];
	pol_value_t v = {.kind = PV_ENTITY};
	v.u.e = *uid;
	size_t n = pol_value_render(&v, r, sizeof r);
	if (n >= sizeof r)
		memcpy(r + sizeof r - 4, "...", 4);
	snprintf(buf, size, "entity %zu (%s)", i, r);
}

/* The first key of obj that is not in allowed (NULL-terminated), or NULL. */
static const char *unknown_key(const json_t *obj, const char *const *allowed, size_t *klen)
{
	const char *k;
	size_t kl;
	json_t *v;
	json_object_keylen_foreach((json_t *)obj, k, kl, v)
	{
		bool ok = false;
		for (size_t i = 0; allowed[i] != NULL && !ok; i++)
			ok = strlen(allowed[i]) == kl && memcmp(allowed[i], k, kl) == 0;
		if (!ok) {
			*klen = kl;
			return k;
		}
	}
	return NULL;
}

static int load_entity(pol_entities_t *es, size_t i, const json_t *e, char *err, size_t errsize)
{
	static const char *const keys[] = {"uid", "attrs", "parents", "tags", NULL};
	pol_arena_t *a = pol_entities_arena(es);
	char head[32], where[160];
	const char *k;
	size_t kl;
	snprintf(head, sizeof head, "entity %zu", i);
	if (!json_is_object(e)) {
		tg_errf(err, errsize, "%s: expected an object {\"uid\", \"attrs\", \"parents\"}, got %s",
			head, json_kind(e));
		return -1;
	}
	const json_t *uidj = json_object_get(e, "uid"), *attrsj = json_object_get(e, "attrs"),
		     *parentsj = json_object_get(e, "parents"), *tagsj = json_object_get(e, "tags");
	if (uidj == NULL) {
		tg_errf(err, errsize, "%s: missing \"uid\"", head);
		return -1;
	}
	pol_euid_t *uid = pol_arena_alloc(a, sizeof *uid);
	if (uid == NULL) {
		tg_errf(err, errsize, "%s: out of memory", head);
		return -1;
	}
	if (pol_json_euid_at(a, uidj, head, "uid", uid, err, errsize) < 0)
		return -1;
	entity_where(where, sizeof where, i, uid);
	if ((k = unknown_key(e, keys, &kl)) != NULL) {
		tg_errf(err, errsize,
			"%s: unexpected key \"%.*s\" (an entity has \"uid\", \"attrs\", \"parents\" and "
			"\"tags\")",
			where, (int)(kl > 40 ? 40 : kl), k);
		return -1;
	}
	if (attrsj == NULL || parentsj == NULL) {
		tg_errf(err, errsize, "%s: missing \"%s\" (write %s if there are none)", where,
			attrsj == NULL ? "attrs" : "parents", attrsj == NULL ? "{}" : "[]");
		return -1;
	}
	pol_value_t *attrs = pol_arena_alloc(a, sizeof *attrs), *tags = NULL;
	if (attrs == NULL) {
		tg_errf(err, errsize, "%s: out of memory", where);
		return -1;
	}
	if (pol_json_record_at(a, attrsj, where, "attrs", attrs, err, errsize) < 0)
		return -1;
	if (tagsj != NULL) {
		tags = pol_arena_alloc(a, sizeof *tags);
		if (tags == NULL) {
			tg_errf(err, errsize, "%s: out of memory", where);
			return -1;
		}
		if (pol_json_record_at(a, tagsj, where, "tags", tags, err, errsize) < 0)
			return -1;
	}
	if (!json_is_array(parentsj)) {
		tg_errf(err, errsize, "%s: parents: expected an array of entity references, got %s",
			where, json_kind(parentsj));
		return -1;
	}
	size_t np = json_array_size(parentsj);
	pol_euid_t *parents = pol_arena_alloc(a, (np ? np : 1) * sizeof *parents);
	if (parents == NULL) {
		tg_errf(err, errsize, "%s: out of memory", where);
		return -1;
	}
	bool action = pol_euid_is_action(uid);
	for (size_t p = 0; p < np; p++) {
		char root[40];
		snprintf(root, sizeof root, "parents[%zu]", p);
		if (pol_json_euid_at(a, json_array_get(parentsj, p), where, root, &parents[p], err,
				     errsize) < 0)
			return -1;
		if (action && !pol_euid_is_action(&parents[p])) {
			char r[96];
			pol_value_t v = {.kind = PV_ENTITY};
			v.u.e = parents[p];
			pol_value_render(&v, r, sizeof r);
			tg_errf(err, errsize, "%s: %s: the parent of an action must be an action, not %s",
				where, root, r);
			return -1;
		}
	}
	const char *why = NULL;
	if (pol_entities_add(es, uid, attrs, tags, parents, np, &why) < 0) {
		tg_errf(err, errsize, "%s: %s", where, why != NULL ? why : "refused");
		return -1;
	}
	return 0;
}

int pol_json_entities_from(const json_t *array, pol_entities_t **out, char *err, size_t errsize)
{
	*out = NULL;
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (array == NULL || !json_is_array(array)) {
		tg_errf(err, errsize, "the entities document must be an array of entities, got %s",
			array != NULL ? json_kind(array) : "nothing");
		return -1;
	}
	pol_entities_t *es = pol_entities_new();
	if (es == NULL) {
		tg_errf(err, errsize, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < json_array_size(array); i++) {
		if (load_entity(es, i, json_array_get(array, i), err, errsize) < 0) {
			pol_entities_free(es);
			return -1;
		}
	}
	const char *why = NULL;
	if (pol_entities_seal(es, &why) < 0) {
		const pol_entity_t *on_cycle = pol_entities_cycle(es);
		char uid[160] = "";
		if (on_cycle != NULL) {
			pol_value_t v = {.kind = PV_ENTITY};
			v.u.e = on_cycle->uid;
			pol_value_render(&v, uid, sizeof uid);
		}
		tg_errf(err, errsize, "entities: %s%s%s", why != NULL ? why : "refused",
			on_cycle != NULL ? ", through " : "", uid);
		pol_entities_free(es);
		return -1;
	}
	*out = es;
	return 0;
}

/* The nesting bound of pol_json_parse: the value bound of limits.h times
 * four, since every escape adds JSON levels that are not value levels
 * ({"__extn": {"fn": ..., "args": [{"__extn": ...}]}} is four JSON levels
 * around one value level). The value loaders then apply TG_MAX_VALUE_DEPTH
 * itself, with the path to the value. */
#define POL_JSON_MAX_DEPTH (4 * TG_MAX_VALUE_DEPTH)

/* Whether j nests more than left levels deep (a scalar is 1 deep, [[]] is
 * 2). Visits every value at most once and recurses at most left + 1 deep,
 * whatever the document; jansson's decoder has bounded its own recursion
 * (2048 levels) before this runs. */
static bool nests_deeper(const json_t *j, int left)
{
	const char *k;
	size_t i;
	json_t *v;
	if (left <= 0)
		return true;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v) {
			if (nests_deeper(v, left - 1))
				return true;
		}
	} else if (json_is_object(j)) {
		json_object_foreach((json_t *)j, k, v) {
			if (nests_deeper(v, left - 1))
				return true;
		}
	}
	return false;
}

json_t *pol_json_parse(const char *text, size_t len, char *err, size_t errsize)
{
	json_error_t je;
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	/* Cheapest first: the size, then the decoder, then the walk. */
	if (len > TG_MAX_ENTITIES_TEXT) {
		tg_errf(err, errsize, "the text is larger than %d bytes", TG_MAX_ENTITIES_TEXT);
		return NULL;
	}
	json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			       &je);
	if (j == NULL) {
		if (je.line > 0)
			tg_errf(err, errsize, "line %d, column %d: %s", je.line, je.column,
				je.text);
		else
			tg_errf(err, errsize, "%s", je.text);
		return NULL;
	}
	if (nests_deeper(j, POL_JSON_MAX_DEPTH)) {
		tg_errf(err, errsize, "nested deeper than %d levels", POL_JSON_MAX_DEPTH);
		json_decref(j);
		return NULL;
	}
	return j;
}

int pol_json_entities(const char *text, size_t len, pol_entities_t **out, char *err,
		      size_t errsize)
{
	*out = NULL;
	if (len > TG_MAX_ENTITIES_TEXT) {
		tg_errf(err, errsize, "the entities document is larger than %d bytes",
			TG_MAX_ENTITIES_TEXT);
		return -1;
	}
	char jerr[256]; /* "line L, column C: " and jansson's 160 characters */
	json_t *j = pol_json_parse(text, len, jerr, sizeof jerr);
	if (j == NULL) {
		tg_errf(err, errsize, "entities: %s", jerr);
		return -1;
	}
	int rc = pol_json_entities_from(j, out, err, errsize);
	json_decref(j);
	return rc;
}

int pol_json_request(pol_arena_t *a, const json_t *obj, pol_request_t *out, char *err,
		     size_t errsize)
{
	static const char *const keys[] = {"principal", "action", "resource", "context", NULL};
	static const char *const vars[] = {"principal", "action", "resource"};
	pol_euid_t *slot[] = {&out->principal, &out->action, &out->resource};
	const char *k;
	size_t kl;
	memset(out, 0, sizeof *out);
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (obj == NULL || !json_is_object(obj)) {
		tg_errf(err, errsize, "a request must be an object, got %s",
			obj != NULL ? json_kind(obj) : "nothing");
		return -1;
	}
	if ((k = unknown_key(obj, keys, &kl)) != NULL) {
		tg_errf(err, errsize,
			"request: unexpected key \"%.*s\" (a request has \"principal\", \"action\", "
			"\"resource\" and \"context\")",
			(int)(kl > 40 ? 40 : kl), k);
		return -1;
	}
	for (size_t i = 0; i < 3; i++) {
		const json_t *j = json_object_get(obj, vars[i]);
		if (j == NULL) {
			tg_errf(err, errsize, "request: missing \"%s\"", vars[i]);
			return -1;
		}
		if (pol_json_euid_at(a, j, "request", vars[i], slot[i], err, errsize) < 0)
			return -1;
	}
	const json_t *ctx = json_object_get(obj, "context");
	if (ctx != NULL) {
		pol_value_t *v = pol_arena_alloc(a, sizeof *v);
		if (v == NULL) {
			tg_errf(err, errsize, "request: out of memory");
			return -1;
		}
		/* The reference reads the context as a value that must be a
		 * record, so a top-level escape is refused, not a key. */
		if (pol_json_value_at(a, ctx, "request", "context", v, err, errsize) < 0)
			return -1;
		if (v->kind != PV_RECORD) {
			tg_errf(err, errsize, "request: context: expected a record, got %s",
				pol_kind_name(v->kind));
			return -1;
		}
		out->context = v;
	}
	return 0;
}

/* ---- writing ------------------------------------------------------------- */

static json_t *policy_id(const pol_set_t *set, uint32_t i)
{
	if (set == NULL || i >= set->n) {
		char buf[32];
		snprintf(buf, sizeof buf, "policy%u", i);
		return json_string(buf);
	}
	const pol_str_t *id = &set->policy[i].id;
	return json_stringn(id->p, id->len);
}

/* Appends v to arr, taking the reference; -1 when v is NULL or on failure. */
static int push(json_t *arr, json_t *v)
{
	return v == NULL ? -1 : json_array_append_new(arr, v);
}

static int put(json_t *obj, const char *key, json_t *v)
{
	return v == NULL ? -1 : json_object_set_new(obj, key, v);
}

json_t *pol_json_decision(const pol_set_t *set, const pol_decision_t *d)
{
	json_t *o = json_object(), *reasons = json_array(), *errors = json_array();
	int bad = o == NULL || reasons == NULL || errors == NULL;
	for (size_t i = 0; !bad && i < d->nreasons; i++)
		bad = push(reasons, policy_id(set, d->reasons[i])) < 0;
	for (size_t i = 0; !bad && i < d->nerrors; i++)
		bad = push(errors, policy_id(set, d->errors[i].policy)) < 0;
	if (bad) {
		json_decref(o);
		json_decref(reasons);
		json_decref(errors);
		return NULL;
	}
	bad = put(o, "decision", json_string(d->allow ? "allow" : "deny")) < 0 ||
	      put(o, "reasons", reasons) < 0 || put(o, "errors", errors) < 0;
	if (!bad && d->nerrors > 0) {
		json_t *msgs = json_array();
		bad = put(o, "error_messages", msgs) < 0;
		for (size_t i = 0; !bad && i < d->nerrors; i++) {
			const char *m = d->errors[i].message != NULL ? d->errors[i].message : "";
			bad = push(msgs, json_pack("{s:o,s:s}", "policy",
						   policy_id(set, d->errors[i].policy), "message",
						   m)) < 0;
		}
	}
	if (!bad && d->nunmet > 0) {
		json_t *unmet = json_array();
		bad = put(o, "unmet", unmet) < 0;
		for (size_t i = 0; !bad && i < d->nunmet; i++) {
			const pol_unmet_t *u = &d->unmet[i];
			const char *what = u->missing == POL_OBL_GRANT ? "grant"
					   : u->missing == POL_OBL_MFA ? "mfa"
								       : "none";
			bad = push(unmet, json_pack("{s:o,s:s,s:I}", "policy", policy_id(set, u->policy),
						    "missing", what, "needed", (json_int_t)u->needed)) < 0;
		}
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *extn(const char *fn, json_t *arg)
{
	if (arg == NULL)
		return NULL;
	return json_pack("{s:{s:s,s:o}}", "__extn", "fn", fn, "arg", arg);
}

/* A datetime as datetime("...") when the rendering reads back to the same
 * instant, else as the reference writes such values:
 * offset(datetime("1970-01-01"), duration("<ms>ms")). */
static json_t *datetime_json(int64_t ms)
{
	char buf[64];
	int64_t back;
	size_t n = pol_datetime_render(ms, buf, sizeof buf);
	if (n < sizeof buf && pol_datetime_parse(buf, n, &back) == 0 && back == ms)
		return extn("datetime", json_string(buf));
	snprintf(buf, sizeof buf, "%lldms", (long long)ms);
	return json_pack("{s:{s:s,s:[{s:{s:s,s:s}},{s:{s:s,s:s}}]}}", "__extn", "fn", "offset", "args",
			 "__extn", "fn", "datetime", "arg", "1970-01-01", "__extn", "fn", "duration",
			 "arg", buf);
}

static json_t *duration_json(int64_t ms)
{
	char buf[64];
	int64_t back;
	size_t n = pol_duration_render(ms, buf, sizeof buf);
	if (!(n < sizeof buf && pol_duration_parse(buf, n, &back) == 0 && back == ms))
		snprintf(buf, sizeof buf, "%lldms", (long long)ms);
	return extn("duration", json_string(buf));
}

static bool reserved_key(const pol_str_t *k)
{
	static const char *const r[] = {"__entity", "__extn", "__expr"};
	for (size_t i = 0; i < 3; i++)
		if (strlen(r[i]) == k->len && memcmp(r[i], k->p, k->len) == 0)
			return true;
	return false;
}

static json_t *to_json(const pol_value_t *v, int depth)
{
	char buf[96];
	json_t *j;
	if (depth > 4 * TG_MAX_POLICY_DEPTH)
		return NULL;
	switch (v->kind) {
	case PV_BOOL:
		return json_boolean(v->u.b);
	case PV_LONG:
		return json_integer((json_int_t)v->u.l);
	case PV_STRING:
		return json_stringn(v->u.s.p, v->u.s.len);
	case PV_ENTITY:
		return json_pack("{s:{s:s%,s:s%}}", "__entity", "type", v->u.e.type.p, v->u.e.type.len,
				 "id", v->u.e.id.p, v->u.e.id.len);
	case PV_SET:
		if ((j = json_array()) == NULL)
			return NULL;
		for (uint32_t i = 0; i < v->n; i++)
			if (push(j, to_json(&v->u.items[i], depth + 1)) < 0) {
				json_decref(j);
				return NULL;
			}
		return j;
	case PV_RECORD:
		if ((j = json_object()) == NULL)
			return NULL;
		for (uint32_t i = 0; i < v->n; i++) {
			const pol_str_t *k = &v->u.rec.keys[i];
			json_t *x = reserved_key(k) ? NULL : to_json(&v->u.rec.vals[i], depth + 1);
			if (x == NULL || json_object_setn_new_nocheck(j, k->p, k->len, x) < 0) {
				json_decref(j);
				return NULL;
			}
		}
		return j;
	case PV_IP:
		pol_ip_render(&v->u.ip, buf, sizeof buf);
		return extn("ip", json_string(buf));
	case PV_DECIMAL:
		pol_decimal_render(v->u.l, buf, sizeof buf);
		return extn("decimal", json_string(buf));
	case PV_DATETIME:
		return datetime_json(v->u.l);
	case PV_DURATION:
		return duration_json(v->u.l);
	}
	return NULL;
}

json_t *pol_value_to_json(const pol_value_t *v)
{
	return to_json(v, 0);
}
