/* http_conn.c - connection admission, timeouts and the open-files limit:
 * see http_conn.h. Every connection starts with header_timeout (the
 * daemon's default); a completed request switches it to idle_timeout and
 * the next request line back to header_timeout. */
#include "broker/http_conn.h"
#include "shell/log.h"
#include "core/conn_limit.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* File descriptors kept for everything but client connections: the store,
 * logs, syslog, the listening socket, and per worker thread an epoll
 * descriptor and a wake-up descriptor. */
#define FD_RESERVE_BASE 64
#define FD_RESERVE_PER_THREAD 2
#define REFUSAL_LOG_INTERVAL 10 /* s between log lines about refused connections */

typedef struct {
	conn_addr_t addr;
	bool counted;
	size_t uri_len;
} conn_state_t;

static struct {
	pthread_mutex_t mu;
	conn_limit_t *lim;
	unsigned header_timeout, idle_timeout;
	unsigned long refused;  /* since the last log line */
	time_t last_log;
} guard = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The soft open-files limit, raised to the hard limit when below it. */
static rlim_t open_files_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t soft = rl.rlim_cur;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rl.rlim_cur = soft;
	}
	return rl.rlim_cur;
}

unsigned http_conn_init(const tg_config_t *cfg, char *err, size_t err_len)
{
	rlim_t files = open_files_limit();
	rlim_t keep = FD_RESERVE_BASE + FD_RESERVE_PER_THREAD * (rlim_t)cfg->threads;
	unsigned max = (unsigned)cfg->max_connections;
	if (files != RLIM_INFINITY && files < keep + max) {
		char was[24], now[24], lim[24];
		unsigned fit = files > keep + 16 ? (unsigned)(files - keep) : 16;
		snprintf(was, sizeof was, "%u", max);
		snprintf(now, sizeof now, "%u", fit);
		snprintf(lim, sizeof lim, "%llu", (unsigned long long)files);
		log_event(LOG_WARN, "max_connections lowered to fit the open-files limit", "max_connections", was,
			  "lowered_to", now, "RLIMIT_NOFILE", lim, NULL);
		max = fit;
	}
	guard.lim = conn_limit_new(max, (unsigned)cfg->max_connections_per_ip);
	if (guard.lim == NULL) {
		snprintf(err, err_len, "out of memory");
		return 0;
	}
	guard.header_timeout = (unsigned)cfg->header_timeout;
	guard.idle_timeout = (unsigned)cfg->idle_timeout;
	guard.refused = 0;
	guard.last_log = 0;
	return max;
}

void http_conn_fini(void)
{
	conn_limit_free(guard.lim);
	guard.lim = NULL;
}

/* IPv4-mapped IPv6 addresses count as the IPv4 address. */
static bool addr_key(const struct sockaddr *sa, conn_addr_t *k)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	memset(k, 0, sizeof *k);
	if (sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(k->b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
		k->len = 4;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	const uint8_t *a6 = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (memcmp(a6, mapped, sizeof mapped) == 0) {
		memcpy(k->b, a6 + 12, 4);
		k->len = 4;
	} else {
		memcpy(k->b, a6, 16);
		k->len = 16;
	}
	return true;
}

/* One log line per REFUSAL_LOG_INTERVAL at most, with the count since the
 * last one. Called with guard.mu held. */
static void log_refusal(const conn_addr_t *k, conn_verdict_t v)
{
	time_t now = time(NULL);
	guard.refused++;
	if (now - guard.last_log < REFUSAL_LOG_INTERVAL)
		return;
	char ip[INET6_ADDRSTRLEN] = "", count[24];
	inet_ntop(k->len == 4 ? AF_INET : AF_INET6, k->b, ip, sizeof ip);
	snprintf(count, sizeof count, "%lu", guard.refused);
	log_event(LOG_WARN, "connections refused", "reason", conn_verdict_name(v), "src", ip, "count", count,
		  NULL);
	guard.refused = 0;
	guard.last_log = now;
}

static atomic_bool stopping;

void http_conn_stop_accepting(void)
{
	atomic_store(&stopping, true);
}

enum MHD_Result http_conn_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	conn_addr_t k;
	if (atomic_load(&stopping))
		return MHD_NO;
	if (!addr_key(addr, &k))
		return MHD_YES;
	pthread_mutex_lock(&guard.mu);
	conn_verdict_t v = conn_limit_check(guard.lim, &k);
	if (v != CONN_ADMIT)
		log_refusal(&k, v);
	pthread_mutex_unlock(&guard.mu);
	return v == CONN_ADMIT ? MHD_YES : MHD_NO;
}

static void started(struct MHD_Connection *c, void **socket_context)
{
	conn_state_t *s = calloc(1, sizeof *s);
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	*socket_context = s;
	if (s == NULL || ci == NULL || !addr_key(ci->client_addr, &s->addr))
		return;
	pthread_mutex_lock(&guard.mu);
	s->counted = conn_limit_add(guard.lim, &s->addr) == 0;
	pthread_mutex_unlock(&guard.mu);
}

static void closed(void **socket_context)
{
	conn_state_t *s = *socket_context;
	if (s == NULL)
		return;
	if (s->counted) {
		pthread_mutex_lock(&guard.mu);
		conn_limit_remove(guard.lim, &s->addr);
		pthread_mutex_unlock(&guard.mu);
	}
	free(s);
	*socket_context = NULL;
}

void http_conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		started(c, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		closed(socket_context);
}

static conn_state_t *state_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci != NULL ? ci->socket_context : NULL;
}

static void set_timeout(struct MHD_Connection *c, unsigned seconds)
{
	if (guard.header_timeout != guard.idle_timeout)
		MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, seconds);
}

void *http_conn_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	conn_state_t *s = state_of(c);
	if (s != NULL)
		s->uri_len = uri != NULL ? strlen(uri) : 0;
	set_timeout(c, guard.header_timeout);
	return NULL; /* the access handler's *con_cls starts NULL */
}

void http_conn_request_done(struct MHD_Connection *c)
{
	set_timeout(c, guard.idle_timeout);
}

size_t http_conn_uri_len(struct MHD_Connection *c)
{
	const conn_state_t *s = state_of(c);
	return s != NULL ? s->uri_len : 0;
}
