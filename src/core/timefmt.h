/* timefmt.h - RFC 3339 UTC timestamps for API output. Pure. */
#ifndef TG_TIMEFMT_H
#define TG_TIMEFMT_H
#include <stdint.h>

#define RFC3339_LEN 21 /* "2026-11-28T14:37:17Z" + NUL */
void rfc3339(int64_t unix_s, char out[RFC3339_LEN]);
/* Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (UTC); -1 on anything else. */
int rfc3339_parse(const char *s, int64_t *out) __attribute__((warn_unused_result));
/* RFC 3339 string of t, or JSON null for 0 ("never"/"unset"). */
#include <jansson.h>
json_t *rfc3339_json(int64_t t);

#endif
