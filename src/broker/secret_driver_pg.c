/* secret_driver_pg.c - the PostgreSQL rotation driver (secret_driver.h)
 * over libpq. The target: an admin connection (dsn without a password;
 * the password comes from a file or another secret) and the role whose
 * password rotates.
 *   set     ALTER ROLE "role" PASSWORD 'SCRAM-SHA-256$...': the password
 *           is hashed client-side (PQencryptPasswordConn, the server's
 *           password_encryption), so the server and its statement log never
 *           see it; the role is quoted with PQescapeIdentifier.
 *   verify  a fresh login as the role with the value (the dsn's host, port,
 *           dbname and sslmode): accepted -> works; an authentication
 *           refusal -> refused; a server that does not answer -> error.
 *   revoke  nothing to do: a PostgreSQL role holds one password, so the old
 *           one died when the new one was set, and a grace period cannot
 *           keep it (docs/secrets.md). The engine still verifies it is
 *           refused. */
#include "broker/secret_driver.h"
#include "core/errbuf.h"
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* libpq's error text on one line, without a trailing newline. */
static void conn_error(PGconn *c, const char *what, char *err, size_t err_len)
{
	char msg[400];
	snprintf(msg, sizeof msg, "%s", c != NULL ? PQerrorMessage(c) : "out of memory");
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t n = strlen(msg);
	while (n > 0 && msg[n - 1] == ' ')
		msg[--n] = '\0';
	tg_errf(err, err_len, "%s: %s", what, msg);
}

/* A connection with the target's dsn as user (NULL: the dsn's own) and
 * password. Keywords after the expanded dsn override it. */
static PGconn *connect_as(const rot_target_t *t, const char *user, const char *password)
{
	char timeout[24];
	const char *keys[8], *vals[8];
	int n = 0;
	snprintf(timeout, sizeof timeout, "%lld", (long long)t->timeout);
	keys[n] = "dbname", vals[n++] = t->dsn;
	keys[n] = "password", vals[n++] = password;
	keys[n] = "connect_timeout", vals[n++] = timeout;
	keys[n] = "application_name", vals[n++] = "tollgate-rotation";
	if (user != NULL)
		keys[n] = "user", vals[n++] = user;
	if (t->sslmode[0] != '\0')
		keys[n] = "sslmode", vals[n++] = t->sslmode;
	keys[n] = NULL, vals[n] = NULL;
	return PQconnectdbParams(keys, vals, 1);
}

static PGconn *admin_connect(const drv_ctx_t *c, char *err, size_t err_len)
{
	PGconn *conn;
	if (c->admin_password == NULL) {
		tg_errf(err, err_len, "no admin password for the postgres target");
		return NULL;
	}
	conn = connect_as(c->target, NULL, c->admin_password);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		conn_error(conn, "admin connection failed", err, err_len);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static drv_rc_t pg_set(const drv_ctx_t *c, const char *new_value, const char *old_value, char *err,
		       size_t err_len)
{
	drv_rc_t rc = DRV_ERROR;
	char *hash = NULL, *ident = NULL, *lit = NULL;
	char stmt[1024] = "";
	PGconn *conn = admin_connect(c, err, err_len);
	if (conn == NULL)
		return DRV_ERROR;
	hash = PQencryptPasswordConn(conn, new_value, c->target->role, NULL);
	if (hash == NULL) {
		conn_error(conn, "cannot hash the password", err, err_len);
		goto out;
	}
	ident = PQescapeIdentifier(conn, c->target->role, strlen(c->target->role));
	lit = PQescapeLiteral(conn, hash, strlen(hash));
	if (ident == NULL || lit == NULL) {
		conn_error(conn, "cannot quote the statement", err, err_len);
		goto out;
	}
	if ((size_t)snprintf(stmt, sizeof stmt, "ALTER ROLE %s PASSWORD %s", ident, lit) >= sizeof stmt) {
		tg_errf(err, err_len, "the statement is too long");
		goto out;
	}
	PGresult *r = PQexec(conn, stmt);
	if (PQresultStatus(r) == PGRES_COMMAND_OK)
		rc = DRV_OK;
	else
		conn_error(conn, "ALTER ROLE failed", err, err_len);
	PQclear(r);
out:
	sodium_memzero(stmt, sizeof stmt);
	if (hash != NULL)
		sodium_memzero(hash, strlen(hash));
	if (lit != NULL)
		sodium_memzero(lit, strlen(lit));
	PQfreemem(hash);
	PQfreemem(ident);
	PQfreemem(lit);
	PQfinish(conn);
	return rc;
}

/* Does the server refuse this login for its credentials (as opposed to
 * not answering)? libpq reports the server's FATAL text; with a server
 * whose messages are not in English, the admin connection decides: a
 * server that lets the admin in but not the role refused the role. */
static bool login_refused(const drv_ctx_t *c, const char *msg)
{
	static const char *const refusals[] = {"password authentication failed", "is not permitted to log in",
					       "does not exist", "authentication failed", "no pg_hba.conf entry"};
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++)
		if (strstr(msg, refusals[i]) != NULL)
			return true;
	char err[200];
	PGconn *admin = admin_connect(c, err, sizeof err);
	PQfinish(admin);
	return admin != NULL;
}

static drv_rc_t pg_verify(const drv_ctx_t *c, const char *value, char *err, size_t err_len)
{
	PGconn *conn = connect_as(c->target, c->target->role, value);
	drv_rc_t rc;
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		rc = DRV_OK;
	} else {
		conn_error(conn, "login as the role failed", err, err_len);
		rc = conn != NULL && login_refused(c, PQerrorMessage(conn)) ? DRV_REFUSED : DRV_ERROR;
	}
	PQfinish(conn);
	return rc;
}

static drv_rc_t pg_revoke(const drv_ctx_t *c, const char *old_value, const char *current, char *err,
			  size_t err_len)
{
	return DRV_OK; /* one password per role: set replaced it */
}

const secret_driver_t secret_driver_pg = {pg_set, pg_verify, pg_revoke};
