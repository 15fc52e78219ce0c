/* metrics.c - request counts by route and status class, tokens issued,
 * authentication failures by class, throttled attempts and the auth.failed
 * records that stand for them, policy decisions and versions, request
 * latency histogram. */
#include "broker/metrics.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_STATUS 6 /* 1xx..5xx buckets are too coarse: we keep exact common codes */
static const int status_codes[N_STATUS] = {200, 400, 401, 403, 404, 0 /* other */};
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};
#define N_BUCKETS (sizeof buckets / sizeof buckets[0])
static const char *const fail_classes[] = {"client_assertion", "mtls", "dpop", "admin_token", "other"};
#define N_FAIL (sizeof fail_classes / sizeof fail_classes[0])

/* Routes register on their first request, from any HTTP thread: writers
 * serialize on routes_mu and publish a name before bumping n_routes, so a
 * reader that loads n_routes sees every name below it. */
static const char *route_names[METRICS_MAX_ROUTES];
static atomic_int n_routes;
static pthread_mutex_t routes_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_ulong requests[METRICS_MAX_ROUTES][N_STATUS + 3]; /* + 201, 409, 413 */
static atomic_ulong hist[N_BUCKETS + 1];
static atomic_ulong hist_count, hist_sum_us, tokens_issued, auth_failures[N_FAIL];
static atomic_ulong policy_decisions[2]; /* deny, allow */
static atomic_ulong auth_throttled, auth_failure_records[2]; /* single, aggregated */
static atomic_ulong auth_throttle_entries;
static atomic_llong policy_version, entities_version;

static const int extra_codes[3] = {201, 409, 413};

#define MAX_SECTIONS 4
static char *(*_Atomic sections[MAX_SECTIONS])(void);

void metrics_add_section(char *(*render)(void))
{
	for (int i = 0; i < MAX_SECTIONS; i++) {
		char *(*expected)(void) = NULL;
		if (atomic_load(&sections[i]) == render ||
		    atomic_compare_exchange_strong(&sections[i], &expected, render))
			return;
	}
}

static int find_route(const char *name, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(route_names[i], name) == 0)
			return i;
	return -1;
}

int metrics_route(const char *name)
{
	int i = find_route(name, atomic_load(&n_routes));
	if (i >= 0)
		return i;
	pthread_mutex_lock(&routes_mu);
	int n = atomic_load(&n_routes);
	if ((i = find_route(name, n)) < 0 && n < METRICS_MAX_ROUTES) {
		route_names[n] = name;
		atomic_store(&n_routes, n + 1);
		i = n;
	}
	pthread_mutex_unlock(&routes_mu);
	return i;
}

static int status_slot(int status)
{
	for (int i = 0; i < N_STATUS - 1; i++)
		if (status_codes[i] == status)
			return i;
	for (int i = 0; i < 3; i++)
		if (extra_codes[i] == status)
			return N_STATUS + i;
	return N_STATUS - 1;
}

void metrics_request(int route, int status, double seconds)
{
	if (route >= 0 && route < atomic_load(&n_routes))
		atomic_fetch_add(&requests[route][status_slot(status)], 1);
	size_t b = 0;
	while (b < N_BUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add(&hist[b], 1);
	atomic_fetch_add(&hist_count, 1);
	atomic_fetch_add(&hist_sum_us, (unsigned long)(seconds * 1e6));
}

void metrics_token_issued(void) { atomic_fetch_add(&tokens_issued, 1); }

void metrics_auth_failure(const char *cls)
{
	size_t i = 0;
	while (i < N_FAIL - 1 && strcmp(fail_classes[i], cls) != 0)
		i++;
	atomic_fetch_add(&auth_failures[i], 1);
}

void metrics_auth_throttled(void) { atomic_fetch_add(&auth_throttled, 1); }

void metrics_auth_failure_record(bool aggregated) { atomic_fetch_add(&auth_failure_records[aggregated ? 1 : 0], 1); }

void metrics_auth_throttle_entries(size_t n) { atomic_store(&auth_throttle_entries, (unsigned long)n); }

void metrics_policy_decision(bool allow) { atomic_fetch_add(&policy_decisions[allow ? 1 : 0], 1); }

void metrics_policy_versions(int64_t pv, int64_t ev)
{
	atomic_store(&policy_version, pv);
	atomic_store(&entities_version, ev);
}

typedef struct {
	char *buf;
	size_t len, cap;
} sb_t;

static void sb_printf(sb_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sb_t *sb, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < sb->cap - sb->len) {
			sb->len += (size_t)n;
			return;
		}
		size_t cap = sb->cap * 2 + (size_t)n;
		char *g = realloc(sb->buf, cap);
		if (g == NULL)
			return;
		sb->buf = g;
		sb->cap = cap;
	}
}

