/* b64url.c - base64url and hex codecs (strict, via libsodium). */
#include "core/b64url.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* libsodium 1.0.18 decodes every byte >= 0x80 as '_' (its character
 * lookup takes a signed char), so the alphabet is checked here first:
 * otherwise one token would have many spellings. */
static int is_b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
	const char *end = NULL;
	size_t n = 0;
	if (in_len % 4 == 1)
		return -1;
	for (size_t i = 0; i < in_len; i++)
		if (!is_b64url_char((unsigned char)in[i]))
			return -1;
	if (sodium_base642bin(out, out_cap, in, in_len, NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	if (end != in + in_len)
		return -1;
	*out_len = n;
	return 0;
}

size_t b64url_encoded_len(size_t len)
{
	return sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1;
}

void b64url_encode_to(const uint8_t *in, size_t len, char *out)
{
	sodium_bin2base64(out, b64url_encoded_len(len) + 1, in, len,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

char *b64url_encode(const uint8_t *in, size_t len)
{
	char *out = malloc(b64url_encoded_len(len) + 1);
	if (out != NULL)
		b64url_encode_to(in, len, out);
	return out;
}

void hex_encode_to(const uint8_t *in, size_t len, char *out)
{
	sodium_bin2hex(out, 2 * len + 1, in, len);
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_decode(const char *in, uint8_t *out, size_t out_len)
{
	size_t n = 0;
	const char *end = NULL;
	if (strlen(in) != 2 * out_len)
		return -1;
	if (sodium_hex2bin(out, out_len, in, 2 * out_len, NULL, &n, &end) != 0 || n != out_len)
		return -1;
	return 0;
}
