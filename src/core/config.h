/* config.h - the broker's configuration: every key, its type and default in
 * one table (config.c), parsed from a `key = value` file and overridden by
 * flags. Pure: the caller reads the file. docs/configuration.md lists the
 * same keys. */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TG_CFG_STR 256

typedef struct {
	char listen[TG_CFG_STR];
	char data_dir[TG_CFG_STR];
	char master_key_file[TG_CFG_STR];
	char issuer[TG_CFG_STR];
	char audience[TG_CFG_STR];
	char tls_cert[TG_CFG_STR];
	char tls_key[TG_CFG_STR];
	char client_ca[TG_CFG_STR];
	char sqlite_synchronous[TG_CFG_STR];
	char log_level[TG_CFG_STR];
	char audit_syslog[TG_CFG_STR];
	char audit[TG_CFG_STR];
	char token_alg_name[TG_CFG_STR];
	int64_t tls_disable; /* boolean */
	int64_t token_default_ttl;
	int64_t token_max_ttl;
	int64_t clock_leeway;
	int64_t assertion_max_lifetime;
	int64_t dpop_max_age;
	int64_t signing_key_rotation;
	int64_t admin_token_ttl;
	int64_t threads;
	int64_t max_body;
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t header_timeout;
	int64_t idle_timeout;
	int64_t audit_checkpoint_every;
	int64_t audit_checkpoint_interval;
	int64_t audit_retention;
	/* failed authentications (src/core/auth_throttle.h) */
	int64_t auth_throttle_client_failures;
	int64_t auth_throttle_source_failures;
	int64_t auth_throttle_window;
	int64_t auth_throttle_block;
	int64_t auth_throttle_block_max;
	int64_t auth_throttle_table;
	int64_t auth_failure_flush_interval;
	int64_t auth_throttle_hold;
	int64_t auth_throttle_user_failures;
	/* operators (core/operator.h) */
	int64_t operator_session_ttl;
	int64_t operator_pwhash_parallel;
	int64_t stepup_max_age;
	int64_t grant_max_duration;
	int64_t grant_pending_ttl;
	int64_t grant_min_approvals;
	int64_t grant_owner_approval_alone;
	int64_t breakglass_max_duration;
	/* the behaviour monitor (core/monitor.h, docs/monitoring.md) */
	int64_t monitor;
	int64_t monitor_learning_window;
	int64_t monitor_rate_floor;
	int64_t monitor_rate_factor;
	int64_t monitor_deny_burst;
	int64_t monitor_deny_window;
	int64_t monitor_hours_min_events;
	int64_t monitor_grant_min_use;
	int64_t monitor_cooldown;
	int64_t monitor_max_identities;
	char monitor_operator_ranges[TG_CFG_STR];
	char monitor_containment[TG_CFG_STR];
	char monitor_contain[TG_CFG_STR];
	/* the revocation feed and edges (docs/edge.md) */
	int64_t feed_max_wait;
	int64_t edge_timeout;
	int64_t status_list_ttl; /* the Token Status List's ttl and max-age (docs/status_list.md) */
	char alert_webhook[TG_CFG_STR];
	int64_t operator_pwhash_ops;
	int64_t operator_pwhash_mem;
	/* the posture report (core/posture.h, docs/report.md) */
	int64_t key_max_age;
	int64_t posture_unused_days;
	int64_t posture_max_ttl;
	int64_t posture_snapshot_interval;
	char posture_privileged_actions[TG_CFG_STR];
} tg_config_t;

void config_defaults(tg_config_t *c);
/* Applies `key = value` lines; '#' starts a comment; values may be quoted.
 * On error writes "line N: ..." into err and returns -1. */
int config_parse(tg_config_t *c, const char *text, size_t len, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* The `key = value` syntax itself, shared with the edge's file
 * (core/edge_config.h): splits text into lines (at most TG_MAX_CONFIG_LINE
 * bytes each, no NUL, the whole at most TG_MAX_CONFIG_BYTES), drops '#'
 * comments outside double quotes and blank lines, trims key and value and
 * strips the value's quotes, then calls fn for each pair with its line
 * number. fn returns 0 to go on, or non-zero with a sentence in msg, which
 * becomes "line N: <msg>" in err; syntax errors read "line N: ...". */
typedef int (*config_line_fn)(void *ctx, int lineno, const char *key, const char *value, char *msg,
			      size_t msg_len);
int config_lines(const char *text, size_t len, config_line_fn fn, void *ctx, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* Sets one key from a string (flags use this too). */
int config_set(tg_config_t *c, const char *key, const char *value, char *err, size_t err_len)
    __attribute__((warn_unused_result));
/* Cross-key checks (ttl ordering, TLS pairs). */
int config_validate(const tg_config_t *c, char *err, size_t err_len) __attribute__((warn_unused_result));
/* Iterates the documented keys (for `tollgate serve --print-config`). */
size_t config_key_count(void);
const char *config_key_name(size_t i);
/* Current value of key i as text into buf. */
void config_key_value(const tg_config_t *c, size_t i, char *buf, size_t len);
const char *config_key_help(size_t i);

/* A table of keys held in a struct at base: each key's name, type, field
 * offset, default, range (integers) and help text. The broker's table is
 * in config.c; core/edge_config.c has the edge's. A string field is a
 * char[TG_CFG_STR]; integers and booleans are int64_t. */
typedef enum { CFG_STR, CFG_INT, CFG_BOOL } cfg_kind_t;
typedef struct {
	const char *name;
	cfg_kind_t kind;
	size_t offset;
	const char *def_str;
	int64_t def_int, min, max;
	const char *help;
} cfg_key_t;

void cfg_table_defaults(const cfg_key_t *keys, size_t n, void *base);
/* 0 when set; -1 with "KEY: ..." in err when value does not fit the key;
 * 1 (err untouched) when key is not in the table. */
int cfg_table_set(const cfg_key_t *keys, size_t n, void *base, const char *key, const char *value, char *err,
		  size_t err_len) __attribute__((warn_unused_result));
/* The field's current value as text, as cfg_table_set reads it back. */
void cfg_table_value(const cfg_key_t *k, const void *base, char *buf, size_t len);

#endif
