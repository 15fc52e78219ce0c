/* token.c - `tollgate token`: obtain an access token with private_key_jwt
 * (and optionally DPoP) so scripts never hand-craft JWTs; inspect a token
 * against the published JWKS; introspect and revoke (--wait and --verify:
 * see the revocation enforced at the edges, cli/enforce.c). */
#include "cli/cli.h"
#include "core/access_token.h"
#include "core/client_assertion.h"
#include "core/client_jwt.h"
#include "core/ed25519_key.h"
#include "core/jws.h"
#include "core/limits.h"
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char token_usage[] =
	"Usage: tollgate token <command> [options]\n"
	"\n"
	"  issue --identity ID --key PATH --scope \"S1 S2\" [--ttl SECONDS] [--dpop]\n"
	"        [--dpop-key PATH] [--kid KID] [--grant GRANT_ID] [--json]\n"
	"      Authenticates as identity ID with its private key (private_key_jwt,\n"
	"      RFC 7523) and prints the access token. --dpop binds the token to a\n"
	"      key (RFC 9449): the identity key, or --dpop-key. --json prints the\n"
	"      whole token response. --kid names the registered key when it was\n"
	"      registered under its own kid (default: the key's RFC 7638 thumbprint).\n"
	"      --grant names the just-in-time grant to issue under (`tollgate grant`);\n"
	"      without it the broker uses the identity's active grant that covers\n"
	"      the scope when a permit needs one.\n"
	"  exchange SUBJECT_TOKEN|- --identity ID --key PATH [--scope \"S1 S2\"]\n"
	"        [--ttl SECONDS] [--dpop] [--dpop-key PATH] [--kid KID] [--json]\n"
	"      Delegation (RFC 8693 token exchange): identity ID (an agent) acts for\n"
	"      the subject of SUBJECT_TOKEN and prints a token for that subject\n"
	"      whose act claim names ID. The scope (default: the subject token's)\n"
	"      must lie within the subject token's and be permitted to ID itself.\n"
	"  inspect TOKEN|-\n"
	"      Decodes the token, checks its signature against the broker's JWKS\n"
	"      and its lifetime. Exit 0 only when it verifies and has not expired.\n"
	"  introspect TOKEN|- [--identity ID --key PATH [--kid KID]]\n"
	"      Asks the broker whether the token is active (RFC 7662), as admin\n"
	"      (TOLLGATE_TOKEN) or as the given identity.\n"
	"  revoke TOKEN|- [--identity ID --key PATH [--kid KID]] [--wait [SECS]] [--verify]\n"
	"      Revokes the token (RFC 7009).\n"
	"\n"
	"Options of revoke:\n"
	CLI_ENFORCE_HELP
	"                    (presenting the revoked token itself; --wait and\n"
	"                    --verify need TOLLGATE_TOKEN)\n"
	"\n"
	"Needs TOLLGATE_ADDR (default http://127.0.0.1:8420).\n";

typedef struct {
	const char *identity, *key, *scope, *ttl, *dpop_key, *kid, *grant;
	const char *subject; /* exchange: the subject token */
	bool dpop, json;
	bool wait, verify; /* revoke: --wait [SECS], --verify */
	const char *wait_arg;
} token_opts_t;

int cli_load_client_key(const char *path, client_key_t *k)
{
	const char *why = NULL;
	size_t len = 0;
	char *pem = cli_read_file(path, 16384, &len);
	if (pem == NULL)
		return -1;
	int rc = client_key_from_pem(pem, len, k, &why);
	sodium_memzero(pem, len);
	free(pem);
	if (rc != 0)
		fprintf(stderr, "%s: %s: %s\n", cli_prefix(), path, why);
	return rc;
}

char *cli_token_endpoint(void)
{
	cli_response_t r;
	char *out = NULL;
	if (cli_http("GET", "/.well-known/oauth-authorization-server", NULL, NULL, NULL, &r) != 0)
		return NULL;
	json_t *m = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
	const char *te = json_string_value(json_object_get(m, "token_endpoint"));
	if (te != NULL)
		out = strdup(te);
	else
		fprintf(stderr, "%s: %s did not publish OAuth metadata (HTTP %ld)\n", cli_prefix(), cli_addr(),
			r.status);
	json_decref(m);
	cli_response_free(&r);
	return out;
}

