/* errbuf.h - writing a sentence into a caller's (err, err_len) buffer, the
 * error convention of the core's parsers and loaders. */
#ifndef TG_ERRBUF_H
#define TG_ERRBUF_H
#include <stddef.h>

/* printf into err (when err is not NULL and err_len > 0). */
void tg_errf(char *err, size_t err_len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
