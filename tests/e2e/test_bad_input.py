# test_bad_input.py - hostile and malformed input on every endpoint:
# malformed or wrongly typed JSON, wrong Content-Type, missing members,
# oversized bodies (Content-Length and chunked), deep nesting, bad ids,
# duplicate or badly encoded form parameters, unknown paths, wrong methods,
# missing or invalid admin bearer. /v1 errors must be RFC 9457 problem+json,
# OAuth errors RFC 6749 JSON; afterwards the broker is healthy and no failed
# request has changed any identity.
import json
import socket

import pytest

from tollgate_e2e import Key, assert_oauth_error, assert_problem

pytestmark = pytest.mark.filterwarnings("ignore")

TARGET = "bad-input-target"
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def bb(broker_factory):
    # Hundreds of bad admin tokens from 127.0.0.1 on purpose: no throttling
    # here (test_auth_throttle.py tests it).
    b = broker_factory(name="badinput", args=["--set", "auth_throttle_source_failures=1000000",
                                              "--set", "auth_throttle_client_failures=1000000"])
    b.target = b.create_identity(TARGET, permit=["orders.read@Api:orders"], roles=["reader"], max_ttl=120)
    b.snapshot = b.identities()
    b.jwks = b.get("/.well-known/jwks.json").json()
    return b


def send(b, method, path, body=None, ctype="application/json", auth=True, headers=None):
    h = dict(headers or {})
    if ctype is not None:
        h["Content-Type"] = ctype
    if auth is True:
        h["Authorization"] = f"Bearer {b.admin_token}"
    elif auth:
        h["Authorization"] = auth
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    return b.http.request(method, b.url + path, data=body, headers=h)


def ident_doc(**over):
    d = {"id": "bi-new", "kind": "workload", "owner": "o", "public_keys": [Key().pub_pem]}
    d.update(over)
    return {k: v for k, v in d.items() if v is not None}


def nested(depth):
    return "[" * depth + "]" * depth


RSA_PUB = ("-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMvQ0Vd0QwVdvJc3e8tGZX1Kc7HkB3vYV4f0"
           "\nV8wFJbm1a7h1XwZx2a5Ykq9yqQ4kqk1XrKJvH5h2xJ9JfW3v2V8CAwEAAQ==\n-----END PUBLIC KEY-----\n")
k1 = Key()

