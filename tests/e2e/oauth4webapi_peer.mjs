// oauth4webapi_peer.mjs - the npm `oauth4webapi` package (the base of
// `openid-client`) as an unmodified third-party OAuth client and resource
// server against a running Tollgate broker:
//   discovery (RFC 8414) -> an Ed25519 client key made by WebCrypto,
//   registered through the broker's API -> client_credentials with
//   private_key_jwt (Bearer) -> the same with a DPoP proof (RFC 9449) ->
//   introspection (RFC 7662) -> RFC 9068 resource-server validation
//   (validateJwtAccessToken) of both tokens, the bound one with a DPoP proof
//   made by oauth4webapi for a resource request -> revocation (RFC 7009) ->
//   introspection again.
// The library signs everything itself; its requests go out unchanged (a
// recording fetch only notes the JOSE headers of the client assertions and
// DPoP proofs it sent).
// Usage: TOLLGATE_ADMIN_TOKEN=... node oauth4webapi_peer.mjs ISSUER IDENTITY_ID SCOPE AUDIENCE
// Prints one JSON object and exits 0, or prints {"step", "error"} and exits 1.
import * as oauth from 'oauth4webapi';
import { webcrypto } from 'node:crypto';

// Node 18 (Debian 12's nodejs) has WebCrypto, Ed25519 included, but not yet
// as the globals `crypto` and `CryptoKey` that oauth4webapi uses (Node 19
// made them global).
globalThis.crypto ??= webcrypto;
globalThis.CryptoKey ??= webcrypto.CryptoKey;

const [issuerArg, identityId, scope, audience] = process.argv.slice(2);
const adminToken = process.env.TOLLGATE_ADMIN_TOKEN;
if (!issuerArg || !identityId || !scope || !audience || !adminToken) {
  process.stderr.write('usage: TOLLGATE_ADMIN_TOKEN=... node oauth4webapi_peer.mjs ISSUER IDENTITY_ID SCOPE AUDIENCE\n');
  process.exit(2);
}

const out = { sent: [] };
let step = 'start';

function joseHeader(compact) {
  return JSON.parse(Buffer.from(compact.split('.')[0], 'base64url').toString());
}

// Forwards every request unchanged to fetch and notes the alg/typ of the
// client assertion and DPoP proof it carried.
async function recordingFetch(url, init) {
  const note = { url, method: init.method };
  const dpop = new Headers(init.headers).get('dpop');
  if (dpop) note.dpop = joseHeader(dpop);
  if (init.body instanceof URLSearchParams && init.body.has('client_assertion')) {
    note.client_assertion = joseHeader(init.body.get('client_assertion'));
  }
  out.sent.push(note);
  return fetch(url, init);
}

const http = { [oauth.allowInsecureRequests]: true, [oauth.customFetch]: recordingFetch };

async function ed25519KeyPair() {
  return crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
}

async function register(issuer, publicKey) {
  const spki = Buffer.from(await crypto.subtle.exportKey('spki', publicKey)).toString('base64');
  const pem = `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`;
  const r = await fetch(new URL('/v1/identities', issuer), {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: identityId, kind: 'workload', owner: 'team-e2e', roles: ['e2e'], public_keys: [pem] }),
  });
  if (r.status !== 201) throw new Error(`registration answered ${r.status}: ${await r.text()}`);
}

// The request a DPoP client sends to a resource server, made and signed by
// oauth4webapi (protectedResourceRequest) and captured instead of sent.
async function resourceRequest(accessToken, dpop) {
  let captured;
  const capture = async (url, init) => {
    captured = new Request(url, init);
    return new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } });
  };
  await oauth.protectedResourceRequest(accessToken, 'GET', new URL('https://rs.example/orders/1'), new Headers(),
    null, { DPoP: dpop, [oauth.customFetch]: capture });
  return captured;
}

async function validate(as, request) {
  return oauth.validateJwtAccessToken(as, request, audience, { [oauth.allowInsecureRequests]: true });
}

// What the validator must refuse: a DPoP-bound token presented as a bearer
// token, and a proof made with another key.
async function refusals(as, bound, dpopKeysOther, client) {
  const result = {};
  const asBearer = new Request('https://rs.example/orders/1', { headers: { authorization: `Bearer ${bound}` } });
  const other = await resourceRequest(bound, oauth.DPoP(client, dpopKeysOther));
  for (const [name, req] of [['bound_as_bearer', asBearer], ['proof_of_other_key', other]]) {
    try {
      await validate(as, req);
      result[name] = 'accepted';
    } catch (e) {
      result[name] = `${e.code || e.name}: ${e.message}`;
    }
  }
  return result;
}

try {
  step = 'discovery';
  const issuer = new URL(issuerArg);
  const as = await oauth.processDiscoveryResponse(issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...http }));
  out.metadata = as;

  step = 'register';
  const clientKeys = await ed25519KeyPair();
  await register(issuer, clientKeys.publicKey);
  const client = { client_id: identityId };
  const auth = oauth.PrivateKeyJwt(clientKeys.privateKey);
  const params = new URLSearchParams({ scope });

  step = 'client_credentials';
  const bearer = await oauth.processClientCredentialsResponse(as, client,
    await oauth.clientCredentialsGrantRequest(as, client, auth, params, http));
  out.bearer = bearer;

  step = 'client_credentials_dpop';
  const dpopKeys = await ed25519KeyPair();
  const dpop = oauth.DPoP(client, dpopKeys);
  out.dpop_jkt = await dpop.calculateThumbprint();
  const bound = await oauth.processClientCredentialsResponse(as, client,
    await oauth.clientCredentialsGrantRequest(as, client, auth, params, { ...http, DPoP: dpop }));
  out.bound = bound;

  step = 'introspection';
  out.introspection = await oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, auth, bound.access_token, http));

  step = 'resource_server';
  out.rs_bound = await validate(as, await resourceRequest(bound.access_token, dpop));
  out.rs_bearer = await validate(as, new Request('https://rs.example/orders/1',
    { headers: { authorization: `Bearer ${bearer.access_token}` } }));
  out.rs_refusals = await refusals(as, bound.access_token, await ed25519KeyPair(), client);

  step = 'revocation';
  for (const token of [bound.access_token, bearer.access_token]) {
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, token, http));
  }
  out.after_revocation = await oauth.processIntrospectionResponse(as, client,
    await oauth.introspectionRequest(as, client, auth, bound.access_token, http));

  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  const detail = e.error ? `${e.error}: ${e.error_description}` : `${e.code || e.name}: ${e.message}`;
  process.stdout.write(JSON.stringify({ step, error: detail, sent: out.sent }) + '\n');
  process.exit(1);
}
