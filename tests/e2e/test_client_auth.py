# test_client_auth.py - private_key_jwt client authentication (RFC 7523) and
# token request validation at /oauth/token: replay, algorithm confusion
# (none, HS256 keyed with the public key, RS256), wrong aud, expired or
# too long-lived assertions, iss != sub, unknown kid and unregistered keys,
# client secrets, scope checks and grant types.
import hashlib
import hmac
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tollgate_e2e import Key, assert_oauth_error, compact, unique


@pytest.fixture(scope="module")
def ident(broker):
    return broker.create_identity()


def _claims(broker, ident, **over):
    now = int(time.time())
    c = {"iss": ident.id, "sub": ident.id, "aud": broker.token_endpoint, "jti": unique("j"), "iat": now,
         "exp": now + 60}
    c.update(over)
    return c


def test_valid_assertion_variants(broker, ident):
    # aud may be the token endpoint or the issuer, kid is optional, and
    # client_id may accompany the assertion when it matches.
    assert broker.token(ident).status_code == 200
    assert broker.token(ident, assertion=broker.assertion(ident, aud=broker.issuer)).status_code == 200
    assert broker.token(ident, assertion=broker.assertion(ident, aud=[broker.token_endpoint, "x"])).status_code == 200
    assert broker.token(ident, assertion=broker.assertion(ident, kid=False)).status_code == 200
    assert broker.token(ident, form={"client_id": ident.id}).status_code == 200


def test_replayed_assertion(broker, ident):
    a = broker.assertion(ident)
    assert broker.token(ident, assertion=a).status_code == 200
    assert_oauth_error(broker.token(ident, assertion=a), 401, "invalid_client")
    # Even for a different scope or with a DPoP proof.
    assert_oauth_error(broker.token(ident, "modbus.read@Zone:line-3", assertion=a), 401, "invalid_client")


def _rsa_assertion(broker, ident):
    rk = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return compact({"alg": "RS256", "typ": "JWT"}, _claims(broker, ident),
                   lambda si: rk.sign(si, padding.PKCS1v15(), hashes.SHA256()))


def _hs256_confusion(broker, ident, secret: bytes):
    return compact({"alg": "HS256", "typ": "JWT", "kid": ident.key.thumbprint}, _claims(broker, ident),
                   lambda si: hmac.new(secret, si, hashlib.sha256).digest())


def _forgeries(broker, ident):
    now = int(time.time())
    stranger = Key()
    return {
        "alg none": lambda: compact({"alg": "none", "typ": "JWT"}, _claims(broker, ident), lambda si: b""),
        "alg none with signature": lambda: compact({"alg": "none"}, _claims(broker, ident), lambda si: b"\0" * 64),
        "EdDSA header, no signature": lambda: compact({"alg": "EdDSA"}, _claims(broker, ident), lambda si: b""),
        "HS256 keyed with public PEM": lambda: _hs256_confusion(broker, ident, ident.key.pub_pem.encode()),
        "HS256 keyed with raw public key": lambda: _hs256_confusion(broker, ident, ident.key.raw_pub),
        "RS256": lambda: _rsa_assertion(broker, ident),
        "ES256 label on EdDSA signature": lambda: ident.key.sign_raw({"alg": "ES256"}, _claims(broker, ident)),
        "crit header": lambda: ident.key.sign_raw({"alg": "EdDSA", "crit": ["exp"]}, _claims(broker, ident)),
        "wrong aud": lambda: broker.assertion(ident, aud="https://elsewhere.example/oauth/token"),
        "aud is the introspection endpoint": lambda: broker.assertion(ident, aud=broker.introspection_endpoint),
        "no aud": lambda: ident.key.encode({k: v for k, v in _claims(broker, ident).items() if k != "aud"}),
        "expired": lambda: broker.assertion(ident, exp=now - 120, iat=now - 180),
        "no exp": lambda: ident.key.encode({k: v for k, v in _claims(broker, ident).items() if k != "exp"}),
        "exp too far (> 300 s)": lambda: broker.assertion(ident, exp=now + 3600),
        "exp as string": lambda: broker.assertion(ident, exp=str(now + 60)),
        "nbf in the future": lambda: broker.assertion(ident, nbf=now + 600),
        "iat in the future": lambda: broker.assertion(ident, iat=now + 600),
        "iss != sub": lambda: broker.assertion(ident, sub="someone-else"),
        "iss is another identity": lambda: broker.assertion(ident, iss="someone-else"),
        "no jti": lambda: broker.assertion(ident, jti=None),
        "unknown kid, another key": lambda: broker.assertion(ident, key=stranger, kid="no-such-kid"),
        "registered kid, another key": lambda: broker.assertion(ident, key=stranger, kid=ident.key.thumbprint),
        "unregistered key": lambda: broker.assertion(ident, key=stranger),
        "unregistered key, no kid": lambda: broker.assertion(ident, key=stranger, kid=False),
        "kid is a number": lambda: ident.key.sign_raw({"alg": "EdDSA", "kid": 7}, _claims(broker, ident)),
        "payload tampered": lambda: (lambda a: a.split(".")[0] + "." +
                                     compact({}, _claims(broker, ident, scope="x"), lambda si: b"x").split(".")[1] +
                                     "." + a.split(".")[2])(broker.assertion(ident)),
        "unknown identity": lambda: broker.assertion(ident, iss="ghost", sub="ghost"),
        "not a JWT": lambda: "abc",
        "JWT with 4 parts": lambda: broker.assertion(ident) + ".x",
    }


