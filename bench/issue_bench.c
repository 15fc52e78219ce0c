/* issue_bench.c - token issuance throughput of a running `tollgate serve`
 * on loopback. Installs a Cedar policy permitting the role "bench" the
 * benchmark's scope (PUT /v1/policies), creates identities with that role
 * through /v1/identities, pre-generates one
 * fresh private_key_jwt client assertion per request (jws_sign; iss = sub =
 * identity, aud = token_endpoint from the RFC 8414 metadata, unique jti,
 * exp now+60), then drives POST /oauth/token from C concurrent keep-alive
 * connections (libcurl multi, one client thread) for a warm-up and a fixed
 * window. Any answer but 200 with an access_token is an error.
 *
 *   issue_bench -u http://127.0.0.1:PORT -t ADMIN_TOKEN_FILE -l LABEL \
 *               [-c 16,64] [-d SECONDS] [-w SECONDS] [-i IDENTITIES] [-p BROKER_PID] \
 *               -o RESULTS
 *       runs the phases and appends one line per phase to RESULTS; with -p it
 *       also splits the CPU used in the window into broker, client and other;
 *   issue_bench -G CLIENTS_FILE [-i IDENTITIES]
 *       writes that many client identities (id, kid, Ed25519 key) as JSON,
 *       for a peer server to register (bench/oidc_peer.mjs);
 *   issue_bench -u BASE_URL -K CLIENTS_FILE -l LABEL ... -o RESULTS
 *       the same load against a peer that already knows those clients (no
 *       policy, no identities created; the token endpoint from its RFC 8414
 *       or OpenID metadata);
 *   issue_bench -R RESULTS [-b TOKENS_PER_S] [-P PEER_LABEL]
 *       prints RESULTS as Markdown: each label and client count's median
 *       round (a label may have several rounds), the ratio of Tollgate's
 *       ("full+audit", the default configuration) median tokens/s to the
 *       peer's, and the bars checked on the full+audit rows. */
#include "bench_util.h"
#include "core/b64url.h"
#include "core/ed25519_key.h"
#include "core/jws.h"
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PHASES 8
#define MAX_ROWS 256
#define TOLLGATE_LABEL "full+audit"
#define P99_BAR_MS 100.0 /* p99 at 64 clients before the fix: 66-100 ms */
#define MAX_CLIENTS 1024
#define ASSERTION_TTL 60
#define SCOPE_ENC "orders.read%40Api%3Aorders"
#define FORM_HEAD "grant_type=client_credentials&scope=" SCOPE_ENC \
	"&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer" \
	"&client_assertion="

typedef struct {
	char id[40];
	char kid[JKT_LEN + 1];
	uint8_t sk[ED25519_SK_LEN];
} ident_t;

typedef struct {
	const char *base, *token_file, *label, *out, *report, *gen_file, *keys_file, *peer;
	int clients[MAX_PHASES], n_phases, n_ids, broker_pid;
	double duration, warmup, bar;
} opts_t;

typedef struct {
	char **body;   /* pre-generated form bodies, one per request */
	size_t n, next;
	size_t inline_signed; /* requests signed in the loop after the pool ran dry */
} pool_t;

typedef struct {
	int clients;
	double tokens_per_s;
	uint64_t p50_ns, p99_ns;
	size_t ok, errors, pregenerated, inline_signed;
	double cpu_broker, cpu_client, cpu_other; /* cores busy during the window */
} result_t;

/* ---- HTTP setup calls (easy handles) ---- */

typedef struct {
	char *p;
	size_t n;
} buf_t;

static size_t collect(char *d, size_t sz, size_t nm, void *u)
{
	buf_t *b = u;
	char *g = realloc(b->p, b->n + sz * nm + 1);
	if (g == NULL)
		return 0;
	memcpy(g + b->n, d, sz * nm);
	b->p = g;
	b->n += sz * nm;
	b->p[b->n] = '\0';
	return sz * nm;
}

/* GET or (json != NULL) POST, or PUT when put is set; returns the HTTP
 * status, body in *out. */
