/* secret_leases_pg.c - dynamic roles at a PostgreSQL target over libpq
 * (secret_leases.h): the admin connection, creating a lease's role with
 * the rendered creation template (the password as a client-side SCRAM
 * verifier), and revoking roles in batches with the check that they are
 * gone. Role names are generated ([a-z0-9_], core/sql_template.h), so the
 * array literals below need no escaping; they are checked anyway. */
#include "broker/pg_conn.h"
#include "broker/secret_leases.h"
#include "core/errbuf.h"
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VERIFY_POLLS 50       /* 50 x 100 ms for terminated sessions to go */
#define LOCK_TIMEOUT_MS 5000  /* a DROP that waits on a lock fails instead */

PGconn *lease_pg_connect(const dyn_role_t *d, const char *admin_password, char *err, size_t err_len)
{
	char opts[96];
	snprintf(opts, sizeof opts, "-c lock_timeout=%d -c statement_timeout=%lld", LOCK_TIMEOUT_MS,
		 (long long)d->conn.timeout * 1000);
	return pg_conn_admin(&d->conn, &(pg_login_t){"tollgate-leases", NULL, admin_password, opts}, err, err_len);
}

int lease_pg_create(PGconn *c, const dyn_role_t *d, const char *role, const char *password, int64_t expires_at,
		    char *err, size_t err_len)
{
	char expiry[SQL_EXPIRY_TEXT];
	int rc = -1;
	char *sql = NULL, *hash = PQencryptPasswordConn(c, password, role, NULL);
	if (hash == NULL) {
		pg_conn_error(c, "cannot hash the password", err, err_len);
		return -1;
	}
	sql_expiry_text(expires_at, expiry);
	sql = sql_template_render(d->creation, &(sql_values_t){role, hash, expiry}, err, err_len);
	/* the simple query protocol runs the statements as one transaction */
	if (sql != NULL)
		rc = pg_conn_exec(c, sql, "the creation template failed", err, err_len);
	if (sql != NULL)
		sodium_memzero(sql, strlen(sql));
	sodium_memzero(hash, strlen(hash));
	PQfreemem(hash);
	free(sql);
	return rc;
}

/* '{"a","b"}': a text[] literal of the roles, malloc'd. */
static char *roles_array(const char *const *roles, size_t n)
{
	size_t cap = 3;
	for (size_t i = 0; i < n; i++)
		cap += strlen(roles[i]) + 3;
	char *out = malloc(cap), *o = out;
	if (out == NULL)
		return NULL;
	*o++ = '{';
	for (size_t i = 0; i < n; i++) {
		if (!sql_role_name_valid(roles[i])) {
			free(out);
			return NULL;
		}
		o += sprintf(o, "%s\"%s\"", i ? "," : "", roles[i]);
	}
	strcpy(o, "}");
	return out;
}

/* Runs a one-parameter ($1 = the roles' text[]) query; its result (the
 * caller clears it), or NULL with why. */
static PGresult *query_roles(PGconn *c, const char *sql, const char *array, const char *what, char *err,
			     size_t err_len)
{
	PGresult *r = PQexecParams(c, sql, 1, NULL, &array, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_conn_error(c, what, err, err_len);
		PQclear(r);
		return NULL;
	}
	return r;
}

static int terminate_sessions(PGconn *c, const char *array, char *err, size_t err_len)
{
	PGresult *r = query_roles(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ANY($1::text[])",
				  array, "cannot terminate the roles' sessions", err, err_len);
	PQclear(r);
	return r != NULL ? 0 : -1;
}

/* Appends text to the growing buffer *out (len, cap): 0, or -1 out of memory. */
static int append(char **out, size_t *len, size_t *cap, const char *text)
{
	size_t n = strlen(text);
	if (*len + n + 1 > *cap) {
		size_t want = (*len + n + 1) * 2;
		char *more = realloc(*out, want);
		if (more == NULL)
			return -1;
		*out = more;
		*cap = want;
	}
	memcpy(*out + *len, text, n + 1);
	*len += n;
	return 0;
}

/* The statements that revoke the roles of the result: the revocation
 * template once per role, or the built-in ones naming all the roles at
 * once (REASSIGN OWNED, DROP OWNED and DROP ROLE take lists). malloc'd, or
 * NULL with why. */
