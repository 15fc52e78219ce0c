/* serve.c - `tollgate serve`: configuration, data directory, master key,
 * store, signer, the live policy state, HTTP daemon, maintenance (key
 * rotation, pruning) and graceful shutdown. Order (OpenBSD habit): acquire
 * files and keys, then sockets, then serve; on SIGTERM/SIGINT stop
 * accepting, finish in-flight requests, flush the store's commit queue,
 * wipe keys. */
#include "broker/broker.h"
#include "broker/auth_failures.h"
#include "broker/client_auth.h"
#include "broker/change_windows.h"
#include "broker/grants.h"
#include "broker/monitor.h"
#include "broker/listener.h"
#include "shell/log.h"
#include "broker/policy_state.h"
#include "broker/posture.h"
#include "broker/serve.h"
#include "broker/rekey.h"
#include "broker/secret_keys.h"
#include "broker/secret_leases.h"
#include "broker/secret_rotation.h"
#include "broker/status_lists.h"
#include "broker/feed.h"
#include "broker/oauth_issue.h"
#include "broker/syslog_forwarder.h"
#include "core/b64url.h"
#include "core/listen_addr.h"
#include "core/timefmt.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAINTENANCE_INTERVAL_S 1 /* checks are cheap; each job has its own period */
#define TOKEN_ROW_KEEP_S (7 * 86400)
#define HOUSEKEEPING_INTERVAL_S 30 /* key rotation check, pruning */

int64_t broker_now(void)
{
	return (int64_t)time(NULL);
}

void broker_store_failed(broker_t *b, const char *what)
{
	char why[200];
	store_last_error(b->store, why, sizeof why);
	log_event(LOG_ERROR, "store write failed: failing closed", "what", what, "reason", why, NULL);
}

int64_t broker_key_retention(const broker_t *b)
{
	return b->cfg.token_max_ttl + b->cfg.clock_leeway;
}

static const char serve_usage[] =
	"Usage: tollgate serve [--dev] [--data DIR] [--listen ADDR:PORT] [--config FILE]\n"
	"                      [--master-key-file F] [--tls-cert F --tls-key F [--client-ca F]]\n"
	"                      [--bootstrap-admin] [--print-config] [--set KEY=VALUE]...\n"
	"\n"
	"Runs the broker: OAuth endpoints, the /v1 API, the store and the signing keys.\n"
	"\n"
	"  --dev                 development mode: data in ./var, listen on 127.0.0.1:8420,\n"
	"                        master key generated in var/master.key, admin token written\n"
	"                        to var/admin.token (0600). NOT FOR PRODUCTION.\n"
	"  --data DIR            data directory (store, generated files); created 0700\n"
	"  --listen ADDR:PORT    listen address, e.g. 127.0.0.1:8420 or [::1]:8420\n"
	"  --config FILE         key = value configuration file (docs/configuration.md)\n"
	"  --master-key-file F   32-byte key (raw or 64 hex digits) sealing signing keys;\n"
	"                        create one with `tollgate keys master --out F`\n"
	"  --tls-cert F, --tls-key F   serve HTTPS with this PEM certificate and key\n"
	"  --client-ca F         enable mTLS client authentication against this CA bundle\n"
	"  --bootstrap-admin     outside --dev: write a short-lived admin token to\n"
	"                        <data>/admin.token for initial setup (like a root token)\n"
	"  --print-config        print the effective configuration and exit\n"
	"  --set KEY=VALUE       set any configuration key (repeatable)\n"
	"\n"
	"Flags override the configuration file. Logs are JSON lines on stderr.\n";

typedef struct {
	bool dev, bootstrap_admin, print_config;
	const char *config_file;
} serve_opts_t;

static char *slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	if (f == NULL)
		return NULL;
	if ((buf = malloc(max + 1)) != NULL) {
		*len = fread(buf, 1, max + 1, f);
		if (*len > max) {
			free(buf);
			buf = NULL;
		} else {
			buf[*len] = '\0';
		}
	}
	fclose(f);
	return buf;
}

