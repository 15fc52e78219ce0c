/* log.c - JSON lines to stderr, one write(2) per line so lines from several
 * threads never interleave. */
#include "shell/log.h"
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static log_level_t min_level = LOG_INFO;
static const char *const names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level_t l) { min_level = l; }

int log_level_parse(const char *s, log_level_t *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = (log_level_t)i;
			return 0;
		}
	return -1;
}

void log_event(log_level_t l, const char *msg, ...)
{
	char ts[40];
	struct timespec now;
	struct tm tm;
	va_list ap;
	if (l < min_level)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof ts - n, ".%06ldZ", now.tv_nsec / 1000);
	json_t *o = json_pack("{s:s, s:s, s:s}", "time", ts, "level", names[l], "msg", msg);
	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (k == NULL)
			break;
		const char *v = va_arg(ap, const char *);
		json_object_set_new(o, k, v ? json_string(v) : json_null());
	}
	va_end(ap);
	char *line = json_dumps(o, JSON_COMPACT);
	if (line != NULL) {
		size_t len = strlen(line);
		line[len] = '\n';
		ssize_t w = write(STDERR_FILENO, line, len + 1);
		(void)w;
		free(line);
	}
	json_decref(o);
}
