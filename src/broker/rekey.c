/* rekey.c - a new master key without downtime (rekey.h). */
#include "broker/rekey.h"
#include "broker/audit_trail.h"
#include "broker/handlers.h"
#include "broker/secret_keys.h"
#include "broker/serve.h"
#include "core/secret.h"
#include "shell/log.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REWRAP_BATCH 200
#define KEY_PATH_CAP (sizeof ((tg_config_t *)0)->master_key_file + 16)
#define SEAL_OVERHEAD (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES)
#define SEALED_MAX 256 /* a signing key's seed or a TOTP secret, sealed */

static pthread_mutex_t rekey_mu = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
	int64_t secrets, keys, operators;
	char from[SECRET_MKID_LEN + 1], to[SECRET_MKID_LEN + 1];
} rekey_report_t;

void rekey_next_path(const broker_t *b, char *out, size_t len)
{
	snprintf(out, len, "%s.next", b->cfg.master_key_file);
}

/* fsyncs the directory holding path (a rename in it is durable then). */
static int sync_dir(const char *path)
{
	char copy[KEY_PATH_CAP];
	snprintf(copy, sizeof copy, "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Writes key to path atomically: a 0600 temporary file, fsync'd, renamed. */
static int write_key_file(const char *path, const uint8_t key[MASTER_KEY_LEN])
{
	char tmp[KEY_PATH_CAP + 8], text[MASTER_KEY_TEXT_LEN + 1];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	master_key_format(key, text);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, text, MASTER_KEY_TEXT_LEN) == MASTER_KEY_TEXT_LEN &&
		 fsync(fd) == 0;
	sodium_memzero(text, sizeof text);
	if (fd >= 0 && close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0 || sync_dir(path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* ---- step 3: the secrets' data keys ---- */

static int rewrap_one(broker_t *b, const char *name, const char *actor, rekey_report_t *rep)
{
	secret_record_t rec;
	uint8_t wrapped[SECRET_WRAPPED_LEN];
	char mkid[SECRET_MKID_LEN + 1], res[SECRET_MAX_NAME + 16];
	store_rc rc = store_secret_get(b->store, name, &rec);
	if (rc != STORE_OK)
		return rc == STORE_NOT_FOUND ? 0 : -1;
	int out = -1;
	if (secret_keys_rewrap(b->secret_keys, &rec, wrapped, mkid) != 0) {
		log_event(LOG_ERROR, "a secret's data key opens under no master key held; it is left as it is",
			  "secret", name, "master_key_id", rec.master_key_id, NULL);
		goto done;
	}
	snprintf(res, sizeof res, "Secret:%s", name);
	json_t *details = json_pack("{s:s, s:s}", "from_master_key", rec.master_key_id, "to_master_key", mkid);
	audit_event_t ev = {.type = "secret.rekeyed", .actor = actor, .action = "secret.rekey", .resource = res,
			    .decision = "allow", .details = details};
	rc = store_secret_rewrap(b->store, name, rec.master_key_id, wrapped, sizeof wrapped, mkid, &ev);
	json_decref(details);
	if (rc == STORE_OK)
		rep->secrets++;
	out = rc == STORE_OK || rc == STORE_CONFLICT ? 0 : -1; /* conflict: changed meanwhile, seen again */
done:
	sodium_memzero(wrapped, sizeof wrapped);
	secret_record_release(&rec);
	return out;
}

/* Re-wraps every data key not wrapped under the current key yet, a batch
 * at a time; a batch in which nothing could be re-wrapped ends it (the log
 * names each secret: its data key opens under no key held). */
static int rewrap_secrets(broker_t *b, const char *actor, rekey_report_t *rep, char *err, size_t err_len)
{
	for (;;) {
		char **names = NULL;
		size_t n = 0, done = 0;
		if (store_secret_not_wrapped_by(b->store, rep->to, REWRAP_BATCH, &names, &n) != STORE_OK) {
			snprintf(err, err_len, "the store is unavailable");
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (done == i && rewrap_one(b, names[i], actor, rep) == 0)
				done++;
			free(names[i]);
		}
		free(names);
		if (n == 0)
			return 0;
		if (done < n) {
			snprintf(err, err_len, "a secret's data key could not be re-wrapped (see the log)");
			return -1;
		}
	}
}

/* ---- step 4: signing keys and TOTP secrets ---- */

typedef struct {
	broker_t *b;
	const uint8_t *next;
	const char *actor;
	rekey_report_t *rep;
	uint8_t *old; /* sodium_malloc'd: the old key, for the operators sealed late */
	bool have_old;
} reseal_ctx_t;

/* Opens sealed (aad) with from and seals it with to into out (cap). */
static int reseal(const uint8_t *from, const uint8_t *to, const char *aad, const uint8_t *sealed, size_t len,
		  uint8_t *out, size_t *out_len)
{
	uint8_t plain[SEALED_MAX];
	unsigned long long n = 0;
	if (len < SEAL_OVERHEAD || len > SEALED_MAX ||
	    crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, sealed + 24, len - 24, (const uint8_t *)aad,
						       strlen(aad), sealed, from) != 0)
		return -1;
	randombytes_buf(out, 24);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, &n, plain, n, (const uint8_t *)aad, strlen(aad), NULL,
						   out, to);
	*out_len = 24 + (size_t)n;
	sodium_memzero(plain, sizeof plain);
	return 0;
}

/* Whether sealed (aad) opens with key. */
static bool opens_with(const uint8_t *key, const char *aad, const uint8_t *sealed, size_t len)
{
	uint8_t plain[SEALED_MAX];
	unsigned long long n = 0;
	bool ok = len >= SEAL_OVERHEAD && len <= SEALED_MAX &&
		  crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, sealed + 24, len - 24, (const uint8_t *)aad,
							     strlen(aad), sealed, key) == 0;
	sodium_memzero(plain, sizeof plain);
	return ok;
}

typedef struct {
	master_resealed_t *items;
	uint8_t (*buf)[SEALED_MAX];
	char (*ids)[TG_MAX_ID_LEN + 1];
	size_t n;
} resealed_t;

static void resealed_free(resealed_t *r)
{
	if (r->buf != NULL)
		sodium_memzero(r->buf, r->n * sizeof *r->buf);
	free(r->items);
	free(r->buf);
	free(r->ids);
}

static int resealed_alloc(resealed_t *r, size_t n)
{
	r->n = 0;
	r->items = calloc(n ? n : 1, sizeof *r->items);
	r->buf = calloc(n ? n : 1, sizeof *r->buf);
	r->ids = calloc(n ? n : 1, sizeof *r->ids);
	return r->items && r->buf && r->ids ? 0 : -1;
}

/* Adds id's sealed form resealed from -> to (skipped when it opens with to
 * already: a resumed rekey). */
static int reseal_item(resealed_t *r, const uint8_t *from, const uint8_t *to, const char *id, const char *aad,
		       const uint8_t *sealed, size_t len)
{
	if (opens_with(to, aad, sealed, len))
		return 0;
	size_t i = r->n;
	snprintf(r->ids[i], sizeof r->ids[i], "%s", id);
	if (reseal(from, to, aad, sealed, len, r->buf[i], &r->items[i].sealed_len) != 0)
		return -1;
	r->items[i].id = r->ids[i];
	r->items[i].sealed = r->buf[i];
	r->n++;
	return 0;
}

static int reseal_signing_keys(broker_t *b, const uint8_t *from, const uint8_t *to, resealed_t *out)
{
	static const char *const purposes[] = {"token", "audit"};
	signing_key_t *k[2] = {NULL, NULL};
	size_t n[2] = {0, 0};
	int rc = -1;
	if (store_signing_keys(b->store, purposes[0], &k[0], &n[0]) != STORE_OK ||
	    store_signing_keys(b->store, purposes[1], &k[1], &n[1]) != STORE_OK || resealed_alloc(out, n[0] + n[1]) != 0)
		goto done;
	rc = 0;
	for (int p = 0; p < 2 && rc == 0; p++)
		for (size_t i = 0; i < n[p] && rc == 0; i++)
			rc = reseal_item(out, from, to, k[p][i].kid, k[p][i].kid, k[p][i].sealed, k[p][i].sealed_len);
done:
	signing_keys_release(k[0], n[0]);
	signing_keys_release(k[1], n[1]);
	return rc;
}

static int reseal_operators(broker_t *b, const uint8_t *from, const uint8_t *to, resealed_t *out)
{
	operator_t *ops = NULL;
	size_t n = 0;
	char aad[TG_MAX_ID_LEN + 16];
	if (store_operator_list(b->store, &ops, &n) != STORE_OK || resealed_alloc(out, n) != 0) {
		free(ops);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(aad, sizeof aad, "operator:%s", ops[i].username); /* operators_api.c's aad */
		rc = reseal_item(out, from, to, ops[i].username, aad, ops[i].sealed_totp, ops[i].sealed_totp_len);
	}
	sodium_memzero(ops, n * sizeof *ops);
	free(ops);
	return rc;
}

/* What the signers hold the locks for: re-seal everything, one transaction. */
static int reseal_all(void *arg, const uint8_t old_master[MASTER_KEY_LEN])
{
	reseal_ctx_t *c = arg;
	resealed_t keys = {0}, ops = {0};
	char res[SECRET_MKID_LEN + 16];
	int rc = -1;
	if (c->old != NULL) {
		memcpy(c->old, old_master, MASTER_KEY_LEN);
		c->have_old = true;
	}
	if (reseal_signing_keys(c->b, old_master, c->next, &keys) != 0 ||
	    reseal_operators(c->b, old_master, c->next, &ops) != 0)
		goto done;
	snprintf(res, sizeof res, "MasterKey:%s", c->rep->to);
	json_t *details = json_pack("{s:s, s:s, s:I, s:I}", "from_master_key", c->rep->from, "to_master_key",
				    c->rep->to, "signing_keys", (json_int_t)keys.n, "operators", (json_int_t)ops.n);
	audit_event_t ev = {.type = "master_key.rekeyed", .actor = c->actor, .action = "master_key.rekey",
			    .resource = res, .decision = "allow", .details = details};
	rc = store_master_reseal(c->b->store, keys.items, keys.n, ops.items, ops.n, &ev) == STORE_OK ? 0 : -1;
	json_decref(details);
	c->rep->keys = (int64_t)keys.n;
	c->rep->operators = (int64_t)ops.n;
done:
	resealed_free(&keys);
	resealed_free(&ops);
	return rc;
}

/* An operator created while the keys were re-sealed had its TOTP secret
 * sealed under the old key before the switch and stored after: re-sealed
 * now, while the old key is still at hand. */
static int reseal_late_operators(broker_t *b, const uint8_t *old, const uint8_t *next)
{
	resealed_t late = {0};
	int rc = reseal_operators(b, old, next, &late);
	if (rc == 0 && late.n > 0)
		rc = store_master_reseal(b->store, NULL, 0, late.items, late.n, NULL) == STORE_OK ? 0 : -1;
	resealed_free(&late);
	return rc;
}

/* Steps 3-5 (rekey.h) to next. */
static int complete(broker_t *b, const uint8_t next[MASTER_KEY_LEN], const char *actor, rekey_report_t *rep,
		    char *err, size_t err_len)
{
	char path[KEY_PATH_CAP];
	secret_master_key_id(next, rep->to);
	if (rewrap_secrets(b, actor, rep, err, err_len) != 0)
		return -1;
	reseal_ctx_t c = {b, next, actor, rep, sodium_malloc(MASTER_KEY_LEN), false};
	int rc = c.old != NULL ? 0 : -1;
	if (rc == 0 && !signer_master_is(b->signer, next))
		rc = signer_rekey(b->signer, b->audit_signer, next, reseal_all, &c);
	if (rc == 0 && c.have_old)
		rc = reseal_late_operators(b, c.old, next);
	sodium_free(c.old);
	if (rc != 0) {
		snprintf(err, err_len, "the signing keys and operator secrets could not be re-sealed (store unavailable?)");
		return -1;
	}
	rekey_next_path(b, path, sizeof path);
	if (rename(path, b->cfg.master_key_file) != 0 || sync_dir(b->cfg.master_key_file) != 0) {
		snprintf(err, err_len, "cannot rename %s over %s: %s", path, b->cfg.master_key_file, strerror(errno));
		return -1;
	}
	secret_keys_forget_old(b->secret_keys);
	log_event(LOG_INFO, "master key replaced", "master_key_id", rep->to, NULL);
	return 0;
}

int rekey_resume(broker_t *b, const uint8_t next[MASTER_KEY_LEN], char *err, size_t err_len)
{
	rekey_report_t rep = {0};
	pthread_mutex_lock(&rekey_mu);
	secret_keys_current_id(b->secret_keys, rep.from);
	log_event(LOG_WARN, "an interrupted rekey is being completed", NULL);
	int rc = complete(b, next, "broker", &rep, err, err_len);
	pthread_mutex_unlock(&rekey_mu);
	return rc;
}

void handle_rekey(req_t *r)
{
	uint8_t next[MASTER_KEY_LEN];
	char path[KEY_PATH_CAP], err[2 * KEY_PATH_CAP + 200];
	rekey_report_t rep = {0};
	if (!http_require_no_body(r))
		return;
	if (pthread_mutex_trylock(&rekey_mu) != 0) {
		http_problem(r, 409, "Rekey in progress", "another rekey is running; retry when it has finished");
		return;
	}
	secret_keys_current_id(r->b->secret_keys, rep.from);
	rekey_next_path(r->b, path, sizeof path);
	/* An earlier rekey that did not finish left its key in that file,
	 * the only copy of a key some keys may already be sealed under (and
	 * held here since): finish that one rather than overwrite it. */
	bool pending = access(path, F_OK) == 0;
	int rc = -1;
	if (pending) {
		if (serve_load_master_key(path, next, err, sizeof err) == 0)
			rc = complete(r->b, next, r->actor.id, &rep, err, sizeof err);
	} else {
		randombytes_buf(next, sizeof next);
		if (write_key_file(path, next) != 0)
			snprintf(err, sizeof err, "cannot write the new master key to %s: %s", path, strerror(errno));
		else if (secret_keys_add(r->b->secret_keys, next) != 0)
			snprintf(err, sizeof err, "out of memory");
		else
			rc = complete(r->b, next, r->actor.id, &rep, err, sizeof err);
	}
	pthread_mutex_unlock(&rekey_mu);
	sodium_memzero(next, sizeof next);
	if (rc != 0) {
		log_event(LOG_ERROR, "rekey failed; the broker completes it at its next start", "reason", err, NULL);
		audit_refusal(r, "master_key.rekey_failed", r->actor.id, "master_key.rekey", NULL, err);
		http_problem(r, 503, "Rekey incomplete", err);
		return;
	}
	log_event(LOG_INFO, "rekey done", "actor", r->actor.id, "from", rep.from, "to", rep.to, NULL);
	http_json(r, 200, json_pack("{s:s, s:s, s:I, s:I, s:I}", "master_key_id", rep.to, "previous_master_key_id",
				    rep.from, "secrets_rewrapped", (json_int_t)rep.secrets, "signing_keys_resealed",
				    (json_int_t)rep.keys, "operators_resealed", (json_int_t)rep.operators));
}
