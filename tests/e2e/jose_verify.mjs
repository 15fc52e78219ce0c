// jose_verify.mjs - verifies a Tollgate access token with the npm `jose`
// package, as an independent resource server would: keys from the remote
// JWKS, EdDSA only, typ at+jwt, issuer and audience required.
// Usage: node jose_verify.mjs JWKS_URL ISSUER AUDIENCE < token
// Prints {"payload": ..., "header": ...} as JSON and exits 0, or prints the
// error to stderr and exits 1.
import { createRemoteJWKSet, jwtVerify } from 'jose';

const [jwksUrl, issuer, audience] = process.argv.slice(2);
if (!jwksUrl || !issuer || !audience) {
  process.stderr.write('usage: node jose_verify.mjs JWKS_URL ISSUER AUDIENCE < token\n');
  process.exit(2);
}

let token = '';
for await (const chunk of process.stdin) token += chunk;
token = token.trim();

try {
  const jwks = createRemoteJWKSet(new URL(jwksUrl));
  const { payload, protectedHeader } = await jwtVerify(token, jwks, {
    issuer,
    audience,
    typ: 'at+jwt',
    algorithms: ['EdDSA'],
    requiredClaims: ['exp', 'iat', 'sub', 'jti'],
  });
  process.stdout.write(JSON.stringify({ payload, header: protectedHeader }) + '\n');
} catch (e) {
  process.stderr.write(`${e.code || e.name}: ${e.message}\n`);
  process.exit(1);
}
