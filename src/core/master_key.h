/* master_key.h - the master key file's format, pure: 32 bytes that seal
 * every private key at rest, kept as 64 hex digits and a newline (32 raw
 * bytes are read too). The broker reads the file (`serve`), the CLI and
 * dev mode write it (`keys master`); each does its own I/O. */
#ifndef TG_MASTER_KEY_H
#define TG_MASTER_KEY_H
#include <stddef.h>
#include <stdint.h>

#define MASTER_KEY_LEN 32
#define MASTER_KEY_TEXT_LEN (2 * MASTER_KEY_LEN + 1) /* hex digits and the newline */

/* The file's text for key: 64 hex digits and "\n", NUL-terminated. */
void master_key_format(const uint8_t key[MASTER_KEY_LEN], char out[MASTER_KEY_TEXT_LEN + 1]);
/* The key in a file's text (trailing CR/LF ignored): 32 raw bytes or 64
 * hex digits. 0, or -1 for anything else. */
int master_key_parse(const char *text, size_t len, uint8_t out[MASTER_KEY_LEN]) __attribute__((warn_unused_result));

#endif
