# test_status_list.py - the Token Status List (draft-ietf-oauth-status-list-17,
# src/broker/status_lists.c, docs/status_list.md) read by a client written
# here from the draft, as a resource server without an edge would: the
# referenced token's status.status_list claim names a uri and an idx; GET
# the uri with Accept: application/statuslist+jwt; verify the answer with
# PyJWT against the broker's JWKS (typ statuslist+jwt, sub = the uri, iat,
# exp); base64url-decode and zlib-decompress status_list.lst; read the idx-th
# entry of `bits` bits from the least significant bit of its byte. Checks:
# a fresh token is VALID (0) and stays so when another is revoked; a
# revoked token, every token of a suspended or offboarded identity, and an
# exchanged (RFC 8693) token once revoked are INVALID (1); indices are
# unique and survive a restart; the aggregation and its RFC 8414 metadata
# member; the ttl and Cache-Control; bad list numbers.
import base64
import zlib

import jwt
import pytest

from test_interop import jose_verify
from tollgate_e2e import DEFAULT_SCOPES, assert_problem, jwt_parts, unique, verify_pyjwt

MEDIA_TYPE = "application/statuslist+jwt"
LIST_SIZE = 65536  # TG_STATUS_LIST_SIZE (src/core/limits.h)
VALID, INVALID = 0, 1


# ---- the client, from the draft ----

def status_reference(token):
    """§6.2: the referenced token's status.status_list {idx, uri}."""
    ref = jwt_parts(token)[1]["status"]["status_list"]
    assert isinstance(ref["idx"], int) and ref["idx"] >= 0, ref
    assert isinstance(ref["uri"], str), ref
    return ref["uri"], ref["idx"]


def fetch_status_list_token(b, uri):
    """§8.1-8.2: GET the uri; the answer is the compact JWT itself."""
    r = b.http.get(uri, headers={"Accept": MEDIA_TYPE})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == MEDIA_TYPE, r.headers
    return r


def verify_status_list_token(b, compact, uri):
    """§5.1 and §8.3 step 3-4: signature by a key of the issuer's JWKS,
    typ statuslist+jwt, sub the uri, iat, exp not passed."""
    assert jwt.get_unverified_header(compact)["typ"] == "statuslist+jwt"
    key = jwt.PyJWKClient(b.jwks_uri).get_signing_key_from_jwt(compact)
    claims = jwt.decode(compact, key.key, algorithms=["EdDSA"], issuer=b.issuer,
                        options={"require": ["sub", "iat", "exp"]})
    assert claims["sub"] == uri, claims
    return claims


