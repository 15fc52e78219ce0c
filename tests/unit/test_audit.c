/* test_audit.c - the tamper-evident audit chain of src/core/audit.c:
 * record shape and hashes (known answers from python3), signed
 * checkpoints, and the streaming verifier naming the first record that
 * does not fit (edited, missing, reordered, duplicated, truncated,
 * rewritten, forged, malformed) with the right seq. */
#include "test_util.h"
#include "core/audit.h"
#include "core/b64url.h"
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KID "audit-1"
#define N_RECORDS 10

/* The audit key the verifier trusts, and an attacker's key. */
static tu_key_t audit_key, other_key;
static audit_key_t trusted[1];
/* The untouched log: records 1..10 with checkpoints after 4 and 8, as an
 * array of records and checkpoints in feed order; and the record hashes. */
static json_t *base_log;
static char hashes[N_RECORDS + 1][AUDIT_HASH_HEX];

static void time_for(int64_t seq, char out[AUDIT_TIME_LEN])
{
	audit_time((TU_NOW + seq % 1000) * 1000000 + seq % 1000 * 1111, out);
}

/* Record seq of the test chain, chained to prev. */
static json_t *make_record(int64_t seq, const char *prev, char hash[AUDIT_HASH_HEX])
{
	static const char *const types[] = {"token.issued", "auth.failed", "identity.created"};
	char t[AUDIT_TIME_LEN], actor[32], jti[32];
	snprintf(actor, sizeof actor, "svc-%lld", (long long)seq);
	snprintf(jti, sizeof jti, "jti-%04lld", (long long)seq);
	json_t *details = json_pack("{s:I, s:s}", "n", (json_int_t)seq, "note", "caf\303\251 \342\200\250");
	json_t *policies = json_pack("[s]", "p-default");
	audit_event_t ev = {
		.type = types[seq % 3], .actor = actor, .action = "issue", .resource = "https://api.example",
		.decision = seq % 2 ? "allow" : "deny", .jti = seq % 3 ? jti : NULL, .grant = NULL,
		.src = "192.0.2.7", .edge = NULL, .policies = seq % 4 ? policies : NULL, .details = details,
	};
	time_for(seq, t);
	json_t *r = audit_record(&ev, seq, t, prev, hash);
	assert_non_null(r);
	json_decref(details);
	json_decref(policies);
	return r;
}

static json_t *make_checkpoint(int64_t seq, const char *hash, const char *kid, const uint8_t *sk)
{
	char t[AUDIT_TIME_LEN];
	audit_time((TU_NOW + seq % 100000) * 1000000 + 500000, t); /* seq may be near INT64_MAX */
	json_t *cp = audit_checkpoint(seq, hash, t, kid, sk);
	assert_non_null(cp);
	return cp;
}

static int setup(void **state)
{
	if (tu_setup(state) != 0)
		return -1;
	tu_key_random(&audit_key);
	tu_key_random(&other_key);
	snprintf(trusted[0].kid, sizeof trusted[0].kid, "%s", KID);
	memcpy(trusted[0].pk, audit_key.pk, sizeof trusted[0].pk);
	base_log = json_array();
	snprintf(hashes[0], sizeof hashes[0], "%s", audit_genesis);
	for (int64_t seq = 1; seq <= N_RECORDS; seq++) {
		json_array_append_new(base_log, make_record(seq, hashes[seq - 1], hashes[seq]));
		if (seq == 4 || seq == 8)
			json_array_append_new(base_log, make_checkpoint(seq, hashes[seq], KID, audit_key.sk));
	}
	return json_array_size(base_log) == N_RECORDS + 2 ? 0 : -1;
}

static int teardown(void **state)
{
	json_decref(base_log);
	return 0;
}

/* ---- log surgery: every helper works on a deep copy from fresh_log() ---- */

static json_t *fresh_log(void)
{
	json_t *log = json_deep_copy(base_log);
	assert_non_null(log);
	return log;
}

static bool is_checkpoint(const json_t *item)
{
	return json_object_get(item, "sig") != NULL || json_object_get(item, "kid") != NULL;
}

static size_t find(const json_t *log, int64_t seq, bool checkpoint)
{
	size_t i;
	json_t *item;
	json_array_foreach(log, i, item)
		if (is_checkpoint(item) == checkpoint &&
		    json_integer_value(json_object_get(item, "seq")) == seq)
			return i;
	fail_msg("no %s %lld in the log", checkpoint ? "checkpoint" : "record", (long long)seq);
	return 0;
}

static json_t *record_at(json_t *log, int64_t seq)
{
	return json_array_get(log, find(log, seq, false));
}

static json_t *checkpoint_at(json_t *log, int64_t seq)
{
	return json_array_get(log, find(log, seq, true));
}

static void remove_record(json_t *log, int64_t seq)
{
	assert_int_equal(json_array_remove(log, find(log, seq, false)), 0);
}

static void remove_checkpoint(json_t *log, int64_t seq)
{
	assert_int_equal(json_array_remove(log, find(log, seq, true)), 0);
}

static void set_member(json_t *obj, const char *key, json_t *value)
{
	assert_non_null(obj);
	tu_with(obj, key, value);
}

/* Recomputes the record's own hash after an edit (but not the later ones). */
static void rehash(json_t *r)
{
	char h[AUDIT_HASH_HEX];
	assert_int_equal(audit_record_hash(r, h), 0);
	set_member(r, "hash", json_string(h));
}

/* Sets key on record seq, then rewrites the chain from there on
 * consistently (new hash, later prevs and hashes), as someone without the
 * audit key can; checkpoints stay as they were. */
static void rewrite_from(json_t *log, int64_t seq, const char *key, json_t *value)
{
	size_t i;
	json_t *item;
	char prev[AUDIT_HASH_HEX] = "";
	set_member(record_at(log, seq), key, value);
	json_array_foreach(log, i, item) {
		int64_t s = json_integer_value(json_object_get(item, "seq"));
		if (is_checkpoint(item) || s < seq)
			continue;
		if (s > seq)
			set_member(item, "prev", json_string(prev));
		rehash(item);
		snprintf(prev, sizeof prev, "%s", json_string_value(json_object_get(item, "hash")));
	}
}

