/* policies_api.c - /v1/policies: replace the Cedar policy set (validated
 * whole before anything changes), read the current set or any earlier
 * version, list the history.
 *
 * PUT phases: read the body (Cedar text, or JSON {"policies", "comment"})
 * -> parse -> compile (obligation annotations checked) -> lint
 * (core/policy/lint.h) -> under the policy writer lock: diff against the
 * set in force, store the new version with its policy.changed audit record
 * in one transaction, install it -> answer, with the lint's findings as
 * "warnings". A set that does not parse or compile is refused with its
 * line and column and the set in force stays; warnings never refuse. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "broker/policy_state.h"
#include "core/policy/lint.h"
#include "core/policy_diff.h"
#include "core/timefmt.h"
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
	const char *text; /* into the body or doc */
	size_t len;
	const char *comment;
	json_t *doc;      /* the JSON body, when it was one */
} policy_body_t;

/* Reads either body form; answers and returns -1 when it is neither. */
static int read_body(req_t *r, policy_body_t *pb)
{
	memset(pb, 0, sizeof *pb);
	if (http_content_type_is(r, "text/plain") || http_content_type_is(r, "application/cedar")) {
		pb->text = r->body ? r->body : "";
		pb->len = r->body_len;
		pb->comment = http_query(r, "comment");
	} else if (http_content_type_is(r, "application/json")) {
		json_error_t e;
		pb->doc = json_loadb(r->body ? r->body : "", r->body_len, JSON_REJECT_DUPLICATES, &e);
		if (!json_is_object(pb->doc)) {
			char msg[300];
			snprintf(msg, sizeof msg, "send {\"policies\": \"<Cedar text>\", \"comment\": \"...\"}%s%s",
				 pb->doc ? "" : ": ", pb->doc ? "" : e.text);
			http_problem(r, 400, "Malformed JSON", msg);
			return -1;
		}
		const char *k;
		json_t *v;
		json_object_foreach(pb->doc, k, v) {
			if (strcmp(k, "policies") != 0 && strcmp(k, "comment") != 0) {
				char msg[160];
				snprintf(msg, sizeof msg, "unknown member \"%.64s\" (send policies and comment)", k);
				http_problem(r, 400, "Invalid policy document", msg);
				return -1;
			}
		}
		const json_t *p = json_object_get(pb->doc, "policies"), *c = json_object_get(pb->doc, "comment");
		if (!json_is_string(p)) {
			http_problem(r, 400, "Invalid policy document",
				     "\"policies\" is required: the Cedar text as a string");
			return -1;
		}
		if (c != NULL && !json_is_string(c) && !json_is_null(c)) {
			http_problem(r, 400, "Invalid policy document", "\"comment\" must be a string");
			return -1;
		}
		pb->text = json_string_value(p);
		pb->len = json_string_length(p);
		pb->comment = json_string_value(c);
	} else {
		http_problem(r, 415, NULL, "send the policy set as Content-Type: text/plain (Cedar text) or "
					   "application/json ({\"policies\", \"comment\"})");
		return -1;
	}
	if (pb->comment != NULL && (strlen(pb->comment) > TG_MAX_POLICY_COMMENT)) {
		http_problem(r, 400, "Invalid policy document", "the comment is longer than 1024 bytes");
		return -1;
	}
	if (pb->len > (size_t)TG_MAX_POLICY_TEXT) {
		http_problem(r, 413, NULL, "the policy set is larger than the limit");
		return -1;
	}
	return 0;
}

static void refuse_set(req_t *r, const pol_error_t *e)
{
	http_problem_ext(r, 400, "Invalid policy set", e->message,
			 json_pack("{s:I, s:I, s:s}", "line", (json_int_t)e->line, "column",
				   (json_int_t)e->column, "hint",
				   "nothing was changed: the previous set stays in force"));
}

/* Ids of set's policies at idx (at most TG_MAX_AUDIT_LIST). */
static json_t *ids_at(const pol_set_t *set, const size_t *idx, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n && i < TG_MAX_AUDIT_LIST; i++)
		json_array_append_new(a, json_stringn(set->policy[idx[i]].id.p, set->policy[idx[i]].id.len));
	return a;
}

