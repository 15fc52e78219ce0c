/* test_util.c - key, token and string helpers shared by the unit tests. */
#include "test_util.h"
#include "core/b64url.h"
#include "core/jws.h"
#include "core/tz.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tu_setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

void tu_key_random(tu_key_t *k)
{
	randombytes_buf(k->seed, sizeof k->seed);
	crypto_sign_seed_keypair(k->pk, k->sk, k->seed);
}

void tu_key_rfc8037(tu_key_t *k)
{
	size_t n = 0;
	assert_int_equal(b64url_decode(TU_RFC8037_D, strlen(TU_RFC8037_D), k->seed,
				       sizeof k->seed, &n), 0);
	assert_int_equal(n, ED25519_SEED_LEN);
	crypto_sign_seed_keypair(k->pk, k->sk, k->seed);
}

char *tu_b64(const char *s)
{
	char *out = b64url_encode((const uint8_t *)s, strlen(s));
	assert_non_null(out);
	return out;
}

char *tu_join3(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 3;
	char *out = malloc(n);
	assert_non_null(out);
	snprintf(out, n, "%s.%s.%s", a, b, c);
	return out;
}

char *tu_sign_text(const char *header_json, const char *payload_json, const uint8_t sk[64])
{
	char *h = tu_b64(header_json), *p = tu_b64(payload_json);
	size_t n = strlen(h) + 1 + strlen(p);
	char *input = malloc(n + 1);
	uint8_t sig[crypto_sign_BYTES];
	assert_non_null(input);
	snprintf(input, n + 1, "%s.%s", h, p);
	crypto_sign_detached(sig, NULL, (const uint8_t *)input, n, sk);
	char *s = b64url_encode(sig, sizeof sig);
	char *out = tu_join3(h, p, s);
	free(h);
	free(p);
	free(s);
	free(input);
	return out;
}

char *tu_sign(json_t *header, json_t *payload, const uint8_t sk[64])
{
	assert_non_null(header);
	assert_non_null(payload);
	char *out = jws_sign(header, payload, sk);
	json_decref(header);
	json_decref(payload);
	assert_non_null(out);
	return out;
}

/* Splits a strdup'd compact token in place into its three parts. */
static void split3(char *copy, char *parts[3])
{
	parts[0] = copy;
	parts[1] = strchr(parts[0], '.');
	assert_non_null(parts[1]);
	*parts[1]++ = '\0';
	parts[2] = strchr(parts[1], '.');
	assert_non_null(parts[2]);
	*parts[2]++ = '\0';
}

char *tu_part(const char *compact, int part)
{
	char *copy = strdup(compact), *parts[3];
	assert_non_null(copy);
	split3(copy, parts);
	char *out = strdup(parts[part]);
	assert_non_null(out);
	free(copy);
	return out;
}

char *tu_replace_part(const char *compact, int part, const char *text)
{
	char *copy = strdup(compact), *parts[3];
	assert_non_null(copy);
	split3(copy, parts);
	parts[part] = (char *)text;
	char *out = tu_join3(parts[0], parts[1], parts[2]);
	free(copy);
	return out;
}

char *tu_flip_sig_bit(const char *compact)
{
	const char *s = strrchr(compact, '.');
	uint8_t sig[crypto_sign_BYTES];
	size_t n = 0;
	assert_non_null(s);
	assert_int_equal(b64url_decode(s + 1, strlen(s + 1), sig, sizeof sig, &n), 0);
	assert_int_equal(n, sizeof sig);
	sig[17] ^= 0x01;
	char *enc = b64url_encode(sig, sizeof sig);
	assert_non_null(enc);
	char *out = tu_replace_part(compact, 2, enc);
	free(enc);
	return out;
}

json_t *tu_with(json_t *obj, const char *key, json_t *value)
{
	assert_non_null(obj);
	if (value == NULL)
		json_object_del(obj, key);
	else
		assert_int_equal(json_object_set_new(obj, key, value), 0);
	return obj;
}

json_t *tu_json(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", text, err.text);
	return j;
}

void tu_assert_why_at(const char *why, const char *needle, const char *file, int line)
{
	if (why == NULL)
		_fail(file, line);
	if (strstr(why, needle) == NULL) {
		print_error("why = \"%s\", expected it to mention \"%s\"\n", why, needle);
		_fail(file, line);
	}
}

const char *tu_cedar_conformance_dir(void)
{
	static char dir[4096];
	const char *env = getenv("TG_CEDAR_CONFORMANCE");
	if (env != NULL)
		return env;
	/* __FILE__ is tests/unit/test_util.c in the checkout. */
	snprintf(dir, sizeof dir, "%s", __FILE__);
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(dir, '/');
		if (slash == NULL)
			return "../shared/cedar-conformance";
		*slash = '\0';
	}
	strncat(dir, "/../shared/cedar-conformance", sizeof dir - strlen(dir) - 1);
	return dir;
}

char *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL) {
		*len = fread(buf, 1, (size_t)n, f);
		buf[*len] = '\0';
	}
	fclose(f);
	return buf;
}

tz_t *tu_zone(const char *name)
{
	char path[256], err[200];
	size_t len;
	tz_t *z = NULL;
	snprintf(path, sizeof path, TU_ZONEINFO "%s", name);
	uint8_t *b = (uint8_t *)tu_read_file(path, &len);
	if (b == NULL)
		fail_msg("cannot read %s (Debian package tzdata)", path);
	if (tz_parse(b, len, &z, err, sizeof err) != 0)
		fail_msg("%s: %s", path, err);
	free(b);
	return z;
}
