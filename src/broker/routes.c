/* routes.c - the broker's whole HTTP surface in one table. */
#include "broker/broker.h"
#include "broker/handlers.h"

const route_t broker_routes[] = {
	{"GET", "/healthz", NULL, handle_healthz, "healthz"},
	{"GET", "/metrics", NULL, handle_metrics, "metrics"},
	{"GET", "/.well-known/oauth-authorization-server", NULL, handle_metadata, "metadata"},
	{"GET", "/.well-known/jwks.json", NULL, handle_jwks, "jwks"},
	{"POST", "/oauth/token", NULL, handle_token, "token"},
	{"POST", "/oauth/introspect", NULL, handle_introspect, "introspect"},
	{"POST", "/oauth/revoke", NULL, handle_revoke, "revoke"},
	{"GET", "/v1/identities", NULL, handle_identity_list, "identities"},
	{"POST", "/v1/identities", NULL, handle_identity_create, "identities"},
	{"GET", "/v1/identities/", "", handle_identity_show, "identity"},
	{"PATCH", "/v1/identities/", "", handle_identity_update, "identity"},
	{"POST", "/v1/identities/", "/offboard", handle_identity_offboard, "identity_offboard"},
	{"GET", "/v1/keys", NULL, handle_keys_list, "keys"},
	{"POST", "/v1/keys/rotate", NULL, handle_keys_rotate, "keys_rotate"},
	{"GET", "/v1/audit", NULL, handle_audit_list, "audit"},
	{"GET", "/v1/audit/checkpoints", NULL, handle_audit_checkpoints, "audit_checkpoints"},
	{"GET", "/.well-known/tollgate-audit-keys.json", NULL, handle_audit_keys, "audit_keys"},
	{NULL, NULL, NULL, NULL, NULL},
};
