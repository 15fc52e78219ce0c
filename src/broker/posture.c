/* posture.c - GET /v1/reports/posture and the periodic snapshot
 * (posture.h): gathers the report's inputs - identities, active grants,
 * usage from the audit chain (token.issued scopes and authz.allow actions
 * on resources in the window), the current policy view and merged
 * entities, static secrets when the secret store exists, the history of
 * shares - hands them to core/posture.c, stores the shares as a snapshot
 * and answers in the format asked for. */
#include "broker/posture.h"
#include "broker/handlers.h"
#include "broker/policy_state.h"
#include "core/posture.h"
#include "core/scope.h"
#include "core/timefmt.h"
#include "shell/log.h"
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define PAGE 1000
#define HISTORY_MAX 400 /* snapshots the trend shows at most */

typedef struct {
	identity_t *ids;
	size_t n;
	json_t *grants, *usage, *entities, *secrets, *history;
	const policy_view_t *view;
} inputs_t;

static void inputs_free(inputs_t *in)
{
	for (size_t i = 0; i < in->n; i++)
		identity_release(&in->ids[i]);
	free(in->ids);
	json_decref(in->grants);
	json_decref(in->usage);
	json_decref(in->entities);
	json_decref(in->secrets);
	json_decref(in->history);
	if (in->view != NULL)
		policy_release(in->view);
}

static store_rc load_identities(store_t *s, inputs_t *in)
{
	char after[TG_MAX_ID_LEN + 1] = "";
	for (;;) {
		identity_t *page = NULL;
		size_t n = 0;
		identity_filter_t f = {.after = after[0] ? after : NULL, .limit = PAGE};
		if (store_identity_list(s, &f, &page, &n) != STORE_OK) {
			free(page);
			return STORE_ERROR;
		}
		identity_t *grown = n ? realloc(in->ids, (in->n + n) * sizeof *grown) : in->ids;
		if (n && grown == NULL) {
			for (size_t i = 0; i < n; i++)
				identity_release(&page[i]);
			free(page);
			return STORE_ERROR;
		}
		in->ids = grown;
		if (n)
			memcpy(in->ids + in->n, page, n * sizeof *page);
		in->n += n;
		if (n)
			snprintf(after, sizeof after, "%s", page[n - 1].id);
		free(page);
		if (n < PAGE)
			return STORE_OK;
	}
}

static store_rc load_grants(store_t *s, int64_t now, json_t *out)
{
	char after[TG_GRANT_ID_LEN + 1] = "";
	for (;;) {
		grant_t *g = NULL;
		size_t n = 0;
		grant_filter_t f = {.state = GRANT_ACTIVE, .now = now, .after = after[0] ? after : NULL, .limit = PAGE};
		if (store_grant_list(s, &f, &g, &n) != STORE_OK) {
			free(g);
			return STORE_ERROR;
		}
		for (size_t i = 0; i < n; i++) {
			json_int_t c = json_integer_value(json_object_get(out, g[i].identity));
			json_object_set_new(out, g[i].identity, json_integer(c + 1));
		}
		if (n)
			snprintf(after, sizeof after, "%s", g[n - 1].id);
		for (size_t i = 0; i < n; i++)
			grant_release(&g[i]);
		free(g);
		if (n < PAGE)
			return STORE_OK;
	}
}

/* usage[actor] = {"last": newest time, "scopes": {token: true}} */
static void note_use(json_t *usage, const char *actor, int64_t t, const char *token)
{
	json_t *u = json_object_get(usage, actor);
	if (u == NULL) {
		u = json_pack("{s:I, s:{}}", "last", (json_int_t)0, "scopes");
		json_object_set_new(usage, actor, u);
	}
	if (t > json_integer_value(json_object_get(u, "last")))
		json_object_set_new(u, "last", json_integer(t));
	if (token != NULL && scope_token_valid(token, strlen(token)))
		json_object_set_new(json_object_get(u, "scopes"), token, json_true());
}

