/* feed.c - the revocation feed, the edges' registry and enforcement waits
 * (feed.h).
 *
 * One instance per process, like the throttle (auth_failures.c). Under
 * `mu`: the newest durable feed seq, a ring of recent feed commits (seq,
 * time) for propagation times, the edges with a ring of their recent
 * acknowledgements, and the held requests. The feed thread wakes on every
 * feed commit and acknowledgement, and every FEED_TICK_MS for deadlines;
 * it resumes what is due and saves changed edges every FEED_SAVE_MS. */
#include "broker/feed.h"
#include "shell/log.h"
#include "broker/policy_state.h"
#include "broker/signer.h"
#include "core/feed.h"
#include "core/timefmt.h"
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FEED_TICK_MS 50
#define FEED_SAVE_MS 5000
#define COMMIT_RING 4096
#define ACK_RING 32

typedef struct {
	int64_t seq, at_ms;
} mark_t;

typedef struct {
	edge_record_t rec;
	mark_t acks[ACK_RING]; /* its acknowledgements, oldest overwritten */
	size_t n_acks;         /* ever pushed */
	bool dirty;
	bool was_live;         /* at the feed thread's last look */
} edge_t;

typedef enum { HOLD_FEED, HOLD_ENFORCED } hold_kind_t;

typedef struct {
	req_t *r;
	hold_kind_t kind;
} hold_t;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	broker_t *b;
	int64_t feed_seq;
	mark_t commits[COMMIT_RING];
	size_t n_commits;
	edge_t *edges;
	size_t n_edges;
	hold_t *holds;
	size_t n_holds, cap_holds;
	bool acks_changed, holding, stopping, running;
	pthread_t thread;
} F = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* The last change answer, for the polls that ask the same: when a
 * revocation wakes a thousand held polls, they all stand at the same
 * position, and one store read and one serialization serve them all. It
 * stays good while no feed record commits (every change an answer
 * reports, versions included, is one). */
static struct {
	pthread_mutex_t mu;
	int64_t since, feed_seq;
	char *text;
} last_answer = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *time_ms_json(int64_t ms)
{
	char t[AUDIT_TIME_LEN];
	if (ms <= 0)
		return json_null();
	audit_time(ms * 1000, t);
	return json_string(t);
}

/* The audit chain's head now; -1 when the store failed. */
static int64_t chain_head(broker_t *b)
{
	json_t *none = NULL;
	int64_t head = 0, first = 0;
	store_rc rc = store_feed_since(b->store, INT64_MAX - 1, 1, &none, &head, &first);
	json_decref(none);
	return rc == STORE_OK ? head : -1;
}

static void store_unavailable(req_t *r)
{
	http_problem(r, 503, NULL, "the store is unavailable; keep the last state and retry");
}

/* ---- commits and acknowledgements (mu held) ---- */

static void on_commit(void *ctx, int64_t seq)
{
	(void)ctx;
	pthread_mutex_lock(&F.mu);
	if (seq > F.feed_seq) {
		F.feed_seq = seq;
		F.commits[F.n_commits++ % COMMIT_RING] = (mark_t){seq, now_ms()};
		pthread_cond_signal(&F.wake);
	}
	pthread_mutex_unlock(&F.mu);
}

/* When the commit group holding seq became durable; -1 when that is no
 * longer remembered. */
static int64_t committed_ms(int64_t seq)
{
	size_t n = F.n_commits < COMMIT_RING ? F.n_commits : COMMIT_RING;
	int64_t best = -1, best_seq = 0;
	for (size_t i = 0; i < n; i++) {
		const mark_t *m = &F.commits[i];
		if (m->seq >= seq && (best < 0 || m->seq < best_seq)) {
			best = m->at_ms;
			best_seq = m->seq;
		}
	}
	return best;
}

/* When edge e first acknowledged seq or later; -1 unknown. */
static int64_t acked_ms(const edge_t *e, int64_t seq)
{
	size_t n = e->n_acks < ACK_RING ? e->n_acks : ACK_RING;
	int64_t best = -1, best_seq = 0;
	for (size_t i = 0; i < n; i++) {
		const mark_t *m = &e->acks[i];
		if (m->seq >= seq && (best < 0 || m->seq < best_seq || (m->seq == best_seq && m->at_ms < best))) {
			best = m->at_ms;
			best_seq = m->seq;
		}
	}
	return best;
}

