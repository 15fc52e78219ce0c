/* sql_template.c - dynamic role templates, role names, expiry text and
 * definitions (sql_template.h). The check walks the template with a small
 * SQL lexer (quoted strings, E'' strings, quoted identifiers, dollar
 * quotes, line and nested block comments) so that a placeholder is only
 * accepted where SQL expects a bare token. */
#include "core/sql_template.h"
#include "core/civil.h"
#include "core/errbuf.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *text;
	unsigned bit;
} placeholders[] = {
	{"{{name}}", SQL_PH_NAME},
	{"{{password}}", SQL_PH_PASSWORD},
	{"{{expiry}}", SQL_PH_EXPIRY},
};

/* The placeholder at p (len bytes left), or -1. */
static int placeholder_at(const char *p, size_t len)
{
	for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++) {
		size_t n = strlen(placeholders[i].text);
		if (len >= n && memcmp(p, placeholders[i].text, n) == 0)
			return (int)i;
	}
	return -1;
}

static bool ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* A dollar-quote tag at p ("$$" or "$tag$"): its length, or 0. */
static size_t dollar_tag(const char *p, const char *end, const char *start)
{
	if (p > start && ident_char(p[-1]))
		return 0; /* $ inside an identifier, or a positional $1 */
	const char *q = p + 1;
	while (q < end && (isalpha((unsigned char)*q) || *q == '_' || (q > p + 1 && isdigit((unsigned char)*q))))
		q++;
	return q < end && *q == '$' ? (size_t)(q - p + 1) : 0;
}

typedef struct {
	const char *start, *p, *end;
	unsigned used;
	char *err;
	size_t err_len;
} lex_t;

static int lex_fail(lex_t *x, const char *what)
{
	tg_errf(x->err, x->err_len, "%s (at byte %zu)", what, (size_t)(x->p - x->start));
	return -1;
}

/* Skips a quoted run closed by `close` (doubled closes stay inside; with
 * backslashes, a backslash escapes the next byte). */
static int skip_quoted(lex_t *x, char close, bool backslashes, const char *what)
{
	for (x->p++; x->p < x->end; x->p++) {
		if (x->p[0] == '{' && x->p + 1 < x->end && x->p[1] == '{')
			return lex_fail(x, "a placeholder inside a quoted string or identifier (placeholders are quoted "
					   "already: write {{name}}, not '{{name}}')");
		if (backslashes && *x->p == '\\') {
			x->p++; /* an escaped '{' still makes a placeholder's text */
			if (x->p + 1 < x->end && x->p[0] == '{' && x->p[1] == '{')
				return lex_fail(x, "a placeholder inside a quoted string");
		} else if (*x->p == close) {
			if (x->p + 1 < x->end && x->p[1] == close) {
				x->p++;
				continue;
			}
			x->p++;
			return 0;
		}
	}
	return lex_fail(x, what);
}

/* Skips a run that must not hold a placeholder, up to and including the
 * terminator `close` (clen bytes); depth counts nested block comments. */
static int skip_until(lex_t *x, const char *close, size_t clen, const char *open, const char *what)
{
	int depth = 1;
	while (x->p < x->end) {
		if (x->p[0] == '{' && x->p + 1 < x->end && x->p[1] == '{')
			return lex_fail(x, "a placeholder inside a comment or a dollar-quoted body");
		if (open != NULL && (size_t)(x->end - x->p) >= 2 && memcmp(x->p, open, 2) == 0) {
			depth++;
			x->p += 2;
		} else if ((size_t)(x->end - x->p) >= clen && memcmp(x->p, close, clen) == 0) {
			x->p += clen;
			if (--depth == 0)
				return 0;
		} else {
			x->p++;
		}
	}
	if (close[0] == '\n')
		return 0; /* a line comment may end the template */
	return lex_fail(x, what);
}

/* One token in plain SQL. */
static int lex_step(lex_t *x)
{
	char c = *x->p;
	size_t left = (size_t)(x->end - x->p), tag;
	int ph;
	if (c == '{' && (ph = placeholder_at(x->p, left)) >= 0) {
		x->used |= placeholders[ph].bit;
		x->p += strlen(placeholders[ph].text);
		return 0;
	}
	if (c == '{' || c == '}')
		return lex_fail(x, left >= 2 && x->p[1] == c && c == '{'
					   ? "unknown placeholder (only {{name}}, {{password}} and {{expiry}})"
					   : "a lone brace outside quotes (unbalanced braces)");
	if (c == '\'') {
		bool escapes = x->p > x->start && (x->p[-1] == 'E' || x->p[-1] == 'e') &&
			       (x->p - 1 == x->start || !ident_char(x->p[-2]));
		return skip_quoted(x, '\'', escapes, "an unterminated string literal");
	}
	if (c == '"')
		return skip_quoted(x, '"', false, "an unterminated quoted identifier");
	if (c == '-' && left >= 2 && x->p[1] == '-')
		return skip_until(x, "\n", 1, NULL, "");
	if (c == '/' && left >= 2 && x->p[1] == '*') {
		x->p += 2;
		return skip_until(x, "*/", 2, "/*", "an unterminated block comment");
	}
	if (c == '$' && (tag = dollar_tag(x->p, x->end, x->start)) > 0) {
		const char *open_tag = x->p;
		x->p += tag;
		return skip_until(x, open_tag, tag, NULL, "an unterminated dollar-quoted body");
	}
	x->p++;
	return 0;
}

