# test_edge_inject_secret.py - the edge injects a secret of the broker's
# store (issue 12, "Delivery at the edge"; docs/edge.md, Injecting secrets):
# a route with inject=Authorization:secret:NAME behind a real nginx in front
# of an upstream that echoes the headers it got. The upstream sees the
# secret's value, the client never does; after a PUT of a new version the
# requests keep succeeding and the upstream soon sees the new value; a
# deleted secret fails the route closed; a rotation by the broker's engine
# is followed the same way; an edge that policy does not
# permit secret.read answers 503 inject_unavailable (nginx: 500) and the
# broker holds a secret.read deny record; no value reaches the edge's
# state_dir or its log.
#
# Everything the edge learns in the background (the first fetch, a feed
# entry, a refetch) is polled for with a generous deadline; nothing is timed.
import pytest

from edge_e2e import (EDGE_ROLE, ORDER_ENTITIES, ORDER_POLICY, ORDER_SCOPE, Edge, Nginx, Upstream, allowed,
                      assert_refused, bearer, edge_broker, reason, until, upstream_headers)
from test_secret_rotation import fake_target, put_secret, read_value, rotate, set_target, wait_phase
from tollgate_e2e import Key, audit_records, unique, wait_for

SECRET = "vendor.api-key"
OTHER = "vendor.not-for-edges"
ROUTE = "GET /orders/{id} orders.read Order:{id} inject=Authorization:secret:%s"


@pytest.fixture(scope="module")
def pb(broker_factory):
    b = edge_broker(broker_factory, "edge-inject", ORDER_POLICY, entities=ORDER_ENTITIES)
    put(b, SECRET, "Bearer vendor-value-1")
    put(b, OTHER, "Bearer other-value-1")
    return b


def put(b, name, value):
    r = b.api("PUT", f"/v1/secrets/{name}", {"value": value})
    assert r.status_code in (200, 201), r.text


def make_edge(b, workdir, secret, permit):
    """An edge injecting secret; permit: policy lets it read that secret."""
    name = unique("edge")
    key = Key()
    ident = b.create_identity(ident_id=name, kind="edge", key=key, roles=[EDGE_ROLE],
                              permit=[f"secret.read@Secret:{secret}"] if permit else [])
    return Edge(b, workdir, [ROUTE % secret], name=name, ident=ident, key=key).start()


@pytest.fixture(scope="module")
def upstream():
    u = Upstream()
    yield u
    u.close()


@pytest.fixture(scope="module")
def edge(pb, tmp_path_factory):
    e = make_edge(pb, tmp_path_factory.mktemp("edges"), SECRET, permit=True)
    yield e
    e.stop()


@pytest.fixture(scope="module")
def nginx(edge, upstream, tmp_path_factory):
    p = Nginx(tmp_path_factory.mktemp("nginx"), edge, upstream).start()
    yield p
    p.stop()


def token(pb):
    return pb.issue(pb.create_identity(), ORDER_SCOPE)


def seen_authorization(r):
    return upstream_headers(r)["authorization"]


def no_value_in_edge_files(edge, *values):
    files = [p for p in edge.state_dir.rglob("*") if p.is_file()] + list(edge.dir.glob("edge-*.log"))
    assert files
    for p in files:
        data = p.read_bytes()
        for v in values:
            assert v.encode() not in data, f"the secret's value is in {p}"


def test_upstream_gets_the_secret_the_client_never_does(pb, edge, nginx):
    tok = token(pb)
    r = until("an allow through nginx", lambda: nginx.request("GET", "/orders/17", bearer(tok)), allowed)
    assert seen_authorization(r) == ["Bearer vendor-value-1"]
    assert tok not in str(upstream_headers(r))
    client_view = r.text.replace('"Bearer vendor-value-1"', "")  # the echo of what the upstream got
    assert "vendor-value-1" not in str(dict(r.headers)) and "vendor-value-1" not in client_view
    # the edge's own answer carries it only towards nginx
    direct = edge.auth("/orders/17", token=tok)
    assert direct.status_code == 200 and direct.headers["Authorization"] == "Bearer vendor-value-1"