CREATE_400 = {
    "malformed JSON": b'{"id": "x", ',
    "trailing garbage": b'{"id": "x"} x',
    "empty body": b"",
    "array": b"[1, 2]",
    "string": b'"identity"',
    "null": b"null",
    "invalid UTF-8": b'{"id": "\xff\xfe", "kind": "workload", "owner": "o"}',
    "duplicate member": b'{"id": "bi-a", "id": "bi-b", "kind": "workload", "owner": "o"}',
    "huge integer": b'{"id": "bi-a", "kind": "workload", "owner": "o", "max_ttl": 99999999999999999999999}',
    "deep nesting 20": ('{"id": "bi-a", "kind": "workload", "owner": "o", "description": %s}' % nested(20)).encode(),
    "deep nesting 20000": ('{"id": "bi-a", "kind": "workload", "owner": "o", "description": %s}'
                            % nested(20000)).encode(),
    "roles is a string": ident_doc(roles="x"),
    "roles has a number": ident_doc(roles=[1]),
    "role with a space": ident_doc(roles=["a b"]),
    "33 roles": ident_doc(roles=["r%d" % i for i in range(33)]),
    "max_ttl is a string": ident_doc(max_ttl="5"),
    "max_ttl is a float": ident_doc(max_ttl=5.5),
    "max_ttl is negative": ident_doc(max_ttl=-1),
    "max_ttl too large": ident_doc(max_ttl=86401),
    "max_ttl is true": ident_doc(max_ttl=True),
    "unknown member": ident_doc(admin=True),
    "status member at create": ident_doc(status="active"),
    "missing id": ident_doc(id=None),
    "missing kind": ident_doc(kind=None),
    "missing owner": ident_doc(owner=None),
    "empty owner": ident_doc(owner=""),
    "owner is a number": ident_doc(owner=5),
    "owner with NUL": ident_doc(owner="a\u0000b"),
    "owner too long": ident_doc(owner="o" * 257),
    "description too long": ident_doc(description="d" * 1025),
    "id is a number": ident_doc(id=5),
    "id is null": ident_doc(id=None) | {"id": None},
    "unknown kind": ident_doc(kind="robot"),
    "kind is uppercase": ident_doc(kind="WORKLOAD"),
    "id with slash": ident_doc(id="a/b"),
    "id with space": ident_doc(id="a b"),
    "id with umlaut": ident_doc(id="gr\u00fcn"),
    "id with quote": ident_doc(id="a'; DROP TABLE identities; --"),
    "id empty": ident_doc(id=""),
    "id dot-dot-slash": ident_doc(id="../etc"),
    "id 129 chars": ident_doc(id="a" * 129),
    "id with NUL": ident_doc(id="a\u0000b"),
    "allow-list (gone: policy decides)": ident_doc(allow=["orders.read@Api:orders"]),
    "role with a quote": ident_doc(roles=['a"b']),
    "public_keys is a string": ident_doc(public_keys=k1.pub_pem),
    "public key garbage": ident_doc(public_keys=["nope"]),
    "public key number": ident_doc(public_keys=[5]),
    "RSA public key": ident_doc(public_keys=[RSA_PUB]),
    "private key PEM": ident_doc(public_keys=[k1.priv_pem]),
    "private JWK": ident_doc(public_keys=[k1.private_jwk]),
    "X25519 JWK": ident_doc(public_keys=[dict(k1.jwk, crv="X25519")]),
    "JWK short x": ident_doc(public_keys=[dict(k1.jwk, x="AAAA")]),
    "JWK empty kid": ident_doc(public_keys=[dict(k1.jwk, kid="")]),
    "same key twice": ident_doc(public_keys=[k1.pub_pem, k1.jwk]),
    "nine keys": ident_doc(public_keys=[Key().pub_pem for _ in range(9)]),
    "key expires in the past": ident_doc(public_keys=[{"key": k1.pub_pem, "expires_at": 1000}]),
    "key expires_at string": ident_doc(public_keys=[{"key": k1.pub_pem, "expires_at": "tomorrow"}]),
    "PEM with trailing junk in body": ident_doc(public_keys=[k1.pub_pem.replace("\n-----END", "!!\n-----END")]),
    "mtls_fingerprint not hex": ident_doc(mtls_fingerprint="xyz"),
    "mtls_fingerprint 63 digits": ident_doc(mtls_fingerprint="a" * 63),
    "mtls_fingerprint 65 digits": ident_doc(mtls_fingerprint="a" * 65),
    "mtls_fingerprint number": ident_doc(mtls_fingerprint=5),
}


@pytest.mark.parametrize("case", list(CREATE_400))
def test_create_rejects(bb, case):
    assert_problem(send(bb, "POST", "/v1/identities", CREATE_400[case]), 400)


PATCH_400 = {
    "malformed JSON": b'{"owner": ',
    "array": b"[]",
    "id member": {"id": "other"},
    "kind member": {"kind": "edge"},
    "unknown member": {"superuser": True},
    "status offboarded": {"status": "offboarded"},
    "status number": {"status": 1},
    "status unknown": {"status": "paused"},
    "roles string": {"roles": "x"},
    "max_ttl string": {"max_ttl": "5"},
    "empty owner": {"owner": ""},
    "remove unknown kid": {"remove_kids": ["no-such-kid"]},
    "remove_kids string": {"remove_kids": "x"},
    "add garbage key": {"add_public_keys": ["garbage"]},
    "add key not array": {"add_public_keys": k1.pub_pem},
    "valid then invalid member": {"owner": "changed", "max_ttl": "bad"},
    "valid add, invalid remove": {"add_public_keys": [Key().jwk], "remove_kids": ["nope"]},
    "deep nesting": ('{"description": %s}' % nested(30)).encode(),
}


