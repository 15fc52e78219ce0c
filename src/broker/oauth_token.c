/* oauth_token.c - POST /oauth/token: RFC 6749 §4.4 client_credentials with
 * private_key_jwt or mTLS client authentication, scope checked token by
 * token, TTL capped, optional DPoP (RFC 9449) or mTLS (RFC 8705) binding.
 * Phases: parse form -> authenticate client -> check scope against Cedar
 * policy (permissions.c) -> cap TTL -> check DPoP proof -> sign -> durably
 * record (single-use jtis + token) -> answer. Nothing is answered before the
 * record is on disk. While the store makes it durable, the connection is
 * suspended and the HTTP thread serves others (oauth_issue_held): its
 * issuance joins a commit group with every other one queued meanwhile. */
#include "broker/audit_trail.h"
#include "broker/auth_failures.h"
#include "broker/broker.h"
#include "broker/change_windows.h"
#include "broker/client_auth.h"
#include "broker/grants.h"
#include "shell/log.h"
#include "broker/oauth_issue.h"
#include "broker/metrics.h"
#include "broker/permissions.h"
#include "broker/status_lists.h"
#include "core/b64url.h"
#include "core/dpop.h"
#include "core/scope.h"
#include <errno.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LAST_USED_PRECISION_S 60


/* The requested lifetime hint: `ttl` (Tollgate) or `expires_in`. */
int oauth_requested_ttl(req_t *r, const form_t *f, int64_t *out)
{
	const char *v = form_get(f, "ttl");
	if (v == NULL)
		v = form_get(f, "expires_in");
	*out = 0;
	if (v == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < 1 || n > 86400 * 365) {
		http_oauth_error(r, 400, "invalid_request", "ttl must be a positive number of seconds");
		return -1;
	}
	*out = n;
	return 0;
}

/* min(requested or the default, the identity's max_ttl, the policies'
 * @max_ttl, the server cap). */
static int64_t cap_ttl(const broker_t *b, const identity_t *id, const issue_req_t *g, int64_t requested)
{
	int64_t ttl = requested > 0 ? requested : b->cfg.token_default_ttl;
	if (id->max_ttl > 0 && ttl > id->max_ttl)
		ttl = id->max_ttl;
	if (g->policy_ttl > 0 && ttl > g->policy_ttl)
		ttl = g->policy_ttl;
	if (ttl > b->cfg.token_max_ttl)
		ttl = b->cfg.token_max_ttl;
	return ttl;
}

/* A token under a grant never outlives it, nor a delegated token the
 * token it was exchanged for. */
int64_t oauth_cap_ttl(const broker_t *b, const identity_t *id, const issue_req_t *g, int64_t requested, int64_t now)
{
	int64_t ttl = cap_ttl(b, id, g, requested);
	if (g->has_jit && ttl > g->jit.ends_at - now)
		ttl = g->jit.ends_at - now;
	if (g->not_after > 0 && ttl > g->not_after - now)
		ttl = g->not_after - now;
	if (g->has_jit && g->windows.ends_at > 0 && ttl > g->windows.ends_at - now)
		ttl = g->windows.ends_at - now; /* nor the change window it was issued in */
	return ttl;
}

/* A scope token policy refused: the client learns which token (its own
 * request), never which policy; the audit record names the determining
 * forbids, the missing obligation or the errors. */
static void refuse_scope(req_t *r, const identity_t *id, const issue_req_t *g, const permission_t *pm)
{
	char msg[TG_MAX_SCOPE_TOKEN_LEN + 140];
	const char *tok = g->scope.tok[pm->denied];
	snprintf(msg, sizeof msg, "%s is not permitted for this identity%s", tok,
		 pm->needs_grant ? " without an active JIT grant (tollgate grant request)" : "");
	log_event(LOG_INFO, "token request refused", "client_id", id->id, "scope", tok, "reason", pm->why, NULL);
	audit_event_t ev = audit_event(r, "token.refused", id->id);
	ev.action = "oauth.token";
	ev.resource = tok;
	ev.decision = "deny";
	ev.policies = pm->policies;
	ev.details = pm->details;
	ev.grant = g->has_jit ? g->jit.id : NULL;
	audit_append(r, &ev);
	http_oauth_error(r, 400, "invalid_scope", msg);
}

