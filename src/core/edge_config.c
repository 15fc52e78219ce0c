/* edge_config.c - the edge's keys and defaults, its route and modbus
 * lines, and the cross-key checks (see edge_config.h). The syntax is the
 * broker's (config_lines, core/config.c). */
#include "core/edge_config.h"
#include "core/errbuf.h"
#include "core/fwd_request.h"
#include "core/identity_json.h"
#include "core/listen_addr.h"
#include "core/scope.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(f, d, h) {#f, CFG_STR, offsetof(tg_edge_config_t, f), d, 0, 0, 0, h}
#define I(f, d, lo, hi, h) {#f, CFG_INT, offsetof(tg_edge_config_t, f), NULL, d, lo, hi, h}

static const cfg_key_t keys[] = {
	S(broker, "", "the broker's URL, e.g. http://127.0.0.1:8420 (required)"),
	S(identity, "", "the edge's identity at the broker (required; `tollgate identity create NAME --kind edge`)"),
	S(key_file, "", "the identity's Ed25519 private key, PEM (required)"),
	S(kid, "", "kid of that key at the broker; empty = the identity's only key"),
	S(listen, "127.0.0.1:8421", "address and port of the forward-auth endpoint (GET /auth), /healthz and /metrics"),
	S(audience, "tollgate", "aud that presented tokens must carry"),
	S(issuer, "", "iss that presented tokens must carry; empty = the broker URL"),
	S(state_dir, "", "directory for the synced state and the audit spool (required; survives restarts)"),
	I(max_stale, 30, 1, 86400, "seconds without an answer from the broker before privileged routes fail closed"),
	I(poll_wait, 10, 1, 300, "how long the broker may hold a feed poll (s); less than max_stale"),
	S(trusted_proxies, "127.0.0.1/32,::1/128",
	  "peers whose X-Forwarded-For / X-Real-IP / X-Client-Cert are believed: comma-separated ranges"),
	I(clock_leeway, TG_DEFAULT_LEEWAY, 0, 300, "allowed clock skew for exp/nbf/iat (s)"),
	I(dpop_max_age, TG_DEFAULT_DPOP_MAX_AGE, 5, 600, "oldest accepted DPoP proof iat (s), as the broker's"),
	I(token_cache, 65536, 0, 1 << 24, "verified tokens kept until their exp (entries; 0 = no cache)"),
	I(spool_max, 64LL << 20, 1LL << 20, 1LL << 40, "largest audit spool waiting for the broker (bytes)"),
	I(audit_batch, 500, 1, 10000, "audit records shipped to the broker at once"),
	S(scope, "edge.sync@Api:tollgate", "the scope the edge requests for itself"),
	S(log_level, "info", "debug, info, warn or error"),
};
#define N_KEYS (sizeof keys / sizeof keys[0])
#define SHOWN(n) (int)((n) < 64 ? (n) : 64)

size_t edge_config_key_count(void) { return N_KEYS; }
const char *edge_config_key_name(size_t i) { return keys[i].name; }
const char *edge_config_key_help(size_t i) { return keys[i].help; }

void edge_config_key_value(const tg_edge_config_t *c, size_t i, char *buf, size_t len)
{
	cfg_table_value(&keys[i], c, buf, len);
}

void edge_config_defaults(tg_edge_config_t *c)
{
	memset(c, 0, sizeof *c);
	cfg_table_defaults(keys, N_KEYS, c);
}

void edge_config_free(tg_edge_config_t *c)
{
	free(c->routes);
	free(c->modbus);
	c->routes = NULL;
	c->modbus = NULL;
	c->n_routes = c->n_modbus = 0;
}

/* ---- modbus lines -------------------------------------------------------- */

typedef edge_word_t word_t;

static int modbus_addr(word_t w, const char *what, char *dst, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	char msg[8];
	if (w.n > TG_EDGE_MAX_ADDR) {
		tg_errf(err, err_len, "%s address is longer than %d bytes", what, TG_EDGE_MAX_ADDR);
		return -1;
	}
	memcpy(dst, w.s, w.n);
	dst[w.n] = '\0';
	if (listen_addr_parse(dst, &ss, msg, sizeof msg) != 0) {
		tg_errf(err, err_len, "%s address '%s' is not HOST:PORT with a numeric IPv4 or [IPv6] host", what, dst);
		return -1;
	}
	return 0;
}

