/* posture.c - the NHI hygiene report's computation (posture.h): findings
 * with their OWASP NHI / NIST CSF mapping and evidence, shares, inventory.
 * Pure: everything it knows comes in through posture_input_t. */
#include "core/posture.h"
#include "core/policy/coverage.h"
#include "core/scope.h"
#include "core/timefmt.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400

/* ---- the frameworks ---- */

static const struct {
	const char *code, *title;
} mappings[] = {
	{"NHI1", "Improper Offboarding"},
	{"NHI2", "Secret Leakage"},
	{"NHI3", "Vulnerable Third-Party NHI"},
	{"NHI4", "Insecure Authentication"},
	{"NHI5", "Overprivileged NHI"},
	{"NHI6", "Insecure Cloud Deployment Configurations"},
	{"NHI7", "Long-Lived Secrets"},
	{"NHI8", "Environment Isolation"},
	{"NHI9", "NHI Reuse"},
	{"NHI10", "Human Use of NHI"},
	{"PR.AA-01", "Identities and credentials for authorized users, services, and hardware are managed by the organization"},
	{"PR.AA-02", "Identities are proofed and bound to credentials based on the context of interactions"},
	{"PR.AA-03", "Users, services, and hardware are authenticated"},
	{"PR.AA-04", "Identity assertions are protected, conveyed, and verified"},
	{"PR.AA-05", ("Access permissions, entitlements, and authorizations are defined in a policy, managed, enforced, "
		      "and reviewed, and incorporate the principles of least privilege and separation of duties")},
};

const char *posture_mapping_title(const char *code)
{
	for (size_t i = 0; i < sizeof mappings / sizeof mappings[0]; i++)
		if (strcmp(mappings[i].code, code) == 0)
			return mappings[i].title;
	return NULL;
}

/* Each kind of finding: its severity, mapping and remedy (docs/report.md). */
typedef struct {
	const char *kind, *severity, *owasp, *nist, *title, *fix;
} finding_kind_t;

static const finding_kind_t F_OWNER = {
	"owner_missing", "medium", "NHI1", "PR.AA-01", "identity without an owner",
	"give it an accountable owner: tollgate identity update ID --owner TEAM"};
static const finding_kind_t F_UNUSED = {
	"identity_unused", "high", "NHI1", "PR.AA-01", "identity unused and not offboarded",
	"offboard it if nothing needs it: tollgate identity offboard ID"};
static const finding_kind_t F_KEY_OVERDUE = {
	"key_rotation_overdue", "high", "NHI7", "PR.AA-01", "credential older than its rotation policy",
	"register a new key, move the workload to it, then disable the old one (PATCH /v1/identities/ID keys)"};
static const finding_kind_t F_KEY_LONG = {
	"long_lived_key", "low", "NHI7", "PR.AA-01", "key without an expiry within its rotation policy",
	"register keys with expires_at no later than the rotation policy allows"};
static const finding_kind_t F_SECRET = {
	"secret_rotation_overdue", "high", "NHI7", "PR.AA-01", "static secret overdue for rotation",
	"rotate the secret now"};
static const finding_kind_t F_STANDING = {
	"standing_privileged_permit", "high", "NHI5", "PR.AA-05", "privileged action permitted without a JIT grant",
	"add @requires_grant(\"N\") to the permit so the action needs an approved grant"};
static const finding_kind_t F_MAX_TTL = {
	"long_max_ttl", "medium", "NHI7", "PR.AA-04", "permit lets tokens live longer than the limit",
	"lower the permit's @max_ttl to the posture_max_ttl limit or less"};
static const finding_kind_t F_UNUSED_PERM = {
	"unused_permissions", "medium", "NHI5", "PR.AA-05", "scopes policy grants but the identity did not use",
	"narrow the policy to what is used (suggested_policy), or move the rest to JIT grants"};

static json_t *finding(const finding_kind_t *k, const char *subject_type, const char *subject, json_t *evidence)
{
	return json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:[s], s:[s], s:o, s:s}", "kind", k->kind, "title", k->title,
			 "severity", k->severity, "subject", "type", subject_type, "id", subject, "owasp", k->owasp,
			 "nist", k->nist, "evidence", evidence, "fix", k->fix);
}

