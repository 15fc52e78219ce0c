/* change_windows.c - change windows in force and their API
 * (change_windows.h). Readers (issuance, /v1/authorize) take the read lock
 * for one walk over the windows; writers hold the writer mutex across the
 * store write and the swap, so the windows in force always match the
 * store. A stored window whose time zone no longer loads stays in force as
 * a window that never opens: its resources stay under change control (fail
 * closed), and the log says why. */
#include "broker/change_windows.h"
#include "broker/audit_trail.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "broker/permissions.h"
#include "broker/policy_state.h"
#include "core/change_window.h"
#include "core/policy/cedar_json.h"
#include "core/timefmt.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	cw_t *w;
	tz_t *tz;       /* NULL: the zone did not load; the window never opens */
	bool own_tz;    /* tz_utc() is static */
	pol_arena_t *arena;
	pol_euid_t res[CW_MAX_RESOURCES];
} entry_t;

struct window_set {
	pthread_rwlock_t lock;
	pthread_mutex_t writer;
	entry_t *e;
	size_t n;
};

static void entry_free(entry_t *e)
{
	if (e->own_tz)
		tz_free(e->tz);
	cw_free(e->w);
	pol_arena_free(e->arena);
	memset(e, 0, sizeof *e);
}

/* The zone file under ZONEINFO_DIR; "UTC" works without one. */
static int load_tz(const char *name, entry_t *e, char *err, size_t len)
{
	char path[sizeof ZONEINFO_DIR + CW_MAX_TZ_NAME + 2];
	if (!cw_timezone_name_valid(name)) {
		snprintf(err, len, "\"timezone\" is not a time zone name like Europe/Berlin");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", ZONEINFO_DIR, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL && strcmp(name, "UTC") == 0) {
		e->tz = (tz_t *)tz_utc();
		return 0;
	}
	uint8_t *buf = f ? malloc(TZ_MAX_FILE + 1) : NULL;
	size_t n = buf ? fread(buf, 1, TZ_MAX_FILE + 1, f) : 0;
	char why[160] = "no such time zone in " ZONEINFO_DIR " (Debian package tzdata)";
	int rc = buf != NULL && n <= TZ_MAX_FILE ? tz_parse(buf, n, &e->tz, why, sizeof why) : -1;
	if (f != NULL)
		fclose(f);
	free(buf);
	if (rc != 0) {
		snprintf(err, len, "\"timezone\": %s: %s", name, why);
		return -1;
	}
	e->own_tz = true;
	return 0;
}

/* A window document into an entry (resources parsed for the hierarchy
 * walks). With keep_closed, a zone that does not load leaves a window
 * that never opens instead of an error. */
static int entry_make(const json_t *doc, entry_t *e, bool keep_closed, char *err, size_t len)
{
	char buf[256];
	memset(e, 0, sizeof *e);
	const char *why = cw_parse(doc, &e->w, buf, sizeof buf);
	if (why != NULL) {
		snprintf(err, len, "%s", why);
		return -1;
	}
	if ((e->arena = pol_arena_new()) == NULL) {
		snprintf(err, len, "out of memory");
		entry_free(e);
		return -1;
	}
	for (size_t i = 0; i < e->w->n_resources; i++)
		if (pol_euid_parse_text(e->arena, e->w->resources[i], strlen(e->w->resources[i]), &e->res[i], buf,
					sizeof buf) != 0) {
			snprintf(err, len, "\"resources\": %s", buf);
			entry_free(e);
			return -1;
		}
	if (load_tz(e->w->timezone, e, err, len) != 0 && !keep_closed) {
		entry_free(e);
		return -1;
	}
	return 0;
}

