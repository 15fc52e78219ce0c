/* client.c - the CLI's HTTP client (libcurl) for the broker and for plain
 * GETs to other URLs (an edge's /auth), and output helpers. Environment:
 * TOLLGATE_ADDR (base URL), TOLLGATE_TOKEN (admin bearer), TOLLGATE_CACERT
 * (CA for an HTTPS broker or edge), TOLLGATE_CLIENT_CERT and
 * TOLLGATE_CLIENT_KEY (mTLS to the broker). */
#include "cli/cli.h"
#include "core/limits.h"
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#define MAX_RESPONSE (96 * 1024 * 1024) /* a whole policy set (32 MiB) as JSON */
#define CLI_TIMEOUT 30L /* seconds for one request (docs/cli.md) */

const char *cli_addr(void)
{
	const char *a = getenv("TOLLGATE_ADDR");
	return a != NULL && a[0] != '\0' ? a : "http://127.0.0.1:8420";
}

char *cli_read_file(const char *path, size_t max, size_t *len)
{
	bool is_stdin = strcmp(path, "-") == 0; /* the stream itself: /dev/stdin may not exist */
	FILE *f = is_stdin ? stdin : fopen(path, "rbe");
	char *buf;
	if (f == NULL) {
		fprintf(stderr, "%s: cannot read %s: %s\n", cli_prefix(), path, strerror(errno));
		return NULL;
	}
	buf = malloc(max + 1);
	*len = buf ? fread(buf, 1, max + 1, f) : 0;
	if (!is_stdin)
		fclose(f);
	if (buf == NULL || *len > max) {
		fprintf(stderr, "%s: %s is larger than %zu bytes\n", cli_prefix(), path, max);
		free(buf);
		return NULL;
	}
	buf[*len] = '\0';
	return buf;
}

