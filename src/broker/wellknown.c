/* wellknown.c - public, unauthenticated endpoints: RFC 8414 authorization
 * server metadata, the RFC 7517 JWKS, /healthz and Prometheus /metrics. */
#include "broker/broker.h"
#include "broker/metrics.h"
#include "core/jws.h"
#include "core/status_list.h"
#include <stdio.h>

/* The two JOSE names of Ed25519 accepted on input (RFC 8037, RFC 9864). */
static json_t *ed25519_alg_names(void)
{
	return json_pack("[s, s]", JWS_ALG_EDDSA, JWS_ALG_ED25519);
}

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
	http_self_url(r, STATUS_LIST_PATH, url, sizeof url); /* draft-ietf-oauth-status-list §9.1 */
	json_object_set_new(m, "status_list_aggregation_endpoint", json_string(url));
	json_object_set_new(m, "grant_types_supported", json_pack("[s, s]", "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"));
	json_object_set_new(m, "response_types_supported", json_array());
	json_t *auth = json_pack("[s]", "private_key_jwt");
	if (r->b->cfg.client_ca[0] != '\0')
		json_array_append_new(auth, json_string("tls_client_auth"));
	json_object_set_new(m, "token_endpoint_auth_methods_supported", auth);
	json_object_set_new(m, "token_endpoint_auth_signing_alg_values_supported", ed25519_alg_names());
	json_object_set_new(m, "introspection_endpoint_auth_methods_supported", json_deep_copy(auth));
	json_object_set_new(m, "revocation_endpoint_auth_methods_supported", json_deep_copy(auth));
	json_object_set_new(m, "dpop_signing_alg_values_supported", ed25519_alg_names());
	json_object_set_new(m, "tls_client_certificate_bound_access_tokens",
			    json_boolean(r->b->cfg.client_ca[0] != '\0'));
	json_object_set_new(m, "scopes_supported", json_array());
	http_json(r, 200, m);
}

/* Each key's alg is the name issued tokens carry (token_alg_name): a
 * verifier such as jose picks keys whose alg equals the token's. */
void handle_jwks(req_t *r)
{
	json_t *jwks = signer_jwks(r->b->signer), *key;
	size_t i;
	json_array_foreach(json_object_get(jwks, "keys"), i, key)
		json_object_set_new(key, "alg", json_string(r->b->cfg.token_alg_name));
	http_json(r, 200, jwks);
}

void handle_healthz(req_t *r)
{
	http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

void handle_metrics(req_t *r)
{
	http_text(r, 200, "text/plain; version=0.0.4", metrics_render());
}