static long http_call_m(const char *url, const char *bearer, const char *json, bool put, buf_t *out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hd = NULL;
	char auth[300];
	long status = 0;
	if (h == NULL)
		return 0;
	out->p = NULL;
	out->n = 0;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	if (bearer != NULL) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
		hd = curl_slist_append(hd, auth);
	}
	if (json != NULL) {
		hd = curl_slist_append(hd, "Content-Type: application/json");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, json);
		if (put)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	return status;
}

static long http_call(const char *url, const char *bearer, const char *json, buf_t *out)
{
	return http_call_m(url, bearer, json, false, out);
}

/* The policy every benchmark identity is issued under: one permit, so a
 * decision per token is part of what is measured. */
static int install_policy(const char *base, const char *admin)
{
	char url[512];
	buf_t b;
	json_t *doc = json_pack("{s:s, s:s}", "policies",
				"@id(\"bench\")\npermit(principal in Role::\"bench\", "
				"action == Action::\"orders.read\", resource == Api::\"orders\");\n",
				"comment", "issue_bench");
	char *text = json_dumps(doc, JSON_COMPACT);
	snprintf(url, sizeof url, "%s/v1/policies", base);
	long st = text ? http_call_m(url, admin, text, true, &b) : 0;
	if (st != 200)
		fprintf(stderr, "issue_bench: setting the policy: HTTP %ld %s\n", st, b.p ? b.p : "");
	free(b.p);
	free(text);
	json_decref(doc);
	return st == 200 ? 0 : -1;
}

/* The token_endpoint of the server's metadata at base + well_known. */
static int metadata_token_endpoint(const char *base, const char *well_known, char *out, size_t len)
{
	char url[512];
	buf_t b;
	snprintf(url, sizeof url, "%s%s", base, well_known);
	long st = http_call(url, NULL, NULL, &b);
	json_t *m = st == 200 ? json_loads(b.p, 0, NULL) : NULL;
	const char *te = json_string_value(json_object_get(m, "token_endpoint"));
	int rc = te != NULL && strlen(te) < len ? 0 : -1;
	if (rc == 0)
		snprintf(out, len, "%s", te);
	json_decref(m);
	free(b.p);
	return rc;
}

/* RFC 8414 metadata, or OpenID Connect Discovery's (the peer's). */
static int token_endpoint(const char *base, char *out, size_t len)
{
	return metadata_token_endpoint(base, "/.well-known/oauth-authorization-server", out, len) == 0 ||
			       metadata_token_endpoint(base, "/.well-known/openid-configuration", out, len) == 0
		       ? 0
		       : -1;
}

static int read_token(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL || fgets(out, (int)len, f) == NULL) {
		if (f != NULL)
			fclose(f);
		return -1;
	}
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* Identity i with a new key pair. */
static void new_identity(int i, ident_t *id)
{
	uint8_t pk[ED25519_PK_LEN];
	crypto_sign_keypair(pk, id->sk);
	ed_jwk_thumbprint(pk, id->kid);
	snprintf(id->id, sizeof id->id, "bench-svc-%03d", i);
}

/* Registers identity i with a new key pair; its PEM comes from ed_pk_to_pem. */
static int create_identity(const char *base, const char *admin, int i, ident_t *id)
{
	char url[512];
	buf_t b;
	new_identity(i, id);
	char *pem = ed_pk_to_pem(id->sk + ED25519_SK_LEN - ED25519_PK_LEN);
	json_t *doc = json_pack("{s:s, s:s, s:s, s:[s], s:[s]}", "id", id->id, "kind", "workload",
				"owner", "team-bench", "public_keys", pem, "roles", "bench");
	char *text = json_dumps(doc, JSON_COMPACT);
	snprintf(url, sizeof url, "%s/v1/identities", base);
	long st = text ? http_call(url, admin, text, &b) : 0;
	if (st != 201)
		fprintf(stderr, "issue_bench: creating %s: HTTP %ld %s\n", id->id, st, b.p ? b.p : "");
	free(b.p);
	free(text);
	json_decref(doc);
	free(pem);
	return st == 201 ? 0 : -1;
}

/* ---- the clients file: identities a peer registers ---- */

/* {"clients": [{"id", "kid", "x" (public key), "sk" (secret key)}]}, all
 * base64url; the peer reads id, kid and x. */
