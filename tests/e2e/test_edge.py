# test_edge.py - the edge without a proxy (issue 10, "Bad input" and the
# edge's half of "Tests with real peers"; docs/edge.md): real `tollgate
# edge run` processes synced from real brokers, asked at GET /auth with the
# headers nginx's auth_request sends (X-Original-Method, X-Original-URI).
#
# Bad input: an Authorization of 100 KB, 10,000 headers, a X-Forwarded-For
# longer than the edge reads (the edge answers or closes, never crashes,
# and /healthz is 200 after); garbage DPoP proofs, malformed tokens, two
# DPoP or Authorization headers (401); path traversal, encoded slashes and
# double slashes in X-Original-URI (403 no_route); X-Forwarded-For and
# X-Real-IP believed from a trusted proxy only (a policy on
# context.src_ip). Peers: three edges and `tollgate token revoke --wait
# --verify`; one edge stopped (--wait names it) and restarted (it catches
# up from state_dir and the feed); the broker killed (edges decide until
# max_stale, then privileged routes refuse as stale and /healthz is 503
# while stale=open routes answer; they recover by themselves once the
# broker is back, and ship the records of what they decided meanwhile); a
# state_dir file cut short (the edge starts from a snapshot); an edge
# restarted while the broker is down (it decides on state_dir).
#
# Every background event is polled for with a generous deadline; nothing
# is timed.
import json
import secrets
import socket

import pytest

from edge_e2e import (EVENT, ORDER_ENTITIES, ORDER_POLICY, ORDER_SCOPE, Edge, allowed, assert_refused, ath,
                      dpop_token, edge_broker, reason, refused, revoke, stop_all, until)
from tollgate_e2e import (SLOW, Key, audit_records, b64u, cli_env, jwt_parts, parse_metrics, run_cli, wait_for)

NET_ROLE = "net-reader"
NET_SCOPE = "net.read@Api:net"
# Issuance has no method in its context; at the edge, the client must come from 10.0.0.0/8.
NET_POLICY = f"""\
@id("net-from-10")
permit(principal in Role::"{NET_ROLE}", action == Action::"net.read", resource == Api::"net")
when {{ !(context has method) || context.src_ip.isInRange(ip("10.0.0.0/8")) }};
"""
ROUTES = ["GET /orders/{id} orders.read Order:{id}", "GET /net net.read Api:net"]
HOST = "app.test"  # X-Forwarded-Host: the DPoP proofs' htu is http://app.test/...
WAIT = str(30 * SLOW)  # --wait for a revocation every running edge acknowledges


@pytest.fixture(scope="module")
def db(broker_factory):
    return edge_broker(broker_factory, "edge-direct", ORDER_POLICY + NET_POLICY, entities=ORDER_ENTITIES)


@pytest.fixture(scope="module")
def edge(db, tmp_path_factory):
    """Trusts the default proxies (127.0.0.1, ::1)."""
    e = Edge(db, tmp_path_factory.mktemp("edges"), ROUTES).start()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def untrusting(db, tmp_path_factory):
    """Trusts no proxy: X-Forwarded-For and X-Real-IP are never read."""
    e = Edge(db, tmp_path_factory.mktemp("edges"), ROUTES, trusted_proxies="").start()
    yield e
    e.stop()


@pytest.fixture(scope="module")
def reader(db, edge):
    """(workload, token for ORDER_SCOPE, DPoP-bound token, its key), the
    workload known at the edge."""
    wl = db.create_identity(roles=[NET_ROLE])
    tok = db.issue(wl, ORDER_SCOPE)
    dtok, dkey = dpop_token(db, wl, ORDER_SCOPE)
    until("the workload known at the edge", lambda: edge.auth("/orders/17", token=tok), allowed)
    return wl, tok, dtok, dkey


def still_healthy(e):
    assert e.alive(), f"edge {e.name} exited:\n{e.log_text(last=True)[-5000:]}"
    assert e.healthz() == 200, e.log_text(last=True)[-3000:]


# ---- raw HTTP: what requests cannot send ----