/* ---- privileged actions: glob patterns ---- */

static bool glob(const char *p, size_t plen, const char *s)
{
	if (plen == 0)
		return *s == '\0';
	if (*p == '*') {
		for (;; s++) {
			if (glob(p + 1, plen - 1, s))
				return true;
			if (*s == '\0')
				return false;
		}
	}
	return *s != '\0' && *p == *s && glob(p + 1, plen - 1, s + 1);
}

bool posture_action_privileged(const char *patterns, const char *action)
{
	for (const char *p = patterns; p != NULL && *p != '\0';) {
		size_t skip = strspn(p, " "), len = strcspn(p + skip, " ");
		if (len > 0 && glob(p + skip, len, action))
			return true;
		p += skip + len;
	}
	return false;
}

const char *posture_params_check(const posture_params_t *p)
{
	if (p->unused_days < 1 || p->unused_days > POSTURE_MAX_UNUSED_DAYS)
		return "unused_days must be an integer from 1 to 3650";
	if (p->key_max_age < 1 || p->max_ttl_limit < 1)
		return "key_max_age and max_ttl_limit must be positive";
	size_t n = 0;
	for (const char *s = p->privileged ? p->privileged : ""; *s != '\0';) {
		size_t skip = strspn(s, " "), len = strcspn(s + skip, " ");
		for (size_t i = 0; i < len; i++)
			if (s[skip + i] != '*' && !scope_action_valid(s + skip + i, 1))
				return "privileged action patterns are action names with '*' wildcards, space-separated";
		n += len > 0;
		s += skip + len;
	}
	return n > POSTURE_MAX_PATTERNS ? "at most 32 privileged action patterns" : NULL;
}

/* ---- candidates: the actions and resources policy is asked about ---- */

typedef struct {
	char *type, *id;
	char *token_part; /* "ACTION" or "Type:id" as a scope token writes it; NULL when not writable */
	pol_euid_t uid;
} cand_t;

typedef struct {
	cand_t *item;
	size_t n, cap;
	json_t *seen; /* Type::"id" -> true */
} cands_t;

static bool type_is(const char *type, const char *name)
{
	size_t tl = strlen(type), nl = strlen(name);
	return tl >= nl && strcmp(type + tl - nl, name) == 0 && (tl == nl || type[tl - nl - 1] == ':');
}

static void cand_add(cands_t *c, const char *type, size_t tlen, const char *id, size_t ilen, bool action)
{
	char key[2 * TG_MAX_SCOPE_TOKEN_LEN + 8];
	if (tlen + ilen + 6 > sizeof key)
		return;
	snprintf(key, sizeof key, "%.*s::\"%.*s\"", (int)tlen, type, (int)ilen, id);
	if (json_object_get(c->seen, key) != NULL)
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		cand_t *m = realloc(c->item, cap * sizeof *m);
		if (m == NULL)
			return;
		c->item = m;
		c->cap = cap;
	}
	json_object_set_new(c->seen, key, json_true());
	cand_t *k = &c->item[c->n++];
	k->type = strndup(type, tlen);
	k->id = strndup(id, ilen);
	k->token_part = NULL;
	if (action ? scope_action_valid(id, ilen) : scope_type_valid(type, tlen) && scope_id_valid(id, ilen)) {
		size_t need = tlen + ilen + 2;
		k->token_part = malloc(need);
		if (k->token_part != NULL) {
			if (action)
				snprintf(k->token_part, need, "%.*s", (int)ilen, id);
			else
				snprintf(k->token_part, need, "%.*s:%.*s", (int)tlen, type, (int)ilen, id);
		}
	}
	k->uid = (pol_euid_t){{k->type, tlen}, {k->id, ilen}};
}

static void cands_free(cands_t *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->item[i].type);
		free(c->item[i].id);
		free(c->item[i].token_part);
	}
	free(c->item);
	json_decref(c->seen);
}

