/* canonical_json.c - deterministic JSON serialization for hashing. */
#include "core/canonical_json.h"
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	char *buf;
	size_t len, cap;
	bool failed;
} out_t;

static void put(out_t *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->cap + n + 1) * 2;
		char *g = realloc(o->buf, cap);
		if (g == NULL) {
			o->failed = true;
			return;
		}
		o->buf = g;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void put_string(out_t *o, const char *s, size_t n)
{
	char esc[8];
	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *short_esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
				      : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
				      : c == '\t' ? "\\t" : NULL;
		if (short_esc != NULL) {
			put(o, short_esc, 2);
		} else if (c < 0x20) {
			snprintf(esc, sizeof esc, "\\u%04x", c);
			put(o, esc, 6);
		} else {
			put(o, (const char *)&s[i], 1);
		}
	}
	put(o, "\"", 1);
}

/* Members with their key lengths: a key may hold U+0000 (json_object_setn),
 * so neither strlen() nor a lookup by C string finds it again. */
typedef struct {
	const char *key;
	size_t len;
	const json_t *value;
} member_t;

/* Code point order = UTF-8 byte order; a prefix sorts first. */
static int by_key(const void *a, const void *b)
{
	const member_t *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

static void put_value(out_t *o, const json_t *v);

static void put_object(out_t *o, const json_t *v)
{
	size_t n = json_object_size(v), i = 0, len;
	member_t *m = malloc((n ? n : 1) * sizeof *m);
	const char *k;
	json_t *item;
	if (m == NULL) {
		o->failed = true;
		return;
	}
	json_object_keylen_foreach((json_t *)v, k, len, item)
		m[i++] = (member_t){k, len, item};
	qsort(m, n, sizeof *m, by_key);
	put(o, "{", 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			put(o, ",", 1);
		put_string(o, m[i].key, m[i].len);
		put(o, ":", 1);
		put_value(o, m[i].value);
	}
	put(o, "}", 1);
	free(m);
}

static void put_value(out_t *o, const json_t *v)
{
	char num[32];
	size_t i;
	json_t *item;
	switch (json_typeof(v)) {
	case JSON_OBJECT: put_object(o, v); break;
	case JSON_ARRAY:
		put(o, "[", 1);
		json_array_foreach(v, i, item) {
			if (i > 0)
				put(o, ",", 1);
			put_value(o, item);
		}
		put(o, "]", 1);
		break;
	case JSON_STRING: put_string(o, json_string_value(v), json_string_length(v)); break;
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		put(o, num, strlen(num));
		break;
	case JSON_TRUE: put(o, "true", 4); break;
	case JSON_FALSE: put(o, "false", 5); break;
	case JSON_NULL: put(o, "null", 4); break;
	default: o->failed = true; break; /* JSON_REAL */
	}
}

char *canonical_json(const json_t *v)
{
	out_t o = {0};
	if (v == NULL)
		return NULL;
	put_value(&o, v);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