int sql_template_check(const char *tpl, size_t len, unsigned *used, char *err, size_t err_len)
{
	lex_t x = {tpl, tpl, tpl + len, 0, err, err_len};
	if (len == 0 || len > SQL_TEMPLATE_MAX) {
		tg_errf(err, err_len, "a template is 1 to %d bytes", SQL_TEMPLATE_MAX);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tpl[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
			tg_errf(err, err_len, "a template holds no NUL or control character but tab, CR and LF "
					      "(byte %zu)", i);
			return -1;
		}
	}
	while (x.p < x.end)
		if (lex_step(&x) != 0)
			return -1;
	*used = x.used;
	return 0;
}

bool sql_role_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SQL_ROLE_MAX || isdigit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !isdigit((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static bool literal_valid(const char *s)
{
	size_t n = strlen(s);
	if (n > SQL_LITERAL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '\\')
			return false;
	return true;
}

/* Appends v quoted by q (doubling q inside) at out. */
static char *put_quoted(char *out, const char *v, char q)
{
	*out++ = q;
	for (; *v; v++) {
		if (*v == q)
			*out++ = q;
		*out++ = *v;
	}
	*out++ = q;
	return out;
}

char *sql_template_render(const char *tpl, const sql_values_t *v, char *err, size_t err_len)
{
	unsigned used = 0;
	size_t len = strlen(tpl);
	if (sql_template_check(tpl, len, &used, err, err_len) != 0)
		return NULL;
	const char *vals[] = {v->name, v->password, v->expiry};
	for (size_t i = 0; i < 3; i++) {
		if (!(used & placeholders[i].bit))
			continue;
		if (vals[i] == NULL || (i == 0 ? !sql_role_name_valid(vals[i]) : !literal_valid(vals[i]))) {
			tg_errf(err, err_len, "no valid value for %s", placeholders[i].text);
			return NULL;
		}
	}
	/* each placeholder at least 8 bytes, each value quoted at most 2 * n + 2 */
	size_t cap = len / 8 * (2 * SQL_LITERAL_MAX + 2) + len + 1;
	char *out = malloc(cap), *o = out;
	if (out == NULL) {
		tg_errf(err, err_len, "out of memory");
		return NULL;
	}
	lex_t x = {tpl, tpl, tpl + len, 0, err, err_len};
	while (x.p < x.end) {
		const char *from = x.p;
		int ph = *x.p == '{' ? placeholder_at(x.p, (size_t)(x.end - x.p)) : -1;
		(void)lex_step(&x); /* checked above */
		if (ph >= 0) {
			o = put_quoted(o, vals[ph], ph == 0 ? '"' : '\'');
		} else {
			memcpy(o, from, (size_t)(x.p - from));
			o += x.p - from;
		}
	}
	*o = '\0';
	return out;
}

void sql_role_name(const char *secret, const uint8_t rnd[SQL_ROLE_RANDOM], char out[SQL_ROLE_MAX + 1])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out + 3;
	memcpy(out, "tg_", 3);
	for (size_t i = 0; secret[i] != '\0' && i < SQL_ROLE_SECRET_PART; i++) {
		char c = (char)tolower((unsigned char)secret[i]);
		*o++ = (c >= 'a' && c <= 'z') || isdigit((unsigned char)c) ? c : '_';
	}
	*o++ = '_';
	for (size_t i = 0; i < SQL_ROLE_RANDOM; i++) {
		*o++ = hex[rnd[i] >> 4];
		*o++ = hex[rnd[i] & 15];
	}
	*o = '\0';
}

void sql_expiry_text(int64_t t, char out[SQL_EXPIRY_TEXT])
{
	int64_t days = civil_floor_div(t, 86400), secs = t - days * 86400, y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	snprintf(out, SQL_EXPIRY_TEXT, "%04lld-%02d-%02d %02d:%02d:%02d+00", (long long)y, m, d, (int)(secs / 3600),
		 (int)(secs / 60 % 60), (int)(secs % 60));
}

/* ---- definitions ---- */

/* A template member: checked, with the placeholders it must and must not use. */
static int template_member(const json_t *doc, const char *member, unsigned need, unsigned refuse, char **out,
			   char *err, size_t err_len)
{
	const json_t *v = json_object_get(doc, member);
	unsigned used = 0;
	char why[200];
	*out = NULL;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) || sql_template_check(json_string_value(v), json_string_length(v), &used, why,
						     sizeof why) != 0) {
		tg_errf(err, err_len, "%s: %s", member, json_is_string(v) ? why : "must be a string");
		return -1;
	}
	if ((used & need) != need || (used & refuse) != 0) {
		tg_errf(err, err_len, "%s must use %s%s", member,
			need & SQL_PH_PASSWORD ? "{{name}} and {{password}}" : "{{name}}",
			refuse ? " and not {{password}} or {{expiry}} (a revocation has neither)" : "");
		return -1;
	}
	*out = strdup(json_string_value(v));
	if (*out == NULL) {
		tg_errf(err, err_len, "out of memory");
		return -1;
	}
	return 0;
}