/* Keeps an allowed decision's determining permits and TTL cap. */
static void take_permission(issue_req_t *g, permission_t *pm)
{
	g->policy_ttl = pm->max_ttl;
	g->policy_version = pm->policy_version;
	g->policies = pm->policies;
	pm->policies = NULL;
}

/* The decision again under the grant the request is made under (named by
 * grant_id, or the active grant that covers the scope): 0 allowed, 1 no
 * grant applies (pm stays the first decision), -1 answered. */
static int under_grant(req_t *r, const char *grant_id, const identity_t *id, issue_req_t *g, permission_t *pm)
{
	const char *why = NULL;
	int rc = grant_for_token(r->b, id->id, &g->scope, grant_id, r->client_ip, r->now, &g->jit, &why);
	if (rc == 1 && grant_id == NULL)
		return 1;
	if (rc != 0) {
		audit_refusal(r, "token.refused", id->id, "oauth.token", NULL, rc < 0 ? "store failure" : why);
		http_oauth_error(r, rc < 0 ? 503 : 400,
				 rc < 0 ? "temporarily_unavailable" : rc == 2 ? "invalid_scope" : "invalid_grant",
				 rc < 0 ? "the store is unavailable; retry" : why);
		return -1;
	}
	g->has_jit = true;
	if ((why = change_window_admit(r->b, &g->scope, r->now, WINDOWS_REQUIRE_OPEN, &g->windows, g->why, sizeof g->why)) != NULL) {
		audit_refusal(r, "token.refused", id->id, "oauth.token", NULL, why);
		http_oauth_error(r, 400, "invalid_grant", why);
		return -1;
	}
	permission_grant_t ctx = grant_policy_context(&g->jit);
	permission_req_t q = {"Workload", id->id, NULL, r->client_ip, r->now, -1, &ctx, g->windows.names};
	permission_release(pm);
	return permission_decide(r->b, &q, &g->scope, pm) != 0 ? -2 : 0;
}

/* The decision without a grant; policy sees the open change window of
 * each token's resource, if any. 0, or -2 when it could not be made. */
static int standing(req_t *r, const identity_t *id, issue_req_t *g, permission_t *pm)
{
	change_window_admit(r->b, &g->scope, r->now, WINDOWS_OPEN, &g->windows, g->why, sizeof g->why);
	permission_req_t q = {"Workload", id->id, NULL, r->client_ip, r->now, -1, NULL,
			      g->windows.any ? g->windows.names : NULL};
	return permission_decide(r->b, &q, &g->scope, pm) == 0 ? 0 : -2;
}

static int check_scope(req_t *r, const form_t *f, const identity_t *id, issue_req_t *g)
{
	const char *why = NULL;
	const char *scope = form_get(f, "scope"), *grant_id = form_get(f, "grant_id");
	permission_t pm;
	int rc = 0;
	if (scope == NULL || scope_parse(scope, &g->scope, &why) != 0) {
		why = why ? why : "scope is required";
		audit_refusal(r, "token.refused", id->id, "oauth.token", NULL, why);
		http_oauth_error(r, 400, "invalid_scope", why);
		return -1;
	}
	if (grant_id != NULL) {
		memset(&pm, 0, sizeof pm);
		rc = under_grant(r, grant_id, id, g, &pm);
	} else if ((rc = standing(r, id, g, &pm)) == 0 && !pm.allow) {
		/* refused without a grant: an active grant that covers the scope
		 * may still permit it (a permit that needs it, or a forbid that
		 * only a change window lifts) */
		rc = under_grant(r, NULL, id, g, &pm);
	}
	if (rc == -1) {
		permission_release(&pm);
		return -1;
	}
	if (rc == -2) {
		permission_release(&pm);
		log_event(LOG_ERROR, "policy evaluation failed: refusing the token", "client_id", id->id, NULL);
		audit_refusal(r, "token.refused", id->id, "oauth.token", NULL, "policy evaluation failed");
		http_oauth_error(r, 500, "server_error", "the policy decision failed; retry");
		return -1;
	}
	if (!pm.allow) {
		refuse_scope(r, id, g, &pm);
		permission_release(&pm);
		return -1;
	}
	take_permission(g, &pm);
	permission_release(&pm);
	g->scope_str = scope_join(&g->scope);
	return g->scope_str != NULL ? 0 : -1;
}