/* ---- verification ---- */

/* Feeds the log to a verifier as the API asks (stop at the first error,
 * finish always) and returns 0 or -1. */
static int verify_with(const json_t *log, const audit_key_t *keys, size_t n_keys, audit_verifier_t *v)
{
	size_t i;
	json_t *item;
	int rc = 0;
	audit_verify_init(v, keys, n_keys);
	json_array_foreach(log, i, item) {
		rc = is_checkpoint(item) ? audit_verify_checkpoint(v, item) : audit_verify_record(v, item);
		if (rc != 0) {
			assert_int_equal(rc, -1);
			assert_true(v->error[0] != '\0');
			break;
		}
		assert_true(v->error[0] == '\0');
	}
	int64_t seq = v->error_seq;
	char error[sizeof v->error];
	memcpy(error, v->error, sizeof error);
	int frc = audit_verify_finish(v);
	assert_null(v->held);
	if (rc == 0)
		return frc;
	/* finish keeps the first error. */
	assert_int_equal(frc, -1);
	assert_int_equal(v->error_seq, seq);
	assert_string_equal(v->error, error);
	return rc;
}

static void expect_ok_with(const json_t *log, const audit_key_t *keys, size_t n_keys, audit_verifier_t *v)
{
	if (verify_with(log, keys, n_keys, v) != 0)
		fail_msg("log did not verify: at %lld: %s", (long long)v->error_seq, v->error);
	assert_true(v->error[0] == '\0');
}

static void expect_ok(const json_t *log, audit_verifier_t *v)
{
	expect_ok_with(log, trusted, 1, v);
}

static void expect_fail_with(const json_t *log, const audit_key_t *keys, size_t n_keys, int64_t seq,
			     const char *keyword, int line)
{
	audit_verifier_t v;
	if (verify_with(log, keys, n_keys, &v) == 0)
		fail_msg("line %d: log verified, expected \"%s\" at %lld", line, keyword, (long long)seq);
	if (v.error_seq != seq || strstr(v.error, keyword) == NULL)
		fail_msg("line %d: failed at %lld (%s), expected \"%s\" at %lld", line,
			 (long long)v.error_seq, v.error, keyword, (long long)seq);
}

/* Fails the test unless log (consumed) fails at seq with keyword in error. */
#define expect_fail(log, seq, keyword) expect_fail_at((log), (seq), (keyword), __LINE__)
static void expect_fail_at(json_t *log, int64_t seq, const char *keyword, int line)
{
	expect_fail_with(log, trusted, 1, seq, keyword, line);
	json_decref(log);
}

/* ---- records, hashes and checkpoints ---- */

static void test_time_format(void **state)
{
	char t[AUDIT_TIME_LEN];
	audit_time(0, t);
	assert_string_equal(t, "1970-01-01T00:00:00.000000Z");
	audit_time(TU_NOW * 1000000 + 123456, t);
	assert_string_equal(t, "2023-11-14T22:13:20.123456Z");
	audit_time(INT64_C(1795531037) * 1000000 + 1, t);
	assert_string_equal(t, "2026-11-24T14:37:17.000001Z");
	audit_time(INT64_C(253402300799) * 1000000 + 999999, t);
	assert_string_equal(t, "9999-12-31T23:59:59.999999Z");
}

static void test_record_shape(void **state)
{
	static const char *const members[] = {"seq", "time", "type", "actor", "action", "resource",
					      "decision", "jti", "grant", "src", "edge", "prev",
					      "policies", "details", "hash"};
	char h[AUDIT_HASH_HEX], again[AUDIT_HASH_HEX];
	json_t *pol = tu_json("[\"p1\",\"p2\"]"), *det = tu_json("{\"k\":[1,{\"x\":null}]}");
	audit_event_t ev = {.type = "token.issued", .actor = "svc-a", .policies = pol, .details = det};
	json_t *r = audit_record(&ev, 3, "2023-11-14T22:13:20.000000Z", hashes[2], h);
	assert_non_null(r);
	assert_int_equal(json_object_size(r), sizeof members / sizeof members[0]);
	for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
		if (json_object_get(r, members[i]) == NULL)
			fail_msg("record has no \"%s\"", members[i]);
	assert_int_equal(json_integer_value(json_object_get(r, "seq")), 3);
	assert_string_equal(json_string_value(json_object_get(r, "type")), "token.issued");
	assert_string_equal(json_string_value(json_object_get(r, "prev")), hashes[2]);
	/* Absent fields are null, not missing; policies and details are copies. */
	assert_true(json_is_null(json_object_get(r, "action")));
	assert_true(json_is_null(json_object_get(r, "edge")));
	assert_true(json_equal(json_object_get(r, "policies"), pol));
	assert_true(json_equal(json_object_get(r, "details"), det));
	assert_ptr_not_equal(json_object_get(r, "details"), det);
	assert_int_equal(pol->refcount, 1);
	assert_int_equal(det->refcount, 1);
	/* The hash: 64 lower-case hex digits, in hash_out and in the record,
	 * and recomputed identically. */
	assert_int_equal(strlen(h), 64);
	assert_int_equal(strspn(h, "0123456789abcdef"), 64);
	assert_string_equal(json_string_value(json_object_get(r, "hash")), h);
	assert_int_equal(audit_record_hash(r, again), 0);
	assert_string_equal(again, h);
	json_decref(r);

	/* No policies and no details: [] and {}. */
	audit_event_t empty = {0};
	r = audit_record(&empty, 1, "2023-11-14T22:13:20.000000Z", audit_genesis, h);
	assert_non_null(r);
	assert_true(json_is_null(json_object_get(r, "type")));
	assert_true(json_is_array(json_object_get(r, "policies")));
	assert_int_equal(json_array_size(json_object_get(r, "policies")), 0);
	assert_true(json_is_object(json_object_get(r, "details")));
	assert_int_equal(json_object_size(json_object_get(r, "details")), 0);
	json_decref(r);
	json_decref(pol);
	json_decref(det);
}

