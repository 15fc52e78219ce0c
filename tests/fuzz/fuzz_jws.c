/* fuzz_jws.c - jws_parse() on arbitrary bytes, then jws_verify() with the
 * fixed key. A successful parse must satisfy the header invariants, and
 * each part must be the one canonical base64url spelling of its bytes
 * (otherwise one token would have several texts and several hashes). */
#include "core/b64url.h"
#include "core/jws.h"
#include "core/limits.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_canonical(const char *part, size_t n)
{
	uint8_t bytes[TG_MAX_JWT_LEN];
	char again[TG_MAX_JWT_LEN + 4];
	size_t len = 0;
	fz_require(b64url_decode(part, n, bytes, sizeof bytes, &len) == 0, "part decodes");
	fz_require(b64url_encoded_len(len) == n, "part has canonical length");
	b64url_encode_to(bytes, len, again);
	fz_require(memcmp(again, part, n) == 0, "part is canonical base64url");
}

static void check_parts(const char *s, size_t n)
{
	const char *d1 = memchr(s, '.', n);
	const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - s));
	check_canonical(s, (size_t)(d1 - s));
	check_canonical(d1 + 1, (size_t)(d2 - d1 - 1));
	check_canonical(d2 + 1, n - (size_t)(d2 + 1 - s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	jws_t j;
	if (jws_parse((const char *)data, size, &j) != JWS_OK)
		return 0;
	const char *alg = json_string_value(json_object_get(j.header, "alg"));
	fz_require(alg != NULL && strcmp(alg, "EdDSA") == 0, "parsed JWS has alg EdDSA");
	fz_require(json_object_get(j.header, "crit") == NULL, "parsed JWS has no crit");
	fz_require(json_is_object(j.payload), "parsed JWS payload is an object");
	fz_require(j.signing_input == (const char *)data && j.signing_input_len < size,
		   "signing input lies inside the token");
	check_parts((const char *)data, size);
	(void)!jws_verify(&j, fz_pk());
	jws_free(&j);
	return 0;
}
