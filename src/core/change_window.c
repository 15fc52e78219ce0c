/* change_window.c - change windows, pure (change_window.h): the window
 * document, its normalized form, and occurrences in a zone. */
#include "core/change_window.h"
#include "core/civil.h"
#include "core/identity_json.h"
#include "core/policy/arena.h"
#include "core/policy/cedar_json.h"
#include "core/policy/entities_input.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const day_names[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

void cw_free(cw_t *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->n_resources; i++)
		free(w->resources[i]);
	free(w);
}

/* ---- parsing ------------------------------------------------------------- */

/* NULL when every member of obj is in known (NULL-terminated), else which
 * one is not, with the members to send. */
static const char *only(const json_t *obj, const char *const *known, const char *where, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		const char *const *p = known;
		while (*p != NULL && strcmp(*p, k) != 0)
			p++;
		if (*p != NULL)
			continue;
		int n = snprintf(buf, len, "unknown member \"%s%.64s\" (send", where, k);
		for (p = known; *p != NULL && n > 0 && (size_t)n < len; p++)
			n += snprintf(buf + n, len - (size_t)n, "%s %s", p == known ? "" : ",", *p);
		if (n > 0 && (size_t)n < len)
			snprintf(buf + n, len - (size_t)n, ")");
		return buf;
	}
	return NULL;
}

/* A string member without NUL bytes, or NULL. */
static const char *str(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

static const char *parse_name(const json_t *doc, cw_t *w)
{
	const char *s = str(doc, "name");
	if (s == NULL || !identity_name_valid(s))
		return "\"name\" must be 1..128 characters of A-Z a-z 0-9 . _ -";
	memcpy(w->name, s, strlen(s) + 1);
	return NULL;
}

bool cw_timezone_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CW_MAX_TZ_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool part_start = i == 0 || s[i - 1] == '/';
		if (part_start ? !letter : !(letter || (c >= '0' && c <= '9') || strchr("._+-/", c) != NULL))
			return false;
	}
	return s[n - 1] != '/';
}

static const char *parse_timezone(const json_t *doc, cw_t *w)
{
	const char *s = str(doc, "timezone");
	if (s == NULL || !cw_timezone_name_valid(s))
		return "\"timezone\" must be a time zone name like \"Europe/Berlin\" or \"UTC\"";
	memcpy(w->timezone, s, strlen(s) + 1);
	return NULL;
}

/* Entry i of "resources" as Type::"id" (malloc'd in *out). */
static const char *parse_resource(pol_arena_t *a, const json_t *v, size_t i, char **out, char *buf, size_t len)
{
	pol_euid_t u;
	char why[200];
	const char *s = json_string_value(v);
	size_t n = json_string_length(v);
	if (s == NULL || n == 0 || n > CW_MAX_RESOURCE_LEN) {
		snprintf(buf, len, "\"resources[%zu]\" must be an entity reference like Zone::\"line-3\" or "
			 "Device:plc-7 (at most %d bytes)", i, CW_MAX_RESOURCE_LEN);
		return buf;
	}
	if (pol_euid_parse_text(a, s, n, &u, why, sizeof why) != 0) {
		snprintf(buf, len, "\"resources[%zu]\": %s", i, why);
		return buf;
	}
	if (memchr(u.type.p, '\0', u.type.len) != NULL || memchr(u.id.p, '\0', u.id.len) != NULL) {
		snprintf(buf, len, "\"resources[%zu]\": entity ids may not contain NUL", i);
		return buf;
	}
	if ((*out = pol_uid_text(u.type.p, u.id.p)) == NULL)
		return "out of memory";
	if (strlen(*out) > CW_MAX_RESOURCE_LEN) { /* escapes may have grown it */
		snprintf(buf, len, "\"resources[%zu]\" must be at most %d bytes written as Type::\"id\"", i,
			 CW_MAX_RESOURCE_LEN);
		free(*out);
		*out = NULL;
		return buf;
	}
	return NULL;
}

