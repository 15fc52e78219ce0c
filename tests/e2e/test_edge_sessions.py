# test_edge_sessions.py - the operator view of live Modbus sessions (issue 11,
# docs/edge.md "Operator view"): a real edge in front of a real pymodbus
# server reports its sessions (PUT /v1/edges/self/sessions); `tollgate edge
# sessions` and GET /v1/edges/sessions show who is connected with which
# grant and what each connection did; `tollgate edge kill SESSION` records
# edge.session_kill (a feed entry), and the edge closes that connection
# (and only that one), records modbus.session_killed and reports again.
# Also: who may list and kill, and the broker refusing bad reports.
import hashlib
import json
import socket
import struct

import pytest

import test_operators as ops
from edge_e2e import EVENT, edge_broker, stop_all
from test_grants import Op
from test_modbus_proxy import (DEVICE, ENTITIES, IO, POLICY, Device, ModbusEdge, adu, admitted, closed_at_once,
                               exception_code, grant, read_hr, recv_adu, write_regs)
from tollgate_e2e import Key, assert_problem, audit_records, b64u, cli_env, run_cli, unique, wait_for

EDGE_SCOPE = "edge.sync@Api:tollgate"
REPORT = "/v1/edges/self/sessions"


@pytest.fixture(scope="module")
def setup(broker_factory, tmp_path_factory):
    b = edge_broker(broker_factory, name="sessions", extra_policy=POLICY, args=ops.FAST_HASH, entities=ENTITIES)
    device = Device()
    edge = ModbusEdge(b, tmp_path_factory.mktemp("sessions"), device).start()
    yield b, device, edge
    stop_all([edge])


def cli(b, *args, token=None):
    env = cli_env(b)
    if token is not None:
        env["TOLLGATE_TOKEN"] = token
    return run_cli(list(args), env_extra=env)


def sessions(b, edge=None, token=None):
    r = b.api("GET", "/v1/edges/sessions", params={"edge": edge} if edge else None, token=token)
    assert r.status_code == 200, r.text
    return r.json()


def session_of(b, edge, pred, what):
    """The first session of edge's report for which pred holds, polled for."""
    return wait_for(what, lambda: next((s for s in sessions(b, edge.id)["sessions"] if pred(s)), None),
                    timeout=EVENT, interval=0.2)


def read_ok(s, tid, address=0, count=1):
    s.sendall(adu(tid, 1, read_hr(address, count)))
    r = recv_adu(s)
    assert r[7] == 3, r.hex()
    return r


