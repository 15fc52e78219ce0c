/* entities_input.c - the entities documents people write, checked and
 * normalised into the form the strict Cedar loader reads (see
 * entities_input.h for the rules): the broker's /v1/entities writes and
 * the CLI's offline `policy eval --entities` both come through here. */
#include "core/policy/entities_input.h"
#include "core/policy/arena.h"
#include "core/policy/cedar_json.h"
#include "core/errbuf.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pol_entity_key(const char *type, const char *id)
{
	size_t t = strlen(type), i = strlen(id);
	char *k = malloc(t + i + 2);
	if (k != NULL) {
		memcpy(k, type, t);
		k[t] = '\x1f';
		memcpy(k + t + 1, id, i + 1);
	}
	return k;
}

char *pol_uid_text(const char *type, const char *id)
{
	size_t n = strlen(type) + 5, j;
	for (const char *p = id; *p; p++)
		n += (*p == '"' || *p == '\\') ? 2 : 1;
	char *out = malloc(n);
	if (out == NULL)
		return NULL;
	j = (size_t)snprintf(out, n, "%s::\"", type);
	for (const char *p = id; *p; p++) {
		if (*p == '"' || *p == '\\')
			out[j++] = '\\';
		out[j++] = *p;
	}
	out[j++] = '"';
	out[j] = '\0';
	return out;
}

/* A uid in any form Cedar's JSON allows, as {"type","id"}; NULL with err. */
static json_t *normalize_uid(pol_arena_t *a, const json_t *j, const char *what, char *err, size_t errsize)
{
	pol_euid_t u;
	char why[200];
	if (pol_json_euid(a, j, &u, why, sizeof why) != 0) {
		tg_errf(err, errsize, "%s: %s", what, why);
		return NULL;
	}
	if (memchr(u.type.p, '\0', u.type.len) != NULL || memchr(u.id.p, '\0', u.id.len) != NULL) {
		tg_errf(err, errsize, "%s: entity types and ids may not contain NUL", what);
		return NULL;
	}
	json_t *out = json_pack("{s:s%, s:s%}", "type", u.type.p, u.type.len, "id", u.id.p, u.id.len);
	if (out == NULL)
		tg_errf(err, errsize, "%s: out of memory", what);
	return out;
}

static bool known_member(const char *k)
{
	return strcmp(k, "uid") == 0 || strcmp(k, "attrs") == 0 || strcmp(k, "parents") == 0 ||
	       strcmp(k, "tags") == 0;
}

/* The members of e other than uid, checked and normalised into out. */
static int normalize_rest(pol_arena_t *a, const json_t *e, json_t *out, char *err, size_t errsize)
{
	const json_t *attrs = json_object_get(e, "attrs"), *tags = json_object_get(e, "tags");
	const json_t *par = json_object_get(e, "parents");
	size_t i;
	json_t *v;
	if ((attrs != NULL && !json_is_object(attrs)) || (tags != NULL && !json_is_object(tags))) {
		tg_errf(err, errsize, "attrs and tags must be objects");
		return -1;
	}
	if (par != NULL && !json_is_array(par)) {
		tg_errf(err, errsize, "parents must be an array of entity uids");
		return -1;
	}
	json_t *parents = json_array();
	if (parents == NULL || json_object_set_new(out, "parents", parents) != 0) {
		tg_errf(err, errsize, "out of memory");
		return -1;
	}
	json_array_foreach(par, i, v) {
		char what[48];
		snprintf(what, sizeof what, "parents[%zu]", i);
		json_t *p = normalize_uid(a, v, what, err, errsize);
		if (p == NULL)
			return -1;
		json_array_append_new(parents, p);
	}
	if (json_object_set_new(out, "attrs", attrs ? json_deep_copy(attrs) : json_object()) != 0 ||
	    (tags != NULL && json_object_set_new(out, "tags", json_deep_copy(tags)) != 0)) {
		tg_errf(err, errsize, "out of memory");
		return -1;
	}
	return 0;
}

