/* policy_state.c - the live Cedar view (policy_state.h): reference-counted
 * views swapped under a mutex readers hold for a pointer copy, the writer
 * lock, the merge of uploaded and identity entities, per-thread scratch.
 *
 * HOW THE SWAP WORKS. A view owns one reference on an engine holder and one
 * on an entities holder; consecutive views share whichever part did not
 * change (a policy write keeps the entities, an entity write keeps the
 * engine). The state owns one reference on the current view; every reader
 * owns one more while it evaluates. Installing a view moves the state's
 * reference to the new one and drops it from the old; whoever drops the last
 * reference frees the view, and a holder goes with its last view. */
#include "broker/policy_state.h"
#include "shell/log.h"
#include "broker/metrics.h"
#include "core/operator.h"
#include "core/policy/cedar_json.h"
#include "core/policy/entities_input.h"
#include "core/policy/registry_entities.h"
#include "core/policy/request_context.h"
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	atomic_int refs;
	pol_engine_t *eng;
} engine_ref_t;

typedef struct {
	atomic_int refs;
	pol_entities_t *es;
} entities_ref_t;

typedef struct {
	policy_view_t pub; /* first: a policy_view_t * is a view_t * */
	atomic_int refs;
	engine_ref_t *engine;
	entities_ref_t *entities;
} view_t;

struct policy_state {
	pthread_mutex_t mu;     /* guards cur only; held for a pointer copy */
	view_t *cur;
	pthread_mutex_t writer; /* serializes writers (policy_writer_lock) */
	json_t *user;           /* uploaded entities by key (writer lock) */
	json_t *idents;         /* identity entities by key (writer lock) */
};

/* ---- references ---- */

static void engine_put(engine_ref_t *e)
{
	if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1) {
		pol_engine_free(e->eng);
		free(e);
	}
}

static void entities_put(entities_ref_t *e)
{
	if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1) {
		pol_entities_free(e->es);
		free(e);
	}
}

static void view_put(view_t *v)
{
	if (v != NULL && atomic_fetch_sub(&v->refs, 1) == 1) {
		engine_put(v->engine);
		entities_put(v->entities);
		free(v);
	}
}

const policy_view_t *policy_acquire(broker_t *b)
{
	policy_state_t *ps = b->policy;
	pthread_mutex_lock(&ps->mu);
	view_t *v = ps->cur;
	atomic_fetch_add(&v->refs, 1);
	pthread_mutex_unlock(&ps->mu);
	return &v->pub;
}

void policy_release(const policy_view_t *v)
{
	view_put((view_t *)(uintptr_t)v);
}

pol_str_t policy_id(const policy_view_t *v, uint32_t i)
{
	const pol_set_t *set = pol_engine_set(v->engine);
	pol_str_t none = {"", 0};
	return set != NULL && i < set->n ? set->policy[i].id : none;
}

json_t *policy_id_json(const policy_view_t *v, uint32_t i)
{
	pol_str_t id = policy_id(v, i);
	return json_stringn(id.p, id.len);
}

/* Installs a view of engine e and entities n (one reference each taken
 * from the caller). */
static int install(policy_state_t *ps, engine_ref_t *e, entities_ref_t *n, int64_t pver,
		   const char *sha, int64_t ever)
{
	view_t *v = calloc(1, sizeof *v);
	if (v == NULL) {
		engine_put(e);
		entities_put(n);
		return -1;
	}
	atomic_init(&v->refs, 1);
	v->engine = e;
	v->entities = n;
	v->pub.engine = e->eng;
	v->pub.entities = n->es;
	v->pub.policy_version = pver;
	v->pub.entities_version = ever;
	snprintf(v->pub.policy_sha256, sizeof v->pub.policy_sha256, "%s", sha);
	pthread_mutex_lock(&ps->mu);
	view_t *old = ps->cur;
	ps->cur = v;
	pthread_mutex_unlock(&ps->mu);
	view_put(old);
	metrics_policy_versions(pver, ever);
	return 0;
}

