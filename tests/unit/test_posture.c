/* test_posture.c - the NHI hygiene report (core/posture.h): each finding on
 * its case with its OWASP NHI / NIST CSF mapping and evidence, gone once
 * fixed; shares; unused permissions by policy evaluation and the narrower
 * policy suggested (which parses); rotation policy from config and from the
 * entity attribute; secrets absent and present; the text and HTML
 * renderers (escaped, self-contained). */
#include "test_util.h"
#include "core/policy/cedar_json.h"
#include "core/policy/policy.h"
#include "core/posture.h"
#include <stdlib.h>
#include <string.h>

#define DAY 86400

static const char policies[] =
	("@id(\"readers\")\n"
	 "permit (principal in Role::\"readers\", action == Action::\"modbus.read\", resource in Zone::\"line-3\");\n"
	 "@id(\"writers\")\n"
	 "permit (principal == Workload::\"w1\", action == Action::\"modbus.write\", resource in Zone::\"line-3\");\n"
	 "@id(\"jit\")\n@requires_grant(\"1\")\n"
	 "permit (principal, action == Action::\"modbus.program\", resource in Zone::\"line-3\");\n"
	 "@id(\"long\")\n@max_ttl(\"86400\")\n"
	 "permit (principal == Workload::\"w2\", action == Action::\"api.read\", resource == Api::\"orders\");\n");

static const char entities[] =
	("[{\"uid\":{\"type\":\"Zone\",\"id\":\"line-3\"},\"attrs\":{},\"parents\":[]},"
	 "{\"uid\":{\"type\":\"Device\",\"id\":\"plc-1\"},\"attrs\":{},\"parents\":[{\"type\":\"Zone\",\"id\":\"line-3\"}]},"
	 "{\"uid\":{\"type\":\"Device\",\"id\":\"plc-2\"},\"attrs\":{},\"parents\":[{\"type\":\"Zone\",\"id\":\"line-3\"}]},"
	 "{\"uid\":{\"type\":\"Action\",\"id\":\"modbus.read\"},\"attrs\":{},\"parents\":[]},"
	 "{\"uid\":{\"type\":\"Workload\",\"id\":\"w1\"},\"attrs\":{},\"parents\":[{\"type\":\"Role\",\"id\":\"readers\"}]},"
	 "{\"uid\":{\"type\":\"Workload\",\"id\":\"w2\"},\"attrs\":{\"key_max_age\":%d},\"parents\":[]}]");

typedef struct {
	identity_t ids[3];
	json_t *usage, *grants, *entities, *secrets;
	pol_engine_t *engine;
	pol_entities_t *es;
	pol_scratch_t *scratch;
	posture_params_t params;
} fixture_t;

static void ident(identity_t *i, const char *id, const char *owner, const char *status, int64_t created,
		  int64_t last_used, int64_t key_created)
{
	memset(i, 0, sizeof *i);
	snprintf(i->id, sizeof i->id, "%s", id);
	snprintf(i->kind, sizeof i->kind, "workload");
	snprintf(i->owner, sizeof i->owner, "%s", owner);
	snprintf(i->status, sizeof i->status, "%s", status);
	i->created_at = created;
	i->last_used_at = last_used;
	i->n_keys = 1;
	snprintf(i->keys[0].kid, sizeof i->keys[0].kid, "%s-key", id);
	i->keys[0].created_at = key_created;
}

static void load_entities(fixture_t *f, int key_max_age)
{
	char text[sizeof entities + 32], err[200];
	snprintf(text, sizeof text, entities, key_max_age);
	json_decref(f->entities);
	pol_entities_free(f->es);
	f->entities = json_loads(text, 0, NULL);
	assert_non_null(f->entities);
	assert_int_equal(pol_json_entities_from(f->entities, &f->es, err, sizeof err), 0);
}

static void load_policies(fixture_t *f, const char *text)
{
	pol_set_t *set;
	pol_error_t err;
	pol_engine_free(f->engine);
	assert_int_equal(pol_parse(text, strlen(text), &set, &err), 0);
	assert_int_equal(pol_engine_new(set, &f->engine, &err), 0);
}

