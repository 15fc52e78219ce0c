# test_edge_audit.py - POST /v1/edges/audit (src/broker/edge_audit_api.c,
# core/edge_audit.h): an edge ships the audit records of its decisions
# with its own DPoP-bound token, and they land in the central chain in
# edge_seq order, exactly once: with edge = the authenticated edge (never
# the body's), the sent members as sent and details plus edge_seq and
# edge_time; a batch sent again (whole, overlapping, or by several
# connections at once) records nothing twice; a gap is refused with 409
# naming the next edge_seq; a malformed batch with 400; callers that are
# not edges with 403; and the chain still verifies.
import hashlib
import json
import threading

import pytest

from tollgate_e2e import Key, assert_problem, audit_records, b64u, cli_env, run_cli, unique

EDGE_SCOPE = "edge.sync@Api:tollgate"
PATH = "/v1/edges/audit"


class Caller:
    """An identity's DPoP-bound access token, used at /v1 with a fresh proof
    per call (RFC 9449 §7: htm, htu = issuer + path, ath)."""

    def __init__(self, b, kind="edge", scope=EDGE_SCOPE):
        self.b = b
        self.ident = b.create_identity(ident_id=unique(kind), kind=kind, permit=[scope])
        self.dkey = Key()
        r = b.token(self.ident, scope, dpop=b.dpop_proof(self.dkey))
        assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
        self.token = r.json()["access_token"]
        self.ath = b64u(hashlib.sha256(self.token.encode()).digest())

    @property
    def id(self):
        return self.ident.id

    def post(self, body, raw=None, content_type="application/json"):
        proof = self.b.dpop_proof(self.dkey, htu=self.b.issuer + PATH, htm="POST", ath=self.ath)
        headers = {"Authorization": f"DPoP {self.token}", "DPoP": proof, "Content-Type": content_type}
        data = raw if raw is not None else json.dumps(body).encode()
        return self.b.http.post(self.b.url + PATH, data=data, headers=headers)

    def ship(self, records):
        r = self.post({"records": records})
        assert r.status_code == 200, r.text
        return r.json()["acknowledged"]


def record(edge_seq, allow=False, **members):
    seq = edge_seq
    r = {"edge_seq": seq, "time": "2026-01-02T03:04:05.%06dZ" % seq,
         "type": "authz.allow" if allow else "authz.deny", "decision": "allow" if allow else "deny",
         "actor": "svc-orders", "action": "orders.read", "resource": f"Order:{seq}", "jti": f"jti-{seq}",
         "grant": None, "src": "10.0.0.7", "policies": ["p-orders"] if allow else None,
         "details": {"reason": "policy" if allow else "not permitted", "method": "GET", "path": f"/orders/{seq}"}}
    r.update(members)
    return r


def records(first, last, **members):
    return [record(s, allow=s % 2 == 0, **members) for s in range(first, last + 1)]


def chain_of(b, edge_id):
    """The chain's records from this edge, in chain order."""
    return [r for r in audit_records(b, type="authz") if r["edge"] == edge_id]


@pytest.fixture(scope="module")
def b(broker_factory):
    return broker_factory()


def test_records_land_in_the_chain_as_sent(b):
    e = Caller(b)
    sent = records(1, 3)
    sent[1]["grant"] = "g-AAAAAAAAAAAAAAAAAAAAAA"
    assert e.ship(sent) == 3
    got = chain_of(b, e.id)
    assert [r["details"]["edge_seq"] for r in got] == [1, 2, 3]
    assert [r["seq"] for r in got] == sorted(r["seq"] for r in got)
    for s, r in zip(sent, got):
        assert r["edge"] == e.id
        for m in ("type", "decision", "actor", "action", "resource", "jti", "grant", "src"):
            assert r[m] == s[m], (m, r, s)
        assert r["policies"] == (s["policies"] or [])
        assert r["details"] == dict(s["details"], edge_seq=s["edge_seq"], edge_time=s["time"])
        assert r["time"] != s["time"]  # the chain's own time; the edge's is edge_time


def test_minimal_record(b):
    e = Caller(b)
    assert e.ship([{"edge_seq": 1, "time": "2026-01-02T03:04:05.000000Z", "type": "authz.deny",
                    "decision": "deny"}]) == 1
    [r] = chain_of(b, e.id)
    assert r["actor"] is None and r["resource"] is None and r["policies"] == []
    assert r["details"] == {"edge_seq": 1, "edge_time": "2026-01-02T03:04:05.000000Z"}


def test_sent_again_records_nothing_twice(b):
    e = Caller(b)
    assert e.ship(records(1, 3)) == 3
    assert e.ship(records(1, 3)) == 3        # the answer was lost: all skipped
    assert e.ship(records(2, 5)) == 5        # overlapping: 4 and 5 are new
    assert e.ship(records(5, 5)) == 5
    assert e.ship([]) == 5                   # an empty batch asks where the chain is
    assert e.ship(records(1, 1)) == 5        # far behind: the answer says where it is
    assert [r["details"]["edge_seq"] for r in chain_of(b, e.id)] == [1, 2, 3, 4, 5]