@pytest.mark.parametrize("case", list(PATCH_400))
def test_update_rejects(bb, case):
    assert_problem(send(bb, "PATCH", f"/v1/identities/{TARGET}", PATCH_400[case]), 400)


@pytest.mark.parametrize("method, path", [("POST", "/v1/identities"), ("PATCH", f"/v1/identities/{TARGET}")])
@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx",
                                   "multipart/form-data; boundary=x", "json"])
def test_wrong_content_type_is_415(bb, method, path, ctype):
    assert_problem(send(bb, method, path, ident_doc(id="bi-ct"), ctype=ctype), 415)


def _chunks(total, size=8192):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        sent += n
        yield b" " * n


@pytest.mark.parametrize("method, path, ctype", [
    ("POST", "/v1/identities", "application/json"),
    ("PATCH", f"/v1/identities/{TARGET}", "application/json"),
    ("POST", "/oauth/token", "application/x-www-form-urlencoded"),
    ("POST", "/oauth/introspect", "application/x-www-form-urlencoded"),
    ("POST", "/oauth/revoke", "application/x-www-form-urlencoded"),
])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_oversized_body_is_413(bb, method, path, ctype, framing):
    body = b" " * (MAX_BODY + 1) if framing == "content-length" else _chunks(MAX_BODY + 4096)
    r = send(bb, method, path, body, ctype=ctype)
    if path.startswith("/oauth/"):
        assert_oauth_error(r, 413, "invalid_request")
    else:
        assert_problem(r, 413)


def test_body_at_the_limit_is_read(bb):
    # Exactly max_body bytes of valid JSON: parsed (and refused as an
    # unknown member), not cut off.
    doc = b'{"pad": "' + b"x" * (MAX_BODY - 11) + b'"}'
    assert len(doc) == MAX_BODY
    body = assert_problem(send(bb, "POST", "/v1/identities", doc), 400)
    assert "pad" in body.get("detail", "")


@pytest.mark.parametrize("limit", ["0", "-1", "1001", "abc", "", "1e3", "10 "])
def test_list_limit_rejects(bb, limit):
    assert_problem(send(bb, "GET", f"/v1/identities?limit={limit}", ctype=None), 400)


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/", "/v1/nope", "/v1/identities/x/y", "/v1/identities//",
                                  f"/v1/identities/{TARGET}/offboard/now", "/v1/identities/" + "a" * 200,
                                  "/oauth", "/oauth/token/x", "/.well-known/", "/.well-known/openid-configuration",
                                  "/healthz/", "/%2e%2e/%2e%2e/etc/passwd", "/v1/keys/rotate/x", "/metrics.txt",
                                  "/v1/policies/1/text", "/v1/policies/", "/v1/entities/a/b", "/v1/authorize/x"])
def test_unknown_path_is_404(bb, path):
    assert_problem(send(bb, "GET", path, ctype=None), 404)


def test_unknown_identity_is_404(bb):
    for method, body in [("GET", None), ("PATCH", {"owner": "x"})]:
        for ident in ["no-such-identity", "bad%20chars", "..", "a;b"]:
            assert_problem(send(bb, method, f"/v1/identities/{ident}", body), 404)


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/v1/identities", "GET, POST"), ("PUT", "/v1/identities", "GET, POST"),
    ("DELETE", f"/v1/identities/{TARGET}", "GET, PATCH"), ("PUT", f"/v1/identities/{TARGET}", "GET, PATCH"),
    ("GET", f"/v1/identities/{TARGET}/offboard", "POST"), ("GET", "/v1/keys/rotate", "POST"),
    ("DELETE", "/v1/keys", "GET"), ("POST", "/healthz", "GET"), ("POST", "/metrics", "GET"),
    ("DELETE", "/.well-known/jwks.json", "GET"), ("POST", "/.well-known/oauth-authorization-server", "GET"),
    ("GET", "/oauth/token", "POST"), ("GET", "/oauth/introspect", "POST"), ("PUT", "/oauth/revoke", "POST"),
    ("POST", "/v1/policies", "GET, PUT"), ("DELETE", "/v1/policies", "GET, PUT"), ("PUT", "/v1/policies/3", "GET"),
    ("DELETE", "/v1/policies/history", "GET"), ("DELETE", "/v1/entities", "GET, POST, PUT"),
    ("GET", "/v1/entities/Device:x", "DELETE"), ("GET", "/v1/authorize", "POST"), ("PUT", "/v1/authorize", "POST"),
])
def test_wrong_method_is_405(bb, method, path, allow):
    r = send(bb, method, path, ctype=None)
    assert r.status_code == 405, r.text
    assert sorted(m.strip() for m in r.headers.get("Allow", "").split(",")) == allow.split(", "), r.headers
    if path.startswith("/oauth/"):
        assert_oauth_error(r, 405, "invalid_request")
    else:
        assert_problem(r, 405)