static void test_record_hash_needs_prev(void **state)
{
	char h[AUDIT_HASH_HEX];
	json_t *r = json_deep_copy(record_at(base_log, 3));
	/* The hash ignores the "hash" member itself. */
	set_member(r, "hash", json_string("whatever"));
	assert_int_equal(audit_record_hash(r, h), 0);
	assert_string_equal(h, hashes[3]);
	set_member(r, "prev", NULL);
	assert_int_equal(audit_record_hash(r, h), -1);
	set_member(r, "prev", json_integer(1));
	assert_int_equal(audit_record_hash(r, h), -1);
	/* Records carry no reals: one cannot be hashed. */
	set_member(r, "prev", json_string(hashes[2]));
	set_member(r, "details", tu_json("{\"x\":1.5}"));
	assert_int_equal(audit_record_hash(r, h), -1);
	json_decref(r);
	json_t *s = json_string("not a record");
	assert_int_equal(audit_record_hash(s, h), -1);
	json_decref(s);
}

/* Known answers, computed independently with /usr/bin/python3 (3.11):
 *   def h(rec):
 *       body = {k: v for k, v in rec.items() if k != "hash"}
 *       text = json.dumps(body, sort_keys=True, separators=(",", ":"),
 *                         ensure_ascii=False)
 *       return hashlib.sha256((body["prev"] + text).encode()).hexdigest()
 * over the two records built below (r1 with prev = 64 "0", r2 with prev =
 * h(r1)); and the checkpoint signature with python3-cryptography:
 *   Ed25519PrivateKey.from_private_bytes(RFC 8037 A.1 "d").sign(
 *       json.dumps({"seq": 2, "hash": h(r2), "time": T}, <same options>)
 *       .encode()), base64url without padding. */
#define KAT_H1 "5da0e37cf721759a2810de46546574bfe6433542302e541b80a29bd68acf4b0d"
#define KAT_H2 "1438db000717bb52f3056fe42380589b3104ebfcf9f1b0be5f8f6f673fdbe5a2"
#define KAT_CP_TIME "2023-11-14T22:13:22.000000Z"
#define KAT_CP_SIG "-NIKB5hQUwgzLttJLgvdtE-xRBW-UDVejYmUN0G9yzqcE23acBbAmnxZAzt_rPN18eGEDQ48-K6KTHLt_nA8AQ"

static void test_known_answer_hashes(void **state)
{
	char h1[AUDIT_HASH_HEX], h2[AUDIT_HASH_HEX];
	/* Python: "resource": "https://api.example/caf\u00e9",
	 * "policies": ["p1", "p\u00e9"], "details": {"scope": "read write",
	 * "n": 3, "note": "line\nbreak \"q\" \\ \u2028 \U0001F600 \x01",
	 * "nested": {"b": [True, False, None], "a": -5}}, grant and edge None. */
	json_t *pol = tu_json("[\"p1\",\"p\\u00e9\"]");
	json_t *det = tu_json("{\"scope\":\"read write\",\"n\":3,"
			      "\"note\":\"line\\nbreak \\\"q\\\" \\\\ \\u2028 \\ud83d\\ude00 \\u0001\","
			      "\"nested\":{\"b\":[true,false,null],\"a\":-5}}");
	audit_event_t ev1 = {
		.type = "token.issued", .actor = "svc-a", .action = "issue",
		.resource = "https://api.example/caf\303\251", .decision = "allow", .jti = "01HF2Z3ZQ4",
		.src = "192.0.2.1", .policies = pol, .details = det,
	};
	json_t *r1 = audit_record(&ev1, 1, "2023-11-14T22:13:20.123456Z", audit_genesis, h1);
	assert_non_null(r1);
	assert_string_equal(h1, KAT_H1);
	/* An event with every field absent. */
	audit_event_t ev2 = {.type = "auth.failed"};
	json_t *r2 = audit_record(&ev2, 2, "2023-11-14T22:13:21.000000Z", h1, h2);
	assert_non_null(r2);
	assert_string_equal(h2, KAT_H2);

	/* The RFC 8037 key signs deterministically. */
	tu_key_t k;
	tu_key_rfc8037(&k);
	json_t *cp = audit_checkpoint(2, h2, KAT_CP_TIME, KID, k.sk);
	assert_non_null(cp);
	assert_string_equal(json_string_value(json_object_get(cp, "sig")), KAT_CP_SIG);
	assert_string_equal(json_string_value(json_object_get(cp, "kid")), KID);
	assert_string_equal(json_string_value(json_object_get(cp, "hash")), KAT_H2);
	assert_string_equal(json_string_value(json_object_get(cp, "time")), KAT_CP_TIME);
	assert_int_equal(json_integer_value(json_object_get(cp, "seq")), 2);
	assert_int_equal(json_object_size(cp), 5);

	/* And the three verify under that key. */
	audit_key_t key = {.kid = KID};
	memcpy(key.pk, k.pk, sizeof key.pk);
	json_t *log = json_pack("[o,o,o]", r1, r2, cp);
	audit_verifier_t v;
	expect_ok_with(log, &key, 1, &v);
	assert_int_equal(v.records, 2);
	assert_int_equal(v.checkpoints, 1);
	json_decref(log);
	json_decref(pol);
	json_decref(det);
}

/* ---- the verifier on an intact log ---- */

