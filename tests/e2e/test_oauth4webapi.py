# test_oauth4webapi.py - the npm `oauth4webapi` package (3.8; the base of
# `openid-client`) as an unmodified peer, driven by oauth4webapi_peer.mjs:
# client for discovery, private_key_jwt client_credentials, DPoP-bound
# issuance, introspection and revocation, and RFC 9068 resource-server
# validator (validateJwtAccessToken) of the issued tokens with a DPoP proof.
# It signs client assertions and DPoP proofs with the RFC 9864 name
# "Ed25519"; Tollgate accepts that name beside "EdDSA" and issues tokens
# under token_alg_name (EdDSA by default, Ed25519 when configured).
import json
import os
import shutil
import subprocess

import pytest

from tollgate_e2e import DEFAULT_SCOPES, E2E_DIR, SLOW, jwt_parts, unique, verify_pyjwt

SCOPE = DEFAULT_SCOPES[0]


def run_peer(broker, ident_id):
    node = shutil.which("node")
    assert node, "node is not installed: run scripts/deps.sh --test"
    assert (E2E_DIR / "node_modules" / "oauth4webapi").is_dir(), \
        "npm oauth4webapi missing: run scripts/deps.sh --test"
    p = subprocess.run([node, str(E2E_DIR / "oauth4webapi_peer.mjs"), broker.issuer, ident_id, SCOPE, "tollgate"],
                       capture_output=True, text=True, timeout=60 * SLOW,
                       env=dict(os.environ, TOLLGATE_ADMIN_TOKEN=broker.admin_token))
    assert p.returncode == 0, f"oauth4webapi failed: {p.stdout} {p.stderr}"
    return json.loads(p.stdout)


def check_flow(broker, out, ident_id):
    """What every run must show, whatever name tokens are issued under."""
    # Both names of Ed25519 advertised.
    for member in ("token_endpoint_auth_signing_alg_values_supported", "dpop_signing_alg_values_supported"):
        assert out["metadata"][member] == ["EdDSA", "Ed25519"], out["metadata"]
    # The library signed with the RFC 9864 name, unchanged on the wire: one
    # assertion per authenticated request, one proof on the bound issuance.
    posts = [s for s in out["sent"] if s["method"] == "POST"]
    assert [s["url"] for s in posts] == [broker.token_endpoint] * 2 + [broker.introspection_endpoint] + \
        [broker.revocation_endpoint] * 2 + [broker.introspection_endpoint], posts
    assert all(s["client_assertion"]["alg"] == "Ed25519" for s in posts), posts
    assert [s.get("dpop", {}).get("alg") for s in posts] == [None, "Ed25519", None, None, None, None], posts

    bearer, bound = out["bearer"], out["bound"]
    assert (bearer["token_type"], bearer["scope"]) == ("bearer", SCOPE), bearer
    assert (bound["token_type"], bound["scope"]) == ("dpop", SCOPE), bound
    claims = jwt_parts(bound["access_token"])[1]
    assert claims["sub"] == ident_id and claims["cnf"] == {"jkt": out["dpop_jkt"]}, claims

    intro = out["introspection"]
    assert intro["active"] is True and intro["sub"] == ident_id and intro["cnf"] == {"jkt": out["dpop_jkt"]}, intro
    assert intro["token_type"] == "DPoP", intro

    # The resource-server validator accepted both tokens (the bound one with
    # its proof) and refused the bound token without it or with another key.
    assert out["rs_bound"]["jti"] == claims["jti"] and out["rs_bound"]["cnf"]["jkt"] == out["dpop_jkt"]
    assert out["rs_bearer"]["jti"] == jwt_parts(bearer["access_token"])[1]["jti"]
    assert "no DPoP" in out["rs_refusals"]["bound_as_bearer"], out["rs_refusals"]
    assert "confirmation mismatch" in out["rs_refusals"]["proof_of_other_key"], out["rs_refusals"]

    # Revocation by the client itself took effect.
    assert out["after_revocation"] == {"active": False}
    for token in (bearer["access_token"], bound["access_token"]):
        assert broker.introspect(token) == {"active": False}
    return jwt_parts(bound["access_token"])[0]


def test_oauth4webapi_client_and_resource_server(broker):
    ident_id = unique("o4w")
    out = run_peer(broker, ident_id)
    header = check_flow(broker, out, ident_id)
    # Issued under "EdDSA" by default: older verifiers (Debian 12's PyJWT
    # knows no other name) still verify the broker's tokens.
    assert header["alg"] == "EdDSA", header
    assert {k["alg"] for k in broker.get("/.well-known/jwks.json").json()["keys"]} == {"EdDSA"}
    # (PyJWT checks signature and claims only: the revocation is not its to see.)
    assert verify_pyjwt(broker, out["bearer"]["access_token"])["sub"] == ident_id


def node_major():
    out = subprocess.run([shutil.which("node") or "node", "--version"], capture_output=True, text=True).stdout
    return int(out.strip().lstrip("v").split(".")[0])


def test_oauth4webapi_with_tokens_issued_as_ed25519(broker_factory):
    # Node 18's WebCrypto (Debian 12's nodejs) refuses to import a JWK whose
    # alg is "Ed25519" (the RFC 9864 name); Node 20 accepts it. The peer,
    # not the broker, decides this: docs/configuration.md says so.
    if node_major() < 20:
        pytest.skip("Node < 20: its WebCrypto refuses JWK alg Ed25519 (RFC 9864) on import")
    b = broker_factory(["--set", "token_alg_name=Ed25519"], name="o4w-ed25519")
    ident_id = unique("o4w")
    out = run_peer(b, ident_id)
    header = check_flow(b, out, ident_id)
    assert header["alg"] == "Ed25519", header
    # The JWKS names the keys as the tokens do: verifiers such as jose and
    # oauth4webapi pick a key only when its alg equals the token's.
    assert {k["alg"] for k in b.get("/.well-known/jwks.json").json()["keys"]} == {"Ed25519"}


def test_unknown_token_alg_name_is_refused_at_start(broker_factory):
    b = broker_factory(["--set", "token_alg_name=ed25519"], name="o4w-bad", start=False)
    p = subprocess.run(b.command() + ["--print-config"], capture_output=True, text=True, timeout=30 * SLOW)
    assert p.returncode != 0 and "token_alg_name must be EdDSA or Ed25519" in p.stderr, (p.returncode, p.stderr)