static void add_euid(cands_t *c, const pol_euid_t *u, bool action)
{
	if (u != NULL && type_is(u->type.p, "Action") == action)
		cand_add(c, u->type.p, u->type.len, u->id.p, u->id.len, action);
}

static void add_scope(cands_t *c, const pol_scope_t *s, bool action)
{
	if (s->op == POL_SCOPE_EQ || s->op == POL_SCOPE_IN || s->op == POL_SCOPE_IS_IN)
		add_euid(c, s->euid, action);
	for (size_t i = 0; s->op == POL_SCOPE_IN_SET && i < s->n; i++)
		add_euid(c, &s->set[i], action);
}

static bool resource_type(const char *type)
{
	return !type_is(type, "Action") && !type_is(type, "Workload") && !type_is(type, "Operator") &&
	       !type_is(type, "Role");
}

static void candidates(const posture_input_t *in, cands_t *actions, cands_t *resources)
{
	actions->seen = json_object();
	resources->seen = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(in->entities, i, e) {
		json_t *uid = json_object_get(e, "uid");
		const char *type = json_string_value(json_object_get(uid, "type"));
		const char *id = json_string_value(json_object_get(uid, "id"));
		if (type == NULL || id == NULL)
			continue;
		if (type_is(type, "Action"))
			cand_add(actions, type, strlen(type), id, strlen(id), true);
		else if (resource_type(type))
			cand_add(resources, type, strlen(type), id, strlen(id), false);
	}
	const pol_set_t *set = in->engine ? pol_engine_set(in->engine) : NULL;
	for (size_t p = 0; set != NULL && p < set->n; p++) {
		add_scope(actions, &set->policy[p].action, true);
		add_scope(resources, &set->policy[p].resource, false);
	}
}

/* ---- per identity: the standing scopes and which were used ---- */

typedef struct {
	json_t *used;      /* ["ACTION@Type:id"] of the standing scopes used */
	json_t *unused;    /* the standing scopes not used */
	json_t *policies;  /* ids of the policies that grant the unused ones */
	json_t *used_by_resource; /* "Type:id" -> ["ACTION", ...] of used scopes */
	json_t *used_resource_uid; /* "Type:id" -> Type::"id" */
	size_t privileged; /* standing scopes with a privileged action */
} standing_t;

static bool used_within(const pol_entities_t *es, const json_t *scopes, const char *granted)
{
	size_t i;
	json_t *u;
	json_array_foreach(scopes, i, u) {
		const char *t = json_string_value(u);
		if (t != NULL && (pol_scope_token_within(es, granted, t) || pol_scope_token_within(es, t, granted)))
			return true;
	}
	return false;
}

static bool permit_standing(const pol_policy_t *p)
{
	return p->effect == POL_PERMIT && pol_annotation(p, "requires_grant") == NULL;
}

/* Whether the decision leaves (action, resource) standing for this
 * principal: allowed, or (no forbid applying) a permit without
 * @requires_grant applies whose condition needs the request's context. */
static bool standing_decision(const pol_set_t *set, const pol_decision_t *d)
{
	if (d->allow || d->nreasons > 0)
		return d->allow;
	for (size_t i = 0; i < d->nerrors; i++)
		if (permit_standing(&set->policy[d->errors[i].policy]))
			return true;
	return false;
}

/* Adds the ids of the policies that make a standing decision to ids. */
static void granting_policies(const pol_set_t *set, const pol_decision_t *d, json_t *ids)
{
	for (size_t i = 0; d->allow && i < d->nreasons; i++)
		json_object_set_new(ids, set->policy[d->reasons[i]].id.p, json_true());
	for (size_t i = 0; !d->allow && i < d->nerrors; i++)
		if (permit_standing(&set->policy[d->errors[i].policy]))
			json_object_set_new(ids, set->policy[d->errors[i].policy].id.p, json_true());
}

