/* identity_json.c - identity <-> JSON, with validation, and the identity
 * record's release. */
#include "core/identity_json.h"
#include "core/ed25519_key.h"
#include "core/timefmt.h"
#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const kinds[] = {"workload", "integration", "ot-device", "agent", "edge", NULL};

bool identity_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > TG_MAX_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

static json_t *key_to_json(const identity_key_t *k)
{
	json_t *o = json_pack("{s:s, s:o}", "kid", k->kid, "jwk", ed_pk_to_jwk(k->pk, NULL));
	json_object_set_new(o, "created_at", rfc3339_json(k->created_at));
	json_object_set_new(o, "expires_at", rfc3339_json(k->expires_at));
	json_object_set_new(o, "disabled_at", rfc3339_json(k->disabled_at));
	return o;
}

json_t *identity_to_json(const identity_t *id)
{
	json_t *keys = json_array();
	for (size_t i = 0; i < id->n_keys; i++)
		json_array_append_new(keys, key_to_json(&id->keys[i]));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O, s:I, s:o}", "id", id->id, "kind",
			      id->kind, "owner", id->owner, "description", id->description, "status",
			      id->status, "roles", id->roles, "max_ttl", (json_int_t)id->max_ttl,
			      "public_keys", keys);
	json_object_set_new(o, "mtls_fingerprint",
			    id->mtls_fingerprint[0] ? json_string(id->mtls_fingerprint) : json_null());
	json_object_set_new(o, "created_at", rfc3339_json(id->created_at));
	json_object_set_new(o, "updated_at", rfc3339_json(id->updated_at));
	json_object_set_new(o, "last_used_at", rfc3339_json(id->last_used_at));
	json_object_set_new(o, "tokens_not_before", rfc3339_json(id->not_before));
	return o;
}

static const char *check_members(const json_t *doc, const char *const *allowed)
{
	static _Thread_local char msg[160];
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)doc, k, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a != NULL && !ok; a++)
			ok = strcmp(*a, k) == 0;
		if (!ok && strcmp(k, "allow") == 0)
			return "\"allow\" is no longer an identity member: scopes are granted by Cedar "
			       "policy (PUT /v1/policies; see docs/policy.md)";
		if (!ok) {
			snprintf(msg, sizeof msg, "unknown member \"%.64s\"", k);
			return msg;
		}
	}
	return NULL;
}

static const char *text_member(const json_t *doc, const char *name, size_t max, char *out, bool required)
{
	static _Thread_local char msg[160];
	const json_t *v = json_object_get(doc, name);
	if (v == NULL) {
		if (!required)
			return NULL;
		snprintf(msg, sizeof msg, "\"%s\" is required", name);
		return msg;
	}
	if (!json_is_string(v) || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v) || (required && json_string_length(v) == 0)) {
		snprintf(msg, sizeof msg, "\"%s\" must be a string of at most %zu bytes%s", name, max,
			 required ? ", not empty" : "");
		return msg;
	}
	snprintf(out, max + 1, "%s", json_string_value(v));
	return NULL;
}

/* A string array whose items pass valid(); replaces *out. */
static const char *string_array(const json_t *v, const char *name, size_t max,
				bool (*valid)(const char *), json_t **out)
{
	static _Thread_local char msg[200];
	size_t i;
	json_t *item;
	if (!json_is_array(v) || json_array_size(v) > max)
		goto bad;
	json_array_foreach(v, i, item)
		if (!json_is_string(item) || !valid(json_string_value(item)))
			goto bad;
	json_decref(*out);
	*out = json_deep_copy(v);
	return NULL;
bad:
	snprintf(msg, sizeof msg, "\"%s\" must be an array of at most %zu valid strings", name, max);
	return msg;
}

static int key_expiry(const json_t *v, int64_t *out)
{
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	return json_is_string(v) ? rfc3339_parse(json_string_value(v), out) : -1;
}

static const char *parse_key(const json_t *item, int64_t now, identity_key_t *k)
{
	const char *why = NULL;
	const json_t *key = item, *exp = NULL;
	memset(k, 0, sizeof *k);
	if (json_is_object(item) && json_object_get(item, "key") != NULL) {
		key = json_object_get(item, "key");
		exp = json_object_get(item, "expires_at");
		if (exp != NULL && (key_expiry(exp, &k->expires_at) != 0 || k->expires_at <= now))
			return "public key expires_at must be a future time (RFC 3339 UTC or Unix seconds)";
	}
	if (json_is_string(key)) {
		if (ed_pk_from_text(json_string_value(key), json_string_length(key), k->pk, &why) != 0)
			return why;
	} else if (ed_pk_from_jwk(key, k->pk, &why) != 0) {
		return why;
	}
	const char *kid = json_is_object(key) ? json_string_value(json_object_get(key, "kid")) : NULL;
	if (kid != NULL && (strlen(kid) == 0 || strlen(kid) > TG_MAX_KID_LEN))
		return "JWK kid must be 1..128 bytes";
	if (kid != NULL)
		snprintf(k->kid, sizeof k->kid, "%s", kid);
	else
		ed_jwk_thumbprint(k->pk, k->kid);
	k->created_at = now;
	return NULL;
}

static const char *add_keys(const json_t *arr, int64_t now, identity_t *id)
{
	size_t i;
	json_t *item;
	if (!json_is_array(arr))
		return "public keys must be an array of PEM strings or JWK objects";
	json_array_foreach(arr, i, item) {
		identity_key_t k;
		const char *why = parse_key(item, now, &k);
		if (why != NULL)
			return why;
		for (size_t j = 0; j < id->n_keys; j++)
			if (strcmp(id->keys[j].kid, k.kid) == 0)
				return "a public key with this kid is already registered";
		if (id->n_keys == TG_MAX_KEYS_PER_IDENTITY)
			return "too many public keys (at most 8 per identity)";
		id->keys[id->n_keys++] = k;
	}
	return NULL;
}