ADMIN_ROUTES = [("GET", "/v1/identities"), ("POST", "/v1/identities"), ("GET", f"/v1/identities/{TARGET}"),
                ("PATCH", f"/v1/identities/{TARGET}"), ("POST", f"/v1/identities/{TARGET}/offboard"),
                ("GET", "/v1/keys"), ("POST", "/v1/keys/rotate"), ("GET", "/v1/policies"), ("PUT", "/v1/policies"),
                ("GET", "/v1/policies/1"), ("GET", "/v1/policies/history"), ("GET", "/v1/entities"),
                ("PUT", "/v1/entities"), ("POST", "/v1/entities"), ("DELETE", "/v1/entities/Device:x"),
                ("POST", "/v1/authorize")]


@pytest.mark.parametrize("method, path", ADMIN_ROUTES)
@pytest.mark.parametrize("auth", [None, "Bearer", "Bearer ", "Bearer wrong", "Basic YWRtaW46YWRtaW4=",
                                  "Bearer " + "0" * 64, "Bearer " + "a" * 300, "Bearer " + "a" * 9000, "TOKEN",
                                  "Bearer {admin}x", "Bearer  {admin}", "Bearer {access}"])
def test_admin_bearer_required(bb, method, path, auth):
    if auth and "{" in auth:
        access = bb.issue(bb.target, "orders.read@Api:orders")
        auth = auth.format(admin=bb.admin_token, access=access)
    # A well-formed body, so that only the credential is wrong.
    r = send(bb, method, path, ident_doc(id="bi-auth") if method in ("POST", "PATCH") else None,
             auth=auth if auth is not None else False)
    if auth and auth.startswith("Bearer ey"):
        # A workload's valid access token authenticates it (grant routes take
        # it), but an admin route does not admit workloads: 403, not 401.
        body = assert_problem(r, 403)
        assert "may not use this endpoint" in body["detail"], body
        return
    body = assert_problem(r, 401)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert bb.admin_token not in r.text and "detail" in body


def test_admin_bearer_scheme_is_case_insensitive(bb):
    r = send(bb, "GET", "/v1/identities", ctype=None, auth=f"bearer {bb.admin_token}")
    assert r.status_code == 200, r.text


# ---- OAuth endpoints: form encoding ----

FORM_400 = {
    "duplicate grant_type": b"grant_type=client_credentials&grant_type=client_credentials&scope=a.b@Api:x",
    "duplicate token": b"token=a&token=b",
    "duplicate scope": b"grant_type=client_credentials&scope=a.b@Api:x&scope=a.b@Api:y",
    "bad escape %zz": b"grant_type=client_credentials&token=%zz",
    "truncated escape %4": b"grant_type=client_credentials&token=%4",
    "lone percent": b"grant_type=client_credentials&token=%",
    "bad escape in name": b"gr%zznt_type=client_credentials&token=x",
    "NUL byte": b"grant_type=client_credentials&token=a%00b",
    "raw NUL byte": b"grant_type=client_credentials&token=a\x00b",
    "empty name": b"=x&token=y",
    "33 parameters": b"&".join(b"p%d=1" % i for i in range(33)),
    "value over 16 KiB": b"token=" + b"a" * (16 * 1024 + 1),
    "name over 64 bytes": b"n" * 65 + b"=1",
}


