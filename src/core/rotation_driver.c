/* rotation_driver.c - rotation target documents, driver requests and
 * answers (rotation_driver.h). */
#include "core/rotation_driver.h"
#include "core/errbuf.h"
#include "core/rotation.h"
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *rotation_driver_name(rot_driver_kind_t k)
{
	switch (k) {
	case ROT_DRIVER_POSTGRES:
		return "postgres";
	case ROT_DRIVER_EXEC:
		return "exec";
	case ROT_DRIVER_WEBHOOK:
		return "webhook";
	}
	return "unknown";
}

const char *rotation_op_name(rot_op_t op)
{
	switch (op) {
	case ROT_OP_SET:
		return "set";
	case ROT_OP_VERIFY:
		return "verify";
	case ROT_OP_REVOKE:
		return "revoke";
	}
	return "unknown";
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

bool rotation_role_valid(const char *role)
{
	size_t n = strlen(role);
	if (n < 1 || n > ROT_MAX_ROLE)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)role[i]) && role[i] != '_' && role[i] != '-' && role[i] != '.')
			return false;
	return true;
}

/* A string member of 1..max bytes without control characters into out
 * (max + 1 bytes). 1 absent, 0 copied, -1 refused (said in err). */
static int text_member(const json_t *doc, const char *name, char *out, size_t max, char *err, size_t err_len)
{
	json_t *v = json_object_get(doc, name);
	if (v == NULL)
		return 1;
	const char *s = json_string_value(v);
	size_t n = s != NULL ? json_string_length(v) : 0;
	if (s == NULL || n == 0 || n > max || strlen(s) != n || !printable(s)) {
		tg_errf(err, err_len, "%s must be a string of 1 to %zu bytes without control characters", name, max);
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}

/* libpq's keyword=value form: keywords of letters and '_', values bare
 * or single-quoted with backslash escapes. -1 when it does not parse or
 * names a password or passfile (the password comes from elsewhere). */
static int dsn_check(const char *dsn, char *err, size_t err_len)
{
	const char *p = dsn;
	if (strstr(dsn, "://") != NULL) {
		tg_errf(err, err_len, "dsn must be libpq's keyword=value form (host=... user=... dbname=...), "
				      "not a URI");
		return -1;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			return 0;
		const char *k = p;
		while (isalpha((unsigned char)*p) || *p == '_')
			p++;
		size_t klen = (size_t)(p - k);
		while (*p == ' ')
			p++;
		if (klen == 0 || *p != '=') {
			tg_errf(err, err_len, "dsn must be keyword=value pairs separated by spaces");
			return -1;
		}
		if ((klen == 8 && strncasecmp(k, "password", 8) == 0) ||
		    (klen == 8 && strncasecmp(k, "passfile", 8) == 0)) {
			tg_errf(err, err_len, "dsn must not hold a password or passfile: give password_file or "
					      "password_secret");
			return -1;
		}
		p++;
		while (*p == ' ')
			p++;
		if (*p == '\'') {
			for (p++; *p != '\''; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\0') {
					tg_errf(err, err_len, "dsn has an unterminated quoted value");
					return -1;
				}
			}
			p++;
		} else {
			while (*p != ' ' && *p != '\0')
				p++;
		}
	}
}

/* A whole number of seconds in [lo, hi] from member name (dflt when absent). */
static int seconds_member(const json_t *doc, const char *name, int64_t lo, int64_t hi, int64_t dflt, int64_t *out,
			  char *err, size_t err_len)
{
	json_t *v = json_object_get(doc, name);
	*out = dflt;
	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		tg_errf(err, err_len, "%s must be whole seconds from %lld to %lld", name, (long long)lo, (long long)hi);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* The members every driver takes: timeout, retry_base, retry_max. */
static int parse_timing(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	if (seconds_member(doc, "timeout", 1, ROT_MAX_DRIVER_TIMEOUT, ROT_DEFAULT_DRIVER_TIMEOUT, &out->timeout, err,
			   err_len) != 0 ||
	    seconds_member(doc, "retry_base", 1, ROT_MAX_RETRY, ROT_DEFAULT_RETRY_BASE, &out->retry_base, err,
			   err_len) != 0 ||
	    seconds_member(doc, "retry_max", 1, ROT_MAX_RETRY, ROT_DEFAULT_RETRY_MAX, &out->retry_max, err,
			   err_len) != 0)
		return -1;
	if (out->retry_max < out->retry_base) {
		tg_errf(err, err_len, "retry_max must not be less than retry_base");
		return -1;
	}
	return 0;
}

/* Every member of doc is one of the allowed names. */
static int only_members(const json_t *doc, const char *const *allowed, char *err, size_t err_len)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)doc, key, v)
	{
		size_t i = 0;
		while (allowed[i] != NULL && strcmp(allowed[i], key) != 0)
			i++;
		if (allowed[i] == NULL) {
			tg_errf(err, err_len, "unknown member \"%.64s\" for this driver", key);
			return -1;
		}
	}
	return 0;
}