FORGERIES = ["alg none", "alg none with signature", "EdDSA header, no signature", "HS256 keyed with public PEM",
             "HS256 keyed with raw public key", "RS256", "ES256 label on EdDSA signature", "crit header", "wrong aud",
             "aud is the introspection endpoint", "no aud", "expired", "no exp", "exp too far (> 300 s)",
             "exp as string", "nbf in the future", "iat in the future", "iss != sub", "iss is another identity",
             "no jti", "unknown kid, another key", "registered kid, another key", "unregistered key",
             "unregistered key, no kid", "kid is a number", "payload tampered", "unknown identity", "not a JWT",
             "JWT with 4 parts"]


@pytest.mark.parametrize("case", FORGERIES)
def test_bad_assertion_is_invalid_client(broker, ident, case):
    a = _forgeries(broker, ident)[case]()
    body = assert_oauth_error(broker.token(ident, assertion=a), 401, "invalid_client")
    assert "access_token" not in body


def test_client_id_must_match_the_assertion(broker, ident):
    other = broker.create_identity()
    assert_oauth_error(broker.token(ident, form={"client_id": other.id}), 401, "invalid_client")


def test_client_secret_is_refused(broker, ident):
    assert_oauth_error(broker.token(ident, form={"client_secret": "hunter2"}), 400, "invalid_request")
    assert_oauth_error(broker.token(None, form={"client_id": ident.id, "client_secret": "hunter2"}),
                       400, "invalid_request")
    r = broker.token(None, form={"client_id": ident.id}, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    assert_oauth_error(r, 400, "invalid_request")


def test_no_client_authentication(broker, ident):
    assert_oauth_error(broker.token(None), 401, "invalid_client")
    assert_oauth_error(broker.token(None, form={"client_id": ident.id}), 401, "invalid_client")


def test_wrong_assertion_type(broker, ident):
    for t in ["urn:ietf:params:oauth:client-assertion-type:saml2-bearer", "", None]:
        assert_oauth_error(broker.token(ident, form={"client_assertion_type": t}), 400, "invalid_request")


def test_scope_not_allowed(broker):
    ident = broker.create_identity(permit=["orders.read@Api:orders"])
    for scope in ["orders.write@Api:orders", "orders.read@Api:orders orders.write@Api:orders",
                  "orders.read@Api:payments", "orders.read@Api:orders-2", "Orders.read@Api:orders"]:
        assert_oauth_error(broker.token(ident, scope), 400, "invalid_scope")
    assert broker.token(ident, "orders.read@Api:orders").status_code == 200


def test_failed_scope_check_does_not_spend_the_assertion(broker, ident):
    a = broker.assertion(ident)
    assert_oauth_error(broker.token(ident, "secret.read@Secret:erp", assertion=a), 400, "invalid_scope")
    assert broker.token(ident, assertion=a).status_code == 200


@pytest.mark.parametrize("scope", [None, "", " ", "orders.read", "@Api:orders", "orders.read@Api",
                                   "orders.read@:orders", "orders.read@Api:", "orders.read@1Api:orders",
                                   "orders.read@Api:orders  modbus.read@Zone:line-3",
                                   "orders.read@Api:orders ", " orders.read@Api:orders",
                                   "orders.read@Api:or\"ders", "orders.read@Api:orders\tx",
                                   "a" * 300 + "@Api:orders", " ".join(["orders.read@Api:o%d" % i for i in range(40)])])
def test_malformed_or_missing_scope(broker, ident, scope):
    assert_oauth_error(broker.token(ident, scope), 400, "invalid_scope")


def test_duplicate_scope_tokens_collapse(broker, ident):
    r = broker.token(ident, "orders.read@Api:orders orders.read@Api:orders")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "orders.read@Api:orders"


@pytest.mark.parametrize("grant", ["password", "authorization_code", "refresh_token",
                                   "urn:ietf:params:oauth:grant-type:jwt-bearer", "CLIENT_CREDENTIALS"])
def test_unsupported_grant_type(broker, ident, grant):
    assert_oauth_error(broker.token(ident, form={"grant_type": grant}), 400, "unsupported_grant_type")


def test_missing_grant_type(broker, ident):
    assert_oauth_error(broker.token(ident, form={"grant_type": None}), 400, "invalid_request")