static const char *parse_resources(const json_t *doc, cw_t *w, char *buf, size_t len)
{
	const json_t *arr = json_object_get(doc, "resources");
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n == 0 || n > CW_MAX_RESOURCES)
		return "\"resources\" must be an array of 1 to 64 entity references like Zone::\"line-3\" or "
		       "Device:plc-7";
	pol_arena_t *a = pol_arena_new();
	const char *why = a == NULL ? "out of memory" : NULL;
	for (size_t i = 0; why == NULL && i < n; i++) {
		char *r = NULL;
		why = parse_resource(a, json_array_get(arr, i), i, &r, buf, len);
		for (size_t j = 0; why == NULL && j < w->n_resources; j++)
			if (strcmp(w->resources[j], r) == 0) {
				snprintf(buf, len, "\"resources[%zu]\": %.200s appears twice", i, r);
				why = buf;
			}
		if (r != NULL)
			w->resources[w->n_resources++] = r;
	}
	pol_arena_free(a);
	return why;
}

/* n digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "HH:MM" at s (5 bytes): seconds, or -1; hours at most max_h. */
static int32_t hh_mm(const char *s, int max_h)
{
	int h = digits(s, 2), m = digits(s + 3, 2);
	if (h < 0 || s[2] != ':' || m < 0 || m > 59 || h > max_h)
		return -1;
	return h * 3600 + m * 60;
}

/* YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]; 0, or -1. */
static int parse_time(const char *s, cw_time_t *t)
{
	size_t n = strlen(s);
	int y = digits(s, 4), mo = n >= 16 ? digits(s + 5, 2) : -1, d = n >= 16 ? digits(s + 8, 2) : -1;
	int32_t hm = n >= 16 ? hh_mm(s + 11, 23) : -1;
	int sec = 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > civil_month_days(y, mo) || s[4] != '-' || s[7] != '-' ||
	    s[10] != 'T' || hm < 0)
		return -1;
	const char *p = s + 16;
	if (*p == ':' && ((sec = digits(p + 1, 2)) < 0 || sec > 59))
		return -1;
	p += *p == ':' ? 3 : 0;
	t->local = civil_days(y, mo, d) * 86400 + hm + sec;
	t->fixed = *p != '\0';
	t->off = 0;
	if (*p == 'Z')
		return p[1] == '\0' ? 0 : -1;
	if (*p == '+' || *p == '-') {
		int32_t off = strlen(p) == 6 ? hh_mm(p + 1, 23) : -1;
		if (off < 0)
			return -1;
		t->off = *p == '-' ? -off : off;
		return 0;
	}
	return *p == '\0' ? 0 : -1;
}

static const char *parse_once(const json_t *sch, cw_t *w, char *buf, size_t len)
{
	static const char *const known[] = {"start", "end", NULL};
	const char *why = only(sch, known, "schedule.", buf, len);
	if (why != NULL)
		return why;
	const char *s = str(sch, "start"), *e = str(sch, "end");
	if (s == NULL || strlen(s) > 32 || parse_time(s, &w->start) != 0)
		return "\"schedule.start\" must be a time like \"2026-12-07T02:00\" (local to the zone) or "
		       "\"2026-12-07T01:00Z\" or \"2026-12-07T02:00+01:00\"";
	if (e == NULL || strlen(e) > 32 || parse_time(e, &w->end) != 0)
		return "\"schedule.end\" must be a time like \"2026-12-07T06:00\" (local to the zone) or "
		       "\"2026-12-07T05:00Z\" or \"2026-12-07T06:00+01:00\"";
	int64_t a = w->start.local - w->start.off, b = w->end.local - w->end.off;
	if (w->start.fixed == w->end.fixed && b <= a)
		return "\"schedule.end\" must come after \"schedule.start\"";
	if (b - a > CW_MAX_ONCE)
		return "\"schedule.end\" must lie at most 366 days after \"schedule.start\"";
	w->every = CW_ONCE;
	return NULL;
}

static const char *parse_days(const json_t *sch, cw_t *w, char *buf, size_t len)
{
	const json_t *arr = json_object_get(sch, "days"), *v;
	size_t i;
	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 7)
		return "\"schedule.days\" must be an array of 1 to 7 days: mon, tue, wed, thu, fri, sat, sun";
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		int d = 0;
		while (d < 7 && (s == NULL || strcmp(s, day_names[d]) != 0 || json_string_length(v) != 3))
			d++;
		if (d == 7)
			snprintf(buf, len, "\"schedule.days[%zu]\" must be one of mon, tue, wed, thu, fri, sat, "
				 "sun", i);
		else if (w->days & 1u << d)
			snprintf(buf, len, "\"schedule.days[%zu]\": %s appears twice", i, day_names[d]);
		else {
			w->days |= (uint8_t)(1u << d);
			continue;
		}
		return buf;
	}
	return NULL;
}