static void test_chain_verifies(void **state)
{
	audit_verifier_t v;
	expect_ok(base_log, &v);
	assert_int_equal(v.records, N_RECORDS);
	assert_int_equal(v.checkpoints, 2);
	assert_int_equal(v.first_seq, 1);
	assert_int_equal(v.last_seq, N_RECORDS);
	assert_string_equal(v.last_hash, hashes[N_RECORDS]);
	assert_int_equal(v.last_checkpoint_seq, 8);
	assert_int_equal(v.n_pending, 0);
	/* Each checkpoint names the hash of its record. */
	assert_string_equal(json_string_value(json_object_get(checkpoint_at(base_log, 4), "hash")), hashes[4]);
	assert_string_equal(json_string_value(json_object_get(record_at(base_log, 5), "prev")), hashes[4]);
}

static void test_empty_log_verifies(void **state)
{
	audit_verifier_t v;
	json_t *log = json_array();
	expect_ok(log, &v);
	assert_int_equal(v.records, 0);
	assert_int_equal(v.first_seq, 0);
	json_decref(log);
}

static void test_without_checkpoints_verifies(void **state)
{
	audit_verifier_t v;
	json_t *log = fresh_log();
	remove_checkpoint(log, 4);
	remove_checkpoint(log, 8);
	/* No key is needed to check the links. */
	expect_ok_with(log, NULL, 0, &v);
	assert_int_equal(v.records, N_RECORDS);
	assert_int_equal(v.checkpoints, 0);
	json_decref(log);
}

static void test_pruned_log_verifies(void **state)
{
	audit_verifier_t v;
	/* A log that starts mid-chain without a checkpoint on its first record
	 * has lost its beginning (deleting record 1 must not pass as pruning). */
	json_t *log = fresh_log();
	for (int64_t seq = 1; seq <= 4; seq++)
		remove_record(log, seq);
	remove_checkpoint(log, 4);
	expect_fail(log, 5, "missing");

	/* Anchored by a checkpoint for its first record, fed before it. */
	log = fresh_log();
	for (int64_t seq = 1; seq <= 4; seq++)
		remove_record(log, seq);
	remove_checkpoint(log, 4);
	assert_int_equal(json_array_insert_new(log, 0, make_checkpoint(5, hashes[5], KID, audit_key.sk)), 0);
	expect_ok(log, &v);
	assert_int_equal(v.first_seq, 5);
	assert_int_equal(v.checkpoints, 2);
	json_decref(log);

	/* A log of one record, at 9, with its checkpoint. */
	log = json_pack("[O, o]", record_at(base_log, 9),
			make_checkpoint(9, hashes[9], KID, audit_key.sk));
	expect_ok(log, &v);
	assert_int_equal(v.first_seq, 9);
	assert_int_equal(v.last_seq, 9);
	json_decref(log);
}

static void test_key_rotation(void **state)
{
	/* Two trusted keys: the checkpoint at 4 from the old one, 8 from the
	 * new one. */
	audit_key_t keys[2] = {{.kid = "audit-0"}, {.kid = KID}};
	memcpy(keys[0].pk, other_key.pk, sizeof keys[0].pk);
	memcpy(keys[1].pk, audit_key.pk, sizeof keys[1].pk);
	json_t *log = fresh_log();
	size_t at = find(log, 4, true);
	assert_int_equal(json_array_set_new(log, at, make_checkpoint(4, hashes[4], "audit-0", other_key.sk)), 0);
	audit_verifier_t v;
	expect_ok_with(log, keys, 2, &v);
	assert_int_equal(v.checkpoints, 2);
	/* Only the new key trusted: the old checkpoint is unknown. */
	expect_fail_with(log, &keys[1], 1, 4, "unknown key", __LINE__);
	json_decref(log);
}

static void test_checkpoint_ahead_is_honoured(void **state)
{
	/* A checkpoint may come before the record it names; the record must
	 * then arrive and match. */
	audit_verifier_t v;
	json_t *log = fresh_log();
	json_t *cp8 = json_incref(checkpoint_at(log, 8));
	remove_checkpoint(log, 8);
	assert_int_equal(json_array_insert_new(log, find(log, 6, false) + 1, cp8), 0);
	expect_ok(log, &v);
	assert_int_equal(v.checkpoints, 2);
	json_decref(log);
}

/* ---- tampering ---- */

static void test_edited_field(void **state)
{
	json_t *log;
	log = fresh_log();
	set_member(record_at(log, 5), "actor", json_string("admin"));
	expect_fail(log, 5, "edited");

	log = fresh_log();
	set_member(record_at(log, 1), "decision", json_string("deny"));
	expect_fail(log, 1, "edited");

	log = fresh_log();
	set_member(record_at(log, 10), "time", json_string("2023-11-14T22:13:30.000000Z"));
	expect_fail(log, 10, "edited");

	/* Nested in details, in policies, a null made a string. */
	log = fresh_log();
	set_member(json_object_get(record_at(log, 3), "details"), "n", json_integer(4));
	expect_fail(log, 3, "edited");

	log = fresh_log();
	assert_int_equal(json_array_append_new(json_object_get(record_at(log, 6), "policies"),
					       json_string("p-extra")), 0);
	expect_fail(log, 6, "edited");

	log = fresh_log();
	set_member(record_at(log, 7), "edge", json_string("edge-1"));
	expect_fail(log, 7, "edited");

	/* A member added, a member removed. */
	log = fresh_log();
	set_member(record_at(log, 2), "note", json_string("added"));
	expect_fail(log, 2, "edited");

	log = fresh_log();
	set_member(record_at(log, 9), "grant", NULL);
	expect_fail(log, 9, "edited");

	/* The hash member itself; the prev member. */
	log = fresh_log();
	set_member(record_at(log, 6), "hash", json_string(hashes[5]));
	expect_fail(log, 6, "edited");

	log = fresh_log();
	set_member(record_at(log, 6), "prev", json_string(hashes[4]));
	expect_fail(log, 6, "edited");

	/* A real number where an integer was: not hashable, so edited. */
	log = fresh_log();
	set_member(json_object_get(record_at(log, 4), "details"), "n", json_real(4.0));
	expect_fail(log, 4, "edited");
}

