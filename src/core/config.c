/* config.c - the broker's configuration keys and defaults, the key tables
 * they and the edge's keys (edge_config.c) are held in, and the `key = value`
 * syntax both files use. */
#include "core/config.h"
#include "core/posture.h"
#include "core/limits.h"
#include "core/monitor_contain.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(f, d, h) {#f, CFG_STR, offsetof(tg_config_t, f), d, 0, 0, 0, h}
#define I(f, d, lo, hi, h) {#f, CFG_INT, offsetof(tg_config_t, f), NULL, d, lo, hi, h}
/* A boolean (true or false), held as an int64_t 0 or 1. */
#define B(f, d, h) {#f, CFG_BOOL, offsetof(tg_config_t, f), NULL, d, 0, 1, h}

static const cfg_key_t keys[] = {
	S(listen, "127.0.0.1:8420", "address and port the broker listens on"),
	S(data_dir, "/var/lib/tollgate", "directory for the SQLite store and generated files (0700)"),
	S(master_key_file, "", "32-byte master key that encrypts signing keys at rest (required outside --dev)"),
	S(issuer, "", "token issuer URL; empty = http(s)://<listen>"),
	S(audience, "tollgate", "aud of issued access tokens (what enforcement points expect)"),
	S(tls_cert, "", "PEM certificate chain; enables HTTPS"),
	S(tls_key, "", "PEM private key for tls_cert"),
	S(client_ca, "", "PEM CA bundle; enables mTLS client authentication (RFC 8705)"),
	B(tls_disable, 0, "serve plain HTTP on a non-loopback address (TLS terminated in front); refused otherwise"),
	S(sqlite_synchronous, "full", "SQLite durability: full (fsync every commit group) or normal"),
	S(log_level, "info", "debug, info, warn or error"),
	S(audit, "on", "the audit chain: on; off is refused outside --dev (benchmark comparisons only)"),
	S(audit_syslog, "", "forward audit records to syslog: tcp://IPV4:PORT or udp://IPV4:PORT (empty = off)"),
	S(token_alg_name, "EdDSA", "alg of issued tokens: EdDSA or Ed25519 (both are accepted on input)"),
	I(token_default_ttl, TG_DEFAULT_TOKEN_TTL, 1, 86400, "access token lifetime when none is requested (s)"),
	I(token_max_ttl, TG_DEFAULT_TOKEN_MAX_TTL, 1, 86400, "server cap on any access token lifetime (s)"),
	I(clock_leeway, TG_DEFAULT_LEEWAY, 0, 300, "allowed clock skew for exp/nbf/iat (s)"),
	I(assertion_max_lifetime, TG_DEFAULT_ASSERTION_MAX, 10, 3600, "longest accepted client assertion exp - now (s)"),
	I(dpop_max_age, TG_DEFAULT_DPOP_MAX_AGE, 5, 600, "oldest accepted DPoP proof iat (s)"),
	I(signing_key_rotation, 7 * 86400, 60, 365 * 86400, "signing key rotation period (s)"),
	I(admin_token_ttl, 8 * 3600, 60, 7 * 86400, "lifetime of the admin token written by --dev or --bootstrap-admin (s)"),
	I(threads, 16, 1, 64, "HTTP worker threads (a request waiting for its durable write holds one)"),
	I(max_body, TG_MAX_BODY, 1024, TG_MAX_BODY, "largest accepted request body (bytes)"),
	I(max_connections, 4096, 16, 65536, "open client connections at most (lowered to fit the open-files limit)"),
	I(max_connections_per_ip, 256, 0, 65536, "open connections from one client address at most (0 = no limit)"),
	I(header_timeout, 10, 1, 3600, "idle seconds before closing a connection whose request is incomplete"),
	I(idle_timeout, 30, 1, 3600, "idle seconds before closing a kept-alive connection between requests"),
	I(audit_checkpoint_every, 1000, 1, 1000000, "sign an audit checkpoint every this many records"),
	I(audit_checkpoint_interval, 60, 1, 86400, "and at least this often while records arrive (s)"),
	I(audit_retention, 0, 0, 100LL * 365 * 86400, "prune audit records older than this many seconds, keeping all from a checkpoint on (0 = keep all)"),
	I(auth_throttle_client_failures, 10, 1, 1000000, "failed authentications per window from one address for one client_id before it gets 429"),
	I(auth_throttle_source_failures, 100, 1, 1000000, "failed authentications per window from one address (any client_id) before it gets 429"),
	I(auth_throttle_window, 60, 1, 86400, "the window those failures are counted in (s)"),
	I(auth_throttle_block, 1, 1, 3600, "first 429 period; doubles with every block until a quiet window (s)"),
	I(auth_throttle_block_max, 300, 1, 86400, "longest 429 period (s)"),
	I(auth_throttle_table, 4096, 16, 1000000, "addresses and (address, client_id) pairs tracked; the least recent is evicted, its failures recorded"),
	I(auth_failure_flush_interval, 1, 1, 3600, "a throttled key's failures become one auth.failed record this often (s)"),
	I(auth_throttle_hold, 1, 0, 10, "hold a throttled request this long before its 429, without a worker thread (s; 0 = answer at once)"),
	I(auth_throttle_user_failures, 20, 1, 1000000, "failed operator logins per window for one username from any address before that username gets 429"),
	I(operator_session_ttl, 900, 10, 86400, "lifetime of an operator session from POST /v1/login (s)"),
	I(operator_pwhash_parallel, 2, 1, 64, "Argon2id hashes (logins, new passwords) computed at once; others wait"),
	I(stepup_max_age, TG_DEFAULT_STEPUP_MAX_AGE, 1, 86400, "MFA age beyond which approvals and other sensitive actions ask for a fresh login (s)"),
	I(grant_max_duration, TG_DEFAULT_GRANT_MAX_DURATION, 60, 30 * 86400, "longest duration of a JIT grant (s)"),
	I(grant_pending_ttl, TG_DEFAULT_GRANT_PENDING_TTL, 1, 30 * 86400, "how long a JIT grant may wait for its approvals (s)"),
	I(grant_min_approvals, 1, 1, 16, "approvals every JIT grant needs at least"),
	I(breakglass_max_duration, 3600, 60, 86400, "longest duration of a break-glass grant (s)"),
	B(monitor, 0, "whether the behaviour monitor follows the audit chain, raises alerts and contains (docs/monitoring.md)"),
	I(monitor_learning_window, 7 * 86400, 1, 366 * 86400, "how long the monitor learns a new identity's behaviour before comparing with it (s)"),
	I(monitor_rate_floor, 60, 1, 1000000, "rate_spike: a minute with at most this many requests is never a spike"),
	I(monitor_rate_factor, 10, 1, 1000, "rate_spike: a minute above median + factor * MAD of the learned minutes is one"),
	I(monitor_deny_burst, 10, 1, 64, "deny_burst: this many denied requests of one identity ..."),
	I(monitor_deny_window, 60, 1, 86400, "deny_burst: ... within this many seconds"),
	I(monitor_hours_min_events, 100, 1, 1000000000, "off_hours: requests learned before use outside the usual hours is judged"),
	I(monitor_grant_min_use, 50, 0, 100, "unused_grant: percent of a grant's actions that must be used for it to count as used"),
	I(monitor_cooldown, 300, 0, 86400, "least time between two alerts of one detector for one identity (s)"),
	I(monitor_max_identities, 10000, 1, 10000000, "identities the monitor keeps a baseline of (a few KiB each; at most about 300 KiB)"),
	S(monitor_operator_ranges, "", "interactive_use: operator workstation ranges, comma-separated CIDRs"),
	S(monitor_containment, "off", "off, dry_run (record what would be contained) or enforce"),
	S(monitor_contain, "", "containment rules DETECTOR[:SEVERITY]=ACTION[+ACTION] ... (suspend, end_grants, revoke_tokens)"),
	I(feed_max_wait, 30, 1, TG_MAX_FEED_WAIT, "longest an edge's feed long poll is held before an empty answer (s)"),
	I(edge_timeout, 90, 5, 86400, "an edge not heard from for this long is not live: revocations stop waiting for it (s)"),
	I(status_list_ttl, 30, 1, 3600, "how long a resource server may cache a Token Status List before fetching it again (s)"),
	S(alert_webhook, "", "URL that alerts (break-glass grants) are POSTed to as JSON; empty: audit and log only"),
	B(grant_owner_approval_alone, 0, "whether the identity owner's approval of a grant counts without another approver's"),
	I(operator_pwhash_ops, 2, 1, 100, "Argon2id passes for operator passwords (libsodium opslimit; 2 = INTERACTIVE)"),
	I(operator_pwhash_mem, 64LL << 20, 8192, 4LL << 30, "Argon2id memory for operator passwords (bytes; 67108864 = INTERACTIVE)"),
	I(key_max_age, 90 * 86400, 3600, 10LL * 365 * 86400, "rotation policy: an identity key older than this is overdue, unless its Workload entity sets key_max_age (s)"),
	I(posture_unused_days, 90, 1, 3650, "the posture report's default window: an identity or scope unused this many days is a finding"),
	I(posture_max_ttl, 3600, 60, 365 * 86400, "the posture report flags permits whose @max_ttl is above this (s)"),
	I(posture_snapshot_interval, 86400, 0, 365 * 86400, "how often the broker stores a snapshot of the posture shares for the trend (s; 0 = only report runs)"),
	S(posture_privileged_actions, "*.write *.program *.diagnostic *.delete *.admin secret.read", "glob patterns of privileged actions for the posture report's standing-privilege check"),
};
#define N_KEYS (sizeof keys / sizeof keys[0])