char *cli_admin_token(void)
{
	const char *t = getenv("TOLLGATE_TOKEN");
	size_t len = 0;
	if (t != NULL && t[0] != '\0')
		return strdup(t);
	FILE *f = fopen("var/admin.token", "re");
	if (f == NULL)
		return NULL;
	fclose(f);
	char *s = cli_read_file("var/admin.token", 256, &len);
	while (s != NULL && len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
	return s;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	cli_response_t *r = ud;
	size_t add = size * n;
	if (r->len + add > MAX_RESPONSE)
		return 0;
	char *g = realloc(r->body, r->len + add + 1);
	if (g == NULL)
		return 0;
	memcpy(g + r->len, p, add);
	r->body = g;
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

/* A handle for one request to url, collecting the answer into out, with
 * the TLS settings of TOLLGATE_CACERT; NULL when curl cannot make one. */
static CURL *easy_new(const char *url, long timeout_s, cli_response_t *out)
{
	const char *ca = getenv("TOLLGATE_CACERT");
	CURL *c = curl_easy_init();
	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (ca != NULL)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	return c;
}

/* After a performed request: status, content type and a body (at least ""). */
static void collect(CURL *c, cli_response_t *out)
{
	char *type = NULL;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
	out->content_type = type ? strdup(type) : NULL;
	if (out->body == NULL)
		out->body = calloc(1, 1);
}

/* cli_http with a timeout of timeout_s seconds. */
static int broker_http(const char *method, const char *path, const char *content_type, const char *body,
		       const char *const *headers, long timeout_s, cli_response_t *out)
{
	char url[2048], ct[160];
	struct curl_slist *hl = NULL;
	const char *env;
	int rc = -1;
	memset(out, 0, sizeof *out);
	snprintf(url, sizeof url, "%s%s", cli_addr(), path);
	CURL *c = easy_new(url, timeout_s, out);
	if (c == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if ((env = getenv("TOLLGATE_CLIENT_CERT")) != NULL)
		curl_easy_setopt(c, CURLOPT_SSLCERT, env);
	if ((env = getenv("TOLLGATE_CLIENT_KEY")) != NULL)
		curl_easy_setopt(c, CURLOPT_SSLKEY, env);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	if (content_type != NULL) {
		snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
		hl = curl_slist_append(hl, ct);
	}
	for (const char *const *h = headers; h != NULL && *h != NULL; h++)
		hl = curl_slist_append(hl, *h);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		fprintf(stderr, "%s: cannot reach the broker at %s: %s\n"
				"  is `tollgate serve` running? set TOLLGATE_ADDR if it listens elsewhere\n",
			cli_prefix(), cli_addr(), curl_easy_strerror(cr));
	} else {
		collect(c, out);
		rc = 0;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}

int cli_http(const char *method, const char *path, const char *content_type, const char *body,
	     const char *const *headers, cli_response_t *out)
{
	return broker_http(method, path, content_type, body, headers, CLI_TIMEOUT, out);
}

int cli_get_url(const char *url, const char *const *headers, const char *keep_header, long timeout_s,
		cli_response_t *out, char *err, size_t err_len)
{
	struct curl_slist *hl = NULL;
	struct curl_header *h = NULL;
	int rc = -1;
	memset(out, 0, sizeof *out);
	CURL *c = easy_new(url, timeout_s, out);
	if (c == NULL) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	for (const char *const *p = headers; p != NULL && *p != NULL; p++)
		hl = curl_slist_append(hl, *p);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	CURLcode cr = curl_easy_perform(c);
	if (cr != CURLE_OK) {
		snprintf(err, err_len, "%s", curl_easy_strerror(cr));
	} else {
		collect(c, out);
		if (keep_header != NULL && curl_easy_header(c, keep_header, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
			out->header = strdup(h->value);
		rc = 0;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return rc;
}

void cli_response_free(cli_response_t *r)
{
	free(r->body);
	free(r->content_type);
	free(r->header);
	memset(r, 0, sizeof *r);
}

/* The explanation in an error response: problem+json's title and detail,
 * or an OAuth error and its description, with the routes it names turned
 * into CLI commands; malloc'd, NULL when there is none. */
static char *error_text(const cli_response_t *r)
{
	json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
	const char *detail = json_string_value(json_object_get(j, "detail"));
	const char *title = json_string_value(json_object_get(j, "title"));
	char *raw = NULL, *out = NULL;
	if (detail == NULL && title == NULL) {
		title = json_string_value(json_object_get(j, "error"));
		detail = json_string_value(json_object_get(j, "error_description"));
	}
	if ((detail != NULL || title != NULL) &&
	    asprintf(&raw, "%s%s%s", title ? title : "", title && detail ? ": " : "", detail ? detail : "") >= 0)
		out = cli_with_commands(raw);
	free(raw);
	json_decref(j);
	return out;
}

/* The max_age of a step-up challenge (RFC 9470): a 401 whose problem body
 * has a max_age member; -1 for any other response. */
static long long stepup_max_age(const cli_response_t *r)
{
	if (r->status != 401)
		return -1;
	json_t *j = json_loads(r->body ? r->body : "", 0, NULL);
	const json_t *v = json_object_get(j, "max_age");
	long long age = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
	json_decref(j);
	return age;
}

void cli_print_error(const char *what, const cli_response_t *r)
{
	long long max_age = stepup_max_age(r);
	if (max_age >= 0) {
		fprintf(stderr, "%s: this action needs a fresh second factor (MFA at most %lld s old): "
				"run `tollgate login USER` and retry\n",
			cli_prefix(), max_age);
		return;
	}
	char *text = error_text(r);
	fprintf(stderr, "%s: %s failed (HTTP %ld)%s%s\n", cli_prefix(), what, r->status, text ? ": " : "",
		text ? text : "");
	free(text);
	if (r->status == 401 && strstr(what, "token") == NULL && strcmp(what, "login") != 0)
		fprintf(stderr, "  set TOLLGATE_TOKEN to an admin token (dev mode: export "
				"TOLLGATE_TOKEN=$(cat var/admin.token))\n");
}

void cli_print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

json_t *cli_post_secret(const char *what, const char *path, json_t *body, long want)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	cli_response_t r;
	json_t *j = NULL;
	json_decref(body);
	if (text == NULL)
		return NULL;
	int rc = cli_http("POST", path, "application/json", text, NULL, &r);
	sodium_memzero(text, strlen(text));
	free(text);
	if (rc != 0)
		return NULL;
	if (r.status != want)
		cli_print_error(what, &r);
	else if ((j = json_loads(r.body, 0, NULL)) == NULL)
		fprintf(stderr, "%s: the broker sent an unexpected response\n", cli_prefix());
	sodium_memzero(r.body, r.len);
	cli_response_free(&r);
	return j;
}

/* cli_api with a timeout of timeout_s seconds. */
static json_t *api_call(const char *method, const char *path, json_t *body, long timeout_s)
{
	char auth[TG_MAX_JWT_LEN + 32] /* a workload's own access token too */;
	cli_response_t r;
	char *tok = cli_admin_token();
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	const char *hdrs[2] = {auth, NULL};
	json_t *out = NULL;
	json_decref(body);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok ? tok : "");
	if (tok != NULL) {
		sodium_memzero(tok, strlen(tok));
		free(tok);
	}
	int rc = broker_http(method, path, text ? "application/json" : NULL, text, tok ? hdrs : NULL, timeout_s, &r);
	sodium_memzero(auth, sizeof auth);
	free(text);
	if (rc != 0)
		return NULL;
	if (r.status < 200 || r.status > 299) {
		cli_print_error("the request to the broker", &r);
	} else {
		out = r.status == 204 ? json_object() : json_loads(r.body, 0, NULL);
		if (out == NULL)
			fprintf(stderr, "%s: the broker sent a response that is not JSON\n", cli_prefix());
	}
	cli_response_free(&r);
	return out;
}

json_t *cli_api(const char *method, const char *path, json_t *body)
{
	return api_call(method, path, body, CLI_TIMEOUT);
}

json_t *cli_api_held(const char *path, long hold_s)
{
	return api_call("GET", path, NULL, hold_s + CLI_TIMEOUT);
}

json_t *cli_api_all(const char *path, const char *member)
{
	const char *sep = strchr(path, '?') ? "&" : "?";
	json_t *all = json_array();
	char *page_path = strdup(path);
	while (page_path != NULL) {
		json_t *page = cli_api("GET", page_path, NULL);
		free(page_path);
		page_path = NULL;
		if (page == NULL) {
			json_decref(all);
			return NULL;
		}
		json_array_extend(all, json_object_get(page, member));
		const char *next = json_string_value(json_object_get(page, "next"));
		char *e = next ? cli_urlencode(next) : NULL;
		bool oom = next != NULL && (e == NULL || asprintf(&page_path, "%s%safter=%s", path, sep, e) < 0);
		free(e);
		json_decref(page);
		if (oom) {
			fprintf(stderr, "%s: out of memory\n", cli_prefix());
			json_decref(all);
			return NULL;
		}
	}
	return json_pack("{s:o}", member, all);
}

char *cli_urlencode(const char *s)
{
	CURL *c = curl_easy_init();
	char *e = c ? curl_easy_escape(c, s, 0) : NULL;
	char *out = e ? strdup(e) : NULL;
	curl_free(e);
	curl_easy_cleanup(c);
	return out;
}
