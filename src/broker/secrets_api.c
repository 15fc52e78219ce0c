/* secrets_api.c - managing stored secrets (docs/secrets.md): PUT
 * /v1/secrets/{name} creates a secret or adds a version, GET /v1/secrets
 * lists them, GET /v1/secrets/{name}/meta and /versions show one, DELETE
 * /v1/secrets/{name} deletes it (softly). Operators never see a value
 * here: reading one is secret_delivery.c's, under a workload's token and
 * policy. Every change rides in the store write with its audit record
 * (secret.created, secret.updated, secret.deleted; resource Secret:NAME,
 * details without the value). */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "broker/secret_keys.h"
#include "core/secret.h"
#include "shell/log.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUT_RETRIES 3 /* a version taken meanwhile: re-read and seal again */

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

/* The {name} of the path, answered 400 unless valid. */
static const char *secret_name(req_t *r)
{
	if (secret_name_valid(r->param))
		return r->param;
	http_problem(r, 400, "Invalid secret name",
		     "a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\")");
	return NULL;
}

static json_t *record_json(const secret_record_t *rec)
{
	json_t *meta = json_loads(rec->metadata, 0, NULL);
	json_t *o = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I}", "name", rec->name, "metadata",
			      meta ? meta : json_object(), "current_version", (json_int_t)rec->current_version,
			      "created_at", (json_int_t)rec->created_at, "updated_at", (json_int_t)rec->updated_at,
			      "last_rotated", (json_int_t)rec->last_rotated);
	json_object_set_new(o, "next_due", rec->next_due > 0 ? json_integer(rec->next_due) : json_null());
	return o;
}

static json_t *versions_json(const secret_version_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_pack("{s:I, s:s, s:I}", "version", (json_int_t)v[i].version, "state", v[i].state,
				      "created_at", (json_int_t)v[i].created_at);
		if (v[i].retire_after > 0 && strcmp(v[i].state, "previous") == 0)
			json_object_set_new(o, "retire_after", json_integer(v[i].retire_after));
		json_array_append_new(a, o);
	}
	return a;
}

/* ---- PUT ---- */

typedef struct {
	const char *name;
	const char *value;  /* NULL: metadata only */
	size_t value_len;
	json_t *meta;       /* normalized, NULL: keep the stored metadata */
	char *meta_text;
} put_input_t;

static void put_input_free(put_input_t *in)
{
	json_decref(in->meta);
	free(in->meta_text);
}

static int bad_put(req_t *r, int status, const char *detail)
{
	http_problem(r, status, status == 413 ? "Secret value too large" : "Invalid secret", detail);
	return -1;
}

static int put_members(req_t *r, const json_t *doc, put_input_t *in)
{
	const char *k;
	json_t *v;
	char why[300];
	json_object_foreach((json_t *)doc, k, v) {
		if (strcmp(k, "value") != 0 && strcmp(k, "metadata") != 0) {
			snprintf(why, sizeof why, "unknown member \"%.64s\" (send value and metadata)", k);
			return bad_put(r, 400, why);
		}
	}
	const json_t *value = json_object_get(doc, "value"), *meta = json_object_get(doc, "metadata");
	if (value == NULL && meta == NULL)
		return bad_put(r, 400, "send \"value\" (a string) and/or \"metadata\" (an object)");
	if (value != NULL) {
		if (!json_is_string(value))
			return bad_put(r, 400, "\"value\" must be a string");
		in->value = json_string_value(value);
		in->value_len = json_string_length(value);
		if (in->value_len > SECRET_MAX_VALUE) {
			snprintf(why, sizeof why, "\"value\" is %zu bytes; at most %d are stored", in->value_len,
				 SECRET_MAX_VALUE);
			return bad_put(r, 413, why);
		}
		if (memchr(in->value, '\0', in->value_len) != NULL)
			return bad_put(r, 400, "\"value\" must not contain NUL characters");
	}
	if (meta != NULL) {
		if ((in->meta = secret_meta_parse(meta, why, sizeof why)) == NULL)
			return bad_put(r, 400, why);
		in->meta_text = json_dumps(in->meta, JSON_COMPACT | JSON_SORT_KEYS);
		if (in->meta_text == NULL || strlen(in->meta_text) > SECRET_MAX_META_BODY)
			return bad_put(r, 400, "\"metadata\" is too large");
	}
	return 0;
}

