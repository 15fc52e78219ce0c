/* fuzz_feed.c - the edge's feed decoder (core/feed.h) on arbitrary input:
 * feed_batch_parse on the whole input for an edge at a few fixed
 * positions, and on the input after its first 8 bytes for the position
 * those bytes give (big-endian, sign bit dropped); feed_entry_from_record
 * on the input as an audit record (or an array of them). Whatever the
 * decoder accepts keeps the promises of feed.h (order, bounds, states) and
 * reads back the same through feed_entry_json. */
#include "core/feed.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool one_of(const char *s, const char *const *allowed)
{
	for (; *allowed != NULL; allowed++)
		if (strcmp(s, *allowed) == 0)
			return true;
	return false;
}

static void check_entry(const feed_entry_t *e)
{
	static const char *const identity_states[] = {"active", "suspended", "offboarded", NULL};
	static const char *const secret_states[] = {"updated", "rotated", "deleted", NULL};
	static const char *const grant_states[] = {"pending", "approved", "active", "ended",
						   "revoked", "expired", "denied", "cancelled", NULL};
	fz_require(e->seq >= 0 && e->exp >= 0 && e->at >= 0 && e->approvals >= 0, "numbers not negative");
	fz_require(strlen(e->reason) <= TG_MAX_GRANT_REASON, "reason bounded");
	switch (e->kind) {
	case FEED_TOKEN:
		fz_require(e->id[0] != '\0' && strlen(e->id) <= TG_MAX_JTI_LEN, "jti bounded");
		fz_require(e->sub[0] != '\0' && strlen(e->sub) <= TG_MAX_ID_LEN, "sub bounded");
		break;
	case FEED_IDENTITY:
		fz_require(e->id[0] != '\0' && strlen(e->id) <= TG_MAX_ID_LEN, "identity id bounded");
		fz_require(one_of(e->state, identity_states), "identity state known");
		break;
	case FEED_GRANT:
		fz_require(e->id[0] != '\0' && strlen(e->id) <= TG_GRANT_ID_LEN, "grant id bounded");
		fz_require(strlen(e->sub) <= TG_MAX_ID_LEN, "grant identity bounded");
		fz_require(one_of(e->state, grant_states), "grant state known");
		break;
	case FEED_SESSION_KILL:
		fz_require(e->id[0] != '\0' && strlen(e->id) <= TG_MAX_ID_LEN, "session id bounded");
		fz_require(e->sub[0] != '\0', "session_kill names its edge");
		break;
	case FEED_SECRET:
		fz_require(e->id[0] != '\0', "secret named");
		fz_require(one_of(e->state, secret_states), "secret change known");
		break;
	case FEED_POLICY:
	case FEED_ENTITIES:
	case FEED_JWKS:
		break;
	default:
		fz_require(0, "kind known");
	}
}

static void check_batch(const feed_batch_t *b, int64_t since)
{
	int64_t last = since;
	fz_require(b->n <= TG_MAX_FEED_ENTRIES, "at most TG_MAX_FEED_ENTRIES");
	fz_require(b->seq >= 0 && (b->snapshot || b->seq >= since), "head not behind");
	fz_require(strlen(b->jwks_sha256) <= 64, "jwks digest bounded");
	for (size_t i = 0; i < b->n; i++) {
		const feed_entry_t *e = &b->entries[i];
		check_entry(e);
		if (b->snapshot) {
			fz_require(e->seq == 0, "snapshot entries at seq 0");
		} else {
			fz_require(e->seq > last && e->seq <= b->seq, "changes in order, after since, up to the head");
			last = e->seq;
		}
	}
}

static bool same_entry(const feed_entry_t *a, const feed_entry_t *b)
{
	return a->seq == b->seq && a->kind == b->kind && strcmp(a->id, b->id) == 0 && strcmp(a->sub, b->sub) == 0 &&
	       strcmp(a->state, b->state) == 0 && a->exp == b->exp && a->at == b->at &&
	       a->approvals == b->approvals && a->break_glass == b->break_glass && strcmp(a->reason, b->reason) == 0;
}

/* The accepted entries, written by feed_entry_json into an answer of the
 * same head, read back the same. */
static void round_trip(const feed_batch_t *b, int64_t since)
{
	json_t *list = json_array();
	for (size_t i = 0; i < b->n; i++)
		json_array_append_new(list, feed_entry_json(&b->entries[i]));
	json_t *doc = json_pack("{s:I, s:b, s:o}", "seq", (json_int_t)b->seq, "snapshot", b->snapshot, "entries", list);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	fz_require(text != NULL, "entries serialize");
	feed_batch_t again;
	char why[200];
	fz_require(feed_batch_parse(text, strlen(text), since, &again, why, sizeof why) == 0, "round trip accepted");
	fz_require(again.n == b->n && again.seq == b->seq && again.snapshot == b->snapshot, "round trip same batch");
	for (size_t i = 0; i < b->n; i++)
		fz_require(same_entry(&b->entries[i], &again.entries[i]), "round trip same entries");
	feed_batch_free(&again);
	free(text);
	json_decref(doc);
}

static void decode(const uint8_t *data, size_t size, int64_t since)
{
	feed_batch_t b;
	char why[200] = "";
	if (feed_batch_parse((const char *)data, size, since, &b, why, sizeof why) != 0) {
		fz_require(why[0] != '\0' && b.entries == NULL && b.n == 0, "a refusal says why and holds nothing");
		return;
	}
	check_batch(&b, since);
	round_trip(&b, since);
	feed_batch_free(&b);
}

/* feed_entry_from_record on one would-be audit record: NULL, or an
 * object of a known kind at the record's seq. */
static void from_record(const json_t *rec)
{
	json_t *e = feed_entry_from_record(rec);
	if (e == NULL)
		return;
	static const char *const kinds[] = {"token", "identity", "grant",        "policy",
					    "entities", "jwks", "session_kill", "secret", NULL};
	const char *kind = json_string_value(json_object_get(e, "kind"));
	fz_require(feed_audit_type(json_string_value(json_object_get(rec, "type"))), "only feed types");
	fz_require(kind != NULL && one_of(kind, kinds), "entry kind known");
	fz_require(json_equal(json_object_get(e, "seq"), json_object_get(rec, "seq")), "entry at the record's seq");
	json_decref(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = {0, 1, 10, 1000};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		decode(data, size, fixed[i]);
	if (size >= 8) {
		uint64_t v = 0;
		for (int i = 0; i < 8; i++)
			v = v << 8 | data[i];
		decode(data + 8, size - 8, (int64_t)(v & INT64_MAX));
	}
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	if (json_is_array(doc)) {
		size_t i;
		json_t *rec;
		json_array_foreach(doc, i, rec)
			from_record(rec);
	} else {
		from_record(doc);
	}
	json_decref(doc);
	return 0;
}