static int write_clients(const char *path, int n)
{
	json_t *list = json_array();
	ident_t id;
	char x[64], sk[100];
	for (int i = 0; i < n; i++) {
		new_identity(i, &id);
		b64url_encode_to(id.sk + ED25519_SK_LEN - ED25519_PK_LEN, ED25519_PK_LEN, x);
		b64url_encode_to(id.sk, ED25519_SK_LEN, sk);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "id", id.id, "kid", id.kid, "x", x,
						      "sk", sk));
		sodium_memzero(sk, sizeof sk);
	}
	sodium_memzero(&id, sizeof id);
	json_t *doc = json_pack("{s:o}", "clients", list);
	int rc = json_dump_file(doc, path, JSON_INDENT(1)) == 0 ? 0 : -1;
	json_decref(doc);
	return rc;
}

/* The first n identities of a clients file. */
static int read_clients(const char *path, int n, ident_t *ids)
{
	json_t *doc = json_load_file(path, 0, NULL);
	json_t *list = json_object_get(doc, "clients");
	int rc = json_array_size(list) >= (size_t)n ? 0 : -1;
	for (int i = 0; i < n && rc == 0; i++) {
		json_t *c = json_array_get(list, (size_t)i);
		const char *id = json_string_value(json_object_get(c, "id"));
		const char *kid = json_string_value(json_object_get(c, "kid"));
		const char *sk = json_string_value(json_object_get(c, "sk"));
		size_t len = 0;
		if (id == NULL || kid == NULL || sk == NULL || strlen(id) >= sizeof ids[i].id ||
		    strlen(kid) >= sizeof ids[i].kid ||
		    b64url_decode(sk, strlen(sk), ids[i].sk, sizeof ids[i].sk, &len) != 0 || len != ED25519_SK_LEN)
			rc = -1;
		else {
			snprintf(ids[i].id, sizeof ids[i].id, "%s", id);
			snprintf(ids[i].kid, sizeof ids[i].kid, "%s", kid);
		}
	}
	json_decref(doc);
	if (rc != 0)
		fprintf(stderr, "issue_bench: %s does not hold %d clients (issue_bench -G)\n", path, n);
	return rc;
}

/* ---- client assertions ---- */

/* A malloc'd form body carrying a fresh assertion for id. */
static char *assertion_body(const ident_t *id, const char *aud)
{
	uint8_t raw[16];
	char jti[32];
	int64_t now = (int64_t)time(NULL);
	randombytes_buf(raw, sizeof raw);
	b64url_encode_to(raw, sizeof raw, jti);
	json_t *h = json_pack("{s:s, s:s, s:s}", "alg", "EdDSA", "typ", "JWT", "kid", id->kid);
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", id->id, "sub", id->id, "aud",
			      aud, "jti", jti, "iat", (json_int_t)now, "exp",
			      (json_int_t)(now + ASSERTION_TTL));
	char *jwt = jws_sign(h, p, id->sk), *body = NULL;
	json_decref(h);
	json_decref(p);
	if (jwt != NULL && (body = malloc(sizeof FORM_HEAD + strlen(jwt))) != NULL)
		sprintf(body, "%s%s", FORM_HEAD, jwt);
	free(jwt);
	return body;
}

typedef struct {
	pool_t *pool;
	const ident_t *ids;
	int n_ids;
	const char *aud;
	size_t from, to;
	int failed;
} gen_job_t;

static void *gen_main(void *arg)
{
	gen_job_t *j = arg;
	for (size_t i = j->from; i < j->to; i++)
		if ((j->pool->body[i] = assertion_body(&j->ids[i % (size_t)j->n_ids], j->aud)) == NULL)
			j->failed = 1;
	return NULL;
}

