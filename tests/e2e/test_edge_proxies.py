# test_edge_proxies.py - the edge behind real proxies (issue 10, "Tests with
# real peers"; docs/edge.md): a real nginx (auth_request) and a real Caddy
# (forward_auth), each started by the test on a free loopback port in front
# of a real upstream that echoes the headers it got, asking one real
# `tollgate edge run` synced from a real broker. Each test runs through
# both proxies: allowed (the upstream answers, holding the injected
# credential and the subject, never the client's token); denied by policy,
# scope not covering, no route (403); no token, expired, revoked between two
# requests (401); a DPoP-bound token with a fresh proof, a replayed proof, a
# proof by another key, and sent as Bearer; a JIT grant ended between two
# requests.
#
# Anything the edge learns from the feed (a new workload in the entities,
# an active grant, a revocation) is polled for with a generous deadline;
# nothing is timed.
import pytest

import test_grants as grants
import test_operators as ops
from edge_e2e import (ORDER_ENTITIES, ORDER_POLICY, ORDER_SCOPE, PROXIES, UPSTREAM_CREDENTIAL, Edge, Upstream,
                      allowed, assert_refused, bearer, dpop_headers, dpop_token, edge_broker, reason, refused,
                      revoke, until, upstream_headers)
from test_breakglass import open_glass
from tollgate_e2e import Key

ROUTES = [
    "GET /orders/{id} orders.read Order:{id} inject=Authorization:file:{cred}",
    "POST /orders orders.write Api:orders inject=Authorization:file:{cred}",
    "POST /deploy deploy.run Api:prod inject=Authorization:file:{cred}",
]


@pytest.fixture(scope="module")
def pb(broker_factory):
    """The module's broker: orders as entities, JIT grants (operators log in)."""
    return edge_broker(broker_factory, "edge-proxies", ORDER_POLICY + grants.POLICY, args=ops.FAST_HASH,
                       entities=ORDER_ENTITIES)


@pytest.fixture(scope="module")
def edge(pb, tmp_path_factory):
    e = Edge(pb, tmp_path_factory.mktemp("edges"), ROUTES).start()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def upstream():
    u = Upstream()
    yield u
    u.close()


@pytest.fixture(scope="module", params=sorted(PROXIES))
def proxy(request, edge, upstream, tmp_path_factory):
    p = PROXIES[request.param](tmp_path_factory.mktemp(request.param), edge, upstream).start()
    yield p
    p.stop()


def get(proxy, path, headers=None):
    return lambda: proxy.request("GET", path, headers)


def first_allowed(proxy, method, path, headers_fn, what):
    """The first answer that is an allow: the edge may not have synced the
    new workload (or its grant) yet. headers_fn() makes each try's headers."""
    return until(f"{what} through {proxy.name}", lambda: proxy.request(method, path, headers_fn()), allowed)


# ---- allowed and refused ----

def test_allowed_upstream_gets_the_injected_credential_not_the_token(pb, proxy):
    wl = pb.create_identity()
    tok = pb.issue(wl, ORDER_SCOPE)
    spoof = {"X-Tollgate-Subject": "someone-else"}
    r = first_allowed(proxy, "GET", "/orders/17", lambda: dict(bearer(tok), **spoof), "an allow")
    seen = upstream_headers(r)
    assert seen["authorization"] == [UPSTREAM_CREDENTIAL], seen
    assert seen["x-tollgate-subject"] == [wl.id], seen
    assert tok not in str(seen), "the workload's token reached the upstream"
    assert proxy.upstream.seen[-1]["path"] == "/orders/17"


def test_denied_by_policy_is_403(pb, proxy):
    wl = pb.create_identity()
    tok = pb.issue(wl, ORDER_SCOPE)
    first_allowed(proxy, "GET", "/orders/17", lambda: bearer(tok), "the workload known at the edge")
    n = len(proxy.upstream.seen)
    assert_refused(proxy.request("GET", "/orders/666", bearer(tok)), 403, "denied")
    assert len(proxy.upstream.seen) == n, "a refused request reached the upstream"


def test_scope_not_covering_is_403(pb, proxy):
    wl = pb.create_identity()
    tok = pb.issue(wl, ORDER_SCOPE)  # read only; the route needs orders.write
    first_allowed(proxy, "GET", "/orders/17", lambda: bearer(tok), "the workload known at the edge")
    r = proxy.request("POST", "/orders", bearer(tok), data=b"{}")
    assert_refused(r, 403, "not_covered")
    if proxy.name == "caddy":  # Caddy passes the edge's whole answer on
        assert 'error="insufficient_scope"' in r.headers["WWW-Authenticate"], r.headers


