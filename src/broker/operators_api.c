/* operators_api.c - /v1/operators (create, list, confirm enrolment,
 * disable) and POST /v1/login. Passwords are Argon2id strings (libsodium
 * crypto_pwhash_str at operator_pwhash_ops/_mem); TOTP secrets are sealed
 * under the master key (signer_seal, aad "operator:USER"); a session token
 * is 256 random bits the store keeps only the SHA-256 of. A login that
 * fails answers the same 401 whatever failed (unknown user, password,
 * code, replayed code, unconfirmed or disabled operator), after the same
 * Argon2id work, and goes through auth_failures.c (method "login", the
 * username as the client), so that guessing is throttled per source and
 * per (source, user) and audited in aggregate. Secrets never reach the log
 * or the audit trail. */
#include "broker/audit_trail.h"
#include "broker/auth_failures.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "shell/log.h"
#include "broker/policy_state.h"
#include "core/b64url.h"
#include "core/operator.h"
#include "core/policy/ext.h"
#include <pthread.h>
#include <time.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOGIN_FAILED "wrong username, password or TOTP code (or the operator is not active)"

static void store_failed(req_t *r)
{
	broker_store_failed(r->b, r->path);
	http_problem(r, 503, NULL, "the store is unavailable; retry");
}

static void aad_of(const char *username, char *aad, size_t len)
{
	snprintf(aad, len, "operator:%s", username);
}

/* Argon2id runs at most operator_pwhash_parallel at a time: each holds
 * operator_pwhash_mem, so a burst of logins (wrong ones too: an unknown
 * user costs the same hash) cannot take the machine's memory. A caller
 * that waits longer than PWHASH_WAIT_S gets -1 (the handler answers 503). */
#define PWHASH_WAIT_S 10
static pthread_mutex_t pw_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pw_cv = PTHREAD_COND_INITIALIZER;
static int64_t pw_running;

static int pw_enter(const broker_t *b)
{
	struct timespec until;
	int rc = 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PWHASH_WAIT_S;
	pthread_mutex_lock(&pw_mu);
	while (pw_running >= b->cfg.operator_pwhash_parallel && rc == 0)
		rc = pthread_cond_timedwait(&pw_cv, &pw_mu, &until);
	if (rc == 0)
		pw_running++;
	pthread_mutex_unlock(&pw_mu);
	return rc == 0 ? 0 : -1;
}

static void pw_leave(void)
{
	pthread_mutex_lock(&pw_mu);
	pw_running--;
	pthread_cond_signal(&pw_cv);
	pthread_mutex_unlock(&pw_mu);
}

static int pwhash(const broker_t *b, const char *password, char out[OP_PWHASH_LEN])
{
	if (pw_enter(b) != 0)
		return -1;
	int rc = crypto_pwhash_str(out, password, strlen(password), (unsigned long long)b->cfg.operator_pwhash_ops,
				   (size_t)b->cfg.operator_pwhash_mem);
	pw_leave();
	return rc;
}

/* 1 when password matches hash, 0 when not, -1 when no slot freed up. */
static int pw_verify(const broker_t *b, const char *hash, const char *password)
{
	if (hash[0] == '\0')
		return 0;
	if (pw_enter(b) != 0)
		return -1;
	int ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	pw_leave();
	return ok;
}

/* A hash no password matches in practice, at the configured cost: an
 * unknown user's login verifies against it so that it takes as long. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[OP_PWHASH_LEN];
static const broker_t *dummy_broker;

static void dummy_make(void)
{
	uint8_t raw[32];
	char pw[65];
	randombytes_buf(raw, sizeof raw);
	hex_encode_to(raw, sizeof raw, pw);
	if (pwhash(dummy_broker, pw, dummy_hash) != 0)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof pw);
}

static const char *dummy(const broker_t *b)
{
	dummy_broker = b;
	pthread_once(&dummy_once, dummy_make);
	return dummy_hash;
}

/* An operator write changes the entity Operator::"<username>" too: the
 * writer lock is held across the store write and the swap (policy_state.h). */
