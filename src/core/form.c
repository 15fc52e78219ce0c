/* form.c - strict, bounded form-urlencoded parser. */
#include "core/form.h"
#include "core/b64url.h"
#include <stdlib.h>
#include <string.h>

/* Decodes s[0..n) into a new string; NULL on a bad escape or a NUL byte. */
static char *decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			int hi = i + 2 < n ? hex_digit(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_digit(s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0') {
			free(out);
			return NULL;
		}
		*o++ = c;
	}
	*o = '\0';
	return out;
}

const char *form_get(const form_t *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->key[i], key) == 0)
			return f->value[i];
	return NULL;
}

static const char *add_field(form_t *out, const char *p, size_t n)
{
	const char *eq = memchr(p, '=', n);
	size_t kl = eq ? (size_t)(eq - p) : n;
	size_t vl = eq ? n - kl - 1 : 0;
	if (kl == 0)
		return "form parameter with an empty name";
	if (vl > TG_MAX_FORM_VALUE || kl > 64)
		return "form parameter is too long";
	if (out->n == TG_MAX_FORM_FIELDS)
		return "too many form parameters";
	char *k = decode(p, kl), *v = decode(eq ? eq + 1 : p + n, vl);
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return "form body has a bad percent-encoding or a NUL byte";
	}
	if (form_get(out, k) != NULL) {
		free(k);
		free(v);
		return "form parameter sent more than once";
	}
	out->key[out->n] = k;
	out->value[out->n++] = v;
	return NULL;
}

int form_parse(const char *body, size_t len, form_t *out, const char **why)
{
	size_t i = 0;
	memset(out, 0, sizeof *out);
	while (i < len) {
		const char *amp = memchr(body + i, '&', len - i);
		size_t n = amp ? (size_t)(amp - (body + i)) : len - i;
		if (n > 0 && (*why = add_field(out, body + i, n)) != NULL) {
			form_free(out);
			return -1;
		}
		i += n + 1;
	}
	return 0;
}

void form_free(form_t *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->key[i]);
		free(f->value[i]);
	}
	memset(f, 0, sizeof *f);
}
