/* edge_main.c - `tollgate edge run --config FILE`: reads the configuration,
 * the key and the injected credentials, loads the last state from
 * state_dir, starts the feed client, the audit shipper, the listener and
 * the Modbus/TCP proxy (edge_modbus.h) for the modbus lines, and runs
 * until SIGINT or SIGTERM (edge.h). */
#include "edge/edge.h"
#include "edge/edge_client.h"
#include "edge/edge_http.h"
#include "edge/edge_main.h"
#include "edge/edge_modbus.h"
#include "edge/edge_secrets.h"
#include "edge/edge_sessions.h"
#include "edge/edge_spool.h"
#include "edge/edge_sync.h"
#include "core/listen_addr.h"
#include "core/modbus_options.h"
#include "shell/log.h"
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char edge_usage[] =
	"Usage: tollgate edge run --config FILE [--print-config]\n"
	"\n"
	"Runs an edge: the enforcement point next to a protected service. It\n"
	"answers forward-auth subrequests from nginx (auth_request), Caddy\n"
	"(forward_auth), Traefik (ForwardAuth) or Envoy (ext_authz) at GET /auth,\n"
	"deciding locally from the keys, policies, entities and revocations it\n"
	"syncs from the broker's feed; it never calls the broker on the request\n"
	"path. See docs/edge.md.\n"
	"\n"
	"  --config FILE    the edge's configuration (key = value lines; route may repeat)\n"
	"  --print-config   print the effective configuration and exit\n"
	"\n"
	"The edge authenticates to the broker as its own identity (kind edge) with\n"
	"private_key_jwt and DPoP, and needs a policy that permits it edge.sync on\n"
	"Api::\"tollgate\". GET /healthz answers 503 while the edge is stale.\n";