static policy_pending_t *entities_begin(req_t *r, const char *username, const operator_t *op)
{
	char why[300];
	policy_writer_lock(r->b);
	policy_pending_t *p = policy_pending_checked(r, policy_operator_prepare(r->b, username, op, why, sizeof why), why);
	if (p == NULL)
		policy_writer_unlock(r->b);
	return p;
}

static void entities_end(req_t *r, policy_pending_t *p, store_rc rc)
{
	policy_pending_finish(r->b, p, rc);
	policy_writer_unlock(r->b);
}

static json_t *operator_json(const operator_t *o)
{
	return json_pack("{s:s, s:o, s:s, s:I, s:I}", "username", o->username, "roles",
			 operator_roles_json(o->roles), "status", o->status, "created_at",
			 (json_int_t)o->created_at, "updated_at", (json_int_t)o->updated_at);
}

/* Creates the operator of in (pending_totp, a new sealed TOTP secret) and
 * answers 201 with its otpauth:// URI. first: only when the store has no
 * operator at all (tollgate init). */
static void enrol(req_t *r, const operator_create_t *in, bool first)
{
	operator_t op;
	uint8_t secret[TOTP_SECRET_LEN];
	char uri[TOTP_URI_MAX], aad[TG_MAX_ID_LEN + 16], res[TG_MAX_ID_LEN + 16];
	memset(&op, 0, sizeof op);
	snprintf(op.username, sizeof op.username, "%s", in->username);
	op.roles = in->roles;
	snprintf(op.status, sizeof op.status, "pending_totp");
	op.created_at = op.updated_at = r->now;
	if (pwhash(r->b, in->password, op.pwhash) != 0) {
		http_problem(r, 503, NULL, "could not hash the password (out of memory at the configured "
				 "operator_pwhash_mem); retry");
		goto out;
	}
	randombytes_buf(secret, sizeof secret);
	aad_of(op.username, aad, sizeof aad);
	if (signer_seal(r->b->signer, aad, secret, sizeof secret, op.sealed_totp, sizeof op.sealed_totp,
			&op.sealed_totp_len) != 0 ||
	    totp_uri(op.username, secret, sizeof secret, uri, sizeof uri) != 0) {
		http_problem(r, 500, NULL, "could not set up TOTP");
		goto out;
	}
	json_t *details = json_pack("{s:o, s:s, s:b}", "roles", operator_roles_json(op.roles), "status", op.status,
				    "init", first);
	audit_event_t ev = audit_change_event(r, "operator.created", "Operator", op.username, res, sizeof res, details);
	if (first)
		ev.actor = op.username; /* nobody is logged in yet: the first admin creates itself */
	store_rc rc = STORE_ERROR;
	policy_pending_t *p = entities_begin(r, op.username, &op);
	if (p != NULL) {
		rc = first ? store_operator_create_first(r->b->store, &op, &ev) : store_operator_create(r->b->store, &op, &ev);
		entities_end(r, p, rc);
	}
	json_decref(details);
	if (p == NULL)
		goto out;
	if (rc == STORE_CONFLICT) {
		http_problem(r, 409, NULL, first ? "this broker has operators already: log in (tollgate login) and "
						   "create more with tollgate operator create"
						 : "an operator with this username exists");
	} else if (rc != STORE_OK) {
		store_failed(r);
	} else {
		log_event(LOG_INFO, "operator created", "username", op.username, "actor", ev.actor, NULL);
		json_t *body = operator_json(&op);
		json_object_set_new(body, "otpauth_uri", json_string(uri));
		http_json(r, 201, body);
	}
out:
	sodium_memzero(&op, sizeof op);
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(uri, sizeof uri);
}

void handle_operator_create(req_t *r)
{
	operator_create_t in;
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	const char *why = operator_create_parse(doc, &in);
	json_decref(doc);
	if (why != NULL)
		http_problem(r, 400, "Invalid operator", why);
	else
		enrol(r, &in, false);
	sodium_memzero(&in, sizeof in);
}

