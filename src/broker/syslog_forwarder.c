/* syslog_forwarder.c - audit records to syslog (RFC 5424), at least once.
 * Message: <PRI>1 TIME HOST tollgate - TYPE [tollgate@32473 seq="N"
 * hash="H"] RECORD-JSON, facility authpriv (10), severity notice for
 * refusals and failures, info otherwise. Delivery is at least once: the
 * cursor advances after a batch was sent, so a crash may resend a batch
 * (the seq in the structured data lets a SIEM drop duplicates). */
#include "broker/syslog_forwarder.h"
#include "shell/log.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 200
#define IDLE_POLL_MS 200
#define RETRY_MAX_MS 5000

struct forwarder {
	store_t *store;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	int tcp;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int fd;
	char host[64];
	char sink[160];
};

char *syslog_format(const json_t *r, const char *hostname)
{
	const char *type = json_string_value(json_object_get(r, "type"));
	const char *time = json_string_value(json_object_get(r, "time"));
	const char *hash = json_string_value(json_object_get(r, "hash"));
	const char *decision = json_string_value(json_object_get(r, "decision"));
	bool alert = (decision != NULL && strcmp(decision, "deny") == 0) ||
		     (type != NULL && strncmp(type, "auth.", 5) == 0);
	int pri = 10 * 8 + (alert ? 5 : 6);
	char *json = json_dumps(r, JSON_COMPACT);
	char *msg = NULL;
	/* MSGID is at most 32 printable characters (RFC 5424 §6). */
	if (json == NULL || asprintf(&msg, "<%d>1 %s %s tollgate - %.32s [tollgate@32473 seq=\"%" JSON_INTEGER_FORMAT
				     "\" hash=\"%s\"] %s", pri, time ? time : "-", hostname, type ? type : "-",
				     json_integer_value(json_object_get(r, "seq")), hash ? hash : "", json) < 0)
		msg = NULL;
	free(json);
	return msg;
}

static int parse_url(forwarder_t *f, const char *url, char *err, size_t err_len)
{
	char host[128];
	const char *rest;
	if (strncmp(url, "tcp://", 6) == 0)
		f->tcp = 1;
	else if (strncmp(url, "udp://", 6) != 0)
		goto bad;
	rest = url + 6;
	const char *colon = strrchr(rest, ':');
	if (colon == NULL || (size_t)(colon - rest) >= sizeof host)
		goto bad;
	memcpy(host, rest, (size_t)(colon - rest));
	host[colon - rest] = '\0';
	long port = strtol(colon + 1, NULL, 10);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&f->addr;
	if (port < 1 || port > 65535 || inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		goto bad;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	f->addr_len = sizeof *s4;
	snprintf(f->sink, sizeof f->sink, "%s", url);
	return 0;
bad:
	snprintf(err, err_len, "audit_syslog must be tcp://IPV4:PORT or udp://IPV4:PORT, not '%s'", url);
	return -1;
}

static void disconnect(forwarder_t *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* A TCP sink that closed the connection is noticed before sending into it:
 * otherwise the first send after the close could succeed into the void. */
static bool peer_closed(const forwarder_t *f)
{
	char c;
	ssize_t n = recv(f->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}


static int connect_sink(forwarder_t *f)
{
	if (f->fd >= 0 && f->tcp && peer_closed(f))
		disconnect(f);
	if (f->fd >= 0)
		return 0;
	f->fd = socket(AF_INET, (f->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (f->fd < 0)
		return -1;
	struct timeval tv = {5, 0};
	setsockopt(f->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(f->fd, (struct sockaddr *)&f->addr, f->addr_len) != 0) {
		disconnect(f);
		return -1;
	}
	return 0;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int send_record(forwarder_t *f, const json_t *r)
{
	char *msg = syslog_format(r, f->host);
	char frame[24];
	int rc = -1;
	if (msg == NULL)
		return -1;
	if (f->tcp) {
		snprintf(frame, sizeof frame, "%zu ", strlen(msg)); /* RFC 6587 octet counting */
		rc = send_all(f->fd, frame, strlen(frame)) == 0 && send_all(f->fd, msg, strlen(msg)) == 0 ? 0 : -1;
	} else {
		rc = send(f->fd, msg, strlen(msg), MSG_NOSIGNAL) == (ssize_t)strlen(msg) ? 0 : -1;
	}
	free(msg);
	return rc;
}

/* Sleeps up to ms unless stopping; returns 1 when stopping. */
static int nap(forwarder_t *f, long ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->mu);
	if (!f->stopping)
		pthread_cond_timedwait(&f->cv, &f->mu, &until);
	int stop = f->stopping;
	pthread_mutex_unlock(&f->mu);
	return stop;
}

/* Sends records after *cursor; advances it past what was sent. Returns
 * the number sent, or -1 when the sink failed. */
static int forward_batch(forwarder_t *f, int64_t *cursor)
{
	json_t *records = NULL;
	audit_filter_t q = {.after = *cursor, .limit = BATCH};
	size_t i;
	json_t *r;
	int sent = 0;
	if (store_audit_list(f->store, &q, &records) != STORE_OK)
		return -1;
	json_array_foreach(records, i, r) {
		if (connect_sink(f) != 0 || send_record(f, r) != 0) {
			disconnect(f);
			sent = -1;
			break;
		}
		*cursor = (int64_t)json_integer_value(json_object_get(r, "seq"));
		sent++;
	}
	json_decref(records);
	return sent;
}

static void *forwarder_main(void *arg)
{
	forwarder_t *f = arg;
	int64_t cursor = 0, saved = 0;
	long backoff = 100;
	bool warned = false;
	pthread_setname_np(pthread_self(), "tg-syslog");
	if (store_forward_cursor(f->store, f->sink, &cursor) != STORE_OK)
		cursor = 0;
	saved = cursor;
	for (;;) {
		int n = forward_batch(f, &cursor);
		if (cursor != saved && store_forward_cursor_set(f->store, f->sink, cursor) == STORE_OK)
			saved = cursor;
		if (n < 0) {
			if (!warned)
				log_event(LOG_WARN, "audit syslog sink unreachable; records queue in the store",
					  "sink", f->sink, NULL);
			warned = true;
			if (nap(f, backoff))
				break;
			backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2;
			continue;
		}
		if (warned && n > 0) {
			log_event(LOG_INFO, "audit syslog sink reachable again", "sink", f->sink, NULL);
			warned = false;
		}
		backoff = 100;
		if (n == 0 && nap(f, IDLE_POLL_MS))
			break;
	}
	disconnect(f);
	return NULL;
}

forwarder_t *forwarder_start(store_t *st, const char *url, char *err, size_t err_len)
{
	forwarder_t *f = calloc(1, sizeof *f);
	if (f == NULL)
		return NULL;
	f->store = st;
	f->fd = -1;
	if (gethostname(f->host, sizeof f->host) != 0 || f->host[0] == '\0')
		snprintf(f->host, sizeof f->host, "-");
	if (parse_url(f, url, err, err_len) != 0) {
		free(f);
		return NULL;
	}
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	if (pthread_create(&f->thread, NULL, forwarder_main, f) != 0) {
		snprintf(err, err_len, "cannot start the syslog forwarder thread");
		free(f);
		return NULL;
	}
	return f;
}

void forwarder_stop(forwarder_t *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->mu);
	f->stopping = 1;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
}
