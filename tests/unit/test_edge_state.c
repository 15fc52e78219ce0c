/* test_edge_state.c - the edge's synced state (src/edge/edge_state.c):
 * the JWKS, policy and entities documents good and bad (a bad one keeps
 * the old; new keys move the keys generation on), feed batches (a
 * snapshot replaces the revocations; changes revoke tokens, suspend and
 * reactivate identities, activate and end grants; document entries and
 * differing versions ask for a refetch), expired tokens and grants swept,
 * and state_dir: what one state wrote, another loads and answers the same;
 * missing or cut files fail the load with a reason. */
#include "test_util.h"
#include "core/policy/entities.h"
#include "edge/edge_state.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define POLICY_TEXT "permit(principal, action == Action::\\\"orders.read\\\", resource);"
#define ENTITY(id) "{\"uid\": {\"type\": \"Api\", \"id\": \"" id "\"}, \"attrs\": {}, \"parents\": []}"
#define GRANT_A "g-AAAAAAAAAAAAAAAAAAAAAA"
#define GRANT_B "g-BBBBBBBBBBBBBBBBBBBBBB"

/* printf into a malloc'd string. */
__attribute__((format(printf, 1, 2))) static char *fmt(const char *f, ...)
{
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	char *s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* ---- documents as the broker answers them ---- */

/* {"keys": [JWK of each key, kid "k-<i>"]} (malloc'd). */
static char *jwks_text(const tu_key_t *keys, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		char kid[16];
		snprintf(kid, sizeof kid, "k-%zu", i);
		json_array_append_new(arr, ed_pk_to_jwk(keys[i].pk, kid));
	}
	json_t *doc = json_pack("{s:o}", "keys", arr);
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_non_null(text);
	return text;
}

static char *policy_text(int version)
{
	return fmt("{\"version\": %d, \"sha256\": \"00\", \"text\": \"" POLICY_TEXT "\"}", version);
}

static char *entities_text(int version)
{
	return fmt("{\"version\": %d, \"entities\": [" ENTITY("orders") ", " ENTITY("billing") "]}", version);
}

typedef int (*set_fn)(edge_state_t *, const char *, size_t, const char *, char *, size_t);

static void set_ok(edge_state_t *s, set_fn set, char *text, const char *dir)
{
	char why[300] = "";
	if (set(s, text, strlen(text), dir, why, sizeof why) != 0)
		fail_msg("refused: %s\n%s", why, text);
	free(text);
}

static void set_refused(edge_state_t *s, set_fn set, const char *text, const char *needle)
{
	char why[300] = "";
	if (set(s, text, strlen(text), NULL, why, sizeof why) == 0)
		fail_msg("accepted %s", text);
	tu_assert_why(why, needle);
}

/* A state with the keys, the policy at version 3 and entities at 4. */
static edge_state_t *ready_state(const tu_key_t *key, const char *dir)
{
	edge_state_t *s = edge_state_new();
	assert_non_null(s);
	set_ok(s, edge_state_set_jwks, jwks_text(key, 1), dir);
	set_ok(s, edge_state_set_policy, policy_text(3), dir);
	set_ok(s, edge_state_set_entities, entities_text(4), dir);
	return s;
}

/* ---- feed batches ---- */

static feed_entry_t token_e(int64_t seq, const char *jti, const char *sub, int64_t exp)
{
	feed_entry_t e = {.seq = seq, .kind = FEED_TOKEN, .exp = exp};
	snprintf(e.id, sizeof e.id, "%s", jti);
	snprintf(e.sub, sizeof e.sub, "%s", sub);
	return e;
}

static feed_entry_t identity_e(int64_t seq, const char *id, const char *st, int64_t at)
{
	feed_entry_t e = {.seq = seq, .kind = FEED_IDENTITY, .at = at};
	snprintf(e.id, sizeof e.id, "%s", id);
	snprintf(e.state, sizeof e.state, "%s", st);
	return e;
}

static feed_entry_t grant_e(int64_t seq, const char *id, const char *st, const char *who, int64_t ends_at)
{
	feed_entry_t e = {.seq = seq, .kind = FEED_GRANT, .exp = ends_at, .approvals = 2, .break_glass = true};
	snprintf(e.id, sizeof e.id, "%s", id);
	snprintf(e.state, sizeof e.state, "%s", st);
	snprintf(e.sub, sizeof e.sub, "%s", who);
	snprintf(e.reason, sizeof e.reason, "INC-%s", id + 2);
	return e;
}

