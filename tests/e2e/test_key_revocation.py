# test_key_revocation.py - withdrawing a signing key at once (POST
# /v1/keys/{kid}/revoke, `tollgate keys revoke KID --wait`; issue 10): the
# key leaves the JWKS and the broker's own verification, so every token it
# signed is inactive at introspection and denied at /v1/authorize; the
# current key is rotated first; a key.revoked audit record is written and
# is a feed entry of kind jwks; a restarted broker does not publish the key
# again; and an edge that allowed a token of the key refuses it as invalid
# once `keys revoke --wait` has returned.
import pytest

from edge_e2e import ORDER_ENTITIES, ORDER_POLICY, ORDER_SCOPE, Edge, allowed, assert_refused, edge_broker, until
from tollgate_e2e import SLOW, assert_problem, audit_records, cli_env, jwt_parts, run_cli


def kids(b):
    return {k["kid"] for k in b.get("/.well-known/jwks.json").json()["keys"]}


def current_kid(b):
    return next(k["kid"] for k in b.api("GET", "/v1/keys").json()["keys"] if k["current"])


def revoke_key(b, kid, **kw):
    return b.api("POST", f"/v1/keys/{kid}/revoke", **kw)


def assert_dead(b, token):
    """The broker no longer takes token: inactive, and denied at /v1/authorize."""
    assert b.introspect(token) == {"active": False}
    d = b.authorize(token=token, action="orders.read", resource="Api:orders")
    assert d["decision"] == "deny" and d["token"]["active"] is False, d


def assert_alive(b, token):
    assert b.introspect(token)["active"] is True
    assert b.authorize(token=token, action="orders.read", resource="Api:orders")["decision"] == "allow"


def feed_kinds_after(b, seq):
    r = b.api("GET", "/v1/feed", params={"since": seq, "wait": 0})
    assert r.status_code == 200, r.text
    return {e["seq"]: e["kind"] for e in r.json()["entries"]}


@pytest.fixture(scope="module")
def kb(broker_factory):
    return broker_factory(name="key-revocation")


def test_revoke_a_retired_key(kb):
    ident = kb.create_identity()
    old_kid = current_kid(kb)
    old_token = kb.issue(ident)
    assert jwt_parts(old_token)[0]["kid"] == old_kid
    r = kb.api("POST", "/v1/keys/rotate")
    assert r.status_code == 200, r.text
    new_kid = r.json()["current_kid"]
    assert_alive(kb, old_token)  # retired, still published
    start = audit_records(kb)[-1]["seq"]

    r = revoke_key(kb, old_kid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["revoked"], body["current_kid"], body["rotated"]) == (old_kid, new_kid, False), body
    assert old_kid not in {k["kid"] for k in body["keys"]}, body
    assert old_kid not in kids(kb) and new_kid in kids(kb)
    assert_dead(kb, old_token)
    new_token = kb.issue(ident)
    assert jwt_parts(new_token)[0]["kid"] == new_kid
    assert_alive(kb, new_token)

    [rec] = [x for x in audit_records(kb, after=start) if x["type"] == "key.revoked"]
    assert (rec["actor"], rec["resource"], rec["decision"]) == ("admin", f"Key:{old_kid}", "allow"), rec
    assert rec["details"]["kid"] == old_kid and rec["details"]["current_kid"] == new_kid, rec
    assert feed_kinds_after(kb, start).get(rec["seq"]) == "jwks"  # edges refetch the JWKS

    assert_problem(revoke_key(kb, old_kid), 404)  # gone: nothing to revoke twice


