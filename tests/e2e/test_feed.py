# test_feed.py - the revocation feed end to end (docs/edge.md, Feed; issue
# 10) against real brokers: identities of kind "edge" long-poll GET /v1/feed
# with their own access tokens. The snapshot an edge starting from nothing
# gets (revoked unexpired tokens, suspended and offboarded identities,
# active grants); a held poll answered soon after each kind of change with
# exactly that entry, or empty when nothing changed; `since` as the edge's
# acknowledgement in GET /v1/edges and in GET /v1/feed/enforced (pending,
# then enforced with a propagation time; an edge silent for edge_timeout is
# stale and stops blocking); bad input and access; fifty held polls on one
# revoke with /healthz answering meanwhile; a stop with polls held; the
# edges kept across restarts (saved every 5 s and at stop).
#
# Timing: a held poll must return before its wait ran out (the broker holds
# it until a change or the wait), and a quiet one not before; nothing else
# is timed, and every background event is polled for.
import sqlite3
import time
from datetime import datetime, timezone
from concurrent.futures import ThreadPoolExecutor

import pytest

import test_grants as grants
import test_operators as ops
from tollgate_e2e import E2E_POLICY, SLOW, assert_problem, audit_records, session, unique, wait_for

EDGE_SCOPE = "edge.sync@Api:tollgate"
EDGE_ROLE = "feed-edge"
POLICY = (E2E_POLICY + grants.POLICY +
          f'permit(principal in Role::"{EDGE_ROLE}", action == Action::"edge.sync", resource == Api::"tollgate");\n')
WAIT = 10  # a held poll's wait (s): the change must answer it before this
ANSWERED = 60 * SLOW  # how long the client waits for any answer
STALE_ARGS = ["--set", "edge_timeout=5", "--set", "feed_max_wait=2"]
ENTITIES = [{"uid": {"type": "Zone", "id": "line-3"}, "attrs": {"site": "plant-1"}, "parents": []}]


@pytest.fixture(scope="module")
def fb(broker_factory):
    """The module's broker: edges, workloads, grants (operators log in)."""
    return broker_factory(args=ops.FAST_HASH, name="feed", policy=POLICY)


class Edge:
    """An identity of kind "edge" with its own access token. Each request
    uses its own connection, so that polls may run in threads."""

    def __init__(self, b, ident=None):
        self.b = b
        self.ident = ident or b.create_identity(kind="edge", permit=[], roles=[EDGE_ROLE])
        self.id = self.ident.id
        self.token = b.issue(self.ident, EDGE_SCOPE)

    def get(self, path, **params):
        with session() as s:
            return s.get(self.b.url + path, params=params, headers={"Authorization": f"Bearer {self.token}"},
                         timeout=ANSWERED)

    def poll(self, since, **params) -> dict:
        r = self.get("/v1/feed", since=since, **params)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/json"), r.headers
        return r.json()

    def held(self, since, wait=WAIT):
        """A poll at since held by the broker (started in a thread; returns
        once the broker has it). result() -> (answer, seconds taken)."""
        tag = unique("p")  # this poll's version, to see it arrive
        pool = ThreadPoolExecutor(1)

        def run():
            t0 = time.monotonic()
            r = self.get("/v1/feed", since=since, wait=wait, version=tag)
            return r, time.monotonic() - t0
        fut = pool.submit(run)
        pool.shutdown(wait=False)
        wait_for(f"the poll of {self.id} to reach the broker", lambda: edge_row(self.b, self.id).get("version") == tag
                 or fut.done(), timeout=ANSWERED)
        return fut


def answered(fut, wait=WAIT) -> dict:
    """The held poll's answer, which came before its wait ran out."""
    r, took = fut.result(timeout=ANSWERED)
    assert r.status_code == 200, r.text
    assert took < wait, f"the poll was answered only after {took:.1f}s, its wait ({wait}s) ran out"
    return r.json()


def edges(b) -> dict:
    r = b.api("GET", "/v1/edges")
    assert r.status_code == 200, r.text
    return r.json()


def edge_row(b, edge_id) -> dict:
    return next((e for e in edges(b)["edges"] if e["id"] == edge_id), {})


def head(b) -> int:
    """The chain head: the seq of a snapshot taken now (as admin: no edge
    acknowledges)."""
    r = b.api("GET", "/v1/feed", params={"since": 0})
    assert r.status_code == 200, r.text
    return r.json()["seq"]


