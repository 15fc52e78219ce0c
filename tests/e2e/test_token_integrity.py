# test_token_integrity.py - what makes a token active, attacked from outside:
# only the token actually issued under a jti (a token re-signed with a stolen
# signing key, real jti and sub, wider scope, is inactive at introspection
# and denied by /v1/authorize); expiry by the broker's own clock at exp (no
# leeway for its own tokens); one DPoP header at most (RFC 9449 §4.3), in
# every order, as sent on the wire; client assertion jtis single use per
# client whatever the exp they are re-signed with, and remembered until no
# assertion accepted at first use can still be valid.
import ctypes
import ctypes.util
import email.utils
import http.client
import json
import sqlite3
import time
from urllib.parse import urlencode, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tollgate_e2e import (ASSERTION_TYPE, DEFAULT_SCOPES, SLOW, Key, assert_oauth_error, audit_records, b64u,
                          jwt_parts, verify_pyjwt, wait_for)

READ, WRITE = DEFAULT_SCOPES[0], DEFAULT_SCOPES[1]  # orders.read / orders.write on Api:orders


# ---- a stolen signing key ----

def _master_key(broker) -> bytes:
    raw = (broker.data / "master.key").read_bytes()
    text = raw.strip()
    return bytes.fromhex(text.decode()) if len(text) == 64 else raw


def stolen_signing_key(broker, kid: str) -> Key:
    """The broker's private signing key kid, taken the way an attacker with
    a copy of the data directory would: the sealed seed from the store,
    opened with the master key (XChaCha20-Poly1305, the kid as associated
    data, the nonce in front) through libsodium."""
    sodium = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
    assert sodium.sodium_init() >= 0
    with sqlite3.connect(f"file:{broker.data / 'tollgate.db'}?mode=ro", uri=True) as db:
        sealed, = db.execute("SELECT sealed_private FROM signing_keys WHERE kid = ?", (kid,)).fetchone()
    nonce_len = sodium.crypto_aead_xchacha20poly1305_ietf_npubbytes()
    nonce, box = sealed[:nonce_len], sealed[nonce_len:]
    seed = ctypes.create_string_buffer(len(box))
    seed_len = ctypes.c_ulonglong(0)
    ad = kid.encode()
    rc = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
        seed, ctypes.byref(seed_len), None, box, ctypes.c_ulonglong(len(box)), ad, ctypes.c_ulonglong(len(ad)),
        nonce, _master_key(broker))
    assert rc == 0 and seed_len.value == 32, "the sealed signing key did not open"
    key = Key(Ed25519PrivateKey.from_private_bytes(seed.raw[:32]))
    published = {k["kid"]: k["x"] for k in broker.get("/.well-known/jwks.json").json()["keys"]}
    assert published[kid] == b64u(key.raw_pub), "unsealed key is not the published one"
    return key


def forge(broker, token: str, **changes) -> str:
    """token with changed claims, re-signed with the stolen signing key."""
    header, claims = jwt_parts(token)
    claims.update(changes)
    return stolen_signing_key(broker, header["kid"]).sign_raw(header, claims)


def test_token_resigned_with_a_stolen_key_is_not_active(broker):
    ident = broker.create_identity()  # policy permits it READ and WRITE
    token = broker.issue(ident, READ)
    forged = forge(broker, token, scope=f"{READ} {WRITE}")
    # A valid signature under the published key, real jti and sub.
    assert verify_pyjwt(broker, forged)["scope"] == f"{READ} {WRITE}"
    assert jwt_parts(forged)[1]["jti"] == jwt_parts(token)[1]["jti"]

    assert broker.introspect(forged) == {"active": False}
    assert broker.introspect(forged, as_ident=ident) == {"active": False}
    assert broker.introspect(token)["scope"] == READ

    d = broker.authorize(token=forged, action="orders.write", resource="Api:orders")
    assert d["decision"] == "deny", d
    assert d["token"]["active"] is False, d
    # The token actually issued is allowed what it carries, and only that.
    assert broker.authorize(token=token, action="orders.read", resource="Api:orders")["decision"] == "allow"
    assert broker.authorize(token=token, action="orders.write", resource="Api:orders")["decision"] == "deny"

    # Revoking the forgery revokes nothing: the issued token stays active.
    assert broker.revoke(forged).status_code == 200
    assert broker.introspect(token)["active"] is True


def test_forged_token_with_same_claims_but_other_bytes_is_not_active(broker):
    """Even the same claims re-signed (a different header member) are not
    the token issued: activity is a property of the exact token."""
    ident = broker.create_identity()
    token = broker.issue(ident, READ)
    header, claims = jwt_parts(token)
    forged = stolen_signing_key(broker, header["kid"]).sign_raw(dict(header, x5u="https://evil.example/"), claims)
    assert broker.introspect(forged) == {"active": False}
    assert broker.introspect(token)["active"] is True


# ---- expiry by the broker's clock ----

