/* edge_modbus_decide.c - admission, per-request decisions and audit
 * records of the Modbus/TCP proxy (edge_modbus_decide.h). */
#include "edge/edge_modbus_decide.h"
#include "core/policy/coverage.h"
#include "core/policy/ext.h"
#include "core/policy/request_context.h"
#include "edge/edge_spool.h"
#include "shell/log.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define MB_ACTION_SESSION_KILLED "modbus.session_killed"

static const char *const mb_actions[] = {MB_ACTION_READ, MB_ACTION_WRITE, MB_ACTION_DIAGNOSTIC, MB_ACTION_PROGRAM};

int mb_device_init(mb_device_t *d, edge_t *e, const edge_modbus_t *line, char *why, size_t why_len)
{
	memset(d, 0, sizeof *d);
	d->e = e;
	d->line = line;
	const char *colon = strchr(line->entity, ':');
	if (colon == NULL || colon == line->entity || colon[1] == '\0') {
		snprintf(why, why_len, "modbus line %d: the device entity must be Type:id", line->line);
		return -1;
	}
	snprintf(d->type, sizeof d->type, "%.*s", (int)(colon - line->entity), line->entity);
	snprintf(d->id, sizeof d->id, "%s", colon + 1);
	return mb_options_parse(line, &d->opt, why, why_len);
}

static pol_euid_t device_euid(const mb_device_t *d)
{
	return (pol_euid_t){{d->type, strlen(d->type)}, {d->id, strlen(d->id)}};
}

static pol_euid_t action_euid(const char *action)
{
	return (pol_euid_t){{"Action", 6}, {action, strlen(action)}};
}

/* ---- audit ---- */

