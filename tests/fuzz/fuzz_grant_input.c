/* fuzz_grant_input.c - the JIT grant parsers (core/grant.h) on arbitrary
 * input: as JSON, the POST /v1/grants body (grant_request_parse) and the
 * approve/deny/cancel/end/revoke notes (grant_note_parse); as text, a
 * duration, a state name and a grant id. Whatever is accepted lies within
 * the bounds of docs/grants.md. */
#include "core/grant.h"
#include "core/identity_json.h"
#include "core/policy/ext.h"
#include "core/scope.h"
#include "fuzz_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1..max bytes, none of them a control character. */
static int text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return n >= 1 && n <= max;
}

static void check_request(const json_t *doc)
{
	static const grant_bounds_t b = {FZ_NOW, TG_DEFAULT_GRANT_MAX_DURATION};
	grant_request_t r;
	char buf[160];
	scope_set_t set;
	const char *why = NULL;
	pol_ip_t ip;
	if (grant_request_parse(doc, &b, &r, buf, sizeof buf) != NULL)
		return;
	fz_require(identity_name_valid(r.identity), "identity valid");
	fz_require(scope_parse(r.scope, &set, &why) == 0, "scope parses");
	scope_free(&set);
	fz_require(r.duration >= TG_GRANT_MIN_DURATION && r.duration <= b.max_duration, "duration bounded");
	fz_require(text_ok(r.reason, TG_MAX_GRANT_REASON), "reason bounded, no control characters");
	size_t tl = strlen(r.ticket);
	fz_require(tl <= TG_MAX_GRANT_TICKET, "ticket bounded");
	for (size_t i = 0; i < tl; i++)
		fz_require(r.ticket[i] >= 0x20 && r.ticket[i] < 0x7f, "ticket printable ASCII");
	fz_require(r.start >= b.now && r.start <= b.now + TG_GRANT_START_AHEAD, "start bounded");
	fz_require(r.source[0] == '\0' || pol_ip_parse(r.source, strlen(r.source), &ip) == 0, "source an ip");
}

static void check_notes(const json_t *doc)
{
	static const char *const members[] = {"comment", "reason"};
	char out[TG_MAX_GRANT_REASON + 1], buf[160];
	for (int m = 0; m < 2; m++)
		for (int required = 0; required < 2; required++) {
			if (grant_note_parse(doc, members[m], required, out, buf, sizeof buf) != NULL)
				continue;
			if (out[0] != '\0' || required)
				fz_require(text_ok(out, TG_MAX_GRANT_REASON), "note bounded, no control characters");
		}
}

static void check_text(const uint8_t *data, size_t size)
{
	char *s = fz_cstr(data, size);
	int64_t d = -1, again = -1;
	grant_state_t st;
	if (grant_duration_parse(s, &d) == 0) {
		char back[32];
		fz_require(d >= 0, "duration not negative");
		if (d < 1000000000000LL) { /* twelve digits: bare seconds take those too */
			snprintf(back, sizeof back, "%lld", (long long)d);
			fz_require(grant_duration_parse(back, &again) == 0 && again == d, "seconds round trip");
			snprintf(back, sizeof back, "%llds", (long long)d);
			fz_require(grant_duration_parse(back, &again) == 0 && again == d, "1s units round trip");
		}
	}
	if (grant_state_parse(s, &st) == 0)
		fz_require(strcmp(grant_state_name(st), s) == 0, "state name round trip");
	if (grant_id_valid(s))
		fz_require(strlen(s) == TG_GRANT_ID_LEN && s[0] == 'g' && s[1] == '-', "grant id shape");
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_ALLOW_NUL, NULL);
	check_text(data, size);
	if (doc == NULL)
		return 0;
	check_request(doc);
	check_notes(doc);
	json_decref(doc);
	return 0;
}