static feed_entry_t doc_e(int64_t seq, feed_kind_t kind)
{
	return (feed_entry_t){.seq = seq, .kind = kind};
}

/* A batch at head seq carrying versions matching the state (so that only
 * its entries ask for refetches) unless the caller changes them. */
static feed_batch_t batch(const edge_state_t *s, int64_t seq, bool snapshot, feed_entry_t *entries, size_t n)
{
	feed_batch_t b = {.seq = seq, .snapshot = snapshot, .entries = entries, .n = n};
	edge_state_versions(s, &b.policy_version, &b.entities_version, b.jwks_sha256);
	return b;
}

static unsigned apply(edge_state_t *s, feed_batch_t b, const char *dir)
{
	unsigned refetch = 99;
	assert_int_equal(edge_state_apply(s, &b, TU_NOW, dir, &refetch), 0);
	return refetch;
}

/* ---- state_dir ---- */

static char *temp_dir(void)
{
	char *dir = strdup("/tmp/tg-edge-state-XXXXXX");
	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

static void remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d)) != NULL;) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = fmt("%s/%s", dir, de->d_name);
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
	free(dir);
}

static void write_text(const char *dir, const char *name, const char *text, size_t len)
{
	char *p = fmt("%s/%s", dir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static char *read_text(const char *dir, const char *name, size_t *len)
{
	char *p = fmt("%s/%s", dir, name);
	char *text = tu_read_file(p, len);
	free(p);
	assert_non_null(text);
	return text;
}

/* ---- documents ---- */

static void test_jwks(void **state)
{
	tu_key_t k[3];
	size_t n = 0;
	int64_t pv, ev;
	char sha1[65], sha2[65];
	for (int i = 0; i < 3; i++)
		tu_key_random(&k[i]);
	edge_state_t *s = edge_state_new();
	assert_non_null(s);
	assert_false(edge_state_ready(s));
	assert_int_equal(edge_state_keys_generation(s), 0);
	set_ok(s, edge_state_set_jwks, jwks_text(k, 1), NULL);
	uint64_t gen1 = edge_state_keys_generation(s);
	assert_true(gen1 > 0);
	const tok_key_t *keys = edge_state_keys(s, &n);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0].kid, "k-0");
	assert_memory_equal(keys[0].pk, k[0].pk, ED25519_PK_LEN);
	edge_state_versions(s, &pv, &ev, sha1);
	assert_int_equal(strlen(sha1), 64);

	/* bad documents: refused, the keys and their generation stay */
	set_refused(s, edge_state_set_jwks, "{\"keys\": [", "not JSON");
	set_refused(s, edge_state_set_jwks, "[]", "no keys array");
	set_refused(s, edge_state_set_jwks, "{\"keys\": {}}", "no keys array");
	set_refused(s, edge_state_set_jwks, "{\"keys\": []}", "no usable Ed25519 key");
	set_refused(s, edge_state_set_jwks, "{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"r\", \"n\": \"AQAB\", \"e\": \"AQAB\"}]}",
		    "no usable Ed25519 key");
	char *no_kid = fmt("{\"keys\": [{\"kty\": \"OKP\", \"crv\": \"Ed25519\", \"x\": \"%s\"}]}", TU_RFC8037_X);
	set_refused(s, edge_state_set_jwks, no_kid, "no usable Ed25519 key");
	free(no_kid);
	assert_int_equal(edge_state_keys_generation(s), gen1);
	keys = edge_state_keys(s, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(keys[0].pk, k[0].pk, ED25519_PK_LEN);
	edge_state_versions(s, &pv, &ev, sha2);
	assert_string_equal(sha1, sha2);

	/* a rotation: new keys, a new generation and sha */
	set_ok(s, edge_state_set_jwks, jwks_text(k, 3), NULL);
	assert_true(edge_state_keys_generation(s) > gen1);
	keys = edge_state_keys(s, &n);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_memory_equal(keys[i].pk, k[i].pk, ED25519_PK_LEN);
	assert_string_equal(keys[2].kid, "k-2");
	edge_state_versions(s, &pv, &ev, sha2);
	assert_string_not_equal(sha1, sha2);

	/* unusable keys in the set are skipped, the usable ones kept */
	json_t *mixed = tu_json("{\"keys\": [{\"kty\": \"RSA\", \"kid\": \"r\"}]}");
	json_array_append_new(json_object_get(mixed, "keys"), ed_pk_to_jwk(k[1].pk, "k-1"));
	char *mixed_text = json_dumps(mixed, JSON_COMPACT);
	json_decref(mixed);
	set_ok(s, edge_state_set_jwks, mixed_text, NULL);
	keys = edge_state_keys(s, &n);
	assert_int_equal(n, 1);
	assert_memory_equal(keys[0].pk, k[1].pk, ED25519_PK_LEN);
	assert_false(edge_state_ready(s)); /* keys alone are not enough */
	edge_state_free(s);
}

static void test_policy_and_entities(void **state)
{
	tu_key_t k;
	int64_t pv, ev;
	char sha[65];
	tu_key_random(&k);
	edge_state_t *s = ready_state(&k, NULL);
	assert_true(edge_state_ready(s));
	const pol_engine_t *eng = edge_state_engine(s);
	assert_non_null(eng);
	assert_int_equal(pol_engine_set(eng)->n, 1);
	assert_int_equal(pol_entities_count(edge_state_entities(s)), 2);
	edge_state_versions(s, &pv, &ev, sha);
	assert_int_equal(pv, 3);
	assert_int_equal(ev, 4);

	/* bad policy answers keep the old engine and version */
	set_refused(s, edge_state_set_policy, "{\"version\": 5, \"text\": \"permit(\"}", "does not load");
	set_refused(s, edge_state_set_policy, "{\"version\": 5}", "no text or version");
	set_refused(s, edge_state_set_policy, "{\"version\": \"5\", \"text\": \"\"}", "no text or version");
	set_refused(s, edge_state_set_policy, "{\"text\": \"permit(principal, action, resource);\"}",
		    "no text or version");
	set_refused(s, edge_state_set_policy, "permit(principal, action, resource);", "no text or version");
	assert_ptr_equal(edge_state_engine(s), eng);
	/* bad entities answers keep the old store and version */
	set_refused(s, edge_state_set_entities, "{\"version\": 5, \"entities\": {}}", "no entities array");
	set_refused(s, edge_state_set_entities, "{\"entities\": []}", "no entities array or version");
	set_refused(s, edge_state_set_entities, "{\"version\": 5, \"entities\": [{\"attrs\": {}}]}", "uid");
	set_refused(s, edge_state_set_entities,
		    "{\"version\": 5, \"entities\": [" ENTITY("orders")
		    ", {\"uid\": {\"type\": \"Api\", \"id\": \"orders\"}, \"attrs\": {\"a\": 1}, \"parents\": []}]}",
		    "duplicate entity uid");
	assert_int_equal(pol_entities_count(edge_state_entities(s)), 2);
	edge_state_versions(s, &pv, &ev, sha);
	assert_int_equal(pv, 3);
	assert_int_equal(ev, 4);

	/* good ones replace */
	set_ok(s, edge_state_set_policy,
	       fmt("{\"version\": 6, \"text\": \"permit(principal, action, resource); forbid(principal, action, "
		   "resource) when { false };\"}"),
	       NULL);
	set_ok(s, edge_state_set_entities, fmt("{\"version\": 7, \"entities\": [" ENTITY("x") "]}"), NULL);
	assert_int_equal(pol_engine_set(edge_state_engine(s))->n, 2);
	assert_int_equal(pol_entities_count(edge_state_entities(s)), 1);
	edge_state_versions(s, &pv, &ev, sha);
	assert_int_equal(pv, 6);
	assert_int_equal(ev, 7);
	edge_state_free(s);
}

/* ---- feed batches ---- */

static void test_changes(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	edge_state_t *s = ready_state(&k, NULL);
	feed_entry_t e1[] = {
		token_e(11, "jti-1", "svc-a", TU_NOW + 300),
		identity_e(12, "svc-b", "suspended", TU_NOW - 5),
		grant_e(13, GRANT_A, "active", "svc-c", TU_NOW + 600),
	};
	/* an identity entry asks for the entities (its entity changed) */
	assert_int_equal(apply(s, batch(s, 20, false, e1, 3), NULL), EDGE_REFETCH_ENTITIES);
	assert_int_equal(edge_state_seq(s), 20);
	edge_state_read(s);
	assert_true(edge_state_token_revoked(s, "jti-1"));
	assert_false(edge_state_token_revoked(s, "jti-2"));
	assert_false(edge_state_token_revoked(s, "svc-a"));
	const edge_identity_t *id = edge_state_identity(s, "svc-b");
	assert_non_null(id);
	assert_string_equal(id->state, "suspended");
	assert_int_equal(id->at, TU_NOW - 5);
	assert_null(edge_state_identity(s, "svc-a"));
	const edge_grant_t *g = edge_state_grant(s, GRANT_A);
	assert_non_null(g);
	assert_string_equal(g->state, "active");
	assert_string_equal(g->identity, "svc-c");
	assert_int_equal(g->ends_at, TU_NOW + 600);
	assert_int_equal(g->approvals, 2);
	assert_true(g->break_glass);
	assert_string_equal(g->reason, "INC-AAAAAAAAAAAAAAAAAAAAAA");
	assert_null(edge_state_grant(s, GRANT_B));
	edge_state_done(s);

	/* reactivated; the grant ended; another identity offboarded */
	feed_entry_t e2[] = {
		identity_e(21, "svc-b", "active", TU_NOW),
		grant_e(22, GRANT_A, "ended", "svc-c", TU_NOW + 600),
		identity_e(23, "svc-d", "offboarded", TU_NOW),
	};
	assert_int_equal(apply(s, batch(s, 23, false, e2, 3), NULL), EDGE_REFETCH_ENTITIES);
	assert_null(edge_state_identity(s, "svc-b"));
	assert_string_equal(edge_state_identity(s, "svc-d")->state, "offboarded");
	assert_string_equal(edge_state_grant(s, GRANT_A)->state, "ended");
	assert_true(edge_state_token_revoked(s, "jti-1")); /* changes add to what is there */
	assert_int_equal(edge_state_seq(s), 23);

	/* an empty batch: no refetch, the position moves */
	assert_int_equal(apply(s, batch(s, 40, false, NULL, 0), NULL), 0);
	assert_int_equal(edge_state_seq(s), 40);
	edge_state_free(s);
}

static void test_refetch_bits(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	edge_state_t *s = ready_state(&k, NULL);
	feed_entry_t p = doc_e(41, FEED_POLICY), en = doc_e(42, FEED_ENTITIES), j = doc_e(43, FEED_JWKS);
	feed_entry_t all[] = {p, en, j};
	assert_int_equal(apply(s, batch(s, 41, false, &p, 1), NULL), EDGE_REFETCH_POLICY);
	assert_int_equal(apply(s, batch(s, 42, false, &en, 1), NULL), EDGE_REFETCH_ENTITIES);
	assert_int_equal(apply(s, batch(s, 43, false, &j, 1), NULL), EDGE_REFETCH_JWKS);
	assert_int_equal(apply(s, batch(s, 50, false, all, 3), NULL),
			 EDGE_REFETCH_POLICY | EDGE_REFETCH_ENTITIES | EDGE_REFETCH_JWKS);

	/* versions that differ from the state's ask too */
	feed_batch_t b = batch(s, 60, false, NULL, 0);
	b.policy_version++;
	assert_int_equal(apply(s, b, NULL), EDGE_REFETCH_POLICY);
	b = batch(s, 61, false, NULL, 0);
	b.entities_version--;
	assert_int_equal(apply(s, b, NULL), EDGE_REFETCH_ENTITIES);
	b = batch(s, 62, false, NULL, 0);
	b.jwks_sha256[0] = b.jwks_sha256[0] == 'a' ? 'b' : 'a';
	assert_int_equal(apply(s, b, NULL), EDGE_REFETCH_JWKS);
	b = batch(s, 63, false, NULL, 0);
	b.jwks_sha256[0] = '\0'; /* not sent: no opinion */
	assert_int_equal(apply(s, b, NULL), 0);

	/* a state without documents asks for the policy and the entities */
	edge_state_t *empty = edge_state_new();
	assert_non_null(empty);
	b = (feed_batch_t){.seq = 1};
	assert_int_equal(apply(empty, b, NULL), EDGE_REFETCH_POLICY | EDGE_REFETCH_ENTITIES);
	edge_state_free(empty);
	edge_state_free(s);
}

static void test_snapshot_replaces(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	edge_state_t *s = ready_state(&k, NULL);
	feed_entry_t changes[] = {
		token_e(1, "jti-old", "svc-a", TU_NOW + 300),
		identity_e(2, "svc-old", "suspended", TU_NOW),
		grant_e(3, GRANT_A, "active", "svc-a", TU_NOW + 300),
	};
	apply(s, batch(s, 3, false, changes, 3), NULL);
	feed_entry_t snap[] = {
		token_e(0, "jti-new", "svc-a", TU_NOW + 300),
		identity_e(0, "svc-new", "offboarded", TU_NOW),
		grant_e(0, GRANT_B, "active", "svc-a", 0),
	};
	apply(s, batch(s, 900, true, snap, 3), NULL);
	assert_int_equal(edge_state_seq(s), 900);
	assert_false(edge_state_token_revoked(s, "jti-old"));
	assert_null(edge_state_identity(s, "svc-old"));
	assert_null(edge_state_grant(s, GRANT_A));
	assert_true(edge_state_token_revoked(s, "jti-new"));
	assert_string_equal(edge_state_identity(s, "svc-new")->state, "offboarded");
	assert_string_equal(edge_state_grant(s, GRANT_B)->state, "active");
	/* an empty snapshot: nothing revoked at all */
	apply(s, batch(s, 901, true, NULL, 0), NULL);
	assert_false(edge_state_token_revoked(s, "jti-new"));
	assert_null(edge_state_identity(s, "svc-new"));
	assert_null(edge_state_grant(s, GRANT_B));
	assert_true(edge_state_ready(s)); /* the documents are not the feed's */
	edge_state_free(s);
}

static void test_expired_swept(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	edge_state_t *s = ready_state(&k, NULL);
	feed_entry_t e[] = {
		token_e(1, "jti-past", "svc-a", TU_NOW - 1),
		token_e(2, "jti-now", "svc-a", TU_NOW),
		token_e(3, "jti-later", "svc-a", TU_NOW + 1),
		grant_e(4, GRANT_A, "ended", "svc-a", TU_NOW - 1),
		grant_e(5, GRANT_B, "active", "svc-a", TU_NOW + 1),
		grant_e(6, "g-CCCCCCCCCCCCCCCCCCCCCC", "active", "svc-a", 0), /* no end */
	};
	apply(s, batch(s, 6, false, e, 6), NULL);
	assert_false(edge_state_token_revoked(s, "jti-past"));
	assert_true(edge_state_token_revoked(s, "jti-now"));
	assert_true(edge_state_token_revoked(s, "jti-later"));
	assert_null(edge_state_grant(s, GRANT_A));
	assert_non_null(edge_state_grant(s, GRANT_B));
	assert_non_null(edge_state_grant(s, "g-CCCCCCCCCCCCCCCCCCCCCC"));
	/* later, the next batch sweeps what has expired since */
	feed_batch_t b = batch(s, 7, false, NULL, 0);
	unsigned refetch;
	assert_int_equal(edge_state_apply(s, &b, TU_NOW + 2, NULL, &refetch), 0);
	assert_false(edge_state_token_revoked(s, "jti-now"));
	assert_false(edge_state_token_revoked(s, "jti-later"));
	assert_null(edge_state_grant(s, GRANT_B));
	assert_non_null(edge_state_grant(s, "g-CCCCCCCCCCCCCCCCCCCCCC"));
	edge_state_free(s);
}

/* ---- state_dir ---- */

/* Every query answers the same on a and b. */
static void assert_same(edge_state_t *a, edge_state_t *b)
{
	size_t na, nb;
	int64_t pa, ea, pb, eb;
	char sa[65], sb[65];
	edge_state_read(a);
	edge_state_read(b);
	assert_true(edge_state_ready(b));
	const tok_key_t *ka = edge_state_keys(a, &na), *kb = edge_state_keys(b, &nb);
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_string_equal(ka[i].kid, kb[i].kid);
		assert_memory_equal(ka[i].pk, kb[i].pk, ED25519_PK_LEN);
	}
	assert_true(edge_state_keys_generation(b) > 0);
	edge_state_versions(a, &pa, &ea, sa);
	edge_state_versions(b, &pb, &eb, sb);
	assert_int_equal(pa, pb);
	assert_int_equal(ea, eb);
	assert_string_equal(sa, sb);
	assert_int_equal(edge_state_seq(a), edge_state_seq(b));
	assert_int_equal(pol_engine_set(edge_state_engine(b))->n, pol_engine_set(edge_state_engine(a))->n);
	assert_int_equal(pol_entities_count(edge_state_entities(b)), pol_entities_count(edge_state_entities(a)));
	static const char *const jtis[] = {"jti-1", "jti-2", "jti-3", "jti-x"};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(edge_state_token_revoked(a, jtis[i]), edge_state_token_revoked(b, jtis[i]));
	static const char *const ids[] = {"svc-a", "svc-b", "svc-c"};
	for (size_t i = 0; i < 3; i++) {
		const edge_identity_t *x = edge_state_identity(a, ids[i]), *y = edge_state_identity(b, ids[i]);
		assert_int_equal(x == NULL, y == NULL);
		if (x != NULL) {
			assert_string_equal(x->state, y->state);
			assert_int_equal(x->at, y->at);
		}
	}
	static const char *const grants[] = {GRANT_A, GRANT_B};
	for (size_t i = 0; i < 2; i++) {
		const edge_grant_t *x = edge_state_grant(a, grants[i]), *y = edge_state_grant(b, grants[i]);
		assert_int_equal(x == NULL, y == NULL);
		if (x != NULL) {
			assert_string_equal(x->state, y->state);
			assert_string_equal(x->identity, y->identity);
			assert_string_equal(x->reason, y->reason);
			assert_int_equal(x->ends_at, y->ends_at);
			assert_int_equal(x->approvals, y->approvals);
			assert_int_equal(x->break_glass, y->break_glass);
		}
	}
	edge_state_done(b);
	edge_state_done(a);
}