static void test_edited_and_rehashed(void **state)
{
	/* The edited record's own hash fixed up: the next record's link
	 * breaks. */
	json_t *log = fresh_log();
	json_t *r = record_at(log, 5);
	set_member(r, "actor", json_string("admin"));
	rehash(r);
	expect_fail(log, 6, "prev hash mismatch");

	/* Right before a checkpoint: the checkpoint catches it first. */
	log = fresh_log();
	r = record_at(log, 4);
	set_member(r, "actor", json_string("admin"));
	rehash(r);
	expect_fail(log, 4, "rewritten");

	/* The last record: nothing follows, nothing covers it. */
	log = fresh_log();
	r = record_at(log, 10);
	set_member(r, "actor", json_string("admin"));
	rehash(r);
	audit_verifier_t v;
	expect_ok(log, &v);
	json_decref(log);
}

static void test_deleted_records(void **state)
{
	json_t *log;
	log = fresh_log();
	remove_record(log, 5);
	expect_fail(log, 5, "records 5 to 5 are missing");

	log = fresh_log();
	remove_record(log, 2);
	expect_fail(log, 2, "missing");

	log = fresh_log();
	remove_record(log, 5);
	remove_record(log, 6);
	remove_record(log, 7);
	expect_fail(log, 5, "records 5 to 7 are missing");

	/* The record a checkpoint names. */
	log = fresh_log();
	remove_record(log, 4);
	expect_fail(log, 4, "missing");

	log = fresh_log();
	remove_record(log, 8);
	expect_fail(log, 8, "missing");

	/* The one before the last: the gap shows at finish. */
	log = fresh_log();
	remove_record(log, 9);
	expect_fail(log, 9, "records 9 to 9 are missing");

	/* A record and its checkpoint together. */
	log = fresh_log();
	remove_record(log, 4);
	remove_checkpoint(log, 4);
	expect_fail(log, 4, "missing");
}

static void test_swapped_records(void **state)
{
	json_t *log;
	log = fresh_log();
	size_t a = find(log, 5, false), b = find(log, 6, false);
	json_t *r5 = json_incref(json_array_get(log, a));
	assert_int_equal(json_array_set(log, a, json_array_get(log, b)), 0);
	assert_int_equal(json_array_set_new(log, b, r5), 0);
	expect_fail(log, 5, "reordered");

	/* The last two. */
	log = fresh_log();
	a = find(log, 9, false);
	b = find(log, 10, false);
	json_t *r9 = json_incref(json_array_get(log, a));
	assert_int_equal(json_array_set(log, a, json_array_get(log, b)), 0);
	assert_int_equal(json_array_set_new(log, b, r9), 0);
	expect_fail(log, 9, "reordered");

	/* Across a checkpoint: 1 2 3 5 cp4 4 6 ... */
	log = fresh_log();
	a = find(log, 4, false);
	b = find(log, 5, false);
	json_t *r4 = json_incref(json_array_get(log, a));
	assert_int_equal(json_array_set(log, a, json_array_get(log, b)), 0);
	assert_int_equal(json_array_set_new(log, b, r4), 0);
	expect_fail(log, 4, "reordered");

	/* The first two: 2 looks like the start of a pruned log, then 1
	 * comes too late. */
	log = fresh_log();
	json_t *r1 = json_incref(json_array_get(log, 0));
	assert_int_equal(json_array_set(log, 0, json_array_get(log, 1)), 0);
	assert_int_equal(json_array_set_new(log, 1, r1), 0);
	expect_fail(log, 1, "reordered");
}

static void test_duplicated_records(void **state)
{
	json_t *log;
	log = fresh_log();
	assert_int_equal(json_array_insert(log, find(log, 5, false) + 1, record_at(log, 5)), 0);
	expect_fail(log, 5, "duplicated");

	log = fresh_log();
	assert_int_equal(json_array_insert(log, 1, record_at(log, 1)), 0);
	expect_fail(log, 1, "duplicated");

	log = fresh_log();
	assert_int_equal(json_array_append(log, record_at(log, 10)), 0);
	expect_fail(log, 10, "duplicated");

	/* An older record replayed further on. */
	log = fresh_log();
	assert_int_equal(json_array_insert(log, find(log, 7, false), record_at(log, 3)), 0);
	expect_fail(log, 3, "duplicated");
}

static void test_truncated_tail(void **state)
{
	/* Records 7..10 cut, but the checkpoint at 8 (kept apart from the
	 * records) still says record 8 existed. */
	json_t *log = fresh_log();
	json_t *cp8 = json_incref(checkpoint_at(log, 8));
	remove_checkpoint(log, 8);
	for (int64_t seq = 7; seq <= N_RECORDS; seq++)
		remove_record(log, seq);
	assert_int_equal(json_array_append_new(log, cp8), 0);
	expect_fail(log, 7, "truncated");

	/* Only the record the checkpoint names cut. */
	log = fresh_log();
	remove_record(log, 10);
	remove_record(log, 9);
	remove_record(log, 8);
	expect_fail(log, 8, "truncated");

	/* A checkpoint from the future, signed, with no records behind it. */
	log = fresh_log();
	assert_int_equal(json_array_append_new(log, make_checkpoint(12, hashes[10], KID, audit_key.sk)), 0);
	expect_fail(log, 11, "truncated");
}

static void test_truncated_after_last_checkpoint_undetectable(void **state)
{
	/* What the design cannot see: a cut below the last checkpoint leaves a
	 * valid, shorter log (checkpoint often enough). */
	audit_verifier_t v;
	json_t *log = fresh_log();
	remove_record(log, 10);
	remove_record(log, 9);
	expect_ok(log, &v);
	assert_int_equal(v.last_seq, 8);
	json_decref(log);
}