def enforced(b, token=None, **params) -> dict:
    r = b.api("GET", "/v1/feed/enforced", params=params, token=token, timeout=ANSWERED)
    assert r.status_code == 200, r.text
    return r.json()


def last_record(b, type) -> dict:
    return audit_records(b, type=type)[-1]


def assert_change(answer, since, kind, record):
    """The answer carries exactly one entry, of kind, for record."""
    assert answer["snapshot"] is False, answer
    assert [e["kind"] for e in answer["entries"]] == [kind], answer
    [e] = answer["entries"]
    assert e["seq"] == record["seq"] and since < e["seq"] <= answer["seq"], (answer, record)
    return e


# ---- the snapshot ----

def test_snapshot_lists_what_an_edge_must_refuse(fb):
    wl = fb.create_identity()
    revoked_tok, kept_tok = fb.issue(wl), fb.issue(wl)
    assert fb.revoke(revoked_tok).status_code == 200
    revoked_jti = last_record(fb, "token.revoked")["jti"]
    suspended, offboarded, active = fb.create_identity(), fb.create_identity(), fb.create_identity()
    assert fb.api("PATCH", f"/v1/identities/{suspended.id}", {"status": "suspended"}).status_code == 200
    assert fb.api("POST", f"/v1/identities/{offboarded.id}/offboard", {}).status_code == 200
    dep = grants.deployer(fb)
    g = grants.active_grant(fb, dep)
    over = grants.active_grant(fb, grants.deployer(fb))
    assert grants.act(fb, over["id"], "end", body={"reason": "done"}).status_code == 200
    before = head(fb)

    snap = Edge(fb).poll(0)
    assert snap["snapshot"] is True and snap["seq"] >= before, snap
    assert all(e["seq"] == 0 for e in snap["entries"]), snap
    v = snap["versions"]
    assert isinstance(v["policy"], int) and v["policy"] >= 1 and isinstance(v["entities"], int), v
    assert len(v["jwks"]) == 64 and int(v["jwks"], 16) >= 0, v
    by = {(e["kind"], e["id"]): e for e in snap["entries"]}
    assert len(by) == len(snap["entries"]), snap  # nothing twice
    tok = by[("token", revoked_jti)]
    assert tok["sub"] == wl.id and tok["exp"] > time.time(), tok
    assert not [e for e in snap["entries"] if e["kind"] == "token" and e["id"] != revoked_jti and
                e["sub"] == wl.id], "a token that is not revoked is in the snapshot"
    assert by[("identity", suspended.id)]["state"] == "suspended", snap
    assert by[("identity", offboarded.id)]["state"] == "offboarded", snap
    assert isinstance(by[("identity", suspended.id)]["at"], int), snap
    for ident in (wl, active, dep):
        assert ("identity", ident.id) not in by, f"active identity {ident.id} in the snapshot"
    ge = by[("grant", g["id"])]
    assert ge == {"seq": 0, "kind": "grant", "id": g["id"], "state": "active", "identity": dep.id,
                  "approvals": 1, "break_glass": False, "reason": g["reason"], "ends_at": ge["ends_at"],
                  "scope": g["scope"]}, ge
    assert ge["ends_at"] == grants.get_grant(fb, g["id"])["ends_at"], ge
    assert ("grant", over["id"]) not in by, "an ended grant is in the snapshot"
    # kept_tok was not revoked: still active
    assert fb.introspect(kept_tok)["active"] is True


# ---- held polls answered by each kind of change ----

def change_token(b):
    wl = b.create_identity()
    tok = b.issue(wl)
    return lambda: b.revoke(tok), "token.revoked", "token", lambda e, rec: (
        e["id"] == rec["jti"] and e["sub"] == wl.id and e["exp"] == rec["details"]["exp"])


def change_identity(b):
    wl = b.create_identity()
    return lambda: b.api("PATCH", f"/v1/identities/{wl.id}", {"status": "suspended"}), "identity.suspended", \
        "identity", lambda e, rec: e["id"] == wl.id and e["state"] == "suspended" and isinstance(e["at"], int)


def change_offboard(b):
    wl = b.create_identity()
    return lambda: b.api("POST", f"/v1/identities/{wl.id}/offboard", {}), "identity.offboarded", \
        "identity", lambda e, rec: e["id"] == wl.id and e["state"] == "offboarded"


