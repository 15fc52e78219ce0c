/* audit.c - `tollgate audit`: tail, trace, verify and export the audit
 * chain. Verification runs here, in the client, with core/audit.c against
 * the published audit key, so it trusts nothing the broker says about
 * itself beyond the public key (which can also be given as a file). */
#include "cli/cli.h"
#include "core/audit.h"
#include "core/ocsf.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char audit_usage[] =
	"Usage: tollgate audit <command> [options]\n"
	"\n"
	"  tail [-n N] [-f]        the last N records (default 20); -f keeps following\n"
	"  trace --identity ID | --jti JTI | --grant ID\n"
	"                          a readable timeline: what was issued, used, refused,\n"
	"                          revoked, in order, with reasons\n"
	"  verify [--file F] [--keys JWKS]\n"
	"                          checks the chain: every hash, every link, every signed\n"
	"                          checkpoint. Without --file it reads the broker's log.\n"
	"                          --keys: the audit public keys (default: the broker's\n"
	"                          /.well-known/tollgate-audit-keys.json). Exit 0 with the\n"
	"                          count and last checkpoint, 1 naming the first record\n"
	"                          that does not fit and why.\n"
	"  export [--format jsonl|ocsf] [--since TIME] [--out F]\n"
	"                          JSON lines (records, and {\"checkpoint\": ...} lines after\n"
	"                          the record each names) for offline verification with\n"
	"                          `tollgate audit verify --file F` or docs/audit_verify.py.\n"
	"                          ocsf: one OCSF 1.1 event per record (the record kept in\n"
	"                          unmapped.tollgate_record, so it verifies too).\n"
	"                          --since TIME (RFC 3339 UTC, e.g. 2026-11-28T00:00:00Z)\n"
	"                          starts at the newest checkpoint at or before TIME, so\n"
	"                          the export verifies on its own.\n"
	"\n"
	"Needs TOLLGATE_ADDR and TOLLGATE_TOKEN (admin).\n";

/* ---- reading pages ---- */

typedef struct {
	const char *path;   /* "/v1/audit" or "/v1/audit/checkpoints" */
	const char *member; /* "records" or "checkpoints" */
	char filter[1024];  /* extra query, URL-encoded, starting with '&' or "" */
	long long after;
	json_t *page;
	size_t index;
	bool done;
} cursor_t;

static void cursor_init(cursor_t *c, const char *path, const char *member, const char *filter)
{
	memset(c, 0, sizeof *c);
	c->path = path;
	c->member = member;
	snprintf(c->filter, sizeof c->filter, "%s", filter ? filter : "");
}

/* Next item (borrowed until the next call), NULL at the end; *err on failure. */
static const json_t *cursor_next(cursor_t *c, bool *err)
{
	char path[1400];
	for (;;) {
		json_t *items = json_object_get(c->page, c->member);
		if (c->index < json_array_size(items))
			return json_array_get(items, c->index++);
		if (c->done)
			return NULL;
		json_decref(c->page);
		snprintf(path, sizeof path, "%s?limit=1000&after=%lld%s", c->path, c->after, c->filter);
		c->page = cli_api("GET", path, NULL);
		c->index = 0;
		if (c->page == NULL) {
			*err = true;
			return NULL;
		}
		items = json_object_get(c->page, c->member);
		if (json_array_size(items) > 0)
			c->after = (long long)json_integer_value(
				json_object_get(json_array_get(items, json_array_size(items) - 1), "seq"));
		c->done = json_is_null(json_object_get(c->page, "next"));
	}
}

static void cursor_free(cursor_t *c)
{
	json_decref(c->page);
	c->page = NULL;
}

/* ---- printing ---- */

static void print_details(const json_t *details)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)details, k, v) {
		if (json_is_string(v) && json_string_length(v) <= 80)
			printf(" %s=%s", k, json_string_value(v));
		else if (json_is_integer(v))
			printf(" %s=%" JSON_INTEGER_FORMAT, k, json_integer_value(v));
	}
}

static const char *str(const json_t *r, const char *k)
{
	const char *s = json_string_value(json_object_get(r, k));
	return s ? s : "-";
}

