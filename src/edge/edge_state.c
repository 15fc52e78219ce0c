/* edge_state.c - the edge's synced state in memory and in state_dir
 * (edge_state.h). */
#include "edge/edge_state.h"
#include "core/ed25519_key.h"
#include "core/policy/cedar_json.h"
#include "core/strmap.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_KEYS 16

typedef struct {
	char kid[TG_MAX_KID_LEN + 1];
} kid_t;

/* A revoked token: kept until its exp. */
typedef struct {
	int64_t exp;
	char sub[TG_MAX_ID_LEN + 1];
} edge_token_t;

struct edge_state {
	pthread_rwlock_t lock;
	tok_key_t keys[MAX_KEYS];
	kid_t kids[MAX_KEYS];
	size_t n_keys;
	char jwks_sha[65];
	atomic_uint_fast64_t keys_gen;
	pol_engine_t *engine;
	int64_t policy_version;
	pol_entities_t *entities;
	int64_t entities_version;
	strmap_t *tokens;     /* jti -> edge_token_t */
	strmap_t *identities; /* id -> edge_identity_t */
	strmap_t *grants;     /* id -> edge_grant_t */
	int64_t seq;
};

static void grant_free(void *v)
{
	edge_grant_t *g = v;
	if (g != NULL)
		free(g->scope);
	free(g);
}

edge_state_t *edge_state_new(void)
{
	edge_state_t *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	pthread_rwlock_init(&s->lock, NULL);
	s->tokens = strmap_new(free);
	s->identities = strmap_new(free);
	s->grants = strmap_new(grant_free);
	if (s->tokens == NULL || s->identities == NULL || s->grants == NULL) {
		edge_state_free(s);
		return NULL;
	}
	return s;
}

void edge_state_free(edge_state_t *s)
{
	if (s == NULL)
		return;
	pol_engine_free(s->engine);
	pol_entities_free(s->entities);
	strmap_free(s->tokens);
	strmap_free(s->identities);
	strmap_free(s->grants);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

/* ---- readers ---- */

void edge_state_read(edge_state_t *s)
{
	pthread_rwlock_rdlock(&s->lock);
}

void edge_state_done(edge_state_t *s)
{
	pthread_rwlock_unlock(&s->lock);
}

bool edge_state_ready(const edge_state_t *s)
{
	return s->n_keys > 0 && s->engine != NULL && s->entities != NULL;
}

const tok_key_t *edge_state_keys(const edge_state_t *s, size_t *n)
{
	*n = s->n_keys;
	return s->keys;
}

const pol_engine_t *edge_state_engine(const edge_state_t *s)
{
	return s->engine;
}

const pol_entities_t *edge_state_entities(const edge_state_t *s)
{
	return s->entities;
}

bool edge_state_token_revoked(const edge_state_t *s, const char *jti)
{
	return strmap_get(s->tokens, jti) != NULL;
}

const edge_identity_t *edge_state_identity(const edge_state_t *s, const char *id)
{
	return strmap_get(s->identities, id);
}

const edge_grant_t *edge_state_grant(const edge_state_t *s, const char *id)
{
	return strmap_get(s->grants, id);
}

typedef struct {
	bool (*fn)(const char *id, const edge_grant_t *g, void *ctx);
	void *ctx;
	bool found;
} grant_find_t;

/* A sweep that removes nothing: it only visits until one is found. */
static bool grant_visit(const char *key, void *value, void *ctx)
{
	grant_find_t *f = ctx;
	if (!f->found)
		f->found = f->fn(key, value, f->ctx);
	return false;
}

bool edge_state_grant_find(const edge_state_t *s, bool (*fn)(const char *id, const edge_grant_t *g, void *ctx),
			   void *ctx)
{
	grant_find_t f = {fn, ctx, false};
	strmap_sweep(s->grants, grant_visit, &f);
	return f.found;
}

uint64_t edge_state_keys_generation(const edge_state_t *s)
{
	return atomic_load(&s->keys_gen);
}

int64_t edge_state_seq(const edge_state_t *s)
{
	return s->seq;
}

void edge_state_versions(const edge_state_t *s, int64_t *policy, int64_t *entities, char jwks_sha[65])
{
	*policy = s->policy_version;
	*entities = s->entities_version;
	memcpy(jwks_sha, s->jwks_sha, 65);
}

/* ---- files ---- */

/* Writes text to dir/name through a synced temporary file. */
static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

static int write_json(const char *dir, const char *name, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = text != NULL ? write_file(dir, name, text, strlen(text)) : -1;
	free(text);
	return rc;
}

static char *read_file(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(TG_MAX_FEED_BODY + 1);
	size_t n = buf ? fread(buf, 1, TG_MAX_FEED_BODY + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > TG_MAX_FEED_BODY) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* ---- documents ---- */

static int refuse(char *why, size_t len, const char *text)
{
	snprintf(why, len, "%s", text);
	return -1;
}

/* The JWKS's Ed25519 keys into keys/kids; -1 when none is usable. */
static int jwks_keys(const json_t *doc, tok_key_t *keys, kid_t *kids, size_t *n, char *why, size_t why_len)
{
	const json_t *arr = json_object_get(doc, "keys");
	size_t i;
	const json_t *k;
	*n = 0;
	if (!json_is_array(arr))
		return refuse(why, why_len, "the JWKS has no keys array");
	json_array_foreach(arr, i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid")), *e = NULL;
		if (*n == MAX_KEYS || kid == NULL || strlen(kid) > TG_MAX_KID_LEN ||
		    ed_pk_from_jwk(k, keys[*n].pk, &e) != 0)
			continue;
		snprintf(kids[*n].kid, sizeof kids[*n].kid, "%s", kid);
		keys[*n].kid = kids[*n].kid;
		(*n)++;
	}
	return *n > 0 ? 0 : refuse(why, why_len, "the JWKS has no usable Ed25519 key");
}

static void sha256_hex(const char *text, size_t len, char out[65])
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const uint8_t *)text, len);
	sodium_bin2hex(out, 65, d, sizeof d);
}

