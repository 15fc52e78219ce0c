/* pg_conn.c - the libpq pieces the PostgreSQL secret code shares
 * (pg_conn.h): connecting to a target, the error text, one statement. */
#include "broker/pg_conn.h"
#include "core/errbuf.h"
#include <stdio.h>
#include <string.h>

void pg_conn_error(PGconn *c, const char *what, char *err, size_t err_len)
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

PGconn *pg_conn_open(const rot_target_t *t, const pg_login_t *l)
{
	char timeout[24];
	const char *keys[8], *vals[8];
	int n = 0;
	snprintf(timeout, sizeof timeout, "%lld", (long long)t->timeout);
	keys[n] = "dbname", vals[n++] = t->dsn;
	keys[n] = "password", vals[n++] = l->password;
	keys[n] = "connect_timeout", vals[n++] = timeout;
	keys[n] = "application_name", vals[n++] = l->app;
	if (l->options != NULL)
		keys[n] = "options", vals[n++] = l->options;
	if (l->user != NULL)
		keys[n] = "user", vals[n++] = l->user;
	if (t->sslmode[0] != '\0')
		keys[n] = "sslmode", vals[n++] = t->sslmode;
	keys[n] = NULL, vals[n] = NULL;
	return PQconnectdbParams(keys, vals, 1);
}

PGconn *pg_conn_admin(const rot_target_t *t, const pg_login_t *l, char *err, size_t err_len)
{
	PGconn *c = pg_conn_open(t, l);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		pg_conn_error(c, "admin connection failed", err, err_len);
		PQfinish(c);
		return NULL;
	}
	return c;
}

int pg_conn_exec(PGconn *c, const char *sql, const char *what, char *err, size_t err_len)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		pg_conn_error(c, what, err, err_len);
	PQclear(r);
	return ok ? 0 : -1;
}
