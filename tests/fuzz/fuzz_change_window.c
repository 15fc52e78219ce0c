/* fuzz_change_window.c - change windows and the zones they are read in
 * (core/change_window.h, core/tz.h) on arbitrary input:
 *   WINDOW-JSON [NUL ZONE]
 * where ZONE is the bytes of a TZif file when it starts with "TZif", else
 * a POSIX TZ string; without it the zone is UTC. Whatever is accepted
 * keeps its promises: a zone's offsets are bounded and every local time
 * that occurs resolves to an instant with that local time (the instant
 * itself unless it occurs twice); an accepted window is within its
 * bounds, its normalized form reads back to the same form, and at sample
 * instants cw_open_at and cw_next_open agree (open until ends_at, the
 * next opening is open). */
#include "core/change_window.h"
#include "core/identity_json.h"
#include "fuzz_util.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The zone after the NUL, or NULL when refused; *owned when it must be freed. */
static const tz_t *read_zone(const uint8_t *p, size_t n, bool present, tz_t **owned)
{
	char err[256];
	*owned = NULL;
	if (!present)
		return tz_utc();
	int rc = n >= 4 && memcmp(p, "TZif", 4) == 0 ? tz_parse(p, n, owned, err, sizeof err)
						       : tz_parse_rule((const char *)p, n, owned, err, sizeof err);
	if (rc != 0) {
		fz_require(*owned == NULL, "no zone on failure");
		fz_require(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0', "a refusal says why");
	}
	return *owned;
}

static void check_instant(const tz_t *z, int64_t t)
{
	int32_t off = tz_utc_offset(z, t);
	int64_t u = 0;
	fz_require(off >= -TZ_MAX_OFFSET && off <= TZ_MAX_OFFSET, "offset bounded");
	if (t < TZ_MIN_TIME + TZ_MAX_OFFSET || t > TZ_MAX_TIME - TZ_MAX_OFFSET)
		return;
	int rc = tz_local_to_utc(z, t + off, &u);
	fz_require(rc == TZ_LOCAL_EXACT || rc == TZ_LOCAL_OVERLAP, "a local time that occurs is not a gap");
	fz_require(rc == TZ_LOCAL_EXACT ? u == t : u <= t, "the instant, or an earlier one");
	fz_require(u + tz_utc_offset(z, u) == t + off, "the instant has that local time");
	/* t read as a local time: any case, but an occurring one round-trips. */
	rc = tz_local_to_utc(z, t, &u);
	fz_require(rc >= 0, "in range");
	if (rc != TZ_LOCAL_GAP)
		fz_require(u + tz_utc_offset(z, u) == t, "resolved local time");
}

static void check_zone(const tz_t *z)
{
	static const int64_t fixed[] = {0, -2208988800LL, 2147483647LL, 1774746000LL, 1792890000LL,
					2531955600LL, TZ_MIN_TIME, TZ_MAX_TIME, INT64_MIN, INT64_MAX};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		check_instant(z, fixed[i]);
	for (int64_t k = -12; k <= 12; k++)
		check_instant(z, FZ_NOW + k * 5399);
}

static void check_round_trip(const cw_t *w)
{
	char buf[256];
	cw_t *again = NULL;
	json_t *j = cw_json(w), *j2;
	fz_require(j != NULL, "cw_json");
	fz_require(cw_parse(j, &again, buf, sizeof buf) == NULL, "the normalized form is accepted");
	j2 = cw_json(again);
	fz_require(json_equal(j, j2), "the normalized form reads back to itself");
	json_decref(j);
	json_decref(j2);
	cw_free(again);
}

static void check_times(const cw_t *w, const tz_t *z, int64_t t)
{
	int64_t ends = 0, next;
	if (cw_open_at(w, z, t, &ends)) {
		fz_require(ends > t, "open until later");
		fz_require(cw_open_at(w, z, ends - 1, NULL), "open until ends_at");
	}
	next = cw_next_open(w, z, t);
	fz_require(next == -1 || next >= t, "the next opening is not earlier");
	if (next >= 0)
		fz_require(cw_open_at(w, z, next, NULL), "open at the next opening");
}

static void check_window(const cw_t *w, const tz_t *z)
{
	fz_require(identity_name_valid(w->name), "name valid");
	fz_require(cw_timezone_name_valid(w->timezone), "timezone valid");
	fz_require(w->n_resources >= 1 && w->n_resources <= CW_MAX_RESOURCES, "resources bounded");
	fz_require(w->every == CW_ONCE || (w->from >= 0 && w->from < 86400 && w->to > 0 && w->to <= 86400 &&
					   w->to != w->from), "times of day bounded");
	fz_require(w->every != CW_WEEKLY || (w->days != 0 && w->days < 128), "days bounded");
	check_round_trip(w);
	int64_t base = w->every == CW_ONCE ? w->start.local - w->start.off : FZ_NOW;
	static const int64_t steps[] = {-86400 * 8, -86400, -3600, -1, 0, 1, 1800, 3600 * 5, 86400, 86400 * 3};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
		check_times(w, z, base + steps[i]);
	check_times(w, z, INT64_MIN);
	check_times(w, z, INT64_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t jlen = nul ? (size_t)(nul - data) : size;
	tz_t *owned;
	const tz_t *z = read_zone(nul ? nul + 1 : data, nul ? size - jlen - 1 : 0, nul != NULL, &owned);
	if (z != NULL && owned != NULL)
		check_zone(z);
	json_t *doc = json_loadb((const char *)data, jlen, 0, NULL);
	cw_t *w = NULL;
	char buf[256];
	if (doc != NULL && cw_parse(doc, &w, buf, sizeof buf) == NULL) {
		fz_require(w != NULL, "a window when accepted");
		check_window(w, z != NULL ? z : tz_utc());
	} else {
		fz_require(w == NULL, "no window when refused");
	}
	cw_free(w);
	json_decref(doc);
	tz_free(owned);
	return 0;
}