static void test_rewritten_chain(void **state)
{
	json_t *log;
	/* From 6 on, consistently: the checkpoint at 8 disagrees. */
	log = fresh_log();
	rewrite_from(log, 6, "actor", json_string("someone-else"));
	expect_fail(log, 8, "rewritten");

	/* From 2 on: the checkpoint at 4. */
	log = fresh_log();
	rewrite_from(log, 2, "decision", json_string("allow"));
	expect_fail(log, 4, "rewritten");

	/* From the first record, which keeps its genesis prev. */
	log = fresh_log();
	rewrite_from(log, 1, "type", json_string("nothing.happened"));
	expect_fail(log, 4, "rewritten");

	/* Exactly the checkpointed record. */
	log = fresh_log();
	rewrite_from(log, 8, "src", json_string("198.51.100.1"));
	expect_fail(log, 8, "rewritten");

	/* With a record dropped and the rest renumbered: 6 goes, 7..10 become
	 * 6..9. */
	log = fresh_log();
	remove_record(log, 6);
	for (int64_t seq = 7; seq <= N_RECORDS; seq++)
		set_member(record_at(log, seq), "seq", json_integer(seq - 1));
	set_member(record_at(log, 6), "prev", json_string(hashes[5]));
	rewrite_from(log, 6, "seq", json_integer(6));
	expect_fail(log, 8, "rewritten");

	/* A checkpoint fed ahead of its record: found when the record comes. */
	log = fresh_log();
	for (int64_t seq = 1; seq <= 4; seq++)
		remove_record(log, seq);
	remove_checkpoint(log, 4);
	assert_int_equal(json_array_insert_new(log, 0, make_checkpoint(5, hashes[5], KID, audit_key.sk)), 0);
	rewrite_from(log, 5, "actor", json_string("someone-else"));
	expect_fail(log, 5, "rewritten");

	/* Rewritten, and re-signed with another key under the same kid. */
	log = fresh_log();
	rewrite_from(log, 3, "actor", json_string("someone-else"));
	json_t *r4 = record_at(log, 4);
	assert_int_equal(json_array_set_new(log, find(log, 4, true),
					    make_checkpoint(4, json_string_value(json_object_get(r4, "hash")),
							    KID, other_key.sk)), 0);
	expect_fail(log, 4, "forged");
}

/* Replaces the checkpoint at 4 member key with value and expects
 * failure at seq with keyword. */
static void expect_cp4_fail(const char *key, json_t *value, int64_t seq, const char *keyword, int line)
{
	json_t *log = fresh_log();
	set_member(checkpoint_at(log, 4), key, value);
	expect_fail_with(log, trusted, 1, seq, keyword, line);
	json_decref(log);
}