/* How long a client assertion lives: just long enough to reach the broker. */
#define ASSERTION_LIFETIME 60

/* Appends &name=urlencoded(value) to a malloc'd form string. */
static char *form_add(char *form, const char *name, const char *value)
{
	char *e = cli_urlencode(value);
	size_t n = (form ? strlen(form) : 0) + strlen(name) + (e ? strlen(e) : 0) + 3;
	char *out = malloc(n);
	if (out != NULL)
		snprintf(out, n, "%s%s%s=%s", form ? form : "", form ? "&" : "", name, e ? e : "");
	free(form);
	free(e);
	return out;
}

/* Adds client authentication (private_key_jwt) for identity/key to form. */
static char *form_client_auth(char *form, const token_opts_t *o, const char *aud)
{
	client_key_t k;
	if (cli_load_client_key(o->key, &k) != 0) {
		free(form);
		return NULL;
	}
	/* kid: as registered; NULL = the key's RFC 7638 thumbprint (the default kid). */
	char *a = client_assertion_sign(&k, o->identity, aud, o->kid, (int64_t)time(NULL),
					ASSERTION_LIFETIME);
	client_key_free(&k);
	form = form_add(form, "client_assertion_type", CLIENT_ASSERTION_TYPE);
	form = form_add(form, "client_assertion", a ? a : "");
	free(a);
	return form;
}

/* POSTs the token request of o: the token response, or NULL after saying why. */
static json_t *token_response(const token_opts_t *o)
{
	client_key_t k;
	char dpop_hdr[2048];
	const char *hdrs[2] = {dpop_hdr, NULL};
	cli_response_t r;
	json_t *out = NULL;
	char *te = cli_token_endpoint();
	if (te == NULL)
		return NULL;
	char *form = form_add(NULL, "grant_type", o->subject ? "urn:ietf:params:oauth:grant-type:token-exchange"
							       : "client_credentials");
	if (o->subject != NULL) {
		form = form_add(form, "subject_token", o->subject);
		form = form_add(form, "subject_token_type", "urn:ietf:params:oauth:token-type:access_token");
	}
	if (o->scope != NULL)
		form = form_add(form, "scope", o->scope);
	if (o->ttl != NULL)
		form = form_add(form, "ttl", o->ttl);
	if (o->grant != NULL)
		form = form_add(form, "grant_id", o->grant);
	form = form_client_auth(form, o, te);
	if (form == NULL)
		goto out;
	if (o->dpop) {
		if (cli_load_client_key(o->dpop_key ? o->dpop_key : o->key, &k) != 0)
			goto out;
		char *proof = dpop_proof_sign(&k, "POST", te, NULL, (int64_t)time(NULL));
		client_key_free(&k);
		snprintf(dpop_hdr, sizeof dpop_hdr, "DPoP: %s", proof ? proof : "");
		free(proof);
	}
	if (cli_http("POST", "/oauth/token", "application/x-www-form-urlencoded", form,
		     o->dpop ? hdrs : NULL, &r) != 0)
		goto out;
	json_t *j = json_loads(r.body, 0, NULL);
	if (r.status != 200 || json_string_value(json_object_get(j, "access_token")) == NULL) {
		cli_print_error("token request", &r);
		json_decref(j);
	} else {
		out = j;
	}
	sodium_memzero(r.body, r.len);
	cli_response_free(&r);
out:
	free(te);
	free(form);
	return out;
}

