/* ext.h - Cedar's extension types as pure functions: ip addresses and
 * ranges, fixed-point decimals, datetimes and durations. Parsing follows the
 * Cedar reference exactly (what it accepts and refuses); arithmetic reports
 * overflow instead of wrapping. Used by the evaluator for ip(), decimal(),
 * datetime(), duration() and their methods, and by the JSON loader for
 * {"__extn": ...} values. */
#ifndef TG_POL_EXT_H
#define TG_POL_EXT_H
#include "core/policy/value.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ip("192.168.0.1"), ip("10.0.0.0/8"), ip("::1"), ip("2001:db8::/32").
 * 0, or -1 when s is not an address Cedar accepts. */
int pol_ip_parse(const char *s, size_t len, pol_ip_t *out);
bool pol_ip_eq(const pol_ip_t *a, const pol_ip_t *b);
bool pol_ip_is_v4(const pol_ip_t *a);
bool pol_ip_is_v6(const pol_ip_t *a);
bool pol_ip_is_loopback(const pol_ip_t *a);
bool pol_ip_is_multicast(const pol_ip_t *a);
/* a.isInRange(range): every address of a is inside range. */
bool pol_ip_in_range(const pol_ip_t *a, const pol_ip_t *range);
size_t pol_ip_render(const pol_ip_t *a, char *buf, size_t size);

/* decimal("12.3456"): value * 10^4 in *out; -1 when malformed or out of
 * range. */
int pol_decimal_parse(const char *s, size_t len, int64_t *out);
size_t pol_decimal_render(int64_t d, char *buf, size_t size);

/* datetime("2024-10-15"), datetime("2024-10-15T11:35:00Z"),
 * "...T11:35:00.123Z", "...T11:35:00+0100": milliseconds since the epoch. */
int pol_datetime_parse(const char *s, size_t len, int64_t *out_ms);
/* duration("1d2h3m4s5ms"), "-1h": milliseconds. */
int pol_duration_parse(const char *s, size_t len, int64_t *out_ms);
/* The methods; each returns -1 on overflow. */
int pol_datetime_offset(int64_t dt, int64_t dur, int64_t *out);
int pol_datetime_duration_since(int64_t dt, int64_t other, int64_t *out);
int pol_datetime_to_date(int64_t dt, int64_t *out);
int64_t pol_datetime_to_time(int64_t dt);
size_t pol_datetime_render(int64_t ms, char *buf, size_t size);
size_t pol_duration_render(int64_t ms, char *buf, size_t size);

#endif