static const char *parse_every(const json_t *sch, cw_t *w, char *buf, size_t len)
{
	static const char *const known[] = {"every", "days", "from", "to", NULL};
	const char *why = only(sch, known, "schedule.", buf, len), *ev = str(sch, "every");
	if (why != NULL)
		return why;
	if (ev == NULL || (strcmp(ev, "day") != 0 && strcmp(ev, "week") != 0))
		return "\"schedule.every\" must be \"day\" or \"week\"";
	w->every = ev[0] == 'd' ? CW_DAILY : CW_WEEKLY;
	if (w->every == CW_DAILY && json_object_get(sch, "days") != NULL)
		return "\"schedule.days\" goes with \"every\": \"week\" only";
	if (w->every == CW_WEEKLY && (why = parse_days(sch, w, buf, len)) != NULL)
		return why;
	const char *f = str(sch, "from"), *t = str(sch, "to");
	if (f == NULL || strlen(f) != 5 || (w->from = hh_mm(f, 23)) < 0)
		return "\"schedule.from\" must be a local time of day \"HH:MM\" from 00:00 to 23:59";
	if (t == NULL || strlen(t) != 5 || (w->to = hh_mm(t, 24)) < 0 || w->to > 86400)
		return "\"schedule.to\" must be a local time of day \"HH:MM\" from 00:00 to 24:00";
	if (w->to == w->from)
		return "\"schedule.to\" must differ from \"schedule.from\" (a whole day is \"00:00\" to "
		       "\"24:00\")";
	if (w->to == 0)
		w->to = 86400; /* "00:00": the midnight ending the day it starts on */
	return NULL;
}

static const char *parse_schedule(const json_t *doc, cw_t *w, char *buf, size_t len)
{
	const json_t *sch = json_object_get(doc, "schedule");
	if (!json_is_object(sch))
		return "\"schedule\" must be an object: {\"start\", \"end\"} for a one-off window or "
		       "{\"every\", \"days\"?, \"from\", \"to\"} for a recurring one";
	if (json_object_get(sch, "every") != NULL || json_object_get(sch, "from") != NULL)
		return parse_every(sch, w, buf, len);
	return parse_once(sch, w, buf, len);
}

const char *cw_parse(const json_t *doc, cw_t **out, char *buf, size_t len)
{
	static const char *const known[] = {"name", "resources", "timezone", "schedule", NULL};
	const char *why;
	*out = NULL;
	if (!json_is_object(doc))
		return "the window must be a JSON object";
	cw_t *w = calloc(1, sizeof *w);
	if (w == NULL)
		return "out of memory";
	if ((why = only(doc, known, "", buf, len)) != NULL || (why = parse_name(doc, w)) != NULL ||
	    (why = parse_resources(doc, w, buf, len)) != NULL || (why = parse_timezone(doc, w)) != NULL ||
	    (why = parse_schedule(doc, w, buf, len)) != NULL) {
		cw_free(w);
		return why;
	}
	*out = w;
	return NULL;
}

bool cw_has_resource(const cw_t *w, const char *type, const char *id)
{
	char *text = pol_uid_text(type, id);
	bool found = false;
	for (size_t i = 0; text != NULL && !found && i < w->n_resources; i++)
		found = strcmp(w->resources[i], text) == 0;
	free(text);
	return found;
}

/* ---- output -------------------------------------------------------------- */

static json_t *time_json(const cw_time_t *t)
{
	char buf[40];
	int64_t y, day = civil_floor_div(t->local, 86400);
	int mo, d, s = (int)(t->local - day * 86400), n;
	civil_from_days(day, &y, &mo, &d);
	n = snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d", (long long)y, mo, d, s / 3600, s / 60 % 60);
	if (s % 60 != 0)
		n += snprintf(buf + n, sizeof buf - (size_t)n, ":%02d", s % 60);
	int32_t a = t->off < 0 ? -t->off : t->off;
	if (t->fixed && t->off == 0)
		snprintf(buf + n, sizeof buf - (size_t)n, "Z");
	else if (t->fixed)
		snprintf(buf + n, sizeof buf - (size_t)n, "%c%02d:%02d", t->off < 0 ? '-' : '+', (int)(a / 3600),
			 (int)(a / 60 % 60));
	return json_string(buf);
}

