/* tz_rule.c - POSIX TZ strings (tz_rule.h): the parser, bounded to
 * TZ_MAX_RULE bytes, and the yearly changes they describe. */
#include "core/tz_rule.h"
#include "core/civil.h"
#include "core/errbuf.h"
#include "core/tz.h"
#include <string.h>

typedef struct {
	const char *s;
	size_t len, i;
	char *err;
	size_t errlen;
} cur_t;

static int fail(cur_t *c, const char *what)
{
	tg_errf(c->err, c->errlen, "TZ string \"%.*s\": %s (byte %zu)", (int)(c->len > 64 ? 64 : c->len), c->s,
		what, c->i);
	return -1;
}

static char peek(const cur_t *c)
{
	return c->i < c->len ? c->s[c->i] : '\0';
}

static bool digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool letter(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Consumes ch when it is next. */
static bool eat(cur_t *c, char ch)
{
	if (peek(c) != ch)
		return false;
	c->i++;
	return true;
}

/* A zone abbreviation: 3 or more letters, or <3 or more of A-Za-z0-9+->. */
static int parse_name(cur_t *c, bool dst)
{
	size_t start = c->i;
	bool quoted = peek(c) == '<';
	if (quoted) {
		c->i++;
		while (letter(peek(c)) || digit(peek(c)) || peek(c) == '+' || peek(c) == '-')
			c->i++;
		if (!eat(c, '>'))
			return fail(c, dst ? "the daylight time name needs its closing '>'"
					   : "the standard time name needs its closing '>'");
	} else {
		while (letter(peek(c)))
			c->i++;
	}
	if (c->i - start - (quoted ? 2 : 0) < 3)
		return fail(c, dst ? "the daylight time name needs 3 or more letters"
				   : "the standard time name needs 3 or more letters");
	return 0;
}

/* Up to `ndigits` digits, at most max. */
static int parse_num(cur_t *c, int ndigits, int max, int *out)
{
	int v = 0, n = 0;
	while (n < ndigits && digit(peek(c))) {
		v = v * 10 + (c->s[c->i++] - '0');
		n++;
	}
	if (n == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* [+-]hh[:mm[:ss]] with hh at most max_h: seconds. */
static int parse_hms(cur_t *c, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, s = 0;
	if (eat(c, '-'))
		sign = -1;
	else
		eat(c, '+');
	if (parse_num(c, 3, max_h, &h) != 0)
		return -1;
	if (eat(c, ':') && (parse_num(c, 2, 59, &m) != 0 || (eat(c, ':') && parse_num(c, 2, 59, &s) != 0)))
		return -1;
	*out = sign * (h * 3600 + m * 60 + s);
	return 0;
}

/* A POSIX offset (positive west) as seconds east of Greenwich. */
static int parse_offset(cur_t *c, int32_t *out)
{
	int32_t v;
	if (parse_hms(c, 24, &v) != 0)
		return fail(c, "an offset must be [+-]hh[:mm[:ss]] with hh at most 24");
	*out = -v;
	return 0;
}

static int parse_date(cur_t *c, tz_rule_date_t *d)
{
	int a, b, e;
	memset(d, 0, sizeof *d);
	d->time = 7200;
	if (eat(c, 'J')) {
		if (parse_num(c, 3, 365, &a) != 0 || a < 1)
			return fail(c, "a Jn date needs n from 1 to 365");
		d->kind = 'J';
		d->n = (uint16_t)a;
	} else if (eat(c, 'M')) {
		if (parse_num(c, 2, 12, &a) != 0 || a < 1 || !eat(c, '.') || parse_num(c, 1, 5, &b) != 0 ||
		    b < 1 || !eat(c, '.') || parse_num(c, 1, 6, &e) != 0)
			return fail(c, "an Mm.w.d date needs m 1..12, w 1..5 and d 0..6");
		d->kind = 'M';
		d->m = (uint8_t)a;
		d->w = (uint8_t)b;
		d->d = (uint8_t)e;
	} else {
		if (parse_num(c, 3, 365, &a) != 0)
			return fail(c, "a rule date must be Mm.w.d, Jn or n");
		d->kind = 'N';
		d->n = (uint16_t)a;
	}
	if (eat(c, '/')) {
		if (parse_hms(c, 167, &d->time) != 0)
			return fail(c, "a rule time must be [+-]hh[:mm[:ss]] with hh at most 167");
	}
	return 0;
}

int tz_rule_parse(const char *s, size_t len, tz_rule_t *out, char *err, size_t errlen)
{
	cur_t c = {s, len, 0, err, errlen};
	memset(out, 0, sizeof *out);
	if (len == 0 || len > TZ_MAX_RULE || memchr(s, '\0', len) != NULL)
		return fail(&c, "must be 1 to 128 bytes without NUL");
	if (parse_name(&c, false) != 0 || parse_offset(&c, &out->std_off) != 0)
		return -1;
	if (c.i == len)
		return 0;
	if (parse_name(&c, true) != 0)
		return -1;
	out->has_dst = true;
	out->dst_off = out->std_off + 3600;
	if ((digit(peek(&c)) || peek(&c) == '+' || peek(&c) == '-') && parse_offset(&c, &out->dst_off) != 0)
		return -1;
	if (!eat(&c, ','))
		return fail(&c, "a zone with daylight time needs ,start[/time],end[/time]");
	if (parse_date(&c, &out->start) != 0)
		return -1;
	if (!eat(&c, ','))
		return fail(&c, "expected ',' and the end of daylight time");
	if (parse_date(&c, &out->end) != 0)
		return -1;
	if (c.i != len)
		return fail(&c, "unexpected text after the rule");
	return 0;
}

/* The day (since 1970-01-01) a date falls on in year y. */
static int64_t date_day(const tz_rule_date_t *d, int64_t y)
{
	int64_t jan1 = civil_days(y, 1, 1);
	if (d->kind == 'J')
		return jan1 + d->n - 1 + (civil_leap(y) && d->n >= 60);
	if (d->kind == 'N')
		return jan1 + d->n;
	int64_t first = civil_days(y, d->m, 1);
	int64_t day = first + (d->d - civil_weekday(first) + 7) % 7 + 7 * (d->w - 1);
	while (day >= first + civil_month_days(y, d->m))
		day -= 7; /* week 5: the last such weekday */
	return day;
}

typedef struct {
	int64_t at;
	int32_t off;    /* in force from at */
	bool is_start;  /* at the same instant an end sorts first */
} change_t;

static bool change_before(const change_t *a, const change_t *b)
{
	return a->at < b->at || (a->at == b->at && !a->is_start && b->is_start);
}

/* The changes of years y-2..y+1, in order. A change of year Y falls
 * within a week and a day and a half of that year (times reach 167 hours,
 * offsets 26), and each kind comes later every year: so for an instant of
 * year y the last change at or before it is among these, and none outside
 * them comes before December y+1. */
#define NCHANGES 8
static void changes_around(const tz_rule_t *r, int64_t y, change_t ch[NCHANGES])
{
	for (int k = 0; k < NCHANGES / 2; k++) {
		ch[2 * k] = (change_t){date_day(&r->start, y - 2 + k) * 86400 + r->start.time - r->std_off,
				       r->dst_off, true};
		ch[2 * k + 1] = (change_t){date_day(&r->end, y - 2 + k) * 86400 + r->end.time - r->dst_off,
					   r->std_off, false};
	}
	for (int i = 1; i < NCHANGES; i++)
		for (int j = i; j > 0 && change_before(&ch[j], &ch[j - 1]); j--) {
			change_t t = ch[j];
			ch[j] = ch[j - 1];
			ch[j - 1] = t;
		}
}

int32_t tz_rule_offset(const tz_rule_t *r, int64_t t, int64_t *next)
{
	change_t ch[NCHANGES];
	if (!r->has_dst) {
		*next = INT64_MAX;
		return r->std_off;
	}
	int64_t tc = t < TZ_MIN_TIME ? TZ_MIN_TIME : t > TZ_MAX_TIME ? TZ_MAX_TIME : t;
	int64_t y;
	int m, d;
	civil_from_days(civil_floor_div(tc + r->std_off, 86400), &y, &m, &d);
	changes_around(r, y, ch);
	int32_t off = ch[0].is_start ? r->std_off : r->dst_off;
	*next = civil_days(y + 1, 12, 1) * 86400;
	for (int i = 0; i < NCHANGES; i++) {
		if (ch[i].at > tc) {
			*next = ch[i].at;
			break;
		}
		off = ch[i].off;
	}
	if (t > TZ_MAX_TIME)
		*next = INT64_MAX;
	else if (t < TZ_MIN_TIME)
		*next = TZ_MIN_TIME;
	else if (*next > TZ_MAX_TIME)
		*next = TZ_MAX_TIME + 1;
	return off;
}
