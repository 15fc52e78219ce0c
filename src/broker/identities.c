/* identities.c - /v1/identities: create, list with filters, show, update,
 * offboard. Offboarding is final: every key is disabled and every token
 * issued so far is revoked (an identity-level "not issued before").
 * Identities are Cedar entities too (Workload::"<id>", its roles as
 * parents): each write holds the policy writer lock, builds the entity set
 * it makes first (a write that would not load is refused), and installs it
 * before answering, so the next decision sees it. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "core/identity_json.h"
#include "shell/log.h"
#include "broker/policy_state.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

/* Builds the entity set the write will make (writer lock held); answers
 * 409 and returns NULL when it does not load. */
static policy_pending_t *prepare_entities(req_t *r, const char *id, const identity_t *ident)
{
	char why[300];
	return policy_pending_checked(r, policy_identity_prepare(r->b, id, ident, why, sizeof why), why);
}

static json_t *kids(const identity_t *id)
{
	json_t *a = json_array();
	for (size_t i = 0; i < id->n_keys; i++)
		json_array_append_new(a, json_string(id->keys[i].kid));
	return a;
}

/* Audit details of an identity: what it is and may do, never key bytes. */
static json_t *identity_details(const identity_t *id)
{
	return json_pack("{s:s, s:s, s:s, s:O, s:I, s:o, s:s?}", "kind", id->kind, "owner", id->owner,
			 "status", id->status, "roles", id->roles, "max_ttl", (json_int_t)id->max_ttl,
			 "kids", kids(id), "mtls_fingerprint",
			 id->mtls_fingerprint[0] ? id->mtls_fingerprint : NULL);
}

void handle_identity_create(req_t *r)
{
	identity_t id;
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	const char *why = identity_from_create(doc, r->now, &id);
	json_decref(doc);
	if (why != NULL) {
		http_problem(r, 400, "Invalid identity", why);
	} else {
		char res[TG_MAX_ID_LEN + 16];
		json_t *details = identity_details(&id);
		audit_event_t ev = audit_change_event(r, "identity.created", "Identity", id.id, res, sizeof res, details);
		policy_writer_lock(r->b);
		policy_pending_t *p = prepare_entities(r, id.id, &id);
		bool prepared = p != NULL;
		store_rc rc = STORE_ERROR;
		if (prepared) {
			rc = store_identity_create(r->b->store, &id, &ev);
			policy_pending_finish(r->b, p, rc);
		}
		policy_writer_unlock(r->b);
		json_decref(details);
		if (!prepared) {
			/* answered */
		} else if (rc == STORE_CONFLICT) {
			http_problem(r, 409, NULL, "an identity with this id exists (offboarded ids are never reused)");
		} else if (rc != STORE_OK) {
			store_failed(r);
		} else {
			log_event(LOG_INFO, "identity created", "id", id.id, "kind", id.kind, "owner", id.owner, NULL);
			http_json(r, 201, identity_to_json(&id));
		}
	}
	identity_release(&id);
}

/* Loads the identity named in the path; answers 404/503 and returns -1. */
static int load(req_t *r, identity_t *id)
{
	store_rc rc = store_identity_get(r->b->store, r->param, id);
	if (rc == STORE_OK)
		return 0;
	identity_release(id);
	if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "no identity with this id; list them with GET /v1/identities");
	else
		store_failed(r);
	return -1;
}

void handle_identity_show(req_t *r)
{
	identity_t id;
	if (load(r, &id) != 0)
		return;
	http_json(r, 200, identity_to_json(&id));
	identity_release(&id);
}

static int list_limit(req_t *r, int *out)
{
	const char *v = http_query(r, "limit");
	char *end = NULL;
	*out = 100;
	if (v == NULL)
		return 0;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v || n < 1 || n > TG_MAX_LIST_LIMIT) {
		http_problem(r, 400, NULL, "limit must be an integer from 1 to 1000");
		return -1;
	}
	*out = (int)n;
	return 0;
}

void handle_identity_list(req_t *r)
{
	identity_t *ids = NULL;
	size_t n = 0;
	identity_filter_t f = {http_query(r, "kind"), http_query(r, "owner"), http_query(r, "status"),
			       http_query(r, "role"), http_query(r, "after"), 0};
	if (list_limit(r, &f.limit) != 0)
		return;
	if (store_identity_list(r->b->store, &f, &ids, &n) != STORE_OK) {
		store_failed(r);
		free(ids);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, identity_to_json(&ids[i]));
		identity_release(&ids[i]);
	}
	json_t *next = n == (size_t)f.limit ? json_string(ids[n - 1].id) : json_null();
	free(ids);
	http_json(r, 200, json_pack("{s:o, s:o}", "identities", arr, "next", next));
}