static edge_t *edge_find(const char *id, bool create)
{
	for (size_t i = 0; i < F.n_edges; i++)
		if (strcmp(F.edges[i].rec.id, id) == 0)
			return &F.edges[i];
	if (!create || F.n_edges >= TG_MAX_EDGES)
		return NULL;
	edge_t *grown = realloc(F.edges, (F.n_edges + 1) * sizeof *F.edges);
	if (grown == NULL)
		return NULL;
	F.edges = grown;
	edge_t *e = &F.edges[F.n_edges++];
	memset(e, 0, sizeof *e);
	snprintf(e->rec.id, sizeof e->rec.id, "%s", id);
	e->rec.first_seen = now_ms();
	return e;
}

static bool edge_live(const edge_t *e, int64_t now)
{
	return now - e->rec.last_seen <= F.b->cfg.edge_timeout * 1000;
}

bool feed_edge_live(const char *id, int64_t now)
{
	pthread_mutex_lock(&F.mu);
	const edge_t *e = F.b != NULL ? edge_find(id, false) : NULL;
	bool live = e != NULL && edge_live(e, now);
	pthread_mutex_unlock(&F.mu);
	return live;
}

/* An edge's poll: since acknowledges everything up to it. */
static void edge_ack(req_t *r, int64_t since)
{
	const char *addr = http_query(r, "addr"), *version = http_query(r, "version");
	pthread_mutex_lock(&F.mu);
	edge_t *e = edge_find(r->actor.id, true);
	if (e != NULL) {
		if (addr != NULL && strlen(addr) <= TG_MAX_EDGE_ADDR &&
		    (strncmp(addr, "http://", 7) == 0 || strncmp(addr, "https://", 8) == 0))
			snprintf(e->rec.addr, sizeof e->rec.addr, "%s", addr);
		if (version != NULL)
			snprintf(e->rec.version, sizeof e->rec.version, "%s", version);
		e->rec.last_seen = r->now_ms;
		if (since != e->rec.acked_seq) { /* behind too: an edge that lost its state */
			e->rec.acked_seq = since;
			e->acks[e->n_acks++ % ACK_RING] = (mark_t){since, r->now_ms};
			F.acks_changed = true;
			pthread_cond_signal(&F.wake);
		}
		e->dirty = true;
	}
	pthread_mutex_unlock(&F.mu);
}

static void edge_seen(const char *id)
{
	pthread_mutex_lock(&F.mu);
	edge_t *e = edge_find(id, false);
	if (e != NULL)
		e->rec.last_seen = now_ms();
	pthread_mutex_unlock(&F.mu);
}

/* ---- holding ---- */

/* Suspends r until the feed thread resumes it into fn; false when holding
 * is off (the caller answers now). */
static bool hold(req_t *r, hold_kind_t kind, handler_fn fn)
{
	bool ok = false;
	pthread_mutex_lock(&F.mu);
	if (F.holding && F.n_holds == F.cap_holds) {
		size_t cap = F.cap_holds ? 2 * F.cap_holds : 64;
		hold_t *grown = realloc(F.holds, cap * sizeof *grown);
		if (grown != NULL) {
			F.holds = grown;
			F.cap_holds = cap;
		}
	}
	if (F.holding && F.n_holds < F.cap_holds) {
		MHD_suspend_connection(r->conn);
		F.holds[F.n_holds++] = (hold_t){r, kind};
		r->held = true;
		r->resume = fn;
		ok = true;
	}
	pthread_mutex_unlock(&F.mu);
	return ok;
}

/* Whether an edge went stale (or live) since the last look: enforcement
 * waits for live edges only, so that answers a held wait as an
 * acknowledgement does. mu held. */
static bool liveness_changed(int64_t now)
{
	bool changed = false;
	for (size_t i = 0; i < F.n_edges; i++) {
		edge_t *e = &F.edges[i];
		bool live = edge_live(e, now);
		changed |= live != e->was_live;
		e->was_live = live;
	}
	return changed;
}

static bool hold_due(const hold_t *h, int64_t now, bool acks_changed)
{
	if (h->r->held_until_ms <= now)
		return true;
	return h->kind == HOLD_FEED ? h->r->held_arg < F.feed_seq : acks_changed;
}

/* Resumes the holds that are due (all with all). mu held; released while
 * resuming. */
