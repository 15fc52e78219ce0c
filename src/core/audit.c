/* audit.c - audit records, hashes, checkpoints and the chain verifier. */
#include "core/audit.h"
#include "core/b64url.h"
#include "core/canonical_json.h"
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char audit_genesis[AUDIT_HASH_HEX] =
	"0000000000000000000000000000000000000000000000000000000000000000";

void audit_time(int64_t unix_us, char out[AUDIT_TIME_LEN])
{
	struct tm tm;
	time_t secs = (time_t)(unix_us / 1000000);
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, AUDIT_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, AUDIT_TIME_LEN - n, ".%06lldZ", (long long)(unix_us % 1000000));
}

/* SHA-256 over prev || canonical JSON of record minus "hash". */
static int chain_hash(const json_t *record, const char *prev, char out[AUDIT_HASH_HEX])
{
	json_t *body = json_copy((json_t *)record);
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_state st;
	if (body == NULL)
		return -1;
	json_object_del(body, "hash");
	char *canon = canonical_json(body);
	json_decref(body);
	if (canon == NULL)
		return -1;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)prev, strlen(prev));
	crypto_hash_sha256_update(&st, (const uint8_t *)canon, strlen(canon));
	crypto_hash_sha256_final(&st, d);
	free(canon);
	hex_encode_to(d, sizeof d, out);
	return 0;
}

/* Canonical text of a string member value, or of null. */
static char *canon_str(const char *s)
{
	json_t *v = s != NULL ? json_string(s) : NULL;
	char *out = canonical_json(v != NULL ? v : json_null());
	json_decref(v);
	return out;
}

static char *canon_or(const json_t *v, json_t *(*fallback)(void))
{
	if (v != NULL)
		return canonical_json(v);
	json_t *f = fallback();
	char *out = canonical_json(f);
	json_decref(f);
	return out;
}

/* Members in canonical (byte) order; prev, seq and time are the gaps. */
int audit_prepare(const audit_event_t *ev, audit_prepared_t *p)
{
	char *v[11] = {canon_str(ev->action), canon_str(ev->actor), canon_str(ev->decision),
		       canon_or(ev->details, json_object), canon_str(ev->edge), canon_str(ev->grant),
		       canon_str(ev->jti), canon_or(ev->policies, json_array), canon_str(ev->resource),
		       canon_str(ev->src), canon_str(ev->type)};
	int rc = -1;
	memset(p, 0, sizeof *p);
	for (int i = 0; i < 11; i++)
		if (v[i] == NULL)
			goto out;
	if (asprintf(&p->head, "{\"action\":%s,\"actor\":%s,\"decision\":%s,\"details\":%s,\"edge\":%s,"
		     "\"grant\":%s,\"jti\":%s,\"policies\":%s,\"prev\":\"", v[0], v[1], v[2], v[3], v[4],
		     v[5], v[6], v[7]) < 0 ||
	    asprintf(&p->mid, "\",\"resource\":%s,\"seq\":", v[8]) < 0 ||
	    asprintf(&p->tail1, ",\"src\":%s,\"time\":\"", v[9]) < 0 ||
	    asprintf(&p->tail2, "\",\"type\":%s", v[10]) < 0) /* '}' comes with the hash */
		goto out;
	rc = 0;
out:
	for (int i = 0; i < 11; i++)
		free(v[i]);
	if (rc != 0)
		audit_prepared_free(p);
	return rc;
}

void audit_prepared_free(audit_prepared_t *p)
{
	free(p->head);
	free(p->mid);
	free(p->tail1);
	free(p->tail2);
	memset(p, 0, sizeof *p);
}

char *audit_finish(const audit_prepared_t *p, int64_t seq, const char *time, const char *prev,
		   char hash_out[AUDIT_HASH_HEX])
{
	char *text = NULL;
	uint8_t d[crypto_hash_sha256_BYTES];
	int n = asprintf(&text, "%s%s%s%lld%s%s%s,\"hash\":\"%064d\"}", p->head, prev, p->mid, (long long)seq,
			 p->tail1, time, p->tail2, 0);
	if (n < 0)
		return NULL;
	/* The hashed text is the record without its hash member: everything
	 * before ,"hash":..., plus the closing brace it replaced. */
	size_t body = (size_t)n - strlen(",\"hash\":\"\"}") - (AUDIT_HASH_HEX - 1);
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)prev, strlen(prev));
	crypto_hash_sha256_update(&st, (const uint8_t *)text, body);
	crypto_hash_sha256_update(&st, (const uint8_t *)"}", 1);
	crypto_hash_sha256_final(&st, d);
	hex_encode_to(d, sizeof d, hash_out);
	memcpy(text + body + strlen(",\"hash\":\""), hash_out, AUDIT_HASH_HEX - 1);
	return text;
}

