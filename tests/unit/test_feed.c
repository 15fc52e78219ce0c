/* test_feed.c - the revocation feed, pure (src/core/feed.c, docs/edge.md):
 * the feed types agree with the store's audit_feed index
 * (SQLITE_FEED_TYPES), the entry every feed record becomes (built with
 * audit_record, as the store keeps them) and NULL for the rest, the edge's
 * decoder on good answers and snapshots and on every refusal it promises,
 * and feed_entry_json read back by the decoder. */
#include "test_util.h"
#include "core/audit.h"
#include "core/feed.h"
#include "core/grant.h"
#include "store/migrations.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHEN "2023-11-14T22:13:20.123456Z" /* TU_NOW and a fraction */
#define GRANT_ID "g-AAAAAAAAAAAAAAAAAAAAAA"

/* n copies of c (malloc'd). */
static char *rep(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

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

/* ---- the feed types ------------------------------------------------------ */

/* The quoted names of SQLITE_FEED_TYPES ("'a', 'b', ..."), in order; *n
 * gets how many. */
static char **migration_types(size_t *n)
{
	static const char text[] = SQLITE_FEED_TYPES;
	char **out = calloc(sizeof text, sizeof *out);
	assert_non_null(out);
	*n = 0;
	for (const char *p = text; (p = strchr(p, '\'')) != NULL;) {
		const char *end = strchr(p + 1, '\'');
		assert_non_null(end);
		out[*n] = fmt("%.*s", (int)(end - p - 1), p + 1);
		(*n)++;
		p = end + 1;
		/* between two names only ", " */
		assert_true(*p == '\0' || strncmp(p, ", '", 3) == 0);
	}
	return out;
}

static void test_types_agree_with_migration(void **state)
{
	size_t n = 0, core = 0;
	char **sql = migration_types(&n);
	for (; feed_audit_types[core] != NULL; core++) {
		assert_true(core < n);
		assert_string_equal(feed_audit_types[core], sql[core]);
		assert_true(feed_audit_type(sql[core]));
	}
	assert_int_equal(core, n);
	for (size_t i = 0; i < n; i++)
		free(sql[i]);
	free(sql);
}

static void test_type_membership(void **state)
{
	static const char *const not_feed[] = {
		"token.issued", "token.refused", "token.exchanged", "auth.failed", "grant.requested",
		"grant.denied", "grant.cancelled", "identity.key_added", "audit.checkpoint",
		"", "token.revoked ", "Token.revoked", "token", "policy", NULL,
	};
	for (const char *const *t = not_feed; *t != NULL; t++)
		assert_false(feed_audit_type(*t));
	assert_false(feed_audit_type(NULL));
}

/* ---- feed entries from audit records -------------------------------------- */

/* A record as the store keeps it: ev at seq, time WHEN. */
static json_t *record(audit_event_t ev, int64_t seq)
{
	char hash[AUDIT_HASH_HEX];
	json_t *r = audit_record(&ev, seq, WHEN, audit_genesis, hash);
	assert_non_null(r);
	return r;
}

/* feed_entry_from_record(rec) equals the JSON text want (NULL: no entry);
 * drops rec. */
#define assert_entry(rec, want) assert_entry_at((rec), (want), __FILE__, __LINE__)
static void assert_entry_at(json_t *rec, const char *want, const char *file, int line)
{
	json_t *got = feed_entry_from_record(rec);
	json_decref(rec);
	if (want == NULL) {
		if (got != NULL) {
			char *s = json_dumps(got, JSON_SORT_KEYS);
			print_error("expected no entry, got %s\n", s);
			free(s);
			_fail(file, line);
		}
		return;
	}
	json_t *w = tu_json(want);
	if (got == NULL || !json_equal(got, w)) {
		char *s = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
		print_error("entry %s, expected %s\n", s ? s : "NULL", want);
		free(s);
		_fail(file, line);
	}
	json_decref(w);
	json_decref(got);
}

static json_t *revoked(const char *jti, json_t *details)
{
	json_t *r = record((audit_event_t){.type = "token.revoked", .actor = "admin", .jti = jti,
					   .details = details},
			   7);
	json_decref(details);
	return r;
}

static void test_entry_token(void **state)
{
	assert_entry(revoked("j-1", tu_json("{\"sub\": \"svc-a\", \"exp\": 1700003600}")),
		     "{\"seq\": 7, \"kind\": \"token\", \"id\": \"j-1\", \"sub\": \"svc-a\", \"exp\": 1700003600}");
	/* each member the entry needs, missing or of the wrong type */
	assert_entry(revoked(NULL, tu_json("{\"sub\": \"svc-a\", \"exp\": 1}")), NULL);
	assert_entry(revoked("j-1", tu_json("{\"exp\": 1}")), NULL);
	assert_entry(revoked("j-1", tu_json("{\"sub\": \"svc-a\"}")), NULL);
	assert_entry(revoked("j-1", tu_json("{\"sub\": 5, \"exp\": 1}")), NULL);
	assert_entry(revoked("j-1", tu_json("{\"sub\": \"svc-a\", \"exp\": \"1\"}")), NULL);
	/* canonical JSON has no reals: a stored record never does either */
	json_t *rec = revoked("j-1", tu_json("{\"sub\": \"svc-a\", \"exp\": 1}"));
	json_object_set_new(json_object_get(rec, "details"), "exp", json_real(1.5));
	assert_entry(rec, NULL);
	assert_entry(revoked("j-1", NULL), NULL);
}

static json_t *identity_event(const char *type, const char *resource)
{
	return record((audit_event_t){.type = type, .actor = "admin", .resource = resource}, 12);
}

static void test_entry_identity(void **state)
{
	static const struct {
		const char *type, *state;
	} v[] = {
		{"identity.suspended", "suspended"},
		{"identity.reactivated", "active"},
		{"identity.offboarded", "offboarded"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *want = fmt("{\"seq\": 12, \"kind\": \"identity\", \"id\": \"svc-a\", \"state\": \"%s\", "
				 "\"at\": %lld}",
				 v[i].state, (long long)TU_NOW);
		assert_entry(identity_event(v[i].type, "Identity:svc-a"), want);
		free(want);
		/* the resource names the identity, or there is no entry */
		assert_entry(identity_event(v[i].type, NULL), NULL);
		assert_entry(identity_event(v[i].type, "Identity:"), NULL);
		assert_entry(identity_event(v[i].type, "Identity"), NULL);
		assert_entry(identity_event(v[i].type, "Grant:svc-a"), NULL);
		assert_entry(identity_event(v[i].type, "Identityx:svc-a"), NULL);
	}
	/* an id with a colon keeps it */
	assert_entry(identity_event("identity.suspended", "Identity:a:b"),
		     "{\"seq\": 12, \"kind\": \"identity\", \"id\": \"a:b\", \"state\": \"suspended\", "
		     "\"at\": 1700000000}");
}

static void test_entry_identity_time(void **state)
{
	/* a record without a readable time still makes the entry, at 0 */
	json_t *rec = identity_event("identity.suspended", "Identity:svc-a");
	json_object_set_new(rec, "time", json_string("yesterday"));
	assert_entry(rec, "{\"seq\": 12, \"kind\": \"identity\", \"id\": \"svc-a\", \"state\": \"suspended\", "
			  "\"at\": 0}");
	rec = identity_event("identity.suspended", "Identity:svc-a");
	json_object_del(rec, "time");
	assert_entry(rec, "{\"seq\": 12, \"kind\": \"identity\", \"id\": \"svc-a\", \"state\": \"suspended\", "
			  "\"at\": 0}");
}

static void test_entry_entities(void **state)
{
	/* a new or changed identity, operator or entity set: refetch entities */
	static const char *const types[] = {"identity.created", "identity.updated", "operator.created",
					    "operator.confirmed", "operator.disabled", "entities.changed"};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		assert_entry(identity_event(types[i], "Identity:svc-a"), "{\"seq\": 12, \"kind\": \"entities\"}");
	/* identities are named by their resource */
	assert_entry(identity_event("identity.created", NULL), NULL);
	assert_entry(identity_event("entities.changed", NULL), "{\"seq\": 12, \"kind\": \"entities\"}");
}

static json_t *grant_event(const char *type, const char *grant, const char *resource)
{
	return record((audit_event_t){.type = type, .actor = "alice", .grant = grant, .resource = resource}, 30);
}

static void test_entry_grant(void **state)
{
	static const struct {
		const char *type, *state;
	} v[] = {
		/* an approval may activate the grant at once (the broker puts the
		 * grant's effective state in the entry) */
		{"grant.approved", "active"},  {"grant.activated", "active"}, {"grant.break_glass", "active"},
		{"grant.ended", "ended"},      {"grant.revoked", "revoked"},  {"grant.expired", "expired"},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *want = fmt("{\"seq\": 30, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"%s\"}",
				 v[i].state);
		/* the grant member, else the resource */
		assert_entry(grant_event(v[i].type, GRANT_ID, NULL), want);
		assert_entry(grant_event(v[i].type, GRANT_ID, "Api:prod"), want);
		assert_entry(grant_event(v[i].type, NULL, "Grant:" GRANT_ID), want);
		free(want);
		assert_entry(grant_event(v[i].type, NULL, NULL), NULL);
		assert_entry(grant_event(v[i].type, NULL, "Grant:"), NULL);
		assert_entry(grant_event(v[i].type, NULL, "Identity:" GRANT_ID), NULL);
	}
}

static void test_entry_documents(void **state)
{
	assert_entry(record((audit_event_t){.type = "policy.changed", .actor = "admin"}, 40),
		     "{\"seq\": 40, \"kind\": \"policy\"}");
	assert_entry(record((audit_event_t){.type = "key.rotated", .actor = "admin", .resource = "Key:k2"}, 41),
		     "{\"seq\": 41, \"kind\": \"jwks\"}");
	assert_entry(record((audit_event_t){.type = "key.created", .actor = "admin"}, 42),
		     "{\"seq\": 42, \"kind\": \"jwks\"}");
}

static json_t *kill_event(const char *edge, const char *resource, json_t *details)
{
	json_t *r = record((audit_event_t){.type = "edge.session_kill", .actor = "alice", .resource = resource,
					   .edge = edge, .details = details},
			   50);
	json_decref(details);
	return r;
}

static void test_entry_session_kill(void **state)
{
	assert_entry(kill_event("edge-1", "Session:ms-AAAAAAAAAAAAAAAA", tu_json("{\"reason\": \"stuck HMI\"}")),
		     "{\"seq\": 50, \"kind\": \"session_kill\", \"id\": \"ms-AAAAAAAAAAAAAAAA\", \"edge\": \"edge-1\","
		     " \"reason\": \"stuck HMI\"}");
	/* no reason, or an empty one: the entry has none */
	assert_entry(kill_event("edge-1", "Session:ms-AAAAAAAAAAAAAAAA", NULL),
		     "{\"seq\": 50, \"kind\": \"session_kill\", \"id\": \"ms-AAAAAAAAAAAAAAAA\", \"edge\": \"edge-1\"}");
	assert_entry(kill_event("edge-1", "Session:ms-AAAAAAAAAAAAAAAA", tu_json("{\"reason\": \"\"}")),
		     "{\"seq\": 50, \"kind\": \"session_kill\", \"id\": \"ms-AAAAAAAAAAAAAAAA\", \"edge\": \"edge-1\"}");
	/* the edge and the session are named, or there is no entry */
	assert_entry(kill_event(NULL, "Session:ms-AAAAAAAAAAAAAAAA", NULL), NULL);
	assert_entry(kill_event("edge-1", NULL, NULL), NULL);
	assert_entry(kill_event("edge-1", "Session:", NULL), NULL);
	assert_entry(kill_event("edge-1", "Grant:ms-AAAAAAAAAAAAAAAA", NULL), NULL);
}

static json_t *secret_event(const char *type, const char *resource)
{
	return record((audit_event_t){.type = type, .actor = "admin", .resource = resource}, 60);
}

static void test_entry_secret(void **state)
{
	static const struct {
		const char *type, *state;
	} v[] = {{"secret.updated", "updated"}, {"secret.rotated", "rotated"}, {"secret.deleted", "deleted"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char *want = fmt("{\"seq\": 60, \"kind\": \"secret\", \"id\": \"erp-db\", \"state\": \"%s\"}", v[i].state);
		/* the resource as Cedar writes it, or in the compact form */
		assert_entry(secret_event(v[i].type, "Secret::\"erp-db\""), want);
		assert_entry(secret_event(v[i].type, "Secret:erp-db"), want);
		free(want);
		assert_entry(secret_event(v[i].type, NULL), NULL);
		assert_entry(secret_event(v[i].type, "Secret:"), NULL);
		assert_entry(secret_event(v[i].type, "Secret::\"\""), NULL);
		assert_entry(secret_event(v[i].type, "Secret::\"erp-db"), NULL);
		assert_entry(secret_event(v[i].type, "Secret::erp-db\""), NULL);
		assert_entry(secret_event(v[i].type, "Secret::\"a\"b\""), NULL);
		assert_entry(secret_event(v[i].type, "Secret::\"a\\\\b\""), NULL);
		assert_entry(secret_event(v[i].type, "Api::\"erp-db\""), NULL);
	}
	/* reads and versions listed are no feed entries */
	assert_entry(secret_event("secret.read", "Secret::\"erp-db\""), NULL);
	assert_entry(secret_event("secret.created", "Secret::\"erp-db\""), NULL);
}

static void test_entry_not_feed(void **state)
{
	static const char *const types[] = {"token.issued", "token.refused", "auth.failed", "grant.requested",
					    "grant.denied", "grant.cancelled", "identity.key_added", "policy.linted"};
	json_t *details = tu_json("{\"sub\": \"svc-a\", \"exp\": 1}");
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		assert_entry(record((audit_event_t){.type = types[i], .actor = "admin", .jti = "j-1",
						    .grant = GRANT_ID, .resource = "Identity:svc-a", .details = details},
				    5),
			     NULL);
	json_decref(details);
	/* not a record, no type, no integer seq */
	assert_null(feed_entry_from_record(NULL));
	assert_entry(tu_json("[]"), NULL);
	assert_entry(tu_json("{\"seq\": 1}"), NULL);
	assert_entry(tu_json("{\"seq\": 1, \"type\": 5}"), NULL);
	assert_entry(tu_json("{\"type\": \"policy.changed\"}"), NULL);
	assert_entry(tu_json("{\"seq\": \"1\", \"type\": \"policy.changed\"}"), NULL);
	assert_entry(tu_json("{\"seq\": 1.0, \"type\": \"policy.changed\"}"), NULL);
}

/* ---- the edge's decoder ----------------------------------------------------- */

#define TOKEN_E(seq) "{\"seq\": " #seq ", \"kind\": \"token\", \"id\": \"j-1\", \"sub\": \"svc-a\", \"exp\": 1700003600}"
#define IDENT_E(seq) "{\"seq\": " #seq ", \"kind\": \"identity\", \"id\": \"svc-b\", \"state\": \"suspended\", \"at\": 5}"
#define POLICY_E(seq) "{\"seq\": " #seq ", \"kind\": \"policy\"}"

static int parse(const char *text, int64_t since, feed_batch_t *b, char *why, size_t len)
{
	return feed_batch_parse(text, strlen(text), since, b, why, len);
}

/* text is refused for an edge at since, and why mentions needle. */
#define assert_refused(text, since, needle) assert_refused_at((text), (since), (needle), __FILE__, __LINE__)
static void assert_refused_at(const char *text, int64_t since, const char *needle, const char *file, int line)
{
	feed_batch_t b;
	char why[200] = "";
	if (parse(text, since, &b, why, sizeof why) != -1) {
		print_error("accepted: %s\n", text);
		feed_batch_free(&b);
		_fail(file, line);
	}
	/* refused and released: nothing for the edge to apply */
	if (b.entries != NULL || b.n != 0)
		_fail(file, line);
	tu_assert_why_at(why, needle, file, line);
}

/* An answer with seq and the given entries (a JSON array's inside). */
static char *answer(int64_t seq, const char *entries)
{
	return fmt("{\"seq\": %lld, \"snapshot\": false, \"entries\": [%s]}", (long long)seq, entries);
}

#define assert_entries_refused(seq, entries, since, needle)                                                     \
	do {                                                                                                     \
		char *a_ = answer((seq), (entries));                                                             \
		assert_refused(a_, (since), (needle));                                                           \
		free(a_);                                                                                        \
	} while (0)

static void test_parse_answer(void **state)
{
	static const char text[] = (
		"{\"seq\": 60, \"snapshot\": false, \"entries\": ["
		TOKEN_E(11) ", " IDENT_E(12) ","
		"{\"seq\": 30, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\","
		" \"identity\": \"svc-c\", \"approvals\": 2, \"break_glass\": true, \"reason\": \"fix prod\","
		" \"ends_at\": 1700007200},"
		POLICY_E(40) ", {\"seq\": 41, \"kind\": \"entities\"}, {\"seq\": 60, \"kind\": \"jwks\"}],"
		" \"versions\": {\"policy\": 3, \"entities\": 4, \"jwks\": \"ab12\"}}");
	feed_batch_t b;
	char why[200];
	assert_int_equal(parse(text, 10, &b, why, sizeof why), 0);
	assert_int_equal(b.seq, 60);
	assert_false(b.snapshot);
	assert_int_equal(b.policy_version, 3);
	assert_int_equal(b.entities_version, 4);
	assert_string_equal(b.jwks_sha256, "ab12");
	assert_int_equal(b.n, 6);
	const feed_entry_t *e = b.entries;
	assert_int_equal(e[0].seq, 11);
	assert_int_equal(e[0].kind, FEED_TOKEN);
	assert_string_equal(e[0].id, "j-1");
	assert_string_equal(e[0].sub, "svc-a");
	assert_int_equal(e[0].exp, 1700003600);
	assert_int_equal(e[1].kind, FEED_IDENTITY);
	assert_string_equal(e[1].id, "svc-b");
	assert_string_equal(e[1].state, "suspended");
	assert_int_equal(e[1].at, 5);
	assert_int_equal(e[2].kind, FEED_GRANT);
	assert_string_equal(e[2].id, GRANT_ID);
	assert_string_equal(e[2].state, "active");
	assert_string_equal(e[2].sub, "svc-c");
	assert_int_equal(e[2].approvals, 2);
	assert_true(e[2].break_glass);
	assert_string_equal(e[2].reason, "fix prod");
	assert_int_equal(e[2].exp, 1700007200);
	assert_int_equal(e[3].kind, FEED_POLICY);
	assert_int_equal(e[4].kind, FEED_ENTITIES);
	assert_int_equal(e[5].kind, FEED_JWKS);
	assert_int_equal(e[5].seq, 60); /* at the head */
	feed_batch_free(&b);
	assert_null(b.entries);
	assert_int_equal(b.n, 0);
	feed_batch_free(&b); /* twice is harmless */
}

static void test_parse_minimal(void **state)
{
	feed_batch_t b;
	char why[200];
	/* nothing new: the head may equal since; snapshot and versions optional */
	assert_int_equal(parse("{\"seq\": 9, \"entries\": []}", 9, &b, why, sizeof why), 0);
	assert_int_equal(b.seq, 9);
	assert_false(b.snapshot);
	assert_int_equal(b.n, 0);
	assert_string_equal(b.jwks_sha256, "");
	feed_batch_free(&b);
	/* a grant entry with only what the broker knows of an unknown grant */
	char *a = answer(20, "{\"seq\": 20, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"ended\"}");
	assert_int_equal(parse(a, 3, &b, why, sizeof why), 0);
	assert_int_equal(b.n, 1);
	assert_string_equal(b.entries[0].sub, "");
	assert_string_equal(b.entries[0].reason, "");
	assert_false(b.entries[0].break_glass);
	feed_batch_free(&b);
	free(a);
	/* members the decoder does not know are left alone */
	a = answer(20, "{\"seq\": 20, \"kind\": \"policy\", \"version\": 7}");
	assert_int_equal(parse(a, 3, &b, why, sizeof why), 0);
	feed_batch_free(&b);
	free(a);
}

static void test_parse_snapshot(void **state)
{
	static const char text[] = (
		"{\"seq\": 500, \"snapshot\": true, \"entries\": ["
		TOKEN_E(0) ", " IDENT_E(0) ", "
		"{\"seq\": 0, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"identity\": \"x\","
		" \"approvals\": 1, \"break_glass\": false, \"reason\": \"r\", \"ends_at\": 9}],"
		" \"versions\": {\"policy\": 1, \"entities\": 1, \"jwks\": \"ff\"}}");
	feed_batch_t b;
	char why[200];
	/* from nothing, from behind, and from ahead (a broker restored from a
	 * backup): a snapshot replaces the whole state */
	const int64_t since[] = {0, 17, 499, 500, 9000};
	for (size_t i = 0; i < sizeof since / sizeof since[0]; i++) {
		assert_int_equal(parse(text, since[i], &b, why, sizeof why), 0);
		assert_true(b.snapshot);
		assert_int_equal(b.seq, 500);
		assert_int_equal(b.n, 3);
		for (size_t j = 0; j < b.n; j++)
			assert_int_equal(b.entries[j].seq, 0);
		feed_batch_free(&b);
	}
	/* an empty snapshot: no state at all */
	assert_int_equal(parse("{\"seq\": 0, \"snapshot\": true, \"entries\": []}", 0, &b, why, sizeof why), 0);
	feed_batch_free(&b);
	/* snapshot entries carry seq 0 (or leave it out) */
	assert_int_equal(parse("{\"seq\": 3, \"snapshot\": true, \"entries\": [{\"kind\": \"policy\"}]}", 0, &b, why,
			       sizeof why),
			 0);
	feed_batch_free(&b);
	assert_refused("{\"seq\": 500, \"snapshot\": true, \"entries\": [" TOKEN_E(0) ", " IDENT_E(5) "]}", 0,
		       "out of order");
	assert_refused("{\"seq\": 500, \"snapshot\": true, \"entries\": [" TOKEN_E(500) "]}", 0, "out of order");
}

static void test_parse_not_json(void **state)
{
	static const char *const bad[] = {
		"", " ", "null", "[]", "42", "\"seq\"", "{", "{\"seq\": 1, \"entries\": []",
		"{\"seq\": 1, \"entries\": []}}", "{'seq': 1, 'entries': []}", "{\"seq\": 1, \"entries\": [],}",
		"{\"seq\": 1, \"entries\": [\"\\u0000\"]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_refused(bad[i], 0, "not a JSON object");
	/* the length is what counts, not a NUL */
	feed_batch_t b;
	char why[200];
	static const char nul[] = "{\"seq\": 1, \"entries\": []}\0garbage";
	assert_int_equal(feed_batch_parse(nul, sizeof nul - 1, 0, &b, why, sizeof why), -1);
	assert_int_equal(feed_batch_parse(nul, strlen(nul) - 1, 0, &b, why, sizeof why), -1); /* cut */
	assert_int_equal(feed_batch_parse(nul, strlen(nul), 0, &b, why, sizeof why), 0);
	feed_batch_free(&b);
}

static void test_parse_head(void **state)
{
	assert_refused("{\"entries\": []}", 0, "seq is missing or behind");
	assert_refused("{\"seq\": 4, \"entries\": []}", 5, "seq is missing or behind");
	assert_refused("{\"seq\": -1, \"entries\": []}", 0, "seq is missing or behind");
	assert_refused("{\"seq\": \"9\", \"entries\": []}", 0, "seq is missing or behind");
	assert_refused("{\"seq\": 9.5, \"entries\": []}", 0, "seq is missing or behind");
	assert_refused("{\"seq\": null, \"entries\": []}", 0, "seq is missing or behind");
	assert_refused("{\"seq\": 9, \"snapshot\": 1, \"entries\": []}", 0, "snapshot must be a boolean");
	assert_refused("{\"seq\": 9, \"snapshot\": \"true\", \"entries\": []}", 0, "snapshot must be a boolean");
	assert_refused("{\"seq\": 9, \"snapshot\": null, \"entries\": []}", 0, "snapshot must be a boolean");
	assert_refused("{\"seq\": 9}", 0, "entries must be an array");
	assert_refused("{\"seq\": 9, \"entries\": {}}", 0, "entries must be an array");
	assert_refused("{\"seq\": 9, \"entries\": null}", 0, "entries must be an array");
}

static void test_parse_versions(void **state)
{
	static const char *const bad[] = {
		"[]", "1", "{\"policy\": \"1\"}", "{\"policy\": -1}", "{\"entities\": 1.5}", "{\"jwks\": 5}",
		"{\"jwks\": \"\"}", NULL,
	};
	for (const char *const *v = bad; *v != NULL; v++) {
		char *a = fmt("{\"seq\": 9, \"entries\": [], \"versions\": %s}", *v);
		assert_refused(a, 0, "versions must be");
		free(a);
	}
	char *h64 = rep('a', 64), *h65 = rep('a', 65), *a = NULL;
	feed_batch_t b;
	char why[200];
	a = fmt("{\"seq\": 9, \"entries\": [], \"versions\": {\"jwks\": \"%s\"}}", h64);
	assert_int_equal(parse(a, 0, &b, why, sizeof why), 0);
	assert_string_equal(b.jwks_sha256, h64);
	feed_batch_free(&b);
	free(a);
	a = fmt("{\"seq\": 9, \"entries\": [], \"versions\": {\"jwks\": \"%s\"}}", h65);
	assert_refused(a, 0, "versions must be");
	free(a);
	free(h64);
	free(h65);
}

static void test_parse_order(void **state)
{
	/* out of order, the same seq twice, at or below since, past the head */
	assert_entries_refused(20, TOKEN_E(12) ", " IDENT_E(11), 10, "entry 1 is out of order");
	assert_entries_refused(20, TOKEN_E(12) ", " IDENT_E(12), 10, "entry 1 is out of order");
	assert_entries_refused(20, TOKEN_E(10), 10, "entry 0 is out of order");
	assert_entries_refused(20, TOKEN_E(9), 10, "entry 0 is out of order");
	assert_entries_refused(20, TOKEN_E(21), 10, "entry 0 is out of order");
	assert_entries_refused(20, TOKEN_E(11) ", " POLICY_E(21), 10, "entry 1 is out of order");
	/* seq 0 (or none) is a snapshot's, not a change's */
	assert_entries_refused(20, TOKEN_E(0), 0, "out of order");
	assert_entries_refused(20, "{\"kind\": \"policy\"}", 0, "out of order");
	assert_entries_refused(20, "{\"seq\": -3, \"kind\": \"policy\"}", 0, "seq is not a non-negative integer");
	assert_entries_refused(20, "{\"seq\": \"11\", \"kind\": \"policy\"}", 0, "seq is not a non-negative integer");
	assert_entries_refused(20, "{\"seq\": 11.0, \"kind\": \"policy\"}", 0, "seq is not a non-negative integer");
	/* in order, up to the head: fine */
	feed_batch_t b;
	char why[200];
	char *a = answer(20, TOKEN_E(11) ", " IDENT_E(19) ", " POLICY_E(20));
	assert_int_equal(parse(a, 10, &b, why, sizeof why), 0);
	assert_int_equal(b.n, 3);
	feed_batch_free(&b);
	free(a);
}

static void test_parse_kinds(void **state)
{
	assert_entries_refused(20, "{\"seq\": 11, \"kind\": \"key\"}", 0, "no known kind");
	assert_entries_refused(20, "{\"seq\": 11, \"kind\": \"Token\"}", 0, "no known kind");
	assert_entries_refused(20, "{\"seq\": 11, \"kind\": \"unknown\"}", 0, "no known kind");
	assert_entries_refused(20, "{\"seq\": 11, \"kind\": 0}", 0, "no known kind");
	assert_entries_refused(20, "{\"seq\": 11}", 0, "no known kind");
	assert_entries_refused(20, "[]", 0, "not an object");
	assert_entries_refused(20, "\"policy\"", 0, "not an object");
	assert_entries_refused(20, "null", 0, "not an object");
	/* one bad entry refuses the whole answer */
	assert_entries_refused(20, TOKEN_E(11) ", {\"seq\": 12, \"kind\": \"nope\"}", 0, "no known kind");
}

/* Each of these, as an entry at seq 11, is refused as lacking a member or
 * having one of the wrong type. */
static void test_parse_members(void **state)
{
	static const char *const bad[] = {
		/* token */
		"\"kind\": \"token\", \"sub\": \"s\", \"exp\": 1",
		"\"kind\": \"token\", \"id\": \"j\", \"exp\": 1",
		"\"kind\": \"token\", \"id\": \"j\", \"sub\": \"s\"",
		"\"kind\": \"token\", \"id\": 1, \"sub\": \"s\", \"exp\": 1",
		"\"kind\": \"token\", \"id\": \"j\", \"sub\": [], \"exp\": 1",
		"\"kind\": \"token\", \"id\": \"j\", \"sub\": \"s\", \"exp\": \"1\"",
		"\"kind\": \"token\", \"id\": \"j\", \"sub\": \"s\", \"exp\": -1",
		"\"kind\": \"token\", \"id\": \"j\", \"sub\": \"s\", \"exp\": 1.0",
		"\"kind\": \"token\", \"id\": \"\", \"sub\": \"s\", \"exp\": 1",
		"\"kind\": \"token\", \"id\": \"j\", \"sub\": \"\", \"exp\": 1",
		"\"kind\": \"token\", \"id\": null, \"sub\": \"s\", \"exp\": 1",
		/* identity */
		"\"kind\": \"identity\", \"state\": \"suspended\"",
		"\"kind\": \"identity\", \"id\": \"a\"",
		"\"kind\": \"identity\", \"id\": \"a\", \"state\": \"deleted\"",
		"\"kind\": \"identity\", \"id\": \"a\", \"state\": \"Suspended\"",
		"\"kind\": \"identity\", \"id\": \"a\", \"state\": \"suspendedsuspended\"",
		"\"kind\": \"identity\", \"id\": \"a\", \"state\": 1",
		"\"kind\": \"identity\", \"id\": \"a\", \"state\": \"active\", \"at\": \"now\"",
		"\"kind\": \"identity\", \"id\": \"a\", \"state\": \"active\", \"at\": -5",
		/* grant */
		"\"kind\": \"grant\", \"state\": \"active\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"Active\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"canceled\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"unknown\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": 3",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"identity\": 5",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"identity\": \"\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"approvals\": \"2\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"approvals\": -2",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"ends_at\": true",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"reason\": 7",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"reason\": \"\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"break_glass\": \"true\"",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"break_glass\": 1",
		"\"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\", \"break_glass\": null",
		/* session_kill */
		"\"kind\": \"session_kill\", \"edge\": \"e\"",
		"\"kind\": \"session_kill\", \"id\": \"ms-x\"",
		"\"kind\": \"session_kill\", \"id\": \"ms-x\", \"edge\": 1",
		"\"kind\": \"session_kill\", \"id\": \"\", \"edge\": \"e\"",
		"\"kind\": \"session_kill\", \"id\": \"ms-x\", \"edge\": \"e\", \"reason\": 5",
		"\"kind\": \"session_kill\", \"id\": \"ms-x\", \"edge\": \"e\", \"reason\": \"\"",
		/* secret */
		"\"kind\": \"secret\", \"state\": \"updated\"",
		"\"kind\": \"secret\", \"id\": \"s\"",
		"\"kind\": \"secret\", \"id\": \"s\", \"state\": \"read\"",
		"\"kind\": \"secret\", \"id\": \"s\", \"state\": \"Updated\"",
		"\"kind\": \"secret\", \"id\": 1, \"state\": \"updated\"",
		NULL,
	};
	for (const char *const *m = bad; *m != NULL; m++) {
		char *entry = fmt("{\"seq\": 11, %s}", *m);
		assert_entries_refused(20, entry, 0, "lacks a member or has one of the wrong type");
		free(entry);
	}
}

/* An entry at seq 11 of kind with member name set to a string of n
 * copies of c; other members valid. */
static char *entry_with(const char *kind, const char *name, size_t n)
{
	char *v = rep('x', n), *e = NULL;
	if (strcmp(kind, "token") == 0)
		e = fmt("{\"seq\": 11, \"kind\": \"token\", \"id\": \"%s\", \"sub\": \"%s\", \"exp\": 1}",
			strcmp(name, "id") == 0 ? v : "j", strcmp(name, "sub") == 0 ? v : "s");
	else if (strcmp(kind, "identity") == 0)
		e = fmt("{\"seq\": 11, \"kind\": \"identity\", \"id\": \"%s\", \"state\": \"active\"}", v);
	else
		e = fmt("{\"seq\": 11, \"kind\": \"grant\", \"id\": \"%s\", \"state\": \"active\", \"identity\": \"%s\", "
			"\"reason\": \"%s\"}",
			strcmp(name, "id") == 0 ? v : GRANT_ID, strcmp(name, "identity") == 0 ? v : "i",
			strcmp(name, "reason") == 0 ? v : "r");
	free(v);
	return e;
}

static void test_parse_lengths(void **state)
{
	static const struct {
		const char *kind, *member;
		size_t max;
	} v[] = {
		{"token", "id", TG_MAX_JTI_LEN},          {"token", "sub", TG_MAX_ID_LEN},
		{"identity", "id", TG_MAX_ID_LEN},        {"grant", "id", TG_GRANT_ID_LEN},
		{"grant", "identity", TG_MAX_ID_LEN},     {"grant", "reason", TG_MAX_GRANT_REASON},
	};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		feed_batch_t b;
		char why[200];
		char *e = entry_with(v[i].kind, v[i].member, v[i].max), *a = answer(20, e);
		assert_int_equal(parse(a, 0, &b, why, sizeof why), 0);
		assert_int_equal(b.n, 1);
		feed_batch_free(&b);
		free(a);
		free(e);
		e = entry_with(v[i].kind, v[i].member, v[i].max + 1);
		assert_entries_refused(20, e, 0, "lacks a member or has one of the wrong type");
		free(e);
	}
}

static void test_parse_too_many(void **state)
{
	/* TG_MAX_FEED_ENTRIES entries are fine, one more is refused */
	size_t per = strlen("{\"seq\":000000,\"kind\":\"policy\"},");
	char *text = malloc(64 + (TG_MAX_FEED_ENTRIES + 1) * per);
	assert_non_null(text);
	for (int extra = 0; extra < 2; extra++) {
		size_t n = TG_MAX_FEED_ENTRIES + (size_t)extra, len = 0;
		len += (size_t)sprintf(text, "{\"seq\": %zu, \"entries\": [", n);
		for (size_t i = 1; i <= n; i++)
			len += (size_t)sprintf(text + len, "{\"seq\":%zu,\"kind\":\"policy\"}%s", i, i < n ? "," : "");
		strcpy(text + len, "]}");
		feed_batch_t b;
		char why[200];
		if (extra == 0) {
			assert_int_equal(parse(text, 0, &b, why, sizeof why), 0);
			assert_int_equal(b.n, TG_MAX_FEED_ENTRIES);
			feed_batch_free(&b);
		} else {
			assert_refused(text, 0, "at most");
		}
	}
	free(text);
}

static void test_parse_duplicate_keys(void **state)
{
	assert_refused("{\"seq\": 9, \"seq\": 10, \"entries\": []}", 0, "not a JSON object");
	assert_refused("{\"seq\": 9, \"entries\": [], \"entries\": []}", 0, "not a JSON object");
	assert_refused("{\"seq\": 20, \"entries\": [{\"seq\": 11, \"kind\": \"policy\", \"kind\": \"jwks\"}]}", 0,
		       "not a JSON object");
	assert_refused("{\"seq\": 20, \"entries\": [{\"seq\": 11, \"seq\": 12, \"kind\": \"policy\"}]}", 0,
		       "not a JSON object");
	assert_refused("{\"seq\": 9, \"entries\": [], \"versions\": {\"policy\": 1, \"policy\": 2}}", 0,
		       "not a JSON object");
}

static void test_parse_why_small(void **state)
{
	/* a short why buffer is cut, not overrun */
	feed_batch_t b;
	char why[8];
	memset(why, 'z', sizeof why);
	assert_int_equal(parse("[]", 0, &b, why, 5), -1);
	assert_int_equal(strlen(why), 4);
	assert_int_equal(why[5], 'z');
}

/* ---- feed_entry_json, read back ------------------------------------------------ */

static void assert_same_entry(const feed_entry_t *a, const feed_entry_t *b)
{
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->sub, b->sub);
	assert_string_equal(a->state, b->state);
	assert_int_equal(a->exp, b->exp);
	assert_int_equal(a->at, b->at);
	assert_int_equal(a->approvals, b->approvals);
	assert_int_equal(a->break_glass, b->break_glass);
	assert_string_equal(a->reason, b->reason);
}

/* Every entry of batch b, as feed_entry_json writes it, read back in an
 * answer of the same seq and kind. */
static void round_trip(const feed_batch_t *b, int64_t since)
{
	json_t *list = json_array();
	for (size_t i = 0; i < b->n; i++)
		json_array_append_new(list, feed_entry_json(&b->entries[i]));
	json_t *doc = json_pack("{s:I, s:b, s:o}", "seq", (json_int_t)b->seq, "snapshot", b->snapshot, "entries", list);
	char *text = json_dumps(doc, JSON_COMPACT);
	feed_batch_t again;
	char why[200];
	if (feed_batch_parse(text, strlen(text), since, &again, why, sizeof why) != 0)
		fail_msg("%s: %s", why, text);
	assert_int_equal(again.n, b->n);
	for (size_t i = 0; i < b->n; i++)
		assert_same_entry(&b->entries[i], &again.entries[i]);
	feed_batch_free(&again);
	free(text);
	json_decref(doc);
}

static void test_parse_grant_states(void **state)
{
	/* every state of core/grant.h: the broker sends a grant's effective
	 * state, and the edge opens only for "active" */
	for (int st = 0; st < GRANT_STATE_COUNT; st++) {
		feed_batch_t b;
		char why[200];
		char *e = fmt("{\"seq\": 11, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"%s\"}",
			      grant_state_name((grant_state_t)st)),
		     *a = answer(20, e);
		assert_int_equal(parse(a, 0, &b, why, sizeof why), 0);
		assert_string_equal(b.entries[0].state, grant_state_name((grant_state_t)st));
		round_trip(&b, 0);
		feed_batch_free(&b);
		free(a);
		free(e);
	}
}

static void test_entry_json_round_trip(void **state)
{
	char *jti = rep('j', TG_MAX_JTI_LEN), *id = rep('i', TG_MAX_ID_LEN), *reason = rep('r', TG_MAX_GRANT_REASON);
	char *entries = fmt("%s, %s, {\"seq\": 13, \"kind\": \"token\", \"id\": \"%s\", \"sub\": \"%s\", \"exp\": 0},"
			    "{\"seq\": 14, \"kind\": \"identity\", \"id\": \"%s\", \"state\": \"offboarded\"},"
			    "{\"seq\": 15, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"expired\"},"
			    "{\"seq\": 16, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"active\","
			    " \"identity\": \"%s\", \"approvals\": 9, \"break_glass\": true, \"reason\": \"%s\","
			    " \"ends_at\": 1700007200},"
			    "{\"seq\": 17, \"kind\": \"grant\", \"id\": \"" GRANT_ID "\", \"state\": \"revoked\","
			    " \"break_glass\": false, \"reason\": \"caf\\u00e9 \\\"quoted\\\"\"},"
			    "%s, {\"seq\": 19, \"kind\": \"entities\"}, {\"seq\": 20, \"kind\": \"jwks\"},"
			    "{\"seq\": 21, \"kind\": \"session_kill\", \"id\": \"ms-AAAAAAAAAAAAAAAA\", \"edge\": \"e-1\","
			    " \"reason\": \"stuck\"},"
			    "{\"seq\": 22, \"kind\": \"session_kill\", \"id\": \"ms-BBBBBBBBBBBBBBBB\", \"edge\": \"e-2\"},"
			    "{\"seq\": 23, \"kind\": \"secret\", \"id\": \"erp-db\", \"state\": \"rotated\"}",
			    TOKEN_E(11), IDENT_E(12), jti, id, id, id, reason, POLICY_E(18));
	char *a = answer(25, entries);
	feed_batch_t b;
	char why[200];
	assert_int_equal(parse(a, 10, &b, why, sizeof why), 0);
	assert_int_equal(b.n, 13);
	assert_int_equal(b.entries[10].kind, FEED_SESSION_KILL);
	assert_string_equal(b.entries[10].sub, "e-1");
	assert_string_equal(b.entries[10].reason, "stuck");
	assert_int_equal(b.entries[12].kind, FEED_SECRET);
	assert_string_equal(b.entries[12].state, "rotated");
	round_trip(&b, 10);
	feed_batch_free(&b);
	free(a);
	/* the same entries as a snapshot */
	for (size_t i = 0; entries[i] != '\0'; i++)
		if (strncmp(entries + i, "\"seq\": ", 7) == 0)
			memcpy(entries + i + 7, " 0", 2); /* every seq here has two digits */
	a = fmt("{\"seq\": 25, \"snapshot\": true, \"entries\": [%s]}", entries);
	assert_int_equal(parse(a, 0, &b, why, sizeof why), 0);
	assert_true(b.snapshot);
	round_trip(&b, 0);
	feed_batch_free(&b);
	free(a);
	free(entries);
	free(jti);
	free(id);
	free(reason);
}

static void test_entry_json_shape(void **state)
{
	/* exactly the members of feed.h */
	feed_entry_t e = {.seq = 4, .kind = FEED_TOKEN, .id = "j", .sub = "s", .exp = 9};
	json_t *got = feed_entry_json(&e), *want = tu_json(TOKEN_E(4));
	json_object_set_new(want, "id", json_string("j"));
	json_object_set_new(want, "sub", json_string("s"));
	json_object_set_new(want, "exp", json_integer(9));
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	feed_entry_t p = {.seq = 5, .kind = FEED_JWKS};
	got = feed_entry_json(&p);
	want = tu_json("{\"seq\": 5, \"kind\": \"jwks\"}");
	assert_true(json_equal(got, want));
	json_decref(got);
	json_decref(want);
	assert_string_equal(feed_kind_name(FEED_ENTITIES), "entities");
	assert_string_equal(feed_kind_name((feed_kind_t)99), "unknown");
}

/* An entry made from a record by the broker reads back in the edge. */
static void test_record_to_edge(void **state)
{
	json_t *details = tu_json("{\"sub\": \"svc-a\", \"exp\": 1700003600}");
	json_t *recs[] = {
		revoked("j-9", json_incref(details)),
		identity_event("identity.offboarded", "Identity:svc-a"),
		grant_event("grant.revoked", GRANT_ID, NULL),
		record((audit_event_t){.type = "policy.changed", .actor = "admin"}, 40),
	};
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		json_t *e = feed_entry_from_record(recs[i]);
		assert_non_null(e);
		json_array_append_new(list, e);
		json_decref(recs[i]);
	}
	json_decref(details);
	json_t *doc = json_pack("{s:I, s:b, s:o}", "seq", (json_int_t)40, "snapshot", 0, "entries", list);
	char *text = json_dumps(doc, JSON_COMPACT);
	feed_batch_t b;
	char why[200];
	assert_int_equal(parse(text, 6, &b, why, sizeof why), 0);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.entries[0].kind, FEED_TOKEN);
	assert_string_equal(b.entries[0].id, "j-9");
	assert_int_equal(b.entries[1].kind, FEED_IDENTITY);
	assert_string_equal(b.entries[1].state, "offboarded");
	assert_int_equal(b.entries[1].at, TU_NOW);
	assert_int_equal(b.entries[2].kind, FEED_GRANT);
	assert_string_equal(b.entries[2].state, "revoked");
	assert_int_equal(b.entries[3].kind, FEED_POLICY);
	feed_batch_free(&b);
	free(text);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_agree_with_migration),
		cmocka_unit_test(test_type_membership),
		cmocka_unit_test(test_entry_token),
		cmocka_unit_test(test_entry_identity),
		cmocka_unit_test(test_entry_identity_time),
		cmocka_unit_test(test_entry_entities),
		cmocka_unit_test(test_entry_grant),
		cmocka_unit_test(test_entry_documents),
		cmocka_unit_test(test_entry_session_kill),
		cmocka_unit_test(test_entry_secret),
		cmocka_unit_test(test_entry_not_feed),
		cmocka_unit_test(test_parse_answer),
		cmocka_unit_test(test_parse_minimal),
		cmocka_unit_test(test_parse_snapshot),
		cmocka_unit_test(test_parse_not_json),
		cmocka_unit_test(test_parse_head),
		cmocka_unit_test(test_parse_versions),
		cmocka_unit_test(test_parse_order),
		cmocka_unit_test(test_parse_kinds),
		cmocka_unit_test(test_parse_members),
		cmocka_unit_test(test_parse_grant_states),
		cmocka_unit_test(test_parse_lengths),
		cmocka_unit_test(test_parse_too_many),
		cmocka_unit_test(test_parse_duplicate_keys),
		cmocka_unit_test(test_parse_why_small),
		cmocka_unit_test(test_entry_json_round_trip),
		cmocka_unit_test(test_entry_json_shape),
		cmocka_unit_test(test_record_to_edge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
