/* keys_api.c - /v1/keys: list the broker's signing keys, rotate now, and
 * revoke a key (each POST without a body). */
#include "broker/broker.h"
#include "broker/handlers.h"
#include "shell/log.h"

void handle_keys_list(req_t *r)
{
	http_json(r, 200, json_pack("{s:o}", "keys", signer_describe(r->b->signer)));
}

void handle_keys_rotate(req_t *r)
{
	char kid[TG_MAX_KID_LEN + 1];
	if (!http_require_no_body(r))
		return;
	if (signer_rotate(r->b->signer, r->now, broker_key_retention(r->b), r->actor.id, kid) != 0) {
		http_problem(r, 503, NULL, "could not rotate the signing key (store unavailable or too many "
				 "retired keys still published); retry later");
		return;
	}
	log_event(LOG_INFO, "signing key rotated", "kid", kid, NULL);
	http_json(r, 200, json_pack("{s:s, s:o}", "current_kid", kid, "keys", signer_describe(r->b->signer)));
}

/* POST /v1/keys/{kid}/revoke: the key leaves the JWKS and the broker's own
 * verification at once (the current key is rotated first); its key.revoked
 * record is a feed entry, so edges fetch the JWKS without it. */
void handle_keys_revoke(req_t *r)
{
	char current[TG_MAX_KID_LEN + 1];
	bool rotated = false;
	if (!http_require_no_body(r))
		return;
	store_rc rc = signer_revoke(r->b->signer, r->param, r->now, broker_key_retention(r->b), r->actor.id, current,
				    &rotated);
	if (rc == STORE_NOT_FOUND) {
		http_problem(r, 404, NULL, "no published signing key has this kid; see GET /v1/keys");
		return;
	}
	if (rc != STORE_OK) {
		broker_store_failed(r->b, r->path);
		http_problem(r, 503, NULL, "could not revoke the signing key (store unavailable, or too many "
				 "retired keys still published to rotate the current one); retry later");
		return;
	}
	log_event(LOG_WARN, "signing key revoked", "kid", r->param, "current_kid", current, NULL);
	http_json(r, 200, json_pack("{s:s, s:s, s:b, s:o}", "revoked", r->param, "current_kid", current, "rotated",
				    rotated, "keys", signer_describe(r->b->signer)));
}