static void fixture(fixture_t *f)
{
	memset(f, 0, sizeof *f);
	int64_t now = TU_NOW;
	/* w1: no owner, key 200 days old, used modbus.read on plc-1 yesterday */
	ident(&f->ids[0], "w1", "", "active", now - 300 * DAY, now - DAY, now - 200 * DAY);
	/* w2: owned, never used since its creation 120 days ago, fresh key */
	ident(&f->ids[1], "w2", "team-b", "active", now - 120 * DAY, 0, now - 20);
	/* w3: offboarded: inventory only */
	ident(&f->ids[2], "w3", "", "offboarded", now - 400 * DAY, 0, now - 400 * DAY);
	f->usage = json_pack("{s:{s:I, s:[s]}}", "w1", "last", (json_int_t)(now - DAY), "scopes",
			     "modbus.read@Device:plc-1");
	f->grants = json_pack("{s:i}", "w1", 2);
	load_entities(f, 90 * DAY);
	load_policies(f, policies);
	f->scratch = pol_scratch_new();
	f->params = (posture_params_t){.now = now, .unused_days = 90, .key_max_age = 90 * DAY,
				       .max_ttl_limit = 3600, .privileged = "*.write *.program secret.read"};
}

static void fixture_free(fixture_t *f)
{
	for (int i = 0; i < 3; i++)
		identity_release(&f->ids[i]);
	json_decref(f->usage);
	json_decref(f->grants);
	json_decref(f->entities);
	json_decref(f->secrets);
	pol_engine_free(f->engine);
	pol_entities_free(f->es);
	pol_scratch_free(f->scratch);
}

static json_t *run(fixture_t *f)
{
	posture_input_t in = {.ids = f->ids, .n_ids = 3, .active_grants = f->grants, .usage = f->usage,
			      .entities = f->entities, .engine = f->engine, .es = f->es, .secrets = f->secrets};
	json_t *r = posture_report(&f->params, &in, f->scratch);
	assert_non_null(r);
	return r;
}

/* The finding of kind about subject, or NULL. */
static json_t *find(const json_t *report, const char *kind, const char *subject)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(report, "findings"), i, x)
		if (strcmp(json_string_value(json_object_get(x, "kind")), kind) == 0 &&
		    strcmp(json_string_value(json_object_get(json_object_get(x, "subject"), "id")), subject) == 0)
			return x;
	return NULL;
}

static void assert_mapping(const json_t *f, const char *owasp, const char *nist)
{
	assert_non_null(f);
	assert_string_equal(json_string_value(json_array_get(json_object_get(f, "owasp"), 0)), owasp);
	assert_string_equal(json_string_value(json_array_get(json_object_get(f, "nist"), 0)), nist);
}

static json_int_t ev_int(const json_t *f, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(f, "evidence"), key));
}

static bool has_string(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
		if (strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static void test_identity_findings(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	json_t *r = run(&f);
	assert_string_equal(json_string_value(json_object_get(r, "schema")), POSTURE_SCHEMA);
	assert_mapping(find(r, "owner_missing", "w1"), "NHI1", "PR.AA-01");
	assert_null(find(r, "owner_missing", "w2"));
	assert_null(find(r, "owner_missing", "w3")); /* offboarded: not assessed */
	json_t *k = find(r, "key_rotation_overdue", "w1");
	assert_mapping(k, "NHI7", "PR.AA-01");
	assert_int_equal(ev_int(k, "age_days"), 200);
	assert_int_equal(ev_int(k, "max_age_days"), 90);
	assert_string_equal(json_string_value(json_object_get(json_object_get(k, "evidence"), "policy_source")),
			    "config key_max_age");
	json_t *u = find(r, "identity_unused", "w2");
	assert_mapping(u, "NHI1", "PR.AA-01");
	assert_int_equal(ev_int(u, "days_unused"), 120);
	assert_null(find(r, "identity_unused", "w1"));
	/* shares over the two identities that are not offboarded */
	json_t *sh = json_object_get(r, "shares");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sh, "ownerless"), "count")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sh, "ownerless"), "total")), 2);
	assert_true(json_real_value(json_object_get(json_object_get(sh, "credentials_overdue"), "share")) == 0.5);
	assert_true(json_real_value(json_object_get(json_object_get(sh, "unused"), "share")) == 0.5);
	/* inventory: every identity, grants counted */
	json_t *inv = json_object_get(r, "inventory");
	assert_int_equal(json_array_size(inv), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(inv, 0), "active_grants")), 2);
	json_decref(r);
	fixture_free(&f);
}

static void test_fixed_findings_disappear(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	snprintf(f.ids[0].owner, sizeof f.ids[0].owner, "team-a");
	f.ids[0].keys[0].created_at = TU_NOW - DAY;
	f.ids[0].keys[0].expires_at = TU_NOW + 30 * DAY;
	f.ids[1].last_used_at = TU_NOW - 10;
	json_t *r = run(&f);
	assert_null(find(r, "owner_missing", "w1"));
	assert_null(find(r, "key_rotation_overdue", "w1"));
	assert_null(find(r, "long_lived_key", "w1"));
	assert_null(find(r, "identity_unused", "w2"));
	json_decref(r);
	fixture_free(&f);
}