int change_windows_open(broker_t *b, char *err, size_t err_len)
{
	json_t *docs = NULL, *doc;
	size_t i;
	struct window_set *ws = calloc(1, sizeof *ws);
	if (ws == NULL || store_window_list(b->store, &docs) != STORE_OK) {
		snprintf(err, err_len, "cannot load the change windows from the store");
		free(ws);
		return -1;
	}
	pthread_rwlock_init(&ws->lock, NULL);
	pthread_mutex_init(&ws->writer, NULL);
	ws->e = calloc(json_array_size(docs) + 1, sizeof *ws->e);
	json_array_foreach(docs, i, doc) {
		char why[300];
		if (ws->e != NULL && entry_make(doc, &ws->e[ws->n], true, why, sizeof why) == 0) {
			if (ws->e[ws->n].tz == NULL)
				log_event(LOG_ERROR, "change window never opens: its time zone does not load", "window",
					  ws->e[ws->n].w->name, "reason", why, NULL);
			ws->n++;
		} else {
			log_event(LOG_ERROR, "stored change window does not load", "reason", why, NULL);
		}
	}
	json_decref(docs);
	b->windows = ws;
	return 0;
}

void change_windows_close(broker_t *b)
{
	struct window_set *ws = b->windows;
	if (ws == NULL)
		return;
	for (size_t i = 0; i < ws->n; i++)
		entry_free(&ws->e[i]);
	free(ws->e);
	pthread_rwlock_destroy(&ws->lock);
	pthread_mutex_destroy(&ws->writer);
	free(ws);
	b->windows = NULL;
}

/* ---- enforcement ---- */

static bool covers(const entry_t *e, const pol_entities_t *es, const pol_euid_t *resource)
{
	for (size_t i = 0; i < e->w->n_resources; i++)
		if (pol_entities_in(es, resource, &e->res[i]))
			return true;
	return false;
}

/* One entry's contribution to out (read lock held). */
static void consider(const entry_t *e, int64_t now, window_state_t *out)
{
	int64_t ends = 0;
	if (!out->controlled)
		snprintf(out->name, sizeof out->name, "%s", e->w->name);
	out->controlled = true;
	if (e->tz != NULL && cw_open_at(e->w, e->tz, now, &ends)) {
		if (!out->open || ends > out->ends_at) {
			snprintf(out->name, sizeof out->name, "%s", e->w->name);
			out->ends_at = ends;
		}
		out->open = true;
		return;
	}
	int64_t next = e->tz != NULL ? cw_next_open(e->w, e->tz, now) : -1;
	if (next >= 0 && (out->next_open < 0 || next < out->next_open)) {
		out->next_open = next;
		if (!out->open) /* name the window that opens next */
			snprintf(out->name, sizeof out->name, "%s", e->w->name);
	}
}

void change_window_state(broker_t *b, const pol_entities_t *es, const pol_euid_t *resource, int64_t now,
			 window_state_t *out)
{
	struct window_set *ws = b->windows;
	memset(out, 0, sizeof *out);
	out->next_open = -1;
	if (ws == NULL)
		return;
	pthread_rwlock_rdlock(&ws->lock);
	for (size_t i = 0; i < ws->n; i++)
		if (covers(&ws->e[i], es, resource))
			consider(&ws->e[i], now, out);
	pthread_rwlock_unlock(&ws->lock);
}

static bool no_windows(broker_t *b)
{
	struct window_set *ws = b->windows;
	if (ws == NULL)
		return true;
	pthread_rwlock_rdlock(&ws->lock);
	bool none = ws->n == 0;
	pthread_rwlock_unlock(&ws->lock);
	return none;
}

static void closed_why(const char *tok, const window_state_t *st, char *buf, size_t len)
{
	char next[RFC3339_LEN] = "never";
	if (st->next_open >= 0)
		rfc3339(st->next_open, next);
	snprintf(buf, len, "%s is under change control (window %s): no window covering it is open now; the next "
			   "opens %s", tok, st->name, next);
}