def test_no_route_is_403(pb, proxy):
    tok = pb.issue(pb.create_identity(), ORDER_SCOPE)
    for path in ("/", "/orders", "/admin/orders/17", "/orders/17/items"):
        assert_refused(proxy.request("GET", path, bearer(tok)), 403, "no_route")


def test_no_token_is_401(pb, proxy):
    n = len(proxy.upstream.seen)
    r = proxy.request("GET", "/orders/17")
    assert_refused(r, 401, "missing")
    assert r.headers["WWW-Authenticate"].startswith("Bearer "), r.headers
    assert len(proxy.upstream.seen) == n


def test_expired_token_is_401(pb, proxy):
    wl = pb.create_identity()
    tok = pb.issue(wl, ORDER_SCOPE, ttl=1)
    # The first answers may allow (until exp and the edge's clock_leeway of 1 s).
    r = until(f"the token to expire at {proxy.name}", get(proxy, "/orders/17", bearer(tok)),
              lambda r: reason(r) == "expired")
    assert_refused(r, 401, "expired")
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"], r.headers


def test_revoked_between_two_requests(pb, proxy):
    wl = pb.create_identity()
    tok = pb.issue(wl, ORDER_SCOPE)
    first_allowed(proxy, "GET", "/orders/17", lambda: bearer(tok), "an allow before the revocation")
    revoke(pb, tok)
    r = until(f"the revocation at {proxy.name}", get(proxy, "/orders/17", bearer(tok)), refused)
    assert_refused(r, 401, "revoked")
    assert_refused(proxy.request("GET", "/orders/17", bearer(tok)), 401, "revoked")


# ---- DPoP ----

def test_dpop_bound_token(pb, proxy):
    wl = pb.create_identity()
    tok, key = dpop_token(pb, wl, ORDER_SCOPE)
    url = proxy.url + "/orders/17"
    r = first_allowed(proxy, "GET", "/orders/17", lambda: dpop_headers(pb, tok, key, "GET", url), "a fresh proof")
    seen = upstream_headers(r)
    assert seen["authorization"] == [UPSTREAM_CREDENTIAL] and tok not in str(seen.get("authorization")), seen

    proof = dpop_headers(pb, tok, key, "GET", url)
    assert proxy.request("GET", "/orders/17", proof).status_code == 200
    replayed = proxy.request("GET", "/orders/17", proof)
    assert_refused(replayed, 401, "binding")
    assert replayed.headers["WWW-Authenticate"].startswith("DPoP "), replayed.headers

    other = dpop_headers(pb, tok, Key(), "GET", url)  # a proof by another key, as a thief would make
    assert_refused(proxy.request("GET", "/orders/17", other), 401, "binding")
    assert_refused(proxy.request("GET", "/orders/17", bearer(tok)), 401, "binding")
    as_bearer = dict(dpop_headers(pb, tok, key, "GET", url), Authorization=f"Bearer {tok}")
    assert_refused(proxy.request("GET", "/orders/17", as_bearer), 401, "binding")
    wrong_url = dpop_headers(pb, tok, key, "GET", proxy.url + "/orders/18")
    assert_refused(proxy.request("GET", "/orders/17", wrong_url), 401, "binding")
    # the token still works with a fresh proof of its own key
    assert proxy.request("GET", "/orders/17", dpop_headers(pb, tok, key, "GET", url)).status_code == 200


# ---- a JIT grant ----

def open_grant(b, wl, how):
    """An active grant for wl of grants.DEPLOY: approved by an operator, or
    opened as break-glass by an admin operator."""
    if how == "break_glass":
        return open_glass(b, grants.Op(b, roles=("admin",)), wl, scope=grants.DEPLOY)
    return grants.active_grant(b, wl, scope=grants.DEPLOY)


@pytest.mark.parametrize("how", ["approved", "break_glass"])
def test_grant_ended_between_two_requests(pb, proxy, how):
    wl = grants.deployer(pb)
    g = open_grant(pb, wl, how)
    assert g["state"] == "active", g
    tok = pb.issue(wl, grants.DEPLOY)

    def deploy():
        return proxy.request("POST", "/deploy", bearer(tok), data=b"go")
    r = until(f"the grant active at {proxy.name}", deploy, allowed)
    seen = upstream_headers(r)
    assert seen["authorization"] == [UPSTREAM_CREDENTIAL] and seen["x-tollgate-subject"] == [wl.id], seen
    if proxy.name == "nginx":  # Caddy's copy_headers is not given X-Tollgate-Grant (edge_e2e.Caddy)
        assert seen["x-tollgate-grant"] == [g["id"]], seen
    ended = grants.act(pb, g["id"], "end", body={"reason": "deployed"})
    assert ended.status_code == 200, ended.text
    assert_refused(until(f"the grant's end at {proxy.name}", deploy, refused), 401, "revoked")