size_t config_key_count(void) { return N_KEYS; }
const char *config_key_name(size_t i) { return keys[i].name; }
const char *config_key_help(size_t i) { return keys[i].help; }

void config_key_value(const tg_config_t *c, size_t i, char *buf, size_t len)
{
	cfg_table_value(&keys[i], c, buf, len);
}

void config_defaults(tg_config_t *c)
{
	memset(c, 0, sizeof *c);
	cfg_table_defaults(keys, N_KEYS, c);
}

int config_set(tg_config_t *c, const char *key, const char *value, char *err, size_t err_len)
{
	int rc = cfg_table_set(keys, N_KEYS, c, key, value, err, err_len);
	if (rc == 1)
		snprintf(err, err_len, "unknown configuration key '%.64s' (see docs/configuration.md)", key);
	return rc == 0 ? 0 : -1;
}

/* ---- key tables, shared with core/edge_config.c -------------------------- */

void cfg_table_value(const cfg_key_t *k, const void *base, char *buf, size_t len)
{
	const char *f = (const char *)base + k->offset;
	if (k->kind == CFG_STR)
		snprintf(buf, len, "%s", f);
	else if (k->kind == CFG_BOOL)
		snprintf(buf, len, "%s", *(const int64_t *)f ? "true" : "false");
	else
		snprintf(buf, len, "%lld", (long long)*(const int64_t *)f);
}