int edge_state_set_jwks(edge_state_t *s, const char *text, size_t len, const char *dir, char *why, size_t why_len)
{
	tok_key_t keys[MAX_KEYS];
	kid_t kids[MAX_KEYS];
	size_t n = 0;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = doc != NULL ? jwks_keys(doc, keys, kids, &n, why, why_len) : refuse(why, why_len, "the JWKS is not JSON");
	if (rc == 0) {
		/* the sha of the canonical form: what the broker's versions say */
		char *canon = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
		pthread_rwlock_wrlock(&s->lock);
		memcpy(s->kids, kids, sizeof kids);
		for (size_t i = 0; i < n; i++) {
			s->keys[i] = keys[i];
			s->keys[i].kid = s->kids[i].kid;
		}
		s->n_keys = n;
		if (canon != NULL)
			sha256_hex(canon, strlen(canon), s->jwks_sha);
		atomic_fetch_add(&s->keys_gen, 1);
		pthread_rwlock_unlock(&s->lock);
		free(canon);
		if (dir != NULL && write_json(dir, "jwks.json", doc) != 0)
			rc = refuse(why, why_len, "cannot write jwks.json in state_dir");
	}
	json_decref(doc);
	return rc;
}

int edge_state_set_policy(edge_state_t *s, const char *text, size_t len, const char *dir, char *why, size_t why_len)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const char *cedar = json_string_value(json_object_get(doc, "text"));
	const json_t *version = json_object_get(doc, "version");
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t perr;
	int rc = -1;
	if (cedar == NULL || !json_is_integer(version))
		refuse(why, why_len, "the policy answer has no text or version");
	else if (pol_parse(cedar, json_string_length(json_object_get(doc, "text")), &set, &perr) != 0 ||
		 pol_engine_new(set, &eng, &perr) != 0)
		snprintf(why, why_len, "the policy set does not load: %s", perr.message);
	else
		rc = 0;
	if (rc == 0) {
		pthread_rwlock_wrlock(&s->lock);
		pol_engine_t *old = s->engine;
		s->engine = eng;
		s->policy_version = (int64_t)json_integer_value(version);
		pthread_rwlock_unlock(&s->lock);
		pol_engine_free(old);
		json_t *keep = json_pack("{s:O, s:O, s:O?}", "version", version, "text", json_object_get(doc, "text"),
					 "sha256", json_object_get(doc, "sha256"));
		if (dir != NULL && write_json(dir, "policy.json", keep) != 0)
			rc = refuse(why, why_len, "cannot write policy.json in state_dir");
		json_decref(keep);
	}
	json_decref(doc);
	return rc;
}

