/* routes.c - the broker's whole HTTP surface in one table. */
#include "broker/broker.h"
#include "broker/handlers.h"
#include "core/limits.h"

const route_t broker_routes[] = {
	{"GET", "/healthz", NULL, handle_healthz, "healthz", 0},
	{"GET", "/metrics", NULL, handle_metrics, "metrics", 0},
	{"GET", "/.well-known/oauth-authorization-server", NULL, handle_metadata, "metadata", 0},
	{"GET", "/.well-known/jwks.json", NULL, handle_jwks, "jwks", 0},
	{"POST", "/oauth/token", NULL, handle_token, "token", 0},
	{"POST", "/oauth/introspect", NULL, handle_introspect, "introspect", 0},
	{"POST", "/oauth/revoke", NULL, handle_revoke, "revoke", 0},
	{"GET", "/v1/identities", NULL, handle_identity_list, "identities", 0},
	{"POST", "/v1/identities", NULL, handle_identity_create, "identities", 0},
	{"GET", "/v1/identities/", "", handle_identity_show, "identity", 0},
	{"PATCH", "/v1/identities/", "", handle_identity_update, "identity", 0},
	{"POST", "/v1/identities/", "/offboard", handle_identity_offboard, "identity_offboard", 0},
	{"GET", "/v1/keys", NULL, handle_keys_list, "keys", 0},
	{"POST", "/v1/keys/rotate", NULL, handle_keys_rotate, "keys_rotate", 0},
	{"GET", "/v1/audit", NULL, handle_audit_list, "audit", 0},
	{"GET", "/v1/audit/checkpoints", NULL, handle_audit_checkpoints, "audit_checkpoints", 0},
	{"GET", "/.well-known/tollgate-audit-keys.json", NULL, handle_audit_keys, "audit_keys", 0},
	{"GET", "/v1/policies", NULL, handle_policies_get, "policies", 0},
	{"PUT", "/v1/policies", NULL, handle_policies_put, "policies", TG_MAX_POLICY_BODY},
	{"GET", "/v1/policies/", "", handle_policy_version, "policy_version", 0},
	{"GET", "/v1/entities", NULL, handle_entities_get, "entities", 0},
	{"PUT", "/v1/entities", NULL, handle_entities_put, "entities", TG_MAX_ENTITIES_BODY},
	{"POST", "/v1/entities", NULL, handle_entities_post, "entities", TG_MAX_ENTITIES_BODY},
	{"DELETE", "/v1/entities/", "", handle_entity_delete, "entity", 0},
	{"POST", "/v1/authorize", NULL, handle_authorize, "authorize", 0},
	{NULL, NULL, NULL, NULL, NULL, 0},
};