const char *change_window_admit(broker_t *b, const scope_set_t *scope, int64_t now, window_mode_t mode,
				window_admission_t *out, char *buf, size_t len)
{
	memset(out, 0, sizeof *out);
	if (no_windows(b)) /* the usual case: nothing to walk on the token path */
		return NULL;
	const policy_view_t *v = policy_acquire(b);
	const char *why = NULL;
	for (size_t i = 0; i < scope->n && why == NULL; i++) {
		pol_euid_t res;
		pol_str_t action;
		window_state_t st;
		char type[TG_MAX_SCOPE_TOKEN_LEN + 1], id[TG_MAX_SCOPE_TOKEN_LEN + 1];
		permission_split(scope->tok[i], &action, &res.type, &res.id);
		snprintf(type, sizeof type, "%.*s", (int)res.type.len, res.type.p);
		snprintf(id, sizeof id, "%.*s", (int)res.id.len, res.id.p);
		res = (pol_euid_t){{type, strlen(type)}, {id, strlen(id)}};
		change_window_state(b, v->entities, &res, now, &st);
		if (st.open || (st.controlled && mode == WINDOWS_COVERING)) {
			snprintf(out->name[i], sizeof out->name[i], "%s", st.name);
			out->names[i] = out->name[i];
			out->any = true;
		}
		if (st.open && (out->ends_at == 0 || st.ends_at < out->ends_at))
			out->ends_at = st.ends_at;
		if (!st.open && st.controlled && mode == WINDOWS_REQUIRE_OPEN) {
			closed_why(scope->tok[i], &st, buf, len);
			why = buf;
		}
	}
	policy_release(v);
	return why;
}

/* ---- the API ---- */

static json_t *window_json(broker_t *b, const entry_t *e, int64_t now)
{
	json_t *o = cw_json(e->w);
	int64_t ends = 0;
	bool open = e->tz != NULL && cw_open_at(e->w, e->tz, now, &ends);
	int64_t next = !open && e->tz != NULL ? cw_next_open(e->w, e->tz, now) : -1;
	(void)b;
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "open", json_boolean(open));
	if (open)
		json_object_set_new(o, "open_until", json_integer(ends));
	else
		json_object_set_new(o, "next_open", next >= 0 ? json_integer(next) : json_null());
	return o;
}

static entry_t *find(struct window_set *ws, const char *name)
{
	for (size_t i = 0; i < ws->n; i++)
		if (strcmp(ws->e[i].w->name, name) == 0)
			return &ws->e[i];
	return NULL;
}

void change_window_named(broker_t *b, const char *name, int64_t now, window_state_t *out)
{
	struct window_set *ws = b->windows;
	memset(out, 0, sizeof *out);
	out->next_open = -1;
	if (ws == NULL)
		return;
	pthread_rwlock_rdlock(&ws->lock);
	const entry_t *e = find(ws, name);
	if (e != NULL)
		consider(e, now, out);
	pthread_rwlock_unlock(&ws->lock);
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const entry_t *const *)a)->w->name, (*(const entry_t *const *)b)->w->name);
}

void handle_window_list(req_t *r)
{
	struct window_set *ws = r->b->windows;
	json_t *arr = json_array();
	pthread_rwlock_rdlock(&ws->lock);
	const entry_t **sorted = calloc(ws->n + 1, sizeof *sorted);
	for (size_t i = 0; sorted != NULL && i < ws->n; i++)
		sorted[i] = &ws->e[i];
	if (sorted != NULL)
		qsort(sorted, ws->n, sizeof *sorted, by_name);
	for (size_t i = 0; sorted != NULL && i < ws->n; i++)
		json_array_append_new(arr, window_json(r->b, sorted[i], r->now));
	pthread_rwlock_unlock(&ws->lock);
	free(sorted);
	http_json(r, 200, json_pack("{s:o}", "windows", arr));
}

void handle_window_show(req_t *r)
{
	struct window_set *ws = r->b->windows;
	pthread_rwlock_rdlock(&ws->lock);
	entry_t *e = find(ws, r->param);
	json_t *o = e ? window_json(r->b, e, r->now) : NULL;
	pthread_rwlock_unlock(&ws->lock);
	if (o == NULL)
		http_problem(r, 404, NULL, "no change window with this name (see GET /v1/change-windows)");
	else
		http_json(r, 200, o);
}

