/* test_sql_template.c - dynamic role templates, pure (src/core/sql_template.c,
 * docs/secrets.md "Dynamic database credentials"): which templates are
 * accepted (placeholders, quotes, comments, dollar quotes, braces, size,
 * control characters), the rendering with each value quoted, values that
 * would break the quoting refused, generated role names, the expiry
 * text, definition documents member by member, and a lease's TTL. */
#include "test_util.h"
#include "core/sql_template.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CREATE =
	"CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{expiry}};\n"
	"GRANT SELECT ON ALL TABLES IN SCHEMA app TO {{name}};";

static int check(const char *tpl, unsigned *used)
{
	char err[200];
	unsigned u = 0;
	int rc = sql_template_check(tpl, strlen(tpl), &u, err, sizeof err);
	if (used != NULL)
		*used = u;
	return rc;
}

static void test_check_accepts(void **state)
{
	(void)state;
	unsigned used = 0;
	assert_int_equal(check(CREATE, &used), 0);
	assert_int_equal(used, SQL_PH_NAME | SQL_PH_PASSWORD | SQL_PH_EXPIRY);
	assert_int_equal(check("DROP ROLE IF EXISTS {{name}}", &used), 0);
	assert_int_equal(used, SQL_PH_NAME);
	/* braces and placeholder-like text where SQL keeps them to itself */
	assert_int_equal(check("SELECT '{a,b}'::text[], \"x}\" -- {y\n; /* } /* nested { */ */ SELECT 1", &used), 0);
	assert_int_equal(used, 0u);
	assert_int_equal(check("DO $body$ BEGIN RAISE NOTICE '}'; END $body$; GRANT r TO {{name}}", &used), 0);
	assert_int_equal(used, SQL_PH_NAME);
	assert_int_equal(check("SELECT E'it\\'s {' , 'it''s'; SELECT $1", NULL), 0);
	assert_int_equal(check("SELECT 1 -- a trailing comment", NULL), 0);
	assert_int_equal(check("CREATE ROLE {{name}}\tLOGIN\r\n", NULL), 0);
}