def test_revoke_the_current_key_rotates_first(kb):
    ident = kb.create_identity()
    old_kid = current_kid(kb)
    old_token = kb.issue(ident)
    start = audit_records(kb)[-1]["seq"]

    r = revoke_key(kb, old_kid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["revoked"] == old_kid and body["rotated"] is True and body["current_kid"] != old_kid, body
    new_kid = body["current_kid"]
    assert current_kid(kb) == new_kid and old_kid not in kids(kb) and new_kid in kids(kb)
    assert_dead(kb, old_token)
    new_token = kb.issue(ident)
    assert jwt_parts(new_token)[0]["kid"] == new_kid
    assert_alive(kb, new_token)
    types = [x["type"] for x in audit_records(kb, after=start) if x["type"].startswith("key.")]
    assert types == ["key.rotated", "key.revoked"], types


def test_a_restart_does_not_publish_a_revoked_key_again(kb):
    ident = kb.create_identity()
    old_kid, old_token = current_kid(kb), kb.issue(ident)
    assert revoke_key(kb, old_kid).status_code == 200
    published = kids(kb)
    kb.restart()
    assert kids(kb) == published and old_kid not in published  # at once, not at the first maintenance
    assert old_kid not in {k["kid"] for k in kb.api("GET", "/v1/keys").json()["keys"]}
    assert_dead(kb, old_token)
    assert_alive(kb, kb.issue(ident))


def test_unknown_kid_is_404(kb):
    before = kids(kb)
    for kid in ("no-such-kid", "A" * 43):
        assert_problem(revoke_key(kb, kid), 404)
    assert kids(kb) == before


def test_only_an_admin_revokes(kb):
    ident = kb.create_identity()
    kid, before = current_kid(kb), kids(kb)
    assert_problem(revoke_key(kb, kid, token=""), 401)
    assert_problem(revoke_key(kb, kid, token="0" * 64), 401)
    assert_problem(revoke_key(kb, kid, token=kb.issue(ident)), 403)  # a workload's token
    assert kids(kb) == before and current_kid(kb) == kid


def test_a_body_is_refused(kb):
    assert_problem(revoke_key(kb, current_kid(kb), json_body={"kid": "x"}), 400)


def test_cli_usage(kb):
    env = cli_env(kb)
    p = run_cli(["keys", "revoke"], env_extra=env)
    assert p.returncode == 2 and "give the kid" in p.stderr, p.stderr
    p = run_cli(["keys", "revoke", current_kid(kb), "--verify"], env_extra=env)
    assert p.returncode == 2 and "--verify is not offered" in p.stderr, p.stderr
    p = run_cli(["keys", "revoke", "no-such-kid"], env_extra=env)
    assert p.returncode == 1 and "404" in p.stderr and "`tollgate keys list`" in p.stderr, p.stderr


def test_edge_refuses_tokens_of_a_key_revoked_with_wait(broker_factory, tmp_path):
    b = edge_broker(broker_factory, "key-revocation-edge", ORDER_POLICY, entities=ORDER_ENTITIES)
    edge = Edge(b, tmp_path, ["GET /orders/{id} orders.read Order:{id}"]).start()
    try:
        wl = b.create_identity()
        kid = current_kid(b)
        tok = b.issue(wl, ORDER_SCOPE)
        until("the edge to allow the token", lambda: edge.auth("/orders/17", token=tok), allowed)
        assert edge.auth("/orders/17", token=tok).status_code == 200  # verified and cached

        p = run_cli(["keys", "revoke", kid, "--wait", str(10 * SLOW)], env_extra=cli_env(b))
        assert p.returncode == 0, p.stdout + p.stderr
        assert '"revoked"' in p.stdout and kid in p.stdout, p.stdout
        assert edge.id in p.stderr and "acknowledged in" in p.stderr, p.stderr
        assert "revocation enforced at 1 of 1 live edges" in p.stderr, p.stderr
        # --wait returned: the edge has the JWKS without the key, no polling needed.
        assert_refused(edge.auth("/orders/17", token=tok), 401, "invalid")
        assert edge.auth("/orders/17", token=b.issue(wl, ORDER_SCOPE)).status_code == 200  # the new key
        assert_dead(b, tok)
    finally:
        edge.stop()
