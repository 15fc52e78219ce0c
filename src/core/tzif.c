/* tzif.c - zones (tz.h): the TZif reader (RFC 8536), offsets at an
 * instant from the transition table or the footer's rule, and local
 * wall-clock times back to instants. */
#include "core/errbuf.h"
#include "core/tz.h"
#include "core/tz_rule.h"
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct tz {
	size_t n;       /* transitions */
	int64_t *at;    /* strictly ascending */
	int32_t *off;   /* offset from at[i] on */
	int32_t off0;   /* before at[0] (time type 0) */
	bool has_rule;  /* after the last transition (or always when n == 0) */
	tz_rule_t rule;
};

static const struct tz utc_zone = {.n = 0}; /* offset 0 always */

const tz_t *tz_utc(void)
{
	return &utc_zone;
}

void tz_free(tz_t *z)
{
	if (z == NULL || z == &utc_zone)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

/* ---- reading ------------------------------------------------------------- */

typedef struct {
	const uint8_t *p;
	size_t len, i;
} rd_t;

/* The 44-byte header's six counts. */
typedef struct {
	char version; /* 0, '2', '3', '4' */
	uint32_t isut, isstd, leap, time, type, chars;
} hdr_t;

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(rd_t *r, hdr_t *h, char *err, size_t errlen)
{
	if (r->len - r->i < 44 || memcmp(r->p + r->i, "TZif", 4) != 0) {
		tg_errf(err, errlen, "not a TZif file (no \"TZif\" header at byte %zu)", r->i);
		return -1;
	}
	const uint8_t *p = r->p + r->i;
	h->version = (char)p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4')) {
		tg_errf(err, errlen, "TZif version byte 0x%02x is not 0, '2', '3' or '4'", p[4]);
		return -1;
	}
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	r->i += 44;
	if (h->time > TZ_MAX_TIMES || h->type > TZ_MAX_TYPES || h->chars > TZ_MAX_CHARS || h->leap > 64 ||
	    h->isut > TZ_MAX_TYPES || h->isstd > TZ_MAX_TYPES) {
		tg_errf(err, errlen, "the header's counts are too large (at most %d transitions, %d types, "
			"%d designation bytes)", TZ_MAX_TIMES, TZ_MAX_TYPES, TZ_MAX_CHARS);
		return -1;
	}
	return 0;
}

/* Bytes of the data block after a header, times of tsize bytes. */
static size_t block_size(const hdr_t *h, size_t tsize)
{
	return h->time * (tsize + 1) + h->type * 6 + h->chars + h->leap * (tsize + 4) + h->isstd + h->isut;
}

/* The local time types: offsets checked, designation indexes in range. */
static int read_types(const uint8_t *p, const hdr_t *h, int32_t *offs, char *err, size_t errlen)
{
	for (uint32_t i = 0; i < h->type; i++, p += 6) {
		int32_t off = (int32_t)be32(p);
		if (off < -TZ_MAX_OFFSET || off > TZ_MAX_OFFSET) {
			tg_errf(err, errlen, "time type %u: UT offset %ld is outside +-25:59:59", i, (long)off);
			return -1;
		}
		if (p[4] > 1 || p[5] >= h->chars) {
			tg_errf(err, errlen, "time type %u: bad DST flag or designation index", i);
			return -1;
		}
		offs[i] = off;
	}
	return 0;
}

/* The indicators after the types: 0 or 1 each. */
static int read_flags(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] > 1) {
			tg_errf(err, errlen, "a standard/wall or UT/local indicator is not 0 or 1");
			return -1;
		}
	return 0;
}

/* The data block at r (times of tsize bytes) into z. */
static int read_block(rd_t *r, const hdr_t *h, size_t tsize, tz_t *z, char *err, size_t errlen)
{
	int32_t offs[TZ_MAX_TYPES];
	const uint8_t *p = r->p + r->i, *idx = p + h->time * tsize, *types = idx + h->time;
	const uint8_t *chars = types + h->type * 6;
	if (h->type == 0 || h->chars == 0 || (h->isstd != 0 && h->isstd != h->type) ||
	    (h->isut != 0 && h->isut != h->type)) {
		tg_errf(err, errlen, "the header's counts are inconsistent (no time type, no designation, or "
			"indicator counts other than 0 or the type count)");
		return -1;
	}
	if (h->leap != 0) {
		tg_errf(err, errlen, "leap seconds (a right/ zone) are not supported: use the posix zone");
		return -1;
	}
	if (read_types(types, h, offs, err, errlen) != 0 ||
	    read_flags(chars + h->chars, h->isstd + h->isut, err, errlen) != 0)
		return -1;
	if (chars[h->chars - 1] != '\0') {
		tg_errf(err, errlen, "the time zone designations do not end with NUL");
		return -1;
	}
	z->n = h->time;
	z->off0 = offs[0];
	z->at = malloc((z->n ? z->n : 1) * sizeof *z->at);
	z->off = malloc((z->n ? z->n : 1) * sizeof *z->off);
	if (z->at == NULL || z->off == NULL) {
		tg_errf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < z->n; i++) {
		z->at[i] = tsize == 8 ? be64(p + 8 * i) : (int64_t)(int32_t)be32(p + 4 * i);
		if (i > 0 && z->at[i] <= z->at[i - 1]) {
			tg_errf(err, errlen, "transition %zu is not after transition %zu", i, i - 1);
			return -1;
		}
		if (idx[i] >= h->type) {
			tg_errf(err, errlen, "transition %zu names time type %u of %u", i, idx[i], h->type);
			return -1;
		}
		z->off[i] = offs[idx[i]];
	}
	r->i += block_size(h, tsize);
	return 0;
}