def change_grant(b):
    dep = grants.deployer(b)
    g = grants.active_grant(b, dep)
    return lambda: grants.act(b, g["id"], "end", body={"reason": "finished"}), "grant.ended", "grant", \
        lambda e, rec: (e["id"] == g["id"] and e["state"] == "ended" and e["identity"] == dep.id and
                        e["approvals"] == 1 and e["break_glass"] is False and e["reason"] == g["reason"])


def change_approval(b):
    """An approval that activates the grant at once (one needed)."""
    dep = grants.deployer(b)
    g = grants.request_grant(b, identity=dep.id)
    op = grants.Op(b)
    return lambda: grants.act(b, g["id"], "approve", op.token), "grant.approved", "grant", \
        lambda e, rec: (e["id"] == g["id"] and e["state"] == "active" and e["identity"] == dep.id and
                        e["approvals"] == 1 and e["ends_at"] > time.time())


def change_approval_for_later(b):
    """An approval of a grant that starts in an hour: the entry says
    approved, not active."""
    dep = grants.deployer(b)
    later = datetime.fromtimestamp(time.time() + 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    g = grants.request_grant(b, identity=dep.id, start=later)
    op = grants.Op(b)
    return lambda: grants.act(b, g["id"], "approve", op.token), "grant.approved", "grant", \
        lambda e, rec: e["id"] == g["id"] and e["state"] == "approved" and e["identity"] == dep.id


def change_policy(b):
    text = b.get_policy()["text"] + f'\npermit(principal == Workload::"{unique("x")}", action, resource);\n'
    return lambda: b.api("PUT", "/v1/policies", {"policies": text}), "policy.changed", "policy", \
        lambda e, rec: set(e) == {"seq", "kind"}


def change_entities(b):
    ents = [dict(ENTITIES[0], attrs={"site": unique("plant")})]
    return lambda: b.api("PUT", "/v1/entities", ents), "entities.changed", "entities", \
        lambda e, rec: set(e) == {"seq", "kind"}


CHANGES = {"token": change_token, "identity": change_identity, "offboard": change_offboard, "grant": change_grant,
           "approval": change_approval, "approval_for_later": change_approval_for_later, "policy": change_policy,
           "entities": change_entities}


@pytest.mark.parametrize("what", CHANGES)
def test_held_poll_answered_by_the_change(fb, what):
    edge = Edge(fb)
    act, record_type, kind, matches = CHANGES[what](fb)
    since = head(fb)
    fut = edge.held(since)
    r = act()
    assert r.status_code == 200, r.text
    answer = answered(fut)
    rec = last_record(fb, record_type)
    e = assert_change(answer, since, kind, rec)
    assert matches(e, rec), (e, rec)
    # the next poll from there holds again: nothing is sent twice
    assert edge.poll(answer["seq"])["entries"] == []


def test_quiet_poll_held_for_its_wait(broker_factory):
    b = broker_factory(name="feed-quiet")  # nothing else happens on it
    edge = Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE]))
    since = head(b)
    for wait in (1, 2):
        t0 = time.monotonic()
        answer = edge.poll(since, wait=wait)
        assert time.monotonic() - t0 >= wait * 0.9, "a poll with nothing new was not held"
        assert answer["snapshot"] is False and answer["entries"] == [] and answer["seq"] >= since, answer
    # wait=0 (or none): answered at once, the same
    for params in ({"wait": 0}, {}):
        answer = edge.poll(since, **params)
        assert answer["entries"] == [] and answer["seq"] >= since, answer


def test_poll_behind_gets_every_change_in_order(fb):
    edge = Edge(fb)
    since = head(fb)
    toks = [fb.issue(fb.create_identity()) for _ in range(3)]
    for t in toks:
        assert fb.revoke(t).status_code == 200
    answer = edge.poll(since, wait=WAIT)  # news: not held
    recs = [r for r in audit_records(fb, type="token.revoked") if r["seq"] > since]
    tokens = [e for e in answer["entries"] if e["kind"] == "token"]
    assert [e["seq"] for e in tokens] == [r["seq"] for r in recs] and len(tokens) == 3, (answer, recs)
    seqs = [e["seq"] for e in answer["entries"]]
    assert seqs == sorted(set(seqs)) and all(since < s <= answer["seq"] for s in seqs), answer


