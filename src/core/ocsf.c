/* ocsf.c - audit record -> OCSF event mapping. */
#include "core/ocsf.h"
#include "core/timefmt.h"
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *prefix;
	int class_uid, category_uid;
	const char *class_name;
} ocsf_class_t;

static const ocsf_class_t classes[] = {
	{"token.", 3002, 3, "Authentication"},
	{"auth.", 3002, 3, "Authentication"},
	{"identity.", 3001, 3, "Account Change"},
	{"key.", 3001, 3, "Account Change"},
	{"", 6003, 6, "API Activity"},
};

/* Epoch milliseconds of a "YYYY-MM-DDTHH:MM:SS.ffffffZ" time, or 0. */
static json_int_t epoch_ms(const char *t)
{
	char secs[RFC3339_LEN];
	int64_t s;
	if (t == NULL || strlen(t) < 20)
		return 0;
	memcpy(secs, t, 19);
	secs[19] = 'Z';
	secs[20] = '\0';
	if (rfc3339_parse(secs, &s) != 0)
		return 0;
	long frac_ms = t[19] == '.' ? strtol(t + 20, NULL, 10) / 1000 : 0;
	return (json_int_t)s * 1000 + frac_ms;
}

json_t *ocsf_from_record(const json_t *r)
{
	const char *type = json_string_value(json_object_get(r, "type"));
	const char *decision = json_string_value(json_object_get(r, "decision"));
	const char *actor = json_string_value(json_object_get(r, "actor"));
	const char *src = json_string_value(json_object_get(r, "src"));
	const ocsf_class_t *c = classes;
	while (c->prefix[0] != '\0' && (type == NULL || strncmp(type, c->prefix, strlen(c->prefix)) != 0))
		c++;
	int failed = decision != NULL && strcmp(decision, "deny") == 0;
	json_t *e = json_pack("{s:i, s:i, s:s, s:i, s:s, s:I, s:i, s:i, s:s, s:s}", "class_uid", c->class_uid,
			      "category_uid", c->category_uid, "class_name", c->class_name, "activity_id", 99,
			      "activity_name", type ? type : "unknown", "time",
			      epoch_ms(json_string_value(json_object_get(r, "time"))), "severity_id", failed ? 3 : 1,
			      "status_id", failed ? 2 : 1, "status", failed ? "Failure" : "Success", "message",
			      type ? type : "");
	json_object_set_new(e, "type_uid", json_integer((json_int_t)c->class_uid * 100 + 99));
	json_object_set_new(e, "metadata", json_pack("{s:s, s:{s:s, s:s}, s:o}", "version", "1.1.0", "product",
						     "name", "Tollgate", "vendor_name", "Tollgate", "uid",
						     json_sprintf("%" JSON_INTEGER_FORMAT,
								  json_integer_value(json_object_get(r, "seq")))));
	if (actor != NULL)
		json_object_set_new(e, "actor", json_pack("{s:{s:s}}", "user", "name", actor));
	if (src != NULL)
		json_object_set_new(e, "src_endpoint", json_pack("{s:s}", "ip", src));
	json_object_set_new(e, "unmapped", json_pack("{s:O}", "tollgate_record", r));
	return e;
}
