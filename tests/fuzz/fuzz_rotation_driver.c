/* fuzz_rotation_driver.c - the rotation drivers' pure half
 * (core/rotation_driver.h) on arbitrary input: the bytes as an exec or
 * webhook answer (rotation_answer_parse), and, when they are JSON, as a
 * rotation target document (rotation_target_parse) whose accepted form
 * must lie within its bounds (no password in a dsn, a valid role, an
 * absolute command, an http(s) URL, the timeout's and back-off's ranges) and whose config
 * must round-trip through the driver request (rotation_request_json). */
#include "core/rotation_driver.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(const uint8_t *data, size_t size)
{
	bool ok = false;
	char text[ROT_MAX_ANSWER_ERROR + 1], err[200];
	if (rotation_answer_parse((const char *)data, size, &ok, text, err, sizeof err) != 0)
		return;
	fz_require(size <= ROT_MAX_ANSWER, "answer bounded");
	size_t n = strlen(text);
	fz_require(n <= ROT_MAX_ANSWER_ERROR, "error bounded");
	for (size_t i = 0; i < n; i++)
		fz_require((unsigned char)text[i] >= 0x20 && text[i] != 0x7f, "error without control characters");
}

/* A keyword of the dsn named "password" or "passfile" (any case), as a
 * plain scan: such a dsn must never be accepted. */
static bool dsn_names_password(const char *dsn)
{
	for (const char *p = dsn; *p; p++)
		if ((strncasecmp(p, "password", 8) == 0 || strncasecmp(p, "passfile", 8) == 0) &&
		    (p == dsn || p[-1] == ' ')) {
			const char *q = p + 8;
			while (*q == ' ')
				q++;
			if (*q == '=')
				return true;
		}
	return false;
}

static void check_request(const rot_target_t *t)
{
	char *req = rotation_request_json(ROT_OP_SET, "s", t->config, "n3w", "0ld");
	fz_require(req != NULL, "request built");
	json_t *back = json_loads(req, 0, NULL);
	fz_require(back != NULL, "request is JSON");
	fz_require(json_equal(json_object_get(back, "target"), t->config), "config round trip");
	fz_require(strcmp(json_string_value(json_object_get(back, "new")), "n3w") == 0, "new value");
	json_decref(back);
	free(req);
}

static void check_target(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	rot_target_t t;
	char err[300];
	if (doc == NULL)
		return;
	if (rotation_target_parse(doc, &t, err, sizeof err) == 0) {
		fz_require(t.timeout >= 1 && t.timeout <= ROT_MAX_DRIVER_TIMEOUT, "timeout bounded");
		fz_require(t.retry_base >= 1 && t.retry_base <= t.retry_max && t.retry_max <= ROT_MAX_RETRY,
			   "back-off bounded");
		switch (t.kind) {
		case ROT_DRIVER_POSTGRES:
			fz_require(rotation_role_valid(t.role), "role valid");
			fz_require(!dsn_names_password(t.dsn), "no password in the dsn");
			fz_require(strstr(t.dsn, "://") == NULL, "dsn not a URI");
			fz_require((t.password_file[0] != '\0') != (t.password_secret[0] != '\0'), "one password source");
			fz_require(t.password_file[0] == '\0' || t.password_file[0] == '/', "password_file absolute");
			break;
		case ROT_DRIVER_EXEC:
			fz_require(t.command[0] == '/', "command absolute");
			check_request(&t);
			break;
		case ROT_DRIVER_WEBHOOK:
			fz_require(strncmp(t.url, "https://", 8) == 0 || strncmp(t.url, "http://", 7) == 0, "url scheme");
			check_request(&t);
			break;
		}
		rotation_target_free(&t);
	}
	json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_answer(data, size);
	check_target(data, size);
	return 0;
}