def test_poll_ahead_of_the_chain_gets_a_snapshot(fb):
    """An edge whose since is past the chain's head (a broker restored from
    a backup, another broker's edge) starts again from a snapshot at once,
    and acknowledges nothing."""
    edge = Edge(fb)
    now = head(fb)
    t0 = time.monotonic()
    answer = edge.poll(now + 1000, wait=WAIT)
    assert time.monotonic() - t0 < WAIT, "the poll ahead of the chain was held"
    assert answer["snapshot"] is True and now <= answer["seq"] < now + 1000, answer
    assert all(e["seq"] == 0 for e in answer["entries"]), answer
    assert edge_row(fb, edge.id)["acked_seq"] == 0
    assert edge.poll(answer["seq"])["snapshot"] is False
    assert edge_row(fb, edge.id)["acked_seq"] == answer["seq"]


# ---- acknowledgements ----

def test_since_acknowledges(fb):
    edge = Edge(fb)
    assert edge_row(fb, edge.id) == {}, "an edge that never polled is listed"
    since = head(fb)
    edge.poll(since, addr="http://127.0.0.1:9999", version="1.2.3")
    body = edges(fb)
    row = edge_row(fb, edge.id)
    assert row["acked_seq"] == since and row["live"] is True, row
    assert row["addr"] == "http://127.0.0.1:9999" and row["version"] == "1.2.3", row
    assert row["in_sync"] is True and since >= body["feed_seq"], (row, body)
    assert row["lag_ms"] == 0 and isinstance(row["last_seen"], str) and isinstance(row["first_seen"], str), row
    # an address that is not http(s) is not taken; the last good one stays
    edge.poll(since, addr="ftp://127.0.0.1/x")
    edge.poll(since, addr="javascript:alert(1)")
    assert edge_row(fb, edge.id)["addr"] == "http://127.0.0.1:9999"
    edge.poll(since, addr="https://edge-1.example:8443")
    assert edge_row(fb, edge.id)["addr"] == "https://edge-1.example:8443"
    # behind the head: not in sync until it polls past the change
    assert fb.revoke(fb.issue(fb.create_identity())).status_code == 200
    row = edge_row(fb, edge.id)
    assert row["in_sync"] is False and row["acked_seq"] == since, row
    answer = edge.poll(since)
    edge.poll(answer["seq"])
    row = edge_row(fb, edge.id)
    assert row["acked_seq"] == answer["seq"] and row["in_sync"] is True, row
    # the admin token reads the feed without becoming an edge
    assert not [e for e in edges(fb)["edges"] if e["id"] == "admin"]


def test_enforced_waits_for_the_edges(broker_factory):
    b = broker_factory(name="feed-enforced")
    e1 = Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE]))
    e2 = Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE]))
    since = head(b)
    for e in (e1, e2):
        e.poll(since, addr=f"http://127.0.0.1:{9000 + len(e.id)}")
    wl = b.create_identity()
    assert b.revoke(b.issue(wl)).status_code == 200
    seq = last_record(b, "token.revoked")["seq"]

    st = enforced(b, seq=seq)
    assert st["seq"] == seq and st["enforced"] is False, st
    assert sorted(st["pending"]) == sorted([e1.id, e2.id]) and st["stale"] == [], st
    assert isinstance(st["committed_at"], str), st
    for row in st["edges"]:
        assert row["acknowledged"] is False and row["propagation_ms"] is None and row["live"] is True, row
    assert enforced(b)["seq"] == seq, "the default seq is the newest feed entry"

    # the first edge catches up; the second is still pending
    answer = e1.poll(since)
    assert answer["entries"][-1]["seq"] == seq, answer
    e1.poll(answer["seq"])
    st = enforced(b, seq=seq, wait=0)
    assert st["enforced"] is False and st["pending"] == [e2.id], st
    row1 = next(r for r in st["edges"] if r["id"] == e1.id)
    assert row1["acknowledged"] is True and isinstance(row1["propagation_ms"], int) and \
        row1["propagation_ms"] >= 0, row1

    # a held enforcement wait is answered when the last edge acknowledges
    with ThreadPoolExecutor(1) as pool:
        def wait_enforced():
            t0 = time.monotonic()
            return enforced(b, seq=seq, wait=WAIT), time.monotonic() - t0
        fut = pool.submit(wait_enforced)
        time.sleep(0.5)  # not a timing: with e2 behind, nothing may answer it
        assert not fut.done(), fut.result()
        answer = e2.poll(since)
        e2.poll(answer["seq"])
        st, took = fut.result(timeout=ANSWERED)
    assert took < WAIT, f"the enforcement wait was answered only after {took:.1f}s"
    assert st["enforced"] is True and st["pending"] == [] and st["stale"] == [], st
    assert all(r["acknowledged"] and isinstance(r["propagation_ms"], int) for r in st["edges"]), st
    # a workload may ask too (token revoke --wait uses its own token)
    assert enforced(b, token=b.issue(wl), seq=seq)["enforced"] is True
    # an edge polling with since past seq acknowledges it at once
    assert b.revoke(b.issue(wl)).status_code == 200
    seq2 = last_record(b, "token.revoked")["seq"]
    assert enforced(b, seq=seq2)["enforced"] is False
    for e in (e1, e2):
        e.poll(head(b))
    assert enforced(b, seq=seq2)["enforced"] is True