static engine_ref_t *engine_ref(pol_engine_t *eng)
{
	engine_ref_t *e = calloc(1, sizeof *e);
	if (e == NULL) {
		pol_engine_free(eng);
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->eng = eng;
	return e;
}

static entities_ref_t *entities_ref(pol_entities_t *es)
{
	entities_ref_t *n = calloc(1, sizeof *n);
	if (n == NULL) {
		pol_entities_free(es);
		return NULL;
	}
	atomic_init(&n->refs, 1);
	n->es = es;
	return n;
}

/* ---- writers ---- */

void policy_writer_lock(broker_t *b)
{
	pthread_mutex_lock(&b->policy->writer);
}

void policy_writer_unlock(broker_t *b)
{
	pthread_mutex_unlock(&b->policy->writer);
}

void policy_install_engine(broker_t *b, pol_engine_t *eng, int64_t version, const char *sha256)
{
	policy_state_t *ps = b->policy;
	engine_ref_t *e = engine_ref(eng);
	view_t *cur = ps->cur; /* stable: writers hold the writer lock */
	if (e == NULL) {
		log_event(LOG_ERROR, "out of memory installing a policy set", NULL);
		return;
	}
	atomic_fetch_add(&cur->entities->refs, 1);
	if (install(ps, e, cur->entities, version, sha256, cur->pub.entities_version) != 0)
		log_event(LOG_ERROR, "out of memory installing a policy set", NULL);
}

const json_t *policy_user_entities(broker_t *b)
{
	return b->policy->user;
}

void policy_install_entities(broker_t *b, pol_entities_t *es, json_t *user, int64_t version)
{
	policy_state_t *ps = b->policy;
	entities_ref_t *n = entities_ref(es);
	view_t *cur = ps->cur;
	if (n == NULL) {
		json_decref(user);
		log_event(LOG_ERROR, "out of memory installing entities", NULL);
		return;
	}
	json_decref(ps->user);
	ps->user = user;
	atomic_fetch_add(&cur->engine->refs, 1);
	if (install(ps, cur->engine, n, cur->pub.policy_version, cur->pub.policy_sha256, version) != 0)
		log_event(LOG_ERROR, "out of memory installing entities", NULL);
}

/* ---- entity documents ---- */

/* The entities documents themselves are read by
 * core/policy/entities_input.c, the same rules as `policy eval --entities`. */

char *policy_uid_text(const char *type, const char *id)
{
	return pol_uid_text(type, id);
}

/* ---- identity entities and the merge ---- */

/* Every operator that is not disabled, as entities into out. */
static int load_operators(broker_t *b, json_t *out)
{
	operator_t *ops = NULL;
	size_t n = 0;
	if (store_operator_list(b->store, &ops, &n) != STORE_OK)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char *key = strcmp(ops[i].status, "disabled") != 0 ? pol_entity_key("Operator", ops[i].username) : NULL;
		if (key != NULL)
			json_object_set_new(out, key, pol_operator_entity(ops[i].username, ops[i].roles));
		free(key);
	}
	sodium_memzero(ops, n * sizeof *ops);
	free(ops);
	return 0;
}

/* Every identity that is not offboarded and every operator that is not
 * disabled, as entities by key. */
static json_t *load_identities(broker_t *b)
{
	json_t *out = json_object();
	if (out == NULL || load_operators(b, out) != 0) {
		json_decref(out);
		return NULL;
	}
	char after[TG_MAX_ID_LEN + 1] = "";
	for (;;) {
		identity_t *ids = NULL;
		size_t n = 0;
		identity_filter_t f = {.after = after[0] ? after : NULL, .limit = TG_MAX_LIST_LIMIT};
		if (store_identity_list(b->store, &f, &ids, &n) != STORE_OK) {
			free(ids);
			json_decref(out);
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(ids[i].status, "offboarded") != 0) {
				char *key = pol_entity_key("Workload", ids[i].id);
				if (key != NULL)
					json_object_set_new(out, key, pol_identity_entity(&ids[i]));
				free(key);
			}
			identity_release(&ids[i]);
		}
		if (n > 0)
			snprintf(after, sizeof after, "%s", ids[n - 1].id);
		free(ids);
		if (n < (size_t)f.limit)
			return out;
	}
}

static pol_entities_t *build(const json_t *user, const json_t *idents, char *err, size_t err_len)
{
	pol_entities_t *es = NULL;
	json_t *arr = pol_entities_merged(user, idents);
	if (arr == NULL || pol_json_entities_from(arr, &es, err, err_len) != 0)
		es = NULL;
	json_decref(arr);
	return es;
}