static int modbus_option(word_t w, edge_modbus_t *m, char *err, size_t err_len)
{
	const char *eq = memchr(w.s, '=', w.n);
	size_t kl = eq == NULL ? 0 : (size_t)(eq - w.s), vl = eq == NULL ? 0 : w.n - kl - 1;
	if (eq == NULL || kl > TG_EDGE_MAX_OPT_KEY || !edge_name_valid(w.s, kl) || vl == 0 ||
	    vl > TG_EDGE_MAX_OPT_VALUE) {
		tg_errf(err, err_len, "option '%.*s' is not key=value (key [a-z_][a-z0-9_]* of at most %d bytes, "
				      "value 1 to %d bytes)", SHOWN(w.n), w.s, TG_EDGE_MAX_OPT_KEY, TG_EDGE_MAX_OPT_VALUE);
		return -1;
	}
	for (size_t i = 0; i < m->n_opt; i++)
		if (strlen(m->opt[i].key) == kl && memcmp(m->opt[i].key, w.s, kl) == 0) {
			tg_errf(err, err_len, "option %.*s is given twice", SHOWN(kl), w.s);
			return -1;
		}
	if (m->n_opt == TG_EDGE_MAX_MODBUS_OPTS) {
		tg_errf(err, err_len, "more than %d options", TG_EDGE_MAX_MODBUS_OPTS);
		return -1;
	}
	edge_option_t *o = &m->opt[m->n_opt++];
	memcpy(o->key, w.s, kl);
	o->key[kl] = '\0';
	memcpy(o->value, eq + 1, vl);
	o->value[vl] = '\0';
	return 0;
}

int edge_modbus_parse(const char *text, edge_modbus_t *out, char *err, size_t err_len)
{
	const char *p = text;
	word_t w[3];
	memset(out, 0, sizeof *out);
	if (strpbrk(text, "#\"") != NULL) {
		tg_errf(err, err_len, "'#' and '\"' are not allowed in a modbus line");
		return -1;
	}
	for (int i = 0; i < 3; i++)
		if ((w[i] = edge_next_word(&p)).n == 0) {
			tg_errf(err, err_len, "expected LISTEN UPSTREAM Type:id [key=value]...");
			return -1;
		}
	if (modbus_addr(w[0], "listen", out->listen, err, err_len) != 0 ||
	    modbus_addr(w[1], "upstream", out->upstream, err, err_len) != 0)
		return -1;
	if (w[2].n > TG_MAX_SCOPE_TOKEN_LEN || !scope_resource_valid(w[2].s, w[2].n)) {
		tg_errf(err, err_len, "device '%.*s' is not Type:id (e.g. Device:plc-7)", SHOWN(w[2].n), w[2].s);
		return -1;
	}
	memcpy(out->entity, w[2].s, w[2].n);
	out->entity[w[2].n] = '\0';
	for (word_t o = edge_next_word(&p); o.n > 0; o = edge_next_word(&p))
		if (modbus_option(o, out, err, err_len) != 0)
			return -1;
	return 0;
}

size_t edge_modbus_render(const edge_modbus_t *m, char *buf, size_t len)
{
	size_t n = 0;
	int k = snprintf(buf, len, "%s %s %s", m->listen, m->upstream, m->entity);
	n += k > 0 ? (size_t)k : 0;
	for (size_t i = 0; i < m->n_opt; i++) {
		k = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, " %s=%s", m->opt[i].key, m->opt[i].value);
		n += k > 0 ? (size_t)k : 0;
	}
	return n;
}

/* ---- the repeatable lines ------------------------------------------------- */

/* Room for one more element in *arr (n used, at most max); NULL when full
 * or out of memory. */
static void *grow(void **arr, size_t n, size_t max, size_t size)
{
	if (n == max)
		return NULL;
	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) { /* full at 4, 8, 16...: double */
		size_t cap = n == 0 ? 4 : 2 * n;
		void *p = realloc(*arr, (cap < max ? cap : max) * size);
		if (p == NULL)
			return NULL;
		*arr = p;
	}
	return (char *)*arr + n * size;
}