static const char *fingerprint(const json_t *v, char out[65])
{
	const char *s = json_string_value(v);
	size_t n = 0;
	if (json_is_null(v)) {
		out[0] = '\0';
		return NULL;
	}
	if (s == NULL || strlen(s) > 95)
		goto bad;
	for (; *s != '\0'; s++) {
		if (*s == ':')
			continue;
		if (!isxdigit((unsigned char)*s) || n == 64)
			goto bad;
		out[n++] = (char)tolower((unsigned char)*s);
	}
	out[n] = '\0';
	if (n == 64)
		return NULL;
bad:
	out[0] = '\0';
	return "mtls_fingerprint must be the certificate's SHA-256 as 64 hex digits (colons allowed)";
}

static const char *max_ttl(const json_t *v, int64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 86400)
		return "max_ttl must be an integer number of seconds from 0 (server cap) to 86400";
	*out = (int64_t)json_integer_value(v);
	return NULL;
}

/* Members shared by create and update. */
static const char *common(const json_t *doc, int64_t now, identity_t *id)
{
	const char *why;
	const json_t *v;
	if ((why = text_member(doc, "owner", TG_MAX_OWNER_LEN, id->owner, false)) != NULL ||
	    (why = text_member(doc, "description", TG_MAX_DESCRIPTION_LEN, id->description, false)) != NULL)
		return why;
	if (json_object_get(doc, "owner") != NULL && id->owner[0] == '\0')
		return "\"owner\" must not be empty: every identity has an accountable owner";
	if ((v = json_object_get(doc, "roles")) != NULL &&
	    (why = string_array(v, "roles", TG_MAX_ROLES, identity_name_valid, &id->roles)) != NULL)
		return why;
	if ((v = json_object_get(doc, "max_ttl")) != NULL && (why = max_ttl(v, &id->max_ttl)) != NULL)
		return why;
	if ((v = json_object_get(doc, "mtls_fingerprint")) != NULL &&
	    (why = fingerprint(v, id->mtls_fingerprint)) != NULL)
		return why;
	(void)now;
	return NULL;
}

const char *identity_from_create(const json_t *doc, int64_t now, identity_t *id)
{
	static const char *const allowed[] = {"id", "kind", "owner", "description", "roles",
					      "max_ttl", "mtls_fingerprint", "public_keys", NULL};
	const char *why;
	memset(id, 0, sizeof *id);
	id->roles = json_array();
	if ((why = check_members(doc, allowed)) != NULL ||
	    (why = text_member(doc, "id", TG_MAX_ID_LEN, id->id, true)) != NULL ||
	    (why = text_member(doc, "kind", sizeof id->kind - 1, id->kind, true)) != NULL ||
	    (why = text_member(doc, "owner", TG_MAX_OWNER_LEN, id->owner, true)) != NULL)
		return why;
	if (!identity_name_valid(id->id))
		return "\"id\" must be 1..128 characters of A-Z a-z 0-9 . _ -";
	bool kind_ok = false;
	for (const char *const *k = kinds; *k != NULL; k++)
		kind_ok |= strcmp(*k, id->kind) == 0;
	if (!kind_ok)
		return "\"kind\" must be one of workload, integration, ot-device, agent, edge";
	if ((why = common(doc, now, id)) != NULL)
		return why;
	const json_t *keys = json_object_get(doc, "public_keys");
	if (keys != NULL && (why = add_keys(keys, now, id)) != NULL)
		return why;
	snprintf(id->status, sizeof id->status, "active");
	id->created_at = id->updated_at = now;
	return NULL;
}

static const char *remove_keys(const json_t *arr, identity_t *id)
{
	size_t i;
	json_t *v;
	if (!json_is_array(arr))
		return "remove_kids must be an array of kid strings";
	json_array_foreach(arr, i, v) {
		const char *kid = json_string_value(v);
		size_t j = 0;
		while (kid != NULL && j < id->n_keys && strcmp(id->keys[j].kid, kid) != 0)
			j++;
		if (kid == NULL || j == id->n_keys)
			return "remove_kids names a kid this identity does not have";
		memmove(&id->keys[j], &id->keys[j + 1], (id->n_keys - j - 1) * sizeof id->keys[0]);
		id->n_keys--;
	}
	return NULL;
}

const char *identity_apply_update(const json_t *doc, int64_t now, identity_t *id)
{
	static const char *const allowed[] = {"owner", "description", "roles", "max_ttl",
					      "mtls_fingerprint", "status", "add_public_keys",
					      "remove_kids", NULL};
	char status[16] = "";
	const char *why;
	const json_t *v;
	if ((why = check_members(doc, allowed)) != NULL || (why = common(doc, now, id)) != NULL ||
	    (why = text_member(doc, "status", sizeof status - 1, status, false)) != NULL)
		return why;
	if (status[0] != '\0') {
		if (strcmp(status, "active") != 0 && strcmp(status, "suspended") != 0)
			return "\"status\" must be active or suspended (offboard with POST .../offboard)";
		snprintf(id->status, sizeof id->status, "%s", status);
	}
	if ((v = json_object_get(doc, "remove_kids")) != NULL && (why = remove_keys(v, id)) != NULL)
		return why;
	if ((v = json_object_get(doc, "add_public_keys")) != NULL && (why = add_keys(v, now, id)) != NULL)
		return why;
	return NULL;
}

void identity_release(identity_t *id)
{
	json_decref(id->roles);
	id->roles = NULL;
}