static int parse_postgres(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	static const char *const allowed[] = {"driver", "dsn", "role", "password_file", "password_secret",
					      "sslmode", "timeout", "retry_base", "retry_max", NULL};
	static const char *const sslmodes[] = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"};
	int file, secret, rc;
	if (only_members(doc, allowed, err, err_len) != 0)
		return -1;
	if ((rc = text_member(doc, "dsn", out->dsn, ROT_MAX_DSN, err, err_len)) != 0 ||
	    (rc = text_member(doc, "role", out->role, ROT_MAX_ROLE, err, err_len)) != 0) {
		if (rc == 1)
			tg_errf(err, err_len, "the postgres driver needs dsn and role");
		return -1;
	}
	if (dsn_check(out->dsn, err, err_len) != 0)
		return -1;
	if (!rotation_role_valid(out->role)) {
		tg_errf(err, err_len, "role must be 1 to %d letters, digits, '_', '-' or '.'", ROT_MAX_ROLE);
		return -1;
	}
	if ((file = text_member(doc, "password_file", out->password_file, ROT_MAX_PATH, err, err_len)) < 0 ||
	    (secret = text_member(doc, "password_secret", out->password_secret, ROT_MAX_SECRET_NAME, err,
				  err_len)) < 0)
		return -1;
	if (file + secret != 1) {
		tg_errf(err, err_len, "the postgres driver needs exactly one of password_file and password_secret "
				      "(the admin connection's password)");
		return -1;
	}
	if (file == 0 && out->password_file[0] != '/') {
		tg_errf(err, err_len, "password_file must be an absolute path");
		return -1;
	}
	if ((rc = text_member(doc, "sslmode", out->sslmode, sizeof out->sslmode - 1, err, err_len)) < 0)
		return -1;
	if (rc == 0) {
		size_t i = 0;
		while (i < sizeof sslmodes / sizeof sslmodes[0] && strcmp(sslmodes[i], out->sslmode) != 0)
			i++;
		if (i == sizeof sslmodes / sizeof sslmodes[0]) {
			tg_errf(err, err_len, "sslmode must be one of disable, allow, prefer, require, verify-ca, "
					      "verify-full");
			return -1;
		}
	}
	return parse_timing(doc, out, err, err_len);
}

static int parse_config(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	json_t *c = json_object_get(doc, "config");
	if (c != NULL && !json_is_object(c)) {
		tg_errf(err, err_len, "config must be an object (passed to the driver as \"target\")");
		return -1;
	}
	out->config = c != NULL ? json_incref(c) : json_object();
	return out->config != NULL ? 0 : -1;
}

static int parse_args(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	json_t *a = json_object_get(doc, "args");
	size_t i;
	json_t *v;
	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > ROT_MAX_ARGS) {
		tg_errf(err, err_len, "args must be an array of at most %d strings", ROT_MAX_ARGS);
		return -1;
	}
	json_array_foreach(a, i, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) > ROT_MAX_ARG || strlen(s) != json_string_length(v) ||
		    !printable(s)) {
			tg_errf(err, err_len, "args[%zu] must be a string of at most %d bytes without control "
					      "characters", i, ROT_MAX_ARG);
			return -1;
		}
		if ((out->args[i] = strdup(s)) == NULL)
			return -1;
	}
	return 0;
}

static int parse_exec(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	static const char *const allowed[] = {"driver", "command", "args", "config", "timeout", "retry_base",
					      "retry_max", NULL};
	int rc;
	if (only_members(doc, allowed, err, err_len) != 0)
		return -1;
	if ((rc = text_member(doc, "command", out->command, ROT_MAX_PATH, err, err_len)) != 0 ||
	    out->command[0] != '/') {
		if (rc >= 0)
			tg_errf(err, err_len, "the exec driver needs command, an absolute path (run without a shell)");
		return -1;
	}
	if (parse_args(doc, out, err, err_len) != 0 || parse_config(doc, out, err, err_len) != 0)
		return -1;
	return parse_timing(doc, out, err, err_len);
}

static int parse_webhook(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	static const char *const allowed[] = {"driver", "url", "config", "timeout", "retry_base", "retry_max",
					      NULL};
	int rc;
	if (only_members(doc, allowed, err, err_len) != 0)
		return -1;
	if ((rc = text_member(doc, "url", out->url, ROT_MAX_URL, err, err_len)) != 0 ||
	    (strncmp(out->url, "https://", 8) != 0 && strncmp(out->url, "http://", 7) != 0)) {
		if (rc >= 0)
			tg_errf(err, err_len, "the webhook driver needs url, an https:// or http:// URL");
		return -1;
	}
	if (strchr(out->url, ' ') != NULL) {
		tg_errf(err, err_len, "url must not contain spaces");
		return -1;
	}
	if (parse_config(doc, out, err, err_len) != 0)
		return -1;
	return parse_timing(doc, out, err, err_len);
}

