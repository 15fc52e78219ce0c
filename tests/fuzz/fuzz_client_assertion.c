/* fuzz_client_assertion.c - assertion_parse() with fixed audiences and
 * clock, then assertion_verify() with the fixed key, on two input forms.
 * Compact text: the form's client_id is "svc-a". Signed form (fuzz_util.h),
 * fields CLIENT_ID (the form's client_id; absent or empty: not sent) and
 * AUDIENCE (the token endpoint URL; the fixed one when absent): every
 * input is signed, so the claim checks decide, and an accepted assertion
 * must bind to the client as RFC 7523 says (iss = sub = client_id, the
 * form's client_id when sent), name an accepted audience, live briefly,
 * and verify. */
#include "core/client_assertion.h"
#include "fuzz_util.h"
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { F_CLIENT_ID, F_AUDIENCE, N_FIELDS };

#define MAX_LIFETIME 300
#define LEEWAY 30

static int aud_accepted(const json_t *aud, const char *const *auds, int n)
{
	for (int i = 0; i < n; i++) {
		if (json_is_string(aud) && strcmp(json_string_value(aud), auds[i]) == 0)
			return 1;
		size_t k;
		const json_t *v;
		json_array_foreach(aud, k, v)
			if (json_is_string(v) && strcmp(json_string_value(v), auds[i]) == 0)
				return 1;
	}
	return 0;
}

static void check_accepted(const assertion_t *a, const char *client_id, const char *const *auds,
			   int n_auds, int is_signed)
{
	const json_t *p = a->jws.payload;
	const char *iss = json_string_value(json_object_get(p, "iss"));
	const char *sub = json_string_value(json_object_get(p, "sub"));
	fz_require(a->client_id != NULL && a->jti != NULL, "accepted assertion names client and jti");
	fz_require(iss != NULL && sub != NULL && strcmp(iss, a->client_id) == 0 &&
		   strcmp(sub, a->client_id) == 0, "iss and sub are the client_id");
	fz_require(client_id == NULL || strcmp(a->client_id, client_id) == 0,
		   "client_id is the one the form sent");
	fz_require(aud_accepted(json_object_get(p, "aud"), auds, n_auds), "aud is accepted");
	fz_require(a->exp > FZ_NOW - LEEWAY && a->exp <= FZ_NOW + MAX_LIFETIME + LEEWAY,
		   "accepted assertion is current and short-lived");
	if (is_signed)
		fz_require(assertion_verify(a, fz_pk()) == 0, "a signed assertion verifies");
	else if (assertion_verify(a, fz_pk()) == 0)
		fz_require(a->jws.signing_input_len > 0, "verified assertion was signed");
}

static void parse(const char *t, size_t n, const char *client_id, const char *audience, int is_signed)
{
	const char *auds[] = {audience, FZ_ISSUER};
	assertion_opts_t o = {.audiences = auds, .n_audiences = 2, .now = FZ_NOW, .leeway = LEEWAY,
			      .max_lifetime = MAX_LIFETIME};
	assertion_t a;
	const char *why = NULL;
	if (assertion_parse(t, n, client_id, &o, &a, &why) != 0) {
		fz_require(why != NULL && a.jws.header == NULL, "refusal explains and frees");
		return;
	}
	check_accepted(&a, client_id, auds, 2, is_signed);
	assertion_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_signed_t in;
	if (fz_signed_parse(data, size, N_FIELDS, &in) != 0) {
		parse((const char *)data, size, FZ_CLIENT_ID, FZ_TOKEN_URL, 0);
		return 0;
	}
	const char *client_id = in.field[F_CLIENT_ID];
	parse(in.token, in.len, client_id && client_id[0] ? client_id : NULL,
	      in.field[F_AUDIENCE] ? in.field[F_AUDIENCE] : FZ_TOKEN_URL, 1);
	fz_signed_free(&in);
	return 0;
}