@pytest.mark.parametrize("endpoint, case", [(e, c) for e in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
                                            for c in FORM_400 if not (e == "/oauth/token" and c == "duplicate token")])
def test_bad_form_is_invalid_request(bb, endpoint, case):
    r = send(bb, "POST", endpoint, FORM_400[case], ctype="application/x-www-form-urlencoded", auth=True)
    assert_oauth_error(r, 400, "invalid_request")


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
@pytest.mark.parametrize("ctype", [None, "application/json", "text/plain", "multipart/form-data; boundary=x"])
def test_oauth_wrong_content_type_is_415(bb, endpoint, ctype):
    r = send(bb, "POST", endpoint, b"grant_type=client_credentials&token=x", ctype=ctype, auth=True)
    # OAuth endpoints answer even transport-level errors in the RFC 6749 form.
    assert_oauth_error(r, 415, "invalid_request")


def test_form_content_type_with_charset_is_accepted(bb):
    r = send(bb, "POST", "/oauth/introspect", b"token=x", ctype="application/x-www-form-urlencoded; charset=UTF-8")
    assert r.status_code == 200 and r.json() == {"active": False}


# ---- transport abuse: the broker must survive ----

def _raw(bb, data: bytes) -> bytes:
    """Sends raw bytes and returns the first chunk of the answer (b"" if
    the broker just closed the connection)."""
    with socket.create_connection(("127.0.0.1", bb.port), timeout=1) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            return s.recv(65536)
        except OSError:  # reset, timeout, not connected: the broker hung up
            return b""


TRANSPORT_ABUSE = {
    "garbage request line": b"GARBAGE\r\n\r\n",
    "HTTP/9.9": b"GET / HTTP/9.9\r\n\r\n",
    "100 KB header": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n",
    "negative Content-Length": b"POST /v1/identities HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "huge Content-Length": b"POST /v1/identities HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n{}",
    "bad chunk size": b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nxx\r\n0\r\n\r\n",
    "Content-Length and chunked": b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "TLS hello on plain HTTP": b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64,
}


@pytest.mark.parametrize("case", list(TRANSPORT_ABUSE))
def test_transport_abuse_does_not_hurt(bb, case):
    out = _raw(bb, TRANSPORT_ABUSE[case])
    if out:
        status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.") else 0
        assert 400 <= status < 600, out[:200]
    assert bb.get("/healthz").json() == {"status": "ok"}


# ---- afterwards: healthy and unchanged ----

def test_zz_state_unchanged_after_bad_input(bb):
    assert bb.alive()
    assert bb.get("/healthz").json() == {"status": "ok"}
    # last_used_at moves with every token issued (the bearer tests issue some).
    strip = lambda ids: [{k: v for k, v in i.items() if k != "last_used_at"} for i in ids]
    assert strip(bb.identities()) == strip(bb.snapshot), "a failed request changed the identity store"
    assert bb.get("/.well-known/jwks.json").json() == bb.jwks
    target = bb.api("GET", f"/v1/identities/{TARGET}").json()
    assert target["owner"] == "team-e2e" and target["max_ttl"] == 120 and len(target["public_keys"]) == 1
    # ...and it still serves valid requests.
    token = bb.issue(bb.target, "orders.read@Api:orders")
    assert bb.introspect(token)["active"] is True