static void test_check_refuses(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"CREATE ROLE {{user}}",                       /* unknown placeholder */
		"CREATE ROLE {{ name }}",                      /* not the exact form */
		"CREATE ROLE {{NAME}}",
		"CREATE ROLE {name}",                          /* lone braces */
		"CREATE ROLE {{name}",
		"CREATE ROLE name}}",
		"SELECT }",
		"CREATE ROLE '{{name}}'",                      /* inside quotes: would be quoted twice */
		"CREATE ROLE \"{{name}}\"",
		"ALTER ROLE x PASSWORD E'{{password}}'",
		"SELECT 1 -- {{name}}\n",
		"SELECT 1 /* {{name}} */",
		"DO $$ BEGIN EXECUTE 'DROP ROLE ' || {{name}}; END $$",
		"SELECT 'unterminated",
		"SELECT \"unterminated",
		"SELECT 1 /* unterminated",
		"SELECT $x$ unterminated",
		"SELECT E'\\'",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (check(bad[i], NULL) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	char err[200];
	unsigned used;
	assert_int_equal(sql_template_check("SELECT\0 1", 9, &used, err, sizeof err), -1);
	assert_int_equal(check("SELECT \x01", NULL), -1);
	assert_int_equal(check("SELECT \x7f", NULL), -1);
}

static void test_check_size(void **state)
{
	(void)state;
	char *t = malloc(SQL_TEMPLATE_MAX + 2);
	char err[200];
	unsigned used;
	assert_non_null(t);
	memset(t, ' ', SQL_TEMPLATE_MAX + 1);
	memcpy(t, "SELECT 1", 8);
	assert_int_equal(sql_template_check(t, SQL_TEMPLATE_MAX, &used, err, sizeof err), 0);
	assert_int_equal(sql_template_check(t, SQL_TEMPLATE_MAX + 1, &used, err, sizeof err), -1);
	assert_non_null(strstr(err, "8192"));
	free(t);
}

static void test_render(void **state)
{
	(void)state;
	char err[200];
	sql_values_t v = {"tg_app_0011", "SCRAM-SHA-256$4096:c2FsdA==$a+b/c=:d", "2026-12-06 13:30:00+00"};
	char *out = sql_template_render(CREATE, &v, err, sizeof err);
	assert_non_null(out);
	assert_string_equal(out, "CREATE ROLE \"tg_app_0011\" LOGIN PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$a+b/c=:d' "
				 "VALID UNTIL '2026-12-06 13:30:00+00';\nGRANT SELECT ON ALL TABLES IN SCHEMA app TO "
				 "\"tg_app_0011\";");
	free(out);
	/* the text around placeholders is copied as it is, quotes and all */
	out = sql_template_render("SELECT 'x''{' , $q$ } $q$; DROP ROLE {{name}} -- bye", &v, err, sizeof err);
	assert_non_null(out);
	assert_string_equal(out, "SELECT 'x''{' , $q$ } $q$; DROP ROLE \"tg_app_0011\" -- bye");
	free(out);
	/* a quote in a literal value is doubled */
	sql_values_t q = {"tg_a", "it's", NULL};
	out = sql_template_render("ALTER ROLE {{name}} PASSWORD {{password}}", &q, err, sizeof err);
	assert_non_null(out);
	assert_string_equal(out, "ALTER ROLE \"tg_a\" PASSWORD 'it''s'");
	free(out);
}

static void test_render_refuses_values(void **state)
{
	(void)state;
	char err[200];
	static const char *const names[] = {"Tg", "tg\"; DROP TABLE x; --", "1tg", "", "tg-a", "tg a",
					    "t0123456789012345678901234567890123456789012345678901234567890123"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		sql_values_t v = {names[i], "p", "e"};
		assert_null(sql_template_render(CREATE, &v, err, sizeof err));
	}
	sql_values_t backslash = {"tg", "a\\'; DROP ROLE admin; --", "e"};
	assert_null(sql_template_render(CREATE, &backslash, err, sizeof err));
	sql_values_t ctl = {"tg", "a\nb", "e"};
	assert_null(sql_template_render(CREATE, &ctl, err, sizeof err));
	sql_values_t missing = {"tg", NULL, "e"};
	assert_null(sql_template_render(CREATE, &missing, err, sizeof err));
	/* a value the template does not use may be absent */
	sql_values_t only_name = {"tg", NULL, NULL};
	char *out = sql_template_render("DROP ROLE {{name}}", &only_name, err, sizeof err);
	assert_non_null(out);
	free(out);
	assert_null(sql_template_render("DROP ROLE {{nom}}", &only_name, err, sizeof err));
}

static void test_role_name(void **state)
{
	(void)state;
	uint8_t rnd[SQL_ROLE_RANDOM] = {0x00, 0x11, 0xab, 0xcd, 0xef, 0x01, 0x23, 0xff};
	char name[SQL_ROLE_MAX + 1];
	sql_role_name("App-DB.ro", rnd, name);
	assert_string_equal(name, "tg_app_db_ro_0011abcdef0123ff");
	assert_true(sql_role_name_valid(name));
	sql_role_name("A-very-long-secret-name-that-goes-on-and-on-and-on-for-128-characters", rnd, name);
	assert_true(sql_role_name_valid(name));
	assert_true(strlen(name) <= SQL_ROLE_MAX);
	assert_string_equal(name, "tg_a_very_long_secret_name__0011abcdef0123ff");
	assert_false(sql_role_name_valid("tg_A"));
	assert_false(sql_role_name_valid("9tg"));
	assert_true(sql_role_name_valid("_tg9"));
}

static void test_expiry(void **state)
{
	(void)state;
	char t[SQL_EXPIRY_TEXT];
	sql_expiry_text(TU_NOW, t);
	assert_string_equal(t, "2023-11-14 22:13:20+00");
	sql_expiry_text(0, t);
	assert_string_equal(t, "1970-01-01 00:00:00+00");
	sql_expiry_text(951782400 - 1, t); /* the day before 2000-02-29 ends */
	assert_string_equal(t, "2000-02-28 23:59:59+00");
}

static json_t *def(void)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:i}", "driver", "postgres", "dsn", "host=/tmp user=admin dbname=app",
			      "password_file", "/etc/tg/pg-admin", "creation", CREATE, "max_ttl", 3600);
	assert_non_null(d);
	return d;
}

static int parse(json_t *d, dyn_role_t *out, char *err, size_t err_len)
{
	int rc = dynamic_role_parse(d, out, err, err_len);
	json_decref(d);
	return rc;
}