static void resume_due(bool all)
{
	int64_t now = now_ms();
	bool acks = liveness_changed(now) || F.acks_changed;
	size_t keep = 0, n = 0;
	struct MHD_Connection **due = malloc((F.n_holds ? F.n_holds : 1) * sizeof *due);
	F.acks_changed = false;
	for (size_t i = 0; i < F.n_holds; i++) {
		if ((all || hold_due(&F.holds[i], now, acks)) && due != NULL)
			due[n++] = F.holds[i].r->conn;
		else
			F.holds[keep++] = F.holds[i];
	}
	F.n_holds = keep;
	pthread_mutex_unlock(&F.mu);
	for (size_t i = 0; i < n; i++)
		MHD_resume_connection(due[i]);
	free(due);
	pthread_mutex_lock(&F.mu);
}

static void save_edges(void)
{
	edge_record_t *dirty = malloc((F.n_edges ? F.n_edges : 1) * sizeof *dirty);
	size_t n = 0;
	for (size_t i = 0; i < F.n_edges && dirty != NULL; i++)
		if (F.edges[i].dirty) {
			dirty[n++] = F.edges[i].rec;
			F.edges[i].dirty = false;
		}
	pthread_mutex_unlock(&F.mu);
	if (n > 0 && store_edges_save(F.b->store, dirty, n) != STORE_OK)
		broker_store_failed(F.b, "edges");
	free(dirty);
	pthread_mutex_lock(&F.mu);
}

static void *feed_loop(void *arg)
{
	int64_t last_save = now_ms();
	(void)arg;
	pthread_setname_np(pthread_self(), "tg-feed");
	pthread_mutex_lock(&F.mu);
	while (!F.stopping) {
		int64_t until = now_ms() + FEED_TICK_MS;
		struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000};
		pthread_cond_timedwait(&F.wake, &F.mu, &ts);
		resume_due(false);
		if (now_ms() - last_save >= FEED_SAVE_MS) {
			save_edges();
			last_save = now_ms();
		}
	}
	pthread_mutex_unlock(&F.mu);
	return NULL;
}

int feed_start(broker_t *b)
{
	edge_record_t *list = NULL;
	size_t n = 0;
	int64_t head = chain_head(b);
	F.b = b;
	if (head < 0 || store_edges_list(b->store, &list, &n) != STORE_OK) {
		free(list);
		return -1;
	}
	F.edges = calloc(n ? n : 1, sizeof *F.edges);
	for (size_t i = 0; i < n && F.edges != NULL; i++)
		F.edges[i].rec = list[i];
	F.n_edges = F.edges != NULL ? n : 0;
	free(list);
	/* Every poll behind the head is answered at once; from then on the
	 * hook moves this on with each feed commit. */
	F.feed_seq = head;
	F.holding = true;
	store_set_commit_hook(b->store, on_commit, NULL);
	if (pthread_create(&F.thread, NULL, feed_loop, NULL) != 0)
		return -1;
	F.running = true;
	return 0;
}

void feed_release(void)
{
	pthread_mutex_lock(&F.mu);
	F.holding = false;
	resume_due(true);
	pthread_mutex_unlock(&F.mu);
}

void feed_stop(void)
{
	if (!F.running)
		return;
	pthread_mutex_lock(&F.mu);
	F.stopping = true;
	pthread_cond_signal(&F.wake);
	pthread_mutex_unlock(&F.mu);
	pthread_join(F.thread, NULL);
	F.running = false;
	pthread_mutex_lock(&F.mu);
	save_edges();
	pthread_mutex_unlock(&F.mu);
	store_set_commit_hook(F.b->store, NULL, NULL);
	free(F.edges);
	free(F.holds);
	F.edges = NULL;
	F.holds = NULL;
	pthread_mutex_lock(&last_answer.mu);
	free(last_answer.text);
	last_answer.text = NULL;
	pthread_mutex_unlock(&last_answer.mu);
	F.n_edges = F.n_holds = F.cap_holds = 0;
}

/* ---- the feed answer ---- */

