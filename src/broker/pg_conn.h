/* pg_conn.h - the libpq pieces the PostgreSQL secret code shares (the
 * rotation driver, secret_driver_pg.c, and the lease roles,
 * secret_leases_pg.c): a connection to a target, libpq's error text on
 * one line, one statement. */
#ifndef TG_PG_CONN_H
#define TG_PG_CONN_H
#include "core/rotation_driver.h"
#include <libpq-fe.h>
#include <stddef.h>

/* "what: libpq's (or the server's) error text" on one line into err;
 * c NULL: out of memory. */
void pg_conn_error(PGconn *c, const char *what, char *err, size_t err_len);

/* How to connect to a target beyond its dsn, sslmode and timeout. */
typedef struct {
	const char *app;      /* application_name */
	const char *user;     /* NULL: the dsn's own */
	const char *password;
	const char *options;  /* server options ("-c lock_timeout=..."), or NULL */
} pg_login_t;

/* A connection to t's dsn with l (keywords after the expanded dsn override
 * it), in whatever state libpq left it (PQstatus), or NULL. */
PGconn *pg_conn_open(const rot_target_t *t, const pg_login_t *l);

/* pg_conn_open as the admin: the connection, or NULL with
 * "admin connection failed: ..." in err. */
PGconn *pg_conn_admin(const rot_target_t *t, const pg_login_t *l, char *err, size_t err_len);

/* Runs sql (no rows expected): 0, or -1 with "what: ..." in err. */
int pg_conn_exec(PGconn *c, const char *sql, const char *what, char *err, size_t err_len);

#endif
