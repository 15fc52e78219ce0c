/* probes_api.c - POST /v1/probes: a probe token for `--verify` (docs/edge.md,
 * Verified revocation). To prove that a suspended or offboarded identity,
 * or an ended grant, is refused at every edge, the CLI needs a credential
 * of it to present; the tokens that existed may be gone. A probe is an
 * access token signed like any other for that identity (and grant), with
 * the scope tollgate.probe@Api:tollgate, a 60 s lifetime and a jti starting
 * "probe-", issued ONLY for an identity that is not active or a grant that
 * is over, so it can open nothing: edges refuse it as revoked, and refuse
 * a probe token that is not revoked anyway (reason probe). It is not
 * recorded as an issued token (introspection says inactive) and every
 * probe is an audit record. */
#include "broker/audit_trail.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "broker/signer.h"
#include "core/b64url.h"
#include "core/grant.h"
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define PROBE_TTL 60
#define PROBE_SCOPE "tollgate.probe@Api:tollgate"

/* The identity (and grant) to probe, checked to be revoked; -1 when it
 * has answered. */
static int subject(req_t *r, const json_t *doc, char ident[TG_MAX_ID_LEN + 1], char grant_id[TG_GRANT_ID_LEN + 1])
{
	const char *id = json_string_value(json_object_get(doc, "identity"));
	const char *g = json_string_value(json_object_get(doc, "grant"));
	grant_id[0] = '\0';
	if ((id == NULL) == (g == NULL) || json_object_size(doc) != 1) {
		http_problem(r, 400, "Invalid probe request", "send exactly one of {\"identity\": ID} and {\"grant\": ID}");
		return -1;
	}
	if (g != NULL) {
		grant_t gr;
		if (strlen(g) > TG_GRANT_ID_LEN || store_grant_get(r->b->store, g, &gr) != STORE_OK) {
			http_problem(r, 404, NULL, "no such grant");
			return -1;
		}
		grant_state_t st = grant_effective(gr.state, r->now, gr.start, gr.expires_at, gr.ends_at);
		snprintf(ident, TG_MAX_ID_LEN + 1, "%s", gr.identity);
		snprintf(grant_id, TG_GRANT_ID_LEN + 1, "%s", gr.id);
		grant_release(&gr);
		if (!grant_state_final(st) || st == GRANT_DENIED || st == GRANT_CANCELLED) {
			http_problem(r, 409, NULL, "the grant was never active or is still active: end or revoke it first");
			return -1;
		}
		return 0;
	}
	identity_t idn;
	if (strlen(id) > TG_MAX_ID_LEN || store_identity_get(r->b->store, id, &idn) != STORE_OK) {
		http_problem(r, 404, NULL, "no such identity");
		return -1;
	}
	bool active = strcmp(idn.status, "active") == 0;
	snprintf(ident, TG_MAX_ID_LEN + 1, "%s", idn.id);
	identity_release(&idn);
	if (active) {
		http_problem(r, 409, NULL, "the identity is active: suspend or offboard it first");
		return -1;
	}
	return 0;
}

void handle_probe_create(req_t *r)
{
	char ident[TG_MAX_ID_LEN + 1], grant_id[TG_GRANT_ID_LEN + 1], kid[TG_MAX_KID_LEN + 1], jti[32];
	uint8_t raw[16];
	json_t *doc = http_json_body(r);
	if (doc == NULL)
		return;
	if (subject(r, doc, ident, grant_id) != 0) {
		json_decref(doc);
		return;
	}
	json_decref(doc);
	randombytes_buf(raw, sizeof raw);
	memcpy(jti, "probe-", 6);
	b64url_encode_to(raw, sizeof raw, jti + 6);
	tok_issue_t t = {.issuer = r->b->issuer, .audience = r->b->cfg.audience, .sub = ident, .client_id = ident,
			 .scope = PROBE_SCOPE, .jti = jti, .iat = r->now, .exp = r->now + PROBE_TTL,
			 .alg = r->b->cfg.token_alg_name, .grant = grant_id[0] ? grant_id : NULL};
	char *token = signer_issue(r->b->signer, &t, kid);
	if (token == NULL) {
		http_problem(r, 500, NULL, "could not sign the probe");
		return;
	}
	json_t *details = json_pack("{s:s, s:s?}", "identity", ident, "grant", grant_id[0] ? grant_id : NULL);
	audit_event_t ev = audit_event(r, "probe.issued", r->actor.id);
	ev.action = "probe.issue";
	ev.resource = grant_id[0] ? grant_id : ident;
	ev.decision = "allow";
	ev.jti = jti;
	ev.grant = grant_id[0] ? grant_id : NULL;
	ev.details = details;
	audit_append(r, &ev);
	json_decref(details);
	http_json(r, 201, json_pack("{s:s, s:s, s:I}", "token", token, "jti", jti, "expires_in", (json_int_t)PROBE_TTL));
	sodium_memzero(token, strlen(token));
	free(token);
}