static void quote_uid(char *out, size_t size, const cand_t *r)
{
	size_t o = 0;
	o += (size_t)snprintf(out, size, "%s::\"", r->type);
	for (const char *s = r->id; *s != '\0' && o + 4 < size; s++) {
		if (*s == '"' || *s == '\\')
			out[o++] = '\\';
		out[o++] = *s;
	}
	snprintf(out + o, size - o, "\"");
}

static void note_used(standing_t *st, const cand_t *a, const cand_t *r)
{
	json_t *acts = json_object_get(st->used_by_resource, r->token_part);
	if (acts == NULL) {
		char uid[2 * TG_MAX_SCOPE_TOKEN_LEN + 16];
		quote_uid(uid, sizeof uid, r);
		acts = json_array();
		json_object_set_new(st->used_by_resource, r->token_part, acts);
		json_object_set_new(st->used_resource_uid, r->token_part, json_string(uid));
	}
	json_array_append_new(acts, json_string(a->token_part));
}

/* Evaluates every candidate pair for principal Workload::"id". Returns the
 * number of decisions made. */
static size_t evaluate_identity(const posture_params_t *p, const posture_input_t *in, const char *id,
				const cands_t *actions, const cands_t *resources, const json_t *used_scopes,
				pol_scratch_t *scratch, standing_t *st)
{
	const pol_set_t *set = pol_engine_set(in->engine);
	pol_request_t req = {.principal = {{"Workload", 8}, {id, strlen(id)}}, .context = NULL};
	pol_facts_t facts = {.grant_approvals = -1, .mfa_age_s = -1};
	json_t *grant_ids = json_object();
	size_t decisions = 0;
	for (size_t a = 0; a < actions->n; a++) {
		if (actions->item[a].token_part == NULL)
			continue;
		for (size_t r = 0; r < resources->n; r++) {
			if (resources->item[r].token_part == NULL)
				continue;
			req.action = actions->item[a].uid;
			req.resource = resources->item[r].uid;
			pol_decision_t d;
			decisions++;
			if (pol_authorize(in->engine, in->es, &req, &facts, scratch, &d) != 0 ||
			    !standing_decision(set, &d))
				continue;
			char tok[2 * TG_MAX_SCOPE_TOKEN_LEN + 2];
			snprintf(tok, sizeof tok, "%s@%s", actions->item[a].token_part, resources->item[r].token_part);
			st->privileged += posture_action_privileged(p->privileged, actions->item[a].id);
			if (used_within(in->es, used_scopes, tok)) {
				json_array_append_new(st->used, json_string(tok));
				note_used(st, &actions->item[a], &resources->item[r]);
			} else {
				json_array_append_new(st->unused, json_string(tok));
				granting_policies(set, &d, grant_ids);
			}
		}
	}
	const char *k;
	json_t *v;
	json_object_foreach(grant_ids, k, v)
		json_array_append_new(st->policies, json_string(k));
	json_decref(grant_ids);
	return decisions;
}

/* A narrower policy for id: one permit per used resource with the actions
 * it used there; none used, a comment saying its standing permits can go. */
static json_t *suggested_policy(const char *id, const standing_t *st, int64_t days)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		return json_string("");
	fprintf(f, "// least privilege for Workload \"%s\": what it used in the last %lld days.\n", id,
		(long long)days);
	fprintf(f, "// Replaces what policies ");
	size_t i;
	json_t *v;
	json_array_foreach(st->policies, i, v)
		fprintf(f, "%s%s", i ? ", " : "", json_string_value(v));
	fprintf(f, " grant it.\n");
	if (json_object_size(st->used_by_resource) == 0)
		fprintf(f, "// It used none of its standing scopes: request a JIT grant when it needs one.\n");
	const char *res;
	json_t *acts;
	size_t n = 0;
	json_object_foreach(st->used_by_resource, res, acts) {
		char esc[2 * TG_MAX_ID_LEN + 4];
		size_t o = 0;
		for (const char *s = id; *s != '\0' && o + 3 < sizeof esc; s++) {
			if (*s == '"' || *s == '\\')
				esc[o++] = '\\';
			esc[o++] = *s;
		}
		esc[o] = '\0';
		fprintf(f, "@id(\"least-privilege-%s-%zu\")\npermit (\n  principal == Workload::\"%s\",\n  action in [",
			esc, ++n, esc);
		json_array_foreach(acts, i, v)
			fprintf(f, "%sAction::\"%s\"", i ? ", " : "", json_string_value(v));
		fprintf(f, "],\n  resource == %s\n);\n",
			json_string_value(json_object_get(st->used_resource_uid, res)));
	}
	fclose(f);
	json_t *out = json_string(text ? text : "");
	free(text);
	return out;
}