int edge_state_set_entities(edge_state_t *s, const char *text, size_t len, const char *dir, char *why,
			    size_t why_len)
{
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *arr = json_object_get(doc, "entities"), *version = json_object_get(doc, "version");
	pol_entities_t *es = NULL;
	int rc = -1;
	if (!json_is_array(arr) || !json_is_integer(version))
		refuse(why, why_len, "the entities answer has no entities array or version");
	else if (pol_json_entities_from(arr, &es, why, why_len) == 0)
		rc = 0;
	if (rc == 0) {
		pthread_rwlock_wrlock(&s->lock);
		pol_entities_t *old = s->entities;
		s->entities = es;
		s->entities_version = (int64_t)json_integer_value(version);
		pthread_rwlock_unlock(&s->lock);
		pol_entities_free(old);
		if (dir != NULL && write_json(dir, "entities.json", doc) != 0)
			rc = refuse(why, why_len, "cannot write entities.json in state_dir");
	}
	json_decref(doc);
	return rc;
}

/* ---- revocations ---- */

static void *copy_of(const void *p, size_t n)
{
	void *c = malloc(n);
	if (c != NULL)
		memcpy(c, p, n);
	return c;
}

/* One entry into the maps (write lock held). */
static void apply_entry(edge_state_t *s, const feed_entry_t *e, unsigned *refetch)
{
	switch (e->kind) {
	case FEED_TOKEN: {
		edge_token_t t = {.exp = e->exp};
		snprintf(t.sub, sizeof t.sub, "%s", e->sub);
		if (strmap_put(s->tokens, e->id, copy_of(&t, sizeof t)) != 0)
			break; /* out of memory: logged by the caller's next failure */
		break;
	}
	case FEED_IDENTITY:
		if (strcmp(e->state, "active") == 0) {
			strmap_del(s->identities, e->id);
		} else {
			edge_identity_t v = {.at = e->at};
			snprintf(v.state, sizeof v.state, "%s", e->state);
			if (strmap_put(s->identities, e->id, copy_of(&v, sizeof v)) != 0)
				break;
		}
		*refetch |= EDGE_REFETCH_ENTITIES; /* its entity changed too */
		break;
	case FEED_GRANT: {
		edge_grant_t g = {.approvals = e->approvals, .ends_at = e->exp, .break_glass = e->break_glass};
		snprintf(g.identity, sizeof g.identity, "%s", e->sub);
		snprintf(g.state, sizeof g.state, "%s", e->state);
		snprintf(g.reason, sizeof g.reason, "%s", e->reason);
		snprintf(g.source, sizeof g.source, "%s", e->source);
		g.scope = e->scope != NULL ? strdup(e->scope) : NULL;
		edge_grant_t *copy = copy_of(&g, sizeof g);
		if (copy == NULL)
			free(g.scope);
		else if (strmap_put(s->grants, e->id, copy) != 0)
			break; /* freed by the map */
		break;
	}
	case FEED_POLICY:
		*refetch |= EDGE_REFETCH_POLICY;
		break;
	case FEED_ENTITIES:
		*refetch |= EDGE_REFETCH_ENTITIES;
		break;
	case FEED_JWKS:
		*refetch |= EDGE_REFETCH_JWKS;
		break;
	case FEED_SESSION_KILL: /* not state: the sync hands it to the Modbus proxy */
	case FEED_SECRET:       /* not state: injected values are fetched by their owner */
		break;
	}
}

static bool token_expired(const char *key, void *value, void *ctx)
{
	(void)key;
	return ((const edge_token_t *)value)->exp < *(const int64_t *)ctx;
}

/* Grants that ended (whatever their stored state) are kept until no token
 * under them can still be alive: a token's exp is at most the grant's end. */
static bool grant_gone(const char *key, void *value, void *ctx)
{
	const edge_grant_t *g = value;
	(void)key;
	return g->ends_at > 0 && g->ends_at < *(const int64_t *)ctx;
}

/* The revocations in force as snapshot entries (state.json reads back as
 * a snapshot answer). */
static bool collect_token(const char *key, void *value, void *ctx)
{
	const edge_token_t *t = value;
	feed_entry_t e = {.kind = FEED_TOKEN, .exp = t->exp};
	snprintf(e.id, sizeof e.id, "%s", key);
	snprintf(e.sub, sizeof e.sub, "%s", t->sub);
	json_array_append_new(ctx, feed_entry_json(&e));
	return false;
}

static bool collect_identity(const char *key, void *value, void *ctx)
{
	const edge_identity_t *v = value;
	feed_entry_t e = {.kind = FEED_IDENTITY, .at = v->at};
	snprintf(e.id, sizeof e.id, "%s", key);
	snprintf(e.state, sizeof e.state, "%s", v->state);
	json_array_append_new(ctx, feed_entry_json(&e));
	return false;
}

