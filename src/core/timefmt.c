/* timefmt.c - RFC 3339 formatting. */
#include "core/timefmt.h"
#include <stdio.h>
#include <time.h>

void rfc3339(int64_t unix_s, char out[RFC3339_LEN])
{
	struct tm tm;
	time_t t = (time_t)unix_s;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, RFC3339_LEN, "invalid");
}
