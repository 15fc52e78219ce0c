/* master_key.c - the master key file's format (master_key.h). */
#include "core/master_key.h"
#include "core/b64url.h"
#include <string.h>

void master_key_format(const uint8_t key[MASTER_KEY_LEN], char out[MASTER_KEY_TEXT_LEN + 1])
{
	hex_encode_to(key, MASTER_KEY_LEN, out);
	out[2 * MASTER_KEY_LEN] = '\n';
	out[MASTER_KEY_TEXT_LEN] = '\0';
}

int master_key_parse(const char *text, size_t len, uint8_t out[MASTER_KEY_LEN])
{
	char hex[2 * MASTER_KEY_LEN + 1];
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == MASTER_KEY_LEN) {
		memcpy(out, text, MASTER_KEY_LEN);
		return 0;
	}
	if (len != 2 * MASTER_KEY_LEN)
		return -1;
	memcpy(hex, text, len);
	hex[len] = '\0';
	return hex_decode(hex, out, MASTER_KEY_LEN); /* a NUL inside shortens it: refused */
}