def test_silent_edge_goes_stale(broker_factory):
    b = broker_factory(args=STALE_ARGS, name="feed-stale")
    edge = Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE]))
    edge.poll(head(b))
    assert edge_row(b, edge.id)["live"] is True
    assert b.revoke(b.issue(b.create_identity())).status_code == 200
    seq = last_record(b, "token.revoked")["seq"]
    st = enforced(b, seq=seq)
    assert st["enforced"] is False and st["pending"] == [edge.id], st
    # held while the edge is live; answered once it is not (edge_timeout 5 s)
    t0 = time.monotonic()
    st = enforced(b, seq=seq, wait=60)
    assert time.monotonic() - t0 < 60, "the enforcement wait ran out although the edge went stale"
    assert st["enforced"] is True and st["pending"] == [] and st["stale"] == [edge.id], st
    row = next(r for r in st["edges"] if r["id"] == edge.id)
    assert row["live"] is False and row["acknowledged"] is False and row["propagation_ms"] is None, row
    assert edge_row(b, edge.id)["live"] is False
    # it polls again: live, and it acknowledges
    now = head(b)
    edge.poll(now)
    row = edge_row(b, edge.id)
    assert row["live"] is True and row["acked_seq"] == now, row
    st = enforced(b, seq=seq)
    assert st["enforced"] is True and st["stale"] == [] and st["pending"] == [], st


# ---- bad input and access ----

@pytest.mark.parametrize("params", [
    {"since": "-1"}, {"since": "abc"}, {"since": ""}, {"since": "1.5"}, {"since": "9223372036854775807"},
    {"since": "1", "wait": "31"}, {"since": "1", "wait": "abc"}, {"since": "1", "wait": "-1"},
    {"since": "1", "wait": "1e3"},
])
def test_bad_feed_input(fb, params):
    edge = Edge(fb)
    body = assert_problem(edge.get("/v1/feed", **params), 400)
    name = "wait" if "wait" in params else "since"
    assert name in body.get("detail", ""), body


def test_wait_above_feed_max_wait(broker_factory):
    b = broker_factory(args=STALE_ARGS, name="feed-maxwait")
    edge = Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE]))
    body = assert_problem(edge.get("/v1/feed", since=1, wait=3), 400)
    assert "wait" in body["detail"] and "2" in body["detail"], body
    assert edge.poll(head(b), wait=2)["entries"] == []


@pytest.mark.parametrize("params", [{"seq": "0"}, {"seq": "abc"}, {"seq": "-5"}, {"wait": "301"},
                                    {"wait": "x"}])
def test_bad_enforced_input(fb, params):
    assert_problem(fb.api("GET", "/v1/feed/enforced", params=params), 400)