static int set_or_die(tg_config_t *c, const char *k, const char *v)
{
	char err[300];
	if (config_set(c, k, v, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	return 0;
}

static int parse_flags(int argc, char **argv, tg_config_t *c, serve_opts_t *o)
{
	static const struct option longs[] = {
		{"dev", no_argument, NULL, 'd'}, {"data", required_argument, NULL, 'D'},
		{"listen", required_argument, NULL, 'l'}, {"config", required_argument, NULL, 'c'},
		{"master-key-file", required_argument, NULL, 'm'}, {"tls-cert", required_argument, NULL, 'C'},
		{"tls-key", required_argument, NULL, 'K'}, {"client-ca", required_argument, NULL, 'A'},
		{"bootstrap-admin", no_argument, NULL, 'b'}, {"print-config", no_argument, NULL, 'p'},
		{"set", required_argument, NULL, 's'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	/* Two passes: the config file first, then every flag over it. */
	static const char *const keys[] = {['D'] = "data_dir", ['l'] = "listen", ['m'] = "master_key_file",
					   ['C'] = "tls_cert", ['K'] = "tls_key", ['A'] = "client_ca"};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (ch == 'h') {
			fputs(serve_usage, stdout);
			exit(0);
		}
		if (ch == '?') {
			fputs(serve_usage, stderr);
			return -1;
		}
		if (ch == 'c')
			o->config_file = optarg;
		if (ch == 'd') {
			o->dev = true;
			if (set_or_die(c, "data_dir", "./var") != 0)
				return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tollgate serve: unexpected argument '%s'\n%s", argv[optind], serve_usage);
		return -1;
	}
	if (o->config_file != NULL) {
		char err[300];
		size_t len = 0;
		char *text = slurp(o->config_file, 1 << 20, &len);
		if (text == NULL) {
			fprintf(stderr, "tollgate serve: cannot read config file %s: %s\n", o->config_file,
				strerror(errno));
			return -1;
		}
		int rc = config_parse(c, text, len, err, sizeof err);
		free(text);
		if (rc != 0) {
			fprintf(stderr, "tollgate serve: %s: %s\n", o->config_file, err);
			return -1;
		}
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		if (ch == 'b')
			o->bootstrap_admin = true;
		else if (ch == 'p')
			o->print_config = true;
		else if (ch == 's') {
			char key[64];
			const char *eq = strchr(optarg, '=');
			if (eq == NULL || (size_t)(eq - optarg) >= sizeof key) {
				fprintf(stderr, "tollgate serve: --set needs KEY=VALUE\n");
				return -1;
			}
			snprintf(key, sizeof key, "%.*s", (int)(eq - optarg), optarg);
			if (set_or_die(c, key, eq + 1) != 0)
				return -1;
		} else if (ch < (int)(sizeof keys / sizeof keys[0]) && keys[ch] != NULL &&
			   set_or_die(c, keys[ch], optarg) != 0)
			return -1;
	}
	char err[300];
	if (config_validate(c, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	return 0;
}

/* Writes a secret file 0600 (replacing any), never wider. */
static int write_secret_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	int ok = fchmod(fd, 0600) == 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
	return close(fd) == 0 && ok ? 0 : -1;
}

int serve_load_master_key(const char *path, uint8_t out[MASTER_KEY_LEN], char *err, size_t err_len)
{
	struct stat st;
	size_t len = 0;
	int rc = -1;
	if (stat(path, &st) != 0) {
		snprintf(err, err_len, "master key file %s: %s (create it with `tollgate keys master --out %s`)",
			 path, strerror(errno), path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, err_len, "master key file %s is readable by group or others; chmod 600 it", path);
		return -1;
	}
	char *text = slurp(path, 256, &len);
	if (text == NULL) {
		snprintf(err, err_len, "cannot read master key file %s", path);
		return -1;
	}
	if (master_key_parse(text, len, out) == 0)
		rc = 0;
	else
		snprintf(err, err_len, "master key file %s must hold 32 raw bytes or 64 hex digits", path);
	sodium_memzero(text, len);
	free(text);
	return rc;
}

/* Dev mode's master key: 32 random bytes in the file format, 0600. */
static int create_master_key(const char *path)
{
	uint8_t raw[MASTER_KEY_LEN];
	char hex[MASTER_KEY_TEXT_LEN + 1];
	randombytes_buf(raw, sizeof raw);
	master_key_format(raw, hex);
	int rc = write_secret_file(path, hex, MASTER_KEY_TEXT_LEN);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(hex, sizeof hex);
	return rc;
}

/* Before extending the chain: does its tail still fit? A mismatch means
 * the store was edited while the broker was down. The broker still starts
 * (refusing would hand a DoS to whoever can write the file), says so loudly
 * and records it; the break stays visible to `tollgate audit verify`. */
static void check_audit_tail(broker_t *b)
{
	char why[200];
	if (store_audit_check_tail(b->store, why, sizeof why) == 0)
		return;
	log_event(LOG_ERROR, "AUDIT CHAIN TAMPERED: the records since the last checkpoint do not verify; "
		  "run `tollgate audit verify`", "reason", why, NULL);
	json_t *details = json_pack("{s:s}", "reason", why);
	audit_event_t ev = {.type = "audit.integrity_failed", .actor = "broker", .action = "audit.check_tail",
			    .decision = "deny", .details = details};
	if (store_audit_append(b->store, &ev) != STORE_OK)
		log_event(LOG_ERROR, "cannot record the integrity failure", NULL);
	json_decref(details);
}

/* Both signers with this master key; neither when it does not open them. */
static int open_signers(broker_t *b, const uint8_t master[MASTER_KEY_LEN], char *err, size_t err_len)
{
	b->signer = signer_open(b->store, "token", master, broker_now(), err, err_len);
	if (b->signer != NULL)
		b->audit_signer = signer_open(b->store, "audit", master, broker_now(), err, err_len);
	if (b->audit_signer != NULL)
		return 0;
	signer_close(b->signer);
	b->signer = NULL;
	return -1;
}

static int prepare_data_dir(broker_t *b, bool dev, uint8_t master[MASTER_KEY_LEN], uint8_t next[MASTER_KEY_LEN])
{
	char path[512], err[400], next_path[sizeof b->cfg.master_key_file + 16];
	if ((mkdir(b->cfg.data_dir, 0700) != 0 && errno != EEXIST) || chmod(b->cfg.data_dir, 0700) != 0) {
		fprintf(stderr, "tollgate serve: cannot create data directory %s (0700): %s\n",
			b->cfg.data_dir, strerror(errno));
		return -1;
	}
	if (b->cfg.master_key_file[0] == '\0') {
		if (!dev) {
			fprintf(stderr, "tollgate serve: set master_key_file (or --master-key-file F); create one "
					"with `tollgate keys master --out F`\n");
			return -1;
		}
		if ((size_t)snprintf(b->cfg.master_key_file, sizeof b->cfg.master_key_file, "%s/master.key",
				     b->cfg.data_dir) >= sizeof b->cfg.master_key_file) {
			fprintf(stderr, "tollgate serve: data directory path is too long\n");
			return -1;
		}
		if (access(b->cfg.master_key_file, F_OK) != 0 && create_master_key(b->cfg.master_key_file) != 0) {
			fprintf(stderr, "tollgate serve: cannot create %s\n", b->cfg.master_key_file);
			return -1;
		}
	}
	if (serve_load_master_key(b->cfg.master_key_file, master, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	rekey_next_path(b, next_path, sizeof next_path);
	bool have_next = access(next_path, F_OK) == 0;
	if (have_next && serve_load_master_key(next_path, next, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	snprintf(path, sizeof path, "sqlite:%s/tollgate.db", b->cfg.data_dir);
	b->store = store_open(path, strcmp(b->cfg.sqlite_synchronous, "full") == 0, err, sizeof err);
	if (b->store == NULL) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	/* an interrupted rekey (rekey.h): the store may be sealed under either key */
	if (open_signers(b, master, err, sizeof err) != 0 &&
	    !(have_next && open_signers(b, next, err, sizeof err) == 0)) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	if ((b->secret_keys = secret_keys_open(master)) == NULL ||
	    (have_next && secret_keys_add(b->secret_keys, next) != 0)) {
		fprintf(stderr, "tollgate serve: out of memory\n");
		return -1;
	}
	store_audit_configure(b->store, strcmp(b->cfg.audit, "on") == 0, b->cfg.audit_checkpoint_every,
			      signer_audit_checkpoint, b->audit_signer);
	check_audit_tail(b);
	if (policy_state_open(b, err, sizeof err) != 0 || change_windows_open(b, err, sizeof err) != 0 ||
	    status_lists_open(b, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	if (have_next && rekey_resume(b, next, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: completing the interrupted rekey: %s\n", err);
		return -1;
	}
	return 0;
}

/* The admin token of --dev, or of --bootstrap-admin (the recovery path
 * when no admin operator can log in): written to the data directory and
 * recorded in the audit trail (never the token itself). */
static int write_admin_token(broker_t *b, bool dev)
{
	char tok[65], path[512];
	if (admin_token_create(b, b->cfg.admin_token_ttl, tok) != 0)
		return -1;
	snprintf(path, sizeof path, "%s/admin.token", b->cfg.data_dir);
	tok[64] = '\n';
	int rc = write_secret_file(path, tok, 65);
	sodium_memzero(tok, sizeof tok);
	if (rc != 0)
		return rc;
	log_event(LOG_WARN, "admin token written", "path", path, NULL);
	json_t *details = json_pack("{s:s, s:I}", "mode", dev ? "dev" : "bootstrap-admin", "expires_in",
				    (json_int_t)b->cfg.admin_token_ttl);
	audit_event_t ev = {.type = "admin_token.created", .actor = "tollgate", .action = "admin_token.created",
			    .resource = path, .decision = "allow", .details = details};
	rc = store_audit_append(b->store, &ev) == STORE_OK ? 0 : -1;
	json_decref(details);
	return rc;
}

static char *read_pem(const char *path)
{
	size_t len = 0;
	char *pem = path[0] ? slurp(path, 1 << 20, &len) : NULL;
	if (path[0] && pem == NULL)
		fprintf(stderr, "tollgate serve: cannot read %s: %s\n", path, strerror(errno));
	return pem;
}

static void derive_urls(broker_t *b)
{
	if (b->cfg.issuer[0] != '\0')
		snprintf(b->issuer, sizeof b->issuer, "%s", b->cfg.issuer);
	else
		snprintf(b->issuer, sizeof b->issuer, "%s://%s", b->cfg.tls_cert[0] ? "https" : "http",
			 b->cfg.listen);
	size_t n = strlen(b->issuer);
	while (n > 0 && b->issuer[n - 1] == '/')
		b->issuer[--n] = '\0';
	snprintf(b->token_endpoint, sizeof b->token_endpoint, "%s/oauth/token", b->issuer);
}

/* Audit retention: keeps everything from the newest checkpoint older than
 * the retention period on, so the kept log still verifies. */
static void prune_audit(broker_t *b, int64_t now)
{
	char before[RFC3339_LEN];
	int64_t kept_from = 0;
	if (b->cfg.audit_retention == 0)
		return;
	rfc3339(now - b->cfg.audit_retention, before);
	if (store_audit_prune(b->store, before, &kept_from) != STORE_OK)
		log_event(LOG_ERROR, "audit retention pruning failed", NULL);
	else if (kept_from != 0)
		log_event(LOG_INFO, "audit records pruned", "before", before, NULL);
}

static void maintain(broker_t *b)
{
	static int64_t last_checkpoint, last_housekeeping;
	int64_t now = broker_now();
	grant_sweep(b, now);
	if (now - last_checkpoint >= b->cfg.audit_checkpoint_interval) {
		if (store_audit_checkpoint(b->store) != STORE_OK)
			log_event(LOG_ERROR, "audit checkpoint failed", NULL);
		prune_audit(b, now);
		last_checkpoint = now;
	}
	if (now - last_housekeeping < HOUSEKEEPING_INTERVAL_S)
		return;
	last_housekeeping = now;
	if (signer_maintain(b->signer, now, b->cfg.signing_key_rotation, broker_key_retention(b)) == 1)
		log_event(LOG_INFO, "signing key rotated on schedule", NULL);
	if (store_prune(b->store, now, TOKEN_ROW_KEEP_S) != STORE_OK)
		log_event(LOG_ERROR, "pruning expired records failed", NULL);
	posture_snapshot_due(b, now);
}

static void dev_warning(const broker_t *b)
{
	fprintf(stderr,
		"\n"
		"  ================================================================\n"
		"  WARNING: tollgate is running in DEV MODE. NOT FOR PRODUCTION.\n"
		"  Data, the master key and an admin token live in %s/.\n"
		"  Use them for trying Tollgate out only.\n"
		"  ================================================================\n\n",
		b->cfg.data_dir);
}

static void print_config(const tg_config_t *c)
{
	char v[TG_CFG_STR + 32];
	for (size_t i = 0; i < config_key_count(); i++) {
		config_key_value(c, i, v, sizeof v);
		printf("%-24s = \"%s\"   # %s\n", config_key_name(i), v, config_key_help(i));
	}
}

static void harden_process(void)
{
	struct rlimit no_core = {0, 0};
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	umask(077);
}

/* Plain HTTP only where nobody else can listen in: a non-loopback address
 * needs TLS, or tls_disable = true when TLS is terminated in front (as
 * Vault's listener). Plain HTTP on loopback outside --dev is allowed with
 * a warning. Returns -1 (having said why) when the start is refused. */
static int check_transport(const tg_config_t *c, bool dev)
{
	struct sockaddr_storage ss;
	char err[300];
	if (c->tls_cert[0] != '\0')
		return 0;
	if (listen_addr_parse(c->listen, &ss, err, sizeof err) != 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return -1;
	}
	if (!listen_addr_is_loopback(&ss) && !c->tls_disable) {
		fprintf(stderr,
			"tollgate serve: refusing to serve plain HTTP on %s, a non-loopback address: tokens "
			"and admin credentials would cross the network in clear text.\n"
			"  Give it a certificate (--tls-cert FILE --tls-key FILE), or, when TLS is terminated "
			"in front of the broker, set tls_disable = true (--set tls_disable=true).\n",
			c->listen);
		return -1;
	}
	if (!listen_addr_is_loopback(&ss))
		log_event(LOG_WARN, "serving plain HTTP on a non-loopback address (tls_disable = true)",
			  "listen", c->listen, NULL);
	else if (!dev)
		log_event(LOG_WARN, "serving plain HTTP on loopback: only clients on this machine can reach "
				    "the broker; configure tls_cert and tls_key before exposing it",
			  "listen", c->listen, NULL);
	return 0;
}

static int run(broker_t *b, const serve_opts_t *o, int listen_fd)
{
	char err[400];
	sigset_t set;
	int rc = 1;
	char *cert = read_pem(b->cfg.tls_cert), *key = read_pem(b->cfg.tls_key), *ca = read_pem(b->cfg.client_ca);
	if ((b->cfg.tls_cert[0] && !cert) || (b->cfg.tls_key[0] && !key) || (b->cfg.client_ca[0] && !ca))
		goto out;
	if ((o->dev || o->bootstrap_admin) && write_admin_token(b, o->dev) != 0) {
		fprintf(stderr, "tollgate serve: cannot write the admin token\n");
		goto out;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
	if (auth_failures_start(b) != 0) /* throttle table and audit flusher (auth_failures.h) */
		goto out;
	if (feed_start(b) != 0) { /* the edges' feed (feed.h) */
		fprintf(stderr, "tollgate serve: cannot start the revocation feed (store unavailable)\n");
		goto out;
	}
	if (rotation_engine_start(b) != 0) { /* secret rotation (secret_rotation.h) */
		fprintf(stderr, "tollgate serve: cannot start the secret rotation engine\n");
		goto out;
	}
	if (lease_revoker_start(b) != 0) { /* dynamic credential leases (secret_leases.h) */
		fprintf(stderr, "tollgate serve: cannot start the lease revoker\n");
		goto out;
	}
	struct MHD_Daemon *d = http_start(b, listen_fd, (int)b->cfg.threads, cert, key, ca, err, sizeof err);
	listen_fd = -1; /* handed over: never closed here, even when the start failed (the process ends) */
	if (d == NULL) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		goto out;
	}
	forwarder_t *fwd = NULL;
	if (b->cfg.audit_syslog[0] != '\0' &&
	    (fwd = forwarder_start(b->store, b->cfg.audit_syslog, err, sizeof err)) == NULL) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		auth_failures_release();
		feed_release();
		oauth_issue_release();
		http_stop(d);
		goto out;
	}
	if (monitor_start(b, err, sizeof err) != 0) { /* the behaviour monitor (monitor.h) */
		fprintf(stderr, "tollgate serve: %s\n", err);
		forwarder_stop(fwd);
		auth_failures_release();
		feed_release();
		oauth_issue_release();
		http_stop(d);
		goto out;
	}
	if (o->dev)
		dev_warning(b);
	log_event(LOG_INFO, "tollgate broker ready", "listen", b->cfg.listen, "issuer", b->issuer,
		  "data", b->cfg.data_dir, "mode", o->dev ? "dev" : "production",
		  "mtls", ca ? "on" : "off", NULL);
	for (;;) {
		struct timespec wait = {MAINTENANCE_INTERVAL_S, 0};
		int sig = sigtimedwait(&set, NULL, &wait);
		if (sig == SIGINT || sig == SIGTERM)
			break;
		maintain(b);
	}
	log_event(LOG_INFO, "shutting down: finishing in-flight requests", NULL);
	auth_failures_release(); /* answer held requests: the daemon cannot stop with them */
	feed_release();
	oauth_issue_release(); /* held token requests: answered once durable */
	http_stop(d);
	auth_failures_stop(); /* record pending failures before the final checkpoint */
	monitor_stop();
	if (store_audit_checkpoint(b->store) != STORE_OK) /* sign the tail before leaving */
		log_event(LOG_ERROR, "final audit checkpoint failed", NULL);
	forwarder_stop(fwd);
	rc = 0;
out:
	if (listen_fd >= 0)
		close(listen_fd);
	auth_failures_stop();
	feed_stop();
	rotation_engine_stop(); /* a step in flight finishes first */
	lease_revoker_stop(); /* a batch in flight finishes first */
	free(cert);
	if (key != NULL)
		sodium_memzero(key, strlen(key));
	free(key);
	free(ca);
	return rc;
}

int cmd_serve(int argc, char **argv)
{
	broker_t b;
	serve_opts_t o = {0};
	uint8_t master[MASTER_KEY_LEN], next[MASTER_KEY_LEN];
	log_level_t level;
	int rc = 1;
	memset(&b, 0, sizeof b);
	config_defaults(&b.cfg);
	if (parse_flags(argc, argv, &b.cfg, &o) != 0)
		return 2;
	b.dev = o.dev;
	if (strcmp(b.cfg.audit, "off") == 0 && !o.dev) {
		fprintf(stderr, "tollgate serve: audit = off is refused outside --dev: every privileged "
				"transaction is recorded in production\n");
		return 2;
	}
	if (o.print_config) {
		print_config(&b.cfg);
		return 0;
	}
	if (log_level_parse(b.cfg.log_level, &level) != 0) {
		fprintf(stderr, "tollgate serve: log_level must be debug, info, warn or error\n");
		return 2;
	}
	log_set_level(level);
	if (check_transport(&b.cfg, o.dev) != 0)
		return 2;
	/* The address is held before anything is written: a broker that
	 * cannot listen leaves the data directory and admin token alone. */
	char err[400];
	int listen_fd = listener_open(b.cfg.listen, err, sizeof err);
	if (listen_fd < 0) {
		fprintf(stderr, "tollgate serve: %s\n", err);
		return 1;
	}
	harden_process();
	derive_urls(&b);
	if (prepare_data_dir(&b, o.dev, master, next) == 0)
		rc = run(&b, &o, listen_fd);
	else
		close(listen_fd);
	sodium_memzero(master, sizeof master);
	sodium_memzero(next, sizeof next);
	change_windows_close(&b);
	policy_state_close(&b);
	secret_keys_close(b.secret_keys);
	signer_close(b.audit_signer);
	signer_close(b.signer);
	store_close(b.store);
	if (rc == 0)
		log_event(LOG_INFO, "stopped cleanly", NULL);
	return rc;
}