/* ---- shares ---- */

typedef enum { S_CRED, S_OWNERLESS, S_UNUSED, S_STANDING, S_UNUSED_PERM, S_SECRETS, S_COUNT } share_t;
static const char *const share_names[S_COUNT] = {
	"credentials_overdue", "ownerless", "unused", "standing_privilege", "unused_permissions", "secrets_overdue"};

static json_t *share_json(size_t count, size_t total, bool available)
{
	if (!available)
		return json_pack("{s:n, s:n, s:n}", "count", "total", "share");
	/* four decimals, rounded half up, in integers (core links no libm) */
	double share = total ? (double)((count * 10000 + total / 2) / total) / 10000.0 : 0.0;
	return json_pack("{s:I, s:I, s:f}", "count", (json_int_t)count, "total", (json_int_t)total, "share", share);
}

/* ---- the identity part ---- */

typedef struct {
	const posture_params_t *p;
	const posture_input_t *in;
	json_t *findings, *inventory, *key_max_age_attr;
	size_t count[S_COUNT], considered;
	cands_t actions, resources;
	pol_scratch_t *scratch;
	size_t decisions;
	size_t skipped; /* identities whose permissions were not evaluated (decision cap) */
} ctx_t;

static int64_t key_max_age_of(const ctx_t *c, const char *id, const char **source)
{
	json_t *v = json_object_get(c->key_max_age_attr, id);
	*source = v ? "entity attribute key_max_age" : "config key_max_age";
	return v ? json_integer_value(v) : c->p->key_max_age;
}

static json_t *days_json(int64_t s)
{
	return json_integer(s / DAY);
}

/* Keys: inventory rows and their findings; true when one is overdue. */
static bool check_keys(ctx_t *c, const identity_t *id, json_t *rows, bool active)
{
	const char *source;
	int64_t max_age = key_max_age_of(c, id->id, &source), now = c->p->now;
	bool overdue_any = false;
	for (size_t k = 0; k < id->n_keys; k++) {
		const identity_key_t *key = &id->keys[k];
		int64_t age = now - key->created_at;
		bool enabled = key->disabled_at == 0 && (key->expires_at == 0 || key->expires_at > now);
		bool overdue = enabled && age > max_age;
		bool long_lived = enabled && (key->expires_at == 0 || key->expires_at - key->created_at > max_age);
		json_array_append_new(rows, json_pack("{s:s, s:o, s:o, s:o, s:b, s:b}", "kid", key->kid, "created_at",
						      rfc3339_json(key->created_at), "age_days", days_json(age),
						      "expires_at", key->expires_at ? rfc3339_json(key->expires_at) : json_null(),
						      "enabled", enabled, "rotation_overdue", overdue));
		if (!active)
			continue;
		if (overdue)
			json_array_append_new(c->findings, finding(&F_KEY_OVERDUE, "identity", id->id,
				json_pack("{s:s, s:o, s:o, s:o, s:s}", "kid", key->kid, "created_at",
					  rfc3339_json(key->created_at), "age_days", days_json(age),
					  "max_age_days", days_json(max_age), "policy_source", source)));
		else if (long_lived)
			json_array_append_new(c->findings, finding(&F_KEY_LONG, "identity", id->id,
				json_pack("{s:s, s:o, s:o, s:o, s:s}", "kid", key->kid, "created_at",
					  rfc3339_json(key->created_at), "expires_at",
					  key->expires_at ? rfc3339_json(key->expires_at) : json_null(),
					  "max_age_days", days_json(max_age), "policy_source", source)));
		overdue_any |= overdue;
	}
	return overdue_any;
}

