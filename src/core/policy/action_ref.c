/* action_ref.c - a bare action name means Action::"name" (action_ref.h). */
#include "core/policy/action_ref.h"
#include "core/errbuf.h"
#include "core/policy/cedar_json.h"
#include <string.h>

bool pol_action_name_is_bare(const char *s, size_t len)
{
	return s != NULL && len > 0 && memchr(s, ':', len) == NULL;
}

/* Action::"s" in a. */
static int bare_action(pol_arena_t *a, const char *s, size_t len, pol_euid_t *out, char *err,
		       size_t errsize)
{
	char *id = pol_arena_strndup(a, s, len);
	if (id == NULL) {
		tg_errf(err, errsize, "out of memory");
		return -1;
	}
	*out = (pol_euid_t){{"Action", 6}, {id, len}};
	return 0;
}

int pol_action_ref_text(pol_arena_t *a, const char *s, size_t len, pol_euid_t *out, char *err,
			size_t errsize)
{
	if (pol_action_name_is_bare(s, len))
		return bare_action(a, s, len, out, err, errsize);
	return pol_euid_parse_text(a, s, len, out, err, errsize);
}

int pol_action_ref(pol_arena_t *a, const json_t *j, pol_euid_t *out, char *err, size_t errsize)
{
	if (json_is_string(j) && pol_action_name_is_bare(json_string_value(j), json_string_length(j)))
		return bare_action(a, json_string_value(j), json_string_length(j), out, err, errsize);
	return pol_json_euid(a, j, out, err, errsize);
}

int pol_json_request_action_ref(pol_arena_t *a, const json_t *obj, pol_request_t *out, char *err,
				size_t errsize)
{
	const json_t *act = json_is_object(obj) ? json_object_get(obj, "action") : NULL;
	if (!json_is_string(act) || !pol_action_name_is_bare(json_string_value(act), json_string_length(act)))
		return pol_json_request(a, obj, out, err, errsize);
	/* The same request with {"type": "Action", "id": name} for the name,
	 * so that every other member is read and refused exactly as Cedar's. */
	json_t *copy = json_copy((json_t *)obj);
	if (copy == NULL || json_object_set_new(copy, "action",
						json_pack("{s:s, s:s%}", "type", "Action", "id",
							  json_string_value(act), json_string_length(act))) != 0) {
		json_decref(copy);
		tg_errf(err, errsize, "request: out of memory");
		return -1;
	}
	int rc = pol_json_request(a, copy, out, err, errsize);
	json_decref(copy);
	return rc;
}