static void print_record(const json_t *r)
{
	char time[20];
	snprintf(time, sizeof time, "%s", str(r, "time"));
	printf("%sZ #%-6" JSON_INTEGER_FORMAT " %-20s %-16s %-5s", time,
	       json_integer_value(json_object_get(r, "seq")), str(r, "type"), str(r, "actor"),
	       json_is_string(json_object_get(r, "decision")) ? str(r, "decision") : "");
	if (json_is_string(json_object_get(r, "resource")))
		printf(" resource=%s", str(r, "resource"));
	if (json_is_string(json_object_get(r, "jti")))
		printf(" jti=%s", str(r, "jti"));
	const json_t *pols = json_object_get(r, "policies");
	if (json_array_size(pols) > 0) {
		size_t i;
		json_t *v;
		printf(" policies=");
		json_array_foreach(pols, i, v)
			printf("%s%s", i ? "," : "", json_is_string(v) ? json_string_value(v) : "?");
	}
	print_details(json_object_get(r, "details"));
	printf("\n");
}

/* ---- tail ---- */

static int tail(int n, bool follow)
{
	cursor_t c;
	bool err = false;
	json_t *ring = json_array();
	const json_t *r;
	cursor_init(&c, "/v1/audit", "records", NULL);
	while ((r = cursor_next(&c, &err)) != NULL) {
		json_array_append(ring, (json_t *)r);
		if (json_array_size(ring) > (size_t)n)
			json_array_remove(ring, 0);
	}
	size_t i;
	json_t *v;
	json_array_foreach(ring, i, v)
		print_record(v);
	json_decref(ring);
	fflush(stdout);
	while (follow && !err) {
		sleep(1);
		c.done = false;
		while ((r = cursor_next(&c, &err)) != NULL)
			print_record(r);
		fflush(stdout);
	}
	cursor_free(&c);
	return err ? 1 : 0;
}

/* ---- trace ---- */

static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void collect(json_t *into, const char *filter_name, const char *value, bool *err)
{
	char filter[600];
	cursor_t c;
	const json_t *r;
	char *e = cli_urlencode(value);
	snprintf(filter, sizeof filter, "&%s=%s", filter_name, e ? e : "");
	free(e);
	cursor_init(&c, "/v1/audit", "records", filter);
	while ((r = cursor_next(&c, err)) != NULL) {
		char key[32];
		snprintf(key, sizeof key, "%020" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(r, "seq")));
		json_object_set(into, key, (json_t *)r);
	}
	cursor_free(&c);
}

static int trace(const char *identity, const char *jti, const char *grant)
{
	bool err = false;
	json_t *by_seq = json_object();
	char res[300];
	if (identity != NULL) {
		snprintf(res, sizeof res, "Identity:%s", identity);
		collect(by_seq, "actor", identity, &err);
		collect(by_seq, "resource", res, &err);
		/* What happened to its tokens later (revocations, refusals). */
		json_t *issued = json_deep_copy(by_seq);
		const char *k;
		json_t *r;
		json_object_foreach(issued, k, r)
			if (json_is_string(json_object_get(r, "jti")))
				collect(by_seq, "jti", json_string_value(json_object_get(r, "jti")), &err);
		json_decref(issued);
	}
	if (jti != NULL)
		collect(by_seq, "jti", jti, &err);
	if (grant != NULL)
		collect(by_seq, "grant", grant, &err);
	if (!err && json_object_size(by_seq) == 0)
		printf("no audit records match\n");
	/* Keys are zero-padded seqs: iterate in sorted order. */
	size_t n = json_object_size(by_seq), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof *keys);
	const char *k;
	json_t *v;
	json_object_foreach(by_seq, k, v)
		keys[i++] = k;
	qsort(keys, n, sizeof *keys, by_string);
	for (i = 0; i < n; i++)
		print_record(json_object_get(by_seq, keys[i]));
	free(keys);
	json_decref(by_seq);
	return err ? 1 : 0;
}

/* ---- verify and export: one merged stream of records and checkpoints ---- */

typedef int (*item_fn)(void *ctx, const json_t *item, bool is_checkpoint);

/* Walks the broker's records and checkpoints in seq order, each checkpoint
 * right after the record it names (or after the last record when it names
 * a later one, so that the verifier can report the cut tail). */
/* The seq an export from `since` starts at: the newest checkpoint at or
 * before that time, so the exported log starts at a signed record and
 * verifies on its own (1 when there is none). */
static long long anchor_for(const char *since, bool *err)
{
	cursor_t cps;
	const json_t *cp;
	long long anchor = 1;
	char bound[AUDIT_TIME_LEN];
	snprintf(bound, sizeof bound, "%.19s.999999Z", since); /* times carry microseconds */
	cursor_init(&cps, "/v1/audit/checkpoints", "checkpoints", NULL);
	while ((cp = cursor_next(&cps, err)) != NULL) {
		const char *t = json_string_value(json_object_get(cp, "time"));
		if (t == NULL || strcmp(t, bound) > 0)
			break;
		anchor = (long long)json_integer_value(json_object_get(cp, "seq"));
	}
	cursor_free(&cps);
	return anchor;
}

