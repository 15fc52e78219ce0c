/* media_type.h - matching a Content-Type header value against the one media
 * type an endpoint takes (RFC 9110 §8.3): type/subtype, case-insensitive,
 * then parameters; a charset parameter must name UTF-8, and a value with a
 * control character (NUL included) matches nothing. Also the token syntax
 * it is built on, which methods and header names share. Pure. */
#ifndef TG_MEDIA_TYPE_H
#define TG_MEDIA_TYPE_H
#include <stdbool.h>
#include <stddef.h>

/* True when the len bytes of value (not NUL-terminated; may contain NUL)
 * are type with well-formed parameters, and charset, if given, is utf-8. */
bool media_type_is(const char *value, size_t len, const char *type);

/* RFC 9110 §5.6.2 tchar: the characters of a token (a method, a header
 * name, an auth-scheme). */
bool http_is_tchar(unsigned char c);
/* True when the len bytes of s are a token (1 or more tchar). */
bool http_token_valid(const char *s, size_t len);

#endif