static int add_route(tg_edge_config_t *c, int lineno, const char *value, char *err, size_t err_len)
{
	edge_route_t r;
	char msg[240];
	if (edge_route_parse(value, &r, msg, sizeof msg) != 0) {
		tg_errf(err, err_len, "route: %s", msg);
		return -1;
	}
	for (size_t i = 0; i < c->n_routes; i++)
		if (strcmp(c->routes[i].method, r.method) == 0 && strcmp(c->routes[i].pattern, r.pattern) == 0) {
			tg_errf(err, err_len, "route: %s %.64s repeats the route of line %d, which always matches first",
				r.method, r.pattern, c->routes[i].line);
			return -1;
		}
	edge_route_t *slot = grow((void **)&c->routes, c->n_routes, TG_EDGE_MAX_ROUTES, sizeof r);
	if (slot == NULL) {
		if (c->n_routes == TG_EDGE_MAX_ROUTES)
			tg_errf(err, err_len, "route: more than %d routes", TG_EDGE_MAX_ROUTES);
		else
			tg_errf(err, err_len, "out of memory");
		return -1;
	}
	r.line = lineno;
	*slot = r;
	c->n_routes++;
	return 0;
}

static int add_modbus(tg_edge_config_t *c, int lineno, const char *value, char *err, size_t err_len)
{
	edge_modbus_t m;
	char msg[240];
	if (edge_modbus_parse(value, &m, msg, sizeof msg) != 0) {
		tg_errf(err, err_len, "modbus: %s", msg);
		return -1;
	}
	for (size_t i = 0; i < c->n_modbus; i++)
		if (strcmp(c->modbus[i].listen, m.listen) == 0) {
			tg_errf(err, err_len, "modbus: %s is already the listen address of line %d", m.listen,
				c->modbus[i].line);
			return -1;
		}
	edge_modbus_t *slot = grow((void **)&c->modbus, c->n_modbus, TG_EDGE_MAX_MODBUS, sizeof m);
	if (slot == NULL) {
		if (c->n_modbus == TG_EDGE_MAX_MODBUS)
			tg_errf(err, err_len, "modbus: more than %d lines", TG_EDGE_MAX_MODBUS);
		else
			tg_errf(err, err_len, "out of memory");
		return -1;
	}
	m.line = lineno;
	*slot = m;
	c->n_modbus++;
	return 0;
}

static int set_line(void *ctx, int lineno, const char *key, const char *value, char *msg, size_t msg_len)
{
	tg_edge_config_t *c = ctx;
	if (strcmp(key, "route") == 0)
		return add_route(c, lineno, value, msg, msg_len);
	if (strcmp(key, "modbus") == 0)
		return add_modbus(c, lineno, value, msg, msg_len);
	return edge_config_set(c, key, value, msg, msg_len);
}

int edge_config_set(tg_edge_config_t *c, const char *key, const char *value, char *err, size_t err_len)
{
	if (strcmp(key, "route") == 0 || strcmp(key, "modbus") == 0)
		return set_line(c, 0, key, value, err, err_len);
	int rc = cfg_table_set(keys, N_KEYS, c, key, value, err, err_len);
	if (rc == 1)
		tg_errf(err, err_len, "unknown configuration key '%.64s' (see docs/edge.md)", key);
	return rc == 0 ? 0 : -1;
}

int edge_config_parse(tg_edge_config_t *c, const char *text, size_t len, char *err, size_t err_len)
{
	return config_lines(text, len, set_line, c, err, err_len);
}

/* ---- cross-key checks ----------------------------------------------------- */

static bool http_url(const char *s)
{
	size_t n = strncmp(s, "http://", 7) == 0 ? 7 : strncmp(s, "https://", 8) == 0 ? 8 : 0;
	return n > 0 && s[n] != '\0' && s[n] != '/' && strpbrk(s, " \t?#") == NULL;
}

static const char *required(const tg_edge_config_t *c)
{
	if (c->broker[0] == '\0')
		return "broker is required: the broker's URL, e.g. http://127.0.0.1:8420";
	if (c->identity[0] == '\0')
		return "identity is required: the edge's identity (tollgate identity create NAME --kind edge)";
	if (c->key_file[0] == '\0')
		return "key_file is required: the identity's Ed25519 private key (PEM)";
	if (c->state_dir[0] == '\0')
		return "state_dir is required: where the synced state and the audit spool are kept";
	return NULL;
}

