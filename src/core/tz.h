/* tz.h - time zones without libc's TZ: a zone is read from the bytes of a
 * TZif file (RFC 8536, versions 1 to 4; the 64-bit data of version 2 and
 * later, and its footer's POSIX TZ string for the times after the last
 * transition) or from a POSIX TZ string alone, and answers two questions:
 * the UT offset at an instant, and the instant of a local wall-clock time.
 * No I/O, no clock, no environment: callers pass bytes and times.
 *
 * Files are untrusted input: at most TZ_MAX_FILE bytes, header counts
 * bounded below, every index and offset checked, transitions strictly
 * ascending, nothing read past the end. Leap-second files (the right/
 * zones) are refused: Tollgate counts Unix seconds. Times are Unix seconds;
 * "local seconds" are wall-clock seconds since 1970-01-01T00:00 local
 * (days * 86400 + seconds into the day). Both are supported for the years
 * 0000..9999 (TZ_MIN_TIME..TZ_MAX_TIME); offsets outside are clamped. */
#ifndef TG_TZ_H
#define TG_TZ_H
#include <stddef.h>
#include <stdint.h>

#define TZ_MAX_FILE   (256 * 1024) /* bytes of a TZif file */
#define TZ_MAX_TIMES  2000         /* transitions (tzcode's TZ_MAX_TIMES) */
#define TZ_MAX_TYPES  256          /* local time types */
#define TZ_MAX_CHARS  256          /* bytes of time zone designations */
#define TZ_MAX_RULE   128          /* bytes of a POSIX TZ string */
#define TZ_MAX_OFFSET 93599        /* |UT offset| in seconds (25:59:59, RFC 8536) */
#define TZ_MIN_TIME   (-62167219200LL) /* 0000-01-01T00:00:00Z */
#define TZ_MAX_TIME   253402300799LL   /* 9999-12-31T23:59:59Z */

typedef struct tz tz_t;

/* A zone from the bytes of a TZif file. 0 and *out (release with tz_free),
 * or -1 with a sentence in err ("transition 4 is not after transition 3",
 * "footer: ..."). */
int tz_parse(const uint8_t *data, size_t len, tz_t **out, char *err, size_t errlen);
/* A zone from a POSIX TZ string alone (what a TZif footer holds):
 * STDoffset[DST[offset],start[/time],end[/time]] with names as letters or
 * <...>, offsets [+-]hh[:mm[:ss]] (positive west of Greenwich, as in
 * POSIX), dates Mm.w.d, Jn (1..365, no Feb 29) or n (0..365), and times
 * -167..167 hours (RFC 8536's extension; default 02:00). A DST zone must
 * give its rules. len bytes of s, at most TZ_MAX_RULE. */
int tz_parse_rule(const char *s, size_t len, tz_t **out, char *err, size_t errlen);
/* The zone "UTC" (offset 0 always), static: never tz_free it. */
const tz_t *tz_utc(void);
void tz_free(tz_t *z);

/* Seconds east of Greenwich in z at the instant t: local = t + offset. */
int32_t tz_utc_offset(const tz_t *z, int64_t t);

typedef enum {
	TZ_LOCAL_EXACT,   /* the local time occurs once */
	TZ_LOCAL_GAP,     /* skipped by a forward change: moved forward */
	TZ_LOCAL_OVERLAP, /* repeated by a backward change: the earlier one */
} tz_local_t;
/* The instant of the local wall-clock time `local` (local seconds) in *out,
 * and which of the three cases it was, or -1 when local lies outside
 * TZ_MIN_TIME..TZ_MAX_TIME. Deterministic at changes of offset: a local
 * time in a gap moves forward by the length of the gap (it is read with
 * the offset before the change, so 02:30 on the day Berlin springs from
 * 02:00 to 03:00 is 03:30 CEST, as RFC 5545 and java.time do); a local
 * time that occurs twice is the earlier instant (02:30 on the day Berlin
 * falls back from 03:00 to 02:00 is 02:30 CEST). */
int tz_local_to_utc(const tz_t *z, int64_t local, int64_t *out);

#endif
