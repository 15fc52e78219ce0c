/* monitor_baseline.c - a baseline's storage (monitor_baseline.h): its
 * bounded sets, address networks, and the JSON document it is persisted
 * as, read back strictly (every member typed and bounded, no more entries
 * than the caps). */
#include "core/monitor_baseline.h"
#include "core/policy/ext.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC_VERSION 1

static bool set_init(mon_set_t *s, size_t cap)
{
	s->cap = cap;
	s->hash = calloc(cap, sizeof *s->hash);
	s->s = calloc(cap, sizeof *s->s);
	return s->hash != NULL && s->s != NULL;
}

static void set_free(mon_set_t *s)
{
	for (size_t i = 0; s->s != NULL && i < s->n; i++)
		free(s->s[i]);
	free(s->s);
	free(s->hash);
}

mon_baseline_t *mon_baseline_new(const char *identity)
{
	mon_baseline_t *b = calloc(1, sizeof *b);
	if (b == NULL)
		return NULL;
	snprintf(b->identity, sizeof b->identity, "%s", identity);
	b->minute = -1;
	if (!set_init(&b->actions, MON_MAX_ACTIONS) || !set_init(&b->resources, MON_MAX_RESOURCES) ||
	    !set_init(&b->sources, MON_MAX_SOURCES) || !set_init(&b->nets, MON_MAX_NETS)) {
		mon_baseline_free(b);
		return NULL;
	}
	return b;
}

void mon_baseline_free(mon_baseline_t *b)
{
	if (b == NULL)
		return;
	set_free(&b->actions);
	set_free(&b->resources);
	set_free(&b->sources);
	set_free(&b->nets);
	free(b);
}

bool mon_set_has(const mon_set_t *s, const char *v)
{
	uint64_t h = mon_hash(v);
	for (size_t i = 0; i < s->n; i++)
		if (s->hash[i] == h && strcmp(s->s[i], v) == 0)
			return true;
	return false;
}

bool mon_set_add(mon_set_t *s, const char *v)
{
	if (mon_set_has(s, v))
		return true;
	if (s->n == s->cap) {
		s->overflow = true;
		return false;
	}
	if ((s->s[s->n] = strdup(v)) == NULL)
		return false;
	s->hash[s->n++] = mon_hash(v);
	return true;
}

void mon_net_of(const char *src, char *out, size_t cap)
{
	pol_ip_t ip;
	out[0] = '\0';
	if (src[0] == '\0' || strchr(src, '/') != NULL || pol_ip_parse(src, strlen(src), &ip) != 0)
		return;
	size_t keep = ip.v6 ? 8 : 3;
	memset(ip.addr + keep, 0, sizeof ip.addr - keep);
	ip.prefix = ip.v6 ? 64 : 24;
	pol_ip_render(&ip, out, cap);
}

/* ---- the document ---- */

static json_t *set_json(const mon_set_t *s)
{
	json_t *a = json_array();
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(a, json_string(s->s[i]));
	return a;
}

static json_t *hex64(uint64_t v)
{
	char buf[17];
	snprintf(buf, sizeof buf, "%016" PRIx64, v);
	return json_string(buf);
}

static json_t *grants_json(const mon_baseline_t *b)
{
	json_t *a = json_array();
	for (size_t i = 0; i < b->n_grants; i++) {
		const mon_grant_t *g = &b->grants[i];
		json_t *acts = json_array();
		for (size_t j = 0; j < g->n_actions; j++)
			json_array_append_new(acts, hex64(g->action[j]));
		json_array_append_new(a, json_pack("{s:s, s:I, s:I, s:o, s:I}", "id", g->id, "start", (json_int_t)g->start,
						   "uses", (json_int_t)g->uses, "actions", acts, "used",
						   (json_int_t)g->used));
	}
	return a;
}

