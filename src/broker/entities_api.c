/* entities_api.c - /v1/entities: the entities Cedar policies are evaluated
 * against (devices, zones, APIs, secrets, roles, action groups ...), in
 * Cedar's entities JSON format. GET lists them (?effective=true: merged with
 * the identities' own Workload entities, as the engine sees them), PUT
 * replaces them all, POST adds or replaces some, DELETE /v1/entities/{uid}
 * removes one.
 *
 * Write phases: read the body -> normalize each entity (uid and parents as
 * {"type","id"}; core/policy/entities_input.c) -> under the policy writer
 * lock: apply the change to a copy of the installed set, build the entity
 * store it makes with the identities' entities (values, parents, closure
 * bound all checked), store the rows and the entities.changed audit record
 * in one transaction, install -> answer. A document that does not load
 * changes nothing. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "broker/policy_state.h"
#include "core/policy/cedar_json.h"
#include "core/policy/entities_input.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { MODE_REPLACE, MODE_UPSERT, MODE_REMOVE } mode_t_;

/* What one write does, relative to the installed set. */
typedef struct {
	mode_t_ mode;
	json_t *next;    /* the set after the write, by key */
	json_t *touched; /* key -> normalized entity: the rows to write (remove: uids) */
	json_t *added, *changed, *removed; /* uid texts */
	size_t nadded, nchanged, nremoved;
} change_t;

static void change_free(change_t *c)
{
	json_decref(c->next);
	json_decref(c->touched);
	json_decref(c->added);
	json_decref(c->changed);
	json_decref(c->removed);
}

static void note(json_t *list, size_t *n, const char *type, const char *id)
{
	if (*n < TG_MAX_AUDIT_LIST) {
		char *t = policy_uid_text(type, id);
		if (t != NULL)
			json_array_append_new(list, json_string(t));
		free(t);
	}
	(*n)++;
}

static const char *uid_type(const json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "uid"), "type"));
}

static const char *uid_id(const json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "uid"), "id"));
}

static void change_init(change_t *c, mode_t_ mode, const json_t *installed)
{
	memset(c, 0, sizeof *c);
	c->mode = mode;
	c->next = mode == MODE_REPLACE ? json_object() : json_copy((json_t *)installed);
	c->touched = json_object();
	c->added = json_array();
	c->changed = json_array();
	c->removed = json_array();
}

/* Sets one normalized entity in c. */
static void put_entity(change_t *c, const json_t *installed, const char *key, json_t *e)
{
	const json_t *before = json_object_get(installed, key);
	if (before == NULL)
		note(c->added, &c->nadded, uid_type(e), uid_id(e));
	else if (!json_equal(before, e))
		note(c->changed, &c->nchanged, uid_type(e), uid_id(e));
	if (before == NULL || !json_equal(before, e))
		json_object_set(c->touched, key, e);
	json_object_set(c->next, key, e);
}

/* The entities of a write body (core/policy/entities_input.c: an array,
 * {"entities": [...]}, or for an upsert one entity object). Answers and
 * returns NULL when it is none of those. */
static json_t *body_entities(req_t *r, bool single_ok)
{
	json_error_t e;
	char msg[300];
	if (!http_require_content_type(r, "application/json"))
		return NULL;
	json_t *doc = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &e);
	if (doc == NULL) {
		snprintf(msg, sizeof msg, "request body is not valid JSON: %s (line %d, column %d)", e.text,
			 e.line, e.column);
		http_problem(r, 400, "Malformed JSON", msg);
		return NULL;
	}
	json_t *arr = pol_entities_of_doc(doc, single_ok, msg, sizeof msg);
	json_decref(doc);
	if (arr == NULL)
		http_problem(r, 400, "Invalid entities", msg);
	return arr;
}

/* Normalises the entities of arr (core/policy/entities_input.c) and applies
 * them to c; answers 400 and returns -1 on the first one that is not an
 * entity, or a uid given twice. */
static int apply_upload(req_t *r, change_t *c, const json_t *installed, const json_t *arr)
{
	char why[400];
	const char *key;
	json_t *e, *map = pol_entities_normalize_all(arr, why, sizeof why);
	if (map == NULL) {
		http_problem(r, 400, "Invalid entities", why);
		return -1;
	}
	json_object_foreach(map, key, e)
		put_entity(c, installed, key, e);
	json_decref(map);
	return 0;
}