static json_t *diff_json(const pol_set_t *old, const pol_set_t *new_, const pol_diff_t *d)
{
	size_t *ch = malloc((d->nchanged + 1) * sizeof *ch);
	json_t *o = json_object();
	if (ch == NULL || o == NULL) {
		free(ch);
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < d->nchanged; i++)
		ch[i] = d->changed[i].new_i;
	json_object_set_new(o, "added", ids_at(new_, d->added, d->nadded));
	json_object_set_new(o, "removed", ids_at(old, d->removed, d->nremoved));
	json_object_set_new(o, "changed", ids_at(new_, ch, d->nchanged));
	if (d->nadded > TG_MAX_AUDIT_LIST || d->nremoved > TG_MAX_AUDIT_LIST || d->nchanged > TG_MAX_AUDIT_LIST)
		json_object_set_new(o, "truncated", json_true());
	free(ch);
	return o;
}

/* The lint's findings as the answer's "warnings": at most
 * TG_MAX_AUDIT_LIST, each {"severity", "code", "policy", "line", "column",
 * "message"} (policy, line and column null for a finding about the whole
 * set); sets "warnings_truncated" when there were more. */
static void add_warnings(json_t *answer, const pol_findings_t *f)
{
	json_t *a = json_array();
	for (size_t i = 0; i < f->n && i < TG_MAX_AUDIT_LIST; i++) {
		const pol_finding_t *w = &f->item[i];
		bool placed = w->line > 0;
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "severity", pol_lint_severity_name(w->severity),
				     "code", w->code, "policy", w->policy ? json_string(w->policy) : json_null(),
				     "line", placed ? json_integer(w->line) : json_null(), "column",
				     placed ? json_integer(w->column) : json_null(), "message", w->message));
	}
	json_object_set_new(answer, "warnings", a);
	if (f->n > TG_MAX_AUDIT_LIST)
		json_object_set_new(answer, "warnings_truncated", json_true());
}

static void sha256_hex(const char *text, size_t len, char out[65])
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const uint8_t *)text, len);
	sodium_bin2hex(out, 65, d, sizeof d);
}

/* Stores and installs eng as the next version; answers with the lint's
 * findings. Writer lock held. */
static void replace(req_t *r, const policy_body_t *pb, pol_engine_t *eng, const char *sha,
		    const pol_findings_t *lint)
{
	const policy_view_t *cur = policy_acquire(r->b);
	const pol_set_t *set = pol_engine_set(eng), *old = pol_engine_set(cur->engine);
	pol_diff_t d;
	json_t *changes = NULL;
	if (cur->policy_version > 0 && strcmp(cur->policy_sha256, sha) == 0) {
		/* The same text again: nothing to store. */
		json_t *same = json_pack("{s:I, s:s, s:I, s:b, s:[], s:[], s:[]}", "version",
					 (json_int_t)cur->policy_version, "sha256", sha, "policies",
					 (json_int_t)set->n, "unchanged", 1, "added", "removed", "changed");
		add_warnings(same, lint);
		http_json(r, 200, same);
		pol_engine_free(eng);
		policy_release(cur);
		return;
	}
	if (pol_diff(old, set, &d) != 0 || (changes = diff_json(old, set, &d)) == NULL) {
		pol_diff_free(&d);
		pol_engine_free(eng);
		policy_release(cur);
		http_problem(r, 500, NULL, "out of memory comparing the policy sets");
		return;
	}
	pol_diff_free(&d);
	policy_version_t pv = {.version = cur->policy_version + 1, .created_at = r->now,
			       .count = (int64_t)set->n, .comment = (char *)(pb->comment ? pb->comment : ""),
			       .text = (char *)pb->text, .text_len = pb->len};
	snprintf(pv.sha256, sizeof pv.sha256, "%s", sha);
	snprintf(pv.actor, sizeof pv.actor, "%s", r->actor.id);
	policy_release(cur);
	json_t *details = json_deep_copy(changes);
	json_object_set_new(details, "version", json_integer(pv.version));
	json_object_set_new(details, "sha256", json_string(sha));
	json_object_set_new(details, "policies", json_integer(pv.count));
	json_object_set_new(details, "comment", json_string(pv.comment));
	json_object_set_new(details, "warnings", json_integer((json_int_t)lint->warnings));
	audit_event_t ev = audit_event(r, "policy.changed", r->actor.id);
	ev.action = "policy.set";
	ev.resource = "policies";
	ev.decision = "allow";
	ev.details = details;
	store_rc rc = store_policy_put(r->b->store, &pv, &ev);
	json_decref(details);
	if (rc != STORE_OK) {
		pol_engine_free(eng);
		json_decref(changes);
		if (rc == STORE_CONFLICT) {
			http_problem(r, 409, NULL, "another policy version was stored meanwhile; read it and retry");
		} else {
			broker_store_failed(r->b, r->path);
			http_problem(r, 503, NULL, "the store is unavailable; the previous set stays in force");
		}
		return;
	}
	policy_install_engine(r->b, eng, pv.version, sha);
	char v[24], n[24];
	snprintf(v, sizeof v, "%lld", (long long)pv.version);
	snprintf(n, sizeof n, "%lld", (long long)pv.count);
	log_event(LOG_INFO, "policy set replaced", "version", v, "policies", n, "sha256", sha, NULL);
	json_object_set_new(changes, "version", json_integer(pv.version));
	json_object_set_new(changes, "sha256", json_string(sha));
	json_object_set_new(changes, "policies", json_integer(pv.count));
	add_warnings(changes, lint);
	http_json(r, 200, changes);
}