static bool collect_grant(const char *key, void *value, void *ctx)
{
	const edge_grant_t *g = value;
	feed_entry_t e = {.kind = FEED_GRANT, .exp = g->ends_at, .approvals = g->approvals, .break_glass = g->break_glass};
	snprintf(e.id, sizeof e.id, "%s", key);
	snprintf(e.sub, sizeof e.sub, "%s", g->identity);
	snprintf(e.state, sizeof e.state, "%s", g->state);
	snprintf(e.reason, sizeof e.reason, "%s", g->reason);
	snprintf(e.source, sizeof e.source, "%s", g->source);
	e.scope = g->scope; /* borrowed: e is not released */
	json_array_append_new(ctx, feed_entry_json(&e));
	return false;
}

static json_t *state_json(edge_state_t *s)
{
	json_t *entries = json_array();
	strmap_sweep(s->tokens, collect_token, entries);
	strmap_sweep(s->identities, collect_identity, entries);
	strmap_sweep(s->grants, collect_grant, entries);
	/* no jwks member while no keys were fetched: the decoder refuses "" */
	return json_pack("{s:I, s:b, s:o, s:{s:I, s:I, s:s*}}", "seq", (json_int_t)s->seq, "snapshot", 1, "entries",
			 entries, "versions", "policy", (json_int_t)s->policy_version, "entities",
			 (json_int_t)s->entities_version, "jwks", s->jwks_sha[0] ? s->jwks_sha : NULL);
}

int edge_state_apply(edge_state_t *s, const feed_batch_t *b, int64_t now, const char *dir, unsigned *refetch)
{
	*refetch = 0;
	pthread_rwlock_wrlock(&s->lock);
	if (b->snapshot) {
		strmap_t *t = strmap_new(free), *i = strmap_new(free), *g = strmap_new(grant_free);
		if (t == NULL || i == NULL || g == NULL) {
			strmap_free(t);
			strmap_free(i);
			strmap_free(g);
		} else {
			strmap_free(s->tokens);
			strmap_free(s->identities);
			strmap_free(s->grants);
			s->tokens = t;
			s->identities = i;
			s->grants = g;
		}
	}
	for (size_t k = 0; k < b->n; k++)
		apply_entry(s, &b->entries[k], refetch);
	strmap_sweep(s->tokens, token_expired, &now);
	strmap_sweep(s->grants, grant_gone, &now);
	s->seq = b->seq;
	if (b->policy_version != s->policy_version || s->engine == NULL)
		*refetch |= EDGE_REFETCH_POLICY;
	if (b->entities_version != s->entities_version || s->entities == NULL)
		*refetch |= EDGE_REFETCH_ENTITIES;
	if (b->jwks_sha256[0] != '\0' && strcmp(b->jwks_sha256, s->jwks_sha) != 0)
		*refetch |= EDGE_REFETCH_JWKS;
	json_t *doc = dir != NULL ? state_json(s) : NULL;
	pthread_rwlock_unlock(&s->lock);
	int rc = 0;
	if (doc != NULL) {
		rc = write_json(dir, "state.json", doc);
		json_decref(doc);
	}
	return rc;
}

int edge_state_load(edge_state_t *s, const char *dir, char *why, size_t why_len)
{
	static const char *const names[] = {"jwks.json", "policy.json", "entities.json", "state.json"};
	char *text[4] = {NULL};
	size_t len[4] = {0};
	feed_batch_t b;
	unsigned refetch = 0;
	int rc = -1;
	for (size_t i = 0; i < 4; i++)
		if ((text[i] = read_file(dir, names[i], &len[i])) == NULL) {
			snprintf(why, why_len, "no readable %s in %s", names[i], dir);
			goto out;
		}
	if (edge_state_set_jwks(s, text[0], len[0], NULL, why, why_len) != 0 ||
	    edge_state_set_policy(s, text[1], len[1], NULL, why, why_len) != 0 ||
	    edge_state_set_entities(s, text[2], len[2], NULL, why, why_len) != 0)
		goto out;
	if (feed_batch_parse(text[3], len[3], 0, &b, why, why_len) != 0)
		goto out;
	if (!b.snapshot) {
		snprintf(why, why_len, "state.json is not a snapshot");
		feed_batch_free(&b);
		goto out;
	}
	edge_state_apply(s, &b, 0, NULL, &refetch);
	feed_batch_free(&b);
	rc = 0;
out:
	for (size_t i = 0; i < 4; i++)
		free(text[i]);
	return rc;
}
