/* modbus_options.c - the options of a `modbus` line (modbus_options.h). */
#include "core/modbus_options.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int int_in(const char *v, long long lo, long long hi, long long *out)
{
	char *end = NULL;
	errno = 0;
	if (v[0] < '0' || v[0] > '9')
		return -1;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < lo || n > hi)
		return -1;
	*out = n;
	return 0;
}

/* units=1,2,17: unit ids 0..255, comma-separated. */
static int parse_units(const char *v, bool allowed[256])
{
	char buf[TG_EDGE_MAX_OPT_VALUE + 1];
	snprintf(buf, sizeof buf, "%s", v);
	memset(allowed, 0, 256 * sizeof *allowed);
	if (buf[0] == '\0' || buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,") != NULL)
		return -1; /* strtok_r would skip the empty item */
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		long long u;
		if (int_in(t, 0, 255, &u) != 0)
			return -1;
		allowed[u] = true;
	}
	return 0;
}

static int parse_one(const edge_option_t *opt, mb_options_t *o)
{
	const char *k = opt->key, *v = opt->value;
	long long n;
	if (strcmp(k, "units") == 0)
		return parse_units(v, o->unit_allowed);
	if (strcmp(k, "stale") == 0) {
		if (strcmp(v, "reads") == 0)
			o->stale = MB_STALE_READS;
		else if (strcmp(v, "closed") == 0)
			o->stale = MB_STALE_CLOSED;
		else if (strcmp(v, "open") == 0)
			o->stale = MB_STALE_OPEN;
		else
			return -1;
		return 0;
	}
	if (strcmp(k, "reads") == 0) {
		if (strcmp(v, "full") != 0 && strcmp(v, "minute") != 0)
			return -1;
		o->reads_full = strcmp(v, "full") == 0;
		return 0;
	}
	static const struct {
		const char *key;
		long long lo, hi;
	} ints[] = {{"max_conn", 1, 4096}, {"max_outstanding", 1, 64}, {"idle_timeout", 1, 86400},
		    {"upstream_timeout", 10, 60000}, {"rate", 0, 100000}};
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		if (strcmp(k, ints[i].key) != 0)
			continue;
		if (int_in(v, ints[i].lo, ints[i].hi, &n) != 0)
			return -1;
		switch (i) {
		case 0: o->max_conn = (int)n; break;
		case 1: o->max_outstanding = (int)n; break;
		case 2: o->idle_timeout_ms = n * 1000; break;
		case 3: o->upstream_timeout_ms = n; break;
		default: o->rate = (int)n; break;
		}
		return 0;
	}
	return -2;
}

int mb_options_parse(const edge_modbus_t *m, mb_options_t *o, char *why, size_t why_len)
{
	memset(o, 0, sizeof *o);
	for (size_t u = 0; u < 256; u++)
		o->unit_allowed[u] = true;
	o->max_conn = 16;
	o->max_outstanding = 8;
	o->idle_timeout_ms = 60 * 1000;
	o->upstream_timeout_ms = 2000;
	o->stale = MB_STALE_READS;
	for (size_t i = 0; i < m->n_opt; i++) {
		int rc = parse_one(&m->opt[i], o);
		if (rc == -2) {
			snprintf(why, why_len,
				 "modbus line %d: unknown option %s (units, max_conn, max_outstanding, idle_timeout, "
				 "upstream_timeout, rate, stale, reads)", m->line, m->opt[i].key);
			return -1;
		}
		if (rc != 0) {
			snprintf(why, why_len, "modbus line %d: bad value for %s: %s (see docs/edge.md)", m->line,
				 m->opt[i].key, m->opt[i].value);
			return -1;
		}
	}
	return 0;
}