pol_entities_t *policy_build_entities(broker_t *b, const json_t *user, char *err, size_t err_len)
{
	return build(user, b->policy->idents, err, err_len);
}

json_t *policy_effective_entities(broker_t *b)
{
	return pol_entities_merged(b->policy->user, b->policy->idents);
}

struct policy_pending {
	json_t *idents;
	pol_entities_t *es;
};

/* The entity set with the registry entity `key` replaced by entity
 * (taken; NULL removes it). */
static policy_pending_t *prepare(broker_t *b, char *key, json_t *entity, char *err, size_t err_len)
{
	policy_state_t *ps = b->policy;
	policy_pending_t *p = calloc(1, sizeof *p);
	if (p == NULL || key == NULL || (p->idents = json_copy(ps->idents)) == NULL) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	if (entity != NULL)
		json_object_set(p->idents, key, entity);
	else
		json_object_del(p->idents, key);
	if ((p->es = build(ps->user, p->idents, err, err_len)) == NULL)
		goto fail;
	free(key);
	json_decref(entity);
	return p;
fail:
	free(key);
	json_decref(entity);
	policy_identity_abort(p);
	return NULL;
}

policy_pending_t *policy_identity_prepare(broker_t *b, const char *id, const identity_t *ident, char *err,
					  size_t err_len)
{
	bool present = ident != NULL && strcmp(ident->status, "offboarded") != 0;
	return prepare(b, pol_entity_key("Workload", id), present ? pol_identity_entity(ident) : NULL, err, err_len);
}

policy_pending_t *policy_operator_prepare(broker_t *b, const char *username, const operator_t *op, char *err,
					  size_t err_len)
{
	bool present = op != NULL && strcmp(op->status, "disabled") != 0;
	return prepare(b, pol_entity_key("Operator", username), present ? pol_operator_entity(op->username, op->roles) : NULL, err,
		       err_len);
}

policy_pending_t *policy_pending_checked(req_t *r, policy_pending_t *p, const char *why)
{
	char msg[400];
	if (p == NULL) {
		snprintf(msg, sizeof msg, "with this change the entities would not load, so nothing was changed: %s",
			 why);
		http_problem(r, 409, "Entity conflict", msg);
	}
	return p;
}

void policy_pending_finish(broker_t *b, policy_pending_t *p, store_rc rc)
{
	if (rc == STORE_OK)
		policy_identity_commit(b, p);
	else
		policy_identity_abort(p);
}

void policy_identity_abort(policy_pending_t *p)
{
	if (p == NULL)
		return;
	json_decref(p->idents);
	pol_entities_free(p->es);
	free(p);
}

void policy_identity_commit(broker_t *b, policy_pending_t *p)
{
	policy_state_t *ps = b->policy;
	int64_t version = 0;
	/* Identity writes move the stored entities version on by one; read it
	 * back, or count the step when the read fails. */
	if (store_entities_version(b->store, &version) != STORE_OK)
		version = ps->cur->pub.entities_version + 1;
	json_decref(ps->idents);
	ps->idents = p->idents;
	policy_install_entities(b, p->es, json_incref(ps->user), version);
	free(p);
}

/* ---- start-up ---- */

