/* edge_client.c - the edge's HTTP client to the broker (edge_client.h).
 * Each thread that calls the broker (the feed sync, the audit shipper,
 * ...) keeps one curl handle, so its connection to the broker stays open
 * between calls (HTTP keep-alive): no TCP handshake and no new broker
 * connection per feed poll or audit batch. */
#include "edge/edge_client.h"
#include "core/b64url.h"
#include "shell/log.h"
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>

#define ASSERTION_LIFETIME 60

static struct {
	pthread_mutex_t mu;
	char token_endpoint[TG_CFG_STR + 32];
	char *access_token; /* under mu */
	int64_t renew_at;
	atomic_bool *stopping; /* the edge's: an open call is abandoned when it is set */
} C = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* This thread's curl handle, reset for a new request; NULL when curl
 * cannot start. Freed when the thread exits (handle_free). */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void handle_key_init(void)
{
	if (pthread_key_create(&handle_key, handle_free) != 0)
		abort(); /* only when the process is out of keys at start-up */
}

static CURL *thread_handle(void)
{
	pthread_once(&handle_once, handle_key_init);
	CURL *c = pthread_getspecific(handle_key);
	if (c != NULL) {
		curl_easy_reset(c); /* the options go; the open connection stays */
		return c;
	}
	if ((c = curl_easy_init()) != NULL && pthread_setspecific(handle_key, c) != 0) {
		curl_easy_cleanup(c);
		c = NULL;
	}
	return c;
}

/* Frees the calling thread's handle (the main thread's: its key
 * destructor never runs). */
static void thread_handle_free(void)
{
	pthread_once(&handle_once, handle_key_init);
	CURL *c = pthread_getspecific(handle_key);
	if (c != NULL) {
		pthread_setspecific(handle_key, NULL);
		curl_easy_cleanup(c);
	}
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	(void)ud;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return C.stopping != NULL && atomic_load(C.stopping) ? 1 : 0;
}

