# test_interop.py - access tokens verify with independent peers (PyJWT and
# the npm `jose` package, keys from the published JWKS, RFC 9068 profile),
# and both peers (and the broker) reject tampered tokens.
import json
import shutil
import subprocess

import jwt
import pytest

from tollgate_e2e import DEFAULT_SCOPES, E2E_DIR, SLOW, b64u, b64u_decode, jwt_parts, verify_pyjwt


def jose_verify(broker, token, audience="tollgate", issuer=None):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/deps.sh --test"
    assert (E2E_DIR / "node_modules" / "jose").is_dir(), "npm jose missing: run scripts/deps.sh --test"
    return subprocess.run([node, str(E2E_DIR / "jose_verify.mjs"), broker.jwks_uri, issuer or broker.issuer,
                           audience], input=token, capture_output=True, text=True, timeout=30 * SLOW)


def tamper_payload(token, **changes):
    h, p, s = token.split(".")
    claims = json.loads(b64u_decode(p))
    claims.update(changes)
    return h + "." + b64u(json.dumps(claims, separators=(",", ":")).encode()) + "." + s


def flip_signature_bit(token):
    h, p, s = token.split(".")
    sig = bytearray(b64u_decode(s))
    sig[10] ^= 0x01
    return h + "." + p + "." + b64u(bytes(sig))


@pytest.fixture(scope="module")
def issued(broker):
    ident = broker.create_identity()
    scope = f"{DEFAULT_SCOPES[0]} {DEFAULT_SCOPES[2]}"
    r = broker.token(ident, scope)
    assert r.status_code == 200, r.text
    return ident, r.json()


def test_token_response_shape(broker, issued):
    ident, body = issued
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert set(body["scope"].split()) == {DEFAULT_SCOPES[0], DEFAULT_SCOPES[2]}
    header, claims = jwt_parts(body["access_token"])
    assert header["alg"] == "EdDSA" and header["typ"] == "at+jwt"
    kids = [k["kid"] for k in broker.get("/.well-known/jwks.json").json()["keys"]]
    assert header["kid"] in kids
    for k in broker.get("/.well-known/jwks.json").json()["keys"]:
        assert k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k


def test_pyjwt_verifies(broker, issued):
    ident, body = issued
    claims = verify_pyjwt(broker, body["access_token"])
    assert claims["sub"] == ident.id and claims["client_id"] == ident.id
    assert claims["iss"] == broker.issuer and claims["aud"] == "tollgate"
    assert claims["scope"] == body["scope"]
    assert claims["nbf"] <= claims["iat"] < claims["exp"] == claims["iat"] + body["expires_in"]
    assert len(claims["jti"]) >= 16


def test_jose_verifies(broker, issued):
    ident, body = issued
    p = jose_verify(broker, body["access_token"])
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["payload"]["sub"] == ident.id
    assert out["payload"]["scope"] == body["scope"]
    assert out["header"]["typ"] == "at+jwt" and out["header"]["alg"] == "EdDSA"


def test_peers_check_audience_and_issuer(broker, issued):
    token = issued[1]["access_token"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify_pyjwt(broker, token, audience="someone-else")
    assert jose_verify(broker, token, audience="someone-else").returncode == 1
    assert jose_verify(broker, token, issuer="https://evil.example").returncode == 1


@pytest.mark.parametrize("how", ["scope", "sub", "exp", "signature"])
def test_tampered_token_rejected_by_everyone(broker, issued, how):
    token = issued[1]["access_token"]
    _, claims = jwt_parts(token)
    bad = {
        "scope": lambda: tamper_payload(token, scope=claims["scope"] + " orders.write@Api:orders"),
        "sub": lambda: tamper_payload(token, sub="admin", client_id="admin"),
        "exp": lambda: tamper_payload(token, exp=claims["exp"] + 86400),
        "signature": lambda: flip_signature_bit(token),
    }[how]()
    assert bad != token
    with pytest.raises(jwt.InvalidSignatureError):
        verify_pyjwt(broker, bad)
    p = jose_verify(broker, bad)
    assert p.returncode == 1, p.stdout
    assert "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" in p.stderr, p.stderr
    assert broker.introspect(bad) == {"active": False}
    # ...while the original still verifies everywhere.
    assert broker.introspect(token)["active"] is True


def test_alg_none_forgery_rejected(broker, issued):
    token = issued[1]["access_token"]
    _, claims = jwt_parts(token)
    forged = b64u(json.dumps({"alg": "none", "typ": "at+jwt"}).encode()) + "." + \
        b64u(json.dumps(claims).encode()) + "."
    assert jose_verify(broker, forged).returncode == 1
    with pytest.raises(jwt.PyJWTError):
        verify_pyjwt(broker, forged)
    _, _, sig = token.split(".")
    with pytest.raises(jwt.InvalidAlgorithmError):  # and with a kid and a signature
        hdr = {"alg": "none", "typ": "at+jwt", "kid": jwt_parts(token)[0]["kid"]}
        verify_pyjwt(broker, b64u(json.dumps(hdr).encode()) + "." + b64u(json.dumps(claims).encode()) + "." + sig)
    assert broker.introspect(forged) == {"active": False}
