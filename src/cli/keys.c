/* keys.c - `tollgate keys`: generate a workload key pair, create a master
 * key file, list, rotate and revoke the broker's signing keys. */
#include "cli/cli.h"
#include "core/ed25519_key.h"
#include "core/limits.h"
#include "core/master_key.h"
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

static const char keys_usage[] =
	"Usage: tollgate keys <command> [options]\n"
	"\n"
	"  gen --out PATH       write a new Ed25519 key pair for a workload identity:\n"
	"                       PATH (private key, PKCS#8 PEM, 0600) and PATH.pub (public\n"
	"                       key, PEM); prints the key's kid (RFC 7638 thumbprint)\n"
	"  master --out PATH    write a new 32-byte master key file (hex, 0600) for\n"
	"                       `tollgate serve --master-key-file`\n"
	"  list                 list the broker's signing keys (needs TOLLGATE_TOKEN)\n"
	"  rotate               make a new signing key current now; the old one stays in\n"
	"                       the JWKS until every token it signed has expired\n"
	"  revoke KID [--wait [SECS]]\n"
	"                       withdraw a signing key now (a compromised key): it leaves\n"
	"                       the JWKS and the broker's verification at once, so every\n"
	"                       token it signed is refused as invalid (introspection,\n"
	"                       /v1/authorize, edges once they have the new JWKS); the\n"
	"                       current key is rotated first. Needs TOLLGATE_TOKEN\n"
	"    --wait [SECS]      then wait (default 30 s) until every live edge has\n"
	"                       acknowledged, so has fetched the JWKS without the key,\n"
	"                       printing each edge's propagation time; exit 3 naming\n"
	"                       those that did not. (No --verify: an edge refuses a\n"
	"                       token of a revoked key as invalid, not as revoked.)\n";

static int write_file(const char *path, const char *data, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		fprintf(stderr, "tollgate keys: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	size_t n = strlen(data);
	int ok = write(fd, data, n) == (ssize_t)n;
	return close(fd) == 0 && ok ? 0 : -1;
}

static const char *out_arg(int argc, char **argv)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], "--out") == 0)
			return argv[i + 1];
	return NULL;
}

static int keys_gen(const char *out)
{
	uint8_t pk[ED25519_PK_LEN], sk[64], seed[ED25519_SEED_LEN];
	char pub_path[1024], kid[JKT_LEN + 1];
	int rc = 1;
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	char *priv_pem = ed_seed_to_pem(seed), *pub_pem = ed_pk_to_pem(pk);
	snprintf(pub_path, sizeof pub_path, "%s.pub", out);
	if (priv_pem && pub_pem && write_file(out, priv_pem, 0600) == 0 &&
	    write_file(pub_path, pub_pem, 0644) == 0) {
		ed_jwk_thumbprint(pk, kid);
		printf("private key: %s (keep it secret)\npublic key:  %s\nkid:         %s\n", out, pub_path, kid);
		rc = 0;
	}
	if (priv_pem != NULL)
		sodium_memzero(priv_pem, strlen(priv_pem));
	free(priv_pem);
	free(pub_pem);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk, sizeof sk);
	return rc;
}

/* A new master key file (file format: core/master_key.h), 0600. */
static int keys_master(const char *out)
{
	uint8_t raw[MASTER_KEY_LEN];
	char text[MASTER_KEY_TEXT_LEN + 1];
	randombytes_buf(raw, sizeof raw);
	master_key_format(raw, text);
	int rc = write_file(out, text, 0600);
	sodium_memzero(raw, sizeof raw);
	sodium_memzero(text, sizeof text);
	return rc;
}

/* keys revoke KID [--wait [SECS]]: the revocation, then what --wait asks. */
static int keys_revoke(int argc, char **argv)
{
	static const struct option longs[] = {{"wait", optional_argument, NULL, 'w'},
					      {"verify", no_argument, NULL, 'v'},
					      {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	bool wait = false;
	const char *wait_arg = NULL;
	int ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'w': wait = true; wait_arg = cli_wait_arg(argc, argv); break;
		case 'v':
			fprintf(stderr, "tollgate keys revoke: --verify is not offered for keys (an edge refuses a token "
					"of a revoked key as invalid); --wait proves every edge has the new JWKS\n");
			return 2;
		case 'h': fputs(keys_usage, stdout); return 0;
		default: return cli_bad_option("revoke");
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "tollgate keys revoke: give the kid of the key to revoke (see `tollgate keys list`)\n");
		return 2;
	}
	cli_enforce_t e;
	if (cli_enforce_init(&e, wait, wait_arg, false, true) != 0)
		return 2;
	if (strlen(argv[optind]) > TG_MAX_KID_LEN) {
		fprintf(stderr, "tollgate keys revoke: a kid has at most %d characters\n", TG_MAX_KID_LEN);
		return 2;
	}
	char path[3 * TG_MAX_KID_LEN + 32], *kid = cli_urlencode(argv[optind]);
	if (kid == NULL) {
		fprintf(stderr, "tollgate keys revoke: out of memory\n");
		return 1;
	}
	snprintf(path, sizeof path, "/v1/keys/%s/revoke", kid);
	free(kid);
	json_t *j = cli_api("POST", path, json_object());
	if (j == NULL)
		return 1;
	cli_print_json(j);
	json_decref(j);
	return cli_enforce(&e, NULL, NULL, NULL);
}

int cmd_keys(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "--help";
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
		fputs(keys_usage, argc > 1 ? stdout : stderr);
		return argc > 1 ? 0 : 2;
	}
	if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		fputs(keys_usage, stdout);
		return 0;
	}
	if (strcmp(sub, "gen") == 0 || strcmp(sub, "master") == 0) {
		const char *out = out_arg(argc, argv);
		if (out == NULL) {
			fprintf(stderr, "tollgate keys %s: --out PATH is required\n", sub);
			return 2;
		}
		if (strcmp(sub, "gen") == 0)
			return keys_gen(out);
		if (access(out, F_OK) == 0) {
			fprintf(stderr, "tollgate keys master: %s exists; refusing to overwrite a master key\n", out);
			return 1;
		}
		if (keys_master(out) != 0) {
			fprintf(stderr, "tollgate keys: cannot write the master key to %s: %s\n", out, strerror(errno));
			return 1;
		}
		printf("master key written to %s (0600); back it up: without it the signing keys cannot be unsealed\n", out);
		return 0;
	}
	if (strcmp(sub, "list") == 0 || strcmp(sub, "rotate") == 0) {
		json_t *j = strcmp(sub, "list") == 0 ? cli_api("GET", "/v1/keys", NULL)
						     : cli_api("POST", "/v1/keys/rotate", json_object());
		if (j == NULL)
			return 1;
		cli_print_json(j);
		json_decref(j);
		return 0;
	}
	if (strcmp(sub, "revoke") == 0)
		return keys_revoke(argc, argv);
	return cli_unknown_command(sub, (const char *const[]){"gen", "master", "list", "rotate", "revoke", NULL});
}