static char *drop_sql(const dyn_role_t *d, PGresult *existing, char *err, size_t err_len)
{
	char *out = NULL, *one = NULL, quoted[SQL_ROLE_MAX + 4];
	size_t len = 0, cap = 0;
	int ok = 0, n = PQntuples(existing);
	if (d->revocation != NULL) {
		for (int i = 0; i < n && ok == 0; i++) {
			one = sql_template_render(d->revocation, &(sql_values_t){PQgetvalue(existing, i, 0), NULL, NULL},
						  err, err_len);
			ok = one == NULL || append(&out, &len, &cap, one) != 0 || append(&out, &len, &cap, ";\n") != 0
				     ? -1
				     : 0;
			free(one);
		}
		return ok == 0 ? out : (free(out), NULL);
	}
	char *list = NULL;
	size_t llen = 0, lcap = 0;
	for (int i = 0; i < n && ok == 0; i++) {
		const char *role = PQgetvalue(existing, i, 0);
		if (!sql_role_name_valid(role)) {
			tg_errf(err, err_len, "a lease's role name is not one Tollgate generates");
			ok = -1;
			break;
		}
		snprintf(quoted, sizeof quoted, "%s\"%s\"", i ? ", " : "", role);
		ok = append(&list, &llen, &lcap, quoted);
	}
	const char *const parts[] = {"REASSIGN OWNED BY ", list, " TO CURRENT_USER; DROP OWNED BY ", list,
				     "; DROP ROLE ", list};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0] && ok == 0; i++)
		ok = append(&out, &len, &cap, parts[i]);
	free(list);
	if (ok != 0 && err[0] == '\0')
		tg_errf(err, err_len, "out of memory");
	return ok == 0 ? out : (free(out), NULL);
}

/* Revokes, in one transaction (one simple query), each role of the result
 * that still exists. */
static int drop_existing(PGconn *c, const dyn_role_t *d, PGresult *existing, char *err, size_t err_len)
{
	if (PQntuples(existing) == 0)
		return 0;
	err[0] = '\0';
	char *sql = drop_sql(d, existing, err, err_len);
	int rc = sql != NULL ? pg_conn_exec(c, sql, "the revocation failed", err, err_len) : -1;
	free(sql);
	return rc;
}

/* Neither role nor session of the roles is left (sessions that were told
 * to terminate get up to VERIFY_POLLS x 100 ms to go). */
static int verify_gone(PGconn *c, const char *array, char *err, size_t err_len)
{
	PGresult *r = query_roles(c, "SELECT count(*) FROM pg_roles WHERE rolname = ANY($1::text[])", array,
				  "cannot verify the revocation", err, err_len);
	long roles = r != NULL ? atol(PQgetvalue(r, 0, 0)) : -1;
	PQclear(r);
	if (roles != 0) {
		if (roles > 0)
			tg_errf(err, err_len, "%ld role(s) still exist after the revocation", roles);
		return -1;
	}
	for (int i = 0; i < VERIFY_POLLS; i++) {
		r = query_roles(c, "SELECT count(*) FROM pg_stat_activity WHERE usename = ANY($1::text[])", array,
				"cannot verify the revocation", err, err_len);
		long sessions = r != NULL ? atol(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		if (sessions <= 0)
			return sessions == 0 ? 0 : -1;
		nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
	}
	tg_errf(err, err_len, "sessions of the revoked roles are still open");
	return -1;
}

int lease_pg_revoke(PGconn *c, const dyn_role_t *d, const char *const *roles, size_t n, char *err, size_t err_len)
{
	char *array = roles_array(roles, n);
	int rc = -1;
	if (array == NULL) {
		tg_errf(err, err_len, "a lease's role name is not one Tollgate generates");
		return -1;
	}
	PGresult *existing = NULL;
	if (terminate_sessions(c, array, err, err_len) == 0 &&
	    (existing = query_roles(c, "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[])", array,
				    "cannot list the roles", err, err_len)) != NULL &&
	    drop_existing(c, d, existing, err, err_len) == 0 && terminate_sessions(c, array, err, err_len) == 0)
		rc = verify_gone(c, array, err, err_len);
	PQclear(existing);
	free(array);
	return rc;
}