/* Kids in a that are not in b. */
static json_t *kids_missing(const json_t *a, const json_t *b)
{
	json_t *out = json_array();
	size_t i, j;
	json_t *x, *y;
	json_array_foreach(a, i, x) {
		bool found = false;
		json_array_foreach(b, j, y)
			found |= json_equal(x, y);
		if (!found)
			json_array_append(out, x);
	}
	return out;
}

/* The update's audit details: the identity after it, the members the
 * request changed, and the keys it added and removed. */
static json_t *update_details(const json_t *doc, const json_t *kids_before, const identity_t *after)
{
	json_t *details = identity_details(after), *changed = json_array();
	const char *member;
	json_t *v;
	json_object_foreach((json_t *)doc, member, v)
		json_array_append_new(changed, json_string(member));
	json_t *kids_after = json_object_get(details, "kids");
	json_object_set_new(details, "changed", changed);
	json_object_set_new(details, "added_kids", kids_missing(kids_after, kids_before));
	json_object_set_new(details, "removed_kids", kids_missing(kids_before, kids_after));
	return details;
}

static const char *update_type(const char *status_before, const char *status_after)
{
	if (strcmp(status_before, status_after) == 0)
		return "identity.updated";
	return strcmp(status_after, "suspended") == 0 ? "identity.suspended" : "identity.reactivated";
}

/* Stores an applied update with its audit record and answers. */
static void save_update(req_t *r, identity_t *id, const char *status_before, json_t *details, int64_t now)
{
	char res[TG_MAX_ID_LEN + 16];
	audit_event_t ev = audit_change_event(r, update_type(status_before, id->status), "Identity", id->id, res, sizeof res,
					  details);
	policy_writer_lock(r->b);
	policy_pending_t *p = prepare_entities(r, id->id, id);
	bool prepared = p != NULL;
	store_rc rc = STORE_ERROR;
	if (prepared) {
		rc = store_identity_update(r->b->store, id, now, &ev);
		policy_pending_finish(r->b, p, rc);
	}
	policy_writer_unlock(r->b);
	if (!prepared) {
		/* answered */
	} else if (rc == STORE_CONFLICT) {
		http_problem(r, 409, NULL, "this identity was offboarded meanwhile");
	} else if (rc != STORE_OK) {
		store_failed(r);
	} else {
		id->updated_at = now;
		log_event(LOG_INFO, "identity updated", "id", id->id, "status", id->status, NULL);
		http_json(r, 200, identity_to_json(id));
	}
}

void handle_identity_update(req_t *r)
{
	identity_t id;
	json_t *doc;
	char status_before[sizeof id.status];
	if ((doc = http_json_body(r)) == NULL)
		return;
	if (load(r, &id) != 0) {
		json_decref(doc);
		return;
	}
	int64_t now = r->now;
	snprintf(status_before, sizeof status_before, "%s", id.status);
	json_t *kids_before = kids(&id);
	if (strcmp(id.status, "offboarded") == 0) {
		http_problem(r, 409, NULL, "this identity is offboarded and cannot change; create a new one");
	} else {
		const char *why = identity_apply_update(doc, now, &id);
		if (why != NULL) {
			http_problem(r, 400, "Invalid update", why);
		} else {
			json_t *details = update_details(doc, kids_before, &id);
			save_update(r, &id, status_before, details, now);
			json_decref(details);
		}
	}
	json_decref(kids_before);
	json_decref(doc);
	identity_release(&id);
}

void handle_identity_offboard(req_t *r)
{
	identity_t id;
	if (!http_require_no_body(r))
		return;
	char res[TG_MAX_ID_LEN + 16];
	audit_event_t ev = audit_change_event(r, "identity.offboarded", "Identity", r->param, res, sizeof res, NULL);
	policy_writer_lock(r->b);
	policy_pending_t *p = prepare_entities(r, r->param, NULL);
	bool prepared = p != NULL;
	store_rc rc = STORE_ERROR;
	if (prepared) {
		rc = store_identity_offboard(r->b->store, r->param, r->now, &ev);
		policy_pending_finish(r->b, p, rc);
	}
	policy_writer_unlock(r->b);
	if (!prepared)
		return;
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, NULL, "no identity with this id");
		return;
	}
	if (rc == STORE_CONFLICT) {
		http_problem(r, 409, NULL, "this identity is already offboarded");
		return;
	}
	if (rc != STORE_OK) {
		store_failed(r);
		return;
	}
	log_event(LOG_INFO, "identity offboarded", "id", r->param, NULL);
	if (load(r, &id) == 0) {
		http_json(r, 200, identity_to_json(&id));
		identity_release(&id);
	}
}
