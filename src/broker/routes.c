/* routes.c - the broker's whole HTTP surface in one table: method, path,
 * handler, who may call it (access.h), metrics label, body limit. */
#include "broker/access.h"
#include "broker/broker.h"
#include "broker/handlers.h"
#include "core/limits.h"

const route_t broker_routes[] = {
	{"GET", "/healthz", NULL, handle_healthz, ACCESS_PUBLIC, "healthz", 0},
	{"GET", "/metrics", NULL, handle_metrics, ACCESS_PUBLIC, "metrics", 0},
	{"GET", "/.well-known/oauth-authorization-server", NULL, handle_metadata, ACCESS_PUBLIC, "metadata", 0},
	{"GET", "/.well-known/jwks.json", NULL, handle_jwks, ACCESS_PUBLIC, "jwks", 0},
	{"POST", "/oauth/token", NULL, handle_token, ACCESS_PUBLIC, "token", 0},
	{"POST", "/oauth/introspect", NULL, handle_introspect, ACCESS_PUBLIC, "introspect", 0},
	{"POST", "/oauth/revoke", NULL, handle_revoke, ACCESS_PUBLIC, "revoke", 0},
	{"GET", "/v1/identities", NULL, handle_identity_list, ACCESS_ADMIN, "identities", 0},
	{"POST", "/v1/identities", NULL, handle_identity_create, ACCESS_ADMIN, "identities", 0},
	{"GET", "/v1/identities/", "", handle_identity_show, ACCESS_ADMIN, "identity", 0},
	{"PATCH", "/v1/identities/", "", handle_identity_update, ACCESS_ADMIN, "identity", 0},
	{"POST", "/v1/identities/", "/offboard", handle_identity_offboard, ACCESS_ADMIN, "identity_offboard", 0},
	{"GET", "/v1/keys", NULL, handle_keys_list, ACCESS_ADMIN, "keys", 0},
	{"POST", "/v1/keys/rotate", NULL, handle_keys_rotate, ACCESS_ADMIN, "keys_rotate", 0},
	{"GET", "/v1/audit", NULL, handle_audit_list, ACCESS_ADMIN | ACCESS_AUDITOR, "audit", 0},
	{"GET", "/v1/audit/checkpoints", NULL, handle_audit_checkpoints, ACCESS_ADMIN | ACCESS_AUDITOR, "audit_checkpoints", 0},
	{"GET", "/.well-known/tollgate-audit-keys.json", NULL, handle_audit_keys, ACCESS_PUBLIC, "audit_keys", 0},
	{"GET", "/v1/policies", NULL, handle_policies_get, ACCESS_ADMIN, "policies", 0},
	{"PUT", "/v1/policies", NULL, handle_policies_put, ACCESS_ADMIN, "policies", TG_MAX_POLICY_BODY},
	{"GET", "/v1/policies/", "", handle_policy_version, ACCESS_ADMIN, "policy_version", 0},
	{"GET", "/v1/entities", NULL, handle_entities_get, ACCESS_ADMIN, "entities", 0},
	{"PUT", "/v1/entities", NULL, handle_entities_put, ACCESS_ADMIN, "entities", TG_MAX_ENTITIES_BODY},
	{"POST", "/v1/entities", NULL, handle_entities_post, ACCESS_ADMIN, "entities", TG_MAX_ENTITIES_BODY},
	{"DELETE", "/v1/entities/", "", handle_entity_delete, ACCESS_ADMIN, "entity", 0},
	{"POST", "/v1/authorize", NULL, handle_authorize, ACCESS_ADMIN, "authorize", 0},
	{"GET", "/v1/operators", NULL, handle_operator_list, ACCESS_ADMIN, "operators", 0},
	{"POST", "/v1/operators", NULL, handle_operator_create, ACCESS_ADMIN, "operators", 0},
	{"POST", "/v1/operators/", "/confirm", handle_operator_confirm, ACCESS_ADMIN, "operator_confirm", 0},
	{"POST", "/v1/operators/", "/disable", handle_operator_disable, ACCESS_ADMIN, "operator_disable", 0},
	{"POST", "/v1/login", NULL, handle_login, ACCESS_PUBLIC, "login", 0},
	{NULL, NULL, NULL, NULL, ACCESS_PUBLIC, NULL, 0},
};
