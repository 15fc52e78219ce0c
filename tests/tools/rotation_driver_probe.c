/* rotation_driver_probe.c - runs one rotation driver operation outside the
 * broker, for tests/e2e/test_secret_drivers.py (the drivers against a real
 * PostgreSQL cluster, real programs and a real HTTP receiver):
 *
 *   rotation_driver_probe TARGET.json SECRET set|verify|revoke < VALUES
 *
 * TARGET.json is a rotation target document (core/rotation_driver.h);
 * VALUES on stdin are two lines, the operation's first and second value
 * (set: new, old; verify: the value; revoke: old, current), so no
 * credential is on the command line. For a postgres target the admin
 * password comes from its password_file. Prints one JSON line
 * {"rc":"ok"|"refused"|"error","error":"..."} and exits 0, or 2 on a
 * usage or document error. */
#include "broker/secret_driver.h"
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *line(FILE *f)
{
	char *s = NULL;
	size_t cap = 0;
	ssize_t n = getline(&s, &cap, f);
	if (n < 0) {
		free(s);
		return NULL;
	}
	s[strcspn(s, "\n")] = '\0';
	return s;
}

static drv_rc_t run_op(const secret_driver_t *d, const drv_ctx_t *c, const char *op, const char *a,
		       const char *b, char *err, size_t len)
{
	if (strcmp(op, "set") == 0)
		return d->set(c, a, b, err, len);
	if (strcmp(op, "verify") == 0)
		return d->verify(c, a, err, len);
	return d->revoke(c, a, b, err, len);
}

int main(int argc, char **argv)
{
	json_error_t je;
	rot_target_t t;
	char err[1024] = "";
	if (argc != 4 || (strcmp(argv[3], "set") && strcmp(argv[3], "verify") && strcmp(argv[3], "revoke"))) {
		fprintf(stderr, "usage: rotation_driver_probe TARGET.json SECRET set|verify|revoke < VALUES\n");
		return 2;
	}
	json_t *doc = json_load_file(argv[1], 0, &je);
	if (doc == NULL || rotation_target_parse(doc, &t, err, sizeof err) != 0) {
		fprintf(stderr, "rotation_driver_probe: %s\n", doc == NULL ? je.text : err);
		json_decref(doc);
		return 2;
	}
	json_decref(doc);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	char *a = line(stdin), *b = line(stdin), *admin = NULL;
	drv_rc_t rc = DRV_ERROR;
	if (t.kind == ROT_DRIVER_POSTGRES && t.password_file[0] != '\0')
		admin = secret_driver_read_password_file(t.password_file, err, sizeof err);
	if (t.kind != ROT_DRIVER_POSTGRES || admin != NULL) {
		drv_ctx_t c = {.target = &t, .secret = argv[2], .admin_password = admin};
		rc = run_op(secret_driver_for(&t), &c, argv[3], a != NULL ? a : "", b != NULL && b[0] ? b : NULL,
			    err, sizeof err);
	}
	json_t *out = json_pack("{s:s, s:s}", "rc", rc == DRV_OK ? "ok" : rc == DRV_REFUSED ? "refused" : "error",
				"error", err);
	char *text = json_dumps(out, JSON_COMPACT);
	puts(text);
	free(text);
	json_decref(out);
	secret_driver_wipe(a);
	secret_driver_wipe(b);
	secret_driver_wipe(admin);
	rotation_target_free(&t);
	curl_global_cleanup();
	return 0;
}