void cfg_table_defaults(const cfg_key_t *keys_, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++) {
		char *f = (char *)base + keys_[i].offset;
		if (keys_[i].kind == CFG_STR)
			snprintf(f, TG_CFG_STR, "%s", keys_[i].def_str);
		else
			*(int64_t *)f = keys_[i].def_int;
	}
}

static int set_bool(int64_t *out, const char *key, const char *value, char *err, size_t err_len)
{
	if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
		*out = value[0] == 't';
		return 0;
	}
	snprintf(err, err_len, "%s: expected true or false", key);
	return -1;
}

static int set_one(const cfg_key_t *k, char *f, const char *value, char *err, size_t err_len)
{
	if (k->kind == CFG_STR) {
		if (strlen(value) >= TG_CFG_STR) {
			snprintf(err, err_len, "%s: value is too long", k->name);
			return -1;
		}
		snprintf(f, TG_CFG_STR, "%s", value);
		return 0;
	}
	if (k->kind == CFG_BOOL)
		return set_bool((int64_t *)f, k->name, value, err, err_len);
	char *end = NULL;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < k->min || v > k->max) {
		snprintf(err, err_len, "%s: expected an integer from %lld to %lld", k->name, (long long)k->min,
			 (long long)k->max);
		return -1;
	}
	*(int64_t *)f = v;
	return 0;
}

int cfg_table_set(const cfg_key_t *keys_, size_t n, void *base, const char *key, const char *value, char *err,
		  size_t err_len)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys_[i].name, key) == 0)
			return set_one(&keys_[i], (char *)base + keys_[i].offset, value, err, err_len);
	return 1;
}

/* ---- the `key = value` syntax ------------------------------------------- */

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* Strips the quotes of a "quoted" value; quotes may not nest. */
static int unquote(char **v)
{
	size_t n = strlen(*v);
	if (n == 0 || (*v)[0] != '"')
		return strchr(*v, '"') == NULL ? 0 : -1;
	if (n < 2 || (*v)[n - 1] != '"')
		return -1;
	(*v)[n - 1] = '\0';
	(*v)++;
	return strchr(*v, '"') == NULL ? 0 : -1;
}

/* Cuts the line at the first '#' outside double quotes, so that both
 * `k = "a#b"` and `k = "v" # note` work. */
static void strip_comment(char *line)
{
	int quoted = 0;
	for (char *p = line; *p != '\0'; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '#' && !quoted) {
			*p = '\0';
			return;
		}
	}
}