static enum MHD_Result count_dpop(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	(void)value;
	if (strcasecmp(key, "DPoP") == 0)
		(*(unsigned *)cls)++;
	return MHD_YES;
}

/* How many DPoP header fields the request carries (libmicrohttpd keeps
 * each field; looking one up returns only the first). */
static unsigned dpop_header_count(req_t *r)
{
	unsigned n = 0;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, count_dpop, &n);
	return n;
}

static int refuse_dpop(req_t *r, const identity_t *id, const char *why)
{
	metrics_auth_failure("dpop");
	audit_refusal(r, "token.refused", id->id, "oauth.token", NULL, why);
	http_oauth_error(r, 400, "invalid_dpop_proof", why);
	return -1;
}

/* RFC 9449 §4.3: at most one DPoP header, carrying one valid proof. */
int oauth_check_dpop(req_t *r, const identity_t *id, issue_req_t *g)
{
	const char *proof = http_header(r, "DPoP");
	const char *why = NULL;
	if (dpop_header_count(r) > 1)
		return refuse_dpop(r, id, "more than one DPoP header");
	if (proof == NULL && http_header_oversized(r, "DPoP"))
		return refuse_dpop(r, id, "DPoP proof is too large");
	if (proof == NULL)
		return 0;
	dpop_opts_t o = {"POST", r->b->token_endpoint, r->now, r->b->cfg.clock_leeway,
			 r->b->cfg.dpop_max_age, NULL};
	if (dpop_check(proof, strlen(proof), &o, &g->dpop, &why) != 0)
		return refuse_dpop(r, id, why);
	g->has_dpop = true;
	return 0;
}

/* 48-bit milliseconds then 80 random bits: unique and unguessable, and
 * time-ordered so that the store's token index grows at its end instead of
 * at random pages. */
static void new_jti(int64_t now_ms, char out[23])
{
	uint8_t raw[16];
	uint64_t ms = (uint64_t)now_ms;
	for (int i = 0; i < 6; i++)
		raw[i] = (uint8_t)(ms >> (40 - 8 * i));
	randombytes_buf(raw + 6, sizeof raw - 6);
	b64url_encode_to(raw, sizeof raw, out);
}

static void answer(req_t *r, const char *jwt, const issue_req_t *g)
{
	json_t *body = json_pack("{s:s, s:s, s:I, s:s}", "access_token", jwt, "token_type",
				 g->has_dpop ? "DPoP" : "Bearer", "expires_in", (json_int_t)g->ttl,
				 "scope", g->scope_str);
	if (g->act != NULL) /* RFC 8693 §2.2.1 */
		json_object_set_new(body, "issued_token_type", json_string(TOKEN_TYPE_ACCESS));
	http_json(r, 200, body);
}

/* The token row the store keeps (introspection and revocation use it). */
static void fill_record(token_record_t *rec, const tok_issue_t *t, const client_t *c, const issue_req_t *g)
{
	rec->iat = t->iat;
	rec->exp = t->exp;
	snprintf(rec->jti, sizeof rec->jti, "%s", t->jti);
	snprintf(rec->identity_id, sizeof rec->identity_id, "%s", g->sub != NULL ? g->sub : c->identity.id);
	snprintf(rec->scope, sizeof rec->scope, "%s", g->scope_str);
	snprintf(rec->cnf_jkt, sizeof rec->cnf_jkt, "%s", t->cnf_jkt ? t->cnf_jkt : "");
	snprintf(rec->cnf_x5t, sizeof rec->cnf_x5t, "%s", c->cnf_x5t);
	snprintf(rec->grant, sizeof rec->grant, "%s", g->has_jit ? g->jit.id : "");
}

static const char *binding_of(const tok_issue_t *t)
{
	return t->cnf_jkt ? "dpop" : t->cnf_x5t ? "mtls" : "none";
}

/* token.issued details: never the token, only its hash. */
static json_t *issued_details(const tok_issue_t *t, const client_t *c, const issue_req_t *g,
			      const char *kid, const char *hash)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s?, s:s?, s:I}", "scope", g->scope_str, "ttl",
			 (json_int_t)g->ttl, "auth", c->method, "binding", binding_of(t), "token_sha256", hash,
			 "cnf_jkt", t->cnf_jkt, "kid", kid, "policy_version", (json_int_t)g->policy_version);
}

