/* edge_config.h - the edge's configuration (`tollgate edge --config FILE`,
 * issue 10): the broker's `key = value` syntax (config_lines in
 * core/config.h: '#' comments, quoted values, "line N: ..." errors), the
 * edge's keys with their defaults and help in one table (edge_config.c,
 * printable for --print-config), and two lines that may repeat: `route`
 * (syntax in core/edge_route.h) and `modbus` (below), kept in file order.
 * A key given twice keeps the last value, as in the broker's file. Pure:
 * the caller reads the file. */
#ifndef TG_EDGE_CONFIG_H
#define TG_EDGE_CONFIG_H
#include "core/config.h"
#include "core/edge_route.h"
#include "core/limits.h"
#include <stddef.h>
#include <stdint.h>

#define TG_EDGE_MAX_ADDR 63 /* a modbus line's HOST:PORT */

/* `modbus = LISTEN UPSTREAM Type:id [key=value]...`, for the Modbus/TCP
 * proxy (DESIGN §3.8): the address it listens on and the device it fronts
 * (both HOST:PORT, a numeric IPv4 or [IPv6] host as in `listen`), the
 * device's entity, and options of the shape key=value (key
 * [a-z_][a-z0-9_]*, value printable ASCII), each key once, which the proxy
 * will interpret. */
typedef struct {
	char key[TG_EDGE_MAX_OPT_KEY + 1];
	char value[TG_EDGE_MAX_OPT_VALUE + 1];
} edge_option_t;

typedef struct {
	int line; /* in the file; 0 when not from one */
	char listen[TG_EDGE_MAX_ADDR + 1];
	char upstream[TG_EDGE_MAX_ADDR + 1];
	char entity[TG_MAX_SCOPE_TOKEN_LEN + 1]; /* Type:id */
	size_t n_opt;
	edge_option_t opt[TG_EDGE_MAX_MODBUS_OPTS];
} edge_modbus_t;

typedef struct {
	char broker[TG_CFG_STR];          /* required: the broker's URL */
	char identity[TG_CFG_STR];        /* required: the edge's identity */
	char key_file[TG_CFG_STR];        /* required: its Ed25519 private key (PEM) */
	char kid[TG_CFG_STR];             /* "" = the identity's only key */
	char listen[TG_CFG_STR];
	char audience[TG_CFG_STR];
	char issuer[TG_CFG_STR];          /* "" = broker */
	char state_dir[TG_CFG_STR];       /* required */
	char trusted_proxies[TG_CFG_STR]; /* comma-separated ranges (core/fwd_request.h) */
	char scope[TG_CFG_STR];
	char log_level[TG_CFG_STR];
	int64_t max_stale;
	int64_t poll_wait;
	int64_t clock_leeway;
	int64_t dpop_max_age;
	int64_t token_cache;
	int64_t spool_max;
	int64_t audit_batch;
	/* repeatable lines, malloc'd, in file order */
	size_t n_routes;
	edge_route_t *routes;
	size_t n_modbus;
	edge_modbus_t *modbus;
} tg_edge_config_t;

/* Every key at its default; no routes, no modbus lines. */
void edge_config_defaults(tg_edge_config_t *c);
/* Releases the routes and modbus lines (also after a failed parse); the
 * keys keep their values. Safe to call twice. */
void edge_config_free(tg_edge_config_t *c);
/* Applies the lines of text on top of c. On error writes "line N: ..."
 * into err (route and modbus errors read "line N: route: ..."). */
int edge_config_parse(tg_edge_config_t *c, const char *text, size_t len, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* Sets one key (flags use this too); `route` and `modbus` append a line. */
int edge_config_set(tg_edge_config_t *c, const char *key, const char *value, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* What the file alone cannot check: required keys present, listen and
 * trusted_proxies parse, URLs are http(s), poll_wait < max_stale, scope
 * (with the injected secrets' tokens) and log_level valid, at least one
 * route or modbus line. */
int edge_config_validate(const tg_edge_config_t *c, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The scope the edge asks the broker for: `scope`, then
 * secret.read@Secret:NAME once for each secret an inject= names
 * (docs/edge.md, Injecting secrets). Returns its length, or -1 (err says
 * why) when it does not fit len or has more than TG_MAX_SCOPE_TOKENS
 * tokens. */
int edge_config_token_scope(const tg_edge_config_t *c, char *buf, size_t len, char *err, size_t err_len)
    __attribute__((warn_unused_result));

/* The keys of the table (not route and modbus: print those with
 * edge_route_render and edge_modbus_render), for --print-config. */
size_t edge_config_key_count(void);
const char *edge_config_key_name(size_t i);
const char *edge_config_key_help(size_t i);
void edge_config_key_value(const tg_edge_config_t *c, size_t i, char *buf, size_t len);

/* The value of one modbus line into *out (line set to 0); -1 with a
 * sentence in err. */
int edge_modbus_parse(const char *text, edge_modbus_t *out, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* The line's value as edge_modbus_parse reads it back (truncated to len
 * like snprintf); returns the full length. */
size_t edge_modbus_render(const edge_modbus_t *m, char *buf, size_t len);

#endif
