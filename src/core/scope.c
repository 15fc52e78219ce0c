/* scope.c - parse and validate ACTION@Type:id scope tokens. */
#include "core/scope.h"
#include <stdlib.h>
#include <string.h>

static bool is_action_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

static bool is_type_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

/* RFC 6749 §3.3 scope-token characters, minus the separators we use. */
static bool is_id_char(char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
}

bool scope_action_valid(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_action_char(s[i]))
		i++;
	return len > 0 && i == len;
}

bool scope_type_valid(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_type_char(s[i], i == 0))
		i++;
	return len > 0 && i == len;
}

bool scope_id_valid(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && is_id_char(s[i]))
		i++;
	return len > 0 && i == len;
}

bool scope_resource_valid(const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	if (colon == NULL)
		return false;
	size_t tl = (size_t)(colon - s);
	return scope_type_valid(s, tl) && scope_id_valid(colon + 1, len - tl - 1);
}

/* Actions hold no '@' and types no ':', so the first of each splits. */
bool scope_token_valid(const char *t, size_t len)
{
	if (len == 0 || len > TG_MAX_SCOPE_TOKEN_LEN)
		return false;
	const char *at = memchr(t, '@', len);
	if (at == NULL)
		return false;
	size_t al = (size_t)(at - t);
	return scope_action_valid(t, al) && scope_resource_valid(at + 1, len - al - 1);
}

bool scope_contains(const scope_set_t *s, const char *tok)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->tok[i], tok) == 0)
			return true;
	return false;
}

int scope_parse(const char *s, scope_set_t *out, const char **why)
{
	size_t len = strlen(s);
	memset(out, 0, sizeof *out);
	if (len == 0) {
		*why = "scope is required: name each ACTION@Type:id you need";
		return -1;
	}
	if (len > TG_MAX_SCOPE_LEN) {
		*why = "scope is too long";
		return -1;
	}
	if ((out->buf = strdup(s)) == NULL) {
		*why = "out of memory";
		return -1;
	}
	char *p = out->buf;
	while (*p != '\0') {
		size_t n = strcspn(p, " ");
		if (n == 0) {
			*why = "scope tokens must be separated by single spaces";
			goto fail;
		}
		if (!scope_token_valid(p, n)) {
			*why = "scope token is not ACTION@Type:id (e.g. modbus.read@Device:plc-7)";
			goto fail;
		}
		char *next = p[n] == ' ' ? p + n + 1 : p + n;
		if (p[n] == ' ' && *next == '\0') {
			*why = "scope ends with a space";
			goto fail;
		}
		p[n] = '\0';
		if (!scope_contains(out, p)) {
			if (out->n == TG_MAX_SCOPE_TOKENS) {
				*why = "too many scope tokens";
				goto fail;
			}
			out->tok[out->n++] = p;
		}
		p = next;
	}
	return 0;
fail:
	scope_free(out);
	return -1;
}

void scope_free(scope_set_t *s)
{
	free(s->buf);
	memset(s, 0, sizeof *s);
}

char *scope_join(const scope_set_t *s)
{
	size_t len = 1;
	for (size_t i = 0; i < s->n; i++)
		len += strlen(s->tok[i]) + 1;
	char *out = malloc(len), *p = out;
	if (out == NULL)
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < s->n; i++) {
		size_t n = strlen(s->tok[i]);
		if (i > 0)
			*p++ = ' ';
		memcpy(p, s->tok[i], n);
		p += n;
		*p = '\0';
	}
	return out;
}
