/* fuzz_secret_meta.c - a secret's name and metadata document
 * (core/secret.h) and sealed values (core/secret_box.h) on arbitrary input:
 *   NAME NUL METADATA-JSON
 * An accepted document keeps its promises: bounded, durations within
 * their range and grace at most rotate_every, and its normal form accepted
 * again unchanged. An accepted name round-trips through sealing with a
 * fixed key, and the input's bytes as a sealed value never open. */
#include "core/secret.h"
#include "core/secret_box.h"
#include "fuzz_util.h"
#include <sodium.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fixed_key[SECRET_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
						  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static void check_meta(const json_t *m)
{
	char why[200];
	int64_t every = secret_meta_rotate_every(m), grace = secret_meta_grace(m);
	fz_require(every == 0 || (every >= SECRET_MIN_ROTATE && every <= SECRET_MAX_DURATION), "rotate_every bounded");
	fz_require(grace >= 0 && grace <= (every ? every : 0), "grace within rotate_every");
	fz_require(json_array_size(json_object_get(m, "consumers")) <= SECRET_MAX_CONSUMERS, "consumers bounded");
	json_t *again = secret_meta_parse(m, why, sizeof why);
	fz_require(again != NULL, "the normal form is accepted");
	fz_require(json_equal(again, m), "the normal form reads back to itself");
	json_decref(again);
}

static void check_name(const char *name, const uint8_t *rest, size_t n)
{
	uint8_t nonce[SECRET_NONCE_LEN] = {0}, wrapped[SECRET_WRAPPED_LEN], dk[SECRET_KEY_LEN];
	uint8_t sealed[64 + SECRET_BOX_OVERHEAD], out[SECRET_MAX_VALUE];
	char mkid[SECRET_MKID_LEN + 1];
	size_t len = 0, got = 0;
	size_t vlen = n < 64 ? n : 64;
	fz_require(strlen(name) <= SECRET_MAX_NAME && strchr(name, '|') == NULL && strchr(name, '/') == NULL,
		   "a valid name is one path segment without the AAD separator");
	secret_master_key_id(fixed_key, mkid);
	fz_require(secret_wrap_key(fixed_key, mkid, name, fixed_key, nonce, wrapped) == 0, "wraps");
	fz_require(secret_unwrap_key(fixed_key, mkid, name, wrapped, sizeof wrapped, dk) == 0, "unwraps");
	fz_require(secret_seal_value(dk, name, 7, nonce, rest, vlen, sealed, sizeof sealed, &len) == 0, "seals");
	fz_require(secret_open_value(dk, name, 7, sealed, len, out, sizeof out, &got) == 0 && got == vlen &&
		   (vlen == 0 || memcmp(out, rest, vlen) == 0), "opens to the same bytes");
	fz_require(secret_open_value(dk, name, 8, sealed, len, out, sizeof out, &got) != 0, "not as another version");
	if (n <= sizeof out + SECRET_BOX_OVERHEAD)
		fz_require(secret_open_value(dk, name, 7, rest, n, out, sizeof out, &got) != 0, "forged bytes never open");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready)
		ready = sodium_init() >= 0;
	const uint8_t *nul = memchr(data, '\0', size);
	if (nul == NULL || (size_t)(nul - data) > 4 * SECRET_MAX_NAME)
		return 0;
	char name[4 * SECRET_MAX_NAME + 1];
	size_t nlen = (size_t)(nul - data), rest = size - nlen - 1;
	memcpy(name, data, nlen);
	name[nlen] = '\0';
	int64_t d;
	if (secret_duration_parse(name, &d) == 0)
		fz_require(d >= 0, "a duration is not negative");
	if (secret_name_valid(name))
		check_name(name, nul + 1, rest);
	json_t *doc = json_loadb((const char *)nul + 1, rest, 0, NULL);
	char why[200] = "";
	json_t *m = doc ? secret_meta_parse(doc, why, sizeof why) : NULL;
	if (m != NULL)
		check_meta(m);
	else if (doc != NULL)
		fz_require(why[0] != '\0', "a refusal says why");
	json_decref(m);
	json_decref(doc);
	return 0;
}