void handle_operator_list(req_t *r)
{
	operator_t *ops;
	size_t n;
	if (store_operator_list(r->b->store, &ops, &n) != STORE_OK) {
		store_failed(r);
		return;
	}
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, operator_json(&ops[i]));
	sodium_memzero(ops, n * sizeof *ops);
	free(ops);
	http_json(r, 200, json_pack("{s:o}", "operators", a));
}

/* Loads the operator named in the path; answers 404/503 and returns -1. */
static int load(req_t *r, operator_t *op)
{
	store_rc rc = store_operator_get(r->b->store, r->param, op);
	if (rc == STORE_OK)
		return 0;
	if (rc == STORE_NOT_FOUND)
		http_problem(r, 404, NULL, "no operator with this username; list them with GET /v1/operators");
	else
		store_failed(r);
	return -1;
}

/* The operator's TOTP code check: 0 and the step, or -1. */
static int check_code(req_t *r, const operator_t *op, const char *code, int64_t *step)
{
	uint8_t secret[TOTP_SECRET_LEN + 16];
	char aad[TG_MAX_ID_LEN + 16];
	size_t n = 0;
	int rc = -1;
	aad_of(op->username, aad, sizeof aad);
	if (signer_unseal(r->b->signer, aad, op->sealed_totp, op->sealed_totp_len, secret, sizeof secret, &n) == 0)
		rc = totp_verify(secret, n, r->now, code, step);
	sodium_memzero(secret, sizeof secret);
	return rc;
}

void handle_operator_confirm(req_t *r)
{
	operator_t op;
	char code[16], res[TG_MAX_ID_LEN + 16];
	int64_t step = 0;
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	const char *why = totp_request_parse(doc, code);
	json_decref(doc);
	if (why != NULL) {
		http_problem(r, 400, "Invalid code", why);
		return;
	}
	if (load(r, &op) != 0)
		return;
	if (strcmp(op.status, "pending_totp") != 0) {
		http_problem(r, 409, NULL, "this operator's enrolment is not pending (already confirmed or disabled)");
	} else if (check_code(r, &op, code, &step) != 0) {
		http_problem(r, 400, "Invalid code", "the TOTP code does not match the operator's secret "
				     "(use the current code of the otpauth URI printed at creation)");
	} else {
		json_t *details = json_pack("{s:s}", "status", "active");
		audit_event_t ev = audit_change_event(r, "operator.confirmed", "Operator", op.username, res, sizeof res, details);
		store_rc rc = store_operator_confirm(r->b->store, op.username, step, r->now, &ev);
		json_decref(details);
		if (rc == STORE_CONFLICT) {
			http_problem(r, 409, NULL, "this operator's enrolment is no longer pending, or the code was used");
		} else if (rc != STORE_OK) {
			store_failed(r);
		} else {
			log_event(LOG_INFO, "operator confirmed", "username", op.username, NULL);
			snprintf(op.status, sizeof op.status, "active");
			op.updated_at = r->now;
			http_json(r, 200, operator_json(&op));
		}
	}
	sodium_memzero(&op, sizeof op);
	sodium_memzero(code, sizeof code);
}

void handle_operator_disable(req_t *r)
{
	operator_t op;
	char res[TG_MAX_ID_LEN + 16];
	if (!http_require_no_body(r) || load(r, &op) != 0)
		return;
	json_t *details = json_pack("{s:s, s:s}", "status", "disabled", "previous_status", op.status);
	audit_event_t ev = audit_change_event(r, "operator.disabled", "Operator", op.username, res, sizeof res, details);
	store_rc rc = STORE_ERROR;
	policy_pending_t *p = entities_begin(r, op.username, NULL);
	if (p != NULL) {
		rc = store_operator_disable(r->b->store, op.username, r->now, &ev);
		entities_end(r, p, rc);
	}
	json_decref(details);
	if (p == NULL) {
		/* answered */
	} else if (rc == STORE_CONFLICT) {
		http_problem(r, 409, NULL, "this operator is disabled already");
	} else if (rc != STORE_OK) {
		store_failed(r);
	} else {
		log_event(LOG_INFO, "operator disabled", "username", op.username, "actor", r->actor.id, NULL);
		snprintf(op.status, sizeof op.status, "disabled");
		op.updated_at = r->now;
		http_json(r, 200, operator_json(&op));
	}
	sodium_memzero(&op, sizeof op);
}

