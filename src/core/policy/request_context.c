/* request_context.c - the request context (request_context.h). */
#include "core/policy/request_context.h"
#include "core/policy/ext.h"
#include <string.h>
#include <time.h>

#define S(lit) {lit, sizeof lit - 1}
const pol_str_t pol_ctx_request_time[] = {
	S("method"), S("path"), S("function"), S("unit"), S("address"), S("count"), S("subfunction"),
	S("read_address"), S("read_count"), S("values"), S("min_value"), S("max_value"),
};
#undef S
const size_t pol_ctx_nrequest_time = sizeof pol_ctx_request_time / sizeof pol_ctx_request_time[0];

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

/* context.values: the coils' distinct values (a set holds each once
 * anyway), the registers as written; at most MB_MAX_WRITE_REGISTERS. */
static size_t modbus_values(const mb_request_t *m, int out[MB_MAX_WRITE_REGISTERS])
{
	size_t n = 0;
	bool seen[2] = {false, false};
	for (size_t i = 0; i < m->n_values && n < MB_MAX_WRITE_REGISTERS; i++) {
		int v = mb_request_value(m, i);
		if (m->coils && seen[v & 1])
			continue;
		seen[v & 1] = true;
		out[n++] = v;
	}
	return n;
}

/* The Modbus keys, after the others: the caller sorts. */
static void put_modbus(pol_ctx_t *c, uint32_t *n, const mb_request_t *m)
{
	put(c, n, "address", pol_long(m->address));
	put(c, n, "count", pol_long(m->count));
	put(c, n, "function", pol_long(m->function));
	put(c, n, "unit", pol_long(m->unit));
	if (m->subfunction >= 0)
		put(c, n, "subfunction", pol_long(m->subfunction));
	if (m->read_address >= 0) {
		put(c, n, "read_address", pol_long(m->read_address));
		put(c, n, "read_count", pol_long(m->read_count));
	}
	if (m->n_values == 0)
		return;
	int values[MB_MAX_WRITE_REGISTERS];
	pol_value_t set = {.kind = PV_SET, .n = (uint32_t)modbus_values(m, values)};
	for (uint32_t i = 0; i < set.n; i++)
		c->modbus_values[i] = pol_long(values[i]);
	set.u.items = c->modbus_values;
	put(c, n, "values", set);
	put(c, n, "min_value", pol_long(m->min_value));
	put(c, n, "max_value", pol_long(m->max_value));
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
	if (in->modbus != NULL) {
		/* its keys fall between the others: one insertion sort of at
		 * most POL_CTX_MAX_KEYS keys, no two of them equal */
		put_modbus(c, &n, in->modbus);
		(void)pol_record_sort(c->keys, c->vals, n);
	}
	c->rec = (pol_value_t){.kind = PV_RECORD, .n = n};
	c->rec.u.rec.keys = c->keys;
	c->rec.u.rec.vals = c->vals;
	return &c->rec;
}

static void modbus_json(json_t *o, const mb_request_t *m)
{
	json_object_set_new(o, "function", json_integer(m->function));
	json_object_set_new(o, "unit", json_integer(m->unit));
	json_object_set_new(o, "address", json_integer(m->address));
	json_object_set_new(o, "count", json_integer(m->count));
	if (m->subfunction >= 0)
		json_object_set_new(o, "subfunction", json_integer(m->subfunction));
	if (m->read_address >= 0) {
		json_object_set_new(o, "read_address", json_integer(m->read_address));
		json_object_set_new(o, "read_count", json_integer(m->read_count));
	}
	if (m->n_values == 0)
		return;
	int values[MB_MAX_WRITE_REGISTERS];
	size_t n = modbus_values(m, values);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_integer(values[i]));
	json_object_set_new(o, "values", a);
	json_object_set_new(o, "min_value", json_integer(m->min_value));
	json_object_set_new(o, "max_value", json_integer(m->max_value));
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
	if (in->modbus != NULL)
		modbus_json(o, in->modbus);
	return o;
}