static int issue(const token_opts_t *o)
{
	if (o->identity == NULL || o->key == NULL || (o->scope == NULL && o->subject == NULL)) {
		fprintf(stderr, "tollgate token %s: --identity, --key%s are required\n", o->subject ? "exchange" : "issue",
			o->subject ? "" : " and --scope");
		return 2;
	}
	json_t *j = token_response(o);
	if (j == NULL)
		return 1;
	if (o->json)
		cli_print_json(j);
	else
		printf("%s\n", json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	return 0;
}

char *cli_token_issue(const cli_token_req_t *q)
{
	token_opts_t o = {.identity = q->identity, .key = q->key, .kid = q->kid, .scope = q->scope,
			  .dpop = q->dpop, .dpop_key = q->dpop_key};
	json_t *j = token_response(&o);
	const char *at = json_string_value(json_object_get(j, "access_token"));
	char *out = at ? strdup(at) : NULL;
	if (at != NULL)
		sodium_memzero((char *)at, strlen(at));
	json_decref(j);
	return out;
}

static char *token_arg(const char *arg)
{
	char buf[TG_MAX_JWT_LEN + 2];
	if (strcmp(arg, "-") != 0)
		return strdup(arg);
	if (fgets(buf, sizeof buf, stdin) == NULL)
		return NULL;
	buf[strcspn(buf, "\r\n")] = '\0';
	return strdup(buf);
}

static const json_t *find_jwk(const json_t *jwks, const char *kid)
{
	size_t i;
	json_t *k;
	json_array_foreach(json_object_get(jwks, "keys"), i, k) {
		const char *v = json_string_value(json_object_get(k, "kid"));
		if (v != NULL && kid != NULL && strcmp(v, kid) == 0)
			return k;
	}
	return NULL;
}

static int inspect(const char *token)
{
	jws_t j;
	cli_response_t r;
	uint8_t pk[ED25519_PK_LEN];
	const char *why = NULL;
	jws_err e = jws_parse(token, strlen(token), &j);
	if (e != JWS_OK) {
		fprintf(stderr, "tollgate token inspect: %s\n", jws_strerror(e));
		return 1;
	}
	printf("header:\n");
	cli_print_json(j.header);
	printf("claims:\n");
	cli_print_json(j.payload);
	bool sig_ok = false;
	if (cli_http("GET", "/.well-known/jwks.json", NULL, NULL, NULL, &r) == 0) {
		json_t *jwks = json_loads(r.body, 0, NULL);
		const json_t *jwk = find_jwk(jwks, json_string_value(json_object_get(j.header, "kid")));
		sig_ok = jwk != NULL && ed_pk_from_jwk(jwk, pk, &why) == 0 && jws_verify(&j, pk) == JWS_OK;
		printf("signature:  %s\n", sig_ok ? "valid (key published in the broker's JWKS)"
			: jwk ? "INVALID" : "INVALID: kid is not in the broker's JWKS");
		json_decref(jwks);
		cli_response_free(&r);
	}
	json_int_t exp = json_integer_value(json_object_get(j.payload, "exp"));
	long long left = (long long)exp - (long long)time(NULL);
	if (left > 0)
		printf("expires:    in %llds\n", left);
	else
		printf("expires:    EXPIRED %llds ago\n", -left);
	jws_free(&j);
	return sig_ok && left > 0 ? 0 : 1;
}

/* introspect / revoke: as admin, or as identity with --identity/--key. */
static int oauth_call(const char *endpoint, const char *token, const token_opts_t *o)
{
	char auth[TG_MAX_JWT_LEN + 32] /* a workload's own access token too */, url[256];
	const char *hdrs[2] = {auth, NULL};
	cli_response_t r;
	int rc = 1;
	if ((o->identity == NULL) != (o->key == NULL)) {
		fprintf(stderr, "tollgate token: --identity and --key go together (or give neither to act as admin)\n");
		return 2;
	}
	char *form = form_add(NULL, "token", token);
	if (o->identity != NULL) {
		char *te = cli_token_endpoint();
		if (te == NULL) {
			free(form);
			return 1;
		}
		snprintf(url, sizeof url, "%.*s%s", (int)(strlen(te) - strlen("/oauth/token")), te, endpoint);
		free(te);
		form = form_client_auth(form, o, url);
		if (form == NULL)
			return 1;
	} else {
		char *admin = cli_admin_token();
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", admin ? admin : "");
		if (admin != NULL)
			sodium_memzero(admin, strlen(admin));
		free(admin);
	}
	if (cli_http("POST", endpoint, "application/x-www-form-urlencoded", form,
		     o->identity ? NULL : hdrs, &r) == 0) {
		if (r.status == 200) {
			json_t *j = json_loads(r.body, 0, NULL);
			if (strcmp(endpoint, "/oauth/revoke") == 0)
				printf("revoked (or already inactive)\n");
			else
				cli_print_json(j);
			if (strcmp(endpoint, "/oauth/introspect") != 0 || json_is_true(json_object_get(j, "active")))
				rc = 0;
			json_decref(j);
		} else {
			cli_print_error(endpoint, &r);
		}
		cli_response_free(&r);
	}
	sodium_memzero(auth, sizeof auth);
	free(form);
	return rc;
}

int cmd_token(int argc, char **argv)
{
	static const struct option longs[] = {
		{"identity", required_argument, NULL, 'i'}, {"key", required_argument, NULL, 'k'},
		{"scope", required_argument, NULL, 's'}, {"ttl", required_argument, NULL, 't'},
		{"dpop", no_argument, NULL, 'd'}, {"dpop-key", required_argument, NULL, 'D'},
		{"json", no_argument, NULL, 'j'}, {"kid", required_argument, NULL, 'K'},
		{"grant", required_argument, NULL, 'g'}, {"wait", optional_argument, NULL, 'w'},
		{"verify", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	static const char *const verbs[] = {"issue", "exchange", "inspect", "introspect", "revoke", NULL};
	token_opts_t o = {0};
	const char *sub = argc > 1 ? argv[1] : "";
	int ch;
	if (argc < 2 || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(token_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'i': o.identity = optarg; break;
		case 'k': o.key = optarg; break;
		case 's': o.scope = optarg; break;
		case 't': o.ttl = optarg; break;
		case 'd': o.dpop = true; break;
		case 'D': o.dpop_key = optarg; o.dpop = true; break;
		case 'j': o.json = true; break;
		case 'K': o.kid = optarg; break;
		case 'g': o.grant = optarg; break;
		case 'w': o.wait = true; o.wait_arg = cli_wait_arg(argc, argv); break;
		case 'v': o.verify = true; break;
		case 'h': fputs(token_usage, stdout); return 0;
		default: return cli_bad_option(NULL);
		}
	}
	if ((o.wait || o.verify) && strcmp(sub, "revoke") != 0) {
		fprintf(stderr, "tollgate token %s: --wait and --verify apply to revoke only\n", sub);
		return 2;
	}
	cli_enforce_t enforce;
	if (cli_enforce_init(&enforce, o.wait, o.wait_arg, o.verify, false) != 0)
		return 2;
	if (strcmp(sub, "issue") == 0) {
		if (optind == argc)
			return issue(&o);
		fprintf(stderr, "tollgate token: issue takes options only, not '%s'\n", argv[optind]);
		return 2;
	}
	if (strcmp(sub, "inspect") != 0 && strcmp(sub, "introspect") != 0 && strcmp(sub, "revoke") != 0 &&
	    strcmp(sub, "exchange") != 0)
		return cli_unknown_command(sub, verbs);
	if (optind != argc - 1) {
		fprintf(stderr, "tollgate token %s: give the token (or - to read it from stdin)\n", sub);
		return 2;
	}
	char *token = token_arg(argv[optind]);
	if (token == NULL)
		return 2;
	o.subject = strcmp(sub, "exchange") == 0 ? token : NULL;
	int rc = o.subject != NULL ? issue(&o)
		: strcmp(sub, "inspect") == 0 ? inspect(token)
		: oauth_call(strcmp(sub, "introspect") == 0 ? "/oauth/introspect" : "/oauth/revoke", token, &o);
	if (rc == 0 && strcmp(sub, "revoke") == 0)
		rc = cli_enforce(&enforce, token, NULL, NULL);
	sodium_memzero(token, strlen(token));
	free(token);
	return rc;
}