static edge_state_t *loaded(const char *dir)
{
	char why[300] = "";
	edge_state_t *s = edge_state_new();
	assert_non_null(s);
	if (edge_state_load(s, dir, why, sizeof why) != 0)
		fail_msg("load refused: %s", why);
	return s;
}

static void test_state_dir_round_trip(void **state)
{
	tu_key_t k[2];
	tu_key_random(&k[0]);
	tu_key_random(&k[1]);
	char *dir = temp_dir();
	edge_state_t *s = ready_state(&k[0], dir);
	set_ok(s, edge_state_set_jwks, jwks_text(k, 2), dir);
	feed_entry_t snap[] = {
		token_e(0, "jti-1", "svc-a", TU_NOW + 300),
		identity_e(0, "svc-b", "suspended", TU_NOW - 60),
		grant_e(0, GRANT_A, "active", "svc-c", TU_NOW + 600),
	};
	apply(s, batch(s, 70, true, snap, 3), dir);
	feed_entry_t changes[] = {
		token_e(71, "jti-2", "svc-c", TU_NOW + 30),
		identity_e(72, "svc-a", "offboarded", TU_NOW - 1),
		grant_e(73, GRANT_B, "revoked", "svc-c", 0),
	};
	apply(s, batch(s, 80, false, changes, 3), dir);

	edge_state_t *r = loaded(dir);
	assert_same(s, r);
	assert_int_equal(edge_state_seq(r), 80);
	assert_true(edge_state_token_revoked(r, "jti-2"));
	assert_string_equal(edge_state_grant(r, GRANT_B)->state, "revoked");
	edge_state_free(r);

	/* a later change is what the next load sees */
	feed_entry_t reactivated = identity_e(81, "svc-b", "active", TU_NOW);
	apply(s, batch(s, 81, false, &reactivated, 1), dir);
	r = loaded(dir);
	assert_null(edge_state_identity(r, "svc-b"));
	assert_same(s, r);
	edge_state_free(r);
	edge_state_free(s);
	remove_dir(dir);
}