/* Walks the broker's records and checkpoints in seq order, each checkpoint
 * right after the record it names (or after the last record when it names
 * a later one, so that the verifier can report the cut tail). */
static int walk_broker(const char *since, item_fn fn, void *ctx)
{
	cursor_t recs, cps;
	bool err = false;
	const json_t *r, *cp;
	int rc = 0;
	long long first = since != NULL ? anchor_for(since, &err) : 0;
	cursor_init(&recs, "/v1/audit", "records", NULL);
	recs.after = first > 0 ? first - 1 : 0;
	cursor_init(&cps, "/v1/audit/checkpoints", "checkpoints", NULL);
	cps.after = recs.after;
	cp = cursor_next(&cps, &err);
	while (rc == 0 && (r = cursor_next(&recs, &err)) != NULL) {
		long long seq = (long long)json_integer_value(json_object_get(r, "seq"));
		rc = fn(ctx, r, false);
		while (rc == 0 && cp != NULL && json_integer_value(json_object_get(cp, "seq")) <= seq) {
			rc = fn(ctx, cp, true);
			cp = cursor_next(&cps, &err);
		}
	}
	while (rc == 0 && cp != NULL) {
		rc = fn(ctx, cp, true);
		cp = cursor_next(&cps, &err);
	}
	cursor_free(&recs);
	cursor_free(&cps);
	return err ? -1 : rc;
}

/* Verifies an export file line by line: records, {"checkpoint": ...}
 * lines and OCSF events (their unmapped.tollgate_record). */