/* An action as a scope token writes it: Action::"x" -> x. */
static void bare_action(const char *a, char *out, size_t size)
{
	size_t len = strlen(a);
	if (strncmp(a, "Action::\"", 9) == 0 && len > 10 && a[len - 1] == '"')
		snprintf(out, size, "%.*s", (int)(len - 10), a + 9);
	else
		snprintf(out, size, "%s", a);
}

static void use_record(json_t *usage, const json_t *rec, bool issued)
{
	const char *actor = json_string_value(json_object_get(rec, "actor"));
	const char *resource = json_string_value(json_object_get(rec, "resource"));
	const char *action = json_string_value(json_object_get(rec, "action"));
	const char *time = json_string_value(json_object_get(rec, "time"));
	char secs[RFC3339_LEN];
	int64_t t = 0;
	if (actor == NULL || time == NULL || strlen(time) < 19)
		return;
	/* the record's time has microseconds; the second is enough */
	snprintf(secs, sizeof secs, "%.19sZ", time);
	if (rfc3339_parse(secs, &t) != 0)
		return;
	if (issued) { /* resource: the scope as issued, space-separated tokens */
		scope_set_t set;
		const char *why;
		note_use(usage, actor, t, NULL);
		if (resource == NULL || scope_parse(resource, &set, &why) != 0)
			return;
		for (size_t i = 0; i < set.n; i++)
			note_use(usage, actor, t, set.tok[i]);
		scope_free(&set);
	} else if (action != NULL && resource != NULL) {
		char act[TG_MAX_SCOPE_TOKEN_LEN + 1], tok[2 * TG_MAX_SCOPE_TOKEN_LEN + 2];
		bare_action(action, act, sizeof act);
		snprintf(tok, sizeof tok, "%s@%s", act, resource);
		note_use(usage, actor, t, tok);
	}
}

static store_rc load_usage_of(store_t *s, const char *type, const char *since, json_t *usage)
{
	int64_t after = 0;
	for (;;) {
		json_t *recs = NULL;
		audit_filter_t f = {.after = after, .type = type, .since = since, .limit = PAGE};
		if (store_audit_list(s, &f, &recs) != STORE_OK)
			return STORE_ERROR;
		size_t i, n = json_array_size(recs);
		json_t *rec;
		json_array_foreach(recs, i, rec) {
			if (strcmp(json_string_value(json_object_get(rec, "type")), type) == 0)
				use_record(usage, rec, strcmp(type, "token.issued") == 0);
			after = json_integer_value(json_object_get(rec, "seq"));
		}
		json_decref(recs);
		if (n < PAGE)
			return STORE_OK;
	}
}

/* The sets of tokens become arrays, as posture_input_t wants them. */
static void usage_arrays(json_t *usage)
{
	const char *id, *tok;
	json_t *u, *v;
	json_object_foreach(usage, id, u) {
		json_t *arr = json_array();
		json_object_foreach(json_object_get(u, "scopes"), tok, v)
			json_array_append_new(arr, json_string(tok));
		json_object_set_new(u, "scopes", arr);
	}
}

static store_rc load_usage(store_t *s, int64_t now, int64_t days, json_t *usage)
{
	char since[RFC3339_LEN];
	rfc3339(now - days * DAY, since);
	if (load_usage_of(s, "token.issued", since, usage) != STORE_OK ||
	    load_usage_of(s, "authz.allow", since, usage) != STORE_OK)
		return STORE_ERROR;
	usage_arrays(usage);
	return STORE_OK;
}

/* Everything the report reads; -1 when the store failed. */
static int gather(broker_t *b, int64_t now, int64_t days, inputs_t *in)
{
	memset(in, 0, sizeof *in);
	in->grants = json_object();
	in->usage = json_object();
	if (load_identities(b->store, in) != STORE_OK || load_grants(b->store, now, in->grants) != STORE_OK ||
	    load_usage(b->store, now, days, in->usage) != STORE_OK ||
	    store_posture_history(b->store, 0, HISTORY_MAX, &in->history) != STORE_OK)
		return -1;
	store_rc rc = store_posture_secrets(b->store, &in->secrets);
	if (rc == STORE_ERROR)
		log_event(LOG_WARN, "posture report: the secret store could not be read; secrets left out", NULL);
	/* the entities JSON and the sealed store of one view: under the writer lock */
	policy_writer_lock(b);
	in->view = policy_acquire(b);
	in->entities = policy_effective_entities(b);
	policy_writer_unlock(b);
	return in->entities != NULL ? 0 : -1;
}