static void test_forged_checkpoint(void **state)
{
	uint8_t sig[crypto_sign_BYTES];
	char b64[100];
	/* Signed with another key. */
	json_t *log = fresh_log();
	assert_int_equal(json_array_set_new(log, find(log, 4, true),
					    make_checkpoint(4, hashes[4], KID, other_key.sk)), 0);
	expect_fail(log, 4, "forged");

	/* Hash, time or seq altered under the same signature. */
	expect_cp4_fail("hash", json_string(hashes[3]), 4, "forged", __LINE__);
	expect_cp4_fail("hash", json_string("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
			4, "forged", __LINE__);
	expect_cp4_fail("time", json_string("2023-11-14T22:13:25.000000Z"), 4, "forged", __LINE__);
	expect_cp4_fail("seq", json_integer(3), 3, "forged", __LINE__);
	expect_cp4_fail("seq", json_integer(5), 5, "forged", __LINE__);

	/* Garbage signatures. */
	expect_cp4_fail("sig", json_string(""), 4, "forged", __LINE__);
	expect_cp4_fail("sig", json_string("AAAA"), 4, "forged", __LINE__);
	expect_cp4_fail("sig", json_string("not base64url!"), 4, "forged", __LINE__);
	expect_cp4_fail("sig", json_integer(0), 4, "forged", __LINE__);
	expect_cp4_fail("sig", json_null(), 4, "forged", __LINE__);
	expect_cp4_fail("sig", NULL, 4, "forged", __LINE__);
	memset(sig, 0, sizeof sig);
	b64url_encode_to(sig, sizeof sig, b64);
	expect_cp4_fail("sig", json_string(b64), 4, "forged", __LINE__);
	/* The right signature with one bit flipped, cut short, or padded. */
	size_t n = 0;
	const char *good = json_string_value(json_object_get(checkpoint_at(base_log, 4), "sig"));
	assert_int_equal(b64url_decode(good, strlen(good), sig, sizeof sig, &n), 0);
	assert_int_equal(n, sizeof sig);
	sig[40] ^= 0x20;
	b64url_encode_to(sig, sizeof sig, b64);
	expect_cp4_fail("sig", json_string(b64), 4, "forged", __LINE__);
	sig[40] ^= 0x20;
	b64url_encode_to(sig, sizeof sig - 1, b64);
	expect_cp4_fail("sig", json_string(b64), 4, "forged", __LINE__);
	char padded[120];
	snprintf(padded, sizeof padded, "%s==", good);
	expect_cp4_fail("sig", json_string(padded), 4, "forged", __LINE__);
	snprintf(padded, sizeof padded, "%sAA", good);
	expect_cp4_fail("sig", json_string(padded), 4, "forged", __LINE__);

	/* Time missing or not a string. */
	expect_cp4_fail("time", NULL, 4, "forged", __LINE__);
	expect_cp4_fail("time", json_integer(TU_NOW), 4, "forged", __LINE__);
}

static void test_unknown_kid(void **state)
{
	expect_cp4_fail("kid", json_string("audit-2"), 4, "unknown key", __LINE__);
	expect_cp4_fail("kid", json_string(""), 4, "unknown key", __LINE__);
	expect_cp4_fail("kid", json_string("AUDIT-1"), 4, "unknown key", __LINE__);
	expect_cp4_fail("kid", json_integer(1), 4, "unknown key", __LINE__);
	expect_cp4_fail("kid", NULL, 4, "unknown key", __LINE__);
	/* No trusted key at all, or only another one. */
	expect_fail_with(base_log, NULL, 0, 4, "unknown key", __LINE__);
	audit_key_t other = {.kid = "audit-0"};
	memcpy(other.pk, audit_key.pk, sizeof other.pk);
	expect_fail_with(base_log, &other, 1, 4, "unknown key", __LINE__);
	/* The right kid bound to the wrong public key. */
	audit_key_t wrong = {.kid = KID};
	memcpy(wrong.pk, other_key.pk, sizeof wrong.pk);
	expect_fail_with(base_log, &wrong, 1, 4, "forged", __LINE__);
}

static void test_malformed_checkpoint(void **state)
{
	/* Checkpoints that cannot be read fail where the records are (4). */
	expect_cp4_fail("seq", NULL, 4, "malformed", __LINE__);
	expect_cp4_fail("seq", json_string("4"), 4, "malformed", __LINE__);
	expect_cp4_fail("seq", json_real(4.0), 4, "malformed", __LINE__);
	expect_cp4_fail("seq", json_integer(0), 4, "malformed", __LINE__);
	expect_cp4_fail("seq", json_integer(-4), 4, "malformed", __LINE__);
	expect_cp4_fail("hash", NULL, 4, "malformed", __LINE__);
	expect_cp4_fail("hash", json_integer(4), 4, "malformed", __LINE__);
	expect_cp4_fail("hash", json_string("abc"), 4, "malformed", __LINE__);
	char longer[AUDIT_HASH_HEX + 1];
	snprintf(longer, sizeof longer, "%s0", hashes[4]);
	expect_cp4_fail("hash", json_string(longer), 4, "malformed", __LINE__);
	/* A checkpoint that is not an object. */
	json_t *log = fresh_log();
	assert_int_equal(json_array_insert_new(log, 2, tu_json("[\"sig\",\"kid\"]")), 0);
	audit_verifier_t v;
	audit_verify_init(&v, trusted, 1);
	assert_int_equal(audit_verify_record(&v, json_array_get(log, 0)), 0);
	assert_int_equal(audit_verify_record(&v, json_array_get(log, 1)), 0);
	assert_int_equal(audit_verify_checkpoint(&v, json_array_get(log, 2)), -1);
	assert_int_equal(v.error_seq, 2);
	tu_assert_why(v.error, "malformed");
	assert_int_equal(audit_verify_finish(&v), -1);
	json_decref(log);
}

static void test_checkpoint_out_of_place(void **state)
{
	/* The checkpoint at 4 after record 6. */
	json_t *log = fresh_log();
	json_t *cp4 = json_incref(checkpoint_at(log, 4));
	remove_checkpoint(log, 4);
	assert_int_equal(json_array_insert_new(log, find(log, 6, false) + 1, cp4), 0);
	expect_fail(log, 4, "out of place");

	/* Checkpoints going backwards. */
	log = fresh_log();
	cp4 = json_incref(checkpoint_at(log, 4));
	remove_checkpoint(log, 4);
	assert_int_equal(json_array_insert_new(log, find(log, 8, true) + 1, cp4), 0);
	expect_fail(log, 4, "comes after");

	/* Two checkpoints ahead of the records at once: both are checked when
	 * their records arrive. */
	audit_verifier_t v;
	log = fresh_log();
	json_t *cp8 = json_incref(checkpoint_at(log, 8));
	remove_checkpoint(log, 8);
	assert_int_equal(json_array_insert_new(log, find(log, 5, false) + 1,
					       make_checkpoint(6, hashes[6], KID, audit_key.sk)), 0);
	assert_int_equal(json_array_insert_new(log, find(log, 6, true) + 1, cp8), 0);
	expect_ok(log, &v);
	json_decref(log);

	/* ... and the second one is not just skipped: a wrong hash is caught. */
	log = fresh_log();
	remove_checkpoint(log, 8);
	assert_int_equal(json_array_insert_new(log, find(log, 5, false) + 1,
					       make_checkpoint(6, hashes[6], KID, audit_key.sk)), 0);
	assert_int_equal(json_array_insert_new(log, find(log, 6, true) + 1,
					       make_checkpoint(8, hashes[7], KID, audit_key.sk)), 0);
	expect_fail(log, 8, "rewritten");
}

/* Replaces record seq member key with value and expects "malformed" where
 * record seq should be. */
static void expect_malformed(int64_t seq, const char *key, json_t *value, int line)
{
	json_t *log = fresh_log();
	set_member(record_at(log, seq), key, value);
	expect_fail_with(log, trusted, 1, seq, "malformed", line);
	json_decref(log);
}

static void test_malformed_records(void **state)
{
	expect_malformed(5, "seq", NULL, __LINE__);
	expect_malformed(5, "prev", NULL, __LINE__);
	expect_malformed(5, "hash", NULL, __LINE__);
	expect_malformed(5, "seq", json_string("5"), __LINE__);
	expect_malformed(5, "seq", json_real(5.0), __LINE__);
	expect_malformed(5, "seq", json_null(), __LINE__);
	expect_malformed(5, "seq", json_true(), __LINE__);
	expect_malformed(5, "seq", json_integer(0), __LINE__);
	expect_malformed(5, "seq", json_integer(-5), __LINE__);
	expect_malformed(5, "seq", json_integer(INT64_MIN), __LINE__);
	expect_malformed(5, "prev", json_integer(4), __LINE__);
	expect_malformed(5, "prev", json_null(), __LINE__);
	expect_malformed(5, "prev", tu_json("[\"x\"]"), __LINE__);
	expect_malformed(5, "hash", json_null(), __LINE__);
	expect_malformed(5, "hash", json_integer(5), __LINE__);
	expect_malformed(5, "hash", json_object(), __LINE__);
	/* At the very start. */
	expect_malformed(1, "seq", NULL, __LINE__);
	expect_malformed(1, "prev", NULL, __LINE__);
	expect_malformed(1, "hash", json_false(), __LINE__);

	/* Not objects at all. */
	static const char *const not_records[] = {"[]", "[5]", "\"record\"", "5", "null", "true", "{}"};
	for (size_t i = 0; i < sizeof not_records / sizeof not_records[0]; i++) {
		json_error_t err;
		json_t *log = fresh_log();
		json_t *bad = json_loads(not_records[i], JSON_DECODE_ANY, &err);
		assert_non_null(bad);
		assert_int_equal(json_array_set_new(log, find(log, 3, false), bad), 0);
		expect_fail(log, 3, "malformed");
	}
}

static void test_first_record_not_genesis(void **state)
{
	char h[AUDIT_HASH_HEX];
	json_t *log = fresh_log();
	json_t *r1 = make_record(1, hashes[5], h);
	assert_int_equal(json_array_set_new(log, 0, r1), 0);
	expect_fail(log, 1, "genesis");

	log = json_array();
	assert_int_equal(json_array_append_new(log, make_record(1, "", h)), 0);
	expect_fail(log, 1, "genesis");

	/* A record at 1 after other records is a duplicate, not a start. */
	log = fresh_log();
	for (int64_t seq = 1; seq <= 4; seq++)
		remove_record(log, seq);
	remove_checkpoint(log, 4);
	assert_int_equal(json_array_insert_new(log, 0, make_checkpoint(5, hashes[5], KID, audit_key.sk)), 0);
	assert_int_equal(json_array_append_new(log, make_record(1, audit_genesis, h)), 0);
	expect_fail(log, 1, "out of order");
}

static void test_finish_reports_a_held_gap_and_releases(void **state)
{
	/* Fed by hand: 1, 2, then 4 (held, undecided), then finish. */
	audit_verifier_t v;
	audit_verify_init(&v, trusted, 1);
	assert_int_equal(audit_verify_record(&v, record_at(base_log, 1)), 0);
	assert_int_equal(audit_verify_record(&v, record_at(base_log, 2)), 0);
	assert_int_equal(audit_verify_record(&v, record_at(base_log, 4)), 0);
	assert_non_null(v.held);
	assert_int_equal(audit_verify_finish(&v), -1);
	assert_null(v.held);
	assert_int_equal(v.error_seq, 3);
	tu_assert_why(v.error, "records 3 to 3 are missing");

	/* A record held, then an error elsewhere: finish still releases it and
	 * keeps the first error. */
	audit_verify_init(&v, trusted, 1);
	assert_int_equal(audit_verify_record(&v, record_at(base_log, 1)), 0);
	assert_int_equal(audit_verify_record(&v, record_at(base_log, 3)), 0);
	json_t *bad = tu_json("{\"seq\":\"x\"}");
	assert_int_equal(audit_verify_checkpoint(&v, bad), -1);
	assert_int_equal(v.error_seq, 1);
	tu_assert_why(v.error, "malformed");
	assert_int_equal(audit_verify_finish(&v), -1);
	assert_null(v.held);
	assert_int_equal(v.error_seq, 1);
	tu_assert_why(v.error, "malformed");
	json_decref(bad);
}

static void test_seq_at_int64_limit(void **state)
{
	/* A record claiming the largest seq, correctly hashed (no key needed):
	 * refused, so that no seq arithmetic can overflow. */
	char h[AUDIT_HASH_HEX], h2[AUDIT_HASH_HEX];
	json_t *log = json_array();
	assert_int_equal(json_array_append_new(log, make_record(INT64_MAX - 1, hashes[3], h)), 0);
	assert_int_equal(json_array_append_new(log, make_record(INT64_MAX, h, h2)), 0);
	assert_int_equal(json_array_append_new(log, make_record(INT64_MAX, h2, h)), 0);
	expect_fail(log, INT64_MAX, "malformed");

	log = json_array();
	assert_int_equal(json_array_append_new(log, make_record(INT64_MAX, hashes[3], h)), 0);
	assert_int_equal(json_array_append_new(log, make_record(1, audit_genesis, h2)), 0);
	expect_fail(log, 1, "malformed");

	/* Just below the limit is fine (anchored by its checkpoint). */
	audit_verifier_t v;
	log = json_array();
	assert_int_equal(json_array_append_new(log, make_record(INT64_MAX - 1, hashes[3], h)), 0);
	assert_int_equal(json_array_append_new(log, make_checkpoint(INT64_MAX - 1, h, KID, audit_key.sk)), 0);
	expect_ok(log, &v);
	assert_int_equal(v.last_seq, INT64_MAX - 1);
	json_decref(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_record_shape),
		cmocka_unit_test(test_record_hash_needs_prev),
		cmocka_unit_test(test_known_answer_hashes),
		cmocka_unit_test(test_chain_verifies),
		cmocka_unit_test(test_empty_log_verifies),
		cmocka_unit_test(test_without_checkpoints_verifies),
		cmocka_unit_test(test_pruned_log_verifies),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_checkpoint_ahead_is_honoured),
		cmocka_unit_test(test_edited_field),
		cmocka_unit_test(test_edited_and_rehashed),
		cmocka_unit_test(test_deleted_records),
		cmocka_unit_test(test_swapped_records),
		cmocka_unit_test(test_duplicated_records),
		cmocka_unit_test(test_truncated_tail),
		cmocka_unit_test(test_truncated_after_last_checkpoint_undetectable),
		cmocka_unit_test(test_rewritten_chain),
		cmocka_unit_test(test_forged_checkpoint),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_malformed_checkpoint),
		cmocka_unit_test(test_checkpoint_out_of_place),
		cmocka_unit_test(test_malformed_records),
		cmocka_unit_test(test_first_record_not_genesis),
		cmocka_unit_test(test_finish_reports_a_held_gap_and_releases),
		cmocka_unit_test(test_seq_at_int64_limit),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