static int verify_file(const char *path, audit_verifier_t *v)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	int rc = 0;
	if (f == NULL) {
		fprintf(stderr, "tollgate audit: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		lineno++;
		json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
		const json_t *ocsf = json_object_get(j, "unmapped");
		if (!json_is_object(j)) {
			v->error_seq = v->last_seq + 1;
			snprintf(v->error, sizeof v->error, "line %ld is not a JSON object", lineno);
			rc = -1;
		} else if (json_object_get(j, "checkpoint") != NULL) {
			rc = audit_verify_checkpoint(v, json_object_get(j, "checkpoint"));
		} else {
			rc = audit_verify_record(v, ocsf ? json_object_get(ocsf, "tollgate_record") : j);
		}
		json_decref(j);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int verify_item(void *ctx, const json_t *item, bool is_checkpoint)
{
	audit_verifier_t *v = ctx;
	return is_checkpoint ? audit_verify_checkpoint(v, item) : audit_verify_record(v, item);
}

/* The audit JWKS from file, or from the broker; NULL after saying why. */
static json_t *load_jwks(const char *file)
{
	json_error_t e;
	json_t *jwks = NULL;
	if (file != NULL) {
		if ((jwks = json_load_file(file, 0, &e)) == NULL && json_error_code(&e) == json_error_cannot_open_file)
			fprintf(stderr, "tollgate audit: cannot read %s: %s\n", file, strerror(errno));
		else if (jwks == NULL)
			fprintf(stderr, "tollgate audit: %s is not a JWKS: %s%s\n", file, e.text,
				e.position == 0 ? " (the file is empty: fetch the keys from the broker again)" : "");
		return jwks;
	}
	cli_response_t r;
	if (cli_http("GET", "/.well-known/tollgate-audit-keys.json", NULL, NULL, NULL, &r) != 0)
		return NULL;
	jwks = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
	if (jwks == NULL)
		fprintf(stderr, "tollgate audit: the broker at %s did not send its audit keys (HTTP %ld)\n",
			cli_addr(), r.status);
	cli_response_free(&r);
	return jwks;
}

/* Audit public keys from a JWKS file or the broker. */
static size_t load_keys(const char *file, audit_key_t *keys, size_t cap)
{
	size_t n = 0, i;
	json_t *k, *jwks = load_jwks(file);
	const char *why = NULL;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *kid = json_string_value(json_object_get(k, "kid"));
		if (n < cap && kid != NULL && ed_pk_from_jwk(k, keys[n].pk, &why) == 0) {
			snprintf(keys[n].kid, sizeof keys[n].kid, "%s", kid);
			n++;
		}
	}
	if (jwks != NULL && n == 0)
		fprintf(stderr, "tollgate audit: %s has no Ed25519 key with a kid in \"keys\"%s%s\n",
			file ? file : "the broker's audit JWKS", why ? ": " : "", why ? why : "");
	json_decref(jwks);
	return n;
}

static int verify(const char *file, const char *keys_file)
{
	audit_key_t keys[16];
	audit_verifier_t v;
	size_t n = load_keys(keys_file, keys, 16);
	if (n == 0) {
		fprintf(stderr, "tollgate audit verify: no audit public key: give --keys JWKS_FILE, or set "
				"TOLLGATE_ADDR to the broker\n");
		return 2;
	}
	audit_verify_init(&v, keys, n);
	int rc = file ? verify_file(file, &v) : walk_broker(NULL, verify_item, &v);
	int done = audit_verify_finish(&v);
	if (rc < 0 && v.error[0] == '\0')
		return 2;
	if (rc != 0 || done != 0) {
		printf("FAILED at seq %lld: %s\n", (long long)v.error_seq, v.error);
		return 1;
	}
	printf("ok: %lld records (seq %lld to %lld), %lld checkpoints, last checkpoint at seq %lld\n",
	       (long long)v.records, (long long)v.first_seq, (long long)v.last_seq,
	       (long long)v.checkpoints, (long long)v.last_checkpoint_seq);
	if (v.last_checkpoint_seq < v.last_seq)
		printf("note: records after seq %lld are not yet covered by a signed checkpoint\n",
		       (long long)v.last_checkpoint_seq);
	return 0;
}

typedef struct {
	FILE *out;
	bool ocsf;
} export_t;

static int export_item(void *ctx, const json_t *item, bool is_checkpoint)
{
	const export_t *x = ctx;
	FILE *out = x->out;
	json_t *line = is_checkpoint ? json_pack("{s:O}", "checkpoint", item)
		     : x->ocsf ? ocsf_from_record(item) : json_incref((json_t *)item);
	int rc = json_dumpf(line, out, JSON_COMPACT) == 0 && fputc('\n', out) != EOF ? 0 : -1;
	json_decref(line);
	return rc;
}

static int export(const char *since, const char *out_path, bool ocsf)
{
	FILE *out = out_path ? fopen(out_path, "we") : stdout;
	if (out == NULL) {
		fprintf(stderr, "tollgate audit: cannot write %s: %s\n", out_path, strerror(errno));
		return 1;
	}
	export_t x = {out, ocsf};
	int rc = walk_broker(since, export_item, &x);
	if (out != stdout && fclose(out) != 0)
		rc = -1;
	return rc == 0 ? 0 : 1;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option longs[] = {
		{"identity", required_argument, NULL, 'i'}, {"jti", required_argument, NULL, 'j'},
		{"grant", required_argument, NULL, 'g'}, {"file", required_argument, NULL, 'F'},
		{"keys", required_argument, NULL, 'K'}, {"since", required_argument, NULL, 's'},
		{"out", required_argument, NULL, 'o'}, {"format", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *sub = argc > 1 ? argv[1] : "", *identity = NULL, *jti = NULL, *grant = NULL;
	const char *file = NULL, *keys = NULL, *since = NULL, *out = NULL, *format = "jsonl";
	int ch, n = 20;
	bool follow = false;
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(audit_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "fn:", longs, NULL)) != -1) {
		switch (ch) {
		case 'f': follow = true; break;
		case 'n': n = atoi(optarg) > 0 ? atoi(optarg) : 20; break;
		case 'i': identity = optarg; break;
		case 'j': jti = optarg; break;
		case 'g': grant = optarg; break;
		case 'F': file = optarg; break;
		case 'K': keys = optarg; break;
		case 's': since = optarg; break;
		case 'o': out = optarg; break;
		case 'm': format = optarg; break;
		case 'h': fputs(audit_usage, stdout); return 0;
		default: return cli_bad_option(NULL);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "tollgate audit: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (strcmp(sub, "tail") == 0)
		return tail(n, follow);
	if (strcmp(sub, "trace") == 0) {
		if ((identity != NULL) + (jti != NULL) + (grant != NULL) != 1) {
			fprintf(stderr, "tollgate audit trace: give one of --identity, --jti, --grant\n");
			return 2;
		}
		return trace(identity, jti, grant);
	}
	if (strcmp(sub, "verify") == 0)
		return verify(file, keys);
	if (strcmp(sub, "export") == 0) {
		if (strcmp(format, "jsonl") != 0 && strcmp(format, "ocsf") != 0) {
			fprintf(stderr, "tollgate audit export: --format is jsonl or ocsf\n");
			return 2;
		}
		return export(since, out, strcmp(format, "ocsf") == 0);
	}
	return cli_unknown_command(sub, (const char *const[]){"tail", "trace", "verify", "export", NULL});
}
