/* request_context.c - the request context (request_context.h). */
#include "core/policy/request_context.h"
#include "core/policy/ext.h"
#include <string.h>
#include <time.h>

static pol_value_t str_value(const char *s)
{
	pol_value_t v = {.kind = PV_STRING};
	v.u.s = (pol_str_t){s, strlen(s)};
	return v;
}

static void put(pol_ctx_t *c, uint32_t *n, const char *key, pol_value_t v)
{
	c->keys[*n] = (pol_str_t){key, strlen(key)};
	c->vals[(*n)++] = v;
}

static pol_value_t grant_record(pol_ctx_t *c, const pol_ctx_grant_t *g)
{
	pol_value_t out = {.kind = PV_RECORD, .n = 4};
	c->grant_keys[0] = (pol_str_t){"approvals", 9};
	c->grant_vals[0] = pol_long(g->approvals);
	c->grant_keys[1] = (pol_str_t){"break_glass", 11};
	c->grant_vals[1] = pol_bool(g->break_glass);
	c->grant_keys[2] = (pol_str_t){"id", 2};
	c->grant_vals[2] = str_value(g->id);
	c->grant_keys[3] = (pol_str_t){"reason", 6};
	c->grant_vals[3] = str_value(g->reason ? g->reason : "");
	out.u.rec.keys = c->grant_keys;
	out.u.rec.vals = c->grant_vals;
	return out;
}

static void utc_parts(int64_t now, int *hour, int *weekday)
{
	struct tm tm;
	time_t t = (time_t)now;
	gmtime_r(&t, &tm);
	*hour = tm.tm_hour;
	*weekday = tm.tm_wday == 0 ? 7 : tm.tm_wday;
}

const pol_value_t *pol_ctx_build(pol_ctx_t *c, const pol_ctx_input_t *in)
{
	uint32_t n = 0;
	int hour, weekday;
	pol_ip_t ip;
	utc_parts(in->now, &hour, &weekday);
	/* in byte order of the keys */
	if (in->change_window != NULL)
		put(c, &n, "change_window", str_value(in->change_window));
	if (in->grant != NULL)
		put(c, &n, "grant", grant_record(c, in->grant));
	put(c, &n, "hour", pol_long(hour));
	if (in->method != NULL)
		put(c, &n, "method", str_value(in->method));
	put(c, &n, "now", pol_long(in->now));
	if (in->path != NULL)
		put(c, &n, "path", str_value(in->path));
	if (in->src_ip != NULL && in->src_ip[0] != '\0' && pol_ip_parse(in->src_ip, strlen(in->src_ip), &ip) == 0) {
		pol_value_t v = {.kind = PV_IP};
		v.u.ip = ip;
		put(c, &n, "src_ip", v);
	}
	if (in->token_age_s >= 0)
		put(c, &n, "token_age_s", pol_long(in->token_age_s));
	put(c, &n, "weekday", pol_long(weekday));
	c->rec = (pol_value_t){.kind = PV_RECORD, .n = n};
	c->rec.u.rec.keys = c->keys;
	c->rec.u.rec.vals = c->vals;
	return &c->rec;
}

json_t *pol_ctx_json(const pol_ctx_input_t *in)
{
	int hour, weekday;
	pol_ip_t ip;
	utc_parts(in->now, &hour, &weekday);
	json_t *o = json_pack("{s:I, s:i, s:i}", "now", (json_int_t)in->now, "hour", hour, "weekday", weekday);
	if (in->src_ip != NULL && in->src_ip[0] != '\0' && pol_ip_parse(in->src_ip, strlen(in->src_ip), &ip) == 0)
		json_object_set_new(o, "src_ip", json_pack("{s:{s:s, s:s}}", "__extn", "fn", "ip", "arg", in->src_ip));
	if (in->token_age_s >= 0)
		json_object_set_new(o, "token_age_s", json_integer(in->token_age_s));
	if (in->grant != NULL)
		json_object_set_new(o, "grant", json_pack("{s:s, s:I, s:s, s:b}", "id", in->grant->id, "approvals",
							   (json_int_t)in->grant->approvals, "reason",
							   in->grant->reason ? in->grant->reason : "", "break_glass",
							   in->grant->break_glass));
	if (in->change_window != NULL)
		json_object_set_new(o, "change_window", json_string(in->change_window));
	if (in->method != NULL)
		json_object_set_new(o, "method", json_string(in->method));
	if (in->path != NULL)
		json_object_set_new(o, "path", json_string(in->path));
	return o;
}