static void sha256_hex(const char *text, size_t len, char out[65])
{
	uint8_t d[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(d, (const uint8_t *)text, len);
	sodium_bin2hex(out, 65, d, sizeof d);
}

/* The current stored set compiled, or the empty set (deny everything). */
static pol_engine_t *load_policies(broker_t *b, int64_t *version, char sha[65])
{
	policy_version_t pv;
	pol_set_t *set = NULL;
	pol_engine_t *eng = NULL;
	pol_error_t perr;
	store_rc rc = store_policy_get(b->store, 0, &pv);
	*version = 0;
	sha256_hex("", 0, sha);
	if (rc == STORE_ERROR)
		return NULL;
	if (rc == STORE_OK) {
		*version = pv.version;
		snprintf(sha, 65, "%s", pv.sha256);
		if (pol_parse(pv.text, pv.text_len, &set, &perr) == 0 && pol_engine_new(set, &eng, &perr) == 0) {
			policy_version_release(&pv);
			return eng;
		}
		char v[24];
		snprintf(v, sizeof v, "%lld", (long long)pv.version);
		log_event(LOG_ERROR, "the stored policy set does not load: EVERYTHING IS DENIED until a "
				     "valid set is stored (PUT /v1/policies)", "version", v, "reason",
			  perr.message, NULL);
		policy_version_release(&pv);
		sha256_hex("", 0, sha);
	}
	if (pol_parse("", 0, &set, &perr) != 0 || pol_engine_new(set, &eng, &perr) != 0)
		return NULL;
	return eng;
}

/* The stored entities by key; an entity that does not normalize is left
 * out and logged. */
static json_t *load_user_entities(broker_t *b, int64_t *version)
{
	json_t *rows = NULL, *out = json_object();
	if (store_entities_list(b->store, &rows, version) != STORE_OK) {
		json_decref(out);
		return NULL;
	}
	size_t i;
	json_t *e;
	json_array_foreach(rows, i, e) {
		const char *type, *id;
		char err[200];
		json_t *n = pol_entity_normalize(e, &type, &id, err, sizeof err);
		char *key = n ? pol_entity_key(type, id) : NULL;
		if (key == NULL)
			log_event(LOG_ERROR, "a stored entity does not load and is left out", "reason", err, NULL);
		else
			json_object_set_new(out, key, json_incref(n));
		free(key);
		json_decref(n);
	}
	json_decref(rows);
	return out;
}

int policy_state_open(broker_t *b, char *err, size_t err_len)
{
	policy_state_t *ps = calloc(1, sizeof *ps);
	int64_t pver = 0, ever = 0;
	char sha[65], why[300];
	if (ps == NULL)
		return -1;
	pthread_mutex_init(&ps->mu, NULL);
	pthread_mutex_init(&ps->writer, NULL);
	b->policy = ps;
	pol_engine_t *eng = load_policies(b, &pver, sha);
	ps->user = load_user_entities(b, &ever);
	ps->idents = load_identities(b);
	if (eng == NULL || ps->user == NULL || ps->idents == NULL) {
		snprintf(err, err_len, "cannot load policies, entities or identities from the store");
		pol_engine_free(eng);
		goto fail;
	}
	pol_entities_t *es = build(ps->user, ps->idents, why, sizeof why);
	if (es == NULL) {
		/* Fail closed: without the uploaded entities fewer requests match. */
		log_event(LOG_ERROR, "the stored entities do not load together; starting with the "
				     "identities' entities only", "reason", why, NULL);
		json_decref(ps->user);
		ps->user = json_object();
		es = build(ps->user, ps->idents, why, sizeof why);
	}
	if (es == NULL) {
		pol_engine_free(eng);
		snprintf(err, err_len, "cannot build the identities' entities: %s", why);
		goto fail;
	}
	engine_ref_t *e = engine_ref(eng);
	entities_ref_t *n = entities_ref(es);
	if (e == NULL || n == NULL) {
		engine_put(e);
		entities_put(n);
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	if (install(ps, e, n, pver, sha, ever) != 0) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	return 0;
fail:
	policy_state_close(b);
	return -1;
}

void policy_state_close(broker_t *b)
{
	policy_state_t *ps = b->policy;
	if (ps == NULL)
		return;
	view_put(ps->cur);
	json_decref(ps->user);
	json_decref(ps->idents);
	pthread_mutex_destroy(&ps->mu);
	pthread_mutex_destroy(&ps->writer);
	free(ps);
	b->policy = NULL;
}

/* ---- per-thread scratch ---- */

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *s)
{
	pol_scratch_free(s);
}

static void scratch_key_init(void)
{
	if (pthread_key_create(&scratch_key, scratch_destroy) != 0)
		abort(); /* only when the process is out of keys at start-up */
}

pol_scratch_t *policy_scratch(void)
{
	pthread_once(&scratch_once, scratch_key_init);
	pol_scratch_t *s = pthread_getspecific(scratch_key);
	if (s == NULL && (s = pol_scratch_new()) != NULL && pthread_setspecific(scratch_key, s) != 0) {
		pol_scratch_free(s);
		s = NULL;
	}
	return s;
}

/* ---- request context ---- */

void policy_context_defaults(json_t *ctx, const pol_ctx_input_t *in)
{
	json_t *defaults = pol_ctx_json(in);
	const char *k;
	json_t *v;
	json_object_foreach(defaults, k, v)
		if (json_object_get(ctx, k) == NULL)
			json_object_set(ctx, k, v);
	json_decref(defaults);
}
