/* media_type.c - Content-Type matching: see media_type.h. */
#include "core/media_type.h"
#include <string.h>
#include <strings.h>

bool http_is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool http_token_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return false;
	return len > 0;
}

static size_t skip_ows(const char *s, size_t i, size_t len)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static size_t token_end(const char *s, size_t i, size_t len)
{
	while (i < len && http_is_tchar((unsigned char)s[i]))
		i++;
	return i;
}

/* A parameter value: a token or a quoted-string. Sets *v and *vlen to its
 * content (quotes stripped, escapes kept) and returns the index after it,
 * or 0 when it is malformed. */
static size_t param_value(const char *s, size_t i, size_t len, const char **v, size_t *vlen)
{
	if (i < len && s[i] == '"') {
		size_t j = i + 1;
		while (j < len && s[j] != '"')
			j += s[j] == '\\' ? 2 : 1;
		if (j >= len)
			return 0;
		*v = s + i + 1;
		*vlen = j - i - 1;
		return j + 1;
	}
	size_t j = token_end(s, i, len);
	*v = s + i;
	*vlen = j - i;
	return j > i ? j : 0;
}

static bool charset_ok(const char *v, size_t n)
{
	return (n == 5 && strncasecmp(v, "utf-8", 5) == 0) || (n == 4 && strncasecmp(v, "utf8", 4) == 0);
}

/* The parameters after the media type, from index i. */
static bool params_ok(const char *s, size_t i, size_t len)
{
	for (;;) {
		i = skip_ows(s, i, len);
		if (i == len)
			return true;
		if (s[i] != ';')
			return false;
		i = skip_ows(s, i + 1, len);
		if (i == len || s[i] == ';')
			continue;
		size_t name = i, name_end = token_end(s, i, len);
		if (name_end == name || name_end == len || s[name_end] != '=')
			return false;
		const char *v = NULL;
		size_t vlen = 0;
		i = param_value(s, name_end + 1, len, &v, &vlen);
		if (i == 0)
			return false;
		if (name_end - name == 7 && strncasecmp(s + name, "charset", 7) == 0 && !charset_ok(v, vlen))
			return false;
	}
}

bool media_type_is(const char *value, size_t len, const char *type)
{
	size_t n = strlen(type);
	if (value == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)value[i] < 0x20 ? value[i] != '\t' : value[i] == 0x7f)
			return false;
	if (len < n || strncasecmp(value, type, n) != 0)
		return false;
	return params_ok(value, n, len);
}
