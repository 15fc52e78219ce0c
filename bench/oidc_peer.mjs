// oidc_peer.mjs - the issuance benchmark's peer: node `oidc-provider`
// (bench/package.json, installed by bench/run.sh) issuing what Tollgate
// issues, driven by the same load generator (bench/issue_bench -K):
// client_credentials, client authentication private_key_jwt with EdDSA
// (Ed25519), access tokens as JWTs signed EdDSA with one scope, for the
// clients bench/issue_bench -G wrote (their public keys). Its stores are
// oidc-provider's in-memory adapter: nothing is durable, and assertion
// replay detection is the adapter's bounded in-memory cache.
//
//   node bench/oidc_peer.mjs CLIENTS_FILE PORT
// prints "ready" once it listens on 127.0.0.1:PORT; stops on SIGTERM.
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Provider = require('oidc-provider').default ?? require('oidc-provider');

const SCOPE = 'orders.read@Api:orders';
const AUDIENCE = 'https://api.bench.example'; // a resource indicator: an absolute URI
const TOKEN_TTL = 300;

const [clientsFile, port] = process.argv.slice(2);
if (!clientsFile || !port) {
  console.error('usage: node bench/oidc_peer.mjs CLIENTS_FILE PORT');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(readFileSync(clientsFile, 'utf8')).clients.map((c) => ({
  client_id: c.id,
  token_endpoint_auth_method: 'private_key_jwt',
  token_endpoint_auth_signing_alg: 'EdDSA',
  id_token_signed_response_alg: 'EdDSA', // the provider's only key is Ed25519
  jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: c.x, kid: c.kid, alg: 'EdDSA', use: 'sig' }] },
  grant_types: ['client_credentials'],
  response_types: [],
  redirect_uris: [],
}));
const signingKey = {
  ...generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }),
  alg: 'EdDSA',
  use: 'sig',
  kid: 'bench-signing',
};

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  ttl: { ClientCredentials: TOKEN_TTL },
  scopes: [SCOPE],
  enabledJWA: { clientAuthSigningAlgValues: ['EdDSA'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: SCOPE,
        audience: AUDIENCE,
        accessTokenTTL: TOKEN_TTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('oidc_peer: server_error', err));

const server = provider.listen(Number(port), '127.0.0.1', () => console.log('ready'));
server.keepAliveTimeout = 60000;
process.on('SIGTERM', () => server.close(() => process.exit(0)));