/* Replace: what the installed set had and the upload does not. */
static void note_dropped(change_t *c, const json_t *installed)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)installed, k, v)
		if (json_object_get(c->next, k) == NULL)
			note(c->removed, &c->nremoved, uid_type(v), uid_id(v));
}

/* Rows for the store: the touched entities (replace: all of the new set). */
static entity_row_t *rows_of(const json_t *map, size_t *n, char ***texts)
{
	size_t cap = json_object_size(map), i = 0;
	entity_row_t *rows = calloc(cap + 1, sizeof *rows);
	char **t = calloc(cap + 1, sizeof *t);
	const char *k;
	json_t *v;
	if (rows == NULL || t == NULL) {
		free(rows);
		free(t);
		return NULL;
	}
	json_object_foreach((json_t *)map, k, v) {
		rows[i].type = uid_type(v);
		rows[i].id = uid_id(v);
		t[i] = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		rows[i].json = t[i];
		if (t[i] == NULL) {
			for (size_t j = 0; j < i; j++)
				free(t[j]);
			free(t);
			free(rows);
			return NULL;
		}
		i++;
	}
	*n = i;
	*texts = t;
	return rows;
}

static void rows_free(entity_row_t *rows, size_t n, char **texts)
{
	for (size_t i = 0; texts != NULL && i < n; i++)
		free(texts[i]);
	free(texts);
	free(rows);
}

static const char *mode_name(mode_t_ m)
{
	return m == MODE_REPLACE ? "replace" : m == MODE_UPSERT ? "upsert" : "remove";
}

static json_t *summary(const change_t *c, int64_t version)
{
	json_t *o = json_pack("{s:I, s:I, s:O, s:O, s:O}", "version", (json_int_t)version, "entities",
			      (json_int_t)json_object_size(c->next), "added", c->added, "changed", c->changed,
			      "removed", c->removed);
	if (c->nadded > TG_MAX_AUDIT_LIST || c->nchanged > TG_MAX_AUDIT_LIST || c->nremoved > TG_MAX_AUDIT_LIST)
		json_object_set_new(o, "truncated", json_true());
	return o;
}

static store_rc store_change(broker_t *b, const change_t *c, const entity_row_t *rows, size_t n,
			     int64_t version, int64_t now, const audit_event_t *ev)
{
	switch (c->mode) {
	case MODE_REPLACE: return store_entities_replace_all(b->store, rows, n, version, now, ev);
	case MODE_UPSERT: return store_entities_upsert(b->store, rows, n, version, now, ev);
	default: return store_entities_remove(b->store, rows, n, version, now, ev);
	}
}