static int ttl_member(const json_t *doc, const char *member, int64_t hi, int64_t dflt, int64_t *out, char *err,
		      size_t err_len)
{
	const json_t *v = json_object_get(doc, member);
	*out = dflt;
	if (v == NULL && dflt > 0)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > hi) {
		tg_errf(err, err_len, "%s must be whole seconds from 1 to %lld", member, (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* The connection members as a postgres rotation target (role set to a
 * placeholder the lease code never uses). */
static int connection_parse(const json_t *doc, rot_target_t *conn, char *err, size_t err_len)
{
	static const char *const mine[] = {"creation", "revocation", "max_ttl", "default_ttl"};
	if (json_object_get(doc, "role") != NULL) {
		tg_errf(err, err_len, "unknown member \"role\" (a dynamic role's name is generated per lease)");
		return -1;
	}
	const json_t *drv = json_object_get(doc, "driver");
	if (!json_is_string(drv) || strcmp(json_string_value(drv), "postgres") != 0) {
		tg_errf(err, err_len, "driver must be \"postgres\" (the only dynamic credential driver)");
		return -1;
	}
	json_t *copy = json_copy((json_t *)doc);
	if (copy == NULL) {
		tg_errf(err, err_len, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		json_object_del(copy, mine[i]);
	json_object_set_new(copy, "role", json_string("tollgate_admin"));
	int rc = rotation_target_parse(copy, conn, err, err_len);
	json_decref(copy);
	return rc;
}

int dynamic_role_parse(const json_t *doc, dyn_role_t *out, char *err, size_t err_len)
{
	memset(out, 0, sizeof *out);
	if (!json_is_object(doc)) {
		tg_errf(err, err_len, "a dynamic role definition is a JSON object");
		return -1;
	}
	if (connection_parse(doc, &out->conn, err, err_len) != 0)
		return -1;
	if (json_object_get(doc, "creation") == NULL) {
		tg_errf(err, err_len, "creation (the template that creates a lease's role) is required");
		goto fail;
	}
	if (template_member(doc, "creation", SQL_PH_NAME | SQL_PH_PASSWORD, 0, &out->creation, err, err_len) != 0 ||
	    template_member(doc, "revocation", SQL_PH_NAME, SQL_PH_PASSWORD | SQL_PH_EXPIRY, &out->revocation, err,
			    err_len) != 0 ||
	    ttl_member(doc, "max_ttl", DYN_MAX_TTL, 0, &out->max_ttl, err, err_len) != 0 ||
	    ttl_member(doc, "default_ttl", out->max_ttl,
		       out->max_ttl < DYN_DEFAULT_TTL ? out->max_ttl : DYN_DEFAULT_TTL, &out->default_ttl, err,
		       err_len) != 0)
		goto fail;
	return 0;
fail:
	dynamic_role_free(out);
	return -1;
}

void dynamic_role_free(dyn_role_t *d)
{
	rotation_target_free(&d->conn);
	free(d->creation);
	free(d->revocation);
	d->creation = d->revocation = NULL;
}

int64_t dynamic_lease_ttl(const dyn_role_t *d, int64_t requested, int64_t now, int64_t token_exp, int64_t grant_end)
{
	int64_t ttl = requested > 0 ? requested : d->default_ttl;
	if (ttl > d->max_ttl)
		ttl = d->max_ttl;
	if (token_exp - now < ttl)
		ttl = token_exp - now;
	if (grant_end > 0 && grant_end - now < ttl)
		ttl = grant_end - now;
	return ttl > 0 ? ttl : 0;
}
