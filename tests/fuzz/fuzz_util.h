/* fuzz_util.h - what the libFuzzer targets share: the fixed key, clock and
 * verifier settings that tests/fuzz/gen_corpus.py signs the seed tokens
 * for (change both together), the signed input form of the signature
 * targets, and small helpers. */
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

/* RFC 7638 thumbprint of the fixed key (RFC 8037 Appendix A.3). */
#define FZ_JKT "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"

/* The verifying key: the RFC 8037 Appendix A example key. */
const uint8_t *fz_pk(void);
/* Compact JWS over the raw header and payload bytes (base64url-encoded
 * as given), signed with the fixed key; malloc'd. */
char *fz_sign_raw(const uint8_t *header, size_t header_len, const uint8_t *payload,
		  size_t payload_len);
/* The signed form of a signature target's input, beside the compact
 * token text: "HEADER-JSON\nPAYLOAD-JSON[\nFIELD]...". It starts with the
 * header's '{', which no compact JWS does. The harness signs header and
 * payload with the fixed key, so that every input passes the signature
 * and mutations reach the header, claim and binding checks behind it; the
 * fields are the target's binding inputs (expected client_id, request
 * method and URL, access token...). */
#define FZ_MAX_FIELDS 4
typedef struct {
	char *token; /* the signed compact JWS */
	size_t len;
	const char *header, *payload; /* the signed JSON texts */
	char *field[FZ_MAX_FIELDS]; /* NUL-terminated; NULL when absent */
	char *buf;
} fz_signed_t;

/* 0 and *out filled (release with fz_signed_free) when data is in the
 * signed form with up to n_fields fields (the last one takes the rest of
 * the input); -1 otherwise. */
int fz_signed_parse(const uint8_t *data, size_t size, size_t n_fields, fz_signed_t *out);
void fz_signed_free(fz_signed_t *s);

/* NUL-terminated malloc'd copy of the input (aborts when out of memory). */
char *fz_cstr(const uint8_t *data, size_t size);
/* Aborts (a libFuzzer crash) with a message when an invariant fails. */
void fz_require(int ok, const char *what);

#endif