int rotation_target_parse(const json_t *doc, rot_target_t *out, char *err, size_t err_len)
{
	char driver[16];
	int rc;
	memset(out, 0, sizeof *out);
	if (!json_is_object(doc)) {
		tg_errf(err, err_len, "the rotation target must be a JSON object");
		return -1;
	}
	if ((rc = text_member(doc, "driver", driver, sizeof driver - 1, err, err_len)) != 0) {
		if (rc == 1)
			tg_errf(err, err_len, "driver is required: postgres, exec or webhook");
		return -1;
	}
	if (strcmp(driver, "postgres") == 0) {
		out->kind = ROT_DRIVER_POSTGRES;
		rc = parse_postgres(doc, out, err, err_len);
	} else if (strcmp(driver, "exec") == 0) {
		out->kind = ROT_DRIVER_EXEC;
		rc = parse_exec(doc, out, err, err_len);
	} else if (strcmp(driver, "webhook") == 0) {
		out->kind = ROT_DRIVER_WEBHOOK;
		rc = parse_webhook(doc, out, err, err_len);
	} else {
		tg_errf(err, err_len, "driver must be postgres, exec or webhook");
		return -1;
	}
	if (rc != 0)
		rotation_target_free(out);
	return rc;
}

void rotation_target_free(rot_target_t *t)
{
	for (size_t i = 0; i < ROT_MAX_ARGS; i++) {
		free(t->args[i]);
		t->args[i] = NULL;
	}
	json_decref(t->config);
	t->config = NULL;
}

char *rotation_request_json(rot_op_t op, const char *secret, const json_t *config, const char *new_value,
			    const char *old_value)
{
	json_t *o = json_object();
	char *text = NULL;
	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "op", json_string(rotation_op_name(op))) == 0 &&
	    json_object_set_new(o, "secret", json_string(secret)) == 0 &&
	    json_object_set_new(o, "target", config != NULL ? json_deep_copy(config) : json_object()) == 0 &&
	    (new_value == NULL || json_object_set_new(o, "new", json_string(new_value)) == 0) &&
	    (old_value == NULL || json_object_set_new(o, "old", json_string(old_value)) == 0))
		text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	/* The values sit in the object's strings too; jansson frees them
	 * without zeroing, so overwrite them first. */
	static const char *const values[] = {"new", "old"};
	for (int i = 0; i < 2; i++) {
		json_t *v = json_object_get(o, values[i]);
		if (v != NULL) {
			char *s = (char *)json_string_value(v);
			memset(s, 0, json_string_length(v));
		}
	}
	json_decref(o);
	return text;
}

int rotation_answer_parse(const char *buf, size_t len, bool *ok, char error_out[ROT_MAX_ANSWER_ERROR + 1],
			  char *err, size_t err_len)
{
	json_error_t je;
	json_t *doc, *v;
	const char *key;
	int rc = -1;
	error_out[0] = '\0';
	if (len > ROT_MAX_ANSWER) {
		tg_errf(err, err_len, "the answer is larger than %d bytes", ROT_MAX_ANSWER);
		return -1;
	}
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		/* where, not jansson's text: its "near '...'" may quote a credential */
		tg_errf(err, err_len, "the answer is not one JSON object (line %d, column %d)", je.line, je.column);
		return -1;
	}
	if (!json_is_object(doc) || !json_is_boolean(json_object_get(doc, "ok"))) {
		tg_errf(err, err_len, "the answer must be a JSON object with a boolean \"ok\"");
		goto out;
	}
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "ok") == 0)
			continue;
		if (strcmp(key, "error") != 0) {
			tg_errf(err, err_len, "the answer has an unknown member \"%.64s\" (only ok and error)", key);
			goto out;
		}
		const char *s = json_string_value(v);
		if (s == NULL || json_string_length(v) > ROT_MAX_ANSWER_ERROR || strlen(s) != json_string_length(v) ||
		    !printable(s)) {
			tg_errf(err, err_len, "the answer's error must be a string of at most %d bytes without "
					      "control characters", ROT_MAX_ANSWER_ERROR);
			goto out;
		}
		memcpy(error_out, s, json_string_length(v) + 1);
	}
	*ok = json_is_true(json_object_get(doc, "ok"));
	rc = 0;
out:
	json_decref(doc);
	return rc;
}
