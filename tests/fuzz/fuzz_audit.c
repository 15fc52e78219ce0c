/* fuzz_audit.c - the audit chain verifier of src/core/audit.c and
 * canonical_json() on arbitrary logs. The input is split into lines; each
 * line is parsed as JSON (jansson) and fed to the verifier as a checkpoint
 * when it is an object with "sig", else as a record, stopping at the first
 * error as a caller does; a second verifier is fed every line regardless
 * of errors. Both must end without crash or leak, an error must say where,
 * and a verified log must be consistent. Every parsed value must survive
 * canonical_json(): NULL exactly when it holds a real, else text without
 * raw control bytes that parses back to an equal value and is a fixed
 * point.
 *
 * The verifier trusts the RFC 8037 example key (fuzz_util.c) as kid
 * "audit-1". The seeds in corpus/fuzz_audit/ are chains built by the rules
 * of core/audit.h with python3 (hashlib, json.dumps(sort_keys=True,
 * separators=(",", ":"), ensure_ascii=False), cryptography's Ed25519 with
 * that key), one JSON document per line: a valid chain with checkpoints,
 * a pruned one, and edited, missing, swapped, duplicated, truncated,
 * rewritten, forged, unknown-kid and malformed variants, plus odd values
 * for the canonical form. */
#include "core/audit.h"
#include "core/canonical_json.h"
#include "fuzz_util.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FZ_AUDIT_KID "audit-1"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_real(const json_t *v)
{
	const char *k;
	size_t i;
	json_t *item;
	switch (json_typeof(v)) {
	case JSON_REAL: return true;
	case JSON_ARRAY:
		json_array_foreach(v, i, item)
			if (has_real(item))
				return true;
		return false;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, k, item)
			if (has_real(item))
				return true;
		return false;
	default: return false;
	}
}

static void check_canonical(const json_t *v)
{
	char *c = canonical_json(v);
	if (has_real(v)) {
		fz_require(c == NULL, "reals are refused");
		return;
	}
	fz_require(c != NULL, "values without reals have a canonical form");
	for (const char *p = c; *p != '\0'; p++)
		fz_require((unsigned char)*p >= 0x20, "no raw control bytes or whitespace");
	json_error_t err;
	json_t *back = json_loads(c, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	fz_require(back != NULL, "canonical form parses");
	fz_require(json_equal(v, back), "canonical form round-trips");
	char *again = canonical_json(back);
	fz_require(again != NULL && strcmp(again, c) == 0, "canonical form is a fixed point");
	free(again);
	json_decref(back);
	free(c);
}

static int feed(audit_verifier_t *v, const json_t *item)
{
	if (json_is_object(item) && json_object_get(item, "sig") != NULL)
		return audit_verify_checkpoint(v, item);
	return audit_verify_record(v, item);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	audit_key_t key = {.kid = FZ_AUDIT_KID};
	audit_verifier_t v, all;
	int rc = 0;
	memcpy(key.pk, fz_pk(), sizeof key.pk);
	audit_verify_init(&v, &key, 1);
	audit_verify_init(&all, &key, 1);
	for (size_t at = 0; at < size;) {
		const uint8_t *nl = memchr(data + at, '\n', size - at);
		size_t len = nl != NULL ? (size_t)(nl - (data + at)) : size - at;
		json_t *item = json_loadb((const char *)data + at, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		at += len + 1;
		if (item == NULL)
			continue;
		check_canonical(item);
		char h[AUDIT_HASH_HEX];
		if (audit_record_hash(item, h) == 0)
			fz_require(strlen(h) == AUDIT_HASH_HEX - 1, "hash is 64 hex digits");
		if (rc == 0) {
			rc = feed(&v, item);
			fz_require(rc == 0 || (rc == -1 && v.error[0] != '\0'), "a failure says why");
		}
		(void)feed(&all, item);
		json_decref(item);
	}
	int frc = audit_verify_finish(&v);
	int arc = audit_verify_finish(&all);
	fz_require(arc == 0 || all.error[0] != '\0', "a failure says why, errors or not");
	fz_require(v.held == NULL && all.held == NULL, "finish releases what it holds");
	if (rc != 0) {
		fz_require(frc == -1, "finish keeps the failure");
	} else if (frc != 0) {
		fz_require(frc == -1 && v.error[0] != '\0', "a failure says why");
	} else {
		fz_require(v.error[0] == '\0', "no error on success");
		fz_require(v.n_pending == 0, "no checkpoint left unreached");
		fz_require(v.records == 0 || (v.first_seq >= 1 && v.first_seq <= v.last_seq &&
					      v.last_seq - v.first_seq + 1 == v.records),
			   "a verified log is contiguous");
		fz_require(v.records == 0 || strlen(v.last_hash) == AUDIT_HASH_HEX - 1,
			   "the last hash is a hash");
		fz_require(v.last_checkpoint_seq <= v.last_seq, "checkpoints name verified records");
	}
	return 0;
}