/* Seals the value for version with rec's data key (or a new one, into
 * wrapped/mkid, when fresh): 0, or -1. */
static int seal_value(req_t *r, const secret_record_t *rec, bool fresh, const put_input_t *in, int64_t version,
		      uint8_t wrapped[SECRET_WRAPPED_LEN], char mkid[SECRET_MKID_LEN + 1], uint8_t **sealed,
		      size_t *sealed_len)
{
	uint8_t dk[SECRET_KEY_LEN];
	int rc = fresh ? secret_keys_new_data_key(r->b->secret_keys, in->name, dk, wrapped, mkid)
		       : secret_keys_data_key(r->b->secret_keys, rec, dk);
	if (rc == 0)
		rc = secret_keys_seal(dk, in->name, version, (const uint8_t *)in->value, in->value_len, sealed,
				      sealed_len);
	sodium_memzero(dk, sizeof dk);
	return rc;
}

/* One attempt: read, seal, write. STORE_CONFLICT: retry. *created tells
 * the answer's status; *version the version written (0: metadata only). */
static store_rc put_once(req_t *r, const put_input_t *in, bool *created, int64_t *version)
{
	secret_record_t rec;
	uint8_t wrapped[SECRET_WRAPPED_LEN], *sealed = NULL;
	char mkid[SECRET_MKID_LEN + 1] = "", res[SECRET_MAX_NAME + 16];
	size_t sealed_len = 0;
	store_rc rc = store_secret_get(r->b->store, in->name, &rec);
	if (rc == STORE_ERROR)
		return rc;
	bool exists = rc == STORE_OK, live = exists && !rec.deleted;
	*created = !live;
	*version = in->value == NULL ? 0 : exists ? rec.max_version + 1 : 1;
	json_t *meta = in->meta ? json_incref(in->meta) : live ? json_loads(rec.metadata, 0, NULL) : json_object();
	if (!live && in->value == NULL) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (in->value != NULL && seal_value(r, &rec, !live, in, *version, wrapped, mkid, &sealed, &sealed_len) != 0) {
		log_event(LOG_ERROR, "cannot seal a secret's value (its data key does not open: wrong master key?)",
			  "secret", in->name, NULL);
		rc = STORE_ERROR;
		goto out;
	}
	json_t *details = json_pack("{s:O?, s:I}", "metadata", in->meta, "version", (json_int_t)*version);
	audit_event_t ev = audit_change_event(r, live ? "secret.updated" : "secret.created", "Secret", in->name, res,
					      sizeof res, details);
	secret_put_t p = {.name = in->name, .metadata = in->meta_text ? in->meta_text : live ? NULL : "{}",
			  .wrapped_key = live ? NULL : wrapped, .wrapped_len = SECRET_WRAPPED_LEN,
			  .master_key_id = mkid, .version = *version, .sealed = sealed, .sealed_len = sealed_len,
			  .now = r->now,
			  .next_due = secret_next_due(meta, *version > 0 || !live ? r->now : rec.last_rotated)};
	rc = store_secret_put(r->b->store, &p, &ev);
	json_decref(details);
out:
	json_decref(meta);
	free(sealed);
	if (exists)
		secret_record_release(&rec);
	sodium_memzero(wrapped, sizeof wrapped);
	return rc;
}

static void answer_record(req_t *r, int status, const char *name)
{
	secret_record_t rec;
	secret_version_t *v = NULL;
	size_t n = 0;
	if (store_secret_get(r->b->store, name, &rec) != STORE_OK) {
		store_failed(r);
		return;
	}
	json_t *o = record_json(&rec);
	if (store_secret_versions(r->b->store, name, &v, &n) == STORE_OK)
		json_object_set_new(o, "versions", versions_json(v, n));
	free(v);
	secret_record_release(&rec);
	http_json(r, status, o);
}

/* Zeroes the request body and jansson's copy of the value before they are
 * freed. */
static void forget_body(req_t *r, json_t *doc)
{
	json_t *value = json_object_get(doc, "value");
	if (json_is_string(value))
		sodium_memzero((char *)json_string_value(value), json_string_length(value));
	if (r->body != NULL)
		sodium_memzero(r->body, r->body_len);
	json_decref(doc);
}

