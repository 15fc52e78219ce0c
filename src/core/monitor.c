/* monitor.c - the monitor's engine (monitor.h): one baseline per identity
 * in a string map, learning while the identity is new, and the detectors,
 * each a small function of the event and the baseline that reports at
 * most one finding. The parameters and what each detector compares are
 * documented in docs/monitoring.md. */
#include "core/monitor.h"
#include "core/monitor_baseline.h"
#include "core/policy/ext.h"
#include "core/strmap.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mon_engine {
	mon_params_t p;
	strmap_t *ids;
	uint64_t untracked;
};

typedef struct {
	mon_engine_t *e;
	mon_baseline_t *b;
	const mon_event_t *ev;
	bool learning;
	mon_finding_t *out;
	size_t n, max;
} feed_t;

static const char *const detector_names[DET_COUNT] = {
	"new_action", "new_resource", "rate_spike", "deny_burst", "foreign_source",
	"off_hours", "revoked_token", "interactive_use", "unused_grant",
};
static const char *const severity_names[SEV_COUNT] = {"info", "low", "medium", "high", "critical"};

const char *mon_detector_name(mon_detector_t d) { return d < DET_COUNT ? detector_names[d] : "unknown"; }
const char *mon_severity_name(mon_severity_t s) { return s < SEV_COUNT ? severity_names[s] : "unknown"; }