static void login_failed(req_t *r, const char *username, const char *why)
{
	auth_failed(r, "login", username, why);
	http_problem(r, 401, NULL, LOGIN_FAILED);
}

/* The body of a login-like request ({"username","password","totp"}),
 * unless its caller is throttled: 0, or -1 after answering. */
static int read_login(req_t *r, const char *title, login_request_t *in)
{
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return -1;
	const char *why = login_request_parse(doc, in);
	json_decref(doc);
	if (why != NULL) {
		http_problem(r, 400, title, why);
		return -1;
	}
	return auth_throttled(r, "login", in->username) ? -1 : 0;
}

/* The password against op's hash, or against the dummy's when there is no
 * such operator (the same Argon2id work either way): 1 when it matches an
 * operator found, 0 when not, -1 after answering 503. */
static int password_matches(req_t *r, bool found, const operator_t *op, const char *password)
{
	int verified = pw_verify(r->b, found ? op->pwhash : dummy(r->b), password);
	if (verified < 0)
		http_problem(r, 503, NULL, "too many logins at once (operator_pwhash_parallel); retry");
	return verified < 0 ? -1 : verified == 1 && found;
}

void handle_login(req_t *r)
{
	login_request_t in;
	operator_t op;
	operator_session_t sess;
	uint8_t raw[32], h[crypto_hash_sha256_BYTES];
	char token[65], res[TG_MAX_ID_LEN + 16];
	memset(&op, 0, sizeof op);
	if (read_login(r, "Invalid login", &in) != 0)
		goto out;
	store_rc got = store_operator_get(r->b->store, in.username, &op);
	if (got != STORE_OK && got != STORE_NOT_FOUND) {
		store_failed(r);
		goto out;
	}
	login_facts_t f = {.found = got == STORE_OK, .status = op.status, .last_step = op.last_step};
	int matches = password_matches(r, f.found, &op, in.password);
	if (matches < 0)
		goto out;
	f.password_ok = matches == 1;
	if (f.found && f.password_ok)
		f.totp_ok = check_code(r, &op, in.totp, &f.step) == 0;
	login_result_t res_ = login_decide(&f);
	if (res_ != LOGIN_OK) {
		login_failed(r, in.username, login_result_reason(res_));
		goto out;
	}
	randombytes_buf(raw, sizeof raw);
	hex_encode_to(raw, sizeof raw, token);
	crypto_hash_sha256(h, (const uint8_t *)token, 64);
	randombytes_buf(raw, 16);
	memset(&sess, 0, sizeof sess);
	hex_encode_to(raw, 16, sess.id);
	snprintf(sess.username, sizeof sess.username, "%s", op.username);
	sess.roles = op.roles;
	sess.created_at = sess.auth_time = r->now;
	sess.expires_at = r->now + r->b->cfg.operator_session_ttl;
	snprintf(sess.amr, sizeof sess.amr, "pwd otp");
	json_t *amr = json_pack("[s,s]", "pwd", "otp");
	json_t *details = json_pack("{s:s, s:O, s:I, s:I}", "session", sess.id, "amr", amr, "auth_time",
				    (json_int_t)sess.auth_time, "expires_at", (json_int_t)sess.expires_at);
	audit_event_t ev = audit_change_event(r, "login", "Operator", op.username, res, sizeof res, details);
	ev.actor = op.username;
	store_rc rc = store_operator_login(r->b->store, op.username, f.step, h, &sess, &ev);
	json_decref(details);
	if (rc == STORE_CONFLICT) {
		json_decref(amr);
		login_failed(r, in.username, login_result_reason(LOGIN_REPLAYED_TOTP));
	} else if (rc != STORE_OK) {
		json_decref(amr);
		store_failed(r);
	} else {
		log_event(LOG_INFO, "operator logged in", "username", op.username, "session", sess.id, NULL);
		http_json(r, 200, json_pack("{s:s, s:s, s:I, s:I, s:o, s:s, s:s}", "session_token", token,
					    "token_type", "Bearer", "expires_in",
					    (json_int_t)r->b->cfg.operator_session_ttl, "auth_time",
					    (json_int_t)sess.auth_time, "amr", amr, "session_id", sess.id,
					    "username", op.username));
	}
out:
	sodium_memzero(&in, sizeof in);
	sodium_memzero(&op, sizeof op);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(token, sizeof token);
}

