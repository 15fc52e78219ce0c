# test_lifetime.py - token expiry (clock_leeway=0: introspection turns
# inactive and PyJWT raises ExpiredSignatureError once exp has passed) and
# TTL capping: min(requested, identity max_ttl, server token_max_ttl).
import time

import jwt
import pytest

from tollgate_e2e import Key, assert_oauth_error, jwt_parts, verify_pyjwt

SERVER_MAX = 600


@pytest.fixture(scope="module")
def tb(broker_factory):
    return broker_factory(["--set", "clock_leeway=0", "--set", f"token_max_ttl={SERVER_MAX}",
                           "--set", "token_default_ttl=120"], name="lifetime")


def lifetime(resp):
    assert resp.status_code == 200, resp.text
    body = resp.json()
    _, claims = jwt_parts(body["access_token"])
    assert claims["exp"] - claims["iat"] == body["expires_in"], (claims, body)
    return body["expires_in"]


def test_expired_token_is_inactive_and_rejected_by_pyjwt(tb):
    ident = tb.create_identity()
    # Shares the wait: a registered key past its expires_at stops authenticating.
    short = Key()
    soon = tb.create_identity(public_keys=[{"key": short.pub_pem, "expires_at": int(time.time()) + 2}], key=short)
    assert tb.token(soon).status_code == 200
    r = tb.token(ident, ttl=2)
    assert lifetime(r) == 2
    token = r.json()["access_token"]
    exp = jwt_parts(token)[1]["exp"]
    assert tb.introspect(token)["active"] is True
    verify_pyjwt(tb, token)
    while time.time() < exp + 1.05:
        time.sleep(0.1)
    assert tb.introspect(token) == {"active": False}
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_pyjwt(tb, token)
    assert_oauth_error(tb.token(soon), 401, "invalid_client")


@pytest.mark.parametrize("max_ttl, requested, expected", [
    (60, 3000, 60),                   # identity cap
    (60, 30, 30),                     # below every cap: as requested
    (60, None, 60),                   # server default (120) capped by the identity
    (0, None, 120),                   # no identity cap: server default
    (0, 5000, SERVER_MAX),            # server cap
    (900, 900, SERVER_MAX),           # identity cap above the server cap
    (86400, 86400 * 30, SERVER_MAX),
])
def test_ttl_is_capped(tb, max_ttl, requested, expected):
    ident = tb.create_identity(max_ttl=max_ttl)
    assert lifetime(tb.token(ident, ttl=requested)) == expected


def test_expires_in_parameter_is_a_ttl_hint_too(tb):
    ident = tb.create_identity(max_ttl=45)
    assert lifetime(tb.token(ident, form={"expires_in": "1000"})) == 45
    assert lifetime(tb.token(ident, form={"expires_in": "10"})) == 10


def test_lowering_max_ttl_applies_to_next_token(tb):
    ident = tb.create_identity(max_ttl=300)
    assert lifetime(tb.token(ident, ttl=250)) == 250
    assert tb.api("PATCH", f"/v1/identities/{ident.id}", {"max_ttl": 20}).status_code == 200
    assert lifetime(tb.token(ident, ttl=250)) == 20


@pytest.mark.parametrize("ttl", ["0", "-5", "abc", "10s", "", "99999999999999999999", "1.5"])
def test_bad_ttl_is_invalid_request(tb, ttl):
    ident = tb.create_identity()
    assert_oauth_error(tb.token(ident, form={"ttl": ttl}), 400, "invalid_request")