static char *read_all(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int load_config(const char *path, tg_edge_config_t *c)
{
	char err[400];
	size_t len = 0;
	char *text = read_all(path, TG_MAX_CONFIG_BYTES, &len);
	edge_config_defaults(c);
	if (text == NULL) {
		fprintf(stderr, "tollgate edge: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	int rc = edge_config_parse(c, text, len, err, sizeof err) == 0 && edge_config_validate(c, err, sizeof err) == 0
			 ? 0 : -1;
	for (size_t i = 0; rc == 0 && i < c->n_modbus; i++) { /* their options, before anything starts */
		mb_options_t o;
		rc = mb_options_parse(&c->modbus[i], &o, err, sizeof err);
	}
	if (rc != 0)
		fprintf(stderr, "tollgate edge: %s: %s\n", path, err);
	free(text);
	return rc;
}

static void print_config(const tg_edge_config_t *c)
{
	char buf[TG_CFG_STR * 4];
	for (size_t i = 0; i < edge_config_key_count(); i++) {
		edge_config_key_value(c, i, buf, sizeof buf);
		printf("%-16s = %s\n", edge_config_key_name(i), buf);
	}
	for (size_t i = 0; i < c->n_routes; i++) {
		edge_route_render(&c->routes[i], buf, sizeof buf);
		printf("%-16s = %s\n", "route", buf);
	}
	for (size_t i = 0; i < c->n_modbus; i++) {
		edge_modbus_render(&c->modbus[i], buf, sizeof buf);
		printf("%-16s = %s\n", "modbus", buf);
	}
}

static int load_key(edge_t *e)
{
	size_t len = 0;
	const char *why = NULL;
	struct stat st;
	char *pem = read_all(e->cfg.key_file, 16384, &len);
	if (pem == NULL) {
		fprintf(stderr, "tollgate edge: cannot read key_file %s: %s\n", e->cfg.key_file, strerror(errno));
		return -1;
	}
	int rc = client_key_from_pem(pem, len, &e->key, &why);
	sodium_memzero(pem, len);
	free(pem);
	if (rc != 0)
		fprintf(stderr, "tollgate edge: key_file %s: %s\n", e->cfg.key_file, why);
	else if (stat(e->cfg.key_file, &st) == 0 && (st.st_mode & 077) != 0)
		log_event(LOG_WARN, "key_file is readable by others; chmod 600 it", "key_file", e->cfg.key_file, NULL);
	return rc;
}

/* The value of every inject=HEADER:file:PATH, trailing newlines cut (secret
 * sources are fetched by edge_secrets). */
static int load_injects(edge_t *e)
{
	e->inject = calloc(e->cfg.n_routes * TG_EDGE_MAX_INJECTS + 1, sizeof *e->inject);
	if (e->inject == NULL)
		return -1;
	for (size_t i = 0; i < e->cfg.n_routes; i++)
		for (size_t j = 0; j < e->cfg.routes[i].n_inject; j++) {
			const edge_inject_t *in = &e->cfg.routes[i].inject[j];
			size_t len = 0;
			if (in->source != EDGE_INJECT_FILE)
				continue;
			char *v = read_all(in->path, 8192, &len);
			if (v == NULL) {
				fprintf(stderr, "tollgate edge: route line %d: cannot read inject file %s: %s\n",
					e->cfg.routes[i].line, in->path, strerror(errno));
				return -1;
			}
			while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r'))
				v[--len] = '\0';
			if (strpbrk(v, "\r\n") != NULL) {
				fprintf(stderr, "tollgate edge: inject file %s holds more than one line\n", in->path);
				free(v);
				return -1;
			}
			e->inject[i * TG_EDGE_MAX_INJECTS + j].value = v;
		}
	return 0;
}

static void free_injects(edge_t *e)
{
	for (size_t i = 0; e->inject != NULL && i < e->cfg.n_routes * TG_EDGE_MAX_INJECTS; i++)
		if (e->inject[i].value != NULL) {
			sodium_memzero(e->inject[i].value, strlen(e->inject[i].value));
			free(e->inject[i].value);
		}
	free(e->inject);
}

/* The state from state_dir; a missing or unreadable one starts from a
 * snapshot. The edge counts as fresh from the last time it wrote its state. */
static int open_state(edge_t *e)
{
	char why[300], path[TG_CFG_STR + 16];
	struct stat st;
	if (mkdir(e->cfg.state_dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "tollgate edge: cannot create state_dir %s: %s\n", e->cfg.state_dir, strerror(errno));
		return -1;
	}
	if ((e->state = edge_state_new()) == NULL)
		return -1;
	if (edge_state_load(e->state, e->cfg.state_dir, why, sizeof why) != 0) {
		log_event(LOG_INFO, "no usable state in state_dir: starting from a snapshot of the broker", "reason", why,
			  NULL);
		edge_state_free(e->state);
		return (e->state = edge_state_new()) != NULL ? 0 : -1;
	}
	snprintf(path, sizeof path, "%s/state.json", e->cfg.state_dir);
	if (stat(path, &st) == 0)
		atomic_store(&e->last_sync_ms, (int64_t)st.st_mtime * 1000);
	log_event(LOG_INFO, "state loaded from state_dir", "state_dir", e->cfg.state_dir, NULL);
	return 0;
}

static int open_all(edge_t *e, struct sockaddr_storage *ss)
{
	char why[300];
	if (load_key(e) != 0 || load_injects(e) != 0)
		return -1;
	if (fwd_proxies_parse(e->cfg.trusted_proxies, &e->trusted, why, sizeof why) != 0 ||
	    listen_addr_parse(e->cfg.listen, ss, why, sizeof why) != 0) {
		fprintf(stderr, "tollgate edge: %s\n", why);
		return -1;
	}
	snprintf(e->self_url, sizeof e->self_url, "http://%s", e->cfg.listen);
	snprintf(e->issuer, sizeof e->issuer, "%s", e->cfg.issuer[0] ? e->cfg.issuer : e->cfg.broker);
	if (open_state(e) != 0)
		return -1;
	e->cache = edge_cache_new((size_t)e->cfg.token_cache);
	e->replay = edge_replay_new(1u << 20);
	e->spool = edge_spool_open(e->cfg.state_dir, e->cfg.spool_max, why, sizeof why);
	if ((e->secrets = edge_secrets_new(&e->cfg)) == NULL ||
	    (e->cfg.n_modbus > 0 && (e->sessions = edge_sessions_new()) == NULL)) {
		fprintf(stderr, "tollgate edge: out of memory\n");
		return -1;
	}
	if (e->cache == NULL || e->replay == NULL || e->spool == NULL) {
		fprintf(stderr, "tollgate edge: %s\n", e->spool == NULL ? why : "out of memory");
		return -1;
	}
	if (edge_client_start(e, why, sizeof why) != 0)
		log_event(LOG_WARN, "the broker is not reachable; deciding on the last state until it is", "reason", why,
			  NULL);
	return 0;
}

static void close_all(edge_t *e)
{
	/* the spool's last shipment before the sync's stop flag cancels calls */
	edge_spool_close(e->spool);
	edge_sync_stop(e);
	edge_secrets_stop(e->secrets); /* after the sync: it passes feed changes on; its stop flag cancels a fetch */
	edge_secrets_free(e->secrets);
	edge_sessions_free(e->sessions); /* after the sync: it queues kills; its stop flag cancels a report */
	edge_client_stop();
	edge_cache_free(e->cache);
	edge_replay_free(e->replay);
	edge_state_free(e->state);
	free_injects(e);
	client_key_free(&e->key);
	edge_config_free(&e->cfg);
}

static int serve(edge_t *e)
{
	struct sockaddr_storage ss;
	char why[300];
	sigset_t set;
	int rc = 1;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread starts */
	signal(SIGPIPE, SIG_IGN);
	if (open_all(e, &ss) != 0)
		goto out;
	struct MHD_Daemon *d = edge_http_start(e, (const struct sockaddr *)&ss, why, sizeof why);
	if (d == NULL) {
		fprintf(stderr, "tollgate edge: %s\n", why);
		goto out;
	}
	if (edge_sync_start(e) != 0 || edge_secrets_start(e->secrets, e) != 0 || edge_spool_start(e->spool, e) != 0 ||
	    (e->sessions != NULL && edge_sessions_start(e->sessions, e) != 0)) {
		edge_http_stop(d);
		goto out;
	}
	edge_mb_proxy_t *mb = edge_modbus_start(e, why, sizeof why);
	if (mb == NULL) {
		fprintf(stderr, "tollgate edge: %s\n", why);
		edge_http_stop(d);
		goto out;
	}
	log_event(LOG_INFO, "tollgate edge ready", "identity", e->cfg.identity, "listen", e->cfg.listen, "broker",
		  e->cfg.broker, NULL);
	int sig = 0;
	sigwait(&set, &sig);
	log_event(LOG_INFO, "shutting down", NULL);
	edge_modbus_stop(mb);
	edge_http_stop(d);
	rc = 0;
out:
	close_all(e);
	return rc;
}

int cmd_edge_run(int argc, char **argv)
{
	const char *config = NULL;
	bool print = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(edge_usage, stdout);
			return 0;
		} else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--print-config") == 0) {
			print = true;
		} else {
			fprintf(stderr, "tollgate edge run: unknown option %s (see --help)\n", argv[i]);
			return 2;
		}
	}
	if (config == NULL) {
		fprintf(stderr, "tollgate edge run: --config FILE is required (see --help)\n");
		return 2;
	}
	static edge_t e; /* one per process; large (the configuration) */
	memset(&e, 0, sizeof e);
	if (load_config(config, &e.cfg) != 0) {
		edge_config_free(&e.cfg);
		return 1;
	}
	if (print) {
		print_config(&e.cfg);
		edge_config_free(&e.cfg);
		return 0;
	}
	log_level_t level;
	if (log_level_parse(e.cfg.log_level, &level) == 0)
		log_set_level(level);
	return serve(&e);
}
