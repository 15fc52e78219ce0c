/* claims.c - time, audience and string claim checks for JWTs. */
#include "core/claims.h"
#include <string.h>

bool claim_time(const json_t *payload, const char *name, int64_t *out)
{
	const json_t *v = json_object_get(payload, name);
	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

const char *claim_str(const json_t *payload, const char *name, size_t max)
{
	const json_t *v = json_object_get(payload, name);
	const char *s = json_string_value(v);
	if (s == NULL || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

static bool aud_one(const char *aud, const char *const *accepted, int n)
{
	for (int i = 0; i < n; i++)
		if (accepted[i] != NULL && strcmp(aud, accepted[i]) == 0)
			return true;
	return false;
}

bool claim_aud_matches(const json_t *payload, const char *const *accepted, int n)
{
	const json_t *aud = json_object_get(payload, "aud");
	size_t i;
	const json_t *v;
	if (json_is_string(aud))
		return aud_one(json_string_value(aud), accepted, n);
	if (!json_is_array(aud) || json_array_size(aud) > 16)
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && aud_one(json_string_value(v), accepted, n))
			return true;
	return false;
}

const char *claim_check_times(const json_t *p, const claim_times_t *t)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	if (json_object_get(p, "exp") != NULL && !claim_time(p, "exp", &exp))
		return "exp is not an integer NumericDate";
	if (json_object_get(p, "nbf") != NULL && !claim_time(p, "nbf", &nbf))
		return "nbf is not an integer NumericDate";
	if (json_object_get(p, "iat") != NULL && !claim_time(p, "iat", &iat))
		return "iat is not an integer NumericDate";
	if (t->require_exp && json_object_get(p, "exp") == NULL)
		return "exp is required";
	if (t->require_iat && json_object_get(p, "iat") == NULL)
		return "iat is required";
	if (json_object_get(p, "exp") != NULL && exp <= t->now - t->leeway)
		return "token has expired";
	if (json_object_get(p, "nbf") != NULL && nbf > t->now + t->leeway)
		return "token is not yet valid (nbf)";
	if (json_object_get(p, "iat") != NULL && iat > t->now + t->leeway)
		return "token was issued in the future (iat)";
	return NULL;
}
