/* handlers.h - every HTTP handler, grouped by the file that owns it. */
#ifndef TG_HANDLERS_H
#define TG_HANDLERS_H
#include "broker/http.h"

/* wellknown.c */
void handle_metadata(req_t *r);
void handle_jwks(req_t *r);
void handle_healthz(req_t *r);
void handle_metrics(req_t *r);
/* status_lists.c */
void handle_status_list(req_t *r);
void handle_status_lists(req_t *r);
/* oauth_token.c */
void handle_token(req_t *r);
/* oauth_introspect.c */
void handle_introspect(req_t *r);
void handle_revoke(req_t *r);
/* identities.c */
void handle_identity_list(req_t *r);
void handle_identity_create(req_t *r);
void handle_identity_show(req_t *r);
void handle_identity_update(req_t *r);
void handle_identity_offboard(req_t *r);
/* audit_api.c */
void handle_audit_list(req_t *r);
void handle_audit_checkpoints(req_t *r);
void handle_audit_keys(req_t *r);
/* policies_api.c */
void handle_policies_get(req_t *r);
void handle_policies_put(req_t *r);
void handle_policy_version(req_t *r); /* /v1/policies/{version} and /v1/policies/history */
/* entities_api.c */
void handle_entities_get(req_t *r);
void handle_entities_put(req_t *r);
void handle_entities_post(req_t *r);
void handle_entity_delete(req_t *r);
/* authorize_api.c */
void handle_authorize(req_t *r);
/* keys_api.c */
void handle_keys_list(req_t *r);
void handle_keys_rotate(req_t *r);
void handle_keys_revoke(req_t *r);
/* operators_api.c */
void handle_operator_create(req_t *r);
void handle_operator_list(req_t *r);
void handle_operator_confirm(req_t *r);
void handle_operator_disable(req_t *r);
void handle_login(req_t *r);
void handle_init(req_t *r);
void handle_init_confirm(req_t *r);
/* grants_api.c, grant_transitions.c */
void handle_grant_create(req_t *r);
void handle_grant_list(req_t *r);
void handle_grant_show(req_t *r);
void handle_grant_approve(req_t *r);
void handle_grant_deny(req_t *r);
void handle_grant_cancel(req_t *r);
void handle_grant_end(req_t *r);
void handle_grant_revoke(req_t *r);
void handle_grant_review(req_t *r);
/* secrets_api.c, secret_delivery.c */
void handle_secret_put(req_t *r);
void handle_secret_list(req_t *r);
void handle_secret_meta(req_t *r);
void handle_secret_versions(req_t *r);
void handle_secret_delete(req_t *r);
void handle_secret_read(req_t *r);
void handle_secret_unwrap(req_t *r);
/* rekey.c */
void handle_rekey(req_t *r);
/* secret_rotation_api.c */
void handle_secret_rotation_put(req_t *r);
void handle_secret_rotation_get(req_t *r);
void handle_secret_rotate(req_t *r);
/* change_windows.c */
void handle_window_list(req_t *r);
void handle_window_show(req_t *r);
void handle_window_put(req_t *r);
void handle_window_delete(req_t *r);
/* probes_api.c */
void handle_probe_create(req_t *r);
/* edge_audit_api.c */
void handle_edge_audit(req_t *r);
/* edge_sessions_api.c */
void handle_edge_sessions_put(req_t *r);
void handle_edge_sessions_list(req_t *r);
void handle_edge_session_kill(req_t *r);

#endif