static int64_t last_used_of(const identity_t *id, const json_t *use)
{
	json_int_t audit_last = json_integer_value(json_object_get(use, "last"));
	return audit_last > id->last_used_at ? audit_last : id->last_used_at;
}

static bool check_unused(ctx_t *c, const identity_t *id, int64_t last)
{
	int64_t since = last ? last : id->created_at, idle = c->p->now - since;
	if (idle < c->p->unused_days * DAY)
		return false;
	json_array_append_new(c->findings, finding(&F_UNUSED, "identity", id->id,
		json_pack("{s:s, s:o, s:o, s:I, s:I}", "status", id->status, "last_used_at",
			  last ? rfc3339_json(last) : json_null(), "created_at", rfc3339_json(id->created_at),
			  "days_unused", (json_int_t)(idle / DAY), "unused_days", (json_int_t)c->p->unused_days)));
	return true;
}

static void check_permissions(ctx_t *c, const identity_t *id, const json_t *use, json_t *row)
{
	if (c->in->engine == NULL)
		return;
	size_t pairs = c->actions.n * c->resources.n;
	if (c->decisions + pairs > POSTURE_MAX_DECISIONS) {
		c->skipped++;
		return;
	}
	const json_t *scopes = json_object_get(use, "scopes");
	standing_t st = {json_array(), json_array(), json_array(), json_object(), json_object(), 0};
	c->decisions += evaluate_identity(c->p, c->in, id->id, &c->actions, &c->resources, scopes, c->scratch, &st);
	size_t standing = json_array_size(st.used) + json_array_size(st.unused);
	json_object_set_new(row, "standing_scopes", json_integer((json_int_t)standing));
	json_object_set_new(row, "used_scopes", json_integer((json_int_t)json_array_size(st.used)));
	c->count[S_STANDING] += st.privileged > 0;
	if (json_array_size(st.unused) > 0) {
		c->count[S_UNUSED_PERM]++;
		json_t *ev = json_pack("{s:O, s:O, s:O, s:I, s:o}", "unused", st.unused, "used", st.used, "granted_by",
				       st.policies, "window_days", (json_int_t)c->p->unused_days, "suggested_policy",
				       suggested_policy(id->id, &st, c->p->unused_days));
		json_array_append_new(c->findings, finding(&F_UNUSED_PERM, "identity", id->id, ev));
	}
	json_decref(st.used);
	json_decref(st.unused);
	json_decref(st.policies);
	json_decref(st.used_by_resource);
	json_decref(st.used_resource_uid);
}

static void check_identity(ctx_t *c, const identity_t *id)
{
	bool active = strcmp(id->status, "offboarded") != 0;
	const json_t *use = json_object_get(c->in->usage, id->id);
	int64_t last = last_used_of(id, use);
	const char *source = NULL;
	int64_t max_age = key_max_age_of(c, id->id, &source);
	json_t *keys = json_array();
	json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I, s:s}", "id", id->id, "kind", id->kind,
				"owner", id->owner, "status", id->status, "created_at", rfc3339_json(id->created_at),
				"last_used_at", last ? rfc3339_json(last) : json_null(), "keys", keys,
				"active_grants", json_integer_value(json_object_get(c->in->active_grants, id->id)),
				"key_max_age", (json_int_t)max_age, "key_max_age_source", source);
	bool overdue = check_keys(c, id, keys, active);
	json_array_append_new(c->inventory, row);
	if (!active)
		return;
	c->considered++;
	c->count[S_CRED] += overdue;
	if (id->owner[0] == '\0') {
		c->count[S_OWNERLESS]++;
		json_array_append_new(c->findings, finding(&F_OWNER, "identity", id->id,
			json_pack("{s:s, s:s}", "owner", "", "kind", id->kind)));
	}
	c->count[S_UNUSED] += check_unused(c, id, last);
	check_permissions(c, id, use, row);
}

