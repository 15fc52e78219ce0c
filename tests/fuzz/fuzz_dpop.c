/* fuzz_dpop.c - dpop_check() at a fixed clock, on two input forms.
 * Compact text: POST to the token endpoint with an access token (so that
 * the ath path is reached). Signed form (fuzz_util.h), fields METHOD, URL
 * and ACCESS_TOKEN (absent: POST, the token endpoint, the RFC 9449 example
 * token; an empty ACCESS_TOKEN: none presented): the harness signs, so a
 * header whose jwk is the fixed public key passes the signature and the
 * binding checks decide. An accepted proof must be bound to this request
 * (htm, htu without query and fragment), to the access token (ath = its
 * SHA-256, recomputed here) and to the fixed key (its RFC 7638
 * thumbprint), and be fresh. */
#include "core/b64url.h"
#include "core/dpop.h"
#include "fuzz_util.h"
#include <sodium.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_METHOD, F_URL, F_ACCESS_TOKEN, N_FIELDS };

#define LEEWAY 5
#define MAX_AGE 60

static int same_without_query(const char *a, const char *b)
{
	size_t n = strcspn(a, "?#");
	return n == strcspn(b, "?#") && strncmp(a, b, n) == 0;
}

static void check_bound(const json_t *payload, const dpop_opts_t *o)
{
	const char *htm = json_string_value(json_object_get(payload, "htm"));
	const char *htu = json_string_value(json_object_get(payload, "htu"));
	fz_require(htm != NULL && strcmp(htm, o->method) == 0, "accepted proof is for this method");
	fz_require(htu != NULL && same_without_query(htu, o->url), "accepted proof is for this URL");
	if (o->access_token == NULL)
		return;
	uint8_t d[crypto_hash_sha256_BYTES];
	char want[JKT_LEN + 1];
	crypto_hash_sha256(d, (const uint8_t *)o->access_token, strlen(o->access_token));
	b64url_encode_to(d, sizeof d, want);
	const char *ath = json_string_value(json_object_get(payload, "ath"));
	fz_require(ath != NULL && strcmp(ath, want) == 0, "accepted proof is for this access token");
}

static void check(const char *t, size_t n, const dpop_opts_t *o, const json_t *payload)
{
	dpop_proof_t p;
	const char *why = NULL;
	if (dpop_check(t, n, o, &p, &why) != 0) {
		fz_require(why != NULL, "refusal explains");
		return;
	}
	fz_require(strlen(p.jkt) == JKT_LEN, "accepted proof has a thumbprint");
	fz_require(p.jti[0] != '\0', "accepted proof has a jti");
	fz_require(p.iat >= FZ_NOW - MAX_AGE && p.iat <= FZ_NOW + LEEWAY, "accepted proof is fresh");
	if (payload == NULL)
		return;
	/* Signed by the harness: only the fixed key's jwk can have verified. */
	fz_require(strcmp(p.jkt, FZ_JKT) == 0, "accepted proof is bound to the signing key");
	check_bound(payload, o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dpop_opts_t o = {.method = "POST", .url = FZ_TOKEN_URL, .now = FZ_NOW, .leeway = LEEWAY,
			 .max_age = MAX_AGE, .access_token = FZ_ACCESS_TOKEN};
	fz_signed_t in;
	if (fz_signed_parse(data, size, N_FIELDS, &in) != 0) {
		check((const char *)data, size, &o, NULL);
		return 0;
	}
	if (in.field[F_METHOD] != NULL)
		o.method = in.field[F_METHOD];
	if (in.field[F_URL] != NULL)
		o.url = in.field[F_URL];
	if (in.field[F_ACCESS_TOKEN] != NULL)
		o.access_token = in.field[F_ACCESS_TOKEN][0] ? in.field[F_ACCESS_TOKEN] : NULL;
	json_t *payload = json_loads(in.payload, 0, NULL);
	check(in.token, in.len, &o, payload);
	json_decref(payload);
	fz_signed_free(&in);
	return 0;
}