static void test_rotation_policy_from_entity(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	load_entities(&f, 10); /* w2's key is 20 s old: overdue under its own policy */
	json_t *r = run(&f);
	json_t *k = find(r, "key_rotation_overdue", "w2");
	assert_non_null(k);
	assert_string_equal(json_string_value(json_object_get(json_object_get(k, "evidence"), "policy_source")),
			    "entity attribute key_max_age");
	json_decref(r);
	fixture_free(&f);
}

static void test_policy_findings(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	json_t *r = run(&f);
	json_t *s = find(r, "standing_privileged_permit", "writers");
	assert_mapping(s, "NHI5", "PR.AA-05");
	assert_true(has_string(json_object_get(json_object_get(s, "evidence"), "privileged_actions"), "modbus.write"));
	assert_null(find(r, "standing_privileged_permit", "jit"));     /* needs a grant */
	assert_null(find(r, "standing_privileged_permit", "readers")); /* not privileged */
	json_t *t = find(r, "long_max_ttl", "long");
	assert_mapping(t, "NHI7", "PR.AA-04");
	assert_int_equal(ev_int(t, "max_ttl"), 86400);
	/* fixed: the grant requirement and a short @max_ttl */
	load_policies(&f, "@id(\"writers\")\n@requires_grant(\"1\")\n@max_ttl(\"600\")\n"
			  "permit (principal == Workload::\"w1\", action == Action::\"modbus.write\", resource in Zone::\"line-3\");");
	json_decref(r);
	r = run(&f);
	assert_null(find(r, "standing_privileged_permit", "writers"));
	assert_null(find(r, "long_max_ttl", "writers"));
	json_decref(r);
	fixture_free(&f);
}

static void test_unused_permissions(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	json_t *r = run(&f);
	json_t *p = find(r, "unused_permissions", "w1");
	assert_mapping(p, "NHI5", "PR.AA-05");
	json_t *ev = json_object_get(p, "evidence");
	assert_true(has_string(json_object_get(ev, "used"), "modbus.read@Device:plc-1"));
	assert_true(has_string(json_object_get(ev, "used"), "modbus.read@Zone:line-3"));
	assert_true(has_string(json_object_get(ev, "unused"), "modbus.read@Device:plc-2"));
	assert_true(has_string(json_object_get(ev, "unused"), "modbus.write@Device:plc-1"));
	assert_false(has_string(json_object_get(ev, "unused"), "modbus.program@Device:plc-1")); /* JIT only */
	assert_true(has_string(json_object_get(ev, "granted_by"), "writers"));
	const char *sugg = json_string_value(json_object_get(ev, "suggested_policy"));
	assert_non_null(strstr(sugg, "principal == Workload::\"w1\""));
	assert_non_null(strstr(sugg, "resource == Device::\"plc-1\""));
	assert_null(strstr(sugg, "modbus.write"));
	pol_set_t *set;
	pol_error_t err;
	assert_int_equal(pol_parse(sugg, strlen(sugg), &set, &err), 0);
	assert_true(set->n >= 1);
	pol_set_free(set);
	/* w2 used nothing: every standing scope is unused; standing share */
	assert_non_null(find(r, "unused_permissions", "w2"));
	json_t *sh = json_object_get(json_object_get(r, "shares"), "standing_privilege");
	assert_int_equal(json_integer_value(json_object_get(sh, "count")), 1); /* w1: modbus.write */
	json_decref(r);
	/* used everything it holds: no finding */
	json_decref(f.usage);
	f.usage = json_pack("{s:{s:I, s:[s, s]}}", "w1", "last", (json_int_t)TU_NOW, "scopes",
			    "modbus.read@Zone:line-3", "modbus.write@Zone:line-3");
	r = run(&f);
	assert_null(find(r, "unused_permissions", "w1"));
	json_decref(r);
	fixture_free(&f);
}