json_t *audit_record(const audit_event_t *ev, int64_t seq, const char *time, const char *prev,
		     char hash_out[AUDIT_HASH_HEX])
{
	audit_prepared_t p;
	if (audit_prepare(ev, &p) != 0)
		return NULL;
	char *text = audit_finish(&p, seq, time, prev, hash_out);
	audit_prepared_free(&p);
	json_t *r = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return r;
}

int audit_record_hash(const json_t *record, char out[AUDIT_HASH_HEX])
{
	const char *prev = json_string_value(json_object_get(record, "prev"));
	return prev != NULL ? chain_hash(record, prev, out) : -1;
}

static char *checkpoint_message(int64_t seq, const char *hash, const char *time)
{
	json_t *m = json_pack("{s:s, s:I, s:s}", "hash", hash, "seq", (json_int_t)seq, "time", time);
	char *s = canonical_json(m);
	json_decref(m);
	return s;
}

json_t *audit_checkpoint(int64_t seq, const char *hash, const char *time, const char *kid,
			 const uint8_t sk[64])
{
	uint8_t sig[crypto_sign_BYTES];
	char sig_b64[100];
	char *msg = checkpoint_message(seq, hash, time);
	if (msg == NULL)
		return NULL;
	crypto_sign_detached(sig, NULL, (const uint8_t *)msg, strlen(msg), sk);
	free(msg);
	b64url_encode_to(sig, sizeof sig, sig_b64);
	return json_pack("{s:I, s:s, s:s, s:s, s:s}", "seq", (json_int_t)seq, "hash", hash, "time",
			 time, "kid", kid, "sig", sig_b64);
}

void audit_verify_init(audit_verifier_t *v, const audit_key_t *keys, size_t n_keys)
{
	memset(v, 0, sizeof *v);
	v->keys = keys;
	v->n_keys = n_keys;
}