static const char *check_values(const tg_edge_config_t *c)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	if (!http_url(c->broker))
		return "broker must be an http:// or https:// URL";
	if (c->issuer[0] != '\0' && !http_url(c->issuer))
		return "issuer must be empty (the broker URL) or an http:// or https:// URL";
	if (!identity_name_valid(c->identity))
		return "identity must be an identity name (letters, digits, '.', '_', '-')";
	if (strlen(c->kid) > TG_MAX_KID_LEN)
		return "kid is too long";
	if (c->audience[0] == '\0')
		return "audience must not be empty";
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++)
		if (strcmp(c->log_level, levels[i]) == 0)
			return NULL;
	return "log_level must be debug, info, warn or error";
}

/* Is secret.read@Secret:name already in buf[0..n)? */
static bool scope_has(const char *buf, size_t n, const char *tok)
{
	size_t tl = strlen(tok);
	for (const char *p = buf; (p = memmem(p, n - (size_t)(p - buf), tok, tl)) != NULL; p += tl)
		if ((p == buf || p[-1] == ' ') && (p[tl] == ' ' || p + tl == buf + n))
			return true;
	return false;
}

int edge_config_token_scope(const tg_edge_config_t *c, char *buf, size_t len, char *err, size_t err_len)
{
	scope_set_t set;
	const char *why = NULL;
	int n = snprintf(buf, len, "%s", c->scope);
	for (size_t i = 0; i < c->n_routes && n >= 0 && (size_t)n < len; i++)
		for (size_t j = 0; j < c->routes[i].n_inject; j++) {
			char tok[TG_MAX_SCOPE_TOKEN_LEN + 1];
			if (c->routes[i].inject[j].source != EDGE_INJECT_SECRET)
				continue;
			snprintf(tok, sizeof tok, "secret.read@Secret:%s", c->routes[i].inject[j].path);
			if (scope_has(buf, (size_t)n, tok))
				continue;
			int k = snprintf(buf + n, len - (size_t)n, " %s", tok);
			n = k < 0 || (size_t)k >= len - (size_t)n ? -1 : n + k;
			if (n < 0)
				break;
		}
	if (n < 0 || (size_t)n >= len) {
		tg_errf(err, err_len, "scope with the injected secrets' secret.read tokens is longer than %zu bytes",
			len - 1);
		return -1;
	}
	if (scope_parse(buf, &set, &why) != 0) {
		tg_errf(err, err_len, "scope with the injected secrets' secret.read tokens: %s", why);
		return -1;
	}
	scope_free(&set);
	return n;
}

int edge_config_validate(const tg_edge_config_t *c, char *err, size_t err_len)
{
	struct sockaddr_storage ss;
	fwd_proxies_t proxies;
	scope_set_t set;
	const char *why = required(c);
	char msg[200];
	if (why == NULL)
		why = check_values(c);
	if (why != NULL) {
		tg_errf(err, err_len, "%s", why);
		return -1;
	}
	if (listen_addr_parse(c->listen, &ss, msg, sizeof msg) != 0) {
		tg_errf(err, err_len, "listen: %s", msg);
		return -1;
	}
	if (fwd_proxies_parse(c->trusted_proxies, &proxies, msg, sizeof msg) != 0) {
		tg_errf(err, err_len, "%s", msg);
		return -1;
	}
	if (scope_parse(c->scope, &set, &why) != 0) {
		tg_errf(err, err_len, "scope: %s", why);
		return -1;
	}
	scope_free(&set);
	char full[TG_MAX_SCOPE_LEN + 1];
	if (edge_config_token_scope(c, full, sizeof full, err, err_len) < 0)
		return -1;
	if (c->poll_wait >= c->max_stale) {
		tg_errf(err, err_len, "poll_wait (%lld) must be less than max_stale (%lld): a quiet feed must not look stale",
			(long long)c->poll_wait, (long long)c->max_stale);
		return -1;
	}
	if (c->n_routes == 0 && c->n_modbus == 0) {
		tg_errf(err, err_len, "no route and no modbus line: the edge would deny everything");
		return -1;
	}
	return 0;
}