/* Pre-generates n bodies on as many threads as there are CPUs. */
static int pool_fill(pool_t *pool, size_t n, const ident_t *ids, int n_ids, const char *aud)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus, failed = 0;
	pthread_t th[16];
	gen_job_t jobs[16];
	memset(pool, 0, sizeof *pool);
	if ((pool->body = calloc(n, sizeof *pool->body)) == NULL)
		return -1;
	pool->n = n;
	for (int t = 0; t < nt; t++) {
		jobs[t] = (gen_job_t){pool, ids, n_ids, aud, n * (size_t)t / (size_t)nt,
				      n * (size_t)(t + 1) / (size_t)nt, 0};
		pthread_create(&th[t], NULL, gen_main, &jobs[t]);
	}
	for (int t = 0; t < nt; t++) {
		pthread_join(th[t], NULL);
		failed |= jobs[t].failed;
	}
	return failed ? -1 : 0;
}

static void pool_free(pool_t *pool)
{
	for (size_t i = 0; i < pool->n; i++)
		free(pool->body[i]);
	free(pool->body);
}

/* ---- CPU accounting: who used the cores during the window ---- */

typedef struct {
	double at, machine_busy, broker, self; /* seconds */
} cpu_snap_t;

/* utime + stime of a process (all threads) from /proc/PID/stat, seconds. */
static double proc_cpu(const char *path)
{
	char buf[1024];
	unsigned long long ut = 0, st = 0;
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
				&st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy time of all CPUs together from /proc/stat, seconds. */
static double machine_busy(void)
{
	unsigned long long v[8] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
			   &v[4], &v[5], &v[6], &v[7]) : 0;
	if (f != NULL)
		fclose(f);
	if (n < 8)
		return 0;
	/* user nice system [idle iowait] irq softirq steal */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static void cpu_snap(int broker_pid, cpu_snap_t *s)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", broker_pid);
	s->at = (double)bench_now_ns() / 1e9;
	s->machine_busy = machine_busy();
	s->broker = broker_pid > 0 ? proc_cpu(path) : 0;
	s->self = proc_cpu("/proc/self/stat");
}

/* ---- the load loop ---- */

typedef struct {
	CURL *h;
	buf_t resp;
	char *owned; /* an inline-signed body, freed when the request ends */
	uint64_t started;
} slot_t;

typedef struct {
	CURLM *m;
	const char *endpoint;
	pool_t *pool;
	const ident_t *ids;
	int n_ids;
	uint64_t win_start, win_end;
	int broker_pid, snaps; /* snaps: 0 before the window, 1 inside, 2 after */
	cpu_snap_t cpu[2];
	uint64_t *lat;
	size_t n_lat, cap_lat, errors, reported;
	struct curl_slist *headers;
} load_t;

static const char *next_body(load_t *L, slot_t *s)
{
	pool_t *p = L->pool;
	if (p->next < p->n)
		return p->body[p->next++];
	p->inline_signed++;
	s->owned = assertion_body(&L->ids[p->inline_signed % (size_t)L->n_ids], L->endpoint);
	return s->owned;
}

static int slot_start(load_t *L, slot_t *s)
{
	const char *body = next_body(L, s);
	if (body == NULL)
		return -1;
	s->resp.n = 0;
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	s->started = bench_now_ns();
	return curl_multi_add_handle(L->m, s->h) == CURLM_OK ? 0 : -1;
}

static int slot_init(load_t *L, slot_t *s)
{
	memset(s, 0, sizeof *s);
	if ((s->h = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(s->h, CURLOPT_URL, L->endpoint);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, L->headers);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, &s->resp);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(s->h, CURLOPT_TCP_NODELAY, 1L);
	return 0;
}

static void record(load_t *L, uint64_t ns)
{
	if (L->n_lat == L->cap_lat) {
		size_t cap = L->cap_lat ? 2 * L->cap_lat : 65536;
		uint64_t *g = realloc(L->lat, cap * sizeof *g);
		if (g == NULL)
			return;
		L->lat = g;
		L->cap_lat = cap;
	}
	L->lat[L->n_lat++] = ns;
}

