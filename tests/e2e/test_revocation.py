# test_revocation.py - RFC 7009 revocation and RFC 7662 introspection by the
# token's own identity (private_key_jwt) and by the admin; one identity can
# neither see nor revoke another identity's token.
import pytest

from tollgate_e2e import assert_oauth_error


@pytest.fixture
def pair(broker):
    return broker.create_identity(), broker.create_identity()


def test_identity_revokes_its_own_token(broker, pair):
    a, _ = pair
    token = broker.issue(a)
    assert broker.introspect(token, as_ident=a)["active"] is True
    r = broker.revoke(token, as_ident=a)
    assert r.status_code == 200, r.text
    assert broker.introspect(token) == {"active": False}
    assert broker.introspect(token, as_ident=a) == {"active": False}
    # A second revocation of the same token is still a 200 (RFC 7009 §2.2).
    assert broker.revoke(token, as_ident=a).status_code == 200


def test_admin_revokes_any_token(broker, pair):
    a, _ = pair
    token = broker.issue(a)
    other = broker.issue(a)
    r = broker.revoke(token)
    assert r.status_code == 200, r.text
    assert broker.introspect(token) == {"active": False}
    assert broker.introspect(other)["active"] is True, "revocation must hit only that token"


def test_identity_cannot_introspect_or_revoke_anothers_token(broker, pair):
    a, b = pair
    token_b = broker.issue(b)
    assert broker.introspect(token_b, as_ident=a) == {"active": False}
    r = broker.revoke(token_b, as_ident=a)
    assert r.status_code == 200, r.text  # RFC 7009: no hint that the token exists
    assert broker.introspect(token_b)["active"] is True
    info = broker.introspect(token_b, as_ident=b)
    assert info["active"] is True and info["sub"] == b.id


def test_edge_may_introspect_any_token_but_not_revoke_it(broker, pair):
    a, _ = pair
    edge = broker.create_identity(kind="edge", permit=[])
    token = broker.issue(a)
    info = broker.introspect(token, as_ident=edge)
    assert info["active"] is True and info["sub"] == a.id
    assert broker.revoke(token, as_ident=edge).status_code == 200
    assert broker.introspect(token)["active"] is True


def test_introspection_response_fields(broker, pair):
    a, _ = pair
    r = broker.token(a, "orders.read@Api:orders modbus.read@Zone:line-3", ttl=100)
    token = r.json()["access_token"]
    info = broker.introspect(token)
    assert info["active"] is True
    assert info["sub"] == a.id and info["client_id"] == a.id
    assert info["scope"] == "orders.read@Api:orders modbus.read@Zone:line-3"
    assert info["iss"] == broker.issuer and info["aud"] == "tollgate"
    assert info["token_type"] == "Bearer"
    assert info["exp"] - info["iat"] == 100


def test_unknown_and_garbage_tokens(broker, pair):
    a, _ = pair
    for junk in ["", "x", "a.b.c", "e30.e30.AAAA", "not a token at all"]:
        assert broker.introspect(junk) == {"active": False}, junk
        assert broker.revoke(junk).status_code == 200, junk


def test_oauth_endpoints_need_client_authentication(broker, pair):
    a, _ = pair
    token = broker.issue(a)
    for ep in (broker.introspection_endpoint, broker.revocation_endpoint):
        assert_oauth_error(broker.http.post(ep, data={"token": token}), 401, "invalid_client")
        r = broker.http.post(ep, data={"token": token}, headers={"Authorization": "Bearer " + "0" * 64})
        assert_oauth_error(r, 401, "invalid_client")
        # An access token is not an admin credential.
        r = broker.http.post(ep, data={"token": token}, headers={"Authorization": "Bearer " + token})
        assert_oauth_error(r, 401, "invalid_client")
    assert broker.introspect(token)["active"] is True


def test_assertions_at_introspect_are_single_use(broker, pair):
    a, _ = pair
    token = broker.issue(a)
    assertion = broker.assertion(a, aud=broker.introspection_endpoint)
    r = broker.introspect_response(token, assertion=assertion)
    assert r.status_code == 200 and r.json()["active"] is True
    assert_oauth_error(broker.introspect_response(token, assertion=assertion), 401, "invalid_client")


def test_revocation_needs_the_token_parameter(broker, pair):
    a, _ = pair
    r = broker.http.post(broker.revocation_endpoint, data={"token_type_hint": "access_token"},
                         headers={"Authorization": f"Bearer {broker.admin_token}"})
    assert_oauth_error(r, 400, "invalid_request")