def raw(e, head_lines, timeout=30 * SLOW):
    """Sends GET /auth with exactly these header lines on a new connection
    (Connection: close added) and returns the status the edge answered, or
    None when it closed without an answer."""
    req = "GET /auth HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    data = (req + "".join(l + "\r\n" for l in head_lines) + "\r\n").encode("latin-1")
    chunks = []
    with socket.create_connection(("127.0.0.1", e.port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the edge stopped reading: what did it say?
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    answer = b"".join(chunks)
    if not answer:
        return None
    status_line = answer.split(b"\r\n", 1)[0].split()
    assert status_line[0].startswith(b"HTTP/1."), answer[:200]
    return int(status_line[1])


def original(uri="/orders/17"):
    return ["X-Original-Method: GET", f"X-Original-URI: {uri}"]


# ---- hostile sizes ----

def test_authorization_of_100_kb(edge, reader):
    status = raw(edge, original() + ["Authorization: Bearer " + "A" * 100_000])
    assert status != 200, status
    still_healthy(edge)


def test_ten_thousand_headers(edge, reader):
    _, tok, _, _ = reader
    status = raw(edge, original() + [f"Authorization: Bearer {tok}"] + [f"X-Junk-{i}: {i}" for i in range(10_000)])
    assert status != 200, status
    still_healthy(edge)


def test_ten_thousand_dpop_headers(edge, reader):
    _, _, dtok, _ = reader
    status = raw(edge, original() + [f"Authorization: DPoP {dtok}"] + ["DPoP: x.y.z"] * 10_000)
    assert status != 200, status
    still_healthy(edge)


def test_long_x_original_uri(edge, reader):
    _, tok, _, _ = reader
    for n in (9_000, 60_000):
        assert edge.auth("/orders/" + "1" * n, token=tok).status_code in (400, 403, 413, 414, 431)
    still_healthy(edge)


def test_x_forwarded_for_longer_than_read_is_refused_not_truncated(edge, reader):
    # From a trusted proxy the edge reads every X-Forwarded-For field; past
    # what it keeps, the client address is unreadable: refused, never the
    # first entries alone.
    _, tok, _, _ = reader
    status = raw(edge, original() + [f"Authorization: Bearer {tok}"] + ["X-Forwarded-For: 10.1.2.3"] * 200)
    assert status == 400, status
    still_healthy(edge)


# ---- garbage DPoP proofs, malformed tokens ----

def unsigned(header, payload) -> str:
    return b64u(json.dumps(header).encode()) + "." + b64u(json.dumps(payload).encode())


def flip_tail(text) -> str:
    """text with its last four characters changed (a bad signature)."""
    return text[:-4] + ("AAAA" if not text.endswith("AAAA") else "BBBB")


def signed_bytes(key, signing_input) -> str:
    """A compact JWS of whatever signing_input holds, validly signed."""
    return signing_input + "." + b64u(key.priv.sign(signing_input.encode()))


def garbage_proofs(db, dtok, dkey, htu):
    """(name, DPoP header value): proofs for dtok that no edge may accept."""
    def proof(key=dkey, htm="GET", url=htu, token=dtok, **claims):
        return db.dpop_proof(key, htu=url, htm=htm, ath=ath(token) if token else None, **claims)
    header, payload = jwt_parts(proof())
    return [
        ("empty", ""),
        ("one word", "garbage"),
        ("dots", "a.b.c"),
        ("only dots", "...."),
        ("not base64", "!!!.@@@.###"),
        ("five parts", proof() + ".x.y"),
        ("alg none", unsigned(dict(header, alg="none"), payload) + "."),
        ("alg HS256", unsigned(dict(header, alg="HS256"), payload) + "." + b64u(b"\0" * 32)),
        ("typ JWT", proof(typ="JWT")),
        ("no jwk", dkey.sign_raw({k: v for k, v in header.items() if k != "jwk"}, payload)),
        ("private jwk", dkey.sign_raw(dict(header, jwk=dkey.private_jwk), payload)),
        ("signed by another key", proof(sign_key=Key())),
        ("bad signature", flip_tail(proof())),
        ("payload not JSON", signed_bytes(dkey, proof().split(".")[0] + "." + b64u(b"{not json"))),
        ("htm POST", proof(htm="POST")),
        ("htu elsewhere", proof(url="http://elsewhere.test/orders/17")),
        ("iat an hour old", proof(iat=payload["iat"] - 3600)),
        ("iat an hour ahead", proof(iat=payload["iat"] + 3600)),
        ("no jti", dkey.sign_raw(header, {k: v for k, v in payload.items() if k != "jti"})),
        ("no ath", proof(token=None)),
        ("ath of another token", proof(token="another-token")),
        ("20 KB", proof(pad="x" * 20_000)),
        ("latin-1 bytes", "\xff\xfe.\xfd.\xfc"),
    ]


def test_garbage_dpop_proofs_are_refused(db, edge, reader):
    _, _, dtok, dkey = reader
    htu = f"http://{HOST}/orders/17"

    def ask(proof):
        headers = {"Authorization": f"DPoP {dtok}", "DPoP": proof, "X-Forwarded-Host": HOST}
        return edge.auth("/orders/17", headers=headers)
    for name, proof in garbage_proofs(db, dtok, dkey, htu):
        r = ask(proof)
        assert r.status_code == 401 and reason(r) in ("malformed", "binding"), (name, r.status_code, dict(r.headers))
        assert r.headers["WWW-Authenticate"].startswith("DPoP "), (name, r.headers)
    assert ask(db.dpop_proof(dkey, htu=htu, htm="GET", ath=ath(dtok))).status_code == 200
    still_healthy(edge)


def malformed_tokens(tok):
    header, payload = jwt_parts(tok)
    h, p, sig = tok.split(".")
    longer = dict(payload, exp=payload["exp"] + 86400, scope="orders.read@Api:orders orders.write@Api:orders")
    forged = Key().sign_raw(header, payload)  # the broker's kid, another key
    return [
        "Bearer", "Bearer ", "Bearer a", "Bearer a.b", "Bearer a.b.c", "Bearer ....", "Bearer x y",
        "Bearer " + "A" * 9000, "Bearer " + ".".join(["A" * 3000] * 3), "Basic dXNlcjpwYXNz", "Token " + tok,
        "Bearer " + b64u(json.dumps(dict(header, alg="none")).encode()) + "." + p + ".",
        "Bearer " + h + "." + p + "." + flip_tail(sig),
        "Bearer " + h + "." + b64u(json.dumps(longer).encode()) + "." + sig,
        "Bearer " + forged,
        "Bearer " + tok + ".",
        "Bearer " + tok[:-1],
        "Bearer \xff\xfe\xfd",
        "Bearer " + b64u(b"\0" * 30) + "." + b64u(b"\0" * 30) + "." + b64u(b"\0" * 64),
    ]


def test_malformed_tokens_are_refused(db, edge, reader):
    _, tok, _, _ = reader
    for value in malformed_tokens(tok):
        r = edge.auth("/orders/17", headers={"Authorization": value})
        assert r.status_code == 401 and reason(r) in ("missing", "malformed", "invalid"), \
            (value[:80], r.status_code, dict(r.headers))
        assert r.headers["WWW-Authenticate"].startswith("Bearer "), r.headers
    # a token that is not DPoP-bound, sent as DPoP without a proof
    assert edge.auth("/orders/17", headers={"Authorization": f"DPoP {tok}"}).status_code == 401
    assert edge.auth("/orders/17", token=tok).status_code == 200
    still_healthy(edge)


def test_two_dpop_headers_or_two_authorizations(db, edge, reader):
    _, tok, dtok, dkey = reader
    htu = f"http://{HOST}/orders/17"

    def fresh():
        return db.dpop_proof(dkey, htu=htu, htm="GET", ath=ath(dtok))
    base = original() + [f"X-Forwarded-Host: {HOST}"]
    assert raw(edge, base + [f"Authorization: DPoP {dtok}", f"DPoP: {fresh()}", f"DPoP: {fresh()}"]) == 401
    assert raw(edge, base + [f"Authorization: Bearer {tok}", f"Authorization: Bearer {tok}"]) == 401
    assert raw(edge, base + [f"Authorization: DPoP {dtok}", f"DPoP: {fresh()}"]) == 200  # one of each
    still_healthy(edge)


# ---- the request target ----

@pytest.mark.parametrize("uri", [
    "/orders/../orders/17", "/orders/%2e%2e/orders/17", "/orders/%2E%2E", "/orders/17%2f..%2fadmin",
    "/orders/17%2F", "//orders/17", "/orders//17", "/orders/17/", "/orders/%252e%252e", "/orders/.",
    "/orders/./17", "/./orders/17", "/orders/..;/17", "/orders/%00", "/orders/17%5c..%5cadmin", "/orders/..%5c",
    "/orders/%", "/orders/%zz", "/ORDERS/17",
])
def test_path_tricks_match_no_route(edge, reader, uri):
    _, tok, _, _ = reader
    assert_refused(edge.auth(uri, token=tok), 403, "no_route")


def test_query_is_not_part_of_the_path(edge, reader):
    _, tok, _, _ = reader
    assert edge.auth("/orders/17?next=/../admin", token=tok).status_code == 200
    assert_refused(edge.auth("/orders/666?id=17", token=tok), 403, "denied")


def test_probe_never_allows(edge, reader):
    # What --verify sends: a credential that is not revoked is refused as a
    # probe; a client's own X-Tollgate-Probe on a route gets no allow either.
    _, tok, _, _ = reader
    assert_refused(edge.probe(tok), 403, "probe")
    assert_refused(edge.auth("/orders/17", token=tok, headers={"X-Tollgate-Probe": "1"}), 403, "probe")


def test_records_carry_the_clients_user_agent(db, edge, reader):
    # The monitor tells a browser from a machine by it (interactive_use):
    # the first 255 bytes, as UTF-8 with '?' for what is not.
    _, tok, _, _ = reader
    tag = secrets.token_hex(4)
    browser = f"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 {tag} " + "x" * 400
    for ua in (browser, f"curl/7.88 {tag}\x01"):
        r = edge.auth("/orders/17", token=tok, headers={"User-Agent": ua})
        assert r.status_code == 200, r.headers

    def shipped():
        got = {x["details"].get("user_agent") for x in audit_records(db, type="authz.allow")
               if x.get("edge") == edge.id and tag in (x["details"].get("user_agent") or "")}
        return got if len(got) == 2 else None
    got = wait_for("both records in the chain", shipped, timeout=15 * SLOW)
    assert got == {browser[:255], f"curl/7.88 {tag}?"}, got


# ---- the client address ----

def test_forwarded_for_believed_from_trusted_proxies_only(db, edge, untrusting):
    wl = db.create_identity(roles=[NET_ROLE])  # and the e2e role: orders.read
    tok = db.issue(wl, f"{NET_SCOPE} {ORDER_SCOPE}")
    for e in (edge, untrusting):  # both know the workload
        until(f"the workload known at {e.name}", lambda: e.auth("/orders/17", token=tok), allowed)
    from_10 = [{"X-Forwarded-For": "10.1.2.3"}, {"X-Real-IP": "10.1.2.3"}, {"X-Forwarded-For": "192.0.2.9, 10.1.2.3"}]

    # The edge trusting 127.0.0.1: the proxy's word is the client address.
    for h in from_10:
        assert edge.auth("/net", token=tok, headers=h).status_code == 200, h
    assert_refused(edge.auth("/net", token=tok), 403, "denied")  # 127.0.0.1 itself
    assert_refused(edge.auth("/net", token=tok, headers={"X-Forwarded-For": "10.1.2.3, 192.0.2.9"}), 403, "denied")
    assert edge.auth("/net", token=tok, headers={"X-Forwarded-For": "not-an-address"}).status_code == 400

    # The edge trusting no proxy: the same headers from 127.0.0.1 change nothing.
    for h in from_10 + [{"X-Forwarded-For": "not-an-address"}]:
        assert_refused(untrusting.auth("/net", token=tok, headers=h), 403, "denied")


# ---- three edges and `tollgate token revoke --wait --verify` ----

def cli(b, *args):
    return run_cli(list(args), env_extra=cli_env(b))


def line_of(text, *words):
    return next((l for l in text.splitlines() if all(w in l for w in words)), None)


def live_edges(b):
    r = b.api("GET", "/v1/edges")
    assert r.status_code == 200, r.text
    return {e["id"] for e in r.json()["edges"] if e["live"]}


def test_three_edges_revoke_wait_verify_stop_and_catch_up(broker_factory, tmp_path):
    # edge_timeout 60: a stopped edge stays live, so --wait waits for it.
    b = edge_broker(broker_factory, "three-edges", ORDER_POLICY, args=["--set", "edge_timeout=60"],
                    entities=ORDER_ENTITIES)
    edges = [Edge(b, tmp_path, ROUTES) for _ in range(3)]
    try:
        for e in edges:
            e.start()
        wait_for("three live edges", lambda: live_edges(b) >= {e.id for e in edges}, timeout=EVENT)
        wl = b.create_identity()
        tok = b.issue(wl, ORDER_SCOPE)
        for e in edges:
            until(f"{e.name} to know the workload", lambda: e.auth("/orders/17", token=tok), allowed)

        p = cli(b, "token", "revoke", tok, "--wait", WAIT, "--verify")
        assert p.returncode == 0, p.stdout + p.stderr
        for e in edges:
            assert line_of(p.stdout, e.id, "acknowledged in"), p.stdout
            assert line_of(p.stdout, e.id, "refused (revoked)"), p.stdout
        assert "revocation enforced at 3 of 3 live edges" in p.stdout, p.stdout
        assert tok not in p.stdout + p.stderr
        for e in edges:  # refused at once: the edge acknowledged what it applied
            assert_refused(e.auth("/orders/17", token=tok), 401, "revoked")
            assert_refused(e.probe(tok), 401, "revoked")

        # One edge stopped: --wait times out naming it (it is still live).
        down, up = edges[2], edges[:2]
        down.stop()
        tok2 = b.issue(wl, ORDER_SCOPE)
        p = cli(b, "token", "revoke", tok2, "--wait", "3")
        assert p.returncode == 3, p.stdout + p.stderr
        assert "NOT acknowledged" in (line_of(p.stdout, down.id) or ""), p.stdout
        assert down.id in p.stderr and not any(e.id in p.stderr for e in up), p.stderr
        for e in up:
            assert_refused(e.auth("/orders/17", token=tok2), 401, "revoked")

        # Restarted, it decides on state_dir (tok) and catches up from the feed (tok2).
        down.start()
        assert "state loaded from state_dir" in down.log_text(last=True)
        assert_refused(down.auth("/orders/17", token=tok), 401, "revoked")
        r = until("the restarted edge to catch up", lambda: down.auth("/orders/17", token=tok2), refused)
        assert_refused(r, 401, "revoked")
        p = cli(b, "token", "revoke", tok2, "--wait", WAIT, "--verify")
        assert p.returncode == 0, p.stdout + p.stderr
        assert "revocation enforced at 3 of 3 live edges" in p.stdout, p.stdout
    finally:
        stop_all(edges)


# ---- the broker gone ----

STALE = 3 * SLOW  # max_stale of the edges below


def test_broker_killed_edge_decides_until_max_stale_then_fails_closed(broker_factory, tmp_path):
    b = edge_broker(broker_factory, "broker-killed", ORDER_POLICY, entities=ORDER_ENTITIES)
    e = Edge(b, tmp_path, ["GET /orders/{id} orders.read Order:{id}",
                           "GET /catalog orders.read Api:orders stale=open"], max_stale=STALE, poll_wait=1)
    e.start()
    try:
        wl = b.create_identity()
        tok, gone = b.issue(wl, ORDER_SCOPE), b.issue(wl, ORDER_SCOPE)
        revoke(b, gone)
        until("an allow", lambda: e.auth("/orders/17", token=tok), allowed)
        until("the revocation", lambda: e.auth("/catalog", token=gone), refused)

        b.kill()
        r = e.auth("/orders/17", token=tok)
        if r.status_code != 200:  # only once the edge has been without the broker for max_stale
            assert_refused(r, 403, "stale")
            assert e.health()["last_sync_age_s"] >= STALE
        until("/healthz to say stale", lambda: e.healthz(), lambda s: s == 503)
        assert e.health()["stale"] is True
        metrics = parse_metrics(e.http.get(e.url + "/metrics").text)
        assert metrics["tollgate_edge_stale"] == 1, metrics
        assert_refused(e.auth("/orders/17", token=tok), 403, "stale")  # privileged: fails closed
        assert e.auth("/catalog", token=tok).status_code == 200      # stale=open: the last good state
        assert_refused(e.auth("/catalog", token=gone), 401, "revoked")

        b.start()
        until("the edge to recover", lambda: e.healthz(), lambda s: s == 200)
        until("an allow again", lambda: e.auth("/orders/17", token=tok), allowed)
        assert parse_metrics(e.http.get(e.url + "/metrics").text)["tollgate_edge_stale"] == 0

        # What it decided while the broker was away reaches the chain.
        until("the spool to drain", lambda: e.health(), lambda h: h["audit_backlog"] == 0)
        stale = [x for x in audit_records(b, type="authz.deny") if x.get("edge") == e.id
                 and (x.get("details") or {}).get("reason") == "stale"]
        assert stale, "no stale refusal of the edge in the central chain"
    finally:
        e.stop()


@pytest.mark.parametrize("name", ["state.json", "jwks.json", "policy.json", "entities.json"])
def test_state_file_cut_short_starts_from_a_snapshot(db, tmp_path, name):
    e = Edge(db, tmp_path, ROUTES).start()
    try:
        wl = db.create_identity()
        tok, gone = db.issue(wl, ORDER_SCOPE), db.issue(wl, ORDER_SCOPE)
        revoke(db, gone)
        until("an allow", lambda: e.auth("/orders/17", token=tok), allowed)
        until("the revocation", lambda: e.auth("/orders/17", token=gone), refused)
        e.stop()
        path = e.state_dir / name
        text = path.read_bytes()
        path.write_bytes(text[:len(text) // 2])
        e.start()
        assert "starting from a snapshot" in e.log_text(last=True)
        until("an allow", lambda: e.auth("/orders/17", token=tok), allowed)
        assert_refused(e.auth("/orders/17", token=gone), 401, "revoked")
        wait_for(f"{name} written whole again", lambda: parses(path), timeout=EVENT)
    finally:
        e.stop()


def parses(path):
    try:
        json.loads(path.read_bytes())
        return True
    except ValueError:
        return False


def test_edge_restarted_while_broker_down_decides_on_state_dir(broker_factory, tmp_path):
    b = edge_broker(broker_factory, "restart-broker-down", ORDER_POLICY, entities=ORDER_ENTITIES)
    e = Edge(b, tmp_path, ROUTES, max_stale=60 * SLOW).start()
    try:
        wl = b.create_identity()
        tok, gone = b.issue(wl, ORDER_SCOPE), b.issue(wl, ORDER_SCOPE)
        revoke(b, gone)
        until("an allow", lambda: e.auth("/orders/17", token=tok), allowed)
        until("the revocation", lambda: e.auth("/orders/17", token=gone), refused)
        b.kill()
        e.restart()  # /healthz 200: state_dir is fresh
        assert "state loaded from state_dir" in e.log_text(last=True)
        assert e.auth("/orders/17", token=tok).status_code == 200
        assert_refused(e.auth("/orders/17", token=gone), 401, "revoked")
        assert_refused(e.auth("/orders/666", token=tok), 403, "denied")  # the policy from state_dir

        b.start()  # the edge finds it again by itself
        revoke(b, tok)
        r = until("the revocation after the broker came back", lambda: e.auth("/orders/17", token=tok), refused)
        assert_refused(r, 401, "revoked")
    finally:
        e.stop()