void edge_resp_free(edge_resp_t *r)
{
	free(r->body);
	r->body = NULL;
	r->len = r->cap = 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	edge_resp_t *r = ud;
	size_t add = size * n;
	if (r->len + add > TG_MAX_FEED_BODY)
		return 0;
	if (r->len + add + 1 > r->cap) {
		/* doubling; not realloc: the old block may hold part of a secret's value */
		size_t cap = r->cap * 2 > r->len + add + 1 ? r->cap * 2 : r->len + add + 1;
		char *g = malloc(cap);
		if (g == NULL)
			return 0;
		if (r->len > 0)
			memcpy(g, r->body, r->len);
		if (r->body != NULL)
			sodium_memzero(r->body, r->cap);
		free(r->body);
		r->body = g;
		r->cap = cap;
	}
	memcpy(r->body + r->len, p, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

/* One request; 0 when an answer came. */
static int perform(const char *method, const char *url, struct curl_slist *headers, const char *body, size_t body_len,
		   long timeout_s, edge_resp_t *out, char *why, size_t why_len)
{
	CURL *c = thread_handle();
	memset(out, 0, sizeof *out);
	if (c == NULL) {
		snprintf(why, why_len, "curl cannot start");
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	const char *ca = getenv("TOLLGATE_CACERT");
	if (ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	/* no "Expect: 100-continue": the broker never sends a 100, and curl
	 * would wait a second before each body over 1 KiB */
	struct curl_slist *all = curl_slist_append(NULL, "Expect:");
	for (const struct curl_slist *h = headers; h != NULL; h = h->next)
		all = curl_slist_append(all, h->data);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, all);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
		if (out->body == NULL)
			out->body = calloc(1, 1);
	} else {
		snprintf(why, why_len, "%s", curl_easy_strerror(rc));
		edge_resp_free(out);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL); /* the list goes now; the handle stays */
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
	for (struct curl_slist *h = all; h != NULL; h = h->next) /* the copies hold the token */
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(all);
	return rc == CURLE_OK && out->body != NULL ? 0 : -1;
}

int edge_broker_get_public(edge_t *e, const char *path, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
{
	char url[TG_CFG_STR + TG_MAX_URI];
	snprintf(url, sizeof url, "%s%s", e->cfg.broker, path);
	return perform("GET", url, NULL, NULL, 0, timeout_s, out, why, why_len);
}

/* The broker's issuer and token endpoint from its OAuth metadata. */
static int discover(edge_t *e, char *why, size_t why_len)
{
	edge_resp_t r;
	if (edge_broker_get_public(e, "/.well-known/oauth-authorization-server", 10, &r, why, why_len) != 0)
		return -1;
	json_t *m = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
	const char *iss = json_string_value(json_object_get(m, "issuer"));
	const char *te = json_string_value(json_object_get(m, "token_endpoint"));
	int rc = -1;
	if (iss == NULL || te == NULL || strlen(iss) >= sizeof e->issuer || strlen(te) >= sizeof C.token_endpoint) {
		snprintf(why, why_len, "%s did not publish OAuth metadata (HTTP %ld)", e->cfg.broker, r.status);
	} else {
		if (e->cfg.issuer[0] == '\0' && strcmp(e->issuer, iss) != 0)
			snprintf(e->issuer, sizeof e->issuer, "%s", iss);
		snprintf(C.token_endpoint, sizeof C.token_endpoint, "%s", te);
		rc = 0;
	}
	json_decref(m);
	edge_resp_free(&r);
	return rc;
}

int edge_client_start(edge_t *e, char *why, size_t why_len)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	C.stopping = &e->stopping;
	return discover(e, why, why_len);
}

void edge_client_stop(void)
{
	pthread_mutex_lock(&C.mu);
	if (C.access_token != NULL)
		sodium_memzero(C.access_token, strlen(C.access_token));
	free(C.access_token);
	C.access_token = NULL;
	pthread_mutex_unlock(&C.mu);
	thread_handle_free();
	curl_global_cleanup();
}

static char *form_value(const char *v)
{
	return curl_easy_escape(NULL, v, 0);
}

/* A new DPoP-bound access token for scope; the caller holds mu. *status
 * is the token endpoint's HTTP status (0: no answer). */
static int fetch_token_for(edge_t *e, const char *scope, long *status, char *why, size_t why_len)
{
	/* the broker was not reachable when the edge started: discover it now */
	if (C.token_endpoint[0] == '\0' && discover(e, why, why_len) != 0)
		return -1;
	int64_t now = (int64_t)time(NULL);
	char *assertion = client_assertion_sign(&e->key, e->cfg.identity, C.token_endpoint,
						e->cfg.kid[0] ? e->cfg.kid : NULL, now, ASSERTION_LIFETIME);
	char *proof = dpop_proof_sign(&e->key, "POST", C.token_endpoint, NULL, now);
	char *a = assertion ? form_value(assertion) : NULL, *s = form_value(scope);
	char *form = NULL, hdr[TG_MAX_JWT_LEN + 16];
	struct curl_slist *hl = NULL;
	edge_resp_t r = {0};
	int rc = -1;
	if (a == NULL || s == NULL || proof == NULL ||
	    asprintf(&form, "grant_type=client_credentials&scope=%s&client_assertion_type="
			    "urn%%3Aietf%%3Aparams%%3Aoauth%%3Aclient-assertion-type%%3Ajwt-bearer&client_assertion=%s",
		     s, a) < 0) {
		form = NULL;
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	snprintf(hdr, sizeof hdr, "DPoP: %s", proof);
	hl = curl_slist_append(hl, hdr);
	hl = curl_slist_append(hl, "Content-Type: application/x-www-form-urlencoded");
	if (perform("POST", C.token_endpoint, hl, form, strlen(form), 10, &r, why, why_len) != 0)
		goto out;
	*status = r.status;
	json_t *doc = json_loads(r.body, 0, NULL);
	const char *tok = json_string_value(json_object_get(doc, "access_token"));
	json_int_t ttl = json_integer_value(json_object_get(doc, "expires_in"));
	if (r.status == 200 && tok != NULL && ttl > 0) {
		free(C.access_token);
		C.access_token = strdup(tok);
		C.renew_at = now + (ttl > 90 ? ttl - 30 : ttl * 2 / 3);
		rc = C.access_token != NULL ? 0 : -1;
	} else {
		const char *err = json_string_value(json_object_get(doc, "error_description"));
		snprintf(why, why_len, "the broker refused the edge's token request (HTTP %ld: %s)", r.status,
			 err ? err : "no description");
	}
	json_decref(doc);
out:
	curl_slist_free_all(hl);
	edge_resp_free(&r);
	curl_free(a);
	curl_free(s);
	free(form);
	free(assertion);
	free(proof);
	return rc;
}

/* The edge's token: its scope with secret.read for each injected secret
 * (edge_config_token_scope). When the broker refuses that scope (policy
 * does not permit a secret.read), the edge still syncs with its own scope
 * alone: its secret reads are then refused by the broker, recorded, and
 * their routes fail closed. The caller holds mu. */
static int fetch_token(edge_t *e, char *why, size_t why_len)
{
	char scope[TG_MAX_SCOPE_LEN + 1];
	long status = 0;
	if (edge_config_token_scope(&e->cfg, scope, sizeof scope, why, why_len) < 0)
		snprintf(scope, sizeof scope, "%s", e->cfg.scope);
	if (fetch_token_for(e, scope, &status, why, why_len) == 0)
		return 0;
	if (status != 400 || strcmp(scope, e->cfg.scope) == 0)
		return -1;
	log_event(LOG_WARN, "the broker refuses the edge secret.read for its injected secrets; syncing without them",
		  "reason", why, NULL);
	return fetch_token_for(e, e->cfg.scope, &status, why, why_len);
}

/* A copy of the current token, fetching one when needed. */
static char *current_token(edge_t *e, bool fresh, char *why, size_t why_len)
{
	char *t = NULL;
	pthread_mutex_lock(&C.mu);
	if (fresh || C.access_token == NULL || (int64_t)time(NULL) >= C.renew_at)
		fetch_token(e, why, why_len);
	if (C.access_token != NULL && (int64_t)time(NULL) < C.renew_at + 30)
		t = strdup(C.access_token);
	pthread_mutex_unlock(&C.mu);
	return t;
}

static int call_once(edge_t *e, const char *token, const char *method, const char *path, const char *content_type,
		     const char *body, size_t body_len, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
{
	char url[TG_CFG_STR + TG_MAX_URI], htu[TG_CFG_STR + TG_MAX_URI], auth[TG_MAX_JWT_LEN + 16],
		dpop[TG_MAX_JWT_LEN + 16], ct[200];
	const char *q = strchr(path, '?');
	snprintf(url, sizeof url, "%s%s", e->cfg.broker, path);
	snprintf(htu, sizeof htu, "%s%.*s", e->issuer, (int)(q ? (size_t)(q - path) : strlen(path)), path);
	char *proof = dpop_proof_sign(&e->key, method, htu, token, (int64_t)time(NULL));
	if (proof == NULL) {
		snprintf(why, why_len, "cannot sign a DPoP proof");
		return -1;
	}
	struct curl_slist *hl = NULL;
	snprintf(auth, sizeof auth, "Authorization: DPoP %s", token);
	snprintf(dpop, sizeof dpop, "DPoP: %s", proof);
	hl = curl_slist_append(hl, auth);
	hl = curl_slist_append(hl, dpop);
	if (content_type != NULL) {
		snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
		hl = curl_slist_append(hl, ct);
	}
	int rc = perform(method, url, hl, body, body_len, timeout_s, out, why, why_len);
	curl_slist_free_all(hl);
	free(proof);
	sodium_memzero(auth, sizeof auth);
	return rc;
}

int edge_broker_call(edge_t *e, const char *method, const char *path, const char *content_type, const char *body,
		     size_t body_len, long timeout_s, edge_resp_t *out, char *why, size_t why_len)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		char *token = current_token(e, attempt > 0, why, why_len);
		if (token == NULL)
			return -1;
		int rc = call_once(e, token, method, path, content_type, body, body_len, timeout_s, out, why, why_len);
		sodium_memzero(token, strlen(token));
		free(token);
		if (rc != 0 || out->status != 401 || attempt > 0)
			return rc;
		edge_resp_free(out);
	}
	return -1;
}