static void test_secrets(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	json_t *r = run(&f);
	assert_false(json_is_true(json_object_get(json_object_get(r, "secrets"), "available")));
	assert_true(json_is_null(json_object_get(json_object_get(json_object_get(r, "shares"), "secrets_overdue"), "share")));
	json_decref(r);
	f.secrets = json_pack("[{s:s, s:I}, {s:s, s:I}]", "name", "erp-db", "next_due", (json_int_t)(TU_NOW - 3 * DAY),
			      "name", "mqtt", "next_due", (json_int_t)(TU_NOW + DAY));
	r = run(&f);
	json_t *s = find(r, "secret_rotation_overdue", "erp-db");
	assert_mapping(s, "NHI7", "PR.AA-01");
	assert_int_equal(ev_int(s, "days_overdue"), 3);
	assert_null(find(r, "secret_rotation_overdue", "mqtt"));
	assert_true(json_real_value(json_object_get(json_object_get(json_object_get(r, "shares"), "secrets_overdue"),
						    "share")) == 0.5);
	json_decref(r);
	fixture_free(&f);
}

static void test_no_policy(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	pol_engine_free(f.engine);
	f.engine = NULL;
	json_t *r = run(&f);
	assert_null(find(r, "unused_permissions", "w1"));
	assert_false(json_is_true(json_object_get(json_object_get(r, "coverage"), "policy")));
	json_decref(r);
	fixture_free(&f);
}

static void test_privileged_patterns(void **state)
{
	(void)state;
	assert_true(posture_action_privileged("*.write secret.read", "modbus.write"));
	assert_true(posture_action_privileged("  *.write  ", "a.b.write"));
	assert_false(posture_action_privileged("*.write", "modbus.writes"));
	assert_true(posture_action_privileged("secret.*", "secret.read"));
	assert_false(posture_action_privileged("", "modbus.write"));
	assert_true(posture_action_privileged("*", "x"));
	posture_params_t p = {.now = 1, .unused_days = 90, .key_max_age = 1, .max_ttl_limit = 1, .privileged = "*.write"};
	assert_null(posture_params_check(&p));
	p.unused_days = 0;
	assert_non_null(posture_params_check(&p));
	p.unused_days = 3651;
	assert_non_null(posture_params_check(&p));
	p.unused_days = 1;
	p.privileged = "bad\"pattern";
	assert_non_null(posture_params_check(&p));
	assert_string_equal(posture_mapping_title("NHI7"), "Long-Lived Secrets");
	assert_null(posture_mapping_title("NHI11"));
}

static void test_render(void **state)
{
	(void)state;
	fixture_t f;
	fixture(&f);
	snprintf(f.ids[1].owner, sizeof f.ids[1].owner, "<b>team</b>");
	json_t *hist = json_pack("[{s:s, s:s, s:{s:f, s:f}}]", "time", "2023-11-01T00:00:00Z", "source", "daily",
				 "shares", "ownerless", 1.0, "unused", 0.25);
	posture_input_t in = {.ids = f.ids, .n_ids = 3, .active_grants = f.grants, .usage = f.usage,
			      .entities = f.entities, .engine = f.engine, .es = f.es, .history = hist};
	json_t *r = posture_report(&f.params, &in, f.scratch);
	assert_int_equal(json_array_size(json_object_get(r, "history")), 2);
	/* a document's severity never reaches an attribute unescaped (fuzz_posture_render) */
	json_object_set_new(json_array_get(json_object_get(r, "findings"), 0), "severity",
			    json_string("x\"><a href=\"javascript:1\">"));
	char *text = posture_render_text(r);
	assert_non_null(strstr(text, "key_rotation_overdue"));
	assert_non_null(strstr(text, "OWASP NHI7 Long-Lived Secrets"));
	assert_non_null(strstr(text, "no secret store data"));
	char *html = posture_render_html(r);
	assert_non_null(strstr(html, "<svg"));
	assert_non_null(strstr(html, "<polyline"));
	assert_non_null(strstr(html, "&lt;b&gt;team&lt;/b&gt;"));
	assert_null(strstr(html, "<b>team"));
	assert_null(strstr(html, "http://"));
	assert_null(strstr(html, "https://"));
	assert_null(strstr(html, "<script"));
	assert_null(strstr(html, "<a href"));
	free(text);
	free(html);
	json_t *snap = posture_snapshot(r, "report");
	assert_true(json_is_number(json_object_get(json_object_get(snap, "shares"), "ownerless")));
	assert_true(json_is_null(json_object_get(json_object_get(snap, "shares"), "secrets_overdue")));
	json_decref(snap);
	json_decref(r);
	json_decref(hist);
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity_findings),  cmocka_unit_test(test_fixed_findings_disappear),
		cmocka_unit_test(test_rotation_policy_from_entity), cmocka_unit_test(test_policy_findings),
		cmocka_unit_test(test_unused_permissions), cmocka_unit_test(test_secrets),
		cmocka_unit_test(test_no_policy),          cmocka_unit_test(test_privileged_patterns),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, tu_setup, NULL);
}
