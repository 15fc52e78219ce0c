/* civil.h - the proleptic Gregorian calendar in whole days: days since
 * 1970-01-01 from a date and back, weekdays, month lengths, and floor
 * division for turning seconds into days. Pure; the zone code (tz.h) and
 * the change windows (change_window.h) count local days with it. */
#ifndef TG_CIVIL_H
#define TG_CIVIL_H
#include <stdbool.h>
#include <stdint.h>

bool civil_leap(int64_t y);
/* 28..31; m is 1..12. */
int civil_month_days(int64_t y, int m);
/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil); m 1..12,
 * d 1..31, |y| below 2^40. */
int64_t civil_days(int64_t y, int m, int d);
/* The inverse. */
void civil_from_days(int64_t days, int64_t *y, int *m, int *d);
/* 0 = Sunday .. 6 = Saturday. */
int civil_weekday(int64_t days);
/* a / b rounded towards minus infinity (b > 0). */
int64_t civil_floor_div(int64_t a, int64_t b);

#endif
