/* test_util.h - shared helpers for the cmocka unit tests: Ed25519 key pairs,
 * JWS tokens built from JSON objects or raw JSON text (so that tests can
 * craft headers and payloads the library would never emit), and small
 * string surgery on compact tokens. Every helper aborts the test on
 * allocation failure, so tests never need to check their results. */
#ifndef TG_TEST_UTIL_H
#define TG_TEST_UTIL_H
/* cmocka needs these before its own header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/ed25519_key.h"
#include <jansson.h>

/* A fixed "now" for every time-dependent test (2023-11-14T22:13:20Z). */
#define TU_NOW 1700000000LL

/* RFC 8037 Appendix A.1: the Ed25519 example key ("d" and "x" members) and
 * its RFC 7638 thumbprint from Appendix A.3. The thumbprint was also
 * recomputed independently with python3 (cryptography + hashlib):
 *   sha256('{"crv":"Ed25519","kty":"OKP","x":"11qYAYKx...HURo"}'), base64url. */
#define TU_RFC8037_D   "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
#define TU_RFC8037_X   "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
#define TU_RFC8037_JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

typedef struct {
	uint8_t pk[ED25519_PK_LEN];
	uint8_t sk[ED25519_SK_LEN];
	uint8_t seed[ED25519_SEED_LEN];
} tu_key_t;

/* cmocka group setup: initialises libsodium. */
int tu_setup(void **state);

/* A fresh random key pair. */
void tu_key_random(tu_key_t *k);
/* The RFC 8037 example key. */
void tu_key_rfc8037(tu_key_t *k);

/* base64url of a NUL-terminated string (malloc'd). */
char *tu_b64(const char *s);
/* "a.b.c" from three parts (malloc'd). */
char *tu_join3(const char *a, const char *b, const char *c);
/* Signs raw header and payload JSON text exactly as given (no re-encoding),
 * so duplicate keys and odd spacing survive into the token (malloc'd). */
char *tu_sign_text(const char *header_json, const char *payload_json, const uint8_t sk[64]);
/* jws_sign(), then drops both references (malloc'd). */
char *tu_sign(json_t *header, json_t *payload, const uint8_t sk[64]);
/* Copy of part (0 header, 1 payload, 2 signature) of a compact token. */
char *tu_part(const char *compact, int part);
/* Copy of compact token with part (0 header, 1 payload, 2 signature)
 * replaced by the given text (malloc'd). */
char *tu_replace_part(const char *compact, int part, const char *text);
/* Copy of the compact token whose decoded signature has one bit flipped. */
char *tu_flip_sig_bit(const char *compact);
/* obj with key set to value (reference stolen), or removed when value is
 * NULL; returns obj for chaining. */
json_t *tu_with(json_t *obj, const char *key, json_t *value);
/* Parses JSON text that the test knows to be valid. */
json_t *tu_json(const char *text);

/* Fails the test unless why is non-NULL and contains needle. */
#define tu_assert_why(why, needle) tu_assert_why_at((why), (needle), __FILE__, __LINE__)
void tu_assert_why_at(const char *why, const char *needle, const char *file, int line);

/* Where the Cedar conformance data is: $TG_CEDAR_CONFORMANCE, else
 * ../shared/cedar-conformance beside the checkout. */
const char *tu_cedar_conformance_dir(void);

/* A whole file, NUL-terminated, its length in *len (malloc'd), or NULL. */
char *tu_read_file(const char *path, size_t *len);

/* The zone /usr/share/zoneinfo/NAME (Debian's tzdata) parsed by tz_parse;
 * fails the test when it cannot be read or parsed. Release with tz_free. */
#define TU_ZONEINFO "/usr/share/zoneinfo/"
struct tz;
struct tz *tu_zone(const char *name);

#endif
