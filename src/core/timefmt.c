/* timefmt.c - RFC 3339 formatting. */
#include "core/timefmt.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

void rfc3339(int64_t unix_s, char out[RFC3339_LEN])
{
	struct tm tm;
	time_t t = (time_t)unix_s;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, RFC3339_LEN, "invalid");
}

int rfc3339_parse(const char *s, int64_t *out)
{
	struct tm tm;
	char back[RFC3339_LEN];
	memset(&tm, 0, sizeof tm);
	if (strlen(s) != RFC3339_LEN - 1)
		return -1;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*out = (int64_t)timegm(&tm);
	rfc3339(*out, back);
	return strcmp(back, s) == 0 ? 0 : -1; /* rejects 2026-02-31 and friends */
}

json_t *rfc3339_json(int64_t t)
{
	char buf[RFC3339_LEN];
	if (t == 0)
		return json_null();
	rfc3339(t, buf);
	return json_string(buf);
}