def test_two_clients_listed_with_counts_and_one_killed(setup):
    b, device, edge = setup
    ident, g = grant(b)
    c1, c2 = admitted(edge), admitted(edge)  # each has one read allowed (its admission probe)
    try:
        read_ok(c1, 2)
        read_ok(c1, 3, 10, 2)
        # a write outside registers 100..109: denied by policy (0x02)
        c1.sendall(adu(4, 1, write_regs(0, [1])))
        assert exception_code(recv_adu(c1), 16) == 0x02
        read_ok(c2, 2)

        def counted(allowed, denied):
            return lambda s: s["identity"] == ident.id and s["allowed"] == allowed and s["denied"] == denied
        s1 = session_of(b, edge, counted(3, 1), "client 1's session with 3 reads allowed, 1 write denied")
        s2 = session_of(b, edge, counted(2, 0), "client 2's session with 2 reads allowed")
        for s in (s1, s2):
            assert s["edge"] == edge.id and s["grant"] == g["id"] and s["device"] == DEVICE, s
            assert s["src"] == "127.0.0.1" and s["listener"] == f"127.0.0.1:{edge.mb_port}", s
            assert s["id"].startswith("ms-") and len(s["id"]) == 19 and not s["stale"], s
            assert s["connected_at"] <= s["last_activity"], s
        assert s1["id"] != s2["id"]
        report = next(e for e in sessions(b)["edges"] if e["id"] == edge.id)
        assert report["live"] and not report["stale"] and report["total"] >= 2, report

        # the table names both sessions
        p = cli(b, "edge", "sessions")
        assert p.returncode == 0, p.stderr
        for s in (s1, s2):
            assert any(s["id"] in line and ident.id in line for line in p.stdout.splitlines()), p.stdout

        # kill client 1's session: found on its edge, waited for
        p = cli(b, "edge", "kill", s1["id"], "--reason", "HMI stuck in a write loop", "--wait", "60")
        assert p.returncode == 0, (p.stdout, p.stderr)
        answer = json.loads(p.stdout)
        assert answer["edge"] == edge.id and answer["session"] == s1["id"], answer
        assert "closed at edge" in p.stderr, p.stderr
        c1.settimeout(IO)
        assert closed_at_once(c1)
        assert s1["id"] not in {s["id"] for s in sessions(b, edge.id)["sessions"]}
        # the other connection still works
        read_ok(c2, 5)
        assert s2["id"] in {s["id"] for s in sessions(b, edge.id)["sessions"]}

        # both records: the operator's kill and the edge's closing
        kills = audit_records(b, type="edge.session_kill")
        k = next(r for r in kills if r["resource"] == f"Session:{s1['id']}")
        assert k["actor"] == "admin" and k["edge"] == edge.id and k["grant"] == g["id"], k
        assert k["details"]["reason"] == "HMI stuck in a write loop", k

        def edge_record():
            return [r for r in audit_records(b, type="authz.deny") if r["edge"] == edge.id
                    and r["action"] == "modbus.session_killed" and r["details"].get("session") == s1["id"]]
        rec = wait_for("the edge's modbus.session_killed record", edge_record, timeout=EVENT, interval=0.5)[0]
        assert rec["actor"] == ident.id and rec["resource"] == DEVICE, rec
        assert rec["details"]["kill_reason"] == "HMI stuck in a write loop", rec
        # the kill is a feed entry the edge acknowledged like any revocation
        r = b.api("GET", "/v1/feed/enforced", params={"seq": k["seq"], "wait": 30})
        assert r.status_code == 200 and r.json()["enforced"], r.text
    finally:
        c1.close()
        c2.close()


def test_kill_unknown_session_or_edge_is_404(setup):
    b, device, edge = setup
    s = admitted(edge)
    try:
        live = session_of(b, edge, lambda x: True, "a session")
        assert_problem(b.api("POST", "/v1/edges/sessions/ms-AAAAAAAAAAAAAAAA/kill", {}), 404)
        assert_problem(b.api("POST", "/v1/edges/sessions/not-a-session/kill", {}), 404)
        assert_problem(b.api("POST", f"/v1/edges/sessions/{live['id']}/kill", {"edge": "no-such-edge"}), 404)
        assert_problem(b.api("GET", "/v1/edges/sessions", params={"edge": "no-such-edge"}), 404)
        p = cli(b, "edge", "kill", "ms-AAAAAAAAAAAAAAAA")
        assert p.returncode == 1 and "no edge reports session" in p.stderr, p.stderr
        p = cli(b, "edge", "kill", "bogus")
        assert p.returncode == 2 and "not a session id" in p.stderr, p.stderr
        # the session is untouched
        read_ok(s, 9)
    finally:
        s.close()


@pytest.mark.parametrize("body", [
    [], "x", {"edge": 5}, {"reason": ""}, {"reason": 7}, {"reason": "r" * 501}, {"edge": "e" * 129},
    {"edge": "x", "other": 1},
])
def test_kill_bad_input(setup, body):
    b, device, edge = setup
    r = b.api("POST", "/v1/edges/sessions/ms-AAAAAAAAAAAAAAAA/kill", body)
    assert_problem(r, 400)