/* Workload entities' key_max_age attribute (a positive long, seconds). */
static json_t *key_max_age_attrs(const json_t *entities)
{
	json_t *out = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(entities, i, e) {
		json_t *uid = json_object_get(e, "uid");
		const char *type = json_string_value(json_object_get(uid, "type"));
		const char *id = json_string_value(json_object_get(uid, "id"));
		json_t *v = json_object_get(json_object_get(e, "attrs"), "key_max_age");
		if (type != NULL && id != NULL && strcmp(type, "Workload") == 0 && json_is_integer(v) &&
		    json_integer_value(v) > 0)
			json_object_set_new(out, id, json_integer(json_integer_value(v)));
	}
	return out;
}

/* ---- the policy part ---- */

/* The candidate actions policy p's action scope covers that are privileged. */
static json_t *privileged_actions(const ctx_t *c, const pol_policy_t *p)
{
	json_t *out = json_array();
	const pol_scope_t *s = &p->action;
	for (size_t i = 0; i < c->actions.n; i++) {
		const cand_t *a = &c->actions.item[i];
		bool covered = s->op == POL_SCOPE_ANY;
		if (s->op == POL_SCOPE_EQ || s->op == POL_SCOPE_IN)
			covered = s->op == POL_SCOPE_EQ ? pol_euid_eq(&a->uid, s->euid)
							: pol_entities_in(c->in->es, &a->uid, s->euid);
		for (size_t k = 0; s->op == POL_SCOPE_IN_SET && !covered && k < s->n; k++)
			covered = pol_entities_in(c->in->es, &a->uid, &s->set[k]);
		if (covered && posture_action_privileged(c->p->privileged, a->id))
			json_array_append_new(out, json_string(a->id));
	}
	return out;
}

static void check_policies(ctx_t *c)
{
	const pol_set_t *set = c->in->engine ? pol_engine_set(c->in->engine) : NULL;
	for (size_t i = 0; set != NULL && i < set->n; i++) {
		const pol_policy_t *p = &set->policy[i];
		if (p->effect != POL_PERMIT)
			continue;
		const pol_str_t *ttl = pol_annotation(p, "max_ttl");
		long long t = ttl ? strtoll(ttl->p, NULL, 10) : 0;
		if (t > c->p->max_ttl_limit)
			json_array_append_new(c->findings, finding(&F_MAX_TTL, "policy", p->id.p,
				json_pack("{s:s, s:I, s:I, s:I}", "policy", p->id.p, "line", (json_int_t)p->line,
					  "max_ttl", (json_int_t)t, "limit", (json_int_t)c->p->max_ttl_limit)));
		if (!permit_standing(p))
			continue;
		json_t *acts = privileged_actions(c, p);
		if (json_array_size(acts) == 0) {
			json_decref(acts);
			continue;
		}
		json_array_append_new(c->findings, finding(&F_STANDING, "policy", p->id.p,
			json_pack("{s:s, s:I, s:o, s:b}", "policy", p->id.p, "line", (json_int_t)p->line,
				  "privileged_actions", acts, "conditional", p->ncond > 0)));
	}
}

/* ---- static secrets ---- */

static json_t *check_secrets(ctx_t *c)
{
	if (c->in->secrets == NULL)
		return json_pack("{s:b, s:s}", "available", 0, "note",
				 "no secret store data: this broker has no secrets table, so static secrets are not assessed");
	size_t i, overdue = 0;
	json_t *s;
	json_array_foreach(c->in->secrets, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));
		json_int_t due = json_integer_value(json_object_get(s, "next_due"));
		if (name == NULL || due == 0 || due > c->p->now)
			continue;
		overdue++;
		json_array_append_new(c->findings, finding(&F_SECRET, "secret", name,
			json_pack("{s:s, s:o, s:I}", "name", name, "next_due", rfc3339_json(due), "days_overdue",
				  (json_int_t)((c->p->now - due) / DAY))));
	}
	c->count[S_SECRETS] = overdue;
	return json_pack("{s:b, s:I, s:I}", "available", 1, "secrets", (json_int_t)json_array_size(c->in->secrets),
			 "overdue", (json_int_t)overdue);
}

