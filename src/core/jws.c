/* jws.c - strict Ed25519-only JWS compact parsing, verification and signing. */
#include "core/jws.h"
#include "core/b64url.h"
#include "core/limits.h"
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char *jws_strerror(jws_err e)
{
	switch (e) {
	case JWS_OK: return "ok";
	case JWS_E_SIZE: return "token is empty or too large";
	case JWS_E_SHAPE: return "token is not a compact JWS (header.payload.signature)";
	case JWS_E_BASE64: return "token part is not valid base64url";
	case JWS_E_HEADER: return "JWS header is not a JSON object";
	case JWS_E_ALG: return "JWS alg must be EdDSA or Ed25519";
	case JWS_E_CRIT: return "JWS crit header is not supported";
	case JWS_E_PAYLOAD: return "JWS payload is not a JSON object";
	case JWS_E_SIGNATURE: return "JWS signature does not verify";
	}
	return "unknown JWS error";
}

bool jws_alg_is_ed25519(const char *alg)
{
	return alg != NULL && (strcmp(alg, JWS_ALG_EDDSA) == 0 || strcmp(alg, JWS_ALG_ED25519) == 0);
}

static json_t *decode_json_part(const char *p, size_t n, size_t cap, jws_err *err)
{
	uint8_t buf[TG_MAX_JWT_PAYLOAD];
	size_t len = 0;
	json_error_t jerr;
	if (b64url_decode(p, n, buf, cap, &len) != 0) {
		*err = JWS_E_BASE64;
		return NULL;
	}
	json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

jws_err jws_parse(const char *s, size_t len, jws_t *out)
{
	const char *d1, *d2;
	size_t siglen = 0;
	jws_err err = JWS_OK;
	memset(out, 0, sizeof *out);
	if (len == 0 || len > TG_MAX_JWT_LEN)
		return JWS_E_SIZE;
	d1 = memchr(s, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s)) : NULL;
	if (d1 == NULL || d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)) != NULL ||
	    d1 == s || d2 == d1 + 1 || d2 + 1 == s + len)
		return JWS_E_SHAPE;
	if (b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - s), out->sig, sizeof out->sig, &siglen) != 0)
		return JWS_E_BASE64;
	if (siglen != sizeof out->sig)
		return JWS_E_SIGNATURE;

	out->header = decode_json_part(s, (size_t)(d1 - s), TG_MAX_JWT_HEADER, &err);
	if (out->header == NULL)
		return err != JWS_OK ? err : JWS_E_HEADER;
	const json_t *alg = json_object_get(out->header, "alg");
	if (!json_is_string(alg) || strlen(json_string_value(alg)) != json_string_length(alg) ||
	    !jws_alg_is_ed25519(json_string_value(alg))) {
		err = JWS_E_ALG;
		goto fail;
	}
	if (json_object_get(out->header, "crit") != NULL) {
		err = JWS_E_CRIT;
		goto fail;
	}
	out->payload = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1), TG_MAX_JWT_PAYLOAD, &err);
	if (out->payload == NULL) {
		if (err == JWS_OK)
			err = JWS_E_PAYLOAD;
		goto fail;
	}
	out->signing_input = s;
	out->signing_input_len = (size_t)(d2 - s);
	return JWS_OK;
fail:
	jws_free(out);
	return err;
}

jws_err jws_verify(const jws_t *jws, const uint8_t pk[ED25519_PK_LEN])
{
	if (crypto_sign_verify_detached(jws->sig, (const uint8_t *)jws->signing_input,
					jws->signing_input_len, pk) != 0)
		return JWS_E_SIGNATURE;
	return JWS_OK;
}

void jws_free(jws_t *jws)
{
	json_decref(jws->header);
	json_decref(jws->payload);
	memset(jws, 0, sizeof *jws);
}

char *jws_sign(const json_t *header, const json_t *payload, const uint8_t sk[64])
{
	char *h = json_dumps(header, JSON_COMPACT);
	char *p = json_dumps(payload, JSON_COMPACT);
	char *out = NULL;
	if (h == NULL || p == NULL)
		goto out;
	size_t hl = b64url_encoded_len(strlen(h)), pl = b64url_encoded_len(strlen(p));
	size_t sl = b64url_encoded_len(64);
	out = malloc(hl + pl + sl + 3);
	if (out == NULL)
		goto out;
	b64url_encode_to((const uint8_t *)h, strlen(h), out);
	out[hl] = '.';
	b64url_encode_to((const uint8_t *)p, strlen(p), out + hl + 1);
	uint8_t sig[64];
	crypto_sign_detached(sig, NULL, (const uint8_t *)out, hl + 1 + pl, sk);
	out[hl + 1 + pl] = '.';
	b64url_encode_to(sig, sizeof sig, out + hl + pl + 2);
out:
	free(h);
	free(p);
	return out;
}