void handle_secret_put(req_t *r)
{
	put_input_t in = {.name = secret_name(r)};
	bool created = false;
	int64_t version = 0;
	store_rc rc = STORE_CONFLICT;
	if (in.name == NULL)
		return;
	json_t *doc = http_json_body(r);
	if (doc == NULL) {
		forget_body(r, NULL);
		return;
	}
	if (put_members(r, doc, &in) != 0)
		goto out;
	for (int i = 0; i < PUT_RETRIES && rc == STORE_CONFLICT; i++)
		rc = put_once(r, &in, &created, &version);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, NULL, "no such secret; give a \"value\" to create it");
	} else if (rc == STORE_CONFLICT) {
		http_problem(r, 409, "Secret busy",
			     "a rotation holds a pending version of this secret; retry when it has finished");
	} else if (rc != STORE_OK) {
		store_failed(r);
	} else {
		log_event(LOG_INFO, created ? "secret created" : "secret updated", "secret", in.name, "actor",
			  r->actor.id, NULL);
		answer_record(r, created ? 201 : 200, in.name);
	}
out:
	put_input_free(&in);
	forget_body(r, doc);
}

/* ---- reading metadata ---- */

void handle_secret_list(req_t *r)
{
	long long limit = 0;
	const char *after = http_query(r, "after");
	secret_record_t *list = NULL;
	size_t n = 0;
	if (http_query_int(r, "limit", 1, TG_MAX_LIST_LIMIT, 100, &limit) != 0)
		return;
	if (after != NULL && !secret_name_valid(after)) {
		http_problem(r, 400, "Invalid cursor", "after must be a secret name (the last one of the previous page)");
		return;
	}
	if (store_secret_list(r->b->store, after, (int)limit, &list, &n) != STORE_OK) {
		store_failed(r);
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, record_json(&list[i]));
		secret_record_release(&list[i]);
	}
	json_t *o = json_pack("{s:o}", "secrets", a);
	json_object_set_new(o, "next", n == (size_t)limit && n > 0 ? json_string(list[n - 1].name) : json_null());
	free(list);
	http_json(r, 200, o);
}

/* The live secret of the path into rec; answered (400, 404, 503) when not. */
static int live_secret(req_t *r, secret_record_t *rec)
{
	const char *name = secret_name(r);
	if (name == NULL)
		return -1;
	store_rc rc = store_secret_get(r->b->store, name, rec);
	if (rc == STORE_OK && !rec->deleted)
		return 0;
	if (rc == STORE_OK)
		secret_record_release(rec);
	if (rc == STORE_ERROR)
		store_failed(r);
	else
		http_problem(r, 404, NULL, "no such secret (see GET /v1/secrets)");
	return -1;
}

void handle_secret_meta(req_t *r)
{
	secret_record_t rec;
	if (live_secret(r, &rec) != 0)
		return;
	secret_record_release(&rec);
	answer_record(r, 200, r->param);
}

void handle_secret_versions(req_t *r)
{
	secret_record_t rec;
	secret_version_t *v = NULL;
	size_t n = 0;
	if (live_secret(r, &rec) != 0)
		return;
	secret_record_release(&rec);
	if (store_secret_versions(r->b->store, r->param, &v, &n) != STORE_OK) {
		store_failed(r);
		return;
	}
	http_json(r, 200, json_pack("{s:s, s:o}", "name", r->param, "versions", versions_json(v, n)));
	free(v);
}

void handle_secret_delete(req_t *r)
{
	char res[SECRET_MAX_NAME + 16];
	const char *name = secret_name(r);
	if (name == NULL || !http_require_no_body(r))
		return;
	audit_event_t ev = audit_change_event(r, "secret.deleted", "Secret", name, res, sizeof res, NULL);
	store_rc rc = store_secret_delete(r->b->store, name, r->now, &ev);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, NULL, "no such secret (see GET /v1/secrets)");
	} else if (rc != STORE_OK) {
		store_failed(r);
	} else {
		log_event(LOG_INFO, "secret deleted", "secret", name, "actor", r->actor.id, NULL);
		http_json(r, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
	}
}
