/* rekey.c - `tollgate rekey`: asks the broker for a new master key
 * (POST /v1/rekey; broker/rekey.h has the steps): every secret's data key
 * is re-wrapped and the signing keys and operator TOTP secrets re-sealed
 * under it, the key file is replaced, and the old key opens nothing. */
#include "cli/cli.h"
#include <stdio.h>
#include <string.h>

static const char rekey_usage[] =
	"Usage: tollgate rekey [--json]\n"
	"\n"
	"Replaces the broker's master key without downtime: the broker generates a\n"
	"new key, writes it beside its master key file (MASTER_KEY_FILE.next, 0600),\n"
	"re-wraps every secret's data key under it (reads go on meanwhile), re-seals\n"
	"the signing keys and the operators' TOTP secrets, and renames the new key\n"
	"over the master key file. From then on the old key opens nothing: destroy\n"
	"its copies. A broker stopped half-way completes the rekey when it starts.\n"
	"Every re-wrapped secret is a secret.rekeyed audit record, the re-sealing a\n"
	"master_key.rekeyed one.\n"
	"\n"
	"  --json   print the broker's answer as JSON\n"
	"\n"
	"Needs TOLLGATE_TOKEN: the admin token or an admin operator's session with\n"
	"a fresh second factor. The master key file must be writable by the broker.\n";

int cmd_rekey(int argc, char **argv)
{
	bool json_out = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(rekey_usage, stdout);
			return 0;
		}
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "%s: unknown argument '%.64s'\n%s", cli_prefix(), argv[i], rekey_usage);
			return 2;
		}
		json_out = true;
	}
	json_t *r = cli_api("POST", "/v1/rekey", NULL);
	if (r == NULL)
		return 1;
	if (json_out)
		cli_print_json(r);
	else
		printf("master key %s replaces %s: %lld secrets re-wrapped, %lld signing keys and %lld operator "
		       "secrets re-sealed\n",
		       json_string_value(json_object_get(r, "master_key_id")),
		       json_string_value(json_object_get(r, "previous_master_key_id")),
		       (long long)json_integer_value(json_object_get(r, "secrets_rewrapped")),
		       (long long)json_integer_value(json_object_get(r, "signing_keys_resealed")),
		       (long long)json_integer_value(json_object_get(r, "operators_resealed")));
	json_decref(r);
	return 0;
}