/* One finished request: check it, count it, start the next unless done. */
static void finished(load_t *L, CURL *h, CURLcode cc, uint64_t now, bool more)
{
	slot_t *s = NULL;
	long status = 0;
	curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&s);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(L->m, h);
	bool ok = cc == CURLE_OK && status == 200 && s->resp.p != NULL &&
		  strstr(s->resp.p, "\"access_token\"") != NULL;
	if (!ok) {
		L->errors++;
		if (L->reported++ < 3)
			fprintf(stderr, "issue_bench: error: curl %d, HTTP %ld: %.200s\n", (int)cc, status,
				s->resp.p && s->resp.n ? s->resp.p : "");
	} else if (now >= L->win_start && now < L->win_end) {
		record(L, now - s->started);
	}
	free(s->owned);
	s->owned = NULL;
	if (more && slot_start(L, s) != 0)
		L->errors++;
}

static void drain_messages(load_t *L, bool more)
{
	CURLMsg *msg;
	int left;
	uint64_t now = bench_now_ns();
	while ((msg = curl_multi_info_read(L->m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			finished(L, msg->easy_handle, msg->data.result, now, more);
}

/* Runs warm-up + window with c connections; in-flight requests at the end
 * are completed (and checked) but not counted. */
static int run_load(load_t *L, int c, double warmup, double duration)
{
	slot_t *slots = calloc((size_t)c, sizeof *slots);
	int running = 0, rc = 0;
	if (slots == NULL)
		return -1;
	L->win_start = bench_now_ns() + (uint64_t)(warmup * 1e9);
	L->win_end = L->win_start + (uint64_t)(duration * 1e9);
	for (int i = 0; i < c && rc == 0; i++)
		rc = slot_init(L, &slots[i]) == 0 && slot_start(L, &slots[i]) == 0 ? 0 : -1;
	do {
		uint64_t now = bench_now_ns();
		bool more = now < L->win_end;
		if (L->snaps < 2 && now >= (L->snaps ? L->win_end : L->win_start))
			cpu_snap(L->broker_pid, &L->cpu[L->snaps++]);
		curl_multi_perform(L->m, &running);
		drain_messages(L, more);
		curl_multi_perform(L->m, &running);
		if (running > 0)
			curl_multi_poll(L->m, NULL, 0, 100, NULL);
	} while (rc == 0 && running > 0);
	for (int i = 0; i < c; i++) {
		curl_multi_remove_handle(L->m, slots[i].h);
		curl_easy_cleanup(slots[i].h);
		free(slots[i].resp.p);
		free(slots[i].owned);
	}
	free(slots);
	return rc;
}

/* ---- phases ---- */

static int run_phase(const opts_t *o, const char *endpoint, const ident_t *ids, int c, result_t *r)
{
	pool_t pool;
	/* Enough for 10k tokens/s over warm-up and window; the rest is signed inline. */
	size_t n = (size_t)((o->warmup + o->duration) * 10000);
	load_t L = {.endpoint = endpoint, .pool = &pool, .ids = ids, .n_ids = o->n_ids,
		    .broker_pid = o->broker_pid};
	memset(r, 0, sizeof *r);
	if (pool_fill(&pool, n, ids, o->n_ids, endpoint) != 0 || (L.m = curl_multi_init()) == NULL)
		return -1;
	curl_multi_setopt(L.m, CURLMOPT_MAXCONNECTS, (long)(2 * c));
	L.headers = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
	L.headers = curl_slist_append(L.headers, "Expect:");
	int rc = run_load(&L, c, o->warmup, o->duration);
	bench_sort_u64(L.lat, L.n_lat);
	double w = L.cpu[1].at - L.cpu[0].at > 0 ? L.cpu[1].at - L.cpu[0].at : o->duration;
	double broker = (L.cpu[1].broker - L.cpu[0].broker) / w; /* < 0 if it died */
	broker = broker > 0 ? broker : 0;
	double self = (L.cpu[1].self - L.cpu[0].self) / w;
	double busy = (L.cpu[1].machine_busy - L.cpu[0].machine_busy) / w;
	*r = (result_t){.clients = c, .tokens_per_s = (double)L.n_lat / o->duration,
			.p50_ns = bench_quantile_u64(L.lat, L.n_lat, 0.50),
			.p99_ns = bench_quantile_u64(L.lat, L.n_lat, 0.99), .ok = L.n_lat,
			.errors = L.errors, .pregenerated = pool.n, .inline_signed = pool.inline_signed,
			.cpu_broker = broker, .cpu_client = self,
			.cpu_other = busy - broker - self > 0 ? busy - broker - self : 0};
	if (L.snaps < 2)
		rc = -1;
	curl_slist_free_all(L.headers);
	curl_multi_cleanup(L.m);
	free(L.lat);
	pool_free(&pool);
	return rc;
}

/* Tollgate: the policy, then the identities with new keys. */
static int setup_tollgate(const opts_t *o, const char *admin, ident_t *ids)
{
	if (install_policy(o->base, admin) != 0)
		return -1;
	for (int i = 0; i < o->n_ids; i++)
		if (create_identity(o->base, admin, i, &ids[i]) != 0)
			return -1;
	return 0;
}

static int run_all(const opts_t *o)
{
	char admin[128], endpoint[512];
	ident_t *ids = calloc((size_t)o->n_ids, sizeof *ids);
	FILE *out = fopen(o->out, "a");
	int rc = -1;
	if (ids == NULL || out == NULL || token_endpoint(o->base, endpoint, sizeof endpoint) != 0 ||
	    (o->keys_file == NULL && read_token(o->token_file, admin, sizeof admin) != 0)) {
		fprintf(stderr, "issue_bench: setup failed (results file, admin token, metadata)\n");
		goto done;
	}
	if (o->keys_file != NULL ? read_clients(o->keys_file, o->n_ids, ids) != 0 : setup_tollgate(o, admin, ids) != 0)
		goto done;
	for (int p = 0; p < o->n_phases; p++) {
		result_t r;
		if (run_phase(o, endpoint, ids, o->clients[p], &r) != 0)
			goto done;
		fprintf(stderr, "issue_bench: %s c=%d: %.0f tokens/s p50 %.2f ms p99 %.2f ms errors %zu\n",
			o->label, r.clients, r.tokens_per_s, r.p50_ns / 1e6, r.p99_ns / 1e6, r.errors);
		fprintf(out, "%s %d %.1f %llu %llu %zu %zu %zu %zu %.1f %.2f %.2f %.2f\n", o->label,
			r.clients, r.tokens_per_s, (unsigned long long)r.p50_ns,
			(unsigned long long)r.p99_ns, r.ok, r.errors, r.pregenerated, r.inline_signed,
			o->duration, r.cpu_broker, r.cpu_client, r.cpu_other);
	}
	rc = 0;
done:
	if (out != NULL)
		fclose(out);
	sodium_memzero(ids, (size_t)o->n_ids * sizeof *ids);
	free(ids);
	return rc;
}

/* ---- report ---- */

typedef struct {
	char label[64];
	int clients;
	double tps, dur, cpu_server, cpu_client, cpu_other;
	unsigned long long p50, p99;
	size_t ok, err, pre, inl;
} row_t;

/* One label and client count over its rounds: the median tokens/s and the
 * round nearest to it (whose latencies and CPU are shown). */
typedef struct {
	const row_t *median_round;
	double median_tps;
	char rounds[200];
	size_t errors, inline_signed;
} summary_t;

static int read_rows(const char *path, row_t *rows, int cap)
{
	FILE *f = fopen(path, "r");
	int n = 0;
	if (f == NULL)
		return -1;
	while (n < cap) {
		row_t *r = &rows[n];
		if (fscanf(f, "%63s %d %lf %llu %llu %zu %zu %zu %zu %lf %lf %lf %lf", r->label, &r->clients,
			   &r->tps, &r->p50, &r->p99, &r->ok, &r->err, &r->pre, &r->inl, &r->dur, &r->cpu_server,
			   &r->cpu_client, &r->cpu_other) != 13)
			break;
		n++;
	}
	fclose(f);
	return n;
}

/* false when no row has label and clients. */
static bool summarize(const row_t *rows, int n, const char *label, int clients, summary_t *out)
{
	double tps[MAX_ROWS];
	int k = 0;
	size_t used = 0;
	memset(out, 0, sizeof *out);
	for (int i = 0; i < n; i++) {
		if (strcmp(rows[i].label, label) != 0 || rows[i].clients != clients)
			continue;
		tps[k++] = rows[i].tps;
		out->errors += rows[i].err;
		out->inline_signed += rows[i].inl;
		used += (size_t)snprintf(out->rounds + used, used < sizeof out->rounds ? sizeof out->rounds - used : 0,
					 "%s%.0f", k > 1 ? " / " : "", rows[i].tps);
	}
	if (k == 0)
		return false;
	out->median_tps = bench_median(tps, (size_t)k);
	for (int i = 0; i < n; i++)
		if (strcmp(rows[i].label, label) == 0 && rows[i].clients == clients &&
		    (out->median_round == NULL ||
		     fabs(rows[i].tps - out->median_tps) < fabs(out->median_round->tps - out->median_tps)))
			out->median_round = &rows[i];
	return true;
}

/* Whether (label, clients) first appears at row i. */
static bool first_of_group(const row_t *rows, int i)
{
	for (int j = 0; j < i; j++)
		if (strcmp(rows[j].label, rows[i].label) == 0 && rows[j].clients == rows[i].clients)
			return false;
	return true;
}

static void print_rows(const row_t *rows, int n)
{
	printf("| server (configuration) | clients | tokens/s (median) | every round | p50 ms | p99 ms | errors (non-200) "
	       "| assertions pre-generated / signed inline | CPU cores: server / load generator / other "
	       "| server CPU per token |\n"
	       "|---|---:|---:|---|---:|---:|---:|---|---|---:|\n");
	for (int i = 0; i < n; i++) {
		summary_t m;
		if (!first_of_group(rows, i) || !summarize(rows, n, rows[i].label, rows[i].clients, &m))
			continue;
		const row_t *r = m.median_round;
		printf("| %s | %d | %.0f | %s | %.2f | %.2f | %zu | %zu / %zu | %.2f / %.2f / %.2f | %.0f µs |\n",
		       r->label, r->clients, m.median_tps, m.rounds, r->p50 / 1e6, r->p99 / 1e6, m.errors, r->pre,
		       m.inline_signed, r->cpu_server, r->cpu_client, r->cpu_other,
		       r->tps > 0 ? r->cpu_server * 1e6 / r->tps : 0.0);
	}
}

/* Tollgate's median against the peer's, per client count both have. */
static void print_ratios(const row_t *rows, int n, const char *peer)
{
	printf("\n| clients | Tollgate (" TOLLGATE_LABEL ") tokens/s | %s tokens/s | ratio of medians "
	       "| p50 ms: Tollgate / %s | p99 ms: Tollgate / %s |\n|---:|---:|---:|---:|---|---|\n",
	       peer, peer, peer);
	for (int i = 0; i < n; i++) {
		summary_t t, p;
		if (strcmp(rows[i].label, TOLLGATE_LABEL) != 0 || !first_of_group(rows, i) ||
		    !summarize(rows, n, TOLLGATE_LABEL, rows[i].clients, &t) ||
		    !summarize(rows, n, peer, rows[i].clients, &p))
			continue;
		printf("| %d | %.0f | %.0f | %.2f× | %.2f / %.2f | %.2f / %.2f |\n", rows[i].clients, t.median_tps,
		       p.median_tps, p.median_tps > 0 ? t.median_tps / p.median_tps : 0.0,
		       t.median_round->p50 / 1e6, p.median_round->p50 / 1e6, t.median_round->p99 / 1e6,
		       p.median_round->p99 / 1e6);
	}
}

static const char *verdict(bool met)
{
	return met ? "met" : "**missed**";
}

/* The bars of docs/architecture.md on the full+audit rows. */
static void print_bars(const row_t *rows, int n, const char *peer, double bar)
{
	printf("\nBars (durable, with audit):\n\n");
	for (int i = 0; i < n; i++) {
		summary_t t, p;
		if (strcmp(rows[i].label, TOLLGATE_LABEL) != 0 || !first_of_group(rows, i) ||
		    !summarize(rows, n, TOLLGATE_LABEL, rows[i].clients, &t))
			continue;
		int c = rows[i].clients;
		const row_t *r = t.median_round;
		if (summarize(rows, n, peer, c, &p) && p.median_tps > 0)
			printf("- %d clients: %.2f× %s's tokens/s (bar ≥ 2×: %s)\n", c, t.median_tps / p.median_tps,
			       peer, verdict(t.median_tps >= 2 * p.median_tps));
		if (c == 64) {
			printf("- 64 clients: %.0f tokens/s with the broker on %.2f cores (bar ≥ %.0f tokens/s on ≥ 1.6 "
			       "cores: %s)\n", t.median_tps, r->cpu_server, bar,
			       verdict(t.median_tps >= bar && r->cpu_server >= 1.6));
			printf("- 64 clients: p99 %.1f ms (bar: no worse than before issue 14's fix, ≤ %.0f ms: %s)\n",
			       r->p99 / 1e6, P99_BAR_MS, verdict(r->p99 / 1e6 <= P99_BAR_MS));
		}
		printf("- %d clients: %zu errors in all rounds (bar 0: %s)\n", c, t.errors, verdict(t.errors == 0));
	}
}

static int print_report(const char *path, double bar, const char *peer)
{
	static row_t rows[MAX_ROWS];
	int n = read_rows(path, rows, MAX_ROWS);
	if (n < 0)
		return -1;
	print_rows(rows, n);
	print_ratios(rows, n, peer);
	print_bars(rows, n, peer, bar);
	return 0;
}

/* ---- main ---- */

static int parse_clients(const char *s, opts_t *o)
{
	char *end;
	o->n_phases = 0;
	while (*s != '\0' && o->n_phases < MAX_PHASES) {
		long v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > MAX_CLIENTS)
			return -1;
		o->clients[o->n_phases++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return o->n_phases > 0 ? 0 : -1;
}

static int parse_opts(int argc, char **argv, opts_t *o)
{
	int ch;
	*o = (opts_t){.label = "full", .n_ids = 32, .duration = 10, .warmup = 2, .bar = 6000,
		      .clients = {16, 64}, .n_phases = 2, .peer = "oidc-provider"};
	while ((ch = getopt(argc, argv, "u:t:l:c:d:w:i:o:R:b:p:G:K:P:")) != -1) {
		switch (ch) {
		case 'u': o->base = optarg; break;
		case 't': o->token_file = optarg; break;
		case 'l': o->label = optarg; break;
		case 'c': if (parse_clients(optarg, o) != 0) return -1; break;
		case 'd': o->duration = atof(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 'i': o->n_ids = atoi(optarg); break;
		case 'o': o->out = optarg; break;
		case 'R': o->report = optarg; break;
		case 'b': o->bar = atof(optarg); break;
		case 'p': o->broker_pid = atoi(optarg); break;
		case 'G': o->gen_file = optarg; break;
		case 'K': o->keys_file = optarg; break;
		case 'P': o->peer = optarg; break;
		default: return -1;
		}
	}
	if (o->report != NULL || o->gen_file != NULL)
		return o->n_ids >= 1 && o->n_ids <= 1000 ? 0 : -1;
	if (o->base == NULL || (o->token_file == NULL && o->keys_file == NULL) || o->out == NULL || o->duration <= 0 ||
	    o->warmup < 0 || o->warmup + o->duration > ASSERTION_TTL - 10 || o->n_ids < 1 ||
	    o->n_ids > 1000 || strchr(o->label, ' ') != NULL)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	opts_t o;
	if (parse_opts(argc, argv, &o) != 0) {
		fprintf(stderr, "usage: issue_bench -u BASE_URL {-t ADMIN_TOKEN_FILE | -K CLIENTS_FILE} -o RESULTS "
				"[-l LABEL] [-c 16,64] [-d SECONDS] [-w SECONDS] [-i IDENTITIES] [-p SERVER_PID]\n"
				"       issue_bench -G CLIENTS_FILE [-i IDENTITIES]\n"
				"       issue_bench -R RESULTS [-b TOKENS_PER_S] [-P PEER_LABEL]\n");
		return 2;
	}
	if (o.report != NULL)
		return print_report(o.report, o.bar, o.peer) == 0 ? 0 : 1;
	if (sodium_init() < 0)
		return 1;
	if (o.gen_file != NULL)
		return write_clients(o.gen_file, o.n_ids) == 0 ? 0 : 1;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	int rc = run_all(&o);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}
