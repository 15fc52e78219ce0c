/* permissions.c - scope permission check (allow-list stand-in for policy). */
#include "broker/permissions.h"
#include <string.h>

bool permission_allows(const broker_t *b, const identity_t *id, const char *scope_token)
{
	size_t i;
	json_t *v;
	(void)b;
	if (id->allow == NULL)
		return false;
	json_array_foreach(id->allow, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), scope_token) == 0)
			return true;
	return false;
}