def test_gap_is_refused_naming_the_next_record(b):
    e = Caller(b)
    body = assert_problem(e.post({"records": records(2, 3)}), 409)
    assert body["expected_edge_seq"] == 1 and "edge_seq 1" in body["detail"], body
    assert chain_of(b, e.id) == []
    assert e.ship(records(1, 4)) == 4
    body = assert_problem(e.post({"records": records(6, 9)}), 409)
    assert body["expected_edge_seq"] == 5, body
    assert e.ship(records(5, 9)) == 9        # the edge sends again from there
    assert [r["details"]["edge_seq"] for r in chain_of(b, e.id)] == list(range(1, 10))


def test_each_edge_has_its_own_sequence(b):
    e1, e2 = Caller(b), Caller(b)
    assert e1.ship(records(1, 2)) == 2
    assert e2.ship(records(1, 3)) == 3
    assert e1.ship(records(3, 3)) == 3
    assert [r["details"]["edge_seq"] for r in chain_of(b, e1.id)] == [1, 2, 3]
    assert [r["details"]["edge_seq"] for r in chain_of(b, e2.id)] == [1, 2, 3]


def test_concurrent_batches_land_once_in_order(b):
    # Eight connections ship the same records at once, each from what it
    # last heard acknowledged (an edge resending while an earlier answer is
    # under way): every record lands exactly once, in edge_seq order.
    e = Caller(b)
    n, results = 200, []

    def ship():
        acked = 0
        while acked < n:
            r = e.post({"records": records(acked + 1, min(acked + 25, n))})
            if r.status_code != 200:
                results.append(r.text)
                return
            acked = r.json()["acknowledged"]
        results.append(acked)

    threads = [threading.Thread(target=ship) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [n] * 8, results
    assert [r["details"]["edge_seq"] for r in chain_of(b, e.id)] == list(range(1, n + 1))


@pytest.mark.parametrize("name,body,needle", [
    ("not records", {"recs": []}, "{\"records\": [...]}"),
    ("extra member", {"records": [], "edge": "x"}, "nothing else"),
    ("records not a list", {"records": {}}, "{\"records\": [...]}"),
    ("not in sequence", {"records": [record(1), record(3)]}, "records[1]: edge_seq must be 2"),
    ("repeated seq", {"records": [record(1), record(1)]}, "records[1]: edge_seq must be 2"),
    ("seq zero", {"records": [dict(record(1), edge_seq=0)]}, "records[0]: edge_seq"),
    ("seq a string", {"records": [dict(record(1), edge_seq="1")]}, "records[0]: edge_seq"),
    ("unknown type", {"records": [record(1, type="token.issued")]}, "records[0]: type"),
    ("decision not the type's", {"records": [record(1, decision="allow")]}, "records[0]: decision"),
    ("edge from the body", {"records": [record(1, edge="someone-else")]}, "unknown member \"edge\""),
    ("seq in the chain's", {"records": [record(1, seq=5)]}, "unknown member \"seq\""),
    ("time without microseconds", {"records": [record(1, time="2026-01-02T03:04:05Z")]}, "records[0]: time"),
    ("actor too long", {"records": [record(1, actor="a" * 129)]}, "records[0]: actor"),
    ("actor a number", {"records": [record(1, actor=7)]}, "records[0]: actor"),
    ("control character", {"records": [record(1, resource="Order:1\n")]}, "records[0]: resource"),
    ("policies not ids", {"records": [record(1, policies=[1])]}, "records[0]: policies[0]"),
    ("details not an object", {"records": [record(1, details=["x"])]}, "records[0]: details"),
    ("details claim edge_seq", {"records": [record(1, details={"edge_seq": 9})]}, "records[0]: details"),
    ("details with a real", {"records": [record(1, details={"score": 0.5})]}, "records[0]: details"),
])
def test_malformed_batch_is_refused(b, name, body, needle):
    e = Caller(b)
    problem = assert_problem(e.post(body), 400)
    assert needle in problem["detail"], (name, problem)
    assert chain_of(b, e.id) == []
    assert e.ship([]) == 0


def test_malformed_body(b):
    e = Caller(b)
    assert_problem(e.post(None, raw=b"{not json"), 400)
    assert_problem(e.post(None, raw=b"[]"), 400)
    assert_problem(e.post({"records": []}, content_type="text/plain"), 415)
    # above max_body (64 KiB): edges batch below it. (So is any body of
    # more than 1000 records, the batch bound: test_edge_audit.c checks it.)
    assert_problem(e.post({"records": records(1, 400)}), 413)
    assert e.ship([]) == 0


def test_only_edges(b):
    w = Caller(b, kind="workload", scope="orders.read@Api:orders")
    assert_problem(w.post({"records": records(1, 1)}), 403)
    assert_problem(b.api("POST", PATH, {"records": records(1, 1)}), 403)  # the admin token
    assert_problem(b.api("POST", PATH, {"records": []}, token=""), 401)
    assert [r for r in audit_records(b, type="authz") if r["actor"] == w.id] == []


def test_chain_verifies(b):
    e = Caller(b)
    assert e.ship(records(1, 50)) == 50
    p = run_cli(["audit", "verify"], env_extra=cli_env(b))
    assert p.returncode == 0 and p.stdout.startswith("ok: "), p.stdout + p.stderr
