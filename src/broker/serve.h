/* serve.h - the serve command and the master key file helpers that the
 * CLI's `keys master` shares. */
#ifndef TG_SERVE_H
#define TG_SERVE_H
#include "broker/signer.h"
#include <stddef.h>
#include <stdint.h>

int cmd_serve(int argc, char **argv);
int serve_load_master_key(const char *path, uint8_t out[MASTER_KEY_LEN], char *err, size_t err_len);
/* Writes 32 random bytes as hex, 0600. */
int serve_create_master_key(const char *path);

#endif
