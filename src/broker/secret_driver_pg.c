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
#include "broker/pg_conn.h"
#include "broker/secret_driver.h"
#include "core/errbuf.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define APP_NAME "tollgate-rotation"

static PGconn *admin_connect(const drv_ctx_t *c, char *err, size_t err_len)
{
	if (c->admin_password == NULL) {
		tg_errf(err, err_len, "no admin password for the postgres target");
		return NULL;
	}
	/* the target's timeout bounds every statement too: an ALTER ROLE that
	 * waits on a lock fails instead of outliving the rotation lease */
	char opts[96];
	snprintf(opts, sizeof opts, "-c lock_timeout=%lld -c statement_timeout=%lld", (long long)c->target->timeout * 1000,
		 (long long)c->target->timeout * 1000);
	return pg_conn_admin(c->target, &(pg_login_t){APP_NAME, NULL, c->admin_password, opts}, err, err_len);
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
		pg_conn_error(conn, "cannot hash the password", err, err_len);
		goto out;
	}
	ident = PQescapeIdentifier(conn, c->target->role, strlen(c->target->role));
	lit = PQescapeLiteral(conn, hash, strlen(hash));
	if (ident == NULL || lit == NULL) {
		pg_conn_error(conn, "cannot quote the statement", err, err_len);
		goto out;
	}
	if ((size_t)snprintf(stmt, sizeof stmt, "ALTER ROLE %s PASSWORD %s", ident, lit) >= sizeof stmt) {
		tg_errf(err, err_len, "the statement is too long");
		goto out;
	}
	if (pg_conn_exec(conn, stmt, "ALTER ROLE failed", err, err_len) == 0)
		rc = DRV_OK;
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
	PGconn *conn = pg_conn_open(c->target, &(pg_login_t){APP_NAME, c->target->role, value, NULL});
	drv_rc_t rc;
	if (conn != NULL && PQstatus(conn) == CONNECTION_OK) {
		rc = DRV_OK;
	} else {
		pg_conn_error(conn, "login as the role failed", err, err_len);
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