static int split_line(char *line, int lineno, config_line_fn fn, void *ctx, char *err, size_t err_len)
{
	char msg[256];
	strip_comment(line);
	char *s = trim(line);
	if (*s == '\0')
		return 0;
	char *eq = strchr(s, '=');
	if (eq == NULL) {
		snprintf(err, err_len, "line %d: expected key = value", lineno);
		return -1;
	}
	*eq = '\0';
	char *k = trim(s), *v = trim(eq + 1);
	if (unquote(&v) != 0) {
		snprintf(err, err_len, "line %d: unbalanced quotes", lineno);
		return -1;
	}
	msg[0] = '\0';
	if (fn(ctx, lineno, k, v, msg, sizeof msg) != 0) {
		snprintf(err, err_len, "line %d: %s", lineno, msg);
		return -1;
	}
	return 0;
}

int config_lines(const char *text, size_t len, config_line_fn fn, void *ctx, char *err, size_t err_len)
{
	char line[TG_MAX_CONFIG_LINE + 1];
	size_t i = 0;
	int lineno = 0;
	if (len > TG_MAX_CONFIG_BYTES) {
		snprintf(err, err_len, "configuration file is larger than %d bytes", TG_MAX_CONFIG_BYTES);
		return -1;
	}
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		lineno++;
		if (n > TG_MAX_CONFIG_LINE || memchr(text + i, '\0', n) != NULL) {
			snprintf(err, err_len, "line %d: too long or contains a NUL byte", lineno);
			return -1;
		}
		memcpy(line, text + i, n);
		line[n] = '\0';
		if (split_line(line, lineno, fn, ctx, err, err_len) != 0)
			return -1;
		i += n + 1;
	}
	return 0;
}

static int set_line(void *ctx, int lineno, const char *key, const char *value, char *msg, size_t msg_len)
{
	(void)lineno;
	return config_set(ctx, key, value, msg, msg_len);
}

int config_parse(tg_config_t *c, const char *text, size_t len, char *err, size_t err_len)
{
	return config_lines(text, len, set_line, c, err, err_len);
}

int config_validate(const tg_config_t *c, char *err, size_t err_len)
{
	if (c->token_default_ttl > c->token_max_ttl) {
		snprintf(err, err_len, "token_default_ttl (%lld) exceeds token_max_ttl (%lld)",
			 (long long)c->token_default_ttl, (long long)c->token_max_ttl);
		return -1;
	}
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0')) {
		snprintf(err, err_len, "tls_cert and tls_key must be set together");
		return -1;
	}
	if (c->client_ca[0] != '\0' && c->tls_cert[0] == '\0') {
		snprintf(err, err_len, "client_ca (mTLS) needs tls_cert and tls_key");
		return -1;
	}
	if (c->auth_throttle_block_max < c->auth_throttle_block) {
		snprintf(err, err_len, "auth_throttle_block_max (%lld) is less than auth_throttle_block (%lld)",
			 (long long)c->auth_throttle_block_max, (long long)c->auth_throttle_block);
		return -1;
	}
	if (c->edge_timeout <= c->feed_max_wait) {
		snprintf(err, err_len, "edge_timeout (%lld) must be more than feed_max_wait (%lld): a polling edge is live",
			 (long long)c->edge_timeout, (long long)c->feed_max_wait);
		return -1;
	}
	if (strcmp(c->audit, "on") != 0 && strcmp(c->audit, "off") != 0) {
		snprintf(err, err_len, "audit must be on or off");
		return -1;
	}
	posture_params_t pp = {.unused_days = c->posture_unused_days, .key_max_age = c->key_max_age,
			       .max_ttl_limit = c->posture_max_ttl, .privileged = c->posture_privileged_actions};
	const char *why = posture_params_check(&pp);
	if (why != NULL) {
		snprintf(err, err_len, "posture_privileged_actions: %s", why);
		return -1;
	}
	contain_policy_t contain;
	mon_params_t mp;
	char why_buf[200];
	const char *mwhy = contain_parse(c->monitor_containment, c->monitor_contain, &contain, why_buf, sizeof why_buf);
	if (mwhy == NULL && mon_params_operator_ranges(&mp, c->monitor_operator_ranges) != NULL)
		mwhy = "monitor_operator_ranges: comma-separated IPv4 or IPv6 addresses or CIDR ranges, at most 16";
	if (mwhy != NULL) {
		snprintf(err, err_len, "%s", mwhy);
		return -1;
	}
	if (strcmp(c->token_alg_name, "EdDSA") != 0 && strcmp(c->token_alg_name, "Ed25519") != 0) {
		snprintf(err, err_len, "token_alg_name must be EdDSA or Ed25519");
		return -1;
	}
	if (strcmp(c->sqlite_synchronous, "full") != 0 && strcmp(c->sqlite_synchronous, "normal") != 0) {
		snprintf(err, err_len, "sqlite_synchronous must be full or normal");
		return -1;
	}
	return 0;
}
