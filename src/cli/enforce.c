/* enforce.c - what `--wait [SECS]` and `--verify` do after a command that
 * revokes (token revoke, identity suspend and offboard, grant end and
 * revoke): wait until every live edge has acknowledged the revocation in
 * the feed (GET /v1/feed/enforced), then present the revoked credential,
 * or a probe token the broker makes for a revoked identity or ended grant
 * (POST /v1/probes), to each live edge's /auth and require a refusal
 * because of the revocation. Prints a report per edge; never a token. */
#include "cli/cli.h"
#include "core/limits.h"
#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROBE_TIMEOUT 10L  /* seconds for one edge's /auth answer */
#define ERR_LEN 256
#define PROGRESS_AFTER 1   /* seconds before "waiting for N edges..." */
#define PROBE_URI "/.tollgate/probe"
#define REASON_HEADER "X-Tollgate-Reason"

const char *cli_wait_arg(int argc, char **argv)
{
	if (optarg != NULL)
		return optarg;
	const char *next = optind < argc ? argv[optind] : NULL;
	if (next == NULL || next[0] == '\0' || next[strspn(next, "0123456789")] != '\0')
		return NULL;
	optind++;
	return next;
}

int cli_enforce_init(cli_enforce_t *e, bool wait, const char *wait_arg, bool verify, bool report_stderr)
{
	memset(e, 0, sizeof *e);
	e->wait = wait || verify;
	e->verify = verify;
	e->report_stderr = report_stderr;
	e->wait_s = CLI_WAIT_DEFAULT;
	if (wait_arg == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	long v = strtol(wait_arg, &end, 10);
	if (end == wait_arg || *end != '\0' || errno != 0 || v < 0 || v > CLI_WAIT_MAX) {
		fprintf(stderr, "%s: --wait takes seconds from 0 to %d, not '%.32s'\n", cli_prefix(), CLI_WAIT_MAX,
			wait_arg);
		return 2;
	}
	e->wait_s = v;
	return 0;
}

static const char *str(const json_t *o, const char *member)
{
	const char *s = json_string_value(json_object_get(o, member));
	return s ? s : "";
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The width of the widest edge id, for aligned reports. */
static int id_width(const json_t *edges)
{
	size_t i, w = 4;
	const json_t *e;
	json_array_foreach(edges, i, e)
		if (strlen(str(e, "id")) > w)
			w = strlen(str(e, "id"));
	return w > 64 ? 64 : (int)w;
}

/* Comma-separated ids of a JSON array of strings, into out. */
static const char *id_list(const json_t *ids, char *out, size_t cap)
{
	size_t i, n = 0;
	const json_t *v;
	out[0] = '\0';
	json_array_foreach(ids, i, v)
		if (n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", json_string_value(v));
	return out;
}

/* ---- --wait ------------------------------------------------------------ */

/* GET /v1/feed/enforced held up to wait_s; seq 0: the newest feed entry. */
static json_t *enforced(int64_t seq, long wait_s)
{
	char path[128];
	if (seq > 0)
		snprintf(path, sizeof path, "/v1/feed/enforced?seq=%lld&wait=%ld", (long long)seq, wait_s);
	else
		snprintf(path, sizeof path, "/v1/feed/enforced?wait=%ld", wait_s);
	return cli_api_held(path, wait_s);
}

/* Asks until every live edge acknowledged or secs passed; the last answer,
 * or NULL after cli_api printed why. */
static json_t *wait_enforced(long secs)
{
	int64_t deadline = now_ms() + (int64_t)secs * 1000;
	json_t *a = enforced(0, secs < PROGRESS_AFTER ? secs : PROGRESS_AFTER);
	int64_t seq = json_integer_value(json_object_get(a, "seq"));
	bool said = false;
	while (a != NULL && !json_is_true(json_object_get(a, "enforced"))) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		if (!said) {
			size_t n = json_array_size(json_object_get(a, "pending"));
			fprintf(stderr, "waiting for %zu edge%s...\n", n, n == 1 ? "" : "s");
			said = true;
		}
		long chunk = (long)((left + 999) / 1000);
		json_decref(a);
		a = enforced(seq, chunk < TG_MAX_FEED_WAIT ? chunk : TG_MAX_FEED_WAIT);
	}
	return a;
}

static void print_ack(FILE *out, const json_t *e, int w)
{
	const json_t *prop = json_object_get(e, "propagation_ms");
	const char *id = str(e, "id");
	if (json_is_true(json_object_get(e, "acknowledged")) && json_is_integer(prop))
		fprintf(out, "  %-*s  acknowledged in %lld ms\n", w, id, (long long)json_integer_value(prop));
	else if (json_is_true(json_object_get(e, "acknowledged")))
		fprintf(out, "  %-*s  acknowledged\n", w, id);
	else if (json_is_true(json_object_get(e, "live")))
		fprintf(out, "  %-*s  NOT acknowledged (live)\n", w, id);
	else
		fprintf(out, "  %-*s  stale (not heard from; fails closed by itself)\n", w, id);
}

/* Prints where each edge stands and the summary; 0 when enforced. */
static int report_wait(FILE *out, const json_t *a, long secs)
{
	const json_t *edges = json_object_get(a, "edges"), *e;
	size_t i, live = 0, acked = 0;
	int w = id_width(edges);
	json_array_foreach(edges, i, e) {
		print_ack(out, e, w);
		if (json_is_true(json_object_get(e, "live"))) {
			live++;
			acked += json_is_true(json_object_get(e, "acknowledged"));
		}
	}
	if (live == 0) {
		fprintf(out, "no live edges\n");
	} else if (json_is_true(json_object_get(a, "enforced"))) {
		fprintf(out, "revocation enforced at %zu of %zu live edges\n", acked, live);
	} else {
		char ids[1024];
		const json_t *pending = json_object_get(a, "pending");
		fprintf(out, "revocation NOT enforced: %zu of %zu live edges acknowledged\n", acked, live);
		fprintf(stderr,
			"%s: after %ld s, %s %s not acknowledged the revocation (feed seq %lld)\n"
			"  see `tollgate edge list`; check %s process and its connection to the broker,\n"
			"  or wait longer (--wait SECS). An edge that cannot reach the broker fails\n"
			"  closed by itself after its max_stale; --wait stops waiting for an edge not\n"
			"  heard from for the broker's edge_timeout.\n",
			cli_prefix(), secs, id_list(pending, ids, sizeof ids),
			json_array_size(pending) == 1 ? "has" : "have",
			(long long)json_integer_value(json_object_get(a, "seq")),
			json_array_size(pending) == 1 ? "that edge's" : "those edges'");
		return CLI_EXIT_NOT_ENFORCED;
	}
	return 0;
}

/* ---- --verify ---------------------------------------------------------- */

/* A probe token for a revoked identity or ended grant (POST /v1/probes);
 * malloc'd, NULL after saying why. */
static char *probe_token(const char *kind, const char *id)
{
	json_t *a = cli_api("POST", "/v1/probes", json_pack("{s:s}", kind, id));
	const char *t = json_string_value(json_object_get(a, "token"));
	char *out = t ? strdup(t) : NULL;
	if (a != NULL && t == NULL)
		fprintf(stderr, "%s: the broker's probe answer has no token\n", cli_prefix());
	if (t != NULL)
		sodium_memzero((char *)t, strlen(t));
	json_decref(a);
	return out;
}

/* An edge's X-Tollgate-Reason fit for a terminal: printable ASCII, at
 * most cap - 1 bytes. */
static const char *printable(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	for (; s[n] != '\0' && n + 1 < cap; n++)
		out[n] = s[n] >= 0x20 && s[n] < 0x7f ? s[n] : '?';
	out[n] = '\0';
	return out;
}

/* Presents token to one edge; prints the outcome; true when it refused
 * the token as revoked. */
static bool probe_edge(FILE *out, const json_t *e, int w, const char *token)
{
	char auth[TG_MAX_JWT_LEN + 32], url[TG_MAX_EDGE_ADDR + 16], err[ERR_LEN];
	const char *hdrs[] = {auth, "X-Original-Method: GET", "X-Original-URI: " PROBE_URI, "X-Tollgate-Probe: 1",
			      NULL};
	const char *addr = str(e, "addr"), *id = str(e, "id");
	size_t alen = strlen(addr);
	cli_response_t r;
	while (alen > 0 && addr[alen - 1] == '/')
		alen--;
	snprintf(url, sizeof url, "%.*s/auth", (int)alen, addr);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	int rc = cli_get_url(url, hdrs, REASON_HEADER, PROBE_TIMEOUT, &r, err, sizeof err);
	sodium_memzero(auth, sizeof auth);
	if (rc != 0) {
		fprintf(out, "  %-*s  unreachable: %s (%s)\n", w, id, err, url);
		return false;
	}
	char why[64];
	const char *reason = r.header ? printable(r.header, why, sizeof why) : "none given";
	bool refused = r.status == 401 && strcmp(reason, "revoked") == 0;
	if (refused)
		fprintf(out, "  %-*s  refused (revoked)\n", w, id);
	else if (r.status >= 200 && r.status <= 299)
		fprintf(out, "  %-*s  ACCEPTED the revoked credential (HTTP %ld)\n", w, id, r.status);
	else
		fprintf(out, "  %-*s  refused, but not as revoked (HTTP %ld, reason: %s)\n", w, id, r.status,
			reason);
	cli_response_free(&r);
	return refused;
}

/* The edges verify presents the credential to: live, with an address. */
static bool probed(const json_t *e)
{
	return json_is_true(json_object_get(e, "live")) && str(e, "addr")[0] != '\0';
}

/* Probes every live edge with an address; 0 when each refused. */
static int verify(FILE *out, const json_t *a, const char *token)
{
	const json_t *edges = json_object_get(a, "edges"), *e;
	json_t *failed = json_array();
	size_t i, n = 0;
	int w = id_width(edges);
	fprintf(out, "verifying: presenting the revoked credential to each live edge\n");
	json_array_foreach(edges, i, e) {
		if (json_is_true(json_object_get(e, "live")) && !probed(e))
			fprintf(out, "  %-*s  not probed: it reported no address\n", w, str(e, "id"));
		if (!probed(e))
			continue;
		n++;
		if (!probe_edge(out, e, w, token))
			json_array_append_new(failed, json_string(str(e, "id")));
	}
	int rc = 0;
	if (json_array_size(failed) == 0) {
		fprintf(out, "verified: %zu of %zu edges refused it as revoked\n", n, n);
	} else {
		char ids[1024];
		fprintf(out, "NOT verified: %zu of %zu edges did not refuse it as revoked\n", json_array_size(failed), n);
		fprintf(stderr, "%s: %s did not refuse the revoked credential as revoked; see the report above\n",
			cli_prefix(), id_list(failed, ids, sizeof ids));
		rc = CLI_EXIT_NOT_REFUSED;
	}
	json_decref(failed);
	return rc;
}

/* verify with token, or with a probe token for probe_kind probe_id, made
 * only when some edge is to be probed. */
static int verify_with(FILE *out, const json_t *a, const char *token, const char *probe_kind, const char *probe_id)
{
	size_t i, n = 0;
	const json_t *e;
	json_array_foreach(json_object_get(a, "edges"), i, e)
		n += probed(e);
	if (n == 0) {
		fprintf(out, "no live edge to verify\n");
		return 0;
	}
	if (token != NULL)
		return verify(out, a, token);
	char *probe = probe_token(probe_kind, probe_id);
	if (probe == NULL)
		return 1;
	int rc = verify(out, a, probe);
	sodium_memzero(probe, strlen(probe));
	free(probe);
	return rc;
}

int cli_enforce(const cli_enforce_t *e, const char *token, const char *probe_kind, const char *probe_id)
{
	FILE *out = e->report_stderr ? stderr : stdout;
	if (!e->wait)
		return 0;
	fflush(stdout);
	json_t *a = wait_enforced(e->wait_s);
	if (a == NULL)
		return 1;
	int rc = report_wait(out, a, e->wait_s);
	if (rc == 0 && e->verify)
		rc = verify_with(out, a, token, probe_kind, probe_id);
	json_decref(a);
	return rc;
}