def test_feed_access(fb):
    wl = fb.create_identity()
    assert_problem(fb.api("GET", "/v1/feed", params={"since": 0}, token=fb.issue(wl)), 403)
    assert_problem(fb.api("GET", "/v1/feed", params={"since": 0}, token=""), 401)
    assert_problem(fb.api("GET", "/v1/feed", params={"since": 0}, token="not-a-token"), 401)
    edge = Edge(fb)
    assert_problem(edge.get("/v1/edges"), 403)
    assert_problem(fb.api("GET", "/v1/edges", token=fb.issue(wl)), 403)
    assert_problem(fb.api("GET", "/v1/edges", token=""), 401)
    assert_problem(fb.api("GET", "/v1/feed/enforced", token=""), 401)
    # an edge whose token was revoked, or which was suspended, is refused
    assert edge.get("/v1/feed", since=0).status_code == 200
    assert fb.revoke(edge.token).status_code == 200
    assert_problem(edge.get("/v1/feed", since=0), 401)
    edge2 = Edge(fb)
    assert fb.api("PATCH", f"/v1/identities/{edge2.id}", {"status": "suspended"}).status_code == 200
    assert_problem(edge2.get("/v1/feed", since=0), 401)


# ---- many held polls, a stop, a restart ----

def test_fifty_held_polls_one_revoke(fb):
    ids = [fb.create_identity(kind="edge", permit=[], roles=[EDGE_ROLE]) for _ in range(10)]
    edges_ = [Edge(fb, i) for i in ids]
    wl = fb.create_identity()
    tok = fb.issue(wl)
    since = head(fb)
    with ThreadPoolExecutor(50) as pool:
        def poll(i):
            t0 = time.monotonic()
            r = edges_[i % len(edges_)].get("/v1/feed", since=since, wait=WAIT)
            return r, time.monotonic() - t0
        futs = [pool.submit(poll, i) for i in range(50)]
        wait_for("every edge to poll", lambda: all(edge_row(fb, e.id).get("acked_seq") == since for e in edges_),
                 timeout=ANSWERED)
        # held polls take no worker: the broker answers meanwhile
        with session() as s:
            for _ in range(20):
                assert s.get(fb.url + "/healthz", timeout=5 * SLOW).status_code == 200
            r = s.get(fb.url + "/v1/edges", headers={"Authorization": f"Bearer {fb.admin_token}"},
                      timeout=5 * SLOW)
            assert r.status_code == 200, r.text
        assert not any(f.done() for f in futs), "a poll was answered with nothing to say"
        assert fb.revoke(tok).status_code == 200
        rec = last_record(fb, "token.revoked")
        for f in futs:
            e = assert_change(answered(f), since, "token", rec)
            assert e["id"] == rec["jti"], e


def test_stop_answers_held_polls_and_edges_persist(broker_factory):
    b = broker_factory(name="feed-stop")
    es = [Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE])) for _ in range(3)]
    since = head(b)
    for i, e in enumerate(es):
        e.poll(since, addr=f"http://10.0.0.{i + 1}:9180", version=f"v{i}")
    before = {e["id"]: e for e in edges(b)["edges"]}
    futs = [e.held(since, wait=30) for e in es]
    b.stop()  # fails unless the broker exits 0, cleanly, sanitizers quiet
    for f in futs:
        r, took = f.result(timeout=ANSWERED)
        assert r.status_code == 200 and r.json()["entries"] == [], r.text
        assert took < 30, "a held poll was not answered at the stop"
    b.start()
    after = {e["id"]: e for e in edges(b)["edges"]}
    assert set(after) == {e.id for e in es}, after
    for i, e in enumerate(es):
        row = after[e.id]
        assert row["addr"] == f"http://10.0.0.{i + 1}:9180" and row["acked_seq"] == since, row
        assert row["first_seen"] == before[e.id]["first_seen"], (row, before[e.id])
        assert row["version"].startswith("p-"), row  # the held poll's version, saved at the stop


def test_edges_saved_while_running(broker_factory):
    b = broker_factory(name="feed-save")
    edge = Edge(b, b.create_identity(kind="edge", permit=[EDGE_SCOPE]))
    since = head(b)
    edge.poll(since, addr="http://127.0.0.1:7777")

    def saved():
        with sqlite3.connect(f"file:{b.data / 'tollgate.db'}?mode=ro", uri=True, timeout=5) as db:
            return db.execute("SELECT acked_seq, addr FROM edges WHERE id = ?", (edge.id,)).fetchone()
    assert wait_for("the edge to be saved", saved, timeout=15 * SLOW) == (since, "http://127.0.0.1:7777")
    b.kill()  # no stop: what was saved is what there is
    b.start()
    row = edge_row(b, edge.id)
    assert row["acked_seq"] == since and row["addr"] == "http://127.0.0.1:7777", row
