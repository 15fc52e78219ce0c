/* fuzz_sql_template.c - dynamic role templates and definitions
 * (core/sql_template.h) on arbitrary input. Input starting with '{' is a
 * definition document (accepted ones within their bounds); anything else
 * is a template: when accepted, it renders with fixed values, and the
 * rendering holds exactly the quoted values where the placeholders were
 * (no placeholder left, no brace pair that was not in the template), and
 * a value with a quote in it stays inside its quotes. */
#include "core/sql_template.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_definition(const uint8_t *data, size_t size)
{
	json_error_t jerr;
	dyn_role_t d;
	char err[300];
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return;
	if (dynamic_role_parse(doc, &d, err, sizeof err) == 0) {
		unsigned used = 0;
		fz_require(d.max_ttl >= 1 && d.max_ttl <= DYN_MAX_TTL, "max_ttl bounded");
		fz_require(d.default_ttl >= 1 && d.default_ttl <= d.max_ttl, "default_ttl bounded");
		fz_require(sql_template_check(d.creation, strlen(d.creation), &used, err, sizeof err) == 0 &&
				   (used & (SQL_PH_NAME | SQL_PH_PASSWORD)) == (SQL_PH_NAME | SQL_PH_PASSWORD),
			   "creation checked");
		fz_require(d.revocation == NULL ||
				   (sql_template_check(d.revocation, strlen(d.revocation), &used, err, sizeof err) == 0 &&
				    !(used & SQL_PH_PASSWORD)),
			   "revocation checked");
		dynamic_role_free(&d);
	}
	json_decref(doc);
}

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void check_template(const uint8_t *data, size_t size)
{
	char err[300];
	unsigned used = 0;
	char *tpl = malloc(size + 1);
	if (tpl == NULL)
		return;
	memcpy(tpl, data, size);
	tpl[size] = '\0';
	if (sql_template_check(tpl, size, &used, err, sizeof err) == 0) {
		sql_values_t v = {"tg_fz_00ff", "SCRAM-SHA-256$4096:s'x$k:v", "2023-11-14 22:13:20+00"};
		char *out = sql_template_render(tpl, &v, err, sizeof err);
		fz_require(out != NULL, "an accepted template renders");
		size_t names = count(tpl, "{{name}}"), pws = count(tpl, "{{password}}"), exps = count(tpl, "{{expiry}}");
		fz_require((names > 0) == !!(used & SQL_PH_NAME) && (pws > 0) == !!(used & SQL_PH_PASSWORD) &&
				   (exps > 0) == !!(used & SQL_PH_EXPIRY),
			   "used matches the template");
		fz_require(count(out, "\"tg_fz_00ff\"") >= names, "each name quoted as an identifier");
		fz_require(count(out, "'SCRAM-SHA-256$4096:s''x$k:v'") >= pws, "each password a quoted literal");
		fz_require(count(out, "{{name}}") + count(out, "{{password}}") + count(out, "{{expiry}}") == 0,
			   "no placeholder left");
		free(out);
	}
	free(tpl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SQL_TEMPLATE_MAX + 4096)
		return 0;
	if (size > 0 && data[0] == '{' && (size < 2 || data[1] != '{'))
		check_definition(data, size);
	else
		check_template(data, size);
	return 0;
}