static json_t *ints_json(const int64_t *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

json_t *mon_baseline_json(const mon_baseline_t *b)
{
	json_t *hours = json_array(), *rate = json_array(), *tokens = json_array(), *alerts = json_object();
	size_t n_rate = b->n_rate < MON_RATE_SAMPLES ? b->n_rate : MON_RATE_SAMPLES;
	size_t n_tok = b->n_tokens < MON_MAX_TOKENS ? b->n_tokens : MON_MAX_TOKENS;
	size_t n_den = b->n_denies < MON_DENY_RING ? b->n_denies : MON_DENY_RING;
	for (size_t i = 0; i < MON_HOURS; i++)
		json_array_append_new(hours, json_integer(b->hours[i]));
	for (size_t i = 0; i < n_rate; i++) /* oldest first */
		json_array_append_new(rate, json_integer(b->rate[(b->n_rate - n_rate + i) % MON_RATE_SAMPLES]));
	for (size_t i = 0; i < n_tok; i++) {
		const mon_token_t *t = &b->tokens[(b->n_tokens - n_tok + i) % MON_MAX_TOKENS];
		json_array_append_new(tokens, json_pack("[s, s]", t->jti, t->src));
	}
	int64_t denies[MON_DENY_RING];
	for (size_t i = 0; i < n_den; i++)
		denies[i] = b->deny_times[(b->n_denies - n_den + i) % MON_DENY_RING];
	for (int d = 0; d < DET_COUNT; d++)
		if (b->last_alert[d] != 0)
			json_object_set_new(alerts, mon_detector_name((mon_detector_t)d), json_integer(b->last_alert[d]));
	json_t *doc = json_pack("{s:i, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:b, s:b, s:b, s:b}", "v", DOC_VERSION,
				"identity", b->identity, "first_seen", (json_int_t)b->first_seen, "last_seen",
				(json_int_t)b->last_seen, "events", (json_int_t)b->events, "actions",
				set_json(&b->actions), "resources", set_json(&b->resources), "sources",
				set_json(&b->sources), "nets", set_json(&b->nets), "actions_overflow",
				b->actions.overflow, "resources_overflow", b->resources.overflow, "sources_overflow",
				b->sources.overflow, "nets_overflow", b->nets.overflow);
	if (doc == NULL)
		return NULL;
	json_object_set_new(doc, "hours", hours);
	json_object_set_new(doc, "rate", rate);
	json_object_set_new(doc, "minute", json_integer(b->minute));
	json_object_set_new(doc, "minute_count", json_integer(b->minute_count));
	json_object_set_new(doc, "minute_alerted", json_boolean(b->minute_alerted));
	json_object_set_new(doc, "denies_total", json_integer(b->denies_total));
	json_object_set_new(doc, "deny_times", ints_json(denies, n_den));
	json_object_set_new(doc, "tokens", tokens);
	json_object_set_new(doc, "grants", grants_json(b));
	json_object_set_new(doc, "last_alert", alerts);
	return doc;
}

/* ---- reading it back ---- */

typedef struct {
	char *why;
	size_t len;
} err_t;

__attribute__((format(printf, 2, 3)))
static int fail(err_t *e, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->why, e->len, fmt, ap);
	va_end(ap);
	return -1;
}

static int get_int(const json_t *doc, const char *name, int64_t lo, int64_t hi, int64_t *out, err_t *e)
{
	const json_t *v = json_object_get(doc, name);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return fail(e, "%s: an integer from %lld to %lld", name, (long long)lo, (long long)hi);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* An array member of at most max elements. */
static const json_t *get_array(const json_t *doc, const char *name, size_t max, err_t *e)
{
	const json_t *a = json_object_get(doc, name);
	if (!json_is_array(a) || json_array_size(a) > max) {
		fail(e, "%s: an array of at most %zu elements", name, max);
		return NULL;
	}
	return a;
}

static bool text_ok(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) <= max &&
	       strlen(json_string_value(v)) == json_string_length(v);
}

static int get_set(const json_t *doc, const char *name, size_t max_len, mon_set_t *s, err_t *e)
{
	char flag[40];
	const json_t *a = get_array(doc, name, s->cap, e), *v;
	size_t i;
	if (a == NULL)
		return -1;
	json_array_foreach(a, i, v)
		if (!text_ok(v, max_len) || !mon_set_add(s, json_string_value(v)))
			return fail(e, "%s[%zu]: a string of at most %zu bytes", name, i, max_len);
	snprintf(flag, sizeof flag, "%s_overflow", name);
	const json_t *o = json_object_get(doc, flag);
	if (!json_is_boolean(o))
		return fail(e, "%s: true or false", flag);
	s->overflow = json_is_true(o);
	return 0;
}

static int get_hours(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	const json_t *a = get_array(doc, "hours", MON_HOURS, e), *v;
	size_t i;
	if (a == NULL)
		return -1;
	if (json_array_size(a) != MON_HOURS)
		return fail(e, "hours: exactly %d counts", MON_HOURS);
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
			return fail(e, "hours[%zu]: a count", i);
		b->hours[i] = (uint32_t)json_integer_value(v);
	}
	return 0;
}

static int get_rate(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	const json_t *a = get_array(doc, "rate", MON_RATE_SAMPLES, e), *v;
	size_t i;
	if (a == NULL)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT16_MAX)
			return fail(e, "rate[%zu]: a count from 0 to 65535", i);
		b->rate[b->n_rate++] = (uint16_t)json_integer_value(v);
	}
	return 0;
}

static int get_tokens(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	const json_t *a = get_array(doc, "tokens", MON_MAX_TOKENS, e), *v;
	size_t i;
	if (a == NULL)
		return -1;
	json_array_foreach(a, i, v) {
		const json_t *jti = json_array_get(v, 0), *src = json_array_get(v, 1);
		if (!json_is_array(v) || json_array_size(v) != 2 || !text_ok(jti, TG_MAX_JTI_LEN) ||
		    !text_ok(src, MON_SRC_LEN - 1))
			return fail(e, "tokens[%zu]: [jti, src]", i);
		mon_token_t *t = &b->tokens[b->n_tokens++];
		snprintf(t->jti, sizeof t->jti, "%s", json_string_value(jti));
		snprintf(t->src, sizeof t->src, "%s", json_string_value(src));
	}
	return 0;
}

