/* secret.c - secret names, durations and the metadata document (secret.h). */
#include "core/secret.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const vstate_names[SECRET_V_COUNT] = {"current", "previous", "pending", "retired", "failed"};

const char *secret_vstate_name(secret_vstate_t s)
{
	return s < SECRET_V_COUNT ? vstate_names[s] : "unknown";
}

int secret_vstate_parse(const char *name, secret_vstate_t *out)
{
	for (int i = 0; i < SECRET_V_COUNT; i++)
		if (name != NULL && strcmp(name, vstate_names[i]) == 0) {
			*out = (secret_vstate_t)i;
			return 0;
		}
	return -1;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

bool secret_name_valid(const char *name)
{
	size_t len = name ? strnlen(name, SECRET_MAX_NAME + 1) : 0;
	if (len == 0 || len > SECRET_MAX_NAME || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char(name[i]))
			return false;
	return true;
}

int secret_duration_parse(const char *s, int64_t *out)
{
	static const char units[] = "dhms";
	static const int64_t scale[] = {86400, 3600, 60, 1};
	size_t len = s ? strlen(s) : 0, next = 0;
	int64_t total = 0;
	if (len == 0 || len > 32)
		return -1;
	while (*s != '\0') {
		int64_t n = 0;
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++) {
			if (n > 1000000000000LL)
				return -1;
			n = n * 10 + (*s - '0');
		}
		if (*s == '\0' && next == 0) { /* bare seconds */
			total = n;
			break;
		}
		const char *u = *s ? strchr(units + next, *s) : NULL;
		if (u == NULL)
			return -1;
		size_t i = (size_t)(u - units);
		total += n * scale[i];
		if (total > 100000000000000LL)
			return -1;
		next = i + 1;
		s++;
	}
	*out = total;
	return 0;
}

/* Text a person wrote: 1..max bytes, no control characters. */
static bool text_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0))
			return false;
	}
	return true;
}

__attribute__((format(printf, 3, 4)))
static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static int copy_text(json_t *out, const json_t *doc, const char *key, size_t max, char *why, size_t len)
{
	const json_t *v = json_object_get(doc, key);
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || !text_ok(json_string_value(v), json_string_length(v), max))
		return refuse(why, len, "\"%s\" must be a string of 1 to %zu bytes without control characters", key,
			      max);
	json_object_set(out, key, (json_t *)v);
	return 0;
}

static int copy_consumers(json_t *out, const json_t *doc, char *why, size_t len)
{
	const json_t *v = json_object_get(doc, "consumers");
	size_t i;
	const json_t *c;
	if (v == NULL)
		return 0;
	if (!json_is_array(v) || json_array_size(v) > SECRET_MAX_CONSUMERS)
		return refuse(why, len, "\"consumers\" must be an array of at most %d identity ids", SECRET_MAX_CONSUMERS);
	json_t *list = json_array();
	json_object_set_new(out, "consumers", list);
	json_array_foreach(v, i, c) {
		if (!json_is_string(c) || !text_ok(json_string_value(c), json_string_length(c), SECRET_MAX_META_TEXT))
			return refuse(why, len, "\"consumers\"[%zu] must be a string of 1 to %d bytes", i,
				      SECRET_MAX_META_TEXT);
		for (size_t j = 0; j < json_array_size(list); j++)
			if (json_equal(json_array_get(list, j), c))
				return refuse(why, len, "\"consumers\" names \"%.64s\" twice", json_string_value(c));
		json_array_append(list, (json_t *)c);
	}
	return 0;
}

/* A duration member: seconds or a string like "30d", in [lo, hi]. */
static int duration_member(const json_t *doc, const char *key, int64_t lo, int64_t hi, int64_t *out, char *why,
			   size_t len)
{
	const json_t *v = json_object_get(doc, key);
	int64_t d = -1;
	if (json_is_integer(v))
		d = json_integer_value(v);
	else if (!json_is_string(v) || secret_duration_parse(json_string_value(v), &d) != 0)
		d = -1;
	if (d < lo || d > hi)
		return refuse(why, len, "\"rotation\".\"%s\" must be %lld to %lld seconds, or a string like \"30d\" "
				       "or \"1d12h\" (units d, h, m, s)", key, (long long)lo, (long long)hi);
	*out = d;
	return 0;
}

static bool only_members(const json_t *doc, const char *const *known, const char **unknown)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)doc, k, v) {
		const char *const *p = known;
		while (*p != NULL && strcmp(*p, k) != 0)
			p++;
		if (*p == NULL) {
			*unknown = k;
			return false;
		}
	}
	return true;
}

static int copy_rotation(json_t *out, const json_t *doc, char *why, size_t len)
{
	static const char *const known[] = {"rotate_every", "grace", "window", NULL};
	const json_t *v = json_object_get(doc, "rotation");
	const char *unknown = NULL;
	int64_t every = 0, grace = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return refuse(why, len, "%s", "\"rotation\" must be an object {\"rotate_every\", \"grace\", \"window\"}");
	if (!only_members(v, known, &unknown))
		return refuse(why, len, "unknown member \"rotation\".\"%.64s\" (rotate_every, grace, window)", unknown);
	if (duration_member(v, "rotate_every", SECRET_MIN_ROTATE, SECRET_MAX_DURATION, &every, why, len) != 0)
		return -1;
	if (json_object_get(v, "grace") != NULL &&
	    duration_member(v, "grace", 0, every, &grace, why, len) != 0)
		return -1;
	json_t *rot = json_pack("{s:I, s:I}", "rotate_every", (json_int_t)every, "grace", (json_int_t)grace);
	json_object_set_new(out, "rotation", rot);
	return copy_text(rot, v, "window", SECRET_MAX_META_TEXT, why, len);
}

json_t *secret_meta_parse(const json_t *doc, char *why, size_t why_len)
{
	static const char *const known[] = {"owner", "target", "consumers", "description", "rotation", NULL};
	const char *unknown = NULL;
	if (!json_is_object(doc)) {
		refuse(why, why_len, "%s", "\"metadata\" must be an object");
		return NULL;
	}
	if (!only_members(doc, known, &unknown)) {
		refuse(why, why_len, "unknown member \"metadata\".\"%.64s\" (owner, target, consumers, description, "
				     "rotation)", unknown);
		return NULL;
	}
	json_t *out = json_object();
	if (out == NULL || copy_text(out, doc, "owner", SECRET_MAX_META_TEXT, why, why_len) != 0 ||
	    copy_text(out, doc, "target", SECRET_MAX_META_TEXT, why, why_len) != 0 ||
	    copy_text(out, doc, "description", SECRET_MAX_DESCRIPTION, why, why_len) != 0 ||
	    copy_consumers(out, doc, why, why_len) != 0 || copy_rotation(out, doc, why, why_len) != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}

static int64_t rotation_int(const json_t *meta, const char *key)
{
	const json_t *v = json_object_get(json_object_get(meta, "rotation"), key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

int64_t secret_meta_rotate_every(const json_t *meta)
{
	return rotation_int(meta, "rotate_every");
}

int64_t secret_meta_grace(const json_t *meta)
{
	return rotation_int(meta, "grace");
}

int64_t secret_next_due(const json_t *meta, int64_t last_rotated)
{
	int64_t every = secret_meta_rotate_every(meta);
	return every > 0 ? last_rotated + every : 0;
}
