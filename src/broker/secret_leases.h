/* secret_leases.h - dynamic database credentials in the broker
 * (docs/secrets.md, "Dynamic database credentials"):
 *   secret_leases_api.c  the API: dynamic role definitions, lease creation
 *                        for workloads, the operators' list and revoke;
 *   secret_leases.c      the revoker: one thread that ends due leases and
 *                        revokes their roles in batches, retrying failures
 *                        with back-off, alerting and auditing;
 *   secret_leases_pg.c   what both do at the PostgreSQL target, over libpq. */
#ifndef TG_SECRET_LEASES_H
#define TG_SECRET_LEASES_H
#include "broker/broker.h"
#include "broker/http.h"
#include "core/access_token.h"
#include "core/sql_template.h"
#include <libpq-fe.h>

/* ---- the API (secret_leases_api.c; routes.c) ---- */

void handle_secret_dynamic_put(req_t *r);
void handle_secret_dynamic_get(req_t *r);
void handle_secret_lease(req_t *r);
void handle_lease_list(req_t *r);
void handle_lease_show(req_t *r);
void handle_lease_revoke(req_t *r);

/* ---- the revoker (secret_leases.c) ---- */

/* Starts the revoker's thread: 0, or -1. */
int lease_revoker_start(broker_t *b);
/* Stops it (a batch in flight finishes first). Safe when never started. */
void lease_revoker_stop(void);
/* Runs a pass now (a lease was ended by an operator). */
void lease_revoker_wake(void);

/* Serializes the work at the target of one dynamic secret in this broker:
 * concurrent GRANTs and DROP OWNEDs on the same objects update the same
 * catalog rows, and PostgreSQL fails one of them ("tuple concurrently
 * updated"). Striped by the name's hash. */
void lease_target_lock(const char *name);
void lease_target_unlock(const char *name);
/* Creates a lease's role (lease_pg_create) over the admin connection kept
 * from its previous creation (a new one when there is none, or it was
 * closed): 0, or -1 with why. The caller holds lease_target_lock(name)
 * from before the lease's row is written: a revocation of the lease (its
 * token revoked meanwhile) then runs after the role exists and drops it. */
int lease_create_role(broker_t *b, const char *name, const dyn_role_t *d, const char *role, const char *password,
		      int64_t expires_at, char *err, size_t err_len);

/* The admin password of a definition's connection: its password_file, or
 * the current value of its password_secret. malloc'd (wipe it with
 * secret_driver_wipe), or NULL with why in err. */
char *lease_admin_password(broker_t *b, const rot_target_t *t, char *err, size_t err_len);
/* The stored definition of name, parsed: 0, STORE_NOT_FOUND's 1, or -1
 * (store failure or a stored document that no longer parses) with why. */
int lease_definition(broker_t *b, const char *name, dyn_role_t *out, char *err, size_t err_len);

/* ---- at the target (secret_leases_pg.c) ---- */

/* The admin connection of a definition, with lock and statement timeouts
 * set; NULL with why in err. */
PGconn *lease_pg_connect(const dyn_role_t *d, const char *admin_password, char *err, size_t err_len);
/* Creates role with password (hashed here, client-side: the server and its
 * statement log see the SCRAM verifier only) valid until expires_at, by
 * the creation template, in one transaction. 0, or -1 with why. */
int lease_pg_create(PGconn *c, const dyn_role_t *d, const char *role, const char *password, int64_t expires_at,
		    char *err, size_t err_len);
/* Revokes the n roles: terminates their sessions, runs the revocation
 * template once per role that still exists (or REASSIGN OWNED, DROP OWNED
 * and DROP ROLE naming all of them), in one transaction, terminates what logged in
 * meanwhile, then verifies that no role remains (a role that does not
 * exist cannot log in) and no session of theirs is left. 0, or -1 with
 * why (nothing of the transaction applied). */
int lease_pg_revoke(PGconn *c, const dyn_role_t *d, const char *const *roles, size_t n, char *err, size_t err_len);

/* ---- the workload's read authorization (secret_delivery.c) ---- */

/* Scope coverage of secret.read@Secret:NAME and a policy decision now,
 * exactly as a value read (a refusal answered and audited secret.read):
 * 0 with the token's claims in *claims (tok_claims_free them), or -1. */
int secret_read_authorize(req_t *r, const char *name, tok_claims_t *claims);

#endif