/* ---- tollgate init: the first admin of a fresh store ---- */

/* Initialisation is open to anyone who reaches the broker first, as
 * Vault's: only from this machine. */
static bool from_loopback(req_t *r)
{
	pol_ip_t ip;
	if (pol_ip_parse(r->client_ip, strlen(r->client_ip), &ip) == 0 && pol_ip_is_loopback(&ip))
		return true;
	http_problem(r, 403, NULL, "initialisation is possible only from the broker's own machine (loopback)");
	return false;
}

void handle_init(req_t *r)
{
	operator_create_t in;
	if (!from_loopback(r))
		return;
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	const char *why = json_object_get(doc, "roles") != NULL ? "send username and password: the first operator "
								  "is an admin" : NULL;
	json_object_set_new(doc, "roles", json_pack("[s]", "admin"));
	why = why ? why : operator_create_parse(doc, &in);
	json_decref(doc);
	if (why != NULL)
		http_problem(r, 400, "Invalid operator", why);
	else
		enrol(r, &in, true);
	sodium_memzero(&in, sizeof in);
}

/* Only while the first admin is the one operator and still pending. */
static bool still_initialising(broker_t *b, const char *username)
{
	operator_t *ops = NULL;
	size_t n = 0;
	bool ok = store_operator_list(b->store, &ops, &n) == STORE_OK && n == 1 &&
		  strcmp(ops[0].username, username) == 0 && strcmp(ops[0].status, "pending_totp") == 0;
	sodium_memzero(ops, n * sizeof *ops);
	free(ops);
	return ok;
}

void handle_init_confirm(req_t *r)
{
	login_request_t in;
	operator_t op;
	int64_t step = 0;
	char res[TG_MAX_ID_LEN + 16];
	memset(&op, 0, sizeof op);
	if (!from_loopback(r) || read_login(r, "Invalid confirmation", &in) != 0)
		goto out;
	bool found = still_initialising(r->b, in.username) &&
		     store_operator_get(r->b->store, in.username, &op) == STORE_OK;
	int matches = password_matches(r, found, &op, in.password);
	if (matches < 0)
		goto out;
	bool ok = matches == 1 && check_code(r, &op, in.totp, &step) == 0;
	json_t *details = json_pack("{s:s, s:b}", "status", "active", "init", 1);
	audit_event_t ev = audit_change_event(r, "operator.confirmed", "Operator", in.username, res, sizeof res, details);
	ev.actor = in.username;
	store_rc rc = ok ? store_operator_confirm(r->b->store, in.username, step, r->now, &ev) : STORE_CONFLICT;
	json_decref(details);
	if (rc == STORE_OK) {
		log_event(LOG_INFO, "first admin confirmed", "username", in.username, NULL);
		snprintf(op.status, sizeof op.status, "active");
		http_json(r, 200, operator_json(&op));
	} else if (rc == STORE_CONFLICT) {
		login_failed(r, in.username, "initialisation confirmation failed");
	} else {
		store_failed(r);
	}
out:
	sodium_memzero(&in, sizeof in);
	sodium_memzero(&op, sizeof op);
}
