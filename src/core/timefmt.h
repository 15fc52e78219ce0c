/* timefmt.h - RFC 3339 UTC timestamps for API output. Pure. */
#ifndef TG_TIMEFMT_H
#define TG_TIMEFMT_H
#include <stdint.h>

#define RFC3339_LEN 21 /* "2026-11-28T14:37:17Z" + NUL */
void rfc3339(int64_t unix_s, char out[RFC3339_LEN]);

#endif