void handle_policies_put(req_t *r)
{
	policy_body_t pb = {0};
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t perr;
	pol_findings_t lint = {0};
	char sha[65];
	if (read_body(r, &pb) != 0)
		goto out;
	if (pol_parse(pb.text, pb.len, &set, &perr) != 0 || pol_engine_new(set, &eng, &perr) != 0) {
		refuse_set(r, &perr);
		goto out;
	}
	if (pol_lint_set(pol_engine_set(eng), &lint) != 0) {
		pol_engine_free(eng);
		http_problem(r, 500, NULL, "out of memory checking the policy set");
		goto out;
	}
	sha256_hex(pb.text, pb.len, sha);
	policy_writer_lock(r->b);
	replace(r, &pb, eng, sha, &lint);
	policy_writer_unlock(r->b);
out:
	pol_findings_free(&lint);
	json_decref(pb.doc);
}

static json_t *version_json(const policy_version_t *p, bool with_text)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "version", (json_int_t)p->version, "sha256",
			      p->sha256, "actor", p->actor, "comment", p->comment ? p->comment : "",
			      "policies", (json_int_t)p->count);
	json_object_set_new(o, "created_at", rfc3339_json(p->created_at));
	if (with_text)
		json_object_set_new(o, "text", json_stringn(p->text ? p->text : "", p->text_len));
	return o;
}

static void answer_version(req_t *r, int64_t version)
{
	policy_version_t p;
	store_rc rc = store_policy_get(r->b->store, version, &p);
	if (rc == STORE_NOT_FOUND && version == 0) {
		/* Nothing stored yet: the empty set, which denies everything. */
		char sha[65];
		sha256_hex("", 0, sha);
		json_t *o = json_pack("{s:i, s:s, s:n, s:s, s:i, s:n, s:s}", "version", 0, "sha256", sha,
				      "actor", "comment", "", "policies", 0, "created_at", "text", "");
		http_json(r, 200, o);
		return;
	}
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, NULL, "no policy version with this number; see GET /v1/policies/history");
		return;
	}
	if (rc != STORE_OK) {
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	http_json(r, 200, version_json(&p, true));
	policy_version_release(&p);
}

void handle_policies_get(req_t *r)
{
	answer_version(r, 0);
}

static void history(req_t *r)
{
	long long before, limit;
	policy_version_t *list = NULL;
	size_t n = 0;
	if (http_query_int(r, "before", 0, INT64_MAX, 0, &before) != 0 ||
	    http_query_int(r, "limit", 1, TG_MAX_LIST_LIMIT, 100, &limit) != 0)
		return;
	if (store_policy_history(r->b->store, before, (int)limit, &list, &n) != STORE_OK) {
		free(list);
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, version_json(&list[i], false));
		policy_version_release(&list[i]);
	}
	bool more = n == (size_t)limit && list[n - 1].version > 1;
	json_t *next = more ? json_integer(list[n - 1].version) : json_null();
	free(list);
	http_json(r, 200, json_pack("{s:o, s:o}", "versions", arr, "next", next));
}

void handle_policy_version(req_t *r)
{
	char *end = NULL;
	if (strcmp(r->param, "history") == 0) {
		history(r);
		return;
	}
	errno = 0;
	long long v = strtoll(r->param, &end, 10);
	if (errno != 0 || end == r->param || *end != '\0' || v < 1 || r->param[0] == '+' || r->param[0] == ' ') {
		http_problem(r, 404, NULL, "policy versions are positive integers; see GET /v1/policies/history");
		return;
	}
	answer_version(r, v);
}