static void refuse_replay(req_t *r, const client_t *c, bool dpop)
{
	if (!dpop) { /* a failed client authentication (auth_failures.c) */
		auth_failed(r, "client_assertion", c->identity.id, "client assertion replayed");
		http_oauth_error(r, 401, "invalid_client", "client assertion was already used");
		return;
	}
	metrics_auth_failure("dpop");
	audit_refusal(r, "token.refused", c->identity.id, "oauth.token", NULL, "DPoP proof replayed");
	log_event(LOG_WARN, "replay refused", "client_id", c->identity.id, "what", "dpop proof", "src",
		  r->client_ip, NULL);
	http_oauth_error(r, 400, "invalid_dpop_proof", "DPoP proof was already used");
}

/* One issuance from signing to the answer: what the durable record and the
 * answer need. On the stack for a synchronous issuance (c and g stay the
 * caller's); on the heap, owning c and g, for one held while the store
 * makes it durable (oauth_issue_held). */
typedef struct {
	const client_t *c;
	issue_req_t *g;
	client_t own_c;
	issue_req_t own_g;
	tok_issue_t t;
	token_record_t rec;
	char jti[23], hash[65], dpop_key[JKT_LEN + TG_MAX_JTI_LEN + 2];
	char *jwt;
	json_t *details;
	audit_event_t ev;
	issuance_t is;
	int dpop_replayed, grant_ended;
	store_rc rc;
	struct MHD_Connection *conn; /* held: the connection the store's answer resumes */
	atomic_int stage;            /* held: ISSUING_PENDING, then the first of the other two */
} issuing_t;

enum { ISSUING_PENDING, ISSUING_RECORDED, ISSUING_ABANDONED };

/* Held issuances (suspended connections) not yet answered or abandoned,
 * and whether the server is stopping: libmicrohttpd cannot stop while a
 * connection is suspended, so then no new issuance is held. */
static atomic_long holds;
static atomic_bool stopping;

/* Counts a hold unless the server is stopping (the count comes first, so
 * that oauth_issue_release either waits for it or this sees stopping). */
static bool hold_begin(void)
{
	atomic_fetch_add(&holds, 1);
	if (!atomic_load(&stopping))
		return true;
	atomic_fetch_sub(&holds, 1);
	return false;
}

static void hold_end(void)
{
	atomic_fetch_sub(&holds, 1);
}