json_t *pol_entity_normalize(const json_t *e, const char **type, const char **id, char *err,
			     size_t errsize)
{
	const char *k;
	json_t *v, *out = NULL;
	if (!json_is_object(e)) {
		tg_errf(err, errsize, "an entity must be an object with uid, attrs and parents");
		return NULL;
	}
	json_object_foreach((json_t *)e, k, v) {
		if (!known_member(k)) {
			tg_errf(err, errsize, "unknown member \"%.64s\" (an entity has uid, attrs, parents, tags)",
				k);
			return NULL;
		}
	}
	pol_arena_t *a = pol_arena_new();
	if (a == NULL) {
		tg_errf(err, errsize, "out of memory");
		return NULL;
	}
	json_t *uid = normalize_uid(a, json_object_get(e, "uid"), "uid", err, errsize);
	if (uid != NULL && (out = json_pack("{s:o}", "uid", uid)) == NULL)
		tg_errf(err, errsize, "out of memory");
	if (out != NULL && normalize_rest(a, e, out, err, errsize) != 0) {
		json_decref(out);
		out = NULL;
	}
	pol_arena_free(a);
	if (out != NULL) {
		*type = json_string_value(json_object_get(uid, "type"));
		*id = json_string_value(json_object_get(uid, "id"));
	}
	return out;
}

json_t *pol_entities_of_doc(const json_t *doc, bool single_ok, char *err, size_t errsize)
{
	if (json_is_array(doc))
		return json_incref((json_t *)doc);
	if (json_is_object(doc) && json_object_size(doc) == 1 && json_is_array(json_object_get(doc, "entities")))
		return json_incref(json_object_get(doc, "entities"));
	if (single_ok && json_is_object(doc) && json_object_get(doc, "uid") != NULL)
		return json_pack("[O]", doc);
	tg_errf(err, errsize, single_ok ? "send a Cedar entities array, {\"entities\": [...]}, or one entity "
					  "{\"uid\", \"attrs\", \"parents\"}"
					: "send a Cedar entities array or {\"entities\": [...]}");
	return NULL;
}

/* Adds the normalised entity i of an upload to map; -1 with err. */
static int add_one(json_t *map, size_t i, const json_t *v, char *err, size_t errsize)
{
	const char *type, *id;
	char why[300];
	json_t *e = pol_entity_normalize(v, &type, &id, why, sizeof why);
	char *key = e != NULL ? pol_entity_key(type, id) : NULL;
	int rc = -1;
	if (e == NULL || key == NULL) {
		tg_errf(err, errsize, "entity %zu: %s", i, e != NULL ? "out of memory" : why);
	} else if (json_object_get(map, key) != NULL) {
		char *t = pol_uid_text(type, id);
		tg_errf(err, errsize, "entity %zu: %.200s appears twice", i, t != NULL ? t : "uid");
		free(t);
	} else if (json_object_set(map, key, e) != 0) {
		tg_errf(err, errsize, "entity %zu: out of memory", i);
	} else {
		rc = 0;
	}
	free(key);
	json_decref(e);
	return rc;
}

json_t *pol_entities_normalize_all(const json_t *arr, char *err, size_t errsize)
{
	size_t i;
	json_t *v, *map = json_object();
	if (map == NULL) {
		tg_errf(err, errsize, "out of memory");
		return NULL;
	}
	json_array_foreach(arr, i, v) {
		if (add_one(map, i, v, err, errsize) != 0) {
			json_decref(map);
			return NULL;
		}
	}
	return map;
}

/* The values of map, in order, as an array; NULL when out of memory. */
static json_t *values_of(const json_t *map)
{
	const char *k;
	json_t *v, *arr = json_array();
	json_object_foreach((json_t *)map, k, v) {
		if (arr == NULL || json_array_append(arr, v) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* The normalised entities of a document's text, as an array; NULL with err. */
static json_t *normalised_array(const char *text, size_t len, char *err, size_t errsize)
{
	char why[400];
	json_t *doc = pol_json_parse(text, len, why, sizeof why), *arr = NULL, *map = NULL, *out = NULL;
	if (doc == NULL) {
		tg_errf(err, errsize, "not JSON: %s", why);
		return NULL;
	}
	if ((arr = pol_entities_of_doc(doc, false, err, errsize)) != NULL &&
	    (map = pol_entities_normalize_all(arr, err, errsize)) != NULL && (out = values_of(map)) == NULL)
		tg_errf(err, errsize, "out of memory");
	json_decref(map);
	json_decref(arr);
	json_decref(doc);
	return out;
}

int pol_entities_load_input(const char *text, size_t len, pol_entities_t **out, char *err,
			    size_t errsize)
{
	*out = NULL;
	json_t *arr = normalised_array(text, len, err, errsize);
	if (arr == NULL)
		return -1;
	int rc = pol_json_entities_from(arr, out, err, errsize);
	json_decref(arr);
	return rc;
}
