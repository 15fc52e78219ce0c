/* secret_rotation_api.c - the rotation API (docs/secrets.md, "Rotation"):
 *   PUT  /v1/secrets/{name}/rotation  the secret's rotation target (a driver
 *        document, core/rotation_driver.h), audited secret.rotation.configured;
 *   GET  /v1/secrets/{name}/rotation  the target and the rotation's state;
 *   POST /v1/secrets/{name}/rotate    {"now"?: bool}: asks the engine for a
 *        rotation (now: also ends a failed step's back-off), audited
 *        secret.rotation.requested; 202 with the state.
 * The engine (secret_rotation.c) does the rotating. */
#include "broker/audit_trail.h"
#include "broker/handlers.h"
#include "broker/secret_rotation.h"
#include "core/rotation.h"
#include "core/rotation_driver.h"
#include "core/secret.h"
#include "shell/log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *rotation_name(req_t *r)
{
	if (secret_name_valid(r->param))
		return r->param;
	http_problem(r, 400, "Invalid secret name",
		     "a secret name is 1 to 128 characters of A-Z a-z 0-9 . _ - (not \".\" or \"..\")");
	return NULL;
}

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

static json_t *state_json(const rotation_record_t *rr)
{
	json_t *target = json_loads(rr->target, 0, NULL);
	json_t *o = json_pack("{s:s, s:o, s:s, s:I, s:b, s:I, s:I, s:I}", "name", rr->name, "target",
			      target ? target : json_object(), "phase", rr->phase, "failures", (json_int_t)rr->failures,
			      "requested", rr->requested, "new_version", (json_int_t)rr->new_version, "old_version",
			      (json_int_t)rr->old_version, "updated_at", (json_int_t)rr->updated_at);
	json_object_set_new(o, "retry_at", rr->not_before > 0 ? json_integer(rr->not_before) : json_null());
	json_object_set_new(o, "retire_after", rr->retire_after > 0 ? json_integer(rr->retire_after) : json_null());
	json_object_set_new(o, "last_error", rr->last_error[0] ? json_string(rr->last_error) : json_null());
	return o;
}

/* Answers a failed store call on a secret's rotation (404 when it has no
 * rotation target); false when rc is STORE_OK (nothing answered). */
static bool failed(req_t *r, store_rc rc)
{
	if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "the secret has no rotation target (PUT /v1/secrets/{name}/rotation)");
	else if (rc != STORE_OK)
		store_failed(r);
	return rc != STORE_OK;
}

static void answer_state(req_t *r, int status, const char *name)
{
	rotation_record_t rr;
	if (failed(r, store_rotation_get(r->b->store, name, &rr)))
		return;
	http_json(r, status, state_json(&rr));
	rotation_record_release(&rr);
}

void handle_secret_rotation_get(req_t *r)
{
	const char *name = rotation_name(r);
	if (name != NULL)
		answer_state(r, 200, name);
}

void handle_secret_rotation_put(req_t *r)
{
	char why[300], res[SECRET_MAX_NAME + 16];
	rot_target_t t;
	const char *name = rotation_name(r);
	json_t *doc = name != NULL ? http_json_body(r) : NULL;
	if (doc == NULL)
		return;
	if (rotation_target_parse(doc, &t, why, sizeof why) != 0) {
		http_problem(r, 400, "Invalid rotation target", why);
		json_decref(doc);
		return;
	}
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	json_t *details = json_pack("{s:s}", "driver", rotation_driver_name(t.kind));
	audit_event_t ev = audit_change_event(r, "secret.rotation.configured", "Secret", name, res, sizeof res, details);
	store_rc rc = text == NULL || strlen(text) > ROT_MAX_TARGET_DOC
			      ? STORE_CONFLICT
			      : store_rotation_set_target(r->b->store, name, text, r->now, &ev);
	if (rc == STORE_CONFLICT)
		http_problem(r, 400, "Invalid rotation target", "the rotation target document is too large");
	else if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "no such secret (see GET /v1/secrets)");
	else if (rc != STORE_OK)
		store_failed(r);
	else {
		log_event(LOG_INFO, "secret rotation target set", "secret", name, "driver", rotation_driver_name(t.kind),
			  "actor", r->actor.id, NULL);
		answer_state(r, 200, name);
	}
	free(text);
	json_decref(details);
	json_decref(doc);
	rotation_target_free(&t);
}

/* The body of POST .../rotate: none, {} or {"now": bool}. 0, or -1 (answered). */
static int rotate_body(req_t *r, bool *now)
{
	*now = false;
	if (r->body_len == 0)
		return 0;
	json_t *doc = http_json_body(r);
	const char *k;
	json_t *v;
	if (doc == NULL)
		return -1;
	json_object_foreach(doc, k, v) {
		if (strcmp(k, "now") != 0 || !json_is_boolean(v)) {
			http_problem(r, 400, "Invalid rotation request", "the body is {\"now\": true|false} or empty");
			json_decref(doc);
			return -1;
		}
		*now = json_is_true(v);
	}
	json_decref(doc);
	return 0;
}

void handle_secret_rotate(req_t *r)
{
	char res[SECRET_MAX_NAME + 16];
	bool now;
	const char *name = rotation_name(r);
	if (name == NULL || rotate_body(r, &now) != 0)
		return;
	json_t *details = json_pack("{s:b}", "now", now);
	audit_event_t ev = audit_change_event(r, "secret.rotation.requested", "Secret", name, res, sizeof res, details);
	store_rc rc = store_rotation_request(r->b->store, name, r->now, now, &ev);
	json_decref(details);
	if (failed(r, rc))
		return;
	rotation_engine_wake();
	answer_state(r, 202, name);
}