static void params_of(const broker_t *b, int64_t now, int64_t days, posture_params_t *p)
{
	*p = (posture_params_t){.now = now, .unused_days = days, .key_max_age = b->cfg.key_max_age,
				.max_ttl_limit = b->cfg.posture_max_ttl, .privileged = b->cfg.posture_privileged_actions};
}

/* Computes the report and stores its shares as a snapshot of source. */
static json_t *build(broker_t *b, int64_t now, int64_t days, const char *source)
{
	inputs_t in;
	json_t *report = NULL;
	pol_scratch_t *scratch = policy_scratch();
	if (scratch != NULL && gather(b, now, days, &in) == 0) {
		posture_params_t p;
		params_of(b, now, days, &p);
		posture_input_t pin = {.ids = in.ids, .n_ids = in.n, .active_grants = in.grants, .usage = in.usage,
				       .entities = in.entities, .engine = in.view->policy_version ? in.view->engine : NULL,
				       .es = in.view->entities, .secrets = in.secrets, .history = in.history};
		report = posture_report(&p, &pin, scratch);
	}
	if (scratch != NULL)
		inputs_free(&in);
	if (report == NULL)
		return NULL;
	json_t *snap = posture_snapshot(report, source);
	char *shares = json_dumps(json_object_get(snap, "shares"), JSON_COMPACT | JSON_SORT_KEYS);
	if (shares == NULL || store_posture_snapshot_add(b->store, now, source, shares) != STORE_OK)
		log_event(LOG_ERROR, "posture report: its snapshot could not be stored", NULL);
	free(shares);
	json_decref(snap);
	return report;
}

static const char *const formats[] = {"json", "text", "html", NULL};

static int format_of(req_t *r)
{
	const char *f = http_query(r, "format");
	for (int i = 0; formats[i] != NULL; i++)
		if (f == NULL || strcmp(f, formats[i]) == 0)
			return i;
	http_problem(r, 400, "Invalid report request", "format must be json, text or html");
	return -1;
}

void handle_report_posture(req_t *r)
{
	long long days;
	int format = format_of(r);
	if (format < 0 ||
	    http_query_int(r, "unused_days", 1, POSTURE_MAX_UNUSED_DAYS, r->b->cfg.posture_unused_days, &days) != 0)
		return;
	json_t *report = build(r->b, r->now, days, "report");
	if (report == NULL) {
		broker_store_failed(r->b, r->path);
		http_problem(r, 503, NULL, "the report could not be built (store unavailable); retry");
		return;
	}
	if (format == 0) {
		http_json(r, 200, report);
		return;
	}
	char *body = format == 1 ? posture_render_text(report) : posture_render_html(report);
	json_decref(report);
	if (body == NULL)
		http_problem(r, 500, NULL, "out of memory rendering the report");
	else
		http_text(r, 200, format == 1 ? "text/plain; charset=utf-8" : "text/html; charset=utf-8", body);
}

void posture_snapshot_due(broker_t *b, int64_t now)
{
	int64_t last = 0;
	if (b->cfg.posture_snapshot_interval == 0 || store_posture_last(b->store, "daily", &last) != STORE_OK ||
	    now - last < b->cfg.posture_snapshot_interval)
		return;
	json_t *report = build(b, now, b->cfg.posture_unused_days, "daily");
	if (report == NULL)
		log_event(LOG_ERROR, "posture snapshot failed", NULL);
	else
		log_event(LOG_INFO, "posture snapshot stored", NULL);
	json_decref(report);
}