@pytest.mark.parametrize("path", [b"/\xff\xfe", b"/v1/identities/\xc3", b"/oauth/token/\x80"])
def test_non_utf8_path_still_gets_an_answer(bb, path):
    # Regression: a problem document whose instance was not valid UTF-8
    # could not be encoded, and the request got no answer at all.
    out = _raw(bb, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith((b"HTTP/1.1 404", b"HTTP/1.1 401")), out[:200]
    assert b"application/problem+json" in out, out[:400]


# ---- Content-Type: a media type, charset UTF-8 only, no control bytes ----

JSON_ROUTES = [("POST", "/v1/identities"), ("PATCH", f"/v1/identities/{TARGET}"), ("POST", "/v1/authorize"),
               ("PUT", "/v1/entities"), ("POST", "/v1/entities"), ("PUT", "/v1/policies")]


@pytest.mark.parametrize("method, path", JSON_ROUTES)
@pytest.mark.parametrize("ctype", ["application/json; charset=utf-16", "application/json; charset=\"UTF-16LE\"",
                                   "application/json; charset=iso-8859-1", "application/json; charset",
                                   "application/json garbage"])
def test_json_routes_refuse_other_charsets_with_415(bb, method, path, ctype):
    assert_problem(send(bb, method, path, b'{"x": 1}', ctype=ctype), 415)


@pytest.mark.parametrize("method, path", JSON_ROUTES)
def test_json_routes_take_charset_utf8(bb, method, path):
    # Past the Content-Type check: the body ({"x": 1}) is what is wrong.
    r = send(bb, method, path, b'{"x": 1}', ctype="application/json; charset=UTF-8")
    assert r.status_code == 400, r.text


@pytest.mark.parametrize("endpoint", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_oauth_form_with_another_charset_is_415(bb, endpoint):
    r = send(bb, "POST", endpoint, b"token=x", ctype="application/x-www-form-urlencoded; charset=utf-16")
    assert_oauth_error(r, 415, "invalid_request")


def _raw_request(bb, method, path, headers: bytes, body: bytes = b"") -> bytes:
    """A request with raw header bytes (client libraries refuse NUL and
    control characters); returns the whole answer."""
    head = (f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Authorization: Bearer {bb.admin_token}\r\nContent-Length: {len(body)}\r\n").encode()
    with socket.create_connection(("127.0.0.1", bb.port), timeout=10) as s:
        s.sendall(head + headers + b"\r\n" + body)
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out


@pytest.mark.parametrize("ctype", [b"application/json\x00; charset=utf-16", b"application/json\x00 x",
                                   b"application/json;\x01charset=utf-8", b"application/json\x7f"],
                         ids=["NUL then charset", "NUL then text", "SOH", "DEL"])
def test_content_type_with_control_characters_is_415(bb, ctype):
    out = _raw_request(bb, "PATCH", f"/v1/identities/{TARGET}", b"Content-Type: " + ctype + b"\r\n",
                       b'{"description": "changed through a NUL"}')
    assert out.startswith(b"HTTP/1.1 415 "), out[:300]
    assert b"application/problem+json" in out, out[:300]
    assert bb.api("GET", f"/v1/identities/{TARGET}").json()["description"] != "changed through a NUL"


# ---- POST routes without a body: /v1/keys/rotate and .../offboard ----

@pytest.mark.parametrize("path", ["/v1/keys/rotate", f"/v1/identities/{TARGET}/offboard"])
@pytest.mark.parametrize("body, ctype, status", [
    (b"", "text/plain", 415), (b"", "application/x-www-form-urlencoded", 415),
    (b"kid=x", None, 415), (b"kid=x", "application/x-www-form-urlencoded", 415),
    (b'{"kid": "x"}', "application/json", 400), (b"[]", "application/json", 400),
    (b"{}", "application/json; charset=utf-16", 415)])
def test_bodiless_posts_refuse_a_body_or_another_type(bb, path, body, ctype, status):
    assert_problem(send(bb, "POST", path, body, ctype=ctype), status)
    assert bb.get("/.well-known/jwks.json").json() == bb.jwks  # no rotation
    assert bb.api("GET", f"/v1/identities/{TARGET}").json()["status"] == "active"  # no offboarding


@pytest.mark.parametrize("body, ctype", [(None, None), (b"{}", "application/json"), (b" { } ", "application/json"),
                                         (b"", "application/json")])
def test_offboard_takes_no_body_or_an_empty_object(bb, body, ctype):
    ident = bb.create_identity()
    r = send(bb, "POST", f"/v1/identities/{ident.id}/offboard", body, ctype=ctype)
    assert r.status_code == 200 and r.json()["status"] == "offboarded", r.text


# ---- errors for a request's head: ours as problem+json, the library's documented ----

def _answer(bb, data: bytes) -> bytes:
    """Sends data and reads the whole answer (the broker closes after an
    error); b"" when it only closed."""
    with socket.create_connection(("127.0.0.1", bb.port), timeout=10) as s:
        s.sendall(data)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
    return out


def _head_and_body(out: bytes):
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(b":") for ln in lines[1:])}
    return lines[0], headers, body


@pytest.mark.parametrize("path, form", [("/v1/identities?q=" + "a" * 9000, "problem"),
                                         ("/" + "b" * 20000, "problem"),
                                         ("/oauth/token?x=" + "c" * 9000, "oauth")], ids=["query", "path", "oauth"])
def test_uri_too_long_is_414_json(bb, path, form):
    status, headers, body = _head_and_body(_answer(bb, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()))
    assert status.startswith(b"HTTP/1.1 414 "), status
    doc = json.loads(body)
    if form == "problem":
        assert headers[b"content-type"] == b"application/problem+json"
        assert doc["status"] == 414 and len(doc.get("instance", "")) <= 8192  # a long path is not echoed
    else:
        assert headers[b"content-type"] == b"application/json" and doc["error"] == "invalid_request"


@pytest.mark.parametrize("headers", [b"X-Big: " + b"a" * 20000 + b"\r\n",
                                     b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))])
