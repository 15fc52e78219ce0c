/* secret_driver.h - rotation drivers: what the rotation engine asks of a
 * target system (docs/secrets.md, "Rotation drivers"). Three operations,
 * each blocking for at most the target's timeout:
 *   set     make `new_value` the credential the target accepts (`old_value`
 *           is the one it replaces, for drivers that need it);
 *   verify  does the target accept `value`? (a fresh login, or the
 *           operator's program's answer);
 *   revoke  make the target refuse `old_value` (`current` stays).
 * One file per driver: secret_driver_pg.c (PostgreSQL over libpq),
 * secret_driver_exec.c (an operator's program, JSON over stdin/stdout),
 * secret_driver_webhook.c (the same JSON POSTed over HTTP(S)). Error texts
 * never hold a credential (a program's own error text is redacted when it
 * echoes one). */
#ifndef TG_SECRET_DRIVER_H
#define TG_SECRET_DRIVER_H
#include "core/rotation_driver.h"
#include <stddef.h>

typedef enum {
	DRV_ERROR = -1,  /* the step could not be done, or its answer cannot be told */
	DRV_OK = 0,      /* done; for verify: the credential works */
	DRV_REFUSED = 1, /* verify only: the target refused the credential */
} drv_rc_t;

typedef struct {
	const rot_target_t *target;
	const char *secret;         /* the secret's name (exec/webhook requests) */
	const char *admin_password; /* postgres: the admin connection's password */
} drv_ctx_t;

typedef struct {
	drv_rc_t (*set)(const drv_ctx_t *c, const char *new_value, const char *old_value, char *err, size_t err_len);
	drv_rc_t (*verify)(const drv_ctx_t *c, const char *value, char *err, size_t err_len);
	drv_rc_t (*revoke)(const drv_ctx_t *c, const char *old_value, const char *current, char *err,
			   size_t err_len);
} secret_driver_t;

extern const secret_driver_t secret_driver_pg;
extern const secret_driver_t secret_driver_exec;
extern const secret_driver_t secret_driver_webhook;

/* The driver of a target's kind. */
const secret_driver_t *secret_driver_for(const rot_target_t *t);

/* The admin password of a postgres target's password_file: the file's
 * first line, at most 1 KiB, refused when the file is readable by group or
 * others. malloc'd (zero and free it), or NULL with why in err. */
char *secret_driver_read_password_file(const char *path, char *err, size_t err_len);

/* What an exec or webhook answer body means for op: DRV_OK, DRV_REFUSED
 * (verify answered ok:false), or DRV_ERROR with why in err (a malformed
 * answer, or set/revoke answered ok:false: "the target refused: ...").
 * The answer's error text is redacted where it holds new_value or
 * old_value. */
drv_rc_t secret_driver_answer(rot_op_t op, const char *body, size_t len, const char *new_value,
			      const char *old_value, char *err, size_t err_len);

/* Zeroes and frees a string that held a credential (NULL is fine). */
void secret_driver_wipe(char *s);

#endif
