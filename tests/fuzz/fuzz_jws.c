/* fuzz_jws.c - jws_parse() and jws_verify() with the fixed key, on two
 * input forms. Compact text: a successful parse must satisfy the header
 * invariants, and each part must be the one canonical base64url spelling
 * of its bytes (otherwise one token would have several texts and several
 * hashes). Signed form (fuzz_util.h, "HEADER\nPAYLOAD" signed by the
 * harness): the parse must accept exactly what an independent reading of
 * the two JSON texts says it should (object header, alg one of the two
 * Ed25519 names, no crit, object payload, sizes), and what it accepts must
 * verify. */
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

static void compact_form(const uint8_t *data, size_t size)
{
	jws_t j;
	if (jws_parse((const char *)data, size, &j) != JWS_OK)
		return;
	const char *alg = json_string_value(json_object_get(j.header, "alg"));
	fz_require(jws_alg_is_ed25519(alg), "parsed JWS has an Ed25519 alg");
	fz_require(json_object_get(j.header, "crit") == NULL, "parsed JWS has no crit");
	fz_require(json_is_object(j.payload), "parsed JWS payload is an object");
	fz_require(j.signing_input == (const char *)data && j.signing_input_len < size,
		   "signing input lies inside the token");
	check_parts((const char *)data, size);
	(void)!jws_verify(&j, fz_pk());
	jws_free(&j);
}

/* Whether jws_parse should accept header and payload, read with jansson
 * alone. */
static int acceptable(const char *header, const char *payload, size_t token_len)
{
	size_t hl = strlen(header), pl = strlen(payload);
	if (token_len > TG_MAX_JWT_LEN || hl > TG_MAX_JWT_HEADER || pl > TG_MAX_JWT_PAYLOAD)
		return 0;
	json_t *h = json_loads(header, JSON_REJECT_DUPLICATES, NULL);
	json_t *p = json_loads(payload, JSON_REJECT_DUPLICATES, NULL);
	json_t *alg = json_object_get(h, "alg");
	const char *a = json_string_value(alg);
	int ok = json_is_object(h) && json_is_object(p) && a != NULL &&
		 strlen(a) == json_string_length(alg) &&
		 (strcmp(a, "EdDSA") == 0 || strcmp(a, "Ed25519") == 0) &&
		 json_object_get(h, "crit") == NULL;
	json_decref(h);
	json_decref(p);
	return ok;
}

static void signed_form(const fz_signed_t *in)
{
	jws_t j;
	jws_err e = jws_parse(in->token, in->len, &j);
	fz_require((e == JWS_OK) == acceptable(in->header, in->payload, in->len),
		   "the parse accepts exactly the acceptable header and payload");
	if (e != JWS_OK)
		return;
	fz_require(jws_verify(&j, fz_pk()) == JWS_OK, "a token signed by the fixed key verifies");
	check_parts(in->token, in->len);
	jws_free(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_signed_t in;
	if (fz_signed_parse(data, size, 0, &in) != 0) {
		compact_form(data, size);
		return 0;
	}
	signed_form(&in);
	fz_signed_free(&in);
	return 0;
}