/* Builds, stores and installs c; answers. Writer lock held. */
static void commit(req_t *r, change_t *c)
{
	char why[300];
	int64_t version = 0;
	size_t n = 0;
	char **texts = NULL;
	if (c->nadded + c->nchanged + c->nremoved == 0) {
		const policy_view_t *v = policy_acquire(r->b);
		json_t *o = summary(c, v->entities_version);
		policy_release(v);
		json_object_set_new(o, "unchanged", json_true());
		http_json(r, 200, o);
		return;
	}
	pol_entities_t *es = policy_build_entities(r->b, c->next, why, sizeof why);
	if (es == NULL) {
		http_problem(r, 400, "Invalid entities", why);
		return;
	}
	entity_row_t *rows = rows_of(c->mode == MODE_REPLACE ? c->next : c->touched, &n, &texts);
	if (rows == NULL || store_entities_version(r->b->store, &version) != STORE_OK) {
		pol_entities_free(es);
		rows_free(rows, n, texts);
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	version++;
	json_t *details = summary(c, version);
	json_object_set_new(details, "mode", json_string(mode_name(c->mode)));
	audit_event_t ev = audit_event(r, "entities.changed", r->actor.id);
	ev.action = c->mode == MODE_REMOVE ? "entities.remove" : c->mode == MODE_UPSERT ? "entities.upsert"
											: "entities.replace";
	ev.resource = "entities";
	ev.decision = "allow";
	ev.details = details;
	store_rc rc = store_change(r->b, c, rows, n, version, r->now, &ev);
	rows_free(rows, n, texts);
	if (rc != STORE_OK) {
		pol_entities_free(es);
		json_decref(details);
		if (rc == STORE_CONFLICT) {
			http_problem(r, 409, NULL, "the entities changed meanwhile; retry");
		} else {
			broker_store_failed(r->b, r->path);
			http_problem(r, 503, NULL, "the store is unavailable; nothing was changed");
		}
		return;
	}
	policy_install_entities(r->b, es, json_incref(c->next), version);
	char v[24];
	snprintf(v, sizeof v, "%lld", (long long)version);
	log_event(LOG_INFO, "entities changed", "mode", mode_name(c->mode), "version", v, NULL);
	json_object_del(details, "mode");
	http_json(r, 200, details);
}

static void write_entities(req_t *r, mode_t_ mode)
{
	json_t *arr = body_entities(r, mode == MODE_UPSERT);
	if (arr == NULL)
		return;
	change_t c;
	policy_writer_lock(r->b);
	const json_t *installed = policy_user_entities(r->b);
	change_init(&c, mode, installed);
	if (c.next == NULL || c.touched == NULL || c.added == NULL || c.changed == NULL || c.removed == NULL)
		http_problem(r, 500, NULL, "out of memory");
	else if (apply_upload(r, &c, installed, arr) == 0) {
		if (mode == MODE_REPLACE)
			note_dropped(&c, installed);
		commit(r, &c);
	}
	policy_writer_unlock(r->b);
	change_free(&c);
	json_decref(arr);
}

void handle_entities_put(req_t *r)
{
	write_entities(r, MODE_REPLACE);
}

void handle_entities_post(req_t *r)
{
	write_entities(r, MODE_UPSERT);
}

void handle_entity_delete(req_t *r)
{
	pol_euid_t u;
	char why[200], msg[300];
	pol_arena_t *a = pol_arena_new();
	if (a == NULL || pol_euid_parse_text(a, r->param, strlen(r->param), &u, why, sizeof why) != 0) {
		snprintf(msg, sizeof msg, "the path must name an entity as Type::\"id\" or Type:id "
			 "(URL-encoded): %s", a ? why : "out of memory");
		pol_arena_free(a);
		http_problem(r, 400, "Invalid entity uid", msg);
		return;
	}
	char *key = pol_entity_key(u.type.p, u.id.p);
	change_t c;
	policy_writer_lock(r->b);
	const json_t *installed = policy_user_entities(r->b);
	change_init(&c, MODE_REMOVE, installed);
	json_t *e = key ? json_object_get(installed, key) : NULL;
	if (e == NULL) {
		bool identity = strcmp(u.type.p, "Workload") == 0;
		http_problem(r, 404, NULL, identity
			? "no uploaded entity with this uid; a Workload entity that comes from an identity "
			  "changes with the identity (PATCH /v1/identities/{id})"
			: "no entity with this uid; list them with GET /v1/entities");
	} else {
		note(c.removed, &c.nremoved, u.type.p, u.id.p);
		json_object_set(c.touched, key, e);
		json_object_del(c.next, key);
		commit(r, &c);
	}
	policy_writer_unlock(r->b);
	change_free(&c);
	free(key);
	pol_arena_free(a);
}

void handle_entities_get(req_t *r)
{
	const char *eff = http_query(r, "effective");
	if (eff != NULL && strcmp(eff, "true") != 0 && strcmp(eff, "false") != 0) {
		http_problem(r, 400, NULL, "effective must be true or false");
		return;
	}
	json_t *arr;
	/* Under the writer lock: the entities and their version match. */
	policy_writer_lock(r->b);
	const policy_view_t *v = policy_acquire(r->b);
	int64_t version = v->entities_version;
	policy_release(v);
	if (eff != NULL && strcmp(eff, "true") == 0) {
		arr = policy_effective_entities(r->b);
	} else {
		arr = json_array();
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)policy_user_entities(r->b), k, e)
			json_array_append(arr, e);
	}
	policy_writer_unlock(r->b);
	http_json(r, 200, json_pack("{s:I, s:o}", "version", (json_int_t)version, "entities", arr));
}
