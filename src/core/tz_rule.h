/* tz_rule.h - POSIX TZ strings (the TZif footer, RFC 8536 section 3.3):
 * parsed into offsets and two yearly dates, and evaluated at an instant.
 * Internal to the zone code (tz.h). Pure. */
#ifndef TG_TZ_RULE_H
#define TG_TZ_RULE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One yearly change: kind 'M' (month m, week w 1..5 where 5 is the last,
 * weekday d 0..6 from Sunday), 'J' (day n 1..365 not counting Feb 29) or
 * 'N' (day n 0..365 counting it), at `time` seconds of local time then in
 * force (-167..167 hours). */
typedef struct {
	char kind;
	uint8_t m, w, d;
	uint16_t n;
	int32_t time;
} tz_rule_date_t;

typedef struct {
	int32_t std_off; /* seconds east of Greenwich */
	int32_t dst_off;
	bool has_dst;
	tz_rule_date_t start, end; /* DST starts (in standard time), ends (in DST) */
} tz_rule_t;

/* 0, or -1 with err. */
int tz_rule_parse(const char *s, size_t len, tz_rule_t *out, char *err, size_t errlen);
/* The offset at t, and in *next an instant > t before which it does not
 * change (INT64_MAX when it never does). */
int32_t tz_rule_offset(const tz_rule_t *r, int64_t t, int64_t *next);

#endif
