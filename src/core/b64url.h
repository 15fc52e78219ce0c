/* b64url.h - base64url without padding (RFC 4648 §5, as JOSE uses it) and
 * hex, as thin strict wrappers over libsodium's codecs. */
#ifndef TG_B64URL_H
#define TG_B64URL_H
#include <stddef.h>
#include <stdint.h>

/* Decodes exactly; rejects padding, whitespace, bad characters and non-zero
 * trailing bits. Returns 0 and the decoded length, or -1. */
int b64url_decode(const char *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len)
    __attribute__((warn_unused_result));
/* Returns a malloc'd NUL-terminated string. */
char *b64url_encode(const uint8_t *in, size_t len);
/* Writes into a caller buffer of at least b64url_encoded_len(len)+1 bytes. */
size_t b64url_encoded_len(size_t len);
void b64url_encode_to(const uint8_t *in, size_t len, char *out);
/* Lower-case hex into out (2*len+1 bytes). */
void hex_encode_to(const uint8_t *in, size_t len, char *out);
int hex_decode(const char *in, uint8_t *out, size_t out_len) __attribute__((warn_unused_result));
/* The value of one hex digit (either case), or -1. */
int hex_digit(char c);

#endif
