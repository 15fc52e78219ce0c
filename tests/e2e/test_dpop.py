# test_dpop.py - RFC 9449 DPoP at the token endpoint: a valid proof yields a
# DPoP token whose cnf.jkt is the RFC 7638 thumbprint of the proof key
# (computed here independently); replayed or malformed proofs (wrong
# htu/htm, stale or future iat, wrong typ, private or missing jwk, bad
# signature, other alg, no jti) are refused with invalid_dpop_proof.
import time

import pytest

from tollgate_e2e import Key, assert_oauth_error, compact, jwt_parts, verify_pyjwt


@pytest.fixture(scope="module")
def ident(broker):
    return broker.create_identity()


def test_dpop_bound_token(broker, ident):
    dkey = Key()
    r = broker.token(ident, dpop=broker.dpop_proof(dkey))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "DPoP"
    claims = verify_pyjwt(broker, body["access_token"])
    assert claims["cnf"] == {"jkt": dkey.thumbprint}
    info = broker.introspect(body["access_token"])
    assert info["token_type"] == "DPoP" and info["cnf"]["jkt"] == dkey.thumbprint


def test_dpop_with_the_identity_key(broker, ident):
    r = broker.token(ident, dpop=broker.dpop_proof(ident.key))
    assert r.status_code == 200, r.text
    assert jwt_parts(r.json()["access_token"])[1]["cnf"]["jkt"] == ident.key.thumbprint


def test_htu_query_is_ignored(broker, ident):
    # RFC 9449 §4.3: htu is compared without query and fragment.
    r = broker.token(ident, dpop=broker.dpop_proof(Key(), htu=broker.token_endpoint + "?x=1"))
    assert r.status_code == 200, r.text


def test_replayed_proof(broker, ident):
    proof = broker.dpop_proof(Key())
    assert broker.token(ident, dpop=proof).status_code == 200
    assert_oauth_error(broker.token(ident, dpop=proof), 400, "invalid_dpop_proof")
    # Also with another identity: the proof jti is spent for everyone.
    other = broker.create_identity()
    assert_oauth_error(broker.token(other, dpop=proof), 400, "invalid_dpop_proof")


def _bad_proofs(broker):
    k = Key()
    now = int(time.time())
    hs = lambda: k.sign_raw({"typ": "dpop+jwt", "alg": "HS256", "jwk": k.jwk},
                            {"htm": "POST", "htu": broker.token_endpoint, "iat": now, "jti": "x1"})
    return {
        "wrong htu": lambda: broker.dpop_proof(k, htu="http://evil.example/oauth/token"),
        "wrong htu path": lambda: broker.dpop_proof(k, htu=broker.introspection_endpoint),
        "wrong htm": lambda: broker.dpop_proof(k, htm="GET"),
        "lowercase htm": lambda: broker.dpop_proof(k, htm="post"),
        "old iat": lambda: broker.dpop_proof(k, iat=now - 3600),
        "iat just past max age+leeway": lambda: broker.dpop_proof(k, iat=now - 200),
        "future iat": lambda: broker.dpop_proof(k, iat=now + 3600),
        "no iat": lambda: k.sign_raw({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": k.jwk},
                                     {"htm": "POST", "htu": broker.token_endpoint, "jti": "j"}),
        "string iat": lambda: broker.dpop_proof(k, iat=str(now)),
        "no jti": lambda: k.sign_raw({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": k.jwk},
                                     {"htm": "POST", "htu": broker.token_endpoint, "iat": now}),
        "typ JWT": lambda: broker.dpop_proof(k, typ="JWT"),
        "typ at+jwt": lambda: broker.dpop_proof(k, typ="at+jwt"),
        "private jwk": lambda: broker.dpop_proof(k, jwk=k.private_jwk),
        "no jwk": lambda: k.encode({"htm": "POST", "htu": broker.token_endpoint, "iat": now, "jti": "j2"},
                                   headers={"typ": "dpop+jwt"}),
        "jwk of another key": lambda: broker.dpop_proof(k, sign_key=Key()),
        "HS256": hs,
        "alg none": lambda: compact({"typ": "dpop+jwt", "alg": "none", "jwk": k.jwk},
                                    {"htm": "POST", "htu": broker.token_endpoint, "iat": now, "jti": "j3"},
                                    lambda si: b""),
        "not a JWT": lambda: "definitely-not-a-jwt",
        "two proofs": lambda: broker.dpop_proof(k) + "," + broker.dpop_proof(k),
    }


BAD = ["wrong htu", "wrong htu path", "wrong htm", "lowercase htm", "old iat", "iat just past max age+leeway",
       "future iat", "no iat", "string iat", "no jti", "typ JWT", "typ at+jwt", "private jwk", "no jwk",
       "jwk of another key", "HS256", "alg none", "not a JWT", "two proofs"]


@pytest.mark.parametrize("case", BAD)
def test_bad_proof_refused(broker, ident, case):
    proof = _bad_proofs(broker)[case]()
    assertion = broker.assertion(ident)
    assert_oauth_error(broker.token(ident, assertion=assertion, dpop=proof), 400, "invalid_dpop_proof")
    # A refused proof does not spend the client assertion: it still works.
    assert broker.token(ident, assertion=assertion).status_code == 200


def test_bad_proof_issues_nothing(broker, ident):
    before = broker.metrics()
    proof = broker.dpop_proof(Key(), htm="PUT")
    assert_oauth_error(broker.token(ident, dpop=proof), 400, "invalid_dpop_proof")
    line = next(l for l in broker.metrics().splitlines() if l.startswith("tollgate_tokens_issued_total "))
    assert line in before.splitlines()
