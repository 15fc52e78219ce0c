/* access_token.c - issue and verify RFC 9068 access tokens. */
#include "core/access_token.h"
#include "core/b64url.h"
#include "core/claims.h"
#include "core/limits.h"
#include <sodium.h>
#include <string.h>
#include <strings.h>

char *tok_issue(const tok_issue_t *t, const uint8_t sk[64])
{
	const char *alg = t->alg != NULL ? t->alg : JWS_ALG_EDDSA;
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", alg, "typ", "at+jwt", "kid", t->kid);
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "iss", t->issuer,
			      "sub", t->sub, "aud", t->audience, "client_id", t->client_id, "iat",
			      (json_int_t)t->iat, "nbf", (json_int_t)t->iat, "exp", (json_int_t)t->exp,
			      "jti", t->jti, "scope", t->scope);
	char *out = NULL;
	if (h == NULL || p == NULL)
		goto out;
	if (t->cnf_jkt != NULL || t->cnf_x5t != NULL) {
		json_t *cnf = json_object();
		if (t->cnf_jkt != NULL)
			json_object_set_new(cnf, "jkt", json_string(t->cnf_jkt));
		if (t->cnf_x5t != NULL)
			json_object_set_new(cnf, "x5t#S256", json_string(t->cnf_x5t));
		json_object_set_new(p, "cnf", cnf);
	}
	if (t->grant != NULL)
		json_object_set_new(p, "grant", json_string(t->grant));
	if (t->act != NULL)
		json_object_set(p, "act", (json_t *)t->act);
	if (t->status_uri != NULL)
		json_object_set_new(p, "status", json_pack("{s:{s:I, s:s}}", "status_list", "idx",
							     (json_int_t)t->status_idx, "uri", t->status_uri));
	out = jws_sign(h, p, sk);
out:
	json_decref(h);
	json_decref(p);
	return out;
}

bool tok_act_valid(const json_t *act)
{
	for (int depth = 0; act != NULL; depth++) {
		const char *sub = json_string_value(json_object_get(act, "sub"));
		if (depth >= TG_MAX_ACT_DEPTH || !json_is_object(act) || sub == NULL || sub[0] == '\0' ||
		    strlen(sub) > TG_MAX_ID_LEN)
			return false;
		act = json_object_get(act, "act");
	}
	return true;
}

static bool typ_is_at_jwt(const json_t *header)
{
	const char *typ = json_string_value(json_object_get(header, "typ"));
	return typ != NULL && (strcasecmp(typ, "at+jwt") == 0 ||
			       strcasecmp(typ, "application/at+jwt") == 0);
}

static const tok_key_t *find_key(const tok_verify_opts_t *o, const char *kid)
{
	for (size_t i = 0; i < o->n_keys; i++)
		if (strcmp(o->keys[i].kid, kid) == 0)
			return &o->keys[i];
	return NULL;
}

/* The optional status claim (draft-ietf-oauth-status-list §6.2): when
 * present, an object; its status_list, when present, {"idx": a
 * non-negative integer, "uri": a string}. Other mechanisms are ignored. */
static const char *check_status(tok_claims_t *c, const json_t *p)
{
	const json_t *status = json_object_get(p, "status"), *sl = json_object_get(status, "status_list");
	const json_t *idx = json_object_get(sl, "idx");
	c->status_idx = -1;
	if (status == NULL)
		return NULL;
	if (!json_is_object(status) || (sl != NULL && !json_is_object(sl)))
		return "status or its status_list is not an object";
	if (sl == NULL)
		return NULL;
	c->status_uri = claim_str(sl, "uri", TG_MAX_STATUS_LIST_URI);
	if (c->status_uri == NULL || !json_is_integer(idx) || json_integer_value(idx) < 0)
		return "status.status_list lacks a uri or a non-negative idx";
	c->status_idx = (int64_t)json_integer_value(idx);
	return NULL;
}

static const char *check_claims(tok_claims_t *c, const tok_verify_opts_t *o)
{
	const json_t *p = c->jws.payload;
	claim_times_t t = {.now = o->now, .leeway = o->leeway, .require_exp = true, .require_iat = true};
	const char *why = claim_check_times(p, &t);
	const char *iss = claim_str(p, "iss", 512);
	const json_t *cnf = json_object_get(p, "cnf");
	if (why != NULL)
		return why;
	if (iss == NULL || strcmp(iss, o->issuer) != 0)
		return "token was not issued by this issuer";
	if (!claim_aud_matches(p, &o->audience, 1))
		return "token audience does not match";
	c->sub = claim_str(p, "sub", TG_MAX_ID_LEN);
	c->client_id = claim_str(p, "client_id", TG_MAX_ID_LEN);
	c->jti = claim_str(p, "jti", TG_MAX_JTI_LEN);
	c->scope = claim_str(p, "scope", TG_MAX_SCOPE_LEN);
	if (c->sub == NULL || c->client_id == NULL || c->jti == NULL || c->scope == NULL)
		return "token lacks sub, client_id, jti or scope";
	claim_time(p, "exp", &c->exp);
	claim_time(p, "iat", &c->iat);
	if (json_object_get(p, "grant") != NULL && (c->grant = claim_str(p, "grant", TG_GRANT_ID_LEN)) == NULL)
		return "grant is not a grant id";
	if ((c->act = json_object_get(p, "act")) != NULL && !tok_act_valid(c->act))
		return "act is not a delegation chain of at most 4 actors";
	if ((why = check_status(c, p)) != NULL)
		return why;
	if (cnf != NULL) {
		if (!json_is_object(cnf))
			return "cnf is not an object";
		c->cnf_jkt = claim_str(cnf, "jkt", 64);
		c->cnf_x5t = claim_str(cnf, "x5t#S256", 64);
		if (c->cnf_jkt == NULL && c->cnf_x5t == NULL)
			return "cnf carries no supported confirmation method";
	}
	return NULL;
}

int tok_verify(const char *compact, size_t len, const tok_verify_opts_t *o, tok_claims_t *out,
	       const char **why)
{
	const tok_key_t *key;
	jws_err e;
	memset(out, 0, sizeof *out);
	e = jws_parse(compact, len, &out->jws);
	if (e != JWS_OK) {
		*why = jws_strerror(e);
		return -1;
	}
	if (!typ_is_at_jwt(out->jws.header)) {
		*why = "token typ is not at+jwt";
		goto fail;
	}
	out->kid = claim_str(out->jws.header, "kid", TG_MAX_KID_LEN);
	if (out->kid == NULL || (key = find_key(o, out->kid)) == NULL) {
		*why = "token kid is not a known signing key";
		goto fail;
	}
	if ((*why = check_claims(out, o)) != NULL)
		goto fail;
	if (jws_verify(&out->jws, key->pk) != JWS_OK) {
		*why = jws_strerror(JWS_E_SIGNATURE);
		goto fail;
	}
	return 0;
fail:
	tok_claims_free(out);
	return -1;
}

void tok_claims_free(tok_claims_t *c)
{
	jws_free(&c->jws);
	memset(c, 0, sizeof *c);
}

void tok_hash_hex(const char *compact, size_t len, char out[65])
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const uint8_t *)compact, len);
	hex_encode_to(d, sizeof d, out);
}
