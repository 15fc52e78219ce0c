/* fuzz_monitor.c - the behaviour monitor's readers (core/monitor*.h) on
 * arbitrary input. As JSON: an object is read as an audit record
 * (mon_event_from_record) and as a stored baseline (mon_engine_load),
 * an array as a stream of records fed to an engine whose learning window
 * is short, so that every detector runs. A baseline that loads must
 * write back to the same document and go on judging events; every
 * finding names a known detector and severity and carries its evidence.
 * As text, the input is also a monitor_contain rule list. */
#include "core/monitor.h"
#include "core/monitor_contain.h"
#include "fuzz_util.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXF 16

static mon_engine_t *engine(void)
{
	mon_params_t p;
	mon_params_default(&p);
	p.learning_window = 60;
	p.hours_min_events = 2;
	p.deny_burst = 3;
	p.cooldown = 0;
	p.max_identities = 8;
	fz_require(mon_params_operator_ranges(&p, "10.8.0.0/16") == NULL, "operator range");
	mon_engine_t *e = mon_engine_new(&p);
	fz_require(e != NULL, "engine");
	return e;
}

static void feed(mon_engine_t *e, const json_t *rec)
{
	mon_event_t ev;
	mon_finding_t f[MAXF];
	if (mon_event_from_record(rec, &ev) != 0)
		return;
	fz_require(ev.identity[0] != '\0' && ev.seq >= 1, "event has an identity and a seq");
	size_t n = mon_engine_feed(e, &ev, f, MAXF);
	fz_require(n <= MAXF, "findings bounded");
	for (size_t i = 0; i < n; i++) {
		fz_require(mon_detector_parse(mon_detector_name(f[i].detector)) == (int)f[i].detector, "detector");
		fz_require(mon_severity_parse(mon_severity_name(f[i].severity)) == (int)f[i].severity, "severity");
		fz_require(json_is_integer(json_object_get(f[i].evidence, "seq")), "evidence seq");
		fz_require(strcmp(f[i].identity, ev.identity) == 0, "finding's identity");
		mon_finding_release(&f[i]);
	}
}

static void check_baseline(const json_t *doc)
{
	char why[200];
	mon_engine_t *e = engine();
	if (mon_engine_load(e, doc, why, sizeof why) == 0) {
		const char *id = json_string_value(json_object_get(doc, "identity"));
		const mon_baseline_t *b = mon_engine_baseline(e, id);
		fz_require(b != NULL, "loaded baseline is there");
		json_t *again = mon_baseline_json(b), *sum = mon_baseline_summary(b);
		mon_engine_t *e2 = engine();
		fz_require(mon_engine_load(e2, again, why, sizeof why) == 0, "written baseline loads");
		json_t *third = mon_baseline_json(mon_engine_baseline(e2, id));
		fz_require(json_equal(again, third), "baseline round trip");
		json_t *rec = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)1, "time",
					"2026-12-06T10:00:00.000000Z", "type", "authz.allow", "actor", id, "action", "x.y",
					"resource", "Api:z", "src", "192.0.2.1");
		feed(e2, rec);
		json_decref(rec);
		json_decref(third);
		json_decref(again);
		json_decref(sum);
		mon_engine_free(e2);
	}
	mon_engine_free(e);
}

static void check_rules(const uint8_t *data, size_t size)
{
	contain_policy_t p;
	char buf[200];
	char *text = fz_cstr(data, size > 512 ? 512 : size);
	if (contain_parse("enforce", text, &p, buf, sizeof buf) == NULL) {
		fz_require(p.n <= MON_MAX_CONTAIN_RULES, "rules bounded");
		for (size_t i = 0; i < p.n; i++)
			fz_require(p.rule[i].actions != 0 && p.rule[i].actions < (1u << CONTAIN_ACTIONS), "actions");
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	check_rules(data, size);
	if (json_is_object(doc)) {
		mon_engine_t *e = engine();
		feed(e, doc);
		mon_engine_free(e);
		check_baseline(doc);
	} else if (json_is_array(doc)) {
		mon_engine_t *e = engine();
		size_t i;
		json_t *rec;
		json_array_foreach(doc, i, rec)
			feed(e, rec);
		mon_engine_free(e);
	}
	json_decref(doc);
	return 0;
}
