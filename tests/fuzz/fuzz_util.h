/* fuzz_util.h - what the libFuzzer targets share: the fixed key, clock and
 * verifier settings that tests/fuzz/gen_corpus.py signs the seed tokens
 * for (change both together), and small helpers. */
#ifndef TG_FUZZ_UTIL_H
#define TG_FUZZ_UTIL_H
#include "core/ed25519_key.h"
#include <stddef.h>
#include <stdint.h>

#define FZ_NOW 1700000000LL
#define FZ_KID "k1"
#define FZ_ISSUER "https://tollgate.example"
#define FZ_AUDIENCE "tollgate"
#define FZ_TOKEN_URL "https://tollgate.example/oauth/token"
#define FZ_CLIENT_ID "svc-a"
/* The RFC 9449 §7.1 example access token, which DPoP seeds carry as ath. */
#define FZ_ACCESS_TOKEN "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"

/* The verifying key: the RFC 8037 Appendix A example key. */
const uint8_t *fz_pk(void);
/* Compact JWS over the raw header and payload bytes (base64url-encoded
 * as given), signed with the fixed key; malloc'd. */
char *fz_sign_raw(const uint8_t *header, size_t header_len, const uint8_t *payload,
		  size_t payload_len);
/* NUL-terminated malloc'd copy of the input (aborts when out of memory). */
char *fz_cstr(const uint8_t *data, size_t size);
/* Aborts (a libFuzzer crash) with a message when an invariant fails. */
void fz_require(int ok, const char *what);

#endif