/* Appends one record (details is taken); -1 when the spool refuses it. */
static int record(const mb_device_t *d, const mb_conn_t *c, const char *src, const char *action, bool allow,
		  json_t *details, const char *policies)
{
	json_t *pols = NULL;
	if (policies != NULL && policies[0] != '\0') {
		char ids[256];
		pols = json_array();
		snprintf(ids, sizeof ids, "%s", policies);
		for (char *save = NULL, *t = strtok_r(ids, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
			json_array_append_new(pols, json_string(t));
	}
	if (c != NULL && c->session[0] != '\0' && details != NULL)
		json_object_set_new(details, "session", json_string(c->session));
	audit_event_t ev = {.type = allow ? "authz.allow" : "authz.deny",
			    .actor = c && c->identity[0] ? c->identity : NULL,
			    .action = action,
			    .resource = d->line->entity,
			    .decision = allow ? "allow" : "deny",
			    .grant = c && c->grant[0] ? c->grant : NULL,
			    .src = src,
			    .edge = d->e->cfg.identity,
			    .policies = pols,
			    .details = details};
	int rc = edge_spool_append(d->e->spool, &ev);
	if (rc != 0)
		log_event(LOG_ERROR, "modbus: the audit spool refused a record", "device", d->line->entity, NULL);
	json_decref(details);
	json_decref(pols);
	return rc;
}

static json_t *request_details(const mb_request_t *r, uint8_t code, const char *reason)
{
	const char *fn = mb_function_name(r->function);
	json_t *j = json_pack("{s:s, s:i, s:i, s:s}", "protocol", "modbus", "function_code", r->function, "unit",
			      r->unit, "reason", reason);
	json_object_set_new(j, "function", fn ? json_string(fn) : json_null());
	if (r->address >= 0) {
		json_object_set_new(j, "address", json_integer(r->address));
		json_object_set_new(j, "count", json_integer(r->count));
	}
	if (code != 0) {
		const char *ex = mb_exception_name(code);
		json_object_set_new(j, "exception", json_integer(code));
		json_object_set_new(j, "exception_name", ex ? json_string(ex) : json_null());
	}
	return j;
}

void mb_record_refused(const mb_device_t *d, const char *src, const char *why)
{
	(void)record(d, NULL, src, "modbus.connect", false, json_pack("{s:s, s:s}", "protocol", "modbus", "reason", why),
		     NULL);
}

void mb_record_malformed(const mb_device_t *d, const mb_conn_t *c, const char *why)
{
	(void)record(d, c, c->src, NULL, false,
		     json_pack("{s:s, s:s, s:s}", "protocol", "modbus", "reason", "malformed frame", "why", why), NULL);
}

void mb_record_refusal(const mb_device_t *d, mb_conn_t *c, const mb_request_t *r, uint8_t code, const char *reason)
{
	c->denied++;
	(void)record(d, c, c->src, mb_request_action(r), false, request_details(r, code, reason), NULL);
}

static void flush_reads(const mb_device_t *d, mb_conn_t *c)
{
	if (c->reads == 0)
		return;
	(void)record(d, c, c->src, MB_ACTION_READ, true,
		     json_pack("{s:s, s:s, s:I, s:I}", "protocol", "modbus", "aggregated", "minute", "requests",
			       (json_int_t)c->reads, "minute_start", (json_int_t)(c->reads_minute * 60)),
		     NULL);
	c->reads = 0;
}

void mb_reads_tick(const mb_device_t *d, mb_conn_t *c, int64_t now_ms)
{
	if (c->reads > 0 && now_ms / 60000 != c->reads_minute)
		flush_reads(d, c);
}

/* ---- admission ---- */

typedef struct {
	const mb_device_t *d;
	pol_ip_t src;
	int64_t now;
	mb_conn_t *c;
} admit_t;

static bool grant_live(const edge_state_t *st, const edge_grant_t *g, int64_t now)
{
	const edge_identity_t *id = edge_state_identity(st, g->identity);
	/* only identities that are not active are in the map: suspended or offboarded */
	return strcmp(g->state, "active") == 0 && (g->ends_at <= 0 || now < g->ends_at) && id == NULL;
}

/* A scope covers the device when one of its tokens covers some modbus.* action. */
static bool scope_covers_device(const pol_entities_t *es, const scope_set_t *sc, const mb_device_t *d,
				const char *action)
{
	pol_euid_t res = device_euid(d);
	for (size_t a = 0; a < sizeof mb_actions / sizeof mb_actions[0]; a++) {
		if (action != NULL && strcmp(action, mb_actions[a]) != 0)
			continue;
		pol_euid_t act = action_euid(mb_actions[a]);
		for (size_t i = 0; i < sc->n; i++)
			if (pol_scope_token_covers(es, sc->tok[i], &act, &res))
				return true;
	}
	return false;
}

static bool binds(const char *id, const edge_grant_t *g, void *ctx)
{
	admit_t *a = ctx;
	const edge_state_t *st = a->d->e->state;
	pol_ip_t range;
	scope_set_t sc;
	const char *why = NULL;
	if (!grant_live(st, g, a->now) || g->source[0] == '\0' || g->scope == NULL ||
	    pol_ip_parse(g->source, strlen(g->source), &range) != 0 || !pol_ip_in_range(&a->src, &range) ||
	    scope_parse(g->scope, &sc, &why) != 0)
		return false;
	if (!scope_covers_device(edge_state_entities(st), &sc, a->d, NULL)) {
		scope_free(&sc);
		return false;
	}
	snprintf(a->c->identity, sizeof a->c->identity, "%s", g->identity);
	snprintf(a->c->grant, sizeof a->c->grant, "%s", id);
	a->c->scope = sc;
	return true;
}

bool mb_admit(const mb_device_t *d, const char *src, int64_t now_ms, mb_conn_t *c)
{
	edge_t *e = d->e;
	admit_t a = {d, {0}, now_ms / 1000, c};
	const char *why = NULL;
	memset(c, 0, sizeof *c);
	snprintf(c->src, sizeof c->src, "%s", src);
	if (pol_ip_parse(src, strlen(src), &a.src) != 0)
		why = "the client address does not parse";
	edge_state_read(e->state);
	if (why == NULL && !edge_state_ready(e->state))
		why = "the edge has no state from the broker yet";
	else if (why == NULL && d->opt.stale == MB_STALE_CLOSED && edge_stale(e, now_ms))
		why = "the edge has not heard from the broker for more than max_stale (stale=closed)";
	else if (why == NULL && !edge_state_grant_find(e->state, binds, &a))
		why = "no active grant binds this source to the device";
	edge_state_done(e->state);
	if (why != NULL) {
		mb_record_refused(d, src, why);
		return false;
	}
	uint8_t random[EDGE_SESSION_ID_RANDOM];
	randombytes_buf(random, sizeof random);
	edge_session_id_from(random, c->session);
	c->since_ms = now_ms;
	(void)record(d, c, c->src, "modbus.connect", true,
		     json_pack("{s:s, s:s}", "protocol", "modbus", "reason", "an active grant binds the source"), NULL);
	return true;
}

bool mb_still_admitted(const mb_device_t *d, const mb_conn_t *c, int64_t now_ms, const char **why)
{
	edge_state_read(d->e->state);
	const edge_grant_t *g = edge_state_grant(d->e->state, c->grant);
	bool live = g != NULL && grant_live(d->e->state, g, now_ms / 1000);
	if (!live)
		*why = g == NULL ? "the grant is no longer known at this edge"
		       : strcmp(g->state, "active") != 0 ? "the grant is no longer active"
							  : "the grant is over";
	edge_state_done(d->e->state);
	return live;
}

void mb_record_killed(const mb_device_t *d, const mb_conn_t *c, const char *reason)
{
	json_t *details = json_pack("{s:s, s:s}", "protocol", "modbus", "reason", "an operator killed the session");
	if (reason[0] != '\0')
		json_object_set_new(details, "kill_reason", json_string(reason));
	(void)record(d, c, c->src, MB_ACTION_SESSION_KILLED, false, details, NULL);
}

void mb_conn_end(const mb_device_t *d, mb_conn_t *c, const char *why)
{
	flush_reads(d, c);
	log_event(LOG_INFO, "modbus: connection closed", "device", d->line->entity, "src", c->src, "grant", c->grant,
		  "why", why, NULL);
	scope_free(&c->scope);
}

/* ---- per request ---- */

static void policy_ids(const pol_engine_t *eng, const pol_decision_t *pd, char *out, size_t cap)
{
	const pol_set_t *set = pol_engine_set(eng);
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < pd->nreasons && n < cap; i++) {
		pol_str_t id = set->policy[pd->reasons[i]].id;
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", i ? "," : "", (int)id.len, id.p);
	}
}

/* Cedar on the request. State read-locked. 0 allow, else the code. */
static uint8_t decide_policy(const mb_device_t *d, const mb_conn_t *c, const mb_request_t *r, const char *action,
			     int64_t now, const char **reason, char *policies, size_t cap)
{
	static pol_scratch_t *scratch; /* the proxy's one loop thread */
	const edge_state_t *st = d->e->state;
	const edge_grant_t *g = edge_state_grant(st, c->grant);
	if (g == NULL || !grant_live(st, g, now)) {
		*reason = "the grant is no longer active";
		return MB_EX_GATEWAY_PATH_UNAVAILABLE;
	}
	pol_ctx_grant_t cg = {c->grant, g->reason, g->approvals, g->break_glass};
	pol_ctx_input_t in = {.src_ip = c->src, .now = now, .token_age_s = -1, .grant = &cg, .modbus = r};
	pol_ctx_t ctx;
	pol_request_t req = {.principal = {{"Workload", 8}, {c->identity, strlen(c->identity)}},
			     .action = action_euid(action),
			     .resource = device_euid(d),
			     .context = pol_ctx_build(&ctx, &in)};
	pol_facts_t facts = {.grant_approvals = g->approvals, .mfa_age_s = -1};
	pol_decision_t pd;
	const pol_engine_t *eng = edge_state_engine(st);
	if (scratch == NULL)
		scratch = pol_scratch_new();
	if (scratch == NULL || pol_authorize(eng, edge_state_entities(st), &req, &facts, scratch, &pd) != 0) {
		*reason = "the policy decision failed (out of memory)";
		return MB_EX_GATEWAY_PATH_UNAVAILABLE;
	}
	policy_ids(eng, &pd, policies, cap);
	if (pd.allow)
		return 0;
	*reason = pd.nreasons > 0 ? "forbidden by policy"
		  : pd.nunmet > 0 ? "a permit's obligation is not met (@requires_grant)"
				  : "no policy permits it";
	return MB_EX_ILLEGAL_DATA_ADDRESS;
}

/* Unit, stale mode, the grant's scope, then policy. */
static uint8_t decide(const mb_device_t *d, const mb_conn_t *c, const mb_request_t *r, const char *action,
		      int64_t now_ms, const char **reason, char *policies, size_t cap)
{
	edge_t *e = d->e;
	bool read = strcmp(action, MB_ACTION_READ) == 0;
	if (!d->opt.unit_allowed[r->unit]) {
		*reason = "the unit id is not allowed on this listener";
		return MB_EX_GATEWAY_PATH_UNAVAILABLE;
	}
	if (!edge_state_ready(e->state)) {
		*reason = "the edge has no state from the broker yet";
		return MB_EX_GATEWAY_PATH_UNAVAILABLE;
	}
	if (edge_stale(e, now_ms) && (d->opt.stale == MB_STALE_CLOSED || (d->opt.stale == MB_STALE_READS && !read))) {
		*reason = "the edge has not heard from the broker for more than max_stale";
		return MB_EX_GATEWAY_PATH_UNAVAILABLE;
	}
	if (!scope_covers_device(edge_state_entities(e->state), &c->scope, d, action)) {
		*reason = "the grant's scope does not cover this function";
		return MB_EX_ILLEGAL_FUNCTION;
	}
	return decide_policy(d, c, r, action, now_ms / 1000, reason, policies, cap);
}

uint8_t mb_decide(const mb_device_t *d, mb_conn_t *c, const mb_request_t *r, int64_t now_ms)
{
	const char *action = mb_request_action(r), *reason = "allowed";
	char policies[256] = "";
	if (action == NULL) {
		mb_record_refusal(d, c, r, MB_EX_ILLEGAL_FUNCTION, "unknown function");
		return MB_EX_ILLEGAL_FUNCTION;
	}
	edge_state_read(d->e->state);
	uint8_t code = decide(d, c, r, action, now_ms, &reason, policies, sizeof policies);
	edge_state_done(d->e->state);
	bool read = strcmp(action, MB_ACTION_READ) == 0;
	if (code != 0) {
		c->denied++;
		(void)record(d, c, c->src, action, false, request_details(r, code, reason), policies);
		return code;
	}
	c->allowed++;
	if (read && !d->opt.reads_full) {
		if (now_ms / 60000 != c->reads_minute)
			flush_reads(d, c);
		c->reads_minute = now_ms / 60000;
		c->reads++;
		return 0;
	}
	/* a privileged request is never forwarded without its record */
	if (record(d, c, c->src, action, true, request_details(r, 0, reason), policies) != 0)
		return MB_EX_GATEWAY_PATH_UNAVAILABLE;
	return 0;
}