static json_t *versions_json(broker_t *b)
{
	const policy_view_t *v = policy_acquire(b);
	json_t *jwks = signer_jwks(b->signer);
	char *text = jwks ? json_dumps(jwks, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	uint8_t d[crypto_hash_sha256_BYTES];
	char hex[65] = "";
	if (text != NULL) {
		crypto_hash_sha256(d, (const uint8_t *)text, strlen(text));
		sodium_bin2hex(hex, sizeof hex, d, sizeof d);
	}
	json_t *o = json_pack("{s:I, s:I, s:s*}", "policy", (json_int_t)v->policy_version, "entities",
			      (json_int_t)v->entities_version, "jwks", hex[0] ? hex : NULL);
	free(text);
	json_decref(jwks);
	policy_release(v);
	return o;
}

/* A grant entry with the grant's facts: whom it is for, its approvals (a
 * break-glass grant counts as approved as policy asked), its reason and
 * when it ends. */
static json_t *grant_facts(json_t *entry, const grant_t *g, int64_t now)
{
	grant_state_t st = grant_effective(g->state, now, g->start, g->expires_at, g->ends_at);
	int64_t approvals = g->break_glass ? g->approvals_required : (int64_t)g->n_approvals;
	if (strcmp(json_string_value(json_object_get(entry, "state")), "active") == 0 && st != GRANT_ACTIVE)
		json_object_set_new(entry, "state", json_string(grant_state_name(st)));
	json_object_set_new(entry, "identity", json_string(g->identity));
	json_object_set_new(entry, "approvals", json_integer(approvals));
	json_object_set_new(entry, "break_glass", json_boolean(g->break_glass));
	json_object_set_new(entry, "reason", json_string(g->reason));
	json_object_set_new(entry, "ends_at", json_integer(g->ends_at));
	json_object_set_new(entry, "scope", json_string(g->scope));
	if (g->source[0] != '\0')
		json_object_set_new(entry, "source", json_string(g->source));
	return entry;
}

static json_t *grant_entry(broker_t *b, json_t *entry, int64_t now)
{
	grant_t g;
	if (store_grant_get(b->store, json_string_value(json_object_get(entry, "id")), &g) != STORE_OK)
		return entry; /* the bare entry: the edge ends what it does not know */
	grant_facts(entry, &g, now);
	grant_release(&g);
	return entry;
}

/* The entries after since, at most TG_FEED_BATCH; NULL with *status set
 * when the store failed. *seq gets the position the answer brings the
 * edge to. */
static json_t *changes(req_t *r, int64_t since, int64_t *seq, int64_t *first)
{
	json_t *recs = NULL, *out = json_array();
	int64_t head = 0;
	if (store_feed_since(r->b->store, since, TG_FEED_BATCH, &recs, &head, first) != STORE_OK) {
		json_decref(out);
		return NULL;
	}
	size_t i;
	json_t *rec;
	json_array_foreach(recs, i, rec) {
		json_t *e = feed_entry_from_record(rec);
		if (e != NULL && strcmp(json_string_value(json_object_get(e, "kind")), "grant") == 0)
			e = grant_entry(r->b, e, r->now);
		if (e != NULL)
			json_array_append_new(out, e);
	}
	/* a full batch stops at its last record: the rest comes next poll */
	*seq = json_array_size(recs) == TG_FEED_BATCH
		       ? json_integer_value(json_object_get(json_array_get(recs, TG_FEED_BATCH - 1), "seq"))
		       : head;
	json_decref(recs);
	return out;
}

static int snapshot_identities(broker_t *b, const char *status, json_t *out)
{
	char after[TG_MAX_ID_LEN + 1] = "";
	for (;;) {
		identity_t *ids = NULL;
		size_t n = 0;
		identity_filter_t f = {.status = status, .after = after[0] ? after : NULL, .limit = TG_MAX_LIST_LIMIT};
		if (store_identity_list(b->store, &f, &ids, &n) != STORE_OK) {
			free(ids);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			json_array_append_new(out, json_pack("{s:I, s:s, s:s, s:s, s:I}", "seq", (json_int_t)0, "kind",
							     "identity", "id", ids[i].id, "state", status, "at",
							     (json_int_t)(ids[i].not_before ? ids[i].not_before
											     : ids[i].updated_at)));
			identity_release(&ids[i]);
		}
		if (n > 0)
			snprintf(after, sizeof after, "%s", ids[n - 1].id);
		free(ids);
		if (n < (size_t)f.limit || json_array_size(out) > TG_MAX_FEED_ENTRIES)
			return 0;
	}
}

static int snapshot_grants(broker_t *b, int64_t now, json_t *out)
{
	grant_t *list = NULL;
	size_t n = 0;
	grant_filter_t f = {.state = GRANT_ACTIVE, .now = now, .limit = TG_MAX_LIST_LIMIT};
	if (store_grant_list(b->store, &f, &list, &n) != STORE_OK) {
		free(list);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_pack("{s:I, s:s, s:s, s:s}", "seq", (json_int_t)0, "kind", "grant", "id", list[i].id,
				      "state", "active");
		json_array_append_new(out, grant_facts(e, &list[i], now));
		grant_release(&list[i]);
	}
	free(list);
	return 0;
}

/* The whole state an edge starting from nothing needs: the revoked
 * tokens not yet expired, the identities that are not active and the
 * active grants, as of *seq (read first: whatever changes after it comes
 * as entries, and applying a change twice changes nothing). */
static json_t *snapshot(req_t *r, int64_t *seq)
{
	json_t *tokens = NULL, *out = json_array();
	if ((*seq = chain_head(r->b)) < 0 ||
	    store_tokens_revoked(r->b->store, r->now, TG_MAX_FEED_ENTRIES / 2, &tokens) != STORE_OK ||
	    snapshot_identities(r->b, "suspended", out) != 0 || snapshot_identities(r->b, "offboarded", out) != 0 ||
	    snapshot_grants(r->b, r->now, out) != 0) {
		json_decref(tokens);
		json_decref(out);
		return NULL;
	}
	size_t i;
	json_t *t;
	json_array_foreach(tokens, i, t) {
		json_object_set_new(t, "seq", json_integer(0));
		json_object_set_new(t, "kind", json_string("token"));
		json_array_append(out, t);
	}
	json_decref(tokens);
	return out;
}

static char *cached_answer(int64_t since)
{
	char *text = NULL;
	pthread_mutex_lock(&F.mu);
	int64_t feed_seq = F.feed_seq;
	pthread_mutex_unlock(&F.mu);
	pthread_mutex_lock(&last_answer.mu);
	if (last_answer.text != NULL && last_answer.since == since && last_answer.feed_seq == feed_seq)
		text = strdup(last_answer.text);
	pthread_mutex_unlock(&last_answer.mu);
	return text;
}

/* Keeps text as the answer for since, made while the feed stood at feed_seq. */
static void cache_answer(int64_t since, int64_t feed_seq, const char *text)
{
	char *copy = strdup(text);
	pthread_mutex_lock(&last_answer.mu);
	free(last_answer.text);
	last_answer.text = copy;
	last_answer.since = since;
	last_answer.feed_seq = feed_seq;
	pthread_mutex_unlock(&last_answer.mu);
}

static void answer_feed(req_t *r, int64_t since, bool force_snapshot)
{
	int64_t seq = 0, first = 0;
	char *cached = force_snapshot ? NULL : cached_answer(since);
	if (cached != NULL) {
		if (r->actor.kind == ACTOR_EDGE)
			edge_seen(r->actor.id);
		http_text(r, 200, "application/json", cached);
		return;
	}
	pthread_mutex_lock(&F.mu);
	int64_t feed_seq = F.feed_seq; /* read before the store: an answer is never newer than its key */
	pthread_mutex_unlock(&F.mu);
	json_t *entries = force_snapshot ? NULL : changes(r, since, &seq, &first);
	bool snap = force_snapshot || (entries != NULL && first > since + 1 && since > 0);
	if (snap) { /* behind what retention kept: start again from a snapshot */
		json_decref(entries);
		entries = snapshot(r, &seq);
	}
	if (entries == NULL) {
		store_unavailable(r);
		return;
	}
	if (r->actor.kind == ACTOR_EDGE)
		edge_seen(r->actor.id);
	json_t *out = json_pack("{s:I, s:b, s:o, s:o}", "seq", (json_int_t)seq, "snapshot", snap, "entries", entries,
				"versions", versions_json(r->b));
	char *text = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
	json_decref(out);
	if (text == NULL) {
		http_problem(r, 500, NULL, "out of memory");
		return;
	}
	if (!snap)
		cache_answer(since, feed_seq, text);
	http_text(r, 200, "application/json", text);
}

static void feed_resumed(req_t *r)
{
	answer_feed(r, r->held_arg, false);
}

void handle_feed(req_t *r)
{
	long long since = 0, wait = 0;
	if (http_query_int(r, "since", 0, INT64_MAX - 1, 0, &since) != 0 ||
	    http_query_int(r, "wait", 0, r->b->cfg.feed_max_wait, 0, &wait) != 0)
		return;
	pthread_mutex_lock(&F.mu);
	int64_t newest = F.feed_seq;
	pthread_mutex_unlock(&F.mu);
	/* Ahead of the chain (a broker restored from a backup, another
	 * broker's edge): what the edge holds is unknown here and its since
	 * acknowledges nothing; it starts again from a snapshot. Only a since
	 * past the newest feed entry can be, and only that costs a read. */
	int64_t head = since > newest ? chain_head(r->b) : since;
	if (head < 0) {
		store_unavailable(r);
		return;
	}
	if (since > head)
		since = 0;
	if (r->actor.kind == ACTOR_EDGE)
		edge_ack(r, since);
	if (since == 0) {
		answer_feed(r, 0, true);
		return;
	}
	r->held_arg = since;
	r->held_until_ms = r->now_ms + wait * 1000;
	if (newest > since || wait == 0 || !hold(r, HOLD_FEED, feed_resumed))
		answer_feed(r, since, false);
}

/* ---- edges and enforcement ---- */

static json_t *edge_json(const edge_t *e, int64_t now, int64_t feed_seq)
{
	int64_t lag = 0;
	if (e->rec.acked_seq < feed_seq) {
		int64_t c = committed_ms(e->rec.acked_seq + 1);
		lag = c > 0 ? now - c : -1;
	}
	return json_pack("{s:s, s:s, s:s, s:I, s:b, s:o, s:b, s:o, s:o}", "id", e->rec.id, "addr", e->rec.addr,
			 "version", e->rec.version, "acked_seq", (json_int_t)e->rec.acked_seq, "in_sync",
			 e->rec.acked_seq >= feed_seq, "lag_ms", lag >= 0 ? json_integer(lag) : json_null(), "live",
			 edge_live(e, now), "last_seen", time_ms_json(e->rec.last_seen), "first_seen",
			 time_ms_json(e->rec.first_seen));
}

void handle_edges_list(req_t *r)
{
	json_t *list = json_array();
	pthread_mutex_lock(&F.mu);
	int64_t now = now_ms();
	for (size_t i = 0; i < F.n_edges; i++)
		json_array_append_new(list, edge_json(&F.edges[i], now, F.feed_seq));
	json_t *out = json_pack("{s:I, s:o}", "feed_seq", (json_int_t)F.feed_seq, "edges", list);
	pthread_mutex_unlock(&F.mu);
	http_json(r, 200, out);
}

/* Where each edge stands on seq; *enforced when every live edge has
 * acknowledged it. mu held. */
static json_t *enforcement(int64_t seq, int64_t now, bool *enforced)
{
	json_t *edges = json_array(), *pending = json_array(), *stale = json_array();
	int64_t committed = committed_ms(seq);
	*enforced = true;
	for (size_t i = 0; i < F.n_edges; i++) {
		const edge_t *e = &F.edges[i];
		bool live = edge_live(e, now), acked = e->rec.acked_seq >= seq;
		int64_t at = acked ? acked_ms(e, seq) : -1;
		json_t *prop = at > 0 && committed > 0 ? json_integer(at > committed ? at - committed : 0) : json_null();
		json_array_append_new(edges, json_pack("{s:s, s:s, s:b, s:I, s:b, s:o}", "id", e->rec.id, "addr",
						       e->rec.addr, "live", live, "acked_seq",
						       (json_int_t)e->rec.acked_seq, "acknowledged", acked,
						       "propagation_ms", prop));
		if (!acked)
			json_array_append_new(live ? pending : stale, json_string(e->rec.id));
		*enforced &= acked || !live;
	}
	return json_pack("{s:I, s:o, s:b, s:o, s:o, s:o}", "seq", (json_int_t)seq, "committed_at",
			 time_ms_json(committed), "enforced", *enforced, "edges", edges, "pending", pending, "stale",
			 stale);
}

static void answer_enforced(req_t *r)
{
	bool enforced = false;
	pthread_mutex_lock(&F.mu);
	json_t *out = enforcement(r->held_arg, now_ms(), &enforced);
	pthread_mutex_unlock(&F.mu);
	if (!enforced && now_ms() < r->held_until_ms && hold(r, HOLD_ENFORCED, answer_enforced)) {
		json_decref(out);
		return;
	}
	http_json(r, 200, out);
}

void handle_feed_enforced(req_t *r)
{
	long long seq = 0, wait = 0;
	pthread_mutex_lock(&F.mu);
	int64_t newest = F.feed_seq;
	pthread_mutex_unlock(&F.mu);
	if (http_query_int(r, "seq", 1, INT64_MAX - 1, newest > 0 ? newest : 1, &seq) != 0 ||
	    http_query_int(r, "wait", 0, TG_MAX_FEED_WAIT, 0, &wait) != 0)
		return;
	r->held_arg = seq;
	r->held_until_ms = r->now_ms + wait * 1000;
	answer_enforced(r);
}
