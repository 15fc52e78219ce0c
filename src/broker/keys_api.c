/* keys_api.c - /v1/keys: list the broker's signing keys, rotate now (a
 * POST without a body). */
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