def broker_time(resp) -> float:
    """The broker's clock, from the Date header of one of its answers."""
    return email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp()


def test_introspection_is_inactive_once_exp_has_passed(broker):
    """The shared broker runs with the default 30 s clock_leeway: the
    broker's own tokens still turn inactive at exp."""
    ident = broker.create_identity()
    token = broker.issue(ident, READ, ttl=1)
    exp = jwt_parts(token)[1]["exp"]

    def after_exp():
        r = broker.introspect_response(token)
        assert r.status_code == 200, r.text
        # The Date header is whole seconds and may be a tick after the
        # decision: judge only answers a full second past exp.
        return r.json() if broker_time(r) >= exp + 1 else None

    assert wait_for("the broker's clock to pass the token's exp", after_exp, 10 * SLOW) == {"active": False}
    assert broker.authorize(token=token, action="orders.read", resource="Api:orders")["decision"] == "deny"
    reasons = [r["details"].get("reason") for r in audit_records(broker, type="token.introspected")
               if r.get("jti") == jwt_parts(token)[1]["jti"]]
    assert "token has expired" in reasons, reasons


# ---- DPoP: one header at most ----

def raw_token_request(broker, form: dict, headers: list):
    """POST /oauth/token exactly as given: header lines in this order,
    repeated names kept (requests would merge them)."""
    body = urlencode(form).encode()
    u = urlsplit(broker.token_endpoint)
    lines = [f"POST {u.path} HTTP/1.1", f"Host: {u.netloc}", "Content-Type: application/x-www-form-urlencoded",
             f"Content-Length: {len(body)}", "Connection: close"] + [f"{k}: {v}" for k, v in headers]
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10 * SLOW)
    try:
        conn.connect()
        conn.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        resp = http.client.HTTPResponse(conn.sock, method="POST")
        resp.begin()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("first, second, names", [
    ("valid", "valid", ("DPoP", "DPoP")),
    ("valid", "garbage", ("DPoP", "DPoP")),
    ("garbage", "valid", ("DPoP", "DPoP")),
    ("garbage", "garbage", ("DPoP", "DPoP")),
    ("valid", "valid", ("DPoP", "dpop")),  # field names are case-insensitive
])
def test_two_dpop_headers_are_refused(broker, first, second, names):
    ident = broker.create_identity()
    key = Key()
    proofs = {"valid": lambda: broker.dpop_proof(key), "garbage": lambda: "garbage.not.jws"}
    form = {"grant_type": "client_credentials", "scope": READ, "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": broker.assertion(ident)}
    status, body = raw_token_request(broker, form, [(names[0], proofs[first]()), (names[1], proofs[second]())])
    answer = json.loads(body)
    assert (status, answer["error"]) == (400, "invalid_dpop_proof"), (status, answer)
    assert "more than one DPoP header" in answer["error_description"], answer
    # The same request with one valid proof is fine (the form was not spent).
    form["client_assertion"] = broker.assertion(ident)
    status, body = raw_token_request(broker, form, [("DPoP", broker.dpop_proof(key))])
    assert status == 200 and json.loads(body)["token_type"] == "DPoP", body


# ---- client assertion replay ----

@pytest.fixture(scope="module")
def short(broker_factory):
    return broker_factory(["--set", "clock_leeway=0", "--set", "assertion_max_lifetime=10"], name="replay")


def test_assertion_jti_resigned_with_another_exp_is_a_replay(short):
    ident = short.create_identity()
    now = int(time.time())
    first = short.assertion(ident, jti="same-jti", iat=now, exp=now + 5)
    again = short.assertion(ident, jti="same-jti", iat=now, exp=now + 8)
    assert first != again
    assert short.token(assertion=first).status_code == 200
    body = assert_oauth_error(short.token(assertion=again), 401, "invalid_client")
    assert "already used" in body["error_description"], body
    # Another client may use the same jti: replay records are per client.
    other = short.create_identity()
    assert short.token(assertion=short.assertion(other, jti="same-jti", lifetime=5)).status_code == 200


def test_used_assertion_jti_is_kept_for_the_longest_assertion_lifetime(short):
    """Kept until no assertion accepted at first use can still be valid
    (now + assertion_max_lifetime), not only until the used one's exp: a
    jti remembered only that long could be re-signed with a later exp once
    the record is pruned."""
    ident = short.create_identity()
    now = int(time.time())
    r = short.token(assertion=short.assertion(ident, jti="brief", iat=now, exp=now + 3))
    assert r.status_code == 200, r.text
    used_at = broker_time(r)  # may be a second after the decision
    with sqlite3.connect(f"file:{short.data / 'tollgate.db'}?mode=ro", uri=True) as db:
        kept_until, = db.execute("SELECT exp FROM used_jtis WHERE kind = 'assertion' AND jti = ?",
                                 (f"{ident.id}|brief",)).fetchone()
    assert kept_until >= used_at - 1 + 10, (kept_until, used_at)
