/* serve.h - the serve command, and reading a master key file. */
#ifndef TG_SERVE_H
#define TG_SERVE_H
#include "broker/signer.h"
#include <stddef.h>
#include <stdint.h>

int cmd_serve(int argc, char **argv);
int serve_load_master_key(const char *path, uint8_t out[MASTER_KEY_LEN], char *err, size_t err_len);

#endif