/* An edge starting from nothing applies the snapshot first, then fetches
 * the documents the snapshot asks for; a restart before the next feed
 * answer finds state.json written while it had no JWKS yet, which must
 * still load (state.json then has no "jwks" version). */
static void test_state_dir_snapshot_before_documents(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *dir = temp_dir();
	edge_state_t *s = edge_state_new();
	assert_non_null(s);
	feed_entry_t t = token_e(0, "jti-1", "svc-a", TU_NOW + 300);
	feed_batch_t b = {.seq = 5, .snapshot = true, .entries = &t, .n = 1, .policy_version = 3, .entities_version = 4};
	apply(s, b, dir);
	set_ok(s, edge_state_set_jwks, jwks_text(&k, 1), dir);
	set_ok(s, edge_state_set_policy, policy_text(3), dir);
	set_ok(s, edge_state_set_entities, entities_text(4), dir);
	edge_state_t *r = loaded(dir);
	assert_same(s, r);
	edge_state_free(r);
	edge_state_free(s);
	remove_dir(dir);
}

static void assert_load_fails(const char *dir, const char *needle)
{
	char why[300] = "";
	edge_state_t *s = edge_state_new();
	assert_non_null(s);
	assert_int_equal(edge_state_load(s, dir, why, sizeof why), -1);
	tu_assert_why(why, needle);
	edge_state_free(s);
}

