/* wellknown.c - public, unauthenticated endpoints: RFC 8414 authorization
 * server metadata, the RFC 7517 JWKS, /healthz and Prometheus /metrics. */
#include "broker/broker.h"
#include "broker/metrics.h"
#include <stdio.h>

void handle_metadata(req_t *r)
{
	char url[400];
	json_t *m = json_pack("{s:s, s:s}", "issuer", r->b->issuer, "token_endpoint", r->b->token_endpoint);
	http_self_url(r, "/.well-known/jwks.json", url, sizeof url);
	json_object_set_new(m, "jwks_uri", json_string(url));
	http_self_url(r, "/oauth/introspect", url, sizeof url);
	json_object_set_new(m, "introspection_endpoint", json_string(url));
	http_self_url(r, "/oauth/revoke", url, sizeof url);
	json_object_set_new(m, "revocation_endpoint", json_string(url));
	json_object_set_new(m, "grant_types_supported", json_pack("[s]", "client_credentials"));
	json_object_set_new(m, "response_types_supported", json_array());
	json_t *auth = json_pack("[s]", "private_key_jwt");
	if (r->b->cfg.client_ca[0] != '\0')
		json_array_append_new(auth, json_string("tls_client_auth"));
	json_object_set_new(m, "token_endpoint_auth_methods_supported", auth);
	json_object_set_new(m, "token_endpoint_auth_signing_alg_values_supported", json_pack("[s]", "EdDSA"));
	json_object_set_new(m, "introspection_endpoint_auth_methods_supported", json_deep_copy(auth));
	json_object_set_new(m, "revocation_endpoint_auth_methods_supported", json_deep_copy(auth));
	json_object_set_new(m, "dpop_signing_alg_values_supported", json_pack("[s]", "EdDSA"));
	json_object_set_new(m, "tls_client_certificate_bound_access_tokens",
			    json_boolean(r->b->cfg.client_ca[0] != '\0'));
	json_object_set_new(m, "scopes_supported", json_array());
	http_json(r, 200, m);
}

void handle_jwks(req_t *r)
{
	http_json(r, 200, signer_jwks(r->b->signer));
}

void handle_healthz(req_t *r)
{
	http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void handle_metrics(req_t *r)
{
	http_text(r, 200, "text/plain; version=0.0.4", metrics_render());
}
