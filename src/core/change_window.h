/* change_window.h - change windows (issue 9), pure: a named, scheduled
 * window attached to resources (devices, zones, APIs) in a time zone; a
 * grant for a resource under change control is active only inside one,
 * and policies may test context.change_window. This file owns the window
 * document and its schedule arithmetic; the caller reads the zone file
 * (tz.h) named by "timezone" and passes the clock. No I/O.
 *
 * The document:
 *   {"name": "line3-maintenance",
 *    "resources": ["Zone::\"line-3\"", "Device:plc-7"],
 *    "timezone": "Europe/Berlin",
 *    "schedule": S}
 * where S is one of
 *   {"start": "2026-12-07T02:00", "end": "2026-12-07T06:00"}   one-off
 *   {"every": "day", "from": "22:00", "to": "02:00"}            daily
 *   {"every": "week", "days": ["sat", "sun"], "from": "02:00", "to": "06:00"}
 * One-off times are YYYY-MM-DDTHH:MM[:SS] (years 1970..9999), local to the
 * zone, or fixed instants with a Z or [+-]HH:MM suffix. Recurring times are
 * HH:MM local; "to" may be "24:00", and a "to" at or before "from" ends on
 * the next day (crossing midnight); "from" == "to" is refused. An
 * occurrence belongs to the day it starts on ("days" name that day).
 *
 * Local times become instants by tz_local_to_utc: a time skipped by a
 * forward change moves forward by the gap, a repeated one is the earlier
 * instant. So on the day Berlin springs forward a 02:00-06:00 window is
 * 03:00-06:00 CEST (three hours), on the day it falls back 02:00 CEST to
 * 06:00 CET (five hours); an occurrence whose end does not come after its
 * start that day (02:00-03:00 on the spring day) does not happen. */
#ifndef TG_CHANGE_WINDOW_H
#define TG_CHANGE_WINDOW_H
#include "core/limits.h"
#include "core/tz.h"
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CW_MAX_RESOURCES    64
#define CW_MAX_RESOURCE_LEN 512              /* bytes of one reference, as sent and as Type::"id" */
#define CW_MAX_TZ_NAME      64               /* bytes of "timezone" */
#define CW_MAX_ONCE         (366 * 86400LL)  /* a one-off window's length */
#define CW_MERGE_DAYS       7                /* cw_open_at looks this far for back-to-back occurrences */
#define CW_SCAN_DAYS        371              /* cw_next_open looks this far ahead */

typedef enum { CW_ONCE, CW_DAILY, CW_WEEKLY } cw_every_t;

/* A one-off bound: local seconds (days * 86400 + seconds into the day)
 * in the window's zone, or, when fixed, in the given offset (the instant
 * is local - off). */
typedef struct {
	int64_t local;
	bool fixed;
	int32_t off;
} cw_time_t;

typedef struct {
	char name[TG_MAX_ID_LEN + 1];
	char timezone[CW_MAX_TZ_NAME + 1];
	size_t n_resources;
	char *resources[CW_MAX_RESOURCES]; /* Cedar text Type::"id", unique, in the order sent */
	cw_every_t every;
	cw_time_t start, end; /* CW_ONCE */
	uint8_t days;         /* CW_WEEKLY: bit d for weekday d, 0 = Sunday */
	int32_t from, to;     /* recurring: seconds into the local day; to is 60..86400 */
} cw_t;

/* The document above, every member required and no other allowed. NULL
 * and *out (release with cw_free), or why it is refused, naming the member
 * ("\"schedule.days[2]\" must be one of mon, tue, ..."), possibly in buf,
 * which should hold 256 bytes. Resources take the forms Type::"id" and
 * Type:id (pol_euid_parse_text) and are kept as Type::"id". */
const char *cw_parse(const json_t *doc, cw_t **out, char *buf, size_t len);
void cw_free(cw_t *w);
/* The normalized document: resources as Type::"id", days in week order
 * from Monday, times without seconds unless they have some, an offset of
 * zero as Z. cw_parse reads it back to an equal window. New reference. */
json_t *cw_json(const cw_t *w);

/* A zone name safe to look up as a file under a zoneinfo directory:
 * 1..CW_MAX_TZ_NAME bytes, parts separated by '/', each starting with a
 * letter and made of A-Z a-z 0-9 . _ + - ("Europe/Berlin", "Etc/GMT+5",
 * "UTC"). */
bool cw_timezone_name_valid(const char *s);
/* True when the window is attached to Type::"id". */
bool cw_has_resource(const cw_t *w, const char *type, const char *id);

/* True when now lies inside an occurrence of w, in the zone tz (the one
 * its "timezone" names). Then *ends_at (may be NULL) is when the window
 * closes: the end of that occurrence, or of the last of the occurrences
 * that follow it back to back (each starting at or before the previous
 * one's end), looking at most CW_MERGE_DAYS days on. */
bool cw_open_at(const cw_t *w, const tz_t *tz, int64_t now, int64_t *ends_at);
/* The earliest start at or after `after` of an occurrence of w, or -1
 * when there is none (a one-off window that started before `after`; a
 * recurring one looks CW_SCAN_DAYS days ahead). */
int64_t cw_next_open(const cw_t *w, const tz_t *tz, int64_t after);

#endif