/* "\n" TZ-string "\n" ending the file (version 2 and later). */
static int read_footer(rd_t *r, tz_t *z, char *err, size_t errlen)
{
	const char *s = (const char *)r->p + r->i;
	size_t left = r->len - r->i;
	const char *nl = left >= 2 && s[0] == '\n' ? memchr(s + 1, '\n', left - 1) : NULL;
	if (nl == NULL) {
		tg_errf(err, errlen, "footer: the TZ string must stand between two newlines after the data");
		return -1;
	}
	size_t n = (size_t)(nl - s - 1);
	if ((size_t)(nl - s) + 1 != left) {
		tg_errf(err, errlen, "footer: %zu unexpected bytes after it", left - (size_t)(nl - s) - 1);
		return -1;
	}
	if (n == 0)
		return 0;
	char why[200];
	if (tz_rule_parse(s + 1, n, &z->rule, why, sizeof why) != 0) {
		tg_errf(err, errlen, "footer: %s", why);
		return -1;
	}
	z->has_rule = true;
	return 0;
}

int tz_parse(const uint8_t *data, size_t len, tz_t **out, char *err, size_t errlen)
{
	rd_t r = {data, len, 0};
	hdr_t h;
	*out = NULL;
	if (len > TZ_MAX_FILE) {
		tg_errf(err, errlen, "a TZif file is at most %d bytes", TZ_MAX_FILE);
		return -1;
	}
	if (read_header(&r, &h, err, errlen) != 0)
		return -1;
	size_t tsize = 4;
	if (h.version != 0) { /* skip the 32-bit data for the 64-bit */
		if (len - r.i < block_size(&h, 4)) {
			tg_errf(err, errlen, "truncated: the version 1 data needs %zu bytes", block_size(&h, 4));
			return -1;
		}
		r.i += block_size(&h, 4);
		if (read_header(&r, &h, err, errlen) != 0)
			return -1;
		tsize = 8;
	}
	if (len - r.i < block_size(&h, tsize)) {
		tg_errf(err, errlen, "truncated: the data needs %zu bytes, %zu remain", block_size(&h, tsize),
			len - r.i);
		return -1;
	}
	tz_t *z = calloc(1, sizeof *z);
	if (z == NULL) {
		tg_errf(err, errlen, "out of memory");
		return -1;
	}
	if (read_block(&r, &h, tsize, z, err, errlen) != 0 ||
	    (tsize == 8 && read_footer(&r, z, err, errlen) != 0)) {
		tz_free(z);
		return -1;
	}
	*out = z;
	return 0;
}

int tz_parse_rule(const char *s, size_t len, tz_t **out, char *err, size_t errlen)
{
	tz_t *z = calloc(1, sizeof *z);
	*out = NULL;
	if (z == NULL) {
		tg_errf(err, errlen, "out of memory");
		return -1;
	}
	if (tz_rule_parse(s, len, &z->rule, err, errlen) != 0) {
		free(z);
		return -1;
	}
	z->has_rule = true;
	*out = z;
	return 0;
}

/* ---- lookup -------------------------------------------------------------- */

/* The offset at t, and in *next an instant > t before which it does not
 * change (INT64_MAX: never). */
static int32_t segment(const tz_t *z, int64_t t, int64_t *next)
{
	size_t lo = 0, hi = z->n; /* lo = transitions at or before t */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == z->n && z->has_rule)
		return tz_rule_offset(&z->rule, t, next);
	*next = lo < z->n ? z->at[lo] : INT64_MAX;
	return lo == 0 ? z->off0 : z->off[lo - 1];
}

int32_t tz_utc_offset(const tz_t *z, int64_t t)
{
	int64_t next;
	return segment(z, t, &next);
}

int tz_local_to_utc(const tz_t *z, int64_t local, int64_t *out)
{
	if (local < TZ_MIN_TIME || local > TZ_MAX_TIME)
		return -1;
	/* Every instant whose local time could be `local` lies within
	 * TZ_MAX_OFFSET of it: walk the offsets in force there, in order. */
	int64_t t = local - TZ_MAX_OFFSET - 1, hi = local + TZ_MAX_OFFSET + 1, first = 0, gap = 0, next;
	int found = 0;
	bool have_prev = false, have_gap = false;
	int32_t prev = 0;
	while (t <= hi) {
		int32_t off = segment(z, t, &next);
		int64_t u = local - off;
		/* A forward change at t skips local times [t + prev, t + off). */
		if (have_prev && !have_gap && off > prev && local - off < t && t <= local - prev) {
			have_gap = true;
			gap = local - prev;
		}
		if (u >= t && u < next && found++ == 0)
			first = u;
		prev = off;
		have_prev = true;
		if (next == INT64_MAX)
			break;
		t = next;
	}
	if (found > 0) {
		*out = first;
		return found > 1 ? TZ_LOCAL_OVERLAP : TZ_LOCAL_EXACT;
	}
	*out = have_gap ? gap : local - tz_utc_offset(z, local);
	return TZ_LOCAL_GAP;
}