static int get_denies(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	const json_t *a = get_array(doc, "deny_times", MON_DENY_RING, e), *v;
	size_t i;
	if (a == NULL || get_int(doc, "denies_total", 0, INT64_MAX, &b->denies_total, e) != 0)
		return -1;
	json_array_foreach(a, i, v) {
		if (!json_is_integer(v))
			return fail(e, "deny_times[%zu]: a time", i);
		b->deny_times[b->n_denies++] = (int64_t)json_integer_value(v);
	}
	return 0;
}

static int get_grant(const json_t *g, size_t i, mon_grant_t *out, err_t *e)
{
	const json_t *id = json_object_get(g, "id"), *acts = json_object_get(g, "actions"), *v;
	size_t j;
	int64_t used;
	if (!json_is_object(g) || !text_ok(id, TG_GRANT_ID_LEN) || !json_is_array(acts) ||
	    json_array_size(acts) > MON_GRANT_ACTIONS || get_int(g, "start", INT64_MIN, INT64_MAX, &out->start, e) != 0 ||
	    get_int(g, "uses", 0, INT64_MAX, &out->uses, e) != 0 || get_int(g, "used", 0, UINT32_MAX, &used, e) != 0)
		return fail(e, "grants[%zu]: {id, start, uses, actions (at most %d), used}", i, MON_GRANT_ACTIONS);
	snprintf(out->id, sizeof out->id, "%s", json_string_value(id));
	out->used = (uint32_t)used;
	json_array_foreach(acts, j, v) {
		char *end = NULL;
		const char *h = json_string_value(v);
		if (!text_ok(v, 16) || json_string_length(v) != 16 || strspn(h, "0123456789abcdef") != 16)
			return fail(e, "grants[%zu].actions[%zu]: 16 hex digits", i, j);
		out->action[out->n_actions++] = strtoull(h, &end, 16);
	}
	return 0;
}

static int get_grants(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	const json_t *a = get_array(doc, "grants", MON_MAX_GRANTS, e), *v;
	size_t i;
	if (a == NULL)
		return -1;
	json_array_foreach(a, i, v)
		if (get_grant(v, i, &b->grants[b->n_grants++], e) != 0)
			return -1;
	return 0;
}

static int get_alerts(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	const json_t *o = json_object_get(doc, "last_alert"), *v;
	const char *k;
	if (!json_is_object(o))
		return fail(e, "last_alert: an object");
	json_object_foreach((json_t *)o, k, v) {
		int d = mon_detector_parse(k);
		if (d < 0 || !json_is_integer(v))
			return fail(e, "last_alert.%.40s: a detector's last alert time", k);
		b->last_alert[d] = (int64_t)json_integer_value(v);
	}
	return 0;
}

static int get_scalars(const json_t *doc, mon_baseline_t *b, err_t *e)
{
	int64_t v;
	const json_t *alerted = json_object_get(doc, "minute_alerted");
	if (get_int(doc, "v", DOC_VERSION, DOC_VERSION, &v, e) != 0 ||
	    get_int(doc, "first_seen", INT64_MIN / 2, INT64_MAX / 2, &b->first_seen, e) != 0 ||
	    get_int(doc, "last_seen", INT64_MIN / 2, INT64_MAX / 2, &b->last_seen, e) != 0 ||
	    get_int(doc, "events", 0, INT64_MAX, &b->events, e) != 0 ||
	    get_int(doc, "minute", -1, INT64_MAX, &b->minute, e) != 0 ||
	    get_int(doc, "minute_count", 0, INT64_MAX, &b->minute_count, e) != 0)
		return -1;
	if (!json_is_boolean(alerted))
		return fail(e, "minute_alerted: true or false");
	b->minute_alerted = json_is_true(alerted);
	return 0;
}

mon_baseline_t *mon_baseline_from_json(const json_t *doc, char *why, size_t why_len)
{
	err_t e = {why, why_len};
	const json_t *id = json_object_get(doc, "identity");
	if (!json_is_object(doc) || !text_ok(id, TG_MAX_ID_LEN) || json_string_length(id) == 0) {
		fail(&e, "a baseline is an object with an identity (1-%d bytes)", TG_MAX_ID_LEN);
		return NULL;
	}
	mon_baseline_t *b = mon_baseline_new(json_string_value(id));
	if (b == NULL) {
		fail(&e, "out of memory");
		return NULL;
	}
	if (get_scalars(doc, b, &e) != 0 || get_set(doc, "actions", MON_ACTION_LEN, &b->actions, &e) != 0 ||
	    get_set(doc, "resources", MON_RESOURCE_LEN, &b->resources, &e) != 0 ||
	    get_set(doc, "sources", MON_SRC_LEN - 1, &b->sources, &e) != 0 ||
	    get_set(doc, "nets", MON_SRC_LEN - 1, &b->nets, &e) != 0 || get_hours(doc, b, &e) != 0 ||
	    get_rate(doc, b, &e) != 0 || get_tokens(doc, b, &e) != 0 || get_denies(doc, b, &e) != 0 ||
	    get_grants(doc, b, &e) != 0 || get_alerts(doc, b, &e) != 0) {
		mon_baseline_free(b);
		return NULL;
	}
	return b;
}