static json_t *hhmm_json(int32_t s)
{
	char buf[16];
	snprintf(buf, sizeof buf, "%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60));
	return json_string(buf);
}

static json_t *schedule_json(const cw_t *w)
{
	if (w->every == CW_ONCE)
		return json_pack("{s:o,s:o}", "start", time_json(&w->start), "end", time_json(&w->end));
	json_t *s = json_pack("{s:s}", "every", w->every == CW_DAILY ? "day" : "week");
	if (s != NULL && w->every == CW_WEEKLY) {
		json_t *days = json_array();
		for (int i = 1; i <= 7; i++)
			if (w->days & 1u << (i % 7))
				json_array_append_new(days, json_string(day_names[i % 7]));
		json_object_set_new(s, "days", days);
	}
	json_object_set_new(s, "from", hhmm_json(w->from));
	json_object_set_new(s, "to", hhmm_json(w->to));
	return s;
}

json_t *cw_json(const cw_t *w)
{
	json_t *res = json_array();
	for (size_t i = 0; res != NULL && i < w->n_resources; i++)
		json_array_append_new(res, json_string(w->resources[i]));
	return json_pack("{s:s,s:o*,s:s,s:o*}", "name", w->name, "resources", res, "timezone", w->timezone,
			 "schedule", schedule_json(w));
}

/* ---- occurrences --------------------------------------------------------- */

static bool in_range(int64_t t)
{
	return t >= TZ_MIN_TIME && t <= TZ_MAX_TIME;
}

static bool resolve(const tz_t *tz, const cw_time_t *t, int64_t *out)
{
	if (t->fixed) {
		*out = t->local - t->off;
		return true;
	}
	return tz_local_to_utc(tz, t->local, out) >= 0;
}

/* The occurrence of w that starts on local day `day` (the one-off ignores
 * day): false when there is none that day or it is empty. */
static bool occurrence(const cw_t *w, const tz_t *tz, int64_t day, int64_t *s, int64_t *e)
{
	cw_time_t a = w->start, b = w->end;
	if (w->every == CW_WEEKLY && !(w->days & 1u << civil_weekday(day)))
		return false;
	if (w->every != CW_ONCE) {
		a = (cw_time_t){day * 86400 + w->from, false, 0};
		b = (cw_time_t){day * 86400 + w->to + (w->to <= w->from ? 86400 : 0), false, 0};
	}
	return resolve(tz, &a, s) && resolve(tz, &b, e) && *e > *s && in_range(*s) && in_range(*e);
}

/* The local day of t in tz. */
static int64_t local_day(const tz_t *tz, int64_t t)
{
	return civil_floor_div(t + tz_utc_offset(tz, t), 86400);
}

bool cw_open_at(const cw_t *w, const tz_t *tz, int64_t now, int64_t *ends_at)
{
	int64_t s, e, end = 0, day = 0, ld = in_range(now) ? local_day(tz, now) : 0;
	bool open = false;
	if (!in_range(now))
		return false;
	/* An occurrence holding now starts within 4 local days of now's
	 * (offsets are below 26 hours, occurrences at most 2 days long). */
	for (int64_t d = ld - 4; d <= ld + 3; d++)
		if (occurrence(w, tz, d, &s, &e) && s <= now && now < e && e > end) {
			open = true;
			end = e;
			day = d;
		}
	if (!open)
		return false;
	for (int64_t d = day + 1; w->every != CW_ONCE && d <= day + CW_MERGE_DAYS; d++) {
		if (!occurrence(w, tz, d, &s, &e) || s > end)
			break;
		end = e > end ? e : end;
	}
	if (ends_at != NULL)
		*ends_at = end;
	return true;
}

int64_t cw_next_open(const cw_t *w, const tz_t *tz, int64_t after)
{
	int64_t s, e, best = -1, best_day = 0;
	if (!in_range(after))
		return -1;
	if (w->every == CW_ONCE)
		return occurrence(w, tz, 0, &s, &e) && s >= after ? s : -1;
	/* No occurrence of a day before ld - 4 starts at or after `after`, and
	 * one of a day 3 or more days after another starts later than it. */
	int64_t ld = local_day(tz, after);
	for (int64_t d = ld - 4; d <= ld + CW_SCAN_DAYS && (best < 0 || d < best_day + 3); d++)
		if (occurrence(w, tz, d, &s, &e) && s >= after && (best < 0 || s < best)) {
			best = s;
			best_day = d;
		}
	return best;
}
