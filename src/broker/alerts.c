/* alerts.c - webhook delivery of alerts (alerts.h), over libcurl. */
#include "broker/alerts.h"
#include "shell/log.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_TIMEOUT_S 5L

typedef struct {
	char url[TG_CFG_STR];
	char *body;
} delivery_t;

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

static void *deliver(void *arg)
{
	delivery_t *d = arg;
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	CURLcode rc = CURLE_FAILED_INIT;
	if (c != NULL && h != NULL) {
		curl_easy_setopt(c, CURLOPT_URL, d->url);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, ALERT_TIMEOUT_S);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
		rc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	}
	if (rc != CURLE_OK || status < 200 || status > 299)
		log_event(LOG_ERROR, "alert webhook delivery failed", "error",
			  rc != CURLE_OK ? curl_easy_strerror(rc) : "the receiver did not answer 2xx", NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(d->body);
	free(d);
	return NULL;
}

void alert_send(broker_t *b, json_t *alert)
{
	pthread_t t;
	pthread_attr_t attr;
	delivery_t *d = b->cfg.alert_webhook[0] != '\0' ? calloc(1, sizeof *d) : NULL;
	if (d != NULL) {
		memcpy(d->url, b->cfg.alert_webhook, sizeof d->url);
		d->body = json_dumps(alert, JSON_COMPACT);
	}
	json_decref(alert);
	if (d == NULL || d->body == NULL) {
		if (d != NULL)
			free(d);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, deliver, d) != 0) {
		log_event(LOG_ERROR, "alert webhook delivery failed", "error", "no thread", NULL);
		free(d->body);
		free(d);
	}
	pthread_attr_destroy(&attr);
}
