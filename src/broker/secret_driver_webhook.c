/* secret_driver_webhook.c - the webhook rotation driver (secret_driver.h):
 * the exec driver's JSON request POSTed to the target's URL with libcurl
 * (no redirects, http and https only, the target's timeout), and its JSON
 * answer read from a 2xx response body of at most ROT_MAX_ANSWER bytes.
 * The request carries the credential in its body: outside loopback the URL
 * must be https (docs/secrets.md). */
#include "broker/secret_driver.h"
#include "core/errbuf.h"
#include <curl/curl.h>
#include <sodium.h>
#include <string.h>

typedef struct {
	char buf[ROT_MAX_ANSWER + 1];
	size_t len;
	bool too_big;
} answer_t;

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	answer_t *a = ud;
	size_t len = size * n;
	if (a->len + len > ROT_MAX_ANSWER) {
		a->too_big = true;
		return 0; /* aborts the transfer */
	}
	memcpy(a->buf + a->len, p, len);
	a->len += len;
	return len;
}

static drv_rc_t post(const drv_ctx_t *c, rot_op_t op, const char *new_value, const char *old_value, char *err,
		     size_t err_len)
{
	const rot_target_t *t = c->target;
	answer_t *a = calloc(1, sizeof *a);
	char *req = rotation_request_json(op, c->secret, t->config, new_value, old_value);
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	drv_rc_t rc = DRV_ERROR;
	long status = 0;
	if (a == NULL || req == NULL || h == NULL || hdr == NULL) {
		tg_errf(err, err_len, "out of memory");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, t->url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)t->timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (a->too_big)
		tg_errf(err, err_len, "webhook %s: protocol error: the answer is larger than %d bytes",
			rotation_op_name(op), ROT_MAX_ANSWER);
	else if (cc != CURLE_OK)
		tg_errf(err, err_len, "webhook %s: %s", rotation_op_name(op), curl_easy_strerror(cc));
	else if (status < 200 || status > 299)
		tg_errf(err, err_len, "webhook %s: the receiver answered HTTP %ld", rotation_op_name(op), status);
	else {
		char why[700];
		rc = secret_driver_answer(op, a->buf, a->len, new_value, old_value, why, sizeof why);
		if (rc != DRV_OK)
			tg_errf(err, err_len, "webhook %s: %s", rotation_op_name(op), why);
	}
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	secret_driver_wipe(req);
	if (a != NULL)
		sodium_memzero(a, sizeof *a);
	free(a);
	return rc;
}

static drv_rc_t webhook_set(const drv_ctx_t *c, const char *new_value, const char *old_value, char *err,
			    size_t err_len)
{
	return post(c, ROT_OP_SET, new_value, old_value, err, err_len);
}

static drv_rc_t webhook_verify(const drv_ctx_t *c, const char *value, char *err, size_t err_len)
{
	return post(c, ROT_OP_VERIFY, value, NULL, err, err_len);
}

static drv_rc_t webhook_revoke(const drv_ctx_t *c, const char *old_value, const char *current, char *err,
			       size_t err_len)
{
	return post(c, ROT_OP_REVOKE, current, old_value, err, err_len);
}

const secret_driver_t secret_driver_webhook = {webhook_set, webhook_verify, webhook_revoke};