static const char *status_label(int slot, char tmp[8])
{
	int code = slot < N_STATUS ? status_codes[slot] : extra_codes[slot - N_STATUS];
	if (code == 0)
		return "other";
	snprintf(tmp, 8, "%d", code);
	return tmp;
}

char *metrics_render(void)
{
	sb_t sb = {malloc(4096), 0, 4096};
	char tmp[8];
	if (sb.buf == NULL)
		return NULL;
	sb.buf[0] = '\0';
	sb_printf(&sb, "# HELP tollgate_http_requests_total HTTP requests by route and status.\n"
		       "# TYPE tollgate_http_requests_total counter\n");
	int routes = atomic_load(&n_routes);
	for (int r = 0; r < routes; r++)
		for (int s = 0; s < N_STATUS + 3; s++) {
			unsigned long v = atomic_load(&requests[r][s]);
			if (v != 0)
				sb_printf(&sb, "tollgate_http_requests_total{route=\"%s\",status=\"%s\"} %lu\n",
					  route_names[r], status_label(s, tmp), v);
		}
	sb_printf(&sb, "# HELP tollgate_tokens_issued_total Access tokens issued.\n"
		       "# TYPE tollgate_tokens_issued_total counter\n"
		       "tollgate_tokens_issued_total %lu\n", atomic_load(&tokens_issued));
	sb_printf(&sb, "# HELP tollgate_auth_failures_total Failed client or admin authentications.\n"
		       "# TYPE tollgate_auth_failures_total counter\n");
	for (size_t i = 0; i < N_FAIL; i++)
		sb_printf(&sb, "tollgate_auth_failures_total{method=\"%s\"} %lu\n", fail_classes[i],
			  atomic_load(&auth_failures[i]));
	sb_printf(&sb, "# HELP tollgate_auth_throttled_total Authentication attempts refused with 429 (too many "
		       "failures from the address or for the client_id).\n"
		       "# TYPE tollgate_auth_throttled_total counter\n"
		       "tollgate_auth_throttled_total %lu\n"
		       "# HELP tollgate_auth_failure_records_total auth.failed audit records written: one per "
		       "failure, or aggregated (details.count failures each).\n"
		       "# TYPE tollgate_auth_failure_records_total counter\n"
		       "tollgate_auth_failure_records_total{kind=\"single\"} %lu\n"
		       "tollgate_auth_failure_records_total{kind=\"aggregated\"} %lu\n"
		       "# HELP tollgate_auth_throttle_entries Addresses and (address, client_id) pairs the "
		       "failed-authentication table holds.\n"
		       "# TYPE tollgate_auth_throttle_entries gauge\n"
		       "tollgate_auth_throttle_entries %lu\n",
		  atomic_load(&auth_throttled), atomic_load(&auth_failure_records[0]),
		  atomic_load(&auth_failure_records[1]), atomic_load(&auth_throttle_entries));
	sb_printf(&sb, "# HELP tollgate_policy_decisions_total Cedar policy decisions (token issuance "
		       "scope checks and /v1/authorize).\n"
		       "# TYPE tollgate_policy_decisions_total counter\n"
		       "tollgate_policy_decisions_total{decision=\"allow\"} %lu\n"
		       "tollgate_policy_decisions_total{decision=\"deny\"} %lu\n",
		  atomic_load(&policy_decisions[1]), atomic_load(&policy_decisions[0]));
	sb_printf(&sb, "# HELP tollgate_policy_version Version of the policy set in force (0: none).\n"
		       "# TYPE tollgate_policy_version gauge\n"
		       "tollgate_policy_version %lld\n"
		       "# HELP tollgate_entities_version Version of the entity set in force.\n"
		       "# TYPE tollgate_entities_version gauge\n"
		       "tollgate_entities_version %lld\n",
		  (long long)atomic_load(&policy_version), (long long)atomic_load(&entities_version));
	sb_printf(&sb, "# HELP tollgate_http_request_duration_seconds Request latency.\n"
		       "# TYPE tollgate_http_request_duration_seconds histogram\n");
	unsigned long cum = 0;
	for (size_t b = 0; b < N_BUCKETS; b++) {
		cum += atomic_load(&hist[b]);
		sb_printf(&sb, "tollgate_http_request_duration_seconds_bucket{le=\"%g\"} %lu\n", buckets[b], cum);
	}
	cum += atomic_load(&hist[N_BUCKETS]);
	sb_printf(&sb, "tollgate_http_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
		       "tollgate_http_request_duration_seconds_sum %.6f\n"
		       "tollgate_http_request_duration_seconds_count %lu\n",
		  cum, (double)atomic_load(&hist_sum_us) / 1e6, atomic_load(&hist_count));
	for (int i = 0; i < MAX_SECTIONS; i++) {
		char *(*render)(void) = atomic_load(&sections[i]);
		char *text = render != NULL ? render() : NULL;
		if (text != NULL)
			sb_printf(&sb, "%s", text);
		free(text);
	}
	return sb.buf;
}