static void test_state_dir_load_failures(void **state)
{
	tu_key_t k;
	tu_key_random(&k);
	char *dir = temp_dir();
	assert_load_fails(dir, "no readable jwks.json");
	assert_load_fails("/nonexistent/tg-edge", "no readable");
	edge_state_t *s = ready_state(&k, dir);
	assert_load_fails(dir, "no readable state.json"); /* documents but no feed position */
	feed_entry_t e[] = {
		token_e(0, "jti-1", "svc-a", TU_NOW + 300),
		grant_e(0, GRANT_A, "active", "svc-c", TU_NOW + 600),
	};
	apply(s, batch(s, 9, true, e, 2), dir);
	edge_state_free(loaded(dir));

	size_t len;
	char *whole = read_text(dir, "state.json", &len);
	write_text(dir, "state.json", whole, len / 2); /* cut mid-record */
	assert_load_fails(dir, "not a JSON object");
	write_text(dir, "state.json", whole, 0);
	assert_load_fails(dir, "not a JSON object");
	const char *changes = "{\"seq\": 9, \"entries\": []}";
	write_text(dir, "state.json", changes, strlen(changes));
	assert_load_fails(dir, "not a snapshot");
	const char *bad_entry = "{\"seq\": 9, \"snapshot\": true, \"entries\": [{\"kind\": \"token\", \"id\": \"x\"}]}";
	write_text(dir, "state.json", bad_entry, strlen(bad_entry));
	assert_load_fails(dir, "token entry lacks a member");
	write_text(dir, "state.json", whole, len);
	edge_state_free(loaded(dir));

	/* a bad document fails the load too */
	char *jwks = read_text(dir, "jwks.json", &len);
	write_text(dir, "jwks.json", jwks, len - 1);
	assert_load_fails(dir, "not JSON");
	write_text(dir, "jwks.json", jwks, len);
	char *policy = read_text(dir, "policy.json", &len);
	const char *bad_policy = "{\"version\": 3, \"text\": \"permit(\"}";
	write_text(dir, "policy.json", bad_policy, strlen(bad_policy));
	assert_load_fails(dir, "does not load");
	write_text(dir, "policy.json", policy, len);
	char *p = fmt("%s/entities.json", dir);
	assert_int_equal(unlink(p), 0);
	free(p);
	assert_load_fails(dir, "no readable entities.json");
	free(jwks);
	free(policy);
	free(whole);
	edge_state_free(s);
	remove_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_policy_and_entities),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_refetch_bits),
		cmocka_unit_test(test_snapshot_replaces),
		cmocka_unit_test(test_expired_swept),
		cmocka_unit_test(test_state_dir_round_trip),
		cmocka_unit_test(test_state_dir_snapshot_before_documents),
		cmocka_unit_test(test_state_dir_load_failures),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
