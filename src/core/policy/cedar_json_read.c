/* cedar_json_read.c - JSON text into jansson values, the way Cedar's JSON
 * formats need it read.
 *
 * Why not json_loadb(): Cedar strings and record keys may hold U+0000, and
 * jansson's loader refuses a NUL inside an object key (its objects store
 * keys with their length since 2.14, only the loader says no). The
 * reference's conformance data has such keys. So this file is a small
 * strict RFC 8259 reader that builds the same json_t values with
 * json_object_setn_new_nocheck(), and also does what Cedar's serde reader
 * does on the way: duplicate object keys are refused (at any depth), lone
 * UTF-16 surrogates in \u escapes are refused, and the text must be UTF-8.
 *
 * Numbers: an integer without fraction or exponent that fits in 64 bits
 * becomes a json_integer; every other number becomes a json_real, which
 * the Cedar loaders then refuse with the place it occurred (Cedar has no
 * fractions).
 *
 * Cost: one pass over the text; recursion depth at most POL_JSON_MAX_DEPTH
 * (the value bound of limits.h times four: every escape of a value adds
 * JSON levels that are not value levels). */
#include "core/policy/cedar_json.h"
#include "core/b64url.h"
#include "core/limits.h"
#include "core/policy/text.h"
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POL_JSON_MAX_DEPTH (4 * TG_MAX_VALUE_DEPTH)

typedef struct {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errsize;
	int failed;
	/* A reusable buffer for decoded strings. */
	char *buf;
	size_t cap;
} reader_t;