def test_kill_not_json(setup):
    b, device, edge = setup
    r = b.api("POST", "/v1/edges/sessions/ms-AAAAAAAAAAAAAAAA/kill", data=b"{",
              headers={"Content-Type": "application/json"})
    assert_problem(r, 400)
    r = b.api("POST", "/v1/edges/sessions/ms-AAAAAAAAAAAAAAAA/kill", data=b"reason=x",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(r, 415)
    assert_problem(b.api("GET", "/v1/edges/sessions", params={"edge": "e" * 129}), 400)


def test_auditor_lists_but_may_not_kill(setup):
    b, device, edge = setup
    auditor = Op(b, roles=("auditor",))
    approver = Op(b, roles=("approver",))
    s = admitted(edge)
    try:
        live = session_of(b, edge, lambda x: True, "a session")
        assert sessions(b, token=auditor.token)["sessions"]
        p = cli(b, "edge", "sessions", "--json", token=auditor.token)
        assert p.returncode == 0 and json.loads(p.stdout)["sessions"], p.stderr
        for token in (auditor.token, approver.token):
            assert_problem(b.api("POST", f"/v1/edges/sessions/{live['id']}/kill", {}, token=token), 403)
        assert_problem(b.api("GET", "/v1/edges/sessions", token=approver.token), 403)
        read_ok(s, 11)
    finally:
        s.close()


# ---- what edges report ----

class EdgeCaller:
    """An identity's DPoP-bound access token at /v1, a fresh proof per call."""

    def __init__(self, b, kind="edge"):
        self.b = b
        self.ident = b.create_identity(ident_id=unique(kind), kind=kind, permit=[EDGE_SCOPE])
        self.dkey = Key()
        r = b.token(self.ident, EDGE_SCOPE, dpop=b.dpop_proof(self.dkey))
        assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
        self.token = r.json()["access_token"]
        self.ath = b64u(hashlib.sha256(self.token.encode()).digest())

    def call(self, method, path, data=b"", content_type="application/json"):
        proof = self.b.dpop_proof(self.dkey, htu=self.b.issuer + path.split("?")[0], htm=method, ath=self.ath)
        headers = {"Authorization": f"DPoP {self.token}", "DPoP": proof, "Content-Type": content_type}
        return self.b.http.request(method, self.b.url + path, data=data, headers=headers)

    def report(self, body, **kw):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.call("PUT", REPORT, data, **kw)


ROW = {"id": "ms-0123456789abcdef", "listener": "127.0.0.1:1502", "device": "Device:plc-9", "src": "10.0.0.7",
       "identity": "hmi-1", "grant": "g-x", "since": 1700000000000, "last": 1700000001000, "allowed": 3,
       "denied": 1}


def test_edge_report_shows_up_and_replaces_the_last(setup):
    b, device, edge = setup
    e = EdgeCaller(b)
    r = e.report({"total": 1, "sessions": [ROW]})
    assert r.status_code == 200 and r.json() == {"accepted": 1}, r.text
    a = sessions(b, e.ident.id)
    assert [s["id"] for s in a["sessions"]] == [ROW["id"]], a
    s = a["sessions"][0]
    assert s["edge"] == e.ident.id and s["allowed"] == 3 and s["denied"] == 1, s
    assert s["connected_at"].startswith("2023-11-14T22:13:20"), s
    # this edge never polled the feed: not live, so its report is stale
    rep = a["edges"][0]
    assert rep["id"] == e.ident.id and not rep["live"] and rep["stale"] and s["stale"], a
    p = cli(b, "edge", "sessions", "--edge", e.ident.id)
    assert p.returncode == 0 and "stale report" in p.stdout, p.stdout
    # a kill reaches a stale edge's session too (it gets it when it polls)
    r = b.api("POST", f"/v1/edges/sessions/{ROW['id']}/kill", {"reason": "test"})
    assert r.status_code == 202 and r.json()["edge"] == e.ident.id, r.text
    # the next report replaces the last
    assert e.report({"total": 0, "sessions": []}).status_code == 200
    assert sessions(b, e.ident.id)["sessions"] == []
    # more sessions than fit: total says so
    assert e.report({"total": 9, "sessions": [ROW]}).status_code == 200
    assert sessions(b, e.ident.id)["edges"][0]["total"] == 9


def bad_reports():
    def row(**kw):
        return dict(ROW, **kw)
    yield {"sessions": [ROW]}                                   # no total
    yield {"total": 0, "sessions": [ROW]}                       # total below the rows
    yield {"total": 1}                                          # no sessions
    yield {"total": 1, "sessions": {}}
    yield {"total": 1, "sessions": [ROW], "extra": 1}
    yield {"total": 1, "sessions": [dict(ROW, extra=1)]}
    yield {"total": 1, "sessions": [5]}
    yield {"total": 2, "sessions": [ROW, ROW]}                  # an id twice
    for k in ("id", "listener", "device", "src", "identity", "grant", "since", "last", "allowed", "denied"):
        r = dict(ROW)
        del r[k]
        yield {"total": 1, "sessions": [r]}
    for k in ("id", "listener", "device", "src", "identity", "grant"):
        yield {"total": 1, "sessions": [row(**{k: 7})]}
        yield {"total": 1, "sessions": [row(**{k: "x" * 600})]}
        yield {"total": 1, "sessions": [row(**{k: "a\nb"})]}
    for k in ("since", "last", "allowed", "denied"):
        yield {"total": 1, "sessions": [row(**{k: -1})]}
        yield {"total": 1, "sessions": [row(**{k: "1"})]}
        yield {"total": 1, "sessions": [row(**{k: 1.5})]}
    yield {"total": 1, "sessions": [row(id="ms-short")]}
    yield {"total": 1, "sessions": [row(id="xx-0123456789abcdef")]}
    yield {"total": 1, "sessions": [row(id="ms-0123456789abcde!")]}
    yield {"total": 513, "sessions": [row(id="ms-%016d" % i) for i in range(513)]}


@pytest.mark.parametrize("body", list(bad_reports()))
def test_bad_reports_refused(setup, body):
    b, device, edge = setup
    e = EdgeCaller(b)
    data = json.dumps(body).encode()
    assert_problem(e.report(data), 413 if len(data) > 64 * 1024 else 400)


def test_malformed_and_oversized_reports_refused(setup):
    b, device, edge = setup
    e = EdgeCaller(b)
    assert_problem(e.report(b"{"), 400)
    assert_problem(e.report(b""), 400)
    assert_problem(e.report(b"[]"), 400)
    assert_problem(e.report(b'{"total": 1, "total": 1, "sessions": []}'), 400)
    assert_problem(e.report(b'{"total": 0, "sessions": []}', content_type="text/plain"), 415)
    # between the report's bound (48 KiB) and the broker's max_body: 413 too
    pad = {"total": 0, "sessions": [], "pad": "x" * (50 * 1024)}
    assert_problem(e.report(pad), 413)
    assert_problem(e.report(b"{" + b" " * (70 * 1024) + b"}"), 413)
    # nothing of that replaced a report
    assert_problem(b.api("GET", "/v1/edges/sessions", params={"edge": e.ident.id}), 404)


def test_only_edges_report_and_workloads_may_not_list(setup):
    b, device, edge = setup
    w = EdgeCaller(b, kind="workload")
    assert_problem(w.report({"total": 0, "sessions": []}), 403)
    assert_problem(w.call("GET", "/v1/edges/sessions"), 403)
    assert_problem(w.call("POST", "/v1/edges/sessions/ms-AAAAAAAAAAAAAAAA/kill", b"{}"), 403)
    # an edge may not list or kill either
    e = EdgeCaller(b)
    assert_problem(e.call("GET", "/v1/edges/sessions"), 403)
    assert_problem(e.call("POST", "/v1/edges/sessions/ms-AAAAAAAAAAAAAAAA/kill", b"{}"), 403)
    # and the admin has no sessions to report
    assert_problem(b.api("PUT", REPORT, {"total": 0, "sessions": []}), 403)


def test_cli_help_and_usage(setup):
    b, device, edge = setup
    for verb in ("sessions", "kill"):
        p = cli(b, "edge", verb, "--help")
        assert p.returncode == 0 and p.stdout.startswith(f"Usage: tollgate edge {verb}"), p.stdout
    p = cli(b, "edge", "--help")
    assert "sessions [--edge ID]" in p.stdout and "kill SESSION" in p.stdout, p.stdout
    p = cli(b, "edge", "kill")
    assert p.returncode == 2, p.stderr
    p = cli(b, "edge", "kill", "ms-AAAAAAAAAAAAAAAA", "--wait", "x")
    assert p.returncode == 2, p.stderr
    p = cli(b, "edge", "sessions", "extra")
    assert p.returncode == 2, p.stderr