static void test_definition(void **state)
{
	(void)state;
	dyn_role_t r;
	char err[300];
	assert_int_equal(parse(def(), &r, err, sizeof err), 0);
	assert_int_equal(r.max_ttl, 3600);
	assert_int_equal(r.default_ttl, 3600);
	assert_null(r.revocation);
	assert_string_equal(r.conn.dsn, "host=/tmp user=admin dbname=app");
	assert_string_equal(r.conn.password_file, "/etc/tg/pg-admin");
	dynamic_role_free(&r);

	json_t *d = def();
	json_object_set_new(d, "revocation", json_string("REASSIGN OWNED BY {{name}} TO CURRENT_USER; DROP ROLE {{name}}"));
	json_object_set_new(d, "default_ttl", json_integer(60));
	json_object_set_new(d, "max_ttl", json_integer(120));
	assert_int_equal(parse(d, &r, err, sizeof err), 0);
	assert_int_equal(r.default_ttl, 60);
	assert_non_null(r.revocation);
	dynamic_role_free(&r);

	d = def(); /* a short max_ttl is the default too */
	json_object_set_new(d, "max_ttl", json_integer(5));
	assert_int_equal(parse(d, &r, err, sizeof err), 0);
	assert_int_equal(r.default_ttl, 5);
	dynamic_role_free(&r);
}

/* A definition with member set to v (NULL: removed) is refused, err naming what. */
static void refused(const char *member, json_t *v, const char *what)
{
	dyn_role_t r;
	char err[300] = "";
	json_t *d = def();
	if (v != NULL)
		json_object_set_new(d, member, v);
	else
		json_object_del(d, member);
	if (parse(d, &r, err, sizeof err) == 0)
		fail_msg("%s accepted", member);
	if (strstr(err, what) == NULL)
		fail_msg("%s: \"%s\" does not say \"%s\"", member, err, what);
}

static void test_definition_refused(void **state)
{
	(void)state;
	refused("creation", NULL, "creation");
	refused("creation", json_integer(1), "creation");
	refused("creation", json_string("CREATE ROLE {{name}} LOGIN"), "{{password}}");
	refused("creation", json_string("CREATE ROLE {{name}} PASSWORD {{pass}}"), "unknown placeholder");
	refused("creation", json_string("CREATE ROLE '{{name}}' PASSWORD {{password}}"), "inside a quoted");
	refused("revocation", json_string("DROP ROLE x"), "{{name}}");
	refused("revocation", json_string("ALTER ROLE {{name}} PASSWORD {{password}}"), "not {{password}}");
	refused("revocation", json_string("ALTER ROLE {{name}} VALID UNTIL {{expiry}}"), "{{expiry}}");
	refused("max_ttl", NULL, "max_ttl");
	refused("max_ttl", json_integer(0), "max_ttl");
	refused("max_ttl", json_integer(DYN_MAX_TTL + 1), "max_ttl");
	refused("max_ttl", json_string("60"), "max_ttl");
	refused("default_ttl", json_integer(3601), "default_ttl");
	refused("role", json_string("app"), "role");
	refused("driver", json_string("exec"), "postgres");
	refused("dsn", json_string("host=/tmp password=x"), "password");
	refused("password_file", NULL, "password");
	refused("extra", json_true(), "extra");
	char *big = malloc(SQL_TEMPLATE_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', SQL_TEMPLATE_MAX + 1);
	big[SQL_TEMPLATE_MAX + 1] = '\0';
	memcpy(big, "CREATE ROLE {{name}} PASSWORD {{password}}", 42);
	refused("creation", json_string(big), "8192");
	free(big);
}

static void test_lease_ttl(void **state)
{
	(void)state;
	dyn_role_t d = {.max_ttl = 600, .default_ttl = 300};
	assert_int_equal(dynamic_lease_ttl(&d, 0, TU_NOW, TU_NOW + 1000, 0), 300);
	assert_int_equal(dynamic_lease_ttl(&d, 60, TU_NOW, TU_NOW + 1000, 0), 60);
	assert_int_equal(dynamic_lease_ttl(&d, 6000, TU_NOW, TU_NOW + 1000, 0), 600);
	assert_int_equal(dynamic_lease_ttl(&d, 0, TU_NOW, TU_NOW + 100, 0), 100);   /* the token's exp */
	assert_int_equal(dynamic_lease_ttl(&d, 0, TU_NOW, TU_NOW + 100, TU_NOW + 40), 40); /* the grant's end */
	assert_int_equal(dynamic_lease_ttl(&d, 0, TU_NOW, TU_NOW, 0), 0);
	assert_int_equal(dynamic_lease_ttl(&d, 0, TU_NOW, TU_NOW + 100, TU_NOW - 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_check_size),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_render_refuses_values),
		cmocka_unit_test(test_role_name),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_definition),
		cmocka_unit_test(test_definition_refused),
		cmocka_unit_test(test_lease_ttl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