def read_status(status_list, idx):
    """§4.1 and §8.3 steps 5-6: the ZLIB-compressed byte array, bits per
    entry, entry idx counted from the least significant bit of its byte."""
    bits = status_list["bits"]
    assert bits in (1, 2, 4, 8), status_list
    lst = status_list["lst"]
    data = zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))
    per_byte = 8 // bits
    assert idx < len(data) * per_byte, "index out of bounds: no statement (§8.3 step 6)"
    return (data[idx // per_byte] >> ((idx % per_byte) * bits)) & ((1 << bits) - 1)


def status_of(b, token):
    uri, idx = status_reference(token)
    claims = verify_status_list_token(b, fetch_status_list_token(b, uri).text, uri)
    return read_status(claims["status_list"], idx)


# ---- the checks ----

def test_a_fresh_token_is_valid(broker):
    token = broker.issue(broker.create_identity())
    claims = verify_pyjwt(broker, token)
    uri, idx = status_reference(token)
    assert uri.startswith(broker.issuer + "/v1/status-lists/"), uri
    assert 0 <= idx < LIST_SIZE
    assert claims["status"] == {"status_list": {"idx": idx, "uri": uri}}
    assert status_of(broker, token) == VALID
    # an independent verifier still takes the token with its new claim
    p = jose_verify(broker, token)
    assert p.returncode == 0, p.stderr


def test_revoked_token_is_invalid_and_others_stay_valid(broker):
    ident = broker.create_identity()
    revoked, other = broker.issue(ident), broker.issue(ident)
    assert status_of(broker, revoked) == VALID
    r = broker.revoke(revoked, as_ident=ident)
    assert r.status_code == 200, r.text
    assert status_of(broker, revoked) == INVALID
    assert status_of(broker, other) == VALID
    assert broker.introspect(other)["active"] is True


def test_suspended_and_offboarded_identities_tokens_are_invalid(broker):
    a, bystander = broker.create_identity(), broker.create_identity()
    token, kept = broker.issue(a), broker.issue(bystander)
    r = broker.api("PATCH", f"/v1/identities/{a.id}", {"status": "suspended"})
    assert r.status_code == 200, r.text
    assert status_of(broker, token) == INVALID
    r = broker.api("PATCH", f"/v1/identities/{a.id}", {"status": "active"})
    assert r.status_code == 200, r.text
    assert status_of(broker, token) == VALID  # as introspection: suspension is not revocation
    assert broker.introspect(token)["active"] is True
    r = broker.api("POST", f"/v1/identities/{a.id}/offboard")
    assert r.status_code == 200, r.text
    assert status_of(broker, token) == INVALID
    assert status_of(broker, kept) == VALID


def test_exchanged_token_has_its_own_entry(broker):
    subject = broker.create_identity()
    actor = broker.create_identity(ident_id=unique("agent"))
    subject_token = broker.issue(subject)
    r = broker.token(actor, scope=DEFAULT_SCOPES[0], form={
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange", "subject_token": subject_token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token"})
    assert r.status_code == 200, r.text
    exchanged = r.json()["access_token"]
    assert status_reference(exchanged) != status_reference(subject_token)
    assert status_of(broker, exchanged) == VALID
    assert broker.revoke(exchanged).status_code == 200
    assert status_of(broker, exchanged) == INVALID
    assert status_of(broker, subject_token) == VALID


def test_indices_are_unique_and_survive_a_restart(broker_factory):
    b = broker_factory(name="status-restart")
    ident = b.create_identity()
    tokens = [b.issue(ident) for _ in range(5)]
    refs = [status_reference(t) for t in tokens]
    assert len({idx for _, idx in refs}) == 5
    assert [idx for _, idx in refs] == sorted(idx for _, idx in refs)
    assert b.revoke(tokens[2]).status_code == 200
    b.stop()
    b.start()
    later = b.issue(ident)
    uri, idx = status_reference(later)
    assert (uri, idx) not in refs and idx > max(i for _, i in refs)
    assert [status_of(b, t) for t in tokens] == [VALID, VALID, INVALID, VALID, VALID]
    assert status_of(b, later) == VALID


def test_status_list_token_and_its_http_answer(broker):
    token = broker.issue(broker.create_identity())
    uri, _ = status_reference(token)
    r = fetch_status_list_token(broker, uri)
    assert r.headers["Cache-Control"] == "public, max-age=30", r.headers
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    header = jwt.get_unverified_header(r.text)
    assert header["alg"] == "EdDSA" and header["typ"] == "statuslist+jwt"
    assert header["kid"] in {k["kid"] for k in broker.get("/.well-known/jwks.json").json()["keys"]}
    claims = verify_status_list_token(broker, r.text, uri)
    assert claims["ttl"] == 30 and claims["exp"] == claims["iat"] + 60, claims
    assert claims["status_list"]["bits"] == 1
    assert claims["status_list"]["aggregation_uri"] == broker.issuer + "/v1/status-lists"
    # the whole list, every entry: 65536 one-bit entries
    lst = claims["status_list"]["lst"]
    assert len(zlib.decompress(base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4)))) == LIST_SIZE // 8
    # no Accept header is needed: there is one representation
    r = broker.http.get(uri)
    assert r.status_code == 200 and r.headers["Content-Type"] == MEDIA_TYPE


def test_ttl_is_configured(broker_factory):
    b = broker_factory(args=["--set", "status_list_ttl=5"], name="status-ttl")
    uri, _ = status_reference(b.issue(b.create_identity()))
    r = fetch_status_list_token(b, uri)
    assert r.headers["Cache-Control"] == "public, max-age=5"
    claims = verify_status_list_token(b, r.text, uri)
    assert claims["ttl"] == 5 and claims["exp"] == claims["iat"] + 10


def test_aggregation_and_metadata(broker):
    token = broker.issue(broker.create_identity())
    uri, _ = status_reference(token)
    endpoint = broker.meta["status_list_aggregation_endpoint"]
    assert endpoint == broker.issuer + "/v1/status-lists"
    r = broker.http.get(endpoint)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json", r.text
    lists = r.json()["status_lists"]
    assert uri in lists and lists == sorted(lists, key=lambda u: int(u.rsplit("/", 1)[1]))
    for u in lists:
        verify_status_list_token(broker, fetch_status_list_token(broker, u).text, u)


@pytest.mark.parametrize("k", ["-1", "abc", "01", "1.0", "0x1", "99999999999999999999", "9223372036854775807"])
def test_bad_list_numbers_are_400(broker, k):
    assert_problem(broker.get(f"/v1/status-lists/{k}"), 400)


def test_lists_never_allocated_are_404(broker):
    uri, _ = status_reference(broker.issue(broker.create_identity()))
    k = int(uri.rsplit("/", 1)[1])
    assert_problem(broker.get(f"/v1/status-lists/{k + 1}"), 404)
    assert_problem(broker.get("/v1/status-lists/140737488355326"), 404)


def test_other_methods_are_refused(broker):
    uri, _ = status_reference(broker.issue(broker.create_identity()))
    r = broker.http.post(uri)
    assert r.status_code == 405 and "GET" in r.headers.get("Allow", ""), r.text