/* ---- the document ---- */

static json_t *summary(const json_t *findings)
{
	json_t *by_owasp = json_object(), *by_nist = json_object(), *by_kind = json_object();
	size_t i;
	json_t *f;
	json_array_foreach(findings, i, f) {
		const char *keys[3] = {json_string_value(json_array_get(json_object_get(f, "owasp"), 0)),
				       json_string_value(json_array_get(json_object_get(f, "nist"), 0)),
				       json_string_value(json_object_get(f, "kind"))};
		json_t *maps[3] = {by_owasp, by_nist, by_kind};
		for (int k = 0; k < 3; k++)
			json_object_set_new(maps[k], keys[k],
					    json_integer(json_integer_value(json_object_get(maps[k], keys[k])) + 1));
	}
	return json_pack("{s:I, s:o, s:o, s:o}", "findings", (json_int_t)json_array_size(findings), "by_kind",
			 by_kind, "by_owasp", by_owasp, "by_nist", by_nist);
}

static json_t *mapping_table(void)
{
	json_t *o = json_object(), *n = json_object();
	for (size_t i = 0; i < sizeof mappings / sizeof mappings[0]; i++)
		json_object_set_new(mappings[i].code[0] == 'N' ? o : n, mappings[i].code, json_string(mappings[i].title));
	return json_pack("{s:o, s:o}", "owasp_nhi_2025", o, "nist_csf_2", n);
}

json_t *posture_report(const posture_params_t *p, const posture_input_t *in, pol_scratch_t *scratch)
{
	ctx_t c = {.p = p, .in = in, .findings = json_array(), .inventory = json_array(), .scratch = scratch};
	c.key_max_age_attr = key_max_age_attrs(in->entities);
	candidates(in, &c.actions, &c.resources);
	for (size_t i = 0; i < in->n_ids; i++)
		check_identity(&c, &in->ids[i]);
	check_policies(&c);
	json_t *secrets = check_secrets(&c);
	json_t *shares = json_object();
	for (int s = 0; s < S_COUNT; s++)
		json_object_set_new(shares, share_names[s],
				    share_json(c.count[s], s == S_SECRETS ? json_array_size(in->secrets) : c.considered,
					       s != S_SECRETS || in->secrets != NULL));
	json_t *history = in->history ? json_deep_copy(in->history) : json_array();
	json_t *doc = json_pack(
		"{s:s, s:o, s:{s:I, s:I, s:I, s:s}, s:{s:I, s:I, s:I, s:I, s:b, s:I}, s:o, s:o, s:o, s:o, s:o, s:o}",
		"schema", POSTURE_SCHEMA, "generated_at", rfc3339_json(p->now), "parameters", "unused_days",
		(json_int_t)p->unused_days, "key_max_age", (json_int_t)p->key_max_age, "max_ttl_limit",
		(json_int_t)p->max_ttl_limit, "privileged_actions", p->privileged ? p->privileged : "", "coverage",
		"identities", (json_int_t)in->n_ids, "considered", (json_int_t)c.considered, "candidate_actions",
		(json_int_t)c.actions.n, "candidate_resources", (json_int_t)c.resources.n, "policy",
		in->engine != NULL, "permissions_not_evaluated", (json_int_t)c.skipped, "shares", shares, "summary",
		summary(c.findings), "findings", c.findings, "inventory", c.inventory, "secrets", secrets, "history",
		history);
	if (doc != NULL) {
		json_object_set_new(doc, "mappings", mapping_table());
		json_array_append_new(history, posture_snapshot(doc, "now"));
	}
	json_decref(c.key_max_age_attr);
	cands_free(&c.actions);
	cands_free(&c.resources);
	return doc;
}

json_t *posture_snapshot(const json_t *report, const char *source)
{
	json_t *shares = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)json_object_get(report, "shares"), k, v)
		json_object_set(shares, k, json_object_get(v, "share"));
	return json_pack("{s:O, s:s, s:o}", "time", json_object_get(report, "generated_at"), "source", source,
			 "shares", shares);
}
