/* rotation_driver.h - the pure half of the rotation drivers
 * (docs/secrets.md, "Rotation drivers"): a secret's rotation target
 * document (which driver, and its settings) parsed and bounded; the JSON
 * request the exec and webhook drivers send; and the strict parse of their
 * one-line JSON answer. No I/O: the drivers in src/broker/secret_driver_*.c
 * run the processes, connections and HTTP calls. */
#ifndef TG_ROTATION_DRIVER_H
#define TG_ROTATION_DRIVER_H
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROT_MAX_TARGET_DOC (8 * 1024)   /* the target document, serialized */
#define ROT_MAX_DSN 1024
#define ROT_MAX_PATH 1024
#define ROT_MAX_URL 2048
#define ROT_MAX_ROLE 63                 /* PostgreSQL's NAMEDATALEN - 1 */
#define ROT_MAX_ARGS 16
#define ROT_MAX_ARG 1024
#define ROT_MAX_ANSWER 4096             /* an exec or webhook answer, bytes */
#define ROT_MAX_ANSWER_ERROR 512
#define ROT_DEFAULT_DRIVER_TIMEOUT 10   /* seconds */
#define ROT_MAX_DRIVER_TIMEOUT 300
#define ROT_MAX_SECRET_NAME 128
#define ROT_MAX_RETRY 86400             /* seconds */

typedef enum { ROT_DRIVER_POSTGRES, ROT_DRIVER_EXEC, ROT_DRIVER_WEBHOOK } rot_driver_kind_t;

typedef enum { ROT_OP_SET, ROT_OP_VERIFY, ROT_OP_REVOKE } rot_op_t;

typedef struct {
	rot_driver_kind_t kind;
	int64_t timeout; /* seconds, every driver */
	int64_t retry_base, retry_max; /* back-off after a failed step, seconds (core/rotation.h) */
	/* postgres */
	char dsn[ROT_MAX_DSN + 1];             /* keyword=value, no password */
	char password_file[ROT_MAX_PATH + 1];  /* the admin password: a file ... */
	char password_secret[ROT_MAX_SECRET_NAME + 1]; /* ... or another secret's current value */
	char role[ROT_MAX_ROLE + 1];           /* the role whose password rotates */
	char sslmode[16];                      /* "" = libpq's default */
	/* exec */
	char command[ROT_MAX_PATH + 1];        /* absolute path, run without a shell */
	char *args[ROT_MAX_ARGS + 1];          /* argv[1..], NULL-terminated (malloc'd) */
	/* webhook */
	char url[ROT_MAX_URL + 1];
	/* exec and webhook: passed to the program as "target" (a JSON object, owned) */
	json_t *config;
} rot_target_t;

/* {"driver":"postgres","dsn":"host=... user=admin dbname=...","role":"app",
 *   ("password_file":"/abs" | "password_secret":"NAME"), "sslmode"?, "timeout"?}
 * {"driver":"exec","command":"/abs/path","args"?:["..."],"config"?:{...},"timeout"?}
 * {"driver":"webhook","url":"https://... | http://...","config"?:{...},"timeout"?}
 * timeout: whole seconds 1..ROT_MAX_DRIVER_TIMEOUT. Every driver also takes
 * "retry_base" and "retry_max", the back-off after a failed step (whole
 * seconds, 1..ROT_MAX_RETRY, base <= max; defaults 30 and 3600). Unknown members are
 * refused. A dsn naming a password (or passfile) is refused: the admin
 * password never sits in the document. 0, or -1 with why in err naming the
 * member. rotation_target_free releases args and config. */
int rotation_target_parse(const json_t *doc, rot_target_t *out, char *err, size_t err_len);
void rotation_target_free(rot_target_t *t);
const char *rotation_driver_name(rot_driver_kind_t k);
const char *rotation_op_name(rot_op_t op);

/* The request of the exec and webhook drivers, one JSON object:
 * {"op":"set"|"verify"|"revoke","secret":NAME,"target":CONFIG,"new":VALUE,"old":VALUE}
 * ("new" and "old" only when not NULL). malloc'd; the caller zeroes and
 * frees it (it holds credentials). NULL on allocation failure. */
char *rotation_request_json(rot_op_t op, const char *secret, const json_t *config, const char *new_value,
			    const char *old_value);

/* The answer: exactly one JSON object {"ok":bool,"error"?:string} (at most
 * ROT_MAX_ANSWER bytes, surrounding whitespace allowed, no other member,
 * error at most ROT_MAX_ANSWER_ERROR bytes without control characters).
 * 0 with *ok and the error text ("" when none) in error_out, or -1 with
 * why in err. */
int rotation_answer_parse(const char *buf, size_t len, bool *ok, char error_out[ROT_MAX_ANSWER_ERROR + 1],
			  char *err, size_t err_len);

/* True when a PostgreSQL role name is one the driver accepts: 1..63
 * bytes of letters, digits, '_', '-', '.' (it is quoted as an identifier
 * anyway). */
bool rotation_role_valid(const char *role);

#endif
