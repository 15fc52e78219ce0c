# test_log_secrets.py - no secret ever reaches the broker's log (docs/architecture.md, "Invariants"):
# after a run at log_level=debug that creates identities, issues tokens
# (Bearer and DPoP), introspects, revokes, fails authentication, rotates
# keys and offboards, stderr contains no access token (nor any of its parts),
# client assertion, DPoP proof, admin token, master key, private key,
# operator password, TOTP secret or session token. The store holds neither
# the admin token, an operator's password, TOTP secret or session token, nor
# any token in the clear.
import base64
import re
import secrets
import subprocess
import urllib.parse

import pytest

from tollgate_e2e import Key, jwt_parts


def expect(r, status):
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r


@pytest.fixture(scope="module")
def run(broker_factory):
    """Drives a broker through everything that handles secrets, then stops
    it, and returns (broker, secrets that must not appear)."""
    b = broker_factory(["--set", "log_level=debug"], name="logsecrets")
    secret = {"admin token": [b.admin_token],
              "master key": [(b.data / "master.key").read_text().strip()]}
    add = lambda what, s: secret.setdefault(what, []).append(s)

    def token_parts(kind, token):
        add(kind, token)
        h, p, s = token.split(".")
        add(kind + " signing input", h + "." + p)
        add(kind + " signature", s)
        add(kind + " payload", p)

    a = b.create_identity()
    jwk_key = Key()
    c = b.create_identity(key=jwk_key, public_keys=[jwk_key.jwk])
    for k in (a.key, jwk_key):
        add("private key PEM body", k.pem_body())
        add("private key seed (base64url)", base64.urlsafe_b64encode(k.raw_seed).decode().rstrip("="))
        add("private key seed (hex)", k.raw_seed.hex())

    jtis = []
    for ident in (a, c):
        assertion = b.assertion(ident)
        dkey = Key()
        proof = b.dpop_proof(dkey)
        r = b.token(ident, assertion=assertion, dpop=proof)
        assert r.status_code == 200, r.text
        token_parts("access token", r.json()["access_token"])
        token_parts("client assertion", assertion)
        token_parts("DPoP proof", proof)
        jtis.append(jwt_parts(r.json()["access_token"])[1]["jti"])
        # Replays (logged as refused) must not echo what was replayed.
        expect(b.token(ident, assertion=assertion), 401)
        expect(b.token(ident, dpop=proof), 400)
        bearer = b.issue(ident)
        token_parts("access token", bearer)
        jtis.append(jwt_parts(bearer)[1]["jti"])
        ia = b.assertion(ident, aud=b.introspection_endpoint)
        token_parts("client assertion", ia)
        assert b.introspect_response(bearer, assertion=ia).json()["active"] is True
        assert b.introspect(bearer)["active"] is True
        ra = b.assertion(ident, aud=b.revocation_endpoint)
        token_parts("client assertion", ra)
        expect(b.revoke(bearer, assertion=ra), 200)
        assert b.introspect(bearer) == {"active": False}
    # Failed authentications carry secrets of their own.
    bad = b.assertion(a, key=Key())
    token_parts("client assertion", bad)
    expect(b.token(a, assertion=bad), 401)
    wrong_admin = "f" * 64
    add("presented admin token", wrong_admin)
    expect(b.api("GET", "/v1/identities", token=wrong_admin), 401)
    expect(b.http.post(b.introspection_endpoint, data={"token": "x"},
                       headers={"Authorization": "Bearer " + wrong_admin}), 401)
    expect(b.token(a, form={"client_secret": "hunter2-very-secret"}), 400)
    add("client secret", "hunter2-very-secret")
    # Log injection: attacker-chosen text lands in the log only JSON-escaped.
    forged = 'x"}\n{"time":"0","level":"error","msg":"INJECTED'
    expect(b.token(None, form={"client_id": forged}), 401)
    expect(b.token(a, form={"client_id": forged}), 401)
    # Operators (docs/operators.md): password, TOTP secret and codes, session
    # token, and a wrong password, through create, confirm, login, a session
    # call and failed logins.
    pw = "operator-password-" + secrets.token_hex(8)
    add("operator password", pw)
    r = expect(b.api("POST", "/v1/operators", {"username": "logsecrets-op", "roles": ["admin"],
                                                "password": pw}), 201)
    op_secret = urllib.parse.parse_qs(urllib.parse.urlparse(r.json()["otpauth_uri"]).query)["secret"][0]
    add("operator TOTP secret", op_secret)
    oath = lambda *extra: subprocess.run(["oathtool", "--totp", "-b", op_secret, *extra], check=True,
                                         capture_output=True, text=True).stdout.strip()
    code = oath()
    expect(b.api("POST", "/v1/operators/logsecrets-op/confirm", {"totp": code}), 200)
    code = oath("-N", "now + 30 seconds")
    r = expect(b.http.post(b.url + "/v1/login", json={"username": "logsecrets-op", "password": pw,
                                                     "totp": code}), 200)
    add("operator session token", r.json()["session_token"])
    expect(b.api("GET", "/v1/identities", token=r.json()["session_token"]), 200)
    add("wrong operator password", "wrong-operator-password-xyz")
    expect(b.http.post(b.url + "/v1/login", json={"username": "logsecrets-op",
                                                  "password": "wrong-operator-password-xyz", "totp": code}), 401)
    expect(b.api("POST", "/v1/keys/rotate"), 200)
    token_parts("access token", b.issue(a))
    expect(b.api("POST", f"/v1/identities/{c.id}/offboard"), 200)
    b.stop()
    return b, secret, jtis


def test_log_has_no_secrets(run):
    b, secret, _ = run
    log = b.log_text()
    leaks = [f"{what}: {s[:24]}..." for what, values in secret.items() for s in values if s and s in log]
    assert not leaks, "secrets in the broker log:\n" + "\n".join(leaks)


def test_log_has_no_jwt_shaped_strings(run):
    b, _, _ = run
    # Any base64url JSON object followed by a dot is the start of a JWS.
    found = re.findall(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*", b.log_text())
    assert not found, found[:3]


def test_log_still_records_what_happened(run):
    # The check above is only meaningful if the log describes the run:
    # token issuance by jti and token hash, failures, revocations.
    b, _, jtis = run
    events = b.log_events()
    issued = [e for e in events if e["msg"] == "token issued"]
    assert {e["jti"] for e in issued} >= set(jtis)
    assert all(re.fullmatch(r"[0-9a-f]{64}", e["token_sha256"]) for e in issued)
    msgs = {e["msg"] for e in events}
    assert {"replay refused", "client authentication failed", "token revoked", "identity offboarded",
            "signing key rotated"} <= msgs, msgs


def test_store_holds_no_plain_secrets(run):
    b, secret, _ = run
    blob = b"".join(p.read_bytes() for p in b.data.glob("tollgate.db*"))
    assert blob, "no store files"
    for what in ("admin token", "access token", "master key", "private key seed (hex)", "operator password",
                 "operator TOTP secret", "operator session token"):
        for s in secret.get(what, []):
            assert s.encode() not in blob, f"{what} stored in the clear"


def test_log_is_json_lines_without_server_warnings(run):
    # Apart from the --dev banner, every line is one JSON object (log.c),
    # and a run without transport errors has no libmicrohttpd warnings.
    b, _, _ = run
    for line in b.log_text().splitlines():
        assert line.startswith("{") or line.strip() == "" or line.startswith("  "), line
    assert not [e for e in b.log_events() if e["msg"] == "INJECTED"]
    server = [e for e in b.log_events() if e["msg"] == "http server"]
    assert not server, server
