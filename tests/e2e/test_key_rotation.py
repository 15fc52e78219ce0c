# test_key_rotation.py - signing key rotation (POST /v1/keys/rotate): a new
# kid appears in the JWKS beside the old one, tokens signed by the old key
# stay active and verify with PyJWT, new tokens carry the new kid, and all
# of it survives a restart.
import json

import jwt
import pytest

from tollgate_e2e import assert_problem, b64u, b64u_decode, jwt_parts, run_cli, verify_pyjwt


def kids(b):
    return [k["kid"] for k in b.get("/.well-known/jwks.json").json()["keys"]]


@pytest.fixture(scope="module")
def kb(broker_factory):
    return broker_factory(name="rotation")


def test_rotation(kb):
    ident = kb.create_identity()
    old_token = kb.issue(ident)
    (old_kid,) = kids(kb)
    assert jwt_parts(old_token)[0]["kid"] == old_kid

    r = kb.api("POST", "/v1/keys/rotate")
    assert r.status_code == 200, r.text
    new_kid = r.json()["current_kid"]
    assert new_kid != old_kid
    assert set(kids(kb)) == {old_kid, new_kid}
    listed = {k["kid"]: k for k in kb.api("GET", "/v1/keys").json()["keys"]}
    assert listed[new_kid]["current"] is True and listed[old_kid]["current"] is False
    assert listed[new_kid]["retired_at"] is None
    # RFC 3339 UTC times of one format compare as strings.
    old = listed[old_kid]
    assert old["retired_at"] and old["unpublish_after"] and old["unpublish_after"] > old["retired_at"]

    assert kb.introspect(old_token)["active"] is True
    assert verify_pyjwt(kb, old_token)["sub"] == ident.id

    new_token = kb.issue(ident)
    assert jwt_parts(new_token)[0]["kid"] == new_kid
    assert verify_pyjwt(kb, new_token)["sub"] == ident.id
    assert kb.introspect(new_token)["active"] is True

    # A token whose kid is swapped to the other published key must not verify.
    h, p, s = new_token.split(".")
    hdr = json.loads(b64u_decode(h))
    hdr["kid"] = old_kid
    swapped = b64u(json.dumps(hdr).encode()) + "." + p + "." + s
    assert kb.introspect(swapped) == {"active": False}
    with pytest.raises(jwt.InvalidSignatureError):
        verify_pyjwt(kb, swapped)

    # Both keys, and which one is current, survive a restart.
    kb.restart()
    assert set(kids(kb)) == {old_kid, new_kid}
    assert kb.introspect(old_token)["active"] is True
    assert jwt_parts(kb.issue(ident))[0]["kid"] == new_kid


def test_rotate_via_cli(kb):
    before = set(kids(kb))
    p = run_cli(["keys", "rotate"], env_extra={"TOLLGATE_ADDR": kb.url, "TOLLGATE_TOKEN": kb.admin_token})
    assert p.returncode == 0, p.stderr
    after = set(kids(kb))
    assert before < after and len(after) == len(before) + 1


def test_rotation_needs_admin(kb):
    before = kids(kb)
    assert_problem(kb.api("POST", "/v1/keys/rotate", token=""), 401)
    assert_problem(kb.api("POST", "/v1/keys/rotate", token="0" * 64), 401)
    assert kids(kb) == before