def test_headers_too_large_is_431_json(bb, headers):
    out = _answer(bb, b"GET /v1/identities HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    status, hdrs, body = _head_and_body(out)
    assert status.startswith(b"HTTP/1.1 431 "), status
    assert hdrs[b"content-type"] == b"application/problem+json"
    assert json.loads(body)["status"] == 431


# What libmicrohttpd answers itself, before the broker sees the request
# (docs/api.md, "Errors the HTTP library answers itself"): the status, no
# Content-Type, no JSON. A negative or malformed Content-Length gets the
# library's status line and headers twice (a libmicrohttpd 0.9.75 defect).
LIBRARY_ERRORS = {
    "URI past the buffer": (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "headers past the buffer": (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", 431),
    "HTTP/2.5": (b"GET /healthz HTTP/2.5\r\nHost: x\r\n\r\n", 505),
    "HTTP/0.9": (b"GET /healthz\r\n\r\n", 400),
    "negative Content-Length": (b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400),
    "malformed Content-Length": (b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400),
    "Content-Length past 2^64": (b"POST /v1/authorize HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999"
                                 b"\r\n\r\n", 413),
}


@pytest.mark.parametrize("case", list(LIBRARY_ERRORS))
def test_library_errors_are_as_documented_and_the_broker_stays_up(bb, case):
    data, want = LIBRARY_ERRORS[case]
    status, headers, body = _head_and_body(_answer(bb, data))
    assert status.startswith(f"HTTP/1.1 {want} ".encode()), status
    assert b"content-type" not in headers and not body.lstrip().startswith(b"{"), (headers, body[:200])
    # The next request, on a new connection, is served normally.
    assert bb.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("crlf", [b"\r\n", b"\n"], ids=["CRLF", "LF"])
@pytest.mark.parametrize("ctype_line", [b"Content-Type: application/json", b"Content-Type:application/json  ",
                                        b"Content-Type: application/json; charset=utf-8\t"])
@pytest.mark.parametrize("last", [True, False], ids=["last header", "not last"])
def test_plain_content_type_lines_are_accepted(bb, crlf, ctype_line, last):
    # The NUL detection must not mistake ordinary line ends for hidden bytes.
    body = b'{"x": 1}'
    lines = [b"PATCH /v1/identities/" + TARGET.encode() + b" HTTP/1.1", b"Host: x", b"Connection: close",
             b"Authorization: Bearer " + bb.admin_token.encode(), b"Content-Length: %d" % len(body)]
    lines.insert(len(lines) if last else 2, ctype_line)
    out = _answer(bb, crlf.join(lines) + crlf + crlf + body)
    assert out.startswith(b"HTTP/1.1 400 "), out[:300]  # the member x is what is refused