def test_new_version_is_followed_without_a_failed_request(pb, edge, nginx):
    tok = token(pb)
    until("an allow through nginx", lambda: nginx.request("GET", "/orders/17", bearer(tok)), allowed)
    put(pb, SECRET, "Bearer vendor-value-2")
    answers = []

    def next_value():
        r = nginx.request("GET", "/orders/17", bearer(tok))
        answers.append(r.status_code)
        assert r.status_code == 200, f"a request failed during the rotation: {r.status_code} {reason(r)}"
        return seen_authorization(r)
    until("the upstream to see the new value", next_value, lambda v: v == ["Bearer vendor-value-2"])
    assert set(answers) == {200}
    assert "fetched" in edge.log_text() and "refreshed" in edge.log_text()
    no_value_in_edge_files(edge, "vendor-value-1", "vendor-value-2")


def test_deleted_secret_fails_closed_and_returns(pb, edge, nginx):
    tok = token(pb)
    until("an allow", lambda: edge.auth("/orders/17", token=tok), allowed)
    assert pb.api("DELETE", f"/v1/secrets/{SECRET}").status_code in (200, 204)
    r = until("the route to fail closed", lambda: edge.auth("/orders/17", token=tok), lambda r: r.status_code != 200)
    assert_refused(r, 503, "inject_unavailable")
    assert "Authorization" not in r.headers
    r = nginx.request("GET", "/orders/17", bearer(tok))  # nginx turns an auth answer other than 2xx/401/403 into 500
    assert r.status_code == 500 and reason(r) == "inject_unavailable", (r.status_code, dict(r.headers))
    put(pb, SECRET, "Bearer vendor-value-3")
    r = until("the route to come back", lambda: nginx.request("GET", "/orders/17", bearer(tok)), allowed)
    assert seen_authorization(r) == ["Bearer vendor-value-3"]
    no_value_in_edge_files(edge, "vendor-value-3")


def test_without_policy_the_route_fails_closed_and_the_broker_records_the_deny(pb, tmp_path_factory):
    e = make_edge(pb, tmp_path_factory.mktemp("unpermitted"), OTHER, permit=False)
    try:
        tok = token(pb)

        def denied_reads():
            return [a for a in audit_records(pb, type="secret.read")
                    if a.get("actor") == e.id and a.get("decision") == "deny" and a.get("resource") == f"Secret:{OTHER}"]
        wait_for("the broker's secret.read deny record of the edge", denied_reads, timeout=60)
        # the edge has synced (the workload is known) but holds no value: fail closed
        r = until("a decision past the token checks", lambda: e.auth("/orders/17", token=tok),
                  lambda r: reason(r) == "inject_unavailable")
        assert_refused(r, 503, "inject_unavailable")
        assert "Authorization" not in r.headers
        assert "refuses the edge secret.read" in e.log_text()
        no_value_in_edge_files(e, "other-value-1")
    finally:
        e.stop()


def test_a_rotation_is_followed_without_a_failed_request(pb, upstream, tmp_path, tmp_path_factory):
    # The broker's rotation engine (docs/secrets.md, Rotation) rotates a
    # vendor key at an exec target with a grace period; the edge refetches
    # on the feed's secret.rotated and the upstream sees the new key while
    # every request keeps succeeding.
    name = unique("vendor.rotated")
    put_secret(pb, name, "key-one", grace=30)
    target, state = fake_target(tmp_path, "key-one")
    set_target(pb, name, target)
    e = make_edge(pb, tmp_path_factory.mktemp("rotated"), name, permit=True)
    proxy = Nginx(tmp_path_factory.mktemp("nginx-rotated"), e, upstream).start()
    try:
        tok = token(pb)
        r = until("an allow through nginx", lambda: proxy.request("GET", "/orders/17", bearer(tok)), allowed)
        assert seen_authorization(r) == ["key-one"]
        rotate(pb, name)
        wait_phase(pb, name, lambda s: s["phase"] == "promoted", "the promotion")  # the grace period holds it there
        new = read_value(pb, name)
        assert new != "key-one"
        answers = []

        def next_value():
            r = proxy.request("GET", "/orders/17", bearer(tok))
            answers.append(r.status_code)
            assert r.status_code == 200, f"a request failed during the rotation: {r.status_code} {reason(r)}"
            return seen_authorization(r)
        until("the upstream to see the rotated key", next_value, lambda v: v == [new])
        assert set(answers) == {200}
        assert "secret.rotated" in [a["type"] for a in audit_records(pb) if a.get("resource") == f"Secret:{name}"]
        no_value_in_edge_files(e, "key-one", new)
    finally:
        proxy.stop()
        e.stop()