/* The body with the path's name filled in (or checked). */
static json_t *named_body(req_t *r)
{
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return NULL;
	const json_t *n = json_object_get(doc, "name");
	if (n == NULL) {
		json_object_set_new(doc, "name", json_string(r->param));
	} else if (!json_is_string(n) || strcmp(json_string_value(n), r->param) != 0) {
		http_problem(r, 400, "Invalid change window", "\"name\" must equal the name in the path (or be left out)");
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* Replaces (or adds) the entry named like e in the set in force; takes e. */
static void install(struct window_set *ws, entry_t *e)
{
	pthread_rwlock_wrlock(&ws->lock);
	entry_t *old = find(ws, e->w->name);
	if (old != NULL) {
		entry_free(old);
		*old = *e;
	} else {
		entry_t *grown = realloc(ws->e, (ws->n + 1) * sizeof *ws->e);
		if (grown != NULL) {
			ws->e = grown;
			ws->e[ws->n++] = *e;
		} else {
			entry_free(e);
		}
	}
	pthread_rwlock_unlock(&ws->lock);
}

void handle_window_put(req_t *r)
{
	struct window_set *ws = r->b->windows;
	char why[300], res[TG_MAX_ID_LEN + 16];
	entry_t e;
	json_t *doc = named_body(r);
	if (doc == NULL)
		return;
	int rc = entry_make(doc, &e, false, why, sizeof why);
	json_decref(doc);
	if (rc != 0) {
		http_problem(r, 400, "Invalid change window", why);
		return;
	}
	json_t *norm = cw_json(e.w);
	char *text = norm ? json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	audit_event_t ev = audit_change_event(r, "change_window.set", "ChangeWindow", e.w->name, res, sizeof res, norm);
	pthread_mutex_lock(&ws->writer);
	store_rc src = text ? store_window_put(r->b->store, e.w->name, text, r->now, &ev) : STORE_ERROR;
	json_t *answer = src == STORE_OK ? window_json(r->b, &e, r->now) : NULL;
	if (src == STORE_OK)
		install(ws, &e);
	else
		entry_free(&e);
	pthread_mutex_unlock(&ws->writer);
	json_decref(norm);
	free(text);
	if (answer == NULL) {
		broker_store_failed(r->b, "change window");
		http_problem(r, 503, NULL, "the store is unavailable; retry");
		return;
	}
	log_event(LOG_INFO, "change window set", "window", json_string_value(json_object_get(answer, "name")),
		  "actor", r->actor.id, NULL);
	http_json(r, 200, answer);
}

void handle_window_delete(req_t *r)
{
	struct window_set *ws = r->b->windows;
	char res[TG_MAX_ID_LEN + 16];
	if (!http_require_no_body(r))
		return;
	audit_event_t ev = audit_change_event(r, "change_window.deleted", "ChangeWindow", r->param, res, sizeof res,
					      NULL);
	pthread_mutex_lock(&ws->writer);
	store_rc rc = find(ws, r->param) != NULL ? store_window_delete(r->b->store, r->param, &ev) : STORE_NOT_FOUND;
	if (rc == STORE_OK) {
		pthread_rwlock_wrlock(&ws->lock);
		entry_t *e = find(ws, r->param);
		entry_free(e);
		*e = ws->e[--ws->n];
		pthread_rwlock_unlock(&ws->lock);
	}
	pthread_mutex_unlock(&ws->writer);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, NULL, "no change window with this name (see GET /v1/change-windows)");
	} else if (rc != STORE_OK) {
		broker_store_failed(r->b, "change window");
		http_problem(r, 503, NULL, "the store is unavailable; retry");
	} else {
		log_event(LOG_INFO, "change window deleted", "window", r->param, "actor", r->actor.id, NULL);
		http_json(r, 200, json_pack("{s:s}", "deleted", r->param));
	}
}