static int find_name(const char *const *names, int n, const char *name)
{
	for (int i = 0; name != NULL && i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int mon_detector_parse(const char *name) { return find_name(detector_names, DET_COUNT, name); }
int mon_severity_parse(const char *name) { return find_name(severity_names, SEV_COUNT, name); }

void mon_params_default(mon_params_t *p)
{
	memset(p, 0, sizeof *p);
	p->learning_window = 7 * 86400;
	p->rate_floor = 60;
	p->rate_factor = 10;
	p->deny_burst = 10;
	p->deny_window = 60;
	p->hours_min_events = 100;
	p->grant_min_use = 50;
	p->cooldown = 300;
	p->max_identities = 10000;
}

const char *mon_params_operator_ranges(mon_params_t *p, const char *list)
{
	p->n_operator_ranges = 0;
	while (*list != '\0') {
		list += strspn(list, " ,");
		size_t len = strcspn(list, " ,");
		if (len == 0)
			break;
		if (p->n_operator_ranges == MON_MAX_OPERATOR_RANGES)
			return "at most 16 operator ranges";
		if (pol_ip_parse(list, len, &p->operator_ranges[p->n_operator_ranges++]) != 0)
			return "operator ranges are IPv4 or IPv6 addresses or CIDR ranges (10.8.0.0/16), comma-separated";
		list += len;
	}
	return NULL;
}

void mon_finding_release(mon_finding_t *f)
{
	json_decref(f->evidence);
	f->evidence = NULL;
}

static void free_baseline(void *v) { mon_baseline_free(v); }

mon_engine_t *mon_engine_new(const mon_params_t *p)
{
	mon_engine_t *e = calloc(1, sizeof *e);
	if (e == NULL)
		return NULL;
	e->p = *p;
	if (e->p.deny_burst < 1)
		e->p.deny_burst = 1;
	if (e->p.deny_burst > MON_DENY_RING)
		e->p.deny_burst = MON_DENY_RING;
	if ((e->ids = strmap_new(free_baseline)) == NULL) {
		free(e);
		return NULL;
	}
	return e;
}

void mon_engine_free(mon_engine_t *e)
{
	if (e == NULL)
		return;
	strmap_free(e->ids);
	free(e);
}

size_t mon_engine_identities(const mon_engine_t *e) { return strmap_count(e->ids); }
uint64_t mon_engine_untracked(const mon_engine_t *e) { return e->untracked; }

const mon_baseline_t *mon_engine_baseline(const mon_engine_t *e, const char *identity)
{
	return strmap_get(e->ids, identity);
}

/* ---- findings ---- */

/* The event's own evidence: where in the chain, when, what, from where. */
static json_t *event_evidence(const mon_event_t *ev)
{
	json_t *o = json_pack("{s:I, s:s}", "seq", (json_int_t)ev->seq, "time", ev->time);
	const char *names[] = {"action", "resource", "src", "jti", "grant", "reason", "user_agent"};
	const char *vals[] = {ev->action, ev->resource, ev->src, ev->jti, ev->grant, ev->reason, ev->user_agent};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (vals[i][0] != '\0')
			json_object_set_new(o, names[i], json_string(vals[i]));
	return o;
}

/* Reports a finding with extra evidence members (taken; may be NULL). */
__attribute__((format(printf, 5, 6)))
static void report(feed_t *f, mon_detector_t d, mon_severity_t s, json_t *extra, const char *fmt, ...)
{
	va_list ap;
	f->b->last_alert[d] = f->ev->t;
	f->b->dirty = true;
	if (f->n == f->max) {
		json_decref(extra);
		return;
	}
	mon_finding_t *out = &f->out[f->n++];
	out->detector = d;
	out->severity = s;
	snprintf(out->identity, sizeof out->identity, "%s", f->b->identity);
	va_start(ap, fmt);
	vsnprintf(out->summary, sizeof out->summary, fmt, ap);
	va_end(ap);
	out->evidence = event_evidence(f->ev);
	if (extra != NULL)
		json_object_update(out->evidence, extra);
	json_decref(extra);
}

/* Not reported by detector d within the cooldown. */
static bool cooled(const feed_t *f, mon_detector_t d)
{
	int64_t last = f->b->last_alert[d];
	return last == 0 || f->ev->t - last >= f->e->p.cooldown;
}

/* ---- the detectors ---- */

static void detect_first_use(feed_t *f, mon_set_t *set, const char *value, mon_detector_t d, mon_severity_t s,
			     const char *what)
{
	if (value[0] == '\0' || set->overflow || mon_set_has(set, value))
		return;
	mon_set_add(set, value); /* reported once: it joins the baseline */
	report(f, d, s, json_pack("{s:I}", "baseline_size", (json_int_t)set->n - 1),
	       "first use of %s %s (outside the baseline)", what, value);
}

static int64_t median_of(int64_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) /* insertion sort: at most MON_RATE_SAMPLES */
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The spike threshold: max(rate_floor, median + rate_factor * max(MAD, 1)). */
static int64_t rate_threshold(const mon_engine_t *e, mon_baseline_t *b, int64_t *median, int64_t *mad)
{
	int64_t v[MON_RATE_SAMPLES];
	size_t n = b->n_rate < MON_RATE_SAMPLES ? b->n_rate : MON_RATE_SAMPLES;
	for (size_t i = 0; i < n; i++)
		v[i] = b->rate[i];
	*median = median_of(v, n);
	for (size_t i = 0; i < n; i++)
		v[i] = v[i] > *median ? v[i] - *median : *median - v[i];
	*mad = median_of(v, n);
	int64_t t = *median + e->p.rate_factor * (*mad > 1 ? *mad : 1);
	return t > e->p.rate_floor ? t : e->p.rate_floor;
}

/* Counts the request in its minute; a minute that ends while learning is a sample. */
static void count_minute(feed_t *f)
{
	mon_baseline_t *b = f->b;
	int64_t minute = f->ev->t / 60;
	if (minute != b->minute) {
		if (b->minute >= 0 && b->minute * 60 < b->first_seen + f->e->p.learning_window && b->minute_count > 0) {
			b->rate[b->n_rate++ % MON_RATE_SAMPLES] =
				(uint16_t)(b->minute_count > UINT16_MAX ? UINT16_MAX : b->minute_count);
			b->threshold = 0;
		}
		b->minute = minute;
		b->minute_count = 0;
		b->minute_alerted = false;
	}
	b->minute_count++;
}

static void detect_rate(feed_t *f)
{
	mon_baseline_t *b = f->b;
	int64_t median = 0, mad = 0;
	if (b->threshold == 0) /* cached until the next learned minute */
		b->threshold = rate_threshold(f->e, b, &median, &mad);
	if (b->minute_alerted || b->minute_count <= b->threshold)
		return;
	int64_t t = rate_threshold(f->e, b, &median, &mad);
	b->minute_alerted = true;
	report(f, DET_RATE_SPIKE, SEV_MEDIUM,
	       json_pack("{s:I, s:I, s:I, s:I}", "count", (json_int_t)b->minute_count, "threshold", (json_int_t)t,
			 "median", (json_int_t)median, "mad", (json_int_t)mad),
	       "%lld requests in one minute (baseline median %lld, threshold %lld)", (long long)b->minute_count,
	       (long long)median, (long long)t);
}

static int hour_of_week(int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t wday = ((days + 4) % 7 + 7) % 7; /* 1970-01-01 was a Thursday */
	int64_t hour = ((t % 86400) + 86400) % 86400 / 3600;
	return (int)(wday * 24 + hour);
}

static void detect_off_hours(feed_t *f)
{
	mon_baseline_t *b = f->b;
	int h = hour_of_week(f->ev->t);
	if (b->events < f->e->p.hours_min_events || b->hours[h] != 0 || b->hours[(h + 1) % MON_HOURS] != 0 ||
	    b->hours[(h + MON_HOURS - 1) % MON_HOURS] != 0)
		return;
	b->hours[h] = 1; /* reported once per hour of the week */
	report(f, DET_OFF_HOURS, SEV_LOW, json_pack("{s:i, s:i}", "weekday", h / 24, "hour", h % 24),
	       "use at %02d:00 UTC on weekday %d, outside the identity's usual hours", h % 24, h / 24);
}

static const mon_token_t *issued_token(const mon_baseline_t *b, const char *jti)
{
	size_t n = b->n_tokens < MON_MAX_TOKENS ? b->n_tokens : MON_MAX_TOKENS;
	for (size_t i = 0; jti[0] != '\0' && i < n; i++)
		if (strcmp(b->tokens[i].jti, jti) == 0)
			return &b->tokens[i];
	return NULL;
}

static void learn_source(mon_baseline_t *b, const char *src)
{
	char net[MON_SRC_LEN];
	if (src[0] == '\0' || (mon_set_has(&b->sources, src) && !b->nets.overflow))
		return; /* known: its network was learned with it */
	mon_net_of(src, net, sizeof net);
	mon_set_add(&b->sources, src);
	if (net[0] != '\0')
		mon_set_add(&b->nets, net);
}

/* The token's issuance address differs (any time), or (after learning)
 * neither the address nor its network was ever seen. */
static void detect_source(feed_t *f)
{
	const mon_event_t *ev = f->ev;
	const mon_token_t *t = issued_token(f->b, ev->jti);
	char net[MON_SRC_LEN];
	if (ev->src[0] == '\0' || !cooled(f, DET_FOREIGN_SOURCE))
		return;
	if (t != NULL && t->src[0] != '\0' && strcmp(t->src, ev->src) != 0) {
		report(f, DET_FOREIGN_SOURCE, SEV_HIGH, json_pack("{s:s}", "issued_to", t->src),
		       "token %s issued to %s was used from %s", ev->jti, t->src, ev->src);
		return;
	}
	if (f->learning || f->b->sources.overflow || f->b->nets.overflow || mon_set_has(&f->b->sources, ev->src))
		return;
	mon_net_of(ev->src, net, sizeof net);
	if (net[0] != '\0' && mon_set_has(&f->b->nets, net))
		return;
	learn_source(f->b, ev->src);
	report(f, DET_FOREIGN_SOURCE, SEV_MEDIUM, json_pack("{s:s}", "network", net),
	       "use from %s, an address and network never seen for this identity", ev->src);
}

static bool browser(const char *ua)
{
	return strstr(ua, "Mozilla/") != NULL;
}

static void detect_interactive(feed_t *f)
{
	pol_ip_t ip;
	const char *src = f->ev->src;
	bool from_range = false;
	if (!cooled(f, DET_INTERACTIVE_USE))
		return;
	if (src[0] != '\0' && f->e->p.n_operator_ranges > 0 && pol_ip_parse(src, strlen(src), &ip) == 0)
		for (size_t i = 0; i < f->e->p.n_operator_ranges && !from_range; i++)
			from_range = pol_ip_in_range(&ip, &f->e->p.operator_ranges[i]);
	if (from_range)
		report(f, DET_INTERACTIVE_USE, SEV_HIGH, json_pack("{s:s}", "why", "operator workstation range"),
		       "machine identity used from %s, an operator workstation range", src);
	else if (browser(f->ev->user_agent))
		report(f, DET_INTERACTIVE_USE, SEV_HIGH, json_pack("{s:s}", "why", "browser user agent"),
		       "machine identity used by a browser");
}

/* An edge says "revoked"/"expired"; /v1/authorize a sentence. */
static void detect_revoked(feed_t *f)
{
	const char *r = f->ev->reason;
	bool revoked = strcmp(r, "revoked") == 0 || strstr(r, "has been revoked") != NULL ||
		       strstr(r, "identity is not active") != NULL || strstr(r, "revoked every token") != NULL ||
		       strstr(r, "grant has ended") != NULL;
	bool expired = strcmp(r, "expired") == 0 || strstr(r, "has expired") != NULL;
	if ((!revoked && !expired) || !cooled(f, DET_REVOKED_TOKEN))
		return;
	report(f, DET_REVOKED_TOKEN, revoked ? SEV_HIGH : SEV_LOW, NULL, "%s token presented%s%s",
	       revoked ? "revoked" : "expired", f->ev->jti[0] ? ": " : "", f->ev->jti);
}

static void detect_deny_burst(feed_t *f)
{
	mon_baseline_t *b = f->b;
	int64_t since = f->ev->t - f->e->p.deny_window;
	size_t n = b->n_denies < MON_DENY_RING ? b->n_denies : MON_DENY_RING, in = 0;
	for (size_t i = 0; i < n; i++)
		in += b->deny_times[i] > since;
	if ((int64_t)in < f->e->p.deny_burst || (b->last_alert[DET_DENY_BURST] > since && b->last_alert[DET_DENY_BURST] != 0))
		return;
	report(f, DET_DENY_BURST, SEV_HIGH, json_pack("{s:I, s:I}", "denies", (json_int_t)in, "window_s",
						      (json_int_t)f->e->p.deny_window),
	       "%zu denied requests within %lld s (overreach probing)", in, (long long)f->e->p.deny_window);
}

/* ---- grants ---- */

static mon_grant_t *find_grant(mon_baseline_t *b, const char *id)
{
	for (size_t i = 0; i < b->n_grants; i++)
		if (strcmp(b->grants[i].id, id) == 0)
			return &b->grants[i];
	return NULL;
}

static void grant_started(feed_t *f)
{
	mon_baseline_t *b = f->b;
	if (find_grant(b, f->ev->grant) != NULL)
		return;
	if (b->n_grants == MON_MAX_GRANTS) /* the oldest is no longer followed */
		memmove(&b->grants[0], &b->grants[1], sizeof b->grants[0] * --b->n_grants);
	mon_grant_t *g = &b->grants[b->n_grants++];
	memset(g, 0, sizeof *g);
	snprintf(g->id, sizeof g->id, "%s", f->ev->grant);
	g->start = f->ev->t;
	for (size_t i = 0; i < f->ev->n_grant_actions; i++)
		g->action[g->n_actions++] = f->ev->grant_actions[i];
	b->dirty = true;
}

static void grant_used(feed_t *f)
{
	mon_grant_t *g = f->ev->grant[0] ? find_grant(f->b, f->ev->grant) : NULL;
	if (g == NULL)
		return;
	uint64_t h = mon_hash(f->ev->action);
	g->uses++;
	for (size_t i = 0; i < g->n_actions; i++)
		if (g->action[i] == h)
			g->used |= 1u << i;
}

static void grant_ended(feed_t *f)
{
	mon_baseline_t *b = f->b;
	mon_grant_t *g = find_grant(b, f->ev->grant);
	if (g == NULL)
		return;
	size_t used = (size_t)__builtin_popcount(g->used), idx = (size_t)(g - b->grants);
	json_t *extra = json_pack("{s:I, s:I, s:I, s:I}", "uses", (json_int_t)g->uses, "actions_allowed",
				  (json_int_t)g->n_actions, "actions_used", (json_int_t)used, "duration_s",
				  (json_int_t)(f->ev->t - g->start));
	if (g->uses == 0)
		report(f, DET_UNUSED_GRANT, SEV_LOW, extra, "grant %s ended without being used", g->id);
	else if (g->n_actions > 0 && (int64_t)(used * 100) < (int64_t)g->n_actions * f->e->p.grant_min_use)
		report(f, DET_UNUSED_GRANT, SEV_INFO, extra, "grant %s used %zu of the %zu actions it allowed", g->id,
		       used, g->n_actions);
	else
		json_decref(extra);
	memmove(&b->grants[idx], &b->grants[idx + 1], sizeof b->grants[0] * (b->n_grants - idx - 1));
	b->n_grants--;
	b->dirty = true;
}

/* ---- feeding ---- */

static void learn_use(feed_t *f)
{
	mon_baseline_t *b = f->b;
	mon_set_add(&b->actions, f->ev->action);
	mon_set_add(&b->resources, f->ev->resource);
	learn_source(b, f->ev->src);
	b->hours[hour_of_week(f->ev->t)]++;
	b->events++;
}

static void on_issued(feed_t *f)
{
	mon_baseline_t *b = f->b;
	mon_token_t *t = &b->tokens[b->n_tokens++ % MON_MAX_TOKENS];
	snprintf(t->jti, sizeof t->jti, "%s", f->ev->jti);
	snprintf(t->src, sizeof t->src, "%s", f->ev->src);
	if (f->learning)
		learn_source(b, f->ev->src);
	else
		detect_source(f);
}

static void on_allow(feed_t *f)
{
	count_minute(f);
	grant_used(f);
	detect_interactive(f);
	detect_source(f);
	if (f->learning) {
		learn_use(f);
		return;
	}
	detect_first_use(f, &f->b->actions, f->ev->action, DET_NEW_ACTION, SEV_MEDIUM, "action");
	detect_first_use(f, &f->b->resources, f->ev->resource, DET_NEW_RESOURCE, SEV_LOW, "resource");
	detect_off_hours(f);
	detect_rate(f);
}

static void on_deny(feed_t *f)
{
	mon_baseline_t *b = f->b;
	count_minute(f);
	b->denies_total++;
	b->deny_times[b->n_denies++ % MON_DENY_RING] = f->ev->t;
	detect_revoked(f);
	detect_interactive(f);
	detect_source(f);
	detect_deny_burst(f);
	if (f->learning)
		learn_source(b, f->ev->src);
	else
		detect_rate(f);
}

static mon_baseline_t *baseline_for(mon_engine_t *e, const mon_event_t *ev)
{
	mon_baseline_t *b = strmap_get(e->ids, ev->identity);
	if (b != NULL)
		return b;
	if ((int64_t)strmap_count(e->ids) >= e->p.max_identities || (b = mon_baseline_new(ev->identity)) == NULL) {
		e->untracked++;
		return NULL;
	}
	b->first_seen = ev->t;
	return strmap_put(e->ids, ev->identity, b) == 0 ? b : NULL;
}

size_t mon_engine_feed(mon_engine_t *e, const mon_event_t *ev, mon_finding_t *out, size_t max)
{
	mon_baseline_t *b = baseline_for(e, ev);
	if (b == NULL)
		return 0;
	feed_t f = {e, b, ev, ev->t < b->first_seen + e->p.learning_window, out, 0, max};
	if (ev->t > b->last_seen)
		b->last_seen = ev->t;
	b->dirty = true;
	switch (ev->kind) {
	case MEV_ISSUED: on_issued(&f); break;
	case MEV_ALLOW: on_allow(&f); break;
	case MEV_DENY: on_deny(&f); break;
	case MEV_GRANT_START: grant_started(&f); break;
	case MEV_GRANT_END: grant_ended(&f); break;
	}
	return f.n;
}

/* ---- persistence ---- */

typedef struct {
	mon_dirty_fn fn;
	void *ctx;
	size_t n;
} dirty_walk_t;

static bool visit_dirty(const char *key, void *value, void *ctx)
{
	mon_baseline_t *b = value;
	dirty_walk_t *w = ctx;
	if (b->dirty) {
		json_t *doc = mon_baseline_json(b);
		if (doc != NULL) {
			w->fn(w->ctx, key, doc);
			b->dirty = false;
			w->n++;
		}
		json_decref(doc);
	}
	return false;
}

size_t mon_engine_dirty(mon_engine_t *e, mon_dirty_fn fn, void *ctx)
{
	dirty_walk_t w = {fn, ctx, 0};
	strmap_sweep(e->ids, visit_dirty, &w);
	return w.n;
}

int mon_engine_load(mon_engine_t *e, const json_t *doc, char *why, size_t why_len)
{
	mon_baseline_t *b = mon_baseline_from_json(doc, why, why_len);
	if (b == NULL)
		return -1;
	if (strmap_put(e->ids, b->identity, b) != 0) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	return 0;
}

json_t *mon_baseline_summary(const mon_baseline_t *b)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "identity", b->identity, "first_seen",
			 (json_int_t)b->first_seen, "last_seen", (json_int_t)b->last_seen, "events",
			 (json_int_t)b->events, "actions", (json_int_t)b->actions.n, "resources",
			 (json_int_t)b->resources.n, "sources", (json_int_t)b->sources.n, "denies",
			 (json_int_t)b->denies_total, "open_grants", (json_int_t)b->n_grants);
}