void oauth_issue_release(void)
{
	atomic_store(&stopping, true);
	/* Each held issuance is answered once its commit group is durable. */
	for (int i = 0; i < 3000 && atomic_load(&holds) > 0; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (atomic_load(&holds) > 0)
		log_event(LOG_ERROR, "token requests still wait for the store at shutdown", NULL);
}

/* Signs the token (answers 500 and returns -1 when it cannot). */
static int sign_token(req_t *r, issuing_t *it)
{
	const client_t *c = it->c;
	const issue_req_t *g = it->g;
	status_entry_t status;
	new_jti(r->now_ms, it->jti);
	it->t = (tok_issue_t){.issuer = r->b->issuer, .audience = r->b->cfg.audience,
			      .sub = g->sub != NULL ? g->sub : c->identity.id, .client_id = c->identity.id,
			      .scope = g->scope_str, .jti = it->jti, .iat = r->now, .exp = r->now + g->ttl,
			      .cnf_jkt = g->has_dpop ? g->dpop.jkt : NULL,
			      .cnf_x5t = c->cnf_x5t[0] ? c->cnf_x5t : NULL, .alg = r->b->cfg.token_alg_name,
			      .grant = g->has_jit ? g->jit.id : NULL, .act = g->act};
	it->rec = (token_record_t){.status_idx = -1};
	if (status_lists_alloc(r->b, &status) == 0) {
		it->t.status_uri = status.uri;
		it->t.status_idx = status.idx;
		it->rec.status_idx = status.global;
	}
	if ((it->jwt = signer_issue(r->b->signer, &it->t, it->rec.kid)) == NULL) {
		http_oauth_error(r, 500, "server_error", "could not sign the token");
		return -1;
	}
	it->t.status_uri = NULL; /* status.uri lives on this stack only; the record needs none */
	fill_record(&it->rec, &it->t, c, g);
	tok_hash_hex(it->jwt, strlen(it->jwt), it->hash);
	memcpy(it->rec.sha256, it->hash, sizeof it->rec.sha256);
	return 0;
}

/* The one durable write of the issuance: single-use jtis, token row and
 * its token.issued record. */
static void prepare_record(req_t *r, issuing_t *it)
{
	const client_t *c = it->c;
	const issue_req_t *g = it->g;
	snprintf(it->dpop_key, sizeof it->dpop_key, "%s|%s", g->dpop.jkt, g->dpop.jti);
	it->details = issued_details(&it->t, c, g, it->rec.kid, it->hash);
	if (g->act != NULL) {
		json_object_set(it->details, "act", g->act);
		json_object_set_new(it->details, "subject_jti", json_string(g->subject_jti));
	}
	it->ev = audit_event(r, "token.issued", c->identity.id);
	it->ev.action = "oauth.token";
	it->ev.resource = g->scope_str;
	it->ev.decision = "allow";
	it->ev.jti = it->t.jti;
	it->ev.policies = g->policies;
	it->ev.details = it->details;
	it->ev.grant = g->has_jit ? g->jit.id : NULL;
	it->is = (issuance_t){.assertion_jti = c->assertion_jti[0] ? c->assertion_jti : NULL,
			      .assertion_exp = c->assertion_exp, .dpop_jti = g->has_dpop ? it->dpop_key : NULL,
			      /* used until no proof accepted now can still be fresh */
			      .dpop_exp = it->t.iat + r->b->cfg.dpop_max_age + 2 * r->b->cfg.clock_leeway,
			      .token = &it->rec, .audit = &it->ev, .dpop_replayed = &it->dpop_replayed,
			      .grant_ended = &it->grant_ended,
			      /* last use is kept to the minute: no identity write per token */
			      .touch_last_used = c->identity.last_used_at <= it->t.iat - LAST_USED_PRECISION_S};
}

/* Answers once the store said how the write went: the token only when it
 * is durable; a replay, an ended grant or a store failure otherwise. */
static void answer_recorded(req_t *r, const issuing_t *it)
{
	const client_t *c = it->c;
	const issue_req_t *g = it->g;
	char ttl_s[24];
	if (it->rc == STORE_CONFLICT && it->grant_ended) {
		audit_refusal(r, "token.refused", c->identity.id, "oauth.token", NULL, "the grant ended");
		http_oauth_error(r, 400, "invalid_grant", "the grant ended while the token was being issued");
	} else if (it->rc == STORE_CONFLICT) {
		refuse_replay(r, c, it->dpop_replayed);
	} else if (it->rc != STORE_OK) {
		broker_store_failed(r->b, "token issuance");
		http_oauth_error(r, 503, "temporarily_unavailable", "the store cannot record the token; retry");
	} else {
		snprintf(ttl_s, sizeof ttl_s, "%lld", (long long)g->ttl);
		log_event(LOG_INFO, "token issued", "sub", it->t.sub, "actor", g->act ? c->identity.id : NULL, "jti",
			  it->jti, "scope", g->scope_str, "ttl", ttl_s, "auth", c->method, "binding",
			  binding_of(&it->t), "token_sha256", it->hash, "src", r->client_ip, NULL);
		metrics_token_issued();
		answer(r, it->jwt, g);
	}
}

static void issuing_release(issuing_t *it)
{
	json_decref(it->details);
	if (it->jwt != NULL) {
		sodium_memzero(it->jwt, strlen(it->jwt));
		free(it->jwt);
	}
	if (it->g == &it->own_g) {
		oauth_issue_req_free(&it->own_g);
		client_release(&it->own_c);
	}
}

/* Signs, records and answers, waiting for the store in this thread. */
void oauth_issue(req_t *r, const client_t *c, issue_req_t *g)
{
	issuing_t it = {.c = c, .g = g};
	if (sign_token(r, &it) == 0) {
		prepare_record(r, &it);
		it.rc = store_issue(r->b->store, &it.is);
		answer_recorded(r, &it);
	}
	issuing_release(&it);
}

static void issuing_free(void *arg)
{
	issuing_t *it = arg;
	issuing_release(it);
	free(it);
}

/* The request ended while its issuance was in the store (the server
 * closing its connections): whichever of the two comes last frees it. */
static void issuing_abandon(void *arg)
{
	issuing_t *it = arg;
	hold_end();
	if (atomic_exchange(&it->stage, ISSUING_ABANDONED) == ISSUING_RECORDED)
		issuing_free(it);
}

/* The store's writer thread: the issuance is durable (or refused or
 * failed); the connection resumes into issuing_resumed. */
static void issuing_recorded(void *arg, store_rc rc)
{
	issuing_t *it = arg;
	struct MHD_Connection *conn = it->conn; /* it is not ours once the stage moved */
	it->rc = rc;
	if (atomic_exchange(&it->stage, ISSUING_RECORDED) == ISSUING_ABANDONED)
		issuing_free(it);
	else
		MHD_resume_connection(conn);
}

static void issuing_resumed(req_t *r)
{
	issuing_t *it = r->held_state;
	r->held_state = NULL;
	answer_recorded(r, it);
	issuing_free(it);
	hold_end();
}

void oauth_issue_held(req_t *r, client_t *c, issue_req_t *g)
{
	issuing_t *it = calloc(1, sizeof *it);
	if (it == NULL) {
		http_oauth_error(r, 500, "server_error", "out of memory");
		return;
	}
	it->own_c = *c; /* c and g move into the issuance */
	it->own_g = *g;
	memset(c, 0, sizeof *c);
	memset(g, 0, sizeof *g);
	it->c = &it->own_c;
	it->g = &it->own_g;
	if (sign_token(r, it) != 0) {
		issuing_free(it);
		return;
	}
	prepare_record(r, it);
	if (!hold_begin()) { /* the server is stopping: this thread waits instead */
		it->rc = store_issue(r->b->store, &it->is);
		answer_recorded(r, it);
		issuing_free(it);
		return;
	}
	it->conn = r->conn;
	atomic_init(&it->stage, ISSUING_PENDING);
	r->held_state = it;
	r->held_free = issuing_abandon;
	r->held = true;
	r->resume = issuing_resumed;
	/* Suspended before the write is queued, so that the resume cannot come first. */
	MHD_suspend_connection(r->conn);
	if (store_issue_start(r->b->store, &it->is, issuing_recorded, it) != STORE_OK)
		issuing_recorded(it, STORE_ERROR);
}

void oauth_issue_req_free(issue_req_t *g)
{
	json_decref(g->policies);
	json_decref(g->act);
	if (g->has_jit)
		grant_release(&g->jit);
	free(g->scope_str);
	scope_free(&g->scope);
	memset(g, 0, sizeof *g);
}

void handle_token(req_t *r)
{
	form_t f;
	const char *why = NULL;
	client_t c;
	issue_req_t g;
	int64_t requested = 0;
	memset(&g, 0, sizeof g);
	if (!http_require_content_type(r, "application/x-www-form-urlencoded"))
		return;
	if (form_parse(r->body ? r->body : "", r->body_len, &f, &why) != 0) {
		http_oauth_error(r, 400, "invalid_request", why);
		return;
	}
	const char *gt = form_get(&f, "grant_type");
	if (gt != NULL && strcmp(gt, GRANT_TYPE_EXCHANGE) == 0) {
		oauth_token_exchange(r, &f);
		goto out_form;
	}
	if (gt == NULL || strcmp(gt, "client_credentials") != 0) {
		http_oauth_error(r, 400, gt ? "unsupported_grant_type" : "invalid_request",
				 "grant_type must be client_credentials or " GRANT_TYPE_EXCHANGE);
		goto out_form;
	}
	if (oauth_requested_ttl(r, &f, &requested) != 0 || client_authenticate(r, &f, &c) != 0)
		goto out_form;
	if (check_scope(r, &f, &c.identity, &g) == 0 && oauth_check_dpop(r, &c.identity, &g) == 0) {
		g.ttl = oauth_cap_ttl(r->b, &c.identity, &g, requested, r->now);
		oauth_issue_held(r, &c, &g);
	}
	oauth_issue_req_free(&g);
	client_release(&c);
out_form:
	form_free(&f);
}