static int fail(audit_verifier_t *v, int64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(audit_verifier_t *v, int64_t seq, const char *fmt, ...)
{
	va_list ap;
	v->error_seq = seq;
	va_start(ap, fmt);
	vsnprintf(v->error, sizeof v->error, fmt, ap);
	va_end(ap);
	return -1;
}

static int verify_in_order(audit_verifier_t *v, const json_t *r);

/* A record one ahead of the expected one is held until the next record
 * shows whether the expected one is missing or the two were swapped. */
int audit_verify_record(audit_verifier_t *v, const json_t *r)
{
	const json_t *jseq = json_object_get(r, "seq");
	long long seq = json_is_integer(jseq) ? (long long)json_integer_value(jseq) : -1;
	long long want = (long long)v->last_seq + 1;
	if (v->held != NULL) {
		long long held = (long long)json_integer_value(json_object_get(v->held, "seq"));
		json_decref(v->held);
		v->held = NULL;
		if (seq == want)
			return fail(v, want, "records %lld and %lld are out of order: they were reordered", want, held);
		return fail(v, want, "records %lld to %lld are missing", want, held - 1);
	}
	if (v->records > 0 && seq > want) {
		v->held = json_incref((json_t *)r);
		return 0;
	}
	return verify_in_order(v, r);
}

static int verify_in_order(audit_verifier_t *v, const json_t *r)
{
	char h[AUDIT_HASH_HEX];
	const json_t *jseq = json_object_get(r, "seq");
	const char *prev = json_string_value(json_object_get(r, "prev"));
	const char *hash = json_string_value(json_object_get(r, "hash"));
	long long seq = json_is_integer(jseq) ? (long long)json_integer_value(jseq) : -1;
	long long want = (long long)v->last_seq + 1;
	/* The largest seq is refused too, so that last_seq + 1 never overflows. */
	if (!json_is_object(r) || seq < 1 || seq == INT64_MAX || prev == NULL || hash == NULL)
		return fail(v, v->last_seq + 1, "record after seq %lld is malformed (no seq, prev or hash)",
			    (long long)v->last_seq);
	if (v->records > 0 && seq < want)
		return fail(v, seq, "record %lld is out of order (expected %lld): records were reordered or duplicated",
			    seq, want);
	if (audit_record_hash(r, h) != 0 || strcmp(h, hash) != 0)
		return fail(v, seq, "record %lld was edited: its hash does not match its content", seq);
	if (v->records > 0 && strcmp(prev, v->last_hash) != 0)
		return fail(v, seq, "record %lld does not follow record %lld (prev hash mismatch): a record "
			    "was inserted, removed or replaced", seq, seq - 1);
	if (v->records == 0 && seq == 1 && strcmp(prev, audit_genesis) != 0)
		return fail(v, seq, "record %lld claims to be the first but its prev is not the genesis hash",
			    seq);
	if (v->records == 0) {
		v->first_seq = seq;
		v->anchored = seq == 1 || (v->n_pending > 0 && v->pending[0].seq == seq);
	} else if (!v->anchored) {
		return fail(v, v->first_seq, "records before %lld are missing: the log starts neither at seq 1 "
			    "nor at a signed checkpoint", (long long)v->first_seq);
	}
	v->records++;
	v->last_seq = seq;
	snprintf(v->last_hash, sizeof v->last_hash, "%s", hash);
	if (v->n_pending > 0 && v->pending[0].seq == seq) {
		bool match = strcmp(v->pending[0].hash, hash) == 0;
		memmove(&v->pending[0], &v->pending[1], --v->n_pending * sizeof v->pending[0]);
		if (!match)
			return fail(v, seq, "checkpoint at %lld does not match record %lld: the chain was rewritten",
				    seq, seq);
	}
	return 0;
}

static const audit_key_t *find_key(const audit_verifier_t *v, const char *kid)
{
	for (size_t i = 0; kid != NULL && i < v->n_keys; i++)
		if (strcmp(v->keys[i].kid, kid) == 0)
			return &v->keys[i];
	return NULL;
}

static bool checkpoint_signature_ok(const audit_verifier_t *v, const json_t *cp, long long seq)
{
	const char *hash = json_string_value(json_object_get(cp, "hash"));
	const char *time = json_string_value(json_object_get(cp, "time"));
	const char *sig = json_string_value(json_object_get(cp, "sig"));
	const audit_key_t *key = find_key(v, json_string_value(json_object_get(cp, "kid")));
	uint8_t raw[crypto_sign_BYTES];
	size_t n = 0;
	if (key == NULL || hash == NULL || time == NULL || sig == NULL ||
	    b64url_decode(sig, strlen(sig), raw, sizeof raw, &n) != 0 || n != sizeof raw)
		return false;
	char *msg = checkpoint_message(seq, hash, time);
	bool ok = msg != NULL &&
		  crypto_sign_verify_detached(raw, (const uint8_t *)msg, strlen(msg), key->pk) == 0;
	free(msg);
	return ok;
}

int audit_verify_checkpoint(audit_verifier_t *v, const json_t *cp)
{
	const json_t *jseq = json_object_get(cp, "seq");
	long long seq = json_is_integer(jseq) ? (long long)json_integer_value(jseq) : -1;
	const char *hash = json_string_value(json_object_get(cp, "hash"));
	if (seq < 1 || hash == NULL || strlen(hash) != AUDIT_HASH_HEX - 1)
		return fail(v, v->last_seq, "a checkpoint after record %lld is malformed",
			    (long long)v->last_seq);
	if (!checkpoint_signature_ok(v, cp, seq))
		return fail(v, seq, "checkpoint at %lld has a bad signature or an unknown key: it was forged",
			    seq);
	if (seq < v->last_checkpoint_seq)
		return fail(v, seq, "checkpoint at %lld comes after the checkpoint at %lld", seq,
			    (long long)v->last_checkpoint_seq);
	v->checkpoints++;
	v->last_checkpoint_seq = seq;
	if (seq == v->last_seq) {
		if (strcmp(hash, v->last_hash) != 0)
			return fail(v, seq, "checkpoint at %lld does not match record %lld: the chain was rewritten",
				    seq, seq);
		if (v->records == 1)
			v->anchored = true; /* a pruned log's first record */
		return 0;
	}
	if (seq < v->last_seq)
		return fail(v, seq, "checkpoint at %lld is out of place (records are at %lld)", seq,
			    (long long)v->last_seq);
	if (v->n_pending == AUDIT_MAX_PENDING)
		return fail(v, seq, "checkpoint at %lld: more than %d checkpoints ahead of the records (at %lld)",
			    seq, AUDIT_MAX_PENDING, (long long)v->last_seq);
	/* Ahead of the records: each must be reached and match. */
	v->pending[v->n_pending].seq = seq;
	snprintf(v->pending[v->n_pending++].hash, AUDIT_HASH_HEX, "%s", hash);
	return 0;
}

int audit_verify_finish(audit_verifier_t *v)
{
	if (v->held != NULL) {
		long long held = (long long)json_integer_value(json_object_get(v->held, "seq"));
		json_decref(v->held);
		v->held = NULL;
		if (v->error[0] == '\0')
			return fail(v, v->last_seq + 1, "records %lld to %lld are missing",
				    (long long)v->last_seq + 1, held - 1);
	}
	if (v->error[0] != '\0')
		return -1;
	if (v->records > 0 && !v->anchored)
		return fail(v, v->first_seq, "records before %lld are missing: the log starts neither at seq 1 "
			    "nor at a signed checkpoint", (long long)v->first_seq);
	if (v->n_pending > 0)
		return fail(v, v->last_seq + 1, "log truncated: a checkpoint covers record %lld but the records "
			    "end at %lld", (long long)v->pending[0].seq, (long long)v->last_seq);
	return 0;
}