/* Line and column (1-based, columns in characters) of byte offset off. */
static void where(const reader_t *r, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;
	for (size_t i = 0; i < off && i < r->len; i++) {
		unsigned char ch = (unsigned char)r->s[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

__attribute__((format(printf, 3, 4))) static void fail_at(reader_t *r, size_t off, const char *fmt,
							   ...)
{
	if (r->failed)
		return;
	r->failed = 1;
	if (r->err == NULL || r->errsize == 0)
		return;
	unsigned line, col;
	where(r, off, &line, &col);
	int n = snprintf(r->err, r->errsize, "line %u, column %u: ", line, col);
	if (n < 0 || (size_t)n >= r->errsize)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errsize - (size_t)n, fmt, ap);
	va_end(ap);
}

static void skip_ws(reader_t *r)
{
	while (r->pos < r->len) {
		char c = r->s[r->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		r->pos++;
	}
}

static int peek(const reader_t *r)
{
	return r->pos < r->len ? (unsigned char)r->s[r->pos] : -1;
}

static int grow(reader_t *r, size_t need)
{
	if (need <= r->cap)
		return 0;
	size_t cap = r->cap ? r->cap : 64;
	while (cap < need)
		cap *= 2;
	char *b = realloc(r->buf, cap);
	if (b == NULL) {
		fail_at(r, r->pos, "out of memory");
		return -1;
	}
	r->buf = b;
	r->cap = cap;
	return 0;
}

static int hex4(const reader_t *r, size_t at, uint32_t *out)
{
	uint32_t v = 0;
	if (r->len - at < 4)
		return -1;
	for (size_t k = 0; k < 4; k++) {
		int d = hex_digit(r->s[at + k]);
		if (d < 0)
			return -1;
		v = (v << 4) | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	unsigned char *u = (unsigned char *)o;
	if (cp < 0x80) {
		u[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (unsigned char)(0xc0 | (cp >> 6));
		u[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (unsigned char)(0xe0 | (cp >> 12));
		u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (unsigned char)(0xf0 | (cp >> 18));
	u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	u[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string starting at the opening quote, decoded into r->buf[0..*n).
 * The decoded form is never longer than the raw one. */
static int read_string(reader_t *r, size_t *n)
{
	size_t start = r->pos++, o = 0;
	size_t end = r->pos;
	/* Find the closing quote first to size the buffer. */
	while (end < r->len && r->s[end] != '"') {
		if (r->s[end] == '\\')
			end++;
		end++;
	}
	if (end >= r->len) {
		fail_at(r, start, "unterminated string");
		return -1;
	}
	if (grow(r, end - r->pos + 1) < 0)
		return -1;
	while (r->pos < end) {
		unsigned char c = (unsigned char)r->s[r->pos];
		if (c < 0x20) {
			fail_at(r, r->pos, "control character U+%04X in a string must be escaped", c);
			return -1;
		}
		if (c != '\\') {
			r->buf[o++] = (char)c;
			r->pos++;
			continue;
		}
		size_t esc = r->pos++;
		char e = r->s[r->pos++];
		uint32_t cp;
		switch (e) {
		case '"': r->buf[o++] = '"'; break;
		case '\\': r->buf[o++] = '\\'; break;
		case '/': r->buf[o++] = '/'; break;
		case 'b': r->buf[o++] = '\b'; break;
		case 'f': r->buf[o++] = '\f'; break;
		case 'n': r->buf[o++] = '\n'; break;
		case 'r': r->buf[o++] = '\r'; break;
		case 't': r->buf[o++] = '\t'; break;
		case 'u':
			if (hex4(r, r->pos, &cp) < 0) {
				fail_at(r, esc, "\\u takes four hex digits");
				return -1;
			}
			r->pos += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff) {
				fail_at(r, esc, "lone low surrogate \\u%04X", cp);
				return -1;
			}
			if (cp >= 0xd800 && cp <= 0xdbff) {
				uint32_t lo;
				if (r->pos + 6 > end || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u' ||
				    hex4(r, r->pos + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff) {
					fail_at(r, esc, "lone high surrogate \\u%04X", cp);
					return -1;
				}
				r->pos += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o += put_utf8(r->buf + o, cp);
			break;
		default:
			fail_at(r, esc, "bad escape in a string: JSON knows \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u");
			return -1;
		}
	}
	r->pos = end + 1;
	r->buf[o] = '\0';
	*n = o;
	return 0;
}

static json_t *read_number(reader_t *r)
{
	size_t start = r->pos;
	int integral = 1;
	if (peek(r) == '-')
		r->pos++;
	if (peek(r) == '0') {
		r->pos++;
	} else if (peek(r) >= '1' && peek(r) <= '9') {
		while (peek(r) >= '0' && peek(r) <= '9')
			r->pos++;
	} else {
		fail_at(r, start, "malformed number");
		return NULL;
	}
	if (peek(r) == '.') {
		integral = 0;
		r->pos++;
		if (!(peek(r) >= '0' && peek(r) <= '9')) {
			fail_at(r, start, "malformed number: digits must follow '.'");
			return NULL;
		}
		while (peek(r) >= '0' && peek(r) <= '9')
			r->pos++;
	}
	if (peek(r) == 'e' || peek(r) == 'E') {
		integral = 0;
		r->pos++;
		if (peek(r) == '+' || peek(r) == '-')
			r->pos++;
		if (!(peek(r) >= '0' && peek(r) <= '9')) {
			fail_at(r, start, "malformed number: digits must follow the exponent");
			return NULL;
		}
		while (peek(r) >= '0' && peek(r) <= '9')
			r->pos++;
	}
	size_t n = r->pos - start;
	char tmp[64];
	char *text = n < sizeof tmp ? tmp : malloc(n + 1);
	if (text == NULL) {
		fail_at(r, start, "out of memory");
		return NULL;
	}
	memcpy(text, r->s + start, n);
	text[n] = '\0';
	json_t *v = NULL;
	if (integral) {
		errno = 0;
		long long l = strtoll(text, NULL, 10);
		if (errno == 0)
			v = json_integer((json_int_t)l);
		else
			integral = 0;
	}
	if (!integral) {
		double d = strtod(text, NULL);
		/* jansson refuses infinities; such a number is out of any range. */
		v = json_real(d);
		if (v == NULL)
			v = json_real(d > 0 ? 1e308 : -1e308);
	}
	if (text != tmp)
		free(text);
	if (v == NULL)
		fail_at(r, start, "out of memory");
	return v;
}

static int literal(reader_t *r, const char *word)
{
	size_t n = strlen(word);
	if (r->len - r->pos < n || memcmp(r->s + r->pos, word, n) != 0)
		return -1;
	r->pos += n;
	return 0;
}

static json_t *read_value(reader_t *r, unsigned depth);

static json_t *read_array(reader_t *r, unsigned depth)
{
	json_t *a = json_array();
	if (a == NULL) {
		fail_at(r, r->pos, "out of memory");
		return NULL;
	}
	r->pos++; /* [ */
	skip_ws(r);
	if (peek(r) == ']') {
		r->pos++;
		return a;
	}
	for (;;) {
		json_t *v = read_value(r, depth + 1);
		if (v == NULL || json_array_append_new(a, v) < 0) {
			if (v != NULL)
				fail_at(r, r->pos, "out of memory");
			json_decref(a);
			return NULL;
		}
		skip_ws(r);
		if (peek(r) == ',') {
			r->pos++;
			continue;
		}
		if (peek(r) == ']') {
			r->pos++;
			return a;
		}
		fail_at(r, r->pos, "expected ',' or ']' in an array");
		json_decref(a);
		return NULL;
	}
}

static json_t *read_object(reader_t *r, unsigned depth)
{
	json_t *o = json_object();
	if (o == NULL) {
		fail_at(r, r->pos, "out of memory");
		return NULL;
	}
	r->pos++; /* { */
	skip_ws(r);
	if (peek(r) == '}') {
		r->pos++;
		return o;
	}
	for (;;) {
		size_t at = r->pos, klen;
		if (peek(r) != '"') {
			fail_at(r, r->pos, "expected a string key in an object");
			goto bad;
		}
		if (read_string(r, &klen) < 0)
			goto bad;
		if (json_object_getn(o, r->buf, klen) != NULL) {
			fail_at(r, at, "duplicate key \"%.*s\"", (int)(klen > 40 ? 40 : klen), r->buf);
			goto bad;
		}
		/* The key lives in r->buf, which the value may reuse: copy it. */
		char small[64];
		char *key = klen < sizeof small ? small : malloc(klen + 1);
		if (key == NULL) {
			fail_at(r, at, "out of memory");
			goto bad;
		}
		memcpy(key, r->buf, klen + 1);
		skip_ws(r);
		if (peek(r) != ':') {
			fail_at(r, r->pos, "expected ':' after an object key");
			if (key != small)
				free(key);
			goto bad;
		}
		r->pos++;
		json_t *v = read_value(r, depth + 1);
		int rc = v == NULL ? -1 : json_object_setn_new_nocheck(o, key, klen, v);
		if (key != small)
			free(key);
		if (rc < 0) {
			if (v != NULL)
				fail_at(r, at, "out of memory");
			goto bad;
		}
		skip_ws(r);
		if (peek(r) == ',') {
			r->pos++;
			skip_ws(r);
			continue;
		}
		if (peek(r) == '}') {
			r->pos++;
			return o;
		}
		fail_at(r, r->pos, "expected ',' or '}' in an object");
		goto bad;
	}
bad:
	json_decref(o);
	return NULL;
}

static json_t *read_value(reader_t *r, unsigned depth)
{
	skip_ws(r);
	if (depth > POL_JSON_MAX_DEPTH) {
		fail_at(r, r->pos, "nested deeper than %d levels", POL_JSON_MAX_DEPTH);
		return NULL;
	}
	json_t *v = NULL;
	size_t n;
	switch (peek(r)) {
	case '{':
		return read_object(r, depth);
	case '[':
		return read_array(r, depth);
	case '"':
		if (read_string(r, &n) < 0)
			return NULL;
		v = json_stringn_nocheck(r->buf, n);
		break;
	case 't':
		if (literal(r, "true") == 0)
			return json_true();
		break;
	case 'f':
		if (literal(r, "false") == 0)
			return json_false();
		break;
	case 'n':
		if (literal(r, "null") == 0)
			return json_null();
		break;
	case -1:
		fail_at(r, r->pos, "unexpected end of text");
		return NULL;
	default:
		if (peek(r) == '-' || (peek(r) >= '0' && peek(r) <= '9'))
			return read_number(r);
		break;
	}
	if (v == NULL) {
		if (peek(r) == '"')
			fail_at(r, r->pos, "out of memory");
		else
			fail_at(r, r->pos, "expected a JSON value");
	}
	return v;
}

json_t *pol_json_parse(const char *text, size_t len, char *err, size_t errsize)
{
	reader_t r = {.s = text, .len = len, .err = err, .errsize = errsize};
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	size_t bad = pol_utf8_check(text, len);
	if (bad < len) {
		fail_at(&r, bad, "the text is not valid UTF-8");
		return NULL;
	}
	json_t *v = read_value(&r, 1);
	if (v != NULL) {
		skip_ws(&r);
		if (r.pos < r.len) {
			fail_at(&r, r.pos, "unexpected text after the JSON value");
			json_decref(v);
			v = NULL;
		}
	}
	free(r.buf);
	return v;
}
